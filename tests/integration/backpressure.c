/* SPDX-License-Identifier: MIT */
/*
 * backpressure.c - a pipe whose reader does not read: pipesize= takes
 * effect (F_GETPIPE_SZ); the writer's send with timeout 0 ends in -EAGAIN,
 * with 100 ms in -ETIMEDOUT, never losing or tearing a message; once the
 * reader (a child) drains, a blocking writer goes on and every message
 * arrives exactly once, in order. IPK_CHAN_NONBLOCK makes every call try
 * once whatever its timeout. A message larger than the pipe whose deadline
 * strikes mid-frame counts as sent: the rest waits in the channel, goes out
 * with ipk_chan_flush() or before the next message, and arrives whole.
 */
#include "it.h"

#define PIPESZ 4096
#define MSG 1024
#define TOTAL 64

struct ctx {
	ipk_chan *rd, *wr;
};

static int drainer(void *arg)
{
	struct ctx *c = arg;
	static uint8_t buf[2 * MSG];

	ipk_chan_close(c->wr);
	for (uint32_t seq = 0; seq < TOTAL; seq++) {
		ssize_t n = ipk_chan_recv(c->rd, buf, sizeof(buf), 5 * IPK_SEC);

		if (n != MSG || !it_check(buf, MSG, seq))
			T_FAIL("message %u: got %zd bytes, seq %u", seq, n,
			       n >= 4 ? it_seq_of(buf) : 0);
	}
	T_EQ(ipk_chan_recv(c->rd, buf, sizeof(buf), 5 * IPK_SEC), -EPIPE);
	ipk_chan_close(c->rd);
	return 0;
}

#define BIG 10000

static int big_reader(void *arg)
{
	struct ctx *c = arg;
	static uint8_t buf[2 * BIG];

	ipk_chan_close(c->wr);
	T_EQ(ipk_chan_recv(c->rd, buf, sizeof(buf), 5 * IPK_SEC), BIG);
	T_TRUE(it_check(buf, BIG, 100));
	T_EQ(ipk_chan_recv(c->rd, buf, sizeof(buf), 5 * IPK_SEC), BIG);
	T_TRUE(it_check(buf, BIG, 101));
	T_EQ(ipk_chan_recv(c->rd, buf, sizeof(buf), 5 * IPK_SEC), -EPIPE);
	ipk_chan_close(c->rd);
	return 0;
}

/* A frame cut by the deadline is finished later, never torn. */
static void cut_frame(void)
{
	static uint8_t big[BIG];
	struct ctx c = { 0 };
	pid_t pid;

	T_EQ(ipk_chan_pipe("pipe:?pipesize=4096", 0, &c.rd, &c.wr), 0);
	it_fill(big, BIG, 100);
	/* 4096 bytes go out, then the deadline: the message counts as sent. */
	T_EQ(ipk_chan_send(c.wr, big, BIG, 50 * IPK_MSEC), 0);
	T_EQ(ipk_chan_flush(c.wr, 0), -EAGAIN);
	T_EQ(ipk_chan_flush(c.wr, 50 * IPK_MSEC), -ETIMEDOUT);
	/* The next message cannot start before the rest is out. */
	it_fill(big, BIG, 101);
	T_EQ(ipk_chan_send(c.wr, big, BIG, 0), -EAGAIN);
	T_EQ(ipk_chan_send(c.wr, big, BIG, 50 * IPK_MSEC), -ETIMEDOUT);

	pid = t_fork(big_reader, &c);
	ipk_chan_close(c.rd);
	T_EQ(ipk_chan_flush(c.wr, 5 * IPK_SEC), 0);
	T_EQ(ipk_chan_send(c.wr, big, BIG, 5 * IPK_SEC), 0);
	T_EQ(ipk_chan_flush(c.wr, 5 * IPK_SEC), 0);
	ipk_chan_close(c.wr);
	t_wait_exit(pid, 0);
}

int main(void)
{
	static uint8_t msg[MSG];
	struct ctx c = { 0 };
	uint32_t seq = 0;
	int64_t t0, ms;
	pid_t pid;
	int r;

	T_EQ(ipk_chan_pipe("pipe:?pipesize=4096&msgsize=2048", 0, &c.rd, &c.wr), 0);
	T_EQ(fcntl(ipk_chan_fd(c.wr), F_GETPIPE_SZ), PIPESZ);
	T_EQ(fcntl(ipk_chan_fd(c.rd), F_GETPIPE_SZ), PIPESZ);

	/* Fill: 1028-byte frames, 3 fit in 4096. */
	for (;;) {
		it_fill(msg, MSG, seq);
		r = ipk_chan_send(c.wr, msg, MSG, 0);
		if (r == -EAGAIN)
			break;
		T_EQ(r, 0);
		seq++;
		if (seq > PIPESZ / MSG)
			T_FAIL("%u messages of %d bytes went into a %d-byte pipe", seq, MSG,
			       PIPESZ);
	}
	T_TRUE(seq >= 1);
	T_EQ(ipk_chan_send(c.wr, msg, MSG, 0), -EAGAIN);
	t0 = it_now_ns();
	T_EQ(ipk_chan_send(c.wr, msg, MSG, 100 * IPK_MSEC), -ETIMEDOUT);
	ms = it_ms_since(t0);
	if (ms < 95 || ms >= 2000)
		T_FAIL("send with a 100 ms timeout took %lld ms", (long long)ms);
	/* Nothing of the refused message is pending. */
	T_EQ(ipk_chan_flush(c.wr, 0), 0);

	/* The reader catches up; the writer blocks and goes on. */
	pid = t_fork(drainer, &c);
	ipk_chan_close(c.rd);
	for (; seq < TOTAL; seq++) {
		it_fill(msg, MSG, seq);
		T_EQ(ipk_chan_send(c.wr, msg, MSG, 5 * IPK_SEC), 0);
	}
	ipk_chan_close(c.wr);
	t_wait_exit(pid, 0);

	/* IPK_CHAN_NONBLOCK: a timeout is no reason to wait. */
	T_EQ(ipk_chan_pipe("pipe:?pipesize=4096", IPK_CHAN_NONBLOCK, &c.rd, &c.wr), 0);
	t0 = it_now_ns();
	T_EQ(ipk_chan_recv(c.rd, msg, sizeof(msg), IPK_SEC), -EAGAIN);
	seq = 0;
	while ((r = ipk_chan_send(c.wr, msg, MSG, IPK_SEC)) == 0)
		if (++seq > PIPESZ / MSG)
			T_FAIL("nonblocking pipe took %u messages", seq);
	T_EQ(r, -EAGAIN);
	T_TRUE(it_ms_since(t0) < 500);
	for (uint32_t i = 0; i < seq; i++)
		T_EQ(ipk_chan_recv(c.rd, msg, sizeof(msg), IPK_SEC), MSG);
	T_EQ(ipk_chan_recv(c.rd, msg, sizeof(msg), IPK_SEC), -EAGAIN);
	ipk_chan_close(c.rd);
	ipk_chan_close(c.wr);

	cut_frame();
	return 0;
}
