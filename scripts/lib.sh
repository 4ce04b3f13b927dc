# Shared by the demo and bench scripts (sourced, not run).
# Needs: $work (a temp dir) and the array pids=().

# start NAME CMD...: runs CMD in the background with its log in
# $work/NAME.log, remembers its pid, and sets $port from its
# "listening on HOST:PORT" line.
start() {
  local name="$1"; shift
  "$@" 2>"$work/$name.log" &
  pids+=("$!")
  for _ in $(seq 200); do
    port="$(grep -o 'listening on [^ ]*' "$work/$name.log" | grep -o '[0-9]*$' || true)"
    [ -n "$port" ] && return 0
    sleep 0.05
  done
  echo "$name did not start:"; cat "$work/$name.log"; exit 1
}

# Kills whatever start() started and removes $work.
stop_all() {
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  sleep 0.3
  for pid in "${pids[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
