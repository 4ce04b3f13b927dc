#!/usr/bin/env bash
# Builds the Debian packages with `cpack -G DEB` into a scratch directory,
# checks what they hold (stripped programs, units, conffiles, license,
# dependencies), extracts the runtime and tools packages into a scratch root
# and runs the servers from there: discoveryd, an echod registered with it,
# routerd with its packaged config, and one call through routerd with the
# packaged routectl. Every process is stopped by pid; nothing is installed
# on the machine.
# Usage: package_deb_test.sh BUILD_DIR
set -euo pipefail
build="$(cd "$1" && pwd)"
for tool in dpkg-deb file readelf; do
  command -v "$tool" >/dev/null || { echo "package test: $tool is missing (scripts/setup.sh installs it)" >&2; exit 1; }
done
work="$(mktemp -d)"
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill -9 "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "package test: $*" >&2; exit 1; }

(cd "$work" && cpack -G DEB --config "$build/CPackConfig.cmake" -B "$work/debs" >"$work/cpack.log" 2>&1) ||
  { cat "$work/cpack.log" >&2; fail "cpack failed"; }
version="$(grep -o 'CPACK_PACKAGE_VERSION "[^"]*"' "$build/CPackConfig.cmake" | cut -d'"' -f2)"
runtime="$work/debs/routing_${version}_amd64.deb"
tools="$work/debs/routing-tools_${version}_amd64.deb"
dev="$work/debs/routing-dev_${version}_amd64.deb"
for deb in "$runtime" "$tools" "$dev"; do [ -f "$deb" ] || { ls "$work/debs" >&2; fail "no $deb"; }; done

# Who holds what.
dpkg-deb -c "$runtime" >"$work/runtime.list"
dpkg-deb -c "$dev" >"$work/dev.list"
for path in ./usr/bin/routerd ./usr/bin/discoveryd ./usr/bin/echod ./usr/bin/routectl \
            ./usr/lib/systemd/system/routerd.service ./usr/lib/systemd/system/discoveryd.service \
            ./etc/routing/routerd.toml ./etc/routing/discoveryd.toml ./etc/routing/echod.toml \
            ./usr/share/doc/routing/LICENSE; do
  grep -q " $path\$" "$work/runtime.list" || fail "runtime package lacks $path"
done
grep -q "routebench" "$work/runtime.list" && fail "routebench belongs in routing-tools, not the runtime package"
dpkg-deb -c "$tools" >"$work/tools.list"
grep -q " ./usr/bin/routebench\$" "$work/tools.list" || fail "tools package lacks routebench"
for path in ./usr/include/routing/router.h ./usr/include/routing/discovery.h ./usr/lib/\S*librouting.a \
            ./usr/lib/\S*cmake/routing/routingConfig.cmake; do
  grep -q " $path\$" "$work/dev.list" || fail "dev package lacks $path"
done
dpkg-deb -I "$runtime" conffiles >"$work/conffiles"
grep -qx "/etc/routing/routerd.toml" "$work/conffiles" || fail "routerd.toml is not a conffile"
depends="$(dpkg-deb -f "$runtime" Depends)"
for library in libc6 libstdc++6 libsystemd0; do
  grep -q "$library" <<<"$depends" || fail "runtime Depends lacks $library: $depends"
done
grep -q "libboost1.81-dev" <<<"$(dpkg-deb -f "$dev" Depends)" || fail "dev Depends lacks Boost"

# Stripped programs (the build tree keeps the debug information).
root="$work/root"
dpkg -x "$runtime" "$root"
dpkg -x "$tools" "$root"
for program in routerd discoveryd echod routectl routebench; do
  grep -q ", stripped" <<<"$(file "$root/usr/bin/$program")" || fail "$program is not stripped"
  grep -q "\.debug_info" <<<"$(readelf -S "$root/usr/bin/$program")" && fail "$program has debug information"
done
echo "packages: $(cd "$work/debs" && ls -s ./*.deb | tr '\n' ' ')"

# The installed programs run, with the installed config.
bin="$root/usr/bin"
said="$("$bin/routerd" --version)"
[ "$said" = "routerd $version" ] || fail "routerd --version says '$said'"
said="$("$bin/routerd" --config "$root/etc/routing/routerd.toml" --check-config 2>&1)" ||
  fail "packaged routerd.toml rejected: $said"

# port_of LOG: the port from the "listening on HOST:PORT" line, waiting up to 5 s.
port_of() {
  for _ in $(seq 100); do
    port="$(grep -o 'listening on [^ ]*' "$1" | head -1 | grep -o '[0-9]*$' || true)"
    [ -n "$port" ] && { echo "$port"; return 0; }
    sleep 0.05
  done
  cat "$1" >&2
  return 1
}
"$bin/discoveryd" --config "$root/etc/routing/discoveryd.toml" --listen 127.0.0.1:0 2>"$work/discoveryd.log" &
pids+=($!)
discovery="rpc://127.0.0.1:$(port_of "$work/discoveryd.log")"
"$bin/echod" --config "$root/etc/routing/echod.toml" --listen 127.0.0.1:0 --discovery "$discovery" \
  2>"$work/echod.log" &
pids+=($!)
port_of "$work/echod.log" >/dev/null
"$bin/routerd" --config "$root/etc/routing/routerd.toml" --listen 127.0.0.1:0 --admin 127.0.0.1:0 \
  --discovery "$discovery" 2>"$work/routerd.log" &
routerd_pid=$!
pids+=("$routerd_pid")
proxy="127.0.0.1:$(port_of "$work/routerd.log")"
# echod registers right after it listens: allow discovery a moment.
for _ in $(seq 50); do
  answer="$("$bin/routectl" call echo 1 "hello from the package" --proxy "$proxy" 2>/dev/null || true)"
  [ "$answer" = "hello from the package" ] && break
  sleep 0.1
done
[ "$answer" = "hello from the package" ] || { cat "$work/routerd.log" >&2; fail "no answer through routerd: '$answer'"; }

kill -TERM "$routerd_pid"
wait "$routerd_pid" || fail "routerd did not exit 0 on SIGTERM"
echo "runtime Depends: $depends"
echo "package test: ok"
