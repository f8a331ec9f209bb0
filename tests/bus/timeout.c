/* SPDX-License-Identifier: MIT */
/*
 * tests/bus/timeout.c - ipk_bus's timeouts follow the library's rule:
 * 0 = do not wait (a call is sent, marked "no reply expected", and the
 * result is -EAGAIN: its reply cannot be there yet), -1 = forever, and
 * IPK_BUS_DEFAULT_TIMEOUT is sd-bus's 25 s. The peer is the private
 * dbus-daemon itself (org.freedesktop.DBus): it answers every call, but
 * never before the call has gone out.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "busd.h"

#define DBUS_NAME "org.freedesktop.DBus"
#define DBUS_PATH "/org/freedesktop/DBus"

static struct busd busd;

static int64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * IPK_SEC + ts.tv_nsec;
}

/* org.freedesktop.DBus.GetId with @timeout_ns: 0 and the bus id, or -errno. */
static int get_id(ipk_bus *b, int64_t timeout_ns, struct ipk_bus_error *e)
{
	ipk_bus_msg *rep = NULL;
	const char *id = NULL;
	int r;

	r = ipk_bus_call(b, DBUS_NAME, DBUS_PATH, DBUS_NAME, "GetId", timeout_ns, e, &rep, "");
	if (r < 0)
		return r;
	T_EQ(ipk_bus_msg_read(rep, "s", &id), 1);
	T_TRUE(strlen(id) == 32);
	ipk_bus_msg_free(rep);
	return 0;
}

int main(void)
{
	struct ipk_bus_error e;
	ipk_bus_msg *rep = NULL, *call = NULL;
	ipk_bus *b;
	char name[64];
	int64_t t0;
	int has = 0, r;

	signal(SIGPIPE, SIG_IGN);
	busd_start(&busd);
	T_OK(ipk_bus_open(busd.addr, &b));

	/* 0: the call goes out, nobody waits for its reply */
	memset(&e, 'x', sizeof(e));
	t0 = mono_ns();
	T_EQ(get_id(b, 0, &e), -EAGAIN);
	T_TRUE(mono_ns() - t0 < IPK_SEC);
	T_EQ(e.name[0], '\0'); /* no D-Bus error: none came back */
	T_EQ(ipk_bus_get_property(b, DBUS_NAME, DBUS_PATH, DBUS_NAME, "Features", 0, &e, &rep,
				  "as"),
	     -EAGAIN);
	T_TRUE(rep == NULL);
	T_EQ(ipk_bus_set_property(b, DBUS_NAME, DBUS_PATH, DBUS_NAME, "Features", 0, &e, "as", 0),
	     -EAGAIN);
	T_OK(ipk_bus_new_call(b, DBUS_NAME, DBUS_PATH, DBUS_NAME, "GetId", &call));
	T_EQ(ipk_bus_call_msg(b, call, 0, &e, &rep), -EAGAIN);
	T_TRUE(rep == NULL);
	ipk_bus_msg_free(call);

	/* a call not waited for still runs: the daemon gives us the name */
	snprintf(name, sizeof(name), "org.ipckit.TimeoutTest.P%d", (int)getpid());
	T_EQ(ipk_bus_call(b, DBUS_NAME, DBUS_PATH, DBUS_NAME, "RequestName", 0, &e, NULL, "su",
			  name, 0u),
	     -EAGAIN);
	T_OK(ipk_bus_call(b, DBUS_NAME, DBUS_PATH, DBUS_NAME, "NameHasOwner", IPK_SEC, &e, &rep,
			  "s", name));
	T_EQ(ipk_bus_msg_read(rep, "b", &has), 1);
	T_EQ(has, 1);
	ipk_bus_msg_free(rep);
	rep = NULL;
	/* and no reply comes later: nothing is left to process */
	do
		r = ipk_bus_process(b);
	while (r > 0);
	T_EQ(r, 0);

	/* a limit, forever, and sd-bus's default all wait for the reply */
	T_OK(get_id(b, IPK_SEC, &e));
	T_OK(get_id(b, IPK_FOREVER, &e));
	T_OK(get_id(b, IPK_BUS_DEFAULT_TIMEOUT, &e));
	T_EQ(IPK_BUS_DEFAULT_TIMEOUT, 25 * IPK_SEC);

	/* running the bus: 0 looks once, a limit ends in -ETIMEDOUT */
	T_EQ(ipk_bus_run_once(b, 0), -EAGAIN);
	T_EQ(ipk_bus_run_once(b, 20 * IPK_MSEC), -ETIMEDOUT);

	ipk_bus_close(b);
	busd_stop(&busd);
	printf("ok: timeout 0 does not wait for a reply (-EAGAIN)\n");
	return 0;
}
