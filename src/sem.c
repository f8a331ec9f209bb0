/* SPDX-License-Identifier: MIT */
/*
 * sem.c - counting semaphores: POSIX named (sem_open), POSIX unnamed in
 * shared memory (sem_init, pshared=1) and System V sets (semget/semop),
 * behind one handle.
 *
 * The three differ most where a process dies. A POSIX semaphore is a word
 * in shared memory that the kernel knows nothing about, so a killed holder
 * leaves it decremented. A System V set lives in the kernel, which keeps a
 * per-process adjustment for every SEM_UNDO operation and applies it when
 * the process exits; with IPK_SEM_UNDO on the handle every operation is
 * such an operation. That is what the crash test checks.
 *
 * A new System V set is created with all values 0 and then set with
 * SETALL, so there is a moment when another process can find it not yet
 * initialised. The classic cure (Stevens, UNP vol. 2): sem_otime stays 0
 * until the first semop(), so the creator does a no-op semop() after
 * SETALL and openers wait until sem_otime is set.
 *
 * What it leaves to others: the shared memory of unnamed semaphores
 * (ipk_shm, or the caller's own mapping), and what the semaphores protect.
 */
#include <fcntl.h>
#include <limits.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/sem.h>
#include <sys/stat.h>

#include <ipckit/sem.h>

#include "internal.h"

#define SEM_DIR "/dev/shm/sem."     /* where glibc's sem_open() keeps "/name" */
#define SEM_NAME_MAX (NAME_MAX - 4) /* bytes after '/': NAME_MAX minus "sem." */
#define SEMVMX_FIXED 32767          /* the kernel's SEMVMX; not a sysctl */

#define UNNAMED_MAGIC 0x69706b73u /* "ipks" */
#define UNNAMED_VERSION 1u

#define CREATE_FLAGS (IPK_SEM_EXCL | IPK_SEM_KEEP | IPK_SEM_UNDO)
#define OPEN_FLAGS IPK_SEM_UNDO

#define OPS_ON_STACK 16      /* ipk_sem_op() allocates only above this */
#define OPEN_WAIT_NS IPK_SEC /* how long an opener waits for SETALL */

/* An unnamed semaphore's bytes in shared memory. */
struct unnamed {
	/* Release store by create after sem_init(); acquire load by open:
	 * whoever sees the magic sees an initialised semaphore. */
	_Atomic uint32_t magic;
	uint32_t version;
	sem_t sem;
};
_Static_assert(sizeof(struct unnamed) <= IPK_SEM_SIZE, "IPK_SEM_SIZE too small");
_Static_assert(_Alignof(struct unnamed) <= IPK_SEM_ALIGN, "IPK_SEM_ALIGN too small");

struct ipk_sem {
	enum ipk_sem_kind kind;
	sem_t *sem;        /* POSIX, UNNAMED; NULL for SYSV */
	struct unnamed *u; /* UNNAMED */
	int semid;         /* SYSV; -1 otherwise */
	unsigned nsems;    /* SYSV; 1 otherwise */
	short undo;        /* SEM_UNDO or 0, for every SYSV operation */
	bool created;      /* this handle made it: free removes it ... */
	bool keep;         /* ... unless IPK_SEM_KEEP */
	bool removed;      /* ipk_sem_remove() ran: free removes nothing */
	pid_t creator;     /* a forked child's copy removes nothing */
	/* POSIX: the file behind the name, to remove only our own */
	char path[sizeof(SEM_DIR) + NAME_MAX];
	dev_t dev;
	ino_t ino;
};

/* ---- references ---------------------------------------------------- */

static int check_name(const char *name)
{
	size_t n;

	IPK_CHECK_ARG(name && name[0] == '/');
	n = strlen(name + 1);
	IPK_CHECK_ARG(n > 0 && !strchr(name + 1, '/'));
	IPK_CHECK_ARG(strcmp(name + 1, ".") != 0 && strcmp(name + 1, "..") != 0);
	if (n > SEM_NAME_MAX)
		return -ENAMETOOLONG;
	return 0;
}

static int check_ref(const struct ipk_sem_ref *ref)
{
	IPK_CHECK_ARG(ref);
	switch (ref->kind) {
	case IPK_SEM_POSIX:
		return check_name(ref->name);
	case IPK_SEM_UNNAMED:
		IPK_CHECK_ARG(ref->mem && (uintptr_t)ref->mem % IPK_SEM_ALIGN == 0);
		return 0;
	case IPK_SEM_SYSV:
		IPK_CHECK_ARG(ref->nsems <= USHRT_MAX);
		return 0;
	}
	return -EINVAL;
}

static ipk_sem *sem_new(enum ipk_sem_kind kind)
{
	ipk_sem *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->kind = kind;
	s->semid = -1;
	s->nsems = 1;
	s->creator = getpid();
	return s;
}

/* ---- POSIX named --------------------------------------------------- */

/* Remember which file the name refers to now. */
static int note_file(ipk_sem *s, const char *name)
{
	struct stat st;

	snprintf(s->path, sizeof(s->path), "%s%s", SEM_DIR, name + 1);
	if (lstat(s->path, &st) < 0)
		return ipk__neg_errno();
	s->dev = st.st_dev;
	s->ino = st.st_ino;
	return 0;
}

static int posix_open(ipk_sem *s, const struct ipk_sem_ref *ref, bool create, unsigned value,
		      mode_t mode, bool excl)
{
	int r;

	if (create) {
		/* O_EXCL first, so we know whether we created it. */
		s->sem = sem_open(ref->name, O_CREAT | O_EXCL, mode, value);
		if (s->sem != SEM_FAILED) {
			s->created = true;
			r = note_file(s, ref->name);
			if (r < 0)
				return r;
			/* sem_open() applies the umask; make @mode exact. */
			if (chmod(s->path, mode) < 0)
				return ipk__neg_errno();
			return 0;
		}
		if (errno != EEXIST || excl)
			return ipk__neg_errno();
	}
	s->sem = sem_open(ref->name, 0);
	if (s->sem == SEM_FAILED)
		return ipk__neg_errno();
	return note_file(s, ref->name);
}

/* Unlink the name if it still refers to our semaphore. */
static int posix_remove(ipk_sem *s)
{
	struct stat st;

	if (lstat(s->path, &st) < 0)
		return ipk__neg_errno();
	if (st.st_dev != s->dev || st.st_ino != s->ino)
		return -ESTALE;
	if (unlink(s->path) < 0)
		return ipk__neg_errno();
	return 0;
}

/* ---- System V ------------------------------------------------------ */

static int sysv_stat(int semid, struct semid_ds *ds)
{
	union {
		int val;
		struct semid_ds *buf;
		unsigned short *array;
	} arg = { .buf = ds };

	if (semctl(semid, 0, IPC_STAT, arg) < 0)
		return errno == EINVAL ? -ENOENT : ipk__neg_errno();
	return 0;
}

/* Wait (a second at most) until the creator's first semop() marks the
 * set initialised, then check its size. */
static int sysv_await_init(ipk_sem *s, unsigned want)
{
	int64_t deadline = ipk__deadline(OPEN_WAIT_NS);
	struct semid_ds ds;
	int r;

	for (;;) {
		r = sysv_stat(s->semid, &ds);
		if (r < 0)
			return r;
		if (ds.sem_otime != 0)
			break;
		r = ipk__sleep_until(deadline, IPK_MSEC);
		if (r < 0)
			return -EAGAIN;
	}
	if (ds.sem_nsems < want)
		return -EINVAL;
	s->nsems = (unsigned)ds.sem_nsems;
	return 0;
}

static int sysv_init(ipk_sem *s, unsigned value)
{
	unsigned short *vals;
	struct sembuf touch[2] = {
		{ .sem_num = 0, .sem_op = 1, .sem_flg = IPC_NOWAIT },
		{ .sem_num = 0, .sem_op = -1, .sem_flg = IPC_NOWAIT },
	};
	union {
		int val;
		struct semid_ds *buf;
		unsigned short *array;
	} arg;

	vals = malloc(s->nsems * sizeof(*vals));
	if (!vals)
		return -ENOMEM;
	for (unsigned i = 0; i < s->nsems; i++)
		vals[i] = (unsigned short)value;
	arg.array = vals;
	if (semctl(s->semid, 0, SETALL, arg) < 0) {
		int r = ipk__neg_errno();

		free(vals);
		return r;
	}
	free(vals);
	/* A net-zero semop() sets sem_otime: openers wait for it. At
	 * SEMVMX go down first, so neither step leaves the range. */
	if (value == SEMVMX_FIXED) {
		touch[0].sem_op = -1;
		touch[1].sem_op = 1;
	}
	if (semop(s->semid, touch, 2) < 0)
		return ipk__neg_errno();
	return 0;
}

static int sysv_open(ipk_sem *s, const struct ipk_sem_ref *ref, bool create, unsigned value,
		     mode_t mode, bool excl)
{
	unsigned nsems = ref->nsems ? ref->nsems : 1;

	if (create) {
		int flg = IPC_CREAT | IPC_EXCL | (int)(mode & 0777);

		s->semid = semget(ref->key, (int)nsems, flg);
		if (s->semid >= 0) {
			s->created = true;
			s->nsems = nsems;
			return sysv_init(s, value);
		}
		if (errno != EEXIST || excl)
			return ipk__neg_errno();
	}
	if (ref->key == IPC_PRIVATE) {
		IPK_CHECK_ARG(ref->id >= 0);
		s->semid = ref->id;
	} else {
		s->semid = semget(ref->key, 0, 0);
		if (s->semid < 0)
			return ipk__neg_errno();
	}
	return sysv_await_init(s, ref->nsems);
}

/*
 * One semop() or semtimedop() until it applies, the deadline passes or
 * something fails. semtimedop() reports its timeout as EAGAIN, so EAGAIN
 * is -ETIMEDOUT when the deadline has passed and a retry otherwise.
 */
static int sysv_apply(ipk_sem *s, struct sembuf *ops, size_t n, int64_t deadline)
{
	for (size_t i = 0; i < n; i++)
		ops[i].sem_flg = (short)(s->undo | (deadline == IPK__NOWAIT ? IPC_NOWAIT : 0));
	for (;;) {
		int r;

		if (deadline == IPK__NOWAIT || deadline == IPK__NEVER) {
			r = semop(s->semid, ops, n);
		} else {
			int64_t left = deadline - ipk__now_ns();
			struct timespec ts;

			if (left <= 0)
				return -ETIMEDOUT;
			ts.tv_sec = (time_t)(left / IPK_SEC);
			ts.tv_nsec = (long)(left % IPK_SEC);
			r = semtimedop(s->semid, ops, n, &ts);
		}
		if (r == 0)
			return 0;
		switch (errno) {
		case EINTR:
			continue;
		case EAGAIN:
			if (deadline == IPK__NOWAIT)
				return -EAGAIN;
			continue; /* timed out, or woken early: the loop decides */
		case ERANGE:
			return -EOVERFLOW; /* above SEMVMX */
		case EINVAL:
			return -EIDRM; /* the id is gone: removed meanwhile */
		default:
			return ipk__neg_errno();
		}
	}
}

/* ---- create, open, free -------------------------------------------- */

static int unnamed_open(ipk_sem *s, const struct ipk_sem_ref *ref, bool create, unsigned value)
{
	struct unnamed *u = ref->mem;

	if (create) {
		memset(u, 0, IPK_SEM_SIZE);
		if (sem_init(&u->sem, 1, value) < 0)
			return ipk__neg_errno();
		u->version = UNNAMED_VERSION;
		/* Release: pairs with the acquire below, in other processes. */
		atomic_store_explicit(&u->magic, UNNAMED_MAGIC, memory_order_release);
		s->created = true;
	} else if (atomic_load_explicit(&u->magic, memory_order_acquire) != UNNAMED_MAGIC ||
		   u->version != UNNAMED_VERSION) {
		return -EPROTO;
	}
	s->u = u;
	s->sem = &u->sem;
	return 0;
}

static int sem_get(const struct ipk_sem_ref *ref, bool create, unsigned value, mode_t mode,
		   unsigned flags, ipk_sem **ret)
{
	ipk_sem *s;
	int r = check_ref(ref);

	if (r < 0)
		return r;
	IPK_CHECK_ARG(ret);
	if (create && ref->kind == IPK_SEM_SYSV)
		IPK_CHECK_ARG(value <= SEMVMX_FIXED);
	if (create && ref->kind != IPK_SEM_SYSV)
		IPK_CHECK_ARG(value <= SEM_VALUE_MAX);
	if (mode == 0)
		mode = 0600;
	IPK_CHECK_ARG((mode & ~(mode_t)0777) == 0);

	s = sem_new(ref->kind);
	if (!s)
		return -ENOMEM;
	s->keep = flags & IPK_SEM_KEEP;
	if (flags & IPK_SEM_UNDO)
		s->undo = SEM_UNDO;
	r = -EINVAL;
	switch (ref->kind) {
	case IPK_SEM_POSIX:
		r = posix_open(s, ref, create, value, mode, flags & IPK_SEM_EXCL);
		break;
	case IPK_SEM_UNNAMED:
		r = unnamed_open(s, ref, create, value);
		break;
	case IPK_SEM_SYSV:
		r = sysv_open(s, ref, create, value, mode, flags & IPK_SEM_EXCL);
		break;
	}
	if (r < 0) {
		s->keep = false; /* a half-made object is ours to remove */
		ipk_sem_free(s);
		return r;
	}
	*ret = s;
	return 0;
}

IPK_API int ipk_sem_create(const struct ipk_sem_ref *ref, unsigned value, mode_t mode,
			   unsigned flags, ipk_sem **ret)
{
	IPK_CHECK_ARG((flags & ~(unsigned)CREATE_FLAGS) == 0);
	return sem_get(ref, true, value, mode, flags, ret);
}

IPK_API int ipk_sem_open(const struct ipk_sem_ref *ref, unsigned flags, ipk_sem **ret)
{
	IPK_CHECK_ARG((flags & ~(unsigned)OPEN_FLAGS) == 0);
	return sem_get(ref, false, 0, 0, flags, ret);
}

IPK_API int ipk_sem_remove(ipk_sem *s)
{
	int r = 0;

	IPK_CHECK_ARG(s);
	if (s->removed)
		return -ENOENT;
	switch (s->kind) {
	case IPK_SEM_POSIX:
		r = posix_remove(s);
		break;
	case IPK_SEM_UNNAMED:
		/* Destroying a semaphore others wait on is undefined in POSIX;
		 * with glibc it is a no-op, and the magic keeps new opens out. */
		atomic_store_explicit(&s->u->magic, 0, memory_order_relaxed);
		(void)sem_destroy(s->sem);
		break;
	case IPK_SEM_SYSV:
		if (semctl(s->semid, 0, IPC_RMID) < 0)
			r = errno == EINVAL || errno == EIDRM ? -ENOENT : ipk__neg_errno();
		break;
	}
	if (r == 0 || r == -ENOENT || r == -ESTALE)
		s->removed = true;
	return r;
}

IPK_API void ipk_sem_free(ipk_sem *s)
{
	if (!s)
		return;
	if (s->created && !s->keep && !s->removed && s->creator == getpid())
		(void)ipk_sem_remove(s);
	if (s->kind == IPK_SEM_POSIX && s->sem && s->sem != SEM_FAILED)
		(void)sem_close(s->sem);
	free(s);
}

/* ---- the operations ------------------------------------------------- */

/* ThreadSanitizer intercepts sem_timedwait(), not sem_clockwait(). */
#ifdef IPK__TSAN
static int posix_timedwait(sem_t *sem, int64_t deadline)
{
	struct timespec ts;
	int64_t left = deadline - ipk__now_ns(), at;

	clock_gettime(CLOCK_REALTIME, &ts);
	at = (int64_t)ts.tv_sec * IPK_SEC + ts.tv_nsec + (left > 0 ? left : 0);
	ts.tv_sec = (time_t)(at / IPK_SEC);
	ts.tv_nsec = (long)(at % IPK_SEC);
	return sem_timedwait(sem, &ts);
}
#else
static int posix_timedwait(sem_t *sem, int64_t deadline)
{
	struct timespec ts = {
		.tv_sec = (time_t)(deadline / IPK_SEC),
		.tv_nsec = (long)(deadline % IPK_SEC),
	};

	return sem_clockwait(sem, CLOCK_MONOTONIC, &ts);
}
#endif

IPK_API int ipk_sem_wait(ipk_sem *s, int64_t timeout_ns)
{
	int64_t deadline;
	int r;

	IPK_CHECK_ARG(s);
	deadline = ipk__deadline(timeout_ns);
	if (s->kind == IPK_SEM_SYSV) {
		struct sembuf op = { .sem_num = 0, .sem_op = -1 };

		return sysv_apply(s, &op, 1, deadline);
	}
	for (;;) {
		if (deadline == IPK__NOWAIT)
			r = sem_trywait(s->sem);
		else if (deadline == IPK__NEVER)
			r = sem_wait(s->sem);
		else
			r = posix_timedwait(s->sem, deadline);
		if (r == 0)
			return 0;
		if (errno == EINTR)
			continue;
		if (errno == ETIMEDOUT && ipk__now_ns() < deadline)
			continue;        /* the realtime clock jumped (ThreadSanitizer builds) */
		return ipk__neg_errno(); /* EAGAIN, ETIMEDOUT */
	}
}

IPK_API int ipk_sem_trywait(ipk_sem *s)
{
	return ipk_sem_wait(s, 0);
}

IPK_API int ipk_sem_post(ipk_sem *s)
{
	IPK_CHECK_ARG(s);
	if (s->kind == IPK_SEM_SYSV) {
		struct sembuf op = { .sem_num = 0, .sem_op = 1 };

		return sysv_apply(s, &op, 1, IPK__NOWAIT);
	}
	if (sem_post(s->sem) < 0)
		return ipk__neg_errno(); /* EOVERFLOW */
	return 0;
}

IPK_API int ipk_sem_op(ipk_sem *s, const struct ipk_sem_op *ops, size_t n, int64_t timeout_ns)
{
	struct sembuf stack[OPS_ON_STACK], *buf = stack;
	int64_t deadline;
	int r;

	IPK_CHECK_ARG(s && ops && n > 0);
	if (s->kind != IPK_SEM_SYSV)
		return -EOPNOTSUPP;
	deadline = ipk__deadline(timeout_ns);
	if (n > OPS_ON_STACK) {
		buf = calloc(n, sizeof(*buf));
		if (!buf)
			return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		buf[i].sem_num = ops[i].index;
		buf[i].sem_op = ops[i].delta;
	}
	r = sysv_apply(s, buf, n, deadline);
	if (buf != stack)
		free(buf);
	return r;
}

static int sysv_value(const ipk_sem *s, unsigned index)
{
	int v;

	if (index >= s->nsems)
		return -EFBIG;
	v = semctl(s->semid, (int)index, GETVAL);
	if (v < 0)
		return errno == EINVAL ? -EIDRM : ipk__neg_errno();
	return v;
}

IPK_API int ipk_sem_value(ipk_sem *s)
{
	int v;

	IPK_CHECK_ARG(s);
	if (s->kind == IPK_SEM_SYSV)
		return sysv_value(s, 0);
	if (sem_getvalue(s->sem, &v) < 0)
		return ipk__neg_errno();
	return v < 0 ? 0 : v; /* some systems count waiters as negative */
}

IPK_API int ipk_sem_value_at(ipk_sem *s, unsigned index)
{
	IPK_CHECK_ARG(s);
	if (s->kind != IPK_SEM_SYSV)
		return -EOPNOTSUPP;
	return sysv_value(s, index);
}

IPK_API int ipk_sem_count(const ipk_sem *s)
{
	IPK_CHECK_ARG(s);
	return (int)s->nsems;
}

IPK_API int ipk_sem_sysv_id(const ipk_sem *s)
{
	IPK_CHECK_ARG(s);
	if (s->kind != IPK_SEM_SYSV)
		return -EOPNOTSUPP;
	return s->semid;
}

/* ---- limits --------------------------------------------------------- */

#define H_SEM_FIELDS "sysctl -w kernel.sem='SEMMSL SEMMNS SEMOPM SEMMNI'"
#define H_SEMMSL "SEMMSL, semaphores per System V set (kernel.sem, 1st field: " H_SEM_FIELDS ")"
#define H_SEMMNS \
	"SEMMNS, System V semaphores in the system (kernel.sem, 2nd field: " H_SEM_FIELDS ")"
#define H_SEMOPM "SEMOPM, operations per semop() call (kernel.sem, 3rd field: " H_SEM_FIELDS ")"
#define H_SEMMNI \
	"SEMMNI, System V semaphore sets in the system (kernel.sem, 4th field: " H_SEM_FIELDS ")"
#define H_SEMVMX "SEMVMX, the largest System V semaphore value (32767, fixed)"
#define H_VALUE_MAX "SEM_VALUE_MAX, the largest POSIX semaphore value (INT_MAX, fixed)"
#define H_NOFILE "RLIMIT_NOFILE, open descriptors per process (ulimit -n)"
#define H_TMPFS "the size of the tmpfs at /dev/shm (mount -o remount,size=N /dev/shm)"

/* The current SEMMSL ... SEMMNI, and how many sets exist (SEM_INFO). */
static bool sysv_info(struct seminfo *lim, int *sets)
{
	union {
		int val;
		struct semid_ds *buf;
		unsigned short *array;
		struct seminfo *__buf;
	} arg;
	struct seminfo use;

	arg.__buf = lim;
	if (semctl(0, 0, IPC_INFO, arg) < 0)
		return false;
	arg.__buf = &use;
	if (semctl(0, 0, SEM_INFO, arg) < 0)
		return false;
	*sets = use.semusz; /* SEM_INFO: sets in use */
	return true;
}

IPK_API const char *ipk_sem_limit_hint(int err, const struct ipk_sem_ref *ref)
{
	struct seminfo lim;
	int sets;

	if (err < 0)
		err = -err;
	if (!ref)
		return NULL;
	if (ref->kind != IPK_SEM_SYSV) {
		switch (err) {
		case EOVERFLOW:
			return H_VALUE_MAX;
		case EMFILE:
			return ref->kind == IPK_SEM_POSIX ? H_NOFILE : NULL;
		case ENOSPC:
			return ref->kind == IPK_SEM_POSIX ? H_TMPFS : NULL;
		}
		return NULL;
	}
	switch (err) {
	case E2BIG:
		return H_SEMOPM;
	case EOVERFLOW:
	case ERANGE:
		return H_SEMVMX;
	case EINVAL:
		if (sysv_info(&lim, &sets) && ref->nsems > (unsigned)lim.semmsl)
			return H_SEMMSL;
		return NULL;
	case ENOSPC:
		if (sysv_info(&lim, &sets) && sets >= lim.semmni)
			return H_SEMMNI;
		return H_SEMMNS;
	}
	return NULL;
}
