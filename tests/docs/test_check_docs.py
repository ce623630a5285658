#!/usr/bin/env python3
"""The docs checker's own test: a check that cannot fail would let the docs drift unnoticed.

    test_check_docs.py --source SRC_DIR --build BUILD_DIR

Writes small pages around examples/02b_generator (no server needed) into a temporary directory
and runs check_docs.py on each: a faithful page must pass, and each kind of drift — a changed
output line, a changed quote, an output block nobody checks, a link to nothing, a file the page
should describe — must fail. Also checks the masking and matching rules directly.
"""
import argparse
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import check_docs  # noqa: E402

GOOD_OUTPUT = """<!-- check: examples/02b_generator -->
```output
fibonacci up to 100: 0 1 1 2 3 5 8 13 21 34 55 89
...
polled again: coroutine already finished
```
"""

GOOD_QUOTE = """<!-- quote: examples/02b_generator.c -->
```c
static int fib(struct fib *g, weft_cx *cx)
{
...
        WEFT_YIELD_VALUE(&g->co, g->value, g->a);
```
"""

# A trace written into the page's directory by one check and read by the next.
TRACED = """<!-- check: --env WEFT_TRACE=@TMP@/t.json examples/06_pipeline 100 2 -->
```output
...
checksum: ok
```
"""
TRACE_READ = """<!-- check: --mask "[0-9]+ events" tools/trace/weft-trace check @TMP@/t.json -->
```output
ok: 100 events, 5 task track(s), every B/E balanced
```
"""
# The echo server stops on SIGINT; without the signal it would run until the timeout.
SIGNALLED = """<!-- check: --signal INT@0.3 examples/05_echo_server --port 0 -->
```output
listening on 127.0.0.1:1
SIGINT: stopped accepting; 0 connection(s) in flight get 5000 ms to finish
shutdown: 0 connection(s) finished, 0 cancelled at the deadline
```
"""
# The server dumps its tasks on SIGUSR1 only with WEFT_DUMP_SIGNAL=1 (a plain server would die).
DUMPED = """<!-- check: --server tools/delayserver/weft-delayserver --server-env WEFT_DUMP_SIGNAL=1 \
--signal USR1@0.3 --show server tools/fetch/weft-fetch http://@ADDR@/800/x -->
```output
...
weft: signal 10: the runtime's tasks
...
```
""".replace("\\\n", "")

# name -> (page text, expected exit status, what the checker must say)
CASES = {
    "faithful": (GOOD_OUTPUT + GOOD_QUOTE, 0, "ok (examples/02b_generator)"),
    "changed output line": (GOOD_OUTPUT.replace("55 89", "55 90"), 1,
                            "were not found at the first line"),
    "output block not anchored at its end": (GOOD_OUTPUT.replace(
        "polled again: coroutine already finished", "cancelled: Operation canceled"), 1,
        "ending at the last line"),
    "changed quote": (GOOD_QUOTE.replace("g->a);", "g->b);"), 1, "are not in the file"),
    "quoted lines not adjacent": (GOOD_QUOTE.replace("{\n...\n", "...\n{\n"), 1,
                                  "are not in the file"),
    "unchecked output block": ("```output\nhello\n```\n", 1, "needs a <!-- check"),
    "unmarked C block": ("```c\nint x;\n```\n", 1, "needs <!-- quote"),
    "wrong exit status": (GOOD_OUTPUT.replace("check:", "check: --exit 3"), 1,
                          "exited with status 0, expected 3"),
    "link to nothing": ("See [this](no-such-page.md).\n", 1, "no such file"),
    "link to a heading that is not there": ("# Title\n\nSee [this](#no-such-heading).\n", 1,
                                            "no heading makes the anchor"),
    "link to a heading that is there": ("# The Title\n\nSee [this](#the-title).\n", 0, ""),
    "a file announced as coming": ("<!-- soon: src/coro/not_yet.c -->\n"
                                   "Read `src/coro/not_yet.c`.\n", 0, ""),
    "named file missing": ("Read `src/coro/no_such_file.c`.\n", 1, "does not exist"),
    "undescribed file": ("<!-- files: examples/02b_generator.* -->\n"
                         "Only `examples/02b_generator.c` is named.\n", 1,
                         "examples/02b_generator.cmake matches"),
    "a difference a --mask hides": (GOOD_OUTPUT.replace("check:", "check: --mask '55 [0-9]+$'")
                                    .replace("55 89", "55 144"), 0, "ok (examples/02b_generator)"),
    "lines a --drop leaves out": (GOOD_OUTPUT.replace("check:", "check: --drop '^fib'")
                                  .replace("fibonacci up to 100: 0 1 1 2 3 5 8 13 21 34 55 89\n",
                                           "fibonacci: shown, not compared\n"), 0,
                                  "ok (examples/02b_generator)"),
    "pending, not due": ("<!-- pending: examples/no_such_example.c -->\n```output\n(later)\n```\n",
                         0, "pending until"),
    "pending and due": ("<!-- pending: examples/02b_generator.c -->\n```output\n(later)\n```\n",
                        77, "exists now"),
    "a file an earlier check wrote (--env, @TMP@)": (TRACED + TRACE_READ, 0,
                                                     "ok (tools/trace/weft-trace check"),
    "a file no earlier check wrote": (TRACE_READ, 1, "expected 0; it printed"),
    "a signal to the program (--signal)": (SIGNALLED, 0, "ok (examples/05_echo_server"),
    "a signal that does not come": (SIGNALLED.replace("--signal INT@0.3 ", "--timeout 2 "), 1,
                                    "did not finish within 2 s"),
    "a signal to a server with --server-env": (DUMPED, 0, "ok (tools/fetch/weft-fetch"),
    "a source line no output shows": ("The loop is at `02b_generator.c:40`.\n" + GOOD_OUTPUT, 1,
                                      "`02b_generator.c:40` is named, but no checked output"),
}


def test_rules():
    """The matching and masking rules on their own."""
    failures = []
    m = check_docs.mask
    if m("ELAPSED TIME: 0.502 s (joined)") != m("ELAPSED TIME: 0.198 s (joined)"):
        failures.append("a duration in seconds is not masked")
    if m("+  201 ms  #3") != m("+ 1601 ms  #3"):
        failures.append("a duration in ms with alignment is not masked")
    if m("http://127.0.0.1:38975/0/x") != m("http://127.0.0.1:4242/0/x"):
        failures.append("a loopback port is not masked")
    if m("(1151785 items/s)") != m("(99 items/s)"):
        failures.append("a rate is not masked")
    if m("listening on 10.0.0.1:80") == m("listening on 127.0.0.1:80"):
        failures.append("an IPv4 address is masked")
    if m("request-4") == m("request-3"):
        failures.append("an ordinary number is masked")
    out = ["a", "b", "c", "d"]
    cases = [(["a", "b"], False), (["a", "b", "..."], True), (["...", "c", "d"], True),
             (["a", "...", "d"], True), (["a", "c", "..."], False), (["...", "b", "..."], True),
             (["b", "..."], False), (["a", "...", "c"], False)]
    if check_docs.match_output(["a", "x", "c", "d"], out, drops=["^[bx]$"]) is not None:
        failures.append("--drop does not leave lines out of both sides")
    for block, ok in cases:
        if (check_docs.match_output(block, out) is None) != ok:
            failures.append("match_output(%r) should %s" % (block, "pass" if ok else "fail"))
    failures += test_line_refs()
    text = "void g(void)\n{\n    if (x) {\n        y();\n    }\n}\n"
    if check_docs.match_quote(["if (x) {", "    y();", "}"], text) is not None:
        failures.append("a dedented quote does not match")
    if check_docs.match_quote(["if (x) {", "y();", "}"], text) is None:
        failures.append("a quote with inconsistent indentation matches")
    return failures


def test_line_refs():
    """A `file:line` in the prose must be in a checked output block, not in a sketch or prose."""
    failures = []
    page_text = ("Waits at `conn.c:284`, then `main.c:18`.\n\n<!-- check: x -->\n```output\n"
                 "task 3.1 waiting at tools/delayserver/conn.c:284 (timer)\nmain.c:188\n```\n"
                 "<!-- sketch -->\n```text\nmain.c:18\n```\n")
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "page.md")
        with open(path, "w", encoding="utf-8") as f:
            f.write(page_text)
        errors = check_docs.check_line_refs(check_docs.Page(path, tmp))
    if len(errors) != 1 or "`main.c:18`" not in errors[0]:
        failures.append("check_line_refs: want one error for main.c:18, got %r" % errors)
    return failures


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--source", required=True)
    ap.add_argument("--build", required=True)
    args = ap.parse_args()
    failures = test_rules()
    checker = os.path.join(os.path.dirname(os.path.abspath(__file__)), "check_docs.py")
    with tempfile.TemporaryDirectory() as tmp:
        for name, (text, want, says) in CASES.items():
            page = os.path.join(tmp, name.replace(" ", "_") + ".md")
            with open(page, "w", encoding="utf-8") as f:
                f.write(text)
            res = subprocess.run([sys.executable, checker, "--source", args.source, "--build",
                                  args.build, page], stdout=subprocess.PIPE,
                                 stderr=subprocess.STDOUT, timeout=60)
            said = res.stdout.decode("utf-8", errors="replace")
            good = res.returncode == want and says in said
            print("%-40s exit %d (want %d) %s" % (name, res.returncode, want,
                                                  "ok" if good else "WRONG"))
            if not good:
                failures.append("%s: exit %d, want %d and %r; the checker said:\n%s" %
                                (name, res.returncode, want, says, said))
    for f in failures:
        print("FAIL " + f)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
