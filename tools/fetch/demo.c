/*
 * weft-fetch --demo: the whole idea of weft in one run.
 *
 * A delay server (tools/delayserver) is started inside this process, in the same runtime as the
 * fetches, on a free port. We ask it for 8 URLs whose delays, 200 to 1600 ms, are listed in
 * shuffled order, all at once. One thread does all of it, yet the run takes about as long as the
 * longest delay rather than the sum, and the answers come back in the order their delays expire.
 * The output says what is about to happen, shows each answer as it arrives, and ends with the
 * wall time against the sum of the individual times.
 */
#include <stdlib.h>
#include <string.h>

#include "delayserver.h"
#include "fetch.h"

#define DEMO_N 8
static const int demo_delays_ms[DEMO_N] = {800, 1600, 200, 1200, 600, 1400, 400, 1000};

struct demo {
    int delay[DEMO_N];    /* the scaled delays, in ms */
    char url[DEMO_N][96]; /* the URLs asked for */
    size_t order[DEMO_N]; /* URL indexes in the order they completed */
    size_t completed;     /* entries in order */
};

static double ms(int64_t ns)
{
    return (double)ns / 1e6;
}

/* One line per answer, as it arrives. */
static void demo_done(struct fetch_run *run, size_t i)
{
    struct demo *d = run->user;
    const struct fetch_result *r = &run->results[i];
    if (d->completed == 0) printf("\nAnswers, as they arrive (time since the start):\n");
    d->order[d->completed++] = i;
    printf("  +%5.0f ms  #%zu  ", ms(r->timing.done - run->start), i + 1);
    if (r->error)
        printf("failed: %s\n", weft_strerror(r->error));
    else
        printf("%d  \"%.*s\"  (delay: %d ms)\n", r->status, (int)r->preview_len, r->preview,
               d->delay[i]);
    fflush(stdout);
}

static void demo_intro(const struct demo *d, const char *addr)
{
    int sum = 0, longest = 0;
    for (int i = 0; i < DEMO_N; i++) {
        sum += d->delay[i];
        if (d->delay[i] > longest) longest = d->delay[i];
    }
    printf("weft-fetch --demo: %d HTTP requests at once, from one thread.\n\n"
           "A delay server is running inside this process, on %s.\n"
           "It answers GET /<ms>/<text> with <text>, after waiting <ms> milliseconds.\n\n"
           "We ask it for these %d URLs, all at the same time, in this order:\n",
           DEMO_N, addr, DEMO_N);
    for (int i = 0; i < DEMO_N; i++)
        printf("  #%d  %s\n", i + 1, d->url[i]);
    printf("\nOne after another, they would take %.1f s (the sum of the delays). Fetched\n"
           "concurrently they should take about %.1f s (the longest delay), and finish in the\n"
           "order of their delays, not in the order we asked.\n\n"
           "The server prints \"#n - <delay>ms: <text>\" as each request reaches it:\n",
           sum / 1000.0, longest / 1000.0);
    fflush(stdout);
}

/* Did the answers come back sorted by delay? Prints the order either way. */
static void demo_order(const struct demo *d)
{
    bool sorted = true;
    printf("Completion order:");
    for (size_t k = 0; k < d->completed; k++) {
        printf(" #%zu", d->order[k] + 1);
        if (k > 0 && d->delay[d->order[k]] < d->delay[d->order[k - 1]]) sorted = false;
    }
    printf("%s\n", sorted ? " - the order of their delays, as expected."
                          : " - not quite the order of their delays (a busy machine?).");
}

/* The server and the run share rt; the server is stopped once the run is over. */
static int demo_run(weft_runtime *rt, struct demo *d, struct fetch_run *run, bool timeline)
{
    weft_delayserver_config cfg;
    weft_delayserver_config_init(&cfg);
    cfg.port = 0;
    weft_delayserver srv;
    int r = weft_delayserver_start(rt, &cfg, &srv);
    if (r < 0) {
        fprintf(stderr, "weft-fetch --demo: cannot start the delay server: %s\n", weft_strerror(r));
        return r;
    }
    weft_addr a;
    char addr[WEFT_ADDR_STRLEN];
    weft_delayserver_addr(&srv, &a);
    weft_addr_format(&a, addr, sizeof addr);
    for (int i = 0; i < DEMO_N; i++) {
        snprintf(d->url[i], sizeof d->url[i], "http://%s/%d/request-%d", addr, d->delay[i], i + 1);
        run->results[i].url = d->url[i];
    }
    demo_intro(d, addr);
    r = fetch_run_all(rt, run);
    weft_delayserver_shutdown(&srv, 0);
    if (weft_runtime_run(rt) == 0) weft_delayserver_close(&srv);
    if (r < 0) return r;
    if (timeline) report_timeline(run, stdout);
    printf("\n");
    report_totals(run, stdout);
    demo_order(d);
    return 0;
}

int fetch_demo(double scale, bool timeline)
{
    struct demo d;
    memset(&d, 0, sizeof d);
    for (int i = 0; i < DEMO_N; i++)
        d.delay[i] = (int)(demo_delays_ms[i] * scale + 0.5);
    struct fetch_result results[DEMO_N];
    memset(results, 0, sizeof results);
    struct fetch_opts opt = {.concurrency = DEMO_N,
                             .timeout = WEFT_SEC(60),
                             .max_body = WEFT_HTTP_UNLIMITED,
                             .quiet = true};
    struct fetch_run run = {.opt = &opt,
                            .results = results,
                            .n = DEMO_N,
                            .on_done = demo_done,
                            .user = &d,
                            .lines = stdout};
    weft_runtime rt;
    int r = weft_runtime_init(&rt);
    if (r == 0) r = demo_run(&rt, &d, &run, timeline);
    weft_runtime_close(&rt);
    return r == 0 && run.failed == 0 ? 0 : 1;
}
