#define _GNU_SOURCE
#include "weft_test.h"

#include <dirent.h>
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

void weft_test_note_skip(void)
{
    skipped = 1;
}

int weft_test_exit(int failed)
{
    if (failed != 0) return failed < 0 || failed > 70 ? 70 : failed; /* < 0: cmocka's own error */
    return skipped ? 77 : 0;
}
