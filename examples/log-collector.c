/* SPDX-License-Identifier: MIT */
/*
 * examples/log-collector.c - many processes logging into one collector
 * over ipk_mpsc, the seed's log pipeline grown up: every service of a host
 * writes its lines into a shared-memory queue, and one collector writes
 * them to a file, each line stamped with the pid and uid the kernel
 * vouched for when the producer connected (not what the producer says).
 *
 * The demonstration forks --producers loggers that send --lines lines
 * each, and one more that logs as fast as it can until the collector kills
 * it with SIGKILL, wherever it is: in a send, or waiting for room. The
 * collector does not notice the death except in its counters: the other
 * loggers go on, every line the dead one finished is in the file, the one
 * it was writing is not (and is counted skipped if it had begun it). Then
 * the collector waits until every logger is gone and prints a summary.
 *
 * Usage: log-collector [--producers N] [--lines M] [--out FILE]
 *        log-collector collect NAME FILE     (until SIGINT or SIGTERM)
 *        log-collector log NAME TEXT...      (one line per argument)
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/prctl.h>
#include <sys/wait.h>

#include <ipckit/ipckit.h>

#define LINE_MAX_LEN 512
#define TIMEOUT (10 * IPK_SEC)

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static int fail(const char *what, int err)
{
	fprintf(stderr, "log-collector: %s: %s (%s)\n", what, strerror(-err), ipk_errname(err));
	return 1;
}

/* Write one received line: who sent it (as the kernel said), then the text. */
static void write_line(FILE *out, const struct ipk_mpsc_from *from, const char *buf, ssize_t n)
{
	fprintf(out, "pid=%d uid=%u seq=%" PRIu64 ": %.*s\n", (int)from->pid, (unsigned)from->uid,
		from->seq, (int)n, buf);
}

/* A logger: @lines lines (0: until killed), then close. */
static int logger(const char *name, int id, unsigned long lines)
{
	char line[LINE_MAX_LEN];
	ipk_mpsc_prod *p;
	int r;

	(void)prctl(PR_SET_PDEATHSIG, SIGKILL);
	r = ipk_mpsc_connect(name, NULL, TIMEOUT, &p);
	if (r < 0)
		return fail("connect", r);
	for (unsigned long i = 0; lines == 0 || i < lines; i++) {
		int n = snprintf(line, sizeof(line), "service %d: request %lu handled in %lu us",
				 id, i, 100 + (i * 37) % 900);

		r = ipk_mpsc_send(p, line, (size_t)n, TIMEOUT);
		if (r < 0)
			return fail("send", r);
	}
	ipk_mpsc_prod_close(p);
	return 0;
}

static int demo(int producers, unsigned long lines, const char *path)
{
	char name[64], buf[LINE_MAX_LEN];
	struct ipk_mpsc_stats st;
	struct ipk_mpsc_from from;
	unsigned long victim_lines = 0, total = 0, want = (unsigned long)producers * lines;
	pid_t victim, pids[64];
	bool killed = false;
	ipk_mpsc *c;
	FILE *out;
	int r, status;

	snprintf(name, sizeof(name), "/log-collector-%d", (int)getpid());
	out = fopen(path, "we");
	if (!out) {
		perror(path);
		return 1;
	}
	r = ipk_mpsc_create(name, NULL, &c);
	if (r < 0) {
		fclose(out);
		return fail(name, r);
	}
	for (int i = 0; i < producers; i++) {
		pids[i] = fork();
		if (pids[i] == 0)
			_exit(logger(name, i, lines));
	}
	victim = fork();
	if (victim == 0)
		_exit(logger(name, producers, 0));

	for (;;) {
		ssize_t n = ipk_mpsc_recv(c, buf, sizeof(buf), &from, IPK_SEC / 10);

		if (n >= 0) {
			write_line(out, &from, buf, n);
			if (from.pid == victim)
				victim_lines++;
			else
				total++;
			/* Kill the busy logger once it has logged a while. */
			if (!killed && victim_lines >= 1000) {
				(void)kill(victim, SIGKILL);
				(void)waitpid(victim, &status, 0);
				killed = true;
			}
			continue;
		}
		if (n != -ETIMEDOUT)
			return fail("recv", (int)n);
		(void)ipk_mpsc_stats(c, &st);
		/* done: every line of the others, and every logger gone */
		if (killed && total == want && st.producers == 0)
			break;
	}
	for (int i = 0; i < producers; i++) {
		(void)waitpid(pids[i], &status, 0);
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
			fprintf(stderr, "log-collector: logger %d failed\n", (int)pids[i]);
	}
	(void)ipk_mpsc_stats(c, &st);
	ipk_mpsc_close(c);
	fclose(out);
	printf("collector: %lu lines from %d loggers written to %s\n", total, producers, path);
	printf("collector: logger %d killed after %lu lines; %" PRIu64
	       " half-written line(s) skipped, none delivered torn\n",
	       (int)victim, victim_lines, st.skipped);
	printf("collector: %" PRIu64 " lines delivered, %" PRIu64 " loggers joined, %" PRIu64
	       " left\n",
	       st.delivered, st.joined, st.left);
	return 0;
}

static int collect(const char *name, const char *path)
{
	char buf[LINE_MAX_LEN];
	struct ipk_mpsc_from from;
	ipk_mpsc *c;
	FILE *out = fopen(path, "ae");
	int r;

	if (!out) {
		perror(path);
		return 1;
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	r = ipk_mpsc_create(name, NULL, &c);
	if (r < 0) {
		fclose(out);
		return fail(name, r);
	}
	while (!stop) {
		ssize_t n = ipk_mpsc_recv(c, buf, sizeof(buf), &from, IPK_SEC / 10);

		if (n >= 0) {
			write_line(out, &from, buf, n);
			fflush(out);
		} else if (n != -ETIMEDOUT) {
			ipk_mpsc_close(c);
			return fail("recv", (int)n);
		}
	}
	ipk_mpsc_close(c);
	fclose(out);
	return 0;
}

static int log_lines(const char *name, int n, char **text)
{
	ipk_mpsc_prod *p;
	int r = ipk_mpsc_connect(name, NULL, TIMEOUT, &p);

	if (r < 0)
		return fail(name, r);
	for (int i = 0; i < n; i++) {
		r = ipk_mpsc_send(p, text[i], strlen(text[i]), TIMEOUT);
		if (r < 0)
			return fail("send", r);
	}
	ipk_mpsc_prod_close(p);
	return 0;
}

static void usage(FILE *f)
{
	fprintf(f, "Usage: log-collector [--producers N] [--lines M] [--out FILE]\n"
		   "       log-collector collect NAME FILE\n"
		   "       log-collector log NAME TEXT...\n");
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = { { "producers", required_argument, NULL, 'p' },
						  { "lines", required_argument, NULL, 'l' },
						  { "out", required_argument, NULL, 'o' },
						  { "help", no_argument, NULL, 'h' },
						  { NULL, 0, NULL, 0 } };
	int producers = 4, opt;
	unsigned long lines = 10000;
	const char *out = "collected.log";

	if (argc >= 2 && strcmp(argv[1], "collect") == 0) {
		if (argc != 4) {
			usage(stderr);
			return 2;
		}
		return collect(argv[2], argv[3]);
	}
	if (argc >= 2 && strcmp(argv[1], "log") == 0) {
		if (argc < 4) {
			usage(stderr);
			return 2;
		}
		return log_lines(argv[2], argc - 3, argv + 3);
	}
	while ((opt = getopt_long(argc, argv, "p:l:o:h", longopts, NULL)) != -1) {
		switch (opt) {
		case 'p':
			producers = atoi(optarg);
			break;
		case 'l':
			lines = strtoul(optarg, NULL, 10);
			break;
		case 'o':
			out = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc || producers < 1 || producers > 64 || lines < 1) {
		fprintf(stderr, "log-collector: --producers 1..64, --lines >= 1\n");
		return 2;
	}
	return demo(producers, lines, out);
}
