/*
 * Baseline: the same workload as timers_weft.c on libuv. N uv_timer_t one-shot timers started with
 * uv_timer_start and a random timeout of 0..999 ms (libuv's resolution), run by uv_run until all
 * have fired. A timer's deadline is libuv's own: (loop time at start + timeout) ms.
 *
 *   timers_libuv [timers [seed]]
 */
#define _GNU_SOURCE
#include "timers_common.h"

#include <uv.h>

static struct bench_run r;
static int64_t start_ms;

/* Runs once per loop iteration, after the poll: counts the times libuv slept. */
static void on_check(uv_check_t *c)
{
    (void)c;
    r.wakeups++;
}

static void on_timer(uv_timer_t *t)
{
    int64_t timeout_ms = (int64_t)(intptr_t)t->data;
    bench_fired(&r, (start_ms + timeout_ms) * 1000000LL);
}

int main(int argc, char **argv)
{
    bench_begin(&r, argc, argv);

    uv_loop_t loop;
    uv_timer_t *timers = calloc((size_t)r.timers, sizeof *timers);
    if (timers == NULL || uv_loop_init(&loop) != 0) return perror("setup"), 1;
    uv_update_time(&loop);
    start_ms = (int64_t)uv_now(&loop);
    for (long i = 0; i < r.timers; i++) {
        int64_t timeout_ms = (int64_t)(bench_random(&r.seed) % (BENCH_SPAN_NS / 1000000));
        uv_timer_init(&loop, &timers[i]);
        timers[i].data = (void *)(intptr_t)timeout_ms;
        if (uv_timer_start(&timers[i], on_timer, (uint64_t)timeout_ms, 0) != 0) return 1;
    }
    bench_setup_done(&r);

    uv_check_t check;
    uv_check_init(&loop, &check);
    uv_check_start(&check, on_check);
    uv_unref((uv_handle_t *)&check); /* The counter must not keep the loop alive. */

    uv_run(&loop, UV_RUN_DEFAULT);
    int rc = bench_report(&r, "libuv");

    /* After the report, so not measured: close every handle and the loop, as a clean exit. */
    for (long i = 0; i < r.timers; i++)
        uv_close((uv_handle_t *)&timers[i], NULL);
    uv_close((uv_handle_t *)&check, NULL);
    uv_run(&loop, UV_RUN_DEFAULT);
    if (uv_loop_close(&loop) != 0) rc = 1;
    free(timers);
    return rc;
}
