/*
 * UDP on the runtime. Each operation is one system call wrapped in the leaf-operation shape of
 * weft/runtime.h section 7; the four send/receive variants share two helpers that differ only in
 * whether an address is passed.
 */
#define _GNU_SOURCE
#include "weft/udp.h"

#include "runtime/io_leaf.h" /* weft__io_live_fd, weft__io_sock_addr */

#include <errno.h>
#include <limits.h>
#include <sys/socket.h>
#include <unistd.h>

/* A datagram's length as the int result; larger ones cannot be sent anyway. */
static size_t clamp(size_t len)
{
    return len > INT_MAX ? INT_MAX : len;
}

static int udp_socket(weft_runtime *rt, weft_udp *u, int family, const weft_addr *bind_to)
{
    u->io = (weft_io){0, 0, -1};
    if (family != AF_INET && family != AF_INET6) return -EINVAL;
    int fd = socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return -errno;
    int r = 0;
    if (bind_to != NULL && bind(fd, (const struct sockaddr *)&bind_to->ss, bind_to->len) < 0)
        r = -errno;
    if (r == 0) r = weft_io_open(rt, &u->io, fd);
    if (r < 0) {
        close(fd);
        u->io = (weft_io){0, 0, -1};
    }
    return r;
}

int weft_udp_bind(weft_runtime *rt, weft_udp *u, const weft_addr *addr)
{
    if (addr == NULL) return -EINVAL;
    return udp_socket(rt, u, addr->ss.ss_family, addr);
}

int weft_udp_open(weft_runtime *rt, weft_udp *u, int family)
{
    return udp_socket(rt, u, family, NULL);
}

/* These two go through the record, not u->io.fd: a stale copy's fd may be another socket's now
 * (weft__io_live_fd, weft__io_sock_addr). */
int weft_udp_connect(weft_runtime *rt, weft_udp *u, const weft_addr *peer)
{
    int fd = weft__io_live_fd(rt, &u->io);
    if (fd < 0) return fd;
    if (peer == NULL) return -EINVAL;
    if (connect(fd, (const struct sockaddr *)&peer->ss, peer->len) < 0) return -errno;
    return 0;
}

int weft_udp_local_addr(const weft_runtime *rt, const weft_udp *u, weft_addr *addr)
{
    return weft__io_sock_addr(rt, &u->io, false, addr);
}

/* One datagram out; to == NULL uses the connected peer. */
static int udp_send(weft_udp *u, const void *buf, size_t len, const weft_addr *to, int64_t deadline,
                    weft_cx *cx)
{
    int r = weft_io_ready(&u->io, WEFT_IO_WRITE, deadline, cx);
    if (r != 0) return r;
    len = clamp(len);
    for (;;) {
        ssize_t n = to != NULL ? sendto(u->io.fd, buf, len, MSG_NOSIGNAL,
                                        (const struct sockaddr *)&to->ss, to->len)
                               : send(u->io.fd, buf, len, MSG_NOSIGNAL);
        if (n >= 0) return (int)n;
        if (errno == EINTR) continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK) return -errno;
        return weft_io_wait(&u->io, WEFT_IO_WRITE, deadline, cx);
    }
}

/*
 * One datagram in; from == NULL does not ask for the sender. MSG_TRUNC makes recvfrom return the
 * datagram's real length, so a datagram longer than buf is reported (-EMSGSIZE), never passed
 * off as a whole one of len bytes.
 */
static int udp_recv(weft_udp *u, void *buf, size_t len, weft_addr *from, int64_t deadline,
                    weft_cx *cx)
{
    int r = weft_io_ready(&u->io, WEFT_IO_READ, deadline, cx);
    if (r != 0) return r;
    len = clamp(len);
    for (;;) {
        struct sockaddr_storage ss;
        socklen_t sslen = sizeof ss;
        ssize_t n = recvfrom(u->io.fd, buf, len, MSG_TRUNC, (struct sockaddr *)&ss, &sslen);
        if (n >= 0) {
            if (from != NULL) weft_addr_from_sockaddr(from, (const struct sockaddr *)&ss, sslen);
            return (size_t)n > len ? -EMSGSIZE : (int)n;
        }
        if (errno == EINTR) continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK) return -errno;
        return weft_io_wait(&u->io, WEFT_IO_READ, deadline, cx);
    }
}

int weft_udp_send_to_dl(weft_udp *u, const void *buf, size_t len, const weft_addr *to,
                        int64_t deadline, weft_cx *cx)
{
    if (to == NULL) return -EINVAL;
    return udp_send(u, buf, len, to, deadline, cx);
}

int weft_udp_recv_from_dl(weft_udp *u, void *buf, size_t len, weft_addr *from, int64_t deadline,
                          weft_cx *cx)
{
    return udp_recv(u, buf, len, from, deadline, cx);
}

int weft_udp_send_dl(weft_udp *u, const void *buf, size_t len, int64_t deadline, weft_cx *cx)
{
    return udp_send(u, buf, len, NULL, deadline, cx);
}

int weft_udp_recv_dl(weft_udp *u, void *buf, size_t len, int64_t deadline, weft_cx *cx)
{
    return udp_recv(u, buf, len, NULL, deadline, cx);
}

int weft_udp_close(weft_runtime *rt, weft_udp *u)
{
    return weft_io_close(rt, &u->io); /* WEFT_ECLOSED for a zeroed, closed or stale socket */
}
