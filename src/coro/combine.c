/*
 * Combinators over embedded children: join (wait for all) and select (wait for the first,
 * cancel the rest). Neither allocates: the children's frames and result slots live in the
 * parent's frame, and these functions only poll them.
 *
 * There are no per-child wake-ups, so every poll of a combinator polls every child that is not
 * done yet. That is correct because polling a pending coroutine without a reason is harmless
 * (it returns WEFT_PENDING again), and cheap for the handful of children a combinator holds.
 */
#include "weft/coro.h"

static weft_co *child_co(const weft_co_child *child)
{
    return (weft_co *)child->frame; /* the frame's first member is its weft_co */
}

void weft_co_child_init(weft_co_child *child, weft_co_fn fn, void *frame)
{
    child->fn = fn;
    child->frame = frame;
    child->result = WEFT_PENDING;
    weft_co_init(child_co(child));
}

/* Poll a child if it is not done yet; return its (possibly final) step result. */
static int child_poll(weft_co_child *child, weft_cx *cx)
{
    if (child->result == WEFT_PENDING) child->result = child->fn(child->frame, cx);
    return child->result;
}

int weft_co_join(weft_co_child *kids, size_t n, weft_cx *cx)
{
    int status = 0;
    for (size_t i = 0; i < n; i++)
        if (child_poll(&kids[i], cx) == WEFT_PENDING) status = WEFT_PENDING;
    return status;
}

/*
 * Once a select has finished, every child is done and nothing records which one won (a winner
 * may itself have finished with -ECANCELED, like the losers), so a finished select cannot repeat
 * its answer: polling it again is refused, as polling a finished coroutine is. Its children are
 * either all pending or all done (the first to finish has the rest cancelled at once), so the
 * first child's result tells which.
 */
int weft_co_select(weft_co_child *kids, size_t n, weft_cx *cx)
{
    if (n == 0) return -EINVAL;
    if (kids[0].result != WEFT_PENDING) return WEFT_EFINISHED;
    for (size_t i = 0; i < n; i++) {
        if (child_poll(&kids[i], cx) == WEFT_PENDING) continue;
        weft_co_children_cancel(kids, n, cx);
        return (int)i;
    }
    return WEFT_PENDING;
}

/*
 * The cancel protocol per child: a suspended child owes exactly one more poll, which runs its
 * cleanup; a child never started needs none. Either way its result says it was cancelled (a
 * child that ignored the protocol and returned something else is recorded as cancelled too, so
 * the combinator's invariant "done means result != WEFT_PENDING" holds).
 */
void weft_co_children_cancel(weft_co_child *kids, size_t n, weft_cx *cx)
{
    for (size_t i = 0; i < n; i++) {
        weft_co_child *child = &kids[i];
        if (child->result != WEFT_PENDING) continue;
        if (weft_co_cancel(child_co(child))) (void)child->fn(child->frame, cx);
        child->result = -ECANCELED;
    }
}
