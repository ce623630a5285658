#!/usr/bin/env bash
# weft-fetch against weft-delayserver with good and bad URLs (read from stdin, as scripts/bench
# feeds them): it must exit 1, print one line per URL with the right status or error, and a
# final line that counts them.
#
#   test-fetch-mixed.sh WEFT_FETCH WEFT_DELAYSERVER
set -u
fetch=$1 server=$2
tmp=$(mktemp -d)
spid=""
cleanup() { [ -n "$spid" ] && kill "$spid" 2>/dev/null && wait "$spid" 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT
fail() { echo "test-fetch-mixed: $*"; echo "--- output:"; cat "$tmp/out"; exit 1; }

"$server" --port 0 --quiet --grace 0 >"$tmp/server.out" 2>&1 &
spid=$!
addr=""
for _ in $(seq 1 200); do
    addr=$(sed -n 's/.*listening on \([^ ]*\).*/\1/p' "$tmp/server.out" 2>/dev/null | head -n1)
    [ -n "$addr" ] && break
    sleep 0.02
done
[ -n "$addr" ] || { cat "$tmp/server.out"; echo "server did not start"; exit 1; }
port=${addr##*:}

cat >"$tmp/urls" <<URLS
http://$addr/10/one
# a comment, skipped

http://$addr/20/two%20words
https://$addr/10/secure
http://no-such-host.invalid/
http://$addr/abc/bad-delay
http://$addr/5000/too-slow
http://[::1
http://localhost:$port/30/by-name
URLS
"$fetch" -c 3 -t 300 --no-progress <"$tmp/urls" >"$tmp/out" 2>&1
rc=$?
[ $rc -eq 1 ] || fail "exit status $rc, expected 1"
expect() { grep -qE -- "$1" "$tmp/out" || fail "no line matching /$1/"; }
expect "^#1 +200 +3 B .* http://$addr/10/one$"
expect "^#2 +200 +9 B .* http://$addr/20/two%20words$"
expect "^#3 +ERR .*https://.*\(not supported\)$"
# .invalid never resolves (RFC 6761); without a reachable name server the system's resolver may
# call that a temporary failure, or still be asking when the 300 ms run out.
expect "^#4 +ERR .*no-such-host.invalid/  \((host name not found|Resource temporarily unavailable|Connection timed out)\)$"
expect "^#5 +400 .*bad-delay$"
expect "^#6 +ERR .*too-slow  \(Connection timed out\)$"
expect "^#7 +ERR .*\(malformed URL\)$"
expect "^#8 +200 +7 B .* http://localhost:$port/30/by-name$"
expect "^8 URLs: 3 ok, 5 failed\. Wall time"
[ "$(grep -c '^#' "$tmp/out")" -eq 8 ] || fail "expected 8 URL lines"

# The same good URLs as arguments, bodies to stdout: exit 0, bodies on stdout, lines on stderr.
"$fetch" -b "http://$addr/10/one" "http://$addr/0/two" >"$tmp/body" 2>"$tmp/out"
rc=$?
[ $rc -eq 0 ] || fail "exit status $rc with good URLs"
grep -q one "$tmp/body" && grep -q two "$tmp/body" || fail "bodies missing from stdout"
expect "^2 URLs: 2 ok, 0 failed"

# -o DIR: one file per URL.
mkdir "$tmp/bodies"
"$fetch" -o "$tmp/bodies" "http://$addr/0/first" "http://$addr/0/second" >"$tmp/out" 2>&1 ||
    fail "-o failed"
[ "$(cat "$tmp/bodies/1.body")" = first ] && [ "$(cat "$tmp/bodies/2.body")" = second ] ||
    fail "-o files wrong"

# -m takes any byte count a uint64_t holds (the client's max_body), and applies it.
"$fetch" -m 5000000000 "http://$addr/0/big-limit" >"$tmp/out" 2>&1 || fail "-m 5000000000 refused"
expect "^1 URL: 1 ok, 0 failed"
"$fetch" -m 18446744073709551615 "http://$addr/0/max" >"$tmp/out" 2>&1 || fail "-m 2^64-1 refused"
"$fetch" -m 2 "http://$addr/0/abc" >"$tmp/out" 2>&1
[ $? -eq 1 ] || fail "-m 2 with a 3-byte body: exit status not 1"
expect "abc  \(HTTP body too large\)$"
"$fetch" -m 18446744073709551616 "http://$addr/0/over" >"$tmp/out" 2>&1
[ $? -eq 2 ] || fail "-m 2^64: exit status not 2"
expect "^weft-fetch: bad value for -m: '18446744073709551616' \(a whole number from 0 to 18446744073709551615\)$"

# A URL list that cannot be read is named with its error (exit 2), not met with the usage text.
"$fetch" -i "$tmp" >"$tmp/out" 2>&1
[ $? -eq 2 ] || fail "-i DIR: exit status not 2"
expect "^weft-fetch: $tmp: Is a directory$"
grep -q '^usage' "$tmp/out" && fail "-i DIR: the usage text instead of the error"
"$fetch" <"$tmp" >"$tmp/out" 2>&1
[ $? -eq 2 ] || fail "stdin a directory: exit status not 2"
expect "^weft-fetch: stdin: Is a directory$"
# A read error after some lines fails the whole list: the lines before it are not fetched. The
# error is real: stdin is a TCP connection that sends two URLs, then a reset.
if command -v python3 >/dev/null; then
    python3 - "$addr" >"$tmp/rst.port" <<'PY' &
import socket, struct, sys, time
s = socket.socket()
s.bind(("127.0.0.1", 0))
s.listen(1)
s.settimeout(20)
print(s.getsockname()[1], flush=True)
c, _ = s.accept()
c.sendall(("http://%s/0/before-the-error\n" % sys.argv[1]).encode() * 2)
time.sleep(0.2)
c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
c.close()
PY
    rpid=$!
    rport=""
    for _ in $(seq 1 200); do
        rport=$(cat "$tmp/rst.port" 2>/dev/null)
        [ -n "$rport" ] && break
        sleep 0.02
    done
    [ -n "$rport" ] || fail "the resetting peer did not start"
    "$fetch" -i - </dev/tcp/127.0.0.1/"$rport" >"$tmp/out" 2>&1
    rc=$?
    wait "$rpid"
    [ $rc -eq 2 ] || fail "a read error midway: exit status $rc, expected 2"
    expect "^weft-fetch: stdin: Connection reset by peer$"
    grep -q before-the-error "$tmp/out" && fail "a read error midway: the lines before it fetched"
fi

# A NUL inside a URL line: the line is refused by number (exit 2), no cut-short URL is fetched.
printf 'http://%s/0/first\n\nhttp://%s/0/cut\0junk\n' "$addr" "$addr" >"$tmp/nul"
"$fetch" -i "$tmp/nul" >"$tmp/out" 2>&1
[ $? -eq 2 ] || fail "a NUL in a line: exit status not 2"
expect "^weft-fetch: $tmp/nul:3: a NUL byte in the line$"
grep -q '^#' "$tmp/out" && fail "a NUL in a line: URLs fetched"
echo "test-fetch-mixed: ok"
