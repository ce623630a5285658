/*
 * weft/udp.h — UDP sockets on the runtime: datagrams to and from any address, or to one
 * connected peer. IPv4 and IPv6.
 *
 *     weft_udp u;
 *     weft_udp_bind(rt, &u, &addr);                  // e.g. 127.0.0.1:0 (any free port)
 *     WEFT_AWAIT(&f->co, f->n = weft_udp_recv_from(&u, f->buf, sizeof f->buf, &f->from, cx));
 *     WEFT_AWAIT(&f->co, f->r = weft_udp_send_to(&u, f->buf, (size_t)f->n, &f->from, cx));
 *     weft_udp_close(rt, &u);
 *
 * A UDP socket is a weft_io (weft/runtime.h, section 6) like a TCP stream: registered once,
 * read and written by leaf operations that try the system call first and wait only on EAGAIN.
 * Each operation moves exactly one datagram. Datagrams may be lost, duplicated or reordered by
 * the network; nothing here retransmits. One task receives and one sends at a time (one waiter
 * per direction, as for every weft_io).
 */
#ifndef WEFT_UDP_H
#define WEFT_UDP_H

#include <stddef.h>
#include <stdint.h>

#include "weft/addr.h"
#include "weft/runtime.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * weft_udp - a UDP socket. Caller-allocated; a zeroed one is "not open". Like a TCP stream it is
 * a handle: once any copy is closed, every other copy is stale and each call on it returns
 * WEFT_ECLOSED without touching the fd number it still carries.
 */
typedef struct weft_udp {
    weft_io io; /* the registered socket */
} weft_udp;

/*
 * weft_udp_bind - open a UDP socket bound to addr (port 0: the kernel picks one; see
 * weft_udp_local_addr). Returns 0, or -EINVAL (NULL, not IPv4/IPv6), -EADDRINUSE, -errno;
 * nothing is left open on failure. Never suspends.
 */
int weft_udp_bind(weft_runtime *rt, weft_udp *u, const weft_addr *addr);

/*
 * weft_udp_open - open an unbound UDP socket of family AF_INET or AF_INET6 (a client: the
 * kernel binds it to a free port at its first send). Returns 0, -EINVAL or -errno.
 */
int weft_udp_open(weft_runtime *rt, weft_udp *u, int family);

/*
 * weft_udp_connect - set the default peer (connect(2) on a datagram socket: no handshake). After
 * it, weft_udp_send/recv talk to that peer only, and datagrams from others are dropped by the
 * kernel; an ICMP "port unreachable" shows up as -ECONNREFUSED on a later call. rt: the runtime
 * u was opened with. Returns 0, -EINVAL (peer NULL), -errno, or WEFT_ECLOSED if u is not open
 * (zeroed, closed, or a stale copy). Never suspends.
 */
int weft_udp_connect(weft_runtime *rt, weft_udp *u, const weft_addr *peer);

/*
 * weft_udp_local_addr - the address the socket is bound to (getsockname), into *addr. rt: the
 * runtime u was opened with. Returns 0, -errno, or WEFT_ECLOSED if u is not open (zeroed, closed,
 * or a stale copy). Never suspends.
 */
int weft_udp_local_addr(const weft_runtime *rt, const weft_udp *u, weft_addr *addr);

/*
 * weft_udp_send_to_dl - send one datagram of len bytes to `to`. May return WEFT_PENDING (the
 * socket's send buffer is full). Returns len. Fails with -EMSGSIZE (too big for one datagram),
 * -ETIMEDOUT (nothing sent), WEFT_ECLOSED, -errno.
 */
int weft_udp_send_to_dl(weft_udp *u, const void *buf, size_t len, const weft_addr *to,
                        int64_t deadline, weft_cx *cx);

/*
 * weft_udp_recv_from_dl - receive one datagram into buf; its sender's address goes to `from`
 * (may be NULL). May return WEFT_PENDING. Returns the number of bytes stored: the whole datagram
 * (0 for an empty one).
 * Fails with -EMSGSIZE (the datagram was longer than len: its first len bytes are in buf and
 * `from` is set, but the rest is lost with it, and the next call gets the next datagram — size
 * buf for the longest datagram expected; 65507 bytes hold any over IPv4), -ETIMEDOUT (nothing
 * received), -ECONNREFUSED (connected socket, see weft_udp_connect), WEFT_ECLOSED, -errno.
 */
int weft_udp_recv_from_dl(weft_udp *u, void *buf, size_t len, weft_addr *from, int64_t deadline,
                          weft_cx *cx);

/* weft_udp_send_dl - send one datagram to the connected peer; as weft_udp_send_to_dl. */
int weft_udp_send_dl(weft_udp *u, const void *buf, size_t len, int64_t deadline, weft_cx *cx);

/* weft_udp_recv_dl - receive one datagram from the connected peer; as weft_udp_recv_from_dl. */
int weft_udp_recv_dl(weft_udp *u, void *buf, size_t len, int64_t deadline, weft_cx *cx);

/* weft_udp_send_to, weft_udp_recv_from, weft_udp_send, weft_udp_recv - weft_udp_send_to_dl,
 * weft_udp_recv_from_dl, weft_udp_send_dl and weft_udp_recv_dl with no deadline
 * (WEFT_NO_DEADLINE): the same parameters, results, errors, and suspensions. */
static inline int weft_udp_send_to(weft_udp *u, const void *buf, size_t len, const weft_addr *to,
                                   weft_cx *cx)
{
    return weft_udp_send_to_dl(u, buf, len, to, WEFT_NO_DEADLINE, cx);
}
static inline int weft_udp_recv_from(weft_udp *u, void *buf, size_t len, weft_addr *from,
                                     weft_cx *cx)
{
    return weft_udp_recv_from_dl(u, buf, len, from, WEFT_NO_DEADLINE, cx);
}
static inline int weft_udp_send(weft_udp *u, const void *buf, size_t len, weft_cx *cx)
{
    return weft_udp_send_dl(u, buf, len, WEFT_NO_DEADLINE, cx);
}
static inline int weft_udp_recv(weft_udp *u, void *buf, size_t len, weft_cx *cx)
{
    return weft_udp_recv_dl(u, buf, len, WEFT_NO_DEADLINE, cx);
}

/*
 * weft_udp_close - close the socket; tasks waiting on it see WEFT_ECLOSED. Returns 0, or
 * WEFT_ECLOSED if u was not open (zeroed, closed, or a stale copy: nothing is closed). Never
 * suspends.
 */
int weft_udp_close(weft_runtime *rt, weft_udp *u);

#ifdef __cplusplus
}
#endif

#endif /* WEFT_UDP_H */
