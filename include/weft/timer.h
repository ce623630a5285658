/*
 * weft/timer.h — timers without a task: a caller-allocated weft_timer that calls a function, or
 * wakes a task, once the clock reaches its deadline. The counterpart of libuv's uv_timer_t.
 *
 * A task's own timer (weft_sleep_until, an I/O deadline) is the way a coroutine waits. When all
 * that should happen at a deadline is a short piece of code — expire a cache entry, flag a slow
 * request, time out a million idle sessions — a task per deadline costs a frame and a 56-byte
 * task record. A weft_timer is 32 bytes that live wherever the caller likes (an array, a
 * connection's struct), plus the queue's 16-byte entry while it is started:
 *
 *     static void expire(weft_runtime *rt, weft_timer *t, void *arg)
 *     {
 *         struct session *s = arg;              // or container_of(t, struct session, timer)
 *         session_drop(rt, s);
 *     }
 *     ...
 *     weft_timer_start(rt, &s->timer, weft_deadline_in(WEFT_SEC(30)), expire, s);
 *     ...
 *     weft_timer_stop(rt, &s->timer);           // the session ended first
 *
 * THE RULES.
 *   - Memory. The weft_timer is the caller's. Zero it before its first start (a zeroed frame or
 *     struct needs no set-up); a zeroed weft_timer is stopped. While it is started the runtime
 *     keeps a pointer to it, so it must stay where it is and stay valid until it has fired, been
 *     stopped, or the runtime was closed — the same rule as a task's frame. Never copy or free a
 *     started timer.
 *   - Never early. A timer fires once weft_time_now() >= its deadline, in the loop's next pass
 *     after that (weft_runtime_park), never before. Timers that are due together fire in deadline
 *     order; equal deadlines in the order they were started.
 *   - One shot. A timer fires once and is then stopped; restart it (from its own callback, for a
 *     periodic timer) to fire again.
 *   - Callbacks run on the runtime's thread, outside any task, between polls of tasks. They must
 *     not block, suspend, or call weft_runtime_run / run_ready / park / block_on / close; they may
 *     start and stop timers (their own included), wake and spawn tasks, and open or close I/O.
 *     A timer started from a callback never fires in that same pass, even if its deadline has
 *     already come: it fires in a later pass, after the loop has polled for events once, so a
 *     callback that keeps restarting its timer in the past cannot starve the rest of the loop.
 *   - Started timers keep weft_runtime_run going (as started handles keep uv_run going) and count
 *     in weft_runtime_get_stats' `timers`. weft_runtime_close stops whatever is still started
 *     (without calling it) and then reports -EBUSY.
 *   - One thread, as the rest of weft/runtime.h. A started timer belongs to the runtime it was
 *     started on: stop or restart it on that runtime only.
 */
#ifndef WEFT_TIMER_H
#define WEFT_TIMER_H

#include <stdbool.h>
#include <stdint.h>

#include "weft/runtime.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * weft__timer - the timer queue's node (src/runtime/timerq.h), embedded in every deadline the
 * runtime keeps: a task record's and a weft_timer's. Private; declared here only so that
 * weft_timer can embed it by value. 16 bytes.
 */
typedef struct weft__timer {
    int64_t deadline; /* CLOCK_MONOTONIC ns at which the timer is due */
    uint32_t seq;     /* insertion number, modulo 2^32: equal deadlines fire first-in first-out */
    uint32_t pos;     /* index in the queue's heap array plus one; 0 while not queued */
} weft__timer;

typedef struct weft_timer weft_timer;

/*
 * weft_timer_fn - what a timer calls when it fires: the runtime, the timer (already stopped, so
 * it may be restarted or freed here) and the arg given to weft_timer_start.
 */
typedef void weft_timer_fn(weft_runtime *rt, weft_timer *timer, void *arg);

/* weft_timer - one timer. Caller-allocated, zeroed before first use; all fields are private. */
struct weft_timer {
    weft__timer node;  /* its place in the runtime's queue of weft_timers */
    weft_timer_fn *fn; /* what to call; NULL: wake `u.waker` instead */
    union {
        void *arg;        /* passed to fn */
        weft_waker waker; /* the task to wake (weft_timer_start_wake) */
    } u;
};

/*
 * weft_timer_start - make t fire at deadline (absolute CLOCK_MONOTONIC ns, weft_time_now()):
 * then fn(rt, t, arg) is called, once. A deadline that has already come fires in the loop's next
 * pass. Starting a timer that is already started restarts it with the new deadline, fn and arg
 * (it fires once, not twice); that needs no memory and cannot fail.
 * rt: the runtime whose loop fires it. t: zeroed, or used before on this runtime; must stay put
 * while started (see THE RULES above). fn: not NULL. arg: anything, never dereferenced here.
 * Returns 0; -EINVAL if fn is NULL or deadline < 0; -ENOMEM if the queue could not grow (t is
 * then not started; restarting a started timer never fails); -ECANCELED if rt is closing (a
 * task's cleanup block tried). Never suspends; may be called from a task or a
 * timer callback.
 */
int weft_timer_start(weft_runtime *rt, weft_timer *t, int64_t deadline, weft_timer_fn *fn,
                     void *arg);

/*
 * weft_timer_start_wake - like weft_timer_start, but firing wakes the task waker names (as
 * weft_waker_wake: nothing happens if that task has finished). Lets a task keep deadlines that
 * outlive one poll without holding its own timer. Returns as weft_timer_start (-EINVAL only for
 * deadline < 0).
 */
int weft_timer_start_wake(weft_runtime *rt, weft_timer *t, int64_t deadline, weft_waker waker);

/*
 * weft_timer_stop - stop t: it will not fire (until started again). Safe on a stopped or zeroed
 * timer, and from any callback, t's own included (a timer is already stopped while its callback
 * runs). Afterwards the caller may reuse or free t. Returns true if t was started.
 */
bool weft_timer_stop(weft_runtime *rt, weft_timer *t);

/* weft_timer_active - true while t is started (it has neither fired nor been stopped). O(1). */
static inline bool weft_timer_active(const weft_timer *t)
{
    return t->node.pos != 0;
}

/*
 * weft_timer_deadline - the deadline t was last started for (also inside its callback, to see how
 * late it fired); 0 for a timer never started.
 */
static inline int64_t weft_timer_deadline(const weft_timer *t)
{
    return t->node.deadline;
}

#ifdef __cplusplus
}
#endif

#endif /* WEFT_TIMER_H */
