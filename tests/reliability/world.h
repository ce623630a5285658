/*
 * A small world for the reliability tests: one runtime with the delay server embedded in it
 * (tools/delayserver/delayserver.h) and an HTTP client (weft/http.h), plus the tasks the tests
 * run in it — fetches, a bystander that only sleeps — and the checks that a scenario left
 * nothing behind. Every scenario builds its world from nothing and tears it down completely, so
 * a fault injected anywhere, from the runtime's first allocation to the last close, is tested.
 *
 * Nothing here allocates on its own: the frames live in the caller's (static) memory, so the
 * only allocations a fault counter sees are weft's.
 */
#ifndef WEFT_RELIABILITY_WORLD_H
#define WEFT_RELIABILITY_WORLD_H

#include <stdbool.h>
#include <stddef.h>

#include <weft/http.h>
#include <weft/runtime.h>
#include <weft/sync.h>

#include "delayserver.h"

/* The runtime, the server and the client; which of them are open. */
struct world {
    weft_runtime rt;
    weft_delayserver srv;
    weft_http_client client;
    char base[64]; /* "http://127.0.0.1:PORT" */
    bool rt_open, srv_open, client_open;
};

/*
 * Opens a world: runtime, server (cfg, or defaults with no log and short timeouts when NULL), and
 * client (client_cfg may be NULL). Returns 0, or the first error (-ENOMEM, -EMFILE, ...) with
 * everything closed again.
 */
int world_open(struct world *w, const weft_delayserver_config *cfg,
               const weft_http_client_config *client_cfg);

/*
 * Closes the world: stops the server at once (whatever is still being answered is cut off),
 * runs the loop until it has finished, then closes the client, the runtime and the server's
 * pools. Returns 0 if everything had ended cleanly, else the first -EBUSY (something was still
 * alive and had to be cancelled or closed; nothing leaks either way).
 */
int world_close(struct world *w);

/* One fetch: `count` GETs of `path` in turn, through the pooled client (keep-alive). */
struct fetch {
    weft_co co;
    struct world *w;
    char url[128];
    int count;             /* requests to make (1..4) */
    bool pieces;           /* read bodies with exchange_read instead of read_all */
    int64_t timeout;       /* per exchange; 0: none */
    uint64_t max_body;     /* per exchange; 0: no limit */
    int i, r;              /* the request in progress, the last step's result */
    int result[4];         /* per request: the body length, or the error */
    int status[4];         /* per request: the status code, or 0 */
    char body[4][256];     /* per request: the body (NUL-terminated) */
    weft_http_exchange ex; /* the exchange in progress */
};

/* Prepares f to GET base + path count times. */
void fetch_init(struct fetch *f, struct world *w, const char *path, int count);

/* The task: weft_co_fn over struct fetch. Returns 0, or the first request's error. */
int fetch_task(void *frame, weft_cx *cx);

/* A bystander: sleeps `rounds` times `step` ns, counting the rounds it finished. */
struct bystander {
    weft_co co;
    int rounds, done;
    int64_t step, wake;
};

int bystander_task(void *frame, weft_cx *cx);

/* Up to 4 tasks run together by run_tasks; each result is kept. */
struct task_set {
    weft_co co;
    size_t n, i;
    weft_co_fn fn[4];
    void *frame[4];
    weft_task handle[4];
    int spawned[4]; /* 0, or the spawn's error */
    int result[4];  /* each task's result (or its spawn error) */
};

/*
 * Spawns the set's tasks and waits for all of them (weft_runtime_block_on over a root task).
 * Returns the root's result: 0, or -ENOMEM if the root itself could not be spawned.
 */
int run_tasks(struct world *w, struct task_set *set);

/* The same in any runtime. */
int task_set_run(weft_runtime *rt, struct task_set *set);

/* Adds a task to the set. */
void task_set_add(struct task_set *set, weft_co_fn fn, void *frame);

/* Runs the loop for about ns (tasks keep running; the server keeps serving). */
void world_run_for(struct world *w, int64_t ns);

/* Runs the loop until the server has no connection open, for at most ns. True if it got there. */
bool world_settle(struct world *w, int64_t ns);

#endif

/* ---- checks (they fail the running cmocka test) -------------------------------------------- */

/*
 * Request i of f: true if it succeeded with status 200 and body `expect`; false if it failed with
 * one of the `n` errors in `allowed` (a status code such as 503 counts as an error here). Any
 * other outcome fails the test, naming `what` (the fault being injected).
 */
bool expect_request(const struct fetch *f, int i, const char *expect, const int *allowed, size_t n,
                    const char *what);

/* Nothing left behind since the snapshot: every fd closed, every block freed. */
struct leak_snapshot {
    int fds;
    long blocks;
};
struct leak_snapshot leak_snapshot_take(void);
void expect_no_leak(struct leak_snapshot before, const char *what);

/* ---- the common scenario ------------------------------------------------------------------- */

/*
 * Two clients and a bystander: `a` makes two requests on one kept-alive connection and reads the
 * bodies in pieces (GET /1/alpha%20one, body "alpha one"), `b` one request (GET /0/b, body "b"),
 * and the bystander sleeps 3 x 1 ms.
 */
struct trio {
    struct fetch a, b;
    struct bystander by;
    struct task_set set;
};

/* Runs the trio in w; returns run_tasks' result. */
int trio_run(struct trio *t, struct world *w);

/*
 * Checks a trio that ran: each request succeeded or failed with one of `allowed` (a task that
 * could not be spawned counts as failed if -ENOMEM is allowed), and the bystander finished.
 * Returns the number of requests (and spawns) that failed.
 */
int trio_failures(const struct trio *t, const int *allowed, size_t n, const char *what);

/* ---- a channel pipeline -------------------------------------------------------------------- */

/* One stage: in NULL: produce 1..PIPELINE_ITEMS into out; out NULL: consume from in and sum;
 * both set: receive, double, send. A stage that fails closes both its channels, so that the
 * others end too. */
enum { PIPELINE_ITEMS = 6 };

struct stage {
    weft_co co;
    weft_chan *in, *out;
    int item, r;
    long sum;
};

/*
 * A task that owns two channels of capacity 1 and joins three stages over them (producer,
 * doubling stage, consumer). Returns 0 if the consumer's sum is right, else the first error
 * (-ENOMEM from a channel's init or from a wait); -EPROTO for a wrong sum. Cancelled, it
 * cancels the stages and destroys the channels.
 */
struct pipeline {
    weft_co co;
    int ring1[1], ring2[1];
    weft_chan ch1, ch2;
    struct stage st[3];
    weft_co_child kids[3];
    bool open;
};

int pipeline_task(void *frame, weft_cx *cx);
