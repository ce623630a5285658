/* The HTTP and URI character classes, and the small helpers over them that every part of
 * src/http uses (tokens, comma lists, case-insensitive names, method names). */
#include <string.h>

#include "http/http_internal.h"

/* RFC 3986 pchar, query and fragment characters: unreserved, sub-delims ("!" / "$" / "&" / "'" /
 * "(" / ")" / "*" / "+" / "," / ";" / "="), and ":" / "@" / "/" / "?". A switch, not a search of
 * that list, for the reason given at weft__http_is_tchar. */
static bool is_uri_char(unsigned char c)
{
    if (weft__http_is_unreserved(c)) return true;
    switch (c) {
    /* clang-format off */
    case '!': case '$': case '&': case '\'': case '(': case ')': case '*': case '+': case ',':
    case ';': case '=': case ':': case '@': case '/': case '?':
        return true;
    /* clang-format on */
    default:
        return false;
    }
}

bool weft__http_is_uri_text(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '%') {
            if (len - i < 3 || weft__http_hex_value((unsigned char)s[i + 1]) < 0 ||
                weft__http_hex_value((unsigned char)s[i + 2]) < 0)
                return false;
            i += 2;
        } else if (!is_uri_char(c)) {
            return false;
        }
    }
    return true;
}

bool weft__http_is_field_text(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (!weft__http_is_vchar(c) && !weft__http_is_ows(c)) return false;
    }
    return true;
}

bool weft__http_is_token(const char *s, size_t len)
{
    if (len == 0) return false;
    for (size_t i = 0; i < len; i++)
        if (!weft__http_is_tchar((unsigned char)s[i])) return false;
    return true;
}

static unsigned char lower(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') ? (unsigned char)(c - 'A' + 'a') : c;
}

bool weft__http_equals_nocase(const char *s, size_t len, const char *word)
{
    for (size_t i = 0; i < len; i++) {
        unsigned char a = (unsigned char)s[i], b = (unsigned char)word[i];
        if (b == '\0') return false;                      /* word is shorter */
        if (a != b && lower(a) != lower(b)) return false; /* equal bytes need no lowering */
    }
    return word[len] == '\0';
}

bool weft__http_list_next(const char **pos, const char *end, const char **elem, size_t *elem_len)
{
    const char *s = *pos;
    while (s < end) {
        const char *comma = memchr(s, ',', (size_t)(end - s));
        const char *stop = comma ? comma : end;
        const char *a = s, *b = stop;
        while (a < b && weft__http_is_ows((unsigned char)*a))
            a++;
        while (b > a && weft__http_is_ows((unsigned char)b[-1]))
            b--;
        s = comma ? comma + 1 : end;
        if (a < b) {
            *pos = s;
            *elem = a;
            *elem_len = (size_t)(b - a);
            return true;
        }
    }
    *pos = end;
    return false;
}

bool weft_http_header_name_is(const weft_http_header *h, const char *name)
{
    return weft__http_equals_nocase(h->name, h->name_len, name);
}

static const char *const method_names[] = {
    [WEFT_HTTP_OTHER] = "",          [WEFT_HTTP_GET] = "GET",     [WEFT_HTTP_HEAD] = "HEAD",
    [WEFT_HTTP_POST] = "POST",       [WEFT_HTTP_PUT] = "PUT",     [WEFT_HTTP_DELETE] = "DELETE",
    [WEFT_HTTP_OPTIONS] = "OPTIONS", [WEFT_HTTP_PATCH] = "PATCH",
};

const char *weft_http_method_name(weft_http_method method)
{
    if ((unsigned)method >= sizeof method_names / sizeof method_names[0]) return "";
    return method_names[method];
}
