/* SPDX-License-Identifier: MIT */
/*
 * bench/natsd.h - the one nats-server launcher, for the nats rows of
 * `ipckit bench` (bench/nats.c) and the nats test suite
 * (tests/nats/nats_harness.h): find the binary, start it on a loopback
 * port, see when it listens, and stop exactly the process it started (by
 * its pid, never by name). How long to wait, and what a stop request or a
 * failure means, stays with the caller.
 *
 * Only plain system calls; not thread-safe (one supervising thread).
 */
#ifndef IPCKIT_BENCH_NATSD_H
#define IPCKIT_BENCH_NATSD_H

#include <stdbool.h>
#include <sys/types.h>

/* The installed nats-server (/usr/sbin, /usr/bin, /usr/local/bin), or NULL. */
const char *natsd_path(void);

/* A loopback TCP port nobody listens on right now. Return: the port; -errno. */
int natsd_free_port(void);

/* Whether something accepts connections on 127.0.0.1:@port. */
bool natsd_listening(int port);

/*
 * natsd_spawn() - fork and exec nats-server -a 127.0.0.1 -p @port, then
 * @extra (NULL-ended, may be NULL), without waiting for it to listen.
 * @log: the server's stdout and stderr (appended, made 0600); NULL:
 * /dev/null. @in_child: run in the child before the exec (NULL: nothing),
 * e.g. to restore a signal mask. The child dies with its parent
 * (PR_SET_PDEATHSIG).
 *
 * Return: 0 with the child's pid in *@ret; -ENOENT (no nats-server);
 * -errno of fork.
 */
int natsd_spawn(int port, const char *const *extra, const char *log, void (*in_child)(void),
		pid_t *ret);

/*
 * natsd_ready() - one look at a server natsd_spawn() started.
 * Return: 1 listening on @port; 0 not yet; -ECHILD it exited (reaped, and
 * *@pid set to 0).
 */
int natsd_ready(pid_t *pid, int port);

/* Sends @sig to exactly *@pid, reaps it and sets *@pid to 0; nothing when
 * *@pid <= 0. Async-signal-safe (for an abort handler). */
void natsd_stop(pid_t *pid, int sig);

#endif /* IPCKIT_BENCH_NATSD_H */
