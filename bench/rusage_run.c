/*
 * rusage_run: runs a command and prints what it cost, for programs that print no RESULT line of
 * their own (weft-fetch, for one).
 *
 *   rusage_run [--name NAME] [--timeout S] -- COMMAND [ARGS...]
 *
 * Prints, after the command exits:
 *   RESULT name=NAME wall_s=W cpu_s=U+S user_s=U sys_s=S rss_kb=K exit=X
 * where CPU and peak RSS are the command's own (wait4's rusage, children it waited for
 * included) and X is its exit status (128+N if killed by signal N). The command is sent SIGKILL
 * after S seconds (default 600). Exits with the command's status.
 */
#define _GNU_SOURCE /* wait4 */
#include "bench_common.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

static double seconds(struct timeval tv)
{
    return (double)tv.tv_sec + (double)tv.tv_usec * 1e-6;
}

/* Waits for `pid`, killing it once `deadline` passes. Polls every 10 ms: the loop is bounded by
 * the deadline plus the time a SIGKILLed process takes to go. */
static int wait_bounded(pid_t pid, double deadline, struct rusage *ru)
{
    int status = 0, killed = 0;
    for (;;) {
        pid_t r = wait4(pid, &status, WNOHANG, ru);
        if (r == pid) return status;
        if (r < 0 && errno != EINTR) bench_die("wait4");
        if (!killed && bench_now() > deadline) {
            fprintf(stderr, "rusage_run: timed out, killing %d\n", (int)pid);
            kill(pid, SIGKILL);
            killed = 1;
        }
        usleep(10000);
    }
}

int main(int argc, char **argv)
{
    const char *name = NULL;
    long timeout = 600;
    int i = 1;
    for (; i < argc && strcmp(argv[i], "--") != 0; i++) {
        if (bench_opt_str(argc, argv, &i, "--name", &name) ||
            bench_opt_long(argc, argv, &i, "--timeout", 1, 86400, &timeout))
            continue;
        break;
    }
    if (i >= argc - 1 || strcmp(argv[i], "--") != 0) {
        fprintf(stderr, "usage: %s [--name NAME] [--timeout S] -- COMMAND [ARGS...]\n", argv[0]);
        return 2;
    }
    char **cmd = argv + i + 1;
    if (name == NULL) name = cmd[0];

    double start = bench_now();
    pid_t pid = fork();
    if (pid < 0) bench_die("fork");
    if (pid == 0) {
        execvp(cmd[0], cmd);
        fprintf(stderr, "rusage_run: %s: %s\n", cmd[0], strerror(errno));
        _exit(127);
    }
    struct rusage ru;
    int status = wait_bounded(pid, start + (double)timeout, &ru);
    double wall = bench_now() - start;
    int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    double user = seconds(ru.ru_utime), sys = seconds(ru.ru_stime);
    printf("RESULT name=%s wall_s=%.6f cpu_s=%.6f user_s=%.6f sys_s=%.6f rss_kb=%ld exit=%d\n",
           name, wall, user + sys, user, sys, ru.ru_maxrss, code);
    return code;
}
