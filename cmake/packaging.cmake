# Debian packages: `cpack -G DEB` in the build directory (docs/operations.md,
# "Packaging and install"). One package per component:
#   routing        runtime: routerd, discoveryd, echod, routectl, systemd
#                  units, sample configs in /etc/routing (conffiles)
#   routing-tools  routebench, the load generator
#   routing-dev    headers, static libraries, the CMake package
# Programs are stripped; the build directory keeps the unstripped ones.
include(GNUInstallDirs)

# Operators' files belong to the runtime package. The configs go to
# /etc/routing whatever the prefix: that is where the units read them.
install(FILES packaging/systemd/routerd.service packaging/systemd/discoveryd.service
        DESTINATION lib/systemd/system COMPONENT runtime)
install(FILES packaging/config/routerd.toml packaging/config/discoveryd.toml packaging/config/echod.toml
        DESTINATION /etc/routing COMPONENT runtime)
# Each package carries the license in its own doc directory.
foreach(component_package runtime:routing tools:routing-tools dev:routing-dev)
  string(REPLACE ":" ";" pair ${component_package})
  list(GET pair 0 component)
  list(GET pair 1 package)
  install(FILES LICENSE DESTINATION ${CMAKE_INSTALL_DATAROOTDIR}/doc/${package} COMPONENT ${component})
endforeach()

set(CPACK_PACKAGE_NAME routing)
set(CPACK_PACKAGE_VENDOR "routing")
set(CPACK_PACKAGE_CONTACT "routing maintainers <routing@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "Service router: routerd, discoveryd and the routing::Router library")
set(CPACK_RESOURCE_FILE_LICENSE ${PROJECT_SOURCE_DIR}/LICENSE)
set(CPACK_STRIP_FILES ON)
set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_COMPONENTS_ALL runtime tools dev)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_LICENSE Apache-2.0)

# Depends of the programs come from dpkg-shlibdeps (libc, libstdc++,
# libsystemd, libspdlog, libfmt); the dev package needs what its CMake
# package finds (routingConfig.cmake).
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_RUNTIME_PACKAGE_NAME routing)
set(CPACK_DEBIAN_RUNTIME_PACKAGE_CONTROL_EXTRA ${PROJECT_SOURCE_DIR}/packaging/debian/conffiles)
set(CPACK_DEBIAN_TOOLS_PACKAGE_NAME routing-tools)
set(CPACK_DEBIAN_DEV_PACKAGE_NAME routing-dev)
set(CPACK_DEBIAN_DEV_PACKAGE_DEPENDS
    "libboost1.81-dev, libboost-json1.81-dev, libboost-url1.81-dev, libspdlog-dev, libfmt-dev, libssl-dev")
set(CPACK_COMPONENT_RUNTIME_DESCRIPTION "routerd, discoveryd, echod and routectl, with systemd units")
set(CPACK_COMPONENT_TOOLS_DESCRIPTION "routebench, a load generator for routerd and the library")
set(CPACK_COMPONENT_DEV_DESCRIPTION "headers, static libraries and CMake package of routing::Router")

include(CPack)
