/* SPDX-License-Identifier: MIT */
/*
 * hostile.c - a peer that connects to the consumer's socket and hands it
 * descriptors it did not ask for costs the consumer none of its own.
 *
 * The socket's address is in the header, readable by anyone who may open
 * the name. A child connects 100 times with a hello carrying two memfds
 * (a buffer with room for one used to take both without MSG_CTRUNC, and
 * keep neither) and 100 times with a zero-length message carrying one (it
 * used to be taken for a hang-up, the descriptor left open). Each is
 * refused; afterwards the consumer holds exactly as many descriptors as
 * before, and a proper producer still gets in.
 */
#include <dirent.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "mpsct.h"
#include "mpsc_layout.h"
#include "mpsc_peek.h"

#define ROUNDS 100

static char name[64];
static struct sockaddr_un addr;
static socklen_t addr_len;
static struct ipk__mpsc_door *door;

static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	T_TRUE(d != NULL);
	while ((e = readdir(d)))
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n - 1; /* the DIR's own */
}

static void learn_address(void)
{
	char path[128];
	int fd;

	mt_door_address(name, &addr, &addr_len);
	snprintf(path, sizeof(path), "/dev/shm%s-door", name);
	fd = open(path, O_RDWR);
	T_SYS(fd);
	door = mmap(NULL, IPK__MPSC_DOOR_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	T_TRUE(door != MAP_FAILED);
	close(fd);
}

/* One hello by hand: @nfds memfds (a proper sealed lane first), with a
 * hello (@empty false) or nothing at all. Wait for the answer or the
 * hang-up; return 1 admitted, 0 otherwise. */
static int raw_hello(int nfds, bool empty)
{
	struct ipk__mpsc_hello h = { IPK__MPSC_HELLO_MAGIC, IPK__MPSC_VERSION, 0 };
	union {
		struct cmsghdr c;
		char buf[CMSG_SPACE(2 * sizeof(int))];
	} ctl;
	struct iovec iov = { &h, empty ? 0 : sizeof(h) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct ipk__mpsc_reply rep;
	struct pollfd pfd;
	int fds[2], s;
	ssize_t n;

	for (int i = 0; i < nfds; i++) {
		struct ipk__mpsc_lane *l;

		fds[i] = memfd_create("hostile", MFD_ALLOW_SEALING | MFD_CLOEXEC);
		T_SYS(fds[i]);
		T_SYS(ftruncate(fds[i], 8192));
		l = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_SHARED, fds[i], 0);
		T_TRUE(l != MAP_FAILED);
		l->version = IPK__MPSC_VERSION;
		l->capacity = 4096;
		l->max_msg = 100;
		memset((char *)l + IPK__MPSC_LANE_HDR, 0xff, 16);
		atomic_store(&l->magic, IPK__MPSC_LANE_MAGIC);
		munmap(l, 8192);
		T_SYS(fcntl(fds[i], F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW));
	}
	mh.msg_control = ctl.buf;
	mh.msg_controllen = CMSG_SPACE((size_t)nfds * sizeof(int));
	CMSG_FIRSTHDR(&mh)->cmsg_level = SOL_SOCKET;
	CMSG_FIRSTHDR(&mh)->cmsg_type = SCM_RIGHTS;
	CMSG_FIRSTHDR(&mh)->cmsg_len = CMSG_LEN((size_t)nfds * sizeof(int));
	memcpy(CMSG_DATA(CMSG_FIRSTHDR(&mh)), fds, (size_t)nfds * sizeof(int));
	s = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	T_SYS(s);
	T_SYS(connect(s, (struct sockaddr *)&addr, addr_len));
	T_EQ(sendmsg(s, &mh, MSG_NOSIGNAL), (ssize_t)iov.iov_len);
	/* ring the doorbell as a producer does: looked at now, not at the
	 * consumer's next round */
	atomic_fetch_add(&door->joins, 1);
	atomic_fetch_add(&door->futex, 1);
	ipk__mpsc_futex_wake(&door->futex);
	for (int i = 0; i < nfds; i++)
		close(fds[i]);
	pfd = (struct pollfd){ .fd = s, .events = POLLIN };
	T_EQ(poll(&pfd, 1, (int)(MT_TIMEOUT / IPK_MSEC)), 1);
	n = recv(s, &rep, sizeof(rep), 0);
	close(s);
	return n == (ssize_t)sizeof(rep) && rep.answer == IPK__MPSC_YES;
}

static int hostile(void *arg)
{
	int admitted = 0;

	(void)arg;
	for (int i = 0; i < ROUNDS; i++) {
		admitted += raw_hello(2, false);
		admitted += raw_hello(1, true);
	}
	return admitted ? 1 : 0;
}

static int producer(void *arg)
{
	ipk_mpsc_prod *p;

	(void)arg;
	T_OK(ipk_mpsc_connect(name, NULL, MT_TIMEOUT, &p));
	T_OK(ipk_mpsc_send(p, "hi", 2, MT_TIMEOUT));
	ipk_mpsc_prod_close(p);
	return 0;
}

int main(void)
{
	struct ipk_mpsc_stats st;
	unsigned char buf[64];
	ipk_mpsc *c;
	int before, status;
	pid_t pid;

	mt_name(name, sizeof(name), "hostile");
	T_OK(ipk_mpsc_create(name, NULL, &c));
	learn_address();
	/* one proper producer first: whatever the consumer keeps for good
	 * (lane arrays, pollfds) is there before we count */
	pid = t_fork(producer, NULL);
	T_EQ(ipk_mpsc_recv(c, buf, sizeof(buf), NULL, MT_TIMEOUT), 2);
	t_wait_exit(pid, 0);
	for (int64_t end = mt_now() + MT_TIMEOUT;;) {
		T_OK(ipk_mpsc_stats(c, &st));
		if (st.left == 1)
			break;
		T_EQ(ipk_mpsc_recv(c, buf, sizeof(buf), NULL, 5 * IPK_MSEC), -ETIMEDOUT);
		T_TRUE(mt_now() < end);
	}
	before = count_fds();

	pid = t_fork(hostile, NULL);
	for (int64_t end = mt_now() + MT_TIMEOUT;;) {
		ssize_t n = ipk_mpsc_recv(c, buf, sizeof(buf), NULL, 5 * IPK_MSEC);

		T_EQ(n, -ETIMEDOUT);
		if (waitpid(pid, &status, WNOHANG) == pid)
			break;
		T_TRUE(mt_now() < end);
	}
	T_TRUE(WIFEXITED(status));
	T_EQ(WEXITSTATUS(status), 0);
	T_EQ(count_fds(), before);
	T_OK(ipk_mpsc_stats(c, &st));
	T_EQ(st.refused, 2 * ROUNDS);

	pid = t_fork(producer, NULL);
	T_EQ(ipk_mpsc_recv(c, buf, sizeof(buf), NULL, MT_TIMEOUT), 2);
	t_wait_exit(pid, 0);
	ipk_mpsc_close(c);
	munmap(door, IPK__MPSC_DOOR_SIZE);
	T_TRUE(!mt_exists(name));
	printf("%d hellos with two descriptors or none but a descriptor: all refused, "
	       "no descriptor kept\n",
	       2 * ROUNDS);
	return 0;
}
