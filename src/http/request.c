/*
 * Serialising a request into a caller buffer.
 *
 * Everything that goes on the wire is checked first: a header value with a CR LF in it would
 * let whoever supplied the value add fields or even a second request of their own.
 */
#include <errno.h>
#include <limits.h>
#include <string.h>

#include "http/http_internal.h"

/* Appends to a fixed buffer, remembering (instead of failing at once) that something did not
 * fit, so the writing code reads as a straight sequence of puts. */
typedef struct writer {
    char *buf;
    size_t size;
    size_t len;    /* bytes written so far; never more than size */
    bool overflow; /* something did not fit */
} writer;

static void put(writer *w, const void *s, size_t n)
{
    if (w->overflow || n > w->size - w->len) {
        w->overflow = true;
        return;
    }
    if (n) memcpy(w->buf + w->len, s, n);
    w->len += n;
}

static void put_str(writer *w, const char *s)
{
    put(w, s, strlen(s));
}

/* A string literal, whose length the compiler knows: no strlen per piece of every request. */
#define PUT_LITERAL(w, lit) put((w), (lit), sizeof(lit) - 1)

static void put_u64(writer *w, uint64_t v)
{
    char digits[20];
    size_t n = 0;
    do {
        digits[sizeof digits - ++n] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    put(w, digits + sizeof digits - n, n);
}

/*
 * A host as weft_url_parse() leaves it: a name of unreserved characters, or an IPv6 literal.
 * Returns its length, or 0 if it is empty, not NUL-terminated within the array, or invalid.
 */
static size_t valid_host_len(const weft_url *u)
{
    size_t n = 0;
    for (; n < sizeof u->host && u->host[n] != '\0'; n++) {
        unsigned char c = (unsigned char)u->host[n];
        if (!weft__http_is_unreserved(c) && !(u->host_is_ipv6 && c == ':')) return 0;
    }
    return n < sizeof u->host ? n : 0;
}

static bool is_valid_target(const weft_url *u)
{
    return u->path && u->path_len > 0 && u->path[0] == '/' && !memchr(u->path, '?', u->path_len) &&
           weft__http_is_uri_text(u->path, u->path_len) &&
           (u->query_len == 0 ||
            (u->query && u->query[0] == '?' && weft__http_is_uri_text(u->query, u->query_len)));
}

/* Checks the caller's fields; sets *has_host if one of them is Host. */
static bool are_valid_headers(const weft_http_request *req, bool *has_host)
{
    if (req->nheaders && !req->headers) return false;
    for (size_t i = 0; i < req->nheaders; i++) {
        const weft_http_header *h = &req->headers[i];
        if (!h->name || (h->value_len && !h->value) || !weft__http_is_token(h->name, h->name_len) ||
            !weft__http_is_field_text(h->value, h->value_len) ||
            weft_http_header_name_is(h, "content-length") ||
            weft_http_header_name_is(h, "transfer-encoding"))
            return false;
        /* What weft writes, weft's own parser must accept: check the fields it checks. */
        if (weft_http_header_name_is(h, "connection") &&
            !weft__http_is_token_list(h->value, h->value_len))
            return false;
        if (weft_http_header_name_is(h, "host")) {
            if (*has_host || !weft__http_is_host_value(h->value, h->value_len)) return false;
            *has_host = true;
        }
    }
    return true;
}

static void put_host_field(writer *w, const weft_url *u, size_t host_len)
{
    PUT_LITERAL(w, "Host: ");
    if (u->host_is_ipv6) PUT_LITERAL(w, "[");
    put(w, u->host, host_len);
    if (u->host_is_ipv6) PUT_LITERAL(w, "]");
    if (u->port != 80) {
        PUT_LITERAL(w, ":");
        put_u64(w, u->port);
    }
    PUT_LITERAL(w, "\r\n");
}

/* What the request line and Host field leave the same in every request: the checks of the caller's
 * fields and body, which come after them. Returns 0 or -EINVAL. */
static int check_rest(const weft_http_request *req, bool *has_host)
{
    if (!are_valid_headers(req, has_host) || (req->body_len && !req->body)) return -EINVAL;
    return 0;
}

/* After the request line and Host field: the caller's fields, Content-Length, the blank line and
 * the body if with_body. Returns the length or a negative errno. */
static int write_rest(writer *w, const weft_http_request *req, bool with_body)
{
    for (size_t i = 0; i < req->nheaders; i++) {
        put(w, req->headers[i].name, req->headers[i].name_len);
        PUT_LITERAL(w, ": ");
        put(w, req->headers[i].value, req->headers[i].value_len);
        PUT_LITERAL(w, "\r\n");
    }
    if (req->body_len || req->method == WEFT_HTTP_POST || req->method == WEFT_HTTP_PUT) {
        PUT_LITERAL(w, "Content-Length: ");
        put_u64(w, req->body_len);
        PUT_LITERAL(w, "\r\n");
    }
    PUT_LITERAL(w, "\r\n");
    if (with_body) put(w, req->body, req->body_len);
    if (w->overflow) return -ENOBUFS;
    return w->len > INT_MAX ? -EOVERFLOW : (int)w->len;
}

/* The whole head; the body too if with_body. Returns the length or a negative errno. On success,
 * *line_len is the request line's length (CRLF included) and *host_end where the Host field
 * weft wrote ends (*line_len if the caller's fields have one). */
static int write_request(const weft_http_request *req, char *buf, size_t size, bool with_body,
                         size_t *line_len, size_t *host_end)
{
    bool has_host = false;
    size_t host_len = 0;
    if (req->method <= WEFT_HTTP_OTHER || req->method > WEFT_HTTP_PATCH || !req->url ||
        (host_len = valid_host_len(req->url)) == 0 || !is_valid_target(req->url) ||
        check_rest(req, &has_host) < 0)
        return -EINVAL;

    writer w = {.buf = buf, .size = size};
    put_str(&w, weft_http_method_name(req->method));
    PUT_LITERAL(&w, " ");
    put(&w, req->url->path, req->url->path_len);
    put(&w, req->url->query, req->url->query_len);
    PUT_LITERAL(&w, " HTTP/1.1\r\n");
    *line_len = w.len;
    if (!has_host) put_host_field(&w, req->url, host_len);
    *host_end = w.len;
    return write_rest(&w, req, with_body);
}

int weft_http_request_write(const weft_http_request *req, char *buf, size_t size)
{
    size_t line_len, host_end;
    return write_request(req, buf, size, true, &line_len, &host_end);
}

int weft_http_request_write_head(const weft_http_request *req, char *buf, size_t size)
{
    size_t line_len, host_end;
    return write_request(req, buf, size, false, &line_len, &host_end);
}

/* ---------------------------------------------------------------------------------------------
 * The request line and Host field, kept between requests
 * ------------------------------------------------------------------------------------------- */

/* memcmp(a, b, n) == 0, without a call for the few bytes a host or a path usually has: up to 16
 * bytes as two overlapping words of 8 (or 4) bytes, the shortest byte by byte. */
static inline bool same_bytes(const char *a, const char *b, size_t n)
{
    if (n > 16) return memcmp(a, b, n) == 0;
    if (n >= 8) {
        uint64_t a0, a1, b0, b1;
        memcpy(&a0, a, 8);
        memcpy(&b0, b, 8);
        memcpy(&a1, a + n - 8, 8);
        memcpy(&b1, b + n - 8, 8);
        return ((a0 ^ b0) | (a1 ^ b1)) == 0;
    }
    if (n >= 4) {
        uint32_t a0, a1, b0, b1;
        memcpy(&a0, a, 4);
        memcpy(&b0, b, 4);
        memcpy(&a1, a + n - 4, 4);
        memcpy(&b1, b + n - 4, 4);
        return ((a0 ^ b0) | (a1 ^ b1)) == 0;
    }
    unsigned char diff = 0;
    for (size_t i = 0; i < n; i++)
        diff |= (unsigned char)(a[i] ^ b[i]);
    return diff == 0;
}

/* Whether the cache holds what write_request writes for req's method and URL: the same method,
 * host text, IPv6 flag, port, path and query, byte for byte. The host and target were checked
 * when the text was cached, and the check depends on nothing else. */
static bool line_cache_hit(const struct weft__http_line_cache *lc, const weft_http_request *req)
{
    const weft_url *u = req->url;
    if (lc->line_len == 0 || !u || req->method != lc->method || u->port != lc->port ||
        u->host_is_ipv6 != lc->host_is_ipv6 || u->path_len != lc->path_len ||
        u->query_len != lc->query_len || !u->path || (u->query_len && !u->query))
        return false;
    const char *path = lc->text + lc->path_at;
    const char *host = lc->text + lc->line_len + sizeof "Host: " - 1 + lc->host_is_ipv6;
    return u->host[lc->host_len] == '\0' && same_bytes(u->host, host, lc->host_len) &&
           same_bytes(u->path, path, u->path_len) &&
           same_bytes(u->query, path + u->path_len, u->query_len);
}

/* Keeps the request line and Host field just written to buf, if they fit the cache. */
static void line_cache_fill(struct weft__http_line_cache *lc, const weft_http_request *req,
                            const char *buf, size_t line_len, size_t host_end)
{
    lc->line_len = 0;
    if (host_end == line_len || host_end > sizeof lc->text) return; /* the caller's Host */
    const weft_url *u = req->url;
    memcpy(lc->text, buf, host_end);
    lc->method = req->method;
    lc->port = u->port;
    lc->host_is_ipv6 = u->host_is_ipv6;
    lc->path_at = (uint16_t)(line_len - u->path_len - u->query_len - (sizeof " HTTP/1.1\r\n" - 1));
    lc->path_len = u->path_len;
    lc->query_len = u->query_len;
    lc->host_len = (uint16_t)strlen(u->host);
    lc->host_end = (uint16_t)host_end;
    lc->line_len = (uint16_t)line_len;
}

int weft__http_request_write_cached(const weft_http_request *req, struct weft__http_line_cache *lc,
                                    char *buf, size_t size, bool with_body)
{
    if (!line_cache_hit(lc, req)) {
        size_t line_len, host_end;
        int n = write_request(req, buf, size, with_body, &line_len, &host_end);
        if (n >= 0) line_cache_fill(lc, req, buf, line_len, host_end);
        return n;
    }
    if (req->nheaders == 0 && req->body_len == 0 && req->method != WEFT_HTTP_POST &&
        req->method != WEFT_HTTP_PUT) { /* the usual GET: the cached lines and the blank one */
        size_t n = lc->host_end;
        if (size < n + 2) return -ENOBUFS;
        memcpy(buf, lc->text, n);
        buf[n] = '\r'; /* the blank line that ends the head; buf is bytes, not a C string */
        buf[n + 1] = '\n';
        return (int)(n + 2);
    }
    bool has_host = false;
    if (check_rest(req, &has_host) < 0) return -EINVAL;
    writer w = {.buf = buf, .size = size};
    put(&w, lc->text, has_host ? lc->line_len : lc->host_end);
    return write_rest(&w, req, with_body);
}
