/* SPDX-License-Identifier: MIT */
/*
 * perms.c - modes of created objects are exact (default 0600, umask not
 * applied), and another user is refused what the mode refuses: -EACCES
 * for POSIX, System V and file objects, read-write and read-only. Needs
 * root to switch to uid/gid 65534 in a child; skips otherwise.
 */
#include "shmt.h"

#define SIZE 4096

static mode_t mode_of(ipk_shm *s)
{
	struct shmid_ds ds;
	struct stat st;

	if (ipk_shm_kind(s) == IPK_SHM_SYSV) {
		T_SYS(shmctl(ipk_shm_sysv_id(s), IPC_STAT, &ds));
		return ds.shm_perm.mode & 07777;
	}
	T_SYS(fstat(ipk_shm_fd(s), &st));
	return st.st_mode & 07777;
}

static struct ipk_shm_ref ref;

/* As nobody: 0600 refuses everything, 0644 allows reading only. */
static int stranger(void *arg)
{
	bool readable = arg != NULL;
	ipk_shm *s = (ipk_shm *)0x1;
	void *base;

	if (t_drop_root() < 0)
		return 77;
	T_EQ(ipk_shm_open(&ref, SIZE, 0, &s), -EACCES);
	if (!readable) {
		T_EQ(ipk_shm_open(&ref, SIZE, IPK_SHM_RDONLY, &s), -EACCES);
		T_TRUE(s == (ipk_shm *)0x1);
		return 0;
	}
	T_TRUE(s == (ipk_shm *)0x1);
	T_OK(ipk_shm_open(&ref, SIZE, IPK_SHM_RDONLY, &s));
	T_EQ(ipk_shm_map(s, 0, &base), -EACCES);
	T_OK(ipk_shm_map(s, IPK_SHM_RDONLY, &base));
	T_TRUE(strcmp(base, "owner's") == 0);
	/* sticky /tmp (EPERM), not the owner (IPC_RMID: EPERM); shm_unlink()
	 * reports the sticky /dev/shm as EACCES, as POSIX has it */
	T_EQ(ipk_shm_remove(s), ref.kind == IPK_SHM_POSIX ? -EACCES : -EPERM);
	ipk_shm_free(s);
	return 0;
}

static void one_kind(enum ipk_shm_kind kind)
{
	ipk_shm *s;
	void *base;
	int st;
	pid_t pid;

	ref = shmt_ref(kind, 1);
	shmt_unlink(&ref);
	T_OK(ipk_shm_create(&ref, SIZE, 0, IPK_SHM_EXCL, &s));
	T_EQ(mode_of(s), 0600);
	pid = t_fork(stranger, NULL);
	T_SYS(waitpid(pid, &st, 0));
	if (WIFEXITED(st) && WEXITSTATUS(st) == 77)
		T_SKIP("cannot switch to uid/gid 65534");
	T_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	ipk_shm_free(s);

	T_OK(ipk_shm_create(&ref, SIZE, 0644, IPK_SHM_EXCL, &s));
	T_EQ(mode_of(s), 0644);
	T_OK(ipk_shm_map(s, 0, &base));
	strcpy(base, "owner's");
	t_wait_exit(t_fork(stranger, (void *)1), 0);
	T_TRUE(shmt_exists(&ref)); /* the stranger could not remove it */
	ipk_shm_free(s);
}

int main(void)
{
	if (geteuid() != 0)
		T_SKIP("needs root to run a child as another user");
	umask(077); /* modes are exact, not masked */
	one_kind(IPK_SHM_POSIX);
	one_kind(IPK_SHM_SYSV);
	one_kind(IPK_SHM_FILE);
	return 0;
}
