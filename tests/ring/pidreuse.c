/* SPDX-License-Identifier: MIT */
/*
 * pidreuse.c - publisher liveness when the dead publisher's pid belongs to
 * another process, with a pidfd and without one (IPK_RING_TEST_NO_PIDFD
 * forces the fallback of kernels before 5.3: kill(pid, 0) plus the start
 * time the header records).
 *
 * A reused pid is staged: the publisher is killed, and the pid field of the
 * header (line 1, offset 72) is rewritten through a writable mapping of the
 * test's own to the pid of a live stranger process. A subscriber that
 * trusted the pid alone would wait for ever (here: -ETIMEDOUT); it must
 * report -EOWNERDEAD. An idle live publisher, in both modes, must not be
 * reported dead.
 */
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <sys/prctl.h>

#include "ringt.h"

#define OFF_PID 72 /* struct ring_hdr: line 1 = epoch (64), pid (72) */

static char name[64];
static struct rt_step ready;

/* Creates the ring, then idles until killed. */
static int publisher(void *arg)
{
	ipk_ring *r;

	(void)arg;
	T_SYS(prctl(PR_SET_PDEATHSIG, SIGKILL));
	T_OK(ipk_ring_create(name, NULL, &r));
	rt_signal(&ready);
	for (;;)
		pause();
	return 0;
}

static int stranger(void *arg)
{
	(void)arg;
	T_SYS(prctl(PR_SET_PDEATHSIG, SIGKILL));
	for (;;)
		pause();
	return 0;
}

static void kill_wait(pid_t pid)
{
	int st;

	T_SYS(kill(pid, SIGKILL));
	T_EQ(waitpid(pid, &st, 0), pid);
	T_TRUE(WIFSIGNALED(st));
}

static void set_fallback(bool on)
{
	if (on)
		T_SYS(setenv("IPK_RING_TEST_NO_PIDFD", "1", 1));
	else
		T_SYS(unsetenv("IPK_RING_TEST_NO_PIDFD"));
}

/* The recorded publisher pid, read or rewritten through our own mapping. */
static int32_t *pid_field(void **map)
{
	int fd = shm_open(name, O_RDWR | O_CLOEXEC, 0);

	T_SYS(fd);
	*map = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	T_TRUE(*map != MAP_FAILED);
	close(fd);
	return (int32_t *)((char *)*map + OFF_PID);
}

static void run(bool fallback)
{
	unsigned char buf[64];
	ipk_ring_sub *s, *early;
	pid_t pub, other;
	int32_t *pidp;
	void *map;
	int64_t t0;

	rt_name(name, sizeof(name), fallback ? "reuse-fb" : "reuse-fd");
	pub = t_fork(publisher, NULL);
	rt_await(&ready);
	pidp = pid_field(&map);
	T_EQ(*pidp, pub); /* the layout this test relies on */

	/* A live, idle publisher is not reported dead. */
	set_fallback(fallback);
	T_OK(ipk_ring_open(name, NULL, &early));
	T_EQ(ipk_ring_recv(early, buf, sizeof(buf), 150 * IPK_MSEC), -ETIMEDOUT);
	T_EQ(ipk_ring_recv(early, buf, sizeof(buf), 0), -EAGAIN);

	/* The publisher dies; its pid now names a live stranger, born after
	 * the death as a real reuser would be (start times count clock
	 * ticks: the publisher lived for more than one). */
	kill_wait(pub);
	other = t_fork(stranger, NULL);
	*pidp = other;
	T_OK(ipk_ring_open(name, NULL, &s));
	t0 = rt_now();
	T_EQ(ipk_ring_recv(s, buf, sizeof(buf), 2 * IPK_SEC), -EOWNERDEAD);
	T_TRUE(rt_now() - t0 < IPK_SEC);
	T_EQ(ipk_ring_recv(s, buf, sizeof(buf), 0), -EAGAIN); /* said once */
	/* The subscriber that watched it alive sees the death too. */
	T_EQ(ipk_ring_recv(early, buf, sizeof(buf), 2 * IPK_SEC), -EOWNERDEAD);
	/* ... and so does its pollable descriptor. */
	ipk_ring_sub_close(s);
	T_OK(ipk_ring_open(name, NULL, &s));
	int fd = ipk_ring_fd(s);
	struct pollfd pfd = { .fd = fd, .events = POLLIN };

	T_TRUE(fd >= 0);
	T_EQ(poll(&pfd, 1, 2000), 1);
	T_EQ(ipk_ring_recv(s, buf, sizeof(buf), 0), -EOWNERDEAD);
	/* ... once: then it stays quiet until a successor comes */
	T_EQ(poll(&pfd, 1, 200), 0);
	set_fallback(false);

	ipk_ring_sub_close(s);
	ipk_ring_sub_close(early);
	kill_wait(other);
	munmap(map, 4096);
	rt_name(name, sizeof(name), fallback ? "reuse-fb" : "reuse-fd"); /* removes it */
	printf("%s: a reused pid does not hide the publisher's death\n",
	       fallback ? "without pidfd" : "with pidfd");
}

int main(void)
{
	rt_step_init(&ready);
	run(false);
	run(true);
	return 0;
}
