/*
 * Tests of the combinators (weft_co_join, weft_co_select, weft_co_children_cancel): children
 * finishing in every order, results kept, losers cancelled through the cancel protocol with their
 * cleanup run exactly once, and a parent cancelled while it waits on a combinator.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "weft/coro.h"

struct weft_cx {
    int unused;
};

/*
 * A child that needs `delay` polls (delay == 0: done on its first poll), then finishes with
 * `result`. It counts its polls and its cleanups.
 */
struct task {
    weft_co co;
    int delay, result;
    int polls, cleanups, cancel_polls;
};

static int task(struct task *t, weft_cx *cx)
{
    (void)cx;
    t->polls++;
    WEFT_BEGIN(&t->co);
    WEFT_WAIT_UNTIL(&t->co, t->delay-- <= 0);
    WEFT_ON_CANCEL(&t->co);
    t->cleanups++;
    WEFT_END(&t->co, t->result);
}

WEFT_CO_FN(task_fn, task, struct task)

#define NKIDS 3

/* A parent running NKIDS tasks through join (mode 0) or select (mode 1). */
struct parent {
    weft_co co;
    int mode;
    struct task tasks[NKIDS];
    weft_co_child kids[NKIDS];
    int r;
    int cleanups;
};

static int parent(struct parent *f, weft_cx *cx)
{
    WEFT_BEGIN(&f->co);
    for (int i = 0; i < NKIDS; i++) /* a local: no suspension in between */
        weft_co_child_init(&f->kids[i], task_fn, &f->tasks[i]);
    if (f->mode == 0)
        WEFT_AWAIT(&f->co, f->r = weft_co_join(f->kids, NKIDS, cx));
    else
        WEFT_AWAIT(&f->co, f->r = weft_co_select(f->kids, NKIDS, cx));
    WEFT_ON_CANCEL(&f->co);
    weft_co_children_cancel(f->kids, NKIDS, cx);
    f->cleanups++;
    WEFT_END(&f->co, f->r);
}

/* Poll until done (bounded); return the result and the number of polls. */
static int run(struct parent *f, int *polls)
{
    int r = WEFT_PENDING;
    for (*polls = 0; *polls < 50 && r == WEFT_PENDING; ++*polls)
        r = parent(f, NULL);
    return r;
}

/* The six orders of three children: delays[perm][child]. */
static const int orders[6][NKIDS] = {{1, 2, 3}, {1, 3, 2}, {2, 1, 3},
                                     {2, 3, 1}, {3, 1, 2}, {3, 2, 1}};

static void setup_parent(struct parent *f, int mode, const int *delays)
{
    memset(f, 0, sizeof *f);
    f->mode = mode;
    for (int i = 0; i < NKIDS; i++) {
        f->tasks[i].delay = delays[i];
        f->tasks[i].result = 100 + i;
    }
}

static void join_waits_for_all_in_every_order(void **state)
{
    (void)state;
    for (int p = 0; p < 6; p++) {
        struct parent f;
        setup_parent(&f, 0, orders[p]);
        f.tasks[1].result = -EPIPE; /* one child fails: the others still run to the end */
        int polls;
        assert_int_equal(run(&f, &polls), 0);
        assert_int_equal(polls, 4); /* the slowest child needs 3 pending polls */
        assert_int_equal(f.kids[0].result, 100);
        assert_int_equal(f.kids[1].result, -EPIPE);
        assert_int_equal(f.kids[2].result, 102);
        for (int i = 0; i < NKIDS; i++) {
            assert_int_equal(f.tasks[i].polls, orders[p][i] + 1); /* never polled once done */
            assert_int_equal(f.tasks[i].cleanups, 0);
            assert_true(weft_co_done(&f.tasks[i].co));
        }
        assert_int_equal(f.cleanups, 0);
    }
}

static int index_of_fastest(const int *delays)
{
    int best = 0;
    for (int i = 1; i < NKIDS; i++)
        if (delays[i] < delays[best]) best = i;
    return best;
}

static void select_takes_the_first_in_every_order(void **state)
{
    (void)state;
    for (int p = 0; p < 6; p++) {
        struct parent f;
        setup_parent(&f, 1, orders[p]);
        int winner = index_of_fastest(orders[p]);
        int polls;
        assert_int_equal(run(&f, &polls), winner);
        assert_int_equal(polls, 2); /* the fastest child is pending once */
        for (int i = 0; i < NKIDS; i++) {
            weft_co_child *kid = &f.kids[i];
            assert_true(weft_co_done(&f.tasks[i].co));
            if (i == winner) {
                assert_int_equal(kid->result, 100 + i);
                assert_int_equal(f.tasks[i].cleanups, 0);
            } else {
                assert_int_equal(kid->result, -ECANCELED); /* told so */
                assert_int_equal(f.tasks[i].cleanups, 1);  /* exactly once */
            }
        }
        /* Nothing runs a loser's cleanup again: not the finished parent, not a second cancel. */
        assert_int_equal(parent(&f, NULL), WEFT_EFINISHED);
        weft_co_children_cancel(f.kids, NKIDS, NULL);
        for (int i = 0; i < NKIDS; i++)
            assert_int_equal(f.tasks[i].cleanups, i == winner ? 0 : 1);
        assert_int_equal(f.cleanups, 0);
    }
}

/* Ties: on the poll where several children finish, the lowest index wins. */
static void select_tie_goes_to_the_lowest_index(void **state)
{
    (void)state;
    struct parent f;
    setup_parent(&f, 1, (const int[]){2, 1, 1});
    int polls;
    assert_int_equal(run(&f, &polls), 1);
    assert_int_equal(f.kids[2].result, -ECANCELED);
    assert_int_equal(f.tasks[2].cleanups, 1);
    assert_int_equal(f.tasks[0].cleanups, 1);
}

/* A child done on its first poll wins before the later ones ever start: they need no cleanup. */
static void select_losers_never_started_get_no_cleanup(void **state)
{
    (void)state;
    struct parent f;
    setup_parent(&f, 1, (const int[]){0, 5, 5});
    int polls;
    assert_int_equal(run(&f, &polls), 0);
    assert_int_equal(polls, 1);
    for (int i = 1; i < NKIDS; i++) {
        assert_int_equal(f.tasks[i].polls, 0);
        assert_int_equal(f.tasks[i].cleanups, 0);
        assert_int_equal(f.kids[i].result, -ECANCELED);
        assert_true(weft_co_done(&f.tasks[i].co));
    }
}

/* A winner that fails still wins: the error is its result. */
static void select_winner_may_be_an_error(void **state)
{
    (void)state;
    struct parent f;
    setup_parent(&f, 1, (const int[]){3, 1, 2});
    f.tasks[1].result = -ETIMEDOUT;
    int polls;
    assert_int_equal(run(&f, &polls), 1);
    assert_int_equal(f.kids[1].result, -ETIMEDOUT);
}

/*
 * A combinator polled again after it returned polls nobody. join repeats its 0; select cannot
 * repeat its winner (here one that finished with -ECANCELED, like the losers) and says it is
 * finished instead of naming the wrong child.
 */
static void combinator_polled_again_after_it_returned(void **state)
{
    (void)state;
    for (int mode = 0; mode < 2; mode++) {
        struct parent f;
        setup_parent(&f, mode, (const int[]){3, 1, 2});
        f.tasks[1].result = -ECANCELED;
        int polls;
        assert_int_equal(run(&f, &polls), mode == 0 ? 0 : 1);
        int polls_before[NKIDS], results_before[NKIDS];
        for (int i = 0; i < NKIDS; i++) {
            polls_before[i] = f.tasks[i].polls;
            results_before[i] = f.kids[i].result;
        }
        for (int again = 0; again < 2; again++) {
            if (mode == 0)
                assert_int_equal(weft_co_join(f.kids, NKIDS, NULL), 0);
            else
                assert_int_equal(weft_co_select(f.kids, NKIDS, NULL), WEFT_EFINISHED);
        }
        for (int i = 0; i < NKIDS; i++) {
            assert_int_equal(f.tasks[i].polls, polls_before[i]);
            assert_int_equal(f.kids[i].result, results_before[i]);
            assert_int_equal(f.tasks[i].cleanups, mode == 1 && i != 1 ? 1 : 0);
        }
    }
}

/* The parent cancelled mid-combinator cancels its unfinished children, each cleaned up once. */
static void cancelled_parent_cancels_unfinished_children(void **state)
{
    (void)state;
    for (int mode = 0; mode < 2; mode++) {
        struct parent f;
        setup_parent(&f, mode, (const int[]){4, 1, 4});
        f.tasks[1].delay = mode == 0 ? 1 : 9; /* join: child 1 finishes before the cancel */
        assert_int_equal(parent(&f, NULL), WEFT_PENDING);
        assert_int_equal(parent(&f, NULL), WEFT_PENDING);
        assert_int_equal(weft_co_cancel(&f.co), 1);
        assert_int_equal(parent(&f, NULL), -ECANCELED);
        assert_int_equal(f.cleanups, 1);
        assert_int_equal(f.tasks[0].cleanups, 1);
        assert_int_equal(f.tasks[2].cleanups, 1);
        assert_int_equal(f.kids[0].result, -ECANCELED);
        assert_int_equal(f.kids[2].result, -ECANCELED);
        if (mode == 0) {
            assert_int_equal(f.tasks[1].cleanups, 0); /* finished normally: keeps its result */
            assert_int_equal(f.kids[1].result, 101);
        } else {
            assert_int_equal(f.tasks[1].cleanups, 1);
        }
    }
}

static void empty_sets(void **state)
{
    (void)state;
    assert_int_equal(weft_co_join(NULL, 0, NULL), 0);
    assert_int_equal(weft_co_select(NULL, 0, NULL), -EINVAL);
    weft_co_children_cancel(NULL, 0, NULL);
}

int main(void)
{
    /* These tests check the defined results of misuse (WEFT_EFINISHED); debug builds would abort.
     */
    weft_co_abort_on_misuse = false;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(join_waits_for_all_in_every_order),
        cmocka_unit_test(select_takes_the_first_in_every_order),
        cmocka_unit_test(select_tie_goes_to_the_lowest_index),
        cmocka_unit_test(select_losers_never_started_get_no_cleanup),
        cmocka_unit_test(select_winner_may_be_an_error),
        cmocka_unit_test(combinator_polled_again_after_it_returned),
        cmocka_unit_test(cancelled_parent_cancels_unfinished_children),
        cmocka_unit_test(empty_sets),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
