#!/usr/bin/env bash
# Installs every Debian 12 package the project needs to build, test and run.
# Idempotent: packages already present are skipped without touching apt.
set -euo pipefail

PACKAGES=(
  build-essential cmake ninja-build ccache pkg-config
  clang libclang-rt-14-dev            # libFuzzer and sanitizer runtimes
  libboost1.81-dev libboost-json1.81-dev libboost-url1.81-dev
  libcli11-dev libspdlog-dev libfmt-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  netcat-openbsd procps curl
  etcd-server etcd-client             # the etcd discovery backend and its tests
  prometheus                          # promtool, to check /metrics
  haproxy gnuplot-nox                 # the benchmark peer, and its charts
  chromium                            # headless: the admin status page's browser test
  libsystemd-dev                      # sd_notify (src/app/service_notify.cpp)
  libssl-dev openssl                  # TLS (src/rpc/tls/), and the tests' certificates
  dpkg-dev file binutils              # cpack -G DEB (dpkg-shlibdeps) and its test's checks
  iproute2                            # bench_scale.sh: loopback up in its own network namespace
  time                                # bench_overload.sh: the CPU of routebench's library rows (GNU time)
)

missing=()
for pkg in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done

if [ "${#missing[@]}" -eq 0 ]; then
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  echo "setup.sh: missing packages (${missing[*]}); run as root to install them" >&2
  exit 1
fi

echo "setup.sh: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
