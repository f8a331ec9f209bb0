/* SPDX-License-Identifier: MIT */
/*
 * tests/notify/sig_errors.c - bad input to the signal calls: invalid
 * signal numbers (-EINVAL), a process that does not exist (-ESRCH), and
 * the signal name parser.
 */
#include <signal.h>

#include "../harness.h"

static int quit(void *arg)
{
	(void)arg;
	return 0;
}

int main(void)
{
	struct ipk_siginfo si;
	ipk_sighandler *h;
	ipk_sigfd *sfd;
	sigset_t set;
	char name[32];
	pid_t gone;
	int s, bad[] = { 0, -1, NSIG, 1000 };
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		T_EQ(ipk_sig_send(getpid(), bad[i], 0), -EINVAL);
		T_EQ(ipk_sig_send_pidfd(0, bad[i], 0), -EINVAL);
		T_EQ(ipk_sighandler_install(bad[i], &h), -EINVAL);
		T_EQ(ipk_sig_name(bad[i], name, sizeof(name)), -EINVAL);
	}
	T_EQ(ipk_sighandler_install(SIGKILL, &h), -EINVAL);
	T_EQ(ipk_sighandler_install(SIGSTOP, &h), -EINVAL);
	T_EQ(ipk_sig_send(0, SIGUSR1, 0), -EINVAL);
	T_EQ(ipk_sig_send(-1, SIGUSR1, 0), -EINVAL);

	/* signalfd sets: empty, or with signals that cannot be read. */
	sigemptyset(&set);
	T_EQ(ipk_sigfd_open(&set, &sfd), -EINVAL);
	T_EQ(ipk_sig_wait(&set, 0, &si), -EINVAL);
	sigaddset(&set, SIGKILL);
	T_EQ(ipk_sigfd_open(&set, &sfd), -EINVAL);
	sigemptyset(&set);
	sigaddset(&set, SIGSTOP);
	T_EQ(ipk_sigfd_open(&set, &sfd), -EINVAL);
	T_EQ(ipk_sigfd_open(NULL, &sfd), -EINVAL);

	/* A process that has exited and been reaped. */
	gone = t_fork(quit, NULL);
	t_wait_exit(gone, 0);
	T_EQ(ipk_sig_send(gone, SIGUSR1, 0), -ESRCH);
	T_EQ(ipk_sig_send(gone, SIGRTMIN, 0), -ESRCH);
	T_EQ(ipk_sig_send(4194304 + 1, SIGUSR1, 0), -ESRCH); /* above any pid_max */

	/* Names. */
	T_EQ(ipk_sig_from_name("USR1"), SIGUSR1);
	T_EQ(ipk_sig_from_name("sigusr1"), SIGUSR1);
	T_EQ(ipk_sig_from_name("SIGTERM"), SIGTERM);
	T_EQ(ipk_sig_from_name("15"), 15);
	T_EQ(ipk_sig_from_name("RTMIN"), SIGRTMIN);
	T_EQ(ipk_sig_from_name("RTMIN+1"), SIGRTMIN + 1);
	T_EQ(ipk_sig_from_name("SIGRTMAX-2"), SIGRTMAX - 2);
	T_EQ(ipk_sig_from_name("rtmax"), SIGRTMAX);
	const char *badnames[] = { "",      "FOO",    "SIG",         "0",       "65",
				   "-1",    "RTMIN+", "RTMIN-1",     "RTMAX+1", "RTMIN+99",
				   "USR1x", "1x",     "SIGRTMIN+1+1" };
	for (i = 0; i < sizeof(badnames) / sizeof(badnames[0]); i++)
		if (ipk_sig_from_name(badnames[i]) != -EINVAL)
			T_FAIL("'%s' parsed as %d", badnames[i], ipk_sig_from_name(badnames[i]));
	T_EQ(ipk_sig_from_name(NULL), -EINVAL);
	for (s = 1; s < NSIG; s++) {
		T_OK(ipk_sig_name(s, name, sizeof(name)));
		if (ipk_sig_from_name(name) != s)
			T_FAIL("%d -> '%s' -> %d", s, name, ipk_sig_from_name(name));
	}
	T_OK(ipk_sig_name(SIGRTMIN + 1, name, sizeof(name)));
	T_TRUE(!strcmp(name, "SIGRTMIN+1"));
	T_EQ(ipk_sig_name(SIGRTMIN + 1, name, 5), -ENAMETOOLONG);
	return 0;
}
