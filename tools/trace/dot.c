/*
 * weft-trace dot: each coroutine function's state machine, as the trace saw it run.
 *
 * A stackless coroutine is a state machine whose states are its suspension points: each WEFT_AWAIT
 * (or WAIT_UNTIL, YIELD...) is a state, and a poll moves it from one to the next. The trace
 * records, for every suspension, the innermost coroutine's site (file:line and function), so
 * following one task's suspensions in order walks its machine:
 *
 *     spawn -> conn.c:88 -> conn.c:95 -> conn.c:95 -> conn.c:120 -> done
 *
 * The graph gathers those walks over every task: a node per suspension point, drawn inside a box
 * per function (a function's states side by side), an edge per transition actually taken, with
 * how many times. When a coroutine awaits a child, the site recorded is the child's, so a walk
 * crosses into the child's box and back — the call structure shows up as edges between boxes.
 *
 * Every lookup (a site's node, an edge, a task's walker, a function's box) is a hash lookup, so
 * the time is linear in the trace however many distinct sites it holds.
 */
#include "weft_trace.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* The nodes every graph has, before the suspension points. */
enum { N_SPAWN, N_DONE, N_ERROR, N_CANCELLED, N_END, N_FIXED };

#define KINDS_SHOWN 4

struct node {
    const char *func, *site; /* for suspension points */
    size_t func_id;          /* func's number in the graph's names */
    size_t next_in_func;     /* the next node of the same function, or SIZE_MAX */
    bool first_in_func;      /* the node that opens its function's box */
    const char *kind[KINDS_SHOWN];
    unsigned kind_count[KINDS_SHOWN];
    unsigned count; /* times a task suspended here */
};

struct edge {
    size_t from, to;
    unsigned count;
};

/* Where each task is in its walk. */
struct walker {
    long tid;
    size_t at; /* the node it is at */
    bool cancelled;
};

/* The distinct strings (function and site names), numbered in order of first appearance. */
struct name_slot {
    const char *s; /* NULL: a free slot */
    size_t id;
};

struct names {
    struct name_slot *slots;
    size_t cap, n; /* cap: a power of two (or 0), at most half full */
};

struct graph {
    struct node *nodes;
    size_t nn, capn;
    struct edge *edges;
    size_t ne, cape;
    struct walker *walkers;
    size_t nw, capw;
    struct names names;
    struct tf_track_map node_index;   /* (function's name, site's name) -> its node */
    struct tf_track_map edge_index;   /* (from, to) -> its place in edges */
    struct tf_track_map walker_index; /* tid -> its place in walkers */
};

/*
 * An array of n elements of elem bytes, with room for one more: arr itself, or arr moved to a
 * larger block (and *cap updated). NULL if out of memory (arr is then unchanged).
 */
static void *grow(void *arr, size_t n, size_t *cap, size_t elem)
{
    if (n < *cap) return arr;
    size_t c = *cap ? *cap * 2 : 32;
    void *p = realloc(arr, c * elem);
    if (p != NULL) *cap = c;
    return p;
}

/* FNV-1a, its high bits folded into the low ones that pick the slot. */
static uint64_t str_hash(const char *s)
{
    uint64_t h = 0xCBF29CE484222325u;
    for (; *s != '\0'; s++)
        h = (h ^ (unsigned char)*s) * 0x100000001B3u;
    return h ^ h >> 32;
}

static struct name_slot *name_slot(struct name_slot *slots, size_t cap, const char *s)
{
    size_t i = (size_t)str_hash(s) & (cap - 1);
    while (slots[i].s != NULL && strcmp(slots[i].s, s) != 0)
        i = (i + 1) & (cap - 1);
    return &slots[i];
}

/* The number of s, the next free one if s is new. SIZE_MAX if out of memory. */
static size_t name_id(struct names *m, const char *s)
{
    if (m->cap != 0) {
        const struct name_slot *found = name_slot(m->slots, m->cap, s);
        if (found->s != NULL) return found->id;
    }
    if (2 * (m->n + 1) > m->cap) {
        size_t cap = m->cap != 0 ? m->cap * 2 : 64;
        struct name_slot *slots = calloc(cap, sizeof *slots);
        if (slots == NULL) return SIZE_MAX;
        for (size_t i = 0; i < m->cap; i++)
            if (m->slots[i].s != NULL) *name_slot(slots, cap, m->slots[i].s) = m->slots[i];
        free(m->slots);
        m->slots = slots;
        m->cap = cap;
    }
    *name_slot(m->slots, m->cap, s) = (struct name_slot){s, m->n};
    return m->n++;
}

static size_t node_of(struct graph *g, const char *func, const char *site)
{
    size_t f = name_id(&g->names, func), s = name_id(&g->names, site);
    if (f == SIZE_MAX || s == SIZE_MAX) return SIZE_MAX;
    size_t *i = tf_track_map_get(&g->node_index, (long)f, (long)s, g->nn);
    if (i == NULL) return SIZE_MAX;
    if (*i < g->nn) return *i;
    struct node *nodes = grow(g->nodes, g->nn, &g->capn, sizeof *nodes);
    if (nodes == NULL) return SIZE_MAX;
    g->nodes = nodes;
    g->nodes[g->nn] = (struct node){.func = func, .site = site, .func_id = f};
    return g->nn++;
}

static bool add_edge(struct graph *g, size_t from, size_t to)
{
    size_t *i = tf_track_map_get(&g->edge_index, (long)from, (long)to, g->ne);
    if (i == NULL) return false;
    if (*i < g->ne) {
        g->edges[*i].count++;
        return true;
    }
    struct edge *edges = grow(g->edges, g->ne, &g->cape, sizeof *edges);
    if (edges == NULL) return false;
    g->edges = edges;
    g->edges[g->ne++] = (struct edge){from, to, 1};
    return true;
}

/* Chains each function's nodes in order (next_in_func) and marks the first of each. */
static bool chain_functions(struct graph *g)
{
    size_t *last = malloc((g->names.n + 1) * sizeof *last); /* per function: its latest node */
    if (last == NULL) return false;
    for (size_t f = 0; f < g->names.n; f++)
        last[f] = SIZE_MAX;
    for (size_t i = N_FIXED; i < g->nn; i++) {
        struct node *n = &g->nodes[i];
        n->next_in_func = SIZE_MAX;
        n->first_in_func = last[n->func_id] == SIZE_MAX;
        if (!n->first_in_func) g->nodes[last[n->func_id]].next_in_func = i;
        last[n->func_id] = i;
    }
    free(last);
    return true;
}

static struct walker *walker_of(struct graph *g, long tid)
{
    size_t *i = tf_track_map_get(&g->walker_index, 0, tid, g->nw);
    if (i == NULL) return NULL;
    if (*i < g->nw) return &g->walkers[*i];
    struct walker *walkers = grow(g->walkers, g->nw, &g->capw, sizeof *walkers);
    if (walkers == NULL) return NULL;
    g->walkers = walkers;
    g->walkers[g->nw] = (struct walker){.tid = tid, .at = N_SPAWN};
    return &g->walkers[g->nw++];
}

/* Counts one suspension of kind (the slice name without "wait ") at node n. */
static void count_kind(struct node *n, const char *kind)
{
    n->count++;
    for (int i = 0; i < KINDS_SHOWN; i++) {
        if (n->kind[i] == NULL) n->kind[i] = kind;
        if (strcmp(n->kind[i], kind) == 0) {
            n->kind_count[i]++;
            return;
        }
    }
}

/* One event of a task: a suspension moves its walker, "cancel" marks it, "done" ends it. */
static bool walk(struct graph *g, const struct tf_event *e)
{
    struct walker *w = walker_of(g, e->tid);
    if (w == NULL) return false;
    if (e->ph == 'B' && strncmp(e->name, "wait ", 5) == 0) {
        const char *func = tf_arg(e, "func"), *site = tf_arg(e, "site");
        size_t n = node_of(g, func != NULL ? func : "?", site != NULL ? site : "?");
        if (n == SIZE_MAX) return false;
        count_kind(&g->nodes[n], e->name + 5);
        if (!add_edge(g, w->at, n)) return false;
        w->at = n;
    } else if (e->ph == 'i' && strcmp(e->name, "cancel") == 0) {
        w->cancelled = true;
    } else if (e->ph == 'i' && strcmp(e->name, "done") == 0) {
        size_t end = w->cancelled ? N_CANCELLED : tf_arg(e, "error") != NULL ? N_ERROR : N_DONE;
        if (!add_edge(g, w->at, end)) return false;
        w->at = N_SPAWN;
        w->cancelled = false;
    }
    return true;
}

/* Writes s inside a DOT string: quotes and backslashes escaped. */
static void dot_str(FILE *out, const char *s)
{
    for (; *s != '\0'; s++) {
        if (*s == '"' || *s == '\\') fputc('\\', out);
        fputc(*s, out);
    }
}

static void put_node(FILE *out, const struct graph *g, size_t i)
{
    const struct node *n = &g->nodes[i];
    fprintf(out, "    n%zu [label=\"", i);
    dot_str(out, n->site);
    fputs("\\n", out);
    for (int k = 0; k < KINDS_SHOWN && n->kind[k] != NULL; k++) {
        fprintf(out, "%s", k ? ", " : "waits: ");
        dot_str(out, n->kind[k]);
        fprintf(out, " \xc3\x97%u", n->kind_count[k]);
    }
    fputs("\"];\n", out);
}

/* One box per function, holding its suspension points, in order of first appearance. */
static void put_clusters(FILE *out, const struct graph *g)
{
    size_t cluster = 0;
    for (size_t i = N_FIXED; i < g->nn; i++) {
        if (!g->nodes[i].first_in_func) continue;
        fprintf(out, "  subgraph \"cluster_%zu\" {\n    label=\"", cluster++);
        dot_str(out, g->nodes[i].func);
        fputs("()\";\n", out);
        for (size_t j = i; j != SIZE_MAX; j = g->nodes[j].next_in_func)
            put_node(out, g, j);
        fputs("  }\n", out);
    }
}

static void put_graph(FILE *out, const struct graph *g)
{
    static const char *const fixed[N_FIXED] = {
        "[label=\"spawn\", shape=circle, style=filled, fillcolor=\"#dddddd\"]",
        "[label=\"done\", shape=doublecircle, style=filled, fillcolor=\"#c9e8c9\"]",
        "[label=\"error\", shape=doublecircle, style=filled, fillcolor=\"#f4c7c3\"]",
        "[label=\"cancelled\", shape=doublecircle, style=filled, fillcolor=\"#f9e0b0\"]",
        "[label=\"still waiting\\nat the end\", shape=circle, style=dashed]",
    };
    bool used[N_FIXED] = {true};
    for (size_t i = 0; i < g->ne; i++)
        if (g->edges[i].to < N_FIXED) used[g->edges[i].to] = true;
    fputs("digraph weft {\n"
          "  rankdir=TB;\n"
          "  node [shape=box, style=\"rounded,filled\", fillcolor=\"#f4f8ff\", "
          "fontname=\"Helvetica\", fontsize=10];\n"
          "  edge [fontname=\"Helvetica\", fontsize=9];\n"
          "  graph [fontname=\"Helvetica\", fontsize=11, style=rounded, color=\"#8899aa\"];\n",
          out);
    for (size_t i = 0; i < N_FIXED; i++)
        if (used[i]) fprintf(out, "  n%zu %s;\n", i, fixed[i]);
    put_clusters(out, g);
    for (size_t i = 0; i < g->ne; i++) {
        const struct edge *e = &g->edges[i];
        fprintf(out, "  n%zu -> n%zu [label=\"\xc3\x97%u\"%s];\n", e->from, e->to, e->count,
                e->to == N_END ? ", style=dashed" : "");
    }
    fputs("}\n", out);
}

int cmd_dot(const struct tf_trace *t, FILE *out)
{
    struct graph g = {0};
    g.nodes = calloc(N_FIXED, sizeof *g.nodes);
    bool ok = g.nodes != NULL;
    g.nn = g.capn = ok ? N_FIXED : 0;
    for (size_t i = 0; ok && i < t->n; i++) {
        const struct tf_event *e = &t->ev[i];
        if (e->name != NULL && e->has_tid && e->tid != 0 && e->ph != 'M') ok = walk(&g, e);
    }
    /* Tasks the trace ended on, suspended. */
    for (size_t i = 0; ok && i < g.nw; i++)
        if (g.walkers[i].at != N_SPAWN) ok = add_edge(&g, g.walkers[i].at, N_END);
    ok = ok && chain_functions(&g);
    if (ok) put_graph(out, &g);
    free(g.nodes);
    free(g.edges);
    free(g.walkers);
    free(g.names.slots);
    tf_track_map_free(&g.node_index);
    tf_track_map_free(&g.edge_index);
    tf_track_map_free(&g.walker_index);
    if (!ok) fprintf(stderr, "weft-trace: out of memory\n");
    return ok ? 0 : 2;
}
