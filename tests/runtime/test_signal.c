/*
 * Tests of weft/signal.h: a signal sent to the process wakes exactly the task waiting for it
 * (not the task waiting for another signal, nor a task waiting for something else), and the
 * thread's signal mask is restored on close — with never-awaited instances discarded, so that
 * unblocking them does not kill the test.
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <weft/signal.h>

#include "sync_test.h"

static bool blocked(int sig)
{
    sigset_t now;
    pthread_sigmask(SIG_BLOCK, NULL, &now);
    return sigismember(&now, sig) == 1;
}

/* Waits for one signal on sig (with an optional deadline), counting its polls. */
struct sig_waiter {
    weft_co co;
    weft_signal *sig;
    int64_t deadline;
    int polls, result;
};

static int sig_waiter(void *frame, weft_cx *cx)
{
    struct sig_waiter *f = frame;
    f->polls++;
    WEFT_BEGIN(&f->co);
    WEFT_AWAIT(&f->co, f->result = weft_signal_wait_dl(
                           f->sig, f->deadline ? f->deadline : WEFT_NO_DEADLINE, cx));
    WEFT_END(&f->co, f->result);
}

/* Waits for a notification, counting its polls. */
struct bystander {
    weft_co co;
    weft_notify *n;
    int polls;
};

static int bystander(void *frame, weft_cx *cx)
{
    struct bystander *f = frame;
    int r;
    f->polls++;
    WEFT_BEGIN(&f->co);
    WEFT_AWAIT(&f->co, r = weft_notify_wait(f->n, cx));
    WEFT_END(&f->co, r);
}

static void signal_wakes_exactly_the_waiting_task(void **state)
{
    weft_runtime *rt = rt_of(state);
    const int usr1[] = {SIGUSR1}, hup[] = {SIGHUP};
    weft_signal a, b;
    assert_int_equal(weft_signal_open(rt, &a, usr1, 1), 0);
    assert_int_equal(weft_signal_open(rt, &b, hup, 1), 0);
    weft_notify n;
    assert_int_equal(weft_notify_init(&n, rt), 0);
    struct sig_waiter wa = {.sig = &a}, wb = {.sig = &b};
    struct bystander by = {.n = &n};
    weft_task ta, tb, tby;
    assert_int_equal(weft_task_spawn(rt, sig_waiter, &wa, &ta), 0);
    assert_int_equal(weft_task_spawn(rt, sig_waiter, &wb, &tb), 0);
    assert_int_equal(weft_task_spawn(rt, bystander, &by, &tby), 0);
    weft_runtime_run_ready(rt);
    assert_int_equal(wa.polls + wb.polls + by.polls, 3);

    assert_int_equal(kill(getpid(), SIGUSR1), 0);
    drive_until_done(rt, ta, 100);
    assert_int_equal(weft_task_result(rt, ta), SIGUSR1);
    assert_int_equal(wa.polls, 2); /* woken once, by its signal */
    assert_int_equal(wb.polls, 1); /* never woken */
    assert_int_equal(by.polls, 1);

    assert_int_equal(kill(getpid(), SIGHUP), 0);
    drive_until_done(rt, tb, 100);
    assert_int_equal(weft_task_result(rt, tb), SIGHUP);
    assert_int_equal(by.polls, 1);

    weft_notify_one(&n);
    drive_until_done(rt, tby, 100);
    assert_int_equal(weft_task_result(rt, tby), 0);
    weft_notify_destroy(&n);
    assert_int_equal(weft_signal_close(rt, &a), 0);
    assert_int_equal(weft_signal_close(rt, &b), 0);
    assert_int_equal(weft_signal_close(rt, &b), WEFT_ECLOSED);
}

static void signal_mask_is_restored_and_unawaited_instances_discarded(void **state)
{
    weft_runtime *rt = rt_of(state);
    assert_false(blocked(SIGUSR2));
    const int usr2[] = {SIGUSR2};
    weft_signal s;
    assert_int_equal(weft_signal_open(rt, &s, usr2, 1), 0);
    assert_true(blocked(SIGUSR2));
    /* Raised, never awaited: unblocking it at close would kill the process (default action). */
    assert_int_equal(kill(getpid(), SIGUSR2), 0);
    assert_int_equal(weft_signal_close(rt, &s), 0);
    assert_false(blocked(SIGUSR2));
}

static void signal_shared_by_two_objects_stays_blocked_until_both_close(void **state)
{
    weft_runtime *rt = rt_of(state);
    const int term[] = {SIGTERM};
    weft_signal s1, s2;
    assert_int_equal(weft_signal_open(rt, &s1, term, 1), 0);
    assert_int_equal(weft_signal_open(rt, &s2, term, 1), 0);
    assert_int_equal(weft_signal_close(rt, &s1), 0);
    assert_true(blocked(SIGTERM));
    assert_int_equal(weft_signal_close(rt, &s2), 0);
    assert_false(blocked(SIGTERM));
}

static void signal_blocked_before_open_stays_blocked(void **state)
{
    weft_runtime *rt = rt_of(state);
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    const int sigint[] = {SIGINT};
    weft_signal s;
    assert_int_equal(weft_signal_open(rt, &s, sigint, 1), 0);
    assert_int_equal(weft_signal_close(rt, &s), 0);
    assert_true(blocked(SIGINT));
    pthread_sigmask(SIG_UNBLOCK, &set, NULL);
}

static void signal_rejects_uncatchable_signals(void **state)
{
    weft_runtime *rt = rt_of(state);
    const int bad[] = {SIGUSR1, SIGKILL}, zero[] = {0};
    weft_signal s;
    assert_int_equal(weft_signal_open(rt, &s, bad, 2), -EINVAL);
    assert_int_equal(weft_signal_open(rt, &s, zero, 1), -EINVAL);
    assert_int_equal(weft_signal_open(rt, &s, bad, 0), -EINVAL);
    assert_false(blocked(SIGUSR1));
    assert_int_equal(weft_signal_close(rt, &s), WEFT_ECLOSED);
}

static void signal_wait_times_out_never_early(void **state)
{
    weft_runtime *rt = rt_of(state);
    const int usr1[] = {SIGUSR1};
    weft_signal s;
    assert_int_equal(weft_signal_open(rt, &s, usr1, 1), 0);
    int64_t start = weft_time_now();
    struct sig_waiter w = {.sig = &s, .deadline = start + WEFT_MSEC(15)};
    weft_task t;
    assert_int_equal(weft_task_spawn(rt, sig_waiter, &w, &t), 0);
    drive_until_done(rt, t, 100);
    assert_int_equal(weft_task_result(rt, t), -ETIMEDOUT);
    assert_true(weft_time_now() - start >= WEFT_MSEC(15));
    assert_int_equal(weft_signal_close(rt, &s), 0);
}

/*
 * A copy of a closed handle, closed after a newer weft_signal took the same signal (and, most
 * likely, the same record slot and fd number): it must touch nothing. Were it to count a user
 * less, the newer object's signal would be unblocked, and the raise() below would run the default
 * action (terminate) instead of reaching the newer object.
 */
static void signal_stale_copy_close_touches_nothing(void **state)
{
    weft_runtime *rt = rt_of(state);
    const int usr1[] = {SIGUSR1};
    weft_signal old, fresh;
    assert_int_equal(weft_signal_open(rt, &old, usr1, 1), 0);
    weft_signal stale = old;
    assert_int_equal(weft_signal_close(rt, &old), 0);
    assert_false(blocked(SIGUSR1));
    assert_int_equal(weft_signal_open(rt, &fresh, usr1, 1), 0);

    assert_int_equal(weft_signal_close(rt, &stale), WEFT_ECLOSED);
    assert_int_equal(weft_signal_close(rt, &old), WEFT_ECLOSED);
    assert_true(blocked(SIGUSR1));

    struct sig_waiter w = {.sig = &fresh};
    weft_task t;
    assert_int_equal(weft_task_spawn(rt, sig_waiter, &w, &t), 0);
    weft_runtime_run_ready(rt);
    assert_int_equal(raise(SIGUSR1), 0);
    drive_until_done(rt, t, 100);
    assert_int_equal(weft_task_result(rt, t), SIGUSR1); /* its fd was left open, too */
    assert_int_equal(weft_signal_close(rt, &fresh), 0);
    assert_false(blocked(SIGUSR1));
}

/*
 * weft_runtime_close closes the signalfds but cannot know the mask: closing the objects afterwards
 * must still restore it, once per object, while a stale copy and a second close do nothing.
 */
static void signal_close_after_runtime_close_restores_mask_once(void **state)
{
    (void)state;
    weft_runtime rt;
    assert_int_equal(weft_runtime_init(&rt), 0);
    const int usr2[] = {SIGUSR2};
    weft_signal a, b;
    assert_int_equal(weft_signal_open(&rt, &a, usr2, 1), 0);
    assert_int_equal(weft_signal_open(&rt, &b, usr2, 1), 0);
    weft_signal copy_of_a = a;
    assert_int_equal(weft_runtime_close(&rt), -EBUSY); /* it closed both fds */
    assert_true(blocked(SIGUSR2));

    assert_int_equal(weft_signal_close(&rt, &a), 0);
    assert_true(blocked(SIGUSR2)); /* b still needs it */
    assert_int_equal(weft_signal_close(&rt, &copy_of_a), WEFT_ECLOSED);
    assert_int_equal(weft_signal_close(&rt, &a), WEFT_ECLOSED);
    assert_true(blocked(SIGUSR2));

    /* Never awaited (no fd left to read it from): discarded before the unblock, not fatal. */
    assert_int_equal(raise(SIGUSR2), 0);
    assert_int_equal(weft_signal_close(&rt, &b), 0);
    assert_false(blocked(SIGUSR2));
    assert_int_equal(weft_signal_close(&rt, &b), WEFT_ECLOSED);
}

int main(void)
{
    alarm(60); /* a lost wake-up would park forever: make it a failure instead */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(signal_wakes_exactly_the_waiting_task, rt_setup,
                                        sync_teardown),
        cmocka_unit_test_setup_teardown(signal_mask_is_restored_and_unawaited_instances_discarded,
                                        rt_setup, sync_teardown),
        cmocka_unit_test_setup_teardown(signal_shared_by_two_objects_stays_blocked_until_both_close,
                                        rt_setup, sync_teardown),
        cmocka_unit_test_setup_teardown(signal_blocked_before_open_stays_blocked, rt_setup,
                                        sync_teardown),
        cmocka_unit_test_setup_teardown(signal_rejects_uncatchable_signals, rt_setup,
                                        sync_teardown),
        cmocka_unit_test_setup_teardown(signal_wait_times_out_never_early, rt_setup, sync_teardown),
        cmocka_unit_test_setup_teardown(signal_stale_copy_close_touches_nothing, rt_setup,
                                        sync_teardown),
        cmocka_unit_test(signal_close_after_runtime_close_restores_mask_once),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
