#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (ASan + UBSan) into build-fuzz/ and
# runs each for a fixed time on its seed corpus. Usage: scripts/fuzz.sh [seconds]
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
seconds="${1:-20}"
build="$root/build-fuzz"
export CCACHE_BASEDIR="$root" CCACHE_NOHASHDIR=true

if [ ! -f "$build/build.ninja" ]; then
  CC=clang CXX=clang++ cmake -S "$root" -B "$build" -G Ninja \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_COMPILER_LAUNCHER=ccache \
    -DROUTING_FUZZ=ON >/dev/null
fi
cmake --build "$build" -j "${ROUTING_JOBS:-2}" --target fuzz_targets

for target in "$build"/fuzz/*_fuzz; do
  name="$(basename "$target" _fuzz)"
  corpus="$root/tests/fuzz/corpus/$name"
  work="$(mktemp -d)"
  echo "fuzz: $name for ${seconds}s"
  # Fresh findings go to a scratch dir; the committed corpus is read-only input.
  "$target" -max_total_time="$seconds" -print_final_stats=1 -artifact_prefix="$work/" \
    "$work" "$corpus" 2>"$work/log" || { tail -n 40 "$work/log"; exit 1; }
  grep -E "stat::number_of_executed_units|Done" "$work/log" | tail -n 2
  rm -rf "$work"
done
