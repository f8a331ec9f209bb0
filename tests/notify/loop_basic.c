/* SPDX-License-Identifier: MIT */
/*
 * tests/notify/loop_basic.c - ipk_loop: descriptors (level, edge,
 * one-shot), add twice (-EEXIST), remove unknown (-ENOENT), removal during
 * a round, timers (and bad intervals), signals, deferred calls, stop and
 * run_once.
 */
#include <fcntl.h>
#include <signal.h>
#include <time.h>

#include "../harness.h"

static int calls, fd_seen;
static uint32_t ev_seen;

static void on_fd(ipk_loop *l, int fd, uint32_t events, void *arg)
{
	(void)l;
	(void)arg;
	calls++;
	fd_seen = fd;
	ev_seen = events;
}

/* Each of two ready pipes removes the other: only one may run. */
static int pair_calls;
static void remove_other(ipk_loop *l, int fd, uint32_t events, void *arg)
{
	(void)fd;
	(void)events;
	pair_calls++;
	T_OK(ipk_loop_del_fd(l, *(int *)arg));
}

static uint64_t timer_exp;
static int timer_calls;
static void on_timer(ipk_loop *l, ipk_loop_timer *t, uint64_t n, void *arg)
{
	(void)l;
	timer_calls++;
	timer_exp += n;
	if (arg && timer_calls == 3)
		ipk_loop_timer_cancel(t); /* from its own callback */
}

static struct ipk_siginfo sig_seen;
static int sig_calls;
static void on_sig(ipk_loop *l, const struct ipk_siginfo *si, void *arg)
{
	(void)l;
	(void)arg;
	sig_calls++;
	sig_seen = *si;
}

static int defer_order[4], ndefer;
static void on_defer(ipk_loop *l, void *arg)
{
	defer_order[ndefer++] = (int)(intptr_t)arg;
	if ((intptr_t)arg == 1)
		T_OK(ipk_loop_defer(l, on_defer, (void *)3)); /* next round */
	T_EQ(ipk_loop_run_once(l, 0), -EBUSY);
}

static void stop_it(ipk_loop *l, void *arg)
{
	(void)arg;
	ipk_loop_stop(l);
}

static int64_t now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * IPK_SEC + ts.tv_nsec;
}

int main(void)
{
	int p[2], q[2], fds0 = t_count_fds();
	ipk_loop_timer *t;
	ipk_loop *l;
	sigset_t set;
	int64_t t0;
	char c;

	T_OK(ipk_loop_new(&l));
	T_TRUE(ipk_loop_fd(l) >= 0);
	T_SYS(pipe2(p, O_CLOEXEC | O_NONBLOCK));
	T_SYS(pipe2(q, O_CLOEXEC | O_NONBLOCK));

	/* Bad input. */
	T_EQ(ipk_loop_add_fd(l, -1, IPK_LOOP_IN, on_fd, NULL), -EINVAL);
	T_EQ(ipk_loop_add_fd(l, p[0], IPK_LOOP_IN, NULL, NULL), -EINVAL);
	T_EQ(ipk_loop_add_fd(l, p[0], 0x40000, on_fd, NULL), -EINVAL);
	T_EQ(ipk_loop_del_fd(l, p[0]), -ENOENT); /* never added */
	T_EQ(ipk_loop_del_fd(l, 1000), -ENOENT);
	T_EQ(ipk_loop_mod_fd(l, p[0], IPK_LOOP_IN), -ENOENT);
	int reg = T_SYS(open("/etc/passwd", O_RDONLY | O_CLOEXEC));
	T_EQ(ipk_loop_add_fd(l, reg, IPK_LOOP_IN, on_fd, NULL), -EPERM);
	close(reg);

	/* Level-triggered: reported while readable. */
	T_OK(ipk_loop_add_fd(l, p[0], IPK_LOOP_IN, on_fd, NULL));
	T_EQ(ipk_loop_add_fd(l, p[0], IPK_LOOP_IN, on_fd, NULL), -EEXIST);
	T_EQ(ipk_loop_run_once(l, 0), 0);
	T_EQ(write(p[1], "ab", 2), 2);
	T_EQ(ipk_loop_run_once(l, IPK_SEC), 1);
	T_EQ(fd_seen, p[0]);
	T_EQ(ev_seen, IPK_LOOP_IN);
	T_EQ(ipk_loop_run_once(l, IPK_SEC), 1);
	T_EQ(calls, 2);

	/* Edge-triggered: once per change. */
	T_OK(ipk_loop_mod_fd(l, p[0], IPK_LOOP_IN | IPK_LOOP_EDGE));
	T_EQ(ipk_loop_run_once(l, 0), 1);
	T_EQ(ipk_loop_run_once(l, 20 * IPK_MSEC), 0);
	T_EQ(write(p[1], "c", 1), 1);
	T_EQ(ipk_loop_run_once(l, IPK_SEC), 1);
	T_EQ(calls, 4);

	/* One-shot: once, until re-armed. */
	T_OK(ipk_loop_mod_fd(l, p[0], IPK_LOOP_IN | IPK_LOOP_ONESHOT));
	T_EQ(ipk_loop_run_once(l, IPK_SEC), 1);
	T_EQ(ipk_loop_run_once(l, 20 * IPK_MSEC), 0);
	T_OK(ipk_loop_mod_fd(l, p[0], IPK_LOOP_IN | IPK_LOOP_ONESHOT));
	T_EQ(ipk_loop_run_once(l, IPK_SEC), 1);
	T_EQ(calls, 6);
	T_OK(ipk_loop_del_fd(l, p[0]));
	T_EQ(ipk_loop_del_fd(l, p[0]), -ENOENT);
	T_EQ(ipk_loop_run_once(l, 20 * IPK_MSEC), 0); /* removed: silent */
	while (read(p[0], &c, 1) == 1)
		;

	/* Writable, and removal of a source whose event is pending. */
	T_OK(ipk_loop_add_fd(l, p[1], IPK_LOOP_OUT, on_fd, NULL));
	T_EQ(ipk_loop_run_once(l, IPK_SEC), 1);
	T_EQ(ev_seen, IPK_LOOP_OUT);
	T_OK(ipk_loop_del_fd(l, p[1]));
	T_OK(ipk_loop_add_fd(l, p[0], IPK_LOOP_IN, remove_other, &q[0]));
	T_OK(ipk_loop_add_fd(l, q[0], IPK_LOOP_IN, remove_other, &p[0]));
	T_EQ(write(p[1], "x", 1), 1);
	T_EQ(write(q[1], "x", 1), 1);
	T_EQ(ipk_loop_run_once(l, IPK_SEC), 1);
	T_EQ(pair_calls, 1);
	/* One of the two is left: remove it. */
	T_TRUE(ipk_loop_del_fd(l, p[0]) == 0 || ipk_loop_del_fd(l, q[0]) == 0);
	T_EQ(ipk_loop_del_fd(l, p[0]), -ENOENT);
	T_EQ(ipk_loop_del_fd(l, q[0]), -ENOENT);

	/* A descriptor closed without removal, its number reused. */
	T_OK(ipk_loop_add_fd(l, q[0], IPK_LOOP_IN, on_fd, NULL));
	close(q[0]);
	close(q[1]);
	T_SYS(pipe2(q, O_CLOEXEC | O_NONBLOCK));
	T_OK(ipk_loop_add_fd(l, q[0], IPK_LOOP_IN, on_fd, NULL));
	T_OK(ipk_loop_del_fd(l, q[0]));

	/* Timers. */
	T_EQ(ipk_loop_timer_every(l, 0, on_timer, NULL, &t), -EINVAL);
	T_EQ(ipk_loop_timer_every(l, -IPK_MSEC, on_timer, NULL, &t), -EINVAL);
	T_EQ(ipk_loop_timer_once(l, -1, on_timer, NULL, &t), -EINVAL);
	T_EQ(ipk_loop_timer_once(l, IPK_MSEC, NULL, NULL, &t), -EINVAL);
	t0 = now();
	T_OK(ipk_loop_timer_once(l, 30 * IPK_MSEC, on_timer, NULL, &t));
	T_EQ(ipk_loop_run_once(l, 5 * IPK_SEC), 1);
	T_TRUE(now() - t0 >= 30 * IPK_MSEC);
	T_EQ(timer_calls, 1);
	T_EQ(ipk_loop_run_once(l, 50 * IPK_MSEC), 0); /* one-shot */
	ipk_loop_timer_cancel(t);
	timer_calls = 0;
	T_OK(ipk_loop_timer_every(l, 5 * IPK_MSEC, on_timer, (void *)1, NULL));
	while (timer_calls < 3)
		T_OK(ipk_loop_run_once(l, 5 * IPK_SEC));
	T_EQ(ipk_loop_run_once(l, 30 * IPK_MSEC), 0); /* cancelled itself */
	T_EQ(timer_calls, 3);

	/* Signals. */
	T_EQ(ipk_loop_add_signal(l, SIGKILL, on_sig, NULL), -EINVAL);
	T_EQ(ipk_loop_add_signal(l, 0, on_sig, NULL), -EINVAL);
	T_EQ(ipk_loop_add_signal(l, NSIG, on_sig, NULL), -EINVAL);
	T_EQ(ipk_loop_del_signal(l, SIGUSR1), -ENOENT);
	T_OK(ipk_loop_add_signal(l, SIGUSR1, on_sig, NULL));
	T_EQ(ipk_loop_add_signal(l, SIGUSR1, on_sig, NULL), -EEXIST);
	T_OK(ipk_loop_add_signal(l, SIGRTMIN + 4, on_sig, NULL));
	T_SYS(pthread_sigmask(SIG_BLOCK, NULL, &set));
	T_TRUE(sigismember(&set, SIGUSR1) && sigismember(&set, SIGRTMIN + 4));
	T_OK(ipk_sig_send(getpid(), SIGRTMIN + 4, 11));
	T_OK(ipk_sig_send(getpid(), SIGRTMIN + 4, 12));
	T_EQ(ipk_loop_run_once(l, IPK_SEC), 2);
	T_EQ(sig_seen.value, 12);
	T_OK(ipk_sig_send(getpid(), SIGUSR1, 5));
	T_EQ(ipk_loop_run_once(l, IPK_SEC), 1);
	T_EQ(sig_seen.signo, SIGUSR1);
	T_EQ(sig_seen.pid, getpid());
	T_OK(ipk_loop_del_signal(l, SIGUSR1));
	T_EQ(ipk_loop_del_signal(l, SIGUSR1), -ENOENT);
	T_OK(ipk_sig_send(getpid(), SIGRTMIN + 4, 13)); /* the other stays */
	T_EQ(ipk_loop_run_once(l, IPK_SEC), 1);
	T_EQ(sig_seen.value, 13);
	T_OK(ipk_loop_del_signal(l, SIGRTMIN + 4));

	/* Deferred calls, in order; one deferred from a callback runs in
	 * the next round. */
	T_EQ(ipk_loop_defer(l, NULL, NULL), -EINVAL);
	T_OK(ipk_loop_defer(l, on_defer, (void *)1));
	T_OK(ipk_loop_defer(l, on_defer, (void *)2));
	T_EQ(ipk_loop_run_once(l, IPK_SEC), 2);
	T_EQ(ndefer, 2);
	T_EQ(ipk_loop_run_once(l, IPK_SEC), 1);
	T_EQ(ndefer, 3);
	T_EQ(defer_order[0], 1);
	T_EQ(defer_order[1], 2);
	T_EQ(defer_order[2], 3);

	/* Stop from a callback ends run(); run_once honours its timeout. */
	T_OK(ipk_loop_defer(l, stop_it, NULL));
	T_EQ(ipk_loop_run(l), 0);
	t0 = now();
	T_EQ(ipk_loop_run_once(l, 30 * IPK_MSEC), 0);
	T_TRUE(now() - t0 >= 30 * IPK_MSEC);

	ipk_loop_free(l);
	ipk_loop_free(NULL);
	close(p[0]);
	close(p[1]);
	close(q[0]);
	close(q[1]);
	T_EQ(t_count_fds(), fds0);
	return 0;
}
