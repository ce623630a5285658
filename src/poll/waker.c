/*
 * The waker of weft/poll.h: an eventfd registered with the poll like any other fd.
 *
 * An eventfd is a kernel counter that reads as "readable" while it is non-zero. Writing to it
 * is a readiness edge, so a thread blocked in weft_poll_wait() wakes with the waker's token.
 * Edge-triggering also gives coalescing for free: while the poll has not yet collected the
 * event, more writes only add to the counter and the pending event stays a single one.
 */
#define _GNU_SOURCE
#include "weft/poll.h"

#include <errno.h>
#include <stdint.h>
#include <sys/eventfd.h>
#include <unistd.h>

int weft_poll_waker_init(weft_poll_waker *waker, weft_poll *poll, weft_token token)
{
    waker->fd = -1;
    int fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (fd < 0) return -errno;
    int r = weft_poll_register(poll, fd, token, WEFT_INTEREST_READABLE);
    if (r < 0) {
        close(fd);
        return r;
    }
    waker->fd = fd;
    return 0;
}

/*
 * Nobody ever reads the counter on the waiting side, so after about 2^64 wakes it would be
 * full and write() would fail with EAGAIN. Then one read() empties it and the write is tried
 * again. If it is full again at once, another thread is waking at the same moment and its write
 * was the edge the poll needs, so there is nothing more to do.
 */
static int add_one(int fd)
{
    const uint64_t one = 1;
    for (int attempt = 0; attempt < 2; attempt++) {
        if (write(fd, &one, sizeof one) == (ssize_t)sizeof one) return 0;
        if (errno != EAGAIN) return -errno;
        uint64_t drained;
        if (read(fd, &drained, sizeof drained) < 0 && errno != EAGAIN) return -errno;
    }
    return 0;
}

int weft_poll_waker_wake(weft_poll_waker *waker)
{
    int saved_errno = errno; /* a signal handler must not change errno under its thread */
    int r = add_one(waker->fd);
    errno = saved_errno;
    return r;
}

void weft_poll_waker_close(weft_poll_waker *waker, weft_poll *poll)
{
    if (waker->fd < 0) return;
    if (poll != NULL && poll->fd >= 0) (void)weft_poll_deregister(poll, waker->fd);
    close(waker->fd);
    waker->fd = -1;
}
