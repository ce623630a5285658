/*
 * Helpers shared by every test executable. Tests of any layer may use these; keep them small and
 * free of weft's own layers so that a layer's tests link only that layer.
 */
#ifndef WEFT_TEST_H
#define WEFT_TEST_H

#include <stdint.h>

/* Number of open file descriptors of this process (entries of /proc/self/fd), for leak checks. */
int weft_test_fd_count(void);

/* CLOCK_MONOTONIC in nanoseconds. */
int64_t weft_test_now_ns(void);

#endif
