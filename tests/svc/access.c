/* SPDX-License-Identifier: MIT */
/*
 * tests/svc/access.c - who may call, and what may be at the name.
 * "hostile": a regular file, a symbolic link, a live stream listener, a
 * seqpacket server that speaks another protocol, and stale and live
 * ipk_svc sockets at the name. "nobody" (root only; otherwise a skip): a
 * client running as uid/gid 65534 is refused by the server's policy
 * (-EACCES, counted with its uid), and by the socket file's mode 0600.
 * "impostor": a server that hands over a well-formed hello is accepted
 * only when both its memfds are sealed against resizing (-EPROTO
 * otherwise); one that accepts and closes at once gives -ECONNRESET.
 * "unacked": a peer that takes the server's hello and never answers is
 * dropped at the server's next look a second later.
 */
#include <fcntl.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "svc_internal.h"
#include "svc_test.h"

static int listener(const char *path, int type)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, type | SOCK_CLOEXEC, 0);

	T_SYS(fd);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	T_SYS(bind(fd, (struct sockaddr *)&sa, sizeof(sa)));
	T_SYS(listen(fd, 8));
	return fd;
}

static void hostile(void)
{
	char name[128], other[160];
	ipk_svc_client *c;
	ipk_svc *s, *s2;
	int fd;

	t_svc_name(name, sizeof(name), "hostile");
	/* names that are none */
	T_EQ(ipk_svc_create("relative", NULL, &s), -EINVAL);
	T_EQ(ipk_svc_create("@", NULL, &s), -EINVAL);
	T_EQ(ipk_svc_connect("", NULL, 0, &c), -EINVAL);

	/* a regular file */
	fd = open(name, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0600);
	T_SYS(fd);
	close(fd);
	T_EQ(ipk_svc_create(name, NULL, &s), -EEXIST);
	T_EQ(ipk_svc_connect(name, NULL, 100 * IPK_MSEC, &c), -ENOTSOCK);
	T_SYS(unlink(name));

	/* a symbolic link (to where a server could be made) */
	snprintf(other, sizeof(other), "%s-target", name);
	T_SYS(symlink(other, name));
	T_EQ(ipk_svc_create(name, NULL, &s), -ELOOP);
	T_EQ(access(other, F_OK), -1);
	T_SYS(unlink(name));

	/* a live stream listener: not replaced; a client is told -EPROTO */
	fd = listener(name, SOCK_STREAM);
	T_EQ(ipk_svc_create(name, NULL, &s), -EADDRINUSE);
	T_EQ(ipk_svc_connect(name, NULL, 100 * IPK_MSEC, &c), -EPROTO);
	close(fd);
	T_SYS(unlink(name));

	/* a seqpacket server that says something else */
	fd = listener(name, SOCK_SEQPACKET);
	pid_t kid = fork();

	T_SYS(kid);
	if (kid == 0) {
		int a = accept(fd, NULL, NULL);

		T_SYS(a);
		T_EQ(write(a, "HTTP/1.0 200 OK\r\n\r\n", 19), 19);
		char b;
		(void)read(a, &b, 1); /* until the client hangs up */
		_exit(0);
	}
	T_EQ(ipk_svc_connect(name, NULL, 10 * IPK_SEC, &c), -EPROTO);
	t_wait_exit(kid, 0);
	close(fd);
	T_SYS(unlink(name));

	/* a live ipk_svc server: -EADDRINUSE; stale (closed listener left
	 * behind): replaced, but not with IPK_SVC_EXCL */
	T_OK(ipk_svc_create(name, NULL, &s));
	T_EQ(ipk_svc_create(name, NULL, &s2), -EADDRINUSE);
	ipk_svc_close(s);
	T_EQ(access(name, F_OK), -1);
	fd = listener(name, SOCK_SEQPACKET);
	close(fd); /* the file stays, nobody listens */
	struct ipk_svc_opts excl = { .flags = IPK_SVC_EXCL };
	T_EQ(ipk_svc_create(name, &excl, &s), -EEXIST);
	T_OK(ipk_svc_create(name, NULL, &s));
	T_EQ(ipk_svc_create(name, NULL, &s2), -EADDRINUSE); /* ours is live there */
	ipk_svc_close(s);
	T_EQ(access(name, F_OK), -1);
}

/* A child as uid 65534 connects; the server in this process serves until
 * it exits. Returns the child's exit code (its connect's -errno). */
static int as_nobody(const char *name, ipk_svc *s)
{
	struct ipk_svc_req req;
	char buf[64];
	pid_t kid = fork();
	int st;

	T_SYS(kid);
	if (kid == 0) {
		ipk_svc_client *c;
		int r;

		if (t_drop_root() < 0)
			_exit(100);
		r = ipk_svc_connect(name, NULL, 10 * IPK_SEC, &c);
		if (r == 0)
			r = (int)ipk_svc_call(c, "e hi", 4, buf, sizeof(buf), 10 * IPK_SEC);
		_exit(r < 0 ? -r : 0);
	}
	for (;;) {
		ssize_t n = ipk_svc_recv(s, buf, sizeof(buf), &req, 10 * IPK_MSEC);

		if (n >= 0)
			T_OK(ipk_svc_reply(s, req.id, buf, (size_t)n));
		if (waitpid(kid, &st, WNOHANG) == kid)
			break;
	}
	T_TRUE(WIFEXITED(st));
	return WEXITSTATUS(st);
}

static void nobody(void)
{
	uid_t me = getuid();
	struct ipk_access pol = { .uids = &me, .n_uids = 1 };
	struct ipk_svc_opts open_to_all = { .mode = 0666, .access = &pol };
	struct ipk_cred who;
	char name[128];
	ipk_svc *s;

	if (geteuid() != 0)
		T_SKIP("needs root to run a client as uid 65534");
	t_svc_name(name, sizeof(name), "nobody");
	/* the file lets anyone connect: the policy refuses */
	T_OK(ipk_svc_create(name, &open_to_all, &s));
	T_EQ(as_nobody(name, s), EACCES);
	T_EQ(ipk_svc_refused(s, &who), 1);
	T_EQ(who.uid, 65534);
	T_EQ(who.gid, 65534);
	ipk_svc_close(s);
	/* the same without a policy: served */
	open_to_all.access = NULL;
	T_OK(ipk_svc_create(name, &open_to_all, &s));
	T_EQ(as_nobody(name, s), 0);
	T_EQ(ipk_svc_refused(s, NULL), 0);
	ipk_svc_close(s);
	/* mode 0600: the kernel refuses before the server sees anything */
	T_OK(ipk_svc_create(name, NULL, &s));
	T_EQ(as_nobody(name, s), EACCES);
	ipk_svc_close(s);
}

static int memfd_sized(uint64_t size, bool seal)
{
	int fd = memfd_create("t-svc", MFD_CLOEXEC | MFD_ALLOW_SEALING);

	T_SYS(fd);
	T_SYS(ftruncate(fd, (off_t)size));
	if (seal)
		T_SYS(fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL));
	return fd;
}

/* Fork a server at @lfd that answers one connection with a well-formed
 * hello, its memfds sealed or not, and waits for the client to go. */
static pid_t fake_server(int lfd, bool seal)
{
	pid_t kid = fork();

	T_SYS(kid);
	if (kid)
		return kid;
	struct svc_wire w = {
		.magic = SVC_HELLO_MAGIC, .version = SVC_VERSION, .slots = 4, .max_msg = 256
	};
	w.cap = svc_cap(w.slots, w.max_msg);
	w.size = svc_conn_size(w.cap);
	struct svc_page pg = { .magic = SVC_PAGE_MAGIC, .version = SVC_VERSION };
	struct svc_conn_hdr h = { .magic = SVC_CONN_MAGIC,
				  .version = SVC_VERSION,
				  .slots = w.slots,
				  .max_msg = w.max_msg,
				  .cap = w.cap };
	int fds[3], a, ack = -1;
	struct ipk_fdmsg m = { .fds = &ack, .max_fds = 1 };
	char buf[64];

	fds[0] = memfd_sized(SVC_PAGE, false);
	T_EQ(pwrite(fds[0], &pg, sizeof(pg), 0), (ssize_t)sizeof(pg));
	fds[1] = memfd_sized(w.size, false);
	T_EQ(pwrite(fds[1], &h, sizeof(h), 0), (ssize_t)sizeof(h));
	if (seal)
		for (int i = 0; i < 2; i++)
			T_SYS(fcntl(fds[i], F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW));
	fds[2] = eventfd(0, EFD_CLOEXEC);
	T_SYS(fds[2]);
	a = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	T_SYS(a);
	T_OK(ipk_fd_send(a, &w, sizeof(w), fds, 3, 10 * IPK_SEC));
	/* the ACK (if the client took the hello), then its hang-up */
	while (ipk_fd_recv(a, buf, sizeof(buf), &m, 10 * IPK_SEC) > 0)
		m.nfds = 0;
	_exit(0);
}

static void impostor(void)
{
	char name[128];
	ipk_svc_client *c;
	int lfd;
	pid_t kid;

	t_svc_name(name, sizeof(name), "impostor");
	lfd = listener(name, SOCK_SEQPACKET);

	/* sealed: the hello is good, the client connects */
	kid = fake_server(lfd, true);
	T_OK(ipk_svc_connect(name, NULL, 10 * IPK_SEC, &c));
	T_EQ(ipk_svc_max_msg(c), 256u);
	ipk_svc_client_close(c);
	t_wait_exit(kid, 0);

	/* unsealed: it could shrink them under the client's mappings */
	kid = fake_server(lfd, false);
	T_EQ(ipk_svc_connect(name, NULL, 10 * IPK_SEC, &c), -EPROTO);
	t_wait_exit(kid, 0);

	/* gone during the handshake: accepted, closed at once */
	kid = fork();
	T_SYS(kid);
	if (kid == 0) {
		int a = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);

		T_SYS(a);
		_exit(0);
	}
	T_EQ(ipk_svc_connect(name, NULL, 10 * IPK_SEC, &c), -ECONNRESET);
	t_wait_exit(kid, 0);

	close(lfd);
	T_SYS(unlink(name));
}

static void unacked(void)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fds[3] = { -1, -1, -1 }, fd;
	struct ipk_fdmsg m = { .fds = fds, .max_fds = 3 };
	struct ipk_svc_req req;
	struct svc_wire w;
	char name[sizeof(sa.sun_path)], buf[64];
	int64_t until;
	ipk_svc *s;

	t_svc_name(name, sizeof(name), "unacked");
	T_OK(ipk_svc_create(name, NULL, &s));
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	T_SYS(fd);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", name);
	T_SYS(connect(fd, (struct sockaddr *)&sa, sizeof(sa)));
	/* the server accepts and says hello; we never ACK */
	until = ipk__now_ns() + 10 * IPK_SEC;
	while (ipk_svc_clients(s) == 0 && ipk__now_ns() < until)
		T_EQ(ipk_svc_recv(s, buf, sizeof(buf), &req, 10 * IPK_MSEC), -ETIMEDOUT);
	T_EQ(ipk_svc_clients(s), 1u);
	T_EQ(ipk_fd_recv(fd, &w, sizeof(w), &m, 10 * IPK_SEC), (ssize_t)sizeof(w));
	T_EQ(m.nfds, 3u);
	for (unsigned i = 0; i < m.nfds; i++)
		close(fds[i]);
	/* dropped within a second or so of the hello (generous: 10 s) */
	until = ipk__now_ns() + 10 * IPK_SEC;
	while (ipk_svc_clients(s) != 0 && ipk__now_ns() < until)
		T_EQ(ipk_svc_recv(s, buf, sizeof(buf), &req, 100 * IPK_MSEC), -ETIMEDOUT);
	T_EQ(ipk_svc_clients(s), 0u);
	/* and the peer sees its end */
	T_EQ(recv(fd, buf, sizeof(buf), 0), 0);
	close(fd);
	ipk_svc_close(s);
}

int main(int argc, char **argv)
{
	if (argc > 1 && !strcmp(argv[1], "nobody"))
		nobody();
	else if (argc > 1 && !strcmp(argv[1], "impostor"))
		impostor();
	else if (argc > 1 && !strcmp(argv[1], "unacked"))
		unacked();
	else
		hostile();
	return 0;
}
