/*
 * Tests for weft/tcp.h, part 4: the reads a stream does not make. A recv that can only say
 * EAGAIN is a system call per request for nothing, so two rules of the readiness state are
 * checked by counting recv calls (recv is wrapped only to count; every call still happens):
 *   - a connection weft opened is not readable until the peer sends: its first read waits for the
 *     event without trying recv first;
 *   - a read that got fewer bytes than it asked for emptied the socket: the next read waits for
 *     the event without trying recv first.
 * A read that waits here waits until a short deadline, which is how the test sees it wait.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>

#include <cmocka.h>

#include "runtime_test.h"
#include "test_tcp_util.h"

ssize_t __real_recv(int fd, void *buf, size_t len, int flags);
ssize_t __wrap_recv(int fd, void *buf, size_t len, int flags);

static long recv_calls; /* recv calls made so far */

ssize_t __wrap_recv(int fd, void *buf, size_t len, int flags)
{
    recv_calls++;
    return __real_recv(fd, buf, len, flags);
}

/* What the task saw, step by step; checked after the runtime returns. */
struct first_read {
    weft_co co;
    struct tcp_pair p;
    char buf[64];
    int fresh_read, data_read, drained_read;     /* each read's result */
    long fresh_calls, data_calls, drained_calls; /* recv calls each one made */
    long mark;
    int64_t deadline; /* the read's: the same on every poll */
};

/* A read on the client side with a deadline 20 ms away, and the recv calls it made. */
#define COUNTED_READ(f, result, calls)                                                             \
    do {                                                                                           \
        (f)->mark = recv_calls;                                                                    \
        (f)->deadline = weft_deadline_in(WEFT_MSEC(20));                                           \
        WEFT_AWAIT(&(f)->co, (result) = weft_tcp_read_dl(&(f)->p.client, (f)->buf, sizeof(f)->buf, \
                                                         (f)->deadline, cx));                      \
        (calls) = recv_calls - (f)->mark;                                                          \
    } while (0)

static int first_read(void *frame, weft_cx *cx)
{
    struct first_read *f = frame;
    WEFT_BEGIN(&f->co);
    WEFT_AWAIT_CHILD(&f->co, &f->p.co, f->p.r, tcp_pair_open(&f->p, cx));
    if (f->p.r < 0) WEFT_RETURN(&f->co, f->p.r);
    COUNTED_READ(f, f->fresh_read, f->fresh_calls); /* nothing sent yet */
    WEFT_AWAIT(&f->co, f->data_read = weft_tcp_write(&f->p.server, "hello", 5, cx));
    COUNTED_READ(f, f->data_read, f->data_calls); /* 5 bytes of the 64 asked for */
    COUNTED_READ(f, f->drained_read, f->drained_calls);
    tcp_pair_close(cx->rt, &f->p);
    WEFT_END(&f->co, 0);
}

static void test_reads_not_made(void **state)
{
    struct first_read f;
    memset(&f, 0, sizeof f);
    f.p.family = AF_INET;
    assert_int_equal(weft_runtime_block_on(rt_of(state), first_read, &f), 0);
    assert_int_equal(f.fresh_read, -ETIMEDOUT);
    assert_int_equal(f.fresh_calls, 0);
    assert_int_equal(f.data_read, 5);
    assert_int_equal(f.data_calls, 1);
    assert_int_equal(f.drained_read, -ETIMEDOUT);
    assert_int_equal(f.drained_calls, 0);
}

/*
 * The other side of the short-transfer rule: once a short read or write has cleared the
 * readiness bit, what arrives later (bytes, a FIN, room to write) must still wake the task. The
 * peer acts with plain system calls on the server's fd between the task's steps; each step has a
 * deadline 5 s away, so a lost wake-up shows as -ETIMEDOUT.
 */
#define BIG_WRITE (16u << 20) /* more than both socket buffers hold */

struct after_short {
    weft_co co;
    struct tcp_pair p;
    char buf[64];
    unsigned char *big;
    int64_t dl; /* every step's deadline, set once */
    int short_read, later_read, fin_read, eof_read, short_write, later_write;
};

/* The peer reads everything the client wrote so far (bounded: the buffers hold a few MB). */
static void peer_drain(int fd)
{
    static char sink[1 << 16];
    for (int i = 0; i < 4096; i++)
        if (__real_recv(fd, sink, sizeof sink, 0) <= 0) return;
}

static int after_short(void *frame, weft_cx *cx)
{
    struct after_short *f = frame;
    WEFT_BEGIN(&f->co);
    f->dl = weft_deadline_in(WEFT_SEC(5));
    WEFT_AWAIT_CHILD(&f->co, &f->p.co, f->p.r, tcp_pair_open(&f->p, cx));
    if (f->p.r < 0) WEFT_RETURN(&f->co, f->p.r);
    assert_int_equal(send(weft_io_fd(&f->p.server.io), "ab", 2, 0), 2);
    WEFT_AWAIT(&f->co,
               f->short_read = weft_tcp_read_dl(&f->p.client, f->buf, sizeof f->buf, f->dl, cx));
    assert_int_equal(send(weft_io_fd(&f->p.server.io), "cde", 3, 0), 3); /* after the short read */
    WEFT_AWAIT(&f->co,
               f->later_read = weft_tcp_read_dl(&f->p.client, f->buf, sizeof f->buf, f->dl, cx));
    assert_int_equal(send(weft_io_fd(&f->p.server.io), "f", 1, 0), 1);
    assert_int_equal(shutdown(weft_io_fd(&f->p.server.io), SHUT_WR), 0);
    WEFT_AWAIT(&f->co,
               f->fin_read = weft_tcp_read_dl(&f->p.client, f->buf, sizeof f->buf, f->dl, cx));
    WEFT_AWAIT(&f->co,
               f->eof_read = weft_tcp_read_dl(&f->p.client, f->buf, sizeof f->buf, f->dl, cx));
    WEFT_AWAIT(&f->co,
               f->short_write = weft_tcp_write_dl(&f->p.client, f->big, BIG_WRITE, f->dl, cx));
    peer_drain(weft_io_fd(&f->p.server.io)); /* room again, after the short write */
    WEFT_AWAIT(&f->co,
               f->later_write = weft_tcp_write_dl(&f->p.client, f->big, BIG_WRITE, f->dl, cx));
    tcp_pair_close(cx->rt, &f->p);
    WEFT_END(&f->co, 0);
}

static void test_edges_after_a_short_transfer(void **state)
{
    struct after_short f;
    memset(&f, 0, sizeof f);
    f.p.family = AF_INET;
    f.big = calloc(BIG_WRITE, 1);
    assert_non_null(f.big);
    assert_int_equal(weft_runtime_block_on(rt_of(state), after_short, &f), 0);
    free(f.big);
    assert_int_equal(f.short_read, 2);
    assert_int_equal(f.later_read, 3);
    assert_int_equal(f.fin_read, 1);
    assert_int_equal(f.eof_read, 0);
    assert_true(f.short_write > 0 && (unsigned)f.short_write < BIG_WRITE);
    assert_true(f.later_write > 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_reads_not_made, rt_setup, rt_teardown),
        cmocka_unit_test_setup_teardown(test_edges_after_a_short_transfer, rt_setup, rt_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
