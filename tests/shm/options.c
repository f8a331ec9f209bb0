/* SPDX-License-Identifier: MIT */
/*
 * options.c - mapping options: IPK_SHM_PREFAULT makes every page resident
 * at map time (mincore), IPK_SHM_HUGE falls back cleanly where no huge
 * pages are reserved and says which pages it got, IPK_SHM_MLOCK locks the
 * mapping and, over RLIMIT_MEMLOCK, fails with the errno mlock gave and a
 * hint that names the limit, leaving nothing mapped.
 */
#include <sys/statfs.h>
#include <linux/magic.h>

#include "shmt.h"

#define SIZE (4 * 1024 * 1024)

static size_t resident(void *base, size_t size)
{
	long pg = sysconf(_SC_PAGESIZE);
	size_t n = size / (size_t)pg, count = 0;
	unsigned char *vec = malloc(n);

	T_TRUE(vec);
	T_SYS(mincore(base, size, vec));
	for (size_t i = 0; i < n; i++)
		count += vec[i] & 1;
	free(vec);
	return count * (size_t)pg;
}

static void prefault(enum ipk_shm_kind kind, unsigned rdonly)
{
	struct ipk_shm_ref ref = shmt_ref(kind, 1);
	ipk_shm *s;
	void *base;

	shmt_unlink(&ref);
	T_OK(ipk_shm_create(&ref, SIZE, 0, IPK_SHM_EXCL, &s));
	T_OK(ipk_shm_map(s, rdonly, &base));
	T_EQ(resident(base, SIZE), 0); /* fresh: nothing touched yet */
	T_OK(ipk_shm_unmap(s));
	T_OK(ipk_shm_map(s, rdonly | IPK_SHM_PREFAULT, &base));
	if (!t_emulated())
		T_EQ(resident(base, SIZE), SIZE);
	else /* qemu-user maps guest memory itself */
		printf("IPK_SHM_PREFAULT residency not checked: qemu-user drops MAP_POPULATE\n");
	ipk_shm_free(s);
}

static long meminfo(const char *key)
{
	char line[256];
	long v = -1;
	FILE *f = fopen("/proc/meminfo", "r");

	T_TRUE(f);
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, key, strlen(key)) == 0)
			v = strtol(line + strlen(key), NULL, 10);
	fclose(f);
	return v;
}

static void huge(enum ipk_shm_kind kind, bool reserved, bool thp)
{
	struct ipk_shm_ref ref = shmt_ref(kind, 2);
	size_t size = 3 * 1024 * 1024 + 4096;
	ipk_shm *s;
	void *base;

	shmt_unlink(&ref);
	T_OK(ipk_shm_create(&ref, size, 0, IPK_SHM_EXCL | IPK_SHM_HUGE, &s));
	T_OK(ipk_shm_map(s, 0, &base));
	if (reserved && (kind == IPK_SHM_MEMFD || kind == IPK_SHM_SYSV)) {
		T_EQ(ipk_shm_pages(s), IPK_SHM_PAGES_HUGETLB);
		ipk_shm_free(s);
		return;
	}
	/* no reserved huge pages: normal pages, and it says so */
	T_EQ(ipk_shm_size(s), size);
	T_EQ(ipk_shm_pages(s), IPK_SHM_PAGES_NORMAL);
	if (kind != IPK_SHM_SYSV) {
		struct statfs sfs;

		T_SYS(fstatfs(ipk_shm_fd(s), &sfs));
		T_TRUE(sfs.f_type != HUGETLBFS_MAGIC);
	}
	memset(base, 1, size);
	T_OK(ipk_shm_unmap(s));
	T_EQ(ipk_shm_pages(s), IPK_SHM_PAGES_NONE);
	/* asked at map time: transparent huge page advice, where there is THP */
	T_OK(ipk_shm_map(s, IPK_SHM_HUGE | IPK_SHM_PREFAULT, &base));
	T_EQ(ipk_shm_pages(s), thp ? IPK_SHM_PAGES_THP : IPK_SHM_PAGES_NORMAL);
	T_EQ(((char *)base)[size - 1], 1);
	T_EQ(resident(base, size / 4096 * 4096), size / 4096 * 4096);
	ipk_shm_free(s);
}

static void hints(void)
{
	const char *h = ipk_shm_limit_hint(-ENOMEM, IPK_SHM_MEMFD, IPK_SHM_MLOCK);

	T_TRUE(h && strstr(h, "RLIMIT_MEMLOCK"));
	h = ipk_shm_limit_hint(EPERM, IPK_SHM_POSIX, IPK_SHM_MLOCK | IPK_SHM_RDONLY);
	T_TRUE(h && strstr(h, "RLIMIT_MEMLOCK"));
	T_TRUE(ipk_shm_limit_hint(-ENOMEM, IPK_SHM_MEMFD, 0) == NULL);
	T_TRUE(ipk_shm_limit_hint(-EEXIST, IPK_SHM_SYSV, IPK_SHM_MLOCK) == NULL);
	h = ipk_shm_limit_hint(-ENOSPC, IPK_SHM_SYSV, 0);
	T_TRUE(h && strstr(h, "kernel.shmmni"));
	h = ipk_shm_limit_hint(-EMFILE, IPK_SHM_FILE, 0);
	T_TRUE(h && strstr(h, "RLIMIT_NOFILE"));
}

static long vmlck_kb(void)
{
	char line[256];
	long v = -1;
	FILE *f = fopen("/proc/self/status", "r");

	T_TRUE(f);
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, "VmLck:", 6) == 0)
			v = strtol(line + 6, NULL, 10);
	fclose(f);
	return v;
}

static int over_limit(void *arg)
{
	struct ipk_shm_ref ref = { .kind = IPK_SHM_MEMFD };
	struct rlimit rl = { 64 * 1024, 64 * 1024 };
	ipk_shm *s;
	void *base = (void *)0x1;
	const char *h;

	(void)arg;
	if (t_drop_root() < 0)
		return 77;
	T_SYS(setrlimit(RLIMIT_MEMLOCK, &rl));
	T_OK(ipk_shm_create(&ref, 1024 * 1024, 0, 0, &s));
	T_EQ(ipk_shm_map(s, IPK_SHM_MLOCK, &base), -ENOMEM);
	h = ipk_shm_limit_hint(-ENOMEM, IPK_SHM_MEMFD, IPK_SHM_MLOCK);
	T_TRUE(h && strstr(h, "RLIMIT_MEMLOCK"));
	T_TRUE(base == (void *)0x1 && ipk_shm_addr(s) == NULL);
	T_EQ(ipk_shm_pages(s), IPK_SHM_PAGES_NONE);
	/* within the limit it works */
	T_OK(ipk_shm_map(s, 0, &base));
	T_OK(ipk_shm_unmap(s));
	rl.rlim_cur = rl.rlim_max = 0;
	T_SYS(setrlimit(RLIMIT_MEMLOCK, &rl));
	T_EQ(ipk_shm_map(s, IPK_SHM_MLOCK | IPK_SHM_RDONLY, &base), -EPERM);
	T_TRUE(ipk_shm_addr(s) == NULL);
	ipk_shm_free(s);
	return 0;
}

static bool mlock_limits(void)
{
	struct ipk_shm_ref ref = shmt_ref(IPK_SHM_SYSV, 3);
	ipk_shm *s;
	void *base;
	long before = vmlck_kb();
	int st;
	pid_t pid;

	if (geteuid() == 0) { /* CAP_IPC_LOCK: any size locks */
		shmt_unlink(&ref);
		T_OK(ipk_shm_create(&ref, 1024 * 1024, 0, IPK_SHM_EXCL, &s));
		T_OK(ipk_shm_map(s, IPK_SHM_MLOCK, &base));
		T_TRUE(vmlck_kb() - before >= 1024);
		ipk_shm_free(s);
		T_EQ(vmlck_kb(), before);
	}
	pid = t_fork(over_limit, NULL);
	T_SYS(waitpid(pid, &st, 0));
	if (WIFEXITED(st) && WEXITSTATUS(st) == 77)
		return false;
	T_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	return true;
}

int main(void)
{
	long hp_free = meminfo("HugePages_Free:");
	bool thp = access("/sys/kernel/mm/transparent_hugepage/enabled", F_OK) == 0;

	for (int k = IPK_SHM_POSIX; k <= IPK_SHM_FILE; k++) {
		prefault((enum ipk_shm_kind)k, 0);
		prefault((enum ipk_shm_kind)k, IPK_SHM_RDONLY);
		huge((enum ipk_shm_kind)k, hp_free >= 4, thp);
	}
	if (hp_free > 0 && hp_free < 4)
		fprintf(stderr, "note: %ld free huge pages, too few to test HUGETLB\n", hp_free);
	hints();
	if (!mlock_limits())
		T_SKIP("cannot drop CAP_IPC_LOCK (switch to uid 65534) to test RLIMIT_MEMLOCK");
	return 0;
}
