/* SPDX-License-Identifier: MIT */
/*
 * tests/notify/event.c - eventfd counters: counter and semaphore modes,
 * timeouts, overflow, and a wake-up across fork.
 */
#include <poll.h>

#include "../harness.h"

static int waiter(void *arg)
{
	uint64_t v;

	T_OK(ipk_event_wait(arg, 10 * IPK_SEC, &v));
	return v == 42 ? 0 : 1;
}

int main(void)
{
	ipk_event *ev;
	uint64_t v;
	int i;

	T_EQ(ipk_event_new(0x80, &ev), -EINVAL);

	T_OK(ipk_event_new(0, &ev));
	T_EQ(ipk_event_wait(ev, 0, &v), -EAGAIN);
	T_EQ(ipk_event_wait(ev, 20 * IPK_MSEC, &v), -ETIMEDOUT);
	T_EQ(ipk_event_signal(ev, 0), -EINVAL);
	T_EQ(ipk_event_signal(ev, UINT64_MAX), -EINVAL);
	T_OK(ipk_event_signal(ev, 3));
	T_OK(ipk_event_signal(ev, 4));
	T_OK(ipk_event_wait(ev, 0, &v));
	T_EQ(v, 7); /* counter mode: all of it at once */
	T_EQ(ipk_event_wait(ev, 0, &v), -EAGAIN);
	/* Full counter: the adder is told, not blocked. */
	T_OK(ipk_event_signal(ev, UINT64_MAX - 1));
	T_EQ(ipk_event_signal(ev, 1), -EAGAIN);
	T_OK(ipk_event_wait(ev, 0, NULL));

	/* Across fork: the child sleeps in the wait, the parent wakes it. */
	pid_t c = t_fork(waiter, ev);
	T_OK(ipk_event_signal(ev, 42));
	t_wait_exit(c, 0);
	ipk_event_free(ev);

	/* Semaphore mode: one unit per wait. */
	T_OK(ipk_event_new(IPK_EVENT_SEMAPHORE, &ev));
	T_OK(ipk_event_signal(ev, 3));
	for (i = 0; i < 3; i++) {
		struct pollfd p = { ipk_event_fd(ev), POLLIN, 0 };

		T_EQ(poll(&p, 1, 0), 1);
		T_OK(ipk_event_wait(ev, 0, &v));
		T_EQ(v, 1);
	}
	T_EQ(ipk_event_wait(ev, 0, &v), -EAGAIN);
	ipk_event_free(ev);
	ipk_event_free(NULL);
	return 0;
}
