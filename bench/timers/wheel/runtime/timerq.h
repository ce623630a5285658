/*
 * THE REJECTED CANDIDATE: a hierarchical timing wheel behind the same interface as
 * src/runtime/timerq.h, kept only so that the choice written at the top of src/runtime/timerq.c
 * can be measured again (bench/timers/run.sh builds it as timers_wheel). Not used by weft.
 *
 * Differences from the contract of the real queue, all consequences of being a wheel:
 *  - weft__timerq_next returns the start of the first occupied slot when that slot is above
 *    level 0, which can be early by up to that slot's width (67 ms at level 2, 4.3 s at level 3),
 *    costing extra wake-ups. Returning the exact minimum instead (-DWHEEL_EXACT_NEXT) means
 *    scanning that slot: 1.4 ms per call with 1M timers due in 60-61 s (bench/timers/next_cost.c).
 *  - Equal deadlines are first-in first-out only among timers that reached level 0 together.
 *  - A level-0 slot is sorted by insertion when it comes due: quadratic in the slot's size.
 */
#ifndef WEFT_RUNTIME_TIMERQ_H
#define WEFT_RUNTIME_TIMERQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct weft__timer {
    int64_t deadline;
    struct weft__timer *next;   /* Next in its slot or in the due list. */
    struct weft__timer **pprev; /* The pointer that points at this timer; NULL while not queued. */
} weft__timer;

enum { WHEEL_LEVELS = 8, WHEEL_SLOTS = 64 };

typedef struct weft__timerq {
    uint64_t now_tick;               /* Every timer due at or before this tick is on `due`. */
    weft__timer *due;                /* Timers of past ticks, sorted by deadline. */
    weft__timer **due_tail;          /* The `next` field of the last due timer (or &due). */
    uint64_t occupied[WHEEL_LEVELS]; /* Bit j: slot j of that level is non-empty. */
    weft__timer *slot[WHEEL_LEVELS][WHEEL_SLOTS]; /* Unsorted lists of later timers. */
    size_t len;
} weft__timerq;

int weft__timerq_init(weft__timerq *q);
void weft__timerq_free(weft__timerq *q);
int weft__timerq_add(weft__timerq *q, weft__timer *t, int64_t deadline);
void weft__timerq_cancel(weft__timerq *q, weft__timer *t);
bool weft__timerq_queued(const weft__timer *t);
int64_t weft__timerq_next(const weft__timerq *q);
weft__timer *weft__timerq_pop(weft__timerq *q, int64_t now);
size_t weft__timerq_len(const weft__timerq *q);

#endif
