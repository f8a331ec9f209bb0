/* SPDX-License-Identifier: MIT */
/*
 * tools/cmd_demo.c - `ipckit demo`: a forked echo peer per transport, N
 * ping-pongs per message size, and a table of round-trip percentiles.
 *
 * This is a demonstration until `ipckit bench` lands: no CPU pinning, no
 * histogram, no raw-syscall baseline. Every transport is set up only through
 * the public API, the way an application would do it.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/wait.h>

#include "cli.h"

#define DEMO_MAX_SIZES 16

static const char usage[] =
	"Usage: ipckit demo [OPTIONS]\n"
	"\n"
	"Fork an echo peer for each transport (pipe, fifo, unix, unix+dgram,\n"
	"unix+seqpacket, tcp on 127.0.0.1), send N ping-pongs per message size and\n"
	"print round-trip latency (p50, p99, in microseconds) and messages per\n"
	"second (both directions counted). A short demo, not the benchmark.\n"
	"\n"
	"Options:\n"
	"  -n, --count N        ping-pongs per size (default 1000)\n"
	"  -s, --sizes LIST     message sizes in bytes, comma-separated\n"
	"                       (default 64,4096,65536)\n"
	"  -t, --timeout SEC    limit for each step before a peer counts as hung\n"
	"                       (default 10)\n"
	"  -h, --help           show this help\n"
	"\n"
	"SIGINT or SIGTERM stops the demo between two round trips: the peer is\n"
	"ended, what was created removed, \"ipckit demo: stopped by SIGINT\" printed\n"
	"and the exit status is 0.\n"
	"Exit status: 0 ok or stopped, 1 a transport failed, 2 usage error.\n";

struct demo {
	unsigned long count;  /* measured round trips per size */
	unsigned long warmup; /* unmeasured round trips before them */
	size_t sizes[DEMO_MAX_SIZES];
	unsigned nsizes;
	size_t maxsize;
	int64_t timeout_ns;
	char opts[32];    /* "?msgsize=N" when a size is over the default, else "" */
	const char *name; /* transport being run, for messages */
};

/* The parent's ends: pings go out on @tx, pongs come back on @rx. */
struct peer {
	pid_t pid;
	ipk_chan *tx;
	ipk_chan *rx;
	/* What the child creates, for the parent to remove if it must kill
	 * the child before the child could. */
	char child_path[96];
};

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * IPK_SEC + ts.tv_nsec;
}

static int fail(const struct demo *d, const char *what, int err)
{
	if (err < 0)
		err = -err;
	cli_msg("%s: %s: %s (%s)", d->name, what, strerror(err), ipk_errname(err));
	return -err;
}

/*
 * The child: echo every message back, exactly as many as the parent sends.
 * Counting rather than waiting for end-of-stream works the same on datagram
 * sockets, which have no end. Closes @rx and @tx, so what it created goes.
 */
static void __attribute__((noreturn)) echo_child(const struct demo *d, ipk_chan *rx, ipk_chan *tx)
{
	unsigned long total = d->nsizes * (d->count + d->warmup), i;
	size_t max = ipk_chan_max_msg(rx);
	int status = 0;
	char *buf;

	buf = malloc(max);
	if (!buf) {
		fail(d, "echo peer", ENOMEM);
		status = 1;
		goto out;
	}
	for (i = 0; i < total; i++) {
		ssize_t n = ipk_chan_recv(rx, buf, max, d->timeout_ns);
		int r;

		if (n < 0) {
			fail(d, "echo peer: receive", (int)n);
			status = 1;
			goto out;
		}
		r = ipk_chan_send(tx, buf, (size_t)n, d->timeout_ns);
		if (r < 0) {
			fail(d, "echo peer: send", r);
			status = 1;
			goto out;
		}
	}
	if (ipk_chan_flush(tx, d->timeout_ns) < 0)
		status = 1;
out:
	free(buf);
	if (tx != rx)
		ipk_chan_close(tx);
	ipk_chan_close(rx);
	_exit(status);
}

/* fork() with nothing buffered: the child must not print the parent's rows. */
static pid_t demo_fork(const struct demo *d)
{
	pid_t pid;

	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid < 0)
		fail(d, "fork", errno);
	if (pid == 0) {
		/* The parent stops the demo: a Ctrl-C meant for it must not
		 * end the peer first, and its SIGTERM must end the peer. */
		signal(SIGINT, SIG_IGN);
		signal(SIGTERM, SIG_DFL);
	}
	return pid;
}

static int setup_pipe(const struct demo *d, struct peer *p)
{
	ipk_chan *p2c_rd = NULL, *p2c_wr = NULL, *c2p_rd = NULL, *c2p_wr = NULL;
	char url[160];
	int r;

	snprintf(url, sizeof(url), "pipe:%s", d->opts);
	r = ipk_chan_pipe(url, 0, &p2c_rd, &p2c_wr);
	if (r < 0)
		return fail(d, url, r);
	r = ipk_chan_pipe(url, 0, &c2p_rd, &c2p_wr);
	if (r < 0) {
		fail(d, url, r);
		goto fail;
	}
	p->pid = demo_fork(d);
	if (p->pid < 0) {
		r = -EAGAIN;
		goto fail;
	}
	if (p->pid == 0) {
		/* Without this, the child's own copy of the write end would keep
		 * the pipe open after the parent is gone. */
		ipk_chan_close(p2c_wr);
		ipk_chan_close(c2p_rd);
		echo_child(d, p2c_rd, c2p_wr);
	}
	ipk_chan_close(p2c_rd);
	ipk_chan_close(c2p_wr);
	p->tx = p2c_wr;
	p->rx = c2p_rd;
	return 0;
fail:
	ipk_chan_close(p2c_rd);
	ipk_chan_close(p2c_wr);
	ipk_chan_close(c2p_rd);
	ipk_chan_close(c2p_wr);
	return r;
}

/*
 * Two FIFOs, one per direction. Each side creates the FIFO it reads, since a
 * reader's open never waits; a writer's open waits, up to the timeout, until
 * the FIFO exists and its reader is there. So no order of opens can hang.
 */
static int setup_fifo(const struct demo *d, struct peer *p)
{
	char c2p[160], p2c[160];
	ipk_chan *crx, *ctx;
	int r;

	snprintf(c2p, sizeof(c2p), "fifo:/tmp/ipckit-demo-%d-c2p%s", (int)getpid(), d->opts);
	snprintf(p->child_path, sizeof(p->child_path), "/tmp/ipckit-demo-%d-p2c", (int)getpid());
	snprintf(p2c, sizeof(p2c), "fifo:%s%s", p->child_path, d->opts);
	r = ipk_chan_open(c2p, IPK_CHAN_CREATE | IPK_CHAN_RDONLY, d->timeout_ns, &p->rx);
	if (r < 0)
		return fail(d, c2p, r);
	p->pid = demo_fork(d);
	if (p->pid < 0)
		return -EAGAIN;
	if (p->pid == 0) {
		/* The copy of the parent's reader stays open: closing it here
		 * would remove the parent's FIFO. */
		r = ipk_chan_open(p2c, IPK_CHAN_CREATE | IPK_CHAN_RDONLY, d->timeout_ns, &crx);
		if (r < 0) {
			fail(d, p2c, r);
			_exit(1);
		}
		r = ipk_chan_open(c2p, IPK_CHAN_WRONLY, d->timeout_ns, &ctx);
		if (r < 0) {
			fail(d, c2p, r);
			ipk_chan_close(crx);
			_exit(1);
		}
		echo_child(d, crx, ctx);
	}
	r = ipk_chan_open(p2c, IPK_CHAN_WRONLY, d->timeout_ns, &p->tx);
	if (r < 0)
		return fail(d, p2c, r);
	return 0;
}

/* Stream and seqpacket sockets: listen first so the child finds the address. */
static int setup_listener(const struct demo *d, const char *url, struct peer *p)
{
	ipk_listener *l = NULL;
	char peer_url[160];
	ipk_chan *c;
	size_t len;
	char *q;
	int r;

	r = ipk_listen(url, 0, &l);
	if (r < 0)
		return fail(d, url, r);
	/* For tcp:127.0.0.1:0 this is where the kernel's port shows up. */
	r = ipk_listener_url(l, peer_url, sizeof(peer_url));
	if (r < 0) {
		fail(d, "listener URL", r);
		goto out;
	}
	/* Options of the listener's URL, if it gives any, make way for ours. */
	q = strchr(peer_url, '?');
	len = q ? (size_t)(q - peer_url) : strlen(peer_url);
	if ((size_t)snprintf(peer_url + len, sizeof(peer_url) - len, "%s", d->opts) >=
	    sizeof(peer_url) - len) {
		r = fail(d, peer_url, ENAMETOOLONG);
		goto out;
	}

	p->pid = demo_fork(d);
	if (p->pid < 0) {
		r = -EAGAIN;
		goto out;
	}
	if (p->pid == 0) {
		/* The listener copy is left alone: closing it would remove the
		 * parent's socket file. */
		r = ipk_chan_open(peer_url, 0, d->timeout_ns, &c);
		if (r < 0) {
			fail(d, peer_url, r);
			_exit(1);
		}
		echo_child(d, c, c);
	}
	r = ipk_accept(l, d->timeout_ns, &p->rx);
	if (r < 0) {
		fail(d, "accept", r);
		goto out;
	}
	p->tx = p->rx;
out:
	ipk_listener_close(l);
	return r;
}

static int setup_unix(const struct demo *d, struct peer *p)
{
	char url[160];

	snprintf(url, sizeof(url), "unix:/tmp/ipckit-demo-%d.sock%s", (int)getpid(), d->opts);
	return setup_listener(d, url, p);
}

static int setup_seqpacket(const struct demo *d, struct peer *p)
{
	char url[160];

	snprintf(url, sizeof(url), "unix+seqpacket:/tmp/ipckit-demo-%d-seq.sock%s", (int)getpid(),
		 d->opts);
	return setup_listener(d, url, p);
}

static int setup_tcp(const struct demo *d, struct peer *p)
{
	char url[160];

	snprintf(url, sizeof(url), "tcp:127.0.0.1:0%s", d->opts);
	return setup_listener(d, url, p);
}

/* The child binds and echoes to whoever wrote last; the parent's open retries
 * until the child's socket is there. */
static int setup_dgram(const struct demo *d, struct peer *p)
{
	char url[160];
	ipk_chan *c;
	int r;

	snprintf(p->child_path, sizeof(p->child_path), "/tmp/ipckit-demo-%d-dgram.sock",
		 (int)getpid());
	snprintf(url, sizeof(url), "unix+dgram:%s%s", p->child_path, d->opts);
	p->pid = demo_fork(d);
	if (p->pid < 0)
		return -EAGAIN;
	if (p->pid == 0) {
		r = ipk_chan_open(url, IPK_CHAN_CREATE, d->timeout_ns, &c);
		if (r < 0) {
			fail(d, url, r);
			_exit(1);
		}
		echo_child(d, c, c);
	}
	r = ipk_chan_open(url, 0, d->timeout_ns, &p->rx);
	if (r < 0)
		return fail(d, url, r);
	p->tx = p->rx;
	return 0;
}

static const struct transport {
	const char *name;
	int (*setup)(const struct demo *d, struct peer *p);
} transports[] = {
	{ "pipe", setup_pipe },
	{ "fifo", setup_fifo },
	{ "unix", setup_unix },
	{ "unix+dgram", setup_dgram },
	{ "unix+seqpacket", setup_seqpacket },
	{ "tcp", setup_tcp },
};

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

/* Nearest rank: the smallest sample with at least @pct percent at or below. */
static double pct_us(const int64_t *sorted, unsigned long n, unsigned pct)
{
	unsigned long rank = (n * pct + 99) / 100;

	return (double)sorted[rank ? rank - 1 : 0] / 1e3;
}

/* One size: warm up, then time each round trip and print a row. */
static int run_size(const struct demo *d, struct peer *p, size_t size, char *out, char *in,
		    int64_t *samples)
{
	unsigned long i, total = d->warmup + d->count;
	size_t max = ipk_chan_max_msg(p->rx);
	int64_t start = 0, t1;

	for (i = 0; i < size; i++)
		out[i] = (char)(i * 31 + size);
	for (i = 0; i < total; i++) {
		int64_t t0;
		ssize_t n;
		int r;

		if (cli_stop)
			return -EINTR; /* between round trips: each takes microseconds */
		if (i == d->warmup)
			start = now_ns();
		out[0] = (char)i; /* a stale pong cannot pass for this one */
		t0 = now_ns();
		r = ipk_chan_send(p->tx, out, size, d->timeout_ns);
		if (r < 0)
			return fail(d, "send", r);
		n = ipk_chan_recv(p->rx, in, max, d->timeout_ns);
		t1 = now_ns();
		if (n < 0)
			return fail(d, "receive", (int)n);
		if ((size_t)n != size || memcmp(in, out, size) != 0)
			return fail(d, "echo differs from what was sent", EPROTO);
		if (i >= d->warmup)
			samples[i - d->warmup] = t1 - t0;
	}
	t1 = now_ns();
	qsort(samples, d->count, sizeof(*samples), cmp_i64);
	printf("%-16s %8zu %10.1f %10.1f %12.0f\n", d->name, size, pct_us(samples, d->count, 50),
	       pct_us(samples, d->count, 99),
	       2.0 * (double)d->count * 1e9 / (double)(t1 > start ? t1 - start : 1));
	return 0;
}

/* Waits for the child; a hung one is killed first. Return: 0 if it exited 0. */
static int reap(const struct demo *d, pid_t pid, bool kill_it)
{
	int status;

	if (kill_it)
		(void)kill(pid, SIGTERM);
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return fail(d, "waitpid", errno);
	if (kill_it)
		return -ECHILD;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	if (WIFEXITED(status))
		cli_msg("%s: echo peer exited with status %d", d->name, WEXITSTATUS(status));
	else
		cli_msg("%s: echo peer killed by signal %d (%s)", d->name, WTERMSIG(status),
			strsignal(WTERMSIG(status)));
	return -ECHILD;
}

static int run_transport(struct demo *d, const struct transport *t, char *out, char *in,
			 int64_t *samples)
{
	struct peer p = { .pid = -1 };
	unsigned i;
	int r;

	d->name = t->name;
	if (cli_stop)
		return -EINTR;
	r = t->setup(d, &p);
	for (i = 0; r == 0 && i < d->nsizes; i++)
		r = run_size(d, &p, d->sizes[i], out, in, samples);
	if (r < 0 && p.pid > 0)
		(void)kill(p.pid, SIGTERM); /* before it sees our ends close and says so */
	if (p.tx != p.rx)
		ipk_chan_close(p.tx);
	ipk_chan_close(p.rx);
	if (p.pid > 0) {
		int w = reap(d, p.pid, r < 0);

		/* A killed child left what it created behind. */
		if (r < 0 && p.child_path[0])
			(void)unlink(p.child_path);
		if (r == 0)
			r = w;
	}
	return r;
}

static int parse_sizes(const char *arg, struct demo *d)
{
	const char *s = arg;

	d->nsizes = 0;
	d->maxsize = 0;
	for (;;) {
		char num[24];
		size_t len = strcspn(s, ",");
		unsigned long v;

		if (d->nsizes == DEMO_MAX_SIZES)
			return cli_usage_error("bad --sizes '%s': at most %d sizes", arg,
					       DEMO_MAX_SIZES);
		if (len == 0 || len >= sizeof(num))
			return cli_usage_error("bad --sizes '%s': want sizes in bytes, "
					       "e.g. 64,4096,65536",
					       arg);
		memcpy(num, s, len);
		num[len] = '\0';
		if (cli_parse_ulong(num, 1, IPK_CHAN_MSGSIZE_MAX, &v) < 0)
			return cli_usage_error("bad --sizes '%s': '%s' is not a size from 1 to %zu",
					       arg, num, IPK_CHAN_MSGSIZE_MAX);
		d->sizes[d->nsizes++] = v;
		if (v > d->maxsize)
			d->maxsize = v;
		s += len;
		if (!*s)
			return 0;
		s++;
	}
}

static const struct option demo_longopts[] = {
	{ "count", required_argument, NULL, 'n' },
	{ "sizes", required_argument, NULL, 's' },
	{ "timeout", required_argument, NULL, 't' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

int cmd_demo(int argc, char **argv)
{
	struct demo d = {
		.count = 1000,
		.sizes = { 64, 4096, 65536 },
		.nsizes = 3,
		.maxsize = 65536,
		.timeout_ns = 10 * IPK_SEC,
	};
	int64_t *samples = NULL;
	char *out = NULL, *in = NULL;
	int c, r, failed = 0;
	size_t i;

	opterr = 0;
	optind = 0;
	while ((c = getopt_long(argc, argv, ":n:s:t:h", demo_longopts, NULL)) != -1) {
		switch (c) {
		case 'n':
			r = cli_opt_count(optarg, 10000000, &d.count);
			if (r)
				return r;
			break;
		case 's':
			r = parse_sizes(optarg, &d);
			if (r)
				return r;
			break;
		case 't':
			r = cli_opt_timeout(optarg, &d.timeout_ns);
			if (r)
				return r;
			/* Each step waits for the peer: "try once" would always fail. */
			if (d.timeout_ns == 0)
				return cli_usage_error("bad --timeout '0': the demo needs time "
						       "for its peers");
			break;
		case 'h':
			fputs(usage, stdout);
			return CLI_OK;
		default:
			return cli_bad_option(c, argv, demo_longopts);
		}
	}
	if (optind < argc)
		return cli_usage_error("unexpected argument '%s'", argv[optind]);

	/* Enough to fill caches and wake the peer's CPU, not enough to matter. */
	d.warmup = d.count / 10 < 100 ? d.count / 10 + 1 : 100;
	if (d.maxsize > IPK_CHAN_MSGSIZE_DEFAULT)
		snprintf(d.opts, sizeof(d.opts), "?msgsize=%zu", d.maxsize);

	samples = malloc(d.count * sizeof(*samples));
	out = malloc(d.maxsize);
	in = malloc(d.maxsize);
	if (!samples || !out || !in) {
		r = cli_fail("buffers", ENOMEM);
		goto out;
	}

	cli_catch_stop();
	printf("%-16s %8s %11s %11s %12s\n", "transport", "size", "p50 (µs)", "p99 (µs)", "msgs/s");
	for (i = 0; i < sizeof(transports) / sizeof(transports[0]) && !cli_stop; i++)
		if (run_transport(&d, &transports[i], out, in, samples) < 0 && !cli_stop)
			failed++;
	if (fflush(stdout) == EOF)
		cli_out_failed(errno);
	if (cli_stop_name())
		cli_msg("stopped by %s", cli_stop_name());
	r = failed ? CLI_FAIL : CLI_OK;
out:
	free(samples);
	free(out);
	free(in);
	return r;
}
