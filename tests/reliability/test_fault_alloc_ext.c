/*
 * Out of memory at every allocation site of the parts test_fault_alloc.c does not reach: the
 * blocking pool and weft_resolve (and its lazy thread start failing), the cross-thread channel
 * and doors, the HTTP client following a redirect, the tracer, and a task group growing.
 *
 * As there: each scenario runs once to count the allocations, then once for each k with the k-th
 * failing. Every run must end every operation with its result or its documented error, let a
 * bystander task finish, lose nothing that was accepted, and leave no task, timer, registration,
 * wait queue, door or job in the runtime, and no fd or heap block behind.
 * Linked with -Wl,--wrap=malloc,calloc,realloc,free,pthread_create.
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <weft/blocking.h>
#include <weft/group.h>
#include <weft/tcp.h>
#include <weft/trace.h>

#include "fault.h"
#include "fault_thread.h"
#include "weft_test.h"
#include "world.h"

/* Fails the test unless rt holds nothing: every task collected, every timer, registration, wait
 * queue, waiter, door and job gone. */
static void expect_runtime_empty(const weft_runtime *rt, const char *what)
{
    weft_runtime_stats st;
    weft_sync_stats sy;
    weft_runtime_get_stats(rt, &st);
    weft_sync_get_stats(rt, &sy);
    if (st.tasks || st.done || st.ready || st.io_open || st.io_waiting || st.timers)
        fail_msg("%s: runtime holds tasks %zu done %zu ready %zu io %zu/%zu timers %zu", what,
                 st.tasks, st.done, st.ready, st.io_open, st.io_waiting, st.timers);
    if (sy.queues || sy.waiters || sy.doors || sy.jobs)
        fail_msg("%s: sync holds queues %zu waiters %zu doors %zu jobs %zu", what, sy.queues,
                 sy.waiters, sy.doors, sy.jobs);
}

static void bystander_prepare(struct bystander *by)
{
    memset(by, 0, sizeof *by);
    by->rounds = 3;
    by->step = WEFT_MSEC(1);
}

static void sleep_us(long us)
{
    struct timespec ts = {0, us * 1000};
    nanosleep(&ts, NULL);
}

/* ============================================================================================
 * The blocking pool: a job, a resolution, and jobs at once (lazy thread start)
 * ========================================================================================== */

struct sum_data {
    int v[8];
    int sum;
    int hold; /* keep the thread busy until `hold` jobs were asked for (trio_asked) */
};

/* Jobs asked for by the pool trio. A job that holds its thread until all three were asked for
 * makes the next ones need threads of their own; a sleep would not, on a slow machine where
 * the first job can end before the second is asked for. */
static _Atomic int trio_asked;

static int sum_fn(void *data)
{
    struct sum_data *d = data;
    for (int i = 0; i < 300000 && atomic_load(&trio_asked) < d->hold; i++) /* >= 30 s */
        sleep_us(100);
    d->sum = 0;
    for (int i = 0; i < 8; i++)
        d->sum += d->v[i];
    return d->sum;
}

enum { SUM = 36 }; /* 1 + ... + 8 */

/* One job, then a resolution, one after the other. */
struct pool_user {
    weft_co co;
    weft_blocking job;
    struct sum_data data;
    weft_addr addrs[4];
    int job_r, resolve_r;
};

static int pool_user_task(void *frame, weft_cx *cx)
{
    struct pool_user *f = frame;
    WEFT_BEGIN(&f->co);
    for (int i = 0; i < 8; i++)
        f->data.v[i] = i + 1;
    WEFT_AWAIT(&f->co, f->job_r = weft_blocking_run(&f->job, sum_fn, &f->data, sizeof f->data, cx));
    memset(&f->job, 0, sizeof f->job); /* -ENOMEM from a wait leaves it naming the job */
    WEFT_AWAIT(&f->co, f->resolve_r = weft_resolve_host_dl(&f->job, "127.0.0.1", "8080", AF_INET,
                                                           f->addrs, 4, WEFT_NO_DEADLINE, cx));
    WEFT_END(&f->co, 0);
}

static struct pool_user pool_frame;
static struct bystander pool_by;
static struct task_set pool_set;

/* Returns weft_runtime_init's error, or 0 with the results in pool_frame / pool_set. */
static int pool_run(const char *what)
{
    weft_runtime rt;
    int r = weft_runtime_init(&rt);
    if (r < 0) return r;
    memset(&pool_frame, 0, sizeof pool_frame);
    bystander_prepare(&pool_by);
    memset(&pool_set, 0, sizeof pool_set);
    task_set_add(&pool_set, pool_user_task, &pool_frame);
    task_set_add(&pool_set, bystander_task, &pool_by);
    r = task_set_run(&rt, &pool_set);
    if (r != 0 && r != -ENOMEM) fail_msg("%s: block_on: %s", what, weft_strerror(r));
    if (r == 0) expect_runtime_empty(&rt, what);
    assert_int_equal(weft_runtime_close(&rt), 0);
    return r == 0 ? 0 : 1;
}

/* A resolution's outcome: 127.0.0.1:8080, or -ENOMEM / -EAGAIN (nothing ran, or the job's copy
 * could not be made; getaddrinfo's own EAI_MEMORY is -ENOMEM too). */
static bool pool_resolved(const struct pool_user *f, const char *what)
{
    if (f->resolve_r == -ENOMEM) return false;
    if (f->resolve_r != 1) fail_msg("%s: resolve: %d", what, f->resolve_r);
    char text[64];
    assert_true(weft_addr_format(&f->addrs[0], text, sizeof text) > 0);
    if (strcmp(text, "127.0.0.1:8080") != 0) fail_msg("%s: resolved %s", what, text);
    return true;
}

static void pool_every_allocation_fails_once(void **state)
{
    (void)state;
    struct leak_snapshot before = leak_snapshot_take();
    fault_alloc_fail_at(0);
    assert_int_equal(pool_run("pool, no fault"), 0);
    long total = fault_alloc_count();
    assert_int_equal(pool_frame.job_r, SUM);
    assert_int_equal(pool_frame.data.sum, SUM);
    assert_true(pool_resolved(&pool_frame, "pool, no fault"));
    assert_int_equal(pool_by.done, 3);
    expect_no_leak(before, "pool, no fault");

    int lost = 0, unreached = 0;
    for (long k = 1; k <= total; k++) {
        char what[128];
        snprintf(what, sizeof what, "pool, allocation %ld of %ld fails", k, total);
        fault_alloc_fail_at(k);
        int r = pool_run(what);
        bool fired = fault_alloc_failed();
        fault_alloc_fail_at(0);
        unreached += !fired; /* the pool thread's allocations may come in another order */
        if (r == 0) {
            const struct pool_user *f = &pool_frame;
            if (f->job_r != SUM && f->job_r != -ENOMEM) fail_msg("%s: job: %d", what, f->job_r);
            if (f->job_r == SUM && f->data.sum != SUM) fail_msg("%s: data not copied back", what);
            bool ok = pool_resolved(f, what);
            if (f->job_r != SUM && !ok)
                fail_msg("%s: both the job and the resolution failed", what);
            lost += f->job_r != SUM || !ok;
            if (pool_set.spawned[1] == 0 && pool_by.done != 3)
                fail_msg("%s: bystander did %d rounds", what, pool_by.done);
        }
        expect_no_leak(before, what);
    }
    if (unreached > 2) fail_msg("pool: %d of %ld faults not reached", unreached, total);
    print_message("pool: %ld allocations, each failed once: %d cost the job or the resolution\n",
                  total, lost);
}

/* Three jobs at once: each needs a thread of its own. */
struct pool_trio {
    weft_co co;
    weft_blocking job;
    struct sum_data data;
    int r;
};

static int pool_trio_task(void *frame, weft_cx *cx)
{
    struct pool_trio *f = frame;
    WEFT_BEGIN(&f->co);
    for (int i = 0; i < 8; i++)
        f->data.v[i] = i + 1;
    f->data.hold = 3;
    atomic_fetch_add(&trio_asked, 1); /* asked for just below, in this poll */
    WEFT_AWAIT(&f->co, f->r = weft_blocking_run(&f->job, sum_fn, &f->data, sizeof f->data, cx));
    WEFT_END(&f->co, 0);
}

static struct pool_trio trio_jobs[3];

static void threads_run(const char *what)
{
    weft_runtime rt;
    assert_int_equal(weft_runtime_init(&rt), 0);
    memset(trio_jobs, 0, sizeof trio_jobs);
    atomic_store(&trio_asked, 0);
    bystander_prepare(&pool_by);
    memset(&pool_set, 0, sizeof pool_set);
    for (int i = 0; i < 3; i++)
        task_set_add(&pool_set, pool_trio_task, &trio_jobs[i]);
    task_set_add(&pool_set, bystander_task, &pool_by);
    assert_int_equal(task_set_run(&rt, &pool_set), 0);
    if (pool_by.done != 3) fail_msg("%s: bystander did %d rounds", what, pool_by.done);
    expect_runtime_empty(&rt, what);
    assert_int_equal(weft_runtime_close(&rt), 0);
}

/* pthread_create failing with EAGAIN at each thread start, then at every one: only a job that
 * found no thread at all fails (with -EAGAIN, having not run); the others wait for a thread. */
static void pool_thread_start_fails(void **state)
{
    (void)state;
    struct leak_snapshot before = leak_snapshot_take();
    fault_thread_fail_at(0, 0, false);
    threads_run("threads, no fault");
    long total = fault_thread_calls();
    assert_true(total >= 2); /* the jobs overlap: more than one thread was needed */
    for (int i = 0; i < 3; i++)
        assert_int_equal(trio_jobs[i].r, SUM);
    expect_no_leak(before, "threads, no fault");
    int cases = 0;
    for (int always = 0; always <= 1; always++) {
        for (long k = 1; k <= total; k++) {
            char what[128];
            snprintf(what, sizeof what, "threads, start %ld%s fails with EAGAIN", k,
                     always ? " and every later one" : "");
            fault_thread_fail_at(k, EAGAIN, always);
            threads_run(what);
            fault_thread_fail_at(0, 0, false);
            int failed = 0;
            for (int i = 0; i < 3; i++) {
                if (trio_jobs[i].r == -EAGAIN) {
                    failed++;
                    if (trio_jobs[i].data.sum != 0) fail_msg("%s: a failed job ran", what);
                } else if (trio_jobs[i].r != SUM) {
                    fail_msg("%s: job %d: %d", what, i, trio_jobs[i].r);
                }
            }
            /* The first start found no thread running: its job fails, unless it was not the
             * first (k > 1), when the running threads take the job on. */
            int expect = k == 1 ? (always ? 3 : 1) : 0;
            if (failed != expect) fail_msg("%s: %d jobs failed, expected %d", what, failed, expect);
            expect_no_leak(before, what);
            cases++;
        }
    }
    print_message("pool threads: %ld starts, %d cases\n", total, cases);
}

/* ============================================================================================
 * Cross-thread: an xchan fed by another thread, and a door it wakes a task through
 * ========================================================================================== */

enum { XITEMS = 8 };

struct xworld {
    weft_runtime rt;
    weft_xchan x;
    int ring[2];
    weft_remote door;
    bool x_open, door_open;
    /* the sending thread */
    pthread_t thread;
    int sent[XITEMS];         /* each send's result */
    int wake_r[4];            /* each attempt of the door's wake */
    atomic_bool waiter_ready; /* the waiter published its waker */
    atomic_bool wake_flag;    /* set before the door is used */
    weft_waker waiter;
    /* what the receiving task got, and how it ended */
    int got[XITEMS + 1], ngot, recv_r, timeouts, nomem;
    int late;  /* receives that ended only at the receiver's deadline: a wake-up was lost */
    int woken; /* the waiter was */
    bool one_then_close; /* the other mode: send one item, close once it was received */
    atomic_int received; /* ngot, for the sender to see */
};

static struct xworld xw;

/* How long the receiver waits for each item. Only a lost wake-up should reach it: a deadline
 * this long is not reached by a correct runtime unless the machine stalls for 10 s (a test on a
 * loaded machine, under ASan, may be descheduled for hundreds of milliseconds); a lost wake-up
 * still ends there, and is still seen (timeouts, late). */
enum { XRECV_DEADLINE_MS = 10000 };

/* The two tasks' frames (a frame starts with its coroutine). */
static struct xtask {
    weft_co co;
    struct xworld *w;
    int64_t deadline;
} xrecv_frame, xwait_frame;

/* Wakes the waiter through the door (retrying a wake that could not be queued, as the caller of
 * weft_remote_wake is told to), then sends 1..XITEMS and closes the channel. */
static void *xsender(void *arg)
{
    struct xworld *w = arg;
    if (w->one_then_close) {
        /* The close is then the first request into an inbox just drained. */
        int item = 1;
        w->sent[0] = weft_xchan_send_blocking(&w->x, &item);
        for (int spin = 0; spin < 300000 && atomic_load(&w->received) == 0; spin++) /* >= 30 s */
            sleep_us(100);
        weft_xchan_close(&w->x);
        return NULL;
    }
    for (int spin = 0; spin < 300000 && !atomic_load(&w->waiter_ready); spin++) /* >= 30 s */
        sleep_us(100);
    atomic_store(&w->wake_flag, true);
    for (int i = 0; i < 4; i++) {
        w->wake_r[i] = weft_remote_wake(&w->door, w->waiter);
        if (w->wake_r[i] != -ENOMEM) break;
    }
    for (int i = 0; i < XITEMS; i++) {
        int item = i + 1;
        w->sent[i] = weft_xchan_send_blocking(&w->x, &item);
    }
    weft_xchan_close(&w->x);
    return NULL;
}

static int xreceiver_task(void *frame, weft_cx *cx)
{
    struct xtask *f = frame;
    struct xworld *w = f->w;
    WEFT_BEGIN(&f->co);
    for (;;) { /* bounded: XITEMS items, 3 timeouts, 3 out-of-memory waits */
        f->deadline = weft_deadline_in(WEFT_MSEC(XRECV_DEADLINE_MS));
        WEFT_AWAIT(&f->co,
                   w->recv_r = weft_xchan_recv_dl(&w->x, &w->got[w->ngot], f->deadline, cx));
        if (w->recv_r != -ETIMEDOUT && weft_time_now() >= f->deadline) w->late++;
        if (w->recv_r == 0) {
            if (w->ngot < XITEMS) w->ngot++;
            atomic_store(&w->received, w->ngot);
        } else if (w->recv_r == -ETIMEDOUT && w->timeouts < 3) {
            w->timeouts++; /* a wake-up that never came */
        } else if (w->recv_r == -ENOMEM && w->nomem < 3) {
            w->nomem++; /* no wait record: try again */
        } else {
            break;
        }
    }
    WEFT_END(&f->co, 0);
}

static int xwaiter_task(void *frame, weft_cx *cx)
{
    struct xtask *f = frame;
    struct xworld *w = f->w;
    WEFT_BEGIN(&f->co);
    w->waiter = weft_cx_waker(cx);
    atomic_store(&w->waiter_ready, true);
    /* The sender sets the flag, then wakes us through the door: no timer, no other wake. */
    WEFT_WAIT_UNTIL(&f->co, atomic_load(&w->wake_flag));
    w->woken = 1;
    WEFT_END(&f->co, 0);
}

static struct bystander x_by;
static struct task_set x_set;

/* Opens the channel and the door, runs the receiver, the waiter and a bystander while a thread
 * sends. Returns 0, or the first error of runtime init, xchan init or door open (all closed
 * again), or 1 if the tasks could not all be spawned. */
static int xchan_run(bool one_then_close, const char *what)
{
    struct xworld *w = &xw;
    memset(w, 0, sizeof *w);
    w->one_then_close = one_then_close;
    int r = weft_runtime_init(&w->rt);
    if (r < 0) return r;
    r = weft_xchan_init(&w->x, &w->rt, w->ring, sizeof w->ring[0], 2);
    if (r == 0) {
        w->x_open = true;
        r = weft_remote_open(&w->door, &w->rt);
        w->door_open = r == 0;
    }
    if (r == 0) {
        bystander_prepare(&x_by);
        memset(&x_set, 0, sizeof x_set);
        xrecv_frame = (struct xtask){.w = w};
        xwait_frame = (struct xtask){.w = w};
        task_set_add(&x_set, xreceiver_task, &xrecv_frame);
        if (!one_then_close) task_set_add(&x_set, xwaiter_task, &xwait_frame);
        task_set_add(&x_set, bystander_task, &x_by);
        assert_int_equal(pthread_create(&w->thread, NULL, xsender, w), 0);
        int run = task_set_run(&w->rt, &x_set);
        /* Whatever happened, the sender must be able to finish: close releases a blocked send
         * and the flag a wait for the waiter. */
        weft_xchan_close(&w->x);
        atomic_store(&w->waiter_ready, true);
        atomic_store(&w->received, -1);
        assert_int_equal(pthread_join(w->thread, NULL), 0);
        if (run != 0 && run != -ENOMEM) fail_msg("%s: block_on: %s", what, weft_strerror(run));
        size_t by = x_set.n - 1;
        r = run == 0 && x_set.spawned[0] == 0 && x_set.spawned[1] == 0 ? 0 : 1;
        if (run == 0 && x_set.spawned[by] == 0 && x_by.done != 3)
            fail_msg("%s: bystander did %d rounds", what, x_by.done);
    }
    if (w->door_open) weft_remote_close(&w->door);
    if (w->x_open) weft_xchan_destroy(&w->x);
    if (r >= 0) expect_runtime_empty(&w->rt, what);
    assert_int_equal(weft_runtime_close(&w->rt), 0);
    return r;
}

/* Every item whose send returned 0 or -ENOMEM arrived, in order, and nothing else did; the
 * receiver saw the close; the waiter was woken. Returns the number of calls that said -ENOMEM. */
static int xchan_check(const char *what)
{
    const struct xworld *w = &xw;
    int accepted = 0, nomem = 0, items = w->one_then_close ? 1 : XITEMS;
    for (int i = 0; i < items; i++) {
        int s = w->sent[i];
        if (s != 0 && s != -ENOMEM) fail_msg("%s: send %d: %s", what, i + 1, weft_strerror(s));
        nomem += s == -ENOMEM;
        if (w->got[accepted] != i + 1)
            fail_msg("%s: item %d is %d, expected %d", what, accepted, w->got[accepted], i + 1);
        accepted++;
    }
    if (w->ngot != accepted) fail_msg("%s: %d items received of %d", what, w->ngot, accepted);
    if (w->recv_r != WEFT_ECLOSED) fail_msg("%s: receiver ended with %d", what, w->recv_r);
    if (w->timeouts)
        fail_msg("%s: the receiver waited %d x %d ms for a wake-up", what, w->timeouts,
                 XRECV_DEADLINE_MS);
    /* A wake-up that could not be queued (the inbox could not grow: a send said -ENOMEM, or a
     * close, which cannot say anything) must not leave a parked receiver to its deadline. */
    if (w->late) fail_msg("%s: %d receives ended only at the deadline", what, w->late);
    if (!w->one_then_close && !w->woken) fail_msg("%s: the waiter was not woken", what);
    for (int i = 0; i < 4 && w->wake_r[i] != 0; i++) {
        if (w->wake_r[i] != -ENOMEM) fail_msg("%s: remote wake: %d", what, w->wake_r[i]);
        nomem++;
    }
    return nomem + w->nomem;
}

static void xchan_drive(bool one_then_close, const char *name)
{
    struct leak_snapshot before = leak_snapshot_take();
    fault_alloc_fail_at(0);
    assert_int_equal(xchan_run(one_then_close, name), 0);
    long total = fault_alloc_count();
    assert_int_equal(xchan_check(name), 0);
    expect_no_leak(before, name);
    int start_failed = 0, told = 0, unreached = 0, late = 0;
    for (long k = 1; k <= total + 2; k++) { /* the thread's allocations vary a little */
        char what[128];
        snprintf(what, sizeof what, "%s, allocation %ld of %ld fails", name, k, total);
        fault_alloc_fail_at(k);
        int64_t t0 = weft_time_now();
        int r = xchan_run(one_then_close, what);
        bool fired = fault_alloc_failed();
        fault_alloc_fail_at(0);
        if (getenv("WEFT_FAULT_VERBOSE"))
            print_message("%s: r %d fired %d sent %d %d wake %d got %d recv %d timeouts %d "
                          "nomem %d, %lld ms\n",
                          what, r, fired, xw.sent[0], xw.sent[1], xw.wake_r[0], xw.ngot, xw.recv_r,
                          xw.timeouts, xw.nomem, (long long)((weft_time_now() - t0) / 1000000));
        if (!fired) {
            unreached++;
        } else if (r < 0) {
            if (r != -ENOMEM) fail_msg("%s: open: %s", what, weft_strerror(r));
            start_failed++;
        } else if (r == 0) {
            told += xchan_check(what) > 0;
            late += xw.late;
        }
        expect_no_leak(before, what);
    }
    if (unreached < 2 || unreached > 4) fail_msg("%s: %d faults not reached", name, unreached);
    print_message("%s: %ld allocations, each failed once: %d at open, %d told the caller "
                  "-ENOMEM, %d wake-ups late\n",
                  name, total, start_failed, told, late);
}

/* Eight items through a ring of two, and a task woken through a door. */
static void xchan_every_allocation_fails_once(void **state)
{
    (void)state;
    xchan_drive(false, "xchan");
}

/* One item, then the close once it arrived: the close's wake-up is the one that may fail. */
static void xchan_close_allocation_fails(void **state)
{
    (void)state;
    xchan_drive(true, "xchan close");
}

/* ============================================================================================
 * The HTTP client following a redirect: GET /a -> 302 Location: /b -> 200 "bee"
 * ========================================================================================== */

/* A server task in the same runtime: one connection at a time, one request at a time. */
struct redirector {
    weft_co co;
    weft_tcp_listener *l;
    weft_tcp_stream s;
    bool s_open;
    char buf[1024];
    weft_tcp_reader rd;
    weft_tcp_xfer wr;
    const char *reply;
    int r, accepts;
};

static const char reply_302[] = "HTTP/1.1 302 Found\r\nLocation: /b\r\nContent-Length: 0\r\n\r\n";
static const char reply_200[] = "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nbee";
static const char reply_404[] = "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n";

static int redirector_task(void *frame, weft_cx *cx)
{
    struct redirector *f = frame;
    WEFT_BEGIN(&f->co);
    while (f->accepts < 16) { /* bounded: the client makes a few connections at most */
        WEFT_AWAIT(&f->co, f->r = weft_tcp_accept(f->l, &f->s, NULL, cx));
        f->accepts++;
        if (f->r < 0) continue; /* -ENOMEM: the connection was dropped */
        f->s_open = true;
        weft_tcp_reader_init(&f->rd, f->buf, sizeof f->buf);
        for (;;) {
            WEFT_AWAIT_CHILD(&f->co, &f->rd.co, f->r,
                             weft_tcp_read_until(&f->rd, &f->s, "\r\n\r\n", 4, cx));
            if (f->r <= 0) break;
            f->reply = strncmp(f->rd.data, "GET /a ", 7) == 0   ? reply_302
                       : strncmp(f->rd.data, "GET /b ", 7) == 0 ? reply_200
                                                                : reply_404;
            WEFT_AWAIT_CHILD(&f->co, &f->wr.co, f->r,
                             weft_tcp_write_all(&f->wr, &f->s, f->reply, strlen(f->reply), cx));
            if (f->r < 0) break;
        }
        f->s_open = false;
        (void)weft_tcp_close(cx->rt, &f->s);
    }
    WEFT_ON_CANCEL(&f->co);
    if (f->s_open) (void)weft_tcp_close(cx->rt, &f->s);
    WEFT_END(&f->co, 0);
}

/* The client: one exchange that follows up to 2 redirects and reads the body. */
struct follower {
    weft_co co;
    weft_http_client *client;
    char url[64];
    weft_http_exchange ex;
    char body[16];
    int r, status, len;
    char effective[64];
};

static int follower_task(void *frame, weft_cx *cx)
{
    struct follower *f = frame;
    WEFT_BEGIN(&f->co);
    weft_http_exchange_init(&f->ex, f->client, WEFT_HTTP_GET, f->url);
    f->ex.max_redirects = 2;
    f->ex.timeout = WEFT_SEC(5);
    WEFT_AWAIT_CHILD(&f->co, &f->ex.co, f->r, weft_http_exchange_start(&f->ex, cx));
    if (f->r >= 0) {
        f->status = f->r;
        WEFT_AWAIT(&f->co,
                   f->r = weft_http_exchange_read_all(&f->ex, f->body, sizeof f->body - 1, cx));
        if (f->r >= 0) f->len = f->r;
    }
    if (f->ex.effective_url) snprintf(f->effective, sizeof f->effective, "%s", f->ex.effective_url);
    weft_http_exchange_close(&f->ex);
    WEFT_ON_CANCEL(&f->co);
    weft_http_exchange_close(&f->ex);
    WEFT_END(&f->co, f->r < 0 ? f->r : 0);
}

/* Root: starts the server, runs the client and a bystander, then stops the server. */
struct redirect_root {
    weft_co co;
    struct redirector srv;
    struct follower cl;
    struct bystander by;
    weft_task t_srv, t_cl, t_by;
    int sp_srv, sp_cl, sp_by, r_cl, r_by, r_srv;
};

static int redirect_root_task(void *frame, weft_cx *cx)
{
    struct redirect_root *f = frame;
    WEFT_BEGIN(&f->co);
    f->sp_srv = weft_task_spawn(cx->rt, redirector_task, &f->srv, &f->t_srv);
    f->sp_cl = weft_task_spawn(cx->rt, follower_task, &f->cl, &f->t_cl);
    f->sp_by = weft_task_spawn(cx->rt, bystander_task, &f->by, &f->t_by);
    if (f->sp_cl == 0) WEFT_AWAIT(&f->co, f->r_cl = weft_task_join(f->t_cl, cx));
    if (f->sp_by == 0) WEFT_AWAIT(&f->co, f->r_by = weft_task_join(f->t_by, cx));
    if (f->sp_srv == 0) {
        (void)weft_task_cancel(cx->rt, f->t_srv);
        WEFT_AWAIT(&f->co, f->r_srv = weft_task_join(f->t_srv, cx));
    }
    WEFT_END(&f->co, 0);
}

static struct redirect_root rroot;

static size_t sync_jobs(const weft_runtime *rt)
{
    weft_sync_stats sy;
    weft_sync_get_stats(rt, &sy);
    return sy.jobs;
}

/* An exchange that failed while its host name was being looked up leaves the lookup to finish on
 * the pool's thread; the job is freed when its completion reaches the loop. Run the loop until
 * then (bounded), so that what is left can be counted. */
static void drain_jobs(weft_runtime *rt)
{
    for (int i = 0; i < 1000 && sync_jobs(rt) != 0; i++) {
        weft_runtime_run_ready(rt);
        if (sync_jobs(rt) == 0) break;
        assert_int_equal(weft_runtime_park(rt), 0);
    }
}

/* Runtime, listener and client are set up before the faults are armed (their allocations are
 * test_fault_alloc.c's); the exchange, its redirect and the server's connections are not. */
static int redirect_run(long k, long *count, bool *fired, const char *what, bool by_name)
{
    weft_runtime rt;
    weft_tcp_listener l;
    weft_http_client client;
    assert_int_equal(weft_runtime_init(&rt), 0);
    weft_addr a;
    assert_int_equal(weft_addr_parse(&a, "127.0.0.1:0"), 0);
    assert_int_equal(weft_tcp_listen(&rt, &l, &a, 16), 0);
    assert_int_equal(weft_tcp_listener_addr(&rt, &l, &a), 0);
    char host[48];
    assert_true(weft_addr_format(&a, host, sizeof host) > 0);
    assert_int_equal(weft_http_client_init(&client, &rt, NULL), 0);
    memset(&rroot, 0, sizeof rroot);
    rroot.srv.l = &l;
    rroot.cl.client = &client;
    if (by_name) /* the same server through a host name: the connect-by-name path */
        snprintf(rroot.cl.url, sizeof rroot.cl.url, "http://localhost:%u/a",
                 (unsigned)weft_addr_port(&a));
    else
        snprintf(rroot.cl.url, sizeof rroot.cl.url, "http://%s/a", host);
    bystander_prepare(&rroot.by);

    fault_alloc_fail_at(k);
    int r = weft_runtime_block_on(&rt, redirect_root_task, &rroot);
    *count = fault_alloc_count();
    *fired = fault_alloc_failed();
    fault_alloc_fail_at(0);
    if (r != 0 && r != -ENOMEM) fail_msg("%s: block_on: %s", what, weft_strerror(r));
    if (r == 0 && rroot.sp_by == 0 && rroot.by.done != 3)
        fail_msg("%s: bystander did %d rounds", what, rroot.by.done);
    drain_jobs(&rt);
    int close_r = weft_http_client_close(&client);
    if (close_r != 0) fail_msg("%s: client close: %s", what, weft_strerror(close_r));
    assert_int_equal(weft_tcp_listener_close(&rt, &l), 0);
    expect_runtime_empty(&rt, what);
    assert_int_equal(weft_runtime_close(&rt), 0);
    return r;
}

/* A redirect's outcomes when one allocation failed: the client's -ENOMEM (its connection, the
 * redirect's URL buffer, a wait), or the server could not take a connection on (dropped: no
 * response, or a reset). */
static const int redirect_outcomes[] = {-ENOMEM, WEFT_EHTTP_NORESPONSE, -ECONNRESET, -EPIPE};

/* by_name: the host is "localhost", resolved on the blocking pool, whose completion allocates on
 * the pool's thread; the order and number of allocations can then shift between runs, so some
 * faults may fall after the scenario's last allocation. */
static void redirect_drive(bool by_name, const char *name)
{
    struct leak_snapshot before = leak_snapshot_take();
    long total;
    bool fired;
    char what[128];
    snprintf(what, sizeof what, "%s, no fault", name);
    assert_int_equal(redirect_run(0, &total, &fired, what, by_name), 0);
    const struct follower *cl = &rroot.cl;
    assert_int_equal(cl->r, 3);
    assert_int_equal(cl->status, 200);
    assert_int_equal(cl->ex.redirects, 1);
    assert_string_equal(cl->body, "bee");
    assert_non_null(strstr(cl->effective, "/b"));
    expect_no_leak(before, what);
    int failed = 0, unreached = 0;
    for (long k = 1; k <= total; k++) {
        long n;
        snprintf(what, sizeof what, "%s, allocation %ld of %ld fails", name, k, total);
        int r = redirect_run(k, &n, &fired, what, by_name);
        if (!fired && !by_name) fail_msg("%s: only %ld allocations", what, n);
        unreached += !fired;
        if (r == 0 && rroot.sp_cl == 0) {
            if (cl->r >= 0) {
                if (cl->status != 200 || strcmp(cl->body, "bee") != 0 || cl->ex.redirects != 1)
                    fail_msg("%s: status %d body \"%s\" after %u redirects", what, cl->status,
                             cl->body, cl->ex.redirects);
            } else {
                bool ok = false;
                for (size_t i = 0; i < sizeof redirect_outcomes / sizeof *redirect_outcomes; i++)
                    ok |= cl->r == redirect_outcomes[i];
                if (!ok) fail_msg("%s: exchange: %s", what, weft_strerror(cl->r));
                failed++;
            }
        } else {
            failed++;
        }
        expect_no_leak(before, what);
    }
    /* By name, how many allocations a run makes depends on when the lookup completes (under
     * valgrind, 3 of 16 were seen to fall outside a run): require that most faults were reached. */
    long tolerated = by_name ? total / 2 : 0;
    if (unreached > tolerated) fail_msg("%s: %d of %ld faults not reached", name, unreached, total);
    print_message("%s: %ld allocations, each failed once: %d cost the exchange\n", name, total,
                  failed);
}

static void redirect_every_allocation_fails_once(void **state)
{
    (void)state;
    redirect_drive(false, "redirect");
}

static void redirect_by_name_every_allocation_fails_once(void **state)
{
    (void)state;
    redirect_drive(true, "redirect by name");
}

/* ============================================================================================
 * The tracer: its records and buffer, while tasks run
 * ========================================================================================== */

void __real_free(void *p); /* for the memory stream's buffer, which libc allocated */

static struct bystander tr_by[3];
static struct task_set tr_set;

/* Traces three sleepers into a memory stream. Returns weft_trace_start_file's result; the
 * document's end is checked when tracing started. */
static int trace_run(long k, long *count, bool *fired, const char *what)
{
    weft_runtime rt;
    assert_int_equal(weft_runtime_init(&rt), 0);
    char *doc = NULL;
    size_t doc_len = 0;
    FILE *out = open_memstream(&doc, &doc_len);
    assert_non_null(out);
    memset(&tr_set, 0, sizeof tr_set);
    for (int i = 0; i < 3; i++) {
        bystander_prepare(&tr_by[i]);
        task_set_add(&tr_set, bystander_task, &tr_by[i]);
    }
    fault_alloc_fail_at(k);
    int started = weft_trace_start_file(&rt, out);
    int r = task_set_run(&rt, &tr_set);
    int stopped = started == 0 ? weft_trace_stop(&rt) : 0;
    *count = fault_alloc_count();
    *fired = fault_alloc_failed();
    fault_alloc_fail_at(0);
    if (started != 0 && started != -ENOMEM) fail_msg("%s: start: %s", what, weft_strerror(started));
    if (started != 0 && weft_trace_active(&rt)) fail_msg("%s: tracing after a failed start", what);
    if (r != 0 && r != -ENOMEM) fail_msg("%s: block_on: %s", what, weft_strerror(r));
    for (int i = 0; r == 0 && i < 3; i++)
        if (tr_set.spawned[i] == 0 && tr_by[i].done != 3)
            fail_msg("%s: sleeper %d did %d rounds", what, i, tr_by[i].done);
    if (stopped != 0) fail_msg("%s: stop: %s", what, weft_strerror(stopped));
    assert_int_equal(fclose(out), 0);
    if (started == 0) {
        /* A complete JSON document, whatever records could not be kept. */
        while (doc_len > 0 && (doc[doc_len - 1] == '\n' || doc[doc_len - 1] == ' '))
            doc_len--;
        if (doc_len < 2 || doc[0] != '{' || doc[doc_len - 1] != '}')
            fail_msg("%s: the trace is not a whole document (%zu bytes)", what, doc_len);
    }
    __real_free(doc);
    expect_runtime_empty(&rt, what);
    assert_int_equal(weft_runtime_close(&rt), 0);
    return started;
}

static void trace_every_allocation_fails_once(void **state)
{
    (void)state;
    struct leak_snapshot before = leak_snapshot_take();
    long total;
    bool fired;
    assert_int_equal(trace_run(0, &total, &fired, "trace, no fault"), 0);
    expect_no_leak(before, "trace, no fault");
    int start_failed = 0;
    for (long k = 1; k <= total; k++) {
        char what[128];
        long n;
        snprintf(what, sizeof what, "trace, allocation %ld of %ld fails", k, total);
        start_failed += trace_run(k, &n, &fired, what) != 0;
        if (!fired) fail_msg("%s: only %ld allocations", what, n);
        expect_no_leak(before, what);
    }
    print_message("trace: %ld allocations, each failed once: %d at start\n", total, start_failed);
}

/* ============================================================================================
 * A task group: its handle array grows as tasks join, and a spawn that cannot grow it is refused
 * ========================================================================================== */

#define GROUP_N 20

struct group_root {
    weft_co co;
    weft_group g;
    int spawned, refused, shut;
    int64_t deadline;
};

static struct bystander group_by[GROUP_N];
static struct group_root group_frame;

/* Spawns GROUP_N sleepers into a group, then shuts it down with a deadline none should reach. */
static int group_root_task(void *frame, weft_cx *cx)
{
    struct group_root *f = frame;
    WEFT_BEGIN(&f->co);
    weft_group_init(&f->g, cx->rt);
    for (int i = 0; i < GROUP_N; i++) {
        bystander_prepare(&group_by[i]);
        int r = weft_group_spawn(&f->g, bystander_task, &group_by[i]);
        if (r == 0) {
            f->spawned++;
        } else if (r == -ENOMEM) {
            f->refused++;
            group_by[i].done = -1; /* never ran */
        } else {
            WEFT_RETURN(&f->co, r);
        }
    }
    f->deadline = weft_deadline_in(WEFT_SEC(5));
    WEFT_AWAIT(&f->co, f->shut = weft_group_shutdown_dl(&f->g, f->deadline, cx));
    (void)weft_group_destroy(&f->g);
    WEFT_END(&f->co, 0);
}

static int group_run(long k, long *count, bool *fired, const char *what)
{
    weft_runtime rt;
    assert_int_equal(weft_runtime_init(&rt), 0);
    memset(&group_frame, 0, sizeof group_frame);
    fault_alloc_fail_at(k);
    int r = weft_runtime_block_on(&rt, group_root_task, &group_frame);
    *count = fault_alloc_count();
    *fired = fault_alloc_failed();
    fault_alloc_fail_at(0);
    if (r != 0 && r != -ENOMEM) fail_msg("%s: block_on: %s", what, weft_strerror(r));
    if (r == 0) {
        if (group_frame.shut != 0) fail_msg("%s: %d tasks cancelled", what, group_frame.shut);
        if (group_frame.spawned + group_frame.refused != GROUP_N)
            fail_msg("%s: %d spawned, %d refused", what, group_frame.spawned, group_frame.refused);
        for (int i = 0; i < GROUP_N; i++)
            if (group_by[i].done != -1 && group_by[i].done != 3)
                fail_msg("%s: sleeper %d did %d rounds", what, i, group_by[i].done);
    }
    expect_runtime_empty(&rt, what);
    assert_int_equal(weft_runtime_close(&rt), 0);
    return r == 0 ? group_frame.refused : 0;
}

static void group_every_allocation_fails_once(void **state)
{
    (void)state;
    struct leak_snapshot before = leak_snapshot_take();
    long total;
    bool fired;
    assert_int_equal(group_run(0, &total, &fired, "group, no fault"), 0);
    expect_no_leak(before, "group, no fault");
    int refused = 0;
    for (long k = 1; k <= total; k++) {
        char what[128];
        long n;
        snprintf(what, sizeof what, "group, allocation %ld of %ld fails", k, total);
        refused += group_run(k, &n, &fired, what);
        if (!fired) fail_msg("%s: only %ld allocations", what, n);
        expect_no_leak(before, what);
    }
    print_message("group: %ld allocations, each failed once: %d spawns refused\n", total, refused);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(pool_every_allocation_fails_once),
        cmocka_unit_test(pool_thread_start_fails),
        cmocka_unit_test(xchan_every_allocation_fails_once),
        cmocka_unit_test(xchan_close_allocation_fails),
        cmocka_unit_test(redirect_every_allocation_fails_once),
        cmocka_unit_test(redirect_by_name_every_allocation_fails_once),
        cmocka_unit_test(trace_every_allocation_fails_once),
        cmocka_unit_test(group_every_allocation_fails_once),
    };
    return cmocka_run_group_tests_name("fault_alloc_ext", tests, NULL, NULL);
}
