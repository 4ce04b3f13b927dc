#!/usr/bin/env bash
# Installs the project's development files (the "dev" component: headers,
# archives, CMake package) into a temporary prefix and builds against it
# with find_package(routing CONFIG):
#   examples/hello_router      library mode through a discovery URL
#   examples/custom_discovery  library mode through a resolver of its own
#   tests/package_app          an application using Asio header-only itself
# and runs each against an echod on a free port. Also checks that the
# installed archives hold no file-local copy of an Asio static (see
# src/CMakeLists.txt, routing_asio: they would split the program's Asio).
# Usage: example_package_test.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
build="$1"
source="$2"
work="$(mktemp -d)"
echod_pid=""
cleanup() {
  [ -n "$echod_pid" ] && kill "$echod_pid" 2>/dev/null && wait "$echod_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

cmake --install "$build" --prefix "$work/prefix" --component dev >/dev/null
grep -rq "SEPARATE_COMPILATION" "$work/prefix" && { echo "the installed package imposes a SEPARATE_COMPILATION define" >&2; exit 1; }
locals="$(nm -C "$work"/prefix/lib*/librouting_asio.a "$work"/prefix/lib*/librouting_beast.a 2>/dev/null |
          grep -E ' [bdr] boost::' || true)"
[ -z "$locals" ] || { echo "file-local Asio/Beast statics in the installed archives:" >&2; echo "$locals" >&2; exit 1; }

for project in examples/hello_router examples/custom_discovery tests/package_app; do
  name="$(basename "$project")"
  cmake -S "$source/$project" -B "$work/$name" -G Ninja \
    -DCMAKE_PREFIX_PATH="$work/prefix" -DCMAKE_CXX_COMPILER_LAUNCHER=ccache >/dev/null
  cmake --build "$work/$name" >/dev/null
done

"$build/apps/echod" --listen 127.0.0.1:0 2>"$work/echod.log" &
echod_pid=$!
port=""
for _ in $(seq 100); do
  port="$(grep -o 'listening on [^ ]*' "$work/echod.log" | grep -o '[0-9]*$' || true)"
  [ -n "$port" ] && break
  sleep 0.05
done
[ -n "$port" ] || { cat "$work/echod.log" >&2; exit 1; }

out="$("$work/hello_router/hello_router" "static://echo=127.0.0.1:$port")"
echo "$out"
grep -q "call:       hello from the library" <<<"$out"
grep -q "served by 127.0.0.1:$port" <<<"$out"

out="$("$work/custom_discovery/custom_discovery" "echo=127.0.0.1:$port")"
echo "$out"
grep -q "echo: served by 127.0.0.1:$port" <<<"$out"

out="$("$work/package_app/asio_app" "127.0.0.1:$port")"
echo "$out"
grep -q "end of stream recognised: yes" <<<"$out"
grep -q "router: asio and routing" <<<"$out"
echo "example package test: ok"
