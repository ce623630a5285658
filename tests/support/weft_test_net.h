/*
 * Real sockets and pipes for tests, on 127.0.0.1. Each helper fails the running cmocka test if
 * the system refuses, so a test body can stay about what it checks. No weft layer is used.
 */
#ifndef WEFT_TEST_NET_H
#define WEFT_TEST_NET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Sets O_NONBLOCK on fd. */
void weft_test_set_nonblocking(int fd);

/* A non-blocking pipe: fds[0] reads, fds[1] writes. */
void weft_test_pipe(int fds[2]);

/* A connected non-blocking AF_UNIX stream socketpair. */
void weft_test_socketpair(int fds[2]);

/* A listening TCP socket on 127.0.0.1 and a free port, stored in *port. */
int weft_test_tcp_listener(uint16_t *port);

/* A connected TCP pair over 127.0.0.1: *client and *server, both non-blocking. */
void weft_test_tcp_pair(int *client, int *server);

/*
 * A port on 127.0.0.1 where connect() is refused: a socket bound to it but not listening (the
 * kernel answers a SYN with a reset). Returns that socket; keep it open while the port is used so
 * nobody else takes it, then close it.
 */
int weft_test_refusing_port(uint16_t *port);

/* Starts a non-blocking connect to 127.0.0.1:port; returns the socket (connect in progress or
 * already done). */
int weft_test_tcp_connect_start(uint16_t port);

/* Reads fd until EAGAIN or end of stream; returns the bytes read. *eof (if not NULL) tells
 * whether end of stream was reached. Fails the test on any other error. */
size_t weft_test_drain(int fd, bool *eof);

/* Writes all of buf to a descriptor with room for it (fails the test otherwise). */
void weft_test_write_all(int fd, const void *buf, size_t len);

#endif
