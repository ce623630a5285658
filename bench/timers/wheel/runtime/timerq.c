/*
 * THE REJECTED CANDIDATE (see timerq.h here): a hierarchical timing wheel.
 *
 * Time is counted in ticks of 2^14 ns (16.4 us). Level l has 64 slots of 64^l ticks each; a timer
 * sits at the level of the highest 6-bit group in which its tick differs from the current tick,
 * so no slot ever wraps around. When the current tick enters a slot above level 0, that slot's
 * timers are placed again, one level or more lower (a cascade); when it enters a level-0 slot,
 * the slot is sorted and appended to `due`, from which pop takes timers whose deadline has passed.
 * Needs GCC or Clang (__builtin_clzll, __builtin_ctzll); benchmark code only.
 */
#include "runtime/timerq.h"

#define TICK_SHIFT 14
#define LEVEL_BITS 6

static uint64_t tick_of(int64_t deadline)
{
    return deadline < 0 ? 0 : (uint64_t)deadline >> TICK_SHIFT;
}

/* The timer whose `next` field is `link` (link must not be &q->due). */
static weft__timer *owner_of(weft__timer **link)
{
    return (weft__timer *)(void *)((char *)link - offsetof(weft__timer, next));
}

static void push(weft__timer **head, weft__timer *t)
{
    t->next = *head;
    if (*head) (*head)->pprev = &t->next;
    *head = t;
    t->pprev = head;
}

static void unlink_timer(weft__timerq *q, weft__timer *t)
{
    if (q->due_tail == &t->next) q->due_tail = t->pprev;
    *t->pprev = t->next;
    if (t->next) t->next->pprev = t->pprev;
    t->pprev = NULL;
}

/* Inserts into the sorted due list: at the tail when possible, else by a scan from the head. */
static void due_insert(weft__timerq *q, weft__timer *t)
{
    weft__timer **p = &q->due;
    if (q->due_tail != &q->due && owner_of(q->due_tail)->deadline <= t->deadline) p = q->due_tail;
    while (*p && (*p)->deadline <= t->deadline)
        p = &(*p)->next;
    t->next = *p;
    if (*p)
        (*p)->pprev = &t->next;
    else
        q->due_tail = &t->next;
    *p = t;
    t->pprev = p;
}

/* Sorts a slot's list (stable insertion sort of the reversed LIFO list) onto the due list's tail.
 */
static void append_sorted(weft__timerq *q, weft__timer *list)
{
    weft__timer *fifo = NULL;
    while (list) {
        weft__timer *n = list->next;
        list->next = fifo;
        fifo = list;
        list = n;
    }
    weft__timer *sorted = NULL, **tail = &sorted;
    while (fifo) {
        weft__timer *n = fifo->next, **p = tail;
        if (sorted && owner_of(tail)->deadline > fifo->deadline) {
            p = &sorted;
            while ((*p)->deadline <= fifo->deadline)
                p = &(*p)->next;
        }
        fifo->next = *p;
        *p = fifo;
        if (fifo->next == NULL) tail = &fifo->next;
        fifo = n;
    }
    weft__timer **pp = q->due_tail;
    *pp = sorted;
    for (weft__timer *t = sorted; t; t = t->next) {
        t->pprev = pp;
        pp = &t->next;
    }
    q->due_tail = pp;
}

static void place(weft__timerq *q, weft__timer *t)
{
    uint64_t tick = tick_of(t->deadline);
    if (tick <= q->now_tick) {
        due_insert(q, t);
        return;
    }
    int l = (63 - __builtin_clzll(tick ^ q->now_tick)) / LEVEL_BITS;
    unsigned j = (unsigned)(tick >> (l * LEVEL_BITS)) & (WHEEL_SLOTS - 1);
    push(&q->slot[l][j], t);
    q->occupied[l] |= 1ULL << j;
}

/* The lowest level with an occupied slot after the current one: its level, slot and start tick. */
static bool next_slot(const weft__timerq *q, int *level, unsigned *slot, uint64_t *start)
{
    for (int l = 0; l < WHEEL_LEVELS; l++) {
        unsigned cur = (unsigned)(q->now_tick >> (l * LEVEL_BITS)) & (WHEEL_SLOTS - 1);
        uint64_t later = cur == WHEEL_SLOTS - 1 ? 0 : q->occupied[l] & (~0ULL << (cur + 1));
        if (later == 0) continue;
        int up = (l + 1) * LEVEL_BITS;
        uint64_t base = up >= 64 ? 0 : (q->now_tick >> up) << up;
        *level = l;
        *slot = (unsigned)__builtin_ctzll(later);
        *start = base | ((uint64_t)*slot << (l * LEVEL_BITS));
        return true;
    }
    return false;
}

/* Moves the current tick to `target`, cascading or expiring every slot entered on the way. */
static void advance(weft__timerq *q, uint64_t target)
{
    int l;
    unsigned j;
    uint64_t start;
    while (q->now_tick < target) {
        if (!next_slot(q, &l, &j, &start) || start > target) {
            q->now_tick = target;
            return;
        }
        q->now_tick = start;
        weft__timer *list = q->slot[l][j], *now_list = NULL;
        q->slot[l][j] = NULL;
        q->occupied[l] &= ~(1ULL << j);
        while (list) {
            weft__timer *n = list->next;
            if (tick_of(list->deadline) <= q->now_tick) {
                list->next = now_list;
                now_list = list;
            } else {
                place(q, list);
            }
            list = n;
        }
        if (now_list) append_sorted(q, now_list);
    }
}

int weft__timerq_init(weft__timerq *q)
{
    *q = (weft__timerq){0};
    q->due_tail = &q->due;
    return 0;
}

void weft__timerq_free(weft__timerq *q)
{
    (void)q;
}

int weft__timerq_add(weft__timerq *q, weft__timer *t, int64_t deadline)
{
    weft__timerq_cancel(q, t);
    t->deadline = deadline;
    place(q, t);
    q->len++;
    return 0;
}

void weft__timerq_cancel(weft__timerq *q, weft__timer *t)
{
    if (!t->pprev) return;
    weft__timer **head = t->pprev;
    unlink_timer(q, t);
    weft__timer **first = &q->slot[0][0];
    if (head >= first && head < first + WHEEL_LEVELS * WHEEL_SLOTS && *head == NULL) {
        size_t i = (size_t)(head - first);
        q->occupied[i / WHEEL_SLOTS] &= ~(1ULL << (i % WHEEL_SLOTS));
    }
    q->len--;
}

bool weft__timerq_queued(const weft__timer *t)
{
    return t->pprev != NULL;
}

int64_t weft__timerq_next(const weft__timerq *q)
{
    if (q->due) return q->due->deadline;
    int l;
    unsigned j;
    uint64_t start;
    if (!next_slot(q, &l, &j, &start)) return -1;
#ifndef WHEEL_EXACT_NEXT
    if (l > 0) return (int64_t)(start << TICK_SHIFT); /* a lower bound: see timerq.h */
#endif
    (void)start;
    int64_t earliest = INT64_MAX;
    for (const weft__timer *t = q->slot[l][j]; t; t = t->next) {
        if (t->deadline < earliest) earliest = t->deadline;
    }
    return earliest;
}

weft__timer *weft__timerq_pop(weft__timerq *q, int64_t now)
{
    uint64_t tick = tick_of(now);
    if (tick > q->now_tick) advance(q, tick);
    weft__timer *t = q->due;
    if (!t || t->deadline > now) return NULL;
    unlink_timer(q, t);
    q->len--;
    return t;
}

size_t weft__timerq_len(const weft__timerq *q)
{
    return q->len;
}
