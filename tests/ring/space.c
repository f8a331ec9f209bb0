/* SPDX-License-Identifier: MIT */
/*
 * space.c - a ring's memory at its edges. On a full tmpfs (a private
 * 64 KiB one mounted over /dev/shm in a mount namespace of its own) create
 * fails with -ENOSPC and leaves nothing behind, instead of a ring whose
 * pages are missing (SIGBUS at a later publish). A memfd ring cannot be
 * shrunk (sealed); a named ring truncated under a subscriber kills that
 * subscriber with SIGBUS, as documented in ring.h. The namespace part
 * needs root (skipped with the reason otherwise).
 */
#include <dirent.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>

#include "ringt.h"

static char name[64];
static struct rt_step opened;

static int count_entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	T_TRUE(d != NULL);
	while ((e = readdir(d)))
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

static int full_tmpfs(void *arg)
{
	struct ipk_ring_opts small = { .capacity = 16384 }, big = { .capacity = 1 << 20 };
	ipk_ring *a, *b;

	(void)arg;
	if (unshare(CLONE_NEWNS) < 0)
		return 77;
	T_SYS(mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL));
	T_SYS(mount("tmpfs", "/dev/shm", "tmpfs", 0, "size=64k"));
	T_OK(ipk_ring_create(name, &small, &a)); /* 24 KiB with its doorbell */
	T_OK(ipk_ring_publish(a, "x", 1));
	T_EQ(ipk_ring_create("/ipk-ring-space-big", &big, &b), -ENOSPC);
	T_TRUE(ipk_shm_limit_hint(-ENOSPC, IPK_SHM_POSIX, 0) != NULL);
	T_EQ(count_entries("/dev/shm"), 2); /* a's feed and bell, nothing of b */
	ipk_ring_close(a);
	T_EQ(count_entries("/dev/shm"), 0);
	return 0;
}

static int subscriber(void *arg)
{
	char buf[64];
	ipk_ring_sub *s;

	(void)arg;
	T_OK(ipk_ring_open(name, NULL, &s));
	rt_signal(&opened);
	for (;;)
		(void)ipk_ring_recv(s, buf, sizeof(buf), IPK_FOREVER);
	return 1;
}

int main(void)
{
	char path[96];
	ipk_ring *r;
	int st, fd, bell;
	pid_t pid;

	rt_name(name, sizeof(name), "space");

	/* memfd: sealed against shrinking */
	T_OK(ipk_ring_create(NULL, NULL, &r));
	T_OK(ipk_ring_fds(r, &fd, &bell));
	T_EQ(ftruncate(fd, 4096), -1);
	T_EQ(errno, EPERM);
	ipk_ring_close(r);
	printf("memfd ring: ftruncate refused (EPERM)\n");

	/* named: truncated under a waiting subscriber, which dies of SIGBUS */
	T_OK(ipk_ring_create(name, NULL, &r));
	rt_step_init(&opened);
	pid = t_fork(subscriber, NULL);
	rt_await(&opened);
	for (int i = 0; i < 100; i++)
		T_OK(ipk_ring_publish(r, "hello", 5));
	snprintf(path, sizeof(path), "/dev/shm%s", name);
	fd = open(path, O_RDWR | O_CLOEXEC);
	T_SYS(fd);
	T_SYS(ftruncate(fd, 4096));
	close(fd);
	/* (the publisher too would die at its next publish: it only closes,
	 * which touches the header page alone) */
	T_SYS(waitpid(pid, &st, 0));
#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif
#ifdef UNDER_ASAN
	/* ASan catches the SIGBUS, reports "BUS" and exits, or aborts
	 * (abort_on_error, as meson sets it) */
	T_TRUE((WIFEXITED(st) && WEXITSTATUS(st) != 0) ||
	       (WIFSIGNALED(st) && WTERMSIG(st) == SIGABRT));
#else
	T_TRUE(WIFSIGNALED(st));
	T_EQ(WTERMSIG(st), SIGBUS);
#endif
	ipk_ring_close(r);
	printf("named ring truncated under a subscriber: it died of SIGBUS\n");

	pid = t_fork(full_tmpfs, NULL);
	T_SYS(waitpid(pid, &st, 0));
	T_TRUE(WIFEXITED(st));
	if (WEXITSTATUS(st) == 77)
		T_SKIP("no private mount namespace here (unshare: not root?): ENOSPC not checked");
	T_EQ(WEXITSTATUS(st), 0);
	printf("full tmpfs: -ENOSPC at create, nothing left behind\n");
	return 0;
}
