// Boost.Beast's implementation, compiled once: header-only with
// -fkeep-inline-functions, as asio_impl.cpp and for the same reasons
// (src/CMakeLists.txt). The project's other files see Beast with
// BOOST_BEAST_SEPARATE_COMPILATION.
#include <boost/beast.hpp>

#if defined(BOOST_BEAST_SEPARATE_COMPILATION)
#error "beast_impl.cpp must be compiled header-only (without BOOST_BEAST_SEPARATE_COMPILATION)"
#endif
