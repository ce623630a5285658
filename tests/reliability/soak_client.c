/*
 * soak_client — the load generator of scripts/soak: many concurrent keep-alive connections to a
 * delay server, each sending GET /{random delay}/{id} requests one after another and checking
 * every response, some of them reset by the client on purpose (while a response is delayed, or
 * right after one arrived) and reconnected.
 *
 * Plain epoll and blocking-free sockets, no weft: the server is tested from the outside, and a
 * bug it shares with its client cannot hide. Connections are spread over source addresses
 * 127.0.0.1 .. 127.0.0.63, so that reconnecting never runs out of ephemeral ports; intentional
 * resets use SO_LINGER 0, which leaves no TIME_WAIT behind.
 *
 *   soak_client --port P [--conns 10000] [--seconds 60] [--max-delay-ms 1000]
 *               [--reset-permille 20] [--seed S]
 *
 * Prints one line of counts per 10 seconds and a summary; exits 0 if no unexpected error
 * happened: every request got the right answer, or was reset by the client itself.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* ---- options and counters ------------------------------------------------------------------ */

static struct {
    uint16_t port;
    int conns;
    int seconds;
    int max_delay_ms;
    int reset_permille;
    uint64_t seed;
} opt = {0, 10000, 60, 1000, 20, 1};

static struct {
    uint64_t connects, requests, responses, resets_waiting, resets_after;
    uint64_t bad_responses, unexpected_closes, connect_errors, timeouts;
    uint64_t late_sum_us, late_max_us;
} count;

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static uint64_t rng_state;
static uint32_t rnd(uint32_t n) /* 0 .. n-1 */
{
    rng_state = rng_state * 6364136223846793005u + 1442695040888963407u;
    return (uint32_t)((rng_state >> 33) % n);
}

/* ---- connections --------------------------------------------------------------------------- */

enum state { IDLE, CONNECTING, SENDING, WAITING };

struct conn {
    int fd;
    enum state state;
    uint32_t gen;      /* bumped on every reconnect: stale timers are ignored */
    uint32_t delay_ms; /* of the request in flight */
    uint64_t id;       /* its message */
    int64_t sent_us;   /* when it was sent */
    int64_t due_ms;    /* when its response must have arrived */
    char req[96];
    size_t req_len, req_off;
    char buf[512];
    size_t len;
};

static struct conn *conns;
static int epfd;
static bool draining; /* the time is up: no new requests */
static int open_conns;

/* A timer: (when, connection, generation). A binary heap; stale entries are skipped. */
struct timer {
    int64_t at;
    int conn;
    uint32_t gen;
    bool reset; /* a reset on purpose (else the response deadline) */
};
static struct timer *heap;
static size_t heap_len, heap_cap;

static void timer_add(int64_t at, int c, bool reset)
{
    if (heap_len == heap_cap) {
        heap_cap = heap_cap ? heap_cap * 2 : 1024;
        heap = realloc(heap, heap_cap * sizeof *heap);
        if (!heap) abort();
    }
    size_t i = heap_len++;
    struct timer t = {at, c, conns[c].gen, reset};
    while (i > 0 && heap[(i - 1) / 2].at > at) {
        heap[i] = heap[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    heap[i] = t;
}

static struct timer timer_pop(void)
{
    struct timer top = heap[0], last = heap[--heap_len];
    size_t i = 0;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= heap_len) break;
        if (c + 1 < heap_len && heap[c + 1].at < heap[c].at) c++;
        if (heap[c].at >= last.at) break;
        heap[i] = heap[c];
        i = c;
    }
    if (heap_len) heap[i] = last;
    return top;
}

static void conn_close(int c, bool reset)
{
    struct conn *k = &conns[c];
    if (k->fd < 0) return;
    if (reset) {
        struct linger lg = {1, 0};
        setsockopt(k->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    }
    close(k->fd);
    k->fd = -1;
    k->state = IDLE;
    k->gen++;
    open_conns--;
}

static void conn_open(int c);
static void on_writable(int c);

/* Sends the next request on c (or closes it once the time is up). */
static void next_request(int c)
{
    struct conn *k = &conns[c];
    if (draining) {
        conn_close(c, false);
        return;
    }
    k->delay_ms = rnd((uint32_t)opt.max_delay_ms + 1);
    k->id = ((uint64_t)c << 32) | (uint32_t)count.requests;
    k->req_len =
        (size_t)snprintf(k->req, sizeof k->req, "GET /%u/m%llx HTTP/1.1\r\nHost: soak\r\n\r\n",
                         k->delay_ms, (unsigned long long)k->id);
    k->req_off = 0;
    k->len = 0;
    k->state = SENDING;
    k->sent_us = now_us();
    k->due_ms = now_ms() + k->delay_ms + 10000; /* generous: 10 000 others share the CPU */
    count.requests++;
    timer_add(k->due_ms, c, false);
    if ((int)rnd(1000) < opt.reset_permille / 2) /* reset while the response is delayed */
        timer_add(now_ms() + rnd(k->delay_ms + 1), c, true);
}

static void unexpected(int c, uint64_t *counter)
{
    (*counter)++;
    conn_close(c, true);
    if (!draining) conn_open(c);
}

/* Parses a complete response in k->buf if there is one: 1 ok, 0 need more, -1 bad. */
static int take_response(struct conn *k)
{
    k->buf[k->len < sizeof k->buf ? k->len : sizeof k->buf - 1] = '\0';
    char *end = strstr(k->buf, "\r\n\r\n");
    if (!end) return k->len >= sizeof k->buf - 1 ? -1 : 0;
    if (strncmp(k->buf, "HTTP/1.1 200 ", 13) != 0) return -1;
    const char *cl = strcasestr(k->buf, "\r\nContent-Length: ");
    if (!cl || cl > end) return -1;
    size_t body_len = (size_t)strtoul(cl + 18, NULL, 10);
    size_t head_len = (size_t)(end - k->buf) + 4;
    if (k->len < head_len + body_len) return 0;
    char expect[32];
    int n = snprintf(expect, sizeof expect, "m%llx", (unsigned long long)k->id);
    if ((size_t)n != body_len || memcmp(k->buf + head_len, expect, body_len) != 0) return -1;
    if (k->len != head_len + body_len) return -1; /* nothing may follow: one request at a time */
    return 1;
}

static void on_readable(int c)
{
    struct conn *k = &conns[c];
    for (;;) { /* bounded: ends at EAGAIN, an error or a response */
        ssize_t n = recv(k->fd, k->buf + k->len, sizeof k->buf - 1 - k->len, 0);
        if (n == 0 || (n < 0 && errno != EAGAIN)) {
            unexpected(c, &count.unexpected_closes);
            return;
        }
        if (n < 0) return;
        k->len += (size_t)n;
        if (k->state != WAITING) continue;
        int r = take_response(k);
        if (r == 0) continue;
        if (r < 0) {
            unexpected(c, &count.bad_responses);
            return;
        }
        count.responses++;
        int64_t late = now_us() - k->sent_us - (int64_t)k->delay_ms * 1000;
        if (late > 0) {
            count.late_sum_us += (uint64_t)late;
            if ((uint64_t)late > count.late_max_us) count.late_max_us = (uint64_t)late;
        }
        k->gen++;                                      /* the response deadline is met */
        if ((int)rnd(1000) < opt.reset_permille / 2) { /* reset right after a response */
            count.resets_after++;
            conn_close(c, true);
            if (!draining) conn_open(c);
            return;
        }
        next_request(c);
        if (k->state == SENDING)
            on_writable(c); /* edge-triggered: no event says "still
                               writable", so send now */
        return;
    }
}

static void on_writable(int c)
{
    struct conn *k = &conns[c];
    if (k->state == CONNECTING) {
        int err = 0;
        socklen_t len = sizeof err;
        getsockopt(k->fd, SOL_SOCKET, SO_ERROR, &err, &len);
        if (err) {
            unexpected(c, &count.connect_errors);
            return;
        }
        count.connects++;
        next_request(c);
        if (k->state != SENDING) return;
    }
    if (k->state != SENDING) return;
    while (k->req_off < k->req_len) {
        ssize_t n = send(k->fd, k->req + k->req_off, k->req_len - k->req_off, MSG_NOSIGNAL);
        if (n < 0 && errno == EAGAIN) return;
        if (n < 0) {
            unexpected(c, &count.unexpected_closes);
            return;
        }
        k->req_off += (size_t)n;
    }
    k->state = WAITING;
}

static void conn_open(int c)
{
    struct conn *k = &conns[c];
    k->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (k->fd < 0) {
        perror("soak_client: socket");
        exit(2);
    }
    open_conns++;
    int one = 1;
    setsockopt(k->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    struct sockaddr_in src = {.sin_family = AF_INET};
    src.sin_addr.s_addr = htonl(INADDR_LOOPBACK + (uint32_t)(c % 63));
    if (bind(k->fd, (struct sockaddr *)&src, sizeof src) < 0) {
        perror("soak_client: bind");
        exit(2);
    }
    struct sockaddr_in dst = {.sin_family = AF_INET, .sin_port = htons(opt.port)};
    dst.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    k->state = CONNECTING;
    if (connect(k->fd, (struct sockaddr *)&dst, sizeof dst) < 0 && errno != EINPROGRESS) {
        unexpected(c, &count.connect_errors);
        return;
    }
    struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT | EPOLLET, .data.u32 = (uint32_t)c};
    if (epoll_ctl(epfd, EPOLL_CTL_ADD, k->fd, &ev) < 0) {
        perror("soak_client: epoll_ctl");
        exit(2);
    }
}

static void on_timer(struct timer t)
{
    struct conn *k = &conns[t.conn];
    if (t.gen != k->gen || k->fd < 0) return;
    if (t.reset) {
        count.resets_waiting++;
        conn_close(t.conn, true);
        if (!draining) conn_open(t.conn);
        return;
    }
    unexpected(t.conn, &count.timeouts);
}

static void report(const char *what, int64_t start)
{
    printf("%s t=%llds conns=%d requests=%llu responses=%llu resets=%llu+%llu "
           "errors: bad=%llu closed=%llu connect=%llu timeout=%llu late: mean=%.1fms "
           "max=%.1fms\n",
           what, (long long)((now_ms() - start) / 1000), open_conns,
           (unsigned long long)count.requests, (unsigned long long)count.responses,
           (unsigned long long)count.resets_waiting, (unsigned long long)count.resets_after,
           (unsigned long long)count.bad_responses, (unsigned long long)count.unexpected_closes,
           (unsigned long long)count.connect_errors, (unsigned long long)count.timeouts,
           count.responses ? (double)count.late_sum_us / (double)count.responses / 1000.0 : 0.0,
           (double)count.late_max_us / 1000.0);
    fflush(stdout);
}

static void parse_args(int argc, char **argv)
{
    for (int i = 1; i + 1 < argc; i += 2) {
        long v = strtol(argv[i + 1], NULL, 10);
        if (strcmp(argv[i], "--port") == 0)
            opt.port = (uint16_t)v;
        else if (strcmp(argv[i], "--conns") == 0)
            opt.conns = (int)v;
        else if (strcmp(argv[i], "--seconds") == 0)
            opt.seconds = (int)v;
        else if (strcmp(argv[i], "--max-delay-ms") == 0)
            opt.max_delay_ms = (int)v;
        else if (strcmp(argv[i], "--reset-permille") == 0)
            opt.reset_permille = (int)v;
        else if (strcmp(argv[i], "--seed") == 0)
            opt.seed = (uint64_t)v;
        else {
            fprintf(stderr, "soak_client: unknown option %s\n", argv[i]);
            exit(2);
        }
    }
    if (opt.port == 0 || opt.conns < 1 || opt.seconds < 1 || opt.max_delay_ms < 0) {
        fprintf(stderr, "usage: soak_client --port P [--conns N] [--seconds S] "
                        "[--max-delay-ms D] [--reset-permille R] [--seed S]\n");
        exit(2);
    }
}

int main(int argc, char **argv)
{
    parse_args(argc, argv);
    rng_state = opt.seed;
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    conns = calloc((size_t)opt.conns, sizeof *conns);
    epfd = epoll_create1(EPOLL_CLOEXEC);
    if (!conns || epfd < 0) return 2;
    for (int c = 0; c < opt.conns; c++)
        conns[c].fd = -1;
    for (int c = 0; c < opt.conns; c++)
        conn_open(c);
    int64_t start = now_ms(), next_report = start + 10000;
    int64_t stop = start + (int64_t)opt.seconds * 1000;
    struct epoll_event evs[512];
    while (open_conns > 0) {
        int64_t now = now_ms();
        if (!draining && now >= stop) {
            draining = true;
            report("draining", start);
            for (int c = 0; c < opt.conns; c++) /* idle ones close now; the rest after answers */
                if (conns[c].fd >= 0 && conns[c].state == CONNECTING) conn_close(c, false);
        }
        if (now >= next_report) {
            report("progress", start);
            next_report += 10000;
        }
        while (heap_len > 0 && heap[0].at <= now)
            on_timer(timer_pop());
        int wait = heap_len > 0 ? (int)(heap[0].at - now) : 100;
        if (wait > 100) wait = 100;
        int n = epoll_wait(epfd, evs, 512, wait < 0 ? 0 : wait);
        for (int i = 0; i < n; i++) {
            int c = (int)evs[i].data.u32;
            if (conns[c].fd < 0) continue;
            uint32_t gen = conns[c].gen; /* a reconnect in on_writable makes the event stale */
            if (evs[i].events & EPOLLOUT) on_writable(c);
            if (conns[c].fd >= 0 && conns[c].gen == gen &&
                (evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)))
                on_readable(c);
        }
    }
    report("done", start);
    uint64_t errors =
        count.bad_responses + count.unexpected_closes + count.connect_errors + count.timeouts;
    printf("unexpected errors: %llu\n", (unsigned long long)errors);
    return errors == 0 ? 0 : 1;
}
