/* weft_strerror: one table for weft's own codes, the C library for errno values. */
#define _GNU_SOURCE /* strerrordesc_np: a thread-safe, allocation-free errno description */
#include <string.h>

#include "weft/error.h"

static const struct {
    int code;
    const char *text;
} weft_errors[] = {
    {WEFT_EFINISHED, "coroutine already finished"},
    {WEFT_ECLOSED, "closed"},
    {WEFT_ECORESUME, "coroutine resume point lost (suspension inside a switch?)"},
    {WEFT_EEOF, "stream ended in the middle of a message"},
    {WEFT_ECOCANCEL, "coroutine suspended with a cancel pending (cancelled while running?)"},
    {WEFT_EHTTP_PARSE, "malformed HTTP message"},
    {WEFT_EHTTP_TOOBIG, "HTTP header section too large"},
    {WEFT_EHTTP_TRUNCATED, "HTTP message truncated by the peer"},
    {WEFT_EHTTP_UNSUPPORTED, "not supported"},
    {WEFT_EHTTP_URL, "malformed URL"},
    {WEFT_EHTTP_REDIRECTS, "too many redirects"},
    {WEFT_EHTTP_TOOMANY, "too many HTTP header fields"},
    {WEFT_EHTTP_BODY_TOOBIG, "HTTP body too large"},
    {WEFT_EHTTP_NORESPONSE, "connection closed before any HTTP response"},
    {WEFT_EADDR, "bad or unresolvable address"},
    {WEFT_EADDR_NAME, "address is a host name and needs a resolver"},
    {WEFT_ERESOLVE, "host name not found"},
};

const char *weft_strerror(int err)
{
    for (size_t i = 0; i < sizeof weft_errors / sizeof weft_errors[0]; i++)
        if (weft_errors[i].code == err) return weft_errors[i].text;
    if (err < 0 && err > -4096) {
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 32))
        /* strerror() may write into a shared buffer; the _np variant returns a constant. */
        const char *text = strerrordesc_np(-err);
        if (text) return text;
#else
        return strerror(-err);
#endif
    }
    if (err >= 0) return "success";
    return "unknown error";
}
