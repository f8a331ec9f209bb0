/* SPDX-License-Identifier: MIT */
/*
 * frames.c - a peer that breaks the channel's rules. On byte streams a raw
 * client on a unix stream socket, and a raw open(2) writer on a FIFO, send
 * hand-made frames (4-byte little-endian length, then payload) to an
 * ipckit receiver:
 *   (a) a length over the receiver's maximum: -EPROTO at once (without
 *       waiting for the payload), then -EPIPE; a socket peer sees the
 *       connection shut down (read 0, write EPIPE) while the receiver
 *       process still lives;
 *   (b) a frame cut short by the peer's close: -EPROTO, then -EPIPE;
 *   (c) valid frames (one of exactly the maximum) then close: the
 *       messages, then -EPIPE.
 * On packet sockets a raw peer sends a message over the receiver's maximum:
 * -EPROTO with ipk_chan_next_len() telling its size; a datagram server
 * then goes on with the next message, a seqpacket connection is shut down
 * (-EPIPE, and the peer sees it).
 */
#include "it.h"

#define MAX 1024

enum kase { OVER, OVER_HUGE, TRUNCATED, VALID };

struct ctx {
	char path[128];
	char url[256];
	enum kase k;
	int sync_rd; /* receiver waits here before it closes (OVER cases) */
	int sync_wr; /* the parent's end: closed in the receiver */
};

static void check_recv(ipk_chan *ch, enum kase k)
{
	static uint8_t buf[4 * MAX];
	ssize_t n;

	switch (k) {
	case OVER:
	case OVER_HUGE:
	case TRUNCATED:
		T_EQ(ipk_chan_recv(ch, buf, sizeof(buf), 5 * IPK_SEC), -EPROTO);
		/* Shut down: no waiting, however long the timeout. */
		T_EQ(ipk_chan_recv(ch, buf, sizeof(buf), 2 * IPK_SEC), -EPIPE);
		T_EQ(ipk_chan_recv(ch, buf, sizeof(buf), 0), -EPIPE);
		break;
	case VALID:
		n = ipk_chan_recv(ch, buf, sizeof(buf), 5 * IPK_SEC);
		T_EQ(n, MAX);
		T_TRUE(it_check(buf, MAX, 7));
		n = ipk_chan_recv(ch, buf, sizeof(buf), 5 * IPK_SEC);
		T_EQ(n, 5);
		T_MEMEQ(buf, "hello", 5);
		n = ipk_chan_recv(ch, buf, sizeof(buf), 5 * IPK_SEC);
		T_EQ(n, 0);
		T_EQ(ipk_chan_recv(ch, buf, sizeof(buf), 5 * IPK_SEC), -EPIPE);
		T_EQ(ipk_chan_recv(ch, buf, sizeof(buf), 0), -EPIPE);
		break;
	}
}

/* What the raw peer writes for each case. */
static void raw_send(int fd, enum kase k)
{
	static uint8_t frame[4 + MAX];
	uint8_t hdr[4];

	switch (k) {
	case OVER:
		/* Header and part of a payload; the peer keeps the line open. */
		it_le32(frame, MAX + 1);
		memset(frame + 4, 'x', 10);
		it_write_all(fd, frame, 14);
		break;
	case OVER_HUGE:
		it_le32(frame, UINT32_MAX);
		memset(frame + 4, 'x', 10);
		it_write_all(fd, frame, 14);
		break;
	case TRUNCATED:
		it_le32(frame, 100);
		memset(frame + 4, 'y', 10);
		it_write_all(fd, frame, 14);
		break;
	case VALID:
		it_le32(frame, MAX);
		it_fill(frame + 4, MAX, 7);
		it_write_all(fd, frame, 4 + MAX);
		it_le32(hdr, 5);
		it_write_all(fd, hdr, 4);
		it_write_all(fd, "hello", 5);
		it_le32(hdr, 0);
		it_write_all(fd, hdr, 4);
		break;
	}
}

static int unix_receiver(void *arg)
{
	struct ctx *c = arg;
	ipk_chan *ch = NULL;

	close(c->sync_wr);
	T_EQ(ipk_chan_open(c->url, IPK_CHAN_CREATE, 5 * IPK_SEC, &ch), 0);
	check_recv(ch, c->k);
	/* Stay alive (channel open) until the peer has checked the shutdown:
	 * the process's exit must not be what closes the connection. */
	it_sync_wait(c->sync_rd);
	ipk_chan_close(ch);
	return 0;
}

static void run_unix(enum kase k)
{
	struct ctx c = { .k = k };
	int sync[2], fd;
	pid_t pid;
	char b;

	t_path(c.path, sizeof(c.path), "frames");
	(void)unlink(c.path);
	snprintf(c.url, sizeof(c.url), "unix:%s?msgsize=%d", c.path, MAX);
	T_SYS(pipe2(sync, O_CLOEXEC));
	c.sync_rd = sync[0];
	c.sync_wr = sync[1];
	pid = t_fork(unix_receiver, &c);
	close(sync[0]);

	fd = it_raw_connect(c.path, SOCK_STREAM);
	raw_send(fd, k);
	if (k == OVER || k == OVER_HUGE) {
		/* The receiver shut the connection down: end of stream for
		 * us, and writes fail. */
		it_wait_readable(fd, 5000);
		T_EQ(read(fd, &b, 1), 0);
		T_EQ(send(fd, "z", 1, MSG_NOSIGNAL), -1);
		T_EQ(errno, EPIPE);
	}
	close(fd);
	it_sync_post(sync[1]);
	close(sync[1]);
	t_wait_exit(pid, 0);

	/* The one-peer server stopped listening and removed its socket. */
	T_EQ(access(c.path, F_OK), -1);
	T_EQ(errno, ENOENT);
}

static int fifo_receiver(void *arg)
{
	struct ctx *c = arg;
	ipk_chan *ch = NULL;

	close(c->sync_wr);
	T_EQ(ipk_chan_open(c->url, IPK_CHAN_CREATE | IPK_CHAN_RDONLY, 0, &ch), 0);
	check_recv(ch, c->k);
	it_sync_wait(c->sync_rd);
	ipk_chan_close(ch);
	return 0;
}

static int raw_fifo_open(const char *path)
{
	for (int i = 0; i < 500; i++) {
		int fd = open(path, O_WRONLY | O_NONBLOCK | O_CLOEXEC | O_NOFOLLOW);

		if (fd >= 0) {
			/* Blocking writes from here on. */
			T_SYS(fcntl(fd, F_SETFL, 0));
			return fd;
		}
		if (errno != ENOENT && errno != ENXIO)
			T_FAIL("open %s: %s", path, strerror(errno));
		it_nap_ms(10);
	}
	T_FAIL("no reader ever opened %s", path);
}

static void run_fifo(enum kase k)
{
	struct ctx c = { .k = k };
	int sync[2], fd;
	pid_t pid;

	t_path(c.path, sizeof(c.path), "frames-fifo");
	(void)unlink(c.path);
	snprintf(c.url, sizeof(c.url), "fifo:%s?msgsize=%d", c.path, MAX);
	T_SYS(pipe2(sync, O_CLOEXEC));
	c.sync_rd = sync[0];
	c.sync_wr = sync[1];
	pid = t_fork(fifo_receiver, &c);
	close(sync[0]);

	fd = raw_fifo_open(c.path);
	raw_send(fd, k);
	/* OVER keeps the writer open while the receiver checks: its -EPROTO
	 * must come from the header alone, and its -EPIPE from the shutdown,
	 * not from our close. The others close to end the stream. */
	if (k == OVER || k == OVER_HUGE) {
		it_sync_post(sync[1]);
		t_wait_exit(pid, 0);
		close(fd);
	} else {
		close(fd);
		it_sync_post(sync[1]);
		t_wait_exit(pid, 0);
	}
	close(sync[1]);
	T_EQ(access(c.path, F_OK), -1);
	T_EQ(errno, ENOENT);
}

struct packet_ctx {
	char path[128];
	int sync_rd, sync_wr;
};

/* A raw datagram client: an oversized message, then a valid one; then
 * the same with a valid one first. */
static int raw_dgram_client(void *arg)
{
	struct packet_ctx *c = arg;
	static uint8_t big[2000];
	struct sockaddr_un sa;
	socklen_t salen;
	int fd = (int)T_SYS(socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0));

	it_fill(big, sizeof(big), 9);
	it_sun(&sa, &salen, c->path);
	T_EQ(sendto(fd, big, sizeof(big), 0, (struct sockaddr *)&sa, salen), sizeof(big));
	T_EQ(sendto(fd, "after", 5, 0, (struct sockaddr *)&sa, salen), 5);
	T_EQ(sendto(fd, "before", 6, 0, (struct sockaddr *)&sa, salen), 6);
	T_EQ(sendto(fd, big, sizeof(big), 0, (struct sockaddr *)&sa, salen), sizeof(big));
	T_EQ(sendto(fd, "after", 5, 0, (struct sockaddr *)&sa, salen), 5);
	close(fd);
	return 0;
}

static void run_dgram(void)
{
	struct packet_ctx c;
	static uint8_t buf[4 * MAX];
	char url[256];
	ipk_chan *srv = NULL;
	pid_t pid;

	t_path(c.path, sizeof(c.path), "frames-dg");
	(void)unlink(c.path);
	snprintf(url, sizeof(url), "unix+dgram:%s?msgsize=%d", c.path, MAX);
	T_EQ(ipk_chan_open(url, IPK_CHAN_CREATE, 0, &srv), 0);
	pid = t_fork(raw_dgram_client, &c);
	t_wait_exit(pid, 0);
	T_EQ(ipk_chan_recv(srv, buf, sizeof(buf), 5 * IPK_SEC), -EPROTO);
	T_EQ(ipk_chan_next_len(srv), 2000);
	/* Discarded: the server goes on with the next datagram. */
	T_EQ(ipk_chan_recv(srv, buf, sizeof(buf), 5 * IPK_SEC), 5);
	T_MEMEQ(buf, "after", 5);
	T_EQ(ipk_chan_next_len(srv), 0);

	/* A batch (recvmmsg: every buffer holds the maximum) leaves the
	 * oversized message out, loses nothing after it, and reports the
	 * drop on the next call. */
	{
		static uint8_t bb[4][MAX];
		struct ipk_msg m[4];

		for (int i = 0; i < 4; i++)
			m[i] = (struct ipk_msg){ bb[i], MAX };
		T_EQ(ipk_chan_recv_batch(srv, m, 4, 5 * IPK_SEC), 2);
		T_EQ(m[0].len, 6);
		T_MEMEQ(bb[0], "before", 6);
		T_EQ(m[1].len, 5);
		T_MEMEQ(bb[1], "after", 5);
		for (int i = 0; i < 4; i++)
			m[i] = (struct ipk_msg){ bb[i], MAX };
		T_EQ(ipk_chan_recv_batch(srv, m, 4, 5 * IPK_SEC), -EPROTO);
		T_EQ(ipk_chan_next_len(srv), 2000);
	}
	T_EQ(ipk_chan_recv(srv, buf, sizeof(buf), 0), -EAGAIN);
	ipk_chan_close(srv);
	T_EQ(access(c.path, F_OK), -1);
}

static int seq_receiver(void *arg)
{
	struct packet_ctx *c = arg;
	static uint8_t buf[4 * MAX];
	char url[256];
	ipk_chan *ch = NULL;

	close(c->sync_wr);
	snprintf(url, sizeof(url), "unix+seqpacket:%s?msgsize=%d", c->path, MAX);
	T_EQ(ipk_chan_open(url, IPK_CHAN_CREATE, 5 * IPK_SEC, &ch), 0);
	T_EQ(ipk_chan_recv(ch, buf, sizeof(buf), 5 * IPK_SEC), -EPROTO);
	T_EQ(ipk_chan_next_len(ch), 2000);
	/* The connection is shut down: "after" is never delivered. */
	T_EQ(ipk_chan_recv(ch, buf, sizeof(buf), 2 * IPK_SEC), -EPIPE);
	T_EQ(ipk_chan_recv(ch, buf, sizeof(buf), 0), -EPIPE);
	it_sync_wait(c->sync_rd);
	ipk_chan_close(ch);
	return 0;
}

static void run_seqpacket(void)
{
	struct packet_ctx c;
	static uint8_t big[2000];
	int sync[2], fd;
	pid_t pid;
	char b;

	t_path(c.path, sizeof(c.path), "frames-sp");
	(void)unlink(c.path);
	T_SYS(pipe2(sync, O_CLOEXEC));
	c.sync_rd = sync[0];
	c.sync_wr = sync[1];
	pid = t_fork(seq_receiver, &c);
	close(sync[0]);

	fd = it_raw_connect(c.path, SOCK_SEQPACKET);
	it_fill(big, sizeof(big), 9);
	T_EQ(send(fd, big, sizeof(big), MSG_NOSIGNAL), sizeof(big));
	T_EQ(send(fd, "after", 5, MSG_NOSIGNAL), 5);
	/* The receiver shut the connection down while it still lives. */
	it_wait_readable(fd, 5000);
	T_EQ(read(fd, &b, 1), 0);
	T_EQ(send(fd, "z", 1, MSG_NOSIGNAL), -1);
	T_EQ(errno, EPIPE);
	close(fd);
	it_sync_post(sync[1]);
	close(sync[1]);
	t_wait_exit(pid, 0);
	T_EQ(access(c.path, F_OK), -1);
}

int main(void)
{
	static const enum kase all[] = { OVER, OVER_HUGE, TRUNCATED, VALID };

	/* A raw FIFO writer whose reader is gone must not die of SIGPIPE. */
	signal(SIGPIPE, SIG_IGN);
	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
		run_unix(all[i]);
		run_fifo(all[i]);
	}
	run_dgram();
	run_seqpacket();
	return 0;
}
