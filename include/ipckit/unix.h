/* SPDX-License-Identifier: MIT */
/*
 * ipckit/unix.h - what only Unix domain sockets can do: tell who the peer
 * is (SO_PEERCRED, SO_PEERPIDFD, SCM_CREDENTIALS), refuse peers a listener
 * does not allow, make the directory a socket file lives in, and pass
 * descriptors (SCM_RIGHTS: ipk_fd_*, in fd.h, which this header includes).
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

/* A process as the kernel saw it when it connected or sent. */
struct ipk_cred {
	pid_t pid;
	uid_t uid;
	gid_t gid;
};

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

#include "fd.h" /* ipk_fd_send(), ipk_fd_recv() */

#endif /* IPCKIT_UNIX_H */
