/*
 * Tests of the coroutine macros (weft/coro.h), driven by hand: no runtime, no I/O. The same file
 * is built under both resume-point implementations (WEFT_CORO_LABELS=1 and 0).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

#include <cmocka.h>

#include "weft/coro.h"

/* The driver's context, as a runtime would define it; these tests only count polls with it. */
struct weft_cx {
    int polls;
};


/* ---- a counter that yields n times ------------------------------------------------------- */

struct counter {
    weft_co co;
    int i, n;
    int after; /* how many times the code after the loop ran */
};

static int counter(struct counter *f, weft_cx *cx)
{
    cx->polls++;
    WEFT_BEGIN(&f->co);
    for (f->i = 0; f->i < f->n; f->i++)
        WEFT_YIELD(&f->co);
    f->after++;
    WEFT_END(&f->co, f->i * 10);
}

static void yield_suspends_once_per_yield(void **state)
{
    (void)state;
    weft_cx cx = {0};
    struct counter f = {.co = WEFT_CO_INIT, .n = 3};
    assert_false(weft_co_started(&f.co));
    for (int k = 0; k < 3; k++) {
        assert_int_equal(counter(&f, &cx), WEFT_PENDING);
        assert_true(weft_co_suspended(&f.co));
        assert_int_equal(f.i, k);
    }
    assert_int_equal(counter(&f, &cx), 30);
    assert_true(weft_co_done(&f.co));
    assert_false(weft_co_suspended(&f.co));
    assert_int_equal(f.after, 1);
    assert_int_equal(cx.polls, 4);
}

static void finished_coroutine_polled_again_returns_efinished(void **state)
{
    (void)state;
    weft_cx cx = {0};
    struct counter f = {.n = 0};
    assert_int_equal(counter(&f, &cx), 0);
    for (int k = 0; k < 3; k++)
        assert_int_equal(counter(&f, &cx), WEFT_EFINISHED);
    assert_int_equal(f.after, 1); /* the body did not run again */
    assert_string_equal(weft_strerror(WEFT_EFINISHED), "coroutine already finished");
}

static void init_starts_over(void **state)
{
    (void)state;
    weft_cx cx = {0};
    struct counter f = {.n = 1};
    assert_int_equal(counter(&f, &cx), WEFT_PENDING);
    assert_int_equal(counter(&f, &cx), 10);
    weft_co_init(&f.co);
    assert_false(weft_co_started(&f.co));
    assert_int_equal(counter(&f, &cx), WEFT_PENDING);
    assert_int_equal(counter(&f, &cx), 10);
    assert_int_equal(f.after, 2);
}

/* ---- wait until / while, await ------------------------------------------------------------ */

struct waiter {
    weft_co co;
    int flag;
    int evaluated; /* how often the condition was evaluated */
    int stage;
};

static int cond_true(struct waiter *f)
{
    f->evaluated++;
    return f->flag;
}

static int wait_until_flag(struct waiter *f, weft_cx *cx)
{
    (void)cx;
    WEFT_BEGIN(&f->co);
    f->stage = 1;
    WEFT_WAIT_UNTIL(&f->co, cond_true(f));
    f->stage = 2;
    WEFT_WAIT_WHILE(&f->co, cond_true(f));
    f->stage = 3;
    WEFT_END(&f->co, f->evaluated);
}

static void wait_until_and_while_recheck_on_every_poll(void **state)
{
    (void)state;
    struct waiter f = {0};
    assert_int_equal(wait_until_flag(&f, NULL), WEFT_PENDING);
    assert_int_equal(wait_until_flag(&f, NULL), WEFT_PENDING);
    assert_int_equal(f.stage, 1);
    assert_int_equal(f.evaluated, 2);
    f.flag = 1;
    assert_int_equal(wait_until_flag(&f, NULL), WEFT_PENDING); /* now waiting while flag */
    assert_int_equal(f.stage, 2);
    f.flag = 0;
    assert_int_equal(wait_until_flag(&f, NULL), 5);
    assert_int_equal(f.stage, 3);
}

static void wait_until_true_does_not_suspend(void **state)
{
    (void)state;
    struct waiter f = {.flag = 1};
    /* UNTIL passes at once, WHILE blocks once */
    assert_int_equal(wait_until_flag(&f, NULL), WEFT_PENDING);
    assert_int_equal(f.evaluated, 2);
}

/* A leaf "operation" that is pending `left` times, then yields `result`. */
struct leaf {
    weft_co co;
    int left;
    int result;
};

static int leaf(struct leaf *f, weft_cx *cx)
{
    (void)cx;
    WEFT_BEGIN(&f->co);
    while (f->left > 0) {
        f->left--;
        WEFT_YIELD(&f->co);
    }
    WEFT_END(&f->co, f->result);
}

struct awaiter {
    weft_co co;
    struct leaf op;
    int r;
};

static int awaiter(struct awaiter *f, weft_cx *cx)
{
    WEFT_BEGIN(&f->co);
    WEFT_AWAIT(&f->co, f->r = leaf(&f->op, cx));
    WEFT_END(&f->co, f->r + 1);
}

static void await_repeats_expression_until_not_pending(void **state)
{
    (void)state;
    struct awaiter f = {.op = {.left = 2, .result = 41}};
    assert_int_equal(awaiter(&f, NULL), WEFT_PENDING);
    assert_int_equal(f.r, WEFT_PENDING);
    assert_int_equal(awaiter(&f, NULL), WEFT_PENDING);
    assert_int_equal(awaiter(&f, NULL), 42);
    assert_int_equal(f.r, 41);
}

/* ---- return and restart ------------------------------------------------------------------ */

struct early {
    weft_co co;
    int fail;
    int reached_end;
    int rounds;
};

static int early(struct early *f, weft_cx *cx)
{
    (void)cx;
    WEFT_BEGIN(&f->co);
    f->rounds++;
    WEFT_YIELD(&f->co);
    if (f->fail == 1) WEFT_RETURN(&f->co, -EIO);
    if (f->fail == 2) WEFT_RESTART(&f->co);
    f->reached_end = 1;
    WEFT_END(&f->co, 7);
}

static void return_finishes_early_with_an_error(void **state)
{
    (void)state;
    struct early f = {.fail = 1};
    assert_int_equal(early(&f, NULL), WEFT_PENDING);
    assert_int_equal(early(&f, NULL), -EIO);
    assert_true(weft_co_done(&f.co));
    assert_int_equal(f.reached_end, 0);
    assert_int_equal(early(&f, NULL), WEFT_EFINISHED);
}

static void restart_runs_the_body_again(void **state)
{
    (void)state;
    struct early f = {.fail = 2};
    assert_int_equal(early(&f, NULL), WEFT_PENDING); /* yield */
    assert_int_equal(early(&f, NULL), WEFT_PENDING); /* restart */
    assert_true(weft_co_suspended(&f.co));
    assert_int_equal(f.rounds, 1);
    assert_int_equal(early(&f, NULL), WEFT_PENDING); /* second round's yield */
    assert_int_equal(f.rounds, 2);
    f.fail = 0;
    assert_int_equal(early(&f, NULL), 7);
    assert_int_equal(f.reached_end, 1);
}

/* ---- cancellation ------------------------------------------------------------------------ */

struct resource {
    weft_co co;
    int opened, closed, cleanups;
};

static int resource(struct resource *f, weft_cx *cx)
{
    (void)cx;
    WEFT_BEGIN(&f->co);
    f->opened++;
    WEFT_YIELD(&f->co);
    WEFT_YIELD(&f->co);
    f->closed++;
    WEFT_ON_CANCEL(&f->co);
    f->cleanups++;
    f->closed++;
    WEFT_END(&f->co, 0);
}

static void cancel_runs_cleanup_exactly_once(void **state)
{
    (void)state;
    struct resource f = {0};
    assert_int_equal(resource(&f, NULL), WEFT_PENDING);
    assert_int_equal(weft_co_cancel(&f.co), 1);
    assert_int_equal(weft_co_cancel(&f.co), 1); /* still owed its poll: idempotent */
    assert_true(weft_co_suspended(&f.co));
    assert_int_equal(resource(&f, NULL), -ECANCELED);
    assert_true(weft_co_done(&f.co));
    assert_int_equal(f.cleanups, 1);
    assert_int_equal(f.closed, 1);
    assert_int_equal(resource(&f, NULL), WEFT_EFINISHED);
    assert_int_equal(weft_co_cancel(&f.co), 0);
    assert_int_equal(f.cleanups, 1);
}

static void cleanup_never_runs_on_normal_completion(void **state)
{
    (void)state;
    struct resource f = {0};
    int r, polls = 0;
    while ((r = resource(&f, NULL)) == WEFT_PENDING && polls < 10)
        polls++;
    assert_int_equal(r, 0);
    assert_int_equal(polls, 2);
    assert_int_equal(f.cleanups, 0);
    assert_int_equal(f.closed, 1);
}

static void cancel_of_never_started_or_finished_is_a_noop(void **state)
{
    (void)state;
    struct resource never = {0};
    assert_int_equal(weft_co_cancel(&never.co), 0);
    assert_true(weft_co_done(&never.co));
    assert_int_equal(resource(&never, NULL), WEFT_EFINISHED);
    assert_int_equal(never.opened + never.cleanups, 0);

    struct resource done = {0};
    while (resource(&done, NULL) == WEFT_PENDING && done.closed == 0)
        ;
    assert_int_equal(weft_co_cancel(&done.co), 0);
    assert_int_equal(done.cleanups, 0);
}

/* Without WEFT_ON_CANCEL, the owed poll just finishes with -ECANCELED. */
static void cancel_without_cleanup_block_finishes_cancelled(void **state)
{
    (void)state;
    struct counter f = {.n = 5};
    weft_cx cx = {0};
    assert_int_equal(counter(&f, &cx), WEFT_PENDING);
    assert_int_equal(weft_co_cancel(&f.co), 1);
    assert_int_equal(counter(&f, &cx), -ECANCELED);
    assert_int_equal(f.after, 0);
    assert_int_equal(counter(&f, &cx), WEFT_EFINISHED);
}

/* A restarted coroutine is suspended (at the top): its cleanup still runs. */
static void cancel_after_restart_runs_cleanup(void **state)
{
    (void)state;
    struct early f = {.fail = 2};
    assert_int_equal(early(&f, NULL), WEFT_PENDING);
    assert_int_equal(early(&f, NULL), WEFT_PENDING); /* restarted */
    assert_int_equal(weft_co_cancel(&f.co), 1);
    assert_int_equal(early(&f, NULL), -ECANCELED);
    assert_int_equal(f.rounds, 1);
}

/* ---- the cost of a resume point ---------------------------------------------------------- */

static void frame_sizes(void **state)
{
    (void)state;
    assert_int_equal(sizeof(weft_co), sizeof(void *));
    printf("resume point (weft_co): %zu bytes (%s implementation)\n", sizeof(weft_co),
           WEFT_CORO_LABELS ? "label" : "switch");
    printf("struct counter (co + 3 ints): %zu bytes\n", sizeof(struct counter));
    printf("struct awaiter (co + embedded leaf + int): %zu bytes\n", sizeof(struct awaiter));
    printf("weft_co_child (combinator slot): %zu bytes\n", sizeof(weft_co_child));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(yield_suspends_once_per_yield),
        cmocka_unit_test(finished_coroutine_polled_again_returns_efinished),
        cmocka_unit_test(init_starts_over),
        cmocka_unit_test(wait_until_and_while_recheck_on_every_poll),
        cmocka_unit_test(wait_until_true_does_not_suspend),
        cmocka_unit_test(await_repeats_expression_until_not_pending),
        cmocka_unit_test(return_finishes_early_with_an_error),
        cmocka_unit_test(restart_runs_the_body_again),
        cmocka_unit_test(cancel_runs_cleanup_exactly_once),
        cmocka_unit_test(cleanup_never_runs_on_normal_completion),
        cmocka_unit_test(cancel_of_never_started_or_finished_is_a_noop),
        cmocka_unit_test(cancel_without_cleanup_block_finishes_cancelled),
        cmocka_unit_test(cancel_after_restart_runs_cleanup),
        cmocka_unit_test(frame_sizes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
