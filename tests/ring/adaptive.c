/* SPDX-License-Identifier: MIT */
/*
 * adaptive.c - adaptive waiting (IPK_RING_ADAPTIVE): a feed that changes
 * its pace - steady, bursts, pauses longer than a sleep slice - reaches
 * the adaptive subscriber whole, in order, nothing lost, every receive
 * within its (generous) timeout, and a pause does not keep it spinning
 * (it uses less than half the pause's CPU time); a subscriber that has
 * learned a slow steady feed and sleeps until the next message is due
 * sleeps on the doorbell, so a message that comes early wakes it (the
 * publisher pays a FUTEX_WAKE for it) and it gets it then, and its timed
 * sleeps leave the thread's timer slack as they found it; a queue's
 * consumer waits adaptively too and loses nothing; IPK_RING_ADAPTIVE
 * with IPK_RING_SPIN or spin_ns is -EINVAL.
 */
#include <signal.h>
#include <stdatomic.h>
#include <sys/prctl.h>
#include <sys/resource.h>

#include "ringt.h"
#include "ring_layout.h"

#define LEN 64
#define PAUSE_LEN 80 /* a message of this length: a pause follows */
#define PAUSE_MS 300
#define SLOW_MS 100 /* the slow steady feed's period */

static char name[64];
static struct rt_step ready, acks;
static const struct ipk_ring_sub_opts adaptive = { .flags = IPK_RING_ADAPTIVE };

static void sleep_ns(int64_t ns)
{
	struct timespec ts = { .tv_sec = ns / IPK_SEC, .tv_nsec = ns % IPK_SEC };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static void send_one(ipk_ring *r, uint64_t seq, size_t len)
{
	unsigned char buf[PAUSE_LEN];

	rt_fill(buf, len, seq);
	T_OK(ipk_ring_publish_wait(r, buf, len, RT_TIMEOUT));
}

/* Steady at 2 kHz, a burst, a pause, steady at 1 kHz, bursts with short
 * pauses, a pause longer than a sleep slice, one more; then close. */
static uint64_t pattern(ipk_ring *r)
{
	uint64_t seq = 1;
	int i, j;

	for (i = 0; i < 100; i++) {
		send_one(r, seq++, LEN);
		sleep_ns(500 * IPK_USEC);
	}
	for (i = 0; i < 300; i++)
		send_one(r, seq++, LEN);
	send_one(r, seq++, PAUSE_LEN);
	sleep_ns(PAUSE_MS * IPK_MSEC);
	for (i = 0; i < 50; i++) {
		send_one(r, seq++, LEN);
		sleep_ns(IPK_MSEC);
	}
	for (i = 0; i < 20; i++) {
		for (j = 0; j < 1 + i % 16; j++)
			send_one(r, seq++, LEN);
		sleep_ns((i * 7 % 5) * IPK_MSEC);
	}
	sleep_ns(120 * IPK_MSEC);
	send_one(r, seq, LEN);
	return seq;
}

static int publisher(void *arg)
{
	struct ipk_ring_opts o = { .flags = *(const uint32_t *)arg };
	ipk_ring *r;

	T_SYS(prctl(PR_SET_PDEATHSIG, SIGKILL));
	T_OK(ipk_ring_create(name, &o, &r));
	rt_signal(&ready);
	rt_await(&acks); /* the subscriber is there */
	(void)pattern(r);
	ipk_ring_close(r);
	return 0;
}

static int64_t cpu_ns(void)
{
	struct rusage ru;

	T_SYS(getrusage(RUSAGE_SELF, &ru));
	return ((int64_t)ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * IPK_SEC +
	       ((int64_t)ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * IPK_USEC;
}

/* The pattern through a ring (@flags: 0 or IPK_RING_QUEUE), received
 * adaptively (as the queue's consumer for a queue). */
static void through(uint32_t flags)
{
	struct ipk_ring_sub_opts o = adaptive;
	unsigned char buf[PAUSE_LEN];
	int64_t cpu0 = 0, t0 = 0;
	uint64_t want = 1;
	ipk_ring_sub *s;
	ssize_t n;
	pid_t pid;

	rt_name(name, sizeof(name), "adaptive");
	rt_step_init(&ready);
	rt_step_init(&acks);
	pid = t_fork(publisher, &flags);
	rt_await(&ready);
	if (flags & IPK_RING_QUEUE)
		o.flags |= IPK_RING_CONSUMER;
	T_OK(ipk_ring_open(name, &o, &s));
	rt_signal(&acks);
	while ((n = ipk_ring_recv(s, buf, sizeof(buf), RT_TIMEOUT)) >= 0) {
		T_EQ(rt_check(buf, (size_t)n), want++);
		if (t0) {
			int64_t cpu = cpu_ns() - cpu0, wall = rt_now() - t0;

			/* the pause: asleep, not spinning, most of it */
			if (cpu * 2 > wall)
				T_FAIL("%lld us of CPU in a pause of %lld us",
				       (long long)(cpu / IPK_USEC), (long long)(wall / IPK_USEC));
			t0 = 0;
		}
		if (n == PAUSE_LEN) {
			cpu0 = cpu_ns();
			t0 = rt_now();
		}
	}
	T_EQ(n, -EPIPE);
	T_EQ(ipk_ring_lost(s), 0);
	T_EQ(want, 100 + 300 + 1 + 50 + 146 + 1 + 1); /* one past the last */
	ipk_ring_sub_close(s);
	t_wait_exit(pid, 0);
}

/* Learns a steady feed of one message per SLOW_MS, acknowledging each;
 * its timed sleeps leave the thread's timer slack as it was. */
static int slow_subscriber(void *arg)
{
	unsigned char buf[LEN];
	uint64_t want = 1;
	ipk_ring_sub *s;
	ssize_t n;

	(void)arg;
	T_SYS(prctl(PR_SET_PDEATHSIG, SIGKILL));
	T_SYS(prctl(PR_SET_TIMERSLACK, 77777, 0, 0, 0));
	T_OK(ipk_ring_open(name, &adaptive, &s));
	rt_signal(&ready);
	while ((n = ipk_ring_recv(s, buf, sizeof(buf), RT_TIMEOUT)) >= 0) {
		uint64_t seq = rt_check(buf, (size_t)n);

		T_EQ(prctl(PR_GET_TIMERSLACK, 0, 0, 0, 0), 77777);
		T_EQ(seq, want++);
		T_EQ(write(acks.fd[1], &seq, sizeof(seq)), (ssize_t)sizeof(seq));
	}
	T_EQ(n, -EPIPE);
	ipk_ring_sub_close(s);
	return 0;
}

static void early_message(void)
{
	struct ipk_ring_stats before, after;
	const struct ipk__ring_bell *bell;
	char bell_name[96];
	int64_t next, deadline;
	uint64_t seq, i;
	ipk_ring *r;
	pid_t pid;
	int fd;

	rt_name(name, sizeof(name), "adaptive");
	rt_step_init(&ready);
	rt_step_init(&acks);
	T_OK(ipk_ring_create(name, NULL, &r));
	snprintf(bell_name, sizeof(bell_name), "%s-bell", name);
	fd = shm_open(bell_name, O_RDONLY, 0);
	T_SYS(fd);
	bell = mmap(NULL, IPK__RING_BELL_SIZE, PROT_READ, MAP_SHARED, fd, 0);
	T_TRUE(bell != MAP_FAILED);
	close(fd);
	pid = t_fork(slow_subscriber, NULL);
	T_SYS(close(acks.fd[1])); /* a subscriber that fails ends the acks */
	rt_await(&ready);
	next = rt_now();
	for (i = 1; i <= 8; i++) {
		sleep_ns(next - rt_now() > 0 ? next - rt_now() : 0);
		send_one(r, i, LEN);
		T_EQ(read(acks.fd[0], &seq, sizeof(seq)), (ssize_t)sizeof(seq));
		T_EQ(seq, i);
		next += SLOW_MS * IPK_MSEC;
	}
	/* It sleeps until the next one is due, SLOW_MS from the last: once
	 * it is counted as a sleeper on the doorbell, publish long before. */
	deadline = rt_now() + RT_TIMEOUT;
	while (IPK__RING_SLEEPERS(atomic_load_explicit(&bell->sleepers, memory_order_relaxed)) ==
	       0) {
		T_TRUE(rt_now() < deadline);
		sleep_ns(100 * IPK_USEC);
	}
	T_OK(ipk_ring_stats(r, &before));
	send_one(r, i, LEN);
	T_OK(ipk_ring_stats(r, &after));
	T_EQ(after.wakes, before.wakes + 1); /* it slept on the doorbell */
	T_EQ(read(acks.fd[0], &seq, sizeof(seq)), (ssize_t)sizeof(seq));
	T_EQ(seq, i);
	ipk_ring_close(r);
	t_wait_exit(pid, 0);
	(void)munmap((void *)bell, IPK__RING_BELL_SIZE);
}

int main(void)
{
	struct ipk_ring_sub_opts bad = { .flags = IPK_RING_ADAPTIVE | IPK_RING_SPIN };
	ipk_ring_sub *s;
	ipk_ring *r;
	int rfd, bfd;

	rt_name(name, sizeof(name), "adaptive");
	T_OK(ipk_ring_create(name, NULL, &r));
	T_EQ(ipk_ring_open(name, &bad, &s), -EINVAL);
	bad = (struct ipk_ring_sub_opts){ .flags = IPK_RING_ADAPTIVE, .spin_ns = IPK_USEC };
	T_EQ(ipk_ring_open(name, &bad, &s), -EINVAL);
	T_OK(ipk_ring_fds(r, &rfd, &bfd));
	T_EQ(ipk_ring_open_fd(rfd, bfd, &bad, &s), -EINVAL);
	T_OK(ipk_ring_open_fd(rfd, bfd, &adaptive, &s));
	ipk_ring_sub_close(s);
	ipk_ring_close(r);

	through(0);
	through(IPK_RING_QUEUE);
	early_message();
	return 0;
}
