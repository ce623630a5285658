/*
 * weft/blocking.h — running blocking code without blocking the loop: a small pool of threads,
 * and name resolution (getaddrinfo) on it.
 *
 *     static int checksum(void *data) { struct job *j = data; ... j->sum = ...; return 0; }
 *
 *     struct f { weft_co co; weft_blocking job; struct job data; int r; };
 *     WEFT_AWAIT(&f->co, f->r = weft_blocking_run(&f->job, checksum, &f->data,
 *                                                 sizeof f->data, cx));
 *     // f->r is what checksum returned; f->data holds what it wrote
 *
 * Some work cannot be made non-blocking: getaddrinfo, reading a regular file, a CPU-heavy
 * computation, a library that only has a blocking API. Done in a task, it would stop every other
 * task. weft_blocking_run hands it to one of up to WEFT_BLOCKING_THREADS threads (started when
 * first needed, joined by weft_runtime_close) and suspends the task until it is done.
 *
 * OWNERSHIP: THE JOB OWNS A COPY. On the first poll the `size` bytes at `data` are copied into
 * a job record that the pool owns; fn runs on that copy, and the copy is written back to `data`
 * when the task is polled after fn returned. The pool thread never touches the task's frame.
 * So a task may stop waiting at any time — cancelled, a select branch that lost, a deadline —
 * and the job runs on regardless; when it finishes, its copy is freed and its result dropped.
 * For the same reason, pointers inside `data` must point to memory that outlives the job
 * (strings in static storage, say): the copy is shallow.
 *
 * THREADS. Pool threads run with every signal blocked, so signals keep going to the runtime's
 * thread (weft/signal.h). fn must be thread-safe with respect to the rest of the program and
 * must not touch the runtime: its result travels back through the runtime's inbox.
 */
#ifndef WEFT_BLOCKING_H
#define WEFT_BLOCKING_H

#include <stddef.h>
#include <stdint.h>

#include "weft/addr.h"
#include "weft/runtime.h"
#include "weft/sync.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The most threads a runtime's pool runs at once. Jobs beyond that wait in FIFO order. */
#define WEFT_BLOCKING_THREADS 4

/* weft_blocking_fn - the blocking work: runs on a pool thread over the job's copy of the data. */
typedef int (*weft_blocking_fn)(void *data);

/*
 * weft_blocking - a job in progress, generation-checked. Lives in the frame, zeroed before the
 * first call; weft_blocking_run zeroes it again when it returns a result, so it can be reused.
 * After a call that was abandoned (the task stopped polling it), zero it before reusing it.
 */
typedef struct weft_blocking {
    weft_waitq q; /* the job's wait queue (and through it, the job) */
} weft_blocking;

/*
 * weft_blocking_run_dl - run fn on a pool thread and wait for it.
 *
 * job: zeroed on the first poll (the job starts then), the same on later polls.
 * fn, data, size: the work and the bytes it works on (see OWNERSHIP); size may be 0 (fn then
 *    gets a pointer to no bytes). Pass the same values on every poll.
 * deadline: stop waiting then (the job itself runs on; its result is dropped).
 * May return WEFT_PENDING. Returns fn's result (any int but WEFT_PENDING) with data updated.
 * Fails with -ETIMEDOUT; -ENOMEM or -EAGAIN (no job could be made, or no thread started:
 * nothing ran); -EINVAL (fn NULL, or data NULL with size > 0); WEFT_ECLOSED (job names a job
 * that an earlier, abandoned call started: zero it first).
 */
int weft_blocking_run_dl(weft_blocking *job, weft_blocking_fn fn, void *data, size_t size,
                         int64_t deadline, weft_cx *cx);

/* weft_blocking_run - weft_blocking_run_dl with no deadline. */
static inline int weft_blocking_run(weft_blocking *job, weft_blocking_fn fn, void *data,
                                    size_t size, weft_cx *cx)
{
    return weft_blocking_run_dl(job, fn, data, size, WEFT_NO_DEADLINE, cx);
}

/* ============================================================================================
 * Name resolution
 *
 * getaddrinfo blocks for as long as DNS takes, so it runs on the pool. The host and port are
 * copied into the job; the addresses come back in the caller's array, in getaddrinfo's order
 * (which already follows the system's preference, RFC 6724): try them in turn.
 *
 *     weft_addr addrs[4];
 *     WEFT_AWAIT(&f->co, f->n = weft_resolve(&f->job, "localhost:8080", addrs, 4, cx));
 *     // f->n > 0: addrs[0 .. f->n) to connect to, e.g. with weft_tcp_connect
 * ========================================================================================== */

/* The longest host name weft_resolve accepts (DNS names are at most 253 characters). */
#define WEFT_RESOLVE_HOST_MAX 255

/* The most addresses one resolution returns. */
#define WEFT_RESOLVE_MAX 16

/*
 * weft_resolve_host_dl - resolve host (a name or a numeric address) and port (a number or a
 * service name such as "http") to stream-socket addresses.
 *
 * port: a port number as weft_addr_parse takes it — 0..65535, one to five decimal digits, no
 *    sign or space — or a service name known to the system (/etc/services): letters, digits and
 *    inner hyphens, at least one letter. NULL or "" gives the addresses with port 0.
 * family: AF_UNSPEC (both), AF_INET or AF_INET6. addrs, max: where the addresses go (at most
 *    max, and at most WEFT_RESOLVE_MAX). Pass the same arguments on every poll.
 * May return WEFT_PENDING. Returns the number of addresses (>= 1).
 * Fails with WEFT_ERESOLVE (no such host, no address of that family, or the name servers
 * failed for good), WEFT_EADDR (a bad port or an unknown service name), -EAGAIN (a temporary
 * DNS failure: try later), -EINVAL (NULL or empty host, a host longer than
 * WEFT_RESOLVE_HOST_MAX, max == 0), -ETIMEDOUT, -ENOMEM, or any failure of weft_blocking_run_dl.
 */
int weft_resolve_host_dl(weft_blocking *job, const char *host, const char *port, int family,
                         weft_addr *addrs, size_t max, int64_t deadline, weft_cx *cx);

/*
 * weft_resolve_dl - the same for a "HOST:PORT" string: "localhost:8080", "example.test:80",
 * "[::1]:8080", "127.0.0.1:80", "localhost:http". PORT follows the rule above. Numeric
 * addresses resolve without DNS. Fails as above, and with WEFT_EADDR for a string with no port
 * or an unbracketed IPv6 address.
 */
int weft_resolve_dl(weft_blocking *job, const char *hostport, weft_addr *addrs, size_t max,
                    int64_t deadline, weft_cx *cx);

/* weft_resolve - weft_resolve_dl with no deadline. */
static inline int weft_resolve(weft_blocking *job, const char *hostport, weft_addr *addrs,
                               size_t max, weft_cx *cx)
{
    return weft_resolve_dl(job, hostport, addrs, max, WEFT_NO_DEADLINE, cx);
}

#ifdef __cplusplus
}
#endif

#endif /* WEFT_BLOCKING_H */
