/* SPDX-License-Identifier: MIT */
/*
 * examples/faq-measure.c - the seed's three claims about cost, measured on
 * the machine at hand, in a report anyone can rerun:
 *
 *   notify   "mq_notify removed the polling": the sensor relay woken by
 *            ipk_mq_notify() against the same relay polling its POSIX
 *            queue at the intervals that give the same p99 and the same
 *            p50 delay, at several message rates. Per row: the relay's CPU time per
 *            second (getrusage of the relay process, all its threads),
 *            its wake-ups per second, and the delivery delay (receive time
 *            minus the sender's CLOCK_MONOTONIC stamp in the message). The
 *            queue holds 10 messages (the default fs.mqueue.msg_max): a
 *            poller that lets more pile up makes the sender wait, and the
 *            wait counts in the delay.
 *   pairs    FAQ Q2: aggregate messages/s of N independent sender/receiver
 *            pairs (2N processes), 64-byte messages, for Unix stream
 *            sockets with an epoll receiver, the ring's lossless queue
 *            (consumer sleeping on its futex, and spinning) and a System V
 *            queue; with the CPU time the 2N processes got (wait4).
 *   mapfile  FAQ Q1: writes into a shm_open object, into a mapped file
 *            with msync(MS_SYNC) after every batch, and into a mapped file
 *            left to the kernel's dirty-page writeback (then fsync'ed):
 *            throughput, latency per batch, the fsync at the end, and the
 *            peaks of Dirty and Writeback in /proc/meminfo meanwhile.
 *
 * Everything goes through the public API (channels, rings, ipk_shm); the
 * relay's delay array and the report are this program's own. Numbers on a
 * machine with few cores, or a busy one, say as much about the scheduler
 * as about the mechanism: compare rows of one run, not runs.
 *
 * Usage: faq-measure [notify|pairs|mapfile|all] [options]; see usage().
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/utsname.h>
#include <sys/wait.h>

#include <ipckit/ipckit.h>

#define MSG_SIZE 64
#define TMPFS_MAGIC_ 0x01021994
#define MIB (1024.0 * 1024.0)

struct opts {
	bool json, lng;
	double duration; /* seconds per row; 0 = the section's default */
	unsigned rates[8], nrates;
	unsigned pairs[8], npairs;
	int64_t poll_ns; /* 0 = match the notified relay's p99 */
	const char *dir;
	size_t size, file_size, batch;
};

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * IPK_SEC + ts.tv_nsec;
}

static void sleep_until(int64_t t)
{
	struct timespec ts = { .tv_sec = t / IPK_SEC, .tv_nsec = t % IPK_SEC };

	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
		;
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

/* Latency summary of @n samples in ns (sorted here), in microseconds. */
struct lat {
	double p50, p99, max;
};

static struct lat summarize(int64_t *v, size_t n)
{
	struct lat l = { 0, 0, 0 };

	if (n == 0)
		return l;
	qsort(v, n, sizeof(*v), cmp_i64);
	/* nearest rank: the smallest sample with at least p% at or below it */
	l.p50 = (double)v[(n * 50 + 99) / 100 - 1] / 1e3;
	l.p99 = (double)v[(n * 99 + 99) / 100 - 1] / 1e3;
	l.max = (double)v[n - 1] / 1e3;
	return l;
}

static bool read_all(int fd, void *buf, size_t len)
{
	char *p = buf;

	while (len > 0) {
		ssize_t n = read(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return false;
		p += n;
		len -= (size_t)n;
	}
	return true;
}

static bool write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return false;
		p += n;
		len -= (size_t)n;
	}
	return true;
}

/* Reaps @pid; adds the CPU time it used, all threads, to *@cpu_s if not
 * NULL. Return: its exit status, 128 + signal, or -1. */
static int wait_child(pid_t pid, double *cpu_s)
{
	struct rusage ru;
	int st;

	while (wait4(pid, &st, 0, &ru) < 0)
		if (errno != EINTR)
			return -1;
	if (cpu_s)
		*cpu_s += (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
			  (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* ---- notify: the sensor relay, woken or polling ---------------------- */

struct note_msg {
	int64_t sent_ns; /* CLOCK_MONOTONIC at the sender */
	uint32_t seq;
	uint32_t eof;
	char pad[MSG_SIZE - 16];
};

/* What the relay process reports to the sender through a pipe. */
struct relay_result {
	uint64_t messages, wakeups;
	double cpu_s, wall_s;
	struct lat delay;
	int err;
};

struct relay {
	pthread_mutex_t lock;
	pthread_cond_t done;
	ipk_chan *ch;
	int64_t *delays;
	size_t n, cap;
	uint64_t wakeups;
	bool eof;
	int err;
};

/* Receives until the queue is empty. Called with rl->lock held. */
static void relay_drain(struct relay *rl)
{
	struct note_msg m;
	ssize_t n;

	rl->wakeups++;
	while ((n = ipk_chan_recv(rl->ch, &m, sizeof(m), 0)) >= 0) {
		int64_t t = now_ns();

		if (m.eof) {
			rl->eof = true;
			pthread_cond_signal(&rl->done);
			continue;
		}
		if (rl->n < rl->cap)
			rl->delays[rl->n++] = t - m.sent_ns;
	}
	if (n != -EAGAIN && !rl->err)
		rl->err = (int)n;
}

static void relay_woken(ipk_chan *ch, void *arg)
{
	struct relay *rl = arg;

	(void)ch;
	pthread_mutex_lock(&rl->lock);
	relay_drain(rl);
	pthread_mutex_unlock(&rl->lock);
}

static double rusage_s(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
	       (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

/* The relay process: @poll_ns 0 = woken by mq_notify, else polls. */
static int relay_main(const char *url, int64_t poll_ns, size_t cap, int ready_fd, int res_fd)
{
	struct relay rl = { .lock = PTHREAD_MUTEX_INITIALIZER,
			    .done = PTHREAD_COND_INITIALIZER,
			    .cap = cap };
	struct relay_result res = { 0 };
	double cpu0;
	int64_t t0;
	int r;

	rl.delays = calloc(cap, sizeof(*rl.delays));
	if (!rl.delays)
		return 1;
	r = ipk_chan_open(url, IPK_CHAN_RDONLY, 5 * IPK_SEC, &rl.ch);
	if (r < 0) {
		fprintf(stderr, "faq-measure: relay: %s: %s\n", url, ipk_errname(r));
		return 1;
	}
	if (!poll_ns && (r = ipk_mq_notify(rl.ch, relay_woken, &rl)) < 0) {
		fprintf(stderr, "faq-measure: relay: mq_notify: %s\n", ipk_errname(r));
		return 1;
	}
	cpu0 = rusage_s();
	t0 = now_ns();
	if (!write_all(ready_fd, "r", 1))
		return 1;
	if (!poll_ns) {
		struct timespec dl;

		clock_gettime(CLOCK_REALTIME, &dl);
		dl.tv_sec += 600; /* the sender ends every row with an EOF */
		pthread_mutex_lock(&rl.lock);
		while (!rl.eof && !rl.err && r == 0)
			r = pthread_cond_timedwait(&rl.done, &rl.lock, &dl);
		pthread_mutex_unlock(&rl.lock);
		(void)ipk_mq_notify_off(rl.ch); /* waits for a running callback */
	} else {
		int64_t next = now_ns();

		pthread_mutex_lock(&rl.lock);
		while (!rl.eof && !rl.err) {
			pthread_mutex_unlock(&rl.lock);
			/* fixed ticks; a late tick is not made up for */
			next += poll_ns;
			if (next < now_ns())
				next = now_ns() + poll_ns;
			sleep_until(next);
			pthread_mutex_lock(&rl.lock);
			relay_drain(&rl);
		}
		pthread_mutex_unlock(&rl.lock);
	}
	res.wall_s = (double)(now_ns() - t0) / 1e9;
	res.cpu_s = rusage_s() - cpu0;
	res.messages = rl.n;
	res.wakeups = rl.wakeups;
	res.err = rl.err ? rl.err : (r ? -r : 0);
	res.delay = summarize(rl.delays, rl.n);
	ipk_chan_close(rl.ch);
	free(rl.delays);
	return write_all(res_fd, &res, sizeof(res)) ? 0 : 1;
}

struct note_row {
	unsigned rate;
	int64_t poll_ns;   /* 0: notified */
	const char *match; /* what the interval matches: "p99", "p50", "fixed" */
	struct relay_result res;
};

/* One row: a fresh queue, a relay process, @count messages at @rate. */
static int note_row(unsigned rate, double duration, int64_t poll_ns, struct note_row *row)
{
	uint64_t count = (uint64_t)(rate * duration + 0.5);
	int ready[2] = { -1, -1 }, res[2] = { -1, -1 };
	struct note_msg m;
	char url[128], c;
	ipk_chan *ch = NULL;
	int64_t start, period = IPK_SEC / rate;
	pid_t pid = -1;
	int r = -1, st;

	if (count < 5)
		count = 5; /* a percentile of fewer means nothing */
	memset(row, 0, sizeof(*row));
	row->rate = rate;
	row->poll_ns = poll_ns;
	snprintf(url, sizeof(url), "mq:/ipk-faq-%d-%u?maxmsg=10&msgsize=%d", (int)getpid(), rate,
		 MSG_SIZE);
	r = ipk_chan_open(url, IPK_CHAN_CREATE | IPK_CHAN_EXCL | IPK_CHAN_WRONLY, 0, &ch);
	if (r < 0) {
		const char *hint = ipk_mq_limit_hint(r, url, IPK_MQ_OP_OPEN);

		fprintf(stderr, "faq-measure: %s: %s%s%s\n", url, ipk_errname(r),
			hint ? "; limit: " : "", hint ? hint : "");
		return -1;
	}
	r = -1;
	if (pipe2(ready, O_CLOEXEC) < 0 || pipe2(res, O_CLOEXEC) < 0)
		goto out;
	fflush(NULL);
	pid = fork();
	if (pid < 0)
		goto out;
	if (pid == 0)
		_exit(relay_main(url, poll_ns, (size_t)count + 16, ready[1], res[1]));
	close(ready[1]);
	close(res[1]);
	ready[1] = res[1] = -1;
	if (!read_all(ready[0], &c, 1))
		goto out;

	memset(&m, 0, sizeof(m));
	start = now_ns() + period;
	for (uint64_t i = 0; i < count; i++) {
		sleep_until(start + (int64_t)i * period);
		m.seq = (uint32_t)i;
		m.sent_ns = now_ns();
		r = ipk_chan_send(ch, &m, sizeof(m), 5 * IPK_SEC);
		if (r < 0) {
			fprintf(stderr, "faq-measure: send: %s\n", ipk_errname(r));
			goto out;
		}
	}
	m.eof = 1;
	r = ipk_chan_send(ch, &m, sizeof(m), 5 * IPK_SEC);
	if (r < 0 || !read_all(res[0], &row->res, sizeof(row->res)))
		r = -1;
	else if (row->res.err) {
		fprintf(stderr, "faq-measure: relay: %s\n", ipk_errname(row->res.err));
		r = -1;
	}
out:
	if (pid > 0) {
		if (r < 0)
			kill(pid, SIGTERM);
		st = wait_child(pid, NULL);
		if (st != 0)
			r = -1;
	}
	for (int i = 0; i < 2; i++) {
		if (ready[i] >= 0)
			close(ready[i]);
		if (res[i] >= 0)
			close(res[i]);
	}
	ipk_chan_close(ch); /* the creator removes the queue */
	return r < 0 ? -1 : 0;
}

/* Per rate: the woken relay, then the polling relay at the intervals that
 * match its p99 (polling's worst case is about one interval) and its p50
 * (polling's median is about half an interval), or at --poll-us. */
static int run_notify(const struct opts *o, struct note_row *rows, unsigned *nrows)
{
	double dur = o->duration > 0 ? o->duration : o->lng ? 10.0 : 2.0;

	*nrows = 0;
	for (unsigned i = 0; i < o->nrates; i++) {
		struct note_row *woken = &rows[(*nrows)++];
		int64_t iv[2] = { o->poll_ns, 0 };
		const char *match[2] = { "fixed", NULL };

		if (note_row(o->rates[i], dur, 0, woken) < 0)
			return -1;
		if (!o->poll_ns) {
			iv[0] = (int64_t)(woken->res.delay.p99 * 1e3);
			iv[1] = (int64_t)(2 * woken->res.delay.p50 * 1e3);
			match[0] = "p99";
			match[1] = "p50";
		}
		for (int j = 0; j < 2 && match[j]; j++) {
			struct note_row *polled = &rows[(*nrows)++];

			if (iv[j] < 10 * IPK_USEC)
				iv[j] = 10 * IPK_USEC;
			if (note_row(o->rates[i], dur, iv[j], polled) < 0)
				return -1;
			polled->match = match[j];
		}
	}
	return 0;
}

/* ---- pairs: N independent senders and receivers --------------------- */

enum pair_kind { PK_UNIX, PK_RING, PK_RING_SPIN, PK_SYSV, PK_COUNT };

static const char *const pair_names[PK_COUNT] = {
	[PK_UNIX] = "unix-epoll",
	[PK_RING] = "ring-queue",
	[PK_RING_SPIN] = "ring-queue-spin",
	[PK_SYSV] = "sysvmq",
};

struct pair_row {
	enum pair_kind kind;
	unsigned n;
	double msgs_per_s;
	double cpus; /* CPU seconds the 2n processes used per second of the run */
};

/* Waits for the parent's start signal (EOF on @go), then runs until now +
 * @dur_ns. */
static int64_t pair_start(int go, int64_t dur_ns)
{
	char c;

	while (read(go, &c, 1) < 0 && errno == EINTR)
		;
	return now_ns() + dur_ns;
}

static int pair_sender(enum pair_kind k, const char *name, ipk_chan *sysv, int ready, int go,
		       int64_t dur_ns)
{
	char msg[MSG_SIZE] = "faq";
	ipk_chan *ch = sysv;
	ipk_ring *ring = NULL;
	int64_t end, t;
	int r = 0;

	if (k == PK_UNIX)
		r = ipk_chan_open(name, 0, 5 * IPK_SEC, &ch);
	else if (k == PK_RING || k == PK_RING_SPIN) {
		struct ipk_ring_opts ro = { .capacity = 1 << 16, .flags = IPK_RING_QUEUE };

		r = ipk_ring_create(name, &ro, &ring);
	}
	if (r < 0) {
		fprintf(stderr, "faq-measure: sender %s: %s\n", name, ipk_errname(r));
		(void)write_all(ready, "x", 1);
		return 1;
	}
	(void)write_all(ready, "r", 1);
	end = pair_start(go, dur_ns);
	while ((t = now_ns()) < end) {
		if (ring)
			r = ipk_ring_publish_wait(ring, msg, sizeof(msg), end - t);
		else if (ch == sysv) /* blocks in msgsnd; with a deadline it would back off,
				      * sleeping; the parent's IPC_RMID ends it */
			r = ipk_chan_send(ch, msg, sizeof(msg), IPK_FOREVER);
		else
			r = ipk_chan_send(ch, msg, sizeof(msg), end - t);
		if (r < 0 && r != -ETIMEDOUT && r != -EAGAIN)
			break;
	}
	if (ring)
		ipk_ring_close(ring);
	else if (ch != sysv)
		ipk_chan_close(ch);
	/* the receiver may stop first: a closed peer at the end is no error */
	if (r < 0 && r != -ETIMEDOUT && r != -EAGAIN && r != -EPIPE && r != -ECONNRESET &&
	    r != -EIDRM) {
		fprintf(stderr, "faq-measure: sender %s: %s\n", name, ipk_errname(r));
		return 1;
	}
	return 0;
}

static ssize_t epoll_recv(ipk_chan *ch, int ep, char *buf, int64_t end)
{
	for (;;) {
		struct epoll_event ev;
		ssize_t n = ipk_chan_recv(ch, buf, MSG_SIZE, 0);
		int64_t left = end - now_ns();

		if (n != -EAGAIN)
			return n;
		if (left <= 0)
			return -ETIMEDOUT;
		if (epoll_wait(ep, &ev, 1, (int)((left + IPK_MSEC - 1) / IPK_MSEC)) < 0 &&
		    errno != EINTR)
			return -errno;
	}
}

static int pair_receiver(enum pair_kind k, const char *name, ipk_chan *sysv, int ready, int go,
			 int res, int64_t dur_ns)
{
	char buf[MSG_SIZE];
	ipk_chan *ch = sysv;
	ipk_ring_sub *sub = NULL;
	uint64_t count = 0;
	int64_t end, t, give_up = now_ns() + 5 * IPK_SEC;
	int ep = -1;
	ssize_t n = 0;

	if (k == PK_UNIX) {
		struct epoll_event ev = { .events = EPOLLIN };

		/* listen; the open returns with the one peer accepted */
		n = ipk_chan_open(name, IPK_CHAN_CREATE | IPK_CHAN_EXCL, 5 * IPK_SEC, &ch);
		if (n >= 0) {
			ep = epoll_create1(EPOLL_CLOEXEC);
			if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, ipk_chan_fd(ch), &ev) < 0)
				n = -errno;
		}
	} else if (k == PK_RING || k == PK_RING_SPIN) {
		struct ipk_ring_sub_opts so = { .flags = IPK_RING_CONSUMER };

		if (k == PK_RING_SPIN)
			so.flags |= IPK_RING_SPIN;
		/* the sender creates the ring: a bounded poll for it */
		while ((n = ipk_ring_open(name, &so, &sub)) == -ENOENT || n == -EAGAIN) {
			if (now_ns() > give_up)
				break;
			usleep(1000);
		}
	}
	if (n < 0) {
		fprintf(stderr, "faq-measure: receiver %s: %s\n", name, ipk_errname((int)n));
		(void)write_all(ready, "x", 1);
		return 1;
	}
	(void)write_all(ready, "r", 1);
	end = pair_start(go, dur_ns);
	while ((t = now_ns()) < end) {
		if (sub)
			n = ipk_ring_recv(sub, buf, sizeof(buf), end - t);
		else if (ep >= 0)
			n = epoll_recv(ch, ep, buf, end);
		else
			n = ipk_chan_recv(ch, buf, sizeof(buf), end - t);
		if (n == -ETIMEDOUT || n == -EPIPE || n == -ECONNRESET)
			break; /* the run's end, or the sender's (a little earlier) */
		if (n < 0) {
			fprintf(stderr, "faq-measure: receiver %s: %s\n", name,
				ipk_errname((int)n));
			return 1;
		}
		count++;
	}
	if (ep >= 0)
		close(ep);
	if (sub)
		ipk_ring_sub_close(sub);
	else if (ch != sysv)
		ipk_chan_close(ch);
	return write_all(res, &count, sizeof(count)) ? 0 : 1;
}

static int pairs_cell(enum pair_kind k, unsigned n, double dur, struct pair_row *row)
{
	int ready[2] = { -1, -1 }, go[2] = { -1, -1 }, res[2] = { -1, -1 };
	ipk_chan *sysv[8] = { NULL };
	pid_t pids[16];
	unsigned np = 0;
	uint64_t total = 0;
	double cpu = 0;
	int64_t dur_ns = (int64_t)(dur * 1e9);
	int r = -1;

	row->kind = k;
	row->n = n;
	row->msgs_per_s = 0;
	if (pipe2(ready, O_CLOEXEC) < 0 || pipe2(go, O_CLOEXEC) < 0 || pipe2(res, O_CLOEXEC) < 0)
		goto out;
	for (unsigned i = 0; i < n; i++) {
		char name[128];

		if (k == PK_UNIX)
			snprintf(name, sizeof(name), "unix:@ipk-faq-%d-%u", (int)getpid(), i);
		else if (k == PK_SYSV)
			snprintf(name, sizeof(name), "sysvmq:private?msgsize=%d", MSG_SIZE);
		else
			snprintf(name, sizeof(name), "/ipk-faq-%d-%u", (int)getpid(), i);
		if (k == PK_SYSV) {
			int e = ipk_chan_open(name, IPK_CHAN_CREATE, 0, &sysv[i]);

			if (e < 0) {
				fprintf(stderr, "faq-measure: %s: %s\n", name, ipk_errname(e));
				goto out;
			}
		}
		fflush(NULL);
		for (int side = 0; side < 2; side++) {
			pid_t pid = fork();

			if (pid < 0)
				goto out;
			if (pid == 0) {
				close(go[1]); /* EOF on go[0] starts the run */
				_exit(side ? pair_receiver(k, name, sysv[i], ready[1], go[0],
							   res[1], dur_ns)
					   : pair_sender(k, name, sysv[i], ready[1], go[0],
							 dur_ns));
			}
			pids[np++] = pid;
		}
	}
	close(ready[1]);
	close(res[1]);
	ready[1] = res[1] = -1;
	for (unsigned i = 0; i < np; i++) {
		char c;

		if (!read_all(ready[0], &c, 1) || c != 'r')
			goto out;
	}
	close(go[1]); /* go */
	go[1] = -1;
	for (unsigned i = 0; i < n; i++) {
		uint64_t c;

		if (!read_all(res[0], &c, sizeof(c)))
			goto out;
		total += c;
	}
	row->msgs_per_s = (double)total / dur;
	r = 0;
out:
	if (go[1] >= 0) {
		close(go[1]); /* let waiting children run and end */
		go[1] = -1;
	}
	for (unsigned i = 0; i < n; i++) {
		ipk_chan_close(sysv[i]); /* removes the queue: a blocked sender ends */
		sysv[i] = NULL;
	}
	for (unsigned i = 0; i < np; i++)
		if (wait_child(pids[i], &cpu) != 0)
			r = -1;
	row->cpus = cpu / dur;
	for (int i = 0; i < 2; i++) {
		if (ready[i] >= 0)
			close(ready[i]);
		if (go[i] >= 0)
			close(go[i]);
		if (res[i] >= 0)
			close(res[i]);
	}
	return r;
}

static int run_pairs(const struct opts *o, struct pair_row *rows, unsigned *nrows)
{
	double dur = o->duration > 0 ? o->duration : o->lng ? 5.0 : 1.0;

	*nrows = 0;
	for (int k = 0; k < PK_COUNT; k++)
		for (unsigned i = 0; i < o->npairs; i++) {
			if (pairs_cell((enum pair_kind)k, o->pairs[i], dur, &rows[*nrows]) < 0) {
				fprintf(stderr, "faq-measure: %s with %u pairs failed\n",
					pair_names[k], o->pairs[i]);
				return -1;
			}
			++*nrows;
		}
	return 0;
}

/* ---- mapfile: shm_open, msync, writeback ------------------------------ */

enum map_kind { MK_SHM, MK_MSYNC, MK_WRITEBACK, MK_COUNT };

static const char *const map_names[MK_COUNT] = {
	[MK_SHM] = "shm_open",
	[MK_MSYNC] = "file+msync",
	[MK_WRITEBACK] = "file+writeback",
};

struct map_row {
	enum map_kind kind;
	const char *fs;
	uint64_t bytes;
	double secs, mb_per_s, fsync_ms;
	struct lat batch;
	double dirty_peak_mib, wb_peak_mib, written_mib;
	double faults_per_mib; /* page faults the writer took (minor and major) */
};

/* /proc/meminfo's Dirty and Writeback, watched while a row runs */
struct watch {
	pthread_t thread;
	atomic_bool stop;
	double dirty_kib, wb_kib;
};

static long faults(void)
{
	struct rusage ru;

	getrusage(RUSAGE_THREAD, &ru);
	return ru.ru_minflt + ru.ru_majflt;
}

static int64_t meminfo_kib(const char *key)
{
	char line[256];
	size_t kl = strlen(key);
	int64_t v = -1;
	FILE *f = fopen("/proc/meminfo", "re");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, key, kl) && line[kl] == ':') {
			v = strtoll(line + kl + 1, NULL, 10);
			break;
		}
	fclose(f);
	return v;
}

static int64_t vmstat(const char *key)
{
	char name[64];
	long long v;
	int64_t r = -1;
	FILE *f = fopen("/proc/vmstat", "re");

	if (!f)
		return -1;
	while (fscanf(f, "%63s %lld", name, &v) == 2)
		if (!strcmp(name, key)) {
			r = v;
			break;
		}
	fclose(f);
	return r;
}

static void *watch_main(void *arg)
{
	struct watch *w = arg;

	while (!atomic_load_explicit(&w->stop, memory_order_relaxed)) {
		double d = (double)meminfo_kib("Dirty"), b = (double)meminfo_kib("Writeback");

		if (d > w->dirty_kib)
			w->dirty_kib = d;
		if (b > w->wb_kib)
			w->wb_kib = b;
		usleep(5000);
	}
	return NULL;
}

/* The kernel starts background writeback when dirty pages exceed
 * vm.dirty_background_bytes, or dirty_background_ratio percent of the
 * memory it could use for them (free + page cache, roughly). */
static uint64_t background_threshold(void)
{
	FILE *f = fopen("/proc/sys/vm/dirty_background_bytes", "re");
	unsigned long long bytes = 0, ratio = 10;

	if (f) {
		if (fscanf(f, "%llu", &bytes) != 1)
			bytes = 0;
		fclose(f);
	}
	if (bytes)
		return bytes;
	f = fopen("/proc/sys/vm/dirty_background_ratio", "re");
	if (f) {
		if (fscanf(f, "%llu", &ratio) != 1)
			ratio = 10;
		fclose(f);
	}
	return (uint64_t)(meminfo_kib("MemFree") + meminfo_kib("Active(file)") +
			  meminfo_kib("Inactive(file)")) *
	       1024 * ratio / 100;
}

static const char *fs_name(const char *path)
{
	struct statfs s;

	if (statfs(path, &s) < 0)
		return "?";
	switch ((unsigned long)s.f_type) {
	case TMPFS_MAGIC_:
		return "tmpfs";
	case 0xEF53:
		return "ext4";
	case 0x58465342:
		return "xfs";
	case 0x9123683E:
		return "btrfs";
	case 0x794c7630:
		return "overlayfs";
	default:
		return "other";
	}
}

static int map_row(const struct opts *o, enum map_kind k, size_t size, double time_limit,
		   struct map_row *row)
{
	char path[4096];
	struct ipk_shm_ref ref = { .kind = k == MK_SHM ? IPK_SHM_POSIX : IPK_SHM_FILE,
				   .name = path };
	struct watch w = { .stop = false };
	size_t nb = size / o->batch, done = 0;
	int64_t *lat = NULL, t0, t1, end, wb0;
	long flt0;
	char *src = NULL, *base;
	ipk_shm *shm = NULL;
	bool watching = false;
	int r;

	memset(row, 0, sizeof(*row));
	row->kind = k;
	if (k == MK_SHM)
		snprintf(path, sizeof(path), "/ipk-faq-%d", (int)getpid());
	else
		snprintf(path, sizeof(path), "%s/ipk-faq-%d.map", o->dir, (int)getpid());
	row->fs = fs_name(k == MK_SHM ? "/dev/shm" : o->dir);
	lat = calloc(nb ? nb : 1, sizeof(*lat));
	src = malloc(o->batch);
	r = -ENOMEM;
	if (!lat || !src)
		goto out;
	for (size_t i = 0; i < o->batch; i++)
		src[i] = (char)(i * 131 + 7);
	r = ipk_shm_create(&ref, size, 0600, IPK_SHM_EXCL, &shm);
	if (r >= 0)
		r = ipk_shm_map(shm, 0, (void **)&base);
	if (r < 0) {
		fprintf(stderr, "faq-measure: %s: %s\n", path, ipk_errname(r));
		goto out;
	}
	r = -pthread_create(&w.thread, NULL, watch_main, &w);
	if (r < 0)
		goto out;
	watching = true;
	wb0 = vmstat("nr_written");
	flt0 = faults();
	t0 = now_ns();
	end = t0 + (int64_t)(time_limit * 1e9);
	for (; done < nb; done++) {
		int64_t a = now_ns();
		char *p = base + done * o->batch;

		if (a > end)
			break;
		memcpy(p, src, o->batch);
		if (k == MK_MSYNC && msync(p, o->batch, MS_SYNC) < 0) {
			r = -errno;
			fprintf(stderr, "faq-measure: msync: %s\n", ipk_errname(r));
			goto out;
		}
		lat[done] = now_ns() - a;
	}
	t1 = now_ns();
	row->faults_per_mib =
		done ? (double)(faults() - flt0) * MIB / (double)(done * o->batch) : 0;
	row->written_mib = (double)(vmstat("nr_written") - wb0) * 4096 / MIB;
	/* what is still dirty goes to disk now: the deferred cost */
	if (fsync(ipk_shm_fd(shm)) < 0) {
		r = -errno;
		goto out;
	}
	row->fsync_ms = (double)(now_ns() - t1) / 1e6;
	row->bytes = (uint64_t)done * o->batch;
	row->secs = (double)(t1 - t0) / 1e9;
	row->mb_per_s = row->secs > 0 ? (double)row->bytes / MIB / row->secs : 0;
	row->batch = summarize(lat, done);
	r = 0;
out:
	if (watching) {
		atomic_store_explicit(&w.stop, true, memory_order_relaxed);
		pthread_join(w.thread, NULL);
		row->dirty_peak_mib = w.dirty_kib / 1024;
		row->wb_peak_mib = w.wb_kib / 1024;
	}
	ipk_shm_free(shm); /* unmaps, and removes the object or file */
	free(lat);
	free(src);
	return r < 0 ? -1 : 0;
}

static int run_mapfile(const struct opts *o, struct map_row *rows, unsigned *nrows,
		       uint64_t *threshold)
{
	double limit = o->duration > 0 ? o->duration : o->lng ? 10.0 : 2.0;
	size_t wsize = o->file_size;

	*threshold = background_threshold();
	if (!wsize) /* --long: past the threshold, so the kernel flushes meanwhile */
		wsize = o->lng ? (size_t)(*threshold / 4 * 5) : 4 * o->size;
	wsize = (wsize + o->batch - 1) / o->batch * o->batch;
	if (o->lng || o->file_size) {
		struct statvfs sv;

		if (statvfs(o->dir, &sv) == 0 && wsize > sv.f_bavail * sv.f_frsize / 2) {
			fprintf(stderr, "faq-measure: %s: not enough free space for %zu MiB\n",
				o->dir, wsize >> 20);
			return -1;
		}
	}
	*nrows = 0;
	if (map_row(o, MK_SHM, o->size, 600, &rows[0]) < 0 ||
	    map_row(o, MK_MSYNC, o->size, limit, &rows[1]) < 0 ||
	    map_row(o, MK_WRITEBACK, wsize, 600, &rows[2]) < 0)
		return -1;
	*nrows = 3;
	return 0;
}

/* ---- the report ------------------------------------------------------- */

static void print_machine(const struct opts *o, bool json)
{
	struct utsname u;
	cpu_set_t set;
	int allowed = 0;

	uname(&u);
	if (sched_getaffinity(0, sizeof(set), &set) == 0)
		allowed = CPU_COUNT(&set);
	if (json)
		printf("\"machine\": {\"cpus_online\": %ld, \"cpus_allowed\": %d, "
		       "\"kernel\": \"%s\", \"long\": %s}",
		       sysconf(_SC_NPROCESSORS_ONLN), allowed, u.release,
		       o->lng ? "true" : "false");
	else
		printf("machine: %ld CPUs online, %d allowed; Linux %s\n",
		       sysconf(_SC_NPROCESSORS_ONLN), allowed, u.release);
}

static void print_notify(const struct note_row *rows, unsigned n, bool json)
{
	if (!json) {
		printf("\nmq_notify against polling (relay CPU per second of wall time; delay from "
		       "send to receive)\n");
		printf("%6s  %-22s %8s %10s %11s %10s %10s %10s\n", "msg/s", "relay", "messages",
		       "CPU ms/s", "wakeups/s", "p50 us", "p99 us", "max us");
	}
	for (unsigned i = 0; i < n; i++) {
		const struct note_row *r = &rows[i];
		double cpu = r->res.wall_s > 0 ? r->res.cpu_s * 1e3 / r->res.wall_s : 0;
		double wk = r->res.wall_s > 0 ? (double)r->res.wakeups / r->res.wall_s : 0;
		char mode[32];

		if (r->poll_ns)
			snprintf(mode, sizeof(mode), "poll %" PRId64 " us (%s)",
				 r->poll_ns / IPK_USEC, r->match);
		else
			snprintf(mode, sizeof(mode), "mq_notify");
		if (json)
			printf("%s\n    {\"rate\": %u, \"relay\": \"%s\", \"poll_interval_us\": "
			       "%.1f, \"matches\": \"%s\", \"messages\": %" PRIu64
			       ", \"seconds\": %.3f, "
			       "\"cpu_ms_per_s\": %.4f, \"wakeups_per_s\": %.1f, "
			       "\"delay_p50_us\": %.1f, \"delay_p99_us\": %.1f, "
			       "\"delay_max_us\": %.1f}",
			       i ? "," : "", r->rate, r->poll_ns ? "poll" : "mq_notify",
			       (double)r->poll_ns / 1e3, r->poll_ns ? r->match : "",
			       r->res.messages, r->res.wall_s, cpu, wk, r->res.delay.p50,
			       r->res.delay.p99, r->res.delay.max);
		else
			printf("%6u  %-22s %8" PRIu64 " %10.3f %11.1f %10.1f %10.1f %10.1f\n",
			       r->rate, mode, r->res.messages, cpu, wk, r->res.delay.p50,
			       r->res.delay.p99, r->res.delay.max);
	}
}

static void print_pairs(const struct pair_row *rows, unsigned n, bool json)
{
	double base = 0;

	if (!json) {
		printf("\nN independent pairs, 64-byte messages: aggregate messages/s; CPUs: CPU "
		       "seconds the pairs used per second\n");
		printf("%-16s %6s %12s %12s %10s %6s %12s\n", "transport", "pairs", "msg/s",
		       "per pair", "vs 1 pair", "CPUs", "msg/CPU-s");
	}
	for (unsigned i = 0; i < n; i++) {
		const struct pair_row *r = &rows[i];
		double per_cpu = r->cpus > 0 ? r->msgs_per_s / r->cpus : 0;
		char vs[16] = "-";

		if (i == 0 || rows[i - 1].kind != r->kind)
			base = r->n == 1 ? r->msgs_per_s : 0;
		if (base > 0)
			snprintf(vs, sizeof(vs), "%.2fx", r->msgs_per_s / base);
		if (json)
			printf("%s\n    {\"transport\": \"%s\", \"pairs\": %u, \"msgs_per_s\": "
			       "%.0f, "
			       "\"per_pair\": %.0f, \"cpus\": %.3f, \"msgs_per_cpu_s\": %.0f}",
			       i ? "," : "", pair_names[r->kind], r->n, r->msgs_per_s,
			       r->msgs_per_s / r->n, r->cpus, per_cpu);
		else
			printf("%-16s %6u %12.0f %12.0f %10s %6.2f %12.0f\n", pair_names[r->kind],
			       r->n, r->msgs_per_s, r->msgs_per_s / r->n, vs, r->cpus, per_cpu);
	}
}

static void print_mapfile(const struct opts *o, const struct map_row *rows, unsigned n,
			  uint64_t threshold, bool json)
{
	if (json)
		printf("\"mapfile_dir\": \"%s\", \"batch_bytes\": %zu, "
		       "\"background_threshold_mib\": %.0f, \"mapfile\": [",
		       o->dir, o->batch, (double)threshold / MIB);
	else {
		printf("\nwrites into a mapping, %zu KiB per batch (file in %s; writeback starts "
		       "above %.0f MiB dirty)\n",
		       o->batch >> 10, o->dir, (double)threshold / MIB);
		printf("%-15s %-6s %6s %7s %8s %8s %9s %9s %6s %6s %9s %7s\n", "backing", "fs",
		       "MiB", "MiB/s", "p50 us", "p99 us", "max us", "fsync ms", "faults", "Dirty",
		       "Writeback", "written");
	}
	for (unsigned i = 0; i < n; i++) {
		const struct map_row *r = &rows[i];

		if (json)
			printf("%s\n    {\"backing\": \"%s\", \"fs\": \"%s\", \"bytes\": %" PRIu64
			       ", \"seconds\": %.4f, \"mb_per_s\": %.1f, \"batch_p50_us\": %.2f, "
			       "\"batch_p99_us\": %.2f, \"batch_max_us\": %.2f, \"fsync_ms\": "
			       "%.3f, \"dirty_peak_mib\": %.1f, \"writeback_peak_mib\": %.1f, "
			       "\"written_back_mib\": %.1f, \"faults_per_mib\": %.1f}",
			       i ? "," : "", map_names[r->kind], r->fs, r->bytes, r->secs,
			       r->mb_per_s, r->batch.p50, r->batch.p99, r->batch.max, r->fsync_ms,
			       r->dirty_peak_mib, r->wb_peak_mib, r->written_mib,
			       r->faults_per_mib);
		else
			printf("%-15s %-6s %6.0f %7.0f %8.1f %8.1f %9.1f %9.2f %6.0f %6.0f %9.0f "
			       "%7.0f\n",
			       map_names[r->kind], r->fs, (double)r->bytes / MIB, r->mb_per_s,
			       r->batch.p50, r->batch.p99, r->batch.max, r->fsync_ms,
			       r->faults_per_mib, r->dirty_peak_mib, r->wb_peak_mib,
			       r->written_mib);
	}
	if (json)
		printf("\n  ]");
	else
		printf("(faults: the writer's page faults per MiB written; Dirty, Writeback: peaks "
		       "in /proc/meminfo, MiB,\n system-wide; written: MiB the system wrote back "
		       "during the writes)\n");
}

/* ---- options ----------------------------------------------------------- */

static void usage(FILE *f)
{
	fprintf(f, "Usage: faq-measure [notify|pairs|mapfile|all] [options]\n"
		   "  notify    mq_notify against polling at the same p99 and p50 delay\n"
		   "  pairs     aggregate messages/s of N independent pairs (FAQ Q2)\n"
		   "  mapfile   shm_open against a mapped file, msync and writeback (FAQ Q1)\n"
		   "  all       all three (the default)\n"
		   "Options:\n"
		   "  --json             one JSON document on stdout instead of tables\n"
		   "  --long             longer rows (notify 10 s, pairs 5 s, msync 10 s) and a\n"
		   "                     writeback file past the kernel's background threshold\n"
		   "  --duration SEC     seconds per row (notify, pairs; msync's time limit)\n"
		   "  --rates LIST       notify: messages/s (default 10,100,1000)\n"
		   "  --poll-us N        notify: one polling interval (default: two, matching the\n"
		   "                     woken relay's p99 and its p50)\n"
		   "  --pairs LIST       pairs: numbers of pairs (default 1,2,4,8; at most 8)\n"
		   "  --cpus LIST        run on these CPUs only (e.g. 0,1 or 0-1)\n"
		   "  --dir DIR          mapfile: where the file goes (default /var/tmp)\n"
		   "  --size BYTES       mapfile: shm and msync rows (default 64M; K, M, G)\n"
		   "  --file-size BYTES  mapfile: writeback row (default 4 x --size; --long:\n"
		   "                     1.25 x the background writeback threshold)\n"
		   "  --batch BYTES      mapfile: bytes per write batch (default 64K)\n");
}

static bool parse_list(const char *s, unsigned *v, unsigned *n, unsigned max, unsigned hi)
{
	char *end;

	*n = 0;
	do {
		unsigned long x = strtoul(s, &end, 10);

		if (end == s || x == 0 || x > hi || *n == max)
			return false;
		v[(*n)++] = (unsigned)x;
		s = end + (*end == ',');
	} while (*end == ',');
	return *end == '\0';
}

static bool parse_size(const char *s, size_t *ret)
{
	char *end;
	unsigned long long v = strtoull(s, &end, 10);
	int shift = 0;

	switch (*end) {
	case 'K':
	case 'k':
		shift = 10, end++;
		break;
	case 'M':
	case 'm':
		shift = 20, end++;
		break;
	case 'G':
	case 'g':
		shift = 30, end++;
		break;
	}
	if (end == s || *end || v == 0 || v > (1ull << 40) >> shift)
		return false;
	*ret = (size_t)(v << shift);
	return true;
}

static bool parse_cpus(const char *s)
{
	cpu_set_t set;
	char *end;

	CPU_ZERO(&set);
	do {
		unsigned long a = strtoul(s, &end, 10), b = a;

		if (end == s)
			return false;
		if (*end == '-') {
			s = end + 1;
			b = strtoul(s, &end, 10);
			if (end == s || b < a)
				return false;
		}
		for (unsigned long c = a; c <= b && c < CPU_SETSIZE; c++)
			CPU_SET(c, &set);
		s = end + (*end == ',');
	} while (*end == ',');
	if (*end || sched_setaffinity(0, sizeof(set), &set) < 0)
		return false;
	return true;
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "long", no_argument, NULL, 'l' },
		{ "duration", required_argument, NULL, 'd' },
		{ "rates", required_argument, NULL, 'r' },
		{ "poll-us", required_argument, NULL, 'p' },
		{ "pairs", required_argument, NULL, 'n' },
		{ "cpus", required_argument, NULL, 'c' },
		{ "dir", required_argument, NULL, 'D' },
		{ "size", required_argument, NULL, 's' },
		{ "file-size", required_argument, NULL, 'f' },
		{ "batch", required_argument, NULL, 'b' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct opts o = { .rates = { 10, 100, 1000 },
			  .nrates = 3,
			  .pairs = { 1, 2, 4, 8 },
			  .npairs = 4,
			  .dir = "/var/tmp",
			  .size = 64u << 20,
			  .batch = 64u << 10 };
	static struct note_row nrows[3 * 8];
	static struct pair_row prows[PK_COUNT * 8];
	static struct map_row mrows[MK_COUNT];
	unsigned nn = 0, np = 0, nm = 0;
	uint64_t threshold = 0;
	bool do_notify = true, do_pairs = true, do_map = true;
	char *end;
	int c, li = 0;

	while ((c = getopt_long(argc, argv, "h", lo, &li)) != -1) {
		switch (c) {
		case 'j':
			o.json = true;
			break;
		case 'l':
			o.lng = true;
			break;
		case 'd':
			o.duration = strtod(optarg, &end);
			if (*end || !(o.duration > 0 && o.duration <= 3600))
				goto bad;
			break;
		case 'r':
			if (!parse_list(optarg, o.rates, &o.nrates, 8, 1000000))
				goto bad;
			break;
		case 'p':
			o.poll_ns = (int64_t)strtoul(optarg, &end, 10) * IPK_USEC;
			if (*end || o.poll_ns <= 0)
				goto bad;
			break;
		case 'n':
			if (!parse_list(optarg, o.pairs, &o.npairs, 8, 8))
				goto bad;
			break;
		case 'c':
			if (!parse_cpus(optarg))
				goto bad;
			break;
		case 'D':
			o.dir = optarg;
			break;
		case 's':
			if (!parse_size(optarg, &o.size))
				goto bad;
			break;
		case 'f':
			if (!parse_size(optarg, &o.file_size))
				goto bad;
			break;
		case 'b':
			if (!parse_size(optarg, &o.batch) || o.batch % 4096)
				goto bad;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default: /* getopt named the option */
			fprintf(stderr, "faq-measure: see --help\n");
			return 2;
		}
	}
	if (optind < argc) {
		const char *what = argv[optind++];

		do_notify = !strcmp(what, "notify") || !strcmp(what, "all");
		do_pairs = !strcmp(what, "pairs") || !strcmp(what, "all");
		do_map = !strcmp(what, "mapfile") || !strcmp(what, "all");
		if (!do_notify && !do_pairs && !do_map) {
			fprintf(stderr,
				"faq-measure: unknown measurement '%s' (notify, pairs, mapfile, "
				"all)\n",
				what);
			return 2;
		}
	}
	if (optind < argc || o.size < o.batch) {
		fprintf(stderr, "faq-measure: %s\n",
			optind < argc ? "one measurement at a time" : "--size is below --batch");
		return 2;
	}
	o.size = o.size / o.batch * o.batch;
	/* Timers fire when due, not up to 50 us late to be merged with others:
	 * with the default slack, a polling relay's tick would be merged with
	 * the sender's and find each message the moment it was sent. Children
	 * inherit it. */
	(void)prctl(PR_SET_TIMERSLACK, 1UL, 0UL, 0UL, 0UL);

	if ((do_notify && run_notify(&o, nrows, &nn) < 0) ||
	    (do_pairs && run_pairs(&o, prows, &np) < 0) ||
	    (do_map && run_mapfile(&o, mrows, &nm, &threshold) < 0))
		return 1;

	if (o.json) {
		printf("{\n  ");
		print_machine(&o, true);
		if (do_notify) {
			printf(",\n  \"notify\": [");
			print_notify(nrows, nn, true);
			printf("\n  ]");
		}
		if (do_pairs) {
			printf(",\n  \"pairs\": [");
			print_pairs(prows, np, true);
			printf("\n  ]");
		}
		if (do_map) {
			printf(",\n  ");
			print_mapfile(&o, mrows, nm, threshold, true);
		}
		printf("\n}\n");
	} else {
		print_machine(&o, false);
		if (do_notify)
			print_notify(nrows, nn, false);
		if (do_pairs)
			print_pairs(prows, np, false);
		if (do_map)
			print_mapfile(&o, mrows, nm, threshold, false);
	}
	return 0;

bad:
	fprintf(stderr, "faq-measure: bad value '%s' for --%s (see --help)\n", optarg, lo[li].name);
	return 2;
}
