/*
 * Out of memory at every allocation site, in turn.
 *
 * Each scenario runs once to count the allocations weft makes from start to finish (runtime init
 * to runtime close), then once more for each k, with the k-th allocation failing. Every run must:
 *   - end every operation with its result or a documented error (-ENOMEM from an API call, the
 *     server's 503 or a closed connection for a client whose request it could not take on, ...);
 *   - leave the other tasks unharmed: one failed allocation fails at most one request, and the
 *     bystander task that only sleeps always finishes;
 *   - leak nothing: every block freed (the wrappers' live count), every fd closed.
 * Linked with -Wl,--wrap=malloc,calloc,realloc,free (fault_alloc.c).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fault.h"
#include "weft_test.h"
#include "world.h"

/* ============================================================================================
 * A crowd of tasks: table growth, timer-heap growth, runtime-allocated frames
 * ========================================================================================== */

/* A sleeper whose frame the runtime allocates (weft_task_spawn_new). */
struct sleeper {
    weft_co co;
    int64_t wake;
    int *finished;
};

static int sleeper_task(void *frame, weft_cx *cx)
{
    struct sleeper *f = frame;
    WEFT_BEGIN(&f->co);
    WEFT_AWAIT(&f->co, weft_sleep_for(&f->wake, WEFT_MSEC(1), cx));
    ++*f->finished;
    WEFT_END(&f->co, 0);
}

enum {
    CROWD = 300
}; /* over one chunk of task records (256), several doublings of the timer heap */

/* Returns the number of sleepers spawned; *finished counts those that ran to the end. */
static int crowd_run(int *finished, int *init_result)
{
    weft_runtime rt;
    *finished = 0;
    *init_result = weft_runtime_init(&rt);
    if (*init_result < 0) return 0;
    int spawned = 0;
    for (int i = 0; i < CROWD; i++) {
        struct sleeper *s = weft_task_spawn_new(&rt, sleeper_task, sizeof *s, NULL);
        if (!s) continue; /* out of memory: documented as NULL, nothing spawned */
        s->finished = finished;
        spawned++;
    }
    assert_int_equal(weft_runtime_run(&rt), 0);
    assert_int_equal(weft_runtime_close(&rt), 0);
    return spawned;
}

static void crowd_every_allocation_fails_once(void **state)
{
    (void)state;
    struct leak_snapshot before = leak_snapshot_take();
    int finished, init;
    fault_alloc_fail_at(0);
    assert_int_equal(crowd_run(&finished, &init), CROWD);
    assert_int_equal(finished, CROWD);
    long total = fault_alloc_count();
    expect_no_leak(before, "crowd, no fault");
    for (long k = 1; k <= total; k++) {
        char what[128];
        snprintf(what, sizeof what, "crowd, allocation %ld of %ld fails", k, total);
        fault_alloc_fail_at(k);
        int spawned = crowd_run(&finished, &init);
        assert_true(fault_alloc_failed());
        if (init < 0) {
            assert_int_equal(init, -ENOMEM);
        } else {
            /* Only a spawn can fail for good; a timer that could not be armed is retried. */
            if (spawned < CROWD - 1) fail_msg("%s: %d spawned", what, spawned);
            if (finished != spawned) fail_msg("%s: %d of %d finished", what, finished, spawned);
        }
        fault_alloc_fail_at(0);
        expect_no_leak(before, what);
    }
    print_message("crowd: %ld allocations, each failed once\n", total);
}

/* ============================================================================================
 * Fetches against the embedded delay server
 * ========================================================================================== */

/* What a request may end with when one allocation failed: the client's own -ENOMEM; the server
 * could not take the connection on (it closes it: no response, or a reset if the request was
 * unread); the server could not take the request on (503, or a close if even that failed). */
static const int oom_outcomes[] = {-ENOMEM, WEFT_EHTTP_NORESPONSE, -ECONNRESET, -EPIPE,
                                   503,     WEFT_EHTTP_TRUNCATED};

static struct trio trio;
static struct world world;

struct fetch_outcome {
    int open;   /* world_open's result */
    int run;    /* run_tasks' result */
    int failed; /* requests (and spawns) that ended with an error */
    int close;  /* world_close's result */
};

static struct fetch_outcome fetch_run(const char *what)
{
    struct fetch_outcome o = {0};
    o.open = world_open(&world, NULL, NULL);
    if (o.open < 0) return o;
    o.run = trio_run(&trio, &world);
    if (o.run == 0) o.failed = trio_failures(&trio, oom_outcomes, 6, what);
    o.close = world_close(&world);
    return o;
}

static void fetch_every_allocation_fails_once(void **state)
{
    (void)state;
    struct leak_snapshot before = leak_snapshot_take();
    fault_alloc_fail_at(0);
    struct fetch_outcome o = fetch_run("no fault");
    assert_int_equal(o.open, 0);
    assert_int_equal(o.run, 0);
    assert_int_equal(o.failed, 0);
    assert_int_equal(o.close, 0);
    long total = fault_alloc_count();
    expect_no_leak(before, "fetch, no fault");

    int open_failed = 0, request_failed = 0, unnoticed = 0;
    for (long k = 1; k <= total; k++) {
        char what[128];
        snprintf(what, sizeof what, "fetch, allocation %ld of %ld fails", k, total);
        fault_alloc_fail_at(k);
        o = fetch_run(what);
        assert_true(fault_alloc_failed());
        fault_alloc_fail_at(0);
        if (o.open < 0) {
            if (o.open != -ENOMEM) fail_msg("%s: world_open: %s", what, weft_strerror(o.open));
            open_failed++;
        } else {
            if (o.run != 0 && o.run != -ENOMEM) fail_msg("%s: run: %d", what, o.run);
            if (o.failed > 1) fail_msg("%s: %d requests failed", what, o.failed);
            if (o.close != 0 && o.close != -ENOMEM && o.close != -EBUSY)
                fail_msg("%s: close: %s", what, weft_strerror(o.close));
            request_failed += o.failed;
            unnoticed += o.failed == 0 && o.run == 0;
        }
        expect_no_leak(before, what);
        if (getenv("WEFT_FAULT_VERBOSE"))
            print_message("%s: open %d run %d: a %d %d, b %d; spawns %d %d %d; close %d\n", what,
                          o.open, o.run, trio.a.result[0], trio.a.result[1], trio.b.result[0],
                          trio.set.spawned[0], trio.set.spawned[1], trio.set.spawned[2], o.close);
    }
    print_message("fetch: %ld allocations, each failed once: %d at start-up, %d cost a request, "
                  "%d absorbed (retried or not needed)\n",
                  total, open_failed, request_failed, unnoticed);
}

/* ============================================================================================
 * A channel pipeline: wait records and queues of weft/sync.h
 * ========================================================================================== */

static struct pipeline pipeline_frame;

/* Runs the pipeline in a runtime of its own; returns its result (or the runtime's error). */
static int pipeline_run(void)
{
    weft_runtime rt;
    int r = weft_runtime_init(&rt);
    if (r < 0) return r;
    memset(&pipeline_frame, 0, sizeof pipeline_frame);
    r = weft_runtime_block_on(&rt, pipeline_task, &pipeline_frame);
    assert_int_equal(weft_runtime_close(&rt), 0);
    return r;
}

static void pipeline_every_allocation_fails_once(void **state)
{
    (void)state;
    struct leak_snapshot before = leak_snapshot_take();
    fault_alloc_fail_at(0);
    assert_int_equal(pipeline_run(), 0);
    long total = fault_alloc_count();
    expect_no_leak(before, "pipeline, no fault");
    int failed = 0;
    for (long k = 1; k <= total; k++) {
        char what[128];
        snprintf(what, sizeof what, "pipeline, allocation %ld of %ld fails", k, total);
        fault_alloc_fail_at(k);
        int r = pipeline_run();
        assert_true(fault_alloc_failed());
        fault_alloc_fail_at(0);
        /* Every stage ends: with the sum, or with -ENOMEM from an init or a wait. */
        if (r != 0 && r != -ENOMEM) fail_msg("%s: %s", what, weft_strerror(r));
        failed += r != 0;
        expect_no_leak(before, what);
    }
    print_message("pipeline: %ld allocations, each failed once: %d ended with -ENOMEM\n", total,
                  failed);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(crowd_every_allocation_fails_once),
        cmocka_unit_test(fetch_every_allocation_fails_once),
        cmocka_unit_test(pipeline_every_allocation_fails_once),
    };
    return cmocka_run_group_tests_name("fault_alloc", tests, NULL, NULL);
}
