/*
 * ds_internal.h — what the delay server's three files share. Not installed, not public.
 *
 *   delayserver.c  the server: start, the accept task, shutdown, pools of frames and buffers;
 *   conn.c         one connection's task: read a head, wait out the delay, respond, repeat;
 *   reply.c        pure helpers: the request target, status lines, response heads.
 */
#ifndef WEFT_DS_INTERNAL_H
#define WEFT_DS_INTERNAL_H

#include "delayserver.h"
#include "weft/http.h"

/* Bytes read from a socket at a time, held in the connection's frame. Small on purpose: bytes
 * are copied into a borrowed parse buffer as they are parsed, so this only has to hold what
 * follows one request on a pipelining connection. A typical request head fits in one read. */
#define WEFT__DS_IN_SIZE 256

/* Room reserved in front of a response body for its head: status line, Content-Type,
 * Content-Length, Date, Connection, Allow. The longest head formatted is well under this. */
#define WEFT__DS_HEAD_ROOM 256

/* After an error response (or a final response), how long and how much the server goes on
 * reading and discarding before it closes, so that its response is not lost to a reset. */
#define WEFT__DS_LINGER     WEFT_SEC(2)
#define WEFT__DS_LINGER_MAX (256 * 1024)

/* How many unused connection frames and parse buffers are kept for reuse. */
#define WEFT__DS_SPARE_FRAMES  256
#define WEFT__DS_SPARE_SCRATCH 64

/* A parse buffer, borrowed by a connection while one request head arrives. */
struct weft__ds_scratch {
    struct weft__ds_scratch *next;                        /* in srv->spare_scratch */
    weft_http_parser parser;                              /* the request parser */
    weft_http_header fields[WEFT_DELAYSERVER_MAX_FIELDS]; /* its header fields */
    char head[WEFT_DELAYSERVER_HEAD_MAX];                 /* the head, as the parser keeps it */
};

/* Where a connection is; shutdown closes those that are READING or CLOSING at once. */
enum weft__ds_phase {
    WEFT__DS_READING = 0, /* waiting for (the rest of) a request head */
    WEFT__DS_DELAYING,    /* a request is waiting out its delay */
    WEFT__DS_WRITING,     /* a response is being written */
    WEFT__DS_CLOSING,     /* discarding input before closing */
};

/* One connection: the frame of its task. */
struct weft__ds_conn {
    weft_co co;                        /* the task's resume point (first: this is a frame) */
    weft_delayserver *srv;             /* the server */
    struct weft__ds_conn *prev, *next; /* in srv->conns; next alone in srv->spare */
    weft_task task;                    /* this connection's task, for shutdown to cancel */
    weft_tcp_stream s;                 /* the connection */
    weft_tcp_xfer xfer;                /* the response write in progress */
    struct weft__ds_scratch *scratch;  /* the parse buffer, while a head is arriving */
    char *resp;                        /* the response: WEFT__DS_HEAD_ROOM + body_len bytes */
    size_t resp_off, resp_len;         /* what to write: resp[resp_off .. resp_off + resp_len) */
    size_t body_len;                   /* the body's length (Content-Length) */
    const char *detail;                /* an error response's body */
    int64_t deadline;                  /* the deadline of the current read or write */
    int64_t wake;                      /* when the delayed response is due */
    uint32_t delay_ms;                 /* the delay asked for */
    uint32_t discarded;                /* bytes discarded while lingering */
    uint16_t in_off, in_len;           /* unparsed bytes: in[in_off .. in_len) */
    short status;                      /* 0: nothing to answer; 200; or an error status */
    int r;                             /* the last I/O result */
    unsigned char phase;               /* enum weft__ds_phase */
    bool in_request;                   /* a byte of the next head has arrived */
    bool idle;                         /* kept alive, waiting for a request: idle deadline */
    bool keep_alive;                   /* the connection stays open after this response */
    bool head_only;                    /* a HEAD request: the body is not sent */
    bool http10;                       /* the request was HTTP/1.0 */
    bool linger;                       /* discard input before closing */
    char in[WEFT__DS_IN_SIZE];         /* bytes read and not yet parsed */
};

/* conn.c: the connection task, and how it ends early. */
int weft__ds_conn_task(void *frame, weft_cx *cx);
void weft__ds_conn_abort(struct weft__ds_conn *c);

/* delayserver.c: pools, and what a connection tells the server. */
struct weft__ds_scratch *weft__ds_scratch_get(weft_delayserver *srv);
void weft__ds_scratch_put(weft_delayserver *srv, struct weft__ds_scratch *sc);
void weft__ds_conn_gone(weft_delayserver *srv, struct weft__ds_conn *c);
const char *weft__ds_date(weft_delayserver *srv);

/* reply.c: the response to c->status, formatted in front of its body. */
const char *weft__ds_reason(int status);
char *weft__ds_body_alloc(struct weft__ds_conn *c, size_t body_len);
void weft__ds_resp_free(struct weft__ds_conn *c);
void weft__ds_resp_head(struct weft__ds_conn *c, const char *date);
int weft__ds_status_of(int parse_error);
void weft__ds_log_request(FILE *log, uint64_t n, uint32_t delay_ms, const char *msg, size_t len);

#endif
