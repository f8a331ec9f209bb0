/* SPDX-License-Identifier: MIT */
/*
 * tools/cmd_send.c - `ipckit send URL [TEXT]`: TEXT as one message, or each
 * line of standard input as one message, or (--raw) all of it as one.
 */
#include <errno.h>
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
	"Example: ipckit send unix:/tmp/s 'hello'\n";

static int send_msg(const struct cli_chan_opts *o, ipk_chan *ch, const void *buf, size_t len)
{
	int r = ipk_chan_send_tag(ch, buf, len, o->tag, o->timeout_ns);

	if (r == -EMSGSIZE) {
		/* Name the limit and how to raise it, not only the errno. */
		cli_msg("%s: %s (EMSGSIZE): %zu bytes, over the channel's maximum of %zu "
			"(raise it with ?msgsize=)",
			o->url, strerror(EMSGSIZE), len, ipk_chan_max_msg(ch));
		return CLI_FAIL;
	}
	if (r == -EINVAL && o->tag)
		return cli_usage_error("%s: --type and --priority apply to sysvmq: and mq: only",
				       o->url);
	if (r < 0)
		return cli_fail_op(o->url, r, IPK_OP_SEND);
	return CLI_OK;
}

static int send_lines(const struct cli_chan_opts *o, ipk_chan *ch)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	int r = CLI_OK;

	while ((n = getline(&line, &cap, stdin)) >= 0) {
		if (n > 0 && line[n - 1] == '\n')
			n--;
		r = send_msg(o, ch, line, (size_t)n);
		if (r)
			goto out;
	}
	if (ferror(stdin))
		r = cli_fail("standard input", errno);
out:
	free(line);
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
		ssize_t n = read(STDIN_FILENO, buf + len, max + 1 - len);

		if (n == 0)
			break;
		if (n < 0 && errno == EINTR)
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

	r = cli_chan_open(&o, cli_chan_flags(&o, false, IPK_CHAN_WRONLY), &ch);
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
		int f = ipk_chan_flush(ch, o.timeout_ns);

		if (f < 0)
			r = cli_fail(o.url, f);
	}
	ipk_chan_close(ch);
	return r;
}
