/* SPDX-License-Identifier: MIT */
/*
 * fuzz_ring.c - libFuzzer target for the ring's subscriber side (ring_sub.c):
 * the header validator of ipk_ring_open_fd() and the record readers behind
 * ipk_ring_recv(), ipk_ring_recv_batch() and ipk_ring_view(), fed ring
 * contents that a broken or hostile publisher could leave. Layout of an input:
 *
 *   ctl:    1 byte   bit 0: write a valid magic/version/sizes over the image
 *                    (so the fuzzer spends its time on records); bit 1:
 *                    capacity 8192 instead of 4096; bits 2-7: buffer size
 *                    (times 64) for the copying receives
 *   image:  up to 4096 + capacity bytes, the feed as the subscriber maps it
 *           (zero-filled to the full size)
 *
 * The image is a memfd of exactly the size the header must claim, mapped
 * read-only by the library: a read outside it is a crash, and every output
 * buffer is heap-allocated at its exact size, so AddressSanitizer sees any
 * write past it. Between receives the target moves head by the next 8
 * input bytes, as a publisher would while the subscriber reads. Every call
 * must return a length that fits, or one of the documented errors.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>

#include <ipckit/ring.h>

#include "fuzz.h"
#include "ring_layout.h"

#define HDR IPK__RING_HDR_SIZE
#define O_HEAD offsetof(struct ipk__ring_hdr, head)

static int documented(long r)
{
	return r == -EAGAIN || r == -EPIPE || r == -EOWNERDEAD || r == -ECONNRESET ||
	       r == -EBADMSG || r == -EMSGSIZE || r == -ESTALE;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t ctl = size ? data[0] : 0;
	size_t cap = ctl & 2 ? 8192 : 4096, total = HDR + cap, n, buflen;
	const uint8_t *script;
	size_t nscript;
	ipk_ring_sub *s;
	unsigned char *img, *buf, *bufs[3];
	int fd, r;

	if (size == 0)
		return 0;
	data++;
	size--;
	n = size < total ? size : total;
	script = data + n;
	nscript = size - n;
	img = calloc(1, total);
	CHECK(img);
	memcpy(img, data, n);
	if (ctl & 1) {
		uint32_t w32[4] = { IPK__RING_MAGIC, IPK__RING_VERSION, HDR, 0 };
		uint64_t w64[2] = { cap, total };

		memcpy(&w32[3], img + 12, 4); /* max_msg stays the fuzzer's */
		memcpy(img, w32, sizeof(w32));
		memcpy(img + 16, w64, sizeof(w64));
	}
	fd = memfd_create("fuzz-ring", MFD_CLOEXEC);
	CHECK(fd >= 0);
	CHECK(pwrite(fd, img, total, 0) == (ssize_t)total);
	free(img);

	r = ipk_ring_open_fd(fd, -1, NULL, &s);
	if (r < 0) {
		CHECK(r == -EPROTO || r == -EPROTONOSUPPORT || r == -EBADMSG || r == -EAGAIN);
		close(fd);
		return 0;
	}
	buflen = (size_t)(ctl >> 2) * 64;
	buf = malloc(buflen ? buflen : 1);
	CHECK(buf);
	for (int j = 0; j < 3; j++) {
		bufs[j] = malloc(buflen ? buflen : 1);
		CHECK(bufs[j]);
	}
	for (int i = 0; i < 96; i++) {
		struct ipk_ring_view v;
		long got;

		if (i % 3 == 2) {
			struct ipk_msg m[3];

			for (int j = 0; j < 3; j++)
				m[j] = (struct ipk_msg){ .buf = bufs[j], .len = buflen };
			got = ipk_ring_recv_batch(s, m, 3, 0);
			CHECK(got > 0 ? got <= 3 : documented(got));
			for (long j = 0; j < 3; j++) /* used ones fit, unused ones untouched */
				CHECK(m[j].buf == bufs[j] &&
				      (j < got ? m[j].len <= buflen : m[j].len == buflen));
		} else if (i % 3 == 1) {
			got = ipk_ring_view(s, &v, 0);
			if (got == 0) {
				CHECK(v.len <= cap);
				volatile unsigned char sum = 0;

				for (size_t j = 0; j < v.len; j++) /* every byte readable */
					sum = (unsigned char)(sum +
							      ((const unsigned char *)v.data)[j]);
				got = ipk_ring_validate(s, &v);
				CHECK(got == 0 || documented(got));
			} else {
				CHECK(documented(got));
			}
		} else {
			got = ipk_ring_recv(s, buf, buflen, 0);
			CHECK(got >= 0 ? (size_t)got <= buflen : documented(got));
		}
		if (nscript >= 8) { /* the "publisher" moves head */
			CHECK(pwrite(fd, script, 8, O_HEAD) == 8);
			script += 8;
			nscript -= 8;
		}
	}
	free(buf);
	for (int j = 0; j < 3; j++)
		free(bufs[j]);
	ipk_ring_sub_close(s);
	close(fd);
	return 0;
}
