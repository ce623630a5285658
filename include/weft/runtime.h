/*
 * weft/runtime.h — the runtime: an executor that runs tasks, a reactor that turns poll events
 * into wake-ups, timers, and the I/O-resource API that sockets are built on.
 *
 * The whole design in one sentence: a single-threaded executor runs the tasks that are ready,
 * then parks in the poll layer (weft/poll.h) until the next timer deadline, then resumes exactly
 * the tasks whose tokens came back in the events and whose timers expired.
 *
 *     weft_runtime rt;
 *     weft_runtime_init(&rt);
 *     int result = weft_runtime_block_on(&rt, main_task, &main_frame);
 *     weft_runtime_close(&rt);
 *
 * THE PIECES.
 *   - A task is a coroutine (weft/coro.h) plus a small record in the runtime: its state, its
 *     timer, who is joining it. Its frame is memory the caller provides, or a zeroed block the
 *     runtime allocates and frees. The frame's first member must be its weft_co.
 *   - A waker ({task slot, generation}, 8 bytes, copy it freely) makes a task runnable again.
 *     Waking a finished task does nothing; waking a task that is already queued queues it once.
 *   - A weft_io is an fd registered once with the poll layer for readable and writable,
 *     edge-triggered. The runtime remembers what the fd was last known to be ready for; a leaf
 *     operation (weft_tcp_read, say) tries the system call first and suspends only when it says
 *     EAGAIN. Reader and writer of one fd wait and wake separately.
 *   - A weft_timer (weft/timer.h) is a deadline without a task: caller-allocated, it calls a
 *     function (or wakes a task) when it fires. The counterpart of libuv's uv_timer_t.
 *   - Deadlines are absolute CLOCK_MONOTONIC nanoseconds (weft_time_now()). A wait never ends
 *     early: a sleep returns, and an I/O wait fails with -ETIMEDOUT, only once the clock has
 *     reached the deadline. Resolution is the poll layer's (nanoseconds, epoll_pwait2).
 *
 * RULES OF THE ROAD.
 *   - One thread. Nothing here is thread-safe; wake tasks only from the runtime's own thread.
 *   - Functions that may suspend take the weft_cx last and may return WEFT_PENDING; call them
 *     inside WEFT_AWAIT. Everything else takes the runtime first and never returns WEFT_PENDING.
 *   - Spurious wake-ups happen (a combinator polls all its children; a waker may be stale). Every
 *     leaf operation here tolerates being polled without having been woken.
 *   - Cancellation is safe even without a WEFT_ON_CANCEL block: the runtime owns every wait
 *     record (the task's timer lives in the task record; an fd's waiter slots live in the fd's
 *     record and hold generation-checked wakers), so nothing it keeps points into a frame. What a
 *     cleanup block is still needed for is releasing what the coroutine itself opened.
 *   - SIGPIPE: the runtime changes no process-wide signal disposition. Socket code must write
 *     with send(..., MSG_NOSIGNAL) (weft_tcp does); for pipes, block or ignore SIGPIPE yourself.
 *
 * Contents, in reading order:
 *   1. Time and deadlines        4. Waking tasks           7. Writing leaf operations
 *   2. The runtime               5. Sleeping               8. Introspection
 *   3. Tasks                     6. I/O resources
 */
#ifndef WEFT_RUNTIME_H
#define WEFT_RUNTIME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "weft/coro.h"
#include "weft/error.h"
#include "weft/poll.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ============================================================================================
 * 1. Time and deadlines
 * ========================================================================================== */

/* WEFT_USEC(n), WEFT_MSEC(n), WEFT_SEC(n) - n micro-, milli- or seconds as a duration in
 * nanoseconds (int64_t), the unit of every deadline and timeout in weft. Constant expressions
 * when n is; n is evaluated once; no overflow check (WEFT_SEC overflows past about 292 years). */
#define WEFT_USEC(n) ((int64_t)(n)*1000)
#define WEFT_MSEC(n) ((int64_t)(n)*1000000)
#define WEFT_SEC(n)  ((int64_t)(n)*1000000000)

/* WEFT_NO_DEADLINE - a deadline that never comes: wait as long as it takes. */
#define WEFT_NO_DEADLINE INT64_MAX

/* weft_time_now - CLOCK_MONOTONIC in nanoseconds. Never fails. A vDSO call, no system call. */
int64_t weft_time_now(void);

/*
 * weft_deadline_in - the deadline `ns` nanoseconds from now: weft_time_now() + ns, saturating at
 * WEFT_NO_DEADLINE. A negative ns is treated as 0 (a deadline that has already come).
 */
int64_t weft_deadline_in(int64_t ns);

/* ============================================================================================
 * 2. The runtime
 * ========================================================================================== */

/* weft_waker - wakes one task. {slot, generation}; gen 0 is "no task" (WEFT_WAKER_NONE). */
typedef struct weft_waker {
    uint32_t slot; /* index of the task record */
    uint32_t gen;  /* the record's generation when the waker was made; stale if it differs */
} weft_waker;

/* WEFT_WAKER_NONE - a waker that wakes no task (no task record has generation 0): waking it does
 * nothing and it equals no task's waker. A compound literal: an expression, not a constant. */
#define WEFT_WAKER_NONE ((weft_waker){0, 0})

/* weft_task - a handle to a spawned task, generation-checked like a waker. Copy freely. */
typedef struct weft_task {
    uint32_t slot;
    uint32_t gen;
} weft_task;

/*
 * weft_io - a handle to a registered fd. Lives wherever its owner likes (a frame, a struct).
 * A zeroed weft_io is a closed handle: every function treats it as such (weft_io_close on it
 * returns WEFT_ECLOSED and closes nothing, not even fd 0), so a zeroed frame needs no setup.
 */
typedef struct weft_io {
    uint32_t slot; /* index of the resource record; the poll token is gen << 32 | slot */
    uint32_t gen;  /* the record's generation; a closed or reused record has another */
    int fd;        /* the fd itself, for the system calls; -1 once closed */
} weft_io;

struct weft__task;   /* A task record. Private to src/runtime. */
struct weft__timerq; /* The timer queue (src/runtime/timerq.h). */
struct weft__ext;    /* Wait queues, cross-thread inbox, blocking pool (src/runtime/ext.h). */
struct weft__trace;  /* The trace recorder and signal dump (src/runtime/trace.c). */

/*
 * struct weft__table - a growable array of fixed-size records that never move once allocated
 * (it grows by adding chunks), so a record's address is stable for the runtime's lifetime.
 * Private: the runtime's task and I/O tables.
 */
struct weft__table {
    void **chunks;      /* chunks[i] holds records i*WEFT__CHUNK .. (i+1)*WEFT__CHUNK-1 */
    uint32_t nchunks;   /* chunks allocated */
    uint32_t free_head; /* first free record + 1; 0: none free */
};

/*
 * weft_cx - what a poll of a task gets: the runtime and the task being polled. Leaf operations
 * read it; coroutines just pass it through. Valid only during that poll.
 */
struct weft_cx {
    struct weft_runtime *rt; /* the runtime polling this task */
    struct weft__task *task; /* the task being polled (private) */
    weft_waker waker;        /* wakes the task being polled; copy it to wake it later */
    int64_t deadline;        /* earliest deadline a leaf operation waits for in this poll */
    uint32_t budget;         /* operations this resume may still complete before yielding */
    uint32_t flags;          /* private: what the poll asked of the runtime (WEFT__CX_*), read
                                when it returns; 0 when a poll starts */
};

/*
 * weft_runtime - one executor, its reactor and its timers. The caller allocates it (anywhere:
 * stack, static, heap) and initialises it with weft_runtime_init(). All fields are private.
 */
typedef struct weft_runtime {
    weft_poll poll;                /* the epoll instance */
    weft_events events;            /* the buffer each park fills */
    struct weft__table tasks;      /* task records */
    struct weft__table ios;        /* I/O resource records */
    struct weft__timerq *timers;   /* pending task timers (allocated by init) */
    struct weft__task *ready_head; /* FIFO of runnable tasks (records never move), or NULL */
    struct weft__task *ready_tail; /* the last of them; meaningless while ready_head is NULL */
    size_t ready_len;              /* tasks in the ready queue */
    size_t live_tasks;             /* spawned and not finished */
    size_t done_tasks;             /* finished, result not yet collected */
    size_t io_open;                /* open I/O resources */
    size_t stale_events;           /* events dropped because their token was stale */
    int64_t now;                   /* the clock as last read after a park */
    struct weft__task *running;    /* the task being polled, or NULL */
    struct weft__ext *ext;         /* wait queues, cross-thread inbox, blocking pool; NULL until
                                      the first object that needs them (weft/sync.h) */
    struct weft__trace *trace;     /* trace recorder, signal dump (weft/trace.h); NULL while
                                      both are off: every trace hook tests only this */
    bool stop;                     /* weft_runtime_stop() was called */
    bool closing;                  /* weft_runtime_close() is cancelling what is left */
    /* started weft_timers (weft/timer.h), apart from the task timers; NULL before the first */
    struct weft__timerq *callouts;
    weft_waker *joiners;  /* per task slot: the task joining it, if its record says so; NULL
                             until the first joinable task is spawned */
    uint32_t joiners_cap; /* entries in joiners */
} weft_runtime;

/*
 * weft_runtime_init - prepare rt: an epoll instance, an event buffer, empty tables.
 * Returns 0, or -errno (-ENOMEM, -EMFILE, ...) with nothing left allocated.
 */
int weft_runtime_init(weft_runtime *rt);

/*
 * weft_runtime_close - release rt. Whatever is still alive is released, never leaked: each
 * unfinished task is cancelled (its cleanup block runs, joiners are gone with it), each open
 * weft_io is closed (its fd too), each started weft_timer is stopped without firing (its memory
 * is then the caller's again). Returns 0 if nothing was left, -EBUSY if something had to be
 * cancelled or closed (debug builds also print what to stderr) — rt is released either way.
 * Returns -EBUSY and does nothing when called from inside a task of rt.
 */
int weft_runtime_close(weft_runtime *rt);

/*
 * weft_runtime_block_on - spawn a root task (fn over frame, see weft_task_spawn) and run the
 * loop until it finishes. Other tasks run meanwhile; those still alive when the root finishes
 * stay in rt (weft_runtime_run() continues them, weft_runtime_close() cancels them).
 * Returns the root's result. Also returns -errno if the loop itself fails (the poll layer
 * failed: the root is then cancelled), -EDEADLK if nothing is left that could ever wake the
 * root (no ready task, no timer, no open I/O: the root is cancelled), -EBUSY if called from
 * inside a task, -ENOMEM if the root could not be spawned.
 */
int weft_runtime_block_on(weft_runtime *rt, weft_co_fn fn, void *frame);

/*
 * weft_runtime_run - run the loop until no unfinished task and no started weft_timer
 * (weft/timer.h) is left, or weft_runtime_stop() was called. Returns 0 then; -errno if the poll
 * layer failed; -EDEADLK if tasks remain that nothing can ever wake (they stay suspended: cancel
 * them or close rt); -EBUSY inside a task.
 */
int weft_runtime_run(weft_runtime *rt);

/*
 * The loop in two halves, for programs that drive it themselves (to print what it does, to
 * interleave other work). weft_runtime_run is exactly:
 *
 *     while ((weft_runtime_task_count(rt) > 0 || started weft_timers) && !stopped) {
 *         weft_runtime_run_ready(rt);
 *         if (weft_runtime_task_count(rt) == 0 && no started weft_timer) break;
 *         weft_runtime_park(rt);
 *     }
 */

/*
 * weft_runtime_run_ready - poll ready tasks, oldest first, until none is ready — or until a
 * bounded number of polls (so tasks that keep waking each other still let events and timers in),
 * or a stop. Never blocks. Returns the number of polls; 0 when called from inside a task.
 */
size_t weft_runtime_run_ready(weft_runtime *rt);

/*
 * weft_runtime_park - wait for something to happen, then make the tasks it concerns ready: one
 * weft_poll_wait, with a timeout of 0 if tasks are already ready, else until the next timer
 * deadline, else for ever; then each event wakes the waiter(s) of its fd, each expired task timer
 * its task, and each expired weft_timer (weft/timer.h) fires. Returns 0; -EDEADLK (without
 * waiting) if nothing could ever end the wait (no ready task, no timer, no open I/O resource); the
 * poll layer's -errno; -EBUSY inside a task.
 */
int weft_runtime_park(weft_runtime *rt);

/*
 * weft_runtime_stop - ask weft_runtime_run() to return as soon as the task being polled (if any)
 * returns; meant to be called by a task. Other tasks stay as they are (still queued, still
 * waiting); a later run continues them. Ignored by block_on.
 */
void weft_runtime_stop(weft_runtime *rt);

/* ============================================================================================
 * 3. Tasks
 *
 * A task is spawned queued; it first runs when the loop next runs ready tasks, so the spawner
 * may still fill in the frame after weft_task_spawn returns. A task is either joinable (you got
 * a handle: join it, collect it with weft_task_result, or detach it) or detached (you passed
 * task == NULL, or called weft_task_detach): a detached task's record is freed as it finishes.
 * A joinable task's record (56 bytes, not its frame) stays until its result is collected; once
 * a joinable task has been spawned, the runtime also keeps 8 bytes per task slot for joiners.
 * ========================================================================================== */

/*
 * weft_task_spawn - queue fn(frame, cx) to run as a task.
 *
 * fn: the coroutine, exactly of type weft_co_fn (write `int fn(void *frame, weft_cx *cx)`, or
 *     wrap a typed one with WEFT_CO_FN: calling through a cast pointer is undefined).
 * frame: caller-owned memory whose first member is a weft_co; spawn resets that weft_co to "not
 *     started". It must stay valid until the task finishes (or is cancelled).
 * task: receives the handle; NULL spawns the task detached.
 * Returns 0, or -ENOMEM (nothing spawned), -EINVAL (fn or frame NULL), -ECANCELED (the runtime
 * is closing: a cleanup block tried to spawn). Never suspends.
 */
int weft_task_spawn(weft_runtime *rt, weft_co_fn fn, void *frame, weft_task *task);

/*
 * weft_task_spawn_new - like weft_task_spawn, with a zeroed frame of frame_size bytes that the
 * runtime allocates and frees when the task finishes. Fill in the frame's inputs before the
 * loop next runs. Returns the frame, or NULL if out of memory or frame_size < sizeof(weft_co)
 * (nothing spawned). The frame must not be used after the task finished.
 */
void *weft_task_spawn_new(weft_runtime *rt, weft_co_fn fn, size_t frame_size, weft_task *task);

/*
 * weft_task_join - wait for task t to finish and collect its result (which frees its record and
 * makes t stale). At most one task joins a given task.
 * May return WEFT_PENDING. Returns t's result: what its coroutine returned, or -ECANCELED if it
 * was cancelled. Fails with -ESRCH if t is stale (never spawned, already collected) or detached,
 * -EDEADLK if t is the calling task, -EBUSY if another task is already joining t.
 */
int weft_task_join(weft_task t, weft_cx *cx);

/*
 * weft_task_result - collect the result of a finished task from outside any task (main() after
 * weft_runtime_run, say); frees its record. Returns the result as weft_task_join would, -EAGAIN
 * if t has not finished yet (nothing changes), -ESRCH if t is stale or detached.
 */
int weft_task_result(weft_runtime *rt, weft_task t);

/*
 * weft_task_detach - nobody will collect t's result: free its record as soon as it finishes (at
 * once, if it already has). A task joining t is woken and its join fails with -ESRCH. A stale t
 * is ignored. Never fails.
 */
void weft_task_detach(weft_runtime *rt, weft_task t);

/*
 * weft_task_cancel - stop task t at its current suspension point.
 *
 * If t is suspended (waiting or queued), this runs its cleanup now, inside this call: the
 * coroutine is polled once more after weft_co_cancel (so WEFT_ON_CANCEL blocks run, innermost
 * children first if the coroutines cancel their children). Then its timer and its waits are
 * released, a runtime-allocated frame is freed, and its joiner is woken to see -ECANCELED.
 * A task that has not started yet finishes with -ECANCELED without running at all. A task
 * cancelling itself (or being cancelled during its own poll) is cancelled as soon as that poll
 * returns WEFT_PENDING.
 * Returns 1 if t was cancelled (or will be, see above), 0 if there was nothing to cancel
 * (finished, stale). Never suspends.
 */
int weft_task_cancel(weft_runtime *rt, weft_task t);

/* weft_task_current - the handle of the task being polled. */
static inline weft_task weft_task_current(const weft_cx *cx)
{
    weft_task t = {cx->waker.slot, cx->waker.gen};
    return t;
}

/* ============================================================================================
 * 4. Waking tasks
 * ========================================================================================== */

/* weft_cx_waker - a waker for the task being polled (store it where the wake-up will come). */
static inline weft_waker weft_cx_waker(const weft_cx *cx)
{
    return cx->waker;
}

/*
 * weft_waker_wake - make the task runnable: it goes to the back of the ready queue. Nothing
 * happens if the task finished (or w is stale or WEFT_WAKER_NONE), or is already queued. Waking
 * the task that is being polled queues it again once the poll returns WEFT_PENDING.
 */
void weft_waker_wake(weft_runtime *rt, weft_waker w);

/* weft_waker_equal - true if a and b wake the same task. */
static inline bool weft_waker_equal(weft_waker a, weft_waker b)
{
    return a.slot == b.slot && a.gen == b.gen;
}

/* weft_cx.flags: the poll asked to be queued again at once (WEFT_TASK_YIELD). Private. */
#define WEFT__CX_YIELD 1u

/*
 * WEFT_TASK_YIELD(co, cx) - let every other ready task run, then carry on: queue this task again
 * and suspend. (A bare WEFT_YIELD in a task would wait for a wake-up that nobody sends.) The same
 * as weft_waker_wake(cx->rt, cx->waker) before WEFT_YIELD, without the call: the runtime queues
 * the task again when the poll returns.
 */
#define WEFT_TASK_YIELD(co, cx)                                                                    \
    do {                                                                                           \
        (cx)->flags |= WEFT__CX_YIELD;                                                             \
        WEFT_YIELD(co);                                                                            \
    } while (0)

/* ============================================================================================
 * 5. Sleeping
 * ========================================================================================== */

/*
 * weft_sleep_until - wait until the clock reaches deadline (absolute, CLOCK_MONOTONIC ns).
 * May return WEFT_PENDING. Returns 0 once weft_time_now() >= deadline — never earlier.
 * A deadline already past returns 0 at once.
 */
int weft_sleep_until(int64_t deadline, weft_cx *cx);

/*
 * weft_sleep_for - wait ns nanoseconds from the first poll.
 * deadline: caller storage in the frame that carries the wake time across polls; it must be 0
 * before the first poll (frames usually start zeroed) and is reset to 0 when the sleep returns,
 * so it can be used again. May return WEFT_PENDING. Returns 0 once the time has passed.
 *
 *     WEFT_AWAIT(&f->co, weft_sleep_for(&f->wake, WEFT_MSEC(10), cx));
 */
int weft_sleep_for(int64_t *deadline, int64_t ns, weft_cx *cx);

/* ============================================================================================
 * 6. I/O resources
 *
 * A weft_io wraps one non-blocking fd (a socket, a pipe end, an eventfd). weft_io_open registers
 * it with the poll layer once, for readable and writable, edge-triggered; that is the only
 * epoll_ctl of its life (closing the fd removes it from epoll). The token is the record's slot
 * and generation, so an event that arrives for a closed fd whose slot was reused is recognised
 * as stale and dropped. Events set the record's readiness; EAGAIN clears it (weft_io_wait).
 * ========================================================================================== */

/* weft_io_dir - which half of an fd an operation uses. Each half has its own waiter. */
typedef enum weft_io_dir {
    WEFT_IO_READ = 0,  /* readable: recv, read, accept; also woken by hang-up and errors */
    WEFT_IO_WRITE = 1, /* writable: send, write, connect completion; also hang-up and errors */
} weft_io_dir;

/*
 * weft_io_open - take fd into the runtime.
 * fd: an open, non-blocking fd (O_NONBLOCK / SOCK_NONBLOCK; the runtime does not set it).
 * io: receives the handle. On success the weft_io owns fd: weft_io_close closes it.
 * The fd starts out assumed ready both ways, so the first operation tries its system call.
 * Returns 0, or -errno (from epoll_ctl: -EPERM for a regular file, -ENOMEM, ...) with nothing
 * registered and fd still the caller's.
 */
int weft_io_open(weft_runtime *rt, weft_io *io, int fd);

/*
 * weft_io_close - close the fd and free the record. Tasks waiting on it are woken; their next
 * weft_io_ready/weft_io_wait on this resource returns WEFT_ECLOSED. io->fd becomes -1. Closing a
 * stale or already-closed handle returns WEFT_ECLOSED and does nothing.
 * Returns 0 (or the -errno of close(2), other than EINTR; the fd is gone either way).
 */
int weft_io_close(weft_runtime *rt, weft_io *io);

/* weft_io_fd - the fd to pass to system calls (-1 once closed). */
static inline int weft_io_fd(const weft_io *io)
{
    return io->fd;
}

/* ============================================================================================
 * 7. Writing leaf operations
 *
 * A leaf operation is a function that may suspend and does one system call on a weft_io. Every
 * attempt is bracketed by the two calls below; the shape is always the same:
 *
 *     int my_read(weft_io *io, void *buf, size_t len, int64_t deadline, weft_cx *cx)
 *     {
 *         int r = weft_io_ready(io, WEFT_IO_READ, deadline, cx);
 *         if (r != 0) return r;                  // WEFT_PENDING, -ETIMEDOUT, WEFT_ECLOSED
 *         for (;;) {
 *             ssize_t n = read(weft_io_fd(io), buf, len);
 *             if (n > 0 && (size_t)n < len) weft_io_drained(io, WEFT_IO_READ, cx); // optional
 *             if (n >= 0) return (int)n;
 *             if (errno == EINTR) continue;
 *             if (errno != EAGAIN && errno != EWOULDBLOCK) return -errno;
 *             return weft_io_wait(io, WEFT_IO_READ, deadline, cx);   // WEFT_PENDING
 *         }
 *     }
 *
 * It keeps no state between polls, so it can be awaited directly:
 * WEFT_AWAIT(&f->co, f->n = my_read(&f->io, f->buf, sizeof f->buf, f->deadline, cx)).
 *
 * Fairness: every weft_io_ready that lets an attempt go ahead spends one unit of the task's
 * budget for this resume (WEFT_RUNTIME_BUDGET). When it is spent, weft_io_ready queues the task
 * again and returns WEFT_PENDING without touching the fd, so a socket that is always ready
 * cannot keep one task running forever while timers and other sockets wait. Leaf operations
 * that never touch an fd (a channel) call weft_cx_budget_take() instead.
 * ========================================================================================== */

/* Attempts a task may complete in one resume before it is made to yield. */
#define WEFT_RUNTIME_BUDGET 64

/*
 * weft_io_ready - may this attempt try its system call now?
 * Returns 0: go ahead (the fd was last seen ready for dir; one budget unit spent).
 * Returns WEFT_PENDING: not now. Either the fd is not known to be ready (the task is parked as
 *   dir's waiter and, unless deadline is WEFT_NO_DEADLINE, its timer is armed for deadline), or
 *   the budget is spent (the task is queued again). Return it from the leaf operation.
 * Fails with -ETIMEDOUT if the fd is not ready and the deadline has come (the resource stays
 *   usable: nothing was read or written), WEFT_ECLOSED if io was closed. "Has come" is by
 *   weft_cx_now, the clock read at the last park: a deadline that passes during a pass of the
 *   loop is reported when the task's timer wakes it, at the next one.
 * The deadline only bounds waiting: an fd that is ready is tried even after its deadline.
 * "Ready" is what the runtime last saw: an fd whose readiness was reported by an event (or assumed
 * by weft_io_open) and not yet consumed by EAGAIN (weft_io_wait) or a short transfer
 * (weft_io_drained). Events are collected only when the loop parks, so an fd that became ready
 * after its last EAGAIN but before the next park counts as not ready: past its deadline, that is
 * -ETIMEDOUT without an attempt.
 */
int weft_io_ready(weft_io *io, weft_io_dir dir, int64_t deadline, weft_cx *cx);

/*
 * weft_io_wait - the system call said EAGAIN: forget that the fd was ready for dir, park the
 * task as dir's waiter until an event says it is ready again, and arm the deadline.
 * Returns WEFT_PENDING; or -ETIMEDOUT if the deadline has already come (by weft_cx_now, as for
 * weft_io_ready); WEFT_ECLOSED if io was closed. Never returns 0. One waiter per direction: a
 * second task waiting on the same half of the same fd replaces the first (which is then not woken
 * by this fd).
 */
int weft_io_wait(weft_io *io, weft_io_dir dir, int64_t deadline, weft_cx *cx);

/*
 * weft_io_drained - the system call moved fewer bytes than asked (a short read or write on a
 * stream socket or pipe): the kernel buffer was emptied (read) or filled (write) at that moment,
 * so the next attempt in this direction would only get EAGAIN. Forget the readiness now, and the
 * next weft_io_ready waits for an event instead of making that system call. Hang-up and error
 * readiness is kept (a FIN reported before the short read still lets the next read see EOF).
 * Optional — an optimisation that saves one system call per exchange. Not for datagram sockets
 * or for calls that stop early by request (MSG_PEEK, a buffer smaller than what is queued).
 */
void weft_io_drained(weft_io *io, weft_io_dir dir, weft_cx *cx);

/*
 * weft_cx_budget_take - spend one unit of this resume's budget. Returns 0 (go on) or, once the
 * budget is spent, queues the task again and returns WEFT_PENDING (return it; the operation is
 * retried after other tasks, timers and events had their turn).
 */
int weft_cx_budget_take(weft_cx *cx);

/*
 * weft_cx_want_deadline - for leaf operations that wait on something other than a weft_io: make
 * sure the task is woken no later than deadline (absolute ns). Only the deadlines asked for in
 * the latest poll count: the runtime arms the task's one timer for the earliest of them after
 * the poll, and disarms it if none was asked for. WEFT_NO_DEADLINE does nothing.
 */
static inline void weft_cx_want_deadline(weft_cx *cx, int64_t deadline)
{
    if (deadline < cx->deadline) cx->deadline = deadline;
}

/*
 * weft_cx_now - the runtime's clock as read after its last park: a cheap "now" for checking
 * deadlines. It lags the real clock, so `weft_cx_now(cx) >= deadline` never fires early.
 * Inline: it is one load, and clients read it several times per request.
 */
static inline int64_t weft_cx_now(const weft_cx *cx)
{
    return cx->rt->now;
}

/* ============================================================================================
 * 8. Introspection
 * ========================================================================================== */

/* weft_task_state - where a task is in its life. */
typedef enum weft_task_state {
    WEFT_TASK_READY = 1, /* queued to run */
    WEFT_TASK_RUNNING,   /* being polled right now */
    WEFT_TASK_WAITING,   /* suspended until a waker, an event or its timer */
    WEFT_TASK_DONE,      /* finished; its result is waiting to be collected */
} weft_task_state;

/* weft_task_info - what weft_task_inspect reports about one task. */
typedef struct weft_task_info {
    weft_task_state state;
    const char *file; /* where it last suspended (weft_co_site), or NULL if it never did */
    int line;
    int result;       /* valid when state == WEFT_TASK_DONE */
    int64_t deadline; /* its armed timer, or WEFT_NO_DEADLINE */
} weft_task_info;

/* weft_task_inspect - fill info for task t. Returns 0, or -ESRCH if t is stale. */
int weft_task_inspect(const weft_runtime *rt, weft_task t, weft_task_info *info);

/* weft_runtime_stats - counts, for monitoring and for leak checks in tests. */
typedef struct weft_runtime_stats {
    size_t tasks;        /* spawned, not finished */
    size_t done;         /* finished, result not yet collected */
    size_t ready;        /* in the ready queue */
    size_t io_open;      /* open weft_io resources (registrations with the poll layer) */
    size_t io_waiting;   /* tasks parked as an fd's reader or writer */
    size_t timers;       /* armed task timers plus started weft_timers (weft/timer.h) */
    size_t stale_events; /* events dropped since init: their fd was closed (token stale) */
    size_t task_bytes;   /* bytes of one task record (per-task overhead beyond its frame) */
    size_t io_bytes;     /* bytes of one I/O resource record */
} weft_runtime_stats;

/* weft_runtime_get_stats - fill st. O(number of I/O records) for io_waiting, O(1) otherwise. */
void weft_runtime_get_stats(const weft_runtime *rt, weft_runtime_stats *st);

/* weft_runtime_task_count - unfinished tasks (spawned, not yet finished). O(1). */
size_t weft_runtime_task_count(const weft_runtime *rt);

/*
 * weft_runtime_dump - write one line per task to out: slot.generation, state, and the file:line
 * where it is suspended; then a line of totals. For debugging a stuck program. Returns the
 * number of tasks listed.
 */
size_t weft_runtime_dump(const weft_runtime *rt, FILE *out);

#ifdef __cplusplus
}
#endif

#endif /* WEFT_RUNTIME_H */
