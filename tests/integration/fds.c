/* SPDX-License-Identifier: MIT */
/*
 * fds.c - descriptors: every descriptor the library holds is close-on-exec
 * (all of them, not only ipk_chan_fd() and ipk_listener_fd()), channel
 * descriptors are non-blocking, and nothing leaks: the number of open
 * descriptors is back where it was after channels of every transport are
 * closed and after every kind of failing open.
 */
#include "it.h"

#define MAXFD 4096

static unsigned char base_set[MAXFD];
static int base_count;

static void snapshot(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;

	T_TRUE(d != NULL);
	memset(base_set, 0, sizeof(base_set));
	while ((e = readdir(d))) {
		int fd = atoi(e->d_name);

		if (e->d_name[0] != '.' && fd != dirfd(d) && fd < MAXFD)
			base_set[fd] = 1;
	}
	closedir(d);
	base_count = t_count_fds();
}

/* Every descriptor opened since the snapshot is close-on-exec; returns how
 * many there are. */
static int check_new_cloexec(const char *what)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	T_TRUE(d != NULL);
	while ((e = readdir(d))) {
		int fd = atoi(e->d_name);
		int fl;

		if (e->d_name[0] == '.' || fd == dirfd(d) || (fd < MAXFD && base_set[fd]))
			continue;
		n++;
		fl = fcntl(fd, F_GETFD);
		if (fl < 0 || !(fl & FD_CLOEXEC)) {
			char link[64], target[256] = "?";

			snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
			(void)!readlink(link, target, sizeof(target) - 1);
			T_FAIL("%s: fd %d (%s) is not close-on-exec", what, fd, target);
		}
	}
	closedir(d);
	return n;
}

#define CHECK_NO_LEAK(what)                                                                 \
	do {                                                                                \
		int n_ = t_count_fds();                                                     \
		if (n_ != base_count)                                                       \
			T_FAIL("%s: %d descriptors open, %d before", what, n_, base_count); \
	} while (0)

static void chan_fd_ok(ipk_chan *ch, const char *what)
{
	int fd = ipk_chan_fd(ch);
	int fl;

	if (fd < 0)
		T_FAIL("%s: ipk_chan_fd() = %d", what, fd);
	T_TRUE(fd >= MAXFD || !base_set[fd]);
	T_TRUE(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	fl = (int)T_SYS(fcntl(fd, F_GETFL));
	if (!(fl & O_NONBLOCK))
		T_FAIL("%s: ipk_chan_fd() %d is blocking", what, fd);
}

static void pair_round(const char *kind)
{
	struct it_pair p;
	char buf[16];

	it_pair_open(&p, kind, "fds", NULL);
	chan_fd_ok(p.tx, kind);
	chan_fd_ok(p.rx, kind);
	T_TRUE(check_new_cloexec(kind) >= 2);
	T_EQ(ipk_chan_send(p.tx, "x", 1, IPK_SEC), 0);
	T_EQ(ipk_chan_recv(p.rx, buf, sizeof(buf), IPK_SEC), 1);
	it_pair_close(&p);
	CHECK_NO_LEAK(kind);
}

static void listener_round(const char *url)
{
	ipk_listener *l = NULL;
	ipk_chan *a = NULL, *b = NULL;
	char curl[512];
	char buf[16];

	T_EQ(ipk_listen(url, 0, &l), 0);
	T_TRUE(ipk_listener_fd(l) >= 0);
	T_TRUE(fcntl(ipk_listener_fd(l), F_GETFD) & FD_CLOEXEC);
	T_TRUE(ipk_listener_url(l, curl, sizeof(curl)) > 0);
	T_EQ(ipk_chan_open(curl, 0, IPK_SEC, &a), 0);
	T_EQ(ipk_accept(l, IPK_SEC, &b), 0);
	chan_fd_ok(a, url);
	chan_fd_ok(b, url);
	T_TRUE(check_new_cloexec(url) >= 3);
	T_EQ(ipk_chan_send(a, "x", 1, IPK_SEC), 0);
	T_EQ(ipk_chan_recv(b, buf, sizeof(buf), IPK_SEC), 1);
	/* A peer that went away, then the failed calls on it. */
	ipk_chan_close(a);
	T_EQ(ipk_chan_recv(b, buf, sizeof(buf), IPK_SEC), -EPIPE);
	T_EQ(ipk_accept(l, 0, &a), -EAGAIN);
	T_EQ(ipk_accept(l, 20 * IPK_MSEC, &a), -ETIMEDOUT);
	ipk_chan_close(b);
	ipk_listener_close(l);
	CHECK_NO_LEAK(url);
}

static int one_client(void *arg)
{
	ipk_chan *ch = NULL;

	T_EQ(ipk_chan_open(arg, 0, 5 * IPK_SEC, &ch), 0);
	T_EQ(ipk_chan_send(ch, "hello", 5, 5 * IPK_SEC), 0);
	ipk_chan_close(ch);
	return 0;
}

static void failures(void)
{
	char path[128], url[512], longp[256], victim[128];
	ipk_chan *ch = NULL, *rd = NULL;
	ipk_listener *l = NULL, *l2 = NULL;
	size_t n;

	t_path(path, sizeof(path), "fds-fail");
	t_path(victim, sizeof(victim), "fds-victim");
	(void)unlink(path);
	(void)unlink(victim);
	n = (size_t)snprintf(longp, sizeof(longp), "unix:/tmp/ipk-fds-long-%d-", (int)getpid());
	memset(longp + n, 'a', 205 - n);
	longp[205] = '\0';

	/* Malformed URLs and unknown schemes. */
	T_EQ(ipk_chan_open("bogus:/x", 0, 0, &ch), -EINVAL);
	T_EQ(ipk_chan_open("tcp:host:99999", 0, 0, &ch), -EINVAL);
	T_EQ(ipk_chan_open("fifo:/x?msgsize=0", IPK_CHAN_RDONLY, 0, &ch), -EINVAL);
	T_EQ(ipk_listen("unix:", 0, &l), -EINVAL);
	T_EQ(ipk_chan_pipe("pipe:?pipesize=x", 0, &rd, &ch), -EINVAL);
	/* nothing on port 1: refused with the nats transport, unsupported
	 * without it (-Dnats=disabled); no descriptor or thread's fd stays */
	{
		int nr = ipk_chan_open("nats://127.0.0.1:1/ipk-fds", 0, 0, &ch);

		T_TRUE(nr == -ECONNREFUSED || nr == -EPROTONOSUPPORT);
	}
	CHECK_NO_LEAK("malformed URLs");

	/* Names too long. */
	T_EQ(ipk_chan_open(longp, IPK_CHAN_CREATE, 0, &ch), -ENAMETOOLONG);
	T_EQ(ipk_chan_open(longp, 0, 0, &ch), -ENAMETOOLONG);
	T_EQ(ipk_listen(longp, 0, &l), -ENAMETOOLONG);
	CHECK_NO_LEAK("ENAMETOOLONG");

	/* Nobody there: timeouts and their zero-timeout forms. */
	it_url(url, sizeof(url), "unix", path, NULL);
	T_EQ(ipk_chan_open(url, 0, 0, &ch), -ENOENT);
	T_EQ(ipk_chan_open(url, IPK_CHAN_NONBLOCK, IPK_SEC, &ch), -ENOENT);
	T_EQ(ipk_chan_open(url, 0, 50 * IPK_MSEC, &ch), -ETIMEDOUT);
	it_url(url, sizeof(url), "unix+seqpacket", path, NULL);
	T_EQ(ipk_chan_open(url, 0, 50 * IPK_MSEC, &ch), -ETIMEDOUT);
	it_url(url, sizeof(url), "unix+dgram", path, NULL);
	T_EQ(ipk_chan_open(url, 0, 50 * IPK_MSEC, &ch), -ETIMEDOUT);
	T_EQ(ipk_chan_open("tcp:127.0.0.1:1", 0, 50 * IPK_MSEC, &ch), -ETIMEDOUT);
	it_url(url, sizeof(url), "unix", path, NULL);
	T_EQ(ipk_chan_open(url, IPK_CHAN_CREATE, 50 * IPK_MSEC, &ch), -ETIMEDOUT);
	T_EQ(access(path, F_OK), -1);
	T_SYS(mkfifo(path, 0600));
	it_url(url, sizeof(url), "fifo", path, NULL);
	T_EQ(ipk_chan_open(url, IPK_CHAN_WRONLY, 0, &ch), -ENXIO);
	T_EQ(ipk_chan_open(url, IPK_CHAN_WRONLY, 50 * IPK_MSEC, &ch), -ETIMEDOUT);
	T_EQ(ipk_chan_open(url, IPK_CHAN_CREATE | IPK_CHAN_EXCL | IPK_CHAN_RDONLY, 0, &ch),
	     -EEXIST);
	T_EQ(ipk_chan_open(url, IPK_CHAN_RDONLY | IPK_CHAN_WRONLY, 0, &ch), -EINVAL);
	T_SYS(unlink(path));
	CHECK_NO_LEAK("timeouts");

	/* A live server's address. */
	it_url(url, sizeof(url), "unix", path, NULL);
	T_EQ(ipk_listen(url, 0, &l), 0);
	T_EQ(ipk_listen(url, 0, &l2), -EADDRINUSE);
	T_EQ(ipk_chan_open(url, IPK_CHAN_CREATE, 0, &ch), -EADDRINUSE);
	ipk_listener_close(l);
	l = NULL;
	it_url(url, sizeof(url), "unix+dgram", path, NULL);
	T_EQ(ipk_chan_open(url, IPK_CHAN_CREATE, 0, &rd), 0);
	T_EQ(ipk_chan_open(url, IPK_CHAN_CREATE, 0, &ch), -EADDRINUSE);
	T_EQ(ipk_listen(url, 0, &l), -EOPNOTSUPP);
	ipk_chan_close(rd);
	rd = NULL;
	T_EQ(ipk_listen("tcp:127.0.0.1:0", 0, &l), 0);
	{
		char curl[512];

		T_TRUE(ipk_listener_url(l, curl, sizeof(curl)) > 0);
		T_EQ(ipk_listen(curl, 0, &l2), -EADDRINUSE);
		T_EQ(ipk_listener_url(l, curl, 3), -ENOSPC);
	}
	ipk_listener_close(l);
	l = NULL;
	CHECK_NO_LEAK("EADDRINUSE");

	/* A planted symlink. */
	T_SYS(symlink(victim, path));
	it_url(url, sizeof(url), "fifo", path, NULL);
	T_EQ(ipk_chan_open(url, IPK_CHAN_CREATE | IPK_CHAN_RDONLY, 0, &ch), -ELOOP);
	it_url(url, sizeof(url), "unix", path, NULL);
	T_EQ(ipk_listen(url, 0, &l), -ELOOP);
	T_EQ(ipk_chan_open(url, IPK_CHAN_CREATE, 0, &ch), -ELOOP);
	T_SYS(unlink(path));
	CHECK_NO_LEAK("ELOOP");

	/* Too big, and refused frames. */
	{
		struct it_pair p;
		static char big[70000];

		it_pair_open(&p, "unix", "fds-big", NULL);
		T_EQ(ipk_chan_send(p.tx, big, sizeof(big), 0), -EMSGSIZE);
		T_EQ(ipk_chan_send(p.tx, big, 100, 0), 0);
		T_EQ(ipk_chan_recv(p.rx, big, 10, IPK_SEC), -EMSGSIZE);
		it_pair_close(&p);
	}
	T_TRUE(ch == NULL && l == NULL && l2 == NULL && rd == NULL);
	CHECK_NO_LEAK("EMSGSIZE");
}

int main(void)
{
	static const char *const kinds[] = { IT_KINDS_ALL };
	char path[128], url[512];
	pid_t pid;

	snapshot();

	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		pair_round(kinds[i]);

	t_path(path, sizeof(path), "fds-l");
	(void)unlink(path);
	listener_round("tcp:127.0.0.1:0");
	it_url(url, sizeof(url), "unix", path, NULL);
	listener_round(url);
	it_url(url, sizeof(url), "unix+seqpacket", path, NULL);
	listener_round(url);
	snprintf(url, sizeof(url), "unix:@ipk-fds-%d", (int)getpid());
	listener_round(url);

	/* The one-peer server of ipk_chan_open(CREATE). */
	{
		ipk_chan *srv = NULL;
		char buf[16];

		it_url(url, sizeof(url), "unix", path, NULL);
		pid = t_fork(one_client, url);
		T_EQ(ipk_chan_open(url, IPK_CHAN_CREATE, 5 * IPK_SEC, &srv), 0);
		chan_fd_ok(srv, "unix CREATE");
		T_EQ(check_new_cloexec("unix CREATE"), 1);
		T_EQ(ipk_chan_recv(srv, buf, sizeof(buf), 5 * IPK_SEC), 5);
		t_wait_exit(pid, 0);
		ipk_chan_close(srv);
		CHECK_NO_LEAK("unix CREATE");
	}

	failures();
	T_EQ(t_count_fds(), base_count);
	return 0;
}
