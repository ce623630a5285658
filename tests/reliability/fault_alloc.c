/*
 * Allocation faults: malloc, calloc and realloc that fail on the k-th call, and a count of live
 * blocks. See fault.h. Linked with -Wl,--wrap=malloc,calloc,realloc,free.
 */
#include <malloc.h> /* malloc_usable_size */
#include <stdatomic.h>
#include <stdlib.h>

#include "fault.h"

void *__real_malloc(size_t size);
void *__real_calloc(size_t n, size_t size);
void *__real_realloc(void *p, size_t size);
void __real_free(void *p);
void *__wrap_malloc(size_t size);
void *__wrap_calloc(size_t n, size_t size);
void *__wrap_realloc(void *p, size_t size);
void __wrap_free(void *p);

static atomic_long calls;      /* allocations since the last reset */
static atomic_long fail_at;    /* the call that fails; 0: none */
static atomic_bool failed;     /* it did */
static atomic_long live;       /* blocks handed out and not freed */
static atomic_long live_bytes; /* their usable sizes */
static atomic_long peak_bytes; /* the most live_bytes has been since the last peak reset */

void fault_alloc_reset(void)
{
    atomic_store(&calls, 0);
    atomic_store(&fail_at, 0);
    atomic_store(&failed, false);
}

void fault_alloc_fail_at(long k)
{
    atomic_store(&calls, 0);
    atomic_store(&failed, false);
    atomic_store(&fail_at, k);
}

long fault_alloc_count(void)
{
    return atomic_load(&calls);
}

bool fault_alloc_failed(void)
{
    return atomic_load(&failed);
}

long fault_alloc_live(void)
{
    return atomic_load(&live);
}

long fault_alloc_live_bytes(void)
{
    return atomic_load(&live_bytes);
}

long fault_alloc_peak_bytes(void)
{
    return atomic_load(&peak_bytes);
}

void fault_alloc_peak_reset(void)
{
    atomic_store(&peak_bytes, atomic_load(&live_bytes));
}

/* Accounts for a block coming (sign 1) or going (-1). */
static void account(void *p, long sign)
{
    long size = sign * (long)malloc_usable_size(p);
    long now = atomic_fetch_add(&live_bytes, size) + size;
    long peak = atomic_load(&peak_bytes);
    while (now > peak && !atomic_compare_exchange_weak(&peak_bytes, &peak, now)) {
    }
}

/* Counts one allocation; true if this one must fail. */
static bool must_fail(void)
{
    long n = atomic_fetch_add(&calls, 1) + 1;
    if (n != atomic_load(&fail_at)) return false;
    atomic_store(&failed, true);
    return true;
}

void *__wrap_malloc(size_t size)
{
    if (must_fail()) return NULL;
    void *p = __real_malloc(size);
    if (p) {
        atomic_fetch_add(&live, 1);
        account(p, 1);
    }
    return p;
}

void *__wrap_calloc(size_t n, size_t size)
{
    if (must_fail()) return NULL;
    void *p = __real_calloc(n, size);
    if (p) {
        atomic_fetch_add(&live, 1);
        account(p, 1);
    }
    return p;
}

/* realloc(NULL, n) is a malloc; otherwise the block count does not change (weft never calls
 * realloc with size 0). A failed realloc leaves the old block alone, as the real one does. */
void *__wrap_realloc(void *p, size_t size)
{
    if (must_fail()) return NULL;
    long old = p ? (long)malloc_usable_size(p) : 0;
    void *q = __real_realloc(p, size);
    if (!q) return NULL;
    if (!p) atomic_fetch_add(&live, 1);
    atomic_fetch_sub(&live_bytes, old);
    account(q, 1);
    return q;
}

void __wrap_free(void *p)
{
    if (p) {
        atomic_fetch_sub(&live, 1);
        account(p, -1);
    }
    __real_free(p);
}
