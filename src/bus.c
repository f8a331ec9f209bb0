/* SPDX-License-Identifier: MIT */
/*
 * bus.c - ipk_bus: D-Bus through sd-bus (bus.h). Everything D-Bus itself
 * (wire format, authentication, introspection, standard errors) is sd-bus's
 * work; this file maps descriptions, timeouts and errors to ipckit's
 * conventions, runs the bus from an ipk_loop, and offers memfd rings as
 * org.ipckit.Ring1 objects.
 *
 * An ipk_bus_msg is an sd_bus_message, an ipk_bus_slot an sd_bus_slot:
 * the casts below are the whole wrapper.
 *
 * Why one file of this size: the ring objects (org.ipckit.Ring1) are
 * served through the same private ipk_bus state, call-reply and error
 * mapping as everything else here. They are the part to move out
 * (bus_ring.c) once that state has a private header of its own.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ipckit/bus.h>

#include "internal.h"

#ifdef IPK_HAVE_SDBUS

#include <systemd/sd-bus.h>

#define MSG(m) ((ipk_bus_msg *)(void *)(m))
#define SDM(m) ((sd_bus_message *)(void *)(m))
#define SLOT(s) ((ipk_bus_slot *)(void *)(s))
#define SDS(s) ((sd_bus_slot *)(void *)(s))

struct ipk_bus {
	sd_bus *bus;
	ipk_loop *loop; /* attached to, or NULL */
	ipk_loop_timer *timer;
	int fd;          /* the descriptor given to the loop */
	uint32_t events; /* what the loop watches now */
};

/* -errno for an sd-bus error, which is copied to @err (may be NULL). */
static int map_error(int r, sd_bus_error *e, struct ipk_bus_error *err)
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

static void clear_error(struct ipk_bus_error *err)
{
	if (err)
		memset(err, 0, sizeof(*err));
}

/* sd-bus's microseconds for a relative timeout: negative = forever,
 * 0 = sd-bus's default. */
static uint64_t usec_of(int64_t timeout_ns)
{
	if (timeout_ns < 0)
		return UINT64_MAX;
	if (timeout_ns == 0)
		return 0;
	return ((uint64_t)timeout_ns + 999) / 1000;
}

static void rearm(ipk_bus *b);

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
		return -errno;
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

/* --- exporting objects --------------------------------------------------- */

/* One method or property of an exported interface: sd-bus hands its
 * address to the trampolines (the vtable entry's offset from the array). */
struct ent {
	const struct ipk_bus_method *method;
	const struct ipk_bus_property *prop;
	void *arg;
};

struct export
{
	sd_bus_vtable *vt;
	struct ent ents[];
};

static int method_cb(sd_bus_message *m, void *userdata, sd_bus_error *e)
{
	const struct ent *en = userdata;
	struct ipk_bus_error err = { { 0 } };
	sd_bus_message *reply = NULL;
	int r;

	r = sd_bus_message_new_method_return(m, &reply);
	if (r < 0)
		return r;
	r = en->method->fn(MSG(m), MSG(reply), en->arg, &err);
	if (r >= 0)
		r = sd_bus_send(NULL, reply, NULL) < 0 ? -EIO : 1;
	else if (err.name[0])
		r = sd_bus_error_set(e, err.name, err.message[0] ? err.message : NULL);
	sd_bus_message_unref(reply);
	return r;
}

static int prop_get_cb(sd_bus *bus, const char *path, const char *iface, const char *prop,
		       sd_bus_message *reply, void *userdata, sd_bus_error *e)
{
	const struct ent *en = userdata;
	struct ipk_bus_error err = { { 0 } };
	int r;

	(void)bus;
	(void)path;
	(void)iface;
	r = en->prop->get(MSG(reply), prop, en->arg, &err);
	if (r < 0 && err.name[0])
		return sd_bus_error_set(e, err.name, err.message[0] ? err.message : NULL);
	return r < 0 ? r : 1;
}

static int prop_set_cb(sd_bus *bus, const char *path, const char *iface, const char *prop,
		       sd_bus_message *value, void *userdata, sd_bus_error *e)
{
	const struct ent *en = userdata;
	struct ipk_bus_error err = { { 0 } };
	int r;

	(void)bus;
	(void)path;
	(void)iface;
	r = en->prop->set(MSG(value), prop, en->arg, &err);
	if (r < 0 && err.name[0])
		return sd_bus_error_set(e, err.name, err.message[0] ? err.message : NULL);
	return r < 0 ? r : 1;
}

static void export_destroy(void *userdata)
{
	struct export *x =
		(struct export *)(void *)((char *)userdata - offsetof(struct export, ents));

	free(x->vt);
	free(x);
}

static size_t count_methods(const struct ipk_bus_method *t)
{
	size_t n = 0;

	while (t && t[n].name)
		n++;
	return n;
}

static size_t count_signals(const struct ipk_bus_signal *t)
{
	size_t n = 0;

	while (t && t[n].name)
		n++;
	return n;
}

static size_t count_props(const struct ipk_bus_property *t)
{
	size_t n = 0;

	while (t && t[n].name)
		n++;
	return n;
}

IPK_API int ipk_bus_export(ipk_bus *b, const char *path, const struct ipk_bus_interface *iface,
			   void *arg, ipk_bus_slot **ret)
{
	size_t nm, ns, np, i, v = 0;
	sd_bus_slot *slot = NULL;
	struct export *x;
	int r;

	IPK_CHECK_ARG(b && path && iface && iface->name);
	nm = count_methods(iface->methods);
	ns = count_signals(iface->signals);
	np = count_props(iface->properties);
	for (i = 0; i < nm; i++)
		IPK_CHECK_ARG(iface->methods[i].fn);
	for (i = 0; i < np; i++)
		IPK_CHECK_ARG(iface->properties[i].get && iface->properties[i].type);
	x = calloc(1, sizeof(*x) + (nm + np) * sizeof(struct ent));
	if (!x)
		return -ENOMEM;
	x->vt = calloc(nm + ns + np + 2, sizeof(sd_bus_vtable));
	if (!x->vt) {
		free(x);
		return -ENOMEM;
	}
	x->vt[v].type = _SD_BUS_VTABLE_START;
	x->vt[v].x.start.element_size = sizeof(sd_bus_vtable);
	x->vt[v].x.start.features = _SD_BUS_VTABLE_PARAM_NAMES;
	x->vt[v].x.start.vtable_format_reference = &sd_bus_object_vtable_format;
	v++;
	for (i = 0; i < nm; i++, v++) {
		const struct ipk_bus_method *m = &iface->methods[i];

		x->ents[i].method = m;
		x->ents[i].arg = arg;
		x->vt[v].type = _SD_BUS_VTABLE_METHOD;
		x->vt[v].flags = SD_BUS_VTABLE_UNPRIVILEGED;
		x->vt[v].x.method.member = m->name;
		x->vt[v].x.method.signature = m->in ? m->in : "";
		x->vt[v].x.method.result = m->out ? m->out : "";
		x->vt[v].x.method.handler = method_cb;
		x->vt[v].x.method.offset = i * sizeof(struct ent);
		x->vt[v].x.method.names = m->names ? m->names : "";
	}
	for (i = 0; i < ns; i++, v++) {
		x->vt[v].type = _SD_BUS_VTABLE_SIGNAL;
		x->vt[v].x.signal.member = iface->signals[i].name;
		x->vt[v].x.signal.signature = iface->signals[i].sig ? iface->signals[i].sig : "";
		x->vt[v].x.signal.names = iface->signals[i].names ? iface->signals[i].names : "";
	}
	for (i = 0; i < np; i++, v++) {
		const struct ipk_bus_property *p = &iface->properties[i];
		uint64_t fl = p->set ? SD_BUS_VTABLE_UNPRIVILEGED : 0;

		x->ents[nm + i].prop = p;
		x->ents[nm + i].arg = arg;
		if ((p->flags & IPK_BUS_PROP_CONST) && !p->set)
			fl |= SD_BUS_VTABLE_PROPERTY_CONST;
		else if (p->flags & IPK_BUS_PROP_EMITS_CHANGE)
			fl |= SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE;
		x->vt[v].type = p->set ? _SD_BUS_VTABLE_WRITABLE_PROPERTY : _SD_BUS_VTABLE_PROPERTY;
		x->vt[v].flags = fl & ((UINT64_C(1) << 56) - 1);
		x->vt[v].x.property.member = p->name;
		x->vt[v].x.property.signature = p->type;
		x->vt[v].x.property.get = prop_get_cb;
		x->vt[v].x.property.set = p->set ? prop_set_cb : NULL;
		x->vt[v].x.property.offset = (nm + i) * sizeof(struct ent);
	}
	x->vt[v].type = _SD_BUS_VTABLE_END;

	r = sd_bus_add_object_vtable(b->bus, &slot, path, iface->name, x->vt, x->ents);
	if (r < 0) {
		export_destroy(x->ents);
		return r;
	}
	(void)sd_bus_slot_set_destroy_callback(slot, export_destroy);
	if (ret) {
		*ret = SLOT(slot);
	} else {
		(void)sd_bus_slot_set_floating(slot, 1);
		sd_bus_slot_unref(slot);
	}
	return 0;
}

IPK_API void ipk_bus_slot_free(ipk_bus_slot *s)
{
	sd_bus_slot_unref(SDS(s));
}

IPK_API int ipk_bus_emit(ipk_bus *b, const char *path, const char *iface, const char *member,
			 const char *types, ...)
{
	va_list ap;
	int r;

	IPK_CHECK_ARG(b && path && iface && member && types);
	va_start(ap, types);
	r = sd_bus_emit_signalv(b->bus, path, iface, member, types, ap);
	va_end(ap);
	rearm(b);
	return r < 0 ? r : 0;
}

IPK_API int ipk_bus_emit_changed(ipk_bus *b, const char *path, const char *iface,
				 const char *property)
{
	int r;

	IPK_CHECK_ARG(b && path && iface && property);
	r = sd_bus_emit_properties_changed(b->bus, path, iface, property, NULL);
	rearm(b);
	return r < 0 ? r : 0;
}

/* --- calling ------------------------------------------------------------ */

static int call_msg(ipk_bus *b, sd_bus_message *m, int64_t timeout_ns, struct ipk_bus_error *err,
		    ipk_bus_msg **reply)
{
	sd_bus_error e = SD_BUS_ERROR_NULL;
	sd_bus_message *rep = NULL;
	int r;

	r = sd_bus_call(b->bus, m, usec_of(timeout_ns), &e, &rep);
	rearm(b);
	if (r < 0)
		return map_error(r, &e, err);
	clear_error(err);
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

	clear_error(err);
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
	clear_error(err);
	IPK_CHECK_ARG(b && call);
	return call_msg(b, SDM(call), timeout_ns, err, reply);
}

IPK_API int ipk_bus_send(ipk_bus *b, ipk_bus_msg *m)
{
	int r;

	IPK_CHECK_ARG(b && m);
	r = sd_bus_send(b->bus, SDM(m), NULL);
	rearm(b);
	return r < 0 ? r : 0;
}

IPK_API int ipk_bus_get_property(ipk_bus *b, const char *dest, const char *path, const char *iface,
				 const char *property, int64_t timeout_ns,
				 struct ipk_bus_error *err, ipk_bus_msg **reply, const char *type)
{
	ipk_bus_msg *rep = NULL;
	int r;

	clear_error(err);
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

	clear_error(err);
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

struct match {
	ipk_bus_signal_fn fn;
	void *arg;
};

static int match_cb(sd_bus_message *m, void *userdata, sd_bus_error *e)
{
	const struct match *mt = userdata;

	(void)e;
	(void)mt->fn(MSG(m), mt->arg);
	return 0; /* let other matches see it too */
}

IPK_API int ipk_bus_match(ipk_bus *b, const char *sender, const char *path, const char *iface,
			  const char *member, ipk_bus_signal_fn fn, void *arg, ipk_bus_slot **ret)
{
	sd_bus_slot *slot = NULL;
	struct match *mt;
	int r;

	IPK_CHECK_ARG(b && fn);
	mt = malloc(sizeof(*mt));
	if (!mt)
		return -ENOMEM;
	mt->fn = fn;
	mt->arg = arg;
	r = sd_bus_match_signal(b->bus, &slot, sender, path, iface, member, match_cb, mt);
	rearm(b);
	if (r < 0) {
		free(mt);
		return r;
	}
	(void)sd_bus_slot_set_destroy_callback(slot, free);
	if (ret) {
		*ret = SLOT(slot);
	} else {
		(void)sd_bus_slot_set_floating(slot, 1);
		sd_bus_slot_unref(slot);
	}
	return 0;
}

/* --- running the bus ---------------------------------------------------- */

IPK_API int ipk_bus_process(ipk_bus *b)
{
	int n = 0, r;

	IPK_CHECK_ARG(b);
	/* At most a batch per call, so that a flood cannot starve the rest
	 * of a loop; what is left makes ipk_bus_deadline() say "now". */
	while (n < 1024) {
		r = sd_bus_process(b->bus, NULL);
		if (r < 0)
			return r;
		if (r == 0)
			break;
		n++;
	}
	return n;
}

IPK_API int ipk_bus_run_once(ipk_bus *b, int64_t timeout_ns)
{
	int64_t deadline;
	int r;

	IPK_CHECK_ARG(b);
	r = ipk_bus_process(b);
	if (r != 0)
		return r;
	if (timeout_ns == 0)
		return -EAGAIN;
	deadline = ipk__deadline(timeout_ns);
	for (;;) {
		uint64_t us = UINT64_MAX;

		if (deadline != IPK__NEVER) {
			int64_t left = deadline - ipk__now_ns();

			if (left <= 0)
				return -ETIMEDOUT;
			us = ((uint64_t)left + 999) / 1000;
		}
		r = sd_bus_wait(b->bus, us);
		if (r < 0 && r != -EINTR)
			return r;
		r = ipk_bus_process(b);
		if (r != 0)
			return r;
	}
}

IPK_API int ipk_bus_flush(ipk_bus *b)
{
	int r;

	IPK_CHECK_ARG(b);
	r = sd_bus_flush(b->bus);
	return r < 0 ? r : 0;
}

IPK_API int ipk_bus_fd(ipk_bus *b)
{
	IPK_CHECK_ARG(b);
	return sd_bus_get_fd(b->bus);
}

IPK_API int ipk_bus_events(ipk_bus *b, uint32_t *events)
{
	int r;

	IPK_CHECK_ARG(b && events);
	r = sd_bus_get_events(b->bus);
	if (r < 0)
		return r;
	*events = ((r & POLLIN) ? IPK_LOOP_IN : 0) | ((r & POLLOUT) ? IPK_LOOP_OUT : 0);
	return 0;
}

IPK_API int ipk_bus_deadline(ipk_bus *b, int64_t *deadline_ns)
{
	uint64_t us;
	int r;

	IPK_CHECK_ARG(b && deadline_ns);
	r = sd_bus_get_timeout(b->bus, &us);
	if (r < 0)
		return r;
	*deadline_ns = us == UINT64_MAX || us > (uint64_t)(INT64_MAX / 1000) ? INT64_MAX
									     : (int64_t)us * 1000;
	return 0;
}

static void on_timer(ipk_loop *l, ipk_loop_timer *t, uint64_t exp, void *arg);

/* After any call into the bus: watch the events it needs now, and run a
 * timer for its next deadline. A dead bus is detached. */
static void rearm(ipk_bus *b)
{
	uint32_t ev = IPK_LOOP_IN;
	int64_t dl;

	if (!b->loop)
		return;
	if (sd_bus_is_open(b->bus) <= 0) {
		ipk_bus_detach(b);
		return;
	}
	(void)ipk_bus_events(b, &ev);
	ev |= IPK_LOOP_IN;
	if (ev != b->events && ipk_loop_mod_fd(b->loop, b->fd, ev) == 0)
		b->events = ev;
	if (ipk_bus_deadline(b, &dl) == 0 && dl != INT64_MAX) {
		int64_t delay = dl - ipk__now_ns();

		ipk_loop_timer_cancel(b->timer);
		b->timer = NULL;
		(void)ipk_loop_timer_once(b->loop, delay > 0 ? delay : 0, on_timer, b, &b->timer);
	}
}

static void on_fd(ipk_loop *l, int fd, uint32_t events, void *arg)
{
	ipk_bus *b = arg;

	(void)l;
	(void)fd;
	(void)events;
	(void)ipk_bus_process(b);
	rearm(b);
}

static void on_timer(ipk_loop *l, ipk_loop_timer *t, uint64_t exp, void *arg)
{
	ipk_bus *b = arg;

	(void)l;
	(void)exp;
	if (b->timer == t) {
		ipk_loop_timer_cancel(t);
		b->timer = NULL;
	}
	(void)ipk_bus_process(b);
	rearm(b);
}

IPK_API int ipk_bus_attach(ipk_bus *b, ipk_loop *l)
{
	int r;

	IPK_CHECK_ARG(b && l);
	if (b->loop)
		return -EBUSY;
	b->fd = sd_bus_get_fd(b->bus);
	if (b->fd < 0)
		return b->fd;
	r = ipk_loop_add_fd(l, b->fd, IPK_LOOP_IN, on_fd, b);
	if (r < 0)
		return r;
	b->loop = l;
	b->events = IPK_LOOP_IN;
	rearm(b);
	return 0;
}

IPK_API void ipk_bus_detach(ipk_bus *b)
{
	if (!b || !b->loop)
		return;
	(void)ipk_loop_del_fd(b->loop, b->fd);
	ipk_loop_timer_cancel(b->timer);
	b->timer = NULL;
	b->loop = NULL;
}

/* --- rings over the bus ---------------------------------------------------- */

#define RING_IFACE "org.ipckit.Ring1"
#define RING_PREFIX "/org/ipckit/ring/"
#define RING_NAME_MAX 200
#define SEALS_NEEDED (F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL)

struct ipk_bus_ring {
	ipk_bus *b;
	ipk_ring *r;
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
	struct ipk_bus_ring *o = arg;
	uid_t uid;
	int r;

	r = ipk_bus_msg_creds(call, NULL, &uid);
	if (r < 0) {
		snprintf(err->name, sizeof(err->name), "org.freedesktop.DBus.Error.AccessDenied");
		snprintf(err->message, sizeof(err->message),
			 "the caller's credentials are unknown: access denied");
		return -EACCES;
	}
	if (uid != 0 && uid != o->uid && !(o->opts.flags & IPK_BUS_RING_ANY_UID) &&
	    (o->opts.allow_uid == (uid_t)-1 || uid != o->opts.allow_uid)) {
		snprintf(err->name, sizeof(err->name), "org.freedesktop.DBus.Error.AccessDenied");
		snprintf(err->message, sizeof(err->message),
			 "uid %u may not subscribe to this ring", (unsigned)uid);
		return -EACCES;
	}
	return ipk_bus_msg_append(reply, "hh", o->feed_fd, o->bell_fd);
}

static int ring_get(ipk_bus_msg *reply, const char *prop, void *arg, struct ipk_bus_error *err)
{
	struct ipk_bus_ring *o = arg;
	struct ipk_ring_stats st;

	(void)err;
	(void)ipk_ring_stats(o->r, &st);
	if (!strcmp(prop, "Capacity"))
		return ipk_bus_msg_append(reply, "t", st.capacity);
	if (!strcmp(prop, "MaxMessage"))
		return ipk_bus_msg_append(reply, "u", (uint32_t)st.max_msg);
	if (!strcmp(prop, "Published"))
		return ipk_bus_msg_append(reply, "t", st.published);
	if (!strcmp(prop, "Epoch"))
		return ipk_bus_msg_append(reply, "t", st.epoch);
	return ipk_bus_msg_append(reply, "u", (uint32_t)o->pid); /* PublisherPid */
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
	{ "Capacity", "t", ring_get, NULL, IPK_BUS_PROP_CONST },
	{ "MaxMessage", "u", ring_get, NULL, IPK_BUS_PROP_CONST },
	{ "Published", "t", ring_get, NULL, 0 },
	{ "PublisherPid", "u", ring_get, NULL, IPK_BUS_PROP_CONST },
	{ "Epoch", "t", ring_get, NULL, 0 },
	{ NULL, NULL, NULL, NULL, 0 },
};

static const struct ipk_bus_interface ring_iface = {
	.name = RING_IFACE,
	.methods = ring_methods,
	.signals = ring_signals,
	.properties = ring_props,
};

static void ring_offer_free(struct ipk_bus_ring *o)
{
	ipk_bus_slot_free(o->slot);
	if (o->feed_fd >= 0)
		close(o->feed_fd);
	free(o);
}

IPK_API int ipk_bus_ring_offer(ipk_bus *b, const char *name, ipk_ring *r,
			       const struct ipk_bus_ring_opts *opts, ipk_bus_ring **ret)
{
	struct ipk_bus_ring *o;
	struct ipk_ring_stats st;
	int ring_fd, bell_fd, seals, rc;

	IPK_CHECK_ARG(b && name && r && ret);
	rc = ipk_ring_fds(r, &ring_fd, &bell_fd);
	if (rc < 0)
		return rc;
	seals = fcntl(ring_fd, F_GET_SEALS);
	if (seals < 0 || (seals & SEALS_NEEDED) != SEALS_NEEDED || bell_fd < 0)
		return -EINVAL; /* a named ring, not a sealed memfd */
	o = calloc(1, sizeof(*o));
	if (!o)
		return -ENOMEM;
	o->feed_fd = -1;
	rc = ipk_bus_ring_path(name, o->path, sizeof(o->path));
	if (rc < 0)
		goto fail;
	/* A read-only description of the same memfd: what subscribers get. */
	o->feed_fd = ipk__reopen(ring_fd, O_RDONLY);
	if (o->feed_fd < 0) {
		rc = o->feed_fd;
		goto fail;
	}
	o->b = b;
	o->r = r;
	o->bell_fd = bell_fd;
	o->opts.allow_uid = (uid_t)-1;
	if (opts)
		o->opts = *opts;
	o->uid = geteuid();
	o->pid = getpid();
	(void)ipk_ring_stats(r, &st);
	o->epoch = st.epoch;
	rc = ipk_bus_export(b, o->path, &ring_iface, o, &o->slot);
	if (rc < 0)
		goto fail;
	rc = ipk_bus_emit(b, o->path, RING_IFACE, "Restarted", "tu", o->epoch, (uint32_t)o->pid);
	if (rc < 0)
		goto fail;
	*ret = o;
	return 0;
fail:
	ring_offer_free(o);
	return rc;
}

IPK_API void ipk_bus_ring_withdraw(ipk_bus_ring *o)
{
	if (o)
		ring_offer_free(o);
}

/* A feed a subscriber may map: a memfd sealed against resizing and against
 * new seals, opened read-only; the doorbell sealed against resizing. */
static int check_fds(int feed, int bell)
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

static bool is_absent(const struct ipk_bus_error *e)
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

	clear_error(err);
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
		if (r >= 0 || !is_absent(&e) || deadline == IPK__NOWAIT)
			break;
		r = ipk__sleep_until(deadline, 10 * IPK_MSEC);
		if (r < 0)
			return r;
	}
	if (r < 0) {
		if (err)
			*err = e;
		if (is_absent(&e))
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
	r = check_fds(feed, bell);
	if (r == 0)
		r = ipk_ring_open_fd(feed, bell, opts, ret);
out:
	if (feed >= 0)
		close(feed);
	if (bell >= 0)
		close(bell);
	return r;
}

#else /* !IPK_HAVE_SDBUS: built without libsystemd */

IPK_API int ipk_bus_open(const char *address, ipk_bus **ret)
{
	(void)address;
	(void)ret;
	return -EOPNOTSUPP;
}

IPK_API void ipk_bus_close(ipk_bus *b)
{
	(void)b;
}

IPK_API const char *ipk_bus_unique_name(ipk_bus *b)
{
	(void)b;
	return NULL;
}

IPK_API int ipk_bus_request_name(ipk_bus *b, const char *name, unsigned flags)
{
	(void)b;
	(void)name;
	(void)flags;
	return -EOPNOTSUPP;
}

IPK_API int ipk_bus_release_name(ipk_bus *b, const char *name)
{
	(void)b;
	(void)name;
	return -EOPNOTSUPP;
}

IPK_API int ipk_bus_msg_readv(ipk_bus_msg *m, const char *types, va_list ap)
{
	(void)m;
	(void)types;
	(void)ap;
	return -EOPNOTSUPP;
}

IPK_API int ipk_bus_msg_read(ipk_bus_msg *m, const char *types, ...)
{
	(void)m;
	(void)types;
	return -EOPNOTSUPP;
}

IPK_API int ipk_bus_msg_read_fd(ipk_bus_msg *m, int *fd)
{
	(void)m;
	(void)fd;
	return -EOPNOTSUPP;
}

IPK_API int ipk_bus_msg_appendv(ipk_bus_msg *m, const char *types, va_list ap)
{
	(void)m;
	(void)types;
	(void)ap;
	return -EOPNOTSUPP;
}

IPK_API int ipk_bus_msg_append(ipk_bus_msg *m, const char *types, ...)
{
	(void)m;
	(void)types;
	return -EOPNOTSUPP;
}

IPK_API int ipk_bus_msg_append_bytes(ipk_bus_msg *m, const void *buf, size_t len)
{
	(void)m;
	(void)buf;
	(void)len;
	return -EOPNOTSUPP;
}

IPK_API int ipk_bus_msg_read_bytes(ipk_bus_msg *m, const void **buf, size_t *len)
{
	(void)m;
	(void)buf;
	(void)len;
	return -EOPNOTSUPP;
}

IPK_API const char *ipk_bus_msg_signature(ipk_bus_msg *m)
{
	(void)m;
	return "";
}

IPK_API const char *ipk_bus_msg_sender(ipk_bus_msg *m)
{
	(void)m;
	return NULL;
}

IPK_API const char *ipk_bus_msg_member(ipk_bus_msg *m)
{
	(void)m;
	return NULL;
}

IPK_API const char *ipk_bus_msg_path(ipk_bus_msg *m)
{
	(void)m;
	return NULL;
}

IPK_API int ipk_bus_msg_creds(ipk_bus_msg *m, pid_t *pid, uid_t *uid)
{
	(void)m;
	(void)pid;
	(void)uid;
	return -EOPNOTSUPP;
}

IPK_API void ipk_bus_msg_free(ipk_bus_msg *m)
{
	(void)m;
}

IPK_API int ipk_bus_export(ipk_bus *b, const char *path, const struct ipk_bus_interface *iface,
			   void *arg, ipk_bus_slot **ret)
{
	(void)b;
	(void)path;
	(void)iface;
	(void)arg;
	(void)ret;
	return -EOPNOTSUPP;
}

IPK_API void ipk_bus_slot_free(ipk_bus_slot *s)
{
	(void)s;
}

IPK_API int ipk_bus_emit(ipk_bus *b, const char *path, const char *iface, const char *member,
			 const char *types, ...)
{
	(void)b;
	(void)path;
	(void)iface;
	(void)member;
	(void)types;
	return -EOPNOTSUPP;
}

IPK_API int ipk_bus_emit_changed(ipk_bus *b, const char *path, const char *iface,
				 const char *property)
{
	(void)b;
	(void)path;
	(void)iface;
	(void)property;
	return -EOPNOTSUPP;
}

IPK_API int ipk_bus_call(ipk_bus *b, const char *dest, const char *path, const char *iface,
			 const char *member, int64_t timeout_ns, struct ipk_bus_error *err,
			 ipk_bus_msg **reply, const char *types, ...)
{
	(void)b;
	(void)dest;
	(void)path;
	(void)iface;
	(void)member;
	(void)timeout_ns;
	(void)reply;
	(void)types;
	if (err)
		memset(err, 0, sizeof(*err));
	return -EOPNOTSUPP;
}

IPK_API int ipk_bus_new_call(ipk_bus *b, const char *dest, const char *path, const char *iface,
			     const char *member, ipk_bus_msg **ret)
{
	(void)b;
	(void)dest;
	(void)path;
	(void)iface;
	(void)member;
	(void)ret;
	return -EOPNOTSUPP;
}

IPK_API int ipk_bus_new_signal(ipk_bus *b, const char *path, const char *iface, const char *member,
			       ipk_bus_msg **ret)
{
	(void)b;
	(void)path;
	(void)iface;
	(void)member;
	(void)ret;
	return -EOPNOTSUPP;
}

IPK_API int ipk_bus_call_msg(ipk_bus *b, ipk_bus_msg *call, int64_t timeout_ns,
			     struct ipk_bus_error *err, ipk_bus_msg **reply)
{
	(void)b;
	(void)call;
	(void)timeout_ns;
	(void)reply;
	if (err)
		memset(err, 0, sizeof(*err));
	return -EOPNOTSUPP;
}

IPK_API int ipk_bus_send(ipk_bus *b, ipk_bus_msg *m)
{
	(void)b;
	(void)m;
	return -EOPNOTSUPP;
}

IPK_API int ipk_bus_get_property(ipk_bus *b, const char *dest, const char *path, const char *iface,
				 const char *property, int64_t timeout_ns,
				 struct ipk_bus_error *err, ipk_bus_msg **reply, const char *type)
{
	(void)b;
	(void)dest;
	(void)path;
	(void)iface;
	(void)property;
	(void)timeout_ns;
	(void)reply;
	(void)type;
	if (err)
		memset(err, 0, sizeof(*err));
	return -EOPNOTSUPP;
}

IPK_API int ipk_bus_set_property(ipk_bus *b, const char *dest, const char *path, const char *iface,
				 const char *property, int64_t timeout_ns,
				 struct ipk_bus_error *err, const char *type, ...)
{
	(void)b;
	(void)dest;
	(void)path;
	(void)iface;
	(void)property;
	(void)timeout_ns;
	(void)type;
	if (err)
		memset(err, 0, sizeof(*err));
	return -EOPNOTSUPP;
}

IPK_API int ipk_bus_match(ipk_bus *b, const char *sender, const char *path, const char *iface,
			  const char *member, ipk_bus_signal_fn fn, void *arg, ipk_bus_slot **ret)
{
	(void)b;
	(void)sender;
	(void)path;
	(void)iface;
	(void)member;
	(void)fn;
	(void)arg;
	(void)ret;
	return -EOPNOTSUPP;
}

IPK_API int ipk_bus_process(ipk_bus *b)
{
	(void)b;
	return -EOPNOTSUPP;
}

IPK_API int ipk_bus_run_once(ipk_bus *b, int64_t timeout_ns)
{
	(void)b;
	(void)timeout_ns;
	return -EOPNOTSUPP;
}

IPK_API int ipk_bus_flush(ipk_bus *b)
{
	(void)b;
	return -EOPNOTSUPP;
}

IPK_API int ipk_bus_fd(ipk_bus *b)
{
	(void)b;
	return -EOPNOTSUPP;
}

IPK_API int ipk_bus_events(ipk_bus *b, uint32_t *events)
{
	(void)b;
	(void)events;
	return -EOPNOTSUPP;
}

IPK_API int ipk_bus_deadline(ipk_bus *b, int64_t *deadline_ns)
{
	(void)b;
	(void)deadline_ns;
	return -EOPNOTSUPP;
}

IPK_API int ipk_bus_attach(ipk_bus *b, ipk_loop *l)
{
	(void)b;
	(void)l;
	return -EOPNOTSUPP;
}

IPK_API void ipk_bus_detach(ipk_bus *b)
{
	(void)b;
}

IPK_API int ipk_bus_ring_offer(ipk_bus *b, const char *name, ipk_ring *r,
			       const struct ipk_bus_ring_opts *opts, ipk_bus_ring **ret)
{
	(void)b;
	(void)name;
	(void)r;
	(void)opts;
	(void)ret;
	return -EOPNOTSUPP;
}

IPK_API void ipk_bus_ring_withdraw(ipk_bus_ring *o)
{
	(void)o;
}

IPK_API int ipk_bus_ring_open(ipk_bus *b, const char *busname, const char *name,
			      const struct ipk_ring_sub_opts *opts, int64_t timeout_ns,
			      struct ipk_bus_error *err, ipk_ring_sub **ret)
{
	(void)b;
	(void)busname;
	(void)name;
	(void)opts;
	(void)timeout_ns;
	(void)ret;
	if (err)
		memset(err, 0, sizeof(*err));
	return -EOPNOTSUPP;
}

IPK_API int ipk_bus_ring_path(const char *name, char *buf, size_t len)
{
	(void)name;
	(void)buf;
	(void)len;
	return -EOPNOTSUPP;
}

#endif /* IPK_HAVE_SDBUS */
