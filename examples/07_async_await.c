/*
 * 07_async_await — the same five requests, awaited one after another, then joined.
 *
 * The idea this example teaches: `await` does not make a program concurrent. A coroutine that
 * awaits request 1, then request 2, then request 3 ... reads like blocking code and *behaves*
 * like it: each request starts only when the one before has finished, so the total is the sum
 * of their times. Concurrency comes from having several things in progress at once — here, five
 * child coroutines run by one join combinator (weft_co_join, weft/coro.h section 7), so the
 * total is the time of the slowest. Both versions run on one thread.
 *
 * It is the C counterpart of the async/await example in chapter 7 of the book "Asynchronous
 * Programming in Rust": five GET requests to a delay server,
 *
 *     GET /0/HelloWorld0   GET /1000/HelloWorld1   ...   GET /4000/HelloWorld4
 *
 * first awaited in turn (about 0 + 1 + 2 + 3 + 4 = 10 s), then joined (about 4 s). Each request
 * is weft's HTTP client (weft/http.h, part 2): one exchange, its head awaited, then its body.
 *
 * Run a delay server first (weft-delayserver --port 8080), then:
 *
 *     07_async_await [--delay-scale F] [HOST:PORT]      (default 127.0.0.1:8080)
 *
 * --delay-scale multiplies the delays we ask for (0.05 asks for 0, 50, ..., 200 ms).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <weft/http.h>

#define N_REQUESTS 5

/* One request: the frame of a child coroutine. */
struct request {
    weft_co co; /* first: weft_co_join needs it there */
    weft_http_client *client;
    char url[128];
    weft_http_exchange ex;
    char body[256];
    int r;
};

/* GET one URL: say when it starts and print what came back. Result: the body's length, or an
 * error. */
static int request(struct request *f, weft_cx *cx)
{
    WEFT_BEGIN(&f->co);
    printf("GET %s\n", f->url);
    weft_http_exchange_init(&f->ex, f->client, WEFT_HTTP_GET, f->url);
    WEFT_AWAIT_CHILD(&f->co, &f->ex.co, f->r, weft_http_exchange_start(&f->ex, cx));
    if (f->r >= 0)
        WEFT_AWAIT(&f->co, f->r = weft_http_exchange_read_all(&f->ex, f->body, sizeof f->body, cx));
    weft_http_exchange_close(&f->ex);
    if (f->r >= 0)
        printf("%s -> %d %.*s\n", f->url, f->ex.status, f->r, f->body);
    else
        printf("%s -> error: %s\n", f->url, weft_strerror(f->r));
    WEFT_ON_CANCEL(&f->co);
    weft_http_exchange_close(&f->ex);
    WEFT_END(&f->co, f->r);
}

WEFT_CO_FN(request_fn, request, struct request)

/* The program's main coroutine: part 1 awaits, part 2 joins. */
struct main_frame {
    weft_co co;
    struct request req[N_REQUESTS];
    weft_co_child kids[N_REQUESTS];
    int i, r, failed;
    int64_t t0;
};

static void print_elapsed(int64_t t0, const char *how)
{
    printf("ELAPSED TIME: %.3f s (%s)\n", (double)(weft_time_now() - t0) / 1e9, how);
}

static int async_main(struct main_frame *f, weft_cx *cx)
{
    WEFT_BEGIN(&f->co);
    printf("Program starting: %d requests, awaited one after another\n", N_REQUESTS);
    f->t0 = weft_time_now();
    for (f->i = 0; f->i < N_REQUESTS; f->i++) {
        WEFT_AWAIT_CHILD(&f->co, &f->req[f->i].co, f->r, request(&f->req[f->i], cx));
        f->failed += f->r < 0;
    }
    print_elapsed(f->t0, "awaited one after another: the sum of the delays");

    printf("\nThe same %d requests, joined\n", N_REQUESTS);
    f->t0 = weft_time_now();
    for (f->i = 0; f->i < N_REQUESTS; f->i++)
        weft_co_child_init(&f->kids[f->i], request_fn, &f->req[f->i]);
    WEFT_AWAIT(&f->co, weft_co_join(f->kids, N_REQUESTS, cx));
    print_elapsed(f->t0, "joined: the longest delay");
    for (f->i = 0; f->i < N_REQUESTS; f->i++)
        f->failed += f->kids[f->i].result < 0;
    WEFT_ON_CANCEL(&f->co);
    weft_co_children_cancel(f->kids, N_REQUESTS, cx);
    WEFT_END(&f->co, f->failed ? 1 : 0);
}

WEFT_CO_FN(async_main_fn, async_main, struct main_frame)

/* A scale is a number from 0 to 100, such as 0.05. The range test is written so that a value
 * must pass it: NaN passes no comparison and infinity is above 100, so neither gets through to
 * an undefined conversion to an integer. */
static bool parse_scale(const char *arg, double *scale)
{
    char *end;
    *scale = strtod(arg, &end);
    return end != arg && *end == '\0' && *scale >= 0 && *scale <= 100;
}

/* --delay-scale F and one HOST:PORT. Returns false, after naming the bad argument, on anything
 * else. */
static bool parse_args(int argc, char **argv, double *scale, const char **addr)
{
    bool have_address = false;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--delay-scale") == 0 && i + 1 < argc) {
            if (!parse_scale(argv[++i], scale)) {
                fprintf(stderr, "--delay-scale: '%s' is not a number from 0 to 100\n", argv[i]);
                return false;
            }
        } else if (have_address || argv[i][0] == '-' || strchr(argv[i], ':') == NULL ||
                   strlen(argv[i]) > 64) { /* the URLs have room for 64 */
            fprintf(stderr, "'%s': expected HOST:PORT (only one) or --delay-scale F\n", argv[i]);
            return false;
        } else {
            *addr = argv[i];
            have_address = true;
        }
    }
    return true;
}

int main(int argc, char **argv)
{
    double scale = 1.0;
    const char *addr = "127.0.0.1:8080";
    if (!parse_args(argc, argv, &scale, &addr)) {
        fprintf(stderr, "usage: %s [--delay-scale F] [HOST:PORT]\n", argv[0]);
        return 2;
    }
    weft_runtime rt;
    weft_http_client client;
    static struct main_frame frame; /* big (five exchanges): not on the stack */
    if (weft_runtime_init(&rt) < 0 || weft_http_client_init(&client, &rt, NULL) < 0) return 1;
    for (int i = 0; i < N_REQUESTS; i++) {
        frame.req[i].client = &client;
        snprintf(frame.req[i].url, sizeof frame.req[i].url, "http://%s/%d/HelloWorld%d", addr,
                 (int)(i * 1000 * scale + 0.5), i);
    }
    int r = weft_runtime_block_on(&rt, async_main_fn, &frame);
    if (r < 0) fprintf(stderr, "runtime: %s\n", weft_strerror(r));
    weft_http_client_close(&client);
    weft_runtime_close(&rt);
    return r == 0 ? 0 : 1;
}
