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

/* Lets the acceptor face a full fd table for 300 ms, then frees the fds and waits for it. */
struct emfile {
    weft_co co;
    weft_tcp_listener *l;
    struct acceptor a;
    weft_task at;
    int *fillers, nfillers;
    int64_t wake;
    uint64_t calls_while_full, exhausted_while_full;
    int accepted_while_full, result;
};

static int emfile(void *frame, weft_cx *cx)
{
    struct emfile *f = frame;
    WEFT_BEGIN(&f->co);
    f->a.l = f->l;
    weft_task_spawn(cx->rt, acceptor, &f->a, &f->at);
    WEFT_AWAIT(&f->co, weft_sleep_for(&f->wake, WEFT_MSEC(300), cx));
    f->calls_while_full = f->l->accept_calls;
    f->exhausted_while_full = f->l->fd_exhausted;
    f->accepted_while_full = f->a.n;
    close_fds(f->fillers, f->nfillers);
    f->nfillers = 0;
    WEFT_AWAIT(&f->co, f->result = weft_task_join(f->at, cx));
    WEFT_END(&f->co, 0);
}

/* Takes every fd still free under the (lowered) limit. Returns how many. */
static int fill_fd_table(int *fds, int max)
{
    int n = 0;
    while (n < max) {
        int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
            assert_int_equal(errno, EMFILE);
            return n;
        }
        fds[n++] = fd;
    }
    fail_msg("the fd table did not fill up within %d fds", max);
    return n;
}

static void test_emfile_backs_off_and_recovers(void **state)
{
    weft_runtime *rt = rt_of(state);
    weft_tcp_listener l;
    weft_addr addr;
    int clients[CLIENTS];
    assert_int_equal(tcp_listen_loopback(rt, &l, AF_INET, &addr), 0);
    for (int i = 0; i < CLIENTS; i++) { /* handshakes complete in the backlog */
        clients[i] = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        assert_int_equal(connect(clients[i], (struct sockaddr *)&addr.ss, addr.len), 0);
    }

    struct rlimit old, low;
    assert_int_equal(getrlimit(RLIMIT_NOFILE, &old), 0);
    low = old;
    low.rlim_cur = (rlim_t)weft_test_fd_count() + 16;
    assert_int_equal(setrlimit(RLIMIT_NOFILE, &low), 0);
    int fillers[MAX_FILLERS];
    struct emfile f;
    memset(&f, 0, sizeof f);
    f.l = &l;
    f.fillers = fillers;
    f.nfillers = fill_fd_table(fillers, MAX_FILLERS);
    int r = weft_runtime_block_on(rt, emfile, &f);
    close_fds(f.fillers, f.nfillers); /* in case the task did not get to it */
    assert_int_equal(setrlimit(RLIMIT_NOFILE, &old), 0);

    assert_int_equal(r, 0);
    /* While the table was full: accept4 failed, nothing was accepted, and there was no spin.
     * With a 50 ms backoff, 300 ms allow about 7 calls; a spinning loop makes millions. */
    assert_true(f.exhausted_while_full >= 1);
    assert_int_equal(f.accepted_while_full, 0);
    if (f.calls_while_full > 30)
        fail_msg("%llu accept4 calls in 300 ms with a full fd table: the accept loop spins",
                 (unsigned long long)f.calls_while_full);
    /* Once fds were freed, every waiting client was accepted. */
    assert_int_equal(f.result, CLIENTS);
    assert_true(l.accept_calls <= f.calls_while_full + CLIENTS + 1);

    close_fds(clients, CLIENTS);
    assert_int_equal(weft_tcp_listener_close(rt, &l), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_emfile_backs_off_and_recovers, rt_setup, rt_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
