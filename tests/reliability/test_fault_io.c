/*
 * System calls that fail, or move fewer bytes than asked, at every call in turn.
 *
 * The scenario is the one of test_fault_alloc: two clients of the delay server embedded in the
 * same runtime (one making two requests on a kept-alive connection, reading in pieces) and a
 * bystander task that only sleeps. It runs once to count the calls of each kind, then once per
 * call with that call failing:
 *
 *   short transfers  every recv/send capped to k bytes, k = 1 .. longer than any message: every
 *                    request and response split at every possible place; all must succeed.
 *   EAGAIN, EINTR    at each recv, send and accept4: transient, so every request must succeed.
 *   ECONNRESET,      at each recv and send: the one connection it hits fails with a documented
 *   EPIPE            error (or is retried), the other requests succeed, and the server goes on
 *                    serving: a fresh request afterwards is answered.
 *   accept4          EMFILE, ENFILE, ENOBUFS, ENOMEM: the listener backs off and then accepts;
 *                    ECONNABORTED: skipped; anything else: the server counts it and retries.
 *   epoll_ctl(ADD)   ENOMEM, ENOSPC at each registration: the server fails to start, a connect
 *                    fails with that error, or an accepted connection is dropped.
 *   socket           EMFILE at each socket(): listen or connect fails with it.
 *   close            EIO at each close(): the fd is gone all the same; nothing else changes.
 *   weft_tcp         read_exact, write_all, read_until and writev with every cap.
 *
 * Every run must leak nothing (fds, heap blocks). Linked with the wrappers of fault_io.c and
 * fault_alloc.c.
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <weft/tcp.h>

#include "fault.h"
#include "weft_test.h"
#include "weft_test_net.h"
#include "world.h"

/* ============================================================================================
 * The scenario
 * ========================================================================================== */

static struct world world;
static struct trio trio;
static struct fetch fc;
static struct task_set set;

struct outcome {
    int open;       /* world_open's result */
    int failed;     /* requests that ended with an error */
    int after;      /* 1 if a request made after the faulted ones was answered */
    int close;      /* world_close's result */
    int64_t took;   /* ns from the start of the tasks to their end */
    bool fired;     /* every armed fault happened */
    long shortened; /* transfers the cap shortened */
    weft_delayserver_stats stats;
};

/* The errors a request may end with when a connection breaks under it. */
static const int broken[] = {
    -ECONNRESET, -EPIPE, WEFT_EHTTP_NORESPONSE, WEFT_EHTTP_TRUNCATED, -ENOMEM, -ENOSPC, -EMFILE};

static struct outcome scenario(const char *what)
{
    struct outcome o = {0};
    o.open = world_open(&world, NULL, NULL);
    if (o.open < 0) {
        o.fired = fault_io_all_fired();
        return o;
    }
    int64_t t0 = weft_test_now_ns();
    assert_int_equal(trio_run(&trio, &world), 0);
    o.took = weft_test_now_ns() - t0;
    o.failed = trio_failures(&trio, broken, 7, what);

    /* The server goes on serving after a fault (this request may be the one hit, too). */
    fetch_init(&fc, &world, "/0/after", 1);
    memset(&set, 0, sizeof set);
    task_set_add(&set, fetch_task, &fc);
    assert_int_equal(run_tasks(&world, &set), 0);
    o.after = expect_request(&fc, 0, "after", broken, 7, what);
    o.failed += !o.after;
    weft_delayserver_get_stats(&world.srv, &o.stats);
    o.close = world_close(&world);
    o.fired = fault_io_all_fired();
    o.shortened = fault_io_shortened();
    return o;
}

static void all_succeed(const struct outcome *o, const char *what);

/* The scenario without faults: everything succeeds. Returns the calls of each kind it made. */
static void count_calls(long calls[FAULT_NCALLS])
{
    fault_io_reset();
    struct leak_snapshot before = leak_snapshot_take();
    struct outcome o = scenario("no fault");
    all_succeed(&o, "no fault");
    for (int i = 0; i < FAULT_NCALLS; i++)
        calls[i] = fault_io_calls((enum fault_call)i);
    expect_no_leak(before, "no fault");
    assert_int_equal(trio.a.result[0], 9);
    assert_int_equal(trio.a.result[1], 9);
    assert_int_equal(trio.b.result[0], 1);
}

static int cases; /* faulted runs made by this executable, for the summary */

/*
 * Makes the k-th call of `call` fail with err, for every k the scenario reaches, and checks
 * each run with `check`.
 */
static void every_call(enum fault_call call, int err,
                       void (*check)(const struct outcome *, const char *))
{
    long calls[FAULT_NCALLS];
    count_calls(calls);
    struct leak_snapshot before = leak_snapshot_take();
    int failed = 0;
    for (long k = 1; k <= calls[call]; k++) {
        char what[96];
        snprintf(what, sizeof what, "%s %s at call %ld of %ld", fault_call_name(call),
                 strerror(err), k, calls[call]);
        fault_io_reset();
        fault_io_fail_at(call, k, err);
        struct outcome o = scenario(what);
        if (o.open == 0 && !o.fired) fail_msg("%s: the fault was not injected", what);
        check(&o, what);
        fault_io_reset();
        expect_no_leak(before, what);
        failed += o.open < 0 || o.failed > 0;
        cases++;
    }
    print_message("%s %s: %ld calls, each failed once; %d runs lost a request or the start\n",
                  fault_call_name(call), strerror(err), calls[call], failed);
}

/* ============================================================================================
 * Transient failures: everything succeeds
 * ========================================================================================== */

static void all_succeed(const struct outcome *o, const char *what)
{
    if (o->open != 0) fail_msg("%s: world_open: %s", what, weft_strerror(o->open));
    if (o->failed != 0) fail_msg("%s: %d requests failed", what, o->failed);
    if (!o->after) fail_msg("%s: no answer afterwards", what);
    if (o->close != 0) fail_msg("%s: close: %s", what, weft_strerror(o->close));
}

static void eagain_at_every_call(void **state)
{
    (void)state;
    every_call(FAULT_RECV, EAGAIN, all_succeed);
    every_call(FAULT_SEND, EAGAIN, all_succeed);
    every_call(FAULT_ACCEPT, EAGAIN, all_succeed);
}

static void eintr_at_every_call(void **state)
{
    (void)state;
    every_call(FAULT_RECV, EINTR, all_succeed);
    every_call(FAULT_SEND, EINTR, all_succeed);
    every_call(FAULT_ACCEPT, EINTR, all_succeed);
}

/* close(2) fails but the fd is gone (as on Linux): nothing may notice but the return value. */
static void close_fails_at_every_call(void **state)
{
    (void)state;
    every_call(FAULT_CLOSE, EIO, all_succeed);
}

static void short_transfers_of_every_size(void **state)
{
    (void)state;
    struct leak_snapshot before = leak_snapshot_take();
    /* The longest message is a response head of about 130 bytes: go past it. */
    for (size_t k = 1; k <= 160; k++) {
        char what[64];
        snprintf(what, sizeof what, "transfers capped to %zu bytes", k);
        fault_io_reset();
        fault_io_cap(k);
        struct outcome o = scenario(what);
        all_succeed(&o, what);
        if (k < 100 && o.shortened == 0) fail_msg("%s: nothing was shortened", what);
        expect_no_leak(before, what);
        cases++;
    }
}

/* ============================================================================================
 * Broken connections: the one request it hits fails, the others and the server go on
 * ========================================================================================== */

static void one_request_at_most(const struct outcome *o, const char *what)
{
    if (o->open != 0) fail_msg("%s: world_open: %s", what, weft_strerror(o->open));
    if (o->failed > 1) fail_msg("%s: %d requests failed", what, o->failed);
    if (!o->after) fail_msg("%s: no answer afterwards", what);
    if (o->close != 0) fail_msg("%s: close: %s", what, weft_strerror(o->close));
}

static void reset_at_every_call(void **state)
{
    (void)state;
    every_call(FAULT_RECV, ECONNRESET, one_request_at_most);
    every_call(FAULT_SEND, ECONNRESET, one_request_at_most);
    every_call(FAULT_SEND, EPIPE, one_request_at_most);
}

/* A registration refused: the server cannot start, a connect fails, or an accepted connection
 * is dropped (and the server retries accepting). */
static void start_or_one_request(const struct outcome *o, const char *what)
{
    if (o->open < 0) {
        if (o->open != -ENOMEM && o->open != -ENOSPC && o->open != -EMFILE)
            fail_msg("%s: world_open: %s", what, weft_strerror(o->open));
        return;
    }
    one_request_at_most(o, what);
}

static void registration_fails_at_every_call(void **state)
{
    (void)state;
    every_call(FAULT_EPOLL_ADD, ENOMEM, start_or_one_request);
    every_call(FAULT_EPOLL_ADD, ENOSPC, start_or_one_request);
    every_call(FAULT_SOCKET, EMFILE, start_or_one_request);
}

/* ============================================================================================
 * accept4
 * ========================================================================================== */

static void accept_failure(int err, bool backs_off, bool counted)
{
    char what[64];
    snprintf(what, sizeof what, "first accept4 fails with %s", strerror(err));
    struct leak_snapshot before = leak_snapshot_take();
    fault_io_reset();
    fault_io_fail_at(FAULT_ACCEPT, 1, err);
    struct outcome o = scenario(what);
    assert_true(o.fired);
    all_succeed(&o, what);
    if (backs_off && o.took < WEFT_TCP_ACCEPT_BACKOFF)
        fail_msg("%s: answered after %lld ns, before the backoff", what, (long long)o.took);
    if (o.stats.accept_errors != (counted ? 1u : 0u))
        fail_msg("%s: %llu accept errors counted", what, (unsigned long long)o.stats.accept_errors);
    fault_io_reset();
    expect_no_leak(before, what);
    cases++;
}

static void accept_failures(void **state)
{
    (void)state;
    accept_failure(EMFILE, true, false);
    accept_failure(ENFILE, true, false);
    accept_failure(ENOBUFS, true, false);
    accept_failure(ENOMEM, true, false);
    accept_failure(ECONNABORTED, false, false);
    accept_failure(EPROTO, false, true); /* unexpected: the server counts it, retries in 10 ms */
    accept_failure(EPERM, false, true);
}

/* ============================================================================================
 * weft_tcp's multi-step operations over a socketpair, every cap
 * ========================================================================================== */

#define LINE "first line\n"
static char payload[700];

struct writer {
    weft_co co;
    weft_tcp_stream *s;
    weft_tcp_xfer x;
    struct iovec iov[3];
    int iovcnt, r;
};

/* write_all of the line and half the payload, then writev of the rest in three pieces,
 * advancing the iovecs after each short write. */
static int writer_task(void *frame, weft_cx *cx)
{
    struct writer *f = frame;
    WEFT_BEGIN(&f->co);
    WEFT_AWAIT_CHILD(&f->co, &f->x.co, f->r,
                     weft_tcp_write_all(&f->x, f->s, LINE, sizeof LINE - 1, cx));
    if (f->r < 0) WEFT_RETURN(&f->co, f->r);
    WEFT_AWAIT_CHILD(&f->co, &f->x.co, f->r, weft_tcp_write_all(&f->x, f->s, payload, 300, cx));
    if (f->r < 0) WEFT_RETURN(&f->co, f->r);
    f->iov[0] = (struct iovec){payload + 300, 100};
    f->iov[1] = (struct iovec){payload + 400, 1};
    f->iov[2] = (struct iovec){payload + 401, sizeof payload - 401};
    f->iovcnt = 3;
    while (f->iovcnt > 0) {
        WEFT_AWAIT(&f->co, f->r = weft_tcp_writev(f->s, f->iov, f->iovcnt, cx));
        if (f->r < 0) WEFT_RETURN(&f->co, f->r);
        size_t n = (size_t)f->r;
        int skip = 0;
        while (skip < f->iovcnt && n >= f->iov[skip].iov_len)
            n -= f->iov[skip++].iov_len;
        memmove(f->iov, f->iov + skip, (size_t)(f->iovcnt - skip) * sizeof f->iov[0]);
        f->iovcnt -= skip;
        if (f->iovcnt > 0) {
            f->iov[0].iov_base = (char *)f->iov[0].iov_base + n;
            f->iov[0].iov_len -= n;
        }
    }
    weft_tcp_shutdown(cx->rt, f->s, SHUT_WR);
    WEFT_END(&f->co, 0);
}

struct reader {
    weft_co co;
    weft_tcp_stream *s;
    weft_tcp_reader rd;
    weft_tcp_xfer x;
    char storage[64];
    char got[sizeof payload];
    size_t have;
    int r;
};

/* read_until the newline, then read_exact of the payload (taking what read_until buffered
 * beyond the line first), then expect the end of the stream. */
static int reader_task(void *frame, weft_cx *cx)
{
    struct reader *f = frame;
    WEFT_BEGIN(&f->co);
    weft_tcp_reader_init(&f->rd, f->storage, sizeof f->storage);
    WEFT_AWAIT_CHILD(&f->co, &f->rd.co, f->r, weft_tcp_read_until(&f->rd, f->s, "\n", 1, cx));
    if (f->r != (int)sizeof LINE - 1 || memcmp(f->rd.data, LINE, sizeof LINE - 1) != 0)
        WEFT_RETURN(&f->co, -EPROTO);
    f->have = weft_tcp_reader_take(&f->rd, f->got, sizeof f->got);
    WEFT_AWAIT_CHILD(
        &f->co, &f->x.co, f->r,
        weft_tcp_read_exact(&f->x, f->s, f->got + f->have, sizeof f->got - f->have, cx));
    if (f->r < 0) WEFT_RETURN(&f->co, f->r);
    WEFT_AWAIT(&f->co, f->r = weft_tcp_read(f->s, f->storage, 1, cx));
    WEFT_END(&f->co, f->r == 0 && memcmp(f->got, payload, sizeof payload) == 0 ? 0 : -EPROTO);
}

static struct writer wr;
static struct reader rd;
static weft_tcp_stream ends[2];

static void tcp_ops_with_every_cap(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof payload; i++)
        payload[i] = (char)('a' + i % 26);
    struct leak_snapshot before = leak_snapshot_take();
    for (size_t k = 1; k <= sizeof payload + 1; k = k < 80 ? k + 1 : k * 3 / 2) {
        char what[64];
        snprintf(what, sizeof what, "weft_tcp with transfers capped to %zu bytes", k);
        weft_runtime rt;
        assert_int_equal(weft_runtime_init(&rt), 0);
        int fds[2];
        weft_test_socketpair(fds);
        assert_int_equal(weft_tcp_stream_open(&rt, &ends[0], fds[0]), 0);
        assert_int_equal(weft_tcp_stream_open(&rt, &ends[1], fds[1]), 0);
        memset(&wr, 0, sizeof wr);
        memset(&rd, 0, sizeof rd);
        wr.s = &ends[0];
        rd.s = &ends[1];
        memset(&set, 0, sizeof set);
        task_set_add(&set, writer_task, &wr);
        task_set_add(&set, reader_task, &rd);
        fault_io_reset();
        fault_io_cap(k);
        assert_int_equal(task_set_run(&rt, &set), 0);
        if (k < sizeof payload && fault_io_shortened() == 0)
            fail_msg("%s: nothing was shortened", what);
        fault_io_reset();
        if (set.result[0] != 0) fail_msg("%s: writer: %s", what, weft_strerror(set.result[0]));
        if (set.result[1] != 0) fail_msg("%s: reader: %s", what, weft_strerror(set.result[1]));
        weft_tcp_close(&rt, &ends[0]);
        weft_tcp_close(&rt, &ends[1]);
        assert_int_equal(weft_runtime_close(&rt), 0);
        expect_no_leak(before, what);
        cases++;
    }
}

static int report(void **state)
{
    (void)state;
    print_message("%d faulted runs\n", cases);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(short_transfers_of_every_size),
        cmocka_unit_test(tcp_ops_with_every_cap),
        cmocka_unit_test(eagain_at_every_call),
        cmocka_unit_test(eintr_at_every_call),
        cmocka_unit_test(reset_at_every_call),
        cmocka_unit_test(registration_fails_at_every_call),
        cmocka_unit_test(accept_failures),
        cmocka_unit_test(close_fails_at_every_call),
    };
    return cmocka_run_group_tests_name("fault_io", tests, NULL, report);
}
