#!/usr/bin/env bash
# The README's first command, end to end: the demo must exit 0, route through
# both modes, and lose no call while a backend is killed.
set -euo pipefail
out="$(bash "$1/scripts/demo.sh" 2>&1)" || { echo "$out"; echo "demo exited non-zero"; exit 1; }
echo "$out"
[ "$(grep -c '^  hello, world$' <<<"$out")" -eq 2 ] || { echo "missing the proxy and library calls"; exit 1; }
grep -A1 'SIGKILL backend #2 under load' <<<"$out" >/dev/null
kill_line="$(sed -n '/SIGKILL backend #2/,/restart backend/p' <<<"$out" | grep 'calls/s')"
grep -q ' 0 failed' <<<"$kill_line" || { echo "calls failed while a backend was killed: $kill_line"; exit 1; }
grep -q 'routing_calls_total{system="echo",code="0"}' <<<"$out" || { echo "no metrics shown"; exit 1; }
grep -q 'reload (SIGHUP): applied pool-size, strategy' <<<"$out" || { echo "the reload was not shown"; exit 1; }
grep -q 'now: "strategy":"pick-2","pool_size":4' <<<"$out" || { echo "the reload did not apply"; exit 1; }
reload_line="$(sed -n '/reload routerd/,/a few metrics/p' <<<"$out" | grep 'calls/s' | head -1)"
grep -q ' 0 failed' <<<"$reload_line" || { echo "calls failed after the reload: $reload_line"; exit 1; }
grep -q 'status page  http://127.0.0.1:[0-9]*/' <<<"$out" || { echo "no status page URL"; exit 1; }
# The spike: calls served within their deadlines and the rest shed (not a
# collapse to 0, not silence).
spike="$(sed -n '/the spike (2x)/,/after (0.5x)/p' <<<"$out")"
grep -Eq 'goodput [1-9][0-9]*' <<<"$spike" || { echo "no goodput during the spike: $spike"; exit 1; }
grep -Eq 'shed [1-9][0-9.]*/s' <<<"$spike" || { echo "nothing shed during the spike: $spike"; exit 1; }
echo "demo test: ok"
