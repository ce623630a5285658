/*
 * Tests of the poll layer (weft/poll.h) with real pipes, socketpairs and TCP on 127.0.0.1.
 * Each test gets a fresh poll and events buffer from the fixture and must leave no fd behind.
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <weft/poll.h>

#include "weft_test.h"
#include "weft_test_net.h"
#include "weft_test_poll.h"

#define US INT64_C(1000)
#define MS INT64_C(1000000)

struct fixture {
    weft_poll poll;
    weft_events events;
    int fds_before;
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    if (!f) return -1;
    f->fds_before = weft_test_fd_count();
    if (weft_poll_init(&f->poll) != 0 || weft_events_init(&f->events, 16) != 0) return -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    weft_events_free(&f->events);
    weft_poll_close(&f->poll);
    int leaked = weft_test_fd_count() - f->fds_before;
    free(f);
    if (leaked != 0) print_error("%d fd(s) leaked\n", leaked);
    return leaked == 0 ? 0 : -1;
}

static void close_pair(int fds[2])
{
    close(fds[0]);
    close(fds[1]);
}

static void sleep_ns(int64_t ns)
{
    struct timespec ts = {(time_t)(ns / 1000000000), (long)(ns % 1000000000)};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

/* ---- readiness ----------------------------------------------------------------------------- */

static void test_readable_after_write(void **state)
{
    struct fixture *f = *state;
    int p[2];
    weft_test_pipe(p);
    assert_int_equal(weft_poll_register(&f->poll, p[0], 7, WEFT_INTEREST_READABLE), 0);
    expect_no_events(&f->poll, &f->events);

    weft_test_write_all(p[1], "x", 1);
    uint32_t flags = weft_test_event_flags(&f->poll, &f->events, 7);
    assert_true(flags & WEFT_EVENT_READABLE);
    assert_false(flags & (WEFT_EVENT_READ_CLOSED | WEFT_EVENT_ERROR | WEFT_EVENT_WRITABLE));
    close_pair(p);
}

static void test_writable_on_fresh_socketpair(void **state)
{
    struct fixture *f = *state;
    int s[2];
    weft_test_socketpair(s);
    assert_int_equal(weft_poll_register(&f->poll, s[0], 1, WEFT_INTEREST_WRITABLE), 0);
    expect_events(&f->poll, &f->events, {.token = 1, .flags = WEFT_EVENT_WRITABLE});
    expect_no_events(&f->poll, &f->events);
    close_pair(s);
}

static void test_writable_on_fresh_tcp_connection(void **state)
{
    struct fixture *f = *state;
    int c, s;
    weft_test_tcp_pair(&c, &s);
    assert_int_equal(weft_poll_register(&f->poll, c, 1, WEFT_INTEREST_WRITABLE), 0);
    assert_int_equal(weft_poll_register(&f->poll, s, 2, WEFT_INTEREST_WRITABLE), 0);
    expect_events(&f->poll, &f->events, {.token = 1, .flags = WEFT_EVENT_WRITABLE},
                  {.token = 2, .flags = WEFT_EVENT_WRITABLE});
    close(c);
    close(s);
}

/* One event per edge: no repeat while data sits unread, none for a partial read, a new one
 * only when new data arrives. This is what makes "drain to EAGAIN" necessary. */
static void test_edge_triggered(void **state)
{
    struct fixture *f = *state;
    int s[2];
    weft_test_socketpair(s);
    assert_int_equal(weft_poll_register(&f->poll, s[0], 3, WEFT_INTEREST_READABLE), 0);

    weft_test_write_all(s[1], "ab", 2);
    expect_events(&f->poll, &f->events, {.token = 3, .flags = WEFT_EVENT_READABLE});
    expect_no_events(&f->poll, &f->events); /* level-triggered would repeat here */

    char c;
    assert_int_equal(read(s[0], &c, 1), 1); /* partial read: still "ready", but no new edge */
    expect_no_events(&f->poll, &f->events);
    assert_int_equal(weft_test_drain(s[0], NULL), 1);
    expect_no_events(&f->poll, &f->events);

    weft_test_write_all(s[1], "c", 1); /* refilled: a new edge */
    expect_events(&f->poll, &f->events, {.token = 3, .flags = WEFT_EVENT_READABLE});
    expect_no_events(&f->poll, &f->events);
    close_pair(s);
}

static void test_read_closed_after_peer_shutdown(void **state)
{
    struct fixture *f = *state;
    int c, s;
    weft_test_tcp_pair(&c, &s);
    assert_int_equal(weft_poll_register(&f->poll, c, 4, WEFT_INTEREST_READABLE), 0);
    expect_no_events(&f->poll, &f->events);

    assert_int_equal(shutdown(s, SHUT_WR), 0);
    uint32_t flags = weft_test_event_flags(&f->poll, &f->events, 4);
    assert_true(flags & WEFT_EVENT_READABLE);
    assert_true(flags & WEFT_EVENT_READ_CLOSED);
    assert_false(flags & (WEFT_EVENT_WRITE_CLOSED | WEFT_EVENT_ERROR));
    bool eof;
    assert_int_equal(weft_test_drain(c, &eof), 0);
    assert_true(eof);
    close(c);
    close(s);
}

/* A writer is woken by the peer's half-close too, but read_closed is only claimed together
 * with readable (mio's meaning): EPOLLRDHUP alone does not make it. */
static void test_peer_half_close_wakes_writer(void **state)
{
    struct fixture *f = *state;
    int s[2];
    weft_test_socketpair(s);
    assert_int_equal(weft_poll_register(&f->poll, s[0], 13, WEFT_INTEREST_WRITABLE), 0);
    expect_events(&f->poll, &f->events, {.token = 13, .flags = WEFT_EVENT_WRITABLE});
    assert_int_equal(shutdown(s[1], SHUT_WR), 0);
    uint32_t flags = weft_test_event_flags(&f->poll, &f->events, 13);
    assert_false(flags & (WEFT_EVENT_READ_CLOSED | WEFT_EVENT_WRITE_CLOSED));
    close_pair(s);
}

/* The peer closes abortively (RST, via SO_LINGER 0): both directions are finished. */
static void test_write_closed_and_error_after_peer_reset(void **state)
{
    struct fixture *f = *state;
    int c, s;
    weft_test_tcp_pair(&c, &s);
    assert_int_equal(
        weft_poll_register(&f->poll, c, 5, WEFT_INTEREST_READABLE | WEFT_INTEREST_WRITABLE), 0);
    expect_events(&f->poll, &f->events, {.token = 5, .flags = WEFT_EVENT_WRITABLE});

    struct linger abort_on_close = {.l_onoff = 1, .l_linger = 0};
    assert_int_equal(setsockopt(s, SOL_SOCKET, SO_LINGER, &abort_on_close, sizeof abort_on_close),
                     0);
    close(s);
    expect_events(
        &f->poll, &f->events,
        {.token = 5, .flags = WEFT_EVENT_ERROR | WEFT_EVENT_READ_CLOSED | WEFT_EVENT_WRITE_CLOSED});
    close(c);
}

/* A pipe whose reader is gone: writing can never succeed again (EPOLLOUT | EPOLLERR). */
static void test_write_closed_when_pipe_reader_closes(void **state)
{
    struct fixture *f = *state;
    int p[2];
    weft_test_pipe(p);
    assert_int_equal(weft_poll_register(&f->poll, p[1], 6, WEFT_INTEREST_WRITABLE), 0);
    expect_events(&f->poll, &f->events, {.token = 6, .flags = WEFT_EVENT_WRITABLE});
    close(p[0]);
    uint32_t flags = weft_test_event_flags(&f->poll, &f->events, 6);
    assert_true(flags & WEFT_EVENT_WRITE_CLOSED);
    assert_true(flags & WEFT_EVENT_ERROR);
    close(p[1]);
}

/* The same with a full pipe: the writer is waiting for room, so EPOLLOUT is not set and the kernel
 * reports EPOLLERR alone. mio counts that as write_closed too, and so must weft, since a write
 * now fails with EPIPE instead of blocking. */
static void test_write_closed_when_full_pipe_reader_closes(void **state)
{
    struct fixture *f = *state;
    int p[2];
    weft_test_pipe(p);
    char chunk[4096];
    memset(chunk, 'x', sizeof chunk);
    /* A pipe holds 64 KiB by default, never more than pipe-max-size (1 MiB): bounded at 16 MiB. */
    ssize_t wrote = 0;
    for (int i = 0; i < 4096 && wrote >= 0; i++)
        wrote = write(p[1], chunk, sizeof chunk);
    assert_true(wrote < 0 && (errno == EAGAIN || errno == EWOULDBLOCK));
    assert_int_equal(weft_poll_register(&f->poll, p[1], 16, WEFT_INTEREST_WRITABLE), 0);
    expect_no_events(&f->poll, &f->events);
    close(p[0]);
    uint32_t flags = weft_test_event_flags(&f->poll, &f->events, 16);
    assert_true(flags & WEFT_EVENT_WRITE_CLOSED);
    assert_true(flags & WEFT_EVENT_ERROR);
    assert_false(flags & WEFT_EVENT_WRITABLE);
    close(p[1]);
}

/* A pipe whose writer is gone: EPOLLHUP, read_closed. */
static void test_read_closed_when_pipe_writer_closes(void **state)
{
    struct fixture *f = *state;
    int p[2];
    weft_test_pipe(p);
    assert_int_equal(weft_poll_register(&f->poll, p[0], 8, WEFT_INTEREST_READABLE), 0);
    close(p[1]);
    expect_events(&f->poll, &f->events, {.token = 8, .flags = WEFT_EVENT_READ_CLOSED});
    close(p[0]);
}

static void test_refused_connect(void **state)
{
    struct fixture *f = *state;
    uint16_t port;
    int holder = weft_test_refusing_port(&port);
    int c = weft_test_tcp_connect_start(port);
    assert_int_equal(weft_poll_register(&f->poll, c, 9, WEFT_INTEREST_WRITABLE), 0);
    expect_events(&f->poll, &f->events,
                  {.token = 9, .flags = WEFT_EVENT_ERROR | WEFT_EVENT_WRITE_CLOSED});
    int err = 0;
    socklen_t len = sizeof err;
    assert_int_equal(getsockopt(c, SOL_SOCKET, SO_ERROR, &err, &len), 0);
    assert_int_equal(err, ECONNREFUSED);
    close(c);
    close(holder);
}

static void test_priority_data(void **state)
{
    struct fixture *f = *state;
    int c, s;
    weft_test_tcp_pair(&c, &s);
    assert_int_equal(
        weft_poll_register(&f->poll, c, 10, WEFT_INTEREST_READABLE | WEFT_INTEREST_PRIORITY), 0);
    expect_no_events(&f->poll, &f->events);
    assert_int_equal(send(s, "!", 1, MSG_OOB), 1);
    expect_events(&f->poll, &f->events,
                  {.token = 10, .flags = WEFT_EVENT_PRIORITY | WEFT_EVENT_READABLE});
    close(c);
    close(s);
}

/* ---- registrations ------------------------------------------------------------------------- */

static void test_reregister_changes_interest_and_token(void **state)
{
    struct fixture *f = *state;
    int s[2];
    weft_test_socketpair(s);
    assert_int_equal(weft_poll_register(&f->poll, s[0], 1, WEFT_INTEREST_READABLE), 0);
    expect_no_events(&f->poll, &f->events); /* not interested in "writable" */

    assert_int_equal(weft_poll_reregister(&f->poll, s[0], 2, WEFT_INTEREST_WRITABLE), 0);
    expect_events(&f->poll, &f->events, {.token = 2, .flags = WEFT_EVENT_WRITABLE});

    assert_int_equal(weft_poll_reregister(&f->poll, s[0], 3, WEFT_INTEREST_READABLE), 0);
    expect_no_events(&f->poll, &f->events);
    weft_test_write_all(s[1], "x", 1);
    uint32_t flags = weft_test_event_flags(&f->poll, &f->events, 3);
    assert_true(flags & WEFT_EVENT_READABLE);
    assert_false(flags & WEFT_EVENT_WRITABLE);
    close_pair(s);
}

static void test_deregister_stops_events(void **state)
{
    struct fixture *f = *state;
    int p[2];
    weft_test_pipe(p);
    assert_int_equal(weft_poll_register(&f->poll, p[0], 1, WEFT_INTEREST_READABLE), 0);
    assert_int_equal(weft_poll_deregister(&f->poll, p[0]), 0);
    weft_test_write_all(p[1], "x", 1);
    expect_no_events(&f->poll, &f->events);

    /* Registering again works (nothing stale was left) and reports the pending data. */
    assert_int_equal(weft_poll_register(&f->poll, p[0], 2, WEFT_INTEREST_READABLE), 0);
    expect_events(&f->poll, &f->events, {.token = 2, .flags = WEFT_EVENT_READABLE});
    close_pair(p);
}

/* Readiness contract, rule 6: the registration belongs to the open file, not the fd number. */
static void test_close_without_deregister_leaves_dup_registered(void **state)
{
    struct fixture *f = *state;
    int p[2];
    weft_test_pipe(p);
    int dup_fd = dup(p[0]);
    assert_true(dup_fd >= 0);
    assert_int_equal(weft_poll_register(&f->poll, p[0], 11, WEFT_INTEREST_READABLE), 0);
    close(p[0]);
    weft_test_write_all(p[1], "x", 1);
    expect_events(&f->poll, &f->events, {.token = 11, .flags = WEFT_EVENT_READABLE});
    close(dup_fd); /* the last reference: now the registration is gone too */
    close(p[1]);
}

static void test_tokens_are_opaque(void **state)
{
    struct fixture *f = *state;
    int s[2];
    weft_test_socketpair(s);
    weft_token big = UINT64_MAX, ptr = (weft_token)(uintptr_t)f;
    assert_int_equal(weft_poll_register(&f->poll, s[0], big, WEFT_INTEREST_WRITABLE), 0);
    assert_int_equal(weft_poll_register(&f->poll, s[1], ptr, WEFT_INTEREST_WRITABLE), 0);
    expect_events(&f->poll, &f->events, {.token = big, .flags = WEFT_EVENT_WRITABLE},
                  {.token = ptr, .flags = WEFT_EVENT_WRITABLE});
    close_pair(s);
}

static void test_error_codes(void **state)
{
    struct fixture *f = *state;
    int p[2];
    weft_test_pipe(p);
    int closed_fd = dup(p[0]);
    close(closed_fd);

    assert_int_equal(weft_poll_register(&f->poll, p[0], 1, 0), -EINVAL);
    assert_int_equal(weft_poll_register(&f->poll, p[0], 1, (weft_interest)(1u << 7)), -EINVAL);
    /* nothing half-registered after the failures: a proper registration succeeds */
    assert_int_equal(weft_poll_register(&f->poll, p[0], 1, WEFT_INTEREST_READABLE), 0);
    assert_int_equal(weft_poll_register(&f->poll, p[0], 1, WEFT_INTEREST_READABLE), -EEXIST);
    assert_int_equal(weft_poll_reregister(&f->poll, p[0], 1, 0), -EINVAL);

    assert_int_equal(weft_poll_deregister(&f->poll, p[1]), -ENOENT);
    assert_int_equal(weft_poll_reregister(&f->poll, p[1], 1, WEFT_INTEREST_WRITABLE), -ENOENT);
    assert_int_equal(weft_poll_register(&f->poll, closed_fd, 1, WEFT_INTEREST_READABLE), -EBADF);
    assert_int_equal(weft_poll_register(&f->poll, -1, 1, WEFT_INTEREST_READABLE), -EBADF);
    assert_int_equal(weft_poll_deregister(&f->poll, closed_fd), -EBADF);
    assert_int_equal(weft_poll_register(&f->poll, f->poll.fd, 1, WEFT_INTEREST_READABLE), -EINVAL);
    assert_int_equal(weft_poll_deregister(&f->poll, f->poll.fd), -EINVAL);

    int file = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
    assert_true(file >= 0);
    assert_int_equal(weft_poll_register(&f->poll, file, 1, WEFT_INTEREST_READABLE), -EPERM);
    assert_int_equal(weft_poll_deregister(&f->poll, file), -EPERM);
    close(file);

    assert_int_equal(weft_poll_wait(&f->poll, &f->events, -2), -EINVAL);
    assert_int_equal(weft_poll_deregister(&f->poll, p[0]), 0);
    close_pair(p);
}

static void test_events_init_and_free(void **state)
{
    (void)state;
    weft_events ev;
    assert_int_equal(weft_events_init(&ev, 0), -EINVAL);
    assert_null(ev.items);
    assert_int_equal(weft_events_init(&ev, SIZE_MAX), -EINVAL);
    weft_events_free(&ev); /* harmless on a failed init */
    assert_int_equal(weft_events_init(&ev, 1), 0);
    assert_int_equal(ev.capacity, 1);
    assert_int_equal(ev.len, 0);
    weft_events_free(&ev);
    weft_events_free(&ev); /* and twice */
    assert_null(ev.items);
}

static void test_closed_poll(void **state)
{
    (void)state;
    int before = weft_test_fd_count();
    weft_poll poll;
    weft_events ev;
    assert_int_equal(weft_poll_init(&poll), 0);
    assert_int_equal(weft_events_init(&ev, 4), 0);
    weft_poll_close(&poll);
    weft_poll_close(&poll); /* a no-op */
    assert_int_equal(poll.fd, -1);
    assert_int_equal(weft_poll_wait(&poll, &ev, 0), -EBADF);
    assert_int_equal(ev.len, 0);
    assert_int_equal(weft_poll_deregister(&poll, STDIN_FILENO), -EBADF);
    weft_events_free(&ev);
    assert_int_equal(weft_test_fd_count(), before);
}

/* ---- waiting ------------------------------------------------------------------------------- */

static void test_capacity_smaller_than_ready_fds(void **state)
{
    struct fixture *f = *state;
    enum { N = 5 };
    int p[N][2];
    weft_events small;
    assert_int_equal(weft_events_init(&small, 2), 0);
    for (int i = 0; i < N; i++) {
        weft_test_pipe(p[i]);
        assert_int_equal(
            weft_poll_register(&f->poll, p[i][0], (weft_token)i, WEFT_INTEREST_READABLE), 0);
        weft_test_write_all(p[i][1], "x", 1);
    }
    int seen[N] = {0};
    int waits = 0, total = 0;
    while (total < N && waits < 10) {
        int n = weft_poll_wait(&f->poll, &small, 1000 * MS);
        assert_true(n >= 1 && n <= 2);
        assert_int_equal(small.len, (size_t)n);
        for (int i = 0; i < n; i++)
            seen[small.items[i].token]++;
        total += n;
        waits++;
    }
    assert_int_equal(total, N);
    assert_true(waits >= 3);
    for (int i = 0; i < N; i++)
        assert_int_equal(seen[i], 1);
    expect_no_events(&f->poll, &small);
    for (int i = 0; i < N; i++)
        close_pair(p[i]);
    weft_events_free(&small);
}

static void test_timeout_zero_returns_at_once(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(weft_poll_wait(&f->poll, &f->events, 0), 0);
    assert_int_equal(f->events.len, 0);

    int s[2];
    weft_test_socketpair(s);
    assert_int_equal(weft_poll_register(&f->poll, s[0], 1, WEFT_INTEREST_WRITABLE), 0);
    assert_int_equal(weft_poll_wait(&f->poll, &f->events, 0), 1);
    assert_int_equal(f->events.items[0].token, 1);
    assert_int_equal(weft_poll_wait(&f->poll, &f->events, 0), 0);
    close_pair(s);
}

/* Lower bounds only. Sub-millisecond timeouts must really wait (never a busy 0), and the
 * millisecond fallback must round up, not down. */
static void test_positive_timeout_waits_at_least(void **state)
{
    struct fixture *f = *state;
    const int64_t timeouts[] = {1, 250 * US, 1500 * US, 20 * MS};
    for (size_t i = 0; i < sizeof timeouts / sizeof timeouts[0]; i++)
        expect_timeout(&f->poll, &f->events, timeouts[i]);
}

/* ---- the waker ----------------------------------------------------------------------------- */

#define WAKER_TOKEN 1000

struct waker_thread {
    weft_poll_waker *waker;
    int64_t delay_ns;
    int wakes;
};

static void *wake_later(void *arg)
{
    struct waker_thread *w = arg;
    sleep_ns(w->delay_ns);
    for (int i = 0; i < w->wakes; i++)
        if (weft_poll_waker_wake(w->waker) != 0) return (void *)1;
    return NULL;
}

static void test_waker_from_thread_ends_infinite_wait(void **state)
{
    struct fixture *f = *state;
    weft_poll_waker waker;
    assert_int_equal(weft_poll_waker_init(&waker, &f->poll, WAKER_TOKEN), 0);
    struct waker_thread w = {.waker = &waker, .delay_ns = 50 * MS, .wakes = 1};
    pthread_t thread;
    /* Before the thread exists: its 50 ms sleep may start before pthread_create returns here. */
    int64_t start = weft_test_now_ns();
    assert_int_equal(pthread_create(&thread, NULL, wake_later, &w), 0);

    assert_int_equal(weft_poll_wait(&f->poll, &f->events, WEFT_POLL_FOREVER), 1);
    assert_true(weft_test_now_ns() - start >= 50 * MS); /* it really was blocked */
    assert_int_equal(f->events.items[0].token, WAKER_TOKEN);
    assert_true(weft_event_is_readable(&f->events.items[0]));

    void *ret;
    assert_int_equal(pthread_join(thread, &ret), 0);
    assert_null(ret);
    weft_poll_waker_close(&waker, &f->poll);
}

static void test_many_wakes_coalesce(void **state)
{
    struct fixture *f = *state;
    weft_poll_waker waker;
    assert_int_equal(weft_poll_waker_init(&waker, &f->poll, WAKER_TOKEN), 0);
    struct waker_thread w = {.waker = &waker, .delay_ns = 0, .wakes = 1000};
    pthread_t thread;
    assert_int_equal(pthread_create(&thread, NULL, wake_later, &w), 0);
    assert_int_equal(pthread_join(thread, NULL), 0);
    for (int i = 0; i < 1000; i++)
        assert_int_equal(weft_poll_waker_wake(&waker), 0);

    assert_int_equal(weft_poll_wait(&f->poll, &f->events, 1000 * MS), 1);
    assert_int_equal(f->events.items[0].token, WAKER_TOKEN);
    expect_no_events(&f->poll, &f->events);

    /* Nobody reads the eventfd, yet the next wake is a new event. */
    assert_int_equal(weft_poll_waker_wake(&waker), 0);
    expect_events(&f->poll, &f->events, {.token = WAKER_TOKEN, .flags = WEFT_EVENT_READABLE});
    expect_no_events(&f->poll, &f->events);
    weft_poll_waker_close(&waker, &f->poll);
    weft_poll_waker_close(&waker, &f->poll); /* a no-op */
    assert_int_equal(weft_poll_waker_wake(&waker), -EBADF);
}

/* The eventfd counter tops out at 2^64 - 2; a wake must still get through. */
static void test_waker_counter_overflow(void **state)
{
    struct fixture *f = *state;
    weft_poll_waker waker;
    assert_int_equal(weft_poll_waker_init(&waker, &f->poll, WAKER_TOKEN), 0);
    const uint64_t almost_full = UINT64_MAX - 1;
    assert_int_equal(write(waker.fd, &almost_full, sizeof almost_full), sizeof almost_full);
    expect_events(&f->poll, &f->events, {.token = WAKER_TOKEN});
    assert_int_equal(weft_poll_waker_wake(&waker), 0);
    expect_events(&f->poll, &f->events, {.token = WAKER_TOKEN, .flags = WEFT_EVENT_READABLE});
    weft_poll_waker_close(&waker, &f->poll);
}

static weft_poll_waker *signal_waker;
static volatile sig_atomic_t errno_after_wake;

static void wake_from_handler(int sig)
{
    (void)sig;
    errno = EDOM;
    (void)weft_poll_waker_wake(signal_waker);
    errno_after_wake = errno;
}

/* A signal handler may wake the poll, even on the counter-full path, and errno survives. */
static void test_waker_from_signal_handler(void **state)
{
    struct fixture *f = *state;
    weft_poll_waker waker;
    assert_int_equal(weft_poll_waker_init(&waker, &f->poll, WAKER_TOKEN), 0);
    signal_waker = &waker;
    struct sigaction sa = {.sa_handler = wake_from_handler}, old;
    assert_int_equal(sigaction(SIGUSR2, &sa, &old), 0);

    const uint64_t almost_full = UINT64_MAX - 1;
    assert_int_equal(write(waker.fd, &almost_full, sizeof almost_full), sizeof almost_full);
    expect_events(&f->poll, &f->events, {.token = WAKER_TOKEN});
    assert_int_equal(raise(SIGUSR2), 0);
    assert_int_equal(errno_after_wake, EDOM);
    expect_events(&f->poll, &f->events, {.token = WAKER_TOKEN, .flags = WEFT_EVENT_READABLE});

    assert_int_equal(sigaction(SIGUSR2, &old, NULL), 0);
    weft_poll_waker_close(&waker, &f->poll);
}

/* ---- EINTR --------------------------------------------------------------------------------- */

/* Handled signals. Atomic (lock-free, so usable in a handler): the interrupter thread reads it. */
static atomic_int interruptions;

static void count_interruption(int sig)
{
    (void)sig;
    atomic_fetch_add(&interruptions, 1);
}

struct interrupter {
    pthread_t target;
    int signals;
    int64_t every_ns;
    int write_fd; /* -1, or a pipe to write to after the signals */
};

static void *interrupt_repeatedly(void *arg)
{
    struct interrupter *in = arg;
    for (int i = 0; i < in->signals; i++) {
        sleep_ns(in->every_ns);
        pthread_kill(in->target, SIGUSR1);
        /* A second SIGUSR1 sent while the first is still pending would merge with it (standard
         * signals do not queue): on a loaded machine the target may not run for a while. So
         * each is handled before the next is sent; bounded, 10 s. */
        for (int spins = 0; atomic_load(&interruptions) <= i && spins < 10000; spins++)
            sleep_ns(1 * MS);
    }
    if (in->write_fd >= 0) {
        sleep_ns(in->every_ns);
        if (write(in->write_fd, "x", 1) != 1) return (void *)1;
    }
    return NULL;
}

/* Installs a no-op SIGUSR1 handler WITHOUT SA_RESTART, so a blocked wait sees EINTR. */
static void install_interruption_handler(struct sigaction *old)
{
    atomic_store(&interruptions, 0);
    struct sigaction sa = {.sa_handler = count_interruption, .sa_flags = 0};
    sigemptyset(&sa.sa_mask);
    assert_int_equal(sigaction(SIGUSR1, &sa, old), 0);
}

static void test_signal_during_timed_wait_keeps_waiting(void **state)
{
    struct fixture *f = *state;
    struct sigaction old;
    install_interruption_handler(&old);
    struct interrupter in = {pthread_self(), 3, 30 * MS, -1};
    pthread_t thread;
    int64_t start = weft_test_now_ns();
    assert_int_equal(pthread_create(&thread, NULL, interrupt_repeatedly, &in), 0);

    assert_int_equal(weft_poll_wait(&f->poll, &f->events, 200 * MS), 0);
    int64_t elapsed = weft_test_now_ns() - start;
    assert_int_equal(pthread_join(thread, NULL), 0);
    assert_true(atomic_load(&interruptions) == 3); /* the signals really arrived during the wait */
    if (elapsed < 200 * MS) fail_msg("returned after %lld ns", (long long)elapsed);
    assert_int_equal(sigaction(SIGUSR1, &old, NULL), 0);
}

static void test_signal_during_infinite_wait_keeps_waiting(void **state)
{
    struct fixture *f = *state;
    struct sigaction old;
    install_interruption_handler(&old);
    int p[2];
    weft_test_pipe(p);
    assert_int_equal(weft_poll_register(&f->poll, p[0], 12, WEFT_INTEREST_READABLE), 0);
    struct interrupter in = {pthread_self(), 3, 20 * MS, p[1]};
    pthread_t thread;
    assert_int_equal(pthread_create(&thread, NULL, interrupt_repeatedly, &in), 0);

    assert_int_equal(weft_poll_wait(&f->poll, &f->events, WEFT_POLL_FOREVER), 1);
    assert_int_equal(f->events.items[0].token, 12);
    void *ret;
    assert_int_equal(pthread_join(thread, &ret), 0);
    assert_null(ret);
    assert_true(atomic_load(&interruptions) == 3);
    assert_int_equal(sigaction(SIGUSR1, &old, NULL), 0);
    close_pair(p);
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void)
{
    const struct CMUnitTest readiness[] = {
        T(test_readable_after_write),
        T(test_writable_on_fresh_socketpair),
        T(test_writable_on_fresh_tcp_connection),
        T(test_edge_triggered),
        T(test_read_closed_after_peer_shutdown),
        T(test_peer_half_close_wakes_writer),
        T(test_write_closed_and_error_after_peer_reset),
        T(test_write_closed_when_pipe_reader_closes),
        T(test_write_closed_when_full_pipe_reader_closes),
        T(test_read_closed_when_pipe_writer_closes),
        T(test_refused_connect),
        T(test_priority_data),
    };
    const struct CMUnitTest registrations[] = {
        T(test_reregister_changes_interest_and_token),
        T(test_deregister_stops_events),
        T(test_close_without_deregister_leaves_dup_registered),
        T(test_tokens_are_opaque),
        T(test_error_codes),
        cmocka_unit_test(test_events_init_and_free),
        cmocka_unit_test(test_closed_poll),
    };
    const struct CMUnitTest waiting[] = {
        T(test_capacity_smaller_than_ready_fds),
        T(test_timeout_zero_returns_at_once),
        T(test_positive_timeout_waits_at_least),
        T(test_signal_during_timed_wait_keeps_waiting),
        T(test_signal_during_infinite_wait_keeps_waiting),
    };
    const struct CMUnitTest waker[] = {
        T(test_waker_from_thread_ends_infinite_wait),
        T(test_many_wakes_coalesce),
        T(test_waker_counter_overflow),
        T(test_waker_from_signal_handler),
    };
    int failed = 0;
    failed += cmocka_run_group_tests_name("readiness", readiness, NULL, NULL);
    failed += cmocka_run_group_tests_name("registrations", registrations, NULL, NULL);
    failed += cmocka_run_group_tests_name("waiting", waiting, NULL, NULL);
    failed += cmocka_run_group_tests_name("waker", waker, NULL, NULL);
    return failed == 0 ? 0 : 1;
}
