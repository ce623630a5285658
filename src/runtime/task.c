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
 * when it is READY, which is what makes a double wake-up queue a task only once — or when it is
 * DONE with the QUEUED flag: a task cancelled while queued stays in the queue until the loop
 * reaches it (unlinking from the middle of a singly linked list would cost a walk), and the
 * record is only freed once it is out of the queue. So the queue never holds a freed record, and
 * never needs to grow: `next` is its storage. (Its generation moves on as soon as nobody can
 * collect it any more, so handles to it go stale then: see record_release.)
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

/* The generation after gen: never 0, which no record has. */
static uint32_t next_gen(uint32_t gen)
{
    return gen == UINT32_MAX ? 1 : gen + 1;
}

/* Returns a record to the free list. Its generation moves on, so every old handle goes stale. */
static void record_free(weft_runtime *rt, struct weft__task *t)
{
    t->gen = next_gen(t->gen);
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

/* ---------------------------------------------------------------------------------------------
 * The ready queue and wake-ups
 * ------------------------------------------------------------------------------------------- */

/*
 * Puts t, READY, at the back of the ready queue. The queue holds record pointers (records never
 * move), so only the link inside a record is a slot number: no record has room for a pointer.
 * The queue ends at ready_tail, whose link is left as it was: nothing reads it.
 */
static inline void ready_push(weft_runtime *rt, struct weft__task *t)
{
    t->state = WEFT__TASK_READY;
    if (rt->ready_head != NULL)
        rt->ready_tail->next = t->slot + 1;
    else
        rt->ready_head = t;
    rt->ready_tail = t;
    rt->ready_len++;
}

/*
 * Lets go of a DONE record that nobody will collect (detached, or collected just now). Freed at
 * once, unless it is still in the ready queue (cancelled while queued): ready_pop frees it when
 * the loop reaches it. Its generation moves on now all the same, so every handle is stale from
 * this moment (weft_task_inspect says -ESRCH, the dump skips it), not from when the loop gets
 * there; only the queue still reaches the record, by pointer.
 */
static void record_release(weft_runtime *rt, struct weft__task *t)
{
    t->flags |= WEFT__TASK_DETACHED;
    if (t->flags & WEFT__TASK_QUEUED)
        t->gen = next_gen(t->gen);
    else
        record_free(rt, t);
}

/* Takes the next READY task off the ready queue, or returns NULL if there is none. */
static struct weft__task *ready_pop(weft_runtime *rt)
{
    struct weft__task *t;
    while ((t = rt->ready_head) != NULL) {
        rt->ready_head = t != rt->ready_tail ? weft__task_at(rt, t->next - 1) : NULL;
        rt->ready_len--;
        if (!WEFT__UNLIKELY(t->state != WEFT__TASK_READY)) return t;
        /* DONE: cancelled while queued. */
        t->flags &= (uint8_t)~WEFT__TASK_QUEUED;
        if (t->flags & WEFT__TASK_DETACHED) record_free(rt, t);
    }
    return NULL;
}

/* weft__task_wake, inline into weft_waker_wake and the executor. (Out of line for the other
 * files: inline, it made the channel operations that wake by pointer longer than the call.) */
static inline void task_wake(weft_runtime *rt, struct weft__task *t)
{
    if (t->state == WEFT__TASK_WAITING) {
        ready_push(rt, t);
        WEFT__TRACE(rt, wake, t); /* last: a call in tail position needs no registers saved */
    } else if (t->state == WEFT__TASK_RUNNING) {
        t->flags |= WEFT__TASK_WOKEN; /* queued again when its poll returns */
    }
    /* READY: already queued. DONE: nothing to do. */
}

void weft__task_wake(weft_runtime *rt, struct weft__task *t)
{
    task_wake(rt, t);
}

void weft_waker_wake(weft_runtime *rt, weft_waker w)
{
    /* No test for WEFT_WAKER_NONE ({0, 0}): no record has generation 0, so it matches none. */
    uint32_t chunk = w.slot / WEFT__CHUNK;
    if (chunk >= rt->tasks.nchunks) return;
    struct weft__task *t = (struct weft__task *)rt->tasks.chunks[chunk] + w.slot % WEFT__CHUNK;
    if (t->gen == w.gen) task_wake(rt, t);
}

void weft__task_timer_fired(weft_runtime *rt, weft__timer *timer)
{
    struct weft__task *t =
        (struct weft__task *)(void *)((char *)timer - offsetof(struct weft__task, timer));
    WEFT__TRACE(rt, timer, t);
    task_wake(rt, t);
}

/* ---------------------------------------------------------------------------------------------
 * Spawning
 * ------------------------------------------------------------------------------------------- */

/*
 * Grows the joiner table to cover t's slot (t is being spawned joinable), so that a join never
 * has to allocate. Returns 0 or -ENOMEM.
 */
static int joiners_cover(weft_runtime *rt, const struct weft__task *t)
{
    if (t->slot < rt->joiners_cap) return 0;
    uint32_t cap = weft__table_cap(&rt->tasks); /* doubling at least: amortised O(1) per spawn */
    if (rt->joiners_cap <= UINT32_MAX / 2 && cap < 2 * rt->joiners_cap) cap = 2 * rt->joiners_cap;
    weft_waker *j = realloc(rt->joiners, (size_t)cap * sizeof *j);
    if (j == NULL) return -ENOMEM;
    rt->joiners = j;
    rt->joiners_cap = cap;
    return 0;
}

/* weft_task_spawn, with the record kept: *out (NULL on failure). flags: the record's first
 * flags (WEFT__TASK_DETACHED, WEFT__TASK_OWNS_FRAME). Returns 0 or a negative errno. */
static inline int spawn(weft_runtime *rt, weft_co_fn fn, void *frame, uint8_t flags,
                        struct weft__task **out)
{
    *out = NULL;
    if (fn == NULL || frame == NULL) return -EINVAL;
    if (rt->closing) return -ECANCELED;
    struct weft__task *t = record_alloc(rt);
    if (t == NULL) return -ENOMEM;
    if (!(flags & WEFT__TASK_DETACHED) && joiners_cover(rt, t) < 0) {
        record_free(rt, t);
        return -ENOMEM;
    }
    weft_co_init((weft_co *)frame);
    t->u.fn = fn;
    t->frame = frame;
    t->site = NULL;
    t->flags = flags;
    ready_push(rt, t);
    rt->live_tasks++;
    WEFT__TRACE(rt, spawn, t);
    *out = t;
    return 0;
}

int weft_task_spawn(weft_runtime *rt, weft_co_fn fn, void *frame, weft_task *task)
{
    struct weft__task *t;
    int r = spawn(rt, fn, frame, task == NULL ? WEFT__TASK_DETACHED : 0, &t);
    if (r == 0 && task != NULL) {
        task->slot = t->slot;
        task->gen = t->gen;
    }
    return r;
}

void *weft_task_spawn_new(weft_runtime *rt, weft_co_fn fn, size_t frame_size, weft_task *task)
{
    if (frame_size < sizeof(weft_co)) return NULL;
    void *frame = calloc(1, frame_size);
    if (frame == NULL) return NULL;
    uint8_t flags = WEFT__TASK_OWNS_FRAME | (task == NULL ? WEFT__TASK_DETACHED : 0);
    struct weft__task *t;
    if (spawn(rt, fn, frame, flags, &t) < 0) {
        free(frame);
        return NULL;
    }
    if (task != NULL) {
        task->slot = t->slot;
        task->gen = t->gen;
    }
    return frame;
}

/* ---------------------------------------------------------------------------------------------
 * Finishing, collecting, detaching
 * ------------------------------------------------------------------------------------------- */

/* The waker of the task joining t, which no longer does (WEFT_WAKER_NONE if none did). */
static weft_waker take_joiner(weft_runtime *rt, struct weft__task *t)
{
    if (!(t->flags & WEFT__TASK_JOINED)) return WEFT_WAKER_NONE;
    t->flags &= (uint8_t)~WEFT__TASK_JOINED;
    return rt->joiners[t->slot];
}

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
    weft_waker joiner = take_joiner(rt, t);
    if (t->flags & WEFT__TASK_DETACHED) {
        record_release(rt, t);
    } else {
        rt->done_tasks++;
    }
    weft_waker_wake(rt, joiner);
}

/* Takes the result of a DONE, joinable task and lets go of its record. */
static int collect(weft_runtime *rt, struct weft__task *t)
{
    int result = t->u.result;
    rt->done_tasks--;
    record_release(rt, t);
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
    weft_waker *joiner = &rt->joiners[t->slot]; /* joinable: covered since its spawn */
    if ((t->flags & WEFT__TASK_JOINED) && waker_live(rt, *joiner) &&
        !weft_waker_equal(*joiner, cx->waker))
        return -EBUSY;
    *joiner = cx->waker;
    t->flags |= WEFT__TASK_JOINED;
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
    weft_waker joiner = take_joiner(rt, t);
    if (t->state == WEFT__TASK_DONE) {
        rt->done_tasks--;
        record_release(rt, t);
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
    cx->waker = t->self;
    cx->deadline = WEFT_NO_DEADLINE;
    cx->budget = WEFT_RUNTIME_BUDGET;
    cx->flags = 0;
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
    if (t->state == WEFT__TASK_READY) t->flags |= WEFT__TASK_QUEUED; /* it stays queued, DONE */
    if (weft_co_cancel((weft_co *)t->frame)) {
        const weft_co_site *outer_site = weft_co_site_where();
        weft_cx cx;
        (void)poll_once(rt, t, &cx); /* the cleanup poll: returns -ECANCELED, never pending */
        weft_co_site_restore(outer_site);
    }
    finish(rt, t, -ECANCELED);
}

/*
 * Whether a pending poll of t, whose context flags are cx_flags, left waits to lapse: nodes, or
 * a fast slot it did not renew (the two flags share a bit: see WEFT__CX_RENEWED).
 */
static inline uint32_t waits_to_lapse(const struct weft__task *t, uint32_t cx_flags)
{
    return (t->flags & WEFT__TASK_NODES) | (t->flags & WEFT__TASK_SOLO & ~cx_flags);
}

/*
 * The rest of a pending poll's bookkeeping when anything is unusual: t was cancelled or woken
 * during its poll or yielded, a deadline is asked for or still armed, or waits may lapse. In this
 * order: a cancelled task goes no further; the timer is re-decided (which may mark t WOKEN if it
 * cannot be armed); the waits not renewed lapse (which may wake others first); and a woken t is
 * queued last.
 */
static WEFT__NOINLINE void after_pending_poll(weft_runtime *rt, struct weft__task *t,
                                              int64_t deadline, uint32_t cx_flags)
{
    if (t->flags & WEFT__TASK_CANCEL) {
        t->flags &= (uint8_t) ~(WEFT__TASK_CANCEL | WEFT__TASK_WOKEN);
        cancel_now(rt, t);
        return;
    }
    t->state = WEFT__TASK_WAITING;
    rearm_timer(rt, t, deadline);
    if (waits_to_lapse(t, cx_flags) != 0) weft__waitq_lapse(rt, t, cx_flags);
    if ((t->flags & WEFT__TASK_WOKEN) | (cx_flags & WEFT__CX_YIELD)) {
        t->flags &= (uint8_t)~WEFT__TASK_WOKEN;
        task_wake(rt, t);
    }
}

/*
 * Polls one task once (it has just been taken off the ready queue) and files it by the result.
 * The executor's own poll_once: no poll is running around it (rt->running is NULL), and cx is
 * the loop's, kept from poll to poll with rt set and deadline at its resting value
 * (WEFT_NO_DEADLINE), so that only what changes is written; a poll that changed it puts it back.
 */
static void task_run(weft_runtime *rt, struct weft__task *t, weft_cx *cx)
{
    cx->task = t;
    cx->waker = t->self;
    cx->budget = WEFT_RUNTIME_BUDGET;
    cx->flags = 0;
    t->state = WEFT__TASK_RUNNING;
    rt->running = t;
    weft_co_site_clear();
    WEFT__TRACE(rt, poll_start, t);
    int r = t->u.fn(t->frame, cx);
    if (r != WEFT_PENDING) {
        WEFT__TRACE(rt, poll_end, t, r, cx);
        rt->running = NULL;
        cx->deadline = WEFT_NO_DEADLINE;
        finish(rt, t, r);
        return;
    }
    t->site = weft_co_site_where();
    WEFT__TRACE(rt, poll_end, t, r, cx);
    rt->running = NULL;
    /* The common case in one test: no flag (cancelled, woken), no deadline asked for, no timer
     * armed, no wait to lapse. Nothing can then mark t WOKEN (a wake-up finds it WAITING and
     * queues it). */
    int64_t deadline = cx->deadline;
    uint32_t cx_flags = cx->flags;
    if (WEFT__UNLIKELY(((t->flags & (WEFT__TASK_CANCEL | WEFT__TASK_WOKEN)) |
                        waits_to_lapse(t, cx_flags)) != 0 ||
                       deadline != WEFT_NO_DEADLINE || t->timer.pos != 0)) {
        cx->deadline = WEFT_NO_DEADLINE;
        after_pending_poll(rt, t, deadline, cx_flags);
        return;
    }
    t->state = WEFT__TASK_WAITING;
    if (cx_flags & WEFT__CX_YIELD) task_wake(rt, t); /* WEFT_TASK_YIELD: queued last */
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
    size_t left = max;
    weft_cx cx = {.rt = rt, .deadline = WEFT_NO_DEADLINE}; /* see task_run */
    while (left != 0 && !rt->stop) {
        struct weft__task *t = ready_pop(rt);
        if (t == NULL) break;
        task_run(rt, t, &cx);
        left--;
    }
    return max - left;
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
