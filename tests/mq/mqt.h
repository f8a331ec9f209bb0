/* SPDX-License-Identifier: MIT */
/*
 * tests/mq/mqt.h - helpers for the message-queue tests: per-process names,
 * privilege dropping, a pipe to step two processes in lock-step.
 */
#ifndef IPCKIT_TESTS_MQT_H
#define IPCKIT_TESTS_MQT_H

#include <fcntl.h>
#include <grp.h>
#include <mqueue.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/resource.h>

#include "../harness.h"

#define MQT_TIMEOUT (10 * IPK_SEC)

/* "mq:/ipk-<tag>-<pid><opts>" */
static inline const char *mqt_mq_url(char *buf, size_t len, const char *tag, const char *opts)
{
	snprintf(buf, len, "mq:/ipk-%s-%d%s", tag, (int)getpid(), opts ? opts : "");
	return buf;
}

/* A System V key nobody else uses: the pid in the low bits, @n above. */
static inline unsigned mqt_key(unsigned n)
{
	return 0x49000000u | ((n & 0xffu) << 16) | ((unsigned)getpid() & 0xffffu);
}

static inline int64_t mqt_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * IPK_SEC + ts.tv_nsec;
}

/* Lock-step between two processes: one byte per step over a pipe. */
struct mqt_step {
	int fd[2];
};

static inline void mqt_step_init(struct mqt_step *s)
{
	T_SYS(pipe2(s->fd, O_CLOEXEC));
}

static inline void mqt_step_post(struct mqt_step *s)
{
	char c = 1;

	T_EQ(write(s->fd[1], &c, 1), 1);
}

static inline void mqt_step_wait(struct mqt_step *s)
{
	struct pollfd p = { .fd = s->fd[0], .events = POLLIN };
	char c;

	if (poll(&p, 1, 20000) != 1)
		T_FAIL("step: peer did not answer within 20 s");
	T_EQ(read(s->fd[0], &c, 1), 1);
}

/* Is @fd readable right now (poll with timeout 0)? */
static inline int mqt_readable(int fd, int timeout_ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	int n = poll(&p, 1, timeout_ms);

	T_SYS(n);
	return n == 1 && (p.revents & POLLIN);
}

/* Run @fn in a child and close @ch after it; a child that exits 77 (could
 * not drop privileges) makes the whole test skip with @what. */
static inline void mqt_run_child(int (*fn)(void *), void *arg, ipk_chan *ch, const char *what)
{
	pid_t pid = t_fork(fn, arg);
	int st;

	while (waitpid(pid, &st, 0) < 0)
		T_TRUE(errno == EINTR);
	ipk_chan_close(ch);
	if (WIFEXITED(st) && WEXITSTATUS(st) == 77)
		T_SKIP("%s: cannot drop privileges to uid/gid 65534", what);
	T_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

/* Run in a child by mqt_run_child(): the queue @url, made 0600 (0000 when
 * not root), refuses a process of another user every way it may be opened. */
static inline int mqt_intruder(void *url)
{
	ipk_chan *ch = NULL;

	if (t_drop_root() < 0)
		return 77;
	T_EQ(ipk_chan_open(url, 0, 0, &ch), -EACCES);
	T_EQ(ipk_chan_open(url, IPK_CHAN_RDONLY, 0, &ch), -EACCES);
	T_EQ(ipk_chan_open(url, IPK_CHAN_WRONLY, 0, &ch), -EACCES);
	T_EQ(ipk_chan_open(url, IPK_CHAN_CREATE, 0, &ch), -EACCES);
	T_TRUE(ch == NULL);
	return 0;
}

/* SKIP unless the kernel has System V message queues. */
static inline void mqt_need_sysv(void)
{
	int id = msgget(IPC_PRIVATE, 0600);

	if (id < 0 && errno == ENOSYS)
		T_SKIP("System V message queues are not available in this kernel");
	T_SYS(id);
	T_SYS(msgctl(id, IPC_RMID, NULL));
}

/* SKIP unless the kernel has POSIX message queues. */
static inline void mqt_need_mq(void)
{
	char name[64];
	mqd_t q;

	snprintf(name, sizeof(name), "/ipk-probe-%d", (int)getpid());
	q = mq_open(name, O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC, 0600, NULL);
	if (q == (mqd_t)-1 && errno == ENOSYS)
		T_SKIP("POSIX message queues are not available in this kernel");
	T_SYS(q);
	mq_close(q);
	T_SYS(mq_unlink(name));
}

#endif /* IPCKIT_TESTS_MQT_H */
