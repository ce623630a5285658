/*
 * Fuzz target: the delay server's request-target parser, weft_delayserver_parse_target (and the
 * log line it feeds, weft__ds_log_request).
 *
 * Checks, for every input:
 *   - the result is a message length or one of the documented errors, and failures leave the
 *     delay untouched;
 *   - on success the delay is within max_delay_ms and the message no longer than the input; the
 *     message is the percent-decoding of the raw text between the delay's '/' and the first '?',
 *     worked out here independently, from the origin form or the absolute form;
 *   - the limits are exact: the same target succeeds with msg_size equal to the message length
 *     and fails with -ENOBUFS with one byte less; with max_delay_ms equal to the delay it
 *     succeeds, with one less it fails with -ERANGE;
 *   - the log line written for the message holds no control character but its final newline.
 * The input is copied to a buffer of exactly its size, so that reading one byte past it is
 * caught by AddressSanitizer.
 */
#define _GNU_SOURCE /* fmemopen, strncasecmp */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "ds_internal.h"
#include "fuzz.h"
#include "weft/error.h"
#include "weft/http.h"

/* The raw message of a target, found without the server's code: after the scheme and authority
 * of an absolute form, a '/', decimal digits, a '/'; up to the first '?'. Returns false if the
 * target does not have that shape. */
static bool raw_message(const char *t, size_t len, const char **msg, size_t *msg_len,
                        uint64_t *delay, size_t *digits)
{
    const char *end = t + len;
    for (size_t scheme = 8; scheme >= 7; scheme--) {
        if (len > scheme && strncasecmp(t, scheme == 7 ? "http://" : "https://", scheme) == 0) {
            const char *slash = memchr(t + scheme, '/', len - scheme);
            t = slash ? slash : end;
            break;
        }
    }
    const char *q = memchr(t, '?', (size_t)(end - t));
    if (q) end = q;
    if (t == end || *t != '/') return false;
    t++;
    *delay = 0;
    for (*digits = 0; t < end && *t >= '0' && *t <= '9'; t++, ++*digits)
        if (*delay <= UINT32_MAX) *delay = *delay * 10 + (uint64_t)(*t - '0');
    if (*digits == 0 || t == end || *t != '/') return false;
    *msg = t + 1;
    *msg_len = (size_t)(end - *msg);
    return true;
}

static void check_log_line(const char *msg, size_t len, uint32_t delay)
{
    char line[4 * 4096 + 64];
    FILE *f = fmemopen(line, sizeof line, "w");
    FUZZ_CHECK(f != NULL);
    weft__ds_log_request(f, 7, delay, msg, len);
    long n = ftell(f);
    fclose(f);
    FUZZ_CHECK(n > 0 && (size_t)n < sizeof line);
    for (long i = 0; i < n - 1; i++)
        FUZZ_CHECK((unsigned char)line[i] >= 0x20 && (unsigned char)line[i] != 0x7f);
    FUZZ_CHECK(line[n - 1] == '\n');
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 4096) return 0; /* a request head is at most 8 KiB; this is plenty */
    /* calloc: with size 0 nothing is copied in, and gcc -O2 warns about reading it */
    char *in = calloc(size ? size : 1, 1), *msg = malloc(size ? size : 1);
    FUZZ_CHECK(in && msg);
    if (size) memcpy(in, data, size);
    uint32_t max = (uint32_t)(fuzz_hash(data, size) % 100000);

    uint32_t delay = 0xdeadbeef;
    int r = weft_delayserver_parse_target(in, size, max, &delay, msg, size);
    FUZZ_CHECK(r >= 0 || r == -EINVAL || r == -ERANGE || r == WEFT_EHTTP_URL);
    const char *raw = NULL; /* set only when shaped; initialised for gcc -O2's flow analysis */
    size_t raw_len = 0, digits = 0;
    uint64_t want_delay = 0;
    bool shaped = raw_message(in, size, &raw, &raw_len, &want_delay, &digits);
    if (r < 0) {
        FUZZ_CHECK(delay == 0xdeadbeef);
        if (r == -EINVAL) FUZZ_CHECK(!shaped);
        if (r == -ERANGE) FUZZ_CHECK(shaped && want_delay > max);
        if (r == WEFT_EHTTP_URL) FUZZ_CHECK(shaped && memchr(raw, '%', raw_len) != NULL);
        free(in);
        free(msg);
        return 0;
    }
    FUZZ_CHECK(shaped && delay == want_delay && delay <= max);
    FUZZ_CHECK((size_t)r <= raw_len);
    char *decoded = malloc(raw_len ? raw_len : 1);
    FUZZ_CHECK(decoded != NULL);
    FUZZ_CHECK(weft_url_decode(decoded, raw_len, raw, raw_len) == r);
    FUZZ_CHECK(memcmp(decoded, msg, (size_t)r) == 0);
    free(decoded);

    /* The limits are exact. */
    uint32_t d2;
    FUZZ_CHECK(weft_delayserver_parse_target(in, size, max, &d2, msg, (size_t)r) == r);
    if (r > 0)
        FUZZ_CHECK(weft_delayserver_parse_target(in, size, max, &d2, msg, (size_t)r - 1) ==
                   -ENOBUFS);
    FUZZ_CHECK(weft_delayserver_parse_target(in, size, delay, &d2, msg, size) == r && d2 == delay);
    if (delay > 0)
        FUZZ_CHECK(weft_delayserver_parse_target(in, size, delay - 1, &d2, msg, size) == -ERANGE);

    check_log_line(msg, (size_t)r, delay);
    free(in);
    free(msg);
    return 0;
}
