/* SPDX-License-Identifier: MIT */
/*
 * takeover_fail.c - a takeover of a dead consumer that fails part way
 * (out of descriptors: RLIMIT_NOFILE so low that its header, its door or
 * its socket cannot be had) leaves the queue as the dead consumer left
 * it: state LIVE, not CLOSED. A producer of the dead consumer then still
 * waits for a successor (ipk_mpsc_prod_poll() is not -EPIPE), and hands
 * its lane to the takeover that finally succeeds.
 */
#include <poll.h>
#include <sys/resource.h>

#include "mpsct.h"
#include "mpsc_layout.h"
#include "mpsc_peek.h"

static char name[64];
static struct mt_step ready, got;

static int first(void *arg)
{
	unsigned char buf[16];
	ipk_mpsc *c;

	(void)arg;
	T_SYS(prctl(PR_SET_PDEATHSIG, SIGKILL));
	T_OK(ipk_mpsc_create(name, NULL, &c));
	mt_signal(&ready);
	T_EQ(ipk_mpsc_recv(c, buf, sizeof(buf), NULL, MT_TIMEOUT), 1);
	mt_signal(&got);
	for (;;)
		(void)ipk_mpsc_recv(c, buf, sizeof(buf), NULL, MT_TIMEOUT);
}

/* Take over with descriptors below @arg only. Exit: 0 taken over and
 * the producer's 'b' received; 1 -EMFILE; 2 anything else. */
static int successor(void *arg)
{
	struct rlimit rl;
	unsigned char buf[16];
	ipk_mpsc *c;
	int r;

	T_SYS(prctl(PR_SET_PDEATHSIG, SIGKILL));
	for (int fd = 3; fd < 1024; fd++)
		if (fd != ready.fd[1])
			(void)close(fd);
	T_SYS(getrlimit(RLIMIT_NOFILE, &rl));
	rl.rlim_cur = (rlim_t)(uintptr_t)arg;
	T_SYS(setrlimit(RLIMIT_NOFILE, &rl));
	r = ipk_mpsc_create(name, NULL, &c);
	if (r == -EMFILE)
		return 1;
	if (r < 0)
		return 2;
	rl.rlim_cur = 64;
	T_SYS(setrlimit(RLIMIT_NOFILE, &rl));
	mt_signal(&ready);
	/* 'a' again at most (the dead one may not have counted it taken) */
	for (int i = 0; i < 2; i++) {
		r = (int)ipk_mpsc_recv(c, buf, sizeof(buf), NULL, MT_TIMEOUT);
		if (r != 1 || buf[0] != 'a')
			break;
	}
	ipk_mpsc_close(c);
	return r == 1 && buf[0] == 'b' ? 0 : 2;
}

static uint32_t header_state(void)
{
	const struct ipk__mpsc_hdr *h = mt_map_hdr(name);
	uint32_t state = atomic_load(&h->state);

	mt_unmap_hdr(h);
	return state;
}

int main(void)
{
	ipk_mpsc_prod *p;
	int failed = 0, status;
	uintptr_t lim;
	pid_t pid;

	mt_name(name, sizeof(name), "tofail");
	mt_step_init(&ready);
	mt_step_init(&got);
	pid = t_fork(first, NULL);
	mt_await(&ready);
	T_OK(ipk_mpsc_connect(name, NULL, MT_TIMEOUT, &p));
	T_OK(ipk_mpsc_send(p, "a", 1, MT_TIMEOUT));
	mt_await(&got);
	T_SYS(kill(pid, SIGKILL));
	T_EQ(waitpid(pid, &status, 0), pid);

	for (lim = (uintptr_t)ready.fd[1] + 1;; lim++) {
		struct pollfd pfd = { .fd = ready.fd[0], .events = POLLIN };
		pid_t r = 0;

		T_TRUE(lim < 64);
		pid = t_fork(successor, (void *)lim);
		for (int64_t end = mt_now() + MT_TIMEOUT; r == 0;) {
			if (poll(&pfd, 1, 5) == 1)
				break; /* it took the queue over */
			r = waitpid(pid, &status, WNOHANG);
			T_SYS(r);
			T_TRUE(mt_now() < end);
		}
		if (r == 0)
			break;
		T_TRUE(WIFEXITED(status));
		T_EQ(WEXITSTATUS(status), 1);
		failed++;
		/* the failed takeover left the dead consumer's state: the
		 * producer still waits for a successor */
		T_EQ(header_state(), IPK__MPSC_STATE_LIVE);
		T_EQ(ipk_mpsc_prod_poll(p), 0);
	}
	T_TRUE(failed > 0);
	mt_await(&ready);
	T_OK(ipk_mpsc_send(p, "b", 1, MT_TIMEOUT));
	T_OK(ipk_mpsc_prod_poll(p));
	t_wait_exit(pid, 0);
	ipk_mpsc_prod_close(p);
	T_TRUE(!mt_exists(name));
	printf("%d takeovers out of descriptors left the queue as it was; "
	       "the next one got the producer's message\n",
	       failed);
	return 0;
}
