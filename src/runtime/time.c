/*
 * Time: the clock, deadlines, and sleeping.
 *
 * A sleeping task does not own a timer object. It asks, during its poll, to be woken by a
 * deadline (weft_cx_want_deadline); after the poll the runtime arms the task's one timer for the
 * earliest deadline asked for (task.c). When the timer fires the task is polled again and the
 * sleep checks the clock itself, so a sleep can only end once the clock says so — never early,
 * whatever woke the task.
 */
#define _POSIX_C_SOURCE 200809L
#include "runtime/internal.h"

#include <time.h>

int64_t weft_time_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int64_t weft_deadline_in(int64_t ns)
{
    int64_t now = weft_time_now();
    if (ns <= 0) return now;
    if (ns >= WEFT_NO_DEADLINE - now) return WEFT_NO_DEADLINE;
    return now + ns;
}

int weft_sleep_until(int64_t deadline, weft_cx *cx)
{
    weft_runtime *rt = cx->rt;
    if (rt->now >= deadline) return 0;
    rt->now = weft_time_now(); /* the cached clock lags: look again before waiting */
    if (rt->now >= deadline) return 0;
    weft_cx_want_deadline(cx, deadline);
    return WEFT_PENDING;
}

int weft_sleep_for(int64_t *deadline, int64_t ns, weft_cx *cx)
{
    if (*deadline == 0) *deadline = weft_deadline_in(ns);
    int r = weft_sleep_until(*deadline, cx);
    if (r == 0) *deadline = 0;
    return r;
}
