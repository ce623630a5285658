/* The HTTP and URI character classes, and the small helpers over them that every part of
 * src/http uses (tokens, comma lists, case-insensitive names, method names). */
#include <string.h>

#include "http/http_internal.h"

bool weft__http_is_tchar(unsigned char c)
{
    /* RFC 9110 §5.6.2: tchar = "!" / "#" / "$" / "%" / "&" / "'" / "*" / "+" / "-" / "." /
     * "^" / "_" / "`" / "|" / "~" / DIGIT / ALPHA. The c != 0 check keeps strchr() from
     * matching the string's terminator. */
    return weft__http_is_alpha(c) || weft__http_is_digit(c) ||
           (c != 0 && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

bool weft__http_is_unreserved(unsigned char c)
{
    return weft__http_is_alpha(c) || weft__http_is_digit(c) || c == '-' || c == '.' || c == '_' ||
           c == '~';
}

/* RFC 3986 sub-delims and the four extra characters pchar, query and fragment allow. */
static bool is_uri_char(unsigned char c)
{
    return weft__http_is_unreserved(c) || (c != 0 && strchr("!$&'()*+,;=:@/?", c) != NULL);
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
    size_t i = 0;
    for (; i < len; i++)
        if (word[i] == '\0' || lower((unsigned char)s[i]) != lower((unsigned char)word[i]))
            return false;
    return word[i] == '\0';
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
