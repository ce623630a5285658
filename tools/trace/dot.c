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

struct graph {
    struct node *nodes;
    size_t nn, capn;
    struct edge *edges;
    size_t ne, cape;
    struct walker *walkers;
    size_t nw, capw;
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

static size_t node_of(struct graph *g, const char *func, const char *site)
{
    for (size_t i = N_FIXED; i < g->nn; i++)
        if (strcmp(g->nodes[i].func, func) == 0 && strcmp(g->nodes[i].site, site) == 0) return i;
    struct node *nodes = grow(g->nodes, g->nn, &g->capn, sizeof *nodes);
    if (nodes == NULL) return SIZE_MAX;
    g->nodes = nodes;
    g->nodes[g->nn] = (struct node){.func = func, .site = site};
    return g->nn++;
}

static bool add_edge(struct graph *g, size_t from, size_t to)
{
    for (size_t i = 0; i < g->ne; i++) {
        if (g->edges[i].from == from && g->edges[i].to == to) {
            g->edges[i].count++;
            return true;
        }
    }
    struct edge *edges = grow(g->edges, g->ne, &g->cape, sizeof *edges);
    if (edges == NULL) return false;
    g->edges = edges;
    g->edges[g->ne++] = (struct edge){from, to, 1};
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
        bool first = true;
        for (size_t j = N_FIXED; j < i && first; j++)
            first = strcmp(g->nodes[j].func, g->nodes[i].func) != 0;
        if (!first) continue;
        fprintf(out, "  subgraph \"cluster_%zu\" {\n    label=\"", cluster++);
        dot_str(out, g->nodes[i].func);
        fputs("()\";\n", out);
        for (size_t j = i; j < g->nn; j++)
            if (strcmp(g->nodes[j].func, g->nodes[i].func) == 0) put_node(out, g, j);
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
    if (ok) put_graph(out, &g);
    free(g.nodes);
    free(g.edges);
    free(g.walkers);
    tf_track_map_free(&g.walker_index);
    if (!ok) fprintf(stderr, "weft-trace: out of memory\n");
    return ok ? 0 : 2;
}
