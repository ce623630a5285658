/* A program that uses weft as an outsider would: through the installed headers and library.
 * It wakes a poll with its own waker and checks that the event comes back. */
#include <stdio.h>

#include <weft.h>

int main(void)
{
    weft_poll poll;
    weft_events events = {0};
    weft_poll_waker waker = {.fd = -1};
    int r = weft_poll_init(&poll);
    if (r == 0) r = weft_events_init(&events, 4);
    if (r == 0) r = weft_poll_waker_init(&waker, &poll, 42);
    if (r == 0) r = weft_poll_waker_wake(&waker);
    if (r == 0) r = weft_poll_wait(&poll, &events, 1000000000);
    int ok = r == 1 && events.items[0].token == 42;
    printf("weft consumer: %s (%s)\n", ok ? "ok" : "FAILED", r < 0 ? weft_strerror(r) : "no error");
    weft_poll_waker_close(&waker, &poll);
    weft_events_free(&events);
    weft_poll_close(&poll);
    return ok ? 0 : 1;
}
