/* The parser test driver: see parse_driver.h for what a transcript says and what is checked. */
#include "parse_driver.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "weft/error.h"

/* A growing string. */
typedef struct text {
    char *s;
    size_t len, cap;
} text;

static void die(const char *what)
{
    fprintf(stderr, "parse_driver: parser contract broken: %s\n", what);
    abort();
}

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) die(#cond);                                                                   \
    } while (0)

static void text_grow(text *t, size_t more)
{
    if (t->len + more + 1 <= t->cap) return;
    size_t cap = t->cap ? t->cap : 256;
    while (cap < t->len + more + 1)
        cap *= 2;
    t->s = realloc(t->s, cap);
    CHECK(t->s != NULL);
    t->cap = cap;
}

static void text_printf(text *t, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    CHECK(n >= 0);
    text_grow(t, (size_t)n);
    va_start(ap, fmt);
    vsnprintf(t->s + t->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    t->len += (size_t)n;
}

/* Printable ASCII as is (but '"' and '\'), everything else as \xHH. */
static void text_escaped(text *t, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\')
            text_printf(t, "%c", c);
        else
            text_printf(t, "\\x%02x", c);
    }
}

const char *parse_error_name(int rc)
{
    switch (rc) {
    case WEFT_EHTTP_PARSE:
        return "parse";
    case WEFT_EHTTP_TOOBIG:
        return "toobig";
    case WEFT_EHTTP_TOOMANY:
        return "toomany";
    case WEFT_EHTTP_BODY_TOOBIG:
        return "body-toobig";
    case WEFT_EHTTP_UNSUPPORTED:
        return "unsupported";
    case WEFT_EHTTP_TRUNCATED:
        return "truncated";
    case WEFT_ECLOSED:
        return "closed";
    default:
        return "unknown-error";
    }
}

static const char *kind_name(weft_http_body_kind k)
{
    static const char *const names[] = {"none", "length", "chunked", "close"};
    CHECK((unsigned)k < 4);
    return names[k];
}

parse_opts parse_opts_response(void)
{
    return (parse_opts){.method = WEFT_HTTP_GET,
                        .head_size = 1024,
                        .max_headers = 32,
                        .max_body = WEFT_HTTP_UNLIMITED,
                        .eof = true};
}

parse_opts parse_opts_request(void)
{
    parse_opts o = parse_opts_response();
    o.request = true;
    o.method = WEFT_HTTP_OTHER;
    return o;
}

/* One driver run: the parser, its storage, and what has been written down so far. */
typedef struct run {
    const parse_opts *o;
    weft_http_parser p;
    char *head;
    weft_http_header *fields;
    text t;
    bool in_body;        /* the transcript's last line is an open BODY "... */
    uint64_t body_bytes; /* body bytes reported for the current message */
    bool finished;       /* DONE without pipelining, or an error: stop feeding */
} run;

static void end_body(run *r)
{
    if (r->in_body) text_printf(&r->t, "\"\n");
    r->in_body = false;
}

/* A string the parser returned must lie inside the head buffer and be NUL-terminated there. */
static void check_head_string(const run *r, const char *s, size_t n)
{
    CHECK(s >= r->head && s + n < r->head + r->o->head_size);
    CHECK(s[n] == '\0');
}

static void log_fields(run *r, size_t from, size_t count, const char *prefix)
{
    for (size_t i = from; i < from + count; i++) {
        const weft_http_header *h = &r->p.headers[i];
        check_head_string(r, h->name, h->name_len);
        check_head_string(r, h->value, h->value_len);
        CHECK(h->name_len > 0);
        text_printf(&r->t, "  %s", prefix);
        text_escaped(&r->t, h->name, h->name_len);
        text_printf(&r->t, ": ");
        text_escaped(&r->t, h->value, h->value_len);
        text_printf(&r->t, "\n");
    }
}

static void log_head(run *r)
{
    const weft_http_parser *p = &r->p;
    CHECK(p->nheaders <= r->o->max_headers && p->ntrailers == 0);
    CHECK(p->headers == r->fields);
    CHECK(p->version == 10 || p->version == 11);
    if (r->o->request) {
        check_head_string(r, p->method_name, p->method_name_len);
        check_head_string(r, p->target, p->target_len);
        text_printf(&r->t, "HEAD %s%s \"", p->method_name, p->method == WEFT_HTTP_OTHER ? "?" : "");
        text_escaped(&r->t, p->target, p->target_len);
    } else {
        CHECK(p->status >= 200 && p->status <= 599);
        check_head_string(r, p->reason, p->reason_len);
        text_printf(&r->t, "HEAD %d \"", p->status);
        text_escaped(&r->t, p->reason, p->reason_len);
    }
    text_printf(&r->t, "\" 1.%d %s", p->version - 10, kind_name(p->body_kind));
    if (p->body_kind == WEFT_HTTP_BODY_LENGTH)
        text_printf(&r->t, ":%llu", (unsigned long long)p->content_length);
    text_printf(&r->t, " %s", p->keep_alive ? "keep-alive" : "close");
    if (p->body_kind != WEFT_HTTP_BODY_LENGTH && p->content_length)
        text_printf(&r->t, " cl=%llu", (unsigned long long)p->content_length);
    text_printf(&r->t, "\n");
    log_fields(r, 0, p->nheaders, "");
}

static void log_body(run *r, const weft_http_event *ev, const char *piece, size_t off, size_t n)
{
    /* The body slice is inside what this call consumed and ends where consumption ended. */
    CHECK(ev->len > 0 && ev->len <= n);
    CHECK(ev->data == piece + off - ev->len);
    if (!r->in_body) text_printf(&r->t, "BODY \"");
    r->in_body = true;
    text_escaped(&r->t, ev->data, ev->len);
    r->body_bytes += ev->len;
    CHECK(r->p.body_received == r->body_bytes);
}

/* DONE: check the message adds up, that DONE is sticky, and start the next one if asked. */
static void log_done(run *r, size_t at, bool more_input)
{
    end_body(r);
    weft_http_parser *p = &r->p;
    CHECK(p->body_received == r->body_bytes);
    if (p->body_kind == WEFT_HTTP_BODY_LENGTH) CHECK(r->body_bytes == p->content_length);
    if (p->body_kind == WEFT_HTTP_BODY_NONE) CHECK(r->body_bytes == 0);
    CHECK(p->nheaders + p->ntrailers <= r->o->max_headers);
    CHECK(p->ntrailers == 0 || p->body_kind == WEFT_HTTP_BODY_CHUNKED);
    log_fields(r, p->nheaders, p->ntrailers, "trailer ");
    text_printf(&r->t, "DONE @%zu\n", at);

    weft_http_event ev;
    CHECK(weft_http_parser_feed(p, "", 0, &ev) == 0 && ev.type == WEFT_HTTP_EV_DONE);
    if (r->o->pipeline && more_input) {
        weft_http_parser_reset(p, r->o->method);
        r->body_bytes = 0;
    } else {
        r->finished = true;
    }
}

static void log_error(run *r, int rc)
{
    end_body(r);
    text_printf(&r->t, "ERROR %s\n", parse_error_name(rc));
    weft_http_event ev;
    CHECK(weft_http_parser_feed(&r->p, "x", 1, &ev) == rc); /* errors are sticky */
    CHECK(ev.type == WEFT_HTTP_EV_NEED_MORE);
    r->finished = true;
}

/* Feeds one piece (base = its offset in the whole input) until it is used up or we finish. */
static void feed_piece(run *r, const char *piece, size_t len, size_t base, size_t total)
{
    size_t off = 0;
    while (!r->finished) {
        weft_http_event ev;
        ssize_t n = weft_http_parser_feed(&r->p, piece + off, len - off, &ev);
        if (n < 0) {
            log_error(r, (int)n);
            return;
        }
        CHECK((size_t)n <= len - off);
        off += (size_t)n;
        switch (ev.type) {
        case WEFT_HTTP_EV_NEED_MORE:
            CHECK(off == len && ev.data == NULL && ev.len == 0);
            return;
        case WEFT_HTTP_EV_HEAD:
            end_body(r);
            log_head(r);
            break;
        case WEFT_HTTP_EV_BODY:
            log_body(r, &ev, piece, off, (size_t)n);
            break;
        case WEFT_HTTP_EV_DONE:
            log_done(r, base + off, base + off < total);
            break;
        default:
            die("unknown event type");
        }
    }
}

static void finish(run *r, size_t total)
{
    if (r->finished) return;
    if (!r->o->eof) {
        end_body(r);
        text_printf(&r->t, "INCOMPLETE\n");
        return;
    }
    weft_http_event ev;
    int rc = weft_http_parser_eof(&r->p, &ev);
    end_body(r);
    text_printf(&r->t, "EOF\n");
    if (rc == 0) {
        CHECK(ev.type == WEFT_HTTP_EV_DONE);
        log_done(r, total, false); /* complete at the very end of the input */
    } else {
        text_printf(&r->t, "ERROR %s\n", parse_error_name(rc));
        CHECK(weft_http_parser_eof(&r->p, &ev) == rc);
    }
}

static void *alloc_exact(size_t n)
{
    void *p = malloc(n ? n : 1);
    CHECK(p != NULL);
    return p;
}

char *parse_transcript(const parse_opts *o, const char *in, size_t len, const size_t *cuts,
                       size_t ncuts)
{
    run r = {.o = o};
    r.head = alloc_exact(o->head_size);
    r.fields = alloc_exact(o->max_headers * sizeof *r.fields);
    weft_http_parser_config cfg = {.head_buf = r.head,
                                   .head_size = o->head_size,
                                   .headers = r.fields,
                                   .max_headers = o->max_headers,
                                   .max_body = o->max_body};
    if (o->request)
        weft_http_parser_init_request(&r.p, &cfg);
    else
        weft_http_parser_init_response(&r.p, o->method, &cfg);

    size_t start = 0;
    for (size_t i = 0; i <= ncuts && !r.finished; i++) {
        size_t end = i < ncuts ? cuts[i] : len;
        CHECK(end >= start && end <= len);
        char *piece = alloc_exact(end - start);
        if (end > start) memcpy(piece, in + start, end - start);
        feed_piece(&r, piece, end - start, start, len);
        free(piece);
        start = end;
    }
    finish(&r, len);
    free(r.head);
    free(r.fields);
    text_grow(&r.t, 0);
    r.t.s[r.t.len] = '\0';
    return r.t.s;
}

char *parse_transcript_bytewise(const parse_opts *o, const char *in, size_t len)
{
    size_t *cuts = alloc_exact(len * sizeof *cuts);
    for (size_t i = 1; i < len; i++)
        cuts[i - 1] = i;
    char *t = parse_transcript(o, in, len, cuts, len ? len - 1 : 0);
    free(cuts);
    return t;
}

static void expect_same(const char *whole, char *other, const char *how, size_t at)
{
    if (strcmp(whole, other) != 0) {
        fprintf(stderr, "parse_driver: transcript differs when %s %zu\n--- whole:\n%s--- %s:\n%s",
                how, at, whole, how, other);
        abort();
    }
    free(other);
}

char *parse_transcript_all_splits(const parse_opts *o, const char *in, size_t len,
                                  size_t max_exhaustive)
{
    char *whole = parse_transcript(o, in, len, NULL, 0);
    if (len > max_exhaustive) return whole;
    for (size_t cut = 1; cut < len; cut++)
        expect_same(whole, parse_transcript(o, in, len, &cut, 1), "cut at", cut);
    expect_same(whole, parse_transcript_bytewise(o, in, len), "fed bytewise, len", len);
    return whole;
}

/* Three cut positions in [0, len], sorted; repeats and the ends make empty pieces. */
static void derive_cuts(uint64_t seed, size_t len, size_t cuts[3])
{
    for (int i = 0; i < 3; i++) {
        seed = seed * 6364136223846793005u + 1442695040888963407u; /* an LCG step */
        cuts[i] = (size_t)((seed >> 33) % (len + 1));
    }
    for (int i = 1; i < 3; i++)
        for (int j = i; j > 0 && cuts[j - 1] > cuts[j]; j--) {
            size_t t = cuts[j];
            cuts[j] = cuts[j - 1];
            cuts[j - 1] = t;
        }
}

void parse_check_cuts(const parse_opts *o, const char *in, size_t len, uint64_t seed,
                      size_t max_bytewise)
{
    char *whole = parse_transcript(o, in, len, NULL, 0);
    size_t cuts[3];
    derive_cuts(seed, len, cuts);
    expect_same(whole, parse_transcript(o, in, len, &cuts[1], 1), "cut at", cuts[1]);
    expect_same(whole, parse_transcript(o, in, len, cuts, 3), "cut in 4, first at", cuts[0]);
    if (len <= max_bytewise)
        expect_same(whole, parse_transcript_bytewise(o, in, len), "fed bytewise, len", len);
    free(whole);
}
