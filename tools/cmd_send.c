/* SPDX-License-Identifier: MIT */
/*
 * tools/cmd_send.c - `ipckit send URL [TEXT]`: TEXT as one message, or each
 * line of standard input as one message, or (--raw) all of it as one.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

static const char usage[] =
	"Usage: ipckit send [OPTIONS] URL [TEXT]\n"
	"\n"
	"Send TEXT as one message. Without TEXT, send each line of standard input\n"
	"(without its newline) as one message; with --raw, all of standard input\n"
	"as one message.\n"
	"\n"
	"Options:\n"
	"  -c, --connect      open the object or connect to the peer (the default)\n"
	"  -l, --listen       create the object or listen, and wait for the peer\n"
	"  -t, --timeout SEC  limit for opening and for each message, e.g. 0.5\n"
	"                     (default: wait forever)\n"
	"  -r, --raw          send all of standard input as one message\n"
	"      --type N       System V message type (sysvmq:, N >= 1; default 1)\n"
	"      --priority N   POSIX queue priority (mq:, 0 to 32767; default 0)\n"
	"      --keep         leave the created object behind (with --listen)\n"
	"      --excl         fail if the object already exists (with --listen)\n"
	"  -h, --help         show this help\n"
	"\n"
	"SIGINT or SIGTERM, while waiting for the peer, for input or for room,\n"
	"stops send: what was not yet sent is not, what it created is removed\n"
	"(unless --keep), and it prints \"ipckit send: stopped by SIGINT after N\n"
	"messages\" on standard error and exits 0.\n"
	"Exit status: 0 sent or stopped, 1 failure, 2 usage error.\n"
	"\n"
	"On a byte stream (fifo:, unix:, tcp:) ?framing=line sends each message as\n"
	"a line, for a peer that reads text (cat, socat, a Python socket), and\n"
	"?framing=none the bytes as they are (with --raw, standard input unchanged).\n"
	"\n"
	"Example: ipckit send unix:/tmp/s 'hello'\n";

/* Messages sent, for the summary after a stop. */
static unsigned long sent;

static int send_msg(const struct cli_chan_opts *o, ipk_chan *ch, const void *buf, size_t len)
{
	/* Untagged unless --type or --priority: a sysvmq: message is then of
	 * type 1, an mq: one of priority 0. */
	int r = cli_send(ch, buf, len, o->tag_opt != 0, o->tag, o->timeout_ns);

	if (r == -EINTR)
		return CLI_OK; /* stopped: the caller sees cli_stop */
	if (r == -EMSGSIZE) {
		/* Name the limit and how to raise it, not only the errno. */
		cli_msg("%s: %s (EMSGSIZE): %zu bytes, over the channel's maximum of %zu "
			"(raise it with ?msgsize=)",
			o->url, strerror(EMSGSIZE), len, ipk_chan_max_msg(ch));
		return CLI_FAIL;
	}
	if (r == -EINVAL && strstr(o->url, "framing=line") && memchr(buf, '\n', len)) {
		/* framing=line: the newline would end the message early */
		cli_msg("%s: %s (EINVAL): a message holds a newline, which ends a line "
			"(send standard input line by line, without --raw)",
			o->url, strerror(EINVAL));
		return CLI_FAIL;
	}
	if (r < 0)
		return cli_fail_op(o->url, r, IPK_MQ_OP_SEND);
	sent++;
	return CLI_OK;
}

static int send_lines(const struct cli_chan_opts *o, ipk_chan *ch)
{
	struct cli_lines in = { 0 };
	char *line;
	ssize_t n = 0;
	int r = CLI_OK;

	while (!cli_stop && (n = cli_getline(&in, &line)) >= 0) {
		r = send_msg(o, ch, line, (size_t)n);
		if (r)
			break;
	}
	if (!r && n == -2)
		r = CLI_FAIL;
	free(in.buf);
	return r;
}

static int send_raw(const struct cli_chan_opts *o, ipk_chan *ch)
{
	size_t max = ipk_chan_max_msg(ch), len = 0;
	char *buf;
	int r;

	/* One byte more than fits tells "exactly the maximum" from "too much". */
	buf = malloc(max + 1);
	if (!buf)
		return cli_fail("standard input", ENOMEM);
	while (len <= max) {
		struct pollfd pf = { .fd = STDIN_FILENO, .events = POLLIN };
		ssize_t n;

		/* A look at the stop flag every 100 ms while input is slow. */
		if (cli_stop) {
			r = CLI_OK;
			goto out;
		}
		if (poll(&pf, 1, 100) <= 0)
			continue;
		n = read(STDIN_FILENO, buf + len, max + 1 - len);
		if (n == 0)
			break;
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n < 0) {
			r = cli_fail("standard input", errno);
			goto out;
		}
		len += (size_t)n;
	}
	if (len > max) {
		cli_msg("%s: %s (EMSGSIZE): standard input is over the channel's maximum of %zu "
			"bytes (raise it with ?msgsize=)",
			o->url, strerror(EMSGSIZE), max);
		r = CLI_FAIL;
		goto out;
	}
	r = send_msg(o, ch, buf, len);
out:
	free(buf);
	return r;
}

int cmd_send(int argc, char **argv)
{
	struct cli_chan_opts o;
	ipk_chan *ch = NULL;
	int r;

	r = cli_chan_parse(argc, argv, usage, CLI_SEND, 1, &o);
	if (r >= 0)
		return r;
	if (o.raw && o.nrest)
		return cli_usage_error("--raw sends standard input and takes no TEXT");

	cli_catch_stop();
	r = cli_chan_open(&o, cli_chan_flags(&o, false, IPK_CHAN_WRONLY), &ch);
	if (r == CLI_STOPPED)
		goto stopped;
	if (r)
		return r;
	if (o.nrest)
		r = send_msg(&o, ch, o.rest[0], strlen(o.rest[0]));
	else if (o.raw)
		r = send_raw(&o, ch);
	else
		r = send_lines(&o, ch);
	if (r == CLI_OK) {
		/* A deadline may have cut a frame; close() would drop its rest. */
		int f = cli_flush(ch, o.timeout_ns);

		if (f < 0 && !cli_stop)
			r = cli_fail(o.url, f);
	}
	cli_close(ch);
stopped:
	if (cli_stop_name())
		cli_msg("stopped by %s after %lu message%s", cli_stop_name(), sent,
			sent == 1 ? "" : "s");
	return r == CLI_STOPPED ? CLI_OK : r;
}
