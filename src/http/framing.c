/*
 * Where does the body end? Once the head is complete, the fields that decide framing
 * (Content-Length, Transfer-Encoding), connection reuse (Connection) and, for requests, Host are
 * read here, and the message gets its body_kind (RFC 9112 §6.3).
 *
 * Ambiguity is refused, never resolved by a guess: two parties that resolve it differently (a
 * proxy and a server, say) disagree on where one message ends and the next begins, which is
 * how request smuggling works. So differing Content-Lengths, Content-Length together with
 * chunked, and chunked in HTTP/1.0 are all errors.
 */
#include <string.h>

#include "http/http_internal.h"
#include "weft/error.h"

/* What the head's framing-related fields said. */
typedef struct framing_fields {
    bool has_length;   /* a Content-Length field was present */
    uint64_t length;   /* its value */
    bool has_coding;   /* a Transfer-Encoding field was present */
    unsigned codings;  /* transfer codings listed, over all Transfer-Encoding fields */
    bool only_chunked; /* the codings are exactly one "chunked" */
    bool conn_close;   /* Connection lists "close" */
    bool conn_keep;    /* Connection lists "keep-alive" */
    unsigned hosts;    /* Host fields */
} framing_fields;

/* One Content-Length value, 1*DIGIT, into *v. Returns 0, or PARSE (not digits, over 64 bits). */
static int content_length_value(const char *s, size_t len, uint64_t *v)
{
    *v = 0;
    if (len <= 19) { /* 10^19 - 1 < 2^64: no overflow check (a division by 10) per digit */
        for (size_t i = 0; i < len; i++) {
            unsigned char c = (unsigned char)s[i];
            if (!weft__http_is_digit(c)) return WEFT_EHTTP_PARSE;
            *v = *v * 10 + (uint64_t)(c - '0');
        }
        return 0;
    }
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (!weft__http_is_digit(c)) return WEFT_EHTTP_PARSE;
        uint64_t digit = (uint64_t)(c - '0');
        if (*v > (UINT64_MAX - digit) / 10) return WEFT_EHTTP_PARSE; /* overflows 64 bits */
        *v = *v * 10 + digit;
    }
    return 0;
}

/* A Content-Length value that agrees with any seen before. */
static int add_content_length(framing_fields *f, const char *s, size_t len)
{
    uint64_t v;
    if (len == 0 || content_length_value(s, len, &v) < 0) return WEFT_EHTTP_PARSE;
    if (f->has_length && v != f->length) return WEFT_EHTTP_PARSE;
    f->has_length = true;
    f->length = v;
    return 0;
}

/*
 * Content-Length = 1*DIGIT; a list ("5, 5") or a repeated field must agree on one value. A value
 * with no comma, by far the usual case, is read as it stands (the parser has already trimmed it).
 */
static int read_content_length(framing_fields *f, const weft_http_header *h)
{
    if (add_content_length(f, h->value, h->value_len) == 0) return 0; /* digits: no comma */
    if (memchr(h->value, ',', h->value_len) == NULL) return WEFT_EHTTP_PARSE;
    const char *pos = h->value, *end = h->value + h->value_len, *elem;
    size_t len;
    bool any = false;
    while (weft__http_list_next(&pos, end, &elem, &len)) {
        if (add_content_length(f, elem, len) < 0) return WEFT_EHTTP_PARSE;
        any = true;
    }
    return any ? 0 : WEFT_EHTTP_PARSE;
}

/* Transfer-Encoding = #transfer-coding; weft decodes "chunked" and nothing else. */
static int read_transfer_encoding(framing_fields *f, const weft_http_header *h)
{
    const char *pos = h->value, *end = h->value + h->value_len, *elem;
    size_t len;
    bool any = false;
    while (weft__http_list_next(&pos, end, &elem, &len)) {
        if (!weft__http_is_token(elem, len)) return WEFT_EHTTP_PARSE;
        f->codings++;
        f->only_chunked = f->codings == 1 && weft__http_equals_nocase(elem, len, "chunked");
        any = true;
    }
    f->has_coding = true;
    return any ? 0 : WEFT_EHTTP_PARSE;
}

bool weft__http_is_token_list(const char *value, size_t len)
{
    const char *pos = value, *end = value + len, *elem;
    size_t n;
    while (weft__http_list_next(&pos, end, &elem, &n))
        if (!weft__http_is_token(elem, n)) return false;
    return true;
}

/* Connection = #connection-option (tokens). */
static int read_connection(framing_fields *f, const weft_http_header *h)
{
    if (!weft__http_is_token_list(h->value, h->value_len)) return WEFT_EHTTP_PARSE;
    const char *pos = h->value, *end = h->value + h->value_len, *elem;
    size_t len;
    while (weft__http_list_next(&pos, end, &elem, &len)) {
        if (weft__http_equals_nocase(elem, len, "close")) f->conn_close = true;
        if (weft__http_equals_nocase(elem, len, "keep-alive")) f->conn_keep = true;
    }
    return 0;
}

bool weft__http_is_host_value(const char *value, size_t len)
{
    return weft__http_all_in_class(value, len, WEFT__HTTP_HOST);
}

static int read_host(framing_fields *f, const weft_http_header *h)
{
    if (!weft__http_is_host_value(h->value, h->value_len)) return WEFT_EHTTP_PARSE;
    f->hosts++;
    return 0;
}

/*
 * Whether a parsed field name equals `word`, a lower-case name of the same length made of letters
 * and '-'. Setting bit 0x20 lower-cases a letter; among the bytes a name may hold (tchar, checked
 * by the parser), only the two cases of a letter map to that letter, and only '-' to '-'.
 */
static bool name_is(const weft_http_header *h, const char *word)
{
    size_t n = h->name_len, i = 0;
    if (n >= 8) { /* eight bytes a step, the last step overlapping the one before: 2 for 14 */
        const uint64_t lower = 0x2020202020202020u;
        for (;; i += 8) {
            if (i > n - 8) i = n - 8;
            uint64_t a, b;
            memcpy(&a, h->name + i, 8);
            memcpy(&b, word + i, 8);
            if ((a | lower) != b) return false;
            if (i == n - 8) return true;
        }
    }
    for (; i < n; i++)
        if (((unsigned char)h->name[i] | 0x20) != (unsigned char)word[i]) return false;
    return true;
}

/* name_is for a four-byte name such as "host": one four-byte compare. */
static bool name_is4(const char *name, const char *word)
{
    uint32_t a, b;
    memcpy(&a, name, 4);
    memcpy(&b, word, 4);
    return (a | 0x20202020u) == b;
}

/*
 * One field, if it is one of those that matter here. Most fields are not, and their names' lengths
 * say so before any byte is compared: the test that runs for every field is a switch on a length.
 */
static int read_field(const weft_http_parser *p, framing_fields *f, const weft_http_header *h)
{
    switch (h->name_len) {
    case sizeof "content-length" - 1:
        return name_is(h, "content-length") ? read_content_length(f, h) : 0;
    case sizeof "transfer-encoding" - 1:
        return name_is(h, "transfer-encoding") ? read_transfer_encoding(f, h) : 0;
    case sizeof "connection" - 1:
        return name_is(h, "connection") ? read_connection(f, h) : 0;
    case sizeof "host" - 1:
        return p->priv.is_request && name_is4(h->name, "host") ? read_host(f, h) : 0;
    default:
        return 0;
    }
}

static int read_fields(weft_http_parser *p, framing_fields *f)
{
    for (size_t i = 0; i < p->nheaders; i++) {
        int rc = read_field(p, f, &p->headers[i]);
        if (rc < 0) return rc;
    }
    return 0;
}

/* Which responses never have a body, whatever their fields say (RFC 9112 §6.3, rule 1). */
static bool response_has_no_body(const weft_http_parser *p)
{
    return p->method == WEFT_HTTP_HEAD || p->status == 204 || p->status == 304;
}

int weft__http_head_framing(weft_http_parser *p)
{
    framing_fields f = {0};
    p->nheaders = p->priv.fields;
    int rc = read_fields(p, &f);
    if (rc < 0) return rc;
    if (f.has_coding && (f.has_length || p->version == 10)) return WEFT_EHTTP_PARSE;
    if (p->priv.is_request && (f.hosts > 1 || (p->version == 11 && f.hosts == 0)))
        return WEFT_EHTTP_PARSE; /* RFC 9112 §3.2: a server MUST answer these with 400 */

    p->content_length = f.has_length ? f.length : 0;
    p->keep_alive = !f.conn_close && (p->version == 11 || f.conn_keep);
    /* A request with neither field has no body; a response then runs until the close. */
    bool no_body = p->priv.is_request ? !f.has_coding && !f.has_length : response_has_no_body(p);
    if (no_body) {
        p->body_kind = WEFT_HTTP_BODY_NONE;
    } else if (f.has_coding) {
        if (!f.only_chunked) return WEFT_EHTTP_UNSUPPORTED;
        p->body_kind = WEFT_HTTP_BODY_CHUNKED;
    } else if (f.has_length) {
        p->body_kind = WEFT_HTTP_BODY_LENGTH;
    } else {
        p->body_kind = WEFT_HTTP_BODY_CLOSE;
        p->keep_alive = false;
    }
    return 0;
}
