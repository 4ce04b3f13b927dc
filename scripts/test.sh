#!/usr/bin/env bash
# Runs the whole test suite on a fresh Debian 12 machine: installs packages,
# builds, runs every CTest test, then a short libFuzzer run of each fuzz
# target, a smoke run of the benchmarks, and the suite again under sanitizers
# (ASan + UBSan: everything; TSan: the concurrency suites). docs/reliability.md
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

bash scripts/setup.sh
bash scripts/build.sh

echo "== unit and integration tests"
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
status=0
(cd build && ctest --output-on-failure -j 2 --timeout 300) 2>&1 | tee "$log" || status=$?

echo "== fuzzing (${ROUTING_FUZZ_SECONDS:-20} s per target)"
fuzz_status=0
bash scripts/fuzz.sh "${ROUTING_FUZZ_SECONDS:-20}" || fuzz_status=$?

echo "== bench smoke (checks that every benchmark runs, not how fast)"
bench_status=0
bash scripts/bench.sh --smoke || bench_status=$?

echo "== sanitizers (scripts/sanitize.sh)"
sanitize_status=0
if [ "${ROUTING_SANITIZE_IN_TESTS:-1}" = 1 ]; then
  bash scripts/sanitize.sh 2>&1 | tee -a "$log" || sanitize_status=$?
fi

# One closing line for CI: "<passed> passed, <failed> failed".
# Every CTest summary counts: the plain run and each sanitizer run.
failed=0
total=0
while read -r summary; do
  failed=$((failed + $(sed -E 's/.* ([0-9]+) tests failed out of ([0-9]+).*/\1/' <<<"$summary")))
  total=$((total + $(sed -E 's/.* ([0-9]+) tests failed out of ([0-9]+).*/\2/' <<<"$summary")))
done < <(grep -E '[0-9]+% tests passed, [0-9]+ tests failed out of [0-9]+' "$log")
[ "$fuzz_status" -ne 0 ] && failed=$((${failed:-0} + 1)) && total=$((${total:-0} + 1))
[ "$bench_status" -ne 0 ] && failed=$((${failed:-0} + 1)) && total=$((${total:-0} + 1))
# A sanitizer build that failed before its tests ran still counts as a failure.
[ "$sanitize_status" -ne 0 ] && [ "$failed" -eq 0 ] && failed=1 && total=$((total + 1))
echo "tests: $(( ${total:-0} - ${failed:-0} )) passed, ${failed:-0} failed"
[ "$status" -eq 0 ] && [ "$fuzz_status" -eq 0 ] && [ "$bench_status" -eq 0 ] && [ "$sanitize_status" -eq 0 ]
