/* SPDX-License-Identifier: MIT */
/*
 * sock.c - socket plumbing for the unix and tcp transports.
 */
#include <fcntl.h>
#include <poll.h>
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

static bool not_there_yet(int err)
{
	return err == ENOENT || err == ECONNREFUSED || err == EAGAIN;
}

static int connect_once(int domain, int type, const struct sockaddr *sa, socklen_t len,
			bool autobind, int64_t deadline_ns, int *ret_fd)
{
	static const sa_family_t unix_family = AF_UNIX;
	int fd, r, err = 0;
	socklen_t elen = sizeof(err);

	fd = socket(domain, type | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return ipk__neg_errno();
	/* binding only the family makes the kernel pick an abstract name */
	if (autobind && bind(fd, (const struct sockaddr *)&unix_family, sizeof(unix_family)) < 0)
		goto fail_errno;
	while ((r = connect(fd, sa, len)) < 0 && errno == EINTR)
		;
	if (r == 0)
		goto done;
	if (errno != EINPROGRESS)
		goto fail_errno;
	r = ipk__wait_fd(fd, POLLOUT, deadline_ns);
	if (r < 0) {
		ipk__close(fd);
		return r;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen) < 0)
		goto fail_errno;
	if (err) {
		ipk__close(fd);
		return -err;
	}
done:
	*ret_fd = fd;
	return 0;

fail_errno:
	r = ipk__neg_errno();
	ipk__close(fd);
	return r;
}

/* A file at a Unix path that is not a socket: connect() says only
 * ECONNREFUSED, as for a stale socket file. */
static bool not_a_socket(const struct sockaddr *sa)
{
	const struct sockaddr_un *un = (const struct sockaddr_un *)sa;
	struct stat st;

	if (un->sun_path[0] == '\0')
		return false; /* abstract */
	return stat(un->sun_path, &st) == 0 && !S_ISSOCK(st.st_mode);
}

/*
 * A Unix socket file that is not there yet is waited for with inotify on
 * its directory (namewait.c); one that is there but refuses (bound, not yet
 * listening; or stale, until its server comes back) or whose backlog is
 * full is tried again soon, then less and less often. An abstract name or a
 * TCP address has no file to watch: tried again after 1 ms, 2 ms ... 50 ms.
 * The inotify instance is closed before returning, which can take a few
 * milliseconds on a busy machine (ipk__namewait_stop()): the stream and
 * datagram states have no room to keep it until the channel closes.
 */
int ipk__sock_connect(int domain, int type, const struct sockaddr *sa, socklen_t len, bool autobind,
		      int64_t deadline_ns, int *ret_fd)
{
	const struct sockaddr_un *un = (const struct sockaddr_un *)sa;
	bool named = domain == AF_UNIX && un->sun_path[0] != '\0';
	struct ipk__namewait w;
	int r;

	ipk__namewait_init(&w, named ? un->sun_path : NULL, 0, 0);
	for (;;) {
		r = connect_once(domain, type, sa, len, autobind, deadline_ns, ret_fd);
		if (r == -ECONNREFUSED && domain == AF_UNIX && not_a_socket(sa)) {
			r = -ENOTSOCK; /* waiting would not help */
			break;
		}
		if (r == 0 || !not_there_yet(-r) || deadline_ns == IPK__NOWAIT)
			break;
		r = named && r != -ENOENT ? ipk__namewait_soon(&w, deadline_ns)
					  : ipk__namewait(&w, deadline_ns);
		if (r < 0)
			break;
	}
	ipk__namewait_end(&w);
	return r;
}

int ipk__sock_accept(int lfd, int64_t deadline_ns, int *ret_fd)
{
	for (;;) {
		int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
		int r;

		if (fd >= 0) {
			*ret_fd = fd;
			return 0;
		}
		if (errno == ECONNABORTED)
			continue;
		r = ipk__retry_wait(lfd, POLLIN, deadline_ns);
		if (r < 0)
			return r;
	}
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
