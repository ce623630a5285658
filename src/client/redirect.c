/*
 * Redirects: which responses are redirects, what method the next request uses, and how a
 * Location field is turned into the next absolute URL (RFC 9110 §15.4, RFC 3986 §5.2).
 */
#include <stdio.h>
#include <string.h>

#include "client/internal.h"

bool weft__http_is_redirect(int status)
{
    return status == 301 || status == 302 || status == 303 || status == 307 || status == 308;
}

/*
 * 303 See Other always means "GET the other resource" (a HEAD stays a HEAD). For 301 and 302,
 * turning POST into GET is what browsers and curl do and what RFC 9110 §15.4.2 allows; every
 * other method is kept. 307 and 308 keep the method and the body.
 */
weft_http_method weft__http_redirect_method(int status, weft_http_method method)
{
    if (method == WEFT_HTTP_HEAD) return method;
    if (status == 303) return WEFT_HTTP_GET;
    if ((status == 301 || status == 302) && method == WEFT_HTTP_POST) return WEFT_HTTP_GET;
    return method;
}

/* An output buffer that remembers whether anything did not fit. */
struct out {
    char *p;
    size_t len, size;
    bool full;
};

static void put(struct out *o, const char *s, size_t n)
{
    if (o->full || n >= o->size - o->len) {
        o->full = true;
        return;
    }
    memcpy(o->p + o->len, s, n);
    o->len += n;
    o->p[o->len] = '\0';
}

static void put_str(struct out *o, const char *s)
{
    put(o, s, strlen(s));
}

/* "http://host[:port]" of the base URL. */
static void put_origin(struct out *o, const weft_url *base)
{
    put_str(o, "http://");
    put_str(o, base->host_is_ipv6 ? "[" : "");
    put_str(o, base->host);
    put_str(o, base->host_is_ipv6 ? "]" : "");
    if (base->port != 80) {
        char port[8];
        snprintf(port, sizeof port, ":%u", (unsigned)base->port);
        put_str(o, port);
    }
}

/* Whether loc starts with a URI scheme ("http:", "https:", "ftp:"): ALPHA *( ALPHA / DIGIT /
 * "+" / "-" / "." ) ":". */
static bool has_scheme(const char *loc, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        char c = loc[i];
        bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
        if (c == ':') return i > 0;
        if (!alpha && (i == 0 || !((c >= '0' && c <= '9') || c == '+' || c == '-' || c == '.')))
            return false;
    }
    return false;
}

/*
 * The reference forms, from most to least complete: "scheme:..." is taken as it is (the URL
 * parser then accepts http and refuses the rest); "//host/path" borrows the scheme; "/path"
 * borrows scheme and authority; "?query" also borrows the path; anything else is a path
 * relative to the base's directory. Dot segments ("../") are left for the server to resolve.
 */
int weft__http_redirect_url(const weft_url *base, const char *loc, size_t loc_len, char *buf,
                            size_t size)
{
    struct out o = {buf, 0, size, size == 0};
    if (size) buf[0] = '\0';
    if (has_scheme(loc, loc_len)) {
        put(&o, loc, loc_len);
    } else if (loc_len >= 2 && loc[0] == '/' && loc[1] == '/') {
        put_str(&o, "http:");
        put(&o, loc, loc_len);
    } else {
        put_origin(&o, base);
        if (loc_len == 0 || loc[0] == '?' || loc[0] == '#') {
            put(&o, base->path, base->path_len);
            if (loc_len == 0 || loc[0] == '#') put(&o, base->query, base->query_len);
        } else if (loc[0] != '/') {
            const char *slash = base->path;
            for (size_t i = 0; i < base->path_len; i++)
                if (base->path[i] == '/') slash = base->path + i;
            put(&o, base->path, (size_t)(slash - base->path) + 1);
        }
        put(&o, loc, loc_len);
    }
    return o.full ? WEFT_EHTTP_URL : (int)o.len;
}
