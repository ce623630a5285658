/*
 * The few parts of the coroutine layer that are functions rather than macros: the suspension-site
 * record, cancellation, and what WEFT_END's `default:` does with a poll no case took.
 * Everything a coroutine does on its fast path (resume, suspend) is inline in weft/coro.h.
 */
#include <stdio.h>
#include <stdlib.h>

#include "weft/coro.h"

_Thread_local const weft_co_site *weft__co_site;

#ifdef NDEBUG
bool weft_co_abort_on_misuse = false;
#else
bool weft_co_abort_on_misuse = true;
#endif

/*
 * Cancellation only moves the resume point: a suspended coroutine gets the CANCEL sentinel, so
 * its next poll dispatches to `case WEFT__LC_CANCEL:` (its cleanup block) or, without one, to
 * WEFT_END's `default:`. Anything else has nothing to clean up and simply becomes done.
 */
int weft_co_cancel(weft_co *co)
{
    if (weft_co_suspended(co)) {
        co->lc = WEFT__LC_CANCEL;
        return 1;
    }
    co->lc = WEFT__LC_DONE;
    return 0;
}

/*
 * Reached from a suspension (debug builds) that found a cancel already marked: the coroutine was
 * cancelled while running, or its cleanup block suspends. Either way the cancel would be lost
 * here, so say where, and stop the coroutine rather than let it carry on as though never asked.
 */
int weft__co_suspend_misuse(weft_co *co, const char *file, const char *func, int line)
{
    fprintf(stderr,
            "weft: %s:%d: %s(): suspended with a cancel pending: cancelled while it was running, "
            "or a suspension in its cleanup block? (see weft_co_cancel in weft/coro.h)\n",
            file, line, func);
    co->lc = WEFT__LC_DONE;
    if (weft_co_abort_on_misuse) abort();
    return WEFT_ECOCANCEL;
}

/*
 * Reached from WEFT_END's `default:` when the dispatch switch had no case for co->lc. Three
 * causes: the coroutine already finished (a defined result, not a crash), it was cancelled and
 * declares no cleanup block (finish as cancelled), or — switch implementation only — it
 * suspended inside a `switch` of its own, so its resume point is a case label of that switch
 * (trap 2 in coro.h). The last is a bug in the coroutine: say where, and stop it for good.
 */
int weft__co_resume_other(weft_co *co, const char *file, const char *func, int line)
{
    if (co->lc == WEFT__LC_DONE) {
        if (weft_co_abort_on_misuse) {
            fprintf(stderr, "weft: %s:%d: %s(): polled after it finished\n", file, line, func);
            abort();
        }
        return WEFT_EFINISHED;
    }
    if (co->lc == WEFT__LC_CANCEL) {
        co->lc = WEFT__LC_DONE;
        return -ECANCELED;
    }
    fprintf(stderr,
            "weft: %s:%d: %s(): resume point %ju has no case in the dispatch switch: "
            "a suspension inside a switch statement? (see trap 2 in weft/coro.h)\n",
            file, line, func, (uintmax_t)co->lc);
    co->lc = WEFT__LC_DONE;
    if (weft_co_abort_on_misuse) abort();
    return WEFT_ECORESUME;
}
