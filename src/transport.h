/* SPDX-License-Identifier: MIT */
/*
 * transport.h - what a channel transport provides, and the channel and
 * listener objects that chan.c builds around it. Adding a transport is one
 * file in src/transport/ (its ops table and its URL scheme, struct
 * ipk__scheme) and one line in src/transport/registry.c.
 */
#ifndef IPK_TRANSPORT_H
#define IPK_TRANSPORT_H

#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <sys/un.h>

#include <ipckit/chan.h>

#include "internal.h"
#include "url_parse.h"

struct ipk_chan {
	const struct ipk_transport *tp;
	void *t;          /* the transport's own state */
	int fd;           /* what ipk_chan_fd() returns; owned by the transport */
	unsigned flags;   /* IPK_CHAN_* as opened */
	size_t max_msg;   /* msgsize= */
	size_t next_len;  /* length refused by the last -EMSGSIZE receive */
	uint64_t lost;    /* messages a lossy transport skipped (shm: rings) */
	uint64_t skipped; /* a ring subscriber's, before its start (from=) */
};

struct ipk_listener {
	const struct ipk_transport *tp;
	int fd;
	unsigned flags;
	size_t max_msg;
	struct ipk__ownfile file; /* the socket file it bound */
	char url[IPK__URL_MAX];   /* what a peer connects to */
	/* ipk_listener_set_access() (sockets.h); NULL: everyone */
	struct ipk__access *access;
};

/*
 * Every op is set. Deadlines are absolute (see internal.h). Ops that fail
 * leave the channel usable unless they say otherwise.
 */
struct ipk_transport {
	const char *scheme; /* URL text before ':' */
	/* Open one end: set ch->t, ch->fd and ch->max_msg (preset to the
	 * msgsize= option). May block until @deadline_ns. On failure,
	 * release everything it made: close() is not called. */
	int (*open)(struct ipk_chan *ch, const struct ipk_url *url, int64_t deadline_ns);
	/* One whole message of @len bytes (already checked <= max_msg), or
	 * nothing of it. Blocks until @deadline_ns. */
	int (*send)(struct ipk_chan *ch, const struct iovec *iov, int iovcnt, size_t len,
		    int64_t deadline_ns);
	/* One whole message; -EMSGSIZE sets ch->next_len, consumes nothing. */
	ssize_t (*recv)(struct ipk_chan *ch, void *buf, size_t len, int64_t deadline_ns);
	/* Tagged messages (mq: priority, sysvmq: type); ipk__send_untagged
	 * and ipk__recv_untagged where messages carry no tag. */
	int (*send_tag)(struct ipk_chan *ch, const void *buf, size_t len, long tag,
			int64_t deadline_ns);
	ssize_t (*recv_tag)(struct ipk_chan *ch, void *buf, size_t len, long select, long *tag,
			    int64_t deadline_ns);
	/* Batches: ipk__send_batch_loop/ipk__recv_batch_loop where the
	 * kernel has no batch call. Sizes are not checked by the caller. */
	int (*send_batch)(struct ipk_chan *ch, const struct ipk_msg *m, unsigned n,
			  int64_t deadline_ns);
	int (*recv_batch)(struct ipk_chan *ch, struct ipk_msg *m, unsigned n, int64_t deadline_ns);
	int (*flush)(struct ipk_chan *ch, int64_t deadline_ns);
	/* What ipk_chan_fd() returns: ipk__fd_plain (ch->fd) unless the
	 * descriptor is made on first use. */
	int (*fd)(struct ipk_chan *ch);
	/* Release everything, half-open state too; never blocks or fails. */
	void (*close)(struct ipk_chan *ch);
	/* Receiving ends attached to this sending end now (a ring's
	 * subscribers); ipk__no_subscribers (-EOPNOTSUPP) where it cannot
	 * be known. Never blocks. */
	int (*subscribers)(struct ipk_chan *ch);
	/* Listening transports only; ipk__no_listen where there is none. */
	int (*listen)(struct ipk_listener *l, const struct ipk_url *url);
	int (*accept)(struct ipk_listener *l, struct ipk_chan *ch, int64_t deadline_ns);
};

extern const struct ipk_transport ipk__transport_pipe;
extern const struct ipk_transport ipk__transport_fifo;
extern const struct ipk_transport ipk__transport_unix;
extern const struct ipk_transport ipk__transport_unix_dgram;
extern const struct ipk_transport ipk__transport_unix_seqpacket;
extern const struct ipk_transport ipk__transport_tcp;
extern const struct ipk_transport ipk__transport_mq;
extern const struct ipk_transport ipk__transport_sysvmq;
extern const struct ipk_transport ipk__transport_shm;
extern const struct ipk_transport ipk__transport_shm_mpsc; /* shm: with mode=mpsc */
extern const struct ipk_transport ipk__transport_nats;     /* IPK_HAVE_NATS builds */
extern const struct ipk_transport ipk__transport_dbus;

/* Each transport's URL scheme(s) (url_parse.h), listed in registry.c. */
extern const struct ipk__scheme ipk__scheme_pipe;
extern const struct ipk__scheme ipk__scheme_fifo;
extern const struct ipk__scheme ipk__scheme_unix;
extern const struct ipk__scheme ipk__scheme_unix_dgram;
extern const struct ipk__scheme ipk__scheme_unix_seqpacket;
extern const struct ipk__scheme ipk__scheme_tcp;
extern const struct ipk__scheme ipk__scheme_mq;
extern const struct ipk__scheme ipk__scheme_sysvmq;
extern const struct ipk__scheme ipk__scheme_shm;
extern const struct ipk__scheme ipk__scheme_nats; /* every build; .tp NULL without NATS */
extern const struct ipk__scheme ipk__scheme_dbus;

/* The relative timeout (0: try once, IPK_FOREVER, else > 0 ns; 1 once it
 * has passed, so the call says -ETIMEDOUT) for an absolute deadline: for
 * transports that call a mechanism's timed API (ring, mpsc). */
static inline int64_t ipk__timeout_of(int64_t deadline_ns)
{
	int64_t left;

	if (deadline_ns == IPK__NOWAIT)
		return 0;
	if (deadline_ns == IPK__NEVER)
		return IPK_FOREVER;
	left = deadline_ns - ipk__now_ns();
	return left > 0 ? left : 1;
}

/* Generic batches: one message after the other through the single ops. */
int ipk__send_batch_loop(struct ipk_chan *ch, const struct ipk_msg *m, unsigned n,
			 int64_t deadline_ns);
int ipk__recv_batch_loop(struct ipk_chan *ch, struct ipk_msg *m, unsigned n, int64_t deadline_ns);

/* Tag ops for transports whose messages carry no tag: only 0 passes. */
int ipk__send_untagged(struct ipk_chan *ch, const void *buf, size_t len, long tag,
		       int64_t deadline_ns);
ssize_t ipk__recv_untagged(struct ipk_chan *ch, void *buf, size_t len, long select, long *tag,
			   int64_t deadline_ns);

/* Ops for transports without a listener or without anything to flush. */
int ipk__no_listen(struct ipk_listener *l, const struct ipk_url *url);
int ipk__no_accept(struct ipk_listener *l, struct ipk_chan *ch, int64_t deadline_ns);
int ipk__no_flush(struct ipk_chan *ch, int64_t deadline_ns);
int ipk__no_subscribers(struct ipk_chan *ch);

/* The fd op of transports whose descriptor exists from open on. */
int ipk__fd_plain(struct ipk_chan *ch);

/* pipe.c: both ends of an anonymous pipe (ipk_chan_pipe()). */
int ipk__pipe_pair(struct ipk_chan *rd, struct ipk_chan *wr, const struct ipk_url *url);

/* The perm= option or 0600. */
mode_t ipk__url_mode(const struct ipk_url *url);

/* A ring subscriber's start from the from= option (the end without it),
 * and its waiting from wait= (added to o->flags), for the shm: and dbus:
 * transports. */
struct ipk_ring_sub_opts;
void ipk__ring_start(const struct ipk_url *url, struct ipk_ring_sub_opts *o);

#endif /* IPK_TRANSPORT_H */
