/*
 * curl_multi_client: the libcurl baseline for the HTTP client benchmark.
 *
 *   curl_multi_client --addr 127.0.0.1:PORT [--conns C] [--requests N] [--timeout S]
 *                     [--api socket|poll]
 *
 * Same work, same RESULT line and same exit status as epoll_client. C easy handles are kept in
 * one multi handle; when a transfer finishes its handle is removed and added again for the next
 * request, so libcurl reuses the connection from its cache. CURLMOPT_MAX_TOTAL_CONNECTIONS,
 * CURLMOPT_MAX_HOST_CONNECTIONS and CURLMOPT_MAXCONNECTS are all C.
 *
 * --api socket (default) drives libcurl with curl_multi_socket_action over our own epoll set,
 * the interface libcurl recommends for many connections. --api poll uses curl_multi_poll, the
 * simple loop most programs start with, which looks at every socket on every call.
 */
#include "bench_common.h"

#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>

enum { MAX_EVENTS = 256 };

static CURLM *multi;
static int epfd = -1;
static double curl_timer_at = -1; /* when libcurl wants CURL_SOCKET_TIMEOUT; -1 = never */
static long target, issued, done, errors;

static size_t discard(char *data, size_t size, size_t n, void *user)
{
    (void)data;
    (void)user;
    return size * n;
}

/* Starts the next transfer on `easy`, if any is left. Returns 1 if one was started. */
static int start_next(CURL *easy)
{
    if (issued >= target) return 0;
    if (curl_multi_add_handle(multi, easy) != CURLM_OK) return 0;
    issued++;
    return 1;
}

/* Counts finished transfers and starts the next one on each freed handle. */
static void reap(void)
{
    int left;
    CURLMsg *m;
    for (int i = 0; i < 1000000 && (m = curl_multi_info_read(multi, &left)) != NULL; i++) {
        if (m->msg != CURLMSG_DONE) continue;
        CURL *easy = m->easy_handle;
        long status = 0;
        curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
        if (m->data.result == CURLE_OK && status == 200)
            done++;
        else
            errors++;
        curl_multi_remove_handle(multi, easy);
        start_next(easy);
    }
}

static int on_socket(CURL *easy, curl_socket_t s, int what, void *user, void *sockp)
{
    (void)easy;
    (void)user;
    (void)sockp;
    if (what == CURL_POLL_REMOVE) {
        epoll_ctl(epfd, EPOLL_CTL_DEL, s, NULL); /* may already be closed: ignore */
        return 0;
    }
    struct epoll_event ev = {.data.fd = s};
    ev.events = ((what & CURL_POLL_IN) ? EPOLLIN : 0) | ((what & CURL_POLL_OUT) ? EPOLLOUT : 0);
    if (epoll_ctl(epfd, EPOLL_CTL_MOD, s, &ev) != 0 && errno == ENOENT)
        epoll_ctl(epfd, EPOLL_CTL_ADD, s, &ev);
    return 0;
}

static int on_timer(CURLM *m, long timeout_ms, void *user)
{
    (void)m;
    (void)user;
    curl_timer_at = timeout_ms < 0 ? -1 : bench_now() + (double)timeout_ms * 1e-3;
    return 0;
}

/* Milliseconds to wait: until libcurl's timer, capped by the run's deadline. */
static int wait_ms(double deadline)
{
    double until = (curl_timer_at >= 0 && curl_timer_at < deadline) ? curl_timer_at : deadline;
    double left = until - bench_now();
    return left <= 0 ? 0 : (int)(left * 1000) + 1;
}

/* Fires libcurl's timer if it is due, whether or not epoll_wait timed out. */
static void fire_timer_if_due(int *running)
{
    if (curl_timer_at < 0 || bench_now() < curl_timer_at) return;
    curl_timer_at = -1;
    curl_multi_socket_action(multi, CURL_SOCKET_TIMEOUT, 0, running);
}

static void run_socket_api(double deadline)
{
    epfd = epoll_create1(EPOLL_CLOEXEC);
    if (epfd < 0) bench_die("epoll_create1");
    curl_multi_setopt(multi, CURLMOPT_SOCKETFUNCTION, on_socket);
    curl_multi_setopt(multi, CURLMOPT_TIMERFUNCTION, on_timer);
    int running = 0;
    curl_multi_socket_action(multi, CURL_SOCKET_TIMEOUT, 0, &running);
    struct epoll_event events[MAX_EVENTS];
    while (done + errors < target && bench_now() < deadline) {
        int n = epoll_wait(epfd, events, MAX_EVENTS, wait_ms(deadline));
        if (n < 0 && errno != EINTR) bench_die("epoll_wait");
        for (int i = 0; i < n; i++) {
            int mask = ((events[i].events & EPOLLIN) ? CURL_CSELECT_IN : 0) |
                       ((events[i].events & EPOLLOUT) ? CURL_CSELECT_OUT : 0) |
                       ((events[i].events & (EPOLLERR | EPOLLHUP)) ? CURL_CSELECT_ERR : 0);
            curl_multi_socket_action(multi, events[i].data.fd, mask, &running);
        }
        fire_timer_if_due(&running);
        reap();
    }
}

static void run_poll_api(double deadline)
{
    int running = 0;
    while (done + errors < target && bench_now() < deadline) {
        if (curl_multi_perform(multi, &running) != CURLM_OK) break;
        reap();
        if (done + errors >= target) break;
        curl_multi_poll(multi, NULL, 0, wait_ms(deadline), NULL);
    }
}

static CURL *easy_new(const char *url)
{
    CURL *easy = curl_easy_init();
    if (easy == NULL) {
        fprintf(stderr, "curl_easy_init failed\n");
        exit(1);
    }
    curl_easy_setopt(easy, CURLOPT_URL, url);
    curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, discard);
    curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(easy, CURLOPT_NOPROXY, "*");
    curl_easy_setopt(easy, CURLOPT_TCP_NODELAY, 1L);
    return easy;
}

int main(int argc, char **argv)
{
    struct bench_client_opts o = BENCH_CLIENT_OPTS_INIT;
    const char *api = "socket";
    for (int i = 1; i < argc; i++) {
        if (bench_client_opt(argc, argv, &i, &o) || bench_opt_str(argc, argv, &i, "--api", &api))
            continue;
        fprintf(stderr, "usage: %s " BENCH_CLIENT_USAGE " [--api socket|poll]\n", argv[0]);
        return 2;
    }
    char request[128]; /* libcurl writes its own; formatted only to share the checks */
    bench_client_setup(&o, argv[0], request, sizeof request);
    if (strcmp(api, "socket") != 0 && strcmp(api, "poll") != 0) {
        fprintf(stderr, "%s: --api is socket or poll\n", argv[0]);
        return 2;
    }
    target = o.requests;
    long conns = o.conns, timeout = o.timeout;
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) return 1;
    char url[96];
    snprintf(url, sizeof url, "http://%s/", o.addr_text);
    multi = curl_multi_init();
    curl_multi_setopt(multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, conns);
    curl_multi_setopt(multi, CURLMOPT_MAX_HOST_CONNECTIONS, conns);
    curl_multi_setopt(multi, CURLMOPT_MAXCONNECTS, conns);
    CURL **easies = calloc((size_t)conns, sizeof *easies);
    if (easies == NULL) bench_die("calloc");

    double start = bench_now();
    for (long i = 0; i < conns; i++) {
        easies[i] = easy_new(url);
        start_next(easies[i]);
    }
    if (strcmp(api, "socket") == 0)
        run_socket_api(start + (double)timeout);
    else
        run_poll_api(start + (double)timeout);
    double wall = bench_now() - start;

    errors = target - done; /* failed, unanswered, or never sent */
    struct bench_run run = {strcmp(api, "socket") == 0 ? "curl_multi_client" : "curl_multi_poll",
                            conns,
                            target,
                            done,
                            errors,
                            wall};
    bench_print_result(&run);
    for (long i = 0; i < conns; i++) {
        curl_multi_remove_handle(multi, easies[i]);
        curl_easy_cleanup(easies[i]);
    }
    curl_multi_cleanup(multi);
    curl_global_cleanup();
    free(easies);
    return errors == 0 ? 0 : 1;
}
