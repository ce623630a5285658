/*
 * weft/tcp.h — TCP streams and listeners on the runtime, IPv4 and IPv6.
 *
 * Every socket here is a weft_io (weft/runtime.h, section 6): created non-blocking and
 * close-on-exec, registered with epoll ONCE when it is opened (readable and writable,
 * edge-triggered), closed with one close(2). An operation first tries its system call and suspends
 * only when the kernel says EAGAIN; a read or write that moved fewer bytes than asked tells the
 * runtime the socket buffer is drained, so the next one waits for the event instead of paying for
 * an EAGAIN. A request/response exchange then costs one read, one write and one epoll_wait — what
 * a careful hand-written epoll loop pays.
 *
 *     struct echo { weft_co co; weft_tcp_stream s; char buf[512]; int n; weft_tcp_xfer wr; };
 *
 *     WEFT_BEGIN(&f->co);
 *     for (;;) {
 *         WEFT_AWAIT(&f->co, f->n = weft_tcp_read(&f->s, f->buf, sizeof f->buf, cx));
 *         if (f->n <= 0) break;                                   // 0: the peer closed
 *         WEFT_AWAIT_CHILD(&f->co, &f->wr.co, f->n,
 *                          weft_tcp_write_all(&f->wr, &f->s, f->buf, (size_t)f->n, cx));
 *         if (f->n < 0) break;
 *     }
 *     weft_tcp_close(cx->rt, &f->s);
 *     WEFT_ON_CANCEL(&f->co);
 *     weft_tcp_close(cx->rt, &f->s);
 *     WEFT_END(&f->co, 0);
 *
 * THREE KINDS OF FUNCTION.
 *   - Plain calls (listen, close, shutdown, addresses, options) take the runtime first where they
 *     need it and never suspend.
 *   - Leaf operations (read, write, writev, accept) keep no state between polls: await them
 *     directly with WEFT_AWAIT.
 *   - Multi-step operations (connect, read_exact, write_all, read_until) carry progress across
 *     polls in a small frame the caller embeds in its own frame (weft_tcp_connect_op,
 *     weft_tcp_xfer, weft_tcp_reader); await them with WEFT_AWAIT_CHILD, which resets the frame's
 *     weft_co so one frame serves call after call. Nothing is allocated per operation.
 *
 * DEADLINES. Each operation that may suspend has a _dl form taking an absolute deadline
 * (CLOCK_MONOTONIC ns: weft_deadline_in(WEFT_MSEC(500)), or WEFT_NO_DEADLINE); the short form
 * waits forever. A deadline bounds waiting, never an attempt on a ready socket: once it has
 * passed, an operation that would have to wait fails with -ETIMEDOUT, never earlier. "Ready"
 * means the runtime last saw the socket ready: one whose readiness an event reported, and no
 * EAGAIN (or short transfer) has consumed since, is tried even after its deadline. One whose last
 * attempt said EAGAIN is not tried again until an event says it is ready, and the runtime
 * collects events only when the loop parks: a call whose deadline has passed fails with
 * -ETIMEDOUT without a system call even if data has arrived since the loop last parked. Nothing
 * is lost: the data waits for the next read. What a timeout leaves behind:
 *   - read, write, writev, accept, read_until: nothing was transferred by the failing attempt and
 *     the socket stays usable (read_until keeps what it had buffered).
 *   - read_exact, write_all: op->done bytes were transferred before the timeout; the stream is
 *     still open but is now somewhere in the middle of a message — close it unless the protocol
 *     can resynchronise.
 *   - connect: the half-open socket is closed.
 * Compute a deadline once and keep it in the frame. Writing weft_deadline_in(...) inside the
 * WEFT_AWAIT expression computes a new, later deadline on every poll, so it never arrives.
 *
 * ERRORS. -errno as the kernel reports it (-ECONNREFUSED, -ECONNRESET, -EPIPE, -ETIMEDOUT, ...),
 * or: WEFT_ECLOSED (the stream was closed, possibly by another task, while waiting), WEFT_EEOF
 * (the peer closed in the middle of a read_exact or read_until), -EINVAL (an address that is
 * not IPv4 or IPv6, NULL arguments).
 *
 * SIGPIPE. Writing to a connection the peer has closed fails with -EPIPE; it never raises SIGPIPE
 * (every write is a send/sendmsg with MSG_NOSIGNAL). No signal disposition is changed.
 *
 * ONE WAITER PER DIRECTION. One task may read a stream while another writes it. Two tasks reading
 * the same stream at once (or two accepting on one listener) is not supported: the second waiter
 * replaces the first, which then waits until its deadline.
 *
 * CANCELLATION. Cancelling a task blocked in any of these operations is safe: the runtime drops
 * the wait and its timer. Sockets are the caller's to close — put weft_tcp_close in the task's
 * WEFT_ON_CANCEL block. A connect in progress owns the socket it is opening: cancel the child
 * (WEFT_CANCEL_CHILD) or simply weft_tcp_close() the stream; either closes it, and doing both is
 * harmless.
 */
#ifndef WEFT_TCP_H
#define WEFT_TCP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "weft/addr.h"
#include "weft/blocking.h"
#include "weft/coro.h"
#include "weft/runtime.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ============================================================================================
 * 1. Objects
 * ========================================================================================== */

/*
 * weft_tcp_stream - one TCP connection. Owned by the caller (usually embedded in a task's frame).
 * A zeroed stream is "not open": weft_tcp_close on it does nothing. It becomes open through
 * weft_tcp_connect, weft_tcp_accept or weft_tcp_stream_open, and must then be closed with
 * weft_tcp_close (weft_runtime_close closes streams left open, and reports -EBUSY).
 * A stream is a handle and may be copied by value (to hand a connection to another task, say);
 * the copies name the same socket. Once any copy is closed, every other copy is stale: each call
 * on it returns WEFT_ECLOSED and touches nothing, even after the fd number has been reused by
 * another connection. (That is why the calls below take the runtime: only its record can say.)
 */
typedef struct weft_tcp_stream {
    weft_io io; /* the registered socket; weft_io_fd(&s->io) is the fd */
} weft_tcp_stream;

/*
 * weft_tcp_listener - a listening socket. Owned by the caller; open with weft_tcp_listen, close
 * with weft_tcp_listener_close. A zeroed listener is "not open".
 */
typedef struct weft_tcp_listener {
    weft_io io;              /* the registered listening socket */
    int64_t backoff_until;   /* after EMFILE & co: no accept4 before this time (0: none) */
    weft_waker backoff_task; /* the task sleeping out that backoff: closing wakes it */
    uint64_t accept_calls;   /* accept4 system calls made so far (monitoring, tests) */
    uint64_t fd_exhausted;   /* how many of them failed for lack of fds or memory */
} weft_tcp_listener;

/*
 * How long a listener stops calling accept4 after it failed with EMFILE, ENFILE, ENOBUFS or
 * ENOMEM. Connections keep waiting in the kernel's backlog meanwhile, and are accepted once fds
 * have been freed.
 */
#define WEFT_TCP_ACCEPT_BACKOFF WEFT_MSEC(50)

/* ============================================================================================
 * 2. Listening and accepting
 * ========================================================================================== */

/*
 * weft_tcp_listen - open a listening socket bound to addr.
 *
 * rt: the runtime the listener is registered with.
 * l: receives the listener (any previous content is overwritten; it must not be open).
 * addr: where to listen; port 0 lets the kernel choose (see weft_tcp_listener_addr). An IPv6
 *       address follows the system's IPV6_V6ONLY default ([::] usually accepts IPv4 too).
 * backlog: passed to listen(2); the kernel caps it at net.core.somaxconn. SOMAXCONN is a good
 *       default.
 * Sets SO_REUSEADDR, so a restarted server can bind while old connections are in TIME_WAIT.
 * Returns 0, or -errno (-EADDRINUSE, -EACCES, -EMFILE, ...) or -EINVAL (NULL arguments,
 * an address that is neither IPv4 nor IPv6) with nothing left open. Never suspends.
 */
int weft_tcp_listen(weft_runtime *rt, weft_tcp_listener *l, const weft_addr *addr, int backlog);

/*
 * weft_tcp_listener_addr - the address the listener is bound to (getsockname), e.g. to learn the
 * port after listening on port 0. rt: the runtime l was opened with.
 * Returns 0, -errno, or WEFT_ECLOSED if l is not open (zeroed, closed, or a stale copy of a
 * closed listener). Never suspends.
 */
int weft_tcp_listener_addr(const weft_runtime *rt, const weft_tcp_listener *l, weft_addr *addr);

/*
 * weft_tcp_accept_dl - take the next incoming connection.
 *
 * l: an open listener. out: receives the new stream (must not be open); on success the caller
 *    owns it and must weft_tcp_close it. peer: if not NULL, receives the client's address.
 * deadline: give up waiting at this absolute time (WEFT_NO_DEADLINE: never).
 * May return WEFT_PENDING. Returns 0 when out is open.
 * Fails with -ETIMEDOUT (listener still usable), WEFT_ECLOSED (the listener was closed), or
 * another -errno from accept4 or from registering the new socket (the new socket is then
 * closed; the listener stays usable).
 *
 * A server accepts in a loop. Three things keep that loop well-behaved:
 *   - Each accept4 spends one unit of the task's per-resume budget (WEFT_RUNTIME_BUDGET), so a
 *     flood of connections is drained at most that many per pass before other tasks run.
 *   - When the process runs out of fds (EMFILE, ENFILE) or the kernel of memory (ENOBUFS,
 *     ENOMEM), accept does not fail and does not spin: it stops calling accept4 for
 *     WEFT_TCP_ACCEPT_BACKOFF, then tries again; clients wait in the backlog meanwhile.
 *   - A connection that was reset before it could be accepted (ECONNABORTED) is skipped.
 */
int weft_tcp_accept_dl(weft_tcp_listener *l, weft_tcp_stream *out, weft_addr *peer,
                       int64_t deadline, weft_cx *cx);

/* weft_tcp_accept - weft_tcp_accept_dl with no deadline. */
static inline int weft_tcp_accept(weft_tcp_listener *l, weft_tcp_stream *out, weft_addr *peer,
                                  weft_cx *cx)
{
    return weft_tcp_accept_dl(l, out, peer, WEFT_NO_DEADLINE, cx);
}

/*
 * weft_tcp_listener_close - close the listening socket. A task waiting in accept is woken and
 * sees WEFT_ECLOSED. Returns 0, or WEFT_ECLOSED if l was not open. Never suspends.
 */
int weft_tcp_listener_close(weft_runtime *rt, weft_tcp_listener *l);

/* ============================================================================================
 * 3. Connecting
 * ========================================================================================== */

/*
 * weft_tcp_connect_op - the frame of one connect in progress. Embed it in the caller's frame;
 * WEFT_AWAIT_CHILD initialises it.
 */
typedef struct weft_tcp_connect_op {
    weft_co co; /* the connect's resume point */
} weft_tcp_connect_op;

/*
 * weft_tcp_connect_dl - open a connection to addr. A child coroutine:
 *
 *     WEFT_AWAIT_CHILD(&f->co, &f->conn.co, f->r,
 *                      weft_tcp_connect_dl(&f->conn, &f->s, &f->addr, f->deadline, cx));
 *
 * op: its frame. s: receives the stream (must not be open); it holds the socket from the first
 *    poll on, so closing s also abandons a connect in progress. addr: an IPv4 or IPv6 address
 *    (from weft_addr_parse). Pass the same op, s, addr and deadline on every poll.
 * May return WEFT_PENDING. Returns 0 when s is connected; the caller then owns s.
 * Fails with -ECONNREFUSED (nobody listening), -ETIMEDOUT (the deadline passed during the
 * handshake), -ENETUNREACH, -EINVAL (addr NULL or not IPv4/IPv6), -EMFILE, ...; s is then
 * closed (not open). Cancelled (WEFT_CANCEL_CHILD), it closes s and returns -ECANCELED.
 *
 * System calls: socket, connect, epoll_ctl(ADD), and after the handshake one getsockopt
 * (SO_ERROR). The socket is registered only after connect() has started the handshake, so its
 * first writable event means "handshake over" and no spurious-readiness check is needed.
 */
int weft_tcp_connect_dl(weft_tcp_connect_op *op, weft_tcp_stream *s, const weft_addr *addr,
                        int64_t deadline, weft_cx *cx);

/* weft_tcp_connect - weft_tcp_connect_dl with no deadline. */
static inline int weft_tcp_connect(weft_tcp_connect_op *op, weft_tcp_stream *s,
                                   const weft_addr *addr, weft_cx *cx)
{
    return weft_tcp_connect_dl(op, s, addr, WEFT_NO_DEADLINE, cx);
}

/*
 * Connecting to a host by name: "localhost:8080", "example.test:80".
 *
 * weft_tcp_connect_host_dl takes the address as text. A numeric one ("127.0.0.1:80",
 * "[::1]:80") is parsed and connected at once, exactly as weft_tcp_connect_dl would: no thread,
 * no allocation. A name is first resolved with weft_resolve_dl on the runtime's blocking pool
 * (weft/blocking.h), so the loop never waits for DNS; then the addresses it resolved to are
 * tried in the order getaddrinfo gave them (the system's preference: RFC 6724) until one
 * connects. "localhost" commonly resolves to both ::1 and 127.0.0.1; a server listening on only
 * one of them is still found.
 */

/* The most resolved addresses weft_tcp_connect_host_dl tries. */
#define WEFT_TCP_CONNECT_ADDRS 4

/*
 * weft_tcp_connect_host_op - the frame of one connect by name in progress: the resolution, the
 * addresses it found and the connect to the one being tried. Embed it in the caller's frame;
 * WEFT_AWAIT_CHILD initialises it. About 600 bytes; the fields are private.
 */
typedef struct weft_tcp_connect_host_op {
    weft_co co;                              /* the operation's resume point */
    weft_tcp_connect_op conn;                /* the connect to addrs[next] */
    weft_blocking job;                       /* the resolution on the blocking pool */
    int naddrs;                              /* addresses in addrs */
    int next;                                /* the one being tried */
    int first_err;                           /* how the first one failed */
    weft_addr addrs[WEFT_TCP_CONNECT_ADDRS]; /* where the host can be reached */
} weft_tcp_connect_host_op;

/*
 * weft_tcp_connect_host_dl - open a connection to hostport, resolving a host name first. A
 * child coroutine:
 *
 *     WEFT_AWAIT_CHILD(&f->co, &f->conn.co, f->r,
 *                      weft_tcp_connect_host_dl(&f->conn, &f->s, "localhost:8080", f->deadline,
 *                                               cx));
 *
 * op: its frame. s: receives the stream (must not be open); it is "not open" while the name is
 *    resolved, then holds each socket being tried, as for weft_tcp_connect_dl.
 * hostport: "HOST:PORT", where HOST is a name, an IPv4 address or an IPv6 address in brackets
 *    (the forms of weft_addr_parse, plus names). Pass the same op, s, hostport and deadline on
 *    every poll (the resolver works on a copy of the string).
 * deadline: bounds the whole operation, resolution and every address tried. An address that
 *    does not answer (a dropped SYN) takes what is left of it: the next one is not tried.
 * May return WEFT_PENDING. Returns 0 when s is connected; the caller then owns s.
 * Fails with:
 *   WEFT_EADDR       hostport is malformed (no port, a port over 65535, an unbracketed IPv6
 *                    address, ...): nothing was resolved or connected;
 *   WEFT_ERESOLVE    the name has no address (no such host);
 *   -EAGAIN          a temporary DNS failure (no answer from the name servers): try later;
 *   -ETIMEDOUT       the deadline passed, while resolving or connecting;
 *   -EINVAL          hostport is NULL, or its host is longer than WEFT_RESOLVE_HOST_MAX;
 *   -ECONNREFUSED, -ENETUNREACH, ...  every address failed: the first address's error;
 *   -ENOMEM, -EMFILE, ...;
 * and s is then not open. Cancelled (WEFT_CANCEL_CHILD), it closes s and returns -ECANCELED;
 * a resolution under way runs on, on the pool, and its result is dropped (the pool owns it, so
 * the frame may be freed at once).
 */
int weft_tcp_connect_host_dl(weft_tcp_connect_host_op *op, weft_tcp_stream *s, const char *hostport,
                             int64_t deadline, weft_cx *cx);

/* weft_tcp_connect_host - weft_tcp_connect_host_dl with no deadline. */
static inline int weft_tcp_connect_host(weft_tcp_connect_host_op *op, weft_tcp_stream *s,
                                        const char *hostport, weft_cx *cx)
{
    return weft_tcp_connect_host_dl(op, s, hostport, WEFT_NO_DEADLINE, cx);
}

/* ============================================================================================
 * 4. Streams: opening, closing, options
 * ========================================================================================== */

/*
 * weft_tcp_stream_open - adopt an fd that is already a connected, non-blocking stream socket
 * (from socketpair(2) with SOCK_NONBLOCK, say; a Unix-domain stream works as well as TCP).
 * On success s owns fd. Returns 0, or -errno from the registration (the fd is then still the
 * caller's). Never suspends.
 */
int weft_tcp_stream_open(weft_runtime *rt, weft_tcp_stream *s, int fd);

/*
 * weft_tcp_close - close the stream: its fd is closed (an unsent tail of data still goes out in
 * the background, as with close(2)), and tasks waiting to read or write it are woken and see
 * WEFT_ECLOSED. Returns 0, or WEFT_ECLOSED if s was not open (a zeroed or already closed stream,
 * or a stale copy: harmless, nothing is closed), or the -errno of close(2) (the fd is gone either
 * way). Never suspends.
 */
int weft_tcp_close(weft_runtime *rt, weft_tcp_stream *s);

/*
 * The four calls below make one system call on the stream's socket and never suspend. rt is the
 * runtime s was opened with: it checks that s still names an open socket. Each fails with
 * WEFT_ECLOSED, touching nothing, if s is not open: zeroed, closed, or a stale copy of a closed
 * stream (whose fd number may belong to another connection by now).
 */

/*
 * weft_tcp_shutdown - shutdown(2): SHUT_WR sends FIN after the data already written (the peer's
 * reads then return 0) while reading stays possible; SHUT_RD, SHUT_RDWR as in the man page.
 * The stream stays open until weft_tcp_close. Returns 0 or -errno (-ENOTCONN), or WEFT_ECLOSED.
 */
int weft_tcp_shutdown(weft_runtime *rt, weft_tcp_stream *s, int how);

/*
 * weft_tcp_set_nodelay - TCP_NODELAY on (true) or off: send small writes at once instead of
 * coalescing them (Nagle). Returns 0, -errno, or WEFT_ECLOSED.
 */
int weft_tcp_set_nodelay(weft_runtime *rt, weft_tcp_stream *s, bool on);

/*
 * weft_tcp_peer_addr / weft_tcp_local_addr - the address of the other end (getpeername) / of this
 * end (getsockname) into *addr. Return 0, -errno (-ENOTCONN), or WEFT_ECLOSED.
 */
int weft_tcp_peer_addr(const weft_runtime *rt, const weft_tcp_stream *s, weft_addr *addr);
int weft_tcp_local_addr(const weft_runtime *rt, const weft_tcp_stream *s, weft_addr *addr);

/* ============================================================================================
 * 5. Reading and writing: leaf operations
 *
 * Lengths above INT_MAX are clamped to INT_MAX so that a byte count always fits the int result.
 * ========================================================================================== */

/*
 * weft_tcp_read_dl - read up to len bytes into buf: whatever has arrived, at least one byte.
 * May return WEFT_PENDING. Returns the number of bytes read (> 0), or 0 at end of stream (the
 * peer shut down or closed its side; len == 0 also returns 0). Fails with -ETIMEDOUT (nothing
 * read, still usable), -ECONNRESET (the peer reset the connection), WEFT_ECLOSED, -errno.
 */
int weft_tcp_read_dl(weft_tcp_stream *s, void *buf, size_t len, int64_t deadline, weft_cx *cx);

/* weft_tcp_read - weft_tcp_read_dl with no deadline. */
static inline int weft_tcp_read(weft_tcp_stream *s, void *buf, size_t len, weft_cx *cx)
{
    return weft_tcp_read_dl(s, buf, len, WEFT_NO_DEADLINE, cx);
}

/*
 * weft_tcp_write_dl - write up to len bytes from buf: as many as the socket buffer takes, at
 * least one (a short write is normal; weft_tcp_write_all loops). May return WEFT_PENDING.
 * Returns the number of bytes written (len == 0 returns 0 at once). Fails with -EPIPE (the
 * connection is shut down for writing, or the peer closed it; never a SIGPIPE), -ECONNRESET,
 * -ETIMEDOUT (nothing written, still usable), WEFT_ECLOSED, -errno.
 */
int weft_tcp_write_dl(weft_tcp_stream *s, const void *buf, size_t len, int64_t deadline,
                      weft_cx *cx);

/* weft_tcp_write - weft_tcp_write_dl with no deadline. */
static inline int weft_tcp_write(weft_tcp_stream *s, const void *buf, size_t len, weft_cx *cx)
{
    return weft_tcp_write_dl(s, buf, len, WEFT_NO_DEADLINE, cx);
}

/*
 * weft_tcp_writev_dl - gather-write iovcnt buffers in one system call (sendmsg), as
 * weft_tcp_write_dl does for one. Returns the total bytes written (possibly fewer than asked:
 * the caller advances its iovecs), or the same errors; -EINVAL if iovcnt is negative or over
 * IOV_MAX.
 */
int weft_tcp_writev_dl(weft_tcp_stream *s, const struct iovec *iov, int iovcnt, int64_t deadline,
                       weft_cx *cx);

/* weft_tcp_writev - weft_tcp_writev_dl with no deadline. */
static inline int weft_tcp_writev(weft_tcp_stream *s, const struct iovec *iov, int iovcnt,
                                  weft_cx *cx)
{
    return weft_tcp_writev_dl(s, iov, iovcnt, WEFT_NO_DEADLINE, cx);
}

/* ============================================================================================
 * 6. Reading and writing exactly: multi-step operations
 * ========================================================================================== */

/*
 * weft_tcp_xfer - the frame of one read_exact or write_all in progress. Embed it in the caller's
 * frame; WEFT_AWAIT_CHILD resets it for each call. After the call returns, `done` says how many
 * bytes were transferred — all of them on success, fewer after an error or a timeout.
 */
typedef struct weft_tcp_xfer {
    weft_co co;  /* the operation's resume point */
    size_t done; /* bytes transferred so far by this call */
} weft_tcp_xfer;

/*
 * weft_tcp_read_exact_dl - read exactly len bytes into buf. A child coroutine:
 *
 *     WEFT_AWAIT_CHILD(&f->co, &f->rx.co, f->r,
 *                      weft_tcp_read_exact(&f->rx, &f->s, f->buf, sizeof f->buf, cx));
 *
 * Pass the same arguments on every poll. May return WEFT_PENDING. Returns 0 once all len bytes
 * are in buf. Fails with WEFT_EEOF if the stream ended first (op->done bytes arrived), or any
 * error of weft_tcp_read_dl; after -ETIMEDOUT, op->done bytes are in buf (see DEADLINES above).
 */
int weft_tcp_read_exact_dl(weft_tcp_xfer *op, weft_tcp_stream *s, void *buf, size_t len,
                           int64_t deadline, weft_cx *cx);

/* weft_tcp_read_exact - weft_tcp_read_exact_dl with no deadline. */
static inline int weft_tcp_read_exact(weft_tcp_xfer *op, weft_tcp_stream *s, void *buf, size_t len,
                                      weft_cx *cx)
{
    return weft_tcp_read_exact_dl(op, s, buf, len, WEFT_NO_DEADLINE, cx);
}

/*
 * weft_tcp_write_all_dl - write all len bytes of buf. A child coroutine, awaited like
 * weft_tcp_read_exact_dl. Returns 0 once every byte was handed to the kernel (not: received by
 * the peer). Fails as weft_tcp_write_dl does; op->done bytes had been written.
 */
int weft_tcp_write_all_dl(weft_tcp_xfer *op, weft_tcp_stream *s, const void *buf, size_t len,
                          int64_t deadline, weft_cx *cx);

/* weft_tcp_write_all - weft_tcp_write_all_dl with no deadline. */
static inline int weft_tcp_write_all(weft_tcp_xfer *op, weft_tcp_stream *s, const void *buf,
                                     size_t len, weft_cx *cx)
{
    return weft_tcp_write_all_dl(op, s, buf, len, WEFT_NO_DEADLINE, cx);
}

/* ============================================================================================
 * 7. Reading up to a delimiter
 *
 * A stream has no message boundaries: a read may return half a line or a line and a half. A
 * weft_tcp_reader keeps what was read beyond the delimiter for the next call, in a buffer the
 * caller provides and whose size bounds the longest accepted message.
 *
 *     char storage[1024];  weft_tcp_reader rd;
 *     weft_tcp_reader_init(&rd, storage, sizeof storage);
 *     WEFT_AWAIT_CHILD(&f->co, &f->rd.co, f->n, weft_tcp_read_until(&f->rd, &f->s, "\n", 1, cx));
 *     // f->n > 0: the line is f->rd.data[0 .. f->n), delimiter included
 * ========================================================================================== */

/*
 * weft_tcp_reader - buffered reader state for weft_tcp_read_until. Owned by the caller; set up
 * with weft_tcp_reader_init. Fields are readable; only `data` .. `data + len` is meaningful.
 */
typedef struct weft_tcp_reader {
    weft_co co;     /* the read_until in progress */
    char *data;     /* the caller's buffer */
    size_t cap;     /* its size: the longest message, delimiter included */
    size_t len;     /* bytes held in data */
    size_t taken;   /* bytes at the front that the last read_until returned; dropped next call */
    size_t scanned; /* bytes at the front already searched for the delimiter */
} weft_tcp_reader;

/*
 * weft_tcp_reader_init - use buf[0 .. cap) as r's buffer (cap is clamped to INT_MAX). The buffer
 * must outlive r's use. Never fails.
 */
void weft_tcp_reader_init(weft_tcp_reader *r, void *buf, size_t cap);

/*
 * weft_tcp_read_until_dl - read until delim has arrived. A child coroutine (await it with
 * WEFT_AWAIT_CHILD on &r->co); pass the same arguments on every poll.
 *
 * r: the reader; the message the previous call returned is dropped first.
 * delim, delim_len: the delimiter, 1 to 255 bytes ("\n", "\r\n\r\n"); it may arrive split
 *    across reads.
 * May return WEFT_PENDING. Returns n > 0: r->data[0 .. n) is the message, delimiter included;
 * bytes after it stay buffered for the next call. Returns 0: end of stream with nothing
 * buffered. Only reads from the socket when the buffer holds no complete message.
 * Fails with:
 *   -EMSGSIZE     the buffer is full and holds no delimiter (r->len == r->cap: the data stays;
 *                 drop it with weft_tcp_reader_take or close the stream);
 *   WEFT_EEOF     the stream ended after a partial message (still in r->data[0 .. r->len));
 *   -EINVAL       delim_len is 0 or over 255, or delim is NULL;
 *   -ETIMEDOUT    buffered data is kept: calling again continues where this one stopped;
 *   any error of weft_tcp_read_dl.
 */
int weft_tcp_read_until_dl(weft_tcp_reader *r, weft_tcp_stream *s, const char *delim,
                           size_t delim_len, int64_t deadline, weft_cx *cx);

/* weft_tcp_read_until - weft_tcp_read_until_dl with no deadline. */
static inline int weft_tcp_read_until(weft_tcp_reader *r, weft_tcp_stream *s, const char *delim,
                                      size_t delim_len, weft_cx *cx)
{
    return weft_tcp_read_until_dl(r, s, delim, delim_len, WEFT_NO_DEADLINE, cx);
}

/*
 * weft_tcp_reader_take - take buffered bytes out of r, for a protocol that switches from
 * delimited messages to counted ones (a header, then a body of known length): first drops the
 * message the last read_until returned, then copies up to max buffered bytes to dst (dst may be
 * NULL to just discard them) and removes them from r. Returns the number of bytes taken.
 */
size_t weft_tcp_reader_take(weft_tcp_reader *r, void *dst, size_t max);

#ifdef __cplusplus
}
#endif

#endif /* WEFT_TCP_H */
