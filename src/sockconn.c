/* SPDX-License-Identifier: MIT */
/*
 * sockconn.c - connect and accept with a deadline, for every socket the
 * library makes: the unix and tcp transports and ipk_handoff_take(). It
 * knows addresses and descriptors, never channels.
 */
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include "internal.h"
#include "sockets.h"

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
	if (connect(fd, sa, len) == 0)
		goto done;
	/* interrupted, the connection still goes on (connect(2)): wait for it
	 * as for one in progress, never connect() again (EALREADY) */
	if (errno != EINPROGRESS && errno != EINTR)
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
