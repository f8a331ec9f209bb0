/* SPDX-License-Identifier: MIT */
/*
 * examples/fifo-sync.c - start-up synchronisation of two unrelated processes
 * through the open of a FIFO.
 *
 *   fifo-sync server PATH                  create the FIFO, print what comes
 *   fifo-sync worker PATH [--timeout SEC]  wait for the server, then report
 *
 * The hazard (from the seed): open(2) of a FIFO for writing blocks until a
 * reader opens it, and open for reading blocks until a writer does. That is
 * a free rendezvous - the worker's open returns exactly when the server is
 * there - but with plain open() it has no timeout. If the server never comes
 * (it crashed, or was not started yet and never will be), the worker hangs
 * forever. Worse, two processes that each open the FIFO they write to
 * before the one they read from wait for each other: each open needs the
 * other side's open of the other FIFO, which never comes - a deadlock, with
 * no error and nothing in any log.
 *
 * How ipckit avoids it: the server is the one that creates the FIFO, and a
 * reader's open never waits (its first receive does). The worker's open for
 * writing waits, with a deadline, for the FIFO to exist and for a reader:
 * it returns as soon as the server has the FIFO open, whichever of the two
 * started first, or fails cleanly with -ETIMEDOUT, so a missing
 * server becomes an error message and exit status 1 instead of a hang. With
 * every wait bounded, no order of opens can deadlock: at worst one side
 * times out and says so. tests/integration/fifo_sync.c runs the crossed
 * opens both ways: with open(2) both processes hang until an alarm ends
 * them; through ipckit each gets -ETIMEDOUT, and opening the read end
 * first (which never waits) lets them meet.
 *
 * Several workers may write to one FIFO: messages of up to
 * IPK_PIPE_ATOMIC_MAX bytes are written atomically, so lines of different
 * workers never interleave.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ipckit/ipckit.h>

static void usage(FILE *f)
{
	fputs("Usage: fifo-sync server PATH\n"
	      "       fifo-sync worker PATH [--timeout SEC]\n"
	      "\n"
	      "The server creates the FIFO at PATH and prints every message until the\n"
	      "last worker closes. A worker waits up to --timeout seconds (default 5)\n"
	      "for the server, then announces itself and reports its work.\n",
	      f);
}

static int fail(const char *who, const char *what, int err)
{
	fprintf(stderr, "fifo-sync %s: %s: %s (%s)\n", who, what, strerror(err < 0 ? -err : err),
		ipk_errname(err));
	return 1;
}

static int server(const char *url)
{
	char buf[IPK_PIPE_ATOMIC_MAX + 1];
	unsigned long n_msgs = 0;
	ipk_chan *ch;
	int r;

	/* Reuses a FIFO left by an earlier run; removes it on close. */
	r = ipk_chan_open(url, IPK_CHAN_CREATE | IPK_CHAN_RDONLY, 0, &ch);
	if (r < 0)
		return fail("server", url, r);
	printf("server: ready on %s, waiting for workers\n", url + 5);
	fflush(stdout);
	for (;;) {
		ssize_t n = ipk_chan_recv(ch, buf, sizeof(buf) - 1, IPK_FOREVER);

		if (n == -EPIPE)
			break; /* the last worker closed */
		if (n < 0) {
			ipk_chan_close(ch);
			return fail("server", url, (int)n);
		}
		buf[n] = '\0';
		n_msgs++;
		printf("server: %s\n", buf);
		fflush(stdout);
	}
	printf("server: all workers gone after %lu messages\n", n_msgs);
	ipk_chan_close(ch);
	return 0;
}

static int worker(const char *url, int64_t timeout_ns)
{
	char msg[128];
	ipk_chan *ch;
	int i, r;

	/* The rendezvous: returns once the server has created the FIFO and
	 * opened it for reading, or fails after the timeout instead of hanging. */
	r = ipk_chan_open(url, IPK_CHAN_WRONLY, timeout_ns, &ch);
	if (r == -ETIMEDOUT || r == -ENXIO || r == -ENOENT) {
		fprintf(stderr,
			"fifo-sync worker: %s: no server after %.1f s: %s (%s); "
			"start 'fifo-sync server %s' first\n",
			url + 5, (double)timeout_ns / 1e9, strerror(-r), ipk_errname(r), url + 5);
		return 1;
	}
	if (r < 0)
		return fail("worker", url, r);

	snprintf(msg, sizeof(msg), "worker %d: up", (int)getpid());
	r = ipk_chan_send(ch, msg, strlen(msg), timeout_ns);
	for (i = 1; r == 0 && i <= 3; i++) {
		usleep(100000); /* the "work" */
		snprintf(msg, sizeof(msg), "worker %d: job %d of 3 done", (int)getpid(), i);
		r = ipk_chan_send(ch, msg, strlen(msg), timeout_ns);
	}
	if (r == 0)
		r = ipk_chan_flush(ch, timeout_ns);
	ipk_chan_close(ch);
	if (r < 0)
		return fail("worker", url, r);
	return 0;
}

static int parse_seconds(const char *s, int64_t *ns)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (end == s || *end || errno || !(v >= 0 && v <= 1e6))
		return -EINVAL;
	*ns = (int64_t)(v * 1e9);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "timeout", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int64_t timeout_ns = 5 * IPK_SEC;
	char url[4096 + 8];
	const char *role, *path;
	int c;

	while ((c = getopt_long(argc, argv, "t:h", longopts, NULL)) != -1) {
		switch (c) {
		case 't':
			if (parse_seconds(optarg, &timeout_ns) < 0) {
				fprintf(stderr, "fifo-sync: bad --timeout '%s'\n", optarg);
				return 2;
			}
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (argc - optind != 2) {
		usage(stderr);
		return 2;
	}
	role = argv[optind];
	path = argv[optind + 1];
	if (snprintf(url, sizeof(url), "fifo:%s", path) >= (int)sizeof(url) ||
	    ipk_url_check(url, NULL, NULL) < 0) {
		fprintf(stderr, "fifo-sync: bad path '%s'\n", path);
		return 2;
	}
	if (!strcmp(role, "server"))
		return server(url);
	if (!strcmp(role, "worker"))
		return worker(url, timeout_ns);
	fprintf(stderr, "fifo-sync: unknown role '%s' (want server or worker)\n", role);
	return 2;
}
