/* SPDX-License-Identifier: MIT */
/* Helpers for the channel tests: patterned messages and an echo peer. */
#ifndef IPCKIT_TESTS_CHANUTIL_H
#define IPCKIT_TESTS_CHANUTIL_H

#include <stdbool.h>
#include <stdint.h>

#include "harness.h"

#define T_TIMEOUT (10 * IPK_SEC)

static const size_t t_sizes[] = { 1, 0, 7, 100, 4092, 4093, 4096, 65535, 65536, 3 };
#define T_NSIZES (sizeof(t_sizes) / sizeof(t_sizes[0]))

/* A pattern that differs per message and per byte, so a swapped, torn or
 * shifted message cannot pass. */
static inline void t_fill(uint8_t *buf, size_t len, unsigned seq)
{
	for (size_t i = 0; i < len; i++)
		buf[i] = (uint8_t)(seq * 131u + i * 7u + (i >> 8));
}

static inline void t_check(const uint8_t *buf, size_t len, unsigned seq)
{
	for (size_t i = 0; i < len; i++)
		if (buf[i] != (uint8_t)(seq * 131u + i * 7u + (i >> 8)))
			T_FAIL("message %u: byte %zu of %zu is wrong", seq, i, len);
}

/* Echo @count messages back to the sender. */
static inline int t_echo(ipk_chan *ch, unsigned count)
{
	static uint8_t buf[1 << 20];

	for (unsigned i = 0; i < count; i++) {
		ssize_t n = ipk_chan_recv(ch, buf, sizeof(buf), T_TIMEOUT);

		T_OK(n);
		T_OK(ipk_chan_send(ch, buf, (size_t)n, T_TIMEOUT));
	}
	return 0;
}

/* Send every size in t_sizes (skipping 0 when @no_empty), check each echo:
 * the first through a receive buffer one byte short (-EMSGSIZE, nothing
 * lost), then whole. Returns the number of messages sent. */
static inline unsigned t_ping(ipk_chan *ch, bool no_empty)
{
	static uint8_t out[1 << 17], in[1 << 17];
	unsigned seq = 0;

	for (size_t k = 0; k < T_NSIZES; k++) {
		size_t len = t_sizes[k];
		ssize_t n;

		if (len == 0 && no_empty)
			continue;
		t_fill(out, len, seq);
		if (k % 2) {
			/* gathered from two pieces */
			struct iovec iov[2] = { { out, len / 2 },
						{ out + len / 2, len - len / 2 } };

			T_OK(ipk_chan_sendv(ch, iov, 2, T_TIMEOUT));
		} else {
			T_OK(ipk_chan_send(ch, out, len, T_TIMEOUT));
		}
		if (len > 0) {
			T_EQ(ipk_chan_recv(ch, in, len - 1, T_TIMEOUT), -EMSGSIZE);
			T_EQ(ipk_chan_next_len(ch), len);
		}
		n = ipk_chan_recv(ch, in, sizeof(in), T_TIMEOUT);
		T_EQ(n, len);
		t_check(in, len, seq);
		seq++;
	}
	/* over the channel's maximum: refused before anything moves */
	T_EQ(ipk_chan_send(ch, out, ipk_chan_max_msg(ch) + 1, T_TIMEOUT), -EMSGSIZE);
	return seq;
}

static inline unsigned t_ping_count(bool no_empty)
{
	unsigned n = 0;

	for (size_t k = 0; k < T_NSIZES; k++)
		n += !(t_sizes[k] == 0 && no_empty);
	return n;
}

#endif /* IPCKIT_TESTS_CHANUTIL_H */
