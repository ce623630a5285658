/*
 * 02_state_machine — the idea: a coroutine IS a state machine; weft's macros write the one you
 * would otherwise write by hand.
 *
 * This is the coroutine of chapter 7 of "Asynchronous Programming in Rust": a main task that
 * prints "Program starting", then fetches /600/HelloWorld1 and /400/HelloWorld2 from a delay
 * server, one after the other. It is written twice:
 *
 *   1. by hand: an enum of states and a switch, with the awaited request kept in the frame;
 *   2. with weft's macros: straight-line code over the same frame, compiled into the same kind
 *      of switch (or, under gcc/clang, a jump through a saved label address).
 *
 * Both follow one protocol: each call ("poll") does as much as it can without blocking and
 * returns WEFT_PENDING, or the final result. A plain loop in main() drives them, polling every
 * 100 ms and printing "Schedule other tasks" whenever the task is still pending — the place a
 * real program would run other tasks. There is no event loop yet: the request polls its socket
 * with a non-blocking recv() and reports "pending" on EAGAIN. (Example 03 onwards replaces the
 * 100 ms loop with readiness events.)
 *
 * Usage: 02_state_machine [HOST:PORT]   (default 127.0.0.1:8080; start a delay server there)
 */
#define _GNU_SOURCE /* getaddrinfo, nanosleep */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "weft/coro.h"

static struct addrinfo *server; /* where the delay server listens, from argv */

/* ---- the leaf: one HTTP GET, polled (the book's HttpGetFuture) ---------------------------- */

/* One request's frame: the socket and what has arrived so far. */
struct http_get {
    const char *path;
    int fd;         /* -1 before the first poll and after the last */
    size_t len;     /* bytes in buf */
    char buf[1024]; /* the whole response, NUL-terminated when done */
};

static void http_get_init(struct http_get *g, const char *path)
{
    g->path = path;
    g->fd = -1;
    g->len = 0;
}

/* Connect (blocking: it is local and quick), send the request, and make the socket non-blocking
 * so that later polls can never block. Returns 0 or -errno. */
static int http_get_start(struct http_get *g)
{
    char req[256];
    int n = snprintf(req, sizeof req,
                     "GET %s HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n", g->path);
    g->fd = socket(server->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (g->fd < 0) return -errno;
    if (connect(g->fd, server->ai_addr, server->ai_addrlen) < 0) return -errno;
    ssize_t sent = send(g->fd, req, (size_t)n, MSG_NOSIGNAL);
    if (sent != n) return sent < 0 ? -errno : -EIO;
    int flags = fcntl(g->fd, F_GETFL);
    if (flags < 0 || fcntl(g->fd, F_SETFL, flags | O_NONBLOCK) < 0) return -errno;
    return 0;
}

static int http_get_finish(struct http_get *g, int result)
{
    if (g->fd >= 0) close(g->fd);
    g->fd = -1;
    g->buf[g->len] = '\0';
    return result;
}

/*
 * Poll the request. The first poll starts it and reports pending, as the book's future does.
 * Later polls read until the socket would block (pending) or the server closes the connection
 * (done: returns the response length; the text is in g->buf). Errors: -errno, -EMSGSIZE.
 */
static int http_get_poll(struct http_get *g)
{
    if (g->fd < 0) {
        printf("FIRST POLL - START OPERATION\n");
        int err = http_get_start(g);
        return err < 0 ? http_get_finish(g, err) : WEFT_PENDING;
    }
    for (;;) {
        if (g->len == sizeof g->buf - 1) return http_get_finish(g, -EMSGSIZE);
        ssize_t n = recv(g->fd, g->buf + g->len, sizeof g->buf - 1 - g->len, 0);
        if (n > 0) {
            g->len += (size_t)n;
        } else if (n == 0) {
            return http_get_finish(g, (int)g->len);
        } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
            return WEFT_PENDING; /* nothing more yet: come back later */
        } else if (errno != EINTR) {
            return http_get_finish(g, -errno);
        }
    }
}

/* Print a finished response as text, one line per header line ("\r\n" shown as "\n"). */
static void print_response(const struct http_get *g)
{
    for (const char *p = g->buf; *p; p++)
        if (*p != '\r') putchar(*p);
    putchar('\n');
}

/* ---- 1. the coroutine by hand: an enum and a switch --------------------------------------- */

enum main_state { MAIN_START, MAIN_WAIT1, MAIN_WAIT2, MAIN_RESOLVED };

struct main_by_hand {
    enum main_state state;
    struct http_get get; /* the request being awaited, embedded in the frame */
};

static int main_by_hand(struct main_by_hand *m, weft_cx *cx)
{
    (void)cx;
    int r;
    for (;;) {
        switch (m->state) {
        case MAIN_START:
            printf("Program starting\n");
            http_get_init(&m->get, "/600/HelloWorld1");
            m->state = MAIN_WAIT1;
            break;
        case MAIN_WAIT1:
            r = http_get_poll(&m->get);
            if (r == WEFT_PENDING) return WEFT_PENDING;
            if (r < 0) {
                m->state = MAIN_RESOLVED;
                return r;
            }
            print_response(&m->get);
            http_get_init(&m->get, "/400/HelloWorld2");
            m->state = MAIN_WAIT2;
            break;
        case MAIN_WAIT2:
            r = http_get_poll(&m->get);
            if (r == WEFT_PENDING) return WEFT_PENDING;
            m->state = MAIN_RESOLVED;
            if (r < 0) return r;
            print_response(&m->get);
            return 0;
        case MAIN_RESOLVED:
            return WEFT_EFINISHED; /* the book panics here */
        }
    }
}

/* ---- 2. the same coroutine with weft's macros --------------------------------------------- */

struct main_with_macros {
    weft_co co; /* replaces `state` */
    struct http_get get;
    int r; /* crosses an await, so it lives in the frame */
};

static int main_with_macros(struct main_with_macros *m, weft_cx *cx)
{
    (void)cx;
    WEFT_BEGIN(&m->co);
    printf("Program starting\n");
    http_get_init(&m->get, "/600/HelloWorld1");
    WEFT_AWAIT(&m->co, m->r = http_get_poll(&m->get));
    if (m->r < 0) WEFT_RETURN(&m->co, m->r);
    print_response(&m->get);
    http_get_init(&m->get, "/400/HelloWorld2");
    WEFT_AWAIT(&m->co, m->r = http_get_poll(&m->get));
    if (m->r < 0) WEFT_RETURN(&m->co, m->r);
    print_response(&m->get);
    WEFT_END(&m->co, 0);
}

/* ---- the driver: poll every 100 ms -------------------------------------------------------- */

WEFT_CO_FN(main_by_hand_fn, main_by_hand, struct main_by_hand)
WEFT_CO_FN(main_with_macros_fn, main_with_macros, struct main_with_macros)

/* Poll until done (at most 20 s); return the task's result. */
static int drive(weft_co_fn poll, void *frame)
{
    const struct timespec tick = {.tv_nsec = 100000000L}; /* 100 ms */
    for (int polls = 0; polls < 200; polls++) {
        int r = poll(frame, NULL);
        if (r != WEFT_PENDING) return r;
        printf("Schedule other tasks\n");
        fflush(stdout);
        nanosleep(&tick, NULL);
    }
    return -ETIMEDOUT;
}

/* Resolve "HOST:PORT" or "[HOST]:PORT" into `server`. Returns 0 or -1 (message printed). */
static int resolve(const char *arg)
{
    char host[256];
    const char *colon = strrchr(arg, ':');
    size_t hlen = colon ? (size_t)(colon - arg) : 0;
    if (!colon || hlen == 0 || hlen >= sizeof host) {
        fprintf(stderr, "expected HOST:PORT, got '%s'\n", arg);
        return -1;
    }
    memcpy(host, arg, hlen);
    host[hlen] = '\0';
    char *h = host;
    if (h[0] == '[' && h[hlen - 1] == ']') {
        h[hlen - 1] = '\0';
        h++;
    }
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV};
    int err = getaddrinfo(h, colon + 1, &hints, &server);
    if (err != 0) {
        fprintf(stderr, "%s: %s\n", arg, gai_strerror(err));
        return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc > 2) fprintf(stderr, "'%s': one argument too many\n", argv[2]);
    if (argc > 2 || resolve(argc > 1 ? argv[1] : "127.0.0.1:8080") < 0) {
        fprintf(stderr, "usage: %s [HOST:PORT]\n", argv[0]);
        return 2;
    }

    printf("== 1. by hand: enum + switch ==\n");
    struct main_by_hand by_hand = {.state = MAIN_START};
    int r1 = drive(main_by_hand_fn, &by_hand);

    printf("== 2. with weft's macros ==\n");
    struct main_with_macros with_macros = {.co = WEFT_CO_INIT};
    int r2 = drive(main_with_macros_fn, &with_macros);

    freeaddrinfo(server);
    if (r1 < 0 || r2 < 0) {
        fprintf(stderr, "failed: %s / %s\n", weft_strerror(r1), weft_strerror(r2));
        return 1;
    }
    printf("both finished: %d %d\n", r1, r2);
    return 0;
}
