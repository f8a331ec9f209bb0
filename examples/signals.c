/* SPDX-License-Identifier: MIT */
/*
 * examples/signals.c - a worker pool supervisor on one ipk_loop.
 *
 * Usage: signals [WORKERS [JOBS]]   (default 3 workers, 5 jobs each)
 *
 * Each worker does its jobs and reports each one finished with a real-time
 * signal whose payload is the job id (sigqueue). The supervisor waits on
 * everything at once in one loop: the signals (signalfd), a heartbeat
 * timer (timerfd) that prints the progress, and one pidfd per worker that
 * tells it a worker is gone. Worker 0 crashes (SIGKILL) after two jobs on
 * its first run; the supervisor sees it through its pidfd, reaps it and
 * starts a replacement for the jobs it did not finish.
 *
 * Real-time signals queue, so no report is lost however fast they come,
 * and they arrive in the order sent. The signal is blocked before the
 * workers are forked, so it can only ever be read from the signalfd.
 */
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/wait.h>

#include <ipckit/ipckit.h>

#define MAX_WORKERS 16
#define MAX_JOBS 100

struct worker {
	pid_t pid;
	ipk_pidwatch *watch;
	int runs;            /* how many times it was started */
	bool done[MAX_JOBS]; /* jobs reported finished */
};

static struct worker workers[MAX_WORKERS];
static int nworkers = 3, njobs = 5, jobs_done, alive;
static int report_sig;

static void worker_main(int w, int first, bool crash)
{
	pid_t sup = getppid();
	int j;

	for (j = first; j < njobs; j++) {
		struct timespec ts = { 0, 10 * 1000 * 1000 }; /* the "work" */

		nanosleep(&ts, NULL);
		if (ipk_sig_send(sup, report_sig, w * MAX_JOBS + j) < 0)
			_exit(1);
		if (crash && j == first + 1)
			raise(SIGKILL); /* a crash: no clean-up, no goodbye */
	}
	_exit(0);
}

static void on_exit_fd(ipk_loop *l, int fd, uint32_t events, void *arg);

static int start_worker(ipk_loop *l, int w)
{
	struct worker *wk = &workers[w];
	int first = 0, r;
	pid_t pid;

	while (first < njobs && wk->done[first])
		first++;
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0)
		worker_main(w, first, w == 0 && wk->runs == 0);
	wk->pid = pid;
	wk->runs++;
	alive++;
	r = ipk_pidwatch_open(pid, 0, &wk->watch);
	if (r == 0)
		r = ipk_loop_add_fd(l, ipk_pidwatch_fd(wk->watch), IPK_LOOP_IN, on_exit_fd,
				    (void *)(intptr_t)w);
	if (r < 0) {
		fprintf(stderr, "signals: watching worker %d: %s\n", w, ipk_errname(r));
		return -1;
	}
	printf("worker %d started (pid %d), jobs %d..%d\n", w, (int)pid, first, njobs - 1);
	return 0;
}

static void on_report(ipk_loop *l, const struct ipk_siginfo *si, void *arg)
{
	int w = si->value / MAX_JOBS, j = si->value % MAX_JOBS;

	(void)l;
	(void)arg;
	if (si->value < 0 || w >= nworkers || j >= njobs || si->pid != workers[w].pid) {
		printf("ignored a report (value %d) from pid %d\n", si->value, (int)si->pid);
		return;
	}
	if (!workers[w].done[j]) {
		workers[w].done[j] = true;
		jobs_done++;
	}
	printf("job %d done by worker %d (pid %d)\n", si->value, w, (int)si->pid);
}

/*
 * Decided one round after the exit was seen: a report sent just before the
 * exit may sit in the same epoll batch, behind the pidfd, and must be
 * counted first.
 */
static void check_worker(ipk_loop *l, void *arg)
{
	int w = (int)(intptr_t)arg, st, left = 0, j;
	struct worker *wk = &workers[w];

	while (waitpid(wk->pid, &st, 0) < 0) {
		if (errno != EINTR) {
			perror("signals: waitpid");
			ipk_loop_stop(l);
			return;
		}
	}
	alive--;
	for (j = 0; j < njobs; j++)
		left += !wk->done[j];
	if (WIFSIGNALED(st)) {
		char name[32];

		(void)ipk_sig_name(WTERMSIG(st), name, sizeof(name));
		printf("worker %d (pid %d) died: killed by %s with %d job%s left\n", w,
		       (int)wk->pid, name, left, left == 1 ? "" : "s");
	} else {
		printf("worker %d (pid %d) exited with status %d\n", w, (int)wk->pid,
		       WEXITSTATUS(st));
	}
	if (left > 0 && start_worker(l, w) < 0)
		ipk_loop_stop(l);
	if (alive == 0)
		ipk_loop_stop(l);
}

static void on_exit_fd(ipk_loop *l, int fd, uint32_t events, void *arg)
{
	int w = (int)(intptr_t)arg;

	(void)events;
	(void)ipk_loop_del_fd(l, fd);
	ipk_pidwatch_close(workers[w].watch);
	workers[w].watch = NULL;
	(void)ipk_loop_defer(l, check_worker, arg);
}

static void on_heartbeat(ipk_loop *l, ipk_loop_timer *t, uint64_t n, void *arg)
{
	(void)l;
	(void)t;
	(void)arg;
	printf("heartbeat: %d/%d jobs done, %d worker%s alive", jobs_done, nworkers * njobs, alive,
	       alive == 1 ? "" : "s");
	if (n > 1)
		printf(" (%llu beats missed)", (unsigned long long)(n - 1));
	putchar('\n');
}

int main(int argc, char **argv)
{
	ipk_loop *l;
	sigset_t set;
	int w, r;

	if (argc > 1)
		nworkers = atoi(argv[1]);
	if (argc > 2)
		njobs = atoi(argv[2]);
	if (argc > 3 || nworkers < 1 || nworkers > MAX_WORKERS || njobs < 2 || njobs > MAX_JOBS) {
		fprintf(stderr, "usage: signals [WORKERS (1-%d) [JOBS (2-%d)]]\n", MAX_WORKERS,
			MAX_JOBS);
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	report_sig = SIGRTMIN;

	/* Blocked before the first fork: a report can never hit the default
	 * action (which would kill the supervisor). */
	sigemptyset(&set);
	sigaddset(&set, report_sig);
	r = ipk_sig_block(&set);
	if (r == 0)
		r = ipk_loop_new(&l);
	if (r == 0)
		r = ipk_loop_add_signal(l, report_sig, on_report, NULL);
	if (r == 0)
		r = ipk_loop_timer_every(l, 20 * IPK_MSEC, on_heartbeat, NULL, NULL);
	if (r < 0) {
		fprintf(stderr, "signals: setting up the loop: %s\n", ipk_errname(r));
		return 1;
	}
	for (w = 0; w < nworkers; w++)
		if (start_worker(l, w) < 0)
			return 1;
	r = ipk_loop_run(l);
	ipk_loop_free(l);
	if (r < 0) {
		fprintf(stderr, "signals: loop: %s\n", ipk_errname(r));
		return 1;
	}
	printf("%s: %d/%d jobs done\n", jobs_done == nworkers * njobs ? "all done" : "INCOMPLETE",
	       jobs_done, nworkers * njobs);
	return jobs_done == nworkers * njobs ? 0 : 1;
}
