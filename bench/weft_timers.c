/*
 * weft_timers: workload 4 (one-shot timers with random deadlines within the next second) on
 * weft's runtime with weft_timer objects (weft/timer.h), as timers_libuv does with uv_timer_t:
 * one caller-allocated timer per deadline, a callback when it fires, weft_runtime_run until all
 * have. bench/weft_timers_tasks runs the same workload with a task per timer; bench/timers/
 * timers_weft measures the timer queue alone.
 *
 *   weft_timers [timers [seed]]      (as bench/timers/: the same deadlines for the same seed)
 *
 * Set-up is starting every timer. Prints the key=value line of bench/timers/timers_common.h:
 * cpu_s, bytes (peak RSS growth per timer: the 32-byte weft_timer and the queue's 16-byte heap
 * slot, whose array has grown to the next power of two), last_late_ms, and the rest.
 */
#define _GNU_SOURCE
#include "timers/timers_common.h"

#include "weft/runtime.h"
#include "weft/timer.h"

static struct bench_run r;

static void fired(weft_runtime *rt, weft_timer *t, void *arg)
{
    (void)rt;
    (void)arg;
    bench_fired(&r, weft_timer_deadline(t));
}

static void check(int rc, const char *what)
{
    if (rc >= 0) return;
    fprintf(stderr, "weft_timers: %s: %s\n", what, weft_strerror(rc));
    exit(1);
}

int main(int argc, char **argv)
{
    bench_begin(&r, argc, argv);
    static weft_runtime rt;
    check(weft_runtime_init(&rt), "runtime");
    weft_timer *timers = calloc((size_t)r.timers, sizeof *timers);
    if (timers == NULL) return perror("calloc"), 1;

    int64_t start = bench_now_ns(); /* CLOCK_MONOTONIC, the clock weft's deadlines use */
    for (long i = 0; i < r.timers; i++) {
        int64_t deadline = start + (int64_t)(bench_random(&r.seed) % BENCH_SPAN_NS);
        check(weft_timer_start(&rt, &timers[i], deadline, fired, NULL), "start");
    }
    bench_setup_done(&r);

    check(weft_runtime_run(&rt), "run"); /* returns once no timer is started */
    int rc = bench_report(&r, "weft-timer");
    check(weft_runtime_close(&rt), "close");
    free(timers);
    return rc;
}
