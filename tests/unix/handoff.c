/* SPDX-License-Identifier: MIT */
/*
 * ipk_handoff between real processes: a listener and state handed to a new
 * copy of this program (it re-executes itself with a mode word), which
 * accepts on it; a new process that dies before or after taking, or whose
 * exec fails, or that hangs: the offer fails and the old process still
 * accepts; garbage, a short count of descriptors, an old process that
 * closes: the new process refuses (and examples/hot-upgrade exits instead
 * of serving); socket activation via LISTEN_FDS/LISTEN_PID/LISTEN_FDNAMES;
 * bad arguments.
 *
 * Usage: test-unix_handoff HOT-UPGRADE-EXE
 *        test-unix_handoff other-uid   an old process running as another
 *                                      uid (nobody) is refused; needs root,
 *                                      skips (77) without
 */
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include "../harness.h"
#include <ipckit/handoff.h>
#include <ipckit/unix.h>

#define S (5 * IPK_SEC)

static char url[256];

/* --- modes of the re-executed copy ------------------------------------- */

static int mode_new(void)
{
	ipk_handoff *h;
	const char *name;
	size_t len;
	const char *st;
	int fd, c, acc = 0;
	socklen_t sl = sizeof(acc);
	char buf[64];
	ssize_t n;

	T_OK(ipk_handoff_take(NULL, S, &h));
	T_TRUE(getenv(IPK_HANDOFF_ENV) == NULL);
	T_EQ(ipk_handoff_count(h), 1);
	T_EQ(ipk_handoff_peer(h), getppid());
	st = ipk_handoff_state(h, &len);
	T_EQ(len, 9);
	T_MEMEQ(st, "state-123", 9);
	T_EQ(ipk_handoff_find(h, "main"), 0);
	T_EQ(ipk_handoff_find(h, "other"), -ENOENT);
	fd = ipk_handoff_fd(h, 0, &name);
	T_OK(fd);
	T_EQ(strcmp(name, "main"), 0);
	T_EQ(ipk_handoff_fd(h, 0, NULL), -EBADF);
	T_EQ(ipk_handoff_fd(h, 1, NULL), -ENOENT);
	T_EQ(fcntl(fd, F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
	T_SYS(getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &acc, &sl));
	T_EQ(acc, 1);
	T_OK(ipk_handoff_ready(h, S));
	ipk_handoff_free(h);
	/* serve one client (the listener is non-blocking: one file
	 * description, shared with the old process) */
	{
		struct pollfd pfd = { .fd = fd, .events = POLLIN };

		T_EQ(poll(&pfd, 1, 5000), 1);
	}
	c = accept4(fd, NULL, NULL, SOCK_CLOEXEC);
	T_SYS(c);
	n = read(c, buf, sizeof(buf));
	T_TRUE(n > 0);
	T_EQ(write(c, "new", 3), 3);
	close(c);
	close(fd);
	return 0;
}

static int mode_takedie(void)
{
	ipk_handoff *h;

	T_OK(ipk_handoff_take(NULL, S, &h));
	_exit(5); /* dies before it says ready */
}

static int mode_hang(void)
{
	ipk_handoff *h;

	T_OK(ipk_handoff_take(NULL, S, &h));
	sleep(30);
	return 0;
}

/* --- helpers ------------------------------------------------------------ */

/* Client in a child: connect to url, send "hi", expect @want back. */
static const char *want_reply;

static int client(void *arg)
{
	char buf[16];
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ssize_t n;

	(void)arg;
	if (strlen(url + 5) >= sizeof(sa.sun_path))
		return 9;
	memcpy(sa.sun_path, url + 5, strlen(url + 5));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return 1;
	if (write(fd, "hi", 2) != 2)
		return 2;
	n = read(fd, buf, sizeof(buf));
	if (n != (ssize_t)strlen(want_reply) || memcmp(buf, want_reply, (size_t)n))
		return 3;
	return 0;
}

/* The old process still accepts on @l. */
static void still_serving(ipk_listener *l)
{
	pid_t pid;
	ipk_chan *c;
	int fd;
	char buf[8];

	want_reply = "old";
	pid = t_fork(client, NULL);
	T_OK(ipk_accept(l, S, &c));
	fd = ipk_chan_fd(c);
	{
		struct pollfd pfd = { .fd = fd, .events = POLLIN };

		T_EQ(poll(&pfd, 1, 5000), 1);
	}
	T_EQ(read(fd, buf, sizeof(buf)), 2);
	T_EQ(write(fd, "old", 3), 3);
	ipk_chan_close(c);
	t_wait_exit(pid, 0);
}

static int offer(ipk_listener *l, const char *mode, int64_t timeout, pid_t *pid)
{
	char *argv[] = { "/proc/self/exe", (char *)mode, NULL };
	static const char *const names[] = { "main" };
	int fd = ipk_listener_fd(l);

	return ipk_handoff_offer(argv, &fd, names, 1, "state-123", 9, timeout, pid);
}

static void no_children_left(void)
{
	T_EQ(waitpid(-1, NULL, WNOHANG), -1);
	T_EQ(errno, ECHILD);
}

/* --- the old side ------------------------------------------------------- */

static void handoffs(void)
{
	char path[128];
	ipk_listener *l;
	pid_t pid = 0, cl;
	int r;

	t_path(path, sizeof(path), "ho");
	snprintf(url, sizeof(url), "unix:%s", path);
	T_OK(ipk_listen(url, 0, &l));

	/* exec fails: EOF, still serving */
	{
		char *argv[] = { "/nonexistent/ipk", NULL };
		int fd = ipk_listener_fd(l);

		r = ipk_handoff_offer(argv, &fd, NULL, 1, NULL, 0, S, &pid);
		T_TRUE(r == -EPIPE || r == -ECONNRESET);
		no_children_left();
		still_serving(l);
	}
	/* the new process exits before taking anything */
	r = offer(l, "die", S, &pid);
	T_TRUE(r == -EPIPE || r == -ECONNRESET);
	no_children_left();
	still_serving(l);
	/* it dies mid-transfer: took the sockets, never said ready */
	r = offer(l, "takedie", S, &pid);
	T_TRUE(r == -EPIPE || r == -ECONNRESET);
	no_children_left();
	still_serving(l);
	/* it hangs: timeout, killed and reaped */
	T_EQ(offer(l, "hang", 300 * IPK_MSEC, &pid), -ETIMEDOUT);
	no_children_left();
	still_serving(l);

	/* the real thing */
	T_OK(offer(l, "new", S, &pid));
	want_reply = "new";
	cl = t_fork(client, NULL);
	t_wait_exit(cl, 0);
	t_wait_exit(pid, 0);
	ipk_listener_close(l);

	/* arguments */
	{
		int fd = 0;
		static const char *const bad[] = { "a:b" };
		char *argv[] = { "/proc/self/exe", "new", NULL };

		T_EQ(ipk_handoff_offer(argv, &fd, NULL, 0, NULL, 0, S, &pid), -EINVAL);
		T_EQ(ipk_handoff_offer(argv, &fd, bad, 1, NULL, 0, S, &pid), -EINVAL);
		T_EQ(ipk_handoff_offer(argv, &fd, NULL, 1, "x", IPK_HANDOFF_STATE_MAX + 1, S, &pid),
		     -EINVAL);
		no_children_left();
	}
}

/* --- the new side: garbage, missing listeners, another uid -------------- */

static int hsock[2];

static int taker(void *arg)
{
	char from[32];
	ipk_handoff *h;
	int before, r;

	(void)arg;
	close(hsock[0]);
	before = t_count_fds();
	snprintf(from, sizeof(from), "fd:%d", hsock[1]);
	r = ipk_handoff_take(from, S, &h);
	if (r == 0) {
		ipk_handoff_free(h);
		return 0;
	}
	/* the hand-off socket is closed too; nothing else may remain */
	if (t_count_fds() != before - 1)
		return 90;
	return -r;
}

struct hdr {
	char magic[8];
	uint32_t version, nfds, names_len, state_len;
};

static void refuse(const void *msg, size_t len, unsigned nfds, int want)
{
	int fds[70];
	pid_t pid;

	for (unsigned i = 0; i < nfds; i++)
		fds[i] = 0;
	T_SYS(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, hsock));
	pid = t_fork(taker, NULL);
	close(hsock[1]);
	if (msg)
		T_OK(ipk_fd_send(hsock[0], msg, len, fds, nfds, S));
	close(hsock[0]);
	t_wait_exit(pid, want);
}

static void garbage(const char *hot_upgrade)
{
	struct {
		struct hdr h;
		char names[16];
	} m;

	refuse("garbage garbage garbage", 23, 0, EPROTO);
	refuse("garbage garbage garbage", 23, 2, EPROTO);
	refuse(NULL, 0, 0, EPIPE); /* the old process closed */

	memset(&m, 0, sizeof(m));
	memcpy(m.h.magic, "IPKHOFF1", 8);
	m.h.version = 1;
	m.h.nfds = 2; /* announces two, one comes: half the listeners */
	m.h.names_len = 6;
	memcpy(m.names, "a\0b\0\0\0", 6);
	refuse(&m, sizeof(m.h) + 6, 1, EPROTO);
	m.h.nfds = 1;
	m.h.names_len = 2;
	refuse(&m, sizeof(m.h) + 2, 1, 0);      /* well formed: taken */
	refuse(&m, sizeof(m.h) + 3, 1, EPROTO); /* a stray byte */
	m.h.version = 2;
	refuse(&m, sizeof(m.h) + 2, 1, EPROTO);
	m.h.version = 1;
	memcpy(m.names, "\x01\0", 2); /* unprintable name */
	refuse(&m, sizeof(m.h) + 2, 1, EPROTO);
	m.h.nfds = 65;
	refuse(&m, sizeof(m.h) + 2, 65, EPROTO); /* over the cap */

	/* the example refuses to start on garbage rather than serve */
	{
		char env[64];
		pid_t pid;
		int st;

		T_SYS(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, hsock));
		pid = fork();
		T_SYS(pid);
		if (pid == 0) {
			snprintf(env, sizeof(env), "fd:%d", hsock[1]);
			setenv(IPK_HANDOFF_ENV, env, 1);
			close(hsock[0]);
			execl(hot_upgrade, hot_upgrade, "--listen", "127.0.0.1:1", NULL);
			_exit(127);
		}
		close(hsock[1]);
		T_OK(ipk_fd_send(hsock[0], "garbage garbage garbage", 23, NULL, 0, S));
		T_SYS(waitpid(pid, &st, 0));
		T_TRUE(WIFEXITED(st));
		T_EQ(WEXITSTATUS(st), 1);
		close(hsock[0]);
	}
}

/* An old process running as nobody offers at a path: refused (-EPERM). */
static char hpath[128];

static int nobody_offers(void *arg)
{
	ipk_listener *l;
	ipk_chan *c;
	char u[200];
	int fd = 0;

	(void)arg;
	if (t_drop_root() < 0)
		return 9;
	snprintf(u, sizeof(u), "unix+seqpacket:%s?perm=0666", hpath);
	if (ipk_listen(u, 0, &l) < 0)
		return 10;
	if (ipk_accept(l, S, &c) < 0)
		return 11;
	(void)ipk_handoff_send(ipk_chan_fd(c), &fd, NULL, 1, NULL, 0, S);
	ipk_chan_close(c);
	ipk_listener_close(l);
	return 0;
}

static int root_offers(void *arg)
{
	ipk_listener *l;
	ipk_chan *c;
	char u[200];
	int fd = 0, r;

	(void)arg;
	snprintf(u, sizeof(u), "unix+seqpacket:%s", hpath);
	if (ipk_listen(u, 0, &l) < 0)
		return 10;
	if (ipk_accept(l, S, &c) < 0)
		return 11;
	r = ipk_handoff_send(ipk_chan_fd(c), &fd, NULL, 1, "st", 2, S);
	ipk_chan_close(c);
	ipk_listener_close(l);
	return r == 0 ? 0 : 12;
}

static void by_path(void)
{
	char from[200];
	ipk_handoff *h;
	const char *name;
	pid_t pid;
	int fd;

	t_path(hpath, sizeof(hpath), "hop");
	snprintf(from, sizeof(from), "unix+seqpacket:%s", hpath);
	pid = t_fork(root_offers, NULL);
	T_OK(ipk_handoff_take(from, S, &h));
	T_EQ(ipk_handoff_peer(h), pid);
	fd = ipk_handoff_fd(h, 0, &name);
	T_OK(fd);
	T_EQ(strcmp(name, "fd0"), 0);
	close(fd);
	T_OK(ipk_handoff_ready(h, S));
	ipk_handoff_free(h);
	t_wait_exit(pid, 0);

	T_EQ(ipk_handoff_take("bogus", S, &h), -EINVAL);
	T_EQ(ipk_handoff_take("fd:x", S, &h), -EINVAL);
	T_EQ(ipk_handoff_take("fd:999999", S, &h), -EINVAL);
}

/* An old process running as nobody offers on a socket open to all (0666):
 * the new one refuses what it offers. */
static int by_path_other_uid(void)
{
	char from[200];
	ipk_handoff *h;
	pid_t pid;

	if (geteuid() != 0)
		T_SKIP("not root: needs a second uid (nobody) for the old process");
	t_path(hpath, sizeof(hpath), "hop-nobody");
	snprintf(from, sizeof(from), "unix+seqpacket:%s", hpath);
	pid = t_fork(nobody_offers, NULL);
	T_EQ(ipk_handoff_take(from, S, &h), -EPERM);
	t_wait_exit(pid, 0);
	T_EQ(access(hpath, F_OK), -1); /* nobody's listener removed its file */
	printf("ok: an offer from uid 65534 is refused (-EPERM)\n");
	return 0;
}

/* --- socket activation -------------------------------------------------- */

static int activated(void *arg)
{
	char pid[16];
	ipk_handoff *h;
	const char *name;
	int s[2], before;

	(void)arg;
	T_SYS(socketpair(AF_UNIX, SOCK_STREAM, 0, s));
	T_SYS(dup2(s[0], 3));
	T_SYS(dup2(s[1], 4));
	snprintf(pid, sizeof(pid), "%d", (int)getpid());
	setenv("LISTEN_PID", pid, 1);
	setenv("LISTEN_FDS", "2", 1);
	setenv("LISTEN_FDNAMES", "web:admin", 1);
	unsetenv(IPK_HANDOFF_ENV);
	T_OK(ipk_handoff_take(NULL, S, &h));
	T_EQ(ipk_handoff_count(h), 2);
	T_EQ(ipk_handoff_peer(h), 0);
	T_EQ(ipk_handoff_find(h, "admin"), 1);
	T_EQ(ipk_handoff_fd(h, 0, &name), 3);
	T_EQ(strcmp(name, "web"), 0);
	T_EQ(fcntl(3, F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
	T_OK(ipk_handoff_ready(h, S)); /* nobody to tell */
	T_TRUE(getenv("LISTEN_FDS") == NULL);
	before = t_count_fds();
	ipk_handoff_free(h); /* closes 4, which was not taken */
	T_EQ(t_count_fds(), before - 1);

	/* sd_listen_fds semantics */
	T_EQ(ipk_listen_fds(false), 0); /* no variables */
	T_EQ(ipk_handoff_take(NULL, S, &h), -ENOENT);
	setenv("LISTEN_PID", "1", 1);
	setenv("LISTEN_FDS", "1", 1);
	T_EQ(ipk_listen_fds(false), 0); /* meant for another process */
	setenv("LISTEN_PID", pid, 1);
	setenv("LISTEN_FDS", "x", 1);
	T_EQ(ipk_listen_fds(true), -EINVAL);
	T_TRUE(getenv("LISTEN_PID") == NULL);
	return 0;
}

/* examples/hot-upgrade, socket-activated: serves on the descriptor it
 * was given (fd 3, LISTEN_FDNAMES=http) and never listens itself. */
static void example_activated(const char *hot_upgrade)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(0x7f000001) };
	socklen_t sl = sizeof(sa);
	static const char req[] = "GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n";
	char buf[512];
	int lfd, c, st;
	size_t got = 0;
	ssize_t n;
	pid_t pid;

	lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	T_SYS(lfd);
	T_SYS(bind(lfd, (struct sockaddr *)&sa, sizeof(sa)));
	T_SYS(listen(lfd, 16));
	T_SYS(getsockname(lfd, (struct sockaddr *)&sa, &sl));
	pid = fork();
	T_SYS(pid);
	if (pid == 0) {
		char p[16];

		/* dup2 clears close-on-exec, except when lfd is already 3 */
		if (lfd == 3 ? fcntl(3, F_SETFD, 0) < 0 : dup2(lfd, 3) < 0)
			_exit(126);
		snprintf(p, sizeof(p), "%d", (int)getpid());
		setenv("LISTEN_PID", p, 1);
		setenv("LISTEN_FDS", "1", 1);
		setenv("LISTEN_FDNAMES", "http", 1);
		unsetenv(IPK_HANDOFF_ENV);
		/* a port it could not bind: it must not try */
		execl(hot_upgrade, hot_upgrade, "--listen", "256.0.0.1:1", NULL);
		_exit(127);
	}
	close(lfd);
	c = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	T_SYS(connect(c, (struct sockaddr *)&sa, sizeof(sa)));
	T_EQ(write(c, req, sizeof(req) - 1), (ssize_t)sizeof(req) - 1);
	while (got < sizeof(buf) - 1 && (n = read(c, buf + got, sizeof(buf) - 1 - got)) > 0)
		got += (size_t)n;
	buf[got] = '\0';
	T_TRUE(strstr(buf, "HTTP/1.1 200 OK") != NULL);
	T_TRUE(strstr(buf, "hello from hot-upgrade") != NULL);
	close(c);
	T_SYS(kill(pid, SIGTERM));
	T_SYS(waitpid(pid, &st, 0));
	T_TRUE(WIFEXITED(st));
	T_EQ(WEXITSTATUS(st), 0);
}

int main(int argc, char **argv)
{
	signal(SIGPIPE, SIG_IGN);
	if (argc == 2 && !strcmp(argv[1], "new"))
		return mode_new();
	if (argc == 2 && !strcmp(argv[1], "die"))
		return 4;
	if (argc == 2 && !strcmp(argv[1], "takedie"))
		return mode_takedie();
	if (argc == 2 && !strcmp(argv[1], "hang"))
		return mode_hang();
	if (argc == 2 && !strcmp(argv[1], "other-uid"))
		return by_path_other_uid();
	if (argc != 2)
		T_FAIL("usage: %s HOT-UPGRADE-EXE", argv[0]);

	handoffs();
	garbage(argv[1]);
	by_path();
	t_wait_exit(t_fork(activated, NULL), 0);
	example_activated(argv[1]);
	printf("ok\n");
	return 0;
}
