/* SPDX-License-Identifier: MIT */
/*
 * tests/nats/basic.c - nats:// core channels through one real nats-server:
 * whole messages in order, the pollable descriptor, timeouts, -EMSGSIZE on
 * a short buffer, gathered sends, queue groups that split a subject, a
 * wildcard receiver, no echo of an end's own messages, and the server's
 * max_payload as the channel's limit (-EMSGSIZE before anything is sent).
 */
#include <poll.h>

#include "nats_harness.h"

#define N 2000

static void fill(char *buf, size_t len, unsigned i)
{
	for (size_t k = 0; k < len; k++)
		buf[k] = (char)('a' + (i + k) % 26);
}

int main(void)
{
	struct tn_srv s = { 0 }, small = { 0 };
	char url[256], url2[256], buf[4096], want[4096], conf[256];
	ipk_chan *a, *b, *q1, *q2, *wild;
	struct pollfd pfd;
	unsigned got1 = 0, got2 = 0;
	ssize_t n;
	FILE *f;

	tn_need_server();
	tn_start(&s, NULL);
	tn_url(url, sizeof(url), s.port, "ipk.basic", NULL);

	/* Two ends of one subject: in order, whole, and no echo. */
	T_OK(ipk_chan_open(url, 0, 5 * IPK_SEC, &a));
	T_OK(ipk_chan_open(url, 0, 5 * IPK_SEC, &b));
	tn_url(url2, sizeof(url2), s.port, "ipk.*", NULL);
	T_OK(ipk_chan_open(url2, IPK_CHAN_RDONLY, 5 * IPK_SEC, &wild));
	T_EQ(ipk_chan_recv(b, buf, sizeof(buf), 0), -EAGAIN);
	T_EQ(ipk_chan_recv(b, buf, sizeof(buf), 50 * IPK_MSEC), -ETIMEDOUT);
	pfd = (struct pollfd){ .fd = T_OK(ipk_chan_fd(b)), .events = POLLIN };
	T_EQ(poll(&pfd, 1, 0), 0);
	for (unsigned i = 0; i < N; i++) {
		fill(buf, 1 + i % 1000, i);
		T_OK(ipk_chan_send(a, buf, 1 + i % 1000, IPK_SEC));
	}
	T_OK(ipk_chan_flush(a, 5 * IPK_SEC));
	T_EQ(poll(&pfd, 1, 5000), 1);
	for (unsigned i = 0; i < N; i++) {
		fill(want, 1 + i % 1000, i);
		T_EQ(ipk_chan_recv(b, buf, sizeof(buf), 5 * IPK_SEC), 1 + i % 1000);
		T_MEMEQ(buf, want, 1 + i % 1000);
		T_EQ(ipk_chan_recv(wild, buf, sizeof(buf), 5 * IPK_SEC), 1 + i % 1000);
		T_MEMEQ(buf, want, 1 + i % 1000);
	}
	/* a sent nothing to itself */
	T_EQ(ipk_chan_recv(a, buf, sizeof(buf), 100 * IPK_MSEC), -ETIMEDOUT);
	T_EQ(ipk_chan_lost(b), 0);
	/* the descriptor is quiet again once the queue is empty */
	T_EQ(poll(&pfd, 1, 0), 0);

	/* A short buffer: -EMSGSIZE, the length, and nothing consumed. */
	T_OK(ipk_chan_send(b, "0123456789", 10, IPK_SEC));
	T_EQ(ipk_chan_recv(a, buf, 4, 5 * IPK_SEC), -EMSGSIZE);
	T_EQ(ipk_chan_next_len(a), 10);
	T_EQ(ipk_chan_recv(a, buf, sizeof(buf), 5 * IPK_SEC), 10);
	T_MEMEQ(buf, "0123456789", 10);

	/* Gathered sends arrive as one message. */
	{
		struct iovec iov[3] = { { "ab", 2 }, { "", 0 }, { "cde", 3 } };

		T_OK(ipk_chan_sendv(a, iov, 3, IPK_SEC));
		T_EQ(ipk_chan_recv(b, buf, sizeof(buf), 5 * IPK_SEC), 5);
		T_MEMEQ(buf, "abcde", 5);
	}
	/* A send-only end has nothing to receive or poll. */
	ipk_chan_close(wild);
	T_OK(ipk_chan_open(url, IPK_CHAN_WRONLY, 5 * IPK_SEC, &wild));
	T_EQ(ipk_chan_recv(wild, buf, sizeof(buf), 0), -EBADF);
	T_EQ(ipk_chan_fd(wild), -EOPNOTSUPP);
	ipk_chan_close(wild);

	/* A queue group splits the subject: every message to exactly one. */
	tn_url(url2, sizeof(url2), s.port, "ipk.work", "?queue=workers");
	T_OK(ipk_chan_open(url2, IPK_CHAN_RDONLY, 5 * IPK_SEC, &q1));
	T_OK(ipk_chan_open(url2, IPK_CHAN_RDONLY, 5 * IPK_SEC, &q2));
	tn_url(url2, sizeof(url2), s.port, "ipk.work", NULL);
	ipk_chan_close(a);
	T_OK(ipk_chan_open(url2, IPK_CHAN_WRONLY, 5 * IPK_SEC, &a));
	for (unsigned i = 0; i < 400; i++)
		T_OK(ipk_chan_send(a, &i, sizeof(i), IPK_SEC));
	T_OK(ipk_chan_flush(a, 5 * IPK_SEC));
	while (got1 + got2 < 400) {
		struct pollfd two[2] = { { .fd = T_OK(ipk_chan_fd(q1)), .events = POLLIN },
					 { .fd = T_OK(ipk_chan_fd(q2)), .events = POLLIN } };
		ssize_t n1 = ipk_chan_recv(q1, buf, sizeof(buf), 0);
		ssize_t n2 = ipk_chan_recv(q2, buf, sizeof(buf), 0);

		got1 += n1 == 4;
		got2 += n2 == 4;
		if (n1 < 0 && n2 < 0 && poll(two, 2, 5000) == 0)
			T_FAIL("queue group: %u + %u of 400, then nothing for 5 s", got1, got2);
	}
	/* and nothing more: each message went to one member only */
	T_EQ(ipk_chan_recv(q1, buf, sizeof(buf), 200 * IPK_MSEC), -ETIMEDOUT);
	T_EQ(ipk_chan_recv(q2, buf, sizeof(buf), 0), -EAGAIN);
	T_EQ(got1 + got2, 400);
	T_TRUE(got1 > 0 && got2 > 0);
	ipk_chan_close(q1);
	ipk_chan_close(q2);
	ipk_chan_close(a);
	ipk_chan_close(b);

	/* max_payload 1024: the channel's limit, -EMSGSIZE before sending. */
	small.port = tn_free_port();
	snprintf(small.dir, sizeof(small.dir), "/tmp/ipk-nats-%d-small", (int)getpid());
	mkdir(small.dir, 0700);
	snprintf(conf, sizeof(conf), "%s/small.conf", small.dir);
	f = fopen(conf, "w");
	T_TRUE(f != NULL);
	fprintf(f, "max_payload: 1024\n");
	fclose(f);
	tn_start(&small, (const char *const[]){ "-c", conf, NULL });
	tn_url(url, sizeof(url), small.port, "ipk.small", NULL);
	T_OK(ipk_chan_open(url, 0, 5 * IPK_SEC, &a));
	T_OK(ipk_chan_open(url, 0, 5 * IPK_SEC, &b));
	T_EQ(ipk_chan_max_msg(a), 1024);
	memset(buf, 'x', sizeof(buf));
	T_EQ(ipk_chan_send(a, buf, 1025, IPK_SEC), -EMSGSIZE);
	T_OK(ipk_chan_send(a, buf, 1024, IPK_SEC));
	n = ipk_chan_recv(b, want, sizeof(want), 5 * IPK_SEC);
	T_EQ(n, 1024); /* the refused one never went out; the connection lives */
	T_EQ(ipk_chan_recv(b, want, sizeof(want), 100 * IPK_MSEC), -ETIMEDOUT);
	ipk_chan_close(a);
	ipk_chan_close(b);

	tn_stop(&small);
	tn_stop(&s);
	return 0;
}
