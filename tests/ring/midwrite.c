/* SPDX-License-Identifier: MIT */
/*
 * midwrite.c - kill -9 of the publisher in the middle of a record, made
 * deterministic: it commits one message, reserves the next and writes half
 * of it (zero-copy), then is killed. Subscribers - a copying one, a
 * zero-copy one and a blocked one - get the committed message, never the
 * half-written one, and then -EPIPE. A successor publisher takes the ring
 * over: the half-written record stays invisible and the seq numbers carry
 * on.
 *
 * Then the narrowest window: killed after a record's commit word (the seq
 * in its header, which subscribers that have caught up read instead of
 * head) but before head. The publisher does the first half of commit() by
 * hand (the layout of src/ring_layout.h) and is killed. A subscriber that had
 * caught up delivers the record, then -EPIPE (no -EBADMSG for a head that
 * lags it, no hang). A successor starts after that record (someone may
 * have taken it): that subscriber gets -ECONNRESET and then the
 * successor's messages, no seq number twice; one that attached after the
 * death, at the old head, gets the record too. The same with a packed
 * record of three messages (ipk_ring_publish_batch()'s), the subscriber
 * in the middle of it when the successor starts: it gets the rest of it,
 * intact, and loses nothing.
 */
#include <signal.h>
#include <stdatomic.h>
#include <sys/prctl.h>

#include "ringt.h"
#include "ring_layout.h"

#define LEN 200

static char name[64];
static struct rt_step ready, go, half;

/* The child publisher's start: create the ring, and once told to, publish
 * message 1. */
static ipk_ring *publish_first(void)
{
	unsigned char buf[LEN];
	ipk_ring *r;

	T_SYS(prctl(PR_SET_PDEATHSIG, SIGKILL));
	T_OK(ipk_ring_create(name, NULL, &r));
	rt_signal(&ready);
	rt_await(&go);
	rt_fill(buf, LEN, 1);
	T_OK(ipk_ring_publish(r, buf, LEN));
	return r;
}

static int publisher(void *arg)
{
	ipk_ring *r = publish_first();
	unsigned char buf[LEN];
	void *p;

	(void)arg;
	T_OK(ipk_ring_reserve(r, LEN, &p));
	rt_fill(buf, LEN, 2);
	memcpy(p, buf, LEN / 2); /* half of message 2, never committed */
	rt_signal(&half);
	for (;;)
		pause();
	return 0;
}

/* The publisher has written half a record (or its commit word): kill it. */
static void kill_at_half(pid_t pid)
{
	int status;

	rt_await(&half);
	T_SYS(kill(pid, SIGKILL));
	T_EQ(waitpid(pid, &status, 0), pid);
	T_TRUE(WIFSIGNALED(status));
}

/* Receive message @seq (LEN bytes, self-checking) on @s. */
static void expect(ipk_ring_sub *s, uint64_t seq)
{
	unsigned char buf[LEN];

	T_EQ(ipk_ring_recv(s, buf, sizeof(buf), RT_TIMEOUT), LEN);
	T_EQ(rt_check(buf, LEN), seq);
}

/* Publishes message 1, then commits messages 2 .. 1 + *@arg (1: a
 * record of its own; more: a packed record) up to their seq word. */
static int dies_before_head(void *arg)
{
	ipk_ring *r = publish_first();
	uint64_t n = *(const int *)arg, *hdr, *mark;
	size_t room = (n * LEN + 15) / 16 * 16; /* the payload, padded */
	unsigned char *feed;
	void *p;
	int fd;

	fd = shm_open(name, O_RDWR, 0);
	T_SYS(fd);
	feed = mmap(NULL, IPK__RING_HDR_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	T_TRUE(feed != MAP_FAILED);
	/* commit() of messages 2.. (seq 1..), up to C: */
	T_OK(ipk_ring_reserve(r, n * LEN, &p));
	for (uint64_t j = 0; j < n; j++)
		rt_fill((unsigned char *)p + j * LEN, LEN, 2 + j);
	hdr = (uint64_t *)p - 2;                            /* the record header */
	mark = (uint64_t *)((unsigned char *)p + room + 8); /* next record's seq word */
	*mark = IPK__RING_SEQ_NONE;
	hdr[0] = n == 1 ? ipk__ring_rec_word(LEN, IPK__RING_KIND_MSG, 0)
			: ipk__ring_rec_word(LEN, IPK__RING_KIND_PACK, (uint32_t)n);
	*(uint64_t *)(feed + offsetof(struct ipk__ring_hdr, pub_seq)) = 1 + n;
	atomic_thread_fence(memory_order_release);
	hdr[1] = 1; /* seq: C */
	rt_signal(&half);
	for (;;)
		pause();
	return 0;
}

/* dies_before_head() with @n messages on the ring "/...-@tag", killed;
 * return a subscriber that was there before. */
static ipk_ring_sub *killed_after_commit(const char *tag, int n)
{
	ipk_ring_sub *a;
	pid_t pid;

	rt_name(name, sizeof(name), tag);
	pid = t_fork(dies_before_head, &n);
	rt_await(&ready);
	T_OK(ipk_ring_open(name, NULL, &a));
	rt_signal(&go);
	kill_at_half(pid);
	return a;
}

/* The successor @r publishes message @seq. */
static void publish_msg(ipk_ring *r, uint64_t seq)
{
	unsigned char buf[LEN];

	rt_fill(buf, LEN, seq);
	T_OK(ipk_ring_publish(r, buf, LEN));
}

static void killed_between_commit_and_head(void)
{
	ipk_ring_sub *a = killed_after_commit("midw2", 1), *b;
	unsigned char buf[LEN];
	ipk_ring *r;

	expect(a, 1);
	expect(a, 2);
	T_EQ(ipk_ring_recv(a, buf, sizeof(buf), RT_TIMEOUT), -EOWNERDEAD);
	T_EQ(ipk_ring_recv(a, buf, sizeof(buf), 0), -EAGAIN);
	T_OK(ipk_ring_open(name, NULL, &b)); /* after the death: at head */

	T_OK(ipk_ring_create(name, NULL, &r));
	T_EQ(ipk_ring_recv(a, buf, sizeof(buf), 0), -ECONNRESET);
	T_EQ(ipk_ring_recv(a, buf, sizeof(buf), 0), -EAGAIN);
	T_EQ(ipk_ring_recv(b, buf, sizeof(buf), 0), -ECONNRESET);
	publish_msg(r, 3);
	expect(a, 3);
	T_EQ(ipk_ring_lost(a), 0);
	expect(b, 2);
	expect(b, 3);
	T_EQ(ipk_ring_lost(b), 0);
	ipk_ring_close(r);
	ipk_ring_sub_close(a);
	ipk_ring_sub_close(b);
	printf("killed between commit word and head: delivered, then -EOWNERDEAD; the successor "
	       "carried on\n");
}

static void killed_in_a_pack(void)
{
	ipk_ring_sub *a = killed_after_commit("midw3", 3), *b;
	unsigned char buf[LEN];
	ipk_ring *r;

	expect(a, 1);
	expect(a, 2);
	expect(a, 3); /* message 4 of the pack not yet */
	T_OK(ipk_ring_open(name, NULL, &b));
	T_OK(ipk_ring_create(name, NULL, &r));
	expect(a, 4); /* the successor did not write over it */
	T_EQ(ipk_ring_recv(a, buf, sizeof(buf), 0), -ECONNRESET);
	T_EQ(ipk_ring_recv(a, buf, sizeof(buf), 0), -EAGAIN);
	T_EQ(ipk_ring_recv(b, buf, sizeof(buf), 0), -ECONNRESET);
	publish_msg(r, 5);
	expect(a, 5);
	for (uint64_t seq = 2; seq <= 5; seq++)
		expect(b, seq);
	T_EQ(ipk_ring_lost(a) + ipk_ring_lost(b), 0);
	ipk_ring_close(r);
	ipk_ring_sub_close(a);
	ipk_ring_sub_close(b);
	printf("killed after committing a packed record, before head: its rest delivered "
	       "after the successor started, nothing lost\n");
}

int main(void)
{
	unsigned char buf[LEN];
	struct ipk_ring_view v;
	struct ipk_ring_stats st;
	ipk_ring_sub *a, *b, *c;
	ipk_ring *r;
	pid_t pid;

	rt_name(name, sizeof(name), "midw");
	rt_step_init(&ready);
	rt_step_init(&go);
	rt_step_init(&half);
	pid = t_fork(publisher, NULL);
	rt_await(&ready);
	T_OK(ipk_ring_open(name, NULL, &a));
	T_OK(ipk_ring_open(name, NULL, &b));
	T_OK(ipk_ring_open(name, NULL, &c));
	rt_signal(&go);
	kill_at_half(pid);

	/* copying */
	expect(a, 1);
	T_EQ(ipk_ring_recv(a, buf, sizeof(buf), RT_TIMEOUT), -EOWNERDEAD);
	T_EQ(ipk_ring_recv(a, buf, sizeof(buf), 0), -EAGAIN);
	/* zero-copy */
	T_OK(ipk_ring_view(b, &v, RT_TIMEOUT));
	T_EQ(v.len, LEN);
	T_EQ(rt_check(v.data, v.len), 1);
	T_OK(ipk_ring_validate(b, &v));
	T_EQ(ipk_ring_view(b, &v, 0), -EOWNERDEAD);
	/* one that only looks now, with timeout 0 */
	T_EQ(ipk_ring_recv(c, buf, sizeof(buf), 0), LEN);
	T_EQ(ipk_ring_recv(c, buf, sizeof(buf), 0), -EOWNERDEAD);
	T_EQ(ipk_ring_lost(a) + ipk_ring_lost(b) + ipk_ring_lost(c), 0);

	/* a successor: the half record stays invisible, seq carries on */
	T_OK(ipk_ring_create(name, NULL, &r));
	T_OK(ipk_ring_stats(r, &st));
	T_EQ(st.epoch, 2);
	T_EQ(ipk_ring_recv(a, buf, sizeof(buf), 0), -ECONNRESET);
	T_EQ(ipk_ring_recv(a, buf, sizeof(buf), 0), -EAGAIN);
	rt_fill(buf, LEN, 2);
	T_OK(ipk_ring_publish(r, buf, LEN));
	expect(a, 2);
	T_EQ(ipk_ring_lost(a), 0); /* the reserved seq was never committed */
	ipk_ring_close(r);
	ipk_ring_sub_close(a);
	ipk_ring_sub_close(b);
	ipk_ring_sub_close(c);
	printf("the half-written record was never delivered\n");
	killed_between_commit_and_head();
	killed_in_a_pack();
	return 0;
}
