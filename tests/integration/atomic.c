/* SPDX-License-Identifier: MIT */
/*
 * Several writers share one pipe: every message whose frame fits in
 * PIPE_BUF (payload up to IPK_PIPE_ATOMIC_MAX) arrives whole, never
 * interleaved with another writer's, and each writer's messages keep their
 * order. The pipe is kept small so the writers block on it all the time.
 */
#include <limits.h>
#include <stdint.h>

#include "../harness.h"

#define WRITERS 4
#define PER_WRITER 3000

static ipk_chan *rd, *wr;

static void fill(uint8_t *buf, size_t len, unsigned w, unsigned seq)
{
	for (size_t i = 0; i < len; i++)
		buf[i] = (uint8_t)(w * 61u + seq * 7u + i);
}

static int writer(void *arg)
{
	unsigned w = (unsigned)(uintptr_t)arg;
	uint8_t buf[IPK_PIPE_ATOMIC_MAX];

	ipk_chan_close(rd);
	for (unsigned seq = 0; seq < PER_WRITER; seq++) {
		/* sizes up to the atomic limit, the largest often */
		size_t len =
			seq % 3 ? IPK_PIPE_ATOMIC_MAX : 8 + (seq * 131) % (IPK_PIPE_ATOMIC_MAX - 8);

		fill(buf, len, w, seq);
		buf[0] = (uint8_t)w; /* who, and which: readable after the pattern */
		buf[1] = (uint8_t)seq;
		buf[2] = (uint8_t)(seq >> 8);
		T_OK(ipk_chan_send(wr, buf, len, 10 * IPK_SEC));
	}
	ipk_chan_close(wr);
	return 0;
}

int main(void)
{
	unsigned next[WRITERS] = { 0 };
	uint8_t buf[IPK_PIPE_ATOMIC_MAX + 1], want[IPK_PIPE_ATOMIC_MAX];
	pid_t pids[WRITERS];

	T_EQ(IPK_PIPE_ATOMIC_MAX + 4, (size_t)PIPE_BUF);
	T_OK(ipk_chan_pipe("pipe:?pipesize=4096", 0, &rd, &wr));
	for (unsigned w = 0; w < WRITERS; w++)
		pids[w] = t_fork(writer, (void *)(uintptr_t)w);
	ipk_chan_close(wr);

	for (unsigned n = 0; n < WRITERS * PER_WRITER; n++) {
		ssize_t len = ipk_chan_recv(rd, buf, sizeof(buf), 10 * IPK_SEC);
		unsigned w, seq;

		T_TRUE(len >= 8 && len <= (ssize_t)IPK_PIPE_ATOMIC_MAX);
		w = buf[0];
		seq = buf[1] | (unsigned)buf[2] << 8;
		T_TRUE(w < WRITERS);
		T_EQ(seq, next[w]); /* in order, none lost, none twice */
		next[w]++;
		fill(want, (size_t)len, w, seq);
		T_MEMEQ(buf + 3, want + 3, (size_t)len - 3);
	}
	T_EQ(ipk_chan_recv(rd, buf, sizeof(buf), 10 * IPK_SEC), -EPIPE);
	for (unsigned w = 0; w < WRITERS; w++)
		t_wait_exit(pids[w], 0);
	ipk_chan_close(rd);
	return 0;
}
