/*
 * weft/signal.h — awaiting Unix signals (SIGINT, SIGTERM, SIGHUP, ...) like any other event.
 *
 *     const int sigs[] = {SIGINT, SIGTERM};
 *     weft_signal sig;
 *     weft_signal_open(rt, &sig, sigs, 2);               // on the runtime's thread
 *     ...  WEFT_AWAIT(&f->co, f->signo = weft_signal_wait(&sig, cx));
 *          printf("got %s, shutting down\n", strsignal(f->signo));
 *     weft_signal_close(rt, &sig);
 *
 * A signal handler may run at any instruction and may call almost nothing. Instead, the signals
 * are blocked — so they stay pending rather than interrupting anything — and read from a
 * signalfd, an fd that becomes readable when one of them is pending. That fd is a weft_io like a
 * socket: waiting for a signal is waiting for it to become readable, and selecting over a signal
 * and a socket (weft/select.h) needs nothing special.
 *
 * THE SIGNAL MASK. weft_signal_open blocks its signals in the calling thread (the runtime's);
 * weft_signal_close unblocks exactly those it blocked, once no other open weft_signal of this
 * thread still needs them, so the mask is as it was before. Instances that arrived and were
 * never awaited are discarded first: unblocking them would otherwise run their default action
 * (for SIGINT, SIGTERM, SIGHUP: terminate the process).
 *
 * THREADS. A signal sent to the process (kill, Ctrl-C) goes to any one thread that does not
 * block it. The blocking pool's threads (weft/blocking.h) block every signal; other threads the
 * program creates must block these signals too — or be created after weft_signal_open, since a
 * new thread inherits its creator's mask — or they may take the signal instead.
 *
 * ONE WAITER. Like every weft_io, one task waits on a weft_signal at a time; each delivered
 * signal wakes that task and is returned once. Two weft_signal objects for the same signal
 * compete: each instance goes to whichever reads first.
 */
#ifndef WEFT_SIGNAL_H
#define WEFT_SIGNAL_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "weft/runtime.h"

#ifdef __cplusplus
extern "C" {
#endif

/* weft_signal - a set of signals to await. Caller-allocated; fields are private. */
typedef struct weft_signal {
    weft_io io;    /* the signalfd */
    uint64_t mask; /* bit signo - 1 for each signal it receives (Linux numbers them 1..64) */
    uint64_t id;   /* this open among the thread's open signals (signal.c); 0: not open */
} weft_signal;

/*
 * weft_signal_open - start receiving `signals` (n of them) through s, blocking them in the
 * calling thread. Call on the runtime's thread.
 * Returns 0, or -EINVAL (n == 0, NULL, a number that is not a signal, SIGKILL or SIGSTOP, which
 * cannot be caught), -ENOMEM, or -errno from signalfd or the registration; nothing is changed then.
 */
int weft_signal_open(weft_runtime *rt, weft_signal *s, const int *signals, size_t n);

/*
 * weft_signal_wait_dl - wait until one of s's signals is delivered, and take it.
 * May return WEFT_PENDING. Returns the signal number (> 0). Fails with -ETIMEDOUT, WEFT_ECLOSED
 * (s was closed, by another task for instance), -errno.
 */
int weft_signal_wait_dl(weft_signal *s, int64_t deadline, weft_cx *cx);

/* weft_signal_wait - weft_signal_wait_dl with no deadline. */
static inline int weft_signal_wait(weft_signal *s, weft_cx *cx)
{
    return weft_signal_wait_dl(s, WEFT_NO_DEADLINE, cx);
}

/*
 * weft_signal_close - stop receiving: close the signalfd (a waiting task sees WEFT_ECLOSED),
 * discard pending instances of the signals this object blocked, and unblock them (see THE SIGNAL
 * MASK above). Call on the thread that opened s. Returns 0, or WEFT_ECLOSED if s is not open:
 * never opened, closed already, or a copy of a handle that was closed through another copy (even
 * if a newer weft_signal now has the same fd or the same signals) — nothing at all is done then,
 * so the mask and every other weft_signal stay as they were. Never suspends.
 * After weft_runtime_close(rt), which closed the fd already, closing s still restores the mask
 * (exactly once, like any close) and returns 0; do it before rt is initialised again.
 */
int weft_signal_close(weft_runtime *rt, weft_signal *s);

#ifdef __cplusplus
}
#endif

#endif /* WEFT_SIGNAL_H */
