/* SPDX-License-Identifier: MIT */
/*
 * transport/registry.c - which transport opens which URL scheme. A scheme
 * the parser knows but no transport serves is -EPROTONOSUPPORT at open.
 */
#include <stddef.h>

#include "transport.h"

static const struct ipk_transport *const transports[IPK__NSCHEMES] = {
	[IPK__PIPE] = &ipk__transport_pipe,
	[IPK__FIFO] = &ipk__transport_fifo,
	[IPK__UNIX] = &ipk__transport_unix,
	[IPK__UNIX_DGRAM] = &ipk__transport_unix_dgram,
	[IPK__UNIX_SEQPACKET] = &ipk__transport_unix_seqpacket,
	[IPK__TCP] = &ipk__transport_tcp,
	[IPK__MQ] = &ipk__transport_mq,
	[IPK__SYSVMQ] = &ipk__transport_sysvmq,
	[IPK__SHM] = &ipk__transport_shm,
	[IPK__DBUS] = &ipk__transport_dbus,
#ifdef IPK_HAVE_NATS
	[IPK__NATS] = &ipk__transport_nats,
#endif
};

const struct ipk_transport *ipk__transport_find(enum ipk__scheme scheme)
{
	return (unsigned)scheme < IPK__NSCHEMES ? transports[scheme] : NULL;
}
