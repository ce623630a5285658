#!/bin/sh
# weft-trace dot on traces written by hand, so that the expected graph is known exactly:
#   - a small trace: four tasks, three functions' sites (one site name in two functions), edges
#     taken twice, a cancelled task, a task still waiting at the end: the whole output compared;
#   - 100 000 distinct sites, two per function, walked by one task: every node, box and edge is
#     there. Finding a site, an edge or a function's box by searching the ones seen so far made
#     this quadratic (about 30 s for 50 000 sites in a Release build); with hash lookups it takes
#     about a second under ASan. No timing is asserted: ctest's TIMEOUT is the bound.
# usage: test-dot.sh WEFT_TRACE
set -eu
trace=$1
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

cat > "$dir/small.json" << 'JSON'
{"displayTimeUnit":"ns","traceEvents":[
{"name":"thread_name","ph":"M","pid":1,"tid":1,"args":{"name":"t1"}},
{"name":"wait read","ph":"B","ts":1,"pid":1,"tid":1,"args":{"site":"a.c:1","func":"f"}},
{"name":"wait read","ph":"E","ts":2,"pid":1,"tid":1},
{"name":"wait timer","ph":"B","ts":3,"pid":1,"tid":1,"args":{"site":"a.c:2","func":"g"}},
{"name":"wait read","ph":"B","ts":4,"pid":1,"tid":2,"args":{"site":"b.c:9","func":"f"}},
{"name":"wait read","ph":"B","ts":5,"pid":1,"tid":3,"args":{"site":"a.c:2","func":"g"}},
{"name":"wait read","ph":"B","ts":6,"pid":1,"tid":1,"args":{"site":"a.c:1","func":"f"}},
{"name":"wait timer","ph":"B","ts":7,"pid":1,"tid":1,"args":{"site":"a.c:2","func":"g"}},
{"name":"wait read","ph":"B","ts":8,"pid":1,"tid":1,"args":{"site":"a.c:1","func":"f"}},
{"name":"wait read","ph":"B","ts":8,"pid":1,"tid":4,"args":{"site":"a.c:1","func":"g"}},
{"name":"cancel","ph":"i","ts":9,"pid":1,"tid":2},
{"name":"done","ph":"i","ts":10,"pid":1,"tid":2,"args":{"result":0}},
{"name":"done","ph":"i","ts":11,"pid":1,"tid":1,"args":{"result":0}},
{"name":"park","ph":"B","ts":12,"pid":1,"tid":0}
]}
JSON
cat > "$dir/small.expected" << 'DOT'
digraph weft {
  rankdir=TB;
  node [shape=box, style="rounded,filled", fillcolor="#f4f8ff", fontname="Helvetica", fontsize=10];
  edge [fontname="Helvetica", fontsize=9];
  graph [fontname="Helvetica", fontsize=11, style=rounded, color="#8899aa"];
  n0 [label="spawn", shape=circle, style=filled, fillcolor="#dddddd"];
  n1 [label="done", shape=doublecircle, style=filled, fillcolor="#c9e8c9"];
  n3 [label="cancelled", shape=doublecircle, style=filled, fillcolor="#f9e0b0"];
  n4 [label="still waiting\nat the end", shape=circle, style=dashed];
  subgraph "cluster_0" {
    label="f()";
    n5 [label="a.c:1\nwaits: read ×3"];
    n7 [label="b.c:9\nwaits: read ×1"];
  }
  subgraph "cluster_1" {
    label="g()";
    n6 [label="a.c:2\nwaits: timer ×2, read ×1"];
    n8 [label="a.c:1\nwaits: read ×1"];
  }
  n0 -> n5 [label="×1"];
  n5 -> n6 [label="×2"];
  n0 -> n7 [label="×1"];
  n0 -> n6 [label="×1"];
  n6 -> n5 [label="×2"];
  n0 -> n8 [label="×1"];
  n7 -> n3 [label="×1"];
  n5 -> n1 [label="×1"];
  n6 -> n4 [label="×1", style=dashed];
  n8 -> n4 [label="×1", style=dashed];
}
DOT
"$trace" dot "$dir/small.json" > "$dir/small.dot" || fail "dot on the small trace"
diff -u "$dir/small.expected" "$dir/small.dot" || fail "the small trace's graph differs"

sites=100000
awk -v n=$sites 'BEGIN {
    print "{\"displayTimeUnit\":\"ns\",\"traceEvents\":["
    for (i = 0; i < n; i++)
        printf "{\"name\":\"wait read\",\"ph\":\"B\",\"ts\":%d,\"pid\":1,\"tid\":1,\"args\":" \
               "{\"site\":\"s.c:%d\",\"func\":\"f%d\"}},\n", i, i, int(i / 2)
    printf "{\"name\":\"done\",\"ph\":\"i\",\"ts\":%d,\"pid\":1,\"tid\":1}\n", n
    print "]}"
}' > "$dir/many.json"
"$trace" dot "$dir/many.json" > "$dir/many.dot" || fail "dot on $sites sites"
count() { n=$(grep -c -- "$1" "$dir/many.dot") || true; [ "$n" -eq "$2" ] || fail "$n lines match '$1', not $2"; }
count '^    n[0-9]* \[label="s\.c:[0-9]*\\nwaits: read ×1"\];$' $sites
count '^  subgraph "cluster_' $((sites / 2))
count ' -> n[0-9]* \[label="×1"\];$' $((sites + 1))
# The last box holds the last two sites; the walk ends at done.
last=$((sites + 4))
grep -A 4 "^  subgraph \"cluster_$((sites / 2 - 1))\" {" "$dir/many.dot" > "$dir/last"
grep -q "label=\"f$((sites / 2 - 1))()\";" "$dir/last" || fail "last box: $(cat "$dir/last")"
grep -q "^    n$((last - 1)) \[label=\"s\.c:$((sites - 2))\\\\n" "$dir/last" || fail "last box: $(cat "$dir/last")"
grep -q "^    n$last \[label=\"s\.c:$((sites - 1))\\\\n" "$dir/last" || fail "last box: $(cat "$dir/last")"
grep -q "^  n$last -> n1 \[label=\"×1\"\];$" "$dir/many.dot" || fail "the walk does not end at done"
echo "ok"
