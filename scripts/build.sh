#!/usr/bin/env bash
# Configures (once) and builds the project into build/ with ccache and Ninja.
# Usage: scripts/build.sh [cmake-build-args...]
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build="${ROUTING_BUILD_DIR:-$root/build}"
jobs="${ROUTING_JOBS:-2}"
# Relative paths in ccache keys: a fresh clone elsewhere (as CI makes) still hits.
export CCACHE_BASEDIR="$root" CCACHE_NOHASHDIR=true
export CCACHE_SLOPPINESS="pch_defines,time_macros,include_file_mtime,include_file_ctime"

if [ ! -f "$build/build.ninja" ]; then
  cmake -S "$root" -B "$build" -G Ninja \
    -DCMAKE_BUILD_TYPE="${ROUTING_BUILD_TYPE:-RelWithDebInfo}" \
    -DCMAKE_CXX_COMPILER_LAUNCHER=ccache >/dev/null
fi
cmake --build "$build" -j "$jobs" "$@"
