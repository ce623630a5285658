/*
 * Tests of the tracer (weft/trace.h): a traced run is a valid Chrome trace (every line JSON, the
 * required fields, B/E balanced per track — checked by weft-trace's own checker, linked in) and
 * says what happened: spawns, polls, each suspension with its reason and site, wakes with their
 * cause, parks, events, timers, cancels. Also: WEFT_TRACE, the buffer and task-table growth,
 * stopping and starting inside a poll, and the task dump on a signal.
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <weft/sync.h>
#include <weft/trace.h>

#include "runtime_test.h"
#include "trace_file.h"
#include "weft_trace.h"

/* ---------------------------------------------------------------------------------------------
 * Recording into memory, reading it back
 * ------------------------------------------------------------------------------------------- */

struct recording {
    FILE *f;
    char *buf;
    size_t len;
    struct tf_trace t;
};

static void rec_start(weft_runtime *rt, struct recording *r)
{
    *r = (struct recording){0};
    r->f = open_memstream(&r->buf, &r->len);
    assert_non_null(r->f);
    assert_int_equal(weft_trace_start_file(rt, r->f), 0);
    assert_true(weft_trace_active(rt));
}

/* Reads the finished recording back and checks it as `weft-trace check` would. */
static void rec_read(struct recording *r)
{
    assert_int_equal(fclose(r->f), 0);
    FILE *in = fmemopen(r->buf, r->len, "r");
    assert_non_null(in);
    char err[256] = "";
    int rd = tf_read(in, &r->t, err, sizeof err);
    fclose(in);
    if (rd != 0) fail_msg("the trace does not parse: %s", err);
    char *report = NULL;
    size_t report_len = 0;
    FILE *out = open_memstream(&report, &report_len);
    assert_non_null(out);
    int status = cmd_check(&r->t, out);
    fclose(out);
    if (status != 0) fail_msg("weft-trace check: %s", report);
    free(report);
}

static void rec_free(struct recording *r)
{
    tf_free(&r->t);
    free(r->buf);
}

/*
 * Counts the events of phase ph named name (NULL: any name) whose args[key] contains `has`
 * (key NULL: no condition on args).
 */
static size_t count(const struct tf_trace *t, char ph, const char *name, const char *key,
                    const char *has)
{
    size_t n = 0;
    for (size_t i = 0; i < t->n; i++) {
        const struct tf_event *e = &t->ev[i];
        if (e->ph != ph || (name != NULL && strcmp(e->name, name) != 0)) continue;
        const char *v = key != NULL ? tf_arg(e, key) : NULL;
        if (key == NULL || (v != NULL && strstr(v, has) != NULL)) n++;
    }
    return n;
}

/* The first B event named name whose args[key] equals value, or NULL. */
static const struct tf_event *find_begin(const struct tf_trace *t, const char *name,
                                         const char *key, const char *value)
{
    for (size_t i = 0; i < t->n; i++) {
        const struct tf_event *e = &t->ev[i];
        const char *v = tf_arg(e, key);
        if (e->ph == 'B' && strcmp(e->name, name) == 0 && v != NULL && strcmp(v, value) == 0)
            return e;
    }
    return NULL;
}

static int make_pipe(int fds[2])
{
    return pipe2(fds, O_NONBLOCK | O_CLOEXEC);
}

/* ---------------------------------------------------------------------------------------------
 * A small program with every kind of wait
 * ------------------------------------------------------------------------------------------- */

/* Reads from a pipe, with a deadline (so its wait is "read fd N, timer in ..."). */
struct reader {
    weft_co co;
    weft_io io;
    int64_t deadline;
    char buf[16];
    int n;
    int line; /* the line of its WEFT_AWAIT, for the site check */
};

static int reader_fn(void *frame, weft_cx *cx)
{
    struct reader *f = frame;
    WEFT_BEGIN(&f->co);
    f->deadline = weft_deadline_in(WEFT_SEC(10));
    f->line = __LINE__ + 1;
    WEFT_AWAIT(&f->co, f->n = test_io_read(&f->io, f->buf, sizeof f->buf, f->deadline, cx));
    WEFT_END(&f->co, f->n);
}

/* Waits for someone to call its waker: a wait the runtime cannot see ("other"). */
struct waiter {
    weft_co co;
    weft_waker waker;
    bool go;
};

static int waiter_fn(void *frame, weft_cx *cx)
{
    struct waiter *f = frame;
    WEFT_BEGIN(&f->co);
    f->waker = weft_cx_waker(cx);
    WEFT_WAIT_UNTIL(&f->co, f->go);
    WEFT_ON_CANCEL(&f->co);
    WEFT_END(&f->co, 0);
}

/* Sleeps, then writes to the pipe, wakes the waiter and cancels the victim (a nested poll). */
struct writer {
    weft_co co;
    struct weft_test_nap nap; /* a wait on a timer whatever the machine's speed */
    int fd;
    struct waiter *waiter;
    weft_task victim;
};

static int writer_fn(void *frame, weft_cx *cx)
{
    struct writer *f = frame;
    WEFT_BEGIN(&f->co);
    WEFT_AWAIT(&f->co, weft_test_nap(&f->nap, WEFT_MSEC(3), cx));
    assert_int_equal(write(f->fd, "hi", 2), 2);
    f->waiter->go = true;
    weft_waker_wake(cx->rt, f->waiter->waker);
    assert_int_equal(weft_task_cancel(cx->rt, f->victim), 1);
    WEFT_END(&f->co, 0);
}

struct joiner {
    weft_co co;
    weft_task target;
    int r;
};

static int joiner_fn(void *frame, weft_cx *cx)
{
    struct joiner *f = frame;
    WEFT_BEGIN(&f->co);
    WEFT_AWAIT(&f->co, f->r = weft_task_join(f->target, cx));
    WEFT_END(&f->co, f->r);
}

struct yielder {
    weft_co co;
    int i, n;
};

static int yielder_fn(void *frame, weft_cx *cx)
{
    struct yielder *f = frame;
    WEFT_BEGIN(&f->co);
    for (f->i = 0; f->i < f->n; f->i++)
        WEFT_TASK_YIELD(&f->co, cx);
    WEFT_END(&f->co, 0);
}

struct program {
    int fds[2];
    struct reader rd;
    struct waiter wt, victim;
    struct writer wr;
    struct joiner jn;
    struct yielder y;
    weft_task t_wt, t_wr, t_jn, t_y;
};

/* Spawns the six tasks and runs them to the end. */
static void run_program(weft_runtime *rt, struct program *p)
{
    weft_task t_rd, t_victim;
    *p = (struct program){.y.n = 2};
    assert_int_equal(make_pipe(p->fds), 0);
    assert_int_equal(weft_io_open(rt, &p->rd.io, p->fds[0]), 0);
    p->wr.fd = p->fds[1];
    p->wr.waiter = &p->wt;
    assert_int_equal(weft_task_spawn(rt, reader_fn, &p->rd, &t_rd), 0);
    assert_int_equal(weft_task_spawn(rt, waiter_fn, &p->wt, &p->t_wt), 0);
    assert_int_equal(weft_task_spawn(rt, waiter_fn, &p->victim, &t_victim), 0);
    p->wr.victim = t_victim;
    weft_task_detach(rt, t_victim);
    assert_int_equal(weft_task_spawn(rt, writer_fn, &p->wr, &p->t_wr), 0);
    p->jn.target = t_rd;
    assert_int_equal(weft_task_spawn(rt, joiner_fn, &p->jn, &p->t_jn), 0);
    assert_int_equal(weft_task_spawn(rt, yielder_fn, &p->y, &p->t_y), 0);
    assert_int_equal(weft_runtime_run(rt), 0);
    assert_int_equal(weft_task_result(rt, p->t_jn), 2); /* the reader's 2 bytes */
    assert_int_equal(weft_task_result(rt, p->t_wt), 0);
    assert_int_equal(weft_task_result(rt, p->t_wr), 0);
    assert_int_equal(weft_task_result(rt, p->t_y), 0);
    assert_int_equal(weft_io_close(rt, &p->rd.io), 0);
    close(p->fds[1]);
}

/* Records the program's run and reads the trace back. */
static void record_program(weft_runtime *rt, struct recording *r, struct program *p)
{
    rec_start(rt, r);
    run_program(rt, p);
    assert_int_equal(weft_trace_stop(rt), 0);
    assert_false(weft_trace_active(rt));
    rec_read(r);
}

/* ---------------------------------------------------------------------------------------------
 * What a trace contains
 * ------------------------------------------------------------------------------------------- */

static void a_traced_run_is_a_valid_trace(void **state)
{
    struct recording r;
    struct program p;
    record_program(rt_of(state), &r, &p);
    assert_true(r.t.complete);
    assert_int_equal(count(&r.t, 'i', "spawn", NULL, NULL), 6);
    assert_int_equal(count(&r.t, 'M', "thread_name", NULL, NULL), 1 + 6);
    /* Tracks are named after the function of the task's longest wait. */
    assert_int_equal(count(&r.t, 'M', "thread_name", "name", "task 1 (reader_fn)"), 1);
    assert_int_equal(count(&r.t, 'M', "thread_name", "name", "task 5 (joiner_fn)"), 1);
    rec_free(&r);
}

static void each_suspension_has_its_reason_and_site(void **state)
{
    struct recording r;
    struct program p;
    record_program(rt_of(state), &r, &p);

    char site[64], reason[64];
    snprintf(site, sizeof site, "test_trace.c:%d", p.rd.line);
    const struct tf_event *rd = find_begin(&r.t, "wait read", "site", site);
    assert_non_null(rd);
    assert_string_equal(tf_arg(rd, "func"), "reader_fn");
    assert_string_equal(tf_arg(rd, "kind"), "read");
    snprintf(reason, sizeof reason, "read fd %d, timer in ", p.fds[0]);
    assert_non_null(strstr(tf_arg(rd, "reason"), reason));
    assert_non_null(strstr(tf_arg(rd, "file"), "tests/runtime/test_trace.c"));

    assert_non_null(find_begin(&r.t, "wait timer", "func", "writer_fn"));
    assert_non_null(find_begin(&r.t, "wait join", "func", "joiner_fn"));
    assert_int_equal(count(&r.t, 'B', "wait join", "reason", "join task 1"), 1);
    assert_int_equal(count(&r.t, 'B', "wait yield", "func", "yielder_fn"), 2);
    assert_int_equal(count(&r.t, 'B', "wait other", "func", "waiter_fn"), 2); /* and victim */
    rec_free(&r);
}

/* Receives one item from a channel: with the channel empty, it waits in the fast slot. */
struct chan_receiver {
    weft_co co;
    weft_chan *ch;
    int item, r;
};

static int chan_receiver_fn(void *frame, weft_cx *cx)
{
    struct chan_receiver *f = frame;
    WEFT_BEGIN(&f->co);
    WEFT_AWAIT(&f->co, f->r = weft_chan_recv(f->ch, &f->item, cx));
    WEFT_END(&f->co, f->r == 0 ? f->item : f->r);
}

/* A poll that takes (or renews) a channel's fast slot tells the executor so in the same context
 * flags as a yield; its wait is still a "queue" wait, not a yield. */
static void a_fast_slot_wait_is_a_queue_wait_not_a_yield(void **state)
{
    weft_runtime *rt = rt_of(state);
    int storage[1];
    weft_chan ch;
    assert_int_equal(weft_chan_init(&ch, rt, storage, sizeof storage[0], 1), 0);
    struct recording r;
    rec_start(rt, &r);
    struct chan_receiver f = {.ch = &ch};
    weft_task t;
    assert_int_equal(weft_task_spawn(rt, chan_receiver_fn, &f, &t), 0);
    weft_runtime_run_ready(rt);
    int v = 3;
    assert_int_equal(weft_chan_try_send(&ch, &v), 0);
    weft_runtime_run_ready(rt);
    assert_int_equal(weft_task_result(rt, t), 3);
    assert_int_equal(weft_trace_stop(rt), 0);
    rec_read(&r);
    assert_int_equal(count(&r.t, 'B', "wait queue", "func", "chan_receiver_fn"), 1);
    assert_int_equal(count(&r.t, 'B', "wait yield", NULL, NULL), 0);
    rec_free(&r);
    weft_chan_destroy(&ch);
}

static void wakes_say_what_caused_them(void **state)
{
    struct recording r;
    struct program p;
    record_program(rt_of(state), &r, &p);
    char fd[16];
    snprintf(fd, sizeof fd, "%d", p.fds[0]);
    /* The reader: by the pipe's event; the writer: by its timer; the waiter: by the writer;
     * the joiner: by the reader's exit. */
    assert_int_equal(count(&r.t, 'i', "wake", "flags", "readable"), 1);
    assert_int_equal(count(&r.t, 'i', "wake", "fd", fd), 1);
    assert_int_equal(count(&r.t, 'i', "wake", "by", "timer"), 1);
    assert_int_equal(count(&r.t, 'i', "wake", "cause", "task 4"), 1);
    assert_int_equal(count(&r.t, 'i', "wake", "cause", "task 1 finished"), 1);
    assert_int_equal(count(&r.t, 'i', "timer", NULL, NULL), 1);
    assert_true(count(&r.t, 'i', "event", "fd", fd) >= 1);
    /* The victim: cancelled by the writer, its cleanup polled inside the writer's poll. */
    assert_int_equal(count(&r.t, 'i', "cancel", "by", "task 4"), 1);
    assert_int_equal(count(&r.t, 'i', "done", "result", "-125"), 1);
    assert_int_equal(count(&r.t, 'i', "done", NULL, NULL), 6);
    rec_free(&r);
}

static void parks_show_timeout_and_events(void **state)
{
    struct recording r;
    struct program p;
    record_program(rt_of(state), &r, &p);
    size_t parks = count(&r.t, 'B', "park", NULL, NULL);
    assert_true(parks >= 1);
    assert_int_equal(count(&r.t, 'B', "park", "timeout_ms", "") +
                         count(&r.t, 'B', "park", "timeout", "forever"),
                     parks);
    assert_int_equal(count(&r.t, 'E', "park", "events", ""), parks);
    assert_int_equal(count(&r.t, 'C', "tasks", "unfinished", ""), parks);
    rec_free(&r);
}

/* ---------------------------------------------------------------------------------------------
 * Growth, and stopping and starting at awkward moments
 * ------------------------------------------------------------------------------------------- */

/* Spawns waves of detached yielders, so slots are reused by new tasks. */
struct spawner {
    weft_co co;
    int wave, waves, per_wave;
};

static int spawner_fn(void *frame, weft_cx *cx)
{
    struct spawner *f = frame;
    WEFT_BEGIN(&f->co);
    for (f->wave = 0; f->wave < f->waves; f->wave++) {
        for (int i = 0; i < f->per_wave; i++) {
            struct yielder *y = weft_task_spawn_new(cx->rt, yielder_fn, sizeof *y, NULL);
            assert_non_null(y);
            y->n = 2;
        }
        while (weft_runtime_task_count(cx->rt) > 1)
            WEFT_TASK_YIELD(&f->co, cx);
    }
    WEFT_END(&f->co, 0);
}

static void many_tasks_fill_the_buffer_and_reused_slots_get_new_tracks(void **state)
{
    weft_runtime *rt = rt_of(state);
    struct recording r;
    struct spawner s = {.waves = 30, .per_wave = 100};
    rec_start(rt, &r);
    assert_int_equal(weft_runtime_block_on(rt, spawner_fn, &s), 0);
    assert_int_equal(weft_trace_stop(rt), 0);
    assert_true(r.len > 4 * 64 * 1024); /* written in several flushes */
    rec_read(&r);
    assert_int_equal(count(&r.t, 'i', "spawn", NULL, NULL), 1 + 3000);
    assert_int_equal(count(&r.t, 'i', "done", NULL, NULL), 1 + 3000);
    /* Every spawn on a track of its own, although at most ~101 slots were ever used. */
    long max_tid = 0;
    for (size_t i = 0; i < r.t.n; i++)
        if (r.t.ev[i].tid > max_tid) max_tid = r.t.ev[i].tid;
    assert_int_equal(max_tid, 3001);
    rec_free(&r);
}

/* Stops the trace in its first poll, starts another in its second. */
struct toggler {
    weft_co co;
    struct recording *second;
};

static int toggler_fn(void *frame, weft_cx *cx)
{
    struct toggler *f = frame;
    WEFT_BEGIN(&f->co);
    assert_int_equal(weft_trace_stop(cx->rt), 0);
    WEFT_TASK_YIELD(&f->co, cx);
    rec_start(cx->rt, f->second);
    WEFT_TASK_YIELD(&f->co, cx);
    WEFT_END(&f->co, 0);
}

static void stopping_and_starting_inside_a_poll_keeps_slices_balanced(void **state)
{
    weft_runtime *rt = rt_of(state);
    struct recording first, second;
    struct toggler t = {.second = &second};
    rec_start(rt, &first);
    assert_int_equal(weft_runtime_block_on(rt, toggler_fn, &t), 0);
    assert_int_equal(weft_trace_stop(rt), 0);
    rec_read(&first);  /* the running poll was closed at the stop */
    rec_read(&second); /* the poll in progress at the start was never opened */
    assert_int_equal(count(&first.t, 'B', "poll", NULL, NULL), 1);
    assert_int_equal(count(&second.t, 'i', "done", NULL, NULL), 1);
    rec_free(&first);
    rec_free(&second);
}

/* Starts a recording and a waiter task (named name, if not NULL), polled once: it waits. */
static weft_task start_waiter(weft_runtime *rt, struct recording *r, struct waiter *w,
                              const char *name)
{
    weft_task t;
    rec_start(rt, r);
    assert_int_equal(weft_task_spawn(rt, waiter_fn, w, &t), 0);
    if (name != NULL) weft_trace_name_task(rt, t, name);
    assert_int_equal(weft_runtime_run_ready(rt), 1);
    return t;
}

static void tracks_still_open_are_closed_at_the_stop(void **state)
{
    weft_runtime *rt = rt_of(state);
    struct recording r;
    struct waiter w = {0};
    weft_task t = start_waiter(rt, &r, &w, NULL);
    assert_int_equal(weft_trace_stop(rt), 0);
    rec_read(&r);
    assert_int_equal(count(&r.t, 'E', "wait other", "open", "end of the trace"), 1);
    weft_task_cancel(rt, t);
    assert_int_equal(weft_task_result(rt, t), -ECANCELED);
    rec_free(&r);
}

static void a_task_can_be_given_a_track_name(void **state)
{
    weft_runtime *rt = rt_of(state);
    struct recording r;
    struct waiter w = {0};
    weft_task t = start_waiter(rt, &r, &w, "the \"waiter\"");
    weft_trace_name_task(rt, t, "named twice");
    w.go = true;
    weft_waker_wake(rt, w.waker);
    assert_int_equal(weft_runtime_run_ready(rt), 1);
    assert_int_equal(weft_task_result(rt, t), 0);
    assert_int_equal(weft_trace_stop(rt), 0);
    rec_read(&r);
    assert_int_equal(count(&r.t, 'M', "thread_name", "name", "the \"waiter\""), 1);
    assert_int_equal(count(&r.t, 'M', "thread_name", NULL, NULL), 2); /* and the reactor */
    rec_free(&r);
}

/* True if some track is named exactly name. */
static bool has_track_named(const struct tf_trace *t, const char *name)
{
    for (size_t i = 0; i < t->n; i++) {
        const char *v = t->ev[i].ph == 'M' ? tf_arg(&t->ev[i], "name") : NULL;
        if (v != NULL && strcmp(t->ev[i].name, "thread_name") == 0 && strcmp(v, name) == 0)
            return true;
    }
    return false;
}

/*
 * The trace is UTF-8 whatever the names are: a byte of no valid UTF-8 sequence (stray, overlong,
 * surrogate, past U+10FFFF, cut short) becomes U+FFFD, valid characters pass, and a long name is
 * cut between characters and escapes, never inside one. rec_read's reader refuses invalid UTF-8.
 */
static void names_are_written_as_valid_utf8(void **state)
{
    weft_runtime *rt = rt_of(state);
    char accents[256] = "", controls[128] = "x", want_accents[256] = "", want_controls[64] = "x";
    for (int i = 0; i < 100; i++)
        strcat(accents, "\xc3\xa9");
    for (int i = 0; i < 64; i++)
        strcat(want_accents, "\xc3\xa9"); /* 128 bytes: the most a track name takes */
    memset(controls + 1, '\x01', 60);
    memset(want_controls + 1, '\x01', 21); /* 1 + 21 escapes of 6 bytes: 127 */
    static const char fffd[] = "\xef\xbf\xbd";
    char want_bad[128];
    snprintf(want_bad, sizeof want_bad, "%s%s %s%s%s %s%s%s%s %s%s", fffd, fffd, fffd, fffd, fffd,
             fffd, fffd, fffd, fffd, fffd, fffd);
    const struct {
        const char *name, *want;
    } cases[] = {
        {"bad \xff\xfe utf8", "bad \xef\xbf\xbd\xef\xbf\xbd utf8"},
        {"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"},
        {"\xc0\xaf \xed\xa0\x80 \xf4\x90\x80\x80 \xe2\x82", want_bad},
        {accents, want_accents},
        {controls, want_controls},
    };
    enum { N = sizeof cases / sizeof cases[0] };
    struct recording r;
    struct waiter w[N] = {0};
    weft_task t[N];
    rec_start(rt, &r);
    for (int i = 0; i < N; i++) {
        assert_int_equal(weft_task_spawn(rt, waiter_fn, &w[i], &t[i]), 0);
        weft_trace_name_task(rt, t[i], cases[i].name);
    }
    assert_int_equal(weft_runtime_run_ready(rt), N);
    assert_int_equal(weft_trace_stop(rt), 0);
    rec_read(&r);
    for (int i = 0; i < N; i++) {
        if (!has_track_named(&r.t, cases[i].want))
            fail_msg("case %d: no track named as it should", i);
        weft_task_cancel(rt, t[i]);
    }
    rec_free(&r);
}

static void the_api_refuses_what_it_cannot_do(void **state)
{
    weft_runtime *rt = rt_of(state);
    assert_false(weft_trace_active(rt));
    assert_null(rt->trace); /* off costs nothing: no tracer at all */
    assert_int_equal(weft_trace_stop(rt), 0);
    assert_int_equal(weft_trace_start(rt, "/nonexistent-dir/x.json"), -ENOENT);
    assert_int_equal(weft_trace_start_file(rt, NULL), -EINVAL);
    assert_null(rt->trace);
    struct recording r;
    rec_start(rt, &r);
    assert_int_equal(weft_trace_start_file(rt, r.f), -EALREADY);
    assert_int_equal(weft_trace_start(rt, "/dev/null"), -EALREADY);
    assert_int_equal(weft_trace_stop(rt), 0);
    assert_null(rt->trace);
    rec_read(&r);
    rec_free(&r);
}

/* weft_runtime_close ends a trace still running, cancellations included. */
static void closing_the_runtime_ends_the_trace(void **state)
{
    (void)state;
    weft_runtime rt;
    struct recording r;
    struct waiter w = {0};
    assert_int_equal(weft_runtime_init(&rt), 0);
    rec_start(&rt, &r);
    assert_int_equal(weft_task_spawn(&rt, waiter_fn, &w, NULL), 0);
    assert_int_equal(weft_runtime_run_ready(&rt), 1);
    assert_int_equal(weft_runtime_close(&rt), -EBUSY);
    rec_read(&r);
    assert_int_equal(count(&r.t, 'i', "cancel", "by", "main"), 1);
    assert_int_equal(count(&r.t, 'i', "done", "result", "-125"), 1);
    rec_free(&r);
}

/* WEFT_TRACE=path, with %p and %n: the trace is written at close. */
static void the_environment_variable_records_a_trace(void **state)
{
    (void)state;
    char dir[] = "/tmp/weft-trace-test-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char spec[128];
    snprintf(spec, sizeof spec, "%s/run-%%p-%%n.json", dir);
    assert_int_equal(setenv("WEFT_TRACE", spec, 1), 0);
    weft_runtime rt;
    int r = weft_runtime_init(&rt);
    unsetenv("WEFT_TRACE");
    assert_int_equal(r, 0);
    assert_true(weft_trace_active(&rt));
    struct yielder y = {.n = 3};
    assert_int_equal(weft_runtime_block_on(&rt, yielder_fn, &y), 0);
    assert_int_equal(weft_runtime_close(&rt), 0);

    DIR *d = opendir(dir);
    assert_non_null(d);
    struct dirent *de;
    char path[300] = "", prefix[64];
    snprintf(prefix, sizeof prefix, "run-%ld-", (long)getpid());
    while ((de = readdir(d)) != NULL)
        if (strncmp(de->d_name, prefix, strlen(prefix)) == 0)
            snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
    closedir(d);
    assert_true(path[0] != '\0');
    FILE *in = fopen(path, "r");
    assert_non_null(in);
    struct tf_trace t;
    char err[256];
    assert_int_equal(tf_read(in, &t, err, sizeof err), 0);
    fclose(in);
    assert_true(t.complete);
    assert_int_equal(count(&t, 'B', "wait yield", NULL, NULL), 3);
    tf_free(&t);
    unlink(path);
    rmdir(dir);
}

/* stderr, caught in a file while a test runs. */
struct caught {
    int saved;
    FILE *file;
};

static void catch_stderr(struct caught *c)
{
    fflush(stderr);
    c->file = tmpfile();
    assert_non_null(c->file);
    c->saved = dup(2);
    assert_true(c->saved >= 0);
    assert_true(dup2(fileno(c->file), 2) >= 0);
}

/* Puts stderr back; returns what was written to it (caller frees). */
static char *release_stderr(struct caught *c)
{
    fflush(stderr);
    assert_true(dup2(c->saved, 2) >= 0);
    close(c->saved);
    long n = ftell(c->file);
    assert_true(n >= 0);
    char *text = calloc(1, (size_t)n + 1);
    assert_non_null(text);
    rewind(c->file);
    assert_int_equal(fread(text, 1, (size_t)n, c->file), (size_t)n);
    fclose(c->file);
    return text;
}

/* Initialises rt with the environment variable name set to value (unset again after); returns
 * what init wrote to stderr (caller frees). */
static char *init_with_env(weft_runtime *rt, const char *name, const char *value)
{
    assert_int_equal(setenv(name, value, 1), 0);
    struct caught c;
    catch_stderr(&c);
    int r = weft_runtime_init(rt);
    char *text = release_stderr(&c);
    unsetenv(name);
    assert_int_equal(r, 0);
    return text;
}

/*
 * A WEFT_TRACE path too long for the system is refused whole, with a message: cut short, it
 * would name another file (here dir/victim-N.jso, the slashes collapsing).
 */
static void a_too_long_trace_path_is_refused(void **state)
{
    (void)state;
    char dir[] = "/tmp/weft-trace-test-XXXXXX";
    assert_non_null(mkdtemp(dir));
    size_t cap = strlen(dir) + 8192;
    char *spec = malloc(cap);
    assert_non_null(spec);
    int len = snprintf(spec, cap, "%s", dir);
    while (len < 4060) /* with the name: more than PATH_MAX (4096) */
        spec[len++] = '/';
    /* %n: without it, only the process's first runtime to see WEFT_TRACE records. */
    snprintf(spec + len, cap - (size_t)len, "victim-%%n.json-and-this-part-is-cut-off.json");
    weft_runtime rt;
    char *text = init_with_env(&rt, "WEFT_TRACE", spec);
    assert_false(weft_trace_active(&rt));
    assert_int_equal(weft_trace_start(&rt, spec), -ENAMETOOLONG); /* from fopen */
    free(spec);
    if (strstr(text, "weft: WEFT_TRACE=/tmp/weft-trace-test-") == NULL ||
        strstr(text, weft_strerror(-ENAMETOOLONG)) == NULL)
        fail_msg("stderr says \"%s\"", text);
    free(text);
    assert_int_equal(weft_runtime_close(&rt), 0);
    DIR *d = opendir(dir);
    assert_non_null(d);
    struct dirent *de;
    while ((de = readdir(d)) != NULL)
        if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
            fail_msg("the trace went to %s/%s", dir, de->d_name);
    closedir(d);
    rmdir(dir);
}

/* ---------------------------------------------------------------------------------------------
 * The dump on a signal
 * ------------------------------------------------------------------------------------------- */

/*
 * Raises the signal in its poll (signo 0: none), then sleeps: the dump comes at the loop's next
 * park.
 */
struct raiser {
    weft_co co;
    int signo;
    struct weft_test_nap nap;
};

static int raiser_fn(void *frame, weft_cx *cx)
{
    struct raiser *f = frame;
    WEFT_BEGIN(&f->co);
    if (f->signo != 0) assert_int_equal(raise(f->signo), 0);
    WEFT_AWAIT(&f->co, weft_test_nap(&f->nap, WEFT_MSEC(1), cx)); /* parks: the signal is seen */
    WEFT_END(&f->co, 0);
}

/*
 * A thread that signals the whole process, waits until the dump is in the caught stderr (the
 * runtime prints it at its next park, the reader's first poll done), then lets the reader
 * finish. A pause instead of the wait would let a slow or stalled machine see the write first:
 * the reader would finish without the loop ever parking, and nothing would be dumped.
 */
struct poker {
    int signo;
    int fd;
    int caught; /* the file stderr goes to */
};

static bool fd_has(int fd, const char *what)
{
    static char text[1 << 16];
    ssize_t n = pread(fd, text, sizeof text - 1, 0);
    if (n <= 0) return false;
    text[n] = '\0';
    return strstr(text, what) != NULL;
}

static void *poker_main(void *arg)
{
    struct poker *p = arg;
    kill(getpid(), p->signo);
    struct timespec pause = {0, 1000 * 1000};
    for (int i = 0; i < 30000 && !fd_has(p->caught, "the runtime's tasks"); i++) /* >= 30 s */
        nanosleep(&pause, NULL);
    assert_int_equal(write(p->fd, "x", 1), 1);
    return NULL;
}

static void a_signal_dumps_the_tasks_of_a_parked_runtime(void **state)
{
    (void)state;
    weft_runtime rt;
    struct reader rd = {0};
    int fds[2];
    struct sigaction before, after;
    sigaction(SIGUSR1, NULL, &before);
    assert_int_equal(weft_runtime_init(&rt), 0);
    assert_int_equal(weft_runtime_dump_on_signal(&rt, SIGUSR1), 0);
    assert_int_equal(make_pipe(fds), 0);
    assert_int_equal(weft_io_open(&rt, &rd.io, fds[0]), 0);
    weft_task t;
    assert_int_equal(weft_task_spawn(&rt, reader_fn, &rd, &t), 0);
    pthread_t th;
    struct caught c;
    catch_stderr(&c);
    struct poker pk = {SIGUSR1, fds[1], fileno(c.file)};
    assert_int_equal(pthread_create(&th, NULL, poker_main, &pk), 0);
    int r = weft_runtime_run(&rt); /* parks until the signal, dumps, parks until the write */
    pthread_join(th, NULL);
    char *text = release_stderr(&c);
    assert_int_equal(r, 0);
    assert_int_equal(weft_task_result(&rt, t), 1);
    char want[64];
    snprintf(want, sizeof want, "waiting at %s:%d", __FILE__, rd.line);
    if (strstr(text, want) == NULL) fail_msg("no \"%s\" in the dump:\n%s", want, text);
    assert_non_null(strstr(text, "the runtime's tasks"));
    free(text);
    assert_int_equal(weft_io_close(&rt, &rd.io), 0);
    close(fds[1]);
    assert_int_equal(weft_runtime_close(&rt), 0);
    sigaction(SIGUSR1, NULL, &after);
    assert_true(after.sa_handler == before.sa_handler); /* the old disposition is back */
}

static void the_dump_signal_can_come_from_the_environment(void **state)
{
    (void)state;
    weft_runtime rt;
    assert_int_equal(setenv("WEFT_DUMP_SIGNAL", "USR2", 1), 0);
    int r = weft_runtime_init(&rt);
    unsetenv("WEFT_DUMP_SIGNAL");
    assert_int_equal(r, 0);
    assert_int_equal(weft_runtime_dump_on_signal(&rt, SIGUSR2), 0); /* already so */
    assert_int_equal(weft_runtime_dump_on_signal(&rt, SIGUSR1), -EINVAL);
    struct raiser rs = {.signo = SIGUSR2};
    struct caught c;
    catch_stderr(&c);
    r = weft_runtime_block_on(&rt, raiser_fn, &rs);
    char *text = release_stderr(&c);
    assert_int_equal(r, 0);
    assert_non_null(strstr(text, "the runtime's tasks"));
    free(text);
    /* Off again: the next signal would kill the process, so only check the disposition. */
    assert_int_equal(weft_runtime_dump_on_signal(&rt, 0), 0);
    struct sigaction now;
    sigaction(SIGUSR2, NULL, &now);
    assert_true(now.sa_handler == SIG_DFL);
    assert_null(rt.trace);
    assert_int_equal(weft_runtime_close(&rt), 0);
}

/* Names and numbers are read whole; what is not a usable signal is said once and arms nothing. */
static void a_bad_dump_signal_in_the_environment_is_reported(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "abc", "KILL", "SIGSEGV", "10abc", "-3", " 10", "+12", "65", "99999999999999999999",
        "USR", "SIG"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        weft_runtime rt;
        char *text = init_with_env(&rt, "WEFT_DUMP_SIGNAL", bad[i]);
        char want[64];
        snprintf(want, sizeof want, "weft: WEFT_DUMP_SIGNAL=%s: ", bad[i]);
        if (strstr(text, want) == NULL || strstr(text, "no dump signal armed\n") == NULL)
            fail_msg("WEFT_DUMP_SIGNAL=%s: stderr says \"%s\"", bad[i], text);
        free(text);
        assert_null(rt.trace); /* nothing armed */
        assert_int_equal(weft_runtime_close(&rt), 0);
    }
    static const struct {
        const char *value;
        int signo;
    } good[] = {{"1", SIGUSR1}, {"usr2", SIGUSR2}, {"SIGHUP", SIGHUP}, {"12", SIGUSR2}};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        weft_runtime rt;
        char *text = init_with_env(&rt, "WEFT_DUMP_SIGNAL", good[i].value);
        if (text[0] != '\0')
            fail_msg("WEFT_DUMP_SIGNAL=%s: stderr says \"%s\"", good[i].value, text);
        free(text);
        /* Armed on that signal: asking for it again is a no-op, another one is refused. */
        assert_int_equal(weft_runtime_dump_on_signal(&rt, good[i].signo), 0);
        assert_int_equal(weft_runtime_dump_on_signal(&rt, SIGTERM), -EINVAL);
        assert_int_equal(weft_runtime_close(&rt), 0);
    }
}

static void one_dump_signal_per_process(void **state)
{
    (void)state;
    weft_runtime a, b;
    assert_int_equal(weft_runtime_init(&a), 0);
    assert_int_equal(weft_runtime_init(&b), 0);
    assert_int_equal(weft_runtime_dump_on_signal(&a, SIGKILL), -EINVAL);
    assert_int_equal(weft_runtime_dump_on_signal(&a, SIGSEGV), -EINVAL);
    assert_int_equal(weft_runtime_dump_on_signal(&a, 200), -EINVAL);
    assert_int_equal(weft_runtime_dump_on_signal(&a, SIGUSR1), 0);
    assert_int_equal(weft_runtime_dump_on_signal(&b, SIGUSR2), -EBUSY);
    assert_null(b.trace);
    assert_int_equal(weft_runtime_dump_on_signal(&b, SIGUSR1), 0); /* sharing is fine */
    /* A trace and the dump share the tracer: stopping one keeps the other. */
    struct recording r;
    rec_start(&a, &r);
    assert_int_equal(weft_trace_stop(&a), 0);
    assert_non_null(a.trace);
    rec_read(&r);
    rec_free(&r);
    assert_int_equal(weft_runtime_close(&a), 0);
    assert_int_equal(weft_runtime_close(&b), 0);
    struct sigaction now;
    sigaction(SIGUSR1, NULL, &now);
    assert_true(now.sa_handler == SIG_DFL);
}

/* Runs a raiser of signo on rt with stderr caught; returns how many dumps it printed. */
static int dumps_during(weft_runtime *rt, int signo)
{
    struct raiser rs = {.signo = signo};
    struct caught c;
    catch_stderr(&c);
    int r = weft_runtime_block_on(rt, raiser_fn, &rs);
    char *text = release_stderr(&c);
    assert_int_equal(r, 0);
    int n = 0;
    for (const char *p = text; (p = strstr(p, "the runtime's tasks")) != NULL; p++)
        n++;
    free(text);
    return n;
}

/*
 * A signal is news once: to the runtimes armed when it came, each dumping once, and not to a
 * runtime armed later, nor to one armed again, though the process-wide eventfd got the signal.
 */
static void a_dump_signal_is_not_replayed_to_later_armings(void **state)
{
    (void)state;
    weft_runtime a, b, c;
    assert_int_equal(weft_runtime_init(&a), 0);
    assert_int_equal(weft_runtime_init(&b), 0);
    assert_int_equal(weft_runtime_dump_on_signal(&a, SIGUSR1), 0);
    assert_int_equal(weft_runtime_dump_on_signal(&b, SIGUSR1), 0);
    assert_int_equal(dumps_during(&a, SIGUSR1), 1);
    assert_int_equal(dumps_during(&b, 0), 1); /* b was armed too: it had the signal */
    assert_int_equal(dumps_during(&b, 0), 0);
    /* Armed after the signal, while others still watch the fd: nothing to print. */
    assert_int_equal(weft_runtime_init(&c), 0);
    assert_int_equal(weft_runtime_dump_on_signal(&c, SIGUSR1), 0);
    assert_int_equal(dumps_during(&c, 0), 0);
    assert_int_equal(weft_runtime_close(&c), 0);
    assert_int_equal(weft_runtime_close(&b), 0);
    /* The only one left, disarmed and armed again: nothing either; a new signal still dumps. */
    assert_int_equal(dumps_during(&a, 0), 0);
    assert_int_equal(weft_runtime_dump_on_signal(&a, 0), 0);
    assert_int_equal(weft_runtime_dump_on_signal(&a, SIGUSR1), 0);
    assert_int_equal(dumps_during(&a, 0), 0);
    assert_int_equal(dumps_during(&a, SIGUSR1), 1);
    assert_int_equal(dumps_during(&a, 0), 0);
    /* A new runtime after a lone one dumped. */
    assert_int_equal(weft_runtime_init(&b), 0);
    assert_int_equal(weft_runtime_dump_on_signal(&b, SIGUSR1), 0);
    assert_int_equal(dumps_during(&b, 0), 0);
    assert_int_equal(weft_runtime_close(&b), 0);
    assert_int_equal(weft_runtime_close(&a), 0);
}

/* True if the runtime was built with its trace hooks (CMake WEFT_TRACE_COMPILED, default ON). */
static bool hooks_compiled_in(void)
{
    weft_runtime rt;
    if (weft_runtime_init(&rt) != 0) return true; /* let the tests say what is wrong */
    FILE *sink = fopen("/dev/null", "w");
    bool in = sink == NULL || weft_trace_start_file(&rt, sink) != -ENOTSUP;
    weft_trace_stop(&rt);
    weft_runtime_close(&rt);
    if (sink != NULL) fclose(sink);
    return in;
}

int main(void)
{
    if (!hooks_compiled_in()) {
        printf("test_trace: the runtime was built with WEFT_TRACE_COMPILED=OFF; nothing to test\n");
        return 0;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(a_traced_run_is_a_valid_trace, rt_setup, rt_teardown),
        cmocka_unit_test_setup_teardown(each_suspension_has_its_reason_and_site, rt_setup,
                                        rt_teardown),
        cmocka_unit_test_setup_teardown(a_fast_slot_wait_is_a_queue_wait_not_a_yield, rt_setup,
                                        rt_teardown),
        cmocka_unit_test_setup_teardown(wakes_say_what_caused_them, rt_setup, rt_teardown),
        cmocka_unit_test_setup_teardown(parks_show_timeout_and_events, rt_setup, rt_teardown),
        cmocka_unit_test_setup_teardown(many_tasks_fill_the_buffer_and_reused_slots_get_new_tracks,
                                        rt_setup, rt_teardown),
        cmocka_unit_test_setup_teardown(stopping_and_starting_inside_a_poll_keeps_slices_balanced,
                                        rt_setup, rt_teardown),
        cmocka_unit_test_setup_teardown(tracks_still_open_are_closed_at_the_stop, rt_setup,
                                        rt_teardown),
        cmocka_unit_test_setup_teardown(a_task_can_be_given_a_track_name, rt_setup, rt_teardown),
        cmocka_unit_test_setup_teardown(names_are_written_as_valid_utf8, rt_setup, rt_teardown),
        cmocka_unit_test_setup_teardown(the_api_refuses_what_it_cannot_do, rt_setup, rt_teardown),
        cmocka_unit_test(closing_the_runtime_ends_the_trace),
        cmocka_unit_test(the_environment_variable_records_a_trace),
        cmocka_unit_test(a_too_long_trace_path_is_refused),
        cmocka_unit_test(a_signal_dumps_the_tasks_of_a_parked_runtime),
        cmocka_unit_test(the_dump_signal_can_come_from_the_environment),
        cmocka_unit_test(one_dump_signal_per_process),
        cmocka_unit_test(a_dump_signal_is_not_replayed_to_later_armings),
        cmocka_unit_test(a_bad_dump_signal_in_the_environment_is_reported),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
