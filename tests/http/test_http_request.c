/*
 * The server side of parsing (request heads, bodies, pipelining) and the client side of
 * writing (weft_http_request_write). Parser cases are table-driven like test_http_parse.c: each
 * input is also fed cut at every position and one byte at a time.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "http/http_internal.h" /* weft__http_request_write_cached */
#include "parse_driver.h"
#include "weft/error.h"
#include "weft/http.h"

typedef struct request_case {
    const char *name;
    const char *in;
    const char *expect; /* the transcript; "@END" stands for "@" and the input's length */
} request_case;

static void expect_request(const parse_opts *o, const char *name, const char *in,
                           const char *expect)
{
    size_t len = strlen(in);
    char *got = parse_transcript_all_splits(o, in, len, 4096);
    char end[32];
    snprintf(end, sizeof end, "@%zu", len);
    char want[2048];
    const char *at = strstr(expect, "@END");
    if (at)
        snprintf(want, sizeof want, "%.*s%s%s", (int)(at - expect), expect, end, at + 4);
    else
        snprintf(want, sizeof want, "%s", expect);
    if (strcmp(got, want) != 0) print_error("case \"%s\"\n", name);
    assert_string_equal(got, want);
    free(got);
}

static void check_table(const request_case *cases, size_t n, const parse_opts *o)
{
    for (size_t i = 0; i < n; i++)
        expect_request(o, cases[i].name, cases[i].in, cases[i].expect);
}

#define CHECK_TABLE(t, o) check_table(t, sizeof t / sizeof t[0], o)

/* ---------------------------------------------------------------------------------------------
 * Request heads
 * ------------------------------------------------------------------------------------------- */

static const request_case request_cases[] = {
    {"simple GET", "GET / HTTP/1.1\r\nHost: a\r\n\r\n",
     "HEAD GET \"/\" 1.1 none keep-alive\n  Host: a\nDONE @END\n"},
    {"the book's request",
     "GET /2000/HelloWorld%21 HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
     "HEAD GET \"/2000/HelloWorld%21\" 1.1 none close\n  Host: localhost\n"
     "  Connection: close\nDONE @END\n"},
    {"HTTP/1.0 needs no Host and closes", "GET /x HTTP/1.0\r\n\r\n",
     "HEAD GET \"/x\" 1.0 none close\nDONE @END\n"},
    {"HTTP/1.0 keep-alive", "GET /x HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
     "HEAD GET \"/x\" 1.0 none keep-alive\n  Connection: keep-alive\nDONE @END\n"},
    {"every named method", "DELETE /x?y=z HTTP/1.1\r\nhost: h:8080\r\n\r\n",
     "HEAD DELETE \"/x?y=z\" 1.1 none keep-alive\n  host: h:8080\nDONE @END\n"},
    {"an unknown method", "BREW /pot HTTP/1.1\r\nHost: [::1]:80\r\n\r\n",
     "HEAD BREW? \"/pot\" 1.1 none keep-alive\n  Host: [::1]:80\nDONE @END\n"},
    {"methods are case-sensitive", "get / HTTP/1.1\r\nHost: a\r\n\r\n",
     "HEAD get? \"/\" 1.1 none keep-alive\n  Host: a\nDONE @END\n"},
    {"absolute form", "GET http://a.example/x HTTP/1.1\r\nHost: a.example\r\n\r\n",
     "HEAD GET \"http://a.example/x\" 1.1 none keep-alive\n  Host: a.example\nDONE @END\n"},
    {"asterisk form", "OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n",
     "HEAD OPTIONS \"*\" 1.1 none keep-alive\n  Host: a\nDONE @END\n"},
    {"empty Host is allowed", "GET / HTTP/1.1\r\nHost:\r\n\r\n",
     "HEAD GET \"/\" 1.1 none keep-alive\n  Host: \nDONE @END\n"},
    {"empty lines before the request are skipped", "\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n",
     "HEAD GET \"/\" 1.1 none keep-alive\n  Host: a\nDONE @END\n"},
    {"a body by Content-Length", "POST /f HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc",
     "HEAD POST \"/f\" 1.1 length:3 keep-alive\n  Host: a\n  Content-Length: 3\n"
     "BODY \"abc\"\nDONE @END\n"},
    {"a chunked body with a trailer",
     "PUT /f HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nab\r\n0\r\nX: 1\r\n\r\n",
     "HEAD PUT \"/f\" 1.1 chunked keep-alive\n  Host: a\n  Transfer-Encoding: chunked\n"
     "BODY \"ab\"\n  trailer X: 1\nDONE @END\n"},
    {"escapes in the target, one just before the SP",
     "GET /%41%2f?q=%7E%20 HTTP/1.1\r\nHost: a\r\n\r\n",
     "HEAD GET \"/%41%2f?q=%7E%20\" 1.1 none keep-alive\n  Host: a\nDONE @END\n"},
    {"HEAD", "HEAD / HTTP/1.1\r\nHost: a\r\n\r\n",
     "HEAD HEAD \"/\" 1.1 none keep-alive\n  Host: a\nDONE @END\n"},
    {"values with tabs, DEL-free, of every size",
     "GET / HTTP/1.1\r\nHost: a\r\nA: \tx\ty\t\r\nB: 1234567\t89\r\nC: \x80\xff~ !\r\n\r\n",
     "HEAD GET \"/\" 1.1 none keep-alive\n  Host: a\n  A: x\\x09y\n  B: 1234567\\x0989\n"
     "  C: \\x80\\xff~ !\nDONE @END\n"},
    {"no framing fields: no body, the rest is left", "POST / HTTP/1.1\r\nHost: a\r\n\r\nabc",
     "HEAD POST \"/\" 1.1 none keep-alive\n"
     "  Host: a\nDONE @28\n"},
};

static void test_requests(void **state)
{
    (void)state;
    parse_opts o = parse_opts_request();
    CHECK_TABLE(request_cases, &o);
}

static const request_case request_errors[] = {
    {"HTTP/1.1 without Host", "GET / HTTP/1.1\r\n\r\n", "ERROR parse\n"},
    {"two Host fields", "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", "ERROR parse\n"},
    {"two Host fields in HTTP/1.0", "GET / HTTP/1.0\r\nHost: a\r\nHost: a\r\n\r\n",
     "ERROR parse\n"},
    {"Host with a space", "GET / HTTP/1.1\r\nHost: a b\r\n\r\n", "ERROR parse\n"},
    {"Host with a slash", "GET / HTTP/1.1\r\nHost: a/b\r\n\r\n", "ERROR parse\n"},
    {"Host with userinfo", "GET / HTTP/1.1\r\nHost: u@a\r\n\r\n", "ERROR parse\n"},
    {"HTTP/0.9", "GET /\r\n\r\n", "ERROR parse\n"},
    {"HTTP/2.0", "GET / HTTP/2.0\r\nHost: a\r\n\r\n", "ERROR unsupported\n"},
    {"junk after the version", "GET / HTTP/1.1x\r\nHost: a\r\n\r\n", "ERROR parse\n"},
    {"space after the version", "GET / HTTP/1.1 \r\nHost: a\r\n\r\n", "ERROR parse\n"},
    {"two spaces after the method", "GET  / HTTP/1.1\r\nHost: a\r\n\r\n", "ERROR parse\n"},
    {"space inside the target", "GET /a b HTTP/1.1\r\nHost: a\r\n\r\n", "ERROR parse\n"},
    {"a quote in the target", "GET /a\"b HTTP/1.1\r\nHost: a\r\n\r\n", "ERROR parse\n"},
    {"a bad escape in the target", "GET /%zz HTTP/1.1\r\nHost: a\r\n\r\n", "ERROR parse\n"},
    {"a truncated escape in the target", "GET /a% HTTP/1.1\r\nHost: a\r\n\r\n", "ERROR parse\n"},
    {"a relative target", "GET a/b HTTP/1.1\r\nHost: a\r\n\r\n", "ERROR parse\n"},
    {"a non-http absolute target", "GET ftp://a/b HTTP/1.1\r\nHost: a\r\n\r\n", "ERROR parse\n"},
    {"an escape cut by the SP", "GET /a%2 HTTP/1.1\r\nHost: a\r\n\r\n", "ERROR parse\n"},
    {"a lone % before the SP", "GET /a% HTTP/1.1\r\nHost: a\r\n\r\n", "ERROR parse\n"},
    {"an escape with one digit at the end", "GET /%4\r\nHost: a\r\n\r\n", "ERROR parse\n"},
    {"HTTP/1.2", "GET / HTTP/1.2\r\nHost: a\r\n\r\n", "ERROR unsupported\n"},
    {"HTTP/0.9 written out", "GET / HTTP/0.9\r\nHost: a\r\n\r\n", "ERROR unsupported\n"},
    {"a letter for the minor version", "GET / HTTP/1.x\r\nHost: a\r\n\r\n", "ERROR parse\n"},
    {"lower-case http", "GET / http/1.1\r\nHost: a\r\n\r\n", "ERROR parse\n"},
    {"a short version", "GET / HTTP/1.\r\nHost: a\r\n\r\n", "ERROR parse\n"},
    {"DEL in a long value",
     "GET / HTTP/1.1\r\nHost: a\r\nX: 12345\x7f"
     "789\r\n\r\n",
     "ERROR parse\n"},
    {"DEL in a short value",
     "GET / HTTP/1.1\r\nHost: a\r\nX: 12\x7f"
     "45\r\n\r\n",
     "ERROR parse\n"},
    {"a control byte in a value", "GET / HTTP/1.1\r\nHost: a\r\nX: 1\x1f\r\n\r\n", "ERROR parse\n"},
    {"a bad byte at the end of a long Host", "GET / HTTP/1.1\r\nHost: 127.0.0.1:8080/\r\n\r\n",
     "ERROR parse\n"},
    {"obs-text in the target", "GET /\xc3\xa9 HTTP/1.1\r\nHost: a\r\n\r\n", "ERROR parse\n"},
    {"a separator in the method", "GE(T / HTTP/1.1\r\nHost: a\r\n\r\n", "ERROR parse\n"},
    {"no method", " / HTTP/1.1\r\nHost: a\r\n\r\n", "ERROR parse\n"},
    {"bare LF", "GET / HTTP/1.1\nHost: a\r\n\r\n", "ERROR parse\n"},
    {"obs-fold", "GET / HTTP/1.1\r\nHost: a\r\nX: 1\r\n 2\r\n\r\n", "ERROR parse\n"},
    {"whitespace before a colon", "GET / HTTP/1.1\r\nHost : a\r\n\r\n", "ERROR parse\n"},
    {"Content-Length with chunked",
     "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n",
     "ERROR parse\n"},
    {"differing Content-Length",
     "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
     "ERROR parse\n"},
    {"chunked in HTTP/1.0", "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n",
     "ERROR parse\n"},
    {"an unknown coding", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: br\r\n\r\n",
     "ERROR unsupported\n"},
};

static void test_request_errors(void **state)
{
    (void)state;
    parse_opts o = parse_opts_request();
    CHECK_TABLE(request_errors, &o);
}

static const request_case request_eof[] = {
    {"nothing", "", "EOF\nERROR closed\n"},
    {"only empty lines", "\r\n\r\n", "EOF\nERROR closed\n"},
    {"half an empty line", "\r", "EOF\nERROR truncated\n"},
    {"inside the request line", "GET /", "EOF\nERROR truncated\n"},
    {"inside the head", "GET / HTTP/1.1\r\nHost: a\r\n", "EOF\nERROR truncated\n"},
    {"inside the body", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nab",
     "HEAD POST \"/\" 1.1 length:3 keep-alive\n  Host: a\n  Content-Length: 3\n"
     "BODY \"ab\"\nEOF\nERROR truncated\n"},
};

static void test_request_eof(void **state)
{
    (void)state;
    parse_opts o = parse_opts_request();
    CHECK_TABLE(request_eof, &o);
}

/* Pipelined requests, one after another in the same bytes, answered in order. */
static void test_pipelining(void **state)
{
    (void)state;
    parse_opts o = parse_opts_request();
    o.pipeline = true;
    expect_request(&o, "pipelined",
                   "GET /1 HTTP/1.1\r\nHost: a\r\n\r\n"
                   "POST /2 HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\nhi\r\n"
                   "GET /3 HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
                   "HEAD GET \"/1\" 1.1 none keep-alive\n  Host: a\nDONE @28\n"
                   "HEAD POST \"/2\" 1.1 length:2 keep-alive\n  Host: a\n"
                   "  Content-Length: 2\nBODY \"hi\"\nDONE @78\n"
                   "HEAD GET \"/3\" 1.1 none close\n  Host: a\n  Connection: close\n"
                   "DONE @END\n");
    /* The same with the peer closing after a complete request: a clean close. */
    expect_request(&o, "pipelined then closed",
                   "GET /1 HTTP/1.1\r\nHost: a\r\n\r\nGET /2 HTTP/1.1\r\nHost: a\r\n\r\n\r\n",
                   "HEAD GET \"/1\" 1.1 none keep-alive\n  Host: a\nDONE @28\n"
                   "HEAD GET \"/2\" 1.1 none keep-alive\n  Host: a\nDONE @56\n"
                   "EOF\nERROR closed\n");
}

/* A server maps these to 431 (head), 431 (count) and 413 (body). */
static void test_request_limits(void **state)
{
    (void)state;
    static const char req[] = "POST /upload HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\n\r\nbody";
    static const char want[] = "HEAD POST \"/upload\" 1.1 length:4 keep-alive\n  Host: a\n"
                               "  Content-Length: 4\nBODY \"body\"\nDONE @END\n";
    parse_opts o = parse_opts_request();
    o.head_size = sizeof req - 1 - 4;
    o.max_headers = 2;
    o.max_body = 4;
    expect_request(&o, "at every limit", req, want);
    o.head_size--;
    expect_request(&o, "head", req, "ERROR toobig\n");
    o.head_size++;
    o.max_headers--;
    expect_request(&o, "count", req, "ERROR toomany\n");
    o.max_headers++;
    o.max_body--;
    expect_request(&o, "body", req, "ERROR body-toobig\n");
    /* The skipped empty lines before a request count against the head. */
    o.max_body++;
    o.head_size = 4;
    expect_request(&o, "empty lines", "\r\n\r\n\r\n", "ERROR toobig\n");
}

static void test_request_results(void **state)
{
    (void)state;
    static const char req[] = "PATCH /p?q HTTP/1.0\r\nHost: h\r\n\r\n";
    char head[256];
    weft_http_header fields[4];
    weft_http_parser p;
    weft_http_parser_config cfg = {head, sizeof head, fields, 4, 0};
    weft_http_parser_init_request(&p, &cfg);
    weft_http_event ev;
    assert_int_equal(weft_http_parser_feed(&p, req, sizeof req - 1, &ev), sizeof req - 1);
    assert_int_equal(ev.type, WEFT_HTTP_EV_HEAD);
    assert_int_equal(p.method, WEFT_HTTP_PATCH);
    assert_string_equal(p.method_name, "PATCH");
    assert_string_equal(p.target, "/p?q");
    assert_int_equal(p.target_len, 4);
    assert_int_equal(p.version, 10);
    assert_int_equal(p.status, 0);
    assert_null(p.reason);
    assert_false(p.keep_alive);
    assert_string_equal(weft_http_parser_header(&p, "host")->value, "h");
    assert_int_equal(weft_http_parser_feed(&p, NULL, 0, &ev), 0);
    assert_int_equal(ev.type, WEFT_HTTP_EV_DONE);
    weft_http_parser_reset(&p, WEFT_HTTP_GET); /* the method is ignored for requests */
    assert_int_equal(p.method, WEFT_HTTP_OTHER);
    assert_int_equal(weft_http_parser_eof(&p, &ev), WEFT_ECLOSED);
}

/* ---------------------------------------------------------------------------------------------
 * Writing requests
 * ------------------------------------------------------------------------------------------- */

static weft_url url_of(const char *s)
{
    weft_url u;
    assert_int_equal(weft_url_parse(&u, s, strlen(s)), 0);
    return u;
}

static void expect_written(const weft_http_request *req, const char *want)
{
    char buf[512];
    int n = weft_http_request_write(req, buf, sizeof buf);
    assert_int_equal(n, (int)strlen(want));
    assert_memory_equal(buf, want, strlen(want));
}

static void test_write_get(void **state)
{
    (void)state;
    weft_url u = url_of("http://example.com/x/y?q=1&r#frag");
    expect_written(&(weft_http_request){.method = WEFT_HTTP_GET, .url = &u},
                   "GET /x/y?q=1&r HTTP/1.1\r\nHost: example.com\r\n\r\n");
    u = url_of("http://[::1]:8080");
    expect_written(&(weft_http_request){.method = WEFT_HTTP_GET, .url = &u},
                   "GET / HTTP/1.1\r\nHost: [::1]:8080\r\n\r\n");
    u = url_of("http://h:80?x");
    expect_written(&(weft_http_request){.method = WEFT_HTTP_DELETE, .url = &u},
                   "DELETE /?x HTTP/1.1\r\nHost: h\r\n\r\n");
}

static void test_write_headers_and_body(void **state)
{
    (void)state;
    weft_url u = url_of("http://127.0.0.1:9/up");
    const weft_http_header h[] = {
        {"Connection", 10, "close", 5},
        {"X-Empty", 7, "", 0},
    };
    expect_written(
        &(weft_http_request){.method = WEFT_HTTP_HEAD, .url = &u, .headers = h, .nheaders = 2},
        "HEAD /up HTTP/1.1\r\nHost: 127.0.0.1:9\r\nConnection: close\r\n"
        "X-Empty: \r\n\r\n");
    static const char post_head[] =
        "POST /up HTTP/1.1\r\nHost: 127.0.0.1:9\r\nContent-Length: 3\r\n\r\n";
    char buf[128];
    int n = weft_http_request_write(
        &(weft_http_request){.method = WEFT_HTTP_POST, .url = &u, .body = "a\0b", .body_len = 3},
        buf, sizeof buf);
    assert_int_equal(n, sizeof post_head - 1 + 3);
    assert_memory_equal(buf, post_head, sizeof post_head - 1);
    assert_memory_equal(buf + n - 3, "a\0b", 3);
    expect_written(&(weft_http_request){.method = WEFT_HTTP_PUT, .url = &u},
                   "PUT /up HTTP/1.1\r\nHost: 127.0.0.1:9\r\nContent-Length: 0\r\n\r\n");
    expect_written(
        &(weft_http_request){.method = WEFT_HTTP_GET, .url = &u, .body = "x", .body_len = 1},
        "GET /up HTTP/1.1\r\nHost: 127.0.0.1:9\r\nContent-Length: 1\r\n\r\nx");
    const weft_http_header host[] = {{"host", 4, "virtual.example", 15}};
    expect_written(
        &(weft_http_request){.method = WEFT_HTTP_GET, .url = &u, .headers = host, .nheaders = 1},
        "GET /up HTTP/1.1\r\nhost: virtual.example\r\n\r\n");
    n = weft_http_request_write_head(
        &(weft_http_request){.method = WEFT_HTTP_POST, .url = &u, .body = "a\0b", .body_len = 3},
        buf, sizeof buf);
    assert_int_equal(n, sizeof post_head - 1);
    assert_memory_equal(buf, post_head, sizeof post_head - 1);
}

/* Every size short of the request fails with -ENOBUFS and writes inside the buffer only. */
static void test_write_buffer_too_small(void **state)
{
    (void)state;
    weft_url u = url_of("http://example.com/path");
    weft_http_request req = {.method = WEFT_HTTP_POST, .url = &u, .body = "hello", .body_len = 5};
    char full[256];
    int need = weft_http_request_write(&req, full, sizeof full);
    assert_true(need > 0);
    for (int size = 0; size <= need; size++) {
        char *buf = malloc(size ? (size_t)size : 1); /* exact size: ASan sees any overrun */
        assert_non_null(buf);
        int n = weft_http_request_write(&req, buf, (size_t)size);
        if (size < need) {
            assert_int_equal(n, -ENOBUFS);
        } else {
            assert_int_equal(n, need);
            assert_memory_equal(buf, full, (size_t)need);
        }
        free(buf);
    }
}

static void test_write_invalid(void **state)
{
    (void)state;
    char buf[256];
    weft_url u = url_of("http://example.com/");
    const weft_http_header bad[][1] = {
        {{"Bad Name", 8, "v", 1}},
        {{"", 0, "v", 1}},
        {{"X", 1, "a\r\nEvil: 1", 10}},
        {{"X", 1, "a\nb", 3}},
        {{"X", 1, "a\0b", 3}},
        {{"X", 1, "\x7f", 1}},
        {{"Content-Length", 14, "5", 1}},
        {{"transfer-encoding", 17, "chunked", 7}},
        {{"Connection", 10, "close x", 7}},
        {{"Host", 4, "a/b", 3}},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        weft_http_request req = {
            .method = WEFT_HTTP_GET, .url = &u, .headers = bad[i], .nheaders = 1};
        assert_int_equal(weft_http_request_write(&req, buf, sizeof buf), -EINVAL);
    }
    weft_http_request req = {.method = WEFT_HTTP_OTHER, .url = &u};
    assert_int_equal(weft_http_request_write(&req, buf, sizeof buf), -EINVAL);
    req = (weft_http_request){.method = WEFT_HTTP_GET};
    assert_int_equal(weft_http_request_write(&req, buf, sizeof buf), -EINVAL);
    req = (weft_http_request){.method = WEFT_HTTP_POST, .url = &u, .body_len = 1};
    assert_int_equal(weft_http_request_write(&req, buf, sizeof buf), -EINVAL);
    req = (weft_http_request){.method = WEFT_HTTP_GET, .url = &u, .nheaders = 1};
    assert_int_equal(weft_http_request_write(&req, buf, sizeof buf), -EINVAL);

    /* A hand-built URL is checked too: nothing may break the request line or Host. */
    weft_url hand = u;
    hand.path = "/a b";
    hand.path_len = 4;
    req = (weft_http_request){.method = WEFT_HTTP_GET, .url = &hand};
    assert_int_equal(weft_http_request_write(&req, buf, sizeof buf), -EINVAL);
    hand = u;
    hand.path = "x";
    assert_int_equal(weft_http_request_write(&req, buf, sizeof buf), -EINVAL);
    hand = u;
    hand.query = "q";
    hand.query_len = 1;
    assert_int_equal(weft_http_request_write(&req, buf, sizeof buf), -EINVAL);
    hand = u;
    strcpy(hand.host, "evil\r\nX: 1");
    assert_int_equal(weft_http_request_write(&req, buf, sizeof buf), -EINVAL);
    hand = u;
    hand.host[0] = '\0';
    assert_int_equal(weft_http_request_write(&req, buf, sizeof buf), -EINVAL);
}

/* Writes req through the cache and without it: same result, same bytes. */
static void expect_cached_same(struct weft__http_line_cache *lc, const weft_http_request *req)
{
    char want[512], got[512];
    int n = weft_http_request_write(req, want, sizeof want);
    assert_int_equal(weft__http_request_write_cached(req, lc, got, sizeof got, true), n);
    if (n > 0) assert_memory_equal(got, want, (size_t)n);
    n = weft_http_request_write_head(req, want, sizeof want);
    assert_int_equal(weft__http_request_write_cached(req, lc, got, sizeof got, false), n);
    if (n > 0) assert_memory_equal(got, want, (size_t)n);
}

/* The cached request line and Host field are used only for the very method and URL they were
 * written for; anything else that differs is written (and checked) afresh. */
static void test_write_cached(void **state)
{
    (void)state;
    struct weft__http_line_cache lc = {0};
    const char *urls[] = {
        "http://example.com/a?b",
        "http://example.com/a?b",
        "http://example.com/a?c",
        "http://example.com/ab",
        "http://example.com/a?b",
        "http://Example.com/a?b",
        "http://example.com:81/a?b",
        "http://[::1]/a?b",
        "http://[::2]/a?b",
        "http://example.com/a?b",
        /* Hosts, paths and queries of 1-3, 4-7, 8-16 and over 16 bytes, each then differing in
         * its last byte or in the middle (the compare goes by words of 4 or 8 bytes). */
        "http://a.b/x",
        "http://a.b/x",
        "http://a.c/x",
        "http://abcdefgh/p1234?q1234567",
        "http://abcdefgh/p1234?q1234567",
        "http://abcdefgi/p1234?q1234567",
        "http://abcdefgi/p1235?q1234567",
        "http://abcdefgi/p1235?q1234568",
        "http://abcdXfgi/p1235?q1234568",
        "http://very-long-host-name.example/a/b/c/d/e/f/g",
        "http://very-long-host-name.example/a/b/c/d/e/f/g",
        "http://very-long-host-name.examplf/a/b/c/d/e/f/g",
        "http://very-long-host-name.examplf/a/b/c/d/e/f/h",
    };
    for (size_t i = 0; i < sizeof urls / sizeof urls[0]; i++) {
        weft_url u = url_of(urls[i]);
        expect_cached_same(&lc, &(weft_http_request){.method = WEFT_HTTP_GET, .url = &u});
    }
    weft_url u = url_of("http://example.com/a?b");
    expect_cached_same(&lc, &(weft_http_request){.method = WEFT_HTTP_GET, .url = &u});
    expect_cached_same(&lc, &(weft_http_request){.method = WEFT_HTTP_HEAD, .url = &u});
    expect_cached_same(&lc, &(weft_http_request){
                                .method = WEFT_HTTP_POST, .url = &u, .body = "xy", .body_len = 2});
    const weft_http_header host = {"Host", 4, "other", 5}, bad = {"X", 1, "a\r\nEvil: 1", 10};
    expect_cached_same(
        &lc,
        &(weft_http_request){.method = WEFT_HTTP_POST, .url = &u, .headers = &host, .nheaders = 1});
    expect_cached_same(
        &lc,
        &(weft_http_request){.method = WEFT_HTTP_POST, .url = &u, .headers = &bad, .nheaders = 1});
    expect_cached_same(&lc, &(weft_http_request){.method = WEFT_HTTP_POST,
                                                 .url = &u,
                                                 .body_len = 1}); /* no body pointer */
    /* A URL changed by hand after it was cached: the same pointers, new (invalid) contents. */
    char path[] = "/a";
    u.path = path;
    u.path_len = 2;
    expect_cached_same(&lc, &(weft_http_request){.method = WEFT_HTTP_GET, .url = &u});
    path[1] = ' ';
    expect_cached_same(&lc, &(weft_http_request){.method = WEFT_HTTP_GET, .url = &u});
    path[1] = 'a';
    u.host_is_ipv6 = true; /* "example.com" is no IPv6 literal: -EINVAL, not the cached line */
    expect_cached_same(&lc, &(weft_http_request){.method = WEFT_HTTP_GET, .url = &u});
    u = url_of("http://[::1]/");
    expect_cached_same(&lc, &(weft_http_request){.method = WEFT_HTTP_GET, .url = &u});
    u.host_is_ipv6 = false; /* "::1" as a host name: refused */
    expect_cached_same(&lc, &(weft_http_request){.method = WEFT_HTTP_GET, .url = &u});
    char small[8];
    assert_int_equal(
        weft__http_request_write_cached(&(weft_http_request){.method = WEFT_HTTP_GET, .url = &u},
                                        &lc, small, sizeof small, true),
        -EINVAL);
    /* Every buffer size around the request's length, on a hit: the same length or -ENOBUFS. */
    u = url_of("http://example.com:8080/a?b");
    expect_cached_same(&lc, &(weft_http_request){.method = WEFT_HTTP_GET, .url = &u});
    for (size_t size = 0; size < 64; size++) {
        char want[64], got[64];
        const weft_http_request get = {.method = WEFT_HTTP_GET, .url = &u};
        assert_int_equal(weft__http_request_write_cached(&get, &lc, got, size, true),
                         weft_http_request_write(&get, want, size));
    }
    u = url_of("http://[::1]/");
    assert_int_equal(
        weft__http_request_write_cached(&(weft_http_request){.method = WEFT_HTTP_GET, .url = &u},
                                        &lc, small, sizeof small, true),
        -ENOBUFS);
}

/* A URL with a host, path and query of the given lengths, made of the letters h, p and q. */
static void url_of_lengths(weft_url *u, char *path, size_t host_len, size_t path_len,
                           size_t query_len)
{
    memset(u, 0, sizeof *u);
    memset(u->host, 'h', host_len);
    u->host[host_len] = '\0';
    u->port = 80;
    path[0] = '/';
    memset(path + 1, 'p', path_len - 1);
    path[path_len] = '?';
    memset(path + path_len + 1, 'q', query_len ? query_len - 1 : 0);
    u->path = path;
    u->path_len = path_len;
    u->query = query_len ? path + path_len : "";
    u->query_len = query_len;
}

/*
 * The cache compares the host, path and query by words of 4 or 8 bytes: for each of them, at
 * every length up to 20, a URL that differs from the cached one in one byte at any position, or
 * is one byte longer or shorter, is written afresh (never the cached line), and the cached URL
 * itself is then a hit again.
 */
static void test_write_cached_every_byte(void **state)
{
    (void)state;
    struct weft__http_line_cache lc = {0};
    for (int which = 0; which < 3; which++) {
        for (size_t len = 1; len <= 20; len++) {
            size_t lens[3] = {4, 4, 4};
            lens[which] = len;
            for (size_t pos = 0; pos <= len + 1; pos++) {
                weft_url base, other;
                char base_path[64], other_path[64];
                url_of_lengths(&base, base_path, lens[0], lens[1], lens[2]);
                const weft_http_request get = {.method = WEFT_HTTP_GET, .url = &base};
                expect_cached_same(&lc, &get);
                size_t other_lens[3] = {lens[0], lens[1], lens[2]};
                if (pos == len) other_lens[which] = len + 1;     /* one byte longer */
                if (pos == len + 1) other_lens[which] = len - 1; /* one byte shorter */
                if (which == 1 && other_lens[1] == 0) continue;  /* a path has its '/' */
                if (which > 0 && pos == 0) continue;             /* the '/' or '?' stays */
                url_of_lengths(&other, other_path, other_lens[0], other_lens[1], other_lens[2]);
                if (pos < len && which == 0) other.host[pos] = 'x';
                if (pos < len && which == 1) other_path[pos] = 'x';
                if (pos < len && which == 2) other_path[other.path_len + pos] = 'x';
                expect_cached_same(&lc,
                                   &(weft_http_request){.method = WEFT_HTTP_GET, .url = &other});
                expect_cached_same(&lc, &get);
            }
        }
    }
}

/* The class checks read four or eight bytes a step with an overlapping last step (the field-text
 * check without the table where it can): a byte out of class is found at every position of every
 * length, for every byte value out of the class, and every byte value in it is let through. */
static void test_field_text_every_position(void **state)
{
    (void)state;
    for (size_t len = 0; len <= 21; len++) {
        char s[24];
        memset(s, 'a', sizeof s);
        assert_true(weft__http_is_field_text(s, len));
        assert_true(weft__http_is_token(s, len) == (len > 0));
        assert_true(weft__http_is_host_value(s, len));
        for (size_t pos = 0; pos < len; pos++) {
            for (unsigned c = 0; c < 256; c++) {
                s[pos] = (char)c;
                bool field = c == '\t' || (c >= 0x20 && c != 0x7f);
                assert_true(weft__http_is_field_text(s, len) == field);
                assert_true(weft__http_is_token(s, len) ==
                            (bool)(weft__http_class[c] & WEFT__HTTP_TCHAR));
                assert_true(weft__http_is_host_value(s, len) ==
                            (bool)(weft__http_class[c] & WEFT__HTTP_HOST));
            }
            s[pos] = 'a';
        }
        s[len] = '\n'; /* just past the end: not looked at */
        assert_true(weft__http_is_field_text(s, len));
        /* A tab makes the eight-byte step ask the table, which lets it through. */
        if (len > 0) s[len - 1] = '\t';
        assert_true(weft__http_is_field_text(s, len));
    }
}

/* Method names map to their enum by length and bytes; anything else is OTHER. */
static void test_method_lookup(void **state)
{
    (void)state;
    static const struct {
        const char *name;
        weft_http_method m;
    } cases[] = {
        {"GET", WEFT_HTTP_GET},         {"PUT", WEFT_HTTP_PUT},        {"HEAD", WEFT_HTTP_HEAD},
        {"POST", WEFT_HTTP_POST},       {"PATCH", WEFT_HTTP_PATCH},    {"DELETE", WEFT_HTTP_DELETE},
        {"OPTIONS", WEFT_HTTP_OPTIONS}, {"GE", WEFT_HTTP_OTHER},       {"GETS", WEFT_HTTP_OTHER},
        {"PUX", WEFT_HTTP_OTHER},       {"HEAF", WEFT_HTTP_OTHER},     {"POSTS", WEFT_HTTP_OTHER},
        {"PATCHY", WEFT_HTTP_OTHER},    {"DELETF", WEFT_HTTP_OTHER},   {"OPTIONZ", WEFT_HTTP_OTHER},
        {"CONNECT", WEFT_HTTP_OTHER},   {"OPTIONSX", WEFT_HTTP_OTHER}, {"Get", WEFT_HTTP_OTHER},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char req[64], head[128];
        int n = snprintf(req, sizeof req, "%s / HTTP/1.1\r\nHost: a\r\n\r\n", cases[i].name);
        weft_http_header fields[2];
        weft_http_parser p;
        weft_http_parser_config cfg = {head, sizeof head, fields, 2, 0};
        weft_http_parser_init_request(&p, &cfg);
        weft_http_event ev;
        assert_int_equal(weft_http_parser_feed(&p, req, (size_t)n, &ev), n);
        assert_int_equal(ev.type, WEFT_HTTP_EV_HEAD);
        assert_int_equal(p.method, cases[i].m);
        assert_string_equal(p.method_name, cases[i].name);
    }
}

/*
 * Parses in[0 .. len) whole, from a heap copy of exactly len bytes into a head buffer of exactly
 * len bytes (so under ASan a scan that reads past the input or the head buffer fails). Returns 1
 * for a HEAD event, 0 when more input is wanted, or the error.
 */
static int parse_exact(bool request, const char *in, size_t len)
{
    char *copy = malloc(len), *head = malloc(len);
    assert_non_null(copy);
    assert_non_null(head);
    memcpy(copy, in, len);
    weft_http_header fields[4];
    weft_http_parser p;
    weft_http_parser_config cfg = {head, len, fields, 4, 0};
    if (request)
        weft_http_parser_init_request(&p, &cfg);
    else
        weft_http_parser_init_response(&p, WEFT_HTTP_GET, &cfg);
    weft_http_event ev;
    ssize_t n = weft_http_parser_feed(&p, copy, len, &ev);
    free(copy);
    free(head);
    if (n < 0) return (int)n;
    return ev.type == WEFT_HTTP_EV_HEAD;
}

/* Whether s[0 .. len), with OWS trimmed at both ends as the parser trims a value, is all in
 * class `bits`, judged one byte at a time. */
static bool trimmed_in_class(const char *s, size_t len, unsigned bits)
{
    while (len > 0 && (s[0] == ' ' || s[0] == '\t'))
        s++, len--;
    while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t'))
        len--;
    for (size_t i = 0; i < len; i++)
        if (!(weft__http_class[(unsigned char)s[i]] & bits)) return false;
    return true;
}

/* One part of a head, written between `before` and `after` with a run of `fill` bytes. */
typedef struct head_part {
    const char *what;
    bool request;
    const char *before, *after;
    char fill;
} head_part;

/* Whether the head with `part` (len bytes, one of them changed) must parse. */
static bool part_ok(const head_part *hp, const char *part, size_t len, size_t pos)
{
    unsigned char c = (unsigned char)part[pos];
    switch (hp->what[0]) {
    case 'm': /* method */
    case 'n': /* field name; a ':' inside one ends it early, the rest going to the value */
        return (weft__http_class[c] & WEFT__HTTP_TCHAR) || (hp->what[0] == 'n' && c == ':' && pos);
    case 't': /* target after its '/' */
        return c != ' ' && weft__http_is_uri_text(part - 1, len + 1);
    case 'h': /* Host value */
        return trimmed_in_class(part, len, WEFT__HTTP_HOST);
    default: /* field value, reason phrase */
        return c == '\t' || (c >= 0x20 && c != 0x7f);
    }
}

/*
 * The scans of the head's parts (the method's and a field name's tchars, the target's URI
 * characters, the Host check, field text) go several bytes a step: a byte out of place is found
 * at every position of every length up to 20, for every byte value, in a real head, and nothing
 * is read past the input or the head buffer.
 */
static void test_head_bytes_every_position(void **state)
{
    (void)state;
    static const head_part parts[] = {
        {"method", true, "", " / HTTP/1.1\r\nHost: a\r\n\r\n", 'G'},
        {"target", true, "GET /", " HTTP/1.1\r\nHost: a\r\n\r\n", 'a'},
        {"name", true, "GET / HTTP/1.1\r\nHost: a\r\n", ": v\r\n\r\n", 'x'},
        {"value", true, "GET / HTTP/1.1\r\nHost: a\r\nX: ", "\r\n\r\n", 'v'},
        {"host", true, "GET / HTTP/1.1\r\nHost: ", "\r\n\r\n", 'h'},
        {"reason", false, "HTTP/1.1 200 ", "\r\n\r\n", 'r'},
    };
    for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++) {
        const head_part *hp = &parts[i];
        size_t nb = strlen(hp->before), na = strlen(hp->after);
        for (size_t len = 1; len <= 20; len++) {
            char in[128];
            char *part = in + nb;
            memcpy(in, hp->before, nb);
            memset(part, hp->fill, len);
            memcpy(part + len, hp->after, na);
            assert_int_equal(parse_exact(hp->request, in, nb + len + na), 1);
            for (size_t pos = 0; pos < len; pos++) {
                for (unsigned c = 0; c < 256; c++) {
                    part[pos] = (char)c;
                    int rc = parse_exact(hp->request, in, nb + len + na);
                    if ((rc == 1) != part_ok(hp, part, len, pos))
                        print_error("%s: len %zu pos %zu byte 0x%02x: %d\n", hp->what, len, pos, c,
                                    rc);
                    assert_int_equal(rc == 1, part_ok(hp, part, len, pos));
                }
                part[pos] = hp->fill;
            }
        }
    }
}

/*
 * The parser copies its input into the head buffer in blocks of at most 512 bytes and parses the
 * complete lines of each block: heads of 509 to 541 bytes, fed whole, put the first block's end
 * at every byte of their last lines (a line's CR and LF, the blank line's CR and LF in different
 * blocks), with and without an interim 1xx head before them; then the same for a trailer
 * section. Every other cut is checked too.
 */
static void test_head_across_copy_blocks(void **state)
{
    (void)state;
    for (int interim = 0; interim < 2; interim++) {
        for (size_t pad = 460; pad <= 492; pad++) {
            char in[1200], want[1200], filler[600];
            memset(filler, 'p', pad);
            filler[pad] = '\0';
            int at = interim ? snprintf(in, sizeof in, "HTTP/1.1 100 Continue\r\n\r\n") : 0;
            int n =
                snprintf(in + at, sizeof in - (size_t)at,
                         "HTTP/1.1 200 OK\r\nP: %s\r\nContent-Length: 2\r\nX: y\r\n\r\nab", filler);
            snprintf(want, sizeof want,
                     "HEAD 200 \"OK\" 1.1 length:2 keep-alive\n  P: %s\n  Content-Length: 2\n"
                     "  X: y\nBODY \"ab\"\nDONE @%d\n",
                     filler, at + n);
            parse_opts o = parse_opts_response();
            char *got = parse_transcript_all_splits(&o, in, (size_t)(at + n), 4096);
            assert_string_equal(got, want);
            free(got);
        }
    }
    /* The same for a trailer section: it starts 58 bytes in, so its first block ends at 570. */
    for (size_t pad = 496; pad <= 510; pad++) {
        char in[1200], want[1200], filler[600];
        memset(filler, 'p', pad);
        filler[pad] = '\0';
        int n = snprintf(in, sizeof in,
                         "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nx\r\n0\r\n"
                         "P: %s\r\nX: y\r\n\r\n",
                         filler);
        snprintf(want, sizeof want,
                 "HEAD 200 \"OK\" 1.1 chunked keep-alive\n  Transfer-Encoding: chunked\n"
                 "BODY \"x\"\n  trailer P: %s\n  trailer X: y\nDONE @%d\n",
                 filler, n);
        parse_opts o = parse_opts_response();
        char *got = parse_transcript_all_splits(&o, in, (size_t)n, 4096);
        assert_string_equal(got, want);
        free(got);
    }
}

/* What the writer produces, the request parser reads back unchanged. */
static void test_write_then_parse(void **state)
{
    (void)state;
    weft_url u = url_of("http://[2001:db8::1]:8000/a%20b?c=d");
    const weft_http_header h[] = {{"User-Agent", 10, "weft-test/1", 11}};
    weft_http_request req = {.method = WEFT_HTTP_PUT,
                             .url = &u,
                             .headers = h,
                             .nheaders = 1,
                             .body = "payload",
                             .body_len = 7};
    char buf[256];
    int n = weft_http_request_write(&req, buf, sizeof buf);
    assert_true(n > 0);
    parse_opts o = parse_opts_request();
    char *got = parse_transcript_all_splits(&o, buf, (size_t)n, 4096);
    char want[512];
    snprintf(want, sizeof want,
             "HEAD PUT \"/a%%20b?c=d\" 1.1 length:7 keep-alive\n  Host: [2001:db8::1]:8000\n"
             "  User-Agent: weft-test/1\n  Content-Length: 7\nBODY \"payload\"\nDONE @%d\n",
             n);
    assert_string_equal(got, want);
    free(got);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_requests),
        cmocka_unit_test(test_request_errors),
        cmocka_unit_test(test_request_eof),
        cmocka_unit_test(test_pipelining),
        cmocka_unit_test(test_request_limits),
        cmocka_unit_test(test_request_results),
        cmocka_unit_test(test_write_get),
        cmocka_unit_test(test_write_headers_and_body),
        cmocka_unit_test(test_write_buffer_too_small),
        cmocka_unit_test(test_write_invalid),
        cmocka_unit_test(test_write_cached),
        cmocka_unit_test(test_write_cached_every_byte),
        cmocka_unit_test(test_field_text_every_position),
        cmocka_unit_test(test_method_lookup),
        cmocka_unit_test(test_head_bytes_every_position),
        cmocka_unit_test(test_head_across_copy_blocks),
        cmocka_unit_test(test_write_then_parse),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
