/*
 * Tests of weft/select.h: a task selects over a channel receive, a socket read, a timer, another
 * task's completion and a signal. Each case wins in turn; the losers must leave no trace — no item
 * taken from the channel, no bytes taken from the socket, no timer left armed, no turn held on
 * the channel that another receiver needs.
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <signal.h>
#include <string.h>
#include <unistd.h>

#include <weft/select.h>
#include <weft/signal.h>

#include "sync_test.h"
#include "weft_test_net.h"

enum { CASE_CHAN, CASE_SOCK, CASE_TIMER, CASE_JOIN, CASE_SIGNAL };

/* A task that finishes with 77 once its gate is notified. */
struct gated {
    weft_co co;
    weft_notify *gate;
};

static int gated(void *frame, weft_cx *cx)
{
    struct gated *f = frame;
    int r;
    WEFT_BEGIN(&f->co);
    WEFT_AWAIT(&f->co, r = weft_notify_wait(f->gate, cx));
    (void)r;
    WEFT_END(&f->co, 77);
}

/* Selects over all five, then (optionally) sleeps, and returns the winning index. */
struct chooser {
    weft_co co;
    weft_select sel;
    weft_chan *ch;
    int item;
    weft_io *io;
    char buf[16];
    int64_t deadline;
    weft_task child;
    weft_signal *sig;
    int after_ms; /* then sleeps this long (suspending at least once) */
    struct weft_test_nap nap;
};

static int chooser(void *frame, weft_cx *cx)
{
    struct chooser *f = frame;
    WEFT_BEGIN(&f->co);
    WEFT_SELECT(
        &f->co, &f->sel,
        weft_select_case(&f->sel, CASE_CHAN, weft_chan_recv(f->ch, &f->item, cx)) ||
            weft_select_case(&f->sel, CASE_SOCK,
                             test_io_read(f->io, f->buf, sizeof f->buf, WEFT_NO_DEADLINE, cx)) ||
            weft_select_case(&f->sel, CASE_TIMER, weft_sleep_until(f->deadline, cx)) ||
            weft_select_case(&f->sel, CASE_JOIN, weft_task_join(f->child, cx)) ||
            weft_select_case(&f->sel, CASE_SIGNAL, weft_signal_wait(f->sig, cx)));
    if (f->after_ms > 0) WEFT_AWAIT(&f->co, weft_test_nap(&f->nap, WEFT_MSEC(f->after_ms), cx));
    WEFT_END(&f->co, f->sel.which);
}

/* A plain receiver. */
struct receiver {
    weft_co co;
    weft_chan *ch;
    int item, result;
};

static int receiver(void *frame, weft_cx *cx)
{
    struct receiver *f = frame;
    WEFT_BEGIN(&f->co);
    WEFT_AWAIT(&f->co, f->result = weft_chan_recv(f->ch, &f->item, cx));
    WEFT_END(&f->co, f->result);
}

/* Everything a select test needs, opened by setup and checked and closed by teardown. */
struct sel_fix {
    weft_runtime *rt;
    int storage[4];
    weft_chan ch;
    int sp[2]; /* sp[0] is in io; the test writes to sp[1] */
    weft_io io;
    weft_notify gate;
    struct gated child_frame;
    weft_task child;
    weft_signal sig;
    struct chooser c;
    weft_task chooser;
};

/* Tests run one at a time: one fixture, next to the runtime fixture in *state. */
static struct sel_fix the_fix;

static struct sel_fix *fix(void **state)
{
    (void)state;
    return &the_fix;
}

static int sel_setup(void **state)
{
    if (rt_setup(state) != 0) return -1;
    struct sel_fix *s = fix(state);
    *s = (struct sel_fix){.rt = rt_of(state)};
    assert_int_equal(weft_chan_init(&s->ch, s->rt, s->storage, sizeof(int), 4), 0);
    weft_test_socketpair(s->sp);
    assert_int_equal(weft_io_open(s->rt, &s->io, s->sp[0]), 0);
    assert_int_equal(weft_notify_init(&s->gate, s->rt), 0);
    s->child_frame.gate = &s->gate;
    assert_int_equal(weft_task_spawn(s->rt, gated, &s->child_frame, &s->child), 0);
    const int sigs[] = {SIGUSR1};
    assert_int_equal(weft_signal_open(s->rt, &s->sig, sigs, 1), 0);
    s->c = (struct chooser){.ch = &s->ch,
                            .io = &s->io,
                            .child = s->child,
                            .sig = &s->sig,
                            .deadline = weft_deadline_in(WEFT_SEC(30))};
    return 0;
}

static int sel_teardown(void **state)
{
    struct sel_fix *s = fix(state);
    weft_runtime *rt = s->rt;
    /* The child may still be waiting for its gate: open it and collect its result. */
    weft_notify_one(&s->gate);
    drive_until_done(rt, s->child, 1000);
    assert_int_equal(weft_task_result(rt, s->child), 77);
    assert_int_equal(sync_stats(rt).waiters, 0);
    assert_int_equal(weft_signal_close(rt, &s->sig), 0);
    weft_notify_destroy(&s->gate);
    weft_chan_destroy(&s->ch);
    assert_int_equal(weft_io_close(rt, &s->io), 0);
    close(s->sp[1]);
    return sync_teardown(state);
}

/* Starts the chooser and lets it reach its select: every case pending. */
static void start_chooser(struct sel_fix *s)
{
    assert_int_equal(weft_task_spawn(s->rt, chooser, &s->c, &s->chooser), 0);
    weft_runtime_run_ready(s->rt);
    weft_task_info info;
    assert_int_equal(weft_task_inspect(s->rt, s->chooser, &info), 0);
    assert_int_equal(info.state, WEFT_TASK_WAITING);
    assert_int_equal(s->c.sel.which, -1);
}

/* The chooser finished with `which`; check what every losing case left behind. */
static void check_losers(struct sel_fix *s, int which)
{
    assert_int_equal(weft_task_result(s->rt, s->chooser), which);
    /* Channel: nothing taken, nobody waiting, and a new item is free for anyone. */
    int v = 5;
    assert_int_equal(weft_chan_len(&s->ch), 0);
    assert_int_equal(weft_chan_try_send(&s->ch, &v), 0);
    assert_int_equal(weft_chan_try_recv(&s->ch, &v), 0);
    /* Socket: bytes written now are all still there to read. */
    weft_test_write_all(s->sp[1], "zz", 2);
    char buf[8];
    assert_int_equal(read(s->sp[0], buf, sizeof buf), 2);
    /* Signal: one raised now is still delivered to the next wait (checked by the close). */
    /* Timer: the chooser is done, so none of its timers may remain. */
    assert_int_equal(rt_stats(s->rt).timers, 0);
}

static void select_chan_wins(void **state)
{
    struct sel_fix *s = fix(state);
    start_chooser(s);
    int v = 41;
    assert_int_equal(weft_chan_try_send(&s->ch, &v), 0);
    drive_until_done(s->rt, s->chooser, 1000);
    assert_int_equal(s->c.sel.result, 0);
    assert_int_equal(s->c.item, 41);
    check_losers(s, CASE_CHAN);
}

static void select_socket_wins(void **state)
{
    struct sel_fix *s = fix(state);
    start_chooser(s);
    weft_test_write_all(s->sp[1], "abc", 3);
    drive_until_done(s->rt, s->chooser, 1000);
    assert_int_equal(s->c.sel.result, 3);
    assert_memory_equal(s->c.buf, "abc", 3);
    check_losers(s, CASE_SOCK);
}

static void select_timer_wins(void **state)
{
    struct sel_fix *s = fix(state);
    int64_t start = weft_time_now();
    s->c.deadline = start + WEFT_MSEC(10);
    start_chooser(s);
    drive_until_done(s->rt, s->chooser, 1000);
    assert_true(weft_time_now() - start >= WEFT_MSEC(10));
    assert_int_equal(s->c.sel.result, 0);
    check_losers(s, CASE_TIMER);
}

static void select_join_wins(void **state)
{
    struct sel_fix *s = fix(state);
    start_chooser(s);
    weft_notify_one(&s->gate);
    drive_until_done(s->rt, s->chooser, 1000);
    assert_int_equal(s->c.sel.result, 77);
    check_losers(s, CASE_JOIN);
    /* The join collected the child: respawn one for the teardown to collect. */
    assert_int_equal(weft_task_spawn(s->rt, gated, &s->child_frame, &s->child), 0);
}

static void select_signal_wins(void **state)
{
    struct sel_fix *s = fix(state);
    start_chooser(s);
    assert_int_equal(kill(getpid(), SIGUSR1), 0);
    drive_until_done(s->rt, s->chooser, 1000);
    assert_int_equal(s->c.sel.result, SIGUSR1);
    check_losers(s, CASE_SIGNAL);
}

/* Two cases ready at once: the lower index wins and the other keeps its item or bytes. */
static void select_tie_goes_to_the_first_case(void **state)
{
    struct sel_fix *s = fix(state);
    int v = 9;
    assert_int_equal(weft_chan_try_send(&s->ch, &v), 0);
    weft_test_write_all(s->sp[1], "q", 1);
    assert_int_equal(weft_task_spawn(s->rt, chooser, &s->c, &s->chooser), 0);
    drive_until_done(s->rt, s->chooser, 1000);
    assert_int_equal(weft_task_result(s->rt, s->chooser), CASE_CHAN);
    char c;
    assert_int_equal(read(s->sp[0], &c, 1), 1);
    assert_int_equal(c, 'q');
}

/*
 * The abandoned channel case of a select that the timer won keeps its place in the queue while
 * the task goes on to sleep; an item sent now first gives that stale place the turn. The turn
 * must reach the receiver behind it, and the item must not be lost.
 */
static void select_abandoned_turn_reaches_next_receiver(void **state)
{
    struct sel_fix *s = fix(state);
    s->c.deadline = weft_deadline_in(WEFT_MSEC(2));
    s->c.after_ms = 30;
    /* Not start_chooser: the timer may win in the first poll already (the 2 ms passed before
     * it), which leaves the same abandoned place behind. */
    assert_int_equal(weft_task_spawn(s->rt, chooser, &s->c, &s->chooser), 0);
    weft_runtime_run_ready(s->rt);
    /* Let the timer win: the chooser is now in its 30 ms sleep. */
    for (int i = 0; i < 100 && s->c.sel.which == -1; i++) {
        assert_int_equal(weft_runtime_park(s->rt), 0);
        weft_runtime_run_ready(s->rt);
    }
    assert_int_equal(s->c.sel.which, CASE_TIMER);
    struct receiver r = {.ch = &s->ch};
    weft_task rt_task;
    assert_int_equal(weft_task_spawn(s->rt, receiver, &r, &rt_task), 0);
    weft_runtime_run_ready(s->rt);
    int v = 123;
    assert_int_equal(weft_chan_try_send(&s->ch, &v), 0);
    drive_until_done(s->rt, rt_task, 1000);
    assert_int_equal(weft_task_result(s->rt, rt_task), 0);
    assert_int_equal(r.item, 123);
    drive_until_done(s->rt, s->chooser, 1000);
    check_losers(s, CASE_TIMER);
}

int main(void)
{
    alarm(60); /* a lost wake-up would park forever: make it a failure instead */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(select_chan_wins, sel_setup, sel_teardown),
        cmocka_unit_test_setup_teardown(select_socket_wins, sel_setup, sel_teardown),
        cmocka_unit_test_setup_teardown(select_timer_wins, sel_setup, sel_teardown),
        cmocka_unit_test_setup_teardown(select_join_wins, sel_setup, sel_teardown),
        cmocka_unit_test_setup_teardown(select_signal_wins, sel_setup, sel_teardown),
        cmocka_unit_test_setup_teardown(select_tie_goes_to_the_first_case, sel_setup, sel_teardown),
        cmocka_unit_test_setup_teardown(select_abandoned_turn_reaches_next_receiver, sel_setup,
                                        sel_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
