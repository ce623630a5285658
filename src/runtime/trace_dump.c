/*
 * The task dump on a signal (weft_runtime_dump_on_signal, WEFT_DUMP_SIGNAL).
 *
 * A signal handler may interrupt the runtime anywhere — in the middle of moving a task between
 * queues — so it must not look at the runtime at all, let alone print (stdio is not
 * async-signal-safe). It only writes to an eventfd, which is registered in each armed runtime's
 * epoll set under a token of its own (WEFT__TRACE_DUMP_TOKEN). Every runtime watching it then
 * gets an event at its next park (or wakes from the park it is in); the loop hands that event to
 * the tracer instead of the reactor, and the tracer prints weft_runtime_dump() — on the
 * runtime's own thread, between two polls, where the task table is consistent.
 *
 * One eventfd serves the whole process and is never closed: the handler can then never write
 * into an fd number that was closed and reused under it. One signal number at a time serves as
 * the dump signal, for all runtimes.
 *
 * Which wake-ups are signals. The eventfd's counter says "some signal came", but not to whom: a
 * runtime armed later registers the fd with its counter still up (epoll then reports it at once),
 * and no runtime may simply read the counter to zero while others watch it — epoll re-checks
 * readiness when it reports, so the others would miss their edge. So the handler also counts
 * signals (dump_gen), and each runtime remembers the count it has already dumped for (or that
 * was current when it armed): an event with no new count is a stale edge, and prints nothing.
 * The counter is read to zero when no other runtime can be relying on it (a lone user, or the
 * first to arm), so a lone runtime does not even get the stale wake-up.
 */
#define _POSIX_C_SOURCE 200809L
#include "runtime/trace_internal.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/eventfd.h>
#include <unistd.h>

#if WEFT_TRACE_COMPILED

/* The process-wide state of the dump signal, guarded by dump_lock (the handler reads dump_fd). */
static pthread_mutex_t dump_lock = PTHREAD_MUTEX_INITIALIZER;
static volatile sig_atomic_t dump_fd = -1; /* the eventfd; set once, before any handler runs */
static int dump_signo;                     /* the signal in use, 0 = none */
static int dump_users;                     /* runtimes armed */
static struct sigaction dump_old;          /* the disposition to put back */
static atomic_uint dump_gen;               /* signals handled so far (wraps; only compared) */

/* A lock-free atomic is async-signal-safe; one that takes a lock could deadlock the handler. */
_Static_assert(ATOMIC_INT_LOCK_FREE == 2, "the dump signal's counter must be lock-free");

static void on_dump_signal(int signo)
{
    (void)signo;
    int saved_errno = errno;
    atomic_fetch_add(&dump_gen, 1); /* before the write: whoever sees the edge sees the count */
    uint64_t one = 1;
    if (write(dump_fd, &one, sizeof one) < 0) {
        /* Full counter (after 2^64 signals) or no fd: the dump is only a convenience. */
    }
    errno = saved_errno;
}

/* Reads the eventfd's counter to zero (nothing to read is fine). Under dump_lock. */
static void drain_dump_fd(void)
{
    uint64_t count;
    if (read(dump_fd, &count, sizeof count) < 0) {
        /* EAGAIN: it was zero already. */
    }
}

/* Installs the handler for signo, or adds a user. Returns 0 or -errno. Under dump_lock. */
static int acquire_signal(int signo)
{
    if (dump_users != 0) {
        if (signo != dump_signo) return -EBUSY;
        dump_users++;
        return 0;
    }
    if (dump_fd < 0) {
        int fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
        if (fd < 0) return -errno;
        dump_fd = fd;
    }
    drain_dump_fd(); /* what earlier signals left there is no news to this runtime */
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_dump_signal;
    sa.sa_flags = SA_RESTART;
    sigemptyset(&sa.sa_mask);
    if (sigaction(signo, &sa, &dump_old) < 0) return -errno;
    dump_signo = signo;
    dump_users = 1;
    return 0;
}

/* Drops a user; the last one puts the old disposition back. Under dump_lock. */
static void release_signal(void)
{
    if (dump_users == 0 || --dump_users != 0) return;
    (void)sigaction(dump_signo, &dump_old, NULL);
    dump_signo = 0;
}

/* Disarms rt's dump signal (if armed). */
static void dump_off(weft_runtime *rt)
{
    struct weft__trace *tr = rt->trace;
    if (tr == NULL || tr->dump_signo == 0) return;
    (void)weft_poll_deregister(&rt->poll, dump_fd);
    pthread_mutex_lock(&dump_lock);
    release_signal();
    pthread_mutex_unlock(&dump_lock);
    tr->dump_signo = 0;
    weft__trace_put(rt);
}

/* Signals that may serve: catchable ones, and not those the program cannot survive ignoring. */
static bool dump_signal_ok(int signo)
{
    return signo > 0 && signo < 65 && signo != SIGKILL && signo != SIGSTOP && signo != SIGSEGV &&
           signo != SIGBUS && signo != SIGFPE && signo != SIGILL;
}

int weft_runtime_dump_on_signal(weft_runtime *rt, int signo)
{
    if (signo == 0) {
        dump_off(rt);
        return 0;
    }
    if (!dump_signal_ok(signo)) return -EINVAL;
    if (rt->trace != NULL && rt->trace->dump_signo != 0)
        return rt->trace->dump_signo == signo ? 0 : -EINVAL;
    struct weft__trace *tr = weft__trace_get(rt);
    if (tr == NULL) return -ENOMEM;
    pthread_mutex_lock(&dump_lock);
    int r = acquire_signal(signo);
    pthread_mutex_unlock(&dump_lock);
    if (r == 0) {
        tr->dump_seen = atomic_load(&dump_gen); /* earlier signals were not for rt */
        r = weft_poll_register(&rt->poll, dump_fd, WEFT__TRACE_DUMP_TOKEN, WEFT_INTEREST_READABLE);
        if (r < 0) {
            pthread_mutex_lock(&dump_lock);
            release_signal();
            pthread_mutex_unlock(&dump_lock);
        }
    }
    if (r < 0) {
        weft__trace_put(rt);
        return r;
    }
    tr->dump_signo = signo;
    return 0;
}

/*
 * True if a signal came since rt last dumped (or armed), and notes it as seen. The counter is
 * drained first and the count read after: a signal in between is then both counted now and left
 * readable, never lost.
 */
static bool dump_signal_new(struct weft__trace *tr)
{
    pthread_mutex_lock(&dump_lock);
    if (dump_users == 1) drain_dump_fd(); /* nobody else watches the fd */
    pthread_mutex_unlock(&dump_lock);
    unsigned gen = atomic_load(&dump_gen);
    if (gen == tr->dump_seen) return false;
    tr->dump_seen = gen;
    return true;
}

void weft__trace_dump_now(weft_runtime *rt)
{
    if (rt->trace == NULL || rt->trace->dump_signo == 0 || !dump_signal_new(rt->trace)) return;
    rt->now =
        weft_time_now(); /* the cached clock may be a whole park old: "timer in" is from now */
    fprintf(stderr, "weft: signal %d: the runtime's tasks\n", rt->trace->dump_signo);
    weft_runtime_dump(rt, stderr);
    fflush(stderr);
}

/* The signal names WEFT_DUMP_SIGNAL takes (with or without "SIG", any case). */
static const struct {
    const char *name;
    int signo;
} dump_signal_names[] = {
    {"USR1", SIGUSR1},     {"USR2", SIGUSR2}, {"HUP", SIGHUP},     {"INT", SIGINT},
    {"QUIT", SIGQUIT},     {"TERM", SIGTERM}, {"ALRM", SIGALRM},   {"PIPE", SIGPIPE},
    {"CHLD", SIGCHLD},     {"CONT", SIGCONT}, {"TSTP", SIGTSTP},   {"TTIN", SIGTTIN},
    {"TTOU", SIGTTOU},     {"URG", SIGURG},   {"WINCH", SIGWINCH}, {"PROF", SIGPROF},
    {"VTALRM", SIGVTALRM}, {"XCPU", SIGXCPU}, {"XFSZ", SIGXFSZ},   {"TRAP", SIGTRAP},
    {"ABRT", SIGABRT},     {"SYS", SIGSYS},   {"KILL", SIGKILL},   {"STOP", SIGSTOP},
    {"SEGV", SIGSEGV},     {"BUS", SIGBUS},   {"FPE", SIGFPE},     {"ILL", SIGILL},
};

/*
 * The signal spec names: "1" is SIGUSR1 (the short form), other digits a signal number, else a
 * name from the table. Returns the number, or -1 if spec is neither; a number too large to be a
 * signal is returned as is, for weft_runtime_dump_on_signal to refuse.
 */
static int parse_dump_signal(const char *spec)
{
    if (strcmp(spec, "1") == 0) return SIGUSR1;
    if (spec[strspn(spec, "0123456789")] == '\0') {
        long v = strtol(spec, NULL, 10); /* digits only, so nothing is skipped or misread */
        return v > INT_MAX ? INT_MAX : (int)v;
    }
    const char *name = strncasecmp(spec, "SIG", 3) == 0 ? spec + 3 : spec;
    for (size_t i = 0; i < sizeof dump_signal_names / sizeof dump_signal_names[0]; i++)
        if (strcasecmp(name, dump_signal_names[i].name) == 0) return dump_signal_names[i].signo;
    return -1;
}

/*
 * WEFT_DUMP_SIGNAL (see weft/trace.h): unset, "" or "0" for none. A value that names no signal,
 * or one that cannot serve, is reported on stderr and arms nothing; init goes on.
 */
void weft__trace_dump_env(weft_runtime *rt)
{
    const char *spec = getenv("WEFT_DUMP_SIGNAL");
    if (spec == NULL || spec[0] == '\0' || strcmp(spec, "0") == 0) return;
    int signo = parse_dump_signal(spec);
    if (signo < 0) {
        fprintf(stderr,
                "weft: WEFT_DUMP_SIGNAL=%s: not a signal (a number, or a name such as USR1 or "
                "SIGUSR2); no dump signal armed\n",
                spec);
        return;
    }
    int r = weft_runtime_dump_on_signal(rt, signo);
    if (r < 0)
        fprintf(stderr, "weft: WEFT_DUMP_SIGNAL=%s: %s; no dump signal armed\n", spec,
                weft_strerror(r));
}

#else /* !WEFT_TRACE_COMPILED */

int weft_runtime_dump_on_signal(weft_runtime *rt, int signo)
{
    (void)rt, (void)signo;
    return -ENOTSUP;
}

#endif
