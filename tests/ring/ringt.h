/* SPDX-License-Identifier: MIT */
/*
 * tests/ring/ringt.h - what the ring tests share: unique ring names, a
 * start-up handshake over a pipe, and self-checking messages (sequence
 * number, length and checksum inside the payload).
 */
#ifndef IPCKIT_TESTS_RINGT_H
#define IPCKIT_TESTS_RINGT_H

#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <sys/mman.h>

#include "../harness.h"

#define RT_TIMEOUT (10 * IPK_SEC)

/* "/ipk-ring-<tag>-<pid>"; also removes leftovers of an earlier run. */
static inline const char *rt_name(char *buf, size_t len, const char *tag)
{
	char bell[300];

	snprintf(buf, len, "/ipk-ring-%s-%d", tag, (int)getpid());
	snprintf(bell, sizeof(bell), "%s-bell", buf);
	(void)shm_unlink(buf);
	(void)shm_unlink(bell);
	return buf;
}

static inline int64_t rt_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * IPK_SEC + ts.tv_nsec;
}

/* One-byte handshakes between processes: rt_signal() / rt_await(). */
struct rt_step {
	int fd[2];
};

static inline void rt_step_init(struct rt_step *s)
{
	T_SYS(pipe(s->fd));
}

static inline void rt_signal(struct rt_step *s)
{
	T_EQ(write(s->fd[1], "x", 1), 1);
}

static inline void rt_await(struct rt_step *s)
{
	char c;

	T_EQ(read(s->fd[0], &c, 1), 1);
}

static inline uint64_t rt_hash(uint64_t h, const unsigned char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 0x100000001b3ull;
	return h;
}

/* Message @seq of length @len (>= 16): seq, checksum, then a pattern. */
static inline void rt_fill(unsigned char *buf, size_t len, uint64_t seq)
{
	uint64_t h;

	for (size_t i = 16; i < len; i++)
		buf[i] = (unsigned char)(seq * 31 + i);
	memcpy(buf, &seq, 8);
	h = rt_hash(0xcbf29ce484222325ull ^ seq ^ len, buf + 16, len - 16);
	memcpy(buf + 8, &h, 8);
}

/* Return the message's seq if it is intact; aborts the test if not. */
static inline uint64_t rt_check(const unsigned char *buf, size_t len)
{
	uint64_t seq, h, want;

	if (len < 16)
		T_FAIL("message of %zu bytes: too short to carry a checksum", len);
	memcpy(&seq, buf, 8);
	memcpy(&h, buf + 8, 8);
	want = rt_hash(0xcbf29ce484222325ull ^ seq ^ len, buf + 16, len - 16);
	if (h != want)
		T_FAIL("message seq %llu len %zu: torn (checksum)", (unsigned long long)seq, len);
	return seq;
}

/* A length between 16 and @max that varies with @seq. */
static inline size_t rt_len(uint64_t seq, size_t max)
{
	return 16 + (size_t)((seq * 7919u) % (max - 15));
}

/*
 * Receive up to 8 messages with ipk_ring_recv_batch() into @bufs (8 of
 * @max bytes each, one after the other), each intact (rt_check()) and
 * numbered above *@last, which follows them. Return: how many; -EPIPE.
 */
static inline int rt_recv_checked(ipk_ring_sub *s, unsigned char *bufs, size_t max, uint64_t *last)
{
	struct ipk_msg m[8];
	int got;

	for (int j = 0; j < 8; j++)
		m[j] = (struct ipk_msg){ .buf = bufs + (size_t)j * max, .len = max };
	got = ipk_ring_recv_batch(s, m, 8, RT_TIMEOUT);
	if (got == -EPIPE)
		return got;
	T_OK(got);
	for (int j = 0; j < got; j++) {
		uint64_t seq = rt_check(m[j].buf, m[j].len);

		if (seq <= *last)
			T_FAIL("seq %llu after %llu", (unsigned long long)seq,
			       (unsigned long long)*last);
		*last = seq;
	}
	return got;
}

/*
 * Receive on @s with timeout 0 into @buf (@len bytes) until a receive
 * fails: every message intact (rt_check()) and numbered above *@last,
 * which follows them. Return: how many; *@end: the error that ended it.
 */
static inline uint64_t rt_drain(ipk_ring_sub *s, unsigned char *buf, size_t len, uint64_t *last,
				ssize_t *end)
{
	uint64_t delivered = 0;
	ssize_t n;

	while ((n = ipk_ring_recv(s, buf, len, 0)) >= 0) {
		uint64_t seq = rt_check(buf, (size_t)n);

		if (seq <= *last)
			T_FAIL("seq %llu after %llu", (unsigned long long)seq,
			       (unsigned long long)*last);
		*last = seq;
		delivered++;
	}
	*end = n;
	return delivered;
}

/*
 * Publish messages @first to @last (rt_fill(), rt_len(seq, @max), @max at
 * most 1024): in each thousand of seq numbers, the even thousands one at a
 * time, the odd ones in ipk_ring_publish_batch() batches of 1 to 16; every
 * other batch of one length (rt_len(first, 200) at most), which the ring
 * packs into shared records.
 */
static inline void rt_publish_mixed(ipk_ring *r, uint64_t first, uint64_t last, size_t max)
{
	static unsigned char store[16][1024];
	struct ipk_msg v[16];
	uint64_t seq = first;

	T_TRUE(max <= sizeof(store[0]));
	while (seq <= last) {
		size_t n = (seq / 1000) % 2 ? 1 + (size_t)(seq % 16) : 0;

		if (n == 0) {
			size_t len = rt_len(seq, max);

			rt_fill(store[0], len, seq);
			T_OK(ipk_ring_publish(r, store[0], len));
			seq++;
			continue;
		}
		if (n > last - seq + 1)
			n = (size_t)(last - seq + 1);
		for (size_t j = 0; j < n; j++) {
			size_t len = (seq / 16) % 2 ? rt_len(seq, max < 200 ? max : 200)
						    : rt_len(seq + j, max);

			rt_fill(store[j], len, seq + j);
			v[j] = (struct ipk_msg){ .buf = store[j], .len = len };
		}
		T_EQ(ipk_ring_publish_batch(r, v, (unsigned)n), (int)n);
		seq += n;
	}
}

#endif /* IPCKIT_TESTS_RINGT_H */
