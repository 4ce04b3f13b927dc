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

# free_port: a local port nobody listens on now (a random one, checked).
free_port() {
  local p
  for _ in $(seq 100); do
    p=$((20000 + RANDOM % 20000))
    (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$p"; return; }
  done
  return 1
}

# start_haproxy BACKEND_PORT: HAProxy 2.6 in TCP mode, one thread, in front
# of 127.0.0.1:BACKEND_PORT; sets $haproxy_port and $haproxy_pid. HAProxy
# cannot bind port 0 and report it, and a port found free can still be taken
# before it binds (by another process, or as an outgoing connection's local
# port): a few tries.
start_haproxy() {
  for _ in 1 2 3 4 5; do
    haproxy_port="$(free_port)"
    cat >"$work/haproxy.cfg" <<CFG
global
  nbthread 1
  maxconn 5000
defaults
  mode tcp
  timeout connect 5s
  timeout client 60s
  timeout server 60s
listen echo
  bind 127.0.0.1:$haproxy_port
  server echod 127.0.0.1:$1
CFG
    haproxy -f "$work/haproxy.cfg" -db 2>"$work/haproxy.log" &
    haproxy_pid="$!"
    sleep 0.5
    if kill -0 "$haproxy_pid" 2>/dev/null; then pids+=("$haproxy_pid"); return 0; fi
  done
  echo "haproxy did not start:"; cat "$work/haproxy.log"; exit 1
}

# cpu_ticks PID: the process's user + system time so far, in clock ticks
# ($hz per second).
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
hz="$(getconf CLK_TCK)"

# Kills whatever start() started and removes $work.
stop_all() {
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  sleep 0.3
  for pid in "${pids[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
