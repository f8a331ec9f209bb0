/* SPDX-License-Identifier: MIT */
/*
 * names.c - ipk_chan_name_owner(): who owns the object at a channel's name,
 * looked at without opening it as a channel, so that a caller refused with
 * -EPERM can say whose object it was and how open.
 */
#include <fcntl.h>
#include <mqueue.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/stat.h>

#include <ipckit/chan.h>

#include "internal.h"
#include "url_parse.h"

/* A POSIX queue: its file under /dev/mqueue if that is mounted, else the
 * queue itself (which needs read or write permission). */
static int mq_owner(const char *name, struct stat *st)
{
	char p[PATH_MAX];
	mqd_t q;
	int r;

	if (snprintf(p, sizeof(p), "/dev/mqueue%s", name) < (int)sizeof(p) && stat(p, st) == 0)
		return 0;
	q = mq_open(name, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (q < 0 && errno == EACCES)
		q = mq_open(name, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
	if (q < 0)
		return ipk__neg_errno();
	r = fstat(q, st) < 0 ? ipk__neg_errno() : 0;
	(void)mq_close(q);
	return r;
}

static int sysv_owner(const struct ipk_url *u, uid_t *uid, mode_t *mode)
{
	struct msqid_ds ds;
	key_t key = (key_t)u->key;
	int id;

	if (u->sysv == IPK__SYSV_PRIVATE)
		return -EOPNOTSUPP; /* no name */
	if (u->sysv == IPK__SYSV_FTOK) {
		key = ftok(u->path, u->proj);
		if (key == (key_t)-1)
			return ipk__neg_errno();
	}
	id = msgget(key, 0);
	if (id < 0 || msgctl(id, IPC_STAT, &ds) < 0)
		return ipk__neg_errno();
	*uid = ds.msg_perm.uid;
	*mode = ds.msg_perm.mode & 07777;
	return 0;
}

IPK_API int ipk_chan_name_owner(const char *url, uid_t *uid, mode_t *mode)
{
	struct ipk_url *u;
	struct stat st;
	int r;

	IPK_CHECK_ARG(url && uid && mode);
	u = malloc(sizeof(*u));
	if (!u)
		return -ENOMEM;
	r = ipk__url_parse(url, u, NULL, NULL);
	if (r < 0)
		goto out;
	switch (u->scheme->addr) {
	case IPK__ADDR_PATH:
	case IPK__ADDR_UNIX:
		if (u->abstract)
			r = -EOPNOTSUPP; /* no file, no owner */
		else
			r = lstat(u->path, &st) < 0 ? ipk__neg_errno() : 0;
		break;
	case IPK__ADDR_SYSV:
		r = sysv_owner(u, uid, mode);
		goto out;
	case IPK__ADDR_POSIX:
		if (!strcmp(u->scheme_name, "mq")) {
			r = mq_owner(u->path, &st);
			break;
		}
		/* shm: the feed, where a ring would be: /dev/shm/NAME */
		{
			char p[PATH_MAX];

			r = snprintf(p, sizeof(p), "/dev/shm%s", u->path) < (int)sizeof(p)
				    ? 0
				    : -ENAMETOOLONG;
			if (r == 0 && lstat(p, &st) < 0)
				r = ipk__neg_errno();
		}
		break;
	default:
		r = -EOPNOTSUPP;
		break;
	}
	if (r == 0) {
		*uid = st.st_uid;
		*mode = st.st_mode;
	}
out:
	free(u);
	return r;
}
