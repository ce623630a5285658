#!/usr/bin/env bash
# examples/05_echo_server on SIGINT: it stops accepting, gives the connections in flight until
# its grace deadline, cancels the rest (which closes their sockets), says what it did, and exits 0.
#
#   echo-server-sigint.sh ECHO_SERVER
#
# 1. An idle client that stays connected is cancelled at the deadline (not before it) and sees
#    the connection end; a new client is refused as soon as the server reports the SIGINT.
# 2. A client that hangs up during the grace period counts as finished, and the server exits
#    without waiting for the rest of a long deadline.
set -u
server=$1
tmp=$(mktemp -d)
pid=""
cleanup() { [ -n "$pid" ] && kill -9 "$pid" 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT
fail() { echo "echo-server-sigint: $*"; echo "--- server output:"; cat "$tmp/out"; exit 1; }
# Milliseconds on a clock that never steps: /proc/uptime (CLOCK_BOOTTIME, which runs as the
# server's CLOCK_MONOTONIC does, plus any suspend), not `date`, whose wall clock may be set back.
# Its 10 ms steps truncate both ends alike, so a difference of 300 ms or more still reads >= 300.
now_ms() {
    local up
    read -r up _ </proc/uptime
    echo $((${up%.*} * 1000 + 10#${up#*.} * 10))
}

# wait_line REGEX: waits until the server has printed a line matching REGEX (30 s and more at
# most: a bound on a hang).
wait_line() {
    for _ in $(seq 1 1500); do
        grep -qE -- "$1" "$tmp/out" && return 0
        sleep 0.02
    done
    fail "no line matching /$1/"
}

# start GRACE_MS: runs the server on a free port; sets pid and port.
start() {
    "$server" --port 0 --grace "$1" >"$tmp/out" 2>&1 &
    pid=$!
    wait_line '^listening on 127\.0\.0\.1:[0-9]+$'
    port=$(sed -n 's/^listening on 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$tmp/out")
}

# Connects fd 3 and gets one echo back: the connection is then a task of the server's group.
connect_and_echo() {
    exec 3<>"/dev/tcp/127.0.0.1/$port" || fail "cannot connect"
    printf 'hello\n' >&3
    IFS= read -r -t 30 -u 3 line || fail "no echo"
    [ "$line" = hello ] || fail "echo was '$line'"
}

# Sends SIGINT and waits for the server to say it stopped accepting. Sets t0.
interrupt() {
    t0=$(now_ms)
    kill -INT "$pid"
    wait_line '^SIGINT: stopped accepting'
}
# wait_exit MAX_S: the server must exit 0 within MAX_S seconds (a bound on a hang, not a timing
# measurement). Sets elapsed_ms, the time since the SIGINT.
wait_exit() {
    for _ in $(seq 1 $(($1 * 50))); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.02
    done
    kill -0 "$pid" 2>/dev/null && fail "still running $1 s after SIGINT"
    wait "$pid"
    rc=$?
    pid=""
    elapsed_ms=$(($(now_ms) - t0))
    [ $rc -eq 0 ] || fail "exit status $rc"
}
expect() { grep -qE -- "$1" "$tmp/out" || fail "no line matching /$1/"; }

# 1. An idle client, a 300 ms grace.
start 300
connect_and_echo
interrupt
(exec 4<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && fail "still accepting after SIGINT"
wait_exit 10
[ "$elapsed_ms" -ge 300 ] || fail "cancelled after $elapsed_ms ms, before the 300 ms grace"
IFS= read -r -t 30 -u 3 line
r=$?
[ $r -eq 1 ] || fail "the cancelled connection did not end (read status $r, '$line')"
exec 3<&-
expect "^SIGINT: stopped accepting; 1 connection\(s\) in flight get 300 ms to finish$"
expect "^shutdown: 0 connection\(s\) finished, 1 cancelled at the deadline$"
cat "$tmp/out"

# 2. The client hangs up during a 20 s grace: no waiting for the deadline.
start 20000
connect_and_echo
interrupt
exec 3<&-
wait_exit 10
expect "^SIGINT: stopped accepting; 1 connection\(s\) in flight get 20000 ms to finish$"
expect "^shutdown: 1 connection\(s\) finished, 0 cancelled at the deadline$"
cat "$tmp/out"
echo "echo-server-sigint: ok"
