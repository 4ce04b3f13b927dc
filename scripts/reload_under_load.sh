#!/bin/bash
# Reload under load, as an operator does it, at the defaults: discoveryd, two echod and routerd
# (build/apps, or $BUILD_DIR/apps); routebench --proxy with 16 connections for 10 s while routerd
# gets 10 SIGHUPs (pool-size 10/4, strategy) and discoveryd 5 (max-names). Prints the calls
# (failed must be 0), the reloads applied and the time from SIGHUP to the "applied" log line.
# Ports 17200 and 17300 must be free. Usage: bash scripts/reload_under_load.sh

set -u
B=${BUILD_DIR:-$(cd "$(dirname "$0")/.." && pwd)/build}/apps
T=$(mktemp -d)
DP=17200; RP=17300
printf 'max-names = 10000\n' > $T/d.toml
printf 'pool-size = 10\n' > $T/r.toml
$B/discoveryd --listen 127.0.0.1:$DP --admin 127.0.0.1:0 --config $T/d.toml 2> $T/d.log & D=$!
sleep 0.3
$B/echod --listen 127.0.0.1:0 --discovery rpc://127.0.0.1:$DP 2> $T/e1.log & E1=$!
$B/echod --listen 127.0.0.1:0 --discovery rpc://127.0.0.1:$DP 2> $T/e2.log & E2=$!
sleep 0.5
$B/routerd --listen 127.0.0.1:$RP --admin 127.0.0.1:0 --discovery rpc://127.0.0.1:$DP --config $T/r.toml 2> $T/r.log & R=$!
sleep 0.5
$B/routebench --proxy 127.0.0.1:$RP --connections 16 --duration-s 10 --warmup-s 0 > $T/bench.txt 2>&1 & BENCH=$!
for i in $(seq 1 10); do
  sleep 0.9
  if [ $((i % 2)) = 0 ]; then printf 'pool-size = 10\nstrategy = "round-robin"\n' > $T/r.toml; else printf 'pool-size = 4\nstrategy = "pick-2"\n' > $T/r.toml; fi
  date +%s.%N >> $T/sent.txt
  kill -HUP $R
  if [ $((i % 2)) = 0 ]; then printf 'max-names = %d\n' $((9000 + i)) > $T/d.toml; kill -HUP $D; fi
done
wait $BENCH
cat $T/bench.txt
echo "routerd reloads applied: $(grep -c 'reload (SIGHUP): applied' $T/r.log), failed: $(grep -c 'reload (SIGHUP) failed' $T/r.log)"
echo "discoveryd reloads applied: $(grep -c 'reload (SIGHUP): applied' $T/d.log)"
grep 'reload (SIGHUP)' $T/r.log | head -3
kill $R $E1 $E2 $D; wait 2>/dev/null
paste <(cat $T/sent.txt) <(grep 'reload (SIGHUP): applied' $T/r.log | awk '{print $1}') | head -10 > $T/pairs.txt
python3 - $T/pairs.txt <<'PY'
import sys,datetime
ms=[]
for line in open(sys.argv[1]):
    a,b=line.split()
    t=datetime.datetime.strptime(b.rstrip('Z'),'%Y-%m-%dT%H:%M:%S.%f').replace(tzinfo=datetime.timezone.utc).timestamp()
    ms.append((t-float(a))*1000)
ms.sort(); print("SIGHUP to applied line, ms: min %.0f median %.0f max %.0f" % (ms[0], ms[len(ms)//2], ms[-1]))
PY
rm -rf $T
