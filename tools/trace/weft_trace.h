/*
 * weft-trace: what a weft trace says, drawn. The pieces shared by the subcommands.
 *
 *   check  the file is a valid trace (JSON, required fields, B/E balanced per track)  check.c
 *   svg    a timeline: one row per task, coloured by what it was doing                svg.c
 *   dot    each coroutine function's observed state machine, for Graphviz              dot.c
 *
 * svg and dot work from the model below: the trace's slices, gathered per track.
 */
#ifndef WEFT_TRACE_TOOL_H
#define WEFT_TRACE_TOOL_H

#include <stdio.h>

#include "trace_file.h"

/* What a slice on a track shows. The order is the legend's. */
enum span_kind {
    SK_POLL,  /* running: the task is being polled */
    SK_READY, /* queued: woken, waiting for its turn */
    SK_READ,  /* waiting for an fd to be readable */
    SK_WRITE, /* waiting for an fd to be writable */
    SK_TIMER, /* waiting for a timer only */
    SK_JOIN,  /* waiting for another task to finish */
    SK_YIELD, /* queued again by itself (a yield, a spent budget) */
    SK_OTHER, /* waiting for something else (a channel, a waker given away) */
    SK_PARK,  /* the reactor blocked in epoll */
    SK_COUNT
};

/* One slice: a B/E pair on one track. */
struct span {
    double t0, t1; /* microseconds */
    enum span_kind kind;
    const struct tf_event *begin; /* the B event (its args: reason, site, ...) */
};

/* One track: the reactor (tid 0) or a task. */
struct row {
    long tid;
    const char *name; /* from its thread_name metadata, or NULL */
    struct span *spans;
    size_t n, cap;
    const struct tf_event *open[8]; /* B events not yet ended, innermost last */
    int depth;
    double done_ts; /* when it finished (its "done" event), or < 0 */
    const char *result;
};

struct model {
    struct row *rows; /* sorted by tid: the reactor first */
    size_t n, cap;
    struct tf_track_map index; /* while building: tid -> its place in rows */
    double t_min, t_max;
};

/* Builds the model of t (which must outlive it). Returns 0, or -1 if out of memory. */
int model_build(const struct tf_trace *t, struct model *m);
void model_free(struct model *m);

/* The kind of a slice called name ("wait read" -> SK_READ). */
enum span_kind span_kind_of(const char *name);

/* The subcommands. Each returns the process exit status. */
int cmd_check(const struct tf_trace *t, FILE *out);
int cmd_svg(const struct tf_trace *t, FILE *out);
int cmd_dot(const struct tf_trace *t, FILE *out);

/* Writes s to out escaped for XML text and attributes. */
void xml_escape(FILE *out, const char *s);

#endif
