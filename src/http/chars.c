/* The HTTP and URI character classes, and the small helpers over them that every part of
 * src/http uses (tokens, comma lists, case-insensitive names, method names). */
#include <string.h>

#include "http/http_internal.h"

/* The class bits of one byte value, from the predicates in http_internal.h. */
#define CLASS_OF(c)                                                                                \
    ((WEFT__HTTP_IS_TCHAR(c) ? WEFT__HTTP_TCHAR : 0) |                                             \
     (WEFT__HTTP_IS_UNRESERVED(c) ? WEFT__HTTP_UNRESERVED : 0) |                                   \
     (WEFT__HTTP_IS_URI(c) ? WEFT__HTTP_URI : 0) |                                                 \
     (WEFT__HTTP_IS_VCHAR(c) || WEFT__HTTP_IS_OWS(c) ? WEFT__HTTP_FIELD : 0) |                     \
     (WEFT__HTTP_IS_HOST(c) ? WEFT__HTTP_HOST : 0))

/* Four, sixteen, sixty-four consecutive byte values, so the table below is written in one line. */
#define CLASS_4(c)  CLASS_OF(c), CLASS_OF((c) + 1), CLASS_OF((c) + 2), CLASS_OF((c) + 3)
#define CLASS_16(c) CLASS_4(c), CLASS_4((c) + 4), CLASS_4((c) + 8), CLASS_4((c) + 12)
#define CLASS_64(c) CLASS_16(c), CLASS_16((c) + 16), CLASS_16((c) + 32), CLASS_16((c) + 48)

const unsigned char weft__http_class[256] = {CLASS_64(0), CLASS_64(64), CLASS_64(128),
                                             CLASS_64(192)};

bool weft__http_is_uri_text(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (weft__http_class[c] & WEFT__HTTP_URI) continue;
        if (c != '%' || len - i < 3 || weft__http_hex_value((unsigned char)s[i + 1]) < 0 ||
            weft__http_hex_value((unsigned char)s[i + 2]) < 0)
            return false;
        i += 2;
    }
    return true;
}

bool weft__http_is_field_text_by_table(const char *s, size_t len)
{
    return weft__http_all_in_class(s, len, WEFT__HTTP_FIELD);
}

bool weft__http_is_token(const char *s, size_t len)
{
    return len > 0 && weft__http_all_in_class(s, len, WEFT__HTTP_TCHAR);
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
