/* SPDX-License-Identifier: MIT */
/*
 * start.c - where a subscriber starts (ipk_ring_sub_opts.from) and what it
 * can say about it (ipk_ring_counts()): the end, the oldest message still
 * there, or a given sequence number - inside a packed record, older than
 * the oldest (the gap is lost), or not yet published (the end) - with
 * skipped + lost + delivered equal to the messages published before it, in
 * a subscriber process of its own. Every message carries its own seq.
 */
#include "ringt.h"

static char name[64];

/* Receive everything there is; each message is its seq, and the seqs run
 * from @first with the ring's own loss count for the gaps. */
static uint64_t drain(ipk_ring_sub *s, uint64_t first)
{
	uint64_t want = first, v, n = 0;
	ssize_t len;

	while ((len = ipk_ring_recv(s, &v, sizeof(v), 0)) == (ssize_t)sizeof(v)) {
		T_TRUE(v >= want);
		want = v + 1;
		n++;
	}
	T_EQ(len, -EAGAIN);
	return n;
}

static void expect_counts(ipk_ring_sub *s, uint64_t start, uint64_t delivered, uint64_t lost)
{
	struct ipk_ring_counts c;

	T_OK(ipk_ring_counts(s, &c));
	T_EQ(c.start, start);
	T_EQ(c.skipped, start);
	T_EQ(c.delivered, delivered);
	T_EQ(c.lost, lost);
	T_EQ(ipk_ring_lost(s), lost);
}

static ipk_ring_sub *open_from(uint32_t from, uint64_t seq)
{
	struct ipk_ring_sub_opts o = { .from = from, .from_seq = seq };
	ipk_ring_sub *s;

	T_OK(ipk_ring_open(name, &o, &s));
	return s;
}

static void publish_seqs(ipk_ring *r, uint64_t first, uint64_t n, bool packed)
{
	static uint64_t v[64];
	struct ipk_msg m[64];

	for (uint64_t i = 0; i < n;) {
		unsigned k = packed && n - i >= 8 ? 8 : 1;

		for (unsigned j = 0; j < k; j++) {
			v[j] = first + i + j;
			m[j] = (struct ipk_msg){ .buf = &v[j], .len = sizeof(v[j]) };
		}
		T_EQ(ipk_ring_publish_batch(r, m, k), (int)k);
		i += k;
	}
}

struct job {
	uint32_t from;
	uint64_t seq, first, start, delivered, lost;
};

/* In a process of its own: open from @j, drain, check the counts. */
static int subscriber(void *arg)
{
	const struct job *j = arg;
	ipk_ring_sub *s = open_from(j->from, j->seq);
	uint64_t n = drain(s, j->first);

	T_EQ(n, j->delivered);
	expect_counts(s, j->start, j->delivered, j->lost);
	ipk_ring_sub_close(s);
	return 0;
}

static void in_child(struct job j)
{
	t_wait_exit(t_fork(subscriber, &j), 0);
}

int main(void)
{
	struct ipk_ring_opts small = { .capacity = 4096 };
	struct ipk_ring_sub_opts bad = { .from = 3 };
	ipk_ring_sub *s, *empty_oldest, *end;
	ipk_ring *r;
	uint64_t v;

	rt_name(name, sizeof(name), "start");
	T_OK(ipk_ring_create(name, NULL, &r));
	T_EQ(ipk_ring_open(name, &bad, &s), -EINVAL);

	/* an empty ring: the oldest is the first message to come */
	empty_oldest = open_from(IPK_RING_FROM_OLDEST, 0);
	expect_counts(empty_oldest, 0, 0, 0);

	/* 40 messages, seq 0..39, the first 32 in packs of 8 */
	publish_seqs(r, 0, 40, true);
	T_EQ(drain(empty_oldest, 0), 40);
	expect_counts(empty_oldest, 0, 40, 0);

	in_child((struct job){ IPK_RING_FROM_OLDEST, 0, 0, 0, 40, 0 });
	in_child((struct job){ IPK_RING_FROM_SEQ, 0, 0, 0, 40, 0 });
	in_child((struct job){ IPK_RING_FROM_SEQ, 13, 13, 13, 27, 0 }); /* in a pack */
	in_child((struct job){ IPK_RING_FROM_SEQ, 32, 32, 32, 8, 0 });  /* a lone message */
	in_child((struct job){ IPK_RING_FROM_SEQ, 39, 39, 39, 1, 0 });
	in_child((struct job){ IPK_RING_FROM_SEQ, 40, 40, 40, 0, 0 });   /* the end */
	in_child((struct job){ IPK_RING_FROM_SEQ, 1000, 40, 40, 0, 0 }); /* not yet: the end */
	in_child((struct job){ IPK_RING_FROM_END, 0, 40, 40, 0, 0 });
	printf("from the end, the oldest, and seq 0, 13 (in a pack), 32, 39, 40, 1000: "
	       "exact messages and counts\n");

	/* then new messages reach each of them, counted */
	end = open_from(IPK_RING_FROM_END, 0);
	publish_seqs(r, 40, 5, false);
	T_EQ(drain(end, 40), 5);
	expect_counts(end, 40, 5, 0);
	ipk_ring_sub_close(end);
	ipk_ring_sub_close(empty_oldest);
	ipk_ring_close(r);

	/* overwritten history: 2000 messages through a 4 KiB ring */
	T_OK(ipk_ring_create(name, &small, &r));
	publish_seqs(r, 0, 2000, false);
	s = open_from(IPK_RING_FROM_OLDEST, 0);
	T_OK(ipk_ring_recv(s, &v, sizeof(v), 0));
	T_TRUE(v > 1000 && v < 2000); /* the oldest still there */
	expect_counts(s, v, 1, 0);    /* skipped by choice, nothing lost */
	drain(s, v + 1);
	expect_counts(s, v, 2000 - v, 0);
	ipk_ring_sub_close(s);
	/* from seq 100: what was overwritten since 100 is lost, not skipped */
	in_child((struct job){ IPK_RING_FROM_SEQ, 100, v, 100, 2000 - v, v - 100 });
	printf("into overwritten history: oldest %llu; from 100, %llu lost, %llu delivered\n",
	       (unsigned long long)v, (unsigned long long)(v - 100),
	       (unsigned long long)(2000 - v));
	ipk_ring_close(r);
	return 0;
}
