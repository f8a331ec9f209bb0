/* SPDX-License-Identifier: MIT */
/*
 * tests/svc/fuzz_svc.c - libFuzzer target: an ipk_svc server against a
 * hostile client that writes anything into the memory the server shares
 * with it. The client connects and completes the handshake by hand, then
 * the input goes into that memory: bytes 0-7 the reply queue's tail (the
 * client's position, which the server trusts only within bounds), bytes
 * 8-11 the client's "I sleep" word, the rest the request queue from its
 * start. The server then takes what it can (answering each request with
 * its own bytes) and must never crash, hang, hand out a request longer
 * than its max_msg, or leak a descriptor; the client's hang-up is seen.
 */
#include <poll.h>
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

#define MAX_MSG 256

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ipk_svc_opts o = { .max_msg = MAX_MSG, .slots = 4 };
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char name[64], buf[MAX_MSG + 1];
	int fds[3] = { -1, -1, -1 }, sock, efd;
	struct ipk_fdmsg m = { .fds = fds, .max_fds = 3 };
	struct ipk_svc_req req;
	struct svc_wire w;
	unsigned char *mem;
	ipk_svc *s;
	ssize_t n;

	if (size < 12)
		return 0;
	snprintf(name, sizeof(name), "@ipk-fuzz-svc-%d", (int)getpid());
	CHECK(ipk_svc_create(name, &o, &s) == 0);
	memcpy(sa.sun_path + 1, name + 1, strlen(name) - 1);
	sock = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	CHECK(sock >= 0);
	CHECK(connect(sock, (struct sockaddr *)&sa,
		      (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(name))) == 0);
	CHECK(ipk_svc_recv(s, buf, sizeof(buf), &req, 0) == -EAGAIN); /* accepts, says hello */
	n = ipk_fd_recv(sock, &w, sizeof(w), &m, IPK_SEC);
	CHECK(n == (ssize_t)sizeof(w) && m.nfds == 3);
	mem = mmap(NULL, w.size, PROT_READ | PROT_WRITE, MAP_SHARED, fds[1], 0);
	CHECK(mem != MAP_FAILED);
	efd = eventfd(0, EFD_CLOEXEC);
	memcpy(w.magic, SVC_ACK_MAGIC, 8);
	CHECK(ipk_fd_send(sock, &w, sizeof(w), &efd, 1, IPK_SEC) == 0);

	/* the hostile part */
	memcpy(mem + offsetof(struct svc_conn_hdr, rep_tail), data, 8);
	memcpy(mem + offsetof(struct svc_conn_hdr, cli_waiting), data + 8, 4);
	size -= 12;
	memcpy(mem + SVC_PAGE, data + 12, size < w.cap ? size : w.cap);
	CHECK(write(fds[2], &(uint64_t){ 1 }, 8) == 8); /* ring the server */

	for (int i = 0; i < 64; i++) {
		n = ipk_svc_recv(s, buf, sizeof(buf), &req, 0);
		if (n == -EAGAIN)
			break;
		CHECK(n >= 0 && n <= MAX_MSG);
		(void)ipk_svc_reply(s, req.id, buf, (size_t)n);
	}
	close(sock);
	/* the hang-up is seen at once */
	for (int i = 0; i < 1000 && ipk_svc_clients(s) > 0; i++)
		(void)ipk_svc_recv(s, buf, sizeof(buf), &req, 0);
	CHECK(ipk_svc_clients(s) == 0);
	munmap(mem, w.size);
	for (int i = 0; i < 3; i++)
		close(fds[i]);
	close(efd);
	ipk_svc_close(s);
	return 0;
}
