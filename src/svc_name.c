/* SPDX-License-Identifier: MIT */
/*
 * svc_name.c - where an ipk_svc server listens: its name as a Unix socket
 * address, the socket file made safely (a stale one of ours replaced, never
 * a live one, another user's, a link or another kind of file), and the
 * check that a descriptor a peer handed us is an eventfd before we write it.
 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "svc_internal.h"

int ipk__svc_addr(const char *name, struct sockaddr_un *sa, socklen_t *len)
{
	size_t n;
	bool abstract;

	if (!strncmp(name, "unix:", 5))
		name += 5;
	abstract = name[0] == '@';
	if (!abstract && name[0] != '/')
		return -EINVAL;
	if (abstract)
		name++;
	n = strlen(name);
	if (n == 0)
		return -EINVAL;
	/* a path needs its NUL inside sun_path; an abstract name its leading NUL */
	if (n + 1 > sizeof(sa->sun_path))
		return -ENAMETOOLONG;
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	memcpy(sa->sun_path + (abstract ? 1 : 0), name, n);
	*len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + 1);
	return 0;
}

/* Does a socket listen at @sa? A probe of another type is answered
 * EPROTOTYPE by a bound socket and ECONNREFUSED by a stale file, and
 * connects to nothing. */
static bool live(const struct sockaddr_un *sa, socklen_t len)
{
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	bool r = true;

	if (fd < 0)
		return true; /* cannot tell: leave it alone */
	if (connect(fd, (const struct sockaddr *)sa, len) < 0 && errno == ECONNREFUSED)
		r = false;
	ipk__close(fd);
	return r;
}

int ipk__svc_bind(int fd, const struct sockaddr_un *sa, socklen_t len, mode_t mode, bool excl,
		  struct ipk__ownfile *f)
{
	const char *path = sa->sun_path;
	struct stat st;

	if (path[0] == '\0')
		return bind(fd, (const struct sockaddr *)sa, len) < 0 ? ipk__neg_errno() : 0;
	/* The file takes the socket inode's mode less the umask: set it
	 * before bind, so the file never exists with wider rights. */
	if (fchmod(fd, mode) < 0)
		return ipk__neg_errno();
	for (int attempt = 0;; attempt++) {
		if (bind(fd, (const struct sockaddr *)sa, len) == 0)
			break;
		if (errno != EADDRINUSE || attempt > 0)
			return ipk__neg_errno();
		if (lstat(path, &st) < 0)
			continue; /* gone meanwhile */
		if (S_ISLNK(st.st_mode))
			return -ELOOP;
		if (!S_ISSOCK(st.st_mode) || excl)
			return -EEXIST;
		if (live(sa, len))
			return -EADDRINUSE;
		if (st.st_uid != geteuid())
			return -EPERM;
		if (unlink(path) < 0 && errno != ENOENT)
			return ipk__neg_errno();
	}
	if (ipk__ownfile_note(f, path) < 0)
		return -EIO;
	/* the umask took bits away: put them back, never through a link */
	if (lstat(path, &st) == 0 && (st.st_mode & 07777) != mode &&
	    fchmodat(AT_FDCWD, path, mode, AT_SYMLINK_NOFOLLOW) < 0)
		return ipk__neg_errno();
	return 0;
}

bool ipk__svc_is_eventfd(int fd)
{
	char path[32], target[64];
	ssize_t n;

	(void)snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	n = readlink(path, target, sizeof(target) - 1);
	if (n < 0)
		return false;
	target[n] = '\0';
	return !strcmp(target, "anon_inode:[eventfd]");
}
