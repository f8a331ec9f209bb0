/* SPDX-License-Identifier: MIT */
/*
 * notify.c - mq_notify through ipk_mq_notify (thread callback) and
 * ipk_mq_notify_signal (real-time signal), with a sender in another
 * process. The re-arm case: while the callback (or the signal's receiver)
 * has not drained yet, more messages arrive in the non-empty queue - no
 * notification fires for them, and none may be left unread. Also: -EBUSY
 * when another process is registered, disarming, closing from the callback,
 * and the argument errors.
 */
#include <pthread.h>
#include <signal.h>

#include "mqt.h"

#define BURST 5 /* messages sent while the queue is not empty */

static char url[256];
static struct mqt_step go, sent; /* parent -> child, child -> parent */

struct tally {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	unsigned calls;    /* callback invocations */
	unsigned got;      /* messages received */
	unsigned seen[64]; /* how often each message number arrived */
	bool hold_first;   /* first call: let the sender add a burst first */
	bool close_in_cb;  /* close the channel from the callback */
};

static void record(struct tally *t, const char *buf, ssize_t n)
{
	char num[16];
	unsigned k;

	/* "m" and a number, not terminated: whatever follows in buf is
	 * left over from before */
	T_TRUE(n > 1 && n <= (ssize_t)sizeof(num) && buf[0] == 'm');
	memcpy(num, buf + 1, (size_t)n - 1);
	num[n - 1] = 0;
	k = (unsigned)atoi(num);
	T_TRUE(k < 64);
	t->seen[k]++;
	t->got++;
}

static void on_message(ipk_chan *ch, void *arg)
{
	struct tally *t = arg;
	char buf[128];
	ssize_t n;
	bool first;

	pthread_mutex_lock(&t->lock);
	first = t->calls++ == 0;
	pthread_mutex_unlock(&t->lock);
	if (first && t->hold_first) {
		/* the queue is not empty: the burst fires no notification */
		mqt_step_post(&go);
		mqt_step_wait(&sent);
	}
	/* drain with timeout 0 until -EAGAIN, as the header says */
	while ((n = ipk_chan_recv(ch, buf, sizeof(buf), 0)) >= 0) {
		pthread_mutex_lock(&t->lock);
		record(t, buf, n);
		pthread_mutex_unlock(&t->lock);
	}
	T_EQ(n, -EAGAIN);
	pthread_mutex_lock(&t->lock);
	if (t->close_in_cb)
		ipk_chan_close(ch);
	pthread_cond_broadcast(&t->cond);
	pthread_mutex_unlock(&t->lock);
}

/* Sender: m0 into the empty queue; on "go", a burst m1..m5 (into the
 * non-empty queue); on the next "go", m6 into the (drained) empty queue. */
static int sender(void *arg)
{
	ipk_chan *ch;
	char msg[16];

	(void)arg;
	T_OK(ipk_chan_open(url, IPK_CHAN_WRONLY, 0, &ch));
	T_OK(ipk_chan_send(ch, "m0", 2, MQT_TIMEOUT));
	mqt_step_wait(&go);
	for (int i = 1; i <= BURST; i++) {
		int n = snprintf(msg, sizeof(msg), "m%d", i);

		T_OK(ipk_chan_send_tag(ch, msg, (size_t)n, (long)i % 3, MQT_TIMEOUT));
	}
	mqt_step_post(&sent);
	mqt_step_wait(&go);
	T_OK(ipk_chan_send(ch, "m6", 2, MQT_TIMEOUT));
	ipk_chan_close(ch);
	return 0;
}

static void wait_got(struct tally *t, unsigned want)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += 20;
	pthread_mutex_lock(&t->lock);
	while (t->got < want)
		if (pthread_cond_timedwait(&t->cond, &t->lock, &ts) == ETIMEDOUT)
			T_FAIL("callback received %u of %u messages in 20 s", t->got, want);
	pthread_mutex_unlock(&t->lock);
}

static void by_thread(void)
{
	struct tally t = { .hold_first = true };
	char buf[128];
	ipk_chan *ch;
	pid_t pid;

	pthread_mutex_init(&t.lock, NULL);
	pthread_cond_init(&t.cond, NULL);
	mqt_mq_url(url, sizeof(url), "nthr", "?maxmsg=8&msgsize=128");
	T_OK(ipk_chan_open(url, IPK_CHAN_CREATE | IPK_CHAN_RDONLY, 0, &ch));
	T_OK(ipk_mq_notify(ch, on_message, &t));
	pid = t_fork(sender, NULL);
	wait_got(&t, 1 + BURST);
	mqt_step_post(&go); /* now m6 into the empty queue: a new notification */
	wait_got(&t, 2 + BURST);
	t_wait_exit(pid, 0);
	T_OK(ipk_mq_notify_off(ch));
	pthread_mutex_lock(&t.lock);
	for (int i = 0; i <= BURST + 1; i++)
		T_EQ(t.seen[i], 1); /* each exactly once */
	T_TRUE(t.calls >= 2);
	pthread_mutex_unlock(&t.lock);
	T_EQ(ipk_chan_recv(ch, buf, sizeof(buf), 0), -EAGAIN); /* none left */
	ipk_chan_close(ch);
	pthread_cond_destroy(&t.cond);
	pthread_mutex_destroy(&t.lock);
}

/* The callback closes its own channel. */
static void close_from_callback(void)
{
	struct tally t = { .close_in_cb = true };
	ipk_chan *ch, *tx;

	pthread_mutex_init(&t.lock, NULL);
	pthread_cond_init(&t.cond, NULL);
	mqt_mq_url(url, sizeof(url), "ncls", "?maxmsg=4&msgsize=64");
	T_OK(ipk_chan_open(url, IPK_CHAN_CREATE | IPK_CHAN_KEEP, 0, &ch));
	T_OK(ipk_chan_open(url, IPK_CHAN_WRONLY, 0, &tx));
	T_OK(ipk_mq_notify(ch, on_message, &t));
	T_OK(ipk_chan_send(tx, "m9", 2, 0));
	wait_got(&t, 1);
	/* the callback closed ch; give its thread a moment to leave */
	pthread_mutex_lock(&t.lock);
	T_EQ(t.calls, 1);
	pthread_mutex_unlock(&t.lock);
	ipk_chan_close(tx);
	{
		char name[200];

		snprintf(name, sizeof(name), "/ipk-ncls-%d", (int)getpid());
		T_SYS(mq_unlink(name));
	}
	pthread_cond_destroy(&t.cond);
	pthread_mutex_destroy(&t.lock);
}

static int sigsender(void *arg)
{
	(void)arg;
	return sender(NULL);
}

static void recv_all(ipk_chan *ch, struct tally *t)
{
	char buf[128];
	ssize_t n;

	while ((n = ipk_chan_recv(ch, buf, sizeof(buf), 0)) >= 0)
		record(t, buf, n);
	T_EQ(n, -EAGAIN);
}

static void wait_signal(int signo, void *want)
{
	struct timespec ts = { .tv_sec = 20 };
	sigset_t set;
	siginfo_t si;

	sigemptyset(&set);
	sigaddset(&set, signo);
	if (sigtimedwait(&set, &si, &ts) != signo)
		T_FAIL("no signal %d within 20 s: %s", signo, strerror(errno));
	T_EQ(si.si_code, SI_MESGQ);
	T_TRUE(si.si_value.sival_ptr == want);
}

static void by_signal(void)
{
	int signo = SIGRTMIN + 1;
	struct tally t = { 0 };
	struct timespec zero = { 0 };
	sigset_t set;
	ipk_chan *ch;
	pid_t pid;

	sigemptyset(&set);
	sigaddset(&set, signo);
	T_EQ(pthread_sigmask(SIG_BLOCK, &set, NULL), 0);
	mqt_mq_url(url, sizeof(url), "nsig", "?maxmsg=8&msgsize=128");
	T_OK(ipk_chan_open(url, IPK_CHAN_CREATE | IPK_CHAN_RDONLY, 0, &ch));
	T_OK(ipk_mq_notify_signal(ch, signo, NULL));
	pid = t_fork(sigsender, NULL);
	wait_signal(signo, ch); /* m0 arrived */
	/* the burst arrives before we drain: no signal for it */
	mqt_step_post(&go);
	mqt_step_wait(&sent);
	/* the documented order: re-arm, then drain */
	T_OK(ipk_mq_notify_signal(ch, signo, &t));
	recv_all(ch, &t);
	T_EQ(t.got, 1 + BURST);
	T_EQ(sigtimedwait(&set, NULL, &zero), -1); /* no stray signal */
	mqt_step_post(&go);                        /* m6 into the empty queue */
	wait_signal(signo, &t);
	T_OK(ipk_mq_notify_signal(ch, signo, &t));
	recv_all(ch, &t);
	T_EQ(t.got, 2 + BURST);
	for (int i = 0; i <= BURST + 1; i++)
		T_EQ(t.seen[i], 1);
	t_wait_exit(pid, 0);
	T_OK(ipk_mq_notify_off(ch));
	ipk_chan_close(ch);
	T_EQ(pthread_sigmask(SIG_UNBLOCK, &set, NULL), 0);
}

/* A child holds the registration: ours is -EBUSY until it lets go. */
static int holder(void *arg)
{
	ipk_chan *ch;

	(void)arg;
	T_OK(ipk_chan_open(url, IPK_CHAN_RDONLY, 0, &ch));
	T_OK(ipk_mq_notify_signal(ch, SIGRTMIN + 2, NULL));
	mqt_step_post(&sent);
	mqt_step_wait(&go);
	T_OK(ipk_mq_notify_off(ch));
	mqt_step_post(&sent);
	mqt_step_wait(&go);
	ipk_chan_close(ch);
	return 0;
}

static void nop(ipk_chan *ch, void *arg)
{
	(void)ch;
	(void)arg;
}

static void busy_and_errors(void)
{
	ipk_chan *ch, *wo, *pipe_rd, *pipe_wr;
	pid_t pid;

	mqt_mq_url(url, sizeof(url), "nbsy", "?maxmsg=4&msgsize=64");
	T_OK(ipk_chan_open(url, IPK_CHAN_CREATE, 0, &ch));
	pid = t_fork(holder, NULL);
	mqt_step_wait(&sent);
	T_EQ(ipk_mq_notify(ch, nop, NULL), -EBUSY);
	T_EQ(ipk_mq_notify_signal(ch, SIGRTMIN + 2, NULL), -EBUSY);
	mqt_step_post(&go);
	mqt_step_wait(&sent); /* the child disarmed */
	T_OK(ipk_mq_notify(ch, nop, NULL));
	T_OK(ipk_mq_notify(ch, nop, NULL)); /* replacing our own is fine */
	T_OK(ipk_mq_notify_off(ch));
	T_OK(ipk_mq_notify_off(ch));
	mqt_step_post(&go);
	t_wait_exit(pid, 0);

	T_EQ(ipk_mq_notify_signal(ch, 0, NULL), -EINVAL);
	T_EQ(ipk_mq_notify_signal(ch, SIGKILL, NULL), -EINVAL);
	T_EQ(ipk_mq_notify(ch, NULL, NULL), -EINVAL);
	T_EQ(ipk_mq_notify(NULL, nop, NULL), -EINVAL);
	T_OK(ipk_chan_open(url, IPK_CHAN_WRONLY, 0, &wo));
	T_EQ(ipk_mq_notify(wo, nop, NULL), -EBADF);
	ipk_chan_close(wo);
	T_OK(ipk_chan_pipe(NULL, 0, &pipe_rd, &pipe_wr));
	T_EQ(ipk_mq_notify(pipe_rd, nop, NULL), -EOPNOTSUPP);
	T_EQ(ipk_mq_notify_off(pipe_rd), -EOPNOTSUPP);
	ipk_chan_close(pipe_rd);
	ipk_chan_close(pipe_wr);
	ipk_chan_close(ch);
}

int main(void)
{
	mqt_need_mq();
	mqt_step_init(&go);
	mqt_step_init(&sent);

	by_thread();
	close_from_callback();
	by_signal();
	busy_and_errors();
	return 0;
}
