#define _GNU_SOURCE
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "test_tcp_util.h"

weft_addr tcp_loopback(int family, uint16_t port)
{
    char text[32];
    snprintf(text, sizeof text, family == AF_INET6 ? "[::1]:%u" : "127.0.0.1:%u", (unsigned)port);
    weft_addr a;
    assert_int_equal(weft_addr_parse(&a, text), 0);
    return a;
}

int tcp_listen_loopback(weft_runtime *rt, weft_tcp_listener *l, int family, weft_addr *bound)
{
    weft_addr a = tcp_loopback(family, 0);
    int r = weft_tcp_listen(rt, l, &a, SOMAXCONN);
    if (r == 0 && (r = weft_tcp_listener_addr(rt, l, bound)) < 0) weft_tcp_listener_close(rt, l);
    return r;
}

bool tcp_ipv6_loopback(weft_runtime *rt)
{
    weft_tcp_listener l;
    weft_addr bound;
    int r = tcp_listen_loopback(rt, &l, AF_INET6, &bound);
    if (r == 0) weft_tcp_listener_close(rt, &l);
    return !TCP_NO_IPV6(r);
}

int tcp_pair_open(struct tcp_pair *p, weft_cx *cx)
{
    WEFT_BEGIN(&p->co);
    p->r = tcp_listen_loopback(cx->rt, &p->l, p->family ? p->family : AF_INET, &p->addr);
    if (p->r < 0) WEFT_RETURN(&p->co, p->r);
    WEFT_AWAIT_CHILD(&p->co, &p->conn.co, p->r,
                     weft_tcp_connect(&p->conn, &p->client, &p->addr, cx));
    if (p->r == 0) WEFT_AWAIT(&p->co, p->r = weft_tcp_accept(&p->l, &p->server, NULL, cx));
    weft_tcp_listener_close(cx->rt, &p->l);
    WEFT_RETURN(&p->co, p->r);
    WEFT_ON_CANCEL(&p->co);
    tcp_pair_close(cx->rt, p);
    WEFT_END(&p->co, 0);
}

void tcp_pair_close(weft_runtime *rt, struct tcp_pair *p)
{
    weft_tcp_listener_close(rt, &p->l);
    weft_tcp_close(rt, &p->client);
    weft_tcp_close(rt, &p->server);
}

/* Starts a non-blocking connect and waits up to 200 ms for it. Returns true if it completed. */
static bool connect_completes(int fd, const weft_addr *addr)
{
    int r = connect(fd, (const struct sockaddr *)&addr->ss, addr->len);
    assert_true(r == 0 || errno == EINPROGRESS);
    struct pollfd pfd = {.fd = fd, .events = POLLOUT};
    return r == 0 || poll(&pfd, 1, 200) == 1;
}

int tcp_full_listener(weft_addr *addr, int *fillers, int max, int *nfillers)
{
    int lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(lfd >= 0);
    weft_addr any = tcp_loopback(AF_INET, 0);
    assert_int_equal(bind(lfd, (struct sockaddr *)&any.ss, any.len), 0);
    assert_int_equal(listen(lfd, 0), 0);
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    assert_int_equal(getsockname(lfd, (struct sockaddr *)&ss, &len), 0);
    assert_int_equal(weft_addr_from_sockaddr(addr, (struct sockaddr *)&ss, len), 0);
    /* Fill the accept queue until one handshake no longer completes: the queue is full. */
    for (*nfillers = 0; *nfillers < max;) {
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        assert_true(fd >= 0);
        fillers[(*nfillers)++] = fd;
        if (!connect_completes(fd, addr)) return lfd;
    }
    fail_msg("could not fill the accept queue of a backlog-0 listener in %d connects", max);
    return -1;
}

void close_fds(int *fds, int n)
{
    for (int i = 0; i < n; i++)
        close(fds[i]);
}
