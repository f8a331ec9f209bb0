/* SPDX-License-Identifier: MIT */
/*
 * tools/cli.c - helpers every subcommand shares: one-line error reports,
 * strict number parsing and the send/recv option set, so that an option has
 * the same name and the same checks everywhere; the clock, URL scheme and
 * option tests, and the sliced opens, sends, receives and line reads that a
 * stop signal ends. A helper two commands need lives here, not in either.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>

#include "cli.h"

/* How long one blocking call waits before the command looks at cli_stop. */
#define SLICE_NS (100 * IPK_MSEC)

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
	cli_stop = sig;
}

/* Caught rather than ignored: an ignored SIGPIPE would stay ignored in the
 * programs bench and nats tests exec. */
static void on_pipe(int sig)
{
	(void)sig;
}

void cli_init(void)
{
	struct sigaction sa = { .sa_handler = on_pipe };
	int fd;

	/* Before anything else opens a descriptor: a closed 0, 1 or 2 would
	 * otherwise be the next channel's, and "standard input" its data. */
	for (fd = 0; fd <= 2; fd++) {
		if (fcntl(fd, F_GETFD) >= 0 || errno != EBADF)
			continue;
		if (open("/dev/null", fd == 0 ? O_RDONLY : O_WRONLY) != fd)
			_exit(CLI_FAIL); /* nowhere to say so */
	}
	sigemptyset(&sa.sa_mask);
	(void)sigaction(SIGPIPE, &sa, NULL);
}

const char *cli_stop_name(void)
{
	switch (cli_stop) {
	case SIGINT:
		return "SIGINT";
	case SIGTERM:
		return "SIGTERM";
	default:
		return NULL;
	}
}

int cli_out_failed(int err)
{
	if (err == EPIPE) {
		if (!cli_stop)
			cli_stop = SIGPIPE;
		return CLI_OK;
	}
	return cli_fail("standard output", err);
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

const char *cli_file_kind(mode_t mode)
{
	switch (mode & S_IFMT) {
	case S_IFIFO:
		return "a FIFO";
	case S_IFDIR:
		return "a directory";
	case S_IFSOCK:
		return "a socket";
	case S_IFLNK:
		return "a symbolic link";
	case S_IFCHR:
	case S_IFBLK:
		return "a device";
	default:
		return NULL;
	}
}

/* An open refused for what is at the name: say what is there and whose. */
static bool refused_name(const char *url, int err)
{
	const char *kind;
	uid_t uid;
	mode_t mode;

	if (err != EPERM && err != EPROTO && err != EEXIST && err != EMEDIUMTYPE &&
	    err != ENOTSOCK && err != ELOOP)
		return false;
	if (ipk_chan_name_owner(url, &uid, &mode) < 0)
		return false;
	kind = cli_file_kind(mode);
	cli_msg("%s: %s (%s): %s is there, owned by uid %u, mode %04o", url, strerror(err),
		ipk_errname(err), kind ? kind : "a file", (unsigned)uid, (unsigned)(mode & 07777));
	return true;
}

int cli_fail_op(const char *url, int err, enum ipk_mq_op op)
{
	const char *hint = ipk_mq_limit_hint(err, url, op);

	if (op == IPK_MQ_OP_OPEN && refused_name(url, err < 0 ? -err : err))
		return CLI_FAIL;
	if (op == IPK_MQ_OP_OPEN && (err == EPROTONOSUPPORT || err == -EPROTONOSUPPORT) &&
	    !strncmp(url, "shm:", 4)) {
		cli_msg("%s: %s (EPROTONOSUPPORT): a ring of another layout version; its "
			"publisher and subscribers must run the same ipckit release",
			url, strerror(EPROTONOSUPPORT));
		return CLI_FAIL;
	}
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

bool cli_has_scheme(const char *url, const char *scheme)
{
	size_t n = strlen(scheme);

	return strncmp(url, scheme, n) == 0 && url[n] == ':';
}

bool cli_url_opt(const char *url, const char *key, char *val, size_t cap)
{
	const char *q = strchr(url, '?');
	size_t n = strlen(key);

	for (; q; q = strchr(q + 1, '&')) {
		const char *v = q + 1 + n, *end;
		size_t len;

		if (strncmp(q + 1, key, n) != 0 || *v != '=')
			continue;
		if (val && cap > 0) {
			v++;
			end = strchr(v, '&');
			len = end ? (size_t)(end - v) : strlen(v);
			if (len >= cap)
				len = cap - 1;
			memcpy(val, v, len);
			val[len] = '\0';
		}
		return true;
	}
	return false;
}

int cli_with_from(const char *url, const char *from, char *buf, size_t len)
{
	if (!cli_has_scheme(url, "shm") && !cli_has_scheme(url, "dbus"))
		return cli_usage_error("--from applies to shm: and dbus: rings, not '%s'", url);
	if (cli_url_opt(url, "from", NULL, 0))
		return cli_usage_error("--from and the URL's from= both say where to start");
	if ((size_t)snprintf(buf, len, "%s%cfrom=%s", url, strchr(url, '?') ? '&' : '?', from) >=
	    len)
		return cli_usage_error("'%s': URL too long", url);
	return cli_check_url(buf);
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
	if (o->tag_opt && o->tag_opt != c)
		return cli_usage_error("--type (sysvmq:) and --priority (mq:) exclude each other");
	o->tag_opt = c;
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
	{ "bus", no_argument, NULL, 'B' },        /* pub: a ring offered on D-Bus */
	{ "from", required_argument, NULL, 'F' }, /* sub: where to start */
	{ "linger", required_argument, NULL, 'L' },
	{ "wait-subscribers", required_argument, NULL, 'W' },
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
	case 'L':
	case 'W':
		return role == CLI_PUB;
	case 'q':
	case 'F':
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
	o->linger_ns = -1; /* not given */
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
		case 'F':
			o->from = optarg;
			break;
		case 'L':
			if (cli_parse_seconds(optarg, &o->linger_ns) < 0)
				return cli_usage_error("bad --linger '%s': want seconds", optarg);
			break;
		case 'W':
			if (cli_parse_ulong(optarg, 1, 1000000, &o->wait_subs) < 0)
				return cli_usage_error(
					"bad --wait-subscribers '%s': want 1 to 1000000", optarg);
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
	if (o->from) {
		r = cli_with_from(o->url, o->from, o->url_buf, sizeof(o->url_buf));
		if (r)
			return r;
		o->url = o->url_buf;
	}
	/* Said before anything is opened: elsewhere the tag cannot be sent. */
	if (o->tag_opt == 'T' && !cli_has_scheme(o->url, "sysvmq"))
		return cli_usage_error("--type applies to sysvmq: URLs only, not '%s'", o->url);
	if (o->tag_opt == 'P' && !cli_has_scheme(o->url, "mq"))
		return cli_usage_error("--priority applies to mq: URLs only, not '%s'", o->url);
	if (cli_has_scheme(o->url, "pipe"))
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
	if (cli_has_scheme(o->url, "fifo"))
		flags |= dir;
	return flags;
}

int cli_chan_open(const struct cli_chan_opts *o, unsigned flags, ipk_chan **ret)
{
	int r;

	if ((flags & (IPK_CHAN_EXCL | IPK_CHAN_KEEP)) && !(flags & IPK_CHAN_CREATE))
		return cli_usage_error("--excl and --keep apply only to the end that creates "
				       "(--listen)");
	r = cli_open(o->url, flags, o->timeout_ns, ret);
	if (r == -EINTR)
		return CLI_STOPPED;
	if (r < 0)
		return cli_fail_op(o->url, r, IPK_MQ_OP_OPEN);
	return 0;
}

int64_t cli_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * IPK_SEC + ts.tv_nsec;
}

double cli_now_s(void)
{
	return (double)cli_now_ns() / 1e9;
}

/* The absolute end of @timeout_ns (< 0: none, INT64_MAX). */
static int64_t due_of(int64_t timeout_ns)
{
	return timeout_ns < 0 ? INT64_MAX : cli_now_ns() + timeout_ns;
}

/* The next wait before @due: at most a slice; 0 once @due has passed. */
static int64_t next_slice(int64_t due)
{
	int64_t left;

	if (due == INT64_MAX)
		return SLICE_NS;
	left = due - cli_now_ns();
	if (left <= 0)
		return 0;
	return left < SLICE_NS ? left : SLICE_NS;
}

/* One call that waits, cut into slices: @step(@arg, slice) is retried on
 * -ETIMEDOUT until @timeout_ns, or until cli_stop (-EINTR). */
static int sliced(int (*step)(void *arg, int64_t slice), void *arg, int64_t timeout_ns)
{
	int64_t due = due_of(timeout_ns);

	if (timeout_ns == 0)
		return step(arg, 0);
	for (;;) {
		int64_t slice;
		int r;

		if (cli_stop)
			return -EINTR;
		slice = next_slice(due);
		if (slice == 0)
			return -ETIMEDOUT;
		r = step(arg, slice);
		if (r != -ETIMEDOUT)
			return r;
	}
}

struct open_step {
	const char *url;
	unsigned flags;
	ipk_listener *l;
	ipk_chan **ret;
	char url_buf[4096 + 16]; /* url (at most 4096 bytes) with from=0, once it waited */
};

static int step_open(void *arg, int64_t slice)
{
	struct open_step *a = arg;
	int r = ipk_chan_open(a->url, a->flags, slice, a->ret);

	/* A ring subscriber that waited for its ring starts at its first
	 * message (the transport sees to it within one open): so must the
	 * opens of the slices after one that waited in vain. */
	if (r == -ETIMEDOUT && (cli_has_scheme(a->url, "shm") || cli_has_scheme(a->url, "dbus")) &&
	    !cli_url_opt(a->url, "from", NULL, 0) &&
	    (size_t)snprintf(a->url_buf, sizeof(a->url_buf), "%s%cfrom=0", a->url,
			     strchr(a->url, '?') ? '&' : '?') < sizeof(a->url_buf))
		a->url = a->url_buf;
	return r;
}

static int step_accept(void *arg, int64_t slice)
{
	struct open_step *a = arg;

	return ipk_accept(a->l, slice, a->ret);
}

/* FIFOs a writer made (cli_open), for cli_close to remove: by then the
 * path must still be the FIFO made, or it is someone else's. */
static struct made_fifo {
	ipk_chan *ch;
	char path[PATH_MAX];
	dev_t dev;
	ino_t ino;
} made[4];

static void remove_fifo(struct made_fifo *m)
{
	struct stat st;

	if (lstat(m->path, &st) == 0 && S_ISFIFO(st.st_mode) && st.st_dev == m->dev &&
	    st.st_ino == m->ino)
		(void)unlink(m->path);
	memset(m, 0, sizeof(*m));
}

/*
 * A writer that creates a FIFO waits for its reader; a deadline cut into
 * slices must not remove and remake the FIFO between them (a reader
 * arriving then would find nothing). So the FIFO is made once, by an open
 * that returns at once and keeps it, and the writer's slices only open it.
 */
static int open_fifo_writer(const char *url, unsigned flags, int64_t timeout_ns, ipk_chan **ret)
{
	struct made_fifo *m = NULL;
	struct open_step a = { url, flags & ~(IPK_CHAN_CREATE | IPK_CHAN_EXCL), NULL, ret };
	size_t n = strcspn(url + 5, "?");
	ipk_chan *tmp;
	struct stat st;
	int r, i;

	for (i = 0; i < (int)(sizeof(made) / sizeof(made[0])) && !m; i++)
		if (!made[i].path[0])
			m = &made[i];
	if (!m || n >= sizeof(m->path))
		return -ENOMEM;
	r = ipk_chan_open(url, IPK_CHAN_CREATE | IPK_CHAN_EXCL | IPK_CHAN_KEEP | IPK_CHAN_RDONLY, 0,
			  &tmp);
	if (r == -EEXIST && !(flags & IPK_CHAN_EXCL))
		return sliced(step_open, &a, timeout_ns); /* not ours: as any writer */
	if (r < 0)
		return r;
	memcpy(m->path, url + 5, n);
	m->path[n] = '\0';
	r = fstat(ipk_chan_fd(tmp), &st) < 0 ? -errno : 0;
	ipk_chan_close(tmp);
	if (r < 0) {
		memset(m, 0, sizeof(*m));
		return r;
	}
	m->dev = st.st_dev;
	m->ino = st.st_ino;
	r = sliced(step_open, &a, timeout_ns);
	if (r == 0 &&
	    (fstat(ipk_chan_fd(*ret), &st) < 0 || st.st_dev != m->dev || st.st_ino != m->ino)) {
		ipk_chan_close(*ret);
		r = -EEXIST; /* replaced under us: not the FIFO made */
	}
	if (r < 0)
		remove_fifo(m); /* as the library does when an open fails */
	else if (flags & IPK_CHAN_KEEP)
		memset(m, 0, sizeof(*m));
	else
		m->ch = *ret;
	return r;
}

/* Channels whose sends are not cut into slices: a NATS publish retried
 * after a deadline cut its acknowledgement would be stored twice. */
static ipk_chan *unsliced[4];

int cli_open(const char *url, unsigned flags, int64_t timeout_ns, ipk_chan **ret)
{
	struct open_step a = { .url = url, .flags = flags, .ret = ret };
	size_t i;
	int r;

	if (cli_stop)
		return -EINTR;
	if (cli_has_scheme(url, "nats") || cli_has_scheme(url, "dbus")) {
		/* A dbus: subscriber may wait long for the offer: in slices,
		 * so that a signal ends the wait. */
		if (cli_has_scheme(url, "dbus"))
			r = sliced(step_open, &a, timeout_ns);
		else
			r = ipk_chan_open(url, flags, timeout_ns, ret);
		for (i = 0; r == 0 && i < sizeof(unsliced) / sizeof(unsliced[0]); i++)
			if (!unsliced[i]) {
				unsliced[i] = *ret;
				break;
			}
		return r;
	}
	if (!(flags & IPK_CHAN_CREATE))
		return sliced(step_open, &a, timeout_ns);
	if (cli_has_scheme(url, "unix") || cli_has_scheme(url, "unix+seqpacket") ||
	    cli_has_scheme(url, "tcp")) {
		/* One listener for all slices; it goes once a peer is in, as
		 * with ipk_chan_open(): one peer per channel. */
		r = ipk_listen(url, flags & (IPK_CHAN_EXCL | IPK_CHAN_KEEP), &a.l);
		if (r < 0)
			return r;
		r = sliced(step_accept, &a, timeout_ns);
		ipk_listener_close(a.l);
		return r;
	}
	if (cli_has_scheme(url, "fifo") && (flags & IPK_CHAN_WRONLY))
		return open_fifo_writer(url, flags, timeout_ns, ret);
	return ipk_chan_open(url, flags, timeout_ns, ret); /* creating never waits */
}

void cli_close(ipk_chan *ch)
{
	size_t i;

	ipk_chan_close(ch);
	for (i = 0; ch && i < sizeof(made) / sizeof(made[0]); i++)
		if (made[i].ch == ch)
			remove_fifo(&made[i]);
	for (i = 0; ch && i < sizeof(unsliced) / sizeof(unsliced[0]); i++)
		if (unsliced[i] == ch)
			unsliced[i] = NULL;
}

static bool is_unsliced(const ipk_chan *ch)
{
	for (size_t i = 0; i < sizeof(unsliced) / sizeof(unsliced[0]); i++)
		if (unsliced[i] == ch)
			return true;
	return false;
}

struct io_step {
	ipk_chan *ch;
	void *buf;
	size_t len;
	long tag;
	bool tagged;
	long *ret_tag;
	ssize_t n;
};

static int step_recv(void *arg, int64_t slice)
{
	struct io_step *a = arg;

	a->n = ipk_chan_recv_tag(a->ch, a->buf, a->len, a->tag, a->ret_tag, slice);
	return a->n < 0 ? (int)a->n : 0;
}

ssize_t cli_recv(ipk_chan *ch, void *buf, size_t len, long select, long *tag, int64_t timeout_ns)
{
	long t = 0;
	struct io_step a = { ch, buf, len, select, false, tag ? tag : &t, 0 };
	int r = sliced(step_recv, &a, timeout_ns);

	return r < 0 ? r : a.n;
}

static int step_send(void *arg, int64_t slice)
{
	struct io_step *a = arg;

	if (a->tagged)
		return ipk_chan_send_tag(a->ch, a->buf, a->len, a->tag, slice);
	return ipk_chan_send(a->ch, a->buf, a->len, slice);
}

int cli_send(ipk_chan *ch, const void *buf, size_t len, bool tagged, long tag, int64_t timeout_ns)
{
	struct io_step a = { ch, (void *)buf, len, tag, tagged, NULL, 0 };

	/* Retrying is safe: a send that times out sent nothing of this
	 * message (one cut mid-frame counts as sent, its rest pending). */
	if (cli_stop)
		return -EINTR;
	if (is_unsliced(ch))
		return step_send(&a, timeout_ns);
	return sliced(step_send, &a, timeout_ns);
}

static int step_flush(void *arg, int64_t slice)
{
	return ipk_chan_flush(arg, slice);
}

int cli_flush(ipk_chan *ch, int64_t timeout_ns)
{
	int r = sliced(step_flush, ch, timeout_ns);

	if (r == -EINTR) /* stopping: what the peer takes at once */
		r = ipk_chan_flush(ch, timeout_ns >= 0 && timeout_ns < SLICE_NS ? timeout_ns
										: SLICE_NS);
	return r;
}

ssize_t cli_getline(struct cli_lines *in, char **line)
{
	if (in->used) {
		memmove(in->buf, in->buf + in->used, in->len - in->used);
		in->len -= in->used;
		in->used = 0;
	}
	for (;;) {
		char *nl = in->len ? memchr(in->buf, '\n', in->len) : NULL;
		struct pollfd pf = { .fd = STDIN_FILENO, .events = POLLIN };
		ssize_t n;

		if (nl || (in->eof && in->len)) {
			size_t l = nl ? (size_t)(nl - in->buf) : in->len;

			in->used = nl ? l + 1 : l;
			*line = in->buf;
			return (ssize_t)l;
		}
		if (in->eof || cli_stop)
			return -1;
		if (in->cap - in->len < 4096) {
			char *b = realloc(in->buf, in->cap * 2 + 4096);

			if (!b)
				return cli_fail("standard input", ENOMEM), -2;
			in->buf = b;
			in->cap = in->cap * 2 + 4096;
		}
		if (in->wait) {
			/* The caller's wait, which does other work meanwhile. */
			int w = in->wait(in->wait_arg);

			if (w < 0)
				return -2;
			if (w == 0)
				return -1;
		} else {
			n = poll(&pf, 1, (int)(SLICE_NS / IPK_MSEC));
			if (n < 0 && errno != EINTR)
				return cli_fail("standard input", errno), -2;
			if (n <= 0)
				continue;
		}
		n = read(STDIN_FILENO, in->buf + in->len, in->cap - in->len);
		if (n < 0 && errno != EINTR && errno != EAGAIN)
			return cli_fail("standard input", errno), -2;
		if (n == 0)
			in->eof = true;
		if (n > 0)
			in->len += (size_t)n;
	}
}
