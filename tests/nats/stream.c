/* SPDX-License-Identifier: MIT */
/*
 * tests/nats/stream.c - nats://...?stream=NAME through one real nats-server
 * with JetStream: a send returns once the server stored the message, the
 * stream is made on first use, an end that only sends consumes nothing,
 * and a durable consumer (?queue=) that stops halfway and restarts gets
 * the rest, in order, with nothing lost and nothing twice. Stored messages
 * outlive the server: kill -9 and restart on the same store.
 */
#include "nats_harness.h"

#define N 300

int main(void)
{
	struct tn_srv s = { 0 };
	char url[256], stream[64], buf[256];
	ipk_chan *tx, *rx;
	unsigned v;

	tn_need_server();
	tn_start(&s, NULL);
	snprintf(stream, sizeof(stream), "subj.s%d?stream=IPKS%d&queue=dur", (int)getpid(),
		 (int)getpid());
	tn_url(url, sizeof(url), s.port, stream, NULL);

	/* A two-way end that only sends: binds no consumer. */
	T_OK(ipk_chan_open(url, 0, 5 * IPK_SEC, &tx));
	T_TRUE(ipk_chan_max_msg(tx) > 1000);
	for (unsigned i = 0; i < N; i++)
		T_OK(ipk_chan_send(tx, &i, sizeof(i), 5 * IPK_SEC));
	ipk_chan_close(tx);

	/* The server dies hard and comes back on the same store: every
	 * acknowledged send is still there. */
	tn_kill(&s, SIGKILL);
	tn_start(&s, NULL);

	/* First half, then the consumer goes away. */
	T_OK(ipk_chan_open(url, IPK_CHAN_RDONLY, 5 * IPK_SEC, &rx));
	for (unsigned i = 0; i < N / 2; i++) {
		T_EQ(ipk_chan_recv(rx, &v, sizeof(v), 5 * IPK_SEC), sizeof(v));
		T_EQ(v, i);
	}
	ipk_chan_close(rx);

	/* The durable consumer resumes where it stopped. */
	T_OK(ipk_chan_open(url, IPK_CHAN_RDONLY, 10 * IPK_SEC, &rx));
	for (unsigned i = N / 2; i < N; i++) {
		T_EQ(ipk_chan_recv(rx, &v, sizeof(v), 10 * IPK_SEC), sizeof(v));
		T_EQ(v, i);
	}
	T_EQ(ipk_chan_recv(rx, buf, sizeof(buf), 300 * IPK_MSEC), -ETIMEDOUT);
	ipk_chan_close(rx);

	/* A second durable name sees the whole stream from the start. */
	snprintf(stream, sizeof(stream), "subj.s%d?stream=IPKS%d&queue=other", (int)getpid(),
		 (int)getpid());
	tn_url(url, sizeof(url), s.port, stream, NULL);
	T_OK(ipk_chan_open(url, IPK_CHAN_RDONLY, 5 * IPK_SEC, &rx));
	for (unsigned i = 0; i < N; i++) {
		T_EQ(ipk_chan_recv(rx, &v, sizeof(v), 5 * IPK_SEC), sizeof(v));
		T_EQ(v, i);
	}
	ipk_chan_close(rx);
	tn_stop(&s);
	return 0;
}
