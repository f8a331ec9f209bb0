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
 * Paced cases (BENCH_RATE, BENCH_FANOUT) are set by the rate instead: A
 * publishes the warm-up count and the total before its first message and
 * sends them on an absolute schedule, each stamped with its sequence
 * number and CLOCK_MONOTONIC time; every B side (one, or the subscribers
 * of a fan-out case, each with its own histogram) takes the difference at
 * arrival. Each side reads its CPU time (CLOCK_PROCESS_CPUTIME_ID: user
 * and system, all its threads) at the start and the end of its measuring
 * window. A waits until every B side has counted the last message before
 * it closes its end, so that closing cannot take one away.
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
#include <stddef.h>
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
#define MIN_FEW 10             /* for messages so large that 100 take too long */
#define MAX_SAMPLES 50000000ul /* a case at 160 M/s still fills --time 0.3 */
#define PACE_MIN_WARM 10       /* paced warm-up: at least this many messages */
#define ERR_MAX 200
#define MAX_PROCS (1 + BENCH_MAX_SUBS) /* A, then the B sides */

struct ctl {
	_Atomic uint32_t go;     /* supervisor: pids are set, start */
	_Atomic uint32_t opened; /* sides that have opened their ends */
	_Atomic uint32_t failed; /* a side failed: stop waiting for it */
	_Atomic uint32_t done;   /* paced: B sides that counted every message */
	_Atomic uint32_t b_err;  /* a B side has claimed err[1] */
	_Atomic uint32_t lost;   /* paced: 1 + the first B side that lost messages */
	_Atomic uint64_t total;  /* A -> B: messages in the case, 0 = not yet */
	uint64_t warm;           /* paced, A -> B before total: messages not timed */
	pid_t supervisor;        /* the sides' parent, set before the fork */
	unsigned nproc;          /* A and the B sides */
	pid_t pid[MAX_PROCS];
	char err[2][ERR_MAX];      /* A's failure, the first B side's: "step: strerror" */
	uint64_t msgs;             /* tput, paced: messages timed */
	int64_t elapsed_ns;        /* tput: their time */
	uint64_t late;             /* paced: messages A sent a period or more late */
	int64_t cpu_ns[MAX_PROCS]; /* paced: CPU time in each side's window */
	int64_t win_ns[MAX_PROCS]; /* paced: the window, first to last message */
	struct hist hist;          /* rtt: one sample per round trip */
	struct hist sub_hist[BENCH_MAX_SUBS]; /* paced: one-way, per B side */
};

/* Fan-out: the CPUs subscribers are pinned to, round-robin (bench_run()). */
static int fan_cpu[CPU_SETSIZE];
static unsigned nfan_cpu;

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
	unsigned idx; /* in ctl->pid: 0 is A, 1 + env.sub a B side */
	void *end;
	char *buf;
};

/* "side A", "side B", or "subscriber N" of a fan-out case. */
static void side_label(unsigned idx, unsigned nproc, char *buf, size_t len)
{
	if (idx == 0 || nproc <= 2)
		snprintf(buf, len, "side %c", idx == 0 ? 'A' : 'B');
	else
		snprintf(buf, len, "subscriber %u", idx - 1);
}

static void nap(void)
{
	struct timespec ts = { 0, 50000 };

	nanosleep(&ts, NULL);
}

static int side_fail(struct side_ctx *c, const char *step, int err)
{
	char who[32];

	/* Of many B sides, the first to fail says why. */
	if (c->side == BENCH_A ||
	    atomic_exchange_explicit(&c->ctl->b_err, 1, memory_order_relaxed) == 0) {
		side_label(c->idx, c->ctl->nproc, who, sizeof(who));
		snprintf(c->ctl->err[c->side], ERR_MAX, "%s: %s: %s", who, step,
			 strerror(err < 0 ? -err : err));
	}
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

/* The warm-up and measured messages of a paced case at @rate: the warm-up
 * and budget times' worth, at least PACE_MIN_WARM and MIN_SAMPLES. */
static void pace_counts(const struct bench_opts *o, double rate, uint64_t *warm, uint64_t *n)
{
	double w = rate * (double)o->warmup_ns / 1e9, m = rate * (double)o->budget_ns / 1e9;

	*warm = w < PACE_MIN_WARM         ? PACE_MIN_WARM
		: w > (double)MAX_SAMPLES ? MAX_SAMPLES
					  : (uint64_t)w;
	*n = m < MIN_SAMPLES ? MIN_SAMPLES : m > (double)MAX_SAMPLES ? MAX_SAMPLES : (uint64_t)m;
}

static int64_t cpu_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/*
 * Waits until @due (CLOCK_MONOTONIC, ns) and returns the time then. It
 * sleeps until a margin before @due and spins the rest: the margin is
 * twice *@late_ns, a running mean of how late such sleeps wake up (60-90 us
 * on a virtual machine), plus 5 us, at most 1 ms. So the sender's CPU is
 * what pacing costs on this machine, and above about 1 / (wake-up time)
 * messages per second it spins throughout.
 */
static int64_t pace_until(int64_t due, int64_t *late_ns)
{
	int64_t now = bench_now_ns(), margin = 2 * *late_ns + 5000;
	unsigned spins = 0;

	if (margin > 1000000)
		margin = 1000000;
	if (due - now > margin) {
		int64_t wake = due - margin;
		struct timespec ts = { wake / 1000000000, wake % 1000000000 };

		while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
			;
		now = bench_now_ns();
		*late_ns += (now - wake - *late_ns) / 8;
	}
	while (now < due) {
		bench_spin(&spins);
		now = bench_now_ns();
	}
	return now;
}

/*
 * Paced sender: message k is due at t0 + k / rate, whatever happened to
 * the ones before (an absolute schedule: a late message goes at once and
 * the next keeps its time, so the rate never drifts); one sent a period or
 * more after its time is counted late. Carries [0, 8) its sequence number,
 * [8, 16) the time just before the send.
 */
static int pace_a(struct side_ctx *c)
{
	const struct bench_ops *ops = c->env.mech->ops;
	double period = 1e9 / c->env.rate;
	uint64_t warm, n, total, k, late = 0;
	int64_t est = 50000, t0, start = 0, now = 0, cpu0 = 0, limit;
	int r;

	pace_counts(c->o, c->env.rate, &warm, &n);
	total = warm + n;
	c->ctl->warm = warm;
	/* Release: each B side loads it after its first message, which this
	 * store precedes (and warm with it). */
	atomic_store_explicit(&c->ctl->total, total, memory_order_release);
	/* A row too slow for the rate: end, as a round trip does, at four
	 * times the planned window. */
	limit = 4 * (int64_t)((double)n * period > (double)c->o->budget_ns
				      ? (double)n * period
				      : (double)c->o->budget_ns);
	t0 = bench_now_ns();
	for (k = 0; k < total; k++) {
		int64_t due = t0 + (int64_t)((double)k * period);

		now = pace_until(due, &est);
		if (k == warm) {
			start = due;
			cpu0 = cpu_now();
		}
		if (k >= warm && now - due >= (int64_t)period)
			late++;
		if (k >= warm + MIN_SAMPLES && k + 1 < total && now - start > limit) {
			total = k + 1; /* this one is the last; B sees it as above */
			atomic_store_explicit(&c->ctl->total, total, memory_order_release);
		}
		memcpy(c->buf, &k, sizeof(k));
		now = bench_now_ns();
		memcpy(c->buf + 8, &now, sizeof(now));
		if ((r = ops->send(c->end, c->buf, c->env.size)) < 0)
			return side_fail(c, "send", r);
	}
	now = bench_now_ns();
	c->ctl->cpu_ns[0] = cpu_now() - cpu0;
	c->ctl->win_ns[0] = now - start;
	c->ctl->msgs = total - warm;
	c->ctl->late = late;
	r = wait_word(c->ctl, &c->ctl->done, c->env.nsubs, c->o->timeout_ns);
	if (r == -ETIMEDOUT)
		return side_fail(c, "wait for the receivers", r);
	return r < 0 ? 1 : 0; /* -ECANCELED: a B side failed and says why */
}

/* Paced receiver (one of env.nsubs): timestamps each arrival. */
static int pace_b(struct side_ctx *c)
{
	const struct bench_ops *ops = c->env.mech->ops;
	struct hist *h = &c->ctl->sub_hist[c->env.sub];
	uint64_t i, seq, warm = 0, total;
	int64_t sent, now = 0, start = 0, cpu0 = 0;
	int r;

	for (i = 0;; i++) {
		if ((r = ops->recv(c->end, c->buf, c->env.size)) < 0) {
			if (r == -ENOBUFS) {
				uint32_t none = 0;

				atomic_compare_exchange_strong(&c->ctl->lost, &none, c->idx);
			}
			return side_fail(c, "recv", r);
		}
		now = bench_now_ns();
		memcpy(&seq, c->buf, sizeof(seq));
		memcpy(&sent, c->buf + 8, sizeof(sent));
		if (seq != i)
			return side_fail(c, "recv: a message lost, reordered or altered", -EPROTO);
		/* Acquire: pairs with A's release store of the total. */
		total = atomic_load_explicit(&c->ctl->total, memory_order_acquire);
		if (i == 0)
			warm = c->ctl->warm;
		if (i == warm) {
			start = now;
			cpu0 = cpu_now();
		}
		if (i >= warm)
			hist_add(h, now > sent ? (uint64_t)(now - sent) : 0);
		if (i + 1 >= total)
			break;
	}
	c->ctl->cpu_ns[c->idx] = cpu_now() - cpu0;
	c->ctl->win_ns[c->idx] = now - start;
	/* Release: A reads nothing of ours, but may close once all are in. */
	atomic_fetch_add_explicit(&c->ctl->done, 1, memory_order_release);
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
	if ((r = pin(c->env.kind == BENCH_FANOUT && c->side == BENCH_B
			     ? fan_cpu[c->env.sub % nfan_cpu]
			     : c->o->cpu[c->side])) < 0) {
		side_fail(c, "sched_setaffinity", r);
		_exit(1);
	}
	if ((r = wait_word(c->ctl, &c->ctl->go, 1, c->o->timeout_ns)) < 0)
		_exit(1);
	c->env.peer = c->ctl->pid[c->side == BENCH_A ? 1 : 0];
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
	if (wait_word(c->ctl, &c->ctl->opened, c->ctl->nproc, c->o->timeout_ns) < 0)
		goto out;
	if (c->env.kind == BENCH_RTT)
		status = c->side == BENCH_A ? rtt_a(c) : rtt_b(c);
	else if (c->env.kind == BENCH_TPUT)
		status = c->side == BENCH_A ? tput_a(c) : tput_b(c);
	else
		status = c->side == BENCH_A ? pace_a(c) : pace_b(c);
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

/* Kills every side still running. */
static void kill_all(const pid_t *pid, unsigned n)
{
	unsigned i;

	for (i = 0; i < n; i++)
		if (pid[i] > 0)
			kill(pid[i], SIGKILL);
}

/*
 * Waits for the @n sides until @deadline; kills them all when one fails,
 * the deadline passes or the run is stopped. Sleeps in ppoll() on pidfds
 * (and standard output, for o->watch_out), so the supervisor takes no CPU
 * from the sides while they measure (10 ms naps where pidfd_open() is
 * missing). Return: 0 when all exited 0; -EINTR stopped (all are reaped);
 * -ETIMEDOUT; -ECHILD when a side died (the reason is in ctl->err, or the
 * signal in @why).
 */
static int reap(const struct bench_opts *o, pid_t *pid, unsigned np, int64_t deadline, char *why,
		size_t len)
{
	struct pollfd pfd[MAX_PROCS + 1];
	bool cut = false;
	int bad = 0, st;
	unsigned i, n;

	for (i = 0; i < np; i++) {
		pfd[i].fd = pid[i] > 0 ? (int)syscall(SYS_pidfd_open, pid[i], 0) : -1;
		pfd[i].events = POLLIN;
	}
	pfd[np].fd = o->stop && o->watch_out ? STDOUT_FILENO : -1;
	pfd[np].events = 0; /* POLLERR: no reader any more */
	for (;;) {
		int64_t left, nap = 1000000000;

		for (i = 0, n = 0; i < np; i++) {
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
				char who[32];

				bad = -ECHILD;
				side_label(i, np, who, sizeof(who));
				if (WIFSIGNALED(st))
					snprintf(why, len, "%s killed by signal %d (%s)", who,
						 WTERMSIG(st), strsignal(WTERMSIG(st)));
			}
			/* The others may wait for this one forever. */
			kill_all(pid, np);
		}
		if (n == 0)
			break;
		if (!cut && stopped(o)) {
			cut = true;
			kill_all(pid, np);
			pfd[np].fd = -1; /* seen; would wake the wait at once */
			deadline = INT64_MAX;
		}
		left = deadline - bench_now_ns();
		if (left <= 0) {
			kill_all(pid, np);
			if (!bad) {
				snprintf(why, len, "timed out (a side hung)");
				bad = -ETIMEDOUT;
			}
			deadline = INT64_MAX;
			continue;
		}
		/* A reaped side's pidfd goes; ppoll() skips fd -1. */
		for (i = 0; i < np; i++) {
			if (pid[i] <= 0 && pfd[i].fd >= 0) {
				close(pfd[i].fd);
				pfd[i].fd = -1;
			}
			if (pid[i] > 0 && pfd[i].fd < 0)
				nap = 10000000; /* no pidfd: look again soon */
		}
		/* Once cut, only the killed sides' ends matter. */
		wait_events(o, pfd, np + 1, left < nap ? left : nap, !cut);
	}
	for (i = 0; i < np; i++)
		if (pfd[i].fd >= 0)
			close(pfd[i].fd);
	return cut ? -EINTR : bad;
}

static void hist_stats(const struct hist *h, struct bench_sub *s)
{
	s->samples = h->count;
	s->min_ns = h->count ? h->min : 0;
	s->p50_ns = hist_quantile(h, 0.50);
	s->p90_ns = hist_quantile(h, 0.90);
	s->p99_ns = hist_quantile(h, 0.99);
	s->p999_ns = hist_quantile(h, 0.999);
	s->max_ns = h->max;
	s->mean_ns = h->count ? (double)h->sum / (double)h->count : 0;
}

static double per_second(int64_t cpu_ns, int64_t win_ns)
{
	return win_ns > 0 ? (double)cpu_ns / (double)win_ns : 0;
}

/* A paced case's results; -ENOMEM. CPU is per second of feed: over the
 * sender's window (n messages, n periods), for every side alike, so that
 * receivers that share a CPU add up to at most about that CPU. */
static int finish_paced(struct bench_result *res, const struct ctl *ctl)
{
	static struct hist all; /* the supervisor's, one case at a time */
	int64_t feed = ctl->win_ns[0] + (int64_t)(1e9 / res->rate);
	struct bench_sub s;
	unsigned i;

	res->sub = calloc(res->nsubs, sizeof(*res->sub));
	if (!res->sub)
		return -ENOMEM;
	hist_init(&all);
	for (i = 0; i < res->nsubs; i++) {
		hist_stats(&ctl->sub_hist[i], &res->sub[i]);
		res->sub[i].cpu = per_second(ctl->cpu_ns[1 + i], feed);
		res->cpu_recv += res->sub[i].cpu;
		hist_merge(&all, &ctl->sub_hist[i]);
	}
	hist_stats(&all, &s);
	res->samples = s.samples;
	res->min_ns = s.min_ns;
	res->p50_ns = s.p50_ns;
	res->p90_ns = s.p90_ns;
	res->p99_ns = s.p99_ns;
	res->p999_ns = s.p999_ns;
	res->max_ns = s.max_ns;
	res->mean_ns = s.mean_ns;
	res->late = ctl->late;
	res->cpu_send = per_second(ctl->cpu_ns[0], feed);
	/* n messages take n periods: the window runs from the first one's
	 * time to the start of the last one's period. */
	res->msgs_per_s = (double)ctl->msgs * 1e9 / (double)feed;
	res->mb_per_s = res->msgs_per_s * (double)res->size / 1e6;
	return 0;
}

bool bench_behind(const struct bench_result *r)
{
	if (r->status != 0 || !(r->kind & (BENCH_RATE | BENCH_FANOUT)) || !r->msgs_per_s)
		return false;
	return (double)r->late > 0.01 * (double)r->samples / r->nsubs ||
	       r->msgs_per_s < 0.95 * r->rate;
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

static bool paced(unsigned kind)
{
	return kind == BENCH_RATE || kind == BENCH_FANOUT;
}

/* How long a case may take before its sides count as hung. */
static int64_t case_deadline(const struct bench_opts *o, const struct bench_result *res)
{
	int64_t t = 3 * o->timeout_ns + 4 * (o->budget_ns + o->warmup_ns);
	uint64_t warm, n;

	if (paced(res->kind)) {
		pace_counts(o, res->rate, &warm, &n);
		t += 4 * (int64_t)((double)(warm + n) * 1e9 / res->rate);
	}
	return bench_deadline(t);
}

/* One case into @res. Return: 0; -EINTR when the run was stopped first
 * or meanwhile (@res is then no result; what the case made is removed). */
static int run_case(const struct bench_opts *o, struct ctl *ctl, struct bench_result *res,
		    unsigned seq)
{
	const struct bench_ops *ops = res->mech->ops;
	char why[BENCH_WHY_MAX] = "", tag[48];
	static struct side_ctx c[MAX_PROCS];
	unsigned np = 1 + res->nsubs, i;
	void *shared = NULL;
	pid_t pid[MAX_PROCS];
	int r;

	snprintf(tag, sizeof(tag), "ipkb-%d-%u", (int)getpid(), seq);
	memset(c, 0, sizeof(c));
	memset(pid, 0, sizeof(pid));
	c[0].env = (struct bench_env){ .mech = res->mech,
				       .size = res->size,
				       .kind = res->kind,
				       .rate = res->rate,
				       .nsubs = res->nsubs,
				       .tag = tag,
				       .timeout_ns = o->timeout_ns,
				       .why = why,
				       .stop = o->stop };
	if (paced(res->kind) && res->size < BENCH_PACED_MIN) {
		r = bench_na(&c[0].env,
			     "a paced message carries its sequence number and send time: "
			     "%d bytes at least",
			     BENCH_PACED_MIN);
		goto not_run;
	}
	if (ops->check && (r = ops->check(&c[0].env)) != 0)
		goto not_run;
	if (ops->prepare && (r = ops->prepare(&c[0].env, &shared)) != 0)
		goto not_run;
	if (stopped(o)) {
		r = -EINTR;
		goto out;
	}

	memset(ctl, 0, offsetof(struct ctl, hist));
	hist_init(&ctl->hist);
	for (i = 0; i < res->nsubs && paced(res->kind); i++)
		hist_init(&ctl->sub_hist[i]);
	ctl->supervisor = getpid();
	ctl->nproc = np;
	for (i = 0; i < np; i++) {
		c[i].o = o;
		c[i].env = c[0].env;
		c[i].env.sub = i ? i - 1 : 0;
		c[i].ctl = ctl;
		c[i].shared = shared;
		c[i].side = i ? BENCH_B : BENCH_A;
		c[i].idx = i;
	}
	/* The B sides first: A starts the traffic, they must exist to take it. */
	for (i = np; i-- > 0;) {
		pid[i] = fork_side(&c[i]);
		if (pid[i] < 0) {
			r = bench_neg_errno();
			pid[i] = 0;
			snprintf(res->why, sizeof(res->why), "fork: %s", strerror(-r));
			atomic_store(&ctl->failed, 1);
			kill_all(pid, np);
			if (reap(o, pid, np, bench_deadline(o->timeout_ns), why, sizeof(why)) ==
			    -EINTR)
				r = -EINTR;
			res->status = r;
			goto out;
		}
	}
	memcpy(ctl->pid, pid, sizeof(pid));
	/* Release: the sides read the pids after their acquire of go. */
	atomic_store_explicit(&ctl->go, 1, memory_order_release);
	r = reap(o, pid, np, case_deadline(o, res), why, sizeof(why));
	/* A side that failed because the run stopped (a Ctrl-C at a terminal
	 * also ends the servers a row started) is no result either. */
	if (r == -EINTR || (r < 0 && stopped(o))) {
		r = -EINTR;
		goto out;
	}
	if (r < 0 && paced(res->kind) && ctl->lost) {
		char who[32];

		/* What a broadcast that never waits does: a result, not a
		 * failure of the row. */
		side_label(ctl->lost, np, who, sizeof(who));
		res->status = BENCH_NA;
		snprintf(res->why, sizeof(res->why),
			 "%s fell too far behind and lost messages (the sender never waits; "
			 "try fewer receivers per CPU or a lower rate)",
			 who);
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
	if (!paced(res->kind)) {
		finish(res, ctl);
	} else if ((r = finish_paced(res, ctl)) < 0) {
		res->status = r;
		snprintf(res->why, sizeof(res->why), "results: %s", strerror(-r));
	}
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

const char *bench_kind_name(unsigned kind)
{
	switch (kind) {
	case BENCH_RTT:
		return "rtt";
	case BENCH_TPUT:
		return "throughput";
	case BENCH_RATE:
		return "rate";
	default:
		return "fanout";
	}
}

static void progress(const struct bench_opts *o, size_t done, size_t total,
		     const struct bench_result *res)
{
	const int width = 30;
	int fill = total ? (int)(done * (size_t)width / total) : width;
	char what[48];

	if (!o->progress)
		return;
	if (!res) {
		fprintf(stderr, "\r\033[K");
		return;
	}
	if (res->kind == BENCH_RATE)
		snprintf(what, sizeof(what), "rate %.0f/s", res->rate);
	else if (res->kind == BENCH_FANOUT)
		snprintf(what, sizeof(what), "fanout %ux %.0f/s", res->nsubs, res->rate);
	else
		snprintf(what, sizeof(what), "%s", bench_kind_name(res->kind));
	fprintf(stderr, "\r\033[K[%.*s%*s] %zu/%zu %s %zu %s", fill,
		"##############################", width - fill, "", done, total, res->mech->name,
		res->size, what);
	fflush(stderr);
}

/* Counts the cases of @o and, with @res, fills them in, in table order:
 * by size, then kind (rtt, throughput, paced by rate, fan-out by rate and
 * subscribers), then row. */
static size_t each_case(const struct bench_opts *o, struct bench_result *res)
{
	static const unsigned kinds[] = { BENCH_RTT, BENCH_TPUT, BENCH_RATE, BENCH_FANOUT };
	size_t k = 0, s, m;
	unsigned j, q, f;

	for (s = 0; s < o->nsizes; s++)
		for (j = 0; j < sizeof(kinds) / sizeof(kinds[0]); j++) {
			unsigned nq = paced(kinds[j]) ? o->nrates : 1;
			unsigned nf = kinds[j] == BENCH_FANOUT ? o->nsubs : 1;

			if (!(o->kinds & kinds[j]))
				continue;
			for (q = 0; q < nq; q++)
				for (f = 0; f < nf; f++)
					for (m = 0; m < o->nmech; m++) {
						if (!(o->mech[m]->kinds & kinds[j]))
							continue;
						if (res) {
							res[k].mech = o->mech[m];
							res[k].size = o->sizes[s];
							res[k].kind = kinds[j];
							res[k].rate =
								paced(kinds[j]) ? o->rates[q] : 0;
							res[k].nsubs = kinds[j] == BENCH_FANOUT
									       ? o->subs[f]
									       : 1;
						}
						k++;
					}
		}
	return k;
}

size_t bench_case_count(const struct bench_opts *o)
{
	return each_case(o, NULL);
}

/* The CPUs of fan-out subscribers: those this process may use but A's
 * (unless it is the only one), from B's on, round-robin. */
static void fan_cpus(const struct bench_opts *o)
{
	cpu_set_t set;
	int c, first = -1;
	unsigned i;

	nfan_cpu = 0;
	CPU_ZERO(&set);
	if (o->cpu[0] != o->cpu[1] && sched_getaffinity(0, sizeof(set), &set) == 0) {
		for (c = 0; c < CPU_SETSIZE; c++)
			if (CPU_ISSET(c, &set) && c != o->cpu[0]) {
				if (c == o->cpu[1])
					first = (int)nfan_cpu;
				fan_cpu[nfan_cpu++] = c;
			}
	}
	if (first < 0) {
		fan_cpu[0] = o->cpu[1];
		nfan_cpu = 1;
		return;
	}
	/* Rotate: B's CPU first. */
	for (i = 0; i < (unsigned)first; i++) {
		int t = fan_cpu[0];

		memmove(fan_cpu, fan_cpu + 1, (nfan_cpu - 1) * sizeof(fan_cpu[0]));
		fan_cpu[nfan_cpu - 1] = t;
	}
}

int bench_run(const struct bench_opts *o, struct bench_result **ret, size_t *n)
{
	struct bench_result *res;
	struct ctl *ctl;
	size_t k = each_case(o, NULL), done;
	sigset_t all;
	int r = 0;

	res = calloc(k ? k : 1, sizeof(*res));
	if (!res)
		return -ENOMEM;
	ctl = mmap(NULL, sizeof(*ctl), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (ctl == MAP_FAILED) {
		r = bench_neg_errno();
		free(res);
		return r;
	}
	fan_cpus(o);
	/* Every signal held until the end, but in the waits: see the top. */
	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, &open_mask);
	each_case(o, res);
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

void bench_results_free(struct bench_result *r, size_t n)
{
	size_t i;

	if (!r)
		return;
	for (i = 0; i < n; i++)
		free(r[i].sub);
	free(r);
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
