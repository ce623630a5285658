/*
 * Spawning a joinable task when memory runs out in the one allocation a spawn makes beyond the
 * task table: the joiner table (one waker per task slot, grown when a joinable task is spawned so
 * that a join never allocates). The spawn must fail with -ENOMEM and take nothing: no task, no
 * frame, and the task record it had taken goes back to the free list. realloc is wrapped (the
 * only way to run out of memory on demand).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "runtime_test.h"

void *__real_realloc(void *ptr, size_t size);
void *__wrap_realloc(void *ptr, size_t size);

static size_t fail_above; /* while not 0: a realloc of more bytes than this fails */

void *__wrap_realloc(void *ptr, size_t size)
{
    if (fail_above != 0 && size > fail_above) return NULL;
    return __real_realloc(ptr, size);
}

/* Records per task-table chunk: the joiner table covers them from the first joinable spawn. */
enum { FIRST_CHUNK = 256 };

/*
 * With the first chunk of task records full, the next spawn adds a chunk and must grow the joiner
 * table; that growth fails. The failed spawns leave the task count as it was, and the next spawn
 * gets the very slot they had taken (a freed record is reused first), so no record was lost.
 */
static void a_spawn_that_cannot_grow_the_joiner_table_takes_nothing(void **state)
{
    weft_runtime *rt = rt_of(state);
    static struct rt_yielder y[FIRST_CHUNK + 1];
    weft_task t[FIRST_CHUNK + 1];
    for (int i = 0; i < FIRST_CHUNK; i++) {
        y[i] = (struct rt_yielder){.n = 0, .result = i};
        assert_int_equal(weft_task_spawn(rt, rt_yielder_fn, &y[i], &t[i]), 0);
    }
    assert_int_equal(t[FIRST_CHUNK - 1].slot, FIRST_CHUNK - 1); /* the first chunk is full */
    fail_above = 1024; /* the joiner table's growth; the chunk array's few pointers still grow */
    int r = weft_task_spawn(rt, rt_yielder_fn, &y[FIRST_CHUNK], &t[FIRST_CHUNK]);
    weft_task other;
    void *frame = weft_task_spawn_new(rt, rt_yielder_fn, sizeof(struct rt_yielder), &other);
    fail_above = 0;
    assert_int_equal(r, -ENOMEM);
    assert_null(frame); /* and its frame freed: ASan's leak check */
    assert_int_equal(weft_runtime_task_count(rt), FIRST_CHUNK);
    y[FIRST_CHUNK] = (struct rt_yielder){.n = 0, .result = FIRST_CHUNK};
    assert_int_equal(weft_task_spawn(rt, rt_yielder_fn, &y[FIRST_CHUNK], &t[FIRST_CHUNK]), 0);
    assert_int_equal(t[FIRST_CHUNK].slot, FIRST_CHUNK); /* the failed spawns gave it back */
    assert_int_equal(weft_runtime_run(rt), 0);
    for (int i = 0; i <= FIRST_CHUNK; i++)
        assert_int_equal(weft_task_result(rt, t[i]), i);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(a_spawn_that_cannot_grow_the_joiner_table_takes_nothing,
                                        rt_setup, rt_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
