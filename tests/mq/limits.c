/* SPDX-License-Identifier: MIT */
/*
 * limits.c - ipk_mq_limits() reports what /proc/sys and getrlimit say, and
 * real kernel limits produce errors whose ipk_mq_limit_hint() names the limit:
 * maxmsg= above fs.mqueue.msg_max and msgsize= above msgsize_max (-EINVAL),
 * and a queue over a lowered RLIMIT_MSGQUEUE (-EMFILE), each in a child
 * that has dropped root (root may bypass the sysctls).
 */
#include "mqt.h"

static int64_t proc(const char *path)
{
	long long v = -1;
	FILE *f = fopen(path, "re");

	if (f) {
		if (fscanf(f, "%lld", &v) != 1)
			v = -1;
		fclose(f);
	}
	return v;
}

static void values(void)
{
	struct ipk_mq_limits l;
	struct rlimit rl;

	T_EQ(ipk_mq_limits(NULL), -EINVAL);
	T_OK(ipk_mq_limits(&l));
	T_SYS(getrlimit(RLIMIT_MSGQUEUE, &rl));
	T_EQ(l.rlimit_msgqueue_soft,
	     rl.rlim_cur == RLIM_INFINITY ? IPK_MQ_UNLIMITED : (int64_t)rl.rlim_cur);
	T_EQ(l.rlimit_msgqueue_hard,
	     rl.rlim_max == RLIM_INFINITY ? IPK_MQ_UNLIMITED : (int64_t)rl.rlim_max);
	T_EQ(l.msg_max, proc("/proc/sys/fs/mqueue/msg_max"));
	T_EQ(l.msgsize_max, proc("/proc/sys/fs/mqueue/msgsize_max"));
	T_EQ(l.queues_max, proc("/proc/sys/fs/mqueue/queues_max"));
	T_EQ(l.msg_default, proc("/proc/sys/fs/mqueue/msg_default"));
	T_EQ(l.msgsize_default, proc("/proc/sys/fs/mqueue/msgsize_default"));
	T_EQ(l.msgmnb, proc("/proc/sys/kernel/msgmnb"));
	T_EQ(l.msgmax, proc("/proc/sys/kernel/msgmax"));
	T_EQ(l.msgmni, proc("/proc/sys/kernel/msgmni"));
}

static void table(void)
{
	T_TRUE(strstr(ipk_mq_limit_hint(-ENOSPC, "mq:/q", IPK_MQ_OP_OPEN), "fs.mqueue.queues_max"));
	T_TRUE(strstr(ipk_mq_limit_hint(ENOSPC, "sysvmq:7", IPK_MQ_OP_OPEN), "kernel.msgmni"));
	T_TRUE(strstr(ipk_mq_limit_hint(-EAGAIN, "sysvmq:7", IPK_MQ_OP_SEND), "kernel.msgmnb"));
	T_TRUE(strstr(ipk_mq_limit_hint(-EMSGSIZE, "sysvmq:7", IPK_MQ_OP_SEND), "kernel.msgmax"));
	T_TRUE(strstr(ipk_mq_limit_hint(-ETIMEDOUT, "mq:/q", IPK_MQ_OP_SEND), "maxmsg"));
	T_TRUE(ipk_mq_limit_hint(-EAGAIN, "mq:/q", IPK_MQ_OP_RECV) == NULL);
	T_TRUE(ipk_mq_limit_hint(-EINVAL, "mq:/q", IPK_MQ_OP_OPEN) == NULL); /* no option over */
	T_TRUE(ipk_mq_limit_hint(-ENOENT, "mq:/q", IPK_MQ_OP_OPEN) == NULL);
	T_TRUE(ipk_mq_limit_hint(-ENOSPC, "unix:/x", IPK_MQ_OP_OPEN) == NULL);
	T_TRUE(ipk_mq_limit_hint(-ENOSPC, "not a url", IPK_MQ_OP_OPEN) == NULL);
	T_TRUE(ipk_mq_limit_hint(-ENOSPC, NULL, IPK_MQ_OP_OPEN) == NULL);
}

static int unprivileged(void *arg)
{
	struct ipk_mq_limits l;
	char url[256], opts[96];
	const char *hint;
	struct rlimit rl;
	ipk_chan *ch = NULL;

	(void)arg;
	if (t_drop_root() < 0)
		return 77;
	T_OK(ipk_mq_limits(&l));

	/* maxmsg= above fs.mqueue.msg_max */
	if (l.msg_max > 0 && l.msg_max < 65536) {
		snprintf(opts, sizeof(opts), "?maxmsg=%lld&msgsize=64", (long long)l.msg_max + 1);
		mqt_mq_url(url, sizeof(url), "lim-maxmsg", opts);
		T_EQ(ipk_chan_open(url, IPK_CHAN_CREATE, 0, &ch), -EINVAL);
		hint = ipk_mq_limit_hint(-EINVAL, url, IPK_MQ_OP_OPEN);
		T_TRUE(hint && strstr(hint, "fs.mqueue.msg_max") && strstr(hint, "sysctl -w"));
	}
	/* msgsize= above fs.mqueue.msgsize_max */
	if (l.msgsize_max > 0 && l.msgsize_max < (int64_t)IPK_CHAN_MSGSIZE_MAX) {
		snprintf(opts, sizeof(opts), "?maxmsg=2&msgsize=%lld",
			 (long long)l.msgsize_max + 1);
		mqt_mq_url(url, sizeof(url), "lim-msgsize", opts);
		T_EQ(ipk_chan_open(url, IPK_CHAN_CREATE, 0, &ch), -EINVAL);
		hint = ipk_mq_limit_hint(-EINVAL, url, IPK_MQ_OP_OPEN);
		T_TRUE(hint && strstr(hint, "fs.mqueue.msgsize_max"));
	}
	/* RLIMIT_MSGQUEUE lowered: a queue of 2 x 1024 bytes no longer fits */
	rl.rlim_cur = rl.rlim_max = 1024;
	T_SYS(setrlimit(RLIMIT_MSGQUEUE, &rl));
	mqt_mq_url(url, sizeof(url), "lim-rlimit", "?maxmsg=2&msgsize=1024");
	T_EQ(ipk_chan_open(url, IPK_CHAN_CREATE, 0, &ch), -EMFILE);
	hint = ipk_mq_limit_hint(-EMFILE, url, IPK_MQ_OP_OPEN);
	T_TRUE(hint && strstr(hint, "RLIMIT_MSGQUEUE") && strstr(hint, "ulimit -q"));
	T_TRUE(ch == NULL);
	return 0;
}

int main(void)
{
	mqt_need_mq();
	values();
	table();
	mqt_run_child(unprivileged, NULL, NULL, "kernel limits");
	return 0;
}
