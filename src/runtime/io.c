/*
 * The reactor: I/O resources, and how poll events become wake-ups.
 *
 * Each open fd has a record in the runtime's I/O table. It is registered with the poll layer
 * once, in weft_io_open, for readable and writable, edge-triggered, with the token
 * (generation << 32 | slot). After that the runtime never calls epoll_ctl for it again:
 *
 *   - an event sets the record's readiness bits and wakes the task parked on that direction;
 *   - a leaf operation tries its system call while the bit is set (weft_io_ready), and clears it
 *     when the call says EAGAIN (weft_io_wait), parking itself as that direction's waiter.
 *
 * That is the edge-triggered contract of weft/poll.h turned into state: a bit is cleared only
 * when the kernel has said there is nothing left, so no edge can be lost between "the kernel said
 * ready" and "we tried". A short read or write on a stream says the same thing one system call
 * earlier (the buffer was emptied, or filled): the bit is cleared then (weft_io_drained), which
 * saves the EAGAIN call a request/response exchange would otherwise make every time. It is safe
 * because a socket's edge-triggered registration reports every arrival, not only
 * empty-to-non-empty.
 *
 * Closing does not deregister: close(2) removes the fd from the epoll set, and saves a system
 * call per connection. If the file outlives the fd (a dup, a fork), epoll keeps reporting it under
 * the old token; the generation in that token no longer matches the record, so the event is
 * dropped here and never wakes whoever uses the slot now.
 */
#include "runtime/io_leaf.h"

#include <errno.h>
#include <unistd.h>

static struct weft__io *io_at(const weft_runtime *rt, uint32_t slot)
{
    return weft__table_at(&rt->ios, sizeof(struct weft__io), slot);
}

/* Takes a free record, growing the table if needed. Returns its slot, or -ENOMEM. */
static int64_t io_alloc(weft_runtime *rt)
{
    if (rt->ios.free_head == 0) {
        int64_t first = weft__table_grow(&rt->ios, sizeof(struct weft__io));
        if (first < 0) return first;
        for (uint32_t i = WEFT__CHUNK; i-- > 0;) {
            struct weft__io *rec = io_at(rt, (uint32_t)first + i);
            rec->gen = 1;
            rec->u.next_free = rt->ios.free_head;
            rt->ios.free_head = (uint32_t)first + i + 1;
        }
    }
    uint32_t slot = rt->ios.free_head - 1;
    rt->ios.free_head = io_at(rt, slot)->u.next_free;
    return slot;
}

/* Returns a record to the free list; its generation moves on so old handles and tokens go stale. */
static void io_free(weft_runtime *rt, struct weft__io *rec, uint32_t slot)
{
    rec->open = 0;
    rec->gen = rec->gen == UINT32_MAX ? 1 : rec->gen + 1;
    rec->waiter[WEFT_IO_READ] = WEFT_WAKER_NONE;
    rec->waiter[WEFT_IO_WRITE] = WEFT_WAKER_NONE;
    rec->u.next_free = rt->ios.free_head;
    rt->ios.free_head = slot + 1;
}

int weft_io_open(weft_runtime *rt, weft_io *io, int fd)
{
    if (fd < 0) return -EBADF;
    int64_t slot = io_alloc(rt);
    if (slot < 0) return (int)slot;
    struct weft__io *rec = io_at(rt, (uint32_t)slot);
    weft_token token = (uint64_t)rec->gen << 32 | (uint64_t)slot;
    int r =
        weft_poll_register(&rt->poll, fd, token, WEFT_INTEREST_READABLE | WEFT_INTEREST_WRITABLE);
    if (r < 0) {
        rec->u.next_free = rt->ios.free_head;
        rt->ios.free_head = (uint32_t)slot + 1;
        return r;
    }
    rec->u.fd = fd;
    rec->open = 1;
    rec->ready = WEFT__IO_READY(WEFT_IO_READ) | WEFT__IO_READY(WEFT_IO_WRITE);
    rec->waiter[WEFT_IO_READ] = WEFT_WAKER_NONE;
    rec->waiter[WEFT_IO_WRITE] = WEFT_WAKER_NONE;
    rt->io_open++;
    io->slot = (uint32_t)slot;
    io->gen = rec->gen;
    io->fd = fd;
    return 0;
}

/* Wakes both waiters of rec (each wake-up makes its task retry and find the record closed). */
static void wake_waiters(weft_runtime *rt, struct weft__io *rec)
{
    weft_waker rd = rec->waiter[WEFT_IO_READ];
    weft_waker wr = rec->waiter[WEFT_IO_WRITE];
    rec->waiter[WEFT_IO_READ] = WEFT_WAKER_NONE;
    rec->waiter[WEFT_IO_WRITE] = WEFT_WAKER_NONE;
    weft_waker_wake(rt, rd);
    weft_waker_wake(rt, wr);
}

int weft_io_close(weft_runtime *rt, weft_io *io)
{
    struct weft__io *rec = weft__io_lookup(rt, io);
    if (rec == NULL) return WEFT_ECLOSED;
    int fd = rec->u.fd;
    wake_waiters(rt, rec);
    io_free(rt, rec, io->slot);
    rt->io_open--;
    io->fd = -1;
    if (close(fd) < 0 && errno != EINTR) return -errno;
    return 0;
}

size_t weft__io_close_all(weft_runtime *rt)
{
    size_t n = 0;
    uint32_t cap = weft__table_cap(&rt->ios);
    for (uint32_t slot = 0; slot < cap; slot++) {
        struct weft__io *rec = io_at(rt, slot);
        if (!rec->open) continue;
        int fd = rec->u.fd;
        io_free(rt, rec, slot);
        rt->io_open--;
        (void)close(fd);
        n++;
    }
    return n;
}

/*
 * What an event tells about each direction; hang-ups and errors count for both. The readiness bits
 * are the event's flags where they line up (readable, writable) and shifted where they do not, so
 * this is a few instructions on every event rather than a test per flag.
 */
_Static_assert(WEFT_EVENT_READABLE == WEFT__IO_READY(WEFT_IO_READ) &&
                   WEFT_EVENT_WRITABLE == WEFT__IO_READY(WEFT_IO_WRITE),
               "readable and writable are the same bits in events and records");
_Static_assert(WEFT_EVENT_READ_CLOSED >> 1 == WEFT__IO_CLOSED(WEFT_IO_READ) &&
                   WEFT_EVENT_WRITE_CLOSED >> 1 == WEFT__IO_CLOSED(WEFT_IO_WRITE),
               "the closed bits of a record are the event's, one place lower");
static unsigned event_ready_bits(uint32_t flags)
{
    unsigned ready = flags & (WEFT_EVENT_READABLE | WEFT_EVENT_WRITABLE);
    unsigned closed = (flags & (WEFT_EVENT_READ_CLOSED | WEFT_EVENT_WRITE_CLOSED)) >> 1;
    if (flags & WEFT_EVENT_ERROR)
        closed = WEFT__IO_CLOSED(WEFT_IO_READ) | WEFT__IO_CLOSED(WEFT_IO_WRITE);
    return ready | closed;
}

/* Wakes the task parked on dir, if there is one (an edge on the other half, usually, has none). */
static inline void wake_parked(weft_runtime *rt, struct weft__io *rec, weft_io_dir dir)
{
    weft_waker w = rec->waiter[dir];
    if (w.gen == 0) return;
    rec->waiter[dir] = WEFT_WAKER_NONE;
    weft_waker_wake(rt, w);
}

void weft__io_dispatch(weft_runtime *rt, const weft_event *ev)
{
    uint32_t slot = (uint32_t)ev->token;
    uint32_t gen = (uint32_t)(ev->token >> 32);
    struct weft__io *rec = slot < weft__table_cap(&rt->ios) ? io_at(rt, slot) : NULL;
    if (rec == NULL || !rec->open || rec->gen != gen) {
        rt->stale_events++; /* its fd was closed; the slot may belong to another fd now */
        return;
    }
    unsigned bits = event_ready_bits(ev->flags);
    rec->ready |= (uint8_t)bits;
    if (bits & WEFT__IO_ANY(WEFT_IO_READ)) wake_parked(rt, rec, WEFT_IO_READ);
    if (bits & WEFT__IO_ANY(WEFT_IO_WRITE)) wake_parked(rt, rec, WEFT_IO_WRITE);
}

/* ---------------------------------------------------------------------------------------------
 * The leaf-operation protocol
 * ------------------------------------------------------------------------------------------- */

/*
 * True once deadline has come by the runtime's clock (weft_cx_now), read after every park. Not
 * the real clock: a parked task's timer is armed for the deadline anyway, so a deadline that has
 * come since the last park wakes it at the next one, and this check then says so. Reading the
 * clock here cost a clock_gettime on every park of a request with a deadline, to report a
 * timeout one pass of the loop sooner.
 */
static bool deadline_passed(const weft_runtime *rt, int64_t deadline)
{
    return deadline != WEFT_NO_DEADLINE && rt->now >= deadline;
}

int weft__io_park(struct weft__io *rec, weft_io_dir dir, int64_t deadline, weft_cx *cx)
{
    if (deadline_passed(cx->rt, deadline)) {
        weft__io_unpark(rec, dir, cx);
        return -ETIMEDOUT;
    }
    rec->waiter[dir] = cx->waker;
    weft_cx_want_deadline(cx, deadline);
    WEFT__TRACE(cx->rt, io_wait, rec->u.fd, (int)dir);
    return WEFT_PENDING;
}

int weft_cx_budget_take(weft_cx *cx)
{
    if (cx->budget == 0) {
        weft__task_wake(cx->rt, cx->task); /* the task is RUNNING: it is queued after the poll */
        return WEFT_PENDING;
    }
    cx->budget--;
    return 0;
}

int weft_io_ready(weft_io *io, weft_io_dir dir, int64_t deadline, weft_cx *cx)
{
    return weft__io_ready_at(weft__io_lookup(cx->rt, io), dir, deadline, cx);
}

int weft_io_wait(weft_io *io, weft_io_dir dir, int64_t deadline, weft_cx *cx)
{
    return weft__io_wait_at(weft__io_lookup(cx->rt, io), dir, deadline, cx);
}

void weft_io_drained(weft_io *io, weft_io_dir dir, weft_cx *cx)
{
    struct weft__io *rec = weft__io_lookup(cx->rt, io);
    if (rec != NULL) weft__io_drained_at(rec, dir);
}

size_t weft__io_count_waiting(const weft_runtime *rt)
{
    size_t n = 0;
    uint32_t cap = weft__table_cap(&rt->ios);
    for (uint32_t slot = 0; slot < cap; slot++) {
        const struct weft__io *rec = io_at(rt, slot);
        if (!rec->open) continue;
        for (int dir = WEFT_IO_READ; dir <= WEFT_IO_WRITE; dir++) {
            const struct weft__task *t =
                weft__task_lookup(rt, rec->waiter[dir].slot, rec->waiter[dir].gen);
            if (t != NULL && t->state != WEFT__TASK_DONE) n++;
        }
    }
    return n;
}
