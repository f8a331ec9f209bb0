/* SPDX-License-Identifier: MIT */
/*
 * tools/cmd_sub.c - `ipckit sub URL`: print each message of a feed, one per
 * line, until the publisher closes, --count or SIGINT/SIGTERM; then say how
 * many arrived and how many were lost.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const char usage[] =
	"Usage: ipckit sub [OPTIONS] URL\n"
	"\n"
	"Subscribe and print each message on its own line until the publisher\n"
	"closes, --count messages arrived, or SIGINT/SIGTERM. Made for shm:/NAME\n"
	"rings and rings offered on D-Bus (dbus:BUSNAME/NAME, see ipckit pub --bus).\n"
	"It waits for the ring to appear, and then starts at the ring's first\n"
	"message; a ring that is there already, at its end (--from says otherwise).\n"
	"A publisher that dies (kill -9) is a pause, not the end: it waits, within\n"
	"--timeout, for a successor on the name and follows it, through any number\n"
	"of restarts. On exit prints \"N messages, M lost, K skipped\" on standard\n"
	"error: M overwritten before this subscriber could read them, K published\n"
	"before its start; N + M + K is every message before the next. SIGINT and\n"
	"SIGTERM stop it at once, also while it waits for the ring; so does a\n"
	"reader of standard output that goes away (| head -1).\n"
	"Exit status: 0 done or stopped, 1 failure, 2 usage error.\n"
	"\n"
	"Options:\n"
	"  -n, --count N      stop after N messages\n"
	"  -q, --quiet        print only the summary\n"
	"      --from WHERE   start at the ring's end, its oldest message, or\n"
	"                     message number SEQ (end|oldest|SEQ: the URL's from=)\n"
	"  -c, --connect      open the object or connect (the default)\n"
	"  -l, --listen       create the object or listen\n"
	"  -t, --timeout SEC  limit for opening and for each message (default: forever)\n"
	"      --keep, --excl as for recv, with --listen\n"
	"  -h, --help         show this help\n"
	"\n"
	"Example: ipckit sub shm:/quotes --count 10\n"
	"         ipckit sub dbus:org.example.Quotes/quotes?bus=session\n";

int cmd_sub(int argc, char **argv)
{
	struct cli_chan_opts o;
	unsigned long got = 0;
	ipk_chan *ch = NULL;
	char *buf = NULL;
	size_t max;
	int r;

	r = cli_chan_parse(argc, argv, usage, CLI_SUB, 0, &o);
	if (r >= 0)
		return r;
	if (o.listen && cli_has_scheme(o.url, "shm"))
		return cli_usage_error("--listen on a shm: ring would make this end its "
				       "publisher: the ring is created by ipckit pub");
	cli_catch_stop();
	/* Waits for the ring to appear in slices: a signal ends the wait. */
	r = cli_chan_open(&o, cli_chan_flags(&o, false, IPK_CHAN_RDONLY), &ch);
	if (r == CLI_STOPPED) {
		r = CLI_OK;
		goto summary;
	}
	if (r)
		return r;
	max = ipk_chan_max_msg(ch);
	buf = malloc(max ? max : 1);
	if (!buf) {
		r = cli_fail(o.url, ENOMEM);
		goto out;
	}
	r = CLI_OK;
	while (!cli_stop && (!o.count || got < o.count)) {
		ssize_t n = cli_recv(ch, buf, max, 0, NULL, o.timeout_ns);

		if (n == -EPIPE || n == -EINTR)
			break; /* the publisher closed, or we were told to stop */
		if (n == -EOWNERDEAD) {
			cli_msg("%s: the publisher died; waiting for a successor", o.url);
			continue;
		}
		if (n == -ECONNRESET) {
			cli_msg("%s: the publisher restarted (a new epoch); continuing", o.url);
			continue;
		}
		if (n == -EMSGSIZE) {
			cli_msg("%s: %s (EMSGSIZE): a %zu-byte message is over this end's "
				"maximum of %zu (raise it with ?msgsize=)",
				o.url, strerror(EMSGSIZE), ipk_chan_next_len(ch), max);
			r = CLI_FAIL;
			break;
		}
		if (n < 0) {
			r = cli_fail_op(o.url, (int)n, IPK_MQ_OP_RECV);
			break;
		}
		got++;
		if (!o.quiet && (fwrite(buf, 1, (size_t)n, stdout) != (size_t)n ||
				 putchar('\n') == EOF || fflush(stdout) == EOF)) {
			r = cli_out_failed(errno);
			break;
		}
	}
summary:
	fprintf(stderr, "%s: %lu messages, %llu lost, %llu skipped\n", cli_prog, got,
		(unsigned long long)(ch ? ipk_chan_lost(ch) : 0),
		(unsigned long long)(ch ? ipk_chan_skipped(ch) : 0));
out:
	free(buf);
	cli_close(ch);
	return r;
}
