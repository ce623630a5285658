/*
 * weft-fixture-delayserver: a small delay server for tests and examples.
 *
 *   weft-fixture-delayserver [--host HOST] [--port PORT] [--delay-scale F]
 *
 * Answers `GET /{delay_ms}/{message}` with `200 OK`, `text/plain; charset=utf-8` and the
 * URL-decoded message as the body, after waiting delay_ms milliseconds (times F). It is the
 * server of chapter 4 of "Asynchronous Programming in Rust", written the plain blocking way:
 * one thread per connection. weft's own delay server, built on weft, replaces it later; until
 * then this one lets the examples and tests talk to something real.
 *
 * --port 0 (the default) picks a free port. The first line printed is
 * `listening on HOST:PORT`, flushed, so a script can wait for it. Each request prints
 * `#{n} - {delay}ms: {message}`. Connections are kept alive (HTTP/1.1) unless the client sends
 * `Connection: close`. SIGTERM or SIGINT ends the server.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <math.h>
#include <netdb.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define REQUEST_MAX      8192 /* longest request head accepted */
#define IDLE_TIMEOUT_S   30   /* an idle or stuck connection is dropped after this long */
#define MAX_DELAY_DIGITS 9    /* delays up to 999999999 ms */

struct options {
    const char *host;
    const char *port;
    double delay_scale;
};

/* A parsed request: what to answer and whether to keep the connection. */
struct request {
    long long delay_ms;
    char message[REQUEST_MAX];
    int status; /* 200, or the error status to answer with */
    bool close;
};

struct connection {
    int fd;
    double delay_scale;
    char buf[REQUEST_MAX];
    size_t len; /* bytes in buf not yet consumed */
};

static volatile sig_atomic_t stop_requested;
static atomic_uint request_count;

static void usage(FILE *to)
{
    fprintf(to, "usage: weft-fixture-delayserver [--host HOST] [--port PORT] "
                "[--delay-scale F]\n");
}

static bool parse_options(int argc, char **argv, struct options *opt)
{
    *opt = (struct options){.host = "127.0.0.1", .port = "0", .delay_scale = 1.0};
    for (int i = 1; i < argc; i += 2) { /* every option takes a value */
        const char *value = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(argv[i], "--help") == 0) {
            usage(stdout);
            exit(0);
        } else if (strcmp(argv[i], "--host") == 0 && value) {
            opt->host = value;
        } else if (strcmp(argv[i], "--port") == 0 && value) {
            opt->port = value;
        } else if (strcmp(argv[i], "--delay-scale") == 0 && value) {
            char *end;
            opt->delay_scale = strtod(value, &end);
            if (*end != '\0' || !isfinite(opt->delay_scale) || opt->delay_scale < 0) return false;
        } else {
            return false;
        }
    }
    return true;
}

/* ---- requests ------------------------------------------------------------------------------ */

static int hex_value(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* Decodes %XX escapes of src[0..len) into out (at least len + 1 bytes). False if malformed. */
static bool url_decode(const char *src, size_t len, char *out)
{
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        if (src[i] != '%') {
            out[o++] = src[i];
            continue;
        }
        if (i + 2 >= len) return false;
        int hi = hex_value(src[i + 1]), lo = hex_value(src[i + 2]);
        if (hi < 0 || lo < 0) return false;
        out[o++] = (char)(hi * 16 + lo);
        i += 2;
    }
    out[o] = '\0';
    return true;
}

/* Parses "/{delay_ms}/{message}" (path ends at a space or '?'). Sets status 404 or 400. */
static void parse_path(const char *path, size_t len, struct request *req)
{
    size_t i = 1, digits = 0;
    req->delay_ms = 0;
    while (i < len && path[i] >= '0' && path[i] <= '9' && digits < MAX_DELAY_DIGITS) {
        req->delay_ms = req->delay_ms * 10 + (path[i++] - '0');
        digits++;
    }
    if (len == 0 || path[0] != '/' || digits == 0 || i >= len || path[i] != '/') {
        req->status = 404;
        return;
    }
    size_t start = i + 1, end = start;
    while (end < len && path[end] != '?')
        end++;
    req->status = url_decode(path + start, end - start, req->message) ? 200 : 400;
}

/* True if the header block has "Connection: ... close ...". */
static bool asks_to_close(const char *head)
{
    for (const char *line = strstr(head, "\r\n"); line; line = strstr(line + 2, "\r\n")) {
        if (strncasecmp(line + 2, "connection:", 11) != 0) continue;
        const char *eol = strstr(line + 2, "\r\n");
        if (!eol) eol = line + strlen(line); /* the last header line */
        for (const char *p = line + 13; p + 5 <= eol; p++)
            if (strncasecmp(p, "close", 5) == 0) return true;
    }
    return false;
}

/* Parses the request head (NUL-terminated, without the final blank line). */
static void parse_request(const char *head, struct request *req)
{
    req->message[0] = '\0';
    req->close = asks_to_close(head);
    const char *path = strchr(head, ' ');
    const char *path_end = path ? strchr(path + 1, ' ') : NULL;
    const char *eol = strstr(head, "\r\n");
    if (strncmp(head, "GET ", 4) != 0 || !path_end || (eol && path_end > eol)) {
        req->status = 400;
        req->close = true;
        return;
    }
    if (strncmp(path_end + 1, "HTTP/1.0", 8) == 0) req->close = true;
    parse_path(path + 1, (size_t)(path_end - path - 1), req);
    if (req->status != 200) req->close = true;
}

/* Reads until buf holds a whole request head; returns its length (without "\r\n\r\n"), or -1
 * at end of stream, error, timeout or an oversized head. */
static long read_head(struct connection *c)
{
    for (;;) {
        c->buf[c->len] = '\0';
        char *end = strstr(c->buf, "\r\n\r\n");
        if (end) return end - c->buf;
        if (c->len >= sizeof c->buf - 1) return -1;
        ssize_t n = recv(c->fd, c->buf + c->len, sizeof c->buf - 1 - c->len, 0);
        if (n <= 0) return -1;
        c->len += (size_t)n;
    }
}

/* ---- responses ----------------------------------------------------------------------------- */

static void sleep_ms(double ms)
{
    long long ns = (long long)((ms > 1e9 ? 1e9 : ms) * 1e6);
    struct timespec ts = {(time_t)(ns / 1000000000), (long)(ns % 1000000000)};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

static bool send_all(int fd, const char *p, size_t len)
{
    while (len > 0) {
        ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
        if (n <= 0) return false;
        p += n;
        len -= (size_t)n;
    }
    return true;
}

static bool respond(int fd, const struct request *req)
{
    const char *reason = "Not Found";
    if (req->status == 200) reason = "OK";
    if (req->status == 400) reason = "Bad Request";
    const char *body = req->status == 200 ? req->message : reason;
    static _Thread_local char response[REQUEST_MAX + 256]; /* head and body, sent at once */
    int n = snprintf(response, sizeof response,
                     "HTTP/1.1 %d %s\r\nContent-Type: text/plain; charset=utf-8\r\n"
                     "Content-Length: %zu\r\n%s\r\n%s",
                     req->status, reason, strlen(body), req->close ? "Connection: close\r\n" : "",
                     body);
    return n > 0 && (size_t)n < sizeof response && send_all(fd, response, (size_t)n);
}

/* ---- connections --------------------------------------------------------------------------- */

static bool serve_one(struct connection *c)
{
    static _Thread_local struct request req; /* large; one per thread, not on the stack */
    long head_len = read_head(c);
    if (head_len < 0) return false;
    c->buf[head_len] = '\0';
    parse_request(c->buf, &req);
    size_t used = (size_t)head_len + 4;
    memmove(c->buf, c->buf + used, c->len - used);
    c->len -= used;
    if (req.status == 200) {
        printf("#%u - %lldms: %s\n", atomic_fetch_add(&request_count, 1) + 1, req.delay_ms,
               req.message);
        fflush(stdout);
        sleep_ms((double)req.delay_ms * c->delay_scale);
    }
    return respond(c->fd, &req) && !req.close;
}

static void *serve_connection(void *arg)
{
    struct connection *c = arg;
    struct timeval idle = {.tv_sec = IDLE_TIMEOUT_S};
    setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &idle, sizeof idle);
    setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &idle, sizeof idle);
    while (serve_one(c)) {
    }
    close(c->fd);
    free(c);
    return NULL;
}

static void start_connection(int fd, double delay_scale)
{
    struct connection *c = calloc(1, sizeof *c);
    pthread_t thread;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    if (c) *c = (struct connection){.fd = fd, .delay_scale = delay_scale};
    if (!c || pthread_create(&thread, &attr, serve_connection, c) != 0) {
        close(fd);
        free(c);
    }
    pthread_attr_destroy(&attr);
}

/* ---- listening ----------------------------------------------------------------------------- */

static int open_listener(const struct options *opt)
{
    struct addrinfo hints = {
        .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE};
    struct addrinfo *list;
    int r = getaddrinfo(opt->host, opt->port, &hints, &list);
    if (r != 0) {
        fprintf(stderr, "weft-fixture-delayserver: %s: %s\n", opt->host, gai_strerror(r));
        return -1;
    }
    int fd = -1;
    for (struct addrinfo *ai = list; ai && fd < 0; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
        int one = 1;
        if (fd >= 0) setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (fd >= 0 && (bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 || listen(fd, 128) != 0)) {
            close(fd);
            fd = -1;
        }
    }
    freeaddrinfo(list);
    if (fd < 0) perror("weft-fixture-delayserver: bind/listen");
    return fd;
}

static void print_listening(int fd)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    char host[INET6_ADDRSTRLEN] = "?";
    unsigned port = 0;
    getsockname(fd, (struct sockaddr *)&ss, &len);
    if (ss.ss_family == AF_INET6) {
        struct sockaddr_in6 *sa = (struct sockaddr_in6 *)&ss;
        inet_ntop(AF_INET6, &sa->sin6_addr, host, sizeof host);
        port = ntohs(sa->sin6_port);
        printf("listening on [%s]:%u\n", host, port);
    } else {
        struct sockaddr_in *sa = (struct sockaddr_in *)&ss;
        inet_ntop(AF_INET, &sa->sin_addr, host, sizeof host);
        port = ntohs(sa->sin_port);
        printf("listening on %s:%u\n", host, port);
    }
    fflush(stdout);
}

static void on_stop_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
}

/*
 * SIGTERM and SIGINT stay blocked everywhere except inside ppoll(), which unblocks them
 * atomically while it sleeps: a stop request can then never slip in between checking the flag
 * and going to sleep. Connection threads inherit the blocked mask and never see the signals.
 */
static void accept_until_stopped(int listen_fd, double delay_scale)
{
    sigset_t stop_signals, during_wait;
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGTERM);
    sigaddset(&stop_signals, SIGINT);
    pthread_sigmask(SIG_BLOCK, &stop_signals, &during_wait);
    sigdelset(&during_wait, SIGTERM);
    sigdelset(&during_wait, SIGINT);
    struct sigaction sa = {.sa_handler = on_stop_signal};
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    while (!stop_requested) {
        struct pollfd pfd = {.fd = listen_fd, .events = POLLIN};
        if (ppoll(&pfd, 1, NULL, &during_wait) <= 0) continue;
        int fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);
        if (fd >= 0) start_connection(fd, delay_scale);
    }
}

int main(int argc, char **argv)
{
    struct options opt;
    if (!parse_options(argc, argv, &opt)) {
        usage(stderr);
        return 2;
    }
    int fd = open_listener(&opt);
    if (fd < 0) return 1;
    print_listening(fd);
    accept_until_stopped(fd, opt.delay_scale);
    close(fd);
    printf("stopped\n");
    return 0;
}
