/*
 * uv_server: the libuv baseline for the HTTP server benchmark.
 *
 *   uv_server [--port P]        P = 0 (default) picks a free port
 *
 * Behaves exactly like epoll_server (same bytes out, same request scanner, prints
 * `listening on 127.0.0.1:PORT`, exits on SIGINT/SIGTERM) but is written the way a careful libuv
 * user would write it:
 * - reads go into one shared buffer handed out by the alloc callback (libuv reads and calls
 *   on_read before it asks for another buffer, so sharing is safe on one thread);
 * - answers are tried with uv_try_write first, so the common case needs no write request; only
 *   when the socket is full is a uv_write_t allocated for the rest; while it is in flight and
 *   many responses are owed, reading stops (the same back-pressure as epoll_server).
 */
#define _GNU_SOURCE /* uv.h needs POSIX types (pthread_rwlock_t) hidden by -std=c11 */
#include "bench_common.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

enum { OUT_COPIES = 256, OWED_MAX = 1024 };

struct conn {
    uv_tcp_t tcp;               /* first: the handle pointer is the conn pointer */
    uint32_t owed;              /* responses not yet completely written */
    uint16_t out_off;           /* bytes of the first owed response already written */
    uint8_t writing;            /* a uv_write is in flight */
    uint8_t paused;             /* reading stopped until the owed responses are out */
    struct bench_req_scan scan; /* where the current request stands */
};

/* A uv_write for the part of the output the socket did not take at once. */
struct write_req {
    uv_write_t req;
    struct conn *conn;
    size_t len;
};

static uv_loop_t *loop;
static uv_tcp_t listener;
static uv_signal_t sig_int, sig_term;
static long live_conns, served;
static char in_buf[65536];
static char *out_block; /* OUT_COPIES back-to-back copies of bench_response */

static void on_closed(uv_handle_t *h)
{
    free(h);
    live_conns--;
}

static void conn_close(struct conn *c)
{
    if (!uv_is_closing((uv_handle_t *)&c->tcp)) uv_close((uv_handle_t *)&c->tcp, on_closed);
}

/* Moves the owed/offset pair past `n` written bytes. */
static void conn_advance(struct conn *c, size_t n)
{
    size_t done = c->out_off + n;
    c->owed -= (uint32_t)(done / bench_response_len);
    served += (long)(done / bench_response_len);
    c->out_off = (uint16_t)(done % bench_response_len);
}

static void conn_flush(struct conn *c);
static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf);
static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf);

static void on_written(uv_write_t *req, int status)
{
    struct write_req *w = (struct write_req *)req;
    struct conn *c = w->conn;
    size_t len = w->len;
    free(w);
    c->writing = 0;
    if (status != 0) {
        conn_close(c);
        return;
    }
    conn_advance(c, len);
    conn_flush(c);
}

/* Queues `buf` (part of the static out_block, so it outlives the write). */
static void conn_write_later(struct conn *c, uv_buf_t buf)
{
    struct write_req *w = malloc(sizeof *w);
    if (w == NULL) {
        conn_close(c);
        return;
    }
    w->conn = c;
    w->len = buf.len;
    if (uv_write(&w->req, (uv_stream_t *)&c->tcp, &buf, 1, on_written) != 0) {
        free(w);
        conn_close(c);
        return;
    }
    c->writing = 1;
}

/* The chunk of owed output that starts at the current offset, as one buffer. */
static uv_buf_t conn_chunk(const struct conn *c)
{
    size_t want = (size_t)c->owed * bench_response_len - c->out_off;
    size_t room = OUT_COPIES * bench_response_len - c->out_off;
    return uv_buf_init(out_block + c->out_off, (unsigned)(want < room ? want : room));
}

/*
 * Writes owed responses; when the socket is full, hands the rest of the chunk to uv_write.
 * Stops reading while too many responses are owed, and resumes once they are out.
 */
static void conn_flush(struct conn *c)
{
    for (int i = 0; i < 64 && c->owed > 0 && !c->writing; i++) {
        uv_buf_t buf = conn_chunk(c);
        int n = uv_try_write((uv_stream_t *)&c->tcp, &buf, 1);
        if (n < 0 && n != UV_EAGAIN) {
            conn_close(c);
            return;
        }
        if (n > 0) conn_advance(c, (size_t)n);
        if (n < 0 || (size_t)n < buf.len) {
            conn_write_later(c, conn_chunk(c));
            break;
        }
    }
    if (c->owed > 0 && !c->writing) conn_write_later(c, conn_chunk(c)); /* loop bound hit */
    if (uv_is_closing((uv_handle_t *)&c->tcp)) return;
    if (!c->paused && c->writing && c->owed >= OWED_MAX) {
        uv_read_stop((uv_stream_t *)&c->tcp);
        c->paused = 1;
    } else if (c->paused && !c->writing) {
        c->paused = 0;
        uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
    }
}

static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
    (void)h;
    (void)hint;
    *buf = uv_buf_init(in_buf, sizeof in_buf);
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    struct conn *c = (struct conn *)s;
    if (nread == 0) return;                 /* EAGAIN */
    if (nread < 0) {                        /* EOF or error */
        if (nread == UV_EOF) conn_flush(c); /* answer what came before the FIN, if it fits */
        conn_close(c);
        return;
    }
    long k = bench_req_scan_feed(&c->scan, buf->base, (size_t)nread);
    if (k < 0) {
        conn_close(c);
        return;
    }
    c->owed += (uint32_t)k;
    conn_flush(c);
}

static void on_connection(uv_stream_t *server, int status)
{
    if (status != 0) return;
    struct conn *c = calloc(1, sizeof *c);
    if (c == NULL) return;
    uv_tcp_init(loop, &c->tcp);
    live_conns++;
    if (uv_accept(server, (uv_stream_t *)&c->tcp) != 0) {
        conn_close(c);
        return;
    }
    uv_tcp_nodelay(&c->tcp, 1);
    uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
}

static void close_any(uv_handle_t *h, void *arg)
{
    (void)arg;
    if (!uv_is_closing(h))
        uv_close(h, h->type == UV_TCP && h != (uv_handle_t *)&listener ? on_closed : NULL);
}

static void on_signal(uv_signal_t *s, int signum)
{
    (void)s;
    (void)signum;
    uv_walk(loop, close_any, NULL);
}

int main(int argc, char **argv)
{
    long port = bench_server_setup(argc, argv);
    out_block = bench_response_block(OUT_COPIES);

    loop = uv_default_loop();
    struct sockaddr_in sa;
    uv_ip4_addr("127.0.0.1", (int)port, &sa);
    uv_tcp_init(loop, &listener);
    int err = uv_tcp_bind(&listener, (struct sockaddr *)&sa, 0);
    if (err == 0) err = uv_listen((uv_stream_t *)&listener, SOMAXCONN, on_connection);
    if (err != 0) {
        fprintf(stderr, "uv_server: %s\n", uv_strerror(err));
        return 1;
    }
    int len = sizeof sa;
    uv_tcp_getsockname(&listener, (struct sockaddr *)&sa, &len);
    printf("listening on 127.0.0.1:%u\n", (unsigned)ntohs(sa.sin_port));
    fflush(stdout);

    uv_signal_init(loop, &sig_int);
    uv_signal_init(loop, &sig_term);
    uv_signal_start(&sig_int, on_signal, SIGINT);
    uv_signal_start(&sig_term, on_signal, SIGTERM);
    uv_run(loop, UV_RUN_DEFAULT);
    fprintf(stderr, "uv_server: %ld responses, %ld connections open at exit\n", served, live_conns);
    uv_loop_close(loop);
    return 0;
}
