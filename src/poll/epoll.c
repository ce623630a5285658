/*
 * The epoll backend of weft/poll.h: the only file in weft that includes <sys/epoll.h>.
 *
 * Everything here is a thin translation: weft interests become epoll flags on the way in,
 * epoll flags become WEFT_EVENT_* bits on the way out, nanosecond timeouts become whatever the
 * kernel accepts, and EINTR is absorbed. Read it next to epoll(7).
 */
#define _GNU_SOURCE
#include "weft/poll.h"

#include <errno.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define NS_PER_MS INT64_C(1000000)
#define NS_PER_S  INT64_C(1000000000)

#define ALL_INTERESTS (WEFT_INTEREST_READABLE | WEFT_INTEREST_WRITABLE | WEFT_INTEREST_PRIORITY)

/* The kernel refuses more than this many events per call (EP_MAX_EVENTS in fs/eventpoll.c). */
#define MAX_EVENTS_PER_WAIT (INT_MAX / sizeof(struct epoll_event))

int weft_poll_init(weft_poll *poll)
{
    poll->fd = epoll_create1(EPOLL_CLOEXEC);
    return poll->fd < 0 ? -errno : 0;
}

void weft_poll_close(weft_poll *poll)
{
    if (poll->fd >= 0) close(poll->fd);
    poll->fd = -1;
}

/*
 * Every registration is edge-triggered (EPOLLET) and asks for EPOLLRDHUP, so that a peer's
 * half-close is reported even when the caller is only interested in writing. EPOLLERR and
 * EPOLLHUP need no asking: the kernel always reports them.
 */
static uint32_t epoll_flags_from_interest(weft_interest interest)
{
    uint32_t flags = EPOLLET | EPOLLRDHUP;
    if (interest & WEFT_INTEREST_READABLE) flags |= EPOLLIN;
    if (interest & WEFT_INTEREST_WRITABLE) flags |= EPOLLOUT;
    if (interest & WEFT_INTEREST_PRIORITY) flags |= EPOLLPRI;
    return flags;
}

/*
 * The meaning of each readiness bit is mio's (src/sys/unix/selector/epoll.rs), so that code
 * and intuition carry over. The two "closed" predicates are the subtle ones: EPOLLHUP means both
 * directions are finished; EPOLLRDHUP alone only counts as read_closed when EPOLLIN is set too
 * (the FIN arrived and is readable as end of stream); EPOLLERR with EPOLLOUT means writing can
 * no longer succeed (a pipe whose reader went away, a reset connection). EPOLLERR on its own is
 * write_closed too: a writer waiting on a full pipe gets no EPOLLOUT when the reader goes away,
 * only the error, yet its next write fails with EPIPE.
 */
static uint32_t event_flags_from_epoll(uint32_t ev)
{
    uint32_t flags = 0;
    if (ev & (EPOLLIN | EPOLLPRI)) flags |= WEFT_EVENT_READABLE;
    if (ev & EPOLLOUT) flags |= WEFT_EVENT_WRITABLE;
    if (ev & EPOLLERR) flags |= WEFT_EVENT_ERROR;
    if ((ev & EPOLLHUP) || ((ev & EPOLLIN) && (ev & EPOLLRDHUP))) flags |= WEFT_EVENT_READ_CLOSED;
    if ((ev & EPOLLHUP) || ((ev & EPOLLOUT) && (ev & EPOLLERR)) || ev == EPOLLERR)
        flags |= WEFT_EVENT_WRITE_CLOSED;
    if (ev & EPOLLPRI) flags |= WEFT_EVENT_PRIORITY;
    return flags;
}

/* EPOLL_CTL_ADD or EPOLL_CTL_MOD. The token travels in epoll's data.u64 untouched. */
static int control(weft_poll *poll, int op, int fd, weft_token token, weft_interest interest)
{
    if (interest == 0 || (interest & ~ALL_INTERESTS) != 0) return -EINVAL;
    struct epoll_event ev = {.events = epoll_flags_from_interest(interest), .data.u64 = token};
    return epoll_ctl(poll->fd, op, fd, &ev) == 0 ? 0 : -errno;
}

int weft_poll_register(weft_poll *poll, int fd, weft_token token, weft_interest interest)
{
    return control(poll, EPOLL_CTL_ADD, fd, token, interest);
}

int weft_poll_reregister(weft_poll *poll, int fd, weft_token token, weft_interest interest)
{
    return control(poll, EPOLL_CTL_MOD, fd, token, interest);
}

int weft_poll_deregister(weft_poll *poll, int fd)
{
    /* Kernels before 2.6.9 wanted a non-NULL event even for a delete; it costs nothing. */
    struct epoll_event unused = {0};
    return epoll_ctl(poll->fd, EPOLL_CTL_DEL, fd, &unused) == 0 ? 0 : -errno;
}

static int64_t monotonic_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * NS_PER_S + ts.tv_nsec;
}

/* epoll_wait() counts in milliseconds: round up, so 1 ns waits 1 ms instead of not at all. */
static int timeout_ms_rounded_up(int64_t timeout_ns)
{
    if (timeout_ns < 0) return -1;
    int64_t ms = timeout_ns / NS_PER_MS + (timeout_ns % NS_PER_MS != 0);
    return ms > INT_MAX ? INT_MAX : (int)ms;
}

#ifdef SYS_epoll_pwait2
/*
 * epoll_pwait2() (Linux 5.11) takes a timespec, so a 200 us timeout really is 200 us. Older C
 * libraries have no wrapper, so it is called through syscall(). A kernel without it says
 * ENOSYS; some container sandboxes say EPERM for system calls they do not know. Either way it
 * is remembered (once per process, hence the atomic) and epoll_wait() is used from then on.
 */
static atomic_bool pwait2_unavailable;

/* The kernel's struct __kernel_timespec: 64-bit fields even where time_t is 32-bit. */
struct kernel_timespec {
    int64_t tv_sec;
    int64_t tv_nsec;
};

/* Returns the number of events, -errno, or -ENOSYS when epoll_pwait2() cannot be used. */
static int wait_pwait2(int epfd, struct epoll_event *raw, int max, int64_t timeout_ns)
{
    if (atomic_load_explicit(&pwait2_unavailable, memory_order_relaxed)) return -ENOSYS;
    struct kernel_timespec ts = {timeout_ns / NS_PER_S, timeout_ns % NS_PER_S};
    long n = syscall(SYS_epoll_pwait2, epfd, raw, max, &ts, NULL, 0);
    if (n >= 0) return (int)n;
    if (errno != ENOSYS && errno != EPERM) return -errno;
    atomic_store_explicit(&pwait2_unavailable, true, memory_order_relaxed);
    return -ENOSYS;
}
#else
static int wait_pwait2(int epfd, struct epoll_event *raw, int max, int64_t timeout_ns)
{
    (void)epfd, (void)raw, (void)max, (void)timeout_ns;
    return -ENOSYS;
}
#endif

/* One kernel wait. -1 and 0 are exact in milliseconds; only positive timeouts need pwait2. */
static int wait_once(int epfd, struct epoll_event *raw, int max, int64_t timeout_ns)
{
    if (timeout_ns > 0) {
        int n = wait_pwait2(epfd, raw, max, timeout_ns);
        if (n != -ENOSYS) return n;
    }
    int n = epoll_wait(epfd, raw, max, timeout_ms_rounded_up(timeout_ns));
    return n >= 0 ? n : -errno;
}

/* Nanoseconds from now until deadline (on CLOCK_MONOTONIC), or 0 if it has passed. */
static int64_t ns_until(int64_t deadline)
{
    int64_t now = monotonic_ns();
    return now >= deadline ? 0 : deadline - now;
}

/*
 * Waits until events arrive or the deadline passes, whatever happens in between: EINTR (a
 * signal handler ran) and an early empty return (a timeout too long for one epoll_wait() call)
 * both lead to another wait for the time that is left. After an EINTR past the deadline, one
 * last zero-timeout wait still collects whatever became ready, so an interrupted wait never
 * reports less than an uninterrupted one would have.
 */
static int wait_until_deadline(int epfd, struct epoll_event *raw, int max, int64_t timeout_ns)
{
    int64_t start = timeout_ns > 0 ? monotonic_ns() : 0;
    int64_t deadline = timeout_ns > INT64_MAX - start ? INT64_MAX : start + timeout_ns;
    int64_t left = timeout_ns;
    for (;;) {
        int n = wait_once(epfd, raw, max, left);
        if (n != 0 && n != -EINTR) return n;
        if (timeout_ns > 0) left = ns_until(deadline);
        if (n == 0 && left <= 0) return 0;
    }
}

int weft_poll_wait(weft_poll *poll, weft_events *events, int64_t timeout_ns)
{
    if (events == NULL) return -EINVAL;
    events->len = 0;
    if (poll == NULL || events->raw == NULL || events->capacity == 0 || timeout_ns < -1)
        return -EINVAL;

    struct epoll_event *raw = events->raw;
    int n = wait_until_deadline(poll->fd, raw, (int)events->capacity, timeout_ns);
    if (n < 0) return n;
    for (int i = 0; i < n; i++) {
        events->items[i].token = raw[i].data.u64;
        events->items[i].flags = event_flags_from_epoll(raw[i].events);
    }
    events->len = (size_t)n;
    return n;
}

int weft_events_init(weft_events *events, size_t capacity)
{
    *events = (weft_events){0};
    if (capacity == 0 || capacity > MAX_EVENTS_PER_WAIT) return -EINVAL;
    events->items = calloc(capacity, sizeof(weft_event));
    events->raw = calloc(capacity, sizeof(struct epoll_event));
    if (events->items == NULL || events->raw == NULL) {
        weft_events_free(events);
        return -ENOMEM;
    }
    events->capacity = capacity;
    return 0;
}

void weft_events_free(weft_events *events)
{
    free(events->items);
    free(events->raw);
    *events = (weft_events){0};
}
