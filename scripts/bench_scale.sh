#!/usr/bin/env bash
# Scale (issue 25; docs/performance.md, "Issue 25: scale"): what one routed
# call costs as a system gets more backends, as calls spread over more
# systems, and as clients hold more connections, each varied alone. Every
# row: routerd at its defaults unless the row says otherwise, routebench
# closed-loop (16 connections unless the row varies them), ECHO; reported:
# calls/s, routerd's CPU per call (µs, user + system), p99, routerd's RSS.
#
# Stand-in backends: one echod listening on 0.0.0.0 answers on every
# loopback address, so the backends 127.0.x.y:PORT (up to 10,000 of them)
# are one process. The script runs in a network namespace of its own
# (unshare -n, as root), where the only interface is loopback: that
# listener is reachable from nowhere else.
#
#   scripts/bench_scale.sh [seconds per row, default 3]
#   scripts/bench_scale.sh --smoke   (a few rows; checks ratios within the run)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
if [ -z "${ROUTING_SCALE_NETNS:-}" ]; then
  bash scripts/build.sh >/dev/null
  if ! unshare -n true 2>/dev/null; then
    echo "bench_scale: cannot make a network namespace (unshare -n needs root)" >&2
    exit 1
  fi
  exec env ROUTING_SCALE_NETNS=1 unshare -n bash "$0" "$@"
fi
ip link set lo up
# 100,000 systems hold a connection each, in routerd and in echod.
ulimit -n 1048576 2>/dev/null || ulimit -n "$(ulimit -Hn)"

seconds="${1:-3}"
smoke=0
if [ "$seconds" = --smoke ]; then seconds=0.5; smoke=1; fi
bin="$root/build/apps"
work="$(mktemp -d)"
pids=()
source "$root/scripts/lib.sh"
trap stop_all EXIT

start echod "$bin/echod" --listen 0.0.0.0:0 --max-connections 100000
echo_port="$port"
results="$work/results.tsv"

# backends N: N distinct stand-in addresses, comma-separated.
backends() {
  awk -v n="$1" -v p="$echo_port" 'BEGIN {
    for (i = 0; i < n; i++) printf "%s127.%d.%d.%d:%d", (i ? "," : ""), 1 + int(i / 62500), int(i / 250) % 250, 1 + i % 250, p
  }'
}
# systems N: a static map of N systems s0..sN-1, each with a backend of its
# own address (one destination for all would run out of ephemeral ports).
systems() {
  awk -v n="$1" -v p="$echo_port" 'BEGIN {
    for (i = 0; i < n; i++) printf "%ss%d=127.%d.%d.%d:%d", (i ? ";" : ""), i, 1 + int(i / 62500), int(i / 250) % 250, 1 + i % 250, p
  }'
}

# row AXIS VALUE LABEL DISCOVERY ROUTEBENCH-FLAGS ROUTERD-FLAGS...: one
# routerd (its discovery in a config file: 10,000 addresses do not fit in a
# command-line argument), a short warm-up, one measured routebench run.
row() {
  local axis="$1" value="$2" label="$3" discovery="$4" bench_flags="$5"; shift 5
  printf 'discovery = "%s"\n' "$discovery" >"$work/routerd.toml"
  start "routerd-$axis-$value" "$bin/routerd" --config "$work/routerd.toml" --listen 127.0.0.1:0 --admin 127.0.0.1:0 "$@"
  local rport="$port" rpid="${pids[-1]}" json ticks0 ticks1
  # Warm-up: long enough for every system's first call (it makes the system).
  # shellcheck disable=SC2086
  "$bin/routebench" --proxy "127.0.0.1:$rport" --duration-s "${warmup:-0.3}" --warmup-s 0 --json $bench_flags \
    >/dev/null || true
  ticks0="$(cpu_ticks "$rpid")"
  # routebench exits 1 when a call failed: the row says how many.
  # shellcheck disable=SC2086
  json="$("$bin/routebench" --proxy "127.0.0.1:$rport" --duration-s "$seconds" --warmup-s 0 --json $bench_flags || true)"
  ticks1="$(cpu_ticks "$rpid")"
  local rss_kb
  rss_kb="$(awk '/^VmRSS/ {print $2}' "/proc/$rpid/status")"
  awk -v axis="$axis" -v value="$value" -v label="$label" -v json="$json" -v ticks="$((ticks1 - ticks0))" \
      -v hz="$hz" -v seconds="$seconds" -v rss="$rss_kb" 'BEGIN {
    n = split(json, parts, /[,:{}]/)
    for (i = 1; i < n; i++) { gsub(/"/, "", parts[i]); v[parts[i]] = parts[i + 1] }
    calls = v["calls_per_s"] * seconds
    printf "%s\t%s\t%s\t%.0f\t%s\t%.1f\t%.0f\t%.1f\n", axis, value, label, v["calls_per_s"], v["failed"],
           (calls > 0 ? 1e6 * ticks / hz / calls : 0), v["p99_us"], rss / 1024
  }' >>"$results"
  kill -TERM "$rpid"; wait "$rpid" 2>/dev/null || true
}

# hold_idle N PORT: N client connections that send nothing, held by a
# background bash (its descriptors) until killed; sets $idle_pid.
hold_idle() {
  bash -c 'for ((i = 0; i < $1; i++)); do exec {fd}<>"/dev/tcp/127.0.0.1/$2" || exit 1; done; exec sleep 3600' _ "$1" "$2" &
  idle_pid="$!"
  pids+=("$idle_pid")
}

if [ "$smoke" = 1 ]; then
  backend_counts=(10 1000); system_counts=(1 1000); active_counts=(); idle_counts=()
else
  backend_counts=(1 10 100 1000 10000); system_counts=(1 100 10000 100000)
  active_counts=(16 256 1024); idle_counts=(1000 8000)
fi

for n in "${backend_counts[@]}"; do
  row backends "$n" "defaults" "static://echo=$(backends "$n")" ""
done
if [ "$smoke" = 0 ]; then
  for n in "${backend_counts[@]}"; do
    row backends-pick2-pool64 "$n" "--strategy pick-2 --pool-size 64" "static://echo=$(backends "$n")" "" \
      --strategy pick-2 --pool-size 64
  done
fi
for n in "${system_counts[@]}"; do
  # Past 10,000 systems (the default --max-systems) the operator raises the bound.
  extra=()
  [ "$n" -gt 10000 ] && extra=(--max-systems "$n")
  if [ "$n" = 1 ]; then
    row systems 1 "defaults" "static://s0=127.0.0.1:$echo_port" "--system s0"
  else
    warmup="$(awk -v n="$n" 'BEGIN {print 0.3 + n / 2000}')" \
      row systems "$n" "defaults${extra[*]:+ ${extra[*]}}" "static://$(systems "$n")" "--system s --systems $n" "${extra[@]}"
  fi
done
for n in "${active_counts[@]}"; do
  row active-connections "$n" "defaults" "static://echo=127.0.0.1:$echo_port" "--connections $n"
done
for n in "${idle_counts[@]}"; do
  # The idle ones are opened first, on a routerd of their own row.
  printf 'discovery = "static://echo=127.0.0.1:%s"\n' "$echo_port" >"$work/routerd.toml"
  start "routerd-idle-$n" "$bin/routerd" --config "$work/routerd.toml" --listen 127.0.0.1:0 --admin 127.0.0.1:0
  rport="$port"; rpid="${pids[-1]}"
  hold_idle "$n" "$rport"
  sleep 1
  ticks0="$(cpu_ticks "$rpid")"
  json="$("$bin/routebench" --proxy "127.0.0.1:$rport" --duration-s "$seconds" --warmup-s 0.3 --json || true)"
  ticks1="$(cpu_ticks "$rpid")"
  rss_kb="$(awk '/^VmRSS/ {print $2}' "/proc/$rpid/status")"
  awk -v value="$n" -v json="$json" -v ticks="$((ticks1 - ticks0))" -v hz="$hz" -v seconds="$seconds" \
      -v warm=0.3 -v rss="$rss_kb" 'BEGIN {
    n = split(json, parts, /[,:{}]/)
    for (i = 1; i < n; i++) { gsub(/"/, "", parts[i]); v[parts[i]] = parts[i + 1] }
    calls = v["calls_per_s"] * (seconds + warm)
    printf "idle-connections\t%s\tdefaults, 16 active\t%.0f\t%s\t%.1f\t%.0f\t%.1f\n", value, v["calls_per_s"], v["failed"],
           (calls > 0 ? 1e6 * ticks / hz / calls : 0), v["p99_us"], rss / 1024
  }' >>"$results"
  kill "$idle_pid" 2>/dev/null || true
  kill -TERM "$rpid"; wait "$rpid" 2>/dev/null || true
done

stamp="$(date +%Y%m%d-%H%M%S)"
mkdir -p bench/results
out="bench/results/scale-$stamp"
{
  echo "# Scale, $stamp"
  echo
  echo "One echod on 0.0.0.0 (every loopback address is a backend) in a network namespace of its own;"
  echo "routerd as each row says; routebench closed loop, 16 connections unless the row varies them,"
  echo "ECHO of 16 bytes, $seconds s per row. Rerun: \`bash scripts/bench_scale.sh $seconds\`."
  echo
  echo "| axis | value | routerd | calls/s | failed | routerd CPU µs/call | p99 µs | routerd RSS MiB |"
  echo "| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: |"
  awk -F'\t' '{printf "| %s | %s | %s | %s | %s | %s | %s | %s |\n", $1, $2, $3, $4, $5, $6, $7, $8}' "$results"
} >"$out.md"
if command -v gnuplot >/dev/null && [ "$smoke" = 0 ]; then
  for axis in backends backends-pick2-pool64 systems active-connections idle-connections; do
    awk -F'\t' -v a="$axis" '$1 == a {print $2, $6, $4}' "$results" >"$work/$axis.dat"
  done
  gnuplot <<PLOT
set terminal png size 1000,500
set output "$out.png"
set title "routerd CPU per routed call as each axis grows (flat is the target)"
set logscale x
set xlabel "backends per system / systems / client connections"
set ylabel "routerd CPU µs per call"
set yrange [0:*]
set key top left
plot "$work/backends.dat" using 1:2 with linespoints title "backends (defaults)", \
     "$work/backends-pick2-pool64.dat" using 1:2 with linespoints title "backends (pick-2, pool 64)", \
     "$work/systems.dat" using 1:2 with linespoints title "systems", \
     "$work/active-connections.dat" using 1:2 with linespoints title "active connections", \
     "$work/idle-connections.dat" using 1:2 with linespoints title "idle connections (+16 active)"
PLOT
fi
cat "$out.md"
if [ "$smoke" = 1 ]; then
  # Ratios within this run, never wall-clock bounds: 1,000 backends cost
  # what 10 do (before the aperture: 0.2x the calls/s), 1,000 systems what one does.
  awk -F'\t' '$5 != 0 {print "failed calls in " $1 " " $2; bad = 1}
              {cpu[$1 "-" $2] = $6; rate[$1 "-" $2] = $4}
              END {
                if (rate["backends-1000"] < 0.5 * rate["backends-10"]) { print "1000 backends: under half the calls/s of 10"; bad = 1 }
                if (cpu["backends-1000"] > 2 * cpu["backends-10"]) { print "1000 backends: over twice the CPU per call of 10"; bad = 1 }
                if (cpu["systems-1000"] > 3 * cpu["systems-1"]) { print "1000 systems: over 3x the CPU per call of one"; bad = 1 }
                exit bad
              }' "$results"
  rm -f "$out.md"
else
  echo "wrote $out.md $( [ -f "$out.png" ] && echo "$out.png")"
fi
