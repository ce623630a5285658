/*
 * Shared by the tests of weft/sync.h and its neighbours (select, signal, blocking, cross-thread,
 * group): a teardown that also checks the wait-queue machinery is empty, and a bounded way to
 * run the loop until one task has finished. Include after <cmocka.h>.
 */
#ifndef WEFT_SYNC_TEST_H
#define WEFT_SYNC_TEST_H

#include <time.h>

#include <weft/sync.h>

#include "runtime_test.h"

static inline weft_sync_stats sync_stats(weft_runtime *rt)
{
    weft_sync_stats st;
    weft_sync_get_stats(rt, &st);
    return st;
}

/* rt_teardown, after checking that no wait queue, waiter, door or job was left behind. */
static inline int sync_teardown(void **state)
{
    weft_sync_stats st = sync_stats(rt_of(state));
    assert_int_equal(st.queues, 0);
    assert_int_equal(st.waiters, 0);
    assert_int_equal(st.doors, 0);
    assert_int_equal(st.jobs, 0);
    return rt_teardown(state);
}

static inline bool task_done(weft_runtime *rt, weft_task t)
{
    weft_task_info info;
    assert_int_equal(weft_task_inspect(rt, t, &info), 0);
    return info.state == WEFT_TASK_DONE;
}

/*
 * Runs the loop (run ready tasks, park) until t has finished; fails the test after `max_parks`
 * parks. A park waits for an event or a timer: a lost wake-up can make it wait for ever, which is
 * why the test programs that use this also set an alarm().
 */
static inline void drive_until_done(weft_runtime *rt, weft_task t, int max_parks)
{
    for (int i = 0; i < max_parks; i++) {
        weft_runtime_run_ready(rt);
        if (task_done(rt, t)) return;
        assert_int_equal(weft_runtime_park(rt), 0);
    }
    weft_runtime_run_ready(rt);
    assert_true(task_done(rt, t));
}

static inline void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

#endif
