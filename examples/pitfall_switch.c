/*
 * pitfall_switch — trap 2 of weft/coro.h: a suspension inside a `switch` statement, under the
 * portable (switch-based) implementation of the resume point.
 *
 * There, a suspension marks its resume point with `case __LINE__:`, and WEFT_BEGIN's dispatch
 * `switch` jumps to it on the next poll. Inside a `switch` of your own, that case label belongs
 * to YOUR switch, so the dispatch switch has no case for it:
 *
 *   1. wrong: a traffic light written as a switch on its colour, yielding in each case. The
 *      first poll suspends normally; the second finds no resume point. weft reports it (on
 *      stderr, with the file and function) and returns WEFT_ECORESUME instead of jumping
 *      somewhere wrong.
 *   2. right: the same with if / else if, which has no case labels to capture the resume point.
 *
 * weft builds with label addresses under gcc and clang, where the wrong version happens to work;
 * this file asks for the switch implementation so that the trap shows whatever the build. Code
 * that must build both ways uses if/else around suspensions. docs/pitfalls.md walks through it.
 */
#include <stdio.h>

#undef WEFT_CORO_LABELS
#define WEFT_CORO_LABELS 0 /* the portable implementation: resume points are case labels */
#include <weft/coro.h>

enum { RED, GREEN, YELLOW };

struct light {
    weft_co co;
    int colour;
    int changes;
};

/* WRONG (switch implementation): each WEFT_YIELD's `case __LINE__:` lands in switch (colour). */
static int light_switch(struct light *f, weft_cx *cx)
{
    (void)cx;
    WEFT_BEGIN(&f->co);
    for (f->changes = 0; f->changes < 3; f->changes++) {
        switch (f->colour) {
        case RED:
            printf("  red\n");
            f->colour = GREEN;
            WEFT_YIELD(&f->co);
            break;
        case GREEN:
            printf("  green\n");
            f->colour = YELLOW;
            WEFT_YIELD(&f->co);
            break;
        default:
            printf("  yellow\n");
            f->colour = RED;
            WEFT_YIELD(&f->co);
            break;
        }
    }
    WEFT_END(&f->co, f->changes);
}

/* Right: if / else if. The resume points are case labels of the dispatch switch again. */
static int light_if(struct light *f, weft_cx *cx)
{
    (void)cx;
    WEFT_BEGIN(&f->co);
    for (f->changes = 0; f->changes < 3; f->changes++) {
        if (f->colour == RED) {
            printf("  red\n");
            f->colour = GREEN;
        } else if (f->colour == GREEN) {
            printf("  green\n");
            f->colour = YELLOW;
        } else {
            printf("  yellow\n");
            f->colour = RED;
        }
        WEFT_YIELD(&f->co);
    }
    WEFT_END(&f->co, f->changes);
}

/* Polls fn until it finishes (at most 10 times) and says how it ended. */
static void drive(int (*fn)(struct light *, weft_cx *))
{
    struct light f = {.colour = RED};
    for (int polls = 1; polls <= 10; polls++) {
        int r = fn(&f, NULL);
        if (r == WEFT_PENDING) continue;
        if (r < 0)
            printf("  poll %d failed: %s\n", polls, weft_strerror(r));
        else
            printf("  finished after %d polls: %d changes\n", polls, r);
        return;
    }
}

int main(int argc, char **argv)
{
    if (argc > 1) {
        fprintf(stderr, "'%s': %s takes no arguments\n", argv[1], argv[0]);
        return 2;
    }
    setvbuf(stdout, NULL, _IOLBF, 0); /* keep our lines and weft's stderr report in order */
    /* Debug builds abort on this bug, to stop where it happens; ask for the error instead. */
    weft_co_abort_on_misuse = false;
    printf("1. yielding inside a switch statement (wrong)\n");
    drive(light_switch);
    printf("2. yielding inside if / else if (right)\n");
    drive(light_if);
    return 0;
}
