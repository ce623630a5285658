/*
 * epoll_server: the hand-written floor for the HTTP server benchmark.
 *
 *   epoll_server [--port P]        P = 0 (default) picks a free port
 *
 * Listens on 127.0.0.1, prints `listening on 127.0.0.1:PORT`, and answers every GET request on
 * every keep-alive connection with bench_response (13-byte body). Exits on SIGINT or SIGTERM,
 * printing a summary to stderr.
 *
 * What makes it the floor, and what weft's server is measured against:
 * - Connections are edge-triggered and registered once. EPOLLOUT is asked for only while a
 *   response could not be written whole, so a request normally costs one read(), one write()
 *   and a share of one epoll_wait().
 * - A read that returns less than the buffer size has emptied the socket (a TCP socket copies all
 *   it has), so no second read is made to see EAGAIN. A new arrival raises a new edge.
 * - A connection owns no buffer: the request scanner keeps four bytes of state, and pending
 *   output is a count of responses still owed plus an offset into the first one, written out of
 *   one shared, read-only block that holds the response many times over.
 * - Pipelined requests are answered with one write per read. While responses are owed and the
 *   socket is full, the connection is not read (the peer's requests wait in the kernel), so a
 *   client that never reads cannot make the server buffer without bound.
 * - Every loop is bounded: a connection gets READ_BUDGET reads per wake-up; one that still has
 *   data is re-armed with EPOLL_CTL_MOD, which makes epoll report it again on the next wait.
 */
#define _GNU_SOURCE /* accept4 */
#include "bench_common.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

enum {
    READ_BUDGET = 16,   /* reads per connection per wake-up */
    ACCEPT_BUDGET = 64, /* accepts per listener wake-up */
    OWED_MAX = 1024,    /* owed responses that make us write before reading on */
    OUT_COPIES = 256,   /* copies of the response in the shared output block */
    MAX_EVENTS = 256,
};

struct conn {
    int fd;
    uint32_t owed;              /* responses not yet completely written */
    uint16_t out_off;           /* bytes of the first owed response already written */
    uint8_t want_out;           /* EPOLLOUT is in the interest set */
    uint8_t read_paused;        /* stopped reading until the owed responses are out */
    struct bench_req_scan scan; /* where the current request stands */
};

static int epfd;
static long live_conns, served;
static char in_buf[65536];
static char *out_block; /* OUT_COPIES back-to-back copies of bench_response */

/* Markers for the two fds that are not connections. */
static char listener_tag, signal_tag;

static void conn_close(struct conn *c)
{
    close(c->fd); /* also removes it from the epoll set */
    free(c);
    live_conns--;
}

static int conn_set_events(struct conn *c, uint32_t events)
{
    struct epoll_event ev = {.events = events | EPOLLET | EPOLLRDHUP, .data.ptr = c};
    return epoll_ctl(epfd, EPOLL_CTL_MOD, c->fd, &ev);
}

/*
 * Writes as many owed responses as the socket takes. Keeps EPOLLOUT in the interest set exactly
 * while some remain. Returns 0, or -1 if the connection failed and was closed.
 */
static int conn_flush(struct conn *c)
{
    int full = 0;
    for (int i = 0; i < 64 && c->owed > 0 && !full; i++) {
        size_t want = (size_t)c->owed * bench_response_len - c->out_off;
        size_t room = OUT_COPIES * bench_response_len - c->out_off;
        size_t len = want < room ? want : room;
        ssize_t n = write(c->fd, out_block + c->out_off, len);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && errno != EAGAIN) {
            conn_close(c);
            return -1;
        }
        if (n < 0) { /* EAGAIN */
            full = 1;
            break;
        }
        size_t done = c->out_off + (size_t)n;
        c->owed -= (uint32_t)(done / bench_response_len);
        served += (long)(done / bench_response_len);
        c->out_off = (uint16_t)(done % bench_response_len);
        full = (size_t)n < len;
    }
    /* Still owing with room left means the loop bound stopped us: re-arm so epoll reports
     * the connection as writable again rather than waiting for an edge that may not come. */
    uint8_t want_out = c->owed > 0;
    if (want_out != c->want_out || (want_out && !full)) {
        if (conn_set_events(c, EPOLLIN | (want_out ? EPOLLOUT : 0)) != 0) {
            conn_close(c);
            return -1;
        }
        c->want_out = want_out;
    }
    return 0;
}

/* Scans freshly read bytes; returns -1 (connection closed) on a malformed request. */
static int conn_take(struct conn *c, size_t n)
{
    long k = bench_req_scan_feed(&c->scan, in_buf, n);
    if (k < 0) {
        conn_close(c);
        return -1;
    }
    c->owed += (uint32_t)k;
    return 0;
}

/*
 * Reads and answers what the peer sent. `drain` means "we do not know whether the socket is
 * empty", so a short read is not taken as proof (after EPOLLRDHUP, or when resuming after a
 * pause). Returns 0, or -1 if the connection was closed.
 */
static int conn_on_readable(struct conn *c, int drain)
{
    if (c->read_paused) return 0; /* conn_on_writable resumes us */
    for (int i = 0; i < READ_BUDGET; i++) {
        ssize_t n = read(c->fd, in_buf, sizeof in_buf);
        if (n > 0) {
            if (conn_take(c, (size_t)n) != 0) return -1;
            if (c->owed >= OWED_MAX) {
                if (conn_flush(c) != 0) return -1;
                if (c->owed > 0) {
                    c->read_paused = 1;
                    return 0;
                }
            }
            if ((size_t)n < sizeof in_buf && !drain) return conn_flush(c);
            continue;
        }
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && errno == EAGAIN) return conn_flush(c);
        /* EOF: answer what was asked before the FIN, as far as the socket takes it. */
        if (n == 0 && conn_flush(c) != 0) return -1;
        conn_close(c);
        return -1;
    }
    if (conn_flush(c) != 0) return -1;
    /* Out of budget with data left: MOD re-evaluates readiness and queues a fresh event. */
    if (conn_set_events(c, EPOLLIN | (c->want_out ? EPOLLOUT : 0)) != 0) {
        conn_close(c);
        return -1;
    }
    return 0;
}

static int conn_on_writable(struct conn *c)
{
    if (conn_flush(c) != 0) return -1;
    if (c->owed == 0 && c->read_paused) {
        c->read_paused = 0;
        return conn_on_readable(c, 1);
    }
    return 0;
}

static void conn_on_event(struct conn *c, uint32_t events)
{
    if (events & EPOLLERR) {
        conn_close(c);
        return;
    }
    if ((events & EPOLLOUT) && conn_on_writable(c) != 0) return;
    if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP))
        (void)conn_on_readable(c, (events & (EPOLLRDHUP | EPOLLHUP)) != 0);
}

static void accept_some(int lfd)
{
    for (int i = 0; i < ACCEPT_BUDGET; i++) {
        int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EMFILE || errno == ENFILE) perror("accept4");
            return; /* EAGAIN: done; the listener is level-triggered, so nothing is lost */
        }
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        struct conn *c = calloc(1, sizeof *c);
        struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP | EPOLLET, .data.ptr = c};
        if (c == NULL || epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) != 0) {
            perror("accepting a connection");
            free(c);
            close(fd);
            continue;
        }
        c->fd = fd;
        live_conns++;
    }
}

static int listen_on(long port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) bench_die("socket");
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0) bench_die("bind");
    if (listen(fd, SOMAXCONN) != 0) bench_die("listen");
    socklen_t len = sizeof sa;
    if (getsockname(fd, (struct sockaddr *)&sa, &len) != 0) bench_die("getsockname");
    printf("listening on 127.0.0.1:%u\n", (unsigned)ntohs(sa.sin_port));
    fflush(stdout);
    return fd;
}

static void add_fd(int fd, void *tag)
{
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = tag};
    if (epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) != 0) bench_die("epoll_ctl");
}

int main(int argc, char **argv)
{
    long port = bench_server_setup(argc, argv);
    out_block = bench_response_block(OUT_COPIES);
    epfd = epoll_create1(EPOLL_CLOEXEC);
    if (epfd < 0) bench_die("epoll_create1");
    int sfd = bench_signalfd(); /* SIGINT/SIGTERM: one more readable fd */
    int lfd = listen_on(port);
    add_fd(sfd, &signal_tag);
    add_fd(lfd, &listener_tag);

    struct epoll_event events[MAX_EVENTS];
    for (int stop = 0; !stop;) {
        int n = epoll_wait(epfd, events, MAX_EVENTS, -1);
        if (n < 0 && errno != EINTR) bench_die("epoll_wait");
        for (int i = 0; i < n; i++) {
            void *tag = events[i].data.ptr;
            if (tag == &signal_tag)
                stop = 1;
            else if (tag == &listener_tag)
                accept_some(lfd);
            else
                conn_on_event(tag, events[i].events);
        }
    }
    fprintf(stderr, "epoll_server: %ld responses, %ld connections open at exit\n", served,
            live_conns);
    return 0;
}
