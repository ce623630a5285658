/*
 * The timer queue: a 4-ary implicit min-heap of (deadline, timer) pairs.
 *
 * The heap is an array in which the children of index i are 4i+1 .. 4i+4, so the earliest
 * deadline is always at index 0. Adding puts the new entry at the end and lets it rise past later
 * parents; popping or cancelling moves the last entry into the hole and lets it sink (or rise).
 * Each timer remembers its index (`pos`), which is what makes cancel O(log n) instead of a search.
 *
 * Why a heap and not a timing wheel. Both were built behind this interface and measured with
 * bench/timers/run.sh (1,000,000 one-shot timers, deadlines uniformly random within the next
 * second, run until all fire; 7 rounds interleaved heap / wheel / libuv on one core; medians,
 * ratios taken within a round):
 *
 *                     CPU (s)   vs libuv   bytes/timer   last timer late by
 *   this heap          0.48      0.22x        40            0.04 ms
 *   wheel (rejected)   0.49      0.22x        23            0.02 ms
 *   libuv 1.44 heap    2.22      1            152           1378 ms (it falls behind)
 *
 * The wheel (bench/timers/wheel/: 16 us ticks, 8 levels of 64 slots, cascading, each level-0 slot
 * sorted when it comes due) costs the same CPU: its O(1) insert is paid back by walking
 * linked lists, one cache miss per timer per cascade. It saves 16 bytes per timer, but both are
 * within the 64-byte budget. What decided it is `next`, which the runtime calls on every pass of
 * its loop: a wheel knows which slot holds the earliest timer, not that timer's deadline. With 1M
 * timers due in 60-61 s, all in one coarse slot, scanning it for the exact minimum costs 1.3 ms
 * per call (bench/timers/next_cost.c; the heap: a few ns). Answering with the slot's start instead
 * is cheap but 3.4 s early there (the slot is 4.3 s wide), which this interface rules out. The
 * heap answers exactly in O(1) and keeps ties first-in first-out, which the wheel does only among
 * timers that reached level 0 together. Its costs: cancel is O(log n) rather than O(1) (measured:
 * 40-50 ns for a random cancel among 1M, 4 ns to add and cancel a latest-deadline timer, the
 * usual I/O-deadline pattern), and the array grows by doubling, so a burst leaves up to twice the
 * needed slots until pops shrink it back.
 *
 * Per timer: the node (16 bytes: deadline, 32-bit insertion number, 32-bit index) plus one
 * 16-byte slot, or up to two right after the array doubled: 32 to 48 bytes. (The table above was
 * measured with a 24-byte node; with 16 bytes bench/timers/timers_weft measures 32 bytes per timer,
 * and the runtime's task record, which embeds a node, was 64 bytes instead of 72; 56 since its
 * joiner moved to a table of its own.) CPU goes to
 * sift_down, whose lower levels miss the cache; the prefetch in sift_down cut pop from about 250
 * to 175 ns (1M timers).
 *
 * Ties: equal deadlines fire in the order they were added (a rescheduled timer counts as newly
 * added), as long as fewer than 2^31 additions came in between: insertion numbers are 32 bits and
 * compared modulo 2^32. The heap compares deadlines only, and looks at the insertion numbers,
 * stored in the nodes, just when two deadlines are equal.
 */
#include "runtime/timerq.h"

#include <errno.h>
#include <stdlib.h>

#if defined(__GNUC__) || defined(__clang__)
#define PREFETCH(addr) __builtin_prefetch(addr)
#else
#define PREFETCH(addr) ((void)(addr))
#endif

enum {
    ARITY = 4,        /* Children per node: four 16-byte slots share one 64-byte cache line. */
    INITIAL_CAP = 64, /* Slots allocated by init, so a small runtime never grows the array. */
};

/*
 * Does `a` fire before `b`? Earlier deadline first; on a tie, the one added first. Insertion
 * numbers wrap at 2^32, so "added first" means "b's number is ahead of a's by less than 2^31".
 */
static bool fires_before(const struct weft__timerq_slot *a, const struct weft__timerq_slot *b)
{
    if (a->deadline != b->deadline) return a->deadline < b->deadline;
    uint32_t ahead = b->timer->seq - a->timer->seq;
    return ahead != 0 && ahead < UINT32_C(0x80000000);
}

/* Puts `s` at index `i` and tells its timer where it now lives. */
static void place(weft__timerq *q, size_t i, struct weft__timerq_slot s)
{
    q->heap[i] = s;
    s.timer->pos = (uint32_t)(i + 1); /* add() keeps len below UINT32_MAX */
}

/* Moves `s`, destined for the hole at `i`, up past every parent that fires after it. */
static void sift_up(weft__timerq *q, size_t i, struct weft__timerq_slot s)
{
    while (i > 0) {
        size_t parent = (i - 1) / ARITY;
        if (!fires_before(&s, &q->heap[parent])) break;
        place(q, i, q->heap[parent]);
        i = parent;
    }
    place(q, i, s);
}

/* Index of the earliest child of `i`, or `q->len` if `i` is a leaf. */
static size_t earliest_child(const weft__timerq *q, size_t i)
{
    size_t first = i * ARITY + 1;
    if (first >= q->len) return q->len;
    size_t end = first + ARITY < q->len ? first + ARITY : q->len;
    size_t best = first;
    for (size_t c = first + 1; c < end; c++) {
        if (fires_before(&q->heap[c], &q->heap[best])) best = c;
    }
    return best;
}

/*
 * Moves `s`, destined for the hole at `i`, down past every child that fires before it.
 *
 * Below the top few levels every level of the descent is a cache miss, so each step first asks
 * for the grandchildren of `i` (four lines of four slots): the next level's miss then overlaps this
 * level's work. Measured: pop about 30% faster with 1M timers. The prefetch is written here and
 * not in a helper of its own: GCC 12 treats such a helper as free of side effects and deletes the
 * calls.
 */
static void sift_down(weft__timerq *q, size_t i, struct weft__timerq_slot s)
{
    for (;;) {
        size_t grandchild = (i * ARITY + 1) * ARITY + 1;
        if (grandchild + (size_t)ARITY * ARITY <= q->len) {
            for (size_t k = 0; k < (size_t)ARITY * ARITY; k += ARITY)
                PREFETCH(&q->heap[grandchild + k]);
        }
        size_t c = earliest_child(q, i);
        if (c == q->len || !fires_before(&q->heap[c], &s)) break;
        place(q, i, q->heap[c]);
        i = c;
    }
    place(q, i, s);
}

/* Resizes the array to `cap` slots. Returns 0 or -ENOMEM (the old array is then untouched). */
static int resize(weft__timerq *q, size_t cap)
{
    if (cap > SIZE_MAX / sizeof *q->heap) return -ENOMEM;
    struct weft__timerq_slot *heap = realloc(q->heap, cap * sizeof *heap);
    if (heap == NULL) return -ENOMEM;
    q->heap = heap;
    q->cap = cap;
    return 0;
}

/*
 * After a burst (a million timers that have now fired) give the memory back, but only once the
 * queue is a quarter full, so that a queue hovering around a power of two does not resize on
 * every add and pop. A failed shrink is harmless: the bigger array stays.
 */
static void maybe_shrink(weft__timerq *q)
{
    if (q->cap > INITIAL_CAP && q->len < q->cap / 4) (void)resize(q, q->cap / 2);
}

/* Puts `s` in the hole at `i`, moving it up or down until the heap is ordered again. */
static void fill_hole(weft__timerq *q, size_t i, struct weft__timerq_slot s)
{
    if (i > 0 && fires_before(&s, &q->heap[(i - 1) / ARITY])) {
        sift_up(q, i, s);
    } else {
        sift_down(q, i, s);
    }
}

/* Removes the entry at index `i`, filling the hole with the last entry. */
static void remove_at(weft__timerq *q, size_t i)
{
    q->heap[i].timer->pos = 0;
    struct weft__timerq_slot last = q->heap[--q->len];
    if (i < q->len) fill_hole(q, i, last);
    maybe_shrink(q);
}

int weft__timerq_init(weft__timerq *q)
{
    /* malloc, not resize()'s realloc of NULL: an optimiser that sees the NULL turns that into a
     * malloc anyway, and fault-injection tests must know which call to fail. */
    *q = (weft__timerq){0};
    q->heap = malloc(INITIAL_CAP * sizeof *q->heap);
    if (q->heap == NULL) return -ENOMEM;
    q->cap = INITIAL_CAP;
    return 0;
}

void weft__timerq_free(weft__timerq *q)
{
    free(q->heap);
    *q = (weft__timerq){0};
}

/* The timer's place in the order: its deadline, and a fresh insertion number for ties. */
static struct weft__timerq_slot stamp(weft__timerq *q, weft__timer *t, int64_t deadline)
{
    t->deadline = deadline;
    t->seq = q->next_seq++;
    return (struct weft__timerq_slot){deadline, t};
}

/*
 * A queued timer is moved where it stands, which needs no memory, so rescheduling cannot fail.
 * A new timer takes the next free index, growing the array (doubling) when it is full.
 */
int weft__timerq_add(weft__timerq *q, weft__timer *t, int64_t deadline)
{
    if (t->pos != 0) {
        fill_hole(q, t->pos - 1, stamp(q, t, deadline));
        return 0;
    }
    if (q->len >= UINT32_MAX - 1) return -ENOMEM; /* pos is 32 bits */
    if (q->len == q->cap) {
        int rc = resize(q, q->cap ? q->cap * 2 : INITIAL_CAP);
        if (rc < 0) return rc;
    }
    sift_up(q, q->len++, stamp(q, t, deadline));
    return 0;
}

void weft__timerq_cancel(weft__timerq *q, weft__timer *t)
{
    if (t->pos != 0) remove_at(q, t->pos - 1);
}

weft__timer *weft__timerq_pop(weft__timerq *q, int64_t now)
{
    if (q->len == 0 || q->heap[0].deadline > now) return NULL;
    weft__timer *t = q->heap[0].timer;
    remove_at(q, 0);
    return t;
}
