#!/usr/bin/env bash
# The main job: builds what is needed, starts echod on a free loopback port,
# talks to it in the line protocol, then stops it with SIGTERM while a call is
# in flight and shows that the call still gets its answer.
# (Later issues grow this into the full cluster demo: discoveryd, routerd.)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

bash scripts/setup.sh
bash scripts/build.sh >/dev/null
bin="$root/build/apps"
work="$(mktemp -d)"
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

# Starts a program whose log goes to $work/<name>.log and waits for its port.
start() {
  local name="$1"; shift
  "$@" 2>"$work/$name.log" &
  pids+=("$!")
  for _ in $(seq 200); do
    port="$(grep -o 'listening on [^ ]*' "$work/$name.log" | grep -o '[0-9]*$' || true)"
    [ -n "$port" ] && return 0
    sleep 0.05
  done
  echo "demo: $name did not start:"; cat "$work/$name.log"; exit 1
}

# Sends raw frames and prints each answer beside its request.
call() {
  local request="$1"
  local answer
  answer="$(printf '%s\n' "$request" | nc -N -w 3 127.0.0.1 "$port" | head -n 1)"
  printf '  %-28s -> %s\n' "$request" "$answer"
}

echo "== starting echod"
start echod "$bin/echod" --listen 127.0.0.1:0 --name echo
echod_pid="${pids[-1]}"
echo "  echod (pid $echod_pid) listens on 127.0.0.1:$port"

echo
echo "== the line protocol: <procedure>:<payload>  ->  <status>:<payload>"
call '0:'
call '1:hello, world'
call '1:two\nlines'
call '3:'
call '2:250:slow hello'
call '2:not-a-number'
call '42:x'
call 'garbage'

echo
echo "== pipelining: three requests in one write, answers in order"
printf '1:first\n2:100:second (slow)\n1:third\n' | nc -N -w 3 127.0.0.1 "$port" | sed 's/^/  /'

echo
echo "== graceful stop: SIGTERM while a 500 ms call is in flight"
( printf '2:500:answered during the drain\n' | nc -N -w 3 127.0.0.1 "$port" | sed 's/^/  call in flight got: /' ) &
caller=$!
sleep 0.1
kill -TERM "$echod_pid"
wait "$caller"
wait "$echod_pid" && echo "  echod exited with status 0"
pids=()
echo
echo "echod's log:"
sed 's/^/  /' "$work/echod.log"
