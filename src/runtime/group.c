/*
 * Task groups: an array of joinable task handles. Waiting for all of them needs no wake-up of
 * its own: waiting for the first unfinished one (as its joiner) is enough, since the group is
 * done only when that one is — and whatever finished meanwhile is collected on the way.
 */
#include "weft/group.h"

#include <errno.h>
#include <stdlib.h>

#include "runtime/ext.h"

void weft_group_init(weft_group *g, weft_runtime *rt)
{
    *g = (weft_group){.rt = rt};
}

/* Collects finished tasks, keeping the others in order. Returns how many are left. */
static size_t reap(weft_group *g)
{
    size_t kept = 0;
    for (size_t i = 0; i < g->len; i++)
        if (weft_task_result(g->rt, g->tasks[i]) == -EAGAIN) g->tasks[kept++] = g->tasks[i];
    g->len = kept;
    return kept;
}

/* Room for one more handle: collect first, grow only if that freed nothing. */
static int make_room(weft_group *g)
{
    if (g->len < g->cap || reap(g) < g->cap) return 0;
    size_t cap = g->cap ? g->cap * 2 : 16;
    weft_task *t = realloc(g->tasks, cap * sizeof *t);
    if (t == NULL) return -ENOMEM;
    g->tasks = t;
    g->cap = cap;
    return 0;
}

int weft_group_spawn(weft_group *g, weft_co_fn fn, void *frame)
{
    if (g->closing) return -ECANCELED;
    int r = make_room(g);
    if (r < 0) return r;
    r = weft_task_spawn(g->rt, fn, frame, &g->tasks[g->len]);
    if (r == 0) g->len++;
    return r;
}

void *weft_group_spawn_new(weft_group *g, weft_co_fn fn, size_t frame_size)
{
    if (g->closing || make_room(g) < 0) return NULL;
    void *frame = weft_task_spawn_new(g->rt, fn, frame_size, &g->tasks[g->len]);
    if (frame != NULL) g->len++;
    return frame;
}

size_t weft_group_count(weft_group *g)
{
    return reap(g);
}

/* Cancels and collects every task left. Returns how many were cancelled. */
static size_t cancel_all(weft_group *g)
{
    size_t n = 0;
    for (size_t i = 0; i < g->len; i++) {
        if (weft_task_cancel(g->rt, g->tasks[i]) == 1) n++;
        (void)weft_task_result(g->rt, g->tasks[i]);
    }
    g->len = 0;
    return n;
}

int weft_group_shutdown_dl(weft_group *g, int64_t deadline, weft_cx *cx)
{
    g->closing = true;
    for (size_t i = 0; i < g->cap + 1; i++) { /* bounded: each turn collects one task */
        if (reap(g) == 0) return 0;
        if (weft__deadline_due(cx, deadline)) return (int)cancel_all(g);
        int r = weft_task_join(g->tasks[0], cx);
        if (r == WEFT_PENDING) return WEFT_PENDING;
        if (r != -EBUSY) continue; /* it finished just now and join collected it */
        weft_cx_want_deadline(cx, weft_deadline_in(WEFT_MSEC(10))); /* someone else joins it */
        return WEFT_PENDING;
    }
    return WEFT_PENDING;
}

size_t weft_group_destroy(weft_group *g)
{
    g->closing = true;
    reap(g);
    size_t n = cancel_all(g);
    free(g->tasks);
    g->tasks = NULL;
    g->cap = 0;
    return n;
}
