#define _GNU_SOURCE
#include "weft_test.h"

#include <setjmp.h>
#include <stdarg.h>

#include <cmocka.h>

#include <dirent.h>
#include <fnmatch.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int weft_test_fd_count(void)
{
    DIR *dir = opendir("/proc/self/fd");
    if (!dir) return -1;
    int n = 0;
    struct dirent *entry;
    while ((entry = readdir(dir)) != NULL)
        if (entry->d_name[0] != '.') n++;
    closedir(dir);
    return n - 1; /* the directory stream's own fd */
}

int64_t weft_test_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Written by the test's own thread only (cmocka runs cases one after another). */
static int skipped;
static const char *must_not_skip; /* WEFT_TEST_EXCEPT's pattern, if set */

/* Ends the program before any case ran: the selection asked for is not usable. */
static void refuse(const char *why, const char *what, const char *name)
{
    fprintf(stderr, "weft_test_select: %s (%s \"%s\")\n", why, what, name);
    exit(1);
}

/* Cases of tests[0..n) whose name pattern matches. cmocka's own matcher knows only * and ?, as
 * fnmatch does once [ and \ are refused, so both pick the same cases. */
static size_t count_matching(const struct CMUnitTest *tests, size_t n, const char *pattern)
{
    if (strpbrk(pattern, "[\\") != NULL)
        refuse("only the wildcards * and ? are known", "pattern", pattern);
    size_t count = 0;
    for (size_t i = 0; i < n; i++)
        if (tests[i].name != NULL && fnmatch(pattern, tests[i].name, 0) == 0) count++;
    return count;
}

/* Whether word (len bytes) is one of the space-separated words of list. */
static bool listed(const char *list, const char *word, size_t len)
{
    for (const char *p = list; *p != '\0';) {
        size_t n = strcspn(p, " ");
        if (n == len && strncmp(p, word, len) == 0) return true;
        p += n;
        p += strspn(p, " ");
    }
    return false;
}

/* Ends the program if a case of tests[0..n) is named <what>_needs_<word> and word is not in needs
 * (WEFT_TEST_NEEDS, from weft_add_test's NEEDS): no ctest test would run that case. */
static void check_needs(const struct CMUnitTest *tests, size_t n, const char *needs)
{
    static const char marker[] = "_needs_";
    for (size_t i = 0; i < n; i++) {
        const char *at = tests[i].name != NULL ? strstr(tests[i].name, marker) : NULL;
        if (at == NULL) continue;
        const char *word = at + sizeof marker - 1;
        if (!listed(needs, word, strlen(word)))
            refuse("a case needs a word that weft_add_test's NEEDS does not list, so no ctest "
                   "test runs it",
                   "case", tests[i].name);
    }
}

void weft_test_select(const struct CMUnitTest *tests, size_t n)
{
    const char *only = getenv("WEFT_TEST_ONLY");
    const char *except = getenv("WEFT_TEST_EXCEPT");
    if (only != NULL && except != NULL)
        refuse("WEFT_TEST_ONLY and WEFT_TEST_EXCEPT both set", "pattern", only);
    if (only != NULL) {
        if (count_matching(tests, n, only) == 0)
            refuse("WEFT_TEST_ONLY matches no case", "pattern", only);
        cmocka_set_test_filter(only);
    } else if (except != NULL) {
        if (count_matching(tests, n, except) == n)
            refuse("WEFT_TEST_EXCEPT leaves no case", "pattern", except);
        cmocka_set_skip_filter(except);
        must_not_skip = except;
        const char *needs = getenv("WEFT_TEST_NEEDS");
        if (needs != NULL) check_needs(tests, n, needs);
    }
}

void weft_test_note_skip(void)
{
    skipped = 1;
}

int weft_test_exit(int failed)
{
    if (failed != 0) return failed < 0 || failed > 70 ? 70 : failed; /* < 0: cmocka's own error */
    if (skipped && must_not_skip != NULL) {
        printf("# FAILED: a case skipped, but only the cases matching \"%s\" may (they run "
               "apart, with WEFT_TEST_ONLY): name it so, or make it pass here\n",
               must_not_skip);
        return 1;
    }
    return skipped ? 77 : 0;
}
