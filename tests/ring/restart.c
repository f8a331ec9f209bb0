/* SPDX-License-Identifier: MIT */
/*
 * restart.c - a subscriber follows its publisher through 30 deaths
 * (kill -9) and restarts, with pauses from 0 to 500 ms between a death
 * and the next start: every publisher's messages arrive, none is lost,
 * each restart is -ECONNRESET exactly once, and a death noticed before
 * the restart is -EOWNERDEAD exactly once - never -EPIPE, which is kept
 * for a publisher that closes. With a blocking receive, and (10 restarts,
 * pauses up to 100 ms) with the pollable descriptor and timeout 0.
 */
#include <poll.h>
#include <signal.h>

#include "ringt.h"

#define PER_LIFE 3

static char name[64];
static struct rt_step up, first, opened;

static int publisher(void *arg)
{
	int life = (int)(intptr_t)arg;
	ipk_ring *r;

	T_OK(ipk_ring_create(name, NULL, &r));
	for (int k = 0; k < PER_LIFE; k++) {
		int v = life * PER_LIFE + k;

		T_OK(ipk_ring_publish(r, &v, sizeof(v)));
	}
	rt_signal(&up);
	pause(); /* until killed: never closes */
	return 1;
}

struct plan {
	int restarts;
	int64_t max_pause_ns;
};

/* Starts a publisher, kills it once it has published, pauses, starts the
 * next: @p->restarts times, pauses growing from 0 to @p->max_pause_ns. */
static int supervisor(void *arg)
{
	const struct plan *p = arg;
	pid_t pid = t_fork(publisher, (void *)(intptr_t)0);

	rt_await(&up);
	rt_signal(&first);
	rt_await(&opened); /* a subscriber opening later starts at the end */
	for (int life = 1; life <= p->restarts; life++) {
		int64_t ns = (int64_t)(life - 1) * p->max_pause_ns / (p->restarts - 1);
		struct timespec ts = { ns / IPK_SEC, ns % IPK_SEC };

		T_SYS(kill(pid, SIGKILL));
		T_SYS(waitpid(pid, NULL, 0));
		nanosleep(&ts, NULL); /* the pause between death and restart */
		pid = t_fork(publisher, (void *)(intptr_t)life);
		rt_await(&up);
	}
	T_SYS(kill(pid, SIGKILL));
	T_SYS(waitpid(pid, NULL, 0));
	return 0;
}

/* The next message, or the error; with @polled, through ipk_ring_fd(). */
static ssize_t next(ipk_ring_sub *s, int *v, bool polled)
{
	if (!polled)
		return ipk_ring_recv(s, v, sizeof(*v), RT_TIMEOUT);
	for (;;) {
		struct pollfd p = { .fd = ipk_ring_fd(s), .events = POLLIN };
		ssize_t n = ipk_ring_recv(s, v, sizeof(*v), 0);

		if (n != -EAGAIN)
			return n;
		T_EQ(poll(&p, 1, 10000), 1);
	}
}

/* The subscriber, meanwhile, waits in its receive through every death. */
static void follow(bool polled, int restarts, int64_t max_pause_ns)
{
	struct plan p = { restarts, max_pause_ns };
	int expect = 0, resets = 0, deaths = 0, v;
	bool dead = false;
	ipk_ring_sub *s;
	pid_t sup;
	char bell[80];

	rt_name(name, sizeof(name), polled ? "restart-poll" : "restart");
	sup = t_fork(supervisor, &p);
	rt_await(&first);
	T_OK(ipk_ring_open(name, NULL, &s));
	rt_signal(&opened);
	/* the first publisher's messages came before we opened */
	expect = PER_LIFE;
	while (expect < (restarts + 1) * PER_LIFE) {
		ssize_t n = next(s, &v, polled);

		if (n == -EOWNERDEAD) {
			T_TRUE(!dead); /* once per death */
			dead = true;
			deaths++;
			continue;
		}
		if (n == -ECONNRESET) {
			dead = false;
			resets++;
			continue;
		}
		T_EQ(n, (ssize_t)sizeof(v));
		T_EQ(v, expect);
		T_EQ(resets, expect / PER_LIFE);
		expect++;
	}
	t_wait_exit(sup, 0);
	T_EQ(resets, restarts);
	T_TRUE(deaths > 0 && deaths <= restarts);
	T_EQ(ipk_ring_lost(s), 0);
	ipk_ring_sub_close(s);
	T_SYS(shm_unlink(name));
	snprintf(bell, sizeof(bell), "%s-bell", name);
	T_SYS(shm_unlink(bell));
	printf("%s: %d restarts followed (pauses 0-%d ms; %d deaths seen while waiting), "
	       "%d messages, none lost\n",
	       polled ? "pollable fd" : "blocking receive", restarts,
	       (int)(max_pause_ns / IPK_MSEC), deaths, expect - PER_LIFE);
}

int main(void)
{
	rt_step_init(&up);
	rt_step_init(&first);
	rt_step_init(&opened);
	follow(false, 30, 500 * IPK_MSEC);
	follow(true, 10, 100 * IPK_MSEC);
	return 0;
}
