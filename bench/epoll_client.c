/*
 * epoll_client: the hand-written floor for the HTTP client benchmark.
 *
 *   epoll_client --addr 127.0.0.1:PORT [--conns C] [--requests N] [--timeout S]
 *
 * Sends N GET requests (default 20000) over C keep-alive connections (default 100), one request
 * in flight per connection: when a connection's response is complete it sends the next request,
 * until N have been sent. Prints one RESULT line (see bench_common.h) and exits 0 if every
 * request got a 200 response, 1 otherwise. Gives up after S seconds (default 120).
 *
 * Like epoll_server it is edge-triggered with EPOLLOUT asked for only while connecting, takes a
 * short read as proof that the socket is empty, and re-arms with EPOLL_CTL_MOD when a
 * connection's read budget runs out. A request is written with one write(): with one request in
 * flight the socket's send buffer is empty, so a short write is treated as an error.
 */
#define _GNU_SOURCE
#include "bench_common.h"

#include <errno.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

/* A response is under 100 bytes; 1 KiB per connection keeps the pool small. */
enum { BUF_SIZE = 1024, READ_BUDGET = 16, MAX_EVENTS = 256 };

struct conn {
    int fd;
    uint8_t connecting; /* waiting for connect() to complete */
    uint8_t busy;       /* a request is in flight */
    uint32_t len;       /* bytes of the current response in buf */
    char buf[BUF_SIZE];
};

static int epfd;
static struct sockaddr_in addr;
static char request[128];
static size_t request_len;
static long target, issued, done, errors, live;

static void conn_close(struct conn *c, int failed)
{
    if (failed && c->busy) errors++;
    c->busy = 0;
    close(c->fd);
    c->fd = -1;
    live--;
}

/* Sends the next request if any is left; closes the connection when there is none. */
static void conn_next(struct conn *c)
{
    if (issued >= target) {
        conn_close(c, 0);
        return;
    }
    issued++;
    c->busy = 1;
    c->len = 0;
    ssize_t n;
    do
        n = write(c->fd, request, request_len);
    while (n < 0 && errno == EINTR);
    if (n != (ssize_t)request_len) conn_close(c, 1);
}

/* Appends freshly read bytes; completes the response when it is all there. */
static int conn_take(struct conn *c, size_t n)
{
    c->len += (uint32_t)n;
    int st = bench_resp_complete(c->buf, c->len, BUF_SIZE);
    if (st == 0) return 0;
    if (st < 0 || !c->busy) {
        conn_close(c, 1);
        return -1;
    }
    done++;
    c->busy = 0;
    conn_next(c);
    return c->fd < 0 ? -1 : 0;
}

static void conn_on_readable(struct conn *c, int drain)
{
    for (int i = 0; i < READ_BUDGET; i++) {
        size_t room = BUF_SIZE - c->len;
        ssize_t n = read(c->fd, c->buf + c->len, room);
        if (n > 0) {
            if (conn_take(c, (size_t)n) != 0) return;
            if ((size_t)n < room && !drain) return;
            continue;
        }
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && errno == EAGAIN) return;
        conn_close(c, 1); /* EOF or error */
        return;
    }
    struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP | EPOLLET, .data.ptr = c};
    if (epoll_ctl(epfd, EPOLL_CTL_MOD, c->fd, &ev) != 0) conn_close(c, 1);
}

static void conn_on_connected(struct conn *c)
{
    int err = 0;
    socklen_t len = sizeof err;
    getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
    struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP | EPOLLET, .data.ptr = c};
    if (err != 0 || epoll_ctl(epfd, EPOLL_CTL_MOD, c->fd, &ev) != 0) {
        if (err != 0) fprintf(stderr, "epoll_client: connect: %s\n", strerror(err));
        conn_close(c, 0);
        return;
    }
    c->connecting = 0;
    int one = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    conn_next(c);
}

static void conn_on_event(struct conn *c, uint32_t events)
{
    if (c->fd < 0) return;
    if (c->connecting) {
        conn_on_connected(c);
        if (c->fd < 0 || !(events & EPOLLIN)) return;
    }
    if (events & EPOLLERR) {
        conn_close(c, 1);
        return;
    }
    conn_on_readable(c, (events & (EPOLLRDHUP | EPOLLHUP)) != 0);
}

static void conn_open(struct conn *c)
{
    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c->fd < 0) bench_die("socket");
    live++;
    c->connecting = 1;
    struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET, .data.ptr = c};
    if (epoll_ctl(epfd, EPOLL_CTL_ADD, c->fd, &ev) != 0) bench_die("epoll_ctl");
    if (connect(c->fd, (struct sockaddr *)&addr, sizeof addr) != 0 && errno != EINPROGRESS) {
        perror("epoll_client: connect");
        conn_close(c, 0);
    }
}

int main(int argc, char **argv)
{
    struct bench_client_opts o = BENCH_CLIENT_OPTS_INIT;
    bench_client_parse(argc, argv, &o);
    request_len = bench_client_setup(&o, argv[0], request, sizeof request);
    addr = o.addr;
    target = o.requests;
    long conns = o.conns, timeout = o.timeout;
    epfd = epoll_create1(EPOLL_CLOEXEC);
    if (epfd < 0) bench_die("epoll_create1");
    struct conn *pool = calloc((size_t)conns, sizeof *pool);
    if (pool == NULL) bench_die("calloc");

    double start = bench_now(), deadline = start + (double)timeout;
    for (long i = 0; i < conns; i++)
        conn_open(&pool[i]);
    struct epoll_event events[MAX_EVENTS];
    while (live > 0 && done + errors < target) {
        double left = deadline - bench_now();
        if (left <= 0) break;
        int n = epoll_wait(epfd, events, MAX_EVENTS, (int)(left * 1000) + 1);
        if (n < 0 && errno != EINTR) bench_die("epoll_wait");
        for (int i = 0; i < n; i++)
            conn_on_event(events[i].data.ptr, events[i].events);
    }
    double wall = bench_now() - start;
    for (long i = 0; i < conns; i++)
        if (pool[i].fd >= 0) conn_close(&pool[i], 1);
    errors = target - done; /* failed, unanswered, or never sent */
    struct bench_run run = {"epoll_client", conns, target, done, errors, wall};
    bench_print_result(&run);
    free(pool);
    return errors == 0 ? 0 : 1;
}
