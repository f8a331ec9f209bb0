/* SPDX-License-Identifier: MIT */
/*
 * light.c - the publisher's light and fenced modes (src/ring_layout.h):
 * the IPK__RING_FENCED bit of the doorbell's sleepers word, read directly
 * (it is not part of the API), and the wake-ups that must still come.
 *
 *   1. A ring starts fenced; its first publish with no sleeper goes light
 *      (where this kernel offers MEMBARRIER_CMD_GLOBAL_EXPEDITED).
 *   2. A subscriber that goes to sleep on a light publisher sets the bit;
 *      the next publish wakes it (one FUTEX_WAKE), and is fenced.
 *   3. After QUIET_PUBLISHES publishes that find no sleeper the publisher
 *      is light again; fewer leave it fenced.
 *   4. ROUNDS rounds of a burst the subscriber takes awake - after which
 *      the publisher is light - and a message it sleeps for: each publish
 *      finds its sleeper and makes one FUTEX_WAKE, and nothing is lost.
 *   5. A publisher whose membarrier() a seccomp filter refuses never goes
 *      light, and still wakes its sleeper.
 *   6. A sleeper whose membarrier() is refused still sets the bit, and
 *      takes every message.
 *   7. A process that writes anything into the sleepers word, as any
 *      subscriber may, delays wake-ups by a slice at most and loses
 *      nothing; what it leaves costs one wake-up, then none.
 */
#include <linux/filter.h>
#include <linux/membarrier.h>
#include <linux/seccomp.h>
#include <stdatomic.h>
#include <stddef.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "ringt.h"
#include "ring_internal.h"

#define LEN 64
#define ROUNDS 100
#define SCRIBBLED 400 /* messages published while the word is scribbled on */

static struct rt_step ready, go, asleep, took;

/* Make membarrier() fail with EPERM in this process from now on. */
static void refuse_membarrier(void)
{
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_membarrier, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = { .len = sizeof(f) / sizeof(f[0]), .filter = f };

	T_SYS(prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0));
	T_SYS(prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog));
	T_EQ(syscall(SYS_membarrier, MEMBARRIER_CMD_QUERY, 0, 0), -1);
}

/* Can a process here install a seccomp filter? (qemu-user cannot.) */
static int try_filter(void *arg)
{
	(void)arg;
	refuse_membarrier();
	return 0;
}

static bool filters_work(void)
{
	pid_t pid = fork();
	int st;

	T_TRUE(pid >= 0);
	if (pid == 0) {
		struct sock_filter f[] = { BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW) };
		struct sock_fprog prog = { .len = 1, .filter = f };

		_exit(prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0 &&
				      prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) == 0
			      ? 0
			      : 1);
	}
	T_EQ(waitpid(pid, &st, 0), pid);
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		return false;
	t_wait_exit(t_fork(try_filter, NULL), 0);
	return true;
}

/* Can this process publish light? (What the library asks at
 * ipk_ring_create(); registering this process too changes nothing.) */
static bool kernel_has_light(void)
{
	long cmds = syscall(SYS_membarrier, MEMBARRIER_CMD_QUERY, 0, 0);

	return cmds > 0 && (cmds & MEMBARRIER_CMD_GLOBAL_EXPEDITED) &&
	       (cmds & MEMBARRIER_CMD_REGISTER_GLOBAL_EXPEDITED) &&
	       syscall(SYS_membarrier, MEMBARRIER_CMD_REGISTER_GLOBAL_EXPEDITED, 0, 0) == 0;
}

static _Atomic uint32_t *map_sleepers(const char *name)
{
	char bell[300];
	void *p;
	int fd;

	snprintf(bell, sizeof(bell), "%s" IPK__RING_BELL, name);
	fd = shm_open(bell, O_RDWR, 0);
	T_TRUE(fd >= 0);
	p = mmap(NULL, IPK__RING_BELL_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	T_TRUE(p != MAP_FAILED);
	close(fd);
	return &((struct ipk__ring_bell *)p)->sleepers;
}

static void publish(ipk_ring *r, uint64_t seq)
{
	unsigned char buf[LEN];

	rt_fill(buf, LEN, seq);
	T_OK(ipk_ring_publish(r, buf, LEN));
}

/* Wait until a subscriber is counted as asleep on @word, with the fenced
 * bit set: it sets the bit after its membarrier(), after it counted
 * itself. */
static void await_sleeper(_Atomic uint32_t *word)
{
	int64_t until = rt_now() + RT_TIMEOUT;

	while (IPK__RING_SLEEPERS(atomic_load(word)) == 0 ||
	       !(atomic_load(word) & IPK__RING_FENCED)) {
		T_TRUE(rt_now() < until);
		usleep(200);
	}
}

struct sub_args {
	const char *name;
	bool refuse; /* no membarrier() for this subscriber */
};

/* Each round: drains the burst without sleeping (timeout 0), then says it
 * is about to wait and sleeps on the doorbell (the default mode) for the
 * round's last message. */
static int subscriber(void *arg)
{
	const struct sub_args *a = arg;
	unsigned char buf[LEN];
	uint64_t seq = 0;
	ipk_ring_sub *s;
	ssize_t n;

	T_SYS(prctl(PR_SET_PDEATHSIG, SIGKILL));
	if (a->refuse)
		refuse_membarrier();
	T_OK(ipk_ring_open(a->name, NULL, &s));
	rt_signal(&ready);
	for (unsigned i = 0; i < ROUNDS; i++) {
		rt_await(&go);
		while ((n = ipk_ring_recv(s, buf, LEN, 0)) == LEN)
			T_EQ(rt_check(buf, LEN), seq++);
		T_EQ(n, -EAGAIN);
		rt_signal(&asleep);
		T_EQ(ipk_ring_recv(s, buf, LEN, 5 * IPK_SEC), (ssize_t)LEN);
		T_EQ(rt_check(buf, LEN), seq++);
		rt_signal(&took);
	}
	T_EQ(ipk_ring_lost(s), 0);
	ipk_ring_sub_close(s);
	return 0;
}

/* 5: the publisher cannot register; it runs in a child of its own, forked
 * before this process made any ring (registration is per process). */
static int fenced_publisher(void *arg)
{
	const char *name = arg;
	_Atomic uint32_t *word;
	ipk_ring *r;

	refuse_membarrier();
	T_OK(ipk_ring_create(name, NULL, &r));
	word = map_sleepers(name);
	for (uint64_t i = 0; i < 2 * QUIET_PUBLISHES; i++)
		publish(r, i);
	T_EQ(atomic_load(word), IPK__RING_FENCED); /* never light */
	rt_signal(&ready);
	await_sleeper(word); /* the parent subscribes and sleeps */
	publish(r, 2 * QUIET_PUBLISHES);
	rt_await(&took);
	ipk_ring_close(r);
	return 0;
}

static void case_fenced_publisher(void)
{
	unsigned char buf[LEN];
	char name[64];
	ipk_ring_sub *s;
	pid_t pid;

	rt_name(name, sizeof(name), "light-fenced");
	pid = t_fork(fenced_publisher, name);
	rt_await(&ready);
	T_OK(ipk_ring_open(name, NULL, &s));
	T_EQ(ipk_ring_recv(s, buf, LEN, 5 * IPK_SEC), (ssize_t)LEN);
	T_EQ(rt_check(buf, LEN), (uint64_t)2 * QUIET_PUBLISHES);
	rt_signal(&took);
	ipk_ring_sub_close(s);
	t_wait_exit(pid, 0);
	printf("a publisher whose membarrier() is refused: fenced after %d publishes, "
	       "its sleeper woken\n",
	       2 * QUIET_PUBLISHES);
}

/* 1 and 3: the mode as the word tells it, publish by publish. */
static void case_quiet(bool light)
{
	uint32_t want = light ? 0 : IPK__RING_FENCED;
	_Atomic uint32_t *word;
	unsigned char buf[LEN];
	ipk_ring_sub *s;
	char name[64];
	ipk_ring *r;

	rt_name(name, sizeof(name), "light-quiet");
	T_OK(ipk_ring_create(name, NULL, &r));
	word = map_sleepers(name);
	T_EQ(atomic_load(word), IPK__RING_FENCED); /* fenced at first */
	publish(r, 0);
	T_EQ(atomic_load(word), want); /* light at the first quiet publish */
	/* A sleeper makes it fenced ... */
	T_OK(ipk_ring_open(name, NULL, &s));
	T_EQ(ipk_ring_recv(s, buf, LEN, 30 * IPK_MSEC), -ETIMEDOUT);
	T_EQ(atomic_load(word), IPK__RING_FENCED);
	ipk_ring_sub_close(s);
	/* ... until QUIET_PUBLISHES fenced publishes have found nobody (after
	 * the one that found the bit: light, it takes the fence). */
	for (uint64_t i = 1; i <= QUIET_PUBLISHES; i++)
		publish(r, i);
	T_EQ(atomic_load(word), IPK__RING_FENCED);
	publish(r, QUIET_PUBLISHES + 1);
	T_EQ(atomic_load(word), want);
	ipk_ring_close(r);
	printf("fenced at creation, %s after one publish; fenced by a sleeper, %s after %d "
	       "more\n",
	       light ? "light" : "still fenced", light ? "light" : "still fenced", QUIET_PUBLISHES);
}

/* 2 and 4 (and 6 with @refuse): ROUNDS times, a light publisher and a
 * subscriber that falls asleep on it. */
static void case_rounds(bool light, bool refuse)
{
	struct sub_args a = { .refuse = refuse };
	struct ipk_ring_stats before, after;
	_Atomic uint32_t *word;
	unsigned woken = 0;
	char name[64];
	uint64_t seq = 0;
	int64_t t0;
	ipk_ring *r;
	pid_t pid;

	a.name = rt_name(name, sizeof(name), refuse ? "light-refuse" : "light");
	T_OK(ipk_ring_create(name, NULL, &r));
	word = map_sleepers(name);
	pid = t_fork(subscriber, &a);
	rt_await(&ready);
	t0 = rt_now();
	for (unsigned i = 0; i < ROUNDS; i++) {
		/* a burst nobody sleeps through: light at its end */
		for (unsigned k = 0; k < QUIET_PUBLISHES; k++)
			publish(r, seq++);
		T_EQ(atomic_load(word), light ? 0u : IPK__RING_FENCED);
		rt_signal(&go);
		rt_await(&asleep);
		/* the sleeper asks for the fence, with or without its barrier */
		await_sleeper(word);
		T_OK(ipk_ring_stats(r, &before));
		publish(r, seq++);
		T_OK(ipk_ring_stats(r, &after));
		woken += (unsigned)(after.wakes - before.wakes);
		rt_await(&took);
	}
	t_wait_exit(pid, 0);
	ipk_ring_close(r);
	/* Each publish found its sleeper counted. A sleeper whose slice ran
	 * out (50 ms: the publisher held up that long between seeing it and
	 * publishing, on a loaded machine) is between two sleeps for a moment:
	 * allow a few such. Without membarrier() its slices are 1 ms, and
	 * only delivery is checked. */
	if (!refuse)
		T_TRUE(woken + 3 >= ROUNDS);
	printf("%s publisher, sleeper %s membarrier(): %u rounds, %u woken by their "
	       "publish, %.1f ms\n",
	       light ? "light" : "fenced", refuse ? "refused" : "with", ROUNDS, woken,
	       (double)(rt_now() - t0) / IPK_MSEC);
}

/* 7: someone writes anything into the sleepers word (the doorbell is
 * writable by every subscriber). */
static int scribbler(void *arg)
{
	_Atomic uint32_t *word = map_sleepers(arg);
	uint32_t x = 12345;

	T_SYS(prctl(PR_SET_PDEATHSIG, SIGKILL));
	for (;;) {
		x = x * 1103515245u + 12345u; /* 0, the bit, counts, garbage */
		atomic_store(word, x % 3 == 0 ? 0 : x % 3 == 1 ? IPK__RING_FENCED : x);
		if (x % 64 == 0)
			usleep(50);
	}
	return 0;
}

static int slow_reader(void *arg)
{
	unsigned char buf[LEN];
	ipk_ring_sub *s;

	T_SYS(prctl(PR_SET_PDEATHSIG, SIGKILL));
	T_OK(ipk_ring_open(arg, NULL, &s));
	rt_signal(&ready);
	for (uint64_t i = 0; i < SCRIBBLED; i++) {
		/* a wake-up the scribbler hid costs one sleep slice at most */
		T_EQ(ipk_ring_recv(s, buf, LEN, 2 * IPK_SEC), (ssize_t)LEN);
		T_EQ(rt_check(buf, LEN), i);
	}
	T_EQ(ipk_ring_lost(s), 0);
	ipk_ring_sub_close(s);
	return 0;
}

static void case_scribbler(void)
{
	struct ipk_ring_stats before, after;
	_Atomic uint32_t *word;
	pid_t reader, vandal;
	char name[64];
	ipk_ring *r;

	rt_name(name, sizeof(name), "light-scribble");
	T_OK(ipk_ring_create(name, NULL, &r));
	word = map_sleepers(name);
	reader = t_fork(slow_reader, name);
	rt_await(&ready);
	vandal = t_fork(scribbler, name);
	for (uint64_t i = 0; i < SCRIBBLED; i++) {
		publish(r, i);
		usleep(500);
	}
	t_wait_exit(reader, 0);
	T_SYS(kill(vandal, SIGKILL));
	T_EQ(waitpid(vandal, NULL, 0), vandal);
	/* Whatever it left: a count nobody holds is cleared by the first
	 * wake-up that wakes nobody, and the publisher is light again. */
	for (uint64_t i = 0; i < QUIET_PUBLISHES + 2; i++)
		publish(r, SCRIBBLED + i);
	T_OK(ipk_ring_stats(r, &before));
	for (uint64_t i = 0; i < 1000; i++)
		publish(r, SCRIBBLED + QUIET_PUBLISHES + 2 + i);
	T_OK(ipk_ring_stats(r, &after));
	T_EQ(after.wakes, before.wakes);
	T_EQ(IPK__RING_SLEEPERS(atomic_load(word)), 0u);
	ipk_ring_close(r);
	printf("a process writing anything into the sleepers word: %d messages all taken, "
	       "then no wake-ups\n",
	       SCRIBBLED);
}

int main(void)
{
	bool light = kernel_has_light(), filters;

	rt_step_init(&ready);
	rt_step_init(&go);
	rt_step_init(&asleep);
	rt_step_init(&took);
	filters = filters_work();
	if (filters)
		case_fenced_publisher(); /* before this process makes a ring */
	else
		printf("no seccomp filters here (%s): the cases without membarrier() are "
		       "not run\n",
		       t_emulated() ? "qemu-user" : "prctl refused");
	if (!light)
		printf("this kernel has no MEMBARRIER_CMD_GLOBAL_EXPEDITED: every "
		       "publisher stays fenced\n");
	case_quiet(light);
	case_rounds(light, false);
	if (filters)
		case_rounds(light, true);
	case_scribbler();
	return 0;
}
