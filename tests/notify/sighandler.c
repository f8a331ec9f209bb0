/* SPDX-License-Identifier: MIT */
/*
 * tests/notify/sighandler.c - the self-pipe handler: each caught signal
 * becomes a record read outside signal context, with its payload; a full
 * pipe drops and counts; freeing restores the previous disposition.
 */
#include <signal.h>

#include "../harness.h"

#define N 200

static int send_many(void *arg)
{
	pid_t to = getppid();
	int i;

	(void)arg;
	for (i = 0; i < N; i++)
		if (ipk_sig_send(to, SIGRTMIN + 3, 500 + i) < 0)
			return 1;
	return 0;
}

int main(void)
{
	struct ipk_siginfo si;
	struct sigaction sa;
	ipk_sighandler *h, *h2;
	int i, got, total;

	T_OK(ipk_sighandler_install(SIGUSR2, &h));
	T_EQ(ipk_sighandler_install(SIGUSR2, &h2), -EBUSY);
	T_EQ(ipk_sighandler_read(h, 0, &si), -EAGAIN);
	T_EQ(ipk_sighandler_read(h, 10 * IPK_MSEC, &si), -ETIMEDOUT);

	/* To ourselves: delivered before sigqueue returns. */
	T_OK(ipk_sig_send(getpid(), SIGUSR2, 77));
	T_OK(ipk_sighandler_read(h, IPK_SEC, &si));
	T_EQ(si.signo, SIGUSR2);
	T_EQ(si.value, 77);
	T_EQ(si.pid, getpid());
	T_EQ(si.code, SI_QUEUE);
	ipk_sighandler_free(h);
	T_SYS(sigaction(SIGUSR2, NULL, &sa));
	T_TRUE(sa.sa_handler == SIG_DFL);

	/* From another process, RT: every one caught, in order. */
	T_OK(ipk_sighandler_install(SIGRTMIN + 3, &h));
	pid_t c = t_fork(send_many, NULL);
	for (i = 0; i < N; i++) {
		T_OK(ipk_sighandler_read(h, 10 * IPK_SEC, &si));
		T_EQ(si.signo, SIGRTMIN + 3);
		T_EQ(si.value, 500 + i);
		T_EQ(si.pid, c);
	}
	t_wait_exit(c, 0);
	T_EQ(ipk_sighandler_dropped(h), 0);

	/* More than the pipe holds: the rest is dropped and counted. (Not
	 * under ThreadSanitizer, which defers and merges handler calls.) */
#if defined(__SANITIZE_THREAD__)
	ipk_sighandler_free(h);
	return 0;
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
	ipk_sighandler_free(h);
	return 0;
#endif
#endif
	total = 5000;
	for (i = 0; i < total; i++)
		T_OK(ipk_sig_send(getpid(), SIGRTMIN + 3, i));
	for (got = 0; ipk_sighandler_read(h, 0, &si) == 0; got++)
		T_EQ(si.value, got);
	T_TRUE(ipk_sighandler_dropped(h) > 0);
	T_EQ(got + (long long)ipk_sighandler_dropped(h), total);
	printf("pipe held %d records, %llu dropped\n", got,
	       (unsigned long long)ipk_sighandler_dropped(h));
	ipk_sighandler_free(h);
	ipk_sighandler_free(NULL);
	return 0;
}
