/*
 * Wait queues: how many tasks wait on one object (a channel, a semaphore) without anything in
 * the runtime pointing into their frames. See ext.h for the records and the lapse rule.
 *
 * Turns. When a unit (an item, a free slot, a permit) arrives, weft__waitq_wake gives a turn to
 * the first waiter that holds none and wakes it: the unit is reserved for that waiter until it
 * runs. Later arrivals may only take units beyond the reserved ones (weft__waitq_may_take), which
 * is what makes the queue FIFO. A waiter that goes away while holding a turn — it timed out, its
 * task was cancelled, or it stopped polling (a select branch that lost) — passes the turn to the
 * next waiter, so the unit reserved for it is never stranded.
 *
 * The fast slot. A task that waits on an empty queue is kept in the queue record itself
 * (wq->solo_task) rather than in a node, and its task's record says which queue that is (at most
 * one per task). Only a second waiter on the same queue, or a task already waiting elsewhere in its
 * fast slot (a select), takes a node. Most queues never have two waiters at once — a channel
 * between two tasks, a mutex with one contender — so they never touch the node tables: finding
 * "my" registration is one compare, and waking the waiter is one flag. Order is unchanged: the
 * fast slot is only taken when the queue is empty, so its waiter is older than every node.
 */
#include "runtime/ext.h"
#include "weft/trace.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------------------------------------
 * Records
 * ------------------------------------------------------------------------------------------- */

static struct weft__wnode *node_at(const struct weft__ext *x, uint32_t slot)
{
    return weft__table_at(&x->nodes, sizeof(struct weft__wnode), slot);
}

static struct weft__wq *wq_at(const struct weft__ext *x, uint32_t slot)
{
    return weft__table_at(&x->queues, sizeof(struct weft__wq), slot);
}

/* Takes a free node record, growing the table if needed. Returns its slot or -ENOMEM. */
static int64_t node_alloc(struct weft__ext *x)
{
    if (x->nodes.free_head == 0) {
        int64_t first = weft__table_grow(&x->nodes, sizeof(struct weft__wnode));
        if (first < 0) return first;
        for (uint32_t i = WEFT__CHUNK; i-- > 0;) {
            node_at(x, (uint32_t)first + i)->next = x->nodes.free_head;
            x->nodes.free_head = (uint32_t)first + i + 1;
        }
    }
    uint32_t slot = x->nodes.free_head - 1;
    x->nodes.free_head = node_at(x, slot)->next;
    return slot;
}

static void node_free(struct weft__ext *x, uint32_t slot)
{
    struct weft__wnode *n = node_at(x, slot);
    n->flags = 0;
    n->next = x->nodes.free_head;
    x->nodes.free_head = slot + 1;
}

/* The per-task state of task_slot, growing the table to hold it. NULL if out of memory. */
static struct weft__wtask *wtask_get(struct weft__ext *x, uint32_t task_slot)
{
    if (task_slot >= x->wtasks_cap) {
        uint32_t cap = (task_slot / WEFT__CHUNK + 1) * WEFT__CHUNK;
        struct weft__wtask *t = realloc(x->wtasks, (size_t)cap * sizeof *t);
        if (t == NULL) return NULL;
        memset(t + x->wtasks_cap, 0, (size_t)(cap - x->wtasks_cap) * sizeof *t);
        x->wtasks = t;
        x->wtasks_cap = cap;
    }
    return &x->wtasks[task_slot];
}

/*
 * The link (in the task's chain) that holds the task's node on queue q_slot, or NULL if it has
 * none. Removing the node is then `*link = node->task_next`.
 */
static uint32_t *node_link(const struct weft__ext *x, uint32_t task_slot, uint32_t q_slot)
{
    if (task_slot >= x->wtasks_cap) return NULL;
    uint32_t *link = &x->wtasks[task_slot].head;
    while (*link != 0) {
        struct weft__wnode *n = node_at(x, *link - 1);
        if (n->q == q_slot) return link;
        link = &n->task_next;
    }
    return NULL;
}

/*
 * Where a task waits on one queue: the flags of its registration (NULL: it has none there) and,
 * for a node, the link in the task's chain that holds it (NULL for the fast slot).
 */
struct wref {
    uint8_t *flags;
    uint32_t *link;
};

/* The polling task's registration on wq (slot q_slot): the fast slot is one compare, a node a
 * chain walk. */
static struct wref find(struct weft__ext *x, struct weft__wq *wq, uint32_t q_slot,
                        const weft_cx *cx)
{
    struct wref r = {NULL, NULL};
    if (wq->solo_flags != 0 && wq->solo_task == cx->task) {
        r.flags = &wq->solo_flags;
        return r;
    }
    r.link = node_link(x, cx->waker.slot, q_slot);
    if (r.link != NULL) r.flags = &node_at(x, *r.link - 1)->flags;
    return r;
}

/* The polling task's registration on q, and the queue (*wq, NULL if q is stale). */
static struct wref my_ref(const weft_cx *cx, const weft_waitq *q, struct weft__wq **wq)
{
    struct wref none = {NULL, NULL};
    *wq = weft__waitq_lookup(cx->rt, q);
    return *wq != NULL ? find(cx->rt->ext, *wq, q->slot, cx) : none;
}

/* ---------------------------------------------------------------------------------------------
 * Queue order
 * ------------------------------------------------------------------------------------------- */

static void q_append(struct weft__ext *x, struct weft__wq *wq, uint32_t slot)
{
    struct weft__wnode *n = node_at(x, slot);
    n->prev = wq->tail;
    n->next = 0;
    if (wq->tail != 0)
        node_at(x, wq->tail - 1)->next = slot + 1;
    else
        wq->head = slot + 1;
    wq->tail = slot + 1;
    wq->len++;
    x->nodes_used++;
}

static void q_unlink(struct weft__ext *x, struct weft__wq *wq, uint32_t slot)
{
    struct weft__wnode *n = node_at(x, slot);
    if (n->prev != 0)
        node_at(x, n->prev - 1)->next = n->next;
    else
        wq->head = n->next;
    if (n->next != 0)
        node_at(x, n->next - 1)->prev = n->prev;
    else
        wq->tail = n->prev;
    if (n->flags & WEFT__WN_ONE) wq->reserved--;
    wq->len--;
    x->nodes_used--;
}

/* Gives turns to up to n waiters holding none, from the front, and wakes them. */
static size_t wake_n(weft_runtime *rt, struct weft__ext *x, struct weft__wq *wq, size_t n)
{
    size_t woken = 0;
    if (n == 0 || wq->len == wq->reserved) return 0; /* nobody waits without a turn */
    if (weft__waitq_turn_to_solo(rt, wq)) woken++;
    for (uint32_t s = wq->head; s != 0 && woken < n; s = node_at(x, s - 1)->next) {
        struct weft__wnode *node = node_at(x, s - 1);
        if (node->flags & WEFT__WN_ONE) continue;
        node->flags |= WEFT__WN_ONE;
        wq->reserved++;
        weft_waker_wake(rt, node->waker);
        woken++;
    }
    return woken;
}

/* A turn was given up: hand it to the next waiter, or keep it as the queue's stored permit. */
static void pass_turn(weft_runtime *rt, struct weft__ext *x, struct weft__wq *wq)
{
    if (wake_n(rt, x, wq, 1) == 0) wq->permit = 1;
}

/*
 * A waiter has left wq. One going away rather than being served passes on its turn, and the
 * queue's owner hears when it empties.
 */
static void after_leaving(weft_runtime *rt, struct weft__wq *wq, bool had_turn, bool served)
{
    if (served) return;
    if (had_turn) pass_turn(rt, rt->ext, wq);
    if (wq->len == 0 && wq->on_empty != NULL) wq->on_empty(rt, wq->owner);
}

/* Removes the node that *link holds from its task's chain and its queue. */
static void drop_node(weft_runtime *rt, struct weft__ext *x, uint32_t *link, bool served)
{
    uint32_t slot = *link - 1;
    struct weft__wnode *n = node_at(x, slot);
    struct weft__wq *wq = wq_at(x, n->q);
    bool had_turn = (n->flags & WEFT__WN_ONE) != 0;
    *link = n->task_next;
    q_unlink(x, wq, slot);
    node_free(x, slot);
    after_leaving(rt, wq, had_turn, served);
}

/* Removes the waiter in wq's fast slot. */
static void drop_solo(weft_runtime *rt, struct weft__wq *wq, bool served)
{
    bool had_turn = (wq->solo_flags & WEFT__WN_ONE) != 0;
    weft__waitq_solo_clear(wq);
    after_leaving(rt, wq, had_turn, served);
}

/* Removes the registration r (found on wq). */
static void drop(weft_runtime *rt, struct weft__wq *wq, struct wref r, bool served)
{
    if (r.link != NULL)
        drop_node(rt, rt->ext, r.link, served);
    else
        drop_solo(rt, wq, served);
}

/* ---------------------------------------------------------------------------------------------
 * Opening and closing
 * ------------------------------------------------------------------------------------------- */

/* Takes a free queue record, growing the table if needed. Returns its slot or -ENOMEM. */
static int64_t wq_alloc(struct weft__ext *x)
{
    if (x->queues.free_head == 0) {
        int64_t first = weft__table_grow(&x->queues, sizeof(struct weft__wq));
        if (first < 0) return first;
        for (uint32_t i = WEFT__CHUNK; i-- > 0;) {
            struct weft__wq *wq = wq_at(x, (uint32_t)first + i);
            wq->gen = 1;
            wq->next_free = x->queues.free_head;
            x->queues.free_head = (uint32_t)first + i + 1;
        }
    }
    uint32_t slot = x->queues.free_head - 1;
    x->queues.free_head = wq_at(x, slot)->next_free;
    return slot;
}

int weft__waitq_open(weft_runtime *rt, weft_waitq *q)
{
    *q = (weft_waitq){0};
    struct weft__ext *x = weft__ext_get(rt);
    if (x == NULL) return -ENOMEM;
    int64_t slot = wq_alloc(x);
    if (slot < 0) return (int)slot;
    struct weft__wq *wq = wq_at(x, (uint32_t)slot);
    uint32_t gen = wq->gen;
    *wq = (struct weft__wq){.gen = gen, .open = 1};
    x->queues_open++;
    q->slot = (uint32_t)slot;
    q->gen = gen;
    return 0;
}

/* Unlinks the node in slot from its task's chain (walking the chain to find the link). */
static void task_unlink(struct weft__ext *x, uint32_t slot)
{
    struct weft__wnode *n = node_at(x, slot);
    uint32_t *link = node_link(x, n->waker.slot, n->q);
    if (link != NULL) *link = n->task_next;
}

void weft__waitq_close(weft_runtime *rt, weft_waitq *q)
{
    struct weft__wq *wq = weft__waitq_lookup(rt, q);
    uint32_t q_slot = q->slot;
    *q = (weft_waitq){0};
    if (wq == NULL) return;
    struct weft__ext *x = rt->ext;
    if (wq->solo_flags != 0) {
        struct weft__task *t = wq->solo_task;
        weft__waitq_solo_clear(wq);
        weft__task_wake(rt, t); /* it retries, finds the queue stale: WEFT_ECLOSED */
    }
    while (wq->head != 0) {
        uint32_t slot = wq->head - 1;
        weft_waker w = node_at(x, slot)->waker;
        task_unlink(x, slot);
        q_unlink(x, wq, slot);
        node_free(x, slot);
        weft_waker_wake(rt, w); /* it retries, finds the queue stale: WEFT_ECLOSED */
    }
    wq->open = 0;
    wq->gen = wq->gen == UINT32_MAX ? 1 : wq->gen + 1;
    wq->on_empty = NULL;
    wq->owner = NULL;
    wq->next_free = x->queues.free_head;
    x->queues.free_head = q_slot + 1;
    x->queues_open--;
}

/* ---------------------------------------------------------------------------------------------
 * Waiting
 * ------------------------------------------------------------------------------------------- */

/* Parks the polling task on wq (slot q_slot), where r is its registration (find's answer). */
static int park_at(struct weft__ext *x, struct weft__wq *wq, uint32_t q_slot, struct wref r,
                   weft_cx *cx)
{
    if (r.flags != NULL) { /* renew: same place in the queue, stamped for this poll */
        if (r.link != NULL)
            node_at(x, *r.link - 1)->epoch = x->wtasks[cx->waker.slot].epoch;
        else
            cx->flags |= WEFT__CX_RENEWED;
        return WEFT_PENDING;
    }
    struct weft__wtask *t = wtask_get(x, cx->waker.slot);
    if (t == NULL) return -ENOMEM;
    if (wq->len == 0 && !(cx->task->flags & WEFT__TASK_SOLO)) {
        weft__waitq_solo_take(wq, q_slot, t, cx);
        return WEFT_PENDING;
    }
    int64_t slot = node_alloc(x);
    if (slot < 0) return (int)slot;
    struct weft__wnode *n = node_at(x, (uint32_t)slot);
    *n = (struct weft__wnode){.waker = cx->waker,
                              .q = q_slot,
                              .task_next = t->head,
                              .epoch = t->epoch,
                              .flags = WEFT__WN_USED};
    t->head = (uint32_t)slot + 1;
    cx->task->flags |= WEFT__TASK_NODES;
    q_append(x, wq, (uint32_t)slot);
    return WEFT_PENDING;
}

int weft__waitq_park(const weft_waitq *q, weft_cx *cx)
{
    struct weft__wq *wq = weft__waitq_lookup(cx->rt, q);
    if (wq == NULL) return WEFT_ECLOSED;
    struct weft__ext *x = cx->rt->ext;
    weft_trace_note_wait(cx, "queue", q->slot); /* else the trace could only say "other" */
    return park_at(x, wq, q->slot, find(x, wq, q->slot, cx), cx);
}

unsigned weft__waitq_flags(const weft_waitq *q, const weft_cx *cx)
{
    struct weft__wq *wq;
    struct wref r = my_ref(cx, q, &wq);
    return r.flags != NULL ? *r.flags : 0;
}

/* weft__waitq_may_take on a queue already looked up, for the task whose registration on it has
 * the flags *flags (flags NULL: it has none). */
static bool may_take_ref(struct weft__wq *wq, uint8_t *flags, size_t avail)
{
    if (flags != NULL && (*flags & WEFT__WN_ONE)) {
        if (avail >= 1) return true;
        *flags &= (uint8_t)~WEFT__WN_ONE; /* the unit went elsewhere: nothing to hold */
        wq->reserved--;
        return false;
    }
    return avail > wq->reserved;
}

bool weft__waitq_may_take(const weft_waitq *q, size_t avail, const weft_cx *cx)
{
    struct weft__wq *wq;
    struct wref r = my_ref(cx, q, &wq);
    return wq != NULL && may_take_ref(wq, r.flags, avail);
}

void weft__waitq_done(const weft_waitq *q, const weft_cx *cx)
{
    struct weft__wq *wq;
    struct wref r = my_ref(cx, q, &wq);
    if (r.flags != NULL) drop(cx->rt, wq, r, true);
}

void weft__waitq_leave(const weft_waitq *q, const weft_cx *cx)
{
    struct weft__wq *wq;
    struct wref r = my_ref(cx, q, &wq);
    if (r.flags != NULL) drop(cx->rt, wq, r, false);
}

size_t weft__waitq_wake(weft_runtime *rt, const weft_waitq *q, size_t n)
{
    struct weft__wq *wq = weft__waitq_lookup(rt, q);
    return wq != NULL ? wake_n(rt, rt->ext, wq, n) : 0;
}

void weft__waitq_wake_all(weft_runtime *rt, const weft_waitq *q)
{
    struct weft__wq *wq = weft__waitq_lookup(rt, q);
    if (wq == NULL) return;
    struct weft__ext *x = rt->ext;
    if (wq->solo_flags != 0) {
        wq->solo_flags |= WEFT__WN_ALL;
        weft__task_wake(rt, wq->solo_task);
    }
    for (uint32_t s = wq->head; s != 0; s = node_at(x, s - 1)->next) {
        struct weft__wnode *node = node_at(x, s - 1);
        node->flags |= WEFT__WN_ALL;
        weft_waker_wake(rt, node->waker);
    }
}

void weft__waitq_wake_every(weft_runtime *rt, struct weft__ext *x)
{
    uint32_t queues = weft__table_cap(&x->queues), nodes = weft__table_cap(&x->nodes);
    for (uint32_t slot = 0; slot < queues; slot++) {
        const struct weft__wq *wq = wq_at(x, slot);
        if (wq->open && wq->solo_flags != 0) weft__task_wake(rt, wq->solo_task);
    }
    for (uint32_t slot = 0; slot < nodes; slot++) {
        const struct weft__wnode *n = node_at(x, slot);
        if (n->flags & WEFT__WN_USED) weft_waker_wake(rt, n->waker);
    }
}

size_t weft__waitq_reserved(const weft_runtime *rt, const weft_waitq *q)
{
    const struct weft__wq *wq = weft__waitq_lookup(rt, q);
    return wq != NULL ? wq->reserved : 0;
}

bool weft__deadline_due(weft_cx *cx, int64_t deadline)
{
    if (deadline == WEFT_NO_DEADLINE) return false;
    weft_runtime *rt = cx->rt;
    if (rt->now < deadline) rt->now = weft_time_now(); /* the cached clock lags: look again */
    if (rt->now >= deadline) return true;
    weft_cx_want_deadline(cx, deadline);
    return false;
}

/*
 * may_take, then park, done or leave, as the outcome says. The queue is looked up and the task's
 * chain walked once for the whole call, not once per step (they were most of a channel
 * operation's cost); the chain is usually empty, so a task that takes a unit without having
 * waited touches no node at all.
 */
int weft__waitq_acquire(const weft_waitq *q, size_t avail, bool closed, int64_t deadline,
                        weft_cx *cx)
{
    struct weft__wq *wq = weft__waitq_lookup(cx->rt, q);
    if (wq == NULL) return WEFT_ECLOSED;
    struct weft__ext *x = cx->rt->ext;
    struct wref r = find(x, wq, q->slot, cx);
    if (may_take_ref(wq, r.flags, avail)) {
        /* Out of budget: keep the place (and any turn) and run again after the others. */
        if (weft_cx_budget_take(cx) != 0) return park_at(x, wq, q->slot, r, cx);
        if (r.flags != NULL) drop(cx->rt, wq, r, true);
        return 0;
    }
    if (closed) {
        if (r.flags != NULL) drop(cx->rt, wq, r, false);
        return WEFT_ECLOSED;
    }
    if (weft__deadline_due(cx, deadline)) {
        if (r.flags != NULL) drop(cx->rt, wq, r, false);
        return -ETIMEDOUT;
    }
    weft_trace_note_wait(cx, "queue", q->slot);
    return park_at(x, wq, q->slot, r, cx);
}

/* ---------------------------------------------------------------------------------------------
 * The hooks: after a poll, when a task finishes, at close
 * ------------------------------------------------------------------------------------------- */

/*
 * Drops the waits not renewed in the poll that just returned: a fast slot held without
 * WEFT__CX_RENEWED, nodes stamped before this poll's epoch. Then moves the epoch on, so that the
 * nodes left must be renewed in the next poll. (Only a poll that ends with nodes or an unrenewed
 * fast slot comes here: the epoch need not move after the others, since no node stamped before
 * them is left.)
 */
void weft__waitq_lapse(weft_runtime *rt, struct weft__task *task, uint32_t cx_flags)
{
    struct weft__ext *x = rt->ext;
    if (task->slot >= x->wtasks_cap) { /* never waited: no per-task state, nothing held */
        task->flags &= (uint8_t) ~(WEFT__TASK_SOLO | WEFT__TASK_NODES);
        return;
    }
    struct weft__wtask *t = &x->wtasks[task->slot];
    if ((task->flags & WEFT__TASK_SOLO) && !(cx_flags & WEFT__CX_RENEWED))
        drop_solo(rt, wq_at(x, t->solo - 1), false);
    uint32_t *link = &t->head;
    while (*link != 0) {
        struct weft__wnode *n = node_at(x, *link - 1);
        if (n->epoch != t->epoch)
            drop_node(rt, x, link, false);
        else
            link = &n->task_next;
    }
    if (t->head == 0) task->flags &= (uint8_t)~WEFT__TASK_NODES;
    t->epoch++;
}

void weft__waitq_task_done(weft_runtime *rt, struct weft__ext *x, uint32_t task_slot)
{
    if (task_slot >= x->wtasks_cap) return;
    struct weft__wtask *t = &x->wtasks[task_slot];
    if (weft__task_at(rt, task_slot)->flags & WEFT__TASK_SOLO)
        drop_solo(rt, wq_at(x, t->solo - 1), false);
    while (t->head != 0)
        drop_node(rt, x, &t->head, false);
    weft__task_at(rt, task_slot)->flags &= (uint8_t)~WEFT__TASK_NODES;
    t->epoch++;
}

size_t weft__waitq_count_waiters(const struct weft__ext *x)
{
    size_t n = x->nodes_used;
    uint32_t queues = weft__table_cap(&x->queues);
    for (uint32_t slot = 0; slot < queues; slot++) {
        const struct weft__wq *wq = wq_at(x, slot);
        n += wq->open && wq->solo_flags != 0;
    }
    return n;
}

size_t weft__waitq_free_all(struct weft__ext *x)
{
    size_t left = x->queues_open;
    weft__table_free(&x->nodes);
    weft__table_free(&x->queues);
    free(x->wtasks);
    x->wtasks = NULL;
    x->wtasks_cap = 0;
    x->queues_open = 0;
    x->nodes_used = 0;
    return left;
}
