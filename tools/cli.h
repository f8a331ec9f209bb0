/* SPDX-License-Identifier: MIT */
/*
 * tools/cli.h - what every ipckit subcommand shares: exit codes, the one-line
 * error reports, number parsing and the options common to send and recv.
 *
 * Subcommands use only the public API; nothing here reaches into src/.
 */
#ifndef IPCKIT_TOOLS_CLI_H
#define IPCKIT_TOOLS_CLI_H

#include <getopt.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <ipckit/ipckit.h>

enum {
	CLI_OK = 0,
	CLI_FAIL = 1,  /* runtime failure */
	CLI_USAGE = 2, /* bad command line */
};

/* One subcommand: its name, entry point and a one-line summary for --help. */
struct cli_cmd {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *summary;
};

/* "ipckit" or "ipckit send": the prefix of every message. */
extern const char *cli_prog;

/* Set by SIGINT or SIGTERM once cli_catch_stop() ran. */
extern volatile sig_atomic_t cli_stop;

/* SIGINT and SIGTERM set cli_stop instead of ending the process. No
 * SA_RESTART: a blocking read returns EINTR, so a loop sees the flag. */
void cli_catch_stop(void);

/* Prints "PROG: MESSAGE\n" on stderr. */
void cli_msg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Prints "PROG: MESSAGE\n" and returns CLI_USAGE. */
int cli_usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Prints "PROG: WHAT: strerror (ENAME)\n" and returns CLI_FAIL. @err may be
 * positive or negative. */
int cli_fail(const char *what, int err);

/* As cli_fail() for a channel operation, adding the kernel limit behind
 * @err and how to raise it where ipk_limit_hint() knows one. */
int cli_fail_op(const char *url, int err, enum ipk_op op);

/* Reports getopt_long's '?' or ':' result for argv[optind - 1]; returns
 * CLI_USAGE. @c is what getopt_long returned. */
int cli_bad_option(int c, char **argv, const struct option *longopts);

/* Checks @url with ipk_url_check(); on error reports where and why and
 * returns CLI_USAGE, else 0. */
int cli_check_url(const char *url);

/* "0.5" seconds -> 500000000 ns; decimal, non-negative, at most a year.
 * Return: 0; -EINVAL (nothing written). */
int cli_parse_seconds(const char *s, int64_t *ns);

/* A decimal integer in [min, max]. Return: 0; -EINVAL; -ERANGE. */
int cli_parse_ulong(const char *s, unsigned long min, unsigned long max, unsigned long *out);

/* A decimal integer, possibly negative, in [min, max]. */
int cli_parse_long(const char *s, long min, long max, long *out);

/* The --timeout and --count arguments of every command: parse @arg, or
 * report "bad --timeout 'ARG': ..." and return CLI_USAGE. */
int cli_opt_timeout(const char *arg, int64_t *ns);
int cli_opt_count(const char *arg, unsigned long max, unsigned long *out);

/* The commands that open one channel; cli_chan_parse() accepts each one's
 * options. */
enum cli_role { CLI_SEND, CLI_RECV, CLI_PUB, CLI_SUB };

/* Options of send, recv, pub and sub, parsed by cli_chan_parse(). */
struct cli_chan_opts {
	bool listen;         /* -l: this end creates or listens */
	bool connect;        /* -c: this end opens or connects */
	bool keep;           /* --keep: leave the named object behind */
	bool excl;           /* --excl: fail if the object exists */
	bool raw;            /* --raw: bytes as they are, one message */
	bool show_meta;      /* --show-meta: print each message's tag first */
	long tag;            /* send: --type/--priority; recv: --type selector */
	bool quiet;          /* sub --quiet: print only the summary */
	bool bus;            /* pub --bus: offer a memfd ring on D-Bus (dbus: URL) */
	bool synthetic;      /* pub --rate given: make messages, not read stdin */
	unsigned long rate;  /* pub --rate: messages/s, 0 = as fast as possible */
	unsigned long size;  /* pub --size: bytes of a synthetic message (64) */
	unsigned long count; /* --count: 0 = no limit */
	int64_t timeout_ns;  /* --timeout: IPK_FOREVER by default */
	const char *url;
	char **rest; /* operands after the URL */
	int nrest;
};

/*
 * cli_chan_parse() - parse argv of send, recv, pub or sub
 * @usage: printed on stdout for --help
 * @role: which command: recv takes --show-meta and a --type selector; send
 *        takes --type or --priority as the message's tag; pub takes --rate
 *        and --size, sub --quiet; all but send take --count
 * @max_rest: how many operands may follow the URL
 *
 * Return: -1 to go on; otherwise the exit status (CLI_OK after --help,
 * CLI_USAGE after a message on stderr).
 */
int cli_chan_parse(int argc, char **argv, const char *usage, enum cli_role role, int max_rest,
		   struct cli_chan_opts *o);

/* The IPK_CHAN_* flags @o asks for, given this command's default role and
 * the one-way direction it takes on a fifo. */
unsigned cli_chan_flags(const struct cli_chan_opts *o, bool listen_by_default, unsigned dir);

/* Opens @o->url with @flags; on failure reports it and returns CLI_FAIL
 * (or CLI_USAGE for a URL the library refuses as malformed). */
int cli_chan_open(const struct cli_chan_opts *o, unsigned flags, ipk_chan **ret);

int cmd_send(int argc, char **argv);
int cmd_recv(int argc, char **argv);
int cmd_demo(int argc, char **argv);
int cmd_mq(int argc, char **argv);
int cmd_pub(int argc, char **argv);
int cmd_sub(int argc, char **argv);
int cmd_bench(int argc, char **argv);
int cmd_signal(int argc, char **argv);
int cmd_ls(int argc, char **argv);
int cmd_stat(int argc, char **argv);
int cmd_gc(int argc, char **argv);
int cmd_rm(int argc, char **argv);

/* Shared by ls, stat and gc (tools/cmd_ls.c). */
int ls_parse_types(const char *arg, unsigned *kinds); /* 0, or CLI_USAGE after a message */
/* ipk_inspect_scan(); without an mqueue mount, as root, again with a
 * private one (in a mount namespace of this process's own). */
int ls_scan(unsigned kinds, ipk_inspect **ret);
const char *ls_user_name(uid_t uid, char *buf, size_t len);
void ls_json_str(FILE *f, const char *s);
void ls_json_obj(FILE *f, const struct ipk_obj *o); /* one docs/ls-schema.json object */
const char *ls_size(uint64_t v, char *buf, size_t len);
void ls_details(const struct ipk_obj *o, char *buf, size_t len);
void ls_report_denied(const ipk_inspect *in); /* on stderr, if any */
int cmd_bridge(int argc, char **argv);

#endif /* IPCKIT_TOOLS_CLI_H */
