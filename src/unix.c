/* SPDX-License-Identifier: MIT */
/*
 * unix.c - peer credentials, listener access policies and socket
 * directories (unix.h); descriptor passing is fd.c. The unix: transport itself is in
 * transport/unix.c; it keeps each listener's policy (sockets.h) and calls
 * ipk__access_check() on every accepted peer.
 */
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <ipckit/unix.h>

#include "internal.h"
#include "sockets.h"

#ifndef SO_PEERPIDFD
#define SO_PEERPIDFD 77
#endif

struct ipk__access {
	struct ipk_access a; /* its lists point into @ids */
	unsigned long refused;
	struct ipk_cred last; /* the last refused peer */
	uid_t ids[];          /* n_uids uids, then n_gids gids */
};

IPK_API int ipk_peer_cred(int sock, struct ipk_cred *ret)
{
	struct ucred uc;
	socklen_t len = sizeof(uc);

	IPK_CHECK_ARG(sock >= 0 && ret);
	if (getsockopt(sock, SOL_SOCKET, SO_PEERCRED, &uc, &len) < 0)
		return ipk__neg_errno();
	ret->pid = uc.pid;
	ret->uid = uc.uid;
	ret->gid = uc.gid;
	return 0;
}

IPK_API int ipk_peer_pidfd(int sock)
{
	int fd = -1;
	socklen_t len = sizeof(fd);

	IPK_CHECK_ARG(sock >= 0);
	if (getsockopt(sock, SOL_SOCKET, SO_PEERPIDFD, &fd, &len) < 0)
		return errno == ENOPROTOOPT ? -EOPNOTSUPP : ipk__neg_errno();
	return fd; /* the kernel makes it O_CLOEXEC */
}

IPK_API int ipk_sock_passcred(int sock, bool on)
{
	int v = on;

	IPK_CHECK_ARG(sock >= 0);
	if (setsockopt(sock, SOL_SOCKET, SO_PASSCRED, &v, sizeof(v)) < 0)
		return ipk__neg_errno();
	return 0;
}

IPK_API int ipk_sock_dir(const char *path, mode_t mode)
{
	struct stat st;
	int fd, r = 0;

	IPK_CHECK_ARG(path && !(mode & ~(mode_t)07777));
	if (mode == 0)
		mode = 0700;
	if (mkdir(path, 0700) < 0 && errno != EEXIST)
		return ipk__neg_errno();
	/* O_NOFOLLOW|O_DIRECTORY: a link planted at the path is refused,
	 * and the mode is then set on what we checked, not on a path. */
	fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ELOOP ||
		    (errno == ENOTDIR && lstat(path, &st) == 0 && S_ISLNK(st.st_mode)))
			return -ELOOP;
		return ipk__neg_errno();
	}
	if (fstat(fd, &st) < 0)
		r = ipk__neg_errno();
	else if (st.st_uid != geteuid())
		r = -EPERM;
	else if (fchmod(fd, mode) < 0)
		r = ipk__neg_errno();
	ipk__close(fd);
	return r;
}

int ipk__access_new(const struct ipk_access *a, const struct ipk__access *old,
		    struct ipk__access **ret)
{
	struct ipk__access *n = NULL;
	size_t nu, ng;

	if (a) {
		nu = a->n_uids;
		ng = a->n_gids;
		if (nu > 65536 || ng > 65536)
			return -EINVAL;
		n = calloc(1, sizeof(*n) + (nu + ng) * sizeof(uid_t));
		if (!n)
			return -ENOMEM;
		n->a = *a;
		if (nu)
			memcpy(n->ids, a->uids, nu * sizeof(uid_t));
		if (ng)
			memcpy(n->ids + nu, a->gids, ng * sizeof(gid_t));
		n->a.uids = n->ids;
		n->a.gids = (const gid_t *)(n->ids + nu);
		if (old) {
			n->refused = old->refused;
			n->last = old->last;
		}
	}
	*ret = n;
	return 0;
}

unsigned long ipk__access_refused(const struct ipk__access *a, struct ipk_cred *ret)
{
	if (!a || !a->refused)
		return 0;
	if (ret)
		*ret = a->last;
	return a->refused;
}

static bool in_list(const uid_t *ids, size_t n, uid_t id)
{
	for (size_t i = 0; i < n; i++)
		if (ids[i] == id)
			return true;
	return false;
}

/* Is one of the peer's supplementary groups listed? SO_PEERGROUPS (4.13). */
static bool groups_match(int fd, const struct ipk_access *a)
{
	gid_t groups[256];
	socklen_t len = sizeof(groups);

	if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &len) < 0)
		return false; /* cannot tell: not allowed */
	for (size_t i = 0; i < len / sizeof(gid_t); i++)
		if (in_list(a->gids, a->n_gids, groups[i]))
			return true;
	return false;
}

void ipk__access_free(struct ipk__access *a)
{
	free(a);
}

int ipk__access_check(struct ipk__access *pol, int fd)
{
	const struct ipk_access *a;
	struct ipk_cred c;
	bool ok;
	int r;

	if (!pol)
		return 0;
	a = &pol->a;
	r = ipk_peer_cred(fd, &c);
	if (r < 0)
		return r;
	ok = !a->n_uids && !a->n_gids;
	if (!ok)
		ok = in_list(a->uids, a->n_uids, c.uid);
	if (!ok && a->n_gids)
		ok = in_list(a->gids, a->n_gids, c.gid) || groups_match(fd, a);
	if (ok && a->check)
		ok = a->check(&c, a->arg);
	if (ok)
		return 0;
	pol->refused++;
	pol->last = c;
	return -EACCES;
}
