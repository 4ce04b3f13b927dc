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

# launch_haproxy NAME GLOBAL_EXTRA LISTEN_LINES: HAProxy 2.6, one thread, TCP
# mode, with LISTEN_LINES (where @PORT@ stands for the port it listens on);
# sets $launched_port and $launched_pid. HAProxy cannot bind port 0 and
# report it, and a port found free can still be taken before it binds (by
# another process, or as an outgoing connection's local port): a few tries.
launch_haproxy() {
  local name="$1" global_extra="$2" listen="$3"
  for _ in 1 2 3 4 5; do
    launched_port="$(free_port)"
    cat >"$work/$name.cfg" <<CFG
global
  nbthread 1
  maxconn 5000
$global_extra
defaults
  mode tcp
  timeout connect 5s
  timeout client 60s
  timeout server 60s
listen echo
${listen//@PORT@/$launched_port}
CFG
    haproxy -f "$work/$name.cfg" -db 2>"$work/$name.log" &
    launched_pid="$!"
    sleep 0.5
    if kill -0 "$launched_pid" 2>/dev/null; then pids+=("$launched_pid"); return 0; fi
  done
  echo "$name did not start:"; cat "$work/$name.log"; exit 1
}

# start_haproxy BACKEND_PORT: in front of 127.0.0.1:BACKEND_PORT; sets
# $haproxy_port and $haproxy_pid.
start_haproxy() {
  launch_haproxy haproxy "" "  bind 127.0.0.1:@PORT@
  server echod 127.0.0.1:$1"
  haproxy_port="$launched_port"; haproxy_pid="$launched_pid"
}

# make_certificates DIR: a CA (DIR/ca.pem), a server certificate for
# 127.0.0.1 and localhost (DIR/server.pem, DIR/server.key, and both in
# DIR/server-combined.pem as HAProxy wants them) and a client certificate
# with identity spiffe://example/client (DIR/client.pem, DIR/client.key),
# and another with identity spiffe://example/intruder (DIR/intruder.*).
make_certificates() {
  local dir="$1" ec=(-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes)
  mkdir -p "$dir"
  openssl req -x509 "${ec[@]}" -keyout "$dir/ca.key" -out "$dir/ca.pem" -subj /CN=routing-demo-ca -days 2 2>/dev/null
  leaf() {  # leaf NAME SUBJECT SAN
    openssl req -x509 "${ec[@]}" -keyout "$dir/$1.key" -out "$dir/$1.pem" -subj "$2" -days 1 \
      -CA "$dir/ca.pem" -CAkey "$dir/ca.key" -addext basicConstraints=critical,CA:FALSE \
      -addext "subjectAltName=$3" 2>/dev/null
  }
  leaf server /CN=server "IP:127.0.0.1,DNS:localhost"
  leaf client /CN=client "URI:spiffe://example/client"
  leaf intruder /CN=intruder "URI:spiffe://example/intruder"
  cat "$dir/server.pem" "$dir/server.key" >"$dir/server-combined.pem"
}

# start_haproxy_tls BACKEND_PORT CERT_DIR: start_haproxy's twin with TLS 1.3
# on both legs (the certificates of make_certificates: it serves
# server-combined.pem and verifies the backend against ca.pem as
# "localhost"); sets $haproxy_tls_port and $haproxy_tls_pid.
start_haproxy_tls() {
  launch_haproxy haproxy-tls "  ssl-default-bind-options ssl-min-ver TLSv1.3
  ssl-default-server-options ssl-min-ver TLSv1.3" "  bind 127.0.0.1:@PORT@ ssl crt $2/server-combined.pem
  server echod 127.0.0.1:$1 ssl verify required ca-file $2/ca.pem verifyhost localhost"
  haproxy_tls_port="$launched_port"; haproxy_tls_pid="$launched_pid"
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
