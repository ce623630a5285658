/*
 * TCP streams and listeners over the runtime's I/O resources.
 *
 * Every operation here is one of the two shapes described in weft/runtime.h, section 7:
 *
 *   - a leaf operation (read, write, writev, accept): ask weft_io_ready whether to try, make the
 *     system call, and on EAGAIN park with weft_io_wait. No state between polls.
 *   - a multi-step operation (connect, read_exact, write_all, read_until): a small coroutine whose
 *     frame the caller embeds, each step a leaf operation.
 *
 * Nothing here knows about epoll. Per socket, the system calls beyond the data transfers are its
 * creation (socket + connect + one getsockopt after the handshake, or one accept4), a single
 * epoll_ctl inside weft_io_open, and close. Host names are the one thing that cannot be done
 * without blocking: connect_host hands them to the blocking pool's resolver first.
 */
#define _GNU_SOURCE /* accept4 */
#include "weft/tcp.h"

#include "runtime/io_leaf.h" /* the leaf protocol with one record lookup per attempt */

#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* A stream or listener that is not open: generation 0 is never a live I/O record. */
static void io_clear(weft_io *io)
{
    io->slot = 0;
    io->gen = 0;
    io->fd = -1;
}

/* Byte counts are returned as int: never ask the kernel for more than fits. */
static size_t clamp_len(size_t len)
{
    return len > INT_MAX ? INT_MAX : len;
}

/*
 * The end of every leaf attempt on `rec`: n >= 0 bytes become the result; EAGAIN parks the task
 * as dir's waiter; any other error is returned as -errno.
 * A stream transfer that moved fewer bytes than `want` emptied the receive buffer (read) or filled
 * the send buffer (write): the next attempt would only get EAGAIN, so the readiness bit is cleared
 * here and the next attempt waits for the next event instead. That saves one system call per
 * request/response exchange. want == 0 (accept) never counts as short. (This is what the public
 * weft_io_drained does, without its second lookup of the record.)
 */
static int attempt_result(struct weft__io *rec, weft_io_dir dir, ssize_t n, size_t want,
                          int64_t deadline, weft_cx *cx)
{
    if (n > 0 && (size_t)n < want) weft__io_drained_at(rec, dir);
    return weft__io_result_at(rec, dir, n, deadline, cx);
}

static bool family_ok(const weft_addr *addr)
{
    return addr && (addr->ss.ss_family == AF_INET || addr->ss.ss_family == AF_INET6);
}

/* A new non-blocking, close-on-exec TCP socket for addr's family. Returns the fd or -errno. */
static int tcp_socket(const weft_addr *addr)
{
    int fd = socket(addr->ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_TCP);
    return fd < 0 ? -errno : fd;
}

/* ============================================================================================
 * Listening and accepting
 * ========================================================================================== */

/* socket + SO_REUSEADDR + bind + listen. Returns the listening fd, or -errno with nothing open. */
static int listen_socket(const weft_addr *addr, int backlog)
{
    int fd = tcp_socket(addr);
    if (fd < 0) return fd;
    int one = 1;
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0 ||
        bind(fd, (const struct sockaddr *)&addr->ss, addr->len) < 0 || listen(fd, backlog) < 0) {
        int err = -errno;
        close(fd);
        return err;
    }
    return fd;
}

int weft_tcp_listen(weft_runtime *rt, weft_tcp_listener *l, const weft_addr *addr, int backlog)
{
    if (!rt || !l || !family_ok(addr)) return -EINVAL;
    memset(l, 0, sizeof *l);
    io_clear(&l->io);
    int fd = listen_socket(addr, backlog);
    if (fd < 0) return fd;
    int r = weft_io_open(rt, &l->io, fd);
    if (r < 0) {
        close(fd);
        io_clear(&l->io);
    }
    return r;
}

int weft__io_sock_addr(const weft_runtime *rt, const weft_io *io, bool peer, weft_addr *addr)
{
    int fd = weft__io_live_fd(rt, io);
    if (fd < 0) return fd;
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    int r = peer ? getpeername(fd, (struct sockaddr *)&ss, &len)
                 : getsockname(fd, (struct sockaddr *)&ss, &len);
    if (r < 0) return -errno;
    return weft_addr_from_sockaddr(addr, (struct sockaddr *)&ss, len);
}

int weft_tcp_listener_addr(const weft_runtime *rt, const weft_tcp_listener *l, weft_addr *addr)
{
    return weft__io_sock_addr(rt, &l->io, false, addr);
}

int weft_tcp_listener_close(weft_runtime *rt, weft_tcp_listener *l)
{
    /* A stale copy must not wake the task backing off on the listener that is open now. */
    if (weft__io_lookup(rt, &l->io) == NULL) return WEFT_ECLOSED;
    /* A task backing off is not parked on the fd, so weft_io_close would not wake it. */
    l->backoff_until = 0;
    weft_waker_wake(rt, l->backoff_task);
    l->backoff_task = WEFT_WAKER_NONE;
    return weft_io_close(rt, &l->io);
}

/*
 * While a listener backs off after running out of fds, accept4 is not called at all: the task
 * sleeps on its timer, or until the listener is closed. It does not park on the fd: that would
 * clear its readiness, and connections already waiting in the backlog raise no new event, so the
 * first attempt after the backoff must go straight to accept4. Returns 0 when accepting may go on,
 * WEFT_PENDING while backing off, -ETIMEDOUT if the caller's deadline comes first.
 */
static int accept_backoff(weft_tcp_listener *l, int64_t deadline, weft_cx *cx)
{
    if (l->backoff_until == 0) return 0;
    int64_t now = weft_cx_now(cx); /* lags the clock: never ends a wait early */
    if (now >= l->backoff_until) {
        l->backoff_until = 0;
        return 0;
    }
    if (now >= deadline) return -ETIMEDOUT;
    weft_cx_want_deadline(cx, l->backoff_until < deadline ? l->backoff_until : deadline);
    l->backoff_task = weft_cx_waker(cx);
    return WEFT_PENDING;
}

/* Errors of accept4 that say "no fd or memory for the new socket right now". */
static bool out_of_fds(int err)
{
    return err == EMFILE || err == ENFILE || err == ENOBUFS || err == ENOMEM;
}

/* Takes an accepted fd into the runtime as `out`. Returns 0, or -errno with the fd closed. */
static int adopt_accepted(weft_runtime *rt, weft_tcp_stream *out, weft_addr *peer, int fd,
                          const struct sockaddr_storage *ss, socklen_t len)
{
    int r = weft_io_open(rt, &out->io, fd);
    if (r < 0) {
        close(fd);
        io_clear(&out->io);
        return r;
    }
    if (peer && weft_addr_from_sockaddr(peer, (const struct sockaddr *)ss, len) < 0)
        memset(peer, 0, sizeof *peer); /* not IPv4/IPv6: cannot happen on a TCP listener */
    return 0;
}

int weft_tcp_accept_dl(weft_tcp_listener *l, weft_tcp_stream *out, weft_addr *peer,
                       int64_t deadline, weft_cx *cx)
{
    for (;;) { /* bounded: every pass spends budget in weft_io_ready */
        int r = accept_backoff(l, deadline, cx);
        if (r != 0) return r;
        r = weft_io_ready(&l->io, WEFT_IO_READ, deadline, cx);
        if (r != 0) return r;
        struct sockaddr_storage ss;
        socklen_t len = sizeof ss;
        l->accept_calls++;
        int fd =
            accept4(weft_io_fd(&l->io), (struct sockaddr *)&ss, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd >= 0) return adopt_accepted(cx->rt, out, peer, fd, &ss, len);
        if (errno == EINTR || errno == ECONNABORTED) continue;
        if (out_of_fds(errno)) {
            l->fd_exhausted++;
            l->backoff_until = weft_time_now() + WEFT_TCP_ACCEPT_BACKOFF;
            continue;
        }
        return attempt_result(weft__io_lookup(cx->rt, &l->io), WEFT_IO_READ, -1, 0, deadline,
                              cx); /* -1: see errno */
    }
}

/* ============================================================================================
 * Connecting
 * ========================================================================================== */

/*
 * socket + connect, then registration. Registering only after connect() has started the
 * handshake matters: a socket in SYN_SENT reports no readiness, so the first writable event the
 * registration can deliver means the handshake is over (connected, or failed with SO_ERROR set).
 * Returns 0 if connected at once, 1 if the handshake is under way, or -errno with s not open.
 */
static int connect_start(weft_runtime *rt, weft_tcp_stream *s, const weft_addr *addr)
{
    io_clear(&s->io);
    if (!family_ok(addr)) return -EINVAL;
    int fd = tcp_socket(addr);
    if (fd < 0) return fd;
    int r = 0;
    if (connect(fd, (const struct sockaddr *)&addr->ss, addr->len) < 0)
        r = (errno == EINPROGRESS || errno == EINTR) ? 1 : -errno; /* EINTR: it goes on anyway */
    if (r >= 0) {
        int err = weft_io_open(rt, &s->io, fd);
        if (err < 0) r = err;
    }
    if (r < 0) {
        close(fd);
        io_clear(&s->io);
    }
    return r;
}

/* After the handshake: its outcome, read once from SO_ERROR. Returns 0 or -errno. */
static int connect_outcome(const weft_tcp_stream *s)
{
    int err = 0;
    socklen_t len = sizeof err;
    if (getsockopt(weft_io_fd(&s->io), SOL_SOCKET, SO_ERROR, &err, &len) < 0) return -errno;
    return -err;
}

/* A failed connect closes its socket, so the caller is never left with a half-open stream. */
static int connect_fail(weft_runtime *rt, weft_tcp_stream *s, int err)
{
    weft_io_close(rt, &s->io);
    return err;
}

int weft_tcp_connect_dl(weft_tcp_connect_op *op, weft_tcp_stream *s, const weft_addr *addr,
                        int64_t deadline, weft_cx *cx)
{
    int r;
    WEFT_BEGIN(&op->co);
    r = connect_start(cx->rt, s, addr);
    if (r <= 0) WEFT_RETURN(&op->co, r);
    /* EINPROGRESS is connect's EAGAIN: wait for the handshake to end. Nothing can be read before
     * it ends either, and the registration reports the first byte that arrives: a first read that
     * trusted the "ready" weft_io_open assumes would get EAGAIN whenever it runs before the
     * response is back (bench/weft_client at C=1000: on two new connections in three). */
    weft_io_drained(&s->io, WEFT_IO_READ, cx);
    r = weft_io_wait(&s->io, WEFT_IO_WRITE, deadline, cx);
    if (r != WEFT_PENDING) WEFT_RETURN(&op->co, connect_fail(cx->rt, s, r));
    WEFT_YIELD(&op->co);
    WEFT_AWAIT(&op->co, r = weft_io_ready(&s->io, WEFT_IO_WRITE, deadline, cx));
    if (r == 0) r = connect_outcome(s);
    WEFT_RETURN(&op->co, r < 0 ? connect_fail(cx->rt, s, r) : 0);
    WEFT_ON_CANCEL(&op->co);
    weft_tcp_close(cx->rt, s);
    WEFT_END(&op->co, 0);
}

/* ============================================================================================
 * Connecting by name
 * ========================================================================================== */

/*
 * The addresses to try for hostport, when they are known without a resolver: a numeric address
 * is parsed into op->addrs[0] (returns 1, the count); a host name returns WEFT_EADDR_NAME (the
 * caller resolves it); anything else fails (WEFT_EADDR, -EINVAL).
 */
static int host_numeric(weft_tcp_connect_host_op *op, const char *hostport)
{
    if (!hostport) return -EINVAL;
    int r = weft_addr_parse(&op->addrs[0], hostport);
    return r == 0 ? 1 : r;
}

/*
 * Whether a failed connect to one address is worth trying the next: not when the deadline is
 * what ended it (the next one would have no time either), nor when the process is out of fds
 * or memory (the next one would fail the same way).
 */
static bool try_next_address(int err)
{
    return err != -ETIMEDOUT && err != -EMFILE && err != -ENFILE && err != -ENOMEM &&
           err != -ENOBUFS;
}

/*
 * Three states: resolve (only for a name; the job belongs to the blocking pool, so abandoning
 * it is safe), then connect to each address in turn. The stream is "not open" between
 * attempts: weft_tcp_connect_dl closes a failed socket before it returns.
 */
int weft_tcp_connect_host_dl(weft_tcp_connect_host_op *op, weft_tcp_stream *s, const char *hostport,
                             int64_t deadline, weft_cx *cx)
{
    int r;
    WEFT_BEGIN(&op->co);
    io_clear(&s->io);
    op->naddrs = host_numeric(op, hostport);
    if (op->naddrs == WEFT_EADDR_NAME) {
        op->job = (weft_blocking){{0, 0}};
        WEFT_AWAIT(&op->co, op->naddrs = weft_resolve_dl(&op->job, hostport, op->addrs,
                                                         WEFT_TCP_CONNECT_ADDRS, deadline, cx));
    }
    if (op->naddrs < 0) WEFT_RETURN(&op->co, op->naddrs);
    for (op->next = 0; op->next < op->naddrs; op->next++) {
        WEFT_AWAIT_CHILD(&op->co, &op->conn.co, r,
                         weft_tcp_connect_dl(&op->conn, s, &op->addrs[op->next], deadline, cx));
        if (r == 0) WEFT_RETURN(&op->co, 0);
        if (op->next == 0) op->first_err = r;
        if (!try_next_address(r)) WEFT_RETURN(&op->co, r);
    }
    WEFT_RETURN(&op->co, op->first_err);
    WEFT_ON_CANCEL(&op->co);
    weft_tcp_close(cx->rt, s);
    WEFT_END(&op->co, 0);
}

/* ============================================================================================
 * Streams: opening, closing, options
 * ========================================================================================== */

int weft_tcp_stream_open(weft_runtime *rt, weft_tcp_stream *s, int fd)
{
    int r = weft_io_open(rt, &s->io, fd);
    if (r < 0) io_clear(&s->io);
    return r;
}

int weft_tcp_close(weft_runtime *rt, weft_tcp_stream *s)
{
    return weft_io_close(rt, &s->io); /* WEFT_ECLOSED for a zeroed, closed or stale stream */
}

/*
 * The calls below make one system call on the fd. They go through the record (weft__io_live_fd)
 * rather than the handle's own fd: a copy of a stream whose original was closed still carries
 * the fd number, and by now that number may be another connection's.
 */
int weft_tcp_shutdown(weft_runtime *rt, weft_tcp_stream *s, int how)
{
    int fd = weft__io_live_fd(rt, &s->io);
    if (fd < 0) return fd;
    return shutdown(fd, how) < 0 ? -errno : 0;
}

int weft_tcp_set_nodelay(weft_runtime *rt, weft_tcp_stream *s, bool on)
{
    int fd = weft__io_live_fd(rt, &s->io);
    if (fd < 0) return fd;
    int v = on;
    return setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &v, sizeof v) < 0 ? -errno : 0;
}

int weft_tcp_peer_addr(const weft_runtime *rt, const weft_tcp_stream *s, weft_addr *addr)
{
    return weft__io_sock_addr(rt, &s->io, true, addr);
}

int weft_tcp_local_addr(const weft_runtime *rt, const weft_tcp_stream *s, weft_addr *addr)
{
    return weft__io_sock_addr(rt, &s->io, false, addr);
}

/* ============================================================================================
 * Leaf reads and writes
 * ========================================================================================== */

/*
 * The stream transfers look their I/O record up once, for weft__io_ready_at before the system
 * call and weft__io_result_at after it (src/runtime/io_leaf.h). These are the calls every request
 * and response goes through.
 */
int weft_tcp_read_dl(weft_tcp_stream *s, void *buf, size_t len, int64_t deadline, weft_cx *cx)
{
    if (len == 0) return 0;
    struct weft__io *rec = weft__io_lookup(cx->rt, &s->io);
    int r = weft__io_ready_at(rec, WEFT_IO_READ, deadline, cx);
    if (r != 0) return r;
    len = clamp_len(len);
    ssize_t n;
    do
        n = recv(weft_io_fd(&s->io), buf, len, 0);
    while (n < 0 && errno == EINTR);
    return attempt_result(rec, WEFT_IO_READ, n, len, deadline, cx);
}

int weft_tcp_write_dl(weft_tcp_stream *s, const void *buf, size_t len, int64_t deadline,
                      weft_cx *cx)
{
    if (len == 0) return 0;
    struct weft__io *rec = weft__io_lookup(cx->rt, &s->io);
    int r = weft__io_ready_at(rec, WEFT_IO_WRITE, deadline, cx);
    if (r != 0) return r;
    len = clamp_len(len);
    ssize_t n;
    do /* MSG_NOSIGNAL: a closed peer is -EPIPE, not a SIGPIPE that kills the process */
        n = send(weft_io_fd(&s->io), buf, len, MSG_NOSIGNAL);
    while (n < 0 && errno == EINTR);
    return attempt_result(rec, WEFT_IO_WRITE, n, len, deadline, cx);
}

/* Bytes asked for by a gather write; 0 (never "short") if it exceeds what one call can move. */
static size_t iov_total(const struct iovec *iov, int iovcnt)
{
    size_t total = 0;
    for (int i = 0; i < iovcnt; i++) {
        if (iov[i].iov_len > INT_MAX - total) return 0;
        total += iov[i].iov_len;
    }
    return total;
}

int weft_tcp_writev_dl(weft_tcp_stream *s, const struct iovec *iov, int iovcnt, int64_t deadline,
                       weft_cx *cx)
{
    if (iovcnt < 0 || iovcnt > IOV_MAX) return -EINVAL;
    if (iovcnt == 0) return 0;
    struct weft__io *rec = weft__io_lookup(cx->rt, &s->io);
    int r = weft__io_ready_at(rec, WEFT_IO_WRITE, deadline, cx);
    if (r != 0) return r;
    struct msghdr msg;
    memset(&msg, 0, sizeof msg);
    msg.msg_iov = (struct iovec *)iov; /* sendmsg does not write through it */
    msg.msg_iovlen = (size_t)iovcnt;
    ssize_t n;
    do /* the kernel caps one call below INT_MAX bytes, so n fits the int result */
        n = sendmsg(weft_io_fd(&s->io), &msg, MSG_NOSIGNAL);
    while (n < 0 && errno == EINTR);
    return attempt_result(rec, WEFT_IO_WRITE, n, iov_total(iov, iovcnt), deadline, cx);
}

/* ============================================================================================
 * read_exact and write_all
 * ========================================================================================== */

int weft_tcp_read_exact_dl(weft_tcp_xfer *op, weft_tcp_stream *s, void *buf, size_t len,
                           int64_t deadline, weft_cx *cx)
{
    int n;
    WEFT_BEGIN(&op->co);
    for (op->done = 0; op->done < len; op->done += (size_t)n) {
        WEFT_AWAIT(&op->co,
                   n = weft_tcp_read_dl(s, (char *)buf + op->done, len - op->done, deadline, cx));
        if (n == 0) WEFT_RETURN(&op->co, WEFT_EEOF);
        if (n < 0) WEFT_RETURN(&op->co, n);
    }
    WEFT_END(&op->co, 0);
}

int weft_tcp_write_all_dl(weft_tcp_xfer *op, weft_tcp_stream *s, const void *buf, size_t len,
                          int64_t deadline, weft_cx *cx)
{
    int n;
    WEFT_BEGIN(&op->co);
    for (op->done = 0; op->done < len; op->done += (size_t)n) {
        WEFT_AWAIT(&op->co, n = weft_tcp_write_dl(s, (const char *)buf + op->done, len - op->done,
                                                  deadline, cx));
        if (n < 0) WEFT_RETURN(&op->co, n);
    }
    WEFT_END(&op->co, 0);
}

/* ============================================================================================
 * read_until
 * ========================================================================================== */

void weft_tcp_reader_init(weft_tcp_reader *r, void *buf, size_t cap)
{
    memset(r, 0, sizeof *r);
    r->data = buf;
    r->cap = clamp_len(cap);
}

/* Forgets the message the last read_until returned, moving what followed it to the front. */
static void reader_drop_taken(weft_tcp_reader *r)
{
    if (r->taken == 0) return;
    memmove(r->data, r->data + r->taken, r->len - r->taken);
    r->len -= r->taken;
    r->taken = 0;
    r->scanned = 0;
}

/*
 * Looks for delim in the buffered bytes, skipping those already searched. Returns the length of
 * the message up to and including the delimiter, or 0 if it is not there yet (then remembers how
 * far the search got: a delimiter split across reads is still found, because the last
 * delim_len - 1 bytes are searched again).
 */
static size_t reader_find(weft_tcp_reader *r, const char *delim, size_t delim_len)
{
    if (r->len < delim_len) return 0;
    size_t last = r->len - delim_len; /* last position a delimiter can start at */
    for (size_t i = r->scanned; i <= last; i++) {
        const char *p = memchr(r->data + i, delim[0], last - i + 1);
        if (!p) break;
        i = (size_t)(p - r->data);
        if (memcmp(p, delim, delim_len) == 0) return i + delim_len;
    }
    r->scanned = last + 1;
    return 0;
}

/* One read into the reader's free space. A function of its own so that the await that calls it
 * fits on one line: a suspension site's line is then the same under every compiler (see coro.h,
 * "Where a coroutine waits"). */
static int reader_fill(weft_tcp_reader *r, weft_tcp_stream *s, int64_t deadline, weft_cx *cx)
{
    return weft_tcp_read_dl(s, r->data + r->len, r->cap - r->len, deadline, cx);
}

int weft_tcp_read_until_dl(weft_tcp_reader *r, weft_tcp_stream *s, const char *delim,
                           size_t delim_len, int64_t deadline, weft_cx *cx)
{
    int n;
    WEFT_BEGIN(&r->co);
    if (!delim || delim_len == 0 || delim_len > 255) WEFT_RETURN(&r->co, -EINVAL);
    reader_drop_taken(r);
    for (;;) {
        r->taken = reader_find(r, delim, delim_len);
        if (r->taken > 0) WEFT_RETURN(&r->co, (int)r->taken);
        if (r->len == r->cap) WEFT_RETURN(&r->co, -EMSGSIZE);
        WEFT_AWAIT(&r->co, n = reader_fill(r, s, deadline, cx));
        if (n == 0) WEFT_RETURN(&r->co, r->len > 0 ? WEFT_EEOF : 0);
        if (n < 0) WEFT_RETURN(&r->co, n);
        r->len += (size_t)n;
    }
    WEFT_END(&r->co, 0);
}

size_t weft_tcp_reader_take(weft_tcp_reader *r, void *dst, size_t max)
{
    reader_drop_taken(r);
    size_t n = max < r->len ? max : r->len;
    if (dst && n > 0) memcpy(dst, r->data, n);
    memmove(r->data, r->data + n, r->len - n);
    r->len -= n;
    r->scanned = 0;
    return n;
}
