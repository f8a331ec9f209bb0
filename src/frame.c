/* SPDX-License-Identifier: MIT */
/*
 * frame.c - length-prefixed frames and newline-ended lines over a receive
 * buffer. Pure functions: the fuzz target drives them with arbitrary bytes.
 */
#include <errno.h>
#include <string.h>

#include "frame.h"

void ipk__frame_put_len(uint8_t hdr[IPK__FRAME_HDR], uint32_t len)
{
	hdr[0] = (uint8_t)len;
	hdr[1] = (uint8_t)(len >> 8);
	hdr[2] = (uint8_t)(len >> 16);
	hdr[3] = (uint8_t)(len >> 24);
}

ssize_t ipk__frame_take(struct ipk__rxbuf *rb, size_t max, void *out, size_t outlen, size_t *need)
{
	const uint8_t *p = rb->buf + rb->lo;
	size_t have = rb->hi - rb->lo;
	uint32_t len;

	if (have < IPK__FRAME_HDR)
		return -EAGAIN;
	/* byte by byte: the header need not be aligned in the buffer */
	len = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
	if (len > max)
		return -EPROTO;
	if (len > outlen) {
		*need = len;
		return -EMSGSIZE;
	}
	if (have - IPK__FRAME_HDR < len)
		return -EAGAIN;
	if (len)
		memcpy(out, p + IPK__FRAME_HDR, len);
	rb->lo += IPK__FRAME_HDR + len;
	if (rb->lo == rb->hi)
		rb->lo = rb->hi = 0;
	return (ssize_t)len;
}

static void consume(struct ipk__rxbuf *rb, size_t n)
{
	rb->lo += n;
	rb->scan = 0;
	if (rb->lo == rb->hi)
		rb->lo = rb->hi = 0;
}

ssize_t ipk__line_take(struct ipk__rxbuf *rb, size_t max, void *out, size_t outlen, size_t *need)
{
	const uint8_t *p = rb->buf + rb->lo, *nl;
	size_t have = rb->hi - rb->lo, len;

	nl = have > rb->scan ? memchr(p + rb->scan, '\n', have - rb->scan) : NULL;
	if (rb->skip) {
		/* the rest of a line over the maximum, already reported */
		if (!nl) {
			consume(rb, have);
			return -EAGAIN;
		}
		rb->skip = false;
		consume(rb, (size_t)(nl - p) + 1);
		return ipk__line_take(rb, max, out, outlen, need);
	}
	if (!nl) {
		rb->scan = have;
		if (have <= max)
			return -EAGAIN;
		/* max + 1 bytes and no end: too long, whatever follows */
		*need = have;
		rb->skip = true;
		consume(rb, have);
		return -EMSGSIZE;
	}
	len = (size_t)(nl - p);
	if (len > max) {
		*need = len;
		consume(rb, len + 1);
		return -EMSGSIZE;
	}
	if (len > outlen) {
		*need = len;
		rb->scan = len; /* found again at once */
		return -EMSGSIZE;
	}
	if (len)
		memcpy(out, p, len);
	consume(rb, len + 1);
	return (ssize_t)len;
}

ssize_t ipk__line_take_last(struct ipk__rxbuf *rb, void *out, size_t outlen, size_t *need)
{
	size_t have = rb->hi - rb->lo;

	rb->skip = false; /* a dropped line ends with the stream */
	if (have == 0)
		return -EAGAIN;
	if (have > outlen) {
		*need = have;
		return -EMSGSIZE;
	}
	memcpy(out, rb->buf + rb->lo, have);
	consume(rb, have);
	return (ssize_t)have;
}

uint8_t *ipk__rxbuf_room(struct ipk__rxbuf *rb, size_t *room)
{
	/* Compact only when the tail is short of a whole frame's space: the
	 * move is rare, and a buffer of max + header always fits a frame. */
	if (rb->lo > 0 && rb->cap - rb->hi < rb->cap / 2) {
		memmove(rb->buf, rb->buf + rb->lo, rb->hi - rb->lo);
		rb->hi -= rb->lo;
		rb->lo = 0;
	}
	*room = rb->cap - rb->hi;
	return rb->buf + rb->hi;
}
