/* SPDX-License-Identifier: MIT */
/*
 * names.c - what a ring's names lead to: a publisher that closes after its
 * name was removed and taken by a successor leaves the successor's ring
 * alone; anything at a name that is not a ring of ours - a FIFO, a
 * directory, a socket, a symbolic link, an empty or short file, another
 * file at the doorbell's name - is refused at once (-EPROTO), by publishers
 * and subscribers, and never waited on past a timeout.
 */
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include "ringt.h"

static char name[64], bell[80], path[96], bell_path[112];
static struct rt_step created, go_close;

static ino_t ino_of(const char *p)
{
	struct stat st;

	T_SYS(lstat(p, &st));
	return st.st_ino;
}

static int successor(void *arg)
{
	uint64_t pid = (uint64_t)getpid();
	ipk_ring *r;

	(void)arg;
	T_OK(ipk_ring_create(name, NULL, &r));
	T_OK(ipk_ring_publish(r, &pid, sizeof(pid)));
	rt_signal(&created);
	rt_await(&go_close);
	ipk_ring_close(r);
	return 0;
}

/* Publisher A, `ipckit rm`, publisher B, A closes: B keeps its ring. */
static void test_close_keeps_successor(void)
{
	ipk_ring *a, *third;
	ipk_ring_sub *s;
	ino_t feed_b, bell_b;
	uint64_t got;
	pid_t b;

	T_OK(ipk_ring_create(name, NULL, &a));
	T_SYS(shm_unlink(name)); /* what ipckit rm does */
	T_SYS(shm_unlink(bell));
	b = t_fork(successor, NULL);
	rt_await(&created);
	feed_b = ino_of(path);
	bell_b = ino_of(bell_path);
	ipk_ring_close(a);
	T_EQ(ino_of(path), feed_b);
	T_EQ(ino_of(bell_path), bell_b);
	/* B's ring still works for new subscribers, and is still B's */
	T_OK(ipk_ring_open(name, NULL, &s));
	T_EQ(ipk_ring_create(name, NULL, &third), -EBUSY);
	rt_signal(&go_close);
	t_wait_exit(b, 0);
	T_EQ(ipk_ring_recv(s, &got, sizeof(got), RT_TIMEOUT), -EPIPE); /* closed */
	ipk_ring_sub_close(s);
	T_EQ(access(path, F_OK), -1); /* B removed its own */
	T_EQ(access(bell_path, F_OK), -1);
	(void)got;
	printf("a publisher closing after rm leaves its successor's ring alone\n");
}

/* @what is at @p: every open and create refuses it at once. */
static void refused(const char *what)
{
	ipk_ring_sub *s = NULL;
	ipk_ring *r = NULL;
	char url[128];
	ipk_chan *ch = NULL;
	int64_t t0 = rt_now();

	T_EQ(ipk_ring_open(name, NULL, &s), -EPROTO);
	T_EQ(ipk_ring_create(name, NULL, &r), -EPROTO);
	snprintf(url, sizeof(url), "shm:%s", name);
	T_EQ(ipk_chan_open(url, 0, IPK_SEC, &ch), -EPROTO); /* not waited for */
	T_EQ(ipk_chan_open(url, IPK_CHAN_CREATE, IPK_SEC, &ch), -EPROTO);
	T_TRUE(rt_now() - t0 < IPK_SEC / 2);
	T_EQ(s, NULL);
	T_EQ(r, NULL);
	printf("%s at the name: -EPROTO at once\n", what);
}

static void test_strange_things(void)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char target[128];
	ipk_ring *r;
	int fd;

	T_SYS(mkfifo(path, 0600));
	refused("a FIFO");
	T_SYS(unlink(path));

	T_SYS(mkdir(path, 0700));
	refused("a directory");
	T_SYS(rmdir(path));

	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	T_SYS(fd);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	T_SYS(bind(fd, (struct sockaddr *)&sa, sizeof(sa)));
	refused("a socket");
	close(fd);
	T_SYS(unlink(path));

	/* a symbolic link, even to a good ring */
	snprintf(target, sizeof(target), "%s-target", name);
	T_OK(ipk_ring_create(target, NULL, &r));
	snprintf(target, sizeof(target), "%s-target", path);
	T_SYS(symlink(target, path));
	refused("a symbolic link");
	T_SYS(unlink(path));
	ipk_ring_close(r);

	fd = open(path, O_RDWR | O_CREAT | O_EXCL, 0600);
	T_SYS(fd);
	refused("an empty file");
	T_EQ(write(fd, "not a ring", 10), 10);
	refused("a short file");
	T_SYS(ftruncate(fd, 8192));
	T_EQ(pwrite(fd, "JUNK", 4, 0), 4);
	refused("a file of another format");
	close(fd);
	T_SYS(unlink(path));

	/* a FIFO at the doorbell's name: a subscriber does not hang on it,
	 * and a fresh publisher fails without leaving its feed behind */
	T_SYS(mkfifo(bell_path, 0600));
	T_EQ(ipk_ring_create(name, NULL, &r), -EPROTO);
	T_EQ(access(path, F_OK), -1);
	T_SYS(unlink(bell_path));
	T_OK(ipk_ring_create(name, NULL, &r));
	T_SYS(unlink(bell_path));
	T_SYS(mkfifo(bell_path, 0600));
	{
		ipk_ring_sub *s = NULL;

		T_EQ(ipk_ring_open(name, NULL, &s), -EPROTO);
	}
	T_SYS(unlink(bell_path));
	ipk_ring_close(r);
	T_EQ(access(path, F_OK), -1);
	printf("a FIFO at the doorbell's name: -EPROTO, nothing left behind\n");
}

int main(void)
{
	rt_name(name, sizeof(name), "names");
	snprintf(bell, sizeof(bell), "%s-bell", name);
	snprintf(path, sizeof(path), "/dev/shm%s", name);
	snprintf(bell_path, sizeof(bell_path), "/dev/shm%s", bell);
	rt_step_init(&created);
	rt_step_init(&go_close);
	test_close_keeps_successor();
	test_strange_things();
	return 0;
}
