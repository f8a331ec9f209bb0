/* SPDX-License-Identifier: MIT */
/*
 * tests/notify/pidwatch.c - watching another process for exit, through a
 * pidfd and through the polling fallback; a pid that does not exist.
 */
#include <poll.h>

#include "../harness.h"

/* Child: exits when its stdin-like pipe closes. */
static int hold(void *arg)
{
	int *p = arg;
	char c;

	close(p[1]);
	(void)!read(p[0], &c, 1);
	return 3;
}

static void watch(unsigned flags)
{
	ipk_pidwatch *w;
	pid_t c;
	int p[2];

	T_SYS(pipe(p));
	c = t_fork(hold, p);
	close(p[0]);
	T_OK(ipk_pidwatch_open(c, flags, &w));
	T_EQ(ipk_pidwatch_pid(w), c);
	T_EQ(ipk_pidwatch_wait(w, 0), -EAGAIN);
	T_EQ(ipk_pidwatch_wait(w, 30 * IPK_MSEC), -ETIMEDOUT);
	close(p[1]); /* the child exits */
	if (flags & IPK_PIDWATCH_FALLBACK) {
		/* kill(pid, 0) sees a zombie as alive: reap it first. */
		T_EQ(ipk_pidwatch_pidfd(w), -EOPNOTSUPP);
		t_wait_exit(c, 3);
		T_OK(ipk_pidwatch_wait(w, 10 * IPK_SEC));
	} else {
		/* A pidfd reports the exit itself, before the reaping. */
		T_OK(ipk_pidwatch_wait(w, 10 * IPK_SEC));
		T_TRUE(ipk_pidwatch_pidfd(w) >= 0);
		t_wait_exit(c, 3);
	}
	struct pollfd pf = { ipk_pidwatch_fd(w), POLLIN, 0 };

	T_EQ(poll(&pf, 1, 0), 1); /* stays readable */
	T_OK(ipk_pidwatch_wait(w, 0));
	ipk_pidwatch_close(w);

	/* Reaped: there is nothing to watch. */
	T_EQ(ipk_pidwatch_open(c, flags, &w), -ESRCH);
}

int main(void)
{
	ipk_pidwatch *w;
	int fds = t_count_fds();

	T_EQ(ipk_pidwatch_open(0, 0, &w), -EINVAL);
	T_EQ(ipk_pidwatch_open(-1, 0, &w), -EINVAL);
	T_EQ(ipk_pidwatch_open(getpid(), 0x8, &w), -EINVAL);
	watch(0);
	watch(IPK_PIDWATCH_FALLBACK);
	T_EQ(t_count_fds(), fds);
	return 0;
}
