/* SPDX-License-Identifier: MIT */
/*
 * frame.h - message framing on byte streams, as pure functions over a
 * receive buffer (no I/O here: stream.c does the reads and writes).
 *
 * A frame is a 4-byte little-endian payload length, then the payload.
 */
#ifndef IPK_FRAME_H
#define IPK_FRAME_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define IPK__FRAME_HDR ((size_t)4)

/* Bytes received but not yet handed out: buf[lo, hi) of cap bytes. */
struct ipk__rxbuf {
	uint8_t *buf;
	size_t cap;
	size_t lo;
	size_t hi;
};

void ipk__frame_put_len(uint8_t hdr[IPK__FRAME_HDR], uint32_t len);

/*
 * ipk__frame_take() - hand out the message at the front of @rb
 * @max: the largest payload the channel accepts
 * @out, @outlen: where the payload goes
 * @need: set to the payload length when the result is -EMSGSIZE
 *
 * Return: the payload length, the frame consumed; -EAGAIN if the frame is
 * not complete yet (nothing consumed); -EMSGSIZE if the payload is longer
 * than @outlen (nothing consumed); -EPROTO if the length is over @max.
 * Never reads outside buf[lo, hi).
 */
ssize_t ipk__frame_take(struct ipk__rxbuf *rb, size_t max, void *out, size_t outlen, size_t *need);

/*
 * ipk__rxbuf_room() - move pending bytes to the front when that makes room
 *
 * Return: where the next read may write, with *room set to its size.
 */
uint8_t *ipk__rxbuf_room(struct ipk__rxbuf *rb, size_t *room);

#endif /* IPK_FRAME_H */
