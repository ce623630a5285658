/*
 * weft/addr.h — socket addresses as text: "127.0.0.1:8080", "[::1]:8080".
 *
 * A weft_addr is a struct sockaddr_storage plus its length, ready for connect(2) and bind(2).
 * This module only parses and formats *numeric* addresses. It never resolves a host name, because
 * resolving (getaddrinfo) blocks the calling thread and weft's runtime is a single thread: a
 * resolver that blocks would stall every task. A string whose host part is a name ("localhost",
 * "example.com") is recognised as such and rejected with WEFT_EADDR_NAME, so a caller can tell
 * "this needs a resolver" apart from "this is malformed" (WEFT_EADDR). Names are resolved off
 * the loop's thread by weft_resolve (weft/blocking.h); weft_tcp_connect_host (weft/tcp.h) takes
 * either kind of string and resolves only when it must.
 *
 * Accepted forms (PORT is 0..65535 in decimal, at most 5 digits, no sign):
 *     a.b.c.d:PORT          IPv4, four decimal parts, no leading zeros ("0.0.0.0:0" is fine)
 *     [IPv6]:PORT           IPv6 in brackets, any form inet_pton accepts ("[::1]:8080",
 *                           "[::ffff:127.0.0.1]:80")
 *     [IPv6%N]:PORT         IPv6 with a numeric scope (interface index) N, for link-local
 *                           addresses. Interface names are not looked up.
 * An unbracketed IPv6 address is rejected: in "::1:80" the port cannot be told from the address.
 *
 * Nothing here allocates or makes a system call; every function is thread-safe.
 */
#ifndef WEFT_ADDR_H
#define WEFT_ADDR_H

#include <stddef.h>
#include <sys/socket.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * A socket address and its length. Plain data: copy it freely. `len` is the number of meaningful
 * bytes of `ss` (sizeof(struct sockaddr_in) or sizeof(struct sockaddr_in6)); pass
 * (struct sockaddr *)&a.ss and a.len to the socket calls.
 */
typedef struct weft_addr {
    struct sockaddr_storage ss; /* ss.ss_family is AF_INET or AF_INET6 once parsed. */
    socklen_t len;              /* Bytes of ss in use; 0 for an empty address. */
} weft_addr;

/*
 * The longest string weft_addr_format() writes, including the terminating NUL:
 * "[" + IPv6 text (at most 45) + "%" + scope (at most 10 digits) + "]:" + 5 digits + NUL.
 */
#define WEFT_ADDR_STRLEN 65

/*
 * weft_addr_parse - parse "HOST:PORT" into an address.
 *
 * addr: where the result goes. Written only on success.
 * text: a NUL-terminated string in one of the forms listed at the top of this header.
 * Returns 0 on success, or:
 *   -EINVAL          addr or text is NULL;
 *   WEFT_EADDR_NAME  the host part is a well-formed host name ("localhost:80"): it needs a
 *                    resolver, which this function does not run;
 *   WEFT_EADDR       anything else malformed: no port, an empty port, a port over 65535 or with
 *                    a sign or stray characters, unbalanced brackets, an invalid IPv4 or IPv6
 *                    literal, an unbracketed IPv6 address, a non-numeric scope.
 * Never suspends, never blocks.
 */
int weft_addr_parse(weft_addr *addr, const char *text);

/*
 * weft_addr_format - write an address back as text, in the form weft_addr_parse accepts.
 *
 * addr: an AF_INET or AF_INET6 address (from weft_addr_parse, weft_addr_from_sockaddr, or
 *       accept). IPv6 comes out in brackets, with "%N" if it has a scope id.
 * buf, size: the destination; WEFT_ADDR_STRLEN bytes are always enough.
 * Returns the length written (without the NUL), or:
 *   -EINVAL         addr or buf is NULL;
 *   -EAFNOSUPPORT   the family is neither AF_INET nor AF_INET6 (buf is set to "" if size > 0);
 *   -ENOSPC         buf is too small (buf is set to "" if size > 0).
 */
int weft_addr_format(const weft_addr *addr, char *buf, size_t size);

/*
 * weft_addr_from_sockaddr - copy a kernel-filled address (from accept, getsockname, getpeername)
 * into a weft_addr.
 *
 * Returns 0, or -EINVAL if sa is NULL or len does not fit in a sockaddr_storage, or -EAFNOSUPPORT
 * if the family is neither AF_INET nor AF_INET6 (addr is then left unchanged).
 */
int weft_addr_from_sockaddr(weft_addr *addr, const struct sockaddr *sa, socklen_t len);

/*
 * weft_addr_port - the port of an AF_INET or AF_INET6 address, in host byte order (0..65535), or
 * -EAFNOSUPPORT for any other family. Useful after binding to port 0 to learn the port the kernel
 * chose.
 */
int weft_addr_port(const weft_addr *addr);

#ifdef __cplusplus
}
#endif

#endif /* WEFT_ADDR_H */
