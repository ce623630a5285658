/*
 * Allocation faults: malloc, calloc and realloc that fail on the k-th call, and a count of live
 * blocks. See fault.h. Linked with -Wl,--wrap=malloc,calloc,realloc,free.
 */
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

static atomic_long calls;   /* allocations since the last reset */
static atomic_long fail_at; /* the call that fails; 0: none */
static atomic_bool failed;  /* it did */
static atomic_long live;    /* blocks handed out and not freed */

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
    if (p) atomic_fetch_add(&live, 1);
    return p;
}

void *__wrap_calloc(size_t n, size_t size)
{
    if (must_fail()) return NULL;
    void *p = __real_calloc(n, size);
    if (p) atomic_fetch_add(&live, 1);
    return p;
}

/* realloc(NULL, n) is a malloc; otherwise the block count does not change (weft never calls
 * realloc with size 0). A failed realloc leaves the old block alone, as the real one does. */
void *__wrap_realloc(void *p, size_t size)
{
    if (must_fail()) return NULL;
    void *q = __real_realloc(p, size);
    if (q && !p) atomic_fetch_add(&live, 1);
    return q;
}

void __wrap_free(void *p)
{
    if (p) atomic_fetch_sub(&live, 1);
    __real_free(p);
}
