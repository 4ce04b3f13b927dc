#!/usr/bin/env bash
# Builds the project with sanitizers and runs the tests under them.
#   address: ASan + UBSan + LSan, the whole suite        (build-asan/)
#   thread:  TSan, the tests that run many threads       (build-tsan/)
# Usage: scripts/sanitize.sh [address|thread]...   (default: both)
# Any report fails the run: UBSan aborts on its first finding, ASan/TSan exit
# non-zero, and nothing of the project's own code is suppressed.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
export CCACHE_BASEDIR="$root" CCACHE_NOHASHDIR=true
export CCACHE_SLOPPINESS="pch_defines,time_macros,include_file_mtime,include_file_ctime"
jobs="${ROUTING_JOBS:-2}"
kinds=("$@")
[ ${#kinds[@]} -eq 0 ] && kinds=(address thread)

# Script tests build with the plain compiler (ExamplePackage) or into build/
# (Demo); the programs they run are covered by the integration tests.
not_under_sanitizers='^(ExamplePackage|Demo)\.'
# Under TSan: the suites whose code runs on several threads at once.
tsan_targets=(unit_tests rpc_integration_tests router_integration_tests routerd_integration_tests discovery_integration_tests reliability_tests)
tsan_tests='^(WakeFlag|Limiter|RetryBudget|Strategy|Zones|Drain|SeveralRouterds|Book|Server|ClientConnection|BlockingClient|BlockingTagged|Tagged|Router|EveryEntry|Echod|Discoveryd|RpcDiscovery|Chaos|Tls|EntryPaths/TlsRouter)'

configure() {  # dir kind
  [ -f "$1/build.ninja" ] && return
  cmake -S "$root" -B "$1" -G Ninja -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS_DEBUG="-O1 -g1" \
    -DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DROUTING_BENCH=OFF -DROUTING_SANITIZE="$2" >/dev/null
}

status=0
for kind in "${kinds[@]}"; do
  case "$kind" in
    address)
      dir="$root/build-asan"
      configure "$dir" address
      cmake --build "$dir" -j "$jobs"
      echo "== tests under ASan + UBSan"
      # halt_on_error: the first report fails the test; leaks are reported at exit.
      ASAN_OPTIONS="detect_leaks=1:halt_on_error=1:abort_on_error=0:detect_stack_use_after_return=0" \
      UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1" \
      \
        bash -c "cd '$dir' && ctest --output-on-failure -j $jobs --timeout 600 -E '$not_under_sanitizers'" || status=1
      ;;
    thread)
      dir="$root/build-tsan"
      configure "$dir" thread
      cmake --build "$dir" -j "$jobs" --target "${tsan_targets[@]}"
      echo "== concurrency tests under TSan"
      TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1" \
        bash -c "cd '$dir' && ctest --output-on-failure -j $jobs --timeout 600 -R '$tsan_tests' -E '$not_under_sanitizers'" || status=1
      ;;
    *) echo "sanitize.sh: unknown kind '$kind' (address or thread)" >&2; exit 2 ;;
  esac
done
exit $status
