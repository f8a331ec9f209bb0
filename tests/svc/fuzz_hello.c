/* SPDX-License-Identifier: MIT */
/*
 * tests/svc/fuzz_hello.c - libFuzzer target: ipk_svc_connect() against an
 * impostor server that answers the connection with any hello. The first
 * input byte picks what rides along: bits 0-1 how many descriptors (0-3),
 * bit 2 a server page of a full page (else empty), bit 3 a connection
 * memfd of the size the hello claims (up to 8 MiB; else one page), bit 4
 * an eventfd as the doorbell (else a pipe), bit 5 a connection header
 * that agrees with the hello, bit 6 the page's magic, bit 7 memfds left
 * unsealed (else sealed against resizing, as a server's are). The rest is the
 * hello as sent. The client must never crash, never map more than the
 * memfd holds, and never leak a descriptor; when it accepts, a call and a
 * wait must fail or pend cleanly.
 */
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <ipckit/svc.h>

#include "../fuzz/fuzz.h"
#include "svc_internal.h"

#define SIZE_CAP ((uint64_t)8 << 20)

struct plan {
	int lfd;
	const uint8_t *data;
	size_t size;
};

static int memfd_of(uint64_t size)
{
	int fd = memfd_create("fuzz-svc", MFD_CLOEXEC | MFD_ALLOW_SEALING);

	CHECK(fd >= 0);
	CHECK(ftruncate(fd, (off_t)size) == 0);
	return fd;
}

static void *impostor(void *arg)
{
	const struct plan *p = arg;
	uint8_t bits = p->data[0];
	struct svc_wire w;
	size_t n = p->size - 1 < sizeof(w) ? p->size - 1 : sizeof(w);
	unsigned nfds = bits & 3;
	int fds[3], pipefd[2] = { -1, -1 }, a, ack = -1;
	struct ipk_fdmsg m = { .fds = &ack, .max_fds = 1 };
	char buf[128];

	a = accept4(p->lfd, NULL, NULL, SOCK_CLOEXEC);
	CHECK(a >= 0);
	memset(&w, 0, sizeof(w));
	memcpy(&w, p->data + 1, n);
	fds[0] = memfd_of(bits & 4 ? SVC_PAGE : 0);
	if (bits & 0x40) {
		const uint64_t magic = SVC_PAGE_MAGIC;

		CHECK(pwrite(fds[0], &magic, sizeof(magic), 0) == (ssize_t)sizeof(magic));
	}
	fds[1] = memfd_of(bits & 8 && w.size <= SIZE_CAP && w.size >= SVC_PAGE ? w.size : SVC_PAGE);
	if (bits & 0x20) {
		struct svc_conn_hdr h = { .magic = SVC_CONN_MAGIC,
					  .version = SVC_VERSION,
					  .slots = w.slots,
					  .max_msg = w.max_msg,
					  .cap = w.cap };

		CHECK(pwrite(fds[1], &h, sizeof(h), 0) == (ssize_t)sizeof(h));
	}
	if (!(bits & 0x80))
		for (int i = 0; i < 2; i++)
			CHECK(fcntl(fds[i], F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW) == 0);
	if (bits & 0x10) {
		fds[2] = eventfd(0, EFD_CLOEXEC);
	} else {
		CHECK(pipe2(pipefd, O_CLOEXEC) == 0);
		fds[2] = pipefd[0];
	}
	CHECK(fds[2] >= 0);
	/* a message of 0 bytes cannot carry descriptors: one byte then */
	(void)ipk_fd_send(a, n ? (void *)&w : "x", n ? n : 1, fds, nfds, IPK_SEC);
	if (ipk_fd_recv(a, buf, sizeof(buf), &m, IPK_SEC) >= 0 && m.nfds == 1)
		close(ack);
	close(a);
	for (int i = 0; i < 3; i++)
		close(fds[i]);
	if (pipefd[1] >= 0)
		close(pipefd[1]);
	return NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct plan p = { .data = data, .size = size };
	char name[64], rep[64];
	ipk_svc_client *c;
	pthread_t t;
	uint64_t call;
	int r;

	if (size < 1 || size > 1024)
		return 0;
	snprintf(name, sizeof(name), "@ipk-fuzz-hello-%d", (int)getpid());
	p.lfd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	CHECK(p.lfd >= 0);
	memcpy(sa.sun_path + 1, name + 1, strlen(name) - 1);
	CHECK(bind(p.lfd, (struct sockaddr *)&sa,
		   (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(name))) == 0);
	CHECK(listen(p.lfd, 4) == 0);
	CHECK(pthread_create(&t, NULL, impostor, &p) == 0);
	r = ipk_svc_connect(name, NULL, IPK_SEC, &c);
	if (r == 0) {
		CHECK(ipk_svc_max_msg(c) > 0 && ipk_svc_max_msg(c) <= (16u << 20));
		r = ipk_svc_call_start(c, "x", 1, &call, 0);
		if (r == 0)
			CHECK(ipk_svc_call_wait(c, call, rep, sizeof(rep), 0) < 0);
		ipk_svc_client_close(c);
	} else {
		CHECK(r == -EPROTO || r == -ECONNRESET || r == -EACCES || r == -EMSGSIZE ||
		      r == -ETOOMANYREFS || r == -EBADMSG || r == -ETIMEDOUT);
	}
	CHECK(pthread_join(t, NULL) == 0);
	close(p.lfd);
	return 0;
}
