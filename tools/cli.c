/* SPDX-License-Identifier: MIT */
/*
 * tools/cli.c - helpers every subcommand shares: one-line error reports,
 * strict number parsing and the send/recv option set, so that an option has
 * the same name and the same checks everywhere.
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

const char *cli_prog = "ipckit";

static void __attribute__((format(printf, 1, 0))) vmsg(const char *fmt, va_list ap)
{
	fprintf(stderr, "%s: ", cli_prog);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

volatile sig_atomic_t cli_stop;

static void on_stop(int sig)
{
	(void)sig;
	cli_stop = 1;
}

void cli_catch_stop(void)
{
	struct sigaction sa = { .sa_handler = on_stop };

	sigemptyset(&sa.sa_mask);
	(void)sigaction(SIGINT, &sa, NULL);
	(void)sigaction(SIGTERM, &sa, NULL);
}

void cli_msg(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmsg(fmt, ap);
	va_end(ap);
}

int cli_usage_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmsg(fmt, ap);
	va_end(ap);
	return CLI_USAGE;
}

int cli_fail(const char *what, int err)
{
	if (err < 0)
		err = -err;
	cli_msg("%s: %s (%s)", what, strerror(err), ipk_errname(err));
	return CLI_FAIL;
}

int cli_fail_op(const char *url, int err, enum ipk_op op)
{
	const char *hint = ipk_limit_hint(err, url, op);

	if (!hint)
		return cli_fail(url, err);
	if (err < 0)
		err = -err;
	cli_msg("%s: %s (%s); limit: %s", url, strerror(err), ipk_errname(err), hint);
	return CLI_FAIL;
}

/* A long option given "=VALUE" although it takes none, e.g. --raw=1. */
static bool takes_no_arg(const char *arg, const struct option *longopts)
{
	const char *eq = strchr(arg, '=');
	size_t n;

	if (strncmp(arg, "--", 2) != 0 || !eq)
		return false;
	n = (size_t)(eq - arg - 2);
	for (; longopts->name; longopts++)
		if (strlen(longopts->name) == n && !strncmp(longopts->name, arg + 2, n))
			return longopts->has_arg == no_argument;
	return false;
}

/* How many long options start with @arg ("--co" matches two): getopt_long
 * refuses an abbreviation that fits several with the same '?' as a typo. */
static int prefix_matches(const char *arg, const struct option *longopts)
{
	const char *name, *eq;
	int hits = 0;
	size_t n;

	if (strncmp(arg, "--", 2) != 0)
		return 0;
	name = arg + 2;
	eq = strchr(name, '=');
	n = eq ? (size_t)(eq - name) : strlen(name);
	for (; longopts->name; longopts++)
		hits += strncmp(longopts->name, name, n) == 0;
	return hits;
}

int cli_bad_option(int c, char **argv, const struct option *longopts)
{
	const char *arg = argv[optind - 1];

	if (c == ':') {
		if (strncmp(arg, "--", 2) == 0)
			return cli_usage_error("option '%s' needs an argument", arg);
		return cli_usage_error("option '-%c' needs an argument", optopt);
	}
	if (takes_no_arg(arg, longopts))
		return cli_usage_error("option '%.*s' takes no argument",
				       (int)(strchr(arg, '=') - arg), arg);
	/* getopt_long sets optopt only for short options it does not know. */
	if (optopt && strncmp(arg, "--", 2) != 0)
		return cli_usage_error("unknown option '-%c'", optopt);
	if (prefix_matches(arg, longopts) > 1)
		return cli_usage_error("ambiguous option '%s': say which one in full", arg);
	return cli_usage_error("unknown option '%s'", arg);
}

int cli_check_url(const char *url)
{
	const char *why = "malformed";
	size_t where = 0;

	if (ipk_url_check(url, &where, &why) == 0)
		return 0;
	return cli_usage_error("bad URL '%s': %s (at offset %zu)", url, why, where);
}

int cli_parse_seconds(const char *s, int64_t *ns)
{
	const int64_t max_sec = 1000000000; /* keeps sec * IPK_SEC inside int64_t */
	int64_t sec = 0, frac = 0, scale = IPK_SEC;
	const char *p = s;
	int digits = 0;

	for (; *p >= '0' && *p <= '9'; p++, digits++) {
		sec = sec * 10 + (*p - '0');
		if (sec > max_sec)
			return -EINVAL;
	}
	if (*p == '.') {
		for (p++; *p >= '0' && *p <= '9'; p++, digits++) {
			/* Digits past nanoseconds cannot change the deadline. */
			if (scale >= 10) {
				scale /= 10;
				frac += (*p - '0') * scale;
			}
		}
	}
	if (*p || digits == 0)
		return -EINVAL;
	*ns = sec * IPK_SEC + frac;
	return 0;
}

int cli_parse_ulong(const char *s, unsigned long min, unsigned long max, unsigned long *out)
{
	unsigned long v;
	char *end;

	/* strtoul would take leading blanks, a sign and "0x": refuse them. */
	if (*s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (*end)
		return -EINVAL;
	if (errno == ERANGE || v < min || v > max)
		return -ERANGE;
	*out = v;
	return 0;
}

int cli_parse_long(const char *s, long min, long max, long *out)
{
	unsigned long mag;
	bool neg = *s == '-';

	if (cli_parse_ulong(s + neg, 0, (unsigned long)LONG_MAX, &mag) < 0)
		return -EINVAL;
	if ((neg ? -(long)mag : (long)mag) < min || (neg ? -(long)mag : (long)mag) > max)
		return -ERANGE;
	*out = neg ? -(long)mag : (long)mag;
	return 0;
}

/* --type on send (a System V type, >= 1), --type on recv (a selector, any
 * value), --priority on send (a POSIX queue priority). */
static int opt_tag(int c, const char *arg, bool is_recv, struct cli_chan_opts *o)
{
	if (c == 'P') {
		if (is_recv)
			return cli_usage_error("recv takes no --priority: the highest comes first");
		if (cli_parse_long(arg, 0, 32767, &o->tag) < 0)
			return cli_usage_error("bad --priority '%s': want 0 to 32767", arg);
		return 0;
	}
	if (is_recv) {
		if (cli_parse_long(arg, -LONG_MAX, LONG_MAX, &o->tag) < 0)
			return cli_usage_error("bad --type '%s': want a whole number (0 = any, "
					       "N = that type, -N = lowest type up to N)",
					       arg);
		return 0;
	}
	if (cli_parse_long(arg, 1, LONG_MAX, &o->tag) < 0)
		return cli_usage_error("bad --type '%s': want a whole number from 1", arg);
	return 0;
}

int cli_opt_timeout(const char *arg, int64_t *ns)
{
	if (cli_parse_seconds(arg, ns) < 0)
		return cli_usage_error("bad --timeout '%s': want seconds, e.g. 0.5", arg);
	return 0;
}

int cli_opt_count(const char *arg, unsigned long max, unsigned long *out)
{
	if (cli_parse_ulong(arg, 1, max, out) < 0)
		return cli_usage_error("bad --count '%s': want a whole number from 1 to %lu", arg,
				       max);
	return 0;
}

static const struct option chan_longopts[] = {
	{ "listen", no_argument, NULL, 'l' },
	{ "connect", no_argument, NULL, 'c' },
	{ "timeout", required_argument, NULL, 't' },
	{ "keep", no_argument, NULL, 'k' },
	{ "excl", no_argument, NULL, 'x' },
	{ "raw", no_argument, NULL, 'r' },
	{ "count", required_argument, NULL, 'n' },
	{ "type", required_argument, NULL, 'T' },
	{ "priority", required_argument, NULL, 'P' },
	{ "show-meta", no_argument, NULL, 'M' },
	{ "rate", required_argument, NULL, 'R' },
	{ "size", required_argument, NULL, 's' },
	{ "quiet", no_argument, NULL, 'q' },
	{ "bus", no_argument, NULL, 'B' }, /* pub: a ring offered on D-Bus */
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

/* Which command takes which of the options that not all of them share. */
static bool takes(enum cli_role role, int opt)
{
	switch (opt) {
	case 'r':
	case 'T':
	case 'P':
		return role == CLI_SEND || role == CLI_RECV;
	case 'M':
		return role == CLI_RECV;
	case 'n':
		return role != CLI_SEND;
	case 'R':
	case 's':
	case 'B':
		return role == CLI_PUB;
	case 'q':
		return role == CLI_SUB;
	default:
		return true;
	}
}

static const char *long_name(int opt)
{
	for (const struct option *lo = chan_longopts; lo->name; lo++)
		if (lo->val == opt)
			return lo->name;
	return "?";
}

int cli_chan_parse(int argc, char **argv, const char *usage, enum cli_role role, int max_rest,
		   struct cli_chan_opts *o)
{
	bool is_recv = role == CLI_RECV;
	int c, r;

	memset(o, 0, sizeof(*o));
	o->timeout_ns = IPK_FOREVER;
	o->size = 64;
	opterr = 0;
	optind = 0; /* 0, not 1: glibc then also forgets a half-parsed cluster */
	while ((c = getopt_long(argc, argv, ":lct:rn:R:qh", chan_longopts, NULL)) != -1) {
		if (c != '?' && c != ':' && !takes(role, c))
			return cli_usage_error("unknown option '--%s'", long_name(c));
		switch (c) {
		case 'l':
			o->listen = true;
			break;
		case 'c':
			o->connect = true;
			break;
		case 't':
			r = cli_opt_timeout(optarg, &o->timeout_ns);
			if (r)
				return r;
			break;
		case 'k':
			o->keep = true;
			break;
		case 'x':
			o->excl = true;
			break;
		case 'r':
			o->raw = true;
			break;
		case 'T':
		case 'P':
			r = opt_tag(c, optarg, is_recv, o);
			if (r)
				return r;
			break;
		case 'M':
			o->show_meta = true;
			break;
		case 'n':
			r = cli_opt_count(optarg, ULONG_MAX, &o->count);
			if (r)
				return r;
			break;
		case 'R':
			if (cli_parse_ulong(optarg, 0, 1000000000, &o->rate) < 0)
				return cli_usage_error("bad --rate '%s': want messages per second, "
						       "0 (as fast as possible) to 1000000000",
						       optarg);
			o->synthetic = true;
			break;
		case 's':
			if (cli_parse_ulong(optarg, 32, IPK_CHAN_MSGSIZE_MAX, &o->size) < 0)
				return cli_usage_error("bad --size '%s': want 32 to %zu bytes",
						       optarg, IPK_CHAN_MSGSIZE_MAX);
			break;
		case 'q':
			o->quiet = true;
			break;
		case 'B':
			o->bus = true;
			break;
		case 'h':
			fputs(usage, stdout);
			return CLI_OK;
		default:
			return cli_bad_option(c, argv, chan_longopts);
		}
	}
	if (o->listen && o->connect)
		return cli_usage_error("--listen and --connect exclude each other");
	if (optind >= argc)
		return cli_usage_error("missing URL (see '%s --help')", cli_prog);
	o->url = argv[optind++];
	if (argc - optind > max_rest)
		return cli_usage_error("unexpected argument '%s'", argv[optind + max_rest]);
	o->rest = argv + optind;
	o->nrest = argc - optind;

	r = cli_check_url(o->url);
	if (r)
		return r;
	if (strncmp(o->url, "pipe:", 5) == 0)
		return cli_usage_error("'%s': a pipe: channel joins related processes only; "
				       "use fifo: or unix: between commands",
				       o->url);
	return -1;
}

unsigned cli_chan_flags(const struct cli_chan_opts *o, bool listen_by_default, unsigned dir)
{
	bool create = o->listen || (listen_by_default && !o->connect);
	unsigned flags = 0;

	if (create)
		flags |= IPK_CHAN_CREATE;
	if (o->excl)
		flags |= IPK_CHAN_EXCL;
	if (o->keep)
		flags |= IPK_CHAN_KEEP;
	/* Only fifo: is one-way; the others carry both directions on one end. */
	if (strncmp(o->url, "fifo:", 5) == 0)
		flags |= dir;
	return flags;
}

int cli_chan_open(const struct cli_chan_opts *o, unsigned flags, ipk_chan **ret)
{
	int r;

	if ((flags & (IPK_CHAN_EXCL | IPK_CHAN_KEEP)) && !(flags & IPK_CHAN_CREATE))
		return cli_usage_error("--excl and --keep apply only to the end that creates "
				       "(--listen)");
	r = ipk_chan_open(o->url, flags, o->timeout_ns, ret);
	if (r < 0)
		return cli_fail_op(o->url, r, IPK_OP_OPEN);
	return 0;
}
