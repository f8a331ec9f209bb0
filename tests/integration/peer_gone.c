/* SPDX-License-Identifier: MIT */
/*
 * peer_gone.c - the other end goes away:
 * - a sender whose receiver closed gets -EPIPE (or -ECONNRESET where the
 *   kernel reports a reset) and is not killed by SIGPIPE, which stays at
 *   its default disposition;
 * - a receiver whose sender closed gets the last message, then -EPIPE,
 *   every time it asks;
 * - a unix+dgram client whose server closed gets -EPIPE (chan.h: "writing
 *   to a peer that went away returns -EPIPE").
 */
#include "it.h"

static const char *const kinds[] = { "pipe", "fifo", "unix", "unix+seqpacket", "tcp" };

struct ctx {
	struct it_pair *p;
	int sync[2];
	int tcp;
};

static void expect_default_sigpipe(void)
{
	struct sigaction sa;

	T_SYS(sigaction(SIGPIPE, NULL, &sa));
	T_TRUE(sa.sa_handler == SIG_DFL);
}

/* Receiver: takes one message, closes its end, exits (closing the sync
 * pipe tells the sender). */
static int early_receiver(void *arg)
{
	struct ctx *c = arg;
	char buf[16];

	close(c->sync[0]);
	ipk_chan_close(c->p->tx);
	T_EQ(ipk_chan_recv(c->p->rx, buf, sizeof(buf), 5 * IPK_SEC), 2);
	T_MEMEQ(buf, "hi", 2);
	ipk_chan_close(c->p->rx);
	return 0;
}

/* Sender, SIGPIPE at SIG_DFL: writes once, waits for the receiver to be
 * gone, then writes into the void. */
static int late_sender(void *arg)
{
	struct ctx *c = arg;
	int r = 0, i;

	signal(SIGPIPE, SIG_DFL);
	ipk_chan_close(c->p->rx);
	T_EQ(ipk_chan_send(c->p->tx, "hi", 2, 5 * IPK_SEC), 0);
	it_sync_wait(c->sync[0]); /* EOF: the receiver exited */

	/* A TCP peer's close is a FIN: the first writes may still be taken
	 * (the reset comes back in reply). Every other transport knows at
	 * once. */
	for (i = 0; i < (c->tcp ? 200 : 1); i++) {
		r = ipk_chan_send(c->p->tx, "lost", 4, IPK_SEC);
		if (r < 0)
			break;
		T_EQ(r, 0);
		it_nap_ms(5);
	}
	if (r != -EPIPE && r != -ECONNRESET)
		T_FAIL("send to a closed peer: got %d (%s), want -EPIPE or -ECONNRESET", r,
		       ipk_errname(r));
	/* And again: the channel stays broken, still without a signal. */
	r = ipk_chan_send(c->p->tx, "lost", 4, IPK_SEC);
	if (r != -EPIPE && r != -ECONNRESET)
		T_FAIL("second send to a closed peer: got %d (%s)", r, ipk_errname(r));
	expect_default_sigpipe();
	ipk_chan_close(c->p->tx);
	return 0;
}

static void send_to_gone(const char *kind)
{
	struct it_pair p;
	struct ctx c = { .p = &p, .tcp = strcmp(kind, "tcp") == 0 };
	pid_t rpid, spid;

	it_pair_open(&p, kind, "gone", NULL);
	T_SYS(pipe2(c.sync, O_CLOEXEC));
	rpid = t_fork(early_receiver, &c);
	close(c.sync[1]);
	/* This process keeps no copy of either end: the receiving end goes
	 * before the sender starts, or the sender could still write to it. */
	ipk_chan_close(p.rx);
	p.rx = NULL;
	spid = t_fork(late_sender, &c);
	close(c.sync[0]);
	ipk_chan_close(p.tx);
	p.tx = NULL;
	t_wait_exit(rpid, 0);
	t_wait_exit(spid, 0); /* "killed by signal 13" if SIGPIPE got through */
	it_pair_close(&p);
}

static int early_sender(void *arg)
{
	struct ctx *c = arg;

	ipk_chan_close(c->p->rx);
	T_EQ(ipk_chan_send(c->p->tx, "last", 4, 5 * IPK_SEC), 0);
	T_EQ(ipk_chan_flush(c->p->tx, 5 * IPK_SEC), 0);
	ipk_chan_close(c->p->tx);
	return 0;
}

static void recv_from_gone(const char *kind)
{
	struct it_pair p;
	struct ctx c = { .p = &p };
	char buf[16];
	pid_t pid;

	it_pair_open(&p, kind, "gone2", NULL);
	pid = t_fork(early_sender, &c);
	ipk_chan_close(p.tx);
	p.tx = NULL;
	t_wait_exit(pid, 0);
	T_EQ(ipk_chan_recv(p.rx, buf, sizeof(buf), 5 * IPK_SEC), 4);
	T_MEMEQ(buf, "last", 4);
	T_EQ(ipk_chan_recv(p.rx, buf, sizeof(buf), 5 * IPK_SEC), -EPIPE);
	T_EQ(ipk_chan_recv(p.rx, buf, sizeof(buf), 0), -EPIPE);
	T_EQ(ipk_chan_recv(p.rx, buf, sizeof(buf), IPK_FOREVER), -EPIPE);
	it_pair_close(&p);
}

/* unix+dgram: the server closes (and removes its socket); the client's
 * next send finds no peer. */
static int dgram_server(void *arg)
{
	struct ctx *c = arg;
	ipk_chan *srv = NULL;
	char buf[16];

	T_EQ(ipk_chan_open(c->p->url, IPK_CHAN_CREATE, 0, &srv), 0);
	it_sync_post(c->sync[1]);
	T_EQ(ipk_chan_recv(srv, buf, sizeof(buf), 5 * IPK_SEC), 2);
	T_MEMEQ(buf, "hi", 2);
	ipk_chan_close(srv);
	return 0;
}

static int dgram_client(void *arg)
{
	struct ctx *c = arg;
	ipk_chan *cl = NULL;
	int r;

	signal(SIGPIPE, SIG_DFL);
	it_sync_wait(c->sync[0]); /* the server is bound */
	T_EQ(ipk_chan_open(c->p->url, 0, 5 * IPK_SEC, &cl), 0);
	T_EQ(ipk_chan_send(cl, "hi", 2, 5 * IPK_SEC), 0);
	it_sync_wait(c->sync[0]); /* EOF: the server exited */
	r = ipk_chan_send(cl, "lost", 4, IPK_SEC);
	T_EQ(r, -EPIPE);
	T_EQ(ipk_chan_send(cl, "lost", 4, IPK_SEC), -EPIPE);
	expect_default_sigpipe();
	ipk_chan_close(cl);
	return 0;
}

static void dgram_gone(void)
{
	struct it_pair p;
	struct ctx c = { .p = &p };
	pid_t spid, cpid;

	memset(&p, 0, sizeof(p));
	t_path(p.path, sizeof(p.path), "gone-dg");
	(void)unlink(p.path);
	snprintf(p.url, sizeof(p.url), "unix+dgram:%s", p.path);
	T_SYS(pipe2(c.sync, O_CLOEXEC));
	spid = t_fork(dgram_server, &c);
	close(c.sync[1]);
	c.sync[1] = -1;
	cpid = t_fork(dgram_client, &c);
	close(c.sync[0]);
	t_wait_exit(spid, 0);
	t_wait_exit(cpid, 0);
	(void)unlink(p.path);
}

int main(void)
{
	signal(SIGPIPE, SIG_DFL);
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		send_to_gone(kinds[i]);
		recv_from_gone(kinds[i]);
	}
	dgram_gone();
	return 0;
}
