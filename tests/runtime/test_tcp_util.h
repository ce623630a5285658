/*
 * Helpers shared by the TCP tests (test_tcp.c, test_tcp_data.c, test_tcp_emfile.c): loopback
 * addresses, a connected pair made through weft's own listen/connect/accept, and a raw listener
 * whose backlog is full so that a connect to it hangs. Include after <cmocka.h>.
 */
#ifndef WEFT_TEST_TCP_UTIL_H
#define WEFT_TEST_TCP_UTIL_H

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>

#include "weft/tcp.h"

/* "127.0.0.1:port" (AF_INET) or "[::1]:port" (AF_INET6). */
weft_addr tcp_loopback(int family, uint16_t port);

/* Listens on the loopback of `family`, port 0; *bound receives the address with its port. */
int tcp_listen_loopback(weft_runtime *rt, weft_tcp_listener *l, int family, weft_addr *bound);

/* Whether a listen on ::1 failed because this machine has no IPv6 loopback (IPv6 disabled, as in
 * many containers): a reason to skip an IPv6 case (WEFT_TEST_SKIP), not a failure. */
#define TCP_NO_IPV6(r) ((r) == -EADDRNOTAVAIL || (r) == -EAFNOSUPPORT)

/* Whether this machine can listen on ::1 (tries it, closes it). */
bool tcp_ipv6_loopback(weft_runtime *rt);

/*
 * A connected pair in one task: listen, connect, accept (a loopback connect completes in the
 * kernel's backlog, so the same task can do both in turn), then the listener is closed.
 * Zero the frame, set `family`, await with WEFT_AWAIT_CHILD(co, &p->co, r, tcp_pair_open(p, cx)).
 * Returns 0 with p->client and p->server open.
 */
struct tcp_pair {
    weft_co co;
    int family; /* AF_INET or AF_INET6 (0 means AF_INET) */
    weft_tcp_listener l;
    weft_addr addr;
    weft_tcp_connect_op conn;
    weft_tcp_stream client, server;
    int r;
};
int tcp_pair_open(struct tcp_pair *p, weft_cx *cx);

/* Closes whatever of the pair is open (safe on a zeroed or half-made pair). */
void tcp_pair_close(weft_runtime *rt, struct tcp_pair *p);

/*
 * A raw listening socket on 127.0.0.1 with backlog 0 whose accept queue is then filled, so that
 * the kernel drops further SYNs and a connect to it stays in progress. Returns the listening fd;
 * *addr receives its address; fillers receives the filling client sockets (at most max, the last
 * one still connecting) and *nfillers their number. Fails the test if no connect could be made to
 * hang. Close the listener and the fillers with close().
 */
int tcp_full_listener(weft_addr *addr, int *fillers, int max, int *nfillers);

void close_fds(int *fds, int n);

#endif
