/* SPDX-License-Identifier: MIT */
/*
 * readonly.c - a subscriber cannot corrupt the feed: a write through its
 * mapping kills it with SIGSEGV and changes nothing; it cannot make its
 * mapping writable (mprotect), nor get a writable mapping from the feed's
 * descriptor - for a named ring and for a sealed memfd ring.
 */
#include <signal.h>
#include <sys/mman.h>

#include "ringt.h"

static ipk_ring_sub *sub;

/* A receive that must succeed, then a write through the view's pointer. */
static int scribble(void *arg)
{
	struct sigaction dfl = { .sa_handler = SIG_DFL };
	struct ipk_ring_view v;

	(void)arg;
	/* the default action, also under AddressSanitizer's handler */
	T_SYS(sigaction(SIGSEGV, &dfl, NULL));
	T_OK(ipk_ring_view(sub, &v, 0));
	*(volatile char *)v.data = 'X'; /* must fault */
	return 3;
}

static void cannot_write(ipk_ring *r, ipk_ring_sub *s)
{
	struct ipk_ring_view v;
	char buf[16];
	void *page;
	pid_t pid;
	int st;

	sub = s;
	T_OK(ipk_ring_publish(r, "feed-data", 9));
	pid = t_fork(scribble, NULL);
	T_EQ(waitpid(pid, &st, 0), pid);
	T_TRUE(WIFSIGNALED(st));
	T_EQ(WTERMSIG(st), SIGSEGV);

	/* the feed is untouched, and stays read-only */
	T_OK(ipk_ring_view(s, &v, 0));
	T_EQ(v.len, 9);
	T_MEMEQ(v.data, "feed-data", 9);
	page = (void *)((uintptr_t)v.data & ~(uintptr_t)4095);
	T_EQ(mprotect(page, 4096, PROT_READ | PROT_WRITE), -1);
	T_EQ(errno, EACCES);
	T_EQ(ipk_ring_validate(s, &v), 0);
	T_OK(ipk_ring_publish(r, "more", 4));
	T_EQ(ipk_ring_recv(s, buf, sizeof(buf), 0), 4);
	T_MEMEQ(buf, "more", 4);
}

int main(void)
{
	char name[64];
	ipk_ring_sub *s;
	int rfd, bfd, fd;
	ipk_ring *r;

	rt_name(name, sizeof(name), "ro");
	T_OK(ipk_ring_create(name, NULL, &r));
	T_OK(ipk_ring_open(name, NULL, &s));
	cannot_write(r, s);
	/* what a subscriber can open cannot be mapped writable */
	fd = (int)T_SYS(shm_open(name, O_RDONLY, 0));
	T_TRUE(mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0) == MAP_FAILED);
	T_EQ(errno, EACCES);
	close(fd);
	ipk_ring_sub_close(s);
	ipk_ring_close(r);

	T_OK(ipk_ring_create(NULL, NULL, &r));
	T_OK(ipk_ring_fds(r, &rfd, &bfd));
	T_OK(ipk_ring_open_fd(rfd, bfd, NULL, &s));
	cannot_write(r, s);
	/* sealed: even the publisher's read-write descriptor gives no new
	 * writable mapping (F_SEAL_FUTURE_WRITE, Linux 5.1) */
	T_TRUE(mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, rfd, 0) == MAP_FAILED);
	T_EQ(errno, EPERM);
	T_EQ(ftruncate(rfd, 4096), -1); /* and it cannot shrink */
	T_EQ(errno, EPERM);
	ipk_ring_sub_close(s);
	ipk_ring_close(r);
	return 0;
}
