/*
 * One connection of the delay server: a task that reads a request, waits out its delay, writes
 * the response, and starts over while the connection is kept alive.
 *
 * The task's frame (struct weft__ds_conn) is all the state a connection has between polls. Its
 * life in one picture:
 *
 *     READING  --head parsed-->  DELAYING  --timer-->  WRITING  --keep-alive-->  READING ...
 *        |                                                |
 *        +--bad request / timeout------> WRITING (error) -+--close--> CLOSING (linger) --> end
 *
 * Requests on one connection are handled strictly one after another, so pipelined requests are
 * answered in the order they came, whatever their delays.
 */
#include "ds_internal.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>

/* ---------------------------------------------------------------------------------------------
 * Parsing a request head
 * ------------------------------------------------------------------------------------------- */

/* A request has been accepted: log it and decide when its response is due. */
static void accept_request(struct weft__ds_conn *c)
{
    weft_delayserver *srv = c->srv;
    uint64_t n = ++srv->counts.requests;
    if (srv->cfg.log)
        weft__ds_log_request(srv->cfg.log, n, c->delay_ms, c->resp + WEFT__DS_HEAD_ROOM,
                             c->body_len);
    c->wake = 0;
    if (c->delay_ms > 0) {
        double ns = (double)c->delay_ms * srv->cfg.delay_scale * 1e6;
        c->wake = ns >= (double)WEFT_SEC(3600) ? weft_deadline_in(WEFT_SEC(3600))
                                               : weft_deadline_in((int64_t)ns);
    }
}

/* The target names the delay and the message: decode the message straight into the body. */
static int take_target(struct weft__ds_conn *c, const weft_http_parser *p)
{
    char *body = weft__ds_body_alloc(c, p->target_len);
    if (!body) {
        c->detail = "out of memory\n";
        return 503;
    }
    int n = weft_delayserver_parse_target(p->target, p->target_len, c->srv->cfg.max_delay_ms,
                                          &c->delay_ms, body, p->target_len);
    if (n >= 0) {
        c->body_len = (size_t)n;
        return 0;
    }
    if (n == -ERANGE)
        c->detail = "bad delay: too large\n";
    else if (n == WEFT_EHTTP_URL)
        c->detail = "bad percent-escape in the message\n";
    else
        c->detail = "bad path: expected /{delay_ms}/{message}\n";
    return 400;
}

/* The head is complete. Returns 0 to go on to the end of the request, or an error status. */
static int on_head(struct weft__ds_conn *c)
{
    const weft_http_parser *p = &c->scratch->parser;
    c->keep_alive = p->keep_alive;
    c->http10 = p->version == 10;
    c->head_only = p->method == WEFT_HTTP_HEAD;
    if (p->method != WEFT_HTTP_GET && p->method != WEFT_HTTP_HEAD) {
        c->detail = "only GET and HEAD\n";
        return 405;
    }
    bool empty_body = p->body_kind == WEFT_HTTP_BODY_NONE ||
                      (p->body_kind == WEFT_HTTP_BODY_LENGTH && p->content_length == 0);
    if (!empty_body) {
        c->detail = "a request body is not accepted\n";
        return 413;
    }
    return take_target(c, p);
}

/* Bytes after the end of a request belong to the next one: move them to the front of in[]. */
static void keep_leftover(struct weft__ds_conn *c)
{
    size_t left = (size_t)(c->in_len - c->in_off);
    memmove(c->in, c->in + c->in_off, left);
    c->in_off = 0;
    c->in_len = (uint16_t)left;
}

static void drop_scratch(struct weft__ds_conn *c)
{
    weft__ds_scratch_put(c->srv, c->scratch);
    c->scratch = NULL;
}

/* Starts parsing a request: borrow a parse buffer. False if out of memory. */
static bool take_scratch(struct weft__ds_conn *c)
{
    c->scratch = weft__ds_scratch_get(c->srv);
    if (!c->scratch) return false;
    weft_http_parser_config pc = {
        .head_buf = c->scratch->head,
        .head_size = sizeof c->scratch->head,
        .headers = c->scratch->fields,
        .max_headers = WEFT_DELAYSERVER_MAX_FIELDS,
        .max_body = WEFT_HTTP_UNLIMITED, /* bodies are refused at the head, with 413 */
    };
    weft_http_parser_init_request(&c->scratch->parser, &pc);
    return true;
}

/* The parser refused the request: the status to answer with, and why. */
static int parse_error(struct weft__ds_conn *c, int err)
{
    int status = weft__ds_status_of(err);
    if (status == 431)
        c->detail = "request head too large\n";
    else if (status == 501)
        c->detail = "transfer coding or HTTP version not supported\n";
    else
        c->detail = "malformed request\n";
    return status;
}

/*
 * Feeds the unparsed bytes to the parser. Returns 0 when all were consumed and more are needed,
 * 200 when a whole request was parsed (leftover bytes stay in in[] for the next one), or the
 * status of an error response. The parse buffer is returned as soon as the head is done with.
 */
static int parse_buffered(struct weft__ds_conn *c)
{
    if (c->in_off == c->in_len) return 0;
    if (!c->scratch && !take_scratch(c)) {
        c->detail = "out of memory\n";
        return 503;
    }
    for (;;) { /* bounded: each pass consumes input or ends the message */
        weft_http_event ev;
        ssize_t n = weft_http_parser_feed(&c->scratch->parser, c->in + c->in_off,
                                          (size_t)(c->in_len - c->in_off), &ev);
        if (n < 0) return parse_error(c, (int)n);
        c->in_off = (uint16_t)(c->in_off + n);
        if (ev.type == WEFT_HTTP_EV_NEED_MORE) {
            c->in_off = c->in_len = 0;
            return 0;
        }
        if (ev.type == WEFT_HTTP_EV_DONE) {
            drop_scratch(c);
            keep_leftover(c);
            accept_request(c);
            return 200;
        }
        int status = ev.type == WEFT_HTTP_EV_HEAD ? on_head(c) : 413;
        if (status != 0) return status;
    }
}

/* ---------------------------------------------------------------------------------------------
 * Reading, responding, closing
 * ------------------------------------------------------------------------------------------- */

/*
 * n bytes arrived in in[]. On a kept-alive connection the first byte of a request ends the idle
 * wait and starts the header deadline (a new connection's started when it was accepted).
 */
static void received(struct weft__ds_conn *c, int n)
{
    c->in_off = 0;
    c->in_len = (uint16_t)n;
    c->in_request = true;
    if (c->idle) {
        c->idle = false;
        c->deadline = weft_deadline_in(c->srv->cfg.header_timeout);
    }
}

/* One read into the input buffer, up to the connection's deadline. (A function of its own so
 * that each await that calls it fits on one line: see coro.h, "Where a coroutine waits".) */
static int conn_read(struct weft__ds_conn *c, weft_cx *cx)
{
    return weft_tcp_read_dl(&c->s, c->in, sizeof c->in, c->deadline, cx);
}

/* A read ended without a request. Returns 408 for a head that came too slowly, else 0 (close
 * without a word: the client left, or an idle keep-alive connection timed out). */
static int read_failed(struct weft__ds_conn *c)
{
    if (c->r == -ETIMEDOUT) {
        c->srv->counts.timeouts++;
        if (c->in_request) {
            c->detail = "the request head took too long\n";
            return 408;
        }
    } else if (c->r < 0) {
        c->srv->counts.io_errors++;
    }
    return 0;
}

/* Builds the response to c->status. False if there is nothing to send (out of memory). */
static bool prepare_response(struct weft__ds_conn *c)
{
    weft_delayserver *srv = c->srv;
    if (c->status != 200) {
        size_t len = strlen(c->detail);
        char *body = weft__ds_body_alloc(c, len);
        if (!body) return false;
        memcpy(body, c->detail, len);
        if (c->scratch) drop_scratch(c); /* not needed while the error goes out */
        c->keep_alive = false;
        c->head_only = false;
        srv->counts.errors++;
    }
    if (srv->stopping) c->keep_alive = false;
    weft__ds_resp_head(c, weft__ds_date(srv));
    c->phase = WEFT__DS_WRITING;
    c->deadline = weft_deadline_in(srv->cfg.idle_timeout);
    return true;
}

/* The response was written (c->r == 0) or failed. Returns true to read the next request. */
static bool response_sent(struct weft__ds_conn *c)
{
    weft_delayserver *srv = c->srv;
    weft__ds_resp_free(c);
    if (c->r < 0) {
        if (c->r == -ETIMEDOUT)
            srv->counts.timeouts++;
        else
            srv->counts.io_errors++;
        return false;
    }
    if (c->status == 200) srv->counts.responses++;
    if (!c->keep_alive || srv->stopping) {
        c->linger = !srv->stopping;
        return false;
    }
    c->in_request = c->in_len > 0; /* a pipelined request has begun already */
    c->idle = !c->in_request;
    c->deadline = weft_deadline_in(c->idle ? srv->cfg.idle_timeout : srv->cfg.header_timeout);
    return true;
}

/* Close politely: send FIN after the response, then read what the client still sends (a bit
 * of it, for a while) so that closing does not reset the connection under the response. */
static void start_linger(struct weft__ds_conn *c)
{
    c->phase = WEFT__DS_CLOSING;
    c->discarded = 0;
    c->deadline = weft_deadline_in(WEFT__DS_LINGER);
    (void)weft_tcp_shutdown(c->srv->rt, &c->s, SHUT_WR);
}

static bool lingering(struct weft__ds_conn *c)
{
    if (c->r <= 0) return false;
    c->discarded += (uint32_t)c->r;
    return c->discarded < WEFT__DS_LINGER_MAX;
}

/* The end of a connection, however it ended: release everything and give the frame back. */
static void release(struct weft__ds_conn *c, weft_runtime *rt)
{
    weft__ds_resp_free(c);
    if (c->scratch) drop_scratch(c);
    weft_tcp_close(rt, &c->s);
    weft__ds_conn_gone(c->srv, c); /* the frame goes back to the pool: touch nothing after */
}

static int conn_task(struct weft__ds_conn *c, weft_cx *cx)
{
    WEFT_BEGIN(&c->co);
    c->deadline = weft_deadline_in(c->srv->cfg.header_timeout);
    for (;;) {
        c->phase = WEFT__DS_READING;
        while ((c->status = (short)parse_buffered(c)) == 0) {
            WEFT_AWAIT(&c->co, c->r = conn_read(c, cx));
            if (c->r <= 0) {
                c->status = (short)read_failed(c);
                break;
            }
            received(c, c->r);
        }
        if (c->status == 0) break;
        if (c->status == 200 && c->wake != 0) {
            c->phase = WEFT__DS_DELAYING;
            WEFT_AWAIT(&c->co, weft_sleep_until(c->wake, cx));
        }
        if (!prepare_response(c)) break;
        WEFT_AWAIT_CHILD(&c->co, &c->xfer.co, c->r,
                         weft_tcp_write_all_dl(&c->xfer, &c->s, c->resp + c->resp_off, c->resp_len,
                                               c->deadline, cx));
        if (!response_sent(c)) break;
    }
    if (c->linger) {
        start_linger(c);
        do {
            WEFT_AWAIT(&c->co, c->r = conn_read(c, cx));
        } while (lingering(c));
    }
    release(c, cx->rt);
    WEFT_ON_CANCEL(&c->co);
    release(c, cx->rt);
    WEFT_END(&c->co, 0);
}

int weft__ds_conn_task(void *frame, weft_cx *cx)
{
    return conn_task(frame, cx);
}

/*
 * Ends a connection from outside its task (shutdown). A task that has been polled runs its
 * cleanup block when cancelled; one that never ran has no resume point to cancel from, so its
 * release happens here instead.
 */
void weft__ds_conn_abort(struct weft__ds_conn *c)
{
    weft_runtime *rt = c->srv->rt;
    bool started = weft_co_started(&c->co);
    weft_task_cancel(rt, c->task);
    if (!started) release(c, rt);
}
