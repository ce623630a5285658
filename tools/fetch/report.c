/*
 * What weft-fetch prints: a line per URL as it completes, a progress display while a long run
 * goes on (stderr, terminals only), the closing line that compares the wall time with the sum of
 * the individual times, and the --timeline chart.
 */
#include <stdio.h>
#include <string.h>

#include "fetch.h"

static double ms(int64_t ns)
{
    return (double)ns / 1e6;
}

/* The width of the largest index, so the lines' columns line up. */
static int index_width(size_t n)
{
    int w = 1;
    for (; n >= 10; n /= 10)
        w++;
    return w;
}

/*
 * One line per URL:   #3  200      13 B   1002.1 ms  http://127.0.0.1:8080/1000/hi
 *                     #4  ERR       0 B      0.2 ms  http://127.0.0.1:1/  (Connection refused)
 */
void report_line(struct fetch_run *run, size_t i)
{
    const struct fetch_result *r = &run->results[i];
    if (run->opt->quiet) return;
    report_progress_clear(run);
    char status[8];
    if (r->status)
        snprintf(status, sizeof status, "%3d", r->status);
    else
        snprintf(status, sizeof status, "ERR");
    fprintf(run->lines, "#%-*zu %s %9llu B %9.1f ms  %s", index_width(run->n), i + 1, status,
            (unsigned long long)r->bytes, ms(r->timing.done - r->timing.start), r->url);
    if (r->error) fprintf(run->lines, "  (%s)", weft_strerror(r->error));
    if (r->file && !r->error) fprintf(run->lines, "  -> %s", r->file);
    fputc('\n', run->lines);
    fflush(run->lines);
}

/* ---------------------------------------------------------------------------------------------
 * Progress: one line on stderr, rewritten in place
 * ------------------------------------------------------------------------------------------- */

void report_progress(struct fetch_run *run, bool final)
{
    if (!run->opt->progress) return;
    double secs = (double)(weft_time_now() - run->start) / 1e9;
    fprintf(stderr, "\r\033[K[%zu/%zu done, %zu in flight, %zu failed, %.1f s]%s", run->done,
            run->n, run->in_flight, run->failed, secs, final ? "\n" : "");
    fflush(stderr);
    run->progress_on = !final;
}

/* Erases the progress line, so that the next line printed starts clean. */
void report_progress_clear(struct fetch_run *run)
{
    if (!run->progress_on) return;
    fputs("\r\033[K", stderr);
    fflush(stderr);
    run->progress_on = false;
}

/* ---------------------------------------------------------------------------------------------
 * Totals
 * ------------------------------------------------------------------------------------------- */

double report_sum_seconds(const struct fetch_run *run)
{
    int64_t sum = 0;
    for (size_t i = 0; i < run->n; i++)
        sum += run->results[i].timing.done - run->results[i].timing.start;
    return (double)sum / 1e9;
}

/*
 * 1000 URLs: 1000 ok, 0 failed. Wall time 1.012 s; sum of the individual times 1004.310 s
 * (992.4x: that many fetches overlapped on average).
 */
void report_totals(struct fetch_run *run, FILE *to)
{
    double wall = (double)(run->end - run->start) / 1e9;
    double sum = report_sum_seconds(run);
    fprintf(to,
            "%zu URL%s: %zu ok, %zu failed. Wall time %.3f s; sum of the individual times "
            "%.3f s",
            run->n, run->n == 1 ? "" : "s", run->n - run->failed, run->failed, wall, sum);
    if (wall > 0 && run->n > 1)
        fprintf(to, " (%.1fx: that many fetches overlapped on average)", sum / wall);
    fputs(".\n", to);
    fflush(to);
}

/* ---------------------------------------------------------------------------------------------
 * --timeline: one row per URL, time running left to right over the whole run
 * ------------------------------------------------------------------------------------------- */

#define TIMELINE_COLS 60

/* What fetch r was doing at time t: connecting, waiting for the answer, reading it. */
static char phase_at(const struct fetch_result *r, int64_t t)
{
    const weft_http_timing *tm = &r->timing;
    if (t < tm->start || t > tm->done) return ' ';
    if (tm->connected == 0 || t < tm->connected) return 'c';
    if (tm->first_byte == 0 || t < tm->first_byte) return '.';
    return '=';
}

void report_timeline(const struct fetch_run *run, FILE *to)
{
    int64_t span = run->end - run->start;
    if (span <= 0) span = 1;
    double col = (double)span / TIMELINE_COLS;
    fprintf(to,
            "\nTimeline: one column = %.1f ms; c connecting, . waiting for the response, "
            "= reading it, x failed\n",
            ms((int64_t)col));
    int w = index_width(run->n);
    for (size_t i = 0; i < run->n; i++) {
        const struct fetch_result *r = &run->results[i];
        char bar[TIMELINE_COLS + 1];
        for (int c = 0; c < TIMELINE_COLS; c++)
            bar[c] = phase_at(r, run->start + (int64_t)(col * (c + 0.5)));
        /* The column where it ended always shows how: most responses arrive whole, in less
         * time than a column lasts. */
        int last = (int)((double)(r->timing.done - run->start) / col);
        if (last >= TIMELINE_COLS) last = TIMELINE_COLS - 1;
        if (last >= 0) bar[last] = fetch_failed(r) ? 'x' : '=';
        bar[TIMELINE_COLS] = '\0';
        fprintf(to, "#%-*zu |%s| %s\n", w, i + 1, bar, r->url);
    }
    fprintf(to, "%*s 0 ms%*s%.0f ms\n", w + 1, "", TIMELINE_COLS - 6, "", ms(span));
    fflush(to);
}
