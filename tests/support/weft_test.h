/*
 * Helpers shared by every test executable. Tests of any layer may use these; keep them small and
 * free of weft's own layers so that a layer's tests link only that layer.
 */
#ifndef WEFT_TEST_H
#define WEFT_TEST_H

#include <stddef.h>
#include <stdint.h>

/* Number of open file descriptors of this process (entries of /proc/self/fd), for leak checks. */
int weft_test_fd_count(void);

/* CLOCK_MONOTONIC in nanoseconds. */
int64_t weft_test_now_ns(void);

/*
 * Skipping a case that cannot run here (no IPv6 loopback, no name server, no /etc/services).
 * cmocka's skip() alone leaves the exit status at 0, and ctest would count the program as
 * passed; matching cmocka's "[  SKIPPED ]" line instead would hide a failure of another case. So
 * the status says it, and the cases that may skip run apart from the others, so that a skip hides
 * nothing that did run:
 * - name each case that may skip <what>_needs_<word> (round_trip_needs_ipv6, _needs_dns,
 *   _needs_services), a marker no other name carries, and split a case that checks something
 *   unconditional first into two;
 * - call WEFT_TEST_SKIP() (cmocka.h first) rather than skip(), from those cases only;
 * - end main with `return WEFT_TEST_RUN(tests, setup, teardown);`;
 * - register the program with `weft_add_test(... NEEDS <words...>)` (tests/CMakeLists.txt): ctest
 *   test NAME runs the cases without _needs_ (WEFT_TEST_EXCEPT), where a skip fails; NAME_<word>
 *   runs the cases *_needs_<word> (WEFT_TEST_ONLY), reported as skipped if one skips. So a machine
 *   without a name server shows test_http_client_dns skipped, and test_http_client_ipv6 passed.
 * tests/support/check-skips.sh (ctest tests_skips_reported) checks the first three in the sources;
 * which cases skip is checked when they run (a skip in NAME fails it).
 */
/* In a test body only: from a setup or teardown, cmocka would print the next failure as skipped. */
#define WEFT_TEST_SKIP() (weft_test_note_skip(), skip())

/*
 * main's return value: runs the cmocka group `tests` (an array, not a pointer) with
 * cmocka_run_group_tests, restricted by the environment (weft_test_select), and turns the result
 * into the exit status (weft_test_exit).
 */
#define WEFT_TEST_RUN(tests, setup, teardown)                                                      \
    weft_test_exit((weft_test_select((tests), sizeof(tests) / sizeof((tests)[0])),                 \
                    cmocka_run_group_tests(tests, setup, teardown)))

struct CMUnitTest;

/*
 * Picks the cases of tests[0..n) to run from the environment, with cmocka's filters (wildcards
 * * and ?, matched against the whole case name):
 * - WEFT_TEST_ONLY=pattern: only the cases it matches; a skip makes the exit status 77;
 * - WEFT_TEST_EXCEPT=pattern: only the cases it does not match, which must not skip: a skip makes
 *   the exit status 1, with a message; with WEFT_TEST_NEEDS="word ...", a case named
 *   <what>_needs_<word> whose word is not in that list ends the program (no ctest test runs it);
 * - neither (by hand): every case; a skip makes the exit status 77.
 * Both set, a pattern with [ or \ (cmocka knows only * and ?), or one that leaves no case to run
 * (a misspelt or stale pattern would otherwise pass without running anything) ends the program
 * with status 1 and a message on stderr.
 */
void weft_test_select(const struct CMUnitTest *tests, size_t n);

/* Records that the running case is being skipped (WEFT_TEST_SKIP). */
void weft_test_note_skip(void);

/* The exit status for a program whose cmocka run returned `failed` (failed cases and errors, or
 * negative if cmocka itself failed): that count, capped at 70 so that it can never read as a skip,
 * or 70 if negative; else 1 if a case skipped under WEFT_TEST_EXCEPT (weft_test_select); else 77
 * if a case was skipped (WEFT_TEST_SKIP); else 0. */
int weft_test_exit(int failed);

#endif
