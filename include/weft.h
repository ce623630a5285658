/*
 * weft.h — everything weft offers, in one include. Each module header is that module's manual;
 * read them in this order: error, poll, coro, addr, runtime, tcp.
 */
#ifndef WEFT_H
#define WEFT_H

#include <weft/error.h>   /* how every function reports failure */
#include <weft/poll.h>    /* the event queue over epoll: tokens, interests, events, waker */
#include <weft/coro.h>    /* stackless coroutines */
#include <weft/addr.h>    /* numeric socket addresses */
#include <weft/runtime.h> /* the single-threaded runtime: tasks, timers, I/O */
#include <weft/tcp.h>     /* TCP streams and listeners on the runtime */

#endif /* WEFT_H */
