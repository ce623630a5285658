/*
 * 06_pipeline — the idea: tasks talk through channels, and a bounded channel is back-pressure.
 *
 *     producer --jobs--> worker x N --results--> consumer
 *
 * The producer sends numbers into `jobs` as fast as it can; when the channel is full its send
 * suspends until a worker takes one, so memory stays bounded however slow the workers are. Each
 * worker counts the Collatz steps of its number and sends the answer into `results`. The
 * consumer adds them up, waiting with a select (weft/select.h) for whichever comes first: the
 * next result, an idle timeout (no result for a second: something is stuck), or Ctrl-C.
 *
 * Shutting down is a chain of closes, no flags: the producer closes `jobs` when done; each
 * worker gets WEFT_ECLOSED once `jobs` is drained and leaves, counting itself out of a wait
 * group; the closer task, waiting on that group, closes `results`; the consumer gets
 * WEFT_ECLOSED after the last result and prints the totals.
 *
 * Usage: 06_pipeline [ITEMS] [WORKERS]   (default 100000 items, 4 workers; at most 100000000
 *        items and 64 workers)
 */
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <weft/runtime.h>
#include <weft/select.h>
#include <weft/signal.h>
#include <weft/sync.h>

#define CAP          64          /* items each channel holds */
#define IDLE_TIMEOUT WEFT_SEC(1) /* the consumer gives up after this long without a result */
#define MAX_WORKERS  64
#define MAX_ITEMS    100000000 /* far from UINT32_MAX: the loops over 1..items stop at items + 1 */

struct result {
    uint32_t n;     /* the number */
    uint32_t steps; /* its Collatz steps */
};

/* What every task of the pipeline shares. */
struct pipeline {
    uint32_t items;
    weft_chan jobs, results;
    uint32_t job_buf[CAP];
    struct result result_buf[CAP];
    weft_waitgroup workers;
    weft_signal sigint;
};

/* Steps of the Collatz sequence from n down to 1: the "work". */
static uint32_t collatz(uint64_t n)
{
    uint32_t steps = 0;
    while (n > 1 && steps < 100000) {
        n = n % 2 ? 3 * n + 1 : n / 2;
        steps++;
    }
    return steps;
}

/* ---- producer ------------------------------------------------------------------------------- */

struct producer {
    weft_co co;
    struct pipeline *p;
    uint32_t n;
    int r;
    unsigned full_waits; /* polls that found `jobs` full: back-pressure at work */
};

static int send_job(struct producer *f, weft_cx *cx)
{
    int r = weft_chan_send(&f->p->jobs, &f->n, cx);
    if (r == WEFT_PENDING && weft_chan_len(&f->p->jobs) == CAP) f->full_waits++;
    return r;
}

static int producer(void *frame, weft_cx *cx)
{
    struct producer *f = frame;
    WEFT_BEGIN(&f->co);
    for (f->n = 1; f->n <= f->p->items; f->n++) {
        WEFT_AWAIT(&f->co, f->r = send_job(f, cx));
        if (f->r < 0) break; /* closed: the consumer gave up */
    }
    weft_chan_close(&f->p->jobs);
    WEFT_END(&f->co, 0);
}

/* ---- workers, and the closer that waits for them -------------------------------------------- */

struct worker {
    weft_co co;
    struct pipeline *p;
    uint32_t job;
    struct result out;
    int r;
};

static int worker(void *frame, weft_cx *cx)
{
    struct worker *f = frame;
    WEFT_BEGIN(&f->co);
    for (;;) {
        WEFT_AWAIT(&f->co, f->r = weft_chan_recv(&f->p->jobs, &f->job, cx));
        if (f->r < 0) break; /* WEFT_ECLOSED: no more jobs */
        f->out = (struct result){f->job, collatz(f->job)};
        WEFT_AWAIT(&f->co, f->r = weft_chan_send(&f->p->results, &f->out, cx));
        if (f->r < 0) break;
    }
    weft_waitgroup_done(&f->p->workers);
    WEFT_END(&f->co, 0);
}

struct closer {
    weft_co co;
    struct pipeline *p;
    int r;
};

static int closer(void *frame, weft_cx *cx)
{
    struct closer *f = frame;
    WEFT_BEGIN(&f->co);
    WEFT_AWAIT(&f->co, f->r = weft_waitgroup_wait(&f->p->workers, cx));
    weft_chan_close(&f->p->results);
    WEFT_END(&f->co, f->r);
}

/* ---- consumer ------------------------------------------------------------------------------- */

struct consumer {
    weft_co co;
    struct pipeline *p;
    weft_select sel;
    struct result res;
    int64_t idle_deadline;
    uint64_t count, sum;
};

enum { GOT_RESULT, IDLE, INTERRUPTED };

static int consumer(void *frame, weft_cx *cx)
{
    struct consumer *f = frame;
    WEFT_BEGIN(&f->co);
    for (;;) {
        f->idle_deadline = weft_deadline_in(IDLE_TIMEOUT);
        /* Cases are tried in order: Ctrl-C first, or a never-empty channel would starve it. */
        WEFT_SELECT(&f->co, &f->sel,
                    weft_select_case(&f->sel, INTERRUPTED, weft_signal_wait(&f->p->sigint, cx)) ||
                        weft_select_case(&f->sel, GOT_RESULT,
                                         weft_chan_recv(&f->p->results, &f->res, cx)) ||
                        weft_select_case(&f->sel, IDLE, weft_sleep_until(f->idle_deadline, cx)));
        if (f->sel.which != GOT_RESULT || f->sel.result < 0) break;
        f->count++;
        f->sum += f->res.steps;
    }
    if (f->sel.which == GOT_RESULT) WEFT_RETURN(&f->co, 0); /* closed: all results are in */
    printf("consumer: %s, stopping early\n",
           f->sel.which == IDLE ? "no result for a second" : "interrupted");
    weft_chan_close(&f->p->jobs); /* the producer stops; workers drain and leave */
    weft_chan_close(&f->p->results);
    WEFT_END(&f->co, 1);
}

/* ---- main ----------------------------------------------------------------------------------- */

static int setup(weft_runtime *rt, struct pipeline *p)
{
    const int sigs[] = {SIGINT};
    if (weft_chan_init(&p->jobs, rt, p->job_buf, sizeof p->job_buf[0], CAP) < 0 ||
        weft_chan_init(&p->results, rt, p->result_buf, sizeof p->result_buf[0], CAP) < 0 ||
        weft_waitgroup_init(&p->workers, rt) < 0 || weft_signal_open(rt, &p->sigint, sigs, 1) < 0)
        return -1;
    return 0;
}

static void teardown(weft_runtime *rt, struct pipeline *p)
{
    weft_signal_close(rt, &p->sigint);
    weft_waitgroup_destroy(&p->workers);
    weft_chan_destroy(&p->results);
    weft_chan_destroy(&p->jobs);
}

/* Argument `what`: a whole number from lo to hi. Returns false after saying what is wrong. */
static bool parse_count(const char *what, const char *arg, long lo, long hi, long *out)
{
    char *end;
    errno = 0; /* strtol reports an overflow only there */
    *out = strtol(arg, &end, 10);
    if (end != arg && *end == '\0' && errno == 0 && *out >= lo && *out <= hi) return true;
    fprintf(stderr, "%s: '%s' is not a whole number from %ld to %ld\n", what, arg, lo, hi);
    return false;
}

int main(int argc, char **argv)
{
    static struct pipeline p;
    static struct worker workers[MAX_WORKERS];
    long items = 100000, nworkers = 4;
    if (argc > 3) fprintf(stderr, "'%s': one argument too many\n", argv[3]);
    if (argc > 3 || (argc > 1 && !parse_count("ITEMS", argv[1], 1, MAX_ITEMS, &items)) ||
        (argc > 2 && !parse_count("WORKERS", argv[2], 1, MAX_WORKERS, &nworkers))) {
        fprintf(stderr, "usage: %s [ITEMS] [WORKERS]   (default 100000 items, 4 workers)\n",
                argv[0]);
        return 2;
    }
    p.items = (uint32_t)items;

    weft_runtime rt;
    if (weft_runtime_init(&rt) < 0 || setup(&rt, &p) < 0) {
        fprintf(stderr, "06_pipeline: setup failed\n");
        return 1;
    }
    struct producer prod = {.p = &p};
    struct closer clo = {.p = &p};
    struct consumer cons = {.p = &p};
    weft_task_spawn(&rt, producer, &prod, NULL);
    weft_waitgroup_add(&p.workers, (size_t)nworkers);
    for (long i = 0; i < nworkers; i++) {
        workers[i].p = &p;
        weft_task_spawn(&rt, worker, &workers[i], NULL);
    }
    weft_task_spawn(&rt, closer, &clo, NULL);
    weft_task_spawn(&rt, consumer, &cons, NULL);

    int64_t start = weft_time_now();
    int r = weft_runtime_run(&rt);
    double secs = (double)(weft_time_now() - start) / 1e9;

    uint64_t expect = 0;
    for (uint32_t n = 1; n <= p.items; n++)
        expect += collatz(n);
    printf("pipeline: %llu items through %ld workers in %.1f ms (%.0f items/s)\n",
           (unsigned long long)cons.count, nworkers, secs * 1e3,
           secs > 0 ? (double)cons.count / secs : 0.0);
    printf("producer: waited for room %u times (channels of %d)\n", prod.full_waits, CAP);
    bool ok = r == 0 && cons.count == p.items && cons.sum == expect;
    printf("checksum: %s\n", ok ? "ok" : "MISMATCH");
    teardown(&rt, &p);
    return weft_runtime_close(&rt) == 0 && ok ? 0 : 1;
}
