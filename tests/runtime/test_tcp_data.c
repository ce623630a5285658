/*
 * Tests for weft/tcp.h, part 2: moving data. Several megabytes through read_exact/write_all,
 * gather writes, read_until with its delimiters, limits and end-of-stream cases, and streams
 * adopted from a socketpair. Real sockets on 127.0.0.1.
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
#include <unistd.h>

#include <cmocka.h>

#include "runtime_test.h"
#include "test_tcp_util.h"

/* ============================================================================================
 * Bulk: 8 MiB one way while the reader checks every byte
 * ========================================================================================== */

#define BULK (8u << 20)

struct bulk_writer {
    weft_co co;
    weft_tcp_stream *s;
    const char *buf;
    weft_tcp_xfer x;
    int r;
};

static int bulk_writer(void *frame, weft_cx *cx)
{
    struct bulk_writer *f = frame;
    WEFT_BEGIN(&f->co);
    WEFT_AWAIT_CHILD(&f->co, &f->x.co, f->r, weft_tcp_write_all(&f->x, f->s, f->buf, BULK, cx));
    WEFT_END(&f->co, f->r == 0 ? (int)(f->x.done >> 10) : f->r); /* KiB written */
}

struct bulk {
    weft_co co;
    struct tcp_pair p;
    struct bulk_writer w;
    weft_task wt;
    char *in;
    weft_tcp_xfer x;
    int r, written_kib, tail;
};

static int bulk(void *frame, weft_cx *cx)
{
    struct bulk *f = frame;
    WEFT_BEGIN(&f->co);
    WEFT_AWAIT_CHILD(&f->co, &f->p.co, f->p.r, tcp_pair_open(&f->p, cx));
    if (f->p.r < 0) WEFT_RETURN(&f->co, f->p.r);
    f->w.s = &f->p.client;
    weft_task_spawn(cx->rt, bulk_writer, &f->w, &f->wt);
    WEFT_AWAIT_CHILD(&f->co, &f->x.co, f->r,
                     weft_tcp_read_exact(&f->x, &f->p.server, f->in, BULK, cx));
    WEFT_AWAIT(&f->co, f->written_kib = weft_task_join(f->wt, cx));
    /* Nothing more than BULK bytes arrives: the writer's close gives end of stream. */
    weft_tcp_close(cx->rt, &f->p.client);
    WEFT_AWAIT(&f->co, f->tail = weft_tcp_read(&f->p.server, f->in, 1, cx));
    tcp_pair_close(cx->rt, &f->p);
    WEFT_END(&f->co, 0);
}

static void test_bulk_read_exact_write_all(void **state)
{
    char *out = malloc(BULK);
    struct bulk *f = calloc(1, sizeof *f);
    assert_non_null(out);
    assert_non_null(f);
    for (size_t i = 0; i < BULK; i++)
        out[i] = (char)((i * 131u) ^ (i >> 12)); /* no short period */
    f->in = malloc(BULK);
    f->w.buf = out;
    assert_int_equal(weft_runtime_block_on(rt_of(state), bulk, f), 0);
    assert_int_equal(f->r, 0);
    assert_int_equal(f->x.done, BULK);
    assert_int_equal(f->written_kib, BULK >> 10);
    assert_int_equal(f->tail, 0);
    assert_memory_equal(f->in, out, BULK);
    free(f->in);
    free(f);
    free(out);
}

/* ============================================================================================
 * Gather writes and adopted streams
 * ========================================================================================== */

struct gather {
    weft_co co;
    weft_tcp_stream a, b; /* a socketpair adopted with weft_tcp_stream_open */
    struct iovec iov[3];
    weft_tcp_xfer x;
    char buf[16];
    int wrote, r;
};

static int gather(void *frame, weft_cx *cx)
{
    struct gather *f = frame;
    WEFT_BEGIN(&f->co);
    f->iov[0] = (struct iovec){.iov_base = "ab", .iov_len = 2};
    f->iov[1] = (struct iovec){.iov_base = "", .iov_len = 0};
    f->iov[2] = (struct iovec){.iov_base = "cdef", .iov_len = 4};
    WEFT_AWAIT(&f->co, f->wrote = weft_tcp_writev(&f->a, f->iov, 3, cx));
    WEFT_AWAIT_CHILD(&f->co, &f->x.co, f->r, weft_tcp_read_exact(&f->x, &f->b, f->buf, 6, cx));
    weft_tcp_close(cx->rt, &f->a);
    weft_tcp_close(cx->rt, &f->b);
    WEFT_END(&f->co, 0);
}

static void test_writev_on_adopted_socketpair(void **state)
{
    weft_runtime *rt = rt_of(state);
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv), 0);
    struct gather f;
    memset(&f, 0, sizeof f);
    assert_int_equal(weft_tcp_stream_open(rt, &f.a, sv[0]), 0);
    assert_int_equal(weft_tcp_stream_open(rt, &f.b, sv[1]), 0);
    assert_int_equal(weft_runtime_block_on(rt, gather, &f), 0);
    assert_int_equal(f.wrote, 6);
    assert_int_equal(f.r, 0);
    assert_memory_equal(f.buf, "abcdef", 6);
    assert_int_equal(weft_tcp_writev_dl(&f.a, f.iov, -1, WEFT_NO_DEADLINE, NULL), -EINVAL);
}

/* ============================================================================================
 * read_until: a scripted writer sends chunks with pauses, so that messages arrive split
 * ========================================================================================== */

struct script {
    weft_co co;
    weft_tcp_stream *s;
    const char *const *chunks; /* NULL-terminated */
    weft_tcp_xfer x;
    int64_t wake;
    int i, r;
};

static int script(void *frame, weft_cx *cx)
{
    struct script *f = frame;
    WEFT_BEGIN(&f->co);
    for (f->i = 0; f->chunks[f->i]; f->i++) {
        WEFT_AWAIT_CHILD(
            &f->co, &f->x.co, f->r,
            weft_tcp_write_all(&f->x, f->s, f->chunks[f->i], strlen(f->chunks[f->i]), cx));
        if (f->r < 0) WEFT_RETURN(&f->co, f->r);
        WEFT_AWAIT(&f->co, weft_sleep_for(&f->wake, WEFT_MSEC(5), cx));
    }
    WEFT_END(&f->co, weft_tcp_shutdown(cx->rt, f->s, SHUT_WR));
}

#define MAX_STEPS 8

/* Reads messages until end of stream or an error; -EMSGSIZE drops the full buffer and goes on. */
struct until {
    weft_co co;
    struct tcp_pair p;
    struct script w;
    weft_task wt;
    const char *delim;
    weft_tcp_reader rd;
    char storage[64];
    size_t cap;
    int results[MAX_STEPS];
    char messages[MAX_STEPS][65];
    int n, r;
};

static int until(void *frame, weft_cx *cx)
{
    struct until *f = frame;
    WEFT_BEGIN(&f->co);
    WEFT_AWAIT_CHILD(&f->co, &f->p.co, f->p.r, tcp_pair_open(&f->p, cx));
    if (f->p.r < 0) WEFT_RETURN(&f->co, f->p.r);
    weft_tcp_reader_init(&f->rd, f->storage, f->cap);
    f->w.s = &f->p.client;
    weft_task_spawn(cx->rt, script, &f->w, &f->wt);
    for (f->n = 0; f->n < MAX_STEPS; f->n++) {
        WEFT_AWAIT_CHILD(&f->co, &f->rd.co, f->r,
                         weft_tcp_read_until(&f->rd, &f->p.server, f->delim, strlen(f->delim), cx));
        f->results[f->n] = f->r;
        /* What the reader holds: the message, or the partial one an error left behind. */
        size_t shown = f->r > 0 ? (size_t)f->r : f->rd.len;
        memcpy(f->messages[f->n], f->rd.data, shown);
        if (f->r == -EMSGSIZE) {
            weft_tcp_reader_take(&f->rd, NULL, f->rd.len);
            continue;
        }
        if (f->r <= 0) break;
    }
    WEFT_AWAIT(&f->co, f->r = weft_task_join(f->wt, cx));
    tcp_pair_close(cx->rt, &f->p);
    WEFT_END(&f->co, f->r);
}

/* Runs the script and checks each read_until result and the bytes it left in the reader. */
static void check_until(weft_runtime *rt, const char *const *chunks, const char *delim, size_t cap,
                        const int *results, const char *const *messages, int n)
{
    struct until *f = calloc(1, sizeof *f);
    f->w.chunks = chunks;
    f->delim = delim;
    f->cap = cap;
    assert_int_equal(weft_runtime_block_on(rt, until, f), 0);
    for (int i = 0; i < n; i++) {
        if (f->results[i] != results[i])
            fail_msg("step %d: read_until gave %d, want %d", i, f->results[i], results[i]);
        assert_string_equal(f->messages[i], messages[i]);
    }
    assert_int_equal(f->n, n - 1); /* the last expected step ended the loop */
    free(f);
}

static void test_read_until_lines(void **state)
{
    static const char *const chunks[] = {"hello\nwor", "ld\n", "a\r", "\n\n", "tail", NULL};
    static const int results[] = {6, 6, 3, 1, WEFT_EEOF};
    static const char *const messages[] = {"hello\n", "world\n", "a\r\n", "\n", "tail"};
    check_until(rt_of(state), chunks, "\n", 64, results, messages, 5);
}

static void test_read_until_split_delimiter(void **state)
{
    /* A four-byte delimiter split across writes; the bytes after it wait for the next call. */
    static const char *const chunks[] = {"GET / HTTP/1.1\r\nHost: x\r\n\r", "\nnext\r", "\n\r\n",
                                         NULL};
    static const int results[] = {27, 8, 0};
    static const char *const messages[] = {"GET / HTTP/1.1\r\nHost: x\r\n\r\n", "next\r\n\r\n", ""};
    check_until(rt_of(state), chunks, "\r\n\r\n", 64, results, messages, 3);
}

static void test_read_until_limit(void **state)
{
    /* 19 bytes with no delimiter into 16 bytes of buffer: -EMSGSIZE with the buffer full. */
    static const char *const chunks[] = {"0123456789abcdefXYZ", "\nok\n", NULL};
    static const int results[] = {-EMSGSIZE, 4, 3, 0};
    static const char *const messages[] = {"0123456789abcdef", "XYZ\n", "ok\n", ""};
    check_until(rt_of(state), chunks, "\n", 16, results, messages, 4);
}

static void test_read_until_bad_delimiter(void **state)
{
    (void)state;
    char buf[8];
    weft_tcp_reader rd;
    weft_tcp_stream s;
    memset(&s, 0, sizeof s);
    weft_tcp_reader_init(&rd, buf, sizeof buf);
    /* Rejected before touching the stream (or the context). */
    assert_int_equal(weft_tcp_read_until(&rd, &s, "\n", 0, NULL), -EINVAL);
    weft_co_init(&rd.co);
    assert_int_equal(weft_tcp_read_until(&rd, &s, NULL, 1, NULL), -EINVAL);
}

static void test_reader_take(void **state)
{
    (void)state;
    char buf[16];
    char out[16];
    weft_tcp_reader rd;
    weft_tcp_reader_init(&rd, buf, sizeof buf);
    strcpy(buf, "line\nbody"); /* 9 bytes and a NUL the reader ignores */
    rd.len = 9;
    rd.taken = 5; /* as if read_until had just returned "line\n" */
    assert_int_equal(weft_tcp_reader_take(&rd, out, 2), 2);
    assert_memory_equal(out, "bo", 2);
    assert_int_equal(rd.len, 2);
    assert_int_equal(weft_tcp_reader_take(&rd, out, sizeof out), 2);
    assert_memory_equal(out, "dy", 2);
    assert_int_equal(rd.len, 0);
    assert_int_equal(weft_tcp_reader_take(&rd, out, sizeof out), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_bulk_read_exact_write_all, rt_setup, rt_teardown),
        cmocka_unit_test_setup_teardown(test_writev_on_adopted_socketpair, rt_setup, rt_teardown),
        cmocka_unit_test_setup_teardown(test_read_until_lines, rt_setup, rt_teardown),
        cmocka_unit_test_setup_teardown(test_read_until_split_delimiter, rt_setup, rt_teardown),
        cmocka_unit_test_setup_teardown(test_read_until_limit, rt_setup, rt_teardown),
        cmocka_unit_test(test_read_until_bad_delimiter),
        cmocka_unit_test(test_reader_take),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
