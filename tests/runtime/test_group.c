/*
 * Tests of weft/group.h: a graceful shutdown waits for tasks that finish before the deadline,
 * cancels (with their cleanup) those that do not, and refuses new tasks once begun.
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <weft/group.h>

#include "runtime_test.h"

/* Sleeps `ms`, counting finishes and cleanups. */
struct napper {
    weft_co co;
    int ms;
    int64_t wake;
    int *finished, *cleaned;
};

static int napper(void *frame, weft_cx *cx)
{
    struct napper *f = frame;
    WEFT_BEGIN(&f->co);
    WEFT_AWAIT(&f->co, weft_sleep_for(&f->wake, WEFT_MSEC(f->ms), cx));
    ++*f->finished;
    WEFT_ON_CANCEL(&f->co);
    ++*f->cleaned;
    WEFT_END(&f->co, 0);
}

/* Spawns tasks sleeping ms[0..n) into a group, then shuts the group down with a deadline. */
struct boss {
    weft_co co;
    weft_group g;
    const int *ms;
    int n, i;
    int64_t grace, deadline, start;
    int finished, cleaned, late_spawn, result;
};

static int boss(void *frame, weft_cx *cx)
{
    struct boss *f = frame;
    WEFT_BEGIN(&f->co);
    weft_group_init(&f->g, cx->rt);
    for (f->i = 0; f->i < f->n; f->i++) {
        struct napper *nap = weft_group_spawn_new(&f->g, napper, sizeof *nap);
        if (nap == NULL) WEFT_RETURN(&f->co, -ENOMEM);
        *nap = (struct napper){.ms = f->ms[f->i], .finished = &f->finished, .cleaned = &f->cleaned};
    }
    f->start = weft_time_now();
    f->deadline = f->start + f->grace;
    WEFT_AWAIT(&f->co, f->result = weft_group_shutdown_dl(&f->g, f->deadline, cx));
    f->late_spawn = weft_group_spawn_new(&f->g, napper, sizeof(struct napper)) == NULL;
    weft_group_destroy(&f->g);
    WEFT_END(&f->co, f->result);
}

static void group_shutdown_waits_for_tasks_that_finish_in_time(void **state)
{
    weft_runtime *rt = rt_of(state);
    const int ms[] = {5, 15, 10};
    struct boss b = {.ms = ms, .n = 3, .grace = WEFT_SEC(10)};
    assert_int_equal(weft_runtime_block_on(rt, boss, &b), 0);
    assert_int_equal(b.finished, 3);
    assert_int_equal(b.cleaned, 0);
    assert_true(weft_time_now() - b.start >= WEFT_MSEC(15));
    assert_true(b.late_spawn);
}

static void group_shutdown_cancels_stragglers_at_the_deadline(void **state)
{
    weft_runtime *rt = rt_of(state);
    /* The two that finish do so in their first poll, after the shutdown began: one that
     * slept, however briefly, could still be asleep at the 30 ms deadline on a slow machine
     * (its first poll late, its sleep counted from there). The test above has sleepers. */
    const int ms[] = {0, 60000, 0, 60000};
    struct boss b = {.ms = ms, .n = 4, .grace = WEFT_MSEC(30)};
    assert_int_equal(weft_runtime_block_on(rt, boss, &b), 2);
    assert_int_equal(b.finished, 2);
    assert_int_equal(b.cleaned, 2);
    assert_true(weft_time_now() - b.start >= WEFT_MSEC(30));
}

static void group_collects_as_it_goes(void **state)
{
    weft_runtime *rt = rt_of(state);
    weft_group g;
    weft_group_init(&g, rt);
    int finished = 0, cleaned = 0;
    for (int round = 0; round < 10; round++) {
        for (int i = 0; i < 100; i++) {
            struct napper *nap = weft_group_spawn_new(&g, napper, sizeof *nap);
            assert_non_null(nap);
            *nap = (struct napper){.finished = &finished, .cleaned = &cleaned};
        }
        assert_int_equal(weft_runtime_run(rt), 0);
        assert_int_equal(weft_group_count(&g), 0);
    }
    assert_int_equal(finished, 1000);
    assert_true(g.cap <= 128); /* finished tasks were collected, not piled up */
    assert_int_equal(weft_group_destroy(&g), 0);
    assert_int_equal(rt_stats(rt).done, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(group_shutdown_waits_for_tasks_that_finish_in_time,
                                        rt_setup, rt_teardown),
        cmocka_unit_test_setup_teardown(group_shutdown_cancels_stragglers_at_the_deadline, rt_setup,
                                        rt_teardown),
        cmocka_unit_test_setup_teardown(group_collects_as_it_goes, rt_setup, rt_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
