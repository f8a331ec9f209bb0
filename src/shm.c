/* SPDX-License-Identifier: MIT */
/*
 * shm.c - shared-memory objects over POSIX shm_open, System V shmget,
 * memfd_create and regular files: create, open, measure, map, seal,
 * remove. POSIX names are made, opened and removed through shmname.c,
 * the ownership layer the ring (ring_*.c) uses for its objects too; this
 * file knows nothing of layouts.
 *
 * Three rules run through it. Sizes are measured (fstat, IPC_STAT) before
 * every map, so a shrunk object is an error and never a SIGBUS. Read-only
 * mappings come from read-only descriptors (or SHM_RDONLY), so the kernel
 * leaves VM_MAYWRITE off and mprotect() cannot upgrade them. Names are
 * removed only by the process that created them, and only while they still
 * refer to the object it created.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/magic.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/shm.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>

#include <ipckit/shm.h>

#include "internal.h"
#include "shmname.h"

/* Newer than some of the headers we build against; the kernel decides. */
#ifndef MFD_NOEXEC_SEAL
#define MFD_NOEXEC_SEAL 0x0008U
#endif
#ifndef F_SEAL_FUTURE_WRITE
#define F_SEAL_FUTURE_WRITE 0x0010
#endif
#ifndef MADV_POPULATE_READ
#define MADV_POPULATE_READ 22
#endif
#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif
#ifndef SHM_HUGETLB
#define SHM_HUGETLB 04000
#endif

#define MEMFD_NAME_MAX 249 /* the kernel's limit on a memfd label */
#define MEMFD_DEFAULT_NAME "ipk-shm"

#define CREATE_FLAGS (IPK_SHM_EXCL | IPK_SHM_KEEP | IPK_SHM_HUGE)
#define MAP_FLAGS (IPK_SHM_RDONLY | IPK_SHM_PREFAULT | IPK_SHM_HUGE | IPK_SHM_MLOCK)
#define ALL_SEALS (IPK_SHM_SEAL_SIZE | IPK_SHM_SEAL_FUTURE_WRITE | IPK_SHM_SEAL_SEAL)

struct ipk_shm {
	enum ipk_shm_kind kind;
	int fd;      /* POSIX, MEMFD, FILE; -1 for SYSV */
	int shmid;   /* SYSV; -1 otherwise */
	key_t key;   /* SYSV: the key it was created or found under */
	bool rdonly; /* the handle's descriptor (or access) is read-only */
	bool huge;   /* backed by reserved huge pages (hugetlbfs) */
	size_t size; /* measured at create/open; every map checks it again */
	void *base;  /* the one mapping, NULL if none */
	enum ipk_shm_pages pages;
	/* what ipk_shm_free() removes: only in the creating process */
	bool created;
	bool keep;
	pid_t creator;
	dev_t dev; /* POSIX, FILE: the inode its name must still lead to */
	ino_t ino;
	char name[PATH_MAX]; /* POSIX name or FILE path */
};

static int check_ref(const struct ipk_shm_ref *ref, bool create)
{
	const char *n = ref->name;

	switch (ref->kind) {
	case IPK_SHM_POSIX:
		if (!n || n[0] != '/' || n[1] == '\0' || strchr(n + 1, '/'))
			return -EINVAL;
		if (strcmp(n, "/.") == 0 || strcmp(n, "/..") == 0)
			return -EINVAL;
		if (strlen(n + 1) >= NAME_MAX) /* glibc's limit */
			return -ENAMETOOLONG;
		return 0;
	case IPK_SHM_FILE:
		if (!n || n[0] == '\0')
			return -EINVAL;
		return strlen(n) >= PATH_MAX ? -ENAMETOOLONG : 0;
	case IPK_SHM_MEMFD:
		if (!create) /* anonymous: ipk_shm_open_fd() */
			return -EINVAL;
		return n && strlen(n) > MEMFD_NAME_MAX ? -EINVAL : 0;
	case IPK_SHM_SYSV:
		if (!create && ref->key == IPC_PRIVATE && ref->id < 0)
			return -EINVAL;
		return 0;
	}
	return -EINVAL;
}

static ipk_shm *shm_new(enum ipk_shm_kind kind)
{
	ipk_shm *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->kind = kind;
	s->fd = -1;
	s->shmid = -1;
	return s;
}

/* The object behind an fd: a regular file (shm and memfd objects are) no
 * smaller than @want, nor empty, nor larger than we can map. */
static int measure_fd(ipk_shm *s, size_t want)
{
	struct statfs sfs;
	struct stat st;

	if (fstat(s->fd, &st) < 0)
		return ipk__neg_errno();
	if (!S_ISREG(st.st_mode))
		return -EINVAL;
	if ((uint64_t)st.st_size > (uint64_t)PTRDIFF_MAX)
		return -EFBIG;
	if (st.st_size == 0 || (uint64_t)st.st_size < want)
		return -EBADMSG;
	s->size = (size_t)st.st_size;
	s->dev = st.st_dev;
	s->ino = st.st_ino;
	if (fstatfs(s->fd, &sfs) == 0 && sfs.f_type == HUGETLBFS_MAGIC)
		s->huge = true;
	return 0;
}

static int measure_sysv(ipk_shm *s, size_t want)
{
	struct shmid_ds ds;

	if (shmctl(s->shmid, IPC_STAT, &ds) < 0)
		return errno == EINVAL || errno == EIDRM ? -ENOENT : ipk__neg_errno();
	if (ds.shm_perm.mode & SHM_DEST)
		return -ENOENT; /* removed, kept alive only by attachments */
	if (ds.shm_segsz == 0 || ds.shm_segsz < want)
		return -EBADMSG;
	s->size = ds.shm_segsz;
	s->key = ds.shm_perm.__key;
	return 0;
}

/* Open what is at @name, never waiting on it (a FIFO opens at once and is
 * then refused as not a regular file, -EINVAL). POSIX names never follow
 * a symbolic link (-EINVAL too); a FILE path may, as open(2) does. */
static int open_named(ipk_shm *s, const char *name, int oflags)
{
	struct stat st;
	int fd;

	if (s->kind == IPK_SHM_POSIX) {
		fd = ipk__shm_open(name, oflags, false, 0, &st);
		return fd == -EPROTO ? -EINVAL : fd;
	}
	fd = open(name, oflags | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return errno == ENXIO ? -EINVAL : ipk__neg_errno(); /* a socket */
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || fcntl(fd, F_SETFL, oflags) < 0) {
		int r = S_ISREG(st.st_mode) ? ipk__neg_errno() : -EINVAL;

		ipk__close(fd);
		return r;
	}
	return fd;
}

/* An existing object a creator may adopt: a regular file of ours, open to
 * others no more than @mode (ipk__owner_check()); never a symbolic link.
 * Return: 0 (s->fd open and measured); -ENOENT; -EEXIST (not a regular
 * file); -EPERM; -errno. */
static int adopt_named(ipk_shm *s, const char *name, size_t size, mode_t mode)
{
	struct stat st;
	int fd, r;

	if (s->kind == IPK_SHM_POSIX) {
		fd = ipk__shm_open(name, O_RDWR, true, mode, &st);
		if (fd < 0)
			return fd == -EPROTO ? -EEXIST : fd;
	} else {
		fd = open(name, O_RDWR | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
		if (fd < 0)
			return errno == ELOOP || errno == ENXIO || errno == EISDIR
				       ? -EEXIST
				       : ipk__neg_errno();
		if (fstat(fd, &st) < 0)
			r = ipk__neg_errno();
		else if (!S_ISREG(st.st_mode))
			r = -EEXIST;
		else if ((r = ipk__owner_check(st.st_uid, st.st_mode, mode)) == 0 &&
			 fcntl(fd, F_SETFL, O_RDWR) < 0)
			r = ipk__neg_errno();
		if (r < 0) {
			ipk__close(fd);
			return r;
		}
	}
	s->fd = fd;
	return measure_fd(s, size); /* not ours to remove: created stays false */
}

/*
 * POSIX and FILE: adopt what is there (without IPK_SHM_EXCL), or create it.
 * A POSIX object is made without a name, sized and allocated (a full tmpfs
 * is -ENOSPC here, not SIGBUS later), then linked: nobody ever opens it
 * half made. A FILE is created O_EXCL, which never follows a link.
 */
static int create_named(ipk_shm *s, const char *name, size_t size, mode_t mode, unsigned flags)
{
	struct ipk__shm_id id;
	struct stat st;

	for (int tries = 0; tries < 8; tries++) {
		int r = flags & IPK_SHM_EXCL ? -ENOENT : adopt_named(s, name, size, mode);

		if (r != -ENOENT)
			return r;
		if (s->kind == IPK_SHM_POSIX) {
			s->fd = ipk__shm_new(size, mode, false);
			if (s->fd < 0) {
				r = s->fd;
				s->fd = -1;
				return r;
			}
			r = ipk__shm_link(s->fd, name, &id);
			if (r == 0) {
				s->dev = id.dev;
				s->ino = id.ino;
				s->created = true;
				s->size = size;
				return 0;
			}
			ipk__close(s->fd);
			s->fd = -1;
		} else {
			s->fd = open(name, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOCTTY, mode);
			if (s->fd >= 0)
				break;
			r = ipk__neg_errno();
		}
		if (r != -EEXIST || (flags & IPK_SHM_EXCL))
			return r;
	}
	if (s->fd < 0)
		return -EEXIST;
	if (fstat(s->fd, &st) < 0)
		return ipk__neg_errno();
	s->dev = st.st_dev;
	s->ino = st.st_ino;
	s->created = true; /* from here the unwind removes it */
	if (fchmod(s->fd, mode) < 0 || ftruncate(s->fd, (off_t)size) < 0)
		return ipk__neg_errno();
	s->size = size;
	return 0;
}

static int new_memfd(const char *name, unsigned extra)
{
	unsigned fl = MFD_CLOEXEC | MFD_ALLOW_SEALING | extra;
	int fd = memfd_create(name, fl | MFD_NOEXEC_SEAL);

	if (fd < 0 && errno == EINVAL)
		fd = memfd_create(name, fl); /* before Linux 6.3 */
	return fd;
}

/* A memfd of reserved huge pages, only if they are there: the reservation
 * is made by the first shared mmap(), so try one. */
static int create_memfd_huge(ipk_shm *s, const char *name, size_t *size)
{
	struct statfs sfs;
	size_t hp, sz;
	void *p;

	s->fd = new_memfd(name, MFD_HUGETLB);
	if (s->fd < 0)
		return ipk__neg_errno();
	if (fstatfs(s->fd, &sfs) < 0 || sfs.f_bsize <= 0)
		goto fail;
	hp = (size_t)sfs.f_bsize;
	if (*size > PTRDIFF_MAX - hp)
		goto fail;
	sz = (*size + hp - 1) / hp * hp;
	if (ftruncate(s->fd, (off_t)sz) < 0)
		goto fail;
	p = mmap(NULL, sz, PROT_READ, MAP_SHARED, s->fd, 0);
	if (p == MAP_FAILED)
		goto fail;
	(void)munmap(p, sz);
	s->huge = true;
	*size = sz;
	return 0;

fail:
	ipk__close(s->fd);
	s->fd = -1;
	return -ENOMEM;
}

static int create_memfd(ipk_shm *s, const char *name, size_t size, unsigned flags)
{
	if (!name)
		name = MEMFD_DEFAULT_NAME;
	if (!(flags & IPK_SHM_HUGE) || create_memfd_huge(s, name, &size) < 0) {
		s->fd = new_memfd(name, 0);
		if (s->fd < 0)
			return ipk__neg_errno();
		if (ftruncate(s->fd, (off_t)size) < 0)
			return ipk__neg_errno();
	}
	if (fcntl(s->fd, F_ADD_SEALS, F_SEAL_SHRINK) < 0)
		return ipk__neg_errno();
	s->size = size;
	return 0;
}

static int create_sysv(ipk_shm *s, key_t key, size_t size, mode_t mode, unsigned flags)
{
	int shmflg = IPC_CREAT | IPC_EXCL | (int)(mode & 0777);
	struct shmid_ds ds;

	s->shmid = -1;
	if (flags & IPK_SHM_HUGE) {
		s->shmid = shmget(key, size, shmflg | SHM_HUGETLB);
		/* no free huge pages (ENOMEM), not allowed (EPERM): fall back */
		s->huge = s->shmid >= 0;
		if (s->shmid < 0 && errno == EEXIST && (flags & IPK_SHM_EXCL))
			return -EEXIST;
	}
	if (s->shmid < 0)
		s->shmid = shmget(key, size, shmflg);
	if (s->shmid < 0) {
		int r = ipk__neg_errno();

		if (r != -EEXIST || (flags & IPK_SHM_EXCL))
			return r;
		s->shmid = shmget(key, 0, 0600); /* not created here: as it is */
		if (s->shmid < 0)
			return ipk__neg_errno();
		if (shmctl(s->shmid, IPC_STAT, &ds) < 0)
			return ipk__neg_errno();
		/* only one we made, and open to others no more than @mode */
		if (ds.shm_perm.cuid != geteuid())
			return -EPERM;
		r = ipk__owner_check(ds.shm_perm.uid, ds.shm_perm.mode, mode);
		return r < 0 ? r : measure_sysv(s, size);
	}
	s->created = true;
	s->creator = getpid();
	s->key = key;
	s->size = size;
	if (shmctl(s->shmid, IPC_STAT, &ds) == 0)
		s->size = ds.shm_segsz;
	return 0;
}

IPK_API int ipk_shm_create(const struct ipk_shm_ref *ref, size_t size, mode_t mode, unsigned flags,
			   ipk_shm **ret)
{
	ipk_shm *s;
	int r;

	IPK_CHECK_ARG(ref && ret && size > 0 && size <= PTRDIFF_MAX);
	IPK_CHECK_ARG(!(flags & ~CREATE_FLAGS) && !(mode & ~(mode_t)07777));
	r = check_ref(ref, true);
	if (r < 0)
		return r;
	if (mode == 0)
		mode = 0600;
	s = shm_new(ref->kind);
	if (!s)
		return -ENOMEM;
	s->keep = flags & IPK_SHM_KEEP;
	s->creator = getpid();
	if (ref->kind == IPK_SHM_POSIX || ref->kind == IPK_SHM_FILE)
		memcpy(s->name, ref->name, strlen(ref->name) + 1);
	switch (ref->kind) {
	case IPK_SHM_POSIX:
	case IPK_SHM_FILE:
		r = create_named(s, ref->name, size, mode, flags);
		break;
	case IPK_SHM_MEMFD:
		r = create_memfd(s, ref->name, size, flags);
		break;
	case IPK_SHM_SYSV:
		r = create_sysv(s, ref->key, size, mode, flags);
		break;
	}
	if (r < 0)
		goto fail;
	*ret = s;
	return 0;

fail:
	ipk_shm_free(s);
	return r;
}

IPK_API int ipk_shm_open(const struct ipk_shm_ref *ref, size_t size, unsigned flags, ipk_shm **ret)
{
	bool rdonly = flags & IPK_SHM_RDONLY;
	ipk_shm *s;
	int r;

	IPK_CHECK_ARG(ref && ret && !(flags & ~(unsigned)IPK_SHM_RDONLY));
	r = check_ref(ref, false);
	if (r < 0)
		return r;
	s = shm_new(ref->kind);
	if (!s)
		return -ENOMEM;
	s->rdonly = rdonly;
	if (ref->kind == IPK_SHM_SYSV) {
		if (ref->key == IPC_PRIVATE)
			s->shmid = ref->id; /* IPC_STAT below checks read access */
		else
			s->shmid = shmget(ref->key, 0, rdonly ? 0400 : 0600);
		if (s->shmid < 0)
			goto fail_errno;
		r = measure_sysv(s, size);
	} else {
		memcpy(s->name, ref->name, strlen(ref->name) + 1);
		s->fd = open_named(s, ref->name, rdonly ? O_RDONLY : O_RDWR);
		if (s->fd < 0) {
			r = s->fd;
			s->fd = -1;
			goto fail;
		}
		r = measure_fd(s, size);
	}
	if (r < 0)
		goto fail;
	*ret = s;
	return 0;

fail_errno:
	r = ipk__neg_errno();
fail:
	ipk_shm_free(s);
	return r;
}

static bool is_memfd(int fd)
{
	char path[64], link[16];
	ssize_t n;

	(void)snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	n = readlink(path, link, sizeof(link));
	return n >= 7 && memcmp(link, "/memfd:", 7) == 0;
}

IPK_API int ipk_shm_open_fd(int fd, size_t size, unsigned flags, ipk_shm **ret)
{
	bool rdonly = flags & IPK_SHM_RDONLY;
	ipk_shm *s;
	int fl, r;

	IPK_CHECK_ARG(fd >= 0 && ret && !(flags & ~(unsigned)IPK_SHM_RDONLY));
	fl = fcntl(fd, F_GETFL);
	if (fl < 0)
		return ipk__neg_errno();
	if (!rdonly && (fl & O_ACCMODE) != O_RDWR)
		return -EACCES;
	s = shm_new(is_memfd(fd) ? IPK_SHM_MEMFD : IPK_SHM_FILE);
	if (!s)
		return -ENOMEM;
	s->rdonly = rdonly;
	if (rdonly) {
		s->fd = ipk__reopen(fd, O_RDONLY);
		if (s->fd < 0) {
			r = s->fd;
			goto fail;
		}
	} else {
		s->fd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
		if (s->fd < 0) {
			r = ipk__neg_errno();
			goto fail;
		}
	}
	r = measure_fd(s, size);
	if (r < 0)
		goto fail;
	*ret = s;
	return 0;

fail:
	ipk_shm_free(s);
	return r;
}

/* Fault in every page now: MADV_POPULATE_* (Linux 5.14), else by touch. */
static void populate(void *base, size_t size, bool rw)
{
	long pg = sysconf(_SC_PAGESIZE);

	if (madvise(base, size, rw ? MADV_POPULATE_WRITE : MADV_POPULATE_READ) == 0)
		return;
	for (size_t off = 0; off < size; off += (size_t)pg)
		(void)((volatile const char *)base)[off];
}

static int map_fd(ipk_shm *s, bool rw, int mflags, void **base)
{
	struct stat st;
	int fd = s->fd;
	void *p;

	if (fstat(s->fd, &st) < 0)
		return ipk__neg_errno();
	if ((uint64_t)st.st_size < s->size)
		return -EBADMSG; /* shrunk since open: would SIGBUS past the end */
	if (!rw && !s->rdonly) {
		fd = ipk__reopen(s->fd, O_RDONLY);
		if (fd < 0)
			return fd;
	}
	p = mmap(NULL, s->size, rw ? PROT_READ | PROT_WRITE : PROT_READ, MAP_SHARED | mflags, fd,
		 0);
	if (p == MAP_FAILED) {
		int r = ipk__neg_errno();

		if (fd != s->fd)
			ipk__close(fd);
		return r;
	}
	if (fd != s->fd)
		ipk__close(fd); /* the mapping holds the file */
	*base = p;
	return 0;
}

static int map_sysv(ipk_shm *s, bool rw, void **base)
{
	struct shmid_ds ds;
	void *p;

	if (shmctl(s->shmid, IPC_STAT, &ds) < 0)
		return errno == EINVAL || errno == EIDRM ? -ENOENT : ipk__neg_errno();
	if (ds.shm_segsz < s->size)
		return -EBADMSG;
	p = shmat(s->shmid, NULL, rw ? 0 : SHM_RDONLY);
	if (p == (void *)-1)
		return errno == EINVAL || errno == EIDRM ? -ENOENT : ipk__neg_errno();
	*base = p;
	return 0;
}

IPK_API int ipk_shm_map(ipk_shm *shm, unsigned flags, void **ret)
{
	bool rw = !(flags & IPK_SHM_RDONLY);
	bool prefault = flags & IPK_SHM_PREFAULT;
	bool advise;
	int r;

	IPK_CHECK_ARG(shm && ret && !(flags & ~MAP_FLAGS));
	advise = (flags & IPK_SHM_HUGE) && !shm->huge;
	if (shm->base)
		return -EBUSY;
	if (rw && shm->rdonly)
		return -EACCES;
	if (shm->kind == IPK_SHM_SYSV) {
		r = map_sysv(shm, rw, &shm->base);
	} else {
		/* MAP_POPULATE would fault before the advice: populate after */
		int mflags = prefault && !advise ? MAP_POPULATE : 0;

		r = map_fd(shm, rw, mflags, &shm->base);
		if (mflags)
			prefault = false;
	}
	if (r < 0) {
		shm->base = NULL;
		return r;
	}
	shm->pages = IPK_SHM_PAGES_NORMAL;
	if (shm->huge)
		shm->pages = IPK_SHM_PAGES_HUGETLB;
	else if (advise && madvise(shm->base, shm->size, MADV_HUGEPAGE) == 0)
		shm->pages = IPK_SHM_PAGES_THP; /* EINVAL: kernel without THP */
	if (prefault && !(flags & IPK_SHM_MLOCK))
		populate(shm->base, shm->size, rw);
	/* The raw syscall: sanitizer runtimes turn mlock() into a no-op that
	 * always succeeds, which would hide RLIMIT_MEMLOCK from tests. */
	if ((flags & IPK_SHM_MLOCK) && syscall(SYS_mlock, shm->base, shm->size) < 0) {
		r = ipk__neg_errno(); /* RLIMIT_MEMLOCK: ipk_shm_limit_hint() */
		(void)ipk_shm_unmap(shm);
		return r;
	}
	*ret = shm->base;
	return 0;
}

IPK_API int ipk_shm_unmap(ipk_shm *shm)
{
	IPK_CHECK_ARG(shm);
	if (!shm->base)
		return 0;
	if (shm->kind == IPK_SHM_SYSV)
		(void)shmdt(shm->base);
	else
		(void)munmap(shm->base, shm->size);
	shm->base = NULL;
	shm->pages = IPK_SHM_PAGES_NONE;
	return 0;
}

IPK_API void *ipk_shm_addr(const ipk_shm *shm)
{
	return shm ? shm->base : NULL;
}

IPK_API size_t ipk_shm_size(const ipk_shm *shm)
{
	return shm ? shm->size : 0;
}

IPK_API int ipk_shm_kind(const ipk_shm *shm)
{
	IPK_CHECK_ARG(shm);
	return (int)shm->kind;
}

IPK_API int ipk_shm_fd(const ipk_shm *shm)
{
	IPK_CHECK_ARG(shm);
	return shm->kind == IPK_SHM_SYSV ? -EOPNOTSUPP : shm->fd;
}

IPK_API int ipk_shm_sysv_id(const ipk_shm *shm)
{
	IPK_CHECK_ARG(shm);
	return shm->kind == IPK_SHM_SYSV ? shm->shmid : -EOPNOTSUPP;
}

IPK_API enum ipk_shm_pages ipk_shm_pages(const ipk_shm *shm)
{
	return shm ? shm->pages : IPK_SHM_PAGES_NONE;
}

IPK_API int ipk_shm_seal(ipk_shm *shm, unsigned seals)
{
	int k = 0;

	IPK_CHECK_ARG(shm && seals && !(seals & ~ALL_SEALS));
	if (shm->kind != IPK_SHM_MEMFD)
		return -EOPNOTSUPP;
	if (seals & IPK_SHM_SEAL_SIZE)
		k |= F_SEAL_SHRINK | F_SEAL_GROW;
	if (seals & IPK_SHM_SEAL_FUTURE_WRITE)
		k |= F_SEAL_FUTURE_WRITE;
	if (seals & IPK_SHM_SEAL_SEAL)
		k |= F_SEAL_SEAL;
	if (fcntl(shm->fd, F_ADD_SEALS, k) < 0) {
		/* unknown seal bits are EINVAL, and nothing was applied */
		if (errno == EINVAL && (seals & IPK_SHM_SEAL_FUTURE_WRITE))
			return -EOPNOTSUPP;
		return ipk__neg_errno();
	}
	return 0;
}

/* Does @path still lead to the inode this handle has open? */
static int still_ours(const ipk_shm *s, const char *path)
{
	struct stat st;

	if (lstat(path, &st) < 0)
		return ipk__neg_errno();
	return st.st_dev == s->dev && st.st_ino == s->ino ? 0 : -ESTALE;
}

static int remove_name(ipk_shm *s, bool only_creator)
{
	struct ipk__shm_id id = { s->dev, s->ino };
	struct shmid_ds ds;
	int r = 0;

	if (s->kind != IPK_SHM_SYSV && s->name[0] == '\0')
		return 0; /* memfd, or a handle from ipk_shm_open_fd(): no name */
	switch (s->kind) {
	case IPK_SHM_MEMFD:
		return 0;
	case IPK_SHM_POSIX:
		r = ipk__shm_unlink(s->name, &id);
		break;
	case IPK_SHM_FILE:
		r = still_ours(s, s->name);
		if (r == 0 && unlink(s->name) < 0)
			r = ipk__neg_errno();
		break;
	case IPK_SHM_SYSV:
		if (shmctl(s->shmid, IPC_STAT, &ds) < 0)
			return errno == EINVAL || errno == EIDRM ? -ENOENT : ipk__neg_errno();
		if (ds.shm_perm.mode & SHM_DEST)
			return -ENOENT;
		if (ds.shm_perm.__key != s->key || (only_creator && ds.shm_cpid != s->creator))
			return -ESTALE;
		if (shmctl(s->shmid, IPC_RMID, NULL) < 0)
			r = ipk__neg_errno();
		break;
	}
	return r;
}

IPK_API int ipk_shm_remove(ipk_shm *shm)
{
	IPK_CHECK_ARG(shm);
	shm->created = false; /* removed now, or someone else's: never at free */
	return remove_name(shm, false);
}

IPK_API void ipk_shm_free(ipk_shm *shm)
{
	if (!shm)
		return;
	(void)ipk_shm_unmap(shm);
	if (shm->created && !shm->keep && shm->creator == getpid())
		(void)remove_name(shm, true);
	ipk__close(shm->fd);
	free(shm);
}

#define H_MEMLOCK                                                                             \
	"RLIMIT_MEMLOCK, bytes of memory locked per process (ulimit -l; CAP_IPC_LOCK is not " \
	"limited)"
#define H_SHMMNI                                                                                  \
	"kernel.shmmni, System V segments in the system, or kernel.shmall, pages of all of them " \
	"(sysctl -w kernel.shmmni=N kernel.shmall=N)"
#define H_SHMMAX "kernel.shmmax, bytes in one System V segment (sysctl -w kernel.shmmax=N)"
#define H_TMPFS \
	"the size of the tmpfs at " IPK__SHM_DIR " (mount -o remount,size=N " IPK__SHM_DIR ")"
#define H_NOFILE "RLIMIT_NOFILE, open descriptors per process (ulimit -n)"

IPK_API const char *ipk_shm_limit_hint(int err, enum ipk_shm_kind kind, unsigned flags)
{
	if (err < 0)
		err = -err;
	if ((flags & IPK_SHM_MLOCK) && (err == ENOMEM || err == EPERM || err == EAGAIN))
		return H_MEMLOCK;
	if (err == EMFILE)
		return H_NOFILE;
	if (kind == IPK_SHM_SYSV && err == ENOSPC)
		return H_SHMMNI;
	if (kind == IPK_SHM_SYSV && err == EINVAL)
		return H_SHMMAX;
	if (kind == IPK_SHM_POSIX && err == ENOSPC)
		return H_TMPFS;
	return NULL;
}
