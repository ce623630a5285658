#define _POSIX_C_SOURCE 200809L /* fork, waitpid */
/*
 * Tests of the coroutine macros (weft/coro.h), driven by hand: no runtime, no I/O. The same file
 * is built under both resume-point implementations (WEFT_CORO_LABELS=1 and 0).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

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

/* A body with no suspension at all compiles under both implementations (clang once rejected it
 * under label addresses: an indirect goto with no label address taken) and finishes at once. */
static int no_suspension(struct counter *f, weft_cx *cx)
{
    (void)cx;
    WEFT_BEGIN(&f->co);
    f->after = 5;
    WEFT_END(&f->co, 7);
}

static void body_without_suspension_finishes_at_once(void **state)
{
    (void)state;
    struct counter f = {.n = 0};
    assert_int_equal(no_suspension(&f, NULL), 7);
    assert_int_equal(f.after, 5);
    assert_true(weft_co_done(&f.co));
}

/* Runs misuse() in a child process with weft_co_abort_on_misuse set: it must die of SIGABRT. */
static void assert_misuse_aborts(void (*misuse)(void))
{
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        weft_co_abort_on_misuse = true;
        misuse();
        _exit(2); /* not reached if it aborted */
    }
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFSIGNALED(status));
    assert_int_equal(WTERMSIG(status), SIGABRT);
}

static void poll_a_finished_counter(void)
{
    weft_cx cx = {0};
    struct counter f = {.n = 0};
    if (counter(&f, &cx) != 0) _exit(1);
    (void)counter(&f, &cx); /* aborts */
}

/* With weft_co_abort_on_misuse (the default in debug builds) the same poll aborts and says where.
 */
static void finished_coroutine_polled_again_aborts_when_asked(void **state)
{
    (void)state;
    assert_misuse_aborts(poll_a_finished_counter);
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

/* The suspension macros are single statements: usable as unbraced if/else branches. */
struct unbraced {
    weft_co co;
    int flag, skipped;
};

static int unbraced(struct unbraced *f, weft_cx *cx)
{
    (void)cx;
    WEFT_BEGIN(&f->co);
    if (f->flag)
        WEFT_YIELD(&f->co);
    else
        f->skipped++;
    if (!f->flag)
        WEFT_WAIT_UNTIL(&f->co, f->flag);
    else
        f->skipped += 10;
    WEFT_END(&f->co, f->skipped);
}

static void macros_are_single_statements(void **state)
{
    (void)state;
    struct unbraced a = {.flag = 1};
    assert_int_equal(unbraced(&a, NULL), WEFT_PENDING);
    assert_int_equal(unbraced(&a, NULL), 10);
    struct unbraced b = {0};
    assert_int_equal(unbraced(&b, NULL), WEFT_PENDING);
    b.flag = 1;
    assert_int_equal(unbraced(&b, NULL), 1);
    assert_true(weft_pending(WEFT_PENDING));
    assert_false(weft_pending(0));
    assert_false(weft_pending(-EAGAIN));
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

/* ---- cancelling a running coroutine: misuse, caught by debug builds ---------------------- */

/* A child that, on its second poll, cancels the parent awaiting it: the parent is running. */
struct rebel {
    weft_co co;
    weft_co *parent;
    int cancel_ret;
};

static int rebel(struct rebel *f, weft_cx *cx)
{
    (void)cx;
    WEFT_BEGIN(&f->co);
    WEFT_YIELD(&f->co);
    f->cancel_ret = weft_co_cancel(f->parent);
    WEFT_YIELD(&f->co);
    WEFT_END(&f->co, 0);
}

struct rebels_parent {
    weft_co co;
    struct rebel kid;
    int r, after, cleanups;
};

static int rebels_parent(struct rebels_parent *f, weft_cx *cx)
{
    WEFT_BEGIN(&f->co);
    f->kid.parent = &f->co;
    WEFT_AWAIT_CHILD(&f->co, &f->kid.co, f->r, rebel(&f->kid, cx));
    f->after++;
    WEFT_ON_CANCEL(&f->co);
    WEFT_CANCEL_CHILD(&f->kid.co, rebel(&f->kid, cx));
    f->cleanups++;
    WEFT_END(&f->co, 5);
}

#ifndef NDEBUG
enum misuse { CANCEL_SELF_FIRST_POLL, CANCEL_SELF_LATER, SUSPEND_IN_CLEANUP };

struct misuser {
    weft_co co;
    enum misuse how;
    int cancel_ret, after, cleanups;
};

static int misuser(struct misuser *f, weft_cx *cx)
{
    (void)cx;
    WEFT_BEGIN(&f->co);
    if (f->how == CANCEL_SELF_FIRST_POLL) f->cancel_ret = weft_co_cancel(&f->co);
    WEFT_YIELD(&f->co);
    if (f->how == CANCEL_SELF_LATER) f->cancel_ret = weft_co_cancel(&f->co);
    WEFT_YIELD(&f->co);
    f->after++;
    WEFT_ON_CANCEL(&f->co);
    f->cleanups++;
    if (f->how == SUSPEND_IN_CLEANUP) WEFT_YIELD(&f->co); /* forbidden: caught */
    WEFT_END(&f->co, 7);
}

/* Each misuse is stopped at the suspension that would have dropped the cancel. */
static void cancel_of_a_running_coroutine_is_caught(void **state)
{
    (void)state;
    struct misuser first = {.how = CANCEL_SELF_FIRST_POLL};
    assert_int_equal(misuser(&first, NULL), WEFT_ECOCANCEL);
    assert_int_equal(first.cancel_ret, 0);

    struct misuser later = {.how = CANCEL_SELF_LATER};
    assert_int_equal(misuser(&later, NULL), WEFT_PENDING);
    assert_int_equal(misuser(&later, NULL), WEFT_ECOCANCEL);
    assert_int_equal(later.cancel_ret, 1);

    struct misuser cleanup = {.how = SUSPEND_IN_CLEANUP};
    assert_int_equal(misuser(&cleanup, NULL), WEFT_PENDING);
    assert_int_equal(weft_co_cancel(&cleanup.co), 1);
    assert_int_equal(misuser(&cleanup, NULL), WEFT_ECOCANCEL); /* never WEFT_PENDING */
    assert_int_equal(cleanup.cleanups, 1);

    struct misuser *all[] = {&first, &later, &cleanup};
    for (size_t i = 0; i < 3; i++) {
        assert_true(weft_co_done(&all[i]->co));
        assert_int_equal(all[i]->after, 0);
        assert_int_equal(misuser(all[i], NULL), WEFT_EFINISHED);
    }
    assert_int_equal(first.cleanups + later.cleanups, 0);
}

static void child_cancelling_its_awaiting_parent_is_caught(void **state)
{
    (void)state;
    struct rebels_parent f = {0};
    assert_int_equal(rebels_parent(&f, NULL), WEFT_PENDING);
    assert_int_equal(rebels_parent(&f, NULL), WEFT_ECOCANCEL);
    assert_int_equal(f.kid.cancel_ret, 1);
    assert_true(weft_co_done(&f.co));
    assert_int_equal(f.after + f.cleanups, 0);
}

static void let_a_child_cancel_its_parent(void)
{
    struct rebels_parent f = {0};
    if (rebels_parent(&f, NULL) != WEFT_PENDING) _exit(1);
    (void)rebels_parent(&f, NULL); /* aborts */
}

static void cancel_of_a_running_coroutine_aborts_when_asked(void **state)
{
    (void)state;
    assert_misuse_aborts(let_a_child_cancel_its_parent);
}
#endif

/* The documented way to stop: the parent cancels its child between polls, when nothing runs. */
static void parent_cancelled_between_polls_cancels_its_child(void **state)
{
    (void)state;
    struct rebels_parent f = {0};
    assert_int_equal(rebels_parent(&f, NULL), WEFT_PENDING);
    assert_int_equal(weft_co_cancel(&f.co), 1);
    assert_int_equal(rebels_parent(&f, NULL), -ECANCELED);
    assert_int_equal(f.cleanups, 1);
    assert_true(weft_co_done(&f.kid.co));
    assert_int_equal(f.kid.cancel_ret, 0); /* the kid never got to its cancel call */
}

/* ---- three levels: parent awaits child awaits grandchild --------------------------------- */

static char trail[64]; /* the order in which cleanups ran, one letter each */

static void trail_add(char c)
{
    size_t n = strlen(trail);
    if (n + 1 >= sizeof trail) return;
    trail[n] = c;
    trail[n + 1] = '\0';
}

struct grandchild {
    weft_co co;
    int left, result;
};

static int grandchild(struct grandchild *f, weft_cx *cx)
{
    (void)cx;
    WEFT_BEGIN(&f->co);
    WEFT_WAIT_UNTIL(&f->co, f->left-- <= 0);
    WEFT_ON_CANCEL(&f->co);
    trail_add('g');
    WEFT_END(&f->co, f->result);
}

struct child {
    weft_co co;
    struct grandchild gc;
    int r;
};

static int child(struct child *f, weft_cx *cx)
{
    WEFT_BEGIN(&f->co);
    WEFT_AWAIT_CHILD(&f->co, &f->gc.co, f->r, grandchild(&f->gc, cx));
    if (f->r < 0) WEFT_RETURN(&f->co, f->r);
    WEFT_YIELD(&f->co);
    WEFT_ON_CANCEL(&f->co);
    WEFT_CANCEL_CHILD(&f->gc.co, grandchild(&f->gc, cx));
    trail_add('c');
    WEFT_END(&f->co, f->r * 2);
}

struct parent {
    weft_co co;
    struct child ch;
    int r;
};

static int parent(struct parent *f, weft_cx *cx)
{
    WEFT_BEGIN(&f->co);
    WEFT_AWAIT_CHILD(&f->co, &f->ch.co, f->r, child(&f->ch, cx));
    if (f->r < 0) WEFT_RETURN(&f->co, f->r);
    WEFT_ON_CANCEL(&f->co);
    WEFT_CANCEL_CHILD(&f->ch.co, child(&f->ch, cx));
    trail_add('p');
    WEFT_END(&f->co, f->r + 1);
}

/* Poll a parent until it finishes (at most 20 polls); return its result. */
static int run_parent(struct parent *f, int *polls)
{
    int r = WEFT_PENDING;
    for (*polls = 0; *polls < 20 && r == WEFT_PENDING; ++*polls)
        r = parent(f, NULL);
    return r;
}

static void three_levels_propagate_a_result(void **state)
{
    (void)state;
    struct parent f = {.ch.gc = {.left = 2, .result = 20}};
    int polls;
    assert_int_equal(run_parent(&f, &polls), 41);
    assert_int_equal(polls, 4); /* two grandchild waits, one child yield, then done */
    assert_true(weft_co_done(&f.ch.co));
    assert_true(weft_co_done(&f.ch.gc.co));
}

static void three_levels_propagate_an_error(void **state)
{
    (void)state;
    struct parent f = {.ch.gc = {.left = 1, .result = -ECONNRESET}};
    int polls;
    assert_int_equal(run_parent(&f, &polls), -ECONNRESET);
    assert_int_equal(polls, 2);
    assert_int_equal(f.ch.r, -ECONNRESET);
}

static void three_levels_cancel_innermost_first(void **state)
{
    (void)state;
    struct parent f = {.ch.gc = {.left = 5, .result = 1}};
    trail[0] = '\0';
    assert_int_equal(parent(&f, NULL), WEFT_PENDING);
    assert_int_equal(weft_co_cancel(&f.co), 1);
    assert_int_equal(parent(&f, NULL), -ECANCELED);
    assert_string_equal(trail, "gcp");
    assert_true(weft_co_done(&f.ch.co));
    assert_true(weft_co_done(&f.ch.gc.co));
    assert_int_equal(parent(&f, NULL), WEFT_EFINISHED);
    assert_string_equal(trail, "gcp");
}

/* Cancelled while the child is past its own wait: the finished grandchild has nothing to clean. */
static void three_levels_cancel_skips_finished_children(void **state)
{
    (void)state;
    struct parent f = {.ch.gc = {.left = 0, .result = 1}};
    trail[0] = '\0';
    assert_int_equal(parent(&f, NULL), WEFT_PENDING); /* the child's YIELD */
    assert_true(weft_co_done(&f.ch.gc.co));
    assert_int_equal(weft_co_cancel(&f.co), 1);
    assert_int_equal(parent(&f, NULL), -ECANCELED);
    assert_string_equal(trail, "cp");
}

/* ---- where a coroutine waits ------------------------------------------------------------- */

static void site_records_the_innermost_suspension(void **state)
{
    (void)state;
    struct parent f = {.ch.gc = {.left = 1, .result = 3}};
    weft_co_site_clear();
    assert_null(weft_co_site_get().file);
    assert_int_equal(parent(&f, NULL), WEFT_PENDING);
    weft_co_site site = weft_co_site_get();
    assert_non_null(site.file);
    assert_string_equal(site.func, "grandchild");
    assert_non_null(strstr(site.file, "test_coro.c"));
    assert_true(site.line > 0);

    /* Not cleared: the next suspension (the child's YIELD) does not overwrite it. */
    assert_int_equal(parent(&f, NULL), WEFT_PENDING);
    assert_string_equal(weft_co_site_get().func, "grandchild");

    weft_co_site_clear();
    assert_int_equal(parent(&f, NULL), 7);
    assert_null(weft_co_site_get().file); /* finishing records nothing */
}

static int yield_here_line;

static int yield_here(struct counter *f, weft_cx *cx)
{
    (void)cx;
    WEFT_BEGIN(&f->co);
    yield_here_line = __LINE__ + 1;
    WEFT_YIELD(&f->co);
    WEFT_END(&f->co, 0);
}

static void site_line_is_the_suspension_macro(void **state)
{
    (void)state;
    struct counter f = {0};
    weft_co_site_clear();
    assert_int_equal(yield_here(&f, NULL), WEFT_PENDING);
    assert_int_equal(weft_co_site_get().line, yield_here_line);
    assert_string_equal(weft_co_site_get().func, "yield_here");
}

/* A driver whose polls nest saves the outer record and puts it back. */
static void site_can_be_saved_and_restored(void **state)
{
    (void)state;
    struct counter outer = {.n = 1}, inner = {.n = 1};
    weft_cx cx = {0};
    weft_co_site_clear();
    assert_int_equal(counter(&outer, &cx), WEFT_PENDING);
    const weft_co_site *saved = weft_co_site_where();
    assert_non_null(saved);
    weft_co_site_clear();
    assert_int_equal(yield_here(&inner, NULL), WEFT_PENDING);
    assert_string_equal(weft_co_site_get().func, "yield_here");
    assert_true(weft_co_site_where() != saved); /* each suspension macro has its own record */
    weft_co_site_restore(saved);
    assert_ptr_equal(weft_co_site_where(), saved);
    assert_string_equal(weft_co_site_get().func, "counter");
    assert_int_equal(weft_co_site_get().line, saved->line);
}

/* ---- generators -------------------------------------------------------------------------- */

struct fib {
    weft_co co;
    int a, b, limit;
    int value;
    int cleanups;
};

static int fib(struct fib *g, weft_cx *cx)
{
    (void)cx;
    WEFT_BEGIN(&g->co);
    for (g->a = 0, g->b = 1; g->a <= g->limit; g->b += g->a, g->a = g->b - g->a)
        WEFT_YIELD_VALUE(&g->co, g->value, g->a);
    WEFT_ON_CANCEL(&g->co);
    g->cleanups++;
    WEFT_END(&g->co, 0);
}

static void generator_yields_a_sequence(void **state)
{
    (void)state;
    struct fib g = {.limit = 20};
    int got[16], n = 0;
    while (n < 16 && fib(&g, NULL) == WEFT_PENDING)
        got[n++] = g.value;
    const int want[] = {0, 1, 1, 2, 3, 5, 8, 13};
    assert_int_equal(n, 8);
    assert_memory_equal(got, want, sizeof want);
    assert_true(weft_co_done(&g.co));
    assert_int_equal(fib(&g, NULL), WEFT_EFINISHED);
}

static void generator_can_be_abandoned_through_cancel(void **state)
{
    (void)state;
    struct fib g = {.limit = 1000};
    for (int k = 0; k < 3; k++)
        assert_int_equal(fib(&g, NULL), WEFT_PENDING);
    assert_int_equal(weft_co_cancel(&g.co), 1);
    assert_int_equal(fib(&g, NULL), -ECANCELED);
    assert_int_equal(g.cleanups, 1);
}

/* A coroutine consuming a generator: one value per poll of the generator. */
struct summer {
    weft_co co;
    struct fib gen;
    int sum, r;
};

static int summer(struct summer *f, weft_cx *cx)
{
    WEFT_BEGIN(&f->co);
    weft_co_init(&f->gen.co);
    while ((f->r = fib(&f->gen, cx)) == WEFT_PENDING) {
        f->sum += f->gen.value;
        WEFT_YIELD(&f->co); /* one value per poll, to show the consumer can suspend too */
    }
    WEFT_END(&f->co, f->r < 0 ? f->r : f->sum);
}

static void generator_consumed_by_a_coroutine(void **state)
{
    (void)state;
    struct summer f = {.gen.limit = 10};
    int r = WEFT_PENDING, polls = 0;
    while (r == WEFT_PENDING && polls++ < 20)
        r = summer(&f, NULL);
    assert_int_equal(r, 0 + 1 + 1 + 2 + 3 + 5 + 8);
    assert_int_equal(polls, 8); /* seven values, then the end */
}

/* ---- switch statements inside a body ----------------------------------------------------- */

#if WEFT_CORO_LABELS
/* Under label addresses, a suspension may sit inside a switch of the body. */
struct switcher {
    weft_co co;
    int kind, steps;
};

static int switcher(struct switcher *f, weft_cx *cx)
{
    (void)cx;
    WEFT_BEGIN(&f->co);
    for (f->steps = 0; f->steps < 3; f->steps++) {
        switch (f->kind) {
        case 1:
            WEFT_YIELD(&f->co);
            f->kind = 2;
            break;
        case 2:
            WEFT_YIELD(&f->co);
            WEFT_YIELD(&f->co);
            f->kind = 1;
            break;
        default:
            WEFT_RETURN(&f->co, -EINVAL);
        }
    }
    WEFT_END(&f->co, f->kind);
}

static void switch_inside_body_under_labels(void **state)
{
    (void)state;
    struct switcher f = {.kind = 1};
    int r = WEFT_PENDING, polls = 0;
    while (r == WEFT_PENDING && polls++ < 20)
        r = switcher(&f, NULL);
    assert_int_equal(r, 2);     /* 1 -> 2 -> 1 -> 2 */
    assert_int_equal(polls, 5); /* yields: 1 + 2 + 1, then done */
    struct switcher bad = {.kind = 9};
    assert_int_equal(switcher(&bad, NULL), -EINVAL);
}
#else
/*
 * Under the switch implementation the same code compiles but loses its resume point (trap 2 in
 * coro.h). weft detects it on the poll after the suspension: in a debug build that aborts, in a
 * release build it returns WEFT_ECORESUME. Run it in a child process so that both can be checked.
 */
struct trapped {
    weft_co co;
    int kind;
};

static int trapped(struct trapped *f, weft_cx *cx)
{
    (void)cx;
    WEFT_BEGIN(&f->co);
    switch (f->kind) {
    case 1:
        WEFT_YIELD(&f->co); /* its case label belongs to switch (f->kind): the trap */
        break;
    default:
        break;
    }
    WEFT_END(&f->co, 0);
}

/* Runs the trap in a child process with weft_co_abort_on_misuse set as asked. */
static int run_trap_in_child(bool abort_on_misuse)
{
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        weft_co_abort_on_misuse = abort_on_misuse;
        struct trapped f = {.kind = 1};
        int first = trapped(&f, NULL);
        int second = trapped(&f, NULL); /* aborts here when asked to */
        int third = trapped(&f, NULL);
        _exit(first == WEFT_PENDING && second == WEFT_ECORESUME && third == WEFT_EFINISHED ? 42
                                                                                           : 1);
    }
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    return status;
}

static void switch_trap_is_detected_under_switch(void **state)
{
    (void)state;
    int status = run_trap_in_child(false);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 42);
    status = run_trap_in_child(true);
    assert_true(WIFSIGNALED(status));
    assert_int_equal(WTERMSIG(status), SIGABRT);
}
#endif

/* A switch with no suspension inside is fine under both implementations. */
static int classify(struct counter *f, weft_cx *cx)
{
    (void)cx;
    WEFT_BEGIN(&f->co);
    for (f->i = 0; f->i < 4; f->i++) {
        switch (f->i % 2) {
        case 0:
            f->after += 1;
            break;
        default:
            f->after += 10;
            break;
        }
        WEFT_YIELD(&f->co);
    }
    WEFT_END(&f->co, f->after);
}

static void switch_without_suspension_is_fine(void **state)
{
    (void)state;
    struct counter f = {0};
    int r = WEFT_PENDING, polls = 0;
    while (r == WEFT_PENDING && polls++ < 10)
        r = classify(&f, NULL);
    assert_int_equal(r, 22);
    assert_int_equal(polls, 5);
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
    /* These tests check the defined results of misuse (WEFT_EFINISHED); debug builds would abort.
     */
    weft_co_abort_on_misuse = false;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(yield_suspends_once_per_yield),
        cmocka_unit_test(finished_coroutine_polled_again_returns_efinished),
        cmocka_unit_test(finished_coroutine_polled_again_aborts_when_asked),
        cmocka_unit_test(body_without_suspension_finishes_at_once),
        cmocka_unit_test(init_starts_over),
        cmocka_unit_test(wait_until_and_while_recheck_on_every_poll),
        cmocka_unit_test(wait_until_true_does_not_suspend),
        cmocka_unit_test(await_repeats_expression_until_not_pending),
        cmocka_unit_test(macros_are_single_statements),
        cmocka_unit_test(return_finishes_early_with_an_error),
        cmocka_unit_test(restart_runs_the_body_again),
        cmocka_unit_test(cancel_runs_cleanup_exactly_once),
        cmocka_unit_test(cleanup_never_runs_on_normal_completion),
        cmocka_unit_test(cancel_of_never_started_or_finished_is_a_noop),
        cmocka_unit_test(cancel_without_cleanup_block_finishes_cancelled),
        cmocka_unit_test(cancel_after_restart_runs_cleanup),
#ifndef NDEBUG
        cmocka_unit_test(cancel_of_a_running_coroutine_is_caught),
        cmocka_unit_test(child_cancelling_its_awaiting_parent_is_caught),
        cmocka_unit_test(cancel_of_a_running_coroutine_aborts_when_asked),
#endif
        cmocka_unit_test(parent_cancelled_between_polls_cancels_its_child),
        cmocka_unit_test(three_levels_propagate_a_result),
        cmocka_unit_test(three_levels_propagate_an_error),
        cmocka_unit_test(three_levels_cancel_innermost_first),
        cmocka_unit_test(three_levels_cancel_skips_finished_children),
        cmocka_unit_test(site_records_the_innermost_suspension),
        cmocka_unit_test(site_line_is_the_suspension_macro),
        cmocka_unit_test(site_can_be_saved_and_restored),
        cmocka_unit_test(generator_yields_a_sequence),
        cmocka_unit_test(generator_can_be_abandoned_through_cancel),
        cmocka_unit_test(generator_consumed_by_a_coroutine),
#if WEFT_CORO_LABELS
        cmocka_unit_test(switch_inside_body_under_labels),
#else
        cmocka_unit_test(switch_trap_is_detected_under_switch),
#endif
        cmocka_unit_test(switch_without_suspension_is_fine),
        cmocka_unit_test(frame_sizes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
