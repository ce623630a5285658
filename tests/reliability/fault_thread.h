/*
 * pthread_create failing on demand (fault_thread.c; WRAP pthread_create), alongside fault.h's
 * allocation and system-call faults: the blocking pool starts its threads lazily, and a thread
 * that cannot be started (EAGAIN: a process or memory limit) must fail only the job that needed
 * it.
 */
#ifndef WEFT_RELIABILITY_FAULT_THREAD_H
#define WEFT_RELIABILITY_FAULT_THREAD_H

#include <stdbool.h>

/* The k-th pthread_create from now on (k >= 1) returns err instead of starting a thread; with
 * always, every call from the k-th on does. 0 disarms. Resets the count. */
void fault_thread_fail_at(long k, int err, bool always);

/* pthread_create calls since the last fault_thread_fail_at. */
long fault_thread_calls(void);

#endif
