/*
 * Tests of weft/blocking.h: jobs run on pool threads and their awaiting task resumes with the
 * result; several run at once (never more than the pool's size); a job whose awaiter went away
 * (cancelled, lost a select, timed out) runs on without touching the freed frame and is freed
 * when it finishes; weft_runtime_close joins a running job; name resolution of localhost.
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <weft/blocking.h>
#include <weft/select.h>

#include "sync_test.h"

static size_t jobs(weft_runtime *rt)
{
    return sync_stats(rt).jobs;
}

/* Parks until every job has finished and been freed (bounded). */
static void drain_jobs(weft_runtime *rt)
{
    for (int i = 0; i < 100 && jobs(rt) != 0; i++) {
        weft_runtime_run_ready(rt);
        if (jobs(rt) == 0) break;
        assert_int_equal(weft_runtime_park(rt), 0);
    }
    assert_int_equal(jobs(rt), 0);
}

/* ---------------------------------------------------------------------------------------------
 * Jobs
 * ------------------------------------------------------------------------------------------- */

static _Atomic int running_now, running_max;

/* Opened by a test when a job held by it may finish (a time would not do: on a slow machine
 * the job could finish before the step the test means it to outlast). */
static _Atomic int gate_open;

/* Waits (bounded: 30 s and more) until gate_open. */
static void wait_at_gate(void)
{
    for (int i = 0; i < 30000 && !atomic_load(&gate_open); i++)
        sleep_ms(1);
}

struct work {
    pthread_t caller;             /* the thread that asked */
    int other_thread;             /* set by the job: 1 if it ran elsewhere */
    bool gated;                   /* waits for gate_open first */
    bool paired;                  /* waits until two jobs have run at once (running_max) */
    int sleep_ms;                 /* how long the job blocks (after the gate) */
    int input, output;            /* output = input * 2 */
    unsigned char scribble[4096]; /* written all over by the job, at its end */
};

static int work_fn(void *data)
{
    struct work *w = data;
    int now = atomic_fetch_add(&running_now, 1) + 1;
    for (int max = atomic_load(&running_max); now > max;)
        if (atomic_compare_exchange_weak(&running_max, &max, now)) break;
    w->other_thread = !pthread_equal(pthread_self(), w->caller);
    if (w->gated) wait_at_gate();
    for (int i = 0; w->paired && i < 30000 && atomic_load(&running_max) < 2; i++)
        sleep_ms(1); /* a pool thread slow to start must not find every job done */
    sleep_ms(w->sleep_ms);
    w->output = w->input * 2;
    memset(w->scribble, 0xab, sizeof w->scribble);
    atomic_fetch_sub(&running_now, 1);
    return w->input + 1;
}

struct awaiter {
    weft_co co;
    weft_blocking job;
    struct work w;
    int64_t deadline; /* 0: none */
    int result;
};

static int awaiter(void *frame, weft_cx *cx)
{
    struct awaiter *f = frame;
    WEFT_BEGIN(&f->co);
    WEFT_AWAIT(&f->co,
               f->result = weft_blocking_run_dl(&f->job, work_fn, &f->w, sizeof f->w,
                                                f->deadline ? f->deadline : WEFT_NO_DEADLINE, cx));
    WEFT_END(&f->co, f->result);
}

static void blocking_job_runs_elsewhere_and_returns(void **state)
{
    weft_runtime *rt = rt_of(state);
    struct awaiter a = {.w = {.caller = pthread_self(), .input = 20, .sleep_ms = 1}};
    assert_int_equal(weft_runtime_block_on(rt, awaiter, &a), 21);
    assert_int_equal(a.w.other_thread, 1);
    assert_int_equal(a.w.output, 40);
    assert_int_equal(a.job.q.gen, 0); /* reset for reuse */
    /* The same frame again: the job handle is reusable. */
    weft_co_init(&a.co);
    a.w.input = 5;
    assert_int_equal(weft_runtime_block_on(rt, awaiter, &a), 6);
    assert_int_equal(a.w.output, 10);
}

static void blocking_jobs_run_concurrently_up_to_the_pool_size(void **state)
{
    weft_runtime *rt = rt_of(state);
    atomic_store(&running_max, 0);
    struct awaiter a[8];
    for (int i = 0; i < 8; i++) {
        a[i] = (struct awaiter){
            .w = {.caller = pthread_self(), .input = i, .paired = true, .sleep_ms = 20}};
        assert_int_equal(weft_task_spawn(rt, awaiter, &a[i], NULL), 0);
    }
    assert_int_equal(weft_runtime_run(rt), 0);
    for (int i = 0; i < 8; i++) {
        assert_int_equal(a[i].result, i + 1);
        assert_int_equal(a[i].w.output, 2 * i);
    }
    assert_true(atomic_load(&running_max) >= 2);
    assert_true(atomic_load(&running_max) <= WEFT_BLOCKING_THREADS);
}

/* The frame is the runtime's and is freed by the cancel; the job writes 4 KiB at its end. */
static void blocking_job_outlives_its_cancelled_awaiter(void **state)
{
    weft_runtime *rt = rt_of(state);
    weft_task t;
    struct awaiter *a = weft_task_spawn_new(rt, awaiter, sizeof *a, &t);
    assert_non_null(a);
    a->w = (struct work){.caller = pthread_self(), .input = 1, .sleep_ms = 30};
    weft_runtime_run_ready(rt);
    assert_int_equal(jobs(rt), 1);
    assert_int_equal(weft_task_cancel(rt, t), 1); /* frees the frame */
    assert_int_equal(weft_task_result(rt, t), -ECANCELED);
    drain_jobs(rt); /* ASan reports it if the job wrote into the freed frame */
}

/* A select whose timer wins abandons the job; it finishes later and is freed then. */
struct racer {
    weft_co co;
    weft_select sel;
    weft_blocking job;
    struct work w;
    int64_t deadline;
};

static int racer(void *frame, weft_cx *cx)
{
    struct racer *f = frame;
    WEFT_BEGIN(&f->co);
    WEFT_SELECT(
        &f->co, &f->sel,
        weft_select_case(&f->sel, 0, weft_blocking_run(&f->job, work_fn, &f->w, sizeof f->w, cx)) ||
            weft_select_case(&f->sel, 1, weft_sleep_until(f->deadline, cx)));
    WEFT_END(&f->co, f->sel.which);
}

static void blocking_job_abandoned_by_a_select(void **state)
{
    weft_runtime *rt = rt_of(state);
    atomic_store(&gate_open, 0); /* the job cannot win: it finishes after the select */
    struct racer r = {.w = {.caller = pthread_self(), .gated = true, .sleep_ms = 10},
                      .deadline = weft_deadline_in(WEFT_MSEC(5))};
    assert_int_equal(weft_runtime_block_on(rt, racer, &r), 1);
    atomic_store(&gate_open, 1);
    assert_int_equal(r.w.output, 0); /* the job's copy was never written back */
    drain_jobs(rt);
}

static void blocking_deadline_never_early(void **state)
{
    weft_runtime *rt = rt_of(state);
    int64_t start = weft_time_now();
    struct awaiter a = {.w = {.caller = pthread_self(), .sleep_ms = 40},
                        .deadline = start + WEFT_MSEC(10)};
    assert_int_equal(weft_runtime_block_on(rt, awaiter, &a), -ETIMEDOUT);
    assert_true(weft_time_now() - start >= WEFT_MSEC(10));
    assert_int_equal(a.job.q.gen, 0);
    drain_jobs(rt);
}

static void blocking_rejects_bad_arguments(void **state)
{
    weft_runtime *rt = rt_of(state);
    struct awaiter a = {0};
    weft_cx cx = {.rt = rt};
    assert_int_equal(weft_blocking_run(&a.job, NULL, &a.w, sizeof a.w, &cx), -EINVAL);
    assert_int_equal(weft_blocking_run(&a.job, work_fn, NULL, 4, &cx), -EINVAL);
}

/* weft_runtime_close with a job still running: its task is cancelled, the thread joined. */
static void runtime_close_joins_a_running_job(void **state)
{
    (void)state;
    weft_runtime rt;
    assert_int_equal(weft_runtime_init(&rt), 0);
    struct awaiter *a = weft_task_spawn_new(&rt, awaiter, sizeof *a, NULL);
    atomic_store(&gate_open, 0); /* the job runs on until it has been seen running */
    a->w = (struct work){.caller = pthread_self(), .gated = true, .sleep_ms = 30};
    weft_runtime_run_ready(&rt);
    for (int i = 0; i < 30000 && atomic_load(&running_now) == 0; i++)
        sleep_ms(1); /* until a pool thread has picked the job up */
    assert_int_equal(atomic_load(&running_now), 1);
    atomic_store(&gate_open, 1);
    assert_int_equal(weft_runtime_close(&rt), -EBUSY); /* one task had to be cancelled */
    assert_int_equal(atomic_load(&running_now), 0);    /* the job had finished: joined */
}

/* ---------------------------------------------------------------------------------------------
 * Name resolution
 * ------------------------------------------------------------------------------------------- */

/* Resolves hostport with weft_resolve_dl, or host and port with weft_resolve_host_dl if host is
 * set. */
struct resolver {
    weft_co co;
    weft_blocking job;
    const char *hostport, *host, *port;
    int64_t deadline;
    weft_addr addrs[4];
    int n;
};

static int resolver(void *frame, weft_cx *cx)
{
    struct resolver *f = frame;
    int64_t dl = f->deadline ? f->deadline : WEFT_NO_DEADLINE;
    WEFT_BEGIN(&f->co);
    if (f->host != NULL)
        WEFT_AWAIT(&f->co, f->n = weft_resolve_host_dl(&f->job, f->host, f->port, AF_UNSPEC,
                                                       f->addrs, 4, dl, cx));
    else
        WEFT_AWAIT(&f->co, f->n = weft_resolve_dl(&f->job, f->hostport, f->addrs, 4, dl, cx));
    WEFT_END(&f->co, f->n);
}

static int resolve(weft_runtime *rt, struct resolver *r, const char *hostport)
{
    *r = (struct resolver){.hostport = hostport, .deadline = weft_deadline_in(WEFT_SEC(20))};
    return weft_runtime_block_on(rt, resolver, r);
}

static bool is_loopback(const weft_addr *a)
{
    if (a->ss.ss_family == AF_INET) {
        const struct sockaddr_in *in = (const void *)&a->ss;
        return ntohl(in->sin_addr.s_addr) == INADDR_LOOPBACK;
    }
    if (a->ss.ss_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const void *)&a->ss;
        return IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr);
    }
    return false;
}

/* Every address r got for localhost carries port. */
static void expect_localhost_port(const struct resolver *r, int port)
{
    assert_true(r->n >= 1);
    for (int i = 0; i < r->n; i++) {
        assert_true(is_loopback(&r->addrs[i]));
        assert_int_equal(weft_addr_port(&r->addrs[i]), port);
    }
}

static void resolve_localhost(void **state)
{
    weft_runtime *rt = rt_of(state);
    struct resolver r;
    resolve(rt, &r, "localhost:8080");
    expect_localhost_port(&r, 8080);
    drain_jobs(rt);
}

static void resolve_numeric_without_a_thread(void **state)
{
    weft_runtime *rt = rt_of(state);
    struct resolver r = {.hostport = "[::1]:443"};
    weft_cx cx = {.rt = rt};
    assert_int_equal(resolver(&r, &cx), 1); /* first poll, no job */
    assert_int_equal(r.addrs[0].ss.ss_family, AF_INET6);
    assert_int_equal(weft_addr_port(&r.addrs[0]), 443);
    assert_int_equal(jobs(rt), 0);
}

static void resolve_rejects_malformed_strings(void **state)
{
    weft_runtime *rt = rt_of(state);
    struct resolver r;
    assert_int_equal(resolve(rt, &r, "localhost"), WEFT_EADDR);
    assert_int_equal(resolve(rt, &r, "::1:80"), WEFT_EADDR);
    assert_int_equal(resolve(rt, &r, ":80"), WEFT_EADDR);
    assert_int_equal(resolve(rt, &r, "localhost:"), WEFT_EADDR);
    assert_int_equal(resolve(rt, &r, "[::1:80"), WEFT_EADDR);
    char longname[300];
    memset(longname, 'a', sizeof longname);
    strcpy(longname + 280, ".test:80");
    assert_int_equal(resolve(rt, &r, longname), -EINVAL);
}

static int resolve_host(weft_runtime *rt, struct resolver *r, const char *host, const char *port)
{
    *r = (struct resolver){.host = host, .port = port, .deadline = weft_deadline_in(WEFT_SEC(20))};
    return weft_runtime_block_on(rt, resolver, r);
}

/* Port numbers follow weft_addr_parse's rule (0..65535, digits only): getaddrinfo would wrap
 * 99999 to 34463 and take " 80" or "+80". They are refused before any job starts. */
static void resolve_checks_the_port(void **state)
{
    weft_runtime *rt = rt_of(state);
    struct resolver r;
    static const char *const bad[] = {
        "localhost:99999", "localhost:65536", "localhost:123456", "localhost:+80",
        "localhost: 80",   "localhost:80 ",   "localhost:0x50",   "localhost:-80",
        "localhost:8o",    "localhost:ht tp", "localhost:http-",  "localhost:-http",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (resolve(rt, &r, bad[i]) != WEFT_EADDR) fail_msg("%s was not refused", bad[i]);
        assert_int_equal(jobs(rt), 0);
    }
    assert_int_equal(resolve_host(rt, &r, "localhost", "70000"), WEFT_EADDR);
    assert_int_equal(resolve_host(rt, &r, "localhost", "+80"), WEFT_EADDR);
    assert_int_equal(jobs(rt), 0);

    resolve(rt, &r, "localhost:65535");
    expect_localhost_port(&r, 65535);
    resolve(rt, &r, "localhost:0");
    expect_localhost_port(&r, 0);
    resolve_host(rt, &r, "localhost", "00443");
    expect_localhost_port(&r, 443);
    drain_jobs(rt);
}

/* A service name is looked up: one the system does not know is refused... */
static void resolve_refuses_unknown_service_names(void **state)
{
    weft_runtime *rt = rt_of(state);
    struct resolver r;
    assert_int_equal(resolve_host(rt, &r, "localhost", "no-such-service"), WEFT_EADDR);
    drain_jobs(rt);
}

/* ...and one it knows is taken, if it knows any (/etc/services). */
static void resolve_takes_service_names_needs_services(void **state)
{
    weft_runtime *rt = rt_of(state);
    struct resolver r;
    if (getservbyname("http", "tcp") == NULL) {
        drain_jobs(rt);
        print_message("no service named http here (/etc/services: Debian's netbase)\n");
        WEFT_TEST_SKIP(); /* reported by ctest as skipped, not passed */
    }
    resolve(rt, &r, "localhost:http");
    expect_localhost_port(&r, 80);
    resolve_host(rt, &r, "localhost", "http");
    expect_localhost_port(&r, 80);
    drain_jobs(rt);
}

/* .invalid never resolves (RFC 6761). Without a reachable DNS server the failure may be
 * "temporary" (-EAGAIN) or slow (-ETIMEDOUT): what matters is that it is a failure. */
static void resolve_unknown_name_fails(void **state)
{
    weft_runtime *rt = rt_of(state);
    struct resolver r;
    int n = resolve(rt, &r, "no-such-host.invalid:80");
    assert_true(n == WEFT_ERESOLVE || n == -EAGAIN || n == -ETIMEDOUT);
    drain_jobs(rt);
}

int main(void)
{
    alarm(120);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(blocking_job_runs_elsewhere_and_returns, rt_setup,
                                        sync_teardown),
        cmocka_unit_test_setup_teardown(blocking_jobs_run_concurrently_up_to_the_pool_size,
                                        rt_setup, sync_teardown),
        cmocka_unit_test_setup_teardown(blocking_job_outlives_its_cancelled_awaiter, rt_setup,
                                        sync_teardown),
        cmocka_unit_test_setup_teardown(blocking_job_abandoned_by_a_select, rt_setup,
                                        sync_teardown),
        cmocka_unit_test_setup_teardown(blocking_deadline_never_early, rt_setup, sync_teardown),
        cmocka_unit_test_setup_teardown(blocking_rejects_bad_arguments, rt_setup, sync_teardown),
        cmocka_unit_test(runtime_close_joins_a_running_job),
        cmocka_unit_test_setup_teardown(resolve_localhost, rt_setup, sync_teardown),
        cmocka_unit_test_setup_teardown(resolve_numeric_without_a_thread, rt_setup, sync_teardown),
        cmocka_unit_test_setup_teardown(resolve_rejects_malformed_strings, rt_setup, sync_teardown),
        cmocka_unit_test_setup_teardown(resolve_checks_the_port, rt_setup, sync_teardown),
        cmocka_unit_test_setup_teardown(resolve_refuses_unknown_service_names, rt_setup,
                                        sync_teardown),
        cmocka_unit_test_setup_teardown(resolve_takes_service_names_needs_services, rt_setup,
                                        sync_teardown),
        cmocka_unit_test_setup_teardown(resolve_unknown_name_fails, rt_setup, sync_teardown),
    };
    return WEFT_TEST_RUN(tests, NULL, NULL);
}
