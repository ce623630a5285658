/*
 * Private to src/http: the character classes of RFC 9110/9112 and RFC 3986 that the parser, the
 * request writer and the URL parser share, and the parser's internal steps.
 */
#ifndef WEFT_HTTP_INTERNAL_H
#define WEFT_HTTP_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

#include "weft/http.h"

/* ---------------------------------------------------------------------------------------------
 * Character classes. Plain ASCII tests: <ctype.h> would depend on the locale.
 * ------------------------------------------------------------------------------------------- */

static inline bool weft__http_is_alpha(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static inline bool weft__http_is_digit(unsigned char c)
{
    return c >= '0' && c <= '9';
}

/* The value of a hex digit, or -1. */
static inline int weft__http_hex_value(unsigned char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* Space or horizontal tab: "optional whitespace" (OWS) in RFC 9110. */
static inline bool weft__http_is_ows(unsigned char c)
{
    return c == ' ' || c == '\t';
}

/*
 * tchar: what method names, header names and other tokens are made of (RFC 9110 §5.6.2):
 * ALPHA / DIGIT / "!" / "#" / "$" / "%" / "&" / "'" / "*" / "+" / "-" / "." / "^" / "_" / "`" /
 * "|" / "~". Inline, and a switch rather than a search of that list: the parser asks it of every
 * byte of every method and field name, and a compiler turns the cases into one bit test.
 */
static inline bool weft__http_is_tchar(unsigned char c)
{
    if (weft__http_is_alpha(c) || weft__http_is_digit(c)) return true;
    switch (c) {
    /* clang-format off */
    case '!': case '#': case '$': case '%': case '&': case '\'': case '*': case '+': case '-':
    case '.': case '^': case '_': case '`': case '|': case '~':
        return true;
    /* clang-format on */
    default:
        return false;
    }
}

/* Visible ASCII or obs-text (0x80..0xFF): a byte allowed in field values and reason phrases. */
static inline bool weft__http_is_vchar(unsigned char c)
{
    return (c > 0x20 && c < 0x7f) || c >= 0x80;
}

/* RFC 3986 unreserved: ALPHA / DIGIT / "-" / "." / "_" / "~". */
static inline bool weft__http_is_unreserved(unsigned char c)
{
    return weft__http_is_alpha(c) || weft__http_is_digit(c) || c == '-' || c == '.' || c == '_' ||
           c == '~';
}

/*
 * Whether s[0 .. len) is a valid run of path/query/fragment characters: unreserved, sub-delims,
 * ':' '@' '/' '?', and '%' followed by two hex digits. This is also what weft accepts in a
 * request target.
 */
bool weft__http_is_uri_text(const char *s, size_t len);

/* Whether s[0 .. len) may be a field value or reason phrase: visible characters, obs-text,
 * spaces and tabs (no CR, LF, NUL or other control character). */
bool weft__http_is_field_text(const char *s, size_t len);

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
