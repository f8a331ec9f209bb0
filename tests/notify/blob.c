/* SPDX-License-Identifier: MIT */
/*
 * tests/notify/blob.c - sealed memfd hand-off over a Unix socket, and a
 * malicious sender: unsealed or partly sealed memfds, descriptors that are
 * not memfds, a size that lies, a truncation after sending, no descriptor,
 * too many descriptors. The receiver must refuse each before mapping, so
 * it never takes SIGBUS.
 */
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/socket.h>

#include "../harness.h"

#define SIZE (1u << 20)

/* The wire header, as notify.h describes it: magic "IPKB", version 1,
 * size; the descriptor rides in SCM_RIGHTS. The malicious sender below
 * writes it by hand. */
struct hdr {
	uint32_t magic, version;
	uint64_t size;
};

static void raw_send(int sock, const int *fds, int nfds, uint64_t size, uint32_t magic)
{
	struct hdr h = { magic, 1, size };
	struct iovec iov = { &h, sizeof(h) };
	union {
		char buf[CMSG_SPACE(4 * sizeof(int))];
		struct cmsghdr align;
	} u;
	struct msghdr mh;

	memset(&mh, 0, sizeof(mh));
	memset(&u, 0, sizeof(u));
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	if (nfds > 0) {
		struct cmsghdr *c;

		mh.msg_control = u.buf;
		mh.msg_controllen = CMSG_SPACE((size_t)nfds * sizeof(int));
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN((size_t)nfds * sizeof(int));
		memcpy(CMSG_DATA(c), fds, (size_t)nfds * sizeof(int));
	}
	T_EQ(sendmsg(sock, &mh, MSG_NOSIGNAL), (ssize_t)sizeof(h));
}

static int memfd(size_t size, unsigned seals)
{
	int fd = T_SYS(memfd_create("evil", MFD_CLOEXEC | MFD_ALLOW_SEALING));

	T_SYS(ftruncate(fd, (off_t)size));
	if (seals)
		T_SYS(fcntl(fd, F_ADD_SEALS, seals));
	return fd;
}

static void fill(unsigned char *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		p[i] = (unsigned char)(i * 31 + 7);
}

/* Child: receives one blob and checks every byte. */
static int receiver(void *arg)
{
	int sock = *(int *)arg;
	const unsigned char *p;
	ipk_blob *b;
	size_t i;

	T_OK(ipk_blob_recv(sock, 0, 10 * IPK_SEC, &b));
	T_EQ(ipk_blob_size(b), SIZE);
	T_TRUE(ipk_blob_data(b) == NULL); /* read-only */
	p = ipk_blob_view(b);
	for (i = 0; i < SIZE; i++)
		if (p[i] != (unsigned char)(i * 31 + 7))
			T_FAIL("byte %zu differs", i);
	ipk_blob_free(b);
	return 0;
}

static void refused(int type, const int *fds, int nfds, uint64_t size, uint32_t magic, int want)
{
	int sv[2], before;
	ipk_blob *b = NULL;

	T_SYS(socketpair(AF_UNIX, type | SOCK_CLOEXEC, 0, sv));
	before = t_count_fds();
	raw_send(sv[0], fds, nfds, size, magic);
	T_EQ(ipk_blob_recv(sv[1], 0, IPK_SEC, &b), want);
	T_TRUE(b == NULL);
	T_EQ(t_count_fds(), before); /* whatever arrived was closed */
	close(sv[0]);
	close(sv[1]);
}

int main(void)
{
	int sv[2], fd, fd2, types[] = { SOCK_STREAM, SOCK_SEQPACKET, SOCK_DGRAM };
	const unsigned seals = F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL;
	ipk_blob *b, *r;
	size_t i;
	pid_t c;

	T_EQ(ipk_blob_create(0, &b), -EINVAL);

	/* The honest path, to another process, on each socket type. */
	for (i = 0; i < 3; i++) {
		T_SYS(socketpair(AF_UNIX, types[i] | SOCK_CLOEXEC, 0, sv));
		c = t_fork(receiver, &sv[1]);
		T_OK(ipk_blob_create(SIZE, &b));
		fill(ipk_blob_data(b), SIZE);
		T_EQ(ipk_blob_send(b, sv[0], 0), -EINVAL); /* not sealed yet */
		T_OK(ipk_blob_seal(b));
		T_OK(ipk_blob_seal(b)); /* idempotent */
		T_TRUE(ipk_blob_data(b) == NULL);
		T_OK(ipk_blob_send(b, sv[0], IPK_SEC));
		/* The creator cannot change it any more, by any route. */
		T_EQ(ftruncate(ipk_blob_fd(b), 0), -1);
		T_EQ(errno, EPERM);
		T_EQ(pwrite(ipk_blob_fd(b), "x", 1, 0), -1);
		T_EQ(errno, EPERM);
		T_TRUE(mmap(NULL, SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, ipk_blob_fd(b), 0) ==
		       MAP_FAILED);
		t_wait_exit(c, 0);
		ipk_blob_free(b);
		close(sv[0]);
		close(sv[1]);
	}

	/* Sealing is refused while someone else maps it writable; the blob
	 * stays usable and unsealed. */
	T_OK(ipk_blob_create(4096, &b));
	void *w = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, ipk_blob_fd(b), 0);
	T_TRUE(w != MAP_FAILED);
	T_EQ(ipk_blob_seal(b), -EBUSY);
	T_TRUE(ipk_blob_data(b) != NULL);
	memset(ipk_blob_data(b), 1, 4096);
	munmap(w, 4096);
	T_OK(ipk_blob_seal(b));
	T_EQ(((const unsigned char *)ipk_blob_view(b))[4095], 1);
	ipk_blob_free(b);

	/* Limits, timeouts, a closed peer. */
	T_SYS(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv));
	T_EQ(ipk_blob_recv(sv[1], 0, 0, &r), -EAGAIN);
	T_EQ(ipk_blob_recv(sv[1], 0, 20 * IPK_MSEC, &r), -ETIMEDOUT);
	T_OK(ipk_blob_create(8192, &b));
	T_OK(ipk_blob_seal(b));
	T_OK(ipk_blob_send(b, sv[0], IPK_SEC));
	T_EQ(ipk_blob_recv(sv[1], 4096, IPK_SEC, &r), -EFBIG);
	T_OK(ipk_blob_send(b, sv[0], IPK_SEC));
	T_OK(ipk_blob_recv(sv[1], 8192, IPK_SEC, &r));
	ipk_blob_free(r);
	ipk_blob_free(b);
	close(sv[0]);
	T_EQ(ipk_blob_recv(sv[1], 0, IPK_SEC, &r), -EPIPE);
	close(sv[1]);

	/* Unsealed, and truncated by its sender after sending: refused
	 * before any mapping, so no read can fault. */
	fd = memfd(SIZE, 0);
	T_SYS(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv));
	raw_send(sv[0], &fd, 1, SIZE, 0x424b5049u);
	T_SYS(ftruncate(fd, 0));
	T_EQ(ipk_blob_recv(sv[1], 0, IPK_SEC, &r), -EPERM);
	close(sv[0]);
	close(sv[1]);
	close(fd);

	/* One seal missing, each in turn. */
	unsigned one[] = { F_SEAL_SHRINK, F_SEAL_GROW, F_SEAL_WRITE, F_SEAL_SEAL };
	for (i = 0; i < 4; i++) {
		fd = memfd(SIZE, seals & ~one[i]);
		refused(SOCK_STREAM, &fd, 1, SIZE, 0x424b5049u, -EPERM);
		close(fd);
	}

	/* Sealed, but the header lies about the size (either way). */
	fd = memfd(4096, seals);
	refused(SOCK_STREAM, &fd, 1, 8192, 0x424b5049u, -EBADMSG);
	refused(SOCK_SEQPACKET, &fd, 1, 1024, 0x424b5049u, -EBADMSG);
	refused(SOCK_STREAM, &fd, 1, 0, 0x424b5049u, -EBADMSG);
	/* Bad magic. */
	refused(SOCK_STREAM, &fd, 1, 4096, 0xdeadbeefu, -EPROTO);
	/* Two descriptors where one is expected: MSG_CTRUNC. */
	fd2 = memfd(4096, seals);
	int two[2] = { fd, fd2 };
	refused(SOCK_STREAM, two, 2, 4096, 0x424b5049u, -EPROTO);
	refused(SOCK_DGRAM, two, 2, 4096, 0x424b5049u, -EPROTO);
	close(fd2);
	/* No descriptor at all. */
	refused(SOCK_STREAM, NULL, 0, 4096, 0x424b5049u, -EPROTO);

	/* A sealed memfd whose sender tries to truncate it after sending:
	 * the seal refuses, and the receiver reads every byte. */
	T_SYS(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv));
	raw_send(sv[0], &fd, 1, 4096, 0x424b5049u);
	T_EQ(ftruncate(fd, 0), -1);
	T_EQ(errno, EPERM);
	T_OK(ipk_blob_recv(sv[1], 0, IPK_SEC, &r));
	T_EQ(ipk_blob_size(r), 4096);
	for (i = 0; i < 4096; i++)
		T_EQ(((const unsigned char *)ipk_blob_view(r))[i], 0);
	ipk_blob_free(r);
	close(sv[0]);
	close(sv[1]);
	close(fd);

	/* Not a memfd: a pipe, a socket, a file on disk. */
	int p[2];

	T_SYS(pipe2(p, O_CLOEXEC));
	refused(SOCK_STREAM, &p[0], 1, 4096, 0x424b5049u, -EMEDIUMTYPE);
	refused(SOCK_STREAM, &p[1], 1, 4096, 0x424b5049u, -EMEDIUMTYPE);
	close(p[0]);
	close(p[1]);
	fd = T_SYS(open("/etc/passwd", O_RDONLY | O_CLOEXEC));
	refused(SOCK_STREAM, &fd, 1, 4096, 0x424b5049u, -EMEDIUMTYPE);
	close(fd);
	return 0;
}
