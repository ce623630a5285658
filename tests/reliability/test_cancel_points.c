/*
 * Cancellation at every suspension point.
 *
 * A representative task runs inside a wrapper task that counts the polls in which it suspended.
 * A first run, not cancelled, counts N suspensions. Then, for each k in 1..N, the same scenario
 * runs again and the wrapper cancels its own task when the inner coroutine suspends for the k-th
 * time; the runtime then runs the cleanup blocks (the wrapper's, which cancels the inner
 * coroutine, whose own cleanup cancels its children). After the other side has noticed, the
 * world must be exactly as it was before the task started:
 *   - the runtime's counts: tasks, finished tasks, ready tasks, registrations (open I/O), tasks
 *     parked on fds, armed timers; and the wait queues and their waiters (weft/sync.h);
 *   - the number of open fds;
 *   - the number of heap blocks (fault_alloc.c's count).
 * Each scenario runs once uncancelled before the snapshot, so that the pools that keep memory on
 * purpose (the runtime's record tables, the delay server's spare frames) are already warm.
 * After the world is closed, every block and fd must be gone too.
 *
 * The tasks: an HTTP fetch (two requests on a kept-alive connection, bodies read in pieces)
 * against the delay server embedded in the same runtime; an accept loop that holds three live
 * connections and echoes them with a join of child coroutines; a channel pipeline (producer,
 * doubling stage, consumer over two channels); and a select that races a fetch, a socket read,
 * a channel receive and a sleep in two rounds.
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <weft/select.h>
#include <weft/sync.h>
#include <weft/tcp.h>

#include "fault.h"
#include "weft_test.h"
#include "weft_test_net.h"
#include "world.h"

/* ============================================================================================
 * The wrapper: count suspensions, cancel at the k-th
 * ========================================================================================== */

struct canceller {
    weft_co co;
    weft_co_fn fn;   /* the inner coroutine */
    void *inner;     /* its frame; first member a weft_co */
    long cancel_at;  /* cancel at this suspension (1-based); 0: never */
    long suspended;  /* suspensions so far */
    int r;           /* the inner coroutine's result */
    bool cleaned_up; /* the cleanup block ran */
};

/* Polls the inner coroutine once; at the chosen suspension, cancels the task (the runtime does it
 * as soon as this poll has returned WEFT_PENDING). */
static int counted_poll(struct canceller *c, weft_cx *cx)
{
    int r = c->fn(c->inner, cx);
    if (r != WEFT_PENDING) return r;
    if (++c->suspended == c->cancel_at) weft_task_cancel(cx->rt, weft_task_current(cx));
    return WEFT_PENDING;
}

static int canceller_task(void *frame, weft_cx *cx)
{
    struct canceller *c = frame;
    WEFT_BEGIN(&c->co);
    weft_co_init((weft_co *)c->inner);
    WEFT_AWAIT(&c->co, c->r = counted_poll(c, cx));
    WEFT_ON_CANCEL(&c->co);
    WEFT_CANCEL_CHILD((weft_co *)c->inner, c->fn(c->inner, cx));
    c->cleaned_up = true;
    WEFT_END(&c->co, c->r);
}

/* ============================================================================================
 * Snapshots
 * ========================================================================================== */

struct snapshot {
    weft_runtime_stats rt;
    weft_sync_stats sync;
    int fds;
    long blocks;
};

static struct snapshot snapshot_take(weft_runtime *rt)
{
    struct snapshot s;
    weft_runtime_get_stats(rt, &s.rt);
    weft_sync_get_stats(rt, &s.sync);
    s.fds = weft_test_fd_count();
    s.blocks = fault_alloc_live();
    return s;
}

#define SAME(field, name)                                                                          \
    do {                                                                                           \
        if (a.field != b.field)                                                                    \
            fail_msg("%s: %s %ld, before %ld", what, name, (long)b.field, (long)a.field);          \
    } while (0)

static void expect_same(struct snapshot a, struct snapshot b, const char *what)
{
    SAME(rt.tasks, "tasks");
    SAME(rt.done, "finished tasks not collected");
    SAME(rt.ready, "ready tasks");
    SAME(rt.io_open, "registrations");
    SAME(rt.io_waiting, "tasks waiting on fds");
    SAME(rt.timers, "timers");
    SAME(sync.queues, "wait queues");
    SAME(sync.waiters, "waiters");
    SAME(fds, "fds");
    SAME(blocks, "heap blocks");
}

static int cases; /* cancelled runs, for the summary */

/*
 * One scenario: `run` runs it once with the task cancelled at suspension k (0: never) and
 * returns the number of suspensions the task went through. The driver counts them, then
 * cancels at each — in three modes: as the scenario runs on loopback (where most operations
 * complete at once); with every I/O operation made to wait once (an EAGAIN and then the event,
 * fault_io.c), so that each of them is a suspension point too; and the same with transfers of at
 * most 16 bytes, so that every piece of every message is one.
 */
static void every_suspension(const char *name, long (*run)(long k, const char *what))
{
    static const char *const modes[] = {"", " (every I/O waits once)",
                                        " (every I/O waits once, 16-byte transfers)"};
    for (int m = 0; m < 3; m++) {
        char mode[96];
        snprintf(mode, sizeof mode, "%s%s", name, modes[m]);
        fault_io_reset();
        fault_io_eagain_alternate(m > 0);
        fault_io_cap(m == 2 ? 16 : 0);
        struct leak_snapshot before = leak_snapshot_take();
        int64_t t0 = weft_test_now_ns();
        long n = run(0, mode);
        assert_true(n > 0);
        expect_no_leak(before, mode);
        for (long k = 1; k <= n; k++) {
            char what[192];
            snprintf(what, sizeof what, "%s cancelled at suspension %ld of %ld", mode, k, n);
            long got = run(k, what);
            if (got != k) fail_msg("%s: cancelled after %ld suspensions", what, got);
            expect_no_leak(before, what);
            cases++;
        }
        fault_io_reset();
        print_message("%s: %ld suspension points, cancelled at each (%.1f s)\n", mode, n,
                      (double)(weft_test_now_ns() - t0) / 1e9);
    }
}

/* Checks the wrapper after a run: finished normally when k == 0, else cancelled at k. */
static void expect_outcome(const struct canceller *c, int result, long k, const char *what)
{
    if (k == 0) {
        if (result != 0) fail_msg("%s: %s", what, weft_strerror(result));
        if (c->cleaned_up) fail_msg("%s: cleanup ran without a cancel", what);
        return;
    }
    if (result != -ECANCELED) fail_msg("%s: result %d, not -ECANCELED", what, result);
    if (!c->cleaned_up) fail_msg("%s: the cleanup block did not run", what);
}

/* ============================================================================================
 * An HTTP fetch
 * ========================================================================================== */

static struct world world;
static struct fetch fetch_frame;
static struct canceller canceller;
static struct task_set set;

/* Drops the client's pool and host records (the pool would keep a connection open), then lets
 * the server notice the closes, so that a snapshot sees only what lives on. */
static void world_quiesce(const char *what)
{
    assert_int_equal(weft_http_client_close(&world.client), 0);
    assert_int_equal(weft_http_client_init(&world.client, &world.rt, NULL), 0);
    world_run_for(&world, WEFT_MSEC(3));
    if (!world_settle(&world, WEFT_SEC(5))) fail_msg("%s: the server kept a connection", what);
}

/* Runs the fetch under the wrapper; returns the wrapper's result. */
static int fetch_under(long k)
{
    fetch_init(&fetch_frame, &world, "/2/cancel%20me", 2);
    fetch_frame.pieces = true;
    memset(&canceller, 0, sizeof canceller);
    canceller.fn = fetch_task;
    canceller.inner = &fetch_frame;
    canceller.cancel_at = k;
    memset(&set, 0, sizeof set);
    task_set_add(&set, canceller_task, &canceller);
    assert_int_equal(run_tasks(&world, &set), 0);
    return set.result[0];
}

static long fetch_run(long k, const char *what)
{
    assert_int_equal(world_open(&world, NULL, NULL), 0);
    assert_int_equal(fetch_under(0), 0); /* warm up the pools */
    world_quiesce(what);
    struct snapshot s0 = snapshot_take(&world.rt);
    int r = fetch_under(k);
    expect_outcome(&canceller, r, k, what);
    if (k == 0)
        for (int i = 0; i < 2; i++)
            expect_request(&fetch_frame, i, "cancel me", NULL, 0, what);
    world_quiesce(what);
    expect_same(s0, snapshot_take(&world.rt), what);
    assert_int_equal(world_close(&world), 0);
    return canceller.suspended;
}

static void cancel_fetch(void **state)
{
    (void)state;
    every_suspension("fetch", fetch_run);
}

/* ============================================================================================
 * An accept loop with live connections
 * ========================================================================================== */

enum { CONNS = 3 };

/* Echoes one connection line by line until the peer closes it. */
struct echo {
    weft_co co;
    weft_tcp_stream *s;
    weft_tcp_reader rd;
    weft_tcp_xfer wr;
    char buf[64];
    size_t len;
    int r;
};

static int echo(struct echo *f, weft_cx *cx)
{
    WEFT_BEGIN(&f->co);
    weft_tcp_reader_init(&f->rd, f->buf, sizeof f->buf);
    for (;;) {
        WEFT_AWAIT_CHILD(&f->co, &f->rd.co, f->r, weft_tcp_read_until(&f->rd, f->s, "\n", 1, cx));
        if (f->r <= 0) break;
        f->len = (size_t)f->r; /* f->r is the await's result slot: it changes while pending */
        WEFT_AWAIT_CHILD(&f->co, &f->wr.co, f->r,
                         weft_tcp_write_all(&f->wr, f->s, f->rd.data, f->len, cx));
        if (f->r < 0) break;
    }
    WEFT_END(&f->co, f->r);
}
WEFT_CO_FN(echo_fn, echo, struct echo)

/* Accepts CONNS connections, then echoes all of them at once; owns the listener and the
 * connections, and closes them in its cleanup. */
struct acceptor {
    weft_co co;
    weft_tcp_listener l;
    weft_addr *addr; /* where it listens, for the clients */
    weft_tcp_stream conns[CONNS];
    struct echo echoes[CONNS];
    weft_co_child kids[CONNS];
    int n, r;
};

static void acceptor_close_all(struct acceptor *f, weft_runtime *rt)
{
    for (int i = 0; i < CONNS; i++)
        weft_tcp_close(rt, &f->conns[i]);
    weft_tcp_listener_close(rt, &f->l);
}

static int acceptor(struct acceptor *f, weft_cx *cx)
{
    WEFT_BEGIN(&f->co);
    f->r = weft_addr_parse(f->addr, "127.0.0.1:0");
    if (f->r == 0) f->r = weft_tcp_listen(cx->rt, &f->l, f->addr, 16);
    if (f->r == 0) f->r = weft_tcp_listener_addr(cx->rt, &f->l, f->addr);
    if (f->r < 0) WEFT_RETURN(&f->co, f->r);
    for (f->n = 0; f->n < CONNS; f->n++) {
        WEFT_AWAIT(&f->co, f->r = weft_tcp_accept(&f->l, &f->conns[f->n], NULL, cx));
        if (f->r < 0) break;
        f->echoes[f->n].s = &f->conns[f->n];
        weft_co_child_init(&f->kids[f->n], echo_fn, &f->echoes[f->n]);
    }
    if (f->r == 0) WEFT_AWAIT(&f->co, weft_co_join(f->kids, CONNS, cx));
    acceptor_close_all(f, cx->rt);
    WEFT_ON_CANCEL(&f->co);
    weft_co_children_cancel(f->kids, (size_t)f->n, cx);
    acceptor_close_all(f, cx->rt);
    WEFT_END(&f->co, f->r);
}
WEFT_CO_FN(acceptor_fn, acceptor, struct acceptor)

/* A client: connects, sends two lines, expects them back, closes.
 * Its own failures (the acceptor was cancelled under it) are expected and end it. */
struct client {
    weft_co co;
    const weft_addr *addr;
    weft_tcp_stream s;
    weft_tcp_connect_op conn;
    weft_tcp_xfer x;
    char buf[16];
    int64_t deadline;
    int i, r;
};

static int client_task(void *frame, weft_cx *cx)
{
    struct client *f = frame;
    WEFT_BEGIN(&f->co);
    f->deadline = weft_deadline_in(WEFT_SEC(30)); /* a bound on a hang, not a time to check */
    /* The acceptor ran first (tasks start in spawn order): it listens, unless it failed. */
    if (weft_addr_port(f->addr) <= 0) WEFT_RETURN(&f->co, -ECONNREFUSED);
    WEFT_AWAIT_CHILD(&f->co, &f->conn.co, f->r,
                     weft_tcp_connect_dl(&f->conn, &f->s, f->addr, f->deadline, cx));
    for (f->i = 0; f->r == 0 && f->i < 2; f->i++) {
        WEFT_AWAIT_CHILD(&f->co, &f->x.co, f->r,
                         weft_tcp_write_all_dl(&f->x, &f->s, "ping\n", 5, f->deadline, cx));
        if (f->r == 0)
            WEFT_AWAIT_CHILD(&f->co, &f->x.co, f->r,
                             weft_tcp_read_exact_dl(&f->x, &f->s, f->buf, 5, f->deadline, cx));
    }
    weft_tcp_close(cx->rt, &f->s);
    WEFT_END(&f->co, f->r);
}

static weft_addr listen_addr;
static struct acceptor acceptor_frame;
static struct client clients[CONNS];

static int accept_under(weft_runtime *rt, long k)
{
    memset(&listen_addr, 0, sizeof listen_addr);
    memset(&acceptor_frame, 0, sizeof acceptor_frame);
    acceptor_frame.addr = &listen_addr;
    memset(&canceller, 0, sizeof canceller);
    canceller.fn = acceptor_fn;
    canceller.inner = &acceptor_frame;
    canceller.cancel_at = k;
    memset(&set, 0, sizeof set);
    task_set_add(&set, canceller_task, &canceller);
    for (int i = 0; i < CONNS; i++) {
        memset(&clients[i], 0, sizeof clients[i]);
        clients[i].addr = &listen_addr;
        task_set_add(&set, client_task, &clients[i]);
    }
    assert_int_equal(task_set_run(rt, &set), 0);
    if (k == 0)
        for (int i = 0; i < CONNS; i++)
            assert_int_equal(set.result[1 + i], 0);
    return set.result[0];
}

/*
 * A scenario in a runtime of its own: `under` runs it once in rt with the task cancelled at
 * suspension k (0: never) and returns the wrapper's result. Warms the runtime up with an
 * uncancelled run, then compares the snapshots around the cancelled one.
 */
static long own_runtime_run(int (*under)(weft_runtime *rt, long k), long k, const char *what)
{
    weft_runtime rt;
    assert_int_equal(weft_runtime_init(&rt), 0);
    assert_int_equal(under(&rt, 0), 0);
    struct snapshot s0 = snapshot_take(&rt);
    int r = under(&rt, k);
    expect_outcome(&canceller, r, k, what);
    expect_same(s0, snapshot_take(&rt), what);
    assert_int_equal(weft_runtime_close(&rt), 0);
    return canceller.suspended;
}

static long accept_run(long k, const char *what)
{
    return own_runtime_run(accept_under, k, what);
}

static void cancel_accept_loop(void **state)
{
    (void)state;
    every_suspension("accept loop", accept_run);
}

/* ============================================================================================
 * A channel pipeline
 * ========================================================================================== */

static struct pipeline pipeline_frame;

static int pipeline_under(weft_runtime *rt, long k)
{
    memset(&pipeline_frame, 0, sizeof pipeline_frame);
    memset(&canceller, 0, sizeof canceller);
    canceller.fn = pipeline_task;
    canceller.inner = &pipeline_frame;
    canceller.cancel_at = k;
    return weft_runtime_block_on(rt, canceller_task, &canceller);
}

static long pipeline_run(long k, const char *what)
{
    return own_runtime_run(pipeline_under, k, what);
}

static void cancel_channel_pipeline(void **state)
{
    (void)state;
    every_suspension("channel pipeline", pipeline_run);
}

/* ============================================================================================
 * A select
 * ========================================================================================== */

/*
 * Round 1 races (weft_co_select) a fetch against a long sleep: the fetch wins and the sleep is
 * cancelled through its cleanup. Round 2 is a WEFT_SELECT of leaf operations: a read on a
 * socket nobody writes to, a receive on a channel that a helper task sends to once told (by a
 * notify) that round 2 has begun, and a long sleep: the receive wins. Every suspension is then
 * caused by one event the scenario controls, so runs suspend the same number of times.
 */
struct nap {
    weft_co co;
    int64_t ns, wake;
};

static int nap(struct nap *f, weft_cx *cx)
{
    WEFT_BEGIN(&f->co);
    WEFT_AWAIT(&f->co, weft_sleep_for(&f->wake, f->ns, cx));
    WEFT_END(&f->co, 0);
}
WEFT_CO_FN(nap_fn, nap, struct nap)

struct selector {
    weft_co co;
    struct world *w;
    struct fetch quick;
    struct nap long_nap;
    weft_co_child kids[2];
    int won;
    weft_select sel;
    weft_tcp_stream quiet; /* one end of a socketpair nobody writes to */
    int other_end;
    weft_chan *ch;
    weft_notify *round2;
    int item;
    int64_t late;
    char byte;
};

static void selector_close(struct selector *f, weft_runtime *rt)
{
    weft_tcp_close(rt, &f->quiet);
    if (f->other_end >= 0) close(f->other_end);
    f->other_end = -1;
}

static int selector(struct selector *f, weft_cx *cx)
{
    WEFT_BEGIN(&f->co);
    f->other_end = -1;
    fetch_init(&f->quick, f->w, "/0/quick", 1);
    f->long_nap.ns = WEFT_SEC(60); /* loses to the fetch however slow the machine */
    weft_co_child_init(&f->kids[0], fetch_task, &f->quick);
    weft_co_child_init(&f->kids[1], nap_fn, &f->long_nap);
    WEFT_AWAIT(&f->co, f->won = weft_co_select(f->kids, 2, cx));
    if (f->won != 0 || f->quick.result[0] != 5) WEFT_RETURN(&f->co, -EPROTO);

    int fds[2];
    weft_test_socketpair(fds);
    f->other_end = fds[1];
    if (weft_tcp_stream_open(cx->rt, &f->quiet, fds[0]) < 0) {
        close(fds[0]);
        selector_close(f, cx->rt);
        WEFT_RETURN(&f->co, -ENOMEM);
    }
    weft_notify_one(f->round2);
    f->late = weft_deadline_in(WEFT_SEC(60)); /* loses to the channel, as above */
    WEFT_SELECT(&f->co, &f->sel,
                weft_select_case(&f->sel, 0, weft_tcp_read(&f->quiet, &f->byte, 1, cx)) ||
                    weft_select_case(&f->sel, 1, weft_chan_recv(f->ch, &f->item, cx)) ||
                    weft_select_case(&f->sel, 2, weft_sleep_until(f->late, cx)));
    selector_close(f, cx->rt);
    WEFT_RETURN(&f->co, f->sel.which == 1 && f->item == 42 ? 0 : -EPROTO);
    WEFT_ON_CANCEL(&f->co);
    weft_co_children_cancel(f->kids, 2, cx);
    selector_close(f, cx->rt);
    WEFT_END(&f->co, 0);
}
WEFT_CO_FN(selector_fn, selector, struct selector)

/* Sends 42 on the channel once round 2 has begun; gives up when the selector is gone (the
 * notify is destroyed after the run). */
struct sender {
    weft_co co;
    weft_chan *ch;
    weft_notify *round2;
    int item, r;
};

static int sender_task(void *frame, weft_cx *cx)
{
    struct sender *f = frame;
    WEFT_BEGIN(&f->co);
    WEFT_AWAIT(&f->co, f->r = weft_notify_wait(f->round2, cx));
    if (f->r < 0) WEFT_RETURN(&f->co, 0);
    f->item = 42;
    f->r = weft_chan_try_send(f->ch, &f->item);
    WEFT_END(&f->co, f->r);
}

static struct selector selector_frame;
static struct sender sender_frame;
static weft_chan select_ch;
static weft_notify select_round2;
static int select_ring[1];

/* Runs the selector under the wrapper, and the sender beside it; the sender is cancelled if it
 * still waits when the selector has ended (cancelled before round 2). */
struct select_root {
    weft_co co;
    weft_task sel, snd;
    int r;
};

static int select_root_task(void *frame, weft_cx *cx)
{
    struct select_root *f = frame;
    WEFT_BEGIN(&f->co);
    if (weft_task_spawn(cx->rt, canceller_task, &canceller, &f->sel) < 0 ||
        weft_task_spawn(cx->rt, sender_task, &sender_frame, &f->snd) < 0)
        WEFT_RETURN(&f->co, -ENOMEM);
    WEFT_AWAIT(&f->co, f->r = weft_task_join(f->sel, cx));
    weft_task_cancel(cx->rt, f->snd);
    WEFT_AWAIT(&f->co, weft_task_join(f->snd, cx));
    WEFT_END(&f->co, f->r);
}

static struct select_root select_root;

static int select_under(long k)
{
    assert_int_equal(weft_chan_init(&select_ch, &world.rt, select_ring, sizeof(int), 1), 0);
    assert_int_equal(weft_notify_init(&select_round2, &world.rt), 0);
    memset(&selector_frame, 0, sizeof selector_frame);
    selector_frame.w = &world;
    selector_frame.ch = &select_ch;
    selector_frame.round2 = &select_round2;
    memset(&sender_frame, 0, sizeof sender_frame);
    sender_frame.ch = &select_ch;
    sender_frame.round2 = &select_round2;
    memset(&canceller, 0, sizeof canceller);
    canceller.fn = selector_fn;
    canceller.inner = &selector_frame;
    canceller.cancel_at = k;
    memset(&select_root, 0, sizeof select_root);
    int r = weft_runtime_block_on(&world.rt, select_root_task, &select_root);
    weft_notify_destroy(&select_round2);
    weft_chan_destroy(&select_ch);
    return r;
}

static long select_run(long k, const char *what)
{
    assert_int_equal(world_open(&world, NULL, NULL), 0);
    assert_int_equal(select_under(0), 0);
    world_quiesce(what);
    struct snapshot s0 = snapshot_take(&world.rt);
    int r = select_under(k);
    expect_outcome(&canceller, r, k, what);
    world_quiesce(what);
    expect_same(s0, snapshot_take(&world.rt), what);
    assert_int_equal(world_close(&world), 0);
    return canceller.suspended;
}

static void cancel_select(void **state)
{
    (void)state;
    every_suspension("select", select_run);
}

static int report(void **state)
{
    (void)state;
    print_message("%d cancelled runs\n", cases);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(cancel_fetch),
        cmocka_unit_test(cancel_accept_loop),
        cmocka_unit_test(cancel_channel_pipeline),
        cmocka_unit_test(cancel_select),
    };
    return cmocka_run_group_tests_name("cancel_points", tests, NULL, report);
}
