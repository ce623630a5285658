/*
 * Thread creation that fails on demand: pthread_create wrapped (-Wl,--wrap=pthread_create), for
 * the blocking pool's lazy thread start. The k-th call after fault_thread_fail_at(k, err) fails
 * with err (as pthread_create does, returning it), or every call from the k-th on if `always`.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "fault_thread.h"

int __real_pthread_create(pthread_t *t, const pthread_attr_t *attr, void *(*fn)(void *), void *arg);
int __wrap_pthread_create(pthread_t *t, const pthread_attr_t *attr, void *(*fn)(void *), void *arg);

static atomic_long calls, fail_at;
static atomic_int fail_err;
static atomic_bool fail_always;

void fault_thread_fail_at(long k, int err, bool always)
{
    atomic_store(&calls, 0);
    atomic_store(&fail_err, err);
    atomic_store(&fail_always, always);
    atomic_store(&fail_at, k);
}

long fault_thread_calls(void)
{
    return atomic_load(&calls);
}

int __wrap_pthread_create(pthread_t *t, const pthread_attr_t *attr, void *(*fn)(void *), void *arg)
{
    long n = atomic_fetch_add(&calls, 1) + 1, k = atomic_load(&fail_at);
    if (k > 0 && (n == k || (n > k && atomic_load(&fail_always)))) return atomic_load(&fail_err);
    return __real_pthread_create(t, attr, fn, arg);
}
