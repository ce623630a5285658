/*
 * Reading a weft trace: a line reader and a strict parser for one JSON object per line.
 *
 * The parser follows the JSON grammar (RFC 8259) exactly — strings with every escape, numbers
 * with sign, fraction and exponent, nested objects and arrays, strings of valid UTF-8 — so a line
 * it accepts is one Perfetto (and Python's json) accepts too. What it keeps is what weft-trace
 * needs: the standard event fields, and the "args" object flattened to key/value text.
 */
#define _POSIX_C_SOURCE 200809L
#include "trace_file.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Nesting allowed inside one event (objects in arrays in objects...). */
#define MAX_DEPTH 16

struct cursor {
    const char *p;
    char *err;
    size_t errcap;
};

static int fail(struct cursor *c, const char *fmt, ...)
{
    if (c->err != NULL && c->errcap != 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(c->err, c->errcap, fmt, ap);
        va_end(ap);
    }
    return -1;
}

static void skip_ws(struct cursor *c)
{
    while (*c->p == ' ' || *c->p == '\t' || *c->p == '\n' || *c->p == '\r')
        c->p++;
}

/* A growable string for unescaped text. */
struct text {
    char *s;
    size_t len, cap;
};

static int text_add(struct text *t, char ch)
{
    if (t->len + 2 > t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 32;
        char *s = realloc(t->s, cap);
        if (s == NULL) return -1;
        t->s = s;
        t->cap = cap;
    }
    t->s[t->len++] = ch;
    t->s[t->len] = '\0';
    return 0;
}

/* Appends code point cp as UTF-8. */
static int text_add_utf8(struct text *t, uint32_t cp)
{
    int r = 0;
    if (cp < 0x80) {
        r |= text_add(t, (char)cp);
    } else if (cp < 0x800) {
        r |= text_add(t, (char)(0xC0 | cp >> 6));
        r |= text_add(t, (char)(0x80 | (cp & 0x3F)));
    } else if (cp < 0x10000) {
        r |= text_add(t, (char)(0xE0 | cp >> 12));
        r |= text_add(t, (char)(0x80 | (cp >> 6 & 0x3F)));
        r |= text_add(t, (char)(0x80 | (cp & 0x3F)));
    } else {
        r |= text_add(t, (char)(0xF0 | cp >> 18));
        r |= text_add(t, (char)(0x80 | (cp >> 12 & 0x3F)));
        r |= text_add(t, (char)(0x80 | (cp >> 6 & 0x3F)));
        r |= text_add(t, (char)(0x80 | (cp & 0x3F)));
    }
    return r;
}

static int hex4(struct cursor *c, uint32_t *out)
{
    uint32_t v = 0;
    for (int i = 0; i < 4; i++) {
        char ch = c->p[i];
        v <<= 4;
        if (ch >= '0' && ch <= '9')
            v |= (uint32_t)(ch - '0');
        else if (ch >= 'a' && ch <= 'f')
            v |= (uint32_t)(ch - 'a' + 10);
        else if (ch >= 'A' && ch <= 'F')
            v |= (uint32_t)(ch - 'A' + 10);
        else
            return fail(c, "bad \\u escape");
    }
    c->p += 4;
    *out = v;
    return 0;
}

/* One escape after the backslash. */
static int parse_escape(struct cursor *c, struct text *t)
{
    static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
    char ch = *c->p++;
    const char *hit = ch != '\0' ? strchr(from, ch) : NULL;
    if (hit != NULL) return text_add(t, to[hit - from]);
    if (ch != 'u') return fail(c, "bad escape \\%c", ch);
    uint32_t cp = 0; /* set by hex4 on success; gcc -O3 cannot tell (maybe-uninitialized) */
    if (hex4(c, &cp) < 0) return -1;
    if (cp >= 0xD800 && cp < 0xDC00 && c->p[0] == '\\' && c->p[1] == 'u') {
        uint32_t lo = 0;
        c->p += 2;
        if (hex4(c, &lo) < 0) return -1;
        if (lo < 0xDC00 || lo > 0xDFFF) return fail(c, "bad surrogate pair");
        cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
    }
    return text_add_utf8(t, cp);
}

/*
 * The length of the UTF-8 character s starts with, or 0 if it is not valid UTF-8 (RFC 3629: no
 * overlong form, no surrogate, nothing past U+10FFFF) — JSON text must be UTF-8.
 */
static size_t utf8_char_len(const unsigned char *s)
{
    static const uint32_t least[5] = {0, 0, 0x80, 0x800, 0x10000}; /* by length: else overlong */
    size_t n = s[0] < 0x80 ? 1 : s[0] < 0xC0 ? 0 : s[0] < 0xE0 ? 2 : s[0] < 0xF0 ? 3 : 4;
    if (n == 0 || s[0] >= 0xF8) return 0;
    uint32_t cp = n == 1 ? s[0] : s[0] & (0x7Fu >> n);
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xC0) != 0x80) return 0;
        cp = cp << 6 | (s[i] & 0x3Fu);
    }
    return cp < least[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF) ? 0 : n;
}

/* A string; *out receives its unescaped text (caller frees). */
static int parse_string(struct cursor *c, char **out)
{
    struct text t = {0};
    if (*c->p != '"') return fail(c, "expected a string");
    c->p++;
    if (text_add(&t, 'x') < 0) return fail(c, "out of memory");
    t.len = 0;
    t.s[0] = '\0';
    for (;;) {
        unsigned char ch = (unsigned char)*c->p;
        if (ch == '"') break;
        if (ch == '\0' || ch < 0x20) {
            free(t.s);
            return fail(c, ch == '\0' ? "unterminated string" : "control character in string");
        }
        size_t n = ch == '\\' ? 1 : utf8_char_len((const unsigned char *)c->p);
        if (n == 0) {
            free(t.s);
            return fail(c, "invalid UTF-8 in string (byte 0x%02x)", ch);
        }
        c->p++;
        int r = ch == '\\' ? parse_escape(c, &t) : text_add(&t, (char)ch);
        for (size_t i = 1; r == 0 && i < n; i++)
            r = text_add(&t, *c->p++);
        if (r < 0) {
            free(t.s);
            return -1;
        }
    }
    c->p++;
    *out = t.s;
    return 0;
}

static bool is_digit(char ch)
{
    return ch >= '0' && ch <= '9';
}

/* A number, by the JSON grammar: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? */
static int parse_number(struct cursor *c)
{
    const char *start = c->p;
    if (*c->p == '-') c->p++;
    if (*c->p == '0')
        c->p++;
    else if (is_digit(*c->p))
        while (is_digit(*c->p))
            c->p++;
    else
        return fail(c, "bad number");
    if (*c->p == '.') {
        c->p++;
        if (!is_digit(*c->p)) return fail(c, "bad fraction");
        while (is_digit(*c->p))
            c->p++;
    }
    if (*c->p == 'e' || *c->p == 'E') {
        c->p++;
        if (*c->p == '+' || *c->p == '-') c->p++;
        if (!is_digit(*c->p)) return fail(c, "bad exponent");
        while (is_digit(*c->p))
            c->p++;
    }
    /* Valid JSON, but a double cannot hold it (1e400): readers would take it as infinity. */
    int len = (int)(c->p - start);
    if (isinf(strtod(start, NULL)))
        return fail(c, "number %.*s%s is too large", len < 24 ? len : 24, start,
                    len < 24 ? "" : "...");
    return 0;
}

static int parse_value(struct cursor *c, char **text, int depth);

/* An object or an array (its opening bracket already seen), checked and skipped. */
static int parse_container(struct cursor *c, char close, int depth)
{
    skip_ws(c);
    if (*c->p == close) {
        c->p++;
        return 0;
    }
    for (;;) {
        skip_ws(c);
        if (close == '}') {
            char *key = NULL;
            if (parse_string(c, &key) < 0) return -1;
            free(key);
            skip_ws(c);
            if (*c->p++ != ':') return fail(c, "expected ':'");
        }
        if (parse_value(c, NULL, depth + 1) < 0) return -1;
        skip_ws(c);
        char ch = *c->p++;
        if (ch == close) return 0;
        if (ch != ',') return fail(c, "expected ',' or '%c'", close);
    }
}

/*
 * Any value. If text is not NULL it receives the value as text: a string unescaped, anything
 * else as written (a number, true, an object's JSON).
 */
static int parse_value(struct cursor *c, char **text, int depth)
{
    if (depth > MAX_DEPTH) return fail(c, "nested too deep");
    skip_ws(c);
    if (*c->p == '"') return parse_string(c, text);
    const char *start = c->p;
    int r;
    if (*c->p == '{' || *c->p == '[') {
        char close = *c->p == '{' ? '}' : ']';
        c->p++;
        r = parse_container(c, close, depth);
    } else if (strncmp(c->p, "true", 4) == 0 || strncmp(c->p, "null", 4) == 0) {
        c->p += 4;
        r = 0;
    } else if (strncmp(c->p, "false", 5) == 0) {
        c->p += 5;
        r = 0;
    } else {
        r = parse_number(c);
    }
    if (r < 0 || text == NULL) return r;
    *text = strndup(start, (size_t)(c->p - start));
    return *text != NULL ? 0 : fail(c, "out of memory");
}

/* The "args" object: each member becomes a tf_arg. */
static int parse_args(struct cursor *c, struct tf_event *ev)
{
    skip_ws(c);
    if (*c->p++ != '{') return fail(c, "args: expected an object");
    skip_ws(c);
    if (*c->p == '}') {
        c->p++;
        return 0;
    }
    for (;;) {
        struct tf_arg a = {0};
        skip_ws(c);
        if (parse_string(c, &a.key) < 0) return -1;
        skip_ws(c);
        int r = *c->p++ == ':' ? parse_value(c, &a.value, 2) : fail(c, "args: expected ':'");
        if (r < 0) { /* the reason is the value's */
            free(a.key);
            free(a.value);
            return -1;
        }
        struct tf_arg *grown = realloc(ev->args, (ev->nargs + 1) * sizeof *grown);
        if (grown == NULL) {
            free(a.key);
            free(a.value);
            return fail(c, "out of memory");
        }
        ev->args = grown;
        ev->args[ev->nargs++] = a;
        skip_ws(c);
        char ch = *c->p++;
        if (ch == '}') return 0;
        if (ch != ',') return fail(c, "args: expected ',' or '}'");
    }
}

/*
 * The time of an event, in microseconds: a number, and one a trace can hold — Perfetto keeps
 * times as 64-bit nanoseconds, and a span between two times must stay finite.
 */
static int parse_ts(struct cursor *c, const char *text, bool number, double *ts)
{
    *ts = strtod(text, NULL);
    if (!number) return fail(c, "\"ts\" is not a number");
    if (!(*ts >= -TF_TS_MAX && *ts <= TF_TS_MAX))
        return fail(c, "\"ts\" %s is out of range (more than %.0e us from 0)", text, TF_TS_MAX);
    return 0;
}

/* A pid or tid: an integer a long holds. */
static int parse_id(struct cursor *c, const char *key, const char *text, bool number, long *id)
{
    char *end;
    errno = 0;
    *id = strtol(text, &end, 10);
    if (!number || *end != '\0' || errno != 0)
        return fail(c, "\"%s\" is not an integer (%s)", key, text);
    return 0;
}

/* One top-level member of an event. */
static int parse_member(struct cursor *c, struct tf_event *ev)
{
    char *key = NULL, *val = NULL;
    if (parse_string(c, &key) < 0) return -1;
    skip_ws(c);
    int r = *c->p++ == ':' ? 0 : fail(c, "expected ':'");
    skip_ws(c);
    bool number = *c->p == '-' || is_digit(*c->p);
    if (r == 0 && strcmp(key, "args") == 0) {
        r = parse_args(c, ev);
    } else if (r == 0) {
        r = parse_value(c, &val, 1);
    }
    if (r == 0 && strcmp(key, "name") == 0 && ev->name == NULL) {
        ev->name = val;
        val = NULL;
    } else if (r == 0 && strcmp(key, "cat") == 0 && ev->cat == NULL) {
        ev->cat = val;
        val = NULL;
    } else if (r == 0 && strcmp(key, "ph") == 0) {
        ev->ph = strlen(val) == 1 ? val[0] : '?';
    } else if (r == 0 && strcmp(key, "ts") == 0) {
        r = parse_ts(c, val, number, &ev->ts);
        ev->has_ts = true;
    } else if (r == 0 && strcmp(key, "pid") == 0) {
        r = parse_id(c, key, val, number, &ev->pid);
        ev->has_pid = true;
    } else if (r == 0 && strcmp(key, "tid") == 0) {
        r = parse_id(c, key, val, number, &ev->tid);
        ev->has_tid = true;
    }
    free(key);
    free(val);
    return r;
}

int tf_parse_event(const char *line, struct tf_event *ev, char *err, size_t errcap)
{
    struct cursor c = {line, err, errcap};
    *ev = (struct tf_event){0};
    skip_ws(&c);
    if (*c.p++ != '{') return fail(&c, "expected '{'");
    skip_ws(&c);
    if (*c.p == '}') {
        c.p++;
    } else {
        for (;;) {
            skip_ws(&c);
            if (parse_member(&c, ev) < 0) return -1;
            skip_ws(&c);
            char ch = *c.p++;
            if (ch == '}') break;
            if (ch != ',') return fail(&c, "expected ',' or '}'");
        }
    }
    skip_ws(&c);
    if (*c.p == ',') {
        ev->comma = true;
        c.p++;
    }
    skip_ws(&c);
    return *c.p == '\0' ? 0 : fail(&c, "text after the event");
}

const char *tf_arg(const struct tf_event *ev, const char *key)
{
    for (size_t i = 0; i < ev->nargs; i++)
        if (strcmp(ev->args[i].key, key) == 0) return ev->args[i].value;
    return NULL;
}

void tf_event_free(struct tf_event *ev)
{
    free(ev->name);
    free(ev->cat);
    for (size_t i = 0; i < ev->nargs; i++) {
        free(ev->args[i].key);
        free(ev->args[i].value);
    }
    free(ev->args);
    *ev = (struct tf_event){0};
}

void tf_free(struct tf_trace *t)
{
    for (size_t i = 0; i < t->n; i++)
        tf_event_free(&t->ev[i]);
    free(t->ev);
    *t = (struct tf_trace){0};
}

struct tf_track_slot {
    long a, b;
    size_t value;
    bool used;
};

/* Where (a, b) is in slots, or the free slot where it would go: linear probing. */
static struct tf_track_slot *track_slot(struct tf_track_slot *slots, size_t cap, long a, long b)
{
    uint64_t h = (uint64_t)a * 0x9E3779B97F4A7C15u ^ (uint64_t)b * 0xC2B2AE3D27D4EB4Fu;
    h ^= h >> 31;
    for (size_t i = (size_t)h & (cap - 1);; i = (i + 1) & (cap - 1))
        if (!slots[i].used || (slots[i].a == a && slots[i].b == b)) return &slots[i];
}

/* Doubles the table (at least 64 slots), moving every entry over. -1 if out of memory. */
static int track_map_grow(struct tf_track_map *m)
{
    size_t cap = m->cap != 0 ? m->cap * 2 : 64;
    struct tf_track_slot *slots = calloc(cap, sizeof *slots);
    if (slots == NULL) return -1;
    for (size_t i = 0; i < m->cap; i++)
        if (m->slots[i].used) *track_slot(slots, cap, m->slots[i].a, m->slots[i].b) = m->slots[i];
    free(m->slots);
    m->slots = slots;
    m->cap = cap;
    return 0;
}

size_t *tf_track_map_get(struct tf_track_map *m, long a, long b, size_t fresh)
{
    if (m->cap != 0) {
        struct tf_track_slot *s = track_slot(m->slots, m->cap, a, b);
        if (s->used) return &s->value;
    }
    if (2 * (m->n + 1) > m->cap && track_map_grow(m) < 0) return NULL;
    struct tf_track_slot *s = track_slot(m->slots, m->cap, a, b);
    *s = (struct tf_track_slot){.a = a, .b = b, .value = fresh, .used = true};
    m->n++;
    return &s->value;
}

void tf_track_map_free(struct tf_track_map *m)
{
    free(m->slots);
    *m = (struct tf_track_map){0};
}

static int push(struct tf_trace *t, const struct tf_event *ev)
{
    if (t->n == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 1024;
        struct tf_event *grown = realloc(t->ev, cap * sizeof *grown);
        if (grown == NULL) return -1;
        t->ev = grown;
        t->cap = cap;
    }
    t->ev[t->n++] = *ev;
    return 0;
}

/* The first line: the object that opens the document, up to and including "traceEvents":[. */
static bool is_header(const char *line)
{
    const char *key = strstr(line, "\"traceEvents\"");
    if (line[strspn(line, " \t")] != '{' || key == NULL) return false;
    const char *p = key + strlen("\"traceEvents\"");
    p += strspn(p, " \t");
    if (*p++ != ':') return false;
    p += strspn(p, " \t");
    if (*p++ != '[') return false;
    return p[strspn(p, " \t\r\n")] == '\0';
}

/* The last line: "]}" (and blanks). */
static bool is_footer(const char *line)
{
    const char *p = line + strspn(line, " \t");
    if (*p++ != ']') return false;
    p += strspn(p, " \t");
    if (*p++ != '}') return false;
    return p[strspn(p, " \t\r\n")] == '\0';
}

int tf_read(FILE *f, struct tf_trace *t, char *err, size_t errcap)
{
    *t = (struct tf_trace){0};
    char *line = NULL;
    size_t cap = 0, lineno = 0;
    char why[160];
    int r = 0;
    while (r == 0 && getline(&line, &cap, f) >= 0) {
        lineno++;
        if (lineno == 1) {
            if (!is_header(line)) r = -1, snprintf(err, errcap, "line 1: not a weft trace header");
            continue;
        }
        if (t->complete) {
            if (line[strspn(line, " \t\r\n")] != '\0')
                r = -1, snprintf(err, errcap, "line %zu: text after the end", lineno);
            continue;
        }
        if (is_footer(line)) {
            t->complete = true;
            continue;
        }
        struct tf_event ev;
        if (tf_parse_event(line, &ev, why, sizeof why) < 0) {
            tf_event_free(&ev);
            snprintf(err, errcap, "line %zu: %s", lineno, why);
            r = -1;
            continue;
        }
        ev.line = lineno;
        if (push(t, &ev) < 0) {
            tf_event_free(&ev);
            snprintf(err, errcap, "out of memory");
            r = -1;
        }
    }
    free(line);
    if (r == 0 && lineno == 0) r = -1, snprintf(err, errcap, "empty file");
    return r;
}
