/*
 * Tasks: their records, the ready queue, wake-ups, and a task's life from spawn to collection.
 *
 * A task record moves through these states:
 *
 *     spawn -> READY -> RUNNING -> WAITING -> READY -> ... -> DONE -> (collected) FREE
 *                 (the poll returned WEFT_PENDING)      (the poll returned a result,
 *                                                        or the task was cancelled)
 *
 * The ready queue is a FIFO linked through the records' `next` field. A record is in it exactly
 * when its QUEUED flag is set, which is what makes a double wake-up queue a task only once. A
 * task cancelled while queued stays in the queue, DONE, until the loop reaches it (unlinking
 * from the middle of a singly linked list would cost a walk); the record is only freed once it
 * is out of the queue. So the queue never holds a stale entry, and never needs to grow: `next`
 * is its storage.
 *
 * Generations: each record has a generation, bumped whenever it is freed. Wakers and task
 * handles carry the generation they were made with, so after a record is reused an old handle
 * or waker no longer matches and does nothing.
 */
#include "runtime/ext.h"
#include "runtime/internal.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>

/* ---------------------------------------------------------------------------------------------
 * Records
 * ------------------------------------------------------------------------------------------- */

/* Threads a freshly added chunk onto the free list, lowest slot first. */
static void thread_free_chunk(weft_runtime *rt, uint32_t first)
{
    for (uint32_t i = WEFT__CHUNK; i-- > 0;) {
        struct weft__task *t = weft__task_at(rt, first + i);
        t->slot = first + i;
        t->gen = 1;
        t->next = rt->tasks.free_head;
        rt->tasks.free_head = first + i + 1;
    }
}

/* Takes a free record (growing the table if none is left), or returns NULL: out of memory. */
static struct weft__task *record_alloc(weft_runtime *rt)
{
    if (rt->tasks.free_head == 0) {
        int64_t first = weft__table_grow(&rt->tasks, sizeof(struct weft__task));
        if (first < 0) return NULL;
        thread_free_chunk(rt, (uint32_t)first);
    }
    struct weft__task *t = weft__task_at(rt, rt->tasks.free_head - 1);
    rt->tasks.free_head = t->next;
    t->next = 0;
    return t;
}

/* Returns a record to the free list. Its generation moves on, so every old handle goes stale. */
static void record_free(weft_runtime *rt, struct weft__task *t)
{
    t->gen = t->gen == UINT32_MAX ? 1 : t->gen + 1;
    t->state = WEFT__TASK_FREE;
    t->flags = 0;
    t->frame = NULL;
    t->site = NULL;
    t->next = rt->tasks.free_head;
    rt->tasks.free_head = t->slot + 1;
}

struct weft__task *weft__task_lookup(const weft_runtime *rt, uint32_t slot, uint32_t gen)
{
    if (gen == 0 || slot >= weft__table_cap(&rt->tasks)) return NULL;
    struct weft__task *t = weft__task_at(rt, slot);
    if (t->gen != gen || t->state == WEFT__TASK_FREE) return NULL;
    return t;
}

static weft_waker waker_of(const struct weft__task *t)
{
    weft_waker w = {t->slot, t->gen};
    return w;
}

/* ---------------------------------------------------------------------------------------------
 * The ready queue and wake-ups
 * ------------------------------------------------------------------------------------------- */

static void ready_push(weft_runtime *rt, struct weft__task *t)
{
    t->flags |= WEFT__TASK_QUEUED;
    t->next = 0;
    if (rt->ready_tail != 0)
        weft__task_at(rt, rt->ready_tail - 1)->next = t->slot + 1;
    else
        rt->ready_head = t->slot + 1;
    rt->ready_tail = t->slot + 1;
    rt->ready_len++;
}

/* Unlinks the head of the queue. A DONE record met here was cancelled while queued. */
static struct weft__task *ready_unlink_head(weft_runtime *rt)
{
    struct weft__task *t = weft__task_at(rt, rt->ready_head - 1);
    rt->ready_head = t->next;
    if (rt->ready_head == 0) rt->ready_tail = 0;
    t->next = 0;
    t->flags &= (uint8_t)~WEFT__TASK_QUEUED;
    rt->ready_len--;
    return t;
}

/* Takes the next READY task off the ready queue, or returns NULL if there is none. */
static struct weft__task *ready_pop(weft_runtime *rt)
{
    while (rt->ready_head != 0) {
        struct weft__task *t = ready_unlink_head(rt);
        if (t->state == WEFT__TASK_READY) return t;
        if (t->flags & WEFT__TASK_DETACHED) record_free(rt, t);
    }
    return NULL;
}

/* weft__task_wake, inline into weft_waker_wake: a channel wake-up is then one call. */
static inline void task_wake(weft_runtime *rt, struct weft__task *t)
{
    if (t->state == WEFT__TASK_WAITING) {
        WEFT__TRACE(rt, wake, t);
        t->state = WEFT__TASK_READY;
        ready_push(rt, t);
    } else if (t->state == WEFT__TASK_RUNNING) {
        t->flags |= WEFT__TASK_WOKEN;
    }
    /* READY: already queued. DONE: nothing to do. */
}

void weft__task_wake(weft_runtime *rt, struct weft__task *t)
{
    task_wake(rt, t);
}

void weft_waker_wake(weft_runtime *rt, weft_waker w)
{
    if (w.slot >= weft__table_cap(&rt->tasks)) return;
    struct weft__task *t = weft__task_at(rt, w.slot);
    /* gen 0 is WEFT_WAKER_NONE's ({0, 0}); a FREE record's gen has moved past its wakers'. */
    if (t->gen == w.gen && w.gen != 0) task_wake(rt, t);
}

void weft__task_timer_fired(weft_runtime *rt, weft__timer *timer)
{
    struct weft__task *t =
        (struct weft__task *)(void *)((char *)timer - offsetof(struct weft__task, timer));
    WEFT__TRACE(rt, timer, t);
    weft__task_wake(rt, t);
}

/* ---------------------------------------------------------------------------------------------
 * Spawning
 * ------------------------------------------------------------------------------------------- */

int weft_task_spawn(weft_runtime *rt, weft_co_fn fn, void *frame, weft_task *task)
{
    if (fn == NULL || frame == NULL) return -EINVAL;
    if (rt->closing) return -ECANCELED;
    struct weft__task *t = record_alloc(rt);
    if (t == NULL) return -ENOMEM;
    weft_co_init((weft_co *)frame);
    t->u.fn = fn;
    t->frame = frame;
    t->joiner = WEFT_WAKER_NONE;
    t->site = NULL;
    t->flags = task == NULL ? WEFT__TASK_DETACHED : 0;
    t->state = WEFT__TASK_READY;
    ready_push(rt, t);
    rt->live_tasks++;
    WEFT__TRACE(rt, spawn, t);
    if (task != NULL) {
        task->slot = t->slot;
        task->gen = t->gen;
    }
    return 0;
}

void *weft_task_spawn_new(weft_runtime *rt, weft_co_fn fn, size_t frame_size, weft_task *task)
{
    if (frame_size < sizeof(weft_co)) return NULL;
    void *frame = calloc(1, frame_size);
    if (frame == NULL) return NULL;
    weft_task handle;
    if (weft_task_spawn(rt, fn, frame, &handle) < 0) {
        free(frame);
        return NULL;
    }
    struct weft__task *t = weft__task_at(rt, handle.slot);
    t->flags |= WEFT__TASK_OWNS_FRAME;
    if (task != NULL)
        *task = handle;
    else
        t->flags |= WEFT__TASK_DETACHED;
    return frame;
}

/* ---------------------------------------------------------------------------------------------
 * Finishing, collecting, detaching
 * ------------------------------------------------------------------------------------------- */

/*
 * The end of a task, however it ended. The order matters: first everything the runtime holds
 * on the task's behalf is released (its timer), then the frame the runtime allocated is freed,
 * and only then is the joiner told. The fd waiter slots need no visit: they hold wakers, which
 * go stale on their own now that the task is DONE.
 */
static void finish(weft_runtime *rt, struct weft__task *t, int result)
{
    WEFT__TRACE(rt, done, t, result);
    if (rt->ext != NULL) weft__ext_task_done(rt, t->slot); /* breadth: drop its waits */
    weft__timerq_cancel(rt->timers, &t->timer);
    if (t->flags & WEFT__TASK_OWNS_FRAME) free(t->frame);
    t->frame = NULL;
    t->u.result = result;
    t->state = WEFT__TASK_DONE;
    t->flags &= (uint8_t) ~(WEFT__TASK_WOKEN | WEFT__TASK_CANCEL | WEFT__TASK_OWNS_FRAME);
    rt->live_tasks--;
    weft_waker joiner = t->joiner;
    t->joiner = WEFT_WAKER_NONE;
    if (t->flags & WEFT__TASK_DETACHED) {
        if (!(t->flags & WEFT__TASK_QUEUED)) record_free(rt, t);
    } else {
        rt->done_tasks++;
    }
    weft_waker_wake(rt, joiner);
}

/* Takes the result of a DONE, joinable task and frees its record (later, if still queued). */
static int collect(weft_runtime *rt, struct weft__task *t)
{
    int result = t->u.result;
    rt->done_tasks--;
    if (t->flags & WEFT__TASK_QUEUED)
        t->flags |= WEFT__TASK_DETACHED; /* ready_pop frees it */
    else
        record_free(rt, t);
    return result;
}

/* True if w names a task that has not finished. */
static bool waker_live(const weft_runtime *rt, weft_waker w)
{
    struct weft__task *t = weft__task_lookup(rt, w.slot, w.gen);
    return t != NULL && t->state != WEFT__TASK_DONE;
}

int weft_task_join(weft_task handle, weft_cx *cx)
{
    weft_runtime *rt = cx->rt;
    struct weft__task *t = weft__task_lookup(rt, handle.slot, handle.gen);
    if (t == NULL || (t->flags & WEFT__TASK_DETACHED)) return -ESRCH;
    if (t == cx->task) return -EDEADLK;
    if (t->state == WEFT__TASK_DONE) return collect(rt, t);
    if (waker_live(rt, t->joiner) && !weft_waker_equal(t->joiner, cx->waker)) return -EBUSY;
    t->joiner = cx->waker;
    WEFT__TRACE(rt, join_wait, t);
    return WEFT_PENDING;
}

int weft_task_result(weft_runtime *rt, weft_task handle)
{
    struct weft__task *t = weft__task_lookup(rt, handle.slot, handle.gen);
    if (t == NULL || (t->flags & WEFT__TASK_DETACHED)) return -ESRCH;
    if (t->state != WEFT__TASK_DONE) return -EAGAIN;
    return collect(rt, t);
}

void weft_task_detach(weft_runtime *rt, weft_task handle)
{
    struct weft__task *t = weft__task_lookup(rt, handle.slot, handle.gen);
    if (t == NULL || (t->flags & WEFT__TASK_DETACHED)) return;
    t->flags |= WEFT__TASK_DETACHED;
    weft_waker joiner = t->joiner;
    t->joiner = WEFT_WAKER_NONE;
    if (t->state == WEFT__TASK_DONE) {
        rt->done_tasks--;
        if (!(t->flags & WEFT__TASK_QUEUED)) record_free(rt, t);
    }
    weft_waker_wake(rt, joiner); /* its join now fails with -ESRCH */
}

/* ---------------------------------------------------------------------------------------------
 * Polling and cancelling
 * ------------------------------------------------------------------------------------------- */

/* Polls t's coroutine once with a fresh context, and notes where it suspended. */
static int poll_once(weft_runtime *rt, struct weft__task *t, weft_cx *cx)
{
    struct weft__task *outer = rt->running;
    cx->rt = rt;
    cx->task = t;
    cx->waker = waker_of(t);
    cx->deadline = WEFT_NO_DEADLINE;
    cx->budget = WEFT_RUNTIME_BUDGET;
    t->state = WEFT__TASK_RUNNING;
    rt->running = t;
    weft_co_site_clear();
    WEFT__TRACE(rt, poll_start, t);
    int r = t->u.fn(t->frame, cx);
    if (r == WEFT_PENDING) t->site = weft_co_site_where();
    WEFT__TRACE(rt, poll_end, t, r, cx);
    rt->running = outer;
    return r;
}

/*
 * Arms the task's one timer for the earliest deadline its leaf operations asked for in the poll
 * that just returned, or disarms it if they asked for none. Re-deciding after every poll (rather
 * than leaving it to each operation) means a deadline that is no longer awaited — a branch of a
 * select that lost, a wait that completed — can never keep a timer armed.
 */
static void rearm_timer(weft_runtime *rt, struct weft__task *t, int64_t deadline)
{
    if (deadline == WEFT_NO_DEADLINE) {
        if (t->timer.pos != 0) /* weft__timerq_queued, without the call: the common case */
            weft__timerq_cancel(rt->timers, &t->timer);
        return;
    }
    if (weft__timerq_queued(&t->timer) && t->timer.deadline == deadline) return;
    if (weft__timerq_add(rt->timers, &t->timer, deadline) < 0)
        t->flags |= WEFT__TASK_WOKEN; /* out of memory: poll again rather than sleep forever */
}

/*
 * Runs t's cleanup (if it is suspended) and finishes it with -ECANCELED. t is not RUNNING, but
 * another task may be: a task that cancels another runs the victim's cleanup poll inside its own
 * poll. So the suspension site recorded so far for the outer poll is put back afterwards.
 */
static void cancel_now(weft_runtime *rt, struct weft__task *t)
{
    WEFT__TRACE(rt, cancel, t);
    if (weft_co_cancel((weft_co *)t->frame)) {
        const weft_co_site *outer_site = weft_co_site_where();
        weft_cx cx;
        (void)poll_once(rt, t, &cx); /* the cleanup poll: returns -ECANCELED, never pending */
        weft_co_site_restore(outer_site);
    }
    finish(rt, t, -ECANCELED);
}

/* Polls one task once (it has just been taken off the ready queue) and files it by the result. */
static void task_run(weft_runtime *rt, struct weft__task *t)
{
    weft_cx cx;
    int r = poll_once(rt, t, &cx);
    if (r != WEFT_PENDING) {
        finish(rt, t, r);
        return;
    }
    if (t->flags & WEFT__TASK_CANCEL) {
        t->flags &= (uint8_t) ~(WEFT__TASK_CANCEL | WEFT__TASK_WOKEN);
        cancel_now(rt, t);
        return;
    }
    t->state = WEFT__TASK_WAITING;
    rearm_timer(rt, t, cx.deadline);
    if (rt->ext != NULL) weft__waitq_after_poll(rt, t->slot); /* lapse unrenewed waits */
    if (t->flags & WEFT__TASK_WOKEN) {
        t->flags &= (uint8_t)~WEFT__TASK_WOKEN;
        weft__task_wake(rt, t);
    }
}

int weft_task_cancel(weft_runtime *rt, weft_task handle)
{
    struct weft__task *t = weft__task_lookup(rt, handle.slot, handle.gen);
    if (t == NULL || t->state == WEFT__TASK_DONE) return 0;
    if (t->state == WEFT__TASK_RUNNING) {
        t->flags |= WEFT__TASK_CANCEL;
        return 1;
    }
    cancel_now(rt, t);
    return 1;
}

size_t weft__tasks_run_ready(weft_runtime *rt, size_t max)
{
    size_t n = 0;
    while (n < max && !rt->stop) {
        struct weft__task *t = ready_pop(rt);
        if (t == NULL) break;
        task_run(rt, t);
        n++;
    }
    return n;
}

size_t weft__task_cancel_all(weft_runtime *rt)
{
    size_t n = 0;
    uint32_t cap = weft__table_cap(&rt->tasks);
    for (uint32_t slot = 0; slot < cap; slot++) {
        struct weft__task *t = weft__task_at(rt, slot);
        if (t->state == WEFT__TASK_READY || t->state == WEFT__TASK_WAITING) {
            cancel_now(rt, t);
            n++;
        }
    }
    return n;
}
