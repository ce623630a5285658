/*
 * pitfall_moved_frame — a frame must stay where it is while something points into it.
 *
 * The book's chapter 9 (self-referential structs and pinning), in C. Two things point into a
 * weft frame:
 *
 *   - the runtime: from weft_task_spawn until the task finishes, the task record keeps the frame's
 *     address and polls the coroutine there, every time;
 *   - the frame itself, when it holds pointers to its own fields: a join's children
 *     (weft_co_child.frame) point at the children's frames next to them, an exchange's url can
 *     point at a buffer in the same frame.
 *
 * Copying a frame elsewhere (a realloc that moves an array, a struct assignment) copies those
 * pointers unchanged. Rust's Pin forbids the move at compile time; C lets you do it, so:
 *
 *   1. wrong: a job's frame is copied into a bigger array (as realloc would) and told to stop
 *      through the copy. The runtime keeps polling the original, which never hears it; the job
 *      runs until its own limit. (We keep the old array alive so that this stays defined; after
 *      a real realloc the runtime would be polling freed memory.)
 *   2. wrong: a frame with a join's children is copied; the copy's child pointers still lead into
 *      the original.
 *   3. right: allocate each frame once and keep a pointer to it — or let the runtime allocate it
 *      (weft_task_spawn_new).
 *
 * docs/pitfalls.md walks through it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <weft/runtime.h>

#define MAX_ROUNDS 10

/* A job that works in rounds of 10 ms until told to stop, or MAX_ROUNDS have passed.
 * Result: 1 if it saw the stop request, 0 if it ran out of rounds. */
struct job {
    weft_co co;
    bool stop; /* set by whoever wants it to end */
    int rounds;
    int64_t wake;
};

static int job(void *frame, weft_cx *cx)
{
    struct job *f = frame;
    WEFT_BEGIN(&f->co);
    while (!f->stop && f->rounds < MAX_ROUNDS) {
        f->rounds++;
        WEFT_AWAIT(&f->co, weft_sleep_for(&f->wake, WEFT_MSEC(10), cx));
    }
    WEFT_END(&f->co, f->stop ? 1 : 0);
}

/* Spawns a job on jobs[0], lets it start, "grows" the array if asked, then stops the job. */
static int run(weft_runtime *rt, bool move)
{
    struct job *jobs = calloc(1, sizeof *jobs);
    struct job *bigger = calloc(4, sizeof *bigger);
    weft_task t;
    int r = jobs && bigger ? weft_task_spawn(rt, job, &jobs[0], &t) : -ENOMEM;
    if (r == 0) {
        weft_runtime_run_ready(rt); /* the job's first poll: it starts its first round */
        if (move) {
            memcpy(bigger, jobs, sizeof *jobs); /* what realloc does when it moves a block */
            bigger[0].stop = true;              /* WRONG: the runtime polls jobs[0], not this */
        } else {
            jobs[0].stop = true; /* right: the frame the runtime was given */
        }
        r = weft_runtime_run(rt);
    }
    if (r == 0) r = weft_task_result(rt, t);
    /* How many rounds began before the stop request depends on the clock (a round whose 10 ms
     * passed before the job looked at the clock ends at once), so only the limit is printed. */
    if (r == 1) printf("  the job saw the stop request before its %d rounds were up\n", MAX_ROUNDS);
    if (r == 0)
        printf("  the job never saw the stop request: it ended by itself after %d round(s)\n",
               jobs[0].rounds);
    free(jobs);
    free(bigger);
    return r < 0 ? r : 0;
}

/* A parent whose frame points into itself: its children's frames are embedded next to kids. */
struct pair {
    weft_co co;
    struct job a, b;
    weft_co_child kids[2];
};

static void copy_a_self_referential_frame(void)
{
    static struct pair p, moved;
    weft_co_child_init(&p.kids[0], job, &p.a);
    weft_co_child_init(&p.kids[1], job, &p.b);
    moved = p; /* WRONG while the join is in progress */
    const char *where = moved.kids[0].frame == &p.a       ? "p (the original)"
                        : moved.kids[0].frame == &moved.a ? "moved"
                                                          : "?";
    printf("  moved.kids[0].frame points into %s\n", where);
}

int main(int argc, char **argv)
{
    if (argc > 1) {
        fprintf(stderr, "'%s': %s takes no arguments\n", argv[1], argv[0]);
        return 2;
    }
    weft_runtime rt;
    if (weft_runtime_init(&rt) < 0) return 1;
    printf("1. the job's frame is copied after spawn, and the copy is told to stop (wrong)\n");
    int r = run(&rt, true);
    printf("2. a frame that points into itself is copied (wrong)\n");
    copy_a_self_referential_frame();
    printf("3. the frame the runtime was given is told to stop (right)\n");
    if (r == 0) r = run(&rt, false);
    weft_runtime_close(&rt);
    if (r < 0) fprintf(stderr, "error: %s\n", weft_strerror(r));
    return r < 0;
}
