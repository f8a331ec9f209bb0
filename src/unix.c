/* SPDX-License-Identifier: MIT */
/*
 * unix.c - descriptor passing, peer credentials, listener access policies
 * and socket directories (unix.h). The unix: transport itself is in
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

/* Room for IPK_FD_MAX descriptors and one SCM_CREDENTIALS. */
#define CTL_SPACE (CMSG_SPACE(sizeof(int) * IPK_FD_MAX) + CMSG_SPACE(sizeof(struct ucred)))

struct ipk__access {
	struct ipk_access a; /* its lists point into @ids */
	unsigned long refused;
	struct ipk_cred last; /* the last refused peer */
	uid_t ids[];          /* n_uids uids, then n_gids gids */
};

IPK_API int ipk_fd_send(int sock, const void *buf, size_t len, const int *fds, unsigned nfds,
			int64_t timeout_ns)
{
	union {
		char buf[CMSG_SPACE(sizeof(int) * IPK_FD_MAX)];
		struct cmsghdr align;
	} u;
	int64_t deadline;
	const char *p = buf;
	bool fds_sent = nfds == 0;

	if (nfds > IPK_FD_MAX)
		return -ETOOMANYREFS; /* the kernel would say EINVAL, after work */
	IPK_CHECK_ARG(sock >= 0 && (buf || len == 0) && (fds || nfds == 0));
	if (len == 0 && nfds > 0)
		return -EINVAL; /* descriptors ride on a byte */
	deadline = ipk__deadline(timeout_ns);
	do {
		struct iovec iov = { (void *)p, len };
		struct msghdr mh;
		ssize_t n;
		int r;

		memset(&mh, 0, sizeof(mh));
		mh.msg_iov = &iov;
		mh.msg_iovlen = 1;
		if (!fds_sent) {
			struct cmsghdr *c;

			memset(&u, 0, sizeof(u));
			mh.msg_control = u.buf;
			mh.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
			c = CMSG_FIRSTHDR(&mh);
			c->cmsg_level = SOL_SOCKET;
			c->cmsg_type = SCM_RIGHTS;
			c->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
			memcpy(CMSG_DATA(c), fds, sizeof(int) * nfds);
		}
		n = sendmsg(sock, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n > 0) {
			fds_sent = true;
			p += n;
			len -= (size_t)n;
			continue;
		}
		if (n == 0 && len > 0)
			return -EIO;
		if (n == 0)
			break; /* an empty datagram went out */
		r = ipk__retry_wait(sock, POLLOUT, deadline);
		if (r < 0)
			return r;
	} while (len > 0);
	return 0;
}

/* Close every descriptor in @mh's SCM_RIGHTS. */
static void close_rights(struct msghdr *mh)
{
	struct cmsghdr *c;

	for (c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c)) {
		size_t i, n;

		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (i = 0; i < n; i++) {
			int fd;

			memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
			ipk__close(fd);
		}
	}
}

/*
 * The control buffer always has room for IPK_FD_MAX descriptors, so the
 * kernel installs all a peer can send and we count them against the cap
 * ourselves: MSG_CTRUNC then means the kernel could not install them, i.e.
 * this process hit its descriptor limit (the kernel reports no errno).
 */
static int take_control(struct msghdr *mh, struct ipk_fdmsg *tmp, unsigned cap)
{
	struct cmsghdr *c;

	if (mh->msg_flags & MSG_CTRUNC) {
		close_rights(mh);
		return -EMFILE;
	}
	for (c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c)) {
		if (c->cmsg_level != SOL_SOCKET)
			continue;
		if (c->cmsg_type == SCM_CREDENTIALS &&
		    c->cmsg_len == CMSG_LEN(sizeof(struct ucred))) {
			struct ucred uc;

			memcpy(&uc, CMSG_DATA(c), sizeof(uc));
			tmp->has_cred = true;
			tmp->cred.pid = uc.pid;
			tmp->cred.uid = uc.uid;
			tmp->cred.gid = uc.gid;
		} else if (c->cmsg_type == SCM_RIGHTS) {
			size_t n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);

			if (tmp->nfds > 0 || n > cap) {
				close_rights(mh);
				return cap == 0 ? -EBADMSG : -ETOOMANYREFS;
			}
			memcpy(tmp->fds, CMSG_DATA(c), n * sizeof(int));
			tmp->nfds = (unsigned)n;
		}
	}
	return 0;
}

IPK_API ssize_t ipk_fd_recv(int sock, void *buf, size_t len, struct ipk_fdmsg *m,
			    int64_t timeout_ns)
{
	union {
		char buf[CTL_SPACE];
		struct cmsghdr align;
	} u;
	int fds[IPK_FD_MAX];
	struct ipk_fdmsg tmp = { .fds = fds };
	unsigned cap = m ? m->max_fds : 0;
	int64_t deadline;
	size_t got = 0;
	bool stream;
	int type, r;
	socklen_t tl = sizeof(type);

	IPK_CHECK_ARG(sock >= 0 && (buf || len == 0));
	IPK_CHECK_ARG(!m || m->max_fds <= IPK_FD_MAX);
	IPK_CHECK_ARG(!m || m->fds || m->max_fds == 0);
	if (getsockopt(sock, SOL_SOCKET, SO_TYPE, &type, &tl) < 0)
		return ipk__neg_errno();
	stream = type == SOCK_STREAM;
	deadline = ipk__deadline(timeout_ns);
	do {
		struct iovec iov = { (char *)buf + got, len - got };
		struct msghdr mh;
		ssize_t n;

		memset(&mh, 0, sizeof(mh));
		mh.msg_iov = &iov;
		mh.msg_iovlen = 1;
		mh.msg_control = u.buf;
		mh.msg_controllen = sizeof(u.buf);
		n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
		if (n < 0) {
			r = ipk__retry_wait(sock, POLLIN, deadline);
			if (r < 0)
				goto fail;
			continue;
		}
		r = take_control(&mh, &tmp, cap);
		if (r < 0)
			goto fail;
		if (!stream) {
			if (mh.msg_flags & MSG_TRUNC) {
				r = -EMSGSIZE;
				goto fail;
			}
			got = (size_t)n;
			break;
		}
		if (n == 0) {
			r = got == 0 ? -EPIPE : -EPROTO;
			goto fail;
		}
		got += (size_t)n;
	} while (got < len);
	if (m) {
		if (tmp.nfds)
			memcpy(m->fds, fds, tmp.nfds * sizeof(int));
		m->nfds = tmp.nfds;
		m->has_cred = tmp.has_cred;
		m->cred = tmp.cred;
	}
	return (ssize_t)got;

fail:
	for (unsigned i = 0; i < tmp.nfds; i++)
		ipk__close(fds[i]);
	return r;
}

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
