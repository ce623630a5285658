#!/usr/bin/env bash
# The timer benchmark on its own: weft's queue against libuv and against the rejected timing-wheel
# candidate (bench/timers/wheel/), and weft's runtime with weft_timer objects (bench/weft_timers.c,
# impl weft-timer), interleaved (weft-timer weft wheel libuv weft-timer ...) on one pinned core, then the median and spread of each figure and of the per-round CPU ratios. The
# machine drifts between runs, so the ratio within a round is the figure to quote.
#
#   bench/timers/run.sh [RUNS [TIMERS]]           defaults: 5 pairs, 1000000 timers
#
# Builds the programs with `cc -O2` into a temporary directory, unless WEFT_TIMERS_BIN names a
# directory that already holds timers_weft and timers_libuv (a build with -DWEFT_BUILD_BENCH=ON;
# the wheel is then skipped, and weft_timers is run if it is there).
# WEFT_TIMERS_CPU picks the core (default 1). scripts/bench runs the same programs with the rest.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
runs=${1:-5}
timers=${2:-1000000}
cpu=${WEFT_TIMERS_CPU:-1}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

bin=${WEFT_TIMERS_BIN:-}
if [ -z "$bin" ]; then
    bin=$work
    weft=(-I"$here/../../src" -I"$here/../../include") # timerq.h takes its node from weft/timer.h
    cc -std=c11 -O2 "${weft[@]}" -o "$bin/timers_weft" "$here/timers_weft.c"
    cc -std=c11 -O2 -I"$here/wheel" -DBENCH_IMPL='"wheel"' -o "$bin/timers_wheel" \
        "$here/timers_weft.c"
    cc -std=c11 -O2 "${weft[@]}" -o "$bin/next_cost_weft" "$here/next_cost.c"
    src=$here/../../src
    cc -std=c11 -O2 -DNDEBUG -DWEFT_CORO_LABELS=0 "${weft[@]}" -I"$here/.." -o "$bin/weft_timers" \
        "$here/../weft_timers.c" "$src"/common/*.c "$src"/poll/*.c "$src"/coro/*.c \
        "$src"/runtime/*.c -lpthread
    cc -std=c11 -O2 -I"$here/wheel" -o "$bin/next_cost_wheel" "$here/next_cost.c"
    cc -std=c11 -O2 -I"$here/wheel" -DWHEEL_EXACT_NEXT -o "$bin/next_cost_wheel_exact" \
        "$here/next_cost.c"
    # shellcheck disable=SC2046 # pkg-config output is a list of flags
    cc -std=c11 -O2 -o "$bin/timers_libuv" "$here/timers_libuv.c" $(pkg-config --cflags --libs libuv)
fi
pin=()
if command -v taskset >/dev/null; then pin=(taskset -c "$cpu"); fi

impls=(weft libuv)
if [ -x "$bin/timers_wheel" ]; then impls=(weft wheel libuv); fi
if [ -x "$bin/weft_timers" ]; then impls=(weft-timer "${impls[@]}"); fi
for r in $(seq "$runs"); do
    for impl in "${impls[@]}"; do
        prog=timers_$impl
        if [ "$impl" = weft-timer ]; then prog=weft_timers; fi
        "${pin[@]}" "$bin/$prog" "$timers" "$r" | tee -a "$work/all.txt"
    done
done

# Prints "median [min - max]" of the numbers on stdin.
spread() {
    sort -g | awk '{ v[NR] = $1 } END {
        m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
        printf "%.3f [%.3f - %.3f]", m, v[1], v[NR] }'
}
# The values of key $2 in the lines of implementation $1, one per line, in run order.
values() { grep "impl=$1 " "$work/all.txt" | tr ' ' '\n' | sed -n "s/^$2=//p"; }

echo
echo "medians of $runs runs, $timers timers (seed = run number), core $cpu:"
for impl in "${impls[@]}"; do
    for key in cpu_s user_s sys_s bytes last_late_ms max_late_ms run_max_late_ms wakeups; do
        printf '  %-10s %-16s %s\n' "$impl" "$key" "$(values "$impl" "$key" | spread)"
    done
done
for impl in "${impls[@]}"; do
    [ "$impl" = libuv ] && continue
    printf '  cpu_s %s/libuv per round: %s\n' "$impl" \
        "$(paste <(values "$impl" cpu_s) <(values libuv cpu_s) | awk '{ print $1 / $2 }' | spread)"
done

if [ -x "$bin/next_cost_weft" ]; then
    echo
    echo "cost of next() with 1M timers due in 60-61 s (bench/timers/next_cost.c):"
    for impl in weft wheel wheel_exact; do "${pin[@]}" "$bin/next_cost_$impl" "$impl"; done
fi
