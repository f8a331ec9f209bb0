/* SPDX-License-Identifier: MIT */
/*
 * sysv.c - sysvmq: channels between real processes: the three address
 * forms, create/open rules and mode, types on send, selective receive with
 * interleaved types checked against a model of msgrcv's rules (0, >0, <0),
 * no truncation (-EMSGSIZE with the exact length, then the whole message,
 * also for typed and negative selectors), a full queue, messages over the
 * maximum, direction flags, removal by the creator, sysvmq:private across
 * fork, and a limit named by ipk_mq_limit_hint.
 *
 * `test-mq_sysv perm`: permission denied to another user (nobody); needs
 * root, skips (77) without.
 */
#include <sys/ipc.h>
#include <sys/msg.h>

#include "mqt.h"

static char url[256];

/* ---- a model of the kernel queue ---------------------------------------- */

struct mmsg {
	long type;
	unsigned id;
	bool gone;
};

static struct mmsg model[64];
static unsigned nmodel;

static int model_pick(long sel)
{
	int best = -1;

	for (unsigned i = 0; i < nmodel; i++) {
		if (model[i].gone)
			continue;
		if (sel == 0)
			return (int)i;
		if (sel > 0 && model[i].type == sel)
			return (int)i;
		if (sel < 0 && model[i].type <= -sel &&
		    (best < 0 || model[i].type < model[best].type))
			best = (int)i;
	}
	return best;
}

static int typed_sender(void *arg)
{
	ipk_chan *ch;

	(void)arg;
	T_OK(ipk_chan_open(url, IPK_CHAN_WRONLY, 0, &ch));
	for (unsigned i = 0; i < nmodel; i++) {
		char msg[32];
		int n = snprintf(msg, sizeof(msg), "id%u", model[i].id);

		T_OK(ipk_chan_send_tag(ch, msg, (size_t)n, model[i].type, MQT_TIMEOUT));
	}
	T_EQ(ipk_chan_send_tag(ch, "x", 1, 0, 0), -EINVAL);
	T_EQ(ipk_chan_send_tag(ch, "x", 1, -4, 0), -EINVAL);
	T_EQ(ipk_chan_recv(ch, url, 4, 0), -EBADF);
	ipk_chan_close(ch);
	return 0;
}

static void selective(void)
{
	static const long types[] = { 3, 1, 2, 3, 1, 5, 2, 4, 1, 3, 7, 2 };
	static const long sels[] = { 2, 0, -2, -2, 3, 5, 0, -10, 4, 9, -3, 0, 7, 0 };
	char buf[64];
	ipk_chan *ch;
	pid_t pid;

	nmodel = sizeof(types) / sizeof(types[0]);
	for (unsigned i = 0; i < nmodel; i++)
		model[i] = (struct mmsg){ .type = types[i], .id = i };
	snprintf(url, sizeof(url), "sysvmq:%u", mqt_key(1));
	T_EQ(ipk_chan_open(url, 0, 0, &ch), -ENOENT);
	T_OK(ipk_chan_open(url, IPK_CHAN_CREATE | IPK_CHAN_EXCL | IPK_CHAN_RDONLY, 0, &ch));
	pid = t_fork(typed_sender, NULL);
	t_wait_exit(pid, 0);
	for (size_t k = 0; k < sizeof(sels) / sizeof(sels[0]); k++) {
		int want = model_pick(sels[k]);
		long tag = -1;
		ssize_t n = ipk_chan_recv_tag(ch, buf, sizeof(buf), sels[k], &tag, 0);

		if (want < 0) {
			T_EQ(n, -EAGAIN);
			continue;
		}
		T_TRUE(n > 2);
		buf[n] = '\0';
		if ((unsigned)atoi(buf + 2) != model[want].id)
			T_FAIL("selector %ld: got %s (type %ld), want id%u (type %ld)", sels[k],
			       buf, tag, model[want].id, model[want].type);
		T_EQ(tag, model[want].type);
		model[want].gone = true;
	}
	T_EQ(ipk_chan_recv_tag(ch, buf, sizeof(buf), 0, NULL, 0), -EAGAIN);
	T_EQ(ipk_chan_send(ch, "x", 1, 0), -EBADF);
	ipk_chan_close(ch);
	T_EQ(ipk_chan_open(url, 0, 0, &ch), -ENOENT); /* the creator removed it */
}

/* ---- no truncation ------------------------------------------------------ */

static void fill(char *b, size_t n, char c)
{
	for (size_t i = 0; i < n; i++)
		b[i] = (char)(c + (char)(i % 23));
}

static void no_truncation(void)
{
	char out[300], in[300], want[300];
	struct msqid_ds ds;
	ipk_chan *ch;
	long tag;
	int id;

	snprintf(url, sizeof(url), "sysvmq:%u?msgsize=300", mqt_key(2));
	T_OK(ipk_chan_open(url, IPK_CHAN_CREATE, 0, &ch));
	T_EQ(ipk_chan_max_msg(ch), 300);
	id = msgget((key_t)mqt_key(2), 0);
	T_SYS(id);
	T_SYS(msgctl(id, IPC_STAT, &ds));
	T_EQ(ds.msg_perm.mode & 0777, 0600);

	/* plain send is type 1; a short buffer gets -EMSGSIZE and the size */
	fill(out, 100, 'a');
	T_OK(ipk_chan_send(ch, out, 100, 0));
	T_EQ(ipk_chan_recv(ch, in, 10, 0), -EMSGSIZE);
	T_EQ(ipk_chan_next_len(ch), 100);
	T_EQ(ipk_chan_recv(ch, in, 99, 0), -EMSGSIZE); /* still held */
	T_EQ(ipk_chan_next_len(ch), 100);
	T_EQ(ipk_chan_recv_tag(ch, in, 100, 0, &tag, 0), 100);
	T_MEMEQ(in, out, 100);
	T_EQ(tag, 1);
	T_EQ(ipk_chan_next_len(ch), 0);

	/* held for its own type; other types still come from the kernel */
	fill(out, 200, 'A');
	T_OK(ipk_chan_send_tag(ch, out, 200, 7, 0));
	T_OK(ipk_chan_send_tag(ch, "three", 5, 3, 0));
	T_EQ(ipk_chan_recv_tag(ch, in, 50, 7, &tag, 0), -EMSGSIZE);
	T_EQ(ipk_chan_next_len(ch), 200);
	T_EQ(ipk_chan_recv_tag(ch, in, 50, 3, &tag, 0), 5);
	T_EQ(tag, 3);
	T_EQ(ipk_chan_recv_tag(ch, in, 50, 3, &tag, 0), -EAGAIN);
	T_EQ(ipk_chan_recv_tag(ch, in, sizeof(in), 7, &tag, 0), 200);
	T_MEMEQ(in, out, 200);
	T_EQ(tag, 7);

	/* negative selector: a lower type in the kernel beats the held one */
	fill(want, 150, 'k');
	T_OK(ipk_chan_send_tag(ch, want, 150, 5, 0));
	T_EQ(ipk_chan_recv_tag(ch, in, 20, -10, &tag, 0), -EMSGSIZE);
	T_EQ(ipk_chan_next_len(ch), 150);
	T_OK(ipk_chan_send_tag(ch, "two", 3, 2, 0));
	T_OK(ipk_chan_send_tag(ch, "six", 3, 6, 0));
	T_EQ(ipk_chan_recv_tag(ch, in, sizeof(in), -10, &tag, 0), 3);
	T_EQ(tag, 2);
	T_EQ(ipk_chan_recv_tag(ch, in, sizeof(in), -4, &tag, 0), -EAGAIN); /* 5 > 4 */
	T_EQ(ipk_chan_recv_tag(ch, in, sizeof(in), -10, &tag, 0), 150);
	T_EQ(tag, 5);
	T_MEMEQ(in, want, 150);
	T_EQ(ipk_chan_recv_tag(ch, in, sizeof(in), 0, &tag, 0), 3);
	T_EQ(tag, 6);

	/* a held message goes back to the queue when a non-creator closes */
	{
		ipk_chan *other;
		char url2[256];

		snprintf(url2, sizeof(url2), "sysvmq:%u?msgsize=300", mqt_key(2));
		T_OK(ipk_chan_open(url2, 0, 0, &other));
		T_OK(ipk_chan_send_tag(ch, out, 250, 4, 0));
		T_EQ(ipk_chan_recv(other, in, 10, 0), -EMSGSIZE);
		T_EQ(ipk_chan_next_len(other), 250);
		ipk_chan_close(other);
		T_EQ(ipk_chan_recv_tag(ch, in, sizeof(in), 0, &tag, 0), 250);
		T_EQ(tag, 4);
		T_MEMEQ(in, out, 250);
	}

	/* zero-length messages are messages (with a timeout: the watcher may
	 * be handing one over; see ipk_mq(3)) */
	T_OK(ipk_chan_send_tag(ch, NULL, 0, 9, 0));
	T_EQ(ipk_chan_recv_tag(ch, NULL, 0, 9, &tag, MQT_TIMEOUT), 0);
	T_EQ(tag, 9);

	/* over the maximum: refused, nothing sent */
	T_EQ(ipk_chan_send(ch, out, 301, 0), -EMSGSIZE);
	T_SYS(msgctl(id, IPC_STAT, &ds));
	T_EQ(ds.msg_qnum, 0);
	ipk_chan_close(ch);
}

/* ---- full queue, limits, keep ------------------------------------------- */

static int full_id;

static int take_one_later(void *arg)
{
	static char buf[sizeof(long) + (1 << 16)];

	(void)arg;
	usleep(50000);
	return msgrcv(full_id, buf, sizeof(buf) - sizeof(long), 0, 0) < 0;
}

static int remove_later(void *arg)
{
	(void)arg;
	usleep(50000);
	return msgctl(full_id, IPC_RMID, NULL) < 0;
}

static void full_and_limits(void)
{
	struct ipk_mq_limits l;
	static char big[1 << 16];
	struct msqid_ds ds;
	const char *hint;
	ipk_chan *ch;
	size_t max, n = 0;
	int id, r;
	pid_t kid;

	T_OK(ipk_mq_limits(&l));
	snprintf(url, sizeof(url), "sysvmq:%u", mqt_key(3));
	T_OK(ipk_chan_open(url, IPK_CHAN_CREATE | IPK_CHAN_KEEP, 0, &ch));
	max = ipk_chan_max_msg(ch);
	id = (int)T_SYS(msgget((key_t)mqt_key(3), 0));
	T_SYS(msgctl(id, IPC_STAT, &ds));
	/* without msgsize=: what one message in this queue can be */
	T_EQ(max, l.msgmax < (int64_t)ds.msg_qbytes ? (size_t)l.msgmax : ds.msg_qbytes);
	while ((r = ipk_chan_send(ch, big, max, 0)) == 0)
		n++;
	T_EQ(r, -EAGAIN);
	T_TRUE(n >= 1);
	hint = ipk_mq_limit_hint(r, url, IPK_MQ_OP_SEND);
	T_TRUE(hint && strstr(hint, "kernel.msgmnb"));
	T_EQ(ipk_chan_send(ch, big, max, 20 * IPK_MSEC), -ETIMEDOUT);
	/* Without a deadline the send waits in the kernel: room made by a
	 * reader lets it through; removing the queue ends it with -EIDRM. */
	full_id = id;
	kid = t_fork(take_one_later, NULL);
	T_OK(ipk_chan_send(ch, big, max, IPK_FOREVER));
	t_wait_exit(kid, 0);
	T_SYS(msgctl(id, IPC_STAT, &ds));
	T_EQ(ds.msg_qnum, n);
	ipk_chan_close(ch); /* KEEP: still there */
	kid = t_fork(remove_later, NULL);
	T_OK(ipk_chan_open(url, 0, 0, &ch));
	T_EQ(ipk_chan_send(ch, big, max, IPK_FOREVER), -EIDRM);
	t_wait_exit(kid, 0);
	ipk_chan_close(ch);

	/* msgsize= over kernel.msgmax: -EINVAL, and the hint names it */
	if (l.msgmax > 0 && l.msgmax < (int64_t)IPK_CHAN_MSGSIZE_MAX) {
		snprintf(url, sizeof(url), "sysvmq:%u?msgsize=%lld", mqt_key(4),
			 (long long)l.msgmax + 1);
		T_EQ(ipk_chan_open(url, IPK_CHAN_CREATE, 0, &ch), -EINVAL);
		hint = ipk_mq_limit_hint(-EINVAL, url, IPK_MQ_OP_OPEN);
		T_TRUE(hint && strstr(hint, "kernel.msgmax"));
		T_EQ(msgget((key_t)mqt_key(4), 0), -1); /* and removed again */
		T_EQ(errno, ENOENT);
	}
	T_TRUE(strstr(ipk_mq_limit_hint(-ENOSPC, "sysvmq:private", IPK_MQ_OP_OPEN),
		      "kernel.msgmni"));
	T_TRUE(ipk_mq_limit_hint(-EAGAIN, "sysvmq:private", IPK_MQ_OP_RECV) == NULL);
}

/* ---- address forms ------------------------------------------------------ */

static int private_child(void *arg)
{
	ipk_chan *ch = arg;

	/* the child sends on the channel its parent opened before fork() */
	T_OK(ipk_chan_send_tag(ch, "from-child", 10, 42, MQT_TIMEOUT));
	ipk_chan_close(ch); /* not the creator: the queue stays */
	return 0;
}

static void forms(void)
{
	char path[128], buf[64];
	ipk_chan *a, *b;
	long tag;
	pid_t pid;
	int fd;

	/* /path:PROJ through ftok: two openers meet */
	t_path(path, sizeof(path), "sysv-ftok");
	fd = (int)T_SYS(open(path, O_CREAT | O_WRONLY | O_CLOEXEC, 0600));
	close(fd);
	snprintf(url, sizeof(url), "sysvmq:%s:7", path);
	T_OK(ipk_chan_open(url, IPK_CHAN_CREATE | IPK_CHAN_EXCL, 0, &a));
	T_OK(ipk_chan_open(url, 0, 0, &b));
	T_OK(ipk_chan_send(b, "hi", 2, 0));
	T_EQ(ipk_chan_recv(a, buf, sizeof(buf), MQT_TIMEOUT), 2);
	ipk_chan_close(b);
	ipk_chan_close(a);
	T_EQ(msgget(ftok(path, 7), 0), -1);
	T_EQ(errno, ENOENT);
	unlink(path);
	snprintf(url, sizeof(url), "sysvmq:/nonexistent/ipk-%d:1", (int)getpid());
	T_EQ(ipk_chan_open(url, IPK_CHAN_CREATE, 0, &a), -ENOENT);

	/* private: only across fork */
	T_OK(ipk_chan_open("sysvmq:private", IPK_CHAN_CREATE, 0, &a));
	pid = t_fork(private_child, a);
	T_EQ(ipk_chan_recv_tag(a, buf, sizeof(buf), 42, &tag, MQT_TIMEOUT), 10);
	T_MEMEQ(buf, "from-child", 10);
	t_wait_exit(pid, 0);
	ipk_chan_close(a);

	T_EQ(ipk_chan_open("sysvmq:0", 0, 0, &a), -EINVAL);
	T_EQ(ipk_chan_open("sysvmq:/x", 0, 0, &a), -EINVAL);
}

/* ---- permission --------------------------------------------------------- */

static int permission_denied(void)
{
	ipk_chan *ch;

	/* Without root there is no second user, and a mode-0000 System V queue
	 * refuses even its owner's IPC_STAT, so the creator could not open it. */
	if (geteuid() != 0)
		T_SKIP("permission denied: needs root to run a child as another user");
	snprintf(url, sizeof(url), "sysvmq:%u", mqt_key(5));
	T_OK(ipk_chan_open(url, IPK_CHAN_CREATE, 0, &ch));
	mqt_run_child(mqt_intruder, url, ch, "permission denied");
	printf("ok: the queue refuses uid 65534 every way it may be opened\n");
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 2 && !strcmp(argv[1], "perm")) {
		mqt_need_sysv();
		return permission_denied();
	}
	if (argc != 1)
		T_FAIL("usage: %s [perm]", argv[0]);
	mqt_need_sysv();

	selective();
	no_truncation();
	full_and_limits();
	forms();
	printf("ok\n");
	return 0;
}
