/* SPDX-License-Identifier: MIT */
/*
 * creds.c - who sent a message, as the kernel saw it, and who may send.
 *
 * Same uid: a producer's messages carry its pid, uid and gid (forked
 * children are producers of their own, with their own pid). A peer that
 * speaks the protocol by hand is refused when its lane is not a memfd
 * sealed against shrinking (a file it could cut under the consumer), when
 * its header claims more than the memfd holds, or when it sends no lane
 * at all; one whose lane holds a record that makes no sense loses its
 * lane (stats.broken), and the consumer carries on.
 *
 * Another uid (as root: a child that drops to 65534): with mode 0600 it
 * cannot even open the name (-EACCES); one that learns the socket's
 * address anyway and registers by hand is refused by SO_PEERCRED; with
 * mode 0666 it is admitted, and its messages say uid 65534 and its pid.
 */
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "mpsct.h"
#include "mpsc_layout.h"
#include "mpsc_peek.h"

static char name[64];
static struct sockaddr_un addr;
static socklen_t addr_len;

/* Register by hand: @how 0 a proper sealed lane, 1 an unsealed memfd,
 * 2 no descriptor, 3 a proper lane holding a committed record longer
 * than its max_msg, 4 a lane whose header claims more than the memfd
 * holds. Exit: 1 admitted, 2 refused, 3 no answer. */
static int raw_hello(void *arg)
{
	int how = (int)(intptr_t)arg, fd = -1, s;
	struct ipk__mpsc_hello h = { IPK__MPSC_HELLO_MAGIC, IPK__MPSC_VERSION, 0 };
	union {
		struct cmsghdr c;
		char buf[CMSG_SPACE(sizeof(int))];
	} ctl;
	struct iovec iov = { &h, sizeof(h) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct ipk__mpsc_reply rep;
	struct pollfd pfd;

	if (how != 2) {
		struct ipk__mpsc_lane *l;

		fd = memfd_create("hostile", MFD_ALLOW_SEALING);
		T_SYS(fd);
		T_SYS(ftruncate(fd, 8192));
		l = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
		T_TRUE(l != MAP_FAILED);
		l->version = IPK__MPSC_VERSION;
		l->capacity = how == 4 ? 65536 : 4096;
		l->max_msg = 100;
		memset((char *)l + IPK__MPSC_LANE_HDR, 0xff, 16);
		if (how == 3) {
			uint64_t *rec = (uint64_t *)((char *)l + IPK__MPSC_LANE_HDR);

			rec[0] = ipk__mpsc_word(3000, IPK__MPSC_KIND_MSG);
			rec[1] = 0; /* committed */
		}
		atomic_store(&l->magic, IPK__MPSC_LANE_MAGIC);
		if (how != 1)
			T_SYS(fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW));
		mh.msg_control = ctl.buf;
		mh.msg_controllen = sizeof(ctl.buf);
		CMSG_FIRSTHDR(&mh)->cmsg_level = SOL_SOCKET;
		CMSG_FIRSTHDR(&mh)->cmsg_type = SCM_RIGHTS;
		CMSG_FIRSTHDR(&mh)->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(CMSG_FIRSTHDR(&mh)), &fd, sizeof(int));
	}
	s = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	T_SYS(s);
	T_SYS(connect(s, (struct sockaddr *)&addr, addr_len));
	T_EQ(sendmsg(s, &mh, MSG_NOSIGNAL), sizeof(h));
	pfd = (struct pollfd){ .fd = s, .events = POLLIN };
	T_EQ(poll(&pfd, 1, (int)(MT_TIMEOUT / IPK_MSEC)), 1);
	if (recv(s, &rep, sizeof(rep), 0) != (ssize_t)sizeof(rep))
		return 3;
	return rep.answer == IPK__MPSC_YES ? 1 : 2;
}

/* Same as raw_hello(), as uid 65534. */
static int raw_hello_other(void *arg)
{
	T_EQ(t_drop_root(), 0);
	return raw_hello(arg);
}

/* Run @fn(@arg) in a child while receiving; return its exit code. */
static int serve_while(ipk_mpsc *c, int (*fn)(void *), void *arg)
{
	unsigned char buf[64];
	pid_t pid = t_fork(fn, arg);
	int status;

	for (int64_t end = mt_now() + MT_TIMEOUT;;) {
		ssize_t n = ipk_mpsc_recv(c, buf, sizeof(buf), NULL, 5 * IPK_MSEC);

		T_TRUE(n == -ETIMEDOUT || n >= 0);
		pid_t r = waitpid(pid, &status, WNOHANG);

		if (r == pid)
			break;
		T_TRUE(mt_now() < end);
	}
	T_TRUE(WIFEXITED(status));
	return WEXITSTATUS(status);
}

static void learn_address(void)
{
	mt_door_address(name, &addr, &addr_len);
}

static int child_producer(void *arg)
{
	ipk_mpsc_prod *p;

	if (arg)
		T_EQ(t_drop_root(), 0);
	T_OK(ipk_mpsc_connect(name, NULL, MT_TIMEOUT, &p));
	T_OK(ipk_mpsc_send(p, "hi", 2, MT_TIMEOUT));
	ipk_mpsc_prod_close(p);
	return 0;
}

static int no_access(void *arg)
{
	ipk_mpsc_prod *p;

	(void)arg;
	T_EQ(t_drop_root(), 0);
	T_EQ(ipk_mpsc_connect(name, NULL, 0, &p), -EACCES);
	return 0;
}

/* A producer in a child; its message must say @uid and the child's pid. */
static void attributed(ipk_mpsc *c, bool other)
{
	struct ipk_mpsc_from from;
	unsigned char buf[8];
	pid_t pid = t_fork(child_producer, other ? (void *)1 : NULL);

	T_EQ(ipk_mpsc_recv(c, buf, sizeof(buf), &from, MT_TIMEOUT), 2);
	T_EQ(from.pid, pid);
	T_EQ(from.uid, other ? 65534 : geteuid());
	T_EQ(from.gid, other ? 65534 : getegid());
	t_wait_exit(pid, 0);
}

int main(void)
{
	struct ipk_mpsc_stats st;
	ipk_mpsc *c;

	mt_name(name, sizeof(name), "creds");
	T_OK(ipk_mpsc_create(name, NULL, &c));
	learn_address();
	attributed(c, false);
	attributed(c, false);
	T_EQ(serve_while(c, raw_hello, (void *)0), 1);
	T_EQ(serve_while(c, raw_hello, (void *)1), 2);
	T_EQ(serve_while(c, raw_hello, (void *)2), 2);
	T_EQ(serve_while(c, raw_hello, (void *)4), 2);
	T_OK(ipk_mpsc_stats(c, &st));
	T_EQ(st.refused, 3);
	/* admitted, but its record makes no sense: its lane is dropped,
	 * nothing delivered, the consumer carries on */
	T_EQ(serve_while(c, raw_hello, (void *)3), 1);
	for (int64_t end = mt_now() + MT_TIMEOUT; st.broken == 0;) {
		unsigned char buf[64];

		T_EQ(ipk_mpsc_recv(c, buf, sizeof(buf), NULL, 5 * IPK_MSEC), -ETIMEDOUT);
		T_OK(ipk_mpsc_stats(c, &st));
		T_TRUE(mt_now() < end);
	}
	T_EQ(st.broken, 1);
	T_EQ(st.delivered, 2);
	attributed(c, false);
	printf("same uid: pid, uid, gid as the kernel saw them; unsealed, missing or "
	       "oversized lanes refused; nonsense in a lane drops it\n");
	if (geteuid() != 0) {
		ipk_mpsc_close(c);
		T_SKIP("not root: cannot test another uid");
	}
	pid_t pid = t_fork(no_access, NULL);

	t_wait_exit(pid, 0);
	T_EQ(serve_while(c, raw_hello_other, (void *)0), 2);
	T_OK(ipk_mpsc_stats(c, &st));
	T_EQ(st.refused, 4);
	ipk_mpsc_close(c);

	T_OK(ipk_mpsc_create(name, &(struct ipk_mpsc_opts){ .mode = 0666 }, &c));
	attributed(c, true);
	ipk_mpsc_close(c);
	printf("another uid: no access to a 0600 queue, refused by hand, admitted to a 0666 "
	       "one as uid 65534\n");
	return 0;
}
