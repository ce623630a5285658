/*
 * delayserver.h — the delay server as a module: start it inside any weft runtime.
 *
 * The delay server answers
 *
 *     GET /{delay_ms}/{message}
 *
 * with `200 OK`, `Content-Type: text/plain; charset=utf-8`, and the URL-decoded message as the
 * body — after waiting delay_ms milliseconds. It is the server of "Asynchronous Programming in
 * Rust", chapter 4, that the book's example programs (and weft's) talk to. The program
 * weft-delayserver (main.c next to this file) is a thin wrapper around this module; weft-fetch
 * --demo embeds the same server in its own runtime on a free port.
 *
 *     weft_delayserver_config cfg;
 *     weft_delayserver_config_init(&cfg);
 *     cfg.port = 0;                                  // any free port
 *     weft_delayserver srv;
 *     int r = weft_delayserver_start(&rt, &cfg, &srv);   // listening when it returns
 *     weft_addr a;  weft_delayserver_addr(&srv, &a);     // which port it got
 *     ... run the runtime; later, from a task or from outside:
 *     weft_delayserver_shutdown(&srv, weft_deadline_in(WEFT_SEC(2)));
 *     ... await weft_delayserver_wait(&srv, cx), or run the runtime until it returns ...
 *     weft_delayserver_close(&srv);
 *
 * HOW IT RUNS. One task accepts connections; every connection is one more task whose frame is
 * a few hundred bytes (weft_delayserver_stats.frame_bytes): a delayed request is a task asleep
 * on its timer, not a thread. While a request head is being read the connection also borrows a
 * parse buffer (stats.scratch_bytes, about 10 KiB) from a pool and returns it as soon as the
 * head is parsed, so thousands of requests waiting out their delays hold no parse buffers.
 * Measured: 10 000 connections each waiting out a 2 s delay take about 8 MB of the process's
 * memory all told (frames, responses, the runtime's task and fd records).
 *
 * THE PROTOCOL, decided here once:
 *   - Paths: /{delay}/{message}. delay is decimal digits, 0 ..cfg.max_delay_ms (default 60000);
 *     message is everything after the second '/' up to '?' (a query is ignored), percent-decoded
 *     ('+' stays '+'); it may be empty and may contain further '/'. An absolute-form target
 *     (http://host/5/x) is accepted too. The delay waited is delay * cfg.delay_scale.
 *   - Methods: GET, and HEAD (the same response without its body). Any other method: 405 with
 *     `Allow: GET, HEAD`.
 *   - Errors close the connection after the response (`Connection: close`):
 *       400 malformed request, bad path, bad or too large delay, bad %-escape;
 *       405 a method other than GET or HEAD;
 *       408 the head did not arrive within cfg.header_timeout (a slow client);
 *       413 the request has a body (a delay server has no use for one; Content-Length: 0 is
 *           fine);
 *       431 the head is over WEFT_DELAYSERVER_HEAD_MAX bytes or has over
 *           WEFT_DELAYSERVER_MAX_FIELDS header fields;
 *       501 a transfer coding or HTTP version weft does not speak;
 *       503 out of memory for this request.
 *     Before closing after an error the server shuts its sending side and reads (and discards)
 *     what the client still sends for a moment, so the error response is not lost to a reset.
 *   - Keep-alive: HTTP/1.1 connections stay open unless the request says `Connection: close`;
 *     HTTP/1.0 ones close unless it says `Connection: keep-alive`. Pipelined requests are
 *     answered one after another, in order: a connection is one task, and it reads its next
 *     request only after it wrote the previous response.
 *   - Deadlines: the head of a request must be complete cfg.header_timeout after its first byte
 *     arrived (for a new connection: after it was accepted). A keep-alive connection with no
 *     request in progress is closed after cfg.idle_timeout. A response that cannot be written
 *     within cfg.idle_timeout (a client that stopped reading) drops the connection.
 *   - Connections: at most cfg.max_connections at once; beyond that the server stops accepting
 *     and new clients wait in the kernel's backlog. Running out of fds is handled by weft_tcp's
 *     accept backoff.
 *   - Every valid request prints `#{n} - {delay}ms: {message}` to cfg.log (control characters in
 *     the message escaped as \xNN) when it arrives, before its delay.
 *
 * GRACEFUL SHUTDOWN (weft_delayserver_shutdown): the listening socket is closed at once;
 * connections that are not in the middle of a response (idle keep-alive, a head still arriving)
 * are closed at once; responses already being delayed or written are finished, with
 * `Connection: close`, until the grace deadline; whatever is left then is cut off. The accept
 * task then finishes and weft_delayserver_wait returns.
 *
 * OWNERSHIP. The caller allocates the weft_delayserver (it is the accept task's frame, so it
 * must stay put, and alive, until the server finished or the runtime was closed) and releases
 * it with weft_delayserver_close. Connection frames and parse buffers are allocated by the
 * server, pooled, and freed by weft_delayserver_close.
 *
 * THREADS. Like the runtime: one thread. Call these functions from the runtime's thread, from
 * inside a task or from outside one (but not from inside the server's own tasks).
 */
#ifndef WEFT_DELAYSERVER_H
#define WEFT_DELAYSERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include "weft/addr.h"
#include "weft/runtime.h"
#include "weft/tcp.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The largest request head (request line + header fields, CRLFs included) accepted: 431 above. */
#define WEFT_DELAYSERVER_HEAD_MAX 8192

/* The most header fields a request may have: 431 above. */
#define WEFT_DELAYSERVER_MAX_FIELDS 64

/* The default upper bound on a requested delay, in ms: 400 above (cfg.max_delay_ms). */
#define WEFT_DELAYSERVER_MAX_DELAY_MS 60000

/*
 * weft_delayserver_config - what weft_delayserver_start needs. Fill it with
 * weft_delayserver_config_init, then change what you want. Copied by start.
 */
typedef struct weft_delayserver_config {
    const char *host;       /* numeric IPv4/IPv6 address to listen on; "127.0.0.1" */
    uint16_t port;          /* the port; 0 picks a free one; 8080 */
    double delay_scale;     /* every delay is multiplied by this (>= 0, finite); 1.0 */
    uint32_t max_delay_ms;  /* larger requested delays get 400; 60000 */
    int64_t header_timeout; /* ns a request head may take to arrive; 10 s */
    int64_t idle_timeout;   /* ns an idle keep-alive connection (or a stuck write) lasts; 30 s */
    size_t max_connections; /* connections served at once (>= 1); 10000 */
    FILE *log;              /* where the per-request lines go; NULL: nowhere; stdout */
} weft_delayserver_config;

/* weft_delayserver_config_init - fill cfg with the defaults listed above. Never fails. */
void weft_delayserver_config_init(weft_delayserver_config *cfg);

struct weft__ds_conn;    /* one connection's frame (private to delayserver.c) */
struct weft__ds_scratch; /* one head-parsing buffer (private) */

/*
 * weft_delayserver - one running server. Caller-allocated; all fields are private. The first
 * member makes the struct itself the accept task's frame.
 */
typedef struct weft_delayserver {
    weft_co co;                  /* the accept task's resume point */
    weft_runtime *rt;            /* the runtime the server's tasks run in */
    weft_delayserver_config cfg; /* a copy of the configuration */
    weft_tcp_listener listener;  /* the listening socket; closed by shutdown */
    weft_tcp_stream incoming;    /* the connection being accepted */
    weft_task task;              /* the accept task */
    weft_waker waiter;           /* the task awaiting weft_delayserver_wait, if any */
    int64_t grace_deadline;      /* after shutdown: when the last responses are cut off */
    int64_t retry_at;            /* after an unexpected accept error: when to try again */
    struct weft__ds_conn *conns; /* live connections (a doubly linked list) */
    struct weft__ds_conn *spare; /* finished connection frames, kept for reuse */
    struct weft__ds_scratch *spare_scratch; /* parse buffers not in use */
    size_t nconns;                          /* live connections */
    size_t nspare;                          /* frames in spare */
    size_t nspare_scratch;                  /* buffers in spare_scratch */
    int accept_result;                      /* the accept task's last accept result */
    bool stopping;                          /* shutdown was called */
    bool finished;                          /* the accept task finished: everything is closed */
    time_t date_second;                     /* the second date_text was formatted for */
    char date_text[32];                     /* "Date:" value, reformatted once a second */
    struct {
        uint64_t connections;   /* accepted */
        uint64_t requests;      /* valid requests received (the #n of the log) */
        uint64_t responses;     /* 200 responses written in full */
        uint64_t errors;        /* error responses (4xx/5xx) sent */
        uint64_t timeouts;      /* connections dropped by a header, idle or write deadline */
        uint64_t io_errors;     /* connections that failed with an I/O error (a reset, say) */
        uint64_t accept_errors; /* accept failures other than the listener being closed */
    } counts;
} weft_delayserver;

/*
 * weft_delayserver_start - listen and spawn the accept task into rt.
 *
 * rt: an initialised runtime; the server runs while the caller runs it.
 * cfg: the configuration (copied; cfg->log must stay open while the server runs).
 * srv: receives the server; must stay where it is until weft_delayserver_close.
 * The socket is listening when this returns, so weft_delayserver_addr can report the port at
 * once; connections are accepted once the runtime runs. Never suspends.
 * Returns 0, or: -EINVAL (NULL arguments, a bad scale, zero timeouts or max_connections),
 * WEFT_EADDR / WEFT_EADDR_NAME (host is not a numeric address), -EADDRINUSE, -EACCES, -EMFILE,
 * -ENOMEM ... with nothing left open.
 */
int weft_delayserver_start(weft_runtime *rt, const weft_delayserver_config *cfg,
                           weft_delayserver *srv);

/* weft_delayserver_addr - the address the server listens on. Returns 0, or WEFT_ECLOSED after
 * shutdown, or -errno. */
int weft_delayserver_addr(const weft_delayserver *srv, weft_addr *addr);

/*
 * weft_delayserver_shutdown - stop the server gracefully (see GRACEFUL SHUTDOWN above).
 *
 * grace_deadline: absolute CLOCK_MONOTONIC ns after which responses still in progress are cut
 * off; a deadline already past stops everything now. Calling it again can bring the deadline
 * forward (a second Ctrl-C), never back. Never suspends; never fails.
 */
void weft_delayserver_shutdown(weft_delayserver *srv, int64_t grace_deadline);

/*
 * weft_delayserver_wait - wait until the server has finished: after a shutdown, every
 * connection is closed and the accept task has ended.
 * May return WEFT_PENDING (await it with WEFT_AWAIT). Returns 0. One task at a time may wait.
 */
int weft_delayserver_wait(weft_delayserver *srv, weft_cx *cx);

/* weft_delayserver_finished - true once the server has finished (or its runtime was closed). */
bool weft_delayserver_finished(const weft_delayserver *srv);

/*
 * weft_delayserver_close - free what the server keeps (pooled frames and buffers). Call it
 * after the server finished, or after its runtime was closed (which cancels the server's
 * tasks). Returns 0, or -EBUSY (nothing freed) while the server is still running.
 */
int weft_delayserver_close(weft_delayserver *srv);

/* weft_delayserver_stats - counts and sizes, for logs, benchmarks and tests. */
typedef struct weft_delayserver_stats {
    uint64_t connections;   /* accepted so far */
    uint64_t requests;      /* valid requests received */
    uint64_t responses;     /* 200 responses written in full */
    uint64_t errors;        /* error responses sent */
    uint64_t timeouts;      /* connections dropped by a deadline */
    uint64_t io_errors;     /* connections ended by an I/O error */
    uint64_t accept_errors; /* failed accepts (other than after shutdown) */
    size_t active;          /* connections open now */
    size_t frame_bytes;     /* bytes of one connection's frame */
    size_t scratch_bytes;   /* bytes of one parse buffer (held only while a head arrives) */
} weft_delayserver_stats;

/* weft_delayserver_get_stats - fill st. Never fails. */
void weft_delayserver_get_stats(const weft_delayserver *srv, weft_delayserver_stats *st);

/*
 * weft_delayserver_parse_target - split a request target into delay and decoded message. Pure:
 * no I/O, no allocation; the server's own parser, exposed for tests and fuzzing.
 *
 * target, len: the request target as sent ("/250/hello%20world?x=1", or absolute form).
 * max_delay_ms: delays above it are refused.
 * delay_ms: receives the delay. msg, msg_size: receive the decoded message (no NUL added);
 *    msg_size >= len always suffices.
 * Returns the message length (>= 0), or:
 *   -EINVAL        not of the form /{digits}/{message};
 *   -ERANGE        the delay is over max_delay_ms (any number of digits is read; a value past
 *                  UINT32_MAX saturates, so it is over any max_delay_ms but UINT32_MAX);
 *   WEFT_EHTTP_URL a '%' not followed by two hex digits;
 *   -ENOBUFS       msg_size is too small.
 */
int weft_delayserver_parse_target(const char *target, size_t len, uint32_t max_delay_ms,
                                  uint32_t *delay_ms, char *msg, size_t msg_size);

#ifdef __cplusplus
}
#endif

#endif /* WEFT_DELAYSERVER_H */
