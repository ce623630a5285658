/*
 * Other threads talking to the runtime: the inbox, doors, and the cross-thread channel.
 *
 * The inbox is a growable array of requests under a mutex, plus a flag `poked` that says "the
 * poll waker has been woken and the inbox not drained since". A posting thread appends, and
 * wakes the poll only if nobody has yet; the runtime's thread, on the waker's event, swaps the
 * array for an empty one and clears the flag, both under the lock, then handles the requests
 * outside it. A request appended after the swap finds the flag clear and wakes the poll again,
 * so none is ever left waiting for a wake-up that already happened.
 *
 * LIFETIME. The inbox is a small heap object of its own, shared by the runtime and by every open
 * door, and counted: it goes when the last of them lets go. A door points at the inbox, never at
 * the runtime, so a door left open when the runtime closes stays safe to use even after the
 * caller has freed the weft_runtime: weft_runtime_close marks the inbox closed under its lock
 * (every later request is refused with -EBADF), closes each open xchan (its senders see
 * WEFT_ECLOSED), and drops its own reference. The poll waker is woken under the same lock, so no
 * thread writes to the eventfd after the close has begun.
 */
#include "runtime/ext.h"

#include <errno.h>
#include <stdlib.h>

/* ---------------------------------------------------------------------------------------------
 * The inbox
 * ------------------------------------------------------------------------------------------- */

struct weft__inbox {
    pthread_mutex_t lock;            /* guards everything below but `spare` */
    weft_poll_waker waker;           /* wakes the runtime's poll; written to under the lock */
    struct weft__inbox_entry *queue; /* pending requests */
    size_t len, cap;
    struct weft__inbox_entry *spare; /* the other buffer, drained outside the lock: only the
                                        runtime's thread touches it */
    size_t spare_cap;
    bool poked;         /* the waker was woken and the inbox not yet drained */
    bool lost;          /* a request could not be queued (no memory): the next drain wakes every
                           waiter, so that no wake-up is lost */
    bool closed;        /* the runtime closed: requests are refused */
    size_t refs;        /* the runtime (until it closes) and each open door: while the runtime
                           is open, the open doors are refs - 1 */
    weft_xchan *xchans; /* open xchans, closed with the runtime. Changed under the lock, on the
                           runtime's thread only, and never once `closed` is set */
};

int weft__inbox_prepare(weft_runtime *rt, struct weft__ext *x)
{
    if (x->in != NULL) return 0;
    struct weft__inbox *in = calloc(1, sizeof *in);
    if (in == NULL) return -ENOMEM;
    int r = -pthread_mutex_init(&in->lock, NULL);
    if (r < 0) goto fail_lock;
    r = weft_poll_waker_init(&in->waker, &rt->poll, WEFT__INBOX_TOKEN);
    if (r < 0) goto fail_waker;
    in->refs = 1; /* the runtime's */
    x->in = in;
    return 0;

fail_waker:
    pthread_mutex_destroy(&in->lock);
fail_lock:
    free(in);
    return r;
}

/* Drops one reference, freeing the inbox with the last. Called without the lock. */
static void inbox_unref(struct weft__inbox *in)
{
    pthread_mutex_lock(&in->lock);
    bool last = --in->refs == 0;
    pthread_mutex_unlock(&in->lock);
    if (!last) return;
    pthread_mutex_destroy(&in->lock);
    free(in);
}

size_t weft__inbox_doors(const struct weft__inbox *in)
{
    if (in == NULL) return 0; /* no door or job was ever made */
    return in->refs - 1;      /* changed only on the runtime's thread while it is open */
}

/* Folds the request into the last one if they name the same thing. Under the lock. */
static bool coalesce(struct weft__inbox *in, const struct weft__inbox_entry *e)
{
    if (in->len == 0) return false;
    struct weft__inbox_entry *last = &in->queue[in->len - 1];
    if (last->kind != e->kind || last->slot != e->slot || last->gen != e->gen) return false;
    last->n += e->n;
    return true;
}

/* Appends e. Under the lock. Returns 0 or -ENOMEM. */
static int append(struct weft__inbox *in, const struct weft__inbox_entry *e)
{
    if (coalesce(in, e)) return 0;
    if (in->len == in->cap) {
        size_t cap = in->cap ? in->cap * 2 : 64;
        struct weft__inbox_entry *q = realloc(in->queue, cap * sizeof *q);
        if (q == NULL) return -ENOMEM;
        in->queue = q;
        in->cap = cap;
    }
    in->queue[in->len++] = *e;
    return 0;
}

/* Wakes the poll unless that was done since the last drain. Under the lock, and only while the
 * runtime is open: so the eventfd is never written to once weft_runtime_close has closed it. */
static void poke_locked(struct weft__inbox *in)
{
    if (in->poked) return;
    in->poked = true;
    (void)weft_poll_waker_wake(&in->waker);
}

/*
 * A request that cannot be queued still wakes the poll, with `lost` set: the drain then wakes
 * every task parked on a wait queue. Waits re-check what they wait for and renew their
 * registration, so the waiter the request was for gets its item or its close, and the others
 * just park again. (A lost WAKE_TASK is reported to weft_remote_wake's caller instead.)
 */
int weft__inbox_post(struct weft__inbox *in, uint32_t kind, uint32_t slot, uint32_t gen, uint32_t n)
{
    struct weft__inbox_entry e = {kind, slot, gen, n};
    pthread_mutex_lock(&in->lock);
    int r = -EBADF;
    if (!in->closed) {
        r = append(in, &e);
        if (r < 0) in->lost = true;
        poke_locked(in);
    }
    pthread_mutex_unlock(&in->lock);
    return r;
}

void weft__inbox_poke(struct weft__inbox *in)
{
    pthread_mutex_lock(&in->lock);
    if (!in->closed) poke_locked(in);
    pthread_mutex_unlock(&in->lock);
}

/* Carries out one request on the runtime's thread. */
static void handle(weft_runtime *rt, const struct weft__inbox_entry *e)
{
    weft_waitq q = {e->slot, e->gen};
    if (e->kind == WEFT__IN_WAKE_TASK) {
        weft_waker w = {e->slot, e->gen};
        weft_waker_wake(rt, w);
    } else if (e->kind == WEFT__IN_WAKE_QUEUE) {
        weft__waitq_wake(rt, &q, e->n);
    } else {
        struct weft__wq *wq = weft__waitq_lookup(rt, &q);
        if (wq == NULL) return;
        if (wq->len == 0 && wq->on_empty != NULL)
            wq->on_empty(rt, wq->owner); /* nobody waits for it any more (a dropped job) */
        else
            weft__waitq_wake_all(rt, &q);
    }
}

void weft__inbox_drain(weft_runtime *rt, struct weft__ext *x)
{
    struct weft__inbox *in = x->in;
    pthread_mutex_lock(&in->lock);
    struct weft__inbox_entry *batch = in->queue;
    size_t n = in->len, cap = in->cap;
    bool lost = in->lost;
    in->queue = in->spare;
    in->cap = in->spare_cap;
    in->len = 0;
    in->poked = false;
    in->lost = false;
    pthread_mutex_unlock(&in->lock);
    for (size_t i = 0; i < n; i++)
        handle(rt, &batch[i]);
    if (lost) weft__waitq_wake_every(rt, x);
    in->spare = batch;
    in->spare_cap = cap;
    if (x->pool != NULL) weft__pool_after_drain(rt, x);
}

/* Marks x closed and wakes its blocked senders; *q receives its receive queue. Returns whether
 * it was closed already. Under x's lock (taken here). */
static bool xchan_mark_closed(weft_xchan *x, weft_waitq *q)
{
    pthread_mutex_lock(&x->lock);
    bool was = x->ch.closed;
    x->ch.closed = true;
    pthread_cond_broadcast(&x->room);
    *q = x->ch.recvq;
    pthread_mutex_unlock(&x->lock);
    return was;
}

/* Closes every xchan still open, as weft_xchan_close would, so that its senders (blocked ones
 * too) see WEFT_ECLOSED instead of feeding a runtime that is gone. The list changes only on the
 * runtime's thread, which this is, so the walk needs no lock but each xchan's own. */
static void close_xchans(struct weft__inbox *in)
{
    weft_waitq q;
    for (weft_xchan *x = in->xchans; x != NULL; x = x->next)
        (void)xchan_mark_closed(x, &q);
}

/*
 * The runtime closes. The xchans are closed first, so that a sender that hears WEFT_ECLOSED from
 * a refused request (push_locked) hears it from every later send too. From the moment `closed` is
 * set (under the lock) no thread queues a request or wakes the poll, so the waker and the buffers
 * can go. The inbox itself stays for the doors still open, if any; they now report -EBADF.
 * Returns how many were.
 */
size_t weft__inbox_free(weft_runtime *rt, struct weft__ext *x)
{
    struct weft__inbox *in = x->in;
    if (in == NULL) return 0;
    x->in = NULL;
    close_xchans(in);
    pthread_mutex_lock(&in->lock);
    in->closed = true;
    size_t left = in->refs - 1; /* the open doors */
    free(in->queue);
    in->queue = NULL;
    in->len = in->cap = 0;
    pthread_mutex_unlock(&in->lock);
    weft_poll_waker_close(&in->waker, &rt->poll);
    free(in->spare);
    in->spare = NULL;
    inbox_unref(in);
    return left;
}

/* ---------------------------------------------------------------------------------------------
 * Doors
 * ------------------------------------------------------------------------------------------- */

/* Opens d on the runtime's inbox, and registers xc (if not NULL) to be closed with the runtime. */
static int door_open(weft_remote *d, weft_runtime *rt, weft_xchan *xc)
{
    d->in = NULL;
    struct weft__ext *x = weft__ext_get(rt);
    if (x == NULL) return -ENOMEM;
    int r = weft__inbox_prepare(rt, x);
    if (r < 0) return r;
    struct weft__inbox *in = x->in;
    pthread_mutex_lock(&in->lock);
    in->refs++;
    if (xc != NULL) {
        xc->prev = NULL;
        xc->next = in->xchans;
        if (in->xchans != NULL) in->xchans->prev = xc;
        in->xchans = xc;
    }
    pthread_mutex_unlock(&in->lock);
    d->in = in;
    return 0;
}

/*
 * Closes d (and unregisters xc, if not NULL). Returns whether the runtime was still open: if it
 * was not, it has already released everything the door's owner had in it.
 */
static bool door_close(weft_remote *d, weft_xchan *xc)
{
    struct weft__inbox *in = d->in;
    d->in = NULL;
    pthread_mutex_lock(&in->lock);
    bool open = !in->closed;
    if (open && xc != NULL) {
        if (xc->prev != NULL)
            xc->prev->next = xc->next;
        else
            in->xchans = xc->next;
        if (xc->next != NULL) xc->next->prev = xc->prev;
    }
    pthread_mutex_unlock(&in->lock);
    inbox_unref(in);
    return open;
}

int weft_remote_open(weft_remote *d, weft_runtime *rt)
{
    return door_open(d, rt, NULL);
}

int weft_remote_wake(weft_remote *d, weft_waker w)
{
    if (d->in == NULL) return -EBADF;
    return weft__inbox_post(d->in, WEFT__IN_WAKE_TASK, w.slot, w.gen, 1);
}

void weft_remote_close(weft_remote *d)
{
    if (d->in != NULL) (void)door_close(d, NULL);
}

/* ---------------------------------------------------------------------------------------------
 * The cross-thread channel
 *
 * The ring (head, len, closed) is shared, so every access to it holds x->lock. The wait queues
 * are the runtime's and only its thread touches them: a sending thread does not wake receivers
 * itself, it posts "one more item for this queue" to the inbox, and the runtime's thread gives
 * out the turns. Threads blocked on a full ring wait on a condition variable instead.
 * ------------------------------------------------------------------------------------------- */

int weft_xchan_init(weft_xchan *x, weft_runtime *rt, void *buf, size_t item_size, size_t cap)
{
    x->blocked = 0;
    int r = weft_chan_init(&x->ch, rt, buf, item_size, cap);
    if (r < 0) return r;
    r = -pthread_mutex_init(&x->lock, NULL);
    if (r < 0) goto fail_lock;
    r = -pthread_cond_init(&x->room, NULL);
    if (r < 0) goto fail_cond;
    r = door_open(&x->door, rt, x); /* last: from here on, weft_runtime_close may close x */
    if (r < 0) goto fail_door;
    return 0;

fail_door:
    pthread_cond_destroy(&x->room);
fail_cond:
    pthread_mutex_destroy(&x->lock);
fail_lock:
    weft_chan_destroy(&x->ch);
    return r;
}

/* After weft_runtime_close, x's wait queues are gone with the runtime (which the caller may have
 * freed by now): only what x itself holds is left to release. */
void weft_xchan_destroy(weft_xchan *x)
{
    if (x->door.in == NULL) return;
    bool open = door_close(&x->door, x);
    pthread_cond_destroy(&x->room);
    pthread_mutex_destroy(&x->lock);
    if (open) weft_chan_destroy(&x->ch);
}

/*
 * Pushes item (under the lock, room known) and asks the runtime to give a receiver a turn. The
 * runtime may close between the two (it closes x only after refusing requests): the item is then
 * never received, which the caller hears as WEFT_ECLOSED.
 */
static int push_locked(weft_xchan *x, const void *item)
{
    weft__ring_push(&x->ch, item);
    weft_waitq q = x->ch.recvq;
    pthread_mutex_unlock(&x->lock);
    int r = weft__inbox_post(x->door.in, WEFT__IN_WAKE_QUEUE, q.slot, q.gen, 1);
    return r == -EBADF ? WEFT_ECLOSED : r;
}

int weft_xchan_send_blocking(weft_xchan *x, const void *item)
{
    pthread_mutex_lock(&x->lock);
    while (!x->ch.closed && x->ch.len == x->ch.cap) {
        x->blocked++;
        pthread_cond_wait(&x->room, &x->lock);
        x->blocked--;
    }
    if (x->ch.closed) {
        pthread_mutex_unlock(&x->lock);
        return WEFT_ECLOSED;
    }
    return push_locked(x, item);
}

int weft_xchan_try_send(weft_xchan *x, const void *item)
{
    pthread_mutex_lock(&x->lock);
    int r = x->ch.closed ? WEFT_ECLOSED : x->ch.len == x->ch.cap ? -EAGAIN : 0;
    if (r != 0) {
        pthread_mutex_unlock(&x->lock);
        return r;
    }
    return push_locked(x, item);
}

void weft_xchan_close(weft_xchan *x)
{
    weft_waitq q;
    if (!xchan_mark_closed(x, &q))
        (void)weft__inbox_post(x->door.in, WEFT__IN_WAKE_ALL, q.slot, q.gen, 1);
}

/* A receiver woken by weft_xchan_destroy polls once more: it must not lock the mutex the destroy
 * has destroyed. Both run on the runtime's thread, so door.in, cleared by the destroy, tells. */
int weft_xchan_recv_dl(weft_xchan *x, void *item, int64_t deadline, weft_cx *cx)
{
    if (x->door.in == NULL) return WEFT_ECLOSED;
    pthread_mutex_lock(&x->lock);
    int r = weft__waitq_acquire(&x->ch.recvq, x->ch.len, x->ch.closed, deadline, cx);
    if (r == 0) {
        weft__ring_pop(&x->ch, item);
        if (x->blocked != 0) pthread_cond_signal(&x->room);
    }
    pthread_mutex_unlock(&x->lock);
    return r;
}
