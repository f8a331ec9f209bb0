/* SPDX-License-Identifier: MIT */
/*
 * basic.c - the ring's API in one process and with one forked peer: a round
 * trip of every size up to the maximum (memfd ring), -EMSGSIZE both ways,
 * timeouts (-EAGAIN, -ETIMEDOUT), reserve/commit, view/validate (intact
 * and overwritten), exact loss counts after being lapped (also across a
 * takeover), batches of ipk_ring_publish_batch() and ipk_ring_recv_batch()
 * (in order, lapping, too small a buffer, errors), packed records (one
 * header for a batch of one length: every way of reading them, lapped in
 * the middle of one), no FUTEX_WAKE while
 * nobody sleeps, a sleeping subscriber in another process woken, the
 * pollable descriptor with epoll, a memfd ring handed to a child, and
 * stale bytes of an earlier lap shaped exactly like the next record never
 * taken for it.
 */
#include <sys/epoll.h>

#include "ringt.h"
#include "ring_layout.h"

static unsigned char big[1 << 16], got[1 << 16];

static void round_trip_every_size(void)
{
	struct ipk_ring_opts o = { .capacity = 1 << 16 };
	struct ipk_ring_stats st;
	ipk_ring_sub *s;
	int rfd, bfd;
	ipk_ring *r;

	T_OK(ipk_ring_create(NULL, &o, &r));
	T_OK(ipk_ring_stats(r, &st));
	T_EQ(st.max_msg, (1 << 16) / 4 - 16);
	T_OK(ipk_ring_fds(r, &rfd, &bfd));
	T_OK(ipk_ring_open_fd(rfd, bfd, NULL, &s));
	for (size_t len = 0; len <= st.max_msg; len++) {
		for (size_t i = 0; i < len; i++)
			big[i] = (unsigned char)(len + i * 7);
		T_OK(ipk_ring_publish(r, big, len));
		T_EQ(ipk_ring_recv(s, got, sizeof(got), 0), len);
		T_MEMEQ(got, big, len);
	}
	T_EQ(ipk_ring_recv(s, got, sizeof(got), 0), -EAGAIN);
	T_EQ(ipk_ring_lost(s), 0);
	T_EQ(ipk_ring_publish(r, big, st.max_msg + 1), -EMSGSIZE);
	T_EQ(ipk_ring_recv(s, got, sizeof(got), 0), -EAGAIN);
	ipk_ring_sub_close(s);
	ipk_ring_close(r);
}

static void errors_and_timeouts(void)
{
	struct ipk_ring_opts o = { .capacity = 4096, .max_msg = 1000 };
	char name[64];
	ipk_ring_sub *s;
	ipk_ring *r;
	void *p;

	rt_name(name, sizeof(name), "basic");
	T_EQ(ipk_ring_open(name, NULL, &s), -ENOENT);
	T_EQ(ipk_ring_create("noslash", &o, &r), -EINVAL);
	T_EQ(ipk_ring_create("/a/b", &o, &r), -EINVAL);
	o.capacity = 5000;
	T_EQ(ipk_ring_create(name, &o, &r), -EINVAL); /* not a power of two */
	o.capacity = 4096;
	o.max_msg = 2048;
	T_EQ(ipk_ring_create(name, &o, &r), -EINVAL); /* two must fit in half */
	o.max_msg = 1000;
	T_OK(ipk_ring_create(name, &o, &r));
	T_OK(ipk_ring_open(name, NULL, &s));

	T_EQ(ipk_ring_recv(s, got, sizeof(got), 0), -EAGAIN);
	T_EQ(ipk_ring_recv(s, got, sizeof(got), 20 * IPK_MSEC), -ETIMEDOUT);

	rt_fill(big, 100, 1);
	T_OK(ipk_ring_publish(r, big, 100));
	T_EQ(ipk_ring_recv(s, got, 50, 0), -EMSGSIZE);
	T_EQ(ipk_ring_msg_len(s), 100);
	T_EQ(ipk_ring_recv(s, got, 100, 0), 100); /* nothing was consumed */
	T_MEMEQ(got, big, 100);
	T_EQ(ipk_ring_publish(r, big, 1001), -EMSGSIZE);

	/* zero-copy publish, committing less than reserved */
	T_OK(ipk_ring_reserve(r, 200, &p));
	T_EQ((uintptr_t)p % 16, 0);
	memset(p, 0x5a, 200);
	T_OK(ipk_ring_commit(r, 60));
	T_EQ(ipk_ring_commit(r, 60), -EINVAL); /* nothing reserved */
	T_EQ(ipk_ring_recv(s, got, sizeof(got), 0), 60);
	for (int i = 0; i < 60; i++)
		T_EQ(got[i], 0x5a);

	/* a publish gives up a pending reservation: its commit is refused */
	for (int k = 0; k < 2; k++) {
		struct ipk_msg m = { .buf = "pub", .len = 3 };

		T_OK(ipk_ring_reserve(r, 200, &p));
		if (k)
			T_EQ(ipk_ring_publish_batch(r, &m, 1), 1);
		else
			T_OK(ipk_ring_publish(r, "pub", 3));
		T_EQ(ipk_ring_commit(r, 10), -EINVAL);
		T_EQ(ipk_ring_recv(s, got, sizeof(got), 0), 3);
		T_MEMEQ(got, "pub", 3);
		T_EQ(ipk_ring_recv(s, got, sizeof(got), 0), -EAGAIN);
	}

	/* zero-copy read: intact */
	struct ipk_ring_view v;

	T_OK(ipk_ring_publish(r, "hello", 5));
	T_OK(ipk_ring_view(s, &v, 0));
	T_EQ(v.len, 5);
	T_MEMEQ(v.data, "hello", 5);
	T_EQ(ipk_ring_validate(s, &v), 0);
	T_EQ(ipk_ring_view(s, &v, 0), -EAGAIN);

	/* zero-copy read overwritten under the reader: -ESTALE, counted */
	T_OK(ipk_ring_publish(r, "first", 5));
	T_OK(ipk_ring_view(s, &v, 0));
	for (int i = 0; i < 100; i++)
		T_OK(ipk_ring_publish(r, big, 100));
	T_EQ(ipk_ring_validate(s, &v), -ESTALE);
	uint64_t delivered = 0; /* the stale view counts as lost, not delivered */
	ssize_t n;

	while ((n = ipk_ring_recv(s, got, sizeof(got), 0)) >= 0)
		delivered++;
	T_EQ(n, -EAGAIN);
	T_EQ(delivered + ipk_ring_lost(s), 101);
	T_TRUE(ipk_ring_lost(s) > 1);

	ipk_ring_sub_close(s);
	ipk_ring_close(r);
	T_EQ(ipk_ring_open(name, NULL, &s), -ENOENT); /* the creator removed it */
}

/* Batches of @n messages from seq *@next, @max bytes at most each, in
 * @store (n * max bytes). */
static void make_batch(struct ipk_msg *v, unsigned char *store, size_t n, size_t max,
		       uint64_t *next)
{
	for (size_t j = 0; j < n; j++) {
		size_t len = rt_len(*next, max);

		rt_fill(store + j * max, len, (*next)++);
		v[j] = (struct ipk_msg){ .buf = store + j * max, .len = len };
	}
}

/*
 * ipk_ring_publish_batch(): batches of every count from 1 to 7 (and 0) across
 * many laps (PAD records inside batches) all delivered intact and in
 * order; 200 at once (more than one batch is sealed); a batch larger than
 * the ring lapping the subscriber (delivered + lost == published, each
 * delivered one intact); the errors, which publish nothing.
 */
static void publish_batches(void)
{
	struct ipk_ring_opts o = { .capacity = 4096, .max_msg = 1000 };
	static unsigned char store[200 * 300];
	uint64_t next = 1, want = 1, last = 0, delivered = 0;
	struct ipk_msg v[200];
	ipk_ring_sub *s;
	int rfd, bfd;
	ipk_ring *r;
	ssize_t n;

	T_OK(ipk_ring_create(NULL, &o, &r));
	T_OK(ipk_ring_fds(r, &rfd, &bfd));
	T_OK(ipk_ring_open_fd(rfd, bfd, NULL, &s));
	T_EQ(ipk_ring_publish_batch(r, v, 0), 0);
	for (int b = 0; b < 3000; b++) {
		size_t cnt = (size_t)(b % 7) + 1; /* at most 7 * 316 bytes: no loss */

		make_batch(v, store, cnt, 300, &next);
		T_EQ(ipk_ring_publish_batch(r, v, (unsigned)cnt), (int)cnt);
		while ((n = ipk_ring_recv(s, got, sizeof(got), 0)) >= 0)
			T_EQ(rt_check(got, (size_t)n), want++);
		T_EQ(n, -EAGAIN);
	}
	T_EQ(want, next);
	T_EQ(ipk_ring_lost(s), 0);

	/* 200 small ones: sealed in several batches, one call */
	make_batch(v, store, 200, 40, &next);
	/* in a 4 KiB ring 200 records of 32 to 64 bytes lap the subscriber
	 * (of different lengths: few are packed) */
	T_EQ(ipk_ring_publish_batch(r, v, 200), 200);
	last = want - 1;
	delivered = rt_drain(s, got, sizeof(got), &last, &n);
	T_EQ(n, -EAGAIN);
	T_EQ(delivered + ipk_ring_lost(s), 200);
	T_TRUE(ipk_ring_lost(s) > 0);
	T_EQ(last, next - 1); /* the newest survives */

	/* errors: nothing published */
	make_batch(v, store, 3, 300, &next);
	T_EQ(ipk_ring_publish_batch(r, NULL, 1), -EINVAL);
	T_EQ(ipk_ring_publish_batch(NULL, v, 1), -EINVAL);
	v[1].buf = NULL;
	T_EQ(ipk_ring_publish_batch(r, v, 3), -EINVAL);
	v[1].buf = store + 300;
	v[2].len = 1001;
	T_EQ(ipk_ring_publish_batch(r, v, 3), -EMSGSIZE);
	T_EQ(ipk_ring_recv(s, got, sizeof(got), 0), -EAGAIN);
	ipk_ring_sub_close(s);
	ipk_ring_close(r);
}

/* Messages *@next.. of @len bytes each, @n of them: one length, which
 * ipk_ring_publish_batch() packs. */
static void make_same(struct ipk_msg *v, unsigned char *store, size_t n, size_t len, uint64_t *next)
{
	for (size_t j = 0; j < n; j++) {
		rt_fill(store + j * len, len, (*next)++);
		v[j] = (struct ipk_msg){ .buf = store + j * len, .len = len };
	}
}

/* Head of the ring "/name" (ipk_ring_info()). */
static uint64_t head_of(const char *name)
{
	struct ipk_ring_info info;

	T_OK(ipk_ring_info(name, &info));
	return info.head;
}

/* Receive message @want (@len bytes) with ipk_ring_recv(). */
static void expect_msg(ipk_ring_sub *s, uint64_t want, size_t len)
{
	T_EQ(ipk_ring_recv(s, got, sizeof(got), 0), (ssize_t)len);
	T_EQ(rt_check(got, len), want);
}

/*
 * Packed records: a batch of one length takes one record per 64 messages
 * at most (head moves by a header per record, not per message), but not
 * in queue mode or when two do not fit max_msg; read message by message,
 * in batches that end inside a pack, through views (one made stale by a
 * receive is refused), with a buffer too small for one of them; a
 * subscriber attaching after packs counts from the right seq; lapped in
 * the middle of a pack: delivered + lost == published, none twice.
 */
static void packs(void)
{
	struct ipk_ring_opts o = { .capacity = 1 << 16, .max_msg = 4000 };
	static unsigned char store[200 * 48], bufs[7][48];
	uint64_t next = 1, want = 1, last, delivered = 0;
	struct ipk_msg m[200], in[7];
	struct ipk_ring_view v, v2;
	ipk_ring_sub *s, *late;
	char name[64], qname[64];
	ipk_ring *r, *q;
	ssize_t n;
	int k;

	rt_name(name, sizeof(name), "packs");
	T_OK(ipk_ring_create(name, &o, &r));
	T_OK(ipk_ring_open(name, NULL, &s));
	make_same(m, store, 100, 48, &next);
	T_EQ(ipk_ring_publish_batch(r, m, 100), 100);
	T_EQ(head_of(name), (16 + 64 * 48) + (16 + 36 * 48)); /* two records */

	for (int i = 0; i < 10; i++)
		expect_msg(s, want++, 48);
	/* a view in the middle of a pack; one made stale by a receive */
	T_OK(ipk_ring_view(s, &v, 0));
	T_EQ(v.len, 48);
	T_EQ((uintptr_t)v.data % 8, 0);
	T_EQ(v.seq, want - 1); /* seq numbers count from 0 */
	T_EQ(rt_check(v.data, v.len), want);
	T_OK(ipk_ring_validate(s, &v));
	want++;
	T_OK(ipk_ring_view(s, &v2, 0));
	expect_msg(s, want++, 48);
	T_EQ(ipk_ring_validate(s, &v2), -EINVAL);
	/* too small a buffer for the message we stand at */
	T_EQ(ipk_ring_recv(s, got, 40, 0), -EMSGSIZE);
	T_EQ(ipk_ring_msg_len(s), 48);
	expect_msg(s, want++, 48);
	/* batches of 7 across the end of the first pack and the second */
	while (want <= 100) {
		for (int j = 0; j < 7; j++)
			in[j] = (struct ipk_msg){ .buf = bufs[j], .len = sizeof(bufs[j]) };
		k = ipk_ring_recv_batch(s, in, 7, 0);
		T_EQ(k, want + 7 <= 101 ? 7 : (int)(101 - want)); /* all there already */
		for (int j = 0; j < k; j++)
			T_EQ(rt_check(bufs[j], in[j].len), want++);
	}
	T_EQ(ipk_ring_recv(s, got, sizeof(got), 0), -EAGAIN);
	/* 21 bytes in slots of 24: one record of 20 */
	make_same(m, store, 20, 21, &next);
	T_EQ(ipk_ring_publish_batch(r, m, 20), 20);
	T_EQ(head_of(name), (16 + 64 * 48) + (16 + 36 * 48) + (16 + 20 * 24));
	for (int i = 0; i < 20; i++)
		expect_msg(s, want++, 21);
	T_EQ(ipk_ring_lost(s), 0);

	/* attached after the packs: the next message is the one it expects */
	T_OK(ipk_ring_open(name, NULL, &late));
	make_same(m, store, 1, 48, &next);
	T_EQ(ipk_ring_publish_batch(r, m, 1), 1);
	expect_msg(late, 121, 48);
	expect_msg(s, want++, 48);
	T_EQ(ipk_ring_lost(late) + ipk_ring_lost(s), 0);

	/* lapped three messages into a pack */
	make_same(m, store, 64, 48, &next);
	T_EQ(ipk_ring_publish_batch(r, m, 64), 64);
	for (int i = 0; i < 3; i++)
		expect_msg(s, want++, 48);
	last = want - 1;
	for (int i = 0; i < 30; i++) { /* 1,920 messages: about 1.9 laps */
		make_same(m, store, 64, 48, &next);
		T_EQ(ipk_ring_publish_batch(r, m, 64), 64);
	}
	delivered = rt_drain(s, got, sizeof(got), &last, &n);
	T_EQ(n, -EAGAIN);
	T_TRUE(ipk_ring_lost(s) > 0);
	T_EQ(delivered + ipk_ring_lost(s), next - want);
	T_EQ(last, next - 1);
	ipk_ring_sub_close(late);
	ipk_ring_sub_close(s);
	ipk_ring_close(r);

	/* not packed: in queue mode, and where two do not fit max_msg */
	rt_name(qname, sizeof(qname), "packq");
	o.flags = IPK_RING_QUEUE;
	T_OK(ipk_ring_create(qname, &o, &q));
	make_same(m, store, 10, 48, &next);
	T_EQ(ipk_ring_publish_batch(q, m, 10), 10);
	T_EQ(head_of(qname), 10 * (16 + 48));
	ipk_ring_close(q);
	o = (struct ipk_ring_opts){ .capacity = 4096, .max_msg = 95 };
	T_OK(ipk_ring_create(name, &o, &r));
	make_same(m, store, 10, 48, &next);
	T_EQ(ipk_ring_publish_batch(r, m, 10), 10);
	T_EQ(head_of(name), 10 * (16 + 48));
	ipk_ring_close(r);
}

/* Publish messages *@next.. of rt_len(seq, @max) bytes, @n of them. */
static void publish_some(ipk_ring *r, int n, size_t max, uint64_t *next)
{
	for (int i = 0; i < n; i++) {
		size_t len = rt_len(*next, max);

		rt_fill(big, len, (*next)++);
		T_OK(ipk_ring_publish(r, big, len));
	}
}

/*
 * ipk_ring_recv_batch(): messages taken 1 to 9 at a time across many laps,
 * intact and in order, the lengths of unused entries untouched; a buffer
 * too small ends a batch before its message (the next call reports
 * -EMSGSIZE); lapped: delivered + lost == published; the errors.
 */
static void recv_batches(void)
{
	struct ipk_ring_opts o = { .capacity = 4096, .max_msg = 1000 };
	static unsigned char bufs[9][300];
	uint64_t next = 1, want = 1, last = 0, delivered = 0;
	struct ipk_msg m[9];
	ipk_ring_sub *s;
	int rfd, bfd, k;
	ipk_ring *r;

	T_OK(ipk_ring_create(NULL, &o, &r));
	T_OK(ipk_ring_fds(r, &rfd, &bfd));
	T_OK(ipk_ring_open_fd(rfd, bfd, NULL, &s));
	m[0] = (struct ipk_msg){ .buf = bufs[0], .len = sizeof(bufs[0]) };
	T_EQ(ipk_ring_recv_batch(s, m, 0, 0), -EINVAL);
	T_EQ(ipk_ring_recv_batch(s, NULL, 1, 0), -EINVAL);
	T_EQ(ipk_ring_recv_batch(NULL, m, 1, 0), -EINVAL);
	T_EQ(ipk_ring_recv_batch(s, m, 1, 0), -EAGAIN);
	T_EQ(ipk_ring_recv_batch(s, m, 1, 20 * IPK_MSEC), -ETIMEDOUT);

	for (int round = 0; round < 1000; round++) {
		unsigned cnt = (unsigned)round % 9 + 1;

		publish_some(r, 7, 300, &next); /* at most 7 * 316 bytes: no loss */
		while (want < next) {
			for (unsigned j = 0; j < cnt; j++)
				m[j] = (struct ipk_msg){ .buf = bufs[j], .len = sizeof(bufs[j]) };
			k = ipk_ring_recv_batch(s, m, cnt, 0);
			T_TRUE(k >= 1 && k <= (int)cnt);
			for (int j = 0; j < k; j++) {
				T_EQ(m[j].len, rt_len(want, 300));
				T_EQ(rt_check(bufs[j], m[j].len), want++);
			}
			for (unsigned j = (unsigned)k; j < cnt; j++)
				T_EQ(m[j].len, sizeof(bufs[j]));
		}
	}
	T_EQ(ipk_ring_recv_batch(s, m, 1, 0), -EAGAIN);
	T_EQ(ipk_ring_lost(s), 0);

	/* a buffer too small ends the batch before its message */
	for (int j = 0; j < 3; j++) {
		rt_fill(big, 100, next++);
		T_OK(ipk_ring_publish(r, big, 100));
		m[j] = (struct ipk_msg){ .buf = bufs[j], .len = sizeof(bufs[j]) };
	}
	m[1].len = 50;
	T_EQ(ipk_ring_recv_batch(s, m, 3, 0), 1);
	T_EQ(rt_check(bufs[0], m[0].len), want++);
	T_EQ(m[1].len, 50);
	T_EQ(ipk_ring_recv_batch(s, m + 1, 2, 0), -EMSGSIZE);
	T_EQ(ipk_ring_msg_len(s), 100);
	m[1].len = sizeof(bufs[1]);
	T_EQ(ipk_ring_recv_batch(s, m + 1, 2, 0), 2);
	T_EQ(rt_check(bufs[1], m[1].len), want++);
	T_EQ(rt_check(bufs[2], m[2].len), want++);

	/* lapped: every message delivered or counted lost */
	publish_some(r, 100, 300, &next);
	for (;;) {
		for (unsigned j = 0; j < 9; j++)
			m[j] = (struct ipk_msg){ .buf = bufs[j], .len = sizeof(bufs[j]) };
		k = ipk_ring_recv_batch(s, m, 9, 0);
		if (k == -EAGAIN)
			break;
		T_TRUE(k >= 1);
		for (int j = 0; j < k; j++) {
			uint64_t seq = rt_check(bufs[j], m[j].len);

			T_TRUE(seq > last && seq >= want);
			last = seq;
			delivered++;
		}
	}
	T_EQ(delivered + ipk_ring_lost(s), 100);
	T_TRUE(ipk_ring_lost(s) > 0);
	T_EQ(last, next - 1);
	ipk_ring_sub_close(s);
	ipk_ring_close(r);
}

/* What a lapped subscriber saw: every message delivered or lost. */
struct tally {
	uint64_t published, delivered, last;
	int resets; /* -ECONNRESET: a new publisher */
};

static void publish_burst(ipk_ring *r, struct tally *t, int n)
{
	for (int i = 0; i < n; i++) {
		size_t len = rt_len(t->published + 1, 2000);

		rt_fill(big, len, ++t->published);
		T_OK(ipk_ring_publish(r, big, len));
	}
}

/* 50 bursts, some of them laps, each drained with timeout 0: delivered +
 * lost == published after every one, seq increasing. */
static void lapped_rounds(ipk_ring *r, ipk_ring_sub *s, struct tally *t)
{
	ssize_t n;

	for (int round = 0; round < 50; round++) {
		publish_burst(r, t, round % 5 == 0 ? 1000 : round % 7);
		while ((n = ipk_ring_recv(s, got, sizeof(got), 0)) >= 0 || n == -ECONNRESET) {
			if (n < 0) {
				t->resets++;
				continue;
			}
			uint64_t seq = rt_check(got, (size_t)n);

			T_TRUE(seq > t->last);
			t->last = seq;
			t->delivered++;
		}
		T_EQ(n, -EAGAIN);
		T_EQ(t->delivered + ipk_ring_lost(s), t->published);
	}
	T_TRUE(ipk_ring_lost(s) > 0);
}

/* Lapped many times over, every loss counted exactly. */
static void lapped_exactly(void)
{
	struct ipk_ring_opts o = { .capacity = 8192 };
	struct tally t = { 0 };
	ipk_ring_sub *s;
	int rfd, bfd;
	ipk_ring *r;

	T_OK(ipk_ring_create(NULL, &o, &r));
	T_OK(ipk_ring_fds(r, &rfd, &bfd));
	T_OK(ipk_ring_open_fd(rfd, bfd, NULL, &s));
	lapped_rounds(r, s, &t);
	T_EQ(t.resets, 0);
	ipk_ring_sub_close(s);
	ipk_ring_close(r);
}

/*
 * The same after a takeover: the successor knows no record before its
 * head, so its first lap walks the records to move tail, and later laps
 * use what it remembered. Every message is counted, delivered or lost.
 */
static void lapped_after_takeover(void)
{
	struct ipk_ring_opts o = { .capacity = 8192, .flags = IPK_RING_KEEP };
	struct tally t = { 0 };
	ipk_ring_sub *s;
	ipk_ring *r;
	char name[64];

	rt_name(name, sizeof(name), "takeover");
	T_OK(ipk_ring_create(name, &o, &r));
	T_OK(ipk_ring_open(name, NULL, &s));
	publish_burst(r, &t, 30);
	ipk_ring_close(r); /* the name stays: the next create takes it over */
	o.flags = 0;
	T_OK(ipk_ring_create(name, &o, &r));
	lapped_rounds(r, s, &t);
	T_EQ(t.resets, 1);
	ipk_ring_sub_close(s);
	ipk_ring_close(r);
}

static int ready_fd;

static int blocked_receiver(void *arg)
{
	const char *name = arg;
	ipk_ring_sub *s;
	char buf[64];

	T_OK(ipk_ring_open(name, NULL, &s));
	for (int i = 0; i < 100; i++) {
		int out = 1;

		/* tell the parent we are about to wait, then wait forever */
		T_EQ(write(ready_fd, &out, sizeof(out)), sizeof(out));
		T_EQ(ipk_ring_recv(s, buf, sizeof(buf), IPK_FOREVER), 4);
		T_EQ(memcmp(buf, &i, 4), 0);
	}
	T_EQ(ipk_ring_recv(s, buf, sizeof(buf), IPK_FOREVER), -EPIPE); /* closed */
	ipk_ring_sub_close(s);
	return 0;
}

/* No sleeper: no wake. A sleeper in another process: woken each time. */
static void doorbell(void)
{
	struct ipk_ring_stats st;
	char name[64];
	ipk_ring_sub *s;
	int p[2], in;
	ipk_ring *r;
	pid_t pid;

	rt_name(name, sizeof(name), "bell");
	T_OK(ipk_ring_create(name, NULL, &r));
	T_OK(ipk_ring_open(name, NULL, &s)); /* attached, never waiting */
	for (int i = 0; i < 100000; i++)
		T_OK(ipk_ring_publish(r, &i, sizeof(i)));
	T_OK(ipk_ring_stats(r, &st));
	T_EQ(st.published, 100000);
	T_EQ(st.wakes, 0);
	ipk_ring_sub_close(s);

	T_SYS(pipe(p));
	ready_fd = p[1];
	pid = t_fork(blocked_receiver, name);
	close(p[1]);
	for (int i = 0; i < 100; i++) {
		T_EQ(read(p[0], &in, sizeof(in)), sizeof(in));
		T_OK(ipk_ring_publish(r, &i, 4));
	}
	T_OK(ipk_ring_stats(r, &st));
	printf("doorbell: %llu wakes for 100 messages to a blocking receiver\n",
	       (unsigned long long)st.wakes);
	T_TRUE(st.wakes <= 100);
	ipk_ring_close(r);
	t_wait_exit(pid, 0);
	close(p[0]);
}

static void pollable(void)
{
	struct epoll_event ev = { .events = EPOLLIN }, out;
	char name[64], buf[16];
	ipk_ring_sub *s;
	ipk_ring *r;
	int ep, fd;

	rt_name(name, sizeof(name), "poll");
	T_OK(ipk_ring_create(name, NULL, &r));
	T_OK(ipk_ring_open(name, NULL, &s));
	fd = (int)T_OK(ipk_ring_fd(s));
	T_EQ(ipk_ring_fd(s), fd);
	ep = (int)T_SYS(epoll_create1(EPOLL_CLOEXEC));
	T_SYS(epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev));
	for (int i = 0; i < 200; i++) {
		T_EQ(ipk_ring_recv(s, buf, sizeof(buf), 0), -EAGAIN);
		T_EQ(epoll_wait(ep, &out, 1, 0), 0);
		T_OK(ipk_ring_publish(r, &i, sizeof(i)));
		T_EQ(epoll_wait(ep, &out, 1, 10000), 1);
		T_EQ(ipk_ring_recv(s, buf, sizeof(buf), 0), sizeof(i));
		T_EQ(memcmp(buf, &i, sizeof(i)), 0);
	}
	T_EQ(ipk_ring_recv(s, buf, sizeof(buf), 0), -EAGAIN);
	ipk_ring_close(r); /* closed: readable, and -EPIPE */
	T_EQ(epoll_wait(ep, &out, 1, 10000), 1);
	T_EQ(ipk_ring_recv(s, buf, sizeof(buf), 0), -EPIPE);
	close(ep);
	ipk_ring_sub_close(s);
}

struct fds {
	int rfd, bfd, ready;
};

static int memfd_child(void *arg)
{
	struct fds *f = arg;
	ipk_ring_sub *s;
	char buf[16];

	T_OK(ipk_ring_open_fd(f->rfd, f->bfd, NULL, &s));
	T_EQ(write(f->ready, "r", 1), 1);
	for (int i = 0; i < 1000; i++) {
		T_EQ(ipk_ring_recv(s, buf, sizeof(buf), RT_TIMEOUT), sizeof(i));
		T_EQ(memcmp(buf, &i, sizeof(i)), 0);
	}
	T_EQ(ipk_ring_lost(s), 0);
	ipk_ring_sub_close(s);
	return 0;
}

/*
 * A subscriber that has caught up takes the record at its position when
 * its header shows the seq it expects, without looking at head. Here the
 * bytes at that position, left from the lap before, are exactly such a
 * header (kind "message", 8 bytes, seq 5) while record 5 is only reserved:
 * it must wait for the commit, then get the real one.
 */
static void stale_lookalike(void)
{
	struct ipk_ring_opts o = { .capacity = 4096, .max_msg = 1000 };
	uint64_t fake[2] = { ipk__ring_rec_word(8, IPK__RING_KIND_MSG, 0), 5 }; /* seq 5 */
	unsigned char buf[1000] = { 0 }, out[1000];
	ipk_ring_sub *s;
	ipk_ring *r;
	void *p;

	T_OK(ipk_ring_create(NULL, &o, &r));
	{
		int rfd, bfd;

		T_OK(ipk_ring_fds(r, &rfd, &bfd));
		T_OK(ipk_ring_open_fd(rfd, bfd, NULL, &s));
	}
	/* Lap 1: four 1,024-byte records (16-byte header, 1,000 bytes
	 * padded to 1,008) fill the 4,096 bytes; message 0's payload holds
	 * the lookalike at ring offset 32 (payload offset 16). */
	memcpy(buf + 16, fake, sizeof(fake));
	for (int i = 0; i < 4; i++) {
		T_OK(ipk_ring_publish(r, buf, sizeof(buf)));
		T_EQ(ipk_ring_recv(s, out, sizeof(out), 0), (ssize_t)sizeof(buf));
	}
	/* Lap 2: message 4, 8 bytes, a 32-byte record at offset 0: the
	 * subscriber, caught up, now stands at offset 32. */
	T_OK(ipk_ring_publish(r, "message4", 8));
	T_EQ(ipk_ring_recv(s, out, sizeof(out), 0), 8);
	T_MEMEQ(out, "message4", 8);
	/* Message 5 reserved and written, not committed: nothing to read. */
	T_OK(ipk_ring_reserve(r, 8, &p));
	memcpy(p, "message5", 8);
	T_EQ(ipk_ring_recv(s, out, sizeof(out), 0), -EAGAIN);
	T_EQ(ipk_ring_recv(s, out, sizeof(out), 20 * IPK_MSEC), -ETIMEDOUT);
	T_OK(ipk_ring_commit(r, 8));
	T_EQ(ipk_ring_recv(s, out, sizeof(out), 0), 8);
	T_MEMEQ(out, "message5", 8);
	T_EQ(ipk_ring_lost(s), 0);
	ipk_ring_sub_close(s);
	ipk_ring_close(r);
	printf("stale bytes shaped like the next record were not taken for it\n");
}

static void memfd_to_child(void)
{
	struct fds f;
	ipk_ring *r;
	int p[2];
	char c;
	pid_t pid;

	T_OK(ipk_ring_create(NULL, NULL, &r));
	T_OK(ipk_ring_fds(r, &f.rfd, &f.bfd));
	T_SYS(pipe(p));
	f.ready = p[1];
	pid = t_fork(memfd_child, &f);
	close(p[1]);
	T_EQ(read(p[0], &c, 1), 1);
	for (int i = 0; i < 1000; i++)
		T_OK(ipk_ring_publish(r, &i, sizeof(i)));
	t_wait_exit(pid, 0);
	ipk_ring_close(r);
	close(p[0]);
}

int main(void)
{
	round_trip_every_size();
	errors_and_timeouts();
	publish_batches();
	recv_batches();
	packs();
	lapped_exactly();
	lapped_after_takeover();
	doorbell();
	pollable();
	memfd_to_child();
	stale_lookalike();
	return 0;
}
