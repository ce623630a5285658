/*
 * Signals through a signalfd: block them, read them from an fd, unblock them at the end.
 *
 * Blocking is counted per signal and per thread (the mask is a thread's), so two open
 * weft_signal objects that share a signal do not unblock it under each other's feet, and a
 * signal the program had blocked already before the first open stays blocked after the last
 * close.
 */
#define _GNU_SOURCE
#include "weft/signal.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

/* How many open weft_signal objects of this thread receive each signal. */
static _Thread_local unsigned signal_users[NSIG];

/* The signals this thread's weft_signal objects blocked themselves (to unblock at the end). */
static _Thread_local sigset_t signals_blocked;
static _Thread_local bool signals_blocked_ready;

/*
 * The ids of this thread's open weft_signal objects. A handle is open exactly while its id is
 * listed: every copy of a handle carries the id, and closing takes it off, so a copy of a closed
 * handle (or a second close) finds nothing to undo and cannot take a count another object still
 * relies on. Kept here rather than read from the runtime's I/O record because weft_signal_close
 * must still restore the mask after weft_runtime_close has freed those records. Few objects are
 * open at a time: a short array, freed when it empties.
 */
static _Thread_local uint64_t *live_ids;
static _Thread_local size_t live_n, live_cap;
static _Thread_local uint64_t live_next; /* the last id handed out; ids start at 1 */

/* Makes room for one more id, so that listing it after the open cannot fail. */
static int live_reserve(void)
{
    if (live_n < live_cap) return 0;
    size_t cap = live_cap != 0 ? live_cap * 2 : 4;
    uint64_t *ids = realloc(live_ids, cap * sizeof *ids);
    if (ids == NULL) return -ENOMEM;
    live_ids = ids;
    live_cap = cap;
    return 0;
}

/* Frees the list once nothing is on it, so that a thread that ends holds none. */
static void live_trim(void)
{
    if (live_n != 0) return;
    free(live_ids);
    live_ids = NULL;
    live_cap = 0;
}

/* Takes id off the list. Returns false if it was not there (0, closed already, or opened by
 * another thread). */
static bool live_take(uint64_t id)
{
    for (size_t i = 0; i < live_n; i++) {
        if (live_ids[i] != id) continue;
        live_ids[i] = live_ids[--live_n];
        live_trim();
        return true;
    }
    return false;
}

/* Builds the mask; rejects what signalfd cannot deliver. */
static int make_mask(uint64_t *mask, const int *signals, size_t n)
{
    if (signals == NULL || n == 0) return -EINVAL;
    *mask = 0;
    for (size_t i = 0; i < n; i++) {
        int sig = signals[i];
        if (sig <= 0 || sig > 64 || sig >= NSIG || sig == SIGKILL || sig == SIGSTOP) return -EINVAL;
        *mask |= (uint64_t)1 << (sig - 1);
    }
    return 0;
}

static void mask_to_set(uint64_t mask, sigset_t *set)
{
    sigemptyset(set);
    for (int sig = 1; sig <= 64; sig++)
        if (mask & ((uint64_t)1 << (sig - 1))) sigaddset(set, sig);
}

/* Counts a new user of each signal in set; blocks those that were not blocked yet. */
static void users_add(const sigset_t *set)
{
    if (!signals_blocked_ready) {
        sigemptyset(&signals_blocked);
        signals_blocked_ready = true;
    }
    sigset_t now, block;
    pthread_sigmask(SIG_BLOCK, NULL, &now);
    sigemptyset(&block);
    for (int sig = 1; sig < NSIG; sig++) {
        if (sigismember(set, sig) != 1) continue;
        if (signal_users[sig]++ == 0 && sigismember(&now, sig) == 0) {
            sigaddset(&block, sig);
            sigaddset(&signals_blocked, sig);
        }
    }
    pthread_sigmask(SIG_BLOCK, &block, NULL);
}

/*
 * Counts a user less; unblocks the signals whose last user this was and which we blocked,
 * after taking any pending instance of them (bounded: at most one pending per signal, plus
 * queued real-time instances).
 */
static void users_remove(const sigset_t *set)
{
    sigset_t unblock;
    sigemptyset(&unblock);
    for (int sig = 1; sig < NSIG; sig++) {
        if (sigismember(set, sig) != 1) continue;
        if (--signal_users[sig] == 0 && sigismember(&signals_blocked, sig) == 1) {
            sigaddset(&unblock, sig);
            sigdelset(&signals_blocked, sig);
        }
    }
    struct timespec zero = {0, 0};
    for (int i = 0; i < 4096 && sigtimedwait(&unblock, NULL, &zero) > 0; i++)
        ; /* discard */
    pthread_sigmask(SIG_UNBLOCK, &unblock, NULL);
}

/* Blocks s's signals and opens its signalfd in rt; undoes both if either fails. */
static int open_fd(weft_runtime *rt, weft_signal *s)
{
    sigset_t set;
    mask_to_set(s->mask, &set);
    users_add(&set); /* before the fd exists, so that no instance slips past it */
    int fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
    int r = fd < 0 ? -errno : weft_io_open(rt, &s->io, fd);
    if (r < 0) {
        if (fd >= 0) close(fd);
        users_remove(&set);
    }
    return r;
}

int weft_signal_open(weft_runtime *rt, weft_signal *s, const int *signals, size_t n)
{
    s->io = (weft_io){0, 0, -1};
    s->id = 0;
    int r = make_mask(&s->mask, signals, n);
    if (r == 0) r = live_reserve();
    if (r == 0) r = open_fd(rt, s);
    if (r < 0) {
        live_trim();
        return r;
    }
    s->id = ++live_next;
    live_ids[live_n++] = s->id;
    return 0;
}

int weft_signal_wait_dl(weft_signal *s, int64_t deadline, weft_cx *cx)
{
    int r = weft_io_ready(&s->io, WEFT_IO_READ, deadline, cx);
    if (r != 0) return r;
    for (;;) {
        struct signalfd_siginfo si;
        ssize_t n = read(weft_io_fd(&s->io), &si, sizeof si);
        if (n == (ssize_t)sizeof si) return (int)si.ssi_signo;
        if (n >= 0) return -EIO; /* a signalfd reads whole records: cannot happen */
        if (errno == EINTR) continue;
        if (errno != EAGAIN) return -errno;
        return weft_io_wait(&s->io, WEFT_IO_READ, deadline, cx);
    }
}

int weft_signal_close(weft_runtime *rt, weft_signal *s)
{
    if (!live_take(s->id)) return WEFT_ECLOSED; /* before anything: a stale copy touches nothing */
    int r = weft_io_close(rt, &s->io); /* WEFT_ECLOSED if weft_runtime_close got there first */
    s->io.fd = -1;
    sigset_t set;
    mask_to_set(s->mask, &set);
    users_remove(&set);
    return r == WEFT_ECLOSED ? 0 : r;
}
