/* SPDX-License-Identifier: MIT */
/*
 * transport/dbus.c - dbus:BUSNAME/NAME, a ring offered on D-Bus
 * (ipk_bus_ring_offer()) as a channel. Subscriber only: it calls the ring
 * object's Open method, checks that the descriptor it gets is a sealed,
 * read-only memfd, and maps it with ipk_ring_open_fd(); every message then
 * comes from shared memory, the bus is not involved. Publishing goes
 * through ipk_bus_ring_offer() (`ipckit pub --bus`).
 *
 * When the ring reports its publisher closed or dead, and then while it
 * waits after a death, the bus is asked whether a new publisher offers the
 * ring under the same name: if so the channel moves over to it and the
 * receive says -ECONNRESET (a new epoch), as a shm: ring taken over in
 * place does.
 */
#include <stdlib.h>
#include <string.h>

#include <ipckit/bus.h>
#include <ipckit/ring.h>

#include "internal.h"
#include "transport.h"

struct dbus_chan {
	ipk_bus *bus;
	ipk_ring_sub *sub;
	char busname[256];
	char name[PATH_MAX];
	bool orphan;                    /* the ring said its publisher died: wait for another */
	struct ipk_ring_sub_opts start; /* from= */
	uint64_t lost0, skipped0;       /* the counts of the rings before this one */
};

static void dbus_free(struct dbus_chan *t)
{
	if (!t)
		return;
	ipk_ring_sub_close(t->sub);
	ipk_bus_close(t->bus);
	free(t);
}

static int dbus_open(struct ipk_chan *ch, const struct ipk_url *url, int64_t deadline_ns)
{
	const char *addr = url->set[IPK__OPT_BUS] ? url->str[IPK__OPT_BUS] : "session";
	struct dbus_chan *t;
	int r;

	/* a subscriber only receives, and creates nothing */
	if (ch->flags & (IPK_CHAN_CREATE | IPK_CHAN_WRONLY | IPK_CHAN_EXCL | IPK_CHAN_KEEP))
		return -EINVAL;
	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	memcpy(t->busname, url->host, sizeof(t->busname));
	memcpy(t->name, url->path, sizeof(t->name));
	ipk__ring_start(url, &t->start);
	r = ipk_bus_open(addr, &t->bus);
	if (r == 0)
		r = ipk_bus_ring_open(t->bus, t->busname, t->name, &t->start, 0, NULL, &t->sub);
	/* Not offered yet: wait for it, and then (without from=) start at its
	 * first message, as a shm: subscriber that waited does. */
	if ((r == -EHOSTUNREACH || r == -ENOENT) && deadline_ns != IPK__NOWAIT) {
		if (!url->set[IPK__OPT_FROM]) {
			t->start.from = IPK_RING_FROM_SEQ;
			t->start.from_seq = 0;
		}
		r = ipk_bus_ring_open(t->bus, t->busname, t->name, &t->start,
				      ipk__timeout_of(deadline_ns), NULL, &t->sub);
	}
	if (r < 0) {
		dbus_free(t);
		return r;
	}
	ch->max_msg = ipk_ring_sub_max_msg(t->sub);
	ch->t = t;
	return 0;
}

static int dbus_send(struct ipk_chan *ch, const struct iovec *iov, int iovcnt, size_t len,
		     int64_t deadline_ns)
{
	(void)ch;
	(void)iov;
	(void)iovcnt;
	(void)len;
	(void)deadline_ns;
	return -EBADF; /* a subscriber's end */
}

/* How often a channel whose publisher died asks the bus for a successor. */
#define ASK_NS (100 * IPK_MSEC)

static ssize_t dbus_recv(struct ipk_chan *ch, void *buf, size_t len, int64_t deadline_ns)
{
	struct dbus_chan *t = ch->t;

	for (;;) {
		int64_t until = deadline_ns;
		ipk_ring_sub *fresh = NULL;
		struct ipk_ring_counts c;
		ssize_t n;

		/* A memfd ring is never taken over in place: while its
		 * publisher is dead, look on the bus between slices. */
		if (t->orphan && deadline_ns != IPK__NOWAIT && deadline_ns - ipk__now_ns() > ASK_NS)
			until = ipk__now_ns() + ASK_NS;
		n = ipk_ring_recv(t->sub, buf, len, ipk__timeout_of(until));
		(void)ipk_ring_counts(t->sub, &c);
		ch->lost = t->lost0 + c.lost;
		ch->skipped = t->skipped0 + c.skipped;
		if (n == -EMSGSIZE)
			ch->next_len = ipk_ring_msg_len(t->sub);
		if (n == -EOWNERDEAD)
			t->orphan = true;
		if (n != -EPIPE && n != -EOWNERDEAD &&
		    !(t->orphan && (n == -ETIMEDOUT || n == -EAGAIN)))
			return n;
		/* Has another publisher offered the ring since? */
		(void)ipk_bus_process(t->bus); /* drop what queued up meanwhile */
		/* a successor's ring is new: from its first message on */
		t->start.from = IPK_RING_FROM_SEQ;
		t->start.from_seq = 0;
		if (ipk_bus_ring_open(t->bus, t->busname, t->name, &t->start, 0, NULL, &fresh) ==
		    0) {
			t->lost0 = ch->lost;
			t->skipped0 = ch->skipped;
			ipk_ring_sub_close(t->sub);
			t->sub = fresh;
			t->orphan = false;
			ch->max_msg = ipk_ring_sub_max_msg(fresh);
			return -ECONNRESET;
		}
		if (n != -ETIMEDOUT || until == deadline_ns)
			return n;
	}
}

static int dbus_fd(struct ipk_chan *ch)
{
	struct dbus_chan *t = ch->t;

	return ipk_ring_fd(t->sub);
}

static void dbus_close(struct ipk_chan *ch)
{
	dbus_free(ch->t);
	ch->t = NULL;
}

const struct ipk_transport ipk__transport_dbus = {
	.scheme = "dbus",
	.open = dbus_open,
	.send = dbus_send,
	.recv = dbus_recv,
	.send_tag = ipk__send_untagged,
	.recv_tag = ipk__recv_untagged,
	.send_batch = ipk__send_batch_loop,
	.recv_batch = ipk__recv_batch_loop,
	.flush = ipk__no_flush,
	.fd = dbus_fd,
	.close = dbus_close,
	.subscribers = ipk__no_subscribers,
	.listen = ipk__no_listen,
	.accept = ipk__no_accept,
};

/* The URL: dbus:BUSNAME/NAME, a ring offered on D-Bus (url_parse.h). */
const struct ipk__scheme ipk__scheme_dbus = {
	.name = "dbus",
	.addr = IPK__ADDR_DBUS,
	.opts = IPK__OPT(IPK__OPT_MSGSIZE) | IPK__OPT(IPK__OPT_CAPACITY) | IPK__OPT(IPK__OPT_BUS) |
		IPK__OPT(IPK__OPT_FROM) | IPK__OPT(IPK__OPT_WAIT),
	.obj = IPK__OBJ_NONE,
	.tp = &ipk__transport_dbus,
};
