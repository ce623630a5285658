/*
 * Tests of the wait queues' fast slot (src/runtime/waitq.c, ext.h): a task that waits on an empty
 * queue is kept in the queue record instead of a node, and channel operations decide the cases
 * that need no node inline. These tests drive the borders between the two: a second waiter
 * arriving while the fast slot is held, the fast slot's waiter leaving (with and without a turn)
 * while nodes wait behind it, a task that waits on two queues at once (a select: one fast slot,
 * one node), a task out of budget, a deadline, and a long ping-pong that must leave nothing
 * registered. The fixture checks that no wait queue or waiter is left behind.
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <weft/select.h>

#include "sync_test.h"

static size_t waiters(weft_runtime *rt)
{
    return sync_stats(rt).waiters;
}

struct chan_fix {
    int storage[4];
    weft_chan ch;
};

static void chan_open(weft_runtime *rt, struct chan_fix *c, size_t cap)
{
    assert_true(cap <= 4);
    assert_int_equal(weft_chan_init(&c->ch, rt, c->storage, sizeof c->storage[0], cap), 0);
}

/* Receives one item (with a deadline unless 0) and returns it, or the error. */
struct receiver {
    weft_co co;
    weft_chan *ch;
    int64_t deadline;
    int item, result;
};

static int receiver(void *frame, weft_cx *cx)
{
    struct receiver *f = frame;
    WEFT_BEGIN(&f->co);
    WEFT_AWAIT(&f->co, f->result = weft_chan_recv_dl(
                           f->ch, &f->item, f->deadline ? f->deadline : WEFT_NO_DEADLINE, cx));
    WEFT_END(&f->co, f->result == 0 ? f->item : f->result);
}

static weft_task spawn_receiver(weft_runtime *rt, struct receiver *r, weft_chan *ch)
{
    *r = (struct receiver){.ch = ch};
    weft_task t;
    assert_int_equal(weft_task_spawn(rt, receiver, r, &t), 0);
    return t;
}

/*
 * R0 waits in the fast slot, R1 and R2 in nodes behind it. R0 goes away without a turn: the
 * fast slot is free again, but R3, arriving now, must still queue behind R1 and R2.
 */
static void fast_slot_leaver_keeps_fifo_for_nodes(void **state)
{
    weft_runtime *rt = rt_of(state);
    struct chan_fix c;
    chan_open(rt, &c, 4);
    struct receiver r[4];
    weft_task t[4];
    for (int i = 0; i < 3; i++)
        t[i] = spawn_receiver(rt, &r[i], &c.ch);
    weft_runtime_run_ready(rt);
    assert_int_equal(waiters(rt), 3);
    assert_int_equal(weft_task_cancel(rt, t[0]), 1);
    assert_int_equal(waiters(rt), 2);
    t[3] = spawn_receiver(rt, &r[3], &c.ch);
    weft_runtime_run_ready(rt);
    assert_int_equal(waiters(rt), 3);
    for (int v = 100; v < 103; v++)
        assert_int_equal(weft_chan_try_send(&c.ch, &v), 0);
    assert_int_equal(weft_runtime_run(rt), 0);
    assert_int_equal(weft_task_result(rt, t[0]), -ECANCELED);
    assert_int_equal(weft_task_result(rt, t[1]), 100);
    assert_int_equal(weft_task_result(rt, t[2]), 101);
    assert_int_equal(weft_task_result(rt, t[3]), 102);
    weft_chan_destroy(&c.ch);
}

/*
 * The fast slot's waiter is handed the turn for an item and cancelled before it runs, with
 * nobody behind it: the item must not stay reserved for it.
 */
static void fast_slot_turn_is_not_stranded(void **state)
{
    weft_runtime *rt = rt_of(state);
    struct chan_fix c;
    chan_open(rt, &c, 1);
    struct receiver r;
    weft_task t = spawn_receiver(rt, &r, &c.ch);
    weft_runtime_run_ready(rt);
    int v = 42, w = 0;
    assert_int_equal(weft_chan_try_send(&c.ch, &v), 0);
    assert_int_equal(weft_chan_try_recv(&c.ch, &w), -EAGAIN); /* reserved for r */
    assert_int_equal(weft_task_cancel(rt, t), 1);
    assert_int_equal(weft_task_result(rt, t), -ECANCELED);
    assert_int_equal(waiters(rt), 0);
    assert_int_equal(weft_chan_try_recv(&c.ch, &w), 0);
    assert_int_equal(w, 42);
    weft_chan_destroy(&c.ch);
}

/*
 * A second waiter arrives while the first holds the fast slot and the first is then served:
 * the second is woken by the next item, not before, and both get their own item.
 */
static void second_waiter_behind_the_fast_slot(void **state)
{
    weft_runtime *rt = rt_of(state);
    struct chan_fix c;
    chan_open(rt, &c, 1);
    struct receiver r0, r1;
    weft_task t0 = spawn_receiver(rt, &r0, &c.ch);
    weft_runtime_run_ready(rt);
    weft_task t1 = spawn_receiver(rt, &r1, &c.ch);
    weft_runtime_run_ready(rt);
    assert_int_equal(waiters(rt), 2);
    int v = 1;
    assert_int_equal(weft_chan_try_send(&c.ch, &v), 0);
    weft_runtime_run_ready(rt);
    assert_int_equal(weft_task_result(rt, t0), 1);
    assert_int_equal(weft_task_result(rt, t1), -EAGAIN); /* still waiting */
    assert_int_equal(waiters(rt), 1);
    v = 2;
    assert_int_equal(weft_chan_try_send(&c.ch, &v), 0);
    assert_int_equal(weft_runtime_run(rt), 0);
    assert_int_equal(weft_task_result(rt, t1), 2);
    weft_chan_destroy(&c.ch);
}

/*
 * R1 runs after the fast slot's waiter R0 was handed the turn for the only item but before R0
 * runs: R1 must wait, and R0 gets the item (FIFO, no barging past the fast slot).
 */
static void no_barging_past_the_fast_slot(void **state)
{
    weft_runtime *rt = rt_of(state);
    struct chan_fix c;
    chan_open(rt, &c, 1);
    struct receiver r0, r1;
    weft_task t0 = spawn_receiver(rt, &r0, &c.ch);
    weft_runtime_run_ready(rt);
    weft_task t1 = spawn_receiver(rt, &r1, &c.ch); /* queued to run before r0 is woken */
    int v = 3;
    assert_int_equal(weft_chan_try_send(&c.ch, &v), 0);
    weft_runtime_run_ready(rt);
    assert_int_equal(weft_task_result(rt, t0), 3);
    assert_int_equal(weft_task_result(rt, t1), -EAGAIN);
    v = 4;
    assert_int_equal(weft_chan_try_send(&c.ch, &v), 0);
    assert_int_equal(weft_runtime_run(rt), 0);
    assert_int_equal(weft_task_result(rt, t1), 4);
    weft_chan_destroy(&c.ch);
}

/* Selects over two channel receives; returns the winning case's index. */
struct chooser {
    weft_co co;
    weft_select sel;
    weft_chan *a, *b;
    int item;
};

static int chooser(void *frame, weft_cx *cx)
{
    struct chooser *f = frame;
    WEFT_BEGIN(&f->co);
    WEFT_SELECT(&f->co, &f->sel,
                weft_select_case(&f->sel, 0, weft_chan_recv(f->a, &f->item, cx)) ||
                    weft_select_case(&f->sel, 1, weft_chan_recv(f->b, &f->item, cx)));
    WEFT_END(&f->co, f->sel.which);
}

/*
 * A select over two empty channels holds A's fast slot and a node on B (a task has one fast
 * slot). B's case wins: the item comes from B only, A keeps nothing registered and its next
 * item is free for anyone, and R, queued on B behind the chooser, is served next.
 */
static void select_holds_one_fast_slot_and_a_node(void **state)
{
    weft_runtime *rt = rt_of(state);
    struct chan_fix a, b;
    chan_open(rt, &a, 1);
    chan_open(rt, &b, 1);
    struct chooser ch = {.a = &a.ch, .b = &b.ch};
    weft_task tc;
    assert_int_equal(weft_task_spawn(rt, chooser, &ch, &tc), 0);
    weft_runtime_run_ready(rt);
    struct receiver r;
    weft_task tr = spawn_receiver(rt, &r, &b.ch);
    weft_runtime_run_ready(rt);
    assert_int_equal(waiters(rt), 3);
    int v = 7, w = 0;
    assert_int_equal(weft_chan_try_send(&b.ch, &v), 0);
    weft_runtime_run_ready(rt);
    assert_int_equal(weft_task_result(rt, tc), 1);
    assert_int_equal(ch.item, 7);
    assert_int_equal(waiters(rt), 1); /* R; the chooser's place on A lapsed */
    v = 8;
    assert_int_equal(weft_chan_try_send(&a.ch, &v), 0);
    assert_int_equal(weft_chan_try_recv(&a.ch, &w), 0);
    assert_int_equal(w, 8);
    v = 9;
    assert_int_equal(weft_chan_try_send(&b.ch, &v), 0);
    assert_int_equal(weft_runtime_run(rt), 0);
    assert_int_equal(weft_task_result(rt, tr), 9);
    weft_chan_destroy(&a.ch);
    weft_chan_destroy(&b.ch);
}

/*
 * Both cases of a select are handed a turn before it runs (A's in the fast slot, B's in a node).
 * A wins; B's turn passes on, so B's item stays free for a later taker.
 */
static void select_loser_with_a_turn_passes_it_on(void **state)
{
    weft_runtime *rt = rt_of(state);
    struct chan_fix a, b;
    chan_open(rt, &a, 1);
    chan_open(rt, &b, 1);
    struct chooser ch = {.a = &a.ch, .b = &b.ch};
    weft_task tc;
    assert_int_equal(weft_task_spawn(rt, chooser, &ch, &tc), 0);
    weft_runtime_run_ready(rt);
    int v = 1, w = 0;
    assert_int_equal(weft_chan_try_send(&a.ch, &v), 0);
    v = 2;
    assert_int_equal(weft_chan_try_send(&b.ch, &v), 0);
    assert_int_equal(weft_chan_try_recv(&b.ch, &w), -EAGAIN); /* reserved for the chooser */
    weft_runtime_run_ready(rt);
    assert_int_equal(weft_task_result(rt, tc), 0);
    assert_int_equal(ch.item, 1);
    assert_int_equal(waiters(rt), 0);
    assert_int_equal(weft_chan_try_recv(&b.ch, &w), 0);
    assert_int_equal(w, 2);
    weft_chan_destroy(&a.ch);
    weft_chan_destroy(&b.ch);
}

/* Sends and receives on its own channel `rounds` times; every operation completes at once. */
struct looper {
    weft_co co;
    weft_chan *ch;
    int i, rounds, item, result;
    const int *other_polls; /* the other task's poll count, read when this one finishes */
    int other_polls_seen;
};

static int looper(void *frame, weft_cx *cx)
{
    struct looper *f = frame;
    WEFT_BEGIN(&f->co);
    for (f->i = 0; f->i < f->rounds; f->i++) {
        WEFT_AWAIT(&f->co, f->result = weft_chan_send(f->ch, &f->i, cx));
        if (f->result != 0) break;
        WEFT_AWAIT(&f->co, f->result = weft_chan_recv(f->ch, &f->item, cx));
        if (f->result != 0 || f->item != f->i) break;
    }
    f->other_polls_seen = *f->other_polls;
    WEFT_END(&f->co, f->result == 0 ? f->i : f->result);
}

/* Counts its polls, yielding until `*stop` is set (at most `max` polls). */
struct counter {
    weft_co co;
    const bool *stop;
    int polls, max;
};

static int counter(void *frame, weft_cx *cx)
{
    struct counter *f = frame;
    WEFT_BEGIN(&f->co);
    while (++f->polls < f->max && !*f->stop)
        WEFT_TASK_YIELD(&f->co, cx);
    WEFT_END(&f->co, 0);
}

/*
 * A task whose channel operations never have to wait still yields when its budget is spent
 * (the fast paths spend it too), and picks up where it was.
 */
static void fast_paths_spend_the_budget(void **state)
{
    weft_runtime *rt = rt_of(state);
    struct chan_fix c;
    chan_open(rt, &c, 1);
    bool stop = false;
    struct counter k = {.stop = &stop, .max = 10000};
    struct looper l = {.ch = &c.ch, .rounds = 1000, .other_polls = &k.polls};
    weft_task tl, tk;
    assert_int_equal(weft_task_spawn(rt, looper, &l, &tl), 0);
    assert_int_equal(weft_task_spawn(rt, counter, &k, &tk), 0);
    for (int i = 0; i < 10000 && !task_done(rt, tl); i++)
        weft_runtime_run_ready(rt);
    assert_int_equal(weft_task_result(rt, tl), 1000);
    /* 2000 operations at WEFT_RUNTIME_BUDGET per resume: the counter ran in between. */
    assert_true(l.other_polls_seen >= 2000 / WEFT_RUNTIME_BUDGET - 1);
    stop = true;
    assert_int_equal(weft_runtime_run(rt), 0);
    assert_int_equal(weft_task_result(rt, tk), 0);
    weft_chan_destroy(&c.ch);
}

/*
 * A receive with a deadline waits in the fast slot; an item before the deadline serves it and
 * leaves no timer armed.
 */
static void fast_slot_with_a_deadline_is_served(void **state)
{
    weft_runtime *rt = rt_of(state);
    struct chan_fix c;
    chan_open(rt, &c, 1);
    struct receiver r = {.ch = &c.ch, .deadline = weft_deadline_in(WEFT_SEC(30))};
    weft_task t;
    assert_int_equal(weft_task_spawn(rt, receiver, &r, &t), 0);
    weft_runtime_run_ready(rt);
    assert_int_equal(waiters(rt), 1);
    assert_int_equal(rt_stats(rt).timers, 1);
    int v = 5;
    assert_int_equal(weft_chan_try_send(&c.ch, &v), 0);
    assert_int_equal(weft_runtime_run(rt), 0);
    assert_int_equal(weft_task_result(rt, t), 5);
    assert_int_equal(rt_stats(rt).timers, 0);
    weft_chan_destroy(&c.ch);
}

/* Two tasks pass a counter back and forth through two channels of one slot, as
 * bench/weft_tasks does. */
struct player {
    weft_co co;
    weft_chan *in, *out;
    int rounds, ball, result;
    bool serves;
};

static int player(void *frame, weft_cx *cx)
{
    struct player *f = frame;
    WEFT_BEGIN(&f->co);
    while (f->rounds-- > 0) {
        if (f->serves) {
            WEFT_AWAIT(&f->co, f->result = weft_chan_send(f->out, &f->ball, cx));
            if (f->result != 0) break;
        }
        WEFT_AWAIT(&f->co, f->result = weft_chan_recv(f->in, &f->ball, cx));
        if (f->result != 0) break;
        f->ball++;
        if (!f->serves) {
            WEFT_AWAIT(&f->co, f->result = weft_chan_send(f->out, &f->ball, cx));
            if (f->result != 0) break;
        }
    }
    WEFT_END(&f->co, f->result);
}

/* Every hop goes through the fast slot; the ball must come back 2 * rounds times, in order. */
static void ping_pong_through_fast_slots(void **state)
{
    weft_runtime *rt = rt_of(state);
    struct chan_fix ping, pong;
    chan_open(rt, &ping, 1);
    chan_open(rt, &pong, 1);
    struct player a = {.in = &pong.ch, .out = &ping.ch, .rounds = 5000, .serves = true};
    struct player b = {.in = &ping.ch, .out = &pong.ch, .rounds = 5000};
    weft_task ta, tb;
    assert_int_equal(weft_task_spawn(rt, player, &a, &ta), 0);
    assert_int_equal(weft_task_spawn(rt, player, &b, &tb), 0);
    assert_int_equal(weft_runtime_run(rt), 0);
    assert_int_equal(weft_task_result(rt, ta), 0);
    assert_int_equal(weft_task_result(rt, tb), 0);
    assert_int_equal(a.ball, 10000);
    assert_int_equal(b.ball, 9999);
    weft_chan_destroy(&ping.ch);
    weft_chan_destroy(&pong.ch);
}

/*
 * Items of 4 or 8 bytes are copied inline by the channel operations that go straight through;
 * every other size takes an out-of-line copy. A sender and a receiver pass 300 items of each
 * size through a channel of two slots (the ring wraps; both sides wait and take turns): every
 * item arrives whole, in order, and nothing beyond its size is written.
 */
enum { BYTES_MAX = 24, BYTES_ITEMS = 300 };

struct bytes_task {
    weft_co co;
    weft_chan *ch;
    size_t size;
    int i, result;
    unsigned char item[BYTES_MAX + 1]; /* one guard byte past the largest item */
};

static unsigned char pattern(int i, size_t k)
{
    return (unsigned char)(i * 7 + (int)k * 13 + 1);
}

static int bytes_sender(void *frame, weft_cx *cx)
{
    struct bytes_task *f = frame;
    WEFT_BEGIN(&f->co);
    for (f->i = 0; f->i < BYTES_ITEMS; f->i++) {
        for (size_t k = 0; k < f->size; k++)
            f->item[k] = pattern(f->i, k);
        WEFT_AWAIT(&f->co, f->result = weft_chan_send(f->ch, f->item, cx));
        if (f->result != 0) break;
    }
    WEFT_END(&f->co, f->result);
}

static int bytes_receiver(void *frame, weft_cx *cx)
{
    struct bytes_task *f = frame;
    WEFT_BEGIN(&f->co);
    for (f->i = 0; f->i < BYTES_ITEMS; f->i++) {
        memset(f->item, 0xEE, sizeof f->item);
        WEFT_AWAIT(&f->co, f->result = weft_chan_recv(f->ch, f->item, cx));
        if (f->result != 0) break;
        for (size_t k = 0; k < f->size; k++)
            if (f->item[k] != pattern(f->i, k)) WEFT_RETURN(&f->co, -EPROTO);
        if (f->item[f->size] != 0xEE) WEFT_RETURN(&f->co, -EOVERFLOW);
    }
    WEFT_END(&f->co, f->result);
}

static void items_of_every_size_pass_whole_and_in_order(void **state)
{
    weft_runtime *rt = rt_of(state);
    static const size_t sizes[] = {1, 3, 4, 8, 12, 16, BYTES_MAX};
    for (size_t n = 0; n < sizeof sizes / sizeof sizes[0]; n++) {
        unsigned char storage[2 * BYTES_MAX];
        weft_chan ch;
        assert_int_equal(weft_chan_init(&ch, rt, storage, sizes[n], 2), 0);
        struct bytes_task tx = {.ch = &ch, .size = sizes[n]};
        struct bytes_task rx = {.ch = &ch, .size = sizes[n]};
        weft_task tr, ts;
        assert_int_equal(weft_task_spawn(rt, bytes_receiver, &rx, &tr), 0); /* waits first */
        assert_int_equal(weft_task_spawn(rt, bytes_sender, &tx, &ts), 0);
        assert_int_equal(weft_runtime_run(rt), 0);
        assert_int_equal(weft_task_result(rt, ts), 0);
        assert_int_equal(weft_task_result(rt, tr), 0);
        assert_int_equal(rx.i, BYTES_ITEMS);
        assert_int_equal(waiters(rt), 0);
        weft_chan_destroy(&ch);
    }
}

/*
 * The ring in byte offsets, at every fill level: for several item sizes and capacities, a ring in
 * storage of exactly cap * size bytes (on the heap: ASan sees a byte past it) is filled by a
 * varying number of items and drained by another, so that its front and back wrap at every
 * position. Items come out whole and in order; a full ring refuses a send, an empty one a
 * receive.
 */
static void ring_wraps_at_every_position(void **state)
{
    weft_runtime *rt = rt_of(state);
    static const size_t sizes[] = {1, 3, 4, 8, 12};
    for (size_t n = 0; n < sizeof sizes / sizeof sizes[0]; n++) {
        for (size_t cap = 1; cap <= 5; cap++) {
            size_t size = sizes[n];
            unsigned char *storage = malloc(cap * size);
            assert_non_null(storage);
            weft_chan ch;
            assert_int_equal(weft_chan_init(&ch, rt, storage, size, cap), 0);
            unsigned char item[BYTES_MAX];
            int sent = 0, received = 0;
            for (int round = 0; round < 40; round++) {
                int puts = 1 + (round * 7 + (int)cap) % (int)cap; /* 1 to cap, varying */
                for (int i = 0; i < puts && weft_chan_len(&ch) < cap; i++, sent++) {
                    for (size_t k = 0; k < size; k++)
                        item[k] = pattern(sent, k);
                    assert_int_equal(weft_chan_try_send(&ch, item), 0);
                }
                if (weft_chan_len(&ch) == cap)
                    assert_int_equal(weft_chan_try_send(&ch, item), -EAGAIN);
                int takes = 1 + (round * 5) % (int)weft_chan_len(&ch);
                for (int i = 0; i < takes; i++, received++) {
                    memset(item, 0xEE, sizeof item);
                    assert_int_equal(weft_chan_try_recv(&ch, item), 0);
                    for (size_t k = 0; k < size; k++)
                        assert_int_equal(item[k], pattern(received, k));
                }
            }
            while (weft_chan_len(&ch) > 0) {
                assert_int_equal(weft_chan_try_recv(&ch, item), 0);
                assert_int_equal(item[0], pattern(received++, 0));
            }
            assert_int_equal(weft_chan_try_recv(&ch, item), -EAGAIN);
            assert_int_equal(received, sent);
            weft_chan_destroy(&ch);
            free(storage);
        }
    }
}

/*
 * A channel caches its two queue records, so that a send or receive from a task skips the table
 * lookup; the cache is checked against the handles' generations. A stale copy of a destroyed
 * channel, whose records now serve a new channel, must find its queue closed and leave the new
 * channel alone.
 */
static void cached_queue_records_are_generation_checked(void **state)
{
    weft_runtime *rt = rt_of(state);
    struct chan_fix old, fresh;
    chan_open(rt, &old, 1);
    struct receiver r;
    weft_task t = spawn_receiver(rt, &r, &old.ch);
    weft_runtime_run_ready(rt); /* it waits: the runtime's per-task wait state exists now */
    int v = 5;
    assert_int_equal(weft_chan_try_send(&old.ch, &v), 0);
    weft_runtime_run_ready(rt);
    assert_int_equal(weft_task_result(rt, t), 5);
    weft_chan stale = old.ch; /* destroy clears the original, not this copy */
    weft_chan_destroy(&old.ch);
    chan_open(rt, &fresh, 1);
    assert_true(fresh.ch.recv_rec == stale.recv_rec || fresh.ch.recv_rec == stale.send_rec);
    v = 7;
    assert_int_equal(weft_chan_try_send(&fresh.ch, &v), 0);
    t = spawn_receiver(rt, &r, &stale);
    weft_runtime_run_ready(rt);
    assert_true(task_done(rt, t));
    assert_int_equal(weft_task_result(rt, t), WEFT_ECLOSED);
    assert_int_equal(waiters(rt), 0);
    v = 0;
    assert_int_equal(weft_chan_try_recv(&fresh.ch, &v), 0); /* the item is still there */
    assert_int_equal(v, 7);
    weft_chan_destroy(&fresh.ch);
}

/* Sends one item and returns 0 or the error. */
struct sender {
    weft_co co;
    weft_chan *ch;
    int item, result;
};

static int sender(void *frame, weft_cx *cx)
{
    struct sender *f = frame;
    WEFT_BEGIN(&f->co);
    WEFT_AWAIT(&f->co, f->result = weft_chan_send(f->ch, &f->item, cx));
    WEFT_END(&f->co, f->result);
}

/* Spawns two tasks in turn, so that the first waits in the fast slot and the second in a node. */
static void spawn_two_waiters(weft_runtime *rt, weft_co_fn fn, void *f0, void *f1, weft_task t[2])
{
    assert_int_equal(weft_task_spawn(rt, fn, f0, &t[0]), 0);
    weft_runtime_run_ready(rt);
    assert_int_equal(weft_task_spawn(rt, fn, f1, &t[1]), 0);
    weft_runtime_run_ready(rt);
    assert_int_equal(waiters(rt), 2);
}

/*
 * Closing a channel wakes the fast slot's waiter as well as the node behind it, on both sides:
 * receivers of an empty channel and senders of a full one all end with WEFT_ECLOSED.
 */
static void close_wakes_the_fast_slot_and_the_node_behind(void **state)
{
    weft_runtime *rt = rt_of(state);
    struct chan_fix c;
    chan_open(rt, &c, 1);
    struct receiver r[2] = {{.ch = &c.ch}, {.ch = &c.ch}};
    weft_task tr[2];
    spawn_two_waiters(rt, receiver, &r[0], &r[1], tr);
    weft_chan_close(&c.ch);
    assert_int_equal(weft_runtime_run(rt), 0);
    assert_int_equal(weft_task_result(rt, tr[0]), WEFT_ECLOSED);
    assert_int_equal(weft_task_result(rt, tr[1]), WEFT_ECLOSED);
    weft_chan_destroy(&c.ch);

    chan_open(rt, &c, 1);
    int v = 1;
    assert_int_equal(weft_chan_try_send(&c.ch, &v), 0); /* full: senders wait */
    struct sender s[2] = {{.ch = &c.ch, .item = 2}, {.ch = &c.ch, .item = 3}};
    weft_task ts[2];
    spawn_two_waiters(rt, sender, &s[0], &s[1], ts);
    weft_chan_close(&c.ch);
    assert_int_equal(weft_runtime_run(rt), 0);
    assert_int_equal(weft_task_result(rt, ts[0]), WEFT_ECLOSED);
    assert_int_equal(weft_task_result(rt, ts[1]), WEFT_ECLOSED);
    assert_int_equal(waiters(rt), 0);
    assert_int_equal(weft_chan_try_recv(&c.ch, &v), 0); /* the item sent before close stays */
    assert_int_equal(v, 1);
    weft_chan_destroy(&c.ch);
}

/*
 * Destroying a channel with a task in its fast slot (whose record the channel caches) and one in
 * a node: both are woken and find the channel closed.
 */
static void destroy_wakes_the_fast_slot_and_the_node_behind(void **state)
{
    weft_runtime *rt = rt_of(state);
    struct chan_fix c;
    chan_open(rt, &c, 1);
    struct receiver r[2] = {{.ch = &c.ch}, {.ch = &c.ch}};
    weft_task t[2];
    spawn_two_waiters(rt, receiver, &r[0], &r[1], t);
    weft_chan_destroy(&c.ch);
    assert_int_equal(waiters(rt), 0);
    assert_int_equal(weft_runtime_run(rt), 0);
    assert_int_equal(weft_task_result(rt, t[0]), WEFT_ECLOSED);
    assert_int_equal(weft_task_result(rt, t[1]), WEFT_ECLOSED);
}

/*
 * The fast slot's waiter is handed the turn for the only item and cancelled before it runs: the
 * turn goes to the node behind it, which gets the item (not lost, not reserved for nobody).
 */
static void cancelled_fast_slot_passes_its_turn_to_the_node(void **state)
{
    weft_runtime *rt = rt_of(state);
    struct chan_fix c;
    chan_open(rt, &c, 1);
    struct receiver r[2] = {{.ch = &c.ch}, {.ch = &c.ch}};
    weft_task t[2];
    spawn_two_waiters(rt, receiver, &r[0], &r[1], t);
    int v = 9, w = 0;
    assert_int_equal(weft_chan_try_send(&c.ch, &v), 0);
    assert_int_equal(weft_task_cancel(rt, t[0]), 1);
    assert_int_equal(weft_chan_try_recv(&c.ch, &w), -EAGAIN); /* now reserved for r[1] */
    assert_int_equal(weft_runtime_run(rt), 0);
    assert_int_equal(weft_task_result(rt, t[0]), -ECANCELED);
    assert_int_equal(weft_task_result(rt, t[1]), 9);
    assert_int_equal(waiters(rt), 0);
    weft_chan_destroy(&c.ch);
}

/* Waits for a notification, counting its polls. */
struct notified {
    weft_co co;
    weft_notify *n;
    int polls, result;
};

static int notified(void *frame, weft_cx *cx)
{
    struct notified *f = frame;
    WEFT_BEGIN(&f->co);
    WEFT_AWAIT(&f->co, (f->polls++, f->result = weft_notify_wait(f->n, cx)));
    WEFT_END(&f->co, f->result);
}

/*
 * The fast slot names its waiter by task record, not by a generation-checked waker: so the
 * record must leave the slot when its task ends. A receiver is cancelled in the fast slot and
 * its record reused by a task waiting on something else: a send to the channel must not wake
 * that task.
 */
static void fast_slot_forgets_a_cancelled_task_whose_record_is_reused(void **state)
{
    weft_runtime *rt = rt_of(state);
    struct chan_fix c;
    chan_open(rt, &c, 1);
    struct receiver r;
    weft_task t = spawn_receiver(rt, &r, &c.ch);
    weft_runtime_run_ready(rt);
    assert_int_equal(waiters(rt), 1);
    assert_int_equal(weft_task_cancel(rt, t), 1);
    assert_int_equal(weft_task_result(rt, t), -ECANCELED); /* the record is free */
    assert_int_equal(waiters(rt), 0);
    weft_notify n;
    assert_int_equal(weft_notify_init(&n, rt), 0);
    struct notified f = {.n = &n};
    weft_task u;
    assert_int_equal(weft_task_spawn(rt, notified, &f, &u), 0);
    assert_int_equal(u.slot, t.slot); /* same record, next generation */
    weft_runtime_run_ready(rt);
    assert_int_equal(f.polls, 1);
    int v = 5, w = 0;
    assert_int_equal(weft_chan_try_send(&c.ch, &v), 0);
    weft_runtime_run_ready(rt);
    assert_int_equal(f.polls, 1); /* not woken by the send */
    weft_notify_one(&n);
    weft_runtime_run_ready(rt);
    assert_int_equal(weft_task_result(rt, u), 0);
    assert_int_equal(f.polls, 2);
    assert_int_equal(weft_chan_try_recv(&c.ch, &w), 0);
    assert_int_equal(w, 5);
    weft_notify_destroy(&n);
    weft_chan_destroy(&c.ch);
}

/*
 * Waits on what its stage says, one poll at a time: 0, receives on A and B (A's fast slot, a
 * node on B); 1, the receive on B only; 2, a notification only; 3, nothing the queues see. The
 * test moves it on and wakes it.
 */
struct drifter {
    weft_co co;
    weft_chan *a, *b;
    weft_notify *n;
    weft_waker self;
    int stage, polls, item, result;
};

static int drift(struct drifter *f, weft_cx *cx)
{
    f->self = cx->waker;
    f->polls++;
    int r = WEFT_PENDING;
    if (f->stage == 0) r = weft_chan_recv(f->a, &f->item, cx);
    if (f->stage <= 1 && r == WEFT_PENDING) r = weft_chan_recv(f->b, &f->item, cx);
    if (f->stage == 2) r = weft_notify_wait(f->n, cx);
    return r;
}

static int drifter(void *frame, weft_cx *cx)
{
    struct drifter *f = frame;
    WEFT_BEGIN(&f->co);
    WEFT_AWAIT(&f->co, f->result = drift(f, cx));
    WEFT_END(&f->co, f->result);
}

/*
 * The lapse rule on a task that lives on: a fast slot renewed in a poll is kept; one not renewed
 * lapses after that poll, passing its turn to the node behind; a node renewed while the fast slot
 * lapsed is kept, and lapses in turn after a poll that does not renew it.
 */
static void unrenewed_fast_slot_and_node_lapse_one_poll_at_a_time(void **state)
{
    weft_runtime *rt = rt_of(state);
    struct chan_fix a, b;
    chan_open(rt, &a, 1);
    chan_open(rt, &b, 1);
    weft_notify n;
    assert_int_equal(weft_notify_init(&n, rt), 0);
    struct drifter d = {.a = &a.ch, .b = &b.ch, .n = &n};
    weft_task td;
    assert_int_equal(weft_task_spawn(rt, drifter, &d, &td), 0);
    weft_runtime_run_ready(rt);
    weft_waker_wake(rt, d.self); /* renews both */
    weft_runtime_run_ready(rt);
    assert_int_equal(d.polls, 2);
    assert_int_equal(waiters(rt), 2);
    struct receiver r;
    weft_task tr = spawn_receiver(rt, &r, &a.ch); /* behind the drifter's fast slot */
    weft_runtime_run_ready(rt);
    int v = 3, w = 0;
    assert_int_equal(weft_chan_try_send(&a.ch, &v), 0); /* the turn goes to the fast slot */
    d.stage = 1;
    weft_runtime_run_ready(rt); /* the drifter leaves A: its turn passes to R */
    assert_int_equal(d.polls, 3);
    assert_true(task_done(rt, tr));
    assert_int_equal(weft_task_result(rt, tr), 3);
    assert_int_equal(waiters(rt), 1); /* the node on B */
    v = 4;
    assert_int_equal(weft_chan_try_send(&b.ch, &v), 0); /* wakes the drifter, which stays */
    d.stage = 2;
    weft_runtime_run_ready(rt); /* leaves B, waits for the notification */
    assert_int_equal(d.polls, 4);
    assert_int_equal(waiters(rt), 1);
    assert_int_equal(weft_chan_try_recv(&b.ch, &w), 0); /* the turn on B was passed on */
    assert_int_equal(w, 4);
    weft_notify_one(&n);
    weft_runtime_run_ready(rt);
    assert_int_equal(weft_task_result(rt, td), 0);
    weft_notify_destroy(&n);
    weft_chan_destroy(&a.ch);
    weft_chan_destroy(&b.ch);
}

/*
 * A fast slot that is its task's only wait (no node anywhere) is handed the turn for an item, and
 * its task runs without renewing it (the drifter at stage 3 waits on nothing the queues see). The
 * slot lapses after that poll and the turn passes to the receiver queued behind, which gets the
 * item; nothing of the drifter stays registered.
 */
static void lone_unrenewed_fast_slot_lapses_and_passes_its_turn(void **state)
{
    weft_runtime *rt = rt_of(state);
    struct chan_fix b;
    chan_open(rt, &b, 1);
    weft_notify n;
    assert_int_equal(weft_notify_init(&n, rt), 0);
    struct drifter d = {.b = &b.ch, .n = &n, .stage = 1}; /* B's fast slot, nothing else */
    weft_task td;
    assert_int_equal(weft_task_spawn(rt, drifter, &d, &td), 0);
    weft_runtime_run_ready(rt);
    struct receiver r;
    weft_task tr = spawn_receiver(rt, &r, &b.ch); /* a node behind the drifter's fast slot */
    weft_runtime_run_ready(rt);
    assert_int_equal(waiters(rt), 2);
    int v = 6;
    assert_int_equal(weft_chan_try_send(&b.ch, &v), 0); /* the turn goes to the fast slot */
    d.stage = 3;
    weft_runtime_run_ready(rt); /* the drifter does not renew: its turn passes to R */
    assert_int_equal(d.polls, 2);
    assert_true(task_done(rt, tr));
    assert_int_equal(weft_task_result(rt, tr), 6);
    assert_int_equal(waiters(rt), 0);
    d.stage = 2;
    weft_waker_wake(rt, d.self);
    weft_runtime_run_ready(rt);
    weft_notify_one(&n);
    weft_runtime_run_ready(rt);
    assert_int_equal(weft_task_result(rt, td), 0);
    weft_notify_destroy(&n);
    weft_chan_destroy(&b.ch);
}

/*
 * The loop's context is reused from poll to poll: a fast slot renewed in one task's poll must not
 * count as renewed in the next task's. X renews its fast slot, then Y, polled right after it,
 * waits on nothing the queues see: Y's fast slot lapses.
 */
static void a_renewal_does_not_carry_into_the_next_tasks_poll(void **state)
{
    weft_runtime *rt = rt_of(state);
    struct chan_fix a, b;
    chan_open(rt, &a, 1);
    chan_open(rt, &b, 1);
    struct drifter x = {.b = &a.ch, .stage = 1}, y = {.b = &b.ch, .stage = 1};
    weft_task tx, ty;
    assert_int_equal(weft_task_spawn(rt, drifter, &x, &tx), 0);
    assert_int_equal(weft_task_spawn(rt, drifter, &y, &ty), 0);
    weft_runtime_run_ready(rt);
    assert_int_equal(waiters(rt), 2); /* each in its channel's fast slot */
    y.stage = 3;
    weft_waker_wake(rt, x.self); /* X first: it renews */
    weft_waker_wake(rt, y.self); /* then Y, which does not */
    weft_runtime_run_ready(rt);
    assert_int_equal(x.polls, 2);
    assert_int_equal(y.polls, 2);
    assert_int_equal(waiters(rt), 1); /* X's only */
    int v = 4;
    assert_int_equal(weft_chan_try_send(&b.ch, &v), 0);
    weft_runtime_run_ready(rt);
    assert_int_equal(y.polls, 2); /* Y no longer waits on B: not woken */
    y.stage = 1;
    weft_waker_wake(rt, y.self);
    assert_int_equal(weft_chan_try_send(&a.ch, &v), 0);
    weft_runtime_run_ready(rt);
    assert_int_equal(weft_task_result(rt, tx), 0);
    assert_int_equal(weft_task_result(rt, ty), 0);
    weft_chan_destroy(&a.ch);
    weft_chan_destroy(&b.ch);
}

/*
 * Destroys `old` (whose receive queue's fast slot another task holds), opens `fresh`, which reuses
 * old's queue records, and waits in the fast slot of the one that was old's receive queue.
 */
struct reopener {
    weft_co co;
    weft_chan *old;
    struct chan_fix *fresh;
    bool sending; /* it waits to send (fresh's send queue reused the record), else to receive */
    int item, result;
};

static int reopener_wait(struct reopener *f, weft_cx *cx)
{
    return f->sending ? weft_chan_send(&f->fresh->ch, &f->item, cx)
                      : weft_chan_recv(&f->fresh->ch, &f->item, cx);
}

static int reopener(void *frame, weft_cx *cx)
{
    struct reopener *f = frame;
    WEFT_BEGIN(&f->co);
    uint32_t stale = f->old->recvq.slot;
    weft_chan_destroy(f->old);
    weft_chan *ch = &f->fresh->ch;
    if (weft_chan_init(ch, cx->rt, f->fresh->storage, sizeof f->fresh->storage[0], 1) != 0)
        WEFT_RETURN(&f->co, -1);
    f->sending = ch->sendq.slot == stale;
    if (!f->sending && ch->recvq.slot != stale) WEFT_RETURN(&f->co, -2); /* no record reused */
    f->item = 1;
    if (f->sending && weft_chan_try_send(ch, &f->item) != 0) WEFT_RETURN(&f->co, -3); /* full */
    WEFT_AWAIT(&f->co, f->result = reopener_wait(f, cx));
    WEFT_END(&f->co, f->result);
}

/*
 * Closing a queue empties its fast slot for good: the task that held it, woken, finishes with
 * WEFT_ECLOSED and must not then drop whoever holds the fast slot of the reused queue record.
 */
static void a_closed_queue_forgets_its_fast_slot_waiter(void **state)
{
    weft_runtime *rt = rt_of(state);
    struct chan_fix old, fresh;
    chan_open(rt, &old, 1);
    struct receiver a;
    weft_task ta = spawn_receiver(rt, &a, &old.ch);
    weft_runtime_run_ready(rt);
    assert_int_equal(waiters(rt), 1); /* A in old's receive fast slot */
    struct reopener r = {.old = &old.ch, .fresh = &fresh};
    weft_task tr;
    assert_int_equal(weft_task_spawn(rt, reopener, &r, &tr), 0);
    weft_runtime_run_ready(rt); /* R closes old and waits on fresh; then A ends */
    assert_true(task_done(rt, ta));
    assert_int_equal(weft_task_result(rt, ta), WEFT_ECLOSED);
    assert_false(task_done(rt, tr));
    assert_int_equal(waiters(rt), 1); /* R, still in its fast slot */
    int v = 2;
    if (r.sending)
        assert_int_equal(weft_chan_try_recv(&fresh.ch, &v), 0); /* room for R's item */
    else
        assert_int_equal(weft_chan_try_send(&fresh.ch, &v), 0); /* an item for R */
    weft_runtime_run_ready(rt);
    assert_true(task_done(rt, tr));
    assert_int_equal(weft_task_result(rt, tr), 0);
    weft_chan_destroy(&fresh.ch);
}

/*
 * Waits to receive in a channel's fast slot and, in the same poll, yields (WEFT_TASK_YIELD), as
 * long as it has yields left; then waits without yielding. Each poll renews the fast slot.
 */
struct recv_yielder {
    weft_co co;
    weft_chan *ch;
    int64_t deadline;
    int yields, polls, item, result;
};

static int recv_yielder(void *frame, weft_cx *cx)
{
    struct recv_yielder *f = frame;
    f->polls++;
    WEFT_BEGIN(&f->co);
    while ((f->result = weft_chan_recv_dl(f->ch, &f->item, f->deadline, cx)) == WEFT_PENDING) {
        if (f->yields == 0) {
            WEFT_YIELD(&f->co); /* woken by the item */
            continue;
        }
        f->yields--;
        WEFT_TASK_YIELD(&f->co, cx);
    }
    WEFT_END(&f->co, f->result == 0 ? f->item : f->result);
}

/*
 * A poll that both takes (or renews) a fast slot and yields asks two things of the executor at
 * once, in the same context flags: the task is queued again at once, and its fast slot is kept.
 * Without a deadline (the executor's common path) and with one (the path for unusual polls).
 */
static void a_poll_that_waits_in_the_fast_slot_and_yields_runs_again(void **state)
{
    weft_runtime *rt = rt_of(state);
    for (int with_deadline = 0; with_deadline < 2; with_deadline++) {
        struct chan_fix c;
        chan_open(rt, &c, 1);
        struct recv_yielder f = {.ch = &c.ch, .yields = 3, .deadline = WEFT_NO_DEADLINE};
        if (with_deadline) f.deadline = weft_deadline_in(WEFT_SEC(600));
        weft_task t;
        assert_int_equal(weft_task_spawn(rt, recv_yielder, &f, &t), 0);
        weft_runtime_run_ready(rt);
        assert_int_equal(f.polls, 4); /* three yields, then a plain wait */
        assert_int_equal(waiters(rt), 1);
        int v = 8;
        assert_int_equal(weft_chan_try_send(&c.ch, &v), 0);
        weft_runtime_run_ready(rt);
        assert_int_equal(weft_task_result(rt, t), 8);
        weft_chan_destroy(&c.ch);
    }
}

/* Locks the mutex, then returns (the lock stays held: the test unlocks it). */
struct locker {
    weft_co co;
    weft_mutex *m;
    int result;
};

static int locker(void *frame, weft_cx *cx)
{
    struct locker *f = frame;
    WEFT_BEGIN(&f->co);
    WEFT_AWAIT(&f->co, f->result = weft_mutex_lock(f->m, cx));
    WEFT_END(&f->co, f->result);
}

/*
 * The same through the general path (a mutex has no inline fast path, but its first waiter takes
 * the fast slot too): the fast slot's waiter is given the lock and cancelled before it runs; the
 * node behind it gets the lock instead.
 */
static void mutex_turn_passes_from_the_fast_slot(void **state)
{
    weft_runtime *rt = rt_of(state);
    weft_mutex m;
    assert_int_equal(weft_mutex_init(&m, rt), 0);
    assert_int_equal(weft_mutex_try_lock(&m), 0);
    struct locker l[2] = {{.m = &m}, {.m = &m}};
    weft_task t[2];
    spawn_two_waiters(rt, locker, &l[0], &l[1], t);
    assert_int_equal(weft_mutex_unlock(&m), 0);
    assert_int_equal(weft_task_cancel(rt, t[0]), 1);
    assert_int_equal(weft_mutex_try_lock(&m), -EBUSY); /* reserved for l[1] */
    assert_int_equal(weft_runtime_run(rt), 0);
    assert_int_equal(weft_task_result(rt, t[0]), -ECANCELED);
    assert_int_equal(weft_task_result(rt, t[1]), 0);
    assert_int_equal(waiters(rt), 0);
    assert_int_equal(weft_mutex_unlock(&m), 0);
    weft_mutex_destroy(&m);
}

/* The runtime dump names where a task waiting in a fast slot suspended (one pointer, kept). */
static void dump_shows_the_fast_slot_waiters_site(void **state)
{
    weft_runtime *rt = rt_of(state);
    struct chan_fix c;
    chan_open(rt, &c, 1);
    struct receiver r;
    weft_task t = spawn_receiver(rt, &r, &c.ch);
    weft_runtime_run_ready(rt);
    weft_task_info info;
    assert_int_equal(weft_task_inspect(rt, t, &info), 0);
    assert_int_equal(info.state, WEFT_TASK_WAITING);
    assert_non_null(info.file);
    assert_non_null(strstr(info.file, "test_sync_fast.c"));
    assert_true(info.line > 0);
    char text[512] = {0};
    FILE *out = fmemopen(text, sizeof text - 1, "w");
    assert_non_null(out);
    assert_int_equal(weft_runtime_dump(rt, out), 1);
    fclose(out);
    assert_non_null(strstr(text, "waiting"));
    assert_non_null(strstr(text, "test_sync_fast.c:"));
    weft_chan_destroy(&c.ch);
    assert_int_equal(weft_runtime_run(rt), 0);
    assert_int_equal(weft_task_result(rt, t), WEFT_ECLOSED);
}

int main(void)
{
    alarm(60); /* a lost wake-up would park forever: make it a failure instead */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(fast_slot_leaver_keeps_fifo_for_nodes, rt_setup,
                                        sync_teardown),
        cmocka_unit_test_setup_teardown(fast_slot_turn_is_not_stranded, rt_setup, sync_teardown),
        cmocka_unit_test_setup_teardown(second_waiter_behind_the_fast_slot, rt_setup,
                                        sync_teardown),
        cmocka_unit_test_setup_teardown(no_barging_past_the_fast_slot, rt_setup, sync_teardown),
        cmocka_unit_test_setup_teardown(select_holds_one_fast_slot_and_a_node, rt_setup,
                                        sync_teardown),
        cmocka_unit_test_setup_teardown(select_loser_with_a_turn_passes_it_on, rt_setup,
                                        sync_teardown),
        cmocka_unit_test_setup_teardown(fast_paths_spend_the_budget, rt_setup, sync_teardown),
        cmocka_unit_test_setup_teardown(fast_slot_with_a_deadline_is_served, rt_setup,
                                        sync_teardown),
        cmocka_unit_test_setup_teardown(ping_pong_through_fast_slots, rt_setup, sync_teardown),
        cmocka_unit_test_setup_teardown(items_of_every_size_pass_whole_and_in_order, rt_setup,
                                        sync_teardown),
        cmocka_unit_test_setup_teardown(ring_wraps_at_every_position, rt_setup, sync_teardown),
        cmocka_unit_test_setup_teardown(cached_queue_records_are_generation_checked, rt_setup,
                                        sync_teardown),
        cmocka_unit_test_setup_teardown(close_wakes_the_fast_slot_and_the_node_behind, rt_setup,
                                        sync_teardown),
        cmocka_unit_test_setup_teardown(destroy_wakes_the_fast_slot_and_the_node_behind, rt_setup,
                                        sync_teardown),
        cmocka_unit_test_setup_teardown(cancelled_fast_slot_passes_its_turn_to_the_node, rt_setup,
                                        sync_teardown),
        cmocka_unit_test_setup_teardown(fast_slot_forgets_a_cancelled_task_whose_record_is_reused,
                                        rt_setup, sync_teardown),
        cmocka_unit_test_setup_teardown(unrenewed_fast_slot_and_node_lapse_one_poll_at_a_time,
                                        rt_setup, sync_teardown),
        cmocka_unit_test_setup_teardown(lone_unrenewed_fast_slot_lapses_and_passes_its_turn,
                                        rt_setup, sync_teardown),
        cmocka_unit_test_setup_teardown(a_renewal_does_not_carry_into_the_next_tasks_poll, rt_setup,
                                        sync_teardown),
        cmocka_unit_test_setup_teardown(a_closed_queue_forgets_its_fast_slot_waiter, rt_setup,
                                        sync_teardown),
        cmocka_unit_test_setup_teardown(a_poll_that_waits_in_the_fast_slot_and_yields_runs_again,
                                        rt_setup, sync_teardown),
        cmocka_unit_test_setup_teardown(mutex_turn_passes_from_the_fast_slot, rt_setup,
                                        sync_teardown),
        cmocka_unit_test_setup_teardown(dump_shows_the_fast_slot_waiters_site, rt_setup,
                                        sync_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
