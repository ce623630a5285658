/*
 * Tests of the executor (weft/runtime.h sections 2-4 and 8): block_on and run, spawn / join /
 * detach / cancel, wakers, generations, and introspection. Timers and I/O have their own files.
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "runtime_test.h"

/* ---------------------------------------------------------------------------------------------
 * Small coroutines used by several tests
 * ------------------------------------------------------------------------------------------- */

/*
 * Waits until someone wakes it `wakes` times (each poll after the first counts as one), with a
 * cleanup block that counts cancellations. `waker` receives its waker.
 */
struct sleeper {
    weft_co co;
    weft_waker waker;
    int wakes;
    int polls;
    int cleanups;
};

static int sleeper(void *frame, weft_cx *cx)
{
    struct sleeper *f = frame;
    f->polls++;
    WEFT_BEGIN(&f->co);
    f->waker = weft_cx_waker(cx);
    WEFT_WAIT_UNTIL(&f->co, f->polls > f->wakes);
    WEFT_ON_CANCEL(&f->co);
    f->cleanups++;
    WEFT_END(&f->co, 7);
}

/* The same without a cleanup block: cancelling it must still be safe. */
static int sleeper_bare(void *frame, weft_cx *cx)
{
    struct sleeper *f = frame;
    f->polls++;
    WEFT_BEGIN(&f->co);
    f->waker = weft_cx_waker(cx);
    WEFT_WAIT_UNTIL(&f->co, f->polls > f->wakes);
    WEFT_END(&f->co, 7);
}

/* ---------------------------------------------------------------------------------------------
 * block_on and run
 * ------------------------------------------------------------------------------------------- */

static void block_on_returns_the_root_result(void **state)
{
    struct rt_yielder y = {.n = 3, .result = 42};
    assert_int_equal(weft_runtime_block_on(rt_of(state), rt_yielder_fn, &y), 42);
    assert_int_equal(y.polls, 4);

    struct rt_yielder e = {.n = 0, .result = -EIO};
    assert_int_equal(weft_runtime_block_on(rt_of(state), rt_yielder_fn, &e), -EIO);
}

/* The root sees that nothing can ever wake it: -EDEADLK, not a hang. */
static void block_on_reports_a_deadlock(void **state)
{
    struct sleeper s = {.wakes = 1};
    assert_int_equal(weft_runtime_block_on(rt_of(state), sleeper, &s), -EDEADLK);
    assert_int_equal(s.cleanups, 1); /* the root was cancelled, its cleanup ran */
}

static void run_returns_when_every_task_finished(void **state)
{
    weft_runtime *rt = rt_of(state);
    struct rt_yielder ys[50];
    for (int i = 0; i < 50; i++) {
        ys[i] = (struct rt_yielder){.n = i % 7, .result = i};
        assert_int_equal(weft_task_spawn(rt, rt_yielder_fn, &ys[i], NULL), 0);
    }
    assert_int_equal(weft_runtime_task_count(rt), 50);
    assert_int_equal(weft_runtime_run(rt), 0);
    assert_int_equal(weft_runtime_task_count(rt), 0);
    for (int i = 0; i < 50; i++)
        assert_int_equal(ys[i].polls, i % 7 + 1);
    assert_int_equal(rt_stats(rt).done, 0); /* detached: nothing left to collect */
}

struct stopper {
    weft_co co;
};

static int stopper(void *frame, weft_cx *cx)
{
    struct stopper *f = frame;
    WEFT_BEGIN(&f->co);
    weft_runtime_stop(cx->rt);
    WEFT_TASK_YIELD(&f->co, cx);
    WEFT_END(&f->co, 0);
}

static void stop_makes_run_return_and_run_continues(void **state)
{
    weft_runtime *rt = rt_of(state);
    struct stopper s;
    assert_int_equal(weft_task_spawn(rt, stopper, &s, NULL), 0);
    assert_int_equal(weft_runtime_run(rt), 0);
    assert_int_equal(weft_runtime_task_count(rt), 1);
    assert_int_equal(weft_runtime_run(rt), 0);        /* stops again at once... */
    assert_int_equal(weft_runtime_task_count(rt), 0); /* ...but the yield was the last step */
}

/* ---------------------------------------------------------------------------------------------
 * spawn, join, detach
 * ------------------------------------------------------------------------------------------- */

struct joiner {
    weft_co co;
    struct rt_yielder kids[3];
    weft_task handles[3];
    int i, r, sum;
};

static int joiner(void *frame, weft_cx *cx)
{
    struct joiner *f = frame;
    WEFT_BEGIN(&f->co);
    for (f->i = 0; f->i < 3; f->i++) {
        f->kids[f->i] = (struct rt_yielder){.n = 3 - f->i, .result = 10 * (f->i + 1)};
        if (weft_task_spawn(cx->rt, rt_yielder_fn, &f->kids[f->i], &f->handles[f->i]) != 0)
            WEFT_RETURN(&f->co, -1);
    }
    for (f->i = 0; f->i < 3; f->i++) {
        WEFT_AWAIT(&f->co, f->r = weft_task_join(f->handles[f->i], cx));
        f->sum += f->r;
    }
    /* collected: the handles are stale now */
    if (weft_task_join(f->handles[0], cx) != -ESRCH) WEFT_RETURN(&f->co, -2);
    if (weft_task_join(weft_task_current(cx), cx) != -EDEADLK) WEFT_RETURN(&f->co, -3);
    WEFT_END(&f->co, f->sum);
}

static void join_collects_each_result(void **state)
{
    struct joiner j = {0};
    assert_int_equal(weft_runtime_block_on(rt_of(state), joiner, &j), 60);
    assert_int_equal(rt_stats(rt_of(state)).done, 0);
}

struct detacher {
    weft_co co;
    struct rt_yielder kid;
    weft_task t;
    int spins;
};

static int detacher(void *frame, weft_cx *cx)
{
    struct detacher *f = frame;
    WEFT_BEGIN(&f->co);
    f->kid = (struct rt_yielder){.n = 2, .result = 5};
    if (weft_task_spawn(cx->rt, rt_yielder_fn, &f->kid, &f->t) != 0) WEFT_RETURN(&f->co, -1);
    weft_task_detach(cx->rt, f->t);
    while (f->kid.polls < 3 && f->spins++ < 100)
        WEFT_TASK_YIELD(&f->co, cx);
    WEFT_TASK_YIELD(&f->co, cx);
    /* the kid finished and, detached, left nothing behind: only this task is alive */
    if (weft_runtime_task_count(cx->rt) != 1 || rt_stats(cx->rt).done != 0) WEFT_RETURN(&f->co, -2);
    if (weft_task_join(f->t, cx) != -ESRCH) WEFT_RETURN(&f->co, -3);
    WEFT_END(&f->co, f->kid.polls);
}

static void detached_tasks_free_themselves(void **state)
{
    struct detacher d = {0};
    assert_int_equal(weft_runtime_block_on(rt_of(state), detacher, &d), 3);
}

/* A frame the runtime allocates is freed when the task ends (ASan checks the "freed" part). */
static void spawn_new_allocates_and_frees_the_frame(void **state)
{
    weft_runtime *rt = rt_of(state);
    weft_task t;
    struct rt_yielder *y = weft_task_spawn_new(rt, rt_yielder_fn, sizeof *y, &t);
    assert_non_null(y);
    y->n = 2;
    y->result = 9;
    struct rt_yielder *d = weft_task_spawn_new(rt, rt_yielder_fn, sizeof *d, NULL);
    assert_non_null(d);
    assert_null(weft_task_spawn_new(rt, rt_yielder_fn, 1, NULL));
    assert_int_equal(weft_task_result(rt, t), -EAGAIN);
    assert_int_equal(weft_runtime_run(rt), 0);
    assert_int_equal(weft_task_result(rt, t), 9);
    assert_int_equal(weft_task_result(rt, t), -ESRCH);
}

/* ---------------------------------------------------------------------------------------------
 * Wakers
 * ------------------------------------------------------------------------------------------- */

struct waker_probe {
    weft_co co;
    struct sleeper s;
    weft_task t;
    size_t ready_after_two_wakes;
};

static int waker_probe(void *frame, weft_cx *cx)
{
    struct waker_probe *f = frame;
    WEFT_BEGIN(&f->co);
    f->s = (struct sleeper){.wakes = 1};
    if (weft_task_spawn(cx->rt, sleeper, &f->s, &f->t) != 0) WEFT_RETURN(&f->co, -1);
    WEFT_TASK_YIELD(&f->co, cx); /* the sleeper runs once and parks */
    weft_waker_wake(cx->rt, f->s.waker);
    weft_waker_wake(cx->rt, f->s.waker);
    f->ready_after_two_wakes = rt_stats(cx->rt).ready;
    WEFT_AWAIT(&f->co, weft_task_join(f->t, cx));
    weft_waker_wake(cx->rt, f->s.waker); /* finished: nothing happens */
    weft_waker_wake(cx->rt, WEFT_WAKER_NONE);
    WEFT_END(&f->co, 0);
}

static void double_wake_queues_once_and_finished_wake_is_a_no_op(void **state)
{
    struct waker_probe p = {0};
    assert_int_equal(weft_runtime_block_on(rt_of(state), waker_probe, &p), 0);
    assert_int_equal(p.ready_after_two_wakes, 1);
    assert_int_equal(p.s.polls, 2); /* first poll + exactly one wake-up */
    assert_int_equal(rt_stats(rt_of(state)).ready, 0);
}

/* ---------------------------------------------------------------------------------------------
 * Cancellation
 * ------------------------------------------------------------------------------------------- */

static void cancel_before_first_poll_never_runs_the_body(void **state)
{
    weft_runtime *rt = rt_of(state);
    struct sleeper s = {0};
    weft_task t;
    assert_int_equal(weft_task_spawn(rt, sleeper, &s, &t), 0);
    assert_int_equal(weft_task_cancel(rt, t), 1);
    assert_int_equal(weft_task_cancel(rt, t), 0); /* finished: harmless */
    assert_int_equal(weft_runtime_run(rt), 0);
    assert_int_equal(s.polls, 0);
    assert_int_equal(s.cleanups, 0);
    assert_int_equal(weft_task_result(rt, t), -ECANCELED);
    assert_int_equal(weft_task_cancel(rt, t), 0); /* stale: harmless */
}

/* Cancels a suspended task, with and without a joiner waiting for it. */
struct canceller {
    weft_co co;
    struct sleeper victim;
    weft_task t;
    int r, cancel_ret;
};

static int canceller(void *frame, weft_cx *cx)
{
    struct canceller *f = frame;
    WEFT_BEGIN(&f->co);
    f->victim = (struct sleeper){.wakes = 1000};
    if (weft_task_spawn(cx->rt, sleeper, &f->victim, &f->t) != 0) WEFT_RETURN(&f->co, -1);
    WEFT_TASK_YIELD(&f->co, cx);
    f->cancel_ret = weft_task_cancel(cx->rt, f->t);
    WEFT_AWAIT(&f->co, f->r = weft_task_join(f->t, cx));
    WEFT_END(&f->co, f->r);
}

static void cancel_runs_cleanup_at_the_suspension_point(void **state)
{
    struct canceller c = {0};
    assert_int_equal(weft_runtime_block_on(rt_of(state), canceller, &c), -ECANCELED);
    assert_int_equal(c.cancel_ret, 1);
    assert_int_equal(c.victim.polls, 2); /* the first poll and the cleanup poll */
    assert_int_equal(c.victim.cleanups, 1);
}

/* A task that joins `target` and returns what the join returned. */
struct join_frame {
    weft_co co;
    weft_task target;
    int r;
};

static int join_waiter(void *frame, weft_cx *cx)
{
    struct join_frame *f = frame;
    WEFT_BEGIN(&f->co);
    WEFT_AWAIT(&f->co, f->r = weft_task_join(f->target, cx));
    WEFT_END(&f->co, f->r);
}

/* The joiner is already waiting when the task is cancelled. */
struct join_then_cancel {
    weft_co co;
    weft_task victim, waiter;
    struct join_frame j;
    int r;
};

static int join_then_cancel(void *frame, weft_cx *cx)
{
    struct join_then_cancel *f = frame;
    WEFT_BEGIN(&f->co);
    struct sleeper *victim =
        weft_task_spawn_new(cx->rt, sleeper_bare, sizeof(struct sleeper), &f->victim);
    if (victim == NULL) WEFT_RETURN(&f->co, -1);
    victim->wakes = 1000; /* inputs go in before the task first runs */
    f->j.target = f->victim;
    if (weft_task_spawn(cx->rt, join_waiter, &f->j, &f->waiter) != 0) WEFT_RETURN(&f->co, -1);
    WEFT_TASK_YIELD(&f->co, cx); /* both park: the victim for ever, the joiner on the victim */
    if (weft_task_join(f->victim, cx) != -EBUSY) WEFT_RETURN(&f->co, -2); /* one joiner only */
    if (weft_task_cancel(cx->rt, f->victim) != 1) WEFT_RETURN(&f->co, -3);
    WEFT_AWAIT(&f->co, f->r = weft_task_join(f->waiter, cx));
    WEFT_END(&f->co, f->r);
}

static void a_waiting_joiner_sees_ECANCELED(void **state)
{
    struct join_then_cancel c = {0};
    assert_int_equal(weft_runtime_block_on(rt_of(state), join_then_cancel, &c), -ECANCELED);
}

struct self_cancel {
    weft_co co;
    int cleanups;
};

static int self_cancel(void *frame, weft_cx *cx)
{
    struct self_cancel *f = frame;
    WEFT_BEGIN(&f->co);
    weft_task_cancel(cx->rt, weft_task_current(cx));
    WEFT_TASK_YIELD(&f->co, cx);
    WEFT_RETURN(&f->co, 1); /* never reached */
    WEFT_ON_CANCEL(&f->co);
    f->cleanups++;
    WEFT_END(&f->co, 0);
}

static void a_task_can_cancel_itself(void **state)
{
    struct self_cancel s = {0};
    assert_int_equal(weft_runtime_block_on(rt_of(state), self_cancel, &s), -ECANCELED);
    assert_int_equal(s.cleanups, 1);
}

/* Polling a join again (a spurious wake-up) keeps the same joiner and still gets the result. */
struct double_join {
    weft_co co;
    struct sleeper victim;
    weft_task t;
    int r;
};

static int double_join(void *frame, weft_cx *cx)
{
    struct double_join *f = frame;
    WEFT_BEGIN(&f->co);
    f->victim = (struct sleeper){.wakes = 1};
    if (weft_task_spawn(cx->rt, sleeper, &f->victim, &f->t) != 0) WEFT_RETURN(&f->co, -1);
    WEFT_TASK_YIELD(&f->co, cx);
    if (weft_task_join(f->t, cx) != WEFT_PENDING) WEFT_RETURN(&f->co, -2);
    weft_waker_wake(cx->rt, f->victim.waker);
    WEFT_AWAIT(&f->co, f->r = weft_task_join(f->t, cx));
    WEFT_END(&f->co, f->r);
}

static void join_by_the_same_task_twice_is_fine(void **state)
{
    struct double_join d = {0};
    assert_int_equal(weft_runtime_block_on(rt_of(state), double_join, &d), 7);
}

/* A finished join leaves its joiner's waker in the slot's entry of the runtime's joiner table;
 * the next task in that slot must not look joined by it (the joiner is still alive here). */
struct rejoin {
    weft_co co;
    struct rt_yielder first, second;
    struct join_frame j;
    weft_task t1, t2, waiter;
    int r1, r;
};

static int rejoin(void *frame, weft_cx *cx)
{
    struct rejoin *f = frame;
    WEFT_BEGIN(&f->co);
    f->first = (struct rt_yielder){.n = 0, .result = 5};
    if (weft_task_spawn(cx->rt, rt_yielder_fn, &f->first, &f->t1) != 0) WEFT_RETURN(&f->co, -1);
    WEFT_AWAIT(&f->co, f->r1 = weft_task_join(f->t1, cx)); /* this task was t1's joiner */
    if (f->r1 != 5) WEFT_RETURN(&f->co, -2);
    f->second = (struct rt_yielder){.n = 1, .result = 6};
    if (weft_task_spawn(cx->rt, rt_yielder_fn, &f->second, &f->t2) != 0) WEFT_RETURN(&f->co, -1);
    if (f->t2.slot != f->t1.slot) WEFT_RETURN(&f->co, -3); /* the freed slot is reused first */
    f->j.target = f->t2;
    if (weft_task_spawn(cx->rt, join_waiter, &f->j, &f->waiter) != 0) WEFT_RETURN(&f->co, -1);
    WEFT_AWAIT(&f->co, f->r = weft_task_join(f->waiter, cx)); /* not -EBUSY: t2 has no joiner */
    WEFT_END(&f->co, f->r);
}

static void a_slot_reused_after_a_join_is_not_joined(void **state)
{
    struct rejoin f = {0};
    assert_int_equal(weft_runtime_block_on(rt_of(state), rejoin, &f), 6);
}

/* A chain of joins over more slots than a table chunk holds (256): each link spawns the next and
 * joins it at once, so every slot from 1 to CHAIN_LEN gets a joiner entry while it is the newest
 * slot, chunk borders included; the joiner table must cover each (ASan checks the bounds). */
#define CHAIN_LEN 600

struct chain;

struct chain_link {
    weft_co co;
    struct chain *chain;
    int i, r;
};

struct chain {
    weft_co co;
    struct chain_link links[CHAIN_LEN];
    weft_task t[CHAIN_LEN];
    int r;
};

static int chain_link(void *frame, weft_cx *cx);

/* Spawns link i (it is filled in before it first runs) and waits to join it. */
static int chain_join(struct chain *c, int i, weft_cx *cx)
{
    if (c->links[i].chain == NULL) {
        c->links[i] = (struct chain_link){.chain = c, .i = i};
        if (weft_task_spawn(cx->rt, chain_link, &c->links[i], &c->t[i]) != 0) return -1;
    }
    return weft_task_join(c->t[i], cx);
}

static int chain_link(void *frame, weft_cx *cx)
{
    struct chain_link *f = frame;
    WEFT_BEGIN(&f->co);
    if (f->i + 1 == CHAIN_LEN) WEFT_RETURN(&f->co, 1);
    WEFT_AWAIT(&f->co, f->r = chain_join(f->chain, f->i + 1, cx));
    WEFT_END(&f->co, f->r < 0 ? f->r : f->r + 1);
}

static int chain(void *frame, weft_cx *cx)
{
    struct chain *f = frame;
    WEFT_BEGIN(&f->co);
    WEFT_AWAIT(&f->co, f->r = chain_join(f, 0, cx));
    WEFT_END(&f->co, f->r);
}

static void joins_in_a_task_table_grown_past_a_chunk(void **state)
{
    struct chain *f = calloc(1, sizeof *f);
    assert_non_null(f);
    assert_int_equal(weft_runtime_block_on(rt_of(state), chain, f), CHAIN_LEN);
    assert_int_equal(rt_stats(rt_of(state)).done, 0);
    free(f);
}

/* A task detached while another waits to join it: the joiner is woken at once and its join
 * fails with -ESRCH (it must not wait for the detached task to finish, nor for ever). */
struct detach_joined {
    weft_co co;
    struct rt_yielder kid;
    struct join_frame j;
    weft_task kid_t, waiter;
    int r, kid_polls_then, spins;
};

static int detach_joined(void *frame, weft_cx *cx)
{
    struct detach_joined *f = frame;
    WEFT_BEGIN(&f->co);
    f->kid = (struct rt_yielder){.n = 50, .result = 3};
    if (weft_task_spawn(cx->rt, rt_yielder_fn, &f->kid, &f->kid_t) != 0) WEFT_RETURN(&f->co, -1);
    f->j.target = f->kid_t;
    if (weft_task_spawn(cx->rt, join_waiter, &f->j, &f->waiter) != 0) WEFT_RETURN(&f->co, -1);
    WEFT_TASK_YIELD(&f->co, cx); /* the waiter now waits to join the kid */
    weft_task_detach(cx->rt, f->kid_t);
    WEFT_AWAIT(&f->co, f->r = weft_task_join(f->waiter, cx));
    f->kid_polls_then = f->kid.polls;
    while (f->kid.polls <= f->kid.n && f->spins++ < 200) /* let the detached kid finish */
        WEFT_TASK_YIELD(&f->co, cx);
    WEFT_END(&f->co, f->r);
}

static void detaching_a_joined_task_wakes_its_joiner(void **state)
{
    struct detach_joined f = {0};
    assert_int_equal(weft_runtime_block_on(rt_of(state), detach_joined, &f), -ESRCH);
    assert_true(f.kid_polls_then <= f.kid.n); /* woken by the detach, not by the kid's end */
    assert_int_equal(f.kid.polls, f.kid.n + 1);
}

/* weft_task_spawn_new without a handle spawns a detached task: its record is freed when it
 * ends, with nothing left to collect. */
static void spawn_new_without_a_handle_leaves_nothing_to_collect(void **state)
{
    weft_runtime *rt = rt_of(state);
    struct rt_yielder *y = weft_task_spawn_new(rt, rt_yielder_fn, sizeof *y, NULL);
    assert_non_null(y);
    y->n = 1;
    assert_int_equal(weft_runtime_run(rt), 0);
    assert_int_equal(rt_stats(rt).done, 0);
}

/* ---------------------------------------------------------------------------------------------
 * Generations: a stale handle never touches the task now in its slot
 * ------------------------------------------------------------------------------------------- */

static void stale_task_handles_are_rejected(void **state)
{
    weft_runtime *rt = rt_of(state);
    struct rt_yielder a = {.n = 0, .result = 1};
    weft_task old;
    assert_int_equal(weft_task_spawn(rt, rt_yielder_fn, &a, &old), 0);
    assert_int_equal(weft_runtime_run(rt), 0);
    assert_int_equal(weft_task_result(rt, old), 1);

    struct sleeper b = {.wakes = 1};
    weft_task fresh;
    assert_int_equal(weft_task_spawn(rt, sleeper, &b, &fresh), 0);
    assert_int_equal(fresh.slot, old.slot);   /* the slot was reused... */
    assert_int_not_equal(fresh.gen, old.gen); /* ...under a new generation */
    weft_task_info info;
    assert_int_equal(weft_task_inspect(rt, old, &info), -ESRCH);
    assert_int_equal(weft_task_cancel(rt, old), 0);
    weft_task_detach(rt, old);
    assert_int_equal(weft_task_result(rt, old), -ESRCH);
    weft_waker stale = {old.slot, old.gen};
    weft_waker_wake(rt, stale);
    assert_int_equal(weft_task_inspect(rt, fresh, &info), 0);
    assert_int_equal(info.state, WEFT_TASK_READY);

    assert_int_equal(weft_runtime_run(rt), -EDEADLK); /* b waits for a wake nobody sends */
    weft_waker_wake(rt, stale);                       /* still nothing */
    assert_int_equal(rt_stats(rt).ready, 0);
    weft_waker_wake(rt, b.waker);
    assert_int_equal(weft_runtime_run(rt), 0);
    assert_int_equal(weft_task_result(rt, fresh), 7);
}

/* ---------------------------------------------------------------------------------------------
 * Introspection
 * ------------------------------------------------------------------------------------------- */

static int parked_line;

struct parked {
    weft_co co;
};

static int parked(void *frame, weft_cx *cx)
{
    struct parked *f = frame;
    (void)cx;
    WEFT_BEGIN(&f->co);
    parked_line = __LINE__ + 1;
    WEFT_YIELD(&f->co);
    WEFT_END(&f->co, 0);
}

static void dump_shows_where_each_task_waits(void **state)
{
    weft_runtime *rt = rt_of(state);
    struct parked p;
    weft_task t;
    assert_int_equal(weft_task_spawn(rt, parked, &p, &t), 0);
    assert_int_equal(weft_runtime_run(rt), -EDEADLK);

    weft_task_info info;
    assert_int_equal(weft_task_inspect(rt, t, &info), 0);
    assert_int_equal(info.state, WEFT_TASK_WAITING);
    assert_non_null(info.file);
    assert_non_null(strstr(info.file, "test_runtime.c"));
    assert_int_equal(info.line, parked_line);

    char *text = NULL;
    size_t size = 0;
    FILE *out = open_memstream(&text, &size);
    assert_non_null(out);
    assert_int_equal(weft_runtime_dump(rt, out), 1);
    fclose(out);
    char expect[64];
    snprintf(expect, sizeof expect, "test_runtime.c:%d", parked_line);
    assert_non_null(strstr(text, expect));
    assert_non_null(strstr(text, "waiting"));
    free(text);

    assert_int_equal(weft_task_cancel(rt, t), 1);
    assert_int_equal(weft_task_result(rt, t), -ECANCELED);
}

static void the_task_record_is_small(void **state)
{
    weft_runtime_stats st = rt_stats(rt_of(state));
    print_message("task record: %zu bytes, I/O record: %zu bytes\n", st.task_bytes, st.io_bytes);
    assert_true(st.task_bytes <= 56);
    assert_true(st.io_bytes <= 32);
}

/* close() cancels what is left (running cleanups) and frees everything, saying -EBUSY. */
static void close_cancels_leftover_tasks(void **state)
{
    (void)state;
    weft_runtime rt;
    assert_int_equal(weft_runtime_init(&rt), 0);
    struct sleeper s = {.wakes = 1};
    assert_int_equal(weft_task_spawn(&rt, sleeper, &s, NULL), 0);
    struct sleeper *owned = weft_task_spawn_new(&rt, sleeper_bare, sizeof *owned, NULL);
    assert_non_null(owned);
    owned->wakes = 1;
    assert_int_equal(weft_runtime_run(&rt), -EDEADLK);
    assert_int_equal(weft_runtime_close(&rt), -EBUSY);
    assert_int_equal(s.cleanups, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(block_on_returns_the_root_result, rt_setup, rt_teardown),
        cmocka_unit_test_setup_teardown(block_on_reports_a_deadlock, rt_setup, rt_teardown),
        cmocka_unit_test_setup_teardown(run_returns_when_every_task_finished, rt_setup,
                                        rt_teardown),
        cmocka_unit_test_setup_teardown(stop_makes_run_return_and_run_continues, rt_setup,
                                        rt_teardown),
        cmocka_unit_test_setup_teardown(join_collects_each_result, rt_setup, rt_teardown),
        cmocka_unit_test_setup_teardown(detached_tasks_free_themselves, rt_setup, rt_teardown),
        cmocka_unit_test_setup_teardown(spawn_new_allocates_and_frees_the_frame, rt_setup,
                                        rt_teardown),
        cmocka_unit_test_setup_teardown(double_wake_queues_once_and_finished_wake_is_a_no_op,
                                        rt_setup, rt_teardown),
        cmocka_unit_test_setup_teardown(cancel_before_first_poll_never_runs_the_body, rt_setup,
                                        rt_teardown),
        cmocka_unit_test_setup_teardown(cancel_runs_cleanup_at_the_suspension_point, rt_setup,
                                        rt_teardown),
        cmocka_unit_test_setup_teardown(a_waiting_joiner_sees_ECANCELED, rt_setup, rt_teardown),
        cmocka_unit_test_setup_teardown(a_task_can_cancel_itself, rt_setup, rt_teardown),
        cmocka_unit_test_setup_teardown(join_by_the_same_task_twice_is_fine, rt_setup, rt_teardown),
        cmocka_unit_test_setup_teardown(a_slot_reused_after_a_join_is_not_joined, rt_setup,
                                        rt_teardown),
        cmocka_unit_test_setup_teardown(joins_in_a_task_table_grown_past_a_chunk, rt_setup,
                                        rt_teardown),
        cmocka_unit_test_setup_teardown(detaching_a_joined_task_wakes_its_joiner, rt_setup,
                                        rt_teardown),
        cmocka_unit_test_setup_teardown(spawn_new_without_a_handle_leaves_nothing_to_collect,
                                        rt_setup, rt_teardown),
        cmocka_unit_test_setup_teardown(stale_task_handles_are_rejected, rt_setup, rt_teardown),
        cmocka_unit_test_setup_teardown(dump_shows_where_each_task_waits, rt_setup, rt_teardown),
        cmocka_unit_test_setup_teardown(the_task_record_is_small, rt_setup, rt_teardown),
        cmocka_unit_test(close_cancels_leftover_tasks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
