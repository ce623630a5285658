/*
 * weft-fetch's pieces, shared by its files:
 *
 *   run.c     the engine: N worker tasks take URLs from one list and fetch them with the HTTP
 *             client (weft/http.h), streaming each body to its sink; a root task waits for the
 *             last one and draws the progress display meanwhile.
 *   report.c  what the user sees: a line per URL as it completes, the progress display, the
 *             final wall-versus-sum line, the --timeline chart.
 *   demo.c    --demo: the delay server (tools/delayserver) in the same runtime, 8 URLs.
 *   main.c    options, the URL list, RLIMIT_NOFILE.
 */
#ifndef WEFT_FETCH_H
#define WEFT_FETCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "weft/http.h"

/* What the user asked for. */
struct fetch_opts {
    size_t concurrency;    /* -c: fetches in flight at most */
    int64_t timeout;       /* -t: per fetch, ns; 0: none */
    unsigned redirects;    /* -L: redirects to follow */
    uint64_t max_body;     /* bodies over this fail (WEFT_HTTP_UNLIMITED: no limit) */
    const char *out_dir;   /* -o: each body to a file in this directory */
    bool bodies_to_stdout; /* -b: each body to stdout, whole, as its fetch completes */
    bool quiet;            /* -q: no line per URL */
    bool timeline;         /* --timeline: a chart of every fetch's phases at the end */
    bool progress;         /* draw the progress display on stderr (a terminal) */
};

/* What became of one URL. */
struct fetch_result {
    const char *url;
    int status;              /* the final status code; 0 if there was none */
    int error;               /* 0, or why the fetch failed (weft_strerror) */
    uint64_t bytes;          /* body bytes received */
    weft_http_timing timing; /* when each phase happened; timing.done == 0 until it ends */
    char *file;              /* -o: where the body went (allocated), or NULL */
    char preview[64];        /* the body's first bytes (the demo shows them) */
    size_t preview_len;
};

/* A fetch failed if it ended with an error or with a 4xx/5xx status. */
static inline bool fetch_failed(const struct fetch_result *r)
{
    return r->error != 0 || r->status >= 400;
}

struct fetch_run;

/* Called as each fetch ends (after its result is filled in), in completion order. */
typedef void fetch_done_fn(struct fetch_run *run, size_t i);

/* One run over a list of URLs. Set the first block, then call fetch_run_all. */
struct fetch_run {
    const struct fetch_opts *opt;
    struct fetch_result *results; /* one per URL, in input order; url set by the caller */
    size_t n;                     /* URLs */
    fetch_done_fn *on_done;       /* NULL: print the summary line (report_line) */
    void *user;                   /* for on_done */
    FILE *lines;                  /* where summary lines go: stdout, or stderr with -b */

    /* filled in by the run */
    weft_http_client client;
    size_t next;      /* the next URL to hand to a worker */
    size_t done;      /* fetches ended */
    size_t failed;    /* of which failed */
    size_t in_flight; /* fetches started, not ended */
    int64_t start;    /* when the run started (CLOCK_MONOTONIC ns) */
    int64_t end;      /* when the last fetch ended */
    bool progress_on; /* the progress display is on screen */
    weft_waker root;  /* the task waiting for the last fetch */
};

/*
 * fetch_run_all - fetch every URL of run with opt->concurrency workers, in rt, and return when
 * all have ended. Returns 0 (whatever became of the fetches: see run->failed), or -errno if the
 * run itself could not be set up or the runtime failed.
 */
int fetch_run_all(weft_runtime *rt, struct fetch_run *run);

/* report.c */
void report_line(struct fetch_run *run, size_t i);
void report_progress(struct fetch_run *run, bool final);
void report_progress_clear(struct fetch_run *run);
void report_totals(struct fetch_run *run, FILE *to);
void report_timeline(const struct fetch_run *run, FILE *to);
double report_sum_seconds(const struct fetch_run *run);

/* demo.c: weft-fetch --demo [--scale F]. Returns the exit status. */
int fetch_demo(double scale, bool timeline);

#endif
