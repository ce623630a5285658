/*
 * weft_http_parser: the state machine that turns a stream of bytes, cut anywhere, into one HTTP
 * message's events (HEAD, BODY..., DONE).
 *
 * Two kinds of input need two treatments:
 *  - The head (and a chunked body's trailers) is made of lines that may be split anywhere, so
 *    each line is copied into the caller's head buffer until its LF arrives, then parsed whole
 *    by head.c. The buffer's size is therefore the limit on the head.
 *  - The body is never copied: BODY events point into the caller's input. A chunked body's
 *    framing (size lines, the CRLF after each chunk's data) is read one byte at a time by a
 *    small state machine, so it needs no buffer at all.
 *
 * weft_http_parser_feed() runs steps until one produces an event or the input runs out. Every
 * step consumes at least one byte or changes the state, so the loop always ends.
 */
#include <stddef.h>
#include <string.h>

#include "http/http_internal.h"
#include "weft/error.h"

/* Where in the message the parser is (priv.state). */
enum {
    ST_HEAD,          /* collecting the start line and header fields */
    ST_BODY_LENGTH,   /* inside a Content-Length body; priv.remaining bytes left */
    ST_BODY_CLOSE,    /* inside a body that ends when the peer closes */
    ST_CHUNK_LINE,    /* reading a chunk-size line; priv.chunk_state says where */
    ST_CHUNK_DATA,    /* inside a chunk's data; priv.remaining bytes left */
    ST_CHUNK_DATA_CR, /* expecting the CR after a chunk's data */
    ST_CHUNK_DATA_LF, /* expecting the LF after a chunk's data */
    ST_TRAILERS,      /* collecting trailer fields after the last chunk */
    ST_COMPLETE,      /* the message is complete; feed reports DONE */
    ST_FAILED,        /* an error happened; feed reports it again (priv.error) */
};
_Static_assert(ST_COMPLETE == WEFT__HTTP_ST_COMPLETE && ST_FAILED == WEFT__HTTP_ST_FAILED,
               "http_internal.h's parser states are parser.c's");

/* Where in a chunk-size line, chunk-size [ chunk-ext ] CRLF, the parser is (priv.chunk_state).
 * chunk-ext = *( BWS ";" BWS ext-name [ BWS "=" BWS ( token / quoted-string ) ] ). */
enum {
    CH_SIZE_FIRST,  /* the first hex digit must come */
    CH_SIZE,        /* more hex digits, or what follows them */
    CH_WS,          /* whitespace, which must lead to a ';' */
    CH_NAME_START,  /* after ';': whitespace, then an extension name */
    CH_NAME,        /* inside an extension name */
    CH_AFTER_NAME,  /* whitespace after a name: '=' or ';' must follow */
    CH_VALUE_START, /* after '=': whitespace, then a token or a quoted string */
    CH_TOKEN_VALUE, /* inside a token value */
    CH_QUOTED,      /* inside a quoted-string value */
    CH_QUOTED_PAIR, /* after a backslash in a quoted string */
    CH_VALUE_END,   /* after a quoted string's closing quote */
    CH_LF,          /* after the line's CR */
};

/*
 * Clears the results and the per-message state; keeps the config and the parser's kind, which
 * sit between the two (so clears of fixed size, not a save, a clear of everything and a
 * restore). The results are cleared in two halves: gcc writes a clear of up to 64 bytes as a
 * few wide stores, and a larger one as a string instruction that costs more on every reset.
 */
#define PRIV_KEPT_END offsetof(weft_http_parser, priv.state) /* cfg and is_request end here */
_Static_assert(offsetof(weft_http_parser, priv.cfg) < PRIV_KEPT_END &&
                   offsetof(weft_http_parser, priv.is_request) < PRIV_KEPT_END,
               "start_message keeps the fields of priv before state");

static void start_message(weft_http_parser *p, weft_http_method method)
{
    const size_t results = offsetof(weft_http_parser, priv), half = results / 2;
    memset(p, 0, half);
    memset((char *)p + half, 0, results - half);
    memset((char *)p + PRIV_KEPT_END, 0, sizeof *p - PRIV_KEPT_END);
    p->headers = p->priv.cfg.headers;
    p->method = p->priv.is_request ? WEFT_HTTP_OTHER : method;
}

void weft_http_parser_init_response(weft_http_parser *p, weft_http_method method,
                                    const weft_http_parser_config *cfg)
{
    p->priv.cfg = *cfg;
    p->priv.is_request = 0;
    start_message(p, method);
}

void weft_http_parser_init_request(weft_http_parser *p, const weft_http_parser_config *cfg)
{
    p->priv.cfg = *cfg;
    p->priv.is_request = 1;
    start_message(p, WEFT_HTTP_OTHER);
}

void weft_http_parser_reset(weft_http_parser *p, weft_http_method method)
{
    start_message(p, method);
}

const weft_http_header *weft_http_parser_header(const weft_http_parser *p, const char *name)
{
    for (size_t i = 0; i < p->nheaders; i++)
        if (weft_http_header_name_is(&p->headers[i], name)) return &p->headers[i];
    return NULL;
}

/* Input copied into the head buffer at once, at most: enough for a typical head in one copy,
 * little wasted when what follows the head (a body) is copied along and then ignored. */
#define HEAD_COPY_MAX 512

/* Moves to the state that reads the body the head announced, and reports HEAD. */
static int begin_body(weft_http_parser *p, weft_http_event *ev)
{
    int rc = weft__http_head_framing(p);
    if (rc < 0) return rc;
    switch (p->body_kind) {
    case WEFT_HTTP_BODY_LENGTH:
        if (p->content_length > p->priv.cfg.max_body) return WEFT_EHTTP_BODY_TOOBIG;
        p->priv.remaining = p->content_length;
        p->priv.state = p->content_length ? ST_BODY_LENGTH : ST_COMPLETE;
        break;
    case WEFT_HTTP_BODY_CHUNKED:
        p->priv.state = ST_CHUNK_LINE;
        p->priv.chunk_state = CH_SIZE_FIRST;
        break;
    case WEFT_HTTP_BODY_CLOSE:
        p->priv.state = ST_BODY_CLOSE;
        break;
    case WEFT_HTTP_BODY_NONE:
        p->priv.state = ST_COMPLETE;
        break;
    }
    ev->type = WEFT_HTTP_EV_HEAD;
    return 0;
}

/* A complete head: skip a 1xx interim response, or begin the body of the real one. */
static int end_of_head(weft_http_parser *p, weft_http_event *ev)
{
    if (p->priv.is_request || p->status >= 200) return begin_body(p, ev);
    if (p->status == 101) return WEFT_EHTTP_UNSUPPORTED; /* a protocol switch */
    start_message(p, p->method);
    p->priv.started = 1; /* for eof: the response had begun */
    return 0;
}

/* The blank line after the trailers ends the message. */
static int end_of_trailers(weft_http_parser *p, weft_http_event *ev)
{
    p->ntrailers = p->priv.fields - p->nheaders;
    p->priv.state = ST_COMPLETE;
    ev->type = WEFT_HTTP_EV_DONE;
    return 0;
}

/*
 * Collects and parses the lines of the head, or of the trailer section: every complete line the
 * input holds, until the section ends (with its event) or the input runs out mid-line. A 1xx
 * interim response ends without an event and the loop goes on with the next response's head.
 *
 * The input is copied into the head buffer a block at a time (one memcpy, not one per line) and
 * head.c parses the lines there, all of a block's in one call; a partial line at the end of a
 * block stays where it was copied, to be completed by the next block. Fails with TOOBIG as soon
 * as a line would outgrow the buffer, before it is complete: a peer that never sends LF must not
 * make us wait for more than the buffer holds.
 */
static ssize_t step_lines(weft_http_parser *p, const char *data, size_t len, weft_http_event *ev)
{
    bool trailers = p->priv.state == ST_TRAILERS;
    size_t off = 0;
    while (off < len) {
        size_t base = p->priv.head_len, room = p->priv.cfg.head_size - base;
        /* Full, with more input: the section outgrows the buffer (and a head_buf of size 0 may
         * be NULL, which not even a copy of no bytes may be given). */
        if (room == 0) return WEFT_EHTTP_TOOBIG;
        size_t k = len - off < room ? len - off : room;
        if (k > HEAD_COPY_MAX) k = HEAD_COPY_MAX;
        memcpy(p->priv.cfg.head_buf + base, data + off, k);
        int rc = weft__http_head_lines(p, base + k, trailers);
        if (rc < 0) return rc;
        if (rc == 1) { /* the section ended at head_len */
            size_t used = p->priv.head_len - base;
            rc = trailers ? end_of_trailers(p, ev) : end_of_head(p, ev);
            if (rc < 0) return rc;
            off += used;
            if (ev->type != WEFT_HTTP_EV_NEED_MORE) return (ssize_t)off;
            continue; /* a 1xx head ended: the rest starts over at the buffer's start */
        }
        if (k == room && len - off > room) return WEFT_EHTTP_TOOBIG;
        p->priv.head_len = base + k; /* a partial line, if any, waits here for its LF */
        off += k;
    }
    return (ssize_t)off;
}

/* Reports up to priv.remaining bytes of body; next_state once they are all reported. */
static ssize_t step_counted_body(weft_http_parser *p, const char *data, size_t len,
                                 weft_http_event *ev, unsigned char next_state)
{
    size_t n = len < p->priv.remaining ? len : (size_t)p->priv.remaining;
    p->priv.remaining -= n;
    p->body_received += n;
    if (p->priv.remaining == 0) p->priv.state = next_state;
    *ev = (weft_http_event){.type = WEFT_HTTP_EV_BODY, .data = data, .len = n};
    return (ssize_t)n;
}

/* A close-delimited body reports what fits under max_body before failing, so that the bytes
 * reported do not depend on how the input was split. */
static ssize_t step_close_body(weft_http_parser *p, const char *data, size_t len,
                               weft_http_event *ev)
{
    uint64_t room = p->priv.cfg.max_body - p->body_received;
    if (room == 0) return WEFT_EHTTP_BODY_TOOBIG;
    size_t n = len < room ? len : (size_t)room;
    p->body_received += n;
    *ev = (weft_http_event){.type = WEFT_HTTP_EV_BODY, .data = data, .len = n};
    return (ssize_t)n;
}

/* A chunk-size line ended: the next chunk's data, or the trailers after the last chunk. */
static int end_of_chunk_line(weft_http_parser *p)
{
    if (p->priv.remaining == 0) {
        p->priv.state = ST_TRAILERS;
        return 0;
    }
    if (p->priv.remaining > p->priv.cfg.max_body - p->body_received) return WEFT_EHTTP_BODY_TOOBIG;
    p->priv.state = ST_CHUNK_DATA;
    return 0;
}

/* The hex digits of a chunk size, accumulated into priv.remaining. */
static int chunk_size_digit(weft_http_parser *p, int digit)
{
    if (p->priv.remaining > UINT64_MAX >> 4) return WEFT_EHTTP_PARSE; /* overflows 64 bits */
    p->priv.remaining = (p->priv.remaining << 4) | (uint64_t)digit;
    p->priv.chunk_state = CH_SIZE;
    return 0;
}

/* qdtext = HTAB / SP / %x21 / %x23-5B / %x5D-7E / obs-text: anything visible but '"' and '\'. */
static bool is_qdtext(unsigned char c)
{
    return weft__http_is_ows(c) || (weft__http_is_vchar(c) && c != '"' && c != '\\');
}

/* After a name, or whitespace following one: more whitespace, '=' and a value, or ';'. */
static int after_ext_name(bool ws, unsigned char c)
{
    return ws ? CH_AFTER_NAME : c == '=' ? CH_VALUE_START : c == ';' ? CH_NAME_START : -1;
}

/* After a value, or the size: whitespace, which must lead to ';', or ';' itself. */
static int after_ext_value(bool ws, unsigned char c)
{
    return ws ? CH_WS : c == ';' ? CH_NAME_START : -1;
}

/* The next chunk-extension state after c, or -1 if c is not allowed here. Hex digits and the
 * CR/LF are handled by the caller. Each case allows exactly what the grammar above allows. */
static int chunk_ext_next(unsigned char state, unsigned char c)
{
    bool ws = weft__http_is_ows(c), tchar = weft__http_is_tchar(c);
    switch (state) {
    case CH_SIZE:
    case CH_WS:
    case CH_VALUE_END:
        return after_ext_value(ws, c);
    case CH_NAME_START:
        return ws ? CH_NAME_START : tchar ? CH_NAME : -1;
    case CH_NAME:
        return tchar ? CH_NAME : after_ext_name(ws, c);
    case CH_AFTER_NAME:
        return after_ext_name(ws, c);
    case CH_VALUE_START:
        return ws ? CH_VALUE_START : c == '"' ? CH_QUOTED : tchar ? CH_TOKEN_VALUE : -1;
    case CH_TOKEN_VALUE:
        return tchar ? CH_TOKEN_VALUE : after_ext_value(ws, c);
    case CH_QUOTED:
        return c == '"' ? CH_VALUE_END : c == '\\' ? CH_QUOTED_PAIR : is_qdtext(c) ? CH_QUOTED : -1;
    case CH_QUOTED_PAIR:
        return weft__http_is_vchar(c) || weft__http_is_ows(c) ? CH_QUOTED : -1;
    default:
        return -1;
    }
}

/* Where a CR may end the chunk-size line: after the size, an extension name or a value. */
static bool chunk_line_may_end(unsigned char state)
{
    return state == CH_SIZE || state == CH_NAME || state == CH_TOKEN_VALUE || state == CH_VALUE_END;
}

/* One byte of a chunk-size line. Returns 1 when it was the line's LF, 0 to go on, or an error. */
static int chunk_line_byte(weft_http_parser *p, unsigned char c)
{
    unsigned char state = p->priv.chunk_state;
    if (p->priv.chunk_line_len++ == WEFT_HTTP_CHUNK_LINE_MAX + 2) return WEFT_EHTTP_TOOBIG;
    if (state == CH_LF) return c == '\n' ? 1 : WEFT_EHTTP_PARSE;
    if (state == CH_SIZE_FIRST || state == CH_SIZE) {
        int digit = weft__http_hex_value(c);
        if (digit >= 0) return chunk_size_digit(p, digit);
        if (state == CH_SIZE_FIRST) return WEFT_EHTTP_PARSE;
    }
    if (c == '\r' && chunk_line_may_end(state)) {
        p->priv.chunk_state = CH_LF;
        return 0;
    }
    int next = chunk_ext_next(state, c);
    if (next < 0) return WEFT_EHTTP_PARSE;
    p->priv.chunk_state = (unsigned char)next;
    return 0;
}

static ssize_t step_chunk_line(weft_http_parser *p, const char *data, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        int rc = chunk_line_byte(p, (unsigned char)data[i]);
        if (rc < 0) return rc;
        if (rc == 1) {
            p->priv.chunk_line_len = 0;
            rc = end_of_chunk_line(p);
            return rc < 0 ? rc : (ssize_t)(i + 1);
        }
    }
    return (ssize_t)len;
}

/* The CRLF that ends a chunk's data. */
static ssize_t step_chunk_data_end(weft_http_parser *p, const char *data)
{
    if (p->priv.state == ST_CHUNK_DATA_CR) {
        if (data[0] != '\r') return WEFT_EHTTP_PARSE;
        p->priv.state = ST_CHUNK_DATA_LF;
    } else {
        if (data[0] != '\n') return WEFT_EHTTP_PARSE;
        p->priv.state = ST_CHUNK_LINE;
        p->priv.chunk_state = CH_SIZE_FIRST;
    }
    return 1;
}

/* One step in the current state over non-empty input. */
static ssize_t step(weft_http_parser *p, const char *data, size_t len, weft_http_event *ev)
{
    switch (p->priv.state) {
    case ST_HEAD:
    case ST_TRAILERS:
        return step_lines(p, data, len, ev);
    case ST_BODY_LENGTH:
        return step_counted_body(p, data, len, ev, ST_COMPLETE);
    case ST_BODY_CLOSE:
        return step_close_body(p, data, len, ev);
    case ST_CHUNK_LINE:
        return step_chunk_line(p, data, len);
    case ST_CHUNK_DATA:
        return step_counted_body(p, data, len, ev, ST_CHUNK_DATA_CR);
    case ST_CHUNK_DATA_CR:
    case ST_CHUNK_DATA_LF:
        return step_chunk_data_end(p, data);
    default:
        return WEFT_EHTTP_PARSE; /* unreachable: feed handles the final states */
    }
}

ssize_t weft_http_parser_feed(weft_http_parser *p, const char *data, size_t len,
                              weft_http_event *ev)
{
    *ev = (weft_http_event){.type = WEFT_HTTP_EV_NEED_MORE};
    if (p->priv.state == ST_FAILED) return p->priv.error;
    size_t off = 0;
    while (ev->type == WEFT_HTTP_EV_NEED_MORE) {
        if (p->priv.state == ST_COMPLETE) {
            ev->type = WEFT_HTTP_EV_DONE;
            break;
        }
        if (off == len) break;
        ssize_t n = step(p, data + off, len - off, ev);
        if (n < 0) {
            p->priv.state = ST_FAILED;
            p->priv.error = (int)n;
            *ev = (weft_http_event){.type = WEFT_HTTP_EV_NEED_MORE};
            return n;
        }
        off += (size_t)n;
    }
    return (ssize_t)off;
}

int weft_http_parser_eof(weft_http_parser *p, weft_http_event *ev)
{
    *ev = (weft_http_event){.type = WEFT_HTTP_EV_NEED_MORE};
    if (p->priv.state == ST_FAILED) return p->priv.error;
    if (p->priv.state == ST_BODY_CLOSE) p->priv.state = ST_COMPLETE;
    if (p->priv.state == ST_COMPLETE) {
        ev->type = WEFT_HTTP_EV_DONE;
        return 0;
    }
    bool started =
        p->priv.state != ST_HEAD || p->priv.started || p->priv.head_len > p->priv.start_line;
    p->priv.error = started ? WEFT_EHTTP_TRUNCATED : WEFT_ECLOSED;
    p->priv.state = ST_FAILED;
    return p->priv.error;
}
