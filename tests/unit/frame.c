/* SPDX-License-Identifier: MIT */
/* Framing over a receive buffer: split frames, limits, compaction. */
#include "frame.h"
#include "harness.h"

/* As stream.c does: write what fits, ask for room again. */
static void put(struct ipk__rxbuf *rb, const void *p, size_t n)
{
	while (n > 0) {
		size_t room;
		uint8_t *dst = ipk__rxbuf_room(rb, &room);
		size_t k = room < n ? room : n;

		T_TRUE(k > 0); /* a pending frame always leaves room */
		memcpy(dst, p, k);
		rb->hi += k;
		p = (const uint8_t *)p + k;
		n -= k;
	}
}

static void put_frame(struct ipk__rxbuf *rb, const char *s)
{
	uint8_t hdr[IPK__FRAME_HDR];

	ipk__frame_put_len(hdr, (uint32_t)strlen(s));
	put(rb, hdr, sizeof(hdr));
	put(rb, s, strlen(s));
}

int main(void)
{
	uint8_t mem[4 + 16], out[32];
	struct ipk__rxbuf rb = { .buf = mem, .cap = sizeof(mem) };
	size_t need = 0;
	uint8_t hdr[4];

	T_EQ(ipk__frame_take(&rb, 16, out, sizeof(out), &need), -EAGAIN);
	put_frame(&rb, "abc");
	put_frame(&rb, "");
	T_EQ(ipk__frame_take(&rb, 16, out, sizeof(out), &need), 3);
	T_MEMEQ(out, "abc", 3);
	T_EQ(ipk__frame_take(&rb, 16, out, sizeof(out), &need), 0);
	T_EQ(rb.lo, 0); /* empty buffer rewinds */
	T_EQ(rb.hi, 0);

	/* a frame arriving in pieces */
	ipk__frame_put_len(hdr, 10);
	put(&rb, hdr, 2);
	T_EQ(ipk__frame_take(&rb, 16, out, sizeof(out), &need), -EAGAIN);
	put(&rb, hdr + 2, 2);
	put(&rb, "01234", 5);
	T_EQ(ipk__frame_take(&rb, 16, out, 4, &need), -EMSGSIZE); /* known from the header */
	T_EQ(need, 10);
	T_EQ(ipk__frame_take(&rb, 16, out, sizeof(out), &need), -EAGAIN);
	put(&rb, "56789", 5);
	T_EQ(ipk__frame_take(&rb, 16, out, sizeof(out), &need), 10);
	T_MEMEQ(out, "0123456789", 10);

	/* compaction lets a full-size frame in after a partial one moved */
	put_frame(&rb, "xy");
	ipk__frame_put_len(hdr, 16);
	put(&rb, hdr, 4);
	T_EQ(ipk__frame_take(&rb, 16, out, sizeof(out), &need), 2);
	put(&rb, "0123456789abcdef", 16);
	T_EQ(ipk__frame_take(&rb, 16, out, sizeof(out), &need), 16);
	T_MEMEQ(out, "0123456789abcdef", 16);

	/* a length over the maximum is a protocol error, whatever follows */
	ipk__frame_put_len(hdr, 17);
	put(&rb, hdr, 4);
	T_EQ(ipk__frame_take(&rb, 16, out, sizeof(out), &need), -EPROTO);
	ipk__frame_put_len(hdr, 0xffffffffu);
	rb.lo = rb.hi = 0;
	put(&rb, hdr, 4);
	T_EQ(ipk__frame_take(&rb, 16, out, sizeof(out), &need), -EPROTO);
	return 0;
}
