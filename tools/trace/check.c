/*
 * weft-trace check: is this a trace Perfetto and chrome://tracing will open, and is it whole?
 *
 * Every line parsed as JSON already (trace_file.c), its numbers finite, its times within
 * +-TF_TS_MAX and its pid and tid integers; here: the document is closed, commas sit
 * between events only, every event has the fields the trace-event format requires (name, ph,
 * ts, pid, tid) and a phase it defines, time never runs backwards on a track, and the B/E slices
 * of each track nest and balance — an E always ends the innermost open B, of the same name, and
 * nothing is left open at the end.
 */
#include "weft_trace.h"

#include <stdlib.h>
#include <string.h>

/* Errors reported before the rest are only counted. */
#define SHOWN_ERRORS 20

/* Open B slices of one track. */
struct track {
    long pid, tid;
    const struct tf_event **open;
    size_t depth, cap;
    double last_ts;
};

struct checker {
    struct track *tracks;
    size_t n, cap;
    struct tf_track_map index; /* (pid, tid) -> its place in tracks */
    size_t errors;
    FILE *out;
};

static void problem(struct checker *c, const struct tf_event *e, const char *what)
{
    if (c->errors++ >= SHOWN_ERRORS) return;
    if (e == NULL)
        fprintf(c->out, "%s\n", what);
    else
        fprintf(c->out, "line %zu: %s (%s)\n", e->line, what, e->name != NULL ? e->name : "?");
}

static struct track *track_of(struct checker *c, long pid, long tid)
{
    size_t *i = tf_track_map_get(&c->index, pid, tid, c->n);
    if (i == NULL) return NULL;
    if (*i < c->n) return &c->tracks[*i];
    if (c->n == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 16;
        struct track *grown = realloc(c->tracks, cap * sizeof *grown);
        if (grown == NULL) return NULL;
        c->tracks = grown;
        c->cap = cap;
    }
    c->tracks[c->n] = (struct track){.pid = pid, .tid = tid, .last_ts = -1e300};
    return &c->tracks[c->n++];
}

static int push_open(struct track *k, const struct tf_event *e)
{
    if (k->depth == k->cap) {
        size_t cap = k->cap ? k->cap * 2 : 8;
        const struct tf_event **grown = realloc(k->open, cap * sizeof *grown);
        if (grown == NULL) return -1;
        k->open = grown;
        k->cap = cap;
    }
    k->open[k->depth++] = e;
    return 0;
}

/* The fields every event must have, and a phase the format defines. */
static bool fields_ok(struct checker *c, const struct tf_event *e)
{
    static const char phases[] = "BEXiIMCbnestfPOND";
    bool ok = true;
    if (e->name == NULL) problem(c, e, "no \"name\""), ok = false;
    if (e->ph == 0 || strchr(phases, e->ph) == NULL)
        problem(c, e, "no or unknown \"ph\""), ok = false;
    if (!e->has_ts) problem(c, e, "no \"ts\""), ok = false;
    if (!e->has_pid) problem(c, e, "no \"pid\""), ok = false;
    if (!e->has_tid) problem(c, e, "no \"tid\""), ok = false;
    return ok;
}

/* Order on the track, and B/E nesting. */
static int check_slices(struct checker *c, const struct tf_event *e)
{
    if (e->ph == 'M') return 0;
    struct track *k = track_of(c, e->pid, e->tid);
    if (k == NULL) return -1;
    if (e->ts < k->last_ts) problem(c, e, "time runs backwards on this track");
    k->last_ts = e->ts;
    if (e->ph == 'B') return push_open(k, e);
    if (e->ph != 'E') return 0;
    if (k->depth == 0) {
        problem(c, e, "E with no open B on its track");
        return 0;
    }
    const struct tf_event *b = k->open[--k->depth];
    if (strcmp(b->name, e->name) != 0) problem(c, e, "E does not end the innermost B");
    return 0;
}

int cmd_check(const struct tf_trace *t, FILE *out)
{
    struct checker c = {.out = out};
    int status = 0;
    if (!t->complete) problem(&c, NULL, "the document is not closed (no \"]}\" line)");
    for (size_t i = 0; i < t->n; i++) {
        const struct tf_event *e = &t->ev[i];
        if (e->comma != (i + 1 < t->n))
            problem(&c, e, e->comma ? "comma after the last event" : "no comma between events");
        if (fields_ok(&c, e) && check_slices(&c, e) < 0) {
            fprintf(out, "out of memory\n");
            status = 2;
            break;
        }
    }
    size_t tasks = 0;
    for (size_t i = 0; i < c.n; i++) {
        if (c.tracks[i].tid != 0) tasks++;
        for (size_t d = 0; d < c.tracks[i].depth; d++)
            problem(&c, c.tracks[i].open[d], "B never ended");
        free(c.tracks[i].open);
    }
    free(c.tracks);
    tf_track_map_free(&c.index);
    if (c.errors != 0) {
        fprintf(out, "%zu problem(s)\n", c.errors);
        return 1;
    }
    if (status == 0)
        fprintf(out, "ok: %zu events, %zu task track(s), every B/E balanced\n", t->n, tasks);
    return status;
}
