/* SPDX-License-Identifier: MIT */
/*
 * paths.c - named objects on the filesystem:
 * - a socket path or abstract name that does not fit sun_path is
 *   -ENAMETOOLONG (and the longest that fits works);
 * - a stale socket file is replaced; a live server's socket is never
 *   deleted (-EADDRINUSE) and that server still accepts afterwards;
 * - IPK_CHAN_EXCL on an existing path is -EEXIST; a file that is not ours
 *   (not a FIFO, not a socket) is never replaced;
 * - a planted symlink is not followed on create (-ELOOP): the victim and
 *   the link stay as they were;
 * - created FIFOs and sockets get mode 0600, or perm= exactly;
 * - the creator removes what it created on close, unless IPK_CHAN_KEEP,
 *   and a listener does not remove a socket another server put there.
 */
#include "it.h"

static char path[128], path2[128], victim[128], url[512];

static void u(const char *scheme, const char *p, const char *opts)
{
	it_url(url, sizeof(url), scheme, p, opts);
}

static int exists(const char *p)
{
	struct stat st;

	return lstat(p, &st) == 0;
}

static struct stat lst(const char *p)
{
	struct stat st;

	T_SYS(lstat(p, &st));
	return st;
}

/* A socket file with nobody behind it: bind, close, no unlink. */
static void make_stale(const char *p)
{
	struct sockaddr_un sa;
	socklen_t salen;
	int fd = (int)T_SYS(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));

	it_sun(&sa, &salen, p);
	T_SYS(bind(fd, (struct sockaddr *)&sa, salen));
	close(fd);
	T_TRUE(S_ISSOCK(lst(p).st_mode));
}

static void write_file(const char *p, const char *text)
{
	int fd = (int)T_SYS(open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));

	it_write_all(fd, text, strlen(text));
	close(fd);
}

/* The victim is still a regular file with @text, same inode. */
static void check_victim(const char *p, ino_t ino, const char *text)
{
	char buf[64] = { 0 };
	struct stat st = lst(p);
	int fd;

	T_TRUE(S_ISREG(st.st_mode));
	T_EQ(st.st_ino, ino);
	T_EQ(st.st_mode & 07777, 0644);
	fd = (int)T_SYS(open(p, O_RDONLY | O_CLOEXEC));
	T_EQ(read(fd, buf, sizeof(buf) - 1), (ssize_t)strlen(text));
	close(fd);
	T_TRUE(strcmp(buf, text) == 0);
}

static void check_link(const char *p, const char *target)
{
	char buf[256];
	ssize_t n;

	T_TRUE(S_ISLNK(lst(p).st_mode));
	n = readlink(p, buf, sizeof(buf) - 1);
	T_TRUE(n > 0);
	buf[n] = '\0';
	T_TRUE(strcmp(buf, target) == 0);
}

/* A client process: connect to @arg, send "ping", expect "pong". */
static int pinger(void *arg)
{
	const char *to = arg;
	ipk_chan *ch = NULL;
	char buf[16];

	T_EQ(ipk_chan_open(to, 0, 5 * IPK_SEC, &ch), 0);
	T_EQ(ipk_chan_send(ch, "ping", 4, 5 * IPK_SEC), 0);
	T_EQ(ipk_chan_recv(ch, buf, sizeof(buf), 5 * IPK_SEC), 4);
	T_MEMEQ(buf, "pong", 4);
	ipk_chan_close(ch);
	return 0;
}

/* Serve one pinger on @l. The liveness probe of a refused second server
 * must not have queued a connection: the first one accepted is the pinger. */
static void serve_one(ipk_listener *l)
{
	char buf[16];
	ipk_chan *ch = NULL;

	T_EQ(ipk_accept(l, 5 * IPK_SEC, &ch), 0);
	T_EQ(ipk_chan_recv(ch, buf, sizeof(buf), 5 * IPK_SEC), 4);
	T_MEMEQ(buf, "ping", 4);
	T_EQ(ipk_chan_send(ch, "pong", 4, 5 * IPK_SEC), 0);
	ipk_chan_close(ch);
}

static void listen_and_ping(const char *lurl)
{
	ipk_listener *l = NULL;
	pid_t pid;

	T_EQ(ipk_listen(lurl, 0, &l), 0);
	pid = t_fork(pinger, (void *)lurl);
	serve_one(l);
	t_wait_exit(pid, 0);
	ipk_listener_close(l);
}

static void too_long(void)
{
	char longp[256], abs_ok[128], abs_long[128], fits[128];
	static const char *const schemes[] = { "unix", "unix+dgram", "unix+seqpacket" };
	ipk_chan *ch = NULL;
	ipk_listener *l = NULL;
	size_t n;

	/* 200 bytes: fits no sun_path (108). */
	n = (size_t)snprintf(longp, sizeof(longp), "/tmp/ipk-long-%d-", (int)getpid());
	memset(longp + n, 'a', 200 - n);
	longp[200] = '\0';
	/* Abstract: sun_path holds the leading NUL and 107 bytes of name. */
	n = (size_t)snprintf(abs_ok, sizeof(abs_ok), "@ipk-abs-%d-", (int)getpid());
	memset(abs_ok + n, 'b', 108 - n);
	abs_ok[108] = '\0';
	memcpy(abs_long, abs_ok, 108);
	abs_long[108] = 'c';
	abs_long[109] = '\0';
	/* Path: 107 bytes and the NUL fill sun_path exactly. */
	n = (size_t)snprintf(fits, sizeof(fits), "/tmp/ipk-fits-%d-", (int)getpid());
	memset(fits + n, 'f', 107 - n);
	fits[107] = '\0';
	T_EQ(strlen(longp), 200);
	T_EQ(strlen(abs_ok), 108);
	T_EQ(strlen(abs_long), 109);
	T_EQ(strlen(fits), 107);

	for (size_t i = 0; i < 3; i++) {
		const char *names[] = { longp, abs_long };

		for (size_t j = 0; j < 2; j++) {
			u(schemes[i], names[j], NULL);
			T_EQ(ipk_chan_open(url, IPK_CHAN_CREATE, 0, &ch), -ENAMETOOLONG);
			T_EQ(ipk_chan_open(url, 0, 0, &ch), -ENAMETOOLONG);
			/* Not a missing server: no retrying until the deadline. */
			T_EQ(ipk_chan_open(url, 0, 200 * IPK_MSEC, &ch), -ENAMETOOLONG);
			if (i != 1)
				T_EQ(ipk_listen(url, 0, &l), -ENAMETOOLONG);
			T_TRUE(ch == NULL && l == NULL);
		}
	}
	T_TRUE(!exists(longp));

	/* The longest names that fit work. */
	u("unix", fits, NULL);
	(void)unlink(fits);
	listen_and_ping(url);
	T_TRUE(!exists(fits));
	u("unix", abs_ok, NULL);
	listen_and_ping(url);
}

static int create_server(void *arg)
{
	const char *srv = arg;
	ipk_chan *ch = NULL;
	char buf[16];

	T_EQ(ipk_chan_open(srv, IPK_CHAN_CREATE, 5 * IPK_SEC, &ch), 0);
	T_EQ(ipk_chan_recv(ch, buf, sizeof(buf), 5 * IPK_SEC), 4);
	T_MEMEQ(buf, "ping", 4);
	T_EQ(ipk_chan_send(ch, "pong", 4, 5 * IPK_SEC), 0);
	ipk_chan_close(ch);
	return 0;
}

static void stale(void)
{
	ipk_chan *srv = NULL, *cl = NULL;
	char buf[16];
	pid_t pid;

	/* A connector finds nobody there (and leaves the file alone). */
	make_stale(path);
	u("unix", path, NULL);
	T_EQ(ipk_chan_open(url, 0, 0, &cl), -ECONNREFUSED);
	T_EQ(ipk_chan_open(url, 0, 100 * IPK_MSEC, &cl), -ETIMEDOUT);
	T_TRUE(S_ISSOCK(lst(path).st_mode));
	T_SYS(unlink(path));
	T_EQ(ipk_chan_open(url, 0, 0, &cl), -ENOENT);
	T_TRUE(cl == NULL);

	/* ipk_listen over a stale file. */
	make_stale(path);
	listen_and_ping(url);
	T_TRUE(!exists(path));

	make_stale(path);
	u("unix+seqpacket", path, NULL);
	listen_and_ping(url);
	T_TRUE(!exists(path));

	/* ipk_chan_open(CREATE) over a stale file. */
	make_stale(path);
	u("unix", path, NULL);
	pid = t_fork(create_server, url);
	T_EQ(pinger(url), 0);
	t_wait_exit(pid, 0);
	T_TRUE(!exists(path));

	/* unix+dgram over a stale file. */
	make_stale(path);
	u("unix+dgram", path, NULL);
	T_EQ(ipk_chan_open(url, IPK_CHAN_CREATE, 0, &srv), 0);
	T_TRUE(S_ISSOCK(lst(path).st_mode));
	T_EQ(ipk_chan_open(url, 0, IPK_SEC, &cl), 0);
	T_EQ(ipk_chan_send(cl, "ping", 4, IPK_SEC), 0);
	T_EQ(ipk_chan_recv(srv, buf, sizeof(buf), IPK_SEC), 4);
	ipk_chan_close(cl);
	ipk_chan_close(srv);
	T_TRUE(!exists(path));
}

static void live(void)
{
	ipk_listener *l = NULL, *l2 = NULL;
	ipk_chan *ch = NULL, *srv = NULL, *cl = NULL;
	struct stat st;
	char buf[16];
	pid_t pid;

	static const char *const schemes[] = { "unix", "unix+seqpacket" };

	for (size_t i = 0; i < 2; i++) {
		u(schemes[i], path, NULL);
		T_EQ(ipk_listen(url, 0, &l), 0);
		st = lst(path);
		T_TRUE(S_ISSOCK(st.st_mode));
		T_EQ(ipk_listen(url, 0, &l2), -EADDRINUSE);
		T_EQ(ipk_chan_open(url, IPK_CHAN_CREATE, 0, &ch), -EADDRINUSE);
		T_EQ(ipk_chan_open(url, IPK_CHAN_CREATE, 200 * IPK_MSEC, &ch), -EADDRINUSE);
		T_EQ(ipk_chan_open(url, IPK_CHAN_CREATE | IPK_CHAN_KEEP, 0, &ch), -EADDRINUSE);
		T_TRUE(l2 == NULL && ch == NULL);
		/* The very same socket file, and its server still serves. */
		T_EQ(lst(path).st_ino, st.st_ino);
		pid = t_fork(pinger, url);
		serve_one(l);
		t_wait_exit(pid, 0);
		ipk_listener_close(l);
		T_TRUE(!exists(path));
	}

	/* Abstract names: the kernel itself says who is there. */
	snprintf(path2, sizeof(path2), "@ipk-live-%d", (int)getpid());
	u("unix", path2, NULL);
	T_EQ(ipk_listen(url, 0, &l), 0);
	T_EQ(ipk_listen(url, 0, &l2), -EADDRINUSE);
	pid = t_fork(pinger, url);
	serve_one(l);
	t_wait_exit(pid, 0);
	ipk_listener_close(l);

	/* A live datagram server. */
	u("unix+dgram", path, NULL);
	T_EQ(ipk_chan_open(url, IPK_CHAN_CREATE, 0, &srv), 0);
	st = lst(path);
	T_EQ(ipk_chan_open(url, IPK_CHAN_CREATE, 0, &ch), -EADDRINUSE);
	T_EQ(lst(path).st_ino, st.st_ino);
	T_EQ(ipk_chan_open(url, 0, IPK_SEC, &cl), 0);
	T_EQ(ipk_chan_send(cl, "ping", 4, IPK_SEC), 0);
	T_EQ(ipk_chan_recv(srv, buf, sizeof(buf), IPK_SEC), 4);
	T_MEMEQ(buf, "ping", 4);
	ipk_chan_close(cl);
	ipk_chan_close(srv);
	T_TRUE(!exists(path));
}

static void excl(void)
{
	ipk_chan *ch = NULL;
	ipk_listener *l = NULL;
	struct stat st;

	/* An existing FIFO: EXCL refuses it, without EXCL it is reused. */
	T_SYS(mkfifo(path, 0600));
	st = lst(path);
	u("fifo", path, NULL);
	T_EQ(ipk_chan_open(url, IPK_CHAN_CREATE | IPK_CHAN_EXCL | IPK_CHAN_RDONLY, 0, &ch),
	     -EEXIST);
	T_EQ(ipk_chan_open(url, IPK_CHAN_CREATE | IPK_CHAN_EXCL | IPK_CHAN_WRONLY, 0, &ch),
	     -EEXIST);
	T_TRUE(ch == NULL);
	T_EQ(lst(path).st_ino, st.st_ino);
	T_EQ(ipk_chan_open(url, IPK_CHAN_CREATE | IPK_CHAN_KEEP | IPK_CHAN_RDONLY, 0, &ch), 0);
	ipk_chan_close(ch);
	ch = NULL;
	T_EQ(lst(path).st_ino, st.st_ino);
	T_SYS(unlink(path));

	/* A stale socket: EXCL refuses to replace it. */
	make_stale(path);
	st = lst(path);
	u("unix", path, NULL);
	T_EQ(ipk_listen(url, IPK_CHAN_EXCL, &l), -EEXIST);
	T_EQ(ipk_chan_open(url, IPK_CHAN_CREATE | IPK_CHAN_EXCL, 0, &ch), -EEXIST);
	u("unix+dgram", path, NULL);
	T_EQ(ipk_chan_open(url, IPK_CHAN_CREATE | IPK_CHAN_EXCL, 0, &ch), -EEXIST);
	T_TRUE(ch == NULL && l == NULL);
	T_EQ(lst(path).st_ino, st.st_ino);
	T_SYS(unlink(path));

	/* A regular file is nobody's stale socket and no FIFO: left alone. */
	write_file(path, "data\n");
	st = lst(path);
	u("unix", path, NULL);
	T_EQ(ipk_listen(url, 0, &l), -EEXIST);
	T_EQ(ipk_chan_open(url, IPK_CHAN_CREATE, 0, &ch), -EEXIST);
	u("unix+seqpacket", path, NULL);
	T_EQ(ipk_listen(url, 0, &l), -EEXIST);
	u("unix+dgram", path, NULL);
	T_EQ(ipk_chan_open(url, IPK_CHAN_CREATE, 0, &ch), -EEXIST);
	u("fifo", path, NULL);
	T_EQ(ipk_chan_open(url, IPK_CHAN_CREATE | IPK_CHAN_RDONLY, 0, &ch), -EEXIST);
	T_EQ(ipk_chan_open(url, IPK_CHAN_CREATE | IPK_CHAN_WRONLY, 0, &ch), -EEXIST);
	T_TRUE(ch == NULL && l == NULL);
	check_victim(path, st.st_ino, "data\n");
	T_SYS(unlink(path));
}

static void symlinks(void)
{
	static const char *const sock_schemes[] = { "unix", "unix+dgram", "unix+seqpacket" };
	ipk_chan *ch = NULL;
	ipk_listener *l = NULL;
	struct stat st;

	/* Symlink to a regular file. */
	write_file(victim, "victim\n");
	st = lst(victim);
	T_SYS(symlink(victim, path));

	u("fifo", path, NULL);
	T_EQ(ipk_chan_open(url, IPK_CHAN_CREATE | IPK_CHAN_RDONLY, 0, &ch), -ELOOP);
	T_EQ(ipk_chan_open(url, IPK_CHAN_CREATE | IPK_CHAN_WRONLY, 0, &ch), -ELOOP);
	T_EQ(ipk_chan_open(url, IPK_CHAN_CREATE | IPK_CHAN_KEEP | IPK_CHAN_RDONLY, 0, &ch), -ELOOP);
	for (size_t i = 0; i < 3; i++) {
		u(sock_schemes[i], path, NULL);
		T_EQ(ipk_chan_open(url, IPK_CHAN_CREATE, 0, &ch), -ELOOP);
		if (i != 1)
			T_EQ(ipk_listen(url, 0, &l), -ELOOP);
	}
	T_TRUE(ch == NULL && l == NULL);
	check_victim(victim, st.st_ino, "victim\n");
	check_link(path, victim);
	T_SYS(unlink(path));
	T_SYS(unlink(victim));

	/* Symlink to a FIFO that is not ours: not reused through the link. */
	T_SYS(mkfifo(victim, 0644));
	st = lst(victim);
	T_SYS(symlink(victim, path));
	u("fifo", path, NULL);
	T_EQ(ipk_chan_open(url, IPK_CHAN_CREATE | IPK_CHAN_RDONLY, 0, &ch), -ELOOP);
	T_EQ(lst(victim).st_ino, st.st_ino);
	T_TRUE(S_ISFIFO(lst(victim).st_mode));
	check_link(path, victim);
	T_SYS(unlink(path));
	T_SYS(unlink(victim));

	/* Symlink to a stale socket: neither probed as ours nor replaced. */
	make_stale(victim);
	st = lst(victim);
	T_SYS(symlink(victim, path));
	for (size_t i = 0; i < 3; i++) {
		u(sock_schemes[i], path, NULL);
		T_EQ(ipk_chan_open(url, IPK_CHAN_CREATE, 0, &ch), -ELOOP);
		if (i != 1)
			T_EQ(ipk_listen(url, 0, &l), -ELOOP);
	}
	T_EQ(lst(victim).st_ino, st.st_ino);
	check_link(path, victim);
	T_SYS(unlink(path));
	T_SYS(unlink(victim));

	/* A dangling symlink: nothing gets created at its target. */
	T_SYS(symlink(victim, path));
	u("fifo", path, NULL);
	T_EQ(ipk_chan_open(url, IPK_CHAN_CREATE | IPK_CHAN_RDONLY, 0, &ch), -ELOOP);
	T_TRUE(!exists(victim));
	for (size_t i = 0; i < 3; i++) {
		u(sock_schemes[i], path, NULL);
		T_EQ(ipk_chan_open(url, IPK_CHAN_CREATE, 0, &ch), -ELOOP);
		if (i != 1)
			T_EQ(ipk_listen(url, 0, &l), -ELOOP);
	}
	T_TRUE(!exists(victim));
	check_link(path, victim);
	T_SYS(unlink(path));
}

static void expect_mode(const char *p, mode_t type, mode_t mode)
{
	struct stat st = lst(p);

	T_EQ(st.st_mode & S_IFMT, type);
	T_EQ(st.st_mode & 07777, mode);
}

static void modes_and_cleanup(void)
{
	ipk_chan *ch = NULL;
	ipk_listener *l = NULL;
	pid_t pid;

	/* umask 0: 0600 must come from the library, not from the umask. */
	umask(0);

	/* FIFO: default, perm=, removal on close, KEEP. */
	u("fifo", path, NULL);
	T_EQ(ipk_chan_open(url, IPK_CHAN_CREATE | IPK_CHAN_RDONLY, 0, &ch), 0);
	expect_mode(path, S_IFIFO, 0600);
	ipk_chan_close(ch);
	T_TRUE(!exists(path));
	u("fifo", path, "perm=0640");
	T_EQ(ipk_chan_open(url, IPK_CHAN_CREATE | IPK_CHAN_KEEP | IPK_CHAN_RDONLY, 0, &ch), 0);
	expect_mode(path, S_IFIFO, 0640);
	ipk_chan_close(ch);
	expect_mode(path, S_IFIFO, 0640);
	T_SYS(unlink(path));
	/* perm= applies whichever end creates. */
	{
		ipk_chan *rd = NULL;

		u("fifo", path, "perm=0604");
		T_EQ(ipk_chan_open(url, IPK_CHAN_CREATE | IPK_CHAN_RDONLY, 0, &rd), 0);
		expect_mode(path, S_IFIFO, 0604);
		T_EQ(ipk_chan_open(url, IPK_CHAN_CREATE | IPK_CHAN_WRONLY, 0, &ch), 0);
		expect_mode(path, S_IFIFO, 0604);
		ipk_chan_close(ch);
		ipk_chan_close(rd);
		T_TRUE(!exists(path));
	}

	/* Listening sockets. */
	u("unix", path, NULL);
	T_EQ(ipk_listen(url, 0, &l), 0);
	expect_mode(path, S_IFSOCK, 0600);
	ipk_listener_close(l);
	T_TRUE(!exists(path));
	u("unix+seqpacket", path, "perm=0640");
	T_EQ(ipk_listen(url, 0, &l), 0);
	expect_mode(path, S_IFSOCK, 0640);
	ipk_listener_close(l);
	T_TRUE(!exists(path));
	u("unix", path, "perm=0660");
	T_EQ(ipk_listen(url, IPK_CHAN_KEEP, &l), 0);
	expect_mode(path, S_IFSOCK, 0660);
	ipk_listener_close(l);
	expect_mode(path, S_IFSOCK, 0660);
	/* What is left is stale now, and is replaced by the next server. */
	u("unix", path, NULL);
	listen_and_ping(url);
	T_TRUE(!exists(path));

	/* Datagram server. */
	u("unix+dgram", path, NULL);
	T_EQ(ipk_chan_open(url, IPK_CHAN_CREATE, 0, &ch), 0);
	expect_mode(path, S_IFSOCK, 0600);
	ipk_chan_close(ch);
	T_TRUE(!exists(path));
	u("unix+dgram", path, "perm=0640");
	T_EQ(ipk_chan_open(url, IPK_CHAN_CREATE | IPK_CHAN_KEEP, 0, &ch), 0);
	expect_mode(path, S_IFSOCK, 0640);
	ipk_chan_close(ch);
	expect_mode(path, S_IFSOCK, 0640);
	T_SYS(unlink(path));

	/* One-peer stream server: gone after its peer came, kept with KEEP. */
	u("unix", path, NULL);
	pid = t_fork(create_server, url);
	T_EQ(pinger(url), 0);
	t_wait_exit(pid, 0);
	T_TRUE(!exists(path));
	{
		static char kurl[512];
		ipk_chan *srv = NULL;
		pid_t cpid;

		u("unix", path, "perm=0640");
		snprintf(kurl, sizeof(kurl), "%s", url);
		cpid = t_fork(pinger, kurl);
		T_EQ(ipk_chan_open(kurl, IPK_CHAN_CREATE | IPK_CHAN_KEEP, 5 * IPK_SEC, &srv), 0);
		{
			char buf[16];

			T_EQ(ipk_chan_recv(srv, buf, sizeof(buf), 5 * IPK_SEC), 4);
			T_EQ(ipk_chan_send(srv, "pong", 4, 5 * IPK_SEC), 0);
		}
		t_wait_exit(cpid, 0);
		ipk_chan_close(srv);
		expect_mode(path, S_IFSOCK, 0640);
		T_SYS(unlink(path));
	}

	/* A listener whose socket another server took over leaves it. */
	{
		struct sockaddr_un sa;
		socklen_t salen;
		struct stat st;
		int fd;

		u("unix", path, NULL);
		T_EQ(ipk_listen(url, 0, &l), 0);
		T_SYS(unlink(path));
		fd = (int)T_SYS(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
		it_sun(&sa, &salen, path);
		T_SYS(bind(fd, (struct sockaddr *)&sa, salen));
		T_SYS(listen(fd, 1));
		st = lst(path);
		ipk_listener_close(l);
		T_EQ(lst(path).st_ino, st.st_ino);
		close(fd);
		T_SYS(unlink(path));
	}

	/* A strict umask does not take bits away from an explicit perm=. */
	umask(077);
	u("fifo", path, "perm=0640");
	T_EQ(ipk_chan_open(url, IPK_CHAN_CREATE | IPK_CHAN_RDONLY, 0, &ch), 0);
	expect_mode(path, S_IFIFO, 0640);
	ipk_chan_close(ch);
	u("unix", path, "perm=0660");
	T_EQ(ipk_listen(url, 0, &l), 0);
	expect_mode(path, S_IFSOCK, 0660);
	ipk_listener_close(l);
	u("unix+dgram", path, "perm=0604");
	T_EQ(ipk_chan_open(url, IPK_CHAN_CREATE, 0, &ch), 0);
	expect_mode(path, S_IFSOCK, 0604);
	ipk_chan_close(ch);
	T_TRUE(!exists(path));
	umask(022);
}

int main(void)
{
	t_path(path, sizeof(path), "paths");
	t_path(path2, sizeof(path2), "paths2");
	t_path(victim, sizeof(victim), "victim");
	(void)unlink(path);
	(void)unlink(path2);
	(void)unlink(victim);

	too_long();
	stale();
	live();
	excl();
	symlinks();
	modes_and_cleanup();

	T_TRUE(!exists(path));
	T_TRUE(!exists(victim));
	return 0;
}
