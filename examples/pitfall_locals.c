/*
 * pitfall_locals — trap 1 of weft/coro.h: a local variable does not survive a suspension.
 *
 * A suspension is a `return`. The next poll is a new call of the same function, with new locals,
 * and jumps to where the last one stopped. A loop counter kept in a local is reset on every poll:
 *
 *   1. wrong: `i` is a local. The loop prints tick 0, then tick 1 on every poll after that, and
 *      never ends. (The driver gives up after 8 polls.)
 *   2. right: `i` lives in the frame, which the caller owns and keeps between polls.
 *
 * In Rust the compiler moves every local that lives across an .await into the future for you.
 * In C nothing does: whatever crosses a suspension goes in the frame, by hand.
 * docs/pitfalls.md walks through it.
 */
#include <stdio.h>

#include <weft/coro.h>

#define MAX_POLLS 8

struct counter {
    weft_co co;
    int i; /* the right place for a loop counter that crosses a suspension */
};

/* WRONG: `i` is set to 0 on every poll, then the jump lands after the yield, inside the loop. */
static int count_wrong(struct counter *f, weft_cx *cx)
{
    (void)cx;
    int i = 0;
    WEFT_BEGIN(&f->co);
    for (i = 0; i < 3; i++) {
        printf("  tick %d\n", i);
        WEFT_YIELD(&f->co);
    }
    WEFT_END(&f->co, i);
}

/* Right: the counter is in the frame. */
static int count_right(struct counter *f, weft_cx *cx)
{
    (void)cx;
    WEFT_BEGIN(&f->co);
    for (f->i = 0; f->i < 3; f->i++) {
        printf("  tick %d\n", f->i);
        WEFT_YIELD(&f->co);
    }
    WEFT_END(&f->co, f->i);
}

/* Polls fn until it finishes, at most MAX_POLLS times. */
static void drive(int (*fn)(struct counter *, weft_cx *))
{
    struct counter f = {0};
    for (int polls = 1; polls <= MAX_POLLS; polls++) {
        int r = fn(&f, NULL);
        if (r != WEFT_PENDING) {
            printf("  finished after %d polls with result %d\n", polls, r);
            return;
        }
    }
    printf("  still not finished after %d polls: the counter starts from 0 on every poll\n",
           MAX_POLLS);
}

int main(int argc, char **argv)
{
    if (argc > 1) {
        fprintf(stderr, "'%s': %s takes no arguments\n", argv[1], argv[0]);
        return 2;
    }
    printf("1. the loop counter is a local (wrong)\n");
    drive(count_wrong);
    printf("2. the loop counter is in the frame (right)\n");
    drive(count_right);
    return 0;
}
