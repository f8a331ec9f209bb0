/* SPDX-License-Identifier: MIT */
/*
 * frame.h - message framing on byte streams, as pure functions over a
 * receive buffer (no I/O here: stream.c does the reads and writes).
 *
 * A frame is a 4-byte little-endian payload length, then the payload
 * (framing=len). With framing=line a message is the bytes before a '\n'.
 */
#ifndef IPK_FRAME_H
#define IPK_FRAME_H

#include <stdbool.h>
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
	/* framing=line only: buf[lo, lo + scan) holds no '\n' (each byte is
	 * looked at once however the line arrives); skip drops bytes through
	 * the next '\n', the rest of a line over the maximum. */
	size_t scan;
	bool skip;
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
 * ipk__line_take() - hand out the line at the front of @rb, without its '\n'
 * @max: the longest line the channel accepts, its newline not counted
 * @out, @outlen: where the line goes
 * @need: set when the result is -EMSGSIZE
 *
 * A buffer of more than @max bytes always holds a whole line or proves it
 * too long, so the caller's reads never need more room than that.
 * Return: the line's length, the line and its newline consumed; -EAGAIN if
 * its newline has not arrived (nothing handed out); -EMSGSIZE with *need
 * <= @max for a line longer than @outlen (nothing consumed), or with *need
 * > @max (the bytes seen of it) for a line over @max: that line is
 * dropped, what arrived of it now and the rest, through its newline, as
 * it arrives. Never reads outside buf[lo, hi).
 */
ssize_t ipk__line_take(struct ipk__rxbuf *rb, size_t max, void *out, size_t outlen, size_t *need);

/*
 * ipk__line_take_last() - at the end of the stream, hand out an
 * unfinished line (bytes after the last '\n') as the last line
 *
 * Return: its length (>= 1), consumed; -EAGAIN if nothing is left (the
 * rest of a dropped line included); -EMSGSIZE with *need if it is longer
 * than @outlen (nothing consumed).
 */
ssize_t ipk__line_take_last(struct ipk__rxbuf *rb, void *out, size_t outlen, size_t *need);

/*
 * ipk__rxbuf_room() - move pending bytes to the front when that makes room
 *
 * Return: where the next read may write, with *room set to its size.
 */
uint8_t *ipk__rxbuf_room(struct ipk__rxbuf *rb, size_t *room);

#endif /* IPK_FRAME_H */
