#!/usr/bin/env bash
# Runs a program for ctest and checks what it printed.
#
#   run-example.sh [--server BIN] [--expect REGEX]... [--expect-order] -- PROGRAM ARGS...
#
# --server BIN   start BIN --port 0 first (a delay server); it must print a line containing
#                "listening on HOST:PORT". Every "@ADDR@" in ARGS becomes HOST:PORT. The server
#                is stopped when the program ends.
# --expect RE    each extended regex must match some line of the program's output.
# --expect-order the --expect regexes must match lines in the order given.
# The program must also exit with status 0.
set -u
server="" ; expects=() ; ordered=0
while [ $# -gt 0 ]; do
    case "$1" in
        --server) server="$2"; shift 2 ;;
        --expect) expects+=("$2"); shift 2 ;;
        --expect-order) ordered=1; shift ;;
        --) shift; break ;;
        *) echo "run-example.sh: unknown option $1" >&2; exit 2 ;;
    esac
done
[ $# -gt 0 ] || { echo "run-example.sh: no program" >&2; exit 2; }

tmp=$(mktemp -d)
spid=""
cleanup() { [ -n "$spid" ] && kill "$spid" 2>/dev/null && wait "$spid" 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT

args=("$@")
if [ -n "$server" ]; then
    "$server" --port 0 >"$tmp/server.out" 2>&1 &
    spid=$!
    addr=""
    for _ in $(seq 1 1500); do # 30 s and more: a bound on a hang
        addr=$(grep -oE 'listening on [^ ]+' "$tmp/server.out" 2>/dev/null | head -n1 | sed 's/listening on //')
        [ -n "$addr" ] && break
        kill -0 "$spid" 2>/dev/null || break
        sleep 0.02
    done
    if [ -z "$addr" ]; then
        echo "run-example.sh: server did not start:"; cat "$tmp/server.out"; exit 1
    fi
    for i in "${!args[@]}"; do args[$i]=${args[$i]//@ADDR@/$addr}; done
fi

"${args[@]}" >"$tmp/out" 2>&1
rc=$?
cat "$tmp/out"
if [ $rc -ne 0 ]; then echo "run-example.sh: exit status $rc"; exit 1; fi

line=0
for re in "${expects[@]+"${expects[@]}"}"; do
    if [ $ordered -eq 1 ]; then
        n=$(tail -n +$((line + 1)) "$tmp/out" | grep -nE -m1 -- "$re" | cut -d: -f1)
        if [ -z "$n" ]; then echo "run-example.sh: no line matching /$re/ after line $line"; exit 1; fi
        line=$((line + n))
    elif ! grep -qE -- "$re" "$tmp/out"; then
        echo "run-example.sh: no line matching /$re/"; exit 1
    fi
done
exit 0
