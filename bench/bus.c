/* SPDX-License-Identifier: MIT */
/*
 * bench/bus.c - the bus module's rows (bus.h): D-Bus through a private
 * dbus-daemon that the row starts in .prepare and kills (by its pid) in
 * .destroy, so no run ever touches the host's buses.
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
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <ipckit/bus.h>

#include "bench.h"

#define IFACE "org.ipckit.Bench1"
#define OBJ "/org/ipckit/bench"
#define SYNC_EVERY 64
#define DBUS_ARRAY_MAX (64u << 20)

enum { ROW_CALL, ROW_SIGNAL };

struct bus_shared {
	pid_t daemon;
	char dir[128];
	char addr[256];
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

static const char conf_fmt[] =
	"<!DOCTYPE busconfig PUBLIC \"-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN\"\n"
	" \"http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd\">\n"
	"<busconfig>\n"
	"  <type>session</type>\n"
	"  <listen>unix:path=%s/bus</listen>\n"
	"  <auth>EXTERNAL</auth>\n"
	"  <limit name=\"max_message_size\">134217728</limit>\n"
	"  <policy context=\"default\">\n"
	"    <allow user=\"*\"/>\n"
	"    <allow own=\"*\"/>\n"
	"    <allow send_destination=\"*\" eavesdrop=\"true\"/>\n"
	"    <allow eavesdrop=\"true\"/>\n"
	"  </policy>\n"
	"</busconfig>\n";

static int find_daemon(char *path, size_t len)
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

static int bus_check(const struct bench_env *env)
{
	char path[4096];
	ipk_bus *b = NULL;

	if (ipk_bus_open("unix:path=/nonexistent/ipk", &b) == -EOPNOTSUPP)
		return bench_na(env, "built without libsystemd (sd-bus)");
	ipk_bus_close(b);
	if (find_daemon(path, sizeof(path)) < 0)
		return bench_na(env, "dbus-daemon not found (Debian package dbus-daemon)");
	if (env->size > DBUS_ARRAY_MAX)
		return bench_na(env, "D-Bus arrays hold at most 64 MiB");
	return 0;
}

static void rm_dir(const struct bus_shared *sh)
{
	char p[192];

	snprintf(p, sizeof(p), "%s/bus.conf", sh->dir);
	unlink(p);
	snprintf(p, sizeof(p), "%s/bus", sh->dir);
	unlink(p);
	rmdir(sh->dir);
}

static void bus_destroy(const struct bench_env *env, void *shared)
{
	struct bus_shared *sh = shared;

	(void)env;
	if (!sh)
		return;
	if (sh->daemon > 0) {
		kill(sh->daemon, SIGTERM);
		while (waitpid(sh->daemon, NULL, 0) < 0 && errno == EINTR)
			;
	}
	rm_dir(sh);
	free(sh);
}

/* Starts dbus-daemon --nofork on a private socket; its address arrives on
 * a pipe. */
static int bus_prepare(const struct bench_env *env, void **shared)
{
	struct bus_shared *sh;
	char exe[4096], conf[192], cfgarg[224], line[256];
	size_t got = 0;
	int pfd[2], r;
	FILE *f;

	if (find_daemon(exe, sizeof(exe)) < 0)
		return bench_na(env, "dbus-daemon not found (Debian package dbus-daemon)");
	sh = calloc(1, sizeof(*sh));
	if (!sh)
		return -ENOMEM;
	snprintf(sh->dir, sizeof(sh->dir), "/tmp/%s-bus", env->tag);
	snprintf(sh->name, sizeof(sh->name), "org.ipckit.bench.%s", env->tag);
	if (mkdir(sh->dir, 0700) < 0) {
		r = bench_neg_errno();
		free(sh);
		return r;
	}
	snprintf(conf, sizeof(conf), "%s/bus.conf", sh->dir);
	f = fopen(conf, "we");
	if (!f) {
		r = bench_neg_errno();
		goto fail;
	}
	fprintf(f, conf_fmt, sh->dir);
	if (fclose(f) != 0) {
		r = bench_neg_errno();
		goto fail;
	}
	snprintf(cfgarg, sizeof(cfgarg), "--config-file=%s", conf);
	if (pipe2(pfd, O_CLOEXEC) < 0) {
		r = bench_neg_errno();
		goto fail;
	}
	sh->daemon = fork();
	if (sh->daemon < 0) {
		r = bench_neg_errno();
		close(pfd[0]);
		close(pfd[1]);
		goto fail;
	}
	if (sh->daemon == 0) {
		int devnull = open("/dev/null", O_WRONLY);

		prctl(PR_SET_PDEATHSIG, SIGTERM);
		bench_child_sigmask();
		dup2(pfd[1], 3);
		if (devnull >= 0)
			dup2(devnull, 2); /* its warnings (fd limits) are not ours */
		execl(exe, "dbus-daemon", cfgarg, "--nofork", "--nopidfile", "--print-address=3",
		      (char *)NULL);
		_exit(127);
	}
	close(pfd[1]);
	for (;;) {
		ssize_t n;

		r = bench_prep_wait(env, pfd[0], POLLIN, bench_deadline(5 * 1000000000LL));
		if (r == -EINTR) {
			close(pfd[0]);
			bus_destroy(env, sh); /* ends the daemon, removes the directory */
			return r;
		}
		if (r < 0)
			break;
		n = read(pfd[0], line + got, sizeof(line) - 1 - got);
		if (n <= 0)
			break;
		got += (size_t)n;
		if (memchr(line, '\n', got) || got == sizeof(line) - 1)
			break;
	}
	close(pfd[0]);
	line[got] = '\0';
	if (!strchr(line, '\n')) {
		bus_destroy(env, sh);
		return -ECONNREFUSED; /* the daemon did not come up */
	}
	*strchr(line, '\n') = '\0';
	snprintf(sh->addr, sizeof(sh->addr), "%s", line);
	*shared = sh;
	return 0;
fail:
	rm_dir(sh);
	free(sh);
	return r;
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
	r = ipk_bus_open(sh->addr, &e->bus);
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
