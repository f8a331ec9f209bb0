/* SPDX-License-Identifier: MIT */
/*
 * flock.c - advisory file locks: flock(2), fcntl(2) record locks and
 * open-file-description (OFD) locks behind one handle.
 *
 * The kernel owns all the state: a lock belongs to an open file
 * description (flock, OFD) or to a process (POSIX), and goes away when its
 * owner does - which is why a killed holder never leaves a file locked.
 * This file only picks the call, turns "busy" into -EAGAIN, and adds
 * timeouts, which none of the three calls has: a finite timeout polls the
 * non-blocking form with a growing pause, an infinite one blocks in the
 * kernel (where POSIX locks also get deadlock detection).
 *
 * What it leaves to others: what the lock protects, and the lock file's
 * lifetime (never removed here).
 */
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/file.h>
#include <sys/stat.h>

#include <ipckit/flock.h>

#include "internal.h"

#define POLL_FIRST_NS (50 * IPK_USEC) /* first pause of a timed wait */
#define POLL_MAX_NS (5 * IPK_MSEC)    /* longest pause between attempts */

struct ipk_flock {
	enum ipk_flock_kind kind;
	int fd;
};

IPK_API int ipk_flock_open(const char *path, enum ipk_flock_kind kind, mode_t mode, unsigned flags,
			   ipk_flock **ret)
{
	int oflags, r;
	ipk_flock *l;

	IPK_CHECK_ARG(path && path[0] && ret);
	IPK_CHECK_ARG(kind >= IPK_FLOCK_FLOCK && kind <= IPK_FLOCK_OFD);
	IPK_CHECK_ARG((flags & ~(unsigned)(IPK_FLOCK_CREATE | IPK_FLOCK_RDONLY)) == 0);
	IPK_CHECK_ARG((mode & ~(mode_t)07777) == 0);
	if (mode == 0)
		mode = 0600;
	oflags = O_CLOEXEC | O_NOCTTY | ((flags & IPK_FLOCK_RDONLY) ? O_RDONLY : O_RDWR);

	l = calloc(1, sizeof(*l));
	if (!l)
		return -ENOMEM;
	l->kind = kind;
	l->fd = -1;
	if (flags & IPK_FLOCK_CREATE) {
		/* O_EXCL first: only a file we made gets @mode, exactly. */
		l->fd = open(path, oflags | O_CREAT | O_EXCL, mode);
		if (l->fd >= 0 && fchmod(l->fd, mode) < 0)
			goto fail_errno;
		if (l->fd < 0 && errno != EEXIST)
			goto fail_errno;
	}
	if (l->fd < 0)
		l->fd = open(path, oflags);
	if (l->fd < 0)
		goto fail_errno;
	*ret = l;
	return 0;

fail_errno:
	r = ipk__neg_errno();
	ipk_flock_free(l);
	return r;
}

static int range_ok(const ipk_flock *l, off_t start, off_t len)
{
	if (l->kind == IPK_FLOCK_FLOCK)
		return start == 0 && len == 0;
	return start >= 0 && len >= 0;
}

/*
 * One attempt (@wait false) or one blocking call (@wait true) to set @how
 * (F_RDLCK, F_WRLCK, F_UNLCK) on the range.
 * Return: 0; -EAGAIN if busy; other -errno (EINTR included: callers retry).
 */
static int set_lock(ipk_flock *l, short how, off_t start, off_t len, bool wait)
{
	struct flock fl = {
		.l_type = how,
		.l_whence = SEEK_SET,
		.l_start = start,
		.l_len = len,
		.l_pid = 0, /* OFD locks require 0 */
	};
	int r, cmd;

	if (l->kind == IPK_FLOCK_FLOCK) {
		int op = how == F_UNLCK ? LOCK_UN : how == F_RDLCK ? LOCK_SH : LOCK_EX;

		r = flock(l->fd, op | (wait ? 0 : LOCK_NB));
	} else {
		if (l->kind == IPK_FLOCK_POSIX)
			cmd = wait ? F_SETLKW : F_SETLK;
		else
			cmd = wait ? F_OFD_SETLKW : F_OFD_SETLK;
		r = fcntl(l->fd, cmd, &fl);
	}
	if (r == 0)
		return 0;
	if (errno == EWOULDBLOCK || errno == EAGAIN || errno == EACCES)
		return -EAGAIN; /* fcntl() says EACCES or EAGAIN for "held" */
	return ipk__neg_errno();
}

IPK_API int ipk_flock_lock(ipk_flock *l, enum ipk_flock_type type, off_t start, off_t len,
			   int64_t timeout_ns)
{
	int64_t deadline, pause = POLL_FIRST_NS;
	short how;
	int r;

	IPK_CHECK_ARG(l);
	IPK_CHECK_ARG(type == IPK_FLOCK_SHARED || type == IPK_FLOCK_EXCL);
	IPK_CHECK_ARG(range_ok(l, start, len));
	how = type == IPK_FLOCK_SHARED ? F_RDLCK : F_WRLCK;
	deadline = ipk__deadline(timeout_ns);

	if (deadline == IPK__NEVER) {
		do
			r = set_lock(l, how, start, len, true);
		while (r == -EINTR);
		return r;
	}
	for (;;) {
		r = set_lock(l, how, start, len, false);
		if (r != -EAGAIN && r != -EINTR)
			return r;
		if (r == -EINTR)
			continue;
		r = ipk__sleep_until(deadline, pause);
		if (r < 0)
			return r; /* -EAGAIN (try once), -ETIMEDOUT */
		if (pause < POLL_MAX_NS)
			pause *= 2;
	}
}

IPK_API int ipk_flock_unlock(ipk_flock *l, off_t start, off_t len)
{
	int r;

	IPK_CHECK_ARG(l);
	IPK_CHECK_ARG(range_ok(l, start, len));
	do
		r = set_lock(l, F_UNLCK, start, len, false);
	while (r == -EINTR);
	return r;
}

IPK_API int ipk_flock_fd(const ipk_flock *l)
{
	IPK_CHECK_ARG(l);
	return l->fd;
}

IPK_API void ipk_flock_free(ipk_flock *l)
{
	if (!l)
		return;
	ipk__close(l->fd); /* releases the locks the kernel ties to it */
	free(l);
}
