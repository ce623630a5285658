/*
 * 01_event_queue — one thread, many sockets: the event queue by itself.
 *
 * The idea this example teaches: instead of blocking on one socket at a time, register every
 * socket with an event queue (weft_poll, over Linux epoll) and block once, on the queue. The
 * queue wakes you with a token saying *which* socket became ready, you do the work that is now
 * possible without blocking, and go back to waiting.
 *
 * It is the C counterpart of the epoll example in chapter 4 of the book "Asynchronous
 * Programming in Rust". We open 5 connections to a delay server and ask for
 *
 *     GET /5000/request-0   GET /4000/request-1   ...   GET /1000/request-4
 *
 * so the server answers request-4 first and request-0 last. One thread handles all five, and
 * the whole run takes about the longest delay (5 s), not the sum of them (15 s).
 *
 * Run a delay server first (the tests' fixture server does: weft-fixture-delayserver --port
 * 8080), then:
 *
 *     01_event_queue [--delay-scale F] [HOST:PORT]      (default 127.0.0.1:8080)
 *
 * --delay-scale multiplies the delays we ask for (0.05 asks for 250, 200, ..., 50 ms).
 *
 * Read include/weft/poll.h first: its opening comment is the contract this program follows.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <weft/error.h>
#include <weft/poll.h>

#define N_REQUESTS 5

/* Where to connect and how to scale the delays, from the command line. */
struct options {
    char host[256];
    char port[16];
    double delay_scale;
};

static bool parse_address(const char *arg, struct options *opt)
{
    const char *colon = strrchr(arg, ':');
    if (!colon || colon == arg || strlen(colon + 1) >= sizeof opt->port) return false;
    const char *host = arg;
    size_t host_len = (size_t)(colon - arg);
    if (host[0] == '[' && host[host_len - 1] == ']') { /* [::1]:8080 */
        host++;
        host_len -= 2;
    }
    if (host_len == 0 || host_len >= sizeof opt->host) return false;
    memcpy(opt->host, host, host_len);
    opt->host[host_len] = '\0';
    strcpy(opt->port, colon + 1);
    return true;
}

/* A scale is a number from 0 to 100, such as 0.05. The range test is written so that a value
 * must pass it: NaN passes no comparison and infinity is above 100, so neither gets through to
 * an undefined conversion to an integer. */
static bool parse_scale(const char *arg, double *scale)
{
    char *end;
    *scale = strtod(arg, &end);
    return end != arg && *end == '\0' && *scale >= 0 && *scale <= 100;
}

/* Each bad argument is named in a message; the caller adds the usage line. */
static bool parse_options(int argc, char **argv, struct options *opt)
{
    *opt = (struct options){.host = "127.0.0.1", .port = "8080", .delay_scale = 1.0};
    bool have_address = false;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--delay-scale") == 0 && i + 1 < argc) {
            if (!parse_scale(argv[++i], &opt->delay_scale)) {
                fprintf(stderr, "--delay-scale: '%s' is not a number from 0 to 100\n", argv[i]);
                return false;
            }
        } else if (have_address || argv[i][0] == '-' || !parse_address(argv[i], opt)) {
            fprintf(stderr, "'%s': expected HOST:PORT (only one) or --delay-scale F\n", argv[i]);
            return false;
        } else {
            have_address = true;
        }
    }
    return true;
}

/* A plain blocking connect; returns the socket, or -1 after saying why. Non-blocking comes
 * later. */
static int connect_to(const struct options *opt)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
    struct addrinfo *list;
    int r = getaddrinfo(opt->host, opt->port, &hints, &list);
    if (r != 0) {
        fprintf(stderr, "%s: %s\n", opt->host, gai_strerror(r));
        return -1;
    }
    int fd = -1, err = 0;
    for (struct addrinfo *ai = list; ai && fd < 0; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
        if (fd < 0 || connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
            err = errno; /* before close() can change it */
            if (fd >= 0) close(fd);
            fd = -1;
        }
    }
    freeaddrinfo(list);
    if (fd < 0) fprintf(stderr, "connect to %s:%s: %s\n", opt->host, opt->port, strerror(err));
    return fd;
}

/* Opens connection i, sends its request, and makes the socket non-blocking. Returns the socket,
 * or -1 after saying why. */
static int start_request(const struct options *opt, int i, long delay_ms)
{
    int fd = connect_to(opt);
    if (fd < 0) return -1;
    char request[512];
    int len = snprintf(request, sizeof request,
                       "GET /%ld/request-%d HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n",
                       delay_ms, i, opt->host);
    /* A short request on a fresh connection fits in the socket buffer: one write does it. */
    if (write(fd, request, (size_t)len) != len) {
        perror("write");
        close(fd);
        return -1;
    }
    /* From here on we must never block on this socket: readiness tells us when to read, and
     * we read until the kernel says "would block" (EAGAIN). */
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    return fd;
}

static void print_event(const weft_event *e)
{
    printf("RECEIVED: token %llu, flags", (unsigned long long)e->token);
    if (weft_event_is_readable(e)) printf(" READABLE");
    if (weft_event_is_writable(e)) printf(" WRITABLE");
    if (weft_event_is_error(e)) printf(" ERROR");
    if (weft_event_is_read_closed(e)) printf(" READ_CLOSED");
    if (weft_event_is_write_closed(e)) printf(" WRITE_CLOSED");
    if (weft_event_is_priority(e)) printf(" PRIORITY");
    printf("\n");
}

/*
 * Reads everything the socket has right now and prints it. This is "drain to EAGAIN": with an
 * edge-triggered queue, bytes we leave behind would never be announced again. Returns 1 at end
 * of stream, 0 when the socket would block, -errno on an error.
 */
static int read_until_would_block(int fd)
{
    char buf[4096];
    for (;;) {
        ssize_t n = read(fd, buf, sizeof buf);
        if (n > 0) {
            fwrite(buf, 1, (size_t)n, stdout);
            printf("\n------\n");
        } else if (n == 0) {
            return 1;
        } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
            return 0;
        } else if (errno != EINTR) {
            return -errno;
        }
    }
}

/* Handles one event; returns how many streams it finished (0 or 1), or -errno. A stream can
 * report end of stream in more than one event, so `done` makes sure each is counted once. */
static int handle_event(const weft_event *e, const int *streams, bool *done)
{
    print_event(e);
    weft_token i = e->token;
    if (i >= N_REQUESTS) return -EINVAL; /* not one of our tokens */
    int r = read_until_would_block(streams[i]);
    if (r <= 0 || done[i]) return r < 0 ? r : 0;
    done[i] = true;
    return 1;
}

static double seconds_since(const struct timespec *start)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - start->tv_sec) + (double)(now.tv_nsec - start->tv_nsec) / 1e9;
}

/* Waits for events until every stream has ended. Returns 0 or -errno. */
static int run_event_loop(weft_poll *poll, const int *streams, long longest_delay_ms)
{
    weft_events events;
    int r = weft_events_init(&events, 10);
    if (r < 0) return r;
    /* The book waits forever; we give up if the server goes silent for much longer than the
     * longest delay, so a missing server cannot hang us. */
    const int64_t silence_limit_ns = (longest_delay_ms + 10000) * INT64_C(1000000);
    bool done[N_REQUESTS] = {false};
    int finished = 0;
    while (finished < N_REQUESTS && r >= 0) {
        r = weft_poll_wait(poll, &events, silence_limit_ns);
        if (r == 0) r = -ETIMEDOUT;
        for (size_t k = 0; r >= 0 && k < events.len; k++) {
            int n = handle_event(&events.items[k], streams, done);
            if (n < 0) r = n;
            finished += n > 0 ? n : 0;
        }
    }
    weft_events_free(&events);
    return r < 0 ? r : 0;
}

/* Opens the N_REQUESTS connections, each registered with its index as token, and says so for
 * each. Returns 0, or -1 after saying why; *opened counts the sockets to close either way. */
static int open_streams(weft_poll *poll, const struct options *opt, int *streams, int *opened,
                        long *longest_delay_ms)
{
    for (int i = 0; i < N_REQUESTS; i++) {
        long delay_ms = (long)((N_REQUESTS - i) * 1000 * opt->delay_scale + 0.5);
        if (delay_ms > *longest_delay_ms) *longest_delay_ms = delay_ms;
        streams[i] = start_request(opt, i, delay_ms);
        if (streams[i] < 0) return -1;
        *opened = i + 1;
        /* The token is the stream's index: events will tell us which stream is ready. */
        int r = weft_poll_register(poll, streams[i], (weft_token)i, WEFT_INTEREST_READABLE);
        if (r < 0) {
            fprintf(stderr, "weft_poll_register: %s\n", weft_strerror(r));
            return -1;
        }
        printf("SENT: token %d, GET /%ld/request-%d\n", i, delay_ms, i);
    }
    return 0;
}

static void close_streams(weft_poll *poll, const int *streams, int opened)
{
    for (int i = 0; i < opened; i++) {
        weft_poll_deregister(poll, streams[i]); /* deregister, then close (poll.h, rule 6) */
        close(streams[i]);
    }
}

int main(int argc, char **argv)
{
    struct options opt;
    if (!parse_options(argc, argv, &opt)) {
        fprintf(stderr, "usage: %s [--delay-scale F] [HOST:PORT]\n", argv[0]);
        return 2;
    }
    weft_poll poll;
    int r = weft_poll_init(&poll);
    if (r < 0) {
        fprintf(stderr, "weft_poll_init: %s\n", weft_strerror(r));
        return 1;
    }

    struct timespec start;
    clock_gettime(CLOCK_MONOTONIC, &start);
    int streams[N_REQUESTS];
    int opened = 0;
    long longest_delay_ms = 0;
    r = open_streams(&poll, &opt, streams, &opened, &longest_delay_ms);
    if (r == 0) {
        r = run_event_loop(&poll, streams, longest_delay_ms);
        if (r < 0) fprintf(stderr, "error: %s\n", weft_strerror(r));
    }
    close_streams(&poll, streams, opened);
    weft_poll_close(&poll);
    if (r < 0) return 1;
    printf("FINISHED\n");
    printf("(%d responses in %.2f s; the delays add up to %.2f s)\n", N_REQUESTS,
           seconds_since(&start), 15 * opt.delay_scale);
    return 0;
}
