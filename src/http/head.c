/*
 * The head of an HTTP/1.1 message, one complete line at a time: the status line or request line,
 * then header fields (or, after a chunked body, trailer fields). parser.c collects each line into
 * the caller's head buffer and calls weft__http_head_line() when the line's LF has arrived, so
 * nothing here ever sees a partial line.
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
    if (memcmp(s, "HTTP/", 5) != 0 || !weft__http_is_digit((unsigned char)s[5]) || s[6] != '.' ||
        !weft__http_is_digit((unsigned char)s[7]))
        return WEFT_EHTTP_PARSE;
    if (s[5] != '1' || (s[7] != '0' && s[7] != '1')) return WEFT_EHTTP_UNSUPPORTED;
    *version = 10 + (s[7] - '0');
    return 0;
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

static weft_http_method method_from_name(const char *name, size_t len)
{
    /* Methods are case-sensitive (RFC 9110 §9.1): "get" is some other method. */
    for (int m = WEFT_HTTP_GET; m <= WEFT_HTTP_PATCH; m++) {
        const char *known = weft_http_method_name((weft_http_method)m);
        if (strlen(known) == len && memcmp(known, name, len) == 0) return (weft_http_method)m;
    }
    return WEFT_HTTP_OTHER;
}

/* The request-target forms weft accepts: origin ("/path?q"), absolute ("http://h/p"), "*". */
static bool is_request_target(const char *t, size_t len)
{
    if (len == 0 || !weft__http_is_uri_text(t, len)) return false;
    if (t[0] == '/' || (len == 1 && t[0] == '*')) return true;
    return (len > 7 && weft__http_equals_nocase(t, 7, "http://")) ||
           (len > 8 && weft__http_equals_nocase(t, 8, "https://"));
}

/* request-line = method SP request-target SP HTTP-version; line[n] is the CR. */
static int parse_request_line(weft_http_parser *p, char *line, size_t n)
{
    size_t m = 0;
    while (m < n && weft__http_is_tchar((unsigned char)line[m]))
        m++;
    if (m == 0 || m == n || line[m] != ' ') return WEFT_EHTTP_PARSE;
    char *target = line + m + 1;
    char *sp = memchr(target, ' ', n - m - 1);
    if (!sp || (size_t)(line + n - (sp + 1)) != 8) return WEFT_EHTTP_PARSE;
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
    if (weft__http_is_ows((unsigned char)line[0])) return WEFT_EHTTP_PARSE; /* obs-fold */
    size_t name_len = 0; /* no bound needed: line[n] is the CR, which is not a tchar */
    while (weft__http_is_tchar((unsigned char)line[name_len]))
        name_len++;
    /* This also rejects "Name : value": whitespace before the colon has smuggled requests past
     * proxies that read the name differently (RFC 9112 §5.1). */
    if (name_len == 0 || name_len == n || line[name_len] != ':') return WEFT_EHTTP_PARSE;
    size_t start = name_len + 1, end = n;
    while (start < end && weft__http_is_ows((unsigned char)line[start]))
        start++;
    while (end > start && weft__http_is_ows((unsigned char)line[end - 1]))
        end--;
    if (!weft__http_is_field_text(line + start, end - start)) return WEFT_EHTTP_PARSE;
    if (p->priv.fields == p->priv.cfg.max_headers) return WEFT_EHTTP_TOOMANY;
    line[name_len] = '\0';
    line[end] = '\0'; /* a trailing space or tab, or the CR */
    p->priv.cfg.headers[p->priv.fields++] = (weft_http_header){
        .name = line, .name_len = name_len, .value = line + start, .value_len = end - start};
    return 0;
}

int weft__http_head_line(weft_http_parser *p, bool trailers)
{
    char *line = p->priv.cfg.head_buf + p->priv.line_start;
    size_t n = p->priv.head_len - p->priv.line_start; /* the line ends in its LF */
    if (n < 2 || line[n - 2] != '\r') return WEFT_EHTTP_PARSE;
    n -= 2;
    /* A bare CR inside the line needs no search of its own: no part of a line may contain one
     * (tokens, targets, versions, field values and reason phrases all exclude it), so each
     * part's own check rejects it. */

    if (trailers || p->version != 0) /* the start line is behind us */
        return n == 0 ? 1 : add_field(p, line, n);
    if (n == 0) {
        if (!p->priv.is_request) return WEFT_EHTTP_PARSE;
        p->priv.start_line = p->priv.head_len; /* an empty line before a request: skip it */
        return 0;
    }
    return p->priv.is_request ? parse_request_line(p, line, n) : parse_status_line(p, line, n);
}
