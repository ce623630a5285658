/*
 * The engine of weft-fetch: a fixed number of worker tasks share one list of URLs. Each worker
 * takes the next URL, fetches it, hands the body to a sink piece by piece as it arrives, records
 * the result, and takes the next URL — so at most opt->concurrency fetches are in flight, and a
 * worker that finishes early starts the next fetch at once. All of it is one thread.
 *
 * The sinks: nothing (bytes are counted), a file per URL (-o), or a buffer written to stdout
 * when the fetch completes (-b: whole bodies, never interleaved). File and stdout writes are
 * plain blocking stdio calls: a local disk or a terminal keeps up, and the alternative (a
 * thread pool for files) is not worth it here.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fetch.h"

/* One worker: its frame, with the exchange it runs and the sink of the body it is reading. */
struct worker {
    weft_co co;
    struct fetch_run *run;
    size_t i; /* the URL being fetched */
    weft_http_exchange ex;
    int r;
    FILE *file;      /* -o: the open body file */
    char *body;      /* -b: the body so far */
    size_t body_len; /* bytes in body */
    size_t body_cap; /* its allocated size */
};

/* Hands out the next URL, if any is left. */
static bool run_take(struct fetch_run *run, size_t *i)
{
    if (run->next >= run->n) return false;
    *i = run->next++;
    run->in_flight++;
    return true;
}

static void worker_setup(struct worker *w)
{
    const struct fetch_opts *opt = w->run->opt;
    weft_http_exchange_init(&w->ex, &w->run->client, WEFT_HTTP_GET, w->run->results[w->i].url);
    w->ex.timeout = opt->timeout;
    w->ex.max_redirects = opt->redirects;
    w->ex.max_body = opt->max_body;
    w->body_len = 0;
}

/* ---------------------------------------------------------------------------------------------
 * Sinks
 * ------------------------------------------------------------------------------------------- */

/* -o: DIR/NNNN.body, numbered like the summary lines (1-based, in input order). */
static int sink_open(struct worker *w)
{
    const struct fetch_opts *opt = w->run->opt;
    if (!opt->out_dir) return 0;
    int digits = 1;
    for (size_t n = w->run->n; n >= 10; n /= 10)
        digits++;
    size_t len = strlen(opt->out_dir) + (size_t)digits + 16;
    char *path = malloc(len);
    if (!path) return -ENOMEM;
    snprintf(path, len, "%s/%0*zu.body", opt->out_dir, digits, w->i + 1);
    w->file = fopen(path, "wb");
    if (!w->file) {
        int err = -errno;
        free(path);
        return err;
    }
    w->run->results[w->i].file = path;
    return 0;
}

/* -b: grows the buffer to hold n more bytes (doubling: a few reallocs per body). */
static int body_reserve(struct worker *w, size_t n)
{
    if (w->body_cap - w->body_len >= n) return 0;
    size_t cap = w->body_cap ? w->body_cap : 4096;
    while (cap - w->body_len < n)
        cap *= 2;
    char *p = realloc(w->body, cap);
    if (!p) return -ENOMEM;
    w->body = p;
    w->body_cap = cap;
    return 0;
}

/* The piece the exchange just read goes to the sink. Returns 0 or -errno. */
static int sink_write(struct worker *w)
{
    struct fetch_result *res = &w->run->results[w->i];
    size_t room = sizeof res->preview - res->preview_len;
    size_t keep = w->ex.data_len < room ? w->ex.data_len : room;
    memcpy(res->preview + res->preview_len, w->ex.data, keep);
    res->preview_len += keep;
    if (w->file && fwrite(w->ex.data, 1, w->ex.data_len, w->file) != w->ex.data_len) return -EIO;
    if (w->run->opt->bodies_to_stdout) {
        int r = body_reserve(w, w->ex.data_len);
        if (r < 0) return r;
        memcpy(w->body + w->body_len, w->ex.data, w->ex.data_len);
        w->body_len += w->ex.data_len;
    }
    return 0;
}

/* Closes the sink; -b writes the whole body out now. Returns 0 or -errno. */
static int sink_close(struct worker *w, bool ok)
{
    int r = 0;
    if (w->file && fclose(w->file) != 0) r = -EIO;
    w->file = NULL;
    if (ok && w->run->opt->bodies_to_stdout && w->body_len > 0) {
        if (fwrite(w->body, 1, w->body_len, stdout) != w->body_len) r = -EIO;
        fflush(stdout);
    }
    return r;
}

/* ---------------------------------------------------------------------------------------------
 * The worker
 * ------------------------------------------------------------------------------------------- */

/* Records what became of URL w->i and tells whoever is watching. */
static void worker_finish(struct worker *w, int r)
{
    struct fetch_run *run = w->run;
    struct fetch_result *res = &run->results[w->i];
    int sink = sink_close(w, r >= 0);
    res->status = w->ex.status;
    res->error = r < 0 ? r : sink;
    res->bytes = w->ex.body_received;
    res->timing = w->ex.timing;
    if (res->timing.done == 0) res->timing.done = weft_time_now(); /* a sink error */
    weft_http_exchange_close(&w->ex);
    run->in_flight--;
    run->done++;
    if (fetch_failed(res)) run->failed++;
    if (run->on_done)
        run->on_done(run, w->i);
    else
        report_line(run, w->i);
    if (run->done == run->n) {
        run->end = weft_time_now();
        weft_waker_wake(w->ex.client->rt, run->root);
    }
}

static int worker_poll(struct worker *w, weft_cx *cx)
{
    WEFT_BEGIN(&w->co);
    while (run_take(w->run, &w->i)) {
        worker_setup(w);
        WEFT_AWAIT_CHILD(&w->co, &w->ex.co, w->r, weft_http_exchange_start(&w->ex, cx));
        if (w->r >= 0) w->r = sink_open(w);
        while (w->r >= 0) { /* read until the body is complete (0) or fails (< 0) */
            WEFT_AWAIT(&w->co, w->r = weft_http_exchange_read(&w->ex, cx));
            if (w->r <= 0) break;
            w->r = sink_write(w);
        }
        worker_finish(w, w->r);
    }
    WEFT_ON_CANCEL(&w->co);
    sink_close(w, false);
    weft_http_exchange_close(&w->ex);
    WEFT_END(&w->co, 0);
}

WEFT_CO_FN(worker_fn, worker_poll, struct worker)

/* ---------------------------------------------------------------------------------------------
 * The root task: start the workers, wait for the last fetch, draw progress meanwhile
 * ------------------------------------------------------------------------------------------- */

#define PROGRESS_EVERY WEFT_MSEC(100) /* redraw period */
#define PROGRESS_AFTER WEFT_MSEC(500) /* short runs never show it */

struct root {
    weft_co co;
    struct fetch_run *run;
    struct worker *workers;
    size_t nworkers;
    int64_t tick; /* next progress redraw */
};

/* Wakes when every fetch has ended, or (with progress on) when it is time to redraw. */
static bool root_should_wake(struct root *f, weft_cx *cx)
{
    struct fetch_run *run = f->run;
    run->root = weft_cx_waker(cx);
    if (run->done == run->n) return true;
    if (!run->opt->progress) return false;
    if (weft_cx_now(cx) >= f->tick) return true;
    weft_cx_want_deadline(cx, f->tick);
    return false;
}

static int root_poll(struct root *f, weft_cx *cx)
{
    WEFT_BEGIN(&f->co);
    f->run->start = weft_time_now();
    f->tick = f->run->start + PROGRESS_AFTER;
    for (size_t i = 0; i < f->nworkers; i++) {
        f->workers[i].run = f->run;
        if (weft_task_spawn(cx->rt, worker_fn, &f->workers[i], NULL) < 0) break;
    }
    for (;;) {
        WEFT_WAIT_UNTIL(&f->co, root_should_wake(f, cx));
        if (f->run->done == f->run->n) break;
        report_progress(f->run, false);
        f->tick = weft_cx_now(cx) + PROGRESS_EVERY;
    }
    report_progress_clear(f->run);
    WEFT_END(&f->co, 0);
}

WEFT_CO_FN(root_fn, root_poll, struct root)

int fetch_run_all(weft_runtime *rt, struct fetch_run *run)
{
    size_t nworkers = run->opt->concurrency < run->n ? run->opt->concurrency : run->n;
    if (nworkers == 0) nworkers = run->n ? 1 : 0;
    int r = weft_http_client_init(&run->client, rt, NULL);
    if (r < 0) return r;
    struct root root = {.run = run, .nworkers = nworkers};
    root.workers = calloc(nworkers ? nworkers : 1, sizeof *root.workers);
    if (!root.workers) return -ENOMEM;
    run->next = run->done = run->failed = run->in_flight = 0;
    r = run->n ? weft_runtime_block_on(rt, root_fn, &root) : 0;
    weft_http_client_close(&run->client);
    for (size_t i = 0; i < nworkers; i++)
        free(root.workers[i].body);
    free(root.workers);
    return r;
}
