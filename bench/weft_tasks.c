/*
 * weft_tasks: what a task costs (workload 5, weft only).
 *
 *   weft_tasks [--tasks N] [--yields Y] [--rounds R]
 *
 * Three measurements, each on a fresh runtime, printed as one RESULT line (the keys scripts/bench
 * reads first, then more):
 *
 *   spawn_ns        N tasks (default 1 000 000) are spawned, all alive at once, then the loop runs
 *                   them: each is polled, suspends once (it queues itself again and yields), is
 *                   polled again and finishes. Wall time from the first spawn to the last
 *                   completion, per task: spawn + first poll + completion, and the one resume
 *                   in between.
 *   bytes_per_task  the growth of the process's anonymous memory (RssAnon) while the N tasks are
 *                   alive, minus their frames (which the program allocated and touched before),
 *                   per task: what the runtime keeps per task beyond its frame. record_bytes is
 *                   the runtime's own figure for one task record (weft_runtime_get_stats).
 *   resume_ns       two tasks pass an int back and forth through two channels (weft/sync.h),
 *                   R round trips (default 1 000 000); each round trip resumes each task once,
 *                   so this is the round trip's time / 2: the cost of a resume that a channel
 *                   operation caused. pingpong_ns is the round trip.
 *   yield_ns        one task yields Y times (default 4 000 000): the cost of a resume with
 *                   nothing else in it (queue, poll, suspend).
 *
 * Times are this thread's CPU time (CLOCK_THREAD_CPUTIME_ID), so that other processes sharing
 * the core do not count; cpu_s and rss_kb are the whole process's, from getrusage. Every loop is
 * bounded by its count.
 */
#define _GNU_SOURCE
#include "bench_common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "weft/runtime.h"
#include "weft/sync.h"

/* ---- measuring ------------------------------------------------------------------------------ */

/*
 * This thread's CPU time in seconds. The machine is shared and noisy: CPU time leaves out the
 * moments another process had the core, and keeps what the work itself costs, page faults of
 * growing tables included.
 */
static double cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* RssAnon of this process in bytes (heap and anonymous mappings: not code, not files). */
static long rss_anon_bytes(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kb = -1;
    while (f != NULL && fgets(line, sizeof line, f) != NULL)
        if (sscanf(line, "RssAnon: %ld kB", &kb) == 1) break;
    if (f != NULL) fclose(f);
    return kb * 1024;
}

static void die_on(int r, const char *what)
{
    if (r >= 0) return;
    fprintf(stderr, "weft_tasks: %s: %s\n", what, weft_strerror(r));
    exit(1);
}

/* ---- 1. spawn, poll, suspend once, finish --------------------------------------------------- */

/* The smallest frame a task can have: its resume point. */
struct once {
    weft_co co;
};

static int once(void *frame, weft_cx *cx)
{
    struct once *f = frame;
    WEFT_BEGIN(&f->co);
    WEFT_TASK_YIELD(&f->co, cx); /* suspend once: queued again behind every other task */
    WEFT_END(&f->co, 0);
}

struct spawn_result {
    double ns_per_task;
    double bytes_per_task;
    size_t record_bytes;
};

static struct spawn_result measure_spawn(long n)
{
    struct once *frames = malloc((size_t)n * sizeof *frames);
    if (frames == NULL) bench_die("malloc");
    /* Touched now, so not counted below. Not with zeros: a compiler may turn malloc + memset 0
     * into a calloc, whose fresh pages stay untouched until the spawns write them. Spawning
     * resets each frame's weft_co anyway. */
    memset(frames, 0x5a, (size_t)n * sizeof *frames);
    weft_runtime rt;
    die_on(weft_runtime_init(&rt), "runtime");

    long anon0 = rss_anon_bytes();
    double t0 = cpu_now();
    for (long i = 0; i < n; i++)
        die_on(weft_task_spawn(&rt, once, &frames[i], NULL), "spawn");
    double t1 = cpu_now();
    long anon1 = rss_anon_bytes(); /* all n alive; reading /proc is not timed */
    double t2 = cpu_now();
    die_on(weft_runtime_run(&rt), "run");
    double t3 = cpu_now();

    weft_runtime_stats st;
    weft_runtime_get_stats(&rt, &st);
    die_on(weft_runtime_close(&rt), "close");
    free(frames);
    struct spawn_result res = {
        .ns_per_task = ((t1 - t0) + (t3 - t2)) * 1e9 / (double)n,
        .bytes_per_task = (double)(anon1 - anon0) / (double)n,
        .record_bytes = st.task_bytes,
    };
    return res;
}

/* ---- 2. one task yielding ------------------------------------------------------------------- */

struct yielder {
    weft_co co;
    long left;
};

static int yielder(void *frame, weft_cx *cx)
{
    struct yielder *f = frame;
    WEFT_BEGIN(&f->co);
    while (f->left-- > 0)
        WEFT_TASK_YIELD(&f->co, cx);
    WEFT_END(&f->co, 0);
}

static double measure_yield(long yields)
{
    weft_runtime rt;
    die_on(weft_runtime_init(&rt), "runtime");
    struct yielder y = {.left = yields};
    double t0 = cpu_now();
    die_on(weft_runtime_block_on(&rt, yielder, &y), "yielder");
    double t1 = cpu_now();
    die_on(weft_runtime_close(&rt), "close");
    return (t1 - t0) * 1e9 / (double)yields;
}

/* ---- 3. ping-pong through two channels ------------------------------------------------------ */

struct player {
    weft_co co;
    weft_chan *in, *out;
    long rounds; /* round trips left */
    int ball;
    int r;
    bool serves; /* sends first */
};

static int player(void *frame, weft_cx *cx)
{
    struct player *f = frame;
    WEFT_BEGIN(&f->co);
    while (f->rounds-- > 0) {
        if (f->serves) {
            WEFT_AWAIT(&f->co, f->r = weft_chan_send(f->out, &f->ball, cx));
            if (f->r < 0) break;
        }
        WEFT_AWAIT(&f->co, f->r = weft_chan_recv(f->in, &f->ball, cx));
        if (f->r < 0) break;
        f->ball++;
        if (!f->serves) {
            WEFT_AWAIT(&f->co, f->r = weft_chan_send(f->out, &f->ball, cx));
            if (f->r < 0) break;
        }
    }
    WEFT_END(&f->co, f->r < 0 ? f->r : 0);
}

static double measure_pingpong(long rounds)
{
    weft_runtime rt;
    die_on(weft_runtime_init(&rt), "runtime");
    int ping_buf[1], pong_buf[1];
    weft_chan ping, pong;
    die_on(weft_chan_init(&ping, &rt, ping_buf, sizeof ping_buf[0], 1), "channel");
    die_on(weft_chan_init(&pong, &rt, pong_buf, sizeof pong_buf[0], 1), "channel");
    struct player a = {.in = &pong, .out = &ping, .rounds = rounds, .serves = true};
    struct player b = {.in = &ping, .out = &pong, .rounds = rounds};
    weft_task ta, tb;
    die_on(weft_task_spawn(&rt, player, &a, &ta), "spawn");
    die_on(weft_task_spawn(&rt, player, &b, &tb), "spawn");
    double t0 = cpu_now();
    die_on(weft_runtime_run(&rt), "run");
    double t1 = cpu_now();
    die_on(weft_task_result(&rt, ta), "player a");
    die_on(weft_task_result(&rt, tb), "player b");
    if (a.ball != 2 * rounds) {
        fprintf(stderr, "weft_tasks: the ball came back %d times, not %ld\n", a.ball, 2 * rounds);
        exit(1);
    }
    weft_chan_destroy(&ping);
    weft_chan_destroy(&pong);
    die_on(weft_runtime_close(&rt), "close");
    return (t1 - t0) * 1e9 / (double)rounds;
}

/* ---- main ------------------------------------------------------------------------------------ */

int main(int argc, char **argv)
{
    struct bench_tasks_opts o = {.tasks = 1000000, .yields = 4000000, .rounds = 1000000};
    bench_tasks_parse(argc, argv, &o);
    long tasks = o.tasks, yields = o.yields, rounds = o.rounds;
    struct spawn_result s = measure_spawn(tasks);
    double yield_ns = measure_yield(yields);
    double pingpong_ns = measure_pingpong(rounds);

    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    double cpu = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
                 (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
    printf("RESULT name=weft_tasks tasks=%ld spawn_ns=%.1f resume_ns=%.1f bytes_per_task=%.1f "
           "cpu_s=%.3f rss_kb=%ld record_bytes=%zu yield_ns=%.1f pingpong_ns=%.1f yields=%ld "
           "rounds=%ld\n",
           tasks, s.ns_per_task, pingpong_ns / 2, s.bytes_per_task, cpu, ru.ru_maxrss,
           s.record_bytes, yield_ns, pingpong_ns, yields, rounds);
    return 0;
}
