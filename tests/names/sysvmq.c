/* SPDX-License-Identifier: MIT */
/*
 * sysvmq.c - what a creating sysvmq: end finds at its key, and what may
 * sit at the path of a /path:PROJ key.
 *
 * - A queue of another user (owner or creator), or one that others may
 *   read or write beyond perm=, is never adopted (-EPERM; -EACCES for
 *   nobody on root's 0600 queue, as msgget says) and stays as it was.
 * - The path of sysvmq:/path:PROJ only names the key (ftok: stat, links
 *   followed): a FIFO with no peer, a directory or a link there is never
 *   opened, and the open returns at once.
 * - Close removes only the queue it created, not a successor at its key.
 */
#include <sys/ipc.h>
#include <sys/msg.h>

#include "names.h"

#define TWO_S (2 * IPK_SEC)

static key_t key;
static char url[256], path[100], target[100];

static int make_queue(int mode)
{
	int id = (int)T_SYS(msgget(key, IPC_CREAT | IPC_EXCL | mode));
	struct msqid_ds ds;

	T_SYS(msgctl(id, IPC_STAT, &ds));
	ds.msg_perm.mode = (unsigned short)mode; /* whatever the umask */
	T_SYS(msgctl(id, IPC_SET, &ds));
	return id;
}

static int queue_id(void)
{
	int id = msgget(key, 0);

	return id < 0 && errno == ENOENT ? -1 : (int)T_SYS(id);
}

static void refused(const char *opts, int want)
{
	static const unsigned ends[] = { IPK_CHAN_CREATE, IPK_CHAN_CREATE | IPK_CHAN_RDONLY,
					 IPK_CHAN_CREATE | IPK_CHAN_WRONLY };
	ipk_chan *ch = NULL;

	snprintf(url, sizeof(url), "sysvmq:%d%s", (int)key, opts);
	for (size_t e = 0; e < 3; e++)
		N_REFUSED(ipk_chan_open(url, ends[e], TWO_S, &ch), want);
	T_TRUE(ch == NULL);
}

static void wide(void)
{
	static const int modes[] = { 0666, 0620, 0604, 0660 };
	ipk_chan *ch = NULL;

	for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		int id = make_queue(modes[i]);

		refused("", -EPERM);
		T_EQ(queue_id(), id);
		T_SYS(msgctl(id, IPC_RMID, NULL));
	}
	/* unless perm= asks for that much; the queue then stays */
	int id = make_queue(0640);
	snprintf(url, sizeof(url), "sysvmq:%d?perm=0660", (int)key);
	T_EQ(ipk_chan_open(url, IPK_CHAN_CREATE, TWO_S, &ch), 0);
	ipk_chan_close(ch);
	T_EQ(queue_id(), id);
	T_SYS(msgctl(id, IPC_RMID, NULL));
}

static int nobody_make(void *arg)
{
	make_queue(*(int *)arg);
	return 0;
}

static int nobody_create(void *arg)
{
	refused("", *(int *)arg);
	return 0;
}

static void owners(void)
{
	static const int modes[] = { 0600, 0666 };

	for (size_t i = 0; i < 2; i++) {
		int id;

		n_as_nobody(nobody_make, (void *)&modes[i]);
		id = queue_id();
		refused("", -EPERM);
		refused("?perm=0666", -EPERM);
		n_owner_is(url, 65534, (mode_t)modes[i]);
		T_EQ(queue_id(), id);
		T_SYS(msgctl(id, IPC_RMID, NULL));
	}
	/* and the other way round */
	int id = make_queue(0600);
	n_as_nobody(nobody_create, &(int){ -EACCES });
	struct msqid_ds ds;
	T_SYS(msgctl(id, IPC_STAT, &ds));
	ds.msg_perm.mode = 0666;
	T_SYS(msgctl(id, IPC_SET, &ds));
	n_as_nobody(nobody_create, &(int){ -EPERM });
	T_EQ(queue_id(), id);
	T_SYS(msgctl(id, IPC_RMID, NULL));
}

/* sysvmq:/path:PROJ with @what at the path: created and found at once. */
static void key_path(const char *what)
{
	ipk_chan *srv = NULL, *cl = NULL;
	char buf[8];

	fprintf(stderr, "%s at the key's path\n", what);
	snprintf(url, sizeof(url), "sysvmq:%s:7", path);
	N_REFUSED(ipk_chan_open(url, IPK_CHAN_CREATE | IPK_CHAN_EXCL, TWO_S, &srv), 0);
	N_REFUSED(ipk_chan_open(url, 0, TWO_S, &cl), 0);
	T_EQ(ipk_chan_send(cl, "hi", 2, IPK_SEC), 0);
	T_EQ(ipk_chan_recv(srv, buf, sizeof(buf), IPK_SEC), 2);
	ipk_chan_close(cl);
	ipk_chan_close(srv);
}

static void paths(void)
{
	ipk_chan *ch = NULL;

	T_SYS(mkfifo(path, 0600));
	key_path("a FIFO with no peer");
	T_SYS(unlink(path));
	T_SYS(mkdir(path, 0700));
	key_path("a directory");
	T_SYS(rmdir(path));
	T_SYS(mkfifo(target, 0600));
	T_SYS(symlink(target, path));
	key_path("a link to a FIFO");
	T_SYS(unlink(target));
	/* dangling: no file, no key */
	snprintf(url, sizeof(url), "sysvmq:%s:7", path);
	N_REFUSED(ipk_chan_open(url, IPK_CHAN_CREATE, TWO_S, &ch), -ENOENT);
	T_SYS(unlink(path));
}

static void close_removes_only_its_own(void)
{
	ipk_chan *ch = NULL;
	int id;

	snprintf(url, sizeof(url), "sysvmq:%d", (int)key);
	T_EQ(ipk_chan_open(url, IPK_CHAN_CREATE | IPK_CHAN_EXCL, 0, &ch), 0);
	T_SYS(msgctl(queue_id(), IPC_RMID, NULL));
	id = make_queue(0600); /* a successor's */
	ipk_chan_close(ch);
	T_EQ(queue_id(), id);
	T_SYS(msgctl(id, IPC_RMID, NULL));

	T_EQ(ipk_chan_open(url, IPK_CHAN_CREATE | IPK_CHAN_EXCL, 0, &ch), 0);
	ipk_chan_close(ch);
	T_EQ(queue_id(), -1); /* its own: removed */
}

int main(int argc, char **argv)
{
	int id;

	key = (key_t)(0x1e900000 | (getpid() & 0xfffff));
	t_path(path, sizeof(path), "names-sysvmq");
	t_path(target, sizeof(target), "names-sysvmq-target");
	n_clear(path);
	(void)unlink(target);
	id = msgget(key, IPC_CREAT | IPC_EXCL | 0600);
	if (id < 0)
		T_SKIP("no System V message queue to be had: %s", strerror(errno));
	msgctl(id, IPC_RMID, NULL);
	N_PART(argc, argv, paths);
	N_PART(argc, argv, wide);
	N_PART(argc, argv, close_removes_only_its_own);
	N_PART(argc, argv, owners); /* may skip: last */
	return 0;
}
