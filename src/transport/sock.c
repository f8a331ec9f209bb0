/* SPDX-License-Identifier: MIT */
/*
 * transport/sock.c - socket plumbing for the unix and tcp transports: Unix
 * addresses and socket files from a URL, one-peer channels, listener URLs.
 * Connecting and accepting with a deadline is sockconn.c's.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "internal.h"
#include "sock.h"

int ipk__unix_addr(const struct ipk_url *u, struct sockaddr_un *sa, socklen_t *len)
{
	size_t off = u->abstract ? 1 : 0; /* abstract names start with a NUL */

	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	/* a path needs its NUL inside sun_path; an abstract name does not */
	if (u->path_len + off + (u->abstract ? 0 : 1) > sizeof(sa->sun_path))
		return -ENAMETOOLONG;
	memcpy(sa->sun_path + off, u->path, u->path_len);
	*len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + off + u->path_len +
			   (u->abstract ? 0 : 1));
	return 0;
}

/*
 * Is a socket bound to the file at @sa? Probe with a socket of another type
 * than the one we bind: the kernel answers EPROTOTYPE when a socket is
 * there, ECONNREFUSED when none is (a stale file), and no connection is
 * ever made, so a live server's accept queue gains nothing.
 */
static bool socket_is_live(int type, const struct sockaddr_un *sa, socklen_t len)
{
	int probe = type == SOCK_DGRAM ? SOCK_STREAM : SOCK_DGRAM;
	int fd = socket(AF_UNIX, probe | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	bool live = true;

	if (fd < 0)
		return true; /* cannot tell: leave it alone */
	if (connect(fd, (const struct sockaddr *)sa, len) < 0 && errno == ECONNREFUSED)
		live = false;
	ipk__close(fd);
	return live;
}

int ipk__unix_bind(int fd, int type, const struct ipk_url *u, unsigned flags,
		   struct ipk__ownfile *f)
{
	mode_t mode = ipk__url_mode(u);
	struct sockaddr_un sa;
	struct stat st;
	socklen_t len;
	int r;

	r = ipk__unix_addr(u, &sa, &len);
	if (r < 0)
		return r;
	if (u->abstract)
		return bind(fd, (struct sockaddr *)&sa, len) < 0 ? ipk__neg_errno() : 0;

	/* The socket file takes the socket inode's mode (less the umask):
	 * set it before bind so the file never exists with wider rights. */
	if (fchmod(fd, mode) < 0)
		return ipk__neg_errno();
	for (int attempt = 0;; attempt++) {
		if (bind(fd, (struct sockaddr *)&sa, len) == 0)
			break;
		if (errno != EADDRINUSE || attempt > 0)
			return ipk__neg_errno();
		if (flags & IPK_CHAN_EXCL)
			return -EEXIST;
		if (lstat(u->path, &st) < 0)
			continue; /* gone meanwhile: try again */
		if (S_ISLNK(st.st_mode))
			return -ELOOP;
		if (!S_ISSOCK(st.st_mode))
			return -EEXIST;
		if (socket_is_live(type, &sa, len))
			return -EADDRINUSE;
		/* stale: its server died without removing it; only our own is
		 * ours to remove (its mode does not matter: ours is new) */
		if (st.st_uid != geteuid())
			return -EPERM;
		if (unlink(u->path) < 0 && errno != ENOENT)
			return ipk__neg_errno();
	}
	r = ipk__ownfile_note(f, u->path);
	if (r < 0)
		return r;
	/* the umask took bits away: put them back, never through a link */
	if (lstat(u->path, &st) == 0 && (st.st_mode & 07777) != mode &&
	    fchmodat(AT_FDCWD, u->path, mode, AT_SYMLINK_NOFOLLOW) < 0)
		return ipk__neg_errno();
	return 0;
}

int ipk__sock_accept_one(struct ipk_chan *ch, const struct ipk_url *url, int64_t deadline_ns)
{
	struct ipk_listener *l = calloc(1, sizeof(*l));
	int r;

	if (!l)
		return -ENOMEM;
	l->tp = ch->tp;
	l->fd = -1;
	l->flags = ch->flags;
	l->max_msg = ch->max_msg;
	r = ch->tp->listen(l, url);
	if (r == 0)
		r = ch->tp->accept(l, ch, deadline_ns);
	/* one peer per channel: nobody else may connect from now on */
	ipk__close(l->fd);
	if (!(ch->flags & IPK_CHAN_KEEP))
		ipk__ownfile_remove(&l->file);
	free(l);
	return r;
}

void ipk__listener_url_opts(struct ipk_listener *l, int n, const struct ipk_url *url)
{
	size_t used = n > 0 ? (size_t)n : sizeof(l->url);

	if (url->set[IPK__OPT_MSGSIZE] && used < sizeof(l->url))
		(void)snprintf(&l->url[used], sizeof(l->url) - used, "?msgsize=%zu", l->max_msg);
}
