/* SPDX-License-Identifier: MIT */
/*
 * tests/unix/fuzz_handoff.c - libFuzzer target: ipk_handoff_take() on any
 * message an old process (or an impostor with our uid) can send on the
 * hand-off socket. The first input byte picks how many descriptors ride
 * along (0..3, or 65: over the cap); the rest is the message. The new
 * process must never crash, and must never leak a descriptor whether it
 * takes the hand-off or refuses it.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/socket.h>

#include <ipckit/handoff.h>
#include <ipckit/unix.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	if (!d)
		abort();
	while ((e = readdir(d)))
		n++;
	closedir(d);
	return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const unsigned counts[] = { 0, 1, 2, 3, 65 };
	int sv[2], fds[65];
	unsigned nfds;
	char from[32];
	ipk_handoff *h;
	int before;

	if (size < 1 || size > 4096)
		return 0;
	nfds = counts[data[0] % 5];
	data++;
	size--;
	if (size == 0 && nfds)
		return 0; /* descriptors need a byte to ride on */
	for (unsigned i = 0; i < nfds; i++)
		fds[i] = 0;
	before = count_fds();
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		abort();
	if (ipk_fd_send(sv[0], data, size, fds, nfds, IPK_SEC) < 0)
		abort();
	close(sv[0]); /* the impostor leaves: no READY is ever read */
	snprintf(from, sizeof(from), "fd:%d", sv[1]);
	if (ipk_handoff_take(from, IPK_SEC, &h) == 0) {
		for (unsigned i = 0; i < ipk_handoff_count(h); i++) {
			int fd = ipk_handoff_fd(h, i, NULL);

			if (fd < 0)
				abort();
			close(fd);
		}
		(void)ipk_handoff_state(h, NULL);
		(void)ipk_handoff_ready(h, 0);
		ipk_handoff_free(h);
	}
	if (count_fds() != before)
		abort(); /* a descriptor leaked */
	return 0;
}
