/* SPDX-License-Identifier: MIT */
/*
 * tests/notify/loop_sources.c - every kind of pollable ipckit object plugs
 * into one ipk_loop through its descriptor: a unix: listener and the
 * channel it accepts, an mq: channel, a ring subscriber (ipk_ring_fd()), a
 * pidwatch, a timer and a real-time signal. A forked child is the peer:
 * it connects, sends on both channels, signals, and exits; the parent's
 * timer publishes on the ring.
 */
#include <signal.h>

#include "../harness.h"

static char unix_url[128], mq_url[64], ring_name[64];

enum { GOT_ACCEPT, GOT_UNIX, GOT_MQ, GOT_RING, GOT_TIMER, GOT_SIGNAL, GOT_EXIT, NGOT };
static int got[NGOT];

struct ctx {
	ipk_listener *ls;
	ipk_chan *uc, *mq;
	ipk_ring *pub;
	ipk_ring_sub *sub;
	ipk_pidwatch *w;
};

static void maybe_stop(ipk_loop *l)
{
	int i;

	for (i = 0; i < NGOT; i++)
		if (!got[i])
			return;
	ipk_loop_stop(l);
}

static void on_unix(ipk_loop *l, int fd, uint32_t events, void *arg)
{
	struct ctx *c = arg;
	char buf[64];
	ssize_t n;

	(void)fd;
	(void)events;
	while ((n = ipk_chan_recv(c->uc, buf, sizeof(buf), 0)) >= 0) {
		T_EQ(n, 5);
		T_MEMEQ(buf, "unix!", 5);
		got[GOT_UNIX]++;
	}
	if (n == -EPIPE) /* the child is done with it */
		T_OK(ipk_loop_del_fd(l, ipk_chan_fd(c->uc)));
	else
		T_EQ(n, -EAGAIN);
	maybe_stop(l);
}

static void on_accept(ipk_loop *l, int fd, uint32_t events, void *arg)
{
	struct ctx *c = arg;

	(void)fd;
	(void)events;
	T_OK(ipk_accept(c->ls, 0, &c->uc));
	got[GOT_ACCEPT]++;
	T_OK(ipk_loop_del_fd(l, ipk_listener_fd(c->ls)));
	T_OK(ipk_loop_add_fd(l, ipk_chan_fd(c->uc), IPK_LOOP_IN, on_unix, c));
}

static void on_mq(ipk_loop *l, int fd, uint32_t events, void *arg)
{
	struct ctx *c = arg;
	char buf[8192];
	ssize_t n;

	(void)fd;
	(void)events;
	while ((n = ipk_chan_recv(c->mq, buf, sizeof(buf), 0)) >= 0) {
		T_EQ(n, 3);
		T_MEMEQ(buf, "mq!", 3);
		got[GOT_MQ]++;
	}
	T_EQ(n, -EAGAIN);
	maybe_stop(l);
}

static void on_ring(ipk_loop *l, int fd, uint32_t events, void *arg)
{
	struct ctx *c = arg;
	char buf[64];
	ssize_t n;

	(void)fd;
	(void)events;
	while ((n = ipk_ring_recv(c->sub, buf, sizeof(buf), 0)) >= 0) {
		T_EQ(n, 5);
		T_MEMEQ(buf, "ring!", 5);
		got[GOT_RING]++;
	}
	T_EQ(n, -EAGAIN);
	maybe_stop(l);
}

static void on_timer(ipk_loop *l, ipk_loop_timer *t, uint64_t n, void *arg)
{
	struct ctx *c = arg;

	(void)n;
	got[GOT_TIMER]++;
	T_OK(ipk_ring_publish(c->pub, "ring!", 5));
	ipk_loop_timer_cancel(t);
	maybe_stop(l);
}

static void on_signal(ipk_loop *l, const struct ipk_siginfo *si, void *arg)
{
	(void)arg;
	T_EQ(si->signo, SIGRTMIN + 5);
	T_EQ(si->value, 4242);
	got[GOT_SIGNAL]++;
	maybe_stop(l);
}

static void on_exit_fd(ipk_loop *l, int fd, uint32_t events, void *arg)
{
	(void)events;
	(void)arg;
	got[GOT_EXIT]++;
	T_OK(ipk_loop_del_fd(l, fd));
	maybe_stop(l);
}

static int peer(void *arg)
{
	ipk_chan *u, *m;

	(void)arg;
	T_OK(ipk_chan_open(unix_url, 0, 10 * IPK_SEC, &u));
	T_OK(ipk_chan_open(mq_url, 0, 10 * IPK_SEC, &m));
	T_OK(ipk_chan_send(u, "unix!", 5, 10 * IPK_SEC));
	T_OK(ipk_chan_send(m, "mq!", 3, 10 * IPK_SEC));
	T_OK(ipk_sig_send(getppid(), SIGRTMIN + 5, 4242));
	ipk_chan_close(m);
	ipk_chan_close(u);
	return 0;
}

int main(void)
{
	struct ctx c;
	ipk_loop *l;
	sigset_t set;
	pid_t child;
	int i, r;

	memset(&c, 0, sizeof(c));
	snprintf(unix_url, sizeof(unix_url), "unix:/tmp/ipk-loop-%d.sock", (int)getpid());
	snprintf(mq_url, sizeof(mq_url), "mq:/ipk-loop-%d", (int)getpid());
	snprintf(ring_name, sizeof(ring_name), "/ipk-loop-ring-%d", (int)getpid());

	sigemptyset(&set);
	sigaddset(&set, SIGRTMIN + 5);
	T_OK(ipk_sig_block(&set)); /* before the fork and before any thread */

	T_OK(ipk_loop_new(&l));
	T_OK(ipk_listen(unix_url, 0, &c.ls));
	r = ipk_chan_open(mq_url, IPK_CHAN_CREATE | IPK_CHAN_EXCL, 0, &c.mq);
	if (r == -ENOSYS || r == -EOPNOTSUPP || r == -EPROTONOSUPPORT)
		T_SKIP("POSIX message queues unavailable: %s", ipk_errname(r));
	T_OK(r);
	T_OK(ipk_ring_create(ring_name, NULL, &c.pub));
	T_OK(ipk_ring_open(ring_name, NULL, &c.sub));

	T_OK(ipk_loop_add_fd(l, ipk_listener_fd(c.ls), IPK_LOOP_IN, on_accept, &c));
	T_OK(ipk_loop_add_fd(l, ipk_chan_fd(c.mq), IPK_LOOP_IN, on_mq, &c));
	r = T_OK(ipk_ring_fd(c.sub));
	T_OK(ipk_loop_add_fd(l, r, IPK_LOOP_IN, on_ring, &c));
	T_OK(ipk_loop_add_signal(l, SIGRTMIN + 5, on_signal, NULL));
	T_OK(ipk_loop_timer_once(l, 20 * IPK_MSEC, on_timer, &c, NULL));

	child = t_fork(peer, NULL);
	T_OK(ipk_pidwatch_open(child, 0, &c.w));
	T_OK(ipk_loop_add_fd(l, ipk_pidwatch_fd(c.w), IPK_LOOP_IN, on_exit_fd, NULL));

	T_OK(ipk_loop_run(l));
	for (i = 0; i < NGOT; i++)
		if (got[i] != 1)
			T_FAIL("source %d: %d callbacks, want 1", i, got[i]);
	t_wait_exit(child, 0);
	printf("one loop: unix listener, unix channel, mq channel, ring subscriber, "
	       "timer, RT signal, pidfd: each called back\n");

	ipk_loop_free(l);
	ipk_pidwatch_close(c.w);
	ipk_ring_sub_close(c.sub);
	ipk_ring_close(c.pub);
	ipk_chan_close(c.mq);
	ipk_chan_close(c.uc);
	ipk_listener_close(c.ls);
	return 0;
}
