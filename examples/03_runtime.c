/*
 * 03_runtime — the idea: a runtime parks the thread in the poll layer while the coroutine
 * waits, and resumes the coroutine when the event for its socket arrives.
 *
 * This is the first runtime of chapter 8 of "Asynchronous Programming in Rust". Example 02 drove
 * the same coroutine with a loop that polled it every 100 ms, whether or not anything had
 * happened. Here weft_runtime_block_on drives it instead:
 *
 *   1. poll the coroutine;
 *   2. if it returned WEFT_PENDING, it is waiting for a socket (it said which, through weft_io),
 *      so park: block in weft_poll_wait until the kernel reports that socket ready;
 *   3. the event's token names the socket, the socket names the waiting task: poll it again.
 *
 * No time is wasted polling early, and none is lost polling late. The coroutine prints
 * "Schedule other tasks" each time it returns WEFT_PENDING — the moment a runtime with more
 * than one task would run another — and, when polled again, how long the runtime slept.
 *
 * The socket work is written directly against the runtime's I/O-resource API (weft/runtime.h,
 * section 7): try the system call; on EAGAIN, weft_io_wait records the task as the socket's
 * waiter and returns WEFT_PENDING.
 *
 * Usage: 03_runtime [HOST:PORT]   (default 127.0.0.1:8080; start a delay server there, e.g.
 *        weft-fixture-delayserver --port 8080)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <weft/addr.h>
#include <weft/runtime.h>

static weft_addr server;

/* ---- leaf operations: one system call each, suspending on EAGAIN --------------------------- */

static int io_send(weft_io *io, const char *buf, size_t len, weft_cx *cx)
{
    int r = weft_io_ready(io, WEFT_IO_WRITE, WEFT_NO_DEADLINE, cx);
    if (r != 0) return r;
    ssize_t n = send(weft_io_fd(io), buf, len, MSG_NOSIGNAL);
    if (n >= 0) return (int)n;
    if (errno == EAGAIN || errno == EWOULDBLOCK)
        return weft_io_wait(io, WEFT_IO_WRITE, WEFT_NO_DEADLINE, cx);
    return -errno;
}

static int io_recv(weft_io *io, char *buf, size_t len, weft_cx *cx)
{
    int r = weft_io_ready(io, WEFT_IO_READ, WEFT_NO_DEADLINE, cx);
    if (r != 0) return r;
    ssize_t n = recv(weft_io_fd(io), buf, len, 0);
    if (n >= 0) return (int)n;
    if (errno == EAGAIN || errno == EWOULDBLOCK)
        return weft_io_wait(io, WEFT_IO_READ, WEFT_NO_DEADLINE, cx);
    return -errno;
}

/*
 * Has a non-blocking connect finished? Treated like any other attempt: "try" is asking the
 * socket (SO_ERROR for a failure, getpeername for success), and "would block" (ENOTCONN: still
 * handshaking) parks the task until the socket becomes writable.
 */
static int io_connected(weft_io *io, weft_cx *cx)
{
    int r = weft_io_ready(io, WEFT_IO_WRITE, WEFT_NO_DEADLINE, cx);
    if (r != 0) return r;
    int err = 0;
    socklen_t len = sizeof err;
    if (getsockopt(weft_io_fd(io), SOL_SOCKET, SO_ERROR, &err, &len) < 0) return -errno;
    if (err != 0) return -err;
    struct sockaddr_storage peer;
    len = sizeof peer;
    if (getpeername(weft_io_fd(io), (struct sockaddr *)&peer, &len) == 0) return 0;
    if (errno != ENOTCONN) return -errno;
    return weft_io_wait(io, WEFT_IO_WRITE, WEFT_NO_DEADLINE, cx);
}

/* ---- the book's HttpGetFuture, as a coroutine --------------------------------------------- */

struct http_get {
    weft_co co;
    const char *path;
    weft_io io;
    char req[128];
    int req_len, sent, n;
    size_t len;
    char buf[1024]; /* the whole response, NUL-terminated when done */
};

/* Starts connecting and registers the socket with the runtime. Returns 0, or -errno. */
static int http_get_connect(struct http_get *g, weft_cx *cx)
{
    int fd = socket(server.ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return -errno;
    if (connect(fd, (struct sockaddr *)&server.ss, server.len) < 0 && errno != EINPROGRESS) {
        int err = -errno;
        close(fd);
        return err;
    }
    int r = weft_io_open(cx->rt, &g->io, fd); /* the socket's one epoll_ctl */
    if (r < 0) close(fd);
    return r;
}

/* The end of a request, however it ends: close the socket (its registration goes with it). */
static int http_get_finish(struct http_get *g, weft_cx *cx, int result)
{
    weft_io_close(cx->rt, &g->io);
    return result;
}

/* GET g->path with "Connection: close" and read the response until the server closes. */
static int http_get(struct http_get *g, weft_cx *cx)
{
    WEFT_BEGIN(&g->co);
    printf("FIRST POLL - START OPERATION\n");
    g->n = http_get_connect(g, cx);
    if (g->n < 0) WEFT_RETURN(&g->co, g->n);
    WEFT_AWAIT(&g->co, g->n = io_connected(&g->io, cx));
    if (g->n < 0) WEFT_RETURN(&g->co, http_get_finish(g, cx, g->n));

    g->req_len =
        snprintf(g->req, sizeof g->req,
                 "GET %s HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n", g->path);
    for (g->sent = 0; g->sent < g->req_len; g->sent += g->n) {
        WEFT_AWAIT(&g->co,
                   g->n = io_send(&g->io, g->req + g->sent, (size_t)(g->req_len - g->sent), cx));
        if (g->n < 0) WEFT_RETURN(&g->co, http_get_finish(g, cx, g->n));
    }
    for (g->len = 0; g->len < sizeof g->buf - 1; g->len += (size_t)g->n) {
        WEFT_AWAIT(&g->co, g->n = io_recv(&g->io, g->buf + g->len, sizeof g->buf - 1 - g->len, cx));
        if (g->n < 0) WEFT_RETURN(&g->co, http_get_finish(g, cx, g->n));
        if (g->n == 0) break; /* the server closed the connection: the response is complete */
    }
    g->buf[g->len] = '\0';
    WEFT_RETURN(&g->co, http_get_finish(g, cx, (int)g->len));
    WEFT_ON_CANCEL(&g->co);
    weft_io_close(cx->rt, &g->io);
    WEFT_END(&g->co, 0);
}

/* ---- the main coroutine, and where it hands control back to the runtime ------------------- */

static int64_t parked_at; /* when the last WEFT_PENDING went back to the runtime */

/* Polls the request once; reports what the runtime is about to do with a pending result. */
static int http_get_traced(struct http_get *g, weft_cx *cx)
{
    if (parked_at != 0)
        printf("  (resumed by an event after %.1f ms in weft_poll_wait)\n",
               (double)(weft_time_now() - parked_at) / 1e6);
    int r = http_get(g, cx);
    parked_at = r == WEFT_PENDING ? weft_time_now() : 0;
    if (r == WEFT_PENDING) printf("Schedule other tasks\n");
    return r;
}

static void print_response(const char *text)
{
    for (const char *p = text; *p; p++)
        if (*p != '\r') putchar(*p);
    putchar('\n');
}

struct main_task {
    weft_co co;
    struct http_get get;
    int r;
};

static int main_task(void *frame, weft_cx *cx)
{
    struct main_task *m = frame;
    WEFT_BEGIN(&m->co);
    printf("Program starting\n");
    m->get.path = "/600/HelloWorld1";
    WEFT_AWAIT_CHILD(&m->co, &m->get.co, m->r, http_get_traced(&m->get, cx));
    if (m->r < 0) WEFT_RETURN(&m->co, m->r);
    print_response(m->get.buf);
    m->get.path = "/400/HelloWorld2";
    WEFT_AWAIT_CHILD(&m->co, &m->get.co, m->r, http_get_traced(&m->get, cx));
    if (m->r < 0) WEFT_RETURN(&m->co, m->r);
    print_response(m->get.buf);
    WEFT_END(&m->co, 0);
}

int main(int argc, char **argv)
{
    const char *addr = argc > 1 ? argv[1] : "127.0.0.1:8080";
    if (argc > 2 || weft_addr_parse(&server, addr) != 0) {
        if (argc > 2)
            fprintf(stderr, "'%s': one argument too many\n", argv[2]);
        else
            fprintf(stderr, "'%s': expected HOST:PORT\n", argv[1]);
        fprintf(stderr, "usage: %s [HOST:PORT]  (numeric, e.g. 127.0.0.1:8080)\n", argv[0]);
        return 2;
    }
    setvbuf(stdout, NULL, _IOLBF, 0);

    weft_runtime rt;
    int r = weft_runtime_init(&rt);
    if (r < 0) {
        fprintf(stderr, "weft_runtime_init: %s\n", weft_strerror(r));
        return 1;
    }
    struct main_task m = {0};
    r = weft_runtime_block_on(&rt, main_task, &m);
    weft_runtime_close(&rt);
    if (r < 0) {
        fprintf(stderr, "main task failed: %s\n", weft_strerror(r));
        return 1;
    }
    printf("main: finished\n");
    return 0;
}
