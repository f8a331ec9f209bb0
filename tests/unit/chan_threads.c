/* SPDX-License-Identifier: MIT */
/* One channel, two threads: a sender and a receiver run at the same time on
 * each end of a Unix stream and a seqpacket connection, as the header
 * allows. Run under ThreadSanitizer too. */
#include <pthread.h>

#include "chanutil.h"

#define COUNT 20000

struct end {
	ipk_chan *ch;
	unsigned sent_seed, recv_seed;
};

static void *sender(void *arg)
{
	struct end *e = arg;
	uint8_t buf[300];

	for (unsigned i = 0; i < COUNT; i++) {
		size_t len = 1 + (i * 37) % sizeof(buf);

		t_fill(buf, len, i + e->sent_seed);
		T_OK(ipk_chan_send(e->ch, buf, len, T_TIMEOUT));
	}
	T_OK(ipk_chan_flush(e->ch, T_TIMEOUT));
	return NULL;
}

static void *receiver(void *arg)
{
	struct end *e = arg;
	uint8_t buf[300];

	for (unsigned i = 0; i < COUNT; i++) {
		ssize_t n = ipk_chan_recv(e->ch, buf, sizeof(buf), T_TIMEOUT);

		T_EQ(n, 1 + (i * 37) % sizeof(buf));
		t_check(buf, (size_t)n, i + e->recv_seed);
	}
	return NULL;
}

static void duplex(const char *base)
{
	char url[256], lurl[256];
	struct end a, b;
	pthread_t t[4];
	ipk_listener *l;
	ipk_chan *ca, *cb;

	snprintf(url, sizeof(url), "%s:@ipk-threads-%d", base, (int)getpid());
	T_OK(ipk_listen(url, 0, &l));
	T_OK(ipk_listener_url(l, lurl, sizeof(lurl)));
	T_OK(ipk_chan_open(lurl, 0, T_TIMEOUT, &ca));
	T_OK(ipk_accept(l, T_TIMEOUT, &cb));
	a = (struct end){ ca, 1, 2 };
	b = (struct end){ cb, 2, 1 };
	T_EQ(pthread_create(&t[0], NULL, sender, &a), 0);
	T_EQ(pthread_create(&t[1], NULL, receiver, &a), 0);
	T_EQ(pthread_create(&t[2], NULL, sender, &b), 0);
	T_EQ(pthread_create(&t[3], NULL, receiver, &b), 0);
	for (int i = 0; i < 4; i++)
		T_EQ(pthread_join(t[i], NULL), 0);
	ipk_chan_close(ca);
	ipk_chan_close(cb);
	ipk_listener_close(l);
}

int main(void)
{
	duplex("unix");
	duplex("unix+seqpacket");
	return 0;
}
