/*
 * 05_echo_server — the idea: one coroutine per connection.
 *
 * A server written with blocking calls needs a thread per client, because each client's
 * read() blocks its thread. A server written directly on epoll needs one hand-made state machine
 * per client. With coroutines on a runtime, each connection gets its own small coroutine that
 * reads as if it were blocking code:
 *
 *     for (;;) { n = read(...); if (n <= 0) break; write_all(...); }
 *
 * yet the whole server runs on one thread: a read that would block suspends only that
 * connection's coroutine, and the runtime runs the others until the kernel says its socket has
 * data. A connection costs one task record and one frame (struct connection below, ~4 KiB of
 * which is its buffer), not a thread and its stack.
 *
 * And a second idea: stopping well. Ctrl-C (SIGINT) does not kill the server; it is an event the
 * accept loop waits for alongside the next client (a select over both). Then the server stops
 * accepting, gives the connections in flight until a deadline to finish, and cancels the rest —
 * each cancelled task still closes its socket, so its client sees the connection end cleanly.
 * The connection tasks live in a group (weft/group.h) so that they can be waited for together.
 *
 * Three pieces, top to bottom:
 *   serve_connection  the per-connection coroutine: echo until the client closes;
 *   accept_loop       the listener's coroutine: accept, hand each connection to a new task of the
 *                     group; on Ctrl-C, shut the group down gracefully;
 *   client            the self-test's client: checks its echoes, meets the others (struct meeting).
 *
 * Usage:
 *   05_echo_server [--port N] [--grace MS]  serve on 127.0.0.1:N (default 7000; 0 picks a free
 *                                           port); prints "listening on 127.0.0.1:PORT"; on
 *                                           Ctrl-C, connections get MS ms (default 5000) to end
 *   05_echo_server --selftest N [--rounds R] serve on a free port and, in the same runtime, run
 *                                           N clients doing R round trips each; exit 0 if all
 *                                           N were open at once and every echo came back intact
 *   05_echo_server --client HOST:PORT [--rounds R]
 *                                           one client against a running server (for strace);
 *                                           HOST may be a name: localhost:7000
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <weft.h>

/* ---- one coroutine per connection ----------------------------------------------------------- */

/* The frame of one connection's task. The runtime allocates it when the task is spawned and
 * frees it when the task finishes; the stream is handed over by accept_loop. */
struct connection {
    weft_co co;
    weft_tcp_stream s;
    weft_tcp_xfer wr; /* the frame of write_all, embedded: awaiting it allocates nothing */
    int n;
    char buf[4096];
};

static int serve_connection(void *frame, weft_cx *cx)
{
    struct connection *c = frame;
    WEFT_BEGIN(&c->co);
    for (;;) {
        WEFT_AWAIT(&c->co, c->n = weft_tcp_read(&c->s, c->buf, sizeof c->buf, cx));
        if (c->n <= 0) break; /* 0: the client closed its side; < 0: an error such as a reset */
        WEFT_AWAIT_CHILD(&c->co, &c->wr.co, c->n,
                         weft_tcp_write_all(&c->wr, &c->s, c->buf, (size_t)c->n, cx));
        if (c->n < 0) break;
    }
    weft_tcp_close(cx->rt, &c->s);
    WEFT_ON_CANCEL(&c->co); /* cancelled (by the shutdown, say): still close the socket */
    weft_tcp_close(cx->rt, &c->s);
    WEFT_END(&c->co, 0);
}

/* ---- the accept loop ------------------------------------------------------------------------ */

struct server {
    weft_co co;
    weft_tcp_listener l;
    weft_signal sigint;       /* Ctrl-C, as an event to wait for */
    weft_group conns;         /* the connection tasks */
    weft_tcp_stream incoming; /* the connection just accepted, before it gets its own task */
    weft_select sel;          /* which came first: a client or Ctrl-C */
    int64_t grace, deadline;  /* how long connections get to finish after Ctrl-C; until when */
    size_t in_flight;
    int cancelled;
};

enum { CLIENT, CTRL_C };

/* The select's cases, tried in order at each poll: a new client, or Ctrl-C. */
static bool client_or_ctrl_c(struct server *f, weft_cx *cx)
{
    return weft_select_case(&f->sel, CLIENT, weft_tcp_accept(&f->l, &f->incoming, NULL, cx)) ||
           weft_select_case(&f->sel, CTRL_C, weft_signal_wait(&f->sigint, cx));
}

static int accept_loop(void *frame, weft_cx *cx)
{
    struct server *f = frame;
    WEFT_BEGIN(&f->co);
    for (;;) {
        /* Running out of fds does not end up here: accept backs off and retries by itself. */
        WEFT_SELECT(&f->co, &f->sel, client_or_ctrl_c(f, cx));
        if (f->sel.which == CTRL_C || f->sel.result < 0) break; /* WEFT_ECLOSED: listener closed */
        struct connection *c = weft_group_spawn_new(&f->conns, serve_connection, sizeof *c);
        if (c == NULL) {
            weft_tcp_close(cx->rt, &f->incoming); /* out of memory: turn this client away */
            continue;
        }
        c->s = f->incoming; /* the new task owns the stream now; it first runs after this poll */
    }
    /* GRACEFUL SHUTDOWN: stop accepting, let the connections finish until the deadline, then
     * cancel the rest (a second Ctrl-C meanwhile is ignored; weft-delayserver shows how to make
     * it stop at once). */
    weft_tcp_listener_close(cx->rt, &f->l);
    f->in_flight = weft_group_count(&f->conns);
    if (f->sel.which == CTRL_C)
        printf("SIGINT: stopped accepting; %zu connection(s) in flight get %lld ms to finish\n",
               f->in_flight, (long long)(f->grace / WEFT_MSEC(1)));
    fflush(stdout);
    f->deadline = weft_deadline_in(f->grace);
    WEFT_AWAIT(&f->co, f->cancelled = weft_group_shutdown_dl(&f->conns, f->deadline, cx));
    printf("shutdown: %zu connection(s) finished, %d cancelled at the deadline\n",
           f->in_flight - (size_t)f->cancelled, f->cancelled);
    WEFT_END(&f->co, 0);
}

/* ---- a client, for the self-test ------------------------------------------------------------ */

/*
 * The self-test's proof that connections are served at the same time, not one after another.
 * Intact echoes alone prove nothing: a server that served each connection to the end before
 * accepting the next would echo just as well. So every client, after its first echo, keeps its
 * connection open and waits here until all have had theirs. Only a server that serves them all at
 * once gets everyone here; one that serves one at a time never echoes to the second client while
 * the first waits, and the wait ends at the deadline instead of hanging.
 */
struct meeting {
    weft_notify all_here;
    int clients, arrived;
    int64_t deadline;
    weft_group *conns;   /* the server's connection tasks... */
    size_t open_at_once; /* ...how many there were when the last client arrived */
};

struct client {
    weft_co co;
    const char *where; /* "HOST:PORT": a name ("localhost:7000") or an address */
    struct meeting *m; /* NULL: a lone client (--client) */
    int id, rounds, i, len, r;
    weft_tcp_connect_host_op conn; /* resolves a name (off the loop's thread), then connects */
    weft_tcp_stream s;
    weft_tcp_xfer wr;
    weft_tcp_reader rd; /* the echo may arrive in pieces: read_until gathers a whole line */
    char msg[64], echo[256];
};

/* Sends `rounds` numbered lines, one at a time, and checks that each comes back unchanged.
 * Returns the number of round trips, or an error (-EPROTO for an echo that does not match). */
static int client(void *frame, weft_cx *cx)
{
    struct client *f = frame;
    WEFT_BEGIN(&f->co);
    WEFT_AWAIT_CHILD(&f->co, &f->conn.co, f->r,
                     weft_tcp_connect_host(&f->conn, &f->s, f->where, cx));
    if (f->r < 0) WEFT_RETURN(&f->co, f->r);
    weft_tcp_reader_init(&f->rd, f->echo, sizeof f->echo);
    for (f->i = 0; f->i < f->rounds; f->i++) {
        f->len = snprintf(f->msg, sizeof f->msg, "client %d, line %d\n", f->id, f->i);
        WEFT_AWAIT_CHILD(&f->co, &f->wr.co, f->r,
                         weft_tcp_write_all(&f->wr, &f->s, f->msg, (size_t)f->len, cx));
        if (f->r < 0) break;
        WEFT_AWAIT_CHILD(&f->co, &f->rd.co, f->r, weft_tcp_read_until(&f->rd, &f->s, "\n", 1, cx));
        if (f->r >= 0 && (f->r != f->len || memcmp(f->msg, f->rd.data, (size_t)f->len) != 0))
            f->r = -EPROTO; /* a different line, or the server hung up (0) */
        if (f->r < 0) break;
        if (f->i == 0 && f->m != NULL) { /* the first echo: meet the others (struct meeting) */
            if (++f->m->arrived == f->m->clients) {
                f->m->open_at_once = weft_group_count(f->m->conns); /* nobody has hung up yet */
                weft_notify_all(&f->m->all_here);
            } else {
                WEFT_AWAIT(&f->co, f->r = weft_notify_wait_dl(&f->m->all_here, f->m->deadline, cx));
                if (f->r < 0) break;
            }
        }
    }
    weft_tcp_close(cx->rt, &f->s);
    WEFT_RETURN(&f->co, f->r < 0 ? f->r : f->i);
    WEFT_ON_CANCEL(&f->co);
    WEFT_CANCEL_CHILD(&f->conn.co, weft_tcp_connect_host(&f->conn, &f->s, f->where, cx));
    weft_tcp_close(cx->rt, &f->s);
    WEFT_END(&f->co, 0);
}

/* The self-test's root task: run every client to completion, then stop the server. */
struct selftest {
    weft_co co;
    struct server *srv;
    weft_task server_task;
    struct client *clients;
    weft_task *tasks;
    int n, i, r, ok;
};

static int selftest(void *frame, weft_cx *cx)
{
    struct selftest *f = frame;
    WEFT_BEGIN(&f->co);
    for (f->i = 0; f->i < f->n; f->i++)
        weft_task_spawn(cx->rt, client, &f->clients[f->i], &f->tasks[f->i]);
    for (f->i = 0; f->i < f->n; f->i++) {
        WEFT_AWAIT(&f->co, f->r = weft_task_join(f->tasks[f->i], cx));
        if (f->r == f->clients[f->i].rounds)
            f->ok++;
        else if (f->r == -ETIMEDOUT)
            printf("client %d: the others had no echo by the deadline (served one at a time?)\n",
                   f->i);
        else
            printf("client %d: %s\n", f->i, f->r < 0 ? weft_strerror(f->r) : "incomplete");
    }
    weft_tcp_listener_close(cx->rt, &f->srv->l); /* the accept loop ends with WEFT_ECLOSED */
    WEFT_AWAIT(&f->co, f->r = weft_task_join(f->server_task, cx));
    WEFT_END(&f->co, f->ok);
}

/* ---- main ----------------------------------------------------------------------------------- */

static int run_selftest(weft_runtime *rt, struct server *srv, int n, int rounds)
{
    struct selftest st = {.srv = srv, .n = n};
    /* A guard, not a measure: on loopback every client has its echo within milliseconds. */
    struct meeting m = {
        .clients = n, .deadline = weft_deadline_in(WEFT_SEC(10)), .conns = &srv->conns};
    st.clients = calloc((size_t)n, sizeof *st.clients);
    st.tasks = calloc((size_t)n, sizeof *st.tasks);
    int r = !st.clients || !st.tasks ? -ENOMEM : weft_notify_init(&m.all_here, rt);
    if (r < 0) {
        weft_tcp_listener_close(rt, &srv->l);
        free(st.clients);
        free(st.tasks);
        return r;
    }
    char where[WEFT_ADDR_STRLEN];
    weft_addr addr;
    r = weft_tcp_listener_addr(rt, &srv->l, &addr);
    if (r == 0) r = weft_task_spawn(rt, accept_loop, srv, &st.server_task);
    if (r < 0) {
        weft_tcp_listener_close(rt, &srv->l);
        weft_notify_destroy(&m.all_here);
        free(st.clients);
        free(st.tasks);
        return r;
    }
    weft_addr_format(&addr, where, sizeof where);
    for (int i = 0; i < n; i++) {
        st.clients[i].where = where;
        st.clients[i].id = i;
        st.clients[i].rounds = rounds;
        st.clients[i].m = &m;
    }
    int ok = weft_runtime_block_on(rt, selftest, &st); /* the server's shutdown included */
    printf("selftest: the server had %zu connection(s) open at once\n", m.open_at_once);
    printf("selftest: %d of %d clients echoed %d lines each correctly\n", ok, n, rounds);
    weft_notify_destroy(&m.all_here);
    free(st.clients);
    free(st.tasks);
    return ok == n && m.open_at_once == (size_t)n ? 0 : 1;
}

static int run_client(weft_runtime *rt, const char *where, int rounds)
{
    struct client c = {.where = where, .rounds = rounds};
    int r = weft_runtime_block_on(rt, client, &c);
    printf("client: %d round trips (%s)\n", r < 0 ? 0 : r, weft_strerror(r < 0 ? r : 0));
    return r == rounds ? 0 : 1;
}

/* Listens, and from now on takes Ctrl-C as an event instead of dying of it. */
static int listen_and_report(weft_runtime *rt, struct server *srv, int port)
{
    static const int sigint[] = {SIGINT};
    char text[WEFT_ADDR_STRLEN];
    weft_addr addr;
    snprintf(text, sizeof text, "127.0.0.1:%d", port);
    weft_group_init(&srv->conns, rt);
    int r = weft_signal_open(rt, &srv->sigint, sigint, 1);
    if (r == 0) r = weft_addr_parse(&addr, text);
    if (r == 0) r = weft_tcp_listen(rt, &srv->l, &addr, SOMAXCONN);
    if (r == 0) r = weft_tcp_listener_addr(rt, &srv->l, &addr);
    if (r == 0) r = weft_addr_format(&addr, text, sizeof text);
    if (r < 0) {
        fprintf(stderr, "05_echo_server: cannot listen on port %d: %s\n", port, weft_strerror(r));
        return r;
    }
    printf("listening on %s\n", text);
    fflush(stdout); /* a test harness waits for this line */
    return 0;
}

/* The command line. */
struct options {
    int port, grace_ms, selftest_clients, rounds;
    const char *connect_to;
};

/* The value of option `name`: a whole number from lo to hi. Returns false after saying what is
 * wrong with it. */
static bool parse_int(const char *name, const char *arg, long lo, long hi, int *out)
{
    char *end;
    errno = 0; /* strtol reports an overflow only there */
    long v = strtol(arg, &end, 10);
    if (end == arg || *end != '\0' || errno != 0 || v < lo || v > hi) {
        fprintf(stderr, "%s: '%s' is not a whole number from %ld to %ld\n", name, arg, lo, hi);
        return false;
    }
    *out = (int)v;
    return true;
}

/* Every option takes a value. Returns false after naming the bad argument. */
static bool parse_options(int argc, char **argv, struct options *o)
{
    for (int i = 1; i < argc; i += 2) {
        const char *name = argv[i], *arg = i + 1 < argc ? argv[i + 1] : NULL;
        bool ok = arg != NULL;
        if (!ok)
            fprintf(stderr, "%s: the value is missing\n", name);
        else if (strcmp(name, "--client") == 0)
            o->connect_to = arg;
        else if (strcmp(name, "--port") == 0)
            ok = parse_int(name, arg, 0, 65535, &o->port);
        else if (strcmp(name, "--grace") == 0)
            ok = parse_int(name, arg, 0, 3600000, &o->grace_ms);
        else if (strcmp(name, "--selftest") == 0)
            ok = parse_int(name, arg, 1, 1000, &o->selftest_clients);
        else if (strcmp(name, "--rounds") == 0)
            ok = parse_int(name, arg, 1, 1000000, &o->rounds);
        else {
            fprintf(stderr, "'%s': unknown option\n", name);
            ok = false;
        }
        if (!ok) return false;
    }
    if (o->connect_to && o->selftest_clients) {
        fprintf(stderr, "--client and --selftest: one or the other\n");
        return false;
    }
    return true;
}

int main(int argc, char **argv)
{
    struct options o = {.port = 7000, .grace_ms = 5000, .rounds = 100};
    if (!parse_options(argc, argv, &o)) {
        fprintf(stderr, "usage: 05_echo_server [--port N] [--grace MS] [--selftest N] "
                        "[--client HOST:PORT] [--rounds R]\n");
        return 2;
    }
    weft_runtime rt;
    struct server srv = {.grace = WEFT_MSEC(o.grace_ms)};
    int r = weft_runtime_init(&rt);
    if (r < 0) return 1;
    if (o.connect_to)
        r = run_client(&rt, o.connect_to, o.rounds);
    else if (listen_and_report(&rt, &srv, o.selftest_clients ? 0 : o.port) < 0)
        r = 1;
    else if (o.selftest_clients)
        r = run_selftest(&rt, &srv, o.selftest_clients, o.rounds);
    else
        r = weft_runtime_block_on(&rt, accept_loop, &srv) < 0; /* serves until Ctrl-C */
    if (r < 0) {
        fprintf(stderr, "05_echo_server: %s\n", weft_strerror(r));
        r = 1;
    }
    weft_group_destroy(&srv.conns);
    weft_signal_close(&rt, &srv.sigint);
    weft_runtime_close(&rt);
    return r;
}
