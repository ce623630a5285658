/*
 * weft-delayserver — the delay server as a program (the module is delayserver.h).
 *
 *   weft-delayserver [--host HOST] [--port PORT] [--delay-scale F] [--quiet]
 *                    [--header-timeout MS] [--idle-timeout MS] [--grace MS]
 *                    [--max-delay MS] [--max-conns N]
 *
 * GET /{delay_ms}/{message} answers the message after the delay. The first line printed is
 * `listening on HOST:PORT` (flushed), so scripts can wait for it; then one line per request,
 * `#{n} - {delay}ms: {message}`, unless --quiet. SIGINT or SIGTERM stop the server gracefully
 * (responses in progress get up to --grace ms to finish); a second one stops it at once.
 */
#define _GNU_SOURCE /* NI_MAXHOST */
#include "delayserver.h"

#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <netdb.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "weft/signal.h"

#define PROG "weft-delayserver"

struct options {
    weft_delayserver_config cfg;
    int64_t grace; /* ns that responses in progress get after SIGINT/SIGTERM */
};

static void usage(FILE *to)
{
    fprintf(to,
            "usage: " PROG " [options]\n"
            "  GET /{delay_ms}/{message} answers the message after the delay.\n"
            "  --host HOST           address to listen on (default 127.0.0.1)\n"
            "  --port PORT           port; 0 picks a free one (default 8080)\n"
            "  --delay-scale F       multiply every delay by F (default 1)\n"
            "  --quiet               do not print a line per request\n"
            "  --header-timeout MS   a request head must arrive within MS (default 10000)\n"
            "  --idle-timeout MS     close idle keep-alive connections after MS (default 30000)\n"
            "  --grace MS            on SIGINT/SIGTERM, let responses finish for MS (default "
            "2000)\n"
            "  --max-delay MS        refuse longer delays with 400 (default 60000)\n"
            "  --max-conns N         serve at most N connections at once (default 10000)\n");
}

/* A whole decimal number in [min, max]. */
static bool parse_number(const char *s, double min, double max, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || *end != '\0' || errno != 0 || !isfinite(v) || v < min || v > max) return false;
    *out = v;
    return true;
}

/* Applies one option that takes a value. False if the name is unknown or the value is bad. */
static bool set_option(struct options *o, const char *name, const char *value)
{
    weft_delayserver_config *cfg = &o->cfg;
    double v;
    if (strcmp(name, "--host") == 0) {
        cfg->host = value;
        return true;
    }
    if (!parse_number(value, 0, 1e9, &v)) return false;
    bool whole = v == floor(v);
    if (strcmp(name, "--delay-scale") == 0)
        cfg->delay_scale = v;
    else if (strcmp(name, "--port") == 0 && whole && v <= 65535)
        cfg->port = (uint16_t)v;
    else if (strcmp(name, "--header-timeout") == 0 && whole && v > 0)
        cfg->header_timeout = WEFT_MSEC((int64_t)v);
    else if (strcmp(name, "--idle-timeout") == 0 && whole && v > 0)
        cfg->idle_timeout = WEFT_MSEC((int64_t)v);
    else if (strcmp(name, "--grace") == 0 && whole)
        o->grace = WEFT_MSEC((int64_t)v);
    else if (strcmp(name, "--max-delay") == 0 && whole)
        cfg->max_delay_ms = (uint32_t)v;
    else if (strcmp(name, "--max-conns") == 0 && whole && v >= 1)
        cfg->max_connections = (size_t)v;
    else
        return false;
    return true;
}

/* Returns 0 to run, 1 after --help, 2 on a usage error (reported). */
static int parse_options(int argc, char **argv, struct options *o)
{
    weft_delayserver_config_init(&o->cfg);
    o->grace = WEFT_SEC(2);
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            usage(stdout);
            return 1;
        }
        if (strcmp(argv[i], "--quiet") == 0) {
            o->cfg.log = NULL;
            continue;
        }
        if (i + 1 >= argc || !set_option(o, argv[i], argv[i + 1])) {
            fprintf(stderr, PROG ": bad option or value: %s\n", argv[i]);
            usage(stderr);
            return 2;
        }
        i++;
    }
    return 0;
}

/* ---------------------------------------------------------------------------------------------
 * Starting: a host name is resolved here, once, before the runtime runs (the module only takes
 * numeric addresses: resolving blocks, and blocking is for before the loop starts).
 * ------------------------------------------------------------------------------------------- */

static int resolve_host(const char *host, char *out, size_t size)
{
    struct addrinfo hints = {
        .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE};
    struct addrinfo *list;
    int r = getaddrinfo(host, NULL, &hints, &list);
    if (r != 0) {
        fprintf(stderr, PROG ": %s: %s\n", host, gai_strerror(r));
        return -1;
    }
    r = getnameinfo(list->ai_addr, list->ai_addrlen, out, (socklen_t)size, NULL, 0, NI_NUMERICHOST);
    freeaddrinfo(list);
    return r == 0 ? 0 : -1;
}

static int start_server(weft_runtime *rt, struct options *o, weft_delayserver *srv)
{
    static char numeric[NI_MAXHOST];
    int r = weft_delayserver_start(rt, &o->cfg, srv);
    if (r == WEFT_EADDR_NAME) {
        if (resolve_host(o->cfg.host, numeric, sizeof numeric) < 0) return r; /* reported */
        o->cfg.host = numeric;
        r = weft_delayserver_start(rt, &o->cfg, srv);
    }
    if (r < 0) {
        fprintf(stderr, PROG ": cannot listen on %s port %u: %s\n", o->cfg.host,
                (unsigned)o->cfg.port, weft_strerror(r));
        return r;
    }
    weft_addr addr;
    char text[WEFT_ADDR_STRLEN];
    if (weft_delayserver_addr(srv, &addr) < 0 || weft_addr_format(&addr, text, sizeof text) < 0)
        snprintf(text, sizeof text, "%s:%u", o->cfg.host, (unsigned)o->cfg.port);
    printf("listening on %s\n", text);
    fflush(stdout);
    return 0;
}

/* A server wants as many fds as it may have connections: lift the soft limit to the hard. */
static void raise_fd_limit(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        (void)setrlimit(RLIMIT_NOFILE, &rl);
    }
}

/* ---------------------------------------------------------------------------------------------
 * Signals: a task of its own awaits SIGINT and SIGTERM (weft/signal.h) and stops the server.
 * ------------------------------------------------------------------------------------------- */

struct signal_watch {
    weft_co co;
    weft_signal *sig;      /* SIGINT and SIGTERM (main opens and closes it) */
    weft_delayserver *srv; /* what a signal stops */
    int64_t grace;         /* how long the first signal lets responses finish */
    int signo;             /* the last signal read, or an error */
    int count;             /* signals so far */
};

static int signal_watch(void *frame, weft_cx *cx)
{
    struct signal_watch *f = frame;
    WEFT_BEGIN(&f->co);
    for (;;) {
        WEFT_AWAIT(&f->co, f->signo = weft_signal_wait(f->sig, cx));
        if (f->signo < 0) WEFT_RETURN(&f->co, f->signo);
        weft_delayserver_stats st;
        weft_delayserver_get_stats(f->srv, &st);
        if (++f->count == 1) {
            printf("%s: shutting down, %zu connection(s) open\n", strsignal(f->signo), st.active);
            weft_delayserver_shutdown(f->srv, weft_deadline_in(f->grace));
        } else {
            printf("%s again: stopping now\n", strsignal(f->signo));
            weft_delayserver_shutdown(f->srv, weft_time_now());
        }
        fflush(stdout);
    }
    WEFT_END(&f->co, 0);
}

/* The root task: wait for the server to finish, then stop watching for signals. */
struct root {
    weft_co co;
    weft_delayserver *srv;
    weft_task watcher;
};

static int root_task(void *frame, weft_cx *cx)
{
    struct root *f = frame;
    WEFT_BEGIN(&f->co);
    WEFT_AWAIT(&f->co, weft_delayserver_wait(f->srv, cx));
    weft_task_cancel(cx->rt, f->watcher);
    WEFT_END(&f->co, 0);
}

/* Runs the server until it stopped. Returns the exit status. */
static int serve(weft_runtime *rt, weft_delayserver *srv, weft_signal *sig, int64_t grace)
{
    struct signal_watch watch = {.sig = sig, .srv = srv, .grace = grace};
    struct root root = {.srv = srv};
    int r = weft_task_spawn(rt, signal_watch, &watch, &root.watcher);
    if (r == 0) {
        weft_task_detach(rt, root.watcher);
    } else {
        fprintf(stderr, PROG ": signals: %s\n", weft_strerror(r));
        weft_delayserver_shutdown(srv, weft_time_now());
    }
    r = weft_runtime_block_on(rt, root_task, &root);
    if (r < 0) fprintf(stderr, PROG ": %s\n", weft_strerror(r));
    return r < 0 ? 1 : 0;
}

/*
 * SIGINT and SIGTERM stop the server; from here on they wait to be read instead of killing. They
 * are blocked here first, so they stay blocked after weft_signal_close (which restores the mask
 * it found): one that arrives while the stopped server is exiting must not kill it with a
 * non-zero status.
 */
static int open_signals(weft_runtime *rt, weft_signal *sig)
{
    static const int stop[] = {SIGINT, SIGTERM};
    sigset_t set;
    sigemptyset(&set);
    for (size_t i = 0; i < sizeof stop / sizeof stop[0]; i++)
        sigaddset(&set, stop[i]);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    int r = weft_signal_open(rt, sig, stop, sizeof stop / sizeof stop[0]);
    if (r < 0) fprintf(stderr, PROG ": signals: %s\n", weft_strerror(r));
    return r;
}

int main(int argc, char **argv)
{
    struct options o;
    int r = parse_options(argc, argv, &o);
    if (r != 0) return r == 1 ? 0 : 2;
    signal(SIGPIPE, SIG_IGN); /* a closed stdout must not kill the server (sockets use
                                 MSG_NOSIGNAL anyway) */
    raise_fd_limit();
    weft_runtime rt;
    r = weft_runtime_init(&rt);
    if (r < 0) {
        fprintf(stderr, PROG ": runtime: %s\n", weft_strerror(r));
        return 1;
    }
    weft_signal sig;
    weft_delayserver srv;
    if (open_signals(&rt, &sig) < 0 || start_server(&rt, &o, &srv) < 0) {
        weft_signal_close(&rt, &sig);
        weft_runtime_close(&rt);
        return 1;
    }
    int status = serve(&rt, &srv, &sig, o.grace);
    weft_signal_close(&rt, &sig);
    weft_delayserver_stats st;
    weft_delayserver_get_stats(&srv, &st);
    if (weft_runtime_close(&rt) != 0) fprintf(stderr, PROG ": tasks or sockets were left open\n");
    weft_delayserver_close(&srv);
    printf("stopped: %llu requests on %llu connections\n", (unsigned long long)st.requests,
           (unsigned long long)st.connections);
    return status;
}
