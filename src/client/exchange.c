/*
 * An exchange: one request and its response.
 *
 * weft_http_exchange_start is a loop over *attempts*. An attempt (attempt_begin, then
 * exchange_attempt, a leaf operation that keeps its phase in the exchange) gets a connection —
 * from the pool, or a new one — writes the request and reads up to the response head. What happens
 * next is decided in the loop, in one place:
 *
 *   - the attempt failed on a reused connection before any byte of a response came back: the
 *     server had probably closed it while it sat in the pool, so an idempotent request is sent
 *     once more, on a new connection;
 *   - the response is a redirect the caller asked us to follow: its body is read and dropped
 *     (so the connection can go back to the pool), and the next attempt goes to the new URL;
 *   - anything else is the answer: the head is handed to the caller, who reads the body with
 *     weft_http_exchange_read (pieces) or weft_http_exchange_read_all (one buffer).
 *
 * Every byte goes through the connection's buffer: the request is serialised into it and sent
 * with one send; responses are recv()'d into it and fed to the parser, whose body events point
 * into it. So a request on a pooled connection allocates nothing and copies nothing twice.
 */
#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/internal.h"
#include "http/http_internal.h" /* weft__http_equals_nocase, weft__http_list_next */

/* Where an exchange is (priv.state). */
enum {
    ST_NEW,    /* initialised; start not polled yet */
    ST_HEAD,   /* start is running */
    ST_BODY,   /* start returned a status; the body is being read */
    ST_DONE,   /* the body is complete */
    ST_FAILED, /* an error ended it (ex->error) */
};

/* Where an attempt is (priv.phase), once attempt_begin has a connection for it. */
enum {
    PHASE_CONNECT, /* the new connection's connect is under way */
    PHASE_SEND,    /* the request is in the buffer, being sent */
    PHASE_HEAD,    /* the request is out; reading up to the response head */
};

/* A redirect's body is read and dropped, so that its connection can be reused, up to this many
 * bytes; for a larger one, closing the connection is cheaper than waiting. */
#define DRAIN_MAX 65536

/*
 * Clears the public fields and the private state that something reads before writing it, one
 * field at a time. The private scratch areas — the URL being requested, the host:port text, the
 * frames of the child operations (reset by whoever starts them) — are always written before they
 * are read, so clearing them was pure cost: 1.4 KB of stores for every request, most of them
 * cache misses (bench/weft_client under callgrind: 200 instructions and 17 of the 22 L1 write
 * misses per request). The public part is cleared field by field too, not with a memset: that
 * compiled to a `rep stos` of 27 words, slower than the stores themselves. A field added to
 * weft_http_exchange belongs in this list (init sets client, method, url and the defaults).
 */
static void exchange_clear(weft_http_exchange *ex)
{
    weft_co_init(&ex->co);
    ex->target = NULL; /* the request */
    ex->headers = NULL;
    ex->nheaders = 0;
    ex->body = NULL;
    ex->body_len = 0;
    ex->timeout = 0;
    ex->max_redirects = 0;
    ex->status = 0; /* the response */
    ex->response = NULL;
    ex->data = NULL;
    ex->data_len = 0;
    ex->body_received = 0;
    ex->redirects = 0;
    ex->reused = false;
    ex->error = 0;
    ex->timing = (weft_http_timing){0};
    ex->priv.conn = NULL;
    ex->priv.redirect_url = NULL;
    ex->priv.dial = NULL;
    ex->priv.head_len = 0;
    ex->priv.body_apart = false;
    ex->priv.fresh = false;
    ex->priv.retried = false;
    ex->priv.got_byte = false;
    ex->priv.state = ST_NEW;
}

void weft_http_exchange_init(weft_http_exchange *ex, weft_http_client *client,
                             weft_http_method method, const char *url)
{
    exchange_clear(ex);
    ex->client = client;
    ex->method = method;
    ex->url = url;
    ex->effective_url = url;
    ex->deadline = WEFT_NO_DEADLINE;
    ex->max_body = WEFT_HTTP_UNLIMITED;
}

/* ---------------------------------------------------------------------------------------------
 * Small decisions
 * ------------------------------------------------------------------------------------------- */

/* Methods that may be sent twice without changing the outcome (RFC 9110 §9.2.2). */
static bool idempotent(weft_http_method m)
{
    return m == WEFT_HTTP_GET || m == WEFT_HTTP_HEAD || m == WEFT_HTTP_PUT ||
           m == WEFT_HTTP_DELETE || m == WEFT_HTTP_OPTIONS;
}

/* Whether the caller's own fields ask the server to close the connection after this response. */
static bool request_says_close(const weft_http_exchange *ex)
{
    for (size_t i = 0; i < ex->nheaders; i++) {
        const weft_http_header *h = &ex->headers[i];
        if (!weft_http_header_name_is(h, "connection")) continue;
        const char *pos = h->value, *token;
        size_t len;
        while (weft__http_list_next(&pos, h->value + h->value_len, &token, &len))
            if (weft__http_equals_nocase(token, len, "close")) return true;
    }
    return false;
}

/* Whether conn, whose response was read to the end, may carry another request. */
static bool conn_reusable(const weft_http_exchange *ex, const struct weft__http_conn *conn)
{
    if (!conn->parser.keep_alive || conn->eof || conn->off != conn->len) return false;
    return ex->nheaders == 0 || !request_says_close(ex);
}

/*
 * Whether a failed attempt is worth one more on a new connection: it used a pooled connection,
 * nothing of a response came back, the failure is what a connection the server had closed
 * looks like, and sending the request twice is harmless.
 */
static bool may_retry(const weft_http_exchange *ex, int err)
{
    if (ex->priv.retried || !ex->reused || ex->priv.got_byte || !idempotent(ex->priv.method))
        return false;
    return err == -ECONNRESET || err == -EPIPE || err == WEFT_EHTTP_NORESPONSE;
}

static int64_t add_saturating(int64_t t, int64_t d)
{
    return d > INT64_MAX - t ? INT64_MAX : t + d;
}

/* ---------------------------------------------------------------------------------------------
 * Failure and ownership
 * ------------------------------------------------------------------------------------------- */

/* Ends the exchange with err. The socket is closed at once; the connection's memory (and with
 * it the head, for the caller to look at) stays until weft_http_exchange_close. */
static int exchange_fail(weft_http_exchange *ex, int err, weft_cx *cx)
{
    ex->error = err;
    ex->priv.state = ST_FAILED;
    ex->timing.done = weft_cx_now(cx);
    if (ex->priv.conn) weft__http_conn_shut(ex->client, ex->priv.conn);
    return err;
}

/* Frees the connect-by-name frame once the connect has ended (or been abandoned). */
static void exchange_dial_end(weft_http_exchange *ex)
{
    free(ex->priv.dial);
    ex->priv.dial = NULL;
}

/* Lets go of the connection: to the pool if reusable (idle since its response ended, at
 * idle_since), closed otherwise. */
static void exchange_release(weft_http_exchange *ex, bool reusable, int64_t idle_since)
{
    if (!ex->priv.conn) return;
    weft__http_conn_release(ex->client, ex->priv.conn, reusable, idle_since);
    ex->priv.conn = NULL;
}

/* ---------------------------------------------------------------------------------------------
 * Reading: from the socket into the buffer, from the buffer through the parser
 * ------------------------------------------------------------------------------------------- */

/* One recv into the (fully consumed) buffer. Returns the byte count, 0 at end of stream,
 * WEFT_PENDING or an error. */
static int exchange_recv(weft_http_exchange *ex, weft_cx *cx)
{
    struct weft__http_conn *conn = ex->priv.conn;
    int r = weft_tcp_read_dl(&conn->stream, conn->buf, conn->cap, ex->priv.deadline, cx);
    if (r <= 0) return r;
    conn->off = 0;
    conn->len = (size_t)r;
    if (!ex->priv.got_byte) {
        ex->priv.got_byte = true;
        ex->timing.first_byte = weft_cx_now(cx);
    }
    return r;
}

/* The server closed its side: the parser decides whether that ends the message or cuts it. */
static int conn_eof(struct weft__http_conn *conn, weft_http_event *ev)
{
    conn->eof = true;
    conn->off = conn->len = 0;
    int r = weft_http_parser_eof(&conn->parser, ev);
    return r == WEFT_ECLOSED ? WEFT_EHTTP_NORESPONSE : r;
}

/*
 * The next parser event (HEAD, BODY or DONE) of the response, reading when the buffer has
 * nothing left to parse. A leaf operation: returns 0 with *ev set, WEFT_PENDING, or an error.
 * Bounded: each pass either returns or makes a recv, and recvs spend the task's budget.
 * Inline (as is request_build): it runs two or three times per request, and as a call each one
 * saved and restored six registers (bench/weft_client: -96 instructions per request).
 */
static inline int exchange_next_event(weft_http_exchange *ex, weft_http_event *ev, weft_cx *cx)
{
    struct weft__http_conn *conn = ex->priv.conn;
    for (;;) {
        /* Nothing to parse and nothing the parser could report without input: read at once. */
        if (conn->off < conn->len || !weft__http_parser_wants_input(&conn->parser)) {
            ssize_t n = weft_http_parser_feed(&conn->parser, conn->buf + conn->off,
                                              conn->len - conn->off, ev);
            if (n < 0) return (int)n;
            conn->off += (size_t)n;
            if (ev->type != WEFT_HTTP_EV_NEED_MORE) return 0;
        }
        int r = exchange_recv(ex, cx);
        if (r == 0) return conn_eof(conn, ev);
        if (r < 0) return r;
    }
}

/* ---------------------------------------------------------------------------------------------
 * One attempt: a connection, the request, the response head
 * ------------------------------------------------------------------------------------------- */

/* Takes a pooled connection, or sets up a new one (and, for a host name, its connect frame
 * priv.dial). Returns 0 when priv.conn is ready to use, 1 when it still has to be connected, or
 * an error. */
static int exchange_acquire(weft_http_exchange *ex, weft_cx *cx)
{
    weft_http_client *c = ex->client;
    ex->reused = false;
    if (!ex->priv.fresh) {
        ex->priv.conn = weft__http_pool_take(c, ex->priv.target, weft_cx_now(cx));
        if (ex->priv.conn) {
            ex->reused = true;
            c->reuses++;
            return 0;
        }
    }
    ex->priv.fresh = false;
    ex->priv.conn = weft__http_conn_new(c, ex->priv.target);
    if (!ex->priv.conn) return -ENOMEM;
    if (ex->priv.conn->host->numeric) return 1;
    ex->priv.dial = malloc(sizeof *ex->priv.dial);
    if (!ex->priv.dial) return -ENOMEM; /* the unconnected conn is released by close */
    weft__http_hostport(ex->priv.target, ex->priv.dial->hostport, sizeof ex->priv.dial->hostport);
    return 1;
}

/* Opens priv.conn's socket: to its host's address, or by name through priv.dial (freed once the
 * connect has ended). A child coroutine (its frame is priv.connect or priv.dial->op); 0 or an
 * error. */
static int exchange_connect(weft_http_exchange *ex, weft_cx *cx)
{
    struct weft__http_conn *conn = ex->priv.conn;
    if (!ex->priv.dial)
        return weft_tcp_connect_dl(&ex->priv.connect, &conn->stream, &conn->host->addr,
                                   ex->priv.deadline, cx);
    int r = weft_tcp_connect_host_dl(&ex->priv.dial->op, &conn->stream, ex->priv.dial->hostport,
                                     ex->priv.deadline, cx);
    if (r != WEFT_PENDING) exchange_dial_end(ex);
    return r;
}

/*
 * Serialises the request into the connection's buffer, which is empty between responses. A
 * body that does not fit with the head is sent after it, straight from the caller's memory.
 */
static inline int request_build(weft_http_exchange *ex)
{
    struct weft__http_conn *conn = ex->priv.conn;
    bool with_body = ex->priv.method == ex->method; /* a redirect to GET drops the body */
    weft_http_request req = {
        .method = ex->priv.method,
        .url = ex->priv.target,
        .headers = ex->headers,
        .nheaders = ex->nheaders,
        .body = with_body ? ex->body : NULL,
        .body_len = with_body ? ex->body_len : 0,
    };
    struct weft__http_line_cache *line =
        &conn->host->line; /* the URL checked once, not per request */
    int n = weft__http_request_write_cached(&req, line, conn->buf, conn->cap, true);
    ex->priv.body_apart = false;
    if (n == -ENOBUFS && req.body_len > 0) {
        n = weft__http_request_write_cached(&req, line, conn->buf, conn->cap, false);
        ex->priv.body_apart = true;
    }
    if (n == -ENOBUFS) return WEFT_EHTTP_TOOBIG; /* the head alone is over buffer_size */
    if (n < 0) return n;
    ex->priv.head_len = (size_t)n;
    ex->priv.sent = 0;
    return 0;
}

/*
 * Sends the request: the head from the connection's buffer, then a body that did not fit with it
 * from the caller's memory. A leaf operation (0 once all is sent, WEFT_PENDING, or an error),
 * not a write_all child: the head almost always goes in one send, and a child's frame and calls
 * cost more than that send's own bookkeeping. Bounded: each pass sends bytes or returns.
 */
static int request_send(weft_http_exchange *ex, weft_cx *cx)
{
    struct weft__http_conn *conn = ex->priv.conn;
    size_t body_len = ex->priv.body_apart ? ex->body_len : 0;
    for (;;) {
        size_t sent = ex->priv.sent, head_len = ex->priv.head_len;
        int r;
        if (sent < head_len)
            r = weft_tcp_write_dl(&conn->stream, conn->buf + sent, head_len - sent,
                                  ex->priv.deadline, cx);
        else if (sent - head_len < body_len)
            r = weft_tcp_write_dl(&conn->stream, (const char *)ex->body + (sent - head_len),
                                  body_len - (sent - head_len), ex->priv.deadline, cx);
        else
            return 0;
        if (r < 0) return r; /* WEFT_PENDING too */
        ex->priv.sent += (size_t)r;
    }
}

/* The request is out: prepare the parser for its response, in the same buffer. */
static void response_begin(weft_http_exchange *ex)
{
    struct weft__http_conn *conn = ex->priv.conn;
    weft_http_client_config *cfg = &ex->client->cfg;
    weft_http_parser_config pc = {
        .head_buf = conn->head,
        .head_size = cfg->head_size,
        .headers = conn->fields,
        .max_headers = cfg->max_headers,
        .max_body = ex->max_body,
    };
    weft_http_parser_init_response(&conn->parser, ex->priv.method, &pc);
    conn->off = conn->len = 0;
}

/* The connection is open: serialise the request into its buffer; sending is next. */
static int attempt_request(weft_http_exchange *ex, weft_cx *cx)
{
    ex->timing.connected = weft_cx_now(cx);
    ex->priv.phase = PHASE_SEND;
    return request_build(ex);
}

/*
 * Starts an attempt: takes a pooled connection (and builds the request), or sets up a new one to
 * be connected. Returns 0 (await exchange_attempt next) or an error. Leaves priv.conn set either
 * way, except when no connection could be set up.
 */
static int attempt_begin(weft_http_exchange *ex, weft_cx *cx)
{
    ex->priv.got_byte = false;
    int r = exchange_acquire(ex, cx);
    if (r < 0) return r;
    if (r == 0) return attempt_request(ex, cx);
    weft_co_init(ex->priv.dial ? &ex->priv.dial->op.co : &ex->priv.connect.co);
    ex->priv.phase = PHASE_CONNECT;
    return 0;
}

/*
 * The rest of an attempt, as a leaf operation over priv.phase — connect, send the request, read
 * up to the response head — rather than a child coroutine: a pooled connection goes through it
 * with no frame of its own to enter and leave on each of its two polls (the second, when the
 * response has come, runs it from the head read on). Returns the status of the response head,
 * WEFT_PENDING, or an error. Leaves priv.conn set either way.
 */
static int exchange_attempt(weft_http_exchange *ex, weft_cx *cx)
{
    int r;
    if (ex->priv.phase == PHASE_CONNECT) {
        r = exchange_connect(ex, cx); /* a child coroutine: priv.dial->op or priv.connect */
        if (r != 0) return r;         /* WEFT_PENDING too */
        ex->client->connects++;
        /* Requests are one write: none should wait for an ACK. */
        (void)weft_tcp_set_nodelay(cx->rt, &ex->priv.conn->stream, true);
        r = attempt_request(ex, cx);
        if (r < 0) return r;
    }
    if (ex->priv.phase == PHASE_SEND) {
        r = request_send(ex, cx);
        if (r != 0) return r;
        ex->timing.sent = weft_cx_now(cx);
        response_begin(ex);
        ex->priv.phase = PHASE_HEAD;
    }
    weft_http_event ev;
    r = exchange_next_event(ex, &ev, cx);
    if (r != 0) return r;
    ex->timing.head = weft_cx_now(cx);
    return ex->priv.conn->parser.status;
}

/* ---------------------------------------------------------------------------------------------
 * Between attempts: retries and redirects
 * ------------------------------------------------------------------------------------------- */

static void exchange_retry(weft_http_exchange *ex)
{
    exchange_release(ex, false, 0);
    ex->priv.retried = true;
    ex->priv.fresh = true;
    ex->client->retries++;
}

static bool wants_redirect(const weft_http_exchange *ex, int status)
{
    return ex->max_redirects > 0 && weft__http_is_redirect(status) &&
           weft_http_parser_header(&ex->priv.conn->parser, "location") != NULL;
}

/* Points the exchange at the redirect's Location: the next attempt's URL and method. */
static int redirect_prepare(weft_http_exchange *ex, int status)
{
    if (ex->redirects >= ex->max_redirects) return WEFT_EHTTP_REDIRECTS;
    const weft_http_header *loc = weft_http_parser_header(&ex->priv.conn->parser, "location");
    char url[WEFT__HTTP_REDIRECT_URL_MAX]; /* the old target may point into redirect_url */
    int n = weft__http_redirect_url(ex->priv.target, loc->value, loc->value_len, url, sizeof url);
    if (n < 0) return n;
    if (!ex->priv.redirect_url) ex->priv.redirect_url = malloc(WEFT__HTTP_REDIRECT_URL_MAX);
    if (!ex->priv.redirect_url) return -ENOMEM;
    memcpy(ex->priv.redirect_url, url, (size_t)n + 1);
    ex->effective_url = ex->priv.redirect_url;
    ex->priv.target = &ex->priv.parsed;
    int r = weft_url_parse(&ex->priv.parsed, ex->priv.redirect_url, (size_t)n);
    if (r < 0) return r;
    ex->priv.method = weft__http_redirect_method(status, ex->priv.method);
    return 0;
}

/* Reads and drops a redirect's body. Returns 0 when it was read to the end, 1 when it is too
 * long to bother, WEFT_PENDING, or an error. */
static int exchange_drain(weft_http_exchange *ex, weft_cx *cx)
{
    for (;;) {
        if (ex->priv.conn->parser.body_received > DRAIN_MAX) return 1;
        weft_http_event ev;
        int r = exchange_next_event(ex, &ev, cx);
        if (r != 0) return r;
        if (ev.type == WEFT_HTTP_EV_DONE) return 0;
    }
}

/* The redirect's response is over: its connection goes back (if drained) or is closed. */
static void redirect_finish(weft_http_exchange *ex, bool drained, int64_t now)
{
    struct weft__http_conn *conn = ex->priv.conn;
    if (drained) conn->responses++;
    exchange_release(ex, drained && conn_reusable(ex, conn), now);
    ex->redirects++;
    ex->priv.retried = false; /* each hop may retry once */
}

/* ---------------------------------------------------------------------------------------------
 * The public coroutine and operations
 * ------------------------------------------------------------------------------------------- */

/* Checks the request and sets the deadline. */
static int exchange_begin(weft_http_exchange *ex, weft_cx *cx)
{
    ex->priv.state = ST_HEAD;
    ex->timing.start = weft_cx_now(cx);
    ex->priv.deadline = ex->deadline;
    if (ex->timeout > 0) {
        int64_t d = add_saturating(ex->timing.start, ex->timeout);
        if (d < ex->priv.deadline) ex->priv.deadline = d;
    }
    ex->priv.method = ex->method;
    if (!ex->client || (!ex->url && !ex->target) || ex->method == WEFT_HTTP_OTHER) return -EINVAL;
    if (ex->target) {
        ex->priv.target = ex->target; /* parsed once by the caller, for many requests: no copy */
        return 0;
    }
    ex->priv.target = &ex->priv.parsed;
    return weft_url_parse(&ex->priv.parsed, ex->url, strlen(ex->url));
}

/* The final head is in: hand it to the caller. */
static int exchange_head_ready(weft_http_exchange *ex)
{
    ex->priv.state = ST_BODY;
    ex->response = &ex->priv.conn->parser;
    ex->status = ex->response->status;
    return ex->status;
}

int weft_http_exchange_start(weft_http_exchange *ex, weft_cx *cx)
{
    int r;
    WEFT_BEGIN(&ex->co);
    if (ex->priv.state != ST_NEW) WEFT_RETURN(&ex->co, -EINVAL);
    r = exchange_begin(ex, cx);
    if (r < 0) WEFT_RETURN(&ex->co, exchange_fail(ex, r, cx));
    for (;;) { /* bounded: one retry per hop, max_redirects hops */
        r = attempt_begin(ex, cx);
        if (r == 0) WEFT_AWAIT(&ex->co, r = exchange_attempt(ex, cx));
        if (r < 0 && may_retry(ex, r)) {
            exchange_retry(ex);
            continue;
        }
        if (r < 0) WEFT_RETURN(&ex->co, exchange_fail(ex, r, cx));
        if (!wants_redirect(ex, r)) break;
        r = redirect_prepare(ex, r);
        if (r < 0) WEFT_RETURN(&ex->co, exchange_fail(ex, r, cx));
        WEFT_AWAIT(&ex->co, r = exchange_drain(ex, cx));
        if (r == -ETIMEDOUT) WEFT_RETURN(&ex->co, exchange_fail(ex, r, cx));
        redirect_finish(ex, r == 0, weft_cx_now(cx)); /* other drain errors: just close it */
    }
    WEFT_RETURN(&ex->co, exchange_head_ready(ex));
    WEFT_ON_CANCEL(&ex->co);
    /* Closing the socket abandons a connect in progress; a name being resolved is simply no
     * longer waited for (the blocking pool owns the lookup: weft/tcp.h). */
    ex->error = -ECANCELED;
    ex->priv.state = ST_FAILED;
    exchange_release(ex, false, 0);
    exchange_dial_end(ex);
    WEFT_END(&ex->co, ex->status);
}

/* The response was read to the end. */
static void exchange_done(weft_http_exchange *ex, weft_cx *cx)
{
    ex->priv.state = ST_DONE;
    ex->priv.conn->responses++;
    ex->data = NULL;
    ex->data_len = 0;
    ex->timing.done = weft_cx_now(cx);
}

int weft_http_exchange_read(weft_http_exchange *ex, weft_cx *cx)
{
    if (ex->priv.state == ST_DONE) return 0;
    if (ex->priv.state == ST_FAILED) return ex->error;
    if (ex->priv.state != ST_BODY) return -EINVAL;
    weft_http_event ev;
    int r = exchange_next_event(ex, &ev, cx);
    if (r == WEFT_PENDING) return r;
    if (r < 0) return exchange_fail(ex, r, cx);
    if (ev.type == WEFT_HTTP_EV_BODY) {
        ex->data = ev.data;
        ex->data_len = ev.len;
        ex->body_received += ev.len;
        return (int)ev.len; /* at most the buffer's size, which fits an int */
    }
    exchange_done(ex, cx); /* the DONE event: HEAD came before start returned */
    return 0;
}

int weft_http_exchange_read_all(weft_http_exchange *ex, void *buf, size_t size, weft_cx *cx)
{
    if (size > INT_MAX) size = INT_MAX;
    const weft_http_parser *p = ex->response;
    if (ex->priv.state == ST_BODY && p->body_kind == WEFT_HTTP_BODY_LENGTH &&
        p->content_length > size)
        return exchange_fail(ex, WEFT_EHTTP_BODY_TOOBIG, cx);
    for (;;) { /* bounded: each read consumes input or spends budget */
        uint64_t at = ex->body_received;
        int r = weft_http_exchange_read(ex, cx);
        if (r == 0) return (int)ex->body_received;
        if (r < 0) return r; /* WEFT_PENDING too */
        if (ex->body_received > size) return exchange_fail(ex, WEFT_EHTTP_BODY_TOOBIG, cx);
        memcpy((char *)buf + at, ex->data, (size_t)r);
        /* The body's last bytes: DONE is all the parser has left to say (asking it is a feed and
         * a read for nothing), so the exchange ends here as the DONE event would end it. */
        if (weft__http_parser_complete(ex->response)) {
            exchange_done(ex, cx);
            return (int)ex->body_received;
        }
    }
}

const weft_http_header *weft_http_exchange_header(const weft_http_exchange *ex, const char *name)
{
    return ex->response ? weft_http_parser_header(ex->response, name) : NULL;
}

void weft_http_exchange_close(weft_http_exchange *ex)
{
    struct weft__http_conn *conn = ex->priv.conn;
    if (conn) {
        exchange_release(ex, ex->priv.state == ST_DONE && conn_reusable(ex, conn), ex->timing.done);
    }
    /* Both are NULL after almost every exchange: no call to free for nothing. */
    if (ex->priv.dial) exchange_dial_end(ex); /* start abandoned mid-connect without a cancel */
    if (ex->priv.redirect_url) {
        free(ex->priv.redirect_url);
        ex->priv.redirect_url = NULL;
    }
    ex->effective_url = ex->url;
    ex->response = NULL;
    ex->data = NULL;
    ex->data_len = 0;
}
