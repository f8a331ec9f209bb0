/* SPDX-License-Identifier: MIT */
/*
 * abandoned.c - a header whose creator died between linking it and
 * setting it up: at its name, magic 0, and no one holds its lock.
 *
 * While someone holds the lock (a consumer setting it up) a producer
 * waits: with timeout 0 it is -EAGAIN. Once no one does, connecting is
 * -ECONNREFUSED at once, even with IPK_FOREVER (it used to wait for a
 * magic no one would ever store). A consumer then takes the name over as
 * new, and producers connect to it.
 */
#include <poll.h>
#include <sys/file.h>

#include "mpsct.h"
#include "mpsc_layout.h"

static char name[64];

static int connect_forever(void *arg)
{
	ipk_mpsc_prod *p;

	(void)arg;
	T_SYS(prctl(PR_SET_PDEATHSIG, SIGKILL));
	T_EQ(ipk_mpsc_connect(name, NULL, IPK_FOREVER, &p), -ECONNREFUSED);
	return 0;
}

static int producer(void *arg)
{
	ipk_mpsc_prod *p;

	(void)arg;
	T_OK(ipk_mpsc_connect(name, NULL, MT_TIMEOUT, &p));
	T_OK(ipk_mpsc_send(p, "hi", 2, MT_TIMEOUT));
	ipk_mpsc_prod_close(p);
	return 0;
}

int main(void)
{
	unsigned char buf[16];
	ipk_mpsc_prod *p;
	ipk_mpsc *c;
	pid_t pid;
	int fd, status;

	mt_name(name, sizeof(name), "abandoned");
	/* what a creator killed after linking leaves: zeros, unlocked */
	fd = shm_open(name, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	T_SYS(fd);
	T_SYS(ftruncate(fd, IPK__MPSC_HDR_SIZE));

	/* locked: being set up, wait */
	T_SYS(flock(fd, LOCK_EX));
	T_EQ(ipk_mpsc_connect(name, NULL, 0, &p), -EAGAIN);
	T_SYS(flock(fd, LOCK_UN));

	/* unlocked: no one will finish it */
	T_EQ(ipk_mpsc_connect(name, NULL, 0, &p), -ECONNREFUSED);
	pid = t_fork(connect_forever, NULL);
	for (int64_t end = mt_now() + MT_TIMEOUT;;) {
		pid_t r = waitpid(pid, &status, WNOHANG);

		T_SYS(r);
		if (r == pid)
			break;
		if (mt_now() >= end) {
			T_SYS(kill(pid, SIGKILL));
			T_EQ(waitpid(pid, &status, 0), pid);
			T_TRUE(!"ipk_mpsc_connect(IPK_FOREVER) still waiting");
		}
		T_SYS(poll(NULL, 0, 5));
	}
	T_TRUE(WIFEXITED(status));
	T_EQ(WEXITSTATUS(status), 0);
	close(fd);

	/* a consumer takes it over as new */
	T_OK(ipk_mpsc_create(name, NULL, &c));
	pid = t_fork(producer, NULL);
	T_EQ(ipk_mpsc_recv(c, buf, sizeof(buf), NULL, MT_TIMEOUT), 2);
	t_wait_exit(pid, 0);
	ipk_mpsc_close(c);
	T_TRUE(!mt_exists(name));
	printf("unfinished header: -EAGAIN while locked, -ECONNREFUSED once not; "
	       "a consumer takes it over\n");
	return 0;
}
