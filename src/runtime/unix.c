/*
 * Unix-domain stream sockets. Listening and accepting are TCP's, with a path for an address;
 * connecting differs: a local connect never says EINPROGRESS — it succeeds, or fails, or says
 * EAGAIN when the listener's backlog is full. There is no event that announces room in a backlog,
 * so that last case is retried on a short timer, which keeps connect a stateless leaf operation.
 */
#define _GNU_SOURCE
#include "weft/unix.h"

#include "runtime/io_leaf.h" /* weft__io_lookup */

#include <errno.h>
#include <stddef.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

/* How long a connect waits before trying a full backlog again. */
#define WEFT__UNIX_RETRY WEFT_MSEC(1)

/* Fills sa and *len from path ("@name": abstract namespace). Returns 0 or -errno. */
static int unix_addr(struct sockaddr_un *sa, const char *path, socklen_t *len)
{
    if (path == NULL || path[0] == '\0') return -EINVAL;
    size_t n = strlen(path);
    if (n >= sizeof sa->sun_path) return -ENAMETOOLONG;
    memset(sa, 0, sizeof *sa);
    sa->sun_family = AF_UNIX;
    memcpy(sa->sun_path, path, n);
    if (path[0] == '@') sa->sun_path[0] = '\0'; /* abstract: the name is the bytes after it */
    *len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + (path[0] == '@' ? 0 : 1));
    return 0;
}

int weft_unix_listen(weft_runtime *rt, weft_unix_listener *l, const char *path, int backlog)
{
    l->io = (weft_io){0, 0, -1};
    l->path[0] = '\0';
    struct sockaddr_un sa;
    socklen_t len;
    int r = unix_addr(&sa, path, &len);
    if (r < 0) return r;
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return -errno;
    if (bind(fd, (struct sockaddr *)&sa, len) < 0) {
        r = -errno;
        close(fd);
        return r;
    }
    bool on_disk = path[0] != '@';
    if (listen(fd, backlog) < 0 || (r = weft_io_open(rt, &l->io, fd)) < 0) {
        if (r == 0) r = -errno;
        close(fd);
        if (on_disk) unlink(path);
        l->io = (weft_io){0, 0, -1};
        return r;
    }
    if (on_disk) strcpy(l->path, path);
    return 0;
}

int weft_unix_accept_dl(weft_unix_listener *l, weft_tcp_stream *out, int64_t deadline, weft_cx *cx)
{
    int r = weft_io_ready(&l->io, WEFT_IO_READ, deadline, cx);
    if (r != 0) return r;
    for (int tries = 0; tries < 64; tries++) {
        int fd = accept4(l->io.fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd >= 0) {
            r = weft_tcp_stream_open(cx->rt, out, fd);
            if (r < 0) close(fd);
            return r;
        }
        if (errno == EINTR || errno == ECONNABORTED) continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK) return -errno;
        return weft_io_wait(&l->io, WEFT_IO_READ, deadline, cx);
    }
    weft_waker_wake(cx->rt, cx->waker); /* many aborted connections: let others run first */
    return WEFT_PENDING;
}

/* One attempt: 0 with s open, -EAGAIN (backlog full), or another -errno. */
static int connect_once(weft_runtime *rt, weft_tcp_stream *s, const struct sockaddr_un *sa,
                        socklen_t len)
{
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return -errno;
    int r = 0;
    if (connect(fd, (const struct sockaddr *)sa, len) < 0)
        r = errno == EWOULDBLOCK || errno == EINTR ? -EAGAIN : -errno; /* both: try again */
    if (r == 0) r = weft_tcp_stream_open(rt, s, fd);
    if (r < 0) close(fd);
    return r;
}

int weft_unix_connect_dl(weft_tcp_stream *s, const char *path, int64_t deadline, weft_cx *cx)
{
    struct sockaddr_un sa;
    socklen_t len;
    int r = unix_addr(&sa, path, &len);
    if (r < 0) return r;
    r = connect_once(cx->rt, s, &sa, len);
    if (r != -EAGAIN) return r;
    int64_t now = weft_time_now();
    if (now >= deadline) return -ETIMEDOUT;
    int64_t retry = now + WEFT__UNIX_RETRY;
    weft_cx_want_deadline(cx, retry < deadline ? retry : deadline);
    return WEFT_PENDING;
}

int weft_unix_listener_close(weft_runtime *rt, weft_unix_listener *l)
{
    /* A stale copy must not unlink the path: a listener open now may be bound to it again. */
    if (weft__io_lookup(rt, &l->io) == NULL) return WEFT_ECLOSED;
    int r = weft_io_close(rt, &l->io);
    if (l->path[0] != '\0') unlink(l->path);
    l->path[0] = '\0';
    return r;
}
