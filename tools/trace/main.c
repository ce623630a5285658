/*
 * weft-trace: read a trace that a weft runtime recorded (WEFT_TRACE=file, weft/trace.h) and
 *
 *   weft-trace check TRACE.json        say whether it is a valid, complete trace
 *   weft-trace svg   TRACE.json > t.svg   draw its timeline
 *   weft-trace dot   TRACE.json > t.dot   draw each coroutine's observed state machine
 *                                         (render with: dot -Tsvg t.dot > machine.svg)
 *
 * TRACE.json may be "-" for standard input. Exit status: 0 ok, 1 invalid trace, 2 usage or I/O.
 */
#include "weft_trace.h"

#include <errno.h>
#include <string.h>

#define PROG "weft-trace"

static int usage(FILE *to)
{
    fprintf(to, "usage: " PROG " check TRACE.json\n"
                "       " PROG " svg TRACE.json > timeline.svg\n"
                "       " PROG " dot TRACE.json > machines.dot\n"
                "TRACE.json is a trace recorded with WEFT_TRACE=TRACE.json (or '-' for stdin).\n"
                "check: is it valid (JSON, required fields, B/E balanced)?\n"
                "svg:   one row per task, coloured by running / queued / waiting for what.\n"
                "dot:   each coroutine function's suspension points and the transitions taken.\n");
    return to == stdout ? 0 : 2;
}

int main(int argc, char **argv)
{
    if (argc == 2 && (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0))
        return usage(stdout);
    if (argc != 3) return usage(stderr);
    int (*cmd)(const struct tf_trace *, FILE *) = NULL;
    if (strcmp(argv[1], "check") == 0)
        cmd = cmd_check;
    else if (strcmp(argv[1], "svg") == 0)
        cmd = cmd_svg;
    else if (strcmp(argv[1], "dot") == 0)
        cmd = cmd_dot;
    else
        return usage(stderr);
    FILE *in = strcmp(argv[2], "-") == 0 ? stdin : fopen(argv[2], "r");
    if (in == NULL) {
        fprintf(stderr, PROG ": %s: %s\n", argv[2], strerror(errno));
        return 2;
    }
    struct tf_trace t;
    char err[256];
    int r = tf_read(in, &t, err, sizeof err);
    if (in != stdin) fclose(in);
    if (r < 0) {
        fprintf(cmd == cmd_check ? stdout : stderr, PROG ": %s: %s\n", argv[2], err);
        tf_free(&t);
        return 1;
    }
    int status = cmd(&t, stdout);
    tf_free(&t);
    if (fflush(stdout) != 0) {
        fprintf(stderr, PROG ": write error: %s\n", strerror(errno));
        return 2;
    }
    return status;
}
