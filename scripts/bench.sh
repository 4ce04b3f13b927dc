#!/usr/bin/env bash
# Side by side, in ONE run on the same echod backend: direct calls, library
# mode (pool size = connections, and at RouterOptions{}'s default pool size,
# what users start with), routerd (1 and 2 workers) and HAProxy in TCP mode
# (1 thread), at 1, 16 and 64 connections (closed loop). Reports calls/s,
# latency p50/p99/p99.9 and the CPU time each proxy (and echod) spends per
# call, from /proc, and library / direct ratios per connection count; then
# tagged frames (CONTRACT section 8): the same calls in flight carried by
# connections of 16 tagged calls each (direct to echod, and into routerd 1
# worker) against HAProxy's one connection per call in flight; then TLS on
# both legs (CONTRACT section 9), routerd against HAProxy with ssl; then
# the time from starting routerd to its first routed call, and the Google
# Benchmarks of the router's building blocks. Writes
# bench/results/bench-<time>.md, .tsv and .png.
#   scripts/bench.sh [seconds per run, default 5] [connection counts, default "1 16 64"]
#   scripts/bench.sh --smoke   (CI: every part runs briefly; checks that it runs, not how fast)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
smoke=0
if [ "${1:-}" = "--smoke" ]; then
  smoke=1
  set -- 0.3 "4"
fi
seconds="${1:-5}"
counts="${2:-1 16 64}"

bash scripts/setup.sh
bash scripts/build.sh >/dev/null
bin="$root/build/apps"
work="$(mktemp -d)"
pids=()
source "$root/scripts/lib.sh"
trap stop_all EXIT


start echod "$bin/echod" --listen 127.0.0.1:0 --threads 1
echod_port="$port"; echod_pid="${pids[-1]}"
start routerd1 "$bin/routerd" --listen 127.0.0.1:0 --admin 127.0.0.1:0 --threads 1 \
  --discovery "static://echo=127.0.0.1:$echod_port" --pool-size 128 --health-check-interval-ms 0
routerd1_port="$port"; routerd1_pid="${pids[-1]}"
start routerd2 "$bin/routerd" --listen 127.0.0.1:0 --admin 127.0.0.1:0 --threads 2 \
  --discovery "static://echo=127.0.0.1:$echod_port" --pool-size 128 --health-check-interval-ms 0
routerd2_port="$port"; routerd2_pid="${pids[-1]}"
# routerd as a user starts it: every flag at its default (pool size 10, one
# worker, health checks on, tagged backend connections of 8 calls).
start routerd_defaults "$bin/routerd" --listen 127.0.0.1:0 --admin 127.0.0.1:0 \
  --discovery "static://echo=127.0.0.1:$echod_port"
routerd_defaults_port="$port"; routerd_defaults_pid="${pids[-1]}"
start_haproxy "$echod_port"

results="$work/results.tsv"
printf 'mode\tconnections\tcalls_per_s\tp50_us\tp99_us\tp999_us\tproxy_cpu_us\techod_cpu_us\n' >"$results"
tagged=0  # 1: C calls in flight are max(1, C/16) connections of C/connections tagged calls each
run() {  # run MODE PROXY_PID ROUTEBENCH-ARGS...
  local mode="$1" proxy_pid="$2"; shift 2
  local c
  for c in $counts; do
    local p0=0 e0 p1=0 e1 json calls shape
    shape=(--connections "$c")
    if [ "$tagged" = 1 ]; then
      local conns=$((c >= 16 ? c / 16 : 1))
      shape=(--connections "$conns" --in-flight-per-connection "$((c / conns))")
    fi
    [ "$proxy_pid" != - ] && p0="$(cpu_ticks "$proxy_pid")"
    e0="$(cpu_ticks "$echod_pid")"
    json="$("$bin/routebench" "$@" "${shape[@]}" --duration-s "$seconds" --warmup-s 0 --json || true)"
    # Library rows say which pool size they ran with (for the report).
    grep -o '"pool_size":[0-9]*' <<<"$json" | cut -d: -f2 >"$work/pool-$mode" || true
    [ "$proxy_pid" != - ] && p1="$(cpu_ticks "$proxy_pid")"
    e1="$(cpu_ticks "$echod_pid")"
    calls="$(sed -E 's/.*"ok":([0-9]+),"failed":([0-9]+).*/\1 \2/' <<<"$json" | awk '{print $1 + $2}')"
    # Failed calls count in calls/s: the smoke check reads them from here.
    sed -nE 's/.*"failed":([0-9]+).*/\1/p' <<<"$json" | awk -v m="$mode" -v c="$c" '$1 > 0 {print m "(" c ":" $1 " failed)"}' \
      >>"$work/failed" || true
    awk -v mode="$mode" -v c="$c" -v json="$json" -v pd="$((p1 - p0))" -v ed="$((e1 - e0))" -v hz="$hz" \
        -v calls="$calls" -v proxy="$proxy_pid" 'BEGIN {
      n = split(json, parts, /[,:{}]/)
      for (i = 1; i < n; i++) { gsub(/"/, "", parts[i]); value[parts[i]] = parts[i + 1] }
      per = calls > 0 ? 1e6 / hz / calls : 0
      printf "%s\t%d\t%.0f\t%.0f\t%.0f\t%.0f\t%s\t%.1f\n", mode, c, value["calls_per_s"], value["p50_us"],
             value["p99_us"], value["p999_us"], proxy == "-" ? "n/a" : sprintf("%.1f", pd * per), ed * per
    }' >>"$results"
    tail -n 1 "$results"
  done
}
# Warm every path once, then measure.
"$bin/routebench" --direct "127.0.0.1:$echod_port" --connections 4 --duration-s 0.5 --warmup-s 0 >/dev/null
run direct - --direct "127.0.0.1:$echod_port"
run library - --discovery "static://echo=127.0.0.1:$echod_port"
run library-default-pool - --discovery "static://echo=127.0.0.1:$echod_port" --pool-size default
run "routerd-1-worker" "$routerd1_pid" --proxy "127.0.0.1:$routerd1_port"
run "routerd-2-workers" "$routerd2_pid" --proxy "127.0.0.1:$routerd2_port"
run "routerd-defaults" "$routerd_defaults_pid" --proxy "127.0.0.1:$routerd_defaults_port"
run "haproxy-tcp" "$haproxy_pid" --direct "127.0.0.1:$haproxy_port"
tagged=1
run "direct-tagged" - --direct "127.0.0.1:$echod_port"
run "routerd-1-worker-tagged" "$routerd1_pid" --proxy "127.0.0.1:$routerd1_port"
run "routerd-defaults-tagged" "$routerd_defaults_pid" --proxy "127.0.0.1:$routerd_defaults_port"
tagged=0
# TLS on both legs (CONTRACT section 9): the same certificates and the same
# TLS echod behind routerd and HAProxy (ssl on both sides, TLS 1.3, the
# backend verified by name on both). Handshakes are counted on routerd.
certs="$work/certs"
make_certificates "$certs"
start echod_tls "$bin/echod" --listen 127.0.0.1:0 --threads 1 --tls-cert "$certs/server.pem" --tls-key "$certs/server.key"
echod_tls_port="$port"; plain_echod_pid="$echod_pid"; echod_pid="${pids[-1]}"
tls_routerd() {  # tls_routerd NAME ROUTERD-FLAGS...
  local name="$1"; shift
  start "$name" "$bin/routerd" --listen 127.0.0.1:0 --admin 127.0.0.1:0 "$@" \
    --discovery "static://echo=127.0.0.1:$echod_tls_port" \
    --tls-cert "$certs/server.pem" --tls-key "$certs/server.key" --tls-ca "$certs/ca.pem"
}
tls_routerd routerd_tls1 --threads 1 --pool-size 128 --health-check-interval-ms 0
routerd_tls1_port="$port"; routerd_tls1_pid="${pids[-1]}"
routerd_tls1_admin="$(grep -o 'admin endpoint on http://[^ ]*' "$work/routerd_tls1.log" | sed 's|.*http://||')"
tls_routerd routerd_tls_defaults
routerd_tls_defaults_port="$port"; routerd_tls_defaults_pid="${pids[-1]}"
start_haproxy_tls "$echod_tls_port" "$certs"
tls=(--tls-ca "$certs/ca.pem")
run direct-tls - --direct "127.0.0.1:$echod_tls_port" "${tls[@]}"
run routerd-1-worker-tls "$routerd_tls1_pid" --proxy "127.0.0.1:$routerd_tls1_port" "${tls[@]}"
run routerd-defaults-tls "$routerd_tls_defaults_pid" --proxy "127.0.0.1:$routerd_tls_defaults_port" "${tls[@]}"
run haproxy-tls "$haproxy_tls_pid" --direct "127.0.0.1:$haproxy_tls_port" "${tls[@]}"
# Handshakes per call on routerd-1-worker-tls: client side and backend side.
tls_metrics="$(curl -s "http://$routerd_tls1_admin/metrics" 2>/dev/null || true)"
tls_calls="$(awk -F'\t' '$1 == "routerd-1-worker-tls" {s += $3} END {printf "%.0f", s * '"$seconds"'}' "$results")"
client_handshakes="$(awk '/^routerd_tls_handshakes_total/ {print $2}' <<<"$tls_metrics")"
backend_handshakes="$(awk '/^routing_backend_tls_handshakes_total/ {print $2}' <<<"$tls_metrics")"
echod_pid="$plain_echod_pid"

startup_runs=$([ "$smoke" = 1 ] && echo 2 || echo 20)
startup="$("$root/build/bench/startup_time" "$bin/routerd" "127.0.0.1:$echod_port" "$startup_runs")"
min_time=$([ "$smoke" = 1 ] && echo 0.01 || echo 0.5)
blocks="$("$root/build/bench/routing_bench" --benchmark_min_time="$min_time" 2>&1)"
codec="$("$root/build/bench/codec_bench" --benchmark_min_time="$min_time" 2>&1)"

if [ "$smoke" = 1 ]; then
  # Every path must have carried calls, with none failed.
  bad="$(tail -n +2 "$results" | awk -F'\t' '$3 <= 0 {print $1}')"
  if [ -s "$work/failed" ]; then bad="$bad $(xargs <"$work/failed")"; fi
  for mode in direct library library-default-pool routerd-1-worker routerd-2-workers routerd-defaults haproxy-tcp \
      direct-tagged routerd-1-worker-tagged routerd-defaults-tagged \
      direct-tls routerd-1-worker-tls routerd-defaults-tls haproxy-tls; do
    grep -q "^$mode"$'\t' "$results" || bad="$bad $mode(missing)"
  done
  grep -q '"median_ms"' <<<"$startup" || bad="$bad startup_time"
  [ -n "$client_handshakes" ] && [ -n "$backend_handshakes" ] || bad="$bad tls-handshake-counts"
  grep -q 'BM_Pick' <<<"$blocks" || bad="$bad routing_bench"
  grep -q 'BM_Encode' <<<"$codec" || bad="$bad codec_bench"
  bash scripts/bench_adaptive.sh --smoke || bad="$bad bench_adaptive"
  bash scripts/bench_zones.sh --smoke || bad="$bad bench_zones"
  bash scripts/bench_scale.sh --smoke || bad="$bad bench_scale"
  bash scripts/bench_overload.sh --smoke || bad="$bad bench_overload"
  if [ -n "$bad" ]; then
    echo "bench smoke: FAILED: $bad"
    cat "$results"
    exit 1
  fi
  echo "bench smoke: every part ran (start to first routed call: $startup)"
  exit 0
fi

# versus_haproxy_table FIRST-COLUMN ROUTERD-MODE HAPROXY-MODE ROUTERD-DEFAULTS-MODE:
# per connection count, the two routerd rows' calls/s, CPU per call (and
# the first's p50) as ratios of HAProxy's row, from $results.
versus_haproxy_table() {
  local first="$1" t="$2" h="$3" d="$4"
  echo "| $first | $t calls/s ÷ $h | CPU per call ÷ $h | p50 ÷ $h | $d calls/s ÷ $h | CPU per call ÷ $h |"
  echo "| ---: | ---: | ---: | ---: | ---: | ---: |"
  for c in $counts; do
    awk -F'\t' -v c="$c" -v t="$t" -v h="$h" -v d="$d" '$2 == c { calls[$1] = $3; p50[$1] = $4; cpu[$1] = $7 }
      function ratio(a, b) { return b > 0 ? sprintf("%.2f", a / b) : "n/a" }
      END {
        printf "| %s | %s | %s | %s | %s | %s |\n", c, ratio(calls[t], calls[h]), ratio(cpu[t], cpu[h]), ratio(p50[t], p50[h]),
               ratio(calls[d], calls[h]), ratio(cpu[d], cpu[h])
      }' "$results"
  done
}

stamp="$(date -u +%Y%m%d-%H%M%S)"
out="bench/results/bench-$stamp"
{
  echo "# Side-by-side benchmark, $stamp"
  echo
  echo "One echod (1 thread) behind every path; closed loop, 16-byte ECHO payloads, ${seconds} s per row,"
  echo "$(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)). CPU per call is the process's"
  echo "user+system time over the run divided by the calls (clock ticks of $((1000 / hz)) ms)."
  echo "Rerun: \`bash scripts/bench.sh $seconds \"$counts\"\`."
  echo
  echo "| mode | connections | calls/s | p50 µs | p99 µs | p99.9 µs | proxy CPU µs/call | echod CPU µs/call |"
  echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
  tail -n +2 "$results" | awk -F'\t' '{printf "| %s | %s | %s | %s | %s | %s | %s | %s |\n", $1, $2, $3, $4, $5, $6, $7, $8}'
  echo
  echo "library / direct: library-default-pool is routing::Router at RouterOptions{}'s pool size"
  echo "($(cat "$work/pool-library-default-pool") here, whatever the connections), library sizes the pool to the connections."
  echo "Issue 19's target at default options: calls/s ratio >= 0.9, p99 ratio <= 1.5."
  echo
  echo "| connections | library-default-pool calls/s ÷ direct | library-default-pool p99 ÷ direct | library calls/s ÷ direct | library p99 ÷ direct |"
  echo "| ---: | ---: | ---: | ---: | ---: |"
  for c in $counts; do
    awk -F'\t' -v c="$c" '$2 == c { calls[$1] = $3; p99[$1] = $5 }
      function ratio(a, b) { return b > 0 ? sprintf("%.2f", a / b) : "n/a" }
      END {
        printf "| %s | %s | %s | %s | %s |\n", c, ratio(calls["library-default-pool"], calls["direct"]),
               ratio(p99["library-default-pool"], p99["direct"]), ratio(calls["library"], calls["direct"]),
               ratio(p99["library"], p99["direct"])
      }' "$results"
  done
  echo
  echo "Tagged frames: the *-tagged rows carry the same calls in flight (the connections column) over"
  echo "max(1, N/16) connections of N/connections tagged calls each. routerd-1-worker and -2-workers run"
  echo "with --pool-size 128; routerd-defaults with every flag at its default (pool size 10: at most 10"
  echo "calls in flight to echod, the rest wait in routerd). routerd calls echod over tagged frames (up to"
  echo "8 calls per backend connection; bash scripts/bench_calls_per_connection.sh compares the line"
  echo "protocol). Issue 23's target at 64: routerd tagged >= 1.5x HAProxy's calls/s, CPU per call <= 0.67x,"
  echo "p50 no worse."
  echo
  versus_haproxy_table "calls in flight" routerd-1-worker-tagged haproxy-tcp routerd-defaults-tagged
  echo
  echo "TLS on both legs: routerd (--tls-cert on its port, --tls-ca to echod) and HAProxy (ssl on bind and"
  echo "server, TLS 1.3, the backend verified) in front of the same echod serving TLS; clients speak TLS."
  echo "routerd-1-worker-tls: --pool-size 128; routerd-defaults-tls: every other flag at its default."
  echo "Issue 22's target at 16 and 64: routerd calls/s >= 1.0x HAProxy's, CPU per call <= 1.0x."
  echo "Handshakes on routerd-1-worker-tls over its $tls_calls calls: ${client_handshakes:-?} from clients,"
  echo "${backend_handshakes:-?} to echod (one per connection, none per call)."
  echo
  versus_haproxy_table connections routerd-1-worker-tls haproxy-tls routerd-defaults-tls
  echo
  echo "Start of routerd to its first routed call answered (build/bench/startup_time, $startup_runs runs): \`$startup\`"
  echo
  echo "Building blocks (build/bench/routing_bench):"
  echo
  echo '```'
  grep -E '^(BM_|Benchmark)' <<<"$blocks"
  echo '```'
} >"$out.md"
cp "$results" "$out.tsv"
if command -v gnuplot >/dev/null; then
  modes="direct library library-default-pool routerd-1-worker routerd-2-workers haproxy-tcp"
  for c in $counts; do
    printf '%s' "$c"
    for m in $modes; do printf '\t%s' "$(awk -F'\t' -v m="$m" -v c="$c" '$1 == m && $2 == c {print $3}' "$results")"; done
    echo
  done >"$work/chart.dat"
  gnuplot <<PLOT
set terminal png size 900,500
set output "$out.png"
set title "calls/s by path and connections (higher is better)"
set style data histograms
set style histogram clustered gap 1
set style fill solid border -1
set ylabel "calls/s"
set yrange [0:*]
set xlabel "connections"
set key top left
plot "$work/chart.dat" using 2:xtic(1) title "direct", '' using 3 title "library (pool = connections)", \
     '' using 4 title "library (default pool, $(cat "$work/pool-library-default-pool"))", '' using 5 title "routerd 1 worker", \
     '' using 6 title "routerd 2 workers", '' using 7 title "HAProxy TCP"
PLOT
fi
echo
cat "$out.md"
echo
echo "wrote $out.md $out.tsv $( [ -f "$out.png" ] && echo "$out.png")"
