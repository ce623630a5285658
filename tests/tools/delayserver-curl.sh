#!/usr/bin/env bash
# weft-delayserver against curl: a real HTTP client's view of it.
#
#   delayserver-curl.sh PATH/TO/weft-delayserver
#
# Exits 77 (ctest: skipped) if curl is not installed, 1 on the first failed check.
set -u
server=$1
command -v curl >/dev/null || { echo "curl not installed: skipped"; exit 77; }
tmp=$(mktemp -d)
pid=""
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT
fail() { echo "FAILED: $*"; echo "--- server output:"; cat "$tmp/out"; exit 1; }

"$server" --port 0 >"$tmp/out" 2>&1 &
pid=$!
addr=""
for _ in $(seq 1 1500); do # 30 s and more: a bound on a hang
    addr=$(grep -oE 'listening on [^ ]+' "$tmp/out" | head -n1 | sed 's/listening on //')
    [ -n "$addr" ] && break
    sleep 0.02
done
[ -n "$addr" ] || fail "no 'listening on' line"
url=http://$addr

body=$(curl -sS --max-time 10 "$url/100/hello") || fail "curl $url/100/hello"
[ "$body" = hello ] || fail "body '$body', expected 'hello'"

time=$(curl -sS --max-time 10 -o /dev/null -w '%{time_total}' "$url/300/slow") || fail "slow"
awk -v t="$time" 'BEGIN { exit !(t >= 0.3) }' || fail "a 300 ms delay answered in ${time}s"

body=$(curl -sS --max-time 10 "$url/0/caf%C3%A9%20au%20lait")
[ "$body" = "café au lait" ] || fail "percent-decoding: '$body'"

code=$(curl -s --max-time 10 -o /dev/null -w '%{http_code}' "$url/abc/x")
[ "$code" = 400 ] || fail "bad path gave $code"
code=$(curl -s --max-time 10 -o /dev/null -w '%{http_code}' -X POST "$url/0/x")
[ "$code" = 405 ] || fail "POST gave $code"
code=$(curl -s --max-time 10 -o /dev/null -w '%{http_code}' -H "X-Big: $(head -c 9000 /dev/zero | tr '\0' a)" "$url/0/x")
[ "$code" = 431 ] || fail "a 9000-byte header gave $code"

head=$(curl -sS --max-time 10 -I "$url/0/four") || fail "HEAD"
echo "$head" | grep -q '^HTTP/1.1 200 OK' || fail "HEAD status: $head"
echo "$head" | grep -qi '^Content-Length: 4' || fail "HEAD length: $head"

# Two URLs in one curl: the second request reuses the kept-alive connection.
log=$(curl -sS --max-time 10 -v "$url/0/a" "$url/0/b" 2>&1) || fail "two URLs"
echo "$log" | grep -qi 're-using existing connection' || fail "connection not reused: $log"

grep -q '^#1 - 100ms: hello$' "$tmp/out" || fail "no log line for #1"

kill -TERM "$pid"
wait "$pid"
status=$?
pid=""
[ $status -eq 0 ] || fail "exit status $status after SIGTERM"
grep -q '^stopped: ' "$tmp/out" || fail "no 'stopped' line"
echo "curl checks passed against $url"
