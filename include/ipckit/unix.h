/* SPDX-License-Identifier: MIT */
/*
 * ipckit/unix.h - what only Unix domain sockets can do: pass descriptors
 * (SCM_RIGHTS), tell who the peer is (SO_PEERCRED, SO_PEERPIDFD,
 * SCM_CREDENTIALS), refuse peers a listener does not allow, and make the
 * directory a socket file lives in.
 *
 * The calls take a connected Unix socket descriptor: one from socket(2) or
 * socketpair(2), or ipk_chan_fd() of a unix+seqpacket: or unix+dgram:
 * channel that has no receive of its own in progress. (On a framed unix:
 * stream channel the library reads ahead, so pass descriptors on a socket
 * of your own there.)
 *
 * Permissions: a socket file takes the perm= of its URL (default 0600),
 * set on the socket before bind(), so the file never exists with wider
 * rights, and the umask never narrows it; a symbolic link at the path is
 * never followed (-ELOOP). Abstract sockets (unix:@name) have no file and
 * therefore no permissions at all: anyone in the same network namespace
 * may connect, so only a credential check (ipk_listener_set_access())
 * protects them. They are used only when the URL says '@'.
 */
#ifndef IPCKIT_UNIX_H
#define IPCKIT_UNIX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "chan.h"
#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The kernel's limit of descriptors in one message (SCM_MAX_FD). */
#define IPK_FD_MAX 253

/* A process as the kernel saw it when it connected or sent. */
struct ipk_cred {
	pid_t pid;
	uid_t uid;
	gid_t gid;
};

/* What ipk_fd_recv() received besides the payload. */
struct ipk_fdmsg {
	int *fds;         /* in: room for @max_fds descriptors */
	unsigned max_fds; /* in: the most this message may carry (<= IPK_FD_MAX) */
	unsigned nfds;    /* out: descriptors received (close-on-exec) */
	bool has_cred;    /* out: @cred is set (the socket has SO_PASSCRED) */
	struct ipk_cred cred;
};

/**
 * ipk_fd_send() - send @len bytes with @nfds descriptors in one message
 * @sock: a connected Unix socket
 * @fds: the descriptors (stay open and owned by the caller), or NULL if @nfds is 0
 *
 * The descriptors travel with the first byte. On a stream socket a short
 * first sendmsg() is finished with plain sends; on a datagram or seqpacket
 * socket the message goes whole or not at all.
 *
 * Blocking: while the socket buffer is full, up to @timeout_ns.
 * Return: 0; -ETOOMANYREFS if @nfds > IPK_FD_MAX (refused before sending);
 * -EINVAL (@len 0, which a stream cannot carry with descriptors); -EBADF
 * (a descriptor is not open); -EAGAIN or -ETIMEDOUT (nothing sent, except
 * on a stream socket whose deadline struck mid-message: the stream is then
 * out of step, close it); -EPIPE if the peer went away; other -errno.
 * Threads: one sender per socket at a time.
 */
IPK_API int ipk_fd_send(int sock, const void *buf, size_t len, const int *fds, unsigned nfds,
			int64_t timeout_ns);

/**
 * ipk_fd_recv() - receive one message and the descriptors that came with it
 * @sock: a connected Unix socket
 * @buf: room for @len bytes; on a stream socket exactly @len bytes are
 *       read (a fixed-size header); a datagram or seqpacket message may be
 *       shorter, and one longer than @len is -EMSGSIZE
 * @m: the descriptor array and its cap in, what came out; NULL when no
 *     descriptors are expected
 *
 * Received descriptors are close-on-exec (MSG_CMSG_CLOEXEC). Whenever the
 * call fails, every descriptor that did arrive is closed: none leaks.
 *
 * Blocking: until the message is there, up to @timeout_ns.
 * Return: the payload's length; -ETOOMANYREFS if the peer sent more
 * descriptors than @m->max_fds; -EBADMSG if descriptors came although @m
 * is NULL or max_fds 0 (the socket did not expect them); -EMFILE if this
 * process ran out of descriptors while the kernel installed them (the
 * limit is RLIMIT_NOFILE, `ulimit -n`); -EMSGSIZE; -EPIPE (peer closed
 * before a byte came); -EPROTO (the peer closed mid-message);
 * -EAGAIN or -ETIMEDOUT; other -errno. @m is written only on success.
 * Threads: one receiver per socket at a time.
 */
IPK_API ssize_t ipk_fd_recv(int sock, void *buf, size_t len, struct ipk_fdmsg *m,
			    int64_t timeout_ns);

/**
 * ipk_peer_cred() - who is at the other end of a connected Unix socket
 *
 * The pid, uid and gid the peer had when it connected (SO_PEERCRED).
 * Return: 0; -ENOTCONN; -ENOTSOCK; -EINVAL (not a Unix socket).
 * Threads: safe.
 */
IPK_API int ipk_peer_cred(int sock, struct ipk_cred *ret);

/**
 * ipk_peer_pidfd() - a pidfd for the peer of a connected Unix socket
 *
 * SO_PEERPIDFD (Linux 6.5): unlike a pid, the pidfd cannot be recycled
 * to name another process. Poll it (ipk_pidwatch) to learn the peer died.
 * Return: a new close-on-exec descriptor; -EOPNOTSUPP where the kernel
 * lacks SO_PEERPIDFD; -ESRCH if the peer is gone; other -errno.
 * Threads: safe.
 */
IPK_API int ipk_peer_pidfd(int sock);

/**
 * ipk_sock_passcred() - ask for the sender's credentials on each message
 *
 * With @on, every message ipk_fd_recv() takes carries the sender's pid,
 * uid and gid (SCM_CREDENTIALS), checked by the kernel.
 * Return: 0; -errno. Threads: safe.
 */
IPK_API int ipk_sock_passcred(int sock, bool on);

/**
 * ipk_sock_dir() - make the directory a server's socket files live in
 * @mode: its permissions; 0 means 0700
 *
 * Creates @path (its parent must exist) with exactly @mode, whatever the
 * umask. An existing directory is accepted only if it is a real directory
 * (not a symbolic link) owned by this process's effective uid; its mode is
 * then set to @mode. The directory's mode and owner decide who may reach
 * the sockets inside: connecting needs search (x) permission on it.
 * Return: 0; -ELOOP (a symbolic link at @path); -ENOTDIR (another kind of
 * file); -EPERM (owned by someone else); -errno from mkdir(2).
 * Threads: safe.
 */
IPK_API int ipk_sock_dir(const char *path, mode_t mode);

/* A listener's access policy: a peer passes if its uid is in @uids, or
 * its gid or one of its supplementary groups is in @gids, and then, if
 * @check is set, if @check returns true. Empty lists with no @check allow
 * everyone. */
struct ipk_access {
	const uid_t *uids;
	size_t n_uids;
	const gid_t *gids;
	size_t n_gids;
	bool (*check)(const struct ipk_cred *peer, void *arg);
	void *arg;
};

/**
 * ipk_listener_set_access() - refuse peers that @a does not allow
 * @a: the policy (copied), or NULL to allow everyone again
 *
 * ipk_accept() then checks each peer's credentials (SO_PEERCRED and, for
 * groups, SO_PEERGROUPS) right after accept(2), before anything the peer
 * sent is read: a refused peer is disconnected and ipk_accept() returns
 * -EACCES; ipk_listener_refused() tells who it was. The check runs on
 * the accepting thread.
 * Return: 0; -EOPNOTSUPP for a listener that is not a Unix socket (tcp:
 * peers have no credentials); -ENOMEM. Threads: not with ipk_accept().
 */
IPK_API int ipk_listener_set_access(ipk_listener *l, const struct ipk_access *a);

/**
 * ipk_listener_refused() - the peer ipk_accept() last refused
 *
 * Return: the number of peers refused so far (0: none, and @ret is not
 * written). Threads: the accepting thread.
 */
IPK_API unsigned long ipk_listener_refused(const ipk_listener *l, struct ipk_cred *ret);

#ifdef __cplusplus
}
#endif

#endif /* IPCKIT_UNIX_H */
