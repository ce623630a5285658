/*
 * The client object and its pool of keep-alive connections.
 *
 * The pool is a list of hosts (host name and port, as written in the URL), each with a stack of
 * idle connections. Taking a connection pops the stack; releasing one pushes it back. Both are a
 * short walk of the host list (moved to the front on use, so a client talking mostly to one
 * server finds it first) and a few pointer moves: no allocation, no system call.
 *
 * The pool never probes an idle connection (that would cost a system call per request). A
 * connection the server closed while it was idle is found out when the next request on it
 * fails, and exchange.c sends that request again on a new connection.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/internal.h"
#include "http/http_internal.h" /* weft__http_equals_nocase */

/* Defaults for the config fields left 0. */
enum {
    DEFAULT_BUFFER_SIZE = 16384,
    DEFAULT_HEAD_SIZE = 8192,
    DEFAULT_MAX_HEADERS = 64,
    DEFAULT_MAX_IDLE_PER_HOST = 32,
    DEFAULT_MAX_IDLE = 256,
    MAX_EMPTY_HOSTS = 64, /* host records with no connection kept before some are freed */
    MIN_BUFFER_SIZE = 256,
};
#define DEFAULT_IDLE_TIMEOUT WEFT_SEC(30)

int weft_http_client_init(weft_http_client *c, weft_runtime *rt, const weft_http_client_config *cfg)
{
    if (!c || !rt) return -EINVAL;
    memset(c, 0, sizeof *c);
    c->rt = rt;
    if (cfg) c->cfg = *cfg;
    if (c->cfg.buffer_size == 0) c->cfg.buffer_size = DEFAULT_BUFFER_SIZE;
    if (c->cfg.buffer_size < MIN_BUFFER_SIZE) c->cfg.buffer_size = MIN_BUFFER_SIZE;
    if (c->cfg.buffer_size > INT_MAX) c->cfg.buffer_size = INT_MAX;
    if (c->cfg.head_size == 0) c->cfg.head_size = DEFAULT_HEAD_SIZE;
    if (c->cfg.max_headers == 0) c->cfg.max_headers = DEFAULT_MAX_HEADERS;
    if (c->cfg.max_idle_per_host == 0) c->cfg.max_idle_per_host = DEFAULT_MAX_IDLE_PER_HOST;
    if (c->cfg.max_idle == 0) c->cfg.max_idle = DEFAULT_MAX_IDLE;
    if (c->cfg.idle_timeout <= 0) c->cfg.idle_timeout = DEFAULT_IDLE_TIMEOUT;
    return 0;
}

/* ---------------------------------------------------------------------------------------------
 * Hosts
 * ------------------------------------------------------------------------------------------- */

/*
 * Host names compare without regard to ASCII case (RFC 3986 §3.2.2). A request usually names its
 * host exactly as the pool stored it, so a plain comparison is tried first: it is what every
 * request on a pooled connection pays (the case-insensitive one cost ~90 instructions each).
 */
static bool same_host(const struct weft__http_host *h, const weft_url *u)
{
    if (h->port != u->port) return false;
    /* Both arrays hold name_len + 1 bytes: no strlen of the URL's host when they are equal. */
    if (memcmp(u->host, h->name, h->name_len + 1) == 0) return true;
    return weft__http_equals_nocase(u->host, strlen(u->host), h->name);
}

/* Finds u's host record and moves it to the front of the list; NULL if there is none. */
static struct weft__http_host *host_find(weft_http_client *c, const weft_url *u)
{
    struct weft__http_host **link = &c->hosts;
    for (struct weft__http_host *h = c->hosts; h; link = &h->next, h = h->next) {
        if (!same_host(h, u)) continue;
        *link = h->next;
        h->next = c->hosts;
        c->hosts = h;
        return h;
    }
    return NULL;
}

/* Frees the records of hosts with no connection left, so a client that visits many hosts does
 * not keep one record per host forever. */
static void hosts_trim(weft_http_client *c)
{
    struct weft__http_host **link = &c->hosts;
    while (*link) {
        struct weft__http_host *h = *link;
        if (h->nconns == 0) {
            *link = h->next;
            free(h);
            c->nhosts--;
        } else {
            link = &h->next;
        }
    }
}

void weft__http_hostport(const weft_url *u, char *buf, size_t size)
{
    snprintf(buf, size, u->host_is_ipv6 ? "[%s]:%u" : "%s:%u", u->host, (unsigned)u->port);
}

/* u's host record, created if needed. NULL if out of memory. */
static struct weft__http_host *host_get(weft_http_client *c, const weft_url *u)
{
    struct weft__http_host *h = host_find(c, u);
    if (h) return h;
    if (c->nhosts >= MAX_EMPTY_HOSTS) hosts_trim(c);
    h = calloc(1, sizeof *h);
    if (!h) return NULL;
    h->port = u->port;
    h->name_len = strlen(u->host);
    memcpy(h->name, u->host, h->name_len + 1); /* weft_url guarantees it fits */
    char hostport[WEFT__HTTP_HOSTPORT_MAX];
    weft__http_hostport(u, hostport, sizeof hostport);
    h->numeric = weft_addr_parse(&h->addr, hostport) == 0;
    h->next = c->hosts;
    c->hosts = h;
    c->nhosts++;
    return h;
}

/* ---------------------------------------------------------------------------------------------
 * Connections
 * ------------------------------------------------------------------------------------------- */

/* Rounds n up to a multiple of the strictest alignment, to place arrays inside one block. */
static size_t align_up(size_t n)
{
    size_t a = _Alignof(max_align_t);
    return (n + a - 1) / a * a;
}

struct weft__http_conn *weft__http_conn_new(weft_http_client *c, const weft_url *u)
{
    struct weft__http_host *h = host_get(c, u);
    if (!h) return NULL;
    size_t fields = c->cfg.max_headers * sizeof(weft_http_header);
    size_t head_at = align_up(sizeof(struct weft__http_conn));
    size_t fields_at = align_up(head_at + c->cfg.head_size);
    size_t buf_at = align_up(fields_at + fields);
    /* Only the struct is zeroed: buffer pages the kernel has not touched stay out of the RSS. */
    char *block = malloc(buf_at + c->cfg.buffer_size);
    if (!block) return NULL;
    struct weft__http_conn *conn = (struct weft__http_conn *)block;
    memset(conn, 0, sizeof *conn);
    conn->stream.io.fd = -1;
    conn->head = block + head_at;
    conn->fields = (weft_http_header *)(block + fields_at);
    conn->buf = block + buf_at;
    conn->cap = c->cfg.buffer_size;
    conn->host = h;
    h->nconns++;
    conn->next = c->conns;
    if (c->conns) c->conns->prev = conn;
    c->conns = conn;
    c->open++;
    return conn;
}

void weft__http_conn_shut(weft_http_client *c, struct weft__http_conn *conn)
{
    if (conn->stream.io.fd >= 0) weft_tcp_close(c->rt, &conn->stream);
}

/* Closes conn and frees it. It must not be on an idle stack. */
static void conn_free(weft_http_client *c, struct weft__http_conn *conn)
{
    weft__http_conn_shut(c, conn);
    if (conn->prev)
        conn->prev->next = conn->next;
    else
        c->conns = conn->next;
    if (conn->next) conn->next->prev = conn->prev;
    conn->host->nconns--;
    c->open--;
    free(conn);
}

/* Pops the top of h's idle stack. */
static struct weft__http_conn *idle_pop(weft_http_client *c, struct weft__http_host *h)
{
    struct weft__http_conn *conn = h->idle;
    h->idle = conn->idle_next;
    conn->idle_next = NULL;
    conn->idle = false;
    h->nidle--;
    c->idle--;
    return conn;
}

/*
 * Idle ages use the runtime's cached clock (weft_cx_now): no system call, and exact enough, as
 * the runtime reads the clock after every park and when block_on or run starts. A connection is
 * idle from the moment its last response ended, which is also when the server's idle timer
 * started.
 */
struct weft__http_conn *weft__http_pool_take(weft_http_client *c, const weft_url *u, int64_t now)
{
    struct weft__http_host *h = host_find(c, u);
    if (!h || !h->idle) return NULL;
    /* The stack is ordered by age: once the top is too old, so is everything under it. */
    if (now - h->idle->idle_since > c->cfg.idle_timeout) {
        while (h->idle)
            conn_free(c, idle_pop(c, h));
        return NULL;
    }
    return idle_pop(c, h);
}

void weft__http_conn_release(weft_http_client *c, struct weft__http_conn *conn, bool reusable,
                             int64_t idle_since)
{
    struct weft__http_host *h = conn->host;
    bool room = h->nidle < c->cfg.max_idle_per_host && c->idle < c->cfg.max_idle;
    if (!reusable || !room || conn->stream.io.fd < 0) {
        conn_free(c, conn);
        return;
    }
    conn->idle = true;
    conn->idle_since = idle_since;
    conn->off = conn->len = 0;
    conn->idle_next = h->idle;
    h->idle = conn;
    h->nidle++;
    c->idle++;
}

int weft_http_client_close(weft_http_client *c)
{
    size_t busy = c->open - c->idle;
    while (c->conns) {
        struct weft__http_conn *conn = c->conns;
        conn->idle = false; /* the stacks go with their hosts below */
        conn_free(c, conn);
    }
    while (c->hosts) {
        struct weft__http_host *h = c->hosts;
        c->hosts = h->next;
        free(h);
    }
    c->nhosts = 0;
    c->idle = 0;
#ifndef NDEBUG
    if (busy)
        fprintf(stderr,
                "weft_http_client_close: closed %zu connection(s) still held by an "
                "exchange\n",
                busy);
#endif
    return busy ? -EBUSY : 0;
}
