/* SPDX-License-Identifier: MIT */
/*
 * tests/notify/timer.c - timerfd: one-shot and periodic, relative and
 * absolute, the three clocks, missed expirations, and bad settings.
 */
#include <time.h>

#include "../harness.h"

static int64_t now(clockid_t c)
{
	struct timespec ts;

	clock_gettime(c, &ts);
	return (int64_t)ts.tv_sec * IPK_SEC + ts.tv_nsec;
}

static void nap(int64_t ns)
{
	struct timespec ts = { (time_t)(ns / IPK_SEC), (long)(ns % IPK_SEC) };

	while (nanosleep(&ts, &ts) < 0)
		;
}

int main(void)
{
	clockid_t clocks[] = { CLOCK_MONOTONIC, CLOCK_REALTIME, CLOCK_BOOTTIME };
	ipk_timer *t;
	uint64_t n;
	int64_t t0;
	size_t i;

	T_EQ(ipk_timer_new(CLOCK_PROCESS_CPUTIME_ID, &t), -EINVAL);
	T_EQ(ipk_timer_new(CLOCK_MONOTONIC, NULL), -EINVAL);

	for (i = 0; i < 3; i++) {
		T_OK(ipk_timer_new(clocks[i], &t));
		/* Negative or zero: refused. */
		T_EQ(ipk_timer_once(t, 0, 0), -EINVAL);
		T_EQ(ipk_timer_once(t, -5, 0), -EINVAL);
		T_EQ(ipk_timer_every(t, 0, 0, 0), -EINVAL);
		T_EQ(ipk_timer_every(t, 0, -IPK_MSEC, 0), -EINVAL);
		T_EQ(ipk_timer_every(t, -1, IPK_MSEC, 0), -EINVAL);
		T_EQ(ipk_timer_every(t, 0, IPK_MSEC, IPK_TIMER_ABS), -EINVAL);
		T_EQ(ipk_timer_once(t, IPK_MSEC, 0x10), -EINVAL);

		/* Relative one-shot. */
		t0 = now(CLOCK_MONOTONIC);
		T_OK(ipk_timer_once(t, 30 * IPK_MSEC, 0));
		T_EQ(ipk_timer_wait(t, 0, &n), -EAGAIN);
		T_OK(ipk_timer_wait(t, 5 * IPK_SEC, &n));
		T_EQ(n, 1);
		T_TRUE(now(CLOCK_MONOTONIC) - t0 >= 30 * IPK_MSEC);
		T_EQ(ipk_timer_wait(t, 50 * IPK_MSEC, &n), -ETIMEDOUT); /* once only */

		/* Absolute one-shot on this clock. */
		int64_t at = now(clocks[i]) + 30 * IPK_MSEC;

		T_OK(ipk_timer_once(t, at, IPK_TIMER_ABS));
		T_OK(ipk_timer_wait(t, 5 * IPK_SEC, &n));
		T_EQ(n, 1);
		T_TRUE(now(clocks[i]) >= at);

		/* Periodic, read late: the missed periods are counted. */
		T_OK(ipk_timer_every(t, 0, 10 * IPK_MSEC, 0));
		nap(105 * IPK_MSEC);
		T_OK(ipk_timer_wait(t, 0, &n));
		T_TRUE(n >= 10);
		T_OK(ipk_timer_wait(t, 5 * IPK_SEC, &n)); /* and it goes on */
		T_TRUE(n >= 1);

		/* Disarmed: nothing more. */
		T_OK(ipk_timer_disarm(t));
		T_EQ(ipk_timer_wait(t, 40 * IPK_MSEC, &n), -ETIMEDOUT);
		ipk_timer_free(t);
	}
	ipk_timer_free(NULL);
	return 0;
}
