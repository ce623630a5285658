/*
 * Tests of weft/sync.h section 8: other threads sending into an xchan and waking tasks through
 * a door. The stress test is the one the issue asks for: 4 threads x 10 000 sends, every item
 * delivered exactly once (and in order per thread). A lost wake-up would leave the receiver
 * parked for ever; alarm() turns that into a failure.
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "sync_test.h"

enum { THREADS = 4, PER_THREAD = 10000 };

/* ---------------------------------------------------------------------------------------------
 * Sending threads and receiving tasks
 * ------------------------------------------------------------------------------------------- */

struct sender_thread {
    pthread_t tid;
    weft_xchan *x;
    uint32_t id;
    int delay_ms;     /* before the first send */
    int count;        /* items to send */
    bool close_after; /* close the channel when done */
    int failures;     /* sends that did not return 0 */
};

/* Item = thread id in the top byte, sequence number below: lets the receiver check order. */
static void *sender_thread(void *arg)
{
    struct sender_thread *s = arg;
    if (s->delay_ms > 0) sleep_ms(s->delay_ms);
    for (int i = 0; i < s->count; i++) {
        uint32_t item = s->id << 24 | (uint32_t)i;
        if (weft_xchan_send_blocking(s->x, &item) != 0) s->failures++;
    }
    if (s->close_after) weft_xchan_close(s->x);
    return NULL;
}

/* Receives until closed or `want` items; checks order per thread; counts each item. */
struct xreceiver {
    weft_co co;
    weft_xchan *x;
    int want, got, result;
    uint32_t item;
    int next[THREADS]; /* next sequence number expected from each thread */
    int out_of_order;
    uint8_t *seen; /* THREADS * PER_THREAD counters */
};

static int xreceiver(void *frame, weft_cx *cx)
{
    struct xreceiver *f = frame;
    WEFT_BEGIN(&f->co);
    while (f->want == 0 || f->got < f->want) {
        WEFT_AWAIT(&f->co, f->result = weft_xchan_recv(f->x, &f->item, cx));
        if (f->result != 0) break;
        uint32_t t = f->item >> 24, seq = f->item & 0xffffff;
        if (t >= THREADS || seq >= PER_THREAD) WEFT_RETURN(&f->co, -ERANGE);
        f->seen[t * PER_THREAD + seq]++;
        if ((int)seq < f->next[t]) f->out_of_order++;
        f->next[t] = (int)seq + 1;
        f->got++;
    }
    WEFT_END(&f->co, f->result);
}

static void start_senders(struct sender_thread *s, int n, weft_xchan *x)
{
    for (int i = 0; i < n; i++) {
        s[i].x = x;
        s[i].id = (uint32_t)i;
        assert_int_equal(pthread_create(&s[i].tid, NULL, sender_thread, &s[i]), 0);
    }
}

/* Joins the senders, then closes the channel (from this thread, not the runtime's). */
struct closer {
    struct sender_thread *senders;
    int n;
    weft_xchan *x;
};

static void *closer(void *arg)
{
    struct closer *c = arg;
    for (int i = 0; i < c->n; i++)
        pthread_join(c->senders[i].tid, NULL);
    weft_xchan_close(c->x);
    return NULL;
}

static void join_senders(struct sender_thread *s, int n)
{
    for (int i = 0; i < n; i++) {
        assert_int_equal(pthread_join(s[i].tid, NULL), 0);
        assert_int_equal(s[i].failures, 0);
    }
}

/* Runs `receivers` tasks against 4 sending threads; each item must arrive exactly once. */
static void stress(weft_runtime *rt, int receivers)
{
    uint32_t storage[64];
    weft_xchan x;
    assert_int_equal(weft_xchan_init(&x, rt, storage, sizeof storage[0], 64), 0);
    uint8_t *seen = calloc((size_t)THREADS * PER_THREAD, 1);
    struct xreceiver r[2];
    for (int i = 0; i < receivers; i++) {
        r[i] = (struct xreceiver){.x = &x, .seen = seen};
        assert_int_equal(weft_task_spawn(rt, xreceiver, &r[i], NULL), 0);
    }
    struct sender_thread s[THREADS];
    memset(s, 0, sizeof s);
    for (int i = 0; i < THREADS; i++)
        s[i].count = PER_THREAD;
    start_senders(s, THREADS, &x);
    /* Another thread closes the channel once every sender is done; the loop runs meanwhile. */
    struct closer c = {.senders = s, .n = THREADS, .x = &x};
    pthread_t closer_tid;
    assert_int_equal(pthread_create(&closer_tid, NULL, closer, &c), 0);
    assert_int_equal(weft_runtime_run(rt), 0);
    assert_int_equal(pthread_join(closer_tid, NULL), 0);
    for (int i = 0; i < THREADS; i++)
        assert_int_equal(s[i].failures, 0);
    int total = 0;
    for (int i = 0; i < receivers; i++) {
        assert_int_equal(r[i].result, WEFT_ECLOSED);
        assert_int_equal(r[i].out_of_order, 0);
        total += r[i].got;
    }
    assert_int_equal(total, THREADS * PER_THREAD);
    for (int i = 0; i < THREADS * PER_THREAD; i++)
        if (seen[i] != 1) fail_msg("item %d seen %d times", i, seen[i]);
    free(seen);
    weft_xchan_destroy(&x);
}

static void xchan_4_threads_x_10000_sends_each_delivered_once(void **state)
{
    stress(rt_of(state), 1);
}

static void xchan_two_receiving_tasks_share_the_load(void **state)
{
    stress(rt_of(state), 2);
}

/* ---------------------------------------------------------------------------------------------
 * Running concurrently with the senders
 * ------------------------------------------------------------------------------------------- */

/* The loop runs while the threads send: receiving overlaps sending, and closing ends it. */
static void xchan_receives_while_threads_send(void **state)
{
    weft_runtime *rt = rt_of(state);
    uint32_t storage[8];
    weft_xchan x;
    assert_int_equal(weft_xchan_init(&x, rt, storage, sizeof storage[0], 8), 0);
    uint8_t *seen = calloc((size_t)THREADS * PER_THREAD, 1);
    struct xreceiver r = {.x = &x, .seen = seen, .want = THREADS * 1000};
    weft_task t;
    assert_int_equal(weft_task_spawn(rt, xreceiver, &r, &t), 0);
    struct sender_thread s[THREADS];
    memset(s, 0, sizeof s);
    for (int i = 0; i < THREADS; i++)
        s[i].count = 1000;
    start_senders(s, THREADS, &x);
    /* Nothing but the door keeps the loop alive while the channel is empty: no -EDEADLK. */
    assert_int_equal(weft_runtime_run(rt), 0);
    assert_int_equal(weft_task_result(rt, t), 0);
    assert_int_equal(r.got, THREADS * 1000);
    assert_int_equal(r.out_of_order, 0);
    join_senders(s, THREADS);
    free(seen);
    weft_xchan_destroy(&x);
}

/* A thread that sends a few items and closes: the receiver drains them, then sees it closed. */
static void xchan_close_from_a_thread_after_sending(void **state)
{
    weft_runtime *rt = rt_of(state);
    uint32_t storage[4];
    weft_xchan x;
    assert_int_equal(weft_xchan_init(&x, rt, storage, sizeof storage[0], 4), 0);
    uint8_t *seen = calloc((size_t)THREADS * PER_THREAD, 1);
    struct xreceiver r = {.x = &x, .seen = seen};
    assert_int_equal(weft_task_spawn(rt, xreceiver, &r, NULL), 0);
    struct sender_thread s = {.count = 10, .delay_ms = 5, .close_after = true};
    start_senders(&s, 1, &x);
    assert_int_equal(weft_runtime_run(rt), 0);
    join_senders(&s, 1);
    assert_int_equal(r.got, 10);
    assert_int_equal(r.result, WEFT_ECLOSED);
    uint32_t item = 0;
    assert_int_equal(weft_xchan_try_send(&x, &item), WEFT_ECLOSED);
    free(seen);
    weft_xchan_destroy(&x);
}

static void xchan_try_send_reports_full(void **state)
{
    weft_runtime *rt = rt_of(state);
    uint32_t storage[2], item = 1;
    weft_xchan x;
    assert_int_equal(weft_xchan_init(&x, rt, storage, sizeof storage[0], 2), 0);
    assert_int_equal(weft_xchan_try_send(&x, &item), 0);
    assert_int_equal(weft_xchan_try_send(&x, &item), 0);
    assert_int_equal(weft_xchan_try_send(&x, &item), -EAGAIN);
    weft_xchan_destroy(&x);
}

/* ---------------------------------------------------------------------------------------------
 * Waking a task from another thread
 * ------------------------------------------------------------------------------------------- */

struct counted {
    weft_co co;
    _Atomic int *counter;
    int target;
    _Atomic uint64_t *waker; /* published for the threads: slot << 32 | gen */
    int polls;
};

/* Waits until the shared counter reaches target; every increment comes with a remote wake. */
static int counted(void *frame, weft_cx *cx)
{
    struct counted *f = frame;
    f->polls++;
    WEFT_BEGIN(&f->co);
    atomic_store(f->waker, (uint64_t)cx->waker.slot << 32 | cx->waker.gen);
    WEFT_WAIT_UNTIL(&f->co, atomic_load(f->counter) >= f->target);
    WEFT_END(&f->co, 0);
}

struct waking_thread {
    pthread_t tid;
    weft_remote *door;
    _Atomic int *counter;
    _Atomic uint64_t *waker;
    int wakes, failures;
};

static void *waking_thread(void *arg)
{
    struct waking_thread *t = arg;
    uint64_t w;
    for (int i = 0; i < 100000 && (w = atomic_load(t->waker)) == 0; i++)
        sleep_ms(1);
    weft_waker waker = {(uint32_t)(w >> 32), (uint32_t)w};
    for (int i = 0; i < t->wakes; i++) {
        atomic_fetch_add(t->counter, 1);
        if (weft_remote_wake(t->door, waker) != 0) t->failures++;
    }
    return NULL;
}

static void remote_wakes_under_contention_lose_nothing(void **state)
{
    weft_runtime *rt = rt_of(state);
    weft_remote door;
    assert_int_equal(weft_remote_open(&door, rt), 0);
    _Atomic int counter = 0;
    _Atomic uint64_t waker = 0;
    struct counted c = {.counter = &counter, .target = THREADS * PER_THREAD, .waker = &waker};
    weft_task t;
    assert_int_equal(weft_task_spawn(rt, counted, &c, &t), 0);
    struct waking_thread w[THREADS];
    for (int i = 0; i < THREADS; i++) {
        w[i] = (struct waking_thread){
            .door = &door, .counter = &counter, .waker = &waker, .wakes = PER_THREAD};
        assert_int_equal(pthread_create(&w[i].tid, NULL, waking_thread, &w[i]), 0);
    }
    /* The task finishes only if the wake that follows the last increment is not lost. */
    weft_task_info info;
    for (int i = 0; i < 1000000; i++) {
        weft_runtime_run_ready(rt);
        assert_int_equal(weft_task_inspect(rt, t, &info), 0);
        if (info.state == WEFT_TASK_DONE) break;
        assert_int_equal(weft_runtime_park(rt), 0);
    }
    assert_int_equal(info.state, WEFT_TASK_DONE);
    assert_int_equal(weft_task_result(rt, t), 0);
    for (int i = 0; i < THREADS; i++) {
        assert_int_equal(pthread_join(w[i].tid, NULL), 0);
        assert_int_equal(w[i].failures, 0);
    }
    weft_remote_close(&door);
    assert_int_equal(weft_remote_wake(&door, WEFT_WAKER_NONE), -EBADF);
}

int main(void)
{
    alarm(120); /* a lost wake-up parks for ever: make it a failure */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(xchan_4_threads_x_10000_sends_each_delivered_once, rt_setup,
                                        sync_teardown),
        cmocka_unit_test_setup_teardown(xchan_two_receiving_tasks_share_the_load, rt_setup,
                                        sync_teardown),
        cmocka_unit_test_setup_teardown(xchan_receives_while_threads_send, rt_setup, sync_teardown),
        cmocka_unit_test_setup_teardown(xchan_close_from_a_thread_after_sending, rt_setup,
                                        sync_teardown),
        cmocka_unit_test_setup_teardown(xchan_try_send_reports_full, rt_setup, sync_teardown),
        cmocka_unit_test_setup_teardown(remote_wakes_under_contention_lose_nothing, rt_setup,
                                        sync_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
