/* SPDX-License-Identifier: MIT */
/*
 * tests/notify/fuzz_blob.c - libFuzzer target: ipk_blob_recv() on any
 * message a peer can send. The first input byte picks what rides along in
 * SCM_RIGHTS (nothing, a sealed or unsealed memfd of a size taken from the
 * input, a pipe, two memfds); the rest is the message. The receiver must
 * never crash, never fault on a mapping, and never leak a descriptor: the
 * entries of /proc/self/fd are counted before and after every input.
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/socket.h>

#include <ipckit/blob.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define SEALS (F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL)

/* Open descriptors, the directory's own included (the same in every count). */
static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	if (!d) {
		perror("fuzz_blob: opendir /proc/self/fd");
		abort();
	}
	while ((e = readdir(d)))
		n++;
	closedir(d);
	return n;
}

static int make_memfd(size_t len, unsigned seals)
{
	int fd = memfd_create("fuzz", MFD_CLOEXEC | MFD_ALLOW_SEALING);

	if (fd < 0)
		abort();
	if (ftruncate(fd, (off_t)len) < 0 || (seals && fcntl(fd, F_ADD_SEALS, seals) < 0))
		abort();
	return fd;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	union {
		char buf[CMSG_SPACE(2 * sizeof(int))];
		struct cmsghdr align;
	} u;
	int sv[2], fds[2] = { -1, -1 }, nfds = 0, p[2] = { -1, -1 };
	struct iovec iov;
	struct msghdr mh;
	unsigned mode;
	size_t len = 4096;
	ipk_blob *b;
	int before, after;

	if (size < 1 || size > 256)
		return 0;
	before = count_fds();
	mode = data[0] % 6;
	data++;
	size--;
	if (size >= 10)
		len = (size_t)data[8] | (size_t)data[9] << 8; /* the header's size, low bits */
	if (len == 0)
		len = 1;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		abort();
	switch (mode) {
	case 1:
		fds[nfds++] = make_memfd(len, SEALS);
		break;
	case 2:
		fds[nfds++] = make_memfd(len, 0);
		break;
	case 3:
		if (pipe2(p, O_CLOEXEC) < 0)
			abort();
		fds[nfds++] = p[0];
		break;
	case 4:
		fds[nfds++] = make_memfd(len, SEALS);
		fds[nfds++] = make_memfd(len, SEALS);
		break;
	case 5:
		fds[nfds++] = make_memfd(len, SEALS & ~F_SEAL_SHRINK);
		break;
	}
	memset(&mh, 0, sizeof(mh));
	memset(&u, 0, sizeof(u));
	iov.iov_base = (void *)data;
	iov.iov_len = size;
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	if (nfds) {
		struct cmsghdr *c;

		mh.msg_control = u.buf;
		mh.msg_controllen = CMSG_SPACE((size_t)nfds * sizeof(int));
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN((size_t)nfds * sizeof(int));
		memcpy(CMSG_DATA(c), fds, (size_t)nfds * sizeof(int));
	}
	if (sendmsg(sv[0], &mh, MSG_NOSIGNAL) < 0)
		abort();
	/* A truncation after sending must be refused or harmless. */
	if (mode == 2)
		(void)!ftruncate(fds[0], 0);
	close(sv[0]);
	if (ipk_blob_recv(sv[1], 1 << 20, 0, &b) == 0) {
		const volatile unsigned char *v = ipk_blob_view(b);
		size_t i, n = ipk_blob_size(b);
		unsigned sum = 0;

		for (i = 0; i < n; i += 4096)
			sum += v[i]; /* every page readable: no SIGBUS */
		sum += v[n - 1];
		(void)sum;
		ipk_blob_free(b);
	}
	close(sv[1]);
	if (fds[0] >= 0)
		close(fds[0]);
	if (fds[1] >= 0)
		close(fds[1]);
	if (p[1] >= 0)
		close(p[1]);
	after = count_fds();
	if (after != before) {
		fprintf(stderr, "fuzz_blob: %d descriptors open after the input, %d before\n",
			after, before);
		abort();
	}
	return 0;
}
