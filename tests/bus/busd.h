/* SPDX-License-Identifier: MIT */
/*
 * tests/bus/busd.h - a private dbus-daemon for one test, started through
 * the launcher ipckit bench uses (bench/busd.h): its own config, listening
 * on a socket in /tmp/ipk-busd-PID, its pid our child's, and stopped by
 * that pid alone (or by the kernel when the test dies: PR_SET_PDEATHSIG).
 * Nothing here touches the host's system or session bus: the address is
 * set explicitly (and exported as DBUS_SESSION_BUS_ADDRESS for code that
 * opens "session").
 */
#ifndef IPCKIT_TESTS_BUSD_H
#define IPCKIT_TESTS_BUSD_H

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../harness.h"
#include "../../bench/busd.h"

/* How long the daemon may take to print its address. */
#define BUSD_START_MS 10000

/* Start it; T_SKIP without libsystemd or dbus-daemon. */
static inline void busd_start(struct busd *d)
{
	char dir[64];
	ipk_bus *probe = NULL;
	int r;

	if (ipk_bus_open("unix:path=/nonexistent/ipk", &probe) == -EOPNOTSUPP)
		T_SKIP("built without libsystemd (-Ddbus=disabled): no ipk_bus");
	ipk_bus_close(probe);
	snprintf(dir, sizeof(dir), "/tmp/ipk-busd-%d", (int)getpid());
	/* 0755: a socket others than root can reach, for the dropped children */
	r = busd_spawn(d, dir, 0755, NULL, false, NULL);
	if (r == -ENOENT)
		T_SKIP("dbus-daemon is not installed (Debian package dbus-daemon)");
	if (r < 0)
		T_FAIL("starting dbus-daemon in %s: %s", dir, strerror(-r));
	do {
		struct pollfd pf = { .fd = d->addr_fd, .events = POLLIN };

		r = poll(&pf, 1, BUSD_START_MS);
		if (r == 0)
			T_FAIL("dbus-daemon printed no address within %d ms", BUSD_START_MS);
		r = r < 0 ? (errno == EINTR ? 0 : -errno) : busd_address(d);
	} while (r == 0);
	if (r < 0)
		T_FAIL("dbus-daemon printed no address (got '%s'): %s", d->addr, strerror(-r));
	setenv("DBUS_SESSION_BUS_ADDRESS", d->addr, 1);
}

/* Stop exactly our daemon and remove its directory. */
static inline void busd_stop(struct busd *d)
{
	busd_end(d);
}

#endif /* IPCKIT_TESTS_BUSD_H */
