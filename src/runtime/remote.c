/*
 * Other threads talking to the runtime: the inbox, doors, and the cross-thread channel.
 *
 * The inbox is a growable array of requests under a mutex, plus a flag `poked` that says "the
 * poll waker has been woken and the inbox not drained since". A posting thread appends, and
 * wakes the poll only if nobody has yet; the runtime's thread, on the waker's event, swaps the
 * array for an empty one and clears the flag, both under the lock, then handles the requests
 * outside it. A request appended after the swap finds the flag clear and wakes the poll again,
 * so none is ever left waiting for a wake-up that already happened.
 */
#include "runtime/ext.h"

#include <errno.h>
#include <stdlib.h>

/* ---------------------------------------------------------------------------------------------
 * The inbox
 * ------------------------------------------------------------------------------------------- */

int weft__inbox_prepare(weft_runtime *rt, struct weft__ext *x)
{
    if (!x->lock_ready) {
        int r = pthread_mutex_init(&x->lock, NULL);
        if (r != 0) return -r;
        x->lock_ready = true;
    }
    if (x->waker.fd < 0) return weft_poll_waker_init(&x->waker, &rt->poll, WEFT__INBOX_TOKEN);
    return 0;
}

/* Folds the request into the last one if they name the same thing. Under the lock. */
static bool coalesce(struct weft__ext *x, const struct weft__inbox_entry *e)
{
    if (x->inbox_len == 0) return false;
    struct weft__inbox_entry *last = &x->inbox[x->inbox_len - 1];
    if (last->kind != e->kind || last->slot != e->slot || last->gen != e->gen) return false;
    last->n += e->n;
    return true;
}

/* Appends e. Under the lock. Returns 0 or -ENOMEM. */
static int append(struct weft__ext *x, const struct weft__inbox_entry *e)
{
    if (coalesce(x, e)) return 0;
    if (x->inbox_len == x->inbox_cap) {
        size_t cap = x->inbox_cap ? x->inbox_cap * 2 : 64;
        struct weft__inbox_entry *in = realloc(x->inbox, cap * sizeof *in);
        if (in == NULL) return -ENOMEM;
        x->inbox = in;
        x->inbox_cap = cap;
    }
    x->inbox[x->inbox_len++] = *e;
    return 0;
}

/*
 * A request that cannot be queued still wakes the poll, with `lost` set: the drain then wakes
 * every task parked on a wait queue. Waits re-check what they wait for and renew their
 * registration, so the waiter the request was for gets its item or its close, and the others
 * just park again. (A lost WAKE_TASK is reported to weft_remote_wake's caller instead.)
 */
int weft__inbox_post(struct weft__ext *x, uint32_t kind, uint32_t slot, uint32_t gen, uint32_t n)
{
    struct weft__inbox_entry e = {kind, slot, gen, n};
    pthread_mutex_lock(&x->lock);
    int r = append(x, &e);
    if (r < 0) x->lost = true;
    bool poke = !x->poked;
    if (poke) x->poked = true;
    pthread_mutex_unlock(&x->lock);
    if (poke) (void)weft_poll_waker_wake(&x->waker);
    return r;
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
    pthread_mutex_lock(&x->lock);
    struct weft__inbox_entry *batch = x->inbox;
    size_t n = x->inbox_len, cap = x->inbox_cap;
    bool lost = x->lost;
    x->inbox = x->spare;
    x->inbox_cap = x->spare_cap;
    x->inbox_len = 0;
    x->poked = false;
    x->lost = false;
    pthread_mutex_unlock(&x->lock);
    for (size_t i = 0; i < n; i++)
        handle(rt, &batch[i]);
    if (lost) weft__waitq_wake_every(rt, x);
    x->spare = batch; /* only this thread touches the spare buffer */
    x->spare_cap = cap;
    if (x->pool != NULL) weft__pool_after_drain(rt, x);
}

size_t weft__inbox_free(weft_runtime *rt, struct weft__ext *x)
{
    size_t left = x->doors;
    weft_poll_waker_close(&x->waker, &rt->poll);
    if (x->lock_ready) pthread_mutex_destroy(&x->lock);
    x->lock_ready = false;
    free(x->inbox);
    free(x->spare);
    x->inbox = x->spare = NULL;
    x->inbox_len = x->inbox_cap = x->spare_cap = 0;
    x->doors = 0;
    return left;
}

/* ---------------------------------------------------------------------------------------------
 * Doors
 * ------------------------------------------------------------------------------------------- */

int weft_remote_open(weft_remote *d, weft_runtime *rt)
{
    d->rt = NULL;
    struct weft__ext *x = weft__ext_get(rt);
    if (x == NULL) return -ENOMEM;
    int r = weft__inbox_prepare(rt, x);
    if (r < 0) return r;
    x->doors++;
    d->rt = rt;
    return 0;
}

int weft_remote_wake(weft_remote *d, weft_waker w)
{
    if (d->rt == NULL) return -EBADF;
    return weft__inbox_post(d->rt->ext, WEFT__IN_WAKE_TASK, w.slot, w.gen, 1);
}

void weft_remote_close(weft_remote *d)
{
    if (d->rt == NULL) return;
    d->rt->ext->doors--;
    d->rt = NULL;
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
    r = weft_remote_open(&x->door, rt);
    if (r < 0) goto fail_door;
    r = -pthread_mutex_init(&x->lock, NULL);
    if (r < 0) goto fail_lock;
    r = -pthread_cond_init(&x->room, NULL);
    if (r < 0) goto fail_cond;
    return 0;

fail_cond:
    pthread_mutex_destroy(&x->lock);
fail_lock:
    weft_remote_close(&x->door);
fail_door:
    weft_chan_destroy(&x->ch);
    return r;
}

void weft_xchan_destroy(weft_xchan *x)
{
    if (x->door.rt == NULL) return;
    weft_remote_close(&x->door);
    pthread_cond_destroy(&x->room);
    pthread_mutex_destroy(&x->lock);
    weft_chan_destroy(&x->ch);
}

/* Pushes item (under the lock, room known) and asks the runtime to give a receiver a turn. */
static int push_locked(weft_xchan *x, const void *item)
{
    weft__ring_push(&x->ch, item);
    weft_waitq q = x->ch.recvq;
    pthread_mutex_unlock(&x->lock);
    return weft__inbox_post(x->door.rt->ext, WEFT__IN_WAKE_QUEUE, q.slot, q.gen, 1);
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
    pthread_mutex_lock(&x->lock);
    bool was = x->ch.closed;
    x->ch.closed = true;
    pthread_cond_broadcast(&x->room);
    weft_waitq q = x->ch.recvq;
    pthread_mutex_unlock(&x->lock);
    if (!was) (void)weft__inbox_post(x->door.rt->ext, WEFT__IN_WAKE_ALL, q.slot, q.gen, 1);
}

int weft_xchan_recv_dl(weft_xchan *x, void *item, int64_t deadline, weft_cx *cx)
{
    pthread_mutex_lock(&x->lock);
    int r = weft__waitq_acquire(&x->ch.recvq, x->ch.len, x->ch.closed, deadline, cx);
    if (r == 0) {
        weft__ring_pop(&x->ch, item);
        if (x->blocked != 0) pthread_cond_signal(&x->room);
    }
    pthread_mutex_unlock(&x->lock);
    return r;
}
