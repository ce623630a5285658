/*
 * http:// URLs (RFC 3986 as narrowed by RFC 9110 §4.2.1) and percent-decoding.
 *
 * weft_url_parse() walks the URL left to right: scheme, authority (host and port), then the
 * path, query and fragment. Every part is checked against the characters it may contain, so
 * whatever it returns can go into a request line unchanged.
 */
#define _POSIX_C_SOURCE 200809L /* inet_pton */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <string.h>

#include "http/http_internal.h"
#include "weft/error.h"

/* "http://" in any case; "https://" is refused with its own error, never downgraded. */
static int parse_scheme(const char *url, size_t len, size_t *end)
{
    if (len >= 7 && weft__http_equals_nocase(url, 7, "http://")) {
        *end = 7;
        return 0;
    }
    if (len >= 8 && weft__http_equals_nocase(url, 8, "https://")) return WEFT_EHTTP_UNSUPPORTED;
    return WEFT_EHTTP_URL;
}

/* port = *DIGIT after the ':'; empty means the default. 0 and values over 65535 are errors. */
static int parse_port(weft_url *u, const char *s, size_t len)
{
    unsigned long port = 0;
    if (len == 0) return 0;
    if (len > 5) return WEFT_EHTTP_URL;
    for (size_t i = 0; i < len; i++) {
        if (!weft__http_is_digit((unsigned char)s[i])) return WEFT_EHTTP_URL;
        port = port * 10 + (unsigned long)(s[i] - '0');
    }
    if (port == 0 || port > 65535) return WEFT_EHTTP_URL;
    u->port = (uint16_t)port;
    return 0;
}

/* "[" IPv6address "]", checked by inet_pton (which also rejects zone ids and IPvFuture). */
static int parse_ipv6_literal(weft_url *u, const char *s, size_t len, size_t *end)
{
    const char *close = memchr(s, ']', len);
    if (!close) return WEFT_EHTTP_URL;
    size_t n = (size_t)(close - s) - 1;
    if (n == 0 || n >= INET6_ADDRSTRLEN) return WEFT_EHTTP_URL;
    memcpy(u->host, s + 1, n);
    u->host[n] = '\0';
    struct in6_addr addr;
    if (inet_pton(AF_INET6, u->host, &addr) != 1) return WEFT_EHTTP_URL;
    u->host_is_ipv6 = true;
    *end = n + 2;
    return 0;
}

/* A host name: unreserved characters only (no percent-escapes, no sub-delims). */
static int parse_host_name(weft_url *u, const char *s, size_t len, size_t *end)
{
    size_t n = 0;
    while (n < len && s[n] != ':') {
        if (!weft__http_is_unreserved((unsigned char)s[n])) return WEFT_EHTTP_URL;
        n++;
    }
    if (n == 0 || n > WEFT_URL_HOST_MAX) return WEFT_EHTTP_URL;
    memcpy(u->host, s, n);
    u->host[n] = '\0';
    *end = n;
    return 0;
}

/* authority = host [ ":" port ]; a userinfo part ("user@") is an error. */
static int parse_authority(weft_url *u, const char *s, size_t len)
{
    size_t n;
    if (memchr(s, '@', len)) return WEFT_EHTTP_URL;
    int rc =
        len > 0 && s[0] == '[' ? parse_ipv6_literal(u, s, len, &n) : parse_host_name(u, s, len, &n);
    if (rc < 0) return rc;
    u->port = 80;
    if (n == len) return 0;
    if (s[n] != ':') return WEFT_EHTTP_URL;
    return parse_port(u, s + n + 1, len - n - 1);
}

/* [ path ] [ "?" query ] [ "#" fragment ], s starting at the '/', '?', '#' or the end. */
static int parse_path_query(weft_url *u, const char *s, size_t len)
{
    const char *hash = memchr(s, '#', len);
    size_t target_len = hash ? (size_t)(hash - s) : len;
    if (hash && !weft__http_is_uri_text(hash + 1, len - target_len - 1)) return WEFT_EHTTP_URL;
    if (!weft__http_is_uri_text(s, target_len)) return WEFT_EHTTP_URL;

    const char *question = memchr(s, '?', target_len);
    size_t path_len = question ? (size_t)(question - s) : target_len;
    u->path = path_len ? s : "/";
    u->path_len = path_len ? path_len : 1;
    u->query = question ? question : "";
    u->query_len = target_len - path_len;
    return 0;
}

int weft_url_parse(weft_url *u, const char *url, size_t len)
{
    memset(u, 0, sizeof *u);
    size_t pos;
    int rc = parse_scheme(url, len, &pos);
    if (rc < 0) return rc;
    size_t end = pos;
    while (end < len && url[end] != '/' && url[end] != '?' && url[end] != '#')
        end++;
    rc = parse_authority(u, url + pos, end - pos);
    if (rc < 0) return rc;
    return parse_path_query(u, url + end, len - end);
}

int weft_url_decode(char *dst, size_t size, const char *src, size_t len)
{
    if (len > INT_MAX) return -EOVERFLOW;
    size_t out = 0;
    /* out never passes i, so when dst == src each byte is read before it is overwritten. */
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)src[i];
        if (c == '%') {
            int hi = i + 2 < len ? weft__http_hex_value((unsigned char)src[i + 1]) : -1;
            int lo = i + 2 < len ? weft__http_hex_value((unsigned char)src[i + 2]) : -1;
            if (hi < 0 || lo < 0) return WEFT_EHTTP_URL;
            c = (unsigned char)(hi << 4 | lo);
            i += 2;
        }
        if (out == size) return -ENOBUFS;
        dst[out++] = (char)c;
    }
    return (int)out;
}
