/* SPDX-License-Identifier: MIT */
/*
 * dgram.h - whole messages over Unix datagram and seqpacket sockets, where
 * the kernel keeps the boundaries: batches with sendmmsg/recvmmsg, and a
 * message too big for the caller's buffer held back instead of truncated.
 */
#ifndef IPK_DGRAM_H
#define IPK_DGRAM_H

#include <stdbool.h>
#include <sys/un.h>

#include "transport.h"

struct ipk__dgram {
	int fd;
	bool seqpacket;     /* connection-oriented: recv 0 is the end */
	bool server;        /* unconnected datagram socket: reply to the last sender */
	bool broken;        /* seqpacket peer broke the size limit: receives -EPIPE
			     * (sends see the shutdown) */
	int pending_err;    /* an error a batch found after returning messages */
	size_t pending_len; /* and the size of the message behind it */
	size_t max;         /* largest message */
	uint8_t *hold;      /* max bytes: the message a -EMSGSIZE receive kept */
	size_t hold_len;
	bool held;
	struct sockaddr_un peer; /* server: where replies go */
	socklen_t peer_len;
	struct ipk__ownfile file; /* a server's socket file: removed at close */
};

/* Wrap @fd (ownership passes, also on failure). */
int ipk__dgram_new(int fd, bool seqpacket, bool server, size_t max, struct ipk__dgram **ret);

/* Transport ops for any channel whose ch->t is a struct ipk__dgram. */
int ipk__dgram_send(struct ipk_chan *ch, const struct iovec *iov, int iovcnt, size_t len,
		    int64_t deadline_ns);
ssize_t ipk__dgram_recv(struct ipk_chan *ch, void *buf, size_t len, int64_t deadline_ns);
int ipk__dgram_send_batch(struct ipk_chan *ch, const struct ipk_msg *m, unsigned n,
			  int64_t deadline_ns);
int ipk__dgram_recv_batch(struct ipk_chan *ch, struct ipk_msg *m, unsigned n, int64_t deadline_ns);
void ipk__dgram_close(struct ipk_chan *ch);

/* The ops of the datagram and seqpacket transports, as IPK__STREAM_OPS. */
/* clang-format off */
#define IPK__DGRAM_OPS \
	.send = ipk__dgram_send, \
	.recv = ipk__dgram_recv, \
	.send_tag = ipk__send_untagged, \
	.recv_tag = ipk__recv_untagged, \
	.send_batch = ipk__dgram_send_batch, \
	.recv_batch = ipk__dgram_recv_batch, \
	.flush = ipk__no_flush, \
	.fd = ipk__fd_plain, \
	.close = ipk__dgram_close, \
	.subscribers = ipk__no_subscribers
/* clang-format on */

#endif /* IPK_DGRAM_H */
