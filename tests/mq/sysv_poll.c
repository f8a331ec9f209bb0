/* SPDX-License-Identifier: MIT */
/*
 * sysv_poll.c - the pollable descriptor of sysvmq: channels and the
 * watcher thread behind it: epoll readiness (including zero-length
 * messages), blocking receives woken by another process (selector 0 and
 * typed), IPC_RMID underneath blocked receivers (-EIDRM promptly), a
 * sender and receiver thread on one channel, an epoll-driven receiver
 * against a forked sender (every message once, in order per type), and
 * repeated close while the watcher waits in msgrcv.
 *
 * `test-mq_sysv_poll fork`: a child receives on a channel its parent
 * polled; skips (77) under ThreadSanitizer.
 */
#include <pthread.h>
#include <sys/epoll.h>
#include <sys/ipc.h>
#include <sys/msg.h>

#include "mqt.h"

/* ThreadSanitizer cannot start threads in the child of a multi-threaded
 * fork(); the child that receives after its parent polled needs one. */
#if defined(__SANITIZE_THREAD__)
#define UNDER_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define UNDER_TSAN 1
#endif
#endif
#ifndef UNDER_TSAN
#define UNDER_TSAN 0
#endif

static char url[256];
static struct mqt_step go;

static int one_sender(void *arg)
{
	long type = *(long *)arg;
	ipk_chan *ch;

	T_OK(ipk_chan_open(url, IPK_CHAN_WRONLY, 0, &ch));
	mqt_step_wait(&go);
	T_OK(ipk_chan_send_tag(ch, "ping", type == 99 ? 0 : 4, type, MQT_TIMEOUT));
	ipk_chan_close(ch);
	return 0;
}

static void readiness(void)
{
	struct epoll_event ev = { .events = EPOLLIN }, out;
	char buf[64];
	ipk_chan *ch;
	long type, tag;
	pid_t pid;
	int ep;

	snprintf(url, sizeof(url), "sysvmq:%u", mqt_key(10));
	T_OK(ipk_chan_open(url, IPK_CHAN_CREATE | IPK_CHAN_RDONLY, 0, &ch));
	ep = (int)T_SYS(epoll_create1(EPOLL_CLOEXEC));
	T_SYS(epoll_ctl(ep, EPOLL_CTL_ADD, ipk_chan_fd(ch), &ev));
	/* readable at first: the first receive starts the watcher */
	T_EQ(epoll_wait(ep, &out, 1, 0), 1);
	T_EQ(ipk_chan_recv(ch, buf, sizeof(buf), 0), -EAGAIN);
	T_EQ(epoll_wait(ep, &out, 1, 0), 0);

	for (int round = 0; round < 3; round++) {
		type = round == 1 ? 99 : 3 + round; /* 99: a zero-length message */
		pid = t_fork(one_sender, &type);
		mqt_step_post(&go);
		T_EQ(epoll_wait(ep, &out, 1, 20000), 1);
		T_EQ(ipk_chan_recv_tag(ch, buf, sizeof(buf), 0, &tag, 0), type == 99 ? 0 : 4);
		T_EQ(tag, type);
		T_EQ(ipk_chan_recv(ch, buf, sizeof(buf), 0), -EAGAIN);
		T_EQ(epoll_wait(ep, &out, 1, 0), 0);
		t_wait_exit(pid, 0);
	}

	/* blocking receives woken by another process: selector 0, typed */
	for (int round = 0; round < 2; round++) {
		int64_t t0;

		type = 6;
		pid = t_fork(one_sender, &type);
		mqt_step_post(&go);
		t0 = mqt_now_ns();
		T_EQ(ipk_chan_recv_tag(ch, buf, sizeof(buf), round ? 6 : 0, &tag, MQT_TIMEOUT), 4);
		T_EQ(tag, 6);
		T_TRUE(mqt_now_ns() - t0 < 5 * IPK_SEC);
		t_wait_exit(pid, 0);
	}
	T_EQ(ipk_chan_recv(ch, buf, sizeof(buf), 30 * IPK_MSEC), -ETIMEDOUT);
	T_EQ(ipk_chan_recv_tag(ch, buf, sizeof(buf), 5, NULL, 30 * IPK_MSEC), -ETIMEDOUT);
	close(ep);
	ipk_chan_close(ch);
}

/* ---- IPC_RMID underneath blocked receivers ------------------------------ */

static int blocked_receiver(void *arg)
{
	long sel = *(long *)arg;
	char buf[64];
	ipk_chan *ch;
	ssize_t r;

	T_OK(ipk_chan_open(url, IPK_CHAN_RDONLY, 0, &ch));
	mqt_step_post(&go);
	r = ipk_chan_recv_tag(ch, buf, sizeof(buf), sel, NULL, 60 * IPK_SEC);
	T_EQ(r, -EIDRM);
	T_EQ(ipk_chan_recv(ch, buf, sizeof(buf), 0), -EIDRM);
	ipk_chan_close(ch);
	return 0;
}

static void removed_underneath(void)
{
	static long sels[] = { 0, 8, -3 };
	pid_t pids[3];
	ipk_chan *ch;
	int64_t t0;

	snprintf(url, sizeof(url), "sysvmq:%u", mqt_key(11));
	T_OK(ipk_chan_open(url, IPK_CHAN_CREATE | IPK_CHAN_WRONLY, 0, &ch));
	for (int i = 0; i < 3; i++) {
		pids[i] = t_fork(blocked_receiver, &sels[i]);
		mqt_step_wait(&go);
	}
	/* Not an event we can wait for: give the receivers time to block.
	 * (The result does not depend on it; the timing check does.) */
	(void)poll(NULL, 0, 200);
	t0 = mqt_now_ns();
	ipk_chan_close(ch); /* the creator removes the queue */
	for (int i = 0; i < 3; i++)
		t_wait_exit(pids[i], 0);
	if (mqt_now_ns() - t0 > 5 * IPK_SEC)
		T_FAIL("receivers took %lld ms to see EIDRM",
		       (long long)(mqt_now_ns() - t0) / 1000000);
}

/* ---- threads on one channel, and a forked sender against epoll ---------- */

#define NMSG 3000

struct stream_state {
	ipk_chan *ch;
	unsigned next[8]; /* next sequence number per type */
};

static void check_msg(struct stream_state *s, const char *buf, ssize_t n, long tag)
{
	unsigned seq, want_len;

	T_TRUE(tag >= 1 && tag < 8);
	T_TRUE(n >= 0);
	if (n == 0) {
		/* zero-length messages carry their sequence in nothing: count */
		s->next[tag]++;
		return;
	}
	T_TRUE(n >= 4);
	memcpy(&seq, buf, 4);
	want_len = 4 + seq % 200;
	T_EQ(n, want_len);
	if (seq != s->next[tag])
		T_FAIL("type %ld: got seq %u, want %u", tag, seq, s->next[tag]);
	s->next[tag]++;
}

/* Type 1..7 by i; every 50th message of a type is empty. */
static void make_msg(unsigned i, unsigned *type_seq, char *buf, size_t *len, long *type)
{
	unsigned seq;

	*type = 1 + (long)(i % 7);
	seq = type_seq[*type]++;
	if (seq % 50 == 49) {
		*len = 0;
		return;
	}
	memcpy(buf, &seq, 4);
	memset(buf + 4, (int)seq, seq % 200);
	*len = 4 + seq % 200;
}

static void *send_thread(void *arg)
{
	ipk_chan *ch = arg;
	unsigned type_seq[8] = { 0 };
	char buf[256];

	for (unsigned i = 0; i < NMSG; i++) {
		size_t len;
		long type;

		make_msg(i, type_seq, buf, &len, &type);
		T_OK(ipk_chan_send_tag(ch, buf, len, type, MQT_TIMEOUT));
	}
	return NULL;
}

static void check_all(struct stream_state *s)
{
	unsigned type_seq[8] = { 0 }, total = 0;
	char buf[256];

	for (unsigned i = 0; i < NMSG; i++) {
		size_t len;
		long type;

		make_msg(i, type_seq, buf, &len, &type);
	}
	for (int t = 1; t < 8; t++) {
		T_EQ(s->next[t], type_seq[t]);
		total += s->next[t];
	}
	T_EQ(total, NMSG);
}

static void threads_one_channel(void)
{
	struct stream_state s = { 0 };
	char buf[256];
	pthread_t th;
	long tag;

	snprintf(url, sizeof(url), "sysvmq:%u?msgsize=256", mqt_key(12));
	T_OK(ipk_chan_open(url, IPK_CHAN_CREATE, 0, &s.ch));
	T_EQ(pthread_create(&th, NULL, send_thread, s.ch), 0);
	for (unsigned i = 0; i < NMSG; i++) {
		ssize_t n = ipk_chan_recv_tag(s.ch, buf, sizeof(buf), 0, &tag, MQT_TIMEOUT);

		check_msg(&s, buf, n, tag);
	}
	T_EQ(pthread_join(th, NULL), 0);
	check_all(&s);
	T_EQ(ipk_chan_recv(s.ch, buf, sizeof(buf), 0), -EAGAIN);
	ipk_chan_close(s.ch);
}

static int fork_sender(void *arg)
{
	ipk_chan *ch;

	(void)arg;
	T_OK(ipk_chan_open(url, IPK_CHAN_WRONLY, 0, &ch));
	send_thread(ch);
	ipk_chan_close(ch);
	return 0;
}

static void epoll_against_process(void)
{
	struct epoll_event ev = { .events = EPOLLIN }, out;
	struct stream_state s = { 0 };
	unsigned got = 0, spurious = 0;
	char buf[256];
	pid_t pid;
	int ep;

	snprintf(url, sizeof(url), "sysvmq:%u?msgsize=256", mqt_key(13));
	T_OK(ipk_chan_open(url, IPK_CHAN_CREATE | IPK_CHAN_RDONLY, 0, &s.ch));
	ep = (int)T_SYS(epoll_create1(EPOLL_CLOEXEC));
	T_SYS(epoll_ctl(ep, EPOLL_CTL_ADD, ipk_chan_fd(s.ch), &ev));
	pid = t_fork(fork_sender, NULL);
	while (got < NMSG) {
		ssize_t n;
		long tag;
		unsigned batch = 0;

		if (epoll_wait(ep, &out, 1, 20000) != 1)
			T_FAIL("epoll: nothing after %u of %u messages", got, NMSG);
		/* readable: drain with timeout 0 until -EAGAIN */
		while ((n = ipk_chan_recv_tag(s.ch, buf, sizeof(buf), 0, &tag, 0)) >= 0) {
			check_msg(&s, buf, n, tag);
			got++;
			batch++;
		}
		T_EQ(n, -EAGAIN);
		spurious += batch == 0;
	}
	t_wait_exit(pid, 0);
	check_all(&s);
	/* wake-ups without a message: at most the first one and races */
	T_TRUE(spurious < NMSG / 10);
	close(ep);
	ipk_chan_close(s.ch);
}

/* ---- fork after polling; close while the watcher waits ------------------ */

/* Arm @ch's watcher, send one message (type 21), see the fd readable. */
static void armed_and_fired(ipk_chan *ch)
{
	char buf[64];

	T_EQ(ipk_chan_recv(ch, buf, sizeof(buf), 0), -EAGAIN); /* watcher armed */
	T_EQ(mqt_readable(ipk_chan_fd(ch), 0), 0);
	T_OK(ipk_chan_send_tag(ch, "kid!", 4, 21, 0));
	T_EQ(mqt_readable(ipk_chan_fd(ch), 10000), 1);
}

static int child_receives(void *arg)
{
	ipk_chan *ch = arg;
	char buf[64];
	long tag;

	/* the parent's watcher does not exist here: the channel starts anew */
	T_EQ(mqt_readable(ipk_chan_fd(ch), 0), 1);
	T_EQ(ipk_chan_recv_tag(ch, buf, sizeof(buf), 0, &tag, MQT_TIMEOUT), 4);
	T_EQ(tag, 21);
	T_EQ(ipk_chan_recv(ch, buf, sizeof(buf), 0), -EAGAIN);
	T_EQ(mqt_readable(ipk_chan_fd(ch), 0), 0);
	ipk_chan_close(ch);
	return 0;
}

/* The parent's watcher fires; a forked child still gets the message. */
static int fork_after_poll(void)
{
	ipk_chan *ch;
	pid_t pid;

	if (UNDER_TSAN)
		T_SKIP("ThreadSanitizer cannot start the watcher thread in the child of a "
		       "multi-threaded fork()");
	mqt_need_sysv();
	T_OK(ipk_chan_open("sysvmq:private", IPK_CHAN_CREATE, 0, &ch));
	armed_and_fired(ch);
	pid = t_fork(child_receives, ch);
	t_wait_exit(pid, 0);
	ipk_chan_close(ch);
	printf("ok: a child receives on a channel its parent polled\n");
	return 0;
}

static void fork_and_close(void)
{
	char buf[64];
	ipk_chan *ch, *tx;

	/* the parent's watcher fires; the parent receives (a child: fork_after_poll) */
	T_OK(ipk_chan_open("sysvmq:private", IPK_CHAN_CREATE, 0, &ch));
	armed_and_fired(ch);
	T_EQ(ipk_chan_recv(ch, buf, sizeof(buf), 0), 4);
	ipk_chan_close(ch);

	/* close while the watcher sits in msgrcv, creator and not */
	snprintf(url, sizeof(url), "sysvmq:%u", mqt_key(14));
	T_OK(ipk_chan_open(url, IPK_CHAN_CREATE | IPK_CHAN_WRONLY, 0, &tx));
	for (int i = 0; i < 50; i++) {
		T_OK(ipk_chan_open(url, i % 2 ? IPK_CHAN_RDONLY : 0, 0, &ch));
		T_EQ(ipk_chan_recv(ch, buf, sizeof(buf), 0), -EAGAIN);
		if (i % 5 == 0)
			T_EQ(ipk_chan_recv(ch, buf, sizeof(buf), 2 * IPK_MSEC), -ETIMEDOUT);
		ipk_chan_close(ch);
	}
	/* nothing was lost on the way: one message in, one out */
	T_OK(ipk_chan_send(tx, "last", 4, 0));
	T_OK(ipk_chan_open(url, IPK_CHAN_RDONLY, 0, &ch));
	T_EQ(ipk_chan_recv(ch, buf, sizeof(buf), MQT_TIMEOUT), 4);
	ipk_chan_close(ch);
	ipk_chan_close(tx);
}

int main(int argc, char **argv)
{
	if (argc == 2 && !strcmp(argv[1], "fork"))
		return fork_after_poll();
	if (argc != 1)
		T_FAIL("usage: %s [fork]", argv[0]);
	mqt_need_sysv();
	mqt_step_init(&go);

	readiness();
	removed_underneath();
	threads_one_channel();
	epoll_against_process();
	fork_and_close();
	return 0;
}
