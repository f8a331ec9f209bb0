/* SPDX-License-Identifier: MIT */
/*
 * fairness.c - a measurement, not a test: N producers into one consumer,
 * 64-byte messages, lossless, for what bench's two sides cannot show.
 * The consumer (spinning) runs on the first CPU, the producers share the
 * second; with --spread the consumer sleeps when it has nothing and the
 * scheduler places everyone.
 * For each N it prints the messages per second of all producers together,
 * each producer's share of the window, and the ratio of the least served
 * to the most served (1.0: perfectly fair), and checks that every message
 * sent arrived, in order per producer.
 *
 * Usage: build-dir/tests/mpsc/mpsc-fairness [--seconds S] [--spread] [N...]
 *        (default: 1 2 8 producers, 1 s each)
 */
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>

#include "../harness.h"

#define MAXP 64
#define LEN 64

struct shared {
	_Atomic int go, stop;
	_Atomic uint64_t sent[MAXP];
	_Atomic int done[MAXP];
};

static struct shared *sh;
static char name[64];

static void pin(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	(void)sched_setaffinity(0, sizeof(set), &set);
}

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * IPK_SEC + ts.tv_nsec;
}

static int producer(int i, int cpu)
{
	unsigned char buf[LEN] = { 0 };
	ipk_mpsc_prod *p;
	uint64_t n = 0;

	(void)prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (cpu >= 0)
		pin(cpu);
	T_OK(ipk_mpsc_connect(name, NULL, 0, &p));
	while (!atomic_load(&sh->go))
		;
	while (!atomic_load_explicit(&sh->stop, memory_order_relaxed)) {
		int r = ipk_mpsc_send(p, buf, LEN, 50 * IPK_MSEC);

		if (r == -ETIMEDOUT)
			continue;
		T_OK(r);
		n++;
	}
	atomic_store(&sh->sent[i], n);
	ipk_mpsc_prod_close(p);
	atomic_store(&sh->done[i], 1);
	return 0;
}

static void run(int n, double seconds, bool spread)
{
	uint64_t got[MAXP + 1] = { 0 }, inwin[MAXP + 1] = { 0 }, next[MAXP + 1] = { 0 };
	struct ipk_mpsc_opts co = { .flags = spread ? 0 : IPK_MPSC_SPIN };
	unsigned char buf[LEN];
	struct ipk_mpsc_from from;
	pid_t pids[MAXP];
	int64_t t0, t1;
	uint64_t total = 0, win = 0, lo = UINT64_MAX, hi = 0, sent = 0;
	ipk_mpsc *c;

	memset(sh, 0, sizeof(*sh));
	T_OK(ipk_mpsc_create(name, &co, &c));
	for (int i = 0; i < n; i++) {
		pids[i] = fork();
		T_TRUE(pids[i] >= 0);
		if (pids[i] == 0)
			_exit(producer(i, spread ? -1 : 1));
	}
	/* admit them all */
	for (int64_t end = now_ns() + 10 * IPK_SEC;;) {
		struct ipk_mpsc_stats st;

		T_EQ(ipk_mpsc_recv(c, buf, sizeof(buf), NULL, IPK_MSEC), -ETIMEDOUT);
		T_OK(ipk_mpsc_stats(c, &st));
		if (st.producers == (uint64_t)n)
			break;
		T_TRUE(now_ns() < end);
	}
	atomic_store(&sh->go, 1);
	t0 = now_ns();
	t1 = t0 + (int64_t)(seconds * 1e9);
	for (;;) {
		ssize_t r = ipk_mpsc_recv(c, buf, sizeof(buf), &from, 0);

		if (r == LEN) {
			T_TRUE(from.producer <= MAXP);
			T_EQ(from.seq, next[from.producer]);
			next[from.producer]++;
			got[from.producer]++;
			total++;
			if ((total & 1023) == 0 && now_ns() >= t1 && !atomic_load(&sh->stop)) {
				memcpy(inwin, got, sizeof(got));
				win = total;
				t1 = now_ns();
				atomic_store(&sh->stop, 1);
			}
			continue;
		}
		T_EQ(r, -EAGAIN);
		if (atomic_load(&sh->stop)) {
			int all = 1;

			for (int i = 0; i < n; i++)
				all &= atomic_load(&sh->done[i]);
			if (all) {
				/* drained? one more look after they all closed */
				if (ipk_mpsc_recv(c, buf, sizeof(buf), &from, 20 * IPK_MSEC) ==
				    -ETIMEDOUT)
					break;
				next[from.producer]++;
				got[from.producer]++;
				total++;
			}
		} else if (now_ns() >= t1) {
			memcpy(inwin, got, sizeof(got));
			win = total;
			t1 = now_ns();
			atomic_store(&sh->stop, 1);
		}
	}
	for (int i = 0; i < n; i++) {
		int st;

		T_EQ(waitpid(pids[i], &st, 0), pids[i]);
		T_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0);
		sent += atomic_load(&sh->sent[i]);
	}
	T_EQ(total, sent); /* lossless */
	for (int k = 1; k <= n; k++) {
		lo = inwin[k] < lo ? inwin[k] : lo;
		hi = inwin[k] > hi ? inwin[k] : hi;
	}
	printf("%2d producer%s: %6.2f M msg/s together, per producer %.2f .. %.2f M/s, "
	       "least/most served %.2f, %llu sent = %llu received\n",
	       n, n == 1 ? " " : "s", (double)win / ((double)(t1 - t0) / 1e9) / 1e6,
	       (double)lo / ((double)(t1 - t0) / 1e9) / 1e6,
	       (double)hi / ((double)(t1 - t0) / 1e9) / 1e6, hi ? (double)lo / (double)hi : 0.0,
	       (unsigned long long)sent, (unsigned long long)total);
	ipk_mpsc_close(c);
}

int main(int argc, char **argv)
{
	double seconds = 1.0;
	bool spread = false;
	int counts[16], nc = 0;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--seconds") == 0 && i + 1 < argc)
			seconds = atof(argv[++i]);
		else if (strcmp(argv[i], "--spread") == 0)
			spread = true;
		else if (nc < 16 && atoi(argv[i]) >= 1 && atoi(argv[i]) <= MAXP)
			counts[nc++] = atoi(argv[i]);
		else {
			fprintf(stderr, "usage: %s [--seconds S] [--spread] [N...] (N 1..%d)\n",
				argv[0], MAXP);
			return 2;
		}
	}
	if (nc == 0) {
		counts[nc++] = 1;
		counts[nc++] = 2;
		counts[nc++] = 8;
	}
	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	T_TRUE(sh != MAP_FAILED);
	snprintf(name, sizeof(name), "/ipk-mpsc-fair-%d", (int)getpid());
	if (!spread)
		pin(0);
	printf("64-byte messages, %s\n",
	       spread ? "consumer sleeping when idle, everyone on any CPU"
		      : "consumer spinning on CPU 0, producers sharing CPU 1");
	for (int i = 0; i < nc; i++)
		run(counts[i], seconds, spread);
	return 0;
}
