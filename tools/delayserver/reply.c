/*
 * The delay server's pure parts: what a request target means, and what a response looks like.
 * Nothing here does I/O (except writing the log line to a FILE) or knows about tasks.
 */
#include "ds_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* "http://host:port/path" -> "/path"; an origin-form target is returned as it is. */
static const char *skip_absolute_form(const char *p, const char *end)
{
    size_t len = (size_t)(end - p);
    size_t scheme = 0;
    if (len > 7 && strncasecmp(p, "http://", 7) == 0) scheme = 7;
    if (len > 8 && strncasecmp(p, "https://", 8) == 0) scheme = 8;
    if (scheme == 0) return p;
    const char *slash = memchr(p + scheme, '/', len - scheme);
    return slash ? slash : end;
}

/*
 * The delay: decimal digits up to the next '/'. Very long numbers are not an overflow waiting to
 * happen: the value saturates just above any delay a uint32_t can carry, and is then too large.
 * Returns -EINVAL if there is no digit or no '/' after them, -ERANGE if over max_delay_ms.
 */
static int parse_delay(const char **pp, const char *end, uint32_t max_delay_ms, uint32_t *delay)
{
    const char *p = *pp;
    uint64_t value = 0;
    size_t digits = 0;
    for (; p < end && *p >= '0' && *p <= '9'; p++, digits++) {
        value = value * 10 + (uint64_t)(*p - '0');
        if (value > UINT32_MAX) value = (uint64_t)UINT32_MAX + 1;
    }
    if (digits == 0 || p == end || *p != '/') return -EINVAL;
    if (value > max_delay_ms) return -ERANGE;
    *delay = (uint32_t)value;
    *pp = p + 1;
    return 0;
}

int weft_delayserver_parse_target(const char *target, size_t len, uint32_t max_delay_ms,
                                  uint32_t *delay_ms, char *msg, size_t msg_size)
{
    if (!target || !delay_ms || (!msg && msg_size > 0)) return -EINVAL;
    const char *end = target + len;
    const char *p = skip_absolute_form(target, end);
    const char *query = memchr(p, '?', (size_t)(end - p));
    if (query) end = query;
    if (p == end || *p != '/') return -EINVAL;
    p++;
    uint32_t delay;
    int r = parse_delay(&p, end, max_delay_ms, &delay);
    if (r < 0) return r;
    r = weft_url_decode(msg, msg_size, p, (size_t)(end - p));
    if (r < 0) return r;
    *delay_ms = delay;
    return r;
}

const char *weft__ds_reason(int status)
{
    switch (status) {
    case 200:
        return "OK";
    case 400:
        return "Bad Request";
    case 405:
        return "Method Not Allowed";
    case 408:
        return "Request Timeout";
    case 413:
        return "Content Too Large";
    case 431:
        return "Request Header Fields Too Large";
    case 501:
        return "Not Implemented";
    case 503:
        return "Service Unavailable";
    default:
        return "Error";
    }
}

/* The parser's errors, as the status the server answers them with (see weft/http.h). */
int weft__ds_status_of(int parse_error)
{
    switch (parse_error) {
    case WEFT_EHTTP_TOOBIG:
    case WEFT_EHTTP_TOOMANY:
        return 431;
    case WEFT_EHTTP_BODY_TOOBIG:
        return 413;
    case WEFT_EHTTP_UNSUPPORTED:
        return 501;
    default:
        return 400;
    }
}

/*
 * The response lives in one allocation: WEFT__DS_HEAD_ROOM bytes of room, then the body. The
 * body is written first (the decoded message, while the request is parsed); the head is
 * formatted just before sending — only then is it known whether the connection stays open —
 * and placed right in front of the body, so that one write sends both.
 */
char *weft__ds_body_alloc(struct weft__ds_conn *c, size_t body_len)
{
    weft__ds_resp_free(c);
    c->resp = malloc(WEFT__DS_HEAD_ROOM + body_len);
    if (!c->resp) return NULL;
    c->body_len = body_len;
    return c->resp + WEFT__DS_HEAD_ROOM;
}

void weft__ds_resp_free(struct weft__ds_conn *c)
{
    free(c->resp);
    c->resp = NULL;
    c->resp_off = c->resp_len = c->body_len = 0;
}

void weft__ds_resp_head(struct weft__ds_conn *c, const char *date)
{
    const char *connection = "";
    if (!c->keep_alive)
        connection = "Connection: close\r\n";
    else if (c->http10)
        connection = "Connection: keep-alive\r\n";
    char head[WEFT__DS_HEAD_ROOM];
    int n = snprintf(head, sizeof head,
                     "HTTP/1.1 %d %s\r\n"
                     "Content-Type: text/plain; charset=utf-8\r\n"
                     "Content-Length: %zu\r\n"
                     "Date: %s\r\n"
                     "%s%s\r\n",
                     c->status, weft__ds_reason(c->status), c->body_len, date, connection,
                     c->status == 405 ? "Allow: GET, HEAD\r\n" : "");
    size_t len = n > 0 && (size_t)n < sizeof head ? (size_t)n : 0; /* always fits: see above */
    c->resp_off = WEFT__DS_HEAD_ROOM - len;
    memcpy(c->resp + c->resp_off, head, len);
    c->resp_len = len + (c->head_only ? 0 : c->body_len);
}

/* `#{n} - {delay}ms: {message}`, with control characters escaped: a message is the client's
 * text, and a terminal should not take orders from it. */
void weft__ds_log_request(FILE *log, uint64_t n, uint32_t delay_ms, const char *msg, size_t len)
{
    fprintf(log, "#%llu - %lums: ", (unsigned long long)n, (unsigned long)delay_ms);
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)msg[i];
        if (ch < 0x20 || ch == 0x7f)
            fprintf(log, "\\x%02x", ch);
        else
            fputc(ch, log);
    }
    fputc('\n', log);
    fflush(log);
}
