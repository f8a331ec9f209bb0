/* SPDX-License-Identifier: MIT */
/*
 * blob.c - sealed memfd blobs passed over a Unix socket.
 *
 * The receiver is the part that faces a peer it must not trust: it checks
 * the descriptor that arrives (a memfd? all four seals? the announced
 * size?) before the first mmap(), because a mapping of a file that its
 * sender can still shrink turns every read past the new end into SIGBUS.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include <ipckit/blob.h>
#include <ipckit/fd.h>

#include "internal.h"

/* --- one descriptor and a payload over a Unix socket -------------------- */

/*
 * Receive exactly @len bytes and at most one descriptor (*@ret_fd, -1 if
 * none came), through ipk_fd_recv() (unix.c). More descriptors than one
 * are closed and reported as -EPROTO, as is a datagram of the wrong size.
 */
static int fd_recv(int sock, void *buf, size_t len, int64_t timeout_ns, int *ret_fd)
{
	int fd = -1;
	struct ipk_fdmsg m = { .fds = &fd, .max_fds = 1 };
	ssize_t n = ipk_fd_recv(sock, buf, len, &m, timeout_ns);

	if (n == -ETOOMANYREFS)
		return -EPROTO;
	if (n < 0)
		return (int)n;
	if ((size_t)n != len) {
		if (m.nfds)
			ipk__close(fd);
		return -EPROTO; /* a datagram is the whole header or nothing */
	}
	*ret_fd = m.nfds ? fd : -1;
	return 0;
}

/* --- sealed memfd blobs ------------------------------------------------- */

#define BLOB_MAGIC 0x424b5049u /* "IPKB" little-endian */
#define BLOB_VERSION 1u
#define BLOB_SEALS (F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL)

/* What travels with the descriptor; the size is checked against fstat. */
struct blob_hdr {
	uint32_t magic;
	uint32_t version;
	uint64_t size;
};

struct ipk_blob {
	int fd;
	void *wmap;       /* writable mapping before sealing, else NULL */
	const void *rmap; /* read-only mapping after sealing, else NULL */
	size_t size;
	bool sealed;
};

IPK_API int ipk_blob_create(size_t size, ipk_blob **ret)
{
	ipk_blob *b;
	int r;

	IPK_CHECK_ARG(size > 0 && size <= (size_t)INT64_MAX && ret);
	b = calloc(1, sizeof(*b));
	if (!b)
		return -ENOMEM;
	b->fd = -1;
	b->size = size;
	b->fd = memfd_create("ipk-blob", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (b->fd < 0)
		goto fail_errno;
	if (ftruncate(b->fd, (off_t)size) < 0)
		goto fail_errno;
	b->wmap = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, b->fd, 0);
	if (b->wmap == MAP_FAILED) {
		b->wmap = NULL;
		goto fail_errno;
	}
	*ret = b;
	return 0;

fail_errno:
	r = ipk__neg_errno();
	ipk_blob_free(b);
	return r;
}

IPK_API void *ipk_blob_data(ipk_blob *b)
{
	return b ? b->wmap : NULL;
}

IPK_API const void *ipk_blob_view(const ipk_blob *b)
{
	if (!b)
		return NULL;
	return b->sealed ? b->rmap : b->wmap;
}

IPK_API size_t ipk_blob_size(const ipk_blob *b)
{
	return b ? b->size : 0;
}

IPK_API int ipk_blob_fd(const ipk_blob *b)
{
	return b ? b->fd : -EINVAL;
}

IPK_API int ipk_blob_seal(ipk_blob *b)
{
	void *m;
	int r;

	IPK_CHECK_ARG(b);
	if (b->sealed)
		return 0;
	/* F_SEAL_WRITE is refused while a writable shared mapping exists,
	 * ours included: drop ours first, and restore it if sealing fails. */
	(void)munmap(b->wmap, b->size);
	b->wmap = NULL;
	if (fcntl(b->fd, F_ADD_SEALS, BLOB_SEALS) < 0) {
		r = ipk__neg_errno();
		m = mmap(NULL, b->size, PROT_READ | PROT_WRITE, MAP_SHARED, b->fd, 0);
		b->wmap = m == MAP_FAILED ? NULL : m;
		return r;
	}
	m = mmap(NULL, b->size, PROT_READ, MAP_SHARED, b->fd, 0);
	if (m == MAP_FAILED)
		return ipk__neg_errno();
	b->rmap = m;
	b->sealed = true;
	return 0;
}

IPK_API int ipk_blob_send(const ipk_blob *b, int sock, int64_t timeout_ns)
{
	struct blob_hdr h;

	IPK_CHECK_ARG(b && b->sealed && sock >= 0);
	memset(&h, 0, sizeof(h));
	h.magic = BLOB_MAGIC;
	h.version = BLOB_VERSION;
	h.size = b->size;
	return ipk_fd_send(sock, &h, sizeof(h), &b->fd, 1, timeout_ns);
}

/* The checks a received descriptor must pass before it is mapped. */
static int blob_check(int fd, const struct blob_hdr *h, size_t max_size)
{
	struct stat st;
	int seals;

	if (h->magic != BLOB_MAGIC || h->version != BLOB_VERSION)
		return -EPROTO;
	if (fstat(fd, &st) < 0)
		return ipk__neg_errno();
	seals = fcntl(fd, F_GET_SEALS);
	if (!S_ISREG(st.st_mode) || seals < 0)
		return -EMEDIUMTYPE; /* a pipe, socket, or file that cannot be sealed */
	if ((seals & BLOB_SEALS) != BLOB_SEALS)
		return -EPERM;
	/* Sealed against shrinking and growing: this size is final. */
	if (h->size == 0 || st.st_size < 0 || (uint64_t)st.st_size != h->size)
		return -EBADMSG;
	if (h->size > SIZE_MAX || (max_size && h->size > max_size))
		return -EFBIG;
	return 0;
}

IPK_API int ipk_blob_recv(int sock, size_t max_size, int64_t timeout_ns, ipk_blob **ret)
{
	struct blob_hdr h;
	ipk_blob *b;
	void *m;
	int fd = -1, r;

	IPK_CHECK_ARG(sock >= 0 && ret);
	r = fd_recv(sock, &h, sizeof(h), timeout_ns, &fd);
	if (r < 0)
		return r;
	if (fd < 0)
		return -EPROTO;
	r = blob_check(fd, &h, max_size);
	if (r < 0)
		goto fail;
	b = calloc(1, sizeof(*b));
	if (!b) {
		r = -ENOMEM;
		goto fail;
	}
	m = mmap(NULL, (size_t)h.size, PROT_READ, MAP_SHARED, fd, 0);
	if (m == MAP_FAILED) {
		r = ipk__neg_errno();
		free(b);
		goto fail;
	}
	b->fd = fd;
	b->rmap = m;
	b->size = (size_t)h.size;
	b->sealed = true;
	*ret = b;
	return 0;

fail:
	ipk__close(fd);
	return r;
}

IPK_API void ipk_blob_free(ipk_blob *b)
{
	if (!b)
		return;
	if (b->wmap)
		(void)munmap(b->wmap, b->size);
	if (b->rmap)
		(void)munmap((void *)b->rmap, b->size);
	if (b->fd >= 0)
		ipk__close(b->fd);
	free(b);
}
