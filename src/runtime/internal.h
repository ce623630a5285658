/*
 * Private declarations shared by the files of src/runtime: the task and I/O records, the tables
 * that hold them, and the few functions one file calls in another.
 *
 * Who owns what. Everything the event loop touches between polls — a task's state, its timer,
 * an fd's readiness and waiters — lives in these runtime-owned records, never in a coroutine
 * frame. An event or an expired timer therefore never follows a pointer into memory the user
 * may have freed; the most it can do is wake a task through a generation-checked waker, which
 * does nothing if the task has finished or its slot has been reused.
 */
#ifndef WEFT_RUNTIME_INTERNAL_H
#define WEFT_RUNTIME_INTERNAL_H

#include "weft/runtime.h"
#include "runtime/timerq.h"
#include "runtime/trace_hooks.h"

/* Records per table chunk. A chunk is allocated whole, so records never move. */
#define WEFT__CHUNK 256u

/* The largest slot count a table may reach; slot + 1 must fit in a uint32_t. */
#define WEFT__MAX_SLOTS (UINT32_MAX - WEFT__CHUNK)

/* ---------------------------------------------------------------------------------------------
 * Tables (table.c)
 * ------------------------------------------------------------------------------------------- */

/* The record at `slot`; slot must be below weft__table_cap(). */
static inline void *weft__table_at(const struct weft__table *t, size_t size, uint32_t slot)
{
    return (char *)t->chunks[slot / WEFT__CHUNK] + (size_t)(slot % WEFT__CHUNK) * size;
}

/* Number of slots allocated (used or free). */
static inline uint32_t weft__table_cap(const struct weft__table *t)
{
    return t->nchunks * WEFT__CHUNK;
}

/*
 * Adds one zeroed chunk of records of `size` bytes. Returns the first new slot, or -ENOMEM.
 * The caller threads the new records onto its free list.
 */
int64_t weft__table_grow(struct weft__table *t, size_t size);

/* Frees every chunk. */
void weft__table_free(struct weft__table *t);

/* ---------------------------------------------------------------------------------------------
 * Tasks (task.c)
 * ------------------------------------------------------------------------------------------- */

/* A task record's state; FREE plus the public weft_task_state values. */
enum {
    WEFT__TASK_FREE = 0,
    WEFT__TASK_READY = WEFT_TASK_READY,
    WEFT__TASK_RUNNING = WEFT_TASK_RUNNING,
    WEFT__TASK_WAITING = WEFT_TASK_WAITING,
    WEFT__TASK_DONE = WEFT_TASK_DONE,
};

/* A task record's flags. */
enum {
    WEFT__TASK_QUEUED = 1u << 0,     /* DONE but still in the ready queue: cancelled while READY
                                        (a READY record is always queued; the flag is only needed
                                        once the state no longer says so) */
    WEFT__TASK_WOKEN = 1u << 1,      /* woken while RUNNING: queue again when the poll returns */
    WEFT__TASK_DETACHED = 1u << 2,   /* free the record as soon as it is DONE (and not QUEUED) */
    WEFT__TASK_OWNS_FRAME = 1u << 3, /* the runtime allocated the frame: free it at the end */
    WEFT__TASK_CANCEL = 1u << 4,     /* cancelled during its own poll: cancel when it returns */
    WEFT__TASK_SOLO = 1u << 5,       /* it holds a wait queue's fast slot (ext.h) */
    WEFT__TASK_NODES = 1u << 6,      /* it may hold wait queue nodes (ext.h); cleared once a
                                        lapse pass finds none */
    WEFT__TASK_JOINED = 1u << 7,     /* a task waits in weft_task_join for this one: its waker is
                                        rt->joiners[slot] */
};

/*
 * weft_cx.flags, beside WEFT__CX_YIELD: the task renewed (or took) its fast slot in this poll.
 * The same bit as WEFT__TASK_SOLO, so that "holds a fast slot it did not renew" is one AND of
 * the record's flags with the complement of the poll's.
 */
#define WEFT__CX_RENEWED ((uint32_t)WEFT__TASK_SOLO)
_Static_assert((WEFT__CX_RENEWED & WEFT__CX_YIELD) == 0, "weft_cx flags are distinct bits");

/*
 * One task. Every field is the runtime's; only the frame is the user's. Ordered by size so it
 * packs without holes: 54 bytes of fields, 56 with padding. The per-task overhead beyond the frame
 * is this record (and a 16-byte heap slot while a timer is armed, and, in a program that joins
 * tasks, an 8-byte joiner entry per task slot: rt->joiners, kept apart because detached tasks
 * never need one). bench/weft_tasks measures it as RssAnon growth per live task.
 */
struct weft__task {
    union {
        weft_co_fn fn; /* while unfinished: the coroutine */
        int result;    /* once DONE: its result (the function is no longer needed) */
    } u;
    void *frame;              /* its frame; first member a weft_co. NULL once released */
    weft__timer timer;        /* the task's one timer: the earliest deadline it waits for */
    const weft_co_site *site; /* where it last suspended (static, from the coro layer), or NULL */
    union {
        weft_waker self; /* {slot, gen}, laid out as a waker: each poll's cx->waker is one copy */
        struct {
            uint32_t slot; /* this record's own index (a timer leads back to its task) */
            uint32_t gen;  /* generation: bumped when the record is freed; never 0 */
        };
    };
    uint32_t next; /* slot + 1: ready queue link (ends at rt->ready_tail), free list (0 = end) */
    uint8_t state; /* WEFT__TASK_* */
    uint8_t flags; /* WEFT__TASK_* flags */
};

_Static_assert(sizeof(struct weft__task) <= 56, "a task record is 56 bytes");

/* The task record at slot. */
static inline struct weft__task *weft__task_at(const weft_runtime *rt, uint32_t slot)
{
    return weft__table_at(&rt->tasks, sizeof(struct weft__task), slot);
}

/* The record a handle names, or NULL if the handle is stale or the record free. */
struct weft__task *weft__task_lookup(const weft_runtime *rt, uint32_t slot, uint32_t gen);

/* Makes a task runnable (the body of weft_waker_wake, once the waker is resolved). */
void weft__task_wake(weft_runtime *rt, struct weft__task *t);

/*
 * Polls ready tasks in FIFO order until none is ready, `max` polls were made, or rt->stop is set.
 * Only while no poll is running (rt->running is NULL). Returns the number of polls. (The
 * executor's inner loop: it lives next to the task records so that taking a task off the queue
 * and polling it compile into one function.)
 */
size_t weft__tasks_run_ready(weft_runtime *rt, size_t max);

/* Cancels every unfinished task (weft_runtime_close). Returns how many there were. */
size_t weft__task_cancel_all(weft_runtime *rt);

/* Wakes the task whose timer this is (an expired timer popped from the queue). */
void weft__task_timer_fired(weft_runtime *rt, weft__timer *timer);

/* ---------------------------------------------------------------------------------------------
 * weft_timers (timer.c): a queue of their own, rt->callouts, so that the loop can tell them from
 * task timers without a tag and the task path is untouched.
 * ------------------------------------------------------------------------------------------- */

/*
 * Fires the weft_timers due at rt->now, in deadline order, except those started during this very
 * pass (by a callback): they wait for the next one, so the pass is bounded. Returns how many fired.
 */
size_t weft__callouts_fire(weft_runtime *rt);

/* Started weft_timers. O(1). */
static inline size_t weft__callouts_len(const weft_runtime *rt)
{
    return rt->callouts != NULL ? weft__timerq_len(rt->callouts) : 0;
}

/* The earliest deadline of a started weft_timer, or -1 if none is started. O(1). */
static inline int64_t weft__callouts_next(const weft_runtime *rt)
{
    return rt->callouts != NULL ? weft__timerq_next(rt->callouts) : -1;
}

/*
 * Stops every started weft_timer without firing it and frees the queue (weft_runtime_close).
 * Returns how many were started.
 */
size_t weft__callouts_close(weft_runtime *rt);

/* ---------------------------------------------------------------------------------------------
 * I/O resources (io.c)
 * ------------------------------------------------------------------------------------------- */

/*
 * Readiness bits of an I/O record, two per weft_io_dir: READY ("data / room was reported"),
 * cleared by EAGAIN and by weft_io_drained; and CLOSED ("hang-up or error was reported"), cleared
 * only by EAGAIN. CLOSED must outlive weft_io_drained: a FIN is reported once, and a short read
 * that takes the last bytes before it must not make the next read wait for an event that will
 * never come.
 */
#define WEFT__IO_READY(dir)  (1u << (dir))
#define WEFT__IO_CLOSED(dir) (4u << (dir))
#define WEFT__IO_ANY(dir)    (WEFT__IO_READY(dir) | WEFT__IO_CLOSED(dir))

/* One registered fd. 28 bytes. */
struct weft__io {
    weft_waker waiter[2]; /* the task parked on each direction, or WEFT_WAKER_NONE */
    uint32_t gen;         /* generation: bumped on close; part of the poll token; never 0 */
    union {
        int fd;             /* while open */
        uint32_t next_free; /* while free: free list link (slot + 1) */
    } u;
    uint8_t ready; /* WEFT__IO_READY and WEFT__IO_CLOSED bits: last known readiness */
    uint8_t open;  /* 1 while open */
};

/* Routes one poll event to the I/O record its token names (stale tokens are dropped). */
void weft__io_dispatch(weft_runtime *rt, const weft_event *ev);

/* Closes every open I/O record and its fd (weft_runtime_close). Returns how many there were. */
size_t weft__io_close_all(weft_runtime *rt);

/* Number of live waiters parked on I/O records. O(number of records). */
size_t weft__io_count_waiting(const weft_runtime *rt);

/* ---------------------------------------------------------------------------------------------
 * Addresses (addr.c)
 * ------------------------------------------------------------------------------------------- */

/* "0".."65535": one to five decimal digits and nothing else, as weft_addr_parse takes a port
 * (the resolver checks a port number by the same rule). Returns the port or WEFT_EADDR. */
int weft__port_parse(const char *s);

/* ---------------------------------------------------------------------------------------------
 * Breadth hooks (ext.c): wait queues, the cross-thread inbox, the blocking pool. Each is called
 * only when rt->ext != NULL. See src/runtime/ext.h and /work/notes/breadth-needs.md.
 * ------------------------------------------------------------------------------------------- */

/* (After a task's pending poll, its unrenewed waits lapse: weft__waitq_lapse in ext.h, called
 * by task.c only when the record's WEFT__TASK_SOLO / WEFT__TASK_NODES flags say there may be
 * some.) */

/* A task finished (or was cancelled): drop all its waits, passing on the turns they held. */
void weft__ext_task_done(weft_runtime *rt, uint32_t task_slot);

/* Handles ev if it is the inbox's (cross-thread wake-ups). Returns true if it was. */
bool weft__ext_dispatch(weft_runtime *rt, const weft_event *ev);

/* True if something outside the loop (another thread, a pool job) may still wake it. */
bool weft__ext_keepalive(const weft_runtime *rt);

/* Releases the extension (joins pool threads). Returns how many objects were left open. */
size_t weft__ext_close(weft_runtime *rt);

#endif
