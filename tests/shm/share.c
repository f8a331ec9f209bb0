/* SPDX-License-Identifier: MIT */
/*
 * share.c - two real processes share each of the four backings and see
 * each other's writes while both are running: POSIX by name, System V by
 * key and (IPC_PRIVATE) by id, memfd by fd passing over a Unix socket
 * (SCM_RIGHTS) and by fork, and a regular file by path.
 */
#include <sys/socket.h>

#include "shmt.h"

#define SIZE (256 * 1024)

struct shared {
	_Atomic uint32_t child_ready;  /* child: 1 once mapped */
	_Atomic uint32_t parent_wrote; /* parent: 2 after msg */
	_Atomic uint32_t child_wrote;  /* child: 3 after reply and tail */
	char msg[64];
	char reply[64];
};

/* The child's half: it proves it sees the parent's write, and writes back
 * at both ends of the object. */
static void child_side(void *base, size_t size)
{
	struct shared *sh = base;

	T_EQ(size, SIZE);
	atomic_store_explicit(&sh->child_ready, 1, memory_order_release);
	shmt_await(&sh->parent_wrote, 2);
	T_TRUE(strcmp(sh->msg, "from parent") == 0);
	strcpy(sh->reply, "from child");
	memset((char *)base + size - 4096, 0xc5, 4096);
	atomic_store_explicit(&sh->child_wrote, 3, memory_order_release);
}

static void parent_side(void *base, pid_t child)
{
	struct shared *sh = base;
	const char *tail = (const char *)base + SIZE - 4096;

	shmt_await(&sh->child_ready, 1);
	strcpy(sh->msg, "from parent");
	atomic_store_explicit(&sh->parent_wrote, 2, memory_order_release);
	shmt_await(&sh->child_wrote, 3);
	T_TRUE(strcmp(sh->reply, "from child") == 0);
	for (int i = 0; i < 4096; i++)
		if ((unsigned char)tail[i] != 0xc5)
			T_FAIL("tail byte %d: %#x", i, (unsigned char)tail[i]);
	t_wait_exit(child, 0);
}

static struct ipk_shm_ref child_ref;

static int child_open(void *arg)
{
	ipk_shm *s = (void *)0x1;
	void *base;

	(void)arg;
	T_OK(ipk_shm_open(&child_ref, SIZE, 0, &s));
	T_EQ(ipk_shm_kind(s), child_ref.kind);
	T_EQ(ipk_shm_size(s), SIZE);
	T_OK(ipk_shm_map(s, 0, &base));
	child_side(base, ipk_shm_size(s));
	ipk_shm_free(s);
	return 0;
}

static void by_name(enum ipk_shm_kind kind, bool private_sysv)
{
	struct ipk_shm_ref ref = shmt_ref(kind, 1);
	ipk_shm *s;
	void *base;

	if (private_sysv)
		ref.key = IPC_PRIVATE;
	shmt_unlink(&ref);
	T_OK(ipk_shm_create(&ref, SIZE, 0, IPK_SHM_EXCL, &s));
	T_OK(ipk_shm_map(s, 0, &base));
	T_TRUE(base == ipk_shm_addr(s));
	child_ref = ref;
	if (private_sysv)
		child_ref.id = ipk_shm_sysv_id(s);
	parent_side(base, t_fork(child_open, NULL));
	ipk_shm_free(s);
	if (!private_sysv)
		T_TRUE(!shmt_exists(&ref));
}

static void send_fd(int sock, int fd)
{
	char c = 'F';
	struct iovec iov = { &c, 1 };
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	struct msghdr mh = { .msg_iov = &iov,
			     .msg_iovlen = 1,
			     .msg_control = u.buf,
			     .msg_controllen = sizeof(u.buf) };
	struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);

	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &fd, sizeof(int));
	T_SYS(sendmsg(sock, &mh, 0));
}

static int recv_fd(int sock)
{
	char c;
	struct iovec iov = { &c, 1 };
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	struct msghdr mh = { .msg_iov = &iov,
			     .msg_iovlen = 1,
			     .msg_control = u.buf,
			     .msg_controllen = sizeof(u.buf) };
	struct cmsghdr *cm;
	int fd;

	T_EQ(recvmsg(sock, &mh, MSG_CMSG_CLOEXEC), 1);
	cm = CMSG_FIRSTHDR(&mh);
	T_TRUE(cm && cm->cmsg_type == SCM_RIGHTS);
	memcpy(&fd, CMSG_DATA(cm), sizeof(int));
	return fd;
}

static int sock_pair[2];

static int memfd_receiver(void *arg)
{
	ipk_shm *s;
	void *base;
	int fd;

	(void)arg;
	close(sock_pair[0]);
	fd = recv_fd(sock_pair[1]);
	T_OK(ipk_shm_open_fd(fd, SIZE, 0, &s));
	close(fd); /* the handle has its own */
	T_EQ(ipk_shm_kind(s), IPK_SHM_MEMFD);
	T_OK(ipk_shm_map(s, 0, &base));
	child_side(base, ipk_shm_size(s));
	ipk_shm_free(s);
	return 0;
}

/* The child exists before the memfd does: only the socket brings it. */
static void memfd_passed(void)
{
	struct ipk_shm_ref ref = shmt_ref(IPK_SHM_MEMFD, 2);
	ipk_shm *s;
	void *base;
	pid_t pid;

	T_SYS(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sock_pair));
	pid = t_fork(memfd_receiver, NULL);
	close(sock_pair[1]);
	T_OK(ipk_shm_create(&ref, SIZE, 0, 0, &s));
	T_OK(ipk_shm_map(s, 0, &base));
	send_fd(sock_pair[0], ipk_shm_fd(s));
	parent_side(base, pid);
	close(sock_pair[0]);
	ipk_shm_free(s);
}

static ipk_shm *forked_handle;

static int memfd_forked_child(void *arg)
{
	ipk_shm *s;
	void *base;

	(void)arg;
	/* the inherited descriptor, through a handle of its own */
	T_OK(ipk_shm_open_fd(ipk_shm_fd(forked_handle), SIZE, 0, &s));
	T_OK(ipk_shm_map(s, 0, &base));
	child_side(base, ipk_shm_size(s));
	ipk_shm_free(s);
	return 0;
}

static void memfd_forked(void)
{
	struct ipk_shm_ref ref = { .kind = IPK_SHM_MEMFD }; /* default label */
	void *base;

	T_OK(ipk_shm_create(&ref, SIZE, 0, 0, &forked_handle));
	T_OK(ipk_shm_map(forked_handle, 0, &base));
	parent_side(base, t_fork(memfd_forked_child, NULL));
	ipk_shm_free(forked_handle);
}

int main(void)
{
	by_name(IPK_SHM_POSIX, false);
	by_name(IPK_SHM_SYSV, false);
	by_name(IPK_SHM_SYSV, true);
	by_name(IPK_SHM_FILE, false);
	memfd_passed();
	memfd_forked();
	return 0;
}
