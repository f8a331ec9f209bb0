/* SPDX-License-Identifier: MIT */
/*
 * sockets.h - the socket mechanism's calls for the layers above it:
 * connect and accept with a deadline, Unix addresses and socket files
 * (sockconn.c), and a Unix listener's peer access policy (unix.c). Nothing
 * here knows channels: the transports and handoff.c build on it.
 */
#ifndef IPK_SOCKETS_H
#define IPK_SOCKETS_H

#include <ipckit/unix.h>

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
