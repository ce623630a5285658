/*
 * Address strings: "a.b.c.d:PORT" and "[IPv6]:PORT" to and from struct sockaddr_storage.
 *
 * The parser splits the text into a host part and a port part, then hands the host to
 * inet_pton(), which is strict (four decimal parts for IPv4, no leading zeros) and makes no
 * system call. Host names are recognised only to give them their own error code; see addr.h for
 * why they are not resolved here.
 */
#include "weft/addr.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "weft/error.h"
#include "runtime/internal.h" /* weft__port_parse */

/* Longest host part we copy out of the text: an IPv6 literal plus "%" and a 10-digit scope. */
#define HOST_MAX (INET6_ADDRSTRLEN + 11)

int weft__port_parse(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 5) return WEFT_EADDR;
    long port = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') return WEFT_EADDR;
        port = port * 10 + (s[i] - '0');
    }
    return port <= 65535 ? (int)port : WEFT_EADDR;
}

/* A scope id after "%": decimal digits only, fits in 32 bits. Interface names are not looked up
 * because if_nametoindex() opens a socket. Returns 0 or WEFT_EADDR. */
static int parse_scope(const char *s, uint32_t *scope)
{
    size_t n = strlen(s);
    if (n == 0 || n > 10) return WEFT_EADDR;
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') return WEFT_EADDR;
        v = v * 10 + (uint64_t)(s[i] - '0');
    }
    if (v > UINT32_MAX) return WEFT_EADDR;
    *scope = (uint32_t)v;
    return 0;
}

/*
 * Is `host` shaped like a DNS name (RFC 1123 letters, digits, '-' and '.', at least one letter so
 * that a bad IPv4 literal such as "256.1.1.1" stays WEFT_EADDR)? Only decides which error to
 * return; nothing is resolved.
 */
static bool looks_like_hostname(const char *host)
{
    size_t n = strlen(host);
    bool letter = false;
    if (n == 0 || n > 253 || host[0] == '-' || host[0] == '.') return false;
    for (size_t i = 0; i < n; i++) {
        char c = host[i];
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
            letter = true;
        else if (!((c >= '0' && c <= '9') || c == '-' || c == '.'))
            return false;
    }
    return letter;
}

/* Copies a filled sockaddr_in or sockaddr_in6 into `addr`, zeroing the rest. */
static void store(weft_addr *addr, const void *sa, socklen_t len)
{
    memset(addr, 0, sizeof *addr);
    memcpy(&addr->ss, sa, len);
    addr->len = len;
}

static int parse_ipv4(weft_addr *addr, const char *host, int port)
{
    struct sockaddr_in sin;
    memset(&sin, 0, sizeof sin);
    if (inet_pton(AF_INET, host, &sin.sin_addr) != 1)
        return looks_like_hostname(host) ? WEFT_EADDR_NAME : WEFT_EADDR;
    sin.sin_family = AF_INET;
    sin.sin_port = htons((uint16_t)port);
    store(addr, &sin, sizeof sin);
    return 0;
}

/* `host` is the text between the brackets; it may end in "%scope". */
static int parse_ipv6(weft_addr *addr, char *host, int port)
{
    struct sockaddr_in6 sin6;
    memset(&sin6, 0, sizeof sin6);
    char *pct = strchr(host, '%');
    if (pct) {
        *pct = '\0';
        if (parse_scope(pct + 1, &sin6.sin6_scope_id) < 0) return WEFT_EADDR;
    }
    if (inet_pton(AF_INET6, host, &sin6.sin6_addr) != 1) return WEFT_EADDR;
    sin6.sin6_family = AF_INET6;
    sin6.sin6_port = htons((uint16_t)port);
    store(addr, &sin6, sizeof sin6);
    return 0;
}

/*
 * Splits "HOST:PORT" or "[HOST]:PORT" at the right place and copies HOST into `host`. Returns the
 * port, or WEFT_EADDR. *bracketed says which form it was.
 */
static int split_host_port(const char *text, char host[HOST_MAX], bool *bracketed)
{
    const char *host_start = text, *host_end, *port;
    *bracketed = text[0] == '[';
    if (*bracketed) {
        host_start = text + 1;
        host_end = strchr(host_start, ']');
        if (!host_end || host_end[1] != ':') return WEFT_EADDR;
        port = host_end + 2;
    } else {
        /* The last colon: an unbracketed IPv6 address then fails as an invalid IPv4 host. */
        host_end = strrchr(text, ':');
        if (!host_end) return WEFT_EADDR;
        port = host_end + 1;
    }
    size_t n = (size_t)(host_end - host_start);
    if (n == 0 || n >= HOST_MAX) return WEFT_EADDR;
    memcpy(host, host_start, n);
    host[n] = '\0';
    return weft__port_parse(port);
}

int weft_addr_parse(weft_addr *addr, const char *text)
{
    if (!addr || !text) return -EINVAL;
    char host[HOST_MAX];
    bool bracketed;
    int port = split_host_port(text, host, &bracketed);
    if (port < 0) return port;
    if (bracketed) return parse_ipv6(addr, host, port);
    if (strchr(host, ':') || strchr(host, '[') || strchr(host, ']')) return WEFT_EADDR;
    return parse_ipv4(addr, host, port);
}

static int format_ipv4(const struct sockaddr_in *sin, char *buf, size_t size)
{
    char ip[INET_ADDRSTRLEN];
    inet_ntop(AF_INET, &sin->sin_addr, ip, sizeof ip);
    return snprintf(buf, size, "%s:%u", ip, (unsigned)ntohs(sin->sin_port));
}

static int format_ipv6(const struct sockaddr_in6 *sin6, char *buf, size_t size)
{
    char ip[INET6_ADDRSTRLEN];
    inet_ntop(AF_INET6, &sin6->sin6_addr, ip, sizeof ip);
    unsigned port = ntohs(sin6->sin6_port);
    if (sin6->sin6_scope_id != 0)
        return snprintf(buf, size, "[%s%%%lu]:%u", ip, (unsigned long)sin6->sin6_scope_id, port);
    return snprintf(buf, size, "[%s]:%u", ip, port);
}

int weft_addr_format(const weft_addr *addr, char *buf, size_t size)
{
    if (!addr || !buf) return -EINVAL;
    int n;
    if (addr->ss.ss_family == AF_INET)
        n = format_ipv4((const struct sockaddr_in *)&addr->ss, buf, size);
    else if (addr->ss.ss_family == AF_INET6)
        n = format_ipv6((const struct sockaddr_in6 *)&addr->ss, buf, size);
    else
        n = -EAFNOSUPPORT;
    if (n >= 0 && (size_t)n >= size) n = -ENOSPC; /* snprintf truncated it */
    if (n < 0 && size > 0) buf[0] = '\0';
    return n;
}

int weft_addr_from_sockaddr(weft_addr *addr, const struct sockaddr *sa, socklen_t len)
{
    if (!addr || !sa || len > sizeof addr->ss) return -EINVAL;
    if (sa->sa_family == AF_INET && len < sizeof(struct sockaddr_in)) return -EINVAL;
    if (sa->sa_family == AF_INET6 && len < sizeof(struct sockaddr_in6)) return -EINVAL;
    if (sa->sa_family != AF_INET && sa->sa_family != AF_INET6) return -EAFNOSUPPORT;
    store(addr, sa, len);
    return 0;
}

int weft_addr_port(const weft_addr *addr)
{
    if (addr->ss.ss_family == AF_INET)
        return ntohs(((const struct sockaddr_in *)&addr->ss)->sin_port);
    if (addr->ss.ss_family == AF_INET6)
        return ntohs(((const struct sockaddr_in6 *)&addr->ss)->sin6_port);
    return -EAFNOSUPPORT;
}
