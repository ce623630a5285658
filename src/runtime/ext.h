/*
 * Private to src/runtime: the runtime's extension for waiting on things other than fds and
 * timers — the wait queues behind weft/sync.h, the cross-thread inbox, the blocking pool.
 *
 * It hangs off rt->ext, allocated by the first object that needs it, so a program that never
 * uses a channel pays nothing. The runtime core calls into it through the hooks declared in
 * internal.h (when a task finishes, for the inbox's poll event, for the deadlock check, and at
 * close) and, after a pending poll that left a wait unrenewed, through weft__waitq_lapse below.
 *
 * WAIT QUEUES. A queue (struct weft__wq) is a FIFO of wait nodes (struct weft__wnode); a node
 * says "this task waits on this queue". Both live in runtime tables and refer to each other and
 * to tasks by slot number, never by pointer into a frame or into the object (a channel) that owns
 * the queue: so a task can be cancelled, and a channel can even be freed without being
 * destroyed, without leaving anything dangling. Each task's nodes are also chained together
 * (from a small per-task table indexed by task slot), which is how the hooks find them.
 *
 * The lapse rule: a wait the task did not register or renew in its latest pending poll is
 * dropped after that poll, passing on any turn it held. A node is stamped with its task's epoch
 * when registered or renewed, and a pending poll that ends with nodes bumps the epoch: a node
 * with an older stamp was not renewed. The fast slot needs no stamp: the task record says it
 * holds one (WEFT__TASK_SOLO) and the poll's context says it renewed it (WEFT__CX_RENEWED), so
 * the executor tells "nothing to lapse" from the two flags it has at hand, with no lookup here.
 */
#ifndef WEFT_RUNTIME_EXT_H
#define WEFT_RUNTIME_EXT_H

#include <pthread.h>
#include <string.h>

#include "runtime/internal.h"
#include "weft/sync.h"
#include "weft/trace.h"

/* WEFT__NOINLINE - keep a slow path out of line, so that its caller's fast path stays short
 * (no saved registers on the way in and out). Only a hint: nothing breaks without it. */
#if defined(__has_attribute)
#if __has_attribute(noinline)
#define WEFT__NOINLINE __attribute__((noinline))
#endif
#endif
#ifndef WEFT__NOINLINE
#define WEFT__NOINLINE
#endif

/* Flags of a wait node. */
enum {
    WEFT__WN_USED = 1u << 0, /* the record is in use */
    WEFT__WN_ONE = 1u << 1,  /* woken to take one unit: holds a reservation (a turn) */
    WEFT__WN_ALL = 1u << 2,  /* woken by a wake-all (close, notify_all, wait group at zero) */
};

/* One task waiting on one queue. 32 bytes (29 of fields). */
struct weft__wnode {
    weft_waker waker;   /* the task */
    uint32_t q;         /* the queue's slot */
    uint32_t prev;      /* queue neighbours: slot + 1, 0 = none */
    uint32_t next;      /* (also the free-list link while free) */
    uint32_t task_next; /* the task's next node: slot + 1, 0 = none */
    uint32_t epoch;     /* the task's epoch when last registered or renewed */
    uint8_t flags;      /* WEFT__WN_* */
};

/*
 * One wait queue. A waiter that finds the queue empty takes the fast slot, kept in the record
 * itself, instead of a node: with one waiter at a time (a channel between two tasks) no node is
 * ever allocated or linked. The fast slot's waiter is always the oldest, ahead of every node.
 */
struct weft__wq {
    uint32_t head;      /* first node: slot + 1, 0 = none */
    uint32_t tail;      /* last node */
    uint32_t len;       /* waiters: the fast slot's, if any, and the nodes */
    uint32_t gen;       /* generation: bumped when closed; never 0 */
    uint32_t reserved;  /* waiters holding a turn (WEFT__WN_ONE). Not next to len: gcc would
                           pack the two decrements of a served fast slot into vector code, three
                           times as many instructions */
    uint32_t next_free; /* free-list link while free: slot + 1 */
    /* The fast slot's waiter, if solo_flags != 0: its task record (which says it holds a fast
     * slot: WEFT__TASK_SOLO; whether it renewed it in its current poll is in that poll's
     * weft_cx: WEFT__CX_RENEWED). A pointer, not a waker, so that waking it skips the table
     * lookup and the generation check: neither can fail, because a task never outlives its
     * place here — finishing drops it (weft__waitq_task_done, before the record is DONE or
     * free), and so does a poll that does not renew it (weft__waitq_lapse). */
    struct weft__task *solo_task;
    uint8_t solo_flags; /* the fast slot's WEFT__WN_* flags; 0 = the slot is empty */
    uint8_t open;       /* 1 while in use */
    uint8_t permit;     /* a stored turn: a wake-one (or a lapsed turn) found nobody to take it */
    /* Called when a lapse empties the queue (a blocking job whose awaiter went away). */
    void (*on_empty)(weft_runtime *rt, void *owner);
    void *owner;           /* passed to on_empty */
    struct weft__wq *peer; /* a channel's other queue (sync.c): a send wakes its receivers
                              without looking their queue up; NULL for other objects */
};

_Static_assert(sizeof(struct weft__wq) <= 64, "a queue record fits one cache line");

/* Per-task wait state, indexed by task slot. 16 bytes, so that indexing is a shift. */
struct weft__wtask {
    uint32_t head;   /* the task's first node: slot + 1, 0 = none */
    uint32_t solo;   /* the queue whose fast slot it holds (at most one): slot + 1. Meaningful
                        only while the task record has WEFT__TASK_SOLO: leaving the slot clears
                        the flag and leaves this as it was, one store fewer */
    uint32_t epoch;  /* bumped after each pending poll that ends with nodes */
    uint32_t unused; /* padding to 16 bytes */
};

/* One request from another thread, waiting in the inbox. */
struct weft__inbox_entry {
    uint32_t kind; /* WEFT__IN_* */
    uint32_t slot; /* a task (WAKE_TASK) or a queue (WAKE_QUEUE, WAKE_ALL) */
    uint32_t gen;
    uint32_t n; /* WAKE_QUEUE: how many waiters to wake */
};

enum {
    WEFT__IN_WAKE_TASK = 1, /* weft_waker_wake */
    WEFT__IN_WAKE_QUEUE,    /* wake up to n waiters of a queue (units were added) */
    WEFT__IN_WAKE_ALL,      /* wake every waiter of a queue (closed, job finished) */
};

struct weft__pool;  /* the blocking pool (blocking.c) */
struct weft__inbox; /* requests from other threads (remote.c) */

/* The extension itself. */
struct weft__ext {
    /* Wait queues (waitq.c). */
    struct weft__table nodes;   /* struct weft__wnode records */
    struct weft__table queues;  /* struct weft__wq records */
    struct weft__wtask *wtasks; /* per-task state, wtasks_cap entries */
    uint32_t wtasks_cap;
    size_t queues_open; /* queues not yet closed */
    size_t nodes_used;  /* nodes in queues (fast slots are counted by weft_sync_get_stats) */

    /* The inbox (remote.c): requests from other threads, drained by the runtime's thread. NULL
     * until the first door or job. Shared with the open doors, which may outlive the runtime. */
    struct weft__inbox *in;

    /* The blocking pool (blocking.c), NULL until the first job. */
    struct weft__pool *pool;
    size_t jobs; /* jobs spawned and not yet collected or dropped */
};

/* The token of the inbox's eventfd: no weft_io token is 0 (their generation is never 0). */
#define WEFT__INBOX_TOKEN ((weft_token)0)

/* rt's extension, allocating it on first use. NULL if out of memory. */
struct weft__ext *weft__ext_get(weft_runtime *rt);

/* ---------------------------------------------------------------------------------------------
 * Wait queues (waitq.c)
 * ------------------------------------------------------------------------------------------- */

/* Opens a queue. Returns 0 or -ENOMEM (q zeroed). */
int weft__waitq_open(weft_runtime *rt, weft_waitq *q);

/* Closes q: every waiter is woken (and dropped); q becomes stale. Harmless on a stale q. */
void weft__waitq_close(weft_runtime *rt, weft_waitq *q);

/* The queue record q names, or NULL if it is closed (stale). Inline: every operation needs it. */
static inline struct weft__wq *weft__waitq_lookup(const weft_runtime *rt, const weft_waitq *q)
{
    const struct weft__ext *x = rt->ext;
    if (x == NULL || q->slot >= weft__table_cap(&x->queues)) return NULL;
    struct weft__wq *wq = weft__table_at(&x->queues, sizeof *wq, q->slot);
    /* Enough for `open` too: a record's gen moves on when it is closed, so no handle names a
     * free one; gen is never 0, so a zeroed q fails here. */
    return wq->gen == q->gen ? wq : NULL;
}

/*
 * The queue record q names, or NULL if it is closed (stale), given the record a handle's owner
 * cached when it opened q (rec; NULL: none): no table lookup. Only while the runtime is alive —
 * from inside one of its tasks, say — since rec points into its tables.
 */
static inline struct weft__wq *weft__waitq_cached(struct weft__wq *rec, const weft_waitq *q)
{
    return rec != NULL && rec->gen == q->gen ? rec : NULL;
}

/*
 * Registers the polling task on q, or renews its registration (keeping its place).
 * Returns WEFT_PENDING, WEFT_ECLOSED (q is stale) or -ENOMEM.
 */
int weft__waitq_park(const weft_waitq *q, weft_cx *cx);

/* The WEFT__WN_* flags of the polling task's node on q, 0 if it has none. */
unsigned weft__waitq_flags(const weft_waitq *q, const weft_cx *cx);

/*
 * May the polling task take one of `avail` units? Yes if it holds a turn and avail >= 1, or if
 * avail exceeds the turns held by others. A turn found with nothing to take (a unit went
 * elsewhere) is given up here.
 */
bool weft__waitq_may_take(const weft_waitq *q, size_t avail, const weft_cx *cx);

/* The polling task got what it waited for: drop its node; a turn it held is used up. */
void weft__waitq_done(const weft_waitq *q, const weft_cx *cx);

/* The polling task gives up waiting (timeout, closed): drop its node, passing on its turn. */
void weft__waitq_leave(const weft_waitq *q, const weft_cx *cx);

/* Gives turns to up to n waiters that hold none, waking them. Returns how many. */
size_t weft__waitq_wake(weft_runtime *rt, const weft_waitq *q, size_t n);

/* Wakes every waiter (WEFT__WN_ALL); turns are unchanged. */
void weft__waitq_wake_all(weft_runtime *rt, const weft_waitq *q);

/* Wakes every task waiting on any queue of x (after a lost cross-thread request). Rare: a walk
 * over all the queue and node records. Flags and turns are unchanged. */
void weft__waitq_wake_every(weft_runtime *rt, struct weft__ext *x);

/* Turns held on q (units that later arrivals must leave alone). 0 for a stale q. */
size_t weft__waitq_reserved(const weft_runtime *rt, const weft_waitq *q);

/*
 * The common shape of "wait for one unit of something" (an item, a free slot, a permit).
 * Returns 0: take one unit now (the node is already dropped). Otherwise the operation's result:
 * WEFT_PENDING, WEFT_ECLOSED (closed is true and nothing can be taken, or q is stale),
 * -ETIMEDOUT, -ENOMEM.
 */
int weft__waitq_acquire(const weft_waitq *q, size_t avail, bool closed, int64_t deadline,
                        weft_cx *cx);

/* ---------------------------------------------------------------------------------------------
 * Fast paths, inline so that a channel operation compiles into one function. Each handles only
 * the cases that need no node — nobody else waits, or the only waiter is in the fast slot — and
 * answers "not handled" for everything else, which then takes the general functions above.
 * ------------------------------------------------------------------------------------------- */

/* Puts the polling task, whose per-task state is t, in the fast slot of the empty queue wq (slot
 * q_slot): registered in this poll. */
static inline void weft__waitq_solo_take(struct weft__wq *wq, uint32_t q_slot,
                                         struct weft__wtask *t, weft_cx *cx)
{
    wq->solo_task = cx->task;
    wq->solo_flags = WEFT__WN_USED;
    wq->len = 1;
    t->solo = q_slot + 1;
    cx->task->flags |= WEFT__TASK_SOLO;
    cx->flags |= WEFT__CX_RENEWED;
}

/* Empties wq's fast slot (without waking its waiter, without passing on a turn). */
static inline void weft__waitq_solo_clear(struct weft__wq *wq)
{
    wq->solo_task->flags &= (uint8_t)~WEFT__TASK_SOLO;
    if (wq->solo_flags & WEFT__WN_ONE) wq->reserved--;
    wq->solo_flags = 0;
    wq->len--;
}

/*
 * May the polling task take one of the units of wq that the caller found (at least one) without
 * the general path? Yes if its budget is not spent, and either nobody waits on wq (so nothing is
 * reserved) or it is the fast slot's waiter and holds the turn (the slot is then released: the
 * turn is used up). Spends one unit of budget when it says yes.
 */
static inline bool weft__waitq_take_fast(struct weft__wq *wq, weft_cx *cx)
{
    if (cx->budget == 0) return false;
    if (wq->len != 0) {
        if (!(wq->solo_flags & WEFT__WN_ONE) || wq->solo_task != cx->task) return false;
        weft__waitq_solo_clear(wq); /* served: its turn is used up */
    }
    cx->budget--;
    return true;
}

/*
 * Parks the polling task in wq's fast slot (q_slot: wq's slot) if the queue is empty and the
 * task holds no fast slot yet. Returns WEFT_PENDING, or 0: not handled (take the general path).
 */
static inline int weft__waitq_park_fast(struct weft__wq *wq, uint32_t q_slot, weft_cx *cx)
{
    struct weft__ext *x = cx->rt->ext;
    uint32_t task = cx->waker.slot;
    if (wq->len != 0 || (cx->task->flags & WEFT__TASK_SOLO) || task >= x->wtasks_cap) return 0;
    weft__waitq_solo_take(wq, q_slot, &x->wtasks[task], cx);
    weft_trace_note_wait(cx, "queue", q_slot); /* last: nothing is live across the call */
    return WEFT_PENDING;
}

/* If wq's fast slot holds a waiter without a turn, gives it the turn and wakes it. The slot's
 * waiter is the oldest, so it comes first. Returns whether it did. */
static inline bool weft__waitq_turn_to_solo(weft_runtime *rt, struct weft__wq *wq)
{
    if (wq->solo_flags == 0 || (wq->solo_flags & WEFT__WN_ONE)) return false;
    wq->solo_flags |= WEFT__WN_ONE;
    wq->reserved++;
    weft__task_wake(rt, wq->solo_task); /* alive: see solo_task */
    return true;
}

/* weft__waitq_wake(rt, q, 1) for a queue already looked up: the general path only if a node
 * waits without a turn. */
static inline void weft__waitq_wake_one_fast(weft_runtime *rt, struct weft__wq *wq,
                                             const weft_waitq *q)
{
    if (wq->len == wq->reserved) return; /* nobody waits without a turn */
    if (!weft__waitq_turn_to_solo(rt, wq)) weft__waitq_wake(rt, q, 1);
}

/* A channel's ring (sync.c): copy an item in at the back, or out from the front. */
void weft__ring_push(weft_chan *ch, const void *item);
void weft__ring_pop(weft_chan *ch, void *item);

/* True once deadline has come; otherwise asks for the task to be woken at it. */
bool weft__deadline_due(weft_cx *cx, int64_t deadline);

/* ---------------------------------------------------------------------------------------------
 * The inbox (remote.c)
 * ------------------------------------------------------------------------------------------- */

/*
 * Queues a request for the runtime's thread and wakes its poll. Any thread. Returns 0, -ENOMEM,
 * or -EBADF once the runtime has closed (nothing is queued).
 */
int weft__inbox_post(struct weft__inbox *in, uint32_t kind, uint32_t slot, uint32_t gen,
                     uint32_t n);

/* Makes sure a drain comes, with nothing queued (unless the runtime has closed). Any thread. */
void weft__inbox_poke(struct weft__inbox *in);

/* Creates x->in (its lock and poll waker) if not yet done. Runtime's thread. 0 or -errno. */
int weft__inbox_prepare(weft_runtime *rt, struct weft__ext *x);

/* Open doors (weft_remote, weft_xchan); 0 for a NULL inbox (none made yet). Runtime's thread. */
size_t weft__inbox_doors(const struct weft__inbox *in);

/* ---------------------------------------------------------------------------------------------
 * Pieces of the extension's life, one per file
 * ------------------------------------------------------------------------------------------- */

/*
 * task's poll, whose context flags are cx_flags, returned WEFT_PENDING, and the task may hold
 * waits it did not renew in it: it holds nodes (WEFT__TASK_NODES), or a fast slot without
 * WEFT__CX_RENEWED. Drops those, passing on their turns (task.c; only with rt->ext set).
 */
void weft__waitq_lapse(weft_runtime *rt, struct weft__task *task, uint32_t cx_flags);

void weft__waitq_task_done(weft_runtime *rt, struct weft__ext *x, uint32_t task_slot);
size_t weft__waitq_free_all(struct weft__ext *x);
/* Tasks registered on a queue: nodes, and fast slots (a walk over the queue records). */
size_t weft__waitq_count_waiters(const struct weft__ext *x);
void weft__inbox_drain(weft_runtime *rt, struct weft__ext *x);
size_t weft__inbox_free(weft_runtime *rt, struct weft__ext *x);
size_t weft__pool_close(weft_runtime *rt, struct weft__ext *x);
void weft__pool_after_drain(weft_runtime *rt, struct weft__ext *x);

#endif
