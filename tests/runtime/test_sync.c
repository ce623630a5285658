/*
 * Tests of weft/sync.h sections 1-7: channels (order, back-pressure, close, try-variants, FIFO
 * turns, a cancelled waiter passing its turn on, deadlines), oneshot, notify, semaphore, mutex,
 * wait group. Each test runs real tasks on a real runtime; the fixture checks that nothing is
 * left registered (tasks, fds, timers, wait queues, waiters).
 *
 * A lost wake-up shows up as weft_runtime_run returning -EDEADLK: no timer, no fd and no door is
 * left that could wake the task that waits, so the runtime reports it instead of hanging.
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>

#include "sync_test.h"

static void run_all(weft_runtime *rt)
{
    assert_int_equal(weft_runtime_run(rt), 0);
}

static size_t waiters(weft_runtime *rt)
{
    return sync_stats(rt).waiters;
}

/* ---------------------------------------------------------------------------------------------
 * Channel tasks
 * ------------------------------------------------------------------------------------------- */

/* Sends from .. from+count-1, then closes the channel if asked. */
struct sender {
    weft_co co;
    weft_chan *ch;
    int from, count, i, sent, result;
    bool close_after;
};

static int sender(void *frame, weft_cx *cx)
{
    struct sender *f = frame;
    WEFT_BEGIN(&f->co);
    for (f->i = f->from; f->i < f->from + f->count; f->i++) {
        WEFT_AWAIT(&f->co, f->result = weft_chan_send(f->ch, &f->i, cx));
        if (f->result != 0) WEFT_RETURN(&f->co, f->result);
        f->sent++;
    }
    if (f->close_after) weft_chan_close(f->ch);
    WEFT_END(&f->co, 0);
}

/* Receives up to max items (or until an error), recording them. */
struct receiver {
    weft_co co;
    weft_chan *ch;
    int64_t deadline; /* 0: none */
    int max, n, item, result;
    int got[128];
};

static int receiver(void *frame, weft_cx *cx)
{
    struct receiver *f = frame;
    WEFT_BEGIN(&f->co);
    while (f->n < f->max && f->n < 128) {
        WEFT_AWAIT(&f->co, f->result = weft_chan_recv_dl(
                               f->ch, &f->item, f->deadline ? f->deadline : WEFT_NO_DEADLINE, cx));
        if (f->result != 0) break;
        f->got[f->n++] = f->item;
    }
    WEFT_END(&f->co, f->result);
}

struct chan_fix {
    int storage[8];
    weft_chan ch;
};

static void chan_open(weft_runtime *rt, struct chan_fix *c, size_t cap)
{
    assert_true(cap <= 8);
    assert_int_equal(weft_chan_init(&c->ch, rt, c->storage, sizeof c->storage[0], cap), 0);
}

/* ---------------------------------------------------------------------------------------------
 * Channels
 * ------------------------------------------------------------------------------------------- */

static void chan_delivers_in_order_then_closed(void **state)
{
    weft_runtime *rt = rt_of(state);
    struct chan_fix c;
    chan_open(rt, &c, 4);
    struct sender s = {.ch = &c.ch, .from = 0, .count = 100, .close_after = true};
    struct receiver r = {.ch = &c.ch, .max = 128};
    assert_int_equal(weft_task_spawn(rt, receiver, &r, NULL), 0);
    assert_int_equal(weft_task_spawn(rt, sender, &s, NULL), 0);
    run_all(rt);
    assert_int_equal(r.n, 100);
    for (int i = 0; i < 100; i++)
        assert_int_equal(r.got[i], i);
    assert_int_equal(r.result, WEFT_ECLOSED);
    weft_chan_destroy(&c.ch);
}

static void chan_fast_sender_suspends_when_full(void **state)
{
    weft_runtime *rt = rt_of(state);
    struct chan_fix c;
    chan_open(rt, &c, 2);
    struct sender s = {.ch = &c.ch, .from = 0, .count = 5};
    weft_task st;
    assert_int_equal(weft_task_spawn(rt, sender, &s, &st), 0);
    weft_runtime_run_ready(rt);
    /* Two items fit; the third send waits. */
    assert_int_equal(s.sent, 2);
    assert_int_equal(weft_chan_len(&c.ch), 2);
    weft_task_info info;
    assert_int_equal(weft_task_inspect(rt, st, &info), 0);
    assert_int_equal(info.state, WEFT_TASK_WAITING);
    assert_int_equal(waiters(rt), 1);
    /* Taking one item lets exactly one more in. */
    int v;
    assert_int_equal(weft_chan_try_recv(&c.ch, &v), 0);
    assert_int_equal(v, 0);
    weft_runtime_run_ready(rt);
    assert_int_equal(s.sent, 3);
    struct receiver r = {.ch = &c.ch, .max = 4};
    assert_int_equal(weft_task_spawn(rt, receiver, &r, NULL), 0);
    run_all(rt);
    assert_int_equal(weft_task_result(rt, st), 0);
    assert_int_equal(r.n, 4);
    for (int i = 0; i < 4; i++)
        assert_int_equal(r.got[i], i + 1);
    weft_chan_destroy(&c.ch);
}

static void chan_close_keeps_buffered_items(void **state)
{
    weft_runtime *rt = rt_of(state);
    struct chan_fix c;
    chan_open(rt, &c, 4);
    for (int i = 10; i < 13; i++)
        assert_int_equal(weft_chan_try_send(&c.ch, &i), 0);
    weft_chan_close(&c.ch);
    int v = 99;
    assert_int_equal(weft_chan_try_send(&c.ch, &v), WEFT_ECLOSED);
    struct receiver r = {.ch = &c.ch, .max = 128};
    assert_int_equal(weft_task_spawn(rt, receiver, &r, NULL), 0);
    run_all(rt);
    assert_int_equal(r.n, 3);
    assert_int_equal(r.got[0], 10);
    assert_int_equal(r.got[2], 12);
    assert_int_equal(r.result, WEFT_ECLOSED);
    assert_int_equal(weft_chan_try_recv(&c.ch, &v), WEFT_ECLOSED);
    weft_chan_destroy(&c.ch);
}

static void chan_close_wakes_waiting_senders_and_receivers(void **state)
{
    weft_runtime *rt = rt_of(state);
    struct chan_fix full, empty;
    chan_open(rt, &full, 1);
    chan_open(rt, &empty, 1);
    int v = 1;
    assert_int_equal(weft_chan_try_send(&full.ch, &v), 0);
    struct sender s = {.ch = &full.ch, .count = 1};
    struct receiver r = {.ch = &empty.ch, .max = 1};
    assert_int_equal(weft_task_spawn(rt, sender, &s, NULL), 0);
    assert_int_equal(weft_task_spawn(rt, receiver, &r, NULL), 0);
    weft_runtime_run_ready(rt);
    assert_int_equal(waiters(rt), 2);
    weft_chan_close(&full.ch);
    weft_chan_close(&empty.ch);
    run_all(rt);
    assert_int_equal(s.result, WEFT_ECLOSED);
    assert_int_equal(s.sent, 0);
    assert_int_equal(r.result, WEFT_ECLOSED);
    weft_chan_destroy(&full.ch);
    weft_chan_destroy(&empty.ch);
}

static void chan_try_variants_never_wait(void **state)
{
    weft_runtime *rt = rt_of(state);
    struct chan_fix c;
    chan_open(rt, &c, 2);
    int v = 0;
    assert_int_equal(weft_chan_try_recv(&c.ch, &v), -EAGAIN);
    v = 1;
    assert_int_equal(weft_chan_try_send(&c.ch, &v), 0);
    v = 2;
    assert_int_equal(weft_chan_try_send(&c.ch, &v), 0);
    assert_int_equal(weft_chan_try_send(&c.ch, &v), -EAGAIN);
    assert_int_equal(weft_chan_try_recv(&c.ch, &v), 0);
    assert_int_equal(v, 1);
    weft_chan_destroy(&c.ch);
    assert_int_equal(weft_chan_try_send(&c.ch, &v), WEFT_ECLOSED);
    assert_int_equal(weft_chan_try_recv(&c.ch, &v), WEFT_ECLOSED);
    weft_chan_destroy(&c.ch); /* twice: harmless */
}

static void chan_init_rejects_bad_arguments(void **state)
{
    weft_runtime *rt = rt_of(state);
    weft_chan ch;
    int buf[2];
    assert_int_equal(weft_chan_init(&ch, rt, NULL, sizeof buf[0], 2), -EINVAL);
    assert_int_equal(weft_chan_init(&ch, rt, buf, 0, 2), -EINVAL);
    assert_int_equal(weft_chan_init(&ch, rt, buf, sizeof buf[0], 0), -EINVAL);
    assert_int_equal(weft_chan_init(&ch, rt, buf, SIZE_MAX / 2, 4), -EINVAL);
    assert_int_equal(weft_chan_try_send(&ch, buf), WEFT_ECLOSED);
    weft_chan_destroy(&ch);
}

/* Receivers that started waiting in the order R0, R1, R2 are served in that order. */
static void chan_waiters_are_served_fifo(void **state)
{
    weft_runtime *rt = rt_of(state);
    struct chan_fix c;
    chan_open(rt, &c, 4);
    struct receiver r[3];
    for (int i = 0; i < 3; i++) {
        r[i] = (struct receiver){.ch = &c.ch, .max = 1};
        assert_int_equal(weft_task_spawn(rt, receiver, &r[i], NULL), 0);
    }
    weft_runtime_run_ready(rt);
    assert_int_equal(waiters(rt), 3);
    for (int v = 100; v < 103; v++)
        assert_int_equal(weft_chan_try_send(&c.ch, &v), 0);
    run_all(rt);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(r[i].n, 1);
        assert_int_equal(r[i].got[0], 100 + i);
    }
    weft_chan_destroy(&c.ch);
}

/* An item reserved for a woken waiter cannot be taken by a try_recv that comes later. */
static void chan_reserved_item_is_not_barged(void **state)
{
    weft_runtime *rt = rt_of(state);
    struct chan_fix c;
    chan_open(rt, &c, 4);
    struct receiver r = {.ch = &c.ch, .max = 1};
    assert_int_equal(weft_task_spawn(rt, receiver, &r, NULL), 0);
    weft_runtime_run_ready(rt);
    int v = 7, w;
    assert_int_equal(weft_chan_try_send(&c.ch, &v), 0);
    assert_int_equal(weft_chan_try_recv(&c.ch, &w), -EAGAIN);
    v = 8;
    assert_int_equal(weft_chan_try_send(&c.ch, &v), 0);
    /* One of the two items is nobody's. A turn reserves an item, not a particular one: takers
     * always get the oldest, so the try_recv, which takes first, gets 7 and the waiter 8. */
    assert_int_equal(weft_chan_try_recv(&c.ch, &w), 0);
    assert_int_equal(w, 7);
    assert_int_equal(weft_chan_try_recv(&c.ch, &w), -EAGAIN);
    run_all(rt);
    assert_int_equal(r.got[0], 8);
    weft_chan_destroy(&c.ch);
}

/* Receives one item without any cleanup block: cancellation must still pass its turn on. */
static int bare_receiver(void *frame, weft_cx *cx)
{
    struct receiver *f = frame;
    WEFT_BEGIN(&f->co);
    WEFT_AWAIT(&f->co, f->result = weft_chan_recv(f->ch, &f->item, cx));
    WEFT_END(&f->co, f->result == 0 ? f->item : f->result);
}

static void chan_cancelled_waiter_passes_its_turn(void **state)
{
    weft_runtime *rt = rt_of(state);
    struct chan_fix c;
    chan_open(rt, &c, 4);
    struct receiver r0 = {.ch = &c.ch}, r1 = {.ch = &c.ch};
    weft_task t0, t1;
    assert_int_equal(weft_task_spawn(rt, bare_receiver, &r0, &t0), 0);
    assert_int_equal(weft_task_spawn(rt, bare_receiver, &r1, &t1), 0);
    weft_runtime_run_ready(rt);
    int v = 42;
    assert_int_equal(weft_chan_try_send(&c.ch, &v), 0); /* r0 gets the turn and is woken */
    assert_int_equal(weft_task_cancel(rt, t0), 1);      /* ... and dies before it runs */
    run_all(rt);                                        /* -EDEADLK if the turn was lost */
    assert_int_equal(weft_task_result(rt, t0), -ECANCELED);
    assert_int_equal(weft_task_result(rt, t1), 42);
    weft_chan_destroy(&c.ch);
}

/* The same for a sender woken to use a free slot. */
static void chan_cancelled_sender_passes_its_turn(void **state)
{
    weft_runtime *rt = rt_of(state);
    struct chan_fix c;
    chan_open(rt, &c, 1);
    int v = 1;
    assert_int_equal(weft_chan_try_send(&c.ch, &v), 0);
    struct sender s0 = {.ch = &c.ch, .from = 10, .count = 1};
    struct sender s1 = {.ch = &c.ch, .from = 20, .count = 1};
    weft_task t0, t1;
    assert_int_equal(weft_task_spawn(rt, sender, &s0, &t0), 0);
    assert_int_equal(weft_task_spawn(rt, sender, &s1, &t1), 0);
    weft_runtime_run_ready(rt);
    assert_int_equal(weft_chan_try_recv(&c.ch, &v), 0); /* room: s0 gets the turn */
    assert_int_equal(weft_task_cancel(rt, t0), 1);
    run_all(rt);
    assert_int_equal(weft_task_result(rt, t0), -ECANCELED);
    assert_int_equal(weft_task_result(rt, t1), 0);
    assert_int_equal(weft_chan_try_recv(&c.ch, &v), 0);
    assert_int_equal(v, 20);
    weft_chan_destroy(&c.ch);
}

static void chan_recv_deadline_never_early(void **state)
{
    weft_runtime *rt = rt_of(state);
    struct chan_fix c;
    chan_open(rt, &c, 1);
    int64_t start = weft_time_now();
    struct receiver r = {.ch = &c.ch, .max = 1, .deadline = start + WEFT_MSEC(20)};
    assert_int_equal(weft_task_spawn(rt, receiver, &r, NULL), 0);
    run_all(rt);
    assert_int_equal(r.result, -ETIMEDOUT);
    assert_true(weft_time_now() - start >= WEFT_MSEC(20));
    weft_chan_destroy(&c.ch);
}

static void chan_destroy_wakes_waiters_with_closed(void **state)
{
    weft_runtime *rt = rt_of(state);
    struct chan_fix c;
    chan_open(rt, &c, 1);
    struct receiver r = {.ch = &c.ch, .max = 1};
    assert_int_equal(weft_task_spawn(rt, receiver, &r, NULL), 0);
    weft_runtime_run_ready(rt);
    weft_chan_destroy(&c.ch);
    run_all(rt);
    assert_int_equal(r.result, WEFT_ECLOSED);
}

/* Two receivers, two senders, many items through a tiny channel: all arrive exactly once. */
static void chan_mpmc_delivers_each_item_once(void **state)
{
    weft_runtime *rt = rt_of(state);
    struct chan_fix c;
    chan_open(rt, &c, 2);
    struct sender s[2] = {{.ch = &c.ch, .from = 0, .count = 100},
                          {.ch = &c.ch, .from = 100, .count = 100}};
    struct receiver r[2] = {{.ch = &c.ch, .max = 100}, {.ch = &c.ch, .max = 100}};
    for (int i = 0; i < 2; i++) {
        assert_int_equal(weft_task_spawn(rt, receiver, &r[i], NULL), 0);
        assert_int_equal(weft_task_spawn(rt, sender, &s[i], NULL), 0);
    }
    run_all(rt);
    int seen[200] = {0};
    for (int i = 0; i < 2; i++) {
        assert_int_equal(r[i].n, 100);
        for (int k = 0; k < r[i].n; k++)
            seen[r[i].got[k]]++;
    }
    for (int v = 0; v < 200; v++)
        assert_int_equal(seen[v], 1);
    weft_chan_destroy(&c.ch);
}

/* ---------------------------------------------------------------------------------------------
 * Oneshot
 * ------------------------------------------------------------------------------------------- */

struct oneshot_rx {
    weft_co co;
    weft_oneshot *o;
    long value;
    int result;
};

static int oneshot_rx(void *frame, weft_cx *cx)
{
    struct oneshot_rx *f = frame;
    WEFT_BEGIN(&f->co);
    WEFT_AWAIT(&f->co, f->result = weft_oneshot_recv(f->o, &f->value, cx));
    WEFT_END(&f->co, f->result);
}

static void oneshot_delivers_once(void **state)
{
    weft_runtime *rt = rt_of(state);
    long slot;
    weft_oneshot o;
    assert_int_equal(weft_oneshot_init(&o, rt, &slot, sizeof slot), 0);
    struct oneshot_rx rx = {.o = &o};
    assert_int_equal(weft_task_spawn(rt, oneshot_rx, &rx, NULL), 0);
    weft_runtime_run_ready(rt);
    long v = 123456789L;
    assert_int_equal(weft_oneshot_send(&o, &v), 0);
    assert_int_equal(weft_oneshot_send(&o, &v), WEFT_ECLOSED);
    run_all(rt);
    assert_int_equal(rx.result, 0);
    assert_int_equal(rx.value, 123456789L);
    /* A second receive finds it taken. */
    rx = (struct oneshot_rx){.o = &o};
    assert_int_equal(weft_task_spawn(rt, oneshot_rx, &rx, NULL), 0);
    run_all(rt);
    assert_int_equal(rx.result, WEFT_ECLOSED);
    weft_oneshot_destroy(&o);
}

static void oneshot_closed_without_value(void **state)
{
    weft_runtime *rt = rt_of(state);
    long slot;
    weft_oneshot o;
    assert_int_equal(weft_oneshot_init(&o, rt, &slot, sizeof slot), 0);
    struct oneshot_rx rx = {.o = &o};
    assert_int_equal(weft_task_spawn(rt, oneshot_rx, &rx, NULL), 0);
    weft_runtime_run_ready(rt);
    weft_oneshot_close(&o);
    run_all(rt);
    assert_int_equal(rx.result, WEFT_ECLOSED);
    long v = 1;
    assert_int_equal(weft_oneshot_send(&o, &v), WEFT_ECLOSED);
    weft_oneshot_destroy(&o);
}

/* ---------------------------------------------------------------------------------------------
 * Notify
 * ------------------------------------------------------------------------------------------- */

struct notified {
    weft_co co;
    weft_notify *n;
    int64_t deadline;
    int result;
    int *order; /* appended to when notified */
    int *order_len;
    int id;
};

static int notified(void *frame, weft_cx *cx)
{
    struct notified *f = frame;
    WEFT_BEGIN(&f->co);
    WEFT_AWAIT(&f->co, f->result = weft_notify_wait_dl(
                           f->n, f->deadline ? f->deadline : WEFT_NO_DEADLINE, cx));
    if (f->result == 0 && f->order != NULL) f->order[(*f->order_len)++] = f->id;
    WEFT_END(&f->co, f->result);
}

static void notify_one_wakes_the_first_waiter_only(void **state)
{
    weft_runtime *rt = rt_of(state);
    weft_notify n;
    assert_int_equal(weft_notify_init(&n, rt), 0);
    int order[3], len = 0;
    struct notified w[3];
    for (int i = 0; i < 3; i++) {
        w[i] = (struct notified){.n = &n, .order = order, .order_len = &len, .id = i};
        assert_int_equal(weft_task_spawn(rt, notified, &w[i], NULL), 0);
    }
    weft_runtime_run_ready(rt);
    weft_notify_one(&n);
    weft_runtime_run_ready(rt);
    assert_int_equal(len, 1);
    assert_int_equal(order[0], 0);
    assert_int_equal(waiters(rt), 2);
    weft_notify_all(&n);
    run_all(rt);
    assert_int_equal(len, 3);
    weft_notify_destroy(&n);
}

static void notify_stores_one_permit(void **state)
{
    weft_runtime *rt = rt_of(state);
    weft_notify n;
    assert_int_equal(weft_notify_init(&n, rt), 0);
    weft_notify_one(&n);
    weft_notify_one(&n); /* permits do not add up */
    int64_t dl = weft_deadline_in(WEFT_MSEC(10));
    struct notified a = {.n = &n, .deadline = dl}, b = {.n = &n, .deadline = dl};
    assert_int_equal(weft_task_spawn(rt, notified, &a, NULL), 0);
    assert_int_equal(weft_task_spawn(rt, notified, &b, NULL), 0);
    run_all(rt);
    assert_int_equal(a.result, 0);
    assert_int_equal(b.result, -ETIMEDOUT);
    /* notify_all stores nothing. */
    weft_notify_all(&n);
    a = (struct notified){.n = &n, .deadline = weft_deadline_in(WEFT_MSEC(5))};
    assert_int_equal(weft_task_spawn(rt, notified, &a, NULL), 0);
    run_all(rt);
    assert_int_equal(a.result, -ETIMEDOUT);
    weft_notify_destroy(&n);
}

static void notify_cancelled_waiter_passes_it_on(void **state)
{
    weft_runtime *rt = rt_of(state);
    weft_notify n;
    assert_int_equal(weft_notify_init(&n, rt), 0);
    struct notified a = {.n = &n}, b = {.n = &n};
    weft_task ta, tb;
    assert_int_equal(weft_task_spawn(rt, notified, &a, &ta), 0);
    assert_int_equal(weft_task_spawn(rt, notified, &b, &tb), 0);
    weft_runtime_run_ready(rt);
    weft_notify_one(&n);
    assert_int_equal(weft_task_cancel(rt, ta), 1);
    run_all(rt);
    assert_int_equal(weft_task_result(rt, ta), -ECANCELED);
    assert_int_equal(weft_task_result(rt, tb), 0);
    weft_notify_destroy(&n);
}

/* ---------------------------------------------------------------------------------------------
 * Semaphore and mutex
 * ------------------------------------------------------------------------------------------- */

struct holder {
    weft_co co;
    weft_semaphore *sem; /* or */
    weft_mutex *mutex;
    int *inside, *max_inside, *order, *order_len;
    int id, result;
    struct weft_test_nap nap;
};

/* Takes the semaphore (or mutex), stays inside across a 2 ms sleep (one that suspends, however
 * slow the machine: the others come to the door meanwhile), leaves. */
static int holder(void *frame, weft_cx *cx)
{
    struct holder *f = frame;
    WEFT_BEGIN(&f->co);
    if (f->sem != NULL)
        WEFT_AWAIT(&f->co, f->result = weft_semaphore_acquire(f->sem, cx));
    else
        WEFT_AWAIT(&f->co, f->result = weft_mutex_lock(f->mutex, cx));
    if (f->result != 0) WEFT_RETURN(&f->co, f->result);
    f->order[(*f->order_len)++] = f->id;
    if (++*f->inside > *f->max_inside) *f->max_inside = *f->inside;
    WEFT_AWAIT(&f->co, weft_test_nap(&f->nap, WEFT_MSEC(2), cx));
    --*f->inside;
    if (f->sem != NULL)
        weft_semaphore_release(f->sem);
    else
        f->result = weft_mutex_unlock(f->mutex);
    WEFT_END(&f->co, f->result);
}

static void semaphore_bounds_concurrency_fifo(void **state)
{
    weft_runtime *rt = rt_of(state);
    weft_semaphore sem;
    assert_int_equal(weft_semaphore_init(&sem, rt, 2), 0);
    int inside = 0, max_inside = 0, order[5], len = 0;
    struct holder h[5];
    for (int i = 0; i < 5; i++) {
        h[i] = (struct holder){.sem = &sem,
                               .inside = &inside,
                               .max_inside = &max_inside,
                               .order = order,
                               .order_len = &len,
                               .id = i};
        assert_int_equal(weft_task_spawn(rt, holder, &h[i], NULL), 0);
    }
    run_all(rt);
    assert_int_equal(max_inside, 2);
    assert_int_equal(len, 5);
    for (int i = 0; i < 5; i++) {
        assert_int_equal(order[i], i);
        assert_int_equal(h[i].result, 0);
    }
    assert_int_equal(weft_semaphore_available(&sem), 2);
    assert_int_equal(weft_semaphore_try_acquire(&sem), 0);
    assert_int_equal(weft_semaphore_try_acquire(&sem), 0);
    assert_int_equal(weft_semaphore_try_acquire(&sem), -EAGAIN);
    weft_semaphore_release(&sem);
    weft_semaphore_release(&sem);
    weft_semaphore_destroy(&sem);
}

static void mutex_is_held_across_awaits(void **state)
{
    weft_runtime *rt = rt_of(state);
    weft_mutex m;
    assert_int_equal(weft_mutex_init(&m, rt), 0);
    int inside = 0, max_inside = 0, order[4], len = 0;
    struct holder h[4];
    for (int i = 0; i < 4; i++) {
        h[i] = (struct holder){.mutex = &m,
                               .inside = &inside,
                               .max_inside = &max_inside,
                               .order = order,
                               .order_len = &len,
                               .id = i};
        assert_int_equal(weft_task_spawn(rt, holder, &h[i], NULL), 0);
    }
    run_all(rt);
    assert_int_equal(max_inside, 1);
    for (int i = 0; i < 4; i++)
        assert_int_equal(order[i], i);
    assert_int_equal(weft_mutex_unlock(&m), -EPERM);
    assert_int_equal(weft_mutex_try_lock(&m), 0);
    assert_int_equal(weft_mutex_try_lock(&m), -EBUSY);
    assert_int_equal(weft_mutex_unlock(&m), 0);
    weft_mutex_destroy(&m);
}

/* ---------------------------------------------------------------------------------------------
 * Wait group
 * ------------------------------------------------------------------------------------------- */

struct worker {
    weft_co co;
    weft_waitgroup *wg;
    int64_t wake;
    int ms;
    int *finished;
};

static int worker(void *frame, weft_cx *cx)
{
    struct worker *f = frame;
    WEFT_BEGIN(&f->co);
    WEFT_AWAIT(&f->co, weft_sleep_for(&f->wake, WEFT_MSEC(f->ms), cx));
    ++*f->finished;
    weft_waitgroup_done(f->wg);
    WEFT_END(&f->co, 0);
}

struct wg_waiter {
    weft_co co;
    weft_waitgroup *wg;
    int *finished;
    int seen, result;
};

static int wg_waiter(void *frame, weft_cx *cx)
{
    struct wg_waiter *f = frame;
    WEFT_BEGIN(&f->co);
    WEFT_AWAIT(&f->co, f->result = weft_waitgroup_wait(f->wg, cx));
    f->seen = *f->finished;
    WEFT_END(&f->co, f->result);
}

static void waitgroup_waits_for_all(void **state)
{
    weft_runtime *rt = rt_of(state);
    weft_waitgroup wg;
    assert_int_equal(weft_waitgroup_init(&wg, rt), 0);
    int finished = 0;
    struct worker w[3];
    weft_waitgroup_add(&wg, 3);
    for (int i = 0; i < 3; i++) {
        w[i] = (struct worker){.wg = &wg, .ms = 1 + i, .finished = &finished};
        assert_int_equal(weft_task_spawn(rt, worker, &w[i], NULL), 0);
    }
    struct wg_waiter a = {.wg = &wg, .finished = &finished};
    struct wg_waiter b = {.wg = &wg, .finished = &finished};
    assert_int_equal(weft_task_spawn(rt, wg_waiter, &a, NULL), 0);
    assert_int_equal(weft_task_spawn(rt, wg_waiter, &b, NULL), 0);
    run_all(rt);
    assert_int_equal(a.seen, 3);
    assert_int_equal(b.seen, 3);
    assert_int_equal(weft_waitgroup_done(&wg), -EINVAL);
    weft_waitgroup_destroy(&wg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(chan_delivers_in_order_then_closed, rt_setup,
                                        sync_teardown),
        cmocka_unit_test_setup_teardown(chan_fast_sender_suspends_when_full, rt_setup,
                                        sync_teardown),
        cmocka_unit_test_setup_teardown(chan_close_keeps_buffered_items, rt_setup, sync_teardown),
        cmocka_unit_test_setup_teardown(chan_close_wakes_waiting_senders_and_receivers, rt_setup,
                                        sync_teardown),
        cmocka_unit_test_setup_teardown(chan_try_variants_never_wait, rt_setup, sync_teardown),
        cmocka_unit_test_setup_teardown(chan_init_rejects_bad_arguments, rt_setup, sync_teardown),
        cmocka_unit_test_setup_teardown(chan_waiters_are_served_fifo, rt_setup, sync_teardown),
        cmocka_unit_test_setup_teardown(chan_reserved_item_is_not_barged, rt_setup, sync_teardown),
        cmocka_unit_test_setup_teardown(chan_cancelled_waiter_passes_its_turn, rt_setup,
                                        sync_teardown),
        cmocka_unit_test_setup_teardown(chan_cancelled_sender_passes_its_turn, rt_setup,
                                        sync_teardown),
        cmocka_unit_test_setup_teardown(chan_recv_deadline_never_early, rt_setup, sync_teardown),
        cmocka_unit_test_setup_teardown(chan_destroy_wakes_waiters_with_closed, rt_setup,
                                        sync_teardown),
        cmocka_unit_test_setup_teardown(chan_mpmc_delivers_each_item_once, rt_setup, sync_teardown),
        cmocka_unit_test_setup_teardown(oneshot_delivers_once, rt_setup, sync_teardown),
        cmocka_unit_test_setup_teardown(oneshot_closed_without_value, rt_setup, sync_teardown),
        cmocka_unit_test_setup_teardown(notify_one_wakes_the_first_waiter_only, rt_setup,
                                        sync_teardown),
        cmocka_unit_test_setup_teardown(notify_stores_one_permit, rt_setup, sync_teardown),
        cmocka_unit_test_setup_teardown(notify_cancelled_waiter_passes_it_on, rt_setup,
                                        sync_teardown),
        cmocka_unit_test_setup_teardown(semaphore_bounds_concurrency_fifo, rt_setup, sync_teardown),
        cmocka_unit_test_setup_teardown(mutex_is_held_across_awaits, rt_setup, sync_teardown),
        cmocka_unit_test_setup_teardown(waitgroup_waits_for_all, rt_setup, sync_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
