/*
 * bare_tasks: the floor under workload 5 — weft_tasks' three measurements made by a hand-written
 * loop with no runtime at all, as epoll_server is the floor under weft's server.
 *
 *   bare_tasks [--tasks N] [--yields Y] [--rounds R]
 *
 * A task here is a hand-written state machine (a switch on its resume point) whose header — the
 * poll function, the ready queue's link, the resume point — is the first member of its frame.
 * The loop pops the oldest ready task and calls its poll function; a task that waits puts its own
 * pointer where the thing it waits for will find it. A channel is a ring of ints with one waiting
 * receiver and one waiting sender at most, woken by pointer.
 *
 * That is everything a resume needs when nothing can go wrong, and nothing more: no handle that
 * can go stale (a generation), no cancellation, no timer or deadline, no select, no fairness
 * among several waiters (a turn), no budget, no trace hook, no record of where a task waits. The
 * figures are therefore a floor, not a competitor: weft's ratios to them say what those features
 * cost. The measurements and the RESULT line's keys are weft_tasks' (see its header); bytes per
 * task is the header's size, record_bytes (it lives in the frame: nothing else is allocated).
 * Every loop is bounded by its count.
 */
#define _GNU_SOURCE
#include "bench_common.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* The state machine below falls into its case labels on purpose; say so where the compiler
 * listens (as weft's coroutine macros do). */
#if defined(__has_attribute)
#if __has_attribute(fallthrough)
#define FALLTHROUGH __attribute__((fallthrough))
#endif
#endif
#ifndef FALLTHROUGH
#define FALLTHROUGH ((void)0)
#endif

/* This thread's CPU time in seconds (as weft_tasks measures). */
static double cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- the loop ------------------------------------------------------------------------------- */

struct task;
typedef bool (*poll_fn)(struct task *t); /* true: finished */

/* A task's header, the first member of its frame. */
struct task {
    poll_fn poll;
    struct task *next; /* ready queue link */
    int lc;            /* resume point: 0 at the start */
};

/* The ready queue: FIFO, linked through the tasks. */
static struct task *ready_head, *ready_tail;

static void ready_push(struct task *t)
{
    t->next = NULL;
    if (ready_tail != NULL)
        ready_tail->next = t;
    else
        ready_head = t;
    ready_tail = t;
}

/* Polls ready tasks until none is left. Returns how many finished. */
static long run(void)
{
    long done = 0;
    while (ready_head != NULL) {
        struct task *t = ready_head;
        ready_head = t->next;
        if (ready_head == NULL) ready_tail = NULL;
        if (t->poll(t)) done++;
    }
    return done;
}

/* ---- 1. spawn, poll, suspend once, finish --------------------------------------------------- */

struct once {
    struct task t;
};

static bool once(struct task *t)
{
    if (t->lc == 1) return true;
    t->lc = 1;
    ready_push(t); /* suspend once: queued again behind every other task */
    return false;
}

static double measure_spawn(long n)
{
    struct once *frames = malloc((size_t)n * sizeof *frames);
    if (frames == NULL) bench_die("malloc");
    memset(frames, 0x5a, (size_t)n * sizeof *frames); /* touched now, as weft_tasks does */
    double t0 = cpu_now();
    for (long i = 0; i < n; i++) {
        frames[i].t.poll = once;
        frames[i].t.lc = 0;
        ready_push(&frames[i].t);
    }
    long done = run();
    double t1 = cpu_now();
    free(frames);
    if (done != n) {
        fprintf(stderr, "bare_tasks: %ld of %ld tasks finished\n", done, n);
        exit(1);
    }
    return (t1 - t0) * 1e9 / (double)n;
}

/* ---- 2. one task yielding ------------------------------------------------------------------- */

struct yielder {
    struct task t;
    long left;
};

static bool yielder(struct task *t)
{
    struct yielder *f = (struct yielder *)t;
    if (f->left-- <= 0) return true;
    ready_push(t);
    return false;
}

static double measure_yield(long yields)
{
    struct yielder y = {.t = {.poll = yielder}, .left = yields};
    ready_push(&y.t);
    double t0 = cpu_now();
    run();
    double t1 = cpu_now();
    return (t1 - t0) * 1e9 / (double)yields;
}

/* ---- 3. ping-pong through two channels ------------------------------------------------------ */

struct chan {
    int *buf;
    size_t cap, head, len;
    struct task *receiver, *sender; /* waiting, or NULL */
};

/* 0: sent; -1: full, t waits (woken when there is room). */
static int chan_send(struct chan *ch, int v, struct task *t)
{
    if (ch->len == ch->cap) {
        ch->sender = t;
        return -1;
    }
    size_t k = ch->head + ch->len;
    ch->buf[k >= ch->cap ? k - ch->cap : k] = v;
    ch->len++;
    if (ch->receiver != NULL) {
        ready_push(ch->receiver);
        ch->receiver = NULL;
    }
    return 0;
}

/* 0: received into *v; -1: empty, t waits (woken when an item comes). */
static int chan_recv(struct chan *ch, int *v, struct task *t)
{
    if (ch->len == 0) {
        ch->receiver = t;
        return -1;
    }
    *v = ch->buf[ch->head];
    ch->head = ch->head + 1 == ch->cap ? 0 : ch->head + 1;
    ch->len--;
    if (ch->sender != NULL) {
        ready_push(ch->sender);
        ch->sender = NULL;
    }
    return 0;
}

struct player {
    struct task t;
    struct chan *in, *out;
    long rounds; /* round trips left */
    int ball;
    bool serves; /* sends first */
};

/* weft_tasks' player, as a hand-written state machine: 1 = at the first send, 2 = at the receive,
 * 3 = at the second send. */
static bool player(struct task *t)
{
    struct player *f = (struct player *)t;
    switch (t->lc) {
    case 0:
        for (;;) {
            if (f->rounds-- <= 0) return true;
            if (f->serves) {
                t->lc = 1;
                FALLTHROUGH;
            case 1:
                if (chan_send(f->out, f->ball, t) < 0) return false;
            }
            t->lc = 2;
            FALLTHROUGH;
        case 2:
            if (chan_recv(f->in, &f->ball, t) < 0) return false;
            f->ball++;
            if (!f->serves) {
                t->lc = 3;
                FALLTHROUGH;
            case 3:
                if (chan_send(f->out, f->ball, t) < 0) return false;
            }
        }
    }
    return true;
}

static double measure_pingpong(long rounds)
{
    int ping_buf[1], pong_buf[1];
    struct chan ping = {.buf = ping_buf, .cap = 1}, pong = {.buf = pong_buf, .cap = 1};
    struct player a = {
        .t = {.poll = player}, .in = &pong, .out = &ping, .rounds = rounds, .serves = true};
    struct player b = {.t = {.poll = player}, .in = &ping, .out = &pong, .rounds = rounds};
    ready_push(&a.t);
    ready_push(&b.t);
    double t0 = cpu_now();
    long done = run();
    double t1 = cpu_now();
    if (done != 2 || a.ball != 2 * rounds) {
        fprintf(stderr, "bare_tasks: the ball came back %d times, not %ld\n", a.ball, 2 * rounds);
        exit(1);
    }
    return (t1 - t0) * 1e9 / (double)rounds;
}

/* ---- main ------------------------------------------------------------------------------------ */

int main(int argc, char **argv)
{
    struct bench_tasks_opts o = {.tasks = 1000000, .yields = 4000000, .rounds = 1000000};
    bench_tasks_parse(argc, argv, &o);
    long tasks = o.tasks, yields = o.yields, rounds = o.rounds;
    double spawn_ns = measure_spawn(tasks);
    double yield_ns = measure_yield(yields);
    double pingpong_ns = measure_pingpong(rounds);
    printf("RESULT name=bare_tasks tasks=%ld spawn_ns=%.1f resume_ns=%.1f bytes_per_task=%zu "
           "record_bytes=%zu yield_ns=%.1f pingpong_ns=%.1f yields=%ld rounds=%ld\n",
           tasks, spawn_ns, pingpong_ns / 2, sizeof(struct task), sizeof(struct task), yield_ns,
           pingpong_ns, yields, rounds);
    return 0;
}
