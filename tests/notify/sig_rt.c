/* SPDX-License-Identifier: MIT */
/*
 * tests/notify/sig_rt.c - real-time signals queue and carry payloads,
 * standard signals coalesce: 1,000 of each sent by a real child process.
 * Received through a signalfd (parent) and through sigtimedwait (child),
 * sent with sigqueue and with pidfd_send_signal.
 */
#include <signal.h>
#include <sys/resource.h>

#include "../harness.h"

#define N 1000

static int sig_a; /* SIGRTMIN+1 */

static int send_rt(void *arg)
{
	pid_t to = *(pid_t *)arg;
	int i;

	for (i = 0; i < N; i++)
		if (ipk_sig_send(to, sig_a, (intptr_t)i * 7 + 1) < 0)
			return 1;
	return 0;
}

static int send_std(void *arg)
{
	pid_t to = *(pid_t *)arg;
	int i;

	for (i = 0; i < N; i++)
		if (ipk_sig_send(to, SIGUSR1, i) < 0)
			return 1;
	return 0;
}

/* Child: takes 100 signals with ipk_sig_wait(), in order. */
static int wait_rt(void *arg)
{
	struct ipk_siginfo si;
	sigset_t set;
	int i;

	(void)arg;
	sigemptyset(&set);
	sigaddset(&set, SIGRTMIN + 2);
	for (i = 0; i < 100; i++) {
		T_OK(ipk_sig_wait(&set, 10 * IPK_SEC, &si));
		T_EQ(si.signo, SIGRTMIN + 2);
		T_EQ(si.value, 1000 + i);
		T_EQ(si.pid, getppid());
		T_EQ(si.code, SI_QUEUE);
	}
	T_EQ(ipk_sig_wait(&set, 0, &si), -EAGAIN);
	T_EQ(ipk_sig_wait(&set, 20 * IPK_MSEC, &si), -ETIMEDOUT);
	return 0;
}

int main(void)
{
	struct ipk_siginfo si;
	struct rlimit rl;
	ipk_pidwatch *w;
	ipk_sigfd *sfd;
	sigset_t set;
	pid_t me = getpid(), child;
	int i, n;

	sig_a = SIGRTMIN + 1;
	T_SYS(getrlimit(RLIMIT_SIGPENDING, &rl));
	if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < 2 * N) {
		if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < 2 * N)
			T_SKIP("RLIMIT_SIGPENDING hard limit %llu < %d",
			       (unsigned long long)rl.rlim_max, 2 * N);
		rl.rlim_cur = 2 * N;
		T_SYS(setrlimit(RLIMIT_SIGPENDING, &rl));
	}

	/* Blocked before any fork: nothing reaches a default action. */
	sigemptyset(&set);
	sigaddset(&set, sig_a);
	sigaddset(&set, SIGUSR1);
	sigaddset(&set, SIGRTMIN + 2);
	T_OK(ipk_sig_block(&set));
	sigdelset(&set, SIGRTMIN + 2);
	T_OK(ipk_sigfd_open(&set, &sfd));

	/* 1,000 RT signals, all queued before the first is read. */
	child = t_fork(send_rt, &me);
	t_wait_exit(child, 0);
	for (i = 0; i < N; i++) {
		T_OK(ipk_sigfd_read(sfd, 5 * IPK_SEC, &si));
		T_EQ(si.signo, sig_a);
		T_EQ(si.value, i * 7 + 1);
		T_EQ(si.ptr, (uint64_t)i * 7 + 1);
		T_EQ(si.pid, child);
		T_EQ(si.uid, getuid());
		T_EQ(si.code, SI_QUEUE);
	}
	T_EQ(ipk_sigfd_read(sfd, 0, &si), -EAGAIN);
	printf("RT: %d sent, %d received in order with payloads\n", N, N);

	/* 1,000 standard signals: every send succeeds, one arrives. */
	child = t_fork(send_std, &me);
	t_wait_exit(child, 0);
	for (n = 0; ipk_sigfd_read(sfd, 0, &si) == 0; n++)
		T_EQ(si.signo, SIGUSR1);
	T_EQ(n, 1);
	printf("standard: %d SIGUSR1 sent, %d received (coalesced)\n", N, n);

	/* The other way round: pidfd_send_signal to a child in sigtimedwait. */
	child = t_fork(wait_rt, NULL);
	T_OK(ipk_pidwatch_open(child, 0, &w));
	if (ipk_pidwatch_pidfd(w) < 0)
		T_SKIP("no pidfd on this kernel");
	for (i = 0; i < 100; i++) {
		int r = ipk_sig_send_pidfd(ipk_pidwatch_pidfd(w), SIGRTMIN + 2, 1000 + i);

		if (r == -EOPNOTSUPP)
			T_SKIP("no pidfd_send_signal on this kernel");
		T_OK(r);
	}
	t_wait_exit(child, 0);
	/* The child is reaped: its pidfd now refuses with -ESRCH. */
	T_EQ(ipk_sig_send_pidfd(ipk_pidwatch_pidfd(w), SIGRTMIN + 2, 1), -ESRCH);
	ipk_pidwatch_close(w);
	ipk_sigfd_close(sfd);
	return 0;
}
