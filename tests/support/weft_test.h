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

/*
 * Skipping a case that cannot run here (no IPv6 loopback, no name server). cmocka's skip() alone
 * leaves the program's exit status at 0, and ctest would count the program as passed; matching
 * cmocka's "[  SKIPPED ]" line instead would hide a failure of another case. So the status says
 * it: call WEFT_TEST_SKIP() (cmocka.h first) rather than skip(), end main with
 * `return weft_test_exit(cmocka_run_group_tests(...));`, and register the program with
 * `weft_add_test(... SKIPS)`, which makes 77 ctest's SKIP_RETURN_CODE for it.
 */
/* In a test body only: from a setup or teardown, cmocka would print the next failure as skipped. */
#define WEFT_TEST_SKIP() (weft_test_note_skip(), skip())

/* Records that the running case is being skipped (WEFT_TEST_SKIP). */
void weft_test_note_skip(void);

/* The exit status for a program whose cmocka run returned `failed` (failed cases and errors, or
 * negative if cmocka itself failed): that count, capped at 70 so that it can never read as a skip,
 * or 70 if negative; else 77 if a case was skipped (WEFT_TEST_SKIP); else 0. */
int weft_test_exit(int failed);

#endif
