/* SPDX-License-Identifier: MIT */
/*
 * tests/mpsc/mpsct.h - what the ipk_mpsc tests share: unique queue names,
 * one-byte handshakes between processes, and self-checking messages that
 * say which producer wrote them and their number in its stream.
 */
#ifndef IPCKIT_TESTS_MPSCT_H
#define IPCKIT_TESTS_MPSCT_H

#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <sys/mman.h>
#include <sys/prctl.h>

#include "../harness.h"

#define MT_TIMEOUT (10 * IPK_SEC)

/* "/ipk-mpsc-<tag>-<pid>"; also removes leftovers of an earlier run. */
static inline const char *mt_name(char *buf, size_t len, const char *tag)
{
	char door[300];

	snprintf(buf, len, "/ipk-mpsc-%s-%d", tag, (int)getpid());
	snprintf(door, sizeof(door), "%s-door", buf);
	(void)shm_unlink(buf);
	(void)shm_unlink(door);
	return buf;
}

/* Is anything left at @name or its door? */
static inline bool mt_exists(const char *name)
{
	char path[300];

	snprintf(path, sizeof(path), "/dev/shm%s", name);
	if (access(path, F_OK) == 0)
		return true;
	snprintf(path, sizeof(path), "/dev/shm%s-door", name);
	return access(path, F_OK) == 0;
}

static inline int64_t mt_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * IPK_SEC + ts.tv_nsec;
}

/* One-byte handshakes between processes. */
struct mt_step {
	int fd[2];
};

static inline void mt_step_init(struct mt_step *s)
{
	T_SYS(pipe(s->fd));
}

static inline void mt_signal(struct mt_step *s)
{
	T_EQ(write(s->fd[1], "x", 1), 1);
}

static inline void mt_await(struct mt_step *s)
{
	char c;

	T_EQ(read(s->fd[0], &c, 1), 1);
}

/* Message @seq of producer @who, @len bytes (>= 24): who, seq, a checksum,
 * then a pattern. */
static inline uint64_t mt_hash(uint64_t who, uint64_t seq, const unsigned char *p, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ull ^ who ^ (seq << 20) ^ n;

	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 0x100000001b3ull;
	return h;
}

static inline void mt_fill(unsigned char *buf, size_t len, uint64_t who, uint64_t seq)
{
	uint64_t h;

	for (size_t i = 24; i < len; i++)
		buf[i] = (unsigned char)(seq * 31 + who * 7 + i);
	memcpy(buf, &who, 8);
	memcpy(buf + 8, &seq, 8);
	h = mt_hash(who, seq, buf + 24, len - 24);
	memcpy(buf + 16, &h, 8);
}

/* Check a message; aborts if torn. Sets *@who and returns its seq. */
static inline uint64_t mt_check(const unsigned char *buf, size_t len, uint64_t *who)
{
	uint64_t seq, h;

	if (len < 24)
		T_FAIL("message of %zu bytes: too short to carry a checksum", len);
	memcpy(who, buf, 8);
	memcpy(&seq, buf + 8, 8);
	memcpy(&h, buf + 16, 8);
	if (h != mt_hash(*who, seq, buf + 24, len - 24))
		T_FAIL("message %llu of producer %llu, %zu bytes: torn (checksum)",
		       (unsigned long long)seq, (unsigned long long)*who, len);
	return seq;
}

/* A length between 24 and @max that varies with @seq. */
static inline size_t mt_len(uint64_t seq, size_t max)
{
	return 24 + (size_t)((seq * 7919u) % (max - 23));
}

#endif /* IPCKIT_TESTS_MPSCT_H */
