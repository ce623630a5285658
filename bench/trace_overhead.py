#!/usr/bin/env python3
"""The cost of weft's trace hooks while tracing is off (issue 7; docs/tracing.md).

    python3 bench/trace_overhead.py BUILD_DIR [--runs N] [--callgrind] [--traced]

BUILD_DIR holds trace_overhead_on and trace_overhead_off (configure with -DWEFT_BUILD_BENCH=ON
and a Release build type, then build the target bench_trace_overhead). The two programs are the
same benchmark over a runtime with the hooks compiled in (as shipped) and compiled out
(WEFT_TRACE_COMPILED=0). They are run alternately, N times each (the order flips every round, so
neither always runs on a warmer machine), and the medians compared.

--callgrind also counts instructions per resume under valgrind (exact, noise-free): each program
runs twice with different numbers of yields (and of round trips), and the difference in
instructions divided by the difference in resumes is the cost of one resume.
--traced adds a column with tracing on (trace_overhead_on --trace /dev/null): the cost of
recording.
"""
import argparse
import os
import re
import statistics
import subprocess
import sys

METRICS = ("yield_ns", "spawn_ns", "trip_ns")


def run(cmd):
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return {k: float(v) for k, v in re.findall(r"^(\w+_ns)=([\d.]+)$", out, re.M)}


def medians(build, runs, traced):
    on, off = os.path.join(build, "trace_overhead_on"), os.path.join(build, "trace_overhead_off")
    variants = {"off": [off], "on": [on]}
    if traced:
        variants["traced"] = [on, "--trace", "/dev/null"]
    samples = {v: {m: [] for m in METRICS} for v in variants}
    names = list(variants)
    for i in range(runs):
        order = names if i % 2 == 0 else names[::-1]
        for v in order:
            for m, x in run(variants[v]).items():
                samples[v][m].append(x)
    return {v: {m: statistics.median(xs) for m, xs in s.items()} for v, s in samples.items()}


def instructions(cmd):
    err = subprocess.run(["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null"] + cmd,
                         check=True, capture_output=True, text=True).stderr
    return int(re.search(r"Collected : (\d+)", err).group(1))


def per_resume(prog):
    """Instructions per yield-resume and per round trip, from two runs of different lengths."""
    small = ["--tasks", "10", "--spawns", "100"]
    y1 = instructions([prog] + small + ["--yields", "1000", "--trips", "200"])
    y2 = instructions([prog] + small + ["--yields", "3000", "--trips", "200"])
    t2 = instructions([prog] + small + ["--yields", "1000", "--trips", "600"])
    return (y2 - y1) / (10 * 2000), (t2 - y1) / 400


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("build")
    ap.add_argument("--runs", type=int, default=11)
    ap.add_argument("--callgrind", action="store_true")
    ap.add_argument("--traced", action="store_true")
    a = ap.parse_args()
    med = medians(a.build, a.runs, a.traced)
    print(f"medians of {a.runs} interleaved runs (ns per operation)")
    head = f"{'':10} {'compiled out':>13} {'compiled in':>12} {'difference':>16}"
    print(head + (f" {'tracing on':>11}" if a.traced else ""))
    for m in METRICS:
        off, on = med["off"][m], med["on"][m]
        line = f"{m:10} {off:13.2f} {on:12.2f} {on - off:+9.2f} ({(on - off) / off:+.1%})"
        if a.traced:
            line += f" {med['traced'][m]:11.2f}"
        print(line)
    if a.callgrind:
        print("instructions (callgrind)   compiled out  compiled in")
        off = per_resume(os.path.join(a.build, "trace_overhead_off"))
        on = per_resume(os.path.join(a.build, "trace_overhead_on"))
        print(f"per yield-resume           {off[0]:12.1f} {on[0]:12.1f}")
        print(f"per round trip (2 resumes) {off[1]:12.1f} {on[1]:12.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
