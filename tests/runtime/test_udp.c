/*
 * Tests of weft/udp.h: datagram round trips over 127.0.0.1 and ::1 (addressed and connected),
 * a receive that waits for a datagram sent later, a datagram too long for the buffer (reported,
 * not silently cut), and a receive deadline.
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>
#include <sys/socket.h>

#include <weft/udp.h>

#include "runtime_test.h"

static weft_addr loopback(int family)
{
    weft_addr a;
    assert_int_equal(weft_addr_parse(&a, family == AF_INET6 ? "[::1]:0" : "127.0.0.1:0"), 0);
    return a;
}

/* A server that echoes one datagram back to its sender. */
struct echo_once {
    weft_co co;
    weft_udp *u;
    char buf[64];
    weft_addr from;
    int n, result;
};

static int echo_once(void *frame, weft_cx *cx)
{
    struct echo_once *f = frame;
    WEFT_BEGIN(&f->co);
    WEFT_AWAIT(&f->co, f->n = weft_udp_recv_from(f->u, f->buf, sizeof f->buf, &f->from, cx));
    if (f->n < 0) WEFT_RETURN(&f->co, f->n);
    WEFT_AWAIT(&f->co, f->result = weft_udp_send_to(f->u, f->buf, (size_t)f->n, &f->from, cx));
    WEFT_END(&f->co, f->result);
}

/* A client that sends "ping" (to `to`, or to its connected peer) and waits for the answer. */
struct pinger {
    weft_co co;
    weft_udp *u;
    const weft_addr *to; /* NULL: connected */
    int64_t delay;       /* wait this long before sending */
    int64_t wake;
    char buf[64];
    weft_addr from;
    int n;
};

static int pinger(void *frame, weft_cx *cx)
{
    struct pinger *f = frame;
    WEFT_BEGIN(&f->co);
    if (f->delay > 0) WEFT_AWAIT(&f->co, weft_sleep_for(&f->wake, f->delay, cx));
    if (f->to != NULL)
        WEFT_AWAIT(&f->co, f->n = weft_udp_send_to(f->u, "ping", 4, f->to, cx));
    else
        WEFT_AWAIT(&f->co, f->n = weft_udp_send(f->u, "ping", 4, cx));
    if (f->n != 4) WEFT_RETURN(&f->co, f->n < 0 ? f->n : -EIO);
    if (f->to != NULL)
        WEFT_AWAIT(&f->co, f->n = weft_udp_recv_from(f->u, f->buf, sizeof f->buf, &f->from, cx));
    else
        WEFT_AWAIT(&f->co, f->n = weft_udp_recv(f->u, f->buf, sizeof f->buf, cx));
    WEFT_END(&f->co, f->n);
}

static bool same_addr(const weft_addr *a, const weft_addr *b)
{
    char x[WEFT_ADDR_STRLEN], y[WEFT_ADDR_STRLEN];
    return weft_addr_format(a, x, sizeof x) > 0 && weft_addr_format(b, y, sizeof y) > 0 &&
           strcmp(x, y) == 0;
}

/* Server and client on the loopback of family; the client connected or not. */
static void round_trip(weft_runtime *rt, int family, bool connected, int64_t delay)
{
    weft_addr any = loopback(family), server_addr, client_addr;
    weft_udp server, client;
    int r = weft_udp_bind(rt, &server, &any);
    if (family == AF_INET6 && (r == -EADDRNOTAVAIL || r == -EAFNOSUPPORT)) {
        WEFT_TEST_SKIP(); /* no IPv6 loopback here */
    }
    assert_int_equal(r, 0);
    assert_int_equal(weft_udp_bind(rt, &client, &any), 0);
    assert_int_equal(weft_udp_local_addr(rt, &server, &server_addr), 0);
    assert_int_equal(weft_udp_local_addr(rt, &client, &client_addr), 0);
    assert_true(weft_addr_port(&server_addr) > 0);
    if (connected) assert_int_equal(weft_udp_connect(rt, &client, &server_addr), 0);
    struct echo_once e = {.u = &server};
    struct pinger p = {.u = &client, .to = connected ? NULL : &server_addr, .delay = delay};
    weft_task te, tp;
    assert_int_equal(weft_task_spawn(rt, echo_once, &e, &te), 0);
    assert_int_equal(weft_task_spawn(rt, pinger, &p, &tp), 0);
    assert_int_equal(weft_runtime_run(rt), 0);
    assert_int_equal(weft_task_result(rt, te), 4);
    assert_int_equal(weft_task_result(rt, tp), 4);
    assert_memory_equal(p.buf, "ping", 4);
    assert_true(same_addr(&e.from, &client_addr)); /* the server saw who sent it */
    if (!connected) assert_true(same_addr(&p.from, &server_addr));
    assert_int_equal(weft_udp_close(rt, &client), 0);
    assert_int_equal(weft_udp_close(rt, &server), 0);
    assert_int_equal(weft_udp_close(rt, &server), WEFT_ECLOSED);
}

static void udp_round_trip_ipv4(void **state)
{
    round_trip(rt_of(state), AF_INET, false, 0);
}

static void udp_round_trip_needs_ipv6(void **state)
{
    round_trip(rt_of(state), AF_INET6, false, 0);
}

static void udp_round_trip_connected(void **state)
{
    round_trip(rt_of(state), AF_INET, true, 0);
}

/* The server's receive is polled first and has to wait 5 ms for the datagram. */
static void udp_recv_waits_for_a_datagram(void **state)
{
    round_trip(rt_of(state), AF_INET, false, WEFT_MSEC(5));
}

/* A receive that nothing satisfies. */
struct receiver {
    weft_co co;
    weft_udp *u;
    int64_t deadline;
    char buf[8];
    int n;
};

static int receiver(void *frame, weft_cx *cx)
{
    struct receiver *f = frame;
    WEFT_BEGIN(&f->co);
    WEFT_AWAIT(&f->co, f->n = weft_udp_recv_dl(f->u, f->buf, sizeof f->buf, f->deadline, cx));
    WEFT_END(&f->co, f->n);
}

static void udp_recv_deadline_never_early(void **state)
{
    weft_runtime *rt = rt_of(state);
    weft_addr any = loopback(AF_INET);
    weft_udp u;
    assert_int_equal(weft_udp_bind(rt, &u, &any), 0);
    int64_t start = weft_time_now();
    struct receiver r = {.u = &u, .deadline = start + WEFT_MSEC(15)};
    assert_int_equal(weft_runtime_block_on(rt, receiver, &r), -ETIMEDOUT);
    assert_true(weft_time_now() - start >= WEFT_MSEC(15));
    assert_int_equal(weft_udp_close(rt, &u), 0);
}

static bool is_loopback_v4(const weft_addr *a)
{
    char text[WEFT_ADDR_STRLEN];
    return weft_addr_format(a, text, sizeof text) > 0 && strncmp(text, "127.0.0.1:", 10) == 0;
}

/* Sends len bytes of c from a plain socket of its own to addr. */
static void send_plain(const weft_addr *addr, char c, size_t len)
{
    int tx = socket(addr->ss.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    assert_true(tx >= 0);
    char data[100];
    assert_true(len <= sizeof data);
    memset(data, c, len);
    const struct sockaddr *sa = (const struct sockaddr *)&addr->ss;
    assert_int_equal(sendto(tx, data, len, 0, sa, addr->len), (ssize_t)len);
    close(tx);
}

/* A datagram longer than the buffer is reported, not passed off as a whole one: 100 bytes into
 * 8 fail with -EMSGSIZE, with the first 8 bytes stored and the sender known; a datagram of
 * exactly 8 bytes is whole; and the next datagram comes intact. */
static void udp_long_datagram_is_reported(void **state)
{
    weft_runtime *rt = rt_of(state);
    weft_addr any = loopback(AF_INET), addr;
    weft_udp u;
    assert_int_equal(weft_udp_bind(rt, &u, &any), 0);
    assert_int_equal(weft_udp_local_addr(rt, &u, &addr), 0);
    send_plain(&addr, 'x', 100);
    send_plain(&addr, 'y', 8);
    send_plain(&addr, 's', 5);

    struct echo_once e = {.u = &u}; /* its receive: a 64-byte buffer, with the sender */
    struct receiver r = {.u = &u, .deadline = weft_deadline_in(WEFT_SEC(5))};
    assert_int_equal(weft_runtime_block_on(rt, receiver, &r), -EMSGSIZE);
    assert_memory_equal(r.buf, "xxxxxxxx", 8);
    weft_co_init(&r.co);
    assert_int_equal(weft_runtime_block_on(rt, receiver, &r), 8);
    assert_memory_equal(r.buf, "yyyyyyyy", 8);
    weft_co_init(&r.co);
    assert_int_equal(weft_runtime_block_on(rt, receiver, &r), 5);
    assert_memory_equal(r.buf, "sssss", 5);

    send_plain(&addr, 'z', 65); /* one more than the echo's buffer: from is still set */
    assert_int_equal(weft_runtime_block_on(rt, echo_once, &e), -EMSGSIZE);
    assert_int_equal(e.n, -EMSGSIZE);
    assert_true(is_loopback_v4(&e.from));
    assert_int_equal(weft_udp_close(rt, &u), 0);
}

static void udp_rejects_bad_arguments(void **state)
{
    weft_runtime *rt = rt_of(state);
    weft_udp u = {0};
    assert_int_equal(weft_udp_open(rt, &u, AF_UNIX), -EINVAL);
    assert_int_equal(weft_udp_bind(rt, &u, NULL), -EINVAL);
    assert_int_equal(weft_udp_close(rt, &u), WEFT_ECLOSED);
    weft_udp zeroed = {0};
    assert_int_equal(weft_udp_close(rt, &zeroed), WEFT_ECLOSED);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(udp_round_trip_ipv4, rt_setup, rt_teardown),
        cmocka_unit_test_setup_teardown(udp_round_trip_needs_ipv6, rt_setup, rt_teardown),
        cmocka_unit_test_setup_teardown(udp_round_trip_connected, rt_setup, rt_teardown),
        cmocka_unit_test_setup_teardown(udp_recv_waits_for_a_datagram, rt_setup, rt_teardown),
        cmocka_unit_test_setup_teardown(udp_recv_deadline_never_early, rt_setup, rt_teardown),
        cmocka_unit_test_setup_teardown(udp_long_datagram_is_reported, rt_setup, rt_teardown),
        cmocka_unit_test_setup_teardown(udp_rejects_bad_arguments, rt_setup, rt_teardown),
    };
    return WEFT_TEST_RUN(tests, NULL, NULL);
}
