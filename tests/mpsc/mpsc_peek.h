/* SPDX-License-Identifier: MIT */
/*
 * mpsc_peek.h - for the tests that look inside an ipk_mpsc's objects as an
 * outsider would (hostile.c, creds.c, takeover_fail.c): its header,
 * mapped read-only, and the door's address written there. Include after
 * mpsct.h and mpsc_layout.h.
 */
#ifndef IPCKIT_TESTS_MPSC_PEEK_H
#define IPCKIT_TESTS_MPSC_PEEK_H

#include <stddef.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

/* The header of the mpsc "@name", mapped read-only; mt_unmap_hdr() it. */
static inline const struct ipk__mpsc_hdr *mt_map_hdr(const char *name)
{
	const struct ipk__mpsc_hdr *h;
	char path[128];
	int fd;

	snprintf(path, sizeof(path), "/dev/shm%s", name);
	fd = open(path, O_RDONLY);
	T_SYS(fd);
	h = mmap(NULL, IPK__MPSC_HDR_SIZE, PROT_READ, MAP_SHARED, fd, 0);
	T_TRUE(h != MAP_FAILED);
	close(fd);
	return h;
}

static inline void mt_unmap_hdr(const struct ipk__mpsc_hdr *h)
{
	munmap((void *)h, IPK__MPSC_HDR_SIZE);
}

/* The consumer's abstract socket address, as its header gives it. */
static inline void mt_door_address(const char *name, struct sockaddr_un *addr, socklen_t *len)
{
	const struct ipk__mpsc_hdr *h = mt_map_hdr(name);

	memset(addr, 0, sizeof(*addr));
	addr->sun_family = AF_UNIX;
	memcpy(addr->sun_path, h->addr, h->addr_len);
	*len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + h->addr_len);
	mt_unmap_hdr(h);
}

#endif
