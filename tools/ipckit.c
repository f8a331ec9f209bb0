/* SPDX-License-Identifier: MIT */
/*
 * tools/ipckit.c - the ipckit command: global options, then dispatch to the
 * subcommand named by the first operand. Each subcommand lives in its own
 * cmd_<name>.c and parses its own options.
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"

int cmd_serve(int argc, char **argv); /* tools/cmd_serve.c */
int cmd_call(int argc, char **argv);  /* tools/cmd_call.c */

static const struct cli_cmd cmds[] = {
	{ "send", cmd_send, "send messages to a channel" },
	{ "recv", cmd_recv, "receive messages from a channel and print them" },
	{ "mq", cmd_mq, "message-queue utilities: mq limits [--json]" },
	{ "pub", cmd_pub, "publish lines or a synthetic rate (shm: rings)" },
	{ "sub", cmd_sub, "print a feed's messages, then the lost count" },
	{ "bench", cmd_bench, "measure every mechanism against raw syscalls and the limit" },
	{ "signal", cmd_signal, "send a signal with a value, or wait and print signals" },
	{ "ls", cmd_ls, "list every IPC object on the host with its holders" },
	{ "stat", cmd_stat, "everything about one object; --watch for rates" },
	{ "gc", cmd_gc, "list (or --yes remove) objects dead processes left" },
	{ "rm", cmd_rm, "remove IPC objects by URL" },
	{ "bridge", cmd_bridge, "forward every message of one URL to another (rings <-> NATS)" },
	{ "serve", cmd_serve, "answer request/reply calls (ipk_svc) with a command's output" },
	{ "call", cmd_call, "make one request/reply call (ipk_svc) and print the reply" },
};

#define NCMDS (sizeof(cmds) / sizeof(cmds[0]))

static void usage(FILE *f)
{
	size_t i;

	fputs("Usage: ipckit [--help] [--version] COMMAND [OPTIONS] [ARGS]\n"
	      "\n"
	      "Every Linux IPC mechanism behind one API, from the shell.\n"
	      "\n"
	      "Commands:\n",
	      f);
	for (i = 0; i < NCMDS; i++)
		fprintf(f, "  %-6s %s\n", cmds[i].name, cmds[i].summary);
	fputs("\n"
	      "Channel URLs: fifo:/path  unix:/path  unix:@abstract  unix+dgram:/path\n"
	      "              unix+seqpacket:/path  tcp:HOST:PORT  mq:/name  sysvmq:KEY\n"
	      "              shm:/name (options: ?msgsize=N&perm=0600; see ipckit(1))\n"
	      "\n"
	      "Run 'ipckit COMMAND --help' for a command's options; see ipckit(1).\n"
	      "Exit status: 0 ok, 1 runtime failure, 2 usage error. SIGINT or SIGTERM\n"
	      "stops a command: it removes what it created (unless --keep), prints its\n"
	      "summary and exits 0 (bench: 1 if a case that finished had failed); so\n"
	      "does a closed standard output (| head -1).\n",
	      f);
}

int main(int argc, char **argv)
{
	static char prog[64];
	const char *name;
	size_t i;

	cli_init();
	if (argc < 2)
		return cli_usage_error("missing command (see 'ipckit --help')");
	name = argv[1];
	if (!strcmp(name, "--help") || !strcmp(name, "-h") || !strcmp(name, "help")) {
		usage(stdout);
		return CLI_OK;
	}
	if (!strcmp(name, "--version") || !strcmp(name, "-V")) {
		printf("ipckit %s\n", ipk_version());
		return CLI_OK;
	}
	if (name[0] == '-')
		return cli_usage_error("unknown option '%s'", name);

	for (i = 0; i < NCMDS; i++) {
		if (strcmp(name, cmds[i].name) != 0)
			continue;
		snprintf(prog, sizeof(prog), "ipckit %s", cmds[i].name);
		cli_prog = prog;
		/* The subcommand sees itself as argv[0], as getopt expects. */
		return cmds[i].run(argc - 1, argv + 1);
	}
	return cli_usage_error("unknown command '%s' (see 'ipckit --help')", name);
}
