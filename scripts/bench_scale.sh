#!/usr/bin/env bash
# Scale (issue 25; docs/performance.md, "Issue 25: scale"): what one routed
# call costs as a system gets more backends (in a static:// map, or
# registered with discoveryd), as calls spread over more systems, as clients
# hold more connections, and as discoveryd's set of a system's backends
# changes N times a second, each varied alone. Every row: routerd at its
# defaults unless the row says otherwise, routebench closed-loop (16
# connections unless the row varies them), ECHO; reported: calls/s,
# routerd's CPU per call (µs, user + system), p99, routerd's RSS.
#
# Axes: backends, backends-pick2-pool64, systems, active-connections,
# idle-connections (static://); backends-discoveryd (1 to 10,000 backends
# registered with one discoveryd, routerd --discovery rpc://), churn and
# churn-5000 (a system of 1,000 or 5,000 backends in discoveryd while
# `routebench churn` replaces 0, 10, 100 or 1,000 of them a second: one
# deregistered, a spare registered; the label says how many it made). The
# churn driver keeps the leases alive and withdraws its backends after the
# row; routerd follows the set by its watch (LIST long polls).
#
# Stand-in backends: one echod listening on 0.0.0.0 answers on every
# loopback address, so the backends 127.0.x.y:PORT (up to 10,000 of them)
# are one process. The script runs in a network namespace of its own
# (unshare -n, as root), where the only interface is loopback: that
# listener is reachable from nowhere else.
#
#   scripts/bench_scale.sh [seconds per row, default 3]
#   scripts/bench_scale.sh --smoke   (a few rows; checks ratios within the run)
#   SCALE_AXES="backends-discoveryd churn" scripts/bench_scale.sh 3   (only those axes)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
if [ -z "${ROUTING_SCALE_NETNS:-}" ]; then
  bash scripts/build.sh --target echod discoveryd routerd routebench >/dev/null
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

# SCALE_AXES: the axes to run (space- or comma-separated), default all.
axes=" ${SCALE_AXES:-all} "
axes="${axes//,/ }"
want() { [ "$axes" = " all " ] || [[ "$axes" == *" $1 "* ]]; }
for axis in $axes; do
  case "$axis" in
    all | backends | backends-pick2-pool64 | systems | active-connections | idle-connections | backends-discoveryd | churn | churn-5000) ;;
    *) echo "bench_scale: unknown axis '$axis' in SCALE_AXES (backends, backends-pick2-pool64, systems, active-connections, idle-connections, backends-discoveryd, churn, churn-5000)" >&2; exit 2 ;;
  esac
done

start echod "$bin/echod" --listen 0.0.0.0:0 --max-connections 100000
echo_port="$port"
results="$work/results.tsv"
: >"$results"

# One discoveryd for the discoveryd axes, its bounds raised for one name of
# 10,000 instances (plus the churn's spares) registered through one
# connection, and that name's LIST answer (about 90 bytes an instance) within
# the 1 MiB frame every client reads.
if want backends-discoveryd || want churn || want churn-5000; then
  start discoveryd "$bin/discoveryd" --listen 127.0.0.1:0 --admin 127.0.0.1:0 \
    --max-instances-per-name 20000 --max-instances 50000 --max-registrations-per-connection 50000 \
    --max-list-bytes 1048576
  discoveryd_url="rpc://127.0.0.1:$port"
fi

# churn_start SYSTEM N RATE: `routebench churn` registers N backends (the
# addresses of backends()) as SYSTEM with discoveryd, keeps their leases, and
# replaces RATE of them a second until churn_stop (or 600 s); returns once
# they are all registered. Sets $churn_pid.
churn_start() {
  local log="$work/churn-$1.log"
  "$bin/routebench" churn --discovery "$discoveryd_url" --system "$1" --backends "$2" \
    --backend-port "$echo_port" --rate "$3" --duration-s 600 --json >"$work/churn-$1.json" 2>"$log" &
  churn_pid="$!"
  pids+=("$churn_pid")
  for _ in $(seq 600); do
    grep -qs '^registered' "$log" && return 0
    kill -0 "$churn_pid" 2>/dev/null || break
    sleep 0.05
  done
  echo "routebench churn did not register $2 backends:"; cat "$log"; exit 1
}
# churn_stop SYSTEM: stops the driver (it withdraws its backends) and sets
# $churn_made to what it did: "N/s made" and, if any, "F failed".
churn_stop() {
  kill -TERM "$churn_pid"
  wait "$churn_pid" || true
  churn_made="$(awk '{
    n = split($0, parts, /[,:{}]/)
    for (i = 1; i < n; i++) { gsub(/"/, "", parts[i]); v[parts[i]] = parts[i + 1] }
    printf "%.0f/s made", v["changes_per_s"]
    if (v["failed"] != 0) printf ", %s discovery requests failed", v["failed"]
  }' "$work/churn-$1.json")"
  [ -n "$churn_made" ] || { echo "routebench churn said nothing:"; cat "$work/churn-$1.log"; exit 1; }
}

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
  pick2_counts=(); discoveryd_counts=(); churn_rates=(0 1000); churn5000_rates=()
else
  backend_counts=(1 10 100 1000 10000); pick2_counts=(1 10 100 1000 10000); system_counts=(1 100 10000 100000)
  active_counts=(16 256 1024); idle_counts=(1000 8000)
  discoveryd_counts=(1 10 100 1000 10000); churn_rates=(0 10 100 1000); churn5000_rates=(0 10 100 1000)
fi
want backends || backend_counts=()
want backends-pick2-pool64 || pick2_counts=()
want systems || system_counts=()
want active-connections || active_counts=()
want idle-connections || idle_counts=()
want backends-discoveryd || discoveryd_counts=()
want churn || churn_rates=()
want churn-5000 || churn5000_rates=()

for n in "${backend_counts[@]}"; do
  row backends "$n" "defaults" "static://echo=$(backends "$n")" ""
done
for n in "${pick2_counts[@]}"; do
  row backends-pick2-pool64 "$n" "--strategy pick-2 --pool-size 64" "static://echo=$(backends "$n")" "" \
    --strategy pick-2 --pool-size 64
done
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

# relabel TEXT: appends TEXT to the routerd column of the last row.
relabel() {
  { head -n -1 "$results"; tail -n 1 "$results" | awk -F'\t' -v OFS='\t' -v add="$1" '{$3 = $3 ", " add; print}'; } \
    >"$work/results.new"
  mv "$work/results.new" "$results"
}
# The discoveryd axes: the driver registers a system's backends first;
# routerd finds them by LIST at the system's first call (in the warm-up) and
# then follows its watch. Each row its own system name.
for n in "${discoveryd_counts[@]}"; do
  churn_start "d$n" "$n" 0
  row backends-discoveryd "$n" "defaults" "$discoveryd_url" "--system d$n"
  churn_stop "d$n"
  [[ "$churn_made" == *failed* ]] && relabel "${churn_made#*, }"
done
# churn_axis AXIS BACKENDS RATES...: a row per rate of changes a second; the
# label says how many the driver made (over its life: routerd's start, the
# warm-up and the row).
churn_axis() {
  local axis="$1" n="$2" rate
  shift 2
  for rate in "$@"; do
    churn_start "c$n-$rate" "$n" "$rate"
    row "$axis" "$rate" "defaults, $n backends" "$discoveryd_url" "--system c$n-$rate"
    churn_stop "c$n-$rate"
    relabel "$churn_made"
  done
}
churn_axis churn 1000 "${churn_rates[@]}"
churn_axis churn-5000 5000 "${churn5000_rates[@]}"

stamp="$(date +%Y%m%d-%H%M%S)"
mkdir -p bench/results
out="bench/results/scale-$stamp"
{
  echo "# Scale, $stamp"
  echo
  echo "One echod on 0.0.0.0 (every loopback address is a backend) in a network namespace of its own;"
  echo "routerd as each row says; routebench closed loop, 16 connections unless the row varies them,"
  echo "ECHO of 16 bytes, $seconds s per row. Rerun: \`${SCALE_AXES:+SCALE_AXES=\"$SCALE_AXES\" }bash scripts/bench_scale.sh $seconds\`."
  if [ -n "${discoveryd_url:-}" ]; then
    echo "Axes backends-discoveryd and churn*: \`routebench churn\` registers the system's backends with one"
    echo "discoveryd (routerd --discovery rpc://) and keeps their leases; a churn row's value is the changes a"
    echo "second it asks for, each one backend deregistered and a spare registered; the label says what it made."
  fi
  echo
  echo "| axis | value | routerd | calls/s | failed | routerd CPU µs/call | p99 µs | routerd RSS MiB |"
  echo "| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: |"
  awk -F'\t' '{printf "| %s | %s | %s | %s | %s | %s | %s | %s |\n", $1, $2, $3, $4, $5, $6, $7, $8}' "$results"
} >"$out.md"
if command -v gnuplot >/dev/null && [ "$smoke" = 0 ]; then
  # plot_lines X-AXES...: gnuplot's plot arguments for the axes that have rows
  # (AXIS:TITLE each).
  plot_lines() {
    local each axis lines=""
    for each in "$@"; do
      axis="${each%%:*}"
      awk -F'\t' -v a="$axis" '$1 == a {print $2, $6, $4}' "$results" >"$work/$axis.dat"
      [ -s "$work/$axis.dat" ] || continue
      lines+="${lines:+, }\"$work/$axis.dat\" using $PLOT_USING with linespoints title \"${each#*:}\""
    done
    echo "$lines"
  }
  lines="$(PLOT_USING=1:2 plot_lines "backends:backends (defaults)" "backends-pick2-pool64:backends (pick-2, pool 64)" \
    "backends-discoveryd:backends (in discoveryd)" "systems:systems" "active-connections:active connections" \
    "idle-connections:idle connections (+16 active)")"
  if [ -n "$lines" ]; then
    gnuplot <<PLOT
set terminal png size 1000,500
set output "$out.png"
set title "routerd CPU per routed call as each axis grows (flat is the target)"
set logscale x
set xlabel "backends per system / systems / client connections"
set ylabel "routerd CPU µs per call"
set yrange [0:*]
set key top left
plot $lines
PLOT
  fi
  # Churn starts at 0 changes a second: its own chart, the rates as categories.
  lines="$(PLOT_USING='0:2:xtic(1)' plot_lines "churn:1,000 backends" "churn-5000:5,000 backends")"
  if [ -n "$lines" ]; then
    gnuplot <<PLOT
set terminal png size 800,400
set output "$out-churn.png"
set title "routerd CPU per routed call while discoveryd's set of the system changes"
set xlabel "changes a second (one backend replaced by another)"
set ylabel "routerd CPU µs per call"
set yrange [0:*]
set key top left
plot $lines
PLOT
  fi
fi
cat "$out.md"
if [ "$smoke" = 1 ]; then
  # Ratios within this run, never wall-clock bounds: 1,000 backends cost
  # what 10 do (before the aperture: 0.2x the calls/s), 1,000 systems what
  # one does; 1,000 changes a second of a system of 1,000 backends in
  # discoveryd cost at most 1.6x the CPU per call of none (measured 0.9x;
  # 2.4-2.9x before watches merged changes and System::publish matched old
  # and new lists in one pass instead of O(n^2)).
  # Only the rows this run has are checked (SCALE_AXES).
  awk -F'\t' '$5 != 0 {print "failed calls in " $1 " " $2; bad = 1}
              $3 ~ /failed/ {print "failed discovery requests in " $1 " " $2 ": " $3; bad = 1}
              {cpu[$1 "-" $2] = $6; rate[$1 "-" $2] = $4}
              END {
                if (("backends-1000" in rate) && rate["backends-1000"] < 0.5 * rate["backends-10"]) { print "1000 backends: under half the calls/s of 10"; bad = 1 }
                if (("backends-1000" in cpu) && cpu["backends-1000"] > 2 * cpu["backends-10"]) { print "1000 backends: over twice the CPU per call of 10"; bad = 1 }
                if (("systems-1000" in cpu) && cpu["systems-1000"] > 3 * cpu["systems-1"]) { print "1000 systems: over 3x the CPU per call of one"; bad = 1 }
                if (("churn-1000" in cpu) && cpu["churn-1000"] > 1.6 * cpu["churn-0"]) { print "1000 changes/s: over 1.6x the CPU per call of none"; bad = 1 }
                exit bad
              }' "$results"
  rm -f "$out.md"
else
  echo "wrote $out.md $( [ -f "$out.png" ] && echo "$out.png") $( [ -f "$out-churn.png" ] && echo "$out-churn.png")"
fi
