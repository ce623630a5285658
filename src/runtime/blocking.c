/* The blocking pool (being written). */
#include "runtime/ext.h"

size_t weft__pool_close(weft_runtime *rt, struct weft__ext *x)
{
    (void)rt;
    return x->jobs;
}
