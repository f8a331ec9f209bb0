/* SPDX-License-Identifier: MIT */
/*
 * mq.c - what a creating mq: end finds at its name, and who owns it.
 *
 * - A queue of another user, or one that others may read or write beyond
 *   perm=, is never adopted (-EPERM; -EACCES for nobody on root's 0600
 *   queue, as mq_open says) and stays as it was.
 * - A queue whose maxmsg= or msgsize= differ from those the URL asks for is
 *   another queue: -EEXIST. Without them, or with the same, it is adopted.
 * - Close unlinks the name only while it still names the queue it created.
 */
#include <mqueue.h>

#include "names.h"

#define TWO_S (2 * IPK_SEC)

static char name[64], url[256];

/* The queue at the name now: its inode, or 0 if there is none. */
static ino_t queue_ino(void)
{
	struct stat st;
	mqd_t q = mq_open(name, O_RDONLY | O_CLOEXEC);

	if (q < 0 && errno == ENOENT)
		return 0;
	T_SYS(q);
	T_SYS(fstat(q, &st));
	mq_close(q);
	return st.st_ino;
}

static ino_t make_queue(mode_t mode, long maxmsg, long msgsize)
{
	struct mq_attr a = { .mq_maxmsg = maxmsg, .mq_msgsize = msgsize };
	mqd_t q = mq_open(name, O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode, &a);
	struct stat st;

	T_SYS(q);
	T_SYS(fchmod(q, mode)); /* whatever the umask */
	T_SYS(fstat(q, &st));
	mq_close(q);
	return st.st_ino;
}

static void chmod_queue(mode_t mode)
{
	mqd_t q = mq_open(name, O_RDONLY | O_CLOEXEC);

	T_SYS(q);
	T_SYS(fchmod(q, mode));
	mq_close(q);
}

static void refused(const char *opts, int want)
{
	static const unsigned ends[] = { IPK_CHAN_CREATE, IPK_CHAN_CREATE | IPK_CHAN_RDONLY,
					 IPK_CHAN_CREATE | IPK_CHAN_WRONLY };
	ipk_chan *ch = NULL;

	snprintf(url, sizeof(url), "mq:%s%s", name, opts);
	for (size_t e = 0; e < 3; e++)
		N_REFUSED(ipk_chan_open(url, ends[e], TWO_S, &ch), want);
	T_TRUE(ch == NULL);
}

static void adopted(const char *opts)
{
	ipk_chan *ch = NULL;

	snprintf(url, sizeof(url), "mq:%s%s", name, opts);
	N_REFUSED(ipk_chan_open(url, IPK_CHAN_CREATE, TWO_S, &ch), 0);
	ipk_chan_close(ch); /* not created here: stays */
}

static void attributes(void)
{
	ino_t ino = make_queue(0600, 4, 64);

	refused("?maxmsg=8", -EEXIST);
	refused("?msgsize=128", -EEXIST);
	refused("?maxmsg=4&msgsize=32", -EEXIST);
	T_EQ(queue_ino(), ino);
	adopted("");
	adopted("?maxmsg=4");
	adopted("?maxmsg=4&msgsize=64");
	T_EQ(queue_ino(), ino);
	T_SYS(mq_unlink(name));
}

static void wide(void)
{
	static const mode_t modes[] = { 0666, 0620, 0604, 0660 };

	for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		ino_t ino = make_queue(modes[i], 4, 64);

		refused("", -EPERM);
		T_EQ(queue_ino(), ino);
		T_SYS(mq_unlink(name));
	}
	/* unless perm= asks for that much */
	make_queue(0640, 4, 64);
	adopted("?perm=0660");
	T_TRUE(queue_ino() != 0);
	T_SYS(mq_unlink(name));
}

static int nobody_make(void *arg)
{
	make_queue(*(mode_t *)arg, 4, 64);
	return 0;
}

static int nobody_create(void *arg)
{
	refused("", *(int *)arg);
	return 0;
}

static void owners(void)
{
	static const mode_t modes[] = { 0600, 0666 };

	for (size_t i = 0; i < 2; i++) {
		ino_t ino;

		n_as_nobody(nobody_make, (void *)&modes[i]);
		ino = queue_ino();
		refused("", -EPERM);
		refused("?perm=0666", -EPERM);
		n_owner_is(url, 65534, modes[i]);
		T_EQ(queue_ino(), ino);
		T_SYS(mq_unlink(name));
	}
	/* and the other way round */
	make_queue(0600, 4, 64);
	n_as_nobody(nobody_create, &(int){ -EACCES });
	chmod_queue(0666);
	n_as_nobody(nobody_create, &(int){ -EPERM });
	T_TRUE(queue_ino() != 0);
	T_SYS(mq_unlink(name));
}

static void close_removes_only_its_own(void)
{
	ipk_chan *ch = NULL;
	ino_t ino;

	snprintf(url, sizeof(url), "mq:%s", name);
	T_EQ(ipk_chan_open(url, IPK_CHAN_CREATE, 0, &ch), 0);
	T_SYS(mq_unlink(name));
	ino = make_queue(0600, 4, 64); /* a successor's */
	ipk_chan_close(ch);
	T_EQ(queue_ino(), ino);
	T_SYS(mq_unlink(name));

	T_EQ(ipk_chan_open(url, IPK_CHAN_CREATE, 0, &ch), 0);
	ipk_chan_close(ch);
	T_EQ(queue_ino(), 0); /* its own: unlinked */
}

int main(int argc, char **argv)
{
	mqd_t q;

	snprintf(name, sizeof(name), "/ipk-names-mq-%d", (int)getpid());
	(void)mq_unlink(name);
	q = mq_open(name, O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600, NULL);
	if (q < 0)
		T_SKIP("no POSIX message queues here: %s", strerror(errno));
	mq_close(q);
	mq_unlink(name);
	N_PART(argc, argv, attributes);
	N_PART(argc, argv, wide);
	N_PART(argc, argv, close_removes_only_its_own);
	N_PART(argc, argv, owners); /* may skip: last */
	return 0;
}
