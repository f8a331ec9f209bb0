/* SPDX-License-Identifier: MIT */
/*
 * bus_internal.h - what the files of ipk_bus (bus.h) share, in builds with
 * sd-bus: the connection's state, the casts between ipckit's and sd-bus's
 * types, and the error mapping. bus_conn.c connects, names, calls and reads
 * and writes messages; bus_export.c serves objects and emits signals;
 * bus_loop.c processes the bus and runs it from an ipk_loop; bus_ring.c
 * offers rings as org.ipckit.Ring1 objects. Builds without sd-bus compile
 * only bus_stubs.c.
 */
#ifndef IPK_BUS_INTERNAL_H
#define IPK_BUS_INTERNAL_H

#include <stdint.h>

#include <systemd/sd-bus.h>

#include <ipckit/bus.h>

/* An ipk_bus_msg is an sd_bus_message, an ipk_bus_slot an sd_bus_slot:
 * these casts are the whole wrapper. */
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
int ipk__bus_map_error(int r, sd_bus_error *e, struct ipk_bus_error *err);

/* Empties @err (may be NULL): a call that succeeds reports no error. */
void ipk__bus_clear_error(struct ipk_bus_error *err);

/* Hands @slot to the caller as *@ret, or with @ret NULL lets it live as
 * long as the bus (a floating slot). */
void ipk__bus_give_slot(sd_bus_slot *slot, ipk_bus_slot **ret);

/* After any call into the bus (bus_loop.c): have the attached loop watch
 * the events the bus needs now and wake at its next deadline. A dead bus
 * is detached. Nothing without a loop. */
void ipk__bus_rearm(ipk_bus *b);

#endif /* IPK_BUS_INTERNAL_H */
