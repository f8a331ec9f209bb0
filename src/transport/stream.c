/* SPDX-License-Identifier: MIT */
/*
 * stream.c - whole messages over byte streams. Sends write a frame with one
 * writev: a 4-byte length and the payload (framing=len), the payload and a
 * '\n' (framing=line), or the payload alone (framing=none). Framed
 * receives read ahead into a buffer a little larger than the biggest
 * message and hand out messages from it, so a burst of small messages costs
 * one read; framing=none reads straight into the caller's buffer, and each
 * read is a message. Descriptors are non-blocking: waiting is
 * ipk__wait_fd() against the caller's deadline.
 *
 * A deadline that strikes mid-frame cannot take back the bytes already in
 * the kernel; the rest of the frame moves into the channel's own buffer and
 * goes out before anything else, so the peer never sees a torn frame while
 * this end lives.
 */
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>

#include "internal.h"
#include "stream.h"

#define IOV_LOCAL 64

int ipk__stream_new(int rfd, int wfd, bool is_socket, size_t max, int framing,
		    struct ipk__stream **ret)
{
	struct ipk__stream *s = calloc(1, sizeof(*s));

	if (!s)
		goto fail;
	s->rfd = rfd;
	s->wfd = wfd;
	s->is_socket = is_socket;
	s->max = max;
	s->framing = (uint8_t)framing;
	/* a buffer of more than max bytes holds a whole frame or line, or
	 * proves a line too long; framing=none reads into the caller's */
	if (rfd >= 0 && framing != IPK__FRAMING_NONE) {
		s->rx.cap = max + IPK__FRAME_HDR;
		s->rx.buf = malloc(s->rx.cap);
		if (!s->rx.buf)
			goto fail;
	}
	if (wfd >= 0) {
		s->tx = malloc(max + IPK__FRAME_HDR);
		if (!s->tx)
			goto fail;
	}
	*ret = s;
	return 0;

fail:
	if (s) {
		ipk__stream_free(s);
	} else {
		ipk__close(rfd);
		if (wfd != rfd)
			ipk__close(wfd);
	}
	return -ENOMEM;
}

void ipk__stream_free(struct ipk__stream *s)
{
	if (!s)
		return;
	ipk__close(s->rfd);
	if (s->wfd != s->rfd)
		ipk__close(s->wfd);
	ipk__ownfile_remove(&s->file);
	free(s->rx.buf);
	free(s->tx);
	free(s);
}

/*
 * Write @total bytes from *iovp, waiting for room until @deadline_ns.
 * *done counts what went out, *iovp and *cntp track the rest.
 */
static int write_until(struct ipk__stream *s, struct iovec **iovp, int *cntp, size_t total,
		       int64_t deadline_ns, size_t *done)
{
	*done = 0;
	while (*done < total) {
		ssize_t n = ipk__writev_some(s->wfd, s->is_socket, *iovp, *cntp);
		int r;

		if (n > 0) {
			*done += (size_t)n;
			*iovp = ipk__iov_advance(*iovp, cntp, (size_t)n);
			continue;
		}
		if (n != -EAGAIN)
			return (int)n;
		r = ipk__wait_fd(s->wfd, POLLOUT, deadline_ns);
		if (r < 0)
			return r;
	}
	return 0;
}

static bool is_timeout(int r)
{
	return r == -EAGAIN || r == -ETIMEDOUT;
}

static int flush_pending(struct ipk__stream *s, int64_t deadline_ns)
{
	struct iovec v = { .iov_base = s->tx + s->tx_lo, .iov_len = s->tx_hi - s->tx_lo };
	struct iovec *iov = &v;
	size_t done;
	int cnt = 1, r;

	if (s->tx_lo == s->tx_hi)
		return 0;
	r = write_until(s, &iov, &cnt, v.iov_len, deadline_ns, &done);
	s->tx_lo += done;
	if (s->tx_lo == s->tx_hi)
		s->tx_lo = s->tx_hi = 0;
	if (r < 0 && !is_timeout(r))
		s->tx_broken = true; /* the frame can never be finished */
	return r;
}

/* framing=line: a newline inside a message would end it early. */
static bool has_newline(const struct iovec *iov, int iovcnt)
{
	for (int i = 0; i < iovcnt; i++)
		if (iov[i].iov_len && memchr(iov[i].iov_base, '\n', iov[i].iov_len))
			return true;
	return false;
}

int ipk__stream_send(struct ipk_chan *ch, const struct iovec *iov, int iovcnt, size_t len,
		     int64_t deadline_ns)
{
	struct ipk__stream *s = ch->t;
	struct iovec local[IOV_LOCAL], *v = local;
	uint8_t hdr[IPK__FRAME_HDR];
	size_t pre = 0, post = 0, total, done;
	int cnt, r;

	if (s->wfd < 0)
		return -EBADF;
	if (s->framing == IPK__FRAMING_LINE && has_newline(iov, iovcnt))
		return -EINVAL;
	if (s->tx_broken)
		return -EPIPE;
	r = flush_pending(s, deadline_ns);
	if (r < 0)
		return r;

	if (s->framing == IPK__FRAMING_LEN) {
		ipk__frame_put_len(hdr, (uint32_t)len);
		pre = sizeof(hdr);
	} else if (s->framing == IPK__FRAMING_LINE) {
		hdr[0] = '\n';
		post = 1;
	} else if (len == 0) {
		return 0; /* framing=none: no bytes, nothing to send */
	}
	total = pre + len + post;
	if (iovcnt < IOV_LOCAL) {
		cnt = 0;
		if (pre)
			local[cnt++] = (struct iovec){ .iov_base = hdr, .iov_len = pre };
		memcpy(local + cnt, iov, (size_t)iovcnt * sizeof(*iov));
		cnt += iovcnt;
		if (post)
			local[cnt++] = (struct iovec){ .iov_base = hdr, .iov_len = post };
	} else {
		/* too many pieces for one writev: gather the frame in tx */
		uint8_t *p = s->tx;

		memcpy(p, hdr, pre);
		p += pre;
		for (int i = 0; i < iovcnt; i++) {
			memcpy(p, iov[i].iov_base, iov[i].iov_len);
			p += iov[i].iov_len;
		}
		memcpy(p, hdr, post);
		local[0] = (struct iovec){ .iov_base = s->tx, .iov_len = total };
		cnt = 1;
	}

	r = write_until(s, &v, &cnt, total, deadline_ns, &done);
	if (r == 0 || done == 0)
		return r; /* all of it, or none of it */
	if (!is_timeout(r)) {
		s->tx_broken = true;
		return r;
	}
	/* Deadline mid-frame: keep the rest, the message counts as sent. */
	s->tx_lo = 0;
	s->tx_hi = 0;
	for (int i = 0; i < cnt; i++) {
		memmove(s->tx + s->tx_hi, v[i].iov_base, v[i].iov_len);
		s->tx_hi += v[i].iov_len;
	}
	return 0;
}

int ipk__stream_flush(struct ipk_chan *ch, int64_t deadline_ns)
{
	struct ipk__stream *s = ch->t;

	if (s->wfd < 0)
		return 0;
	if (s->tx_broken)
		return -EPIPE;
	return flush_pending(s, deadline_ns);
}

/* The peer broke the framing: tell it by closing, keep the fd for polls. */
static ssize_t protocol_error(struct ipk__stream *s)
{
	s->rx_broken = true;
	if (s->is_socket)
		(void)shutdown(s->rfd, SHUT_RDWR);
	return -EPROTO;
}

/* A FIFO reads 0 both before its first writer and after its last one;
 * only the second sets POLLHUP. */
static bool fifo_writer_gone(int fd)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };

	return poll(&pfd, 1, 0) > 0 && (pfd.revents & POLLHUP);
}

/* framing=none: whatever one read returns, up to @len and the maximum. */
static ssize_t recv_none(struct ipk_chan *ch, struct ipk__stream *s, void *buf, size_t len,
			 int64_t deadline_ns)
{
	size_t want = len < s->max ? len : s->max;

	if (want == 0) {
		ch->next_len = 1; /* a read of nothing would look like the end */
		return -EMSGSIZE;
	}
	for (;;) {
		ssize_t r = read(s->rfd, buf, want);

		if (r > 0)
			return r;
		if (r == 0) {
			if (!s->fifo_reader || fifo_writer_gone(s->rfd))
				return -EPIPE;
			r = ipk__wait_fd(s->rfd, POLLIN, deadline_ns);
		} else {
			r = ipk__retry_wait(s->rfd, POLLIN, deadline_ns); /* EINTR, EAGAIN */
		}
		if (r < 0)
			return r;
	}
}

/* The stream ended with buf[lo, hi) left over. */
static ssize_t recv_end(struct ipk_chan *ch, struct ipk__stream *s, void *buf, size_t len)
{
	ssize_t r;

	if (s->framing == IPK__FRAMING_LINE) {
		/* a last line without its newline is still a line */
		r = ipk__line_take_last(&s->rx, buf, len, &ch->next_len);
		return r == -EAGAIN ? -EPIPE : r;
	}
	if (s->rx.hi > s->rx.lo)
		return protocol_error(s); /* frame cut short */
	return -EPIPE;
}

ssize_t ipk__stream_recv(struct ipk_chan *ch, void *buf, size_t len, int64_t deadline_ns)
{
	struct ipk__stream *s = ch->t;

	if (s->rfd < 0)
		return -EBADF;
	if (s->rx_broken)
		return -EPIPE;
	if (s->rx_dropped) {
		ch->next_len = s->rx_dropped;
		s->rx_dropped = 0;
		return -EMSGSIZE;
	}
	if (s->framing == IPK__FRAMING_NONE)
		return recv_none(ch, s, buf, len, deadline_ns);
	for (;;) {
		ssize_t r = s->framing == IPK__FRAMING_LEN
				    ? ipk__frame_take(&s->rx, s->max, buf, len, &ch->next_len)
				    : ipk__line_take(&s->rx, s->max, buf, len, &ch->next_len);
		size_t room;
		uint8_t *p;

		if (r >= 0 || r == -EMSGSIZE)
			return r;
		if (r == -EPROTO)
			return protocol_error(s);

		/* -EAGAIN: the frame is not complete; a buffer of max + header
		 * always has room for the rest of it (or proves a line long) */
		p = ipk__rxbuf_room(&s->rx, &room);
		r = read(s->rfd, p, room);
		if (r > 0) {
			s->rx.hi += (size_t)r;
			continue;
		}
		if (r == 0) {
			if (s->fifo_reader && !fifo_writer_gone(s->rfd))
				goto wait;
			return recv_end(ch, s, buf, len);
		}
		r = ipk__retry_wait(s->rfd, POLLIN, deadline_ns); /* EINTR, EAGAIN */
		if (r < 0)
			return r;
		continue;
	wait:
		r = ipk__wait_fd(s->rfd, POLLIN, deadline_ns);
		if (r < 0)
			return r;
	}
}

int ipk__stream_recv_batch(struct ipk_chan *ch, struct ipk_msg *m, unsigned n, int64_t deadline_ns)
{
	struct ipk__stream *s = ch->t;

	for (unsigned i = 0; i < n; i++) {
		/* the first waits; the rest take only what is already there */
		ssize_t r = ipk__stream_recv(ch, m[i].buf, m[i].len, i ? IPK__NOWAIT : deadline_ns);

		if (r < 0 && i == 0)
			return (int)r;
		if (r < 0) {
			/* A dropped line is gone: say so on the next call, as a
			 * single receive would have (a message merely too big
			 * for its buffer stays queued and says so itself). */
			if (r == -EMSGSIZE && ch->next_len > s->max)
				s->rx_dropped = ch->next_len;
			return (int)i;
		}
		m[i].len = (size_t)r;
	}
	return (int)n;
}

void ipk__stream_close(struct ipk_chan *ch)
{
	struct ipk__stream *s = ch->t;

	if (s && s->wfd >= 0 && !s->tx_broken)
		(void)flush_pending(s, IPK__NOWAIT); /* what the kernel takes now */
	ipk__stream_free(s);
}

void ipk__stream_listener_url(struct ipk_listener *l, const struct ipk_url *url)
{
	static const char *const name[] = {
		[IPK__FRAMING_LINE] = "line", [IPK__FRAMING_NONE] = "none"
	};
	int f = ipk__stream_framing(url);
	size_t used = strlen(l->url);

	if (f != IPK__FRAMING_LEN && used < sizeof(l->url))
		(void)snprintf(l->url + used, sizeof(l->url) - used, "%cframing=%s",
			       strchr(l->url, '?') ? '&' : '?', name[f]);
}

int ipk__stream_listener_framing(const struct ipk_listener *l)
{
	struct ipk_url u;

	if (!strstr(l->url, "framing="))
		return IPK__FRAMING_LEN; /* no parse per accept for the default */
	/* l->url was made from a URL that parsed, with our options */
	if (ipk__url_parse(l->url, &u, NULL, NULL) < 0)
		return IPK__FRAMING_LEN;
	return ipk__stream_framing(&u);
}
