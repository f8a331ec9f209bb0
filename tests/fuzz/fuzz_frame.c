/* SPDX-License-Identifier: MIT */
/*
 * fuzz_frame.c - libFuzzer target for the stream frame decoder (frame.h).
 *
 * It plays stream.c's part without the I/O: the input is both the byte
 * stream and the script that says how it arrives. Layout of an input:
 *
 *   max:  2 bytes, little-endian, & 0x1fff   the channel's largest payload
 *   then, until the input runs out:
 *   c:    1 byte    chunk size: (c & 0x7f) + 1, times 16 if c & 0x80
 *   o:    1 byte    how big the receive buffers of this round are
 *   data: the chunk  appended to the stream, as much as ipk__rxbuf_room() allows
 *
 * After each chunk it takes messages until one is not there yet. The
 * receive buffer is struct ipk__rxbuf of cap = max + 4 bytes and every
 * output buffer is allocated at its exact size, so AddressSanitizer sees
 * any access outside them. A shadow copy of the stream gives the exact
 * answer every call must return; -EPROTO ends the input, as it ends the
 * connection.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frame.h"

#include "fuzz.h"

/* The stream as the decoder should see it: fed[consumed, nfed) is pending. */
struct shadow {
	uint8_t *fed;
	size_t nfed;
	size_t consumed;
};

struct state {
	struct ipk__rxbuf rb;
	uint8_t *buf; /* rb.buf and rb.cap must never change */
	size_t cap;
	size_t max;
	struct shadow sh;
};

static void check_rxbuf(const struct state *s)
{
	const struct ipk__rxbuf *rb = &s->rb;
	size_t pending = s->sh.nfed - s->sh.consumed;

	CHECK(rb->buf == s->buf);
	CHECK(rb->cap == s->cap);
	CHECK(rb->lo <= rb->hi);
	CHECK(rb->hi <= rb->cap);
	CHECK(rb->hi - rb->lo == pending);
	CHECK(memcmp(rb->buf + rb->lo, s->sh.fed + s->sh.consumed, pending) == 0);
}

/* Length field of the frame at the front of the shadow stream, if whole. */
static int shadow_len(const struct shadow *sh, uint64_t *len)
{
	const uint8_t *p = sh->fed + sh->consumed;

	if (sh->nfed - sh->consumed < IPK__FRAME_HDR)
		return 0;
	*len = (uint64_t)p[0] | (uint64_t)p[1] << 8 | (uint64_t)p[2] << 16 | (uint64_t)p[3] << 24;
	return 1;
}

static size_t pick_outlen(uint8_t o, const struct state *s)
{
	uint64_t len;

	switch (o & 3) {
	case 0:
		return s->max;
	case 1:
		return o >> 2; /* small, often too small */
	case 2:
		/* around the waiting message's length: len - 1, len, len + 1 */
		if (!shadow_len(&s->sh, &len) || len > s->max)
			return s->max;
		if (len == 0)
			return (o >> 2) & 1;
		return (size_t)len - 1 + ((o >> 2) % 3);
	default:
		return 0;
	}
}

/* One ipk__frame_take() with an @outlen-byte buffer, checked against the
 * shadow. Return: what the decoder returned. */
static ssize_t take_one(struct state *s, size_t outlen)
{
	uint8_t *out = malloc(outlen ? outlen : 1);
	size_t need = (size_t)-1;
	size_t before = s->sh.nfed - s->sh.consumed;
	uint64_t len = 0;
	int have_hdr = shadow_len(&s->sh, &len);
	int whole = have_hdr && before - IPK__FRAME_HDR >= len;
	ssize_t r;

	if (!out)
		abort(); /* out of memory is not a finding */
	r = ipk__frame_take(&s->rb, s->max, out, outlen, &need);

	if (have_hdr && len > s->max) {
		/* Waiting for more could never end: the buffer holds max + 4. */
		CHECK(r == -EPROTO);
	} else if (r >= 0) {
		CHECK(whole);
		CHECK((uint64_t)r == len);
		CHECK((size_t)r <= s->max);
		CHECK((size_t)r <= outlen);
		CHECK(memcmp(out, s->sh.fed + s->sh.consumed + IPK__FRAME_HDR, (size_t)r) == 0);
		s->sh.consumed += IPK__FRAME_HDR + (size_t)r;
	} else if (r == -EAGAIN) {
		CHECK(!whole);
	} else if (r == -EMSGSIZE) {
		/* Early -EMSGSIZE for a frame still arriving is fine too. */
		CHECK(have_hdr);
		CHECK(need == len);
		CHECK(need > outlen);
		CHECK(need <= s->max);
	} else {
		CHECK(!"unexpected return value");
	}
	if (r != -EPROTO)
		check_rxbuf(s);
	free(out);
	return r;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct state s;
	size_t pos = 2;
	ssize_t r = 0;

	if (size < 2)
		return 0;
	memset(&s, 0, sizeof(s));
	s.max = ((size_t)data[0] | (size_t)data[1] << 8) & 0x1fff;
	s.cap = s.max + IPK__FRAME_HDR;
	s.buf = malloc(s.cap);
	s.sh.fed = malloc(size);
	if (!s.buf || !s.sh.fed)
		abort();
	s.rb.buf = s.buf;
	s.rb.cap = s.cap;

	while (pos < size && r != -EPROTO) {
		uint8_t c = data[pos++];
		uint8_t o = pos < size ? data[pos++] : 0;
		size_t chunk = ((size_t)(c & 0x7f) + 1) * (c & 0x80 ? 16 : 1);
		size_t room = (size_t)-1;
		uint8_t *dst = ipk__rxbuf_room(&s.rb, &room);

		CHECK(dst == s.rb.buf + s.rb.hi);
		CHECK(room == s.rb.cap - s.rb.hi);
		/* No room only when the pending bytes fill the buffer. */
		CHECK(room > 0 || s.rb.hi - s.rb.lo == s.rb.cap);
		check_rxbuf(&s);

		if (chunk > room)
			chunk = room;
		if (chunk > size - pos)
			chunk = size - pos;
		memcpy(dst, data + pos, chunk);
		memcpy(s.sh.fed + s.sh.nfed, data + pos, chunk);
		s.sh.nfed += chunk;
		s.rb.hi += chunk;
		pos += chunk;

		do {
			r = take_one(&s, pick_outlen(o, &s));
			if (r == -EMSGSIZE)
				r = take_one(&s, s.max); /* what a caller does next */
			o = (uint8_t)(o >> 2 | o << 6);
		} while (r >= 0);
	}

	free(s.sh.fed);
	free(s.buf);
	return 0;
}
