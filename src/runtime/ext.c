/*
 * The runtime's extension (ext.h): created by the first object that needs it, and the hooks
 * through which the runtime core tells it what happened (after a pending poll that left a wait
 * unrenewed, the executor calls weft__waitq_lapse in waitq.c directly).
 */
#include "runtime/ext.h"

#include <stdlib.h>

struct weft__ext *weft__ext_get(weft_runtime *rt)
{
    if (rt->ext == NULL) {
        struct weft__ext *x = calloc(1, sizeof *x);
        if (x == NULL) return NULL;
        rt->ext = x;
    }
    return rt->ext;
}

void weft__ext_task_done(weft_runtime *rt, uint32_t task_slot)
{
    weft__waitq_task_done(rt, rt->ext, task_slot);
}

bool weft__ext_dispatch(weft_runtime *rt, const weft_event *ev)
{
    if (ev->token != WEFT__INBOX_TOKEN) return false;
    weft__inbox_drain(rt, rt->ext);
    return true;
}

/*
 * Something outside the loop may still wake it: an open door (another thread may send), or a
 * job running on the pool. Waiting for the poll is then not a deadlock.
 */
bool weft__ext_keepalive(const weft_runtime *rt)
{
    const struct weft__ext *x = rt->ext;
    return weft__inbox_doors(x->in) != 0 || x->jobs != 0;
}

/*
 * Order matters: the pool's threads are joined first (they post to the inbox), then the inbox
 * and its poll waker go (before the runtime closes the poll), then the wait queues.
 */
size_t weft__ext_close(weft_runtime *rt)
{
    struct weft__ext *x = rt->ext;
    size_t left = weft__pool_close(rt, x);
    left += weft__inbox_free(rt, x);
    left += weft__waitq_free_all(x);
    free(x);
    rt->ext = NULL;
    return left;
}

void weft_sync_get_stats(const weft_runtime *rt, weft_sync_stats *st)
{
    const struct weft__ext *x = rt->ext;
    *st = (weft_sync_stats){0};
    if (x == NULL) return;
    st->queues = x->queues_open;
    st->waiters = weft__waitq_count_waiters(x);
    st->doors = weft__inbox_doors(x->in);
    st->jobs = x->jobs;
}
