/* SPDX-License-Identifier: MIT */
/*
 * tests/nats/nats_harness.h - real nats-server processes for the nats
 * suite: each on a free loopback port, with its own JetStream directory
 * under /tmp/ipk-nats-<pid>-<n>, killed by its recorded pid (never by name)
 * and its directory removed. Servers die with the test (PR_SET_PDEATHSIG),
 * and a failed assertion (abort) still kills them and removes their
 * directories. Without nats-server the test SKIPs (77) saying so.
 *
 * Starting and stopping a server is bench/natsd.c's, which `ipckit bench`
 * uses too; this adds the JetStream store, the registry for the abort
 * handler and the assertions.
 */
#ifndef IPCKIT_TESTS_NATS_HARNESS_H
#define IPCKIT_TESTS_NATS_HARNESS_H

#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <time.h>

#include "harness.h"
#include "natsd.h"

#define TN_MAX 8

struct tn_srv {
	pid_t pid;
	int port, cport; /* client and cluster ports */
	char dir[128];
	char name[16];
};

static struct tn_srv *tn_all[TN_MAX];

static inline double tn_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static inline void tn_rmdir(const char *dir)
{
	char cmd[300];

	if (dir[0] && strncmp(dir, "/tmp/ipk-nats-", 14) == 0) {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
		(void)!system(cmd);
	}
}

/* SIGABRT from a failed assertion: kill what we started, remove their
 * stores, then die. */
static inline void tn_on_abort(int sig)
{
	for (int i = 0; i < TN_MAX; i++) {
		if (!tn_all[i])
			continue;
		natsd_stop(&tn_all[i]->pid, SIGKILL);
		tn_rmdir(tn_all[i]->dir);
	}
	signal(sig, SIG_DFL);
	raise(sig);
}

/* Finds nats-server or SKIPs. */
static inline void tn_need_server(void)
{
	if (!natsd_path())
		T_SKIP("nats-server is not installed (Debian package nats-server)");
	signal(SIGABRT, tn_on_abort);
}

/* A loopback port nobody listens on right now. */
static inline int tn_free_port(void)
{
	int port = natsd_free_port();

	T_OK(port);
	return port;
}

/* Register @s so that an abort kills it. */
static inline void tn_track(struct tn_srv *s)
{
	for (int i = 0; i < TN_MAX; i++)
		if (!tn_all[i] || tn_all[i] == s) {
			tn_all[i] = s;
			return;
		}
	T_FAIL("more than %d servers", TN_MAX);
}

/*
 * tn_start() - start nats-server for @s (port, dir and name preset or
 * chosen here) with the extra arguments @extra (NULL-ended), and wait until
 * it accepts connections. JetStream is on, stored in s->dir.
 */
static inline void tn_start(struct tn_srv *s, const char *const *extra)
{
	static int seq;
	char log[200];
	const char *argv[32];
	int n = 0, r;
	double until;

	if (!s->port)
		s->port = tn_free_port();
	if (!s->dir[0])
		snprintf(s->dir, sizeof(s->dir), "/tmp/ipk-nats-%d-%d", (int)getpid(), seq++);
	if (!s->name[0])
		snprintf(s->name, sizeof(s->name), "n%d", seq);
	mkdir(s->dir, 0700);
	snprintf(log, sizeof(log), "%s/server.log", s->dir);
	argv[n++] = "-n";
	argv[n++] = s->name;
	argv[n++] = "-js";
	argv[n++] = "-sd";
	argv[n++] = s->dir;
	for (; extra && *extra && n < 31; extra++)
		argv[n++] = *extra;
	argv[n] = NULL;
	tn_track(s);
	T_OK(natsd_spawn(s->port, argv, log, NULL, &s->pid));
	until = tn_now() + 10;
	while ((r = natsd_ready(&s->pid, s->port)) != 1) {
		if (r < 0)
			T_FAIL("nats-server on port %d exited at start; see %s", s->port, log);
		if (tn_now() > until)
			T_FAIL("nats-server on port %d not listening after 10 s", s->port);
		usleep(20000);
	}
}

/* Kill exactly @s's process with @sig and reap it; keeps its directory. */
static inline void tn_kill(struct tn_srv *s, int sig)
{
	natsd_stop(&s->pid, sig);
}

/* Stop @s and remove its directory. */
static inline void tn_stop(struct tn_srv *s)
{
	tn_kill(s, SIGTERM);
	tn_rmdir(s->dir);
	for (int i = 0; i < TN_MAX; i++)
		if (tn_all[i] == s)
			tn_all[i] = NULL;
}

/* "nats://127.0.0.1:PORT/SUBJECT" + @tail. */
static inline const char *tn_url(char *buf, size_t len, int port, const char *subject,
				 const char *tail)
{
	snprintf(buf, len, "nats://127.0.0.1:%d/%s%s", port, subject, tail ? tail : "");
	return buf;
}

/* Run the ipckit CLI (@exe) with argv (NULL-ended) in a child whose stderr
 * goes to @errpath (NULL: inherited); returns its pid. */
static inline pid_t tn_spawn(const char *const *argv, const char *outpath, const char *errpath)
{
	pid_t pid = fork();

	if (pid < 0)
		T_FAIL("fork: %s", strerror(errno));
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (outpath) {
			int fd = open(outpath, O_WRONLY | O_CREAT | O_TRUNC, 0600);

			if (fd >= 0)
				dup2(fd, 1);
		}
		if (errpath) {
			int fd = open(errpath, O_WRONLY | O_CREAT | O_TRUNC, 0600);

			if (fd >= 0)
				dup2(fd, 2);
		}
		execv(argv[0], (char **)argv);
		_exit(127);
	}
	return pid;
}

/* Wait for @pid; its exit status, or 128 + signal. */
static inline int tn_wait(pid_t pid)
{
	int st;

	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			T_FAIL("waitpid: %s", strerror(errno));
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* The whole of a small file, NUL-ended, in @buf. */
static inline const char *tn_slurp(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n = fd >= 0 ? read(fd, buf, len - 1) : -1;

	if (fd >= 0)
		close(fd);
	buf[n > 0 ? n : 0] = '\0';
	return buf;
}

#endif /* IPCKIT_TESTS_NATS_HARNESS_H */
