/*
 * weft/poll.h — the event queue: a thin, mio-shaped layer over Linux epoll.
 *
 * The idea
 * --------
 * A program with many sockets should not block on any one of them. Instead it registers each
 * file descriptor with a poll instance, together with a token (a number it chooses) and an
 * interest (readable, writable, priority). One call, weft_poll_wait(), then blocks until at
 * least one of them is ready and reports which ones, by token. Everything above this layer
 * (coroutines, the runtime, HTTP) speaks only tokens, interests and events; epoll itself is
 * confined to one file under src/poll/.
 *
 * The readiness contract
 * ----------------------
 * Read this before writing code against the poll layer; every rule below is a way to lose a
 * wake-up forever if ignored.
 *
 *  1. Registrations are edge-triggered. An event says "this fd's readiness changed", not "this
 *     fd is ready". You hear about a readable socket once when data arrives, and not again until
 *     more data arrives after that. Registration also always asks for peer half-close
 *     notification (EPOLLRDHUP), so a peer's shutdown of its write side is an edge too.
 *
 *  2. After an event, repeat the operation until it would block. Read (or write, or accept)
 *     until the call fails with EAGAIN/EWOULDBLOCK, or reads 0 (end of stream). If you stop
 *     early — say after one read of a 4 KiB buffer while 8 KiB were waiting — no new edge comes
 *     for the bytes left behind, and you may never hear from that fd again. The fds you register
 *     must therefore be non-blocking (O_NONBLOCK / SOCK_NONBLOCK).
 *
 *  3. An event is a hint and may be spurious. By the time you act on it the data may already be
 *     gone (another reader took it), or the event may report a state you have already handled.
 *     Always be ready for the operation to fail with EAGAIN right away; that is not an error.
 *     Treat every event as "go and try", never as a promise.
 *
 *  4. Tokens are opaque 64-bit values chosen by the caller: an index, a pointer cast to
 *     uintptr_t, an index plus a generation count. The poll layer never interprets them; it
 *     hands back in each event exactly the token given at (re)registration. Two fds may share a
 *     token, though you then cannot tell their events apart.
 *
 *  5. Deregistering or closing mid-batch. weft_poll_wait() copies a batch of events into the
 *     caller's weft_events buffer. If, while walking that batch, you deregister an fd (or close
 *     it) whose event comes later in the same batch, that event is still in the buffer and will
 *     still be seen: the kernel cannot take it back. So a token may only be reused for a new
 *     registration once the current batch has been processed, or the token must carry something
 *     (a generation count) that lets the handler recognise a stale event and ignore it.
 *
 *  6. Deregister before close. epoll registers the open file description, not the fd number.
 *     close() removes the registration only when no other descriptor refers to that file: after
 *     dup(), fork() or fd passing, the registration outlives the close and keeps delivering
 *     events with the old token — possibly while the same fd number has been reused for
 *     something else. Call weft_poll_deregister() first, then close().
 *
 *  7. Thread safety. A weft_poll is meant for one thread: the one that calls weft_poll_wait().
 *     (Registering from another thread is safe as far as the kernel goes, but the events that
 *     result are only seen by the waiting thread.) The one operation designed for other threads
 *     and for signal handlers is weft_poll_waker_wake().
 *
 * Errors follow weft/error.h: every function that can fail returns 0 (or a count) on success
 * and a negative errno on failure, and a failed call leaves nothing half-registered.
 */
#ifndef WEFT_POLL_H
#define WEFT_POLL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------------------------------------
 * Tokens, interests and events
 * ------------------------------------------------------------------------------------------- */

/* An opaque 64-bit value chosen by the caller at registration and handed back in each event. */
typedef uint64_t weft_token;

/* What a registration asks to hear about. Combine with |; an empty interest is -EINVAL.
 * Errors and hang-ups are reported whatever the interest. A peer's half-close (it shut down its
 * write side) also wakes every registration; it shows as read_closed when the interest
 * includes READABLE, since that is when "end of stream" is what a read would find. */
typedef enum weft_interest {
    WEFT_INTEREST_READABLE = 1u << 0, /* data to read, a connection to accept, end of stream */
    WEFT_INTEREST_WRITABLE = 1u << 1, /* room to write, a non-blocking connect() finished */
    WEFT_INTEREST_PRIORITY = 1u << 2, /* urgent data (TCP out-of-band) and similar */
} weft_interest;

/* Readiness bits of an event, in weft's own namespace (not EPOLL* values). Their meaning is
 * that of mio's Linux selector; the comment on each says which kernel condition sets it. */
enum {
    WEFT_EVENT_READABLE = 1u << 0,     /* data (or urgent data) can be read: EPOLLIN or EPOLLPRI */
    WEFT_EVENT_WRITABLE = 1u << 1,     /* a write would not block: EPOLLOUT */
    WEFT_EVENT_ERROR = 1u << 2,        /* an error is pending on the fd (SO_ERROR): EPOLLERR */
    WEFT_EVENT_READ_CLOSED = 1u << 3,  /* no more data will come: EPOLLHUP, or EPOLLIN together
                                          with EPOLLRDHUP (the peer shut down its write side) */
    WEFT_EVENT_WRITE_CLOSED = 1u << 4, /* writing can no longer succeed: EPOLLHUP, or EPOLLOUT
                                          together with EPOLLERR (e.g. a pipe's reader is gone),
                                          or EPOLLERR alone (the reader of a full pipe is gone).
                                          As in mio, an error alone on any fd sets it, e.g. an
                                          ICMP error on a connected UDP socket, whose later
                                          writes may succeed: the write's result decides */
    WEFT_EVENT_PRIORITY = 1u << 5,     /* urgent data is waiting: EPOLLPRI */
};

/* One readiness event: the registration's token and what became ready. */
typedef struct weft_event {
    weft_token token; /* exactly what was passed to weft_poll_register()/_reregister() */
    uint32_t flags;   /* WEFT_EVENT_* bits; test them with the weft_event_is_*() predicates */
} weft_event;

/*
 * A caller-owned buffer that weft_poll_wait() fills. Allocate it once with weft_events_init()
 * and reuse it for every wait; the poll layer never allocates during a wait. Iterate with
 *
 *     for (size_t i = 0; i < events.len; i++) { const weft_event *e = &events.items[i]; ... }
 */
typedef struct weft_events {
    weft_event *items; /* capacity slots; the first len are valid after a wait */
    size_t capacity;   /* at most this many events are returned by one wait */
    size_t len;        /* number of valid items after the last wait (0 before any wait) */
    void *raw;         /* the kernel-facing buffer; private to the poll layer */
} weft_events;

/* The poll instance: owns one epoll fd. Allocated by the caller (on the stack, in a struct). */
typedef struct weft_poll {
    int fd; /* the epoll fd; -1 once closed */
} weft_poll;

/* Wakes a weft_poll from another thread or a signal handler (an eventfd registered with it). */
typedef struct weft_poll_waker {
    int fd; /* the eventfd; -1 once closed */
} weft_poll_waker;

/* The timeout_ns of weft_poll_wait() that means "until something happens". */
#define WEFT_POLL_FOREVER ((int64_t)-1)

/* ---------------------------------------------------------------------------------------------
 * The poll instance
 * ------------------------------------------------------------------------------------------- */

/*
 * weft_poll_init - create a poll instance.
 *
 * poll: caller-allocated; filled in on success.
 * Returns 0, or -errno from epoll_create1() (-EMFILE, -ENFILE, -ENOMEM); on failure poll->fd is
 * -1 and nothing needs closing. The epoll fd is close-on-exec.
 */
int weft_poll_init(weft_poll *poll);

/*
 * weft_poll_close - destroy a poll instance and every registration it still holds.
 *
 * poll: initialised by weft_poll_init(); afterwards poll->fd is -1, and closing again is a
 * no-op. Registered fds are not closed (the caller owns them); they simply stop being watched.
 * A weft_poll_waker must be closed separately (before or after, see weft_poll_waker_close()).
 */
void weft_poll_close(weft_poll *poll);

/*
 * weft_poll_register - start watching fd, edge-triggered, with peer half-close notification.
 *
 * fd:       a non-blocking descriptor the caller keeps owning (socket, pipe, eventfd, ...).
 * token:    handed back in every event for this registration.
 * interest: a non-empty combination of WEFT_INTEREST_* bits.
 * Returns 0, or:
 *   -EINVAL  interest is empty or has unknown bits (also: fd is the epoll fd itself);
 *   -EEXIST  fd is already registered with this poll (use weft_poll_reregister());
 *   -EBADF   fd is not an open descriptor;
 *   -EPERM   fd does not support polling (a regular file or directory);
 *   -ENOMEM, -ENOSPC  kernel limits (see epoll(7), max_user_watches).
 * If fd is already ready when registered, the first wait reports it (registration is an edge).
 */
int weft_poll_register(weft_poll *poll, int fd, weft_token token, weft_interest interest);

/*
 * weft_poll_reregister - change the token and/or interest of a registered fd.
 *
 * Same parameters and errors as weft_poll_register(), except -ENOENT (instead of -EEXIST) when
 * fd is not registered. Re-arms the edge: if fd is ready for the new interest now, the next wait
 * reports it. On failure the old registration is unchanged.
 */
int weft_poll_reregister(weft_poll *poll, int fd, weft_token token, weft_interest interest);

/*
 * weft_poll_deregister - stop watching fd. fd stays open; close it yourself afterwards.
 *
 * Returns 0, or -errno from epoll_ctl(EPOLL_CTL_DEL):
 *   -ENOENT  fd is not registered with this poll;
 *   -EBADF   fd is not an open descriptor (or poll is closed);
 *   -EINVAL  fd is the poll's own epoll fd (poll->fd), which can never be registered;
 *   -EPERM   fd is of a kind epoll cannot watch (a regular file or directory), so it cannot be
 *            registered either.
 * Events for fd already copied into a weft_events buffer stay there (readiness contract, rule 5).
 */
int weft_poll_deregister(weft_poll *poll, int fd);

/*
 * weft_poll_wait - block until events arrive or the timeout passes, and fill events.
 *
 * events:     from weft_events_init(); its items/len are overwritten (len is 0 on failure).
 * timeout_ns: WEFT_POLL_FOREVER (-1) to wait until an event; 0 to return at once with whatever
 *             is ready; a positive number of nanoseconds otherwise. A positive timeout is never
 *             rounded down to a busy 0: where the kernel only takes milliseconds it is rounded up,
 *             and on kernels with epoll_pwait2() (5.11+) it is used with full precision. The wait
 *             lasts at least timeout_ns unless an event arrives first (it may last a little
 *             longer: the scheduler decides when the thread runs again).
 * Returns the number of events (also stored in events->len; at most events->capacity; 0 on
 * timeout), or:
 *   -EINVAL  timeout_ns below -1, or poll/events not initialised;
 *   -EBADF   poll is closed.
 * A signal that interrupts the wait (EINTR) is not returned: the wait resumes for the time
 * remaining on CLOCK_MONOTONIC (the signal handler has run by then). More ready fds than the
 * capacity are reported by the following waits; nothing is lost.
 */
int weft_poll_wait(weft_poll *poll, weft_events *events, int64_t timeout_ns);

/* ---------------------------------------------------------------------------------------------
 * The events buffer
 * ------------------------------------------------------------------------------------------- */

/*
 * weft_events_init - allocate an events buffer for up to capacity events per wait.
 *
 * events:   caller-allocated struct; its two arrays are allocated here (the only allocation the
 *           poll layer makes). Free them with weft_events_free().
 * capacity: 1 or more (about 1000 is plenty for most programs; a smaller buffer only means more
 *           waits, never lost events).
 * Returns 0, or -EINVAL (capacity 0 or larger than the kernel accepts) or -ENOMEM. On failure
 * events is left empty (items and raw NULL) and weft_events_free() on it is harmless.
 */
int weft_events_init(weft_events *events, size_t capacity);

/* weft_events_free - release the buffer of weft_events_init(); the struct may be reused after
 * another weft_events_init(). Freeing twice, or freeing a zeroed struct, is harmless. */
void weft_events_free(weft_events *events);

/* weft_event_is_readable, weft_event_is_writable, weft_event_is_error, weft_event_is_read_closed,
 * weft_event_is_write_closed, weft_event_is_priority - the readiness predicates of an event: true
 * if e->flags has that WEFT_EVENT_* bit, with the meanings documented there. An event can have
 * several: readable together with read_closed is common (the last data and the FIN). Pure: they
 * read e only and never fail or suspend. */
static inline bool weft_event_is_readable(const weft_event *e)
{
    return (e->flags & WEFT_EVENT_READABLE) != 0;
}
static inline bool weft_event_is_writable(const weft_event *e)
{
    return (e->flags & WEFT_EVENT_WRITABLE) != 0;
}
static inline bool weft_event_is_error(const weft_event *e)
{
    return (e->flags & WEFT_EVENT_ERROR) != 0;
}
static inline bool weft_event_is_read_closed(const weft_event *e)
{
    return (e->flags & WEFT_EVENT_READ_CLOSED) != 0;
}
static inline bool weft_event_is_write_closed(const weft_event *e)
{
    return (e->flags & WEFT_EVENT_WRITE_CLOSED) != 0;
}
static inline bool weft_event_is_priority(const weft_event *e)
{
    return (e->flags & WEFT_EVENT_PRIORITY) != 0;
}

/* ---------------------------------------------------------------------------------------------
 * The waker
 * ------------------------------------------------------------------------------------------- */

/*
 * weft_poll_waker_init - create a waker whose wakes show up in poll as events with token.
 *
 * waker: caller-allocated; filled in on success.
 * poll:  the poll to wake; the waker registers itself there (readable, edge-triggered).
 * token: the token its events carry; choose one no other registration uses.
 * Returns 0, or -errno from eventfd() (-EMFILE, -ENFILE, -ENOMEM) or from
 * weft_poll_register(). On failure waker->fd is -1 and nothing is left registered or open.
 */
int weft_poll_waker_init(weft_poll_waker *waker, weft_poll *poll, weft_token token);

/*
 * weft_poll_waker_wake - make the poll's current or next wait return an event with the token.
 *
 * Safe to call from any thread and from a signal handler (it uses only write() and read() on
 * the eventfd, and preserves errno). Several wakes before the waiting thread collects the event
 * coalesce into one event. The waiting side need not read anything from the waker.
 * Returns 0, or -EBADF if the waker is closed.
 */
int weft_poll_waker_wake(weft_poll_waker *waker);

/*
 * weft_poll_waker_close - deregister the waker from poll and close its eventfd.
 *
 * poll: the poll given to weft_poll_waker_init(), or NULL if that poll is already closed.
 * Afterwards waker->fd is -1; closing again is a no-op. No other thread may be calling
 * weft_poll_waker_wake() on it any more.
 */
void weft_poll_waker_close(weft_poll_waker *waker, weft_poll *poll);

#ifdef __cplusplus
}
#endif

#endif /* WEFT_POLL_H */
