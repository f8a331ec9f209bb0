/* SPDX-License-Identifier: MIT */
/*
 * msgsize.c - message size limits on every transport: a message over
 * ipk_chan_max_msg() is refused with -EMSGSIZE before a byte moves (the
 * peer sees the next valid message first and nothing else); a receive
 * buffer too small for the waiting message is -EMSGSIZE, consumes nothing,
 * and ipk_chan_next_len() tells the size; messages of exactly 0 and exactly
 * the maximum bytes pass intact.
 */
#include "it.h"

#define MAX 4096

static const char *const kinds[] = { IT_KINDS_ALL };

struct ctx {
	struct it_pair *p;
	const char *kind;
	int dgram;
};

static int receiver(void *arg)
{
	struct ctx *c = arg;
	ipk_chan *rx = c->p->rx;
	static uint8_t buf[2 * MAX];
	ssize_t n;

	ipk_chan_close(c->p->tx);

	/* Refused first message never arrives: A (3000 bytes) comes first.
	 * A buffer one byte short is refused and nothing is consumed. */
	T_EQ(ipk_chan_recv(rx, buf, 100, 5 * IPK_SEC), -EMSGSIZE);
	T_EQ(ipk_chan_next_len(rx), 3000);
	T_EQ(ipk_chan_recv(rx, buf, 2999, 5 * IPK_SEC), -EMSGSIZE);
	T_EQ(ipk_chan_next_len(rx), 3000);
	T_EQ(ipk_chan_recv(rx, buf, 0, 5 * IPK_SEC), -EMSGSIZE);
	T_EQ(ipk_chan_next_len(rx), 3000);
	memset(buf, 0, sizeof(buf));
	n = ipk_chan_recv(rx, buf, 3000, 5 * IPK_SEC);
	T_EQ(n, 3000);
	T_TRUE(it_check(buf, 3000, 1));
	T_EQ(ipk_chan_next_len(rx), 0);

	/* Exactly the maximum: a buffer of MAX - 1 is refused, MAX is enough. */
	T_EQ(ipk_chan_recv(rx, buf, MAX - 1, 5 * IPK_SEC), -EMSGSIZE);
	T_EQ(ipk_chan_next_len(rx), MAX);
	n = ipk_chan_recv(rx, buf, sizeof(buf), 5 * IPK_SEC);
	T_EQ(n, MAX);
	T_TRUE(it_check(buf, MAX, 2));

	/* The empty message (not on seqpacket, where it is refused). */
	if (strcmp(c->kind, "unix+seqpacket") != 0)
		T_EQ(ipk_chan_recv(rx, buf, sizeof(buf), 5 * IPK_SEC), 0);

	/* B, sent after the refused vector. */
	n = ipk_chan_recv(rx, buf, sizeof(buf), 5 * IPK_SEC);
	T_EQ(n, 100);
	T_TRUE(it_check(buf, 100, 3));

	/* Nothing else: a stream ends (the sender closed); a datagram
	 * server just has nothing waiting. */
	if (c->dgram)
		T_EQ(ipk_chan_recv(rx, buf, sizeof(buf), 0), -EAGAIN);
	else
		T_EQ(ipk_chan_recv(rx, buf, sizeof(buf), 5 * IPK_SEC), -EPIPE);
	ipk_chan_close(rx);
	return 0;
}

static void run(const char *kind)
{
	static uint8_t big[MAX + 2], a[3000], m[MAX], b[100];
	struct it_pair p;
	struct ctx c = { &p, kind, strcmp(kind, "unix+dgram") == 0 };
	struct iovec iov[2];
	pid_t pid;

	it_pair_open(&p, kind, "msgsize", "msgsize=4096");
	T_EQ(ipk_chan_max_msg(p.tx), MAX);
	T_EQ(ipk_chan_max_msg(p.rx), MAX);

	/* Refused before anything is sent, with any timeout. */
	it_fill(big, sizeof(big), 0);
	T_EQ(ipk_chan_send(p.tx, big, MAX + 1, 0), -EMSGSIZE);
	T_EQ(ipk_chan_send(p.tx, big, MAX + 1, IPK_SEC), -EMSGSIZE);
	T_EQ(ipk_chan_send(p.tx, big, MAX + 2, IPK_FOREVER), -EMSGSIZE);
	iov[0] = (struct iovec){ big, MAX };
	iov[1] = (struct iovec){ big, 1 };
	T_EQ(ipk_chan_sendv(p.tx, iov, 2, IPK_SEC), -EMSGSIZE);

	pid = t_fork(receiver, &c);
	ipk_chan_close(p.rx);
	p.rx = NULL;

	it_fill(a, sizeof(a), 1);
	it_fill(m, sizeof(m), 2);
	it_fill(b, sizeof(b), 3);
	T_EQ(ipk_chan_send(p.tx, a, sizeof(a), 5 * IPK_SEC), 0);
	T_EQ(ipk_chan_send(p.tx, m, sizeof(m), 5 * IPK_SEC), 0);
	if (strcmp(kind, "unix+seqpacket") == 0)
		T_EQ(ipk_chan_send(p.tx, "", 0, 5 * IPK_SEC), -EINVAL);
	else
		T_EQ(ipk_chan_send(p.tx, "", 0, 5 * IPK_SEC), 0);
	T_EQ(ipk_chan_send(p.tx, big, MAX + 1, 5 * IPK_SEC), -EMSGSIZE);
	T_EQ(ipk_chan_sendv(p.tx, iov, 2, 5 * IPK_SEC), -EMSGSIZE);
	T_EQ(ipk_chan_send(p.tx, b, sizeof(b), 5 * IPK_SEC), 0);
	T_EQ(ipk_chan_flush(p.tx, 5 * IPK_SEC), 0);
	ipk_chan_close(p.tx);
	p.tx = NULL;

	t_wait_exit(pid, 0);
	it_pair_close(&p);
}

int main(void)
{
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		run(kinds[i]);
	return 0;
}
