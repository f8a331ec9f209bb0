/* SPDX-License-Identifier: MIT */
/*
 * inspect_holders.c - which processes hold or map the objects found: every
 * process once, each /proc/PID/fd entry ("socket:[N]" is looked up at once,
 * a path is stat()ed through the magic link and looked up by dev/ino; FIFOs
 * and memfds not seen before become objects) and each line of
 * /proc/PID/maps with an inode ("/SYSV%08x" lines carry the segment id as
 * their inode). Also whether this view of /proc can see every process
 * (PID namespace, hidepid), which gc needs to call anything an orphan.
 */
#include <ctype.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "inspect_internal.h"

/*
 * Can we see every process that may use our objects? Not from a PID
 * namespace other than the host's while sharing the host's IPC namespace
 * (a container run with the host's IPC, and usually its /dev/shm): the
 * host's processes use the same objects unseen. (The host's namespaces have
 * the fixed inodes PROC_PID_INIT_INO and PROC_IPC_INIT_INO, Linux 3.8 on.)
 * A container with an IPC namespace of its own is taken to have its own
 * objects. Nor can we as a user that a hidepid= mount of /proc hides other
 * users' processes from.
 */
void ipk__inspect_check_process_view(ipk_inspect *in)
{
	char line[4096];
	struct stat pid_ns, ipc_ns;
	FILE *f;

	if (stat("/proc/self/ns/pid", &pid_ns) < 0 || stat("/proc/self/ns/ipc", &ipc_ns) < 0)
		in->foreign_pidns = true; /* cannot tell */
	else
		in->foreign_pidns = pid_ns.st_ino != 0xeffffffcu && ipc_ns.st_ino == 0xefffffffu;
	if (geteuid() == 0 || !(f = fopen("/proc/self/mountinfo", "re")))
		return;
	while (fgets(line, sizeof(line), f)) {
		char mnt[256];
		const char *sep = strstr(line, " - proc ");
		const char *hp = sep ? strstr(sep, "hidepid=") : NULL;

		if (!hp || sscanf(line, "%*s %*s %*s %*s %255s", mnt) != 1 || strcmp(mnt, "/proc"))
			continue;
		hp += 8;
		in->hidepid = strncmp(hp, "0", 1) != 0 && strncmp(hp, "off", 3) != 0;
	}
	fclose(f);
}

static int add_holder(ipk_inspect *in, size_t idx, pid_t pid, uid_t uid, const char *comm,
		      unsigned how, int fd)
{
	return ipk__inspect_add_hold(in, idx, false, pid, uid, comm, how, fd);
}

struct proc {
	pid_t pid;
	uid_t uid;
	char comm[16];
	int dir_fd;     /* /proc/PID */
	int ns_checked; /* 0 not yet, 1 same ipc namespace as ours, -1 other */
};

static int add_denied(ipk_inspect *in, pid_t pid)
{
	if (in->ndenied && in->denied[in->ndenied - 1] == pid)
		return 0;
	if (ipk__inspect_grow((void **)&in->denied, &in->cap_denied, in->ndenied + 1,
			      sizeof(pid_t)) < 0)
		return -ENOMEM;
	in->denied[in->ndenied++] = pid;
	return 0;
}

/* A FIFO or memfd first seen through a descriptor or a mapping. */
static ssize_t add_file_obj(ipk_inspect *in, enum ipk_inspect_kind kind, const char *path,
			    const struct stat *st)
{
	struct inspect_obj *o;
	char *del;

	if (!ipk__inspect_wants(in, kind))
		return -1;
	o = ipk__inspect_new_obj(in, kind);
	if (!o)
		return -ENOMEM;
	if (kind == IPK_INSPECT_MEMFD)
		snprintf(o->pub.name, sizeof(o->pub.name), "memfd:%s", path + 7);
	else
		snprintf(o->pub.name, sizeof(o->pub.name), "%s", path);
	del = strstr(o->pub.name, " (deleted)");
	if (del)
		*del = '\0';
	o->pub.uid = st->st_uid;
	o->pub.gid = st->st_gid;
	o->pub.mode = st->st_mode & 07777;
	o->pub.size = S_ISREG(st->st_mode) ? (uint64_t)st->st_size : 0;
	o->pub.dev = st->st_dev;
	o->pub.ino = st->st_ino;
	if (ipk__inspect_add_key(in, st->st_dev, st->st_ino, in->nobjs - 1) < 0)
		return -ENOMEM;
	return (ssize_t)(in->nobjs - 1);
}

static int scan_fds(ipk_inspect *in, struct proc *p)
{
	struct dirent *e;
	DIR *d;
	int fd_dir, rc = 0;

	fd_dir = openat(p->dir_fd, "fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd_dir < 0)
		return errno == EACCES || errno == EPERM ? add_denied(in, p->pid) : 0;
	d = fdopendir(fd_dir);
	if (!d) {
		rc = errno == ENOMEM ? -ENOMEM : 0; /* else the process is exiting */
		ipk__close(fd_dir);
		return rc;
	}
	while ((e = readdir(d))) {
		char link[PATH_MAX];
		unsigned long long ino;
		struct stat st;
		ssize_t n, idx;
		int fd;

		if (!isdigit((unsigned char)e->d_name[0]))
			continue;
		fd = atoi(e->d_name);
		n = readlinkat(fd_dir, e->d_name, link, sizeof(link) - 1);
		if (n < 0) {
			if (errno == EACCES || errno == EPERM) {
				rc = add_denied(in, p->pid);
				break;
			}
			continue; /* closed meanwhile */
		}
		link[n] = '\0';
		if (!strncmp(link, "socket:[", 8)) {
			if (sscanf(link + 8, "%llu", &ino) == 1) {
				idx = ipk__inspect_lookup(in, 0, ino);
				if (idx >= 0)
					rc = add_holder(in, (size_t)idx, p->pid, p->uid, p->comm,
							IPK_HOLD_FD, fd);
				idx = rc < 0 ? -1 : ipk__inspect_lookup(in, DEV_PEER, ino);
				if (idx >= 0)
					rc = ipk__inspect_add_hold(in, (size_t)idx, true, p->pid,
								   p->uid, p->comm, IPK_HOLD_FD,
								   fd);
			}
			if (rc < 0)
				break;
			continue;
		}
		if (link[0] != '/')
			continue; /* pipe:, anon_inode: */
		if (fstatat(fd_dir, e->d_name, &st, 0) < 0)
			continue;
		idx = ipk__inspect_lookup(in, st.st_dev, st.st_ino);
		if (idx < 0 && !strncmp(link, "/memfd:", 7))
			idx = add_file_obj(in, IPK_INSPECT_MEMFD, link, &st);
		else if (idx < 0 && S_ISFIFO(st.st_mode))
			idx = add_file_obj(in, IPK_INSPECT_FIFO, link, &st);
		if (idx == -ENOMEM) {
			rc = -ENOMEM;
			break;
		}
		if (idx >= 0) {
			rc = add_holder(in, (size_t)idx, p->pid, p->uid, p->comm, IPK_HOLD_FD, fd);
			if (rc < 0)
				break;
		}
	}
	closedir(d);
	return rc;
}

/* Is @p in our IPC namespace? (System V ids are per namespace.) */
static bool same_ipcns(const ipk_inspect *in, struct proc *p)
{
	char link[64];
	ssize_t n;

	if (!p->ns_checked) {
		n = readlinkat(p->dir_fd, "ns/ipc", link, sizeof(link) - 1);
		if (n < 0) {
			p->ns_checked = in->ipcns[0] ? -1 : 1;
		} else {
			link[n] = '\0';
			p->ns_checked = strcmp(link, in->ipcns) == 0 ? 1 : -1;
		}
	}
	return p->ns_checked > 0;
}

static int scan_maps(ipk_inspect *in, struct proc *p)
{
	char line[PATH_MAX + 256];
	int fd, rc = 0;
	FILE *f;

	fd = openat(p->dir_fd, "maps", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == EACCES || errno == EPERM ? add_denied(in, p->pid) : 0;
	f = fdopen(fd, "re");
	if (!f) {
		rc = errno == ENOMEM ? -ENOMEM : 0;
		ipk__close(fd);
		return rc;
	}
	while (fgets(line, sizeof(line), f)) {
		unsigned maj, min;
		unsigned long long ino;
		ssize_t idx = -1;
		const char *path;
		int pos = 0;

		if (sscanf(line, "%*s %*s %*s %x:%x %llu %n", &maj, &min, &ino, &pos) < 3 || !pos)
			continue;
		path = line + pos;
		if (!ino && strncmp(path, "/SYSV", 5) != 0)
			continue; /* anonymous; a segment's inode is its id, maybe 0 */
		if (!strncmp(path, "/SYSV", 5)) {
			if (same_ipcns(in, p))
				idx = ipk__inspect_lookup(in, DEV_SYSV, ino);
		} else {
			idx = ipk__inspect_lookup(in, makedev(maj, min), ino);
			if (idx < 0 && !strncmp(path, "/memfd:", 7)) {
				struct stat st = { 0 };
				char *nl = strchr(line, '\n');

				if (nl)
					*nl = '\0';
				st.st_dev = makedev(maj, min);
				st.st_ino = ino;
				st.st_mode = S_IFREG;
				idx = add_file_obj(in, IPK_INSPECT_MEMFD, path, &st);
				if (idx == -ENOMEM) {
					rc = -ENOMEM;
					break;
				}
			}
		}
		if (idx >= 0) {
			rc = add_holder(in, (size_t)idx, p->pid, p->uid, p->comm, IPK_HOLD_MAP, -1);
			if (rc < 0)
				break;
		}
	}
	if (ferror(f) && (errno == EACCES || errno == EPERM) && rc == 0)
		rc = add_denied(in, p->pid);
	fclose(f);
	return rc;
}

static void read_comm(struct proc *p)
{
	ssize_t n;
	int fd = openat(p->dir_fd, "comm", O_RDONLY | O_CLOEXEC);

	p->comm[0] = '\0';
	if (fd < 0)
		return;
	n = ipk__read_eintr(fd, p->comm, sizeof(p->comm) - 1);
	ipk__close(fd);
	if (n < 0)
		n = 0;
	p->comm[n] = '\0';
	p->comm[strcspn(p->comm, "\n")] = '\0';
}

int ipk__inspect_scan_procs(ipk_inspect *in)
{
	struct dirent *e;
	DIR *d = opendir("/proc");
	ssize_t n;
	int rc = 0;

	if (!d)
		return ipk__neg_errno();
	n = readlink("/proc/self/ns/ipc", in->ipcns, sizeof(in->ipcns) - 1);
	in->ipcns[n > 0 ? n : 0] = '\0';
	while ((e = readdir(d))) {
		struct proc p = { 0 };
		struct stat st;

		if (!isdigit((unsigned char)e->d_name[0]))
			continue;
		p.pid = atoi(e->d_name);
		p.dir_fd = openat(dirfd(d), e->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (p.dir_fd < 0)
			continue; /* exited */
		if (fstat(p.dir_fd, &st) < 0) {
			ipk__close(p.dir_fd);
			continue;
		}
		p.uid = st.st_uid;
		read_comm(&p);
		in->nprocs++;
		rc = scan_fds(in, &p);
		if (rc == 0)
			rc = scan_maps(in, &p);
		ipk__close(p.dir_fd);
		if (rc < 0)
			break;
	}
	closedir(d);
	return rc;
}
