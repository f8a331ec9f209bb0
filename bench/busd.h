/* SPDX-License-Identifier: MIT */
/*
 * bench/busd.h - the one dbus-daemon launcher, for the D-Bus rows of
 * `ipckit bench` (bench/bus.c) and the bus test suite (tests/bus/busd.h): a
 * private daemon with its own configuration, listening on a socket in a
 * directory of its own, started with --nofork so that its pid is our
 * child's, and stopped by that pid alone (or by the kernel when its parent
 * dies: PR_SET_PDEATHSIG). Nothing here touches the host's buses. How long
 * to wait for it, and what a failure means, stays with the caller: bench
 * waits in bench_prep_wait() and reports n/a or an error, the tests assert.
 *
 * Header-only (static inline), so that the bench library and each test
 * program take it without a build rule of their own. Only plain system
 * calls; not thread-safe (one supervising thread).
 */
#ifndef IPCKIT_BENCH_BUSD_H
#define IPCKIT_BENCH_BUSD_H

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>

struct busd {
	pid_t pid;       /* the daemon; 0 when none runs */
	int addr_fd;     /* where its address arrives, until read; -1 */
	char dir[128];   /* its directory: bus.conf and the socket "bus" */
	char addr[256];  /* "unix:path=DIR/bus,guid=..." once busd_address() says 1 */
	size_t addr_len; /* bytes of it read so far */
};

/* Anyone may connect and own names: tests drop root in children. %s: the
 * directory; %s: the caller's extra lines (limits). */
static const char busd_conf_fmt[] =
	"<!DOCTYPE busconfig PUBLIC \"-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN\"\n"
	" \"http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd\">\n"
	"<busconfig>\n"
	"  <type>session</type>\n"
	"  <listen>unix:path=%s/bus</listen>\n"
	"  <auth>EXTERNAL</auth>\n"
	"%s"
	"  <policy context=\"default\">\n"
	"    <allow user=\"*\"/>\n"
	"    <allow own=\"*\"/>\n"
	"    <allow send_destination=\"*\" eavesdrop=\"true\"/>\n"
	"    <allow eavesdrop=\"true\"/>\n"
	"  </policy>\n"
	"</busconfig>\n";

static inline int busd_neg_errno(void)
{
	return errno > 0 ? -errno : -EIO;
}

/* The dbus-daemon on $PATH (unset or empty: /usr/bin:/bin) into @path.
 * Return: 0; -ENOENT. */
static inline int busd_find(char *path, size_t len)
{
	const char *p = getenv("PATH");

	if (!p || !*p)
		p = "/usr/bin:/bin";
	while (*p) {
		size_t n = strcspn(p, ":");

		snprintf(path, len, "%.*s/dbus-daemon", (int)n, p);
		if (access(path, X_OK) == 0)
			return 0;
		p += n + (p[n] == ':');
	}
	return -ENOENT;
}

/* Removes what busd_spawn() wrote into @d->dir, and the directory. */
static inline void busd_remove_dir(const struct busd *d)
{
	char p[sizeof(d->dir) + 16];

	snprintf(p, sizeof(p), "%s/bus.conf", d->dir);
	(void)unlink(p);
	snprintf(p, sizeof(p), "%s/bus", d->dir);
	(void)unlink(p);
	(void)rmdir(d->dir);
}

/*
 * busd_end() - stop exactly the daemon busd_spawn() started (SIGTERM to
 * its pid), reap it and remove its directory. Nothing for a daemon that is
 * gone already; safe to call twice.
 */
static inline void busd_end(struct busd *d)
{
	if (d->addr_fd >= 0) {
		(void)close(d->addr_fd);
		d->addr_fd = -1;
	}
	if (d->pid > 0) {
		(void)kill(d->pid, SIGTERM);
		while (waitpid(d->pid, NULL, 0) < 0 && errno == EINTR)
			;
		d->pid = 0;
	}
	if (d->dir[0])
		busd_remove_dir(d);
}

/*
 * busd_spawn() - make directory @dir (mode @mode; one that exists is
 * reused), write its bus.conf with @extra_conf (more <busconfig> lines such
 * as <limit>, or NULL), and fork and exec dbus-daemon --nofork with its
 * address printed on a pipe, without waiting for it.
 * @quiet: its standard error to /dev/null (its warnings are not ours)
 * @in_child: run in the child before the exec (NULL: nothing), e.g. to
 *            restore a signal mask
 *
 * Return: 0, with @d filled (pid, addr_fd): then busd_address() when
 * @d->addr_fd is readable, and busd_end() in any case; -ENOENT (no
 * dbus-daemon); -errno of mkdir, the write or fork (nothing left behind).
 */
static inline int busd_spawn(struct busd *d, const char *dir, mode_t mode, const char *extra_conf,
			     bool quiet, void (*in_child)(void))
{
	char exe[4096], conf[sizeof(d->dir) + 16], cfgarg[sizeof(conf) + 16];
	int pfd[2], r;
	FILE *f;

	memset(d, 0, sizeof(*d));
	d->addr_fd = -1;
	if (busd_find(exe, sizeof(exe)) < 0)
		return -ENOENT;
	if (snprintf(d->dir, sizeof(d->dir), "%s", dir) >= (int)sizeof(d->dir)) {
		d->dir[0] = '\0';
		return -ENAMETOOLONG;
	}
	if (mkdir(d->dir, mode) < 0 && errno != EEXIST) {
		r = busd_neg_errno();
		d->dir[0] = '\0'; /* not ours: nothing to remove */
		return r;
	}
	(void)chmod(d->dir, mode); /* the mode asked for, whatever the umask */
	snprintf(conf, sizeof(conf), "%s/bus.conf", d->dir);
	f = fopen(conf, "we");
	if (!f)
		goto fail_errno;
	fprintf(f, busd_conf_fmt, d->dir, extra_conf ? extra_conf : "");
	if (fclose(f) != 0)
		goto fail_errno;
	snprintf(cfgarg, sizeof(cfgarg), "--config-file=%s", conf);
	if (pipe2(pfd, O_CLOEXEC) < 0)
		goto fail_errno;
	d->pid = fork();
	if (d->pid < 0) {
		r = busd_neg_errno();
		(void)close(pfd[0]);
		(void)close(pfd[1]);
		d->pid = 0;
		busd_end(d);
		return r;
	}
	if (d->pid == 0) {
		/* dies with its parent, even one that aborts */
		(void)prctl(PR_SET_PDEATHSIG, SIGTERM);
		if (in_child)
			in_child();
		(void)dup2(pfd[1], 3); /* dup2 clears O_CLOEXEC on 3 */
		if (quiet) {
			int devnull = open("/dev/null", O_WRONLY);

			if (devnull >= 0)
				(void)dup2(devnull, 2);
		}
		execl(exe, "dbus-daemon", cfgarg, "--nofork", "--nopidfile", "--print-address=3",
		      (char *)NULL);
		_exit(127);
	}
	(void)close(pfd[1]);
	d->addr_fd = pfd[0];
	return 0;

fail_errno:
	r = busd_neg_errno();
	busd_end(d);
	return r;
}

/*
 * busd_address() - one read() of what the daemon prints, once @d->addr_fd
 * is readable (it blocks otherwise).
 *
 * Return: 1 the address is complete, in @d->addr (and addr_fd closed); 0
 * not yet; -ECONNREFUSED it ended without printing one (it did not come
 * up); -errno of read.
 */
static inline int busd_address(struct busd *d)
{
	ssize_t n;
	char *nl;

	n = read(d->addr_fd, d->addr + d->addr_len, sizeof(d->addr) - 1 - d->addr_len);
	if (n < 0)
		return errno == EINTR ? 0 : busd_neg_errno();
	d->addr_len += (size_t)n;
	d->addr[d->addr_len] = '\0';
	nl = strchr(d->addr, '\n');
	if (!nl && n > 0 && d->addr_len < sizeof(d->addr) - 1)
		return 0;
	(void)close(d->addr_fd);
	d->addr_fd = -1;
	if (!nl)
		return -ECONNREFUSED; /* the end, or a line too long */
	*nl = '\0';
	return 1;
}

#endif /* IPCKIT_BENCH_BUSD_H */
