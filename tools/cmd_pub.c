/* SPDX-License-Identifier: MIT */
/*
 * tools/cmd_pub.c - `ipckit pub URL`: publish each line of standard input,
 * or (--rate) synthetic messages at a steady rate, until EOF, --count or
 * SIGINT/SIGTERM; then close, so subscribers see the end, and say how many
 * were published.
 *
 * With --bus and a dbus:BUSNAME/NAME URL the messages go into a memfd ring
 * that is offered on D-Bus (ipk_bus_ring_offer): the command owns BUSNAME
 * and serves the bus between messages, and `ipckit sub dbus:BUSNAME/NAME`
 * subscribes through it.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

static const char usage[] =
	"Usage: ipckit pub [OPTIONS] URL\n"
	"\n"
	"Publish each line of standard input (without its newline) as one message,\n"
	"or with --rate synthetic messages \"SEQ TIME_NS\" padded to --size bytes\n"
	"(TIME_NS: CLOCK_MONOTONIC when sent). Made for shm:/NAME rings, where this\n"
	"end creates the ring and never waits for subscribers; works on any URL.\n"
	"Stops at end of input, after --count messages or on SIGINT/SIGTERM (also\n"
	"while it waits for a peer, for input or for room in a full queue), removes\n"
	"what it created (unless --keep) and prints the number published on\n"
	"standard error. Before it removes a ring it lingers (see --linger), so that\n"
	"a subscriber that waited for the ring gets every message of a short input.\n"
	"Exit status: 0 done or stopped, 1 failure, 2 usage error.\n"
	"\n"
	"Options:\n"
	"  -R, --rate N       N synthetic messages per second (0: as fast as possible)\n"
	"      --size N       bytes per synthetic message (default 64, at least 32)\n"
	"  -n, --count N      stop after N messages\n"
	"  -l, --listen       create the object or listen (the default)\n"
	"  -c, --connect      open an existing object or connect\n"
	"  -t, --timeout SEC  limit for opening and for each message (default: forever)\n"
	"      --keep         leave the created object behind\n"
	"      --excl         fail if the object already exists\n"
	"      --linger SEC   rings (shm:, dbus: with --bus): after the last message,\n"
	"                     keep the ring (and serve the bus) while subscribers are\n"
	"                     attached (giving one that is about to attach 0.1 s), at\n"
	"                     most SEC seconds (default 1; 0: close at once); a\n"
	"                     subscriber killed with SIGKILL counts as gone\n"
	"      --wait-subscribers N\n"
	"                     rings: publish nothing until N subscribers are attached\n"
	"                     (within --timeout)\n"
	"      --bus          offer a ring on D-Bus: URL is dbus:BUSNAME/NAME[?OPTIONS]\n"
	"                     (options capacity=, msgsize=, bus=session|system);\n"
	"                     this command owns BUSNAME and serves the ring object\n"
	"                     /org/ipckit/ring/NAME; subscribe with ipckit sub URL\n"
	"  -h, --help         show this help\n"
	"\n"
	"Example: ipckit pub 'shm:/quotes?capacity=1048576' --rate 100000 --size 64\n"
	"         ipckit pub --bus dbus:org.example.Quotes/quotes --rate 1000\n";

/* Where messages go: a channel, or (--bus) a ring offered on the bus. */
struct out {
	ipk_chan *ch;
	ipk_ring *ring;
	ipk_bus *bus;
	ipk_bus_ring *offer;
	size_t max;
	unsigned long n;
	unsigned long published;          /* messages that went out */
	const struct cli_chan_opts *opts; /* --bus: for the wait of cli_getline() */
};

/* How often the count of a ring's subscribers is looked at: an attach or
 * a detach makes no event this end could wait on. */
#define SUBS_STEP_NS IPK_MSEC
/* With no subscriber attached, how long a lingering ring waits for one. */
#define LATE_JOIN_NS (100 * IPK_MSEC)

static void pause_step(void)
{
	struct timespec ts = { 0, SUBS_STEP_NS };

	(void)nanosleep(&ts, NULL); /* a stop signal ends it early */
}

/* Answer what the bus has for us (subscribers calling Open). */
static int serve_bus(const struct cli_chan_opts *o, struct out *out)
{
	int r = ipk_bus_process(out->bus);

	return r < 0 ? cli_fail(o->url, r) : CLI_OK;
}

static int publish(const struct cli_chan_opts *o, struct out *out, const void *buf, size_t len)
{
	int r;

	if (out->ring)
		r = ipk_ring_publish(out->ring, buf, len);
	else
		r = cli_send(out->ch, buf, len, false, 0, o->timeout_ns);
	if (r == -EINTR)
		return CLI_OK; /* stopped while the queue was full: not published */
	if (r == -EMSGSIZE) {
		cli_msg("%s: %s (EMSGSIZE): %zu bytes, over the channel's maximum of %zu "
			"(raise it with ?msgsize=)",
			o->url, strerror(EMSGSIZE), len,
			out->ring ? out->max : ipk_chan_max_msg(out->ch));
		return CLI_FAIL;
	}
	if (r < 0)
		return cli_fail_op(o->url, r, IPK_MQ_OP_SEND);
	out->published++;
	/* flat out, the bus is looked at every 256 messages */
	if (out->bus && (!o->synthetic || o->rate || (++out->n & 255) == 0))
		return serve_bus(o, out);
	return CLI_OK;
}

/* --bus: wait for standard input or the deadline (INT64_MAX: none) while
 * serving the bus. Return: 1 stdin readable, 0 deadline (or cli_stop), -1
 * after an error was reported. */
static int bus_wait(const struct cli_chan_opts *o, struct out *out, bool in, int64_t due)
{
	for (;;) {
		struct pollfd pf[2] = { { .fd = ipk_bus_fd(out->bus), .events = POLLIN },
					{ .fd = in ? 0 : -1, .events = POLLIN } };
		int ms = -1, n;

		/* What the bus connection read already (while it waited for a
		 * reply of its own) makes no event on its fd. */
		if (serve_bus(o, out))
			return -1;
		if (due != INT64_MAX) {
			int64_t left = due - cli_now_ns();

			if (left <= 0)
				return 0;
			ms = (int)((left + IPK_MSEC - 1) / IPK_MSEC);
		}
		n = poll(pf, 2, ms);
		if (n < 0 && errno != EINTR)
			return cli_fail("poll", errno), -1;
		if (cli_stop)
			return 0;
		if (n > 0 && pf[0].revents && serve_bus(o, out))
			return -1;
		if (n > 0 && pf[1].revents)
			return 1;
	}
}

/* --bus: cli_getline()'s wait for standard input, serving the bus meanwhile
 * (a line may come in pieces: the bus is served between them too). */
static int wait_stdin_serving_bus(void *arg)
{
	struct out *out = arg;

	return bus_wait(out->opts, out, true, INT64_MAX);
}

/* How many subscribers @out's ring has: a channel's, or the offered ring's. */
static int subscribers(const struct out *out)
{
	return out->ring ? ipk_ring_subscribers(out->ring) : ipk_chan_subscribers(out->ch);
}

/* One step of a wait for subscribers: a pause, or with --bus the bus
 * served for as long. Return: 0, or -1 after an error was reported. */
static int subs_step(const struct cli_chan_opts *o, struct out *out)
{
	if (out->bus)
		return bus_wait(o, out, false, cli_now_ns() + SUBS_STEP_NS) < 0 ? -1 : 0;
	pause_step();
	return 0;
}

/* --wait-subscribers: until @o->wait_subs are attached, --timeout or a stop. */
static int wait_subscribers(const struct cli_chan_opts *o, struct out *out)
{
	int64_t due = o->timeout_ns < 0 ? INT64_MAX : cli_now_ns() + o->timeout_ns;

	for (;;) {
		int k = subscribers(out);

		if (k < 0)
			return cli_fail(o->url, k);
		if ((unsigned long)k >= o->wait_subs)
			return CLI_OK;
		if (cli_stop)
			return CLI_STOPPED;
		if (cli_now_ns() >= due) {
			cli_msg("%s: %d of %lu subscribers attached within --timeout", o->url, k,
				o->wait_subs);
			return CLI_FAIL;
		}
		if (subs_step(o, out) < 0)
			return CLI_FAIL;
	}
}

/* --linger: keep the ring while subscribers are attached, at most
 * @o->linger_ns; with none attached, LATE_JOIN_NS for one about to be.
 * With --bus the bus is served meanwhile: a subscriber that waited for
 * the offer opens the ring only now. */
static void linger(const struct cli_chan_opts *o, struct out *out)
{
	int64_t start = cli_now_ns();
	bool seen = false;

	while (!cli_stop && cli_now_ns() - start < o->linger_ns) {
		int k = subscribers(out);

		if (k < 0)
			return; /* not a ring's publisher: nothing to linger for */
		if (k > 0)
			seen = true;
		else if (seen || cli_now_ns() - start >= LATE_JOIN_NS)
			return;
		if (subs_step(o, out) < 0)
			return;
	}
}

static int pub_lines(const struct cli_chan_opts *o, struct out *out, unsigned long *sent)
{
	struct cli_lines in = { 0 };
	char *line = NULL;
	ssize_t n = 0;
	int r = CLI_OK;

	/* Without stdio: waits for input in slices, so a signal ends them;
	 * with --bus, serving the bus while it waits. */
	if (out->bus) {
		out->opts = o;
		in.wait = wait_stdin_serving_bus;
		in.wait_arg = out;
	}
	while (!cli_stop && (!o->count || *sent < o->count) && (n = cli_getline(&in, &line)) >= 0) {
		r = publish(o, out, line, (size_t)n);
		if (r)
			break;
		*sent = out->published;
	}
	if (!r && n == -2)
		r = CLI_FAIL;
	free(in.buf);
	return r;
}

/* Message i is due at t0 + i / rate: behind schedule it publishes at once,
 * so the average rate holds even where sleeps are coarse. */
static int pub_synthetic(const struct cli_chan_opts *o, struct out *out, unsigned long *sent)
{
	int64_t t0 = cli_now_ns();
	char *buf;
	int r = CLI_OK;

	buf = malloc(o->size);
	if (!buf)
		return cli_fail("--size", ENOMEM);
	memset(buf, '.', o->size);
	while (!cli_stop && (!o->count || *sent < o->count)) {
		int n;

		if (o->rate) {
			int64_t due = t0 + (int64_t)((double)*sent * 1e9 / (double)o->rate);
			struct timespec ts = { due / IPK_SEC, due % IPK_SEC };

			if (out->bus && due > cli_now_ns()) {
				if (bus_wait(o, out, false, due) < 0) {
					r = CLI_FAIL;
					break;
				}
				continue;
			}
			if (due > cli_now_ns() &&
			    clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
				continue;
		}
		n = snprintf(buf, o->size, "%lu %lld", *sent, (long long)cli_now_ns());
		if (n < 0 || (size_t)n >= o->size)
			n = (int)o->size - 1;
		buf[n] = ' '; /* the padding goes on where the number ends */
		r = publish(o, out, buf, o->size);
		if (r)
			break;
		*sent = out->published;
	}
	free(buf);
	return r;
}

/* --bus: dbus:BUSNAME/NAME[?capacity=&msgsize=&bus=] (checked already). */
static int open_bus(const struct cli_chan_opts *o, struct out *out)
{
	struct ipk_ring_opts ro = { 0 };
	struct ipk_ring_stats st;
	char busname[256], name[256], val[64];
	const char *addr = "session", *a = o->url + 5, *slash = strchr(a, '/');
	size_t nl;
	int r;

	if (!cli_has_scheme(o->url, "dbus") || !slash)
		return cli_usage_error("--bus publishes to a dbus:BUSNAME/NAME URL, not '%s'",
				       o->url);
	if (o->keep || o->excl || o->connect)
		return cli_usage_error("--bus takes no --keep, --excl or --connect");
	snprintf(busname, sizeof(busname), "%.*s", (int)(slash - a), a);
	nl = strcspn(slash + 1, "?");
	snprintf(name, sizeof(name), "%.*s", (int)nl, slash + 1);
	if (cli_url_opt(o->url, "capacity", val, sizeof(val)))
		ro.capacity = strtoull(val, NULL, 10);
	if (cli_url_opt(o->url, "msgsize", val, sizeof(val)))
		ro.max_msg = (uint32_t)strtoul(val, NULL, 10);
	if (cli_url_opt(o->url, "bus", val, sizeof(val)))
		addr = !strcmp(val, "system") ? "system" : "session";
	r = ipk_ring_create(NULL, &ro, &out->ring);
	if (r < 0)
		return cli_fail(o->url, r);
	(void)ipk_ring_stats(out->ring, &st);
	out->max = (size_t)st.max_msg;
	r = ipk_bus_open(addr, &out->bus);
	if (r < 0) {
		cli_msg("%s: cannot connect to the %s bus: %s (%s)", o->url, addr, strerror(-r),
			ipk_errname(r));
		return CLI_FAIL;
	}
	r = ipk_bus_request_name(out->bus, busname, 0);
	if (r == -EEXIST) {
		cli_msg("%s: the bus name %s is taken by another connection", o->url, busname);
		return CLI_FAIL;
	}
	if (r < 0)
		return cli_fail(busname, r);
	r = ipk_bus_ring_offer(out->bus, name, out->ring, NULL, &out->offer);
	return r < 0 ? cli_fail(o->url, r) : CLI_OK;
}

static void close_bus(struct out *out)
{
	ipk_bus_ring_withdraw(out->offer);
	ipk_bus_close(out->bus);
	ipk_ring_close(out->ring);
}

int cmd_pub(int argc, char **argv)
{
	struct cli_chan_opts o;
	struct out out = { 0 };
	unsigned long sent = 0;
	int r;

	r = cli_chan_parse(argc, argv, usage, CLI_PUB, 0, &o);
	if (r >= 0)
		return r;
	if (!o.synthetic && o.size != 64)
		return cli_usage_error("--size applies to synthetic messages (--rate)");
	if (!o.bus && cli_has_scheme(o.url, "dbus"))
		return cli_usage_error("publishing to a dbus: URL needs --bus");
	if ((o.wait_subs || o.linger_ns >= 0) && !cli_has_scheme(o.url, "shm") && !o.bus)
		return cli_usage_error("--linger and --wait-subscribers apply to rings "
				       "(shm:, or dbus: with --bus)");
	if (o.linger_ns < 0)
		o.linger_ns = IPK_SEC;
	if (o.connect && cli_has_scheme(o.url, "shm"))
		return cli_usage_error("--connect on a shm: ring would make this end a "
				       "subscriber: a ring's publisher creates it");
	cli_catch_stop();
	if (o.bus) {
		r = cli_check_url(o.url);
		if (r == 0)
			r = open_bus(&o, &out);
		if (r) {
			close_bus(&out);
			return r;
		}
	} else {
		r = cli_chan_open(&o, cli_chan_flags(&o, true, IPK_CHAN_WRONLY), &out.ch);
		if (r == CLI_STOPPED)
			goto summary;
		if (r)
			return r;
	}
	if (o.wait_subs)
		r = wait_subscribers(&o, &out);
	if (r == CLI_OK)
		r = o.synthetic ? pub_synthetic(&o, &out, &sent) : pub_lines(&o, &out, &sent);
	if (r == CLI_OK && out.ch) {
		int f = cli_flush(out.ch, o.timeout_ns);

		if (f < 0 && !cli_stop)
			r = cli_fail(o.url, f);
		else if (!cli_stop)
			linger(&o, &out);
	} else if (r == CLI_OK && !cli_stop) {
		linger(&o, &out); /* --bus */
	}
	cli_close(out.ch);
	close_bus(&out);
summary:
	fprintf(stderr, "%s: published %lu messages\n", cli_prog, sent);
	return r == CLI_STOPPED ? CLI_OK : r;
}
