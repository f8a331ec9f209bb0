/* SPDX-License-Identifier: MIT */
/*
 * tests/sync/synct.h - helpers for the synchronisation tests: a shared
 * anonymous mapping that forked children inherit, per-process names,
 * deaths by signal, and bounded waits for a flag another process sets.
 */
#ifndef IPCKIT_TESTS_SYNCT_H
#define IPCKIT_TESTS_SYNCT_H

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <ipckit/mutex.h>

#include "../harness.h"

/*
 * Whether the kernel keeps robust lists here. An emulator may not (qemu-user
 * does not walk a list in guest memory when a thread dies); there
 * ipk_mutex_init() must refuse with -EOPNOTSUPP rather than offer a mutex
 * whose holder's death would hang its waiters - checked here.
 */
static inline bool synct_robust_lists(void)
{
	unsigned char mem[IPK_MUTEX_SIZE] __attribute__((aligned(IPK_MUTEX_ALIGN)));
	ipk_mutex *m;
	void *head;
	size_t len;

	if (syscall(SYS_get_robust_list, 0, &head, &len) == 0 || errno != ENOSYS)
		return true;
	T_EQ(ipk_mutex_init(mem, sizeof(mem), 0, &m), -EOPNOTSUPP);
	return false;
}

#define SYNCT_NO_ROBUST                                                      \
	"the kernel keeps no robust lists here (get_robust_list: ENOSYS; "   \
	"qemu-user?), so a holder's death cannot be told: ipk_mutex_init() " \
	"refuses with EOPNOTSUPP, as it must"

/* A skip (with the reason) where there are no robust lists. */
static inline void synct_need_robust_lists(void)
{
	if (!synct_robust_lists())
		T_SKIP("%s", SYNCT_NO_ROBUST);
}

/* @size bytes of zeroed MAP_SHARED memory, inherited across fork(). */
static inline void *synct_shared(size_t size)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		T_FAIL("mmap %zu: %s", size, strerror(errno));
	return p;
}

static inline int64_t synct_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Wait for @pid and assert that signal @sig killed it. */
static inline void synct_wait_signal(pid_t pid, int sig)
{
	int st;

	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			T_FAIL("waitpid: %s", strerror(errno));
	if (!WIFSIGNALED(st))
		T_FAIL("child %d: exit %d, want death by signal %d", (int)pid,
		       WIFEXITED(st) ? WEXITSTATUS(st) : -1, sig);
	T_EQ(WTERMSIG(st), sig);
}

/* Spin (yielding) until *@p == @want, for at most 10 s. */
static inline void synct_await(_Atomic uint32_t *p, uint32_t want)
{
	int64_t t0 = synct_now_ns();

	while (atomic_load_explicit(p, memory_order_acquire) != want) {
		if (synct_now_ns() - t0 > 10 * (int64_t)1000000000)
			T_FAIL("waited 10 s for %u, have %u", want,
			       atomic_load_explicit(p, memory_order_relaxed));
		sched_yield();
	}
}

/* Wait (10 s at most) until @pid sleeps in the kernel (state S in
 * /proc/PID/stat), e.g. blocked in a lock it asked for. */
static inline void synct_await_asleep(pid_t pid)
{
	int64_t t0 = synct_now_ns();
	char path[64], buf[512], *p;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	for (;;) {
		FILE *f = fopen(path, "r");
		size_t n = f ? fread(buf, 1, sizeof(buf) - 1, f) : 0;

		if (f)
			fclose(f);
		buf[n] = 0;
		p = strrchr(buf, ')'); /* the name may hold spaces and parentheses */
		if (p && p[1] == ' ' && p[2] == 'S')
			return;
		if (synct_now_ns() - t0 > 10 * (int64_t)1000000000)
			T_FAIL("process %d never went to sleep", (int)pid);
		sched_yield();
	}
}

/* Round count of a crash test: @env if set (soak runs), else @dflt. */
static inline unsigned synct_rounds(const char *env, unsigned dflt)
{
	const char *s = getenv(env);
	char *end;
	unsigned long v;

	if (!s || !*s)
		return dflt;
	v = strtoul(s, &end, 10);
	if (*end || v == 0 || v > 10000000)
		T_FAIL("%s=%s: want a count from 1 to 10000000", env, s);
	return (unsigned)v;
}

/* A small fast PRNG (xorshift), seeded per test and printed for replay. */
static inline uint32_t synct_rand(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return (uint32_t)(*s >> 16);
}

static inline uint64_t synct_seed(void)
{
	const char *s = getenv("IPK_SYNC_SEED");
	uint64_t seed = s ? strtoull(s, NULL, 0) : (uint64_t)synct_now_ns() ^ (uint64_t)getpid();

	if (!seed)
		seed = 1;
	fprintf(stderr, "seed: IPK_SYNC_SEED=%llu\n", (unsigned long long)seed);
	return seed;
}

#endif /* IPCKIT_TESTS_SYNCT_H */
