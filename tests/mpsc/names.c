/* SPDX-License-Identifier: MIT */
/*
 * names.c - what may be at a queue's name, and what a consumer removes.
 * Another kind of object (a ring, a plain shared-memory object of ours, a
 * FIFO, a directory, a symbolic link) is -EPROTO for the consumer and
 * producers alike, never followed, waited on, replaced or removed; an
 * object of another owner, or one open wider than asked, is -EPERM. A
 * name someone removed and another consumer took is left to it when the
 * first one closes. One a creator never finished (no magic) is taken.
 */
#include <sys/stat.h>

#include "mpsct.h"

static char name[64], path[128];

/* Both sides refuse what is at the name with @want; it stays there. */
static void refused(int want_create, int want_connect)
{
	ipk_mpsc_prod *p;
	ipk_mpsc *c;
	struct stat st;

	T_EQ(ipk_mpsc_create(name, NULL, &c), want_create);
	T_EQ(ipk_mpsc_connect(name, NULL, 0, &p), want_connect);
	T_SYS(lstat(path, &st)); /* still there */
}

/* A plain file of @size bytes at the name, mode @mode, owned by @uid. */
static void plant(size_t size, mode_t mode, uid_t uid)
{
	int fd = open(path, O_RDWR | O_CREAT | O_EXCL, mode);

	T_SYS(fd);
	T_SYS(ftruncate(fd, (off_t)size));
	T_SYS(fchmod(fd, mode));
	if (uid != geteuid())
		T_SYS(fchown(fd, uid, uid));
	close(fd);
}

int main(void)
{
	struct ipk_mpsc_stats st;
	ipk_ring *r;
	ipk_mpsc *c, *c2;

	mt_name(name, sizeof(name), "names");
	snprintf(path, sizeof(path), "/dev/shm%s", name);

	/* a ring, live and then left behind by its publisher */
	T_OK(ipk_ring_create(name, NULL, &r));
	refused(-EPROTO, -EPROTO);
	ipk_ring_close(r);
	T_OK(ipk_ring_create(name, &(struct ipk_ring_opts){ .flags = IPK_RING_KEEP }, &r));
	ipk_ring_close(r);
	refused(-EPROTO, -EPROTO);
	T_SYS(shm_unlink(name));
	{
		char bell[128];

		snprintf(bell, sizeof(bell), "%s-bell", name);
		(void)shm_unlink(bell);
	}
	/* a plain object of ours with no queue in it, of a queue's size */
	plant(4096, 0600, geteuid());
	memset(&st, 0, sizeof(st));
	{
		int fd = open(path, O_RDWR);

		T_SYS(fd);
		T_EQ(pwrite(fd, "junk", 4, 0), 4);
		close(fd);
	}
	refused(-EPROTO, -EPROTO);
	T_SYS(unlink(path));
	/* a FIFO, a directory, a symbolic link */
	T_SYS(mkfifo(path, 0600));
	refused(-EPROTO, -EPROTO);
	T_SYS(unlink(path));
	T_SYS(mkdir(path, 0700));
	refused(-EPROTO, -EPROTO);
	T_SYS(rmdir(path));
	T_SYS(symlink("/dev/null", path));
	refused(-EPROTO, -EPROTO);
	T_SYS(unlink(path));
	/* open wider than asked */
	plant(4096, 0666, geteuid());
	refused(-EPERM, -ECONNREFUSED); /* all zero, unlocked: an unfinished queue */
	T_SYS(unlink(path));
	if (geteuid() == 0) {
		/* another owner's */
		plant(4096, 0600, 65534);
		refused(-EPERM, -ECONNREFUSED); /* all zero, unlocked: an unfinished queue */
		T_SYS(unlink(path));
	}
	printf("a ring, junk, a FIFO, a directory, a symlink, a foreign file: refused, kept\n");

	/* one its creator never finished: all zero, ours */
	plant(4096, 0600, geteuid());
	T_OK(ipk_mpsc_create(name, NULL, &c));
	T_OK(ipk_mpsc_stats(c, &st));
	T_EQ(st.epoch, 1);
	/* removed by someone (ipckit rm), taken by another consumer */
	T_SYS(shm_unlink(name));
	T_OK(ipk_mpsc_create(name, NULL, &c2));
	ipk_mpsc_close(c);
	T_TRUE(access(path, F_OK) == 0); /* c2's, left alone */
	ipk_mpsc_close(c2);
	T_TRUE(!mt_exists(name));
	/* IPK_MPSC_KEEP, then a takeover */
	T_OK(ipk_mpsc_create(name, &(struct ipk_mpsc_opts){ .flags = IPK_MPSC_KEEP }, &c));
	ipk_mpsc_close(c);
	T_TRUE(mt_exists(name));
	T_OK(ipk_mpsc_create(name, NULL, &c));
	T_OK(ipk_mpsc_stats(c, &st));
	T_EQ(st.epoch, 2);
	ipk_mpsc_close(c);
	T_TRUE(!mt_exists(name));
	printf("unfinished: taken; removed and retaken: left to its new owner; kept: taken over\n");
	if (geteuid() != 0)
		T_SKIP("not root: another owner's object not tried");
	return 0;
}
