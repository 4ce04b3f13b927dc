#!/usr/bin/env bash
# Two zones on one machine (CONTRACT §11, docs/zones.md): discoveryd, two
# echod in zone a and two in zone b, and a routerd that runs in zone b at its
# defaults. Zone a is "far" from the router: its echods answer after
# DELAY µs (echod --answer-delay-us), the stand-in for the network distance
# between zones (network namespaces with `tc netem` need the sch_netem
# kernel module; this script says when it is there, but the numbers below
# are taken with the delay flag either way, so runs compare on any machine).
# Each row: routebench, 16 closed-loop connections, WHOAMI, against
#   - routerd without --zone (every backend near: half the calls cross);
#   - routerd --zone b (calls stay in zone b);
#   - --zone b with one of zone b's echods drained (routectl drain): the
#     zone keeps half its capacity, 1.4 x 1/2 = 70% of calls stay;
#   - --zone b with both drained: everything spills to zone a.
# Reports calls/s, p50/p99 and the share of calls sent across zones (to zone
# a's echods, from routerd's routing_backend_calls_total), writes bench/results/zones-*.md
# and a chart (.png).
#   scripts/bench_zones.sh [seconds per row, default 3] [delay µs, default 1000]
#   scripts/bench_zones.sh --smoke
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
seconds="${1:-3}"
delay="${2:-1000}"
if [ "$seconds" = --smoke ]; then seconds=0.3; delay=1000; smoke=1; else smoke=0; fi
bash scripts/build.sh >/dev/null
bin="$root/build/apps"
work="$(mktemp -d)"
pids=()
source "$root/scripts/lib.sh"
trap stop_all EXIT

netem="no (sch_netem missing: zone distance from echod --answer-delay-us)"
if ip netns add routing-netem-probe 2>/dev/null; then
  if ip netns exec routing-netem-probe tc qdisc add dev lo root netem delay 1ms 2>/dev/null; then
    netem="yes (numbers still taken with echod --answer-delay-us, for comparable runs)"
  fi
  ip netns del routing-netem-probe 2>/dev/null || true
fi

start discoveryd "$bin/discoveryd" --listen 127.0.0.1:0 --admin 127.0.0.1:0
discovery="rpc://127.0.0.1:$port"
declare -A echod_address
for e in a1 a2 b1 b2; do
  zone="${e:0:1}"
  extra=()
  [ "$zone" = a ] && extra=(--answer-delay-us "$delay")
  start "echod-$e" "$bin/echod" --listen 127.0.0.1:0 --discovery "$discovery" --zone "$zone" "${extra[@]}"
  echod_address[$e]="127.0.0.1:$port"
done
sleep 0.3  # registrations in

# calls ADMIN_PORT [ZONE-A-ONLY]: attempts routerd sent to the echods (to zone
# a's only, with a second argument), from routing_backend_calls_total. By
# address, so the row without --zone counts its crossings too.
calls() {
  curl -s "http://127.0.0.1:$1/metrics" |
    awk -v a1="${echod_address[a1]}" -v a2="${echod_address[a2]}" -v far="${2:-}" '
      $1 ~ /^routing_backend_calls_total\{/ {
        if (far == "" || index($1, "\"" a1 "\"") || index($1, "\"" a2 "\"")) s += $2
      } END {printf "%d", s}'
}

results="$work/results.tsv"
row() {  # row LABEL ZONE-FLAGS DRAINED...: one routerd, one routebench run
  local label="$1" zone_flags="$2"; shift 2
  # shellcheck disable=SC2086
  start "routerd-$label" "$bin/routerd" --listen 127.0.0.1:0 --admin 127.0.0.1:0 --discovery "$discovery" $zone_flags
  local rport="$port" rpid="${pids[-1]}" admin
  admin="$(grep -o 'admin endpoint on http://[^ ]*' "$work/routerd-$label.log" | grep -o '[0-9]*$')"
  for e in "$@"; do
    "$bin/routectl" drain echo "${echod_address[$e]}" --proxy "127.0.0.1:$rport" >/dev/null
  done
  local json calls0 cross0 calls1 cross1
  "$bin/routebench" --proxy "127.0.0.1:$rport" --procedure 3 --connections 16 --duration-s 0.2 --warmup-s 0 --json >/dev/null
  calls0="$(calls "$admin")"; cross0="$(calls "$admin" far)"
  json="$("$bin/routebench" --proxy "127.0.0.1:$rport" --procedure 3 --connections 16 --duration-s "$seconds" \
    --warmup-s 0 --json)"
  calls1="$(calls "$admin")"; cross1="$(calls "$admin" far)"
  awk -v label="$label" -v json="$json" -v calls="$((calls1 - calls0))" -v cross="$((cross1 - cross0))" 'BEGIN {
    n = split(json, parts, /[,:{}]/)
    for (i = 1; i < n; i++) { gsub(/"/, "", parts[i]); value[parts[i]] = parts[i + 1] }
    printf "%s\t%.0f\t%s\t%.0f\t%.0f\t%.1f\n", label, value["calls_per_s"], value["failed"], value["p50_us"],
           value["p99_us"], (calls > 0 ? 100 * cross / calls : 0)
  }' >>"$results"
  kill -TERM "$rpid"; wait "$rpid" 2>/dev/null || true
}

row "no-zone" ""
row "zone-b" "--zone b"
row "zone-b-one-drained" "--zone b" b1
row "zone-b-all-drained" "--zone b" b1 b2

stamp="$(date +%Y%m%d-%H%M%S)"
out="bench/results/zones-$stamp"
{
  echo "# Zones, $stamp"
  echo
  echo "discoveryd, echod a1 a2 (zone a, answers after $delay µs: the distance from zone b), echod b1 b2"
  echo "(zone b), routerd in zone b at its defaults; routebench 16 closed-loop connections, WHOAMI,"
  echo "$seconds s per row. netem available: $netem. Rerun: \`bash scripts/bench_zones.sh $seconds $delay\`."
  echo
  echo "| routerd | calls/s | failed | p50 µs | p99 µs | calls across zones % |"
  echo "| --- | ---: | ---: | ---: | ---: | ---: |"
  awk -F'\t' '{printf "| %s | %s | %s | %s | %s | %s |\n", $1, $2, $3, $4, $5, $6}' "$results"
} >"$out.md"
if command -v gnuplot >/dev/null && [ "$smoke" = 0 ]; then
  gnuplot <<PLOT
set terminal png size 1000,450
set xtics font ",9"
set output "$out.png"
set title "routerd in zone b: p50 latency and calls sent across zones"
set style data histograms
set style histogram clustered gap 1
set style fill solid border -1
set ylabel "p50 µs"
set y2label "calls across zones %"
set yrange [0:*]
set y2range [0:100]
set ytics nomirror
set y2tics
set key top left
plot "$results" using 4:xtic(1) title "p50 µs" axes x1y1, '' using 6 title "across zones %" axes x1y2
PLOT
fi
cat "$out.md"
if [ "$smoke" = 1 ]; then
  # The smoke run checks the bed works: the zone keeps its calls, drains spill them, nothing fails.
  awk -F'\t' '$3 != 0 {print "failed calls in " $1; bad = 1}
              $1 == "zone-b" && $6 > 0 {print "zone-b sent calls across zones"; bad = 1}
              $1 == "zone-b-all-drained" && $6 < 99 {print "zone-b-all-drained kept calls near"; bad = 1}
              $1 == "no-zone" && ($6 < 20 || $6 > 80) {print "no-zone did not spread over both zones"; bad = 1}
              END {exit bad}' "$results"
  rm -f "$out.md"
else
  echo "wrote $out.md $( [ -f "$out.png" ] && echo "$out.png")"
fi
