#!/usr/bin/env bash
# Runs the whole test suite on a fresh Debian 12 machine: installs packages,
# builds, runs every CTest test, then a short libFuzzer run of each fuzz target.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

bash scripts/setup.sh
bash scripts/build.sh

echo "== unit and integration tests"
(cd build && ctest --output-on-failure -j 2 --timeout 300)

echo "== fuzzing (${ROUTING_FUZZ_SECONDS:-20} s per target)"
bash scripts/fuzz.sh "${ROUTING_FUZZ_SECONDS:-20}"
