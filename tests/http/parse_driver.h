/*
 * A test driver for weft_http_parser, shared by the cmocka tests (tests/http) and the fuzz
 * targets (tests/fuzz). It has no cmocka dependency.
 *
 * parse_transcript() feeds an input to a parser cut into pieces at chosen positions and writes
 * down, as text, everything the parser reported. Two runs over the same bytes cut differently
 * must give the same transcript: that is how "split at any byte" is checked. A transcript reads:
 *
 *   HEAD 200 "OK" 1.1 length:5 keep-alive        a response head (status, reason, version,
 *                                                 body kind[:length], keep-alive or close,
 *                                                 then " cl=N" if Content-Length was given
 *                                                 but there is no length-delimited body)
 *   HEAD GET "/x" 1.1 none keep-alive            a request head (FOO? for an unknown method)
 *     Content-Length: 5                          each header field, indented
 *   BODY "hello"                                 all body bytes up to the next event, escaped
 *     trailer X: y                               each trailer field
 *   DONE @42                                     message complete after input byte 42
 *   ERROR parse                                  feed failed (parse, toobig, toomany,
 *                                                 body-toobig, unsupported, truncated, closed)
 *   EOF ...                                      the driver reported the peer's close; then
 *                                                 DONE @len or ERROR ...
 *   INCOMPLETE                                   input ended, no eof asked for
 *
 * Along the way the driver checks the parser's contract and abort()s with a message if it is
 * broken: counts consumed within the input, NEED_MORE consuming everything, body slices inside
 * the input just fed and ending where consumption ended, DONE and errors sticky, strings inside
 * the head buffer and NUL-terminated, body_received adding up.
 *
 * Every piece is copied into its own heap block of exactly its size, so under ASan a parser
 * that reads past what it was given fails loudly.
 */
#ifndef WEFT_TEST_PARSE_DRIVER_H
#define WEFT_TEST_PARSE_DRIVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "weft/http.h"

typedef struct parse_opts {
    bool request;            /* a request parser instead of a response parser */
    weft_http_method method; /* response parser: the request's method */
    size_t head_size;        /* the head buffer's size */
    size_t max_headers;      /* the header array's length */
    uint64_t max_body;       /* the body limit */
    bool eof;                /* report the peer's close once the input is used up */
    bool pipeline;           /* after DONE, reset and read the rest as further messages */
} parse_opts;

/* Response parser for a GET, 1024-byte head, 32 fields, no body limit, eof at the end. */
parse_opts parse_opts_response(void);

/* Request parser, same limits, eof at the end. */
parse_opts parse_opts_request(void);

/*
 * Runs a parser over in[0 .. len) fed in pieces that end at cuts[0 .. ncuts) (increasing, each
 * inside (0, len)); ncuts 0 feeds the input whole. Returns the transcript (malloc'd; free it).
 */
char *parse_transcript(const parse_opts *o, const char *in, size_t len, const size_t *cuts,
                       size_t ncuts);

/* The transcript when fed one byte at a time. */
char *parse_transcript_bytewise(const parse_opts *o, const char *in, size_t len);

/*
 * Checks that the transcript is the same fed whole, cut in two at every position, and fed one
 * byte at a time (the last two only when len <= max_exhaustive). Returns the whole-input
 * transcript (malloc'd), or aborts with both transcripts printed if any differs.
 */
char *parse_transcript_all_splits(const parse_opts *o, const char *in, size_t len,
                                  size_t max_exhaustive);

/*
 * For the fuzz targets: checks that the transcript fed whole equals the transcripts fed cut at
 * one and at three positions derived from seed (empty pieces included), and, when
 * len <= max_bytewise, fed one byte at a time. Aborts with both transcripts if any differs.
 */
void parse_check_cuts(const parse_opts *o, const char *in, size_t len, uint64_t seed,
                      size_t max_bytewise);

/* The short name used in transcripts for a parser error code ("parse", "toobig", ...). */
const char *parse_error_name(int rc);

#endif
