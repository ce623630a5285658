/*
 * A sleep for tests that must not end before the runtime has parked: header only, for tests that
 * link the runtime layer (weft_test.h stays free of weft's layers).
 */
#ifndef WEFT_TEST_NAP_H
#define WEFT_TEST_NAP_H

#include <stdbool.h>
#include <stdint.h>

#include <weft/runtime.h>

/*
 * A sleep of at least ns that suspends at least once, so that the runtime has parked (and
 * delivered the events already queued) before it ends. weft_sleep_for alone returns at once if
 * its time had passed by its first look at the clock, which a stalled or slow machine (valgrind)
 * makes happen: a test that sleeps "to let the others run" then finds they have not. Each time
 * that happens, it sleeps again, ten times longer. Zero the struct before the first use; it is
 * ready for the next sleep when this returns 0.
 */
struct weft_test_nap {
    int64_t wake;
    int suspended;
    int naps; /* weft_test_nap_until's count */
};

static inline int weft_test_nap(struct weft_test_nap *n, int64_t ns, weft_cx *cx)
{
    for (int tries = 0; tries < 10; tries++) { /* bounded: the last waits 10 s or more */
        if (weft_sleep_for(&n->wake, ns, cx) == WEFT_PENDING) {
            n->suspended = 1;
            return WEFT_PENDING;
        }
        if (n->suspended) break;
        ns = ns < WEFT_MSEC(1) ? WEFT_MSEC(10) : ns < WEFT_SEC(10) ? ns * 10 : ns;
    }
    n->suspended = 0;
    return 0;
}

/*
 * Naps of 1 ms (each a weft_test_nap: the loop parks at least once) until done, which is looked
 * at after each nap: a leaf operation, so `WEFT_AWAIT(co, weft_test_nap_until(n, cond, cx))`
 * evaluates cond again on every poll. For a test that waits for something another task or a
 * thread does, where a fixed sleep could end first on a slow machine. Bounded: after 30 000 naps
 * (30 s and more) it returns 0 regardless, and the test's own assertions say what did not happen.
 */
static inline int weft_test_nap_until(struct weft_test_nap *n, bool done, weft_cx *cx)
{
    for (;;) {
        int r = weft_test_nap(n, WEFT_MSEC(1), cx);
        if (r != 0) return r;
        if (done || ++n->naps >= 30000) {
            n->naps = 0;
            return 0;
        }
    }
}

#endif
