/* SPDX-License-Identifier: MIT */
/*
 * tools/cmd_mq.c - `ipckit mq limits [--json]`: the kernel's current limits
 * on POSIX and System V message queues, each with the knob that raises it.
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"

static const char usage[] = "Usage: ipckit mq limits [--json]\n"
			    "\n"
			    "Print the current kernel limits on message queues and how to raise\n"
			    "each one: RLIMIT_MSGQUEUE, fs.mqueue.* (POSIX mq:) and kernel.msg*\n"
			    "(System V sysvmq:). -1 means the system does not say.\n"
			    "\n"
			    "Options:\n"
			    "  --json      one JSON document on standard output\n"
			    "  -h, --help  show this help\n";

struct row {
	const char *name; /* sysctl or rlimit name */
	int64_t value;
	const char *what;
	const char *raise;
};

static void fill_rows(const struct ipk_mq_limits *l, struct row *r)
{
	const struct row rows[] = {
		{ "RLIMIT_MSGQUEUE.soft", l->rlimit_msgqueue_soft, "bytes of POSIX queues per user",
		  "ulimit -q N" },
		{ "RLIMIT_MSGQUEUE.hard", l->rlimit_msgqueue_hard, "ceiling of the soft limit",
		  "/etc/security/limits.conf (msgqueue)" },
		{ "fs.mqueue.msg_max", l->msg_max, "largest maxmsg= of a POSIX queue",
		  "sysctl -w fs.mqueue.msg_max=N" },
		{ "fs.mqueue.msgsize_max", l->msgsize_max, "largest msgsize= of a POSIX queue",
		  "sysctl -w fs.mqueue.msgsize_max=N" },
		{ "fs.mqueue.queues_max", l->queues_max, "POSIX queues in the system",
		  "sysctl -w fs.mqueue.queues_max=N" },
		{ "fs.mqueue.msg_default", l->msg_default, "maxmsg when the URL gives none",
		  "sysctl -w fs.mqueue.msg_default=N" },
		{ "fs.mqueue.msgsize_default", l->msgsize_default,
		  "msgsize when the URL gives none", "sysctl -w fs.mqueue.msgsize_default=N" },
		{ "kernel.msgmnb", l->msgmnb, "bytes in one System V queue",
		  "sysctl -w kernel.msgmnb=N" },
		{ "kernel.msgmax", l->msgmax, "bytes in one System V message",
		  "sysctl -w kernel.msgmax=N" },
		{ "kernel.msgmni", l->msgmni, "System V queues in the system",
		  "sysctl -w kernel.msgmni=N" },
	};

	memcpy(r, rows, sizeof(rows));
}

#define NROWS 10

static void print_value(int64_t v, bool json)
{
	if (v == IPK_MQ_UNLIMITED)
		fputs(json ? "\"unlimited\"" : "unlimited", stdout);
	else
		printf("%lld", (long long)v);
}

static int limits(bool json)
{
	struct ipk_mq_limits l;
	struct row rows[NROWS];
	int r = ipk_mq_limits(&l);

	if (r < 0)
		return cli_fail("limits", r);
	fill_rows(&l, rows);
	if (json) {
		fputs("{", stdout);
		for (int i = 0; i < NROWS; i++) {
			printf("%s\"%s\": ", i ? ", " : "", rows[i].name);
			print_value(rows[i].value, true);
		}
		fputs("}\n", stdout);
		return CLI_OK;
	}
	printf("%-26s %12s  %-34s %s\n", "LIMIT", "VALUE", "MEANING", "RAISE WITH");
	for (int i = 0; i < NROWS; i++) {
		char v[32];

		if (rows[i].value == IPK_MQ_UNLIMITED)
			snprintf(v, sizeof(v), "unlimited");
		else
			snprintf(v, sizeof(v), "%lld", (long long)rows[i].value);
		printf("%-26s %12s  %-34s %s\n", rows[i].name, v, rows[i].what, rows[i].raise);
	}
	return CLI_OK;
}

int cmd_mq(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	bool json = false;
	int c;

	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, "+h", longopts, NULL)) != -1) {
		switch (c) {
		case 'j':
			json = true;
			break;
		case 'h':
			fputs(usage, stdout);
			return CLI_OK;
		default:
			return cli_bad_option(c, argv, longopts);
		}
	}
	if (optind >= argc)
		return cli_usage_error("missing subcommand: limits (see 'ipckit mq --help')");
	if (strcmp(argv[optind], "limits") != 0)
		return cli_usage_error("unknown subcommand '%s' (see 'ipckit mq --help')",
				       argv[optind]);
	/* options may also follow the subcommand: ipckit mq limits --json */
	for (int i = optind + 1; i < argc; i++) {
		if (!strcmp(argv[i], "--json"))
			json = true;
		else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			fputs(usage, stdout);
			return CLI_OK;
		} else
			return cli_usage_error("unexpected argument '%s'", argv[i]);
	}
	return limits(json);
}
