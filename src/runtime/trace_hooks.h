/*
 * Private to src/runtime: the hooks through which the runtime core tells the tracer
 * (src/runtime/trace.c, weft/trace.h) what it is doing.
 *
 * Each hook is one line in the core, written as
 *
 *     WEFT__TRACE(rt, poll_start, t);      // if (rt->trace) weft__trace_poll_start(rt, t);
 *
 * and costs one load and one branch the CPU predicts "not taken" while no trace is recorded.
 * The tracer's functions stay out of line, so the core's fast paths do not grow. Built with
 * -DWEFT_TRACE_COMPILED=0, every hook expands to nothing (the overhead benchmark,
 * bench/trace_overhead.c, compares the two builds).
 */
#ifndef WEFT_RUNTIME_TRACE_HOOKS_H
#define WEFT_RUNTIME_TRACE_HOOKS_H

#include "weft/runtime.h"
#include "weft/trace.h"

/* WEFT__UNLIKELY(x) - x, with a hint that it is almost always false (where the compiler has one).
 */
#if defined(__GNUC__) || defined(__clang__)
#define WEFT__UNLIKELY(x) __builtin_expect(!!(x), 0)
#else
#define WEFT__UNLIKELY(x) (x)
#endif

#if WEFT_TRACE_COMPILED
/* WEFT__TRACE_ON(rt) - true while rt has a tracer (a trace recording, or a signal dump armed). */
#define WEFT__TRACE_ON(rt) WEFT__UNLIKELY((rt)->trace != NULL)
/* WEFT__TRACE(rt, hook, args...) - call weft__trace_<hook>(rt, args...) if rt has a tracer. */
#define WEFT__TRACE(rt, hook, ...)                                                                 \
    do {                                                                                           \
        if (WEFT__TRACE_ON(rt)) weft__trace_##hook((rt), __VA_ARGS__);                             \
    } while (0)
/* WEFT__TRACE_INIT(rt) - at the end of weft_runtime_init: honour WEFT_TRACE, WEFT_DUMP_SIGNAL. */
#define WEFT__TRACE_INIT(rt) weft__trace_init_env(rt)
#else
#define WEFT__TRACE_ON(rt)         0
#define WEFT__TRACE(rt, hook, ...) ((void)0)
#define WEFT__TRACE_INIT(rt)       ((void)0)
#endif

/* The token of the signal dump's eventfd: no weft_io has it (slot UINT32_MAX is never used). */
#define WEFT__TRACE_DUMP_TOKEN UINT64_MAX

/* Reads WEFT_TRACE and WEFT_DUMP_SIGNAL; a failure is reported on stderr and init goes on. */
void weft__trace_init_env(weft_runtime *rt);

/* weft_runtime_close: stop the trace, disarm the signal, free the tracer. Call if rt->trace. */
void weft__trace_close(weft_runtime *rt);

/* --- task.c ------------------------------------------------------------------------------- */

/* t was spawned (it is queued). */
void weft__trace_spawn(weft_runtime *rt, const struct weft__task *t);

/* t is about to be polled (also a cancel's cleanup poll, which may nest in another task's). */
void weft__trace_poll_start(weft_runtime *rt, const struct weft__task *t);

/*
 * t's poll returned result; for WEFT_PENDING the tracer reads the suspension site
 * (weft_co_site_get) and what the poll registered (cx->deadline, the io/join/user notes).
 */
void weft__trace_poll_end(weft_runtime *rt, const struct weft__task *t, int result,
                          const weft_cx *cx);

/* t went from waiting to ready. The cause is the running task, or the event, timer or exit
 * the loop is handling. */
void weft__trace_wake(weft_runtime *rt, const struct weft__task *t);

/* t's timer expired (it is about to be woken by it). */
void weft__trace_timer(weft_runtime *rt, const struct weft__task *t);

/* t is being cancelled (before its cleanup poll). */
void weft__trace_cancel(weft_runtime *rt, const struct weft__task *t);

/* t finished with result (normally, with an error, or -ECANCELED). */
void weft__trace_done(weft_runtime *rt, const struct weft__task *t, int result);

/* The polling task waits in weft_task_join for target. */
void weft__trace_join_wait(weft_runtime *rt, const struct weft__task *target);

/* --- io.c --------------------------------------------------------------------------------- */

/* The polling task parks as the reader (dir 0) or writer (dir 1) of fd. */
void weft__trace_io_wait(weft_runtime *rt, int fd, int dir);

/* --- runtime.c ---------------------------------------------------------------------------- */

/* The loop is about to park for timeout ns (WEFT_POLL_FOREVER: no limit). */
void weft__trace_park_start(weft_runtime *rt, int64_t timeout);

/* The park returned n events (or a -errno). */
void weft__trace_park_end(weft_runtime *rt, int n);

/*
 * One event from the park, before it is dispatched. Returns true if it was the tracer's own
 * (the signal dump's eventfd: the dump has been printed) and must not be dispatched.
 */
bool weft__trace_event(weft_runtime *rt, const weft_event *ev);

#endif
