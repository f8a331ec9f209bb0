/* SPDX-License-Identifier: MIT */
/*
 * tools/cli.h - what every ipckit subcommand shares: exit codes, the one-line
 * error reports, number parsing, the options common to send and recv, the
 * clock, URL tests and the stop-aware channel calls.
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
#include <sys/types.h>

#include <ipckit/ipckit.h>

enum {
	CLI_OK = 0,
	CLI_FAIL = 1,  /* runtime failure */
	CLI_USAGE = 2, /* bad command line */
	/* Not an exit status: cli_chan_open() was stopped by a signal before
	 * the channel was open. The command exits CLI_OK after its summary. */
	CLI_STOPPED = 3,
};

/* One subcommand: its name, entry point and a one-line summary for --help. */
struct cli_cmd {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *summary;
};

/* "ipckit" or "ipckit send": the prefix of every message. */
extern const char *cli_prog;

/* The number of the signal that asked the command to stop (SIGINT or
 * SIGTERM once cli_catch_stop() ran), or SIGPIPE once cli_out_failed() saw
 * that the reader of standard output went away; 0 while none did. */
extern volatile sig_atomic_t cli_stop;

/* SIGINT and SIGTERM set cli_stop instead of ending the process. No
 * SA_RESTART: a blocking read returns EINTR, so a loop sees the flag. */
void cli_catch_stop(void);

/* What every command relies on before it does anything: descriptors 0, 1
 * and 2 open (/dev/null where one was closed, so that no channel lands on
 * them), and SIGPIPE caught, so that a write to a reader that went away
 * fails with EPIPE and the command can clean up. Exits 1 if /dev/null
 * cannot be opened. */
void cli_init(void);

/* "SIGINT" for cli_stop, or NULL while no signal asked to stop (nor for a
 * closed standard output). */
const char *cli_stop_name(void);

/* A write to standard output failed with @err: EPIPE (its reader went
 * away) is a request to stop, quietly: sets cli_stop and returns CLI_OK.
 * Anything else is reported and CLI_FAIL. */
int cli_out_failed(int err);

/*
 * The blocking channel calls of the commands, in slices of at most 100 ms
 * with a look at cli_stop between them (the library itself retries EINTR),
 * so that SIGINT and SIGTERM end any wait promptly. @timeout_ns bounds the
 * whole call as for ipk_chan_*(). Return: as the library's call, or -EINTR
 * once cli_stop is set.
 *
 * cli_open() waits in slices for an object to appear or a peer to connect;
 * a listening socket is made once and accepted on in slices, a FIFO that a
 * writer creates is made once and opened in slices. The channel is closed
 * with cli_close(), which removes such a FIFO unless IPK_CHAN_KEEP. nats:
 * and dbus: URLs are opened, and sent to, in one call each (a connection
 * cannot be cut into slices, and a NATS publish retried after a cut
 * acknowledgement would be stored twice).
 */
int cli_open(const char *url, unsigned flags, int64_t timeout_ns, ipk_chan **ret);
void cli_close(ipk_chan *ch);
ssize_t cli_recv(ipk_chan *ch, void *buf, size_t len, long select, long *tag, int64_t timeout_ns);
/* @tagged: send with @tag (ipk_chan_send_tag), else untagged. */
int cli_send(ipk_chan *ch, const void *buf, size_t len, bool tagged, long tag, int64_t timeout_ns);
/* After a stop, waits at most 100 ms more: a frame a deadline cut is
 * finished if the peer takes it at once. */
int cli_flush(ipk_chan *ch, int64_t timeout_ns);

/* Standard input line by line without stdio, waiting in slices as above.
 * Start it zeroed; free(buf) at the end. */
struct cli_lines {
	char *buf;
	size_t len, cap;
	size_t used; /* bytes of the line returned last, with its newline */
	bool eof;
	/* Optional: waits until standard input is readable while doing other
	 * work (serving a bus). Return: 1 readable; 0 stop (cli_getline()
	 * returns -1); -1 after an error was reported (cli_getline() returns
	 * -2). NULL: poll standard input in slices. */
	int (*wait)(void *arg);
	void *wait_arg;
};

/* The next line of standard input, without its newline, in *@line (valid
 * until the next call). Return: its length; -1 at the end of input or once
 * cli_stop is set; -2 after an error was reported. */
ssize_t cli_getline(struct cli_lines *in, char **line);

/* CLOCK_MONOTONIC in nanoseconds, and in seconds (for rates). */
int64_t cli_now_ns(void);
double cli_now_s(void);

/* Whether @url is "SCHEME:..." ("unix" does not match "unix+dgram:"). */
bool cli_has_scheme(const char *url, const char *scheme);

/* Whether the query of @url carries @key= ("?key=" or "&key="); if so and
 * @val is not NULL, its value (up to '&', cut to @cap - 1 bytes) in @val. */
bool cli_url_opt(const char *url, const char *key, char *val, size_t cap);

/* Prints "PROG: MESSAGE\n" on stderr. */
void cli_msg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Prints "PROG: MESSAGE\n" and returns CLI_USAGE. */
int cli_usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Prints "PROG: WHAT: strerror (ENAME)\n" and returns CLI_FAIL. @err may be
 * positive or negative. */
int cli_fail(const char *what, int err);

/* What kind of file @mode is, for a message ("a FIFO", "a socket" ...);
 * NULL for a regular one (or a System V queue, which has no file type). */
const char *cli_file_kind(mode_t mode);

/* As cli_fail() for a channel operation, adding the kernel limit behind
 * @err and how to raise it where ipk_mq_limit_hint() knows one. */
int cli_fail_op(const char *url, int err, enum ipk_mq_op op);

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
	bool listen;             /* -l: this end creates or listens */
	bool connect;            /* -c: this end opens or connects */
	bool keep;               /* --keep: leave the named object behind */
	bool excl;               /* --excl: fail if the object exists */
	bool raw;                /* --raw: bytes as they are, one message */
	bool show_meta;          /* --show-meta: print each message's tag first */
	long tag;                /* send: --type/--priority; recv: --type selector */
	int tag_opt;             /* 'T' (--type) or 'P' (--priority) if given, else 0 */
	bool quiet;              /* sub --quiet: print only the summary */
	bool bus;                /* pub --bus: offer a memfd ring on D-Bus (dbus: URL) */
	bool synthetic;          /* pub --rate given: make messages, not read stdin */
	unsigned long rate;      /* pub --rate: messages/s, 0 = as fast as possible */
	unsigned long size;      /* pub --size: bytes of a synthetic message (64) */
	unsigned long count;     /* --count: 0 = no limit */
	const char *from;        /* sub --from: end, oldest or a seq (the URL's from=) */
	int64_t linger_ns;       /* pub --linger: keep a ring for its subscribers; -1: not given */
	unsigned long wait_subs; /* pub --wait-subscribers: 0 = none */
	int64_t timeout_ns;      /* --timeout: IPK_FOREVER by default */
	const char *url;
	char **rest; /* operands after the URL */
	int nrest;
	char url_buf[4096 + 32]; /* url (at most 4096 bytes) with --from as from= */
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

/* @url with from=@from (ring subscribers' --from) in @buf; 0, or CLI_USAGE
 * after a message (not a ring URL, from= given twice, a bad value). */
int cli_with_from(const char *url, const char *from, char *buf, size_t len);

/* The IPK_CHAN_* flags @o asks for, given this command's default role and
 * the one-way direction it takes on a fifo. */
unsigned cli_chan_flags(const struct cli_chan_opts *o, bool listen_by_default, unsigned dir);

/* Opens @o->url with @flags through cli_open(); on failure reports it and
 * returns CLI_FAIL (or CLI_USAGE for options that do not fit together);
 * CLI_STOPPED if a signal came first. */
int cli_chan_open(const struct cli_chan_opts *o, unsigned flags, ipk_chan **ret);

int cmd_send(int argc, char **argv);
int cmd_recv(int argc, char **argv);
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
void ls_json_obj(FILE *f, const struct ipk_inspect_obj *o); /* one docs/ls-schema.json object */
const char *ls_size(uint64_t v, char *buf, size_t len);
void ls_details(const struct ipk_inspect_obj *o, char *buf, size_t len);
void ls_report_denied(const ipk_inspect *in); /* on stderr, if any */
int cmd_bridge(int argc, char **argv);

#endif /* IPCKIT_TOOLS_CLI_H */
