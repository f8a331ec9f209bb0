/* SPDX-License-Identifier: MIT */
/*
 * sock.h - socket plumbing shared by the unix and tcp transports: Unix
 * addresses and socket files, and "listen, accept one, stop listening" for
 * channels opened with IPK_CHAN_CREATE. Connect and accept with a deadline
 * are the socket mechanism's (sockets.h).
 */
#ifndef IPK_SOCK_H
#define IPK_SOCK_H

#include <stdbool.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "sockets.h"
#include "transport.h"

/* The sockaddr for a unix* URL; -ENAMETOOLONG if it does not fit. */
int ipk__unix_addr(const struct ipk_url *u, struct sockaddr_un *sa, socklen_t *len);

/*
 * ipk__unix_bind() - bind @fd to the URL's path or abstract name
 *
 * Replaces a stale socket file (nobody accepts on it) of our own, never
 * another user's (-EPERM), never a live one (-EADDRINUSE), never follows a
 * symbolic link (-ELOOP), never touches another kind of file (-EEXIST);
 * with IPK_CHAN_EXCL any existing file is -EEXIST. Sets the perm= option
 * (default 0600) and records the file in @f.
 */
int ipk__unix_bind(int fd, int type, const struct ipk_url *u, unsigned flags,
		   struct ipk__ownfile *f);

/* Listen through ch->tp, accept one peer into @ch, stop listening. */
int ipk__sock_accept_one(struct ipk_chan *ch, const struct ipk_url *url, int64_t deadline_ns);

/* Append to the first @n bytes of l->url the options a peer must share
 * (msgsize=), so ipk_listener_url() is ready to connect with. */
void ipk__listener_url_opts(struct ipk_listener *l, int n, const struct ipk_url *url);

#endif /* IPK_SOCK_H */
