#include "weft_test_poll.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "weft_test.h"

#include <weft/error.h>

const char *weft_test_flags_name(uint32_t flags, char *buf, size_t size)
{
    static const struct {
        uint32_t bit;
        const char *name;
    } names[] = {
        {WEFT_EVENT_READABLE, "READABLE"},
        {WEFT_EVENT_WRITABLE, "WRITABLE"},
        {WEFT_EVENT_ERROR, "ERROR"},
        {WEFT_EVENT_READ_CLOSED, "READ_CLOSED"},
        {WEFT_EVENT_WRITE_CLOSED, "WRITE_CLOSED"},
        {WEFT_EVENT_PRIORITY, "PRIORITY"},
    };
    size_t used = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        if (!(flags & names[i].bit)) continue;
        int n = snprintf(buf + used, size - used, "%s%s", used ? "|" : "", names[i].name);
        if (n < 0 || (size_t)n >= size - used) break;
        used += (size_t)n;
    }
    if (used == 0) snprintf(buf, size, "(none)");
    return buf;
}

/* One wait for the time left before deadline; fails the test on an error. */
static int wait_some(const char *file, int line, weft_poll *poll, weft_events *events,
                     int64_t deadline)
{
    int64_t left = deadline - weft_test_now_ns();
    int n = weft_poll_wait(poll, events, left > 0 ? left : 0);
    if (n < 0) {
        print_error("weft_poll_wait failed: %s\n", weft_strerror(n));
        _fail(file, line);
    }
    return n;
}

static void fail_unexpected(const char *file, int line, const weft_event *e)
{
    char name[96];
    print_error("unexpected event: token %llu flags %s\n", (unsigned long long)e->token,
                weft_test_flags_name(e->flags, name, sizeof name));
    _fail(file, line);
}

/* Index of the expected event for token, or n_want if none. */
static size_t find_wanted(const weft_event *want, size_t n_want, weft_token token)
{
    size_t i = 0;
    while (i < n_want && want[i].token != token)
        i++;
    return i;
}

static bool all_seen(const weft_event *want, const uint32_t *seen, const bool *any, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!any[i] || (seen[i] & want[i].flags) != want[i].flags) return false;
    return true;
}

static void fail_missing(const char *file, int line, const weft_event *want, const uint32_t *seen,
                         size_t n)
{
    char a[96], b[96];
    for (size_t i = 0; i < n; i++)
        print_error("expected token %llu flags %s; saw %s\n", (unsigned long long)want[i].token,
                    weft_test_flags_name(want[i].flags, a, sizeof a),
                    weft_test_flags_name(seen[i], b, sizeof b));
    _fail(file, line);
}

#define MAX_WANTED 64

void weft_test_expect_events_at(const char *file, int line, weft_poll *poll, weft_events *events,
                                const weft_event *want, size_t n_want)
{
    uint32_t seen[MAX_WANTED] = {0};
    bool any[MAX_WANTED] = {false};
    if (n_want > MAX_WANTED) _fail(file, line);
    int64_t deadline = weft_test_now_ns() + WEFT_TEST_EVENT_TIMEOUT_NS;
    while (!all_seen(want, seen, any, n_want)) {
        if (weft_test_now_ns() >= deadline) fail_missing(file, line, want, seen, n_want);
        int n = wait_some(file, line, poll, events, deadline);
        for (int i = 0; i < n; i++) {
            size_t k = find_wanted(want, n_want, events->items[i].token);
            if (k == n_want) fail_unexpected(file, line, &events->items[i]);
            seen[k] |= events->items[i].flags;
            any[k] = true;
        }
    }
}

void weft_test_expect_no_events_at(const char *file, int line, weft_poll *poll, weft_events *events,
                                   int64_t quiet_ns)
{
    int n = wait_some(file, line, poll, events, weft_test_now_ns() + quiet_ns);
    if (n > 0) fail_unexpected(file, line, &events->items[0]);
}

void weft_test_expect_timeout_at(const char *file, int line, weft_poll *poll, weft_events *events,
                                 int64_t timeout_ns)
{
    int64_t start = weft_test_now_ns();
    int n = weft_poll_wait(poll, events, timeout_ns);
    int64_t elapsed = weft_test_now_ns() - start;
    if (n > 0) fail_unexpected(file, line, &events->items[0]);
    if (n < 0 || elapsed < timeout_ns) {
        print_error("wait(%lld ns) returned %d after %lld ns\n", (long long)timeout_ns, n,
                    (long long)elapsed);
        _fail(file, line);
    }
}

uint32_t weft_test_event_flags_at(const char *file, int line, weft_poll *poll, weft_events *events,
                                  weft_token token)
{
    int64_t deadline = weft_test_now_ns() + WEFT_TEST_EVENT_TIMEOUT_NS;
    while (weft_test_now_ns() < deadline) {
        int n = wait_some(file, line, poll, events, deadline);
        for (int i = 0; i < n; i++) {
            if (events->items[i].token != token) fail_unexpected(file, line, &events->items[i]);
        }
        if (n > 0) return events->items[0].flags;
    }
    print_error("no event for token %llu\n", (unsigned long long)token);
    _fail(file, line);
    return 0;
}
