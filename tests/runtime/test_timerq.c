/*
 * Tests of the timer queue (src/runtime/timerq.h), the runtime's set of pending deadlines: order
 * by deadline, first-in first-out ties, cancel and reschedule anywhere in the heap, pop never
 * returning a timer that is not yet due, and 100 000 random operations checked against a plain
 * reference model. The queue is pure data (no clock), so time here is just numbers.
 *
 * realloc is wrapped (-Wl,--wrap=realloc) only to make the array's growth fail on demand: running
 * out of memory for real is not something a test can arrange reliably.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "runtime/timerq.h"

/* --- Fault injection: malloc (the queue's first array) and realloc (its growth) fail while
 * `malloc_failures` / `realloc_failures` are positive. --- */

void *__real_malloc(size_t size);
void *__wrap_malloc(size_t size);
void *__real_realloc(void *ptr, size_t size);
void *__wrap_realloc(void *ptr, size_t size);

static int malloc_failures, realloc_failures;

void *__wrap_malloc(size_t size)
{
    if (malloc_failures > 0) {
        malloc_failures--;
        return NULL;
    }
    return __real_malloc(size);
}

void *__wrap_realloc(void *ptr, size_t size)
{
    if (realloc_failures > 0) {
        realloc_failures--;
        return NULL;
    }
    return __real_realloc(ptr, size);
}

/* --- Fixture: a queue and a pool of timers, all zeroed. --- */

#define POOL 2048

struct fixture {
    weft__timerq q;
    weft__timer t[POOL];
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    if (f == NULL || weft__timerq_init(&f->q) != 0) return -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    malloc_failures = realloc_failures = 0;
    weft__timerq_free(&f->q);
    free(f);
    return 0;
}

static weft__timerq *queue_of(void **state)
{
    return &((struct fixture *)*state)->q;
}

static weft__timer *timers_of(void **state)
{
    return ((struct fixture *)*state)->t;
}

/* Index of a popped timer in the pool, or -1 for NULL. */
static long pop_index(void **state, int64_t now)
{
    weft__timer *t = weft__timerq_pop(queue_of(state), now);
    return t == NULL ? -1 : (long)(t - timers_of(state));
}

/* Adds pool timer `i` at `deadline`, which must succeed. */
static void add(void **state, long i, int64_t deadline)
{
    assert_int_equal(weft__timerq_add(queue_of(state), &timers_of(state)[i], deadline), 0);
}

/* --- Order --- */

static void empty_queue(void **state)
{
    weft__timerq *q = queue_of(state);
    assert_int_equal(weft__timerq_len(q), 0);
    assert_int_equal(weft__timerq_next(q), -1);
    assert_null(weft__timerq_pop(q, INT64_MAX));
    assert_false(weft__timerq_queued(&timers_of(state)[0]));
}

static void pops_in_deadline_order(void **state)
{
    /* 1000 distinct deadlines, added in a scrambled order (7 is coprime with 1000). */
    for (long i = 0; i < 1000; i++)
        add(state, i, (i * 7 % 1000) * 10 + 5);
    assert_int_equal(weft__timerq_len(queue_of(state)), 1000);
    int64_t last = -1;
    for (long n = 0; n < 1000; n++) {
        weft__timer *t = weft__timerq_pop(queue_of(state), INT64_MAX);
        assert_non_null(t);
        assert_false(weft__timerq_queued(t));
        assert_true(t->deadline > last);
        last = t->deadline;
    }
    assert_null(weft__timerq_pop(queue_of(state), INT64_MAX));
    assert_int_equal(weft__timerq_len(queue_of(state)), 0);
}

static void ties_fire_in_insertion_order(void **state)
{
    /* Three deadlines, interleaved; within each, pool order is insertion order. */
    for (long i = 0; i < 300; i++)
        add(state, i, 1000 * (i % 3));
    for (long d = 0; d < 3; d++) {
        for (long k = 0; k < 100; k++)
            assert_int_equal(pop_index(state, INT64_MAX), k * 3 + d);
    }
}

static void reschedule_orders_as_newly_added(void **state)
{
    for (long i = 0; i < 5; i++)
        add(state, i, 100);
    add(state, 1, 100); /* same deadline, rescheduled: now the last of the ties */
    add(state, 3, 50);  /* earlier deadline: now first */
    assert_int_equal(weft__timerq_len(queue_of(state)), 5);
    static const long expect[] = {3, 0, 2, 4, 1};
    for (size_t k = 0; k < 5; k++)
        assert_int_equal(pop_index(state, INT64_MAX), expect[k]);
}

static void ties_stay_in_order_across_the_insertion_number_wrap(void **state)
{
    /* Insertion numbers are 32 bits: start just below the wrap, so that the ties straddle it. */
    queue_of(state)->next_seq = UINT32_MAX - 2;
    for (long i = 0; i < 6; i++)
        add(state, i, 100);
    assert_int_equal(timers_of(state)[5].seq, 2); /* it wrapped */
    for (long k = 0; k < 6; k++)
        assert_int_equal(pop_index(state, INT64_MAX), k);
}

/* --- Pop and next --- */

static void pop_never_returns_future_timers(void **state)
{
    weft__timerq *q = queue_of(state);
    add(state, 0, 100);
    add(state, 1, 200);
    add(state, 2, 0);
    add(state, 3, INT64_MAX);
    assert_int_equal(pop_index(state, 0), 2); /* due exactly now: fires */
    assert_int_equal(pop_index(state, 0), -1);
    assert_int_equal(pop_index(state, 99), -1);
    assert_int_equal(weft__timerq_len(q), 3); /* a refused pop changes nothing */
    assert_int_equal(pop_index(state, 150), 0);
    assert_int_equal(pop_index(state, 150), -1);
    assert_int_equal(pop_index(state, INT64_MAX - 1), 1);
    assert_int_equal(pop_index(state, INT64_MAX - 1), -1);
    assert_int_equal(pop_index(state, INT64_MAX), 3);
}

static void next_is_the_earliest_deadline(void **state)
{
    weft__timerq *q = queue_of(state);
    add(state, 0, 300);
    assert_int_equal(weft__timerq_next(q), 300);
    add(state, 1, 100);
    add(state, 2, 200);
    assert_int_equal(weft__timerq_next(q), 100);
    weft__timerq_cancel(q, &timers_of(state)[1]);
    assert_int_equal(weft__timerq_next(q), 200);
    add(state, 2, 400); /* rescheduling the head later */
    assert_int_equal(weft__timerq_next(q), 300);
    assert_int_equal(pop_index(state, 1000), 0);
    assert_int_equal(weft__timerq_next(q), 400);
    assert_int_equal(pop_index(state, 1000), 2);
    assert_int_equal(weft__timerq_next(q), -1);
}

/* --- Cancel --- */

/* Fills the queue with timers 0..n-1 at deadlines 10, 20, ... and cancels timer `victim`. */
static void cancel_one_of(void **state, long n, long victim)
{
    weft__timerq *q = queue_of(state);
    for (long i = 0; i < n; i++)
        add(state, i, (i + 1) * 10);
    weft__timerq_cancel(q, &timers_of(state)[victim]);
    assert_false(weft__timerq_queued(&timers_of(state)[victim]));
    assert_int_equal(weft__timerq_len(q), n - 1);
    for (long i = 0; i < n; i++) {
        if (i != victim) assert_int_equal(pop_index(state, INT64_MAX), i);
    }
    assert_int_equal(pop_index(state, INT64_MAX), -1);
}

static void cancel_head(void **state)
{
    cancel_one_of(state, 100, 0);
}

static void cancel_middle(void **state)
{
    cancel_one_of(state, 100, 37);
}

static void cancel_last(void **state)
{
    cancel_one_of(state, 100, 99); /* the last slot of the array: no hole to fill */
}

static void cancel_not_queued_is_a_no_op(void **state)
{
    weft__timerq *q = queue_of(state);
    weft__timer *t = timers_of(state);
    weft__timerq_cancel(q, &t[0]); /* never added */
    add(state, 1, 10);
    assert_int_equal(pop_index(state, 10), 1);
    weft__timerq_cancel(q, &t[1]); /* already popped */
    add(state, 2, 20);
    weft__timerq_cancel(q, &t[2]);
    weft__timerq_cancel(q, &t[2]); /* already cancelled */
    assert_int_equal(weft__timerq_len(q), 0);
}

static void readd_after_cancel_and_pop(void **state)
{
    weft__timerq *q = queue_of(state);
    add(state, 0, 50);
    weft__timerq_cancel(q, &timers_of(state)[0]);
    add(state, 0, 70);
    assert_true(weft__timerq_queued(&timers_of(state)[0]));
    assert_int_equal(weft__timerq_next(q), 70);
    assert_int_equal(pop_index(state, 70), 0);
    add(state, 0, 80); /* re-added after its pop, as a periodic timer would be */
    assert_int_equal(pop_index(state, 80), 0);
    assert_int_equal(weft__timerq_len(q), 0);
}

/* --- Random operations against a reference model --- */

/* The model: for each pool timer, whether it is pending, its deadline and its insertion stamp. */
struct model {
    bool pending[POOL];
    int64_t deadline[POOL];
    uint64_t stamp[POOL];
    uint64_t next_stamp;
    size_t len;
};

/* The pool index of the timer the model says fires next at `now`, or -1. */
static long model_due(const struct model *m, int64_t now)
{
    long best = -1;
    for (long i = 0; i < POOL; i++) {
        if (!m->pending[i] || m->deadline[i] > now) continue;
        if (best < 0 || m->deadline[i] < m->deadline[best] ||
            (m->deadline[i] == m->deadline[best] && m->stamp[i] < m->stamp[best]))
            best = i;
    }
    return best;
}

static void model_add(struct model *m, long i, int64_t deadline)
{
    if (!m->pending[i]) m->len++;
    m->pending[i] = true;
    m->deadline[i] = deadline;
    m->stamp[i] = m->next_stamp++;
}

static void model_remove(struct model *m, long i)
{
    if (m->pending[i]) m->len--;
    m->pending[i] = false;
}

/* xorshift64: a fixed, reproducible sequence. */
static uint64_t next_random(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

/* One random operation on both the queue and the model; deadlines cluster to make ties common. */
static void random_step(void **state, struct model *m, uint64_t *rng, int64_t *now)
{
    weft__timerq *q = queue_of(state);
    uint64_t r = next_random(rng);
    long i = (long)(r % POOL);
    int op = (int)((r >> 16) % 10);
    if (op < 5) { /* add or reschedule, at or after `now`, or just before it */
        int64_t deadline = *now - 5 + (int64_t)((r >> 24) % 2000);
        add(state, i, deadline);
        model_add(m, i, deadline);
    } else if (op < 7) {
        weft__timerq_cancel(q, &timers_of(state)[i]);
        model_remove(m, i);
    } else { /* pop, sometimes after time moves on */
        if (op == 9) *now += (int64_t)((r >> 24) % 50);
        long want = model_due(m, *now);
        assert_int_equal(pop_index(state, *now), want);
        if (want >= 0) model_remove(m, want);
    }
}

/* The invariants the model can check after every step. */
static void check_against_model(void **state, const struct model *m)
{
    weft__timerq *q = queue_of(state);
    assert_int_equal(weft__timerq_len(q), m->len);
    long first = model_due(m, INT64_MAX);
    assert_int_equal(weft__timerq_next(q), first < 0 ? -1 : m->deadline[first]);
}

static void random_operations_match_the_model(void **state)
{
    static struct model m; /* large: keep it off the stack */
    m = (struct model){0};
    uint64_t rng = 0x9E3779B97F4A7C15u;
    int64_t now = 1000;
    for (long step = 0; step < 100000; step++) {
        random_step(state, &m, &rng, &now);
        if (step % 16 == 0) check_against_model(state, &m);
    }
    for (long i = 0; i < POOL; i++) {
        assert_int_equal(weft__timerq_queued(&timers_of(state)[i]), m.pending[i]);
    }
    /* Drain: everything left comes out in the model's order. */
    for (long want; (want = model_due(&m, INT64_MAX)) >= 0; model_remove(&m, want)) {
        assert_int_equal(pop_index(state, INT64_MAX), want);
    }
    assert_int_equal(weft__timerq_len(queue_of(state)), 0);
}

/* --- Growth and out of memory --- */

static void grows_and_shrinks_back(void **state)
{
    static weft__timer many[100000];
    weft__timerq *q = queue_of(state);
    size_t initial = q->cap;
    for (long i = 0; i < 100000; i++) {
        assert_int_equal(weft__timerq_add(q, &many[i], (i * 7919) % 100000), 0);
    }
    assert_true(q->cap >= 100000);
    assert_true(q->cap < 200000); /* doubling: never more than twice what is needed */
    for (long i = 0; i < 100000; i++) {
        weft__timer *t = weft__timerq_pop(q, INT64_MAX);
        assert_non_null(t);
        assert_int_equal(t->deadline, i);
    }
    assert_true(q->cap <= 4 * initial); /* the burst's memory went back */
}

static void add_fails_cleanly_when_growth_fails(void **state)
{
    weft__timerq *q = queue_of(state);
    weft__timer *t = timers_of(state);
    long cap = (long)q->cap;
    for (long i = 0; i < cap; i++)
        add(state, i, 1000 - i);

    realloc_failures = 1;
    assert_int_equal(weft__timerq_add(q, &t[cap], 1), -ENOMEM);
    assert_false(weft__timerq_queued(&t[cap]));
    assert_int_equal(weft__timerq_len(q), cap);
    assert_int_equal(weft__timerq_next(q), 1000 - (cap - 1));

    /* Rescheduling a queued timer needs no memory, so it works while the array is full. */
    realloc_failures = 1000;
    assert_int_equal(weft__timerq_add(q, &t[0], 5), 0);
    assert_int_equal(weft__timerq_next(q), 5);

    /* A shrink that fails is harmless: the larger array stays. */
    realloc_failures = 0;
    add(state, cap, 2000); /* grows */
    realloc_failures = 1000;
    assert_int_equal(pop_index(state, INT64_MAX), 0);
    for (long k = cap - 1; k >= 1; k--)
        assert_int_equal(pop_index(state, INT64_MAX), k);
    assert_int_equal(pop_index(state, INT64_MAX), cap);
    assert_int_equal(weft__timerq_len(q), 0);
}

static void init_reports_enomem(void **state)
{
    (void)state;
    weft__timerq q;
    malloc_failures = 1;
    assert_int_equal(weft__timerq_init(&q), -ENOMEM);
    assert_int_equal(malloc_failures, 0); /* the failure was init's own */
    weft__timerq_free(&q);                /* harmless on a queue whose init failed */
    assert_int_equal(weft__timerq_init(&q), 0);
    weft__timerq_free(&q);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(empty_queue),
        T(pops_in_deadline_order),
        T(ties_fire_in_insertion_order),
        T(reschedule_orders_as_newly_added),
        T(ties_stay_in_order_across_the_insertion_number_wrap),
        T(pop_never_returns_future_timers),
        T(next_is_the_earliest_deadline),
        T(cancel_head),
        T(cancel_middle),
        T(cancel_last),
        T(cancel_not_queued_is_a_no_op),
        T(readd_after_cancel_and_pop),
        T(random_operations_match_the_model),
        T(grows_and_shrinks_back),
        T(add_fails_cleanly_when_growth_fails),
        cmocka_unit_test(init_reports_enomem),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
