/*
 * Fuzz target: URL parsing and percent-decoding, and the request writer fed by them.
 *
 * For a URL that parses, checks what the client relies on: the host is a NUL-terminated string
 * within its array, path and query lie inside the input (or are the static "/"), and printing
 * the URL back and parsing it again gives the same parts. Then a request written for it must be
 * accepted by the request parser with the same target and Host. For decoding, the in-place and
 * the copying forms must agree, and the result never grows.
 *
 * Every input is also used as a header field (name and value split at a derived point) and a
 * body for weft_http_request_write(): whatever the writer accepts, the request parser must read
 * back as exactly that one field and that body — no input can smuggle in a second field.
 */
#define _POSIX_C_SOURCE 200809L /* strnlen */
#include <errno.h>
#include <string.h>

#include "fuzz.h"
#include "parse_driver.h"
#include "weft/error.h"
#include "weft/http.h"

/* Whether p[0 .. n) lies within in[0 .. size) (compared as integers: p may be elsewhere). */
static bool inside(const char *p, size_t n, const char *in, size_t size)
{
    uintptr_t a = (uintptr_t)p, lo = (uintptr_t)in;
    return a >= lo && a - lo <= size && n <= size - (a - lo);
}

static void check_parts(const weft_url *u, const char *in, size_t size)
{
    size_t host_len = strnlen(u->host, sizeof u->host);
    FUZZ_CHECK(host_len > 0 && host_len <= WEFT_URL_HOST_MAX);
    FUZZ_CHECK(u->port != 0);
    FUZZ_CHECK(u->path_len > 0 && u->path[0] == '/');
    FUZZ_CHECK(inside(u->path, u->path_len, in, size) ||
               (u->path_len == 1 && !inside(u->path, 1, in, size)));
    FUZZ_CHECK(u->query_len == 0 ||
               (u->query[0] == '?' && inside(u->query, u->query_len, in, size)));
    FUZZ_CHECK(!memchr(u->path, '?', u->path_len) && !memchr(u->path, '#', u->path_len));
}

/* Prints u as a URL, parses that, and expects the same parts back. */
static void check_round_trip(const weft_url *u)
{
    size_t cap = 64 + strlen(u->host) + u->path_len + u->query_len;
    char *text = malloc(cap);
    FUZZ_CHECK(text != NULL);
    int n = snprintf(text, cap, "http://%s%s%s:%u%.*s%.*s", u->host_is_ipv6 ? "[" : "", u->host,
                     u->host_is_ipv6 ? "]" : "", u->port, (int)u->path_len, u->path,
                     (int)u->query_len, u->query);
    FUZZ_CHECK(n > 0 && (size_t)n < cap);
    weft_url again;
    FUZZ_CHECK(weft_url_parse(&again, text, (size_t)n) == 0);
    FUZZ_CHECK(strcmp(again.host, u->host) == 0 && again.host_is_ipv6 == u->host_is_ipv6);
    FUZZ_CHECK(again.port == u->port);
    FUZZ_CHECK(again.path_len == u->path_len && memcmp(again.path, u->path, u->path_len) == 0);
    FUZZ_CHECK(again.query_len == u->query_len && memcmp(again.query, u->query, u->query_len) == 0);
    free(text);
}

/* Writes a GET for u and reads it back with the request parser. */
static void check_request(const weft_url *u)
{
    size_t cap = 128 + strlen(u->host) + u->path_len + u->query_len;
    char *buf = malloc(cap);
    FUZZ_CHECK(buf != NULL);
    weft_http_request req = {.method = WEFT_HTTP_GET, .url = u};
    int n = weft_http_request_write(&req, buf, cap);
    FUZZ_CHECK(n > 0);
    FUZZ_CHECK(weft_http_request_write(&req, buf, (size_t)n - 1) == -ENOBUFS);

    char head[1024];
    weft_http_header fields[4];
    weft_http_parser p;
    weft_http_parser_config cfg = {head, sizeof head, fields, 4, 0};
    weft_http_parser_init_request(&p, &cfg);
    weft_http_event ev;
    ssize_t used = weft_http_parser_feed(&p, buf, (size_t)n, &ev);
    if (used == WEFT_EHTTP_TOOBIG) { /* a long path: fine, as long as the head is over 1 KiB */
        FUZZ_CHECK((size_t)n > sizeof head);
        free(buf);
        return;
    }
    FUZZ_CHECK(used == n && ev.type == WEFT_HTTP_EV_HEAD);
    FUZZ_CHECK(p.method == WEFT_HTTP_GET && p.target_len == u->path_len + u->query_len);
    FUZZ_CHECK(memcmp(p.target, u->path, u->path_len) == 0);
    FUZZ_CHECK(memcmp(p.target + u->path_len, u->query, u->query_len) == 0);
    const weft_http_header *host = weft_http_parser_header(&p, "host");
    FUZZ_CHECK(host && strstr(host->value, u->host) != NULL);
    FUZZ_CHECK(weft_http_parser_feed(&p, "", 0, &ev) == 0 && ev.type == WEFT_HTTP_EV_DONE);
    free(buf);
}

static void check_decode(const char *in, size_t size)
{
    char *out = malloc(size ? size : 1), *inplace = malloc(size ? size : 1);
    FUZZ_CHECK(out && inplace);
    if (size) memcpy(inplace, in, size);
    int rc = weft_url_decode(out, size, in, size);
    int rc2 = weft_url_decode(inplace, size, inplace, size);
    FUZZ_CHECK(rc == rc2);
    FUZZ_CHECK(rc == WEFT_EHTTP_URL || (rc >= 0 && (size_t)rc <= size));
    if (rc == WEFT_EHTTP_URL) FUZZ_CHECK(memchr(in, '%', size) != NULL);
    if (rc >= 0) FUZZ_CHECK(memcmp(out, inplace, (size_t)rc) == 0);
    if (rc >= 0 && !memchr(in, '%', size)) FUZZ_CHECK(memcmp(out, in, size) == 0);
    free(out);
    free(inplace);
}

/* Reads a whole request back; checks it is one message of exactly n bytes with this body. */
static void parse_back(weft_http_parser *p, const char *buf, size_t n, const void *body,
                       size_t body_len)
{
    size_t off = 0, got = 0;
    weft_http_event ev;
    do {
        ssize_t used = weft_http_parser_feed(p, buf + off, n - off, &ev);
        FUZZ_CHECK(used >= 0);
        off += (size_t)used;
        if (ev.type == WEFT_HTTP_EV_BODY) {
            FUZZ_CHECK(got + ev.len <= body_len);
            FUZZ_CHECK(memcmp(ev.data, (const char *)body + got, ev.len) == 0);
            got += ev.len;
        }
    } while (ev.type != WEFT_HTTP_EV_DONE && ev.type != WEFT_HTTP_EV_NEED_MORE);
    FUZZ_CHECK(ev.type == WEFT_HTTP_EV_DONE && off == n && got == body_len);
}

/* The input as a header field and body of a request to a fixed URL. */
static void check_writer(const char *in, size_t size, uint64_t seed)
{
    weft_url u;
    FUZZ_CHECK(weft_url_parse(&u, "http://fuzz.example:8080/p?q", 28) == 0);
    size_t split = (size_t)(seed % (size + 1));
    weft_http_header field = {in, split, in + split, size - split};
    weft_http_request req = {.method = (weft_http_method)(1 + (seed >> 8) % WEFT_HTTP_PATCH),
                             .url = &u,
                             .headers = &field,
                             .nheaders = 1,
                             .body = in,
                             .body_len = (seed >> 16) & 1 ? size : 0};
    size_t cap = 256 + 2 * size;
    char *buf = malloc(cap), *head = malloc(cap);
    weft_http_header fields[4];
    FUZZ_CHECK(buf && head);
    int n = weft_http_request_write(&req, buf, cap);
    FUZZ_CHECK(n > 0 || n == -EINVAL);
    if (n > 0) {
        int n_head = weft_http_request_write_head(&req, head, cap);
        FUZZ_CHECK(n_head == n - (int)req.body_len && memcmp(buf, head, (size_t)n_head) == 0);
    }
    if (n > 0) {
        weft_http_parser p;
        weft_http_parser_config cfg = {head, cap, fields, 4, WEFT_HTTP_UNLIMITED};
        weft_http_parser_init_request(&p, &cfg);
        parse_back(&p, buf, (size_t)n, req.body, req.body_len);
        FUZZ_CHECK(p.method == req.method && strcmp(p.target, "/p?q") == 0);
        bool has_length = req.body_len || p.method == WEFT_HTTP_POST || p.method == WEFT_HTTP_PUT;
        bool own_host = weft_http_header_name_is(&field, "host"); /* replaces the writer's */
        FUZZ_CHECK(p.nheaders == (has_length ? 3u : 2u) - own_host);
        const weft_http_header *h = &p.headers[own_host ? 0 : 1];
        FUZZ_CHECK(h->name_len == split && memcmp(h->name, in, split) == 0);
        const char *v = field.value, *end = field.value + field.value_len;
        while (v < end && (*v == ' ' || *v == '\t'))
            v++;
        while (end > v && (end[-1] == ' ' || end[-1] == '\t'))
            end--;
        FUZZ_CHECK(h->value_len == (size_t)(end - v) && memcmp(h->value, v, h->value_len) == 0);
    }
    free(buf);
    free(head);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* A copy of exactly size bytes: the parser must not look for a NUL past the end. */
    char *in = malloc(size ? size : 1);
    FUZZ_CHECK(in != NULL);
    if (size) memcpy(in, data, size);
    weft_url u;
    int rc = weft_url_parse(&u, in, size);
    FUZZ_CHECK(rc == 0 || rc == WEFT_EHTTP_URL || rc == WEFT_EHTTP_UNSUPPORTED);
    if (rc == 0) {
        check_parts(&u, in, size);
        check_round_trip(&u);
        check_request(&u);
    }
    check_decode(in, size);
    check_writer(in, size, fuzz_hash(data, size));
    free(in);
    return 0;
}
