/*
 * weft/poll.h — the event queue: a thin, mio-shaped layer over Linux epoll.
 *
 * (The poll-layer implementer replaces this paragraph with the readiness contract, in prose:
 * edge-triggered; events are hints and may be spurious; after an event, repeat the operation
 * until it would block or you may never hear again; tokens are opaque and when they may be
 * reused; what happens to events of an fd deregistered or closed while a batch is processed.)
 */
#ifndef WEFT_POLL_H
#define WEFT_POLL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* An opaque 64-bit value chosen by the caller at registration and handed back in each event. */
typedef uint64_t weft_token;

/* What a registration asks to hear about. Combine with |; an empty interest is -EINVAL. */
typedef enum weft_interest {
    WEFT_INTEREST_READABLE = 1u << 0,
    WEFT_INTEREST_WRITABLE = 1u << 1,
    WEFT_INTEREST_PRIORITY = 1u << 2,
} weft_interest;

/* Readiness bits of an event, in weft's own namespace (not EPOLL* values). */
enum {
    WEFT_EVENT_READABLE = 1u << 0,
    WEFT_EVENT_WRITABLE = 1u << 1,
    WEFT_EVENT_ERROR = 1u << 2,
    WEFT_EVENT_READ_CLOSED = 1u << 3,
    WEFT_EVENT_WRITE_CLOSED = 1u << 4,
    WEFT_EVENT_PRIORITY = 1u << 5,
};

/* One readiness event: the registration's token and what became ready. */
typedef struct weft_event {
    weft_token token;
    uint32_t flags; /* WEFT_EVENT_* bits */
} weft_event;

/* A caller-owned buffer that weft_poll_wait() fills. */
typedef struct weft_events {
    weft_event *items; /* capacity slots; the first len are valid after a wait */
    size_t capacity;
    size_t len;
    void *raw; /* the kernel-facing buffer; private to the poll layer */
} weft_events;

/* The poll instance: owns one epoll fd. */
typedef struct weft_poll {
    int fd;
} weft_poll;

/* Wakes a weft_poll from another thread or a signal handler. */
typedef struct weft_poll_waker {
    int fd;
} weft_poll_waker;

#define WEFT_POLL_FOREVER ((int64_t)-1)

int weft_poll_init(weft_poll *poll);
void weft_poll_close(weft_poll *poll);
int weft_poll_register(weft_poll *poll, int fd, weft_token token, weft_interest interest);
int weft_poll_reregister(weft_poll *poll, int fd, weft_token token, weft_interest interest);
int weft_poll_deregister(weft_poll *poll, int fd);
/* timeout_ns: WEFT_POLL_FOREVER (-1), 0 (return at once) or a positive number of nanoseconds,
 * never rounded down to a busy 0. Returns the number of events (also events->len) or -errno. */
int weft_poll_wait(weft_poll *poll, weft_events *events, int64_t timeout_ns);

int weft_events_init(weft_events *events, size_t capacity);
void weft_events_free(weft_events *events);

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

int weft_poll_waker_init(weft_poll_waker *waker, weft_poll *poll, weft_token token);
int weft_poll_waker_wake(weft_poll_waker *waker);
void weft_poll_waker_close(weft_poll_waker *waker, weft_poll *poll);

#ifdef __cplusplus
}
#endif

#endif /* WEFT_POLL_H */
