/* SPDX-License-Identifier: MIT */
/*
 * tests/bus/busd.h - a private dbus-daemon for one test: its own config,
 * listening on a socket in a private directory, started with --nofork so
 * that its pid is our child's, and killed by that pid alone (or by the
 * kernel when the test dies: PR_SET_PDEATHSIG). Nothing here
 * touches the host's system or session bus: the address is set explicitly
 * (and exported as DBUS_SESSION_BUS_ADDRESS for code that opens "session").
 */
#ifndef IPCKIT_TESTS_BUSD_H
#define IPCKIT_TESTS_BUSD_H

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "../harness.h"

struct busd {
	pid_t pid;
	char dir[128];
	char addr[256];
};

/* Anyone may connect and own names: the tests drop root in children. */
static const char busd_conf[] =
	"<!DOCTYPE busconfig PUBLIC \"-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN\"\n"
	" \"http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd\">\n"
	"<busconfig>\n"
	"  <type>session</type>\n"
	"  <listen>unix:path=%s/bus</listen>\n"
	"  <auth>EXTERNAL</auth>\n"
	"  <policy context=\"default\">\n"
	"    <allow user=\"*\"/>\n"
	"    <allow own=\"*\"/>\n"
	"    <allow send_destination=\"*\" eavesdrop=\"true\"/>\n"
	"    <allow eavesdrop=\"true\"/>\n"
	"  </policy>\n"
	"</busconfig>\n";

/* Start it; T_SKIP without dbus-daemon. */
static inline void busd_start(struct busd *d)
{
	char conf[192], cfgarg[224], line[256];
	int pfd[2];
	FILE *f;
	ssize_t n;
	size_t got = 0;

	ipk_bus *probe = NULL;

	if (ipk_bus_open("unix:path=/nonexistent/ipk", &probe) == -EOPNOTSUPP)
		T_SKIP("built without libsystemd (-Ddbus=disabled): no ipk_bus");
	ipk_bus_close(probe);
	if (access("/usr/bin/dbus-daemon", X_OK) != 0 &&
	    system("command -v dbus-daemon >/dev/null") != 0)
		T_SKIP("dbus-daemon is not installed (Debian package dbus-daemon)");
	snprintf(d->dir, sizeof(d->dir), "/tmp/ipk-busd-%d", (int)getpid());
	if (mkdir(d->dir, 0755) < 0 && errno != EEXIST)
		T_FAIL("mkdir %s: %s", d->dir, strerror(errno));
	snprintf(conf, sizeof(conf), "%s/bus.conf", d->dir);
	f = fopen(conf, "w");
	if (!f)
		T_FAIL("fopen %s: %s", conf, strerror(errno));
	fprintf(f, busd_conf, d->dir);
	fclose(f);
	snprintf(cfgarg, sizeof(cfgarg), "--config-file=%s", conf);
	T_SYS(pipe2(pfd, O_CLOEXEC));
	d->pid = fork();
	if (d->pid < 0)
		T_FAIL("fork: %s", strerror(errno));
	if (d->pid == 0) {
		char fdarg[32];

		/* dies with the test, even one that aborts */
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		dup2(pfd[1], 3);
		snprintf(fdarg, sizeof(fdarg), "--print-address=3");
		execlp("dbus-daemon", "dbus-daemon", cfgarg, "--nofork", "--nopidfile", fdarg,
		       (char *)NULL);
		_exit(127);
	}
	close(pfd[1]);
	while (got < sizeof(line) - 1 &&
	       (n = read(pfd[0], line + got, sizeof(line) - 1 - got)) > 0) {
		got += (size_t)n;
		if (memchr(line, '\n', got))
			break;
	}
	close(pfd[0]);
	line[got] = '\0';
	if (!strchr(line, '\n'))
		T_FAIL("dbus-daemon printed no address (got '%s')", line);
	*strchr(line, '\n') = '\0';
	snprintf(d->addr, sizeof(d->addr), "%s", line);
	setenv("DBUS_SESSION_BUS_ADDRESS", d->addr, 1);
	/* a socket others than root can reach, for the dropped children */
	chmod(d->dir, 0755);
}

/* Kill exactly our daemon and remove its directory. */
static inline void busd_stop(struct busd *d)
{
	char p[192];

	if (d->pid > 0) {
		kill(d->pid, SIGTERM);
		while (waitpid(d->pid, NULL, 0) < 0 && errno == EINTR)
			;
		d->pid = 0;
	}
	snprintf(p, sizeof(p), "%s/bus.conf", d->dir);
	unlink(p);
	snprintf(p, sizeof(p), "%s/bus", d->dir);
	unlink(p);
	rmdir(d->dir);
}

#endif /* IPCKIT_TESTS_BUSD_H */
