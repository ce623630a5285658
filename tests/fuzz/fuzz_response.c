/*
 * Fuzz target: the response parser, chunked bodies and keep-alive sequences included.
 *
 * Each input is one or more responses on a connection. It is parsed under three setups —
 * answering a GET with roomy limits, answering a HEAD, and with tight limits derived from the
 * input's size — and under each, fed whole, cut at one and at three positions derived from the
 * input, and (when short) one byte at a time. parse_driver checks the parser's contract at every
 * call and that all the ways of feeding give the same transcript; ASan checks that nothing reads
 * outside the pieces it was given.
 */
#include "fuzz.h"
#include "parse_driver.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *in = (const char *)data;
    uint64_t seed = fuzz_hash(data, size);

    parse_opts o = parse_opts_response();
    o.pipeline = true;
    parse_check_cuts(&o, in, size, seed, 512);

    o.method = WEFT_HTTP_HEAD;
    o.eof = false;
    parse_check_cuts(&o, in, size, seed >> 7, 0);

    o = parse_opts_response();
    o.pipeline = seed & 1;
    o.head_size = size / 2;
    o.max_headers = 1 + (seed >> 3) % 4;
    o.max_body = size / 4;
    parse_check_cuts(&o, in, size, seed >> 13, 128);
    return 0;
}
