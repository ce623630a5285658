/*
 * Tests of weft/unix.h: a Unix-domain stream round trip (filesystem path and abstract name)
 * using the TCP stream operations on the accepted and connected ends; the listener removes its
 * file; connecting where nobody listens; an accept deadline.
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <weft/unix.h>

#include "runtime_test.h"

static void temp_path(char *buf, size_t size, const char *tag)
{
    snprintf(buf, size, "/tmp/weft-test-unix-%ld-%s.sock", (long)getpid(), tag);
    unlink(buf);
}

static bool exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

/* Accepts one connection and echoes what it reads until the peer closes. */
struct server {
    weft_co co;
    weft_unix_listener *l;
    weft_tcp_stream conn;
    weft_tcp_xfer wr;
    char buf[64];
    int n, r;
};

static int server(void *frame, weft_cx *cx)
{
    struct server *f = frame;
    WEFT_BEGIN(&f->co);
    WEFT_AWAIT(&f->co, f->r = weft_unix_accept(f->l, &f->conn, cx));
    if (f->r < 0) WEFT_RETURN(&f->co, f->r);
    for (;;) {
        WEFT_AWAIT(&f->co, f->n = weft_tcp_read(&f->conn, f->buf, sizeof f->buf, cx));
        if (f->n <= 0) break;
        WEFT_AWAIT_CHILD(&f->co, &f->wr.co, f->r,
                         weft_tcp_write_all(&f->wr, &f->conn, f->buf, (size_t)f->n, cx));
        if (f->r < 0) break;
    }
    weft_tcp_close(cx->rt, &f->conn);
    WEFT_ON_CANCEL(&f->co);
    weft_tcp_close(cx->rt, &f->conn);
    WEFT_END(&f->co, f->n);
}

/* Connects, sends a line, reads it back, closes. */
struct client {
    weft_co co;
    const char *path;
    weft_tcp_stream s;
    weft_tcp_xfer x;
    char buf[64];
    int r;
};

static int client(void *frame, weft_cx *cx)
{
    struct client *f = frame;
    WEFT_BEGIN(&f->co);
    WEFT_AWAIT(&f->co, f->r = weft_unix_connect(&f->s, f->path, cx));
    if (f->r < 0) WEFT_RETURN(&f->co, f->r);
    WEFT_AWAIT_CHILD(&f->co, &f->x.co, f->r, weft_tcp_write_all(&f->x, &f->s, "hello\n", 6, cx));
    if (f->r == 0)
        WEFT_AWAIT_CHILD(&f->co, &f->x.co, f->r, weft_tcp_read_exact(&f->x, &f->s, f->buf, 6, cx));
    weft_tcp_close(cx->rt, &f->s);
    WEFT_END(&f->co, f->r);
}

static void round_trip(weft_runtime *rt, const char *path)
{
    weft_unix_listener l;
    assert_int_equal(weft_unix_listen(rt, &l, path, 16), 0);
    struct server s = {.l = &l};
    struct client c = {.path = path};
    weft_task ts, tc;
    assert_int_equal(weft_task_spawn(rt, server, &s, &ts), 0);
    assert_int_equal(weft_task_spawn(rt, client, &c, &tc), 0);
    assert_int_equal(weft_runtime_run(rt), 0);
    assert_int_equal(weft_task_result(rt, tc), 0);
    assert_int_equal(weft_task_result(rt, ts), 0); /* read 0: the client closed */
    assert_memory_equal(c.buf, "hello\n", 6);
    assert_int_equal(weft_unix_listener_close(rt, &l), 0);
    assert_int_equal(weft_unix_listener_close(rt, &l), WEFT_ECLOSED);
}

static void unix_round_trip_on_a_path(void **state)
{
    char path[108];
    temp_path(path, sizeof path, "rt");
    round_trip(rt_of(state), path);
    assert_false(exists(path)); /* the listener removed its file */
}

static void unix_round_trip_abstract(void **state)
{
    char name[64];
    snprintf(name, sizeof name, "@weft-test-%ld", (long)getpid());
    round_trip(rt_of(state), name);
}

struct connector {
    weft_co co;
    const char *path;
    weft_tcp_stream s;
    int r;
};

static int connector(void *frame, weft_cx *cx)
{
    struct connector *f = frame;
    WEFT_BEGIN(&f->co);
    WEFT_AWAIT(&f->co, f->r = weft_unix_connect(&f->s, f->path, cx));
    if (f->r == 0) weft_tcp_close(cx->rt, &f->s);
    WEFT_END(&f->co, f->r);
}

static void unix_connect_without_listener_fails(void **state)
{
    weft_runtime *rt = rt_of(state);
    char path[108];
    temp_path(path, sizeof path, "none");
    struct connector c = {.path = path};
    assert_int_equal(weft_runtime_block_on(rt, connector, &c), -ENOENT);
    /* A socket file that nobody listens on (bound, never listening): refused. */
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    strcpy(sa.sun_path, path);
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    c = (struct connector){.path = path};
    assert_int_equal(weft_runtime_block_on(rt, connector, &c), -ECONNREFUSED);
    close(fd);
    unlink(path);
    /* An abstract name nobody has bound: refused too. */
    c = (struct connector){.path = "@weft-test-nobody-listens"};
    assert_int_equal(weft_runtime_block_on(rt, connector, &c), -ECONNREFUSED);
}

struct acceptor {
    weft_co co;
    weft_unix_listener *l;
    int64_t deadline;
    weft_tcp_stream conn;
};

static int acceptor(void *frame, weft_cx *cx)
{
    struct acceptor *f = frame;
    int r;
    WEFT_BEGIN(&f->co);
    WEFT_AWAIT(&f->co, r = weft_unix_accept_dl(f->l, &f->conn, f->deadline, cx));
    if (r == 0) weft_tcp_close(cx->rt, &f->conn);
    WEFT_END(&f->co, r);
}

static void unix_accept_deadline_never_early(void **state)
{
    weft_runtime *rt = rt_of(state);
    char path[108];
    temp_path(path, sizeof path, "dl");
    weft_unix_listener l;
    assert_int_equal(weft_unix_listen(rt, &l, path, 1), 0);
    int64_t start = weft_time_now();
    struct acceptor a = {.l = &l, .deadline = start + WEFT_MSEC(15)};
    assert_int_equal(weft_runtime_block_on(rt, acceptor, &a), -ETIMEDOUT);
    assert_true(weft_time_now() - start >= WEFT_MSEC(15));
    assert_int_equal(weft_unix_listener_close(rt, &l), 0);
}

static void unix_listen_rejects_bad_paths(void **state)
{
    weft_runtime *rt = rt_of(state);
    weft_unix_listener l, l2;
    char longpath[200];
    memset(longpath, 'a', sizeof longpath - 1);
    longpath[sizeof longpath - 1] = '\0';
    assert_int_equal(weft_unix_listen(rt, &l, longpath, 1), -ENAMETOOLONG);
    assert_int_equal(weft_unix_listen(rt, &l, "", 1), -EINVAL);
    char path[108];
    temp_path(path, sizeof path, "dup");
    assert_int_equal(weft_unix_listen(rt, &l, path, 1), 0);
    assert_int_equal(weft_unix_listen(rt, &l2, path, 1), -EADDRINUSE);
    assert_int_equal(weft_unix_listener_close(rt, &l), 0);
    assert_int_equal(weft_unix_listener_close(rt, &l2), WEFT_ECLOSED);
}

int main(void)
{
    alarm(60);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(unix_round_trip_on_a_path, rt_setup, rt_teardown),
        cmocka_unit_test_setup_teardown(unix_round_trip_abstract, rt_setup, rt_teardown),
        cmocka_unit_test_setup_teardown(unix_connect_without_listener_fails, rt_setup, rt_teardown),
        cmocka_unit_test_setup_teardown(unix_accept_deadline_never_early, rt_setup, rt_teardown),
        cmocka_unit_test_setup_teardown(unix_listen_rejects_bad_paths, rt_setup, rt_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
