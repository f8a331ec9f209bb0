/* SPDX-License-Identifier: MIT */
/*
 * tools/cmd_serve.c - `ipckit serve NAME [-- CMD...]`: an ipk_svc server
 * for trying request/reply from a shell. It answers each request with the
 * output of CMD run with the request on its standard input, or with the
 * request itself when there is no CMD; one request at a time.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/wait.h>

#include <ipckit/svc.h>

#include "cli.h"

int cmd_serve(int argc, char **argv); /* dispatched from tools/ipckit.c */

static const char usage[] =
	"Usage: ipckit serve NAME [--size BYTES] [--spin] [--allow-uid UID]...\n"
	"                    [--count N] [-- CMD [ARG...]]\n"
	"\n"
	"Serve request/reply calls (ipk_svc) at NAME: '/path' (a socket file, mode\n"
	"0600) or '@name' (abstract), optionally after 'unix:'. Each request is\n"
	"answered with the standard output of CMD, run with the request on its\n"
	"standard input (up to BYTES of output; more is cut, with a warning), or,\n"
	"without CMD, with the request itself (echo). Requests are served one at\n"
	"a time. Try it with 'ipckit call NAME TEXT'.\n"
	"\n"
	"Options:\n"
	"  --size BYTES     largest request or reply (default 4096)\n"
	"  --spin           busy-spin while waiting for requests (one CPU busy)\n"
	"  --allow-uid UID  serve only these uids (repeatable); others are refused\n"
	"  --count N        stop after N requests\n"
	"  -h, --help       show this help\n"
	"\n"
	"SIGINT, SIGTERM or SIGPIPE stops it: a CMD still running is ended (its\n"
	"process group gets SIGTERM, and SIGKILL a second later), the socket file\n"
	"removed, 'ipckit serve: stopped by SIGINT after N requests' printed, and\n"
	"the exit status is 0.\n"
	"\n"
	"Exit status: 0 ok or stopped, 1 failure, 2 usage error.\n";

static const struct option longopts[] = {
	{ "size", required_argument, NULL, 's' },
	{ "spin", no_argument, NULL, 'S' },
	{ "allow-uid", required_argument, NULL, 'u' },
	{ "count", required_argument, NULL, 'n' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

#define UIDS_MAX 64
#define SLICE_NS (100 * IPK_MSEC)
#define KILL_AFTER_NS IPK_SEC /* from SIGTERM to SIGKILL for CMD */

static void on_pipe_stop(int sig)
{
	cli_stop = sig;
}

static const char *stop_name(void)
{
	return cli_stop == SIGPIPE ? "SIGPIPE" : cli_stop_name();
}

/* A write to CMD's standard input that it does not read: EPIPE, without
 * the SIGPIPE that stops this command. */
static ssize_t write_nosig(int fd, const void *buf, size_t len)
{
	sigset_t pipe_set, old;
	struct timespec zero = { 0 };
	ssize_t n;

	sigemptyset(&pipe_set);
	sigaddset(&pipe_set, SIGPIPE);
	(void)sigprocmask(SIG_BLOCK, &pipe_set, &old);
	n = write(fd, buf, len);
	if (n < 0 && errno == EPIPE)
		(void)sigtimedwait(&pipe_set, NULL, &zero); /* the one it raised */
	(void)sigprocmask(SIG_SETMASK, &old, NULL);
	return n;
}

/*
 * Wait for CMD (@pid, leader of its own process group) to exit, status
 * in *@st. Once a stop came, its group gets SIGTERM, and SIGKILL after
 * KILL_AFTER_NS: a CMD that ignores SIGTERM, or that closed its output
 * and runs on, does not keep this command from stopping.
 */
static void reap(pid_t pid, int *st)
{
	struct timespec nap = { .tv_nsec = 100 * 1000 }; /* doubles up to 50 ms */
	int64_t kill_at = -1;

	for (;;) {
		pid_t r = waitpid(pid, st, WNOHANG);

		if (r == pid || (r < 0 && errno != EINTR))
			return;
		if (cli_stop && kill_at < 0) {
			(void)kill(-pid, SIGTERM);
			kill_at = cli_now_ns() + KILL_AFTER_NS;
		} else if (kill_at >= 0 && cli_now_ns() >= kill_at) {
			(void)kill(-pid, SIGKILL);
			kill_at = INT64_MAX;
		}
		(void)nanosleep(&nap, NULL);
		if (nap.tv_nsec < 50 * 1000 * 1000)
			nap.tv_nsec *= 2;
	}
}

/*
 * Run @cmd with @req on its standard input; its output (up to @cap bytes)
 * into @out. Return: the output's length; -EINTR once a stop came (the
 * command was ended); -errno.
 */
static ssize_t run(char **cmd, const char *req, size_t len, char *out, size_t cap)
{
	int in[2], o[2], st = 0;
	size_t sent = 0, got = 0;
	bool cut = false, out_open = true;
	char sink[4096];
	pid_t pid;

	if (pipe2(in, O_CLOEXEC) < 0)
		return -errno;
	if (pipe2(o, O_CLOEXEC) < 0) {
		int e = errno;

		close(in[0]);
		close(in[1]);
		return -e;
	}
	pid = fork();
	if (pid < 0) {
		int e = errno;

		close(in[0]);
		close(in[1]);
		close(o[0]);
		close(o[1]);
		return -e;
	}
	if (pid == 0) {
		sigset_t none;

		(void)setpgid(0, 0);
		sigemptyset(&none);
		(void)sigprocmask(SIG_SETMASK, &none, NULL);
		if (dup2(in[0], 0) < 0 || dup2(o[1], 1) < 0)
			_exit(127);
		execvp(cmd[0], cmd);
		fprintf(stderr, "%s: %s: %s\n", cli_prog, cmd[0], strerror(errno));
		_exit(127);
	}
	(void)setpgid(pid, pid); /* its own group, whichever runs first */
	close(in[0]);
	close(o[1]);
	(void)fcntl(in[1], F_SETFL, O_NONBLOCK);
	if (len == 0) {
		close(in[1]);
		in[1] = -1;
	}
	while (out_open && !cli_stop) {
		struct pollfd p[2] = { { .fd = o[0], .events = POLLIN },
				       { .fd = in[1], .events = POLLOUT } };
		ssize_t n;

		if (poll(p, in[1] >= 0 ? 2 : 1, 100) < 0 && errno != EINTR)
			break;
		if (in[1] >= 0 && p[1].revents) {
			n = write_nosig(in[1], req + sent, len - sent);
			if (n > 0)
				sent += (size_t)n;
			if ((n < 0 && errno != EAGAIN && errno != EINTR) || sent == len) {
				close(in[1]);
				in[1] = -1;
			}
		}
		if (p[0].revents) {
			if (got < cap)
				n = read(o[0], out + got, cap - got);
			else
				n = read(o[0], sink, sizeof(sink));
			if (n > 0 && got < cap)
				got += (size_t)n;
			else if (n > 0)
				cut = true;
			else if (n == 0 || errno != EINTR)
				out_open = false;
		}
	}
	if (in[1] >= 0)
		close(in[1]);
	close(o[0]);
	reap(pid, &st);
	if (cli_stop)
		return -EINTR;
	if (cut)
		cli_msg("%s: output longer than %zu bytes: the reply has the first %zu", cmd[0],
			cap, cap);
	if (WIFEXITED(st) && WEXITSTATUS(st) != 0)
		cli_msg("%s: exit status %d (its output is the reply)", cmd[0], WEXITSTATUS(st));
	else if (WIFSIGNALED(st))
		cli_msg("%s: killed by signal %d (its output is the reply)", cmd[0], WTERMSIG(st));
	return (ssize_t)got;
}

static int serve(ipk_svc *s, const char *name, char **cmd, size_t size, unsigned long count)
{
	char *req = malloc(size), *rep = malloc(size);
	unsigned long served = 0;
	int rc = CLI_OK;

	if (!req || !rep) {
		rc = cli_fail(name, -ENOMEM);
		goto out;
	}
	while (!cli_stop && (count == 0 || served < count)) {
		struct ipk_svc_req r;
		ssize_t n = ipk_svc_recv(s, req, size, &r, SLICE_NS), m;

		if (n == -ETIMEDOUT)
			continue;
		if (n < 0) {
			rc = cli_fail(name, (int)n);
			goto out;
		}
		m = cmd ? run(cmd, req, (size_t)n, rep, size) : n;
		if (m == -EINTR)
			break;
		if (m < 0) {
			rc = cli_fail(cmd[0], (int)m);
			goto out;
		}
		n = ipk_svc_reply(s, r.id, cmd ? rep : req, (size_t)m);
		if (n < 0 && n != -ECONNRESET) { /* a client gone meanwhile is no failure */
			rc = cli_fail(name, (int)n);
			goto out;
		}
		served++;
	}
	if (cli_stop)
		cli_msg("stopped by %s after %lu requests", stop_name(), served);
out:
	free(req);
	free(rep);
	return rc;
}

int cmd_serve(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = on_pipe_stop };
	uid_t uids[UIDS_MAX];
	struct ipk_access pol = { .uids = uids };
	struct ipk_svc_opts o = { 0 };
	unsigned long v, count = 0, size = 4096;
	char **cmd = NULL;
	ipk_svc *s;
	int c, r;

	/* CMD is everything after "--", options and all */
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--")) {
			cmd = argv + i + 1;
			argc = i;
			break;
		}
	}
	if (cmd && !cmd[0])
		return cli_usage_error("nothing after '--'");
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
		switch (c) {
		case 's':
			if (cli_parse_ulong(optarg, 1, 16ul << 20, &size) < 0)
				return cli_usage_error("bad --size '%s': want 1 to 16777216 bytes",
						       optarg);
			break;
		case 'S':
			o.flags |= IPK_SVC_SPIN;
			break;
		case 'u':
			if (pol.n_uids == UIDS_MAX)
				return cli_usage_error("at most %d --allow-uid", UIDS_MAX);
			if (cli_parse_ulong(optarg, 0, 0xfffffffeul, &v) < 0)
				return cli_usage_error("bad --allow-uid '%s': want a number",
						       optarg);
			uids[pol.n_uids++] = (uid_t)v;
			break;
		case 'n':
			r = cli_opt_count(optarg, ~0ul, &count);
			if (r)
				return r;
			break;
		case 'h':
			fputs(usage, stdout);
			return CLI_OK;
		default:
			return cli_bad_option(c, argv, longopts);
		}
	}
	if (optind >= argc)
		return cli_usage_error("missing NAME (see 'ipckit serve --help')");
	if (optind + 1 < argc)
		return cli_usage_error("unexpected '%s': a command goes after '--'",
				       argv[optind + 1]);
	o.max_msg = (uint32_t)size;
	o.access = pol.n_uids ? &pol : NULL;
	cli_catch_stop();
	sigemptyset(&sa.sa_mask);
	(void)sigaction(SIGPIPE, &sa, NULL);
	r = ipk_svc_create(argv[optind], &o, &s);
	if (r == -EINVAL)
		return cli_usage_error("bad NAME '%s': want /path or @name", argv[optind]);
	if (r < 0)
		return cli_fail(argv[optind], r);
	r = serve(s, argv[optind], cmd, size, count);
	ipk_svc_close(s);
	return r;
}
