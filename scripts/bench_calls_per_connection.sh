#!/usr/bin/env bash
# How many calls one tagged backend connection should carry: routerd at its
# defaults (pool size 10, one worker, health checks on) in front of one
# echod, with --calls-per-connection C for each C, and --tagged-backends
# false (the line protocol, one call per backend connection) for reference.
# Two client shapes, 64 calls in flight each: 64 line-protocol client
# connections, and 4 client connections of 16 tagged calls. Reports calls/s,
# p50/p99 and the CPU routerd and echod spend per call (from /proc).
#   scripts/bench_calls_per_connection.sh [seconds per run, default 3] [values of C, default "1 2 4 8 16"]
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
seconds="${1:-3}"
values="${2:-1 2 4 8 16}"
bash scripts/build.sh >/dev/null
bin="$root/build/apps"
work="$(mktemp -d)"
pids=()
source "$root/scripts/lib.sh"
trap stop_all EXIT

start echod "$bin/echod" --listen 127.0.0.1:0 --threads 1
echod_port="$port"; echod_pid="${pids[-1]}"

measure() {  # measure LABEL ROUTERD_PORT ROUTERD_PID SHAPE-ARGS...
  local label="$1" rport="$2" rpid="$3"; shift 3
  local r0 e0 r1 e1 json
  r0="$(cpu_ticks "$rpid")"; e0="$(cpu_ticks "$echod_pid")"
  json="$("$bin/routebench" --proxy "127.0.0.1:$rport" "$@" --duration-s "$seconds" --warmup-s 0.5 --json)"
  r1="$(cpu_ticks "$rpid")"; e1="$(cpu_ticks "$echod_pid")"
  awk -v label="$label" -v json="$json" -v rd="$((r1 - r0))" -v ed="$((e1 - e0))" -v hz="$hz" -v s="$seconds" 'BEGIN {
    n = split(json, parts, /[,:{}]/)
    for (i = 1; i < n; i++) { gsub(/"/, "", parts[i]); value[parts[i]] = parts[i + 1] }
    calls = value["ok"] + value["failed"]
    # CPU over the warm-up too: divide by the calls of warm-up + run, estimated at the same rate.
    per = calls > 0 ? 1e6 / hz / (calls * (s + 0.5) / s) : 0
    printf "| %s | %.0f | %s | %.0f | %.0f | %.1f | %.1f |\n", label, value["calls_per_s"], value["failed"],
           value["p50_us"], value["p99_us"], rd * per, ed * per
  }'
}

echo "| routerd backends, client shape | calls/s | failed | p50 µs | p99 µs | routerd CPU µs/call | echod CPU µs/call |"
echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"
for c in line $values; do
  if [ "$c" = line ]; then flags=(--tagged-backends false); label="line protocol"; else
    flags=(--calls-per-connection "$c"); label="tagged, $c per connection"; fi
  start "routerd-$c" "$bin/routerd" --listen 127.0.0.1:0 --admin 127.0.0.1:0 \
    --discovery "static://echo=127.0.0.1:$echod_port" "${flags[@]}"
  rport="$port"; rpid="${pids[-1]}"
  measure "$label, 64 line clients" "$rport" "$rpid" --connections 64
  measure "$label, 4x16 tagged clients" "$rport" "$rpid" --connections 4 --in-flight-per-connection 16
  kill -TERM "$rpid"; wait "$rpid" 2>/dev/null || true
done
