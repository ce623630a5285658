/*
 * The head of an HTTP/1.1 message, one complete line at a time: the status line or request line,
 * then header fields (or, after a chunked body, trailer fields). parser.c copies the input into
 * the caller's head buffer a block at a time and calls weft__http_head_lines(), which parses
 * every line whose LF has arrived, so nothing here ever parses a partial line.
 *
 * The parsed strings stay in the head buffer; the parser NUL-terminates them in place by writing
 * over the byte that ends them (a space, the ':' after a field name, or the line's CR).
 */
#include <string.h>

#include "http/http_internal.h"
#include "weft/error.h"

/* "HTTP/1.0" or "HTTP/1.1" at s (8 bytes). Another well-formed version is unsupported. */
static int parse_version(const char *s, int *version)
{
    /* The two versions weft reads, compared as one 8-byte word each: what nearly every message
     * has costs no byte-by-byte checks. memcpy of a constant size compiles to a load. */
    uint64_t word, v10, v11;
    memcpy(&word, s, 8);
    memcpy(&v11, "HTTP/1.1", 8);
    memcpy(&v10, "HTTP/1.0", 8);
    if (word == v11 || word == v10) {
        *version = word == v11 ? 11 : 10;
        return 0;
    }
    if (memcmp(s, "HTTP/", 5) != 0 || !weft__http_is_digit((unsigned char)s[5]) || s[6] != '.' ||
        !weft__http_is_digit((unsigned char)s[7]))
        return WEFT_EHTTP_PARSE;
    return WEFT_EHTTP_UNSUPPORTED; /* HTTP/1.0 and HTTP/1.1 were taken above */
}

/* status-line = HTTP-version SP 3DIGIT SP [ reason-phrase ]; line[n] is the CR. */
static int parse_status_line(weft_http_parser *p, char *line, size_t n)
{
    if (n < 13) return WEFT_EHTTP_PARSE; /* "HTTP/1.1 200 " is the shortest */
    int version;
    int rc = parse_version(line, &version);
    if (rc < 0) return rc;
    const unsigned char *code = (const unsigned char *)line + 9;
    if (line[8] != ' ' || code[0] < '1' || code[0] > '5' || !weft__http_is_digit(code[1]) ||
        !weft__http_is_digit(code[2]) || line[12] != ' ')
        return WEFT_EHTTP_PARSE;
    if (!weft__http_is_field_text(line + 13, n - 13)) return WEFT_EHTTP_PARSE;
    line[n] = '\0';
    p->status = (code[0] - '0') * 100 + (code[1] - '0') * 10 + (code[2] - '0');
    p->reason = line + 13;
    p->reason_len = n - 13;
    p->version = version;
    return 0;
}

/* Methods are case-sensitive (RFC 9110 §9.1): "get" is some other method. The length picks the
 * candidates, so a name is compared with at most two others (memcmp of a constant size inlines). */
static weft_http_method method_from_name(const char *name, size_t len)
{
    switch (len) {
    case 3:
        return memcmp(name, "GET", 3) == 0   ? WEFT_HTTP_GET
               : memcmp(name, "PUT", 3) == 0 ? WEFT_HTTP_PUT
                                             : WEFT_HTTP_OTHER;
    case 4:
        return memcmp(name, "HEAD", 4) == 0   ? WEFT_HTTP_HEAD
               : memcmp(name, "POST", 4) == 0 ? WEFT_HTTP_POST
                                              : WEFT_HTTP_OTHER;
    case 5:
        return memcmp(name, "PATCH", 5) == 0 ? WEFT_HTTP_PATCH : WEFT_HTTP_OTHER;
    case 6:
        return memcmp(name, "DELETE", 6) == 0 ? WEFT_HTTP_DELETE : WEFT_HTTP_OTHER;
    case 7:
        return memcmp(name, "OPTIONS", 7) == 0 ? WEFT_HTTP_OPTIONS : WEFT_HTTP_OTHER;
    default:
        return WEFT_HTTP_OTHER;
    }
}

/*
 * The end of a run of URI characters at t: the first byte that is neither a path/query character
 * nor the start of a "%" HEX HEX escape. The run cannot pass the line's CR (not a URI character),
 * so an escape's two digits are looked at no further than the CR and the LF after it.
 */
static char *uri_text_end(char *t)
{
    for (;;) {
        unsigned char c = (unsigned char)*t;
        if (weft__http_class[c] & WEFT__HTTP_URI) {
            t++;
        } else if (c == '%' && weft__http_hex_value((unsigned char)t[1]) >= 0 &&
                   weft__http_hex_value((unsigned char)t[2]) >= 0) {
            t += 3;
        } else {
            return t;
        }
    }
}

/*
 * The length of the run of tchars at s, which must end before the end of the buffer (a line's CR
 * ends it). Four bytes a step, each tested on its own: the loop's count and branch once per four
 * bytes instead of once per byte (a header name is a dozen bytes).
 */
static size_t tchar_run(const char *s)
{
    const unsigned char *u = (const unsigned char *)s;
    for (size_t i = 0;; i += 4) {
        if (!weft__http_is_tchar(u[i])) return i;
        if (!weft__http_is_tchar(u[i + 1])) return i + 1;
        if (!weft__http_is_tchar(u[i + 2])) return i + 2;
        if (!weft__http_is_tchar(u[i + 3])) return i + 3;
    }
}

/* The request-target forms weft accepts, given a non-empty run of URI characters: origin
 * ("/path?q"), absolute ("http://h/p"), "*". */
static bool is_request_target(const char *t, size_t len)
{
    if (t[0] == '/' || (len == 1 && t[0] == '*')) return true;
    return (len > 7 && weft__http_equals_nocase(t, 7, "http://")) ||
           (len > 8 && weft__http_equals_nocase(t, 8, "https://"));
}

/*
 * request-line = method SP request-target SP HTTP-version; line[n] is the CR.
 * One pass: the method's tchars, the target's URI characters (which cannot contain a space, so
 * the first byte after them must be the second SP), then the version. Every malformed line is
 * WEFT_EHTTP_PARSE before the version is looked at, as when the SP was searched for first.
 */
static int parse_request_line(weft_http_parser *p, char *line, size_t n)
{
    size_t m = tchar_run(line); /* no bound needed: line[n] is the CR */
    if (m == 0 || line[m] != ' ') return WEFT_EHTTP_PARSE;
    char *target = line + m + 1;
    char *sp = uri_text_end(target);
    if (*sp != ' ' || sp == target || (size_t)(line + n - (sp + 1)) != 8) return WEFT_EHTTP_PARSE;
    size_t target_len = (size_t)(sp - target);
    if (!is_request_target(target, target_len)) return WEFT_EHTTP_PARSE;
    int version;
    int rc = parse_version(sp + 1, &version);
    if (rc < 0) return rc;
    line[m] = '\0';
    *sp = '\0';
    p->method = method_from_name(line, m);
    p->method_name = line;
    p->method_name_len = m;
    p->target = target;
    p->target_len = target_len;
    p->version = version;
    return 0;
}

/* field-line = field-name ":" OWS field-value OWS; line[n] is the CR. */
static int add_field(weft_http_parser *p, char *line, size_t n)
{
    size_t name_len = tchar_run(line); /* no bound needed: line[n] is the CR */
    /* An empty name also rejects obs-fold, a line that starts with a space or tab (a folded
     * continuation). A name must end in ':' (line[n], the CR, is not one): this rejects
     * "Name : value", whitespace before the colon having smuggled requests past proxies that
     * read the name differently (RFC 9112 §5.1). */
    if (name_len == 0 || line[name_len] != ':') return WEFT_EHTTP_PARSE;
    size_t start = name_len + 1, end = n;
    start += line[start] == ' '; /* the usual single space, before the loop for any more */
    while (start < end && weft__http_is_ows((unsigned char)line[start]))
        start++;
    /* Trailing OWS, rare: a last byte above ' ' ends the value without the loop's two tests. */
    while (end > start && (unsigned char)line[end - 1] <= ' ' &&
           weft__http_is_ows((unsigned char)line[end - 1]))
        end--;
    if (!weft__http_is_field_text(line + start, end - start)) return WEFT_EHTTP_PARSE;
    if (p->priv.fields == p->priv.cfg.max_headers) return WEFT_EHTTP_TOOMANY;
    line[name_len] = '\0';
    line[end] = '\0'; /* a trailing space or tab, or the CR */
    p->priv.cfg.headers[p->priv.fields++] = (weft_http_header){
        .name = line, .name_len = name_len, .value = line + start, .value_len = end - start};
    return 0;
}

/* The start line, line[0 .. n) without its CRLF, or an empty line before a request's. */
static int start_line(weft_http_parser *p, char *line, size_t n)
{
    if (n == 0) {
        if (!p->priv.is_request) return WEFT_EHTTP_PARSE;
        p->priv.start_line = p->priv.head_len; /* an empty line before a request: skip it */
        return 0;
    }
    return p->priv.is_request ? parse_request_line(p, line, n) : parse_status_line(p, line, n);
}

/*
 * The end (just past the LF) of the line that starts at `start`, or 0 if its LF is not in
 * buf[search .. to) (the bytes from start to search, if any, were searched before). A blank line,
 * the one that ends every head, is recognised without a search.
 */
static size_t line_end(const char *buf, size_t start, size_t search, size_t to)
{
    if (to - start >= 2 && buf[start] == '\r' && buf[start + 1] == '\n') return start + 2;
    const char *lf = memchr(buf + search, '\n', to - search);
    return lf ? (size_t)(lf - buf) + 1 : 0;
}

int weft__http_head_lines(weft_http_parser *p, size_t to, bool trailers)
{
    char *buf = p->priv.cfg.head_buf;
    size_t start = p->priv.line_start, search = p->priv.head_len;
    bool fields = trailers || p->version != 0; /* the start line is behind us */
    for (;;) {
        size_t end = line_end(buf, start, search, to);
        if (end == 0) return 0;
        p->priv.head_len = p->priv.line_start = end;
        /* Every line ends in CRLF. A bare CR inside a line needs no search of its own: no part
         * of a line may contain one (tokens, targets, versions, field values and reason phrases
         * all exclude it), so each part's own check rejects it. */
        size_t n = end - start;
        if (n < 2 || buf[end - 2] != '\r') return WEFT_EHTTP_PARSE;
        n -= 2;
        int rc;
        if (fields) {
            if (n == 0) return 1; /* the blank line: the section is complete */
            rc = add_field(p, buf + start, n);
        } else {
            rc = start_line(p, buf + start, n);
            fields = p->version != 0;
        }
        if (rc != 0) return rc;
        start = search = end;
    }
}
