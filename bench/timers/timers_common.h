/*
 * What the timer benchmarks share: the workload (N one-shot timers with random deadlines in the
 * next second, the same pseudo-random sequence for every program), the clock, and the report.
 *
 * Every program prints one line of key=value pairs so that bench/timers/run.sh can interleave
 * them and take medians:
 *   cpu_s        user + system CPU of the whole process, setup (allocate + insert) included
 *   user_s/sys_s the two halves of cpu_s
 *   setup_cpu_s  the part of cpu_s spent allocating and inserting
 *   bytes        peak RSS growth over the baseline taken just before the timers were allocated,
 *                per timer
 *   last_late_ms when the last timer fired, minus the latest deadline
 *   max_late_ms  the largest (fire time - deadline) of any timer
 *   run_max_late_ms  the same over timers due after setup ended (the early deadlines pass while
 *                the program is still inserting, so they are late by up to the setup time)
 *   early        timers that fired before their deadline (must be 0)
 *   wakeups      times the program slept waiting for the next deadline
 */
#ifndef BENCH_TIMERS_COMMON_H
#define BENCH_TIMERS_COMMON_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <time.h>

#define BENCH_DEFAULT_TIMERS 1000000L
#define BENCH_SPAN_NS        1000000000LL

static inline int64_t bench_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* splitmix64: small, fast, and the same sequence in every program for a given seed. */
static inline uint64_t bench_random(uint64_t *state)
{
    uint64_t z = (*state += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

struct bench_run {
    long timers;          /* How many timers the run starts. */
    uint64_t seed;        /* State of bench_random. */
    long baseline_kb;     /* ru_maxrss before the timers were allocated. */
    int64_t cpu_start_ns; /* CPU used before the timers were allocated. */
    int64_t cpu_setup_ns; /* CPU when the last timer had been inserted. */
    long fired, early, wakeups;
    int64_t setup_end; /* Wall clock (CLOCK_MONOTONIC ns) when the last timer was inserted. */
    int64_t max_deadline, last_fire, max_late, run_max_late;
};

static inline int64_t bench_tv_ns(struct timeval tv)
{
    return (int64_t)tv.tv_sec * 1000000000LL + (int64_t)tv.tv_usec * 1000LL;
}

static inline int64_t bench_cpu_ns(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return bench_tv_ns(ru.ru_utime) + bench_tv_ns(ru.ru_stime);
}

static inline long bench_maxrss_kb(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss;
}

/* Reads the command line (`[timers [seed]]`) and takes the baselines. */
static inline void bench_begin(struct bench_run *r, int argc, char **argv)
{
    *r = (struct bench_run){0};
    r->timers = argc > 1 ? strtol(argv[1], NULL, 10) : BENCH_DEFAULT_TIMERS;
    r->seed = argc > 2 ? strtoull(argv[2], NULL, 10) : 42;
    if (r->timers <= 0) {
        fprintf(stderr, "usage: %s [timers [seed]]\n", argv[0]);
        exit(2);
    }
    r->baseline_kb = bench_maxrss_kb();
    r->cpu_start_ns = bench_cpu_ns();
}

/* Marks the end of setup: every timer is queued. */
static inline void bench_setup_done(struct bench_run *r)
{
    r->cpu_setup_ns = bench_cpu_ns();
    r->setup_end = bench_now_ns();
}

/* Records that a timer due at `deadline` (ns) is firing now. */
static inline void bench_fired(struct bench_run *r, int64_t deadline)
{
    int64_t now = bench_now_ns();
    int64_t late = now - deadline;
    r->fired++;
    if (late < 0) r->early++;
    if (late > r->max_late) r->max_late = late;
    if (deadline > r->setup_end && late > r->run_max_late) r->run_max_late = late;
    if (deadline > r->max_deadline) r->max_deadline = deadline;
    r->last_fire = now;
}

/* Prints the one-line report; returns the exit status (non-zero if the run was wrong). */
static inline int bench_report(const struct bench_run *r, const char *impl)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    int64_t user = bench_tv_ns(ru.ru_utime), sys = bench_tv_ns(ru.ru_stime);
    double bytes = (double)(ru.ru_maxrss - r->baseline_kb) * 1024.0 / (double)r->timers;
    printf("impl=%s timers=%ld cpu_s=%.3f user_s=%.3f sys_s=%.3f setup_cpu_s=%.3f bytes=%.1f "
           "last_late_ms=%.3f max_late_ms=%.3f run_max_late_ms=%.3f early=%ld wakeups=%ld\n",
           impl, r->timers, (double)(user + sys - r->cpu_start_ns) / 1e9, (double)user / 1e9,
           (double)sys / 1e9, (double)(r->cpu_setup_ns - r->cpu_start_ns) / 1e9, bytes,
           (double)(r->last_fire - r->max_deadline) / 1e6, (double)r->max_late / 1e6,
           (double)r->run_max_late / 1e6, r->early, r->wakeups);
    if (r->fired != r->timers) {
        fprintf(stderr, "%s: %ld of %ld timers fired\n", impl, r->fired, r->timers);
        return 1;
    }
    return r->early != 0;
}

#endif
