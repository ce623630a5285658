/*
 * Helpers for testing weft-delayserver from the outside: start the real program on a free port,
 * talk to it over plain blocking sockets (no weft involved, so the client cannot share a bug
 * with the server), stop it with a signal. Each helper fails the running cmocka test if the
 * system refuses.
 */
#ifndef WEFT_DS_CLIENT_H
#define WEFT_DS_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* A running weft-delayserver process; its stdout and stderr go to a temporary file. */
struct ds_server {
    pid_t pid;
    uint16_t port;
    char out_path[64];
};

/*
 * Starts `bin --port 0 args...` (args NULL-terminated, may be NULL) and waits (bounded) for its
 * `listening on HOST:PORT` line.
 */
void ds_server_start(struct ds_server *s, const char *bin, const char *const *args);

/* Sends sig and waits (at most 10 s) for the process to exit. Returns its exit status, or -1 if
 * it was killed by a signal or did not exit (it is then killed). */
int ds_server_stop(struct ds_server *s, int sig);

/* True if the server's output so far contains needle. */
bool ds_server_output_has(const struct ds_server *s, const char *needle);

/* One client connection, with a buffer that keeps what follows a response (pipelining). */
struct ds_client {
    int fd;
    size_t len; /* bytes in buf */
    char buf[65536];
};

/* One parsed response. */
struct ds_response {
    int status;
    long content_length; /* -1 if absent */
    bool close;          /* "Connection: close" */
    bool keep_alive;     /* "Connection: keep-alive" */
    bool allow;          /* an Allow header */
    size_t body_len;
    char body[16384]; /* NUL-terminated */
};

/* Connects to 127.0.0.1:port (blocking socket, receive timeout 5 s). */
void ds_connect(struct ds_client *c, uint16_t port);

/* Sends all of text (or len bytes of it with ds_send_n). */
void ds_send(struct ds_client *c, const char *text);
void ds_send_n(struct ds_client *c, const void *data, size_t len);

/*
 * Reads one response (head and Content-Length body). Returns 0, or -1 if the connection ended
 * (EOF, reset) or the 5 s timeout passed first. head_only: the response to a HEAD (no body).
 */
int ds_read_response(struct ds_client *c, struct ds_response *r, bool head_only);

/* Parses one complete response at the front of c->buf, if there is one, and removes it.
 * Returns 1 if one was parsed, 0 if more bytes are needed. */
int ds_take_response(struct ds_client *c, struct ds_response *r, bool head_only);

/* True if the server closes the connection (EOF or reset) within ms milliseconds and sends
 * nothing more before that. */
bool ds_closed_within(struct ds_client *c, int ms);

/* Reads (keeping what arrives, as far as buf has room) until the server closes the connection
 * or ms milliseconds have passed. True if it closed. */
bool ds_wait_closed(struct ds_client *c, int ms);

/* True if nothing arrives (and the connection stays open) for ms milliseconds. */
bool ds_quiet_for(struct ds_client *c, int ms);

/* Closes the connection. ds_reset closes it with a reset (SO_LINGER 0) instead of a FIN. */
void ds_close(struct ds_client *c);
void ds_reset(struct ds_client *c);

/* CLOCK_MONOTONIC in milliseconds. */
int64_t ds_now_ms(void);

#endif
