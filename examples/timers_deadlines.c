/*
 * timers_deadlines — the idea: waiting for time is waiting like any other. A task that sleeps,
 * or that gives up on a socket at a deadline, asks the runtime to wake it at that time; the
 * runtime parks in epoll_wait no longer than until the earliest such time.
 *
 * Three parts, against a delay server (GET /{delay_ms}/{message}):
 *
 *   1. sleepers: three tasks sleep 300, 100 and 200 ms; they wake in deadline order, and none
 *      wakes early.
 *   2. a deadline on a read: ask for /1200/slow and read with a deadline 100 ms away. The read
 *      fails with -ETIMEDOUT; nothing was lost, so reading on without a deadline gets the answer.
 *   3. select: race a request against a timer with weft_co_select (weft/coro.h, section 7).
 *      The first child to finish wins and the other is cancelled — its cleanup block runs.
 *      Once the timer wins (the request is slow), once the request wins (it is fast).
 *
 * Which of two waits ends first is a matter of time here, so the times are far apart: a second
 * or more, not a few hundred milliseconds, which a busy machine can pause a program for (if
 * the answer arrived while the program was paused past its read deadline, the read would
 * return the answer, not -ETIMEDOUT). When a timer and an answer are both due at once, the
 * select's timer wins: it is the first child.
 *
 * Usage: timers_deadlines [HOST:PORT]   (default 127.0.0.1:8080; start weft-delayserver there)
 * docs/06-timers-and-deadlines.md walks through it.
 */
#include <stdio.h>
#include <string.h>

#include <weft.h>

static weft_addr server;

static double ms_since(int64_t t0)
{
    return (double)(weft_time_now() - t0) / 1e6;
}

/* ---- 1. sleepers -------------------------------------------------------------------------- */

struct sleeper {
    weft_co co;
    const char *name;
    int ms;
    int64_t t0, wake;
};

static int sleeper(void *frame, weft_cx *cx)
{
    struct sleeper *f = frame;
    WEFT_BEGIN(&f->co);
    f->t0 = weft_time_now();
    WEFT_AWAIT(&f->co, weft_sleep_for(&f->wake, WEFT_MSEC(f->ms), cx));
    printf("  %s woke after %.1f ms (asked for %d ms)\n", f->name, ms_since(f->t0), f->ms);
    WEFT_END(&f->co, 0);
}

/* ---- a request: connect, send GET path, read until the server closes ---------------------- */

struct fetch {
    weft_co co;
    const char *path;
    int64_t deadline; /* for each read; WEFT_NO_DEADLINE: none */
    weft_tcp_connect_op conn;
    weft_tcp_stream s;
    weft_tcp_xfer x;
    char buf[512];
    int len, n;
    bool sent; /* the request is on its way: a call again after a timeout only reads on */
};

/* The body of the response in f->buf (after the blank line that ends the head). */
static const char *fetch_body(const struct fetch *f)
{
    const char *body = strstr(f->buf, "\r\n\r\n");
    return body ? body + 4 : f->buf;
}

/* Result: 0 with the response in f->buf, or an error (-ETIMEDOUT when a read's deadline came:
 * the stream is still open then, and calling again reads on). */
static int fetch(struct fetch *f, weft_cx *cx)
{
    WEFT_BEGIN(&f->co);
    if (!f->sent) {
        WEFT_AWAIT_CHILD(&f->co, &f->conn.co, f->n, weft_tcp_connect(&f->conn, &f->s, &server, cx));
        if (f->n < 0) WEFT_RETURN(&f->co, f->n);
        f->len =
            snprintf(f->buf, sizeof f->buf,
                     "GET %s HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n", f->path);
        WEFT_AWAIT_CHILD(&f->co, &f->x.co, f->n,
                         weft_tcp_write_all(&f->x, &f->s, f->buf, (size_t)f->len, cx));
        f->len = 0;
        if (f->n < 0) WEFT_RETURN(&f->co, f->n);
        f->sent = true;
    }
    for (;;) {
        WEFT_AWAIT(&f->co,
                   f->n = weft_tcp_read_dl(&f->s, f->buf + f->len,
                                           sizeof f->buf - 1 - (size_t)f->len, f->deadline, cx));
        if (f->n <= 0) break; /* 0: the server closed, the response is complete */
        f->len += f->n;
    }
    f->buf[f->len] = '\0';
    if (f->n == -ETIMEDOUT) WEFT_RETURN(&f->co, f->n); /* keep the stream: the caller may retry */
    weft_tcp_close(cx->rt, &f->s);
    WEFT_RETURN(&f->co, f->n);
    WEFT_ON_CANCEL(&f->co);
    printf("  %s: cancelled; its cleanup block closes the socket\n", f->path);
    weft_tcp_close(cx->rt, &f->s); /* also abandons a connect in progress */
    WEFT_END(&f->co, 0);
}

WEFT_CO_FN(fetch_fn, fetch, struct fetch)

/* A timer as a child coroutine, for weft_co_select. */
struct timer {
    weft_co co;
    int64_t deadline;
};

static int timer(struct timer *f, weft_cx *cx)
{
    WEFT_BEGIN(&f->co);
    WEFT_AWAIT(&f->co, weft_sleep_until(f->deadline, cx));
    WEFT_END(&f->co, 0);
}

WEFT_CO_FN(timer_fn, timer, struct timer)

/* ---- the main task ------------------------------------------------------------------------ */

struct main_task {
    weft_co co;
    struct sleeper sleepers[3];
    weft_task tasks[3];
    struct fetch get;
    struct timer tm;
    weft_co_child kids[2];
    int i, r;
    int64_t t0;
};

/* The two races of part 3: a request and the timer it runs against. */
static const struct race {
    const char *path;
    int timer_ms;
} races[2] = {{"/1000/slow", 300}, {"/20/fast", 10000}};

static int main_task(void *frame, weft_cx *cx)
{
    struct main_task *f = frame;
    WEFT_BEGIN(&f->co);
    printf("1. three sleepers\n");
    for (f->i = 0; f->i < 3; f->i++)
        weft_task_spawn(cx->rt, sleeper, &f->sleepers[f->i], &f->tasks[f->i]);
    for (f->i = 0; f->i < 3; f->i++)
        WEFT_AWAIT(&f->co, f->r = weft_task_join(f->tasks[f->i], cx));

    printf("2. a read with a deadline\n");
    f->t0 = weft_time_now();
    f->get = (struct fetch){.path = "/1200/slow", .deadline = weft_deadline_in(WEFT_MSEC(100))};
    WEFT_AWAIT_CHILD(&f->co, &f->get.co, f->r, fetch(&f->get, cx));
    printf("  GET %s, reading with a deadline 100 ms away: %s after %.1f ms\n", f->get.path,
           weft_strerror(f->r), ms_since(f->t0));
    if (f->r != -ETIMEDOUT) WEFT_RETURN(&f->co, 1);
    f->get.deadline = WEFT_NO_DEADLINE; /* the stream is still open: read on, without one */
    WEFT_AWAIT_CHILD(&f->co, &f->get.co, f->r, fetch(&f->get, cx));
    printf("  reading on without a deadline: \"%s\" after %.1f ms\n",
           f->r == 0 ? fetch_body(&f->get) : weft_strerror(f->r), ms_since(f->t0));

    printf("3. select: a request against a timer\n");
    for (f->i = 0; f->i < 2; f->i++) {
        f->t0 = weft_time_now();
        f->get = (struct fetch){.path = races[f->i].path, .deadline = WEFT_NO_DEADLINE};
        f->tm.deadline = weft_deadline_in(WEFT_MSEC(races[f->i].timer_ms));
        weft_co_child_init(&f->kids[0], timer_fn, &f->tm); /* first: it wins a tie */
        weft_co_child_init(&f->kids[1], fetch_fn, &f->get);
        WEFT_AWAIT(&f->co, f->r = weft_co_select(f->kids, 2, cx));
        if (f->r == 0)
            printf("  GET %s against a %d ms timer: the timer won after %.1f ms\n", f->get.path,
                   races[f->i].timer_ms, ms_since(f->t0));
        else
            printf("  GET %s against a %d ms timer: the request won after %.1f ms: \"%s\"\n",
                   f->get.path, races[f->i].timer_ms, ms_since(f->t0), fetch_body(&f->get));
    }
    WEFT_ON_CANCEL(&f->co);
    weft_co_children_cancel(f->kids, 2, cx);
    WEFT_END(&f->co, 0);
}

int main(int argc, char **argv)
{
    if (argc > 2 || weft_addr_parse(&server, argc > 1 ? argv[1] : "127.0.0.1:8080") != 0) {
        if (argc > 2)
            fprintf(stderr, "'%s': one argument too many\n", argv[2]);
        else
            fprintf(stderr, "'%s': expected HOST:PORT\n", argv[1]);
        fprintf(stderr, "usage: %s [HOST:PORT]   (numeric, e.g. 127.0.0.1:8080)\n", argv[0]);
        return 2;
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    static struct main_task m = {
        .sleepers = {{.name = "A", .ms = 300}, {.name = "B", .ms = 100}, {.name = "C", .ms = 200}}};
    weft_runtime rt;
    if (weft_runtime_init(&rt) < 0) return 1;
    int r = weft_runtime_block_on(&rt, main_task, &m);
    weft_runtime_close(&rt);
    if (r != 0) fprintf(stderr, "failed: %s\n", r < 0 ? weft_strerror(r) : "unexpected result");
    return r != 0;
}
