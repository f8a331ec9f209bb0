/* SPDX-License-Identifier: MIT */
/*
 * foreign.c - a publisher never adopts a ring it should not: a dead ring
 * of another user (nobody, mode 0666) is refused with -EPERM and left as
 * it was, and so is one of our own that group or others may write or read
 * when we asked for 0600 (they may hold it open already); ipk_chan_name_owner()
 * names the owner and mode for the error message. One of ours with the
 * mode we ask for is taken over. Needs root for the second uid.
 */
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>

#include "ringt.h"

static char name[64], path[96], url[96];
static struct rt_step up;

/* A publisher (as @arg's uid) that dies without closing. */
static int dying_publisher(void *arg)
{
	struct ipk_ring_opts o = { .capacity = 4096, .mode = (mode_t)(intptr_t)arg };
	ipk_ring *r;
	int v = 7;

	if (o.mode == 0666 && t_drop_root() < 0)
		return 2;
	T_OK(ipk_ring_create(name, &o, &r));
	T_OK(ipk_ring_publish(r, &v, sizeof(v)));
	rt_signal(&up);
	pause();
	return 1;
}

static void dead_ring(mode_t mode)
{
	pid_t pid = t_fork(dying_publisher, (void *)(intptr_t)mode);

	rt_await(&up);
	T_SYS(kill(pid, SIGKILL));
	T_SYS(waitpid(pid, NULL, 0));
}

static void remove_ring(void)
{
	char bell[80];

	snprintf(bell, sizeof(bell), "%s-bell", name);
	T_SYS(shm_unlink(name));
	T_SYS(shm_unlink(bell));
}

int main(void)
{
	struct ipk_ring_opts o = { .capacity = 4096 };
	struct stat before, after;
	ipk_ring_sub *s;
	ipk_ring *r;
	uid_t uid;
	mode_t mode;
	int v;

	if (geteuid() != 0)
		T_SKIP("not root: needs a second uid (nobody) to own a ring");
	rt_name(name, sizeof(name), "foreign");
	snprintf(path, sizeof(path), "/dev/shm%s", name);
	snprintf(url, sizeof(url), "shm:%s", name);
	rt_step_init(&up);

	/* nobody's dead 0666 ring: not ours to take */
	dead_ring(0666);
	T_SYS(stat(path, &before));
	T_EQ(before.st_uid, 65534);
	T_EQ(ipk_ring_create(name, &o, &r), -EPERM);
	T_EQ(ipk_chan_open(url, IPK_CHAN_CREATE, 0, &(ipk_chan *){ NULL }), -EPERM);
	T_SYS(stat(path, &after));
	T_EQ(after.st_ino, before.st_ino); /* left as it was */
	T_EQ(after.st_mode & 07777, 0666);
	T_OK(ipk_chan_name_owner(url, &uid, &mode));
	T_EQ(uid, 65534);
	T_EQ(mode & 07777, 0666);
	T_TRUE(S_ISREG(mode));
	/* its message is still there for its own subscribers */
	T_OK(ipk_ring_open(name, NULL, &s));
	ipk_ring_sub_close(s);
	remove_ring();
	printf("nobody's dead 0666 ring: -EPERM, left alone, owner named\n");

	/* our own, but open to others beyond the 0600 we ask for */
	dead_ring(0644);
	T_EQ(ipk_ring_create(name, &o, &r), -EPERM);
	o.mode = 0644;
	T_OK(ipk_ring_create(name, &o, &r)); /* what we ask for: taken over */
	T_OK(ipk_ring_stats(r, &(struct ipk_ring_stats){ 0 }));
	ipk_ring_close(r);
	T_EQ(access(path, F_OK), -1);
	printf("our own ring readable by others: -EPERM for 0600, taken over for 0644\n");

	/* ours with our mode: taken over, and its mode kept exact */
	o.mode = 0;
	dead_ring(0600);
	T_OK(ipk_ring_create(name, &o, &r));
	T_SYS(stat(path, &after));
	T_EQ(after.st_mode & 07777, 0600);
	v = 8;
	T_OK(ipk_ring_publish(r, &v, sizeof(v)));
	ipk_ring_close(r);
	printf("our own 0600 ring: taken over\n");

	/* and a FIFO there: the owner lookup says what it is */
	T_SYS(mkfifo(path, 0600));
	T_OK(ipk_chan_name_owner(url, &uid, &mode));
	T_TRUE(S_ISFIFO(mode));
	T_SYS(unlink(path));
	return 0;
}
