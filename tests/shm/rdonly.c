/* SPDX-License-Identifier: MIT */
/*
 * rdonly.c - a read-only mapping of each backing stays read-only: a write
 * through it kills the writer with SIGSEGV and leaves the data untouched,
 * mprotect(PROT_WRITE) fails with EACCES, a read-only handle refuses a
 * read-write map (-EACCES). Both a read-only handle and a read-write handle
 * mapped read-only are checked. A memfd sealed F_SEAL_FUTURE_WRITE cannot
 * be mapped writable by the process it is handed to.
 */
#include "shmt.h"

#define SIZE (64 * 1024)

static volatile char *target;

static int write_through(void *arg)
{
	(void)arg;
	shmt_crash_quietly(SIGSEGV);
	target[100] = 1;
	return 0; /* not reached */
}

static void check_ro_mapping(ipk_shm *ro, const unsigned char *data)
{
	void *base = (void *)0x1;

	T_OK(ipk_shm_map(ro, IPK_SHM_RDONLY, &base));
	T_MEMEQ(base, data, SIZE);
	errno = 0;
	T_EQ(mprotect(base, SIZE, PROT_READ | PROT_WRITE), -1);
	T_EQ(errno, EACCES);
	target = base;
	shmt_wait_signal(t_fork(write_through, NULL), SIGSEGV);
	for (size_t i = 0; i < SIZE; i++)
		if (data[i] != 0x5a)
			T_FAIL("byte %zu changed to %#x", i, data[i]);
	T_OK(ipk_shm_unmap(ro));
}

static void one_kind(enum ipk_shm_kind kind)
{
	struct ipk_shm_ref ref = shmt_ref(kind, 1);
	ipk_shm *s, *ro, *rw;
	void *base, *bad = (void *)0x1;

	shmt_unlink(&ref);
	T_OK(ipk_shm_create(&ref, SIZE, 0, IPK_SHM_EXCL, &s));
	T_OK(ipk_shm_map(s, 0, &base));
	memset(base, 0x5a, SIZE);

	/* a read-only handle */
	if (kind == IPK_SHM_MEMFD)
		T_OK(ipk_shm_open_fd(ipk_shm_fd(s), SIZE, IPK_SHM_RDONLY, &ro));
	else
		T_OK(ipk_shm_open(&ref, SIZE, IPK_SHM_RDONLY, &ro));
	T_EQ(ipk_shm_map(ro, 0, &bad), -EACCES);
	T_TRUE(bad == (void *)0x1);
	T_TRUE(ipk_shm_addr(ro) == NULL);
	check_ro_mapping(ro, base);
	if (kind == IPK_SHM_MEMFD)
		T_EQ(ipk_shm_seal(ro, IPK_SHM_SEAL_SIZE), -EPERM); /* no write access */
	ipk_shm_free(ro);

	/* a read-write handle, mapped read-only */
	if (kind == IPK_SHM_MEMFD)
		T_OK(ipk_shm_open_fd(ipk_shm_fd(s), SIZE, 0, &rw));
	else
		T_OK(ipk_shm_open(&ref, SIZE, 0, &rw));
	check_ro_mapping(rw, base);
	ipk_shm_free(rw);

	ipk_shm_free(s);
	T_TRUE(kind == IPK_SHM_MEMFD || !shmt_exists(&ref));
}

static void future_write(void)
{
	struct ipk_shm_ref ref = shmt_ref(IPK_SHM_MEMFD, 2);
	ipk_shm *s, *h;
	void *base, *p = (void *)0x1;
	int r;

	T_OK(ipk_shm_create(&ref, SIZE, 0, 0, &s));
	T_OK(ipk_shm_map(s, 0, &base));
	memset(base, 0x5a, SIZE);
	r = ipk_shm_seal(s, IPK_SHM_SEAL_FUTURE_WRITE);
	if (r == -EOPNOTSUPP) {
		ipk_shm_free(s);
		T_SKIP("kernel without F_SEAL_FUTURE_WRITE (Linux < 5.1)");
	}
	T_OK(r);
	/* the mapping that existed keeps working */
	((char *)base)[1] = 0x5a;

	/* what the receiver of the fd can do: read, never write */
	T_OK(ipk_shm_open_fd(ipk_shm_fd(s), SIZE, 0, &h));
	T_EQ(ipk_shm_map(h, 0, &p), -EPERM);
	T_TRUE(p == (void *)0x1);
	errno = 0;
	T_EQ(write(ipk_shm_fd(h), "x", 1), -1);
	T_EQ(errno, EPERM);
	check_ro_mapping(h, base);
	ipk_shm_free(h);
	ipk_shm_free(s);
}

int main(void)
{
	one_kind(IPK_SHM_POSIX);
	one_kind(IPK_SHM_SYSV);
	one_kind(IPK_SHM_MEMFD);
	one_kind(IPK_SHM_FILE);
	future_write();
	return 0;
}
