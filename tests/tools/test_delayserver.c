/*
 * weft-delayserver from the outside: the real program on 127.0.0.1, a free port, plain blocking
 * sockets as clients. Each test starts its own server (with short deadlines, so that timeouts
 * can be tested quickly) and stops it with SIGTERM at the end, which must exit 0 — under the
 * sanitizers that also means no leak was reported.
 *
 * Timing checks are lower bounds only ("no earlier than the delay"). That delays overlap is shown
 * by order instead: short ones are all answered while a long one still waits. Waits that could
 * hang have a generous guard, which is not a timing check.
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ds_client.h"

#ifndef WEFT_DELAYSERVER_BIN
#error "WEFT_DELAYSERVER_BIN must name the weft-delayserver program"
#endif

/* How long a check waits for the server to close a connection it should close. Only a guard
 * against a hang, never a measure of speed (this machine is shared and slow at times): where a
 * test needs "closed before X", X is made longer than this guard instead. */
enum { CLOSE_GUARD_MS = 30000 };

/* Deadlines short enough to test: a head must arrive within 400 ms, idle connections last
 * 800 ms, a shutdown lets responses finish for 1 s. */

static const char *const test_args[] = {
    "--header-timeout", "400", "--idle-timeout", "800", "--grace", "1000", NULL};

static int server_up(void **state)
{
    struct ds_server *s = calloc(1, sizeof *s);
    ds_server_start(s, WEFT_DELAYSERVER_BIN, test_args);
    *state = s;
    return 0;
}

static int server_down(void **state)
{
    struct ds_server *s = *state;
    int status = ds_server_stop(s, SIGTERM);
    unlink(s->out_path);
    free(s);
    assert_int_equal(status, 0);
    return 0;
}

static struct ds_client *client_new(const struct ds_server *s)
{
    struct ds_client *c = malloc(sizeof *c);
    assert_non_null(c);
    ds_connect(c, s->port);
    return c;
}

static void client_free(struct ds_client *c)
{
    ds_close(c);
    free(c);
}

/* GET path on c; the response must be 200 with body expect. */
static void get_ok(struct ds_client *c, const char *path, const char *extra, const char *expect,
                   struct ds_response *r)
{
    char req[1024];
    snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: test\r\n%s\r\n", path, extra);
    ds_send(c, req);
    assert_int_equal(ds_read_response(c, r, false), 0);
    assert_int_equal(r->status, 200);
    assert_string_equal(r->body, expect);
    assert_int_equal(r->content_length, (long)strlen(expect));
}

/* Sends a raw request on a new connection; expects status, `Connection: close`, then EOF. */
static void expect_error(const struct ds_server *s, const char *request, int status)
{
    struct ds_client *c = client_new(s);
    struct ds_response r;
    ds_send(c, request);
    assert_int_equal(ds_read_response(c, &r, false), 0);
    if (r.status != status) fail_msg("%s -> %d, expected %d", request, r.status, status);
    assert_true(r.close);
    assert_true(r.body_len > 0);
    assert_true(ds_closed_within(c, CLOSE_GUARD_MS));
    client_free(c);
}

/* ---- keep-alive and close ------------------------------------------------------------------ */

static void keep_alive_serves_two_requests(void **state)
{
    struct ds_client *c = client_new(*state);
    struct ds_response r;
    get_ok(c, "/10/first", "", "first", &r);
    assert_false(r.close);
    get_ok(c, "/0/second", "", "second", &r);
    assert_false(r.close);
    client_free(c);
}

/* The book's examples: `Connection: close`, then read to EOF. */
static void connection_close_is_honoured(void **state)
{
    struct ds_client *c = client_new(*state);
    struct ds_response r;
    get_ok(c, "/50/bye", "Connection: close\r\n", "bye", &r);
    assert_true(r.close);
    assert_true(ds_closed_within(c, CLOSE_GUARD_MS));
    assert_int_equal(c->len, 0);
    client_free(c);
}

static void http10_closes_unless_asked(void **state)
{
    struct ds_client *c = client_new(*state);
    struct ds_response r;
    ds_send(c, "GET /0/old HTTP/1.0\r\n\r\n");
    assert_int_equal(ds_read_response(c, &r, false), 0);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "old");
    assert_true(r.close);
    assert_true(ds_closed_within(c, CLOSE_GUARD_MS));
    client_free(c);

    c = client_new(*state);
    ds_send(c, "GET /0/a HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    assert_int_equal(ds_read_response(c, &r, false), 0);
    assert_true(r.keep_alive);
    ds_send(c, "GET /0/b HTTP/1.0\r\n\r\n");
    assert_int_equal(ds_read_response(c, &r, false), 0);
    assert_string_equal(r.body, "b");
    assert_true(r.close);
    client_free(c);
}

/* The first request is slow, the second instant: the answers still come in request order. */
static void pipelined_requests_answered_in_order(void **state)
{
    struct ds_client *c = client_new(*state);
    struct ds_response r;
    int64_t start = ds_now_ms();
    ds_send(c, "GET /300/a HTTP/1.1\r\nHost: t\r\n\r\n"
               "GET /0/b HTTP/1.1\r\nHost: t\r\n\r\n"
               "HEAD /0/ccc HTTP/1.1\r\nHost: t\r\n\r\n"
               "GET /0/d HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
    assert_int_equal(ds_read_response(c, &r, false), 0);
    assert_string_equal(r.body, "a");
    assert_true(ds_now_ms() - start >= 300);
    assert_int_equal(ds_read_response(c, &r, false), 0);
    assert_string_equal(r.body, "b");
    assert_int_equal(ds_read_response(c, &r, true), 0); /* HEAD: the length, no body */
    assert_int_equal(r.status, 200);
    assert_int_equal(r.content_length, 3);
    assert_int_equal(ds_read_response(c, &r, false), 0);
    assert_string_equal(r.body, "d");
    assert_true(r.close);
    assert_true(ds_closed_within(c, CLOSE_GUARD_MS));
    client_free(c);
}

/* ---- what the path means ------------------------------------------------------------------- */

static void message_is_percent_decoded(void **state)
{
    struct ds_client *c = client_new(*state);
    struct ds_response r;
    get_ok(c, "/0/hello%20w%C3%B6rld", "", "hello w\xc3\xb6rld", &r);
    get_ok(c, "/0/a%2Fb/c?query=ignored", "", "a/b/c", &r);
    get_ok(c, "/0/1+1%3D2", "", "1+1=2", &r);
    get_ok(c, "/007/", "", "", &r);
    get_ok(c, "http://example.com/0/absolute", "", "absolute", &r);
    client_free(c);
}

static void response_comes_no_earlier_than_the_delay(void **state)
{
    struct ds_client *c = client_new(*state);
    struct ds_response r;
    int64_t start = ds_now_ms();
    get_ok(c, "/250/late", "", "late", &r);
    assert_true(ds_now_ms() - start >= 250);
    client_free(c);
}

static void requests_are_logged(void **state)
{
    struct ds_server *s = *state;
    struct ds_client *c = client_new(s);
    struct ds_response r;
    get_ok(c, "/20/hello%20there", "", "hello there", &r);
    get_ok(c, "/0/two%0Alines", "", "two\nlines", &r);
    client_free(c);
    assert_true(ds_server_output_has(s, "#1 - 20ms: hello there\n"));
    assert_true(ds_server_output_has(s, "#2 - 0ms: two\\x0alines\n"));
}

/* ---- bad requests -------------------------------------------------------------------------- */

static void bad_paths_get_400(void **state)
{
    expect_error(*state, "GET / HTTP/1.1\r\nHost: t\r\n\r\n", 400);
    expect_error(*state, "GET /abc/x HTTP/1.1\r\nHost: t\r\n\r\n", 400);
    expect_error(*state, "GET /100 HTTP/1.1\r\nHost: t\r\n\r\n", 400);
    expect_error(*state, "GET /100/bad%zzescape HTTP/1.1\r\nHost: t\r\n\r\n", 400);
}

static void bad_delays_get_400(void **state)
{
    expect_error(*state, "GET /-5/x HTTP/1.1\r\nHost: t\r\n\r\n", 400);
    expect_error(*state, "GET /1.5/x HTTP/1.1\r\nHost: t\r\n\r\n", 400);
    expect_error(*state, "GET /60001/x HTTP/1.1\r\nHost: t\r\n\r\n", 400);
    expect_error(*state, "GET /99999999999999999999999/x HTTP/1.1\r\nHost: t\r\n\r\n", 400);
}

static void malformed_requests_get_400(void **state)
{
    expect_error(*state, "this is not http\r\n\r\n", 400);
    expect_error(*state, "GET /0/x HTTP/1.1\r\n\r\n", 400); /* HTTP/1.1 needs Host */
    expect_error(*state, "GET /0/x HTTP/1.1\r\nHost: t\r\n folded: no\r\n\r\n", 400);
}

static void other_methods_get_405(void **state)
{
    expect_error(*state, "POST /0/x HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\n\r\n", 405);
    expect_error(*state, "DELETE /0/x HTTP/1.1\r\nHost: t\r\n\r\n", 405);
    expect_error(*state, "BREW /0/coffee HTTP/1.1\r\nHost: t\r\n\r\n", 405);
    struct ds_client *c = client_new(*state);
    struct ds_response r;
    ds_send(c, "PUT /0/x HTTP/1.1\r\nHost: t\r\n\r\n");
    assert_int_equal(ds_read_response(c, &r, false), 0);
    assert_true(r.allow);
    client_free(c);
}

static void request_body_gets_413(void **state)
{
    expect_error(*state, "GET /0/x HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\nhello", 413);
    expect_error(*state, "GET /0/x HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n", 413);
}

static void oversized_head_gets_431(void **state)
{
    static char req[12000];
    int n = snprintf(req, sizeof req, "GET /0/x HTTP/1.1\r\nHost: t\r\nX-Big: ");
    memset(req + n, 'a', 9000);
    strcpy(req + n + 9000, "\r\n\r\n");
    expect_error(*state, req, 431);

    n = snprintf(req, sizeof req, "GET /0/x HTTP/1.1\r\nHost: t\r\n");
    for (int i = 0; i < 70; i++)
        n += snprintf(req + n, sizeof req - (size_t)n, "X-%d: v\r\n", i);
    snprintf(req + n, sizeof req - (size_t)n, "\r\n");
    expect_error(*state, req, 431);
}

/* 1 MB of header from a client that keeps sending: 431, and the server still serves others. */
static void megabyte_header_is_cut_off(void **state)
{
    struct ds_client *big = client_new(*state);
    ds_send(big, "GET /0/x HTTP/1.1\r\nHost: t\r\nX-Big: ");
    static char chunk[4096];
    memset(chunk, 'a', sizeof chunk);
    size_t sent = 0;
    while (sent < (1 << 20)) { /* the server stops reading at some point: stop on error */
        ssize_t n = send(big->fd, chunk, sizeof chunk, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n <= 0) break;
        sent += (size_t)n;
    }
    struct ds_client *other = client_new(*state);
    struct ds_response r;
    get_ok(other, "/0/fine", "", "fine", &r);
    assert_true(ds_wait_closed(big, CLOSE_GUARD_MS));
    if (big->len > 0) assert_memory_equal(big->buf, "HTTP/1.1 431 ", 13); /* if not reset */
    client_free(big);
    client_free(other);
}

/* ---- deadlines and misbehaving clients ----------------------------------------------------- */

/* A client that trickles its head (one byte every 100 ms) is answered 408 and dropped after the
 * 400 ms header deadline, while another client is served meanwhile. */
static void slow_header_is_dropped_others_served(void **state)
{
    /* The server starts the header deadline when it accepts, which may come before connect()
     * returns here: only a clock started before connecting is a lower bound. */
    int64_t start = ds_now_ms();
    struct ds_client *slow = client_new(*state);
    struct ds_client *fast = client_new(*state);
    struct ds_response r;
    const char *head = "GET /0/slow HTTP/1.1\r\nHost: t\r\n\r\n";
    size_t i = 0;
    bool answered = false;
    for (; head[i] && !answered; i++) { /* bounded by the length of head */
        if (send(slow->fd, head + i, 1, MSG_NOSIGNAL) != 1) break;
        if (i == 2) get_ok(fast, "/0/fast", "", "fast", &r);
        answered = !ds_quiet_for(slow, 100);
    }
    assert_true(head[i] != '\0'); /* dropped before the head was complete */
    assert_true(ds_wait_closed(slow, CLOSE_GUARD_MS));
    assert_true(ds_now_ms() - start >= 400);
    assert_int_equal(ds_take_response(slow, &r, false), 1);
    assert_int_equal(r.status, 408);
    assert_true(r.close);
    get_ok(fast, "/0/still", "", "still", &r);
    client_free(slow);
    client_free(fast);
}

static void silent_client_is_dropped(void **state)
{
    int64_t start = ds_now_ms(); /* before connecting: the deadline starts at the accept */
    struct ds_client *c = client_new(*state);
    assert_true(ds_closed_within(c, CLOSE_GUARD_MS));
    assert_true(ds_now_ms() - start >= 400);
    assert_int_equal(c->len, 0); /* nothing was asked, nothing is answered */
    client_free(c);
}

/* Clients that reset while their response is being delayed, or in the middle of a stream of
 * responses, disturb nobody else. */
static void reset_clients_do_not_disturb_others(void **state)
{
    struct ds_client *patient = client_new(*state);
    ds_send(patient, "GET /300/patient HTTP/1.1\r\nHost: t\r\n\r\n");
    for (int i = 0; i < 20; i++) {
        struct ds_client *rude = client_new(*state);
        ds_send(rude, i % 2 ? "GET /100/rude HTTP/1.1\r\nHost: t\r\n\r\n"
                            : "GET /0/r HTTP/1.1\r\nHost: t\r\n\r\nGET /0/r HTTP/1.1\r\n");
        ds_reset(rude);
        free(rude);
    }
    struct ds_client *flood = client_new(*state); /* many responses, then a reset mid-stream */
    for (int i = 0; i < 200; i++)
        ds_send(flood, "GET /0/flood HTTP/1.1\r\nHost: t\r\n\r\n");
    ds_reset(flood);
    free(flood);
    struct ds_response r;
    assert_int_equal(ds_read_response(patient, &r, false), 0);
    assert_string_equal(r.body, "patient");
    get_ok(patient, "/0/again", "", "again", &r);
    client_free(patient);
}

/* 10 000 pipelined requests on one connection, read while they are sent: all answered, in
 * order. */
static void ten_thousand_pipelined(void **state)
{
    struct ds_client *c = client_new(*state);
    struct ds_response r;
    char req[128];
    int answered = 0;
    for (int sent = 0; sent < 10000; sent++) {
        snprintf(req, sizeof req, "GET /0/%d HTTP/1.1\r\nHost: t\r\n\r\n", sent);
        ds_send(c, req);
        while (answered < sent - 100) { /* keep at most ~100 in flight */
            assert_int_equal(ds_read_response(c, &r, false), 0);
            assert_int_equal(atoi(r.body), answered++);
        }
    }
    while (answered < 10000) {
        assert_int_equal(ds_read_response(c, &r, false), 0);
        assert_int_equal(atoi(r.body), answered++);
    }
    client_free(c);
}

/* ---- concurrency --------------------------------------------------------------------------- */

/* Reads one response on c before the absolute time end_ms (a hang guard, not a timing check).
 * Returns 0, or -1 if the connection ended or end_ms passed first. */
static int read_response_by(struct ds_client *c, struct ds_response *r, int64_t end_ms)
{
    while (!ds_take_response(c, r, false)) {
        struct pollfd pfd = {.fd = c->fd, .events = POLLIN};
        int64_t left = end_ms - ds_now_ms();
        if (left <= 0) return -1;
        int k = poll(&pfd, 1, (int)left);
        if (k < 0 && errno == EINTR) continue;
        if (k <= 0) return -1;
        assert_true(c->len < sizeof c->buf);
        ssize_t n = recv(c->fd, c->buf + c->len, sizeof c->buf - c->len, 0);
        if (n <= 0) return -1;
        c->len += (size_t)n;
    }
    return 0;
}

/* The delays run at once: the first of 200 connections asks for 60 s, the 199 others for
 * 300 ms, and all 199 are answered while the first is still waiting (a server that answered one
 * request at a time would be stuck behind it), none before its 300 ms. 50 s is a hang guard,
 * under the first one's 60 s so that it cannot have been answered when the others are done. */
static void many_concurrent_delays_overlap(void **state)
{
    enum { N = 200, GUARD_MS = 50000 };
    struct ds_client *c[N];
    struct ds_response r;
    int64_t start = ds_now_ms();
    c[0] = client_new(*state);
    ds_send(c[0], "GET /60000/first HTTP/1.1\r\nHost: t\r\n\r\n");
    for (int i = 1; i < N; i++) {
        c[i] = client_new(*state);
        char req[128];
        snprintf(req, sizeof req, "GET /300/n%d HTTP/1.1\r\nHost: t\r\n\r\n", i);
        ds_send(c[i], req);
    }
    for (int i = 1; i < N; i++) {
        char expect[16];
        snprintf(expect, sizeof expect, "n%d", i);
        if (read_response_by(c[i], &r, start + GUARD_MS) != 0)
            fail_msg("request %d of %d (300 ms) not answered within %d s, behind a 60 s one", i, N,
                     GUARD_MS / 1000);
        assert_string_equal(r.body, expect);
        client_free(c[i]);
    }
    int64_t took = ds_now_ms() - start;
    assert_true(took >= 300);
    assert_true(ds_quiet_for(c[0], 0)); /* the 60 s one: still waiting, not answered or closed */
    client_free(c[0]);
}

/* ---- tests with a server of their own ------------------------------------------------------ */

static struct ds_server *own_server(const char *const *args)
{
    struct ds_server *s = calloc(1, sizeof *s);
    ds_server_start(s, WEFT_DELAYSERVER_BIN, args);
    return s;
}

static int own_server_stop(struct ds_server *s, int sig)
{
    int status = ds_server_stop(s, sig);
    unlink(s->out_path);
    free(s);
    return status;
}

/* Waits (bounded: a hang guard) until the server has logged line, which it does when it has read
 * a request and set its delay: from then on a signal finds that request delaying, not unread. A
 * sleep cannot say when that is on a loaded machine. */
static void wait_logged(const struct ds_server *s, const char *line)
{
    for (int64_t end = ds_now_ms() + CLOSE_GUARD_MS; !ds_server_output_has(s, line);) {
        if (ds_now_ms() > end) fail_msg("the server never logged \"%s\"", line);
        usleep(10 * 1000);
    }
}

/* An idle keep-alive connection lasts the idle timeout, and a request starts it again. The
 * server has an idle timeout of its own, 2.5 s: "still open 300 ms after the answer" holds as
 * long as the test resumes within 2.2 s of the answer (with the shared server's 800 ms, a
 * 500 ms stall of a loaded machine could see the close inside the quiet period). */
static void idle_keep_alive_times_out(void **state)
{
    (void)state;
    static const char *const args[] = {"--idle-timeout", "2500", NULL};
    struct ds_server *s = own_server(args);
    struct ds_client *c = client_new(s);
    struct ds_response r;
    get_ok(c, "/0/x", "", "x", &r);
    assert_true(ds_quiet_for(c, 300)); /* still open well before the idle timeout */
    /* The server starts its idle wait after it has answered, so a clock started before asking
     * is a lower bound that scheduling delays on a loaded machine cannot break. */
    int64_t start = ds_now_ms();
    get_ok(c, "/0/y", "", "y", &r); /* and a request resets the wait */
    assert_true(ds_closed_within(c, CLOSE_GUARD_MS));
    assert_true(ds_now_ms() - start >= 2500);
    client_free(c);
    assert_int_equal(own_server_stop(s, SIGTERM), 0);
}

static void delay_scale_multiplies(void **state)
{
    (void)state;
    static const char *const args[] = {"--delay-scale", "0.01", NULL};
    struct ds_server *s = own_server(args);
    struct ds_client *c = client_new(s);
    struct ds_response r;
    int64_t start = ds_now_ms();
    get_ok(c, "/20000/scaled", "", "scaled", &r); /* 200 ms, not 20 s (the read times out at 5) */
    assert_true(ds_now_ms() - start >= 200);
    client_free(c);
    assert_true(ds_server_output_has(s, "#1 - 20000ms: scaled"));
    assert_int_equal(own_server_stop(s, SIGTERM), 0);
}

/* SIGTERM: a delayed response still arrives (with Connection: close), an idle connection is
 * closed at once, no new connection is accepted, and the process exits 0. */
static void graceful_shutdown_finishes_responses(void **state)
{
    (void)state;
    static const char *const args[] = {"--grace", "60000", NULL}; /* > CLOSE_GUARD_MS */
    struct ds_server *s = own_server(args);
    struct ds_client *busy = client_new(s);
    struct ds_client *idle = client_new(s);
    struct ds_response r;
    get_ok(idle, "/0/idle", "", "idle", &r);
    /* The delay runs from the request's arrival: a clock started before sending is a lower
     * bound however late the signal below comes. */
    int64_t start = ds_now_ms();
    ds_send(busy, "GET /500/finish HTTP/1.1\r\nHost: t\r\n\r\n");
    wait_logged(s, "#2 - 500ms: finish\n"); /* unread at the signal, it would be dropped */
    kill(s->pid, SIGTERM);
    assert_true(ds_closed_within(idle, CLOSE_GUARD_MS));
    assert_int_equal(ds_read_response(busy, &r, false), 0);
    assert_string_equal(r.body, "finish");
    assert_true(r.close);
    assert_true(ds_now_ms() - start >= 500); /* the whole delay, though the signal came first */
    assert_true(ds_closed_within(busy, CLOSE_GUARD_MS));
    assert_int_equal(own_server_stop(s, SIGTERM), 0); /* a second signal now is harmless */
    client_free(busy);
    client_free(idle);
}

/* A response still delayed when the grace period ends is cut off; the exit is still 0. */
static void shutdown_grace_cuts_off_long_delays(void **state)
{
    (void)state;
    static const char *const args[] = {"--grace", "200", NULL};
    struct ds_server *s = own_server(args);
    struct ds_client *c = client_new(s);
    ds_send(c, "GET /60000/never HTTP/1.1\r\nHost: t\r\n\r\n"); /* > CLOSE_GUARD_MS */
    /* A request still unread at the signal is dropped at once, not at the grace deadline: only
     * one known to be delaying makes the bound below hold. */
    wait_logged(s, "#1 - 60000ms: never\n");
    int64_t start = ds_now_ms(); /* the grace deadline starts when the server gets the signal */
    kill(s->pid, SIGINT);
    assert_true(ds_closed_within(c, CLOSE_GUARD_MS));
    assert_true(ds_now_ms() - start >= 200);
    assert_int_equal(c->len, 0);
    assert_int_equal(own_server_stop(s, 0), 0); /* signal 0: just wait for the exit */
    client_free(c);
}

/* With --max-conns 2 a third client waits in the backlog until a connection closes. */
static void connection_limit_holds_back_extra_clients(void **state)
{
    (void)state;
    static const char *const args[] = {"--max-conns", "2", NULL};
    struct ds_server *s = own_server(args);
    struct ds_client *a = client_new(s), *b = client_new(s), *extra = client_new(s);
    struct ds_response r;
    get_ok(a, "/0/a", "", "a", &r);
    get_ok(b, "/0/b", "", "b", &r);
    ds_send(extra, "GET /0/extra HTTP/1.1\r\nHost: t\r\n\r\n");
    assert_true(ds_quiet_for(extra, 300)); /* not accepted yet */
    client_free(a);
    assert_int_equal(ds_read_response(extra, &r, false), 0);
    assert_string_equal(r.body, "extra");
    client_free(b);
    client_free(extra);
    assert_int_equal(own_server_stop(s, SIGTERM), 0);
}

static void bad_options_exit_2(void **state)
{
    (void)state;
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "%s --port 99999 >/dev/null 2>&1", WEFT_DELAYSERVER_BIN);
    int status = system(cmd);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 2);
    snprintf(cmd, sizeof cmd, "%s --delay-scale -1 >/dev/null 2>&1", WEFT_DELAYSERVER_BIN);
    status = system(cmd);
    assert_int_equal(WEXITSTATUS(status), 2);
}

#define WITH_SERVER(t) cmocka_unit_test_setup_teardown(t, server_up, server_down)

int main(void)
{
    const struct CMUnitTest tests[] = {
        WITH_SERVER(keep_alive_serves_two_requests),
        WITH_SERVER(connection_close_is_honoured),
        WITH_SERVER(http10_closes_unless_asked),
        WITH_SERVER(pipelined_requests_answered_in_order),
        WITH_SERVER(message_is_percent_decoded),
        WITH_SERVER(response_comes_no_earlier_than_the_delay),
        WITH_SERVER(requests_are_logged),
        WITH_SERVER(bad_paths_get_400),
        WITH_SERVER(bad_delays_get_400),
        WITH_SERVER(malformed_requests_get_400),
        WITH_SERVER(other_methods_get_405),
        WITH_SERVER(request_body_gets_413),
        WITH_SERVER(oversized_head_gets_431),
        WITH_SERVER(megabyte_header_is_cut_off),
        WITH_SERVER(slow_header_is_dropped_others_served),
        WITH_SERVER(silent_client_is_dropped),
        WITH_SERVER(reset_clients_do_not_disturb_others),
        WITH_SERVER(ten_thousand_pipelined),
        WITH_SERVER(many_concurrent_delays_overlap),
        cmocka_unit_test(idle_keep_alive_times_out),
        cmocka_unit_test(delay_scale_multiplies),
        cmocka_unit_test(graceful_shutdown_finishes_responses),
        cmocka_unit_test(shutdown_grace_cuts_off_long_delays),
        cmocka_unit_test(connection_limit_holds_back_extra_clients),
        cmocka_unit_test(bad_options_exit_2),
    };
    signal(SIGPIPE, SIG_IGN);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
