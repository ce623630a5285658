/*
 * idle_conns: opens K connections to a server and holds them idle, so that the server's memory
 * per connection can be read from its /proc/PID/status before and after.
 *
 *   idle_conns --addr 127.0.0.1:PORT [--conns K] [--request] [--hold S] [--batch B]
 *
 * Opens K connections (default 10000), at most B (default 256) connecting at once so the
 * server's listen backlog never overflows. With --request, each connection then sends one GET
 * and waits for its response, so the server has seen traffic on every connection before they go
 * idle (a server that allocates on first read shows it). Then it prints
 *
 *   READY conns=K connected=X answered=Y errors=E
 *
 * and holds every connection open until SIGINT or SIGTERM, or S seconds (default 600), and exits
 * after printing a RESULT line (see bench_common.h; wall_s is the time to get READY). Connections
 * the server closes while held are counted as errors.
 */
#define _GNU_SOURCE
#include "bench_common.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

enum { MAX_EVENTS = 256, BUF_SIZE = 512 };

enum conn_state { FREE, CONNECTING, WAITING, IDLE, DEAD };

struct conn {
    int fd;
    enum conn_state state;
    uint32_t len;
};

static int epfd, sigfd;
static struct sockaddr_in addr;
static char request[128];
static size_t request_len;
static int with_request;
static long connecting, waiting, connected, answered, errors;

static void conn_fail(struct conn *c)
{
    if (c->state == CONNECTING) connecting--;
    if (c->state == WAITING) waiting--;
    close(c->fd);
    c->state = DEAD;
    errors++;
}

static void conn_open(struct conn *c)
{
    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c->fd < 0) bench_die("socket");
    struct epoll_event ev = {.events = EPOLLOUT | EPOLLIN | EPOLLRDHUP, .data.ptr = c};
    if (epoll_ctl(epfd, EPOLL_CTL_ADD, c->fd, &ev) != 0) bench_die("epoll_ctl");
    c->state = CONNECTING;
    connecting++;
    if (connect(c->fd, (struct sockaddr *)&addr, sizeof addr) != 0 && errno != EINPROGRESS)
        conn_fail(c);
}

/* Connect finished: send the request, or go idle straight away. Level-triggered throughout. */
static void conn_connected(struct conn *c)
{
    int err = 0;
    socklen_t len = sizeof err;
    getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
    struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP, .data.ptr = c};
    if (err != 0 || epoll_ctl(epfd, EPOLL_CTL_MOD, c->fd, &ev) != 0) {
        conn_fail(c);
        return;
    }
    connecting--;
    connected++;
    c->state = IDLE;
    if (!with_request) return;
    c->state = WAITING;
    waiting++;
    if (write(c->fd, request, request_len) != (ssize_t)request_len) conn_fail(c);
}

/* Reads the response (WAITING), or notices that the server closed or wrote to us (IDLE). */
static void conn_readable(struct conn *c)
{
    char buf[BUF_SIZE];
    if (c->len >= sizeof buf || c->state != WAITING) {
        conn_fail(c);
        return;
    }
    /* The response is tiny: peek until it is all there, then consume it. */
    ssize_t n = recv(c->fd, buf, sizeof buf, MSG_PEEK);
    long r = n > 0 ? bench_resp_parse(buf, (size_t)n, sizeof buf) : -1;
    if (r < 0 || (r == 0 && (size_t)n == sizeof buf)) {
        conn_fail(c);
        return;
    }
    if (r == 0) return;
    if (recv(c->fd, buf, (size_t)r, 0) != r) {
        conn_fail(c);
        return;
    }
    c->state = IDLE;
    waiting--;
    answered++;
}

static void conn_event(struct conn *c, uint32_t events)
{
    if (c->state == CONNECTING) {
        conn_connected(c);
        return;
    }
    if (c->state == DEAD) return;
    if (events & (EPOLLERR | EPOLLHUP | EPOLLRDHUP)) {
        conn_fail(c);
        return;
    }
    conn_readable(c);
}

/* Waits for events up to `ms`; returns 1 if a stop signal arrived. */
static int poll_once(int ms)
{
    struct epoll_event events[MAX_EVENTS];
    int n = epoll_wait(epfd, events, MAX_EVENTS, ms);
    if (n < 0 && errno != EINTR) bench_die("epoll_wait");
    int stop = 0;
    for (int i = 0; i < n; i++) {
        if (events[i].data.ptr == &sigfd)
            stop = 1;
        else
            conn_event(events[i].data.ptr, events[i].events);
    }
    return stop;
}

int main(int argc, char **argv)
{
    struct bench_client_opts o = BENCH_CLIENT_OPTS_INIT;
    long hold = 600, batch = 256;
    o.conns = 10000;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--request") == 0) {
            with_request = 1;
            continue;
        }
        if (bench_opt_str(argc, argv, &i, "--addr", &o.addr_text) ||
            bench_opt_long(argc, argv, &i, "--conns", 1, 1000000, &o.conns) ||
            bench_opt_long(argc, argv, &i, "--hold", 0, 86400, &hold) ||
            bench_opt_long(argc, argv, &i, "--batch", 1, 100000, &batch))
            continue;
        fprintf(stderr, "usage: %s --addr HOST:PORT [--conns K] [--request] [--hold S]\n", argv[0]);
        return 2;
    }
    request_len = bench_client_setup(&o, argv[0], request, sizeof request);
    addr = o.addr;
    long conns = o.conns;
    epfd = epoll_create1(EPOLL_CLOEXEC);
    if (epfd < 0) bench_die("epoll_create1");
    sigfd = bench_signalfd();
    struct epoll_event sev = {.events = EPOLLIN, .data.ptr = &sigfd};
    if (epoll_ctl(epfd, EPOLL_CTL_ADD, sigfd, &sev) != 0) bench_die("epoll_ctl");
    struct conn *pool = calloc((size_t)conns, sizeof *pool);
    if (pool == NULL) bench_die("calloc");

    double start = bench_now(), deadline = start + (double)hold;
    long next = 0;
    int stop = 0;
    while (!stop && bench_now() < deadline) {
        for (; next < conns && connecting < batch; next++)
            conn_open(&pool[next]);
        if (next == conns && connecting == 0 && waiting == 0) break;
        stop = poll_once(100);
    }
    double ready = bench_now() - start;
    printf("READY conns=%ld connected=%ld answered=%ld errors=%ld\n", conns, connected, answered,
           errors);
    fflush(stdout);
    while (!stop && bench_now() < deadline)
        stop = poll_once(1000);

    struct bench_run run = {"idle_conns", conns, with_request ? conns : 0, answered, errors, ready};
    bench_print_result(&run);
    for (long i = 0; i < next; i++)
        if (pool[i].state != DEAD) close(pool[i].fd);
    free(pool);
    return errors == 0 && connected == conns ? 0 : 1;
}
