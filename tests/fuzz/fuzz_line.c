/* SPDX-License-Identifier: MIT */
/*
 * fuzz_line.c - libFuzzer target for the line decoder of framing=line
 * (frame.h: ipk__line_take(), ipk__line_take_last()).
 *
 * It plays stream.c's part without the I/O, as fuzz_frame.c does for
 * frames: the input is both the byte stream and the script of how it
 * arrives. Layout of an input:
 *
 *   max:  1 byte    the longest line: max & 0x3f (0 to 63)
 *   then, until the input runs out:
 *   c:    1 byte    chunk size: (c & 0x3f) + 1; c & 0x40: the stream ends
 *                   after this chunk (a FIFO's writer closes; another may
 *                   open); c & 0x80: newlines are sparse in this chunk
 *   o:    1 byte    how big the receive buffers of this round are
 *   data: the chunk, each byte a '\n' where (byte & 7) == 0 (or, sparse,
 *         where byte == 0), so lines of every length occur
 *
 * A shadow copy of the stream and a model of the rules (a line is the bytes
 * before '\n'; a line over max is -EMSGSIZE with need > max and is dropped
 * through its newline; a line over the caller's buffer is -EMSGSIZE with
 * nothing consumed; at the end, bytes after the last newline are the last
 * line) give the exact answer each call must return. Every buffer is
 * allocated at its exact size, so AddressSanitizer sees any access outside.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frame.h"

#include "fuzz.h"

struct state {
	struct ipk__rxbuf rb;
	uint8_t *buf; /* rb.buf and rb.cap must never change */
	size_t cap;
	size_t max;
	/* the shadow: fed[consumed, nfed) is pending; skip as the model has it */
	uint8_t *fed;
	size_t nfed;
	size_t consumed;
	bool skip;
};

static void check_rxbuf(const struct state *s)
{
	const struct ipk__rxbuf *rb = &s->rb;
	size_t pending = s->nfed - s->consumed;

	CHECK(rb->buf == s->buf);
	CHECK(rb->cap == s->cap);
	CHECK(rb->lo <= rb->hi);
	CHECK(rb->hi <= rb->cap);
	CHECK(rb->hi - rb->lo == pending);
	CHECK(memcmp(rb->buf + rb->lo, s->fed + s->consumed, pending) == 0);
	CHECK(rb->skip == s->skip);
}

/* The model drops what a dropped line left pending: the part through its
 * newline, or everything when none has come. */
static void model_skip(struct state *s)
{
	const uint8_t *p = s->fed + s->consumed;
	size_t pending = s->nfed - s->consumed;
	const uint8_t *nl;

	if (!s->skip)
		return;
	nl = memchr(p, '\n', pending);
	if (!nl) {
		s->consumed = s->nfed;
		return;
	}
	s->consumed += (size_t)(nl - p) + 1;
	s->skip = false;
}

/* One ipk__line_take() with an @outlen-byte buffer, checked against the
 * model. Return: what the decoder returned; *need as it set it. */
static ssize_t take_one(struct state *s, size_t outlen, size_t *need)
{
	uint8_t *out = malloc(outlen ? outlen : 1);
	const uint8_t *p, *nl;
	size_t pending;
	ssize_t r;

	if (!out)
		abort(); /* out of memory is not a finding */
	*need = (size_t)-1;
	r = ipk__line_take(&s->rb, s->max, out, outlen, need);

	model_skip(s);
	p = s->fed + s->consumed;
	pending = s->nfed - s->consumed;
	nl = memchr(p, '\n', pending);
	if (!nl && pending <= s->max) {
		CHECK(r == -EAGAIN);
	} else if (!nl) {
		/* max + 1 bytes and no newline: too long, dropped from here on */
		CHECK(r == -EMSGSIZE);
		CHECK(*need == pending);
		s->consumed = s->nfed;
		s->skip = true;
	} else if ((size_t)(nl - p) > s->max) {
		CHECK(r == -EMSGSIZE);
		CHECK(*need == (size_t)(nl - p));
		s->consumed += (size_t)(nl - p) + 1;
	} else if ((size_t)(nl - p) > outlen) {
		CHECK(r == -EMSGSIZE);
		CHECK(*need == (size_t)(nl - p));
	} else {
		CHECK(r == nl - p);
		CHECK(memcmp(out, p, (size_t)r) == 0);
		s->consumed += (size_t)r + 1;
	}
	check_rxbuf(s);
	free(out);
	return r;
}

/* The end of the stream: the unfinished line, if any, as the last. */
static void take_last(struct state *s, size_t outlen)
{
	size_t pending, need = (size_t)-1;
	uint8_t *out;
	ssize_t r;

	for (;;) {
		out = malloc(outlen ? outlen : 1);
		if (!out)
			abort();
		r = ipk__line_take_last(&s->rb, out, outlen, &need);
		pending = s->nfed - s->consumed;
		s->skip = false;
		if (pending == 0) {
			CHECK(r == -EAGAIN);
		} else if (pending > outlen) {
			CHECK(r == -EMSGSIZE);
			CHECK(need == pending);
		} else {
			CHECK(r >= 0 && (size_t)r == pending);
			CHECK(memcmp(out, s->fed + s->consumed, pending) == 0);
			s->consumed = s->nfed;
		}
		check_rxbuf(s);
		free(out);
		if (r != -EMSGSIZE)
			return;
		outlen = s->max; /* what a caller does next */
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct state s;
	size_t pos = 1;

	if (size < 1)
		return 0;
	memset(&s, 0, sizeof(s));
	s.max = data[0] & 0x3f;
	s.cap = s.max + IPK__FRAME_HDR; /* as stream.c allocates it */
	s.buf = malloc(s.cap);
	s.fed = malloc(size);
	if (!s.buf || !s.fed)
		abort();
	s.rb.buf = s.buf;
	s.rb.cap = s.cap;

	while (pos < size) {
		uint8_t c = data[pos++];
		uint8_t o = pos < size ? data[pos++] : 0;
		size_t chunk = (size_t)(c & 0x3f) + 1;
		size_t room = (size_t)-1, need;
		uint8_t *dst = ipk__rxbuf_room(&s.rb, &room);
		ssize_t r;

		CHECK(dst == s.rb.buf + s.rb.hi);
		CHECK(room == s.rb.cap - s.rb.hi);
		/* Pending bytes never exceed max without a newline among them
		 * (else they were dropped): there is always room. */
		CHECK(room > 0);
		check_rxbuf(&s);

		if (chunk > room)
			chunk = room;
		if (chunk > size - pos)
			chunk = size - pos;
		for (size_t i = 0; i < chunk; i++) {
			uint8_t b = data[pos + i];
			bool nl = c & 0x80 ? b == 0 : (b & 7) == 0;

			dst[i] = s.fed[s.nfed + i] = nl ? '\n' : b | 1;
		}
		s.nfed += chunk;
		s.rb.hi += chunk;
		pos += chunk;

		do {
			size_t outlen = o & 1 ? s.max : (size_t)(o >> 1) & 0x3f;

			r = take_one(&s, outlen, &need);
			if (r == -EMSGSIZE && need <= s.max)
				r = take_one(&s, s.max, &need); /* what a caller does next */
			o = (uint8_t)(o >> 1 | o << 7);
		} while (r != -EAGAIN);
		if (c & 0x40)
			take_last(&s, (size_t)(o >> 2) & 0x3f);
	}

	free(s.fed);
	free(s.buf);
	return 0;
}
