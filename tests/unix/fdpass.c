/* SPDX-License-Identifier: MIT */
/*
 * fd passing and credentials (unix.h) between real processes: 1..N
 * descriptors with a payload, close-on-exec on arrival, the per-message
 * cap, descriptors nobody expected, more than SCM_MAX_FD, EMFILE in the
 * receiver, a datagram too long, SO_PEERCRED, SO_PEERPIDFD and
 * SCM_CREDENTIALS. Every error path counts open descriptors before and
 * after: nothing may leak.
 *
 * `test-unix_fdpass peerpidfd` is the SO_PEERPIDFD part alone (Linux 6.5;
 * skips (77) on older kernels).
 */
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include "../harness.h"
#include <ipckit/unix.h>

#define S (5 * IPK_SEC)

static int sv[2];

/* Child: send @n pipes' read ends with "hello", write "x" into each. */
static int send_pipes(void *arg)
{
	unsigned n = (unsigned)(uintptr_t)arg;
	int fds[IPK_FD_MAX], p[2];

	for (unsigned i = 0; i < n; i++) {
		if (pipe2(p, O_CLOEXEC) < 0)
			return 10;
		if (write(p[1], "x", 1) != 1)
			return 11;
		close(p[1]);
		fds[i] = p[0];
	}
	if (ipk_fd_send(sv[1], "hello", 5, fds, n, S) < 0)
		return 12;
	return 0;
}

static void check_pipes(unsigned n)
{
	int fds[IPK_FD_MAX];
	struct ipk_fdmsg m = { .fds = fds, .max_fds = IPK_FD_MAX };
	char buf[16];
	pid_t pid = t_fork(send_pipes, (void *)(uintptr_t)n);
	int before = t_count_fds();

	T_EQ(ipk_fd_recv(sv[0], buf, 5, &m, S), 5); /* stream: exactly 5 */
	T_MEMEQ(buf, "hello", 5);
	T_EQ(m.nfds, n);
	T_EQ(t_count_fds(), before + (int)n);
	for (unsigned i = 0; i < n; i++) {
		char c;

		T_EQ(fcntl(fds[i], F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
		T_EQ(read(fds[i], &c, 1), 1);
		T_EQ(c, 'x');
		close(fds[i]);
	}
	t_wait_exit(pid, 0);
}

/* Child: sends @n descriptors (copies of stdin) and "x". */
static int send_n(void *arg)
{
	unsigned n = (unsigned)(uintptr_t)arg;
	int fds[IPK_FD_MAX];

	for (unsigned i = 0; i < n; i++)
		fds[i] = 0;
	return ipk_fd_send(sv[1], "x", 1, fds, n, S) < 0 ? 1 : 0;
}

/* The receiver's cap is 2 and 3 arrive; then none are expected. */
static void cap_and_unexpected(void)
{
	int fds[4], before = t_count_fds();
	struct ipk_fdmsg m = { .fds = fds, .max_fds = 2 };
	char c;
	pid_t pid;

	pid = t_fork(send_n, (void *)(uintptr_t)3);
	T_EQ(ipk_fd_recv(sv[0], &c, 1, &m, S), -ETOOMANYREFS);
	t_wait_exit(pid, 0);
	T_EQ(t_count_fds(), before);
	T_EQ(m.nfds, 0); /* not written on failure */

	pid = t_fork(send_n, (void *)(uintptr_t)1);
	T_EQ(ipk_fd_recv(sv[0], &c, 1, NULL, S), -EBADMSG);
	t_wait_exit(pid, 0);
	T_EQ(t_count_fds(), before);

	m.max_fds = 0;
	pid = t_fork(send_n, (void *)(uintptr_t)2);
	T_EQ(ipk_fd_recv(sv[0], &c, 1, &m, S), -EBADMSG);
	t_wait_exit(pid, 0);
	T_EQ(t_count_fds(), before);

	/* the socket still works afterwards */
	pid = t_fork(send_n, (void *)(uintptr_t)0);
	T_EQ(ipk_fd_recv(sv[0], &c, 1, NULL, S), 1);
	t_wait_exit(pid, 0);
}

/* More than SCM_MAX_FD: refused before anything is sent. */
static void over_scm_max(void)
{
	int fds[IPK_FD_MAX + 1] = { 0 };
	char c;

	T_EQ(ipk_fd_send(sv[1], "x", 1, fds, IPK_FD_MAX + 1, S), -ETOOMANYREFS);
	T_EQ(ipk_fd_recv(sv[0], &c, 1, NULL, 0), -EAGAIN);
	/* exactly the limit goes through */
	{
		int got[IPK_FD_MAX], before = t_count_fds();
		struct ipk_fdmsg m = { .fds = got, .max_fds = IPK_FD_MAX };

		T_OK(ipk_fd_send(sv[1], "x", 1, fds, IPK_FD_MAX, S));
		T_EQ(ipk_fd_recv(sv[0], &c, 1, &m, S), 1);
		T_EQ(m.nfds, IPK_FD_MAX);
		for (unsigned i = 0; i < m.nfds; i++)
			close(got[i]);
		T_EQ(t_count_fds(), before);
	}
	T_EQ(ipk_fd_send(sv[1], "", 0, fds, 1, S), -EINVAL);
	fds[0] = 1000000;
	T_EQ(ipk_fd_send(sv[1], "x", 1, fds, 1, S), -EBADF);
}

/* Receiver at its descriptor limit: -EMFILE, nothing leaks. */
static int emfile_child(void *arg)
{
	int fds[16], fill[4096], nfill = 0, highest = 0;
	struct ipk_fdmsg m = { .fds = fds, .max_fds = 16 };
	struct rlimit rl;
	char c;
	int before, r;

	(void)arg;
	for (int fd = 4095; fd >= 0; fd--)
		if (fcntl(fd, F_GETFD) >= 0) {
			highest = fd;
			break;
		}
	rl.rlim_cur = rl.rlim_max = (rlim_t)highest + 1 + 8;
	if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
		return 20;
	/* fill every free slot, then free exactly 3 of them */
	while (nfill < 4096 && (fill[nfill] = open("/dev/null", O_RDONLY | O_CLOEXEC)) >= 0)
		nfill++;
	if (errno != EMFILE || nfill < 3)
		return 23;
	for (int i = 0; i < 3; i++)
		close(fill[--nfill]);
	before = t_count_fds();
	r = (int)ipk_fd_recv(sv[0], &c, 1, &m, S);
	if (r != -EMFILE) {
		fprintf(stderr, "emfile: got %d\n", r);
		return 21;
	}
	if (t_count_fds() != before)
		return 22;
	return 0;
}

static void emfile(void)
{
	int fds[10] = { 0 };
	pid_t pid;

	T_OK(ipk_fd_send(sv[1], "x", 1, fds, 10, S));
	pid = t_fork(emfile_child, NULL);
	t_wait_exit(pid, 0);
}

/* Datagram: one whole message; a too-long one is -EMSGSIZE, fds closed. */
static void datagram(void)
{
	int d[2], fds[2] = { 0, 1 }, got[2], before;
	struct ipk_fdmsg m = { .fds = got, .max_fds = 2 };
	char buf[4];

	T_SYS(socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, d));
	before = t_count_fds();
	T_OK(ipk_fd_send(d[1], "toolong", 7, fds, 2, S));
	T_EQ(ipk_fd_recv(d[0], buf, sizeof(buf), &m, S), -EMSGSIZE);
	T_EQ(t_count_fds(), before);
	T_OK(ipk_fd_send(d[1], "ok", 2, fds, 2, S));
	T_EQ(ipk_fd_recv(d[0], buf, sizeof(buf), &m, S), 2);
	T_EQ(m.nfds, 2);
	close(got[0]);
	close(got[1]);
	T_EQ(ipk_fd_recv(d[0], buf, sizeof(buf), &m, 0), -EAGAIN);
	T_EQ(ipk_fd_recv(d[0], buf, sizeof(buf), &m, 50 * IPK_MSEC), -ETIMEDOUT);
	close(d[0]);
	close(d[1]);
}

/* Stream: exactly @len bytes; EOF before a byte is -EPIPE, mid-way -EPROTO. */
static void stream_eof(void)
{
	int s[2];
	char buf[8];

	T_SYS(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, s));
	T_OK(ipk_fd_send(s[1], "abc", 3, NULL, 0, S));
	close(s[1]);
	T_EQ(ipk_fd_recv(s[0], buf, 8, NULL, S), -EPROTO);
	close(s[0]);
	T_SYS(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, s));
	close(s[1]);
	T_EQ(ipk_fd_recv(s[0], buf, 8, NULL, S), -EPIPE);
	close(s[0]);
}

static int passcred_child(void *arg)
{
	(void)arg;
	return ipk_fd_send(sv[1], "c", 1, NULL, 0, S) < 0 ? 1 : 0;
}

static void credentials(void)
{
	struct ipk_cred c;
	struct ipk_fdmsg m = { 0 };
	char b;
	pid_t pid;

	T_OK(ipk_peer_cred(sv[0], &c));
	T_EQ(c.pid, getpid()); /* socketpair: both ends are ours */
	T_EQ(c.uid, getuid());
	T_EQ(c.gid, getgid());
	T_EQ(ipk_peer_cred(0 + 1000000, &c), -EBADF);

	T_OK(ipk_sock_passcred(sv[0], true));
	pid = t_fork(passcred_child, NULL);
	T_EQ(ipk_fd_recv(sv[0], &b, 1, &m, S), 1);
	T_TRUE(m.has_cred);
	T_EQ(m.cred.pid, pid); /* the sender, not the socket's creator */
	T_EQ(m.cred.uid, getuid());
	t_wait_exit(pid, 0);
	T_OK(ipk_sock_passcred(sv[0], false));
}

/* The pid a pidfd refers to, from /proc/self/fdinfo ("Pid:"). */
static long pidfd_pid(int pfd)
{
	char path[64], line[128];
	long pid = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", pfd);
	f = fopen(path, "re");
	if (!f)
		T_FAIL("%s: %s", path, strerror(errno));
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "Pid: %ld", &pid) == 1)
			break;
	fclose(f);
	return pid;
}

/* SO_PEERPIDFD: a close-on-exec pidfd of the process at the other end. */
static int peer_pidfd(void)
{
	int pfd, before;

	T_SYS(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv));
	before = t_count_fds();
	pfd = ipk_peer_pidfd(sv[0]);
	if (pfd == -EOPNOTSUPP)
		T_SKIP("SO_PEERPIDFD is not in this kernel (Linux 6.5): ipk_peer_pidfd() is "
		       "-EOPNOTSUPP");
	T_OK(pfd);
	T_EQ(t_count_fds(), before + 1);
	T_EQ(fcntl(pfd, F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
	T_EQ(pidfd_pid(pfd), (long)getpid()); /* socketpair: both ends are ours */
	close(pfd);
	close(sv[0]);
	close(sv[1]);
	printf("ok: SO_PEERPIDFD gives a close-on-exec pidfd of the peer\n");
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 2 && !strcmp(argv[1], "peerpidfd"))
		return peer_pidfd();
	if (argc != 1)
		T_FAIL("usage: %s [peerpidfd]", argv[0]);
	signal(SIGPIPE, SIG_IGN);
	T_SYS(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv));
	check_pipes(1);
	check_pipes(7);
	cap_and_unexpected();
	over_scm_max();
	emfile();
	datagram();
	stream_eof();
	credentials();
	close(sv[0]);
	close(sv[1]);
	/* stream socket: 3 descriptors with a payload */
	T_SYS(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv));
	check_pipes(3);
	printf("ok\n");
	return 0;
}
