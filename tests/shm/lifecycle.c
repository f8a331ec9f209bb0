/* SPDX-License-Identifier: MIT */
/*
 * lifecycle.c - who removes what: the creator removes its object at free,
 * unless IPK_SHM_KEEP; a forked child's copy of the handle removes nothing;
 * a successor's object at the same name is never removed (-ESTALE for an
 * explicit remove); mappings outlive removal. Every descriptor is
 * close-on-exec, and no path - success or failure - leaks one.
 */
#include "shmt.h"

#define SIZE (16 * 1024)

static void removes_or_keeps(enum ipk_shm_kind kind)
{
	struct ipk_shm_ref ref = shmt_ref(kind, 1);
	ipk_shm *s;

	shmt_unlink(&ref);
	T_OK(ipk_shm_create(&ref, SIZE, 0, IPK_SHM_EXCL, &s));
	T_TRUE(shmt_exists(&ref));
	ipk_shm_free(s);
	T_TRUE(!shmt_exists(&ref));

	T_OK(ipk_shm_create(&ref, SIZE, 0, IPK_SHM_EXCL | IPK_SHM_KEEP, &s));
	ipk_shm_free(s);
	T_TRUE(shmt_exists(&ref));
	T_OK(ipk_shm_open(&ref, SIZE, 0, &s));
	T_EQ(ipk_shm_remove(s), 0);
	T_TRUE(!shmt_exists(&ref));
	T_EQ(ipk_shm_remove(s), -ENOENT);
	ipk_shm_free(s);
}

static ipk_shm *inherited;

static int free_copy(void *arg)
{
	(void)arg;
	ipk_shm_free(inherited); /* not the creating process */
	return 0;
}

static void child_copy_keeps(enum ipk_shm_kind kind)
{
	struct ipk_shm_ref ref = shmt_ref(kind, 2);

	shmt_unlink(&ref);
	T_OK(ipk_shm_create(&ref, SIZE, 0, IPK_SHM_EXCL, &inherited));
	t_wait_exit(t_fork(free_copy, NULL), 0);
	T_TRUE(shmt_exists(&ref));
	ipk_shm_free(inherited);
	T_TRUE(!shmt_exists(&ref));
}

/* The name is removed behind the creator's back and a successor creates a
 * new object there: the first creator leaves it alone. */
static void successor_survives(enum ipk_shm_kind kind)
{
	struct ipk_shm_ref ref = shmt_ref(kind, 3);
	ipk_shm *a, *b;
	void *base;

	shmt_unlink(&ref);
	T_OK(ipk_shm_create(&ref, SIZE, 0, IPK_SHM_EXCL, &a));
	T_OK(ipk_shm_map(a, 0, &base));
	shmt_unlink(&ref);
	T_OK(ipk_shm_create(&ref, SIZE, 0, IPK_SHM_EXCL, &b));
	T_EQ(ipk_shm_remove(a), kind == IPK_SHM_SYSV ? -ENOENT : -ESTALE);
	T_TRUE(shmt_exists(&ref));
	strcpy(base, "still mapped"); /* the mapping outlives the name */
	T_TRUE(strcmp(ipk_shm_addr(a), "still mapped") == 0);
	ipk_shm_free(a);
	T_TRUE(shmt_exists(&ref));
	ipk_shm_free(b);
	T_TRUE(!shmt_exists(&ref));
}

static void mapping_outlives_remove(enum ipk_shm_kind kind)
{
	struct ipk_shm_ref ref = shmt_ref(kind, 4);
	ipk_shm *s, *t = (ipk_shm *)0x1;
	void *base;

	shmt_unlink(&ref);
	T_OK(ipk_shm_create(&ref, SIZE, 0, IPK_SHM_EXCL, &s));
	T_OK(ipk_shm_map(s, 0, &base));
	T_EQ(ipk_shm_remove(s), 0);
	T_EQ(ipk_shm_open(&ref, 0, 0, &t), -ENOENT);
	memset(base, 7, SIZE);
	T_EQ(((char *)base)[SIZE - 1], 7);
	ipk_shm_free(s);
}

static void cloexec(ipk_shm *s)
{
	int fd = ipk_shm_fd(s);

	T_OK(fd);
	T_TRUE(fcntl(fd, F_GETFD) & FD_CLOEXEC);
}

/* Everything, successes and failures, for one kind. */
static void exercise(enum ipk_shm_kind kind)
{
	struct ipk_shm_ref ref = shmt_ref(kind, 5);
	ipk_shm *s, *t, *x = (ipk_shm *)0x1;
	void *base;

	shmt_unlink(&ref);
	T_OK(ipk_shm_create(&ref, SIZE, 0, IPK_SHM_EXCL, &s));
	T_OK(ipk_shm_map(s, IPK_SHM_PREFAULT, &base));
	T_OK(ipk_shm_unmap(s));
	T_OK(ipk_shm_map(s, IPK_SHM_RDONLY | IPK_SHM_HUGE, &base)); /* reopens O_RDONLY */
	T_OK(ipk_shm_unmap(s));
	if (kind != IPK_SHM_SYSV) {
		cloexec(s);
		T_OK(ipk_shm_open_fd(ipk_shm_fd(s), SIZE, 0, &t));
		cloexec(t);
		T_EQ(ipk_shm_remove(t), 0); /* no name: nothing to do */
		ipk_shm_free(t);
		T_OK(ipk_shm_open_fd(ipk_shm_fd(s), SIZE, IPK_SHM_RDONLY, &t));
		cloexec(t);
		T_EQ(ipk_shm_map(t, 0, &base), -EACCES);
		T_EQ(ipk_shm_seal(t, IPK_SHM_SEAL_SIZE),
		     kind == IPK_SHM_MEMFD ? -EPERM : -EOPNOTSUPP);
		ipk_shm_free(t);
		T_EQ(ipk_shm_open_fd(ipk_shm_fd(s), SIZE + 1, 0, &x), -EBADMSG);
	}
	if (kind != IPK_SHM_MEMFD) {
		T_EQ(ipk_shm_create(&ref, SIZE, 0, IPK_SHM_EXCL, &x), -EEXIST);
		T_EQ(ipk_shm_create(&ref, SIZE + 1, 0, 0, &x), -EBADMSG);
		T_EQ(ipk_shm_open(&ref, SIZE + 1, IPK_SHM_RDONLY, &x), -EBADMSG);
		T_OK(ipk_shm_open(&ref, SIZE, IPK_SHM_RDONLY, &t));
		T_EQ(ipk_shm_map(t, 0, &base), -EACCES);
		T_OK(ipk_shm_map(t, IPK_SHM_RDONLY, &base));
		ipk_shm_free(t); /* frees a mapped handle */
	}
	T_OK(ipk_shm_map(s, 0, &base));
	T_TRUE(kind == IPK_SHM_MEMFD || shmt_exists(&ref)); /* not removed above */
	ipk_shm_free(s);
	if (kind != IPK_SHM_MEMFD)
		T_EQ(ipk_shm_open(&ref, 0, 0, &x), -ENOENT);
	T_TRUE(x == (ipk_shm *)0x1);
}

int main(void)
{
	int fds = t_count_fds();
	enum ipk_shm_kind named[] = { IPK_SHM_POSIX, IPK_SHM_SYSV, IPK_SHM_FILE };

	for (unsigned i = 0; i < 3; i++) {
		removes_or_keeps(named[i]);
		child_copy_keeps(named[i]);
		successor_survives(named[i]);
		mapping_outlives_remove(named[i]);
	}
	for (int k = IPK_SHM_POSIX; k <= IPK_SHM_FILE; k++)
		exercise((enum ipk_shm_kind)k);
	T_EQ(t_count_fds(), fds);
	return 0;
}
