#!/bin/sh
# Regenerates the pictures of docs/tracing.md from real traced runs:
#   docs/img/trace-fetch-demo.*   weft-fetch --demo (8 concurrent fetches, embedded delay server)
#   docs/img/trace-echo.*         examples/05_echo_server --selftest (4 clients, 5 round trips)
# For each: the trace itself (.json, opens in Perfetto), the timeline (.svg), the state machines
# (.dot, and .png/.svg rendered by Graphviz if `dot` is installed).
# usage: tools/trace/doc-pictures.sh BUILD_DIR   (with weft-trace, weft-fetch, 05_echo_server built)
set -eu
build=$1
root=$(cd "$(dirname "$0")/../.." && pwd)
img=$root/docs/img
mkdir -p "$img"
find_bin() { find "$build" -name "$1" -type f -perm -u+x | head -n 1; }
trace=$(find_bin weft-trace)
fetch=$(find_bin weft-fetch)
echo_server=$(find_bin 05_echo_server)

pictures() { # name: draws docs/img/<name>.json
    "$trace" check "$img/$1.json"
    "$trace" svg "$img/$1.json" > "$img/$1.svg"
    "$trace" dot "$img/$1.json" > "$img/$1.dot"
    if command -v dot > /dev/null; then
        dot -Tpng "$img/$1.dot" -o "$img/$1.dot.png"
        dot -Tsvg "$img/$1.dot" -o "$img/$1.dot.svg"
    fi
}

WEFT_TRACE=$img/trace-fetch-demo.json "$fetch" --demo --scale 0.25
pictures trace-fetch-demo
WEFT_TRACE=$img/trace-echo.json "$echo_server" --selftest 4 --rounds 5
pictures trace-echo
ls -l "$img"/trace-*
