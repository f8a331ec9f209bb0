/* SPDX-License-Identifier: MIT */
/*
 * chan.c - the public channel and listener API: argument checks, URL
 * parsing, deadlines and size limits, then the transport's ops. Nothing
 * here knows how any transport moves bytes.
 */
#include <stdlib.h>
#include <string.h>

#include <ipckit/chan.h>
#include <ipckit/ring.h>

#include "internal.h"
#include "sockets.h"
#include "transport.h"

#define OPEN_FLAGS                                                                             \
	(IPK_CHAN_CREATE | IPK_CHAN_EXCL | IPK_CHAN_KEEP | IPK_CHAN_RDONLY | IPK_CHAN_WRONLY | \
	 IPK_CHAN_NONBLOCK)
#define LISTEN_FLAGS (IPK_CHAN_EXCL | IPK_CHAN_KEEP | IPK_CHAN_NONBLOCK)

mode_t ipk__url_mode(const struct ipk_url *url)
{
	return (mode_t)ipk__url_num(url, IPK__OPT_PERM, 0600);
}

void ipk__ring_start(const struct ipk_url *url, struct ipk_ring_sub_opts *o)
{
	static const uint32_t from[] = {
		[IPK__FROM_END] = IPK_RING_FROM_END,
		[IPK__FROM_OLDEST] = IPK_RING_FROM_OLDEST,
		[IPK__FROM_SEQ] = IPK_RING_FROM_SEQ,
	};

	static const uint32_t wait[] = {
		[IPK__WAIT_FUTEX] = 0,
		[IPK__WAIT_SPIN] = IPK_RING_SPIN,
		[IPK__WAIT_ADAPTIVE] = IPK_RING_ADAPTIVE,
	};

	o->from = from[ipk__url_num(url, IPK__OPT_FROM, IPK__FROM_END)];
	o->from_seq = url->from_seq;
	o->flags |= wait[ipk__url_num(url, IPK__OPT_WAIT, IPK__WAIT_FUTEX)];
}

static int64_t chan_deadline(const ipk_chan *ch, int64_t timeout_ns)
{
	return ch->flags & IPK_CHAN_NONBLOCK ? IPK__NOWAIT : ipk__deadline(timeout_ns);
}

static ipk_chan *chan_new(unsigned flags, size_t max_msg)
{
	ipk_chan *ch = calloc(1, sizeof(*ch));

	if (ch) {
		ch->fd = -1;
		ch->flags = flags;
		ch->max_msg = max_msg;
	}
	return ch;
}

IPK_API int ipk_chan_open(const char *url, unsigned flags, int64_t timeout_ns, ipk_chan **ret)
{
	const struct ipk_transport *tp;
	struct ipk_url u;
	ipk_chan *ch;
	int r;

	IPK_CHECK_ARG(url && ret);
	IPK_CHECK_ARG(!(flags & ~OPEN_FLAGS));
	IPK_CHECK_ARG(!((flags & IPK_CHAN_RDONLY) && (flags & IPK_CHAN_WRONLY)));
	IPK_CHECK_ARG(!(flags & IPK_CHAN_EXCL) || (flags & IPK_CHAN_CREATE));
	r = ipk__url_parse(url, &u, NULL, NULL);
	if (r < 0)
		return r;
	if (u.scheme == &ipk__scheme_pipe)
		return -EINVAL; /* a pipe has no name to open: ipk_chan_pipe() */
	tp = u.scheme->tp;
	if (!tp)
		return -EPROTONOSUPPORT;

	ch = chan_new(flags, ipk__url_num(&u, IPK__OPT_MSGSIZE, IPK_CHAN_MSGSIZE_DEFAULT));
	if (!ch)
		return -ENOMEM;
	ch->tp = tp;
	r = tp->open(ch, &u, chan_deadline(ch, timeout_ns));
	if (r < 0) {
		free(ch); /* open released its own state */
		return r;
	}
	*ret = ch;
	return 0;
}

IPK_API int ipk_chan_pipe(const char *url, unsigned flags, ipk_chan **ret_rd, ipk_chan **ret_wr)
{
	struct ipk_url u;
	ipk_chan *rd, *wr;
	size_t max;
	int r;

	IPK_CHECK_ARG(ret_rd && ret_wr);
	IPK_CHECK_ARG(!(flags & ~IPK_CHAN_NONBLOCK));
	r = ipk__url_parse(url ? url : "pipe:", &u, NULL, NULL);
	if (r < 0)
		return r;
	IPK_CHECK_ARG(u.scheme == &ipk__scheme_pipe);

	max = ipk__url_num(&u, IPK__OPT_MSGSIZE, IPK_CHAN_MSGSIZE_DEFAULT);
	rd = chan_new(flags | IPK_CHAN_RDONLY, max);
	wr = chan_new(flags | IPK_CHAN_WRONLY, max);
	if (!rd || !wr) {
		r = -ENOMEM;
		goto fail;
	}
	r = ipk__pipe_pair(rd, wr, &u);
	if (r < 0)
		goto fail;
	*ret_rd = rd;
	*ret_wr = wr;
	return 0;
fail:
	free(rd);
	free(wr);
	return r;
}

IPK_API int ipk_chan_sendv(ipk_chan *ch, const struct iovec *iov, int iovcnt, int64_t timeout_ns)
{
	ssize_t len;

	IPK_CHECK_ARG(ch);
	len = ipk__iov_len(iov, iovcnt);
	if (len < 0)
		return (int)len;
	if ((size_t)len > ch->max_msg)
		return -EMSGSIZE;
	return ch->tp->send(ch, iov, iovcnt, (size_t)len, chan_deadline(ch, timeout_ns));
}

IPK_API int ipk_chan_send(ipk_chan *ch, const void *buf, size_t len, int64_t timeout_ns)
{
	struct iovec iov = { .iov_base = (void *)buf, .iov_len = len };

	IPK_CHECK_ARG(ch && (buf || len == 0));
	if (len > ch->max_msg)
		return -EMSGSIZE;
	return ch->tp->send(ch, &iov, 1, len, chan_deadline(ch, timeout_ns));
}

IPK_API ssize_t ipk_chan_recv(ipk_chan *ch, void *buf, size_t len, int64_t timeout_ns)
{
	IPK_CHECK_ARG(ch && (buf || len == 0));
	ch->next_len = 0;
	return ch->tp->recv(ch, buf, len, chan_deadline(ch, timeout_ns));
}

IPK_API int ipk_chan_send_tag(ipk_chan *ch, const void *buf, size_t len, long tag,
			      int64_t timeout_ns)
{
	IPK_CHECK_ARG(ch && (buf || len == 0));
	if (len > ch->max_msg)
		return -EMSGSIZE;
	return ch->tp->send_tag(ch, buf, len, tag, chan_deadline(ch, timeout_ns));
}

IPK_API ssize_t ipk_chan_recv_tag(ipk_chan *ch, void *buf, size_t len, long select, long *tag,
				  int64_t timeout_ns)
{
	long t = 0;
	ssize_t r;

	IPK_CHECK_ARG(ch && (buf || len == 0));
	ch->next_len = 0;
	r = ch->tp->recv_tag(ch, buf, len, select, &t, chan_deadline(ch, timeout_ns));
	if (r >= 0 && tag)
		*tag = t;
	return r;
}

int ipk__send_untagged(struct ipk_chan *ch, const void *buf, size_t len, long tag,
		       int64_t deadline_ns)
{
	struct iovec iov = { .iov_base = (void *)buf, .iov_len = len };

	if (tag != 0)
		return -EINVAL;
	return ch->tp->send(ch, &iov, 1, len, deadline_ns);
}

ssize_t ipk__recv_untagged(struct ipk_chan *ch, void *buf, size_t len, long select, long *tag,
			   int64_t deadline_ns)
{
	if (select != 0)
		return -EINVAL;
	*tag = 0;
	return ch->tp->recv(ch, buf, len, deadline_ns);
}

IPK_API size_t ipk_chan_next_len(const ipk_chan *ch)
{
	return ch ? ch->next_len : 0;
}

IPK_API int ipk_chan_send_batch(ipk_chan *ch, const struct ipk_msg *msgs, unsigned n,
				int64_t timeout_ns)
{
	IPK_CHECK_ARG(ch && msgs && n > 0);
	return ch->tp->send_batch(ch, msgs, n, chan_deadline(ch, timeout_ns));
}

IPK_API int ipk_chan_recv_batch(ipk_chan *ch, struct ipk_msg *msgs, unsigned n, int64_t timeout_ns)
{
	IPK_CHECK_ARG(ch && msgs && n > 0);
	ch->next_len = 0;
	return ch->tp->recv_batch(ch, msgs, n, chan_deadline(ch, timeout_ns));
}

int ipk__send_batch_loop(struct ipk_chan *ch, const struct ipk_msg *m, unsigned n,
			 int64_t deadline_ns)
{
	for (unsigned i = 0; i < n; i++) {
		struct iovec iov = { .iov_base = m[i].buf, .iov_len = m[i].len };
		int r = -EMSGSIZE;

		if (m[i].len <= ch->max_msg && (m[i].buf || m[i].len == 0))
			r = ch->tp->send(ch, &iov, 1, m[i].len, deadline_ns);
		if (r < 0)
			return i ? (int)i : r;
	}
	return (int)n;
}

int ipk__recv_batch_loop(struct ipk_chan *ch, struct ipk_msg *m, unsigned n, int64_t deadline_ns)
{
	for (unsigned i = 0; i < n; i++) {
		/* the first waits; the rest take only what is already there */
		ssize_t r = ch->tp->recv(ch, m[i].buf, m[i].len, i ? IPK__NOWAIT : deadline_ns);

		if (r < 0)
			return i ? (int)i : (int)r;
		m[i].len = (size_t)r;
	}
	return (int)n;
}

IPK_API int ipk_chan_flush(ipk_chan *ch, int64_t timeout_ns)
{
	IPK_CHECK_ARG(ch);
	return ch->tp->flush(ch, chan_deadline(ch, timeout_ns));
}

IPK_API int ipk_chan_fd(const ipk_chan *ch)
{
	IPK_CHECK_ARG(ch);
	/* The channel is const to the caller; making a descriptor on first
	 * use changes only the transport's own state. */
	return ch->tp->fd((ipk_chan *)ch);
}

IPK_API uint64_t ipk_chan_lost(const ipk_chan *ch)
{
	return ch ? ch->lost : 0;
}

IPK_API uint64_t ipk_chan_skipped(const ipk_chan *ch)
{
	return ch ? ch->skipped : 0;
}

IPK_API size_t ipk_chan_max_msg(const ipk_chan *ch)
{
	return ch ? ch->max_msg : 0;
}

IPK_API void ipk_chan_close(ipk_chan *ch)
{
	if (!ch)
		return;
	ch->tp->close(ch);
	free(ch);
}

int ipk__no_listen(struct ipk_listener *l, const struct ipk_url *url)
{
	(void)l;
	(void)url;
	return -EOPNOTSUPP;
}

int ipk__no_accept(struct ipk_listener *l, struct ipk_chan *ch, int64_t deadline_ns)
{
	(void)l;
	(void)ch;
	(void)deadline_ns;
	return -EOPNOTSUPP;
}

int ipk__no_flush(struct ipk_chan *ch, int64_t deadline_ns)
{
	(void)ch;
	(void)deadline_ns;
	return 0;
}

int ipk__no_subscribers(struct ipk_chan *ch)
{
	(void)ch;
	return -EOPNOTSUPP;
}

IPK_API int ipk_chan_subscribers(ipk_chan *ch)
{
	IPK_CHECK_ARG(ch);
	return ch->tp->subscribers(ch);
}

int ipk__fd_plain(struct ipk_chan *ch)
{
	return ch->fd;
}

IPK_API int ipk_listen(const char *url, unsigned flags, ipk_listener **ret)
{
	const struct ipk_transport *tp;
	struct ipk_url u;
	ipk_listener *l;
	int r;

	IPK_CHECK_ARG(url && ret);
	IPK_CHECK_ARG(!(flags & ~LISTEN_FLAGS));
	r = ipk__url_parse(url, &u, NULL, NULL);
	if (r < 0)
		return r;
	tp = u.scheme->tp;
	if (!tp)
		return -EPROTONOSUPPORT;
	if (tp->listen == ipk__no_listen)
		return -EOPNOTSUPP;

	l = calloc(1, sizeof(*l));
	if (!l)
		return -ENOMEM;
	l->tp = tp;
	l->fd = -1;
	l->flags = flags | IPK_CHAN_CREATE;
	l->max_msg = ipk__url_num(&u, IPK__OPT_MSGSIZE, IPK_CHAN_MSGSIZE_DEFAULT);
	r = tp->listen(l, &u);
	if (r < 0) {
		ipk_listener_close(l);
		return r;
	}
	*ret = l;
	return 0;
}

IPK_API int ipk_accept(ipk_listener *l, int64_t timeout_ns, ipk_chan **ret)
{
	ipk_chan *ch;
	int r;

	IPK_CHECK_ARG(l && ret);
	ch = chan_new(l->flags & IPK_CHAN_NONBLOCK, l->max_msg);
	if (!ch)
		return -ENOMEM;
	ch->tp = l->tp;
	r = l->tp->accept(l, ch, ipk__deadline(timeout_ns));
	if (r < 0) {
		free(ch);
		return r;
	}
	*ret = ch;
	return 0;
}

IPK_API int ipk_listener_fd(const ipk_listener *l)
{
	IPK_CHECK_ARG(l);
	return l->fd;
}

IPK_API int ipk_listener_url(const ipk_listener *l, char *buf, size_t len)
{
	size_t n;

	IPK_CHECK_ARG(l && (buf || len == 0));
	n = strlen(l->url);
	if (n >= len)
		return -ENOSPC;
	memcpy(buf, l->url, n + 1);
	return (int)n;
}

IPK_API void ipk_listener_close(ipk_listener *l)
{
	if (!l)
		return;
	ipk__close(l->fd);
	if (!(l->flags & IPK_CHAN_KEEP))
		ipk__ownfile_remove(&l->file);
	ipk__access_free(l->access);
	free(l);
}
