/* SPDX-License-Identifier: MIT */
/*
 * sockets.h - the socket mechanism's calls for the layers above it:
 * connect and accept with a deadline (sockconn.c), and a Unix listener's
 * peer access policy (unix.c). Nothing here knows channels: the unix and
 * tcp transports and handoff.c build on it.
 */
#ifndef IPK_SOCKETS_H
#define IPK_SOCKETS_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include <ipckit/unix.h>

/*
 * ipk__sock_connect() - a new non-blocking socket connected to @sa
 * @autobind: bind a Unix socket to a kernel-chosen abstract name first, so
 *            a datagram server can answer it
 *
 * A server that is not there yet (ENOENT, ECONNREFUSED, a full backlog) is
 * retried until @deadline_ns; with IPK__NOWAIT its error is returned as is.
 * A missing socket file is waited for with inotify (ipk__namewait()), not
 * by polling.
 */
int ipk__sock_connect(int domain, int type, const struct sockaddr *sa, socklen_t len, bool autobind,
		      int64_t deadline_ns, int *ret_fd);

/* accept4() with CLOEXEC|NONBLOCK until @deadline_ns. */
int ipk__sock_accept(int lfd, int64_t deadline_ns, int *ret_fd);

/* A copy of the policy @a (NULL: everyone, *ret = NULL) that keeps the
 * refusal count of @old (may be NULL). Return: 0; -EINVAL; -ENOMEM. */
struct ipk__access;
int ipk__access_new(const struct ipk_access *a, const struct ipk__access *old,
		    struct ipk__access **ret);

/* Free @a (NULL too). */
void ipk__access_free(struct ipk__access *a);

/* 0 if @fd's peer may stay (or @a is NULL); -EACCES if it was refused
 * (counted; the caller closes @fd before reading from it); -errno. */
int ipk__access_check(struct ipk__access *a, int fd);

/* Peers refused so far, and the last of them in *@ret (ipk_listener_refused()). */
unsigned long ipk__access_refused(const struct ipk__access *a, struct ipk_cred *ret);

#endif /* IPK_SOCKETS_H */
