/* SPDX-License-Identifier: MIT */
/*
 * dgram.c - a unix+dgram server (IPK_CHAN_CREATE) has no peer until a
 * message arrives (-EDESTADDRREQ), then replies to the sender of the last
 * message received: two client processes each get only their own replies.
 * A client with an abstract-name server works the same way. A server
 * whose client's queue is full waits for room within its deadline.
 */
#include "it.h"

static char url[256];
/* Per client: go (a byte: send your next message), done (a byte: got my
 * reply). A client keeps only its own read end of go and write end of done,
 * so that a dead client is seen as EOF. */
static int go[2][2], done[2][2];

struct ctx {
	int id;
	int go_rd;
	int done_wr;
};

static int client(void *arg)
{
	struct ctx *c = arg;
	ipk_chan *ch = NULL;
	char msg[32], buf[64];

	for (int i = 0; i < 2; i++) {
		if (i != c->id)
			close(go[i][0]);
		if (i != c->id)
			close(done[i][1]);
		close(go[i][1]);
		close(done[i][0]);
	}
	T_EQ(ipk_chan_open(url, 0, 5 * IPK_SEC, &ch), 0);
	for (int round = 0; round < 3; round++) {
		int n = snprintf(msg, sizeof(msg), "c%d r%d", c->id, round);

		it_sync_wait(c->go_rd);
		T_EQ(ipk_chan_send(ch, msg, (size_t)n, 5 * IPK_SEC), 0);
		T_EQ(ipk_chan_recv(ch, buf, sizeof(buf), 5 * IPK_SEC), n + 6);
		T_MEMEQ(buf, "reply ", 6);
		T_MEMEQ(buf + 6, msg, (size_t)n);
		it_sync_post(c->done_wr);
	}
	/* Nothing meant for the other client ever came here. */
	T_EQ(ipk_chan_recv(ch, buf, sizeof(buf), 0), -EAGAIN);
	ipk_chan_close(ch);
	return 0;
}

static void run(const char *name)
{
	struct ctx c[2];
	ipk_chan *srv = NULL;
	char buf[64], reply[80];
	pid_t pid[2];

	snprintf(url, sizeof(url), "unix+dgram:%s", name);
	T_EQ(ipk_chan_open(url, IPK_CHAN_CREATE, 0, &srv), 0);
	T_EQ(ipk_chan_send(srv, "nobody", 6, 0), -EDESTADDRREQ);
	T_EQ(ipk_chan_recv(srv, buf, sizeof(buf), 0), -EAGAIN);

	for (int i = 0; i < 2; i++) {
		T_SYS(pipe2(go[i], O_CLOEXEC));
		T_SYS(pipe2(done[i], O_CLOEXEC));
	}
	for (int i = 0; i < 2; i++) {
		c[i] = (struct ctx){ i, go[i][0], done[i][1] };
		pid[i] = t_fork(client, &c[i]);
	}
	for (int i = 0; i < 2; i++) {
		close(go[i][0]);
		close(done[i][1]);
	}

	/* Alternate: 0, 1, 1, 0, 0, 1 — each reply goes to the last sender. */
	static const int order[] = { 0, 1, 1, 0, 0, 1 };

	for (size_t k = 0; k < sizeof(order) / sizeof(order[0]); k++) {
		int who = order[k];
		ssize_t n;

		it_sync_post(go[who][1]);
		n = ipk_chan_recv(srv, buf, sizeof(buf), 5 * IPK_SEC);
		T_TRUE(n > 1);
		T_EQ(buf[1], '0' + who);
		memcpy(reply, "reply ", 6);
		memcpy(reply + 6, buf, (size_t)n);
		T_EQ(ipk_chan_send(srv, reply, (size_t)n + 6, 5 * IPK_SEC), 0);
		it_sync_wait(done[who][0]);
	}
	for (int i = 0; i < 2; i++) {
		close(go[i][1]);
		t_wait_exit(pid[i], 0);
		close(done[i][0]);
	}
	ipk_chan_close(srv);
}

static ipk_chan *drain_me;

static int drain_later(void *arg)
{
	char buf[64];
	int n = 0;

	(void)arg;
	it_nap_ms(100);
	/* All of it: the sender's own buffer frees only as its peer reads,
	 * and the kernel wakes a blocked sender once most of it is free. */
	while (ipk_chan_recv(drain_me, buf, sizeof(buf), 0) == 64)
		n++;
	return n > 0 ? 0 : 1;
}

/* The server's socket is not connected, so it cannot poll for room in a
 * client's full queue: its send waits in the kernel instead, within the
 * deadline, and goes through as soon as the client reads. */
static void server_full(const char *abs)
{
	char u[160], buf[64] = { 0 };
	ipk_chan *srv, *cli;
	int64_t t0;
	int n = 0, r;
	pid_t kid;

	snprintf(u, sizeof(u), "unix+dgram:%s-full", abs);
	T_OK(ipk_chan_open(u, IPK_CHAN_CREATE, 0, &srv));
	T_OK(ipk_chan_open(u, 0, IPK_SEC, &cli));
	T_OK(ipk_chan_send(cli, "hi", 2, 0));
	T_EQ(ipk_chan_recv(srv, buf, sizeof(buf), IPK_SEC), 2);
	while ((r = ipk_chan_send(srv, buf, sizeof(buf), 0)) == 0)
		n++;
	T_EQ(r, -EAGAIN);
	T_TRUE(n > 0);
	t0 = it_now_ns();
	T_EQ(ipk_chan_send(srv, buf, sizeof(buf), 50 * IPK_MSEC), -ETIMEDOUT);
	T_TRUE(it_ms_since(t0) >= 49);
	drain_me = cli;
	kid = t_fork(drain_later, NULL);
	t0 = it_now_ns();
	T_OK(ipk_chan_send(srv, buf, sizeof(buf), 5 * IPK_SEC));
	T_TRUE(it_ms_since(t0) < 4000); /* woken by the reader, not by the deadline */
	t_wait_exit(kid, 0);
	/* fill it again */
	while (ipk_chan_send(srv, buf, sizeof(buf), 0) == 0)
		;
	/* the queue is full again: a batch sends nothing more in time */
	T_EQ(ipk_chan_send_batch(srv, &(struct ipk_msg){ .buf = buf, .len = 64 }, 1, 20 * IPK_MSEC),
	     -ETIMEDOUT);
	ipk_chan_close(cli);
	ipk_chan_close(srv);
}

int main(void)
{
	char path[128], abs[128];

	t_path(path, sizeof(path), "dgram");
	(void)unlink(path);
	snprintf(abs, sizeof(abs), "@ipk-dgram-%d", (int)getpid());
	run(path);
	T_EQ(access(path, F_OK), -1);
	run(abs);
	server_full(abs);
	return 0;
}
