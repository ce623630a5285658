/*
 * System-call faults: recv, send, sendmsg, accept4, socket, epoll_ctl and close that fail on the
 * k-th call, and transfers capped to n bytes. See fault.h for how a capped transfer and an
 * injected EAGAIN are each followed by the event the kernel would send.
 */
#define _GNU_SOURCE /* accept4 */
#include <errno.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <weft/runtime.h>

#include "fault.h"

ssize_t __real_recv(int fd, void *buf, size_t len, int flags);
ssize_t __real_send(int fd, const void *buf, size_t len, int flags);
ssize_t __real_sendmsg(int fd, const struct msghdr *msg, int flags);
int __real_accept4(int fd, struct sockaddr *addr, socklen_t *len, int flags);
int __real_socket(int domain, int type, int protocol);
int __real_epoll_ctl(int epfd, int op, int fd, struct epoll_event *ev);
int __real_close(int fd);

ssize_t __wrap_recv(int fd, void *buf, size_t len, int flags);
ssize_t __wrap_send(int fd, const void *buf, size_t len, int flags);
ssize_t __wrap_sendmsg(int fd, const struct msghdr *msg, int flags);
int __wrap_accept4(int fd, struct sockaddr *addr, socklen_t *len, int flags);
int __wrap_socket(int domain, int type, int protocol);
int __wrap_epoll_ctl(int epfd, int op, int fd, struct epoll_event *ev);
int __wrap_close(int fd);

/* One kind of call: how many so far, and which one fails with what. */
static struct {
    atomic_long calls;
    atomic_long fail_at; /* 0: none */
    atomic_int err;
    atomic_bool fired;
} kinds[FAULT_NCALLS];

static atomic_size_t cap;     /* the most bytes one transfer moves; 0: no cap */
static atomic_long shortened; /* transfers the cap shortened */
static atomic_bool alternate; /* every other transfer on an fd says EAGAIN first */

/* What the tests need to know per fd (fds used by the tests stay far below this). */
#define FD_MAX 4096
static struct {
    bool registered;          /* an EPOLL_CTL_ADD succeeded and the fd was not closed since */
    int epfd;                 /* ...with this epoll instance */
    struct epoll_event event; /* ...and these events and token */
    bool waited[2];           /* alternate mode: the last attempt (read, write) said EAGAIN */
} fds[FD_MAX];

const char *fault_call_name(enum fault_call call)
{
    static const char *const names[FAULT_NCALLS] = {
        "recv", "send", "sendmsg", "accept4", "socket", "epoll_ctl(ADD)", "close",
    };
    return call < FAULT_NCALLS ? names[call] : "?";
}

void fault_io_reset(void)
{
    for (int i = 0; i < FAULT_NCALLS; i++) {
        atomic_store(&kinds[i].calls, 0);
        atomic_store(&kinds[i].fail_at, 0);
        atomic_store(&kinds[i].fired, false);
    }
    atomic_store(&cap, 0);
    atomic_store(&shortened, 0);
    atomic_store(&alternate, false);
}

void fault_io_eagain_alternate(bool on)
{
    atomic_store(&alternate, on);
}

void fault_io_fail_at(enum fault_call call, long k, int err)
{
    atomic_store(&kinds[call].calls, 0);
    atomic_store(&kinds[call].fired, false);
    atomic_store(&kinds[call].err, err);
    atomic_store(&kinds[call].fail_at, k);
}

long fault_io_calls(enum fault_call call)
{
    return atomic_load(&kinds[call].calls);
}

bool fault_io_all_fired(void)
{
    for (int i = 0; i < FAULT_NCALLS; i++)
        if (atomic_load(&kinds[i].fail_at) != 0 && !atomic_load(&kinds[i].fired)) return false;
    return true;
}

void fault_io_cap(size_t max)
{
    atomic_store(&cap, max);
}

long fault_io_shortened(void)
{
    return atomic_load(&shortened);
}

/* Counts a call; returns the errno it must fail with, or 0 to let it happen. */
static int injected(enum fault_call call)
{
    long n = atomic_fetch_add(&kinds[call].calls, 1) + 1;
    if (n != atomic_load(&kinds[call].fail_at)) return 0;
    atomic_store(&kinds[call].fired, true);
    return atomic_load(&kinds[call].err);
}

static bool fd_known(int fd)
{
    return fd >= 0 && fd < FD_MAX;
}

/* Alternate mode: every other attempt in one direction of one fd says EAGAIN. */
static int alternate_eagain(int fd, weft_io_dir dir)
{
    if (!atomic_load(&alternate) || !fd_known(fd)) return 0;
    fds[fd].waited[dir] = !fds[fd].waited[dir];
    return fds[fd].waited[dir] ? EAGAIN : 0;
}

/* The failure a transfer call must report, if any: an armed fault, or alternate mode's EAGAIN. */
static int transfer_fault(enum fault_call call, int fd, weft_io_dir dir)
{
    int err = injected(call);
    return err ? err : alternate_eagain(fd, dir);
}

/*
 * The fd is reported "not ready" (an injected EAGAIN), or looks drained (a transfer the cap
 * shortened), although it is ready: re-arm its registration, which makes the kernel queue a new
 * edge-triggered event for it if it is ready — the event it would have sent had the data (or the
 * room, or the connection) arrived just after the call.
 */
static void rearm(int fd)
{
    if (!fd_known(fd) || !fds[fd].registered) return;
    struct epoll_event ev = fds[fd].event;
    (void)__real_epoll_ctl(fds[fd].epfd, EPOLL_CTL_MOD, fd, &ev);
}

/* Fails a call with err: -1 and errno, plus the event that follows an EAGAIN. */
static int fail_with(int fd, int err)
{
    if (err == EAGAIN || err == EWOULDBLOCK) rearm(fd);
    errno = err;
    return -1;
}

/* The length a transfer of len bytes may move, and whether that shortens it. */
static size_t capped_len(size_t len, bool *cut)
{
    size_t max = atomic_load(&cap);
    *cut = max != 0 && len > max;
    if (*cut) atomic_fetch_add(&shortened, 1);
    return *cut ? max : len;
}

/*
 * A transfer the cap cut short (n == the capped length) left data (or room) behind, but looks to
 * the runtime like one that emptied (or filled) the socket buffer, which it takes as "wait for the
 * next event". The kernel would send no event for what is already there, so one is queued.
 */
static void note_transfer(int fd, ssize_t n, size_t asked, bool cut)
{
    if (cut && n > 0 && (size_t)n == asked) rearm(fd);
}

ssize_t __wrap_recv(int fd, void *buf, size_t len, int flags)
{
    int err = transfer_fault(FAULT_RECV, fd, WEFT_IO_READ);
    if (err) return fail_with(fd, err);
    bool cut;
    size_t asked = capped_len(len, &cut);
    ssize_t n = __real_recv(fd, buf, asked, flags);
    note_transfer(fd, n, asked, cut);
    return n;
}

ssize_t __wrap_send(int fd, const void *buf, size_t len, int flags)
{
    int err = transfer_fault(FAULT_SEND, fd, WEFT_IO_WRITE);
    if (err) return fail_with(fd, err);
    bool cut;
    size_t asked = capped_len(len, &cut);
    ssize_t n = __real_send(fd, buf, asked, flags);
    note_transfer(fd, n, asked, cut);
    return n;
}

/* Copies msg's iovecs into iov[0 .. max_iov), cut after `limit` bytes. Returns the count. */
static size_t cut_iov(const struct msghdr *msg, struct iovec *iov, size_t max_iov, size_t limit)
{
    size_t n = 0;
    for (size_t i = 0; i < msg->msg_iovlen && n < max_iov && limit > 0; i++) {
        iov[n] = msg->msg_iov[i];
        if (iov[n].iov_len > limit) iov[n].iov_len = limit;
        limit -= iov[n].iov_len;
        n++;
    }
    return n;
}

ssize_t __wrap_sendmsg(int fd, const struct msghdr *msg, int flags)
{
    int err = transfer_fault(FAULT_SENDMSG, fd, WEFT_IO_WRITE);
    if (err) return fail_with(fd, err);
    size_t total = 0;
    for (size_t i = 0; i < msg->msg_iovlen; i++)
        total += msg->msg_iov[i].iov_len;
    bool cut;
    size_t asked = capped_len(total, &cut);
    if (!cut) return __real_sendmsg(fd, msg, flags);
    struct iovec iov[64];
    struct msghdr part = *msg;
    part.msg_iov = iov;
    part.msg_iovlen = cut_iov(msg, iov, sizeof iov / sizeof iov[0], asked);
    ssize_t n = __real_sendmsg(fd, &part, flags);
    note_transfer(fd, n, asked, true);
    return n;
}

int __wrap_accept4(int fd, struct sockaddr *addr, socklen_t *len, int flags)
{
    int err = transfer_fault(FAULT_ACCEPT, fd, WEFT_IO_READ);
    if (err) return fail_with(fd, err);
    return __real_accept4(fd, addr, len, flags);
}

int __wrap_socket(int domain, int type, int protocol)
{
    int err = injected(FAULT_SOCKET);
    if (err) return fail_with(-1, err);
    return __real_socket(domain, type, protocol);
}

int __wrap_epoll_ctl(int epfd, int op, int fd, struct epoll_event *ev)
{
    if (op == EPOLL_CTL_ADD) {
        int err = injected(FAULT_EPOLL_ADD);
        if (err) return fail_with(-1, err);
    }
    int r = __real_epoll_ctl(epfd, op, fd, ev);
    if (r == 0 && op == EPOLL_CTL_ADD && fd_known(fd)) {
        fds[fd].registered = true;
        fds[fd].epfd = epfd;
        fds[fd].event = *ev;
    }
    return r;
}

int __wrap_close(int fd)
{
    if (fd_known(fd)) memset(&fds[fd], 0, sizeof fds[fd]);
    int err = injected(FAULT_CLOSE);
    int r = __real_close(fd);
    if (err && r == 0) return fail_with(-1, err); /* closed all the same, as close(2) does */
    return r;
}
