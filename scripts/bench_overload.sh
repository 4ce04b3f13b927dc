#!/usr/bin/env bash
# Overload (issue 27): what the router does when offered more than its
# backends can serve. Three echod, each `--capacity 4` (4 calls worked on at
# once, the rest queued inside echod), serve SLOW_ECHO "20:x" (20 ms): 600
# calls/s of capacity in all. routebench offers an open loop (Poisson
# arrivals, each call sent at its arrival time whatever happened to the
# others; apps/routebench/open_loop.h) of 0.5x, 1x, 2x and 4x that, each call
# with a 200 ms deadline, through routerd (static discovery) with fixed pools
# of 10 (the default: 10 / 20 ms = 500 calls/s, less than the backends
# carry), 50 and 200 and with --pool-size auto, each with round-robin and
# peak-ewma; then in library mode (the Router in routebench, pool default and
# auto). Fresh processes for every row; every other setting at its default
# (what users get). Per row: goodput (status 0 within the deadline, per s),
# shed (status 8) and deadline exceeded (4) per s, p50/p99 of the admitted
# calls, how fast a shed answer came, how late the generator was, and the CPU
# of routerd (library rows: of routebench, generator included).
# Writes bench/results/overload-<time>.md, .tsv and .png.
#   scripts/bench_overload.sh [seconds per row, default 5]
#   scripts/bench_overload.sh --smoke   (CI: pool 10 and auto, round-robin, 0.5x and 2x, 2 s; checks ratios)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
smoke=0
if [ "${1:-}" = "--smoke" ]; then smoke=1; set -- 2; fi
seconds="${1:-5}"
warmup=1  # the adaptive limit finds capacity within a few hundred ms
bash scripts/build.sh --target echod routerd routebench >/dev/null
bin="$root/build/apps"
work="$(mktemp -d)"
pids=()
source "$root/scripts/lib.sh"
trap stop_all EXIT
if ! "$bin/echod" --help | grep -q -- '--capacity'; then
  echo "bench_overload: this echod has no --capacity (CONTRACT §4, version 2)" >&2
  exit 1
fi

backends=3 slots=4 work_ms=20 deadline_ms=200
capacity=$((backends * slots * 1000 / work_ms))  # calls/s the backends can serve
loads=(0.5 1 2 4)
pools=(10 50 200 auto)
strategies=(round-robin peak-ewma)
library_pools=(default auto)
if [ "$smoke" = 1 ]; then
  loads=(0.5 2); pools=(10 auto); strategies=(round-robin); library_pools=()
fi

# start_backends: fresh echods; sets $addresses.
start_backends() {
  addresses=""
  for i in $(seq 0 $((backends - 1))); do
    start "echod$i" "$bin/echod" --listen 127.0.0.1:0 --capacity "$slots"
    addresses="$addresses${addresses:+,}127.0.0.1:$port"
  done
}

# stop_row: stops this row's processes by pid (TERM, then KILL after 5 s:
# a drain is bounded by the calls' 200 ms deadlines, but never wait on it).
stop_row() {
  local pid
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  pids=()
}

# bench [--timed] TARGET-FLAGS...: the open loop at $rate for this row;
# prints its JSON (empty when routebench said nothing). --timed: its CPU
# (user and system seconds) into $work/time. A run is bounded: warm-up +
# seconds + one deadline + 1 s; `timeout` guards against a hang all the same.
bench() {
  local timed=()
  if [ "$1" = --timed ]; then timed=(/usr/bin/time -f '%U %S' -o "$work/time"); shift; fi
  "${timed[@]}" timeout $((seconds + 30)) "$bin/routebench" "$@" --rate "$rate" --procedure 2 --payload "$work_ms:x" \
    --timeout-ms "$deadline_ms" --duration-s "$seconds" --warmup-s "$warmup" --seed 27 --json \
    2>>"$work/routebench.log" || true
}

results="$work/results.tsv"
printf 'mode\tpool\tstrategy\tload\toffered\tgoodput\tshed_per_s\tdeadline_per_s\tother_failed\tp50_ms\tp99_ms\tshed_p50_ms\tshed_p99_ms\tlate_p99_ms\tlate_max_ms\tcpu_pct\n' >"$results"
# record MODE POOL STRATEGY LOAD JSON CPU_TICKS WALL_S: one row of $results.
record() {
  awk -v mode="$1" -v pool="$2" -v st="$3" -v load="$4" -v json="$5" -v ticks="$6" -v wall="$7" -v hz="$hz" 'BEGIN {
    n = split(json, parts, /[,:{}]/)
    for (i = 1; i < n; i++) { gsub(/"/, "", parts[i]); v[parts[i]] = parts[i + 1] }
    # Failures that are neither 8 nor 4 (the JSON object "other_failures"),
    # with the answers refused by routerd'"'"'s bound on calls per connection.
    other = v["connection_limited"] + v["late_ok"]
    if (match(json, /"other_failures":\{[^}]*\}/)) {
      m = substr(json, RSTART + 18, RLENGTH - 18); k = split(m, kv, /[,:{}"]+/)
      for (i = 2; i < k; i += 2) other += kv[i + 1]
    }
    ok = (json != "")
    printf "%s\t%s\t%s\t%s\t%.0f\t%.0f\t%.0f\t%.0f\t%s\t%.1f\t%.1f\t%.2f\t%.2f\t%.1f\t%.1f\t%.0f\n", mode, pool, st, load,
           v["offered_per_s"], v["goodput_per_s"], v["shed_per_s"], v["deadline_exceeded_per_s"], ok ? other : "no run",
           v["p50_us"] / 1000, v["p99_us"] / 1000, v["shed_p50_us"] / 1000, v["shed_p99_us"] / 1000,
           v["p99_lateness_us"] / 1000, v["max_lateness_us"] / 1000, (wall > 0 ? 100 * ticks / hz / wall : 0)
  }' >>"$results"
  tail -n 1 "$results"
  # Every figure routebench gave (other failures by status, unanswered calls).
  printf '{"mode":"%s","pool":"%s","strategy":"%s","load":%s,"routebench":%s}\n' "$1" "$2" "$3" "$4" "${5:-null}" \
    >>"$work/rows.jsonl"
}

now_s() { date +%s.%N; }

# Proxy rows: routerd at its defaults but for the pool and the strategy.
for pool in "${pools[@]}"; do
  for strategy in "${strategies[@]}"; do
    for load in "${loads[@]}"; do
      rate="$(awk -v c="$capacity" -v l="$load" 'BEGIN {print c * l}')"
      start_backends
      start routerd "$bin/routerd" --listen 127.0.0.1:0 --admin 127.0.0.1:0 \
        --discovery "static://echo=$addresses" --pool-size "$pool" --strategy "$strategy"
      rport="$port" rpid="${pids[-1]}"
      t0="$(now_s)" ticks0="$(cpu_ticks "$rpid")"
      json="$(bench --proxy "127.0.0.1:$rport")"
      ticks1="$(cpu_ticks "$rpid")" t1="$(now_s)"
      record routerd "$pool" "$strategy" "$load" "$json" $((ticks1 - ticks0)) "$(awk -v a="$t0" -v b="$t1" 'BEGIN {print b - a}')"
      stop_row
    done
  done
done

# Library rows: the Router inside routebench, RouterOptions{} but the pool.
# Its CPU (user + system, from GNU time) includes the generator's.
for pool in "${library_pools[@]}"; do
  for load in "${loads[@]}"; do
    rate="$(awk -v c="$capacity" -v l="$load" 'BEGIN {print c * l}')"
    start_backends
    t0="$(now_s)"
    json="$(bench --timed --discovery "static://echo=$addresses" --pool-size "$pool")"
    t1="$(now_s)"
    # The last line: GNU time first says "Command exited with non-zero
    # status 1" when no call succeeded.
    cpu_s="$(tail -n 1 "$work/time" 2>/dev/null | awk '{print $1 + $2}')"
    record library "$pool" round-robin "$load" "$json" "$(awk -v s="$cpu_s" -v hz="$hz" 'BEGIN {printf "%d", s * hz}')" \
      "$(awk -v a="$t0" -v b="$t1" 'BEGIN {print b - a}')"
    stop_row
  done
done

if [ "$smoke" = 1 ]; then
  # Every row ran, and at half the capacity every variant served calls.
  # Ratios within this run only, never absolute figures.
  awk -F'\t' -v want=$(( ${#pools[@]} * ${#strategies[@]} * ${#loads[@]} + ${#library_pools[@]} * ${#loads[@]} )) '
    NR == 1 { next }
    { rows++; key = $1 "/" $2 "/" $3; goodput[key, $4] = $6 }
    $9 == "no run" { print "no result: " $1 " " $2 " " $3 " at " $4 "x"; bad = 1 }
    $4 == 0.5 && $6 <= 0 { print "no goodput at 0.5x: " key; bad = 1 }
    { p99[key, $4] = $11 }
    # No collapse (measured, 3 s rows: 2x got 494 (pool 10) and 546 (auto)
    # calls/s against 300 at 0.5x; before early shedding 0-2): at 2x at least
    # 1.1x what 0.5x got (ideal: 1.67x for pool 10, 2x for auto; a smoke row
    # is short and CI machines are noisy: collapse is what it must catch).
    $4 == 2 && $6 < 1.1 * goodput[key, 0.5] { print "goodput collapsed at 2x: " key " " $6 " vs " goodput[key, 0.5]; bad = 1 }
    # Shedding is cheap: a shed answer comes at least 10x faster than an admitted call.
    $4 == 2 && $7 > 0 && $12 * 10 > $10 { print "shed answers slow: " key; bad = 1 }
    # auto keeps admitted calls fast (issue 27: p99 at 2x <= 2x that at 0.5x;
    # measured 1.9x; checked at 3x for a noisy machine; without the queue
    # bound it was 8x).
    $2 == "auto" && $4 == 2 && $11 > 3 * p99[key, 0.5] { print "auto p99 at 2x: " $11 " vs " p99[key, 0.5] " at 0.5x"; bad = 1 }
    END {
      if (rows != want) { print "bench_overload smoke: " rows " rows, expected " want; bad = 1 }
      exit bad
    }' "$results" || { echo "bench_overload smoke: FAILED"; cat "$results"; cat "$work/routebench.log"; exit 1; }
  echo "bench_overload smoke: every row ran; no collapse at 2x; shed answers fast; auto's p99 held"
  exit 0
fi

stamp="$(date -u +%Y%m%d-%H%M%S)"
mkdir -p bench/results
out="bench/results/overload-$stamp"
{
  echo "# Overload, $stamp"
  echo
  echo "$backends echod \`--capacity $slots\` serving SLOW_ECHO \"$work_ms:x\" ($work_ms ms): $capacity calls/s of capacity."
  echo "routebench open loop (Poisson arrivals, seed 27), deadline $deadline_ms ms per call, ${seconds} s measured per row after"
  echo "${warmup} s of warm-up, fresh processes per row. routerd: static discovery, every flag at its default"
  echo "but \`--pool-size\` and \`--strategy\` (16 client connections of tagged frames). library: the Router in"
  echo "routebench, RouterOptions{} but the pool size. goodput: status 0 within the deadline. other: failures"
  echo "that are neither 8 nor 4. CPU: routerd's (library: routebench's, generator included), % of one core over"
  echo "the run. late: how late the generator sent calls (p99, worst; large: the generator or a busy machine is the"
  echo "bottleneck, and latencies, counted from each call's arrival, include it). $out.jsonl: every figure of each row."
  echo "Rerun: \`bash scripts/bench_overload.sh $seconds\`."
  echo
  echo "| mode | pool | strategy | load | offered/s | goodput/s | shed/s | deadline exceeded/s | other | p50 ms | p99 ms | shed p50 ms | late p99 / max ms | CPU % |"
  echo "| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
  tail -n +2 "$results" | awk -F'\t' '{printf "| %s | %s | %s | %sx | %s | %s | %s | %s | %s | %s | %s | %s | %s / %s | %s |\n",
    $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $14, $15, $16}'
} >"$out.md"
cp "$results" "$out.tsv"
cp "$work/rows.jsonl" "$out.jsonl"
if command -v gnuplot >/dev/null; then
  # One line per variant: the colour says the mode and pool, the dash the
  # strategy. p99 is missing ("?") where no call was admitted: a 0 would
  # read as fast.
  # style POOL MODE STRATEGY: gnuplot's line colour and dash type.
  style() {
    local colour
    case "$2/$1" in
      routerd/10) colour="#d62728" ;; routerd/50) colour="#ff7f0e" ;; routerd/200) colour="#1f77b4" ;;
      routerd/auto) colour="#2ca02c" ;; library/default) colour="#9467bd" ;; *) colour="#17becf" ;;
    esac
    echo "lc rgb \"$colour\" dashtype $([ "$3" = peak-ewma ] && echo 2 || echo 1)"
  }
  lines_goodput="" lines_p99=""
  while IFS=$'\t' read -r mode pool strategy; do
    variant="$mode/$pool/$strategy"
    file="$work/$(tr '/ ' '__' <<<"$variant").dat"
    awk -F'\t' -v v="$variant" 'NR > 1 && $1 "/" $2 "/" $3 == v {print $5, $6, ($6 > 0 ? $11 : "?")}' "$results" >"$file"
    lines_goodput+="${lines_goodput:+, }\"$file\" using 1:2 with linespoints $(style "$pool" "$mode" "$strategy") title \"$variant\""
    lines_p99+="${lines_p99:+, }\"$file\" using 1:3 with linespoints $(style "$pool" "$mode" "$strategy") title \"$variant\""
  done < <(awk -F'\t' 'NR > 1 && !seen[$1 "/" $2 "/" $3]++ {print $1 "\t" $2 "\t" $3}' "$results")
  top="$(awk -F'\t' 'NR > 1 && $5 > m {m = $5} END {print m * 1.2}' "$results")"
  # pngcairo draws dashes (png does not); png where it is missing.
  terminal=png
  gnuplot -e 'set terminal' 2>&1 | grep -q pngcairo && terminal=pngcairo
  gnuplot <<PLOT
set terminal $terminal size 1300,700
set output "$out.png"
set datafile missing "?"
set multiplot layout 1,2
set key below font ",9" maxrows 4
set xlabel "offered calls/s (log scale)"
set logscale x 2
set xrange [$(awk -v c="$capacity" 'BEGIN {print c / 4}'):$top]
set yrange [0:$((capacity * 11 / 10))]
set title "goodput (status 0 within ${deadline_ms} ms) vs offered; capacity $capacity/s"
set ylabel "goodput calls/s"
plot (x < $capacity ? x : $capacity) with lines lw 2 lc rgb "#bbbbbb" title "ideal", $lines_goodput
set title "p99 of admitted calls vs offered (none admitted: no point)"
set ylabel "p99 ms (deadline ${deadline_ms})"
set yrange [0:$((deadline_ms * 11 / 10))]
plot $lines_p99
unset multiplot
PLOT
fi
echo
cat "$out.md"
echo
echo "wrote $out.md $out.tsv $out.jsonl $( [ -f "$out.png" ] && echo "$out.png")"
