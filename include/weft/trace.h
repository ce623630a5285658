/*
 * weft/trace.h — watching the runtime work: a trace of every spawn, poll, suspension, wake-up,
 * park and timer, written as Chrome trace-event JSON; and a task dump on a signal.
 *
 * RECORDING. Either set WEFT_TRACE in the environment before weft_runtime_init():
 *
 *     WEFT_TRACE=run.json ./my-program
 *
 * ("%p" in the path becomes the process id, "%n" the runtime's number in the process; without
 * "%n" only the first runtime records. If the file cannot be opened — or the path, expanded, is
 * longer than PATH_MAX, which is refused rather than cut short — one line on stderr says so, and
 * weft_runtime_init goes on without a trace.)
 *
 * or start and stop a trace from the program:
 *
 *     weft_trace_start(&rt, "run.json");
 *     weft_runtime_run(&rt);
 *     weft_trace_stop(&rt);           // also done by weft_runtime_close()
 *
 * Open the file in https://ui.perfetto.dev ("Open trace file") or chrome://tracing: one track
 * per task, its polls as slices, the time between them labelled with what it waited for and the
 * source line where it waited; one track for the reactor, with each park and each poll event.
 * `weft-trace svg` and `weft-trace dot` draw a timeline and each coroutine's observed state
 * machine from the same file. docs/tracing.md describes every event.
 *
 * WHAT IT COSTS. Off (the default), each place the runtime reports something is one predictable
 * branch on rt->trace; building with WEFT_TRACE_COMPILED=0 removes even that. On, each report
 * formats one line of JSON into a buffer (a few hundred nanoseconds); the file is written when
 * the buffer fills and when the trace stops.
 *
 * DUMP ON A SIGNAL. weft_runtime_dump_on_signal(&rt, SIGUSR1) (or WEFT_DUMP_SIGNAL=1 in the
 * environment) makes `kill -USR1 <pid>` print weft_runtime_dump() — every task, its state and
 * the file:line where it waits — to stderr. The handler only pokes the runtime's poll; the dump
 * is written by the runtime's own thread, between two polls, where it is safe.
 * WEFT_DUMP_SIGNAL takes "1" (SIGUSR1, the short form), another signal number ("12"), or a name
 * with or without "SIG", in any case ("USR2", "SIGHUP", "usr1"); "0" or "" means none. Anything
 * else ("abc", "10abc", " 10"), or a signal that cannot serve ("KILL", "65"), is reported in one
 * line on stderr ("weft: WEFT_DUMP_SIGNAL=abc: ...; no dump signal armed"), and no signal is
 * armed: weft_runtime_init still succeeds.
 *
 * One thread, like the rest of the runtime: call these from the thread that runs rt.
 */
#ifndef WEFT_TRACE_H
#define WEFT_TRACE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "weft/runtime.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * WEFT_TRACE_COMPILED - 1 (the default): the runtime is built with its trace hooks. 0 (CMake
 * -DWEFT_TRACE_COMPILED=OFF): the hooks are compiled out, the functions below fail with
 * -ENOTSUP and the environment variables are ignored. Only what src/runtime was compiled with
 * matters; the value seen by a program that includes this header changes nothing.
 */
#ifndef WEFT_TRACE_COMPILED
#define WEFT_TRACE_COMPILED 1
#endif

/*
 * weft_trace_start - record everything rt does from now on into the file at path (created or
 * truncated). The runtime owns the file: weft_trace_stop (or weft_runtime_close) completes the
 * JSON and closes it.
 * Returns 0; -EALREADY if rt is already tracing; -errno from fopen; -ENOMEM; -ENOTSUP if the
 * hooks were compiled out. Never suspends.
 */
int weft_trace_start(weft_runtime *rt, const char *path);

/*
 * weft_trace_start_file - like weft_trace_start, into a stream the caller opened (stdout, a
 * memory stream). The stream stays the caller's: weft_trace_stop writes the end of the JSON and
 * flushes it, but does not close it; it must stay open until then.
 */
int weft_trace_start_file(weft_runtime *rt, FILE *out);

/*
 * weft_trace_stop - end the trace: close the slices still open (tasks still waiting are shown
 * waiting until now), write the end of the JSON document, flush, and close the file if the
 * runtime opened it. Returns 0; -EIO if any write failed along the way (the file is then
 * incomplete); 0 and nothing done if rt was not tracing.
 */
int weft_trace_stop(weft_runtime *rt);

/* weft_trace_active - true while rt is recording a trace. */
bool weft_trace_active(const weft_runtime *rt);

/*
 * weft_trace_name_task - give task t's track a name ("fetch #3") instead of the one the trace
 * makes up when t finishes: "task N (fn)", fn being the coroutine function t spent its longest
 * wait in. Call it any time before t finishes; a track is named once. Copies name. Does nothing
 * when no trace is being recorded or t is stale. The trace is valid UTF-8 JSON whatever name
 * holds: each byte that is not part of a valid UTF-8 sequence is written as U+FFFD (the
 * replacement character), and a name whose JSON text passes 128 bytes is cut there, between
 * characters.
 */
void weft_trace_name_task(weft_runtime *rt, weft_task t, const char *name);

/*
 * weft_runtime_dump_on_signal - from now on, when signal signo arrives, the runtime prints
 * weft_runtime_dump() to stderr from its own thread, at its next park (at once if it is
 * parked): one dump per signal (signals that come before that park give one), in every runtime
 * armed when it came, and none for a signal that came before rt was last armed. signo 0 turns it
 * off. Installs a process-wide handler for signo (SA_RESTART) the first time; the handler counts
 * the signal and writes to an eventfd, nothing else (one eventfd per process, kept open for the
 * process's life so that a late signal never writes into a reused fd number). Turned off by
 * weft_runtime_close, which puts the previous disposition back when no runtime uses signo.
 * Returns 0; -EINVAL (signo is not catchable, or is SIGSEGV/SIGBUS/SIGFPE/SIGILL, or rt already
 * dumps on another signal: turn that off first); -EBUSY (another runtime of the process dumps on
 * another signal); -errno from eventfd/sigaction/epoll_ctl; -ENOTSUP if the hooks were compiled
 * out.
 */
int weft_runtime_dump_on_signal(weft_runtime *rt, int signo);

/*
 * weft_trace_note_wait - for leaf operations that wait on something the runtime cannot see (a
 * channel, a user-defined queue): tell the trace what the polling task is about to wait for, so
 * its suspension is labelled "what id" rather than "other". what: a string literal (it is kept
 * by pointer) such as "channel"; id: any number that tells two such objects apart.
 * Costs one branch when no trace is being recorded. Never fails, never suspends.
 */
void weft__trace_note_wait(weft_runtime *rt, const char *what, uint64_t id);
static inline void weft_trace_note_wait(weft_cx *cx, const char *what, uint64_t id)
{
    if (cx->rt->trace != NULL) weft__trace_note_wait(cx->rt, what, id);
}

#ifdef __cplusplus
}
#endif

#endif /* WEFT_TRACE_H */
