/*
 * weft_client: the HTTP client benchmark (workload 2) written with weft's HTTP client.
 *
 *   weft_client --addr 127.0.0.1:PORT [--conns C] [--requests N] [--timeout S]
 *
 * Sends N GET requests (default 20000) over C keep-alive connections (default 100), one request
 * in flight per connection, and prints one RESULT line (see bench_common.h); exits 0 if every
 * request got a 200 response with the 13-byte body, 1 otherwise. Gives up after S seconds
 * (default 120).
 *
 * This is what an application would write: C tasks, each a loop of exchanges (weft/http.h part
 * 2) through one weft_http_client, whose pool hands each task back the connection its previous
 * request used. The URL is parsed once (ex.target), as a program requesting one URL many times
 * would. Two settings make it comparable with epoll_client rather than a general-purpose client:
 * each connection's buffers are sized for the responses at hand (a 1 KiB read buffer, as
 * epoll_client has), and the pool keeps as many idle connections as there are tasks, so that no
 * connection is closed and reopened between two requests.
 */
#define _GNU_SOURCE
#include "bench_common.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "weft/http.h"
#include "weft/runtime.h"

enum {
    BUF_SIZE = 1024, /* each connection's read buffer, as in epoll_client */
    HEAD_SIZE = 256, /* the longest response head accepted (the benchmark's is 71 bytes) */
    MAX_HEADERS = 8, /* header fields per response (the benchmark's has 2) */
    BODY_SIZE = 64,  /* the body is 13 bytes */
};

static weft_http_client client;
static weft_url target;
static int64_t deadline;
static long requests, issued, done, errors;

/* One connection's worth of work: a task that sends requests until none is left. */
struct worker {
    weft_co co;
    weft_http_exchange ex;
    int r;
    char body[BODY_SIZE];
};

static int worker(void *frame, weft_cx *cx)
{
    struct worker *f = frame;
    WEFT_BEGIN(&f->co);
    while (issued < requests) {
        issued++;
        weft_http_exchange_init(&f->ex, &client, WEFT_HTTP_GET, NULL);
        f->ex.target = &target;
        f->ex.deadline = deadline;
        WEFT_AWAIT_CHILD(&f->co, &f->ex.co, f->r, weft_http_exchange_start(&f->ex, cx));
        if (f->r == 200)
            WEFT_AWAIT(&f->co,
                       f->r = weft_http_exchange_read_all(&f->ex, f->body, sizeof f->body, cx));
        else if (f->r >= 0)
            f->r = -1; /* a status other than 200 */
        if (f->r == 13) {
            done++;
        } else {
            if (errors++ == 0) fprintf(stderr, "weft_client: %s\n", weft_strerror(f->r));
        }
        weft_http_exchange_close(&f->ex);
    }
    WEFT_ON_CANCEL(&f->co);
    weft_http_exchange_close(&f->ex);
    WEFT_END(&f->co, 0);
}

int main(int argc, char **argv)
{
    struct bench_client_opts o = BENCH_CLIENT_OPTS_INIT;
    char request[128], url[64];
    bench_client_parse(argc, argv, &o);
    (void)bench_client_setup(&o, argv[0], request, sizeof request); /* checks --addr */
    snprintf(url, sizeof url, "http://%s/", o.addr_text);
    if (weft_url_parse(&target, url, strlen(url)) != 0) {
        fprintf(stderr, "weft_client: bad address %s\n", o.addr_text);
        return 2;
    }
    requests = o.requests;

    static weft_runtime rt;
    int r = weft_runtime_init(&rt);
    weft_http_client_config cfg = {
        .buffer_size = BUF_SIZE,
        .head_size = HEAD_SIZE,
        .max_headers = MAX_HEADERS,
        .max_idle_per_host = (size_t)o.conns,
        .max_idle = (size_t)o.conns,
    };
    if (r == 0) r = weft_http_client_init(&client, &rt, &cfg);
    struct worker *workers = calloc((size_t)o.conns, sizeof *workers);
    if (r < 0 || workers == NULL) {
        fprintf(stderr, "weft_client: setting up: %s\n", weft_strerror(r < 0 ? r : -ENOMEM));
        return 1;
    }

    double start = bench_now();
    deadline = weft_deadline_in(WEFT_SEC(o.timeout));
    for (long i = 0; i < o.conns; i++) {
        if ((r = weft_task_spawn(&rt, worker, &workers[i], NULL)) < 0) {
            fprintf(stderr, "weft_client: spawn: %s\n", weft_strerror(r));
            return 1;
        }
    }
    r = weft_runtime_run(&rt);
    double wall = bench_now() - start;
    if (r < 0) fprintf(stderr, "weft_client: run: %s\n", weft_strerror(r));

    errors = requests - done; /* failed, unanswered, or never sent */
    struct bench_run run = {"weft_client", o.conns, requests, done, errors, wall};
    bench_print_result(&run);
    weft_http_client_close(&client);
    weft_runtime_close(&rt);
    free(workers);
    return errors == 0 ? 0 : 1;
}
