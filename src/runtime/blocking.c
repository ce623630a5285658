/*
 * The blocking pool, and getaddrinfo on it.
 *
 * A job is a heap record that both sides share: the runtime's thread creates it (copying the
 * caller's data in) and frees it; a pool thread runs it and marks it DONE, both under the pool's
 * lock. Completion travels back through the inbox (remote.c) as "wake everyone waiting on the
 * job's wait queue". The queue is how the runtime knows whether anyone still cares:
 *
 *   - the awaiting task registers on it at every poll, like any waiter (waitq.c);
 *   - if the task stops polling — cancelled, a select that went another way, a deadline — its
 *     registration lapses, and the queue's on_empty hook hears that nobody waits any more;
 *   - a job that is DONE with nobody waiting is freed, whichever of the two happens last.
 *
 * So a cancelled awaiter never leaves a pool thread writing into a freed frame: the thread only
 * ever touches the job's own copy.
 */
#define _GNU_SOURCE
#include "weft/blocking.h"

#include <errno.h>
#include <netdb.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "runtime/ext.h"

enum { JOB_QUEUED, JOB_RUNNING, JOB_DONE };

struct weft__job {
    struct weft__job *next;     /* the pool's FIFO of queued jobs (under the lock) */
    struct weft__job *all_prev; /* every job not yet freed (runtime's thread only) */
    struct weft__job *all_next;
    weft_blocking_fn fn;
    weft_waitq q;       /* the awaiter's queue; its record's owner is this job */
    int state;          /* JOB_* (under the lock) */
    int result;         /* fn's result once DONE (under the lock) */
    max_align_t data[]; /* the copy fn works on */
};

struct weft__pool {
    pthread_mutex_t lock;
    pthread_cond_t work; /* idle threads wait here for a job (or stop) */
    struct weft__job *head, *tail;
    pthread_t threads[WEFT_BLOCKING_THREADS];
    int nthreads; /* started */
    int idle;     /* waiting on `work` */
    bool stop;    /* weft_runtime_close: threads exit */
    bool missed;  /* a completion could not be posted: sweep the jobs at the next drain */
    struct weft__ext *x;
    struct weft__job *all; /* runtime's thread only */
};

/* ---------------------------------------------------------------------------------------------
 * The pool threads
 * ------------------------------------------------------------------------------------------- */

/* Reports a finished job to the runtime's thread. */
static void post_done(struct weft__pool *p, weft_waitq q)
{
    if (weft__inbox_post(p->x->in, WEFT__IN_WAKE_ALL, q.slot, q.gen, 1) == 0) return;
    /* Out of memory for the request itself: flag it, and wake the poll to sweep all jobs. */
    pthread_mutex_lock(&p->lock);
    p->missed = true;
    pthread_mutex_unlock(&p->lock);
    weft__inbox_poke(p->x->in);
}

static void *worker(void *arg)
{
    struct weft__pool *p = arg;
    pthread_mutex_lock(&p->lock);
    while (!p->stop) {
        struct weft__job *j = p->head;
        if (j == NULL) {
            p->idle++;
            pthread_cond_wait(&p->work, &p->lock);
            p->idle--;
            continue;
        }
        p->head = j->next;
        if (p->head == NULL) p->tail = NULL;
        j->state = JOB_RUNNING;
        pthread_mutex_unlock(&p->lock);
        int r = j->fn(j->data);
        pthread_mutex_lock(&p->lock);
        j->result = r == WEFT_PENDING ? -EINVAL : r;
        j->state = JOB_DONE;
        weft_waitq q = j->q; /* j may be freed as soon as the lock is released */
        pthread_mutex_unlock(&p->lock);
        post_done(p, q);
        pthread_mutex_lock(&p->lock);
    }
    pthread_mutex_unlock(&p->lock);
    return NULL;
}

/* Starts one more thread, with every signal blocked (it inherits our mask). Under the lock. */
static int start_thread(struct weft__pool *p)
{
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int r = pthread_create(&p->threads[p->nthreads], NULL, worker, p);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (r != 0) return -r;
    p->nthreads++;
    return 0;
}

/* The runtime's pool, created on first use. NULL if out of memory. */
static struct weft__pool *pool_get(weft_runtime *rt)
{
    struct weft__ext *x = weft__ext_get(rt);
    if (x == NULL) return NULL;
    if (x->pool != NULL) return x->pool;
    if (weft__inbox_prepare(rt, x) < 0) return NULL;
    struct weft__pool *p = calloc(1, sizeof *p);
    if (p == NULL) return NULL;
    if (pthread_mutex_init(&p->lock, NULL) != 0) goto fail_lock;
    if (pthread_cond_init(&p->work, NULL) != 0) goto fail_cond;
    p->x = x;
    x->pool = p;
    return p;

fail_cond:
    pthread_mutex_destroy(&p->lock);
fail_lock:
    free(p);
    return NULL;
}

/* ---------------------------------------------------------------------------------------------
 * Jobs, on the runtime's thread
 * ------------------------------------------------------------------------------------------- */

static void job_free(weft_runtime *rt, struct weft__job *j)
{
    struct weft__pool *p = rt->ext->pool;
    if (j->all_prev != NULL)
        j->all_prev->all_next = j->all_next;
    else
        p->all = j->all_next;
    if (j->all_next != NULL) j->all_next->all_prev = j->all_prev;
    weft__waitq_close(rt, &j->q);
    free(j);
    rt->ext->jobs--;
}

static int job_state(struct weft__pool *p, struct weft__job *j)
{
    pthread_mutex_lock(&p->lock);
    int state = j->state;
    pthread_mutex_unlock(&p->lock);
    return state;
}

/* The job's queue emptied without the job being collected: free it once it is done. */
static void job_dropped(weft_runtime *rt, void *owner)
{
    struct weft__job *j = owner;
    if (job_state(rt->ext->pool, j) == JOB_DONE) job_free(rt, j);
}

/* Queues j, starting a thread if none is idle and the pool may grow. */
static int job_enqueue(struct weft__pool *p, struct weft__job *j)
{
    pthread_mutex_lock(&p->lock);
    int r = 0;
    if (p->idle == 0 && p->nthreads < WEFT_BLOCKING_THREADS) {
        r = start_thread(p);
        if (r < 0 && p->nthreads > 0) r = 0; /* the running threads will get to it */
    }
    if (r == 0) {
        j->next = NULL;
        if (p->tail != NULL)
            p->tail->next = j;
        else
            p->head = j;
        p->tail = j;
        pthread_cond_signal(&p->work);
    }
    pthread_mutex_unlock(&p->lock);
    return r;
}

static int job_start(weft_runtime *rt, weft_blocking *job, weft_blocking_fn fn, const void *data,
                     size_t size)
{
    struct weft__pool *p = pool_get(rt);
    if (p == NULL) return -ENOMEM;
    struct weft__job *j = malloc(sizeof *j + size);
    if (j == NULL) return -ENOMEM;
    *j = (struct weft__job){.fn = fn, .state = JOB_QUEUED};
    if (size > 0) memcpy(j->data, data, size);
    int r = weft__waitq_open(rt, &j->q);
    if (r < 0) goto fail;
    struct weft__wq *wq = weft__waitq_lookup(rt, &j->q);
    wq->on_empty = job_dropped;
    wq->owner = j;
    r = job_enqueue(p, j);
    if (r < 0) goto fail;
    j->all_next = p->all;
    if (p->all != NULL) p->all->all_prev = j;
    p->all = j;
    rt->ext->jobs++;
    job->q = j->q;
    return 0;

fail:
    weft__waitq_close(rt, &j->q);
    free(j);
    return r;
}

/*
 * Waits for the job. Returns 0 with *out set once it is done (the caller copies out and frees
 * it); otherwise what the operation returns: WEFT_PENDING, -ETIMEDOUT (the job is abandoned and
 * *job zeroed), WEFT_ECLOSED (a stale job), -ENOMEM.
 */
static int job_wait(weft_blocking *job, int64_t deadline, weft_cx *cx, struct weft__job **out)
{
    struct weft__wq *wq = weft__waitq_lookup(cx->rt, &job->q);
    if (wq == NULL) return WEFT_ECLOSED;
    struct weft__job *j = wq->owner;
    if (job_state(cx->rt->ext->pool, j) == JOB_DONE) {
        weft__waitq_done(&job->q, cx);
        *out = j;
        return 0;
    }
    if (weft__deadline_due(cx, deadline)) {
        weft_waitq q = job->q;
        *job = (weft_blocking){{0, 0}};
        weft__waitq_leave(&q, cx); /* may free the job, if it finished meanwhile */
        return -ETIMEDOUT;
    }
    return weft__waitq_park(&job->q, cx);
}

int weft_blocking_run_dl(weft_blocking *job, weft_blocking_fn fn, void *data, size_t size,
                         int64_t deadline, weft_cx *cx)
{
    if (fn == NULL || (data == NULL && size > 0)) return -EINVAL;
    if (job->q.gen == 0) {
        int r = job_start(cx->rt, job, fn, data, size);
        if (r < 0) return r;
    }
    struct weft__job *j;
    int r = job_wait(job, deadline, cx, &j);
    if (r != 0) return r;
    if (size > 0) memcpy(data, j->data, size);
    r = j->result;
    job_free(cx->rt, j);
    *job = (weft_blocking){{0, 0}};
    return r;
}

/* ---------------------------------------------------------------------------------------------
 * The pool's life: the missed-post sweep, and closing
 * ------------------------------------------------------------------------------------------- */

/*
 * After a drain: if a completion could not be posted, look at every job — finished ones are
 * woken (or freed, if nobody waits). Costs a walk over the jobs, and only after an allocation
 * failure.
 */
void weft__pool_after_drain(weft_runtime *rt, struct weft__ext *x)
{
    struct weft__pool *p = x->pool;
    pthread_mutex_lock(&p->lock);
    bool missed = p->missed;
    p->missed = false;
    pthread_mutex_unlock(&p->lock);
    if (!missed) return;
    struct weft__job *next;
    for (struct weft__job *j = p->all; j != NULL; j = next) {
        next = j->all_next;
        if (job_state(p, j) != JOB_DONE) continue;
        struct weft__wq *wq = weft__waitq_lookup(rt, &j->q);
        if (wq != NULL && wq->len == 0)
            job_free(rt, j);
        else
            weft__waitq_wake_all(rt, &j->q);
    }
}

/*
 * Stops and joins the threads (a job still running is waited for), then frees every job left:
 * queued ones never ran, finished ones were never collected. Their tasks are gone by now (the
 * runtime cancelled them first), so these are not reported as left open.
 */
size_t weft__pool_close(weft_runtime *rt, struct weft__ext *x)
{
    struct weft__pool *p = x->pool;
    if (p == NULL) return 0;
    pthread_mutex_lock(&p->lock);
    p->stop = true;
    pthread_cond_broadcast(&p->work);
    pthread_mutex_unlock(&p->lock);
    for (int i = 0; i < p->nthreads; i++)
        pthread_join(p->threads[i], NULL);
    while (p->all != NULL)
        job_free(rt, p->all);
    pthread_cond_destroy(&p->work);
    pthread_mutex_destroy(&p->lock);
    free(p);
    x->pool = NULL;
    return 0;
}

/* ---------------------------------------------------------------------------------------------
 * Name resolution
 * ------------------------------------------------------------------------------------------- */

/* A resolution's job data: the question going out, the answer coming back. */
struct resolve_req {
    char host[WEFT_RESOLVE_HOST_MAX + 1];
    char port[32];
    int flags; /* getaddrinfo's ai_flags: AI_NUMERICSERV for a port number */
    int family;
    int n;
    weft_addr addrs[WEFT_RESOLVE_MAX];
};

/* getaddrinfo's EAI_* codes in weft's terms. */
static int resolve_error(int eai)
{
    switch (eai) {
    case EAI_AGAIN:
        return -EAGAIN;
    case EAI_MEMORY:
        return -ENOMEM;
    case EAI_SYSTEM:
        return errno != 0 ? -errno : -EIO;
    case EAI_NONAME: /* no such host (or, with a numeric-only flag, not numeric) */
    case EAI_FAIL:   /* the name servers failed, and not temporarily */
#ifdef EAI_NODATA
    case EAI_NODATA: /* the host exists but has no address */
#endif
#ifdef EAI_ADDRFAMILY
    case EAI_ADDRFAMILY: /* the host has no address of the family asked for */
#endif
        return WEFT_ERESOLVE;
    default:
        return WEFT_EADDR; /* a bad service (port), family or flag: the question was malformed */
    }
}

/* Runs on a pool thread. */
static int resolve_fn(void *data)
{
    struct resolve_req *q = data;
    struct addrinfo hints = {
        .ai_flags = q->flags, .ai_family = q->family, .ai_socktype = SOCK_STREAM};
    struct addrinfo *res = NULL;
    int r = getaddrinfo(q->host, q->port[0] != '\0' ? q->port : NULL, &hints, &res);
    if (r != 0) return resolve_error(r);
    q->n = 0;
    for (struct addrinfo *ai = res; ai != NULL && q->n < WEFT_RESOLVE_MAX; ai = ai->ai_next)
        if (weft_addr_from_sockaddr(&q->addrs[q->n], ai->ai_addr, ai->ai_addrlen) == 0) q->n++;
    freeaddrinfo(res);
    return q->n > 0 ? q->n : WEFT_ERESOLVE; /* only addresses of other families */
}

/*
 * Checks the port text before getaddrinfo sees it, since getaddrinfo is lenient: it takes a
 * number through strtoul, so " 80" and "+80" pass and "99999" wraps to 34463. A port that starts
 * with a digit must be a port number as weft_addr_parse takes it (weft__port_parse); anything
 * else must look like a service name (RFC 6335: letters, digits and inner hyphens, at least one
 * letter), which getaddrinfo then looks up. Returns AI_NUMERICSERV for a number, 0 for a name,
 * or WEFT_EADDR.
 */
static int check_port(const char *port)
{
    size_t n = strlen(port);
    if (n == 0) return 0; /* no port: the addresses come with port 0 */
    if (port[0] >= '0' && port[0] <= '9')
        return weft__port_parse(port) < 0 ? WEFT_EADDR : AI_NUMERICSERV;
    static const char name_chars[] = "abcdefghijklmnopqrstuvwxyz"
                                     "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-";
    if (strspn(port, name_chars) != n || port[0] == '-' || port[n - 1] == '-') return WEFT_EADDR;
    return 0;
}

/* Starts a resolution of host[0 .. host_len) and port. */
static int resolve_start(weft_runtime *rt, weft_blocking *job, const char *host, size_t host_len,
                         const char *port, int family)
{
    if (host_len == 0 || host_len > WEFT_RESOLVE_HOST_MAX) return -EINVAL;
    if (port == NULL) port = "";
    if (strlen(port) >= sizeof((struct resolve_req *)0)->port) return WEFT_EADDR;
    int flags = check_port(port);
    if (flags < 0) return flags;
    struct resolve_req *req = calloc(1, sizeof *req);
    if (req == NULL) return -ENOMEM;
    memcpy(req->host, host, host_len);
    strcpy(req->port, port);
    req->flags = flags;
    req->family = family;
    int r = job_start(rt, job, resolve_fn, req, sizeof *req);
    free(req);
    return r;
}

/* Waits for a started resolution and copies the addresses out. */
static int resolve_finish(weft_blocking *job, weft_addr *addrs, size_t max, int64_t deadline,
                          weft_cx *cx)
{
    struct weft__job *j;
    int r = job_wait(job, deadline, cx, &j);
    if (r != 0) return r;
    const struct resolve_req *req = (const void *)j->data;
    r = j->result;
    if (r > 0) {
        if ((size_t)r > max) r = (int)max;
        memcpy(addrs, req->addrs, (size_t)r * sizeof *addrs);
    }
    job_free(cx->rt, j);
    *job = (weft_blocking){{0, 0}};
    return r;
}

int weft_resolve_host_dl(weft_blocking *job, const char *host, const char *port, int family,
                         weft_addr *addrs, size_t max, int64_t deadline, weft_cx *cx)
{
    if (addrs == NULL || max == 0) return -EINVAL;
    if (job->q.gen == 0) {
        if (host == NULL) return -EINVAL;
        int r = resolve_start(cx->rt, job, host, strlen(host), port, family);
        if (r < 0) return r;
    }
    return resolve_finish(job, addrs, max, deadline, cx);
}

/*
 * Splits "host:port" or "[host]:port" into host (pointer and length, brackets removed) and
 * port. Returns 0 or WEFT_EADDR.
 */
static int split_hostport(const char *s, const char **host, size_t *host_len, const char **port)
{
    const char *colon;
    if (s[0] == '[') {
        const char *end = strchr(s, ']');
        if (end == NULL || end[1] != ':') return WEFT_EADDR;
        *host = s + 1;
        *host_len = (size_t)(end - s - 1);
        colon = end + 1;
    } else {
        colon = strrchr(s, ':');
        if (colon == NULL || memchr(s, ':', (size_t)(colon - s)) != NULL) return WEFT_EADDR;
        *host = s;
        *host_len = (size_t)(colon - s);
    }
    *port = colon + 1;
    return *host_len == 0 || **port == '\0' ? WEFT_EADDR : 0;
}

int weft_resolve_dl(weft_blocking *job, const char *hostport, weft_addr *addrs, size_t max,
                    int64_t deadline, weft_cx *cx)
{
    if (addrs == NULL || max == 0) return -EINVAL;
    if (job->q.gen == 0) {
        if (hostport == NULL) return -EINVAL;
        if (weft_addr_parse(&addrs[0], hostport) == 0) return 1; /* numeric: no DNS, no thread */
        const char *host, *port;
        size_t host_len;
        int r = split_hostport(hostport, &host, &host_len, &port);
        if (r < 0) return r;
        r = resolve_start(cx->rt, job, host, host_len, port, AF_UNSPEC);
        if (r < 0) return r;
    }
    return resolve_finish(job, addrs, max, deadline, cx);
}
