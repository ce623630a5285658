/*
 * weft/group.h — a group of tasks that can be shut down gracefully: stop taking new ones, let
 * those in flight finish until a deadline, then cancel the rest.
 *
 * A server keeps its connection tasks in a group. On SIGINT its accept loop stops accepting and
 * shuts the group down:
 *
 *     WEFT_SELECT(&f->co, &f->sel,
 *                 weft_select_case(&f->sel, 0, weft_tcp_accept(&f->l, &f->conn, NULL, cx)) ||
 *                 weft_select_case(&f->sel, 1, weft_signal_wait(&f->sigint, cx)));
 *     if (f->sel.which == 0) { ...weft_group_spawn_new(&f->conns, echo, sizeof(struct echo))... }
 *     else {
 *         weft_tcp_listener_close(cx->rt, &f->l);                  // stop accepting
 *         f->deadline = weft_deadline_in(WEFT_SEC(5));
 *         WEFT_AWAIT(&f->co, f->r = weft_group_shutdown_dl(&f->conns, f->deadline, cx));
 *         printf("%d connection(s) cancelled\n", f->r);            // 0: all finished in time
 *     }
 *
 * The group holds joinable handles of its tasks (they are not detached), so it can wait for
 * them and cancel them; finished tasks are collected as the group goes. Nobody else may join a
 * group's task. Cancelled tasks run their WEFT_ON_CANCEL blocks — where a connection task
 * closes its socket.
 */
#ifndef WEFT_GROUP_H
#define WEFT_GROUP_H

#include <stdbool.h>
#include <stddef.h>

#include "weft/runtime.h"

#ifdef __cplusplus
extern "C" {
#endif

/* weft_group - caller-allocated; fields are private. */
typedef struct weft_group {
    weft_runtime *rt;
    weft_task *tasks; /* handles of tasks not yet collected (grown as needed) */
    size_t len, cap;
    bool closing; /* shutdown began: no more spawns */
} weft_group;

/* weft_group_init - an empty, open group. Never fails (allocates on the first spawn). */
void weft_group_init(weft_group *g, weft_runtime *rt);

/*
 * weft_group_spawn - spawn fn over frame (as weft_task_spawn) as a member of g.
 * Returns 0, -ECANCELED (g is shutting down: nothing spawned), -ENOMEM, -EINVAL.
 */
int weft_group_spawn(weft_group *g, weft_co_fn fn, void *frame);

/*
 * weft_group_spawn_new - the same with a zeroed frame of frame_size bytes that the runtime
 * allocates (as weft_task_spawn_new). Returns the frame, or NULL (shutting down, out of memory).
 */
void *weft_group_spawn_new(weft_group *g, weft_co_fn fn, size_t frame_size);

/* weft_group_count - tasks of g not yet finished (collects those that have). */
size_t weft_group_count(weft_group *g);

/*
 * weft_group_shutdown_dl - stop g taking new tasks, wait until every task of g has finished or
 * the deadline has come, then cancel those still running. A leaf operation: call it from a task
 * that is not itself in g, with the same deadline on every poll.
 * May return WEFT_PENDING. Returns the number of tasks that had to be cancelled (0: all
 * finished in time). Their results, and those of the others, are collected and dropped.
 */
int weft_group_shutdown_dl(weft_group *g, int64_t deadline, weft_cx *cx);

/*
 * weft_group_destroy - cancel whatever is still running (from outside a task or inside one not
 * in g), collect every task and free the handles. Returns the number cancelled.
 */
size_t weft_group_destroy(weft_group *g);

#ifdef __cplusplus
}
#endif

#endif /* WEFT_GROUP_H */
