/*
 * pitfall_drain — the readiness contract, rule 2: after an edge-triggered event, read until the
 * kernel says EAGAIN, or the bytes you leave behind may never be announced again.
 *
 * 8 KiB wait in a socket. Its reading end is registered with weft_poll (edge-triggered, like
 * every weft_poll registration) and read with a 4 KiB buffer, twice over:
 *
 *   1. wrong: one read per event. The event comes, 4 KiB are read, and the next wait times out
 *      although 4 KiB are still there: nothing new arrived, so there is no new edge to report.
 *   2. right: on each event, read until EAGAIN. One event is enough for all 8 KiB.
 *
 * Every wait is bounded (200 ms), so the failure shows up as a message rather than a hang.
 * docs/pitfalls.md walks through it.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <weft/error.h>
#include <weft/poll.h>

#define CHUNK   4096
#define TOTAL   (2 * CHUNK)
#define WAIT_NS ((int64_t)200 * 1000000) /* how long a wait may last before we give up */

/* WRONG: one read per event. Returns the bytes read. */
static size_t read_once(int fd)
{
    char buf[CHUNK];
    ssize_t n = read(fd, buf, sizeof buf);
    return n > 0 ? (size_t)n : 0;
}

/* Right: read until the kernel says there is nothing left (EAGAIN) or the stream ends. */
static size_t read_until_eagain(int fd)
{
    char buf[CHUNK];
    size_t total = 0;
    for (;;) {
        ssize_t n = read(fd, buf, sizeof buf);
        if (n > 0)
            total += (size_t)n;
        else if (n < 0 && errno == EINTR)
            continue;
        else
            return total; /* n == 0: end of stream; n < 0: EAGAIN (or an error) */
    }
}

/* Fills a fresh socket pair with TOTAL bytes, then waits and reads with on_event. */
static int run(weft_poll *poll, weft_events *events, size_t (*on_event)(int fd))
{
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) < 0) return -errno;
    static const char data[TOTAL];
    int r = write(sv[1], data, sizeof data) == (ssize_t)sizeof data ? 0 : -EIO;
    if (r == 0) r = weft_poll_register(poll, sv[0], 1, WEFT_INTEREST_READABLE);
    size_t got = 0;
    for (int wait = 1; r == 0 && got < TOTAL && wait <= 3; wait++) {
        int n = weft_poll_wait(poll, events, WAIT_NS);
        if (n < 0) r = n;
        if (n <= 0) break;
        size_t bytes = on_event(sv[0]);
        got += bytes;
        printf("  wait %d: an event; read %zu bytes\n", wait, bytes);
    }
    if (r == 0 && got < TOTAL)
        printf("  wait: no event within 200 ms, with %zu bytes still unread: stuck\n", TOTAL - got);
    if (r == 0 && got == TOTAL) printf("  all %d bytes read\n", TOTAL);
    weft_poll_deregister(poll, sv[0]);
    close(sv[0]);
    close(sv[1]);
    return r;
}

int main(int argc, char **argv)
{
    if (argc > 1) {
        fprintf(stderr, "'%s': %s takes no arguments\n", argv[1], argv[0]);
        return 2;
    }
    weft_poll poll;
    weft_events events;
    int r = weft_poll_init(&poll);
    if (r == 0) r = weft_events_init(&events, 8);
    if (r < 0) {
        fprintf(stderr, "setup: %s\n", weft_strerror(r));
        return 1;
    }
    printf("1. one read per event (wrong)\n");
    r = run(&poll, &events, read_once);
    printf("2. read until EAGAIN (right)\n");
    if (r == 0) r = run(&poll, &events, read_until_eagain);
    weft_events_free(&events);
    weft_poll_close(&poll);
    if (r < 0) fprintf(stderr, "error: %s\n", weft_strerror(r));
    return r < 0;
}
