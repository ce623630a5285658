/*
 * Private to src/client: a connection and its buffers, a host's pool, and the pool's functions
 * that exchange.c uses.
 */
#ifndef WEFT_CLIENT_INTERNAL_H
#define WEFT_CLIENT_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "http/http_internal.h" /* struct weft__http_line_cache */
#include "weft/http.h"

/*
 * One connection. Allocated in one block with its buffers when it is opened, freed when it is
 * closed; in between it carries request after request, and nothing else is allocated for them.
 *
 * Its read buffer holds what recv() returned and the parser has not consumed yet,
 * buf[off .. len). Between exchanges it is empty (a connection with bytes left over is never
 * pooled), so a request is serialised into the same buffer before it is sent.
 */
struct weft__http_conn {
    struct weft__http_conn *prev, *next; /* the client's list of open connections */
    struct weft__http_conn *idle_next;   /* the host's stack of idle connections */
    struct weft__http_host *host;        /* the host and port it is connected to */
    weft_tcp_stream stream;              /* the socket */
    weft_http_parser parser;             /* reads the responses */
    int64_t idle_since;                  /* when its last response ended (weft_cx_now) */
    uint64_t responses;                  /* responses read to the end on it */
    bool idle;                           /* in the pool (else held by an exchange) */
    bool eof;                            /* recv() returned 0: the server closed its side */
    size_t off, len;                     /* unconsumed input: buf[off .. len) */
    size_t cap;                          /* size of buf */
    char *buf;                           /* the read buffer (and the request's on its way out) */
    char *head;                          /* the parser's head buffer (cfg.head_size bytes) */
    weft_http_header *fields;            /* the parser's field array (cfg.max_headers) */
};

/* The longest "host:port" text (weft__http_hostport), NUL included. */
#define WEFT__HTTP_HOSTPORT_MAX (WEFT_URL_HOST_MAX + 9)

/*
 * A new connection's connect by name: the resolution, the addresses found, the connect to each in
 * turn (about 850 bytes). An exchange allocates it only while it opens a connection to a host
 * name and frees it as soon as the connect ends, so the exchange that every requesting task
 * carries stays small and a request on a pooled connection allocates nothing. A numeric host
 * needs none of it: its address is parsed once, into its host record, and connected to directly.
 */
struct weft__http_connecting {
    weft_tcp_connect_host_op op;            /* the connect in progress */
    char hostport[WEFT__HTTP_HOSTPORT_MAX]; /* what it connects to: "host:port", "[v6]:port" */
};

/* A host and port the client has talked to, and its idle connections (a stack: last in, first
 * out, so the most recently used connection, the likeliest to be alive, is reused first). */
struct weft__http_host {
    struct weft__http_host *next; /* the client's list, most recently used first */
    struct weft__http_conn *idle; /* top of the idle stack */
    size_t nidle;                 /* connections on the stack */
    size_t nconns;                /* connections to this host, idle or in use */
    uint16_t port;
    bool numeric;                      /* name is an IP address: connect to addr, no resolution */
    weft_addr addr;                    /* that address and the port, if numeric */
    char name[WEFT_URL_HOST_MAX + 1];  /* as in the URL (IPv6 without brackets) */
    size_t name_len;                   /* strlen(name) */
    struct weft__http_line_cache line; /* the last request line + Host field written to it */
};

/* u's host and port as weft_addr_parse and weft_tcp_connect_host_dl take them: "host:port",
 * "[v6]:port", into buf (WEFT__HTTP_HOSTPORT_MAX bytes). */
void weft__http_hostport(const weft_url *u, char *buf, size_t size);

/*
 * Takes an idle connection to u's host and port off the pool, closing any found too old on the
 * way. Returns it (now in use), or NULL if there is none. Never fails.
 */
struct weft__http_conn *weft__http_pool_take(weft_http_client *c, const weft_url *u, int64_t now);

/*
 * Allocates a connection to u's host and port, not yet connected (its stream is zeroed: "not
 * open"), and counts it as open. Returns it, or NULL if out of memory.
 */
struct weft__http_conn *weft__http_conn_new(weft_http_client *c, const weft_url *u);

/*
 * Ends an exchange's use of conn: back on its host's stack if reusable and the pool has room
 * (idle from idle_since on: when its last response ended), closed and freed otherwise.
 */
void weft__http_conn_release(weft_http_client *c, struct weft__http_conn *conn, bool reusable,
                             int64_t idle_since);

/* Closes conn's socket now, if it is open; the memory stays until release. */
void weft__http_conn_shut(weft_http_client *c, struct weft__http_conn *conn);

/* The longest URL a redirect may lead to, NUL included. */
#define WEFT__HTTP_REDIRECT_URL_MAX 4096

/* Whether status is a redirect the client follows: 301, 302, 303, 307, 308. */
bool weft__http_is_redirect(int status);

/* The method of the request that follows a redirect with this status. */
weft_http_method weft__http_redirect_method(int status, weft_http_method method);

/*
 * Resolves the Location value loc[0 .. loc_len) against the URL that was requested, writing an
 * absolute URL (NUL-terminated) into buf. Returns its length, or WEFT_EHTTP_URL if it does not
 * fit in size bytes. The result is not checked: weft_url_parse does that.
 */
int weft__http_redirect_url(const weft_url *base, const char *loc, size_t loc_len, char *buf,
                            size_t size);

#endif
