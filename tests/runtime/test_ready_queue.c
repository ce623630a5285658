/*
 * Tests of the executor's ready queue and of the one weft_cx the loop keeps across its polls
 * (src/runtime/task.c): a task cancelled while queued stays in the queue, DONE, until the loop
 * reaches it, and its record is not reused or lost meanwhile, while its handles go stale as soon
 * as it is collected or detached; a deadline or a yield asked for in one poll never carries over
 * into the next task's poll; a cleanup poll run inside another task's poll gives the runtime back
 * to that task. Each test fails if the line it names is broken.
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include <weft/sync.h>

#include "runtime_test.h"

/* ---------------------------------------------------------------------------------------------
 * Small coroutines and helpers
 * ------------------------------------------------------------------------------------------- */

/* Waits for a wake-up nobody sends; its cleanup block counts cancellations. */
struct sleeper {
    weft_co co;
    weft_waker waker;
    int polls, cleanups;
};

static int sleeper(void *frame, weft_cx *cx)
{
    struct sleeper *f = frame;
    f->polls++;
    WEFT_BEGIN(&f->co);
    f->waker = weft_cx_waker(cx);
    WEFT_WAIT_UNTIL(&f->co, 0);
    WEFT_ON_CANCEL(&f->co);
    f->cleanups++;
    WEFT_END(&f->co, 7);
}

/* Records that are not free (unfinished, or finished and not yet collected or popped). */
static size_t live_records(const weft_runtime *rt)
{
    FILE *out = fopen("/dev/null", "w");
    assert_non_null(out);
    size_t n = weft_runtime_dump(rt, out);
    fclose(out);
    return n;
}

/* ---------------------------------------------------------------------------------------------
 * A task cancelled while queued
 * ------------------------------------------------------------------------------------------- */

/*
 * In one poll: wakes a parked, detached sleeper (now queued), cancels it (its cleanup runs, and
 * it stays queued, DONE), then spawns a task that must not get the still-queued record.
 */
struct queued_victim {
    weft_co co;
    struct sleeper victim;
    struct rt_yielder fresh;
    weft_task victim_t, fresh_t;
    int cancel_ret;
};

static int queued_victim(void *frame, weft_cx *cx)
{
    struct queued_victim *f = frame;
    WEFT_BEGIN(&f->co);
    if (weft_task_spawn(cx->rt, sleeper, &f->victim, &f->victim_t) != 0) WEFT_RETURN(&f->co, -1);
    weft_task_detach(cx->rt, f->victim_t);
    WEFT_TASK_YIELD(&f->co, cx); /* the victim runs once and parks */
    weft_waker_wake(cx->rt, f->victim.waker);
    f->cancel_ret = weft_task_cancel(cx->rt, f->victim_t);
    f->fresh = (struct rt_yielder){.n = 1, .result = 3};
    if (weft_task_spawn(cx->rt, rt_yielder_fn, &f->fresh, &f->fresh_t) != 0)
        WEFT_RETURN(&f->co, -2);
    weft_task_detach(cx->rt, f->fresh_t);
    WEFT_END(&f->co, 0);
}

/* Guards cancel_now's QUEUED mark, finish's "not while QUEUED" and ready_pop's DONE check. */
static void a_task_cancelled_while_queued_keeps_its_record_until_popped(void **state)
{
    weft_runtime *rt = rt_of(state);
    struct queued_victim q = {0};
    assert_int_equal(weft_runtime_block_on(rt, queued_victim, &q), 0);
    assert_int_equal(q.cancel_ret, 1);
    assert_int_equal(q.victim.cleanups, 1);
    assert_int_equal(q.victim.polls, 2); /* its first poll and the cleanup poll: never again */
    assert_int_not_equal(q.fresh_t.slot, q.victim_t.slot); /* not reused while still queued */
    assert_int_equal(weft_runtime_run(rt), 0);
    assert_int_equal(q.fresh.polls, 2);
    assert_int_equal(rt_stats(rt).ready, 0);
    assert_int_equal(live_records(rt), 0); /* the popped detached record was freed */
}

/*
 * From outside any task: a joinable task cancelled before its first poll stays queued, DONE.
 * Collecting or detaching it then must not free the record before the loop pops it; once popped
 * it is freed (collected or detached) or kept for collection (neither yet).
 */
static void a_cancelled_queued_task_is_freed_only_once_out_of_the_queue(void **state)
{
    weft_runtime *rt = rt_of(state);
    struct sleeper a = {0}, b = {0}, c = {0};
    struct rt_yielder fresh[3] = {{.result = 1}, {.result = 2}, {.result = 3}};
    weft_task at, bt, ct, ft[3];
    assert_int_equal(weft_task_spawn(rt, sleeper, &a, &at), 0);
    assert_int_equal(weft_task_spawn(rt, sleeper, &b, &bt), 0);
    assert_int_equal(weft_task_spawn(rt, sleeper, &c, &ct), 0);
    assert_int_equal(weft_task_cancel(rt, at), 1);
    assert_int_equal(weft_task_cancel(rt, bt), 1);
    assert_int_equal(weft_task_cancel(rt, ct), 1);
    assert_int_equal(rt_stats(rt).ready, 3);                /* still queued, DONE */
    assert_int_equal(weft_task_result(rt, at), -ECANCELED); /* collected while queued */
    weft_task_detach(rt, bt);                               /* detached while queued */
    /* c is left alone: collected after the loop has popped it. */
    for (int i = 0; i < 3; i++)
        assert_int_equal(weft_task_spawn(rt, rt_yielder_fn, &fresh[i], &ft[i]), 0);
    for (int i = 0; i < 3; i++) {
        assert_int_not_equal(ft[i].slot, at.slot);
        assert_int_not_equal(ft[i].slot, bt.slot);
        assert_int_not_equal(ft[i].slot, ct.slot);
    }
    assert_int_equal(rt_stats(rt).ready, 6);
    assert_int_equal(weft_runtime_run_ready(rt), 3); /* the three DONE records are skipped */
    assert_int_equal(rt_stats(rt).ready, 0);
    assert_int_equal(a.polls + b.polls + c.polls, 0);
    for (int i = 0; i < 3; i++)
        assert_int_equal(weft_task_result(rt, ft[i]), i + 1);
    assert_int_equal(live_records(rt), 1); /* c, finished, not collected */
    assert_int_equal(weft_task_result(rt, ct), -ECANCELED);
    assert_int_equal(live_records(rt), 0);
    assert_int_equal(rt_stats(rt).done, 0);
}

/* weft_runtime_run with only cancelled, still queued tasks left: it has nothing to run, and ends
 * with an empty queue all the same (the detached record freed, the joinable one kept). */
static void a_run_with_only_cancelled_queued_tasks_ends_with_an_empty_queue(void **state)
{
    weft_runtime *rt = rt_of(state);
    struct sleeper a = {0}, b = {0};
    weft_task at, bt;
    assert_int_equal(weft_task_spawn(rt, sleeper, &a, &at), 0);
    assert_int_equal(weft_task_spawn(rt, sleeper, &b, &bt), 0);
    assert_int_equal(weft_task_cancel(rt, at), 1);
    assert_int_equal(weft_task_cancel(rt, bt), 1);
    weft_task_detach(rt, bt);
    assert_int_equal(rt_stats(rt).ready, 2); /* both still queued, DONE */
    assert_int_equal(weft_runtime_run(rt), 0);
    assert_int_equal(rt_stats(rt).ready, 0);
    assert_int_equal(live_records(rt), 1); /* a, finished, not collected; b freed */
    assert_int_equal(a.polls + b.polls, 0);
    assert_int_equal(weft_task_result(rt, at), -ECANCELED);
    assert_int_equal(live_records(rt), 0);
}

/* True if the dump lists a task as "done" (what it prints for a finished, uncollected task). */
static bool dump_lists_done(const weft_runtime *rt)
{
    char text[4096] = {0};
    FILE *out = fmemopen(text, sizeof text - 1, "w");
    assert_non_null(out);
    weft_runtime_dump(rt, out);
    fclose(out);
    return strstr(text, " done ") != NULL;
}

/* Joins a task it has just spawned and cancelled: the join collects it while it is still queued. */
struct join_queued {
    weft_co co;
    struct sleeper victim;
    weft_task t;
    int joined, inspected, result;
    size_t listed;
    bool listed_done;
    weft_task_info info;
};

static int join_queued(void *frame, weft_cx *cx)
{
    struct join_queued *f = frame;
    WEFT_BEGIN(&f->co);
    if (weft_task_spawn(cx->rt, sleeper, &f->victim, &f->t) != 0) WEFT_RETURN(&f->co, -1);
    weft_task_cancel(cx->rt, f->t); /* DONE, still queued */
    WEFT_AWAIT(&f->co, f->joined = weft_task_join(f->t, cx));
    f->inspected = weft_task_inspect(cx->rt, f->t, &f->info);
    f->result = weft_task_result(cx->rt, f->t);
    f->listed = live_records(cx->rt);
    f->listed_done = dump_lists_done(cx->rt);
    WEFT_END(&f->co, 0);
}

/* Guards record_release's generation step for a record that is still queued (audit s4 #2): after
 * weft_task_join collected it, the handle is stale at once, not when the loop pops the record. */
static void a_task_joined_while_queued_is_stale_at_once(void **state)
{
    weft_runtime *rt = rt_of(state);
    struct join_queued j = {0};
    assert_int_equal(weft_runtime_block_on(rt, join_queued, &j), 0);
    assert_int_equal(j.joined, -ECANCELED);
    assert_int_equal(j.inspected, -ESRCH);
    assert_int_equal(j.result, -ESRCH);
    assert_int_equal(j.listed, 1); /* the joiner itself only */
    assert_false(j.listed_done);
    assert_int_equal(live_records(rt), 0);
}

/* The same from outside any task, for each way a queued, cancelled task is let go of: collected
 * by weft_task_result, detached after the cancel, detached before it. The records are popped and
 * reused afterwards: an old handle must not name the new task. */
static void a_let_go_queued_task_is_stale_before_it_is_popped(void **state)
{
    weft_runtime *rt = rt_of(state);
    struct sleeper s[3];
    memset(s, 0, sizeof s);
    weft_task t[3];
    weft_task_info info;
    for (int i = 0; i < 3; i++)
        assert_int_equal(weft_task_spawn(rt, sleeper, &s[i], &t[i]), 0);
    weft_task_detach(rt, t[2]);
    for (int i = 0; i < 3; i++)
        assert_int_equal(weft_task_cancel(rt, t[i]), 1);
    assert_int_equal(weft_task_result(rt, t[0]), -ECANCELED);
    weft_task_detach(rt, t[1]);
    assert_int_equal(rt_stats(rt).ready, 3); /* all still queued */
    for (int i = 0; i < 3; i++) {
        assert_int_equal(weft_task_inspect(rt, t[i], &info), -ESRCH);
        assert_int_equal(weft_task_result(rt, t[i]), -ESRCH);
        assert_int_equal(weft_task_cancel(rt, t[i]), 0);
    }
    assert_int_equal(live_records(rt), 0);
    assert_false(dump_lists_done(rt));

    assert_int_equal(weft_runtime_run_ready(rt), 0); /* pops and frees the three */
    struct rt_yielder fresh[3] = {{.result = 1}, {.result = 2}, {.result = 3}};
    weft_task ft[3];
    for (int i = 0; i < 3; i++)
        assert_int_equal(weft_task_spawn(rt, rt_yielder_fn, &fresh[i], &ft[i]), 0);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(weft_task_inspect(rt, t[i], &info), -ESRCH);
        assert_int_equal(weft_task_inspect(rt, ft[i], &info), 0);
    }
    assert_int_equal(weft_runtime_run(rt), 0);
    for (int i = 0; i < 3; i++)
        assert_int_equal(weft_task_result(rt, ft[i]), i + 1);
    assert_int_equal(live_records(rt), 0);
}

/* ---------------------------------------------------------------------------------------------
 * The loop's weft_cx: nothing carries over from one task's poll to the next
 * ------------------------------------------------------------------------------------------- */

/* A hand-written race of two branches in one poll: `lose` suspends, the other is already done. */
struct race {
    weft_co co;
    struct rt_yielder yield_branch;
    int lose; /* 1: a sleep that asks for a deadline; 2: a yield; 3: both */
    int polls;
};

static int race(void *frame, weft_cx *cx)
{
    struct race *f = frame;
    f->polls++;
    if (f->lose & 1) (void)weft_sleep_until(weft_time_now() + (int64_t)60 * 1000000000, cx);
    if (f->lose & 2) {
        f->yield_branch = (struct rt_yielder){.n = 1};
        (void)rt_yielder_fn(&f->yield_branch, cx); /* pending: it yielded */
    }
    return 5; /* the branch that is done wins; the losers' requests are void */
}

/* Polls with a yield, or with a yield and a deadline, then finishes on the second poll. */
struct yield_once {
    weft_co co;
    int with_deadline;
    int polls;
};

static int yield_once(void *frame, weft_cx *cx)
{
    struct yield_once *f = frame;
    f->polls++;
    WEFT_BEGIN(&f->co);
    if (f->with_deadline) weft_cx_want_deadline(cx, weft_time_now() + (int64_t)60 * 1000000000);
    WEFT_TASK_YIELD(&f->co, cx);
    WEFT_END(&f->co, 0);
}

/* Runs `first` (spawned first) and a sleeper behind it; the sleeper must be polled once only,
 * with no timer. */
static void check_sleeper_behind(weft_runtime *rt, weft_co_fn first, void *frame)
{
    weft_task ft, st;
    struct sleeper s = {0};
    assert_int_equal(weft_task_spawn(rt, first, frame, &ft), 0);
    assert_int_equal(weft_task_spawn(rt, sleeper, &s, &st), 0);
    (void)weft_runtime_run_ready(rt);
    assert_int_equal(s.polls, 1); /* not queued again by someone else's yield */
    weft_task_info info;
    assert_int_equal(weft_task_inspect(rt, st, &info), 0);
    assert_int_equal(info.state, WEFT_TASK_WAITING);
    assert_true(info.deadline == WEFT_NO_DEADLINE); /* no timer from someone else's deadline */
    assert_int_equal(rt_stats(rt).timers, 0);
    assert_int_equal(rt_stats(rt).ready, 0);
    assert_int_equal(weft_task_inspect(rt, ft, &info), 0);
    assert_int_equal(info.state, WEFT_TASK_DONE);
    (void)weft_task_result(rt, ft);
    assert_int_equal(weft_task_cancel(rt, st), 1);
    assert_int_equal(weft_task_result(rt, st), -ECANCELED);
}

/* The poll that asked for a deadline finished: the task behind gets no timer from it. */
static void a_finished_polls_deadline_does_not_reach_the_next_task(void **state)
{
    struct race r = {.lose = 1};
    check_sleeper_behind(rt_of(state), race, &r);
    assert_int_equal(r.polls, 1);
}

/* The poll that yielded finished: the task behind is not queued again by that yield. */
static void a_finished_polls_yield_does_not_reach_the_next_task(void **state)
{
    struct race r = {.lose = 2};
    check_sleeper_behind(rt_of(state), race, &r);
    assert_int_equal(r.polls, 1);
    struct race both = {.lose = 3};
    check_sleeper_behind(rt_of(state), race, &both);
}

/* A plain yield (the common path after a pending poll) is taken by the yielding task only. */
static void a_pending_yield_does_not_reach_the_next_task(void **state)
{
    struct yield_once y = {0};
    check_sleeper_behind(rt_of(state), yield_once, &y);
    assert_int_equal(y.polls, 2);
}

/* A yield in a poll that also asked for a deadline (the rare path): queued again at once, and the
 * flag and the deadline stay with it. */
static void a_yield_with_a_deadline_requeues_only_its_task(void **state)
{
    struct yield_once y = {.with_deadline = 1};
    check_sleeper_behind(rt_of(state), yield_once, &y);
    assert_int_equal(y.polls, 2); /* queued again at once, not at its 60 s deadline */
}

/* ---------------------------------------------------------------------------------------------
 * A cleanup poll inside another task's poll
 * ------------------------------------------------------------------------------------------- */

/*
 * Cancels a parked sleeper (its cleanup poll runs inside this poll), then checks that the
 * runtime still knows this task is running: run_ready and park refuse, and the task behind is
 * not polled from here. Then yields: the loop's cx must still carry that yield.
 */
struct nested_cancel {
    weft_co co;
    struct sleeper victim;
    struct rt_yielder behind;
    weft_task victim_t, behind_t;
    size_t nested_polls;
    int nested_park;
    int polls;
};

static int nested_cancel(void *frame, weft_cx *cx)
{
    struct nested_cancel *f = frame;
    f->polls++;
    WEFT_BEGIN(&f->co);
    if (weft_task_spawn(cx->rt, sleeper, &f->victim, &f->victim_t) != 0) WEFT_RETURN(&f->co, -1);
    WEFT_TASK_YIELD(&f->co, cx); /* the victim parks */
    f->behind = (struct rt_yielder){.n = 0, .result = 4};
    if (weft_task_spawn(cx->rt, rt_yielder_fn, &f->behind, &f->behind_t) != 0)
        WEFT_RETURN(&f->co, -2);
    if (weft_task_cancel(cx->rt, f->victim_t) != 1) WEFT_RETURN(&f->co, -3);
    f->nested_polls = weft_runtime_run_ready(cx->rt);
    f->nested_park = weft_runtime_park(cx->rt);
    WEFT_TASK_YIELD(&f->co, cx);
    WEFT_END(&f->co, 0);
}

static void a_cleanup_poll_inside_a_poll_gives_the_runtime_back(void **state)
{
    weft_runtime *rt = rt_of(state);
    struct nested_cancel n = {0};
    assert_int_equal(weft_runtime_block_on(rt, nested_cancel, &n), 0);
    assert_int_equal(n.victim.cleanups, 1);
    assert_int_equal(n.nested_polls, 0);
    assert_int_equal(n.nested_park, -EBUSY);
    assert_int_equal(n.polls, 3); /* the yield after the cleanup poll was kept */
    assert_int_equal(weft_runtime_run(rt), 0);
    assert_int_equal(n.behind.polls, 1);
    assert_int_equal(weft_task_result(rt, n.victim_t), -ECANCELED);
    assert_int_equal(weft_task_result(rt, n.behind_t), 4);
}

/* ---------------------------------------------------------------------------------------------
 * A random mix of all of the above, from main and from inside polls
 * ------------------------------------------------------------------------------------------- */

#define WORLD_SLOTS 32

/* Handles and wakers of the tasks a seeded run spawned; any of them may be stale. */
struct world {
    weft_runtime *rt;
    uint64_t rng;
    weft_task handle[WORLD_SLOTS];
    weft_waker waker[WORLD_SLOTS];
    int held[WORLD_SLOTS]; /* the handle is joinable and not yet collected or detached */
    weft_task all[120];    /* every task spawned, for the final cancellation */
    int spawned;
    int owed; /* actors that yielded or woke themselves and have not run since */
    /* With `sync` set, actors also send to and receive from ch and hold a permit of sem. */
    int sync;
    weft_chan ch;
    int ch_buf[2];
    weft_semaphore sem;
    long sent, received;
    int holders; /* permits held */
};

static uint32_t world_rand(struct world *w, uint32_t n)
{
    w->rng = w->rng * 6364136223846793005u + 1442695040888963407u;
    return (uint32_t)(w->rng >> 33) % n;
}

struct actor {
    weft_co co;
    struct world *w;
    unsigned idx;
    int polls;
    int owes;  /* it yielded or woke itself: it must be polled again (or cancelled) */
    int holds; /* it holds a permit of w->sem */
    int item, r;
    int64_t deadline;
    uint32_t choice;
};

static void world_act(struct world *w);

/* The actor asked to run again at once: until it does, a drained queue is a lost task. */
static void actor_owe(struct world *w, struct actor *f)
{
    f->owes = 1;
    w->owed++;
}

static void actor_paid(struct world *w, struct actor *f)
{
    if (f->owes) w->owed--;
    f->owes = 0;
}

static void actor_release(struct world *w, struct actor *f)
{
    if (!f->holds) return;
    f->holds = 0;
    w->holders--;
    weft_semaphore_release(&w->sem);
}

/* Each poll: a few random acts on other tasks, then finish, yield, wake itself, ask for a short
 * deadline, or park until someone wakes it. Bounded: at most 40 polls. */
static int actor(void *frame, weft_cx *cx)
{
    struct actor *f = frame;
    struct world *w = f->w;
    WEFT_BEGIN(&f->co);
    while (f->polls < 40) {
        f->polls++;
        w->waker[f->idx] = weft_cx_waker(cx);
        for (uint32_t n = world_rand(w, 3); n > 0; n--)
            world_act(w);
        f->choice = world_rand(w, w->sync ? 8 : 5);
        /* a short deadline now and then, so that waits also end by timing out */
        f->deadline = world_rand(w, 2) ? WEFT_NO_DEADLINE : weft_time_now() + 300000;
        if (f->choice == 0) WEFT_RETURN(&f->co, f->polls);
        if (f->choice == 1) {
            actor_owe(w, f);
            WEFT_TASK_YIELD(&f->co, cx);
            actor_paid(w, f);
        } else if (f->choice == 2) {
            actor_owe(w, f);
            weft_waker_wake(cx->rt, weft_cx_waker(cx)); /* woken while running */
            WEFT_YIELD(&f->co);
            actor_paid(w, f);
        } else if (f->choice == 3) {
            weft_cx_want_deadline(cx, weft_time_now() + 200000);
            WEFT_YIELD(&f->co);
        } else if (f->choice == 5) {
            f->item = f->polls;
            WEFT_AWAIT(&f->co, f->r = weft_chan_send_dl(&w->ch, &f->item, f->deadline, cx));
            if (f->r == 0) w->sent++;
        } else if (f->choice == 6) {
            WEFT_AWAIT(&f->co, f->r = weft_chan_recv_dl(&w->ch, &f->item, f->deadline, cx));
            if (f->r == 0) w->received++;
        } else if (f->choice == 7) {
            WEFT_AWAIT(&f->co, f->r = weft_semaphore_acquire_dl(&w->sem, f->deadline, cx));
            if (f->r == 0) {
                f->holds = 1;
                w->holders++;
                WEFT_TASK_YIELD(&f->co, cx); /* held across a poll */
                actor_release(w, f);
            }
        } else {
            WEFT_YIELD(&f->co); /* until someone wakes it, or for ever */
        }
    }
    WEFT_ON_CANCEL(&f->co);
    actor_paid(w, f);
    actor_release(w, f);
    WEFT_END(&f->co, 0);
}

static void world_spawn(struct world *w, unsigned i)
{
    if (w->held[i] || w->spawned >= 120) return;
    struct actor *a = weft_task_spawn_new(w->rt, actor, sizeof *a, &w->handle[i]);
    if (a == NULL) return;
    a->w = w;
    a->idx = i;
    w->held[i] = 1;
    w->all[w->spawned++] = w->handle[i];
}

/* One random act on a random (possibly stale) handle or waker. */
static void world_act(struct world *w)
{
    unsigned i = world_rand(w, WORLD_SLOTS);
    switch (world_rand(w, 6)) {
    case 0:
        (void)weft_task_cancel(w->rt, w->handle[i]);
        break;
    case 1:
        weft_waker_wake(w->rt, w->waker[i]);
        break;
    case 2:
        weft_task_detach(w->rt, w->handle[i]);
        w->held[i] = 0;
        break;
    case 3:
        if (weft_task_result(w->rt, w->handle[i]) != -EAGAIN) w->held[i] = 0;
        break;
    default:
        world_spawn(w, i);
        break;
    }
}

/* Runs 60 seeded worlds. Whenever a pass drained the queue, nothing is READY, the count says 0
 * and every task that yielded or woke itself has run again; at the end every record is free and,
 * with `sync`, every item sent is received or still buffered and every permit is back. ASan
 * catches a record polled or reused after it was freed. */
static void run_worlds(weft_runtime *rt, int sync)
{
    static struct world w; /* the channel and semaphore live here: keep it off the stack */
    for (uint64_t seed = 1; seed <= 60; seed++) {
        w = (struct world){.rt = rt, .rng = seed, .sync = sync};
        assert_int_equal(weft_chan_init(&w.ch, rt, w.ch_buf, sizeof w.ch_buf[0], 2), 0);
        assert_int_equal(weft_semaphore_init(&w.sem, rt, 2), 0);
        for (unsigned i = 0; i < 6; i++)
            world_spawn(&w, i);
        for (int round = 0; round < 100; round++) {
            if (weft_runtime_run_ready(rt) < 1024) {
                assert_int_equal(w.owed, 0);
                assert_int_equal(rt_stats(rt).ready, 0);
                for (unsigned i = 0; i < WORLD_SLOTS; i++) {
                    weft_task_info info;
                    if (weft_task_inspect(rt, w.handle[i], &info) == 0)
                        assert_int_not_equal(info.state, WEFT_TASK_READY);
                }
            }
            for (uint32_t n = world_rand(&w, 4); n > 0; n--)
                world_act(&w);
            if (round % 8 == 7 && rt_stats(rt).timers != 0) (void)weft_runtime_park(rt);
        }
        for (int i = 0; i < w.spawned; i++)
            (void)weft_task_cancel(rt, w.all[i]);
        for (unsigned i = 0; i < WORLD_SLOTS; i++)
            if (w.held[i]) assert_int_not_equal(weft_task_result(rt, w.handle[i]), -EAGAIN);
        (void)weft_runtime_run_ready(rt); /* pops the records cancelled while queued */
        assert_int_equal(rt_stats(rt).ready, 0);
        assert_int_equal(rt_stats(rt).tasks, 0);
        assert_int_equal(rt_stats(rt).done, 0);
        assert_int_equal(live_records(rt), 0);
        assert_int_equal(w.owed, 0);
        assert_int_equal(w.holders, 0);
        assert_int_equal(w.sent, w.received + (long)weft_chan_len(&w.ch));
        int item;
        for (size_t n = weft_chan_len(&w.ch); n > 0; n--)
            assert_int_equal(weft_chan_try_recv(&w.ch, &item), 0);
        assert_int_equal(weft_chan_try_recv(&w.ch, &item), -EAGAIN);
        assert_int_equal(weft_semaphore_try_acquire(&w.sem), 0);
        assert_int_equal(weft_semaphore_try_acquire(&w.sem), 0);
        assert_int_not_equal(weft_semaphore_try_acquire(&w.sem), 0);
        weft_chan_destroy(&w.ch);
        weft_semaphore_destroy(&w.sem);
    }
}

static void random_spawns_wakes_and_cancels_keep_the_queue_sound(void **state)
{
    run_worlds(rt_of(state), 0);
}

/* The same with channel and semaphore waits in the mix (wait queues, fast slots, turns). */
static void random_mix_with_channel_and_semaphore_waits_loses_nothing(void **state)
{
    run_worlds(rt_of(state), 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(a_task_cancelled_while_queued_keeps_its_record_until_popped,
                                        rt_setup, rt_teardown),
        cmocka_unit_test_setup_teardown(a_cancelled_queued_task_is_freed_only_once_out_of_the_queue,
                                        rt_setup, rt_teardown),
        cmocka_unit_test_setup_teardown(
            a_run_with_only_cancelled_queued_tasks_ends_with_an_empty_queue, rt_setup, rt_teardown),
        cmocka_unit_test_setup_teardown(a_task_joined_while_queued_is_stale_at_once, rt_setup,
                                        rt_teardown),
        cmocka_unit_test_setup_teardown(a_let_go_queued_task_is_stale_before_it_is_popped, rt_setup,
                                        rt_teardown),
        cmocka_unit_test_setup_teardown(a_finished_polls_deadline_does_not_reach_the_next_task,
                                        rt_setup, rt_teardown),
        cmocka_unit_test_setup_teardown(a_finished_polls_yield_does_not_reach_the_next_task,
                                        rt_setup, rt_teardown),
        cmocka_unit_test_setup_teardown(a_pending_yield_does_not_reach_the_next_task, rt_setup,
                                        rt_teardown),
        cmocka_unit_test_setup_teardown(a_yield_with_a_deadline_requeues_only_its_task, rt_setup,
                                        rt_teardown),
        cmocka_unit_test_setup_teardown(a_cleanup_poll_inside_a_poll_gives_the_runtime_back,
                                        rt_setup, rt_teardown),
        cmocka_unit_test_setup_teardown(random_spawns_wakes_and_cancels_keep_the_queue_sound,
                                        rt_setup, rt_teardown),
        cmocka_unit_test_setup_teardown(random_mix_with_channel_and_semaphore_waits_loses_nothing,
                                        rt_setup, rt_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
