/*
 * weft/coro.h — stackless coroutines: a C function that can stop in the middle and carry on
 * from there the next time it is called.
 *
 * A weft coroutine is a plain C function over a frame struct that its caller owns. Everything
 * that must survive a suspension lives in the frame: the resume point, the locals that cross a
 * wait, the frames of the children it awaits.
 *
 *     struct countdown {
 *         weft_co co;   // the resume point: one machine word, first member by convention
 *         int n;        // a "local" that crosses a suspension
 *     };
 *
 *     static int countdown(struct countdown *f, weft_cx *cx)
 *     {
 *         (void)cx;
 *         WEFT_BEGIN(&f->co);
 *         for (f->n = 3; f->n > 0; f->n--) {
 *             printf("%d\n", f->n);
 *             WEFT_YIELD(&f->co);      // return WEFT_PENDING; carry on from here next time
 *         }
 *         WEFT_END(&f->co, 0);         // finished: return 0 now and WEFT_EFINISHED forever after
 *     }
 *
 *     struct countdown cd = {0};       // a zeroed frame is a coroutine not yet started
 *     while (countdown(&cd, NULL) == WEFT_PENDING)
 *         ;                            // a real driver does other work here
 *
 * THE STEP PROTOCOL. Each call ("poll") runs from where the last one stopped to the next
 * suspension and returns one int:
 *
 *     WEFT_PENDING   not finished; poll again later (a runtime: after a wake-up);
 *     >= 0           finished, with this result;
 *     < 0            finished, with this error: -errno or a WEFT_E* code from weft/error.h.
 *
 * This is a future's poll(): the macros below write the state machine you would otherwise write
 * by hand (examples/02_state_machine.c shows the two side by side). The driver — a runtime, a
 * test, a loop in main() — owns the frame, starts it zeroed, and polls until the result is not
 * WEFT_PENDING. weft_cx is the driver's context (the runtime's waker, say): this layer passes it
 * through untouched and includes nothing from the poll layer or the runtime, so the same macros
 * drive a parser, a generator or a protocol as well as I/O.
 *
 * Composition is by embedding: a parent's frame contains its child's frame, so awaiting a child
 * allocates nothing (like a Rust future containing the futures it awaits).
 *
 * Contents, in reading order:
 *   1. Types and the step result           5. Awaiting children
 *   2. How a coroutine resumes             6. Cancellation
 *   3. The body: BEGIN, END, RETURN, ...   7. Combinators: join and select
 *   4. Waiting, and the two classic traps  8. Generators
 *                                          9. Where a coroutine waits (introspection)
 */
#ifndef WEFT_CORO_H
#define WEFT_CORO_H

#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "weft/error.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ============================================================================================
 * 1. Types and the step result
 * ========================================================================================== */

/*
 * weft_cx - the driver's context, passed to every poll and through to every child untouched.
 * Incomplete here on purpose: the runtime defines struct weft_cx; tests and examples that drive
 * coroutines by hand define their own or pass NULL.
 */
typedef struct weft_cx weft_cx;

/* WEFT_PENDING - the step result "not finished; poll again". Never an error code. */
#define WEFT_PENDING INT_MIN

/* weft_pending - true if a step result means "not finished". */
static inline bool weft_pending(int r)
{
    return r == WEFT_PENDING;
}

/*
 * weft_co - the resume point of one coroutine: ONE machine word, the whole per-coroutine cost of
 * this layer. Put it first in the frame (the combinators in section 7 rely on that). Treat it as
 * opaque; use the functions below to ask about it.
 *
 * Zero means "not started". Other values: a resume point (section 2) or one of the sentinels
 * WEFT__LC_TOP (restarted), WEFT__LC_CANCEL (cancel requested), WEFT__LC_DONE (finished).
 */
typedef struct weft_co {
    uintptr_t lc; /* "local continuation": where the body carries on */
} weft_co;

/* Sentinels: values no label address or line number can take. */
#define WEFT__LC_TOP    (UINTPTR_MAX - 2) /* WEFT_RESTART: carry on from WEFT_BEGIN */
#define WEFT__LC_CANCEL (UINTPTR_MAX - 1) /* weft_co_cancel: run the cleanup block next poll */
#define WEFT__LC_DONE   UINTPTR_MAX       /* finished (or cancelled): polls return EFINISHED */

/* WEFT_CO_INIT - static initialiser: a coroutine not yet started. */
/* clang-format off */
#define WEFT_CO_INIT {0}
/* clang-format on */

/* weft_co_init - (re)set co to "not started", so the next poll runs the body from the top. */
static inline void weft_co_init(weft_co *co)
{
    co->lc = 0;
}

/* weft_co_started - true once the body has been polled at least once (and not re-initialised). */
static inline bool weft_co_started(const weft_co *co)
{
    return co->lc != 0;
}

/* weft_co_done - true if the coroutine finished: normally, with an error, or cancelled. */
static inline bool weft_co_done(const weft_co *co)
{
    return co->lc == WEFT__LC_DONE;
}

/*
 * weft_co_suspended - true if the coroutine is stopped at a suspension and must be polled again
 * (including after weft_co_cancel() returned 1: the final, cleanup poll is still owed).
 */
static inline bool weft_co_suspended(const weft_co *co)
{
    return weft_co_started(co) && !weft_co_done(co);
}

/*
 * weft_co_abort_on_misuse - what a poll does when the driver or the coroutine is at fault:
 * polling a coroutine that already finished, resuming one whose resume point was lost (trap 2
 * in section 4), or (debug builds) suspending with a cancel pending (weft_co_cancel). When true,
 * the poll prints the coroutine's file, line and function to stderr and aborts, so the bug stops
 * where it happens. When false, it returns the documented error (WEFT_EFINISHED, WEFT_ECORESUME
 * or WEFT_ECOCANCEL) and the coroutine stays finished. Default: true when
 * src/coro was compiled without NDEBUG (debug builds), false otherwise. Process-wide; set it
 * before coroutines run, not while other threads poll.
 */
extern bool weft_co_abort_on_misuse;

/*
 * weft_co_fn - the generic type of a coroutine function, for code that stores coroutines of
 * different frame types (the combinators, a runtime's task). A coroutine written as
 * `int fn(struct my_frame *, weft_cx *)` must not be called through this type (calling a
 * function through a different pointer type is undefined); WEFT_CO_FN writes the adapter.
 */
typedef int (*weft_co_fn)(void *frame, weft_cx *cx);

/*
 * WEFT_CO_FN(name, fn, frame_type) - define `static int name(void *frame, weft_cx *cx)`, a
 * weft_co_fn that polls fn on a frame_type. Use at file scope.
 */
#define WEFT_CO_FN(name, fn, frame_type)                                                           \
    static int name(void *weft__frame, weft_cx *weft__cx)                                          \
    {                                                                                              \
        return fn((frame_type *)weft__frame, weft__cx);                                            \
    }

/* ============================================================================================
 * 2. How a coroutine resumes
 *
 * The body is wrapped in a dispatch `switch` on weft__co_dispatch(co). WEFT_BEGIN opens it with
 * `case 0:` (first poll, or a resume point, see below) and `case WEFT__LC_TOP:` (after
 * WEFT_RESTART); WEFT_ON_CANCEL adds `case WEFT__LC_CANCEL:`; WEFT_END closes it with
 * `default:`, which handles what no case took: a finished coroutine, a cancel with no cleanup
 * block, and (switch implementation only) a resume point the switch cannot find (trap 2).
 *
 * Every suspension macro does two things:
 *   WEFT__LC_SAVE(co)      store "here" in co->lc, just before returning WEFT_PENDING;
 *   WEFT__LC_MARK          mark "here" in the body, so that the next poll can get back to it;
 * and WEFT_BEGIN gets back there with two more:
 *   weft__co_dispatch(co)  which case of the dispatch switch to take;
 *   WEFT__LC_JUMP(co)      from `case 0:`, on to the resume point.
 * These four are the only places where the two implementations differ:
 *
 * Label addresses (WEFT_CORO_LABELS=1, default under gcc and clang: GNU C "labels as values").
 *   "Here" is a label named after the line, weft__resume_<line>; co->lc holds its address and
 *   WEFT__LC_JUMP is `if (co->lc) goto *co->lc;`. Resume points are ordinary labels, so a body
 *   may contain `switch` statements, with suspensions inside them.
 *
 * Switch (WEFT_CORO_LABELS=0: ISO C, selected with the CMake option WEFT_CORO_LABELS=OFF).
 *   "Here" is `case __LINE__:` — a case label of the dispatch switch placed in the middle of the
 *   body (Duff's device); co->lc holds the line number and WEFT__LC_JUMP is nothing: the dispatch
 *   switch itself jumps. See trap 2 for what that costs.
 *
 * Either way, two suspension macros on one source line collide (the same label or case twice):
 * the compiler rejects it. Write one per line.
 * ========================================================================================== */

/*
 * WEFT_CORO_LABELS - 1: coroutine bodies resume through label addresses; 0: through the switch
 * (see above). The CMake option of the same name defines it for the library and for targets that
 * link it; a file compiled without it gets 1 under gcc and clang (__GNUC__) and 0 elsewhere. It
 * changes only how the bodies compiled with it resume (a poll is a plain call either way), so
 * files may differ; under 0 a body must not suspend inside a switch of its own (trap 2).
 */
#ifndef WEFT_CORO_LABELS
#if defined(__GNUC__)
#define WEFT_CORO_LABELS 1
#else
#define WEFT_CORO_LABELS 0
#endif
#endif

#define WEFT__CAT2(a, b) a##b
#define WEFT__CAT(a, b)  WEFT__CAT2(a, b)

/* Resume points are case labels reached by falling through; say so, where the compiler listens. */
#if defined(__has_attribute)
#if __has_attribute(fallthrough)
#define WEFT__FALLTHROUGH __attribute__((fallthrough));
#endif
#endif
#ifndef WEFT__FALLTHROUGH
#define WEFT__FALLTHROUGH
#endif

/* clang-format off */
#if WEFT_CORO_LABELS

/* Label addresses are a GNU extension: silence -Wpedantic for exactly these two constructs. */
#define WEFT__LC_LABEL WEFT__CAT(weft__resume_, __LINE__)
#define WEFT__LC_MARK                                                                              \
    WEFT__LC_LABEL:;
#define WEFT__LC_SAVE(co) ((co)->lc = (uintptr_t)(__extension__(&&WEFT__LC_LABEL)))
/* The `(void)&&weft__top` names one label address in every body, so that a body with no
 * suspension at all still compiles under clang ("indirect goto in function with no
 * address-of-label expressions"). */
#define WEFT__LC_JUMP(co)                                                                          \
    _Pragma("GCC diagnostic push") _Pragma("GCC diagnostic ignored \"-Wpedantic\"")                \
    (void)&&weft__top;                                                                             \
    weft__top:                                                                                     \
        if ((co)->lc) goto *(void *)(co)->lc;                                                      \
    _Pragma("GCC diagnostic pop") WEFT__FALLTHROUGH

/* Labels: only sentinels select a case; 0 and label addresses go to `case 0` and jump. */
static inline uintptr_t weft__co_dispatch(const weft_co *co)
{
    return co->lc >= WEFT__LC_TOP ? co->lc : 0;
}

#else /* the switch implementation */

#define WEFT__LC_MARK                                                                              \
    WEFT__FALLTHROUGH case __LINE__:;
#define WEFT__LC_SAVE(co) ((co)->lc = __LINE__)
#define WEFT__LC_JUMP(co)

/* Switch: the resume point is the case value itself. */
static inline uintptr_t weft__co_dispatch(const weft_co *co)
{
    return co->lc;
}

#endif /* WEFT_CORO_LABELS */
/* clang-format on */

/* Finish: mark the coroutine done and hand back its result. */
static inline int weft__co_finish(weft_co *co, int result)
{
    co->lc = WEFT__LC_DONE;
    return result;
}

/* Suspension bookkeeping shared by every macro that returns WEFT_PENDING (section 9). */
struct weft_co_site;
static inline void weft__co_site_note(const struct weft_co_site *site);

/* Note "here" as the suspension site: a constant record per suspension macro, made once by the
 * compiler, so a suspension stores one pointer. */
#define WEFT__SITE_NOTE()                                                                          \
    do {                                                                                           \
        static const struct weft_co_site weft__site = {__FILE__, __func__, __LINE__};              \
        weft__co_site_note(&weft__site);                                                           \
    } while (0)

/* WEFT_END's `default:` (src/coro/coro.c): done, cancelled without cleanup, or trap 2. */
int weft__co_resume_other(weft_co *co, const char *file, const char *func, int line);

/*
 * A suspension that finds a cancel already marked (CANCEL or DONE in co->lc) is a bug: the
 * coroutine was cancelled while it was running, or its cleanup block suspends (section 6). Saving
 * "here" would silently drop the cancel, so a debug build checks first. NDEBUG builds skip the
 * check: a suspension stays one store, as the hot path wants.
 */
int weft__co_suspend_misuse(weft_co *co, const char *file, const char *func, int line);
#ifdef NDEBUG
#define WEFT__SUSPEND_CHECK(co) ((void)0)
#else
#define WEFT__SUSPEND_CHECK(co)                                                                    \
    do {                                                                                           \
        if ((co)->lc >= WEFT__LC_CANCEL)                                                           \
            return weft__co_suspend_misuse((co), __FILE__, __func__, __LINE__);                    \
    } while (0)
#endif

/* Save "here", note the site, return WEFT_PENDING. */
#define WEFT__SUSPEND(co)                                                                          \
    do {                                                                                           \
        WEFT__SUSPEND_CHECK(co);                                                                   \
        WEFT__LC_SAVE(co);                                                                         \
        WEFT__SITE_NOTE();                                                                         \
        return WEFT_PENDING;                                                                       \
    } while (0)

/* ============================================================================================
 * 3. The body
 *
 * Each macro takes the coroutine's weft_co pointer first. A body is
 *
 *     WEFT_BEGIN(co);  ...statements and suspension macros...  [WEFT_ON_CANCEL(co); cleanup]
 *     WEFT_END(co, result);
 *
 * and nothing of the function comes after WEFT_END: one body per function. Every macro except
 * BEGIN, ON_CANCEL and END is a single statement, safe as the body of an unbraced `if`.
 * ========================================================================================== */

/*
 * WEFT_BEGIN(co) - start the body. On the first poll it falls into the body; on later polls it
 * jumps to where the last poll suspended. Code before WEFT_BEGIN runs on every poll.
 */
/* clang-format off */
#define WEFT_BEGIN(co)                                                                             \
    switch (weft__co_dispatch(co)) {                                                               \
    case 0:                                                                                        \
        WEFT__LC_JUMP(co)                                                                          \
    case WEFT__LC_TOP: {

/*
 * WEFT_END(co, result) - end the body: finish with `result` (an int >= 0, or a negative error).
 * After that, every poll returns WEFT_EFINISHED: polling a finished coroutine is defined, never
 * undefined behaviour. It is a bug in the driver, so debug builds abort and say where (see
 * weft_co_abort_on_misuse); the book panics here.
 * On the cancel path (section 6) the function returns -ECANCELED instead and `result` is not
 * evaluated.
 */
#define WEFT_END(co, result)                                                                       \
    }                                                                                              \
    return (co)->lc == WEFT__LC_CANCEL ? weft__co_finish((co), -ECANCELED)                         \
                                       : weft__co_finish((co), (result));                          \
    default:                                                                                       \
        return weft__co_resume_other((co), __FILE__, __func__, __LINE__);                          \
    }

/* clang-format on */

/* WEFT_RETURN(co, result) - finish now with `result`, as WEFT_END would. Not in a cleanup block. */
#define WEFT_RETURN(co, result) return weft__co_finish((co), (result))

/*
 * WEFT_YIELD(co) - return WEFT_PENDING once, to let others run; the next poll carries on after
 * it. (Under a runtime, the task must also ask to be woken, or nobody will poll it again.)
 */
#define WEFT_YIELD(co)                                                                             \
    do {                                                                                           \
        WEFT__SUSPEND(co);                                                                         \
        WEFT__LC_MARK                                                                              \
    } while (0)

/*
 * WEFT_RESTART(co) - return WEFT_PENDING now; the next poll runs the body again from WEFT_BEGIN.
 * The coroutine stays suspended (a cancel still runs its cleanup block). The frame is not
 * touched: reset what the body expects to find reset.
 */
#define WEFT_RESTART(co)                                                                           \
    do {                                                                                           \
        WEFT__SUSPEND_CHECK(co);                                                                   \
        (co)->lc = WEFT__LC_TOP;                                                                   \
        WEFT__SITE_NOTE();                                                                         \
        return WEFT_PENDING;                                                                       \
    } while (0)

/* ============================================================================================
 * 4. Waiting
 * ========================================================================================== */

/*
 * WEFT_WAIT_UNTIL(co, cond) - if cond is false, return WEFT_PENDING; on each later poll evaluate
 * cond again, carrying on past this line once it is true. cond is evaluated at least once and may
 * have side effects (it runs once per poll).
 */
#define WEFT_WAIT_UNTIL(co, cond)                                                                  \
    do {                                                                                           \
        WEFT__LC_MARK                                                                              \
        if (!(cond)) WEFT__SUSPEND(co);                                                            \
    } while (0)

/* WEFT_WAIT_WHILE(co, cond) - WEFT_WAIT_UNTIL(co, !(cond)). */
#define WEFT_WAIT_WHILE(co, cond) WEFT_WAIT_UNTIL(co, !(cond))

/*
 * WEFT_AWAIT(co, expr) - evaluate expr, an int step result, on this poll and each later one
 * until it is not WEFT_PENDING. Store the result with an assignment inside expr:
 *
 *     WEFT_AWAIT(&f->co, f->n = weft_tcp_read(&f->rd, cx));
 *     if (f->n < 0) WEFT_RETURN(&f->co, f->n);
 */
#define WEFT_AWAIT(co, expr) WEFT_WAIT_UNTIL(co, (expr) != WEFT_PENDING)

/*
 * The two classic traps of stackless coroutines.
 *
 * TRAP 1: locals do not survive a suspension. A suspension is a `return`; the next poll is a new
 * call with fresh (uninitialised) locals. Keep everything that crosses a suspension in the frame.
 *
 *     int i;                                      // WRONG: garbage after the first YIELD
 *     for (i = 0; i < 3; i++) WEFT_YIELD(&f->co);
 *
 *     for (f->i = 0; f->i < 3; f->i++)            // right: the frame survives
 *         WEFT_YIELD(&f->co);
 *
 * A local used only between two suspensions is fine. (Compilers may warn "may be used
 * uninitialised" about the wrong form; they do not always.)
 *
 * TRAP 2: a suspension inside a `switch`, under the switch implementation. The resume point
 * `case __LINE__:` then belongs to the inner switch, not to the dispatch switch:
 *
 *     switch (f->state) {
 *     case 1:
 *         WEFT_YIELD(&f->co);   // its `case 57:` binds to switch (f->state)
 *         break;
 *     }
 *
 * The first poll suspends normally; the next one finds no case 57 in the dispatch switch. There
 * is no reliable way to reject this at compile time, so weft detects it on that poll: WEFT_END's
 * `default:` sees a resume point that no case matched, prints the coroutine's file and function
 * to stderr, marks it finished, and returns WEFT_ECORESUME — or, when weft_co_abort_on_misuse is
 * true (the default in debug builds), aborts, so the test that first resumes it fails loudly. Under
 * the label implementation the same code is correct. A `switch` with no suspension inside is fine
 * under both; so is a suspension in a loop or an `if`. Prefer if/else chains in bodies that must
 * build both ways.
 *
 * A related slip, caught at compile time: a `break` at the top level of a body (outside any loop
 * or switch of your own) leaves the dispatch switch, and the compiler warns that control reaches
 * the end of a non-void function.
 */

/* ============================================================================================
 * 5. Awaiting children
 * ========================================================================================== */

/*
 * WEFT_AWAIT_CHILD(co, child_co, lvalue, call) - run a child coroutine to completion: initialise
 * its weft_co, then await `call` (the child's poll), storing its final result in lvalue. The
 * child's frame lives in the parent's frame. While the child is pending, lvalue holds
 * WEFT_PENDING. Example:
 *
 *     WEFT_AWAIT_CHILD(&f->co, &f->get.co, f->status, http_get(&f->get, cx));
 *
 * An error is a result like any other: check lvalue and WEFT_RETURN it to propagate it.
 */
#define WEFT_AWAIT_CHILD(co, child_co, lvalue, call)                                               \
    do {                                                                                           \
        weft_co_init(child_co);                                                                    \
        WEFT_AWAIT(co, (lvalue) = (call));                                                         \
    } while (0)

/* ============================================================================================
 * 6. Cancellation
 *
 * A coroutine that opens something (a socket, a timer) can declare a cleanup block that runs
 * when it is cancelled while suspended — exactly once — and never when it finishes normally:
 *
 *     WEFT_BEGIN(&f->co);
 *     f->fd = open_something();
 *     WEFT_AWAIT_CHILD(&f->co, &f->rd.co, f->n, reader(&f->rd, cx));
 *     close(f->fd);
 *     WEFT_ON_CANCEL(&f->co);
 *     WEFT_CANCEL_CHILD(&f->rd.co, reader(&f->rd, cx));   // children first
 *     close(f->fd);
 *     WEFT_END(&f->co, f->n);
 *
 * The protocol (what a runtime or a combinator relies on):
 *   1. weft_co_cancel(co) returns 1 if co was suspended: the caller then owes it exactly one more
 *      poll. That poll jumps straight into the cleanup block (or, without one, does nothing) and
 *      returns -ECANCELED — never WEFT_PENDING. The coroutine is then done.
 *   2. If co was never started or is already done, weft_co_cancel marks it done and returns 0:
 *      there is nothing to run and nothing to poll.
 *   3. co must not be running: not the caller itself, nor a coroutine up the chain of polls
 *      that leads to the caller (a child must not cancel the parent that is awaiting it). See
 *      weft_co_cancel for why and what to do instead.
 * A cleanup block must not suspend or WEFT_RETURN: it runs to WEFT_END in one go. Debug builds
 * catch a suspension there (see weft_co_cancel).
 * ========================================================================================== */

/*
 * WEFT_ON_CANCEL(co) - end the normal body and start its cleanup block, which runs to WEFT_END.
 * Normal control flow skips the block. At most one per body, at its top level.
 */
/* clang-format off */
#define WEFT_ON_CANCEL(co)                                                                         \
    }                                                                                              \
    if (0) {                                                                                       \
    case WEFT__LC_CANCEL:
/* clang-format on */

/*
 * weft_co_cancel - ask a coroutine to stop.
 *
 * co: the coroutine; its frame stays owned by the caller.
 * Returns 1 if co was suspended: it is now marked for cancellation and the caller must poll it
 * exactly once more (that poll runs its cleanup and returns -ECANCELED). Returns 0 if co was
 * never started or already done: it is marked done (later polls return WEFT_EFINISHED) and must
 * not be polled for cleanup. Calling it again before the owed poll returns 1 again. Never fails.
 *
 * Only for a coroutine that is not running: never on the caller itself or on a coroutine whose
 * poll is still under way further up the call stack (a child cancelling the parent awaiting it).
 * This function cannot tell "running" from "suspended" — a running coroutine's resume point is
 * still the last one — so it answers as for a suspended one, but the mark does not survive: the
 * body's next suspension overwrites it. Making it survive would cost every suspension a load and
 * a branch; instead, a build of the coroutine without NDEBUG checks at that next suspension and
 * treats it as misuse (see weft_co_abort_on_misuse): it prints the coroutine's file, line and
 * function and aborts, or the poll finishes the coroutine with WEFT_ECOCANCEL. With NDEBUG the
 * cancel is simply lost (or, if the body reaches WEFT_END without suspending again, it returns
 * -ECANCELED without running its cleanup block). To stop itself, a coroutine finishes:
 * WEFT_RETURN(co, -ECANCELED). A child that wants its parent to stop returns a result that says
 * so. Under the runtime, weft_task_cancel may be called from inside the task: it waits for the
 * poll to return.
 */
int weft_co_cancel(weft_co *co);

/*
 * WEFT_CANCEL_CHILD(child_co, call) - in a cleanup block: cancel a child this coroutine may be
 * awaiting and, if it was suspended, poll it once (`call`) so that its own cleanup runs.
 */
#define WEFT_CANCEL_CHILD(child_co, call)                                                          \
    do {                                                                                           \
        if (weft_co_cancel(child_co)) (void)(call);                                                \
    } while (0)

/* ============================================================================================
 * 7. Combinators: join and select
 *
 * Both run a small array of children whose frames are embedded in the parent's frame; nothing
 * is allocated. A child is a (function, frame) pair plus its result slot:
 *
 *     struct both {
 *         weft_co co;
 *         struct fetch a, b;              // the children's frames
 *         weft_co_child kids[2];
 *     };
 *     WEFT_CO_FN(fetch_fn, fetch, struct fetch)
 *
 *     WEFT_BEGIN(&f->co);
 *     weft_co_child_init(&f->kids[0], fetch_fn, &f->a);
 *     weft_co_child_init(&f->kids[1], fetch_fn, &f->b);
 *     WEFT_AWAIT(&f->co, weft_co_join(f->kids, 2, cx));
 *     // f->kids[0].result and f->kids[1].result hold each child's result
 *     WEFT_ON_CANCEL(&f->co);
 *     weft_co_children_cancel(f->kids, 2, cx);
 *     WEFT_END(&f->co, 0);
 *
 * Wake-ups: a combinator has no per-child wake-ups, so each poll polls every child that is not
 * yet done, in array order. A child polled without having been woken must tolerate it — the same
 * rule as spurious wake-ups in the poll layer: a well-formed child just returns WEFT_PENDING again.
 * ========================================================================================== */

/* weft_co_child - one child of a combinator. */
typedef struct weft_co_child {
    weft_co_fn fn; /* the child's poll function */
    void *frame;   /* its frame; the frame's first member is its weft_co */
    int result;    /* WEFT_PENDING until the child is done, then its result */
} weft_co_child;

/*
 * weft_co_child_init - set up a child: store fn and frame, reset the result to WEFT_PENDING and
 * the frame's weft_co to "not started". Call it in the parent's body before the combinator.
 */
void weft_co_child_init(weft_co_child *child, weft_co_fn fn, void *frame);

/*
 * weft_co_join - run all children concurrently until every one is done.
 *
 * May return WEFT_PENDING: poll it with WEFT_AWAIT until it returns. Each poll polls the children
 * not yet done. Returns 0 once all are done; each child's own result (a value or an error) is in
 * its .result. A child's failure does not stop the others. n == 0 returns 0 at once. Polled again
 * after it returned, it returns 0 again (every child is done) and polls nobody.
 */
int weft_co_join(weft_co_child *kids, size_t n, weft_cx *cx);

/*
 * weft_co_select - race the children: done when the first one is done.
 *
 * May return WEFT_PENDING: poll it with WEFT_AWAIT until it returns. Each poll polls the children
 * not yet done, in array order, and stops at the first that finishes (so on a tie, the lower
 * index wins). Returns that child's index; its result (a value or an error: finishing with an
 * error still wins) is in its .result. Every other child is then cancelled through the protocol
 * of section 6 — polled once so its cleanup block runs, if it was suspended — and its .result
 * becomes -ECANCELED ("told so"). Returns -EINVAL if n == 0.
 * Polled again after it returned (no child left pending), it returns WEFT_EFINISHED and polls
 * nobody: the winner's index is not kept anywhere, so keep the first answer.
 */
int weft_co_select(weft_co_child *kids, size_t n, weft_cx *cx);

/*
 * weft_co_children_cancel - cancel every child not yet done (the cleanup block of a parent
 * cancelled during a join or select). Each suspended child is polled once to run its cleanup;
 * each child's .result becomes -ECANCELED. Children already done keep their results.
 */
void weft_co_children_cancel(weft_co_child *kids, size_t n, weft_cx *cx);

/* ============================================================================================
 * 8. Generators
 *
 * A generator is a coroutine that hands out a sequence of values, one per poll: it stores the
 * next value in its frame and suspends. To its consumer WEFT_PENDING then means "a value is
 * ready"; the final result means "no more values".
 *
 *     struct squares { weft_co co; int i, value; };
 *
 *     static int squares(struct squares *g, weft_cx *cx)
 *     {
 *         (void)cx;
 *         WEFT_BEGIN(&g->co);
 *         for (g->i = 1; g->i <= 4; g->i++)
 *             WEFT_YIELD_VALUE(&g->co, g->value, g->i * g->i);
 *         WEFT_END(&g->co, 0);
 *     }
 *
 *     struct squares g = {0};
 *     while (squares(&g, NULL) == WEFT_PENDING)
 *         printf("%d\n", g.value);   // 1 4 9 16
 *
 * Such a generator must not wait for anything else, or its consumer could not tell "value ready"
 * from "waiting". examples/02b_generator.c shows one in full.
 * ========================================================================================== */

/* WEFT_YIELD_VALUE(co, lvalue, value) - store value in lvalue (in the frame) and WEFT_YIELD. */
#define WEFT_YIELD_VALUE(co, lvalue, value)                                                        \
    do {                                                                                           \
        (lvalue) = (value);                                                                        \
        WEFT_YIELD(co);                                                                            \
    } while (0)

/* ============================================================================================
 * 9. Where a coroutine waits
 *
 * Every suspension macro records, on its way out, the source location where the innermost
 * coroutine suspended — unless a location is already recorded for this poll. Children return
 * before their parents, so the first record of a poll is the innermost. A driver clears the
 * record before polling a task and reads it after a WEFT_PENDING (a runtime's task dump, a
 * tracer). Each suspension macro owns a constant weft_co_site (static storage, made by the
 * compiler), and the record is one thread-local pointer to it. Cost: a load, a branch and a
 * store per suspension; nothing per resume. A driver keeps the pointer (weft_co_site_where): it
 * stays valid for the life of the program.
 *
 * The line is __LINE__ at the suspension macro. For a macro call written over several lines the
 * compilers disagree: gcc gives the line of the macro's name, clang the line of its closing
 * parenthesis. Where the recorded line must not depend on the compiler (a page that quotes it, a
 * test), keep the call on one line, as the sites docs/tracing.md shows are.
 * ========================================================================================== */

/* weft_co_site - a suspension site. file == NULL: none recorded. */
typedef struct weft_co_site {
    const char *file; /* __FILE__ of the suspension macro */
    const char *func; /* the coroutine function */
    int line;         /* __LINE__ of the suspension macro */
} weft_co_site;

/* The current thread's record (defined in src/coro/coro.c): NULL, or the site of the first
 * suspension since the last clear. Use the functions below. */
#ifdef __cplusplus
extern thread_local const weft_co_site *weft__co_site; /* C++11's spelling of _Thread_local */
#else
extern _Thread_local const weft_co_site *weft__co_site;
#endif

/* weft_co_site_clear - forget the recorded site; call before polling a task. */
static inline void weft_co_site_clear(void)
{
    weft__co_site = NULL;
}

/*
 * weft_co_site_where - the site recorded since the last clear, or NULL if none. The record is a
 * constant with static storage: keep the pointer as long as you like, never free it.
 */
static inline const weft_co_site *weft_co_site_where(void)
{
    return weft__co_site;
}

/* weft_co_site_get - the site recorded since the last clear, by value (file == NULL if none). */
static inline weft_co_site weft_co_site_get(void)
{
    weft_co_site none = {NULL, NULL, 0};
    return weft__co_site != NULL ? *weft__co_site : none;
}

/*
 * weft_co_site_restore - replace the record, for a driver whose polls nest: save the outer
 * poll's record with weft_co_site_where() before an inner poll, put it back with this afterwards.
 * site: a pointer weft_co_site_where() returned, or NULL (none).
 */
static inline void weft_co_site_restore(const weft_co_site *site)
{
    weft__co_site = site;
}

static inline void weft__co_site_note(const weft_co_site *site)
{
    if (weft__co_site == NULL) weft__co_site = site;
}

#ifdef __cplusplus
}
#endif

#endif /* WEFT_CORO_H */
