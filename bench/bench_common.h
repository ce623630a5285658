/*
 * What every benchmark program here shares: command-line helpers, the loopback-only address
 * parser, the RESULT line, and the tiny HTTP/1.1 pieces the servers and clients speak.
 *
 * None of this is weft. The baselines must not depend on weft, and weft's own benchmark programs
 * may use these helpers too (they are plain C11 + POSIX), so that every program prints the same
 * RESULT line and speaks the same bytes on the wire.
 */
#ifndef BENCH_COMMON_H
#define BENCH_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <netinet/in.h>

/* ---- process set-up ---------------------------------------------------------------------- */

/* Raises the soft RLIMIT_NOFILE to the hard limit; 1 000 or 10 000 sockets need it. Prints a
 * warning on failure and carries on: the run then fails later, loudly, at the socket that does
 * not fit. */
void bench_raise_nofile(void);

/* Seconds on CLOCK_MONOTONIC. */
double bench_now(void);

/* Prints `prog: MESSAGE: strerror(errno)` to stderr and exits with status 1. */
_Noreturn void bench_die(const char *what);

/* ---- command line -------------------------------------------------------------------------- */

/* If argv[*i] is `name`, parses argv[*i + 1] as a long in [min, max] into *out, advances *i past
 * the value and returns 1; returns 0 if argv[*i] is another option. Exits with a usage message if
 * the value is missing or out of range. */
int bench_opt_long(int argc, char **argv, int *i, const char *name, long min, long max, long *out);

/* The same for a string value. */
int bench_opt_str(int argc, char **argv, int *i, const char *name, const char **out);

/* Workload 5's options, shared by weft_tasks and bare_tasks: --tasks N, --yields Y, --rounds R
 * into the struct (which holds the defaults on entry). Exits with a usage message on anything
 * else. */
struct bench_tasks_opts {
    long tasks, yields, rounds;
};
void bench_tasks_parse(int argc, char **argv, struct bench_tasks_opts *o);

/* Parses "A.B.C.D:PORT" into *out. Only 127.0.0.0/8 is accepted: these programs generate load
 * and must never point it anywhere but this machine. Returns 0, or -1 with a message printed. */
int bench_parse_addr(const char *text, struct sockaddr_in *out);

/* Options every client takes, with their defaults:
 *   --addr A.B.C.D:PORT (required)  --conns C (100)  --requests N (20000)  --timeout S (120) */
struct bench_client_opts {
    const char *addr_text;
    struct sockaddr_in addr; /* filled in by bench_client_setup */
    long conns, requests, timeout;
};

#define BENCH_CLIENT_OPTS_INIT                                                                     \
    {                                                                                              \
        NULL, {0}, 100, 20000, 120                                                                 \
    }
#define BENCH_CLIENT_USAGE "--addr HOST:PORT [--conns C] [--requests N] [--timeout S]"

/* Consumes argv[*i] (and its value) if it is one of the client options; returns 1 if so. */
int bench_client_opt(int argc, char **argv, int *i, struct bench_client_opts *o);

/* Parses a command line made only of client options; exits with status 2 and a usage line on
 * anything else. */
void bench_client_parse(int argc, char **argv, struct bench_client_opts *o);

/* After the options are parsed: checks --addr (exits with status 2 if it is missing or not on
 * loopback), raises RLIMIT_NOFILE, ignores SIGPIPE, and formats the GET request for o->addr into
 * req. Returns the request's length. */
size_t bench_client_setup(struct bench_client_opts *o, const char *prog, char *req, size_t size);

/* A server's command line: `[--port P]`, P = 0 (the default) for a free port. Exits with status
 * 2 on anything else. Also raises RLIMIT_NOFILE and ignores SIGPIPE. Returns P. */
long bench_server_setup(int argc, char **argv);

/* Blocks SIGINT and SIGTERM and returns a non-blocking signalfd that reads them, so that an
 * event loop sees "stop" as one more readable fd. Exits on failure. */
int bench_signalfd(void);

/* ---- results ------------------------------------------------------------------------------- */

/* What a client run measured; the RESULT line adds CPU and peak RSS from getrusage(). */
struct bench_run {
    const char *name; /* program name, e.g. "epoll_client" */
    long conns;       /* connections asked for */
    long requests;    /* requests asked for */
    long done;        /* responses received complete, status 200 */
    long errors;      /* requests that failed or were never sent */
    double wall_s;    /* from the first connect() to the last response */
};

/* Prints one line to stdout and flushes it:
 *   RESULT name=N conns=C requests=R done=D errors=E wall_s=W cpu_s=U+S user_s=U sys_s=S
 *   rss_kb=K
 * cpu_s and rss_kb cover the whole process (getrusage RUSAGE_SELF: ru_utime, ru_stime,
 * ru_maxrss). Keys may be added later; readers must ignore keys they do not know. */
void bench_print_result(const struct bench_run *run);

/* ---- HTTP ---------------------------------------------------------------------------------- */

/* The one response every benchmark server sends, byte for byte: 13-byte body "Hello, world!". */
extern const char bench_response[];
extern const size_t bench_response_len;

/* Returns a malloc'd block of `copies` back-to-back copies of bench_response (exits if out of
 * memory). Servers write any run of owed responses out of it, starting at any offset inside the
 * first copy, so a connection never needs an output buffer of its own. */
char *bench_response_block(size_t copies);

/* Formats "GET / HTTP/1.1\r\nHost: A.B.C.D:PORT\r\n\r\n" into buf; returns its length, or 0 if
 * it does not fit. */
size_t bench_format_request(char *buf, size_t size, const struct sockaddr_in *addr);

/* Server side: finds where requests end in a byte stream without keeping the bytes. A request is
 * a header block that starts with "GET " and ends with an empty line; it has no body. The state
 * survives between calls, so a request split across reads is counted once, when it completes.
 * The whole state is four bytes, which is the point: an idle connection owns no buffer. */
struct bench_req_scan {
    uint16_t len;    /* bytes of the current request seen so far (saturates at the limit) */
    uint8_t matched; /* how much of "\r\n\r\n" the last bytes matched: 0..3 */
    uint8_t unused;
};

/* Longest request header accepted; a longer one is an error. */
#define BENCH_REQ_MAX 8192

/* Feeds `len` bytes; returns how many requests they completed (>= 0), or -1 if the stream is not
 * a sequence of GET requests or one is longer than BENCH_REQ_MAX. */
long bench_req_scan_feed(struct bench_req_scan *scan, const char *data, size_t len);

/* Client side: parses one response at the start of buf. Needs a status line, the headers, and
 * a Content-Length; chunked or close-delimited bodies are not used by the benchmark servers.
 * Returns the response's total length (> 0) once buf holds all of it, 0 if more bytes are
 * needed, -1 if it is malformed, its status is not 200, or its header exceeds `max_header`. */
long bench_resp_parse(const char *buf, size_t len, size_t max_header);

/* Client side, one request in flight: `buf` holds the `len` bytes received so far, in a buffer
 * of `cap` bytes. Returns 1 when they are exactly one complete 200 response, 0 when more bytes
 * are needed (and fit), -1 when they can never be (malformed, too long, or extra bytes). */
int bench_resp_complete(const char *buf, size_t len, size_t cap);

#endif
