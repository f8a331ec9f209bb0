/* SPDX-License-Identifier: MIT */
/*
 * bench.c - bench-ring: a measurement, not a test (not installed, not run
 * by meson test). Two processes pinned to CPUs 0 and 1:
 *   1. raw shared-memory spin ping-pong of 64 bytes (the hardware limit),
 *   2. ring ping-pong: two rings, each side publishes 64 bytes and
 *      spin-receives the answer (IPK_RING_SPIN),
 * round trip p50/p99 of each, in the same run; then
 *   3. one-way ring throughput at 64 bytes, the subscriber reading every
 *      byte (it checks the sequence number in each message).
 * Usage: bench-ring [ROUNDS]   (default 200000 round trips)
 */
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/prctl.h>

#include "ringt.h"

#define MSG 64

static long rounds = 200000;

static void pin(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set) < 0)
		fprintf(stderr, "bench-ring: cannot pin to CPU %d: %s\n", cpu, strerror(errno));
}

static int cmp64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

static void report(const char *what, int64_t *rt, long n)
{
	qsort(rt, (size_t)n, sizeof(*rt), cmp64);
	printf("%-28s p50 %6lld ns   p99 %6lld ns\n", what, (long long)rt[n / 2],
	       (long long)rt[n * 99 / 100]);
	fflush(stdout); /* before the next fork() */
}

/* 1. raw: one cache line each way holding a counter and the payload */
struct raw_line {
	_Alignas(64) _Atomic uint64_t seq;
	unsigned char payload[MSG - 8];
};

static void raw_pingpong(int64_t *rt)
{
	struct raw_line *l =
		mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	pid_t pid;

	T_TRUE(l != MAP_FAILED);
	pid = fork();
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		pin(1);
		for (uint64_t i = 1; i <= (uint64_t)rounds + 1000; i++) {
			while (atomic_load_explicit(&l[0].seq, memory_order_acquire) != i)
				;
			memcpy(l[1].payload, l[0].payload, sizeof(l[0].payload));
			atomic_store_explicit(&l[1].seq, i, memory_order_release);
		}
		_exit(0);
	}
	pin(0);
	for (uint64_t i = 1; i <= (uint64_t)rounds + 1000; i++) {
		int64_t t0 = rt_now();

		memset(l[0].payload, (int)i, sizeof(l[0].payload));
		atomic_store_explicit(&l[0].seq, i, memory_order_release);
		while (atomic_load_explicit(&l[1].seq, memory_order_acquire) != i)
			;
		if (i > 1000)
			rt[i - 1001] = rt_now() - t0;
	}
	t_wait_exit(pid, 0);
	munmap(l, 4096);
}

static char ping[64], pong[64];

static void ring_pingpong(int64_t *rt)
{
	struct ipk_ring_sub_opts spin = { .flags = IPK_RING_SPIN };
	struct ipk_ring_opts o = { .capacity = 1 << 16 };
	unsigned char buf[MSG];
	struct rt_step ready;
	ipk_ring_sub *s;
	ipk_ring *r;
	pid_t pid;

	rt_name(ping, sizeof(ping), "bping");
	rt_name(pong, sizeof(pong), "bpong");
	rt_step_init(&ready);
	T_OK(ipk_ring_create(ping, &o, &r));
	pid = fork();
	if (pid == 0) {
		ipk_ring *r2;
		ipk_ring_sub *s2;

		prctl(PR_SET_PDEATHSIG, SIGKILL);
		pin(1);
		T_OK(ipk_ring_create(pong, &o, &r2));
		T_OK(ipk_ring_open(ping, &spin, &s2));
		rt_signal(&ready);
		for (long i = 0; i < rounds + 1000; i++) {
			T_EQ(ipk_ring_recv(s2, buf, sizeof(buf), RT_TIMEOUT), MSG);
			T_OK(ipk_ring_publish(r2, buf, MSG));
		}
		T_EQ(ipk_ring_recv(s2, buf, sizeof(buf), RT_TIMEOUT), -EPIPE);
		ipk_ring_sub_close(s2);
		ipk_ring_close(r2);
		_exit(0);
	}
	pin(0);
	rt_await(&ready);
	T_OK(ipk_ring_open(pong, &spin, &s));
	memset(buf, 7, sizeof(buf));
	for (long i = 0; i < rounds + 1000; i++) {
		int64_t t0 = rt_now();

		T_OK(ipk_ring_publish(r, buf, MSG));
		T_EQ(ipk_ring_recv(s, buf, sizeof(buf), RT_TIMEOUT), MSG);
		if (i >= 1000)
			rt[i - 1000] = rt_now() - t0;
	}
	ipk_ring_close(r);
	t_wait_exit(pid, 0);
	ipk_ring_sub_close(s);
}

static void throughput(void)
{
	struct ipk_ring_sub_opts spin = { .flags = IPK_RING_SPIN };
	struct ipk_ring_opts o = { .capacity = 1 << 22 };
	const uint64_t n = 20000000;
	unsigned char buf[MSG] = { 0 };
	struct rt_step ready, done;
	char name[64];
	ipk_ring *r;
	int64_t t0;
	pid_t pid;

	rt_name(name, sizeof(name), "btput");
	rt_step_init(&ready);
	rt_step_init(&done);
	T_OK(ipk_ring_create(name, &o, &r));
	pid = fork();
	if (pid == 0) {
		uint64_t got = 0, sum = 0, seq;
		ipk_ring_sub *s;
		ssize_t len;

		prctl(PR_SET_PDEATHSIG, SIGKILL);
		pin(1);
		T_OK(ipk_ring_open(name, &spin, &s));
		rt_signal(&ready);
		while ((len = ipk_ring_recv(s, buf, sizeof(buf), RT_TIMEOUT)) == MSG) {
			memcpy(&seq, buf, 8);
			sum += seq;
			got++;
		}
		T_EQ(len, -EPIPE);
		printf("one-way 64 B: subscriber received %llu, lost %llu\n",
		       (unsigned long long)got, (unsigned long long)ipk_ring_lost(s));
		fflush(stdout);
		(void)sum;
		ipk_ring_sub_close(s);
		_exit(0);
	}
	pin(0);
	rt_await(&ready);
	t0 = rt_now();
	for (uint64_t i = 1; i <= n; i++) {
		memcpy(buf, &i, 8);
		T_OK(ipk_ring_publish(r, buf, MSG));
	}
	double secs = (double)(rt_now() - t0) / 1e9;

	printf("one-way 64 B: published %.1f M msg/s\n", (double)n / secs / 1e6);
	fflush(stdout);
	ipk_ring_close(r);
	t_wait_exit(pid, 0);
}

int main(int argc, char **argv)
{
	int64_t *rt;

	if (argc > 1)
		rounds = atol(argv[1]);
	rt = calloc((size_t)rounds, sizeof(*rt));
	T_TRUE(rt);
	raw_pingpong(rt);
	report("raw shm spin ping-pong 64 B", rt, rounds);
	ring_pingpong(rt);
	report("ring spin ping-pong 64 B", rt, rounds);
	throughput();
	free(rt);
	return 0;
}
