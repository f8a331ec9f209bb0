/* SPDX-License-Identifier: MIT */
/*
 * bus_export.c - objects served on the bus (bus.h): an interface's static
 * description (methods, signals, properties) becomes an sd-bus vtable whose
 * entries call the handlers back; signals and PropertiesChanged are emitted
 * from here. sd-bus answers what the description settles by itself
 * (signatures, unknown members, Introspect, GetAll).
 */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>

#include <ipckit/bus.h>

#include "bus_internal.h"
#include "internal.h"

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
	ipk__bus_give_slot(slot, ret);
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
	ipk__bus_rearm(b);
	return r < 0 ? r : 0;
}

IPK_API int ipk_bus_emit_changed(ipk_bus *b, const char *path, const char *iface,
				 const char *property)
{
	int r;

	IPK_CHECK_ARG(b && path && iface && property);
	r = sd_bus_emit_properties_changed(b->bus, path, iface, property, NULL);
	ipk__bus_rearm(b);
	return r < 0 ? r : 0;
}
