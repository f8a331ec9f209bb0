/* SPDX-License-Identifier: MIT */
/*
 * shmname.c - create, open and remove POSIX shared-memory names so that a
 * name never shows a half-made object, never leads us into something
 * planted there, and is never removed once it leads to someone else's.
 *
 * Creation is two steps with nothing in between to race on: the object is
 * made without a name (O_TMPFILE in /dev/shm), sized, allocated and locked,
 * and then linked at its name, which fails if the name is taken. Callers
 * check names ("/name", one slash); what a name means is theirs. Anonymous
 * objects (memfds) are made here too, for callers that offer both.
 */
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <unistd.h>
#include <sys/file.h>
#include <sys/mman.h>

#include "internal.h"
#include "shmname.h"

static void path_of(const char *name, char *buf, size_t len)
{
	(void)snprintf(buf, len, "%s%s", IPK__SHM_DIR, name);
}

int ipk__shm_new(size_t size, mode_t mode, bool lock)
{
	int fd = open(IPK__SHM_DIR, O_TMPFILE | O_RDWR | O_CLOEXEC, mode);
	int r;

	if (fd < 0)
		return errno == EISDIR ? -EOPNOTSUPP : ipk__neg_errno(); /* no O_TMPFILE */
	/* The umask applied to the open: the caller's mode, exactly. */
	if (fchmod(fd, mode) < 0)
		goto fail;
	/* Every page now: tmpfs says ENOSPC here, where a plain ftruncate()
	 * would leave the first store to a missing page a SIGBUS. */
	r = fallocate(fd, 0, 0, (off_t)size);
	if (r < 0 && errno == EOPNOTSUPP)
		r = ftruncate(fd, (off_t)size);
	if (r < 0)
		goto fail;
	if (lock && flock(fd, LOCK_EX | LOCK_NB) < 0)
		goto fail;
	return fd;

fail:
	r = ipk__neg_errno();
	ipk__close(fd);
	return r;
}

int ipk__shm_link(int fd, const char *name, struct ipk__shm_id *id)
{
	char from[32], to[sizeof(IPK__SHM_DIR) + NAME_MAX + 1];
	struct stat st;

	if (fstat(fd, &st) < 0)
		return ipk__neg_errno();
	(void)snprintf(from, sizeof(from), "/proc/self/fd/%d", fd);
	path_of(name, to, sizeof(to));
	/* Through /proc: linkat(AT_EMPTY_PATH) would need CAP_DAC_READ_SEARCH. */
	if (linkat(AT_FDCWD, from, AT_FDCWD, to, AT_SYMLINK_FOLLOW) < 0)
		return ipk__neg_errno();
	id->dev = st.st_dev;
	id->ino = st.st_ino;
	return 0;
}

int ipk__shm_open(const char *name, int oflags, bool mine, mode_t mode, struct stat *st)
{
	char path[sizeof(IPK__SHM_DIR) + NAME_MAX + 1];
	int fd, r;

	path_of(name, path, sizeof(path));
	/* O_NONBLOCK: a FIFO opens at once instead of waiting for a writer;
	 * fstat() then refuses it. O_NOFOLLOW: a symbolic link is ELOOP. */
	fd = open(path, oflags | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (fd < 0) {
		r = ipk__neg_errno();
		/* a symlink, a directory (read-write), a socket */
		return r == -ELOOP || r == -EISDIR || r == -ENXIO ? -EPROTO : r;
	}
	if (fstat(fd, st) < 0)
		goto fail_errno;
	r = -EPROTO;
	if (!S_ISREG(st->st_mode))
		goto fail;
	r = mine ? ipk__owner_check(st->st_uid, st->st_mode, mode) : 0;
	if (r < 0)
		goto fail;
	/* Back to blocking mode: nothing here blocks on a regular file, but
	 * callers should not inherit a flag they did not ask for. */
	if (fcntl(fd, F_SETFL, oflags & O_ACCMODE) < 0)
		goto fail_errno;
	return fd;

fail_errno:
	r = ipk__neg_errno();
fail:
	ipk__close(fd);
	return r;
}

int ipk__shm_unlink(const char *name, const struct ipk__shm_id *id)
{
	char path[sizeof(IPK__SHM_DIR) + NAME_MAX + 1];
	struct stat st;

	path_of(name, path, sizeof(path));
	if (lstat(path, &st) < 0)
		return ipk__neg_errno();
	if (st.st_dev != id->dev || st.st_ino != id->ino)
		return -ESTALE;
	if (unlink(path) == 0)
		return 0;
	/* another's file in the sticky /dev/shm: EACCES, as shm_unlink(3) says */
	return errno == EPERM ? -EACCES : ipk__neg_errno();
}

int ipk__shm_memfd(const char *label, size_t size)
{
	int fd = memfd_create(label, MFD_CLOEXEC | MFD_ALLOW_SEALING), r;

	if (fd < 0)
		return ipk__neg_errno();
	if (ftruncate(fd, (off_t)size) < 0) {
		r = ipk__neg_errno();
		ipk__close(fd);
		return r;
	}
	return fd;
}
