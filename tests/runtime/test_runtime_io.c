/*
 * Tests of the runtime's I/O resources (weft/runtime.h sections 6 and 7) with real pipes and
 * socketpairs: suspend on EAGAIN and resume on the event, deadlines, separate reader and writer,
 * cancellation that leaks nothing, stale events after close, and fairness under a busy fd.
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <fcntl.h>
#include <string.h>
#include <sys/socket.h>

#include "runtime_test.h"
#include "weft_test_net.h"

/* ---------------------------------------------------------------------------------------------
 * Suspend on EAGAIN, resume on the event
 * ------------------------------------------------------------------------------------------- */

/* Reads `want` bytes from io, one read per poll result, recording how many times it was polled. */
struct reader {
    weft_co co;
    weft_io io;
    int64_t deadline;
    char buf[64];
    int got, want, n;
    int polls;
    int cleanups;
    bool close_on_cancel;
};

static int reader(void *frame, weft_cx *cx)
{
    struct reader *f = frame;
    f->polls++;
    WEFT_BEGIN(&f->co);
    while (f->got < f->want) {
        WEFT_AWAIT(&f->co, f->n = test_io_read(&f->io, f->buf + f->got,
                                               sizeof f->buf - (size_t)f->got, f->deadline, cx));
        if (f->n <= 0) WEFT_RETURN(&f->co, f->n == 0 ? -EPIPE : f->n);
        f->got += f->n;
    }
    WEFT_RETURN(&f->co, f->got);
    WEFT_ON_CANCEL(&f->co);
    f->cleanups++;
    if (f->close_on_cancel) weft_io_close(cx->rt, &f->io);
    WEFT_END(&f->co, 0);
}

/* Sleeps (again and again until *after, if set, is true), then writes `msg` to io. */
struct late_writer {
    weft_co co;
    weft_io *io;
    struct weft_test_nap nap;
    int64_t delay;
    const char *msg;
    const bool *after;
    int naps;
};

static int late_writer(void *frame, weft_cx *cx)
{
    struct late_writer *f = frame;
    WEFT_BEGIN(&f->co);
    do
        WEFT_AWAIT(&f->co, weft_test_nap(&f->nap, f->delay, cx));
    while (f->after != NULL && !*f->after && ++f->naps < 10000);
    WEFT_END(&f->co, test_io_write(f->io, f->msg, strlen(f->msg), WEFT_NO_DEADLINE, cx));
}

static void a_read_suspends_until_data_arrives(void **state)
{
    weft_runtime *rt = rt_of(state);
    int p[2];
    weft_test_pipe(p);
    weft_io wr;
    struct reader r = {.want = 5, .deadline = WEFT_NO_DEADLINE};
    assert_int_equal(weft_io_open(rt, &r.io, p[0]), 0);
    assert_int_equal(weft_io_open(rt, &wr, p[1]), 0);
    assert_int_equal(rt_stats(rt).io_open, 2);

    struct late_writer w = {.io = &wr, .delay = WEFT_MSEC(5), .msg = "hello"};
    weft_task rt_task, wt_task;
    assert_int_equal(weft_task_spawn(rt, reader, &r, &rt_task), 0);
    assert_int_equal(weft_task_spawn(rt, late_writer, &w, &wt_task), 0);
    assert_int_equal(weft_runtime_run(rt), 0);
    assert_int_equal(weft_task_result(rt, rt_task), 5);
    assert_int_equal(weft_task_result(rt, wt_task), 5);
    assert_memory_equal(r.buf, "hello", 5);
    /* first poll: EAGAIN and park; second: woken by the event, reads everything. */
    assert_int_equal(r.polls, 2);

    assert_int_equal(weft_io_close(rt, &r.io), 0);
    assert_int_equal(weft_io_close(rt, &wr), 0);
    assert_int_equal(weft_io_close(rt, &wr), WEFT_ECLOSED);
    assert_int_equal(r.io.fd, -1);
}

/* A read with a deadline gives -ETIMEDOUT no earlier than asked; the fd stays usable. */
static void an_io_deadline_times_out_never_early(void **state)
{
    weft_runtime *rt = rt_of(state);
    int p[2];
    weft_test_pipe(p);
    struct reader r = {.want = 1};
    assert_int_equal(weft_io_open(rt, &r.io, p[0]), 0);
    int64_t start = weft_time_now();
    r.deadline = start + WEFT_MSEC(20);
    assert_int_equal(weft_runtime_block_on(rt, reader, &r), -ETIMEDOUT);
    assert_true(weft_time_now() - start >= WEFT_MSEC(20));
    weft_runtime_stats st = rt_stats(rt);
    assert_int_equal(st.timers, 0);
    assert_int_equal(st.io_waiting, 0);

    /* Still usable: data written now is read by the next operation. */
    weft_test_write_all(p[1], "x", 1);
    r.deadline = weft_deadline_in(WEFT_SEC(5));
    r.got = 0;
    assert_int_equal(weft_runtime_block_on(rt, reader, &r), 1);
    assert_int_equal(weft_io_close(rt, &r.io), 0);
    close(p[1]);
}

/* ---------------------------------------------------------------------------------------------
 * Short reads: the EAGAIN call is saved, a hang-up is still seen
 * ------------------------------------------------------------------------------------------- */

/* Sleeps `nap` first, if set (so pending events are delivered: the nap parks the loop at least
 * once), then reads twice. */
struct two_reads {
    weft_co co;
    weft_io io;
    int64_t nap, deadline;
    struct weft_test_nap napping;
    char buf[64];
    int first, second;
    long reads_after_first, reads_after_second_try;
    bool second_tried;
};

static int two_reads(void *frame, weft_cx *cx)
{
    struct two_reads *f = frame;
    WEFT_BEGIN(&f->co);
    if (f->nap > 0) WEFT_AWAIT(&f->co, weft_test_nap(&f->napping, f->nap, cx));
    WEFT_AWAIT(&f->co, f->first = test_io_read(&f->io, f->buf, sizeof f->buf, f->deadline, cx));
    f->reads_after_first = test_io_reads;
    f->second = test_io_read(&f->io, f->buf, sizeof f->buf, f->deadline, cx);
    f->reads_after_second_try = test_io_reads;
    f->second_tried = true;
    if (f->second == WEFT_PENDING) WEFT_YIELD(&f->co); /* parked on the fd by that try */
    WEFT_AWAIT(&f->co, f->second = test_io_read(&f->io, f->buf, sizeof f->buf, f->deadline, cx));
    WEFT_END(&f->co, 0);
}

static void a_short_read_saves_the_eagain_call(void **state)
{
    weft_runtime *rt = rt_of(state);
    int p[2];
    weft_test_pipe(p);
    weft_io wr;
    struct two_reads t = {.deadline = weft_deadline_in(WEFT_SEC(5))};
    assert_int_equal(weft_io_open(rt, &t.io, p[0]), 0);
    assert_int_equal(weft_io_open(rt, &wr, p[1]), 0);
    weft_test_write_all(p[1], "ab", 2);
    /* "cd" comes after the second try: a writer that only slept could come first (its 5 ms
     * passed before its first look at the clock), and the first read would get all four. */
    struct late_writer w = {
        .io = &wr, .delay = WEFT_MSEC(5), .msg = "cd", .after = &t.second_tried};
    assert_int_equal(weft_task_spawn(rt, late_writer, &w, NULL), 0);
    test_io_reads = 0;
    assert_int_equal(weft_runtime_block_on(rt, two_reads, &t), 0);
    assert_int_equal(t.first, 2);
    assert_int_equal(t.reads_after_first, 1);
    assert_int_equal(t.reads_after_second_try, 1); /* parked without a read(2) that says EAGAIN */
    assert_int_equal(t.second, 2);
    assert_int_equal(test_io_reads, 2);
    assert_int_equal(weft_io_close(rt, &t.io), 0);
    assert_int_equal(weft_io_close(rt, &wr), 0);
}

static void a_hang_up_before_a_short_read_is_still_seen(void **state)
{
    weft_runtime *rt = rt_of(state);
    int sp[2];
    weft_test_socketpair(sp);
    struct two_reads t = {.nap = WEFT_MSEC(5), .deadline = weft_deadline_in(WEFT_SEC(2))};
    assert_int_equal(weft_io_open(rt, &t.io, sp[0]), 0);
    weft_test_write_all(sp[1], "x", 1);
    assert_int_equal(shutdown(sp[1], SHUT_WR), 0); /* data, then FIN: reported together */
    assert_int_equal(weft_runtime_block_on(rt, two_reads, &t), 0);
    assert_int_equal(t.first, 1);
    assert_int_equal(t.reads_after_second_try, t.reads_after_first + 1); /* tried at once */
    assert_int_equal(t.second, 0);                                       /* and saw EOF */
    assert_int_equal(weft_io_close(rt, &t.io), 0);
    close(sp[1]);
}

/* ---------------------------------------------------------------------------------------------
 * Reader and writer wait separately
 * ------------------------------------------------------------------------------------------- */

/* Writes to io until the socket buffer is full (EAGAIN), then waits for room once. */
struct filler {
    weft_co co;
    weft_io *io;
    char chunk[4096];
    int n, polls;
    long total;
};

static int filler(void *frame, weft_cx *cx)
{
    struct filler *f = frame;
    f->polls++;
    WEFT_BEGIN(&f->co);
    for (;;) {
        f->n = test_io_write(f->io, f->chunk, sizeof f->chunk, WEFT_NO_DEADLINE, cx);
        if (f->n == WEFT_PENDING) break;
        if (f->n < 0) WEFT_RETURN(&f->co, f->n);
        f->total += f->n;
        if (f->total > (64L << 20)) WEFT_RETURN(&f->co, -EFBIG); /* bounded */
    }
    WEFT_YIELD(&f->co); /* parked as the writer: only writability wakes us */
    WEFT_END(&f->co, 0);
}

static void reader_and_writer_of_one_fd_wake_separately(void **state)
{
    weft_runtime *rt = rt_of(state);
    int sp[2];
    weft_test_socketpair(sp);
    weft_io a;
    assert_int_equal(weft_io_open(rt, &a, sp[0]), 0);

    struct reader r = {.io = a, .want = 3, .deadline = WEFT_NO_DEADLINE};
    struct filler w = {.io = &a};
    weft_task rtask, wtask;
    assert_int_equal(weft_task_spawn(rt, reader, &r, &rtask), 0);
    assert_int_equal(weft_task_spawn(rt, filler, &w, &wtask), 0);
    assert_int_equal(rt_run_for(rt, WEFT_MSEC(5)), 0);
    /* Both parked: the reader (no data) and the writer (buffer full). */
    weft_runtime_stats st = rt_stats(rt);
    assert_int_equal(st.io_waiting, 2);
    int reader_polls = r.polls, writer_polls = w.polls;

    /* The peer sends data: only the reader wakes. */
    weft_test_write_all(sp[1], "abc", 3);
    assert_int_equal(rt_run_for(rt, WEFT_MSEC(5)), 0);
    assert_int_equal(w.polls, writer_polls);
    assert_true(r.polls > reader_polls);
    assert_int_equal(weft_task_result(rt, rtask), 3);

    /* The peer drains: now the writer wakes. */
    weft_test_drain(sp[1], NULL);
    assert_int_equal(weft_runtime_run(rt), 0);
    assert_int_equal(weft_task_result(rt, wtask), 0);
    assert_int_equal(weft_io_close(rt, &a), 0);
    close(sp[1]);
}

/* ---------------------------------------------------------------------------------------------
 * Cancellation leaks nothing
 * ------------------------------------------------------------------------------------------- */

struct io_killer {
    weft_co co;
    struct reader *victim;
    weft_task t;
    weft_runtime_stats during, after;
    int r;
};

static int io_killer(void *frame, weft_cx *cx)
{
    struct io_killer *f = frame;
    WEFT_BEGIN(&f->co);
    if (weft_task_spawn(cx->rt, reader, f->victim, &f->t) != 0) WEFT_RETURN(&f->co, -1);
    WEFT_TASK_YIELD(&f->co, cx); /* behind the victim: it has parked on the empty pipe */
    weft_runtime_get_stats(cx->rt, &f->during);
    weft_task_cancel(cx->rt, f->t);
    weft_runtime_get_stats(cx->rt, &f->after);
    WEFT_AWAIT(&f->co, f->r = weft_task_join(f->t, cx));
    WEFT_END(&f->co, f->r);
}

static void cancel_a_task_blocked_in_io_with_cleanup(void **state)
{
    weft_runtime *rt = rt_of(state);
    int fds = weft_test_fd_count();
    weft_runtime_stats before = rt_stats(rt);
    int p[2];
    weft_test_pipe(p);
    struct reader r = {.want = 1, .close_on_cancel = true};
    r.deadline = weft_deadline_in(WEFT_SEC(30)); /* armed timer too */
    assert_int_equal(weft_io_open(rt, &r.io, p[0]), 0);
    struct io_killer k = {.victim = &r};
    assert_int_equal(weft_runtime_block_on(rt, io_killer, &k), -ECANCELED);

    assert_int_equal(k.during.io_waiting, before.io_waiting + 1);
    assert_int_equal(k.during.timers, before.timers + 1);
    assert_int_equal(k.during.io_open, before.io_open + 1);
    assert_int_equal(r.cleanups, 1);
    assert_int_equal(k.after.io_waiting, before.io_waiting);
    assert_int_equal(k.after.timers, before.timers);
    assert_int_equal(k.after.io_open, before.io_open); /* the cleanup closed it */
    close(p[1]);
    assert_int_equal(weft_test_fd_count(), fds);
}

/* Without a cleanup block the fd stays open (it is the coroutine's to close), but nothing the
 * runtime holds points at the dead task: the fd's events wake nobody, the timer is gone. */
static int bare_reader(void *frame, weft_cx *cx)
{
    struct reader *f = frame;
    WEFT_BEGIN(&f->co);
    WEFT_AWAIT(&f->co, f->n = test_io_read(&f->io, f->buf, sizeof f->buf, f->deadline, cx));
    WEFT_END(&f->co, f->n);
}

static void cancel_without_cleanup_block_is_safe(void **state)
{
    weft_runtime *rt = rt_of(state);
    int p[2];
    weft_test_pipe(p);
    struct reader *r = calloc(1, sizeof *r);
    assert_non_null(r);
    r->deadline = weft_deadline_in(WEFT_SEC(30));
    assert_int_equal(weft_io_open(rt, &r->io, p[0]), 0);
    weft_io io = r->io;
    weft_task t;
    assert_int_equal(weft_task_spawn(rt, bare_reader, r, &t), 0);
    assert_int_equal(rt_run_for(rt, WEFT_MSEC(5)), 0);
    assert_int_equal(rt_stats(rt).io_waiting, 1);
    assert_int_equal(weft_task_cancel(rt, t), 1);
    free(r); /* the frame is gone: nothing may touch it from now on (ASan watches) */
    weft_runtime_stats st = rt_stats(rt);
    assert_int_equal(st.io_waiting, 0);
    assert_int_equal(st.timers, 0);
    assert_int_equal(st.tasks, 0);
    assert_int_equal(weft_task_result(rt, t), -ECANCELED);

    /* An event on the fd now finds only a stale waker. */
    weft_test_write_all(p[1], "z", 1);
    struct reader other = {.io = io, .want = 1, .deadline = WEFT_NO_DEADLINE};
    assert_int_equal(weft_runtime_block_on(rt, reader, &other), 1);
    assert_int_equal(weft_io_close(rt, &io), 0);
    close(p[1]);
}

/* weft_io_close wakes a task waiting on the fd; it sees WEFT_ECLOSED. */
struct closer {
    weft_co co;
    struct reader *victim;
    weft_task t;
    int r;
};

static int closer(void *frame, weft_cx *cx)
{
    struct closer *f = frame;
    WEFT_BEGIN(&f->co);
    if (weft_task_spawn(cx->rt, reader, f->victim, &f->t) != 0) WEFT_RETURN(&f->co, -1);
    WEFT_TASK_YIELD(&f->co, cx);
    weft_io_close(cx->rt, &f->victim->io);
    WEFT_AWAIT(&f->co, f->r = weft_task_join(f->t, cx));
    WEFT_END(&f->co, f->r);
}

static void close_wakes_waiters_with_ECLOSED(void **state)
{
    weft_runtime *rt = rt_of(state);
    int p[2];
    weft_test_pipe(p);
    struct reader r = {.want = 1, .deadline = WEFT_NO_DEADLINE};
    assert_int_equal(weft_io_open(rt, &r.io, p[0]), 0);
    struct closer c = {.victim = &r};
    assert_int_equal(weft_runtime_block_on(rt, closer, &c), WEFT_ECLOSED);
    close(p[1]);
}

/* ---------------------------------------------------------------------------------------------
 * Stale events after close and slot reuse
 * ------------------------------------------------------------------------------------------- */

/*
 * epoll registers the open file, not the fd: with a dup of the fd alive, closing the fd leaves
 * the registration in place and its events keep coming under the old token. A new weft_io that
 * reuses the slot must not be woken by them.
 */
static void a_stale_event_never_wakes_the_slots_new_owner(void **state)
{
    weft_runtime *rt = rt_of(state);
    int old_pipe[2], new_pipe[2];
    weft_test_pipe(old_pipe);
    weft_test_pipe(new_pipe);
    int keep_alive = dup(old_pipe[0]);
    assert_true(keep_alive >= 0);

    weft_io old_io, new_io;
    assert_int_equal(weft_io_open(rt, &old_io, old_pipe[0]), 0);
    assert_int_equal(weft_io_close(rt, &old_io), 0); /* close(2) only: the dup keeps it in epoll */
    assert_int_equal(weft_io_open(rt, &new_io, new_pipe[0]), 0);
    assert_int_equal(new_io.slot, old_io.slot);
    assert_int_not_equal(new_io.gen, old_io.gen);

    struct reader r = {.io = new_io, .want = 1, .deadline = WEFT_NO_DEADLINE};
    weft_task t;
    assert_int_equal(weft_task_spawn(rt, reader, &r, &t), 0);
    assert_int_equal(rt_run_for(rt, WEFT_MSEC(5)), 0);
    assert_int_equal(r.polls, 1);

    /* The old file becomes readable: its event carries the old token. */
    weft_test_write_all(old_pipe[1], "s", 1);
    weft_test_write_all(old_pipe[1], "t", 1);
    assert_int_equal(rt_run_for(rt, WEFT_MSEC(10)), 0);
    assert_int_equal(r.polls, 1);                /* the new owner was not woken... */
    assert_true(rt_stats(rt).stale_events >= 1); /* ...though the stale event did arrive */
    assert_int_equal(rt_stats(rt).io_waiting, 1);
    weft_test_write_all(new_pipe[1], "n", 1);
    assert_int_equal(weft_runtime_run(rt), 0);
    assert_int_equal(weft_task_result(rt, t), 1);
    assert_int_equal(r.buf[0], 'n');

    assert_int_equal(weft_io_close(rt, &new_io), 0);
    close(keep_alive);
    close(old_pipe[1]);
    close(new_pipe[1]);
}

/* ---------------------------------------------------------------------------------------------
 * Fairness
 * ------------------------------------------------------------------------------------------- */

/*
 * A greedy task on a socketpair that is always readable: it reads one byte from one end and
 * writes it back into the other, so every read succeeds at once and it never meets EAGAIN.
 * It stops when the timer task says so — or, if the runtime let it starve the timer, after a
 * bound that makes the test fail instead of hang.
 */
struct greedy {
    weft_co co;
    weft_io a, b;
    char c;
    long ops;
    const bool *timer_fired;
    int n;
};

static int greedy(void *frame, weft_cx *cx)
{
    struct greedy *f = frame;
    WEFT_BEGIN(&f->co);
    while (!*f->timer_fired && f->ops < 20000000) {
        WEFT_AWAIT(&f->co, f->n = test_io_read(&f->a, &f->c, 1, WEFT_NO_DEADLINE, cx));
        if (f->n != 1) WEFT_RETURN(&f->co, -EIO);
        WEFT_AWAIT(&f->co, f->n = test_io_write(&f->b, &f->c, 1, WEFT_NO_DEADLINE, cx));
        if (f->n != 1) WEFT_RETURN(&f->co, -EIO);
        f->ops++;
    }
    WEFT_END(&f->co, *f->timer_fired ? 0 : -ETIMEDOUT);
}

struct alarm_task {
    weft_co co;
    int64_t wake, started, fired_at;
    bool fired;
};

static int alarm_task(void *frame, weft_cx *cx)
{
    struct alarm_task *f = frame;
    WEFT_BEGIN(&f->co);
    f->started = weft_time_now();
    WEFT_AWAIT(&f->co, weft_sleep_for(&f->wake, WEFT_MSEC(10), cx));
    f->fired_at = weft_time_now();
    f->fired = true;
    WEFT_END(&f->co, 0);
}

static void a_greedy_reader_does_not_starve_a_timer(void **state)
{
    weft_runtime *rt = rt_of(state);
    int sp[2];
    weft_test_socketpair(sp);
    struct alarm_task al = {0};
    struct greedy g = {.timer_fired = &al.fired};
    assert_int_equal(weft_io_open(rt, &g.a, sp[0]), 0);
    assert_int_equal(weft_io_open(rt, &g.b, sp[1]), 0);
    weft_test_write_all(sp[1], "q", 1); /* the byte that goes round and round */

    weft_task gt, at;
    assert_int_equal(weft_task_spawn(rt, greedy, &g, &gt), 0);
    assert_int_equal(weft_task_spawn(rt, alarm_task, &al, &at), 0);
    assert_int_equal(weft_runtime_run(rt), 0);
    assert_true(al.fired);
    assert_true(al.fired_at - al.started >= WEFT_MSEC(10));
    assert_int_equal(weft_task_result(rt, gt), 0);
    assert_int_equal(weft_task_result(rt, at), 0);
    assert_true(g.ops > 0);
    print_message("greedy task did %ld round trips while the 10 ms timer waited\n", g.ops);
    assert_int_equal(weft_io_close(rt, &g.a), 0);
    assert_int_equal(weft_io_close(rt, &g.b), 0);
}

/* ---------------------------------------------------------------------------------------------
 * Opening
 * ------------------------------------------------------------------------------------------- */

static void open_failure_leaves_the_fd_to_the_caller(void **state)
{
    weft_runtime *rt = rt_of(state);
    int fd = open("/proc/self/stat", O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    assert_true(fd >= 0);
    weft_io io;
    assert_int_equal(weft_io_open(rt, &io, fd), -EPERM); /* epoll refuses regular files */
    assert_int_equal(rt_stats(rt).io_open, 0);
    assert_int_equal(fcntl(fd, F_GETFD), FD_CLOEXEC); /* still open, still ours */
    close(fd);
    assert_int_equal(weft_io_open(rt, &io, -1), -EBADF);
}

/* A zeroed handle is closed: nothing happens to fd 0, with or without records in the table. */
static void a_zeroed_io_is_a_closed_handle(void **state)
{
    weft_runtime *rt = rt_of(state);
    weft_io zero = {0};
    assert_int_equal(weft_io_close(rt, &zero), WEFT_ECLOSED); /* empty table */
    int p[2];
    weft_test_pipe(p);
    weft_io io;
    assert_int_equal(weft_io_open(rt, &io, p[0]), 0);
    assert_int_equal(io.slot, 0);
    assert_int_equal(weft_io_close(rt, &zero), WEFT_ECLOSED); /* slot 0 in use */
    assert_int_equal(rt_stats(rt).io_open, 1);
    assert_true(fcntl(0, F_GETFD) >= 0 || errno == EBADF); /* fd 0 untouched either way */
    assert_int_equal(weft_io_close(rt, &io), 0);
    close(p[1]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(a_read_suspends_until_data_arrives, rt_setup, rt_teardown),
        cmocka_unit_test_setup_teardown(an_io_deadline_times_out_never_early, rt_setup,
                                        rt_teardown),
        cmocka_unit_test_setup_teardown(a_short_read_saves_the_eagain_call, rt_setup, rt_teardown),
        cmocka_unit_test_setup_teardown(a_hang_up_before_a_short_read_is_still_seen, rt_setup,
                                        rt_teardown),
        cmocka_unit_test_setup_teardown(reader_and_writer_of_one_fd_wake_separately, rt_setup,
                                        rt_teardown),
        cmocka_unit_test_setup_teardown(cancel_a_task_blocked_in_io_with_cleanup, rt_setup,
                                        rt_teardown),
        cmocka_unit_test_setup_teardown(cancel_without_cleanup_block_is_safe, rt_setup,
                                        rt_teardown),
        cmocka_unit_test_setup_teardown(close_wakes_waiters_with_ECLOSED, rt_setup, rt_teardown),
        cmocka_unit_test_setup_teardown(a_stale_event_never_wakes_the_slots_new_owner, rt_setup,
                                        rt_teardown),
        cmocka_unit_test_setup_teardown(a_greedy_reader_does_not_starve_a_timer, rt_setup,
                                        rt_teardown),
        cmocka_unit_test_setup_teardown(open_failure_leaves_the_fd_to_the_caller, rt_setup,
                                        rt_teardown),
        cmocka_unit_test_setup_teardown(a_zeroed_io_is_a_closed_handle, rt_setup, rt_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
