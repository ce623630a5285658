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

/*
 * The array of chunk pointers doubles whenever its count reaches a power of two, so its size is
 * always the next power of two and needs no field of its own. Growing it by one pointer per
 * chunk instead left a trail of freed, already-touched copies of it in the heap, too small for
 * the chunks that came after: 21 bytes of resident memory per task at a million tasks
 * (bench/weft_tasks: 95.9 bytes per task for a 72-byte record).
 */
static int grow_chunk_array(struct weft__table *t)
{
    uint32_t n = t->nchunks;
    if (n != 0 && (n & (n - 1)) != 0) return 0; /* not a power of two: there is room */
    void **chunks = realloc(t->chunks, (n == 0 ? 1u : 2u * n) * sizeof *chunks);
    if (chunks == NULL) return -ENOMEM;
    t->chunks = chunks;
    return 0;
}

int64_t weft__table_grow(struct weft__table *t, size_t size)
{
    if (weft__table_cap(t) >= WEFT__MAX_SLOTS) return -ENOMEM;
    if (grow_chunk_array(t) < 0) return -ENOMEM;
    void **chunks = t->chunks;
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
