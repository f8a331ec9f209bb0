/* SPDX-License-Identifier: MIT */
/*
 * attach_bench.c - bench-attach: a measurement, not a test (not installed,
 * not run by meson test). How long after a name becomes valid does an end
 * that was already waiting for it have it open?
 *
 * Two processes, pinned to CPUs 0 and 1 (where there are two). Each round
 * the waiter starts ipk_chan_open() on a name that does not exist yet and
 * says so; the maker lets it settle into its wait (a few milliseconds, a
 * different pause each round), then makes the object:
 *
 *   shm   the maker's ipk_ring_create() of "/ipkba-PID-N"; the waiter's
 *         ipk_chan_open("shm:/ipkba-PID-N", 0, ...)
 *   unix  the maker's ipk_listen("unix:/tmp/ipkba-PID-N"); the waiter's
 *         ipk_chan_open("unix:/tmp/ipkba-PID-N", 0, ...) (a connect)
 *   fifo  the maker's ipk_chan_open("fifo:/tmp/ipkba-PID-N", IPK_CHAN_CREATE
 *         | IPK_CHAN_RDONLY, ...); the waiter's opens it IPK_CHAN_WRONLY
 *
 * The delay of a round is t1 - t0: t0 is CLOCK_MONOTONIC read by the maker
 * right after the making call returns (the object became valid just
 * before: a ring's magic is its last store, a listener listens before
 * returning), t1 is CLOCK_MONOTONIC read by the waiter right after
 * ipk_chan_open() returns 0. Both clocks are the same clock; t0 reaches
 * the waiter through shared memory. A waiter that wins the race against
 * the maker's clock read gives a delay <= 0 (counted as 0).
 *
 * For scale, it then times the same ipk_chan_open() when the object is
 * already there (REF_OPENS times, in the maker's process, pinned to CPU 0):
 * the part of the delay that opening costs anyway (a ring's subscriber
 * maps and populates the whole ring, 1 MiB by default).
 *
 * Usage: bench-attach [ROUNDS [shm|unix|fifo]]   (defaults 200, shm)
 * Prints two lines: the kind, the rounds, p50, p99 and max in microseconds
 * of the delay, then of the open of an object already there.
 */
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <signal.h>

#include "../harness.h"

#define WARM 10
#define REF_OPENS 100
#define OPEN_TIMEOUT (5 * IPK_SEC)

struct shared {
	_Atomic int waiting;  /* round the waiter is about to wait for */
	_Atomic int done;     /* round the waiter has finished */
	_Atomic int64_t t0;   /* the maker's clock, right after making */
	_Atomic int64_t t1;   /* the waiter's clock, right after opening */
	_Atomic int64_t made; /* round t0 belongs to */
};

static const char *kind = "shm";

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * IPK_SEC + ts.tv_nsec;
}

static void pin(int cpu)
{
	cpu_set_t set;

	if (sysconf(_SC_NPROCESSORS_ONLN) < 2)
		return;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set) < 0)
		fprintf(stderr, "bench-attach: cannot pin to CPU %d: %s\n", cpu, strerror(errno));
}

static void url_of(char *buf, size_t len, pid_t pid, int round)
{
	if (strcmp(kind, "shm") == 0)
		snprintf(buf, len, "shm:/ipkba-%d-%d", (int)pid, round);
	else
		snprintf(buf, len, "%s:/tmp/ipkba-%d-%d", kind, (int)pid, round);
}

static void waiter(struct shared *sh, pid_t maker, int rounds)
{
	unsigned flags = strcmp(kind, "fifo") == 0 ? IPK_CHAN_WRONLY : 0;

	pin(1);
	for (int i = 0; i < rounds; i++) {
		char url[128];
		ipk_chan *c;
		int64_t t1;

		url_of(url, sizeof(url), maker, i);
		atomic_store(&sh->waiting, i);
		T_OK(ipk_chan_open(url, flags, OPEN_TIMEOUT, &c));
		t1 = now_ns();
		atomic_store(&sh->t1, t1);
		while (atomic_load(&sh->made) != i)
			sched_yield(); /* t0 is stored a moment after the object is valid */
		ipk_chan_close(c);
		atomic_store(&sh->done, i);
	}
}

static int cmp64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

static void report(const char *what, int64_t *v, int n)
{
	for (int i = 0; i < n; i++)
		if (v[i] < 0)
			v[i] = 0;
	qsort(v, (size_t)n, sizeof(*v), cmp64);
	printf("%s: %d rounds, %s: p50 %.1f us, p99 %.1f us, max %.1f us\n", kind, n, what,
	       (double)v[n / 2] / 1e3, (double)v[(n * 99) / 100] / 1e3, (double)v[n - 1] / 1e3);
}

/* What ipk_chan_open() costs when there is nothing to wait for. */
static void open_cost(pid_t me)
{
	unsigned flags = strcmp(kind, "fifo") == 0 ? IPK_CHAN_WRONLY : 0;
	int64_t cost[REF_OPENS];
	char url[128];
	ipk_ring *r = NULL;
	ipk_listener *l = NULL;
	ipk_chan *c = NULL;

	url_of(url, sizeof(url), me, -1);
	if (strcmp(kind, "shm") == 0)
		T_OK(ipk_ring_create(url + 4, NULL, &r));
	else if (strcmp(kind, "unix") == 0)
		T_OK(ipk_listen(url, 0, &l));
	else
		T_OK(ipk_chan_open(url, IPK_CHAN_CREATE | IPK_CHAN_RDONLY, 0, &c));
	for (int i = 0; i < REF_OPENS; i++) {
		ipk_chan *w;
		int64_t t = now_ns();

		T_OK(ipk_chan_open(url, flags, OPEN_TIMEOUT, &w));
		cost[i] = now_ns() - t;
		ipk_chan_close(w);
		if (l) { /* keep the backlog empty */
			ipk_chan *a;

			T_OK(ipk_accept(l, OPEN_TIMEOUT, &a));
			ipk_chan_close(a);
		}
	}
	ipk_ring_close(r);
	ipk_listener_close(l);
	ipk_chan_close(c);
	report("open, already there", cost, REF_OPENS);
}

int main(int argc, char **argv)
{
	int rounds = argc > 1 ? atoi(argv[1]) : 200;
	struct shared *sh;
	int64_t *delay;
	pid_t pid, me = getpid();
	int status, n = 0;

	if (argc > 2)
		kind = argv[2];
	if (rounds < 1 || (strcmp(kind, "shm") && strcmp(kind, "unix") && strcmp(kind, "fifo"))) {
		fprintf(stderr, "usage: bench-attach [ROUNDS [shm|unix|fifo]]\n");
		return 2;
	}
	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	T_TRUE(sh != MAP_FAILED);
	atomic_store(&sh->waiting, -1);
	atomic_store(&sh->done, -1);
	atomic_store(&sh->made, -1);
	delay = calloc((size_t)rounds, sizeof(*delay));
	T_TRUE(delay);

	pid = T_SYS(fork());
	if (pid == 0) {
		(void)prctl(PR_SET_PDEATHSIG, SIGKILL);
		waiter(sh, me, rounds + WARM);
		_exit(0);
	}
	pin(0);
	srand((unsigned)me);
	for (int i = 0; i < rounds + WARM; i++) {
		struct timespec pause = { 0, (2 + rand() % 4) * IPK_MSEC };
		char url[128];
		ipk_ring *r = NULL;
		ipk_listener *l = NULL;
		ipk_chan *c = NULL;
		int64_t t0;

		url_of(url, sizeof(url), me, i);
		while (atomic_load(&sh->waiting) != i)
			sched_yield();
		(void)nanosleep(&pause, NULL); /* the waiter is asleep in its wait by now */
		if (strcmp(kind, "shm") == 0)
			T_OK(ipk_ring_create(url + 4, NULL, &r));
		else if (strcmp(kind, "unix") == 0)
			T_OK(ipk_listen(url, 0, &l));
		else
			T_OK(ipk_chan_open(url, IPK_CHAN_CREATE | IPK_CHAN_RDONLY, 0, &c));
		t0 = now_ns();
		atomic_store(&sh->t0, t0);
		atomic_store(&sh->made, i);
		while (atomic_load(&sh->done) != i)
			sched_yield();
		if (i >= WARM)
			delay[n++] = atomic_load(&sh->t1) - t0;
		ipk_ring_close(r);
		ipk_listener_close(l);
		ipk_chan_close(c);
	}
	T_SYS(waitpid(pid, &status, 0));
	T_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	report("creation to open", delay, n);
	free(delay);
	open_cost(me);
	return 0;
}
