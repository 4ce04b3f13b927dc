#!/usr/bin/env bash
# Installs the project into a temporary prefix, builds examples/hello_router
# against it with find_package(routing CONFIG), and runs it against an echod.
# Usage: example_package_test.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
build="$1"
source="$2"
work="$(mktemp -d)"
echod_pid=""
cleanup() {
  [ -n "$echod_pid" ] && kill "$echod_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

cmake --install "$build" --prefix "$work/prefix" >/dev/null
cmake -S "$source/examples/hello_router" -B "$work/build" -G Ninja \
  -DCMAKE_PREFIX_PATH="$work/prefix" -DCMAKE_CXX_COMPILER_LAUNCHER=ccache >/dev/null
cmake --build "$work/build" >/dev/null

"$work/prefix/bin/echod" --listen 127.0.0.1:0 2>"$work/echod.log" &
echod_pid=$!
for _ in $(seq 100); do
  port="$(grep -o 'listening on [^ ]*' "$work/echod.log" | grep -o '[0-9]*$' || true)"
  [ -n "$port" ] && break
  sleep 0.05
done
out="$("$work/build/hello_router" "static://echo=127.0.0.1:$port")"
echo "$out"
grep -q "call:       hello from the library" <<<"$out"
grep -q "served by 127.0.0.1:$port" <<<"$out"
echo "example package test: ok"
