/*
 * Tests for weft/tcp.h, part 4: connecting by host name (weft_tcp_connect_host_dl). A numeric
 * address connects without the blocking pool; "localhost" is resolved on the pool and
 * connected; each resolved address is tried in turn; an unknown name, a malformed string, a
 * deadline and cancellation (while resolving and while connecting) each end cleanly.
 *
 * Real sockets on loopback and the system's real resolver for "localhost" and
 * "nonexistent.invalid". A name that resolves to several addresses, the first of them dead, or
 * a resolver that is slow, cannot be set up for real without editing /etc/hosts, so getaddrinfo
 * is wrapped (--wrap) for a few names under the reserved .test domain (RFC 6761); every other
 * name goes to the real getaddrinfo.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "runtime_test.h"
#include "test_tcp_util.h"

/* ============================================================================================
 * A resolver for a few made-up names (getaddrinfo wrapped)
 * ========================================================================================== */

int __real_getaddrinfo(const char *node, const char *service, const struct addrinfo *hints,
                       struct addrinfo **res);
void __real_freeaddrinfo(struct addrinfo *res);
int __wrap_getaddrinfo(const char *node, const char *service, const struct addrinfo *hints,
                       struct addrinfo **res);
void __wrap_freeaddrinfo(struct addrinfo *res);

/* Each made-up name: how long its lookup blocks, and its IPv4 addresses in order. */
static const struct fake_host {
    const char *name;
    int delay_ms;
    const char *ips[3];
} fake_hosts[] = {
    {"refused-first.test", 0, {"127.0.0.2", "127.0.0.1"}}, /* nothing listens on 127.0.0.2 */
    {"all-refused.test", 0, {"127.0.0.2", "127.0.0.3"}},
    {"hang-first.test", 0, {"127.0.0.1", "127.0.0.2"}}, /* a full backlog on 127.0.0.1 */
    {"one.test", 0, {"127.0.0.1"}},
    {"slow.test", -1, {"127.0.0.1"}}, /* -1: until slow_released */
};

/* Lets slow.test's lookup end. Not a time: on a slow machine a 300 ms lookup could end before
 * the deadline or cancel it is meant to outlast. */
static _Atomic int slow_released;

/* One allocation per answer; ai_canonname marks it as ours for freeaddrinfo. */
struct fake_ai {
    struct addrinfo ai;
    struct sockaddr_in sin;
};
static char fake_mark[] = "fake";

static int fake_answer(const struct fake_host *h, const char *service, struct addrinfo **res)
{
    int n = 0;
    while (n < 3 && h->ips[n])
        n++;
    struct fake_ai *v = calloc((size_t)n, sizeof *v);
    if (!v) return EAI_MEMORY;
    for (int i = 0; i < n; i++) {
        v[i].sin.sin_family = AF_INET;
        v[i].sin.sin_port = htons((uint16_t)atoi(service ? service : "0"));
        inet_pton(AF_INET, h->ips[i], &v[i].sin.sin_addr);
        v[i].ai.ai_family = AF_INET;
        v[i].ai.ai_socktype = SOCK_STREAM;
        v[i].ai.ai_protocol = IPPROTO_TCP;
        v[i].ai.ai_addrlen = sizeof v[i].sin;
        v[i].ai.ai_addr = (struct sockaddr *)&v[i].sin;
        v[i].ai.ai_canonname = fake_mark;
        v[i].ai.ai_next = i + 1 < n ? &v[i + 1].ai : NULL;
    }
    *res = &v[0].ai;
    return 0;
}

/* Blocks for h's delay, or until slow_released (1 ms at a time, 30 s and more at most). */
static void fake_delay(const struct fake_host *h)
{
    struct timespec ts = {0, (h->delay_ms < 0 ? 1 : h->delay_ms) * 1000000L};
    if (h->delay_ms >= 0) {
        nanosleep(&ts, NULL);
        return;
    }
    for (int i = 0; i < 30000 && !atomic_load(&slow_released); i++)
        nanosleep(&ts, NULL);
}

int __wrap_getaddrinfo(const char *node, const char *service, const struct addrinfo *hints,
                       struct addrinfo **res)
{
    for (size_t i = 0; node && i < sizeof fake_hosts / sizeof fake_hosts[0]; i++) {
        const struct fake_host *h = &fake_hosts[i];
        if (strcmp(node, h->name) != 0) continue;
        fake_delay(h); /* on a pool thread: the loop goes on */
        return fake_answer(h, service, res);
    }
    return __real_getaddrinfo(node, service, hints, res);
}

void __wrap_freeaddrinfo(struct addrinfo *res)
{
    if (res && res->ai_canonname == fake_mark)
        free(res); /* the first fake_ai, which begins with its addrinfo */
    else
        __real_freeaddrinfo(res);
}

/* ============================================================================================
 * Fixture and helpers
 * ========================================================================================== */

static size_t jobs(weft_runtime *rt)
{
    weft_sync_stats st;
    weft_sync_get_stats(rt, &st);
    return st.jobs;
}

/* Parks until every blocking job has finished and been freed (bounded), so that a test that
 * abandoned a resolution still leaves the runtime empty. */
static void drain_jobs(weft_runtime *rt)
{
    for (int i = 0; i < 1000 && jobs(rt) != 0; i++) {
        weft_runtime_run_ready(rt);
        if (jobs(rt) == 0) break;
        assert_int_equal(weft_runtime_park(rt), 0);
    }
    assert_int_equal(jobs(rt), 0);
}

static int host_teardown(void **state)
{
    drain_jobs(rt_of(state));
    return rt_teardown(state);
}

/*
 * A listener that localhost reaches whatever it resolves to: [::]:0 when the system has IPv6
 * and accepts IPv4 on it too (IPV6_V6ONLY off), else 127.0.0.1:0. Returns its port.
 */
static uint16_t listen_for_localhost(weft_runtime *rt, weft_tcp_listener *l)
{
    weft_addr any, bound;
    assert_int_equal(weft_addr_parse(&any, "[::]:0"), 0);
    if (weft_tcp_listen(rt, l, &any, SOMAXCONN) == 0) {
        int v6only = 1;
        socklen_t len = sizeof v6only;
        if (getsockopt(weft_io_fd(&l->io), IPPROTO_IPV6, IPV6_V6ONLY, &v6only, &len) == 0 &&
            v6only == 0) {
            assert_int_equal(weft_tcp_listener_addr(rt, l, &bound), 0);
            return (uint16_t)weft_addr_port(&bound);
        }
        weft_tcp_listener_close(rt, l);
    }
    assert_int_equal(tcp_listen_loopback(rt, l, AF_INET, &bound), 0);
    return (uint16_t)weft_addr_port(&bound);
}

/* A listener on 127.0.0.1 only. Returns its port. */
static uint16_t listen_v4(weft_runtime *rt, weft_tcp_listener *l)
{
    weft_addr bound;
    assert_int_equal(tcp_listen_loopback(rt, l, AF_INET, &bound), 0);
    return (uint16_t)weft_addr_port(&bound);
}

/* ============================================================================================
 * The task under test: connect by name, then (if a listener is given) accept the connection
 * ========================================================================================== */

struct dial {
    weft_co co;
    char hostport[64];
    int64_t deadline;     /* WEFT_NO_DEADLINE if 0 */
    weft_tcp_listener *l; /* if set: accept what connected, to show it reached this listener */
    weft_tcp_connect_host_op op;
    weft_tcp_stream s, server;
    weft_addr peer; /* the server's address as the client sees it */
    int r, accepted, close_after;
    int64_t start, elapsed;
};

static int dial(void *frame, weft_cx *cx)
{
    struct dial *f = frame;
    WEFT_BEGIN(&f->co);
    if (f->deadline == 0) f->deadline = WEFT_NO_DEADLINE;
    if (f->start == 0) f->start = weft_test_now_ns(); /* tests with a deadline set it first */
    WEFT_AWAIT_CHILD(&f->co, &f->op.co, f->r,
                     weft_tcp_connect_host_dl(&f->op, &f->s, f->hostport, f->deadline, cx));
    f->elapsed = weft_test_now_ns() - f->start;
    if (f->r == 0 && f->l) {
        weft_tcp_peer_addr(cx->rt, &f->s, &f->peer);
        WEFT_AWAIT(&f->co, f->accepted = weft_tcp_accept(f->l, &f->server, NULL, cx));
        weft_tcp_close(cx->rt, &f->server);
    }
    f->close_after = weft_tcp_close(cx->rt, &f->s); /* WEFT_ECLOSED: nothing was left open */
    WEFT_RETURN(&f->co, f->r);
    WEFT_ON_CANCEL(&f->co);
    WEFT_CANCEL_CHILD(&f->op.co,
                      weft_tcp_connect_host_dl(&f->op, &f->s, f->hostport, f->deadline, cx));
    weft_tcp_close(cx->rt, &f->server);
    WEFT_END(&f->co, 0);
}

static void dial_init(struct dial *f, const char *host, uint16_t port)
{
    memset(f, 0, sizeof *f);
    snprintf(f->hostport, sizeof f->hostport, "%s:%u", host, (unsigned)port);
}

static bool is_loopback(const weft_addr *a)
{
    if (a->ss.ss_family == AF_INET) {
        const struct sockaddr_in *in = (const void *)&a->ss;
        return ntohl(in->sin_addr.s_addr) == INADDR_LOOPBACK;
    }
    const struct sockaddr_in6 *in6 = (const void *)&a->ss;
    return a->ss.ss_family == AF_INET6 && IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr);
}

/* ============================================================================================
 * Numeric addresses and names
 * ========================================================================================== */

/* Polls a fresh dial task once and reports how many blocking jobs exist right after. */
static size_t jobs_after_first_poll(weft_runtime *rt, struct dial *f, weft_task *t)
{
    assert_int_equal(weft_task_spawn(rt, dial, f, t), 0);
    weft_runtime_run_ready(rt);
    return jobs(rt);
}

static void test_name_uses_the_pool_numeric_does_not(void **state)
{
    weft_runtime *rt = rt_of(state);
    weft_tcp_listener l;
    uint16_t port = listen_v4(rt, &l);
    struct dial f;
    weft_task t;

    dial_init(&f, "127.0.0.1", port);
    f.l = &l;
    assert_int_equal(jobs_after_first_poll(rt, &f, &t), 0); /* parsed, connecting: no job */
    assert_int_equal(weft_runtime_run(rt), 0);
    assert_int_equal(weft_task_result(rt, t), 0);
    assert_int_equal(f.accepted, 0);

    dial_init(&f, "one.test", port);
    f.l = &l;
    assert_int_equal(jobs_after_first_poll(rt, &f, &t), 1); /* the name went to the pool */
    assert_int_equal(weft_runtime_run(rt), 0);
    assert_int_equal(weft_task_result(rt, t), 0);
    assert_int_equal(f.accepted, 0);
    assert_int_equal(f.close_after, 0);
    weft_tcp_listener_close(rt, &l);
}

static void test_localhost(void **state)
{
    weft_runtime *rt = rt_of(state);
    weft_tcp_listener l;
    struct dial f;
    dial_init(&f, "localhost", listen_for_localhost(rt, &l));
    f.l = &l;
    f.deadline = weft_deadline_in(WEFT_SEC(10));
    assert_int_equal(weft_runtime_block_on(rt, dial, &f), 0);
    assert_int_equal(f.accepted, 0);
    assert_true(f.op.naddrs >= 1);
    assert_true(is_loopback(&f.peer));
    assert_int_equal(weft_tcp_listener_close(rt, &l), 0);
}

/* ============================================================================================
 * Several addresses
 * ========================================================================================== */

static void test_tries_the_next_address(void **state)
{
    weft_runtime *rt = rt_of(state);
    weft_tcp_listener l;
    struct dial f;
    dial_init(&f, "refused-first.test", listen_v4(rt, &l));
    f.l = &l;
    assert_int_equal(weft_runtime_block_on(rt, dial, &f), 0);
    assert_int_equal(f.op.naddrs, 2);
    assert_int_equal(f.op.next, 1);
    assert_int_equal(f.op.first_err, -ECONNREFUSED);
    assert_int_equal(f.accepted, 0);
    weft_addr expect = tcp_loopback(AF_INET, (uint16_t)weft_addr_port(&f.peer));
    assert_memory_equal(&f.peer.ss, &expect.ss, expect.len); /* 127.0.0.1, the second */
    weft_tcp_listener_close(rt, &l);
}

static void test_every_address_refused(void **state)
{
    weft_runtime *rt = rt_of(state);
    weft_tcp_listener l;
    struct dial f;
    dial_init(&f, "all-refused.test", listen_v4(rt, &l));
    assert_int_equal(weft_runtime_block_on(rt, dial, &f), -ECONNREFUSED);
    assert_int_equal(f.op.next, 2); /* both were tried */
    assert_int_equal(f.close_after, WEFT_ECLOSED);
    weft_tcp_listener_close(rt, &l);
}

/* An address that never answers takes the rest of the deadline; the next one is not tried. */
static void test_deadline_while_connecting(void **state)
{
    weft_runtime *rt = rt_of(state);
    int fillers[64], nfillers;
    weft_addr full;
    int lfd = tcp_full_listener(&full, fillers, 64, &nfillers);
    struct dial f;
    dial_init(&f, "hang-first.test", (uint16_t)weft_addr_port(&full));
    f.start = weft_test_now_ns(); /* before the deadline: a lower bound that always holds */
    f.deadline = weft_deadline_in(WEFT_MSEC(100));
    assert_int_equal(weft_runtime_block_on(rt, dial, &f), -ETIMEDOUT);
    assert_true(f.elapsed >= WEFT_MSEC(100));
    assert_int_equal(f.op.next, 0);
    assert_int_equal(f.close_after, WEFT_ECLOSED);
    assert_int_equal(rt_stats(rt).io_open, 0); /* the half-open socket was closed */
    close_fds(fillers, nfillers);
    close(lfd);
}

/* ============================================================================================
 * Failures before any connect: unknown names, malformed strings, a slow resolver
 * ========================================================================================== */

/*
 * .invalid never resolves (RFC 6761). The system's resolver may still ask the name servers in
 * /etc/resolv.conf: without a network that fails fast or hangs until its own timeout. Only a
 * quick, definite answer can be checked; anything else is reported as skipped, with the reason.
 */
static void test_unknown_name_needs_dns(void **state)
{
    weft_runtime *rt = rt_of(state);
    struct dial f;
    dial_init(&f, "nonexistent.invalid", 80);
    f.deadline = weft_deadline_in(WEFT_SEC(2));
    int r = weft_runtime_block_on(rt, dial, &f);
    assert_int_equal(f.close_after, WEFT_ECLOSED);
    if (r == -ETIMEDOUT || r == -EAGAIN) {
        printf("# skipped: the system resolver gave no definite answer for nonexistent.invalid "
               "within 2 s (%s): no name server reachable?\n",
               weft_strerror(r));
        drain_jobs(rt); /* waits for the resolver's own timeout */
        WEFT_TEST_SKIP();
    }
    assert_int_equal(r, WEFT_ERESOLVE);
    assert_string_equal(weft_strerror(r), "host name not found");
}

static void test_malformed_never_reaches_the_pool(void **state)
{
    weft_runtime *rt = rt_of(state);
    static const struct {
        const char *text;
        int err;
    } cases[] = {
        {"localhost", WEFT_EADDR},       /* no port */
        {"localhost:", WEFT_EADDR},      /* empty port */
        {"localhost:65536", WEFT_EADDR}, /* port out of range */
        {"::1:80", WEFT_EADDR},          /* unbracketed IPv6 */
        {"bad host:80", WEFT_EADDR},     /* not a name */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct dial f;
        dial_init(&f, "", 0);
        snprintf(f.hostport, sizeof f.hostport, "%s", cases[i].text);
        assert_int_equal(weft_runtime_block_on(rt, dial, &f), cases[i].err);
        assert_int_equal(f.close_after, WEFT_ECLOSED);
        assert_int_equal(jobs(rt), 0);
    }
    weft_tcp_connect_host_op op;
    weft_tcp_stream s;
    weft_cx cx = {.rt = rt};
    weft_co_init(&op.co);
    assert_int_equal(weft_tcp_connect_host(&op, &s, NULL, &cx), -EINVAL);
}

static void test_deadline_while_resolving(void **state)
{
    weft_runtime *rt = rt_of(state);
    struct dial f;
    dial_init(&f, "slow.test", 9);
    atomic_store(&slow_released, 0);
    f.start = weft_test_now_ns(); /* before the deadline: a lower bound that always holds */
    f.deadline = weft_deadline_in(WEFT_MSEC(50));
    assert_int_equal(weft_runtime_block_on(rt, dial, &f), -ETIMEDOUT);
    assert_true(f.elapsed >= WEFT_MSEC(50));
    assert_int_equal(f.close_after, WEFT_ECLOSED);
    assert_int_equal(jobs(rt), 1); /* the lookup runs on; the teardown waits for it */
    atomic_store(&slow_released, 1);
}

/* ============================================================================================
 * Cancellation: the frame is freed while the pool still resolves, or while a connect hangs
 * ========================================================================================== */

/* Spawns a dial in a runtime-allocated frame, polls it once, cancels it (freeing the frame). */
static void dial_and_cancel(weft_runtime *rt, const char *host, uint16_t port)
{
    weft_task t;
    struct dial *f = weft_task_spawn_new(rt, dial, sizeof *f, &t);
    assert_non_null(f);
    dial_init(f, host, port);
    weft_runtime_run_ready(rt);
    assert_true(weft_task_cancel(rt, t) == 1);
    assert_int_equal(weft_task_result(rt, t), -ECANCELED);
}

static void test_cancel_while_resolving(void **state)
{
    weft_runtime *rt = rt_of(state);
    atomic_store(&slow_released, 0);
    dial_and_cancel(rt, "slow.test", 9);
    assert_int_equal(jobs(rt), 1);
    atomic_store(&slow_released, 1);
    drain_jobs(rt); /* the lookup ends and writes into its own copy, not the freed frame */
    assert_int_equal(rt_stats(rt).io_open, 0);
}

static void test_cancel_while_connecting(void **state)
{
    weft_runtime *rt = rt_of(state);
    int fillers[64], nfillers;
    weft_addr full;
    int lfd = tcp_full_listener(&full, fillers, 64, &nfillers);
    int fds = weft_test_fd_count();
    dial_and_cancel(rt, "127.0.0.1", (uint16_t)weft_addr_port(&full));
    assert_int_equal(rt_stats(rt).io_open, 0); /* the half-open socket was closed */
    assert_int_equal(weft_test_fd_count(), fds);
    close_fds(fillers, nfillers);
    close(lfd);
}

int main(void)
{
    alarm(120);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_name_uses_the_pool_numeric_does_not, rt_setup,
                                        host_teardown),
        cmocka_unit_test_setup_teardown(test_localhost, rt_setup, host_teardown),
        cmocka_unit_test_setup_teardown(test_tries_the_next_address, rt_setup, host_teardown),
        cmocka_unit_test_setup_teardown(test_every_address_refused, rt_setup, host_teardown),
        cmocka_unit_test_setup_teardown(test_deadline_while_connecting, rt_setup, host_teardown),
        cmocka_unit_test_setup_teardown(test_unknown_name_needs_dns, rt_setup, host_teardown),
        cmocka_unit_test_setup_teardown(test_malformed_never_reaches_the_pool, rt_setup,
                                        host_teardown),
        cmocka_unit_test_setup_teardown(test_deadline_while_resolving, rt_setup, host_teardown),
        cmocka_unit_test_setup_teardown(test_cancel_while_resolving, rt_setup, host_teardown),
        cmocka_unit_test_setup_teardown(test_cancel_while_connecting, rt_setup, host_teardown),
    };
    return WEFT_TEST_RUN(tests, NULL, NULL);
}
