/* SPDX-License-Identifier: MIT */
/*
 * posix.c - mq: channels between real processes: bad names, create and
 * open rules, attributes and mode, priorities (highest first, FIFO within
 * one), a full queue, messages over msgsize, receive buffers smaller than
 * msgsize, direction flags, epoll/poll on the queue descriptor, removal by
 * the creator, permission denied.
 */
#include <mqueue.h>
#include <sys/epoll.h>
#include <sys/stat.h>

#include "mqt.h"

static char url[256], name[200];

static void bad_names(void)
{
	const char *why = NULL;
	size_t where = 0;
	ipk_chan *ch = NULL;

	T_EQ(ipk_chan_open("mq:noslash", IPK_CHAN_CREATE, 0, &ch), -EINVAL);
	T_EQ(ipk_url_check("mq:noslash", &where, &why), -EINVAL);
	T_TRUE(why && strstr(why, "must start with '/'"));
	T_EQ(where, 3);
	T_EQ(ipk_chan_open("mq:/a/b", IPK_CHAN_CREATE, 0, &ch), -EINVAL);
	T_EQ(ipk_url_check("mq:/a/b", &where, &why), -EINVAL);
	T_TRUE(why && strstr(why, "only one '/'"));
	T_EQ(where, 5);
	T_EQ(ipk_chan_open("mq:/", IPK_CHAN_CREATE, 0, &ch), -EINVAL);
	T_TRUE(ch == NULL);
}

/* Child: send priorities in an order that is not the receive order. */
static const long prios[] = { 1, 5, 0, 5, 3, 32767, 0, 3 };
#define NPRIOS (sizeof(prios) / sizeof(prios[0]))

static int prio_sender(void *arg)
{
	char in[64];
	ipk_chan *ch;

	(void)arg;
	T_OK(ipk_chan_open(url, IPK_CHAN_WRONLY, 0, &ch));
	for (unsigned i = 0; i < NPRIOS; i++) {
		char msg[32];
		int n = snprintf(msg, sizeof(msg), "m%u", i);

		T_OK(ipk_chan_send_tag(ch, msg, (size_t)n, prios[i], MQT_TIMEOUT));
	}
	T_EQ(ipk_chan_send_tag(ch, "x", 1, 32768, 0), -EINVAL);
	T_EQ(ipk_chan_send_tag(ch, "x", 1, -1, 0), -EINVAL);
	T_EQ(ipk_chan_recv(ch, in, sizeof(in), 0), -EBADF);
	ipk_chan_close(ch);
	return 0;
}

static void priorities(void)
{
	/* expected: by priority descending, then by send order */
	static const unsigned order[] = { 5, 1, 3, 4, 7, 0, 2, 6 };
	char buf[64];
	ipk_chan *ch;
	pid_t pid;

	mqt_mq_url(url, sizeof(url), "prio", "?maxmsg=8&msgsize=64");
	T_OK(ipk_chan_open(url, IPK_CHAN_CREATE | IPK_CHAN_EXCL | IPK_CHAN_RDONLY, 0, &ch));
	pid = t_fork(prio_sender, NULL);
	t_wait_exit(pid, 0);
	for (unsigned i = 0; i < NPRIOS; i++) {
		char want[32];
		long tag = -1;
		ssize_t n = ipk_chan_recv_tag(ch, buf, sizeof(buf), 0, &tag, MQT_TIMEOUT);
		int wn = snprintf(want, sizeof(want), "m%u", order[i]);

		T_EQ(n, wn);
		T_MEMEQ(buf, want, (size_t)wn);
		T_EQ(tag, prios[order[i]]);
	}
	T_EQ(ipk_chan_recv(ch, buf, sizeof(buf), 0), -EAGAIN);
	T_EQ(ipk_chan_recv_tag(ch, buf, sizeof(buf), 1, NULL, 0), -EINVAL);
	T_EQ(ipk_chan_send(ch, "x", 1, 0), -EBADF);
	ipk_chan_close(ch);
}

static void attributes_and_limits(void)
{
	char big[200], buf[200], url2[256];
	struct mq_attr a;
	struct stat st;
	ipk_chan *ch, *ch2;
	int fd;

	mqt_mq_url(url, sizeof(url), "attr", "?maxmsg=4&msgsize=100&perm=0640");
	snprintf(name, sizeof(name), "/ipk-attr-%d", (int)getpid());
	/* missing, no create */
	T_EQ(ipk_chan_open(url, 0, 0, &ch), -ENOENT);
	T_OK(ipk_chan_open(url, IPK_CHAN_CREATE | IPK_CHAN_EXCL, 0, &ch));
	T_EQ(ipk_chan_open(url, IPK_CHAN_CREATE | IPK_CHAN_EXCL, 0, &ch2), -EEXIST);

	/* the channel's descriptor is the queue descriptor itself */
	fd = ipk_chan_fd(ch);
	T_SYS(mq_getattr((mqd_t)fd, &a));
	T_EQ(a.mq_maxmsg, 4);
	T_EQ(a.mq_msgsize, 100);
	T_TRUE(a.mq_flags & O_NONBLOCK);
	T_SYS(fstat(fd, &st));
	T_EQ(st.st_mode & 0777, 0640);
	T_TRUE(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	T_EQ(ipk_chan_max_msg(ch), 100);

	/* over msgsize: refused, nothing sent */
	memset(big, 'b', sizeof(big));
	T_EQ(ipk_chan_send(ch, big, 101, 0), -EMSGSIZE);
	T_SYS(mq_getattr((mqd_t)fd, &a));
	T_EQ(a.mq_curmsgs, 0);
	T_TRUE(strstr(ipk_mq_limit_hint(-EMSGSIZE, url, IPK_MQ_OP_SEND), "msgsize") != NULL);

	/* an opener without create learns the real msgsize, not msgsize= */
	snprintf(url2, sizeof(url2), "mq:%s?msgsize=5000", name);
	T_OK(ipk_chan_open(url2, 0, 0, &ch2));
	T_EQ(ipk_chan_max_msg(ch2), 100);

	/* receive buffer smaller than msgsize: empty queue waits as usual */
	T_EQ(ipk_chan_recv(ch, buf, 50, 0), -EAGAIN);
	T_EQ(ipk_chan_recv(ch, buf, 50, 20 * IPK_MSEC), -ETIMEDOUT);

	/* full queue: -EAGAIN at timeout 0, -ETIMEDOUT with a timeout */
	for (int i = 0; i < 4; i++)
		T_OK(ipk_chan_send(ch2, big, 10 + (size_t)i, 0));
	T_EQ(ipk_chan_send(ch2, big, 1, 0), -EAGAIN);
	T_TRUE(strstr(ipk_mq_limit_hint(-EAGAIN, url, IPK_MQ_OP_SEND), "maxmsg") != NULL);
	T_EQ(ipk_chan_send(ch2, big, 1, 20 * IPK_MSEC), -ETIMEDOUT);
	T_EQ(mqt_readable(fd, 0), 1);
	{
		struct pollfd p = { .fd = fd, .events = POLLOUT };

		T_EQ(poll(&p, 1, 0), 0); /* full: not writable */
	}

	/* a message waits but the buffer is smaller than msgsize: -EMSGSIZE,
	 * next_len is msgsize (upper bound), nothing consumed */
	T_EQ(ipk_chan_recv(ch, buf, 99, 0), -EMSGSIZE);
	T_EQ(ipk_chan_next_len(ch), 100);
	T_SYS(mq_getattr((mqd_t)fd, &a));
	T_EQ(a.mq_curmsgs, 4);
	for (int i = 0; i < 4; i++)
		T_EQ(ipk_chan_recv(ch, buf, sizeof(buf), 0), 10 + i);
	T_EQ(ipk_chan_next_len(ch), 0);

	/* gathered send */
	{
		struct iovec iov[3] = { { "ab", 2 }, { "", 0 }, { "cde", 3 } };

		T_OK(ipk_chan_sendv(ch2, iov, 3, 0));
		T_EQ(ipk_chan_recv(ch, buf, sizeof(buf), 0), 5);
		T_MEMEQ(buf, "abcde", 5);
	}

	ipk_chan_close(ch2); /* not the creator: the queue stays */
	T_OK(ipk_chan_open(url2, 0, 0, &ch2));
	ipk_chan_close(ch2);
	ipk_chan_close(ch); /* the creator removes it */
	T_EQ(ipk_chan_open(url2, 0, 0, &ch2), -ENOENT);

	/* KEEP leaves it behind; it is then ours to remove */
	T_OK(ipk_chan_open(url, IPK_CHAN_CREATE | IPK_CHAN_KEEP, 0, &ch));
	ipk_chan_close(ch);
	T_OK(ipk_chan_open(url2, 0, 0, &ch2));
	ipk_chan_close(ch2);
	T_SYS(mq_unlink(name));

	/* CREATE without EXCL reuses a queue; the reuser does not remove it */
	T_OK(ipk_chan_open(url, IPK_CHAN_CREATE, 0, &ch));
	T_OK(ipk_chan_open(url, IPK_CHAN_CREATE, 0, &ch2));
	ipk_chan_close(ch2);
	T_OK(ipk_chan_open(url2, 0, 0, &ch2));
	ipk_chan_close(ch2);
	ipk_chan_close(ch);
	T_EQ(ipk_chan_open(url2, 0, 0, &ch2), -ENOENT);
}

/* Defaults: no maxmsg=/msgsize= gives the kernel's defaults. */
static void defaults(void)
{
	struct ipk_mq_limits l;
	struct mq_attr a;
	ipk_chan *ch;

	T_OK(ipk_mq_limits(&l));
	mqt_mq_url(url, sizeof(url), "dflt", NULL);
	T_OK(ipk_chan_open(url, IPK_CHAN_CREATE, 0, &ch));
	T_SYS(mq_getattr((mqd_t)ipk_chan_fd(ch), &a));
	if (l.msg_default > 0)
		T_EQ(a.mq_maxmsg, l.msg_default);
	if (l.msgsize_default > 0)
		T_EQ(a.mq_msgsize, l.msgsize_default);
	T_EQ(ipk_chan_max_msg(ch), (size_t)a.mq_msgsize);
	ipk_chan_close(ch);
}

static int late_sender(void *arg)
{
	struct mqt_step *st = arg;
	ipk_chan *ch;

	T_OK(ipk_chan_open(url, IPK_CHAN_WRONLY, 0, &ch));
	mqt_step_wait(st); /* the parent is in epoll_wait */
	T_OK(ipk_chan_send_tag(ch, "late", 4, 7, MQT_TIMEOUT));
	ipk_chan_close(ch);
	return 0;
}

static void epoll_ready(void)
{
	struct epoll_event ev = { .events = EPOLLIN }, out;
	struct mqt_step st;
	char buf[64];
	ipk_chan *ch;
	long tag;
	int ep;
	pid_t pid;

	mqt_mq_url(url, sizeof(url), "epoll", "?maxmsg=2&msgsize=64");
	T_OK(ipk_chan_open(url, IPK_CHAN_CREATE | IPK_CHAN_RDONLY, 0, &ch));
	ep = (int)T_SYS(epoll_create1(EPOLL_CLOEXEC));
	T_SYS(epoll_ctl(ep, EPOLL_CTL_ADD, ipk_chan_fd(ch), &ev));
	T_EQ(epoll_wait(ep, &out, 1, 0), 0);
	mqt_step_init(&st);
	pid = t_fork(late_sender, &st);
	mqt_step_post(&st);
	T_EQ(epoll_wait(ep, &out, 1, 20000), 1);
	T_TRUE(out.events & EPOLLIN);
	T_EQ(ipk_chan_recv_tag(ch, buf, sizeof(buf), 0, &tag, 0), 4);
	T_EQ(tag, 7);
	T_EQ(epoll_wait(ep, &out, 1, 0), 0);
	t_wait_exit(pid, 0);
	close(ep);
	ipk_chan_close(ch);
}

static void permission_denied(void)
{
	ipk_chan *ch;

	mqt_mq_url(url, sizeof(url), "perm", geteuid() == 0 ? "" : "?perm=0000");
	T_OK(ipk_chan_open(url, IPK_CHAN_CREATE, 0, &ch));
	mqt_run_child(mqt_intruder, url, ch, "permission denied");
}

int main(void)
{
	mqt_need_mq();

	bad_names();
	priorities();
	attributes_and_limits();
	defaults();
	epoll_ready();
	permission_denied(); /* last: may skip */
	return 0;
}
