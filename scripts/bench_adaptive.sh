#!/usr/bin/env bash
# Adaptive pools and latency-aware balancing, measured (issue 9): three echod
# backends serving SLOW_ECHO ("2:x", 2 ms at speed 1) behind routerd, 64
# callers in a closed loop, fresh processes for every row. Two scenarios:
#   slowdown  one backend slows to a tenth of its speed halfway through
#   fast      one backend is twice as fast as the other two from the start
# and for each, fixed pool sizes against --pool-size auto, and pick-2,
# peak-ewma and round-robin. Reports calls/s, p50, p99 and the pool size
# routerd ended with: the median over rounds (the rows of one round run one
# after another, rounds repeat them, so slow spells of a shared machine
# spread over every row). Writes bench/results/adaptive-<time>.md, .tsv, .png.
#   scripts/bench_adaptive.sh [seconds per row, default 8] [rounds, default 3]
#   scripts/bench_adaptive.sh --smoke   (CI: a short row per scenario; checks it runs)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
smoke=0
if [ "${1:-}" = "--smoke" ]; then smoke=1; set -- 1 1; fi
seconds="${1:-8}"
rounds="${2:-3}"
connections=64
bin="$root/build/apps"
work="$(mktemp -d)"
pids=()
source "$root/scripts/lib.sh"
trap stop_all EXIT

# The pool sizes and strategies compared, as "pool strategy".
# 64 is as many as the callers; 128 leaves connections to spare (a system's
# open connections are bounded by its pool size too: at exactly 64, calls
# that shift between backends close and open connections).
configs=("8 pick-2" "64 pick-2" "128 pick-2" "auto pick-2" "128 peak-ewma" "auto peak-ewma" "128 round-robin"
         "auto round-robin")
[ "$smoke" = 1 ] && configs=("auto peak-ewma")

# Speeds of the three backends per scenario; the last may change halfway.
backend_flags() {  # backend_flags SCENARIO INDEX
  case "$1:$2" in
    slowdown:2) echo "--speed-change-after-s $(awk -v s="$seconds" 'BEGIN {print s / 2}') --later-speed 0.1" ;;
    fast:2) echo "--speed 2" ;;
    *) echo "" ;;
  esac
}

# The pool size routerd reports in /status at the end of a run.
final_pool_size() {  # final_pool_size ADMIN_PORT
  local reply
  exec 3<>"/dev/tcp/127.0.0.1/$1"
  printf 'GET /status HTTP/1.0\r\n\r\n' >&3
  reply="$(cat <&3)"
  exec 3<&-
  grep -o '"pool_size":[0-9]*' <<<"$reply" | head -n 1 | cut -d: -f2
}

results="$work/results.tsv"
printf 'round\tscenario\tpool\tstrategy\tcalls_per_s\tp50_us\tp99_us\tfailed\tfinal_pool\n' >"$results"
for round in $(seq "$rounds"); do
  for scenario in slowdown fast; do
    for config in "${configs[@]}"; do
      read -r pool strategy <<<"$config"
      pids=()
      addresses=""
      for i in 0 1 2; do
        # shellcheck disable=SC2046
        start "echod$i" "$bin/echod" --listen 127.0.0.1:0 --threads 1 $(backend_flags "$scenario" "$i")
        addresses="$addresses${addresses:+,}127.0.0.1:$port"
      done
      start routerd "$bin/routerd" --listen 127.0.0.1:0 --admin 127.0.0.1:0 --threads 2 \
        --discovery "static://echo=$addresses" --pool-size "$pool" --strategy "$strategy" \
        --health-check-interval-ms 0 --max-pending 100000
      routerd_port="$port"
      admin_port="$(grep -o 'admin endpoint on http://[^ ]*' "$work/routerd.log" | grep -o '[0-9]*$')"
      json="$("$bin/routebench" --proxy "127.0.0.1:$routerd_port" --procedure 2 --payload "2:x" \
                --connections "$connections" --duration-s "$seconds" --warmup-s 0 --timeout-ms 10000 --json || true)"
      final="$(final_pool_size "$admin_port")"
      awk -v r="$round" -v sc="$scenario" -v pool="$pool" -v st="$strategy" -v json="$json" -v final="$final" 'BEGIN {
        n = split(json, parts, /[,:{}]/)
        for (i = 1; i < n; i++) { gsub(/"/, "", parts[i]); v[parts[i]] = parts[i + 1] }
        printf "%s\t%s\t%s\t%s\t%.0f\t%.0f\t%.0f\t%d\t%s\n", r, sc, pool, st, v["calls_per_s"], v["p50_us"],
               v["p99_us"], v["failed"], final
      }' >>"$results"
      tail -n 1 "$results"
      for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
      for pid in "${pids[@]}"; do while kill -0 "$pid" 2>/dev/null; do sleep 0.05; done; done
    done
  done
done
pids=()

# Per scenario, pool and strategy (in the order run): the median of each
# figure over the rounds, and the range of calls/s and p99.
summary="$work/summary.tsv"
tail -n +2 "$results" | awk -F'\t' '
  function median(list,   n, a, i, j, t) {
    n = split(list, a, " ")
    for (i = 2; i <= n; i++) for (j = i; j > 1 && a[j] + 0 < a[j - 1] + 0; j--) { t = a[j]; a[j] = a[j - 1]; a[j - 1] = t }
    return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
  }
  function range(list,   n, a, i, lo, hi) {
    n = split(list, a, " "); lo = hi = a[1]
    for (i = 2; i <= n; i++) { if (a[i] + 0 < lo + 0) lo = a[i]; if (a[i] + 0 > hi + 0) hi = a[i] }
    return lo "–" hi
  }
  {
    key = $2 "\t" $3 "\t" $4
    if (!(key in seen)) { seen[key] = 1; order[++keys] = key }
    calls[key] = calls[key] " " $5; p50[key] = p50[key] " " $6; p99[key] = p99[key] " " $7
    failed[key] += $8; final[key] = final[key] " " $9
  }
  END {
    for (k = 1; k <= keys; k++) {
      key = order[k]
      printf "%s\t%.0f\t%s\t%.0f\t%.0f\t%s\t%d\t%.0f\n", key, median(calls[key]), range(calls[key]), median(p50[key]),
             median(p99[key]), range(p99[key]), failed[key], median(final[key])
    }
  }' >"$summary"

if [ "$smoke" = 1 ]; then
  bad="$(tail -n +2 "$results" | awk -F'\t' '$5 <= 0 || $8 != 0 || $9 == "" {print $2 "/" $3 "/" $4}')"
  rows="$(tail -n +2 "$results" | wc -l)"
  if [ -n "$bad" ] || [ "$rows" != 2 ]; then echo "adaptive bench smoke: FAILED: $bad"; cat "$results"; exit 1; fi
  echo "adaptive bench smoke: both scenarios ran"
  exit 0
fi

stamp="$(date -u +%Y%m%d-%H%M%S)"
out="bench/results/adaptive-$stamp"
{
  echo "# Adaptive pools and balancing, $stamp"
  echo
  echo "Three echod (1 thread each) behind routerd (2 workers); $connections callers in a closed loop of SLOW_ECHO \"2:x\""
  echo "(2 ms at speed 1), ${seconds} s per row, fresh processes per row, $rounds rounds (medians; ranges over the"
  echo "rounds). slowdown: the third backend drops to"
  echo "speed 0.1 (20 ms) after $(awk -v s="$seconds" 'BEGIN {print s / 2}') s. fast: the third backend has speed 2 (1 ms)."
  echo "final pool: the system's limit in /status at the end. Rerun: \`bash scripts/bench_adaptive.sh $seconds $rounds\`."
  echo
  echo "| scenario | pool size | strategy | calls/s | (range) | p50 µs | p99 µs | (range) | failed | final pool |"
  echo "| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
  awk -F'\t' '{printf "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", $1, $2, $3, $4, $5, $6, $7, $8, $9, $10}' "$summary"
} >"$out.md"
cp "$results" "$out.tsv"
if command -v gnuplot >/dev/null; then
  awk -F'\t' '$1 == "slowdown" {print $2 "/" $3 "\t" $4 "\t" $7 / 1000}' "$summary" >"$work/slowdown.dat"
  awk -F'\t' '$1 == "fast" {print $2 "/" $3 "\t" $4 "\t" $7 / 1000}' "$summary" >"$work/fast.dat"
  gnuplot <<PLOT
set terminal png size 1100,700
set output "$out.png"
set multiplot layout 2,2
set style data histograms
set style histogram clustered gap 1
set style fill solid border -1
set xtics rotate by -30
set yrange [0:*]
set key off
set title "slowdown: calls/s (higher is better)"
plot "$work/slowdown.dat" using 2:xtic(1) lc rgb "#4878cf"
set title "slowdown: p99 ms (lower is better)"
plot "$work/slowdown.dat" using 3:xtic(1) lc rgb "#d65f5f"
set title "fast backend: calls/s (higher is better)"
plot "$work/fast.dat" using 2:xtic(1) lc rgb "#4878cf"
set title "fast backend: p99 ms (lower is better)"
plot "$work/fast.dat" using 3:xtic(1) lc rgb "#d65f5f"
unset multiplot
PLOT
fi
echo
cat "$out.md"
echo
echo "wrote $out.md $out.tsv $( [ -f "$out.png" ] && echo "$out.png")"
