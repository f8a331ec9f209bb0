/* SPDX-License-Identifier: MIT */
/*
 * tests/inspect/remove.c - ipk_inspect_remove() removes a name only while it
 * is still the object the snapshot saw: a dead ring that a new publisher
 * adopted in place (same file, new epoch) or replaced (new file) after the
 * scan, a lone -bell page that a new ring replaced, and plain shared
 * memory, a semaphore, a message queue and a FIFO made anew at their
 * names are all kept with -ESTALE; unchanged ones, and a ring seen live
 * (ipckit rm), are removed with their pages. Publishers are real processes
 * killed with SIGKILL.
 */
#include <fcntl.h>
#include <mqueue.h>
#include <semaphore.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>

#include "../harness.h"

#define SCAN_KINDS                                                              \
	(IPK_INSPECT_BIT(IPK_INSPECT_RING) | IPK_INSPECT_BIT(IPK_INSPECT_SHM) | \
	 IPK_INSPECT_BIT(IPK_INSPECT_SEM) | IPK_INSPECT_BIT(IPK_INSPECT_MQ) |   \
	 IPK_INSPECT_BIT(IPK_INSPECT_FIFO))

struct pub_args {
	const char *name;
	struct ipk_ring_opts opts;
	int pipefd[2];
};

/* Child: become the ring's publisher, report, wait to be killed. */
static int publisher(void *arg)
{
	struct pub_args *a = arg;
	ipk_ring *r;

	T_SYS(prctl(PR_SET_PDEATHSIG, SIGKILL)); /* gone with a failed test too */
	T_OK(ipk_ring_create(a->name, &a->opts, &r));
	T_OK(ipk_ring_publish(r, "x", 1));
	T_SYS(write(a->pipefd[1], "x", 1));
	for (;;)
		pause();
}

static pid_t start_pub(const char *name, uint64_t cap, uint32_t flags)
{
	struct pub_args a = { .name = name, .opts = { .capacity = cap, .flags = flags } };
	char c;
	pid_t pid;

	T_SYS(pipe(a.pipefd));
	pid = t_fork(publisher, &a);
	T_EQ(read(a.pipefd[0], &c, 1), 1);
	close(a.pipefd[0]);
	close(a.pipefd[1]);
	return pid;
}

static void kill_pub(pid_t pid)
{
	T_SYS(kill(pid, SIGKILL));
	T_SYS(waitpid(pid, NULL, 0));
}

/* The inode at /dev/shm@name@suffix, 0 if nothing is there. */
static uint64_t shm_ino(const char *name, const char *suffix)
{
	char path[128];
	struct stat st;

	snprintf(path, sizeof(path), "/dev/shm%s%s", name, suffix);
	return lstat(path, &st) == 0 ? (uint64_t)st.st_ino : 0;
}

static const struct ipk_inspect_obj *find(const ipk_inspect *in, const char *scheme,
					  const char *name, enum ipk_inspect_kind kind)
{
	char url[160];
	const struct ipk_inspect_obj *o = NULL;

	snprintf(url, sizeof(url), "%s%s", scheme, name);
	T_OK(ipk_inspect_find(in, url, &o));
	T_EQ(o->kind, kind);
	return o;
}

/* Remove the ring @name by taking it over and closing it. */
static void drop_ring(const char *name, uint64_t cap, uint32_t flags)
{
	struct ipk_ring_opts opts = { .capacity = cap, .flags = flags };
	ipk_ring *r;

	T_OK(ipk_ring_create(name, &opts, &r));
	ipk_ring_close(r);
	T_EQ(shm_ino(name, ""), 0);
}

/* A dead queue, scanned; a new publisher adopts it in place; the stale
 * snapshot's removal keeps it while the new publisher lives and after it
 * died too (its epoch is not the snapshot's). */
static void adopted_in_place(const char *name)
{
	uint64_t feed, bell, cons;
	struct ipk_ring_info info;
	const struct ipk_inspect_obj *o;
	ipk_inspect *in, *fresh;
	pid_t a, b;

	a = start_pub(name, 4096, IPK_RING_QUEUE);
	kill_pub(a);
	T_OK(ipk_inspect_scan(SCAN_KINDS, &in));
	o = find(in, "shm:", name, IPK_INSPECT_RING);
	T_EQ(o->ring.alive, 0);
	T_EQ(o->ring.pid, a);
	feed = shm_ino(name, "");
	bell = shm_ino(name, "-bell");
	cons = shm_ino(name, "-cons");
	T_TRUE(feed && bell && cons);

	b = start_pub(name, 4096, IPK_RING_QUEUE);
	T_OK(ipk_ring_info(name, &info));
	T_EQ(info.pid, b);
	T_EQ(info.epoch, o->ring.epoch + 1);
	T_EQ(shm_ino(name, ""), feed); /* the same file, adopted */

	T_EQ(ipk_inspect_remove(o), -ESTALE); /* its publisher lives */
	T_EQ(shm_ino(name, ""), feed);
	T_NE(shm_ino(name, "-bell"), 0);
	T_NE(shm_ino(name, "-cons"), 0);

	kill_pub(b);
	T_EQ(ipk_inspect_remove(o), -ESTALE); /* dead again, but at another epoch */
	T_EQ(shm_ino(name, ""), feed);
	T_NE(shm_ino(name, "-bell"), 0);
	T_NE(shm_ino(name, "-cons"), 0);

	/* What a new scan sees goes, pages first, and only once. */
	T_OK(ipk_inspect_scan(SCAN_KINDS, &fresh));
	o = find(fresh, "shm:", name, IPK_INSPECT_RING);
	T_EQ(o->ring.pid, b);
	T_OK(ipk_inspect_remove(o));
	T_EQ(shm_ino(name, ""), 0);
	T_EQ(shm_ino(name, "-bell"), 0);
	T_EQ(shm_ino(name, "-cons"), 0);
	T_EQ(ipk_inspect_remove(o), -ENOENT);
	ipk_inspect_free(fresh);
	ipk_inspect_free(in);
}

/* A dead ring, scanned; a new publisher of another capacity replaces it
 * with a new file and new pages: the stale removal keeps them. */
static void replaced(const char *name)
{
	uint64_t feed, bell;
	const struct ipk_inspect_obj *o;
	ipk_inspect *in;
	pid_t a, b;

	a = start_pub(name, 4096, 0);
	kill_pub(a);
	T_OK(ipk_inspect_scan(SCAN_KINDS, &in));
	o = find(in, "shm:", name, IPK_INSPECT_RING);
	T_EQ(o->ring.alive, 0);

	b = start_pub(name, 8192, 0);
	feed = shm_ino(name, "");
	bell = shm_ino(name, "-bell");
	T_TRUE(feed && bell);
	T_NE(feed, o->ino); /* replaced, not adopted */

	T_EQ(ipk_inspect_remove(o), -ESTALE);
	T_EQ(shm_ino(name, ""), feed);
	T_EQ(shm_ino(name, "-bell"), bell);
	kill_pub(b);
	T_EQ(ipk_inspect_remove(o), -ESTALE);
	T_EQ(shm_ino(name, ""), feed);
	T_EQ(shm_ino(name, "-bell"), bell);
	ipk_inspect_free(in);
	drop_ring(name, 8192, 0);
}

/* A -bell page left alone (its feed removed by hand), scanned; a new ring
 * at the name makes a new page: the stale removal keeps it. Unchanged, a
 * lone page goes. */
static void lone_page(const char *name)
{
	char bell_name[80];
	const struct ipk_inspect_obj *o;
	ipk_inspect *in;
	uint64_t bell;
	pid_t a, b;

	snprintf(bell_name, sizeof(bell_name), "%s-bell", name);
	a = start_pub(name, 4096, 0);
	kill_pub(a);
	T_SYS(shm_unlink(name));
	T_OK(ipk_inspect_scan(SCAN_KINDS, &in));
	o = find(in, "shm:", bell_name, IPK_INSPECT_SHM);
	T_EQ(o->ipckit, 1);

	b = start_pub(name, 4096, 0);
	bell = shm_ino(name, "-bell");
	T_NE(bell, 0);
	T_NE(bell, o->ino); /* a fresh ring's own page */
	T_EQ(ipk_inspect_remove(o), -ESTALE);
	T_EQ(shm_ino(name, "-bell"), bell);
	kill_pub(b);
	ipk_inspect_free(in);

	drop_ring(name, 4096, 0);
	a = start_pub(name, 4096, 0);
	kill_pub(a);
	T_SYS(shm_unlink(name));
	T_OK(ipk_inspect_scan(SCAN_KINDS, &in));
	o = find(in, "shm:", bell_name, IPK_INSPECT_SHM);
	T_OK(ipk_inspect_remove(o));
	T_EQ(shm_ino(name, "-bell"), 0);
	ipk_inspect_free(in);
}

/* ipckit rm of a ring seen live: still removed, pages too. */
static void live_rm(const char *name)
{
	const struct ipk_inspect_obj *o;
	ipk_inspect *in;
	pid_t a;

	a = start_pub(name, 4096, 0);
	T_OK(ipk_inspect_scan(SCAN_KINDS, &in));
	o = find(in, "shm:", name, IPK_INSPECT_RING);
	T_EQ(o->ring.alive, 1);
	T_OK(ipk_inspect_remove(o));
	T_EQ(shm_ino(name, ""), 0);
	T_EQ(shm_ino(name, "-bell"), 0);
	kill_pub(a);
	ipk_inspect_free(in);
}

/* Plain shared memory, a named semaphore, a message queue and a FIFO,
 * each made anew at its name after the scan (the old one kept open, so
 * its inode number is not reused): kept. */
static void plain(void)
{
	char shm[64], sem[64], mq[64], fifo[64];
	const struct ipk_inspect_obj *o_shm, *o_sem, *o_mq = NULL, *o_fifo;
	struct mq_attr attr = { .mq_maxmsg = 1, .mq_msgsize = 8 };
	int shm_old, shm_new, fifo_old, fifo_new;
	mqd_t mq_old, mq_new = (mqd_t)-1;
	sem_t *sem_old, *sem_new;
	ipk_inspect *in;
	struct stat st;

	snprintf(shm, sizeof(shm), "/ipk-rm-shm-%d", (int)getpid());
	snprintf(sem, sizeof(sem), "/ipk-rm-sem-%d", (int)getpid());
	snprintf(mq, sizeof(mq), "/ipk-rm-mq-%d", (int)getpid());
	t_path(fifo, sizeof(fifo), "rm-fifo");

	shm_old = T_SYS(shm_open(shm, O_RDWR | O_CREAT | O_EXCL, 0600));
	sem_old = sem_open(sem, O_CREAT | O_EXCL, 0600, 0);
	T_TRUE(sem_old != SEM_FAILED);
	mq_old = mq_open(mq, O_RDWR | O_CREAT | O_EXCL, 0600, &attr);
	if (mq_old == (mqd_t)-1)
		fprintf(stderr, "note: no POSIX queue (%s): that part not run\n", strerror(errno));
	T_SYS(mkfifo(fifo, 0600));
	fifo_old = T_SYS(open(fifo, O_RDWR | O_NONBLOCK)); /* held: the scan finds it */

	T_OK(ipk_inspect_scan(SCAN_KINDS, &in));
	o_shm = find(in, "shm:", shm, IPK_INSPECT_SHM);
	o_sem = find(in, "sem:", sem, IPK_INSPECT_SEM);
	if (mq_old != (mqd_t)-1 && ipk_inspect_mqueue(in))
		o_mq = find(in, "mq:", mq, IPK_INSPECT_MQ);
	o_fifo = find(in, "fifo:", fifo, IPK_INSPECT_FIFO);

	T_SYS(shm_unlink(shm));
	shm_new = T_SYS(shm_open(shm, O_RDWR | O_CREAT | O_EXCL, 0600));
	T_SYS(sem_unlink(sem));
	sem_new = sem_open(sem, O_CREAT | O_EXCL, 0600, 0);
	T_TRUE(sem_new != SEM_FAILED);
	if (o_mq) {
		T_SYS(mq_unlink(mq));
		mq_new = mq_open(mq, O_RDWR | O_CREAT | O_EXCL, 0600, &attr);
		T_TRUE(mq_new != (mqd_t)-1);
	}
	T_SYS(unlink(fifo));
	T_SYS(mkfifo(fifo, 0600));
	fifo_new = T_SYS(open(fifo, O_RDWR | O_NONBLOCK));

	T_EQ(ipk_inspect_remove(o_shm), -ESTALE);
	T_EQ(ipk_inspect_remove(o_sem), -ESTALE);
	if (o_mq)
		T_EQ(ipk_inspect_remove(o_mq), -ESTALE);
	T_EQ(ipk_inspect_remove(o_fifo), -ESTALE);
	T_SYS(fstat(shm_new, &st));
	T_EQ(shm_ino(shm, ""), st.st_ino);
	T_NE(shm_ino("/sem.", sem + 1), 0);
	if (o_mq) {
		mqd_t q = mq_open(mq, O_RDONLY);

		T_TRUE(q != (mqd_t)-1);
		mq_close(q);
	}
	T_SYS(fstat(fifo_new, &st));
	{
		struct stat now;

		T_SYS(lstat(fifo, &now));
		T_EQ(now.st_ino, st.st_ino);
	}
	ipk_inspect_free(in);
	close(fifo_old); /* else the next scan lists the old FIFO too, by its old path */

	/* Unchanged, they go. */
	T_OK(ipk_inspect_scan(SCAN_KINDS, &in));
	T_OK(ipk_inspect_remove(find(in, "shm:", shm, IPK_INSPECT_SHM)));
	T_OK(ipk_inspect_remove(find(in, "sem:", sem, IPK_INSPECT_SEM)));
	if (o_mq)
		T_OK(ipk_inspect_remove(find(in, "mq:", mq, IPK_INSPECT_MQ)));
	T_OK(ipk_inspect_remove(find(in, "fifo:", fifo, IPK_INSPECT_FIFO)));
	T_EQ(shm_ino(shm, ""), 0);
	T_EQ(shm_ino("/sem.", sem + 1), 0);
	T_EQ(access(fifo, F_OK), -1);
	ipk_inspect_free(in);

	close(shm_old);
	close(shm_new);
	sem_close(sem_old);
	sem_close(sem_new);
	if (mq_old != (mqd_t)-1)
		mq_close(mq_old);
	if (mq_new != (mqd_t)-1)
		mq_close(mq_new);
	if (mq_old != (mqd_t)-1 && !o_mq)
		mq_unlink(mq);
	close(fifo_new);
}

/* Every case, or the one named by argv[1]. */
int main(int argc, char **argv)
{
	const char *only = argc > 1 ? argv[1] : NULL;
	char name[64];

	snprintf(name, sizeof(name), "/ipk-rm-ring-%d", (int)getpid());
	if (!only || !strcmp(only, "adopted"))
		adopted_in_place(name);
	if (!only || !strcmp(only, "replaced"))
		replaced(name);
	if (!only || !strcmp(only, "lone"))
		lone_page(name);
	if (!only || !strcmp(only, "live"))
		live_rm(name);
	if (!only || !strcmp(only, "plain"))
		plain();
	return 0;
}
