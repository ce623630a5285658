/*
 * weft/error.h — how every weft function reports failure.
 *
 * The contract, shared by every layer:
 *
 *   - A function that can fail returns an int: >= 0 on success, a negative value on failure.
 *   - A failure is either -errno (for example -ECONNREFUSED, -ETIMEDOUT, -EINVAL), exactly as the
 *     kernel reports it, or one of the WEFT_E* codes below for failures that have no errno.
 *   - WEFT_E* codes sit below -4095, out of the range the kernel uses for errno values, so the two
 *     never collide.
 *   - If a call fails, nothing it was asked to do is left half done: no registration, fd, timer or
 *     allocation survives it.
 *   - A coroutine's step result "still pending" (WEFT_PENDING, in weft/coro.h) is not an error and
 *     is never returned by a function that is not a coroutine step.
 *
 * weft_strerror() names any of these values.
 */
#ifndef WEFT_ERROR_H
#define WEFT_ERROR_H

#ifdef __cplusplus
extern "C" {
#endif

/* weft's own failure codes. Each is negative and below -4095. */
enum {
    WEFT_EFINISHED = -5001,       /* a coroutine that already finished was polled again */
    WEFT_ECLOSED = -5002,         /* the channel or resource was closed */
    WEFT_ECORESUME = -5003,       /* a coroutine's resume point was lost (suspended in a switch) */
    WEFT_EEOF = -5004,            /* the stream ended before the data asked for (mid-message) */
    WEFT_ECOCANCEL = -5005,       /* a coroutine suspended with a cancel pending (cancelled while
                                     running, or a suspension in its cleanup block; debug builds) */
    WEFT_EHTTP_PARSE = -5101,     /* the peer sent a malformed HTTP message */
    WEFT_EHTTP_TOOBIG = -5102,    /* an HTTP head (start line + header fields) over its limit */
    WEFT_EHTTP_TRUNCATED = -5103, /* the connection closed before the message was complete */
    WEFT_EHTTP_UNSUPPORTED = -5104, /* valid but unsupported (an https:// URL, say) */
    WEFT_EHTTP_URL = -5105,         /* the URL could not be parsed */
    WEFT_EHTTP_REDIRECTS = -5106,   /* too many redirects */
    WEFT_EHTTP_TOOMANY = -5107,     /* more HTTP header fields than the limit */
    WEFT_EHTTP_BODY_TOOBIG = -5108, /* an HTTP body over its limit */
    WEFT_EHTTP_NORESPONSE = -5109,  /* the server closed the connection without answering */
    WEFT_EADDR = -5201,             /* an address string could not be parsed or resolved */
    WEFT_EADDR_NAME = -5202,        /* the address names a host: it needs a resolver */
    WEFT_ERESOLVE = -5203,          /* a host name resolved to no address (no such host) */
};

/*
 * weft_strerror - a short English description of a weft return value.
 *
 * err: a negative errno, a WEFT_E* code, or any other int.
 * Returns a pointer to a static string; never NULL; never allocates. For -errno values it gives
 * the C library's description; for unknown values, "unknown error". Thread-safe.
 */
const char *weft_strerror(int err);

#ifdef __cplusplus
}
#endif

#endif /* WEFT_ERROR_H */
