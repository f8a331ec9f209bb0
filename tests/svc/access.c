/* SPDX-License-Identifier: MIT */
/*
 * tests/svc/access.c - who may call, and what may be at the name.
 * "hostile": a regular file, a symbolic link, a live stream listener, a
 * seqpacket server that speaks another protocol, and stale and live
 * ipk_svc sockets at the name. "nobody" (root only; otherwise a skip): a
 * client running as uid/gid 65534 is refused by the server's policy
 * (-EACCES, counted with its uid), and by the socket file's mode 0600.
 */
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/un.h>

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

int main(int argc, char **argv)
{
	if (argc > 1 && !strcmp(argv[1], "nobody"))
		nobody();
	else
		hostile();
	return 0;
}
