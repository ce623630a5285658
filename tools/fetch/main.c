/*
 * weft-fetch — fetch many URLs at once, from one thread.
 *
 *   weft-fetch [options] URL...
 *   weft-fetch [options] -i FILE        (or -i - , or URLs on stdin when it is not a terminal)
 *   weft-fetch --demo [--scale F]
 *
 * Every URL is fetched with weft's HTTP client; at most -c of them are in flight at once. A line
 * per URL is printed as it completes (status, body bytes, time, URL, the error if any), then a
 * line comparing the wall time with the sum of the individual times. The exit status is 0 if
 * every fetch got a status below 400, 1 otherwise, 2 for a usage error.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "fetch.h"

#define PROG "weft-fetch"

static void usage(FILE *to)
{
    fprintf(to,
            "usage: " PROG " [options] URL...\n"
            "       " PROG " --demo [--scale F] [--timeline]\n"
            "Fetch every URL concurrently, from one thread. URLs are http://host[:port]/path with\n"
            "host a name (resolved off the loop's thread), an IPv4 address or [IPv6].\n"
            "  -c N          at most N fetches at once (default 100)\n"
            "  -t MS         give each fetch MS milliseconds in all (default 30000; 0: no limit)\n"
            "  -i FILE       read URLs from FILE, one per line ('-': stdin); without URLs or -i,\n"
            "                URLs are read from stdin when it is not a terminal\n"
            "  -L N          follow up to N redirects (default 0: report the 3xx)\n"
            "  -o DIR        write each body to DIR/<n>.body (n: the URL's position)\n"
            "  -b            write each body to stdout when its fetch completes; the lines go\n"
            "                to stderr then\n"
            "  -m BYTES      bodies over BYTES fail (default: no limit; 64 MiB with -b)\n"
            "  -q            no line per URL, only the final one\n"
            "  --timeline    at the end, a chart of when each fetch connected, waited, read\n"
            "  --no-progress no progress display (it is shown on a terminal for runs over 0.5 s)\n"
            "  --demo        fetch 8 URLs from a delay server started inside this process\n"
            "  --scale F     with --demo: multiply the delays by F (default 1)\n"
            "Exit status: 0 if every fetch got a status below 400, 1 if any failed, 2 on bad "
            "usage.\n");
}

/* The URL list: a growable array of strings it owns. */
struct urls {
    char **v;
    size_t n, cap;
};

static int urls_add(struct urls *u, const char *s, size_t len)
{
    if (u->n == u->cap) {
        size_t cap = u->cap ? u->cap * 2 : 64;
        char **v = realloc(u->v, cap * sizeof *v);
        if (!v) return -ENOMEM;
        u->v = v;
        u->cap = cap;
    }
    u->v[u->n] = strndup(s, len);
    if (!u->v[u->n]) return -ENOMEM;
    u->n++;
    return 0;
}

/* One URL per line; blank lines and lines starting with '#' are skipped. A read error fails the
 * whole list rather than fetching what came before it, and so does a NUL in a line: a C string
 * would end there and a shorter URL would be fetched. Returns 0, or -1 with the error reported
 * as "NAME: reason" or "NAME:LINE: reason". */
static int urls_read(struct urls *u, FILE *in, const char *name)
{
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    int r = 0;
    for (unsigned long lineno = 1; r == 0 && (len = getline(&line, &cap, in)) >= 0; lineno++) {
        if (memchr(line, '\0', (size_t)len)) {
            fprintf(stderr, PROG ": %s:%lu: a NUL byte in the line\n", name, lineno);
            free(line);
            return -1;
        }
        const char *s = line;
        size_t n = (size_t)len;
        while (n > 0 && (*s == ' ' || *s == '\t')) {
            s++;
            n--;
        }
        while (n > 0 &&
               (s[n - 1] == '\n' || s[n - 1] == '\r' || s[n - 1] == ' ' || s[n - 1] == '\t'))
            n--;
        if (n > 0 && s[0] != '#') r = urls_add(u, s, n);
    }
    /* getline() returns -1 at the end and on an error alike; errno is the failed read's. */
    if (r == 0 && ferror(in)) r = errno > 0 ? -errno : -EIO;
    free(line);
    if (r < 0) fprintf(stderr, PROG ": %s: %s\n", name, weft_strerror(r));
    return r < 0 ? -1 : 0;
}

/* Returns 0, or -1 with the error reported. */
static int urls_read_file(struct urls *u, const char *path)
{
    if (strcmp(path, "-") == 0) return urls_read(u, stdin, "stdin");
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, PROG ": %s: %s\n", path, strerror(errno));
        return -1;
    }
    int r = urls_read(u, f, path);
    fclose(f);
    return r;
}

static bool parse_count(const char *s, unsigned long long max, unsigned long long *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (end == s || *end || errno || v > max || s[0] == '-') return false;
    *out = v;
    return true;
}

struct cmdline {
    struct fetch_opts opt;
    struct urls urls;
    bool demo, no_progress, stdin_read;
    double scale;
};

/* The options that take a whole number, and its range. -m's bound is what the client's limit
 * (weft_http_exchange.max_body, a uint64_t) holds; the others' 10^9 is past any sensible use. */
static const struct {
    const char *name;
    unsigned long long min, max;
} counts[] = {
    {"-c", 1, 1000000000ULL},
    {"-t", 0, 1000000000ULL},
    {"-L", 0, 1000000000ULL},
    {"-m", 0, UINT64_MAX},
};

static void set_count(struct cmdline *c, const char *name, unsigned long long v)
{
    if (strcmp(name, "-c") == 0)
        c->opt.concurrency = (size_t)v;
    else if (strcmp(name, "-t") == 0)
        c->opt.timeout = WEFT_MSEC((int64_t)v);
    else if (strcmp(name, "-L") == 0)
        c->opt.redirects = (unsigned)v;
    else
        c->opt.max_body = (uint64_t)v;
}

/* Options that take a value. Returns false on an unknown name or a bad value, reported. */
static bool set_valued(struct cmdline *c, const char *name, const char *value)
{
    if (strcmp(name, "-i") == 0) {
        c->stdin_read |= strcmp(value, "-") == 0;
        return urls_read_file(&c->urls, value) == 0;
    }
    if (strcmp(name, "-o") == 0) {
        c->opt.out_dir = value;
        return true;
    }
    if (strcmp(name, "--scale") == 0) {
        char *end;
        c->scale = strtod(value, &end);
        if (end != value && !*end && c->scale >= 0 && c->scale <= 100) return true;
        fprintf(stderr, PROG ": bad value for --scale: '%s' (a number from 0 to 100)\n", value);
        return false;
    }
    for (size_t i = 0; i < sizeof counts / sizeof counts[0]; i++) {
        if (strcmp(name, counts[i].name) != 0) continue;
        unsigned long long v;
        if (parse_count(value, counts[i].max, &v) && v >= counts[i].min) {
            set_count(c, name, v);
            return true;
        }
        fprintf(stderr, PROG ": bad value for %s: '%s' (a whole number from %llu to %llu)\n", name,
                value, counts[i].min, counts[i].max);
        return false;
    }
    return false;
}

static bool takes_value(const char *a)
{
    static const char *const names[] = {"-c", "-t", "-i", "-L", "-o", "-m", "--scale"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strcmp(a, names[i]) == 0) return true;
    return false;
}

/* Returns 0, or 2 (usage error, already reported), or -1 for --help. */
static int parse_args(struct cmdline *c, int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) return -1;
        if (takes_value(a)) {
            if (i + 1 >= argc) {
                fprintf(stderr, PROG ": missing value for %s\n", a);
                return 2;
            }
            if (!set_valued(c, a, argv[i + 1])) return 2;
            i++;
        } else if (strcmp(a, "-b") == 0) {
            c->opt.bodies_to_stdout = true;
        } else if (strcmp(a, "-q") == 0) {
            c->opt.quiet = true;
        } else if (strcmp(a, "--timeline") == 0) {
            c->opt.timeline = true;
        } else if (strcmp(a, "--no-progress") == 0) {
            c->no_progress = true;
        } else if (strcmp(a, "--demo") == 0) {
            c->demo = true;
        } else if (strcmp(a, "-") == 0) {
            c->stdin_read = true;
            if (urls_read(&c->urls, stdin, "stdin") < 0) return 2;
        } else if (a[0] == '-') {
            fprintf(stderr, PROG ": unknown option %s (try --help)\n", a);
            return 2;
        } else if (urls_add(&c->urls, a, strlen(a)) < 0) {
            return 2;
        }
    }
    return 0;
}

/* Thousands of connections need thousands of fds: take all the hard limit allows. */
static void raise_fd_limit(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        (void)setrlimit(RLIMIT_NOFILE, &rl);
    }
}

static int fetch_main(struct cmdline *c)
{
    struct fetch_run run = {.opt = &c->opt, .n = c->urls.n};
    run.lines = c->opt.bodies_to_stdout ? stderr : stdout;
    run.results = calloc(c->urls.n ? c->urls.n : 1, sizeof *run.results);
    if (!run.results) return 1;
    for (size_t i = 0; i < c->urls.n; i++)
        run.results[i].url = c->urls.v[i];
    weft_runtime rt;
    int r = weft_runtime_init(&rt);
    if (r == 0) r = fetch_run_all(&rt, &run);
    if (r < 0) fprintf(stderr, PROG ": %s\n", weft_strerror(r));
    weft_runtime_close(&rt);
    if (r == 0 && c->opt.timeline) report_timeline(&run, run.lines);
    if (r == 0) report_totals(&run, run.lines);
    for (size_t i = 0; i < c->urls.n; i++)
        free(run.results[i].file);
    free(run.results);
    return r == 0 && run.failed == 0 ? 0 : 1;
}

int main(int argc, char **argv)
{
    struct cmdline c = {
        .opt = {.concurrency = 100, .timeout = WEFT_SEC(30), .max_body = WEFT_HTTP_UNLIMITED},
        .scale = 1.0};
    int status = parse_args(&c, argc, argv);
    if (status < 0) usage(stdout);
    if (status == 0 && !c.demo && c.urls.n == 0 && !c.stdin_read && !isatty(STDIN_FILENO))
        status = urls_read(&c.urls, stdin, "stdin") < 0 ? 2 : 0;
    if (status == 0 && !c.demo && c.urls.n == 0) {
        usage(stderr);
        status = 2;
    }
    if (status == 0) {
        raise_fd_limit();
        if (c.opt.bodies_to_stdout && c.opt.max_body == WEFT_HTTP_UNLIMITED)
            c.opt.max_body = 64u << 20;
        c.opt.progress = !c.no_progress && isatty(STDERR_FILENO);
        status = c.demo ? fetch_demo(c.scale, c.opt.timeline) : fetch_main(&c);
    }
    for (size_t i = 0; i < c.urls.n; i++)
        free(c.urls.v[i]);
    free(c.urls.v);
    return status < 0 ? 0 : status;
}
