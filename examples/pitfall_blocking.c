/*
 * pitfall_blocking — a blocking call inside a coroutine stops every task, not just its own.
 *
 * The runtime runs all tasks on one thread. A task that calls something that blocks (sleep(),
 * a blocking read(), getaddrinfo(), a long computation) keeps that thread, so nothing else runs
 * until it returns: no other task, no timer, no event.
 *
 * Two tasks: a ticker that wants to tick every 50 ms, and a worker that waits 300 ms.
 *
 *   1. wrong: the worker calls usleep(). The ticker does not tick at all while the worker
 *      waits, and its next tick comes about 300 ms late.
 *   2. right: the worker awaits weft_sleep_for(). It suspends, the thread goes back to the
 *      runtime, and the ticker keeps its rhythm.
 *
 * docs/pitfalls.md walks through it.
 */
#define _DEFAULT_SOURCE /* usleep */
#include <stdio.h>
#include <unistd.h>

#include <weft/runtime.h>

#define TICK WEFT_MSEC(50)
#define WAIT WEFT_MSEC(300)

/* Ticks every TICK until told to stop; notes the longest time between two ticks. */
struct ticker {
    weft_co co;
    int64_t wake, last, longest;
    int ticks;
    bool stop;
};

static int ticker(void *frame, weft_cx *cx)
{
    struct ticker *f = frame;
    WEFT_BEGIN(&f->co);
    for (f->last = weft_time_now(); !f->stop;) {
        WEFT_AWAIT(&f->co, weft_sleep_for(&f->wake, TICK, cx));
        int64_t now = weft_time_now();
        if (now - f->last > f->longest) f->longest = now - f->last;
        f->last = now;
        f->ticks++;
    }
    WEFT_END(&f->co, 0);
}

/* The worker: starts the ticker, waits WAIT one way or the other, then stops the ticker. */
struct worker {
    weft_co co;
    bool blocking; /* the wrong way: usleep() */
    struct ticker tk;
    weft_task tk_task;
    int64_t wake;
    int ticks_before, r;
};

static int worker(void *frame, weft_cx *cx)
{
    struct worker *f = frame;
    WEFT_BEGIN(&f->co);
    f->r = weft_task_spawn(cx->rt, ticker, &f->tk, &f->tk_task);
    if (f->r < 0) WEFT_RETURN(&f->co, f->r);
    WEFT_TASK_YIELD(&f->co, cx); /* let the ticker start its first 50 ms */
    f->ticks_before = f->tk.ticks;
    if (f->blocking)
        usleep(WAIT / 1000); /* WRONG: the whole thread sleeps, and every task with it */
    else
        WEFT_AWAIT(&f->co, weft_sleep_for(&f->wake, WAIT, cx)); /* right: only this task waits */
    printf("  did the ticker tick while the worker waited? %s\n",
           f->tk.ticks > f->ticks_before ? "yes" : "no");
    f->tk.stop = true;
    WEFT_AWAIT(&f->co, f->r = weft_task_join(f->tk_task, cx));
    printf("  longest time between two ticks: %.1f ms (it asked for %d ms)\n",
           (double)f->tk.longest / 1e6, (int)(TICK / 1000000));
    WEFT_END(&f->co, f->r);
}

static int run(bool blocking)
{
    weft_runtime rt;
    int r = weft_runtime_init(&rt);
    if (r < 0) return r;
    struct worker w = {.blocking = blocking};
    r = weft_runtime_block_on(&rt, worker, &w);
    weft_runtime_close(&rt);
    return r;
}

int main(int argc, char **argv)
{
    if (argc > 1) {
        fprintf(stderr, "'%s': %s takes no arguments\n", argv[1], argv[0]);
        return 2;
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    printf("1. the worker calls usleep() for 300 ms (wrong)\n");
    int r = run(true);
    printf("2. the worker awaits weft_sleep_for() for 300 ms (right)\n");
    if (r == 0) r = run(false);
    if (r < 0) fprintf(stderr, "error: %s\n", weft_strerror(r));
    return r < 0;
}
