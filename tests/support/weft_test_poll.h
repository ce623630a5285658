/*
 * Helpers for tests that wait on a weft_poll, in the style of mio's tests: say which events
 * you expect and let the helper wait for them (bounded), failing the test with a readable
 * message otherwise.
 *
 *     expect_events(&poll, &events, {.token = 1, .flags = WEFT_EVENT_READABLE});
 *     expect_no_events(&poll, &events);
 *
 * These helpers call into the poll layer: a test using them links LAYERS poll (the helpers are
 * in their own object file, so tests of other layers that do not use them are unaffected).
 */
#ifndef WEFT_TEST_POLL_H
#define WEFT_TEST_POLL_H

#include <stddef.h>
#include <stdint.h>

#include <weft/poll.h>

/* How long expect_events() and weft_test_event_flags() wait in total before failing. */
#define WEFT_TEST_EVENT_TIMEOUT_NS (INT64_C(5) * 1000000000)

/* How long expect_no_events() watches for an event that should not come. */
#define WEFT_TEST_QUIET_NS (INT64_C(50) * 1000000)

/*
 * expect_events(poll, events, {token, flags}...) - wait until, for every expected {token, flags},
 * events with that token have arrived whose flags together include all the expected flags (an
 * expected flags of 0 accepts any event with the token). An event with a token not in the list
 * fails the test, as does a wait longer than WEFT_TEST_EVENT_TIMEOUT_NS. Returns once all are
 * seen; it does not wait for more, so follow with expect_no_events() to prove there are none.
 */
#define expect_events(poll, events, ...)                                                           \
    weft_test_expect_events_at(__FILE__, __LINE__, (poll), (events),                               \
                               (const weft_event[]){__VA_ARGS__},                                  \
                               sizeof((const weft_event[]){__VA_ARGS__}) / sizeof(weft_event))

/* expect_no_events(poll, events) - wait WEFT_TEST_QUIET_NS and fail if any event arrives. */
#define expect_no_events(poll, events)                                                             \
    weft_test_expect_no_events_at(__FILE__, __LINE__, (poll), (events), WEFT_TEST_QUIET_NS)

/*
 * weft_test_event_flags(poll, events, token) - wait for the next event batch that has an event
 * for token and return that event's flags. Fails on an event for another token or on timeout.
 * For checks that want the exact flags, e.g. "read_closed but not write_closed".
 */
#define weft_test_event_flags(poll, events, token)                                                 \
    weft_test_event_flags_at(__FILE__, __LINE__, (poll), (events), (token))

/* expect_timeout(poll, events, timeout_ns) - wait with that timeout and fail unless it returns 0
 * events no earlier than timeout_ns later (a lower bound only: a late return is fine). */
#define expect_timeout(poll, events, timeout_ns)                                                   \
    weft_test_expect_timeout_at(__FILE__, __LINE__, (poll), (events), (timeout_ns))

/* Writes the names of the WEFT_EVENT_* bits in flags, "READABLE|READ_CLOSED", into buf. */
const char *weft_test_flags_name(uint32_t flags, char *buf, size_t size);

void weft_test_expect_events_at(const char *file, int line, weft_poll *poll, weft_events *events,
                                const weft_event *want, size_t n_want);
void weft_test_expect_no_events_at(const char *file, int line, weft_poll *poll, weft_events *events,
                                   int64_t quiet_ns);
void weft_test_expect_timeout_at(const char *file, int line, weft_poll *poll, weft_events *events,
                                 int64_t timeout_ns);
uint32_t weft_test_event_flags_at(const char *file, int line, weft_poll *poll, weft_events *events,
                                  weft_token token);

#endif
