/*
 * Fuzz target: the request parser, as the delay server uses it — pipelined requests on one
 * connection, bodies by Content-Length or chunked, the peer closing at the end.
 *
 * As in fuzz_response.c, each input is parsed with roomy and with tight limits, fed whole, cut
 * at derived positions and (when short) one byte at a time; parse_driver checks the contract and
 * that every way of feeding gives the same transcript.
 */
#include "fuzz.h"
#include "parse_driver.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *in = (const char *)data;
    uint64_t seed = fuzz_hash(data, size);

    parse_opts o = parse_opts_request();
    o.pipeline = true;
    parse_check_cuts(&o, in, size, seed, 512);

    o.head_size = size / 2;
    o.max_headers = 1 + (seed >> 3) % 4;
    o.max_body = size / 4;
    o.eof = seed & 1;
    parse_check_cuts(&o, in, size, seed >> 13, 128);
    return 0;
}
