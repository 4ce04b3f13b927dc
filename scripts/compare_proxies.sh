#!/usr/bin/env bash
# Several proxies side by side on one echod: routerd builds (1 worker each)
# and/or HAProxy 2.6 in TCP mode (1 thread), run in rounds that rotate which
# one goes first, so that all see the same moments of a shared machine.
# Prints, per proxy, the median calls/s and CPU per call, and the medians of
# the per-round ratios to the first proxy given (calls/s, the proxy's CPU
# per call, echod's CPU per call). Use it to A/B two builds of routerd:
#   git worktree add /tmp/before <commit> && (cd /tmp/before && scripts/build.sh)
#   scripts/compare_proxies.sh 3 16 8 before=/tmp/before/build/apps/routerd \
#       after=build/apps/routerd haproxy
# Arguments: seconds per run, connections, rounds, then NAME=ROUTERD-BINARY
# or `haproxy`, two or more. Needs a build (scripts/build.sh) for echod and
# routebench, and haproxy (scripts/setup.sh) if named.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
if [ $# -lt 5 ]; then
  sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'
  exit 2
fi
seconds="$1"; connections="$2"; rounds="$3"; shift 3
bin="$root/build/apps"
work="$(mktemp -d)"
pids=()
source "$root/scripts/lib.sh"
trap stop_all EXIT

start echod "$bin/echod" --listen 127.0.0.1:0 --threads 1
echod_port="$port"; echod_pid="${pids[-1]}"

names=(); proxy_pids=(); targets=()
for spec in "$@"; do
  if [ "$spec" = haproxy ]; then
    start_haproxy "$echod_port"
    names+=(haproxy); proxy_pids+=("$haproxy_pid"); targets+=("--direct 127.0.0.1:$haproxy_port")
  else
    name="${spec%%=*}"; binary="${spec#*=}"
    [ -x "$binary" ] || { echo "compare_proxies.sh: $binary is not an executable"; exit 2; }
    start "$name" "$binary" --listen 127.0.0.1:0 --admin 127.0.0.1:0 --threads 1 \
      --discovery "static://echo=127.0.0.1:$echod_port" --pool-size 128 --health-check-interval-ms 0
    names+=("$name"); proxy_pids+=("${pids[-1]}"); targets+=("--proxy 127.0.0.1:$port")
  fi
done
count="${#names[@]}"

ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }  # user + system
# one INDEX: prints "calls/s proxy-cpu-µs echod-cpu-µs p50-µs" for one run
one() {
  local i="$1" p0 p1 e0 e1 json
  p0="$(ticks "${proxy_pids[$i]}")"; e0="$(ticks "$echod_pid")"
  # shellcheck disable=SC2086  # the target is two words on purpose
  json="$("$bin/routebench" ${targets[$i]} --connections "$connections" --duration-s "$seconds" --warmup-s 0 --json)"
  p1="$(ticks "${proxy_pids[$i]}")"; e1="$(ticks "$echod_pid")"
  awk -v json="$json" -v dp="$((p1 - p0))" -v de="$((e1 - e0))" -v hz="$(getconf CLK_TCK)" 'BEGIN {
    n = split(json, parts, /[,:{}]/)
    for (k = 1; k < n; k++) { gsub(/"/, "", parts[k]); v[parts[k]] = parts[k + 1] }
    calls = v["ok"] + v["failed"]; if (calls == 0) calls = 1
    printf "%.0f %.2f %.2f %.0f\n", v["calls_per_s"], dp * 1e6 / hz / calls, de * 1e6 / hz / calls, v["p50_us"]
  }'
}

"$bin/routebench" --direct "127.0.0.1:$echod_port" --connections 4 --duration-s 0.5 --warmup-s 0 >/dev/null
echo "$count proxies on one echod, $connections connections, $rounds rounds of ${seconds} s, order rotating"
for round in $(seq "$rounds"); do
  for k in $(seq 0 $((count - 1))); do
    i=$(( (k + round) % count ))
    echo "$round $i $(one "$i")"
  done
done | tee "$work/runs.txt" | awk -v names="${names[*]}" 'BEGIN { split(names, n, " ") }
  { printf "round %d %-10s %6d calls/s  cpu %5.1f µs  echod %5.1f µs  p50 %5d µs\n", $1, n[$2 + 1], $3, $4, $5, $6 }'

# Medians per proxy, and of each round's ratios to the first proxy.
awk -v names="${names[*]}" -v count="$count" '
  function median(list,   m, a, k, t) {
    m = split(list, a, " ")
    for (k = 1; k <= m; k++) for (t = k + 1; t <= m; t++) if (a[t] < a[k]) { x = a[k]; a[k] = a[t]; a[t] = x }
    return a[int((m + 1) / 2)]
  }
  BEGIN { split(names, n, " ") }
  { calls[$1, $2] = $3; cpu[$1, $2] = $4; echod[$1, $2] = $5; p50[$1, $2] = $6; if ($1 > rounds) rounds = $1 }
  END {
    for (i = 0; i < count; i++) {
      c = p = rc = rp = re = q = ""
      for (r = 1; r <= rounds; r++) {
        c = c " " calls[r, i]; p = p " " cpu[r, i]; q = q " " p50[r, i]
        rc = rc " " calls[r, i] / calls[r, 0]; rp = rp " " cpu[r, i] / cpu[r, 0]; re = re " " echod[r, i] / echod[r, 0]
      }
      printf "%-10s median %6d calls/s, cpu %5.1f µs, p50 %5d µs | vs %s: calls/s %.3f, cpu %.3f, echod cpu %.3f\n",
        n[i + 1], median(c), median(p), median(q), n[1], median(rc), median(rp), median(re)
    }
  }' "$work/runs.txt"
