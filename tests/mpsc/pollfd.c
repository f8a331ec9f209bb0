/* SPDX-License-Identifier: MIT */
/*
 * pollfd.c - ipk_mpsc_fd(): readable at once; quiet after a receive found
 * nothing; readable when a producer joins and when it sends, in another
 * process, each time the consumer had drained everything and gone to
 * poll(); and an event loop of receives with timeout 0 that waits only
 * in poll() loses nothing.
 */
#include <poll.h>

#include "mpsct.h"

#define ROUNDS 200

static char name[64];
static struct mt_step next_round;

static int producer(void *arg)
{
	unsigned char buf[64];
	ipk_mpsc_prod *p;

	(void)arg;
	T_SYS(prctl(PR_SET_PDEATHSIG, SIGKILL));
	T_OK(ipk_mpsc_connect(name, NULL, 0, &p));
	for (uint64_t r = 0; r < ROUNDS; r++) {
		mt_await(&next_round);
		for (uint64_t i = 0; i < 3; i++) {
			mt_fill(buf, sizeof(buf), 0, r * 3 + i);
			T_OK(ipk_mpsc_send(p, buf, sizeof(buf), MT_TIMEOUT));
		}
	}
	ipk_mpsc_prod_close(p);
	return 0;
}

static bool readable(int fd, int ms)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	int r = poll(&pfd, 1, ms);

	T_SYS(r);
	return r == 1;
}

int main(void)
{
	unsigned char buf[64];
	uint64_t next = 0;
	ipk_mpsc *c;
	pid_t pid;
	int fd;

	mt_name(name, sizeof(name), "pollfd");
	mt_step_init(&next_round);
	T_OK(ipk_mpsc_create(name, NULL, &c));
	fd = T_OK(ipk_mpsc_fd(c));
	T_EQ(ipk_mpsc_fd(c), fd);
	T_TRUE(readable(fd, 0));
	T_EQ(ipk_mpsc_recv(c, buf, sizeof(buf), NULL, 0), -EAGAIN);
	T_TRUE(!readable(fd, 20));
	pid = t_fork(producer, NULL);
	T_TRUE(readable(fd, (int)(MT_TIMEOUT / IPK_MSEC))); /* it joined */
	for (uint64_t r = 0; r < ROUNDS; r++) {
		ssize_t n;

		/* drain, then wait only in poll() */
		while ((n = ipk_mpsc_recv(c, buf, sizeof(buf), NULL, 0)) >= 0) {
			uint64_t who;

			T_EQ(mt_check(buf, (size_t)n, &who), next);
			next++;
		}
		T_EQ(n, -EAGAIN);
		T_TRUE(!readable(fd, 0));
		mt_signal(&next_round);
		while (next < (r + 1) * 3) {
			T_TRUE(readable(fd, (int)(MT_TIMEOUT / IPK_MSEC)));
			while ((n = ipk_mpsc_recv(c, buf, sizeof(buf), NULL, 0)) >= 0) {
				uint64_t who;

				T_EQ(mt_check(buf, (size_t)n, &who), next);
				next++;
			}
			T_EQ(n, -EAGAIN);
		}
	}
	t_wait_exit(pid, 0);
	ipk_mpsc_close(c);
	printf("%d rounds woken through the descriptor, %llu messages\n", ROUNDS,
	       (unsigned long long)next);
	return 0;
}
