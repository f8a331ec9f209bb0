/* SPDX-License-Identifier: MIT */
/*
 * bus_conn.c - an ipk_bus connection (bus.h): open and close, bus names,
 * reading and writing messages, method calls with their timeouts and
 * errors, property Get and Set, and signal matches. Everything D-Bus itself
 * (wire format, authentication, standard errors) is sd-bus's work; this
 * file maps timeouts and errors to ipckit's conventions. Serving objects is
 * bus_export.c, running the bus bus_loop.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ipckit/bus.h>

#include "bus_internal.h"
#include "internal.h"

int ipk__bus_map_error(int r, sd_bus_error *e, struct ipk_bus_error *err)
{
	if (err) {
		memset(err, 0, sizeof(*err));
		if (sd_bus_error_is_set(e)) {
			snprintf(err->name, sizeof(err->name), "%s", e->name);
			snprintf(err->message, sizeof(err->message), "%s",
				 e->message ? e->message : "");
		}
	}
	if (sd_bus_error_is_set(e)) {
		int en = sd_bus_error_get_errno(e);

		if (en > 0)
			r = -en;
	}
	sd_bus_error_free(e);
	return r < 0 ? r : -EIO;
}

void ipk__bus_clear_error(struct ipk_bus_error *err)
{
	if (err)
		memset(err, 0, sizeof(*err));
}

void ipk__bus_give_slot(sd_bus_slot *slot, ipk_bus_slot **ret)
{
	if (ret) {
		*ret = SLOT(slot);
	} else {
		(void)sd_bus_slot_set_floating(slot, 1);
		sd_bus_slot_unref(slot);
	}
}

/* sd-bus's microseconds for a relative timeout > 0, or negative = forever. */
static uint64_t timeout_usec(int64_t timeout_ns)
{
	if (timeout_ns < 0)
		return UINT64_MAX;
	return ((uint64_t)timeout_ns + 999) / 1000;
}

IPK_API int ipk_bus_open(const char *address, ipk_bus **ret)
{
	ipk_bus *b;
	int r;

	IPK_CHECK_ARG(ret);
	b = calloc(1, sizeof(*b));
	if (!b)
		return -ENOMEM;
	if (!address || !strcmp(address, "session")) {
		r = sd_bus_open_user(&b->bus);
	} else if (!strcmp(address, "system")) {
		r = sd_bus_open_system(&b->bus);
	} else {
		r = sd_bus_new(&b->bus);
		if (r >= 0)
			r = sd_bus_set_address(b->bus, address);
		if (r >= 0)
			r = sd_bus_set_bus_client(b->bus, 1);
		if (r >= 0)
			r = sd_bus_negotiate_fds(b->bus, 1);
		if (r >= 0)
			r = sd_bus_start(b->bus);
	}
	if (r < 0) {
		sd_bus_unref(b->bus);
		free(b);
		return r;
	}
	*ret = b;
	return 0;
}

IPK_API void ipk_bus_close(ipk_bus *b)
{
	if (!b)
		return;
	ipk_bus_detach(b);
	if (sd_bus_is_open(b->bus) > 0)
		(void)sd_bus_flush(b->bus);
	sd_bus_flush_close_unref(b->bus);
	free(b);
}

IPK_API const char *ipk_bus_unique_name(ipk_bus *b)
{
	const char *n = NULL;

	if (!b || sd_bus_get_unique_name(b->bus, &n) < 0)
		return NULL;
	return n;
}

IPK_API int ipk_bus_request_name(ipk_bus *b, const char *name, unsigned flags)
{
	uint64_t f = 0;
	int r;

	IPK_CHECK_ARG(b && name && !(flags & ~(IPK_BUS_NAME_REPLACE | IPK_BUS_NAME_ALLOW_REPLACE)));
	if (flags & IPK_BUS_NAME_REPLACE)
		f |= SD_BUS_NAME_REPLACE_EXISTING;
	if (flags & IPK_BUS_NAME_ALLOW_REPLACE)
		f |= SD_BUS_NAME_ALLOW_REPLACEMENT;
	r = sd_bus_request_name(b->bus, name, f);
	return r < 0 ? r : 0;
}

IPK_API int ipk_bus_release_name(ipk_bus *b, const char *name)
{
	int r;

	IPK_CHECK_ARG(b && name);
	r = sd_bus_release_name(b->bus, name);
	return r < 0 ? r : 0;
}

/* --- messages ----------------------------------------------------------- */

IPK_API int ipk_bus_msg_readv(ipk_bus_msg *m, const char *types, va_list ap)
{
	IPK_CHECK_ARG(m && types);
	return sd_bus_message_readv(SDM(m), types, ap);
}

IPK_API int ipk_bus_msg_read(ipk_bus_msg *m, const char *types, ...)
{
	va_list ap;
	int r;

	va_start(ap, types);
	r = ipk_bus_msg_readv(m, types, ap);
	va_end(ap);
	return r;
}

IPK_API int ipk_bus_msg_read_fd(ipk_bus_msg *m, int *fd)
{
	int in, r, d;

	IPK_CHECK_ARG(m && fd);
	r = sd_bus_message_read_basic(SDM(m), 'h', &in);
	if (r < 0)
		return r;
	if (r == 0)
		return -ENXIO; /* no argument left */
	d = fcntl(in, F_DUPFD_CLOEXEC, 3);
	if (d < 0)
		return ipk__neg_errno();
	*fd = d;
	return 0;
}

IPK_API int ipk_bus_msg_appendv(ipk_bus_msg *m, const char *types, va_list ap)
{
	int r;

	IPK_CHECK_ARG(m && types);
	r = sd_bus_message_appendv(SDM(m), types, ap);
	return r < 0 ? r : 0;
}

IPK_API int ipk_bus_msg_append(ipk_bus_msg *m, const char *types, ...)
{
	va_list ap;
	int r;

	va_start(ap, types);
	r = ipk_bus_msg_appendv(m, types, ap);
	va_end(ap);
	return r;
}

IPK_API int ipk_bus_msg_append_bytes(ipk_bus_msg *m, const void *buf, size_t len)
{
	int r;

	IPK_CHECK_ARG(m && (buf || !len));
	r = sd_bus_message_append_array(SDM(m), 'y', buf ? buf : "", len);
	return r < 0 ? r : 0;
}

IPK_API int ipk_bus_msg_read_bytes(ipk_bus_msg *m, const void **buf, size_t *len)
{
	IPK_CHECK_ARG(m && buf && len);
	return sd_bus_message_read_array(SDM(m), 'y', buf, len);
}

IPK_API const char *ipk_bus_msg_signature(ipk_bus_msg *m)
{
	const char *s = m ? sd_bus_message_get_signature(SDM(m), 1) : NULL;

	return s ? s : "";
}

IPK_API const char *ipk_bus_msg_sender(ipk_bus_msg *m)
{
	return m ? sd_bus_message_get_sender(SDM(m)) : NULL;
}

IPK_API const char *ipk_bus_msg_member(ipk_bus_msg *m)
{
	return m ? sd_bus_message_get_member(SDM(m)) : NULL;
}

IPK_API const char *ipk_bus_msg_path(ipk_bus_msg *m)
{
	return m ? sd_bus_message_get_path(SDM(m)) : NULL;
}

IPK_API int ipk_bus_msg_creds(ipk_bus_msg *m, pid_t *pid, uid_t *uid)
{
	sd_bus_creds *c = NULL;
	pid_t p = 0;
	uid_t u = 0;
	int r;

	IPK_CHECK_ARG(m);
	r = sd_bus_query_sender_creds(SDM(m),
				      SD_BUS_CREDS_PID | SD_BUS_CREDS_EUID | SD_BUS_CREDS_UID, &c);
	if (r < 0)
		return r;
	if (pid && (r = sd_bus_creds_get_pid(c, &p)) < 0)
		goto out;
	if (uid && (r = sd_bus_creds_get_euid(c, &u)) < 0 && (r = sd_bus_creds_get_uid(c, &u)) < 0)
		goto out;
	if (pid)
		*pid = p;
	if (uid)
		*uid = u;
	r = 0;
out:
	sd_bus_creds_unref(c);
	return r;
}

IPK_API void ipk_bus_msg_free(ipk_bus_msg *m)
{
	sd_bus_message_unref(SDM(m));
}

/* --- calling ------------------------------------------------------------ */

static int call_msg(ipk_bus *b, sd_bus_message *m, int64_t timeout_ns, struct ipk_bus_error *err,
		    ipk_bus_msg **reply)
{
	sd_bus_error e = SD_BUS_ERROR_NULL;
	sd_bus_message *rep = NULL;
	int r;

	if (timeout_ns == 0) {
		/* Do not wait: the reply of a call just sent cannot be there
		 * yet. The call goes out saying that no reply is expected, so
		 * the peer runs it and sends none. */
		r = sd_bus_message_set_expect_reply(m, 0);
		if (r >= 0)
			r = sd_bus_send(b->bus, m, NULL);
		ipk__bus_rearm(b);
		return r < 0 ? r : -EAGAIN;
	}
	r = sd_bus_call(b->bus, m, timeout_usec(timeout_ns), &e, &rep);
	ipk__bus_rearm(b);
	if (r < 0)
		return ipk__bus_map_error(r, &e, err);
	ipk__bus_clear_error(err);
	if (reply)
		*reply = MSG(rep);
	else
		sd_bus_message_unref(rep);
	return 0;
}

IPK_API int ipk_bus_call(ipk_bus *b, const char *dest, const char *path, const char *iface,
			 const char *member, int64_t timeout_ns, struct ipk_bus_error *err,
			 ipk_bus_msg **reply, const char *types, ...)
{
	sd_bus_message *m = NULL;
	va_list ap;
	int r;

	ipk__bus_clear_error(err);
	IPK_CHECK_ARG(b && path && member);
	r = sd_bus_message_new_method_call(b->bus, &m, dest, path, iface, member);
	if (r < 0)
		return r;
	if (types && *types) {
		va_start(ap, types);
		r = sd_bus_message_appendv(m, types, ap);
		va_end(ap);
	}
	if (r >= 0)
		r = call_msg(b, m, timeout_ns, err, reply);
	sd_bus_message_unref(m);
	return r;
}

IPK_API int ipk_bus_new_call(ipk_bus *b, const char *dest, const char *path, const char *iface,
			     const char *member, ipk_bus_msg **ret)
{
	sd_bus_message *m = NULL;
	int r;

	IPK_CHECK_ARG(b && path && member && ret);
	r = sd_bus_message_new_method_call(b->bus, &m, dest, path, iface, member);
	if (r < 0)
		return r;
	*ret = MSG(m);
	return 0;
}

IPK_API int ipk_bus_new_signal(ipk_bus *b, const char *path, const char *iface, const char *member,
			       ipk_bus_msg **ret)
{
	sd_bus_message *m = NULL;
	int r;

	IPK_CHECK_ARG(b && path && iface && member && ret);
	r = sd_bus_message_new_signal(b->bus, &m, path, iface, member);
	if (r < 0)
		return r;
	*ret = MSG(m);
	return 0;
}

IPK_API int ipk_bus_call_msg(ipk_bus *b, ipk_bus_msg *call, int64_t timeout_ns,
			     struct ipk_bus_error *err, ipk_bus_msg **reply)
{
	ipk__bus_clear_error(err);
	IPK_CHECK_ARG(b && call);
	return call_msg(b, SDM(call), timeout_ns, err, reply);
}

IPK_API int ipk_bus_send(ipk_bus *b, ipk_bus_msg *m)
{
	int r;

	IPK_CHECK_ARG(b && m);
	r = sd_bus_send(b->bus, SDM(m), NULL);
	ipk__bus_rearm(b);
	return r < 0 ? r : 0;
}

IPK_API int ipk_bus_get_property(ipk_bus *b, const char *dest, const char *path, const char *iface,
				 const char *property, int64_t timeout_ns,
				 struct ipk_bus_error *err, ipk_bus_msg **reply, const char *type)
{
	ipk_bus_msg *rep = NULL;
	int r;

	ipk__bus_clear_error(err);
	IPK_CHECK_ARG(b && iface && property && reply && type);
	r = ipk_bus_call(b, dest, path, "org.freedesktop.DBus.Properties", "Get", timeout_ns, err,
			 &rep, "ss", iface, property);
	if (r < 0)
		return r;
	r = sd_bus_message_enter_container(SDM(rep), 'v', type);
	if (r <= 0) {
		ipk_bus_msg_free(rep);
		return -ENXIO;
	}
	*reply = rep;
	return 0;
}

IPK_API int ipk_bus_set_property(ipk_bus *b, const char *dest, const char *path, const char *iface,
				 const char *property, int64_t timeout_ns,
				 struct ipk_bus_error *err, const char *type, ...)
{
	sd_bus_message *m = NULL;
	va_list ap;
	int r;

	ipk__bus_clear_error(err);
	IPK_CHECK_ARG(b && path && iface && property && type);
	r = sd_bus_message_new_method_call(b->bus, &m, dest, path,
					   "org.freedesktop.DBus.Properties", "Set");
	if (r >= 0)
		r = sd_bus_message_append(m, "ss", iface, property);
	if (r >= 0)
		r = sd_bus_message_open_container(m, 'v', type);
	if (r >= 0) {
		va_start(ap, type);
		r = sd_bus_message_appendv(m, type, ap);
		va_end(ap);
	}
	if (r >= 0)
		r = sd_bus_message_close_container(m);
	if (r >= 0)
		r = call_msg(b, m, timeout_ns, err, NULL);
	sd_bus_message_unref(m);
	return r;
}

struct signal_match {
	ipk_bus_signal_fn fn;
	void *arg;
};

static int on_signal(sd_bus_message *m, void *userdata, sd_bus_error *e)
{
	const struct signal_match *match = userdata;

	(void)e;
	(void)match->fn(MSG(m), match->arg);
	return 0; /* let other matches see it too */
}

IPK_API int ipk_bus_match(ipk_bus *b, const char *sender, const char *path, const char *iface,
			  const char *member, ipk_bus_signal_fn fn, void *arg, ipk_bus_slot **ret)
{
	sd_bus_slot *slot = NULL;
	struct signal_match *match;
	int r;

	IPK_CHECK_ARG(b && fn);
	match = malloc(sizeof(*match));
	if (!match)
		return -ENOMEM;
	match->fn = fn;
	match->arg = arg;
	r = sd_bus_match_signal(b->bus, &slot, sender, path, iface, member, on_signal, match);
	ipk__bus_rearm(b);
	if (r < 0) {
		free(match);
		return r;
	}
	(void)sd_bus_slot_set_destroy_callback(slot, free);
	ipk__bus_give_slot(slot, ret);
	return 0;
}
