/* SPDX-License-Identifier: MIT */
/*
 * tools/cmd_bridge.c - `ipckit bridge SRC DST`: forward every message that
 * arrives on one channel to another, e.g. a shm: ring to NATS on the
 * publishing host and NATS to a shm: ring on each remote one, until SRC's
 * publisher closes, --count, or SIGINT/SIGTERM; then flush DST and report
 * what was forwarded and lost.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"

static const char usage[] =
	"Usage: ipckit bridge [OPTIONS] SRC DST\n"
	"\n"
	"Forward every message of SRC to DST, one message for one message, until\n"
	"SRC's publisher closes, --count messages went through, or SIGINT/SIGTERM;\n"
	"then flush DST and exit. A SRC ring whose publisher dies (kill -9) is\n"
	"waited on for its successor, through any number of restarts. SRC is\n"
	"opened to receive (a shm:/NAME ring as a subscriber), DST to send (a\n"
	"shm:/NAME ring is created and published to).\n"
	"\n"
	"  ipckit bridge shm:/quotes nats://127.0.0.1:4222/quotes   (publishing host)\n"
	"  ipckit bridge nats://10.0.0.1:4222/quotes shm:/quotes    (each remote host)\n"
	"\n"
	"On exit prints on standard error:\n"
	"  ipckit bridge: forwarded N, lost L, skipped K, R msg/s over S s\n"
	"where L counts messages SRC lost before the bridge read them (ring\n"
	"overruns; NATS messages dropped for a slow consumer) and K those a SRC\n"
	"ring held before the bridge joined it (a bridge that waited for the ring\n"
	"starts at its first message: K is 0).\n"
	"\n"
	"Options:\n"
	"  -s, --stats        also print that line every second\n"
	"  -n, --count N      stop after N messages\n"
	"  -t, --timeout SEC  limit for opening SRC and DST (default: 10)\n"
	"  -h, --help         show this help\n"
	"\n"
	"SIGINT or SIGTERM stops the bridge in any state, also while it waits for\n"
	"SRC's ring to appear or for DST to take a message; it removes what it\n"
	"created, prints the line above and exits 0.\n"
	"Exit status: 0 done or stopped, 1 failure, 2 usage error.\n";

/* How long one receive waits before looking at the stop flag. */
#define SLICE_NS (100 * IPK_MSEC)
/* One send may wait this long (a NATS fail-over) before the bridge gives up. */
#define SEND_TIMEOUT_NS (30 * IPK_SEC)
#define FLUSH_TIMEOUT_NS (5 * IPK_SEC)

/* SRC receives: a ring is subscribed to, a fifo read, a nats subject only
 * subscribed (so it may hold wildcards). */
static unsigned src_flags(const char *url)
{
	if (cli_has_scheme(url, "fifo") || cli_has_scheme(url, "nats") ||
	    cli_has_scheme(url, "shm"))
		return IPK_CHAN_RDONLY;
	return 0;
}

/* DST sends: a ring is created (its publisher), a fifo written. */
static unsigned dst_flags(const char *url)
{
	if (cli_has_scheme(url, "shm"))
		return IPK_CHAN_CREATE;
	if (cli_has_scheme(url, "fifo") || cli_has_scheme(url, "nats"))
		return IPK_CHAN_WRONLY;
	return 0;
}

/*
 * The subject of a nats: URL as the library will judge it (dot-separated
 * non-empty tokens, no spaces; wildcards '*' and a final '>' only where
 * the bridge only receives), so that a bad one is a usage error before
 * anything connects. Other schemes: true.
 */
static bool nats_subject_ok(const char *url, bool receive_only)
{
	const char *p, *end, *tok;

	if (!cli_has_scheme(url, "nats") || strncmp(url + 5, "//", 2) != 0)
		return true;
	p = strchr(url + 7, '/');
	if (!p)
		return true; /* cli_check_url() has said what is wrong */
	tok = ++p;
	end = p + strcspn(p, "?");
	for (;; p++) {
		if (p == end || *p == '.') {
			size_t n = (size_t)(p - tok);

			if (n == 0)
				return false;
			if (n == 1 && (*tok == '*' || *tok == '>')) {
				if (!receive_only || (*tok == '>' && p != end))
					return false;
			} else if (memchr(tok, '*', n) || memchr(tok, '>', n)) {
				return false;
			}
			if (p == end)
				return true;
			tok = p + 1;
		} else if ((unsigned char)*p <= ' ' || *p == 0x7f) {
			return false;
		}
	}
}

static int open_end(const char *url, unsigned flags, int64_t timeout_ns, ipk_chan **ch)
{
	/* In slices: a signal ends a wait for SRC's ring or DST's reader. */
	int r = cli_open(url, flags, timeout_ns, ch);

	if (r == -EINTR)
		return CLI_STOPPED;
	if (r == -EINVAL && cli_has_scheme(url, "nats")) {
		cli_msg("%s: invalid subject, stream or queue name, or an option this end "
			"cannot take (EINVAL)",
			url);
		return CLI_USAGE;
	}
	if (r == -EPROTONOSUPPORT) {
		cli_msg("%s: this build of ipckit has no transport for this scheme "
			"(EPROTONOSUPPORT)%s",
			url,
			cli_has_scheme(url, "nats")
				? "; rebuild with libnats-dev and -Dnats=enabled"
				: "");
		return CLI_FAIL;
	}
	if (r == -EACCES && cli_has_scheme(url, "nats")) {
		cli_msg("%s: the NATS server refused the login (EACCES); set IPK_NATS_TOKEN "
			"or IPK_NATS_USER and IPK_NATS_PASSWORD",
			url);
		return CLI_FAIL;
	}
	if (r < 0)
		return cli_fail_op(url, r, IPK_MQ_OP_OPEN);
	return 0;
}

static void report(unsigned long long fwd, const ipk_chan *src, double t0)
{
	double dt = cli_now_s() - t0;

	fprintf(stderr, "%s: forwarded %llu, lost %llu, skipped %llu, %.0f msg/s over %.1f s\n",
		cli_prog, fwd, (unsigned long long)ipk_chan_lost(src),
		(unsigned long long)ipk_chan_skipped(src), dt > 0 ? (double)fwd / dt : 0.0, dt);
}

int cmd_bridge(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "stats", no_argument, NULL, 's' },
		{ "count", required_argument, NULL, 'n' },
		{ "timeout", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	unsigned long long fwd = 0;
	unsigned long count = 0;
	int64_t timeout_ns = 10 * IPK_SEC;
	bool stats = false;
	ipk_chan *src = NULL, *dst = NULL;
	const char *su, *du;
	double t0, next_stats;
	char *buf = NULL;
	size_t max;
	int c, r;

	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, "+:sn:t:h", longopts, NULL)) != -1) {
		switch (c) {
		case 's':
			stats = true;
			break;
		case 'n':
			r = cli_opt_count(optarg, ~0UL, &count);
			if (r)
				return r;
			break;
		case 't':
			r = cli_opt_timeout(optarg, &timeout_ns);
			if (r)
				return r;
			break;
		case 'h':
			fputs(usage, stdout);
			return CLI_OK;
		default:
			return cli_bad_option(c, argv, longopts);
		}
	}
	if (argc - optind != 2)
		return cli_usage_error("expected SRC and DST URLs (see --help)");
	su = argv[optind];
	du = argv[optind + 1];
	/* Both URLs are checked before anything is opened or connected. */
	r = cli_check_url(su);
	if (r)
		return r;
	r = cli_check_url(du);
	if (r)
		return r;
	if (!nats_subject_ok(su, !strstr(su, "stream=")))
		return cli_usage_error("%s: invalid NATS subject", su);
	if (!nats_subject_ok(du, false))
		return cli_usage_error("%s: invalid NATS subject", du);
	if (strcmp(su, du) == 0)
		return cli_usage_error("SRC and DST are the same URL");
	cli_catch_stop();
	t0 = cli_now_s();
	r = open_end(su, src_flags(su), timeout_ns, &src);
	if (r == 0)
		r = open_end(du, dst_flags(du), timeout_ns, &dst);
	if (r == CLI_STOPPED) {
		report(0, src, t0);
		r = CLI_OK;
		goto out;
	}
	if (r)
		goto out;
	max = ipk_chan_max_msg(src);
	buf = malloc(max ? max : 1);
	if (!buf) {
		r = cli_fail("bridge", ENOMEM);
		goto out;
	}
	t0 = cli_now_s();
	next_stats = t0 + 1;
	r = CLI_OK;
	while (!cli_stop && (!count || fwd < count)) {
		ssize_t n = ipk_chan_recv(src, buf, max, SLICE_NS);
		int s;

		if (stats && cli_now_s() >= next_stats) {
			report(fwd, src, t0);
			next_stats += 1;
		}
		if (n == -ETIMEDOUT)
			continue;
		if (n == -EPIPE)
			break; /* the publisher closed */
		if (n == -EOWNERDEAD) {
			cli_msg("%s: the publisher died; waiting for a successor", su);
			continue;
		}
		if (n == -ECONNRESET) {
			cli_msg("%s: the publisher restarted (a new epoch); continuing", su);
			continue;
		}
		if (n < 0) {
			r = cli_fail_op(su, (int)n, IPK_MQ_OP_RECV);
			break;
		}
		s = cli_send(dst, buf, (size_t)n, false, 0, SEND_TIMEOUT_NS);
		if (s == -EINTR)
			break; /* stopped while DST was full: this one is not sent */
		if (s < 0) {
			r = cli_fail_op(du, s, IPK_MQ_OP_SEND);
			break;
		}
		fwd++;
	}
	c = cli_flush(dst, FLUSH_TIMEOUT_NS);
	if (c < 0 && c != -EOPNOTSUPP && r == CLI_OK && !cli_stop)
		r = cli_fail_op(du, c, IPK_MQ_OP_SEND);
	report(fwd, src, t0);
out:
	free(buf);
	cli_close(dst);
	cli_close(src);
	return r;
}
