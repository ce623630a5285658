/*
 * Private to the tracer (trace.c: the recorder; trace_dump.c: the task dump on a signal). The
 * runtime core sees only rt->trace and the hooks of trace_hooks.h.
 */
#ifndef WEFT_RUNTIME_TRACE_INTERNAL_H
#define WEFT_RUNTIME_TRACE_INTERNAL_H

#include "runtime/internal.h"
#include "runtime/trace_hooks.h"

/* Waits one poll can register before the rest go unrecorded (a select over many fds). */
#define WEFT__TRACE_NOTES 4

/* Polls that can nest (a task cancelled inside another task's poll) with their notes kept. */
#define WEFT__TRACE_DEPTH 8

/* What the trace knows about the task in one task slot. */
struct weft__trace_task {
    uint32_t gen;          /* the task's generation: another one in this slot is another task */
    uint32_t id;           /* its number in the trace (its track, "tid"); 0 = not seen yet */
    const char *kind;      /* while waiting: what for ("read", "timer", ...) */
    const char *func;      /* while waiting: the coroutine function it waits in */
    int64_t since;         /* while waiting: when the wait began */
    const char *main_func; /* the function of its longest wait so far: names its track */
    int64_t main_ns;       /* that wait's length */
    uint8_t slice;         /* the slice open on its track (enum in trace.c) */
    uint8_t named;         /* its track's name has been written */
};

/* One thing a poll registered to be woken by: "read fd" 7, "join task" 3, "channel" 12. */
struct weft__trace_note {
    const char *what; /* a string literal */
    uint64_t id;
};

/* The notes of one poll in progress. */
struct weft__trace_poll {
    unsigned n; /* notes made (may exceed WEFT__TRACE_NOTES; the rest are not kept) */
    struct weft__trace_note note[WEFT__TRACE_NOTES];
};

/* Why the loop is waking tasks right now, when no task is running (set by the loop's hooks). */
struct weft__trace_cause {
    uint8_t kind;   /* enum in trace.c: none, event, timer, exit */
    int fd;         /* event: the fd, -1 if its token was stale */
    uint32_t flags; /* event: WEFT_EVENT_* */
    uint32_t task;  /* exit: the id of the task that finished */
};

struct weft__trace {
    /* The recorder (trace.c). out == NULL: not recording. */
    FILE *out;
    bool owns_out;                  /* opened by weft_trace_start: close it at stop */
    int error;                      /* first write error, reported by weft_trace_stop */
    char *buf;                      /* events not yet written */
    size_t len;                     /* bytes in buf */
    int64_t t0;                     /* the trace's time zero (CLOCK_MONOTONIC ns) */
    long pid;                       /* the "pid" of every event */
    uint32_t next_id;               /* the next task's number */
    struct weft__trace_task *tasks; /* indexed by task slot */
    uint32_t ntasks;                /* entries allocated in tasks */
    struct weft__trace_poll polls[WEFT__TRACE_DEPTH]; /* notes of the polls in progress */
    unsigned depth;                                   /* polls in progress */
    struct weft__trace_cause cause;

    /* The signal dump (trace_dump.c). */
    int dump_signo;     /* the signal that dumps rt's tasks, 0 = none */
    unsigned dump_seen; /* the process's signal count when rt last dumped or armed */
};

/* rt's tracer, allocating an idle one (nothing recorded, no signal) if there is none. */
struct weft__trace *weft__trace_get(weft_runtime *rt);

/* Frees rt's tracer if it does nothing any more (no trace, no signal). */
void weft__trace_put(weft_runtime *rt);

/* trace_dump.c: the dump's event came in: print the tasks. */
void weft__trace_dump_now(weft_runtime *rt);

/* trace_dump.c: parse WEFT_DUMP_SIGNAL and arm it. */
void weft__trace_dump_env(weft_runtime *rt);

#endif
