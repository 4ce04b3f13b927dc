#!/usr/bin/env bash
# routerd (1 worker) against HAProxy 2.6 in TCP mode (1 thread), in
# alternating rounds on the same echod, so that both see the same machine
# load; prints each round's calls/s, p50 and CPU per call (from /proc, split
# into user and system time), and the medians of the ratios. A steadier
# comparison than one bench.sh row on a shared VM. Needs a build
# (scripts/build.sh) and haproxy (scripts/setup.sh).
#   scripts/versus_haproxy.sh [seconds per run, default 3] [connections, default 16] [rounds, default 5]
#                             [plain|tls, default plain] [tuned|defaults, default tuned]
# tls: TLS 1.3 on both legs (certificates made on the spot; routerd
# --tls-cert and --tls-ca, HAProxy ssl on bind and server, a TLS echod).
# tuned: routerd --pool-size 128 without health checks; defaults: every
# routerd flag at its default (pool size 10, one worker), what users start with.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
seconds="${1:-3}"
connections="${2:-16}"
rounds="${3:-5}"
transport="${4:-plain}"
routerd_setup="${5:-tuned}"
bin="$root/build/apps"
work="$(mktemp -d)"
pids=()
source "$root/scripts/lib.sh"
trap stop_all EXIT

echod_tls=() routerd_tls=() client_tls=()
if [ "$transport" = tls ]; then
  make_certificates "$work/certs"
  certs="$work/certs"
  echod_tls=(--tls-cert "$certs/server.pem" --tls-key "$certs/server.key")
  routerd_tls=("${echod_tls[@]}" --tls-ca "$certs/ca.pem")
  client_tls=(--tls-ca "$certs/ca.pem")
fi
tuned=()
[ "$routerd_setup" = tuned ] && tuned=(--threads 1 --pool-size 128 --health-check-interval-ms 0)
start echod "$bin/echod" --listen 127.0.0.1:0 --threads 1 "${echod_tls[@]}"
echod_port="$port"
start routerd "$bin/routerd" --listen 127.0.0.1:0 --admin 127.0.0.1:0 "${tuned[@]}" \
  --discovery "static://echo=127.0.0.1:$echod_port" "${routerd_tls[@]}"
routerd_port="$port"; routerd_pid="${pids[-1]}"
if [ "$transport" = tls ]; then
  start_haproxy_tls "$echod_port" "$certs"
  haproxy_port="$haproxy_tls_port"; haproxy_pid="$haproxy_tls_pid"
else
  start_haproxy "$echod_port"
fi

cpu_ticks() { awk '{print $14, $15}' "/proc/$1/stat"; }  # user, system
hz="$(getconf CLK_TCK)"
# measure PID ROUTEBENCH-ARGS...: prints "calls/s p50 cpu user system" (CPU
# in µs per call; user and system split it, which says where a gap lies)
measure() {
  local pid="$1"; shift
  local u0 s0 u1 s1 json
  read -r u0 s0 < <(cpu_ticks "$pid")
  json="$("$bin/routebench" "$@" "${client_tls[@]}" --connections "$connections" --duration-s "$seconds" \
    --warmup-s 0 --json)"
  read -r u1 s1 < <(cpu_ticks "$pid")
  awk -v json="$json" -v du="$((u1 - u0))" -v ds="$((s1 - s0))" -v hz="$hz" 'BEGIN {
    n = split(json, parts, /[,:{}]/)
    for (i = 1; i < n; i++) { gsub(/"/, "", parts[i]); v[parts[i]] = parts[i + 1] }
    calls = v["ok"] + v["failed"]
    user = calls > 0 ? du * 1e6 / hz / calls : 0
    sys = calls > 0 ? ds * 1e6 / hz / calls : 0
    printf "%.0f %.0f %.2f %.2f %.2f\n", v["calls_per_s"], v["p50_us"], user + sys, user, sys
  }'
}
"$bin/routebench" --direct "127.0.0.1:$echod_port" "${client_tls[@]}" --connections 4 --duration-s 0.5 \
  --warmup-s 0 >/dev/null
echo "routerd ($routerd_setup: ${tuned[*]:-every flag at its default}) vs HAProxy 1 thread, $transport," \
     "$connections connections, $rounds rounds of ${seconds} s each"
# The order alternates (routerd first in odd rounds, HAProxy first in even
# ones): whatever drifts on a shared machine during a round weighs on both.
for round in $(seq "$rounds"); do
  if [ $((round % 2)) = 1 ]; then
    r="$(measure "$routerd_pid" --proxy "127.0.0.1:$routerd_port")"
    h="$(measure "$haproxy_pid" --direct "127.0.0.1:$haproxy_port")"
  else
    h="$(measure "$haproxy_pid" --direct "127.0.0.1:$haproxy_port")"
    r="$(measure "$routerd_pid" --proxy "127.0.0.1:$routerd_port")"
  fi
  echo "$r $h" | awk '{printf "routerd %6d calls/s p50 %4d µs cpu %5.1f µs (user %4.1f sys %4.1f) | haproxy %6d calls/s p50 %4d µs cpu %5.1f µs (user %4.1f sys %4.1f) | calls %.3f cpu %.3f\n",
    $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $1 / $6, $3 / $8}'
done | tee "$work/rounds.txt"
median() { sort -n | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}'; }
echo "median ratio routerd/HAProxy: calls/s $(awk '{print $(NF-2)}' "$work/rounds.txt" | median)," \
     "CPU per call $(awk '{print $NF}' "$work/rounds.txt" | median)"
