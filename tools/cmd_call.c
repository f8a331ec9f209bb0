/* SPDX-License-Identifier: MIT */
/*
 * tools/cmd_call.c - `ipckit call NAME TEXT`: one ipk_svc call from a
 * shell; the reply goes to standard output.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ipckit/svc.h>

#include "cli.h"

int cmd_call(int argc, char **argv); /* dispatched from tools/ipckit.c */

static const char usage[] =
	"Usage: ipckit call NAME TEXT|- [--timeout SECONDS] [--spin] [--raw]\n"
	"\n"
	"Call the ipk_svc server at NAME ('/path' or '@name', see 'ipckit serve')\n"
	"with TEXT as the request ('-': standard input, up to its end), and print\n"
	"the reply, with a newline added unless it ends with one (--raw: the\n"
	"reply's bytes exactly).\n"
	"\n"
	"Options:\n"
	"  --timeout SECONDS  give up after this long, connecting included\n"
	"                     (default: wait for ever); exit 1\n"
	"  --spin             busy-spin while waiting for the reply\n"
	"  --raw              print the reply as it is\n"
	"  -h, --help         show this help\n"
	"\n"
	"SIGINT, SIGTERM or SIGPIPE stops it (the call is given up): it prints\n"
	"'ipckit call: stopped by SIGINT' and exits 0.\n"
	"\n"
	"Exit status: 0 ok or stopped, 1 failure (no server, refused, timeout, the\n"
	"server went away), 2 usage error.\n";

static const struct option longopts[] = {
	{ "timeout", required_argument, NULL, 't' },
	{ "spin", no_argument, NULL, 'S' },
	{ "raw", no_argument, NULL, 'r' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

#define SLICE_NS (100 * IPK_MSEC)
#define STDIN_MAX (16u << 20)

static void on_pipe_stop(int sig)
{
	cli_stop = sig;
}

/* Time left until @deadline (-1: none), at most one slice. */
static int64_t slice(int64_t deadline)
{
	int64_t left;

	if (deadline < 0)
		return SLICE_NS;
	left = deadline - cli_now_ns();
	return left <= 0 ? 0 : left < SLICE_NS ? left : SLICE_NS;
}

static int read_stdin(char **buf, size_t *len)
{
	size_t cap = 4096, n = 0;
	char *b = malloc(cap);

	while (b) {
		ssize_t r;

		if (n == cap) {
			char *nb = cap < STDIN_MAX ? realloc(b, cap * 2) : NULL;

			if (!nb)
				break;
			b = nb;
			cap *= 2;
		}
		r = read(0, b + n, cap - n);
		if (r == 0) {
			*buf = b;
			*len = n;
			return 0;
		}
		if (r > 0)
			n += (size_t)r;
		else if (errno != EINTR)
			break;
		if (cli_stop)
			break;
	}
	free(b);
	return cli_stop ? -EINTR : -ENOMEM;
}

static int call(const char *name, const char *req, size_t len, const struct ipk_svc_client_opts *co,
		int64_t deadline, bool raw)
{
	ipk_svc_client *c = NULL;
	char *rep = NULL;
	size_t cap;
	uint64_t id;
	ssize_t r;

	do { /* a server not there yet: waited for in slices */
		r = ipk_svc_connect(name, co, slice(deadline), &c);
	} while ((r == -ETIMEDOUT || r == -EAGAIN) && !cli_stop && slice(deadline) > 0);
	if (cli_stop && r == 0)
		goto stopped;
	if (cli_stop)
		goto stopped_nc;
	if (r == -EINVAL)
		return cli_usage_error("bad NAME '%s': want /path or @name", name);
	if (r == -EAGAIN)
		r = -ETIMEDOUT;
	if (r < 0)
		return cli_fail(name, (int)r);
	/* rep holds cap bytes and a newline: ipk_svc_call_start() may connect
	 * again, to a server with another max_msg, so cap is what we pass */
	cap = ipk_svc_max_msg(c);
	rep = malloc(cap + 1);
	if (!rep) {
		r = -ENOMEM;
		goto fail;
	}
	r = ipk_svc_call_start(c, req, len, &id, 0);
	if (r < 0)
		goto fail;
	for (;;) {
		r = ipk_svc_call_wait(c, id, rep, cap, slice(deadline));
		if (r == -EMSGSIZE && ipk_svc_max_msg(c) > cap) {
			/* a reply from the new server's larger max_msg: kept for us */
			char *nr = realloc(rep, ipk_svc_max_msg(c) + 1);

			if (!nr) {
				r = -ENOMEM;
				goto fail;
			}
			rep = nr;
			cap = ipk_svc_max_msg(c);
			continue;
		}
		if (!((r == -ETIMEDOUT || r == -EAGAIN) && !cli_stop && slice(deadline) > 0))
			break;
	}
	if (cli_stop)
		goto stopped;
	if (r == -EAGAIN)
		r = -ETIMEDOUT;
	if (r < 0)
		goto fail;
	if (!raw && (r == 0 || rep[r - 1] != '\n'))
		rep[r++] = '\n';
	if (fwrite(rep, 1, (size_t)r, stdout) != (size_t)r || fflush(stdout) != 0) {
		r = cli_out_failed(errno);
		if (cli_stop == SIGPIPE)
			r = CLI_OK; /* a reader that went away: a quiet stop */
		goto out;
	}
	r = CLI_OK;
	goto out;

stopped:
	ipk_svc_client_close(c);
	c = NULL;
stopped_nc:
	if (cli_stop != SIGPIPE)
		cli_msg("stopped by %s", cli_stop_name());
	r = CLI_OK;
	goto out;
fail:
	r = cli_fail(name, (int)r);
out:
	ipk_svc_client_close(c);
	free(rep);
	return (int)r;
}

int cmd_call(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = on_pipe_stop };
	struct ipk_svc_client_opts co = { 0 };
	int64_t timeout = -1;
	bool raw = false;
	char *in = NULL;
	size_t len;
	int c, r;

	opterr = 0;
	while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
		switch (c) {
		case 't':
			r = cli_opt_timeout(optarg, &timeout);
			if (r)
				return r;
			break;
		case 'S':
			co.flags |= IPK_SVC_SPIN;
			break;
		case 'r':
			raw = true;
			break;
		case 'h':
			fputs(usage, stdout);
			return CLI_OK;
		default:
			return cli_bad_option(c, argv, longopts);
		}
	}
	if (argc - optind != 2)
		return cli_usage_error("want NAME and TEXT (see 'ipckit call --help')");
	cli_catch_stop();
	sigemptyset(&sa.sa_mask);
	(void)sigaction(SIGPIPE, &sa, NULL);
	if (!strcmp(argv[optind + 1], "-")) {
		r = read_stdin(&in, &len);
		if (r == -EINTR) {
			cli_msg("stopped by %s", cli_stop == SIGPIPE ? "SIGPIPE" : cli_stop_name());
			return CLI_OK;
		}
		if (r < 0)
			return cli_fail("standard input", r);
	}
	r = call(argv[optind], in ? in : argv[optind + 1], in ? len : strlen(argv[optind + 1]), &co,
		 timeout < 0 ? -1 : cli_now_ns() + timeout, raw);
	free(in);
	return r;
}
