/*
 * Tests of weft_timer (weft/timer.h): timers without a task. They never fire early, fire in
 * deadline order, can be stopped before they fire and from inside any callback, can be restarted
 * from their own callback (never firing twice in one pass), scale to many at once, show in the
 * stats, keep weft_runtime_run going, wake tasks, and are stopped by weft_runtime_close.
 * Timing checks are lower bounds only: a loaded machine may be late, never early.
 * malloc and realloc are wrapped (the only way to run out of memory on demand) to check that a
 * start that fails for want of memory leaves nothing started.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <weft/timer.h>

#include "runtime_test.h"

void *__real_malloc(size_t size);
void *__wrap_malloc(size_t size);
void *__real_realloc(void *ptr, size_t size);
void *__wrap_realloc(void *ptr, size_t size);

static int malloc_failures, realloc_failures; /* the next calls that fail */
static int malloc_spared; /* before malloc_failures applies, this many more calls succeed */

void *__wrap_malloc(size_t size)
{
    if (malloc_failures > 0 && malloc_spared > 0) {
        malloc_spared--;
    } else if (malloc_failures > 0) {
        malloc_failures--;
        return NULL;
    }
    return __real_malloc(size);
}

void *__wrap_realloc(void *ptr, size_t size)
{
    if (realloc_failures > 0) {
        realloc_failures--;
        return NULL;
    }
    return __real_realloc(ptr, size);
}

/* What the callbacks saw, in firing order. Reset by each test. */
enum { LOG_MAX = 10000 };
static struct {
    int n;
    int id[LOG_MAX];
    int64_t late[LOG_MAX]; /* fire time - deadline: must never be negative */
    int64_t deadline[LOG_MAX];
} log_;

/* A timer with an id, and what its callback should do to other timers. */
struct probe {
    weft_timer timer;
    int id;
    struct probe *stop_other; /* stopped from this one's callback, if not NULL */
    bool stop_self;           /* calls weft_timer_stop on itself (it is already stopped) */
    bool stop_self_result;
    int restarts;          /* restart this many more times... */
    int64_t restart_after; /* ...this long after the deadline (0 and below: in the past) */
};

static void record(weft_runtime *rt, weft_timer *t, void *arg)
{
    struct probe *p = arg;
    assert_ptr_equal(&p->timer, t);
    assert_false(weft_timer_active(t)); /* stopped before its callback runs */
    int64_t now = weft_time_now();
    if (log_.n < LOG_MAX) {
        log_.id[log_.n] = p->id;
        log_.late[log_.n] = now - weft_timer_deadline(t);
        log_.deadline[log_.n] = weft_timer_deadline(t);
        log_.n++;
    }
    if (p->stop_other != NULL) assert_true(weft_timer_stop(rt, &p->stop_other->timer));
    if (p->stop_self) p->stop_self_result = weft_timer_stop(rt, t);
    if (p->restarts > 0) {
        p->restarts--;
        int64_t next = p->restart_after > 0 ? weft_timer_deadline(t) + p->restart_after : 0;
        assert_int_equal(weft_timer_start(rt, t, next, record, p), 0);
    }
}

static void log_reset(void)
{
    log_.n = 0;
}

static void assert_never_early(void)
{
    for (int i = 0; i < log_.n; i++)
        assert_true(log_.late[i] >= 0);
}

static void timers_never_fire_early(void **state)
{
    weft_runtime *rt = rt_of(state);
    enum { N = 20 };
    struct probe p[N] = {0};
    log_reset();
    int64_t base = weft_time_now();
    for (int i = 0; i < N; i++) {
        p[i].id = i;
        /* From 150 us to 20 ms: sub-millisecond deadlines too. */
        int64_t d = base + WEFT_USEC(150) + (int64_t)i * WEFT_USEC(1000);
        assert_int_equal(weft_timer_start(rt, &p[i].timer, d, record, &p[i]), 0);
        assert_true(weft_timer_active(&p[i].timer));
        assert_int_equal(weft_timer_deadline(&p[i].timer), d);
    }
    assert_int_equal(rt_stats(rt).timers, N);
    assert_int_equal(weft_runtime_run(rt), 0); /* no task at all: started timers keep it going */
    assert_int_equal(log_.n, N);
    assert_never_early();
    assert_true(weft_time_now() - base >= WEFT_USEC(150) + (N - 1) * WEFT_USEC(1000));
    assert_int_equal(rt_stats(rt).timers, 0);
}

static void timers_fire_in_deadline_order(void **state)
{
    weft_runtime *rt = rt_of(state);
    enum { N = 40 };
    struct probe p[N] = {0};
    log_reset();
    /* Started in a scrambled order; id i is due at base + (i / 2) * 0.5 ms, so ids 2k and 2k+1
     * share a deadline: 2k is started first (FIFO on ties), whatever the scramble says. */
    int64_t base = weft_time_now() + WEFT_MSEC(5);
    for (int k = 0; k < N / 2; k++) {
        int pair = (k * 7) % (N / 2);
        for (int j = 0; j < 2; j++) {
            int i = pair * 2 + j;
            p[i].id = i;
            int64_t d = base + (int64_t)pair * WEFT_USEC(500);
            assert_int_equal(weft_timer_start(rt, &p[i].timer, d, record, &p[i]), 0);
        }
    }
    assert_int_equal(weft_runtime_run(rt), 0);
    assert_int_equal(log_.n, N);
    for (int i = 0; i < N; i++)
        assert_int_equal(log_.id[i], i);
    assert_never_early();
}

static void a_stopped_timer_never_fires(void **state)
{
    weft_runtime *rt = rt_of(state);
    struct probe a = {.id = 1}, b = {.id = 2}, never = {.id = 3};
    log_reset();
    int64_t d = weft_deadline_in(WEFT_MSEC(2));
    assert_int_equal(weft_timer_start(rt, &a.timer, d, record, &a), 0);
    assert_int_equal(weft_timer_start(rt, &b.timer, d, record, &b), 0);
    assert_true(weft_timer_stop(rt, &a.timer));
    assert_false(weft_timer_active(&a.timer));
    assert_false(weft_timer_stop(rt, &a.timer));     /* already stopped */
    assert_false(weft_timer_stop(rt, &never.timer)); /* zeroed: never started */
    assert_int_equal(rt_stats(rt).timers, 1);
    assert_int_equal(weft_runtime_run(rt), 0);
    assert_int_equal(log_.n, 1);
    assert_int_equal(log_.id[0], 2);
}

/*
 * Three timers due in the same pass. The first stops the second (which is due too, and so must
 * not fire) and stops itself (a no-op: it is already stopped); the third fires.
 */
static void stop_from_inside_a_callback(void **state)
{
    weft_runtime *rt = rt_of(state);
    struct probe second = {.id = 2}, third = {.id = 3};
    struct probe first = {.id = 1, .stop_other = &second, .stop_self = true};
    log_reset();
    int64_t d = weft_deadline_in(WEFT_MSEC(1));
    assert_int_equal(weft_timer_start(rt, &first.timer, d, record, &first), 0);
    assert_int_equal(weft_timer_start(rt, &second.timer, d, record, &second), 0);
    assert_int_equal(weft_timer_start(rt, &third.timer, d, record, &third), 0);
    assert_int_equal(weft_runtime_run(rt), 0);
    assert_int_equal(log_.n, 2);
    assert_int_equal(log_.id[0], 1);
    assert_int_equal(log_.id[1], 3);
    assert_false(first.stop_self_result);
    assert_false(weft_timer_active(&second.timer));
}

/* A periodic timer: restarted from its own callback 2 ms after each deadline. */
static void restart_from_inside_a_callback(void **state)
{
    weft_runtime *rt = rt_of(state);
    struct probe p = {.id = 7, .restarts = 4, .restart_after = WEFT_MSEC(2)};
    log_reset();
    int64_t first = weft_deadline_in(WEFT_MSEC(1));
    assert_int_equal(weft_timer_start(rt, &p.timer, first, record, &p), 0);
    assert_int_equal(weft_runtime_run(rt), 0);
    assert_int_equal(log_.n, 5);
    for (int i = 0; i < 5; i++)
        assert_int_equal(log_.deadline[i], first + i * WEFT_MSEC(2));
    assert_never_early();
    assert_int_equal(p.restarts, 0);
}

/*
 * A callback that restarts its timer in the past must not fire again in the same pass. One
 * weft_runtime_park fires expired timers before its poll (to know whether it may block) and after
 * it, so the timer fires once or twice per park — not 1001 times in one go.
 */
static void a_restart_in_the_past_waits_for_the_next_pass(void **state)
{
    weft_runtime *rt = rt_of(state);
    struct probe p = {.id = 1, .restarts = 1000, .restart_after = 0};
    log_reset();
    assert_int_equal(weft_timer_start(rt, &p.timer, 0, record, &p), 0);
    for (int park = 1; park <= 3; park++) {
        int before = log_.n;
        assert_int_equal(weft_runtime_park(rt), 0);
        assert_in_range(log_.n - before, 1, 2);
    }
    assert_true(weft_timer_active(&p.timer));
    assert_true(weft_timer_stop(rt, &p.timer));
    assert_int_equal(rt_stats(rt).timers, 0);
}

static void ten_thousand_timers(void **state)
{
    weft_runtime *rt = rt_of(state);
    enum { N = 10000 };
    struct probe *p = calloc(N, sizeof *p);
    assert_non_null(p);
    log_reset();
    uint64_t x = 12345;
    int64_t base = weft_time_now();
    for (int i = 0; i < N; i++) {
        x = x * 6364136223846793005u + 1442695040888963407u; /* an LCG: spread, not quality */
        p[i].id = i;
        int64_t d = base + (int64_t)((x >> 33) % (uint64_t)WEFT_MSEC(30));
        assert_int_equal(weft_timer_start(rt, &p[i].timer, d, record, &p[i]), 0);
    }
    assert_int_equal(rt_stats(rt).timers, N);
    assert_int_equal(weft_runtime_run(rt), 0);
    assert_int_equal(log_.n, N);
    assert_never_early();
    for (int i = 1; i < N; i++)
        assert_true(log_.deadline[i - 1] <= log_.deadline[i]);
    assert_int_equal(rt_stats(rt).timers, 0);
    free(p);
}

/*
 * The stats count weft_timers and tasks' own timers alike: two weft_timers started far in the
 * future, then a task asleep for a minute makes three, its cancellation two again. A second task
 * sleeps 1 ms and, once awake, sees two (its own timer is gone: fired, or never armed if the ms
 * had passed by its first look at the clock); it stops both, and the count is 0.
 */
struct counter {
    weft_co co;
    int64_t wake;
    struct probe *a, *b;
    size_t timers_seen;
    bool stopped_a, stopped_b;
};

static int count_timers(void *frame, weft_cx *cx)
{
    struct counter *f = frame;
    WEFT_BEGIN(&f->co);
    WEFT_AWAIT(&f->co, weft_sleep_for(&f->wake, WEFT_MSEC(1), cx));
    f->timers_seen = rt_stats(cx->rt).timers;
    f->stopped_a = weft_timer_stop(cx->rt, &f->a->timer);
    f->stopped_b = weft_timer_stop(cx->rt, &f->b->timer);
    WEFT_END(&f->co, 0);
}

struct sleeper {
    weft_co co;
    int64_t wake;
};

/* Sleeps a minute: its timer is armed by its first poll whatever the machine's speed. */
static int sleep_a_minute(void *frame, weft_cx *cx)
{
    struct sleeper *f = frame;
    WEFT_BEGIN(&f->co);
    WEFT_AWAIT(&f->co, weft_sleep_for(&f->wake, WEFT_SEC(60), cx));
    WEFT_END(&f->co, 0);
}

static void stats_count_started_timers_and_return_to_zero(void **state)
{
    weft_runtime *rt = rt_of(state);
    struct probe a = {.id = 1}, b = {.id = 2};
    log_reset();
    int64_t far = weft_deadline_in(WEFT_SEC(60));
    assert_int_equal(weft_timer_start(rt, &a.timer, far, record, &a), 0);
    assert_int_equal(weft_timer_start(rt, &b.timer, far, record, &b), 0);
    /* Restarting a started timer moves it; it is still one timer. */
    assert_int_equal(weft_timer_start(rt, &b.timer, far + 1, record, &b), 0);
    assert_int_equal(rt_stats(rt).timers, 2);
    struct sleeper s = {.wake = 0};
    weft_task sleeper;
    assert_int_equal(weft_task_spawn(rt, sleep_a_minute, &s, &sleeper), 0);
    weft_runtime_run_ready(rt); /* the sleeper's first poll arms its timer */
    assert_int_equal(rt_stats(rt).timers, 3);
    assert_int_equal(weft_task_cancel(rt, sleeper), 1);
    assert_int_equal(weft_task_result(rt, sleeper), -ECANCELED);
    assert_int_equal(rt_stats(rt).timers, 2);
    struct counter c = {.a = &a, .b = &b};
    assert_int_equal(weft_task_spawn(rt, count_timers, &c, NULL), 0);
    assert_int_equal(weft_runtime_run(rt), 0); /* returns: the task stopped both timers */
    assert_int_equal(c.timers_seen, 2);
    assert_true(c.stopped_a);
    assert_true(c.stopped_b);
    assert_int_equal(log_.n, 0);
    assert_int_equal(rt_stats(rt).timers, 0);
}

/* weft_timer_start_wake: a task keeps a deadline in a weft_timer of its frame. */
struct waiter {
    weft_co co;
    weft_timer timer;
    int64_t ns, deadline, woke;
    int polls;
};

static int wait_on_timer(void *frame, weft_cx *cx)
{
    struct waiter *f = frame;
    WEFT_BEGIN(&f->co);
    f->deadline = weft_deadline_in(f->ns);
    f->polls = 0;
    if (weft_timer_start_wake(cx->rt, &f->timer, f->deadline, weft_cx_waker(cx)) < 0)
        WEFT_RETURN(&f->co, -1);
    while (weft_time_now() < f->deadline && f->polls < 1000) {
        f->polls++;
        WEFT_YIELD(&f->co); /* only the timer wakes this task */
    }
    f->woke = weft_time_now();
    WEFT_END(&f->co, 0);
}

/*
 * A deadline that had passed by the task's first look at the clock (a stalled or slow machine)
 * is never waited for: such a run says nothing, and is repeated with ten times the wait.
 */
static void a_timer_can_wake_a_task(void **state)
{
    struct waiter w = {0};
    for (int64_t ns = WEFT_MSEC(3); ns <= WEFT_SEC(3); ns *= 10) {
        w = (struct waiter){.ns = ns};
        /* block_on would say -EDEADLK if the started timer did not count as something to wait
         * for. */
        assert_int_equal(weft_runtime_block_on(rt_of(state), wait_on_timer, &w), 0);
        assert_true(w.woke >= w.deadline);
        if (w.polls > 0) break;
        assert_true(weft_timer_stop(rt_of(state), &w.timer)); /* started, never waited for */
        print_message("%lld ms had passed before the first wait: again, longer\n",
                      (long long)(ns / WEFT_MSEC(1)));
    }
    assert_int_equal(w.polls, 1); /* woken once, by the timer, not polled in a loop */
    assert_false(weft_timer_active(&w.timer));
}

static void bad_arguments_are_refused(void **state)
{
    weft_runtime *rt = rt_of(state);
    struct probe p = {0};
    assert_int_equal(weft_timer_start(rt, &p.timer, weft_time_now(), NULL, &p), -EINVAL);
    assert_int_equal(weft_timer_start(rt, &p.timer, -1, record, &p), -EINVAL);
    assert_int_equal(weft_timer_start_wake(rt, &p.timer, -1, WEFT_WAKER_NONE), -EINVAL);
    assert_false(weft_timer_active(&p.timer));
    assert_int_equal(rt_stats(rt).timers, 0);
}

/* A task whose cleanup block tries to start a timer while the runtime closes. */
struct late_starter {
    weft_co co;
    weft_timer timer;
    int start_result;
};

static int late_starter(void *frame, weft_cx *cx)
{
    struct late_starter *f = frame;
    WEFT_BEGIN(&f->co);
    WEFT_YIELD(&f->co); /* waits for ever */
    WEFT_ON_CANCEL(&f->co);
    f->start_result = weft_timer_start(cx->rt, &f->timer, 0, record, NULL);
    WEFT_END(&f->co, 0);
}

static void close_stops_started_timers(void **state)
{
    (void)state;
    weft_runtime rt;
    assert_int_equal(weft_runtime_init(&rt), 0);
    enum { N = 5 };
    struct probe p[N] = {0};
    log_reset();
    for (int i = 0; i < N; i++)
        assert_int_equal(
            weft_timer_start(&rt, &p[i].timer, weft_deadline_in(WEFT_SEC(60)), record, &p[i]), 0);
    struct late_starter s = {0};
    assert_int_equal(weft_task_spawn(&rt, late_starter, &s, NULL), 0);
    weft_runtime_run_ready(&rt);
    assert_int_equal(weft_runtime_close(&rt), -EBUSY);
    assert_int_equal(s.start_result, -ECANCELED);
    assert_false(weft_timer_active(&s.timer));
    for (int i = 0; i < N; i++)
        assert_false(weft_timer_active(&p[i].timer)); /* the caller's memory, stopped */
    assert_int_equal(log_.n, 0);                      /* none fired */

    /* Closing with every timer fired or stopped is clean. */
    assert_int_equal(weft_runtime_init(&rt), 0);
    assert_int_equal(weft_timer_start(&rt, &p[0].timer, 0, record, &p[0]), 0);
    assert_int_equal(weft_timer_start(&rt, &p[1].timer, 0, record, &p[1]), 0);
    assert_true(weft_timer_stop(&rt, &p[1].timer));
    assert_int_equal(weft_runtime_run(&rt), 0);
    assert_int_equal(log_.n, 1);
    assert_int_equal(weft_runtime_close(&rt), 0);
}

/*
 * Out of memory: the first start (which allocates the runtime's queue of weft_timers: a malloc,
 * then another for its array) and the start that must grow the array fail with -ENOMEM and
 * leave the timer stopped; restarting a started timer needs no memory and still succeeds.
 */
static void a_start_without_memory_leaves_nothing_started(void **state)
{
    weft_runtime *rt = rt_of(state);
    enum { MAX = 100000 };
    struct probe *p = calloc(MAX, sizeof *p);
    assert_non_null(p);
    int64_t far = weft_deadline_in(WEFT_SEC(60));
    malloc_failures = 1; /* the queue */
    assert_int_equal(weft_timer_start(rt, &p[0].timer, far, record, &p[0]), -ENOMEM);
    malloc_spared = 1;   /* the queue itself */
    malloc_failures = 1; /* its array */
    assert_int_equal(weft_timer_start(rt, &p[0].timer, far, record, &p[0]), -ENOMEM);
    assert_false(weft_timer_active(&p[0].timer));
    assert_int_equal(rt_stats(rt).timers, 0);

    assert_int_equal(weft_timer_start(rt, &p[0].timer, far, record, &p[0]), 0);
    realloc_failures = 1; /* the next growth of the array fails */
    int started = 1;
    while (started < MAX && weft_timer_start(rt, &p[started].timer, far, record, NULL) == 0)
        started++;
    assert_true(started < MAX);
    assert_int_equal(realloc_failures, 0);
    assert_false(weft_timer_active(&p[started].timer));
    assert_int_equal(rt_stats(rt).timers, (size_t)started);
    realloc_failures = 1;
    assert_int_equal(weft_timer_start(rt, &p[0].timer, far + 1, record, &p[0]), 0);
    assert_int_equal(realloc_failures, 1); /* a restart did not ask for memory */
    realloc_failures = 0;

    for (int i = 0; i < started; i++)
        assert_true(weft_timer_stop(rt, &p[i].timer));
    assert_int_equal(rt_stats(rt).timers, 0);
    free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(timers_never_fire_early, rt_setup, rt_teardown),
        cmocka_unit_test_setup_teardown(timers_fire_in_deadline_order, rt_setup, rt_teardown),
        cmocka_unit_test_setup_teardown(a_stopped_timer_never_fires, rt_setup, rt_teardown),
        cmocka_unit_test_setup_teardown(stop_from_inside_a_callback, rt_setup, rt_teardown),
        cmocka_unit_test_setup_teardown(restart_from_inside_a_callback, rt_setup, rt_teardown),
        cmocka_unit_test_setup_teardown(a_restart_in_the_past_waits_for_the_next_pass, rt_setup,
                                        rt_teardown),
        cmocka_unit_test_setup_teardown(ten_thousand_timers, rt_setup, rt_teardown),
        cmocka_unit_test_setup_teardown(stats_count_started_timers_and_return_to_zero, rt_setup,
                                        rt_teardown),
        cmocka_unit_test_setup_teardown(a_timer_can_wake_a_task, rt_setup, rt_teardown),
        cmocka_unit_test_setup_teardown(bad_arguments_are_refused, rt_setup, rt_teardown),
        cmocka_unit_test(close_stops_started_timers),
        cmocka_unit_test_setup_teardown(a_start_without_memory_leaves_nothing_started, rt_setup,
                                        rt_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
