/*
 * Random schedules over the wait queues (src/runtime/waitq.c, ext.h, sync.c). A fast slot names
 * its waiter by task record, woken without a generation check, on the promise that no task
 * outlives its place there; a turn must never be stranded. Both are hard to reach by hand in every
 * combination, so here workers pick a random operation on every poll — receive, send, a select of
 * two, a receive with a deadline, a notification, a mutex, nothing the queues see, cancelling a
 * random task (itself included) — and their cleanup blocks pick one too (a receive that may
 * park, a cancel: nested polls). Between passes the driver wakes, sends, receives, cancels and
 * respawns (reusing records), destroys and re-opens a channel (reusing queue records), and parks
 * for timers. Once nothing is ready, no task may wait to receive from a channel holding items or
 * to send to one with room; items are counted in and out; at the end nothing stays registered.
 * Run under ASan, a woken record that was freed or reused is an error of its own.
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "sync_test.h"

enum { CHANS = 2, CAP_MAX = 3, OPS = 40 };

/* What the workers share: the objects they wait on, and the item count. */
struct world {
    weft_runtime *rt;
    weft_chan ch[CHANS];
    int storage[CHANS][CAP_MAX];
    weft_notify note;
    weft_mutex mutex;
    weft_task *tasks;
    size_t ntasks;
    long in, out; /* items sent, items received (or dropped with a destroyed channel) */
    uint64_t rng;
};

static uint64_t next_rand(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

struct worker {
    weft_co co;
    struct world *w;
    uint64_t rng;
    weft_waker self;
    bool wants_recv[CHANS], wants_send[CHANS]; /* left pending by its last poll */
    int ops, item, result;
};

static int recv_on(struct worker *f, int c, int64_t deadline, weft_cx *cx)
{
    int r = weft_chan_recv_dl(&f->w->ch[c], &f->item, deadline, cx);
    if (r == 0) f->w->out++;
    if (r == WEFT_PENDING && deadline == WEFT_NO_DEADLINE) f->wants_recv[c] = true;
    return r;
}

static int send_on(struct worker *f, int c, weft_cx *cx)
{
    f->item = c;
    int r = weft_chan_send(&f->w->ch[c], &f->item, cx);
    if (r == 0) f->w->in++;
    if (r == WEFT_PENDING) f->wants_send[c] = true;
    return r;
}

/* One randomly chosen operation; WEFT_PENDING or its result. */
static int random_op(struct worker *f, weft_cx *cx)
{
    struct world *w = f->w;
    f->self = cx->waker;
    memset(f->wants_recv, 0, sizeof f->wants_recv);
    memset(f->wants_send, 0, sizeof f->wants_send);
    uint64_t pick = next_rand(&f->rng);
    int c = (int)(pick / 16 % CHANS), r;
    switch (pick % 10) {
    case 0:
        return recv_on(f, c, WEFT_NO_DEADLINE, cx);
    case 1:
        return send_on(f, c, cx);
    case 2: /* a select of two receives */
        r = recv_on(f, 0, WEFT_NO_DEADLINE, cx);
        return r == WEFT_PENDING ? recv_on(f, 1, WEFT_NO_DEADLINE, cx) : r;
    case 3: /* a select of a send and a receive */
        r = send_on(f, 0, cx);
        return r == WEFT_PENDING ? recv_on(f, 1, WEFT_NO_DEADLINE, cx) : r;
    case 4: /* due now, or in up to a millisecond */
        return recv_on(f, c, weft_time_now() + (int64_t)(pick / 64 % 3) * 500000 - 1, cx);
    case 5:
        return weft_notify_wait(&w->note, cx);
    case 6:
        r = weft_mutex_lock(&w->mutex, cx);
        if (r == 0) assert_int_equal(weft_mutex_unlock(&w->mutex), 0);
        return r;
    case 7:
        weft_task_cancel(w->rt, w->tasks[pick / 64 % w->ntasks]);
        return 0;
    default:
        return WEFT_PENDING; /* waits on nothing: the driver wakes it */
    }
}

/* The cleanup block's operation: the same kinds, inside a cancel's poll. */
static void random_cleanup(struct worker *f, weft_cx *cx)
{
    uint64_t pick = next_rand(&f->rng);
    switch (pick % 4) {
    case 0:
        (void)recv_on(f, 1, WEFT_NO_DEADLINE, cx); /* may take a fast slot as it ends */
        break;
    case 1:
        (void)send_on(f, 0, cx);
        break;
    case 2:
        weft_task_cancel(f->w->rt, f->w->tasks[pick / 4 % f->w->ntasks]);
        break;
    default:
        weft_notify_one(&f->w->note);
        break;
    }
}

static int worker(void *frame, weft_cx *cx)
{
    struct worker *f = frame;
    WEFT_BEGIN(&f->co);
    while (f->ops++ < OPS) {
        WEFT_AWAIT(&f->co, f->result = random_op(f, cx));
        if (f->result == WEFT_ECLOSED) break;
    }
    WEFT_ON_CANCEL(&f->co);
    random_cleanup(f, cx);
    WEFT_END(&f->co, 0);
}

static void spawn(struct world *w, struct worker *frames, size_t i)
{
    frames[i] = (struct worker){.w = w, .rng = next_rand(&w->rng) | 1};
    assert_int_equal(weft_task_spawn(w->rt, worker, &frames[i], &w->tasks[i]), 0);
}

static bool live(struct world *w, size_t i)
{
    weft_task_info info;
    return weft_task_inspect(w->rt, w->tasks[i], &info) == 0 && info.state != WEFT_TASK_DONE;
}

static void chan_open(struct world *w, int c)
{
    size_t cap = 1 + next_rand(&w->rng) % CAP_MAX;
    assert_int_equal(weft_chan_init(&w->ch[c], w->rt, w->storage[c], sizeof(int), cap), 0);
}

/* Runs until nothing is ready, then checks that no waiter was forgotten and no item lost. */
static void settle_and_check(struct world *w, struct worker *frames)
{
    for (int k = 0; k < 100000 && weft_runtime_run_ready(w->rt) != 0; k++) {
    }
    long held = 0;
    for (int c = 0; c < CHANS; c++) {
        size_t len = weft_chan_len(&w->ch[c]);
        held += (long)len;
        for (size_t i = 0; i < w->ntasks; i++) {
            if (!live(w, i)) continue;
            if (frames[i].wants_recv[c]) assert_int_equal(len, 0);
            if (frames[i].wants_send[c]) assert_int_equal(len, w->ch[c].cap);
        }
    }
    assert_int_equal(w->in - w->out, held);
}

/* One of the driver's random moves between passes. */
static void random_move(struct world *w, struct worker *frames)
{
    uint64_t pick = next_rand(&w->rng);
    size_t i = (size_t)(pick / 16 % w->ntasks);
    int c = (int)(pick / 8 % CHANS), item = 7;
    switch (pick % 10) {
    case 0:
    case 1:
        if (live(w, i)) weft_waker_wake(w->rt, frames[i].self);
        break;
    case 2:
        if (weft_chan_try_send(&w->ch[c], &item) == 0) w->in++;
        break;
    case 3:
        if (weft_chan_try_recv(&w->ch[c], &item) == 0) w->out++;
        break;
    case 4:
        weft_task_cancel(w->rt, w->tasks[i]);
        break;
    case 5:
        weft_notify_one(&w->note);
        break;
    case 6:
        if (pick / 1024 % 4 != 0) break;
        w->out += (long)weft_chan_len(&w->ch[c]); /* destroyed with the channel */
        weft_chan_destroy(&w->ch[c]);
        chan_open(w, c);
        break;
    case 7: {
        int r = weft_runtime_park(w->rt); /* for a deadline; -EDEADLK if none is armed */
        assert_true(r == 0 || r == -EDEADLK);
        break;
    }
    default: /* a finished task is collected and replaced: its record is reused */
        if (!live(w, i)) {
            (void)weft_task_result(w->rt, w->tasks[i]);
            spawn(w, frames, i);
        }
        break;
    }
}

/* Ends every task (channels closed, everyone woken) and checks that nothing stays registered. */
static void wind_down(struct world *w, struct worker *frames)
{
    for (int c = 0; c < CHANS; c++)
        weft_chan_close(&w->ch[c]);
    for (int k = 0; k < 200; k++) {
        weft_notify_all(&w->note);
        for (size_t i = 0; i < w->ntasks; i++)
            if (live(w, i)) weft_waker_wake(w->rt, frames[i].self);
        weft_runtime_run_ready(w->rt);
    }
    for (size_t i = 0; i < w->ntasks; i++) {
        assert_false(live(w, i));
        (void)weft_task_result(w->rt, w->tasks[i]);
    }
    assert_int_equal(sync_stats(w->rt).waiters, 0);
    for (int c = 0; c < CHANS; c++)
        weft_chan_destroy(&w->ch[c]);
    weft_notify_destroy(&w->note);
    weft_mutex_destroy(&w->mutex);
}

static void run_schedule(weft_runtime *rt, uint64_t seed, size_t ntasks, int steps)
{
    struct world w = {.rt = rt, .ntasks = ntasks, .rng = seed * 0x9E3779B97F4A7C15ull | 1};
    struct worker *frames = calloc(ntasks, sizeof *frames);
    w.tasks = calloc(ntasks, sizeof *w.tasks);
    assert_non_null(frames);
    assert_non_null(w.tasks);
    for (int c = 0; c < CHANS; c++)
        chan_open(&w, c);
    assert_int_equal(weft_notify_init(&w.note, rt), 0);
    assert_int_equal(weft_mutex_init(&w.mutex, rt), 0);
    for (size_t i = 0; i < ntasks; i++)
        spawn(&w, frames, i);
    for (int step = 0; step < steps; step++) {
        settle_and_check(&w, frames);
        int moves = 1 + (int)(next_rand(&w.rng) % 3); /* several: a task may be cancelled READY */
        for (int m = 0; m < moves; m++)
            random_move(&w, frames);
    }
    wind_down(&w, frames);
    free(w.tasks);
    free(frames);
}

/* Eight tasks, many seeds: small queues, every border between the fast slot and the nodes. */
static void few_tasks_strand_nothing(void **state)
{
    for (uint64_t seed = 1; seed <= 150; seed++)
        run_schedule(rt_of(state), seed, 8, 300);
}

/* Three hundred tasks: more slots than one chunk of per-task wait state, long queues. */
static void many_tasks_strand_nothing(void **state)
{
    for (uint64_t seed = 1; seed <= 4; seed++)
        run_schedule(rt_of(state), seed, 300, 1500);
}

int main(void)
{
    alarm(120); /* a schedule that never settles would hang: make it a failure instead */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(few_tasks_strand_nothing, rt_setup, sync_teardown),
        cmocka_unit_test_setup_teardown(many_tasks_strand_nothing, rt_setup, sync_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
