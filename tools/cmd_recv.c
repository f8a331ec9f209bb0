/* SPDX-License-Identifier: MIT */
/*
 * tools/cmd_recv.c - `ipckit recv URL`: print each message received, one per
 * line (or, with --raw, the bytes as they are), until --count messages or
 * until the peer closes.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const char usage[] =
	"Usage: ipckit recv [OPTIONS] URL\n"
	"\n"
	"Receive messages and print each on its own line, until --count messages\n"
	"arrived or the peer closed the channel.\n"
	"\n"
	"Options:\n"
	"  -l, --listen       create the object or listen for the peer (the default)\n"
	"  -c, --connect      open the object or connect to a listening peer\n"
	"  -n, --count N      stop after N messages\n"
	"  -t, --timeout SEC  limit for opening and for each message, e.g. 0.5\n"
	"                     (default: wait forever)\n"
	"  -r, --raw          write the bytes as they are, with no newline\n"
	"      --type N       System V selector: 0 any, N that type, -N the lowest\n"
	"                     type up to N (sysvmq:; default 0)\n"
	"      --show-meta    print each message's type or priority and a tab first\n"
	"      --keep         leave the created object behind\n"
	"      --excl         fail if the object already exists\n"
	"  -h, --help         show this help\n"
	"\n"
	"SIGINT or SIGTERM, while waiting for the peer or a message, stops recv:\n"
	"it removes what it created (unless --keep), prints \"ipckit recv: stopped\n"
	"by SIGINT after N messages\" on standard error and exits 0. A reader of\n"
	"standard output that goes away (| head -1) stops it the same way, quietly.\n"
	"Exit status: 0 done or stopped, 1 failure, 2 usage error.\n"
	"\n"
	"On a byte stream (fifo:, unix:, tcp:) ?framing=line takes newline-ended\n"
	"lines from a peer that writes text (echo, socat, a Python socket); a line\n"
	"over ?msgsize= (default 65536) is an error. ?framing=none takes the bytes\n"
	"as they come, each read a message (with --raw, copied unchanged).\n"
	"\n"
	"Example: ipckit recv unix:/tmp/s --count 1\n";

int cmd_recv(int argc, char **argv)
{
	struct cli_chan_opts o;
	ipk_chan *ch = NULL;
	unsigned long got;
	char *buf = NULL;
	size_t max;
	int r;

	r = cli_chan_parse(argc, argv, usage, CLI_RECV, 0, &o);
	if (r >= 0)
		return r;
	cli_catch_stop();
	got = 0;
	r = cli_chan_open(&o, cli_chan_flags(&o, true, IPK_CHAN_RDONLY), &ch);
	if (r == CLI_STOPPED)
		goto stopped;
	if (r)
		return r;

	max = ipk_chan_max_msg(ch);
	buf = malloc(max ? max : 1);
	if (!buf) {
		r = cli_fail(o.url, ENOMEM);
		goto out;
	}
	for (got = 0; !o.count || got < o.count; got++) {
		long tag = 0;
		ssize_t n = cli_recv(ch, buf, max, o.tag, &tag, o.timeout_ns);

		if (n == -EPIPE || n == -EINTR)
			break; /* the peer closed (all it sent is printed), or a stop */
		if (n == -EMSGSIZE && ipk_chan_next_len(ch) > max) {
			/* framing=line: the line was dropped, not split */
			cli_msg("%s: %s (EMSGSIZE): a line of more than %zu bytes, over this "
				"end's maximum (raise it with ?msgsize=)",
				o.url, strerror(EMSGSIZE), max);
			r = CLI_FAIL;
			goto out;
		}
		if (n == -EMSGSIZE) {
			cli_msg("%s: %s (EMSGSIZE): a %zu-byte message is over this end's "
				"maximum of %zu (raise it with ?msgsize=)",
				o.url, strerror(EMSGSIZE), ipk_chan_next_len(ch), max);
			r = CLI_FAIL;
			goto out;
		}
		if (n == -EPROTO) {
			/* Most often a sender with a larger msgsize= than ours. */
			cli_msg("%s: %s (EPROTO): a message over this end's maximum of %zu "
				"bytes, or broken framing (raise the maximum with ?msgsize=)",
				o.url, strerror(EPROTO), max);
			r = CLI_FAIL;
			goto out;
		}
		if (n < 0) {
			r = cli_fail_op(o.url, (int)n, IPK_MQ_OP_RECV);
			goto out;
		}
		/* Flush each message: a reader down a shell pipe sees it now. */
		if ((o.show_meta && printf("%ld\t", tag) < 0) ||
		    fwrite(buf, 1, (size_t)n, stdout) != (size_t)n ||
		    (!o.raw && putchar('\n') == EOF) || fflush(stdout) == EOF) {
			r = cli_out_failed(errno);
			goto out;
		}
	}
	r = CLI_OK;
out:
	free(buf);
	cli_close(ch);
stopped:
	if (cli_stop_name())
		cli_msg("stopped by %s after %lu message%s", cli_stop_name(), got,
			got == 1 ? "" : "s");
	return r == CLI_STOPPED ? CLI_OK : r;
}
