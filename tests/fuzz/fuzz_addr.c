/*
 * Fuzz target: socket addresses as text (weft/addr.h): weft_addr_parse, weft_addr_format,
 * weft_addr_from_sockaddr, weft_addr_port.
 *
 * Checks, for every input (made a NUL-terminated string, cut at its first NUL):
 *   - parsing returns 0, WEFT_EADDR or WEFT_EADDR_NAME, and writes the address only on success;
 *   - a parsed address is AF_INET or AF_INET6 with the matching length, and its port is the
 *     decimal number after the last ':' of the text;
 *   - formatting it fits WEFT_ADDR_STRLEN, fails with -ENOSPC (and an empty string) one byte
 *     short, and gives text that parses back to the same address and formats to the same text;
 *   - copying it through weft_addr_from_sockaddr changes nothing.
 * The text is also formatted from raw bytes taken as a sockaddr of either family, which must
 * give something weft_addr_parse accepts.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <string.h>

#include "fuzz.h"
#include "weft/addr.h"
#include "weft/error.h"

static bool same_addr(const weft_addr *a, const weft_addr *b)
{
    return a->len == b->len && memcmp(&a->ss, &b->ss, a->len) == 0;
}

/* The port written at the end of text: the digits after its last ':'. */
static long text_port(const char *text)
{
    const char *colon = strrchr(text, ':');
    FUZZ_CHECK(colon != NULL);
    long port = 0;
    for (const char *p = colon + 1; *p; p++) {
        FUZZ_CHECK(*p >= '0' && *p <= '9');
        port = port * 10 + (*p - '0');
    }
    return port;
}

/* Formats a, checking the size limits; returns the text's length. */
static int format_checked(const weft_addr *a, char text[WEFT_ADDR_STRLEN])
{
    int n = weft_addr_format(a, text, WEFT_ADDR_STRLEN);
    FUZZ_CHECK(n > 0 && n < WEFT_ADDR_STRLEN && (size_t)n == strlen(text));
    char small[WEFT_ADDR_STRLEN];
    memset(small, 'x', sizeof small);
    FUZZ_CHECK(weft_addr_format(a, small, (size_t)n) == -ENOSPC && small[0] == '\0');
    return n;
}

static void check_parsed(const weft_addr *a, const char *text)
{
    int family = a->ss.ss_family;
    FUZZ_CHECK(family == AF_INET || family == AF_INET6);
    FUZZ_CHECK(a->len ==
               (family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6)));
    FUZZ_CHECK(weft_addr_port(a) == text_port(text));

    char out[WEFT_ADDR_STRLEN], again_text[WEFT_ADDR_STRLEN];
    format_checked(a, out);
    weft_addr again;
    FUZZ_CHECK(weft_addr_parse(&again, out) == 0);
    FUZZ_CHECK(same_addr(a, &again));
    format_checked(&again, again_text);
    FUZZ_CHECK(strcmp(out, again_text) == 0);

    weft_addr copy;
    FUZZ_CHECK(weft_addr_from_sockaddr(&copy, (const struct sockaddr *)&a->ss, a->len) == 0);
    FUZZ_CHECK(same_addr(a, &copy));
}

/* Raw bytes as a sockaddr_in or sockaddr_in6: whatever they hold, the text must parse back. */
static void check_raw(const uint8_t *data, size_t size)
{
    union {
        struct sockaddr_in v4;
        struct sockaddr_in6 v6;
    } sa;
    memset(&sa, 0, sizeof sa);
    memcpy(&sa, data, size < sizeof sa ? size : sizeof sa);
    bool v6 = size > 0 && (data[0] & 1);
    sa.v4.sin_family = v6 ? AF_INET6 : AF_INET;
    weft_addr a;
    socklen_t len = v6 ? sizeof sa.v6 : sizeof sa.v4;
    FUZZ_CHECK(weft_addr_from_sockaddr(&a, (const struct sockaddr *)&sa, len) == 0);
    char text[WEFT_ADDR_STRLEN];
    format_checked(&a, text);
    weft_addr back;
    FUZZ_CHECK(weft_addr_parse(&back, text) == 0);
    FUZZ_CHECK(weft_addr_port(&back) == weft_addr_port(&a));
    if (!v6) { /* sin_zero is not part of the text */
        const struct sockaddr_in *x = (const struct sockaddr_in *)&a.ss;
        const struct sockaddr_in *y = (const struct sockaddr_in *)&back.ss;
        FUZZ_CHECK(x->sin_addr.s_addr == y->sin_addr.s_addr);
        return;
    }
    /* The flow label is not part of the text; the address and the scope are. */
    const struct sockaddr_in6 *x = (const struct sockaddr_in6 *)&a.ss;
    const struct sockaddr_in6 *y = (const struct sockaddr_in6 *)&back.ss;
    FUZZ_CHECK(memcmp(&x->sin6_addr, &y->sin6_addr, sizeof x->sin6_addr) == 0);
    FUZZ_CHECK(x->sin6_scope_id == y->sin6_scope_id);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    FUZZ_CHECK(text != NULL);
    if (size) memcpy(text, data, size);
    text[size] = '\0';

    weft_addr a, untouched;
    memset(&a, 0xa5, sizeof a);
    memcpy(&untouched, &a, sizeof a);
    int r = weft_addr_parse(&a, text);
    FUZZ_CHECK(r == 0 || r == WEFT_EADDR || r == WEFT_EADDR_NAME);
    if (r == 0)
        check_parsed(&a, text);
    else
        FUZZ_CHECK(memcmp(&a, &untouched, sizeof a) == 0);
    check_raw(data, size);
    free(text);
    return 0;
}
