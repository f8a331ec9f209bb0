/* SPDX-License-Identifier: MIT */
/*
 * ipckit/fd.h - passing open descriptors between processes over a Unix
 * socket (SCM_RIGHTS), with the sender's credentials where the socket asks
 * for them (SCM_CREDENTIALS). The socket calls and struct ipk_cred are in
 * unix.h.
 */
#ifndef IPCKIT_FD_H
#define IPCKIT_FD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common.h"
#include "unix.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The kernel's limit of descriptors in one message (SCM_MAX_FD). */
#define IPK_FD_MAX 253

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

#ifdef __cplusplus
}
#endif

#endif /* IPCKIT_FD_H */
