/*
 * weft_server: the HTTP server benchmark (workloads 1 and 3) written on weft.
 *
 *   weft_server [--port P]        P = 0 (default) picks a free port
 *
 * Listens on 127.0.0.1, prints `listening on 127.0.0.1:PORT`, and answers every GET request on
 * every keep-alive connection with bench_response (13-byte body), pipelined requests in order.
 * Exits with status 0 on SIGINT or SIGTERM, printing a summary to stderr.
 *
 * It is written the way a weft program is meant to be written — one task per connection, a
 * coroutine that reads, parses with weft's own request parser (weft/http.h) and writes — and it
 * makes the choices epoll_server makes, so that the comparison is between runtimes, not designs:
 *
 * - One read buffer for the whole server. A connection's coroutine parses what it read in the
 *   same poll as the read, before it can suspend again, so no other connection can overwrite
 *   the buffer in between. The parser's head buffer and header array are shared the same way.
 * - A request split across reads is rare (never under wrk); its first part is copied out into a
 *   block allocated for that connection only until the rest arrives. An idle connection owns no
 *   buffer at all: its frame is 24 bytes, taken from a pool that grows in chunks as connections
 *   arrive (workload 3 reads that growth), plus the runtime's task and socket records.
 * - Responses are written out of one shared block holding the response many times over; a
 *   connection remembers only how many of them it still owes. While it owes
 *   responses it does not read, so a client that never reads cannot make it buffer.
 * - Sockets get TCP_NODELAY, as in epoll_server. The rest — one epoll registration per socket
 *   for its whole life, a short read taken as "drained", no EPOLLOUT unless a write came up
 *   short — is what weft's TCP layer does on its own.
 */
#define _GNU_SOURCE
#include "bench_common.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "weft/http.h"
#include "weft/runtime.h"
#include "weft/tcp.h"

enum {
    IN_SIZE = 65536,  /* the shared read buffer */
    HEAD_MAX = 8192,  /* the longest request head, and the most a split request may buffer */
    MAX_HEADERS = 32, /* header fields per request */
    OUT_COPIES = 256, /* copies of the response in the shared output block */
    POOL_CHUNK = 256, /* frames allocated at a time */
};

/* ---- shared state: one of each for the whole server -------------------------------------- */

static char in_buf[IN_SIZE];
static char head_buf[HEAD_MAX];
static weft_http_header headers[MAX_HEADERS];
static weft_http_parser parser;
static char *out_block; /* OUT_COPIES back-to-back copies of bench_response */
static long live_conns, served, parse_errors;

/* ---- a connection ------------------------------------------------------------------------- */

/*
 * A connection's frame: everything it keeps while idle. 24 bytes. The responses it owes are a
 * count: every response is the same, so what is still to write is `owed` copies of it, less the
 * first `part` bytes of the first one if a short write stopped inside it.
 */
struct conn {
    weft_co co;        /* the coroutine's resume point */
    weft_tcp_stream s; /* the socket */
    uint16_t owed;     /* responses not yet written in full */
    uint8_t part;      /* bytes of the first of them already written (main checks it fits) */
    bool split;        /* the first part of a split request is in held[s.io.slot] */
};

_Static_assert(sizeof(struct conn) == 24, "a connection's frame is 24 bytes");

/*
 * Frames come from a pool of chunks. A free frame is linked through its stream field, so that
 * writing the finished coroutine's resume point (offset 0) never clobbers the link.
 */
struct pool {
    struct conn **chunks;
    size_t nchunks;
    struct conn *free_list;
};

static struct pool pool;

static struct conn **free_link(struct conn *c)
{
    return (struct conn **)(void *)&c->s;
}

static struct conn *pool_get(void)
{
    if (pool.free_list == NULL) {
        struct conn **chunks = realloc(pool.chunks, (pool.nchunks + 1) * sizeof *chunks);
        struct conn *chunk = calloc(POOL_CHUNK, sizeof *chunk);
        if (chunks != NULL) pool.chunks = chunks;
        if (chunks == NULL || chunk == NULL) {
            free(chunk);
            return NULL;
        }
        pool.chunks[pool.nchunks++] = chunk;
        for (size_t i = POOL_CHUNK; i-- > 0;) {
            *free_link(&chunk[i]) = pool.free_list;
            pool.free_list = &chunk[i];
        }
    }
    struct conn *c = pool.free_list;
    pool.free_list = *free_link(c);
    memset(c, 0, sizeof *c);
    return c;
}

static void pool_put(struct conn *c)
{
    *free_link(c) = pool.free_list;
    pool.free_list = c;
}

/*
 * The first part of a request split across reads, kept until the rest arrives. Indexed by the
 * socket's slot in the runtime's I/O table, which no other open connection shares; the index
 * grows only when a connection with that slot splits a request, so connections that never do
 * cost nothing here.
 */
struct held {
    size_t len;
    char data[HEAD_MAX];
};

static struct held **held;
static uint32_t held_cap;

static struct held *held_of(const struct conn *c)
{
    return c->split ? held[c->s.io.slot] : NULL;
}

/* Keeps data[0 .. len) for c until its next read. Returns 0, or -1 (no memory, too long). */
static int hold(struct conn *c, const char *data, size_t len)
{
    uint32_t slot = c->s.io.slot;
    if (len > HEAD_MAX || slot >= UINT32_MAX / 2) return -1; /* the doubling below ends */
    if (slot >= held_cap) {
        uint32_t cap = held_cap ? held_cap : 64;
        while (cap <= slot)
            cap *= 2;
        struct held **grown = realloc(held, cap * sizeof *grown);
        if (grown == NULL) return -1;
        memset(grown + held_cap, 0, (cap - held_cap) * sizeof *grown);
        held = grown;
        held_cap = cap;
    }
    if (!c->split && (held[slot] = malloc(sizeof *held[slot])) == NULL) return -1;
    c->split = true;
    memmove(held[slot]->data, data, len);
    held[slot]->len = len;
    return 0;
}

static void hold_drop(struct conn *c)
{
    if (!c->split) return;
    free(held[c->s.io.slot]);
    held[c->s.io.slot] = NULL;
    c->split = false;
}

/*
 * Parses the requests in in_buf[0 .. len) with the shared parser: owes a response for each
 * complete GET and keeps an incomplete last request for the next read. Returns 0, or -1 if the
 * bytes are not a sequence of GET requests (the connection is then closed). At most
 * IN_SIZE / 18 requests fit in one read ("GET / HTTP/1.0\r\n\r\n" is the shortest), and a
 * connection does not read while it owes responses, so owed cannot overflow.
 */
static int take_requests(struct conn *c, size_t len)
{
    size_t off = 0;
    while (off < len) {
        size_t start = off;
        weft_http_event ev;
        weft_http_parser_reset(&parser, WEFT_HTTP_OTHER);
        do {
            ssize_t n = weft_http_parser_feed(&parser, in_buf + off, len - off, &ev);
            if (n < 0) return -1;
            off += (size_t)n;
            /* A request without a body is complete at its head: no feed for the DONE. */
            if (ev.type == WEFT_HTTP_EV_HEAD && parser.body_kind == WEFT_HTTP_BODY_NONE) break;
        } while (ev.type != WEFT_HTTP_EV_DONE && ev.type != WEFT_HTTP_EV_NEED_MORE);
        if (ev.type == WEFT_HTTP_EV_NEED_MORE) return hold(c, in_buf + start, len - start);
        if (parser.method != WEFT_HTTP_GET) return -1;
        c->owed = (uint16_t)(c->owed + 1);
    }
    hold_drop(c);
    return 0;
}

/* How many of the owed bytes one write may take: they start at out_block + c->part. */
static size_t out_len(const struct conn *c)
{
    size_t copies = c->owed < OUT_COPIES ? c->owed : OUT_COPIES;
    return copies * bench_response_len - c->part;
}

/* Accounts for n bytes written by a write of out_len(c) bytes. A whole write, the usual case,
 * needs no division. */
static void wrote(struct conn *c, size_t n)
{
    size_t done, total = c->part + n;
    if (n == out_len(c)) {
        done = c->owed < OUT_COPIES ? c->owed : OUT_COPIES;
        c->part = 0;
    } else {
        done = total / bench_response_len;
        c->part = (uint8_t)(total % bench_response_len);
    }
    c->owed = (uint16_t)(c->owed - done);
    served += (long)done;
}

/*
 * Reads into the shared buffer, behind the first part of a split request if one is held.
 * A leaf operation: it keeps no state between polls.
 */
static int conn_read(struct conn *c, weft_cx *cx)
{
    const struct held *h = held_of(c);
    size_t kept = h ? h->len : 0;
    int n = weft_tcp_read(&c->s, in_buf + kept, sizeof in_buf - kept, cx);
    if (n > 0 && kept > 0) memcpy(in_buf, h->data, kept);
    return n > 0 ? (int)kept + n : n;
}

/*
 * One connection: read, parse, answer, until the peer closes or misbehaves. The local `n` crosses
 * no suspension: each value is used in the poll that produced it.
 */
static int conn_body(struct conn *c, weft_cx *cx)
{
    int n;
    WEFT_BEGIN(&c->co);
    for (;;) {
        WEFT_AWAIT(&c->co, n = conn_read(c, cx));
        if (n <= 0) break; /* 0: the peer closed; < 0: an error */
        if (take_requests(c, (size_t)n) != 0) {
            parse_errors++;
            break;
        }
        while (c->owed > 0) {
            WEFT_AWAIT(&c->co, n = weft_tcp_write(&c->s, out_block + c->part, out_len(c), cx));
            if (n < 0) break;
            wrote(c, (size_t)n);
        }
        if (c->owed > 0) break; /* the write failed */
    }
    hold_drop(c);
    weft_tcp_close(cx->rt, &c->s);
    WEFT_ON_CANCEL(&c->co);
    hold_drop(c);
    weft_tcp_close(cx->rt, &c->s);
    WEFT_END(&c->co, 0);
}

/* The task: the connection's coroutine, and its frame back to the pool once it has finished. */
static int conn_task(void *frame, weft_cx *cx)
{
    struct conn *c = frame;
    int r = conn_body(c, cx);
    if (r != WEFT_PENDING) {
        live_conns--;
        pool_put(c);
    }
    return r;
}

/* ---- accepting ---------------------------------------------------------------------------- */

struct acceptor {
    weft_co co;
    weft_tcp_listener *l;
    struct conn *next; /* the frame the next connection is accepted into */
    int r;
};

static int acceptor(void *frame, weft_cx *cx)
{
    struct acceptor *f = frame;
    WEFT_BEGIN(&f->co);
    for (;;) {
        if (f->next == NULL && (f->next = pool_get()) == NULL) {
            fprintf(stderr, "weft_server: out of memory for a connection\n");
            WEFT_RETURN(&f->co, -ENOMEM);
        }
        WEFT_AWAIT(&f->co, f->r = weft_tcp_accept(f->l, &f->next->s, NULL, cx));
        if (f->r == WEFT_ECLOSED) break;
        if (f->r < 0) continue; /* reset before it was accepted, and the like */
        (void)weft_tcp_set_nodelay(cx->rt, &f->next->s, true);
        if (weft_task_spawn(cx->rt, conn_task, f->next, NULL) != 0) {
            weft_tcp_close(cx->rt, &f->next->s);
            continue;
        }
        live_conns++;
        f->next = NULL;
    }
    WEFT_END(&f->co, 0);
}

/* ---- stopping on SIGINT / SIGTERM ------------------------------------------------------------ */

/* A leaf operation: wait until the signalfd has a signal to read, and read it. */
static int signal_read(weft_io *io, weft_cx *cx)
{
    int r = weft_io_ready(io, WEFT_IO_READ, WEFT_NO_DEADLINE, cx);
    if (r != 0) return r;
    struct signalfd_siginfo si;
    for (;;) {
        ssize_t n = read(weft_io_fd(io), &si, sizeof si);
        if (n == (ssize_t)sizeof si) return (int)si.ssi_signo;
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && errno == EAGAIN) return weft_io_wait(io, WEFT_IO_READ, WEFT_NO_DEADLINE, cx);
        return n < 0 ? -errno : -EIO;
    }
}

struct stopper {
    weft_co co;
    weft_io sig;
    int r;
};

static int stopper(void *frame, weft_cx *cx)
{
    struct stopper *f = frame;
    WEFT_BEGIN(&f->co);
    WEFT_AWAIT(&f->co, f->r = signal_read(&f->sig, cx));
    weft_runtime_stop(cx->rt);
    WEFT_END(&f->co, 0);
}

/* ---- main --------------------------------------------------------------------------------- */

static int listen_on(weft_runtime *rt, weft_tcp_listener *l, long port)
{
    char text[32];
    weft_addr addr;
    snprintf(text, sizeof text, "127.0.0.1:%ld", port);
    int r = weft_addr_parse(&addr, text);
    if (r == 0) r = weft_tcp_listen(rt, l, &addr, SOMAXCONN);
    if (r == 0) r = weft_tcp_listener_addr(rt, l, &addr);
    if (r == 0) r = weft_addr_format(&addr, text, sizeof text);
    if (r < 0) {
        fprintf(stderr, "weft_server: listen: %s\n", weft_strerror(r));
        return r;
    }
    printf("listening on %s\n", text);
    fflush(stdout);
    return 0;
}

int main(int argc, char **argv)
{
    long port = bench_server_setup(argc, argv);
    out_block = bench_response_block(OUT_COPIES);
    if (bench_response_len > UINT8_MAX)
        return fprintf(stderr, "weft_server: response too long\n"), 1;
    weft_http_parser_config cfg = {head_buf, sizeof head_buf, headers, MAX_HEADERS, 0};
    weft_http_parser_init_request(&parser, &cfg);

    static weft_runtime rt;
    static weft_tcp_listener listener;
    static struct acceptor acc;
    static struct stopper stop;
    int r = weft_runtime_init(&rt);
    if (r < 0) return fprintf(stderr, "weft_server: %s\n", weft_strerror(r)), 1;
    int sfd = bench_signalfd();
    if ((r = weft_io_open(&rt, &stop.sig, sfd)) < 0) {
        fprintf(stderr, "weft_server: signalfd: %s\n", weft_strerror(r));
        return 1;
    }
    if (listen_on(&rt, &listener, port) != 0) return 1;
    acc.l = &listener;
    if (weft_task_spawn(&rt, acceptor, &acc, NULL) != 0 ||
        weft_task_spawn(&rt, stopper, &stop, NULL) != 0) {
        fprintf(stderr, "weft_server: cannot spawn\n");
        return 1;
    }
    r = weft_runtime_run(&rt);
    if (r < 0) fprintf(stderr, "weft_server: run: %s\n", weft_strerror(r));
    fprintf(stderr, "weft_server: %ld responses, %ld connections open at exit, %ld bad requests\n",
            served, live_conns, parse_errors);
    /* Closing cancels the connections still open (each closes its socket) and the acceptor. */
    weft_tcp_listener_close(&rt, &listener);
    (void)weft_runtime_close(&rt);
    return r < 0 ? 1 : 0;
}
