/*
 * Doors and xchans left open when their runtime closes (weft/sync.h section 8, "A door left
 * open"): every later call — from the runtime's thread or another one, racing with the close or
 * coming after it, even once the weft_runtime has been freed — returns -EBADF or WEFT_ECLOSED and
 * never touches the runtime. The runtime is heap-allocated and freed right after the close, so
 * under ASan a door that still reads it fails as a heap-use-after-free. And a receiver woken by
 * weft_xchan_destroy does not touch the xchan's destroyed mutex.
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include <weft/sync.h>

#include "weft_test.h"

enum { RING = 4 };

static void sleep_us(long us)
{
    struct timespec ts = {us / 1000000, (us % 1000000) * 1000};
    nanosleep(&ts, NULL);
}

/* A runtime on the heap, so that freeing it after the close makes any later read of it visible. */
static weft_runtime *runtime_new(void)
{
    weft_runtime *rt = malloc(sizeof *rt);
    assert_non_null(rt);
    assert_int_equal(weft_runtime_init(rt), 0);
    return rt;
}

/* Closes rt with a door still open (reported as -EBUSY), then frees it. */
static void runtime_close_and_free(weft_runtime *rt)
{
    assert_int_equal(weft_runtime_close(rt), -EBUSY);
    free(rt);
}

/* Runs fn(arg) on a thread of its own and waits for it. */
static void on_thread(void *(*fn)(void *), void *arg)
{
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, fn, arg), 0);
    assert_int_equal(pthread_join(t, NULL), 0);
}

/* ---------------------------------------------------------------------------------------------
 * After the close (the auditor's cases 1-4)
 * ------------------------------------------------------------------------------------------- */

struct door_use {
    weft_remote *door;
    int wake[2];
};

static void *wake_twice(void *arg)
{
    struct door_use *u = arg;
    weft_waker w = {1, 1};
    for (int i = 0; i < 2; i++)
        u->wake[i] = weft_remote_wake(u->door, w);
    return NULL;
}

/* Case 1: a thread wakes through a door whose runtime has closed (and been freed). */
static void remote_wake_after_runtime_close(void **state)
{
    (void)state;
    int fds = weft_test_fd_count();
    weft_runtime *rt = runtime_new();
    weft_remote door;
    assert_int_equal(weft_remote_open(&door, rt), 0);
    runtime_close_and_free(rt);
    assert_int_equal(weft_test_fd_count(), fds); /* the inbox's eventfd went with the runtime */

    struct door_use u = {.door = &door};
    on_thread(wake_twice, &u);
    assert_int_equal(u.wake[0], -EBADF);
    assert_int_equal(u.wake[1], -EBADF);

    weft_remote_close(&door);
    assert_int_equal(weft_remote_wake(&door, (weft_waker){1, 1}), -EBADF);
    weft_remote_close(&door); /* twice: nothing */
}

struct xchan_use {
    weft_xchan *x;
    int try_send, send_blocking;
};

static void *send_both_ways(void *arg)
{
    struct xchan_use *u = arg;
    int item = 7;
    u->try_send = weft_xchan_try_send(u->x, &item);
    u->send_blocking = weft_xchan_send_blocking(u->x, &item);
    weft_xchan_close(u->x);
    return NULL;
}

/* Case 2: a thread sends into (and closes) an xchan whose runtime has closed. */
static void xchan_send_after_runtime_close(void **state)
{
    (void)state;
    weft_runtime *rt = runtime_new();
    weft_xchan x;
    int ring[RING];
    assert_int_equal(weft_xchan_init(&x, rt, ring, sizeof ring[0], RING), 0);
    runtime_close_and_free(rt);

    struct xchan_use u = {.x = &x};
    on_thread(send_both_ways, &u);
    assert_int_equal(u.try_send, WEFT_ECLOSED);
    assert_int_equal(u.send_blocking, WEFT_ECLOSED);
    weft_xchan_destroy(&x);
}

/* Case 3: the xchan is destroyed on the runtime's thread after the runtime was closed. */
static void xchan_destroy_after_runtime_close(void **state)
{
    (void)state;
    weft_runtime *rt = runtime_new();
    weft_xchan x;
    int ring[RING];
    assert_int_equal(weft_xchan_init(&x, rt, ring, sizeof ring[0], RING), 0);
    int item = 1;
    assert_int_equal(weft_xchan_try_send(&x, &item), 0); /* an item left buffered */
    runtime_close_and_free(rt);
    weft_xchan_destroy(&x);
    weft_xchan_destroy(&x); /* twice: nothing */
}

static void *close_door(void *arg)
{
    weft_remote_close(arg);
    return NULL;
}

/* Case 4: the door is closed after the runtime, on the runtime's thread and on another one. */
static void remote_close_after_runtime_close(void **state)
{
    (void)state;
    weft_runtime *rt = runtime_new();
    weft_remote here, there;
    assert_int_equal(weft_remote_open(&here, rt), 0);
    assert_int_equal(weft_remote_open(&there, rt), 0);
    runtime_close_and_free(rt);
    weft_remote_close(&here);
    on_thread(close_door, &there);
    assert_int_equal(weft_remote_wake(&there, (weft_waker){1, 1}), -EBADF);
}

/* ---------------------------------------------------------------------------------------------
 * Racing with the close
 * ------------------------------------------------------------------------------------------- */

/* A sender blocked on a full xchan is released by the runtime's close. */
static void blocked_sender_released_by_runtime_close(void **state)
{
    (void)state;
    weft_runtime *rt = runtime_new();
    weft_xchan x;
    int ring[1];
    assert_int_equal(weft_xchan_init(&x, rt, ring, sizeof ring[0], 1), 0);
    int item = 1;
    assert_int_equal(weft_xchan_try_send(&x, &item), 0); /* full */

    struct xchan_use u = {.x = &x};
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, send_both_ways, &u), 0);
    bool blocked = false;
    for (int spin = 0; spin < 300000 && !blocked; spin++) { /* >= 30 s: a bound on a hang */
        pthread_mutex_lock(&x.lock);
        blocked = x.blocked == 1;
        pthread_mutex_unlock(&x.lock);
        if (!blocked) sleep_us(100);
    }
    assert_true(blocked);
    alarm(20); /* a sender the close does not release would hang the join */
    runtime_close_and_free(rt);
    assert_int_equal(pthread_join(t, NULL), 0);
    alarm(0);
    assert_int_equal(u.try_send, -EAGAIN);
    assert_int_equal(u.send_blocking, WEFT_ECLOSED);
    weft_xchan_destroy(&x);
}

enum { CLOSED_STREAK = 1000, MAX_CALLS = 5000000 };

/*
 * A thread that keeps using a door and an xchan until it has seen each closed many times over.
 * For each of the two, the results must be open ones (0, -EAGAIN) and then closed ones (-EBADF,
 * WEFT_ECLOSED) only: once a call has said "closed", none may say "open" again.
 */
struct hammer {
    weft_remote *door;
    weft_xchan *x;
    atomic_bool started;
    long calls;
    long bad[2];   /* for the door and for the xchan: results out of that order */
    int streak[2]; /* closed results in a row */
};

static void hammer_note(struct hammer *h, int which, int r)
{
    bool closed = r == -EBADF || r == WEFT_ECLOSED;
    if (!closed && (h->streak[which] > 0 || (r != 0 && r != -EAGAIN))) h->bad[which]++;
    h->streak[which] = closed ? h->streak[which] + 1 : 0;
}

static void *hammer_thread(void *arg)
{
    struct hammer *h = arg;
    int item = 3;
    atomic_store(&h->started, true);
    for (; h->calls < MAX_CALLS; h->calls++) {
        if (h->streak[0] >= CLOSED_STREAK && h->streak[1] >= CLOSED_STREAK) break;
        if (h->calls % 2)
            hammer_note(h, 0, weft_remote_wake(h->door, (weft_waker){1, 1}));
        else
            hammer_note(h, 1, weft_xchan_try_send(h->x, &item));
    }
    return NULL;
}

/* Two threads use a door and an xchan while the runtime closes, and after it is freed. */
static void doors_used_while_runtime_closes(void **state)
{
    (void)state;
    weft_runtime *rt = runtime_new();
    weft_remote door;
    weft_xchan x;
    int ring[RING];
    assert_int_equal(weft_remote_open(&door, rt), 0);
    assert_int_equal(weft_xchan_init(&x, rt, ring, sizeof ring[0], RING), 0);

    struct hammer h[2] = {{.door = &door, .x = &x}, {.door = &door, .x = &x}};
    pthread_t t[2];
    for (int i = 0; i < 2; i++)
        assert_int_equal(pthread_create(&t[i], NULL, hammer_thread, &h[i]), 0);
    for (int spin = 0; spin < 20000 && !(atomic_load(&h[0].started) && atomic_load(&h[1].started));
         spin++) /* <= 2 s */
        sleep_us(100);
    sleep_us(2000); /* let them run into the close */
    runtime_close_and_free(rt);
    for (int i = 0; i < 2; i++) {
        assert_int_equal(pthread_join(t[i], NULL), 0);
        assert_int_equal(h[i].bad[0], 0);
        assert_int_equal(h[i].bad[1], 0);
        assert_true(h[i].calls < MAX_CALLS); /* both ended closed */
    }
    weft_xchan_destroy(&x);
    weft_remote_close(&door);
}

/* ---------------------------------------------------------------------------------------------
 * After weft_xchan_destroy
 * ------------------------------------------------------------------------------------------- */

struct xreceiver {
    weft_co co;
    weft_xchan *x;
    int item, result;
};

static int xreceiver(void *frame, weft_cx *cx)
{
    struct xreceiver *f = frame;
    WEFT_BEGIN(&f->co);
    WEFT_AWAIT(&f->co, f->result = weft_xchan_recv(f->x, &f->item, cx));
    WEFT_END(&f->co, f->result);
}

/*
 * A receiver woken by weft_xchan_destroy polls once more and must not lock the mutex the destroy
 * destroyed. To make such a lock visible, the mutex's memory is reused for a mutex held by this
 * thread: locking it again would hang (alarm) instead of returning WEFT_ECLOSED.
 */
static void xchan_destroy_wakes_receiver_without_its_lock(void **state)
{
    (void)state;
    weft_runtime rt;
    assert_int_equal(weft_runtime_init(&rt), 0);
    weft_xchan x;
    int ring[RING];
    assert_int_equal(weft_xchan_init(&x, &rt, ring, sizeof ring[0], RING), 0);
    struct xreceiver f = {.x = &x};
    weft_task t;
    assert_int_equal(weft_task_spawn(&rt, xreceiver, &f, &t), 0);
    weft_runtime_run_ready(&rt); /* the receiver waits */
    weft_xchan_destroy(&x);
    assert_int_equal(pthread_mutex_init(&x.lock, NULL), 0); /* the memory, reused */
    pthread_mutex_lock(&x.lock);
    alarm(20);
    assert_int_equal(weft_runtime_run(&rt), 0);
    alarm(0);
    assert_int_equal(weft_task_result(&rt, t), WEFT_ECLOSED);
    pthread_mutex_unlock(&x.lock);
    pthread_mutex_destroy(&x.lock);
    assert_int_equal(weft_runtime_close(&rt), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(remote_wake_after_runtime_close),
        cmocka_unit_test(xchan_send_after_runtime_close),
        cmocka_unit_test(xchan_destroy_after_runtime_close),
        cmocka_unit_test(remote_close_after_runtime_close),
        cmocka_unit_test(blocked_sender_released_by_runtime_close),
        cmocka_unit_test(doors_used_while_runtime_closes),
        cmocka_unit_test(xchan_destroy_wakes_receiver_without_its_lock),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
