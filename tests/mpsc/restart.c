/* SPDX-License-Identifier: MIT */
/*
 * restart.c - the consumer killed with SIGKILL while producers stream into
 * it, and started again on the same name: the new one takes the queue
 * over (epoch 2), the producers hand their lanes over at their next send,
 * and every message each producer sent is delivered - the committed ones
 * the dead consumer had not taken too - in order per producer, at most
 * one of them twice (the one the dead consumer was handling: a message
 * counts as taken when the consumer asks for the next).
 * Then an idle producer: its messages sent before the death reach the new
 * consumer through ipk_mpsc_prod_poll().
 */
#include <stdatomic.h>

#include "mpsct.h"

#define PRODUCERS 3
#define COUNT 20000
#define MAXLEN 200

static char name[64];

/* What the consumers received, in memory shared with the test. */
struct log {
	_Atomic uint64_t total;
	_Atomic uint64_t epoch_seen;
	uint8_t got[PRODUCERS + 1][COUNT];
	uint64_t last[PRODUCERS + 1]; /* per consumer: 1 + last seq, reset at start */
	uint64_t dups;
};

static struct log *lg;
static struct mt_step idle_sent, idle_poll;

static int producer(void *arg)
{
	struct ipk_mpsc_prod_opts po = { .capacity = 4096 };
	uint64_t who = (uint64_t)(uintptr_t)arg;
	unsigned char buf[MAXLEN];
	ipk_mpsc_prod *p;

	T_SYS(prctl(PR_SET_PDEATHSIG, SIGKILL));
	T_OK(ipk_mpsc_connect(name, &po, 0, &p));
	for (uint64_t seq = 0; seq < COUNT; seq++) {
		size_t len = mt_len(seq, MAXLEN);

		mt_fill(buf, len, who, seq);
		T_OK(ipk_mpsc_send(p, buf, len, MT_TIMEOUT));
	}
	ipk_mpsc_prod_close(p);
	return 0;
}

static int idle_producer(void *arg)
{
	unsigned char buf[MAXLEN];
	ipk_mpsc_prod *p;

	(void)arg;
	T_SYS(prctl(PR_SET_PDEATHSIG, SIGKILL));
	T_OK(ipk_mpsc_connect(name, NULL, 0, &p));
	mt_await(&idle_poll); /* the first consumer is dead now */
	for (uint64_t seq = 0; seq < 10; seq++) {
		mt_fill(buf, 100, PRODUCERS, seq);
		T_OK(ipk_mpsc_send(p, buf, 100, 0));
	}
	mt_signal(&idle_sent);
	mt_await(&idle_poll); /* the second consumer runs */
	T_OK(ipk_mpsc_prod_poll(p));
	mt_await(&idle_poll); /* all taken */
	ipk_mpsc_prod_close(p);
	return 0;
}

/* A consumer: take over (or create) the name, receive and log until
 * everything has come. */
static int consumer(void *arg)
{
	unsigned char buf[MAXLEN];
	struct ipk_mpsc_stats st;
	ipk_mpsc *c;
	uint64_t want = (uint64_t)PRODUCERS * COUNT + 10;

	(void)arg;
	T_SYS(prctl(PR_SET_PDEATHSIG, SIGKILL));
	T_OK(ipk_mpsc_create(name, NULL, &c));
	T_OK(ipk_mpsc_stats(c, &st));
	atomic_store(&lg->epoch_seen, st.epoch);
	memset(lg->last, 0, sizeof(lg->last));
	while (atomic_load(&lg->total) < want) {
		ssize_t n = ipk_mpsc_recv(c, buf, sizeof(buf), NULL, MT_TIMEOUT);
		uint64_t who, seq;

		if (n < 0) {
			T_OK(ipk_mpsc_stats(c, &st));
			fprintf(stderr,
				"total %llu epoch %llu producers %llu joined %llu left %llu "
				"refused %llu broken %llu\n",
				(unsigned long long)atomic_load(&lg->total),
				(unsigned long long)st.epoch, (unsigned long long)st.producers,
				(unsigned long long)st.joined, (unsigned long long)st.left,
				(unsigned long long)st.refused, (unsigned long long)st.broken);
			for (int w = 0; w <= PRODUCERS; w++)
				fprintf(stderr, "  %d: last %llu\n", w,
					(unsigned long long)lg->last[w]);
		}
		T_OK(n);
		seq = mt_check(buf, (size_t)n, &who);
		T_TRUE(who <= PRODUCERS && seq < COUNT);
		/* In order within one consumer's life (the first one of a
		 * producer after a takeover may repeat one: counted below). */
		if (lg->last[who])
			T_EQ(seq, lg->last[who]);
		lg->last[who] = seq + 1;
		if (lg->got[who][seq]++)
			lg->dups++;
		else
			atomic_fetch_add(&lg->total, 1);
	}
	ipk_mpsc_close(c);
	return 0;
}

int main(void)
{
	pid_t pids[PRODUCERS], idle, c1, c2;
	int status;

	mt_name(name, sizeof(name), "restart");
	mt_step_init(&idle_sent);
	mt_step_init(&idle_poll);
	lg = mmap(NULL, sizeof(*lg), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	T_TRUE(lg != MAP_FAILED);

	c1 = t_fork(consumer, NULL);
	for (int64_t end = mt_now() + MT_TIMEOUT; atomic_load(&lg->epoch_seen) != 1;)
		T_TRUE(mt_now() < end);
	idle = t_fork(idle_producer, NULL);
	for (int i = 0; i < PRODUCERS; i++)
		pids[i] = t_fork(producer, (void *)(uintptr_t)i);
	/* Kill it in the middle of the stream. */
	for (int64_t end = mt_now() + MT_TIMEOUT; atomic_load(&lg->total) < (uint64_t)COUNT;)
		T_TRUE(mt_now() < end);
	T_SYS(kill(c1, SIGKILL));
	T_EQ(waitpid(c1, &status, 0), c1);
	T_TRUE(WIFSIGNALED(status));
	printf("consumer killed after %llu messages\n",
	       (unsigned long long)atomic_load(&lg->total));
	mt_signal(&idle_poll);
	mt_await(&idle_sent);
	c2 = t_fork(consumer, NULL);
	for (int64_t end = mt_now() + MT_TIMEOUT; atomic_load(&lg->epoch_seen) != 2;)
		T_TRUE(mt_now() < end);
	mt_signal(&idle_poll);
	for (int i = 0; i < PRODUCERS; i++)
		t_wait_exit(pids[i], 0);
	t_wait_exit(c2, 0);
	mt_signal(&idle_poll);
	t_wait_exit(idle, 0);
	for (int who = 0; who < PRODUCERS; who++)
		for (uint64_t seq = 0; seq < COUNT; seq++)
			T_TRUE(lg->got[who][seq] >= 1 && lg->got[who][seq] <= 2);
	for (int seq = 0; seq < 10; seq++)
		T_EQ(lg->got[PRODUCERS][seq], 1);
	T_TRUE(lg->dups <= 1);
	T_TRUE(!mt_exists(name));
	printf("restarted: all %d messages delivered, %llu twice\n", PRODUCERS * COUNT + 10,
	       (unsigned long long)lg->dups);
	return 0;
}
