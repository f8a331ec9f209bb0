/* SPDX-License-Identifier: MIT */
/*
 * stream.h - whole messages over a byte stream (pipe, FIFO, Unix stream
 * socket, TCP): framing (framing=len, line or none), read-ahead, and
 * frames cut by a deadline.
 */
#ifndef IPK_STREAM_H
#define IPK_STREAM_H

#include <stdbool.h>

#include "frame.h"
#include "transport.h"

struct ipk__stream {
	int rfd;          /* read end, or -1 on a write-only channel */
	int wfd;          /* write end, or -1; may equal rfd (sockets) */
	bool is_socket;   /* send with MSG_NOSIGNAL, shut down on -EPROTO */
	bool fifo_reader; /* read() == 0 may mean "no writer yet" */
	/* The stream is unusable: the peer broke the framing (rx), or a frame
	 * could not be finished (tx). Later calls are -EPIPE. Two flags, so a
	 * sending and a receiving thread never write the same one. */
	bool rx_broken;
	bool tx_broken;
	uint8_t framing; /* enum ipk__framing */
	/* framing=line: a line over max dropped inside a batch that had
	 * already received messages; the next receive reports it */
	size_t rx_dropped;
	size_t max; /* largest payload (framing=line: longest line) */
	struct ipk__rxbuf rx;
	uint8_t *tx; /* the unsent rest of a frame a deadline cut: tx[lo, hi) */
	size_t tx_lo, tx_hi;
	struct ipk__ownfile file; /* a FIFO this end created: removed at close */
};

/*
 * ipk__stream_new() - wrap descriptors (ownership passes to the stream,
 * also on failure) and allocate the buffers for @max-byte messages framed
 * as @framing (enum ipk__framing).
 */
int ipk__stream_new(int rfd, int wfd, bool is_socket, size_t max, int framing,
		    struct ipk__stream **ret);

/* The framing= option of @url (framing=len without it). */
static inline int ipk__stream_framing(const struct ipk_url *url)
{
	return (int)ipk__url_num(url, IPK__OPT_FRAMING, IPK__FRAMING_LEN);
}

/*
 * Options for a listener's URL (ipk_listener_url()) that a peer must share
 * beyond msgsize=: framing= unless it is len. Appends to l->url.
 */
void ipk__stream_listener_url(struct ipk_listener *l, const struct ipk_url *url);

/*
 * The framing of channels a listener accepts: its URL's, read back from
 * l->url, which ipk__stream_listener_url() completed.
 */
int ipk__stream_listener_framing(const struct ipk_listener *l);
void ipk__stream_free(struct ipk__stream *s);

/* Transport ops for any channel whose ch->t is a struct ipk__stream. */
int ipk__stream_send(struct ipk_chan *ch, const struct iovec *iov, int iovcnt, size_t len,
		     int64_t deadline_ns);
ssize_t ipk__stream_recv(struct ipk_chan *ch, void *buf, size_t len, int64_t deadline_ns);
int ipk__stream_recv_batch(struct ipk_chan *ch, struct ipk_msg *m, unsigned n, int64_t deadline_ns);
int ipk__stream_flush(struct ipk_chan *ch, int64_t deadline_ns);
void ipk__stream_close(struct ipk_chan *ch);

/*
 * The ops every byte-stream transport (pipe, fifo, unix, tcp) shares, for
 * its table's designated initializers; the table adds .scheme, .open,
 * .listen and .accept (ipk__no_listen/ipk__no_accept where none).
 */
/* clang-format off */
#define IPK__STREAM_OPS \
	.send = ipk__stream_send, \
	.recv = ipk__stream_recv, \
	.send_tag = ipk__send_untagged, \
	.recv_tag = ipk__recv_untagged, \
	.send_batch = ipk__send_batch_loop, \
	.recv_batch = ipk__stream_recv_batch, \
	.flush = ipk__stream_flush, \
	.fd = ipk__fd_plain, \
	.close = ipk__stream_close, \
	.subscribers = ipk__no_subscribers
/* clang-format on */

#endif /* IPK_STREAM_H */
