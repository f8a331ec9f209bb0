/* SPDX-License-Identifier: MIT */
/*
 * inspect_posix.c - POSIX objects: message queues (the mqueue mount),
 * and /dev/shm: shared memory, named semaphores (sem.NAME), ipckit rings
 * (recognised by their magic and read with ipk_ring_info()) and their
 * -bell/-cons pages, which are folded into their ring. Who holds or maps
 * them is the process scan's (inspect_holders.c).
 */
#include <dirent.h>
#include <fcntl.h>
#include <mqueue.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "inspect_internal.h"
#include "ring_layout.h" /* the first word of each of a ring's objects */

/* Field 5 of the first mqueue line of /proc/self/mountinfo. */
void ipk__inspect_find_mqueue(ipk_inspect *in)
{
	char line[4096], mnt[PATH_MAX];
	FILE *f = fopen("/proc/self/mountinfo", "re");

	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		const char *sep = strstr(line, " - ");

		if (!sep || strncmp(sep, " - mqueue ", 10) != 0)
			continue;
		if (sscanf(line, "%*s %*s %*s %*s %4095s", mnt) == 1) {
			snprintf(in->mqueue, sizeof(in->mqueue), "%s", mnt);
			in->have_mqueue = true;
			break;
		}
	}
	fclose(f);
}

int ipk__inspect_scan_mqueue(ipk_inspect *in)
{
	struct dirent *e;
	struct stat st;
	DIR *d;
	int dir_fd, rc = 0;

	ipk__inspect_find_mqueue(in);
	if (!in->have_mqueue)
		return 0;
	d = opendir(in->mqueue);
	if (!d)
		return 0;
	dir_fd = dirfd(d);
	while ((e = readdir(d))) {
		char buf[256], name[NAME_MAX + 2];
		unsigned long long qsize = 0;
		struct mq_attr attr;
		struct inspect_obj *o;
		ssize_t n;
		mqd_t q;
		int fd;

		if (e->d_name[0] == '.')
			continue;
		if (fstatat(dir_fd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue; /* vanished */
		o = ipk__inspect_new_obj(in, IPK_INSPECT_MQ);
		if (!o) {
			rc = -ENOMEM;
			break;
		}
		snprintf(name, sizeof(name), "/%s", e->d_name);
		snprintf(o->pub.name, sizeof(o->pub.name), "%s", name);
		o->pub.uid = st.st_uid;
		o->pub.gid = st.st_gid;
		o->pub.mode = st.st_mode & 07777;
		o->pub.dev = st.st_dev;
		o->pub.ino = st.st_ino;
		/* "QSIZE:N NOTIFY:..." : bytes queued. */
		fd = openat(dir_fd, e->d_name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
		if (fd >= 0) {
			n = ipk__read_eintr(fd, buf, sizeof(buf) - 1);
			ipk__close(fd);
			if (n > 0) {
				buf[n] = '\0';
				(void)sscanf(buf, "QSIZE:%llu", &qsize);
			}
		}
		o->pub.size = qsize;
		q = mq_open(name, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
		if (q != (mqd_t)-1) {
			if (mq_getattr(q, &attr) == 0) {
				o->pub.count = (uint64_t)attr.mq_curmsgs;
				o->pub.max_msg = (uint64_t)attr.mq_maxmsg;
				o->pub.msg_size = (uint64_t)attr.mq_msgsize;
			}
			(void)mq_close(q);
		}
		if (ipk__inspect_add_key(in, st.st_dev, st.st_ino, in->nobjs - 1) < 0) {
			rc = -ENOMEM;
			break;
		}
	}
	closedir(d);
	return rc;
}

/* The first word of /dev/shm/@name (0 if unreadable or short). */
static uint32_t first_word(int dir_fd, const char *name)
{
	uint32_t w = 0;
	int fd = openat(dir_fd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);

	if (fd < 0)
		return 0;
	if (pread(fd, &w, sizeof(w), 0) != (ssize_t)sizeof(w))
		w = 0;
	ipk__close(fd);
	return w;
}

/* A ring's companion page (ring_names.c's ipk__ring_parts): its suffix, or NULL. */
static const char *ring_part_suffix(const char *name)
{
	size_t n = strlen(name);

	for (const char *const *p = ipk__ring_parts; *p; p++) {
		size_t k = strlen(*p);

		if (n > k && !strcmp(name + n - k, *p))
			return name + n - k;
	}
	return NULL;
}

int ipk__inspect_scan_devshm(ipk_inspect *in)
{
	struct dirent *e;
	struct stat st;
	size_t first = in->nobjs;
	DIR *d = opendir("/dev/shm");
	int dir_fd, rc = 0;

	if (!d)
		return 0;
	dir_fd = dirfd(d);
	while ((e = readdir(d))) {
		enum ipk_inspect_kind kind = IPK_INSPECT_SHM;
		struct ipk_ring_info info;
		uint32_t magic = 0;
		struct inspect_obj *o;
		int ring_rc = 0;

		if (e->d_name[0] == '.')
			continue;
		if (fstatat(dir_fd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
		    !S_ISREG(st.st_mode))
			continue;
		if (!strncmp(e->d_name, "sem.", 4)) {
			kind = IPK_INSPECT_SEM;
		} else {
			magic = first_word(dir_fd, e->d_name);
			if (magic == IPK__RING_MAGIC) {
				char name[NAME_MAX + 2];

				snprintf(name, sizeof(name), "/%s", e->d_name);
				kind = IPK_INSPECT_RING;
				ring_rc = ipk_ring_info(name, &info);
				if (ring_rc == -ENOENT)
					continue;
			}
		}
		o = ipk__inspect_new_obj(in, kind);
		if (!o) {
			rc = -ENOMEM;
			break;
		}
		snprintf(o->pub.name, sizeof(o->pub.name), "/%s",
			 kind == IPK_INSPECT_SEM ? e->d_name + 4 : e->d_name);
		o->pub.uid = st.st_uid;
		o->pub.gid = st.st_gid;
		o->pub.mode = st.st_mode & 07777;
		o->pub.size = (uint64_t)st.st_size;
		o->pub.dev = st.st_dev;
		o->pub.ino = st.st_ino;
		if (kind == IPK_INSPECT_RING) {
			o->pub.ipckit = 1;
			o->pub.ring_err = ring_rc;
			if (ring_rc == 0) {
				o->pub.ring = info;
				o->pub.max_msg = info.max_msg;
			}
		} else if ((magic == IPK__RING_BELL_MAGIC || magic == IPK__RING_CONS_MAGIC) &&
			   ring_part_suffix(e->d_name)) {
			o->pub.ipckit = 1;
		}
		if (ipk__inspect_add_key(in, st.st_dev, st.st_ino, in->nobjs - 1) < 0) {
			rc = -ENOMEM;
			break;
		}
	}
	closedir(d);
	if (rc < 0)
		return rc;
	/* A ring's pages belong to the ring: their holders are its holders,
	 * and they are not listed on their own. */
	for (size_t i = first; i < in->nobjs; i++) {
		struct inspect_obj *p = &in->objs[i];
		const char *suf = p->pub.kind == IPK_INSPECT_SHM && p->pub.ipckit
					  ? ring_part_suffix(p->pub.name)
					  : NULL;

		if (!suf)
			continue;
		for (size_t j = first; j < in->nobjs; j++) {
			struct inspect_obj *r = &in->objs[j];
			size_t blen = (size_t)(suf - p->pub.name);

			if (strlen(r->pub.name) != blen ||
			    strncmp(r->pub.name, p->pub.name, blen) != 0)
				continue;
			if (r->pub.kind != IPK_INSPECT_RING) {
				/* A ring being made (no magic yet) or not readable. */
				p->base_not_ring = r->pub.kind == IPK_INSPECT_SHM;
				continue;
			}
			for (size_t k = 0; k < in->nkeys; k++)
				if (in->keys[k].idx == i)
					in->keys[k].idx = j;
			p->pub.kind = IPK_INSPECT_NKINDS; /* dropped below */
			break;
		}
	}
	return 0;
}
