/* SPDX-License-Identifier: MIT */
/*
 * sleepers.c - waiters killed in their sleep leave no lasting cost.
 *
 * A subscriber sleeping on the doorbell is counted there; killed with
 * SIGKILL it cannot take its count back. The publisher must then pay one
 * FUTEX_WAKE, not one per message for the rest of the ring's life. Checked
 * for a named ring, a memfd ring whose descriptors the subscriber inherited
 * (the same open file descriptions as the publisher's), and the pollable
 * descriptor's helper thread: once the subscriber is counted (read from the
 * doorbell page) it is killed, then 1,000 publishes make exactly 1 wake-up.
 * A counted sleeper that is alive (holding its lock, as one on its way
 * into FUTEX_WAIT does) is never uncounted, and a subscriber that shares
 * the publisher's open file descriptions sleeps under a lock of its own.
 * In queue mode, a producer killed while waiting for room is uncounted by
 * its successor.
 *
 * The doorbell's and the consumer page's layouts (src/ring_layout.h) are read
 * directly: the counts are not part of the API.
 */
#include <poll.h>
#include <stdatomic.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/wait.h>

#include "ringt.h"
#include "ring_layout.h"

#define BELL_SLEEPERS offsetof(struct ipk__ring_bell, sleepers)
#define CONS_WAITING offsetof(struct ipk__ring_cons, waiting)
#define PUBLISHES 1000

enum how { BLOCKING_RECV, HELPER_FD };

struct child {
	const char *name; /* named ring, or NULL: ring_fd and bell_fd */
	int ring_fd, bell_fd;
	enum how how;
};

static struct rt_step ready;

static _Atomic uint32_t *map_word(int fd, size_t off)
{
	void *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);

	T_TRUE(p != MAP_FAILED);
	return (_Atomic uint32_t *)((char *)p + off);
}

static void unmap_word(_Atomic uint32_t *word)
{
	T_SYS(munmap((void *)((uintptr_t)word & ~(uintptr_t)4095), 4096));
}

/* Sleeps until a message comes: exits 0 with it, or is killed first. */
static int sleeper(void *arg)
{
	const struct child *c = arg;
	unsigned char buf[64];
	ipk_ring_sub *s;
	ssize_t n;

	T_SYS(prctl(PR_SET_PDEATHSIG, SIGKILL));
	if (c->name)
		T_OK(ipk_ring_open(c->name, NULL, &s));
	else
		T_OK(ipk_ring_open_fd(c->ring_fd, c->bell_fd, NULL, &s));
	rt_signal(&ready);
	if (c->how == HELPER_FD) {
		struct pollfd pfd = { .fd = ipk_ring_fd(s), .events = POLLIN };

		T_TRUE(pfd.fd >= 0);
		T_EQ(poll(&pfd, 1, -1), 1);
	}
	n = ipk_ring_recv(s, buf, sizeof(buf), IPK_FOREVER);
	T_EQ(n, (ssize_t)sizeof(buf));
	ipk_ring_sub_close(s);
	return 0;
}

/* Wait until *@count reaches @want (10 s at most). */
static void await_count(_Atomic uint32_t *count, uint32_t want)
{
	int64_t until = rt_now() + RT_TIMEOUT;

	while (IPK__RING_SLEEPERS(atomic_load(count)) != want) {
		if (rt_now() > until)
			T_FAIL("count %u, want %u", IPK__RING_SLEEPERS(atomic_load(count)), want);
		usleep(1000);
	}
}

static void kill_and_reap(pid_t pid)
{
	int st;

	T_SYS(kill(pid, SIGKILL));
	T_SYS(waitpid(pid, &st, 0));
	T_TRUE(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
}

/*
 * Kill @pid once *@count shows it counted. A sleeper uncounts itself
 * between sleep slices for a moment, and the kill may land there: then
 * the count is 0 and the caller tries again. Return: 1 if it died counted.
 */
static int kill_counted(pid_t pid, _Atomic uint32_t *count)
{
	await_count(count, 1);
	kill_and_reap(pid);
	return IPK__RING_SLEEPERS(atomic_load(count)) == 1;
}

#define TRIES 20

static uint64_t wakes(ipk_ring *r)
{
	struct ipk_ring_stats st;

	T_OK(ipk_ring_stats(r, &st));
	return st.wakes;
}

static void publish_n(ipk_ring *r, int n)
{
	unsigned char buf[64] = { 0 };

	for (int i = 0; i < n; i++)
		T_OK(ipk_ring_publish(r, buf, sizeof(buf)));
}

static void killed_asleep(const char *what, bool named, enum how how)
{
	struct child c = { .ring_fd = -1, .bell_fd = -1, .how = how };
	_Atomic uint32_t *sleepers;
	char name[64];
	ipk_ring *r;
	pid_t pid;
	int bell;

	for (int tries = 0;; tries++) {
		T_TRUE(tries < TRIES);
		rt_name(name, sizeof(name), "sleepers");
		T_OK(ipk_ring_create(named ? name : NULL, NULL, &r));
		T_OK(ipk_ring_fds(r, &c.ring_fd, &bell));
		c.bell_fd = bell;
		c.name = named ? name : NULL;
		sleepers = map_word(bell, BELL_SLEEPERS);
		pid = t_fork(sleeper, &c);
		rt_await(&ready);
		if (kill_counted(pid, sleepers))
			break; /* the dead one's count stays behind */
		unmap_word(sleepers);
		ipk_ring_close(r);
	}

	publish_n(r, PUBLISHES);
	printf("%s: subscriber killed asleep, then %d publishes: %llu wake-up(s)\n", what,
	       PUBLISHES, (unsigned long long)wakes(r));
	T_EQ(wakes(r), 1);
	T_EQ(IPK__RING_SLEEPERS(atomic_load(sleepers)), 0);
	unmap_word(sleepers);
	ipk_ring_close(r);
}

/*
 * A live subscriber with inherited descriptors sleeps under a lock of its
 * own: the publisher's descriptor (the open file description the child
 * inherited) cannot take LOCK_EX while it sleeps, so it is never mistaken
 * for a dead one; then one message wakes it.
 */
static void live_child_keeps_lock(const char *what, enum how how)
{
	struct child c = { .how = how };
	_Atomic uint32_t *sleepers;
	ipk_ring *r;
	pid_t pid;

	T_OK(ipk_ring_create(NULL, NULL, &r));
	T_OK(ipk_ring_fds(r, &c.ring_fd, &c.bell_fd));
	sleepers = map_word(c.bell_fd, BELL_SLEEPERS);
	pid = t_fork(sleeper, &c);
	rt_await(&ready);
	for (int tries = 0;; tries++) {
		T_TRUE(tries < TRIES);
		await_count(sleepers, 1);
		if (flock(c.bell_fd, LOCK_EX | LOCK_NB) < 0) {
			T_EQ(errno, EWOULDBLOCK);
			break;
		}
		/* Got it: the child must be between two sleep slices, not
		 * counted; if it is counted, its lock is not its own. */
		T_EQ(IPK__RING_SLEEPERS(atomic_load(sleepers)), 0);
		T_SYS(flock(c.bell_fd, LOCK_UN));
	}
	publish_n(r, 1);
	t_wait_exit(pid, 0);
	T_EQ(IPK__RING_SLEEPERS(atomic_load(sleepers)), 0);
	printf("%s: a live sleeper's lock is its own; woken by 1 publish\n", what);
	unmap_word(sleepers);
	ipk_ring_close(r);
}

/* A counted sleeper that holds its lock is alive: never uncounted. */
static void live_not_cleared(void)
{
	_Atomic uint32_t *sleepers;
	char name[64], bell[80];
	ipk_ring *r;
	int fd;

	rt_name(name, sizeof(name), "sleepers");
	snprintf(bell, sizeof(bell), "%s-bell", name);
	T_OK(ipk_ring_create(name, NULL, &r));
	fd = shm_open(bell, O_RDWR | O_CLOEXEC, 0);
	T_SYS(fd);
	sleepers = map_word(fd, BELL_SLEEPERS);
	/* What doze() does before FUTEX_WAIT: lock shared, then count. */
	T_SYS(flock(fd, LOCK_SH));
	atomic_fetch_add(sleepers, 1);
	publish_n(r, 10);
	T_EQ(wakes(r), 10); /* nobody woken, yet each publish must ring */
	T_EQ(IPK__RING_SLEEPERS(atomic_load(sleepers)), 1);
	/* Uncount, unlock: now a count left behind is a dead one's. */
	atomic_fetch_sub(sleepers, 1);
	T_SYS(flock(fd, LOCK_UN));
	atomic_fetch_add(sleepers, 1); /* as if killed between count and lock */
	publish_n(r, 10);
	T_EQ(wakes(r), 11);
	T_EQ(IPK__RING_SLEEPERS(atomic_load(sleepers)), 0);
	printf("live sleeper kept its count through 10 publishes; an unlocked count went after "
	       "1\n");
	unmap_word(sleepers);
	close(fd);
	ipk_ring_close(r);
}

static int waiting_producer(void *arg)
{
	const char *name = arg;
	struct ipk_ring_opts o = { .capacity = 4096, .max_msg = 1000, .flags = IPK_RING_QUEUE };
	unsigned char buf[1000] = { 0 };
	ipk_ring *r;

	T_SYS(prctl(PR_SET_PDEATHSIG, SIGKILL));
	T_OK(ipk_ring_create(name, &o, &r));
	while (ipk_ring_publish(r, buf, sizeof(buf)) == 0)
		;
	rt_signal(&ready);
	(void)ipk_ring_publish_wait(r, buf, sizeof(buf), IPK_FOREVER);
	T_FAIL("room appeared, but nobody consumes");
	return 1;
}

/* Queue mode: a producer killed while waiting for room. */
static void queue_producer_killed(void)
{
	struct ipk_ring_opts o = { .capacity = 4096, .max_msg = 1000, .flags = IPK_RING_QUEUE };
	_Atomic uint32_t *waiting;
	char name[64], cons[80];
	ipk_ring *r;
	pid_t pid;
	int fd;

	rt_name(name, sizeof(name), "sleepq");
	snprintf(cons, sizeof(cons), "%s-cons", name);
	for (int tries = 0;; tries++) {
		T_TRUE(tries < TRIES);
		(void)shm_unlink(name);
		(void)shm_unlink(cons);
		pid = t_fork(waiting_producer, name);
		rt_await(&ready);
		fd = shm_open(cons, O_RDWR | O_CLOEXEC, 0);
		T_SYS(fd);
		waiting = map_word(fd, CONS_WAITING);
		if (kill_counted(pid, waiting))
			break;
		unmap_word(waiting);
		close(fd);
	}
	T_OK(ipk_ring_create(name, &o, &r)); /* the successor */
	T_EQ(atomic_load(waiting), 0);
	printf("queue: producer killed waiting for room; its successor uncounted it\n");
	unmap_word(waiting);
	close(fd);
	ipk_ring_close(r);
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	rt_step_init(&ready);
	killed_asleep("named ring, blocking receive", true, BLOCKING_RECV);
	killed_asleep("memfd ring, inherited descriptors", false, BLOCKING_RECV);
	killed_asleep("named ring, pollable descriptor", true, HELPER_FD);
	killed_asleep("memfd ring, pollable descriptor", false, HELPER_FD);
	live_child_keeps_lock("memfd ring, blocking receive", BLOCKING_RECV);
	live_child_keeps_lock("memfd ring, pollable descriptor", HELPER_FD);
	live_not_cleared();
	queue_producer_killed();
	return 0;
}
