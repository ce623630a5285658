/*
 * A table of fixed-size records that never move.
 *
 * Task records embed their timer node, and the timer queue keeps pointers to those nodes; so a
 * record's address must not change while the table grows. Growing therefore adds a chunk of
 * WEFT__CHUNK zeroed records and only the (small) array of chunk pointers is reallocated. Slot s
 * lives in chunk s / WEFT__CHUNK, which costs one extra load per lookup compared with a flat
 * array, and nothing else.
 */
#include "runtime/internal.h"

#include <errno.h>
#include <stdlib.h>

int64_t weft__table_grow(struct weft__table *t, size_t size)
{
    if (weft__table_cap(t) >= WEFT__MAX_SLOTS) return -ENOMEM;
    void **chunks = realloc(t->chunks, (t->nchunks + 1u) * sizeof *chunks);
    if (chunks == NULL) return -ENOMEM;
    t->chunks = chunks;
    void *chunk = calloc(WEFT__CHUNK, size);
    if (chunk == NULL) return -ENOMEM;
    chunks[t->nchunks] = chunk;
    t->nchunks++;
    return (int64_t)(t->nchunks - 1u) * WEFT__CHUNK;
}

void weft__table_free(struct weft__table *t)
{
    for (uint32_t i = 0; i < t->nchunks; i++)
        free(t->chunks[i]);
    free(t->chunks);
    t->chunks = NULL;
    t->nchunks = 0;
    t->free_head = 0;
}
