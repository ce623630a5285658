/*
 * What weft__timerq_next costs while the runtime waits: 1,000,000 timers due 60 to 61 s from now,
 * and 1000 calls to next, as a runtime makes one per pass of its loop. For the heap this is a
 * read of the array's first slot; for the timing-wheel candidate (bench/timers/wheel/) it is
 * either a slot's start (a lower bound) or, built with -DWHEEL_EXACT_NEXT, a scan of the coarse
 * slot that holds every one of those timers. bench/timers/run.sh builds and runs all three.
 *
 *   next_cost [name]        prints: impl=<name> next_ns=<nanoseconds per call> next=<value>
 */
#define _GNU_SOURCE
#include "runtime/timerq.c"
#include "timers_common.h"

int main(int argc, char **argv)
{
    const long n = 1000000, calls = 1000;
    const int64_t start = 1000000000000LL; /* any time; the queue never reads a clock */
    uint64_t seed = 3;
    weft__timerq q;
    weft__timer *timers = calloc((size_t)n, sizeof *timers);
    if (timers == NULL || weft__timerq_init(&q) != 0) return perror("setup"), 1;
    (void)weft__timerq_pop(&q, start); /* a wheel starts its clock here */
    for (long i = 0; i < n; i++) {
        int64_t deadline =
            start + 60 * BENCH_SPAN_NS + (int64_t)(bench_random(&seed) % BENCH_SPAN_NS);
        if (weft__timerq_add(&q, &timers[i], deadline) != 0) return perror("add"), 1;
    }
    (void)weft__timerq_pop(&q, start + 1000);

    int64_t next = 0, t0 = bench_now_ns();
    for (long i = 0; i < calls; i++)
        next = weft__timerq_next(&q);
    int64_t t1 = bench_now_ns();
    printf("impl=%s next_ns=%.1f next=%+.3fs\n", argc > 1 ? argv[1] : "weft",
           (double)(t1 - t0) / (double)calls, (double)(next - start) / 1e9);
    return 0;
}
