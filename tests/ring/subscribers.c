/* SPDX-License-Identifier: MIT */
/*
 * subscribers.c - ipk_ring_subscribers(): subscribers in processes of their
 * own are counted once open, uncounted when they close or are killed with
 * SIGKILL (the lock goes with them), and a freed slot is taken again; a
 * memfd ring's subscribers (ipk_ring_open_fd()) count too.
 */
#include <signal.h>

#include "ringt.h"

static char name[64];
static struct rt_step opened;

static int subscriber(void *arg)
{
	ipk_ring_sub *s;

	(void)arg;
	T_OK(ipk_ring_open(name, NULL, &s));
	rt_signal(&opened);
	pause(); /* until killed */
	return 1;
}

static int fd_subscriber(void *arg)
{
	const int *fds = arg;
	ipk_ring_sub *s;

	T_OK(ipk_ring_open_fd(fds[0], fds[1], NULL, &s));
	rt_signal(&opened);
	pause();
	return 1;
}

static void kill_wait(pid_t pid)
{
	T_SYS(kill(pid, SIGKILL));
	T_SYS(waitpid(pid, NULL, 0));
}

int main(void)
{
	pid_t pids[3];
	ipk_ring_sub *mine;
	ipk_ring *r;
	int fds[2];

	rt_name(name, sizeof(name), "subs");
	rt_step_init(&opened);
	T_OK(ipk_ring_create(name, NULL, &r));
	T_EQ(ipk_ring_subscribers(r), 0);
	for (int i = 0; i < 3; i++) {
		pids[i] = t_fork(subscriber, NULL);
		rt_await(&opened);
		T_EQ(ipk_ring_subscribers(r), i + 1);
	}
	T_OK(ipk_ring_open(name, NULL, &mine));
	T_EQ(ipk_ring_subscribers(r), 4);
	kill_wait(pids[1]); /* SIGKILL: its slot is free at once */
	T_EQ(ipk_ring_subscribers(r), 3);
	ipk_ring_sub_close(mine);
	T_EQ(ipk_ring_subscribers(r), 2);
	pids[1] = t_fork(subscriber, NULL); /* takes the lowest free slot */
	rt_await(&opened);
	T_EQ(ipk_ring_subscribers(r), 3);
	for (int i = 0; i < 3; i++)
		kill_wait(pids[i]);
	T_EQ(ipk_ring_subscribers(r), 0);
	ipk_ring_close(r);
	printf("named ring: 0, 1, 2, 3, 4 counted; a kill -9 and a close uncounted; "
	       "a slot taken again\n");

	T_OK(ipk_ring_create(NULL, NULL, &r));
	T_OK(ipk_ring_fds(r, &fds[0], &fds[1]));
	pids[0] = t_fork(fd_subscriber, fds);
	rt_await(&opened);
	T_EQ(ipk_ring_subscribers(r), 1);
	kill_wait(pids[0]);
	T_EQ(ipk_ring_subscribers(r), 0);
	ipk_ring_close(r);
	printf("memfd ring: its subscriber counted, then not\n");
	return 0;
}
