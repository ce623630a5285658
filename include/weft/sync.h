/*
 * weft/sync.h — tasks waiting for each other: channels, a oneshot, notify, a semaphore, a mutex
 * that may be held across awaits, a wait group, and a channel other threads can send into.
 *
 *     struct producer { weft_co co; weft_chan *out; int i; };
 *
 *     WEFT_BEGIN(&f->co);
 *     for (f->i = 0; f->i < 100; f->i++)
 *         WEFT_AWAIT(&f->co, r = weft_chan_send(f->out, &f->i, cx));  // waits while full
 *     weft_chan_close(f->out);                                       // "no more values"
 *     WEFT_END(&f->co, 0);
 *
 * Every waiting operation here is a leaf operation (weft/runtime.h, section 7): it keeps no state
 * between polls, so await it directly with WEFT_AWAIT; each has a _dl form with an absolute
 * deadline (-ETIMEDOUT when it passes, never earlier). Every object is caller-allocated, bound to
 * one runtime by its _init and released by its _destroy; nothing allocates per operation.
 *
 * HOW WAITING WORKS (and why cancellation and select are safe).
 * Each object has one or two wait queues (weft_waitq). A queue's waiters are records owned by the
 * runtime — never by a frame — kept in FIFO order: a generation-checked waker, or for a queue's
 * lone waiter its task's runtime record, which leaves the queue before the task ends. The rule for
 * a waiter is the rule the runtime applies to task timers: a wait registered (or renewed) during a
 * task's latest poll counts; a wait the task did not renew in that poll lapses. An operation that
 * is still waiting renews its place each time it is polled (WEFT_AWAIT does that), so it keeps its
 * position in the queue. A task that stops polling an operation — cancelled, or the branch of a
 * select that lost (weft/select.h) — loses its place after that poll, and if it had been woken to
 * take something (below), that turn passes to the next waiter. So no value or permit is ever lost
 * to an abandoned waiter, and no cleanup block is needed.
 *
 * FAIRNESS: FIFO. When a value or a permit becomes available, the first waiter that has not yet
 * been woken is woken and the unit is reserved for it: until it runs, later arrivals (and the
 * try-variants) may take only what is not reserved. A waiter is thus served in arrival order,
 * and a task that keeps sending and receiving cannot starve one that waits. A turn reserves
 * one unit, not a particular one: a channel always hands out its oldest item, to whichever
 * entitled taker takes first. Closing a channel wakes every waiter.
 *
 * LIFETIME: FREE AN OBJECT ONLY ONCE NO TASK WILL POLL IT AGAIN. A _destroy wakes the tasks
 * still waiting on the object, and each of them reads the object once more — on its next poll,
 * after _destroy has returned — to learn WEFT_ECLOSED. So the object's own memory (a weft_chan,
 * a weft_mutex, ...) must stay valid after _destroy until every task that was waiting on it has
 * run past the operation: has finished (weft_task_join, weft_task_result), or has told you it is
 * done with the object. Freeing it right after _destroy is safe only if no task was waiting on
 * it. The storage a channel or oneshot was given at _init (buf) is no longer read after _destroy
 * and may be freed at once. Once weft_runtime_close has returned, no task is left to poll
 * anything.
 *
 *     weft_chan_destroy(&s->ch);  // the receiver task is woken...
 *     free(s);                    // WRONG: ...and reads s->ch when it runs
 *
 *     weft_chan_destroy(&s->ch);
 *     WEFT_AWAIT(&f->co, r = weft_task_join(f->receiver, cx));
 *     free(s);                    // right: the receiver is done with s->ch
 *
 * THREADS. Everything here belongs to the runtime's thread, except the cross-thread door and
 * channel of section 8, whose send side any thread may use.
 *
 * Contents: 1. Wait queues  2. Channels  3. Oneshot  4. Notify  5. Semaphore  6. Mutex
 *           7. Wait group   8. Cross-thread: doors and xchan   9. Statistics
 */
#ifndef WEFT_SYNC_H
#define WEFT_SYNC_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "weft/coro.h"
#include "weft/error.h"
#include "weft/runtime.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ============================================================================================
 * 1. Wait queues
 * ========================================================================================== */

/*
 * weft_waitq - a handle to a runtime-owned FIFO of waiting tasks, generation-checked like a
 * waker: once its object is destroyed, the handle is stale and operations on it report
 * WEFT_ECLOSED. Embedded in every object below; used through their functions, never directly.
 * A zeroed handle is "no queue".
 */
typedef struct weft_waitq {
    uint32_t slot; /* index of the queue record in the runtime */
    uint32_t gen;  /* its generation; 0 is never a live queue */
} weft_waitq;

/* ============================================================================================
 * 2. Channels
 *
 * A bounded channel of fixed-size items, multi-producer and multi-consumer, over a ring buffer
 * the caller provides. Items are copied in by send and out by receive; a receive takes the item
 * out of the channel only when it returns it, so a receive abandoned by a select leaves the
 * channel untouched.
 *
 *     int storage[16];
 *     weft_chan ch;
 *     weft_chan_init(&ch, rt, storage, sizeof storage[0], 16);
 *     ...  WEFT_AWAIT(&f->co, f->r = weft_chan_recv(&ch, &f->item, cx));
 *          if (f->r == WEFT_ECLOSED) ...     // closed, and everything sent has been received
 *     weft_chan_destroy(&ch);
 * ========================================================================================== */

/* weft_chan - a bounded channel. Caller-allocated; fields are private. */
typedef struct weft_chan {
    weft_runtime *rt;   /* the runtime its queues live in */
    unsigned char *buf; /* the ring: cap items of item_size bytes */
    size_t item_size;   /* bytes per item */
    size_t cap;         /* capacity in items */
    size_t bytes;       /* cap * item_size */
    size_t head;        /* byte offset in buf of the oldest item */
    size_t tail;        /* byte offset in buf where the next item goes */
    size_t len;         /* items held */
    weft_waitq recvq;   /* receivers waiting for an item */
    weft_waitq sendq;   /* senders waiting for room */
    /* The two queues' records, cached (records never move while the runtime lives): a send or
     * receive from a task then skips the table lookup. Checked against the handles' generations. */
    struct weft__wq *recv_rec, *send_rec;
    bool closed; /* weft_chan_close was called */
} weft_chan;

/*
 * weft_chan_init - make ch an open, empty channel.
 * rt: the runtime whose tasks use it. buf: cap * item_size bytes that hold the items; owned by
 * the caller and used until weft_chan_destroy. item_size, cap: at least 1.
 * Returns 0, -EINVAL (NULL buf or rt, a zero size, or cap * item_size overflows) or -ENOMEM.
 * Never suspends.
 */
int weft_chan_init(weft_chan *ch, weft_runtime *rt, void *buf, size_t item_size, size_t cap);

/*
 * weft_chan_destroy - release ch's wait queues. Tasks still waiting are woken and see
 * WEFT_ECLOSED; items still buffered are dropped. Afterwards every operation on ch returns
 * WEFT_ECLOSED; destroying twice is harmless. Never suspends. buf may be freed at once; ch itself
 * only once the woken tasks have run past their operation (LIFETIME, at the top).
 */
void weft_chan_destroy(weft_chan *ch);

/*
 * weft_chan_close - no more values: every later send fails with WEFT_ECLOSED (waiting senders are
 * woken to see it), receivers still get every item already buffered and then WEFT_ECLOSED.
 * Idempotent. Never suspends.
 */
void weft_chan_close(weft_chan *ch);

/*
 * weft_chan_send_dl - copy item (item_size bytes) into the channel, waiting while it is full.
 * Pass the same item on every poll; it is copied only when the send completes.
 * May return WEFT_PENDING. Returns 0 once sent. Fails with WEFT_ECLOSED (closed or destroyed;
 * nothing sent), -ETIMEDOUT (the deadline passed while full; nothing sent), -ENOMEM (no wait
 * record could be allocated).
 */
int weft_chan_send_dl(weft_chan *ch, const void *item, int64_t deadline, weft_cx *cx);

/* weft_chan_send - weft_chan_send_dl with no deadline (a function of its own: the deadline's
 * tests are compiled out of it). */
int weft_chan_send(weft_chan *ch, const void *item, weft_cx *cx);

/*
 * weft_chan_recv_dl - take the oldest item into item (item_size bytes), waiting while the
 * channel is empty. May return WEFT_PENDING. Returns 0 with the item copied out. Fails with
 * WEFT_ECLOSED (closed and drained, or destroyed), -ETIMEDOUT (empty until the deadline; nothing
 * taken), -ENOMEM.
 */
int weft_chan_recv_dl(weft_chan *ch, void *item, int64_t deadline, weft_cx *cx);

/* weft_chan_recv - weft_chan_recv_dl with no deadline (a function of its own, as
 * weft_chan_send). */
int weft_chan_recv(weft_chan *ch, void *item, weft_cx *cx);

/*
 * weft_chan_try_send - send without waiting. Returns 0, -EAGAIN (no room that is not reserved
 * for a waiting sender), or WEFT_ECLOSED. Usable outside tasks (on the runtime's thread).
 */
int weft_chan_try_send(weft_chan *ch, const void *item);

/*
 * weft_chan_try_recv - receive without waiting. Returns 0 with the item copied out, -EAGAIN (no
 * item that is not reserved for a waiting receiver), or WEFT_ECLOSED (closed and drained).
 */
int weft_chan_try_recv(weft_chan *ch, void *item);

/* weft_chan_len - items buffered now. */
static inline size_t weft_chan_len(const weft_chan *ch)
{
    return ch->len;
}

/* ============================================================================================
 * 3. Oneshot: one value, once
 *
 * The sender never waits; the receiver waits for the value, or for the sender to give up
 * (weft_oneshot_close), which it sees as WEFT_ECLOSED. A channel of capacity one underneath.
 * ========================================================================================== */

/* weft_oneshot - a single-use slot for one value. Caller-allocated; fields are private. */
typedef struct weft_oneshot {
    weft_chan ch; /* capacity 1, closed by the send */
} weft_oneshot;

/*
 * weft_oneshot_init - prepare o; the value will be held in buf (size bytes, caller-owned, used
 * until weft_oneshot_destroy). Returns 0, -EINVAL or -ENOMEM. Never suspends.
 */
int weft_oneshot_init(weft_oneshot *o, weft_runtime *rt, void *buf, size_t size);

/*
 * weft_oneshot_send - deliver value (size bytes) and wake the receiver. Never suspends.
 * Returns 0, or WEFT_ECLOSED if a value was already sent or o was closed (nothing changes).
 */
int weft_oneshot_send(weft_oneshot *o, const void *value);

/*
 * weft_oneshot_recv_dl - wait for the value and copy it out. May return WEFT_PENDING. Returns 0;
 * fails with WEFT_ECLOSED (closed without a value, or the value was already taken),
 * -ETIMEDOUT, -ENOMEM.
 */
int weft_oneshot_recv_dl(weft_oneshot *o, void *value, int64_t deadline, weft_cx *cx);

/* weft_oneshot_recv - weft_oneshot_recv_dl with no deadline. */
static inline int weft_oneshot_recv(weft_oneshot *o, void *value, weft_cx *cx)
{
    return weft_oneshot_recv_dl(o, value, WEFT_NO_DEADLINE, cx);
}

/* weft_oneshot_close - the sender gives up: a receiver waiting or to come sees WEFT_ECLOSED. */
void weft_oneshot_close(weft_oneshot *o);

/* weft_oneshot_destroy - release o (as weft_chan_destroy; free o only once a woken receiver has
 * run: LIFETIME, at the top). */
void weft_oneshot_destroy(weft_oneshot *o);

/* ============================================================================================
 * 4. Notify: wake one waiter, or all of them
 *
 * A notification carries no value: "something changed, go and look". notify_one wakes the
 * longest-waiting task or, if none waits, stores ONE permit that the next wait consumes at once
 * (permits do not add up). notify_all wakes every task waiting now and stores nothing.
 * ========================================================================================== */

/* weft_notify - caller-allocated; fields are private. */
typedef struct weft_notify {
    weft_runtime *rt;
    weft_waitq q; /* waiters; the stored permit lives in the queue record */
} weft_notify;

/* weft_notify_init - prepare n with no permit stored. Returns 0, -EINVAL or -ENOMEM. */
int weft_notify_init(weft_notify *n, weft_runtime *rt);

/* weft_notify_destroy - release n; waiters are woken and see WEFT_ECLOSED. Free n only once
 * they have run (LIFETIME, at the top). */
void weft_notify_destroy(weft_notify *n);

/*
 * weft_notify_wait_dl - wait for a notification (or take the stored permit).
 * May return WEFT_PENDING. Returns 0 once notified. Fails with -ETIMEDOUT, WEFT_ECLOSED
 * (destroyed), -ENOMEM.
 */
int weft_notify_wait_dl(weft_notify *n, int64_t deadline, weft_cx *cx);

/* weft_notify_wait - weft_notify_wait_dl with no deadline. */
static inline int weft_notify_wait(weft_notify *n, weft_cx *cx)
{
    return weft_notify_wait_dl(n, WEFT_NO_DEADLINE, cx);
}

/* weft_notify_one - wake the longest-waiting task, or store the permit. Never suspends. */
void weft_notify_one(weft_notify *n);

/* weft_notify_all - wake every task waiting now. Stores no permit. Never suspends. */
void weft_notify_all(weft_notify *n);

/* ============================================================================================
 * 5. Semaphore: a count of permits
 * ========================================================================================== */

/* weft_semaphore - caller-allocated; fields are private. */
typedef struct weft_semaphore {
    weft_runtime *rt;
    size_t permits; /* available now */
    weft_waitq q;   /* tasks waiting for a permit */
} weft_semaphore;

/* weft_semaphore_init - start with `permits` permits. Returns 0, -EINVAL or -ENOMEM. */
int weft_semaphore_init(weft_semaphore *s, weft_runtime *rt, size_t permits);

/* weft_semaphore_destroy - release s; waiters are woken and see WEFT_ECLOSED. Free s only once
 * they have run (LIFETIME, at the top). */
void weft_semaphore_destroy(weft_semaphore *s);

/*
 * weft_semaphore_acquire_dl - take one permit, waiting (FIFO) until one is free.
 * May return WEFT_PENDING. Returns 0 holding a permit. Fails with -ETIMEDOUT, WEFT_ECLOSED,
 * -ENOMEM; no permit is held then.
 */
int weft_semaphore_acquire_dl(weft_semaphore *s, int64_t deadline, weft_cx *cx);

/* weft_semaphore_acquire - weft_semaphore_acquire_dl with no deadline. */
static inline int weft_semaphore_acquire(weft_semaphore *s, weft_cx *cx)
{
    return weft_semaphore_acquire_dl(s, WEFT_NO_DEADLINE, cx);
}

/* weft_semaphore_try_acquire - 0 holding a permit, or -EAGAIN (none free and unreserved). */
int weft_semaphore_try_acquire(weft_semaphore *s);

/* weft_semaphore_release - give one permit back (or add one), waking the next waiter. */
void weft_semaphore_release(weft_semaphore *s);

/* weft_semaphore_available - permits free now (some may be reserved for woken waiters). */
static inline size_t weft_semaphore_available(const weft_semaphore *s)
{
    return s->permits;
}

/* ============================================================================================
 * 6. Mutex: held across awaits
 *
 * A lock for data shared by tasks whose critical section itself awaits (a write to a socket, a
 * send on a channel). A semaphore of one permit: FIFO, not recursive. A task cancelled while
 * holding it does not unlock it: unlock in the task's WEFT_ON_CANCEL block.
 * ========================================================================================== */

/* weft_mutex - caller-allocated; fields are private. */
typedef struct weft_mutex {
    weft_semaphore sem; /* one permit: free when the mutex is unlocked */
} weft_mutex;

/* weft_mutex_init - an unlocked mutex. Returns 0, -EINVAL or -ENOMEM. */
int weft_mutex_init(weft_mutex *m, weft_runtime *rt);

/* weft_mutex_destroy - release m; waiters are woken and see WEFT_ECLOSED. Free m only once
 * they have run (LIFETIME, at the top). */
void weft_mutex_destroy(weft_mutex *m);

/*
 * weft_mutex_lock_dl - lock m, waiting (FIFO) while another task holds it. May return
 * WEFT_PENDING. Returns 0 holding the lock; fails with -ETIMEDOUT, WEFT_ECLOSED, -ENOMEM.
 */
int weft_mutex_lock_dl(weft_mutex *m, int64_t deadline, weft_cx *cx);

/* weft_mutex_lock - weft_mutex_lock_dl with no deadline. */
static inline int weft_mutex_lock(weft_mutex *m, weft_cx *cx)
{
    return weft_mutex_lock_dl(m, WEFT_NO_DEADLINE, cx);
}

/* weft_mutex_try_lock - 0 holding the lock, or -EBUSY. */
int weft_mutex_try_lock(weft_mutex *m);

/* weft_mutex_unlock - unlock m and wake the next waiter. Returns 0, or -EPERM if not locked. */
int weft_mutex_unlock(weft_mutex *m);

/* ============================================================================================
 * 7. Wait group: wait until a count of jobs reaches zero
 * ========================================================================================== */

/* weft_waitgroup - caller-allocated; fields are private. */
typedef struct weft_waitgroup {
    weft_runtime *rt;
    size_t count; /* jobs added and not yet done */
    weft_waitq q; /* tasks waiting for count == 0 */
} weft_waitgroup;

/* weft_waitgroup_init - a group with a count of 0. Returns 0, -EINVAL or -ENOMEM. */
int weft_waitgroup_init(weft_waitgroup *wg, weft_runtime *rt);

/* weft_waitgroup_destroy - release wg; waiters are woken and see WEFT_ECLOSED. Free wg only once
 * they have run (LIFETIME, at the top). */
void weft_waitgroup_destroy(weft_waitgroup *wg);

/* weft_waitgroup_add - count n more jobs. */
void weft_waitgroup_add(weft_waitgroup *wg, size_t n);

/*
 * weft_waitgroup_done - one job finished; at zero, every waiting task is woken.
 * Returns 0, or -EINVAL if the count was already zero (nothing changes).
 */
int weft_waitgroup_done(weft_waitgroup *wg);

/*
 * weft_waitgroup_wait_dl - wait until the count is zero. A waiter woken by the count reaching
 * zero returns 0 even if jobs were added again before it ran. May return WEFT_PENDING.
 * Fails with -ETIMEDOUT, WEFT_ECLOSED, -ENOMEM.
 */
int weft_waitgroup_wait_dl(weft_waitgroup *wg, int64_t deadline, weft_cx *cx);

/* weft_waitgroup_wait - weft_waitgroup_wait_dl with no deadline. */
static inline int weft_waitgroup_wait(weft_waitgroup *wg, weft_cx *cx)
{
    return weft_waitgroup_wait_dl(wg, WEFT_NO_DEADLINE, cx);
}

/* ============================================================================================
 * 8. Cross-thread: doors and xchan
 *
 * The runtime is single-threaded; other threads reach it through its inbox. A thread posts a
 * request (wake this task, this channel has a new item) under a lock, and wakes the runtime's
 * poll through the poll layer's waker (an eventfd) if it was not already woken; the runtime's
 * thread drains the inbox when that event comes back. Requests for the same thing coalesce, so
 * a burst of sends costs one poll wake-up. No wake-up is lost: a request posted after a drain
 * began wakes the poll again.
 *
 * Doors and channels are opened and destroyed on the runtime's thread. While one is open the
 * runtime waits for it — a task waiting only for another thread is not a deadlock. Other threads
 * must be done with a door before it is closed, and every door should be closed before the
 * runtime is.
 *
 * A DOOR LEFT OPEN when the runtime closes is a mistake that weft_runtime_close reports (-EBUSY,
 * and a message in debug builds), but not a crash. The close refuses every later request:
 * weft_remote_wake returns -EBADF; an xchan is closed, so its senders — blocked ones too, and
 * threads racing with the close — get WEFT_ECLOSED (an item that got in just before the close is
 * dropped with the runtime). The door or xchan must still be closed or destroyed, to free the
 * little the door shares with the runtime; that may then happen on any thread, once no other
 * thread uses it, and even after the weft_runtime itself was freed: a door never reads the
 * runtime again once it has closed.
 * ========================================================================================== */

struct weft__inbox; /* the runtime's inbox, shared with its doors (private) */

/* weft_remote - a door through which other threads may wake tasks. Caller-allocated. */
typedef struct weft_remote {
    struct weft__inbox *in; /* NULL once closed */
} weft_remote;

/*
 * weft_remote_open - open a door into rt (runtime's thread). The first door or xchan of a runtime
 * creates its inbox and poll waker (one eventfd). Returns 0, -ENOMEM or -errno (eventfd).
 */
int weft_remote_open(weft_remote *d, weft_runtime *rt);

/*
 * weft_remote_wake - wake the task w from any thread, as weft_waker_wake would on the runtime's
 * thread (a stale or finished w is ignored when the request is handled). Returns 0, -ENOMEM
 * (the request could not be queued), or -EBADF (the door is closed, or its runtime has closed).
 */
int weft_remote_wake(weft_remote *d, weft_waker w);

/*
 * weft_remote_close - close the door (runtime's thread, or any thread once the runtime has
 * closed); no other thread may still use it. Closing a closed door does nothing.
 */
void weft_remote_close(weft_remote *d);

/*
 * weft_xchan - a bounded channel that other threads send into and the runtime's tasks receive
 * from. Any mix of threads may send (MPSC; several receiving tasks are fine too). Items are
 * copied in and out as with weft_chan; order is FIFO per sending thread.
 */
typedef struct weft_xchan {
    weft_chan ch;         /* ring and wait queues; ring fields guarded by lock */
    weft_remote door;     /* how senders wake receivers */
    pthread_mutex_t lock; /* guards ch.head, ch.tail, ch.len, ch.closed */
    pthread_cond_t room;  /* blocked senders wait here while the ring is full */
    size_t blocked;       /* senders waiting on room */
    /* The runtime's list of open xchans, which weft_runtime_close closes. */
    struct weft_xchan *prev, *next;
} weft_xchan;

/*
 * weft_xchan_init - an open, empty channel (runtime's thread). buf holds cap items of item_size
 * bytes, as for weft_chan_init. Returns 0, -EINVAL, -ENOMEM or -errno.
 */
int weft_xchan_init(weft_xchan *x, weft_runtime *rt, void *buf, size_t item_size, size_t cap);

/*
 * weft_xchan_destroy - release x (runtime's thread, or any thread once the runtime has closed),
 * once no other thread uses it. Waiting tasks see WEFT_ECLOSED; buffered items are dropped.
 * Destroying twice is harmless; a receive after it returns WEFT_ECLOSED. Free x only once the
 * woken receivers have run (LIFETIME, at the top).
 */
void weft_xchan_destroy(weft_xchan *x);

/*
 * weft_xchan_send_blocking - from any thread but the runtime's: copy item in, blocking the
 * calling thread while the channel is full. Returns 0, or WEFT_ECLOSED (closed, or its runtime
 * closed, before or while waiting; nothing will be received), or -ENOMEM (the item is in, but
 * the request to wake a receiver could not be queued: the runtime then wakes every waiting task,
 * so it is not lost).
 */
int weft_xchan_send_blocking(weft_xchan *x, const void *item);

/* weft_xchan_try_send - from any thread: 0, -EAGAIN (full), WEFT_ECLOSED, or -ENOMEM as above. */
int weft_xchan_try_send(weft_xchan *x, const void *item);

/*
 * weft_xchan_close - from any thread: no more items. Blocked senders return WEFT_ECLOSED;
 * receivers drain what is buffered, then see WEFT_ECLOSED.
 */
void weft_xchan_close(weft_xchan *x);

/*
 * weft_xchan_recv_dl - in a task: take the oldest item, waiting while empty (FIFO among
 * receiving tasks). May return WEFT_PENDING. Returns 0; fails with WEFT_ECLOSED (closed and
 * drained), -ETIMEDOUT, -ENOMEM.
 */
int weft_xchan_recv_dl(weft_xchan *x, void *item, int64_t deadline, weft_cx *cx);

/* weft_xchan_recv - weft_xchan_recv_dl with no deadline. */
static inline int weft_xchan_recv(weft_xchan *x, void *item, weft_cx *cx)
{
    return weft_xchan_recv_dl(x, item, WEFT_NO_DEADLINE, cx);
}

/* ============================================================================================
 * 9. Statistics
 * ========================================================================================== */

/* weft_sync_stats - what the wait-queue machinery holds, for leak checks in tests. */
typedef struct weft_sync_stats {
    size_t queues;  /* wait queues not yet destroyed (two per channel, one per other object) */
    size_t waiters; /* tasks registered on a wait queue */
    size_t doors;   /* open cross-thread doors (weft_remote, weft_xchan) */
    size_t jobs;    /* blocking-pool jobs not yet collected or dropped (weft/blocking.h) */
} weft_sync_stats;

/* weft_sync_get_stats - fill st for rt. O(number of wait queues), for `waiters`. */
void weft_sync_get_stats(const weft_runtime *rt, weft_sync_stats *st);

#ifdef __cplusplus
}
#endif

#endif /* WEFT_SYNC_H */
