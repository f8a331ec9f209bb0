/* SPDX-License-Identifier: MIT */
/*
 * signals.c - blocking calls under a storm of signals lose and duplicate
 * nothing. A sender and a receiver process, each with a SIGUSR1 handler
 * installed without SA_RESTART, move 20,000 messages (sizes varying, some
 * larger than the pipe or socket buffer so that writes block mid-frame)
 * while a third process fires SIGUSR1 at both as fast as it can. The
 * receiver checks every sequence number arrives once, in order, intact.
 */
#include "it.h"

#define COUNT 20000
#define MAXMSG 16384

static const char *const kinds[] = { "unix", "pipe", "fifo", "unix+seqpacket" };

static volatile sig_atomic_t hits;

static void on_usr1(int sig)
{
	(void)sig;
	hits++;
}

/* Mostly small, every 50th larger than the 8 KiB pipe buffer. */
static size_t size_of(uint32_t seq)
{
	if (seq % 50 == 49)
		return 9000 + (seq * 37u) % (MAXMSG - 9000);
	return 4 + (seq * 7919u) % 600;
}

struct ctx {
	struct it_pair *p;
	int go;    /* read end: EOF means start */
	int go_wr; /* its write end, which each child must close */
};

static int receiver(void *arg)
{
	struct ctx *c = arg;
	static uint8_t buf[MAXMSG];

	ipk_chan_close(c->p->tx);
	close(c->go_wr);
	it_sync_wait(c->go);
	for (uint32_t seq = 0; seq < COUNT; seq++) {
		ssize_t n = ipk_chan_recv(c->p->rx, buf, sizeof(buf), 20 * IPK_SEC);

		if (n < 0)
			T_FAIL("recv of message %u: %zd (%s)", seq, n, ipk_errname((int)n));
		if ((size_t)n != size_of(seq) || !it_check(buf, (size_t)n, seq))
			T_FAIL("message %u: got %zd bytes with seq %u, want %zu bytes", seq, n,
			       n >= 4 ? it_seq_of(buf) : 0, size_of(seq));
	}
	T_EQ(ipk_chan_recv(c->p->rx, buf, sizeof(buf), 20 * IPK_SEC), -EPIPE);
	ipk_chan_close(c->p->rx);
	if (hits == 0)
		T_FAIL("the receiver saw no signal: the test tested nothing");
	fprintf(stderr, "receiver: %d signals\n", (int)hits);
	return 0;
}

static int sender(void *arg)
{
	struct ctx *c = arg;
	static uint8_t buf[MAXMSG];

	ipk_chan_close(c->p->rx);
	close(c->go_wr);
	it_sync_wait(c->go);
	for (uint32_t seq = 0; seq < COUNT; seq++) {
		int r;

		it_fill(buf, size_of(seq), seq);
		r = ipk_chan_send(c->p->tx, buf, size_of(seq), 20 * IPK_SEC);
		if (r != 0)
			T_FAIL("send of message %u: %d (%s)", seq, r, ipk_errname(r));
	}
	T_EQ(ipk_chan_flush(c->p->tx, 20 * IPK_SEC), 0);
	ipk_chan_close(c->p->tx);
	if (hits == 0)
		T_FAIL("the sender saw no signal: the test tested nothing");
	fprintf(stderr, "sender: %d signals\n", (int)hits);
	return 0;
}

struct storm {
	pid_t a, b;
	int go_wr; /* not ours to hold: the start is the parent's close */
};

/* Fires until both targets are reaped (kill then fails with ESRCH). */
static int storm(void *arg)
{
	struct storm *s = arg;
	unsigned long n = 0;

	close(s->go_wr);
	for (;;) {
		int alive = 0;

		alive += kill(s->a, SIGUSR1) == 0;
		alive += kill(s->b, SIGUSR1) == 0;
		if (!alive)
			break;
		n++;
	}
	return n > 0 ? 0 : 1;
}

static void run(const char *kind)
{
	struct it_pair p;
	struct ctx c = { .p = &p };
	struct storm s;
	int go[2];
	pid_t kpid;
	int64_t t0 = it_now_ns();

	int piped = strcmp(kind, "pipe") == 0 || strcmp(kind, "fifo") == 0;

	it_pair_open(&p, kind, "signals", piped ? "msgsize=16384&pipesize=8192" : "msgsize=16384");
	T_SYS(pipe2(go, O_CLOEXEC));
	c.go = go[0];
	c.go_wr = go[1];
	s.a = t_fork(receiver, &c);
	s.b = t_fork(sender, &c);
	close(go[0]);
	ipk_chan_close(p.tx);
	ipk_chan_close(p.rx);
	p.tx = p.rx = NULL;

	s.go_wr = go[1];
	kpid = t_fork(storm, &s);
	close(go[1]); /* start */
	t_wait_exit(s.a, 0);
	t_wait_exit(s.b, 0);
	t_wait_exit(kpid, 0);
	it_pair_close(&p);
	fprintf(stderr, "%s: %lld ms\n", kind, (long long)it_ms_since(t0));
}

int main(void)
{
	struct sigaction sa;

	/* Inherited by every child: no SA_RESTART, so each blocking syscall
	 * that a signal interrupts fails with EINTR inside the library. */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_usr1;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = 0;
	T_SYS(sigaction(SIGUSR1, &sa, NULL));

	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		run(kinds[i]);
	return 0;
}
