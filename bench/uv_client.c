/*
 * uv_client: the libuv baseline for the HTTP client benchmark.
 *
 *   uv_client --addr 127.0.0.1:PORT [--conns C] [--requests N] [--timeout S]
 *
 * Same work, same RESULT line and same exit status as epoll_client, written as a libuv user
 * would: uv_tcp_connect, uv_read_start with the connection's own buffer handed out by the alloc
 * callback, and the request sent with uv_try_write (uv_write, with the write request embedded in
 * the connection, only for what the socket did not take).
 */
#define _GNU_SOURCE /* uv.h needs POSIX types (pthread_rwlock_t) hidden by -std=c11 */
#include "bench_common.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

enum { BUF_SIZE = 1024 };

struct conn {
    uv_tcp_t tcp; /* first: the handle pointer is the conn pointer */
    uv_connect_t connect;
    uv_write_t write;
    uint8_t busy; /* a request is in flight */
    uint32_t len; /* bytes of the current response in buf */
    char buf[BUF_SIZE];
};

static uv_loop_t *loop;
static uv_timer_t timeout_timer;
static struct sockaddr_in addr;
static char request[128];
static size_t request_len;
static long target, issued, done, errors, live;
static double finished_at;

static void finish_if_done(void)
{
    if (live > 0 && done + errors < target) return;
    if (finished_at == 0) finished_at = bench_now();
    uv_timer_stop(&timeout_timer);
}

static void on_closed(uv_handle_t *h)
{
    (void)h;
    live--;
    finish_if_done();
}

static void conn_close(struct conn *c, int failed)
{
    if (failed && c->busy) errors++;
    c->busy = 0;
    if (!uv_is_closing((uv_handle_t *)&c->tcp)) uv_close((uv_handle_t *)&c->tcp, on_closed);
}

static void on_written(uv_write_t *req, int status)
{
    if (status != 0) conn_close((struct conn *)req->handle, 1);
}

static void conn_next(struct conn *c)
{
    if (issued >= target) {
        conn_close(c, 0);
        return;
    }
    issued++;
    c->busy = 1;
    c->len = 0;
    /* uv_try_write first: when it takes everything no write request is queued, and libuv
     * makes no epoll_ctl to drop the write interest afterwards. */
    uv_buf_t buf = uv_buf_init(request, (unsigned)request_len);
    int n = uv_try_write((uv_stream_t *)&c->tcp, &buf, 1);
    if (n == (int)request_len) return;
    if (n < 0 && n != UV_EAGAIN) {
        conn_close(c, 1);
        return;
    }
    buf.base += n > 0 ? n : 0;
    buf.len -= n > 0 ? (size_t)n : 0;
    if (uv_write(&c->write, (uv_stream_t *)&c->tcp, &buf, 1, on_written) != 0) conn_close(c, 1);
}

static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
    struct conn *c = (struct conn *)h;
    (void)hint;
    *buf = uv_buf_init(c->buf + c->len, BUF_SIZE - c->len);
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    struct conn *c = (struct conn *)s;
    (void)buf;
    if (nread == 0) return;
    if (nread < 0) {
        conn_close(c, 1);
        return;
    }
    c->len += (uint32_t)nread;
    int st = bench_resp_complete(c->buf, c->len, BUF_SIZE);
    if (st == 0) return;
    if (st < 0 || !c->busy) {
        conn_close(c, 1);
        return;
    }
    done++;
    c->busy = 0;
    conn_next(c);
    finish_if_done();
}

static void on_connected(uv_connect_t *req, int status)
{
    struct conn *c = (struct conn *)req->handle;
    if (status != 0) {
        fprintf(stderr, "uv_client: connect: %s\n", uv_strerror(status));
        conn_close(c, 0);
        return;
    }
    uv_tcp_nodelay(&c->tcp, 1);
    uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
    conn_next(c);
}

static void close_any(uv_handle_t *h, void *arg)
{
    (void)arg;
    if (h->type == UV_TCP)
        conn_close((struct conn *)h, 1);
    else if (!uv_is_closing(h))
        uv_close(h, NULL);
}

static void on_timeout(uv_timer_t *t)
{
    (void)t;
    fprintf(stderr, "uv_client: timed out\n");
    finished_at = bench_now();
    uv_walk(loop, close_any, NULL);
}

int main(int argc, char **argv)
{
    struct bench_client_opts o = BENCH_CLIENT_OPTS_INIT;
    bench_client_parse(argc, argv, &o);
    request_len = bench_client_setup(&o, argv[0], request, sizeof request);
    addr = o.addr;
    target = o.requests;
    long conns = o.conns, timeout = o.timeout;
    loop = uv_default_loop();
    struct conn *pool = calloc((size_t)conns, sizeof *pool);
    if (pool == NULL) bench_die("calloc");

    double start = bench_now();
    uv_timer_init(loop, &timeout_timer);
    uv_timer_start(&timeout_timer, on_timeout, (uint64_t)timeout * 1000, 0);
    for (long i = 0; i < conns; i++) {
        struct conn *c = &pool[i];
        uv_tcp_init(loop, &c->tcp);
        live++;
        int err = uv_tcp_connect(&c->connect, &c->tcp, (struct sockaddr *)&addr, on_connected);
        if (err != 0) {
            fprintf(stderr, "uv_client: connect: %s\n", uv_strerror(err));
            conn_close(c, 0);
        }
    }
    uv_run(loop, UV_RUN_DEFAULT);
    if (!uv_is_closing((uv_handle_t *)&timeout_timer))
        uv_close((uv_handle_t *)&timeout_timer, NULL);
    uv_run(loop, UV_RUN_DEFAULT);
    uv_loop_close(loop);

    errors = target - done; /* failed, unanswered, or never sent */
    struct bench_run run = {"uv_client", conns, target, done, errors, finished_at - start};
    bench_print_result(&run);
    free(pool);
    return errors == 0 ? 0 : 1;
}
