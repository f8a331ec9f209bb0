/* SPDX-License-Identifier: MIT */
/*
 * ipckit/handoff.h - zero-downtime upgrade: a running server hands its
 * listening sockets, and a blob of state, to a new copy of itself.
 *
 * The old process calls ipk_handoff_offer(): it starts the new program
 * with a hand-off socket (a SOCK_SEQPACKET socketpair) whose number is in
 * the environment variable IPK_HANDOFF ("fd:N"), sends the descriptors
 * with their names and the state in one message, and waits until the new
 * process says it is accepting. Only then does the offer succeed; the old
 * process stops accepting (closes its copies of the listeners), finishes
 * its in-flight connections and exits. Connections waiting in a listen
 * queue are never lost: both processes hold the same kernel socket.
 *
 * The new process calls ipk_handoff_take() at start-up, before it serves:
 * it receives and checks everything, or refuses (garbage, a missing
 * listener, a dead old process) so the program can exit instead of
 * serving with half its listeners. It then starts accepting and calls
 * ipk_handoff_ready(). If anything fails before that, the offer fails and
 * the old process simply keeps serving.
 *
 * The same server can be socket-activated: without IPK_HANDOFF,
 * ipk_handoff_take() takes the descriptors systemd passes (LISTEN_FDS,
 * LISTEN_PID, LISTEN_FDNAMES; see ipk_listen_fds()), so one code path
 * serves both ways.
 *
 * A hand-off can also go over a Unix socket path: the old process listens
 * with ipk_listen("unix+seqpacket:/path"), accepts the new one and calls
 * ipk_handoff_send() on ipk_chan_fd() of the accepted channel; the new
 * process is started with IPK_HANDOFF=unix+seqpacket:/path (or is given
 * that string as @from).
 */
#ifndef IPCKIT_HANDOFF_H
#define IPCKIT_HANDOFF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ipk_handoff ipk_handoff;

/* The environment variable that tells the new process where to look. */
#define IPK_HANDOFF_ENV "IPK_HANDOFF"
/* Limits of one hand-off: descriptors, bytes of a name (with its NUL),
 * bytes of state. */
#define IPK_HANDOFF_FDS_MAX 64
#define IPK_HANDOFF_NAME_MAX 64
#define IPK_HANDOFF_STATE_MAX ((size_t)65536)
/* The first descriptor socket activation passes (SD_LISTEN_FDS_START). */
#define IPK_LISTEN_FDS_START 3

/**
 * ipk_handoff_offer() - start @argv and hand it @fds, @names and @state
 * @argv: the new program and its arguments (argv[0] is a path, as for
 *        execv(2); "/proc/self/exe" starts a copy of this executable)
 * @fds: descriptors to hand over (they stay open here: close them once
 *       the offer succeeded), @n of them, 1..IPK_HANDOFF_FDS_MAX
 * @names: one name per descriptor (NUL-terminated, shorter than
 *         IPK_HANDOFF_NAME_MAX, printable, no ':'), or NULL for "fd0", "fd1"...
 * @state: up to IPK_HANDOFF_STATE_MAX bytes for the new process, or NULL
 * @timeout_ns: how long the new process may take to be ready
 * @ret_pid: the new process, written only on success
 *
 * The new process inherits the environment, with IPK_HANDOFF set and
 * LISTEN_PID/LISTEN_FDS/LISTEN_FDNAMES removed. It is a child of the
 * caller; reap it (or let the caller's exit hand it to init).
 *
 * Blocking: up to @timeout_ns (fork, exec, transfer, the ready reply).
 * Return: 0; -EINVAL; -EPIPE or -ECONNRESET if the new process exited or
 * refused (it is reaped then); -ETIMEDOUT (it is killed and reaped);
 * -EPROTO for a reply that is not "ready"; -errno from socketpair, fork.
 * Whatever fails, the caller's descriptors are untouched: keep serving.
 * Threads: safe; uses fork() and execve() only (no allocation in the child).
 */
IPK_API int ipk_handoff_offer(char *const argv[], const int *fds, const char *const *names,
			      unsigned n, const void *state, size_t state_len, int64_t timeout_ns,
			      pid_t *ret_pid);

/**
 * ipk_handoff_send() - hand over on a connected SOCK_SEQPACKET socket
 *
 * What ipk_handoff_offer() does after starting the process: send, then
 * wait for the ready reply. @sock stays the caller's.
 * Return, Blocking: as ipk_handoff_offer(), without the process part.
 */
IPK_API int ipk_handoff_send(int sock, const int *fds, const char *const *names, unsigned n,
			     const void *state, size_t state_len, int64_t timeout_ns);

/**
 * ipk_handoff_take() - receive the descriptors of the old process
 * @from: "fd:N" (an inherited hand-off socket), "unix+seqpacket:/path"
 *        (connect to the old process there), or NULL: the IPK_HANDOFF
 *        environment variable, and without it socket activation
 * @ret: the hand-off, written only on success
 *
 * Checks the whole message: its magic and version, that the number of
 * descriptors that came is the number announced, every name, the state's
 * length; and that the old process runs as this process's uid. Anything
 * wrong closes every descriptor that came and fails: start no server then.
 * Removes IPK_HANDOFF (and, when it used them, the LISTEN_* variables)
 * from the environment, so programs this one starts do not inherit them.
 *
 * Blocking: until the old process listens at the path (a path that is not
 * there yet is watched with inotify) and has sent, up to @timeout_ns.
 * Return: 0; -ENOENT if there is nothing to take (a fresh start); -EPROTO
 * for garbage, a short message or a count that does not match; -EPERM if
 * the old process runs as another uid; -EPIPE if it closed (or died)
 * before sending; -ETIMEDOUT; -ECONNREFUSED if, trying once, nobody
 * listens at the path; -ENOTSOCK if something other than a socket is
 * there; -EINVAL for a bad @from or a malformed LISTEN_FDS; -ENOMEM.
 * Threads: call it before starting threads (it changes the environment).
 */
IPK_API int ipk_handoff_take(const char *from, int64_t timeout_ns, ipk_handoff **ret);

/**
 * ipk_handoff_count() - how many descriptors came
 */
IPK_API unsigned ipk_handoff_count(const ipk_handoff *h);

/**
 * ipk_handoff_fd() - take descriptor @i (0-based) and learn its name
 * @name: if not NULL, set to the name (valid until ipk_handoff_free())
 *
 * The descriptor becomes the caller's (close-on-exec).
 * Return: the descriptor; -ENOENT past the end; -EBADF if already taken.
 */
IPK_API int ipk_handoff_fd(ipk_handoff *h, unsigned i, const char **name);

/**
 * ipk_handoff_find() - index of the descriptor called @name
 * Return: the index; -ENOENT.
 */
IPK_API int ipk_handoff_find(const ipk_handoff *h, const char *name);

/**
 * ipk_handoff_state() - the old process's state blob (NULL if none)
 * @len: set to its length
 */
IPK_API const void *ipk_handoff_state(const ipk_handoff *h, size_t *len);

/**
 * ipk_handoff_peer() - the old process's pid (0 under socket activation)
 */
IPK_API pid_t ipk_handoff_peer(const ipk_handoff *h);

/**
 * ipk_handoff_ready() - tell the old process this one is accepting now
 *
 * Call it once the listeners are in your event loop. The old process
 * stops accepting when it gets this. Under socket activation it does
 * nothing.
 * Return: 0; -EPIPE if the old process is gone (serve anyway: nobody
 * else accepts); -EAGAIN/-ETIMEDOUT.
 */
IPK_API int ipk_handoff_ready(ipk_handoff *h, int64_t timeout_ns);

/**
 * ipk_handoff_free() - close what was not taken; accepts NULL
 */
IPK_API void ipk_handoff_free(ipk_handoff *h);

/**
 * ipk_listen_fds() - descriptors passed by socket activation
 * @unset_env: remove LISTEN_PID, LISTEN_FDS and LISTEN_FDNAMES
 *
 * sd_listen_fds(3) semantics: when LISTEN_PID is this process's pid, the
 * LISTEN_FDS descriptors from IPK_LISTEN_FDS_START on are this process's;
 * they are made close-on-exec.
 * Return: their number (0 if none or not for this process); -EINVAL for
 * malformed variables; -errno from fcntl.
 * Threads: with @unset_env, call it before starting threads.
 */
IPK_API int ipk_listen_fds(bool unset_env);

#ifdef __cplusplus
}
#endif

#endif /* IPCKIT_HANDOFF_H */
