/*
 * The delay server: listening, the accept task, shutdown, and the pools that make a connection
 * cost one small frame. The connection task itself is in conn.c.
 *
 * The accept task has two parts. While the server runs it accepts connections and spawns one
 * task for each, pausing when max_connections are open. After a shutdown it waits until the
 * connections that were still answering have finished, or the grace deadline has come, cuts
 * off whatever is left, and ends — which is what weft_delayserver_wait waits for.
 */
#define _GNU_SOURCE /* gmtime_r */
#include "ds_internal.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

void weft_delayserver_config_init(weft_delayserver_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->host = "127.0.0.1";
    cfg->port = 8080;
    cfg->delay_scale = 1.0;
    cfg->max_delay_ms = WEFT_DELAYSERVER_MAX_DELAY_MS;
    cfg->header_timeout = WEFT_SEC(10);
    cfg->idle_timeout = WEFT_SEC(30);
    cfg->max_connections = 10000;
    cfg->log = stdout;
}

/* ---------------------------------------------------------------------------------------------
 * Pools: connection frames and parse buffers
 * ------------------------------------------------------------------------------------------- */

/*
 * A finished connection's frame is not freed at once: its task is still returning from the poll
 * in which it finished (WEFT_END marks the frame's weft_co done on the way out). Frames go to
 * srv->spare instead, to be reused by the next connection; the accept task frees the surplus.
 */
static struct weft__ds_conn *frame_get(weft_delayserver *srv)
{
    struct weft__ds_conn *c = srv->spare;
    if (c) {
        srv->spare = c->next;
        srv->nspare--;
    } else {
        c = malloc(sizeof *c);
        if (!c) return NULL;
    }
    memset(c, 0, offsetof(struct weft__ds_conn, in)); /* in[] needs no clearing */
    return c;
}

static void frames_trim(weft_delayserver *srv, size_t keep)
{
    while (srv->nspare > keep) {
        struct weft__ds_conn *c = srv->spare;
        srv->spare = c->next;
        srv->nspare--;
        free(c);
    }
}

struct weft__ds_scratch *weft__ds_scratch_get(weft_delayserver *srv)
{
    struct weft__ds_scratch *sc = srv->spare_scratch;
    if (!sc) return malloc(sizeof *sc);
    srv->spare_scratch = sc->next;
    srv->nspare_scratch--;
    return sc;
}

void weft__ds_scratch_put(weft_delayserver *srv, struct weft__ds_scratch *sc)
{
    if (srv->nspare_scratch >= WEFT__DS_SPARE_SCRATCH) {
        free(sc);
        return;
    }
    sc->next = srv->spare_scratch;
    srv->spare_scratch = sc;
    srv->nspare_scratch++;
}

/* ---------------------------------------------------------------------------------------------
 * Connections
 * ------------------------------------------------------------------------------------------- */

static weft_waker accept_waker(const weft_delayserver *srv)
{
    weft_waker w = {srv->task.slot, srv->task.gen};
    return w;
}

/* Takes the connection just accepted into a frame and a task of its own. */
static void conn_start(weft_delayserver *srv)
{
    srv->counts.connections++;
    struct weft__ds_conn *c = frame_get(srv);
    if (!c || weft_task_spawn(srv->rt, weft__ds_conn_task, c, &c->task) < 0) {
        weft_tcp_close(srv->rt, &srv->incoming); /* no memory: the client sees a close */
        if (c) weft__ds_conn_gone(srv, c);
        srv->counts.accept_errors++;
        return;
    }
    weft_task_detach(srv->rt, c->task); /* nobody joins it; shutdown may still cancel it */
    c->srv = srv;
    c->s = srv->incoming;
    memset(&srv->incoming, 0, sizeof srv->incoming);
    /* Pipelined responses must not wait for ACKs. */
    (void)weft_tcp_set_nodelay(srv->rt, &c->s, true);
    c->next = srv->conns;
    if (srv->conns) srv->conns->prev = c;
    srv->conns = c;
    srv->nconns++;
}

/* A connection ended (conn.c's release): unlink its frame and keep it for reuse. */
void weft__ds_conn_gone(weft_delayserver *srv, struct weft__ds_conn *c)
{
    if (c->srv) { /* it was linked (conn_start got that far) */
        if (c->prev) c->prev->next = c->next;
        if (c->next) c->next->prev = c->prev;
        if (srv->conns == c) srv->conns = c->next;
        if (srv->nconns-- == srv->cfg.max_connections || srv->stopping)
            weft_waker_wake(srv->rt, accept_waker(srv)); /* room again, or one fewer to wait for */
    }
    c->srv = NULL;
    c->prev = NULL;
    c->next = srv->spare;
    srv->spare = c;
    srv->nspare++;
}

/* Ends every connection whose phase is in the mask (1 << phase). */
static void conns_abort(weft_delayserver *srv, unsigned phase_mask)
{
    struct weft__ds_conn *c = srv->conns;
    for (size_t n = srv->nconns; c && n > 0; n--) { /* aborting unlinks c: step first */
        struct weft__ds_conn *next = c->next;
        if (phase_mask & (1u << c->phase)) weft__ds_conn_abort(c);
        c = next;
    }
}

const char *weft__ds_date(weft_delayserver *srv)
{
    time_t now = time(NULL);
    if (now != srv->date_second || srv->date_text[0] == '\0') {
        struct tm tm;
        gmtime_r(&now, &tm);
        strftime(srv->date_text, sizeof srv->date_text, "%a, %d %b %Y %H:%M:%S GMT", &tm);
        srv->date_second = now;
    }
    return srv->date_text;
}

/* ---------------------------------------------------------------------------------------------
 * The accept task
 * ------------------------------------------------------------------------------------------- */

/* After shutdown: true once nothing is left to wait for; else asks to be woken at the grace
 * deadline (connections that end wake the task too, see weft__ds_conn_gone). */
static bool drained(weft_delayserver *srv, weft_cx *cx)
{
    if (srv->nconns == 0 || weft_cx_now(cx) >= srv->grace_deadline) return true;
    weft_cx_want_deadline(cx, srv->grace_deadline);
    return false;
}

static void finished(weft_delayserver *srv)
{
    srv->finished = true;
    weft_waker_wake(srv->rt, srv->waiter);
}

/* An accept that failed for a reason other than shutdown. weft_tcp already backs off when fds
 * run out; anything else is unexpected, and retried after a pause rather than in a loop. */
static bool accept_failed(weft_delayserver *srv)
{
    if (srv->accept_result == WEFT_ECLOSED) return false;
    srv->counts.accept_errors++;
    srv->retry_at = weft_deadline_in(WEFT_MSEC(10));
    return true;
}

/* The next connection, into srv->incoming. (A function of its own so that the await that calls it
 * fits on one line: see coro.h, "Where a coroutine waits".) */
static int accept_next(weft_delayserver *srv, weft_cx *cx)
{
    return weft_tcp_accept(&srv->listener, &srv->incoming, NULL, cx);
}

static int accept_task(weft_delayserver *srv, weft_cx *cx)
{
    WEFT_BEGIN(&srv->co);
    while (!srv->stopping) {
        if (srv->nconns >= srv->cfg.max_connections) {
            WEFT_YIELD(&srv->co); /* a connection that ends wakes us */
            continue;
        }
        WEFT_AWAIT(&srv->co, srv->accept_result = accept_next(srv, cx));
        if (srv->accept_result == 0)
            conn_start(srv);
        else if (accept_failed(srv))
            WEFT_AWAIT(&srv->co, weft_sleep_until(srv->retry_at, cx));
        frames_trim(srv, WEFT__DS_SPARE_FRAMES);
    }
    WEFT_WAIT_UNTIL(&srv->co, drained(srv, cx));
    conns_abort(srv, ~0u);
    frames_trim(srv, 0);
    finished(srv);
    WEFT_ON_CANCEL(&srv->co);
    weft_tcp_listener_close(cx->rt, &srv->listener); /* the runtime is closing under us */
    finished(srv);
    WEFT_END(&srv->co, 0);
}

static int accept_task_fn(void *frame, weft_cx *cx)
{
    return accept_task(frame, cx);
}

/* ---------------------------------------------------------------------------------------------
 * The public API
 * ------------------------------------------------------------------------------------------- */

static bool config_ok(const weft_delayserver_config *cfg)
{
    return cfg->host && isfinite(cfg->delay_scale) && cfg->delay_scale >= 0 &&
           cfg->header_timeout > 0 && cfg->idle_timeout > 0 && cfg->max_connections > 0;
}

/* "host" and port as a weft_addr; an IPv6 host may come with or without brackets. */
static int listen_addr(const weft_delayserver_config *cfg, weft_addr *addr)
{
    char text[WEFT_ADDR_STRLEN + 8];
    bool bare_v6 = strchr(cfg->host, ':') && cfg->host[0] != '[';
    int n =
        snprintf(text, sizeof text, bare_v6 ? "[%s]:%u" : "%s:%u", cfg->host, (unsigned)cfg->port);
    if (n < 0 || (size_t)n >= sizeof text) return WEFT_EADDR;
    return weft_addr_parse(addr, text);
}

int weft_delayserver_start(weft_runtime *rt, const weft_delayserver_config *cfg,
                           weft_delayserver *srv)
{
    if (!rt || !cfg || !srv || !config_ok(cfg)) return -EINVAL;
    memset(srv, 0, sizeof *srv);
    srv->rt = rt;
    srv->cfg = *cfg;
    srv->grace_deadline = WEFT_NO_DEADLINE;
    weft_addr addr;
    int r = listen_addr(cfg, &addr);
    if (r < 0) return r;
    r = weft_tcp_listen(rt, &srv->listener, &addr, SOMAXCONN);
    if (r < 0) return r;
    r = weft_task_spawn(rt, accept_task_fn, srv, &srv->task);
    if (r < 0) {
        weft_tcp_listener_close(rt, &srv->listener);
        return r;
    }
    weft_task_detach(rt, srv->task); /* weft_delayserver_wait tells when it is done */
    return 0;
}

int weft_delayserver_addr(const weft_delayserver *srv, weft_addr *addr)
{
    return weft_tcp_listener_addr(srv->rt, &srv->listener, addr);
}

void weft_delayserver_shutdown(weft_delayserver *srv, int64_t grace_deadline)
{
    if (srv->finished) return;
    if (grace_deadline < srv->grace_deadline) srv->grace_deadline = grace_deadline;
    if (!srv->stopping) {
        srv->stopping = true;
        weft_tcp_listener_close(srv->rt, &srv->listener); /* the accept sees WEFT_ECLOSED */
        conns_abort(srv, 1u << WEFT__DS_READING | 1u << WEFT__DS_CLOSING);
    }
    weft_waker_wake(srv->rt, accept_waker(srv));
}

int weft_delayserver_wait(weft_delayserver *srv, weft_cx *cx)
{
    if (srv->finished) return 0;
    srv->waiter = weft_cx_waker(cx);
    return WEFT_PENDING;
}

bool weft_delayserver_finished(const weft_delayserver *srv)
{
    return srv->finished;
}

int weft_delayserver_close(weft_delayserver *srv)
{
    if (!srv->finished) return -EBUSY;
    /* Frames still linked belong to tasks the runtime cancelled before they ever ran (it closed
     * their sockets itself); every other frame is already spare. */
    while (srv->conns) {
        struct weft__ds_conn *c = srv->conns;
        srv->conns = c->next;
        free(c);
    }
    srv->nconns = 0;
    frames_trim(srv, 0);
    while (srv->spare_scratch) {
        struct weft__ds_scratch *sc = srv->spare_scratch;
        srv->spare_scratch = sc->next;
        free(sc);
    }
    srv->nspare_scratch = 0;
    return 0;
}

void weft_delayserver_get_stats(const weft_delayserver *srv, weft_delayserver_stats *st)
{
    memset(st, 0, sizeof *st);
    st->connections = srv->counts.connections;
    st->requests = srv->counts.requests;
    st->responses = srv->counts.responses;
    st->errors = srv->counts.errors;
    st->timeouts = srv->counts.timeouts;
    st->io_errors = srv->counts.io_errors;
    st->accept_errors = srv->counts.accept_errors;
    st->active = srv->nconns;
    st->frame_bytes = sizeof(struct weft__ds_conn);
    st->scratch_bytes = sizeof(struct weft__ds_scratch);
}
