/* SPDX-License-Identifier: MIT */
/*
 * bench/bus.c - the bus module's rows (bus.h): D-Bus through a private
 * dbus-daemon (bench/busd.h) that the row starts in .prepare and kills (by
 * its pid) in .destroy, so no run ever touches the host's buses.
 *
 *   dbus-call    round trip: side A calls Echo(ay) on side B's object and
 *                waits for the reply; B's handler answers with the same
 *                bytes. Two hops through the daemon each way.
 *   dbus-signal  one-way: A emits the signal Data(ay), B receives it
 *                through a match rule. Signals have no flow control, so
 *                every 64 signals A makes a Sync call that B answers
 *                after all earlier signals (the daemon keeps their order):
 *                the stream never outruns the daemon's queues. B's
 *                acknowledgement of a round is the signal Ack(ay).
 *
 * Without dbus-daemon, or in a build without libsystemd, both rows are
 * n/a with the reason. D-Bus arrays end at 64 MiB: larger sizes are n/a.
 * No raw twin: a D-Bus client without a library is not a raw syscall loop.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ipckit/bus.h>

#include "bench.h"
#include "busd.h"

#define IFACE "org.ipckit.Bench1"
#define OBJ "/org/ipckit/bench"
#define SYNC_EVERY 64
#define DBUS_ARRAY_MAX (64u << 20)

enum { ROW_CALL, ROW_SIGNAL };

struct bus_shared {
	struct busd daemon;
	char name[128]; /* side B's well-known name */
};

struct bus_end {
	const struct bus_shared *sh;
	ipk_bus *bus;
	enum bench_side side;
	int row; /* ROW_CALL or ROW_SIGNAL */
	int64_t timeout_ns;
	size_t size;
	/* side A: the reply of the last call */
	ipk_bus_msg *reply;
	unsigned long sent;
	/* side B: what the handlers saw */
	void *rbuf;        /* where recv wants the bytes */
	unsigned long got; /* messages arrived and not yet taken by recv */
	int bad;           /* a message of the wrong size (-EPROTO) */
};

static int bus_check(const struct bench_env *env)
{
	char path[4096];
	ipk_bus *b = NULL;

	if (ipk_bus_open("unix:path=/nonexistent/ipk", &b) == -EOPNOTSUPP)
		return bench_na(env, "built without libsystemd (sd-bus)");
	ipk_bus_close(b);
	if (busd_find(path, sizeof(path)) < 0)
		return bench_na(env, "dbus-daemon not found (Debian package dbus-daemon)");
	if (env->size > DBUS_ARRAY_MAX)
		return bench_na(env, "D-Bus arrays hold at most 64 MiB");
	return 0;
}

static void bus_destroy(const struct bench_env *env, void *shared)
{
	struct bus_shared *sh = shared;

	(void)env;
	if (!sh)
		return;
	busd_end(&sh->daemon); /* ends exactly our daemon, removes its directory */
	free(sh);
}

/* A private dbus-daemon (bench/busd.h) that accepts messages of up to
 * 128 MiB; its address arrives on a pipe, waited for in bench_prep_wait(). */
static int bus_prepare(const struct bench_env *env, void **shared)
{
	static const char limits[] = "  <limit name=\"max_message_size\">134217728</limit>\n";
	struct bus_shared *sh;
	char dir[128];
	int64_t deadline;
	int r;

	sh = calloc(1, sizeof(*sh));
	if (!sh)
		return -ENOMEM;
	snprintf(dir, sizeof(dir), "/tmp/%s-bus", env->tag);
	snprintf(sh->name, sizeof(sh->name), "org.ipckit.bench.%s", env->tag);
	r = busd_spawn(&sh->daemon, dir, 0700, limits, true, bench_child_sigmask);
	if (r == -ENOENT) {
		free(sh);
		return bench_na(env, "dbus-daemon not found (Debian package dbus-daemon)");
	}
	if (r < 0) {
		free(sh);
		return r;
	}
	deadline = bench_deadline(5 * 1000000000LL);
	do {
		r = bench_prep_wait(env, sh->daemon.addr_fd, POLLIN, deadline);
		if (r == -EINTR) {
			bus_destroy(env, sh); /* ends the daemon, removes the directory */
			return r;
		}
		if (r >= 0)
			r = busd_address(&sh->daemon);
	} while (r == 0);
	if (r < 0) {
		bus_destroy(env, sh);
		return -ECONNREFUSED; /* the daemon did not come up */
	}
	*shared = sh;
	return 0;
}

/* side B's handlers */

static int take(struct bus_end *e, ipk_bus_msg *m, const void **p)
{
	size_t n = 0;

	if (ipk_bus_msg_read_bytes(m, p, &n) < 0 || n != e->size) {
		e->bad = 1;
		return -EPROTO;
	}
	if (e->rbuf)
		memcpy(e->rbuf, *p, n);
	e->got++;
	return 0;
}

static int m_echo(ipk_bus_msg *call, ipk_bus_msg *reply, void *arg, struct ipk_bus_error *err)
{
	struct bus_end *e = arg;
	const void *p;
	int r;

	(void)err;
	r = take(e, call, &p);
	return r < 0 ? r : ipk_bus_msg_append_bytes(reply, p, e->size);
}

static int m_sync(ipk_bus_msg *call, ipk_bus_msg *reply, void *arg, struct ipk_bus_error *err)
{
	(void)call;
	(void)reply;
	(void)arg;
	(void)err;
	return 0;
}

static int on_data(ipk_bus_msg *m, void *arg)
{
	const void *p;

	return take(arg, m, &p);
}

static const struct ipk_bus_method methods[] = {
	{ "Echo", "ay", "ay", m_echo, NULL },
	{ "Sync", "", "", m_sync, NULL },
	{ NULL, NULL, NULL, NULL, NULL },
};

static const struct ipk_bus_signal signals[] = {
	{ "Data", "ay", NULL },
	{ "Ack", "ay", NULL },
	{ NULL, NULL, NULL },
};

static const struct ipk_bus_interface bench_iface = { IFACE, methods, signals, NULL };

static void bus_close(void *end, enum bench_side side)
{
	struct bus_end *e = end;

	(void)side;
	if (!e)
		return;
	ipk_bus_msg_free(e->reply);
	ipk_bus_close(e->bus);
	free(e);
}

static int bus_open(const struct bench_env *env, void *shared, enum bench_side side, void **end)
{
	const struct bus_shared *sh = shared;
	struct bus_end *e = calloc(1, sizeof(*e));
	int r;

	if (!e)
		return -ENOMEM;
	e->sh = sh;
	e->side = side;
	e->row = (int)(intptr_t)env->mech->arg;
	e->size = env->size;
	e->timeout_ns = env->timeout_ns;
	r = ipk_bus_open(sh->daemon.addr, &e->bus);
	if (r == 0 && side == BENCH_B) {
		r = ipk_bus_export(e->bus, OBJ, &bench_iface, e, NULL);
		if (r == 0 && e->row == ROW_SIGNAL)
			r = ipk_bus_match(e->bus, NULL, OBJ, IFACE, "Data", on_data, e, NULL);
		if (r == 0)
			r = ipk_bus_request_name(e->bus, sh->name, 0);
	} else if (r == 0) {
		/* the round's acknowledgement */
		if (e->row == ROW_SIGNAL)
			r = ipk_bus_match(e->bus, NULL, OBJ, IFACE, "Ack", on_data, e, NULL);
	}
	if (r == 0 && side == BENCH_A) {
		/* B may still be starting: wait until it owns its name (its
		 * last step), asking the daemon, not B */
		int64_t deadline = bench_deadline(env->timeout_ns);

		for (;;) {
			ipk_bus_msg *rep = NULL;
			int has = 0;

			r = ipk_bus_call(e->bus, "org.freedesktop.DBus", "/org/freedesktop/DBus",
					 "org.freedesktop.DBus", "NameHasOwner", env->timeout_ns,
					 NULL, &rep, "s", sh->name);
			if (r == 0 && ipk_bus_msg_read(rep, "b", &has) < 0)
				r = -EPROTO;
			ipk_bus_msg_free(rep);
			if (r < 0 || has)
				break;
			if (bench_now_ns() > deadline) {
				r = -ETIMEDOUT;
				break;
			}
			usleep(1000);
		}
	}
	if (r < 0) {
		bus_close(e, side);
		return r;
	}
	*end = e;
	return 0;
}

static int call_send(void *end, const void *buf, size_t len)
{
	struct bus_end *e = end;
	ipk_bus_msg *m = NULL;
	int r;

	ipk_bus_msg_free(e->reply);
	e->reply = NULL;
	r = ipk_bus_new_call(e->bus, e->sh->name, OBJ, IFACE, "Echo", &m);
	if (r == 0)
		r = ipk_bus_msg_append_bytes(m, buf, len);
	if (r == 0)
		r = ipk_bus_call_msg(e->bus, m, e->timeout_ns, NULL, &e->reply);
	ipk_bus_msg_free(m);
	return r;
}

/* side A: the reply; side B: wait until the handler saw a message */
static int bus_recv(void *end, void *buf, size_t len)
{
	struct bus_end *e = end;

	if (e->side == BENCH_A && e->row == ROW_CALL) {
		const void *p;
		size_t n = 0;

		if (!e->reply || ipk_bus_msg_read_bytes(e->reply, &p, &n) < 0 || n != len)
			return -EPROTO;
		memcpy(buf, p, n);
		ipk_bus_msg_free(e->reply);
		e->reply = NULL;
		return 0;
	}
	e->rbuf = buf;
	while (!e->got && !e->bad) {
		int r = ipk_bus_run_once(e->bus, e->timeout_ns);

		if (r < 0) {
			e->rbuf = NULL;
			return r;
		}
	}
	e->rbuf = NULL;
	if (e->bad)
		return -EPROTO;
	e->got--;
	return 0;
}

/* side B of a round trip: the handler has answered already */
static int call_send_b(void *end, const void *buf, size_t len)
{
	(void)buf;
	(void)len;
	return ((struct bus_end *)end)->bus ? 0 : -EBADF;
}

static int row_send(void *end, const void *buf, size_t len)
{
	struct bus_end *e = end;

	return e->side == BENCH_A ? call_send(end, buf, len) : call_send_b(end, buf, len);
}

static int signal_send(void *end, const void *buf, size_t len)
{
	struct bus_end *e = end;
	ipk_bus_msg *m = NULL;
	int r;

	r = ipk_bus_new_signal(e->bus, OBJ, IFACE, e->side == BENCH_A ? "Data" : "Ack", &m);
	if (r == 0)
		r = ipk_bus_msg_append_bytes(m, buf, len);
	if (r == 0)
		r = ipk_bus_send(e->bus, m);
	ipk_bus_msg_free(m);
	if (r == 0 && e->side == BENCH_A && ++e->sent % SYNC_EVERY == 0)
		r = ipk_bus_call(e->bus, e->sh->name, OBJ, IFACE, "Sync", e->timeout_ns, NULL, NULL,
				 "");
	return r < 0 ? r : ipk_bus_flush(e->bus);
}

static const struct bench_ops call_ops = {
	.check = bus_check,
	.prepare = bus_prepare,
	.open = bus_open,
	.send = row_send,
	.recv = bus_recv,
	.close = bus_close,
	.destroy = bus_destroy,
};

static const struct bench_ops signal_ops = {
	.check = bus_check,
	.prepare = bus_prepare,
	.open = bus_open,
	.send = signal_send,
	.recv = bus_recv,
	.close = bus_close,
	.destroy = bus_destroy,
};

static const struct bench_mech mechs[] = {
	{ .name = "dbus-call",
	  .kinds = BENCH_RTT,
	  .desc = "D-Bus method call Echo(ay) through a private dbus-daemon (sd-bus)",
	  .ops = &call_ops,
	  .arg = (const void *)(intptr_t)ROW_CALL },
	{ .name = "dbus-signal",
	  .kinds = BENCH_TPUT,
	  .desc = "D-Bus signal Data(ay) to a match rule, private dbus-daemon (sd-bus)",
	  .ops = &signal_ops,
	  .arg = (const void *)(intptr_t)ROW_SIGNAL },
};
BENCH_DEFINE_MODULE(bus, mechs);
