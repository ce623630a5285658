/*
 * Runs a fuzz target over saved inputs without libFuzzer, so that every build (gcc or clang,
 * plain or ASan) replays the seed corpus as an ordinary ctest test.
 *
 *   fuzz_xxx_replay [DIR_OR_FILE...]      default: the target's seed corpus (WEFT_FUZZ_CORPUS)
 *
 * Exits 0 after running every input (a broken invariant aborts), 1 if nothing could be read.
 */
#define _POSIX_C_SOURCE 200809L /* opendir, stat */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz.h"

#ifndef WEFT_FUZZ_CORPUS
#define WEFT_FUZZ_CORPUS "."
#endif

/* Runs the target on one file's bytes. Returns 1 if it ran, 0 if the file could not be read. */
static int replay_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) return 0;
    size_t cap = 4096, len = 0;
    uint8_t *data = malloc(cap);
    size_t n;
    while (data && (n = fread(data + len, 1, cap - len, f)) > 0) {
        len += n;
        if (len == cap) data = realloc(data, cap *= 2);
    }
    fclose(f);
    if (!data) return 0;
    /* An exact-size copy, so that ASan catches a read one past the input. */
    uint8_t *exact = malloc(len ? len : 1);
    if (exact && len) memcpy(exact, data, len);
    free(data);
    if (!exact) return 0;
    LLVMFuzzerTestOneInput(exact, len);
    free(exact);
    return 1;
}

/* Replays path, a file or a directory of files (not recursive). Returns the count run. */
static int replay_path(const char *path)
{
    struct stat st;
    if (stat(path, &st) != 0) return 0;
    if (!S_ISDIR(st.st_mode)) return replay_file(path);
    DIR *dir = opendir(path);
    if (!dir) return 0;
    int count = 0;
    struct dirent *e;
    while ((e = readdir(dir)) != NULL) {
        if (e->d_name[0] == '.') continue;
        size_t size = strlen(path) + strlen(e->d_name) + 2;
        char *file = malloc(size);
        if (!file) break;
        snprintf(file, size, "%s/%s", path, e->d_name);
        if (stat(file, &st) == 0 && S_ISREG(st.st_mode)) count += replay_file(file);
        free(file);
    }
    closedir(dir);
    return count;
}

int main(int argc, char **argv)
{
    int count = 0;
    if (argc < 2) {
        count = replay_path(WEFT_FUZZ_CORPUS);
        printf("replayed %d inputs from %s\n", count, WEFT_FUZZ_CORPUS);
    }
    for (int i = 1; i < argc; i++) {
        int n = replay_path(argv[i]);
        printf("replayed %d inputs from %s\n", n, argv[i]);
        count += n;
    }
    return count > 0 ? 0 : 1;
}
