/*
 * 02b_generator — the idea: the same macros that wait for I/O also make generators, coroutines
 * that hand out a sequence of values one poll at a time.
 *
 * A generator stores its next value in its frame and suspends (WEFT_YIELD_VALUE). To whoever
 * polls it, WEFT_PENDING then means "a value is ready", and the final result means "no more".
 * Three things to see:
 *
 *   1. fib: an endless loop in the source, a lazy sequence to its consumer. Its state (a, b)
 *      lives in the frame, because locals do not survive a suspension.
 *   2. evens: a generator that consumes another one, embedded in its frame — composition with
 *      no allocation, as with any weft coroutine.
 *   3. stopping early: a consumer that has had enough cancels the generator; its cleanup block
 *      runs exactly once (the protocol in weft/coro.h, section 6).
 */
#include <stdio.h>

#include "weft/coro.h"

/* Fibonacci numbers up to `limit`. */
struct fib {
    weft_co co;
    long limit;
    long a, b;  /* the state that crosses each suspension */
    long value; /* the value just yielded */
    int count;  /* values handed out */
};

static int fib(struct fib *g, weft_cx *cx)
{
    (void)cx;
    WEFT_BEGIN(&g->co);
    for (g->a = 0, g->b = 1; g->a <= g->limit; g->b += g->a, g->a = g->b - g->a) {
        g->count++;
        WEFT_YIELD_VALUE(&g->co, g->value, g->a);
    }
    WEFT_ON_CANCEL(&g->co);
    printf("fib: cleanup after %d values\n", g->count); /* only when cancelled */
    WEFT_END(&g->co, 0);
}

/* The even values of a fib generator: a generator over a generator. */
struct evens {
    weft_co co;
    struct fib src; /* the inner generator's frame, embedded */
    int r;
    long value;
};

static int evens(struct evens *g, weft_cx *cx)
{
    WEFT_BEGIN(&g->co);
    weft_co_init(&g->src.co);
    while ((g->r = fib(&g->src, cx)) == WEFT_PENDING)
        if (g->src.value % 2 == 0) WEFT_YIELD_VALUE(&g->co, g->value, g->src.value);
    WEFT_END(&g->co, g->r); /* the inner result (0) becomes ours */
}

int main(int argc, char **argv)
{
    if (argc > 1) {
        fprintf(stderr, "'%s': %s takes no arguments\n", argv[1], argv[0]);
        return 2;
    }
    struct fib all = {.limit = 100};
    printf("fibonacci up to 100:");
    while (fib(&all, NULL) == WEFT_PENDING)
        printf(" %ld", all.value);
    printf("\n");

    struct evens even = {.src.limit = 1000};
    printf("even ones up to 1000:");
    while (evens(&even, NULL) == WEFT_PENDING)
        printf(" %ld", even.value);
    printf("\n");

    struct fib endless = {.limit = 1L << 40};
    printf("the first five of a long sequence:");
    for (int i = 0; i < 5 && fib(&endless, NULL) == WEFT_PENDING; i++)
        printf(" %ld", endless.value);
    printf("\n");
    if (weft_co_cancel(&endless.co)) /* it was suspended: poll it once more to clean up */
        printf("cancelled: %s\n", weft_strerror(fib(&endless, NULL)));
    /* Polling a finished coroutine is a driver bug: debug builds abort and say where. Ask for
     * the release behaviour, the documented error, to show it. */
    weft_co_abort_on_misuse = false;
    printf("polled again: %s\n", weft_strerror(fib(&endless, NULL)));
    return 0;
}
