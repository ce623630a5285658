/*
 * The response parser, table-driven. Each case is an input and the transcript the parser must
 * produce (see parse_driver.h for the format); every case is also fed cut at every position and
 * one byte at a time, and must give the same transcript each way.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "parse_driver.h"
#include "weft/error.h"
#include "weft/http.h"

typedef struct parse_case {
    const char *name;
    const char *in;
    size_t len;         /* 0: strlen(in) */
    const char *expect; /* the transcript; "@END" stands for "@" and the input's length */
    bool head_request;  /* the request was HEAD */
    bool pipeline;      /* read further messages after the first */
    bool no_eof;        /* do not report the peer's close after the input */
} parse_case;

/* Replaces each "@END" in expect by "@<len>". */
static char *expand_end(const char *expect, size_t len)
{
    char num[32];
    snprintf(num, sizeof num, "@%zu", len);
    size_t cap = strlen(expect) * 2 + 64;
    char *out = malloc(cap);
    assert_non_null(out);
    size_t o = 0;
    for (const char *s = expect; *s;) {
        if (strncmp(s, "@END", 4) == 0) {
            o += (size_t)snprintf(out + o, cap - o, "%s", num);
            s += 4;
        } else {
            out[o++] = *s++;
        }
    }
    out[o] = '\0';
    return out;
}

static void check_case(const parse_case *c, parse_opts o)
{
    size_t len = c->len ? c->len : strlen(c->in);
    if (c->head_request) o.method = WEFT_HTTP_HEAD;
    o.pipeline = c->pipeline;
    o.eof = !c->no_eof;
    char *got = parse_transcript_all_splits(&o, c->in, len, 4096);
    char *want = expand_end(c->expect, len);
    if (strcmp(got, want) != 0) print_error("case \"%s\"\n", c->name);
    assert_string_equal(got, want);
    free(got);
    free(want);
}

static void check_table(const parse_case *cases, size_t n, parse_opts o)
{
    for (size_t i = 0; i < n; i++)
        check_case(&cases[i], o);
}

#define CHECK_TABLE(t, o) check_table(t, sizeof t / sizeof t[0], o)

/* ---------------------------------------------------------------------------------------------
 * Status line and header fields
 * ------------------------------------------------------------------------------------------- */

static const parse_case head_cases[] = {
    {"content-length body", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello",
     .expect = "HEAD 200 \"OK\" 1.1 length:5 keep-alive\n  Content-Length: 5\nBODY \"hello\"\n"
               "DONE @END\n"},
    {"HTTP/1.0 closes by default", "HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\nx",
     .expect = "HEAD 200 \"OK\" 1.0 length:1 close\n  Content-Length: 1\nBODY \"x\"\nDONE @END\n"},
    {"HTTP/1.0 keep-alive",
     "HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 0\r\n\r\n",
     .expect = "HEAD 200 \"OK\" 1.0 length:0 keep-alive\n  Connection: Keep-Alive\n"
               "  Content-Length: 0\nDONE @END\n"},
    {"HTTP/1.1 Connection: close",
     "HTTP/1.1 200 OK\r\nconnection: Upgrade, CLOSE\r\nContent-Length: 0\r\n\r\n",
     .expect = "HEAD 200 \"OK\" 1.1 length:0 close\n  connection: Upgrade, CLOSE\n"
               "  Content-Length: 0\nDONE @END\n"},
    {"empty reason phrase", "HTTP/1.1 204 \r\n\r\n",
     .expect = "HEAD 204 \"\" 1.1 none keep-alive\nDONE @END\n"},
    {"reason with spaces, tabs and obs-text", "HTTP/1.1 404 Not \t Found \xff\r\n\r\n",
     .expect = "HEAD 404 \"Not \\x09 Found \\xff\" 1.1 close close\nEOF\nDONE @END\n"},
    {"status 599", "HTTP/1.1 599 x\r\ncontent-length: 0\r\n\r\n",
     .expect = "HEAD 599 \"x\" 1.1 length:0 keep-alive\n  content-length: 0\nDONE @END\n"},
    {"names are case-insensitive", "HTTP/1.1 200 OK\r\ncOnTeNt-LeNgTh: 2\r\n\r\nab",
     .expect = "HEAD 200 \"OK\" 1.1 length:2 keep-alive\n  cOnTeNt-LeNgTh: 2\nBODY \"ab\"\n"
               "DONE @END\n"},
    {"whitespace around values is trimmed",
     "HTTP/1.1 200 OK\r\nX-A:  a  b \t\r\nX-B:\t\r\nX-C:\r\nContent-Length:0\r\n\r\n",
     .expect = "HEAD 200 \"OK\" 1.1 length:0 keep-alive\n  X-A: a  b\n  X-B: \n  X-C: \n"
               "  Content-Length: 0\nDONE @END\n"},
    {"every tchar in a name, obs-text in a value",
     "HTTP/1.1 200 OK\r\n!#$%&'*+-.^_`|~09AZaz: v\x80\xff\"\\\r\ncontent-length: 0\r\n\r\n",
     .expect = "HEAD 200 \"OK\" 1.1 length:0 keep-alive\n"
               "  !#$%&'*+-.^_`|~09AZaz: v\\x80\\xff\\x22\\x5c\n  content-length: 0\n"
               "DONE @END\n"},
    {"identical Content-Length fields and lists",
     "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 3, 3,,\r\n\r\nabc",
     .expect = "HEAD 200 \"OK\" 1.1 length:3 keep-alive\n  Content-Length: 3\n"
               "  Content-Length: 3, 3,,\nBODY \"abc\"\nDONE @END\n"},
    {"framing field names in any case (compared eight bytes a step)",
     "HTTP/1.1 200 OK\r\nCONTENT-LENGTH: 2\r\ncONNECTION: close\r\nContent-LengtH: 2\r\n\r\nok",
     .expect = "HEAD 200 \"OK\" 1.1 length:2 close\n  CONTENT-LENGTH: 2\n  cONNECTION: close\n"
               "  Content-LengtH: 2\nBODY \"ok\"\nDONE @END\n"},
    {"names one byte off a framing name are other fields",
     "HTTP/1.1 200 OK\r\nContent-Lengtx: 9\r\nXontent-Length: 9\r\nContent-Length: 0\r\n\r\n",
     .expect = "HEAD 200 \"OK\" 1.1 length:0 keep-alive\n  Content-Lengtx: 9\n  Xontent-Length: 9\n"
               "  Content-Length: 0\nDONE @END\n"},
    {"Content-Length with leading zeros", "HTTP/1.1 200 OK\r\nContent-Length: 007\r\n\r\n1234567",
     .expect = "HEAD 200 \"OK\" 1.1 length:7 keep-alive\n  Content-Length: 007\n"
               "BODY \"1234567\"\nDONE @END\n"},
    {"Content-Length 2^64-1 is allowed without a body limit",
     "HTTP/1.1 200 OK\r\nContent-Length: 18446744073709551615\r\n\r\nab", .no_eof = true,
     .expect = "HEAD 200 \"OK\" 1.1 length:18446744073709551615 keep-alive\n"
               "  Content-Length: 18446744073709551615\nBODY \"ab\"\nINCOMPLETE\n"},
    {"bytes after the message are left", "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nxEXTRA",
     .expect = "HEAD 200 \"OK\" 1.1 length:1 keep-alive\n  Content-Length: 1\nBODY \"x\"\n"
               "DONE @39\n"},
    {"binary body bytes", "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\n\r\n\0\xff", 42,
     .expect = "HEAD 200 \"OK\" 1.1 length:4 keep-alive\n  Content-Length: 4\n"
               "BODY \"\\x0d\\x0a\\x00\\xff\"\nDONE @END\n"},
};

static void test_head(void **state)
{
    (void)state;
    CHECK_TABLE(head_cases, parse_opts_response());
}

static const parse_case head_errors[] = {
    {"bare LF ends the status line", "HTTP/1.1 200 OK\nContent-Length: 0\r\n\r\n",
     .expect = "ERROR parse\n"},
    {"bare LF ends a field", "HTTP/1.1 200 OK\r\nContent-Length: 0\n\r\n",
     .expect = "ERROR parse\n"},
    {"bare LF ends the head", "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\n",
     .expect = "ERROR parse\n"},
    {"bare CR in a field", "HTTP/1.1 200 OK\r\nX: a\rb\r\n\r\n", .expect = "ERROR parse\n"},
    {"bare CR in the status line", "HTTP/1.1 200 O\rK\r\n\r\n", .expect = "ERROR parse\n"},
    {"no SP after the status", "HTTP/1.1 200\r\n\r\n", .expect = "ERROR parse\n"},
    {"two-digit status", "HTTP/1.1 20 OK\r\n\r\n", .expect = "ERROR parse\n"},
    {"four-digit status", "HTTP/1.1 2000 OK\r\n\r\n", .expect = "ERROR parse\n"},
    {"status 600", "HTTP/1.1 600 X\r\n\r\n", .expect = "ERROR parse\n"},
    {"status 099", "HTTP/1.1 099 X\r\n\r\n", .expect = "ERROR parse\n"},
    {"non-digit status", "HTTP/1.1 2x0 OK\r\n\r\n", .expect = "ERROR parse\n"},
    {"double SP", "HTTP/1.1  200 OK\r\n\r\n", .expect = "ERROR parse\n"},
    {"lower-case HTTP", "http/1.1 200 OK\r\n\r\n", .expect = "ERROR parse\n"},
    {"HTTP/1", "HTTP/1 200 OK\r\n\r\n", .expect = "ERROR parse\n"},
    {"HTTP/2.0 is unsupported", "HTTP/2.0 200 OK\r\n\r\n", .expect = "ERROR unsupported\n"},
    {"HTTP/1.2 is unsupported", "HTTP/1.2 200 OK\r\n\r\n", .expect = "ERROR unsupported\n"},
    {"control character in the reason", "HTTP/1.1 200 O\x01K\r\n\r\n", .expect = "ERROR parse\n"},
    {"DEL in the reason", "HTTP/1.1 200 O\x7fK\r\n\r\n", .expect = "ERROR parse\n"},
    {"empty line before the status line", "\r\nHTTP/1.1 200 OK\r\n\r\n", .expect = "ERROR parse\n"},
    {"garbage", "hello world\r\n\r\n", .expect = "ERROR parse\n"},
    {"obs-fold", "HTTP/1.1 200 OK\r\nX: a\r\n b\r\n\r\n", .expect = "ERROR parse\n"},
    {"obs-fold with a tab", "HTTP/1.1 200 OK\r\nX: a\r\n\tb\r\n\r\n", .expect = "ERROR parse\n"},
    {"space before the first field", "HTTP/1.1 200 OK\r\n X: a\r\n\r\n", .expect = "ERROR parse\n"},
    {"space before the colon", "HTTP/1.1 200 OK\r\nContent-Length : 0\r\n\r\n",
     .expect = "ERROR parse\n"},
    {"tab before the colon", "HTTP/1.1 200 OK\r\nX\t: a\r\n\r\n", .expect = "ERROR parse\n"},
    {"empty name", "HTTP/1.1 200 OK\r\n: a\r\n\r\n", .expect = "ERROR parse\n"},
    {"no colon", "HTTP/1.1 200 OK\r\nX-Thing\r\n\r\n", .expect = "ERROR parse\n"},
    {"separator in a name", "HTTP/1.1 200 OK\r\nX(a): b\r\n\r\n", .expect = "ERROR parse\n"},
    {"NUL in a name", "HTTP/1.1 200 OK\r\nX\0: b\r\n\r\n", 27, .expect = "ERROR parse\n"},
    {"NUL in a value", "HTTP/1.1 200 OK\r\nX: a\0b\r\n\r\n", 28, .expect = "ERROR parse\n"},
    {"control character in a value", "HTTP/1.1 200 OK\r\nX: a\x1b b\r\n\r\n",
     .expect = "ERROR parse\n"},
    {"DEL in a value", "HTTP/1.1 200 OK\r\nX: a\x7f\r\n\r\n", .expect = "ERROR parse\n"},
    {"101 Switching Protocols is unsupported",
     "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n",
     .expect = "ERROR unsupported\n"},
    {"Connection with a non-token", "HTTP/1.1 200 OK\r\nConnection: a b\r\n\r\n",
     .expect = "ERROR parse\n"},
};

static void test_head_errors(void **state)
{
    (void)state;
    CHECK_TABLE(head_errors, parse_opts_response());
}

/* ---------------------------------------------------------------------------------------------
 * Body framing
 * ------------------------------------------------------------------------------------------- */

static const parse_case framing_cases[] = {
    {"Content-Length: 0", "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
     .expect = "HEAD 200 \"OK\" 1.1 length:0 keep-alive\n  Content-Length: 0\nDONE @END\n"},
    {"close-delimited", "HTTP/1.1 200 OK\r\nX: y\r\n\r\nbody to the end\r\n",
     .expect = "HEAD 200 \"OK\" 1.1 close close\n  X: y\nBODY \"body to the end\\x0d\\x0a\"\n"
               "EOF\nDONE @END\n"},
    {"close-delimited, empty", "HTTP/1.0 200 OK\r\n\r\n",
     .expect = "HEAD 200 \"OK\" 1.0 close close\nEOF\nDONE @END\n"},
    {"close-delimited ignores keep-alive", "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\n\r\nab",
     .expect = "HEAD 200 \"OK\" 1.0 close close\n  Connection: keep-alive\nBODY \"ab\"\nEOF\n"
               "DONE @END\n"},
    {"204 has no body, whatever it says",
     "HTTP/1.1 204 No Content\r\nContent-Length: 10\r\n\r\nNEXT",
     .expect = "HEAD 204 \"No Content\" 1.1 none keep-alive cl=10\n  Content-Length: 10\n"
               "DONE @47\n"},
    {"304 has no body", "HTTP/1.1 304 Not Modified\r\nTransfer-Encoding: chunked\r\n\r\n",
     .expect = "HEAD 304 \"Not Modified\" 1.1 none keep-alive\n"
               "  Transfer-Encoding: chunked\nDONE @END\n"},
    {"HEAD: no body despite Content-Length", "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n",
     .head_request = true,
     .expect = "HEAD 200 \"OK\" 1.1 none keep-alive cl=100\n  Content-Length: 100\n"
               "DONE @END\n"},
    {"HEAD: no body despite chunked", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
     .head_request = true,
     .expect = "HEAD 200 \"OK\" 1.1 none keep-alive\n  Transfer-Encoding: chunked\n"
               "DONE @END\n"},
    {"HEAD: no body, close-delimited otherwise", "HTTP/1.1 200 OK\r\n\r\n", .head_request = true,
     .expect = "HEAD 200 \"OK\" 1.1 none keep-alive\nDONE @END\n"},
    {"100 Continue is skipped",
     "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
     .expect = "HEAD 200 \"OK\" 1.1 length:2 keep-alive\n  Content-Length: 2\nBODY \"ok\"\n"
               "DONE @END\n"},
    {"several 1xx, with fields, are skipped",
     "HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\n"
     "HTTP/1.1 100 Continue\r\n\r\n"
     "HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n",
     .expect = "HEAD 201 \"Created\" 1.1 length:0 keep-alive\n  Content-Length: 0\nDONE @END\n"},
    {"keep-alive: two responses",
     "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\na"
     "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
     "1\r\nb\r\n0\r\n\r\n",
     .pipeline = true,
     .expect = "HEAD 200 \"OK\" 1.1 length:1 keep-alive\n  Content-Length: 1\nBODY \"a\"\n"
               "DONE @39\nHEAD 200 \"OK\" 1.1 chunked keep-alive\n"
               "  Transfer-Encoding: chunked\nBODY \"b\"\nDONE @END\n"},
    {"keep-alive: HEAD response then its successor",
     "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n",
     .pipeline = true, .head_request = true,
     .expect = "HEAD 200 \"OK\" 1.1 none keep-alive cl=5\n  Content-Length: 5\nDONE @38\n"
               "HEAD 200 \"OK\" 1.1 none keep-alive cl=5\n  Content-Length: 5\nDONE @END\n"},
};

/* Content-Length values of 19 digits or fewer are read without an overflow check per digit;
 * longer ones with it. Both sides of that line, and the largest value, are read exactly. */
static const parse_case content_length_digits[] = {
    {"19 digits", "HTTP/1.1 200 OK\r\nContent-Length: 9999999999999999999\r\n\r\nab",
     .no_eof = true,
     .expect = "HEAD 200 \"OK\" 1.1 length:9999999999999999999 keep-alive\n"
               "  Content-Length: 9999999999999999999\nBODY \"ab\"\nINCOMPLETE\n"},
    {"2^64 - 1, 20 digits", "HTTP/1.1 200 OK\r\nContent-Length: 18446744073709551615\r\n\r\nab",
     .no_eof = true,
     .expect = "HEAD 200 \"OK\" 1.1 length:18446744073709551615 keep-alive\n"
               "  Content-Length: 18446744073709551615\nBODY \"ab\"\nINCOMPLETE\n"},
    {"leading zeros past 19 digits",
     "HTTP/1.1 200 OK\r\nContent-Length: 000000000000000000002\r\n\r\nab",
     .expect = "HEAD 200 \"OK\" 1.1 length:2 keep-alive\n"
               "  Content-Length: 000000000000000000002\nBODY \"ab\"\nDONE @END\n"},
    {"a letter among 19 digits", "HTTP/1.1 200 OK\r\nContent-Length: 999999999x999999999\r\n\r\n",
     .expect = "ERROR parse\n"},
};

static void test_framing(void **state)
{
    (void)state;
    CHECK_TABLE(framing_cases, parse_opts_response());
    CHECK_TABLE(content_length_digits, parse_opts_response());
}

static const parse_case framing_errors[] = {
    {"differing Content-Length fields",
     "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello",
     .expect = "ERROR parse\n"},
    {"differing Content-Length list", "HTTP/1.1 200 OK\r\nContent-Length: 5, 6\r\n\r\nhello",
     .expect = "ERROR parse\n"},
    {"negative Content-Length", "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
     .expect = "ERROR parse\n"},
    {"signed Content-Length", "HTTP/1.1 200 OK\r\nContent-Length: +5\r\n\r\nhello",
     .expect = "ERROR parse\n"},
    {"Content-Length with junk", "HTTP/1.1 200 OK\r\nContent-Length: 5a\r\n\r\nhello",
     .expect = "ERROR parse\n"},
    {"Content-Length with inner space", "HTTP/1.1 200 OK\r\nContent-Length: 1 2\r\n\r\n",
     .expect = "ERROR parse\n"},
    {"empty Content-Length", "HTTP/1.1 200 OK\r\nContent-Length: \r\n\r\n",
     .expect = "ERROR parse\n"},
    {"Content-Length of only commas", "HTTP/1.1 200 OK\r\nContent-Length: ,\r\n\r\n",
     .expect = "ERROR parse\n"},
    {"Content-Length 2^64 overflows",
     "HTTP/1.1 200 OK\r\nContent-Length: 18446744073709551616\r\n\r\n", .expect = "ERROR parse\n"},
    {"Content-Length far over 2^64",
     "HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999999\r\n\r\n",
     .expect = "ERROR parse\n"},
    {"Content-Length with chunked",
     "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n",
     .expect = "ERROR parse\n"},
    {"chunked with Content-Length",
     "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n",
     .expect = "ERROR parse\n"},
    {"Transfer-Encoding in HTTP/1.0", "HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
     .expect = "ERROR parse\n"},
    {"gzip coding", "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n",
     .expect = "ERROR unsupported\n"},
    {"gzip, chunked", "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
     .expect = "ERROR unsupported\n"},
    {"chunked twice (two fields)",
     "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n",
     .expect = "ERROR unsupported\n"},
    {"chunked, then gzip", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n\r\n",
     .expect = "ERROR unsupported\n"},
    {"chunked with a parameter", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked;q=1\r\n\r\n",
     .expect = "ERROR parse\n"},
    {"empty Transfer-Encoding", "HTTP/1.1 200 OK\r\nTransfer-Encoding:\r\n\r\n",
     .expect = "ERROR parse\n"},
};

static void test_framing_errors(void **state)
{
    (void)state;
    CHECK_TABLE(framing_errors, parse_opts_response());
}

/* ---------------------------------------------------------------------------------------------
 * Chunked bodies
 * ------------------------------------------------------------------------------------------- */

#define CHUNKED_HEAD   "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
#define CHUNKED_EXPECT "HEAD 200 \"OK\" 1.1 chunked keep-alive\n  Transfer-Encoding: chunked\n"

static const parse_case chunked_cases[] = {
    {"two chunks", CHUNKED_HEAD "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n",
     .expect = CHUNKED_EXPECT "BODY \"hello world\"\nDONE @END\n"},
    {"no chunks", CHUNKED_HEAD "0\r\n\r\n", .expect = CHUNKED_EXPECT "DONE @END\n"},
    {"hex sizes, either case, leading zeros",
     CHUNKED_HEAD "000A\r\n0123456789\r\nb\r\nabcdefghijk\r\n00\r\n\r\n",
     .expect = CHUNKED_EXPECT "BODY \"0123456789abcdefghijk\"\nDONE @END\n"},
    {"coding name in any case, list with empty elements",
     "HTTP/1.1 200 OK\r\nTransfer-Encoding: , Chunked ,\r\n\r\n1\r\nx\r\n0\r\n\r\n",
     .expect = "HEAD 200 \"OK\" 1.1 chunked keep-alive\n  Transfer-Encoding: , Chunked ,\n"
               "BODY \"x\"\nDONE @END\n"},
    {"extensions", CHUNKED_HEAD "3;a\r\nabc\r\n3;a=b;c=d\r\ndef\r\n0;last\r\n\r\n",
     .expect = CHUNKED_EXPECT "BODY \"abcdef\"\nDONE @END\n"},
    {"extensions with whitespace (BWS)", CHUNKED_HEAD "3 ; a = b\t;\tc\r\nabc\r\n0\r\n\r\n",
     .expect = CHUNKED_EXPECT "BODY \"abc\"\nDONE @END\n"},
    {"quoted extension values",
     CHUNKED_HEAD "3;a=\"x y;z\\\"\\\\\"\r\nabc\r\n2;q=\"\";r=s\r\nde\r\n0\r\n\r\n",
     .expect = CHUNKED_EXPECT "BODY \"abcde\"\nDONE @END\n"},
    {"trailers", CHUNKED_HEAD "2\r\nhi\r\n0\r\nX-Checksum: abc\r\nx-more:  1 \r\n\r\n",
     .expect = CHUNKED_EXPECT "BODY \"hi\"\n  trailer X-Checksum: abc\n  trailer x-more: 1\n"
                              "DONE @END\n"},
    {"CRLF inside chunk data is data", CHUNKED_HEAD "4\r\n\r\n\r\n\r\n0\r\n\r\n",
     .expect = CHUNKED_EXPECT "BODY \"\\x0d\\x0a\\x0d\\x0a\"\nDONE @END\n"},
    {"bytes after the last chunk are left", CHUNKED_HEAD "0\r\n\r\nHTTP",
     .expect = CHUNKED_EXPECT "DONE @52\n"},
    {"a chunk size of 2^64-1 is allowed without a body limit",
     CHUNKED_HEAD "FFFFFFFFFFFFFFFF\r\nab", .no_eof = true,
     .expect = CHUNKED_EXPECT "BODY \"ab\"\nINCOMPLETE\n"},
};

static void test_chunked(void **state)
{
    (void)state;
    CHECK_TABLE(chunked_cases, parse_opts_response());
}

static const parse_case chunked_errors[] = {
    {"size not hex", CHUNKED_HEAD "x\r\n", .expect = CHUNKED_EXPECT "ERROR parse\n"},
    {"empty size", CHUNKED_HEAD "\r\n", .expect = CHUNKED_EXPECT "ERROR parse\n"},
    {"size with a sign", CHUNKED_HEAD "+5\r\nhello\r\n0\r\n\r\n",
     .expect = CHUNKED_EXPECT "ERROR parse\n"},
    {"size with 0x", CHUNKED_HEAD "0x5\r\nhello\r\n0\r\n\r\n",
     .expect = CHUNKED_EXPECT "ERROR parse\n"},
    {"size overflows 64 bits", CHUNKED_HEAD "10000000000000000\r\n",
     .expect = CHUNKED_EXPECT "ERROR parse\n"},
    {"size line ends in bare LF", CHUNKED_HEAD "5\nhello\r\n0\r\n\r\n",
     .expect = CHUNKED_EXPECT "ERROR parse\n"},
    {"size line CR without LF", CHUNKED_HEAD "5\rhello\r\n0\r\n\r\n",
     .expect = CHUNKED_EXPECT "ERROR parse\n"},
    {"space after the size, no extension", CHUNKED_HEAD "5 \r\nhello\r\n0\r\n\r\n",
     .expect = CHUNKED_EXPECT "ERROR parse\n"},
    {"data not followed by CRLF", CHUNKED_HEAD "5\r\nhelloX\r\n0\r\n\r\n",
     .expect = CHUNKED_EXPECT "BODY \"hello\"\nERROR parse\n"},
    {"data followed by CR only", CHUNKED_HEAD "5\r\nhello\rX0\r\n\r\n",
     .expect = CHUNKED_EXPECT "BODY \"hello\"\nERROR parse\n"},
    {"data followed by LF only", CHUNKED_HEAD "5\r\nhello\n0\r\n\r\n",
     .expect = CHUNKED_EXPECT "BODY \"hello\"\nERROR parse\n"},
    {"empty extension", CHUNKED_HEAD "5;\r\nhello\r\n0\r\n\r\n",
     .expect = CHUNKED_EXPECT "ERROR parse\n"},
    {"extension without a name", CHUNKED_HEAD "5;=a\r\nhello\r\n0\r\n\r\n",
     .expect = CHUNKED_EXPECT "ERROR parse\n"},
    {"extension without a value", CHUNKED_HEAD "5;a=\r\nhello\r\n0\r\n\r\n",
     .expect = CHUNKED_EXPECT "ERROR parse\n"},
    {"extension name with a space inside", CHUNKED_HEAD "5;a b\r\nhello\r\n0\r\n\r\n",
     .expect = CHUNKED_EXPECT "ERROR parse\n"},
    {"extension name then whitespace", CHUNKED_HEAD "5;a \r\nhello\r\n0\r\n\r\n",
     .expect = CHUNKED_EXPECT "ERROR parse\n"},
    {"unterminated quoted value", CHUNKED_HEAD "5;a=\"xy\r\nhello\r\n0\r\n\r\n",
     .expect = CHUNKED_EXPECT "ERROR parse\n"},
    {"control character in a quoted value", CHUNKED_HEAD "5;a=\"x\x01\"\r\nhello\r\n",
     .expect = CHUNKED_EXPECT "ERROR parse\n"},
    {"text after a quoted value", CHUNKED_HEAD "5;a=\"x\"y\r\nhello\r\n",
     .expect = CHUNKED_EXPECT "ERROR parse\n"},
    {"bad trailer", CHUNKED_HEAD "0\r\nX : y\r\n\r\n", .expect = CHUNKED_EXPECT "ERROR parse\n"},
    {"folded trailer", CHUNKED_HEAD "0\r\nX: y\r\n z\r\n\r\n",
     .expect = CHUNKED_EXPECT "ERROR parse\n"},
    {"trailer section ends in bare LF", CHUNKED_HEAD "0\r\n\n",
     .expect = CHUNKED_EXPECT "ERROR parse\n"},
};

static void test_chunked_errors(void **state)
{
    (void)state;
    CHECK_TABLE(chunked_errors, parse_opts_response());
}

/* ---------------------------------------------------------------------------------------------
 * The peer closing early
 * ------------------------------------------------------------------------------------------- */

static const parse_case eof_cases[] = {
    {"nothing at all", "", .expect = "EOF\nERROR closed\n"},
    {"inside the status line", "HTTP/1.1 2", .expect = "EOF\nERROR truncated\n"},
    {"inside the head", "HTTP/1.1 200 OK\r\nContent-Le", .expect = "EOF\nERROR truncated\n"},
    {"after an interim response", "HTTP/1.1 100 Continue\r\n\r\n",
     .expect = "EOF\nERROR truncated\n"},
    {"inside a Content-Length body", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhel",
     .expect = "HEAD 200 \"OK\" 1.1 length:5 keep-alive\n  Content-Length: 5\nBODY \"hel\"\n"
               "EOF\nERROR truncated\n"},
    {"inside a chunk", CHUNKED_HEAD "5\r\nhel",
     .expect = CHUNKED_EXPECT "BODY \"hel\"\nEOF\nERROR truncated\n"},
    {"before the last chunk", CHUNKED_HEAD "5\r\nhello\r\n",
     .expect = CHUNKED_EXPECT "BODY \"hello\"\nEOF\nERROR truncated\n"},
    {"inside the trailers", CHUNKED_HEAD "0\r\nX: y\r\n",
     .expect = CHUNKED_EXPECT "EOF\nERROR truncated\n"},
};

static void test_eof(void **state)
{
    (void)state;
    CHECK_TABLE(eof_cases, parse_opts_response());
}

/* ---------------------------------------------------------------------------------------------
 * Limits
 * ------------------------------------------------------------------------------------------- */

/* Checks one input under the given options (all splits), as check_case() does. */
static void expect_transcript(const parse_opts *o, const char *in, const char *expect)
{
    size_t len = strlen(in);
    char *got = parse_transcript_all_splits(o, in, len, 4096);
    char *want = expand_end(expect, len);
    assert_string_equal(got, want);
    free(got);
    free(want);
}

#define TRAILED_MSG CHUNKED_HEAD "1\r\nx\r\n0\r\nT: 1\r\n\r\n"

/* The head fits a buffer of exactly its size and not one byte less; trailers share it. */
static void test_head_size_limit(void **state)
{
    (void)state;
    parse_opts o = parse_opts_response();
    o.head_size = strlen(CHUNKED_HEAD);
    expect_transcript(&o, CHUNKED_HEAD, CHUNKED_EXPECT "EOF\nERROR truncated\n");
    o.head_size--;
    expect_transcript(&o, CHUNKED_HEAD, "ERROR toobig\n");

    o.head_size = strlen(CHUNKED_HEAD) + strlen("T: 1\r\n\r\n");
    expect_transcript(&o, TRAILED_MSG, CHUNKED_EXPECT "BODY \"x\"\n  trailer T: 1\nDONE @END\n");
    o.head_size--;
    expect_transcript(&o, TRAILED_MSG, CHUNKED_EXPECT "BODY \"x\"\nERROR toobig\n");

    o.head_size = 0;
    expect_transcript(&o, TRAILED_MSG, "ERROR toobig\n");
}

/* head_size may be 0, and then no buffer is needed: a NULL head_buf is never written or
 * searched (under UBSan even a copy of 0 bytes to NULL fails), every head is TOOBIG. */
static void test_head_size_zero_no_buffer(void **state)
{
    (void)state;
    weft_http_header fields[1];
    weft_http_parser_config cfg = {NULL, 0, fields, 1, WEFT_HTTP_UNLIMITED};
    weft_http_parser p;
    weft_http_event ev;
    weft_http_parser_init_response(&p, WEFT_HTTP_GET, &cfg);
    assert_int_equal(weft_http_parser_feed(&p, "HTTP/1.1 200 OK\r\n\r\n", 19, &ev),
                     WEFT_EHTTP_TOOBIG);
    weft_http_parser_init_request(&p, &cfg);
    assert_int_equal(weft_http_parser_feed(&p, "\r", 1, &ev), WEFT_EHTTP_TOOBIG);
}

/* A line that never ends fails as soon as it outgrows the buffer, not at its LF. */
static void test_head_size_endless_line(void **state)
{
    (void)state;
    parse_opts o = parse_opts_response();
    o.head_size = 64;
    o.eof = false;
    char line[66];
    memset(line, 'a', 65);
    line[65] = '\0';
    expect_transcript(&o, line + 1, "INCOMPLETE\n");
    expect_transcript(&o, line, "ERROR toobig\n");
}

/* Interim responses do not eat into the final response's head buffer. */
static void test_head_size_after_interim(void **state)
{
    (void)state;
    parse_opts o = parse_opts_response();
    o.head_size = strlen(CHUNKED_HEAD) + 2; /* the trailer section's CRLF */
    expect_transcript(&o, "HTTP/1.1 100 Continue\r\n\r\n" CHUNKED_HEAD "0\r\n\r\n",
                      CHUNKED_EXPECT "DONE @END\n");
}

static void test_header_count_limit(void **state)
{
    (void)state;
    static const char msg[] = "HTTP/1.1 200 OK\r\nA: 1\r\nB: 2\r\nContent-Length: 0\r\n\r\n";
    parse_opts o = parse_opts_response();
    o.max_headers = 3;
    expect_transcript(&o, msg,
                      "HEAD 200 \"OK\" 1.1 length:0 keep-alive\n  A: 1\n  B: 2\n"
                      "  Content-Length: 0\nDONE @END\n");
    o.max_headers = 2;
    expect_transcript(&o, msg, "ERROR toomany\n");
    o.max_headers = 0;
    expect_transcript(&o, msg, "ERROR toomany\n");
    o.max_headers = 1; /* the header fits, the trailer does not */
    expect_transcript(&o, TRAILED_MSG, CHUNKED_EXPECT "BODY \"x\"\nERROR toomany\n");
}

static void test_body_limit_content_length(void **state)
{
    (void)state;
    static const char msg[] = "HTTP/1.1 413 Too Big\r\nContent-Length: 5\r\n\r\nhello";
    parse_opts o = parse_opts_response();
    o.max_body = 5;
    expect_transcript(&o, msg,
                      "HEAD 413 \"Too Big\" 1.1 length:5 keep-alive\n"
                      "  Content-Length: 5\nBODY \"hello\"\nDONE @END\n");
    o.max_body = 4;
    expect_transcript(&o, msg, "ERROR body-toobig\n");

    /* The error comes instead of HEAD, but the head can still be read for a message. */
    char head[256];
    weft_http_header fields[4];
    weft_http_parser p;
    weft_http_parser_config cfg = {head, sizeof head, fields, 4, 4};
    weft_http_parser_init_response(&p, WEFT_HTTP_GET, &cfg);
    weft_http_event ev;
    assert_int_equal(weft_http_parser_feed(&p, msg, sizeof msg - 1, &ev), WEFT_EHTTP_BODY_TOOBIG);
    assert_int_equal(p.status, 413);
    assert_string_equal(p.reason, "Too Big");
    assert_int_equal(p.content_length, 5);
    assert_int_equal(weft_http_parser_feed(&p, "", 0, &ev), WEFT_EHTTP_BODY_TOOBIG);
    assert_int_equal(weft_http_parser_eof(&p, &ev), WEFT_EHTTP_BODY_TOOBIG);
}

static void test_body_limit_chunked(void **state)
{
    (void)state;
    static const char msg[] = CHUNKED_HEAD "3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n";
    parse_opts o = parse_opts_response();
    o.max_body = 5;
    expect_transcript(&o, msg, CHUNKED_EXPECT "BODY \"abcde\"\nDONE @END\n");
    o.max_body = 4; /* the second chunk's size line already says it is too much */
    expect_transcript(&o, msg, CHUNKED_EXPECT "BODY \"abc\"\nERROR body-toobig\n");
    o.max_body = 0;
    expect_transcript(&o, msg, CHUNKED_EXPECT "ERROR body-toobig\n");
    expect_transcript(&o, CHUNKED_HEAD "0\r\n\r\n", CHUNKED_EXPECT "DONE @END\n");
}

static void test_body_limit_close_delimited(void **state)
{
    (void)state;
    parse_opts o = parse_opts_response();
    o.max_body = 5;
    expect_transcript(&o, "HTTP/1.1 200 OK\r\n\r\nhello",
                      "HEAD 200 \"OK\" 1.1 close close\nBODY \"hello\"\nEOF\nDONE @END\n");
    /* What fits is reported, then the error, however the input was split. */
    expect_transcript(&o, "HTTP/1.1 200 OK\r\n\r\nhello!",
                      "HEAD 200 \"OK\" 1.1 close close\nBODY \"hello\"\nERROR body-toobig\n");
}

/* A chunk-size line may be WEFT_HTTP_CHUNK_LINE_MAX bytes long before its CRLF, not more. */
static void test_chunk_line_limit(void **state)
{
    (void)state;
    size_t head = strlen(CHUNKED_HEAD);
    char *msg = malloc(head + WEFT_HTTP_CHUNK_LINE_MAX + 32);
    assert_non_null(msg);
    memcpy(msg, CHUNKED_HEAD "1;a=", head + 4);
    size_t value = WEFT_HTTP_CHUNK_LINE_MAX - 4; /* "1;a=" + value = the limit */
    memset(msg + head + 4, 'v', value);
    strcpy(msg + head + 4 + value, "\r\nx\r\n0\r\n\r\n");
    parse_opts o = parse_opts_response();
    expect_transcript(&o, msg, CHUNKED_EXPECT "BODY \"x\"\nDONE @END\n");
    memset(msg + head + 4, 'v', value + 1);
    strcpy(msg + head + 4 + value + 1, "\r\nx\r\n0\r\n\r\n");
    expect_transcript(&o, msg, CHUNKED_EXPECT "ERROR toobig\n");
    free(msg);
}

/* ---------------------------------------------------------------------------------------------
 * The API around feed: reset, header lookup, sticky states
 * ------------------------------------------------------------------------------------------- */

static void test_reset_and_lookup(void **state)
{
    (void)state;
    static const char one[] = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2"
                              "\r\n\r\nhiHTTP/1.1 404 Nope\r\nContent-Length: 0\r\n\r\n";
    char head[128];
    weft_http_header fields[4];
    weft_http_parser p;
    weft_http_parser_config cfg = {head, sizeof head, fields, 4, WEFT_HTTP_UNLIMITED};
    weft_http_parser_init_response(&p, WEFT_HTTP_GET, &cfg);
    weft_http_event ev;
    size_t off = 0, len = sizeof one - 1;

    ssize_t n = weft_http_parser_feed(&p, one, len, &ev);
    assert_int_equal(ev.type, WEFT_HTTP_EV_HEAD);
    off += (size_t)n;
    const weft_http_header *h = weft_http_parser_header(&p, "CONTENT-TYPE");
    assert_non_null(h);
    assert_string_equal(h->value, "text/plain");
    assert_string_equal(h->name, "Content-Type");
    assert_null(weft_http_parser_header(&p, "content"));
    assert_int_equal(p.method, WEFT_HTTP_GET);

    n = weft_http_parser_feed(&p, one + off, len - off, &ev);
    assert_int_equal(ev.type, WEFT_HTTP_EV_BODY);
    assert_ptr_equal(ev.data, one + off);
    assert_int_equal(ev.len, 2);
    off += (size_t)n;
    n = weft_http_parser_feed(&p, one + off, len - off, &ev);
    assert_int_equal(n, 0);
    assert_int_equal(ev.type, WEFT_HTTP_EV_DONE);

    weft_http_parser_reset(&p, WEFT_HTTP_HEAD);
    assert_int_equal(p.status, 0);
    assert_int_equal(p.nheaders, 0);
    assert_int_equal(p.method, WEFT_HTTP_HEAD);
    n = weft_http_parser_feed(&p, one + off, len - off, &ev);
    assert_int_equal(ev.type, WEFT_HTTP_EV_HEAD);
    assert_int_equal(p.status, 404);
    assert_int_equal(off + (size_t)n, len);
    assert_int_equal(weft_http_parser_eof(&p, &ev), 0);
    assert_int_equal(ev.type, WEFT_HTTP_EV_DONE);
}

static void test_method_names(void **state)
{
    (void)state;
    assert_string_equal(weft_http_method_name(WEFT_HTTP_GET), "GET");
    assert_string_equal(weft_http_method_name(WEFT_HTTP_PATCH), "PATCH");
    assert_string_equal(weft_http_method_name(WEFT_HTTP_OTHER), "");
    assert_string_equal(weft_http_method_name((weft_http_method)99), "");
    assert_string_equal(weft_strerror(WEFT_EHTTP_TOOMANY), "too many HTTP header fields");
    assert_string_equal(weft_strerror(WEFT_EHTTP_BODY_TOOBIG), "HTTP body too large");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_head),
        cmocka_unit_test(test_head_errors),
        cmocka_unit_test(test_framing),
        cmocka_unit_test(test_framing_errors),
        cmocka_unit_test(test_chunked),
        cmocka_unit_test(test_chunked_errors),
        cmocka_unit_test(test_eof),
        cmocka_unit_test(test_head_size_limit),
        cmocka_unit_test(test_head_size_zero_no_buffer),
        cmocka_unit_test(test_head_size_endless_line),
        cmocka_unit_test(test_head_size_after_interim),
        cmocka_unit_test(test_header_count_limit),
        cmocka_unit_test(test_body_limit_content_length),
        cmocka_unit_test(test_body_limit_chunked),
        cmocka_unit_test(test_body_limit_close_delimited),
        cmocka_unit_test(test_chunk_line_limit),
        cmocka_unit_test(test_reset_and_lookup),
        cmocka_unit_test(test_method_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
