/* SPDX-License-Identifier: MIT */
/*
 * shared-counter - N processes increment one counter in shared memory,
 * under each synchronisation primitive in turn (robust mutex, POSIX named
 * and unnamed semaphores, a System V semaphore, flock, fcntl and OFD
 * locks), and print the operations per second of each. Then, for each
 * primitive, a holder is killed with SIGKILL in the middle of an update,
 * and the program shows what the next process finds: told and repaired
 * (mutex), released but not told (SEM_UNDO, file locks), or stuck (POSIX
 * semaphores, which nothing undoes).
 *
 *   shared-counter [--procs N] [--count N]
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/wait.h>

#include <ipckit/ipckit.h>

enum prim { P_MUTEX, P_PSEM, P_USEM, P_SYSV, P_FLOCK, P_FCNTL, P_OFD, P_COUNT };

static const char *const prim_names[P_COUNT] = {
	"mutex", "posix-sem", "unnamed-sem", "sysv-sem", "flock", "fcntl", "ofd",
};

/* The shared page: the locks that live in memory, and the counter. */
struct shared {
	_Alignas(IPK_MUTEX_ALIGN) unsigned char mutex[IPK_MUTEX_SIZE];
	_Alignas(IPK_SEM_ALIGN) unsigned char usem[IPK_SEM_SIZE];
	_Atomic int go;           /* workers: start now (all forked, clock running) */
	_Atomic unsigned started; /* workers waiting for go */
	_Atomic int ready;        /* the victim holds the lock */
	_Atomic int dirty;        /* an update is in progress (the journal) */
	unsigned long counter;    /* plain: only the lock protects it */
};

static struct shared *sh;
static ipk_mutex *mx;
static ipk_sem *sem[P_COUNT];
static char sem_name[64], lock_path[64];

static enum ipk_flock_kind flock_kind(enum prim p)
{
	return p == P_FLOCK ? IPK_FLOCK_FLOCK : p == P_FCNTL ? IPK_FLOCK_POSIX : IPK_FLOCK_OFD;
}

/* One process's lock handle for @p (file locks need their own open). */
struct lock {
	enum prim p;
	ipk_flock *fl;
};

static int lock_open(enum prim p, struct lock *l)
{
	l->p = p;
	l->fl = NULL;
	if (p >= P_FLOCK)
		return ipk_flock_open(lock_path, flock_kind(p), 0, IPK_FLOCK_CREATE, &l->fl);
	return 0;
}

/* Return: 0, IPK_MUTEX_OWNER_DIED, or a negative errno. */
static int lock_take(struct lock *l, int64_t timeout)
{
	switch (l->p) {
	case P_MUTEX:
		return ipk_mutex_lock(mx, timeout);
	case P_PSEM:
	case P_USEM:
	case P_SYSV:
		return ipk_sem_wait(sem[l->p], timeout);
	default:
		return ipk_flock_lock(l->fl, IPK_FLOCK_EXCL, 0, 0, timeout);
	}
}

static int lock_give(struct lock *l)
{
	switch (l->p) {
	case P_MUTEX:
		return ipk_mutex_unlock(mx);
	case P_PSEM:
	case P_USEM:
	case P_SYSV:
		return ipk_sem_post(sem[l->p]);
	default:
		return ipk_flock_unlock(l->fl, 0, 0);
	}
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int worker(enum prim p, unsigned long count)
{
	struct lock l;
	int r = lock_open(p, &l);

	if (r < 0) {
		fprintf(stderr, "shared-counter: %s: open: %s\n", prim_names[p], ipk_errname(r));
		return 1;
	}
	/* everyone starts together, so they really contend */
	atomic_fetch_add(&sh->started, 1);
	while (!atomic_load(&sh->go))
		sched_yield();
	for (unsigned long i = 0; i < count; i++) {
		r = lock_take(&l, 10 * IPK_SEC);
		if (r != 0) {
			fprintf(stderr, "shared-counter: %s: lock: %s\n", prim_names[p],
				r > 0 ? "owner died" : ipk_errname(r));
			return 1;
		}
		sh->counter++;
		if (lock_give(&l) < 0)
			return 1;
	}
	ipk_flock_free(l.fl);
	return 0;
}

static int wait_all(pid_t *pids, unsigned n)
{
	int bad = 0, st;

	for (unsigned i = 0; i < n; i++) {
		while (waitpid(pids[i], &st, 0) < 0)
			if (errno != EINTR)
				return 1;
		if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
			bad = 1;
	}
	return bad;
}

static int measure(enum prim p, unsigned procs, unsigned long count)
{
	pid_t pids[64];
	unsigned long want = procs * count;
	double t0, dt;
	int bad;

	sh->counter = 0;
	atomic_store(&sh->go, 0);
	atomic_store(&sh->started, 0);
	for (unsigned i = 0; i < procs; i++) {
		pids[i] = fork();
		if (pids[i] < 0)
			return 1;
		if (pids[i] == 0)
			_exit(worker(p, count));
	}
	while (atomic_load(&sh->started) < procs)
		usleep(100);
	t0 = now_s();
	atomic_store(&sh->go, 1);
	bad = wait_all(pids, procs);
	dt = now_s() - t0;
	printf("%-12s %u x %lu increments: counter %lu (%s), %.0f ops/s\n", prim_names[p], procs,
	       count, sh->counter, sh->counter == want && !bad ? "ok" : "WRONG", (double)want / dt);
	return sh->counter != want || bad;
}

/* Take the lock, start an update, and wait there to be killed. */
static void victim(enum prim p)
{
	struct lock l;

	if (lock_open(p, &l) < 0 || lock_take(&l, 10 * IPK_SEC) != 0)
		_exit(1);
	atomic_store(&sh->dirty, 1);
	sh->counter += 1000; /* half of an update that never finishes */
	atomic_store(&sh->ready, 1);
	for (;;)
		pause();
}

static int recovery(enum prim p)
{
	struct lock l;
	pid_t pid;
	int r, st;

	sh->counter = 0;
	atomic_store(&sh->ready, 0);
	atomic_store(&sh->dirty, 0);
	pid = fork();
	if (pid < 0)
		return 1;
	if (pid == 0)
		victim(p);
	while (!atomic_load(&sh->ready))
		usleep(1000);
	kill(pid, SIGKILL);
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	if (lock_open(p, &l) < 0)
		return 1;

	printf("recovery: %-12s holder %d killed; ", prim_names[p], (int)pid);
	r = lock_take(&l, p == P_PSEM || p == P_USEM ? 200 * IPK_MSEC : 5 * IPK_SEC);
	if (r == IPK_MUTEX_OWNER_DIED) {
		sh->counter = 0; /* repair: the half update is undone */
		atomic_store(&sh->dirty, 0);
		r = ipk_mutex_consistent(mx);
		printf("next locker was told (IPK_MUTEX_OWNER_DIED), repaired the counter, "
		       "marked it consistent: %s\n",
		       r == 0 ? "ok" : ipk_errname(r));
	} else if (r == 0) {
		bool dirty = atomic_load(&sh->dirty);

		printf("the lock was released, nobody was told; the journal shows a %s update%s\n",
		       dirty ? "half-done" : "complete", dirty ? " (repaired)" : "");
		sh->counter = 0;
		atomic_store(&sh->dirty, 0);
	} else if (r == -ETIMEDOUT) {
		printf("still taken: nothing undoes a POSIX semaphore's wait (%s)\n",
		       ipk_errname(r));
		/* give back what the dead holder took, so the demo can go on */
		(void)ipk_sem_post(sem[p]);
		ipk_flock_free(l.fl);
		return 0;
	} else {
		printf("failed: %s\n", ipk_errname(r));
		return 1;
	}
	r = lock_give(&l);
	ipk_flock_free(l.fl);
	return r < 0;
}

static int usage(FILE *f, int code)
{
	fprintf(f, "Usage: shared-counter [--procs N] [--count N]\n"
		   "N processes increment a shared counter under each primitive (mutex,\n"
		   "posix-sem, unnamed-sem, sysv-sem, flock, fcntl, ofd) and print ops/s,\n"
		   "then kill a holder of each and show what the next process finds.\n"
		   "  --procs N   processes (1-64, default 4)\n"
		   "  --count N   increments per process (default 20000)\n");
	return code;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "procs", required_argument, NULL, 'p' },
		{ "count", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct ipk_shm_ref shm_ref = { .kind = IPK_SHM_MEMFD, .name = "shared-counter" };
	struct ipk_sem_ref refs[P_COUNT] = { 0 };
	unsigned long procs = 4, count = 20000;
	ipk_shm *shm = NULL;
	int c, r, bad = 0;
	char *end;
	void *base;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'p':
			procs = strtoul(optarg, &end, 10);
			if (*end || procs < 1 || procs > 64) {
				fprintf(stderr, "shared-counter: bad --procs '%s'\n", optarg);
				return 2;
			}
			break;
		case 'c':
			count = strtoul(optarg, &end, 10);
			if (*end || count < 1 || count > 100000000) {
				fprintf(stderr, "shared-counter: bad --count '%s'\n", optarg);
				return 2;
			}
			break;
		case 'h':
			return usage(stdout, 0);
		default:
			return usage(stderr, 2);
		}
	}
	if (optind != argc)
		return usage(stderr, 2);

	snprintf(sem_name, sizeof(sem_name), "/shared-counter-%d", (int)getpid());
	snprintf(lock_path, sizeof(lock_path), "/tmp/shared-counter-%d.lock", (int)getpid());
	r = ipk_shm_create(&shm_ref, 4096, 0, 0, &shm);
	if (r == 0)
		r = ipk_shm_map(shm, 0, &base);
	if (r == 0) {
		sh = base;
		r = ipk_mutex_init(sh->mutex, sizeof(sh->mutex), 0, &mx);
	}
	refs[P_PSEM] = (struct ipk_sem_ref){ .kind = IPK_SEM_POSIX, .name = sem_name };
	refs[P_USEM] = (struct ipk_sem_ref){ .kind = IPK_SEM_UNNAMED, .mem = sh ? sh->usem : NULL };
	refs[P_SYSV] = (struct ipk_sem_ref){ .kind = IPK_SEM_SYSV, .key = IPC_PRIVATE };
	for (int p = P_PSEM; r == 0 && p <= P_SYSV; p++) {
		r = ipk_sem_create(&refs[p], 1, 0, IPK_SEM_EXCL | (p == P_SYSV ? IPK_SEM_UNDO : 0),
				   &sem[p]);
		if (r < 0) {
			const char *hint = ipk_sem_limit_hint(r, &refs[p]);

			fprintf(stderr, "shared-counter: %s: %s%s%s\n", prim_names[p],
				ipk_errname(r), hint ? "; limit: " : "", hint ? hint : "");
		}
	}
	if (r < 0) {
		fprintf(stderr, "shared-counter: setup: %s\n", ipk_errname(r));
		bad = 1;
		goto out;
	}
	fflush(stdout);
	for (int p = 0; p < P_COUNT; p++)
		bad |= measure((enum prim)p, (unsigned)procs, count);
	for (int p = 0; p < P_COUNT; p++) {
		fflush(stdout);
		bad |= recovery((enum prim)p);
	}
out:
	for (int p = 0; p < P_COUNT; p++)
		ipk_sem_free(sem[p]);
	if (mx)
		(void)ipk_mutex_destroy(mx);
	ipk_shm_free(shm);
	(void)unlink(lock_path);
	return bad;
}
