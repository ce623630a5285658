#!/bin/sh
# weft-trace end to end: record a real run (weft-fetch --demo under WEFT_TRACE), then
#   - `weft-trace check` and Python's json module both accept it, every event with its fields;
#   - `weft-trace svg` writes well-formed SVG with a row per task;
#   - `weft-trace dot` writes a graph Graphviz accepts (when dot is installed);
#   - the checker rejects a cut-short trace, a missing field and an unbalanced slice;
#   - check, svg and dot all refuse numbers a trace cannot hold (1e400, times beyond 9e15 us,
#     a tid that is not an integer), and none of them hangs on one;
#   - check refuses strings that are not UTF-8 (a stray byte, an overlong form, a surrogate, a cut
#     sequence), saying so, and accepts valid multi-byte characters;
#   - with 5000 tracks (two processes sharing 2500 tids), check counts them and pairs each E with
#     its own process's B (and notices one missing), svg draws one row per tid in tid order, and
#     dot copes.
# usage: test-weft-trace.sh WEFT_TRACE WEFT_FETCH
set -eu
trace=$1
fetch=$2
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

WEFT_TRACE="$dir/demo.json" "$fetch" --demo --scale 0.05 > "$dir/fetch.out" ||
    fail "weft-fetch --demo failed"
if [ ! -e "$dir/demo.json" ]; then
    echo "no trace written: weft built with WEFT_TRACE_COMPILED=OFF? (skipped)"
    exit 77
fi
"$trace" check "$dir/demo.json" || fail "weft-trace check rejects a real trace"

if command -v python3 > /dev/null; then
    python3 - "$dir/demo.json" << 'PY' || fail "python3 json.load"
import json, sys
events = json.load(open(sys.argv[1]))["traceEvents"]
for e in events:
    for k in ("name", "ph", "ts", "pid", "tid"):
        assert k in e, f"{k} missing in {e}"
tasks = {e["tid"] for e in events if e["tid"] != 0}
assert len(tasks) >= 9, f"only {len(tasks)} task tracks"
print(f"python3: {len(events)} events, {len(tasks)} task tracks")
PY
fi

"$trace" svg "$dir/demo.json" > "$dir/t.svg" || fail "weft-trace svg"
rows=$(grep -c 'text-anchor="end"' "$dir/t.svg")
[ "$rows" -ge 10 ] || fail "svg has $rows rows"
if command -v python3 > /dev/null; then
    python3 -c 'import sys, xml.dom.minidom as m; m.parse(sys.argv[1])' "$dir/t.svg" ||
        fail "svg is not well-formed XML"
fi

"$trace" dot "$dir/demo.json" > "$dir/t.dot" || fail "weft-trace dot"
grep -q '^digraph weft {' "$dir/t.dot" || fail "no digraph"
grep -q 'label="spawn"' "$dir/t.dot" || fail "no spawn node"
grep -q 'waits: read' "$dir/t.dot" || fail "no read wait"
if command -v dot > /dev/null; then
    dot -Tsvg "$dir/t.dot" > /dev/null || fail "Graphviz rejects the dot file"
else
    # scripts/test installs graphviz, so CI always runs this check; say so when it cannot.
    echo "NOTE: Graphviz check not run: dot is not installed (apt-get install graphviz)"
fi

# What the checker must refuse.
head -n -1 "$dir/demo.json" > "$dir/cut.json"
if "$trace" check "$dir/cut.json" > /dev/null; then fail "accepted a trace without its end"; fi
sed '5s/"tid":[0-9]*/"thread":1/' "$dir/demo.json" > "$dir/notid.json"
if "$trace" check "$dir/notid.json" > /dev/null; then fail "accepted an event with no tid"; fi
awk 'done || !/"ph":"E"/ { print; next } { done = 1 }' "$dir/demo.json" > "$dir/unbalanced.json"
if "$trace" check "$dir/unbalanced.json" > /dev/null; then fail "accepted an unbalanced B"; fi
sed '3s/}},$/},/' "$dir/demo.json" > "$dir/badjson.json"
if "$trace" check "$dir/badjson.json" > /dev/null; then fail "accepted broken JSON"; fi
# Numbers a trace cannot hold: each command refuses them (exit 1), none hangs (svg used to loop
# forever on "ts":1e400, its time span being infinite).
bounded() { if command -v timeout > /dev/null; then timeout 20 "$@"; else "$@"; fi; }
one_event() {
    printf '{"displayTimeUnit":"ns","traceEvents":[\n%s\n]}\n' "$1" > "$dir/num.json"
}
for ev in '{"name":"spawn","ph":"i","ts":1e400,"pid":1,"tid":1}' \
          '{"name":"spawn","ph":"i","ts":-1e308,"pid":1,"tid":1},
{"name":"spawn","ph":"i","ts":1e308,"pid":1,"tid":2}' \
          '{"name":"spawn","ph":"i","ts":1,"pid":1,"tid":1,"args":{"x":-2e308}}' \
          '{"name":"spawn","ph":"i","ts":"1","pid":1,"tid":1}' \
          '{"name":"spawn","ph":"i","ts":1,"pid":1,"tid":1.5}' \
          '{"name":"spawn","ph":"i","ts":1,"pid":1e3,"tid":1}'; do
    one_event "$ev"
    for cmd in check svg dot; do
        rc=0
        bounded "$trace" $cmd "$dir/num.json" > "$dir/num.out" 2>&1 || rc=$?
        [ $rc -eq 1 ] || fail "$cmd gave $rc, not 1, on $ev: $(cat "$dir/num.out")"
        grep -q 'line [0-9]*: ' "$dir/num.out" || fail "$cmd does not say where: $(cat "$dir/num.out")"
    done
done
one_event '{"name":"spawn","ph":"i","ts":9e15,"pid":1,"tid":1}'
"$trace" svg "$dir/num.json" > /dev/null || fail "svg refuses the largest time"

# JSON text is UTF-8: check refuses a string with bytes that are not (a stray \xff, an overlong
# \xc0\xaf, a surrogate \xed\xa0\x80), and takes valid characters (é, €, 😀).
for bad in '\377' '\300\257' '\355\240\200' 'x\342\202'; do
    one_event "$(printf '{"name":"bad %b utf8","ph":"i","ts":1,"pid":1,"tid":1}' "$bad")"
    if "$trace" check "$dir/num.json" > "$dir/num.out"; then fail "accepted invalid UTF-8 ($bad)"; fi
    grep -q 'invalid UTF-8' "$dir/num.out" || fail "no reason given for $bad: $(cat "$dir/num.out")"
done
one_event "$(printf '{"name":"caf\303\251 \342\202\254 \360\237\230\200","ph":"i","ts":1,"pid":1,"tid":1}')"
"$trace" check "$dir/num.json" > /dev/null || fail "refused valid UTF-8"

# Many tracks (found by hash, not by search): two processes with the same 2500 tids, every B
# first, then every E, tids descending. check counts 5000 tracks and pairs each E with its own
# process's B; svg has one row per tid, in ascending order.
awk 'BEGIN {
    print "{\"displayTimeUnit\":\"ns\",\"traceEvents\":["
    for (ph = 0; ph < 2; ph++)
        for (tid = 2500; tid >= 1; tid--)
            for (pid = 1; pid <= 2; pid++)
                printf "{\"name\":\"poll\",\"ph\":\"%s\",\"ts\":%d,\"pid\":%d,\"tid\":%d},\n",
                       ph ? "E" : "B", ph * 10 + pid, pid, tid
    print "{\"name\":\"end\",\"ph\":\"i\",\"ts\":99,\"pid\":1,\"tid\":0}"
    print "]}"
}' > "$dir/many.json"
"$trace" check "$dir/many.json" > "$dir/many.out" || fail "many tracks: $(head -3 "$dir/many.out")"
grep -q '^ok: 10001 events, 5000 task track(s)' "$dir/many.out" || fail "many: $(cat "$dir/many.out")"
grep -v '"pid":2,"tid":1234}' "$dir/many.json" > "$dir/many1.json" # one process's B and E gone
"$trace" check "$dir/many1.json" > /dev/null || fail "many tracks: a pair removed whole"
awk '!/"ph":"E","ts":12,"pid":2,"tid":777}/' "$dir/many.json" > "$dir/many2.json"
if "$trace" check "$dir/many2.json" > "$dir/many.out"; then fail "many tracks: an E missing"; fi
grep -q 'B never ended' "$dir/many.out" || fail "many tracks: $(cat "$dir/many.out")"
"$trace" svg "$dir/many.json" > "$dir/many.svg" || fail "svg on many tracks"
sed -n 's/.*text-anchor="end">tid \([0-9]*\)<.*/\1/p' "$dir/many.svg" > "$dir/rows"
[ "$(wc -l < "$dir/rows")" -eq 2501 ] || fail "svg: $(wc -l < "$dir/rows") rows, not 2501"
sort -n -c "$dir/rows" || fail "svg rows are not in tid order"
"$trace" dot "$dir/many.json" > /dev/null || fail "dot on many tracks"

echo "ok"
