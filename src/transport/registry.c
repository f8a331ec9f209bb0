/* SPDX-License-Identifier: MIT */
/*
 * transport/registry.c - every URL scheme a channel may name: each entry
 * is a transport's declaration (its file's struct ipk__scheme), which
 * says how the URL parses and which transport opens it. A scheme the
 * parser knows but no transport of this build serves (.tp NULL) is
 * -EPROTONOSUPPORT at open.
 */
#include <stddef.h>

#include "transport.h"

/* dbus:BUSNAME/NAME, a ring offered on D-Bus (bus.h); its ops table is
 * transport/dbus.c's. */
const struct ipk__scheme ipk__scheme_dbus = {
	.name = "dbus",
	.addr = IPK__ADDR_DBUS,
	.opts = IPK__OPT(IPK__OPT_MSGSIZE) | IPK__OPT(IPK__OPT_CAPACITY) | IPK__OPT(IPK__OPT_BUS) |
		IPK__OPT(IPK__OPT_FROM),
	.obj = IPK__OBJ_NONE,
	.tp = &ipk__transport_dbus,
};

const struct ipk__scheme *const ipk__url_schemes[] = {
	&ipk__scheme_pipe,       &ipk__scheme_fifo,           &ipk__scheme_unix,
	&ipk__scheme_unix_dgram, &ipk__scheme_unix_seqpacket, &ipk__scheme_tcp,
	&ipk__scheme_mq,         &ipk__scheme_sysvmq,         &ipk__scheme_shm,
	&ipk__scheme_nats,       &ipk__scheme_dbus,           NULL,
};
