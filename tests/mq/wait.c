/* SPDX-License-Identifier: MIT */
/*
 * wait.c - an mq: opening end waits, within its timeout, for a queue that
 * does not exist yet, as the other named transports wait for their names:
 * a receiver opened before the queue gets the message sent once it is
 * made; a timeout that passes is -ETIMEDOUT, not much later; timeout 0 is
 * -ENOENT at once.
 */
#include "mqt.h"

static char url[128];

static int receiver(void *arg)
{
	static char buf[1 << 16]; /* a whole message of the queue's size */
	ipk_chan *ch;

	(void)arg;
	T_OK(ipk_chan_open(url, IPK_CHAN_RDONLY, 10 * IPK_SEC, &ch));
	T_EQ(ipk_chan_recv(ch, buf, sizeof(buf), 5 * IPK_SEC), 2);
	T_MEMEQ(buf, "hi", 2);
	ipk_chan_close(ch);
	return 0;
}

int main(void)
{
	struct timespec later = { 0, 200 * 1000 * 1000 };
	ipk_chan *ch = NULL;
	int64_t t0;
	pid_t pid;

	mqt_mq_url(url, sizeof(url), "wait", NULL);
	T_EQ(ipk_chan_open(url, IPK_CHAN_RDONLY, 0, &ch), -ENOENT);
	t0 = mqt_now_ns();
	T_EQ(ipk_chan_open(url, IPK_CHAN_RDONLY, 300 * IPK_MSEC, &ch), -ETIMEDOUT);
	T_TRUE(mqt_now_ns() - t0 >= 300 * IPK_MSEC && mqt_now_ns() - t0 < 500 * IPK_MSEC);
	pid = t_fork(receiver, NULL);
	nanosleep(&later, NULL); /* the queue comes later than the receiver */
	T_OK(ipk_chan_open(url, IPK_CHAN_CREATE | IPK_CHAN_WRONLY, 0, &ch));
	T_OK(ipk_chan_send(ch, "hi", 2, 5 * IPK_SEC));
	t_wait_exit(pid, 0);
	ipk_chan_close(ch);
	printf("mq: an opening end waited for its queue; -ETIMEDOUT after 300 ms; "
	       "timeout 0: -ENOENT\n");
	return 0;
}
