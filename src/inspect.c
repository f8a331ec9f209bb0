/* SPDX-License-Identifier: MIT */
/*
 * inspect.c - a snapshot of the host's IPC objects and their holders
 * (ipckit/inspect.h).
 *
 * Why one file of this size: every section below (System V, POSIX, Unix
 * sockets, processes, gc) reads or fills the one snapshot - its object
 * array and the (dev, ino) index the process scan resolves holders
 * through - with static helpers of their own. Split along those sections
 * once the snapshot's structs and the index move to a private header.
 *
 * Two phases. First the objects: /proc/sysvipc/{msg,shm,sem}, the mqueue
 * mount, /dev/shm (rings recognised by their magic and read with
 * ipk_ring_info()), /proc/net/unix. Each object that has a file gets an
 * entry (dev, ino) -> object in a sorted index; sockets are entered with
 * dev 0 and their socket inode. Then every process once: readlink of each
 * /proc/PID/fd entry ("socket:[N]" is looked up at once, a path is
 * stat()ed through the magic link and looked up by dev/ino; FIFOs and
 * memfds not seen before become objects), and each line of
 * /proc/PID/maps with an inode ("/SYSV%08x" lines carry the segment id as
 * their inode). Anything that vanishes half-way (ENOENT, ESRCH) is left
 * out; what may not be read (EACCES, EPERM) is reported per process.
 */
#include <ctype.h>
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <mqueue.h>
#include <semaphore.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sock_diag.h>
#include <linux/unix_diag.h>

#include <ipckit/inspect.h>

#include "internal.h"

/* The first word of a ring's pages (see the top of ring.c). */
#define RING_MAGIC 0x474e5249u
#define BELL_MAGIC 0x4c4c4542u
#define CONS_MAGIC 0x534e4f43u

#define UNIX_ACCEPTCON 0x10000u /* __SO_ACCEPTCON in /proc/net/unix Flags */

struct obj {
	struct ipk_obj o;
	struct ipk_holder *h; /* holders */
	size_t nh, caph;
	struct ipk_holder *p; /* unix: peers */
	size_t np, capp;
	/* System V times (wall-clock seconds, 0: never): when lpid acted
	 * (msg: last send; shm: last attach or detach), when lrpid acted (msg:
	 * last receive), the last change (creation or IPC_SET). */
	int64_t t_lpid, t_lrpid, t_ctime;
	unsigned long waiters; /* System V set: processes blocked in semop() */
	bool page_base;        /* -bell/-cons page: its ring's name exists, not as a ring */
};

/* Keys that are no file: a segment id (maps), a peer's socket inode. */
#define DEV_SYSV UINT64_MAX
#define DEV_PEER (UINT64_MAX - 1)

struct key {
	uint64_t dev, ino;
	size_t idx;
};

struct ipk_inspect {
	struct obj *objs;
	size_t n, cap;
	struct key *keys; /* sorted by dev, ino */
	size_t nkeys, capkeys;
	size_t nsorted; /* keys[0, nsorted) are sorted; later ones are searched linearly */
	pid_t *denied;
	size_t ndenied, capdenied;
	size_t nprocs;
	unsigned kinds;
	char mqueue[PATH_MAX];
	bool have_mqueue;
	char ipcns[64];     /* readlink of /proc/self/ns/ipc */
	bool foreign_pidns; /* not the host's PID namespace: not every process seen */
	bool hidepid;       /* /proc hides other users' processes from us */
	double boot_real;   /* CLOCK_REALTIME at boot (now), for start times */
	long hz;            /* clock ticks per second of /proc/PID/stat */
};

static const char *const kind_names[IPK_OBJ_NKINDS] = {
	"sysv-msg", "sysv-shm", "sysv-sem", "mq", "shm", "sem", "ring", "unix", "fifo", "memfd",
};

const char *ipk_obj_kind_name(enum ipk_obj_kind kind)
{
	return (unsigned)kind < IPK_OBJ_NKINDS ? kind_names[kind] : NULL;
}

int ipk_obj_kind_parse(const char *name)
{
	IPK_CHECK_ARG(name);
	for (int i = 0; i < IPK_OBJ_NKINDS; i++)
		if (!strcmp(name, kind_names[i]))
			return i;
	return -EINVAL;
}

/* ---- growing arrays ----------------------------------------------------- */

static int grow(void **arr, size_t *cap, size_t need, size_t elem)
{
	size_t ncap;
	void *p;

	if (need <= *cap)
		return 0;
	ncap = *cap ? *cap * 2 : 16;
	while (ncap < need)
		ncap *= 2;
	p = realloc(*arr, ncap * elem);
	if (!p)
		return -ENOMEM;
	*arr = p;
	*cap = ncap;
	return 0;
}

/* A new object of @kind; NULL without memory. Pointers into objs change
 * with the next call. */
static struct obj *new_obj(ipk_inspect *in, enum ipk_obj_kind kind)
{
	struct obj *o;

	if (grow((void **)&in->objs, &in->cap, in->n + 1, sizeof(*in->objs)) < 0)
		return NULL;
	o = &in->objs[in->n++];
	memset(o, 0, sizeof(*o));
	o->o.kind = kind;
	o->o.id = -1;
	o->o.cpid = -1;
	o->o.lpid = -1;
	o->o.lrpid = -1;
	return o;
}

static int add_key(ipk_inspect *in, uint64_t dev, uint64_t ino, size_t idx)
{
	if (grow((void **)&in->keys, &in->capkeys, in->nkeys + 1, sizeof(*in->keys)) < 0)
		return -ENOMEM;
	in->keys[in->nkeys++] = (struct key){ dev, ino, idx };
	return 0;
}

static int key_cmp(const void *a, const void *b)
{
	const struct key *x = a, *y = b;

	if (x->dev != y->dev)
		return x->dev < y->dev ? -1 : 1;
	if (x->ino != y->ino)
		return x->ino < y->ino ? -1 : 1;
	return 0;
}

/* The object with file (@dev, @ino), or -1. */
static ssize_t lookup(const ipk_inspect *in, uint64_t dev, uint64_t ino)
{
	struct key k = { dev, ino, 0 };
	const struct key *hit =
		in->nsorted ? bsearch(&k, in->keys, in->nsorted, sizeof(k), key_cmp) : NULL;

	if (hit)
		return (ssize_t)hit->idx;
	for (size_t i = in->nsorted; i < in->nkeys; i++)
		if (in->keys[i].dev == dev && in->keys[i].ino == ino)
			return (ssize_t)in->keys[i].idx;
	return -1;
}

/* Adds a hold of @idx (a peer's if @peer) by process @pid. */
static int add_hold(ipk_inspect *in, size_t idx, bool peer, pid_t pid, uid_t uid, const char *comm,
		    unsigned how, int fd)
{
	struct obj *o = &in->objs[idx];
	struct ipk_holder **arr = peer ? &o->p : &o->h, *h;
	size_t *n = peer ? &o->np : &o->nh, *cap = peer ? &o->capp : &o->caph;

	/* One process at a time: its holds of one object are adjacent. */
	if (*n && (*arr)[*n - 1].pid == pid) {
		h = &(*arr)[*n - 1];
		h->how |= how;
		if (fd >= 0 && (h->fd < 0 || fd < h->fd))
			h->fd = fd;
		return 0;
	}
	if (grow((void **)arr, cap, *n + 1, sizeof(**arr)) < 0)
		return -ENOMEM;
	h = &(*arr)[(*n)++];
	memset(h, 0, sizeof(*h));
	h->pid = pid;
	h->uid = uid;
	h->how = how;
	h->fd = fd;
	snprintf(h->comm, sizeof(h->comm), "%s", comm);
	return 0;
}

static int add_holder(ipk_inspect *in, size_t idx, pid_t pid, uid_t uid, const char *comm,
		      unsigned how, int fd)
{
	return add_hold(in, idx, false, pid, uid, comm, how, fd);
}

static bool want(const ipk_inspect *in, enum ipk_obj_kind kind)
{
	return in->kinds & IPK_OBJ_BIT(kind);
}

/*
 * Can @pid be a live process that acted at @t (wall-clock seconds, as the
 * System V objects record times; 0 = no time)? A live pid whose process
 * started after @t is another process that reuses a dead one's number.
 * The kernel's times are whole seconds and the start time is converted to
 * the wall clock as it is now, so "after" needs a margin: started more
 * than 2 s after @t. (A wall clock stepped forward by more than a second
 * since @t can still mislead this; the margin covers the usual slewing.)
 */
static bool lived_at(const ipk_inspect *in, pid_t pid, int64_t t)
{
	uint64_t ticks;

	if (!ipk__pid_exists(pid))
		return false;
	if (t <= 0 || in->hz <= 0 || ipk__proc_start_time(pid, &ticks) < 0)
		return true;
	return in->boot_real + (double)ticks / (double)in->hz <= (double)t + 2.0;
}

/* ---- System V ----------------------------------------------------------- */

/* Opens /proc/sysvipc/@what and skips its title line; NULL if missing. */
static FILE *open_sysvipc(const char *what)
{
	char path[64], line[512];
	FILE *f;

	snprintf(path, sizeof(path), "/proc/sysvipc/%s", what);
	f = fopen(path, "re");
	if (f && !fgets(line, sizeof(line), f)) {
		fclose(f);
		return NULL;
	}
	return f;
}

static void set_key_name(struct obj *o, long long key)
{
	o->o.key = key;
	snprintf(o->o.name, sizeof(o->o.name), "0x%08x", (unsigned)(int)key);
}

static int scan_sysv_msg(ipk_inspect *in)
{
	long long key, id, cbytes, qnum, stime, rtime, ctime;
	unsigned perms, uid, gid;
	int lspid, lrpid;
	char line[512];
	struct obj *o;
	FILE *f = open_sysvipc("msg");

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		stime = rtime = ctime = 0;
		if (sscanf(line, "%lld %lld %o %lld %lld %d %d %u %u %*u %*u %lld %lld %lld", &key,
			   &id, &perms, &cbytes, &qnum, &lspid, &lrpid, &uid, &gid, &stime, &rtime,
			   &ctime) < 9)
			continue;
		o = new_obj(in, IPK_OBJ_SYSV_MSG);
		if (!o) {
			fclose(f);
			return -ENOMEM;
		}
		set_key_name(o, key);
		o->o.id = id;
		o->o.mode = perms & 07777;
		o->o.size = (uint64_t)cbytes;
		o->o.count = (uint64_t)qnum;
		o->o.lpid = lspid;
		o->o.lrpid = lrpid;
		o->t_lpid = stime;
		o->t_lrpid = rtime;
		o->t_ctime = ctime;
		o->o.uid = uid;
		o->o.gid = gid;
	}
	fclose(f);
	return 0;
}

static int scan_sysv_shm(ipk_inspect *in)
{
	long long key, id, nattch, atime, dtime, ctime;
	unsigned long long size;
	unsigned perms, uid, gid;
	int cpid, lpid;
	char line[512];
	struct obj *o;
	FILE *f = open_sysvipc("shm");

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		atime = dtime = ctime = 0;
		if (sscanf(line, "%lld %lld %o %llu %d %d %lld %u %u %*u %*u %lld %lld %lld", &key,
			   &id, &perms, &size, &cpid, &lpid, &nattch, &uid, &gid, &atime, &dtime,
			   &ctime) < 9)
			continue;
		o = new_obj(in, IPK_OBJ_SYSV_SHM);
		if (!o) {
			fclose(f);
			return -ENOMEM;
		}
		set_key_name(o, key);
		o->o.id = id;
		o->o.mode = perms & 07777;
		o->o.size = size;
		o->o.count = (uint64_t)nattch;
		o->o.cpid = cpid;
		o->o.lpid = lpid;
		o->t_lpid = atime > dtime ? atime : dtime;
		o->t_ctime = ctime;
		o->o.uid = uid;
		o->o.gid = gid;
		/* Mappings name the segment by its id in the inode field:
		 * looked up with dev UINT64_MAX, which no file has. */
		if (add_key(in, DEV_SYSV, (uint64_t)id, in->n - 1) < 0) {
			fclose(f);
			return -ENOMEM;
		}
	}
	fclose(f);
	return 0;
}

/* The pid of a live process among the set's last operators, else the last
 * nonzero one, else 0 (no semop yet); -1 if we may not ask. Adds the
 * processes blocked in semop() on it to *@waiters. */
static pid_t sem_last_pid(int id, unsigned long nsems, unsigned long *waiters)
{
	pid_t last = 0, live = 0;

	for (unsigned long i = 0; i < nsems && i < 4096; i++) {
		int p = semctl(id, (int)i, GETPID);
		int nw = semctl(id, (int)i, GETNCNT), zw = semctl(id, (int)i, GETZCNT);

		if (p < 0)
			return -1;
		*waiters += (unsigned long)(nw > 0 ? nw : 0) + (unsigned long)(zw > 0 ? zw : 0);
		if (p > 0 && !live && ipk__pid_exists(p))
			live = p;
		if (p > 0)
			last = p;
	}
	return live ? live : last;
}

static int scan_sysv_sem(ipk_inspect *in)
{
	long long key, id;
	unsigned long nsems;
	unsigned perms, uid, gid;
	char line[512];
	struct obj *o;
	FILE *f = open_sysvipc("sem");

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%lld %lld %o %lu %u %u", &key, &id, &perms, &nsems, &uid, &gid) !=
		    6)
			continue;
		o = new_obj(in, IPK_OBJ_SYSV_SEM);
		if (!o) {
			fclose(f);
			return -ENOMEM;
		}
		set_key_name(o, key);
		o->o.id = id;
		o->o.mode = perms & 07777;
		o->o.count = nsems;
		o->o.uid = uid;
		o->o.gid = gid;
		o->o.lpid = sem_last_pid((int)id, nsems, &o->waiters);
	}
	fclose(f);
	return 0;
}

/* ---- POSIX: mqueue mount and /dev/shm ----------------------------------- */

/* Field 5 of the first mqueue line of /proc/self/mountinfo. */
static void find_mqueue(ipk_inspect *in)
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

static int scan_mqueue(ipk_inspect *in)
{
	struct dirent *e;
	struct stat st;
	DIR *d;
	int dfd, rc = 0;

	find_mqueue(in);
	if (!in->have_mqueue)
		return 0;
	d = opendir(in->mqueue);
	if (!d)
		return 0;
	dfd = dirfd(d);
	while ((e = readdir(d))) {
		char buf[256], name[NAME_MAX + 2];
		unsigned long long qsize = 0;
		struct mq_attr attr;
		struct obj *o;
		ssize_t n;
		mqd_t q;
		int fd;

		if (e->d_name[0] == '.')
			continue;
		if (fstatat(dfd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue; /* vanished */
		o = new_obj(in, IPK_OBJ_MQ);
		if (!o) {
			rc = -ENOMEM;
			break;
		}
		snprintf(name, sizeof(name), "/%s", e->d_name);
		snprintf(o->o.name, sizeof(o->o.name), "%s", name);
		o->o.uid = st.st_uid;
		o->o.gid = st.st_gid;
		o->o.mode = st.st_mode & 07777;
		o->o.dev = st.st_dev;
		o->o.ino = st.st_ino;
		/* "QSIZE:N NOTIFY:..." : bytes queued. */
		fd = openat(dfd, e->d_name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
		if (fd >= 0) {
			n = read(fd, buf, sizeof(buf) - 1);
			ipk__close(fd);
			if (n > 0) {
				buf[n] = '\0';
				(void)sscanf(buf, "QSIZE:%llu", &qsize);
			}
		}
		o->o.size = qsize;
		q = mq_open(name, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
		if (q != (mqd_t)-1) {
			if (mq_getattr(q, &attr) == 0) {
				o->o.count = (uint64_t)attr.mq_curmsgs;
				o->o.max_msg = (uint64_t)attr.mq_maxmsg;
				o->o.msg_size = (uint64_t)attr.mq_msgsize;
			}
			(void)mq_close(q);
		}
		if (add_key(in, st.st_dev, st.st_ino, in->n - 1) < 0) {
			rc = -ENOMEM;
			break;
		}
	}
	closedir(d);
	return rc;
}

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
static void check_view(ipk_inspect *in)
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

/* CLOCK_REALTIME at boot as the clocks are now, and ticks per second. */
static void check_clock(ipk_inspect *in)
{
	struct timespec rt, bt;

	in->hz = sysconf(_SC_CLK_TCK);
	if (clock_gettime(CLOCK_REALTIME, &rt) < 0 || clock_gettime(CLOCK_BOOTTIME, &bt) < 0) {
		in->hz = 0; /* start times unusable: a live pid counts as alive */
		return;
	}
	in->boot_real = (double)(rt.tv_sec - bt.tv_sec) + (double)(rt.tv_nsec - bt.tv_nsec) / 1e9;
}

/* The first word of /dev/shm/@name (0 if unreadable or short). */
static uint32_t shm_magic(int dfd, const char *name)
{
	uint32_t w = 0;
	int fd = openat(dfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);

	if (fd < 0)
		return 0;
	if (pread(fd, &w, sizeof(w), 0) != (ssize_t)sizeof(w))
		w = 0;
	ipk__close(fd);
	return w;
}

/* A ring's companion page (ring.c's ipk__ring_parts): its suffix, or NULL. */
static const char *part_suffix(const char *name)
{
	size_t n = strlen(name);

	for (const char *const *p = ipk__ring_parts; *p; p++) {
		size_t k = strlen(*p);

		if (n > k && !strcmp(name + n - k, *p))
			return name + n - k;
	}
	return NULL;
}

static int scan_devshm(ipk_inspect *in)
{
	struct dirent *e;
	struct stat st;
	size_t first = in->n;
	DIR *d = opendir("/dev/shm");
	int dfd, rc = 0;

	if (!d)
		return 0;
	dfd = dirfd(d);
	while ((e = readdir(d))) {
		enum ipk_obj_kind kind = IPK_OBJ_SHM;
		struct ipk_ring_info info;
		uint32_t magic = 0;
		struct obj *o;
		int ring_rc = 0;

		if (e->d_name[0] == '.')
			continue;
		if (fstatat(dfd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(st.st_mode))
			continue;
		if (!strncmp(e->d_name, "sem.", 4)) {
			kind = IPK_OBJ_SEM;
		} else {
			magic = shm_magic(dfd, e->d_name);
			if (magic == RING_MAGIC) {
				char name[NAME_MAX + 2];

				snprintf(name, sizeof(name), "/%s", e->d_name);
				kind = IPK_OBJ_RING;
				ring_rc = ipk_ring_info(name, &info);
				if (ring_rc == -ENOENT)
					continue;
			}
		}
		o = new_obj(in, kind);
		if (!o) {
			rc = -ENOMEM;
			break;
		}
		snprintf(o->o.name, sizeof(o->o.name), "/%s",
			 kind == IPK_OBJ_SEM ? e->d_name + 4 : e->d_name);
		o->o.uid = st.st_uid;
		o->o.gid = st.st_gid;
		o->o.mode = st.st_mode & 07777;
		o->o.size = (uint64_t)st.st_size;
		o->o.dev = st.st_dev;
		o->o.ino = st.st_ino;
		if (kind == IPK_OBJ_RING) {
			o->o.ipckit = 1;
			o->o.ring_err = ring_rc;
			if (ring_rc == 0) {
				o->o.ring = info;
				o->o.max_msg = info.max_msg;
			}
		} else if ((magic == BELL_MAGIC || magic == CONS_MAGIC) && part_suffix(e->d_name)) {
			o->o.ipckit = 1;
		}
		if (add_key(in, st.st_dev, st.st_ino, in->n - 1) < 0) {
			rc = -ENOMEM;
			break;
		}
	}
	closedir(d);
	if (rc < 0)
		return rc;
	/* A ring's pages belong to the ring: their holders are its holders,
	 * and they are not listed on their own. */
	for (size_t i = first; i < in->n; i++) {
		struct obj *p = &in->objs[i];
		const char *suf =
			p->o.kind == IPK_OBJ_SHM && p->o.ipckit ? part_suffix(p->o.name) : NULL;

		if (!suf)
			continue;
		for (size_t j = first; j < in->n; j++) {
			struct obj *r = &in->objs[j];
			size_t blen = (size_t)(suf - p->o.name);

			if (strlen(r->o.name) != blen || strncmp(r->o.name, p->o.name, blen) != 0)
				continue;
			if (r->o.kind != IPK_OBJ_RING) {
				/* A ring being made (no magic yet) or not readable. */
				p->page_base = r->o.kind == IPK_OBJ_SHM;
				continue;
			}
			for (size_t k = 0; k < in->nkeys; k++)
				if (in->keys[k].idx == i)
					in->keys[k].idx = j;
			p->o.kind = IPK_OBJ_NKINDS; /* dropped below */
			break;
		}
	}
	return 0;
}

/* ---- Unix sockets ------------------------------------------------------- */

static int scan_unix(ipk_inspect *in)
{
	unsigned long long num;
	unsigned ref, proto, flags, type, state;
	unsigned long inode;
	char line[4096 + 128];
	size_t first = in->n;
	FILE *f = fopen("/proc/net/unix", "re");

	if (!f)
		return 0;
	if (!fgets(line, sizeof(line), f)) {
		fclose(f);
		return 0;
	}
	while (fgets(line, sizeof(line), f)) {
		char *path;
		struct obj *o = NULL;
		int pos = 0;

		if (sscanf(line, "%llx: %x %x %x %x %x %lu %n", &num, &ref, &proto, &flags, &type,
			   &state, &inode, &pos) < 7 ||
		    !pos)
			continue;
		path = line + pos;
		path[strcspn(path, "\n")] = '\0';
		if (!path[0])
			continue; /* unnamed: a socketpair or a client end */
		/* Accepted sockets carry their listener's address: one object. */
		for (size_t i = first; i < in->n; i++)
			if (!strcmp(in->objs[i].o.name, path) &&
			    in->objs[i].o.sock_type == (int)type) {
				o = &in->objs[i];
				break;
			}
		if (o)
			o->o.sock_conns++; /* one of the two is an accepted socket */
		else if (!(o = new_obj(in, IPK_OBJ_UNIX))) {
			fclose(f);
			return -ENOMEM;
		}
		/* The listener describes the object, else the first one seen. */
		if (!o->o.ino || (flags & UNIX_ACCEPTCON)) {
			snprintf(o->o.name, sizeof(o->o.name), "%s", path);
			o->o.sock_type = (int)type;
			o->o.sock_state = (int)state;
			o->o.listening = !!(flags & UNIX_ACCEPTCON);
			o->o.ino = inode;
			if (path[0] == '/') {
				struct stat st;

				if (stat(path, &st) == 0 && S_ISSOCK(st.st_mode)) {
					o->o.uid = st.st_uid;
					o->o.gid = st.st_gid;
					o->o.mode = st.st_mode & 07777;
				}
			}
		}
		if (add_key(in, 0, inode, (size_t)(o - in->objs)) < 0) {
			fclose(f);
			return -ENOMEM;
		}
	}
	fclose(f);
	return 0;
}

/*
 * The other ends of our sockets' connections: one sock_diag dump of every
 * Unix socket with its peer's inode. A peer of a socket we list (an
 * accepted connection shares the listener's address) is entered as
 * (DEV_PEER, peer inode); the process scan then finds who holds it. Without
 * sock_diag (no CONFIG_UNIX_DIAG) there are no peers, and no error.
 */
static int scan_unix_peers(ipk_inspect *in)
{
	struct {
		struct nlmsghdr nlh;
		struct unix_diag_req req;
	} msg = {
		.nlh = { .nlmsg_len = sizeof(msg),
			 .nlmsg_type = SOCK_DIAG_BY_FAMILY,
			 .nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP },
		.req = { .sdiag_family = AF_UNIX,
			 .udiag_states = ~0u,
			 .udiag_show = UDIAG_SHOW_PEER },
	};
	const size_t bufsize = 32768;
	char *buf;
	size_t nsorted = in->nkeys;
	int fd, rc = 0;
	bool done = false;

	/* Our sockets' inodes, sorted for the lookups below. */
	if (in->nkeys > 1)
		qsort(in->keys, in->nkeys, sizeof(*in->keys), key_cmp);
	in->nsorted = nsorted;
	fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
	if (fd < 0)
		return 0;
	buf = malloc(bufsize);
	if (!buf) {
		ipk__close(fd);
		return -ENOMEM;
	}
	if (send(fd, &msg, sizeof(msg), 0) != (ssize_t)sizeof(msg))
		done = true;
	while (!done && rc == 0) {
		ssize_t n = recv(fd, buf, bufsize, 0);
		const struct nlmsghdr *h = (const struct nlmsghdr *)buf;

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		for (; NLMSG_OK(h, (size_t)n); h = NLMSG_NEXT(h, n)) {
			const struct unix_diag_msg *m = NLMSG_DATA(h);
			const struct rtattr *a = (const struct rtattr *)(m + 1);
			int alen;
			ssize_t idx;

			if (h->nlmsg_type == NLMSG_DONE || h->nlmsg_type == NLMSG_ERROR) {
				done = true;
				break;
			}
			alen = (int)h->nlmsg_len - (int)NLMSG_LENGTH(sizeof(*m));
			idx = lookup(in, 0, m->udiag_ino);
			if (idx < 0)
				continue;
			for (; RTA_OK(a, alen); a = RTA_NEXT(a, alen)) {
				uint32_t peer;

				if (a->rta_type != UNIX_DIAG_PEER || RTA_PAYLOAD(a) < sizeof(peer))
					continue;
				memcpy(&peer, RTA_DATA(a), sizeof(peer));
				if (peer && add_key(in, DEV_PEER, peer, (size_t)idx) < 0) {
					rc = -ENOMEM;
					break;
				}
			}
			if (rc < 0)
				break;
		}
	}
	free(buf);
	ipk__close(fd);
	return rc;
}

/* ---- processes ---------------------------------------------------------- */

struct proc {
	pid_t pid;
	uid_t uid;
	char comm[16];
	int dfd;        /* /proc/PID */
	int ns_checked; /* 0 not yet, 1 same ipc namespace as ours, -1 other */
};

static int add_denied(ipk_inspect *in, pid_t pid)
{
	if (in->ndenied && in->denied[in->ndenied - 1] == pid)
		return 0;
	if (grow((void **)&in->denied, &in->capdenied, in->ndenied + 1, sizeof(pid_t)) < 0)
		return -ENOMEM;
	in->denied[in->ndenied++] = pid;
	return 0;
}

/* A FIFO or memfd first seen through a descriptor or a mapping. */
static ssize_t add_file_obj(ipk_inspect *in, enum ipk_obj_kind kind, const char *path,
			    const struct stat *st)
{
	struct obj *o;
	char *del;

	if (!want(in, kind))
		return -1;
	o = new_obj(in, kind);
	if (!o)
		return -ENOMEM;
	if (kind == IPK_OBJ_MEMFD)
		snprintf(o->o.name, sizeof(o->o.name), "memfd:%s", path + 7);
	else
		snprintf(o->o.name, sizeof(o->o.name), "%s", path);
	del = strstr(o->o.name, " (deleted)");
	if (del)
		*del = '\0';
	o->o.uid = st->st_uid;
	o->o.gid = st->st_gid;
	o->o.mode = st->st_mode & 07777;
	o->o.size = S_ISREG(st->st_mode) ? (uint64_t)st->st_size : 0;
	o->o.dev = st->st_dev;
	o->o.ino = st->st_ino;
	if (add_key(in, st->st_dev, st->st_ino, in->n - 1) < 0)
		return -ENOMEM;
	return (ssize_t)(in->n - 1);
}

static int scan_fds(ipk_inspect *in, struct proc *p)
{
	struct dirent *e;
	DIR *d;
	int fdd, rc = 0;

	fdd = openat(p->dfd, "fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fdd < 0)
		return errno == EACCES || errno == EPERM ? add_denied(in, p->pid) : 0;
	d = fdopendir(fdd);
	if (!d) {
		rc = errno == ENOMEM ? -ENOMEM : 0; /* else the process is exiting */
		ipk__close(fdd);
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
		n = readlinkat(fdd, e->d_name, link, sizeof(link) - 1);
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
				idx = lookup(in, 0, ino);
				if (idx >= 0)
					rc = add_holder(in, (size_t)idx, p->pid, p->uid, p->comm,
							IPK_HOLD_FD, fd);
				idx = rc < 0 ? -1 : lookup(in, DEV_PEER, ino);
				if (idx >= 0)
					rc = add_hold(in, (size_t)idx, true, p->pid, p->uid,
						      p->comm, IPK_HOLD_FD, fd);
			}
			if (rc < 0)
				break;
			continue;
		}
		if (link[0] != '/')
			continue; /* pipe:, anon_inode: */
		if (fstatat(fdd, e->d_name, &st, 0) < 0)
			continue;
		idx = lookup(in, st.st_dev, st.st_ino);
		if (idx < 0 && !strncmp(link, "/memfd:", 7))
			idx = add_file_obj(in, IPK_OBJ_MEMFD, link, &st);
		else if (idx < 0 && S_ISFIFO(st.st_mode))
			idx = add_file_obj(in, IPK_OBJ_FIFO, link, &st);
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
		n = readlinkat(p->dfd, "ns/ipc", link, sizeof(link) - 1);
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

	fd = openat(p->dfd, "maps", O_RDONLY | O_CLOEXEC);
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
				idx = lookup(in, DEV_SYSV, ino);
		} else {
			idx = lookup(in, makedev(maj, min), ino);
			if (idx < 0 && !strncmp(path, "/memfd:", 7)) {
				struct stat st = { 0 };
				char *nl = strchr(line, '\n');

				if (nl)
					*nl = '\0';
				st.st_dev = makedev(maj, min);
				st.st_ino = ino;
				st.st_mode = S_IFREG;
				idx = add_file_obj(in, IPK_OBJ_MEMFD, path, &st);
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
	int fd = openat(p->dfd, "comm", O_RDONLY | O_CLOEXEC);

	p->comm[0] = '\0';
	if (fd < 0)
		return;
	n = read(fd, p->comm, sizeof(p->comm) - 1);
	ipk__close(fd);
	if (n < 0)
		n = 0;
	p->comm[n] = '\0';
	p->comm[strcspn(p->comm, "\n")] = '\0';
}

static int scan_procs(ipk_inspect *in)
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
		p.dfd = openat(dirfd(d), e->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (p.dfd < 0)
			continue; /* exited */
		if (fstat(p.dfd, &st) < 0) {
			ipk__close(p.dfd);
			continue;
		}
		p.uid = st.st_uid;
		read_comm(&p);
		in->nprocs++;
		rc = scan_fds(in, &p);
		if (rc == 0)
			rc = scan_maps(in, &p);
		ipk__close(p.dfd);
		if (rc < 0)
			break;
	}
	closedir(d);
	return rc;
}

/* ---- the snapshot ------------------------------------------------------- */

static int holder_cmp(const void *a, const void *b)
{
	const struct ipk_holder *x = a, *y = b;

	return (x->pid > y->pid) - (x->pid < y->pid);
}

static int obj_cmp(const void *a, const void *b)
{
	const struct obj *x = a, *y = b;

	if (x->o.kind != y->o.kind)
		return (int)x->o.kind - (int)y->o.kind;
	return strcmp(x->o.name, y->o.name);
}

/* ---- what gc may do ----------------------------------------------------- */

/* Why the holders seen may not be all there are; NULL if every process was
 * seen and read. */
static const char *blind(const ipk_inspect *in, char *buf, size_t len)
{
	if (in->foreign_pidns)
		return "the host's processes share this IPC namespace unseen";
	if (in->hidepid)
		return "/proc hides other users' processes (hidepid)";
	if (in->ndenied) {
		snprintf(buf, len, "%zu process%s could not be inspected", in->ndenied,
			 in->ndenied == 1 ? "" : "es");
		return buf;
	}
	return NULL;
}

#define SET_GC(ob, state, ...)                                                 \
	do {                                                                   \
		(ob)->o.gc = (state);                                          \
		snprintf((ob)->o.gc_why, sizeof((ob)->o.gc_why), __VA_ARGS__); \
	} while (0)

/* Sets o->o.gc and gc_why (see ipk_obj_orphan() in inspect.h). */
static void classify(const ipk_inspect *in, struct obj *o)
{
	const struct ipk_obj *x = &o->o;
	char bbuf[64];
	const char *bl = blind(in, bbuf, sizeof(bbuf));

	if (x->nholders) {
		SET_GC(o, IPK_GC_IN_USE, "held by %d (%s)%s", (int)x->holders[0].pid,
		       x->holders[0].comm, x->nholders > 1 ? " and others" : "");
		return;
	}
	switch (x->kind) {
	case IPK_OBJ_RING:
		if (x->ring_err)
			SET_GC(o, IPK_GC_UNKNOWN, "header unreadable (%s)",
			       ipk_errname(x->ring_err));
		else if (x->ring.alive)
			SET_GC(o, IPK_GC_IN_USE, "publisher %d lives", (int)x->ring.pid);
		else if (x->ring.pid <= 0)
			SET_GC(o, IPK_GC_UNKNOWN, "no publisher recorded");
		else if (x->ring.closed)
			SET_GC(o, IPK_GC_UNKNOWN,
			       "its publisher closed it and kept it on purpose (IPK_RING_KEEP)");
		else if (bl)
			SET_GC(o, IPK_GC_UNKNOWN,
			       "publisher %d dead, but %s: one may hold or map it",
			       (int)x->ring.pid, bl);
		else
			SET_GC(o, IPK_GC_ORPHAN, "publisher %d dead; nobody holds or maps it",
			       (int)x->ring.pid);
		return;
	case IPK_OBJ_SHM:
		if (!x->ipckit)
			break;
		if (o->page_base)
			SET_GC(o, IPK_GC_UNKNOWN,
			       "ring page whose ring name exists but is no ring "
			       "(yet)");
		else if (bl)
			SET_GC(o, IPK_GC_UNKNOWN, "ring page without its ring, but %s", bl);
		else
			SET_GC(o, IPK_GC_ORPHAN, "ring page without its ring; nobody holds it");
		return;
	case IPK_OBJ_SYSV_SHM:
		if (x->count)
			SET_GC(o, IPK_GC_IN_USE, "attached %llu time%s",
			       (unsigned long long)x->count, x->count == 1 ? "" : "s");
		else if (x->cpid <= 0)
			SET_GC(o, IPK_GC_UNKNOWN, "creator not visible from this PID namespace");
		else if (lived_at(in, x->cpid, o->t_ctime))
			SET_GC(o, IPK_GC_UNKNOWN, "not attached, but its creator %d lives",
			       (int)x->cpid);
		else if (x->lpid > 0 && lived_at(in, x->lpid, o->t_lpid))
			SET_GC(o, IPK_GC_UNKNOWN, "not attached, but its last attacher %d lives",
			       (int)x->lpid);
		else
			SET_GC(o, IPK_GC_ORPHAN,
			       "not attached; creator %d and last attacher %d dead", (int)x->cpid,
			       (int)x->lpid);
		return;
	case IPK_OBJ_SYSV_MSG:
		if (x->lpid > 0 && lived_at(in, x->lpid, o->t_lpid))
			SET_GC(o, IPK_GC_IN_USE, "last sender %d lives", (int)x->lpid);
		else if (x->lrpid > 0 && lived_at(in, x->lrpid, o->t_lrpid))
			SET_GC(o, IPK_GC_IN_USE, "last receiver %d lives", (int)x->lrpid);
		else
			SET_GC(o, IPK_GC_UNKNOWN,
			       "the kernel records no creator: a live process may still use it "
			       "(last sender %d, last receiver %d dead or none)",
			       (int)x->lpid, (int)x->lrpid);
		return;
	case IPK_OBJ_SYSV_SEM:
		if (o->waiters)
			SET_GC(o, IPK_GC_IN_USE, "%lu process%s wait on it", o->waiters,
			       o->waiters == 1 ? "" : "es");
		else if (x->lpid > 0 && ipk__pid_exists(x->lpid))
			SET_GC(o, IPK_GC_IN_USE, "last operated on by %d, alive", (int)x->lpid);
		else
			SET_GC(o, IPK_GC_UNKNOWN,
			       "the kernel records no creator: a live process may still use it "
			       "(no live last operator)");
		return;
	case IPK_OBJ_FIFO:
	case IPK_OBJ_MEMFD:
		SET_GC(o, IPK_GC_IN_USE, "held"); /* only found through a holder */
		return;
	case IPK_OBJ_UNIX:
		SET_GC(o, IPK_GC_UNKNOWN, "no holder seen (%s)",
		       bl ? bl
			  : "it may be in flight in a message, or held in another PID "
			    "namespace");
		return;
	default:
		break;
	}
	/* POSIX shm, mq, sem */
	SET_GC(o, IPK_GC_UNKNOWN, "nothing records its creator: it may wait for its next user%s%s",
	       bl ? "; " : "", bl ? bl : "");
}

/* Drops what the caller did not ask for (and ring pages merged into their
 * ring), sorts, points each object at its holders and says what gc may do. */
static void finish(ipk_inspect *in)
{
	size_t k = 0;

	for (size_t i = 0; i < in->n; i++) {
		struct obj *o = &in->objs[i];

		if (o->o.kind >= IPK_OBJ_NKINDS || !want(in, o->o.kind)) {
			free(o->h);
			free(o->p);
			continue;
		}
		in->objs[k++] = *o;
	}
	in->n = k;
	/* qsort() wants a pointer even for nothing to sort */
	if (in->n > 1)
		qsort(in->objs, in->n, sizeof(*in->objs), obj_cmp);
	for (size_t i = 0; i < in->n; i++) {
		struct obj *o = &in->objs[i];

		if (o->nh > 1)
			qsort(o->h, o->nh, sizeof(*o->h), holder_cmp);
		if (o->np > 1)
			qsort(o->p, o->np, sizeof(*o->p), holder_cmp);
		o->o.holders = o->h;
		o->o.nholders = o->nh;
		o->o.peers = o->p;
		o->o.npeers = o->np;
		classify(in, o);
	}
	free(in->keys);
	in->keys = NULL;
	in->nkeys = in->capkeys = in->nsorted = 0;
}

int ipk_inspect_scan(unsigned kinds, ipk_inspect **ret)
{
	const unsigned no_holders = IPK_OBJ_BIT(IPK_OBJ_SYSV_MSG) | IPK_OBJ_BIT(IPK_OBJ_SYSV_SEM);
	ipk_inspect *in;
	int rc = 0;

	IPK_CHECK_ARG(ret && (kinds & ~IPK_OBJ_ALL) == 0);
	in = calloc(1, sizeof(*in));
	if (!in)
		return -ENOMEM;
	in->kinds = kinds ? kinds : IPK_OBJ_ALL;
	check_view(in);
	check_clock(in);
	if (want(in, IPK_OBJ_SYSV_MSG))
		rc = scan_sysv_msg(in);
	if (rc == 0 && want(in, IPK_OBJ_SYSV_SHM))
		rc = scan_sysv_shm(in);
	if (rc == 0 && want(in, IPK_OBJ_SYSV_SEM))
		rc = scan_sysv_sem(in);
	if (rc == 0 && want(in, IPK_OBJ_MQ))
		rc = scan_mqueue(in);
	else if (rc == 0)
		find_mqueue(in);
	if (rc == 0 && (in->kinds & (IPK_OBJ_BIT(IPK_OBJ_SHM) | IPK_OBJ_BIT(IPK_OBJ_SEM) |
				     IPK_OBJ_BIT(IPK_OBJ_RING))))
		rc = scan_devshm(in);
	if (rc == 0 && want(in, IPK_OBJ_UNIX))
		rc = scan_unix(in);
	if (rc == 0 && want(in, IPK_OBJ_UNIX))
		rc = scan_unix_peers(in);
	if (rc == 0) {
		if (in->nkeys > 1)
			qsort(in->keys, in->nkeys, sizeof(*in->keys), key_cmp);
		in->nsorted = in->nkeys;
		if (in->kinds & ~no_holders)
			rc = scan_procs(in);
	}
	if (rc < 0) {
		ipk_inspect_free(in);
		return rc;
	}
	finish(in);
	*ret = in;
	return 0;
}

void ipk_inspect_free(ipk_inspect *in)
{
	if (!in)
		return;
	for (size_t i = 0; i < in->n; i++) {
		free(in->objs[i].h);
		free(in->objs[i].p);
	}
	free(in->objs);
	free(in->keys);
	free(in->denied);
	free(in);
}

size_t ipk_inspect_count(const ipk_inspect *in)
{
	return in ? in->n : 0;
}

const struct ipk_obj *ipk_inspect_obj(const ipk_inspect *in, size_t i)
{
	return in && i < in->n ? &in->objs[i].o : NULL;
}

size_t ipk_inspect_denied(const ipk_inspect *in, const pid_t **pids)
{
	if (!in)
		return 0;
	if (pids)
		*pids = in->denied;
	return in->ndenied;
}

size_t ipk_inspect_procs(const ipk_inspect *in)
{
	return in ? in->nprocs : 0;
}

const char *ipk_inspect_mqueue(const ipk_inspect *in)
{
	return in && in->have_mqueue ? in->mqueue : NULL;
}

/* ---- URLs, orphans, removal --------------------------------------------- */

/* "KEY" (decimal, 0x-hex, may be negative) or "id=N". */
static int parse_sysv(const char *s, bool *by_id, long long *v)
{
	char *end;

	*by_id = !strncmp(s, "id=", 3);
	if (*by_id)
		s += 3;
	if (!*s)
		return -EINVAL;
	errno = 0;
	*v = strtoll(s, &end, 0);
	if (errno || *end)
		return -EINVAL;
	if (!*by_id && (*v < INT32_MIN || *v > UINT32_MAX))
		return -EINVAL;
	if (!*by_id && *v > INT32_MAX)
		*v = (int32_t)(uint32_t)*v; /* 0xdeadbeef: the kernel's signed key */
	return 0;
}

int ipk_inspect_find(const ipk_inspect *in, const char *url, const struct ipk_obj **ret)
{
	static const struct {
		const char *scheme;
		unsigned kinds;
	} schemes[] = {
		{ "shm:", IPK_OBJ_BIT(IPK_OBJ_RING) | IPK_OBJ_BIT(IPK_OBJ_SHM) },
		{ "mq:", IPK_OBJ_BIT(IPK_OBJ_MQ) },
		{ "sem:", IPK_OBJ_BIT(IPK_OBJ_SEM) },
		{ "sysvmq:", IPK_OBJ_BIT(IPK_OBJ_SYSV_MSG) },
		{ "sysvshm:", IPK_OBJ_BIT(IPK_OBJ_SYSV_SHM) },
		{ "sysvsem:", IPK_OBJ_BIT(IPK_OBJ_SYSV_SEM) },
		{ "unix:", IPK_OBJ_BIT(IPK_OBJ_UNIX) },
		{ "unix+dgram:", IPK_OBJ_BIT(IPK_OBJ_UNIX) },
		{ "unix+seqpacket:", IPK_OBJ_BIT(IPK_OBJ_UNIX) },
		{ "fifo:", IPK_OBJ_BIT(IPK_OBJ_FIFO) },
		{ "memfd:", IPK_OBJ_BIT(IPK_OBJ_MEMFD) },
	};
	char name[sizeof(((struct ipk_obj *)0)->name)];
	unsigned kinds = 0;
	bool sysv = false, by_id = false;
	long long v = 0;
	const char *rest = NULL;

	IPK_CHECK_ARG(in && url && ret);
	for (size_t i = 0; i < sizeof(schemes) / sizeof(schemes[0]); i++) {
		size_t n = strlen(schemes[i].scheme);

		if (!strncmp(url, schemes[i].scheme, n)) {
			kinds = schemes[i].kinds;
			rest = url + n;
			sysv = !strncmp(url, "sysv", 4);
			break;
		}
	}
	if (!rest || !*rest)
		return -EINVAL;
	if (sysv) {
		if (parse_sysv(rest, &by_id, &v) < 0)
			return -EINVAL;
	} else if (kinds == IPK_OBJ_BIT(IPK_OBJ_MEMFD)) {
		snprintf(name, sizeof(name), "memfd:%s", rest);
	} else {
		size_t n = strcspn(rest, "?");

		if (n == 0 || n >= sizeof(name))
			return -EINVAL;
		memcpy(name, rest, n);
		name[n] = '\0';
		if (!(kinds & IPK_OBJ_BIT(IPK_OBJ_UNIX)) && name[0] != '/')
			return -EINVAL;
		if ((kinds & IPK_OBJ_BIT(IPK_OBJ_UNIX)) && name[0] != '/' && name[0] != '@')
			return -EINVAL;
	}
	for (size_t i = 0; i < in->n; i++) {
		const struct ipk_obj *o = &in->objs[i].o;

		if (!(kinds & IPK_OBJ_BIT(o->kind)))
			continue;
		if (sysv ? (by_id ? o->id == v : o->key == v && v != 0) : !strcmp(o->name, name)) {
			*ret = o;
			return 0;
		}
	}
	return -ENOENT;
}

int ipk_obj_orphan(const struct ipk_obj *o)
{
	return o && o->gc == IPK_GC_ORPHAN;
}

static int unlink_ring(const char *name)
{
	char part[NAME_MAX + 8];
	int rc = shm_unlink(name) < 0 ? ipk__neg_errno() : 0;

	for (const char *const *p = ipk__ring_parts; *p; p++) {
		snprintf(part, sizeof(part), "%s%s", name, *p);
		(void)shm_unlink(part);
	}
	return rc;
}

/* unlink(@path) if it still is a file of type @type. */
static int unlink_typed(const char *path, mode_t type)
{
	struct stat st;

	if (lstat(path, &st) < 0)
		return ipk__neg_errno();
	if ((st.st_mode & S_IFMT) != type)
		return -ENOENT;
	return unlink(path) < 0 ? ipk__neg_errno() : 0;
}

int ipk_obj_remove(const struct ipk_obj *o)
{
	int rc;

	IPK_CHECK_ARG(o);
	switch (o->kind) {
	case IPK_OBJ_RING:
		return unlink_ring(o->name);
	case IPK_OBJ_SHM:
		return shm_unlink(o->name) < 0 ? ipk__neg_errno() : 0;
	case IPK_OBJ_SEM:
		return sem_unlink(o->name) < 0 ? ipk__neg_errno() : 0;
	case IPK_OBJ_MQ:
		return mq_unlink(o->name) < 0 ? ipk__neg_errno() : 0;
	case IPK_OBJ_SYSV_MSG:
		rc = msgctl((int)o->id, IPC_RMID, NULL);
		break;
	case IPK_OBJ_SYSV_SHM:
		rc = shmctl((int)o->id, IPC_RMID, NULL);
		break;
	case IPK_OBJ_SYSV_SEM:
		rc = semctl((int)o->id, 0, IPC_RMID);
		break;
	case IPK_OBJ_UNIX:
		if (o->name[0] != '/')
			return -EOPNOTSUPP; /* abstract: gone with its last holder */
		return unlink_typed(o->name, S_IFSOCK);
	case IPK_OBJ_FIFO:
		return unlink_typed(o->name, S_IFIFO);
	default:
		return -EOPNOTSUPP;
	}
	if (rc < 0)
		return errno == EINVAL || errno == EIDRM ? -ENOENT : ipk__neg_errno();
	return 0;
}
