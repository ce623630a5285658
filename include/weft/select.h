/*
 * weft/select.h — wait for the first of several different things, and abandon the others.
 *
 *     struct f { weft_co co; weft_select sel; weft_chan jobs; int job; int64_t deadline;
 *                weft_signal *sig; };
 *
 *     WEFT_SELECT(&f->co, &f->sel,
 *                 weft_select_case(&f->sel, 0, weft_chan_recv(&f->jobs, &f->job, cx)) ||
 *                 weft_select_case(&f->sel, 1, weft_sleep_until(f->deadline, cx)) ||
 *                 weft_select_case(&f->sel, 2, weft_signal_wait(f->sig, cx)));
 *     if (f->sel.which == 0) ...        // f->sel.result is what weft_chan_recv returned
 *
 * A case is any leaf operation — one that keeps no state between polls and may return
 * WEFT_PENDING: a channel receive or send (weft/sync.h), a socket read or accept (weft/tcp.h,
 * weft/udp.h), a sleep (weft_sleep_until), a task's completion (weft_task_join), a signal
 * (weft/signal.h), a blocking job (weft/blocking.h). Each poll of the select polls the cases in
 * order and stops at the first that is not pending: that case wins, with its result. On a tie
 * the lower index wins, so put the case that must not starve first.
 *
 * WHY THE LOSERS LEAVE NO TRACE.
 *   - A leaf operation consumes only when it completes: a receive takes its item out of the
 *     channel, a read its bytes out of the socket, a join its task's result, only in the poll in
 *     which it returns them. A case that does not win took nothing; a value about to be delivered
 *     to it is still in its channel.
 *   - What a waiting case registered lapses once the task stops renewing it: the runtime arms a
 *     task's timer only for deadlines asked for in its latest poll, and a wait queue drops a
 *     waiter that did not renew its place in the latest poll, handing any turn it held (a woken
 *     receiver's claim on an item) to the next waiter. Cases polled before the winner renewed
 *     their places during the winning poll; those lapse after the task's next poll, which comes
 *     at the latest when one of them is woken — a turn is delayed by one wake-up, never lost.
 *   - A socket wait leaves the task as the fd's waiter: a later event wakes it spuriously, which
 *     every leaf operation tolerates; the fd's readiness is remembered for the next reader.
 *   - Known gap: weft_task_join keeps the selecting task as the joiner of the task it was
 *     joining; another task's join of that task then fails with -EBUSY until the selecting task
 *     finishes. The selecting task itself may join it again later.
 *
 * Multi-step operations (weft_tcp_read_exact, weft_tcp_connect: child coroutines with frames)
 * are raced with weft_co_select (weft/coro.h, section 7) instead, which cancels the losers
 * through the cleanup protocol. Both compose: a weft_co_select child may itself be a WEFT_SELECT.
 */
#ifndef WEFT_SELECT_H
#define WEFT_SELECT_H

#include <stdbool.h>

#include "weft/coro.h"

#ifdef __cplusplus
extern "C" {
#endif

/* weft_select - which case won, and its result. Lives in the frame. */
typedef struct weft_select {
    int which;  /* the winning case's index; -1 while waiting */
    int result; /* what the winning operation returned (a value, or an error) */
} weft_select;

/*
 * weft_select_case - one case: records r and index in sel and returns true if r is not
 * WEFT_PENDING (the case has completed), else returns false. Chain cases with ||.
 */
static inline bool weft_select_case(weft_select *sel, int index, int r)
{
    if (r == WEFT_PENDING) return false;
    sel->which = index;
    sel->result = r;
    return true;
}

/*
 * WEFT_SELECT(co, sel, cases) - suspend until `cases` (weft_select_case calls joined by ||) is
 * true, evaluating it once per poll; then sel->which and sel->result say what won. One
 * statement, usable anywhere a suspension may go. Each case's arguments must stay valid and
 * unchanged while the select waits (keep them in the frame).
 */
#define WEFT_SELECT(co, sel, cases)                                                                \
    do {                                                                                           \
        (sel)->which = -1;                                                                         \
        WEFT_WAIT_UNTIL(co, (cases));                                                              \
    } while (0)

#ifdef __cplusplus
}
#endif

#endif /* WEFT_SELECT_H */
