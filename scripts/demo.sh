#!/usr/bin/env bash
# The main job: builds what is needed, starts a live cluster on loopback
# (discoveryd, three echod, routerd) and shows it working: calls through the
# proxy and the library, the spread per strategy, a backend killed under load
# with no failed call, its restart, and some metrics. Then it stops
# everything and exits 0.
#   scripts/demo.sh           # the tour
#   scripts/demo.sh --keep    # the tour, then leave the cluster running
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
keep=0
[ "${1:-}" = "--keep" ] && keep=1

bash scripts/setup.sh
echo "building (first time: a few minutes)..."
bash scripts/build.sh >/dev/null
bin="$root/build/apps"
work="$(mktemp -d)"
pids=()
source "$root/scripts/lib.sh"
trap stop_all EXIT

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }


http_get() {  # http_get PORT PATH (bash only: no curl needed)
  exec 3<>"/dev/tcp/127.0.0.1/$1"
  printf 'GET %s HTTP/1.0\r\n\r\n' "$2" >&3
  sed '1,/^\r$/d' <&3
  exec 3<&-
}

say "starting a cluster on loopback"
start discoveryd "$bin/discoveryd" --listen 127.0.0.1:0 --admin 127.0.0.1:0
discovery="rpc://127.0.0.1:$port"
echo "  discoveryd   $discovery"
echod_ports=()
declare -a echod_pids
for i in 1 2 3; do
  start "echod$i" "$bin/echod" --listen 127.0.0.1:0 --name echo --discovery "$discovery" --ttl-ms 2000
  echod_ports+=("$port")
  echod_pids[$i]="${pids[-1]}"
  echo "  echod #$i     127.0.0.1:$port (registered as 'echo')"
done
# Its settings in a config file, so that the tour can change them live (SIGHUP).
printf 'health-check-interval-ms = 200\npool-size = 10\n' >"$work/routerd.toml"
start routerd "$bin/routerd" --listen 127.0.0.1:0 --admin 127.0.0.1:0 --discovery "$discovery" \
  --config "$work/routerd.toml"
routerd_pid="${pids[-1]}"
proxy="127.0.0.1:$port"
admin="$(grep -o 'admin endpoint on http://[^ ]*' "$work/routerd.log" | grep -o '[0-9]*$')"
echo "  routerd      $proxy (admin http://127.0.0.1:$admin)"
echo "  status page  http://127.0.0.1:$admin/ (open it in a browser: systems, backends, health, latency)"

say "one call through routerd (proxy mode)"
echo "  \$ routectl call echo 1 'hello, world' --proxy $proxy"
printf '  %s\n' "$("$bin/routectl" call echo 1 'hello, world' --proxy "$proxy")"
say "the same call in-process (library mode: routing::Router, no proxy hop)"
echo "  \$ routectl call echo 1 'hello, world' --discovery $discovery"
printf '  %s\n' "$("$bin/routectl" call echo 1 'hello, world' --discovery "$discovery")"
echo "  errors come back as a status and a reason:"
"$bin/routectl" call nowhere 1 x --proxy "$proxy" 2>&1 | sed 's/^/  /' || true

say "how each strategy spreads WHOAMI calls over the three backends (1 s, 4 callers)"
for strategy in round-robin random least-connections pick-2; do
  "$bin/routectl" set-strategy "$strategy" --proxy "$proxy" >/dev/null
  echo "  $strategy:"
  "$bin/routebench" --proxy "$proxy" --procedure 3 --connections 4 --duration-s 1 --warmup-s 0 | sed 's/^/    /'
done
"$bin/routectl" set-strategy round-robin --proxy "$proxy" >/dev/null

say "SIGKILL backend #2 under load (8 callers, 3 s, calls marked idempotent)"
"$bin/routebench" --proxy "$proxy" --procedure 3 --connections 8 --duration-s 3 --warmup-s 0 --idempotent \
  >"$work/kill.txt" &
bench=$!
sleep 1
kill -KILL "${echod_pids[2]}"
wait "${echod_pids[2]}" 2>/dev/null || true
echo "  killed echod #2 (127.0.0.1:${echod_ports[1]}) after 1 s"
wait "$bench" || true
sed 's/^/  /' "$work/kill.txt"
echo "  (calls in flight on #2 were resent to the others; new calls skip it: refused connects are"
echo "   retried elsewhere, it is ejected, health checks take it out, and its lease ends in 2 s)"

say "restart backend #2 on the same port; it rejoins"
start echod2b "$bin/echod" --listen "127.0.0.1:${echod_ports[1]}" --name echo --discovery "$discovery" --ttl-ms 2000
sleep 1
"$bin/routebench" --proxy "$proxy" --procedure 3 --connections 4 --duration-s 1 --warmup-s 0 | sed 's/^/  /'

say "reload routerd's settings while it runs (edit its config file, then SIGHUP)"
printf 'health-check-interval-ms = 200\npool-size = 4\nstrategy = "pick-2"\n' >"$work/routerd.toml"
echo "  routerd.toml now says pool-size = 4, strategy = \"pick-2\"; \$ kill -HUP <routerd>"
kill -HUP "$routerd_pid"
for _ in $(seq 50); do grep -q 'reload (SIGHUP)' "$work/routerd.log" && break; sleep 0.1; done
grep -o 'reload (SIGHUP).*' "$work/routerd.log" | sed 's/^/  /'
http_get "$admin" /status | grep -o '"strategy":"[^"]*","pool_size":[0-9]*' | head -1 | sed 's/^/  now: /'
"$bin/routebench" --proxy "$proxy" --procedure 3 --connections 8 --duration-s 1 --warmup-s 0 | sed 's/^/  /'

say "two zones, two routerds that register themselves, and a backend drained for maintenance"
# System 'zoned': one echod in zone a, far from zone b (it answers after 1 ms,
# the stand-in for the distance), two in zone b; a routerd in each zone.
start echoza "$bin/echod" --listen 127.0.0.1:0 --name zoned --discovery "$discovery" --zone a --answer-delay-us 1000
za="127.0.0.1:$port"
zb=()
for i in 1 2; do
  start "echozb$i" "$bin/echod" --listen 127.0.0.1:0 --name zoned --discovery "$discovery" --zone b
  zb+=("127.0.0.1:$port")
done
for zone in a b; do
  start "routerd-$zone" "$bin/routerd" --listen 127.0.0.1:0 --admin 127.0.0.1:0 --discovery "$discovery" \
    --zone "$zone" --register-as routerd --health-check-interval-ms 200
done
proxy_b="127.0.0.1:$port"
echo "  zone a: echod $za (1 ms away from zone b); zone b: echod ${zb[*]}"
echo "  \$ routectl list routerd --discovery $discovery     # the routerds registered themselves"
"$bin/routectl" list routerd --discovery "$discovery" | sed 's/^/  /'
echo "  routerd --zone b keeps zoned's calls in zone b (WHOAMI, 1 s, 4 callers):"
"$bin/routebench" --proxy "$proxy_b" --system zoned --procedure 3 --connections 4 --duration-s 1 --warmup-s 0 | sed 's/^/    /'
echo "  \$ routectl drain zoned ${zb[0]} --proxy-discovery $discovery --proxy-name routerd   # on every routerd"
"$bin/routectl" drain zoned "${zb[0]}" --proxy-discovery "$discovery" --proxy-name routerd | sed 's/^/  /'
echo "  zone b has half its capacity left: 1.4 x 1/2 = 70% of calls stay, 30% spill to zone a:"
"$bin/routebench" --proxy "$proxy_b" --system zoned --procedure 3 --connections 4 --duration-s 1 --warmup-s 0 | sed 's/^/    /'
"$bin/routectl" undrain zoned "${zb[0]}" --proxy-discovery "$discovery" --proxy-name routerd >/dev/null
echo "  undrained; a call through whichever routerd discovery lists:"
echo "  \$ routectl call zoned 1 hi --proxy-discovery $discovery --proxy-name routerd"
printf '  %s\n' "$("$bin/routectl" call zoned 1 hi --proxy-discovery "$discovery" --proxy-name routerd)"

say "TLS on both legs: a CA and certificates made on the spot with openssl"
make_certificates "$work/certs"
certs="$work/certs"
echo "  ca.pem; server.pem (127.0.0.1, localhost); client.pem (identity spiffe://example/client)"
start echod_tls "$bin/echod" --listen 127.0.0.1:0 --tls-cert "$certs/server.pem" --tls-key "$certs/server.key" \
  --tls-client-ca "$certs/ca.pem"
echod_tls="127.0.0.1:$port"
echo "  echod        $echod_tls: TLS only, mutual (a client certificate from ca.pem required)"
start routerd_tls "$bin/routerd" --listen 127.0.0.1:0 --admin 127.0.0.1:0 --discovery "static://echo=$echod_tls" \
  --tls-cert "$certs/server.pem" --tls-key "$certs/server.key" \
  --tls-ca "$certs/ca.pem" --upstream-tls-cert "$certs/client.pem" --upstream-tls-key "$certs/client.key"
proxy_tls="127.0.0.1:$port"
admin_tls="$(grep -o 'admin endpoint on http://[^ ]*' "$work/routerd_tls.log" | grep -o '[0-9]*$')"
echo "  routerd      $proxy_tls: TLS to its clients, mutual TLS to echod as spiffe://example/client"
echo "  8 TLS clients through routerd for 1 s:"
"$bin/routebench" --proxy "$proxy_tls" --tls-ca "$certs/ca.pem" --connections 8 --duration-s 1 --warmup-s 0 | sed 's/^/    /'
http_get "$admin_tls" /metrics | grep -E '^(routerd_tls_handshakes_total|routing_backend_tls_handshakes_total)' \
  | sed 's/^/    /;s/$/   (one handshake per connection, none per call)/'
echo "  a routerd without a client certificate is refused by echod at the handshake:"
start routerd_anonymous "$bin/routerd" --listen 127.0.0.1:0 --admin 127.0.0.1:0 \
  --discovery "static://echo=$echod_tls" --tls-ca "$certs/ca.pem" --health-check-interval-ms 0
"$bin/routectl" call echo 1 hello --proxy "127.0.0.1:$port" 2>&1 | sed 's/^/    /' || true
sleep 0.2
grep -o 'TLS handshake(s) failed.*' "$work/echod_tls.log" | head -1 | sed 's/^/    echod: /'
echo "  routectl with the CA (verifies routerd's certificate, then calls through it):"
echo "  \$ routectl call echo 1 'hello over TLS' --proxy $proxy_tls --tls-ca ca.pem"
"$bin/routectl" call echo 1 'hello over TLS' --proxy "$proxy_tls" --tls-ca "$certs/ca.pem" 2>&1 | sed 's/^/    /'
echo "  and a plain-TCP client on routerd's TLS port gets nothing:"
"$bin/routectl" call echo 1 hello --proxy "$proxy_tls" --timeout-ms 1000 2>&1 | sed 's/^/    /' || true
echo "  discoveryd over TLS (rpcs://) with a policy: only spiffe://example/client may register 'echo':"
printf '[[allow]]\nidentity = "spiffe://example/client"\nsystems = ["echo"]\n' >"$work/policy.toml"
sed 's/^/    policy.toml: /' "$work/policy.toml"
serve_tls=(--tls-cert "$certs/server.pem" --tls-key "$certs/server.key" --tls-client-ca "$certs/ca.pem")
start discoveryd_tls "$bin/discoveryd" --listen 127.0.0.1:0 --admin 127.0.0.1:0 "${serve_tls[@]}" \
  --policy "$work/policy.toml"
discovery_tls="rpcs://127.0.0.1:$port"
discovery_tls_admin="$(grep -o 'admin endpoint on http://[^ ]*' "$work/discoveryd_tls.log" | grep -o '[0-9]*$')"
as_identity() { echo --tls-ca "$certs/ca.pem" --upstream-tls-cert "$certs/$1.pem" --upstream-tls-key "$certs/$1.key"; }
# shellcheck disable=SC2046  # as_identity's words are separate flags
start echod_client "$bin/echod" --listen 127.0.0.1:0 --discovery "$discovery_tls" "${serve_tls[@]}" $(as_identity client)
# shellcheck disable=SC2046
start echod_intruder "$bin/echod" --listen 127.0.0.1:0 --discovery "$discovery_tls" --advertise 127.0.0.1:1 \
  "${serve_tls[@]}" $(as_identity intruder)
for _ in $(seq 50); do grep -q 'permission denied' "$work/echod_intruder.log" && break; sleep 0.1; done
grep -o "permission denied: .*may not register 'echo'" "$work/echod_intruder.log" | head -1 | sed 's/^/    intruder echod: /'
http_get "$discovery_tls_admin" /metrics | grep '^discoveryd_policy_denials_total' | sed 's/^/    /'
echo "  \$ routectl call echo 1 'found through rpcs://' --discovery $discovery_tls --tls-ca ca.pem --tls-cert client.pem ..."
"$bin/routectl" call echo 1 'found through rpcs://' --discovery "$discovery_tls" --tls-ca "$certs/ca.pem" \
  --tls-cert "$certs/client.pem" --tls-key "$certs/client.key" 2>&1 | sed 's/^/    /'

say "a traffic spike twice what a backend can serve (open loop, 200 ms deadlines)"
# One echod that works on 4 calls at once (the rest queue inside it, as in
# a real server): 4 x 20 ms SLOW_ECHOs = 200 calls/s. A FIFO queue of calls
# whose deadlines will pass anyway would make every call late (goodput 0);
# routerd sheds what it cannot serve in time with 8 at once instead.
start echod_busy "$bin/echod" --listen 127.0.0.1:0 --name busy --discovery "$discovery" --ttl-ms 2000 --capacity 4
echo "  echod 'busy' 127.0.0.1:$port: --capacity 4, SLOW_ECHO of 20 ms: 200 calls/s"
for _ in $(seq 50); do "$bin/routectl" call busy 1 x --proxy "$proxy" >/dev/null 2>&1 && break; sleep 0.1; done
spike() {  # spike RATE SECONDS LABEL
  echo "  $3: $1 calls/s for $2 s"
  "$bin/routebench" --proxy "$proxy" --system busy --rate "$1" --duration-s "$2" --warmup-s 0.5 --procedure 2 \
    --payload 20:x --timeout-ms 200 --connections 4 | sed 's/; /\n      /g; s/^/    /'
}
spike 100 1 "before (0.5x)"
spike 400 2 "the spike (2x)"
spike 100 1 "after (0.5x)"
http_get "$admin" /metrics | grep -E '^routing_(calls_shed_total|call_hold_seconds)\{system="busy"' | sed 's/^/  /'

say "a few metrics (GET http://127.0.0.1:$admin/metrics)"
http_get "$admin" /metrics | grep -E '^routing_(calls_total|backend_healthy|backend_ejections_total|retries_total|open_connections)' | sed 's/^/  /'

if [ "$keep" = 1 ]; then
  say "the cluster keeps running; try:"
  echo "  $bin/routectl call echo 1 hi --proxy $proxy"
  echo "  $bin/routectl status --proxy $proxy"
  echo "  $bin/routebench --proxy $proxy --connections 16 --duration-s 5"
  echo "  curl http://127.0.0.1:$admin/metrics"
  echo "  open http://127.0.0.1:$admin/ in a browser (the status page)"
  echo "Press Ctrl-C to stop it."
  trap 'echo; echo stopping; exit 0' INT TERM
  while true; do sleep 1; done
fi

say "stopping everything (SIGTERM: each drains its calls)"
