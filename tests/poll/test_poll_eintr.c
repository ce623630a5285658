/*
 * EINTR and fallback paths of weft_poll_wait() that a real signal cannot hit on demand.
 *
 * Linked with -Wl,--wrap=epoll_wait -Wl,--wrap=syscall: every call the poll layer makes to
 * epoll_wait() or syscall() (which it uses for epoll_pwait2) lands in the __wrap_ functions
 * below, which fail on purpose when a test asks them to and otherwise pass the call through.
 *
 * The poll layer remembers, once per process, that epoll_pwait2() is unavailable. The test
 * that makes it "unavailable" therefore runs last.
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <errno.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <weft/poll.h>

#include "weft_test.h"
#include "weft_test_net.h"
#include "weft_test_poll.h"

#define US INT64_C(1000)
#define MS INT64_C(1000000)

/* What the wrappers do: how many of the next calls fail with EINTR, and how long they sleep
 * first (to make a wait end after its deadline); and whether epoll_pwait2 says ENOSYS. */
static struct {
    int epoll_wait_calls, pwait2_calls;
    int fail_next_with_eintr;
    int64_t sleep_before_failing_ns;
    int pwait2_enosys;
} fake;

static void reset_fake(void)
{
    fake.epoll_wait_calls = fake.pwait2_calls = 0;
    fake.fail_next_with_eintr = 0;
    fake.sleep_before_failing_ns = 0;
}

/* Returns true if this call should fail with EINTR (and does the sleep first). */
static int inject_eintr(void)
{
    if (fake.fail_next_with_eintr == 0) return 0;
    fake.fail_next_with_eintr--;
    int64_t ns = fake.sleep_before_failing_ns;
    struct timespec ts = {(time_t)(ns / 1000000000), (long)(ns % 1000000000)};
    while (ns > 0 && nanosleep(&ts, &ts) != 0) {
    }
    errno = EINTR;
    return 1;
}

int __real_epoll_wait(int epfd, struct epoll_event *events, int max, int timeout);
int __wrap_epoll_wait(int epfd, struct epoll_event *events, int max, int timeout);
int __wrap_epoll_wait(int epfd, struct epoll_event *events, int max, int timeout)
{
    fake.epoll_wait_calls++;
    if (inject_eintr()) return -1;
    return __real_epoll_wait(epfd, events, max, timeout);
}

/* syscall() is variadic; the poll layer only passes it integer and pointer arguments, which
 * travel as longs, so six of them can be forwarded unchanged. */
long __real_syscall(long number, ...);
long __wrap_syscall(long number, ...);
long __wrap_syscall(long number, ...)
{
    va_list ap;
    va_start(ap, number);
    long a[6];
    for (int i = 0; i < 6; i++)
        a[i] = va_arg(ap, long);
    va_end(ap);
#ifdef SYS_epoll_pwait2
    if (number == SYS_epoll_pwait2) {
        fake.pwait2_calls++;
        if (fake.pwait2_enosys) {
            errno = ENOSYS;
            return -1;
        }
        if (inject_eintr()) return -1;
    }
#endif
    return __real_syscall(number, a[0], a[1], a[2], a[3], a[4], a[5]);
}

struct fixture {
    weft_poll poll;
    weft_events events;
    int pipe[2];
};

static int setup(void **state)
{
    static struct fixture f;
    reset_fake();
    if (weft_poll_init(&f.poll) != 0 || weft_events_init(&f.events, 4) != 0) return -1;
    weft_test_pipe(f.pipe);
    if (weft_poll_register(&f.poll, f.pipe[0], 5, WEFT_INTEREST_READABLE) != 0) return -1;
    *state = &f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    close(f->pipe[0]);
    close(f->pipe[1]);
    weft_events_free(&f->events);
    weft_poll_close(&f->poll);
    return 0;
}

/* The number of kernel waits made, whichever call was used. */
static int kernel_waits(void)
{
    return fake.epoll_wait_calls + fake.pwait2_calls;
}

static void test_eintr_in_infinite_wait_is_retried(void **state)
{
    struct fixture *f = *state;
    weft_test_write_all(f->pipe[1], "x", 1);
    fake.fail_next_with_eintr = 1;
    assert_int_equal(weft_poll_wait(&f->poll, &f->events, WEFT_POLL_FOREVER), 1);
    assert_int_equal(f->events.items[0].token, 5);
    assert_int_equal(fake.epoll_wait_calls, 2);
}

static void test_eintr_in_zero_wait_is_retried(void **state)
{
    struct fixture *f = *state;
    weft_test_write_all(f->pipe[1], "x", 1);
    fake.fail_next_with_eintr = 2;
    assert_int_equal(weft_poll_wait(&f->poll, &f->events, 0), 1);
    assert_int_equal(fake.epoll_wait_calls, 3);
}

/* An EINTR part-way through a timed wait: the wait goes on for the rest of the time. */
static void test_eintr_in_timed_wait_waits_the_remaining_time(void **state)
{
    struct fixture *f = *state;
    fake.fail_next_with_eintr = 1;
    fake.sleep_before_failing_ns = 20 * MS;
    int64_t start = weft_test_now_ns();
    assert_int_equal(weft_poll_wait(&f->poll, &f->events, 60 * MS), 0);
    int64_t elapsed = weft_test_now_ns() - start;
    if (elapsed < 60 * MS) fail_msg("returned after %lld ns", (long long)elapsed);
    assert_int_equal(kernel_waits(), 2);
}

/* An EINTR that arrives after the deadline still lets the wait collect what is ready. */
static void test_eintr_after_deadline_still_reports_ready_fds(void **state)
{
    struct fixture *f = *state;
    weft_test_write_all(f->pipe[1], "x", 1);
    fake.fail_next_with_eintr = 1;
    fake.sleep_before_failing_ns = 30 * MS;
    assert_int_equal(weft_poll_wait(&f->poll, &f->events, 10 * MS), 1);
    assert_int_equal(f->events.items[0].token, 5);
    assert_int_equal(kernel_waits(), 2);
}

/* A sub-millisecond timeout is one kernel wait that lasts long enough, not a spin. */
static void test_sub_millisecond_wait_is_one_kernel_wait(void **state)
{
    struct fixture *f = *state;
    expect_timeout(&f->poll, &f->events, 250 * US);
    assert_int_equal(kernel_waits(), 1);
}

/* Runs last: afterwards the poll layer believes the kernel has no epoll_pwait2. */
static void test_without_pwait2_falls_back_and_rounds_up(void **state)
{
    struct fixture *f = *state;
    fake.pwait2_enosys = 1;
    const int64_t timeouts[] = {1, 250 * US, 1500 * US};
    for (size_t i = 0; i < sizeof timeouts / sizeof timeouts[0]; i++) {
        int calls_before = fake.epoll_wait_calls;
        expect_timeout(&f->poll, &f->events, timeouts[i]);
        /* One epoll_wait() that waited long enough; rounding down to 0 ms would meet the
         * lower bound too, but only by spinning through many calls. */
        assert_int_equal(fake.epoll_wait_calls - calls_before, 1);
    }
#ifdef SYS_epoll_pwait2
    assert_true(fake.pwait2_calls <= 1); /* asked at most once, then remembered */
#endif

    /* EINTR on the fallback path is retried as well. */
    weft_test_write_all(f->pipe[1], "x", 1);
    fake.fail_next_with_eintr = 1;
    assert_int_equal(weft_poll_wait(&f->poll, &f->events, 50 * MS), 1);
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_eintr_in_infinite_wait_is_retried),
        T(test_eintr_in_zero_wait_is_retried),
        T(test_eintr_in_timed_wait_waits_the_remaining_time),
        T(test_eintr_after_deadline_still_reports_ready_fds),
        T(test_sub_millisecond_wait_is_one_kernel_wait),
        T(test_without_pwait2_falls_back_and_rounds_up), /* must stay last */
    };
    return cmocka_run_group_tests_name("eintr", tests, NULL, NULL);
}
