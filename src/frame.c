/* SPDX-License-Identifier: MIT */
/*
 * frame.c - length-prefixed frames over a receive buffer. Pure functions:
 * the fuzz target drives them with arbitrary bytes.
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
