/* SPDX-License-Identifier: MIT */
/*
 * examples/log-pipeline.c - the seed's log collector -> analyzer over an
 * anonymous pipe, showing backpressure.
 *
 * The collector (parent) produces log lines as fast as it can; the analyzer
 * (child) is deliberately slow. Once the pipe's kernel buffer is full, each
 * send blocks until the analyzer has taken a message: the collector runs at
 * the analyzer's pace, and nothing piles up in its memory. It prints its
 * resident set size as it goes, so you can watch it stay flat while the
 * count of lines sent keeps rising.
 *
 * Usage: log-pipeline [--seconds S] [--count N] [--delay-us U]
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/wait.h>

#include <ipckit/ipckit.h>

struct opts {
	double seconds;         /* how long the collector runs */
	unsigned long count;    /* or how many lines it sends, if sooner */
	unsigned long delay_us; /* the analyzer's work per line */
};

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * IPK_SEC + ts.tv_nsec;
}

/* Resident set size in KiB: the second field of /proc/self/statm, in pages. */
static long rss_kib(void)
{
	long size, resident = -1;
	FILE *f = fopen("/proc/self/statm", "re");

	if (!f)
		return -1;
	if (fscanf(f, "%ld %ld", &size, &resident) != 2)
		resident = -1;
	fclose(f);
	return resident < 0 ? -1 : resident * (sysconf(_SC_PAGESIZE) / 1024);
}

static void __attribute__((noreturn)) analyzer(ipk_chan *rx, const struct opts *o)
{
	struct timespec delay = {
		.tv_sec = (time_t)(o->delay_us / 1000000),
		.tv_nsec = (long)(o->delay_us % 1000000) * 1000,
	};
	unsigned long lines = 0, errors = 0;
	char buf[512];
	int status = 0;

	for (;;) {
		ssize_t n = ipk_chan_recv(rx, buf, sizeof(buf) - 1, IPK_FOREVER);

		if (n == -EPIPE)
			break; /* the collector closed its end: all lines are in */
		if (n < 0) {
			fprintf(stderr, "analyzer: receive: %s (%s)\n", strerror((int)-n),
				ipk_errname((int)n));
			status = 1;
			break;
		}
		buf[n] = '\0';
		lines++;
		if (strstr(buf, " ERROR "))
			errors++;
		/* The "analysis": slow on purpose, so the pipe fills up. */
		while (nanosleep(&delay, &delay) < 0 && errno == EINTR)
			;
		delay.tv_sec = (time_t)(o->delay_us / 1000000);
		delay.tv_nsec = (long)(o->delay_us % 1000000) * 1000;
	}
	printf("analyzer: %lu lines analysed, %lu errors\n", lines, errors);
	fflush(stdout); /* _exit() does not flush stdio */
	ipk_chan_close(rx);
	_exit(status);
}

/* Returns the number of lines sent, or a negative errno. */
static long collector(ipk_chan *tx, const struct opts *o)
{
	static const char *const levels[] = { "INFO", "INFO", "INFO", "WARN", "ERROR" };
	int64_t start = now_ns(), end = start + (int64_t)(o->seconds * 1e9);
	int64_t next_report = start, blocked = 0, last_blocked = 0, last_report = start;
	long rss_min = -1, rss_max = -1;
	unsigned long sent = 0;
	char line[256];

	while (!o->count || sent < o->count) {
		int64_t t = now_ns(), t1;
		int len, r;

		if (t >= end)
			break;
		if (t >= next_report) {
			long rss = rss_kib();
			double busy = t > last_report ? 100.0 * (double)(blocked - last_blocked) /
								(double)(t - last_report)
						      : 0;

			printf("collector: %8lu lines sent, blocked %5.1f%% of the time, RSS %ld "
			       "KiB\n",
			       sent, busy, rss);
			fflush(stdout);
			if (rss >= 0 && (rss_min < 0 || rss < rss_min))
				rss_min = rss;
			if (rss > rss_max)
				rss_max = rss;
			last_blocked = blocked;
			last_report = t;
			next_report = t + IPK_SEC / 2;
		}
		len = snprintf(line, sizeof(line),
			       "ts=%lld.%06lld %s req=%lu path=/api/v1/item/%lu latency_us=%lu",
			       (long long)(t / IPK_SEC), (long long)(t % IPK_SEC / 1000),
			       levels[sent % 5], sent, sent * 7919 % 100000, sent * 104729 % 50000);
		/* Blocks while the pipe is full: that wait is the backpressure.
		 * The deadline only keeps the run within --seconds. */
		r = ipk_chan_send(tx, line, (size_t)len, end - t);
		t1 = now_ns();
		blocked += t1 - t;
		if (r == -ETIMEDOUT)
			break; /* nothing of this line went out */
		if (r < 0)
			return r;
		sent++;
	}
	printf("collector: %lu lines sent in %.1f s; RSS stayed between %ld and %ld KiB\n", sent,
	       (double)(now_ns() - start) / 1e9, rss_min, rss_max);
	fflush(stdout); /* before the analyzer's summary, which follows our close */
	return (long)sent;
}

static void usage(FILE *f)
{
	fputs("Usage: log-pipeline [--seconds S] [--count N] [--delay-us U]\n"
	      "\n"
	      "A fast log collector feeds a slow analyzer through a pipe. The full pipe\n"
	      "blocks the collector (backpressure), so its memory stays flat.\n"
	      "\n"
	      "  --seconds S    how long the collector runs (default 3)\n"
	      "  --count N      stop after N lines if that comes first (default: no limit)\n"
	      "  --delay-us U   the analyzer's time per line in microseconds (default 1000)\n",
	      f);
}

static int parse_num(const char *s, double *out)
{
	char *end;

	errno = 0;
	*out = strtod(s, &end);
	return (end == s || *end || errno || *out < 0 || *out > 1e9) ? -EINVAL : 0;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "seconds", required_argument, NULL, 's' },
		{ "count", required_argument, NULL, 'n' },
		{ "delay-us", required_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct opts o = { .seconds = 3, .count = 0, .delay_us = 1000 };
	ipk_chan *rx = NULL, *tx = NULL;
	int c, r, status;
	double v;
	long sent;
	pid_t pid;

	while ((c = getopt_long(argc, argv, "s:n:d:h", longopts, NULL)) != -1) {
		switch (c) {
		case 's':
		case 'n':
		case 'd':
			if (parse_num(optarg, &v) < 0) {
				fprintf(stderr, "log-pipeline: bad number '%s'\n", optarg);
				return 2;
			}
			if (c == 's')
				o.seconds = v;
			else if (c == 'n')
				o.count = (unsigned long)v;
			else
				o.delay_us = (unsigned long)v;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "log-pipeline: unexpected argument '%s'\n", argv[optind]);
		return 2;
	}

	r = ipk_chan_pipe("pipe:?msgsize=512", 0, &rx, &tx);
	if (r < 0) {
		fprintf(stderr, "log-pipeline: pipe: %s (%s)\n", strerror(-r), ipk_errname(r));
		return 1;
	}
	fflush(stdout);
	pid = fork();
	if (pid < 0) {
		fprintf(stderr, "log-pipeline: fork: %s\n", strerror(errno));
		goto out;
	}
	if (pid == 0) {
		/* The child's copy of the write end would keep the pipe from ever
		 * reporting end-of-stream. */
		ipk_chan_close(tx);
		analyzer(rx, &o);
	}
	ipk_chan_close(rx);
	rx = NULL;

	sent = collector(tx, &o);
	if (sent < 0)
		fprintf(stderr, "log-pipeline: send: %s (%s)\n", strerror((int)-sent),
			ipk_errname((int)sent));
	/* Closing the write end is the analyzer's end-of-stream; it drains the
	 * backlog still in the pipe first. */
	r = ipk_chan_flush(tx, IPK_FOREVER);
	ipk_chan_close(tx);
	tx = NULL;
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR) {
			fprintf(stderr, "log-pipeline: waitpid: %s\n", strerror(errno));
			return 1;
		}
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		fprintf(stderr, "log-pipeline: analyzer failed (status 0x%x)\n", status);
		return 1;
	}
	return sent < 0 || r < 0 ? 1 : 0;
out:
	ipk_chan_close(rx);
	ipk_chan_close(tx);
	return 1;
}
