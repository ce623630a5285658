/*
 * Fault injection for the reliability tests: the failures a real system produces rarely or never
 * on demand, made to happen at a chosen call.
 *
 * Each test executable links with -Wl,--wrap=<symbol> (weft_add_test ... WRAP), so every call
 * that weft's code makes to that symbol lands in a __wrap_ function here, which counts it and
 * either fails it on purpose or passes it on to the real one. Calls made inside the C library or
 * cmocka are not wrapped; only weft's own (and the test's).
 *
 * Allocation (fault_alloc.c; WRAP malloc calloc realloc free):
 *   every allocation is counted, the k-th one after fault_alloc_fail_at(k) returns NULL, and a
 *   count of live blocks (allocated through the wrappers, not yet freed) tells whether a
 *   scenario gave back everything it took.
 *
 * System calls (fault_io.c; WRAP recv send sendmsg accept4 socket epoll_ctl close):
 *   every call of each kind is counted; the k-th call of a kind can fail with a chosen errno; and
 *   every transfer can be capped to at most n bytes (short reads and writes of every size). One
 *   detail keeps the faults faithful to what a kernel does, so that a test fails only for a real
 *   bug in weft: a call that makes a ready fd look not ready is followed by the readiness event
 *   the kernel would send when it became ready again (the fd's epoll registration is re-armed
 *   with EPOLL_CTL_MOD). That is an injected EAGAIN, and a transfer the cap shortened: the runtime
 *   takes a short transfer as "the socket buffer was emptied (or filled)" and waits for the next
 *   event, but this one left data (or room) behind.
 *
 * Counters are atomic: the helpers may be used while other threads run, though the scenarios
 * here are single-threaded.
 */
#ifndef WEFT_RELIABILITY_FAULT_H
#define WEFT_RELIABILITY_FAULT_H

#include <stdbool.h>
#include <stddef.h>

/* ---- allocation ---------------------------------------------------------------------------- */

/* Forget the counts and the armed failure (the live count is kept: it spans a whole test). */
void fault_alloc_reset(void);

/* The k-th allocation (malloc, calloc or realloc) from now on returns NULL; 0 disarms. */
void fault_alloc_fail_at(long k);

/* Allocations made since the last reset (including the failed one). */
long fault_alloc_count(void);

/* Whether the armed failure has happened. */
bool fault_alloc_failed(void);

/* Blocks allocated through the wrappers and not yet freed, since the program started. */
long fault_alloc_live(void);

/* Their total size (malloc_usable_size), and the most it has been since fault_alloc_peak_reset,
 * for checks that memory stays bounded while a peer sends without end. */
long fault_alloc_live_bytes(void);
long fault_alloc_peak_bytes(void);
void fault_alloc_peak_reset(void);

/* ---- system calls -------------------------------------------------------------------------- */

/* The kinds of call that can be counted and failed. */
enum fault_call {
    FAULT_RECV,
    FAULT_SEND,
    FAULT_SENDMSG,
    FAULT_ACCEPT, /* accept4 */
    FAULT_SOCKET,
    FAULT_EPOLL_ADD, /* epoll_ctl(EPOLL_CTL_ADD) */
    FAULT_CLOSE,
    FAULT_NCALLS
};

/* The names of the kinds, for messages: "recv", "send", ... */
const char *fault_call_name(enum fault_call call);

/* Forget all counts, armed failures and the cap. */
void fault_io_reset(void);

/*
 * The k-th call of this kind from now on (k >= 1) fails with err instead of happening (close:
 * the fd is closed all the same, then err is reported, as close(2) does). 0 disarms that kind.
 * For EAGAIN on recv, send, sendmsg and accept4, an event follows (see the top of this file).
 */
void fault_io_fail_at(enum fault_call call, long k, int err);

/* Calls of this kind since the last reset (including failed ones). */
long fault_io_calls(enum fault_call call);

/* Whether every armed failure has happened. */
bool fault_io_all_fired(void);

/* Every recv, send and sendmsg moves at most max bytes (0: no cap). */
void fault_io_cap(size_t max);

/* Transfers the cap has shortened since the last reset. */
long fault_io_shortened(void);

/*
 * Every other attempt to transfer in one direction of one fd (recv, send, sendmsg, accept4: the
 * first, the third, ...) says EAGAIN, followed by the event: each operation then waits once
 * before it goes through, so every I/O operation becomes a suspension point.
 */
void fault_io_eagain_alternate(bool on);

#endif
