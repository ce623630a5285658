/*
 * Private to src/http: the character classes of RFC 9110/9112 and RFC 3986 that the parser, the
 * request writer and the URL parser share, and the parser's internal steps.
 */
#ifndef WEFT_HTTP_INTERNAL_H
#define WEFT_HTTP_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "weft/http.h"

/* ---------------------------------------------------------------------------------------------
 * Character classes. Plain ASCII tests: <ctype.h> would depend on the locale.
 *
 * Each class is written once below as a predicate on a byte value (WEFT__HTTP_IS_*), and
 * weft__http_class (chars.c) is the table of those predicates for all 256 byte values, computed
 * by the compiler. The parser asks a class of every byte of every head, so a test is one load
 * and one AND instead of a chain of comparisons.
 * ------------------------------------------------------------------------------------------- */

#define WEFT__HTTP_IS_ALPHA(c) (((c) >= 'a' && (c) <= 'z') || ((c) >= 'A' && (c) <= 'Z'))
#define WEFT__HTTP_IS_DIGIT(c) ((c) >= '0' && (c) <= '9')

/* tchar (RFC 9110 §5.6.2): what method names, header names and other tokens are made of. */
#define WEFT__HTTP_IS_TCHAR(c)                                                                     \
    (WEFT__HTTP_IS_ALPHA(c) || WEFT__HTTP_IS_DIGIT(c) || (c) == '!' || (c) == '#' || (c) == '$' || \
     (c) == '%' || (c) == '&' || (c) == '\'' || (c) == '*' || (c) == '+' || (c) == '-' ||          \
     (c) == '.' || (c) == '^' || (c) == '_' || (c) == '`' || (c) == '|' || (c) == '~')

/* RFC 3986 unreserved: ALPHA / DIGIT / "-" / "." / "_" / "~". */
#define WEFT__HTTP_IS_UNRESERVED(c)                                                                \
    (WEFT__HTTP_IS_ALPHA(c) || WEFT__HTTP_IS_DIGIT(c) || (c) == '-' || (c) == '.' || (c) == '_' || \
     (c) == '~')

/* A path, query or fragment character other than '%': unreserved, sub-delims ("!" / "$" / "&" /
 * "'" / "(" / ")" / "*" / "+" / "," / ";" / "="), and ":" / "@" / "/" / "?" (RFC 3986 §3.3). */
#define WEFT__HTTP_IS_URI(c)                                                                       \
    (WEFT__HTTP_IS_UNRESERVED(c) || (c) == '!' || (c) == '$' || (c) == '&' || (c) == '\'' ||       \
     (c) == '(' || (c) == ')' || (c) == '*' || (c) == '+' || (c) == ',' || (c) == ';' ||           \
     (c) == '=' || (c) == ':' || (c) == '@' || (c) == '/' || (c) == '?')

/* Visible ASCII or obs-text (0x80..0xFF): a byte allowed in field values and reason phrases. */
#define WEFT__HTTP_IS_VCHAR(c) (((c) > 0x20 && (c) < 0x7f) || (c) >= 0x80)

/* Space or horizontal tab: "optional whitespace" (OWS) in RFC 9110. */
#define WEFT__HTTP_IS_OWS(c) ((c) == ' ' || (c) == '\t')

/* What a Host value may contain here: unreserved characters, ':' before a port, and the brackets
 * of an IPv6 literal (the structure is not checked further). */
#define WEFT__HTTP_IS_HOST(c)                                                                      \
    (WEFT__HTTP_IS_UNRESERVED(c) || (c) == ':' || (c) == '[' || (c) == ']')

/* The bits of weft__http_class: one per class. */
enum {
    WEFT__HTTP_TCHAR = 1u << 0,
    WEFT__HTTP_UNRESERVED = 1u << 1,
    WEFT__HTTP_URI = 1u << 2,
    WEFT__HTTP_FIELD = 1u << 3, /* VCHAR or OWS: field values, reason phrases */
    WEFT__HTTP_HOST = 1u << 4,
};

/* weft__http_class[c] - the classes byte c belongs to (chars.c). */
extern const unsigned char weft__http_class[256];

static inline bool weft__http_is_alpha(unsigned char c)
{
    return WEFT__HTTP_IS_ALPHA(c);
}

static inline bool weft__http_is_digit(unsigned char c)
{
    return WEFT__HTTP_IS_DIGIT(c);
}

/* The value of a hex digit, or -1. */
static inline int weft__http_hex_value(unsigned char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

static inline bool weft__http_is_ows(unsigned char c)
{
    return WEFT__HTTP_IS_OWS(c);
}

static inline bool weft__http_is_tchar(unsigned char c)
{
    return weft__http_class[c] & WEFT__HTTP_TCHAR;
}

static inline bool weft__http_is_vchar(unsigned char c)
{
    return WEFT__HTTP_IS_VCHAR(c);
}

static inline bool weft__http_is_unreserved(unsigned char c)
{
    return weft__http_class[c] & WEFT__HTTP_UNRESERVED;
}

/*
 * Whether s[0 .. len) is a valid run of path/query/fragment characters: unreserved, sub-delims,
 * ':' '@' '/' '?', and '%' followed by two hex digits. This is also what weft accepts in a
 * request target.
 */
bool weft__http_is_uri_text(const char *s, size_t len);

/*
 * Whether every byte of s[0 .. len) is in class `bits` (one class bit). Four bytes a step, their
 * classes ANDed together: one test and branch per four bytes instead of per byte (header values are
 * most of what a response head is made of); the last step overlaps the one before instead of a
 * byte loop for the remainder. Inline: the head parser calls it for every field, mostly on a
 * few bytes, where a call cost a quarter of the check.
 */
static inline bool weft__http_all_in_class(const char *s, size_t len, unsigned bits)
{
    const unsigned char *u = (const unsigned char *)s;
    if (len < 4) {
        for (size_t i = 0; i < len; i++)
            if (!(weft__http_class[u[i]] & bits)) return false;
        return true;
    }
    for (size_t i = 0;; i += 4) {
        if (i > len - 4) i = len - 4;
        unsigned all = weft__http_class[u[i]] & weft__http_class[u[i + 1]] &
                       weft__http_class[u[i + 2]] & weft__http_class[u[i + 3]];
        if (!(all & bits)) return false;
        if (i == len - 4) return true;
    }
}

/* Whether s[0 .. len) may be a field value or reason phrase: visible characters, obs-text,
 * spaces and tabs (no CR, LF, NUL or other control character). */
static inline bool weft__http_is_field_text(const char *s, size_t len)
{
    return weft__http_all_in_class(s, len, WEFT__HTTP_FIELD);
}

/* Whether s[0 .. len) is a non-empty token. */
bool weft__http_is_token(const char *s, size_t len);

/* Whether s[0 .. len) equals the NUL-terminated word, ignoring ASCII case. */
bool weft__http_equals_nocase(const char *s, size_t len, const char *word);

/*
 * Iterates over the elements of a comma-separated list ("a, b,,c"), skipping empty elements
 * and trimming spaces and tabs, as RFC 9110 §5.6.1 asks of a recipient. *pos starts at s.
 * Returns true with *elem and *elem_len set, or false at the end of the list.
 */
bool weft__http_list_next(const char **pos, const char *end, const char **elem, size_t *elem_len);

/* Whether a Connection value is a comma list of tokens, as the parser requires. */
bool weft__http_is_token_list(const char *value, size_t len);

/* Whether a Host value is made of what uri-host [":" port] may contain here: unreserved
 * characters, ':', and the brackets of an IPv6 literal (the structure is not checked further). */
bool weft__http_is_host_value(const char *value, size_t len);

/* ---------------------------------------------------------------------------------------------
 * Writing requests (request.c)
 * ------------------------------------------------------------------------------------------- */

/* The longest request line + Host field a weft__http_line_cache keeps. */
#define WEFT__HTTP_LINE_CACHE_MAX 256

/*
 * The request line and Host field of the last request written through it, kept for the next
 * request to the same method and URL (the client keeps one per host record). Checking the URL and
 * writing those two lines was ~470 instructions of every request; comparing the URL with what
 * was cached is a few dozen. line_len 0 means empty: zeroed memory is a valid empty cache.
 */
struct weft__http_line_cache {
    uint16_t line_len; /* the request line, CRLF included; 0: nothing cached */
    uint16_t host_end; /* end of the Host field after it */
    uint16_t path_at;  /* where the path starts in text */
    uint16_t path_len; /* the URL's path_len and query_len (the query follows the path) */
    uint16_t query_len;
    uint16_t host_len; /* strlen of the URL's host */
    uint16_t port;
    bool host_is_ipv6;
    weft_http_method method;
    char text[WEFT__HTTP_LINE_CACHE_MAX]; /* request line, then Host field */
};

/*
 * Like weft_http_request_write (with_body) or weft_http_request_write_head (!with_body), same
 * output and errors; the request line and Host field come from lc when req's method and URL are
 * those it holds, and are kept in lc otherwise (if they fit). The caller's fields and body are
 * checked on every call.
 */
int weft__http_request_write_cached(const weft_http_request *req, struct weft__http_line_cache *lc,
                                    char *buf, size_t size, bool with_body);

/* ---------------------------------------------------------------------------------------------
 * The parser's state, as the client looks at it (parser.c asserts these are its states' values)
 * ------------------------------------------------------------------------------------------- */

#define WEFT__HTTP_ST_COMPLETE 8 /* the message is complete: feed reports DONE */
#define WEFT__HTTP_ST_FAILED   9 /* an error happened: feed reports it again */

/* Whether p has read its whole message: feeding it (any input) would only report DONE. */
static inline bool weft__http_parser_complete(const weft_http_parser *p)
{
    return p->priv.state == WEFT__HTTP_ST_COMPLETE;
}

/* Whether feeding p no input would only ask for more: it is neither complete nor failed. The
 * client then reads at once instead of calling feed for nothing (~50 instructions a call). */
static inline bool weft__http_parser_wants_input(const weft_http_parser *p)
{
    return p->priv.state != WEFT__HTTP_ST_COMPLETE && p->priv.state != WEFT__HTTP_ST_FAILED;
}

/* ---------------------------------------------------------------------------------------------
 * Parser steps shared by parser.c (the state machine) and head.c (start lines and fields)
 * ------------------------------------------------------------------------------------------- */

/*
 * Parses the completed line head_buf[line_start .. head_len) (CRLF included) of the head or the
 * trailer section. Returns 0 to read more lines, 1 when the line was the blank line that ends the
 * section, or a negative error.
 */
int weft__http_head_line(weft_http_parser *p, bool trailers);

/*
 * Works out the body's framing and keep_alive from a complete head (Content-Length,
 * Transfer-Encoding, Connection, Host, the status and the request's method). Returns 0 or an error.
 */
int weft__http_head_framing(weft_http_parser *p);

#endif
