/* SPDX-License-Identifier: MIT */
/*
 * basic.c - ipk_mpsc end to end: one producer in the consumer's process
 * (who sent it, sizes, -EMSGSIZE on both sides, -EAGAIN), then four forked
 * producers streaming messages of varying lengths through small lanes
 * (many laps, PAD records): every message whole, each producer's in order
 * and complete, attributed to its process; producers that close are
 * forgotten once drained; a closed consumer is -EPIPE to its producers
 * and leaves no name behind. A consumer's spin_ns spins once per receive
 * and then sleeps.
 */
#include <sys/resource.h>

#include "mpsct.h"

#define PRODUCERS 4
#define COUNT 20000
#define MAXLEN 300

static char name[64];

static int producer(void *arg)
{
	struct ipk_mpsc_prod_opts po = { .capacity = 8192 };
	uint64_t who = (uint64_t)(uintptr_t)arg;
	unsigned char buf[MAXLEN];
	ipk_mpsc_prod *p;

	T_SYS(prctl(PR_SET_PDEATHSIG, SIGKILL));
	T_OK(ipk_mpsc_connect(name, &po, MT_TIMEOUT, &p));
	for (uint64_t seq = 0; seq < COUNT; seq++) {
		size_t len = mt_len(seq + who, MAXLEN);

		mt_fill(buf, len, who, seq);
		T_OK(ipk_mpsc_send(p, buf, len, MT_TIMEOUT));
	}
	ipk_mpsc_prod_close(p);
	return 0;
}

static void in_process(void)
{
	struct ipk_mpsc_prod_opts po = { .capacity = 4096, .max_msg = 100 };
	struct ipk_mpsc_from from;
	struct ipk_mpsc_stats st;
	unsigned char buf[200], small[4];
	ipk_mpsc_prod *p;
	ipk_mpsc *c;

	T_OK(ipk_mpsc_create(name, NULL, &c));
	T_EQ(ipk_mpsc_create(name, NULL, &(ipk_mpsc *){ NULL }), -EBUSY);
	T_EQ(ipk_mpsc_create(name, &(struct ipk_mpsc_opts){ .flags = IPK_MPSC_EXCL },
			     &(ipk_mpsc *){ NULL }),
	     -EEXIST);
	T_OK(ipk_mpsc_connect(name, &po, 0, &p)); /* admitted in our first receive */
	T_EQ(ipk_mpsc_prod_max_msg(p), 100);
	T_EQ(ipk_mpsc_send(p, buf, 101, 0), -EMSGSIZE);
	T_EQ(ipk_mpsc_recv(c, buf, sizeof(buf), &from, 0), -EAGAIN);
	T_OK(ipk_mpsc_send(p, "hello", 5, 0));
	T_OK(ipk_mpsc_send(p, "", 0, 0));
	T_EQ(ipk_mpsc_recv(c, small, sizeof(small), &from, 0), -EMSGSIZE);
	T_EQ(ipk_mpsc_msg_len(c), 5);
	memset(&from, 0, sizeof(from));
	T_EQ(ipk_mpsc_recv(c, buf, sizeof(buf), &from, 0), 5);
	T_MEMEQ(buf, "hello", 5);
	T_EQ(from.pid, getpid());
	T_EQ(from.uid, geteuid());
	T_EQ(from.gid, getegid());
	T_EQ(from.producer, 1);
	T_EQ(from.seq, 0);
	T_EQ(ipk_mpsc_recv(c, buf, sizeof(buf), &from, 0), 0);
	T_EQ(from.seq, 1);
	T_EQ(ipk_mpsc_recv(c, buf, sizeof(buf), NULL, 0), -EAGAIN);
	T_EQ(ipk_mpsc_recv(c, buf, sizeof(buf), NULL, 20 * IPK_MSEC), -ETIMEDOUT);
	T_OK(ipk_mpsc_stats(c, &st));
	T_EQ(st.delivered, 2);
	T_EQ(st.producers, 1);
	T_EQ(st.joined, 1);
	T_EQ(st.epoch, 1);
	T_OK(ipk_mpsc_prod_poll(p));
	ipk_mpsc_close(c);
	T_TRUE(!mt_exists(name));
	T_EQ(ipk_mpsc_send(p, "x", 1, 0), -EPIPE);
	T_EQ(ipk_mpsc_prod_poll(p), -EPIPE);
	ipk_mpsc_prod_close(p);
	printf("in one process: sizes, errors and who sent it\n");
}

static int64_t cpu_ns(void)
{
	struct rusage ru;

	T_SYS(getrusage(RUSAGE_SELF, &ru));
	return ((int64_t)ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * IPK_SEC +
	       ((int64_t)ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * IPK_USEC;
}

/* spin_ns spins once per receive, then sleeps: a 300 ms receive with
 * spin_ns 30 ms burns far less than 300 ms of CPU (it can only burn less
 * on a loaded machine, never more). */
static void spin_then_sleep(void)
{
	unsigned char buf[8];
	ipk_mpsc *c;
	int64_t t0;

	T_OK(ipk_mpsc_create(name, &(struct ipk_mpsc_opts){ .spin_ns = 30 * IPK_MSEC }, &c));
	t0 = cpu_ns();
	T_EQ(ipk_mpsc_recv(c, buf, sizeof(buf), NULL, 300 * IPK_MSEC), -ETIMEDOUT);
	t0 = cpu_ns() - t0;
	T_TRUE(t0 < 200 * IPK_MSEC);
	ipk_mpsc_close(c);
	printf("spin_ns 30 ms, 300 ms receive: %.0f ms of CPU\n", (double)t0 / 1e6);
}

static void bad_arguments(void)
{
	ipk_mpsc_prod *p;
	ipk_mpsc *c;

	T_EQ(ipk_mpsc_create("noslash", NULL, &c), -EINVAL);
	T_EQ(ipk_mpsc_create("/a/b", NULL, &c), -EINVAL);
	T_EQ(ipk_mpsc_create(NULL, NULL, &c), -EINVAL);
	T_EQ(ipk_mpsc_connect(name, &(struct ipk_mpsc_prod_opts){ .capacity = 5000 }, 0, &p),
	     -EINVAL);
	T_EQ(ipk_mpsc_connect(name,
			      &(struct ipk_mpsc_prod_opts){ .capacity = 4096, .max_msg = 2048 }, 0,
			      &p),
	     -EINVAL);
	T_EQ(ipk_mpsc_connect(name, NULL, 0, &p), -ENOENT);
}

int main(void)
{
	struct ipk_mpsc_stats st;
	uint64_t next[PRODUCERS] = { 0 };
	pid_t pids[PRODUCERS];
	unsigned char buf[MAXLEN];
	uint64_t total = 0;
	ipk_mpsc *c;

	mt_name(name, sizeof(name), "basic");
	bad_arguments();
	in_process();
	spin_then_sleep();

	T_OK(ipk_mpsc_create(name, NULL, &c));
	for (int i = 0; i < PRODUCERS; i++)
		pids[i] = t_fork(producer, (void *)(uintptr_t)i);
	while (total < (uint64_t)PRODUCERS * COUNT) {
		struct ipk_mpsc_from from;
		ssize_t n = ipk_mpsc_recv(c, buf, sizeof(buf), &from, MT_TIMEOUT);
		uint64_t who, seq;

		T_OK(n);
		seq = mt_check(buf, (size_t)n, &who);
		T_TRUE(who < PRODUCERS);
		T_EQ(seq, next[who]);
		T_EQ(from.seq, seq);
		T_EQ(from.pid, pids[who]);
		T_EQ(n, mt_len(seq + who, MAXLEN));
		next[who]++;
		total++;
	}
	for (int i = 0; i < PRODUCERS; i++)
		t_wait_exit(pids[i], 0);
	/* They closed: forgotten once their lanes are drained. */
	for (int64_t end = mt_now() + MT_TIMEOUT;;) {
		T_EQ(ipk_mpsc_recv(c, buf, sizeof(buf), NULL, 20 * IPK_MSEC), -ETIMEDOUT);
		T_OK(ipk_mpsc_stats(c, &st));
		if (st.producers == 0 || mt_now() > end)
			break;
	}
	T_EQ(st.producers, 0);
	T_EQ(st.left, PRODUCERS);
	T_EQ(st.joined, PRODUCERS);
	T_EQ(st.skipped, 0);
	T_EQ(st.delivered, total);
	ipk_mpsc_close(c);
	T_TRUE(!mt_exists(name));
	printf("%d producers x %d messages: all whole, in order, attributed\n", PRODUCERS, COUNT);
	return 0;
}
