/*
 * Reading a weft trace (the Chrome trace-event JSON that weft/trace.h writes) back in.
 *
 * weft writes one event per line, between a first line that opens the document and a last line
 * that closes it:
 *
 *     {"displayTimeUnit":"ns","traceEvents":[
 *     {"name":"spawn","cat":"task","ph":"i","ts":35.798,"pid":1,"tid":1,"s":"t","args":{...}},
 *     ...
 *     {"name":"trace stop",...}
 *     ]}
 *
 * so this reader is a line reader plus a strict parser for one JSON object: it does not read
 * arbitrary JSON files (Perfetto does that), only ours — but every line it accepts is valid JSON.
 */
#ifndef WEFT_TRACE_FILE_H
#define WEFT_TRACE_FILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/*
 * The largest time (microseconds, either side of 0) a trace may hold: Perfetto keeps times as
 * 64-bit nanoseconds (about 9.2e15 us). The reader refuses an event beyond it, and any number
 * too large for a double, so every time and every span between two times is finite.
 */
#define TF_TS_MAX 9e15

/* One member of an event's "args": key and value, both as text (a string's value unescaped). */
struct tf_arg {
    char *key;
    char *value;
};

/* One trace event. Strings are owned by the event (tf_free releases them). */
struct tf_event {
    char *name; /* NULL if the line had no "name" */
    char *cat;  /* NULL if none */
    char ph;    /* 0 if none */
    double ts;  /* microseconds */
    long pid, tid;
    bool has_ts, has_pid, has_tid;
    struct tf_arg *args;
    size_t nargs;
    size_t line; /* its line in the file */
    bool comma;  /* the line ended with a comma (every event but the last must) */
};

/* A whole trace. */
struct tf_trace {
    struct tf_event *ev;
    size_t n, cap;
    bool complete; /* the closing "]}" was found (a trace cut short by a crash has none) */
};

/*
 * tf_read - read the trace in f. On a malformed line, writes "line N: what" to err and returns
 * -1 (what was read so far stays in t; tf_free it). Returns 0 on success.
 */
int tf_read(FILE *f, struct tf_trace *t, char *err, size_t errcap);

/*
 * tf_parse_event - parse one line holding one JSON object (a trailing comma allowed) into ev.
 * Returns 0, or -1 with the reason in err. ev must be freed with tf_event_free either way.
 */
int tf_parse_event(const char *line, struct tf_event *ev, char *err, size_t errcap);

/* tf_arg - the value of args[key], or NULL. */
const char *tf_arg(const struct tf_event *ev, const char *key);

void tf_event_free(struct tf_event *ev);
void tf_free(struct tf_trace *t);

/*
 * A map from a pair of integers (a track's pid and tid, or any two ids) to an index into the
 * caller's array, so that a lookup costs the same with 100 000 entries as with ten.
 * Zero-initialise it; tf_track_map_free releases it.
 */
struct tf_track_map {
    struct tf_track_slot *slots;
    size_t cap, n; /* cap: a power of two (or 0), at most half full */
};

/*
 * tf_track_map_get - the index stored for (a, b); if it has none yet, fresh is stored as its
 * index (the caller sees that by comparing). Returns a pointer to the index, valid until the
 * next call, or NULL if out of memory (the map is then unchanged).
 */
size_t *tf_track_map_get(struct tf_track_map *m, long a, long b, size_t fresh);
void tf_track_map_free(struct tf_track_map *m);

#endif
