/*
 * A tiny threaded HTTP server for client tests: it answers the n-th request it receives (over
 * any connection) with the n-th canned reply, byte for byte, then does what the reply says to
 * the connection. It parses just enough of a request to know where it ends (the head's blank
 * line, then Content-Length bytes of body) and records each request line.
 *
 * It runs in its own thread with blocking sockets and poll(), so the test's runtime, in the main
 * thread, talks to it over real loopback TCP. No weft code is used.
 */
#ifndef CANNED_SERVER_H
#define CANNED_SERVER_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* What the server does to the connection after sending a reply's bytes. */
enum canned_after {
    CANNED_KEEP = 0, /* keep it open and wait for the next request */
    CANNED_CLOSE,    /* close it (FIN) */
    CANNED_RESET,    /* abort it (RST: SO_LINGER 0, then close) */
    CANNED_HANG,     /* keep it open, never read or answer again */
};

/* One canned reply. "@PORT@" in bytes is replaced by the server's port when it is sent. */
struct canned_reply {
    const char *bytes; /* NUL-terminated; sent as they are */
    enum canned_after after;
};

#define CANNED_MAX_CONNS 32
#define CANNED_MAX_LOG   64

struct canned_server {
    uint16_t port;                    /* where it listens (127.0.0.1, or ::1 with ipv6) */
    atomic_int accepts;               /* connections accepted */
    atomic_int requests;              /* requests received (complete heads + bodies) */
    char lines[CANNED_MAX_LOG][160];  /* request lines, in order, up to CANNED_MAX_LOG */
    size_t body_lens[CANNED_MAX_LOG]; /* each request's body length */

    /* private */
    const struct canned_reply *replies;
    size_t nreplies; /* request n >= nreplies gets the last reply again */
    int lfd;
    pthread_t thread;
    atomic_bool stop;
};

/*
 * Starts a server on a free port of 127.0.0.1 (or ::1 if ipv6). Returns 0, or -1 if ::1 is not
 * available (so an IPv6 test can skip). replies must stay valid until canned_stop.
 */
int canned_start(struct canned_server *s, const struct canned_reply *replies, size_t nreplies,
                 bool ipv6);

/* Stops the thread and closes every socket it had open. */
void canned_stop(struct canned_server *s);

#endif
