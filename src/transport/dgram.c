/* SPDX-License-Identifier: MIT */
/*
 * dgram.c - messages over Unix datagram and seqpacket sockets.
 *
 * The kernel keeps message boundaries, so there is no framing. What the
 * library adds: a receive never truncates (a message longer than the
 * caller's buffer lands partly in a spill buffer and is held for the next
 * receive, with one recvmsg on the fast path), batches go to the kernel in
 * one sendmmsg/recvmmsg, and a datagram server answers the last sender.
 */
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>

#include "dgram.h"
#include "internal.h"

#define BATCH_MAX 64

int ipk__dgram_new(int fd, bool seqpacket, bool server, size_t max, struct ipk__dgram **ret)
{
	struct ipk__dgram *d = calloc(1, sizeof(*d));

	if (d)
		d->hold = malloc(max ? max : 1);
	if (!d || !d->hold) {
		if (d)
			free(d);
		ipk__close(fd);
		return -ENOMEM;
	}
	d->fd = fd;
	d->seqpacket = seqpacket;
	d->server = server;
	d->max = max;
	*ret = d;
	return 0;
}

void ipk__dgram_close(struct ipk_chan *ch)
{
	struct ipk__dgram *d = ch->t;

	if (!d)
		return;
	ipk__close(d->fd);
	ipk__ownfile_remove(&d->file);
	free(d->hold);
	free(d);
}

/* A datagram peer that has gone shows up as several errors; one name. */
static int send_error(int err)
{
	if (err == ECONNREFUSED || err == ENOTCONN || err == ENOENT)
		return -EPIPE;
	return -err;
}

/* Wait until a connected socket may take a message. */
static int wait_room(struct ipk__dgram *d, int64_t deadline_ns)
{
	int r = ipk__wait_fd(d->fd, POLLOUT, deadline_ns);

	return r < 0 ? r : 0;
}

/*
 * Send one message from a server, whose peer's queue is full. The server's
 * socket is not connected, so poll() cannot see room in the peer's queue;
 * only a blocking send waits for it (the kernel wakes it as the peer
 * reads). So on this slow path the socket blocks for one sendmsg, bounded
 * by SO_SNDTIMEO; every other call passes MSG_DONTWAIT and is unaffected.
 * Return: 0; -EAGAIN (no waiting allowed); -ETIMEDOUT; -EPIPE; -errno.
 */
static int send_waiting(struct ipk__dgram *d, const struct msghdr *mh, int64_t deadline_ns)
{
	int fl, r = 0;

	if (deadline_ns == IPK__NOWAIT)
		return -EAGAIN;
	fl = fcntl(d->fd, F_GETFL);
	if (fl < 0 || fcntl(d->fd, F_SETFL, fl & ~O_NONBLOCK) < 0)
		return ipk__neg_errno();
	for (;;) {
		struct timeval tv = { 0, 0 }; /* no limit */

		if (deadline_ns != IPK__NEVER) {
			int64_t left = deadline_ns - ipk__now_ns();

			if (left <= 0) {
				r = -ETIMEDOUT;
				break;
			}
			left = (left + 999) / 1000; /* microseconds, rounded up */
			tv.tv_sec = left / 1000000;
			tv.tv_usec = left % 1000000;
		}
		if (setsockopt(d->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) < 0) {
			r = ipk__neg_errno();
			break;
		}
		if (sendmsg(d->fd, mh, MSG_NOSIGNAL) >= 0)
			break;
		if (errno == EINTR)
			continue;
		r = errno == EAGAIN ? -ETIMEDOUT : send_error(errno); /* EAGAIN: timed out */
		break;
	}
	(void)fcntl(d->fd, F_SETFL, fl);
	return r;
}

static void address_reply(struct ipk__dgram *d, struct msghdr *mh)
{
	if (d->server) {
		mh->msg_name = &d->peer;
		mh->msg_namelen = d->peer_len;
	}
}

int ipk__dgram_send(struct ipk_chan *ch, const struct iovec *iov, int iovcnt, size_t len,
		    int64_t deadline_ns)
{
	struct ipk__dgram *d = ch->t;
	struct msghdr mh = { .msg_iov = (struct iovec *)iov, .msg_iovlen = (size_t)iovcnt };

	if (d->seqpacket && len == 0)
		return -EINVAL; /* would read as the end of the stream */
	if (d->server && d->peer_len == 0)
		return -EDESTADDRREQ;
	address_reply(d, &mh);
	for (;;) {
		int r;

		if (sendmsg(d->fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT) >= 0)
			return 0;
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN)
			return send_error(errno);
		if (d->server)
			return send_waiting(d, &mh, deadline_ns);
		r = wait_room(d, deadline_ns);
		if (r < 0)
			return r;
	}
}

/* Remember who sent what we just received, for the reply. */
static void note_sender(struct ipk__dgram *d, const struct sockaddr_un *from, socklen_t len)
{
	if (!d->server)
		return;
	/* an unbound sender has no address to answer */
	d->peer_len = len > sizeof(sa_family_t) ? len : 0;
	if (d->peer_len)
		memcpy(&d->peer, from, len);
}

/* A message over the channel's limit was cut by the kernel: it is lost,
 * but its size tells what msgsize= the peer needs. */
static int oversize(struct ipk_chan *ch, struct ipk__dgram *d, size_t len)
{
	ch->next_len = len;
	if (d->seqpacket) {
		d->broken = true;
		(void)shutdown(d->fd, SHUT_RDWR);
	}
	return -EPROTO;
}

ssize_t ipk__dgram_recv(struct ipk_chan *ch, void *buf, size_t len, int64_t deadline_ns)
{
	struct ipk__dgram *d = ch->t;
	size_t direct = len < d->max ? len : d->max;
	struct iovec iov[2] = {
		{ .iov_base = buf, .iov_len = direct },
		{ .iov_base = d->hold, .iov_len = d->max - direct },
	};
	struct sockaddr_un from;
	struct msghdr mh = { .msg_iov = iov, .msg_iovlen = 2 };

	if (d->pending_err) {
		int r = d->pending_err;

		d->pending_err = 0;
		ch->next_len = d->pending_len;
		return r;
	}
	if (d->held) {
		if (len < d->hold_len) {
			ch->next_len = d->hold_len;
			return -EMSGSIZE;
		}
		memcpy(buf, d->hold, d->hold_len);
		d->held = false;
		return (ssize_t)d->hold_len;
	}
	if (d->broken)
		return -EPIPE;
	for (;;) {
		ssize_t n;
		int r;

		if (d->server) {
			mh.msg_name = &from;
			mh.msg_namelen = sizeof(from);
		}
		/* MSG_TRUNC: the result is the real length, even if longer */
		n = recvmsg(d->fd, &mh, MSG_DONTWAIT | MSG_TRUNC | MSG_CMSG_CLOEXEC);
		if (n >= 0) {
			size_t got = (size_t)n;

			if (n == 0 && d->seqpacket)
				return -EPIPE;
			if (got > d->max)
				return oversize(ch, d, got);
			note_sender(d, &from, mh.msg_namelen);
			if (got <= len)
				return n;
			/* Longer than @buf: its head is in buf, its tail in
			 * hold. Put it together in hold and keep it. */
			memmove(d->hold + direct, d->hold, got - direct);
			memcpy(d->hold, buf, direct);
			d->hold_len = got;
			d->held = true;
			ch->next_len = got;
			return -EMSGSIZE;
		}
		r = ipk__retry_wait(d->fd, POLLIN, deadline_ns);
		if (r < 0)
			return r;
	}
}

int ipk__dgram_send_batch(struct ipk_chan *ch, const struct ipk_msg *m, unsigned n,
			  int64_t deadline_ns)
{
	struct ipk__dgram *d = ch->t;
	struct mmsghdr vec[BATCH_MAX];
	struct iovec iov[BATCH_MAX];
	unsigned ok = 0, sent = 0;

	if (d->server && d->peer_len == 0)
		return -EDESTADDRREQ;
	/* only the valid messages in front go; the first bad one stops it */
	while (ok < n && m[ok].len <= d->max && (m[ok].buf || m[ok].len == 0) &&
	       !(d->seqpacket && m[ok].len == 0))
		ok++;
	if (ok == 0)
		return m[0].len > d->max ? -EMSGSIZE : -EINVAL;

	while (sent < ok) {
		unsigned k = ok - sent < BATCH_MAX ? ok - sent : BATCH_MAX;
		int r;

		memset(vec, 0, k * sizeof(vec[0]));
		for (unsigned i = 0; i < k; i++) {
			iov[i] = (struct iovec){ .iov_base = m[sent + i].buf,
						 .iov_len = m[sent + i].len };
			vec[i].msg_hdr.msg_iov = &iov[i];
			vec[i].msg_hdr.msg_iovlen = 1;
			address_reply(d, &vec[i].msg_hdr);
		}
		r = sendmmsg(d->fd, vec, k, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (r > 0) {
			sent += (unsigned)r;
			continue;
		}
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && errno != EAGAIN) {
			r = send_error(errno);
		} else if (d->server) {
			r = send_waiting(d, &vec[0].msg_hdr, deadline_ns);
			sent += r == 0;
		} else {
			r = wait_room(d, deadline_ns);
		}
		if (r < 0)
			return sent ? (int)sent : r;
	}
	return (int)sent;
}

/*
 * Hand out what one recvmmsg() returned. A message the kernel cut (over the
 * maximum) is dropped from the batch and reported by the next call, so the
 * messages after it, already taken from the socket, are not lost; the end
 * of a seqpacket stream ends the batch.
 */
static int take_batch(struct ipk_chan *ch, struct ipk__dgram *d, struct ipk_msg *m,
		      struct mmsghdr *vec, struct sockaddr_un *from, int r)
{
	unsigned out = 0;

	for (int i = 0; i < r; i++) {
		size_t got = vec[i].msg_len;

		if (got == 0 && d->seqpacket)
			return out ? (int)out : -EPIPE;
		if (got > d->max) {
			d->pending_err = oversize(ch, d, got);
			d->pending_len = got;
			continue;
		}
		if (out != (unsigned)i)
			memcpy(m[out].buf, m[i].buf, got);
		m[out++].len = got;
		note_sender(d, &from[i], vec[i].msg_hdr.msg_namelen);
	}
	if (out)
		ch->next_len = 0; /* this call succeeds; the next reports the drop */
	else
		d->pending_err = 0; /* nothing else came: report the drop now */
	return out ? (int)out : -EPROTO;
}

int ipk__dgram_recv_batch(struct ipk_chan *ch, struct ipk_msg *m, unsigned n, int64_t deadline_ns)
{
	struct ipk__dgram *d = ch->t;
	struct mmsghdr vec[BATCH_MAX];
	struct iovec iov[BATCH_MAX];
	struct sockaddr_un from[BATCH_MAX];
	unsigned k = n < BATCH_MAX ? n : BATCH_MAX;

	/* recvmmsg cannot hold a message back: use it only when every
	 * buffer takes the largest message */
	for (unsigned i = 0; i < k; i++)
		if (m[i].len < d->max || !m[i].buf)
			return ipk__recv_batch_loop(ch, m, n, deadline_ns);
	if (d->held || d->pending_err)
		return ipk__recv_batch_loop(ch, m, n, deadline_ns);
	if (d->broken)
		return -EPIPE;

	for (;;) {
		int r;

		memset(vec, 0, k * sizeof(vec[0]));
		for (unsigned i = 0; i < k; i++) {
			iov[i] = (struct iovec){ .iov_base = m[i].buf, .iov_len = d->max };
			vec[i].msg_hdr.msg_iov = &iov[i];
			vec[i].msg_hdr.msg_iovlen = 1;
			if (d->server) {
				vec[i].msg_hdr.msg_name = &from[i];
				vec[i].msg_hdr.msg_namelen = sizeof(from[i]);
			}
		}
		r = recvmmsg(d->fd, vec, k, MSG_DONTWAIT | MSG_TRUNC | MSG_CMSG_CLOEXEC, NULL);
		if (r > 0)
			return take_batch(ch, d, m, vec, from, r);
		r = r < 0 ? ipk__retry_wait(d->fd, POLLIN, deadline_ns) /* EINTR, EAGAIN */
			  : ipk__wait_fd(d->fd, POLLIN, deadline_ns);
		if (r < 0)
			return r;
	}
}
