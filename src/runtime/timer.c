/*
 * weft_timers (weft/timer.h): deadlines that call a function, or wake a task, without a task of
 * their own.
 *
 * They are kept in a timer queue of their own, rt->callouts, beside the task timers of rt->timers.
 * When a node comes out of a queue the loop must know whose it is: a task record's (wake the
 * task) or a weft_timer's (call it). One shared queue would need a tag, and the 16-byte node has
 * no spare bit, so every pop in the task path would pay for a test or a bigger node. Two queues
 * cost the task path nothing: one more `next` to compare when the loop parks, and a NULL test
 * while no weft_timer was ever started (the queue is allocated by the first start).
 *
 * Per timer: the caller's 32-byte weft_timer and the queue's 16-byte heap slot, or two slots right
 * after the array doubled: 48 to 64 bytes. bench/weft_timers measures it with a million timers.
 *
 * A weft_timer's node is its first member, so the node the queue hands back converts to the timer
 * by a plain cast (C11 6.7.2.1: a pointer to a struct, suitably converted, points to its first
 * member, and back).
 */
#include "runtime/internal.h"

#include <errno.h>
#include <stdlib.h>

_Static_assert(offsetof(weft_timer, node) == 0, "the queue's node is a weft_timer's first member");

/* Allocates rt->callouts on the first start. Returns 0 or -ENOMEM. */
static int callouts_open(weft_runtime *rt)
{
    if (rt->callouts != NULL) return 0;
    struct weft__timerq *q = malloc(sizeof *q);
    if (q == NULL) return -ENOMEM;
    if (weft__timerq_init(q) < 0) {
        free(q);
        return -ENOMEM;
    }
    rt->callouts = q;
    return 0;
}

/* Queues t for deadline (or moves it there if it is started): what both starts share. */
static int start(weft_runtime *rt, weft_timer *t, int64_t deadline)
{
    if (deadline < 0) return -EINVAL;
    if (rt->closing) return -ECANCELED;
    int r = callouts_open(rt);
    if (r < 0) return r;
    return weft__timerq_add(rt->callouts, &t->node, deadline);
}

int weft_timer_start(weft_runtime *rt, weft_timer *t, int64_t deadline, weft_timer_fn *fn,
                     void *arg)
{
    if (fn == NULL) return -EINVAL;
    int r = start(rt, t, deadline);
    if (r < 0) return r;
    t->fn = fn;
    t->u.arg = arg;
    return 0;
}

int weft_timer_start_wake(weft_runtime *rt, weft_timer *t, int64_t deadline, weft_waker waker)
{
    int r = start(rt, t, deadline);
    if (r < 0) return r;
    t->fn = NULL;
    t->u.waker = waker;
    return 0;
}

bool weft_timer_stop(weft_runtime *rt, weft_timer *t)
{
    if (!weft_timer_active(t) || rt->callouts == NULL) return false;
    weft__timerq_cancel(rt->callouts, &t->node);
    return true;
}

/*
 * The queue has already unlinked t, so the callback may restart, stop or free it. fn and arg are
 * read before the call, as arguments, so nothing here touches t after the callback returns.
 */
static void fire(weft_runtime *rt, weft_timer *t)
{
    if (t->fn != NULL)
        t->fn(rt, t, t->u.arg);
    else
        weft_waker_wake(rt, t->u.waker);
}

/*
 * True if `node` was started (or restarted) after the queue's insertion counter read `mark`: its
 * insertion number lies in [mark, next_seq), compared modulo 2^32 as the queue compares them.
 */
static bool started_since(const weft__timerq *q, const weft__timer *node, uint32_t mark)
{
    return (uint32_t)(node->seq - mark) < (uint32_t)(q->next_seq - mark);
}

/*
 * One pass fires only timers that were started before it began. The pass stops at the first due
 * timer a callback started (a periodic timer restarted in the past, say): it and everything due
 * after it fire in the next pass, after the loop has polled for events once. Deadline order holds
 * across the two passes, since the timer left for later was the earliest. Every pop is of a timer
 * started before the pass, so the pass is bounded by the count at its start.
 */
size_t weft__callouts_fire(weft_runtime *rt)
{
    weft__timerq *q = rt->callouts;
    if (q == NULL) return 0;
    uint32_t mark = q->next_seq;
    size_t n = 0;
    for (;;) {
        weft__timer *node = weft__timerq_peek(q);
        if (node == NULL || node->deadline > rt->now || started_since(q, node, mark)) break;
        (void)weft__timerq_pop(q, rt->now);
        fire(rt, (weft_timer *)(void *)node);
        n++;
    }
    return n;
}

/* Popping each timer (rather than freeing the array) leaves every one reading as stopped. */
size_t weft__callouts_close(weft_runtime *rt)
{
    if (rt->callouts == NULL) return 0;
    size_t n = weft__timerq_len(rt->callouts);
    for (size_t i = 0; i < n; i++)
        (void)weft__timerq_pop(rt->callouts, INT64_MAX);
    weft__timerq_free(rt->callouts);
    free(rt->callouts);
    rt->callouts = NULL;
    return n;
}
