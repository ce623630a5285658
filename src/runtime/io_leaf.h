/*
 * The leaf-operation protocol of weft/runtime.h section 7, for the runtime's own stream
 * operations (tcp.c), with the I/O record looked up once per attempt.
 *
 * The public protocol names the resource by its handle at each step: weft_io_ready looks the
 * record up, and weft_io_wait looks it up again after an EAGAIN. Here the lookup happens once and
 * both steps take the record: the system call in between runs no other code of the runtime, so
 * the record cannot be closed or reused under it. The common case — the fd is ready, the call
 * moves bytes — is inline; parking is not. A short transfer clears the readiness bit on the same
 * record (weft__io_drained_at), as weft_io_drained does after its own lookup.
 *
 * weft_io_ready and weft_io_wait (io.c) are these same steps behind a lookup, so the two forms
 * cannot drift apart.
 */
#ifndef WEFT_RUNTIME_IO_LEAF_H
#define WEFT_RUNTIME_IO_LEAF_H

#include <assert.h>
#include <errno.h>
#include <sys/types.h>

#include "runtime/internal.h"
#include "weft/addr.h"

/* The record a handle names, or NULL if it was closed (or the handle is stale). A handle that was
 * never opened, or was closed, needs no test of its own: its generation is 0 or one its record has
 * moved past, and no record's generation is ever 0. */
static inline struct weft__io *weft__io_lookup(const weft_runtime *rt, const weft_io *io)
{
    if (io->slot >= weft__table_cap(&rt->ios)) return NULL;
    struct weft__io *rec = weft__table_at(&rt->ios, sizeof(struct weft__io), io->slot);
    if (!rec->open || rec->gen != io->gen) return NULL;
    return rec;
}

/*
 * The fd a handle names, or WEFT_ECLOSED if it was closed or the handle is stale. For the calls
 * that make one system call on the fd and never wait (shutdown, setsockopt, getsockname): a stale
 * copy of a handle still carries the fd number, which may belong to another socket by now, so
 * only the record can say whether that number is still this handle's.
 */
static inline int weft__io_live_fd(const weft_runtime *rt, const weft_io *io)
{
    const struct weft__io *rec = weft__io_lookup(rt, io);
    return rec != NULL ? rec->u.fd : WEFT_ECLOSED;
}

/* The address of the socket io names (getsockname), or with peer of the other end (getpeername),
 * into *addr. Returns 0, -errno, or WEFT_ECLOSED as weft__io_live_fd (tcp.c; udp.c uses it too). */
int weft__io_sock_addr(const weft_runtime *rt, const weft_io *io, bool peer, weft_addr *addr);

/* Forgets the task as dir's waiter, if it is the one named there: a task woken some other way (its
 * timer) may still be. */
static inline void weft__io_unpark(struct weft__io *rec, weft_io_dir dir, const weft_cx *cx)
{
    if (weft_waker_equal(rec->waiter[dir], cx->waker)) rec->waiter[dir] = WEFT_WAKER_NONE;
}

/* Parks the task as dir's waiter with its deadline (WEFT_PENDING), or reports that the deadline
 * has come (-ETIMEDOUT). The readiness bits are the caller's business. */
int weft__io_park(struct weft__io *rec, weft_io_dir dir, int64_t deadline, weft_cx *cx);

/*
 * weft_io_ready on a looked-up record (NULL: closed). A ready direction has no waiter to forget:
 * a task parks only while dir's bits are clear, and the event that sets them takes the waiter off
 * (weft__io_dispatch), so "ready" and "someone parked" never hold at once.
 */
static inline int weft__io_ready_at(struct weft__io *rec, weft_io_dir dir, int64_t deadline,
                                    weft_cx *cx)
{
    if (rec == NULL) return WEFT_ECLOSED;
    if (!(rec->ready & WEFT__IO_ANY(dir))) return weft__io_park(rec, dir, deadline, cx);
    assert(rec->waiter[dir].gen == 0);
    if (cx->budget == 0) return weft_cx_budget_take(cx); /* spent: queued again, PENDING */
    cx->budget--;
    return 0;
}

/* weft_io_wait on a looked-up record (NULL: closed). */
static inline int weft__io_wait_at(struct weft__io *rec, weft_io_dir dir, int64_t deadline,
                                   weft_cx *cx)
{
    if (rec == NULL) return WEFT_ECLOSED;
    rec->ready &= (uint8_t)~WEFT__IO_ANY(dir);
    return weft__io_park(rec, dir, deadline, cx);
}

/* weft_io_drained on a looked-up record: dir waits for the next event before it tries again. */
static inline void weft__io_drained_at(struct weft__io *rec, weft_io_dir dir)
{
    rec->ready &= (uint8_t)~WEFT__IO_READY(dir);
}

/*
 * The end of an attempt that got n (or -1 and errno): n >= 0 is the result; EAGAIN parks the
 * task; any other error is -errno. A short stream transfer is the caller's to report, through
 * weft__io_drained_at (see tcp.c).
 */
static inline int weft__io_result_at(struct weft__io *rec, weft_io_dir dir, ssize_t n,
                                     int64_t deadline, weft_cx *cx)
{
    if (n >= 0) return (int)n;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return weft__io_wait_at(rec, dir, deadline, cx);
    return -errno;
}

#endif
