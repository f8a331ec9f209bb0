/* SPDX-License-Identifier: MIT */
/*
 * chan.c - shm:/name?mode=mpsc through ipk_chan: the creating end is the
 * consumer and only receives, the others are producers and only send.
 * Three forked producers, one of them started before the queue exists
 * (it waits for the name), each stream in order and complete; msgsize= on
 * either side, -EMSGSIZE and ipk_chan_next_len(), options that do not
 * apply, the pollable descriptor, and nothing left at the name.
 */
#include <poll.h>

#include "mpsct.h"

#define PRODUCERS 3
#define COUNT 5000

static char url[96];

static int producer(void *arg)
{
	uint64_t who = (uint64_t)(uintptr_t)arg;
	char buf[64];
	ipk_chan *ch;

	T_SYS(prctl(PR_SET_PDEATHSIG, SIGKILL));
	T_OK(ipk_chan_open(url, 0, MT_TIMEOUT, &ch));
	T_EQ(ipk_chan_recv(ch, buf, sizeof(buf), 0), -EBADF); /* a producer only sends */
	T_EQ(ipk_chan_fd(ch), -EOPNOTSUPP);
	for (uint64_t seq = 0; seq < COUNT; seq++) {
		int n = snprintf(buf, sizeof(buf), "%llu %llu", (unsigned long long)who,
				 (unsigned long long)seq);

		T_OK(ipk_chan_send(ch, buf, (size_t)n, MT_TIMEOUT));
	}
	ipk_chan_close(ch);
	return 0;
}

static void bad_options(const char *name)
{
	char u[160];
	ipk_chan *ch;

	/* a lane's size is its producer's choice, not the consumer's */
	snprintf(u, sizeof(u), "shm:%s?mode=mpsc&capacity=8192", name);
	T_EQ(ipk_chan_open(u, IPK_CHAN_CREATE, 0, &ch), -EINVAL);
	/* the consumer only receives; a producer creates nothing */
	snprintf(u, sizeof(u), "shm:%s?mode=mpsc", name);
	T_EQ(ipk_chan_open(u, IPK_CHAN_CREATE | IPK_CHAN_WRONLY, 0, &ch), -EINVAL);
	T_EQ(ipk_chan_open(u, IPK_CHAN_KEEP, 0, &ch), -EINVAL);
	/* nobody there, and no waiting */
	T_EQ(ipk_chan_open(u, 0, 0, &ch), -ENOENT);
	snprintf(u, sizeof(u), "shm:%s?mode=fifo", name);
	T_EQ(ipk_url_check(u, NULL, NULL), -EINVAL);
}

int main(void)
{
	uint64_t next[PRODUCERS] = { 0 };
	char name[64], buf[64], small[4], big_url[160];
	pid_t pids[PRODUCERS];
	ipk_chan *c, *p;
	struct pollfd pf;

	snprintf(name, sizeof(name), "/ipk-mpsc-chan-%d", (int)getpid());
	snprintf(url, sizeof(url), "shm:%s?mode=mpsc", name);
	bad_options(name);

	/* one producer waits for the name before the consumer makes it */
	pids[0] = t_fork(producer, (void *)(uintptr_t)0);
	usleep(20 * 1000);
	T_OK(ipk_chan_open(url, IPK_CHAN_CREATE, 0, &c));
	T_EQ(ipk_chan_send(c, "x", 1, 0), -EBADF); /* the consumer only receives */
	T_EQ(ipk_chan_max_msg(c), 64 * 1024);
	for (int i = 1; i < PRODUCERS; i++)
		pids[i] = t_fork(producer, (void *)(uintptr_t)i);

	for (uint64_t got = 0; got < PRODUCERS * COUNT; got++) {
		unsigned long long who, seq;
		ssize_t n = ipk_chan_recv(c, buf, sizeof(buf) - 1, MT_TIMEOUT);

		T_TRUE(n > 0);
		buf[n] = '\0';
		T_EQ(sscanf(buf, "%llu %llu", &who, &seq), 2);
		T_TRUE(who < PRODUCERS);
		T_EQ(seq, next[who]); /* each producer's messages in order, none lost */
		next[who]++;
	}
	for (int i = 0; i < PRODUCERS; i++)
		t_wait_exit(pids[i], 0);
	T_EQ(ipk_chan_lost(c), 0);

	/* msgsize= on a producer; a message over the consumer's buffer */
	snprintf(big_url, sizeof(big_url), "%s&msgsize=100", url);
	T_OK(ipk_chan_open(big_url, 0, 0, &p)); /* admitted in our next receive */
	T_EQ(ipk_chan_max_msg(p), 100);
	memset(buf, 'z', sizeof(buf));
	T_EQ(ipk_chan_send(p, buf, 101, 0), -EMSGSIZE);
	T_OK(ipk_chan_send(p, buf, 10, 0));
	pf = (struct pollfd){ .fd = ipk_chan_fd(c), .events = POLLIN };
	T_TRUE(pf.fd >= 0);
	T_EQ(poll(&pf, 1, 5000), 1); /* readable: a message is there */
	T_EQ(ipk_chan_recv(c, small, sizeof(small), 0), -EMSGSIZE);
	T_EQ(ipk_chan_next_len(c), 10);
	T_EQ(ipk_chan_recv(c, buf, sizeof(buf), 0), 10); /* still there, whole */
	T_EQ(ipk_chan_recv(c, buf, sizeof(buf), 0), -EAGAIN);
	ipk_chan_close(c);
	T_EQ(ipk_chan_send(p, buf, 1, 0), -EPIPE); /* the consumer is gone */
	ipk_chan_close(p);

	snprintf(big_url, sizeof(big_url), "/dev/shm%s", name);
	T_TRUE(access(big_url, F_OK) < 0 && errno == ENOENT);
	printf("ok\n");
	return 0;
}
