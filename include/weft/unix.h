/*
 * weft/unix.h — Unix-domain stream sockets: connect, listen, accept. The connected streams are
 * weft_tcp_stream objects, so every read and write of weft/tcp.h works on them unchanged
 * (weft_tcp_read, weft_tcp_write_all, weft_tcp_read_until, weft_tcp_shutdown, weft_tcp_close);
 * only the TCP options (weft_tcp_set_nodelay) do not apply.
 *
 *     weft_unix_listener l;
 *     weft_unix_listen(rt, &l, "/run/app.sock", SOMAXCONN);
 *     WEFT_AWAIT(&f->co, f->r = weft_unix_accept(&l, &f->conn, cx));
 *     WEFT_AWAIT(&f->co, f->n = weft_tcp_read(&f->conn, f->buf, sizeof f->buf, cx));
 *
 * PATHS. A path names a file in the filesystem (at most 107 bytes); the listener creates it and
 * weft_unix_listener_close removes it again. A path starting with '@' names a socket in Linux's
 * abstract namespace instead ("@weft-demo"): no file, gone when the listener closes.
 */
#ifndef WEFT_UNIX_H
#define WEFT_UNIX_H

#include <stdint.h>

#include "weft/runtime.h"
#include "weft/tcp.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The longest path, '@' included for the abstract namespace (sizeof sun_path - 1). */
#define WEFT_UNIX_PATH_MAX 107

/* weft_unix_listener - a listening Unix-domain socket. Caller-allocated; zeroed is "not open". */
typedef struct weft_unix_listener {
    weft_io io;                        /* the registered listening socket */
    char path[WEFT_UNIX_PATH_MAX + 1]; /* what to unlink at close ("" if abstract) */
} weft_unix_listener;

/*
 * weft_unix_listen - create a listening socket at path (see PATHS). An existing file at path is
 * not removed: listening fails with -EADDRINUSE (remove a stale socket file yourself).
 * Returns 0, or -ENAMETOOLONG, -EINVAL (NULL or empty path), -EADDRINUSE, -EACCES, -errno;
 * nothing is left open or created on failure. Never suspends.
 */
int weft_unix_listen(weft_runtime *rt, weft_unix_listener *l, const char *path, int backlog);

/*
 * weft_unix_accept_dl - take the next connection into out (must not be open); the caller then
 * owns it. May return WEFT_PENDING. Returns 0. Fails with -ETIMEDOUT (listener still usable),
 * WEFT_ECLOSED (the listener was closed), -EMFILE and other -errno of accept4 (the listener
 * stays usable; unlike weft_tcp_accept there is no back-off on EMFILE).
 */
int weft_unix_accept_dl(weft_unix_listener *l, weft_tcp_stream *out, int64_t deadline, weft_cx *cx);

/* weft_unix_accept - weft_unix_accept_dl with no deadline. */
static inline int weft_unix_accept(weft_unix_listener *l, weft_tcp_stream *out, weft_cx *cx)
{
    return weft_unix_accept_dl(l, out, WEFT_NO_DEADLINE, cx);
}

/*
 * weft_unix_connect_dl - connect s (must not be open) to the listener at path. A local connect
 * completes at once or not at all; when the listener's backlog is full (EAGAIN), this waits
 * and tries again every millisecond until the deadline. A leaf operation: pass the same
 * arguments on every poll. May return WEFT_PENDING. Returns 0 with s open. Fails with -ENOENT
 * (no such path), -ECONNREFUSED (nobody listens there), -ETIMEDOUT, -ENAMETOOLONG, -errno.
 */
int weft_unix_connect_dl(weft_tcp_stream *s, const char *path, int64_t deadline, weft_cx *cx);

/* weft_unix_connect - weft_unix_connect_dl with no deadline. */
static inline int weft_unix_connect(weft_tcp_stream *s, const char *path, weft_cx *cx)
{
    return weft_unix_connect_dl(s, path, WEFT_NO_DEADLINE, cx);
}

/*
 * weft_unix_listener_close - close the listening socket (a waiting accept sees WEFT_ECLOSED)
 * and unlink its path. Returns 0, or WEFT_ECLOSED if l was not open (zeroed, closed, or a stale
 * copy of a closed listener: nothing is closed or unlinked, so a listener bound to the same path
 * since keeps its file). Never suspends.
 */
int weft_unix_listener_close(weft_runtime *rt, weft_unix_listener *l);

#ifdef __cplusplus
}
#endif

#endif /* WEFT_UNIX_H */
