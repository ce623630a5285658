/*
 * Tests for weft/tcp.h, part 3: a full fd table while accepting. With RLIMIT_NOFILE lowered and
 * every remaining fd taken, accept4 fails with EMFILE while clients wait in the backlog. The
 * listener must not spin (counted in accept4 calls, not in time) and must accept the waiting
 * clients once fds are freed. A separate executable, because it lowers a process-wide limit.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "runtime_test.h"
#include "test_tcp_util.h"

#define CLIENTS     4
#define MAX_FILLERS 256

/* Accepts CLIENTS connections (each within a generous deadline) and keeps them open. */
struct acceptor {
    weft_co co;
    weft_tcp_listener *l;
    weft_tcp_stream s[CLIENTS];
    int64_t deadline;
    int n, r;
};

static int acceptor(void *frame, weft_cx *cx)
{
    struct acceptor *f = frame;
    WEFT_BEGIN(&f->co);
    f->deadline = weft_deadline_in(WEFT_SEC(10));
    for (f->n = 0; f->n < CLIENTS; f->n++) {
        WEFT_AWAIT(&f->co, f->r = weft_tcp_accept_dl(f->l, &f->s[f->n], NULL, f->deadline, cx));
        if (f->r < 0) break;
    }
    for (int i = 0; i < CLIENTS; i++)
        weft_tcp_close(cx->rt, &f->s[i]);
    WEFT_END(&f->co, f->r < 0 ? f->r : f->n);
}

/* ============================================================================================
 * The setting: a listener with CLIENTS connections in its backlog, and no fd left to accept them
 * ========================================================================================== */

struct full_table {
    weft_tcp_listener l;
    weft_addr addr;
    int clients[CLIENTS];
    int fillers[MAX_FILLERS], nfillers;
    struct rlimit old;
};

/* Takes every fd still free under the (lowered) limit. */
static void fill_fd_table(struct full_table *t)
{
    for (t->nfillers = 0; t->nfillers < MAX_FILLERS; t->nfillers++) {
        int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
            assert_int_equal(errno, EMFILE);
            return;
        }
        t->fillers[t->nfillers] = fd;
    }
    fail_msg("the fd table did not fill up within %d fds", MAX_FILLERS);
}

static void full_table_begin(weft_runtime *rt, struct full_table *t)
{
    memset(t, 0, sizeof *t);
    assert_int_equal(tcp_listen_loopback(rt, &t->l, AF_INET, &t->addr), 0);
    for (int i = 0; i < CLIENTS; i++) { /* handshakes complete in the backlog */
        t->clients[i] = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        assert_int_equal(connect(t->clients[i], (struct sockaddr *)&t->addr.ss, t->addr.len), 0);
    }
    assert_int_equal(getrlimit(RLIMIT_NOFILE, &t->old), 0);
    struct rlimit low = t->old;
    low.rlim_cur = (rlim_t)weft_test_fd_count() + 16;
    assert_int_equal(setrlimit(RLIMIT_NOFILE, &low), 0);
    fill_fd_table(t);
}

/* Frees the fds (from a task, to let the acceptor recover). */
static void full_table_free_fds(struct full_table *t)
{
    close_fds(t->fillers, t->nfillers);
    t->nfillers = 0;
}

static void full_table_end(weft_runtime *rt, struct full_table *t)
{
    full_table_free_fds(t);
    assert_int_equal(setrlimit(RLIMIT_NOFILE, &t->old), 0);
    close_fds(t->clients, CLIENTS);
    weft_tcp_listener_close(rt, &t->l);
}

/* ============================================================================================
 * No spin while the table is full; every client accepted once fds are freed
 * ========================================================================================== */

/* Lets the acceptor face the full table for 300 ms, then frees the fds and waits for it. */
struct recover {
    weft_co co;
    struct full_table *t;
    struct acceptor a;
    weft_task at;
    struct weft_test_nap nap;
    int64_t full_ns;
    uint64_t calls_while_full, exhausted_while_full;
    int accepted_while_full, result;
};

static int recover(void *frame, weft_cx *cx)
{
    struct recover *f = frame;
    WEFT_BEGIN(&f->co);
    f->a.l = &f->t->l;
    weft_task_spawn(cx->rt, acceptor, &f->a, &f->at);
    f->full_ns = weft_test_now_ns();
    /* Until the acceptor has met the full table: a fixed sleep could end before it was even
     * polled on a slow machine. */
    WEFT_AWAIT(&f->co, weft_test_nap_until(&f->nap, f->t->l.fd_exhausted != 0, cx));
    WEFT_AWAIT(&f->co, weft_test_nap(&f->nap, WEFT_MSEC(300), cx));
    f->full_ns = weft_test_now_ns() - f->full_ns;
    f->calls_while_full = f->t->l.accept_calls;
    f->exhausted_while_full = f->t->l.fd_exhausted;
    f->accepted_while_full = f->a.n;
    full_table_free_fds(f->t);
    WEFT_AWAIT(&f->co, f->result = weft_task_join(f->at, cx));
    WEFT_END(&f->co, 0);
}

static void test_emfile_backs_off_and_recovers(void **state)
{
    weft_runtime *rt = rt_of(state);
    struct full_table t;
    struct recover f;
    memset(&f, 0, sizeof f);
    f.t = &t;
    full_table_begin(rt, &t);
    int r = weft_runtime_block_on(rt, recover, &f);
    uint64_t calls = t.l.accept_calls;
    full_table_end(rt, &t);

    assert_int_equal(r, 0);
    /* While the table was full: accept4 failed, nothing was accepted, and there was no spin.
     * One call per backoff period: about 7 in 300 ms (the bound doubles that, and scales with the
     * time that really passed, in case the machine is slow); a spinning loop makes ~100 000s. */
    assert_true(f.exhausted_while_full >= 1);
    assert_int_equal(f.accepted_while_full, 0);
    uint64_t allowed = 10 + 2 * (uint64_t)(f.full_ns / WEFT_TCP_ACCEPT_BACKOFF);
    if (f.calls_while_full > allowed)
        fail_msg("%llu accept4 calls in %lld ms with a full fd table: the accept loop spins",
                 (unsigned long long)f.calls_while_full, (long long)(f.full_ns / 1000000));
    /* Once fds were freed, every waiting client was accepted. */
    assert_int_equal(f.result, CLIENTS);
    assert_true(calls <= f.calls_while_full + CLIENTS + 1);
}

/* ============================================================================================
 * Closing the listener wakes a task that is backing off
 * ========================================================================================== */

struct close_in_backoff {
    weft_co co;
    struct full_table *t;
    struct acceptor a;
    weft_task at;
    struct weft_test_nap nap;
    uint64_t exhausted;
    weft_task_info after_close;
    int result;
};

static int close_in_backoff(void *frame, weft_cx *cx)
{
    struct close_in_backoff *f = frame;
    WEFT_BEGIN(&f->co);
    f->a.l = &f->t->l;
    weft_task_spawn(cx->rt, acceptor, &f->a, &f->at);
    /* Until the acceptor has met the full table: it is now backing off. */
    WEFT_AWAIT(&f->co, weft_test_nap_until(&f->nap, f->t->l.fd_exhausted != 0, cx));
    f->exhausted = f->t->l.fd_exhausted;
    weft_tcp_listener_close(cx->rt, &f->t->l);
    /* The acceptor, woken by the close, runs before this task's next turn. */
    WEFT_TASK_YIELD(&f->co, cx);
    weft_task_inspect(cx->rt, f->at, &f->after_close);
    WEFT_AWAIT(&f->co, f->result = weft_task_join(f->at, cx));
    WEFT_END(&f->co, 0);
}

static void test_close_during_backoff(void **state)
{
    weft_runtime *rt = rt_of(state);
    struct full_table t;
    struct close_in_backoff f;
    memset(&f, 0, sizeof f);
    f.t = &t;
    full_table_begin(rt, &t);
    int r = weft_runtime_block_on(rt, close_in_backoff, &f);
    full_table_end(rt, &t);

    assert_int_equal(r, 0);
    assert_true(f.exhausted >= 1); /* 2 or more if this task came back after a backoff */
    assert_int_equal(f.after_close.state, WEFT_TASK_DONE);
    assert_int_equal(f.result, WEFT_ECLOSED);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_emfile_backs_off_and_recovers, rt_setup, rt_teardown),
        cmocka_unit_test_setup_teardown(test_close_during_backoff, rt_setup, rt_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
