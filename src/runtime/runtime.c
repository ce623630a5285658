/*
 * The event loop: run what is ready, park in the poll layer until something happens, wake
 * exactly the tasks it concerns, repeat.
 *
 * One pass of the loop:
 *
 *   1. Run ready tasks, oldest first, until the queue is empty — or until WEFT__PASS_POLLS polls
 *      in a row, so that tasks which keep waking each other cannot keep events and timers
 *      waiting forever.
 *   2. Park: weft_poll_wait() with a timeout of 0 if tasks are still ready, otherwise until the
 *      earliest timer deadline (forever if there is none).
 *   3. Each event's token names an I/O record: record its readiness and wake its waiters.
 *      Each expired task timer names a task: wake it. Each expired weft_timer (weft/timer.h,
 *      kept in a queue of their own) fires: its callback runs here, between polls of tasks.
 *
 * The work of a pass is proportional to the tasks that ran, the events that came back and the
 * timers that expired; nothing here walks all tasks or all sockets.
 */
#include "runtime/internal.h"

#include <errno.h>
#include <stdlib.h>

/* Events taken per park; if more are ready, the rest come with the next park. */
#define WEFT__EVENTS 256

/* Task polls per pass before events and timers get a look-in even if tasks are still ready. */
#define WEFT__PASS_POLLS 1024

int weft_runtime_init(weft_runtime *rt)
{
    *rt = (weft_runtime){0};
    rt->timers = malloc(sizeof *rt->timers);
    if (rt->timers == NULL) return -ENOMEM;
    int r = weft__timerq_init(rt->timers);
    if (r < 0) goto fail_timers;
    r = weft_events_init(&rt->events, WEFT__EVENTS);
    if (r < 0) goto fail_events;
    r = weft_poll_init(&rt->poll);
    if (r < 0) goto fail_poll;
    rt->now = weft_time_now();
    WEFT__TRACE_INIT(rt); /* WEFT_TRACE, WEFT_DUMP_SIGNAL (weft/trace.h) */
    return 0;

fail_poll:
    weft_events_free(&rt->events);
fail_events:
    weft__timerq_free(rt->timers);
fail_timers:
    free(rt->timers);
    rt->timers = NULL;
    return r;
}

int weft_runtime_close(weft_runtime *rt)
{
    if (rt->running != NULL) return -EBUSY;
    rt->closing = true;
    size_t tasks = weft__task_cancel_all(rt);
    size_t ext = rt->ext != NULL ? weft__ext_close(rt) : 0; /* breadth: joins pool threads */
    size_t callouts = weft__callouts_close(rt); /* after the tasks: cleanup blocks may stop some */
    size_t ios = weft__io_close_all(rt);
    if (rt->trace != NULL) weft__trace_close(rt); /* ends the trace after the cancellations */
#ifndef NDEBUG
    if (tasks != 0 || ios != 0)
        fprintf(stderr,
                "weft_runtime_close: cancelled %zu unfinished task(s), closed %zu open I/O "
                "resource(s)\n",
                tasks, ios);
    if (ext != 0)
        fprintf(stderr, "weft_runtime_close: %zu wait queue(s), door(s) or job(s) left open\n",
                ext);
    if (callouts != 0)
        fprintf(stderr, "weft_runtime_close: stopped %zu started weft_timer(s)\n", callouts);
#endif
    weft__table_free(&rt->tasks);
    weft__table_free(&rt->ios);
    free(rt->joiners);
    rt->joiners = NULL;
    rt->joiners_cap = 0;
    weft__timerq_free(rt->timers);
    free(rt->timers);
    rt->timers = NULL;
    weft_events_free(&rt->events);
    weft_poll_close(&rt->poll);
    return tasks != 0 || ios != 0 || ext != 0 || callouts != 0 ? -EBUSY : 0;
}

/* Step 1: poll ready tasks in FIFO order, at most WEFT__PASS_POLLS of them, until a stop. */
size_t weft_runtime_run_ready(weft_runtime *rt)
{
    if (rt->running != NULL) return 0;
    return weft__tasks_run_ready(rt, WEFT__PASS_POLLS);
}

/* Wakes the task of every task timer due at rt->now, then fires the weft_timers due. */
static size_t fire_timers(weft_runtime *rt)
{
    size_t n = 0;
    weft__timer *timer;
    while ((timer = weft__timerq_pop(rt->timers, rt->now)) != NULL) {
        weft__task_timer_fired(rt, timer);
        n++;
    }
    return n + weft__callouts_fire(rt);
}

/* The earliest deadline of either queue, or -1 if both are empty. */
static int64_t next_deadline(const weft_runtime *rt)
{
    int64_t tasks = weft__timerq_next(rt->timers), callouts = weft__callouts_next(rt);
    if (tasks < 0) return callouts;
    return callouts >= 0 && callouts < tasks ? callouts : tasks;
}

/* True while weft_runtime_run has something to run for: an unfinished task, a started timer. */
static bool has_work(const weft_runtime *rt)
{
    return rt->live_tasks != 0 || weft__callouts_len(rt) != 0;
}

/*
 * How long step 2 may block: 0 if something is ready (including tasks whose timers expired just
 * now), else until the earliest deadline, else forever — unless nothing could ever end that
 * wait (no timer, no open fd): that is a deadlock, reported as -EDEADLK rather than slept through.
 */
static int park_timeout(weft_runtime *rt, int64_t *timeout)
{
    *timeout = 0;
    if (rt->ready_len != 0) return 0;
    rt->now = weft_time_now();
    if (fire_timers(rt) != 0) return 0;
    int64_t next = next_deadline(rt);
    if (next >= 0)
        *timeout = next - rt->now;
    else if (rt->io_open != 0 || (rt->ext != NULL && weft__ext_keepalive(rt))) /* breadth */
        *timeout = WEFT_POLL_FOREVER;
    else
        return -EDEADLK;
    return 0;
}

/* Steps 2 and 3. */
int weft_runtime_park(weft_runtime *rt)
{
    if (rt->running != NULL) return -EBUSY;
    int64_t timeout;
    int r = park_timeout(rt, &timeout);
    if (r < 0) return r;
    WEFT__TRACE(rt, park_start, timeout);
    int n = weft_poll_wait(&rt->poll, &rt->events, timeout);
    WEFT__TRACE(rt, park_end, n);
    if (n < 0) return n;
    for (int i = 0; i < n; i++) {
        if (WEFT__TRACE_ON(rt) && weft__trace_event(rt, &rt->events.items[i])) continue;
        if (rt->ext != NULL && weft__ext_dispatch(rt, &rt->events.items[i])) continue; /* breadth */
        weft__io_dispatch(rt, &rt->events.items[i]);
    }
    rt->now = weft_time_now();
    fire_timers(rt);
    return 0;
}

/* True once block_on's root has finished. */
static bool root_done(const weft_runtime *rt, weft_task root)
{
    const struct weft__task *t = weft__task_lookup(rt, root.slot, root.gen);
    return t == NULL || t->state == WEFT__TASK_DONE;
}

int weft_runtime_block_on(weft_runtime *rt, weft_co_fn fn, void *frame)
{
    if (rt->running != NULL) return -EBUSY;
    weft_task root;
    int r = weft_task_spawn(rt, fn, frame, &root);
    if (r < 0) return r;
    rt->now = weft_time_now();
    for (;;) {
        rt->stop = false; /* only weft_runtime_run stops */
        weft_runtime_run_ready(rt);
        if (root_done(rt, root)) break;
        r = weft_runtime_park(rt);
        if (r < 0) {
            weft_task_cancel(rt, root);
            (void)weft_task_result(rt, root);
            return r;
        }
    }
    return weft_task_result(rt, root);
}

int weft_runtime_run(weft_runtime *rt)
{
    if (rt->running != NULL) return -EBUSY;
    rt->stop = false;
    rt->now = weft_time_now();
    int r = 0;
    while (has_work(rt) && !rt->stop) {
        weft_runtime_run_ready(rt);
        if (!has_work(rt) || rt->stop) break;
        r = weft_runtime_park(rt);
        if (r < 0) break;
    }
    rt->stop = false;
    /* Nothing is left to run, but a task cancelled while queued may still sit in the queue, DONE
     * (task.c): one more pass pops those — it polls nothing, no task being READY — so that the
     * run ends with an empty queue and detached records free. */
    if (rt->live_tasks == 0) (void)weft__tasks_run_ready(rt, 1);
    return r;
}

void weft_runtime_stop(weft_runtime *rt)
{
    rt->stop = true;
}
