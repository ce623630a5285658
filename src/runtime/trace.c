/*
 * The trace recorder: what the runtime does, as Chrome trace-event JSON (weft/trace.h).
 *
 * The file is one JSON object, {"traceEvents":[ ... ]}, with one event per line so that simple
 * tools (weft-trace, grep) can read it line by line. The events, on a timeline in microseconds:
 *
 *   track "reactor" (tid 0)   "park" slices: each weft_poll_wait, with its timeout and how many
 *                             events came back; an "event" instant per poll event (fd, flags);
 *                             a "tasks" counter (ready / unfinished) at each park.
 *   track "task N" (tid N)    one slice at a time: "ready" (queued), "poll" (running), "wait X"
 *                             (suspended: X is what it waits for; the args say the fd, timer,
 *                             task or channel, and the file:line and function where it waits);
 *                             instants "spawn", "wake" (with its cause), "timer", "cancel", "done".
 *
 * Tasks get numbers 1, 2, 3 ... in the order the trace first sees them; a task slot reused by
 * another task (a new generation) gets a new number, so one track is always one task.
 *
 * How a suspension gets its reason. The runtime knows, at the end of a poll, only what the task
 * registered during it: the leaf operations report their waits as they register them (an fd and
 * a direction, a task joined, a channel), and the deadline the poll asked for is in the cx. A poll
 * that asked to be queued again at once (WEFT_TASK_YIELD: WEFT__CX_YIELD in cx->flags; a spent
 * budget: the WOKEN flag) is a "yield"; one that registered nothing the runtime can see is
 * "other" (a waker handed to code outside the runtime).
 *
 * Everything here runs only when rt->trace is set; the core's hooks are one branch each when it
 * is not (trace_hooks.h).
 */
#define _POSIX_C_SOURCE 200809L
#include "runtime/trace_internal.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The events buffer: written out when full, and at stop. */
#define TRACE_BUF_SIZE ((size_t)64 * 1024)

/* The longest line one event may take; its strings are cut to fit. */
#define TRACE_LINE_MAX 1024

/* The reactor's track. */
#define REACTOR_TID 0u

/* The slice open on a task's track. */
enum { SLICE_NONE, SLICE_READY, SLICE_POLL, SLICE_WAIT };

/* Why tasks are being woken while no task runs. */
enum { CAUSE_NONE, CAUSE_EVENT, CAUSE_TIMER, CAUSE_EXIT };

#if WEFT_TRACE_COMPILED

/* ---------------------------------------------------------------------------------------------
 * Writing: a buffer of lines, and the pieces of a line
 * ------------------------------------------------------------------------------------------- */

static void flush_buf(struct weft__trace *tr)
{
    if (tr->len != 0 && fwrite(tr->buf, 1, tr->len, tr->out) != tr->len && tr->error == 0)
        tr->error = -EIO;
    tr->len = 0;
}

static void put_line(struct weft__trace *tr, const char *line, size_t n)
{
    if (tr->len + n > TRACE_BUF_SIZE) flush_buf(tr);
    memcpy(tr->buf + tr->len, line, n);
    tr->len += n;
}

/*
 * A line under construction. Appending never overflows: what does not fit is cut, and the
 * line's strings are cut short long before that (see put_str), so a cut never breaks the JSON.
 */
struct line {
    char s[TRACE_LINE_MAX];
    size_t len;
};

static void addf(struct line *l, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(l->s + l->len, sizeof l->s - l->len, fmt, ap);
    va_end(ap);
    if (n > 0) l->len += (size_t)n < sizeof l->s - l->len ? (size_t)n : sizeof l->s - l->len - 1;
}

/*
 * The appenders an event is made of. Every event goes through these (printf only formats the
 * rarer args), which keeps a line at about a hundred nanoseconds.
 */
static void add_char(struct line *l, char c)
{
    if (l->len + 1 < sizeof l->s) l->s[l->len++] = c;
    l->s[l->len] = '\0';
}

static void add_mem(struct line *l, const char *s, size_t n)
{
    if (n > sizeof l->s - 1 - l->len) n = sizeof l->s - 1 - l->len;
    memcpy(l->s + l->len, s, n);
    l->len += n;
    l->s[l->len] = '\0';
}

static void add_lit(struct line *l, const char *s)
{
    add_mem(l, s, strlen(s));
}

static void add_int(struct line *l, int64_t v)
{
    char digits[24];
    size_t n = 0;
    uint64_t u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
    do {
        digits[n++] = (char)('0' + u % 10);
        u /= 10;
    } while (u != 0);
    if (v < 0) add_char(l, '-');
    while (n > 0)
        add_char(l, digits[--n]);
}

/*
 * The length of the valid UTF-8 sequence s starts with (1 to 4), or 0 if s does not start one:
 * a stray continuation byte, an overlong form, a surrogate, a code point past U+10FFFF, or a
 * sequence cut short (s is NUL-terminated, and NUL is no continuation byte).
 */
static size_t utf8_seq(const unsigned char *s)
{
    unsigned char lo = 0x80, hi = 0xBF; /* the range of the second byte */
    size_t n;
    if (s[0] < 0x80) return 1;
    if (s[0] >= 0xC2 && s[0] <= 0xDF) {
        n = 2;
    } else if (s[0] >= 0xE0 && s[0] <= 0xEF) {
        n = 3;
        lo = s[0] == 0xE0 ? 0xA0 : lo; /* shorter forms are overlong */
        hi = s[0] == 0xED ? 0x9F : hi; /* ED A0..BF are surrogates */
    } else if (s[0] >= 0xF0 && s[0] <= 0xF4) {
        n = 4;
        lo = s[0] == 0xF0 ? 0x90 : lo;
        hi = s[0] == 0xF4 ? 0x8F : hi; /* past U+10FFFF */
    } else {
        return 0;
    }
    if (s[1] < lo || s[1] > hi) return 0;
    for (size_t i = 2; i < n; i++)
        if ((s[i] & 0xC0) != 0x80) return 0;
    return n;
}

/*
 * A JSON string: quoted, escaped, and cut where its escaped text would pass max bytes — never
 * inside an escape or a character, so the line stays valid JSON. The file must be valid UTF-8
 * (JSON readers refuse anything else), and names come from the program: each byte that is not
 * part of a valid UTF-8 sequence is written as U+FFFD, the replacement character.
 */
static void put_str(struct line *l, const char *s, size_t max)
{
    add_char(l, '"');
    size_t used = 0;
    for (const unsigned char *p = (const unsigned char *)s; p != NULL && *p != '\0';) {
        char esc[8];
        const char *piece = esc;
        size_t n = utf8_seq(p), out;
        if (n == 0) {
            piece = "\\ufffd", out = 6, n = 1;
        } else if (*p == '"' || *p == '\\') {
            esc[0] = '\\', esc[1] = (char)*p, out = 2;
        } else if (*p < 0x20) {
            out = (size_t)snprintf(esc, sizeof esc, "\\u%04x", *p);
        } else {
            piece = (const char *)p, out = n;
        }
        if (used + out > max) break;
        add_mem(l, piece, out);
        used += out;
        p += n;
    }
    add_char(l, '"');
}

/* The file name without its directories: sites read "tcp.c:120". */
static const char *base_name(const char *path)
{
    const char *slash = path != NULL ? strrchr(path, '/') : NULL;
    return slash != NULL ? slash + 1 : path;
}

/* Microseconds since the trace began, with nanoseconds as three decimals. */
static void put_ts(struct line *l, const struct weft__trace *tr, int64_t ns)
{
    int64_t d = ns > tr->t0 ? ns - tr->t0 : 0;
    add_int(l, d / 1000);
    add_char(l, '.');
    add_char(l, (char)('0' + d % 1000 / 100));
    add_char(l, (char)('0' + d % 100 / 10));
    add_char(l, (char)('0' + d % 10));
}

/*
 * Starts an event: {"name":..,"cat":..,"ph":..,"ts":..,"pid":..,"tid":.. — the caller adds
 * "args" if it has any, then end_event closes it.
 */
static void begin_event(struct line *l, const struct weft__trace *tr, char ph, const char *cat,
                        const char *name, uint32_t tid, int64_t ns)
{
    l->len = 0;
    add_lit(l, "{\"name\":");
    put_str(l, name, 64);
    add_lit(l, ",\"cat\":\"");
    add_lit(l, cat);
    add_lit(l, "\",\"ph\":\"");
    add_char(l, ph);
    add_lit(l, "\",\"ts\":");
    put_ts(l, tr, ns);
    add_lit(l, ",\"pid\":");
    add_int(l, tr->pid);
    add_lit(l, ",\"tid\":");
    add_int(l, tid);
    if (ph == 'i') add_lit(l, ",\"s\":\"t\"");
}

static void end_event(struct weft__trace *tr, struct line *l)
{
    add_lit(l, "},\n");
    put_line(tr, l->s, l->len);
}

/* A whole event whose args are ready-made JSON members ("" for none). */
static void emit(struct weft__trace *tr, char ph, const char *cat, const char *name, uint32_t tid,
                 int64_t ns, const char *args)
{
    struct line l;
    begin_event(&l, tr, ph, cat, name, tid, ns);
    if (args[0] != '\0') {
        add_lit(&l, ",\"args\":{");
        add_lit(&l, args);
        add_char(&l, '}');
    }
    end_event(tr, &l);
}

/* A metadata event: the name of a track or of the process, or a track's place in the list. */
static void emit_meta(struct weft__trace *tr, const char *what, uint32_t tid, const char *key,
                      const char *value, long number)
{
    struct line l;
    begin_event(&l, tr, 'M', "__metadata", what, tid, tr->t0);
    addf(&l, ",\"args\":{\"%s\":", key);
    if (value != NULL)
        put_str(&l, value, 128);
    else
        addf(&l, "%ld", number);
    add_lit(&l, "}");
    end_event(tr, &l);
}

/* ---------------------------------------------------------------------------------------------
 * Tasks: numbers, slices, names
 * ------------------------------------------------------------------------------------------- */

/* The trace's record of t, numbering t if the trace has not seen it yet. NULL: out of memory. */
static struct weft__trace_task *task_rec(struct weft__trace *tr, const struct weft__task *t)
{
    if (t->slot >= tr->ntasks) {
        uint32_t n = tr->ntasks != 0 ? tr->ntasks : 64;
        while (n <= t->slot)
            n *= 2;
        struct weft__trace_task *grown = realloc(tr->tasks, (size_t)n * sizeof *grown);
        if (grown == NULL) return NULL;
        memset(grown + tr->ntasks, 0, (size_t)(n - tr->ntasks) * sizeof *grown);
        tr->tasks = grown;
        tr->ntasks = n;
    }
    struct weft__trace_task *rec = &tr->tasks[t->slot];
    if (rec->id == 0 || rec->gen != t->gen) {
        *rec = (struct weft__trace_task){.gen = t->gen, .id = ++tr->next_id};
        emit_meta(tr, "thread_sort_index", rec->id, "sort_index", NULL, (long)rec->id);
    }
    return rec;
}

/* The id of the task being polled, 0 if none (the program's main line). */
static uint32_t running_id(weft_runtime *rt)
{
    if (rt->running == NULL) return 0;
    struct weft__trace_task *rec = task_rec(rt->trace, rt->running);
    return rec != NULL ? rec->id : 0;
}

/* "task 3", or "main" for id 0. */
static void who(char *dst, size_t cap, uint32_t id)
{
    if (id == 0)
        snprintf(dst, cap, "main");
    else
        snprintf(dst, cap, "task %" PRIu32, id);
}

/*
 * Names rec's track, once, when the task is done or the trace stops: "task 3 (fetch_one)", after
 * the function the task spent its longest wait in — usually the coroutine that is the task's
 * reason to exist rather than a helper it awaited in passing.
 */
static void name_task(struct weft__trace *tr, struct weft__trace_task *rec)
{
    if (rec->named) return;
    char name[160];
    who(name, 32, rec->id);
    if (rec->main_func != NULL) {
        size_t len = strlen(name);
        snprintf(name + len, sizeof name - len, " (%s)", rec->main_func);
    }
    emit_meta(tr, "thread_name", rec->id, "name", name, 0);
    rec->named = 1;
}

static void slice_name(char *dst, size_t cap, const struct weft__trace_task *rec)
{
    switch (rec->slice) {
    case SLICE_READY:
        snprintf(dst, cap, "ready");
        break;
    case SLICE_POLL:
        snprintf(dst, cap, "poll");
        break;
    default:
        snprintf(dst, cap, "wait %s", rec->kind != NULL ? rec->kind : "other");
        break;
    }
}

/* Closes the slice open on rec's track (if any), with args for its "E" event. */
static void slice_end(struct weft__trace *tr, struct weft__trace_task *rec, int64_t ns,
                      const char *args)
{
    if (rec->slice == SLICE_NONE) return;
    if (rec->slice == SLICE_WAIT && rec->func != NULL && ns - rec->since >= rec->main_ns) {
        rec->main_func = rec->func;
        rec->main_ns = ns - rec->since;
    }
    char name[48];
    slice_name(name, sizeof name, rec);
    emit(tr, 'E', "task", name, rec->id, ns, args);
    rec->slice = SLICE_NONE;
}

/* Opens a slice on rec's track (closing the one open). */
static void slice_begin(struct weft__trace *tr, struct weft__trace_task *rec, int slice, int64_t ns,
                        const char *args)
{
    slice_end(tr, rec, ns, "");
    rec->slice = (uint8_t)slice;
    char name[48];
    slice_name(name, sizeof name, rec);
    emit(tr, 'B', "task", name, rec->id, ns, args);
}

/* What a task hook works with: the tracer, the task's record, the time. */
struct hook {
    struct weft__trace *tr;
    struct weft__trace_task *rec;
    int64_t ns;
};

/*
 * The common start of a task hook. Returns false if there is nothing to record: no trace (only
 * the signal dump is armed), or no memory for the task's record.
 */
static bool task_hook(weft_runtime *rt, const struct weft__task *t, struct hook *h)
{
    h->tr = rt->trace;
    if (h->tr->out == NULL) return false;
    h->rec = task_rec(h->tr, t);
    if (h->rec == NULL) return false;
    h->ns = weft_time_now();
    return true;
}

/* An instant on the task's track saying which task (or main) did it: spawn, cancel. */
static void emit_by(weft_runtime *rt, const struct hook *h, const char *name)
{
    char by[32], args[64];
    who(by, sizeof by, running_id(rt));
    snprintf(args, sizeof args, "\"by\":\"%s\"", by);
    emit(h->tr, 'i', "task", name, h->rec->id, h->ns, args);
}

/* ---------------------------------------------------------------------------------------------
 * Task hooks (task.c)
 * ------------------------------------------------------------------------------------------- */

void weft__trace_spawn(weft_runtime *rt, const struct weft__task *t)
{
    struct hook h;
    if (!task_hook(rt, t, &h)) return;
    emit_by(rt, &h, "spawn");
    slice_begin(h.tr, h.rec, SLICE_READY, h.ns, "");
}

void weft__trace_poll_start(weft_runtime *rt, const struct weft__task *t)
{
    struct hook h;
    if (!task_hook(rt, t, &h)) return;
    if (h.tr->depth < WEFT__TRACE_DEPTH) h.tr->polls[h.tr->depth].n = 0;
    h.tr->depth++;
    h.tr->cause.kind = CAUSE_NONE; /* wake-ups from now on come from this task */
    slice_begin(h.tr, h.rec, SLICE_POLL, h.ns, "");
}

/* The notes of the poll that just ended (none if the trace began during it). */
static struct weft__trace_poll *pop_notes(struct weft__trace *tr)
{
    static struct weft__trace_poll none;
    if (tr->depth == 0) return &none;
    tr->depth--;
    return tr->depth < WEFT__TRACE_DEPTH ? &tr->polls[tr->depth] : &none;
}

/* The first word of a note's `what` ("read fd" -> "read"), which names the wait slice. */
static const char *note_kind(const char *what)
{
    static const char *const known[] = {"read", "write", "join"};
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++) {
        size_t n = strlen(known[i]);
        if (strncmp(what, known[i], n) == 0 && (what[n] == ' ' || what[n] == '\0')) return known[i];
    }
    return what;
}

/*
 * What a suspended task waits for, as the "reason" arg ("read fd 7, timer in 20.000 ms") and a
 * one-word kind for the slice name. Returns the kind.
 */
static const char *wait_reason(int64_t now, const struct weft__task *t,
                               const struct weft__trace_poll *p, const weft_cx *cx,
                               struct line *reason)
{
    reason->len = 0;
    if ((t->flags & WEFT__TASK_WOKEN) || (cx->flags & WEFT__CX_YIELD)) {
        add_lit(reason, "yield (queued again at once)");
        return "yield";
    }
    const char *kind = NULL;
    unsigned kept = p->n < WEFT__TRACE_NOTES ? p->n : WEFT__TRACE_NOTES;
    for (unsigned i = 0; i < kept; i++) {
        addf(reason, "%s%s %" PRIu64, i ? ", " : "", p->note[i].what, p->note[i].id);
        if (kind == NULL) kind = note_kind(p->note[i].what);
    }
    if (p->n > kept) addf(reason, ", and %u more", p->n - kept);
    if (cx->deadline != WEFT_NO_DEADLINE) {
        addf(reason, "%stimer in %.3f ms", kept ? ", " : "", (double)(cx->deadline - now) / 1e6);
        if (kind == NULL) kind = "timer";
    }
    if (kind == NULL) {
        add_lit(reason, "other (a waker given away)");
        kind = "other";
    }
    return kind;
}

/* The args of a wait slice: the reason, and where the coroutine waits. */
static void wait_args(struct line *args, const struct line *reason, const char *kind)
{
    weft_co_site site = weft_co_site_get();
    args->len = 0;
    add_lit(args, "\"reason\":");
    put_str(args, reason->s, 200);
    add_lit(args, ",\"kind\":");
    put_str(args, kind, 32);
    if (site.file == NULL) return;
    add_lit(args, ",\"site\":");
    char at[160];
    snprintf(at, sizeof at, "%s:%d", base_name(site.file), site.line);
    put_str(args, at, 160);
    add_lit(args, ",\"func\":");
    put_str(args, site.func, 100);
    add_lit(args, ",\"file\":");
    put_str(args, site.file, 300);
}

void weft__trace_poll_end(weft_runtime *rt, const struct weft__task *t, int result,
                          const weft_cx *cx)
{
    struct hook h;
    if (!task_hook(rt, t, &h)) return;
    const struct weft__trace_poll *p = pop_notes(h.tr);
    if (result != WEFT_PENDING) {
        char args[48];
        snprintf(args, sizeof args, "\"result\":%d", result);
        if (h.rec->slice == SLICE_POLL) slice_end(h.tr, h.rec, h.ns, args);
        return;
    }
    if (h.rec->slice == SLICE_POLL) slice_end(h.tr, h.rec, h.ns, "\"result\":\"pending\"");
    struct line reason, args;
    h.rec->kind = wait_reason(h.ns, t, p, cx, &reason);
    h.rec->func = weft_co_site_get().func;
    h.rec->since = h.ns;
    wait_args(&args, &reason, h.rec->kind);
    slice_begin(h.tr, h.rec, SLICE_WAIT, h.ns, args.s);
}

/* Room for flag_names() with every bit set, "readable|writable|error|read_closed|write_closed|
 * priority" (57 characters), and its NUL. */
#define FLAG_NAMES_CAP 58

/* Room for wake_cause()'s longest output, an event's: 44 characters of text around the fd (up
 * to 11 characters, "-2147483648", twice) and the flag names (twice); 180 in all, and the NUL. */
#define WAKE_CAUSE_CAP (44 + 2 * 11 + 2 * (FLAG_NAMES_CAP - 1) + 1)

/* "readable|read_closed": the WEFT_EVENT_* flags by name. */
static void flag_names(char *dst, size_t cap, uint32_t flags)
{
    static const char *const names[] = {"readable",    "writable",     "error",
                                        "read_closed", "write_closed", "priority"};
    size_t len = 0;
    dst[0] = '\0';
    for (unsigned i = 0; i < sizeof names / sizeof names[0]; i++) {
        if (!(flags & (1u << i))) continue;
        int n = snprintf(dst + len, cap - len, "%s%s", len ? "|" : "", names[i]);
        if (n < 0 || (size_t)n >= cap - len) break;
        len += (size_t)n;
    }
}

/* The args of a wake-up of rec's task: who or what woke it. */
static void wake_cause(weft_runtime *rt, const struct weft__trace_task *rec, char *dst, size_t cap)
{
    const struct weft__trace_cause *c = &rt->trace->cause;
    char by[32], flags[FLAG_NAMES_CAP];
    if (rec->slice == SLICE_WAIT && rec->kind != NULL && strcmp(rec->kind, "yield") == 0) {
        snprintf(dst, cap, "\"by\":\"self\",\"cause\":\"its own yield\"");
    } else if (rt->running != NULL) {
        who(by, sizeof by, running_id(rt));
        snprintf(dst, cap, "\"by\":\"task\",\"cause\":\"%s\"", by);
    } else if (c->kind == CAUSE_EVENT) {
        flag_names(flags, sizeof flags, c->flags);
        snprintf(dst, cap, "\"by\":\"event\",\"cause\":\"fd %d %s\",\"fd\":%d,\"flags\":\"%s\"",
                 c->fd, flags, c->fd, flags);
    } else if (c->kind == CAUSE_TIMER) {
        snprintf(dst, cap, "\"by\":\"timer\",\"cause\":\"its timer\"");
    } else if (c->kind == CAUSE_EXIT) {
        who(by, sizeof by, c->task);
        snprintf(dst, cap, "\"by\":\"exit\",\"cause\":\"%s finished\"", by);
    } else {
        snprintf(dst, cap, "\"by\":\"main\",\"cause\":\"outside any task\"");
    }
}

void weft__trace_wake(weft_runtime *rt, const struct weft__task *t)
{
    struct hook h;
    if (!task_hook(rt, t, &h)) return;
    char args[WAKE_CAUSE_CAP];
    wake_cause(rt, h.rec, args, sizeof args);
    slice_end(h.tr, h.rec, h.ns, "");
    emit(h.tr, 'i', "task", "wake", h.rec->id, h.ns, args);
    slice_begin(h.tr, h.rec, SLICE_READY, h.ns, "");
}

void weft__trace_timer(weft_runtime *rt, const struct weft__task *t)
{
    struct hook h;
    if (!task_hook(rt, t, &h)) return;
    char args[64];
    snprintf(args, sizeof args, "\"late_us\":%.3f", (double)(rt->now - t->timer.deadline) / 1e3);
    emit(h.tr, 'i', "task", "timer", h.rec->id, h.ns, args);
    h.tr->cause.kind = CAUSE_TIMER;
}

void weft__trace_cancel(weft_runtime *rt, const struct weft__task *t)
{
    struct hook h;
    if (task_hook(rt, t, &h)) emit_by(rt, &h, "cancel");
}

void weft__trace_done(weft_runtime *rt, const struct weft__task *t, int result)
{
    struct hook h;
    if (!task_hook(rt, t, &h)) return;
    struct line args;
    args.len = 0;
    addf(&args, "\"result\":%d", result);
    if (result < 0) {
        add_lit(&args, ",\"error\":");
        put_str(&args, weft_strerror(result), 80);
    }
    slice_end(h.tr, h.rec, h.ns, "");
    emit(h.tr, 'i', "task", "done", h.rec->id, h.ns, args.s);
    name_task(h.tr, h.rec);
    h.tr->cause = (struct weft__trace_cause){.kind = CAUSE_EXIT, .task = h.rec->id};
}

void weft_trace_name_task(weft_runtime *rt, weft_task handle, const char *name)
{
    struct weft__trace *tr = rt->trace;
    if (tr == NULL || tr->out == NULL || name == NULL) return;
    const struct weft__task *t = weft__task_lookup(rt, handle.slot, handle.gen);
    struct weft__trace_task *rec = t != NULL ? task_rec(tr, t) : NULL;
    if (rec == NULL || rec->named) return;
    emit_meta(tr, "thread_name", rec->id, "name", name, 0);
    rec->named = 1;
}

/* Remembers one wait the polling task registered. */
static void note(weft_runtime *rt, const char *what, uint64_t id)
{
    struct weft__trace *tr = rt->trace;
    if (tr->out == NULL || tr->depth == 0 || tr->depth > WEFT__TRACE_DEPTH) return;
    struct weft__trace_poll *p = &tr->polls[tr->depth - 1];
    if (p->n < WEFT__TRACE_NOTES) p->note[p->n] = (struct weft__trace_note){what, id};
    p->n++;
}

void weft__trace_join_wait(weft_runtime *rt, const struct weft__task *target)
{
    if (rt->trace->out == NULL) return;
    struct weft__trace_task *rec = task_rec(rt->trace, target);
    if (rec != NULL) note(rt, "join task", rec->id);
}

void weft__trace_io_wait(weft_runtime *rt, int fd, int dir)
{
    note(rt, dir == WEFT_IO_WRITE ? "write fd" : "read fd", (uint64_t)fd);
}

void weft__trace_note_wait(weft_runtime *rt, const char *what, uint64_t id)
{
    if (rt->trace != NULL) note(rt, what != NULL ? what : "other", id);
}

/* ---------------------------------------------------------------------------------------------
 * Loop hooks (runtime.c)
 * ------------------------------------------------------------------------------------------- */

void weft__trace_park_start(weft_runtime *rt, int64_t timeout)
{
    struct weft__trace *tr = rt->trace;
    if (tr->out == NULL) return;
    int64_t ns = weft_time_now();
    char args[80];
    snprintf(args, sizeof args, "\"ready\":%zu,\"unfinished\":%zu", rt->ready_len, rt->live_tasks);
    emit(tr, 'C', "loop", "tasks", REACTOR_TID, ns, args);
    if (timeout < 0)
        snprintf(args, sizeof args, "\"timeout\":\"forever\"");
    else
        snprintf(args, sizeof args, "\"timeout_ms\":%.3f", (double)timeout / 1e6);
    emit(tr, 'B', "loop", "park", REACTOR_TID, ns, args);
    tr->cause.kind = CAUSE_NONE;
}

void weft__trace_park_end(weft_runtime *rt, int n)
{
    struct weft__trace *tr = rt->trace;
    if (tr->out == NULL) return;
    char args[48];
    snprintf(args, sizeof args, n >= 0 ? "\"events\":%d" : "\"error\":%d", n);
    emit(tr, 'E', "loop", "park", REACTOR_TID, weft_time_now(), args);
}

/* The fd of the open I/O record a token names, or -1 if the token is stale. */
static int token_fd(const weft_runtime *rt, weft_token token)
{
    uint32_t slot = (uint32_t)token, gen = (uint32_t)(token >> 32);
    if (slot >= weft__table_cap(&rt->ios)) return -1;
    const struct weft__io *rec = weft__table_at(&rt->ios, sizeof(struct weft__io), slot);
    return rec->open && rec->gen == gen ? rec->u.fd : -1;
}

bool weft__trace_event(weft_runtime *rt, const weft_event *ev)
{
    if (ev->token == WEFT__TRACE_DUMP_TOKEN) {
        weft__trace_dump_now(rt);
        return true;
    }
    struct weft__trace *tr = rt->trace;
    if (tr->out == NULL) return false;
    int fd = token_fd(rt, ev->token);
    char flags[FLAG_NAMES_CAP], args[192];
    flag_names(flags, sizeof flags, ev->flags);
    snprintf(args, sizeof args, "\"fd\":%d,\"flags\":\"%s\",\"token\":\"%#" PRIx64 "\"%s", fd,
             flags, ev->token, fd < 0 ? ",\"stale\":true" : "");
    emit(tr, 'i', "loop", "event", REACTOR_TID, weft_time_now(), args);
    tr->cause = (struct weft__trace_cause){.kind = CAUSE_EVENT, .fd = fd, .flags = ev->flags};
    return false;
}

/* ---------------------------------------------------------------------------------------------
 * The tracer's life
 * ------------------------------------------------------------------------------------------- */

struct weft__trace *weft__trace_get(weft_runtime *rt)
{
    if (rt->trace == NULL) rt->trace = calloc(1, sizeof *rt->trace);
    return rt->trace;
}

void weft__trace_put(weft_runtime *rt)
{
    struct weft__trace *tr = rt->trace;
    if (tr == NULL || tr->out != NULL || tr->dump_signo != 0) return;
    free(tr->tasks);
    free(tr->buf);
    free(tr);
    rt->trace = NULL;
}

/* The start of the document and the names of the process and the reactor's track. */
static void write_header(struct weft__trace *tr)
{
    static const char head[] = "{\"displayTimeUnit\":\"ns\",\"traceEvents\":[\n";
    put_line(tr, head, sizeof head - 1);
    char name[48];
    snprintf(name, sizeof name, "weft runtime (pid %ld)", tr->pid);
    emit_meta(tr, "process_name", REACTOR_TID, "name", name, 0);
    emit_meta(tr, "thread_name", REACTOR_TID, "name", "reactor (park in epoll)", 0);
    emit_meta(tr, "thread_sort_index", REACTOR_TID, "sort_index", NULL, -1);
}

int weft_trace_start_file(weft_runtime *rt, FILE *out)
{
    if (out == NULL) return -EINVAL;
    if (rt->trace != NULL && rt->trace->out != NULL) return -EALREADY;
    struct weft__trace *tr = weft__trace_get(rt);
    if (tr == NULL) return -ENOMEM;
    tr->buf = malloc(TRACE_BUF_SIZE);
    if (tr->buf == NULL) {
        weft__trace_put(rt);
        return -ENOMEM;
    }
    tr->out = out;
    tr->owns_out = false;
    tr->error = 0;
    tr->len = 0;
    tr->t0 = weft_time_now();
    tr->pid = (long)getpid();
    tr->next_id = 0;
    tr->depth = 0;
    tr->cause.kind = CAUSE_NONE;
    write_header(tr);
    return 0;
}

int weft_trace_start(weft_runtime *rt, const char *path)
{
    if (path == NULL) return -EINVAL;
    if (rt->trace != NULL && rt->trace->out != NULL) return -EALREADY;
    FILE *f = fopen(path, "w");
    if (f == NULL) return -errno;
    int r = weft_trace_start_file(rt, f);
    if (r < 0) {
        fclose(f);
        return r;
    }
    rt->trace->owns_out = true;
    return 0;
}

/* Closes every slice still open (tasks waiting or queued at the end) and names every track. */
static void close_tracks(struct weft__trace *tr, int64_t ns)
{
    for (uint32_t slot = 0; slot < tr->ntasks; slot++) {
        struct weft__trace_task *rec = &tr->tasks[slot];
        if (rec->id == 0) continue;
        slice_end(tr, rec, ns, "\"open\":\"at the end of the trace\"");
        name_task(tr, rec);
    }
}

int weft_trace_stop(weft_runtime *rt)
{
    struct weft__trace *tr = rt->trace;
    if (tr == NULL || tr->out == NULL) return 0;
    int64_t ns = weft_time_now();
    close_tracks(tr, ns);
    /* The last event has no comma after it: the array ends here. */
    struct line l;
    begin_event(&l, tr, 'i', "loop", "trace stop", REACTOR_TID, ns);
    add_lit(&l, "}\n]}\n");
    put_line(tr, l.s, l.len);
    flush_buf(tr);
    if (fflush(tr->out) != 0 && tr->error == 0) tr->error = -EIO;
    if (tr->owns_out && fclose(tr->out) != 0 && tr->error == 0) tr->error = -EIO;
    int r = tr->error;
    tr->out = NULL;
    free(tr->tasks);
    tr->tasks = NULL;
    tr->ntasks = 0;
    free(tr->buf);
    tr->buf = NULL;
    weft__trace_put(rt);
    return r;
}

bool weft_trace_active(const weft_runtime *rt)
{
    return rt->trace != NULL && rt->trace->out != NULL;
}

void weft__trace_close(weft_runtime *rt)
{
    if (rt->trace == NULL) return;
    (void)weft_trace_stop(rt);
    (void)weft_runtime_dump_on_signal(rt, 0);
    weft__trace_put(rt);
}

/*
 * Writes spec into path (cap bytes) with "%p" as the process id and "%n" as n. Returns 0, or
 * -ENAMETOOLONG if it does not fit: a path cut short would name another file.
 */
static int expand_trace_path(const char *spec, unsigned n, char *path, size_t cap)
{
    size_t len = 0;
    for (const char *s = spec; *s != '\0'; s++) {
        int w;
        if (s[0] == '%' && (s[1] == 'p' || s[1] == 'n')) {
            long v = s[1] == 'p' ? (long)getpid() : (long)n;
            w = snprintf(path + len, cap - len, "%ld", v);
            s++;
        } else {
            w = snprintf(path + len, cap - len, "%c", *s);
        }
        if (w < 0 || (size_t)w >= cap - len) return -ENAMETOOLONG;
        len += (size_t)w;
    }
    path[len] = '\0';
    return 0;
}

/*
 * WEFT_TRACE=path. "%p" in the path becomes the process id and "%n" the runtime's number in the
 * process (1, 2, ...). Without "%n" only the first runtime initialised while WEFT_TRACE is set
 * records: a program (or a test suite) with many runtimes would otherwise overwrite its own trace.
 */
static void trace_env(weft_runtime *rt)
{
    static atomic_uint seq;
    const char *spec = getenv("WEFT_TRACE");
    if (spec == NULL || spec[0] == '\0') return;
    unsigned n = atomic_fetch_add(&seq, 1) + 1;
    if (n > 1 && strstr(spec, "%n") == NULL) return;
    char path[PATH_MAX];
    int r = expand_trace_path(spec, n, path, sizeof path);
    if (r < 0) {
        fprintf(stderr,
                "weft: WEFT_TRACE=%.64s...: %s (the path comes to more than %d bytes); no trace "
                "recorded\n",
                spec, weft_strerror(r), PATH_MAX - 1);
        return;
    }
    r = weft_trace_start(rt, path);
    if (r < 0)
        fprintf(stderr, "weft: WEFT_TRACE=%s: %s; no trace recorded\n", path, weft_strerror(r));
}

void weft__trace_init_env(weft_runtime *rt)
{
    trace_env(rt);
    weft__trace_dump_env(rt);
}

#else /* !WEFT_TRACE_COMPILED: the API is there, and says so. */

int weft_trace_start(weft_runtime *rt, const char *path)
{
    (void)rt, (void)path;
    return -ENOTSUP;
}

int weft_trace_start_file(weft_runtime *rt, FILE *out)
{
    (void)rt, (void)out;
    return -ENOTSUP;
}

int weft_trace_stop(weft_runtime *rt)
{
    (void)rt;
    return 0;
}

void weft_trace_name_task(weft_runtime *rt, weft_task t, const char *name)
{
    (void)rt, (void)t, (void)name;
}

bool weft_trace_active(const weft_runtime *rt)
{
    (void)rt;
    return false;
}

void weft__trace_note_wait(weft_runtime *rt, const char *what, uint64_t id)
{
    (void)rt, (void)what, (void)id;
}

void weft__trace_close(weft_runtime *rt)
{
    (void)rt;
}

#endif
