/*
 * A sleep for tests that must not end before the runtime has parked: header only, for tests that
 * link the runtime layer (weft_test.h stays free of weft's layers).
 */
#ifndef WEFT_TEST_NAP_H
#define WEFT_TEST_NAP_H

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

#endif
