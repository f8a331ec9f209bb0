/* SPDX-License-Identifier: MIT */
/*
 * bench/engine.c - one case at a time: fork the two measuring processes,
 * pin them, let them open their ends, warm up, measure, and collect.
 *
 * The ipckit process only supervises: side A (timing) and side B (echo or
 * drain) are both its children, so a side that hangs or crashes is killed
 * after a deadline, the other with it, and the row's .destroy still removes
 * what was created. Results come back through a MAP_SHARED control page
 * that holds side A's histogram.
 *
 * How many messages a case runs is set by time, not by count: A warms up
 * for warmup_ns, estimates the cost of one message from that, and then
 * publishes the total in ctl->total before it sends the first measured
 * message. B reads it after it has received a message sent after that
 * store, so it always sees it (the message itself orders the two: a system
 * call, or a release/acquire pair in shared memory). A round-trip case
 * that runs four times over its budget lowers the total the same way, so a
 * busy machine cannot stretch a run without bound; it keeps at least
 * MIN_SAMPLES samples (MIN_FEW for messages of many megabytes).
 *
 * Stopping (SIGINT, SIGTERM, a reader of standard output gone): the
 * supervisor's flag, opts->stop, is all that changes. While it runs, the
 * supervisor holds every signal and takes them only in its waits (ppoll()
 * with the mask the run began with), so a signal can neither slip in
 * between a look at the flag and a wait, nor be taken by a thread a
 * library started (libnats starts three) while the wait sleeps on. It
 * looks at the flag before each case and in every wait; then it kills the
 * sides with SIGKILL, and the row's .destroy removes what the case made
 * and ends what .prepare started, as after a crash. The sides take no
 * part: they ignore SIGINT (a Ctrl-C at a terminal reaches them too), die
 * of SIGTERM, and of SIGKILL when the supervisor itself dies.
 */
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <time.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>

#include "engine.h"
#include "hist.h"

#define MIN_SAMPLES 100
#define MIN_FEW 10 /* for messages so large that 100 take too long */
#define MAX_SAMPLES 5000000ul
#define ERR_MAX 200

struct ctl {
	_Atomic uint32_t go;     /* supervisor: pids are set, start */
	_Atomic uint32_t opened; /* sides that have opened their ends */
	_Atomic uint32_t failed; /* a side failed: stop waiting for it */
	_Atomic uint64_t total;  /* A -> B: messages in the case, 0 = not yet */
	pid_t supervisor;        /* the sides' parent, set before the fork */
	pid_t pid[2];
	char err[2][ERR_MAX]; /* a side's failure, "step: strerror" */
	uint64_t msgs;        /* tput: messages timed */
	int64_t elapsed_ns;   /* tput: their time */
	struct hist hist;     /* rtt: one sample per round trip */
};

/* The signal mask the run began with: see the top. */
static sigset_t open_mask;

void bench_child_sigmask(void)
{
	sigprocmask(SIG_SETMASK, &open_mask, NULL);
}

int bench_prep_wait(const struct bench_env *env, int fd, short events, int64_t deadline_ns)
{
	for (;;) {
		struct pollfd p = { .fd = fd, .events = events };
		int64_t left = deadline_ns - bench_now_ns();
		struct timespec ts;
		int r;

		if (env->stop && *env->stop)
			return -EINTR;
		if (left <= 0)
			return -ETIMEDOUT;
		ts.tv_sec = left / 1000000000;
		ts.tv_nsec = left % 1000000000;
		r = ppoll(&p, 1, &ts, &open_mask);
		if (r > 0)
			return 0;
		if (r < 0 && errno != EINTR)
			return bench_neg_errno();
	}
}

struct side_ctx {
	const struct bench_opts *o;
	struct bench_env env;
	struct ctl *ctl;
	void *shared;
	enum bench_side side;
	void *end;
	char *buf;
};

static void nap(void)
{
	struct timespec ts = { 0, 50000 };

	nanosleep(&ts, NULL);
}

static int side_fail(struct side_ctx *c, const char *step, int err)
{
	snprintf(c->ctl->err[c->side], ERR_MAX, "side %c: %s: %s", c->side == BENCH_A ? 'A' : 'B',
		 step, strerror(err < 0 ? -err : err));
	atomic_store_explicit(&c->ctl->failed, 1, memory_order_release);
	return 1;
}

static int pin(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return sched_setaffinity(0, sizeof(set), &set) < 0 ? bench_neg_errno() : 0;
}

/* Waits until *@word reaches @want, a side failed, or the timeout. */
static int wait_word(struct ctl *ctl, _Atomic uint32_t *word, uint32_t want, int64_t timeout_ns)
{
	int64_t deadline = bench_deadline(timeout_ns);
	unsigned spins = 0;

	/* Acquire: pairs with the release that set the word, so what the
	 * other process wrote before it (pids) is visible. */
	while (atomic_load_explicit(word, memory_order_acquire) < want) {
		if (atomic_load_explicit(&ctl->failed, memory_order_acquire))
			return -ECANCELED;
		if (bench_now_ns() > deadline)
			return -ETIMEDOUT;
		if (++spins < 1000)
			bench_spin(&spins);
		else
			nap();
	}
	return 0;
}

static int do_send_many(struct side_ctx *c, unsigned long n)
{
	const struct bench_ops *ops = c->env.mech->ops;
	unsigned long i;
	int r;

	if (ops->send_many)
		return ops->send_many(c->end, c->buf, c->env.size, n);
	for (i = 0; i < n; i++)
		if ((r = ops->send(c->end, c->buf, c->env.size)) < 0)
			return r;
	return 0;
}

static int do_recv_many(struct side_ctx *c, unsigned long n)
{
	const struct bench_ops *ops = c->env.mech->ops;
	unsigned long i;
	int r;

	if (ops->recv_many)
		return ops->recv_many(c->end, c->buf, c->env.size, n);
	for (i = 0; i < n; i++)
		if ((r = ops->recv(c->end, c->buf, c->env.size)) < 0)
			return r;
	return 0;
}

/* How many more messages fill the budget, from @done messages in @ns: at
 * least MIN_SAMPLES, unless that many would outlast the hang timeout
 * (messages of many megabytes); then as many as fit in it, at least
 * MIN_FEW. */
static unsigned long plan(const struct bench_opts *o, uint64_t done, int64_t ns)
{
	double per = ns > 0 && done > 0 ? (double)ns / (double)done : 1.0;
	double n = (double)o->budget_ns / per;
	double fit = (double)o->timeout_ns / per;

	if (n < MIN_SAMPLES && fit >= MIN_SAMPLES)
		return MIN_SAMPLES;
	if (n < MIN_SAMPLES)
		return fit > MIN_FEW ? (unsigned long)fit : MIN_FEW;
	if (n > (double)MAX_SAMPLES)
		return MAX_SAMPLES;
	return (unsigned long)n;
}

static int rtt_a(struct side_ctx *c)
{
	const struct bench_ops *ops = c->env.mech->ops;
	size_t len = c->env.size;
	uint64_t i = 0, n, k;
	int64_t t0 = bench_now_ns(), t;
	int r;

	/* Warm-up: caches, page faults, the CPUs' frequency. */
	do {
		if ((r = ops->send(c->end, c->buf, len)) < 0)
			return side_fail(c, "send", r);
		if ((r = ops->recv(c->end, c->buf, len)) < 0)
			return side_fail(c, "recv", r);
		i++;
		t = bench_now_ns();
	} while (t - t0 < c->o->warmup_ns || i < 5);
	n = plan(c->o, i, t - t0);
	/* Release: B loads it after receiving the next message. */
	atomic_store_explicit(&c->ctl->total, i + n, memory_order_release);
	t0 = bench_now_ns();
	for (k = 0; k < n; k++) {
		int64_t s = bench_now_ns(), e;

		if ((r = ops->send(c->end, c->buf, len)) < 0)
			return side_fail(c, "send", r);
		if ((r = ops->recv(c->end, c->buf, len)) < 0)
			return side_fail(c, "recv", r);
		e = bench_now_ns();
		hist_add(&c->ctl->hist, (uint64_t)(e - s));
		/* Much slower than the warm-up promised (a busy machine): end
		 * after one more round trip. B sees the smaller total once it
		 * has the message this store precedes, as above. */
		if (e - t0 > 4 * c->o->budget_ns && k + 1 >= MIN_SAMPLES && k + 2 < n) {
			n = k + 2;
			atomic_store_explicit(&c->ctl->total, i + n, memory_order_release);
		}
	}
	return 0;
}

static int rtt_b(struct side_ctx *c)
{
	const struct bench_ops *ops = c->env.mech->ops;
	uint64_t i = 0, total;
	int r;

	for (;;) {
		if ((r = ops->recv(c->end, c->buf, c->env.size)) < 0)
			return side_fail(c, "recv", r);
		if ((r = ops->send(c->end, c->buf, c->env.size)) < 0)
			return side_fail(c, "send", r);
		i++;
		/* Acquire: pairs with A's release store of the total. */
		total = atomic_load_explicit(&c->ctl->total, memory_order_acquire);
		if (total && i >= total)
			return 0;
	}
}

/* Warm-up stream of this many messages (both sides know it), then one
 * acknowledgement from B; the same again, measured, with the total that A
 * chose from the warm-up's rate. */
static unsigned long warm_msgs(size_t size)
{
	size_t n = ((size_t)2 << 20) / size;

	return n < 8 ? 8 : n > 4096 ? 4096 : n;
}

static int tput_a(struct side_ctx *c)
{
	const struct bench_ops *ops = c->env.mech->ops;
	unsigned long w = warm_msgs(c->env.size), n;
	int64_t start = bench_now_ns(), t0, t1;
	int r;

	/* Warm-up rounds until warmup_ns has passed (page faults, caches,
	 * the peer's first sleep), at least two; the rate of the last round,
	 * the steadiest, sets the count. */
	do {
		t0 = bench_now_ns();
		if ((r = do_send_many(c, w)) < 0)
			return side_fail(c, "send", r);
		if ((r = ops->recv(c->end, c->buf, c->env.size)) < 0)
			return side_fail(c, "recv ack", r);
		t1 = bench_now_ns();
	} while (t1 - start < c->o->warmup_ns || t0 == start);
	n = plan(c->o, w, t1 - t0);
	/* B tells a warm-up round from the measured one by this store: see
	 * tput_b(). */
	atomic_store_explicit(&c->ctl->total, n, memory_order_release);
	t0 = bench_now_ns();
	if ((r = do_send_many(c, n)) < 0)
		return side_fail(c, "send", r);
	if ((r = ops->recv(c->end, c->buf, c->env.size)) < 0)
		return side_fail(c, "recv ack", r);
	t1 = bench_now_ns();
	c->ctl->msgs = n;
	c->ctl->elapsed_ns = t1 - t0;
	return 0;
}

static int tput_b(struct side_ctx *c)
{
	const struct bench_ops *ops = c->env.mech->ops;
	unsigned long w = warm_msgs(c->env.size);
	uint64_t total;
	int r;

	/* Warm-up rounds of w messages, each acknowledged, until the first
	 * message of a round arrives with the total published: that round is
	 * the measured one. */
	for (;;) {
		if ((r = do_recv_many(c, 1)) < 0)
			return side_fail(c, "recv", r);
		total = atomic_load_explicit(&c->ctl->total, memory_order_acquire);
		if (total)
			break;
		if ((r = do_recv_many(c, w - 1)) < 0)
			return side_fail(c, "recv", r);
		if ((r = ops->send(c->end, c->buf, c->env.size)) < 0)
			return side_fail(c, "send ack", r);
	}
	if (total > 1 && (r = do_recv_many(c, total - 1)) < 0)
		return side_fail(c, "recv", r);
	if ((r = ops->send(c->end, c->buf, c->env.size)) < 0)
		return side_fail(c, "send ack", r);
	return 0;
}

static void __attribute__((noreturn)) side_main(struct side_ctx *c)
{
	const struct bench_ops *ops = c->env.mech->ops;
	int status = 1, r;

	/* The supervisor decides when a run stops (see the top). */
	signal(SIGINT, SIG_IGN);
	signal(SIGTERM, SIG_DFL);
	signal(SIGPIPE, SIG_IGN);
	bench_child_sigmask(); /* a SIGTERM held since the fork ends it here */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != c->ctl->supervisor)
		_exit(1); /* it is gone already */
	if ((r = pin(c->o->cpu[c->side])) < 0) {
		side_fail(c, "sched_setaffinity", r);
		_exit(1);
	}
	if ((r = wait_word(c->ctl, &c->ctl->go, 1, c->o->timeout_ns)) < 0)
		_exit(1);
	c->env.peer = c->ctl->pid[!c->side];
	c->buf = aligned_alloc(64, (c->env.size + 63) & ~(size_t)63);
	if (!c->buf) {
		side_fail(c, "malloc", -ENOMEM);
		_exit(1);
	}
	memset(c->buf, 0xa5, c->env.size);
	r = ops->open(&c->env, c->shared, c->side, &c->end);
	if (r < 0) {
		side_fail(c, "open", r);
		goto out;
	}
	/* Release: pairs with the acquire in wait_word() of the other side. */
	atomic_fetch_add_explicit(&c->ctl->opened, 1, memory_order_acq_rel);
	if (wait_word(c->ctl, &c->ctl->opened, 2, c->o->timeout_ns) < 0)
		goto out;
	if (c->env.kind == BENCH_RTT)
		status = c->side == BENCH_A ? rtt_a(c) : rtt_b(c);
	else
		status = c->side == BENCH_A ? tput_a(c) : tput_b(c);
out:
	if (ops->close)
		ops->close(c->end, c->side);
	free(c->buf);
	_exit(status);
}

/* Whether the run must stop: *o->stop is set, or (o->watch_out) the
 * reader of standard output went away, which sets it to SIGPIPE. */
static bool stopped(const struct bench_opts *o)
{
	struct pollfd p = { .fd = STDOUT_FILENO, .events = 0 };
	sigset_t held;

	if (!o->stop)
		return false;
	/* Signals held since the last wait are taken now: a ppoll() that an
	 * fd ended keeps one that came meanwhile (a side killed by the same
	 * SIGTERM, sent to the process group, must not count as a failure). */
	sigprocmask(SIG_SETMASK, &open_mask, &held);
	sigprocmask(SIG_SETMASK, &held, NULL);
	if (!*o->stop && o->watch_out && poll(&p, 1, 0) == 1 && (p.revents & (POLLERR | POLLHUP)))
		*o->stop = SIGPIPE;
	return *o->stop != 0;
}

/* Sleeps in ppoll() on @pfd for at most @ns, taking signals meanwhile
 * (see the top); with @stop_wakes, not at all once the run is stopping. */
static void wait_events(const struct bench_opts *o, struct pollfd *pfd, nfds_t n, int64_t ns,
			bool stop_wakes)
{
	struct timespec ts = { ns / 1000000000, ns % 1000000000 };

	if (stop_wakes && o->stop && *o->stop)
		return;
	(void)ppoll(pfd, n, &ts, &open_mask);
}

/*
 * Waits for both sides until @deadline; kills both when one fails, the
 * deadline passes or the run is stopped. Sleeps in ppoll() on pidfds (and
 * standard output, for o->watch_out), so the supervisor takes no CPU from
 * the sides while they measure (10 ms naps where pidfd_open() is
 * missing). Return: 0 when both exited 0; -EINTR stopped (both are
 * reaped); -ETIMEDOUT; -ECHILD when a side died (the reason is in
 * ctl->err, or the signal in @why).
 */
static int reap(const struct bench_opts *o, pid_t pid[2], int64_t deadline, char *why, size_t len)
{
	struct pollfd pfd[3];
	bool cut = false;
	int bad = 0, st, i, n;

	for (i = 0; i < 2; i++) {
		pfd[i].fd = pid[i] > 0 ? (int)syscall(SYS_pidfd_open, pid[i], 0) : -1;
		pfd[i].events = POLLIN;
	}
	pfd[2].fd = o->stop && o->watch_out ? STDOUT_FILENO : -1;
	pfd[2].events = 0; /* POLLERR: no reader any more */
	for (;;) {
		int64_t left, nap = 1000000000;

		for (i = 0, n = 0; i < 2; i++) {
			pid_t p;

			if (pid[i] <= 0)
				continue;
			p = waitpid(pid[i], &st, WNOHANG);
			if (p == 0 || (p < 0 && errno == EINTR)) {
				n++;
				continue;
			}
			pid[i] = 0;
			if (p < 0 || (WIFEXITED(st) && WEXITSTATUS(st) == 0))
				continue;
			if (!bad) {
				bad = -ECHILD;
				if (WIFSIGNALED(st))
					snprintf(why, len, "side %c killed by signal %d (%s)",
						 i == 0 ? 'A' : 'B', WTERMSIG(st),
						 strsignal(WTERMSIG(st)));
			}
			/* The other side may wait for this one forever. */
			if (pid[!i] > 0)
				kill(pid[!i], SIGKILL);
		}
		if (n == 0)
			break;
		if (!cut && stopped(o)) {
			cut = true;
			for (i = 0; i < 2; i++)
				if (pid[i] > 0)
					kill(pid[i], SIGKILL);
			pfd[2].fd = -1; /* seen; would wake the wait at once */
			deadline = INT64_MAX;
		}
		left = deadline - bench_now_ns();
		if (left <= 0) {
			for (i = 0; i < 2; i++)
				if (pid[i] > 0)
					kill(pid[i], SIGKILL);
			if (!bad) {
				snprintf(why, len, "timed out (a side hung)");
				bad = -ETIMEDOUT;
			}
			deadline = INT64_MAX;
			continue;
		}
		/* A reaped side's pidfd goes; ppoll() skips fd -1. */
		for (i = 0; i < 2; i++) {
			if (pid[i] <= 0 && pfd[i].fd >= 0) {
				close(pfd[i].fd);
				pfd[i].fd = -1;
			}
			if (pid[i] > 0 && pfd[i].fd < 0)
				nap = 10000000; /* no pidfd: look again soon */
		}
		/* Once cut, only the killed sides' ends matter. */
		wait_events(o, pfd, 3, left < nap ? left : nap, !cut);
	}
	for (i = 0; i < 2; i++)
		if (pfd[i].fd >= 0)
			close(pfd[i].fd);
	return cut ? -EINTR : bad;
}

static void finish(struct bench_result *res, const struct ctl *ctl)
{
	const struct hist *h = &ctl->hist;

	if (res->kind == BENCH_RTT) {
		res->samples = h->count;
		res->min_ns = h->min;
		res->p50_ns = hist_quantile(h, 0.50);
		res->p90_ns = hist_quantile(h, 0.90);
		res->p99_ns = hist_quantile(h, 0.99);
		res->p999_ns = hist_quantile(h, 0.999);
		res->max_ns = h->max;
		res->mean_ns = h->count ? (double)h->sum / (double)h->count : 0;
		res->msgs_per_s = res->mean_ns > 0 ? 1e9 / res->mean_ns : 0;
		res->mb_per_s = res->msgs_per_s * (double)res->size / 1e6;
	} else {
		res->samples = ctl->msgs;
		res->mean_ns = ctl->msgs ? (double)ctl->elapsed_ns / (double)ctl->msgs : 0;
		res->msgs_per_s =
			ctl->elapsed_ns > 0 ? (double)ctl->msgs * 1e9 / (double)ctl->elapsed_ns : 0;
		res->mb_per_s = res->msgs_per_s * (double)res->size / 1e6;
	}
}

static pid_t fork_side(struct side_ctx *c)
{
	pid_t pid;

	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid == 0)
		side_main(c);
	return pid;
}

/* One case into @res. Return: 0; -EINTR when the run was stopped first
 * or meanwhile (@res is then no result; what the case made is removed). */
static int run_case(const struct bench_opts *o, struct ctl *ctl, struct bench_result *res,
		    unsigned seq)
{
	const struct bench_ops *ops = res->mech->ops;
	char why[BENCH_WHY_MAX] = "", tag[48];
	struct side_ctx c[2];
	void *shared = NULL;
	pid_t pid[2] = { 0, 0 };
	int64_t deadline;
	int r, i;

	snprintf(tag, sizeof(tag), "ipkb-%d-%u", (int)getpid(), seq);
	memset(c, 0, sizeof(c));
	c[0].env = (struct bench_env){ .mech = res->mech,
				       .size = res->size,
				       .kind = res->kind,
				       .tag = tag,
				       .timeout_ns = o->timeout_ns,
				       .why = why,
				       .stop = o->stop };
	if (ops->check && (r = ops->check(&c[0].env)) != 0)
		goto not_run;
	if (ops->prepare && (r = ops->prepare(&c[0].env, &shared)) != 0)
		goto not_run;
	if (stopped(o)) {
		r = -EINTR;
		goto out;
	}

	memset(ctl, 0, sizeof(*ctl));
	hist_init(&ctl->hist);
	ctl->supervisor = getpid();
	for (i = 0; i < 2; i++) {
		c[i].o = o;
		c[i].env = c[0].env;
		c[i].ctl = ctl;
		c[i].shared = shared;
		c[i].side = (enum bench_side)i;
	}
	/* B first: A starts the traffic, B must exist to take it. */
	for (i = 1; i >= 0; i--) {
		pid[i] = fork_side(&c[i]);
		if (pid[i] < 0) {
			r = bench_neg_errno();
			pid[i] = 0;
			snprintf(res->why, sizeof(res->why), "fork: %s", strerror(-r));
			atomic_store(&ctl->failed, 1);
			if (reap(o, pid, bench_deadline(o->timeout_ns), why, sizeof(why)) == -EINTR)
				r = -EINTR;
			res->status = r;
			goto out;
		}
	}
	ctl->pid[0] = pid[0];
	ctl->pid[1] = pid[1];
	/* Release: the sides read the pids after their acquire of go. */
	atomic_store_explicit(&ctl->go, 1, memory_order_release);
	deadline = bench_deadline(3 * o->timeout_ns + 4 * (o->budget_ns + o->warmup_ns));
	r = reap(o, pid, deadline, why, sizeof(why));
	/* A side that failed because the run stopped (a Ctrl-C at a terminal
	 * also ends the servers a row started) is no result either. */
	if (r == -EINTR || (r < 0 && stopped(o))) {
		r = -EINTR;
		goto out;
	}
	if (r < 0) {
		res->status = r;
		if (ctl->err[0][0] || ctl->err[1][0])
			snprintf(res->why, sizeof(res->why), "%s%s%s", ctl->err[0],
				 ctl->err[0][0] && ctl->err[1][0] ? "; " : "", ctl->err[1]);
		else
			snprintf(res->why, sizeof(res->why), "%s", why);
		goto out;
	}
	res->status = 0;
	finish(res, ctl);
out:
	if (ops->destroy)
		ops->destroy(&c[0].env, shared);
	return r == -EINTR ? -EINTR : 0;
not_run:
	/* .prepare removed what it made before it returned. */
	if (r < 0 && stopped(o))
		return -EINTR;
	res->status = r;
	if (r == BENCH_NA)
		snprintf(res->why, sizeof(res->why), "%s", why);
	else
		snprintf(res->why, sizeof(res->why), "%s: %s", why[0] ? why : "setup",
			 strerror(-r));
	if (ops->destroy && r != BENCH_NA && shared)
		ops->destroy(&c[0].env, shared);
	return 0;
}

static void progress(const struct bench_opts *o, size_t done, size_t total,
		     const struct bench_result *res)
{
	const int width = 30;
	int fill = total ? (int)(done * (size_t)width / total) : width;

	if (!o->progress)
		return;
	if (!res) {
		fprintf(stderr, "\r\033[K");
		return;
	}
	fprintf(stderr, "\r\033[K[%.*s%*s] %zu/%zu %s %zu %s", fill,
		"##############################", width - fill, "", done, total, res->mech->name,
		res->size, res->kind == BENCH_RTT ? "rtt" : "throughput");
	fflush(stderr);
}

size_t bench_case_count(const struct bench_opts *o)
{
	size_t k = 0, m;

	for (m = 0; m < o->nmech; m++)
		k += o->nsizes * (size_t)(!!(o->mech[m]->kinds & BENCH_RTT) +
					  !!(o->mech[m]->kinds & BENCH_TPUT));
	return k;
}

int bench_run(const struct bench_opts *o, struct bench_result **ret, size_t *n)
{
	struct bench_result *res;
	struct ctl *ctl;
	size_t cap = o->nmech * o->nsizes * 2, k = 0, s, m, done;
	unsigned kinds[2] = { BENCH_RTT, BENCH_TPUT }, j;
	sigset_t all;
	int r = 0;

	res = calloc(cap ? cap : 1, sizeof(*res));
	if (!res)
		return -ENOMEM;
	ctl = mmap(NULL, sizeof(*ctl), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (ctl == MAP_FAILED) {
		r = bench_neg_errno();
		free(res);
		return r;
	}
	/* Every signal held until the end, but in the waits: see the top. */
	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, &open_mask);
	/* Table order: by size, then kind, then row. */
	for (s = 0; s < o->nsizes; s++)
		for (j = 0; j < 2; j++)
			for (m = 0; m < o->nmech; m++) {
				if (!(o->mech[m]->kinds & kinds[j]))
					continue;
				res[k].mech = o->mech[m];
				res[k].size = o->sizes[s];
				res[k].kind = kinds[j];
				k++;
			}
	for (done = 0; done < k; done++) {
		int64_t t0 = bench_now_ns();

		if (stopped(o)) {
			r = -EINTR;
			break;
		}
		progress(o, done, k, &res[done]);
		if (run_case(o, ctl, &res[done], (unsigned)done) < 0) {
			r = -EINTR;
			break;
		}
		res[done].wall_ms = (double)(bench_now_ns() - t0) / 1e6;
	}
	progress(o, k, k, NULL);
	sigprocmask(SIG_SETMASK, &open_mask, NULL);
	munmap(ctl, sizeof(*ctl));
	*ret = res;
	*n = done;
	return r;
}

static void read_cpu_model(char *buf, size_t len)
{
	FILE *f = fopen("/proc/cpuinfo", "re");
	char line[256];

	snprintf(buf, len, "unknown");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		char *colon = strchr(line, ':');

		if (!colon || strncmp(line, "model name", 10) != 0)
			continue;
		colon++;
		while (*colon == ' ' || *colon == '\t')
			colon++;
		colon[strcspn(colon, "\n")] = 0;
		snprintf(buf, len, "%s", colon);
		break;
	}
	fclose(f);
}

/* The cost of one clock read, as the timed loops pay it: the mean of many
 * back-to-back reads, the lowest of a few rounds. */
static double timer_overhead(void)
{
	double best = 1e9;
	int round, i;

	for (round = 0; round < 5; round++) {
		int64_t t0 = bench_now_ns(), t1 = 0;

		for (i = 0; i < 10000; i++)
			t1 = bench_now_ns();
		if ((double)(t1 - t0) / 10000.0 < best)
			best = (double)(t1 - t0) / 10000.0;
	}
	return best;
}

void bench_machine_info(const struct bench_opts *o, struct bench_machine *m)
{
	struct utsname u;
	time_t now = time(NULL);
	struct tm tm;

	memset(m, 0, sizeof(*m));
	read_cpu_model(m->cpu_model, sizeof(m->cpu_model));
	if (uname(&u) == 0) {
		snprintf(m->kernel, sizeof(m->kernel), "%s %s %s", u.sysname, u.release, u.machine);
		snprintf(m->hostname, sizeof(m->hostname), "%s", u.nodename);
	}
	m->online_cpus = (unsigned)sysconf(_SC_NPROCESSORS_ONLN);
	m->cpu[0] = o->cpu[0];
	m->cpu[1] = o->cpu[1];
	m->timer_overhead_ns = timer_overhead();
	gmtime_r(&now, &tm);
	strftime(m->date, sizeof(m->date), "%Y-%m-%dT%H:%M:%SZ", &tm);
}
