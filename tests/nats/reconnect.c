/* SPDX-License-Identifier: MIT */
/*
 * tests/nats/reconnect.c - core NATS through a server fail-over, with two
 * real nats-server processes routed into one cluster: the sending end is
 * connected to n1 (first in its URL), the receiving end to n2. n1 is
 * killed with SIGKILL; what the sender sends while its client reconnects
 * is kept in the reconnect buffer and, once it is connected to n2,
 * arrives: all of it, in order. The channel is usable throughout.
 */
#include "nats_harness.h"

#define BEFORE 100
#define DURING 500

int main(void)
{
	struct tn_srv n[2] = { { 0 }, { 0 } };
	char cl[2][64], rt[2][64], tx_url[256], rx_url[256];
	ipk_chan *tx, *rx;
	unsigned v;
	double t0;

	tn_need_server();
	for (int i = 0; i < 2; i++) {
		n[i].port = tn_free_port();
		n[i].cport = tn_free_port();
		snprintf(n[i].name, sizeof(n[i].name), "r%d", i + 1);
	}
	for (int i = 0; i < 2; i++) {
		snprintf(cl[i], sizeof(cl[i]), "nats://127.0.0.1:%d", n[i].cport);
		snprintf(rt[i], sizeof(rt[i]), "nats://127.0.0.1:%d", n[1 - i].cport);
	}
	for (int i = 0; i < 2; i++)
		tn_start(&n[i], (const char *const[]){ "--cluster_name", "ipkr", "--cluster", cl[i],
						       "--routes", rt[i], NULL });
	snprintf(tx_url, sizeof(tx_url), "nats://127.0.0.1:%d,127.0.0.1:%d/ipk.rc.%d", n[0].port,
		 n[1].port, (int)getpid());
	snprintf(rx_url, sizeof(rx_url), "nats://127.0.0.1:%d/ipk.rc.%d", n[1].port, (int)getpid());
	T_OK(ipk_chan_open(rx_url, IPK_CHAN_RDONLY, 5 * IPK_SEC, &rx));
	T_OK(ipk_chan_open(tx_url, IPK_CHAN_WRONLY, 5 * IPK_SEC, &tx));

	/* The route carries the receiver's interest to n1 in a moment. */
	t0 = tn_now();
	for (v = 0;; v = 0) {
		T_OK(ipk_chan_send(tx, &v, sizeof(v), IPK_SEC));
		if (ipk_chan_recv(rx, &v, sizeof(v), 100 * IPK_MSEC) == sizeof(v))
			break;
		if (tn_now() - t0 > 10)
			T_FAIL("nothing crossed the route in 10 s");
	}
	while (ipk_chan_recv(rx, &v, sizeof(v), 200 * IPK_MSEC) == sizeof(v))
		; /* the other probes */
	for (v = 1; v <= BEFORE; v++)
		T_OK(ipk_chan_send(tx, &v, sizeof(v), IPK_SEC));
	T_OK(ipk_chan_flush(tx, 5 * IPK_SEC));
	for (unsigned i = 1; i <= BEFORE; i++) {
		T_EQ(ipk_chan_recv(rx, &v, sizeof(v), 5 * IPK_SEC), sizeof(v));
		T_EQ(v, i);
	}

	/* n1 dies; sends go on at once, into the reconnect buffer. */
	tn_kill(&n[0], SIGKILL);
	usleep(100000); /* the client has seen the connection close */
	for (v = BEFORE + 1; v <= BEFORE + DURING; v++)
		T_OK(ipk_chan_send(tx, &v, sizeof(v), IPK_SEC));
	/* flush waits until it is connected again, to n2 */
	T_OK(ipk_chan_flush(tx, 10 * IPK_SEC));
	for (unsigned i = BEFORE + 1; i <= BEFORE + DURING; i++) {
		T_EQ(ipk_chan_recv(rx, &v, sizeof(v), 5 * IPK_SEC), sizeof(v));
		T_EQ(v, i);
	}
	T_EQ(ipk_chan_recv(rx, &v, sizeof(v), 200 * IPK_MSEC), -ETIMEDOUT);
	T_EQ(ipk_chan_lost(rx), 0);
	ipk_chan_close(tx);
	ipk_chan_close(rx);
	tn_stop(&n[0]);
	tn_stop(&n[1]);
	return 0;
}
