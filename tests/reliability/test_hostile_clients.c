/*
 * Hostile clients against the real weft-delayserver, with its deadlines shortened by options.
 *
 * tests/tools/test_delayserver.c already covers one slow client, a silent one, a 1 MB header,
 * resets, and 10 000 pipelined requests read as they are answered. This file covers what a
 * server meets when such clients come in numbers, or never read at all:
 *
 *   one byte per second      a head trickled at 1 byte/s: 408 and closed at the header deadline;
 *                            a client beside it is answered throughout.
 *   slowloris crowd          200 connections trickling heads: all dropped, none before the
 *                            deadline.
 *   silent crowd             --max-conns 20, 20 silent connections hold every slot: a client in
 *                            the backlog is answered once the deadline frees them.
 *   never reads              10 000 pipelined requests for large bodies, never read: the server
 *                            stops at its write deadline and drops the connection.
 *   header floods            50 clients sending 1 MB of header each, at once.
 *   resets mid-response      100 clients that pipeline requests for 4 KB bodies, read a little,
 *                            then reset.
 *   half-close               a request followed by shutdown(SHUT_WR) is still answered.
 *
 * After each, the server must still answer others, its fd count (/proc/PID/fd) must be back to
 * what it was before, its resident memory near it, and it must exit 0 on SIGTERM.
 *
 * Timing: only lower bounds are asserted ("not dropped before the deadline"); the upper side is
 * checked as behaviour (the tricklers never stop, so only a deadline that holds ends them), with a
 * 60 s guard against hanging, far past any deadline here.
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "ds_client.h"

#ifndef WEFT_DELAYSERVER_BIN
#error "WEFT_DELAYSERVER_BIN must name the weft-delayserver program"
#endif

/* ============================================================================================
 * The server process and what it holds
 * ========================================================================================== */

struct server {
    struct ds_server ds;
    int fds;     /* its fd count once started */
    long rss_kb; /* its resident memory once started */
};

static int proc_fd_count(pid_t pid)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/fd", (int)pid);
    DIR *d = opendir(path);
    assert_non_null(d);
    int n = 0;
    for (struct dirent *e; (e = readdir(d)) != NULL;)
        n += e->d_name[0] != '.';
    closedir(d);
    return n;
}

static long proc_rss_kb(pid_t pid)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    long kb = -1;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "VmRSS: %ld kB", &kb) == 1) break;
    fclose(f);
    return kb;
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

/* Starts weft-delayserver with the given options (NULL-terminated) and --quiet. */
static void server_start(struct server *s, const char *const *args)
{
    const char *all[24];
    size_t n = 0;
    for (; args && args[n] && n < 22; n++)
        all[n] = args[n];
    all[n++] = "--quiet";
    all[n] = NULL;
    ds_server_start(&s->ds, WEFT_DELAYSERVER_BIN, all);
    s->fds = proc_fd_count(s->ds.pid);
    s->rss_kb = proc_rss_kb(s->ds.pid);
}

/* One ordinary request on a new connection: the server still serves. */
static void expect_served(const struct server *s, const char *what)
{
    struct ds_client *c = malloc(sizeof *c);
    assert_non_null(c);
    ds_connect(c, s->ds.port);
    ds_send(c, "GET /0/ok HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
    struct ds_response r;
    if (ds_read_response(c, &r, false) != 0)
        fail_msg("%s: an ordinary request got no answer", what);
    if (r.status != 200 || strcmp(r.body, "ok") != 0)
        fail_msg("%s: an ordinary request got %d \"%s\"", what, r.status, r.body);
    ds_close(c);
    free(c);
}

/* Waits until the server's fd count is back to where it started. It returns as soon as it is;
 * the 30 s bound only stops a hang (an upper bound on speed would flake on a loaded machine). */
static void expect_fds_back(const struct server *s, const char *what)
{
    int64_t end = ds_now_ms() + 30000;
    int n;
    while ((n = proc_fd_count(s->ds.pid)) != s->fds && ds_now_ms() < end)
        sleep_ms(20);
    if (n != s->fds) fail_msg("%s: the server holds %d fds, %d at start", what, n, s->fds);
}

/* Under AddressSanitizer (the server is built like this test) freed memory sits in a quarantine
 * and shadow memory grows with use: resident memory says nothing about leaks there. */
#if defined(__SANITIZE_ADDRESS__)
#define ASAN_BUILD 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define ASAN_BUILD 1
#endif
#endif
#ifndef ASAN_BUILD
#define ASAN_BUILD 0
#endif

/* The server's resident memory grew by at most max_kb since it started (not checked under
 * AddressSanitizer). */
static void expect_rss_within(const struct server *s, long max_kb, const char *what)
{
    long kb = proc_rss_kb(s->ds.pid);
    print_message("%s: server RSS %ld kB (%+ld kB since start)\n", what, kb, kb - s->rss_kb);
    if (!ASAN_BUILD && kb - s->rss_kb > max_kb)
        fail_msg("%s: server RSS grew by %ld kB (limit %ld kB)", what, kb - s->rss_kb, max_kb);
}

/* Stops the server with SIGTERM, which must exit 0, and removes its output file. */
static void server_stop(struct server *s)
{
    int status = ds_server_stop(&s->ds, SIGTERM);
    s->ds.pid = 0;
    unlink(s->ds.out_path);
    s->ds.out_path[0] = '\0';
    assert_int_equal(status, 0);
}

/* Each test gets a struct server in *state and starts it with its own options; the teardown
 * stops it whatever happened, so a failed check leaves no server running and no file behind. */
static int server_alloc(void **state)
{
    struct server *s = calloc(1, sizeof *s);
    assert_non_null(s);
    *state = s;
    return 0;
}

static int server_free(void **state)
{
    struct server *s = *state;
    if (s->ds.pid > 0) (void)ds_server_stop(&s->ds, SIGKILL);
    if (s->ds.out_path[0]) unlink(s->ds.out_path);
    free(s);
    return 0;
}

/* ============================================================================================
 * Raw sockets
 * ========================================================================================== */

/* A non-blocking TCP connection to 127.0.0.1:port (connected: the listener's backlog took it). */
static int raw_connect(uint16_t port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(fd >= 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    assert_int_equal(fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK), 0);
    return fd;
}

/* Sends what the socket takes now; returns the bytes sent (0 if it would block), -1 if the
 * connection is broken. */
static ssize_t raw_send(int fd, const void *buf, size_t len)
{
    ssize_t n = send(fd, buf, len, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n >= 0) return n;
    return errno == EAGAIN ? 0 : -1;
}

/* Reads what has arrived (into buf, up to size, then discarding). Returns 1 if the connection
 * has ended (EOF or reset), else 0. *got (if not NULL) adds the bytes kept. */
static int raw_drain(int fd, char *buf, size_t size, size_t *got)
{
    char scratch[4096];
    for (;;) { /* bounded: ends at EAGAIN or the end of the connection */
        size_t have = got ? *got : 0;
        char *dst = buf && have < size ? buf + have : scratch;
        size_t room = buf && have < size ? size - have : sizeof scratch;
        ssize_t n = recv(fd, dst, room, MSG_DONTWAIT);
        if (n == 0) return 1;
        if (n < 0) return errno == EAGAIN ? 0 : 1;
        if (got && dst != scratch) *got += (size_t)n;
    }
}

static void raw_reset(int fd)
{
    struct linger lg = {1, 0};
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    close(fd);
}

/* ============================================================================================
 * Slow heads
 * ========================================================================================== */

/* The hang guard of the trickling tests: give up on a server that never drops a trickler. */
#define GUARD_MS 60000

/* A head that never ends: a request line, Host, then an X-Pad field that grows forever. A server
 * that stretched its deadline with each byte would never see it complete, so it never drops it;
 * 60 s of trickling at 10 bytes/s stays far below the 8 KB head limit (no 431 instead). */
static const char slow_head[] = "GET /0/slow HTTP/1.1\r\nHost: t\r\nX-Pad: ";

/* Sends byte i of the endless head; true if it went out. */
static bool trickle(int fd, size_t i)
{
    char b = i < sizeof slow_head - 1 ? slow_head[i] : 'a';
    return raw_send(fd, &b, 1) == 1;
}

/* One byte per second with a 2.5 s header deadline: 408 and a close after the third byte or so,
 * at no less than 2.5 s; an ordinary client is answered every second meanwhile. */
static void one_byte_per_second(void **state)
{
    static const char *const args[] = {"--header-timeout", "2500", NULL};
    struct server *s = *state;
    server_start(s, args);
    int64_t start = ds_now_ms(); /* before connecting: the deadline starts at the accept */
    int fd = raw_connect(s->ds.port);
    char reply[512];
    size_t got = 0;
    int ended = 0;
    size_t sent = 0;
    for (int second = 0; second < GUARD_MS / 1000 && !ended; second++) {
        if (trickle(fd, sent)) sent++;
        expect_served(s, "one byte per second");
        for (int t = 0; t < 10 && !ended; t++) {
            sleep_ms(100);
            ended = raw_drain(fd, reply, sizeof reply - 1, &got);
        }
    }
    int64_t took = ds_now_ms() - start;
    if (!ended)
        fail_msg("one byte per second: still connected after %d s of trickling (%zu bytes): the "
                 "2.5 s header deadline never dropped it",
                 GUARD_MS / 1000, sent);
    if (took < 2500) fail_msg("dropped after %lld ms, before the 2.5 s deadline", (long long)took);
    reply[got] = '\0';
    assert_memory_equal(reply, "HTTP/1.1 408 ", 13);
    close(fd);
    expect_fds_back(s, "one byte per second");
    server_stop(s);
}

/* 200 connections trickling endless heads (a byte each every 100 ms) with a 1 s deadline: the
 * server drops every one of them (EOF or reset), none before 1 s; ordinary requests are answered
 * meanwhile. */
static void slowloris_crowd(void **state)
{
    enum { N = 200 };
    static const char *const args[] = {"--header-timeout", "1000", NULL};
    struct server *s = *state;
    server_start(s, args);
    static int fd[N];
    static size_t sent[N];
    static int64_t ended_at[N];
    int64_t start = ds_now_ms();
    for (int i = 0; i < N; i++) {
        fd[i] = raw_connect(s->ds.port);
        sent[i] = 0;
        ended_at[i] = 0;
    }
    int open = N;
    for (int round = 0; round < GUARD_MS / 100 && open > 0; round++) {
        for (int i = 0; i < N; i++) {
            if (ended_at[i]) continue;
            if (trickle(fd[i], sent[i])) sent[i]++;
            if (raw_drain(fd[i], NULL, 0, NULL)) {
                ended_at[i] = ds_now_ms();
                open--;
            }
        }
        if (round % 5 == 0) expect_served(s, "slowloris crowd");
        sleep_ms(100);
    }
    if (open > 0)
        fail_msg("slowloris crowd: %d of %d trickling connections still open after %lld s: the 1 s "
                 "header deadline never dropped them",
                 open, N, (long long)(ds_now_ms() - start) / 1000);
    int64_t first = INT64_MAX, last = 0;
    for (int i = 0; i < N; i++) {
        if (ended_at[i] - start < first) first = ended_at[i] - start;
        if (ended_at[i] - start > last) last = ended_at[i] - start;
        close(fd[i]);
    }
    print_message("slowloris crowd: dropped between %lld and %lld ms\n", (long long)first,
                  (long long)last);
    if (first < 1000)
        fail_msg("slowloris crowd: one dropped after %lld ms, before the 1 s deadline",
                 (long long)first);
    expect_fds_back(s, "slowloris crowd");
    expect_rss_within(s, 4096, "slowloris crowd");
    server_stop(s);
}

/* --max-conns 20 and 20 connections that say nothing: a client in the backlog waits until the
 * 800 ms deadline frees the slots, then is answered. */
static void silent_crowd_holds_every_slot(void **state)
{
    enum { N = 20 };
    static const char *const args[] = {"--header-timeout", "800", "--max-conns", "20", NULL};
    struct server *s = *state;
    server_start(s, args);
    int fd[N];
    /* The silent ones' deadlines start when they are accepted, after this: a lower bound for
     * when a slot frees, however the connects and the sleep below are scheduled. */
    int64_t t0 = ds_now_ms();
    for (int i = 0; i < N; i++)
        fd[i] = raw_connect(s->ds.port);
    sleep_ms(100); /* let the server accept them all */
    int64_t start = ds_now_ms();
    expect_served(s, "silent crowd");
    int64_t now = ds_now_ms();
    print_message("silent crowd: the next client waited %lld ms\n", (long long)(now - start));
    assert_true(now - t0 >= 800); /* no slot freed before the silent ones' deadline */
    for (int i = 0; i < N; i++)
        close(fd[i]);
    expect_fds_back(s, "silent crowd");
    server_stop(s);
}

/* ============================================================================================
 * A client that never reads
 * ========================================================================================== */

/* Pipelines up to 10 000 requests for 2 KB bodies and never reads a byte: the server's writes
 * fill the socket, the write deadline (1 s) passes, and the connection is dropped; the server
 * answers others meanwhile and does not buffer the backlog in memory. */
static void never_reads(void **state)
{
    static const char *const args[] = {"--idle-timeout", "1000", "--header-timeout", "1000", NULL};
    struct server *s = *state;
    server_start(s, args);
    static char req[2200];
    int n = snprintf(req, sizeof req, "GET /0/");
    memset(req + n, 'x', 2000);
    n += 2000;
    n += snprintf(req + n, sizeof req - (size_t)n, " HTTP/1.1\r\nHost: t\r\n\r\n");
    /* Before connecting: every deadline that can drop this connection (the header deadline from
     * its accept, the write deadline from a response) starts after this. */
    int64_t start = ds_now_ms();
    int fd = raw_connect(s->ds.port);
    int requests = 0;
    size_t off = 0;
    for (int64_t stalled = 0; requests < 10000 && ds_now_ms() - start < 5000;) {
        ssize_t k = raw_send(fd, req + off, (size_t)n - off);
        if (k < 0) break; /* dropped already */
        if (k == 0) {
            if (!stalled) stalled = ds_now_ms();
            if (ds_now_ms() - stalled > 300) break; /* both directions are full */
            sleep_ms(10);
            continue;
        }
        stalled = 0;
        off += (size_t)k;
        if (off == (size_t)n) {
            off = 0;
            requests++;
        }
    }
    print_message("never reads: %d requests sent before the server stopped reading\n", requests);
    expect_served(s, "never reads");
    expect_rss_within(s, 8192, "never reads");
    /* The hostile socket stays open on our side: the server must drop it on its own. */
    expect_fds_back(s, "never reads");
    assert_true(ds_now_ms() - start >= 1000);
    raw_reset(fd);
    server_stop(s);
}

/* ============================================================================================
 * Floods
 * ========================================================================================== */

/* 50 clients send 1 MB of header each, all at once: each gets 431 or a reset, memory stays
 * bounded, others are served, every connection is closed. */
static void header_floods(void **state)
{
    enum { N = 50, MB = 1 << 20 };
    struct server *s = *state;
    server_start(s, NULL);
    static int fd[N];
    static size_t sent[N];
    static char chunk[16384];
    memset(chunk, 'a', sizeof chunk);
    for (int i = 0; i < N; i++) {
        fd[i] = raw_connect(s->ds.port);
        sent[i] = 0;
        assert_true(raw_send(fd[i], "GET /0/x HTTP/1.1\r\nHost: t\r\nX-Big: ", 35) == 35);
    }
    int64_t start = ds_now_ms();
    for (int busy = N; busy > 0 && ds_now_ms() - start < 5000;) { /* bounded: 5 s */
        busy = 0;
        for (int i = 0; i < N; i++) {
            if (sent[i] >= MB) continue;
            ssize_t k = raw_send(fd[i], chunk, sizeof chunk);
            if (k < 0) {
                sent[i] = MB; /* reset by the server */
                continue;
            }
            sent[i] += (size_t)k;
            busy += k > 0;
        }
        if (busy == 0) break; /* the server reads no more from anyone */
    }
    expect_served(s, "header floods");
    expect_rss_within(s, 8192, "header floods");
    int answered = 0;
    for (int i = 0; i < N; i++) {
        char head[16];
        size_t got = 0;
        for (int t = 0; t < 50 && !raw_drain(fd[i], head, sizeof head, &got); t++)
            sleep_ms(100); /* the server lingers up to 2 s after answering */
        answered += got >= 13 && memcmp(head, "HTTP/1.1 431 ", 13) == 0;
        close(fd[i]);
    }
    print_message("header floods: %d of %d got their 431 before the close\n", answered, N);
    expect_fds_back(s, "header floods");
    server_stop(s);
}

/* 100 clients pipeline 50 requests for 4 KB bodies each, read a little, and reset. */
static void resets_mid_response(void **state)
{
    enum { N = 100, PIPELINED = 50 };
    struct server *s = *state;
    server_start(s, NULL);
    static char req[4200];
    int n = snprintf(req, sizeof req, "GET /0/");
    memset(req + n, 'y', 4000);
    n += 4000;
    n += snprintf(req + n, sizeof req - (size_t)n, " HTTP/1.1\r\nHost: t\r\n\r\n");
    for (int i = 0; i < N; i++) {
        int fd = raw_connect(s->ds.port);
        for (int k = 0; k < PIPELINED; k++)
            if (raw_send(fd, req, (size_t)n) != n) break;
        char some[1000];
        size_t got = 0;
        for (int t = 0; t < 100 && got == 0; t++) { /* until the first bytes of a response */
            raw_drain(fd, some, sizeof some, &got);
            if (got == 0) sleep_ms(1);
        }
        raw_reset(fd);
        if (i % 25 == 0) expect_served(s, "resets mid-response");
    }
    expect_served(s, "resets mid-response");
    expect_fds_back(s, "resets mid-response");
    expect_rss_within(s, 8192, "resets mid-response");
    server_stop(s);
}

/* A client that sends its request and shuts down its sending side still gets the answer. */
static void half_close_after_request(void **state)
{
    struct server *s = *state;
    server_start(s, NULL);
    int fd = raw_connect(s->ds.port);
    static const char req[] = "GET /20/half HTTP/1.1\r\nHost: t\r\n\r\n";
    assert_true(raw_send(fd, req, sizeof req - 1) == (ssize_t)sizeof req - 1);
    assert_int_equal(shutdown(fd, SHUT_WR), 0);
    char reply[512];
    size_t got = 0;
    int ended = 0;
    for (int t = 0; t < 300 && !ended; t++) { /* bounded: 3 s */
        ended = raw_drain(fd, reply, sizeof reply - 1, &got);
        if (!ended) sleep_ms(10);
    }
    assert_true(ended);
    reply[got] = '\0';
    assert_memory_equal(reply, "HTTP/1.1 200 ", 13);
    assert_non_null(strstr(reply, "\r\n\r\nhalf"));
    close(fd);
    expect_fds_back(s, "half-close");
    server_stop(s);
}

#define WITH_SERVER(t) cmocka_unit_test_setup_teardown(t, server_alloc, server_free)

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        WITH_SERVER(one_byte_per_second),
        WITH_SERVER(slowloris_crowd),
        WITH_SERVER(silent_crowd_holds_every_slot),
        WITH_SERVER(never_reads),
        WITH_SERVER(header_floods),
        WITH_SERVER(resets_mid_response),
        WITH_SERVER(half_close_after_request),
    };
    return cmocka_run_group_tests_name("hostile_clients", tests, NULL, NULL);
}
