/*
 * Benchmark: weft's timer queue (src/runtime/timerq.c, compiled into this program) under
 * N one-shot timers with random deadlines in the next second, run until all have fired, sleeping
 * with clock_nanosleep until the next deadline. See timers_common.h for what is reported.
 *
 *   timers_weft [timers [seed]]
 *
 * Compiled with -Ibench/timers/wheel -DBENCH_IMPL='"wheel"' instead, the same program measures the
 * rejected timing-wheel candidate (bench/timers/wheel/), as bench/timers/run.sh does.
 */
#define _GNU_SOURCE
#include "runtime/timerq.c"
#include "timers_common.h"

#include <errno.h>

#ifndef BENCH_IMPL
#define BENCH_IMPL "weft"
#endif

static void sleep_until(int64_t deadline)
{
    struct timespec ts = {.tv_sec = deadline / 1000000000LL, .tv_nsec = deadline % 1000000000LL};
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR) {
    }
}

int main(int argc, char **argv)
{
    struct bench_run r;
    bench_begin(&r, argc, argv);

    weft__timerq q;
    weft__timer *timers = calloc((size_t)r.timers, sizeof *timers);
    if (timers == NULL || weft__timerq_init(&q) != 0) return perror("setup"), 1;
    int64_t start = bench_now_ns();
    for (long i = 0; i < r.timers; i++) {
        int64_t deadline = start + (int64_t)(bench_random(&r.seed) % BENCH_SPAN_NS);
        if (weft__timerq_add(&q, &timers[i], deadline) != 0) return perror("add"), 1;
    }
    bench_setup_done(&r);

    int64_t now = bench_now_ns();
    while (weft__timerq_len(&q) > 0) {
        weft__timer *t;
        while ((t = weft__timerq_pop(&q, now)) != NULL)
            bench_fired(&r, t->deadline);
        now = bench_now_ns();
        int64_t next = weft__timerq_next(&q);
        if (next > now) {
            sleep_until(next);
            r.wakeups++;
            now = bench_now_ns();
        }
    }
    int rc = bench_report(&r, BENCH_IMPL);
    weft__timerq_free(&q);
    free(timers);
    return rc;
}
