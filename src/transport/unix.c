/* SPDX-License-Identifier: MIT */
/*
 * transport/unix.c - Unix domain sockets: unix: (stream, framed),
 * unix+seqpacket: and unix+dgram: (kernel message boundaries).
 */
#include <stdio.h>
#include <sys/socket.h>

#include <stdlib.h>

#include <ipckit/unix.h>

#include "dgram.h"
#include "internal.h"
#include "sock.h"
#include "sockets.h"
#include "stream.h"

#define BACKLOG_DEFAULT 128
/* What a datagram costs in the send buffer beyond its payload. */
#define DGRAM_OVERHEAD 1024

static int sock_type(const struct ipk_chan *ch)
{
	return ch->tp == &ipk__transport_unix_dgram       ? SOCK_DGRAM
	       : ch->tp == &ipk__transport_unix_seqpacket ? SOCK_SEQPACKET
							  : SOCK_STREAM;
}

/* Make room for the largest message in the send buffer; the kernel caps
 * the request at net.core.wmem_max, which then limits msgsize=. */
static int fit_sndbuf(int fd, size_t max)
{
	int want = (int)(max + DGRAM_OVERHEAD), have;
	socklen_t len = sizeof(have);

	if (getsockopt(fd, SOL_SOCKET, SO_SNDBUF, &have, &len) < 0)
		return ipk__neg_errno();
	if (have / 2 >= want) /* the kernel reports twice what it grants */
		return 0;
	if (setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &want, sizeof(want)) < 0)
		return ipk__neg_errno();
	return 0;
}

/* Wrap a connected socket as the channel's state (takes @fd); a stream
 * socket's messages are framed as @framing (enum ipk__framing). */
static int adopt(struct ipk_chan *ch, int fd, bool server, int framing)
{
	int type = sock_type(ch), r;

	if (type != SOCK_STREAM) {
		r = fit_sndbuf(fd, ch->max_msg);
		if (r < 0) {
			ipk__close(fd);
			return r;
		}
	}
	ch->fd = fd;
	if (type == SOCK_STREAM)
		return ipk__stream_new(fd, fd, true, ch->max_msg, framing,
				       (struct ipk__stream **)&ch->t);
	return ipk__dgram_new(fd, type == SOCK_SEQPACKET, server, ch->max_msg,
			      (struct ipk__dgram **)&ch->t);
}

static int unix_listen(struct ipk_listener *l, const struct ipk_url *url)
{
	int type = l->tp == &ipk__transport_unix_seqpacket ? SOCK_SEQPACKET : SOCK_STREAM;
	int backlog = (int)ipk__url_num(url, IPK__OPT_BACKLOG, BACKLOG_DEFAULT);
	int n, r;

	l->fd = socket(AF_UNIX, type | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (l->fd < 0)
		return ipk__neg_errno();
	r = ipk__unix_bind(l->fd, type, url, l->flags, &l->file);
	if (r < 0)
		return r;
	if (listen(l->fd, backlog) < 0)
		return ipk__neg_errno();
	n = snprintf(l->url, sizeof(l->url), "%s:%s%s", url->scheme_name, url->abstract ? "@" : "",
		     url->path);
	ipk__listener_url_opts(l, n, url);
	ipk__stream_listener_url(l, url);
	return 0;
}

static int unix_accept(struct ipk_listener *l, struct ipk_chan *ch, int64_t deadline_ns)
{
	int fd, r;

	r = ipk__sock_accept(l->fd, deadline_ns, &fd);
	if (r < 0)
		return r;
	/* before a byte of the peer's is read: a refused peer sees EOF */
	r = ipk__access_check(l->access, fd);
	if (r < 0) {
		ipk__close(fd);
		return r;
	}
	return adopt(ch, fd, false,
		     sock_type(ch) == SOCK_STREAM ? ipk__stream_listener_framing(l)
						  : IPK__FRAMING_LEN);
}

static int unix_open(struct ipk_chan *ch, const struct ipk_url *url, int64_t deadline_ns)
{
	int type = sock_type(ch), fd, r;
	struct sockaddr_un sa;
	socklen_t len;

	if (ch->flags & (IPK_CHAN_RDONLY | IPK_CHAN_WRONLY))
		return -EINVAL; /* sockets carry both ways */
	r = ipk__unix_addr(url, &sa, &len);
	if (r < 0)
		return r;
	if (!(ch->flags & IPK_CHAN_CREATE)) {
		r = ipk__sock_connect(AF_UNIX, type, (struct sockaddr *)&sa, len,
				      type == SOCK_DGRAM, deadline_ns, &fd);
		return r < 0 ? r : adopt(ch, fd, false, ipk__stream_framing(url));
	}
	if (type != SOCK_DGRAM)
		return ipk__sock_accept_one(ch, url, deadline_ns);

	/* a datagram server: bound, not connected; it answers the last sender */
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return ipk__neg_errno();
	{
		struct ipk__ownfile file = { 0 };

		r = ipk__unix_bind(fd, SOCK_DGRAM, url, ch->flags, &file);
		if (r == 0)
			r = adopt(ch, fd, true, IPK__FRAMING_LEN);
		else
			ipk__close(fd);
		if (r < 0)
			ipk__ownfile_remove(&file);
		else if (!(ch->flags & IPK_CHAN_KEEP))
			((struct ipk__dgram *)ch->t)->file = file;
	}
	return r;
}

IPK_API int ipk_listener_set_access(ipk_listener *l, const struct ipk_access *a)
{
	struct ipk__access *n;
	int r;

	IPK_CHECK_ARG(l);
	IPK_CHECK_ARG(!a || ((a->uids || !a->n_uids) && (a->gids || !a->n_gids)));
	if (l->tp != &ipk__transport_unix && l->tp != &ipk__transport_unix_seqpacket)
		return -EOPNOTSUPP;
	r = ipk__access_new(a, l->access, &n);
	if (r < 0)
		return r;
	ipk__access_free(l->access);
	l->access = n;
	return 0;
}

IPK_API unsigned long ipk_listener_refused(const ipk_listener *l, struct ipk_cred *ret)
{
	return l ? ipk__access_refused(l->access, ret) : 0;
}

const struct ipk_transport ipk__transport_unix = {
	.scheme = "unix",
	.open = unix_open,
	IPK__STREAM_OPS,
	.listen = unix_listen,
	.accept = unix_accept,
};

const struct ipk_transport ipk__transport_unix_seqpacket = {
	.scheme = "unix+seqpacket",
	.open = unix_open,
	IPK__DGRAM_OPS,
	.listen = unix_listen,
	.accept = unix_accept,
};

const struct ipk_transport ipk__transport_unix_dgram = {
	.scheme = "unix+dgram",
	.open = unix_open,
	IPK__DGRAM_OPS,
	.listen = ipk__no_listen,
	.accept = ipk__no_accept,
};

/* The URL: scheme, address, options (url_parse.h). */
const struct ipk__scheme ipk__scheme_unix = {
	.name = "unix",
	.addr = IPK__ADDR_UNIX,
	.opts = IPK__OPT(IPK__OPT_MSGSIZE) | IPK__OPT(IPK__OPT_BACKLOG) | IPK__OPT(IPK__OPT_PERM) |
		IPK__OPT(IPK__OPT_FRAMING),
	.obj = IPK__OBJ_UNIX,
	.tp = &ipk__transport_unix,
};

const struct ipk__scheme ipk__scheme_unix_dgram = {
	.name = "unix+dgram",
	.addr = IPK__ADDR_UNIX,
	.opts = IPK__OPT(IPK__OPT_MSGSIZE) | IPK__OPT(IPK__OPT_PERM),
	.obj = IPK__OBJ_UNIX,
	.tp = &ipk__transport_unix_dgram,
};

const struct ipk__scheme ipk__scheme_unix_seqpacket = {
	.name = "unix+seqpacket",
	.addr = IPK__ADDR_UNIX,
	.opts = IPK__OPT(IPK__OPT_MSGSIZE) | IPK__OPT(IPK__OPT_BACKLOG) | IPK__OPT(IPK__OPT_PERM),
	.obj = IPK__OBJ_UNIX,
	.tp = &ipk__transport_unix_seqpacket,
};
