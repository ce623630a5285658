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

/* The whole head; the body too if with_body. Returns the length or a negative errno. */
static int write_request(const weft_http_request *req, char *buf, size_t size, bool with_body)
{
    bool has_host = false;
    size_t host_len = 0;
    if (req->method <= WEFT_HTTP_OTHER || req->method > WEFT_HTTP_PATCH || !req->url ||
        (host_len = valid_host_len(req->url)) == 0 || !is_valid_target(req->url) ||
        !are_valid_headers(req, &has_host) || (req->body_len && !req->body))
        return -EINVAL;

    writer w = {.buf = buf, .size = size};
    put_str(&w, weft_http_method_name(req->method));
    PUT_LITERAL(&w, " ");
    put(&w, req->url->path, req->url->path_len);
    put(&w, req->url->query, req->url->query_len);
    PUT_LITERAL(&w, " HTTP/1.1\r\n");
    if (!has_host) put_host_field(&w, req->url, host_len);
    for (size_t i = 0; i < req->nheaders; i++) {
        put(&w, req->headers[i].name, req->headers[i].name_len);
        PUT_LITERAL(&w, ": ");
        put(&w, req->headers[i].value, req->headers[i].value_len);
        PUT_LITERAL(&w, "\r\n");
    }
    if (req->body_len || req->method == WEFT_HTTP_POST || req->method == WEFT_HTTP_PUT) {
        PUT_LITERAL(&w, "Content-Length: ");
        put_u64(&w, req->body_len);
        PUT_LITERAL(&w, "\r\n");
    }
    PUT_LITERAL(&w, "\r\n");
    if (with_body) put(&w, req->body, req->body_len);
    if (w.overflow) return -ENOBUFS;
    return w.len > INT_MAX ? -EOVERFLOW : (int)w.len;
}

int weft_http_request_write(const weft_http_request *req, char *buf, size_t size)
{
    return write_request(req, buf, size, true);
}

int weft_http_request_write_head(const weft_http_request *req, char *buf, size_t size)
{
    return write_request(req, buf, size, false);
}
