/*
 * Tests for weft/tcp.h, part 1: connecting, accepting, round trips over IPv4 and IPv6, errors
 * (refused, reset, broken pipe), deadlines, and cancelling tasks blocked in TCP operations.
 * Real sockets on 127.0.0.1 and ::1. Tasks record what happened in their frames; the assertions
 * run after the runtime has returned, so a failure never leaves a poll half done.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "runtime_test.h"
#include "test_tcp_util.h"
#include "weft_test_net.h"

/* ============================================================================================
 * An echo server task: accepts one connection, echoes until end of stream, returns the total.
 * ========================================================================================== */

struct echo_server {
    weft_co co;
    weft_tcp_listener *l;
    weft_tcp_stream s;
    weft_addr peer;
    weft_tcp_xfer wr;
    char buf[256];
    int n, total;
};

static int echo_server(void *frame, weft_cx *cx)
{
    struct echo_server *f = frame;
    WEFT_BEGIN(&f->co);
    WEFT_AWAIT(&f->co, f->n = weft_tcp_accept(f->l, &f->s, &f->peer, cx));
    if (f->n < 0) WEFT_RETURN(&f->co, f->n);
    for (;;) {
        WEFT_AWAIT(&f->co, f->n = weft_tcp_read(&f->s, f->buf, sizeof f->buf, cx));
        if (f->n <= 0) break;
        f->total += f->n;
        WEFT_AWAIT_CHILD(&f->co, &f->wr.co, f->n,
                         weft_tcp_write_all(&f->wr, &f->s, f->buf, (size_t)f->n, cx));
        if (f->n < 0) break;
    }
    weft_tcp_close(cx->rt, &f->s);
    WEFT_RETURN(&f->co, f->n < 0 ? f->n : f->total);
    WEFT_ON_CANCEL(&f->co);
    weft_tcp_close(cx->rt, &f->s);
    WEFT_END(&f->co, 0);
}

/* ============================================================================================
 * Round trips
 * ========================================================================================== */

#define GREETING "hello, weft"

struct round_trip {
    weft_co co;
    int family;
    weft_tcp_listener l;
    weft_addr addr, local, peer;
    struct echo_server srv;
    weft_task srv_task;
    weft_tcp_connect_op conn;
    weft_tcp_stream s;
    weft_tcp_xfer x;
    char buf[64];
    int r, eof, served;
};

static int round_trip(void *frame, weft_cx *cx)
{
    struct round_trip *f = frame;
    WEFT_BEGIN(&f->co);
    f->r = tcp_listen_loopback(cx->rt, &f->l, f->family, &f->addr);
    if (f->r < 0) WEFT_RETURN(&f->co, f->r);
    f->srv.l = &f->l;
    weft_task_spawn(cx->rt, echo_server, &f->srv, &f->srv_task);
    WEFT_AWAIT_CHILD(&f->co, &f->conn.co, f->r, weft_tcp_connect(&f->conn, &f->s, &f->addr, cx));
    if (f->r < 0) WEFT_RETURN(&f->co, f->r);
    weft_tcp_local_addr(cx->rt, &f->s, &f->local);
    weft_tcp_peer_addr(cx->rt, &f->s, &f->peer);
    WEFT_AWAIT_CHILD(&f->co, &f->x.co, f->r,
                     weft_tcp_write_all(&f->x, &f->s, GREETING, strlen(GREETING), cx));
    if (f->r < 0) WEFT_RETURN(&f->co, f->r);
    WEFT_AWAIT_CHILD(&f->co, &f->x.co, f->r,
                     weft_tcp_read_exact(&f->x, &f->s, f->buf, strlen(GREETING), cx));
    if (f->r < 0) WEFT_RETURN(&f->co, f->r);
    weft_tcp_shutdown(cx->rt, &f->s, SHUT_WR);
    WEFT_AWAIT(&f->co, f->eof = weft_tcp_read(&f->s, f->buf + 32, 8, cx));
    weft_tcp_close(cx->rt, &f->s);
    WEFT_AWAIT(&f->co, f->served = weft_task_join(f->srv_task, cx));
    weft_tcp_listener_close(cx->rt, &f->l);
    WEFT_END(&f->co, 0);
}

static void check_round_trip(weft_runtime *rt, int family)
{
    struct round_trip f;
    memset(&f, 0, sizeof f);
    f.family = family;
    assert_int_equal(weft_runtime_block_on(rt, round_trip, &f), 0);
    assert_memory_equal(f.buf, GREETING, strlen(GREETING));
    assert_int_equal(f.eof, 0);
    assert_int_equal(f.served, (int)strlen(GREETING));
    /* Both ends agree on the addresses: the server's peer is the client's local address. */
    assert_int_equal(f.local.ss.ss_family, family);
    assert_int_equal(f.peer.len, f.addr.len);
    assert_memory_equal(&f.peer.ss, &f.addr.ss, f.addr.len);
    assert_int_equal(f.srv.peer.len, f.local.len);
    assert_memory_equal(&f.srv.peer.ss, &f.local.ss, f.local.len);
}

static void test_round_trip_ipv4(void **state)
{
    check_round_trip(rt_of(state), AF_INET);
}

static void test_round_trip_needs_ipv6(void **state)
{
    if (!tcp_ipv6_loopback(rt_of(state))) WEFT_TEST_SKIP(); /* no ::1 here */
    check_round_trip(rt_of(state), AF_INET6);
}

/* ============================================================================================
 * Connecting: refused, nobody listening, a deadline during the handshake
 * ========================================================================================== */

struct connect_once {
    weft_co co;
    weft_addr addr;
    weft_tcp_connect_op conn;
    weft_tcp_stream s;
    int r, close_after;
};

static int connect_once(void *frame, weft_cx *cx)
{
    struct connect_once *f = frame;
    WEFT_BEGIN(&f->co);
    WEFT_AWAIT_CHILD(&f->co, &f->conn.co, f->r, weft_tcp_connect(&f->conn, &f->s, &f->addr, cx));
    /* A failed connect leaves nothing open: closing again says so. */
    f->close_after = weft_tcp_close(cx->rt, &f->s);
    WEFT_END(&f->co, f->r);
}

static void test_connect_refused(void **state)
{
    weft_runtime *rt = rt_of(state);
    uint16_t port;
    int bound = weft_test_refusing_port(&port); /* bound, not listening */
    struct connect_once f;
    memset(&f, 0, sizeof f);
    f.addr = tcp_loopback(AF_INET, port);
    assert_int_equal(weft_runtime_block_on(rt, connect_once, &f), -ECONNREFUSED);
    assert_int_equal(f.close_after, WEFT_ECLOSED);
    close(bound);
}

/* A port that had a listener a moment ago, on the loopback of family. */
static void check_nobody_listening(weft_runtime *rt, int family)
{
    weft_tcp_listener l;
    struct connect_once f;
    memset(&f, 0, sizeof f);
    int r = tcp_listen_loopback(rt, &l, family, &f.addr);
    if (family == AF_INET6 && TCP_NO_IPV6(r)) WEFT_TEST_SKIP(); /* no ::1 here */
    assert_int_equal(r, 0);
    assert_int_equal(weft_tcp_listener_close(rt, &l), 0);
    assert_int_equal(weft_runtime_block_on(rt, connect_once, &f), -ECONNREFUSED);
    assert_int_equal(f.close_after, WEFT_ECLOSED);
}

static void test_connect_nobody_listening_ipv4(void **state)
{
    check_nobody_listening(rt_of(state), AF_INET);
}

static void test_connect_nobody_listening_needs_ipv6(void **state)
{
    check_nobody_listening(rt_of(state), AF_INET6);
}

/* Connects with a deadline until one connect times out; records how long that one took. */
struct connect_until_timeout {
    weft_co co;
    weft_addr addr;
    weft_tcp_connect_op conn;
    weft_tcp_stream s;
    int r;
    int64_t start, elapsed;
};

static int connect_until_timeout(void *frame, weft_cx *cx)
{
    struct connect_until_timeout *f = frame;
    WEFT_BEGIN(&f->co);
    f->start = weft_test_now_ns();
    WEFT_AWAIT_CHILD(&f->co, &f->conn.co, f->r,
                     weft_tcp_connect_dl(&f->conn, &f->s, &f->addr, f->start + WEFT_MSEC(100), cx));
    f->elapsed = weft_test_now_ns() - f->start;
    WEFT_END(&f->co, f->r);
}

static void test_connect_deadline(void **state)
{
    weft_runtime *rt = rt_of(state);
    int fillers[64], nfillers;
    struct connect_until_timeout f;
    memset(&f, 0, sizeof f);
    int lfd = tcp_full_listener(&f.addr, fillers, 64, &nfillers);
    int fds = weft_test_fd_count();
    assert_int_equal(weft_runtime_block_on(rt, connect_until_timeout, &f), -ETIMEDOUT);
    assert_true(f.elapsed >= WEFT_MSEC(100));
    /* The half-open socket was closed. */
    assert_int_equal(weft_test_fd_count(), fds);
    assert_int_equal(rt_stats(rt).io_open, 0);
    assert_int_equal(weft_tcp_close(rt, &f.s), WEFT_ECLOSED);
    close_fds(fillers, nfillers);
    close(lfd);
}

/* ============================================================================================
 * Deadlines on accept and read, and what they leave usable
 * ========================================================================================== */

struct accept_deadline {
    weft_co co;
    weft_tcp_listener l;
    weft_addr addr;
    weft_tcp_connect_op conn;
    weft_tcp_stream client, server;
    int timed_out, later;
    int64_t start, elapsed;
};

static int accept_deadline(void *frame, weft_cx *cx)
{
    struct accept_deadline *f = frame;
    WEFT_BEGIN(&f->co);
    if (tcp_listen_loopback(cx->rt, &f->l, AF_INET, &f->addr) < 0) WEFT_RETURN(&f->co, -1);
    f->start = weft_test_now_ns();
    WEFT_AWAIT(&f->co, f->timed_out = weft_tcp_accept_dl(&f->l, &f->server, NULL,
                                                         f->start + WEFT_MSEC(50), cx));
    f->elapsed = weft_test_now_ns() - f->start;
    /* The listener is still usable. */
    WEFT_AWAIT_CHILD(&f->co, &f->conn.co, f->later,
                     weft_tcp_connect(&f->conn, &f->client, &f->addr, cx));
    if (f->later == 0)
        WEFT_AWAIT(&f->co, f->later = weft_tcp_accept_dl(&f->l, &f->server, NULL,
                                                         f->start + WEFT_SEC(5), cx));
    weft_tcp_close(cx->rt, &f->client);
    weft_tcp_close(cx->rt, &f->server);
    weft_tcp_listener_close(cx->rt, &f->l);
    WEFT_END(&f->co, 0);
}

static void test_accept_deadline(void **state)
{
    struct accept_deadline f;
    memset(&f, 0, sizeof f);
    assert_int_equal(weft_runtime_block_on(rt_of(state), accept_deadline, &f), 0);
    assert_int_equal(f.timed_out, -ETIMEDOUT);
    assert_true(f.elapsed >= WEFT_MSEC(50));
    assert_int_equal(f.later, 0);
}

struct read_deadline {
    weft_co co;
    struct tcp_pair p;
    weft_tcp_xfer x;
    char buf[16];
    int timed_out, exact, done_at_timeout, later;
    int64_t start, elapsed;
};

static int read_deadline(void *frame, weft_cx *cx)
{
    struct read_deadline *f = frame;
    WEFT_BEGIN(&f->co);
    WEFT_AWAIT_CHILD(&f->co, &f->p.co, f->p.r, tcp_pair_open(&f->p, cx));
    if (f->p.r < 0) WEFT_RETURN(&f->co, f->p.r);
    f->start = weft_test_now_ns();
    WEFT_AWAIT(&f->co, f->timed_out = weft_tcp_read_dl(&f->p.server, f->buf, sizeof f->buf,
                                                       f->start + WEFT_MSEC(50), cx));
    f->elapsed = weft_test_now_ns() - f->start;
    /* read_exact with a deadline: 3 of 10 bytes arrive, then the deadline. */
    WEFT_AWAIT(&f->co, f->later = weft_tcp_write(&f->p.client, "abc", 3, cx));
    f->start = weft_deadline_in(WEFT_MSEC(20)); /* the same deadline on every poll */
    WEFT_AWAIT_CHILD(&f->co, &f->x.co, f->exact,
                     weft_tcp_read_exact_dl(&f->x, &f->p.server, f->buf, 10, f->start, cx));
    f->done_at_timeout = (int)f->x.done;
    /* The stream is still usable after both timeouts. */
    WEFT_AWAIT(&f->co, f->later = weft_tcp_write(&f->p.client, "x", 1, cx));
    WEFT_AWAIT(&f->co, f->later = weft_tcp_read(&f->p.server, f->buf + 3, 1, cx));
    tcp_pair_close(cx->rt, &f->p);
    WEFT_END(&f->co, 0);
}

static void test_read_deadline(void **state)
{
    struct read_deadline f;
    memset(&f, 0, sizeof f);
    assert_int_equal(weft_runtime_block_on(rt_of(state), read_deadline, &f), 0);
    assert_int_equal(f.timed_out, -ETIMEDOUT);
    assert_true(f.elapsed >= WEFT_MSEC(50));
    assert_int_equal(f.exact, -ETIMEDOUT);
    assert_int_equal(f.done_at_timeout, 3);
    assert_int_equal(f.later, 1);
    assert_memory_equal(f.buf, "abcx", 4);
}

/* ============================================================================================
 * Errors from the peer: end of stream, reset, broken pipe
 * ========================================================================================== */

struct peer_errors {
    weft_co co;
    struct tcp_pair p, q;
    weft_tcp_xfer x;
    char buf[65536];
    int eof, eof_exact, eof_exact_done, reset, i;
};

static int peer_errors(void *frame, weft_cx *cx)
{
    struct peer_errors *f = frame;
    WEFT_BEGIN(&f->co);
    WEFT_AWAIT_CHILD(&f->co, &f->p.co, f->p.r, tcp_pair_open(&f->p, cx));
    if (f->p.r < 0) WEFT_RETURN(&f->co, f->p.r);
    /* Two bytes then FIN: read_exact(4) ends early with WEFT_EEOF; a read then says 0. */
    WEFT_AWAIT(&f->co, f->i = weft_tcp_write(&f->p.client, "hi", 2, cx));
    weft_tcp_shutdown(cx->rt, &f->p.client, SHUT_WR);
    WEFT_AWAIT_CHILD(&f->co, &f->x.co, f->eof_exact,
                     weft_tcp_read_exact(&f->x, &f->p.server, f->buf, 4, cx));
    f->eof_exact_done = (int)f->x.done;
    WEFT_AWAIT(&f->co, f->eof = weft_tcp_read(&f->p.server, f->buf, 4, cx));
    tcp_pair_close(cx->rt, &f->p);
    /* A fresh connection (a reset after our FIN would be EPIPE, not ECONNRESET). SO_LINGER
     * {1, 0}: close sends a reset instead of a FIN. */
    WEFT_AWAIT_CHILD(&f->co, &f->q.co, f->q.r, tcp_pair_open(&f->q, cx));
    if (f->q.r < 0) WEFT_RETURN(&f->co, f->q.r);
    struct linger lg = {.l_onoff = 1, .l_linger = 0};
    setsockopt(weft_io_fd(&f->q.client.io), SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    weft_tcp_close(cx->rt, &f->q.client);
    WEFT_AWAIT(&f->co, f->reset = weft_tcp_read(&f->q.server, f->buf, 4, cx));
    tcp_pair_close(cx->rt, &f->q);
    WEFT_END(&f->co, 0);
}

static void test_peer_eof_and_reset(void **state)
{
    struct peer_errors *f = calloc(1, sizeof *f);
    assert_int_equal(weft_runtime_block_on(rt_of(state), peer_errors, f), 0);
    assert_int_equal(f->eof_exact, WEFT_EEOF);
    assert_int_equal(f->eof_exact_done, 2);
    assert_int_equal(f->eof, 0);
    assert_int_equal(f->reset, -ECONNRESET);
    free(f);
}

struct broken_pipe {
    weft_co co;
    struct tcp_pair p;
    weft_tcp_xfer x;
    char buf[65536];
    int after_shutdown, after_close, i;
    int64_t deadline;
};

static int broken_pipe(void *frame, weft_cx *cx)
{
    struct broken_pipe *f = frame;
    WEFT_BEGIN(&f->co);
    WEFT_AWAIT_CHILD(&f->co, &f->p.co, f->p.r, tcp_pair_open(&f->p, cx));
    if (f->p.r < 0) WEFT_RETURN(&f->co, f->p.r);
    /* Our own side shut for writing: the kernel says EPIPE (and would raise SIGPIPE). */
    weft_tcp_shutdown(cx->rt, &f->p.server, SHUT_WR);
    WEFT_AWAIT(&f->co, f->after_shutdown = weft_tcp_write(&f->p.server, "x", 1, cx));
    /* The peer closed: the first writes may still be accepted; then EPIPE or ECONNRESET. */
    weft_tcp_close(cx->rt, &f->p.client);
    f->deadline = weft_deadline_in(WEFT_SEC(5));
    for (f->i = 0; f->i < 64 && f->after_close >= 0; f->i++) {
        WEFT_AWAIT_CHILD(
            &f->co, &f->x.co, f->after_close,
            weft_tcp_write_all_dl(&f->x, &f->p.server, f->buf, sizeof f->buf, f->deadline, cx));
    }
    tcp_pair_close(cx->rt, &f->p);
    WEFT_END(&f->co, 0);
}

static void test_broken_pipe_is_not_a_signal(void **state)
{
    /* SIGPIPE at its default (terminate): a write without MSG_NOSIGNAL would kill the test. */
    struct sigaction dfl, old;
    memset(&dfl, 0, sizeof dfl);
    dfl.sa_handler = SIG_DFL;
    sigaction(SIGPIPE, &dfl, &old);
    struct broken_pipe *f = calloc(1, sizeof *f);
    assert_int_equal(weft_runtime_block_on(rt_of(state), broken_pipe, f), 0);
    assert_int_equal(f->after_shutdown, -EPIPE);
    assert_true(f->after_close == -EPIPE || f->after_close == -ECONNRESET);
    free(f);
    sigaction(SIGPIPE, &old, NULL);
}

/* ============================================================================================
 * Closing a stream wakes the task waiting on it; closing an unopened stream is harmless
 * ========================================================================================== */

struct blocked_reader {
    weft_co co;
    weft_tcp_stream *s;
    char buf[8];
};

static int blocked_reader(void *frame, weft_cx *cx)
{
    struct blocked_reader *f = frame;
    int r;
    WEFT_BEGIN(&f->co);
    WEFT_AWAIT(&f->co, r = weft_tcp_read(f->s, f->buf, sizeof f->buf, cx));
    WEFT_END(&f->co, r);
}

struct close_wakes {
    weft_co co;
    struct tcp_pair p;
    struct blocked_reader rd;
    weft_task t;
    int64_t wake;
    int result;
};

static int close_wakes(void *frame, weft_cx *cx)
{
    struct close_wakes *f = frame;
    WEFT_BEGIN(&f->co);
    WEFT_AWAIT_CHILD(&f->co, &f->p.co, f->p.r, tcp_pair_open(&f->p, cx));
    if (f->p.r < 0) WEFT_RETURN(&f->co, f->p.r);
    f->rd.s = &f->p.server;
    weft_task_spawn(cx->rt, blocked_reader, &f->rd, &f->t);
    WEFT_AWAIT(&f->co, weft_sleep_for(&f->wake, WEFT_MSEC(10), cx));
    weft_tcp_close(cx->rt, &f->p.server);
    WEFT_AWAIT(&f->co, f->result = weft_task_join(f->t, cx));
    tcp_pair_close(cx->rt, &f->p);
    WEFT_END(&f->co, 0);
}

static void test_close_wakes_waiter(void **state)
{
    struct close_wakes f;
    memset(&f, 0, sizeof f);
    assert_int_equal(weft_runtime_block_on(rt_of(state), close_wakes, &f), 0);
    assert_int_equal(f.result, WEFT_ECLOSED);
}

static void test_unopened_stream(void **state)
{
    weft_runtime *rt = rt_of(state);
    weft_tcp_stream s;
    weft_tcp_listener l;
    memset(&s, 0, sizeof s); /* fd 0 in a zeroed handle must never be touched */
    memset(&l, 0, sizeof l);
    int flags0 = fcntl(0, F_GETFD);
    assert_int_equal(weft_tcp_close(rt, &s), WEFT_ECLOSED);
    assert_int_equal(weft_tcp_listener_close(rt, &l), WEFT_ECLOSED);
    assert_int_equal(weft_tcp_shutdown(rt, &s, SHUT_RDWR), WEFT_ECLOSED);
    assert_int_equal(weft_tcp_set_nodelay(rt, &s, true), WEFT_ECLOSED);
    assert_int_equal(fcntl(0, F_GETFD), flags0);

    weft_addr a = tcp_loopback(AF_INET, 0);
    assert_int_equal(weft_tcp_listen(rt, &l, NULL, 1), -EINVAL);
    a.ss.ss_family = AF_UNIX;
    assert_int_equal(weft_tcp_listen(rt, &l, &a, 1), -EINVAL);
}

static void test_listen_address_in_use(void **state)
{
    weft_runtime *rt = rt_of(state);
    weft_tcp_listener a, b;
    weft_addr bound;
    assert_int_equal(tcp_listen_loopback(rt, &a, AF_INET, &bound), 0);
    assert_true(weft_addr_port(&bound) > 0);
    assert_int_equal(weft_tcp_listen(rt, &b, &bound, 1), -EADDRINUSE);
    assert_int_equal(rt_stats(rt).io_open, 1); /* the failed listen left nothing behind */
    assert_int_equal(weft_tcp_listener_close(rt, &a), 0);
}

/* ============================================================================================
 * Many connections waiting at once are all accepted, a budget's worth per pass
 * ========================================================================================== */

#define MANY 100

struct accept_many {
    weft_co co;
    weft_tcp_listener *l;
    weft_tcp_stream s[MANY];
    int i, r;
    int64_t deadline;
};

static int accept_many(void *frame, weft_cx *cx)
{
    struct accept_many *f = frame;
    WEFT_BEGIN(&f->co);
    f->deadline = weft_deadline_in(WEFT_SEC(5));
    for (f->i = 0; f->i < MANY; f->i++) {
        WEFT_AWAIT(&f->co, f->r = weft_tcp_accept_dl(f->l, &f->s[f->i], NULL, f->deadline, cx));
        if (f->r < 0) break;
    }
    for (int i = 0; i < MANY; i++)
        weft_tcp_close(cx->rt, &f->s[i]);
    WEFT_END(&f->co, f->r < 0 ? f->r : f->i);
}

static void test_accept_backlog(void **state)
{
    weft_runtime *rt = rt_of(state);
    weft_tcp_listener l;
    weft_addr addr;
    int clients[MANY];
    assert_int_equal(tcp_listen_loopback(rt, &l, AF_INET, &addr), 0);
    for (int i = 0; i < MANY; i++) { /* handshakes complete in the backlog, unaccepted */
        clients[i] = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        assert_int_equal(connect(clients[i], (struct sockaddr *)&addr.ss, addr.len), 0);
    }
    struct accept_many *f = calloc(1, sizeof *f);
    f->l = &l;
    assert_int_equal(weft_runtime_block_on(rt, accept_many, f), MANY);
    /* One accept4 per connection, plus at most one EAGAIN per pass. */
    assert_true(l.accept_calls >= MANY);
    assert_true(l.accept_calls <= MANY + 1);
    assert_int_equal(l.fd_exhausted, 0);
    free(f);
    close_fds(clients, MANY);
    assert_int_equal(weft_tcp_listener_close(rt, &l), 0);
}

/* ============================================================================================
 * Cancelling a task blocked in read, accept or connect releases everything
 * ========================================================================================== */

struct victim {
    weft_co co;
    int kind; /* 0 read, 1 accept, 2 connect */
    struct tcp_pair p;
    weft_tcp_listener l;
    weft_addr addr;
    weft_tcp_connect_op conn;
    weft_tcp_stream s;
    char buf[8];
    int64_t deadline;
    bool last; /* at its last operation: the one it is to be cancelled in */
    int r;
};

static int victim(void *frame, weft_cx *cx)
{
    struct victim *f = frame;
    WEFT_BEGIN(&f->co);
    f->deadline = weft_deadline_in(WEFT_SEC(30)); /* arms a timer the cancel must release */
    if (f->kind == 0) {
        WEFT_AWAIT_CHILD(&f->co, &f->p.co, f->r, tcp_pair_open(&f->p, cx));
        f->last = true;
        if (f->r == 0)
            WEFT_AWAIT(&f->co, f->r = weft_tcp_read_dl(&f->p.server, f->buf, sizeof f->buf,
                                                       f->deadline, cx));
    } else if (f->kind == 1) {
        f->r = tcp_listen_loopback(cx->rt, &f->l, AF_INET6, &f->addr); /* IPv6 where there is */
        if (TCP_NO_IPV6(f->r)) f->r = tcp_listen_loopback(cx->rt, &f->l, AF_INET, &f->addr);
        f->last = true;
        if (f->r == 0)
            WEFT_AWAIT(&f->co, f->r = weft_tcp_accept_dl(&f->l, &f->s, NULL, f->deadline, cx));
    } else {
        f->last = true;
        WEFT_AWAIT_CHILD(&f->co, &f->conn.co, f->r,
                         weft_tcp_connect_dl(&f->conn, &f->s, &f->addr, f->deadline, cx));
    }
    WEFT_RETURN(&f->co, 1000 + f->r); /* not expected: the victim should still be blocked */
    WEFT_ON_CANCEL(&f->co);
    WEFT_CANCEL_CHILD(&f->p.co, tcp_pair_open(&f->p, cx));
    /* No weft_tcp_close(&f->s) here: a cancelled connect closes its socket itself (tcp.h), and
     * test_cancel_connect checks that it did. */
    WEFT_CANCEL_CHILD(&f->conn.co, weft_tcp_connect_dl(&f->conn, &f->s, &f->addr, f->deadline, cx));
    tcp_pair_close(cx->rt, &f->p);
    weft_tcp_listener_close(cx->rt, &f->l);
    WEFT_END(&f->co, 0);
}

struct canceller {
    weft_co co;
    struct victim *v;
    weft_task t;
    struct weft_test_nap nap;
    weft_task_info info;
    weft_runtime_stats during;
    int cancelled, result;
};

/* Cancels the victim once it has come to its last operation and waits in it (its first
 * attempt made: any earlier steps, a connect and an accept, take events and so parks of the
 * loop, which a fixed sleep would not always leave time for on a slow machine). */
static int canceller(void *frame, weft_cx *cx)
{
    struct canceller *f = frame;
    WEFT_BEGIN(&f->co);
    weft_task_spawn(cx->rt, victim, f->v, &f->t);
    WEFT_AWAIT(&f->co, weft_test_nap_until(&f->nap, f->v->last, cx));
    weft_task_inspect(cx->rt, f->t, &f->info);
    weft_runtime_get_stats(cx->rt, &f->during);
    f->cancelled = weft_task_cancel(cx->rt, f->t);
    WEFT_AWAIT(&f->co, f->result = weft_task_join(f->t, cx));
    WEFT_END(&f->co, 0);
}

static void check_cancel(weft_runtime *rt, struct victim *v)
{
    weft_runtime_stats before = rt_stats(rt);
    int fds = weft_test_fd_count();
    struct canceller f;
    memset(&f, 0, sizeof f);
    f.v = v;
    assert_int_equal(weft_runtime_block_on(rt, canceller, &f), 0);
    /* The victim really was blocked, with a registration and a timer... */
    assert_int_equal(f.info.state, WEFT_TASK_WAITING);
    assert_true(f.during.io_open > before.io_open);
    assert_int_equal(f.during.io_waiting, before.io_waiting + 1);
    assert_int_equal(f.during.timers, before.timers + 1);
    /* ...and the cancel released all of it. */
    assert_int_equal(f.cancelled, 1);
    assert_int_equal(f.result, -ECANCELED);
    weft_runtime_stats after = rt_stats(rt);
    assert_int_equal(after.io_open, before.io_open);
    assert_int_equal(after.io_waiting, before.io_waiting);
    assert_int_equal(after.timers, before.timers);
    assert_int_equal(after.tasks, before.tasks);
    assert_int_equal(weft_test_fd_count(), fds);
}

static void test_cancel_read(void **state)
{
    struct victim v;
    memset(&v, 0, sizeof v);
    v.kind = 0;
    check_cancel(rt_of(state), &v);
}

static void test_cancel_accept(void **state)
{
    struct victim v;
    memset(&v, 0, sizeof v);
    v.kind = 1;
    check_cancel(rt_of(state), &v);
}

static void test_cancel_connect(void **state)
{
    int fillers[64], nfillers;
    struct victim v;
    memset(&v, 0, sizeof v);
    v.kind = 2;
    int lfd = tcp_full_listener(&v.addr, fillers, 64, &nfillers);
    check_cancel(rt_of(state), &v); /* its socket and registration are gone: io_open, fd count */
    assert_int_equal(weft_io_fd(&v.s.io), -1);
    assert_int_equal(weft_tcp_close(rt_of(state), &v.s), WEFT_ECLOSED);
    close_fds(fillers, nfillers);
    close(lfd);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_round_trip_ipv4, rt_setup, rt_teardown),
        cmocka_unit_test_setup_teardown(test_round_trip_needs_ipv6, rt_setup, rt_teardown),
        cmocka_unit_test_setup_teardown(test_connect_refused, rt_setup, rt_teardown),
        cmocka_unit_test_setup_teardown(test_connect_nobody_listening_ipv4, rt_setup, rt_teardown),
        cmocka_unit_test_setup_teardown(test_connect_nobody_listening_needs_ipv6, rt_setup,
                                        rt_teardown),
        cmocka_unit_test_setup_teardown(test_connect_deadline, rt_setup, rt_teardown),
        cmocka_unit_test_setup_teardown(test_accept_deadline, rt_setup, rt_teardown),
        cmocka_unit_test_setup_teardown(test_read_deadline, rt_setup, rt_teardown),
        cmocka_unit_test_setup_teardown(test_peer_eof_and_reset, rt_setup, rt_teardown),
        cmocka_unit_test_setup_teardown(test_broken_pipe_is_not_a_signal, rt_setup, rt_teardown),
        cmocka_unit_test_setup_teardown(test_close_wakes_waiter, rt_setup, rt_teardown),
        cmocka_unit_test_setup_teardown(test_unopened_stream, rt_setup, rt_teardown),
        cmocka_unit_test_setup_teardown(test_listen_address_in_use, rt_setup, rt_teardown),
        cmocka_unit_test_setup_teardown(test_accept_backlog, rt_setup, rt_teardown),
        cmocka_unit_test_setup_teardown(test_cancel_read, rt_setup, rt_teardown),
        cmocka_unit_test_setup_teardown(test_cancel_accept, rt_setup, rt_teardown),
        cmocka_unit_test_setup_teardown(test_cancel_connect, rt_setup, rt_teardown),
    };
    return WEFT_TEST_RUN(tests, NULL, NULL);
}
