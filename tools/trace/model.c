/*
 * The model svg.c draws: every B/E slice of the trace, gathered per track, with each task's end.
 */
#include "weft_trace.h"

#include <stdlib.h>
#include <string.h>

enum span_kind span_kind_of(const char *name)
{
    static const struct {
        const char *name;
        enum span_kind kind;
    } names[] = {
        {"poll", SK_POLL},        {"ready", SK_READY},      {"wait read", SK_READ},
        {"wait write", SK_WRITE}, {"wait timer", SK_TIMER}, {"wait join", SK_JOIN},
        {"wait yield", SK_YIELD}, {"park", SK_PARK},
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (name != NULL && strcmp(name, names[i].name) == 0) return names[i].kind;
    return SK_OTHER;
}

/* The row of tid, added (at the end) if new. NULL: out of memory. */
static struct row *row_of(struct model *m, long tid)
{
    size_t *i = tf_track_map_get(&m->index, 0, tid, m->n);
    if (i == NULL) return NULL;
    if (*i < m->n) return &m->rows[*i];
    if (m->n == m->cap) {
        size_t cap = m->cap ? m->cap * 2 : 16;
        struct row *grown = realloc(m->rows, cap * sizeof *grown);
        if (grown == NULL) return NULL;
        m->rows = grown;
        m->cap = cap;
    }
    m->rows[m->n] = (struct row){.tid = tid, .done_ts = -1};
    return &m->rows[m->n++];
}

static int by_tid(const void *a, const void *b)
{
    long x = ((const struct row *)a)->tid, y = ((const struct row *)b)->tid;
    return (x > y) - (x < y);
}

static int add_span(struct row *r, const struct tf_event *b, double t1)
{
    if (r->n == r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 16;
        struct span *grown = realloc(r->spans, cap * sizeof *grown);
        if (grown == NULL) return -1;
        r->spans = grown;
        r->cap = cap;
    }
    r->spans[r->n++] = (struct span){b->ts, t1, span_kind_of(b->name), b};
    return 0;
}

/* One event into its row: a B opens a slice, an E closes the innermost, metadata names. */
static int model_event(struct model *m, const struct tf_event *e)
{
    struct row *r = row_of(m, e->tid);
    if (r == NULL) return -1;
    if (e->ph == 'M') {
        if (e->name != NULL && strcmp(e->name, "thread_name") == 0) r->name = tf_arg(e, "name");
        return 0;
    }
    if (e->ts < m->t_min) m->t_min = e->ts;
    if (e->ts > m->t_max) m->t_max = e->ts;
    if (e->ph == 'B' && r->depth < (int)(sizeof r->open / sizeof r->open[0])) {
        r->open[r->depth++] = e;
    } else if (e->ph == 'E' && r->depth > 0) {
        return add_span(r, r->open[--r->depth], e->ts);
    } else if (e->ph == 'i' && e->name != NULL && strcmp(e->name, "done") == 0) {
        r->done_ts = e->ts;
        r->result = tf_arg(e, "error") != NULL ? tf_arg(e, "error") : tf_arg(e, "result");
    }
    return 0;
}

int model_build(const struct tf_trace *t, struct model *m)
{
    *m = (struct model){.t_min = 1e300, .t_max = -1e300};
    for (size_t i = 0; i < t->n; i++)
        if (t->ev[i].has_tid && model_event(m, &t->ev[i]) < 0) return -1;
    if (m->t_min > m->t_max) m->t_min = m->t_max = 0;
    tf_track_map_free(&m->index); /* the places change now */
    if (m->n > 1) qsort(m->rows, m->n, sizeof *m->rows, by_tid);
    return 0;
}

void model_free(struct model *m)
{
    for (size_t i = 0; i < m->n; i++)
        free(m->rows[i].spans);
    free(m->rows);
    tf_track_map_free(&m->index);
    *m = (struct model){0};
}
