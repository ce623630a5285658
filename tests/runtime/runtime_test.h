/*
 * Shared by the runtime tests: a cmocka fixture that owns a weft_runtime and checks, at
 * teardown, that the test left no task, fd, registration or timer behind; and two raw leaf
 * operations (read and write on a weft_io) written exactly the way runtime.h section 7 says.
 * Include after <cmocka.h>.
 */
#ifndef WEFT_RUNTIME_TEST_H
#define WEFT_RUNTIME_TEST_H

#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include <weft/runtime.h>

#include "weft_test.h"
#include "weft_test_nap.h"

struct rt_fixture {
    weft_runtime rt;
    int fds_before;
};

static inline int rt_setup(void **state)
{
    struct rt_fixture *f = calloc(1, sizeof *f);
    if (f == NULL) return -1;
    f->fds_before = weft_test_fd_count();
    if (weft_runtime_init(&f->rt) != 0) {
        free(f);
        return -1;
    }
    *state = f;
    return 0;
}

/* Every test must leave the runtime empty: close() says -EBUSY otherwise. */
static inline int rt_teardown(void **state)
{
    struct rt_fixture *f = *state;
    weft_runtime_stats st;
    weft_runtime_get_stats(&f->rt, &st);
    assert_int_equal(st.tasks, 0);
    assert_int_equal(st.io_open, 0);
    assert_int_equal(st.timers, 0);
    assert_int_equal(weft_runtime_close(&f->rt), 0);
    assert_int_equal(weft_test_fd_count(), f->fds_before);
    free(f);
    return 0;
}

static inline weft_runtime *rt_of(void **state)
{
    return &((struct rt_fixture *)*state)->rt;
}

static inline weft_runtime_stats rt_stats(weft_runtime *rt)
{
    weft_runtime_stats st;
    weft_runtime_get_stats(rt, &st);
    return st;
}

/* Yields `n` times (letting others run), then returns `result`; counts its polls. */
struct rt_yielder {
    weft_co co;
    int n, i, result;
    int polls;
};

static inline int rt_yielder_fn(void *frame, weft_cx *cx)
{
    struct rt_yielder *f = frame;
    f->polls++;
    WEFT_BEGIN(&f->co);
    for (f->i = 0; f->i < f->n; f->i++)
        WEFT_TASK_YIELD(&f->co, cx);
    WEFT_END(&f->co, f->result);
}

/* A task that sleeps, then stops weft_runtime_run: lets a test run the loop for a while. */
struct rt_stopper {
    weft_co co;
    int64_t ns;
    struct weft_test_nap nap;
};

static inline int rt_stopper_fn(void *frame, weft_cx *cx)
{
    struct rt_stopper *f = frame;
    WEFT_BEGIN(&f->co);
    WEFT_AWAIT(&f->co, weft_test_nap(&f->nap, f->ns, cx));
    /* Behind the tasks the same park woke (a timer due before the park is fired before the
     * poll, so this task may come first): they run before the loop stops. */
    WEFT_TASK_YIELD(&f->co, cx);
    weft_runtime_stop(cx->rt);
    WEFT_END(&f->co, 0);
}

/*
 * Runs the loop for about ns nanoseconds (or until every task finished, if sooner), so that
 * tasks parked on fds get to park and events get delivered without run() blocking for ever:
 * the loop parks at least once, and the tasks woken there run, however slow the machine.
 */
static inline int rt_run_for(weft_runtime *rt, int64_t ns)
{
    weft_task t;
    struct rt_stopper *s = weft_task_spawn_new(rt, rt_stopper_fn, sizeof *s, &t);
    if (s == NULL) return -ENOMEM;
    s->ns = ns;
    int r = weft_runtime_run(rt);
    weft_task_cancel(rt, t); /* if the loop ended before the stopper did */
    (void)weft_task_result(rt, t);
    return r;
}

/* read(2) calls made by test_io_read, for tests that count system calls. */
static long test_io_reads;

/* A leaf read on a weft_io: the pattern of runtime.h section 7. */
static inline int test_io_read(weft_io *io, void *buf, size_t len, int64_t deadline, weft_cx *cx)
{
    int r = weft_io_ready(io, WEFT_IO_READ, deadline, cx);
    if (r != 0) return r;
    for (;;) {
        ssize_t n = read(weft_io_fd(io), buf, len);
        test_io_reads++;
        if (n > 0 && (size_t)n < len) weft_io_drained(io, WEFT_IO_READ, cx);
        if (n >= 0) return (int)n;
        if (errno == EINTR) continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK) return -errno;
        return weft_io_wait(io, WEFT_IO_READ, deadline, cx);
    }
}

/* A leaf write on a weft_io. */
static inline int test_io_write(weft_io *io, const void *buf, size_t len, int64_t deadline,
                                weft_cx *cx)
{
    int r = weft_io_ready(io, WEFT_IO_WRITE, deadline, cx);
    if (r != 0) return r;
    for (;;) {
        ssize_t n = write(weft_io_fd(io), buf, len);
        if (n >= 0) return (int)n;
        if (errno == EINTR) continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK) return -errno;
        return weft_io_wait(io, WEFT_IO_WRITE, deadline, cx);
    }
}

#endif
