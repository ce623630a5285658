/*
 * The timer queue: the runtime's set of pending deadlines.
 *
 * A pure data structure. It makes no system calls and never reads a clock: the caller says what
 * time it is when it asks for expired timers. Deadlines are int64_t nanoseconds on
 * CLOCK_MONOTONIC, so resolution is whatever the caller's clock and sleep give (finer than 1 ms).
 *
 * Timers are intrusive: a weft__timer lives inside the caller's own object (a task, a socket's
 * I/O deadline) and the caller gets its object back with container_of-style pointer arithmetic.
 * The queue never allocates per timer; it keeps one growable array of (deadline, timer) pairs, so
 * adding a timer can fail with -ENOMEM only when that array has to grow.
 *
 * How it is built (a 4-ary implicit min-heap) and why, with the measurements against a timing
 * wheel and libuv, is written at the top of timerq.c.
 *
 * Contract in brief:
 *  - A timer is zero-initialised by its owner before first use (`weft__timer t = {0};`); a zeroed
 *    timer is "not queued". A timer is in at most one queue at a time.
 *  - Deadlines are >= 0, as CLOCK_MONOTONIC readings are: -1 is what next() says when empty.
 *  - Firing order is by deadline; timers with equal deadlines fire in the order they were added,
 *    provided fewer than 2^31 other additions came between them (insertion numbers are 32 bits,
 *    compared modulo 2^32, which keeps the node at 16 bytes).
 *  - At most UINT32_MAX - 1 timers are queued at once.
 *  - weft__timerq_pop never returns a timer whose deadline is later than the `now` it is given.
 *  - The memory of a queued timer must stay valid until it is popped or cancelled.
 */
#ifndef WEFT_RUNTIME_TIMERQ_H
#define WEFT_RUNTIME_TIMERQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "weft/timer.h" /* weft__timer, the node */

/*
 * One pending deadline, embedded in the owner's object, is a weft__timer: a 16-byte node of
 * deadline, insertion number and heap index. It is defined in the public weft/timer.h because the
 * public weft_timer embeds it by value. All fields belong to the queue; the owner may read
 * `deadline` while the timer is queued, and must not write any field.
 */

/*
 * A heap entry, private to timerq.c. The deadline is copied next to the timer pointer so that
 * comparing siblings reads only the array, which is contiguous, and never chases a pointer into
 * the owners' memory.
 */
struct weft__timerq_slot {
    int64_t deadline;
    weft__timer *timer;
};

/* A set of pending timers. Owned by the caller; initialise with weft__timerq_init. */
typedef struct weft__timerq {
    struct weft__timerq_slot *heap; /* 4-ary min-heap on (deadline, seq); heap[0] is earliest. */
    size_t len;                     /* Number of queued timers. */
    size_t cap;                     /* Slots allocated in `heap`. */
    uint32_t next_seq;              /* Insertion counter handed to the next added timer. */
} weft__timerq;

/*
 * Initialises an empty queue and allocates a small initial array.
 * Returns 0, or -ENOMEM (and `q` owns nothing). Pair with weft__timerq_free.
 */
int weft__timerq_init(weft__timerq *q);

/*
 * Releases the queue's own storage. Timers still queued are forgotten without being touched, since
 * their owners may already be gone; such a timer still reads as queued, so zero it before reuse.
 */
void weft__timerq_free(weft__timerq *q);

/*
 * Queues `t` to fire at `deadline` (CLOCK_MONOTONIC ns; a deadline in the past is allowed and
 * fires at the next pop). If `t` is already queued it is rescheduled: moved to its new place, and
 * ordered among equal deadlines as if just added; that needs no memory and cannot fail.
 * Returns 0, or -ENOMEM if the array had to grow and could not; `t` is then not queued.
 * O(log n); O(1) on average for a new timer with a random deadline.
 */
int weft__timerq_add(weft__timerq *q, weft__timer *t, int64_t deadline);

/* Removes `t` from the queue. A no-op if `t` is not queued. O(log n). */
void weft__timerq_cancel(weft__timerq *q, weft__timer *t);

/* True while `t` is queued (added, and neither popped nor cancelled since). Inline: O(1). */
static inline bool weft__timerq_queued(const weft__timer *t)
{
    return t->pos != 0;
}

/*
 * The earliest deadline in the queue, or -1 if the queue is empty. Exact (this queue is a heap,
 * not a wheel, so it is never a lower bound). Inline: O(1).
 */
static inline int64_t weft__timerq_next(const weft__timerq *q)
{
    return q->len ? q->heap[0].deadline : -1;
}

/* The earliest timer, left queued, or NULL if the queue is empty. Inline: O(1). */
static inline weft__timer *weft__timerq_peek(const weft__timerq *q)
{
    return q->len ? q->heap[0].timer : NULL;
}

/*
 * Removes and returns the earliest timer if its deadline is <= `now`, else returns NULL and
 * changes nothing. Call it in a loop to drain every expired timer. The returned timer is no longer
 * queued, so its owner may add it again (from a callback, for example). O(log n).
 */
weft__timer *weft__timerq_pop(weft__timerq *q, int64_t now);

/* Number of queued timers. Inline: O(1). */
static inline size_t weft__timerq_len(const weft__timerq *q)
{
    return q->len;
}

#endif
