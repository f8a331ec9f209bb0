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
struct export_entry {
	const struct ipk_bus_method *method;
	const struct ipk_bus_property *prop;
	void *arg;
};

struct exported_iface {
	sd_bus_vtable *vt;
	struct export_entry entries[];
};

static int on_method_call(sd_bus_message *m, void *userdata, sd_bus_error *e)
{
	const struct export_entry *entry = userdata;
	struct ipk_bus_error err = { { 0 } };
	sd_bus_message *reply = NULL;
	int r;

	r = sd_bus_message_new_method_return(m, &reply);
	if (r < 0)
		return r;
	r = entry->method->fn(MSG(m), MSG(reply), entry->arg, &err);
	if (r >= 0)
		r = sd_bus_send(NULL, reply, NULL) < 0 ? -EIO : 1;
	else if (err.name[0])
		r = sd_bus_error_set(e, err.name, err.message[0] ? err.message : NULL);
	sd_bus_message_unref(reply);
	return r;
}

/* What sd-bus wants from a property callback: 1, or the handler's error
 * (the D-Bus name it set in @err, else its errno). */
static int property_result(int r, const struct ipk_bus_error *err, sd_bus_error *e)
{
	if (r < 0 && err->name[0])
		return sd_bus_error_set(e, err->name, err->message[0] ? err->message : NULL);
	return r < 0 ? r : 1;
}

static int on_property_get(sd_bus *bus, const char *path, const char *iface, const char *prop,
			   sd_bus_message *reply, void *userdata, sd_bus_error *e)
{
	const struct export_entry *entry = userdata;
	struct ipk_bus_error err = { { 0 } };
	int r;

	(void)bus;
	(void)path;
	(void)iface;
	r = entry->prop->get(MSG(reply), prop, entry->arg, &err);
	return property_result(r, &err, e);
}

static int on_property_set(sd_bus *bus, const char *path, const char *iface, const char *prop,
			   sd_bus_message *value, void *userdata, sd_bus_error *e)
{
	const struct export_entry *entry = userdata;
	struct ipk_bus_error err = { { 0 } };
	int r;

	(void)bus;
	(void)path;
	(void)iface;
	r = entry->prop->set(MSG(value), prop, entry->arg, &err);
	return property_result(r, &err, e);
}

static void exported_iface_free(void *userdata)
{
	struct exported_iface *exported =
		(struct exported_iface *)(void *)((char *)userdata -
						  offsetof(struct exported_iface, entries));

	free(exported->vt);
	free(exported);
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

static size_t count_properties(const struct ipk_bus_property *t)
{
	size_t n = 0;

	while (t && t[n].name)
		n++;
	return n;
}

IPK_API int ipk_bus_export(ipk_bus *b, const char *path, const struct ipk_bus_interface *iface,
			   void *arg, ipk_bus_slot **ret)
{
	size_t n_methods, n_signals, n_props, i, row = 0;
	sd_bus_slot *slot = NULL;
	struct exported_iface *exported;
	int r;

	IPK_CHECK_ARG(b && path && iface && iface->name);
	n_methods = count_methods(iface->methods);
	n_signals = count_signals(iface->signals);
	n_props = count_properties(iface->properties);
	for (i = 0; i < n_methods; i++)
		IPK_CHECK_ARG(iface->methods[i].fn);
	for (i = 0; i < n_props; i++)
		IPK_CHECK_ARG(iface->properties[i].get && iface->properties[i].type);
	exported =
		calloc(1, sizeof(*exported) + (n_methods + n_props) * sizeof(struct export_entry));
	if (!exported)
		return -ENOMEM;
	exported->vt = calloc(n_methods + n_signals + n_props + 2, sizeof(sd_bus_vtable));
	if (!exported->vt) {
		free(exported);
		return -ENOMEM;
	}
	exported->vt[row].type = _SD_BUS_VTABLE_START;
	exported->vt[row].x.start.element_size = sizeof(sd_bus_vtable);
	exported->vt[row].x.start.features = _SD_BUS_VTABLE_PARAM_NAMES;
	exported->vt[row].x.start.vtable_format_reference = &sd_bus_object_vtable_format;
	row++;
	for (i = 0; i < n_methods; i++, row++) {
		const struct ipk_bus_method *m = &iface->methods[i];

		exported->entries[i].method = m;
		exported->entries[i].arg = arg;
		exported->vt[row].type = _SD_BUS_VTABLE_METHOD;
		exported->vt[row].flags = SD_BUS_VTABLE_UNPRIVILEGED;
		exported->vt[row].x.method.member = m->name;
		exported->vt[row].x.method.signature = m->in ? m->in : "";
		exported->vt[row].x.method.result = m->out ? m->out : "";
		exported->vt[row].x.method.handler = on_method_call;
		exported->vt[row].x.method.offset = i * sizeof(struct export_entry);
		exported->vt[row].x.method.names = m->names ? m->names : "";
	}
	for (i = 0; i < n_signals; i++, row++) {
		exported->vt[row].type = _SD_BUS_VTABLE_SIGNAL;
		exported->vt[row].x.signal.member = iface->signals[i].name;
		exported->vt[row].x.signal.signature =
			iface->signals[i].sig ? iface->signals[i].sig : "";
		exported->vt[row].x.signal.names =
			iface->signals[i].names ? iface->signals[i].names : "";
	}
	for (i = 0; i < n_props; i++, row++) {
		const struct ipk_bus_property *p = &iface->properties[i];
		uint64_t flags = p->set ? SD_BUS_VTABLE_UNPRIVILEGED : 0;

		exported->entries[n_methods + i].prop = p;
		exported->entries[n_methods + i].arg = arg;
		if ((p->flags & IPK_BUS_PROP_CONST) && !p->set)
			flags |= SD_BUS_VTABLE_PROPERTY_CONST;
		else if (p->flags & IPK_BUS_PROP_EMITS_CHANGE)
			flags |= SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE;
		exported->vt[row].type =
			p->set ? _SD_BUS_VTABLE_WRITABLE_PROPERTY : _SD_BUS_VTABLE_PROPERTY;
		exported->vt[row].flags = flags & ((UINT64_C(1) << 56) - 1);
		exported->vt[row].x.property.member = p->name;
		exported->vt[row].x.property.signature = p->type;
		exported->vt[row].x.property.get = on_property_get;
		exported->vt[row].x.property.set = p->set ? on_property_set : NULL;
		exported->vt[row].x.property.offset = (n_methods + i) * sizeof(struct export_entry);
	}
	exported->vt[row].type = _SD_BUS_VTABLE_END;

	r = sd_bus_add_object_vtable(b->bus, &slot, path, iface->name, exported->vt,
				     exported->entries);
	if (r < 0) {
		exported_iface_free(exported->entries);
		return r;
	}
	(void)sd_bus_slot_set_destroy_callback(slot, exported_iface_free);
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
