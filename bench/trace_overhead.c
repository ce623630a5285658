/*
 * trace_overhead: what the trace hooks cost while tracing is off (weft/trace.h).
 *
 *   trace_overhead [--tasks N] [--yields Y] [--spawns S] [--trips R] [--trace FILE]
 *
 * Built twice from this one file (bench/trace_overhead.cmake): trace_overhead_on links a runtime
 * with the hooks compiled in (the default build: one branch on rt->trace per hook),
 * trace_overhead_off one built with WEFT_TRACE_COMPILED=0 (no hooks at all). Nothing else
 * differs, so the difference between the two is the price of the hooks. bench/trace_overhead.py
 * runs them interleaved and takes medians; docs/tracing.md states the figure.
 *
 * Three workloads, each on a fresh runtime, printed as key=value lines:
 *
 *   yield_ns    N tasks (default 100) each yield Y times (default 20 000): one resume is a queue
 *               pop, a poll that suspends, a wake, a queue push — the hooks' densest path
 *               (poll start, poll end, wake: three hooks per resume).
 *   spawn_ns    S tasks (default 200 000) spawned and run: each is polled once and finishes
 *               (spawn, poll start, poll end, done: four hooks per task).
 *   trip_ns     two tasks pass a byte back and forth over a socketpair R times (default
 *               50 000): each trip is two reads that wait, two parks in epoll, two events, two
 *               wakes — the realistic path, where system calls dominate.
 *
 * --trace FILE records a trace of all three (only in trace_overhead_on): the cost of tracing on.
 */
#define _GNU_SOURCE
#include "bench_common.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "weft/runtime.h"
#include "weft/trace.h"

static const char *trace_path;

static void die_on(int r, const char *what)
{
    if (r >= 0) return;
    fprintf(stderr, "trace_overhead: %s: %s\n", what, weft_strerror(r));
    exit(1);
}

static void rt_open(weft_runtime *rt)
{
    die_on(weft_runtime_init(rt), "weft_runtime_init");
    if (trace_path != NULL) die_on(weft_trace_start(rt, trace_path), "weft_trace_start");
}

static void rt_close(weft_runtime *rt)
{
    die_on(weft_runtime_close(rt), "weft_runtime_close");
}

/* ---- 1. yields ------------------------------------------------------------------------------ */

struct yielder {
    weft_co co;
    long i, n;
};

static int yielder_fn(void *frame, weft_cx *cx)
{
    struct yielder *f = frame;
    WEFT_BEGIN(&f->co);
    for (f->i = 0; f->i < f->n; f->i++)
        WEFT_TASK_YIELD(&f->co, cx);
    WEFT_END(&f->co, 0);
}

static double bench_yields(long tasks, long yields)
{
    weft_runtime rt;
    rt_open(&rt);
    struct yielder *y = calloc((size_t)tasks, sizeof *y);
    if (y == NULL) die_on(-ENOMEM, "calloc");
    for (long i = 0; i < tasks; i++) {
        y[i].n = yields;
        die_on(weft_task_spawn(&rt, yielder_fn, &y[i], NULL), "spawn");
    }
    double t0 = bench_now();
    die_on(weft_runtime_run(&rt), "run");
    double t = bench_now() - t0;
    rt_close(&rt);
    free(y);
    return t * 1e9 / ((double)tasks * (double)(yields + 1));
}

/* ---- 2. spawns ------------------------------------------------------------------------------ */

struct quick {
    weft_co co;
};

static int quick_fn(void *frame, weft_cx *cx)
{
    struct quick *f = frame;
    (void)cx;
    WEFT_BEGIN(&f->co);
    WEFT_END(&f->co, 0);
}

static double bench_spawns(long spawns)
{
    weft_runtime rt;
    rt_open(&rt);
    struct quick *q = calloc((size_t)spawns, sizeof *q);
    if (q == NULL) die_on(-ENOMEM, "calloc");
    double t0 = bench_now();
    for (long i = 0; i < spawns; i++)
        die_on(weft_task_spawn(&rt, quick_fn, &q[i], NULL), "spawn");
    die_on(weft_runtime_run(&rt), "run");
    double t = bench_now() - t0;
    rt_close(&rt);
    free(q);
    return t * 1e9 / (double)spawns;
}

/* ---- 3. round trips over a socketpair -------------------------------------------------------- */

/* Reads one byte and writes it back, trips times; the first one to move starts with a write. */
struct player {
    weft_co co;
    weft_io io;
    long i, trips;
    bool serves;
    char byte;
    int r;
};

static int read_byte(weft_io *io, char *b, weft_cx *cx)
{
    int r = weft_io_ready(io, WEFT_IO_READ, WEFT_NO_DEADLINE, cx);
    if (r != 0) return r;
    for (;;) {
        ssize_t n = recv(weft_io_fd(io), b, 1, 0);
        if (n >= 0) return (int)n;
        if (errno == EINTR) continue;
        if (errno != EAGAIN) return -errno;
        return weft_io_wait(io, WEFT_IO_READ, WEFT_NO_DEADLINE, cx);
    }
}

/* A byte always fits in the socket buffer here: one is in flight at a time. */
static int write_byte(weft_io *io, char b)
{
    return send(weft_io_fd(io), &b, 1, MSG_NOSIGNAL) == 1 ? 0 : -errno;
}

static int player_fn(void *frame, weft_cx *cx)
{
    struct player *f = frame;
    WEFT_BEGIN(&f->co);
    if (f->serves && write_byte(&f->io, 'x') < 0) WEFT_RETURN(&f->co, -EIO);
    for (f->i = 0; f->i < f->trips; f->i++) {
        WEFT_AWAIT(&f->co, f->r = read_byte(&f->io, &f->byte, cx));
        if (f->r != 1) WEFT_RETURN(&f->co, -EIO);
        if (f->serves && f->i + 1 == f->trips) break;
        if (write_byte(&f->io, f->byte) < 0) WEFT_RETURN(&f->co, -EIO);
    }
    WEFT_END(&f->co, 0);
}

static double bench_trips(long trips)
{
    weft_runtime rt;
    rt_open(&rt);
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) < 0)
        bench_die("socketpair");
    struct player a = {.trips = trips, .serves = true}, b = {.trips = trips};
    die_on(weft_io_open(&rt, &a.io, sv[0]), "weft_io_open");
    die_on(weft_io_open(&rt, &b.io, sv[1]), "weft_io_open");
    weft_task ta, tb;
    die_on(weft_task_spawn(&rt, player_fn, &a, &ta), "spawn");
    die_on(weft_task_spawn(&rt, player_fn, &b, &tb), "spawn");
    double t0 = bench_now();
    die_on(weft_runtime_run(&rt), "run");
    double t = bench_now() - t0;
    die_on(weft_task_result(&rt, ta), "player a");
    die_on(weft_task_result(&rt, tb), "player b");
    weft_io_close(&rt, &a.io);
    weft_io_close(&rt, &b.io);
    rt_close(&rt);
    return t * 1e9 / (double)trips;
}

int main(int argc, char **argv)
{
    long tasks = 100, yields = 20000, spawns = 200000, trips = 50000;
    for (int i = 1; i < argc; i++) {
        if (bench_opt_long(argc, argv, &i, "--tasks", 1, 1000000, &tasks)) continue;
        if (bench_opt_long(argc, argv, &i, "--yields", 0, 100000000, &yields)) continue;
        if (bench_opt_long(argc, argv, &i, "--spawns", 1, 100000000, &spawns)) continue;
        if (bench_opt_long(argc, argv, &i, "--trips", 1, 100000000, &trips)) continue;
        if (bench_opt_str(argc, argv, &i, "--trace", &trace_path)) continue;
        fprintf(stderr,
                "usage: %s [--tasks N] [--yields Y] [--spawns S] [--trips R] "
                "[--trace FILE]\n",
                argv[0]);
        return 2;
    }
    printf("hooks=%s\n", WEFT_TRACE_COMPILED ? "compiled-in" : "compiled-out");
    printf("tracing=%s\n", trace_path != NULL ? "on" : "off");
    printf("yield_ns=%.2f\n", bench_yields(tasks, yields));
    printf("spawn_ns=%.2f\n", bench_spawns(spawns));
    printf("trip_ns=%.1f\n", bench_trips(trips));
    return 0;
}
