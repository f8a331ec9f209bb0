/* SPDX-License-Identifier: MIT */
/*
 * tools/cmd_signal.c - `ipckit signal send PID SIGNAL [--value N]` queues a
 * signal with a payload (sigqueue); `ipckit signal wait [SIGNAL...]` takes
 * signals through a signalfd and prints one line per signal: its name, its
 * value and the sender's pid and uid.
 */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cli.h"

int cmd_signal(int argc, char **argv); /* dispatched from tools/ipckit.c */

static const char usage[] =
	"Usage: ipckit signal send PID SIGNAL [--value N]\n"
	"       ipckit signal wait [SIGNAL...] [--count N] [--timeout SECONDS]\n"
	"\n"
	"send: queue SIGNAL to process PID with sigqueue(3), carrying the integer\n"
	"  N (default 0). Real-time signals queue and keep their order; standard\n"
	"  signals merge while one is pending.\n"
	"wait: block the SIGNALs (default: SIGRTMIN..SIGRTMAX) and print each one\n"
	"  received as 'NAME value=N pid=PID uid=UID', until --count signals\n"
	"  (default: no limit) or --timeout (exit 1).\n"
	"\n"
	"SIGNAL: a name or number: USR1, SIGUSR1, RTMIN+1, SIGRTMAX-2, 10.\n"
	"\n"
	"Options:\n"
	"  --value N          the payload of send (an int)\n"
	"  --count N          wait: stop after N signals\n"
	"  --timeout SECONDS  wait: give up after this long (e.g. 0.5)\n"
	"  -h, --help         show this help\n"
	"\n"
	"wait stops on SIGINT or SIGTERM (unless it waits for them), prints\n"
	"'ipckit signal: stopped by SIGINT after N signals' and exits 0.\n"
	"\n"
	"Exit status: 0 ok or stopped, 1 failure (no such process, queue full,\n"
	"timeout), 2 usage error.\n";

static const struct option longopts[] = {
	{ "value", required_argument, NULL, 'v' },
	{ "count", required_argument, NULL, 'n' },
	{ "timeout", required_argument, NULL, 't' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

struct opts {
	long value;
	unsigned long count;
	int64_t timeout_ns;
	bool has_value, has_count, has_timeout;
};

static int parse_signal(const char *s, int *signo)
{
	int r = ipk_sig_from_name(s);

	if (r < 0)
		return cli_usage_error("bad signal '%s': want a name (USR1, RTMIN+1) or a "
				       "number from 1 to %d",
				       s, NSIG - 1);
	*signo = r;
	return 0;
}

static int do_send(int nargs, char **args, const struct opts *o)
{
	char what[64], name[32];
	const char *hint;
	long pid;
	int signo = 0, r;

	if (o->has_count || o->has_timeout)
		return cli_usage_error("send takes no --count or --timeout");
	if (nargs != 2)
		return cli_usage_error("send wants PID and SIGNAL (see 'ipckit signal --help')");
	if (cli_parse_long(args[0], 1, INT_MAX, &pid) < 0)
		return cli_usage_error("bad PID '%s': want a number from 1 to %d", args[0],
				       INT_MAX);
	r = parse_signal(args[1], &signo);
	if (r)
		return r;
	r = ipk_sig_send((pid_t)pid, signo, (intptr_t)o->value);
	if (r == 0)
		return CLI_OK;
	(void)ipk_sig_name(signo, name, sizeof(name));
	snprintf(what, sizeof(what), "%s to pid %ld", name, pid);
	hint = ipk_sig_limit_hint(r);
	if (!hint)
		return cli_fail(what, r);
	cli_msg("%s: %s (%s); limit: %s", what, strerror(-r), ipk_errname(r), hint);
	return CLI_FAIL;
}

static int do_wait(int nargs, char **args, const struct opts *o)
{
	struct ipk_siginfo si;
	int64_t start;
	unsigned long n = 0;
	ipk_sigfd *sfd;
	sigset_t set;
	int64_t deadline_left = o->has_timeout ? o->timeout_ns : IPK_FOREVER;
	int i, r, s = 0;

	if (o->has_value)
		return cli_usage_error("wait takes no --value");
	sigemptyset(&set);
	for (i = 0; i < nargs; i++) {
		r = parse_signal(args[i], &s);
		if (r)
			return r;
		if (s == SIGKILL || s == SIGSTOP)
			return cli_usage_error("%s cannot be waited for: it can be neither "
					       "blocked nor caught",
					       args[i]);
		sigaddset(&set, s);
	}
	if (nargs == 0)
		for (s = SIGRTMIN; s <= SIGRTMAX; s++)
			sigaddset(&set, s);
	/* SIGINT and SIGTERM stop the wait, unless they are waited for. */
	cli_catch_stop();
	r = ipk_sigfd_open(&set, &sfd);
	if (r < 0)
		return cli_fail("signalfd", r);
	/* One deadline for the whole wait: --timeout bounds the command. */
	start = cli_now_ns();
	while (!o->has_count || n < o->count) {
		int64_t left = IPK_FOREVER;
		char name[32];

		if (o->has_timeout) {
			left = deadline_left - (cli_now_ns() - start);
			if (left <= 0)
				left = 1; /* one last look, then -ETIMEDOUT */
		}
		/* In slices of 100 ms: the library retries EINTR. */
		if (cli_stop) {
			ipk_sigfd_close(sfd);
			cli_msg("stopped by %s after %lu signal%s", cli_stop_name(), n,
				n == 1 ? "" : "s");
			return CLI_OK;
		}
		r = ipk_sigfd_read(sfd, left < 0 || left > 100 * IPK_MSEC ? 100 * IPK_MSEC : left,
				   &si);
		if (r == -ETIMEDOUT && (left < 0 || left > 100 * IPK_MSEC))
			continue;
		if (r < 0) {
			ipk_sigfd_close(sfd);
			if (r == -ETIMEDOUT) {
				cli_msg("timed out after %lu signal%s", n, n == 1 ? "" : "s");
				return CLI_FAIL;
			}
			return cli_fail("signalfd", r);
		}
		(void)ipk_sig_name(si.signo, name, sizeof(name));
		if (printf("%s value=%d pid=%ld uid=%lu\n", name, (int)si.value, (long)si.pid,
			   (unsigned long)si.uid) < 0 ||
		    fflush(stdout) == EOF) {
			ipk_sigfd_close(sfd);
			return cli_out_failed(errno);
		}
		n++;
	}
	ipk_sigfd_close(sfd);
	return CLI_OK;
}

int cmd_signal(int argc, char **argv)
{
	struct opts o;
	const char *sub;
	int c, r;

	memset(&o, 0, sizeof(o));
	if (argc < 2)
		return cli_usage_error("missing subcommand: send or wait (see 'ipckit signal "
				       "--help')");
	sub = argv[1];
	if (!strcmp(sub, "--help") || !strcmp(sub, "-h")) {
		fputs(usage, stdout);
		return CLI_OK;
	}
	if (strcmp(sub, "send") != 0 && strcmp(sub, "wait") != 0)
		return cli_usage_error("unknown subcommand '%s' (see 'ipckit signal --help')", sub);
	argc--;
	argv++;
	opterr = 0;
	optind = 1;
	/* "+" would stop at the first operand; options may follow them. A
	 * lone "-5" is not an option here: send has no short options. */
	while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
		switch (c) {
		case 'v':
			if (cli_parse_long(optarg, INT_MIN, INT_MAX, &o.value) < 0)
				return cli_usage_error("bad --value '%s': want an integer from %d "
						       "to %d",
						       optarg, INT_MIN, INT_MAX);
			o.has_value = true;
			break;
		case 'n':
			r = cli_opt_count(optarg, ULONG_MAX, &o.count);
			if (r)
				return r;
			o.has_count = true;
			break;
		case 't':
			r = cli_opt_timeout(optarg, &o.timeout_ns);
			if (r)
				return r;
			o.has_timeout = true;
			break;
		case 'h':
			fputs(usage, stdout);
			return CLI_OK;
		default:
			return cli_bad_option(c, argv, longopts);
		}
	}
	if (!strcmp(sub, "send"))
		return do_send(argc - optind, argv + optind, &o);
	return do_wait(argc - optind, argv + optind, &o);
}
