/* SPDX-License-Identifier: MIT */
/*
 * io.c - the library's one place for deadlines, waiting on descriptors,
 * EINTR and partial writes. Modules never write their own loops.
 */
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "internal.h"

int64_t ipk__now_ns(void)
{
	struct timespec ts;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * IPK_SEC + ts.tv_nsec;
}

int64_t ipk__deadline(int64_t timeout_ns)
{
	int64_t now;

	if (timeout_ns < 0)
		return IPK__NEVER;
	if (timeout_ns == 0)
		return IPK__NOWAIT;
	now = ipk__now_ns();
	return timeout_ns > IPK__NEVER - now ? IPK__NEVER : now + timeout_ns;
}

/* Time left until @deadline_ns; false once it has passed. */
static bool time_left(int64_t deadline_ns, struct timespec *ts)
{
	int64_t left = deadline_ns - ipk__now_ns();

	if (left <= 0)
		return false;
	ts->tv_sec = left / IPK_SEC;
	ts->tv_nsec = left % IPK_SEC;
	return true;
}

int ipk__wait_fd(int fd, short events, int64_t deadline_ns)
{
	struct pollfd pfd = { .fd = fd, .events = events };
	struct timespec ts;

	if (deadline_ns == IPK__NOWAIT)
		return -EAGAIN;
	for (;;) {
		int n;

		if (deadline_ns == IPK__NEVER) {
			n = ppoll(&pfd, 1, NULL, NULL);
		} else {
			if (!time_left(deadline_ns, &ts))
				return -ETIMEDOUT;
			n = ppoll(&pfd, 1, &ts, NULL);
		}
		if (n > 0)
			return pfd.revents;
		if (n < 0 && errno != EINTR)
			return ipk__neg_errno();
		/* n == 0: the deadline passed; EINTR: go round, deadline fixed */
	}
}

int ipk__retry_wait(int fd, short events, int64_t deadline_ns)
{
	int r;

	if (errno == EINTR)
		return 0;
	if (errno != EAGAIN)
		return ipk__neg_errno();
	r = ipk__wait_fd(fd, events, deadline_ns);
	return r < 0 ? r : 0;
}

int ipk__sleep_until(int64_t deadline_ns, int64_t step_ns)
{
	struct timespec ts;
	int64_t wake;

	if (deadline_ns == IPK__NOWAIT)
		return -EAGAIN;
	wake = ipk__now_ns() + step_ns;
	if (deadline_ns != IPK__NEVER) {
		if (deadline_ns <= ipk__now_ns())
			return -ETIMEDOUT;
		if (wake > deadline_ns)
			wake = deadline_ns;
	}
	ts.tv_sec = wake / IPK_SEC;
	ts.tv_nsec = wake % IPK_SEC;
	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
		;
	return 0;
}

/*
 * A pipe whose reader is gone raises SIGPIPE in the writing thread. Block
 * it for the one write, and if the write failed with EPIPE, take the
 * signal it raised off this thread's pending set before unblocking, so the
 * caller sees -EPIPE and nothing else. A caller that blocks SIGPIPE itself
 * keeps full control of it.
 */
static ssize_t pipe_writev(int fd, const struct iovec *iov, int iovcnt)
{
	static const struct timespec zero;
	sigset_t sigpipe, old;
	ssize_t n;
	int err;

	sigemptyset(&sigpipe);
	sigaddset(&sigpipe, SIGPIPE);
	(void)pthread_sigmask(SIG_BLOCK, &sigpipe, &old);
	n = writev(fd, iov, iovcnt);
	err = errno;
	if (!sigismember(&old, SIGPIPE)) {
		if (n < 0 && err == EPIPE)
			while (sigtimedwait(&sigpipe, NULL, &zero) < 0 && errno == EINTR)
				;
		(void)pthread_sigmask(SIG_SETMASK, &old, NULL);
	}
	errno = err;
	return n;
}

ssize_t ipk__writev_some(int fd, bool is_socket, struct iovec *iov, int iovcnt)
{
	for (;;) {
		ssize_t n;

		if (is_socket) {
			struct msghdr mh = { .msg_iov = iov, .msg_iovlen = (size_t)iovcnt };

			n = sendmsg(fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
		} else {
			n = pipe_writev(fd, iov, iovcnt);
		}
		if (n > 0)
			return n;
		if (n == 0)
			return -EIO; /* no progress and no error: never spin */
		if (errno == EINTR)
			continue;
		if (errno == EWOULDBLOCK)
			return -EAGAIN;
		return ipk__neg_errno();
	}
}

struct iovec *ipk__iov_advance(struct iovec *iov, int *iovcnt, size_t n)
{
	while (*iovcnt > 0 && n >= iov->iov_len) {
		n -= iov->iov_len;
		iov++;
		(*iovcnt)--;
	}
	if (*iovcnt > 0) {
		iov->iov_base = (char *)iov->iov_base + n;
		iov->iov_len -= n;
	}
	return iov;
}

ssize_t ipk__iov_len(const struct iovec *iov, int iovcnt)
{
	size_t total = 0;

	if (iovcnt < 0 || iovcnt > IOV_MAX || (iovcnt > 0 && !iov))
		return -EINVAL;
	for (int i = 0; i < iovcnt; i++) {
		if (iov[i].iov_len > (size_t)SSIZE_MAX - total)
			return -EMSGSIZE;
		total += iov[i].iov_len;
	}
	return (ssize_t)total;
}

int ipk__parse_u64(const char *s, size_t n, int base, uint64_t *ret)
{
	uint64_t v = 0;

	if (n == 0)
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		char ch = s[i];
		unsigned d = ch >= 'a' && ch <= 'f'   ? (unsigned)(ch - 'a' + 10)
			     : ch >= 'A' && ch <= 'F' ? (unsigned)(ch - 'A' + 10)
						      : (unsigned)(ch - '0');

		if (d >= (unsigned)base)
			return -EINVAL;
		if (v > (UINT64_MAX - d) / (uint64_t)base)
			return -EINVAL;
		v = v * (uint64_t)base + d;
	}
	*ret = v;
	return 0;
}

int ipk__fd_nonblock_cloexec(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
		return ipk__neg_errno();
	if (fcntl(fd, F_SETFD, FD_CLOEXEC) < 0)
		return ipk__neg_errno();
	return 0;
}

void ipk__close(int fd)
{
	int saved = errno;

	if (fd >= 0)
		(void)close(fd); /* never retried: the fd is gone either way */
	errno = saved;
}

int ipk__ownfile_note(struct ipk__ownfile *f, const char *path)
{
	struct stat st;
	size_t n = strlen(path);

	if (n >= sizeof(f->path))
		return -ENAMETOOLONG;
	if (lstat(path, &st) < 0)
		return ipk__neg_errno();
	memcpy(f->path, path, n + 1);
	f->dev = st.st_dev;
	f->ino = st.st_ino;
	f->created = true;
	return 0;
}

void ipk__ownfile_remove(struct ipk__ownfile *f)
{
	struct stat st;

	if (!f->created)
		return;
	f->created = false;
	if (lstat(f->path, &st) == 0 && st.st_dev == f->dev && st.st_ino == f->ino)
		(void)unlink(f->path);
}

int ipk__read_record(int fd, void *buf, size_t len, int64_t deadline_ns)
{
	for (;;) {
		ssize_t n = read(fd, buf, len);
		int r;

		if (n == (ssize_t)len)
			return 0;
		if (n >= 0)
			return -EIO;
		r = ipk__retry_wait(fd, POLLIN, deadline_ns);
		if (r < 0)
			return r;
	}
}

void ipk__iov_gather(void *dst, const struct iovec *iov, int iovcnt)
{
	char *p = dst;

	for (int i = 0; i < iovcnt; i++) {
		if (iov[i].iov_len)
			memcpy(p, iov[i].iov_base, iov[i].iov_len);
		p += iov[i].iov_len;
	}
}

ssize_t ipk__read_eintr(int fd, void *buf, size_t len)
{
	ssize_t n;

	while ((n = read(fd, buf, len)) < 0 && errno == EINTR)
		;
	return n < 0 ? ipk__neg_errno() : n;
}

ssize_t ipk__write_eintr(int fd, const void *buf, size_t len)
{
	ssize_t n;

	while ((n = write(fd, buf, len)) < 0 && errno == EINTR)
		;
	return n < 0 ? ipk__neg_errno() : n;
}

int ipk__waitpid_eintr(pid_t pid, int *status)
{
	while (waitpid(pid, status, 0) < 0)
		if (errno != EINTR)
			return ipk__neg_errno();
	return 0;
}
