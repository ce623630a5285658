/*
 * weft.h — everything weft offers, in one include. Each module header is that module's manual;
 * read them in this order: error, poll, coro, addr, runtime, timer, tcp, sync, select, blocking,
 * signal, udp, unix, group, trace, http.
 */
#ifndef WEFT_H
#define WEFT_H

#include <weft/error.h>    /* how every function reports failure */
#include <weft/poll.h>     /* the event queue over epoll: tokens, interests, events, waker */
#include <weft/coro.h>     /* stackless coroutines */
#include <weft/addr.h>     /* numeric socket addresses */
#include <weft/runtime.h>  /* the single-threaded runtime: tasks, timers, I/O */
#include <weft/timer.h>    /* timers without a task: a callback (or a wake-up) at a deadline */
#include <weft/tcp.h>      /* TCP streams and listeners on the runtime */
#include <weft/sync.h>     /* channels, oneshot, notify, semaphore, mutex, wait group, xchan */
#include <weft/select.h>   /* wait for the first of several leaf operations */
#include <weft/blocking.h> /* a pool of threads for blocking work; name resolution */
#include <weft/signal.h>   /* Unix signals as awaitable events */
#include <weft/udp.h>      /* UDP sockets */
#include <weft/unix.h>     /* Unix-domain stream sockets */
#include <weft/group.h>    /* task groups and graceful shutdown */
#include <weft/trace.h>    /* recording what the runtime does; the task dump on a signal */
#include <weft/http.h>     /* HTTP/1.1: parser, URLs, request writer; the client coroutine */

#endif /* WEFT_H */
