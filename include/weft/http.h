/*
 * weft/http.h — HTTP/1.1 for weft.
 *
 * This header has two parts.
 *
 *  Part 1, "the pure parts", needs no sockets, no runtime and no allocation. It is three small
 *  tools that turn bytes into structure and back:
 *
 *    URLs      weft_url_parse() splits "http://host:port/path?query" into what a client needs
 *              to connect and what it puts in the request line; weft_url_decode() undoes
 *              percent-encoding.
 *    Requests  weft_http_request_write() serialises a request (method, Host, headers, body)
 *              into a caller buffer.
 *    Messages  weft_http_parser reads an HTTP/1.1 message as it arrives, in pieces of any size:
 *              a response (for the client) or a request (for a server).
 *
 *  Nothing in part 1 suspends, blocks, allocates or keeps global state: every function works
 *  only on the objects and buffers it is given, so it may be used from any thread, and in
 *  programs that do not use weft's runtime at all.
 *
 *  Part 2, the client coroutine, builds on part 1 and follows it further down. Its code lives
 *  in src/client/ (a layer of its own, above the runtime), so that part 1 still links alone.
 *
 * Errors follow weft/error.h: functions return >= 0 on success and a negative errno or WEFT_E*
 * code on failure. The HTTP codes:
 *
 *   WEFT_EHTTP_PARSE        the bytes are not a well-formed HTTP/1.1 message (server: 400)
 *   WEFT_EHTTP_TOOBIG       the head (start line + header fields) is bigger than the head
 *                           buffer, or a chunk-size line is longer than WEFT_HTTP_CHUNK_LINE_MAX
 *                           (server: 431)
 *   WEFT_EHTTP_TOOMANY      more header fields than the caller's array holds (server: 431)
 *   WEFT_EHTTP_BODY_TOOBIG  the body is larger than the caller's max_body (server: 413)
 *   WEFT_EHTTP_UNSUPPORTED  well-formed but not something weft does: https://, a protocol
 *                           upgrade (101), a transfer coding other than chunked, an HTTP
 *                           version other than 1.0/1.1 (server: 501, or 505 for the version)
 *   WEFT_EHTTP_TRUNCATED    the peer closed the connection in the middle of a message
 *   WEFT_EHTTP_NORESPONSE   (client) the server closed the connection without answering
 *   WEFT_EHTTP_REDIRECTS    (client) more redirects than the exchange allows
 *   WEFT_EHTTP_URL          a URL or percent-escape is malformed
 *   WEFT_ECLOSED            the peer closed the connection between messages (a clean end)
 */
#ifndef WEFT_HTTP_H
#define WEFT_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h> /* ssize_t */

#include "weft/runtime.h" /* Part 2: the client runs on the runtime... */
#include "weft/tcp.h"     /* ...over its TCP streams */

#ifdef __cplusplus
extern "C" {
#endif

/* =============================================================================================
 * Part 1 — the pure parts: URLs, request serialisation, message parsing
 * =========================================================================================== */

/* ---------------------------------------------------------------------------------------------
 * Methods and header fields
 * ------------------------------------------------------------------------------------------- */

/* A request method. The request parser maps any other well-formed method to WEFT_HTTP_OTHER
 * (its text is in weft_http_parser.method_name); a server usually answers that with 405. */
typedef enum weft_http_method {
    WEFT_HTTP_OTHER = 0, /* a method weft has no name for (parsed requests only) */
    WEFT_HTTP_GET,
    WEFT_HTTP_HEAD,
    WEFT_HTTP_POST,
    WEFT_HTTP_PUT,
    WEFT_HTTP_DELETE,
    WEFT_HTTP_OPTIONS,
    WEFT_HTTP_PATCH,
} weft_http_method;

/*
 * weft_http_method_name - the method as it appears on the wire ("GET", "HEAD", ...).
 *
 * Returns a static string; "" for WEFT_HTTP_OTHER or a value outside the enum.
 */
const char *weft_http_method_name(weft_http_method method);

/*
 * One header field. Used both ways: the parser fills an array of these with slices of its head
 * buffer, and weft_http_request_write() reads the caller's extra fields from one.
 *
 * From the parser, name and value are also NUL-terminated (the parser writes the NUL over the
 * ':' or the line's CR), so they can be handed to strtol() or printf("%s"). The name is as the
 * peer spelled it; compare names with weft_http_header_name_is(), which ignores case. The value
 * has surrounding spaces and tabs removed and never contains CR, LF or NUL.
 */
typedef struct weft_http_header {
    const char *name;
    size_t name_len;
    const char *value;
    size_t value_len;
} weft_http_header;

/*
 * weft_http_header_name_is - whether header h is called name, ignoring ASCII case.
 *
 * name: NUL-terminated, e.g. "content-type".
 */
bool weft_http_header_name_is(const weft_http_header *h, const char *name);

/* ---------------------------------------------------------------------------------------------
 * URLs
 * ------------------------------------------------------------------------------------------- */

/* The longest host name weft_url_parse() accepts (DNS names are at most 253 characters). */
#define WEFT_URL_HOST_MAX 255

/*
 * A parsed http:// URL. The host is copied (NUL-terminated, ready for getaddrinfo() or
 * inet_pton()); path and query point into the string given to weft_url_parse(), which must
 * outlive this struct — except that an empty path is reported as the static string "/".
 */
typedef struct weft_url {
    char host[WEFT_URL_HOST_MAX + 1]; /* "example.com", "127.0.0.1", or "::1" (no brackets) */
    bool host_is_ipv6;                /* the URL had an IPv6 literal: "[::1]" */
    uint16_t port;                    /* the URL's port, or 80 */
    const char *path;                 /* starts with '/'; never empty */
    size_t path_len;
    const char *query; /* "?a=b" including the '?', or "" (query_len 0) */
    size_t query_len;
} weft_url;

/*
 * weft_url_parse - split an http:// URL into host, port, path and query.
 *
 * url, len: the URL text (need not be NUL-terminated; a NUL inside it is an error).
 * Accepted: "http://" (any case) host [":" port] [path] ["?" query] ["#" fragment], where
 *   host  is a name of letters, digits, '-', '.', '_', '~' (at most WEFT_URL_HOST_MAX bytes) or
 *         an IPv6 literal in brackets, "[::1]" (checked with inet_pton; no zone id);
 *   port  is 1..65535; an empty port ("http://h:/") means 80;
 *   path, query and fragment use only the characters RFC 3986 allows there, with every '%'
 *         followed by two hex digits. The fragment is checked, then dropped: it is never sent.
 * Userinfo ("http://user:pass@host/") is rejected: RFC 9110 deprecates it for http, and quietly
 * dropping credentials would hide a mistake.
 * Returns 0 and fills u, or:
 *   WEFT_EHTTP_UNSUPPORTED  an https:// URL ("not supported yet"; never downgraded to http);
 *   WEFT_EHTTP_URL          anything else malformed (other schemes, missing host, bad port,
 *                           a space or control character, a bad escape, ...).
 * On failure u is left in an unspecified state.
 */
int weft_url_parse(weft_url *u, const char *url, size_t len);

/*
 * weft_url_decode - undo percent-encoding: "%41b%20c" becomes "Ab c".
 *
 * dst, size: where the decoded bytes go. Decoding never lengthens the text, so dst may be src
 *            itself (in-place) and size >= len always suffices. No NUL is appended.
 * src, len:  the encoded text. '+' is left alone (that is form encoding, not URL encoding).
 *            A decoded %00 is kept as a 0 byte: use the returned length, not strlen().
 * Returns the decoded length, or WEFT_EHTTP_URL if a '%' is not followed by two hex digits,
 * -ENOBUFS if dst is too small, -EOVERFLOW if len is over INT_MAX.
 */
int weft_url_decode(char *dst, size_t size, const char *src, size_t len);

/* ---------------------------------------------------------------------------------------------
 * Writing a request
 * ------------------------------------------------------------------------------------------- */

/* What weft_http_request_write() sends. */
typedef struct weft_http_request {
    weft_http_method method;         /* any named method; WEFT_HTTP_OTHER is -EINVAL */
    const weft_url *url;             /* gives the request target (path + query) and Host */
    const weft_http_header *headers; /* extra fields, sent in order; may be NULL if nheaders 0 */
    size_t nheaders;
    const void *body; /* may be NULL if body_len is 0 */
    size_t body_len;
} weft_http_request;

/*
 * weft_http_request_write - serialise a request, head and body, into buf.
 *
 * Writes "METHOD path?query HTTP/1.1", then "Host: host[:port]" (the port only when it is not
 * 80; IPv6 literals in brackets) unless req->headers has its own Host field, then the caller's
 * fields in order, then "Content-Length: N" when there is a body or the method is POST or PUT
 * (which always announce their length, even 0), then the blank line and the body. Nothing else
 * is added: ask for "Connection: close" and the like through req->headers.
 *
 * Returns the number of bytes written (no NUL is added), or:
 *   -ENOBUFS  the request does not fit in size bytes (buf's contents are then unspecified);
 *   -EINVAL   method is WEFT_HTTP_OTHER; url is NULL or its path/query contain characters a
 *             request target may not; a header name is not a token; a header value contains CR,
 *             LF, NUL or another control character (so no field can smuggle in another);
 *             req->headers sets Content-Length or Transfer-Encoding (the writer owns framing);
 *             or a field weft's own request parser would refuse: a Connection value that is not
 *             a list of tokens, more than one Host, a Host with characters a host cannot have.
 *   -EOVERFLOW  the request would be over INT_MAX bytes.
 */
int weft_http_request_write(const weft_http_request *req, char *buf, size_t size);

/*
 * weft_http_request_write_head - like weft_http_request_write() but stop after the blank line.
 *
 * The head still announces Content-Length: req->body_len; send the body yourself (say with
 * writev) to avoid copying a large one.
 */
int weft_http_request_write_head(const weft_http_request *req, char *buf, size_t size);

/* ---------------------------------------------------------------------------------------------
 * Reading a message: weft_http_parser
 * ---------------------------------------------------------------------------------------------
 *
 * One parser reads one message at a time off one connection: a response (client side, after
 * weft_http_parser_init_response) or a request (server side, weft_http_parser_init_request).
 * It does no I/O. You read bytes from the socket however you like and feed them in; it hands
 * back one event per call:
 *
 *   WEFT_HTTP_EV_HEAD       the status/request line and header fields are complete; the
 *                           results (status, headers, body_kind, keep_alive, ...) are in the
 *                           parser struct and stay valid until reset or re-init.
 *   WEFT_HTTP_EV_BODY       some body bytes: ev.data/ev.len point INTO the input you passed,
 *                           already stripped of chunked framing. Nothing is copied.
 *   WEFT_HTTP_EV_DONE       the message is complete (any trailer fields are in headers[]).
 *   WEFT_HTTP_EV_NEED_MORE  all the input was consumed without completing an event: read more.
 *
 * The head is the one part that may arrive split anywhere (even inside a field name), so the
 * parser copies it into a buffer you supply. That buffer's size is the limit on header bytes and
 * your header array's length the limit on header count — a parser never allocates.
 *
 * The loop a client coroutine runs (errors are negative, events carry no error):
 *
 *     weft_http_parser_init_response(&p, WEFT_HTTP_GET, &cfg);
 *     for (;;) {
 *         if (off == len) { len = read(fd, buf, sizeof buf); off = 0;      (suspends here)
 *                           if (len == 0) { rc = weft_http_parser_eof(&p, &ev); ... } }
 *         ssize_t n = weft_http_parser_feed(&p, buf + off, len - off, &ev);
 *         if (n < 0) return (int)n;
 *         off += (size_t)n;
 *         if (ev.type == WEFT_HTTP_EV_HEAD) { look at p.status, p.headers ... }
 *         if (ev.type == WEFT_HTTP_EV_BODY) { use ev.data[0 .. ev.len) before the next read }
 *         if (ev.type == WEFT_HTTP_EV_DONE) break;    bytes from buf + off on are the next message
 *     }
 *
 * Call feed again after every event even when no input is left (pass len 0): the end of a body
 * is reported by a DONE that consumes nothing. Feeding the same bytes split at any position, or
 * one byte at a time, gives the same head, the same body bytes and the same result.
 *
 * What it checks (RFC 9112; anything else is WEFT_EHTTP_PARSE unless said otherwise):
 *  - Lines end in CRLF; a bare CR or bare LF is an error.
 *  - Status line: "HTTP/1.0" or "HTTP/1.1", SP, three digits 100..599, SP, a reason phrase
 *    (which may be empty) of visible characters, spaces and tabs. Another HTTP/x.y version is
 *    WEFT_EHTTP_UNSUPPORTED.
 *  - Request line: a token method, SP, a target of URI characters ('/'-rooted origin form, an
 *    absolute http(s):// form, or "*"), SP, HTTP/1.0 or HTTP/1.1. Empty lines before the
 *    request line are skipped (RFC 9112 §2.2) but count towards the head limit.
 *  - Header fields: a token name immediately followed by ':' (whitespace before the colon is an
 *    error), a value of visible characters, spaces and tabs. A line starting with a space or tab
 *    (obs-fold, a folded continuation) is an error. Names compare case-insensitively.
 *  - Content-Length: digits only (no sign), fits in 64 bits; repeated fields or comma lists must
 *    all give the same number. Transfer-Encoding: exactly "chunked" is supported; any other
 *    coding is WEFT_EHTTP_UNSUPPORTED; Transfer-Encoding in an HTTP/1.0 message, or together
 *    with Content-Length, is an error. Connection: a comma list of tokens.
 *  - Requests: HTTP/1.1 needs exactly one Host field, HTTP/1.0 at most one.
 *  - Chunked bodies: hex sizes (overflowing 64 bits is an error), extensions (";name" or
 *    ";name=token" or ';name="quoted"') checked and ignored, CRLF after every chunk's data,
 *    trailer fields checked like header fields and appended to headers[] (ntrailers of them).
 *  - Responses: 1xx interim responses (100 Continue, 103 Early Hints, ...) are skipped — the
 *    HEAD event is for the final response — except 101 Switching Protocols, which is
 *    WEFT_EHTTP_UNSUPPORTED. A response to HEAD, and 204 and 304, have no body whatever their
 *    headers say. Without Content-Length or chunked a response body runs until the peer closes
 *    (call weft_http_parser_eof() then); a request without them has no body.
 */

/* The parser's event types. */
typedef enum weft_http_event_type {
    WEFT_HTTP_EV_NEED_MORE = 0, /* all input consumed; feed more */
    WEFT_HTTP_EV_HEAD,          /* the head is complete; read the results in the parser */
    WEFT_HTTP_EV_BODY,          /* body bytes at ev.data, ev.len > 0 */
    WEFT_HTTP_EV_DONE,          /* the message is complete */
} weft_http_event_type;

/* One event from weft_http_parser_feed(). */
typedef struct weft_http_event {
    weft_http_event_type type;
    const char *data; /* WEFT_HTTP_EV_BODY: body bytes, inside the input just fed; else NULL */
    size_t len;       /* WEFT_HTTP_EV_BODY: how many (> 0); else 0 */
} weft_http_event;

/* How the message's body is delimited, known from the HEAD event on. */
typedef enum weft_http_body_kind {
    WEFT_HTTP_BODY_NONE = 0, /* no body: HEAD, 1xx/204/304, or a request with no framing */
    WEFT_HTTP_BODY_LENGTH,   /* exactly content_length bytes */
    WEFT_HTTP_BODY_CHUNKED,  /* Transfer-Encoding: chunked; length unknown until the end */
    WEFT_HTTP_BODY_CLOSE,    /* responses only: everything until the peer closes */
} weft_http_body_kind;

/* The value of max_body meaning "no limit". */
#define WEFT_HTTP_UNLIMITED UINT64_MAX

/* A chunk-size line (size and extensions, without CRLF) longer than this is WEFT_EHTTP_TOOBIG. */
#define WEFT_HTTP_CHUNK_LINE_MAX 4096

/*
 * Storage and limits for a parser, owned by the caller and used until the parser is re-inited.
 * A few KiB of head_buf is plenty for ordinary servers (8192 is a common choice).
 */
typedef struct weft_http_parser_config {
    char *head_buf;            /* where the head is collected, then any trailer section */
    size_t head_size;          /* its size: the limit on head + trailer bytes, CRLFs included
                                  (a chunked body's final CRLF takes 2 bytes of it) */
    weft_http_header *headers; /* where parsed fields go: header fields, then trailer fields */
    size_t max_headers;        /* its length: the limit on the number of fields */
    uint64_t max_body;         /* the limit on body bytes; WEFT_HTTP_UNLIMITED for none */
} weft_http_parser_config;

/*
 * The parser. Caller-allocated (a coroutine frame, a connection struct); no close needed.
 * The public fields are results: valid from the HEAD event until the next reset or init (the
 * strings point into head_buf). Fields marked "response" or "request" are zero for the other.
 */
typedef struct weft_http_parser {
    int version;        /* 10 for HTTP/1.0, 11 for HTTP/1.1 */
    int status;         /* response: the final status code, 200..599 */
    const char *reason; /* response: the reason phrase, NUL-terminated, maybe "" */
    size_t reason_len;
    weft_http_method method; /* request: the method; response: the method given at init */
    const char *method_name; /* request: the method as sent, NUL-terminated */
    size_t method_name_len;
    const char *target; /* request: the request target as sent, NUL-terminated */
    size_t target_len;
    weft_http_header *headers; /* the header fields, then the trailer fields */
    size_t nheaders;           /* header fields: headers[0 .. nheaders) */
    size_t ntrailers;          /* trailer fields: headers[nheaders .. nheaders + ntrailers) */
    weft_http_body_kind body_kind;
    uint64_t content_length; /* WEFT_HTTP_BODY_LENGTH: the body's length; else 0 */
    uint64_t body_received;  /* body bytes reported so far */
    bool keep_alive;         /* may another message follow on this connection? HTTP/1.1
                                unless "Connection: close"; HTTP/1.0 only with
                                "Connection: keep-alive"; never for a close-delimited body */

    struct { /* private: the parser's state between calls */
        weft_http_parser_config cfg;
        unsigned char is_request;  /* which start line to expect */
        unsigned char state;       /* where in the message we are */
        unsigned char chunk_state; /* where in a chunk-size line we are */
        unsigned char started;     /* any byte of this message seen (for eof) */
        int error;                 /* a sticky error, once one happened */
        size_t head_len;           /* bytes of head_buf in use */
        size_t line_start;         /* offset in head_buf of the line being collected */
        size_t fields;             /* fields stored in headers[] so far */
        size_t start_line;         /* offset of the start line (after skipped empty lines) */
        uint64_t remaining;        /* body bytes left: of the message, or of the current chunk */
        size_t chunk_line_len;     /* bytes of the current chunk-size line */
    } priv;
} weft_http_parser;

/*
 * weft_http_parser_init_response - prepare p to read one response.
 *
 * method: the method of the request this answers (a response to HEAD has no body).
 * cfg:    storage and limits, copied; the buffers it points to must outlive the parser's use.
 *         head_size and max_headers may be 0 (every head then fails with TOOBIG / TOOMANY).
 */
void weft_http_parser_init_response(weft_http_parser *p, weft_http_method method,
                                    const weft_http_parser_config *cfg);

/*
 * weft_http_parser_init_request - prepare p to read one request (the server side).
 *
 * cfg: as for weft_http_parser_init_response(). max_body bounds a request's body.
 */
void weft_http_parser_init_request(weft_http_parser *p, const weft_http_parser_config *cfg);

/*
 * weft_http_parser_reset - prepare p for the next message on the same connection.
 *
 * Keeps the config; clears the results (the previous message's header strings are overwritten
 * as the next head arrives). method: for a response parser, the next request's method; ignored
 * by a request parser. Bytes left over after DONE belong to the next message: feed them next.
 */
void weft_http_parser_reset(weft_http_parser *p, weft_http_method method);

/*
 * weft_http_parser_feed - parse the next bytes of the message and report one event.
 *
 * data, len: the next input (len may be 0). ev: filled with the event (never left undefined).
 * Returns how many bytes of data were consumed (0..len), or a negative error (see the top of
 * this header). With WEFT_HTTP_EV_NEED_MORE all len bytes were consumed. With other events some
 * may be left: feed data + returned count next. Once it reports DONE, it keeps reporting DONE
 * with 0 bytes consumed until reset. Once it fails, it keeps failing with the same error.
 * Never suspends; never allocates; never reads outside data[0 .. len).
 *
 * Limits: on WEFT_EHTTP_BODY_TOOBIG for a Content-Length over max_body the head was complete, so
 * status and headers are readable for a better error message.
 */
ssize_t weft_http_parser_feed(weft_http_parser *p, const char *data, size_t len,
                              weft_http_event *ev);

/*
 * weft_http_parser_eof - tell the parser the peer closed the connection (read returned 0).
 *
 * ev: filled in (DONE on success).
 * Returns 0 with ev DONE when the message is complete: it was already, or its body runs to the
 * close. Otherwise returns:
 *   WEFT_ECLOSED          no byte of this message had arrived (a clean close between messages;
 *                         for a client, a reused keep-alive connection the server had closed);
 *   WEFT_EHTTP_TRUNCATED  the message was cut short;
 *   the sticky error, if feed had already failed.
 */
int weft_http_parser_eof(weft_http_parser *p, weft_http_event *ev);

/*
 * weft_http_parser_header - the first header field called name (any case), or NULL.
 *
 * Looks at header fields only, not trailers. Valid after the HEAD event.
 */
const weft_http_header *weft_http_parser_header(const weft_http_parser *p, const char *name);

/* =============================================================================================
 * Part 2 — the client coroutine (connect, send, receive, keep-alive pool, redirects)
 * =============================================================================================
 *
 * Two objects, both allocated by the caller:
 *
 *   weft_http_client    a pool of idle keep-alive connections, per host, and the sizes and
 *                       limits every connection uses. Usually one per runtime.
 *   weft_http_exchange  one request and its response: the frame of the coroutine that runs
 *                       it. Embed it in your task's frame; init it again for the next request.
 *
 * An exchange in a task, taking the body whole into a buffer:
 *
 *     struct get { weft_co co; weft_http_exchange ex; char body[4096]; int r; };
 *
 *     WEFT_BEGIN(&f->co);
 *     weft_http_exchange_init(&f->ex, &client, WEFT_HTTP_GET, "http://127.0.0.1:8080/500/hi");
 *     f->ex.timeout = WEFT_SEC(5);                   // optional settings go here
 *     WEFT_AWAIT_CHILD(&f->co, &f->ex.co, f->r, weft_http_exchange_start(&f->ex, cx));
 *     if (f->r >= 0)                                 // f->r: the status code; the head is in
 *         WEFT_AWAIT(&f->co, f->r = weft_http_exchange_read_all(   // f->ex from here on
 *                                       &f->ex, f->body, sizeof f->body, cx));
 *     weft_http_exchange_close(&f->ex);              // always: returns the connection
 *     WEFT_ON_CANCEL(&f->co);
 *     weft_http_exchange_close(&f->ex);
 *     WEFT_END(&f->co, f->r);                        // body length, or an error
 *
 * or taking it in pieces as they arrive, after the same start:
 *
 *     for (;;) {
 *         WEFT_AWAIT(&f->co, f->r = weft_http_exchange_read(&f->ex, cx));
 *         if (f->r <= 0) break;                      // 0: the body is complete; < 0: error
 *         fwrite(f->ex.data, 1, f->ex.data_len, out);
 *     }
 *
 * WHAT weft_http_exchange_start DOES. It parses the URL; takes an idle connection to that host
 * and port from the client's pool, or connects a new one (TCP_NODELAY); writes the request (one
 * send when it fits in the connection's buffer); reads until the response head is complete,
 * skipping 1xx interim responses; and, when asked (max_redirects > 0), follows 301, 302, 303,
 * 307 and 308 redirects, reading and dropping each redirect's body. Its result is the final
 * status code. The body is then the caller's to read; weft_http_exchange_close puts the
 * connection back in the pool if the whole response was read and both sides allow keep-alive,
 * and closes it otherwise.
 *
 * A pooled connection may have been closed by the server while it sat idle. If a reused
 * connection fails before any byte of the response arrived (reset, broken pipe, closed), an
 * idempotent request (GET, HEAD, PUT, DELETE, OPTIONS) is sent again once, on a new connection.
 *
 * HOSTS. The host may be a name ("localhost", "example.test"), an IPv4 literal ("127.0.0.1") or
 * an IPv6 literal in brackets ("[::1]"). A literal is connected to at once. A name is resolved
 * on the runtime's blocking pool (weft/blocking.h), never on the loop's thread, and its
 * addresses are tried in turn until one connects (weft_tcp_connect_host_dl). Names are resolved
 * for each new connection (there is no DNS cache); a request on a pooled connection resolves
 * nothing. The pool is keyed by the host as written: "localhost" and "127.0.0.1" are two hosts.
 *
 * COST. Each connection has its buffers, allocated once when it is opened and reused for every
 * request it carries; an exchange allocates nothing (a redirect allocates one URL buffer). A
 * request on a pooled connection makes the system calls a hand-written client would: one send,
 * and the recvs and epoll waits the response needs; no epoll_ctl.
 *
 * ERRORS, each with its weft_strerror() text:
 *   -ECONNREFUSED, -ENETUNREACH, ...  connecting failed (as the kernel says)
 *   -ECONNRESET, -EPIPE               the connection was reset / broken mid-exchange
 *   -ETIMEDOUT                        the exchange's deadline (or timeout) passed
 *   WEFT_EHTTP_NORESPONSE             the server closed the connection without answering
 *   WEFT_EHTTP_TRUNCATED              the server closed the connection mid-response
 *   WEFT_EHTTP_PARSE                  the response is not well-formed HTTP/1.x
 *   WEFT_EHTTP_TOOBIG, _TOOMANY       the response head is over the client's head_size or
 *                                     max_headers (or the request head over buffer_size)
 *   WEFT_EHTTP_BODY_TOOBIG            the body is over max_body or the read_all buffer
 *   WEFT_EHTTP_UNSUPPORTED            an https:// URL (never sent as plain http), or a 101
 *   WEFT_EHTTP_URL                    the URL (or a redirect's Location) is malformed
 *   WEFT_EHTTP_REDIRECTS              more than max_redirects redirects
 *   WEFT_ERESOLVE                     the host name has no address (no such host)
 *   -EAGAIN                           a temporary DNS failure (no answer from the name servers)
 *   WEFT_EADDR                        the host is neither a host name nor an address literal
 *   -EINVAL                           a bad argument, or a request header the writer refuses
 *   -ENOMEM                           no memory for a new connection
 * After any of them the exchange's connection is closed, never returned to the pool, and
 * weft_http_exchange_close is still needed (it frees what is left).
 *
 * CANCELLATION. An exchange owns its connection from start until close. Cancelling the task in
 * the middle is safe provided its cleanup block calls weft_http_exchange_close (as above);
 * weft_http_client_close also frees connections that exchanges still hold.
 */

/* ---------------------------------------------------------------------------------------------
 * The client: sizes, limits and the pool
 * ------------------------------------------------------------------------------------------- */

/*
 * Sizes and limits for a client's connections. A field left 0 takes the default in brackets.
 * Memory per connection is about buffer_size + head_size + 32 * max_headers bytes.
 */
typedef struct weft_http_client_config {
    size_t buffer_size;       /* [16384] each connection's read buffer; a request is written
                                 through it too, so it also bounds the request head */
    size_t head_size;         /* [8192] the limit on a response head (WEFT_EHTTP_TOOBIG) */
    size_t max_headers;       /* [64] the limit on response header fields (WEFT_EHTTP_TOOMANY) */
    size_t max_idle_per_host; /* [32] idle connections kept per host and port */
    size_t max_idle;          /* [256] idle connections kept in all */
    int64_t idle_timeout;     /* [30 s] an idle connection older than this (ns) is closed
                                 instead of reused */
} weft_http_client_config;

struct weft__http_host;       /* A host's pool (private to src/client). */
struct weft__http_conn;       /* One connection and its buffers (private to src/client). */
struct weft__http_connecting; /* A connect by name in progress (private to src/client). */

/*
 * weft_http_client - the connection pool. Caller-allocated; weft_http_client_init prepares it,
 * weft_http_client_close releases it. The counters may be read at any time; the rest is private.
 */
typedef struct weft_http_client {
    weft_runtime *rt;              /* the runtime its connections are registered with */
    weft_http_client_config cfg;   /* the config, defaults filled in */
    uint64_t connects;             /* connections opened so far */
    uint64_t reuses;               /* requests sent on a pooled connection */
    uint64_t retries;              /* requests sent again after a pooled connection died */
    size_t open;                   /* open connections: in use or idle */
    size_t idle;                   /* idle connections in the pool */
    struct weft__http_host *hosts; /* hosts seen, most recently used first (private) */
    size_t nhosts;                 /* (private) */
    struct weft__http_conn *conns; /* every open connection (private) */
} weft_http_client;

/*
 * weft_http_client_init - prepare a client whose connections run on rt.
 *
 * cfg: sizes and limits (copied); NULL or 0 fields take the defaults.
 * Returns 0, or -EINVAL (c or rt NULL). Allocates nothing until the first connection.
 */
int weft_http_client_init(weft_http_client *c, weft_runtime *rt,
                          const weft_http_client_config *cfg);

/*
 * weft_http_client_close - close every idle connection and free the pool.
 *
 * Call it before weft_runtime_close(), from a task or from outside the loop. Exchanges still
 * holding a connection should be closed first: if any are not, their connections are closed
 * and freed here too (debug builds say so on stderr), -EBUSY is returned, and those exchanges
 * must not be used again, not even to close them. Returns 0 otherwise. Never suspends.
 */
int weft_http_client_close(weft_http_client *c);

/* ---------------------------------------------------------------------------------------------
 * An exchange: one request, one response
 * ------------------------------------------------------------------------------------------- */

/*
 * When each phase of an exchange happened (CLOCK_MONOTONIC ns, as weft_cx_now() saw it; 0 if it
 * did not happen). With redirects, `start` is the first request's, the rest the last one's.
 * A timeline of an exchange: connecting = start..connected, waiting = sent..first_byte,
 * reading = first_byte..done.
 */
typedef struct weft_http_timing {
    int64_t start;      /* weft_http_exchange_start first ran */
    int64_t connected;  /* a connection was ready: connected, or taken from the pool */
    int64_t sent;       /* the whole request was handed to the kernel */
    int64_t first_byte; /* the first byte of the response arrived */
    int64_t head;       /* the final response's head was complete */
    int64_t done;       /* the body was complete, or the exchange failed */
} weft_http_timing;

/*
 * weft_http_exchange - one request and its response. Caller-allocated (usually in a task's
 * frame); weft_http_exchange_init sets it up; weft_http_exchange_close ends it.
 */
typedef struct weft_http_exchange {
    weft_co co; /* weft_http_exchange_start's resume point */

    /* The request. init sets the first three and defaults the rest; change any of them after
     * init and before the first poll of start. Pointers must stay valid until close. */
    weft_http_client *client; /* whose pool and limits to use */
    weft_http_method method;  /* GET, HEAD, POST, ... */
    const char *url;          /* "http://host[:port][/path][?query]", NUL-terminated */
    const weft_url *target;   /* optional: url already parsed (weft_url_parse), for a loop that
                                 requests one URL many times; url may then be NULL */
    const weft_http_header *headers; /* extra fields, sent as given; Host is added unless set */
    size_t nheaders;
    const void *body; /* sent with Content-Length; POST and PUT always announce one */
    size_t body_len;
    int64_t timeout;        /* the whole exchange (connect, request, response, redirects) must
                               end within this many ns of its start; 0 (default): no limit */
    int64_t deadline;       /* the same as an absolute time; WEFT_NO_DEADLINE (default). When
                               both are set, the earlier one counts */
    unsigned max_redirects; /* redirects to follow; 0 (default): a 3xx is the final response */
    uint64_t max_body;      /* body size limit; WEFT_HTTP_UNLIMITED (default) */

    /* The response. Read-only; valid until close. */
    int status;                       /* the final status code, once start returned it */
    const weft_http_parser *response; /* version, reason, headers (weft_http_exchange_header) */
    const char *data;                 /* weft_http_exchange_read: the latest piece of body, */
    size_t data_len;                  /*   valid until the next read or close */
    uint64_t body_received;           /* body bytes read so far */
    const char *effective_url;        /* url, or the last redirect's target (NUL-terminated);
                                         NULL if there was only a target */
    unsigned redirects;               /* redirects followed */
    bool reused;                      /* the final response came over a pooled connection */
    int error;                        /* the error the exchange failed with; 0 if none */
    weft_http_timing timing;          /* when each phase happened */

    struct {                                /* private */
        struct weft__http_conn *conn;       /* the connection in use, or NULL */
        const weft_url *target;             /* the URL being requested: ex->target or parsed */
        weft_url parsed;                    /* url or a redirect's Location, parsed */
        weft_http_method method;            /* the method being sent (a 303 turns it into GET) */
        int64_t deadline;                   /* the effective deadline */
        char *redirect_url;                 /* a redirect's target, allocated at the first one */
        struct weft__http_connecting *dial; /* a new connection's connect, allocated meanwhile */
        weft_tcp_connect_op connect;        /* or the connect to a numeric host's address */
        size_t head_len;                    /* request bytes in the connection's buffer */
        size_t sent;                        /* request bytes (head, then body) sent so far */
        bool body_apart;                    /* the body is sent after the head, from `body` */
        bool fresh;                         /* the next attempt must use a new connection */
        bool retried;                       /* a dead pooled connection was already retried */
        bool got_byte;                      /* a byte of this attempt's response arrived */
        unsigned char state;                /* where the exchange is (src/client/exchange.c) */
        unsigned char phase;                /* where its attempt is: connect, send, read the head */
    } priv;
} weft_http_exchange;

/*
 * weft_http_exchange_init - set up ex for one request to url with client's pool.
 *
 * Clears every field, then sets client, method and url and the defaults above. url is parsed
 * by start (a malformed one fails there) unless ex->target is set. Use it again for the next
 * request on the same ex, after weft_http_exchange_close. Never fails, never allocates.
 */
void weft_http_exchange_init(weft_http_exchange *ex, weft_http_client *client,
                             weft_http_method method, const char *url);

/*
 * weft_http_exchange_start - send the request and wait for the response head. A child
 * coroutine: await it with WEFT_AWAIT_CHILD(&f->co, &ex->co, f->r, weft_http_exchange_start(ex,
 * cx)), in a task of client's runtime.
 *
 * May return WEFT_PENDING. Returns the final status code (200..599; a 3xx when redirects are not
 * followed) once the head is complete: ex->status, ex->response and the timing up to `head` are
 * then set, and the body is ready to be read. Fails with one of the errors listed at the top of
 * Part 2 (ex->error says which too). Cancelled, it closes the connection it held.
 */
int weft_http_exchange_start(weft_http_exchange *ex, weft_cx *cx);

/*
 * weft_http_exchange_read - take the next piece of the body, as it arrives. A leaf operation:
 * await it directly with WEFT_AWAIT, after start returned a status.
 *
 * May return WEFT_PENDING. Returns n > 0: ex->data[0 .. n) is the next piece (ex->data_len ==
 * n), stripped of chunked framing, valid until the next read or close. Returns 0 once the body
 * is complete (and on every call after that). Fails with the errors listed above; also -EINVAL
 * if start has not returned a status. Honours the exchange's deadline.
 */
int weft_http_exchange_read(weft_http_exchange *ex, weft_cx *cx);

/*
 * weft_http_exchange_read_all - read the whole body into buf. A leaf operation: await it
 * directly with WEFT_AWAIT, after start returned a status, with the same buf and size each poll.
 *
 * May return WEFT_PENDING. Returns the body's length (<= size) once it is complete. Fails with
 * WEFT_EHTTP_BODY_TOOBIG if the body is longer than size (known at once when Content-Length
 * says so), or any error of weft_http_exchange_read. size is clamped to INT_MAX. No NUL is added.
 */
int weft_http_exchange_read_all(weft_http_exchange *ex, void *buf, size_t size, weft_cx *cx);

/*
 * weft_http_exchange_header - the first response header field called name (any case), or NULL
 * (also before start returned a status). Valid until close.
 */
const weft_http_header *weft_http_exchange_header(const weft_http_exchange *ex, const char *name);

/*
 * weft_http_exchange_close - end the exchange: its connection goes back to the client's pool if
 * the response was read to the end and both sides allow keep-alive, else it is closed; a
 * redirect's URL buffer is freed. Safe at any point after init (in a cleanup block too), and
 * more than once. ex->status, ->error, ->timing and ->body_received stay readable; the head and
 * data do not. Never suspends, never fails.
 */
void weft_http_exchange_close(weft_http_exchange *ex);

#ifdef __cplusplus
}
#endif

#endif /* WEFT_HTTP_H */
