/*
 * The HTTP client against hostile servers.
 *
 * Each server here is a task in the client's own runtime that accepts one connection, reads the
 * request head and then plays a script: endless header lines, an endless status line, endless
 * interim responses, a huge Content-Length and then a close, a chunk cut off in the middle and
 * then silence, an endless chunk extension, an endless body, garbage, a head trickled a byte at
 * a time, a reset. tests/http/test_http_client.c covers the short versions (a truncated body, a
 * head over the limit, a reset); here the server does not stop on its own, so the checks are that
 * the client stops it: the right error, within the exchange's deadline where one applies, having
 * read a bounded amount, and with its heap never holding more than one connection's buffers
 * (fault_alloc.c's peak of live bytes) however much the server sent.
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <weft/tcp.h>

#include "fault.h"
#include "weft_test.h"
#include "world.h"

/* ============================================================================================
 * Scripts
 * ========================================================================================== */

enum script {
    OK,                  /* a normal response (warms the pools up) */
    ENDLESS_FIELDS,      /* short header lines, without end */
    ENDLESS_LONG_FIELDS, /* 200-byte header lines, without end */
    ENDLESS_LINE,        /* one header line that never ends */
    ENDLESS_STATUS,      /* a status line that never ends */
    ENDLESS_INTERIM,     /* 100 Continue, again and again */
    HUGE_LENGTH_CLOSE,   /* Content-Length: 10^12, 1000 bytes, then a close */
    MID_CHUNK_HANG,      /* a chunk cut off in the middle, then silence */
    ENDLESS_EXTENSION,   /* a chunk-size line with an extension that never ends */
    ENDLESS_BODY,        /* 1 KB chunks without end */
    GARBAGE,             /* random bytes without end */
    TRICKLE,             /* a response head, one byte every 20 ms */
    RESET,               /* a reset as soon as the request is in */
};

/* After the script's bytes: how the server ends the connection. */
enum ending { CLOSE, RST, HANG };

static const char chunked_head[] = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";

/* Writes the script's next piece into buf (at most cap bytes). Returns its length; 0 when the
 * script is over. step counts the pieces already written. */
static size_t script_piece(enum script s, size_t step, char *buf, size_t cap, uint64_t *rng)
{
    switch (s) {
    case OK:
        return step ? 0
                    : (size_t)snprintf(buf, cap, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
    case ENDLESS_FIELDS:
        if (step == 0) return (size_t)snprintf(buf, cap, "HTTP/1.1 200 OK\r\n");
        return (size_t)snprintf(buf, cap, "X-%zu: v\r\n", step);
    case ENDLESS_LONG_FIELDS:
        if (step == 0) return (size_t)snprintf(buf, cap, "HTTP/1.1 200 OK\r\n");
        return (size_t)snprintf(buf, cap, "X-%zu: %0190d\r\n", step, 0);
    case ENDLESS_LINE:
        if (step == 0) return (size_t)snprintf(buf, cap, "HTTP/1.1 200 OK\r\nX-Long: ");
        memset(buf, 'a', cap);
        return cap;
    case ENDLESS_STATUS:
        if (step == 0) return (size_t)snprintf(buf, cap, "HTTP/1.1 200 ");
        memset(buf, 'O', cap);
        return cap;
    case ENDLESS_INTERIM:
        return (size_t)snprintf(buf, cap, "HTTP/1.1 100 Continue\r\n\r\n");
    case HUGE_LENGTH_CLOSE:
        if (step == 0)
            return (size_t)snprintf(buf, cap,
                                    "HTTP/1.1 200 OK\r\nContent-Length: 1000000000000\r\n\r\n");
        if (step > 1) return 0;
        memset(buf, 'b', 1000);
        return 1000;
    case MID_CHUNK_HANG:
        return step ? 0 : (size_t)snprintf(buf, cap, "%s10\r\nabc", chunked_head);
    case ENDLESS_EXTENSION:
        if (step == 0) return (size_t)snprintf(buf, cap, "%s5;ext=", chunked_head);
        memset(buf, 'e', cap);
        return cap;
    case ENDLESS_BODY:
        if (step == 0) return (size_t)snprintf(buf, cap, "%s", chunked_head);
        memset(buf, 'c', 1024 + 8);
        memcpy(buf, "400\r\n", 5);
        memcpy(buf + 5 + 1024, "\r\n", 2);
        return 5 + 1024 + 2;
    case GARBAGE:
        for (size_t i = 0; i < cap; i++) {
            *rng = *rng * 6364136223846793005u + 1442695040888963407u;
            buf[i] = (char)(*rng >> 56);
        }
        return cap;
    case TRICKLE: {
        static const char head[] = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nslow!";
        if (step >= sizeof head - 1) return 0;
        buf[0] = head[step];
        return 1;
    }
    case RESET:
        return 0;
    }
    return 0;
}

static enum ending script_ending(enum script s)
{
    if (s == RESET) return RST;
    if (s == MID_CHUNK_HANG) return HANG;
    return CLOSE;
}

/* ============================================================================================
 * The hostile server: one connection, one script
 * ========================================================================================== */

struct evil {
    weft_co co;
    weft_tcp_listener *l;
    enum script script;
    weft_tcp_stream s;
    weft_tcp_reader rd;
    char head[4096];
    weft_tcp_xfer x;
    char out[4096];
    size_t len, step;
    uint64_t sent, rng;
    int64_t deadline, wake;
    int r;
};

static void evil_reset(struct evil *f, weft_runtime *rt)
{
    struct linger lg = {1, 0};
    setsockopt(weft_io_fd(&f->s.io), SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    weft_tcp_close(rt, &f->s);
}

static int evil(void *frame, weft_cx *cx)
{
    struct evil *f = frame;
    WEFT_BEGIN(&f->co);
    f->rng = 42;
    f->deadline = weft_deadline_in(WEFT_SEC(10)); /* a backstop: the client must end it first */
    WEFT_AWAIT(&f->co, f->r = weft_tcp_accept_dl(f->l, &f->s, NULL, f->deadline, cx));
    if (f->r < 0) WEFT_RETURN(&f->co, f->r);
    weft_tcp_reader_init(&f->rd, f->head, sizeof f->head);
    WEFT_AWAIT_CHILD(&f->co, &f->rd.co, f->r,
                     weft_tcp_read_until_dl(&f->rd, &f->s, "\r\n\r\n", 4, f->deadline, cx));
    for (f->step = 0; f->r >= 0; f->step++) {
        f->len = script_piece(f->script, f->step, f->out, sizeof f->out, &f->rng);
        if (f->len == 0) break;
        WEFT_AWAIT_CHILD(&f->co, &f->x.co, f->r,
                         weft_tcp_write_all_dl(&f->x, &f->s, f->out, f->len, f->deadline, cx));
        f->sent += f->x.done;
        if (f->script == TRICKLE) WEFT_AWAIT(&f->co, weft_sleep_for(&f->wake, WEFT_MSEC(20), cx));
    }
    if (f->r >= 0 && script_ending(f->script) == HANG) /* until the client gives up */
        WEFT_AWAIT(&f->co,
                   f->r = weft_tcp_read_dl(&f->s, f->head, sizeof f->head, f->deadline, cx));
    if (script_ending(f->script) == RST)
        evil_reset(f, cx->rt);
    else
        weft_tcp_close(cx->rt, &f->s);
    WEFT_ON_CANCEL(&f->co);
    weft_tcp_close(cx->rt, &f->s);
    WEFT_END(&f->co, 0);
}

/* ============================================================================================
 * The client side
 * ========================================================================================== */

static struct world world;
static struct fetch fetch_frame;
static struct evil evil_frame;
static struct task_set set;
static weft_tcp_listener listener;

struct result {
    int r;         /* the fetch's result: body length or error */
    uint64_t sent; /* bytes the server got out before the client stopped it */
    int64_t took;  /* ns */
    long peak;     /* the most heap bytes live during the exchange, beyond those before it */
};

/* Runs one exchange against a server playing script; fetch options come from cfg. */
static struct result play(enum script script, bool pieces, int64_t timeout, uint64_t max_body)
{
    weft_addr addr;
    assert_int_equal(weft_addr_parse(&addr, "127.0.0.1:0"), 0);
    assert_int_equal(weft_tcp_listen(&world.rt, &listener, &addr, 4), 0);
    assert_int_equal(weft_tcp_listener_addr(&world.rt, &listener, &addr), 0);
    memset(&evil_frame, 0, sizeof evil_frame);
    evil_frame.l = &listener;
    evil_frame.script = script;
    fetch_init(&fetch_frame, &world, "/", 1);
    snprintf(fetch_frame.url, sizeof fetch_frame.url, "http://127.0.0.1:%d/",
             weft_addr_port(&addr));
    fetch_frame.pieces = pieces;
    fetch_frame.timeout = timeout;
    fetch_frame.max_body = max_body;
    memset(&set, 0, sizeof set);
    task_set_add(&set, evil, &evil_frame);
    task_set_add(&set, fetch_task, &fetch_frame);
    long before = fault_alloc_live_bytes();
    fault_alloc_peak_reset();
    int64_t t0 = weft_test_now_ns();
    assert_int_equal(run_tasks(&world, &set), 0);
    struct result res = {fetch_frame.result[0], evil_frame.sent, weft_test_now_ns() - t0,
                         fault_alloc_peak_bytes() - before};
    weft_tcp_listener_close(&world.rt, &listener);
    return res;
}

/* The client's heap may hold one connection (its buffers, about 27 KB with the default sizes)
 * and some records, whatever the server sends. */
#define HEAP_LIMIT (64 * 1024)

static void expect(struct result res, int error, const char *what)
{
    print_message("%-34s %-26s after %8llu bytes, %6.1f ms, heap peak %+ld B\n", what,
                  weft_strerror(res.r), (unsigned long long)res.sent, (double)res.took / 1e6,
                  res.peak);
    if (res.r != error)
        fail_msg("%s: %d (%s), expected %s", what, res.r, weft_strerror(res.r),
                 weft_strerror(error));
    if (res.peak > HEAP_LIMIT) fail_msg("%s: the heap grew by %ld bytes", what, res.peak);
}

static struct leak_snapshot before;

static int setup(void **state)
{
    (void)state;
    before = leak_snapshot_take();
    assert_int_equal(world_open(&world, NULL, NULL), 0);
    struct result warm = play(OK, false, 0, WEFT_HTTP_UNLIMITED); /* pools and tables */
    assert_int_equal(warm.r, 2);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    assert_int_equal(world_close(&world), 0);
    expect_no_leak(before, "hostile servers");
    return 0;
}

/* ============================================================================================
 * The tests
 * ========================================================================================== */

static void endless_heads(void **state)
{
    (void)state;
    expect(play(ENDLESS_FIELDS, false, 0, WEFT_HTTP_UNLIMITED), WEFT_EHTTP_TOOMANY,
           "endless header fields");
    expect(play(ENDLESS_LONG_FIELDS, false, 0, WEFT_HTTP_UNLIMITED), WEFT_EHTTP_TOOBIG,
           "endless long header fields");
    expect(play(ENDLESS_LINE, false, 0, WEFT_HTTP_UNLIMITED), WEFT_EHTTP_TOOBIG,
           "an endless header line");
    expect(play(ENDLESS_STATUS, false, 0, WEFT_HTTP_UNLIMITED), WEFT_EHTTP_TOOBIG,
           "an endless status line");
    expect(play(ENDLESS_EXTENSION, true, 0, WEFT_HTTP_UNLIMITED), WEFT_EHTTP_TOOBIG,
           "an endless chunk extension");
}

/* 100 Continue without end: each is a complete interim response, so no size limit is reached;
 * the exchange's deadline has to end it. */
static void endless_interim_responses(void **state)
{
    (void)state;
    struct result res = play(ENDLESS_INTERIM, false, WEFT_MSEC(300), WEFT_HTTP_UNLIMITED);
    expect(res, -ETIMEDOUT, "endless 100 Continue, 300 ms");
    assert_true(res.took >= WEFT_MSEC(300));
}

static void huge_length_then_close(void **state)
{
    (void)state;
    expect(play(HUGE_LENGTH_CLOSE, true, 0, WEFT_HTTP_UNLIMITED), WEFT_EHTTP_TRUNCATED,
           "huge Content-Length, close (pieces)");
    expect(play(HUGE_LENGTH_CLOSE, false, 0, WEFT_HTTP_UNLIMITED), WEFT_EHTTP_BODY_TOOBIG,
           "huge Content-Length (read_all)");
    expect(play(HUGE_LENGTH_CLOSE, true, 0, 1 << 20), WEFT_EHTTP_BODY_TOOBIG,
           "huge Content-Length (max_body 1 MB)");
}

static void mid_chunk_then_silence(void **state)
{
    (void)state;
    struct result res = play(MID_CHUNK_HANG, true, WEFT_MSEC(200), WEFT_HTTP_UNLIMITED);
    expect(res, -ETIMEDOUT, "a chunk cut off, then silence");
    assert_true(res.took >= WEFT_MSEC(200));
}

static void endless_body(void **state)
{
    (void)state;
    expect(play(ENDLESS_BODY, false, 0, WEFT_HTTP_UNLIMITED), WEFT_EHTTP_BODY_TOOBIG,
           "endless body (read_all)");
    expect(play(ENDLESS_BODY, true, 0, 4 << 20), WEFT_EHTTP_BODY_TOOBIG,
           "endless body (max_body 4 MB)");
    /* Read in pieces with no size limit, only a deadline: the deadline ends it, even though the
     * body never stops arriving (the client never waits, so a wait's deadline cannot). */
    struct result res = play(ENDLESS_BODY, true, WEFT_MSEC(300), WEFT_HTTP_UNLIMITED);
    expect(res, -ETIMEDOUT, "endless body, 300 ms");
    assert_true(res.took >= WEFT_MSEC(300));
}

static void garbage(void **state)
{
    (void)state;
    expect(play(GARBAGE, false, 0, WEFT_HTTP_UNLIMITED), WEFT_EHTTP_PARSE, "garbage");
}

static void trickled_head(void **state)
{
    (void)state;
    struct result res = play(TRICKLE, false, WEFT_MSEC(300), WEFT_HTTP_UNLIMITED);
    expect(res, -ETIMEDOUT, "a head trickled, 300 ms");
    assert_true(res.took >= WEFT_MSEC(300));
    assert_true(res.sent < 40);
}

static void reset_at_once(void **state)
{
    (void)state;
    struct result res = play(RESET, false, 0, WEFT_HTTP_UNLIMITED);
    expect(res, res.r == -ECONNRESET ? -ECONNRESET : WEFT_EHTTP_NORESPONSE,
           "reset after the request");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(endless_heads),          cmocka_unit_test(endless_interim_responses),
        cmocka_unit_test(huge_length_then_close), cmocka_unit_test(mid_chunk_then_silence),
        cmocka_unit_test(endless_body),           cmocka_unit_test(garbage),
        cmocka_unit_test(trickled_head),          cmocka_unit_test(reset_at_once),
    };
    return cmocka_run_group_tests_name("hostile_servers", tests, setup, teardown);
}
