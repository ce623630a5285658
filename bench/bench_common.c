/* Shared helpers for the benchmark programs; see bench_common.h. */
#define _GNU_SOURCE /* memmem */
#include "bench_common.h"

#include <arpa/inet.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <time.h>

void bench_raise_nofile(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0) {
        perror("getrlimit(RLIMIT_NOFILE)");
        return;
    }
    if (rl.rlim_cur == rl.rlim_max) return;
    rl.rlim_cur = rl.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &rl) != 0) perror("setrlimit(RLIMIT_NOFILE)");
}

double bench_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

_Noreturn void bench_die(const char *what)
{
    int err = errno;
    fprintf(stderr, "bench: %s: %s\n", what, strerror(err));
    exit(1);
}

static _Noreturn void bench_usage(const char *prog, const char *msg, const char *opt)
{
    fprintf(stderr, "%s: %s %s (see the comment at the top of its source)\n", prog, msg, opt);
    exit(2);
}

int bench_opt_str(int argc, char **argv, int *i, const char *name, const char **out)
{
    if (strcmp(argv[*i], name) != 0) return 0;
    if (*i + 1 >= argc) bench_usage(argv[0], "missing value for", name);
    *out = argv[*i + 1];
    *i += 1;
    return 1;
}

int bench_opt_long(int argc, char **argv, int *i, const char *name, long min, long max, long *out)
{
    const char *text;
    if (!bench_opt_str(argc, argv, i, name, &text)) return 0;
    char *end;
    errno = 0;
    long v = strtol(text, &end, 10);
    if (errno != 0 || end == text || *end != '\0' || v < min || v > max)
        bench_usage(argv[0], "bad value for", name);
    *out = v;
    return 1;
}

void bench_tasks_parse(int argc, char **argv, struct bench_tasks_opts *o)
{
    for (int i = 1; i < argc; i++) {
        if (!bench_opt_long(argc, argv, &i, "--tasks", 1, 100000000, &o->tasks) &&
            !bench_opt_long(argc, argv, &i, "--yields", 1, 1000000000, &o->yields) &&
            !bench_opt_long(argc, argv, &i, "--rounds", 1, 1000000000, &o->rounds)) {
            fprintf(stderr, "usage: %s [--tasks N] [--yields Y] [--rounds R]\n", argv[0]);
            exit(2);
        }
    }
}

int bench_parse_addr(const char *text, struct sockaddr_in *out)
{
    char host[64];
    const char *colon = strrchr(text, ':');
    if (colon == NULL || (size_t)(colon - text) >= sizeof host) {
        fprintf(stderr, "bad address '%s': want A.B.C.D:PORT\n", text);
        return -1;
    }
    memcpy(host, text, (size_t)(colon - text));
    host[colon - text] = '\0';
    char *end;
    long port = strtol(colon + 1, &end, 10);
    memset(out, 0, sizeof *out);
    out->sin_family = AF_INET;
    if (*end != '\0' || port < 1 || port > 65535 || inet_pton(AF_INET, host, &out->sin_addr) != 1) {
        fprintf(stderr, "bad address '%s': want A.B.C.D:PORT\n", text);
        return -1;
    }
    if ((ntohl(out->sin_addr.s_addr) >> 24) != 127) {
        fprintf(stderr, "refusing %s: benchmarks only talk to 127.0.0.0/8\n", text);
        return -1;
    }
    out->sin_port = htons((uint16_t)port);
    return 0;
}

int bench_client_opt(int argc, char **argv, int *i, struct bench_client_opts *o)
{
    return bench_opt_long(argc, argv, i, "--conns", 1, 1000000, &o->conns) ||
           bench_opt_long(argc, argv, i, "--requests", 0, 1L << 40, &o->requests) ||
           bench_opt_long(argc, argv, i, "--timeout", 1, 86400, &o->timeout) ||
           bench_opt_str(argc, argv, i, "--addr", &o->addr_text);
}

void bench_client_parse(int argc, char **argv, struct bench_client_opts *o)
{
    for (int i = 1; i < argc; i++) {
        if (!bench_client_opt(argc, argv, &i, o)) {
            fprintf(stderr, "usage: %s " BENCH_CLIENT_USAGE "\n", argv[0]);
            exit(2);
        }
    }
}

size_t bench_client_setup(struct bench_client_opts *o, const char *prog, char *req, size_t size)
{
    if (o->addr_text == NULL) {
        fprintf(stderr, "%s: --addr HOST:PORT is required\n", prog);
        exit(2);
    }
    if (bench_parse_addr(o->addr_text, &o->addr) != 0) exit(2);
    bench_raise_nofile();
    signal(SIGPIPE, SIG_IGN);
    return bench_format_request(req, size, &o->addr);
}

long bench_server_setup(int argc, char **argv)
{
    long port = 0;
    for (int i = 1; i < argc; i++) {
        if (!bench_opt_long(argc, argv, &i, "--port", 0, 65535, &port)) {
            fprintf(stderr, "usage: %s [--port P]\n", argv[0]);
            exit(2);
        }
    }
    bench_raise_nofile();
    signal(SIGPIPE, SIG_IGN);
    return port;
}

int bench_signalfd(void)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    if (sigprocmask(SIG_BLOCK, &set, NULL) != 0) bench_die("sigprocmask");
    int fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
    if (fd < 0) bench_die("signalfd");
    return fd;
}

static double tv_seconds(struct timeval tv)
{
    return (double)tv.tv_sec + (double)tv.tv_usec * 1e-6;
}

void bench_print_result(const struct bench_run *run)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    double user = tv_seconds(ru.ru_utime), sys = tv_seconds(ru.ru_stime);
    printf("RESULT name=%s conns=%ld requests=%ld done=%ld errors=%ld wall_s=%.6f cpu_s=%.6f "
           "user_s=%.6f sys_s=%.6f rss_kb=%ld\n",
           run->name, run->conns, run->requests, run->done, run->errors, run->wall_s, user + sys,
           user, sys, ru.ru_maxrss);
    fflush(stdout);
}

/* ---- HTTP ---------------------------------------------------------------------------------- */

const char bench_response[] = "HTTP/1.1 200 OK\r\n"
                              "Content-Type: text/plain\r\n"
                              "Content-Length: 13\r\n"
                              "\r\n"
                              "Hello, world!";
const size_t bench_response_len = sizeof bench_response - 1;

char *bench_response_block(size_t copies)
{
    char *block = malloc(copies * bench_response_len);
    if (block == NULL) bench_die("malloc");
    for (size_t i = 0; i < copies; i++)
        memcpy(block + i * bench_response_len, bench_response, bench_response_len);
    return block;
}

size_t bench_format_request(char *buf, size_t size, const struct sockaddr_in *addr)
{
    char host[INET_ADDRSTRLEN];
    inet_ntop(AF_INET, &addr->sin_addr, host, sizeof host);
    int n = snprintf(buf, size, "GET / HTTP/1.1\r\nHost: %s:%u\r\n\r\n", host,
                     (unsigned)ntohs(addr->sin_port));
    return (n > 0 && (size_t)n < size) ? (size_t)n : 0;
}

/* One byte of the "\r\n\r\n" matcher. Returns 1 when it completes a request. */
static int req_scan_byte(struct bench_req_scan *s, char c)
{
    char want = (s->matched & 1) ? '\n' : '\r';
    if (c != want) {
        s->matched = (c == '\r');
        return 0;
    }
    if (++s->matched < 4) return 0;
    s->matched = 0;
    s->len = 0;
    return 1;
}

long bench_req_scan_feed(struct bench_req_scan *s, const char *data, size_t len)
{
    static const char method[4] = {'G', 'E', 'T', ' '};
    const char *p = data, *end = data + len;
    long count = 0;
    while (p < end) {
        if (s->len < sizeof method) {
            if (*p++ != method[s->len++]) return -1;
            continue;
        }
        if (s->matched == 0) {
            /* Most bytes cannot end a request: jump to the next CR with memchr. */
            const char *cr = memchr(p, '\r', (size_t)(end - p));
            size_t skip = (size_t)((cr ? cr : end) - p);
            if (s->len + skip > BENCH_REQ_MAX) return -1;
            s->len = (uint16_t)(s->len + skip);
            p += skip;
            if (cr == NULL) break;
        }
        if (++s->len > BENCH_REQ_MAX) return -1;
        count += req_scan_byte(s, *p++);
    }
    return count;
}

/* Parses the Content-Length value at `p` (up to `end`); -1 if it is not a plain decimal. */
static long parse_content_length(const char *p, const char *end)
{
    while (p < end && (*p == ' ' || *p == '\t'))
        p++;
    long v = 0;
    int digits = 0;
    for (; p < end && *p >= '0' && *p <= '9' && digits < 12; p++, digits++)
        v = v * 10 + (*p - '0');
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\r'))
        p++;
    return (digits > 0 && digits < 12 && p == end) ? v : -1;
}

long bench_resp_parse(const char *buf, size_t len, size_t max_header)
{
    const char *blank = memmem(buf, len, "\r\n\r\n", 4);
    if (blank == NULL) return len > max_header ? -1 : 0;
    size_t head = (size_t)(blank - buf) + 4;
    if (head > max_header || head < 16) return -1;
    if (memcmp(buf, "HTTP/1.", 7) != 0 || memcmp(buf + 8, " 200", 4) != 0) return -1;

    static const char name[] = "content-length:";
    const size_t name_len = sizeof name - 1;
    long body = -1;
    const char *line = (const char *)memchr(buf, '\n', head) + 1;
    while (line < blank + 2) {
        const char *eol = memchr(line, '\n', (size_t)(blank + 3 - line));
        if ((size_t)(eol - line) > name_len && strncasecmp(line, name, name_len) == 0) {
            if (body >= 0) return -1; /* two Content-Length headers */
            body = parse_content_length(line + name_len, eol);
            if (body < 0) return -1;
        }
        line = eol + 1;
    }
    if (body < 0) return -1;
    if (len < head + (size_t)body) return 0;
    return (long)(head + (size_t)body);
}

int bench_resp_complete(const char *buf, size_t len, size_t cap)
{
    long r = bench_resp_parse(buf, len, cap);
    if (r == 0) return len < cap ? 0 : -1;
    return (r > 0 && (size_t)r == len) ? 1 : -1;
}
