/* SPDX-License-Identifier: MIT */
/*
 * bench/util.c - small helpers the row modules share (see bench.h).
 */
#include <errno.h>
#include <poll.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>
#include <sys/mman.h>

#include "bench.h"

int64_t bench_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int64_t bench_deadline(int64_t timeout_ns)
{
	if (timeout_ns < 0)
		return INT64_MAX;
	return bench_now_ns() + timeout_ns;
}

void bench_spin(unsigned *spins)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ __volatile__("yield");
#endif
	if (++*spins % 4096 != 0)
		return;
	/* The peer should have answered long ago: it is not running. Let it
	 * have this CPU; after many rounds (CPUs shared with other work),
	 * sleep a little so that it really does. */
	if (*spins < 4096u * 64)
		sched_yield();
	else
		nanosleep(&(struct timespec){ 0, 20000 }, NULL);
}

int bench_neg_errno(void)
{
	return errno > 0 ? -errno : -EIO;
}

int bench_wait_fd(int fd, short events, int64_t deadline_ns)
{
	for (;;) {
		struct pollfd p = { .fd = fd, .events = events };
		int64_t left = deadline_ns == INT64_MAX ? -1 : deadline_ns - bench_now_ns();
		int ms, r;

		if (deadline_ns != INT64_MAX && left <= 0)
			return -ETIMEDOUT;
		ms = left < 0 ? -1 : (int)((left + 999999) / 1000000);
		r = poll(&p, 1, ms);
		if (r > 0)
			return 0;
		if (r < 0 && errno != EINTR)
			return bench_neg_errno();
	}
}

void bench_ring_unlink(const char *name)
{
	static const char *const suffix[] = { "", "-bell", "-cons" };
	char buf[256];

	for (size_t i = 0; i < sizeof(suffix) / sizeof(suffix[0]); i++) {
		snprintf(buf, sizeof(buf), "%s%s", name, suffix[i]);
		(void)shm_unlink(buf);
	}
}

int bench_write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n > 0) {
			p += n;
			len -= (size_t)n;
		} else if (n == 0) {
			return -EIO;
		} else if (errno != EINTR) {
			return bench_neg_errno();
		}
	}
	return 0;
}

int bench_read_all(int fd, void *buf, size_t len)
{
	char *p = buf;

	while (len > 0) {
		ssize_t n = read(fd, p, len);

		if (n > 0) {
			p += n;
			len -= (size_t)n;
		} else if (n == 0) {
			return -EPIPE;
		} else if (errno != EINTR) {
			return bench_neg_errno();
		}
	}
	return 0;
}

int bench_na(const struct bench_env *env, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(env->why, BENCH_WHY_MAX, fmt, ap);
	va_end(ap);
	return BENCH_NA;
}
