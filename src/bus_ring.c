/* SPDX-License-Identifier: MIT */
/*
 * bus_ring.c - rings over the bus (bus.h): a memfd ring offered as an
 * org.ipckit.Ring1 object whose Open method hands out a read-only, sealed
 * descriptor of the feed to callers the publisher accepts, and the
 * subscriber's side that asks for it, checks the descriptor and maps it.
 * Messages never travel over the bus, only the descriptors.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ipckit/bus.h>

#include "bus_internal.h"
#include "internal.h"

#define RING_IFACE "org.ipckit.Ring1"
#define RING_PREFIX "/org/ipckit/ring/"
#define RING_NAME_MAX 200
#define SEALS_NEEDED (F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL)

struct ipk_bus_ring {
	ipk_bus *bus;
	ipk_ring *ring;
	ipk_bus_slot *slot;
	int feed_fd; /* a read-only descriptor of the feed */
	int bell_fd; /* the ring's own doorbell descriptor */
	struct ipk_bus_ring_opts opts;
	uid_t uid; /* the publisher's effective uid */
	pid_t pid;
	uint64_t epoch;
	char path[sizeof(RING_PREFIX) + RING_NAME_MAX];
};

IPK_API int ipk_bus_ring_path(const char *name, char *buf, size_t len)
{
	size_t n;

	IPK_CHECK_ARG(name && buf);
	n = strlen(name);
	if (n == 0 || n > RING_NAME_MAX ||
	    strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_") != n)
		return -EINVAL;
	if (sizeof(RING_PREFIX) + n > len)
		return -ENAMETOOLONG;
	memcpy(buf, RING_PREFIX, sizeof(RING_PREFIX) - 1);
	memcpy(buf + sizeof(RING_PREFIX) - 1, name, n + 1);
	return 0;
}

static int ring_open_method(ipk_bus_msg *call, ipk_bus_msg *reply, void *arg,
			    struct ipk_bus_error *err)
{
	struct ipk_bus_ring *offer = arg;
	uid_t uid;
	int r;

	r = ipk_bus_msg_creds(call, NULL, &uid);
	if (r < 0) {
		snprintf(err->name, sizeof(err->name), "org.freedesktop.DBus.Error.AccessDenied");
		snprintf(err->message, sizeof(err->message),
			 "the caller's credentials are unknown: access denied");
		return -EACCES;
	}
	if (uid != 0 && uid != offer->uid && !(offer->opts.flags & IPK_BUS_RING_ANY_UID) &&
	    (offer->opts.allow_uid == (uid_t)-1 || uid != offer->opts.allow_uid)) {
		snprintf(err->name, sizeof(err->name), "org.freedesktop.DBus.Error.AccessDenied");
		snprintf(err->message, sizeof(err->message),
			 "uid %u may not subscribe to this ring", (unsigned)uid);
		return -EACCES;
	}
	return ipk_bus_msg_append(reply, "hh", offer->feed_fd, offer->bell_fd);
}

static int ring_get_property(ipk_bus_msg *reply, const char *prop, void *arg,
			     struct ipk_bus_error *err)
{
	struct ipk_bus_ring *offer = arg;
	struct ipk_ring_stats st;

	(void)err;
	(void)ipk_ring_stats(offer->ring, &st);
	if (!strcmp(prop, "Capacity"))
		return ipk_bus_msg_append(reply, "t", st.capacity);
	if (!strcmp(prop, "MaxMessage"))
		return ipk_bus_msg_append(reply, "u", (uint32_t)st.max_msg);
	if (!strcmp(prop, "Published"))
		return ipk_bus_msg_append(reply, "t", st.published);
	if (!strcmp(prop, "Epoch"))
		return ipk_bus_msg_append(reply, "t", st.epoch);
	return ipk_bus_msg_append(reply, "u", (uint32_t)offer->pid); /* PublisherPid */
}

static const struct ipk_bus_method ring_methods[] = {
	{ "Open", "", "hh", ring_open_method, "feed\0bell\0" },
	{ NULL, NULL, NULL, NULL, NULL },
};

static const struct ipk_bus_signal ring_signals[] = {
	{ "Restarted", "tu", "epoch\0pid\0" },
	{ NULL, NULL, NULL },
};

static const struct ipk_bus_property ring_props[] = {
	{ "Capacity", "t", ring_get_property, NULL, IPK_BUS_PROP_CONST },
	{ "MaxMessage", "u", ring_get_property, NULL, IPK_BUS_PROP_CONST },
	{ "Published", "t", ring_get_property, NULL, 0 },
	{ "PublisherPid", "u", ring_get_property, NULL, IPK_BUS_PROP_CONST },
	{ "Epoch", "t", ring_get_property, NULL, 0 },
	{ NULL, NULL, NULL, NULL, 0 },
};

static const struct ipk_bus_interface ring_iface = {
	.name = RING_IFACE,
	.methods = ring_methods,
	.signals = ring_signals,
	.properties = ring_props,
};

static void ring_offer_free(struct ipk_bus_ring *offer)
{
	ipk_bus_slot_free(offer->slot);
	if (offer->feed_fd >= 0)
		ipk__close(offer->feed_fd);
	free(offer);
}

IPK_API int ipk_bus_ring_offer(ipk_bus *b, const char *name, ipk_ring *r,
			       const struct ipk_bus_ring_opts *opts, ipk_bus_ring **ret)
{
	struct ipk_bus_ring *offer;
	struct ipk_ring_stats st;
	int ring_fd, bell_fd, seals, rc;

	IPK_CHECK_ARG(b && name && r && ret);
	rc = ipk_ring_fds(r, &ring_fd, &bell_fd);
	if (rc < 0)
		return rc;
	seals = fcntl(ring_fd, F_GET_SEALS);
	if (seals < 0 || (seals & SEALS_NEEDED) != SEALS_NEEDED || bell_fd < 0)
		return -EINVAL; /* a named ring, not a sealed memfd */
	offer = calloc(1, sizeof(*offer));
	if (!offer)
		return -ENOMEM;
	offer->feed_fd = -1;
	rc = ipk_bus_ring_path(name, offer->path, sizeof(offer->path));
	if (rc < 0)
		goto fail;
	/* A read-only description of the same memfd: what subscribers get. */
	offer->feed_fd = ipk__reopen(ring_fd, O_RDONLY);
	if (offer->feed_fd < 0) {
		rc = offer->feed_fd;
		goto fail;
	}
	offer->bus = b;
	offer->ring = r;
	offer->bell_fd = bell_fd;
	offer->opts.allow_uid = (uid_t)-1;
	if (opts)
		offer->opts = *opts;
	offer->uid = geteuid();
	offer->pid = getpid();
	(void)ipk_ring_stats(r, &st);
	offer->epoch = st.epoch;
	rc = ipk_bus_export(b, offer->path, &ring_iface, offer, &offer->slot);
	if (rc < 0)
		goto fail;
	rc = ipk_bus_emit(b, offer->path, RING_IFACE, "Restarted", "tu", offer->epoch,
			  (uint32_t)offer->pid);
	if (rc < 0)
		goto fail;
	*ret = offer;
	return 0;
fail:
	ring_offer_free(offer);
	return rc;
}

IPK_API void ipk_bus_ring_withdraw(ipk_bus_ring *offer)
{
	if (offer)
		ring_offer_free(offer);
}

/* A feed a subscriber may map: a memfd sealed against resizing and against
 * new seals, opened read-only; the doorbell sealed against resizing. */
static int check_ring_fds(int feed, int bell)
{
	int seals = fcntl(feed, F_GET_SEALS);
	int fl = fcntl(feed, F_GETFL);

	if (seals < 0 || (seals & SEALS_NEEDED) != SEALS_NEEDED)
		return -EPROTO;
	if (fl < 0 || (fl & O_ACCMODE) != O_RDONLY)
		return -EPROTO;
	seals = fcntl(bell, F_GET_SEALS);
	if (seals < 0 || (seals & (F_SEAL_SHRINK | F_SEAL_GROW)) != (F_SEAL_SHRINK | F_SEAL_GROW))
		return -EPROTO;
	return 0;
}

static bool ring_not_offered(const struct ipk_bus_error *e)
{
	static const char *const names[] = {
		"org.freedesktop.DBus.Error.ServiceUnknown",
		"org.freedesktop.DBus.Error.NameHasNoOwner",
		"org.freedesktop.DBus.Error.UnknownObject",
		"org.freedesktop.DBus.Error.UnknownInterface",
		"org.freedesktop.DBus.Error.UnknownMethod",
	};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (!strcmp(e->name, names[i]))
			return true;
	return false;
}

IPK_API int ipk_bus_ring_open(ipk_bus *b, const char *busname, const char *name,
			      const struct ipk_ring_sub_opts *opts, int64_t timeout_ns,
			      struct ipk_bus_error *err, ipk_ring_sub **ret)
{
	struct ipk_bus_error e;
	char path[sizeof(RING_PREFIX) + RING_NAME_MAX];
	int64_t deadline;
	ipk_bus_msg *rep = NULL;
	int feed = -1, bell = -1, r;

	ipk__bus_clear_error(err);
	IPK_CHECK_ARG(b && busname && name && ret);
	r = ipk_bus_ring_path(name, path, sizeof(path));
	if (r < 0)
		return r;
	deadline = ipk__deadline(timeout_ns);
	for (;;) {
		int64_t left = deadline == IPK__NEVER ? -1 : deadline - ipk__now_ns();

		if (deadline != IPK__NEVER && deadline != IPK__NOWAIT && left <= 0)
			return -ETIMEDOUT;
		r = ipk_bus_call(b, busname, path, RING_IFACE, "Open",
				 left <= 0 || left > 5 * IPK_SEC ? 5 * IPK_SEC : left, &e, &rep,
				 "");
		if (r >= 0 || !ring_not_offered(&e) || deadline == IPK__NOWAIT)
			break;
		r = ipk__sleep_until(deadline, 10 * IPK_MSEC);
		if (r < 0)
			return r;
	}
	if (r < 0) {
		if (err)
			*err = e;
		if (ring_not_offered(&e))
			return strstr(e.name, "Error.ServiceUnknown") ||
					       strstr(e.name, "NameHasNoOwner")
				       ? -EHOSTUNREACH
				       : -ENOENT;
		return r;
	}
	r = ipk_bus_msg_read_fd(rep, &feed);
	if (r == 0)
		r = ipk_bus_msg_read_fd(rep, &bell);
	ipk_bus_msg_free(rep);
	if (r < 0) {
		r = -EPROTO;
		goto out;
	}
	r = check_ring_fds(feed, bell);
	if (r == 0)
		r = ipk_ring_open_fd(feed, bell, opts, ret);
out:
	if (feed >= 0)
		ipk__close(feed);
	if (bell >= 0)
		ipk__close(bell);
	return r;
}
