/* SPDX-License-Identifier: MIT */
/*
 * tools/cmd_pub.c - `ipckit pub URL`: publish each line of standard input,
 * or (--rate) synthetic messages at a steady rate, until EOF, --count or
 * SIGINT/SIGTERM; then close, so subscribers see the end, and say how many
 * were published.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"

static const char usage[] =
	"Usage: ipckit pub [OPTIONS] URL\n"
	"\n"
	"Publish each line of standard input (without its newline) as one message,\n"
	"or with --rate synthetic messages \"SEQ TIME_NS\" padded to --size bytes\n"
	"(TIME_NS: CLOCK_MONOTONIC when sent). Made for shm:/NAME rings, where this\n"
	"end creates the ring and never waits for subscribers; works on any URL.\n"
	"Stops at end of input, after --count messages or on SIGINT/SIGTERM, and\n"
	"prints the number published on standard error.\n"
	"\n"
	"Options:\n"
	"  -R, --rate N       N synthetic messages per second (0: as fast as possible)\n"
	"      --size N       bytes per synthetic message (default 64, at least 32)\n"
	"  -n, --count N      stop after N messages\n"
	"  -l, --listen       create the object or listen (the default)\n"
	"  -c, --connect      open an existing object or connect\n"
	"  -t, --timeout SEC  limit for opening and for each message (default: forever)\n"
	"      --keep         leave the created object behind\n"
	"      --excl         fail if the object already exists\n"
	"  -h, --help         show this help\n"
	"\n"
	"Example: ipckit pub 'shm:/quotes?capacity=1048576' --rate 100000 --size 64\n";

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

/* SIGINT and SIGTERM end the run; no SA_RESTART, so a read of standard
 * input returns EINTR and the loop sees the flag. */
static void catch_stop(void)
{
	struct sigaction sa = { .sa_handler = on_signal };

	sigemptyset(&sa.sa_mask);
	(void)sigaction(SIGINT, &sa, NULL);
	(void)sigaction(SIGTERM, &sa, NULL);
}

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * IPK_SEC + ts.tv_nsec;
}

static int publish(const struct cli_chan_opts *o, ipk_chan *ch, const void *buf, size_t len)
{
	int r = ipk_chan_send(ch, buf, len, o->timeout_ns);

	if (r == -EMSGSIZE) {
		cli_msg("%s: %s (EMSGSIZE): %zu bytes, over the channel's maximum of %zu "
			"(raise it with ?msgsize=)",
			o->url, strerror(EMSGSIZE), len, ipk_chan_max_msg(ch));
		return CLI_FAIL;
	}
	return r < 0 ? cli_fail_op(o->url, r, IPK_OP_SEND) : CLI_OK;
}

static int pub_lines(const struct cli_chan_opts *o, ipk_chan *ch, unsigned long *sent)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	int r = CLI_OK;

	while (!stop && (!o->count || *sent < o->count) && (n = getline(&line, &cap, stdin)) >= 0) {
		if (n > 0 && line[n - 1] == '\n')
			n--;
		r = publish(o, ch, line, (size_t)n);
		if (r)
			break;
		++*sent;
	}
	if (!r && !stop && ferror(stdin))
		r = cli_fail("standard input", errno);
	free(line);
	return r;
}

/* Message i is due at t0 + i / rate: behind schedule it publishes at once,
 * so the average rate holds even where sleeps are coarse. */
static int pub_synthetic(const struct cli_chan_opts *o, ipk_chan *ch, unsigned long *sent)
{
	int64_t t0 = now_ns();
	char *buf;
	int r = CLI_OK;

	buf = malloc(o->size);
	if (!buf)
		return cli_fail("--size", ENOMEM);
	memset(buf, '.', o->size);
	while (!stop && (!o->count || *sent < o->count)) {
		int n;

		if (o->rate) {
			int64_t due = t0 + (int64_t)((double)*sent * 1e9 / (double)o->rate);
			struct timespec ts = { due / IPK_SEC, due % IPK_SEC };

			if (due > now_ns() &&
			    clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
				continue;
		}
		n = snprintf(buf, o->size, "%lu %lld", *sent, (long long)now_ns());
		if (n < 0 || (size_t)n >= o->size)
			n = (int)o->size - 1;
		buf[n] = ' '; /* the padding goes on where the number ends */
		r = publish(o, ch, buf, o->size);
		if (r)
			break;
		++*sent;
	}
	free(buf);
	return r;
}

int cmd_pub(int argc, char **argv)
{
	struct cli_chan_opts o;
	unsigned long sent = 0;
	ipk_chan *ch = NULL;
	int r;

	r = cli_chan_parse(argc, argv, usage, CLI_PUB, 0, &o);
	if (r >= 0)
		return r;
	if (!o.synthetic && o.size != 64)
		return cli_usage_error("--size applies to synthetic messages (--rate)");
	catch_stop();
	r = cli_chan_open(&o, cli_chan_flags(&o, true, IPK_CHAN_WRONLY), &ch);
	if (r)
		return r;
	r = o.synthetic ? pub_synthetic(&o, ch, &sent) : pub_lines(&o, ch, &sent);
	if (r == CLI_OK) {
		int f = ipk_chan_flush(ch, o.timeout_ns);

		if (f < 0)
			r = cli_fail(o.url, f);
	}
	ipk_chan_close(ch);
	fprintf(stderr, "%s: published %lu messages\n", cli_prog, sent);
	return r;
}
