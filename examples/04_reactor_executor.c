/*
 * 04_reactor_executor — the idea: split the runtime in two. An executor runs whichever tasks are
 * ready; a reactor waits for the kernel and turns each event into "this task is ready again".
 * A waker is the handle between them.
 *
 * This is the reactor/executor example of chapter 8 of "Asynchronous Programming in Rust".
 * We spawn five tasks; task i asks a delay server for /{delay}/request-i, with delays 5000,
 * 4000, ... 1000 ms (times --delay-scale), so the answers come back in the reverse order of the
 * requests. The executor's loop is written out in main() with the runtime's two halves:
 *
 *     weft_runtime_run_ready   the executor: poll every ready task once, oldest first;
 *     weft_runtime_park        the reactor: block in weft_poll_wait; each event's token names a
 *                              socket, and the socket the waker of the task parked on it.
 *
 * Each task, when its socket says EAGAIN, leaves its waker with the socket (weft_io_wait) and
 * returns WEFT_PENDING; the executor moves on and, when nothing is ready, the reactor sleeps
 * until one of the five sockets has data. Five requests take about as long as the slowest one.
 *
 * Usage: 04_reactor_executor [--delay-scale F] [HOST:PORT]   (default 127.0.0.1:8080; start a
 *        delay server there, e.g. weft-fixture-delayserver --port 8080)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <weft/addr.h>
#include <weft/runtime.h>

#define N_TASKS 5

static weft_addr server;
static int failed; /* requests that ended in an error: the tasks are detached, so they count here */

/* ---- the reactor side of a socket: try, and on EAGAIN leave the waker with the socket ------ */

/* send() or recv() once: the result, or WEFT_PENDING after parking the task on the socket. */
static int io_transfer(weft_io *io, weft_io_dir dir, char *buf, size_t len, weft_cx *cx)
{
    int r = weft_io_ready(io, dir, WEFT_NO_DEADLINE, cx);
    if (r != 0) return r;
    ssize_t n = dir == WEFT_IO_READ ? recv(weft_io_fd(io), buf, len, 0)
                                    : send(weft_io_fd(io), buf, len, MSG_NOSIGNAL);
    if (n >= 0) return (int)n;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return weft_io_wait(io, dir, WEFT_NO_DEADLINE, cx);
    return -errno;
}

/* A connect in progress counts as "would block" (see 03_runtime for the reasoning). */
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
    return errno == ENOTCONN ? weft_io_wait(io, WEFT_IO_WRITE, WEFT_NO_DEADLINE, cx) : -errno;
}

/* ---- one task: a request to the delay server --------------------------------------------- */

struct request {
    weft_co co;
    int id, delay_ms;
    weft_io io;
    char buf[512];
    int len, done, n;
};

/* A non-blocking socket, connecting, registered once with the reactor. 0 or -errno. */
static int request_open(struct request *q, weft_cx *cx)
{
    int fd = socket(server.ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int r = fd < 0 ? -errno : 0;
    if (r == 0 && connect(fd, (struct sockaddr *)&server.ss, server.len) < 0 &&
        errno != EINPROGRESS)
        r = -errno;
    if (r == 0) r = weft_io_open(cx->rt, &q->io, fd);
    if (r < 0) {
        if (fd >= 0) close(fd);
        printf("request-%d failed: %s\n", q->id, weft_strerror(r));
        failed++;
    }
    return r;
}

/* Prints the body of the response in q->buf (after the blank line that ends the head). */
static void request_print(const struct request *q)
{
    const char *body = strstr(q->buf, "\r\n\r\n");
    printf("%s\n", body != NULL ? body + 4 : q->buf);
}

/* The end of a request, however it ends: close the socket (and its registration with it). */
static int request_end(struct request *q, weft_cx *cx, int result)
{
    weft_io_close(cx->rt, &q->io);
    if (result < 0) {
        printf("request-%d failed: %s\n", q->id, weft_strerror(result));
        failed++;
    }
    return result;
}

static int request(void *frame, weft_cx *cx)
{
    struct request *q = frame;
    WEFT_BEGIN(&q->co);
    q->n = request_open(q, cx);
    if (q->n < 0) WEFT_RETURN(&q->co, q->n);
    WEFT_AWAIT(&q->co, q->n = io_connected(&q->io, cx));
    if (q->n < 0) WEFT_RETURN(&q->co, request_end(q, cx, q->n));

    q->len = snprintf(q->buf, sizeof q->buf,
                      "GET /%d/request-%d HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
                      q->delay_ms, q->id);
    for (q->done = 0; q->done < q->len; q->done += q->n) {
        WEFT_AWAIT(&q->co, q->n = io_transfer(&q->io, WEFT_IO_WRITE, q->buf + q->done,
                                              (size_t)(q->len - q->done), cx));
        if (q->n < 0) WEFT_RETURN(&q->co, request_end(q, cx, q->n));
    }
    printf("sent GET /%d/request-%d\n", q->delay_ms, q->id);
    for (q->len = 0; q->len < (int)sizeof q->buf - 1; q->len += q->n) {
        WEFT_AWAIT(&q->co, q->n = io_transfer(&q->io, WEFT_IO_READ, q->buf + q->len,
                                              sizeof q->buf - 1 - (size_t)q->len, cx));
        if (q->n < 0) WEFT_RETURN(&q->co, request_end(q, cx, q->n));
        if (q->n == 0) break; /* the server closed: the response is complete */
    }
    q->buf[q->len] = '\0';
    request_print(q);
    WEFT_RETURN(&q->co, request_end(q, cx, 0));
    WEFT_ON_CANCEL(&q->co);
    weft_io_close(cx->rt, &q->io);
    WEFT_END(&q->co, 0);
}

/* ---- main: spawn, then the executor loop written out -------------------------------------- */

/* A scale is a number from 0 to 100, such as 0.05. The range test is written so that a value
 * must pass it: NaN passes no comparison and infinity is above 100, so neither gets through to
 * an undefined conversion to an integer. */
static bool parse_scale(const char *arg, double *scale)
{
    char *end;
    *scale = strtod(arg, &end);
    return end != arg && *end == '\0' && *scale >= 0 && *scale <= 100;
}

static int usage(const char *prog)
{
    fprintf(stderr, "usage: %s [--delay-scale F] [HOST:PORT]\n", prog);
    return -1;
}

/* --delay-scale F and one numeric HOST:PORT into `server`. 0, or -1 after naming the bad
 * argument and printing the usage. */
static int parse_args(int argc, char **argv, double *scale)
{
    bool have_address = false;
    weft_addr_parse(&server, "127.0.0.1:8080"); /* the default */
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--delay-scale") == 0 && i + 1 < argc) {
            if (!parse_scale(argv[++i], scale)) {
                fprintf(stderr, "--delay-scale: '%s' is not a number from 0 to 100\n", argv[i]);
                return usage(argv[0]);
            }
        } else if (have_address || weft_addr_parse(&server, argv[i]) != 0) {
            fprintf(stderr, "'%s': expected HOST:PORT (numeric, only one) or --delay-scale F\n",
                    argv[i]);
            return usage(argv[0]);
        } else {
            have_address = true;
        }
    }
    return 0;
}

int main(int argc, char **argv)
{
    double scale = 1.0;
    if (parse_args(argc, argv, &scale) < 0) return 2;
    setvbuf(stdout, NULL, _IOLBF, 0);

    weft_runtime rt;
    if (weft_runtime_init(&rt) < 0) return 1;
    struct request tasks[N_TASKS];
    for (int i = 0; i < N_TASKS; i++) {
        tasks[i] = (struct request){.id = i, .delay_ms = (int)((N_TASKS - i) * 1000 * scale)};
        weft_task_spawn(&rt, request, &tasks[i], NULL); /* detached: nobody collects a result */
    }

    int r = 0;
    for (;;) {
        weft_runtime_run_ready(&rt); /* the executor */
        size_t pending = weft_runtime_task_count(&rt);
        if (pending == 0) break;
        printf("main: %zu pending tasks. Sleep until notified.\n", pending);
        r = weft_runtime_park(&rt); /* the reactor */
        if (r < 0) break;
    }
    if (r < 0)
        fprintf(stderr, "main: the loop failed: %s\n", weft_strerror(r));
    else if (failed > 0)
        fprintf(stderr, "main: %d of %d requests failed\n", failed, N_TASKS);
    else
        printf("main: All tasks are finished\n");
    weft_runtime_close(&rt);
    return r < 0 || failed > 0;
}
