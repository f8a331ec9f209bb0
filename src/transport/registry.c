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

const struct ipk__scheme *const ipk__url_schemes[] = {
	&ipk__scheme_pipe,       &ipk__scheme_fifo,           &ipk__scheme_unix,
	&ipk__scheme_unix_dgram, &ipk__scheme_unix_seqpacket, &ipk__scheme_tcp,
	&ipk__scheme_mq,         &ipk__scheme_sysvmq,         &ipk__scheme_shm,
	&ipk__scheme_nats,       &ipk__scheme_dbus,           NULL,
};
