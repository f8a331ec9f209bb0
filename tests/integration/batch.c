/* SPDX-License-Identifier: MIT */
/*
 * batch.c - ipk_chan_send_batch() / ipk_chan_recv_batch() on unix+dgram and
 * unix+seqpacket (sendmmsg/recvmmsg) and on unix stream and pipe (one by
 * one): 64 messages of varying sizes arrive in order and intact, in batches
 * of 1..16; a message over the maximum cuts a send batch short (only those
 * before it are sent); a message too big for its receive buffer ends a
 * receive batch early and stays queued.
 */
#include "it.h"

#define MAX 2048
#define N 64
#define PER 16

static const char *const kinds[] = { "unix+dgram", "unix+seqpacket", "unix", "pipe" };

static uint8_t out[N][MAX];

static size_t size_of(uint32_t seq)
{
	return 4 + (seq * 613u) % (MAX - 4);
}

struct ctx {
	struct it_pair *p;
	int sync;    /* read end: a byte when phase 2 is queued */
	int sync_wr; /* the parent's end: closed in the receiver */
};

static int receiver(void *arg)
{
	struct ctx *c = arg;
	static uint8_t in[PER][MAX];
	static uint8_t small[8][100];
	struct ipk_msg m[PER];
	uint32_t seq = 0;
	int r;

	ipk_chan_close(c->p->tx);
	close(c->sync_wr);

	/* Phase 1: 64 messages, taken 16 at most at a time. */
	while (seq < N) {
		for (int i = 0; i < PER; i++)
			m[i] = (struct ipk_msg){ in[i], MAX };
		/* Never more than phase 1 holds: phase 2 may be queued already. */
		unsigned want = N - seq < PER ? N - seq : PER;

		r = ipk_chan_recv_batch(c->p->rx, m, want, 5 * IPK_SEC);
		if (r < 1 || r > (int)want)
			T_FAIL("recv_batch after %u messages: %d (%s)", seq, r, ipk_errname(r));
		for (int i = 0; i < r; i++, seq++)
			if (m[i].len != size_of(seq) || !it_check(in[i], m[i].len, seq))
				T_FAIL("message %u: got %zu bytes, seq %u", seq, m[i].len,
				       m[i].len >= 4 ? it_seq_of(in[i]) : 0);
	}
	T_EQ(seq, N);

	/* Phase 2: queued are a (20), b (20), x (10), y (10), z (500). */
	it_sync_wait(c->sync);
	for (int i = 0; i < 8; i++)
		m[i] = (struct ipk_msg){ small[i], sizeof(small[i]) };
	T_EQ(ipk_chan_recv_batch(c->p->rx, m, 8, 5 * IPK_SEC), 4);
	T_EQ(m[0].len, 20);
	T_TRUE(it_check(small[0], 20, 1000));
	T_EQ(m[1].len, 20);
	T_TRUE(it_check(small[1], 20, 1001));
	T_EQ(m[2].len, 10);
	T_TRUE(it_check(small[2], 10, 1002));
	T_EQ(m[3].len, 10);
	T_TRUE(it_check(small[3], 10, 1003));
	/* z is first now and fits no buffer: refused like ipk_chan_recv(). */
	for (int i = 0; i < 8; i++)
		m[i] = (struct ipk_msg){ small[i], sizeof(small[i]) };
	T_EQ(ipk_chan_recv_batch(c->p->rx, m, 8, 5 * IPK_SEC), -EMSGSIZE);
	T_EQ(ipk_chan_next_len(c->p->rx), 500);
	/* A big enough first buffer takes it; nothing follows. */
	m[0] = (struct ipk_msg){ in[0], MAX };
	T_EQ(ipk_chan_recv_batch(c->p->rx, m, 8, 5 * IPK_SEC), 1);
	T_EQ(m[0].len, 500);
	T_TRUE(it_check(in[0], 500, 1004));
	T_EQ(ipk_chan_recv_batch(c->p->rx, m, 8, 0), -EAGAIN);
	ipk_chan_close(c->p->rx);
	return 0;
}

static void run(const char *kind)
{
	static uint8_t a[20], b[20], big[MAX + 1], x[10], y[10], z[500];
	struct ipk_msg m[N];
	struct it_pair p;
	struct ctx c = { .p = &p };
	int sync[2];
	pid_t pid;

	it_pair_open(&p, kind, "batch", "msgsize=2048");
	T_SYS(pipe2(sync, O_CLOEXEC));
	c.sync = sync[0];
	c.sync_wr = sync[1];
	pid = t_fork(receiver, &c);
	close(sync[0]);
	ipk_chan_close(p.rx);
	p.rx = NULL;

	/* Phase 1: one call for all 64 (the receiver drains meanwhile). */
	for (uint32_t i = 0; i < N; i++) {
		it_fill(out[i], size_of(i), i);
		m[i] = (struct ipk_msg){ out[i], size_of(i) };
	}
	T_EQ(ipk_chan_send_batch(p.tx, m, N, 5 * IPK_SEC), N);

	/* Phase 2: a, b go; big stops the batch, c after it never goes. */
	it_fill(a, sizeof(a), 1000);
	it_fill(b, sizeof(b), 1001);
	it_fill(x, sizeof(x), 1002);
	it_fill(y, sizeof(y), 1003);
	it_fill(z, sizeof(z), 1004);
	m[0] = (struct ipk_msg){ a, sizeof(a) };
	m[1] = (struct ipk_msg){ b, sizeof(b) };
	m[2] = (struct ipk_msg){ big, sizeof(big) };
	m[3] = (struct ipk_msg){ "c", 1 };
	T_EQ(ipk_chan_send_batch(p.tx, m, 4, 5 * IPK_SEC), 2);
	T_EQ(ipk_chan_send_batch(p.tx, m + 2, 2, 5 * IPK_SEC), -EMSGSIZE);
	m[0] = (struct ipk_msg){ x, sizeof(x) };
	m[1] = (struct ipk_msg){ y, sizeof(y) };
	m[2] = (struct ipk_msg){ z, sizeof(z) };
	T_EQ(ipk_chan_send_batch(p.tx, m, 3, 5 * IPK_SEC), 3);
	T_EQ(ipk_chan_flush(p.tx, 5 * IPK_SEC), 0);
	it_sync_post(sync[1]);
	close(sync[1]);
	t_wait_exit(pid, 0);
	it_pair_close(&p);
}

int main(void)
{
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		run(kinds[i]);
	return 0;
}
