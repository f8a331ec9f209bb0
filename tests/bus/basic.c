/* SPDX-License-Identifier: MIT */
/*
 * tests/bus/basic.c - ipk_bus against a private dbus-daemon: a service
 * process (served from an ipk_loop through ipk_bus_attach()) and a client
 * process. Methods, signals, properties and PropertiesChanged, fds (type
 * 'h') both ways, and every error ipk_bus(3) names: wrong signature
 * (InvalidArgs), unknown method (UnknownMethod) and property
 * (UnknownProperty), read-only property (PropertyReadOnly), a handler's
 * own D-Bus error, a timeout, a client killed mid-call (the service keeps
 * serving), and a bus that goes away (a clear error, no hang).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/mman.h>

#include "busd.h"

#define IFACE "org.ipckit.Test1"
#define PATH "/org/ipckit/test"

static char svc_name[64];
static struct busd busd;

struct svc {
	ipk_bus *b;
	ipk_loop *l;
	uint32_t rate;
	int dead; /* the bus went away */
};

static int m_echo(ipk_bus_msg *call, ipk_bus_msg *reply, void *arg, struct ipk_bus_error *err)
{
	const char *s;
	int r;

	(void)arg;
	(void)err;
	r = ipk_bus_msg_read(call, "s", &s);
	return r < 0 ? r : ipk_bus_msg_append(reply, "s", s);
}

static int m_fail(ipk_bus_msg *call, ipk_bus_msg *reply, void *arg, struct ipk_bus_error *err)
{
	(void)call;
	(void)reply;
	(void)arg;
	snprintf(err->name, sizeof(err->name), "org.ipckit.Test.Error.Nope");
	snprintf(err->message, sizeof(err->message), "no, not today");
	return -EPERM;
}

static int m_slow(ipk_bus_msg *call, ipk_bus_msg *reply, void *arg, struct ipk_bus_error *err)
{
	uint32_t ms;
	struct timespec ts;
	int r;

	(void)arg;
	(void)err;
	r = ipk_bus_msg_read(call, "u", &ms);
	if (r < 0)
		return r;
	ts.tv_sec = ms / 1000;
	ts.tv_nsec = (long)(ms % 1000) * 1000000;
	nanosleep(&ts, NULL);
	return ipk_bus_msg_append(reply, "u", ms);
}

/* Reads the text behind the fd it gets, returns it and a new memfd that
 * holds "from-service". */
static int m_fd(ipk_bus_msg *call, ipk_bus_msg *reply, void *arg, struct ipk_bus_error *err)
{
	char buf[64] = "";
	ssize_t n;
	int fd, mfd, r;

	(void)arg;
	(void)err;
	r = ipk_bus_msg_read_fd(call, &fd);
	if (r < 0)
		return r;
	n = pread(fd, buf, sizeof(buf) - 1, 0);
	close(fd);
	if (n < 0)
		return -errno;
	buf[n] = '\0';
	mfd = memfd_create("svc", MFD_CLOEXEC);
	if (mfd < 0 || write(mfd, "from-service", 12) != 12)
		return -EIO;
	r = ipk_bus_msg_append(reply, "sh", buf, mfd);
	close(mfd);
	return r;
}

static int m_tick(ipk_bus_msg *call, ipk_bus_msg *reply, void *arg, struct ipk_bus_error *err)
{
	struct svc *s = arg;
	uint32_t v;
	int r;

	(void)reply;
	(void)err;
	r = ipk_bus_msg_read(call, "u", &v);
	if (r < 0)
		return r;
	return ipk_bus_emit(s->b, PATH, IFACE, "Tick", "u", v);
}

static int m_quit(ipk_bus_msg *call, ipk_bus_msg *reply, void *arg, struct ipk_bus_error *err)
{
	struct svc *s = arg;

	(void)call;
	(void)reply;
	(void)err;
	ipk_loop_stop(s->l);
	return 0;
}

static int p_get(ipk_bus_msg *reply, const char *prop, void *arg, struct ipk_bus_error *err)
{
	struct svc *s = arg;

	(void)err;
	if (!strcmp(prop, "Rate"))
		return ipk_bus_msg_append(reply, "u", s->rate);
	return ipk_bus_msg_append(reply, "s", "test-service");
}

static int p_set(ipk_bus_msg *value, const char *prop, void *arg, struct ipk_bus_error *err)
{
	struct svc *s = arg;
	uint32_t v;
	int r;

	(void)prop;
	r = ipk_bus_msg_read(value, "u", &v);
	if (r < 0)
		return r;
	if (v == 0 || v > 1000) {
		snprintf(err->name, sizeof(err->name), "org.freedesktop.DBus.Error.InvalidArgs");
		snprintf(err->message, sizeof(err->message), "Rate must be 1..1000");
		return -EINVAL;
	}
	s->rate = v;
	return ipk_bus_emit_changed(s->b, PATH, IFACE, "Rate");
}

static const struct ipk_bus_method methods[] = {
	{ "Echo", "s", "s", m_echo, "text\0echo\0" },
	{ "Fail", "", "", m_fail, NULL },
	{ "Slow", "u", "u", m_slow, "ms\0ms\0" },
	{ "SwapFd", "h", "sh", m_fd, "in\0text\0out\0" },
	{ "EmitTick", "u", "", m_tick, "value\0" },
	{ "Quit", "", "", m_quit, NULL },
	{ NULL, NULL, NULL, NULL, NULL },
};

static const struct ipk_bus_signal signals[] = {
	{ "Tick", "u", "value\0" },
	{ NULL, NULL, NULL },
};

static const struct ipk_bus_property props[] = {
	{ "Rate", "u", p_get, p_set, IPK_BUS_PROP_EMITS_CHANGE },
	{ "Name", "s", p_get, NULL, IPK_BUS_PROP_CONST },
	{ NULL, NULL, NULL, NULL, 0 },
};

static const struct ipk_bus_interface iface = { IFACE, methods, signals, props };

/* Polls the bus from a timer: once it is gone, stop (exit 3). */
static void watch(ipk_loop *l, ipk_loop_timer *t, uint64_t exp, void *arg)
{
	struct svc *s = arg;

	(void)t;
	(void)exp;
	if (ipk_bus_process(s->b) < 0) {
		s->dead = 1;
		ipk_loop_stop(l);
	}
}

static int service(void *arg)
{
	struct svc s = { .rate = 10 };
	int ready = *(int *)arg;

	T_OK(ipk_bus_open(busd.addr, &s.b));
	T_OK(ipk_bus_request_name(s.b, svc_name, 0));
	T_OK(ipk_bus_export(s.b, PATH, &iface, &s, NULL));
	T_OK(ipk_loop_new(&s.l));
	T_OK(ipk_bus_attach(s.b, s.l));
	T_EQ(ipk_bus_attach(s.b, s.l), -EBUSY);
	T_OK(ipk_loop_timer_every(s.l, 50 * IPK_MSEC, watch, &s, NULL));
	T_EQ(write(ready, "R", 1), 1);
	close(ready);
	T_OK(ipk_loop_run(s.l));
	ipk_bus_detach(s.b);
	ipk_loop_free(s.l);
	ipk_bus_close(s.b);
	return s.dead ? 3 : 0;
}

struct seen {
	uint32_t tick;
	uint32_t changed_rate;
	int ticks, changes;
};

static int on_tick(ipk_bus_msg *m, void *arg)
{
	struct seen *s = arg;

	s->ticks++;
	return ipk_bus_msg_read(m, "u", &s->tick);
}

/* PropertiesChanged: (s iface, a{sv} changed, as invalidated) */
static int on_changed(ipk_bus_msg *m, void *arg)
{
	struct seen *s = arg;
	const char *ifc, *name;
	uint32_t v;

	if (ipk_bus_msg_read(m, "s", &ifc) <= 0 || strcmp(ifc, IFACE) != 0)
		return 0;
	if (ipk_bus_msg_read(m, "a{sv}", 1, &name, "u", &v) > 0 && !strcmp(name, "Rate")) {
		s->changed_rate = v;
		s->changes++;
	}
	return 0;
}

static int killed_client(void *arg)
{
	ipk_bus *b;

	(void)arg;
	if (ipk_bus_open(busd.addr, &b) < 0)
		return 1;
	/* the parent kills us while the service sleeps in Slow */
	(void)ipk_bus_call(b, svc_name, PATH, IFACE, "Slow", -1, NULL, NULL, "u", 400);
	return 2;
}

static int64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * IPK_SEC + ts.tv_nsec;
}

int main(void)
{
	struct ipk_bus_error e;
	struct seen seen = { 0 };
	ipk_bus_msg *rep = NULL;
	ipk_bus *b;
	const char *s;
	uint32_t u;
	int pfd[2], fd, r;
	char c, buf[64];
	pid_t svc, kc;
	int64_t t0;

	signal(SIGPIPE, SIG_IGN);
	busd_start(&busd);
	snprintf(svc_name, sizeof(svc_name), "org.ipckit.Test.P%d", (int)getpid());
	T_SYS(pipe(pfd));
	svc = t_fork(service, &pfd[1]);
	close(pfd[1]);
	T_EQ(read(pfd[0], &c, 1), 1);
	close(pfd[0]);

	T_OK(ipk_bus_open(busd.addr, &b));
	T_TRUE(ipk_bus_unique_name(b) && ipk_bus_unique_name(b)[0] == ':');
	{
		uint32_t ev = 0;
		int64_t dl = 0;

		T_TRUE(ipk_bus_fd(b) >= 0);
		T_OK(ipk_bus_events(b, &ev));
		T_TRUE(ev & IPK_LOOP_IN);
		T_OK(ipk_bus_deadline(b, &dl));
		T_EQ(dl, INT64_MAX); /* nothing pending */
	}
	/* the name is taken */
	T_EQ(ipk_bus_request_name(b, svc_name, 0), -EEXIST);

	/* a method call */
	T_OK(ipk_bus_call(b, svc_name, PATH, IFACE, "Echo", IPK_SEC, &e, &rep, "s", "hello"));
	T_EQ(ipk_bus_msg_read(rep, "s", &s), 1);
	T_TRUE(!strcmp(s, "hello"));
	T_TRUE(!strcmp(ipk_bus_msg_signature(rep), "s"));
	ipk_bus_msg_free(rep);

	/* bad input: sd-bus answers from the description */
	r = ipk_bus_call(b, svc_name, PATH, IFACE, "Echo", IPK_SEC, &e, NULL, "u", 7);
	T_EQ(r, -EINVAL);
	T_TRUE(!strcmp(e.name, "org.freedesktop.DBus.Error.InvalidArgs"));
	r = ipk_bus_call(b, svc_name, PATH, IFACE, "Nope", IPK_SEC, &e, NULL, "");
	T_EQ(r, -EBADR);
	T_TRUE(!strcmp(e.name, "org.freedesktop.DBus.Error.UnknownMethod"));
	r = ipk_bus_get_property(b, svc_name, PATH, IFACE, "Nope", IPK_SEC, &e, &rep, "u");
	T_EQ(r, -EBADR);
	T_TRUE(!strcmp(e.name, "org.freedesktop.DBus.Error.UnknownProperty"));
	r = ipk_bus_set_property(b, svc_name, PATH, IFACE, "Name", IPK_SEC, &e, "s", "x");
	T_EQ(r, -EROFS);
	T_TRUE(!strcmp(e.name, "org.freedesktop.DBus.Error.PropertyReadOnly"));
	/* a property of the wrong type on Set */
	r = ipk_bus_set_property(b, svc_name, PATH, IFACE, "Rate", IPK_SEC, &e, "s", "x");
	T_EQ(r, -EINVAL);
	T_TRUE(!strcmp(e.name, "org.freedesktop.DBus.Error.InvalidArgs"));
	/* the handler's own error, name and message */
	r = ipk_bus_call(b, svc_name, PATH, IFACE, "Fail", IPK_SEC, &e, NULL, "");
	T_TRUE(r < 0);
	T_TRUE(!strcmp(e.name, "org.ipckit.Test.Error.Nope"));
	T_TRUE(!strcmp(e.message, "no, not today"));
	/* nobody there */
	r = ipk_bus_call(b, "org.ipckit.Nobody.Here", PATH, IFACE, "Echo", IPK_SEC, &e, NULL, "s",
			 "x");
	T_EQ(r, -EHOSTUNREACH);
	T_TRUE(!strcmp(e.name, "org.freedesktop.DBus.Error.ServiceUnknown"));

	/* properties, and PropertiesChanged seen through a match */
	T_OK(ipk_bus_match(b, svc_name, PATH, "org.freedesktop.DBus.Properties",
			   "PropertiesChanged", on_changed, &seen, NULL));
	T_OK(ipk_bus_get_property(b, svc_name, PATH, IFACE, "Rate", IPK_SEC, &e, &rep, "u"));
	T_EQ(ipk_bus_msg_read(rep, "u", &u), 1);
	T_EQ(u, 10);
	ipk_bus_msg_free(rep);
	T_EQ(ipk_bus_get_property(b, svc_name, PATH, IFACE, "Rate", IPK_SEC, &e, &rep, "s"),
	     -ENXIO);
	T_OK(ipk_bus_set_property(b, svc_name, PATH, IFACE, "Rate", IPK_SEC, &e, "u", 25));
	r = ipk_bus_set_property(b, svc_name, PATH, IFACE, "Rate", IPK_SEC, &e, "u", 0);
	T_EQ(r, -EINVAL);
	T_TRUE(!strcmp(e.message, "Rate must be 1..1000"));
	T_OK(ipk_bus_get_property(b, svc_name, PATH, IFACE, "Rate", IPK_SEC, &e, &rep, "u"));
	T_EQ(ipk_bus_msg_read(rep, "u", &u), 1);
	T_EQ(u, 25);
	ipk_bus_msg_free(rep);
	t0 = mono_ns();
	while (seen.changes == 0 && mono_ns() - t0 < 5 * IPK_SEC)
		(void)ipk_bus_run_once(b, 100 * IPK_MSEC);
	T_EQ(seen.changes, 1);
	T_EQ(seen.changed_rate, 25);

	/* a signal */
	T_OK(ipk_bus_match(b, svc_name, PATH, IFACE, "Tick", on_tick, &seen, NULL));
	T_OK(ipk_bus_call(b, svc_name, PATH, IFACE, "EmitTick", IPK_SEC, &e, NULL, "u", 4242));
	t0 = mono_ns();
	while (seen.ticks == 0 && mono_ns() - t0 < 5 * IPK_SEC)
		(void)ipk_bus_run_once(b, 100 * IPK_MSEC);
	T_EQ(seen.ticks, 1);
	T_EQ(seen.tick, 4242);
	T_EQ(ipk_bus_run_once(b, 0), -EAGAIN);
	T_EQ(ipk_bus_run_once(b, 20 * IPK_MSEC), -ETIMEDOUT);

	/* fds both ways */
	fd = memfd_create("client", MFD_CLOEXEC);
	T_SYS(fd);
	T_EQ(write(fd, "from-client", 11), 11);
	T_OK(ipk_bus_call(b, svc_name, PATH, IFACE, "SwapFd", IPK_SEC, &e, &rep, "h", fd));
	close(fd);
	T_EQ(ipk_bus_msg_read(rep, "s", &s), 1);
	T_TRUE(!strcmp(s, "from-client"));
	T_OK(ipk_bus_msg_read_fd(rep, &fd));
	ipk_bus_msg_free(rep);
	T_TRUE(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	memset(buf, 0, sizeof(buf));
	T_EQ(pread(fd, buf, sizeof(buf), 0), 12);
	T_TRUE(!strcmp(buf, "from-service"));
	close(fd);

	/* a timeout */
	t0 = mono_ns();
	T_EQ(ipk_bus_call(b, svc_name, PATH, IFACE, "Slow", 100 * IPK_MSEC, &e, NULL, "u", 400),
	     -ETIMEDOUT);
	T_TRUE(mono_ns() - t0 < 2 * IPK_SEC);

	/* a client killed mid-call: the service replies into the void and
	 * goes on serving */
	kc = t_fork(killed_client, NULL);
	usleep(150 * 1000);
	T_SYS(kill(kc, SIGKILL));
	T_SYS(waitpid(kc, NULL, 0));
	T_OK(ipk_bus_call(b, svc_name, PATH, IFACE, "Echo", 5 * IPK_SEC, &e, &rep, "s", "still"));
	T_EQ(ipk_bus_msg_read(rep, "s", &s), 1);
	T_TRUE(!strcmp(s, "still"));
	ipk_bus_msg_free(rep);

	/* the bus goes away: a call waiting forever fails at once, and the
	 * service notices */
	busd_stop(&busd);
	t0 = mono_ns();
	r = ipk_bus_call(b, svc_name, PATH, IFACE, "Echo", -1, &e, NULL, "s", "gone");
	T_TRUE(r == -ECONNRESET || r == -ENOTCONN);
	T_TRUE(mono_ns() - t0 < 2 * IPK_SEC);
	r = ipk_bus_process(b);
	T_TRUE(r == -ECONNRESET || r == -ENOTCONN);
	t_wait_exit(svc, 3);
	ipk_bus_close(b);
	/* and connecting to it now is refused */
	T_TRUE(ipk_bus_open(busd.addr, &b) < 0);
	return 0;
}
