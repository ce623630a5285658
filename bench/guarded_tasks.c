/*
 * guarded_tasks: what weft's guarantees cost, one at a time — a ladder from bare_tasks' ping-pong
 * (workload 5's floor) up to a hand-written loop that keeps every guarantee weft's channel
 * ping-pong keeps. Built once per rung with -DLEVEL=n into guarded_tasks_L<n>:
 *
 *   guarded_tasks_L<n> [--tasks N] [--yields Y] [--rounds R]      (n = 1..7)
 *
 * Only the ping-pong is measured (--tasks and --yields are accepted and ignored, so that the
 * harness runs every program of workload 5 with the same options). Each rung is the cheapest
 * correct way found to write its guarantee, not weft's code: it is a lower bound for any runtime
 * that keeps these guarantees, so the distance from L7 to weft is weft's implementation, and the
 * distance from L0 to L7 is the price of the guarantees themselves. Everything is in this one
 * file (the compiler may inline all of it, which a library cannot), with globals for the loop's
 * state, as in bare_tasks. The rungs are cumulative:
 *
 *   L0 floor       bare_tasks itself (bench/bare_tasks.c, not built from this file): a task header
 *                  in the frame, a ready queue of pointers, a channel that holds a pointer to its
 *                  one waiting receiver / sender.
 *   L1 handles     task records live in a runtime-owned table (chunks of 256 records that never
 *                  move), apart from the frames; a waker is {slot, generation}, resolved through
 *                  the table and checked, so a stale one does nothing. A channel reaches its wait
 *                  state through a pointer to a queue record plus a {slot, generation} handle
 *                  checked on each operation (weft__waitq_cached); the closed flag is tested on
 *                  each operation and the coroutine checks each result for an error.
 *                  Minimal: the ready queue links by pointer (a record has room), a waiter is
 *                  tested for "none" before it is resolved.
 *   L2 executor    task states READY / RUNNING / WAITING / DONE: a wake queues only a WAITING task
 *                  and marks a RUNNING one WOKEN (so a double wake queues once, a self-wake is
 *                  not lost); a cancel flag, and a queue pop that skips a task cancelled while
 *                  queued; a per-poll context (task, waker, deadline at rest, budget from L3)
 *                  written each poll; after a pending poll one test of "a flag, a deadline asked
 *                  for, a timer armed"; a stop flag tested each iteration. Minimal: the context
 *                  lives across polls, so only what changes is written.
 *   L3 budget      at most 64 channel operations complete per poll: one unit taken per operation;
 *                  out of budget, the task keeps its place, wakes itself and returns pending.
 *   L4 turns       FIFO order: an arrival gives a turn to the waiter that holds none and wakes
 *                  it; anyone else may take only units beyond the reserved one; a waiter served
 *                  uses its turn up, and a task that finishes gives its registration (and turn)
 *                  up — else a turn given to a task that is gone is stranded. That needs the
 *                  task to know where it waits (one field in its record), and it means no
 *                  waiter outlives its registration, so the queue may hold it by pointer, as
 *                  weft's fast slot does: a wake no longer resolves a waker. One waiter per queue
 *                  (weft's fast slot), so its flags are the whole state (reserved = "holds the
 *                  turn"); a second waiter is refused (weft would give it a node), which this
 *                  benchmark never needs.
 *   L5 lapse       a registration not renewed in its task's next poll is dropped after that
 *                  poll, passing its turn on: a per-task "not renewed yet" mark, set after every
 *                  pending poll, cleared by a renewal, tested after the next pending poll.
 *   L6 introspect  a trace hook (one pointer test) before and after each poll, at each wake and
 *                  at each park; the suspension site (a static record per suspension point,
 *                  first noted wins, as weft's nested coroutines need) kept in the task record
 *                  after each pending poll. GUARDED_TRACE=1 in the environment turns the hooks
 *                  on (they count), which is how they are checked.
 *   L7 the pass    I/O and timers are not starved by busy tasks: after 1024 polls the loop
 *                  looks at epoll (epoll_wait with timeout 0), the clock and the timer queue, as
 *                  weft_runtime_run does between passes (WEFT__PASS_POLLS). Not a guarantee a
 *                  channel gives, but src/runtime/runtime.c shows the pass is paid by
 *                  weft's ping-pong (a syscall every 1024 polls, counted in CPU time though not
 *                  by callgrind), so the ladder's top keeps it too.
 *
 * Not counted as guarantees, so on no rung: weft's channels take items of any size (memcpy by
 * item_size); weft's channel operations and coroutine are separately compiled calls. Built with
 * -DOPS_OUT_OF_LINE=1 (the target guarded_tasks_L7_ool: L7 so built), rungs L1 and up keep their
 * channel operations out of line, as a library's are: that prices the call boundary on its own.
 *
 * Correctness: each rung checks the ball count (exit 1 on a mismatch, as bare_tasks does), and
 * before timing runs a few small checks of its cold paths (a closed channel, a cancel, a stop,
 * the budget, a turn held against a later arrival, a lapse). Every loop is bounded by its count.
 */
#define _GNU_SOURCE
#include "bench_common.h"

#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>

#ifndef LEVEL
#define LEVEL 7
#endif

/* The state machines below fall into their case labels on purpose. */
#if defined(__has_attribute)
#if __has_attribute(fallthrough)
#define FALLTHROUGH __attribute__((fallthrough))
#endif
#if __has_attribute(noinline)
#define NOINLINE __attribute__((noinline))
#endif
#endif
#ifndef FALLTHROUGH
#define FALLTHROUGH ((void)0)
#endif
#ifndef NOINLINE
#define NOINLINE
#endif
#if defined(__GNUC__) || defined(__clang__)
#define UNLIKELY(x) __builtin_expect(!!(x), 0)
#else
#define UNLIKELY(x) (x)
#endif

/* This thread's CPU time in seconds (as weft_tasks and bare_tasks measure). */
static double cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

#if LEVEL < 1 || LEVEL > 7
#error "LEVEL is 1..7 (L0 is bench/bare_tasks.c)"
#endif

/* ================================================================================================
 * Records in tables, wakers by handle, and whatever the rung adds.
 * ============================================================================================== */

enum { PENDING = INT_MIN, ECLOSED = -1000, ESECOND = -1001 };

static void check(bool ok, const char *what)
{
    if (ok) return;
    fprintf(stderr, "guarded_tasks_L%d: check failed: %s\n", LEVEL, what);
    exit(1);
}

#define CHUNK       256u /* records per table chunk: a chunk never moves */
#define NO_DEADLINE INT64_MAX
#define BUDGET      64u   /* channel operations per poll */
#define PASS_POLLS  1024u /* polls between two looks at I/O and timers */

/* A table of records that never move: chunks of CHUNK records, found by slot / CHUNK. */
struct table {
    void **chunks;
    uint32_t nchunks, used;
};

/* The record at slot (below the table's capacity), records of `size` bytes. */
static void *table_at(const struct table *t, size_t size, uint32_t slot)
{
    return (char *)t->chunks[slot / CHUNK] + (size_t)(slot % CHUNK) * size;
}

/* Takes the next unused record (zeroed), adding a chunk when needed. Returns its slot. */
static uint32_t table_take(struct table *t, size_t size)
{
    if (t->used == t->nchunks * CHUNK) {
        void **chunks = realloc(t->chunks, (t->nchunks + 1) * sizeof *chunks);
        if (chunks == NULL) bench_die("realloc");
        t->chunks = chunks;
        /* Aligned to a cache line: a 64-byte record then never straddles two. */
        t->chunks[t->nchunks] = aligned_alloc(64, CHUNK * size);
        if (t->chunks[t->nchunks] == NULL) bench_die("aligned_alloc");
        memset(t->chunks[t->nchunks], 0, CHUNK * size);
        t->nchunks++;
    }
    return t->used++;
}

struct waker {
    uint32_t slot, gen; /* gen 0: none (no record has generation 0) */
};

struct cx;
typedef int (*poll_fn)(void *frame, struct cx *cx); /* PENDING, or the result (< 0: error) */

#if LEVEL >= 6
/* A suspension site: one static record per suspension point. */
struct site {
    const char *file, *func;
    int line;
};
#endif

/* A task record: the runtime's, never in a frame. */
struct rec {
    poll_fn fn;
    void *frame;
    struct rec *next; /* ready queue link */
    uint32_t slot, gen;
    int result; /* once finished */
#if LEVEL >= 2
    uint32_t timer_pos; /* the task's timer: 0 while not armed (this file never arms it) */
    uint8_t state;      /* S_* */
    uint8_t flags;      /* F_* */
#endif
#if LEVEL >= 4
    uint32_t solo; /* the queue whose one waiter slot this task holds: slot + 1, 0 = none */
#endif
#if LEVEL >= 5
    uint32_t stale; /* = solo after a pending poll until renewed or served; lapses if still set */
#endif
#if LEVEL >= 6
    const struct site *site; /* where it last suspended */
#endif
};

/* A task record's stride in its table: a power of two, so that resolving a waker is a shift. */
#define REC_BYTES 64u
_Static_assert(sizeof(struct rec) <= REC_BYTES, "a task record fits its stride");

#if LEVEL >= 2
enum { S_FREE, S_READY, S_RUNNING, S_WAITING, S_DONE };
enum { F_WOKEN = 1u << 0, F_CANCEL = 1u << 1 };
#define LC_CANCEL 100 /* a coroutine's resume point when it is to run its cleanup */
#endif

/* The per-poll context. */
struct cx {
    struct rec *task;
#if LEVEL >= 2
    struct waker self;
    int64_t deadline; /* earliest deadline an operation asked for in this poll */
#endif
#if LEVEL >= 3
    uint32_t budget;
#endif
#if LEVEL >= 6
    const struct site *site;
#endif
};

#if LEVEL >= 6
struct trace {
    long polls, wakes, waits;
};
#endif

/* The loop's state (one runtime, in globals as bare_tasks keeps its ready queue). */
static struct {
    struct rec *ready_head, *ready_tail;
    struct table tasks, queues;
#if LEVEL >= 2
    bool stop;
#endif
#if LEVEL >= 6
    struct trace *trace;
#endif
#if LEVEL >= 7
    int epfd;
    int64_t now;
    size_t timers; /* armed task timers (none here: the pass still looks) */
#endif
} rt;

static struct rec *task_at(uint32_t slot)
{
    return table_at(&rt.tasks, REC_BYTES, slot);
}

/* ---- L6: the trace hooks, out of line ------------------------------------------------------ */

#if LEVEL >= 6
#define TRACE(hook, arg)                                                                           \
    do {                                                                                           \
        if (UNLIKELY(rt.trace != NULL)) trace_##hook(arg);                                         \
    } while (0)

static NOINLINE void trace_poll_start(const struct rec *t)
{
    (void)t;
    rt.trace->polls++;
}

static NOINLINE void trace_poll_end(const struct rec *t)
{
    (void)t;
}

static NOINLINE void trace_wake(const struct rec *t)
{
    (void)t;
    rt.trace->wakes++;
}

static NOINLINE void trace_wait(uint32_t q_slot)
{
    (void)q_slot;
    rt.trace->waits++;
}

/* Notes "here" as the suspension site unless an inner suspension already did. */
#define SITE_NOTE(cx)                                                                              \
    do {                                                                                           \
        static const struct site site_ = {__FILE__, __func__, __LINE__};                           \
        if ((cx)->site == NULL) (cx)->site = &site_;                                               \
    } while (0)
#else
#define TRACE(hook, arg) ((void)0)
#define SITE_NOTE(cx)    ((void)0)
#endif

/* ---- the ready queue and wakes ------------------------------------------------------------- */

static void ready_push(struct rec *t)
{
#if LEVEL >= 2
    t->state = S_READY;
#endif
    t->next = NULL;
    if (rt.ready_tail != NULL)
        rt.ready_tail->next = t;
    else
        rt.ready_head = t;
    rt.ready_tail = t;
}

/* The next task to poll, or NULL. From L2, a task cancelled while queued (DONE) is skipped. */
static struct rec *ready_pop(void)
{
    struct rec *t;
    while ((t = rt.ready_head) != NULL) {
        rt.ready_head = t->next;
        if (rt.ready_head == NULL) rt.ready_tail = NULL;
#if LEVEL >= 2
        if (UNLIKELY(t->state != S_READY)) continue; /* DONE: cancelled while queued */
#endif
        return t;
    }
    return NULL;
}

/* Makes t runnable: from L2 only a WAITING task is queued; a RUNNING one is queued after its
 * poll. */
static void task_wake(struct rec *t)
{
#if LEVEL >= 2
    if (t->state == S_WAITING) {
        ready_push(t);
        TRACE(wake, t);
    } else if (t->state == S_RUNNING) {
        t->flags |= F_WOKEN;
    }
#else
    ready_push(t);
#endif
}

/* The record w names, or NULL if it is stale. */
static struct rec *waker_rec(struct waker w)
{
    uint32_t chunk = w.slot / CHUNK;
    if (chunk >= rt.tasks.nchunks) return NULL;
    struct rec *t = (struct rec *)((char *)rt.tasks.chunks[chunk] + w.slot % CHUNK * REC_BYTES);
    return t->gen == w.gen ? t : NULL;
}

#if LEVEL < 4
/* The polling task's waker (from L4 a queue holds its waiter by pointer). */
static struct waker self_waker(const struct cx *cx)
{
#if LEVEL >= 2
    return cx->self;
#else
    struct waker w = {cx->task->slot, cx->task->gen};
    return w;
#endif
}
#endif

/* ---- wait queues: one waiter each ---------------------------------------------------------- */

enum { WN_USED = 1u << 0, WN_ONE = 1u << 1 }; /* waiting; holds the turn */

/* A channel side's wait state: a record in the runtime's queue table. */
struct wq {
    uint32_t gen; /* bumped when closed; never 0 */
    uint32_t slot;
#if LEVEL >= 4
    struct rec *waiter; /* valid while flags != 0: a registration never outlives its task */
#else
    struct waker waiter; /* gen 0: none */
#endif
#if LEVEL >= 4
    uint8_t flags; /* WN_*: 0 = nobody waits */
#endif
};

struct qhandle {
    uint32_t slot, gen;
};

static struct wq *wq_at(uint32_t slot)
{
    return table_at(&rt.queues, sizeof(struct wq), slot);
}

/* The queue record rec if handle q still names it (weft__waitq_cached), else NULL: closed. */
static struct wq *wq_cached(struct wq *rec, struct qhandle q)
{
    return rec->gen == q.gen ? rec : NULL; /* rec: set at init, never NULL, never freed */
}

static struct qhandle wq_open(struct wq **rec)
{
    uint32_t slot = table_take(&rt.queues, sizeof(struct wq));
    struct wq *wq = wq_at(slot);
    wq->gen = 1;
    wq->slot = slot;
    *rec = wq;
    struct qhandle q = {slot, wq->gen};
    return q;
}

#if LEVEL >= 4
static bool wq_is_mine(const struct wq *wq, const struct cx *cx)
{
    return wq->waiter == cx->task;
}

/* Empties wq's waiter slot (served, lapsed, or gone): its turn, if any, goes with it. With one
 * waiter per queue there is nobody to pass it to: the reserved unit is free for anyone. */
static void wq_clear(struct wq *wq)
{
    wq->waiter->solo = 0;
#if LEVEL >= 5
    wq->waiter->stale = 0;
#endif
    wq->flags = 0;
}
#endif

/* Registers the polling task as wq's waiter, or renews its registration (keeping its turn).
 * Returns PENDING, or ESECOND if another task waits there (weft would give it a node). */
static int wq_park(struct wq *wq, struct cx *cx)
{
#if LEVEL >= 4
    if (wq->flags != 0) {
        if (!wq_is_mine(wq, cx)) return ESECOND;
#if LEVEL >= 5
        cx->task->stale = 0; /* renewed */
#endif
        TRACE(wait, wq->slot);
        return PENDING;
    }
    struct rec *t = cx->task;
    if (t->solo != 0) return ESECOND; /* it still waits elsewhere: weft gives it a node */
    t->solo = wq->slot + 1;
#if LEVEL >= 5
    t->stale = 0;
#endif
    wq->waiter = t;
    wq->flags = WN_USED;
#else
    wq->waiter = self_waker(cx);
#endif
    TRACE(wait, wq->slot);
    return PENDING;
}

/* A unit (an item, a free slot) arrived: the waiter, if it has no turn yet, gets it and wakes. */
static void wq_wake_one(struct wq *wq)
{
#if LEVEL >= 4
    if (wq->flags != WN_USED) return; /* nobody, or the waiter already holds the turn */
    wq->flags = WN_USED | WN_ONE;
    task_wake(wq->waiter);
#else
    struct waker w = wq->waiter;
    if (w.gen == 0) return;
    wq->waiter.gen = 0;
    struct rec *t = waker_rec(w);
    if (t != NULL) task_wake(t);
#endif
}

/* May the polling task take one of `avail` (>= 1) units of wq? A waiter served uses its turn
 * (and its registration) up; anyone else may take only what is not reserved. */
static bool wq_may_take(struct wq *wq, size_t avail, struct cx *cx)
{
#if LEVEL >= 4
    if (wq->flags == 0) return true;
    if (wq_is_mine(wq, cx)) {
        wq_clear(wq);
        return true;
    }
    return avail > (wq->flags & WN_ONE ? 1u : 0u);
#else
    (void)wq, (void)avail, (void)cx;
    return true;
#endif
}

/* The polling task gives up waiting on wq (closed): its registration goes, with its turn. */
static void wq_leave(struct wq *wq, struct cx *cx)
{
#if LEVEL >= 4
    if (wq->flags != 0 && wq_is_mine(wq, cx)) wq_clear(wq);
#else
    (void)wq, (void)cx;
#endif
}

/* ---- L3: the budget -------------------------------------------------------------------------- */

#if LEVEL >= 3
/* Out of budget with a unit to take: keep the place in wq (and a turn) and run again after the
 * others. */
static NOINLINE int out_of_budget(struct wq *wq, struct cx *cx)
{
    int r = wq_park(wq, cx);
    if (r != PENDING) return r;
    task_wake(cx->task); /* RUNNING: queued again after this poll */
    return PENDING;
}
#define BUDGET_CHECK(wq, cx)                                                                       \
    do {                                                                                           \
        if (UNLIKELY((cx)->budget == 0)) return out_of_budget((wq), (cx));                         \
    } while (0)
#define BUDGET_TAKE(cx) ((cx)->budget--)
#else
#define BUDGET_CHECK(wq, cx) ((void)0)
#define BUDGET_TAKE(cx)      ((void)0)
#endif

/* ---- channels of ints ------------------------------------------------------------------------ */

struct chan {
    int *buf;
    size_t cap, head, len;
    bool closed;
    struct wq *recv_rec, *send_rec; /* the queue records, cached at init */
    struct qhandle recvq, sendq;    /* checked on each operation: both close together */
};

static void chan_init(struct chan *ch, int *buf, size_t cap)
{
    *ch = (struct chan){.buf = buf, .cap = cap};
    ch->recvq = wq_open(&ch->recv_rec);
    ch->sendq = wq_open(&ch->send_rec);
}

/* Wakes wq's waiter, turn or not, to find the channel closed or gone. */
static void wq_wake_all(struct wq *wq)
{
#if LEVEL >= 4
    if (wq->flags != 0) task_wake(wq->waiter);
#else
    wq_wake_one(wq);
#endif
}

/* Closes ch: sends fail from now on, receives take what is left and then fail. The waiters are
 * woken to find that out. */
static void chan_close(struct chan *ch)
{
    ch->closed = true;
    wq_wake_all(ch->recv_rec);
    wq_wake_all(ch->send_rec);
}

/* Ends ch's queues: their generations move on, so every operation on ch now fails with ECLOSED
 * whatever ch's own fields say (a handle gone stale is never trusted). Waiters are woken and
 * their registrations dropped. */
static void chan_destroy(struct chan *ch)
{
    struct wq *q[2] = {ch->recv_rec, ch->send_rec};
    for (int i = 0; i < 2; i++) {
        wq_wake_all(q[i]);
#if LEVEL >= 4
        if (q[i]->flags != 0) wq_clear(q[i]);
#endif
        q[i]->gen++;
    }
}

#if defined(OPS_OUT_OF_LINE) && OPS_OUT_OF_LINE
#define OP_LINKAGE static NOINLINE
#else
#define OP_LINKAGE static
#endif

/* 0: sent; PENDING: full, the task waits; ECLOSED or ESECOND. */
OP_LINKAGE int chan_send(struct chan *ch, int v, struct cx *cx)
{
    struct wq *wq;
    if (ch->closed) {
        if ((wq = wq_cached(ch->send_rec, ch->sendq)) != NULL) wq_leave(wq, cx);
        return ECLOSED;
    }
    if ((wq = wq_cached(ch->send_rec, ch->sendq)) == NULL) return ECLOSED;
    if (ch->len == ch->cap) return wq_park(wq, cx);
    BUDGET_CHECK(wq, cx);
    if (!wq_may_take(wq, ch->cap - ch->len, cx)) return wq_park(wq, cx);
    BUDGET_TAKE(cx);
    size_t k = ch->head + ch->len;
    ch->buf[k >= ch->cap ? k - ch->cap : k] = v;
    ch->len++;
    wq_wake_one(ch->recv_rec);
    return 0;
}

/* 0: received into *v; PENDING: empty, the task waits; ECLOSED (closed and empty) or ESECOND. */
OP_LINKAGE int chan_recv(struct chan *ch, int *v, struct cx *cx)
{
    struct wq *wq = wq_cached(ch->recv_rec, ch->recvq);
    if (wq == NULL) return ECLOSED;
    if (ch->len == 0) {
        if (ch->closed) {
            wq_leave(wq, cx);
            return ECLOSED;
        }
        return wq_park(wq, cx);
    }
    BUDGET_CHECK(wq, cx);
    if (!wq_may_take(wq, ch->len, cx)) return wq_park(wq, cx);
    BUDGET_TAKE(cx);
    *v = ch->buf[ch->head];
    ch->head = ch->head + 1 == ch->cap ? 0 : ch->head + 1;
    ch->len--;
    wq_wake_one(ch->send_rec);
    return 0;
}

/* ---- tasks --------------------------------------------------------------------------------- */

/* Spawns fn on frame (its first member the resume point, 0 at the start). Returns its handle. */
static struct waker spawn(poll_fn fn, void *frame)
{
    uint32_t slot = table_take(&rt.tasks, REC_BYTES);
    struct rec *t = task_at(slot);
    t->slot = slot;
    t->gen = 1;
    t->fn = fn;
    t->frame = frame;
    ready_push(t);
    struct waker w = {t->slot, t->gen};
    return w;
}

#if LEVEL >= 5
/* The registration t still holds and did not renew in the poll that just returned: dropped. */
static NOINLINE void lapse(struct rec *t)
{
    struct wq *wq = wq_at(t->stale - 1);
    wq_clear(wq); /* clears t->solo and t->stale too */
}
#endif

/* t finished with result r (or was cancelled): DONE, and from L5 its registration is dropped. */
static void finish(struct rec *t, int r)
{
#if LEVEL >= 4
    if (t->solo != 0) wq_clear(wq_at(t->solo - 1)); /* a turn it held is free again */
#endif
    t->result = r;
#if LEVEL >= 2
    t->state = S_DONE;
    t->flags &= (uint8_t) ~(F_WOKEN | F_CANCEL);
#endif
}

/* Polls t once with the loop's context. */
static int poll_task(struct rec *t, struct cx *cx)
{
    cx->task = t;
#if LEVEL >= 2
    cx->self.slot = t->slot;
    cx->self.gen = t->gen;
    t->state = S_RUNNING;
#endif
#if LEVEL >= 3
    cx->budget = BUDGET;
#endif
#if LEVEL >= 6
    cx->site = NULL;
#endif
    TRACE(poll_start, t);
    int r = t->fn(t->frame, cx);
    TRACE(poll_end, t);
    return r;
}

#if LEVEL >= 2
/* Runs t's cleanup poll (it is not RUNNING) and finishes it with -ECANCELED. */
static void cancel_now(struct rec *t, struct cx *cx)
{
    /* A READY t stays queued: once DONE, ready_pop skips it. */
    *(int *)t->frame = LC_CANCEL;
    (void)poll_task(t, cx);
    finish(t, -ECANCELED);
}

/* Cancels the task h names: now, or when its own poll returns. */
static void cancel(struct waker h, struct cx *cx)
{
    struct rec *t = waker_rec(h);
    if (t == NULL || t->state == S_DONE) return;
    if (t->state == S_RUNNING)
        t->flags |= F_CANCEL;
    else
        cancel_now(t, cx);
}

/* The rest of a pending poll when anything is unusual: cancelled or woken during the poll, or a
 * deadline asked for or still armed (this file has no timers: a deadline only wakes at once). */
static NOINLINE void after_pending_slow(struct rec *t, struct cx *cx)
{
    int64_t deadline = cx->deadline;
    cx->deadline = NO_DEADLINE;
    if (t->flags & F_CANCEL) {
        t->flags &= (uint8_t) ~(F_CANCEL | F_WOKEN);
        t->state = S_WAITING;
        cancel_now(t, cx);
        return;
    }
    t->state = S_WAITING;
    if (deadline != NO_DEADLINE) t->flags |= F_WOKEN; /* no timers here: poll again at once */
#if LEVEL >= 5
    if (t->stale != 0) lapse(t);
    t->stale = t->solo;
#endif
    if (t->flags & F_WOKEN) {
        t->flags &= (uint8_t)~F_WOKEN;
        task_wake(t);
    }
}
#endif

/* Files t after a poll that returned r. Returns 1 if t finished. */
static int after_poll(struct rec *t, int r, struct cx *cx)
{
    if (r != PENDING) {
#if LEVEL >= 2
        cx->deadline = NO_DEADLINE;
#endif
        finish(t, r);
        return 1;
    }
#if LEVEL >= 6
    t->site = cx->site;
#endif
#if LEVEL >= 2
    if (UNLIKELY((t->flags & (F_CANCEL | F_WOKEN)) != 0 || cx->deadline != NO_DEADLINE ||
                 t->timer_pos != 0)) {
        after_pending_slow(t, cx);
        return 0;
    }
    t->state = S_WAITING;
#endif
#if LEVEL >= 5
    if (UNLIKELY(t->stale != 0)) lapse(t);
    t->stale = t->solo;
#endif
    (void)cx;
    return 0;
}

#if LEVEL >= 7
/* Between passes: a look at I/O (never blocking while tasks are ready), the clock, timers. */
static void pass_look(void)
{
    struct epoll_event ev[16];
    int n = epoll_wait(rt.epfd, ev, 16, 0);
    if (n < 0) bench_die("epoll_wait");
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    rt.now = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
    check(rt.timers == 0, "no timer is ever armed here");
}
#endif

/* Polls ready tasks (from L7 in passes of PASS_POLLS) until none is left or a stop. Returns how
 * many finished. */
static long run_pass(struct cx *cx, long *done)
{
    long polls = 0;
#if LEVEL >= 7
    for (size_t left = PASS_POLLS; left != 0 && !rt.stop; left--) {
#elif LEVEL >= 2
    while (!rt.stop) {
#else
    for (;;) {
#endif
        struct rec *t = ready_pop();
        if (t == NULL) break;
        *done += after_poll(t, poll_task(t, cx), cx);
        polls++;
    }
    return polls;
}

static long run(void)
{
    struct cx cx = {0};
#if LEVEL >= 2
    cx.deadline = NO_DEADLINE;
    rt.stop = false;
#endif
    long done = 0;
#if LEVEL >= 7
    while (run_pass(&cx, &done) == PASS_POLLS && !rt.stop)
        pass_look();
#else
    (void)run_pass(&cx, &done);
#endif
    return done;
}

/* The result of the finished task h (0 if it finished and returned 0; a negative error). */
static int task_result(struct waker h)
{
    struct rec *t = waker_rec(h);
    if (t == NULL) return -ESRCH;
#if LEVEL >= 2
    if (t->state != S_DONE) return -EAGAIN;
#endif
    return t->result;
}

/* ---- the ping-pong --------------------------------------------------------------------------- */

struct player {
    int lc; /* resume point: 0 at the start */
    struct chan *in, *out;
    long rounds; /* round trips left */
    int ball;
    bool serves; /* sends first */
};

/* Suspends at resume point n if r is PENDING; returns r if it is an error. */
#define AWAIT_OP(f, n, op)                                                                         \
    do {                                                                                           \
        (f)->lc = (n);                                                                             \
        FALLTHROUGH;                                                                               \
    case n:                                                                                        \
        r = (op);                                                                                  \
        if (r == PENDING) {                                                                        \
            SITE_NOTE(cx);                                                                         \
            return PENDING;                                                                        \
        }                                                                                          \
        if (r < 0) return r;                                                                       \
    } while (0)

static int player(void *frame, struct cx *cx)
{
    struct player *f = frame;
    int r;
    switch (f->lc) {
    case 0:
        for (;;) {
            if (f->rounds-- <= 0) return 0;
            if (f->serves) AWAIT_OP(f, 1, chan_send(f->out, f->ball, cx));
            AWAIT_OP(f, 2, chan_recv(f->in, &f->ball, cx));
            f->ball++;
            if (!f->serves) AWAIT_OP(f, 3, chan_send(f->out, f->ball, cx));
        }
#if LEVEL >= 2
    case LC_CANCEL: /* a player holds nothing to clean up */
        return -ECANCELED;
#endif
    default:
        return -EINVAL;
    }
}

static double measure_pingpong(long rounds)
{
    int ping_buf[1], pong_buf[1];
    struct chan ping, pong;
    chan_init(&ping, ping_buf, 1);
    chan_init(&pong, pong_buf, 1);
    struct player a = {.in = &pong, .out = &ping, .rounds = rounds, .serves = true};
    struct player b = {.in = &ping, .out = &pong, .rounds = rounds};
    struct waker ta = spawn(player, &a), tb = spawn(player, &b);
    double t0 = cpu_now();
    long done = run();
    double t1 = cpu_now();
    if (done != 2 || task_result(ta) != 0 || task_result(tb) != 0 || a.ball != 2 * rounds) {
        fprintf(stderr, "guarded_tasks_L%d: the ball came back %d times, not %ld\n", LEVEL, a.ball,
                2 * rounds);
        exit(1);
    }
    return (t1 - t0) * 1e9 / (double)rounds;
}

/* ---- checks of the cold paths ---------------------------------------------------------------- */

/* A task that does `ops` operations on one channel (send if ops > 0, receive if < 0), then ends
 * with the last result; polls counts its polls. */
struct worker {
    int lc;
    struct chan *ch;
    long ops, polls;
    int v;
};

static int worker(void *frame, struct cx *cx)
{
    struct worker *f = frame;
    int r = 0;
    f->polls++;
    switch (f->lc) {
    case 0:
        while (f->ops != 0) {
            if (f->ops > 0) {
                AWAIT_OP(f, 1, chan_send(f->ch, f->v, cx));
                f->ops--;
            } else {
                AWAIT_OP(f, 2, chan_recv(f->ch, &f->v, cx));
                f->ops++;
            }
        }
        return r;
#if LEVEL >= 2
    case LC_CANCEL:
        return -ECANCELED;
#endif
    default:
        return -EINVAL;
    }
}

/* A closed channel: a waiting receiver is woken and gets ECLOSED; items sent before the close
 * are still received; a send fails. A destroyed channel fails every operation through its
 * queue handles alone. */
static void check_closed(void)
{
    int buf[1];
    struct chan ch;
    chan_init(&ch, buf, 1);
    struct worker rx = {.ch = &ch, .ops = -1};
    struct waker h = spawn(worker, &rx);
    check(run() == 0, "a receiver on an empty channel waits");
    chan_close(&ch);
    check(run() == 1 && task_result(h) == ECLOSED, "closing wakes the receiver with ECLOSED");

    chan_init(&ch, buf, 1);
    struct worker tx = {.ch = &ch, .ops = 1, .v = 9}, rx2 = {.ch = &ch, .ops = -2};
    spawn(worker, &tx);
    check(run() == 1, "one send");
    chan_close(&ch);
    h = spawn(worker, &rx2);
    check(run() == 1 && task_result(h) == ECLOSED && rx2.v == 9, "the item outlives the close");
    struct worker tx2 = {.ch = &ch, .ops = 1};
    h = spawn(worker, &tx2);
    check(run() == 1 && task_result(h) == ECLOSED, "a send on a closed channel fails");

    chan_init(&ch, buf, 1);
    chan_destroy(&ch);
    struct worker tx3 = {.ch = &ch, .ops = 1};
    h = spawn(worker, &tx3);
    check(run() == 1 && task_result(h) == ECLOSED && ch.len == 0, "a destroyed channel fails");
}

#if LEVEL >= 2
static int stopper(void *frame, struct cx *cx)
{
    (void)frame, (void)cx;
    rt.stop = true;
    return 0;
}

/* A task waiting on a channel is cancelled: it finishes with -ECANCELED; from L5 its place in
 * the queue is gone, so another receiver can wait there. A stop ends a run early. */
static void check_cancel_and_stop(void)
{
    int buf[1];
    struct chan ch;
    chan_init(&ch, buf, 1);
    struct worker rx = {.ch = &ch, .ops = -1};
    struct waker h = spawn(worker, &rx);
    check(run() == 0, "a receiver waits");
    struct cx cx = {.deadline = NO_DEADLINE};
    cancel(h, &cx);
    check(task_result(h) == -ECANCELED, "a cancelled task ends with -ECANCELED");
    struct worker rx2 = {.ch = &ch, .ops = -1}, tx = {.ch = &ch, .ops = 1, .v = 7};
    int unused;
    spawn(stopper, &unused);
    h = spawn(worker, &rx2);
    struct waker ht = spawn(worker, &tx);
    check(run() == 1 && rt.ready_head != NULL, "a stop ends the run after the stopping poll");
    check(run() == 2 && task_result(h) == 0 && task_result(ht) == 0 && rx2.v == 7,
          "after the cancel another receiver gets the item");
}
#endif

#if LEVEL >= 3
/* 100 sends into a roomy channel take two polls: 64, then the rest after a self-wake. */
static void check_budget(void)
{
    static int buf[128];
    struct chan ch;
    chan_init(&ch, buf, 128);
    struct worker tx = {.ch = &ch, .ops = 100};
    spawn(worker, &tx);
    check(run() == 1 && tx.polls == 2 && ch.len == 100, "the budget splits 100 sends in two");
}
#endif

#if LEVEL >= 4
/* A woken receiver holds its turn: a later receiver polled first must leave the item to it. */
static void check_turn(void)
{
    int buf[1];
    struct chan ch;
    chan_init(&ch, buf, 1);
    struct worker first = {.ch = &ch, .ops = -1};
    struct waker h1 = spawn(worker, &first);
    check(run() == 0, "the first receiver waits");
    ch.buf[0] = 5; /* an item arrives the way chan_send delivers it */
    ch.len = 1;
    wq_wake_one(ch.recv_rec);
    struct worker later = {.ch = &ch, .ops = -1};
    struct rec *t = task_at(h1.slot);
    struct waker h2 = spawn(worker, &later);
    /* Poll the later arrival before the turn holder: swap them in the queue. */
    rt.ready_head = rt.ready_tail = NULL;
    ready_push(task_at(h2.slot));
    ready_push(t);
    long done = run();
    check(done == 2 && task_result(h1) == 0 && first.v == 5, "the turn holder gets the item");
    check(task_result(h2) == ESECOND, "the later arrival does not take it (and cannot wait)");
}
#endif

#if LEVEL >= 5
/* A waiter woken with the turn that does not renew its wait in its next poll loses the
 * registration (and the turn) after that poll. */
static int forgetful(void *frame, struct cx *cx)
{
    struct worker *f = frame;
    f->polls++;
    switch (f->lc) {
    case 0:
        f->lc = 1;
        return chan_recv(f->ch, &f->v, cx) == PENDING ? PENDING : -EINVAL; /* it must wait */
    case 1:
        f->lc = 2; /* woken: wait for something else (its own self-wake), not the channel */
        task_wake(cx->task);
        return PENDING;
    case 2:
        f->lc = 3; /* then wait for nothing (until cancelled): finishing would drop the wait */
        return PENDING;
    default:
        return -ECANCELED;
    }
}

static void check_lapse(void)
{
    int buf[1];
    struct chan ch;
    chan_init(&ch, buf, 1);
    struct worker f = {.ch = &ch};
    struct waker h = spawn(forgetful, &f);
    check(run() == 0 && ch.recv_rec->flags == WN_USED, "it waits");
    ch.buf[0] = 5;
    ch.len = 1;
    wq_wake_one(ch.recv_rec);
    check(run() == 0 && f.polls == 3, "it ran twice more");
    check(ch.recv_rec->flags == 0 && ch.len == 1, "its registration lapsed; the item is free");
    struct cx cx = {.deadline = NO_DEADLINE};
    cancel(h, &cx);
    check(task_result(h) == -ECANCELED, "cancelled");
}
#endif

static void self_check(void)
{
#if LEVEL >= 7
    rt.epfd = epoll_create1(EPOLL_CLOEXEC);
    if (rt.epfd < 0) bench_die("epoll_create1");
#endif
    check_closed();
#if LEVEL >= 2
    check_cancel_and_stop();
#endif
#if LEVEL >= 3
    check_budget();
#endif
#if LEVEL >= 4
    check_turn();
#endif
#if LEVEL >= 5
    check_lapse();
#endif
#if LEVEL >= 6
    static struct trace tr;
    if (getenv("GUARDED_TRACE") != NULL) rt.trace = &tr;
#endif
}

/* ---- main ------------------------------------------------------------------------------------ */

int main(int argc, char **argv)
{
    struct bench_tasks_opts o = {.tasks = 1000000, .yields = 4000000, .rounds = 1000000};
    bench_tasks_parse(argc, argv, &o);
    self_check();
    double pingpong_ns = measure_pingpong(o.rounds);
#if LEVEL >= 6
    if (rt.trace != NULL)
        printf("trace: %ld polls, %ld wakes, %ld waits\n", rt.trace->polls, rt.trace->wakes,
               rt.trace->waits);
#endif
    printf("RESULT name=guarded_tasks_L%d level=%d resume_ns=%.1f pingpong_ns=%.1f rounds=%ld\n",
           LEVEL, LEVEL, pingpong_ns / 2, pingpong_ns, o.rounds);
    return 0;
}
