#define _GNU_SOURCE
#include "ds_client.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int64_t ds_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

/* ---- the server process -------------------------------------------------------------------- */

/* In the child. The server must not outlive the test program: a failed cmocka assertion leaves
 * the test function before it stops its server. PR_SET_PDEATHSIG (kept across the exec) has the
 * kernel kill the server when the thread that forked it ends, the program's only thread (cmocka
 * runs the tests on it); if that thread ended before the prctl, getppid() is no longer parent. */
static void exec_server(const struct ds_server *s, pid_t parent, const char *bin,
                        const char *const *args)
{
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != parent) _exit(125);
    const char *argv[32] = {bin, "--port", "0"};
    size_t n = 3;
    for (size_t i = 0; args && args[i] && n < 31; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    int fd = open(s->out_path, O_WRONLY | O_TRUNC);
    if (fd < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0) _exit(126);
    execv(bin, (char *const *)argv);
    _exit(127);
}

/* The port of the `listening on HOST:PORT` line, or 0 if it is not there yet. */
static uint16_t listening_port(const struct ds_server *s)
{
    char text[4096] = "";
    FILE *f = fopen(s->out_path, "r");
    if (!f) return 0;
    size_t n = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[n] = '\0';
    char *line = strstr(text, "listening on ");
    char *eol = line ? strchr(line, '\n') : NULL;
    if (!eol) return 0;
    *eol = '\0';
    char *colon = strrchr(line, ':');
    return colon ? (uint16_t)atoi(colon + 1) : 0;
}

void ds_server_start(struct ds_server *s, const char *bin, const char *const *args)
{
    snprintf(s->out_path, sizeof s->out_path, "/tmp/weft-ds-test-XXXXXX");
    int fd = mkstemp(s->out_path);
    assert_true(fd >= 0);
    close(fd);
    pid_t parent = getpid();
    s->pid = fork();
    assert_true(s->pid >= 0);
    if (s->pid == 0) exec_server(s, parent, bin, args);
    s->port = 0;
    for (int i = 0; i < 500 && s->port == 0; i++) { /* at most 5 s */
        sleep_ms(10);
        s->port = listening_port(s);
        if (s->port == 0 && waitpid(s->pid, NULL, WNOHANG) == s->pid) break;
    }
    if (s->port == 0) {
        char cmd[128];
        snprintf(cmd, sizeof cmd, "cat %s", s->out_path);
        (void)system(cmd);
        fail_msg("the server did not print `listening on`");
    }
}

int ds_server_stop(struct ds_server *s, int sig)
{
    int status = 0;
    pid_t r = 0;
    kill(s->pid, sig);
    for (int i = 0; i < 1000 && r == 0; i++) { /* at most 10 s */
        r = waitpid(s->pid, &status, WNOHANG);
        if (r == 0) sleep_ms(10);
    }
    if (r == 0) {
        kill(s->pid, SIGKILL);
        waitpid(s->pid, &status, 0);
        return -1;
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

bool ds_server_output_has(const struct ds_server *s, const char *needle)
{
    static char text[1 << 20];
    FILE *f = fopen(s->out_path, "r");
    if (!f) return false;
    size_t n = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[n] = '\0';
    return strstr(text, needle) != NULL;
}

/* ---- clients ------------------------------------------------------------------------------- */

void ds_connect(struct ds_client *c, uint16_t port)
{
    c->len = 0;
    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(c->fd >= 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(c->fd, (struct sockaddr *)&sa, sizeof sa), 0);
    struct timeval tv = {.tv_sec = 5};
    assert_int_equal(setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv), 0);
    int one = 1;
    assert_int_equal(setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one), 0);
}

void ds_send_n(struct ds_client *c, const void *data, size_t len)
{
    const char *p = data;
    while (len > 0) {
        ssize_t n = send(c->fd, p, len, MSG_NOSIGNAL);
        assert_true(n > 0);
        p += n;
        len -= (size_t)n;
    }
}

void ds_send(struct ds_client *c, const char *text)
{
    ds_send_n(c, text, strlen(text));
}

/* Finds header name in head[0 .. head_len) and returns its value (not terminated) or NULL. */
static const char *header_value(const char *head, size_t head_len, const char *name)
{
    size_t name_len = strlen(name);
    const char *end = head + head_len;
    for (const char *p = head; p < end;) {
        const char *eol = memmem(p, (size_t)(end - p), "\r\n", 2);
        if (!eol) break;
        if ((size_t)(eol - p) > name_len && strncasecmp(p, name, name_len) == 0 &&
            p[name_len] == ':') {
            p += name_len + 1;
            while (*p == ' ')
                p++;
            return p;
        }
        p = eol + 2;
    }
    return NULL;
}

int ds_take_response(struct ds_client *c, struct ds_response *r, bool head_only)
{
    char *end = memmem(c->buf, c->len, "\r\n\r\n", 4);
    if (!end) return 0;
    size_t head_len = (size_t)(end - c->buf) + 4;
    memset(r, 0, offsetof(struct ds_response, body));
    r->content_length = -1;
    assert_int_equal(strncmp(c->buf, "HTTP/1.1 ", 9), 0);
    r->status = atoi(c->buf + 9);
    const char *v = header_value(c->buf, head_len, "Content-Length");
    if (v) r->content_length = atol(v);
    v = header_value(c->buf, head_len, "Connection");
    r->close = v && strncasecmp(v, "close", 5) == 0;
    r->keep_alive = v && strncasecmp(v, "keep-alive", 10) == 0;
    r->allow = header_value(c->buf, head_len, "Allow") != NULL;
    size_t body = head_only || r->content_length < 0 ? 0 : (size_t)r->content_length;
    assert_true(body < sizeof r->body);
    if (c->len < head_len + body) return 0;
    memcpy(r->body, c->buf + head_len, body);
    r->body[body] = '\0';
    r->body_len = body;
    memmove(c->buf, c->buf + head_len + body, c->len - head_len - body);
    c->len -= head_len + body;
    return 1;
}

int ds_read_response(struct ds_client *c, struct ds_response *r, bool head_only)
{
    while (!ds_take_response(c, r, head_only)) {
        assert_true(c->len < sizeof c->buf);
        ssize_t n = recv(c->fd, c->buf + c->len, sizeof c->buf - c->len, 0);
        if (n <= 0) return -1;
        c->len += (size_t)n;
    }
    return 0;
}

/* Waits up to ms for something to read. Returns recv's result: > 0 bytes (stored), 0 EOF,
 * -1 reset or error, -2 nothing within ms. */
static ssize_t recv_within(struct ds_client *c, int ms)
{
    struct pollfd pfd = {.fd = c->fd, .events = POLLIN};
    int64_t end = ds_now_ms() + ms;
    int r;
    do
        r = poll(&pfd, 1, (int)(end - ds_now_ms() > 0 ? end - ds_now_ms() : 0));
    while (r < 0 && errno == EINTR);
    if (r == 0) return -2;
    ssize_t n = recv(c->fd, c->buf + c->len, sizeof c->buf - c->len, 0);
    if (n > 0) c->len += (size_t)n;
    return n < 0 ? -1 : n;
}

bool ds_closed_within(struct ds_client *c, int ms)
{
    ssize_t n = recv_within(c, ms);
    return n == 0 || n == -1;
}

bool ds_wait_closed(struct ds_client *c, int ms)
{
    int64_t end = ds_now_ms() + ms;
    for (int64_t left = ms; left >= 0; left = end - ds_now_ms()) {
        if (c->len == sizeof c->buf) c->len = 0; /* keep reading: only the close matters */
        ssize_t n = recv_within(c, (int)left);
        if (n == 0 || n == -1) return true;
        if (n == -2) return false;
    }
    return false;
}

bool ds_quiet_for(struct ds_client *c, int ms)
{
    return recv_within(c, ms) == -2;
}

void ds_close(struct ds_client *c)
{
    if (c->fd >= 0) close(c->fd);
    c->fd = -1;
}

void ds_reset(struct ds_client *c)
{
    struct linger lg = {.l_onoff = 1, .l_linger = 0};
    assert_int_equal(setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg), 0);
    ds_close(c);
}
