/*
 * weft_timers_tasks: workload 4 (one-shot timers with random deadlines within the next second) on
 * weft's runtime with one task per timer, each sleeping with weft_sleep_until: what a deadline
 * costs when a coroutine waits for it. bench/weft_timers runs the same workload with weft_timer
 * objects (weft/timer.h), no task around each timer; bench/timers/timers_weft measures the timer
 * queue alone.
 *
 *   weft_timers_tasks [timers [seed]]  (as bench/timers/: the same deadlines for the same seed)
 *
 * Set-up is spawning every task and polling each once, which arms its timer; then the loop runs
 * until all have fired. Prints the key=value line of bench/timers/timers_common.h: cpu_s, bytes
 * (peak RSS growth per timer: here a 16-byte frame, the task record and the queue's entry),
 * last_late_ms, and the rest.
 */
#define _GNU_SOURCE
#include "timers/timers_common.h"

#include "weft/runtime.h"

static struct bench_run r;

/* One timer: a task whose frame is its resume point and its deadline. */
struct sleeper {
    weft_co co;
    int64_t deadline;
};

static int sleeper(void *frame, weft_cx *cx)
{
    struct sleeper *f = frame;
    WEFT_BEGIN(&f->co);
    WEFT_AWAIT(&f->co, weft_sleep_until(f->deadline, cx));
    bench_fired(&r, f->deadline);
    WEFT_END(&f->co, 0);
}

static void check(int rc, const char *what)
{
    if (rc >= 0) return;
    fprintf(stderr, "weft_timers_tasks: %s: %s\n", what, weft_strerror(rc));
    exit(1);
}

int main(int argc, char **argv)
{
    bench_begin(&r, argc, argv);
    static weft_runtime rt;
    check(weft_runtime_init(&rt), "runtime");
    struct sleeper *frames = calloc((size_t)r.timers, sizeof *frames);
    if (frames == NULL) return perror("calloc"), 1;

    int64_t start = bench_now_ns(); /* CLOCK_MONOTONIC, the clock weft's deadlines use */
    for (long i = 0; i < r.timers; i++) {
        frames[i].deadline = start + (int64_t)(bench_random(&r.seed) % BENCH_SPAN_NS);
        check(weft_task_spawn(&rt, sleeper, &frames[i], NULL), "spawn");
    }
    /* Poll each task once, so that every timer is armed before set-up ends. Bounded: each call
     * polls up to the runtime's per-pass limit, and a sleeping task is not queued again. */
    weft_runtime_stats st;
    for (long pass = 0; pass <= r.timers; pass++) {
        weft_runtime_get_stats(&rt, &st);
        if (st.ready == 0) break;
        weft_runtime_run_ready(&rt);
    }
    bench_setup_done(&r);

    check(weft_runtime_run(&rt), "run");
    int rc = bench_report(&r, "weft-tasks");
    check(weft_runtime_close(&rt), "close");
    free(frames);
    return rc;
}
