/*
 * Introspection: counts for leak checks, and a dump of every task with the place where it is
 * suspended. The suspension site costs nothing extra to know: the coroutine macros record it on
 * the way out of a poll (weft_co_site) and the runtime keeps a pointer to it in the task record.
 */
#include "runtime/internal.h"

#include <errno.h>
#include <inttypes.h>

void weft_runtime_get_stats(const weft_runtime *rt, weft_runtime_stats *st)
{
    st->tasks = rt->live_tasks;
    st->done = rt->done_tasks;
    st->ready = rt->ready_len;
    st->io_open = rt->io_open;
    st->io_waiting = weft__io_count_waiting(rt);
    st->timers = weft__timerq_len(rt->timers) + weft__callouts_len(rt);
    st->stale_events = rt->stale_events;
    st->task_bytes = sizeof(struct weft__task);
    st->io_bytes = sizeof(struct weft__io);
}

size_t weft_runtime_task_count(const weft_runtime *rt)
{
    return rt->live_tasks;
}

int weft_task_inspect(const weft_runtime *rt, weft_task t, weft_task_info *info)
{
    const struct weft__task *rec = weft__task_lookup(rt, t.slot, t.gen);
    if (rec == NULL) return -ESRCH;
    info->state = (weft_task_state)rec->state;
    info->file = rec->site != NULL ? rec->site->file : NULL;
    info->line = rec->site != NULL ? rec->site->line : 0;
    info->result = rec->state == WEFT__TASK_DONE ? rec->u.result : 0;
    info->deadline = weft__timerq_queued(&rec->timer) ? rec->timer.deadline : WEFT_NO_DEADLINE;
    return 0;
}

static const char *state_name(int state)
{
    switch (state) {
    case WEFT__TASK_READY:
        return "ready";
    case WEFT__TASK_RUNNING:
        return "running";
    case WEFT__TASK_WAITING:
        return "waiting";
    case WEFT__TASK_DONE:
        return "done";
    default:
        return "free";
    }
}

/* One line: "task 3.1 waiting at src/x.c:42 (timer in 1.500 ms)". */
static void dump_task(const weft_runtime *rt, const struct weft__task *t, FILE *out)
{
    fprintf(out, "task %" PRIu32 ".%" PRIu32 " %-7s", t->slot, t->gen, state_name(t->state));
    if (t->state == WEFT__TASK_DONE)
        fprintf(out, " result %d", t->u.result);
    else if (t->site != NULL)
        fprintf(out, " at %s:%d", t->site->file, t->site->line);
    else
        fprintf(out, " not started");
    if (weft__timerq_queued(&t->timer))
        fprintf(out, " (timer in %.3f ms)", (double)(t->timer.deadline - rt->now) / 1e6);
    fputc('\n', out);
}

size_t weft_runtime_dump(const weft_runtime *rt, FILE *out)
{
    size_t n = 0;
    uint32_t cap = weft__table_cap(&rt->tasks);
    for (uint32_t slot = 0; slot < cap; slot++) {
        const struct weft__task *t = weft__task_at(rt, slot);
        if (t->state == WEFT__TASK_FREE) continue;
        /* DONE and DETACHED: let go of, only waiting in the ready queue to be freed (task.c). */
        if (t->state == WEFT__TASK_DONE && (t->flags & WEFT__TASK_DETACHED)) continue;
        dump_task(rt, t, out);
        n++;
    }
    fprintf(out, "%zu task(s): %zu unfinished, %zu ready, %zu done; %zu fd(s) open; %zu timer(s)\n",
            n, rt->live_tasks, rt->ready_len, rt->done_tasks, rt->io_open,
            weft__timerq_len(rt->timers) + weft__callouts_len(rt));
    return n;
}
