/* SPDX-License-Identifier: MIT */
/*
 * fd.c - descriptors (and the sender's credentials) passed with a message
 * over a Unix socket (fd.h): SCM_RIGHTS and SCM_CREDENTIALS, with every
 * received descriptor closed on any failure.
 */
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>

#include <ipckit/fd.h>

#include "internal.h"

/* Room for IPK_FD_MAX descriptors and one SCM_CREDENTIALS. */
#define CTL_SPACE (CMSG_SPACE(sizeof(int) * IPK_FD_MAX) + CMSG_SPACE(sizeof(struct ucred)))

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
