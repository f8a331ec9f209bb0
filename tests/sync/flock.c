/* SPDX-License-Identifier: MIT */
/*
 * flock.c - ipk_flock between real processes, for flock, fcntl (POSIX)
 * and OFD locks: exclusive and shared, byte ranges, try and timed
 * acquisition; the classic trap (closing any descriptor of the file
 * releases the process's POSIX locks, not OFD or flock locks); POSIX
 * locks do not exclude within a process, OFD locks do; deadlock detection
 * (-EDEADLK) between two processes; a killed holder's lock is released
 * (rounds of SIGKILL); bad input.
 */
#include <sys/stat.h>

#include "synct.h"

static char path[64];
static _Atomic uint32_t *step;

static const char *kname(enum ipk_flock_kind k)
{
	return k == IPK_FLOCK_FLOCK ? "flock" : k == IPK_FLOCK_POSIX ? "posix" : "ofd";
}

static ipk_flock *open_lock(enum ipk_flock_kind kind)
{
	ipk_flock *l;

	T_OK(ipk_flock_open(path, kind, 0, IPK_FLOCK_CREATE, &l));
	return l;
}

static enum ipk_flock_kind child_kind;

/* Another process: what it can take while the parent holds @arg. */
static int contender(void *arg)
{
	int what = (int)(intptr_t)arg;
	ipk_flock *l = open_lock(child_kind);
	off_t len = child_kind == IPK_FLOCK_FLOCK ? 0 : 10;
	int64_t t0;

	switch (what) {
	case 0: /* parent holds an exclusive lock on [0, 10) */
		T_EQ(ipk_flock_lock(l, IPK_FLOCK_EXCL, 0, len, 0), -EAGAIN);
		T_EQ(ipk_flock_lock(l, IPK_FLOCK_SHARED, 0, len, 0), -EAGAIN);
		t0 = synct_now_ns();
		T_EQ(ipk_flock_lock(l, IPK_FLOCK_EXCL, 0, len, 30 * IPK_MSEC), -ETIMEDOUT);
		T_TRUE(synct_now_ns() - t0 >= 30 * IPK_MSEC);
		if (child_kind != IPK_FLOCK_FLOCK) {
			/* the bytes next to it are free */
			T_EQ(ipk_flock_lock(l, IPK_FLOCK_EXCL, 10, 10, 0), 0);
			T_EQ(ipk_flock_lock(l, IPK_FLOCK_EXCL, 5, 1, 0), -EAGAIN);
		}
		break;
	case 1: /* parent holds a shared lock */
		T_EQ(ipk_flock_lock(l, IPK_FLOCK_SHARED, 0, len, 0), 0);
		T_EQ(ipk_flock_unlock(l, 0, len), 0);
		T_EQ(ipk_flock_lock(l, IPK_FLOCK_EXCL, 0, len, 0), -EAGAIN);
		break;
	case 2: /* parent holds it, releases it in a moment: a timed wait gets it */
		atomic_store(step, 1);
		T_EQ(ipk_flock_lock(l, IPK_FLOCK_EXCL, 0, len, 10 * IPK_SEC), 0);
		atomic_store(step, 2);
		break;
	case 3: /* is it still held? exit 0 if so, 1 if it was free */
		ipk_flock_free(l);
		l = open_lock(child_kind);
		return ipk_flock_lock(l, IPK_FLOCK_EXCL, 0, len, 0) == -EAGAIN ? 0 : 1;
	}
	ipk_flock_free(l);
	return 0;
}

static void basics(enum ipk_flock_kind kind)
{
	off_t len = kind == IPK_FLOCK_FLOCK ? 0 : 10;
	ipk_flock *l = open_lock(kind);
	pid_t pid;

	fprintf(stderr, "%s: basics\n", kname(kind));
	child_kind = kind;
	T_TRUE(ipk_flock_fd(l) >= 0);
	T_EQ(ipk_flock_lock(l, IPK_FLOCK_EXCL, 0, len, 0), 0);
	t_wait_exit(t_fork(contender, (void *)0), 0);
	T_EQ(ipk_flock_unlock(l, 0, len), 0);
	t_wait_exit(t_fork(contender, (void *)3), 1); /* free now */

	T_EQ(ipk_flock_lock(l, IPK_FLOCK_SHARED, 0, len, IPK_FOREVER), 0);
	t_wait_exit(t_fork(contender, (void *)1), 0);
	/* convert to exclusive, then let a timed waiter in */
	T_EQ(ipk_flock_lock(l, IPK_FLOCK_EXCL, 0, len, IPK_SEC), 0);
	atomic_store(step, 0);
	pid = t_fork(contender, (void *)2);
	synct_await(step, 1);
	usleep(30000);
	T_EQ(atomic_load(step), 1); /* still waiting */
	T_EQ(ipk_flock_unlock(l, 0, len), 0);
	t_wait_exit(pid, 0);
	T_EQ(atomic_load(step), 2);
	ipk_flock_free(l);
}

/* The trap: a second descriptor of the same file, closed. */
static void close_trap(enum ipk_flock_kind kind, int want_free)
{
	off_t len = kind == IPK_FLOCK_FLOCK ? 0 : 10;
	ipk_flock *l = open_lock(kind);
	int fd;

	fprintf(stderr, "%s: close of another descriptor %s the lock\n", kname(kind),
		want_free ? "releases" : "keeps");
	child_kind = kind;
	T_EQ(ipk_flock_lock(l, IPK_FLOCK_EXCL, 0, len, 0), 0);
	t_wait_exit(t_fork(contender, (void *)3), 0); /* held */
	fd = T_SYS(open(path, O_RDONLY | O_CLOEXEC));
	T_SYS(close(fd));
	t_wait_exit(t_fork(contender, (void *)3), want_free);
	ipk_flock_free(l);
}

/* Two handles in one process: OFD and flock locks exclude each other,
 * POSIX locks belong to the process and do not. */
static void same_process(void)
{
	enum ipk_flock_kind kinds[3] = { IPK_FLOCK_FLOCK, IPK_FLOCK_POSIX, IPK_FLOCK_OFD };
	int want[3] = { -EAGAIN, 0, -EAGAIN };

	fprintf(stderr, "two handles in one process\n");
	for (int i = 0; i < 3; i++) {
		ipk_flock *a = open_lock(kinds[i]), *b = open_lock(kinds[i]);
		off_t len = kinds[i] == IPK_FLOCK_FLOCK ? 0 : 10;

		T_EQ(ipk_flock_lock(a, IPK_FLOCK_EXCL, 0, len, 0), 0);
		T_EQ(ipk_flock_lock(b, IPK_FLOCK_EXCL, 0, len, 0), want[i]);
		ipk_flock_free(b);
		ipk_flock_free(a);
	}
}

/* Is @pid blocked on a POSIX lock? /proc/locks lists waiters with "->". */
static bool blocked_in_lock(pid_t pid)
{
	char line[256], want[32];
	FILE *f = fopen("/proc/locks", "r");
	bool found = false;

	if (!f)
		return false;
	snprintf(want, sizeof(want), " %d ", (int)pid);
	while (fgets(line, sizeof(line), f))
		if (strstr(line, "-> POSIX") && strstr(line, want))
			found = true;
	fclose(f);
	return found;
}

static int deadlock_peer(void *arg)
{
	ipk_flock *l = open_lock(IPK_FLOCK_POSIX);

	(void)arg;
	T_EQ(ipk_flock_lock(l, IPK_FLOCK_EXCL, 0, 1, 0), 0); /* byte 0 */
	atomic_store(step, 1);
	/* byte 1 is the parent's: sleeps in the kernel until it is free */
	T_EQ(ipk_flock_lock(l, IPK_FLOCK_EXCL, 1, 1, IPK_FOREVER), 0);
	ipk_flock_free(l);
	return 0;
}

static void deadlock(void)
{
	ipk_flock *l = open_lock(IPK_FLOCK_POSIX);
	int64_t t0 = synct_now_ns();
	pid_t pid;

	fprintf(stderr, "posix: deadlock detection\n");
	T_EQ(ipk_flock_lock(l, IPK_FLOCK_EXCL, 1, 1, 0), 0); /* byte 1 */
	atomic_store(step, 0);
	pid = t_fork(deadlock_peer, NULL);
	synct_await(step, 1);
	while (!blocked_in_lock(pid)) {
		if (synct_now_ns() - t0 > 10 * IPK_SEC)
			T_FAIL("peer %d never blocked on byte 1", (int)pid);
		usleep(1000);
	}
	/* byte 0 is the peer's, and the peer waits for us: a cycle */
	T_EQ(ipk_flock_lock(l, IPK_FLOCK_EXCL, 0, 1, IPK_FOREVER), -EDEADLK);
	T_EQ(ipk_flock_unlock(l, 1, 1), 0);
	t_wait_exit(pid, 0);
	ipk_flock_free(l);
}

static int crash_holder(void *arg)
{
	ipk_flock *l = open_lock(child_kind);
	off_t len = child_kind == IPK_FLOCK_FLOCK ? 0 : 10;

	(void)arg;
	T_EQ(ipk_flock_lock(l, IPK_FLOCK_EXCL, 0, len, 0), 0);
	atomic_store(step, 1);
	for (;;)
		pause();
}

/* A holder killed with SIGKILL: its lock is gone by the time waitpid()
 * returns. */
static void killed_holder(enum ipk_flock_kind kind, unsigned rounds)
{
	off_t len = kind == IPK_FLOCK_FLOCK ? 0 : 10;
	ipk_flock *l = open_lock(kind);

	fprintf(stderr, "%s: %u killed holders\n", kname(kind), rounds);
	child_kind = kind;
	for (unsigned i = 0; i < rounds; i++) {
		pid_t pid;

		atomic_store(step, 0);
		pid = t_fork(crash_holder, NULL);
		synct_await(step, 1);
		T_EQ(ipk_flock_lock(l, IPK_FLOCK_EXCL, 0, len, 0), -EAGAIN);
		T_SYS(kill(pid, SIGKILL));
		synct_wait_signal(pid, SIGKILL);
		T_EQ(ipk_flock_lock(l, IPK_FLOCK_EXCL, 0, len, 0), 0);
		T_EQ(ipk_flock_unlock(l, 0, len), 0);
	}
	ipk_flock_free(l);
}

static void bad_input(void)
{
	ipk_flock *l = (void *)0x1, *p;
	char missing[80];
	struct stat st;

	fprintf(stderr, "bad input\n");
	snprintf(missing, sizeof(missing), "%s-missing", path);
	T_EQ(ipk_flock_open(NULL, IPK_FLOCK_OFD, 0, 0, &l), -EINVAL);
	T_EQ(ipk_flock_open("", IPK_FLOCK_OFD, 0, 0, &l), -EINVAL);
	T_EQ(ipk_flock_open(path, (enum ipk_flock_kind)0, 0, 0, &l), -EINVAL);
	T_EQ(ipk_flock_open(path, (enum ipk_flock_kind)4, 0, 0, &l), -EINVAL);
	T_EQ(ipk_flock_open(path, IPK_FLOCK_OFD, 0, 0x10, &l), -EINVAL);
	T_EQ(ipk_flock_open(path, IPK_FLOCK_OFD, 0, 0, NULL), -EINVAL);
	T_EQ(ipk_flock_open(missing, IPK_FLOCK_OFD, 0, 0, &l), -ENOENT);
	T_EQ(ipk_flock_open("/tmp", IPK_FLOCK_OFD, 0, 0, &l), -EISDIR);
	T_TRUE(l == (void *)0x1);

	T_OK(ipk_flock_open(missing, IPK_FLOCK_FLOCK, 0, IPK_FLOCK_CREATE, &l));
	T_SYS(stat(missing, &st));
	T_EQ(st.st_mode & 0777, 0600);
	T_EQ(ipk_flock_lock(l, IPK_FLOCK_EXCL, 0, 10, 0), -EINVAL); /* flock: whole file */
	T_EQ(ipk_flock_lock(l, IPK_FLOCK_EXCL, 1, 0, 0), -EINVAL);
	T_EQ(ipk_flock_unlock(l, 0, 1), -EINVAL);
	T_EQ(ipk_flock_lock(l, (enum ipk_flock_type)0, 0, 0, 0), -EINVAL);
	T_EQ(ipk_flock_lock(l, (enum ipk_flock_type)3, 0, 0, 0), -EINVAL);
	ipk_flock_free(l);
	T_SYS(unlink(missing));

	T_OK(ipk_flock_open(path, IPK_FLOCK_OFD, 0, 0, &l));
	T_EQ(ipk_flock_lock(l, IPK_FLOCK_EXCL, -1, 10, 0), -EINVAL);
	T_EQ(ipk_flock_lock(l, IPK_FLOCK_EXCL, 0, -10, 0), -EINVAL);
	ipk_flock_free(l);
	/* a read-only handle takes shared locks only */
	T_OK(ipk_flock_open(path, IPK_FLOCK_POSIX, 0, IPK_FLOCK_RDONLY, &p));
	T_EQ(ipk_flock_lock(p, IPK_FLOCK_SHARED, 0, 0, 0), 0);
	T_EQ(ipk_flock_lock(p, IPK_FLOCK_EXCL, 0, 0, 0), -EBADF);
	ipk_flock_free(p);
	T_EQ(ipk_flock_lock(NULL, IPK_FLOCK_EXCL, 0, 0, 0), -EINVAL);
	T_EQ(ipk_flock_unlock(NULL, 0, 0), -EINVAL);
	T_EQ(ipk_flock_fd(NULL), -EINVAL);
	ipk_flock_free(NULL);
}

int main(void)
{
	enum ipk_flock_kind kinds[3] = { IPK_FLOCK_FLOCK, IPK_FLOCK_POSIX, IPK_FLOCK_OFD };
	unsigned rounds = synct_rounds("IPK_SYNC_ROUNDS", 1000) / 5;

	step = synct_shared(4096);
	t_path(path, sizeof(path), "flock");
	(void)unlink(path);
	for (int i = 0; i < 3; i++)
		basics(kinds[i]);
	close_trap(IPK_FLOCK_POSIX, 1);
	close_trap(IPK_FLOCK_OFD, 0);
	close_trap(IPK_FLOCK_FLOCK, 0);
	same_process();
	deadlock();
	for (int i = 0; i < 3; i++)
		killed_holder(kinds[i], rounds);
	bad_input();
	T_SYS(unlink(path));
	return 0;
}
