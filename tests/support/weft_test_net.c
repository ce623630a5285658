#define _GNU_SOURCE
#include "weft_test_net.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

void weft_test_set_nonblocking(int fd)
{
    int flags = fcntl(fd, F_GETFL);
    assert_true(flags >= 0);
    assert_int_equal(fcntl(fd, F_SETFL, flags | O_NONBLOCK), 0);
}

void weft_test_pipe(int fds[2])
{
    assert_int_equal(pipe2(fds, O_NONBLOCK | O_CLOEXEC), 0);
}

void weft_test_socketpair(int fds[2])
{
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds), 0);
}

static struct sockaddr_in loopback(uint16_t port)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return sa;
}

/* A TCP socket bound to 127.0.0.1 on a free port. */
static int bound_socket(uint16_t *port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(fd >= 0);
    struct sockaddr_in sa = loopback(0);
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    socklen_t len = sizeof sa;
    assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
    *port = ntohs(sa.sin_port);
    return fd;
}

int weft_test_tcp_listener(uint16_t *port)
{
    int fd = bound_socket(port);
    assert_int_equal(listen(fd, 16), 0);
    return fd;
}

int weft_test_refusing_port(uint16_t *port)
{
    return bound_socket(port);
}

int weft_test_tcp_connect_start(uint16_t port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    assert_true(fd >= 0);
    struct sockaddr_in sa = loopback(port);
    int r = connect(fd, (struct sockaddr *)&sa, sizeof sa);
    assert_true(r == 0 || errno == EINPROGRESS);
    return fd;
}

void weft_test_tcp_pair(int *client, int *server)
{
    uint16_t port;
    int lfd = weft_test_tcp_listener(&port);
    int c = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(c >= 0);
    struct sockaddr_in sa = loopback(port);
    assert_int_equal(connect(c, (struct sockaddr *)&sa, sizeof sa), 0);
    int s = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    assert_true(s >= 0);
    close(lfd);
    weft_test_set_nonblocking(c);
    *client = c;
    *server = s;
}

size_t weft_test_drain(int fd, bool *eof)
{
    char buf[4096];
    size_t total = 0;
    if (eof) *eof = false;
    for (;;) {
        ssize_t n = read(fd, buf, sizeof buf);
        if (n > 0) {
            total += (size_t)n;
        } else if (n == 0) {
            if (eof) *eof = true;
            return total;
        } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
            return total;
        } else if (errno != EINTR) {
            fail_msg("read: %s", strerror(errno));
        }
    }
}

void weft_test_write_all(int fd, const void *buf, size_t len)
{
    const char *p = buf;
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR) continue;
        assert_true(n > 0);
        p += n;
        len -= (size_t)n;
    }
}
