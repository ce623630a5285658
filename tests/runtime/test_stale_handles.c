/*
 * Stale copies of socket handles. A stream, listener or UDP socket is a handle that programs copy
 * by value (to hand a connection to its own task, say). Once the original is closed, the copy is
 * stale: its slot and its fd number may already belong to a newer socket. Every call on the copy
 * must say WEFT_ECLOSED and leave that newer socket alone. Each test below makes the reuse happen
 * for real (and asserts that it did, or the test would prove nothing), then tries every call that
 * names the socket without waiting on it: shutdown, options, addresses, close; and, on the stale
 * stream, a read, which must say WEFT_ECLOSED at once rather than wait on the newer socket.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include <cmocka.h>

#include <weft/udp.h>
#include <weft/unix.h>

#include "runtime_test.h"
#include "test_tcp_util.h"

/* True if the handle copy names the same slot and fd number as the open handle now. */
static bool reused(const weft_io *copy, const weft_io *now)
{
    return copy->slot == now->slot && copy->fd == now->fd && copy->gen != now->gen;
}

/* A blocking client socket connected to addr, with a receive timeout so no read hangs. */
static int client_connect(int fd, const weft_addr *addr)
{
    struct timeval tv = {.tv_sec = 5};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    return connect(fd, (const struct sockaddr *)&addr->ss, addr->len);
}

/* ============================================================================================
 * A stream: accept, copy, close the original, accept again into the same slot and fd number.
 * ========================================================================================== */

struct stale_stream {
    weft_co co;
    weft_tcp_listener l;
    weft_addr addr, name;
    weft_tcp_stream first, copy, second;
    int c1, c2;
    bool reused;
    int r_shutdown, r_nodelay, r_peer, r_local, r_close, r_read, r_write; /* on copy, second */
    char buf[4];
};

/* Makes the copy stale and its slot and fd number reused, then tries each call on the copy. The
 * assertions run after the runtime has returned; a failed step ends the task with its error. */
static int stale_stream(void *frame, weft_cx *cx)
{
    struct stale_stream *f = frame;
    int r;
    WEFT_BEGIN(&f->co);
    r = tcp_listen_loopback(cx->rt, &f->l, AF_INET, &f->addr);
    if (r == 0 && client_connect(f->c1, &f->addr) < 0) r = -errno;
    if (r < 0) WEFT_RETURN(&f->co, r);
    WEFT_AWAIT(&f->co, r = weft_tcp_accept(&f->l, &f->first, NULL, cx));
    if (r < 0) WEFT_RETURN(&f->co, r);
    f->copy = f->first; /* handed over, say, to a connection task */
    weft_tcp_close(cx->rt, &f->first);
    /* The second client's own fd was made before the close: the accept gets the freed number. */
    if (client_connect(f->c2, &f->addr) < 0) WEFT_RETURN(&f->co, -errno);
    WEFT_AWAIT(&f->co, r = weft_tcp_accept(&f->l, &f->second, NULL, cx));
    if (r < 0) WEFT_RETURN(&f->co, r);
    f->reused = reused(&f->copy.io, &f->second.io);

    f->r_shutdown = weft_tcp_shutdown(cx->rt, &f->copy, SHUT_RDWR);
    f->r_nodelay = weft_tcp_set_nodelay(cx->rt, &f->copy, true);
    f->r_peer = weft_tcp_peer_addr(cx->rt, &f->copy, &f->name);
    f->r_local = weft_tcp_local_addr(cx->rt, &f->copy, &f->name);
    f->r_close = weft_tcp_close(cx->rt, &f->copy);
    WEFT_AWAIT(&f->co, f->r_read = weft_tcp_read(&f->copy, f->buf, sizeof f->buf, cx));
    /* The second connection still works: after a stale SHUT_RDWR this write would be -EPIPE. */
    WEFT_AWAIT(&f->co, f->r_write = weft_tcp_write(&f->second, "ok", 2, cx));
    WEFT_END(&f->co, 0);
}

static void test_stale_stream_copy(void **state)
{
    weft_runtime *rt = rt_of(state);
    struct stale_stream f = {0};
    f.c1 = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    f.c2 = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(f.c1 >= 0 && f.c2 >= 0);
    assert_int_equal(weft_runtime_block_on(rt, stale_stream, &f), 0);
    assert_true(f.reused); /* the scenario itself: slot and fd number taken by the new stream */

    assert_int_equal(f.r_shutdown, WEFT_ECLOSED);
    assert_int_equal(f.r_nodelay, WEFT_ECLOSED);
    assert_int_equal(f.r_peer, WEFT_ECLOSED);
    assert_int_equal(f.r_local, WEFT_ECLOSED);
    assert_int_equal(f.r_close, WEFT_ECLOSED);
    assert_int_equal(f.r_read, WEFT_ECLOSED);
    assert_int_equal(f.r_write, 2);

    int nodelay = -1;
    socklen_t len = sizeof nodelay;
    assert_int_equal(getsockopt(weft_io_fd(&f.second.io), IPPROTO_TCP, TCP_NODELAY, &nodelay, &len),
                     0);
    assert_int_equal(nodelay, 0); /* untouched by the stale copy's set_nodelay */

    char buf[4];
    assert_int_equal(recv(f.c2, buf, sizeof buf, 0), 2);             /* the write arrived */
    assert_int_equal(recv(f.c2, buf, sizeof buf, MSG_DONTWAIT), -1); /* and no EOF after it */
    assert_true(errno == EAGAIN || errno == EWOULDBLOCK);

    /* The live handles still work, and the second stream is still open. */
    weft_addr peer;
    assert_int_equal(weft_tcp_peer_addr(rt, &f.second, &peer), 0);
    assert_int_equal(weft_tcp_close(rt, &f.second), 0);
    assert_int_equal(recv(f.c2, buf, sizeof buf, 0), 0); /* now, and only now, EOF */
    assert_int_equal(weft_tcp_listener_close(rt, &f.l), 0);
    close(f.c1);
    close(f.c2);
}

/* ============================================================================================
 * A listener, a UDP socket and a Unix-domain listener: no task needed to make them stale.
 * ========================================================================================== */

static void test_stale_listener_copy(void **state)
{
    weft_runtime *rt = rt_of(state);
    weft_tcp_listener first, copy, second;
    weft_addr a1, a2, name;
    assert_int_equal(tcp_listen_loopback(rt, &first, AF_INET, &a1), 0);
    copy = first;
    assert_int_equal(weft_tcp_listener_close(rt, &first), 0);
    assert_int_equal(tcp_listen_loopback(rt, &second, AF_INET, &a2), 0);
    assert_true(reused(&copy.io, &second.io));

    assert_int_equal(weft_tcp_listener_addr(rt, &copy, &name), WEFT_ECLOSED);
    assert_int_equal(weft_tcp_listener_close(rt, &copy), WEFT_ECLOSED);
    assert_int_equal(weft_tcp_listener_addr(rt, &second, &name), 0);
    assert_int_equal(weft_addr_port(&name), weft_addr_port(&a2));
    assert_int_equal(weft_tcp_listener_close(rt, &second), 0);
}

static void test_stale_udp_copy(void **state)
{
    weft_runtime *rt = rt_of(state);
    weft_addr any = tcp_loopback(AF_INET, 0), name;
    weft_udp first, copy, second;
    assert_int_equal(weft_udp_bind(rt, &first, &any), 0);
    assert_int_equal(weft_udp_local_addr(rt, &first, &name), 0);
    copy = first;
    assert_int_equal(weft_udp_close(rt, &first), 0);
    assert_int_equal(weft_udp_bind(rt, &second, &any), 0);
    assert_true(reused(&copy.io, &second.io));

    assert_int_equal(weft_udp_connect(rt, &copy, &name), WEFT_ECLOSED);
    assert_int_equal(weft_udp_local_addr(rt, &copy, &name), WEFT_ECLOSED);
    assert_int_equal(weft_udp_close(rt, &copy), WEFT_ECLOSED);
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    assert_int_equal(getpeername(weft_io_fd(&second.io), (struct sockaddr *)&ss, &len), -1);
    assert_int_equal(errno, ENOTCONN); /* the stale connect did not connect the new socket */
    assert_int_equal(weft_udp_close(rt, &second), 0);
}

static void test_stale_unix_listener_copy(void **state)
{
    weft_runtime *rt = rt_of(state);
    char path[108];
    snprintf(path, sizeof path, "/tmp/weft-test-stale-%ld.sock", (long)getpid());
    unlink(path);
    weft_unix_listener first, copy, second;
    assert_int_equal(weft_unix_listen(rt, &first, path, 4), 0);
    copy = first;
    assert_int_equal(weft_unix_listener_close(rt, &first), 0);
    assert_int_equal(weft_unix_listen(rt, &second, path, 4), 0); /* the same path again */
    assert_true(reused(&copy.io, &second.io));

    struct stat st;
    assert_int_equal(weft_unix_listener_close(rt, &copy), WEFT_ECLOSED);
    assert_int_equal(stat(path, &st), 0); /* the stale close did not unlink the new listener's */
    assert_int_equal(weft_unix_listener_close(rt, &second), 0);
    assert_int_equal(stat(path, &st), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_stale_stream_copy, rt_setup, rt_teardown),
        cmocka_unit_test_setup_teardown(test_stale_listener_copy, rt_setup, rt_teardown),
        cmocka_unit_test_setup_teardown(test_stale_udp_copy, rt_setup, rt_teardown),
        cmocka_unit_test_setup_teardown(test_stale_unix_listener_copy, rt_setup, rt_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
