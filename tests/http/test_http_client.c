/*
 * Tests for the HTTP client (weft/http.h, part 2) against canned_server, a threaded server that
 * answers each request with prepared bytes: framing (Content-Length, chunked, close-delimited,
 * HEAD, 1xx), keep-alive reuse and the pool's limits, redirects, every failure the client
 * reports (truncated, too big, garbage, reset, refused, timeout, https, host names), the retry of
 * a dead pooled connection, and cancellation. Every test ends by checking that the process has
 * exactly the fds it had before it started.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "canned_server.h"
#include "weft/http.h"
#include "weft/sync.h" /* weft_sync_get_stats: blocking jobs left */
#include "weft_test.h"
#include "weft_test_nap.h"
#include "weft_test_net.h"

/* ============================================================================================
 * The harness: one fetch task, a runtime, a client and a server per test
 * ========================================================================================== */

#define BODY_MAX (1 << 20)

/* One exchange, set up by the test, run as a task; the results are read after the run. */
struct fetch {
    weft_co co;
    weft_http_exchange ex;
    /* inputs */
    weft_http_client *client;
    char url[256];
    const weft_url *target;  /* if set: the parsed URL, and no url string */
    weft_http_method method; /* 0: GET */
    int64_t timeout;
    unsigned max_redirects;
    uint64_t max_body; /* 0: unlimited */
    const weft_http_header *headers;
    size_t nheaders;
    const void *body;
    size_t body_len;
    bool pieces;     /* read with weft_http_exchange_read instead of read_all */
    bool leave_open; /* do not close the exchange (the client-close test) */
    size_t cap;      /* read_all's buffer size; 0: BODY_MAX */
    /* results */
    int status; /* what start returned */
    int result; /* body length, or the error */
    int n;
    size_t npieces;
    bool reused;
    unsigned redirects;
    char final_url[256];
    weft_http_timing timing;
    char buf[BODY_MAX];
};

static void fetch_apply(struct fetch *f)
{
    weft_http_exchange_init(&f->ex, f->client, f->method ? f->method : WEFT_HTTP_GET,
                            f->target ? NULL : f->url);
    f->ex.target = f->target;
    f->ex.timeout = f->timeout;
    f->ex.max_redirects = f->max_redirects;
    if (f->max_body) f->ex.max_body = f->max_body;
    f->ex.headers = f->headers;
    f->ex.nheaders = f->nheaders;
    f->ex.body = f->body;
    f->ex.body_len = f->body_len;
}

static void fetch_record(struct fetch *f)
{
    f->reused = f->ex.reused;
    f->redirects = f->ex.redirects;
    snprintf(f->final_url, sizeof f->final_url, "%s",
             f->ex.effective_url ? f->ex.effective_url : "(none)");
    f->timing = f->ex.timing;
}

static int fetch_task(void *frame, weft_cx *cx)
{
    struct fetch *f = frame;
    WEFT_BEGIN(&f->co);
    fetch_apply(f);
    WEFT_AWAIT_CHILD(&f->co, &f->ex.co, f->status, weft_http_exchange_start(&f->ex, cx));
    f->result = f->status;
    if (f->status >= 0 && f->pieces) {
        for (f->result = 0, f->npieces = 0;;) {
            WEFT_AWAIT(&f->co, f->n = weft_http_exchange_read(&f->ex, cx));
            if (f->n <= 0) break;
            assert_true((size_t)f->result + (size_t)f->n <= sizeof f->buf);
            memcpy(f->buf + f->result, f->ex.data, (size_t)f->n);
            f->result += f->n;
            f->npieces++;
        }
        if (f->n < 0) f->result = f->n;
    } else if (f->status >= 0) {
        WEFT_AWAIT(&f->co, f->result = weft_http_exchange_read_all(
                               &f->ex, f->buf, f->cap ? f->cap : sizeof f->buf, cx));
    }
    fetch_record(f);
    if (!f->leave_open) weft_http_exchange_close(&f->ex);
    WEFT_ON_CANCEL(&f->co);
    weft_http_exchange_close(&f->ex);
    WEFT_END(&f->co, f->result);
}

struct ctx {
    int fds; /* open fds before the test */
    weft_runtime rt;
    weft_http_client client;
    struct canned_server srv;
    struct fetch *f;
};

static int ctx_open_cfg(struct ctx *c, const struct canned_reply *replies, size_t n,
                        const weft_http_client_config *cfg, bool ipv6)
{
    c->fds = weft_test_fd_count();
    if (canned_start(&c->srv, replies, n, ipv6) < 0) return -1;
    assert_int_equal(weft_runtime_init(&c->rt), 0);
    assert_int_equal(weft_http_client_init(&c->client, &c->rt, cfg), 0);
    c->f = calloc(1, sizeof *c->f);
    assert_non_null(c->f);
    return 0;
}

static void ctx_open(struct ctx *c, const struct canned_reply *replies, size_t n)
{
    assert_int_equal(ctx_open_cfg(c, replies, n, NULL, false), 0);
}

/* Prepares c->f for a new request to path on the canned server. */
static struct fetch *ctx_fetch(struct ctx *c, const char *path)
{
    memset(c->f, 0, offsetof(struct fetch, buf));
    c->f->client = &c->client;
    snprintf(c->f->url, sizeof c->f->url, "http://127.0.0.1:%u%s", (unsigned)c->srv.port, path);
    return c->f;
}

static int ctx_run(struct ctx *c)
{
    return weft_runtime_block_on(&c->rt, fetch_task, c->f);
}

/* Closes everything and checks that nothing leaked: no connection, no registration, no fd. */
static void ctx_close(struct ctx *c)
{
    assert_int_equal(weft_http_client_close(&c->client), 0);
    assert_int_equal(c->client.open, 0);
    weft_runtime_stats st;
    weft_runtime_get_stats(&c->rt, &st);
    assert_int_equal(st.io_open, 0);
    assert_int_equal(weft_runtime_close(&c->rt), 0);
    canned_stop(&c->srv);
    free(c->f);
    assert_int_equal(weft_test_fd_count(), c->fds);
}

#define N(a) (sizeof(a) / sizeof((a)[0]))

static const struct canned_reply ok_reply[] = {
    {"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello", CANNED_KEEP},
};

/* ============================================================================================
 * Framing
 * ========================================================================================== */

static void test_content_length(void **state)
{
    (void)state;
    struct ctx c;
    ctx_open(&c, ok_reply, N(ok_reply));
    struct fetch *f = ctx_fetch(&c, "/a?b=c");
    assert_int_equal(ctx_run(&c), 5);
    assert_int_equal(f->status, 200);
    assert_memory_equal(f->buf, "hello", 5);
    assert_string_equal(c.srv.lines[0], "GET /a?b=c HTTP/1.1");
    assert_false(f->reused);
    assert_true(f->timing.start > 0);
    assert_true(f->timing.connected >= f->timing.start);
    assert_true(f->timing.sent >= f->timing.connected);
    assert_true(f->timing.first_byte >= f->timing.sent);
    assert_true(f->timing.head >= f->timing.first_byte);
    assert_true(f->timing.done >= f->timing.head);
    assert_int_equal(c.client.idle, 1); /* kept for the next request */
    ctx_close(&c);
}

static const struct canned_reply chunked_reply[] = {
    {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
     "5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nX-Trailer: t\r\n\r\n",
     CANNED_KEEP},
};

static void test_chunked(void **state)
{
    (void)state;
    struct ctx c;
    ctx_open(&c, chunked_reply, N(chunked_reply));
    struct fetch *f = ctx_fetch(&c, "/");
    assert_int_equal(ctx_run(&c), 11);
    assert_memory_equal(f->buf, "hello world", 11);
    f = ctx_fetch(&c, "/"); /* again, in pieces, over the same connection */
    f->pieces = true;
    assert_int_equal(ctx_run(&c), 11);
    assert_memory_equal(f->buf, "hello world", 11);
    assert_true(f->npieces >= 2);
    assert_true(f->reused);
    assert_int_equal(atomic_load(&c.srv.accepts), 1);
    ctx_close(&c);
}

static const struct canned_reply close_reply[] = {
    {"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nuntil the end", CANNED_CLOSE},
};

static void test_close_delimited(void **state)
{
    (void)state;
    struct ctx c;
    ctx_open(&c, close_reply, N(close_reply));
    struct fetch *f = ctx_fetch(&c, "/");
    assert_int_equal(ctx_run(&c), 13);
    assert_memory_equal(f->buf, "until the end", 13);
    assert_int_equal(c.client.open, 0); /* never pooled */
    ctx_close(&c);
}

static const struct canned_reply interim_reply[] = {
    {"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </s.css>\r\n\r\n"
     "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
     CANNED_KEEP},
};

static void test_interim_1xx(void **state)
{
    (void)state;
    struct ctx c;
    ctx_open(&c, interim_reply, N(interim_reply));
    struct fetch *f = ctx_fetch(&c, "/");
    assert_int_equal(ctx_run(&c), 2);
    assert_int_equal(f->status, 200);
    assert_memory_equal(f->buf, "ok", 2);
    ctx_close(&c);
}

static const struct canned_reply head_reply[] = {
    {"HTTP/1.1 200 OK\r\nContent-Length: 100\r\nX-Kind: head\r\n\r\n", CANNED_KEEP},
    {"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nget", CANNED_KEEP},
};

/* A response to HEAD has no body whatever Content-Length says, and the connection is reusable. */
static void test_head_then_get(void **state)
{
    (void)state;
    struct ctx c;
    ctx_open(&c, head_reply, N(head_reply));
    struct fetch *f = ctx_fetch(&c, "/");
    f->method = WEFT_HTTP_HEAD;
    assert_int_equal(ctx_run(&c), 0);
    assert_int_equal(f->status, 200);
    f = ctx_fetch(&c, "/");
    assert_int_equal(ctx_run(&c), 3);
    assert_true(f->reused);
    assert_string_equal(c.srv.lines[0], "HEAD / HTTP/1.1");
    assert_int_equal(atomic_load(&c.srv.accepts), 1);
    ctx_close(&c);
}

static char big_chunked[200000];
static char big_body[60000]; /* over the 16 KiB buffer, under canned_server's 64 KiB */

/* A body much larger than the connection's buffer, in chunks, taken in pieces. */
static void test_large_chunked_pieces(void **state)
{
    (void)state;
    size_t n = (size_t)snprintf(big_chunked, sizeof big_chunked,
                                "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
    for (int i = 0; i < 100; i++) {
        n += (size_t)snprintf(big_chunked + n, sizeof big_chunked - n, "3e8\r\n");
        memset(big_chunked + n, 'a' + i % 26, 1000);
        n += 1000;
        n += (size_t)snprintf(big_chunked + n, sizeof big_chunked - n, "\r\n");
    }
    snprintf(big_chunked + n, sizeof big_chunked - n, "0\r\n\r\n");
    struct canned_reply r[] = {{big_chunked, CANNED_KEEP}};
    struct ctx c;
    ctx_open(&c, r, 1);
    struct fetch *f = ctx_fetch(&c, "/");
    f->pieces = true;
    assert_int_equal(ctx_run(&c), 100000);
    for (int i = 0; i < 100; i++)
        assert_int_equal(f->buf[i * 1000 + 999], 'a' + i % 26);
    assert_true(f->npieces >= 7); /* 100 kB through a 16 KiB buffer */
    assert_int_equal(c.client.idle, 1);
    ctx_close(&c);
}

static const struct canned_reply post_reply[] = {
    {"HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n", CANNED_KEEP},
};

/* A POST whose body is larger than the connection's buffer goes out head first, then body. */
static void test_post_large_body(void **state)
{
    (void)state;
    memset(big_body, 'x', sizeof big_body);
    weft_http_header hdr[] = {{"X-Test", 6, "yes", 3}};
    struct ctx c;
    ctx_open(&c, post_reply, N(post_reply));
    struct fetch *f = ctx_fetch(&c, "/upload");
    f->method = WEFT_HTTP_POST;
    f->headers = hdr;
    f->nheaders = 1;
    f->body = big_body;
    f->body_len = sizeof big_body;
    assert_int_equal(ctx_run(&c), 0);
    assert_int_equal(f->status, 201);
    assert_string_equal(c.srv.lines[0], "POST /upload HTTP/1.1");
    assert_int_equal(c.srv.body_lens[0], sizeof big_body);
    f = ctx_fetch(&c, "/small"); /* and a small one fits the buffer with its head */
    f->method = WEFT_HTTP_PUT;
    f->body = "abc";
    f->body_len = 3;
    assert_int_equal(ctx_run(&c), 0);
    assert_int_equal(c.srv.body_lens[1], 3);
    assert_int_equal(atomic_load(&c.srv.accepts), 1);
    ctx_close(&c);
}

/* ============================================================================================
 * Keep-alive and the pool
 * ========================================================================================== */

static void test_keepalive_reuse(void **state)
{
    (void)state;
    struct ctx c;
    ctx_open(&c, ok_reply, N(ok_reply));
    for (int i = 0; i < 10; i++) {
        struct fetch *f = ctx_fetch(&c, "/");
        assert_int_equal(ctx_run(&c), 5);
        assert_int_equal(f->reused, i > 0);
    }
    assert_int_equal(atomic_load(&c.srv.accepts), 1);
    assert_int_equal(atomic_load(&c.srv.requests), 10);
    assert_int_equal(c.client.connects, 1);
    assert_int_equal(c.client.reuses, 9);
    ctx_close(&c);
}

/* A URL parsed once serves many requests (no url string at all). */
static void test_preparsed_target(void **state)
{
    (void)state;
    struct ctx c;
    ctx_open(&c, ok_reply, N(ok_reply));
    char text[64];
    snprintf(text, sizeof text, "http://127.0.0.1:%u/parsed?once", (unsigned)c.srv.port);
    weft_url u;
    assert_int_equal(weft_url_parse(&u, text, strlen(text)), 0);
    for (int i = 0; i < 3; i++) {
        struct fetch *f = ctx_fetch(&c, "/");
        f->target = &u;
        assert_int_equal(ctx_run(&c), 5);
        assert_string_equal(f->final_url, "(none)");
        assert_string_equal(c.srv.lines[i], "GET /parsed?once HTTP/1.1");
    }
    assert_int_equal(atomic_load(&c.srv.accepts), 1);
    ctx_close(&c);
}

/*
 * A host name is resolved (on the blocking pool) for a new connection, then the connection is
 * pooled under that name: the second request reuses it. "localhost" and 127.0.0.1 are different
 * pool keys, but the same server. Whatever localhost resolves to first (::1 on many systems),
 * the server on 127.0.0.1 is reached: the addresses are tried in turn.
 */
static void test_localhost(void **state)
{
    (void)state;
    struct ctx c;
    ctx_open(&c, ok_reply, N(ok_reply));
    for (int i = 0; i < 2; i++) {
        struct fetch *f = ctx_fetch(&c, "/");
        snprintf(f->url, sizeof f->url, "http://%s:%u/x%d", i == 0 ? "LocalHost" : "localhost",
                 (unsigned)c.srv.port, i); /* host names compare without regard to case */
        f->timeout = WEFT_SEC(10);
        assert_int_equal(ctx_run(&c), 5);
        assert_int_equal(f->status, 200);
        assert_int_equal(f->reused, i == 1);
    }
    assert_string_equal(c.srv.lines[1], "GET /x1 HTTP/1.1");
    assert_int_equal(c.client.connects, 1);
    assert_int_equal(atomic_load(&c.srv.accepts), 1);
    ctx_close(&c);
}

/* Parks until the blocking pool has no job left (a lookup that outlived its exchange). */
static void ctx_drain_jobs(struct ctx *c)
{
    weft_sync_stats st;
    for (int i = 0; i < 1000; i++) {
        weft_sync_get_stats(&c->rt, &st);
        if (st.jobs == 0) return;
        weft_runtime_run_ready(&c->rt);
        assert_int_equal(weft_runtime_park(&c->rt), 0);
    }
    fail_msg("a name lookup never finished");
}

/*
 * .invalid never resolves (RFC 6761), so the exchange fails before connecting, with its own
 * error. The system's resolver may still ask the name servers in /etc/resolv.conf, which
 * without a network fails fast or hangs until its own timeout: only a quick, definite answer
 * can be checked; anything else is reported as skipped, with the reason.
 */
static void test_unknown_host_needs_dns(void **state)
{
    (void)state;
    struct ctx c;
    ctx_open(&c, ok_reply, N(ok_reply));
    struct fetch *f = ctx_fetch(&c, "/");
    snprintf(f->url, sizeof f->url, "http://nonexistent.invalid:%u/", (unsigned)c.srv.port);
    f->timeout = WEFT_SEC(2);
    int r = ctx_run(&c);
    assert_int_equal(c.client.open, 0);
    if (r == -ETIMEDOUT || r == -EAGAIN) {
        printf("# skipped: the system resolver gave no definite answer for nonexistent.invalid "
               "within 2 s (%s): no name server reachable?\n",
               weft_strerror(r));
        ctx_drain_jobs(&c); /* waits for the resolver's own timeout */
        ctx_close(&c);
        WEFT_TEST_SKIP();
    }
    assert_int_equal(r, WEFT_ERESOLVE);
    assert_int_equal(f->status, WEFT_ERESOLVE);
    assert_int_equal(atomic_load(&c.srv.accepts), 0);
    ctx_close(&c);
}

static void test_ipv6_literal_needs_ipv6(void **state)
{
    (void)state;
    struct ctx c;
    if (ctx_open_cfg(&c, ok_reply, N(ok_reply), NULL, true) < 0) {
        WEFT_TEST_SKIP(); /* no ::1 here */
    }
    struct fetch *f = ctx_fetch(&c, "/");
    snprintf(f->url, sizeof f->url, "http://[::1]:%u/six", (unsigned)c.srv.port);
    assert_int_equal(ctx_run(&c), 5);
    assert_string_equal(c.srv.lines[0], "GET /six HTTP/1.1");
    ctx_close(&c);
}

/* Two requests at once need two connections; a pool of one per host keeps one of them. */
static void test_pool_limit(void **state)
{
    (void)state;
    weft_http_client_config cfg = {.max_idle_per_host = 1};
    struct ctx c;
    assert_int_equal(ctx_open_cfg(&c, ok_reply, N(ok_reply), &cfg, false), 0);
    struct fetch *g = calloc(1, sizeof *g);
    assert_non_null(g);
    ctx_fetch(&c, "/1");
    memcpy(g, c.f, offsetof(struct fetch, buf));
    weft_task ta, tb;
    assert_int_equal(weft_task_spawn(&c.rt, fetch_task, c.f, &ta), 0);
    assert_int_equal(weft_task_spawn(&c.rt, fetch_task, g, &tb), 0);
    assert_int_equal(weft_runtime_run(&c.rt), 0);
    assert_int_equal(weft_task_result(&c.rt, ta), 5);
    assert_int_equal(weft_task_result(&c.rt, tb), 5);
    assert_int_equal(atomic_load(&c.srv.accepts), 2);
    assert_int_equal(c.client.open, 1);
    assert_int_equal(c.client.idle, 1);
    free(g);
    ctx_close(&c);
}

/* An idle connection older than idle_timeout is closed, not reused. */
static void test_idle_timeout(void **state)
{
    (void)state;
    weft_http_client_config cfg = {.idle_timeout = WEFT_MSEC(1)};
    struct ctx c;
    assert_int_equal(ctx_open_cfg(&c, ok_reply, N(ok_reply), &cfg, false), 0);
    ctx_fetch(&c, "/");
    assert_int_equal(ctx_run(&c), 5);
    usleep(20000);
    struct fetch *f = ctx_fetch(&c, "/");
    assert_int_equal(ctx_run(&c), 5);
    assert_false(f->reused);
    assert_int_equal(atomic_load(&c.srv.accepts), 2);
    ctx_close(&c);
}

static const struct canned_reply close_after_reply[] = {
    {"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", CANNED_CLOSE},
};

/* The server closes a keep-alive connection right after answering (as an idle timeout would):
 * the next GET finds it dead before any response byte and is sent again on a new connection. */
static void test_dead_pooled_retried(void **state)
{
    (void)state;
    struct ctx c;
    ctx_open(&c, close_after_reply, N(close_after_reply));
    ctx_fetch(&c, "/1");
    assert_int_equal(ctx_run(&c), 2);
    assert_int_equal(c.client.idle, 1);
    usleep(20000); /* let the FIN arrive */
    struct fetch *f = ctx_fetch(&c, "/2");
    assert_int_equal(ctx_run(&c), 2);
    assert_int_equal(f->status, 200);
    assert_false(f->reused); /* the answer came over the new connection */
    assert_int_equal(c.client.retries, 1);
    assert_int_equal(atomic_load(&c.srv.accepts), 2);
    ctx_close(&c);
}

/* The same for a POST: not idempotent, so it is not sent twice, and the error says why. */
static void test_dead_pooled_post_not_retried(void **state)
{
    (void)state;
    struct ctx c;
    ctx_open(&c, close_after_reply, N(close_after_reply));
    ctx_fetch(&c, "/1");
    assert_int_equal(ctx_run(&c), 2);
    usleep(20000);
    struct fetch *f = ctx_fetch(&c, "/2");
    f->method = WEFT_HTTP_POST;
    int r = ctx_run(&c);
    assert_true(r == WEFT_EHTTP_NORESPONSE || r == -ECONNRESET || r == -EPIPE);
    assert_int_equal(c.client.retries, 0);
    assert_int_equal(atomic_load(&c.srv.accepts), 1);
    ctx_close(&c);
}

/* ============================================================================================
 * Redirects
 * ========================================================================================== */

static const struct canned_reply chain_reply[] = {
    {"HTTP/1.1 301 Moved Permanently\r\nLocation: /b\r\nContent-Length: 3\r\n\r\nabc", CANNED_KEEP},
    {"HTTP/1.1 302 Found\r\nLocation: http://127.0.0.1:@PORT@/c?x=1\r\nContent-Length: 0\r\n\r\n",
     CANNED_KEEP},
    {"HTTP/1.1 303 See Other\r\nLocation: d\r\nTransfer-Encoding: chunked\r\n\r\n"
     "3\r\nxyz\r\n0\r\n\r\n",
     CANNED_KEEP},
    {"HTTP/1.1 307 Temporary Redirect\r\nLocation: /e#frag\r\nContent-Length: 0\r\n\r\n",
     CANNED_KEEP},
    {"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\ndone", CANNED_KEEP},
};

/* A POST through 301 (becomes GET), an absolute 302, a relative-path 303 with a chunked body,
 * a 307 (keeps the method), all over one kept-alive connection. */
static void test_redirect_chain(void **state)
{
    (void)state;
    struct ctx c;
    ctx_open(&c, chain_reply, N(chain_reply));
    struct fetch *f = ctx_fetch(&c, "/a");
    f->method = WEFT_HTTP_POST;
    f->body = "hello";
    f->body_len = 5;
    f->max_redirects = 5;
    assert_int_equal(ctx_run(&c), 4);
    assert_int_equal(f->status, 200);
    assert_memory_equal(f->buf, "done", 4);
    assert_int_equal(f->redirects, 4);
    assert_string_equal(c.srv.lines[0], "POST /a HTTP/1.1");
    assert_int_equal(c.srv.body_lens[0], 5);
    assert_string_equal(c.srv.lines[1], "GET /b HTTP/1.1");
    assert_int_equal(c.srv.body_lens[1], 0);
    assert_string_equal(c.srv.lines[2], "GET /c?x=1 HTTP/1.1");
    assert_string_equal(c.srv.lines[3], "GET /d HTTP/1.1");
    assert_string_equal(c.srv.lines[4], "GET /e HTTP/1.1");
    char want[64];
    snprintf(want, sizeof want, "http://127.0.0.1:%u/e#frag", (unsigned)c.srv.port);
    assert_string_equal(f->final_url, want);
    assert_int_equal(atomic_load(&c.srv.accepts), 1);
    ctx_close(&c);
}

static const struct canned_reply put307_reply[] = {
    {"HTTP/1.1 308 Permanent Redirect\r\nLocation: /there\r\nContent-Length: 0\r\n\r\n",
     CANNED_KEEP},
    {"HTTP/1.1 204 No Content\r\n\r\n", CANNED_KEEP},
};

static void test_redirect_308_keeps_method_and_body(void **state)
{
    (void)state;
    struct ctx c;
    ctx_open(&c, put307_reply, N(put307_reply));
    struct fetch *f = ctx_fetch(&c, "/here");
    f->method = WEFT_HTTP_PUT;
    f->body = "data";
    f->body_len = 4;
    f->max_redirects = 1;
    assert_int_equal(ctx_run(&c), 0);
    assert_int_equal(f->status, 204);
    assert_string_equal(c.srv.lines[1], "PUT /there HTTP/1.1");
    assert_int_equal(c.srv.body_lens[1], 4);
    ctx_close(&c);
}

static const struct canned_reply loop_reply[] = {
    {"HTTP/1.1 302 Found\r\nLocation: /loop\r\nContent-Length: 0\r\n\r\n", CANNED_KEEP},
};

static void test_redirect_limit(void **state)
{
    (void)state;
    struct ctx c;
    ctx_open(&c, loop_reply, N(loop_reply));
    struct fetch *f = ctx_fetch(&c, "/");
    f->max_redirects = 3;
    assert_int_equal(ctx_run(&c), WEFT_EHTTP_REDIRECTS);
    assert_int_equal(f->redirects, 3);
    assert_int_equal(atomic_load(&c.srv.requests), 4);
    assert_string_not_equal(weft_strerror(WEFT_EHTTP_REDIRECTS), "unknown error");
    f = ctx_fetch(&c, "/"); /* not asked to follow: the 302 is the answer */
    assert_int_equal(ctx_run(&c), 0);
    assert_int_equal(f->status, 302);
    ctx_close(&c);
}

static const struct canned_reply to_https_reply[] = {
    {"HTTP/1.1 302 Found\r\nLocation: https://127.0.0.1:@PORT@/secure\r\nContent-Length: 0\r\n"
     "\r\n",
     CANNED_KEEP},
};

static void test_redirect_to_https_refused(void **state)
{
    (void)state;
    struct ctx c;
    ctx_open(&c, to_https_reply, N(to_https_reply));
    struct fetch *f = ctx_fetch(&c, "/");
    f->max_redirects = 5;
    assert_int_equal(ctx_run(&c), WEFT_EHTTP_UNSUPPORTED);
    usleep(20000);
    assert_int_equal(atomic_load(&c.srv.requests), 1); /* nothing sent in plain text */
    ctx_close(&c);
}

/* ============================================================================================
 * Failures: each its own error, no leak
 * ========================================================================================== */

/* Runs one GET of "/" against a server giving `reply` and returns the task's result. */
static int fetch_one(const char *reply, enum canned_after after, const weft_http_client_config *cfg,
                     size_t cap)
{
    struct canned_reply r[] = {{reply, after}};
    struct ctx c;
    assert_int_equal(ctx_open_cfg(&c, r, 1, cfg, false), 0);
    struct fetch *f = ctx_fetch(&c, "/");
    f->cap = cap;
    int result = ctx_run(&c);
    assert_int_equal(f->ex.error, result < 0 ? result : 0);
    ctx_close(&c);
    return result;
}

static void test_truncated(void **state)
{
    (void)state;
    assert_int_equal(
        fetch_one("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc", CANNED_CLOSE, NULL, 0),
        WEFT_EHTTP_TRUNCATED);
    assert_int_equal(fetch_one("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab",
                               CANNED_CLOSE, NULL, 0),
                     WEFT_EHTTP_TRUNCATED);
    assert_int_equal(fetch_one("HTTP/1.1 200 OK\r\nConte", CANNED_CLOSE, NULL, 0),
                     WEFT_EHTTP_TRUNCATED);
}

static void test_no_response(void **state)
{
    (void)state;
    assert_int_equal(fetch_one("", CANNED_CLOSE, NULL, 0), WEFT_EHTTP_NORESPONSE);
}

static char big_head[2048];

static void test_head_too_big(void **state)
{
    (void)state;
    weft_http_client_config cfg = {.head_size = 256};
    int n = snprintf(big_head, sizeof big_head, "HTTP/1.1 200 OK\r\nX-Big: ");
    memset(big_head + n, 'a', 400);
    snprintf(big_head + n + 400, sizeof big_head - (size_t)n - 400,
             "\r\nContent-Length: 0\r\n\r\n");
    assert_int_equal(fetch_one(big_head, CANNED_KEEP, &cfg, 0), WEFT_EHTTP_TOOBIG);
}

static void test_too_many_headers(void **state)
{
    (void)state;
    weft_http_client_config cfg = {.max_headers = 4};
    assert_int_equal(fetch_one("HTTP/1.1 200 OK\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\nE: 5\r\n"
                               "Content-Length: 0\r\n\r\n",
                               CANNED_KEEP, &cfg, 0),
                     WEFT_EHTTP_TOOMANY);
}

static void test_body_too_big(void **state)
{
    (void)state;
    /* Content-Length over the buffer: known from the head. */
    assert_int_equal(
        fetch_one("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n", CANNED_KEEP, NULL, 10),
        WEFT_EHTTP_BODY_TOOBIG);
    /* Chunked: found out as it arrives. */
    assert_int_equal(fetch_one("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                               "8\r\n12345678\r\n8\r\n12345678\r\n0\r\n\r\n",
                               CANNED_KEEP, NULL, 10),
                     WEFT_EHTTP_BODY_TOOBIG);
    /* The exchange's own max_body, with the body taken in pieces. */
    struct canned_reply r[] = {{"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n", CANNED_KEEP}};
    struct ctx c;
    ctx_open(&c, r, 1);
    struct fetch *f = ctx_fetch(&c, "/");
    f->max_body = 50;
    f->pieces = true;
    assert_int_equal(ctx_run(&c), WEFT_EHTTP_BODY_TOOBIG);
    ctx_close(&c);
}

static void test_request_head_too_big(void **state)
{
    (void)state;
    static char value[20000];
    memset(value, 'v', sizeof value);
    weft_http_header hdr[] = {{"X-Huge", 6, value, sizeof value}};
    struct ctx c;
    ctx_open(&c, ok_reply, N(ok_reply));
    struct fetch *f = ctx_fetch(&c, "/");
    f->headers = hdr;
    f->nheaders = 1;
    assert_int_equal(ctx_run(&c), WEFT_EHTTP_TOOBIG);
    assert_int_equal(atomic_load(&c.srv.requests), 0);
    ctx_close(&c);
}

static void test_garbage(void **state)
{
    (void)state;
    assert_int_equal(fetch_one("SSH-2.0-OpenSSH_9.6\r\n\r\n", CANNED_CLOSE, NULL, 0),
                     WEFT_EHTTP_PARSE);
    assert_int_equal(fetch_one("HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
                               CANNED_KEEP, NULL, 0),
                     WEFT_EHTTP_PARSE);
}

static void test_reset_mid_response(void **state)
{
    (void)state;
    assert_int_equal(
        fetch_one("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npartial", CANNED_RESET, NULL, 0),
        -ECONNRESET);
}

static void test_refused(void **state)
{
    (void)state;
    int fds = weft_test_fd_count();
    uint16_t port;
    int hold = weft_test_refusing_port(&port);
    weft_runtime rt;
    weft_http_client client;
    assert_int_equal(weft_runtime_init(&rt), 0);
    assert_int_equal(weft_http_client_init(&client, &rt, NULL), 0);
    struct fetch *f = calloc(1, sizeof *f);
    assert_non_null(f);
    f->client = &client;
    snprintf(f->url, sizeof f->url, "http://127.0.0.1:%u/", (unsigned)port);
    assert_int_equal(weft_runtime_block_on(&rt, fetch_task, f), -ECONNREFUSED);
    assert_int_equal(f->ex.error, -ECONNREFUSED);
    assert_int_equal(weft_http_client_close(&client), 0);
    assert_int_equal(weft_runtime_close(&rt), 0);
    close(hold);
    free(f);
    assert_int_equal(weft_test_fd_count(), fds);
}

static const struct canned_reply hang_reply[] = {{"", CANNED_HANG}};

static void test_timeout(void **state)
{
    (void)state;
    struct ctx c;
    ctx_open(&c, hang_reply, N(hang_reply));
    struct fetch *f = ctx_fetch(&c, "/");
    f->timeout = WEFT_MSEC(200);
    int64_t t0 = weft_test_now_ns();
    assert_int_equal(ctx_run(&c), -ETIMEDOUT);
    assert_true(weft_test_now_ns() - t0 >= WEFT_MSEC(200));
    assert_true(f->timing.done - f->timing.start >= WEFT_MSEC(200));
    assert_int_equal(c.client.open, 0);
    ctx_close(&c);
}

/* Errors found before any connection is made. */
static void test_url_errors(void **state)
{
    (void)state;
    struct ctx c;
    ctx_open(&c, ok_reply, N(ok_reply));
    struct fetch *f = ctx_fetch(&c, "/");
    snprintf(f->url, sizeof f->url, "https://127.0.0.1:%u/", (unsigned)c.srv.port);
    assert_int_equal(ctx_run(&c), WEFT_EHTTP_UNSUPPORTED);
    f = ctx_fetch(&c, "/");
    snprintf(f->url, sizeof f->url, "http://exa mple/");
    assert_int_equal(ctx_run(&c), WEFT_EHTTP_URL);
    f = ctx_fetch(&c, "/");
    snprintf(f->url, sizeof f->url, "ftp://127.0.0.1/");
    assert_int_equal(ctx_run(&c), WEFT_EHTTP_URL);
    usleep(20000);
    assert_int_equal(atomic_load(&c.srv.accepts), 0);
    ctx_close(&c);
}

/* Every error the client reports has a message of its own. */
static void test_error_messages_distinct(void **state)
{
    (void)state;
    const int codes[] = {
        WEFT_EHTTP_PARSE,      WEFT_EHTTP_TOOBIG,    WEFT_EHTTP_TRUNCATED, WEFT_EHTTP_UNSUPPORTED,
        WEFT_EHTTP_URL,        WEFT_EHTTP_REDIRECTS, WEFT_EHTTP_TOOMANY,   WEFT_EHTTP_BODY_TOOBIG,
        WEFT_EHTTP_NORESPONSE, WEFT_ERESOLVE,        WEFT_EADDR,           -EAGAIN,
        -ECONNREFUSED,         -ECONNRESET,          -ETIMEDOUT,           -EPIPE};
    for (size_t i = 0; i < N(codes); i++) {
        assert_string_not_equal(weft_strerror(codes[i]), "unknown error");
        for (size_t j = 0; j < i; j++)
            assert_string_not_equal(weft_strerror(codes[i]), weft_strerror(codes[j]));
    }
}

/* ============================================================================================
 * Cancellation and closing
 * ========================================================================================== */

/* Cancels the victim, a fetch of f, once it is connected and 50 ms more have passed (with one
 * park at least): a fixed sleep alone could end before the connect on a slow machine. */
struct canceller {
    weft_co co;
    weft_task victim;
    const struct fetch *f;
    struct weft_test_nap nap;
};

static int canceller_task(void *frame, weft_cx *cx)
{
    struct canceller *k = frame;
    WEFT_BEGIN(&k->co);
    WEFT_AWAIT(&k->co, weft_test_nap_until(&k->nap, k->f->ex.timing.connected != 0, cx));
    WEFT_AWAIT(&k->co, weft_test_nap(&k->nap, WEFT_MSEC(50), cx));
    WEFT_END(&k->co, weft_task_cancel(cx->rt, k->victim));
}

static void test_cancel_mid_exchange(void **state)
{
    (void)state;
    struct ctx c;
    ctx_open(&c, hang_reply, N(hang_reply));
    ctx_fetch(&c, "/");
    struct canceller k = {.f = c.f};
    assert_int_equal(weft_task_spawn(&c.rt, fetch_task, c.f, &k.victim), 0);
    assert_int_equal(weft_runtime_block_on(&c.rt, canceller_task, &k), 1);
    assert_int_equal(weft_task_result(&c.rt, k.victim), -ECANCELED);
    assert_int_equal(c.client.open, 0);
    ctx_close(&c);
}

static const struct canned_reply reset_mid_head_reply[] = {
    {"HTTP/1.1 200 OK\r\nContent-Le", CANNED_RESET},
    {"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello", CANNED_KEEP},
};

/* A reset in the middle of the head, on a new connection: an error, no retry, the connection
 * closed and not pooled; the next exchange on the client opens a new one and succeeds. */
static void test_reset_mid_head_then_reuse(void **state)
{
    (void)state;
    struct ctx c;
    ctx_open(&c, reset_mid_head_reply, N(reset_mid_head_reply));
    struct fetch *f = ctx_fetch(&c, "/1");
    assert_int_equal(ctx_run(&c), -ECONNRESET);
    assert_int_equal(f->ex.error, -ECONNRESET);
    assert_int_equal(c.client.open, 0);
    assert_int_equal(c.client.retries, 0);
    f = ctx_fetch(&c, "/2");
    assert_int_equal(ctx_run(&c), 5);
    assert_false(f->reused);
    assert_int_equal(atomic_load(&c.srv.accepts), 2);
    ctx_close(&c);
}

/*
 * An exchange stopped while its request is still being sent: a POST whose body is far larger
 * than the socket buffers, to a listener that never accepts (the kernel completes the handshake,
 * nobody reads). Cancelled, or out of time: either way nothing is left open.
 */
static void check_stopped_while_sending(bool cancel)
{
    int fds = weft_test_fd_count();
    uint16_t port;
    int listener = weft_test_tcp_listener(&port);
    weft_runtime rt;
    weft_http_client client;
    assert_int_equal(weft_runtime_init(&rt), 0);
    assert_int_equal(weft_http_client_init(&client, &rt, NULL), 0);
    struct fetch *f = calloc(1, sizeof *f);
    assert_non_null(f);
    const size_t body_len = 64u << 20;
    char *body = calloc(1, body_len);
    assert_non_null(body);
    f->client = &client;
    f->method = WEFT_HTTP_POST;
    f->body = body;
    f->body_len = body_len;
    snprintf(f->url, sizeof f->url, "http://127.0.0.1:%u/", (unsigned)port);
    int64_t t0 = weft_test_now_ns();
    if (cancel) {
        struct canceller k = {.f = f};
        assert_int_equal(weft_task_spawn(&rt, fetch_task, f, &k.victim), 0);
        assert_int_equal(weft_runtime_block_on(&rt, canceller_task, &k), 1);
        assert_int_equal(weft_task_result(&rt, k.victim), -ECANCELED);
    } else {
        f->timeout = WEFT_MSEC(100);
        assert_int_equal(weft_runtime_block_on(&rt, fetch_task, f), -ETIMEDOUT);
        assert_int_equal(f->ex.error, -ETIMEDOUT);
        assert_true(weft_test_now_ns() - t0 >= WEFT_MSEC(100));
    }
    assert_true(f->ex.timing.connected > 0); /* it was past the connect */
    assert_int_equal(client.open, 0);
    assert_int_equal(weft_http_client_close(&client), 0);
    assert_int_equal(weft_runtime_close(&rt), 0);
    close(listener);
    free(body);
    free(f);
    assert_int_equal(weft_test_fd_count(), fds);
}

static void test_cancel_while_sending(void **state)
{
    (void)state;
    check_stopped_while_sending(true);
}

static void test_timeout_while_sending(void **state)
{
    (void)state;
    check_stopped_while_sending(false);
}

/* A client closed while an exchange still holds a connection frees it and says so. */
static void test_client_close_busy(void **state)
{
    (void)state;
    struct ctx c;
    ctx_open(&c, ok_reply, N(ok_reply));
    struct fetch *f = ctx_fetch(&c, "/");
    f->leave_open = true;
    assert_int_equal(ctx_run(&c), 5);
    assert_int_equal(c.client.open, 1);
    assert_int_equal(c.client.idle, 0);
    assert_int_equal(weft_http_client_close(&c.client), -EBUSY);
    assert_int_equal(c.client.open, 0);
    ctx_close(&c); /* closing again is harmless */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_content_length),
        cmocka_unit_test(test_chunked),
        cmocka_unit_test(test_close_delimited),
        cmocka_unit_test(test_interim_1xx),
        cmocka_unit_test(test_head_then_get),
        cmocka_unit_test(test_large_chunked_pieces),
        cmocka_unit_test(test_post_large_body),
        cmocka_unit_test(test_keepalive_reuse),
        cmocka_unit_test(test_preparsed_target),
        cmocka_unit_test(test_localhost),
        cmocka_unit_test(test_unknown_host_needs_dns),
        cmocka_unit_test(test_ipv6_literal_needs_ipv6),
        cmocka_unit_test(test_pool_limit),
        cmocka_unit_test(test_idle_timeout),
        cmocka_unit_test(test_dead_pooled_retried),
        cmocka_unit_test(test_dead_pooled_post_not_retried),
        cmocka_unit_test(test_redirect_chain),
        cmocka_unit_test(test_redirect_308_keeps_method_and_body),
        cmocka_unit_test(test_redirect_limit),
        cmocka_unit_test(test_redirect_to_https_refused),
        cmocka_unit_test(test_truncated),
        cmocka_unit_test(test_no_response),
        cmocka_unit_test(test_head_too_big),
        cmocka_unit_test(test_too_many_headers),
        cmocka_unit_test(test_body_too_big),
        cmocka_unit_test(test_request_head_too_big),
        cmocka_unit_test(test_garbage),
        cmocka_unit_test(test_reset_mid_response),
        cmocka_unit_test(test_refused),
        cmocka_unit_test(test_timeout),
        cmocka_unit_test(test_url_errors),
        cmocka_unit_test(test_error_messages_distinct),
        cmocka_unit_test(test_cancel_mid_exchange),
        cmocka_unit_test(test_reset_mid_head_then_reuse),
        cmocka_unit_test(test_cancel_while_sending),
        cmocka_unit_test(test_timeout_while_sending),
        cmocka_unit_test(test_client_close_busy),
    };
    return WEFT_TEST_RUN(tests, NULL, NULL);
}
