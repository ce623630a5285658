/*
 * The reliability tests' world: see world.h.
 */
#include "world.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "fault.h"
#include "weft_test.h"
#include "weft_test_nap.h"

/* ---- opening and closing ------------------------------------------------------------------- */

static void default_config(weft_delayserver_config *cfg)
{
    weft_delayserver_config_init(cfg);
    cfg->port = 0;
    cfg->log = NULL;
    cfg->header_timeout = WEFT_MSEC(500);
    cfg->idle_timeout = WEFT_MSEC(500);
}

int world_open(struct world *w, const weft_delayserver_config *cfg,
               const weft_http_client_config *client_cfg)
{
    memset(w, 0, sizeof *w);
    int r = weft_runtime_init(&w->rt);
    if (r < 0) return r;
    w->rt_open = true;
    weft_delayserver_config dflt;
    if (!cfg) {
        default_config(&dflt);
        cfg = &dflt;
    }
    r = weft_delayserver_start(&w->rt, cfg, &w->srv);
    if (r < 0) {
        weft_runtime_close(&w->rt);
        w->rt_open = false;
        return r;
    }
    w->srv_open = true;
    weft_addr addr;
    r = weft_delayserver_addr(&w->srv, &addr);
    if (r == 0) r = weft_http_client_init(&w->client, &w->rt, client_cfg);
    if (r < 0) {
        world_close(w);
        return r;
    }
    w->client_open = true;
    snprintf(w->base, sizeof w->base, "http://127.0.0.1:%d", weft_addr_port(&addr));
    return 0;
}

/* The root task of world_close: shut the server down now and wait until it has finished. */
struct stopper {
    weft_co co;
    weft_delayserver *srv;
};

static int stop_server(void *frame, weft_cx *cx)
{
    struct stopper *f = frame;
    WEFT_BEGIN(&f->co);
    weft_delayserver_shutdown(f->srv, 0);
    WEFT_AWAIT(&f->co, weft_delayserver_wait(f->srv, cx));
    WEFT_END(&f->co, 0);
}

int world_close(struct world *w)
{
    int result = 0;
    if (w->srv_open && !weft_delayserver_finished(&w->srv)) {
        static struct stopper s;
        s.srv = &w->srv;
        int r = weft_runtime_block_on(&w->rt, stop_server, &s);
        if (r < 0) result = r; /* -ENOMEM: runtime_close below cancels the server */
    }
    if (w->client_open) {
        int r = weft_http_client_close(&w->client);
        if (r < 0 && result == 0) result = r;
        w->client_open = false;
    }
    if (w->rt_open) {
        int r = weft_runtime_close(&w->rt);
        if (r < 0 && result == 0) result = r;
        w->rt_open = false;
    }
    if (w->srv_open) {
        int r = weft_delayserver_close(&w->srv);
        if (r < 0 && result == 0) result = r;
        w->srv_open = false;
    }
    return result;
}

/* ---- tasks --------------------------------------------------------------------------------- */

void fetch_init(struct fetch *f, struct world *w, const char *path, int count)
{
    memset(f, 0, sizeof *f);
    f->w = w;
    f->count = count < 1 ? 1 : count > 4 ? 4 : count;
    snprintf(f->url, sizeof f->url, "%s%s", w->base, path);
}

/* Reads the body in pieces into f->body[f->i] (what fits). Returns its length, or an error. */
static int read_pieces(struct fetch *f, weft_cx *cx)
{
    for (;;) { /* bounded: each read consumes input or suspends */
        int r = weft_http_exchange_read(&f->ex, cx);
        if (r <= 0) return r == 0 ? (int)f->ex.body_received : r;
        size_t at = (size_t)f->ex.body_received - (size_t)r;
        size_t room = sizeof f->body[0] - 1;
        if (at < room)
            memcpy(f->body[f->i] + at, f->ex.data, (size_t)r < room - at ? (size_t)r : room - at);
    }
}

static int fetch(struct fetch *f, weft_cx *cx)
{
    WEFT_BEGIN(&f->co);
    for (f->i = 0; f->i < f->count; f->i++) {
        weft_http_exchange_init(&f->ex, &f->w->client, WEFT_HTTP_GET, f->url);
        f->ex.timeout = f->timeout;
        if (f->max_body) f->ex.max_body = f->max_body;
        WEFT_AWAIT_CHILD(&f->co, &f->ex.co, f->r, weft_http_exchange_start(&f->ex, cx));
        if (f->r >= 0) {
            f->status[f->i] = f->r;
            if (f->pieces)
                WEFT_AWAIT(&f->co, f->r = read_pieces(f, cx));
            else
                WEFT_AWAIT(&f->co, f->r = weft_http_exchange_read_all(&f->ex, f->body[f->i],
                                                                      sizeof f->body[0] - 1, cx));
        }
        weft_http_exchange_close(&f->ex);
        f->result[f->i] = f->r;
        if (f->r >= 0) f->body[f->i][f->r < 255 ? f->r : 255] = '\0';
    }
    WEFT_ON_CANCEL(&f->co);
    weft_http_exchange_close(&f->ex);
    WEFT_END(&f->co, f->result[0] < 0 ? f->result[0] : 0);
}

int fetch_task(void *frame, weft_cx *cx)
{
    return fetch(frame, cx);
}

int bystander_task(void *frame, weft_cx *cx)
{
    struct bystander *f = frame;
    WEFT_BEGIN(&f->co);
    for (f->done = 0; f->done < f->rounds; f->done++)
        WEFT_AWAIT(&f->co, weft_sleep_for(&f->wake, f->step, cx));
    WEFT_END(&f->co, 0);
}

/* ---- running tasks ------------------------------------------------------------------------- */

void task_set_add(struct task_set *set, weft_co_fn fn, void *frame)
{
    if (set->n >= 4) return;
    set->fn[set->n] = fn;
    set->frame[set->n] = frame;
    set->n++;
}

static int run_set(void *frame, weft_cx *cx)
{
    struct task_set *s = frame;
    WEFT_BEGIN(&s->co);
    for (s->i = 0; s->i < s->n; s->i++)
        s->spawned[s->i] = weft_task_spawn(cx->rt, s->fn[s->i], s->frame[s->i], &s->handle[s->i]);
    for (s->i = 0; s->i < s->n; s->i++) {
        if (s->spawned[s->i] < 0)
            s->result[s->i] = s->spawned[s->i];
        else
            WEFT_AWAIT(&s->co, s->result[s->i] = weft_task_join(s->handle[s->i], cx));
    }
    WEFT_END(&s->co, 0);
}

int task_set_run(weft_runtime *rt, struct task_set *set)
{
    return weft_runtime_block_on(rt, run_set, set);
}

int run_tasks(struct world *w, struct task_set *set)
{
    return task_set_run(&w->rt, set);
}

/* ---- letting time pass --------------------------------------------------------------------- */

struct pause {
    weft_co co;
    int64_t ns;
    struct weft_test_nap nap; /* parks at least once: the others run, events are delivered */
};

static int pause_task(void *frame, weft_cx *cx)
{
    struct pause *f = frame;
    WEFT_BEGIN(&f->co);
    WEFT_AWAIT(&f->co, weft_test_nap(&f->nap, f->ns, cx));
    WEFT_END(&f->co, 0);
}

void world_run_for(struct world *w, int64_t ns)
{
    static struct pause p;
    memset(&p, 0, sizeof p);
    p.ns = ns;
    (void)weft_runtime_block_on(&w->rt, pause_task, &p);
}

bool world_settle(struct world *w, int64_t ns)
{
    int64_t end = weft_test_now_ns() + ns;
    for (;;) { /* bounded by the time limit */
        weft_delayserver_stats st;
        weft_delayserver_get_stats(&w->srv, &st);
        if (st.active == 0) return true;
        if (weft_test_now_ns() >= end) return false;
        world_run_for(w, WEFT_MSEC(2));
    }
}

/* ---- checks -------------------------------------------------------------------------------- */

bool expect_request(const struct fetch *f, int i, const char *expect, const int *allowed, size_t n,
                    const char *what)
{
    int r = f->result[i];
    if (r >= 0 && f->status[i] == 200) {
        if (strcmp(f->body[i], expect) != 0)
            fail_msg("%s: %s request %d: body \"%s\", expected \"%s\"", what, f->url, i, f->body[i],
                     expect);
        return true;
    }
    int outcome = r >= 0 ? f->status[i] : r;
    for (size_t k = 0; k < n; k++)
        if (allowed[k] == outcome) return false;
    fail_msg("%s: %s request %d: %d (%s)", what, f->url, i, outcome,
             r < 0 ? weft_strerror(r) : "status");
    return false;
}

struct leak_snapshot leak_snapshot_take(void)
{
    struct leak_snapshot s = {weft_test_fd_count(), fault_alloc_live()};
    return s;
}

void expect_no_leak(struct leak_snapshot before, const char *what)
{
    int fds = weft_test_fd_count();
    long blocks = fault_alloc_live();
    if (fds != before.fds) fail_msg("%s: %d fds open, %d before", what, fds, before.fds);
    if (blocks != before.blocks)
        fail_msg("%s: %ld blocks allocated, %ld before", what, blocks, before.blocks);
}

/* ---- the common scenario ------------------------------------------------------------------- */

int trio_run(struct trio *t, struct world *w)
{
    fetch_init(&t->a, w, "/1/alpha%20one", 2);
    t->a.pieces = true;
    fetch_init(&t->b, w, "/0/b", 1);
    memset(&t->by, 0, sizeof t->by);
    t->by.rounds = 3;
    t->by.step = WEFT_MSEC(1);
    memset(&t->set, 0, sizeof t->set);
    task_set_add(&t->set, fetch_task, &t->a);
    task_set_add(&t->set, fetch_task, &t->b);
    task_set_add(&t->set, bystander_task, &t->by);
    return run_tasks(w, &t->set);
}

/* Whether err is in allowed[0 .. n). */
static bool allowed_error(int err, const int *allowed, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (allowed[i] == err) return true;
    return false;
}

int trio_failures(const struct trio *t, const int *allowed, size_t n, const char *what)
{
    int failed = 0;
    for (int i = 0; i < 3; i++) {
        if (t->set.spawned[i] == 0) continue;
        if (!allowed_error(t->set.spawned[i], allowed, n))
            fail_msg("%s: spawn: %s", what, weft_strerror(t->set.spawned[i]));
        failed++;
    }
    if (t->set.spawned[0] == 0)
        for (int i = 0; i < 2; i++)
            failed += !expect_request(&t->a, i, "alpha one", allowed, n, what);
    if (t->set.spawned[1] == 0) failed += !expect_request(&t->b, 0, "b", allowed, n, what);
    if (t->set.spawned[2] == 0 && (t->set.result[2] != 0 || t->by.done != t->by.rounds))
        fail_msg("%s: the bystander stopped after %d rounds", what, t->by.done);
    return failed;
}

/* ---- a channel pipeline -------------------------------------------------------------------- */

/* A stage that fails (-ENOMEM from a wait) closes both its channels: the stages beside it see
 * WEFT_ECLOSED and end instead of waiting for ever. */
static int stage_fail(struct stage *f)
{
    if (f->in) weft_chan_close(f->in);
    if (f->out) weft_chan_close(f->out);
    return f->r;
}

static int stage(struct stage *f, weft_cx *cx)
{
    WEFT_BEGIN(&f->co);
    if (!f->in) {
        for (f->item = 1; f->item <= PIPELINE_ITEMS; f->item++) {
            WEFT_AWAIT(&f->co, f->r = weft_chan_send(f->out, &f->item, cx));
            if (f->r < 0) WEFT_RETURN(&f->co, f->r == WEFT_ECLOSED ? 0 : stage_fail(f));
        }
        weft_chan_close(f->out);
        WEFT_RETURN(&f->co, 0);
    }
    for (;;) {
        WEFT_AWAIT(&f->co, f->r = weft_chan_recv(f->in, &f->item, cx));
        if (f->r < 0) break;
        if (!f->out) {
            f->sum += f->item;
            continue;
        }
        f->item *= 2;
        WEFT_AWAIT(&f->co, f->r = weft_chan_send(f->out, &f->item, cx));
        if (f->r < 0) break;
    }
    if (f->r != WEFT_ECLOSED) WEFT_RETURN(&f->co, stage_fail(f));
    if (f->out) weft_chan_close(f->out);
    WEFT_END(&f->co, 0);
}
WEFT_CO_FN(stage_fn, stage, struct stage)

static void pipeline_destroy(struct pipeline *f)
{
    if (!f->open) return;
    weft_chan_destroy(&f->ch1);
    weft_chan_destroy(&f->ch2);
    f->open = false;
}

/* The first stage error, else 0 if the sum is right. */
static int pipeline_result(const struct pipeline *f)
{
    for (int i = 0; i < 3; i++)
        if (f->kids[i].result < 0) return f->kids[i].result;
    return f->st[2].sum == PIPELINE_ITEMS * (PIPELINE_ITEMS + 1) ? 0 : -EPROTO;
}

static int pipeline(struct pipeline *f, weft_cx *cx)
{
    WEFT_BEGIN(&f->co);
    int r = weft_chan_init(&f->ch1, cx->rt, f->ring1, sizeof(int), 1);
    if (r < 0) WEFT_RETURN(&f->co, r);
    r = weft_chan_init(&f->ch2, cx->rt, f->ring2, sizeof(int), 1);
    if (r < 0) {
        weft_chan_destroy(&f->ch1);
        WEFT_RETURN(&f->co, r);
    }
    f->open = true;
    f->st[0] = (struct stage){.out = &f->ch1};
    f->st[1] = (struct stage){.in = &f->ch1, .out = &f->ch2};
    f->st[2] = (struct stage){.in = &f->ch2};
    for (int i = 0; i < 3; i++)
        weft_co_child_init(&f->kids[i], stage_fn, &f->st[i]);
    WEFT_AWAIT(&f->co, weft_co_join(f->kids, 3, cx));
    pipeline_destroy(f);
    WEFT_RETURN(&f->co, pipeline_result(f));
    WEFT_ON_CANCEL(&f->co);
    weft_co_children_cancel(f->kids, 3, cx);
    pipeline_destroy(f);
    WEFT_END(&f->co, 0);
}

int pipeline_task(void *frame, weft_cx *cx)
{
    return pipeline(frame, cx);
}
