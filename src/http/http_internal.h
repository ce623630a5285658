/*
 * Private to src/http: the character classes of RFC 9110/9112 and RFC 3986 that the parser, the
 * request writer and the URL parser share, and the parser's internal steps.
 */
#ifndef WEFT_HTTP_INTERNAL_H
#define WEFT_HTTP_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h> /* memcpy in the inline checks below */

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
 * Whether every byte of s[0 .. len) is in class `bits` (one class bit). Eight bytes a step (four
 * for shorter strings), their classes ANDed together: one test and branch per step instead of per
 * byte; the last step overlaps the one before instead of a byte loop for the remainder. Inline:
 * it checks a Host value or a token of a few bytes, where a call cost a quarter of the check.
 */
static inline bool weft__http_all_in_class(const char *s, size_t len, unsigned bits)
{
    const unsigned char *u = (const unsigned char *)s;
    const unsigned char *c = weft__http_class;
    if (len < 4) {
        for (size_t i = 0; i < len; i++)
            if (!(c[u[i]] & bits)) return false;
        return true;
    }
    if (len < 8) /* two overlapping four-byte steps */
        return c[u[0]] & c[u[1]] & c[u[2]] & c[u[3]] & c[u[len - 4]] & c[u[len - 3]] &
               c[u[len - 2]] & c[u[len - 1]] & bits;
    for (size_t i = 0;; i += 8) { /* eight bytes a step: a host or a token of 8 to 16 in two */
        if (i > len - 8) i = len - 8;
        unsigned all = c[u[i]] & c[u[i + 1]] & c[u[i + 2]] & c[u[i + 3]] & c[u[i + 4]] &
                       c[u[i + 5]] & c[u[i + 6]] & c[u[i + 7]];
        if (!(all & bits)) return false;
        if (i == len - 8) return true;
    }
}

/* weft__http_is_field_text by the table alone (chars.c): out of line, so that the rare case does
 * not weigh on the code of every caller. */
bool weft__http_is_field_text_by_table(const char *s, size_t len);

/*
 * Whether none of the eight bytes of w is below 0x20 or is 0x7f (DEL): then all of them are field
 * text. Two classic bit tricks, each exact for "is there such a byte": (x - 0x01..) & ~x & 0x80..
 * is non-zero iff some byte of x is zero, and (w - 0x20..) & ~w & 0x80.. iff some byte of w is
 * below 0x20. A tab (allowed, but below 0x20) makes this say false; the caller then asks the table.
 */
static inline bool weft__http_word_is_plain_text(uint64_t w)
{
    const uint64_t ones = 0x0101010101010101u, high = 0x8080808080808080u;
    uint64_t del = w ^ (0x7f * ones);
    return ((((w - 0x20 * ones) & ~w) | ((del - ones) & ~del)) & high) == 0;
}

/*
 * Whether s[0 .. len) may be a field value or reason phrase: visible characters, obs-text,
 * spaces and tabs (no CR, LF, NUL or other control character). Eight bytes a step without the
 * table (the last step overlapping the one before, values of 4 to 7 bytes read as two
 * overlapping halves): a value is checked in 2 steps instead of 4 table steps. Anything the
 * steps cannot vouch for (a tab, or a bad byte) goes to the table, which has the last word.
 */
static inline bool weft__http_is_field_text(const char *s, size_t len)
{
    uint64_t w;
    if (len >= 8) {
        for (size_t i = 0;; i += 8) {
            if (i > len - 8) i = len - 8;
            memcpy(&w, s + i, 8);
            if (!weft__http_word_is_plain_text(w)) break;
            if (i == len - 8) return true;
        }
    } else if (len >= 4) {
        uint32_t lo, hi;
        memcpy(&lo, s, 4);
        memcpy(&hi, s + len - 4, 4);
        if (weft__http_word_is_plain_text(lo | (uint64_t)hi << 32)) return true;
    } else { /* "OK", "13": the table, byte by byte */
        for (size_t i = 0; i < len; i++)
            if (!(weft__http_class[(unsigned char)s[i]] & WEFT__HTTP_FIELD)) return false;
        return true;
    }
    return weft__http_is_field_text_by_table(s, len);
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
 * Parses the complete lines of the head or the trailer section in head_buf[priv.line_start .. to)
 * (head_buf[line_start .. head_len) is a line begun earlier, known to have no LF yet). Moves
 * line_start and head_len past each line it takes. Returns 1 when it took the blank line that
 * ends the section, 0 when the next line is not complete, or a negative error.
 */
int weft__http_head_lines(weft_http_parser *p, size_t to, bool trailers);

/*
 * Works out the body's framing and keep_alive from a complete head (Content-Length,
 * Transfer-Encoding, Connection, Host, the status and the request's method). Returns 0 or an error.
 */
int weft__http_head_framing(weft_http_parser *p);

#endif
