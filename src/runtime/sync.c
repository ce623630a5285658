/*
 * Channels, oneshot, notify, semaphore, mutex, wait group: each is a little state (a ring, a
 * count) plus one or two wait queues (waitq.c), which do the waiting, the FIFO order and the
 * passing on of turns. Every waiting operation has the same shape:
 *
 *     1. can I take what I wait for (an item, a free slot, a permit)?  take it, done;
 *     2. is it over (closed, deadline passed)?                          leave the queue;
 *     3. otherwise register, or renew my place, in the queue:           WEFT_PENDING.
 *
 * and every operation that makes something available wakes one waiter (a turn) or all of them.
 */
#include "runtime/ext.h"

#include <errno.h>
#include <string.h>

/* ---------------------------------------------------------------------------------------------
 * Channels
 * ------------------------------------------------------------------------------------------- */

/* The ring is kept in byte offsets (head, tail), so that finding an item is an addition: no
 * multiplication by the item size, no wrap of an index. */

/* The offset of the item after the one at off, wrapping at the end of the ring. */
static inline size_t ring_next(const weft_chan *ch, size_t off)
{
    off += ch->item_size;
    return off == ch->bytes ? 0 : off;
}

/* memcpy of an item of 4 or 8 bytes (an int, a pointer) as a plain move. Returns false, copying
 * nothing, for other sizes. */
static inline bool plain_copy(void *dst, const void *src, size_t size)
{
    if (size == sizeof(uint32_t))
        memcpy(dst, src, sizeof(uint32_t));
    else if (size == sizeof(uint64_t))
        memcpy(dst, src, sizeof(uint64_t));
    else
        return false;
    return true;
}

/* memcpy of one item; the usual sizes as plain moves rather than a call. */
static void item_copy(void *dst, const void *src, size_t size)
{
    if (!plain_copy(dst, src, size)) memcpy(dst, src, size);
}

/* An item has been copied in at the back: count it. */
static inline void ring_pushed(weft_chan *ch)
{
    ch->tail = ring_next(ch, ch->tail);
    ch->len++;
}

/* The front item has been copied out: drop it. */
static inline void ring_popped(weft_chan *ch)
{
    ch->head = ring_next(ch, ch->head);
    ch->len--;
}

void weft__ring_push(weft_chan *ch, const void *item)
{
    item_copy(ch->buf + ch->tail, item, ch->item_size);
    ring_pushed(ch);
}

void weft__ring_pop(weft_chan *ch, void *item)
{
    item_copy(item, ch->buf + ch->head, ch->item_size);
    ring_popped(ch);
}

/* weft__ring_push and _pop for items of 4 or 8 bytes, without a call, so that a channel operation
 * that goes straight through holds nothing across one and saves no register. Return false,
 * doing nothing, for other sizes. */
static inline bool ring_push_plain(weft_chan *ch, const void *item)
{
    size_t at = ch->tail, next = ring_next(ch, at); /* read before the copy, which may alias */
    if (!plain_copy(ch->buf + at, item, ch->item_size)) return false;
    ch->tail = next;
    ch->len++;
    return true;
}

static inline bool ring_pop_plain(weft_chan *ch, void *item)
{
    size_t at = ch->head, next = ring_next(ch, at);
    if (!plain_copy(item, ch->buf + at, ch->item_size)) return false;
    ch->head = next;
    ch->len--;
    return true;
}

/* One item or one slot became available: hand the turn to the other side's first waiter. */
static void chan_wake_peer(weft_runtime *rt, struct weft__wq *wq, const weft_waitq *peer_q)
{
    if (wq != NULL) weft__waitq_wake_one_fast(rt, wq->peer, peer_q);
}

/* The same, when the caller has not looked up a queue of the channel. */
static void chan_wake(weft_runtime *rt, const weft_waitq *q)
{
    struct weft__wq *wq = weft__waitq_lookup(rt, q);
    if (wq != NULL) weft__waitq_wake_one_fast(rt, wq, q);
}

int weft_chan_init(weft_chan *ch, weft_runtime *rt, void *buf, size_t item_size, size_t cap)
{
    *ch = (weft_chan){.closed = true};
    if (rt == NULL || buf == NULL || item_size == 0 || cap == 0) return -EINVAL;
    if (cap > SIZE_MAX / item_size) return -EINVAL;
    int r = weft__waitq_open(rt, &ch->recvq);
    if (r < 0) return r;
    r = weft__waitq_open(rt, &ch->sendq);
    if (r < 0) {
        weft__waitq_close(rt, &ch->recvq);
        return r;
    }
    struct weft__wq *recv = weft__waitq_lookup(rt, &ch->recvq);
    struct weft__wq *send = weft__waitq_lookup(rt, &ch->sendq);
    recv->peer = send; /* both close together, in weft_chan_destroy */
    send->peer = recv;
    ch->recv_rec = recv;
    ch->send_rec = send;
    ch->rt = rt;
    ch->buf = buf;
    ch->item_size = item_size;
    ch->cap = cap;
    ch->bytes = cap * item_size;
    ch->closed = false;
    return 0;
}

void weft_chan_destroy(weft_chan *ch)
{
    if (ch->rt == NULL) return;
    weft__waitq_close(ch->rt, &ch->recvq);
    weft__waitq_close(ch->rt, &ch->sendq);
    ch->recv_rec = ch->send_rec = NULL; /* the runtime may close next: no pointer into it */
    ch->closed = true;
    ch->len = ch->head = ch->tail = 0;
}

void weft_chan_close(weft_chan *ch)
{
    if (ch->closed || ch->rt == NULL) return;
    ch->closed = true;
    weft__waitq_wake_all(ch->rt, &ch->recvq);
    weft__waitq_wake_all(ch->rt, &ch->sendq);
}

/*
 * The end of a send that may go ahead: the item in, a waiting receiver woken. Out of line, so
 * that with items of 4 or 8 bytes the inline fast path holds nothing across a call (see
 * ring_push_plain); other sizes and the general path end here.
 */
static WEFT__NOINLINE int chan_send_finish(weft_chan *ch, const void *item, struct weft__wq *wq)
{
    weft__ring_push(ch, item);
    chan_wake_peer(ch->rt, wq, &ch->recvq);
    return 0;
}

/* The same for a receive: the item out, a waiting sender woken (there is room now). */
static WEFT__NOINLINE int chan_recv_finish(weft_chan *ch, void *item, struct weft__wq *wq)
{
    weft__ring_pop(ch, item);
    chan_wake_peer(ch->rt, wq, &ch->sendq);
    return 0;
}

/*
 * A send that could not take a slot at once: steps 1 to 3 through the queue (the inline fast
 * path has already said no), then the item in. Out of line: the send that goes straight
 * through then saves no registers.
 */
static WEFT__NOINLINE int chan_send_general(weft_chan *ch, const void *item, struct weft__wq *wq,
                                            int64_t deadline, weft_cx *cx)
{
    int r = weft__waitq_acquire(&ch->sendq, ch->cap - ch->len, false, deadline, cx);
    return r != 0 ? r : chan_send_finish(ch, item, wq);
}

/* The same for a receive. */
static WEFT__NOINLINE int chan_recv_general(weft_chan *ch, void *item, struct weft__wq *wq,
                                            int64_t deadline, weft_cx *cx)
{
    int r = weft__waitq_acquire(&ch->recvq, ch->len, ch->closed, deadline, cx);
    return r != 0 ? r : chan_recv_finish(ch, item, wq);
}

/* A send with no deadline that found the channel full (wq: its live queue): park in the fast
 * slot (the usual case), or the general path. Out of line as well, and apart from the general
 * path, so that parking saves no registers either. */
static WEFT__NOINLINE int chan_send_park(weft_chan *ch, const void *item, struct weft__wq *wq,
                                         weft_cx *cx)
{
    int r = weft__waitq_park_fast(wq, ch->sendq.slot, cx);
    return r != 0 ? r : chan_send_general(ch, item, wq, WEFT_NO_DEADLINE, cx);
}

/* The same for a receive that found the channel empty: it parks only if not closed. */
static WEFT__NOINLINE int chan_recv_park(weft_chan *ch, void *item, struct weft__wq *wq,
                                         weft_cx *cx)
{
    int r = ch->closed ? 0 : weft__waitq_park_fast(wq, ch->recvq.slot, cx);
    return r != 0 ? r : chan_recv_general(ch, item, wq, WEFT_NO_DEADLINE, cx);
}

/* weft_chan_send_dl, inline into it and into weft_chan_send, where the deadline is a constant. */
static inline int chan_send(weft_chan *ch, const void *item, int64_t deadline, weft_cx *cx)
{
    if (ch->closed) {
        weft__waitq_leave(&ch->sendq, cx);
        return WEFT_ECLOSED;
    }
    struct weft__wq *wq = weft__waitq_cached(ch->send_rec, &ch->sendq);
    if (wq == NULL) return chan_send_general(ch, item, wq, deadline, cx); /* stale: ECLOSED */
    if (ch->len == ch->cap)
        return deadline == WEFT_NO_DEADLINE ? chan_send_park(ch, item, wq, cx)
                                            : chan_send_general(ch, item, wq, deadline, cx);
    if (!weft__waitq_take_fast(wq, cx)) return chan_send_general(ch, item, wq, deadline, cx);
    if (!ring_push_plain(ch, item)) return chan_send_finish(ch, item, wq);
    chan_wake_peer(ch->rt, wq, &ch->recvq);
    return 0;
}

/* weft_chan_recv_dl, inline into it and into weft_chan_recv. */
static inline int chan_recv(weft_chan *ch, void *item, int64_t deadline, weft_cx *cx)
{
    struct weft__wq *wq = weft__waitq_cached(ch->recv_rec, &ch->recvq);
    if (wq == NULL) return chan_recv_general(ch, item, wq, deadline, cx); /* stale: ECLOSED */
    if (ch->len == 0)
        return deadline == WEFT_NO_DEADLINE ? chan_recv_park(ch, item, wq, cx)
                                            : chan_recv_general(ch, item, wq, deadline, cx);
    if (!weft__waitq_take_fast(wq, cx)) return chan_recv_general(ch, item, wq, deadline, cx);
    if (!ring_pop_plain(ch, item)) return chan_recv_finish(ch, item, wq);
    chan_wake_peer(ch->rt, wq, &ch->sendq);
    return 0;
}

int weft_chan_send_dl(weft_chan *ch, const void *item, int64_t deadline, weft_cx *cx)
{
    return chan_send(ch, item, deadline, cx);
}

int weft_chan_send(weft_chan *ch, const void *item, weft_cx *cx)
{
    return chan_send(ch, item, WEFT_NO_DEADLINE, cx);
}

int weft_chan_recv_dl(weft_chan *ch, void *item, int64_t deadline, weft_cx *cx)
{
    return chan_recv(ch, item, deadline, cx);
}

int weft_chan_recv(weft_chan *ch, void *item, weft_cx *cx)
{
    return chan_recv(ch, item, WEFT_NO_DEADLINE, cx);
}

int weft_chan_try_send(weft_chan *ch, const void *item)
{
    if (ch->closed) return WEFT_ECLOSED;
    if (ch->cap - ch->len <= weft__waitq_reserved(ch->rt, &ch->sendq)) return -EAGAIN;
    weft__ring_push(ch, item);
    chan_wake(ch->rt, &ch->recvq);
    return 0;
}

int weft_chan_try_recv(weft_chan *ch, void *item)
{
    if (ch->len > 0 && ch->len > weft__waitq_reserved(ch->rt, &ch->recvq)) {
        weft__ring_pop(ch, item);
        chan_wake(ch->rt, &ch->sendq);
        return 0;
    }
    return ch->closed && ch->len == 0 ? WEFT_ECLOSED : -EAGAIN;
}

/* ---------------------------------------------------------------------------------------------
 * Oneshot: a channel of one item that the send closes
 * ------------------------------------------------------------------------------------------- */

int weft_oneshot_init(weft_oneshot *o, weft_runtime *rt, void *buf, size_t size)
{
    return weft_chan_init(&o->ch, rt, buf, size, 1);
}

int weft_oneshot_send(weft_oneshot *o, const void *value)
{
    if (o->ch.closed) return WEFT_ECLOSED;
    weft__ring_push(&o->ch, value);
    weft_chan_close(&o->ch); /* wakes the receiver too */
    return 0;
}

int weft_oneshot_recv_dl(weft_oneshot *o, void *value, int64_t deadline, weft_cx *cx)
{
    return weft_chan_recv_dl(&o->ch, value, deadline, cx);
}

void weft_oneshot_close(weft_oneshot *o)
{
    weft_chan_close(&o->ch);
}

void weft_oneshot_destroy(weft_oneshot *o)
{
    weft_chan_destroy(&o->ch);
}

/* ---------------------------------------------------------------------------------------------
 * Notify
 * ------------------------------------------------------------------------------------------- */

int weft_notify_init(weft_notify *n, weft_runtime *rt)
{
    n->rt = rt;
    if (rt == NULL) return -EINVAL;
    return weft__waitq_open(rt, &n->q);
}

void weft_notify_destroy(weft_notify *n)
{
    if (n->rt != NULL) weft__waitq_close(n->rt, &n->q);
}

int weft_notify_wait_dl(weft_notify *n, int64_t deadline, weft_cx *cx)
{
    struct weft__wq *wq = weft__waitq_lookup(cx->rt, &n->q);
    if (wq == NULL) return WEFT_ECLOSED;
    if (weft__waitq_flags(&n->q, cx) & (WEFT__WN_ONE | WEFT__WN_ALL)) {
        weft__waitq_done(&n->q, cx);
        return 0;
    }
    if (wq->permit) {
        wq->permit = 0;
        weft__waitq_done(&n->q, cx);
        return 0;
    }
    if (weft__deadline_due(cx, deadline)) {
        weft__waitq_leave(&n->q, cx);
        return -ETIMEDOUT;
    }
    return weft__waitq_park(&n->q, cx);
}

void weft_notify_one(weft_notify *n)
{
    struct weft__wq *wq = weft__waitq_lookup(n->rt, &n->q);
    if (wq != NULL && weft__waitq_wake(n->rt, &n->q, 1) == 0) wq->permit = 1;
}

void weft_notify_all(weft_notify *n)
{
    weft__waitq_wake_all(n->rt, &n->q);
}

/* ---------------------------------------------------------------------------------------------
 * Semaphore and mutex
 * ------------------------------------------------------------------------------------------- */

int weft_semaphore_init(weft_semaphore *s, weft_runtime *rt, size_t permits)
{
    s->rt = rt;
    s->permits = permits;
    if (rt == NULL) return -EINVAL;
    return weft__waitq_open(rt, &s->q);
}

void weft_semaphore_destroy(weft_semaphore *s)
{
    if (s->rt != NULL) weft__waitq_close(s->rt, &s->q);
}

int weft_semaphore_acquire_dl(weft_semaphore *s, int64_t deadline, weft_cx *cx)
{
    int r = weft__waitq_acquire(&s->q, s->permits, false, deadline, cx);
    if (r == 0) s->permits--;
    return r;
}

int weft_semaphore_try_acquire(weft_semaphore *s)
{
    if (s->permits <= weft__waitq_reserved(s->rt, &s->q)) return -EAGAIN;
    s->permits--;
    return 0;
}

void weft_semaphore_release(weft_semaphore *s)
{
    s->permits++;
    weft__waitq_wake(s->rt, &s->q, 1);
}

int weft_mutex_init(weft_mutex *m, weft_runtime *rt)
{
    return weft_semaphore_init(&m->sem, rt, 1);
}

void weft_mutex_destroy(weft_mutex *m)
{
    weft_semaphore_destroy(&m->sem);
}

int weft_mutex_lock_dl(weft_mutex *m, int64_t deadline, weft_cx *cx)
{
    return weft_semaphore_acquire_dl(&m->sem, deadline, cx);
}

int weft_mutex_try_lock(weft_mutex *m)
{
    return weft_semaphore_try_acquire(&m->sem) == 0 ? 0 : -EBUSY;
}

int weft_mutex_unlock(weft_mutex *m)
{
    if (m->sem.permits != 0) return -EPERM;
    weft_semaphore_release(&m->sem);
    return 0;
}

/* ---------------------------------------------------------------------------------------------
 * Wait group
 * ------------------------------------------------------------------------------------------- */

int weft_waitgroup_init(weft_waitgroup *wg, weft_runtime *rt)
{
    wg->rt = rt;
    wg->count = 0;
    if (rt == NULL) return -EINVAL;
    return weft__waitq_open(rt, &wg->q);
}

void weft_waitgroup_destroy(weft_waitgroup *wg)
{
    if (wg->rt != NULL) weft__waitq_close(wg->rt, &wg->q);
}

void weft_waitgroup_add(weft_waitgroup *wg, size_t n)
{
    wg->count += n;
}

int weft_waitgroup_done(weft_waitgroup *wg)
{
    if (wg->count == 0) return -EINVAL;
    if (--wg->count == 0) weft__waitq_wake_all(wg->rt, &wg->q);
    return 0;
}

int weft_waitgroup_wait_dl(weft_waitgroup *wg, int64_t deadline, weft_cx *cx)
{
    if (weft__waitq_lookup(cx->rt, &wg->q) == NULL) return WEFT_ECLOSED;
    if (wg->count == 0 || (weft__waitq_flags(&wg->q, cx) & WEFT__WN_ALL)) {
        weft__waitq_done(&wg->q, cx);
        return 0;
    }
    if (weft__deadline_due(cx, deadline)) {
        weft__waitq_leave(&wg->q, cx);
        return -ETIMEDOUT;
    }
    return weft__waitq_park(&wg->q, cx);
}
