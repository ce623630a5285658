/* The canned-reply server for client tests: see canned_server.h. */
#define _GNU_SOURCE
#include "canned_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

struct conn {
    int fd;
    bool hung;       /* CANNED_HANG: ignore everything from now on */
    size_t len;      /* bytes in buf */
    char buf[65536]; /* the request being received */
};

/* Where the request in buf ends (head and Content-Length body), or 0 if it is incomplete. */
static size_t request_end(const struct conn *c)
{
    const char *end = memmem(c->buf, c->len, "\r\n\r\n", 4);
    if (!end) return 0;
    size_t head = (size_t)(end - c->buf) + 4;
    size_t body = 0;
    for (const char *p = c->buf; p && p < end; p = memchr(p, '\n', (size_t)(end - p))) {
        if (*p == '\n') p++;
        if (strncasecmp(p, "content-length:", 15) == 0) body = strtoul(p + 15, NULL, 10);
    }
    return c->len >= head + body ? head + body : 0;
}

static bool send_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w <= 0) return false;
        p += w;
        n -= (size_t)w;
    }
    return true;
}

/* Sends all of s, with @PORT@ replaced. Errors end it quietly: the client may have given up,
 * which is what some tests check. */
static void send_reply(int fd, const char *s, uint16_t port)
{
    char portbuf[8];
    snprintf(portbuf, sizeof portbuf, "%u", (unsigned)port);
    for (;;) {
        const char *mark = strstr(s, "@PORT@");
        if (!send_all(fd, s, mark ? (size_t)(mark - s) : strlen(s)) || !mark) return;
        if (!send_all(fd, portbuf, strlen(portbuf))) return;
        s = mark + 6;
    }
}

static void conn_close(struct conn *c, bool reset)
{
    if (reset) {
        struct linger lg = {.l_onoff = 1, .l_linger = 0};
        setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    }
    close(c->fd);
    c->fd = -1;
}

/* Answers every complete request in c->buf. */
static void serve_requests(struct canned_server *s, struct conn *c)
{
    size_t end;
    while (c->fd >= 0 && !c->hung && (end = request_end(c)) > 0) {
        int n = atomic_fetch_add(&s->requests, 1);
        if (n < CANNED_MAX_LOG) {
            const char *eol = memchr(c->buf, '\r', c->len);
            size_t ll = eol ? (size_t)(eol - c->buf) : 0;
            if (ll >= sizeof s->lines[0]) ll = sizeof s->lines[0] - 1;
            memcpy(s->lines[n], c->buf, ll);
            s->lines[n][ll] = '\0';
            s->body_lens[n] =
                end - (size_t)((char *)memmem(c->buf, c->len, "\r\n\r\n", 4) - c->buf + 4);
        }
        const struct canned_reply *r =
            &s->replies[(size_t)n < s->nreplies ? (size_t)n : s->nreplies - 1];
        memmove(c->buf, c->buf + end, c->len - end);
        c->len -= end;
        send_reply(c->fd, r->bytes, s->port);
        if (r->after == CANNED_CLOSE || r->after == CANNED_RESET)
            conn_close(c, r->after == CANNED_RESET);
        else if (r->after == CANNED_HANG)
            c->hung = true;
    }
}

static void conn_readable(struct canned_server *s, struct conn *c)
{
    if (c->hung) {
        char sink[4096];
        if (recv(c->fd, sink, sizeof sink, 0) <= 0) conn_close(c, false);
        return;
    }
    ssize_t n = recv(c->fd, c->buf + c->len, sizeof c->buf - c->len, 0);
    if (n <= 0) {
        conn_close(c, false);
        return;
    }
    c->len += (size_t)n;
    serve_requests(s, c);
}

static void *server_main(void *arg)
{
    struct canned_server *s = arg;
    struct conn *conns = calloc(CANNED_MAX_CONNS, sizeof *conns);
    if (!conns) return NULL;
    for (int i = 0; i < CANNED_MAX_CONNS; i++)
        conns[i].fd = -1;
    while (!atomic_load(&s->stop)) {
        struct pollfd pfd[CANNED_MAX_CONNS + 1];
        int map[CANNED_MAX_CONNS + 1], n = 0;
        pfd[n] = (struct pollfd){.fd = s->lfd, .events = POLLIN};
        map[n++] = -1;
        for (int i = 0; i < CANNED_MAX_CONNS; i++)
            if (conns[i].fd >= 0) {
                pfd[n] = (struct pollfd){.fd = conns[i].fd, .events = POLLIN};
                map[n++] = i;
            }
        if (poll(pfd, (nfds_t)n, 20) <= 0) continue;
        for (int k = 0; k < n; k++) {
            if (!pfd[k].revents) continue;
            if (map[k] >= 0) {
                conn_readable(s, &conns[map[k]]);
                continue;
            }
            int fd = accept4(s->lfd, NULL, NULL, SOCK_CLOEXEC);
            if (fd < 0) continue;
            atomic_fetch_add(&s->accepts, 1);
            int slot = 0;
            while (slot < CANNED_MAX_CONNS && conns[slot].fd >= 0)
                slot++;
            if (slot == CANNED_MAX_CONNS) {
                close(fd);
                continue;
            }
            conns[slot].fd = fd;
            conns[slot].hung = false;
            conns[slot].len = 0;
        }
    }
    for (int i = 0; i < CANNED_MAX_CONNS; i++)
        if (conns[i].fd >= 0) conn_close(&conns[i], false);
    free(conns);
    return NULL;
}

int canned_start(struct canned_server *s, const struct canned_reply *replies, size_t nreplies,
                 bool ipv6)
{
    memset(s, 0, sizeof *s);
    s->replies = replies;
    s->nreplies = nreplies;
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    socklen_t len;
    if (ipv6) {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
        a->sin6_family = AF_INET6;
        a->sin6_addr = in6addr_loopback;
        len = sizeof *a;
    } else {
        struct sockaddr_in *a = (struct sockaddr_in *)&ss;
        a->sin_family = AF_INET;
        a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        len = sizeof *a;
    }
    s->lfd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (s->lfd < 0) return -1;
    if (bind(s->lfd, (struct sockaddr *)&ss, len) < 0 || listen(s->lfd, 64) < 0 ||
        getsockname(s->lfd, (struct sockaddr *)&ss, &len) < 0) {
        close(s->lfd);
        return -1;
    }
    s->port = ntohs(ipv6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                         : ((struct sockaddr_in *)&ss)->sin_port);
    if (pthread_create(&s->thread, NULL, server_main, s) != 0) {
        close(s->lfd);
        return -1;
    }
    return 0;
}

void canned_stop(struct canned_server *s)
{
    atomic_store(&s->stop, true);
    pthread_join(s->thread, NULL);
    close(s->lfd);
}
