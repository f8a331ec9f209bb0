/* SPDX-License-Identifier: MIT */
/*
 * sem.c - ipk_sem between real processes, for each kind (POSIX named,
 * unnamed in shared memory, System V set): wait, trywait, timed wait,
 * post and value across fork(); named objects: O_EXCL, mode 0600, removal
 * by the creator only, -ENOENT, -ESTALE; System V: an all-or-nothing
 * multi-operation semop, SEM_UNDO, IPC_PRIVATE by id, -EIDRM when removed;
 * value overflow (-EOVERFLOW); a killed holder of a semaphore without
 * undo leaves it taken (the trap the docs warn of); bad input.
 */
#include <semaphore.h>
#include <sys/sem.h>
#include <sys/stat.h>

#include "synct.h"

struct shared {
	_Alignas(IPK_SEM_ALIGN) unsigned char sem[IPK_SEM_SIZE];
	_Atomic uint32_t step;
};

static struct shared *sh;
static char name[64];
static key_t key;

static struct ipk_sem_ref ref_of(enum ipk_sem_kind kind)
{
	struct ipk_sem_ref r = { .kind = kind };

	switch (kind) {
	case IPK_SEM_POSIX:
		r.name = name;
		break;
	case IPK_SEM_UNNAMED:
		r.mem = sh->sem;
		break;
	case IPK_SEM_SYSV:
		r.key = key;
		r.nsems = 1;
		break;
	}
	return r;
}

static const char *kind_name(enum ipk_sem_kind k)
{
	return k == IPK_SEM_POSIX ? "posix" : k == IPK_SEM_UNNAMED ? "unnamed" : "sysv";
}

static enum ipk_sem_kind child_kind;

/* The child opens its own handle, waits on the parent's post, posts back. */
static int ping_child(void *arg)
{
	struct ipk_sem_ref ref = ref_of(child_kind);
	ipk_sem *s;

	(void)arg;
	T_OK(ipk_sem_open(&ref, 0, &s));
	atomic_store(&sh->step, 1);
	T_EQ(ipk_sem_wait(s, 10 * IPK_SEC), 0); /* blocks until the parent posts */
	T_EQ(ipk_sem_value(s), 0);
	T_EQ(ipk_sem_post(s), 0);
	T_EQ(ipk_sem_post(s), 0);
	ipk_sem_free(s); /* not the creator: removes nothing */
	return 0;
}

/* Takes the semaphore and is killed holding it. */
static int taker(void *arg)
{
	struct ipk_sem_ref ref = ref_of(child_kind);
	ipk_sem *s;

	T_OK(ipk_sem_open(&ref, (unsigned)(uintptr_t)arg, &s));
	T_EQ(ipk_sem_wait(s, 10 * IPK_SEC), 0);
	atomic_store(&sh->step, 2);
	for (;;)
		pause();
}

static void basics(enum ipk_sem_kind kind)
{
	struct ipk_sem_ref ref = ref_of(kind);
	ipk_sem *s, *o = (void *)0x1;
	int64_t t0;
	pid_t pid;

	fprintf(stderr, "%s: basics\n", kind_name(kind));
	T_OK(ipk_sem_create(&ref, 0, 0, IPK_SEM_EXCL, &s));
	T_EQ(ipk_sem_count(s), 1);
	T_EQ(ipk_sem_value(s), 0);
	T_EQ(ipk_sem_trywait(s), -EAGAIN);
	T_EQ(ipk_sem_wait(s, 0), -EAGAIN);
	t0 = synct_now_ns();
	T_EQ(ipk_sem_wait(s, 30 * IPK_MSEC), -ETIMEDOUT);
	T_TRUE(synct_now_ns() - t0 >= 30 * IPK_MSEC);
	if (kind != IPK_SEM_UNNAMED) {
		T_EQ(ipk_sem_create(&ref, 0, 0, IPK_SEM_EXCL, &o), -EEXIST);
		T_TRUE(o == (void *)0x1);
	}

	child_kind = kind;
	atomic_store(&sh->step, 0);
	pid = t_fork(ping_child, NULL);
	synct_await(&sh->step, 1);
	T_EQ(ipk_sem_post(s), 0);
	t_wait_exit(pid, 0);
	T_EQ(ipk_sem_value(s), 2);
	T_EQ(ipk_sem_wait(s, IPK_FOREVER), 0);
	T_EQ(ipk_sem_trywait(s), 0);
	T_EQ(ipk_sem_trywait(s), -EAGAIN);

	/* A killed holder without SEM_UNDO: the semaphore stays taken. */
	T_EQ(ipk_sem_post(s), 0);
	pid = t_fork(taker, NULL);
	synct_await(&sh->step, 2);
	T_SYS(kill(pid, SIGKILL));
	synct_wait_signal(pid, SIGKILL);
	T_EQ(ipk_sem_value(s), 0);
	T_EQ(ipk_sem_wait(s, 20 * IPK_MSEC), -ETIMEDOUT);

	/* Without EXCL an existing one is opened as it is. */
	T_EQ(ipk_sem_post(s), 0);
	if (kind != IPK_SEM_UNNAMED) {
		T_OK(ipk_sem_create(&ref, 5, 0, 0, &o));
		T_EQ(ipk_sem_value(o), 1);
		ipk_sem_free(o); /* did not create: removes nothing */
		T_OK(ipk_sem_open(&ref, 0, &o));
		ipk_sem_free(o);
	}
	ipk_sem_free(s); /* the creator: removes it */
	T_EQ(ipk_sem_open(&ref, 0, &o), kind == IPK_SEM_UNNAMED ? -EPROTO : -ENOENT);
}

static void overflow(void)
{
	struct ipk_sem_ref p = ref_of(IPK_SEM_POSIX), u = ref_of(IPK_SEM_UNNAMED);
	struct ipk_sem_ref v = ref_of(IPK_SEM_SYSV);
	ipk_sem *s;

	fprintf(stderr, "overflow\n");
	T_OK(ipk_sem_create(&p, SEM_VALUE_MAX, 0, IPK_SEM_EXCL, &s));
	T_EQ(ipk_sem_post(s), -EOVERFLOW);
	T_EQ(ipk_sem_value(s), SEM_VALUE_MAX);
	T_TRUE(strstr(ipk_sem_limit_hint(-EOVERFLOW, &p), "SEM_VALUE_MAX") != NULL);
	ipk_sem_free(s);
	T_OK(ipk_sem_create(&u, SEM_VALUE_MAX, 0, 0, &s));
	T_EQ(ipk_sem_post(s), -EOVERFLOW);
	ipk_sem_free(s);
	T_EQ(ipk_sem_create(&u, (unsigned)SEM_VALUE_MAX + 1, 0, 0, &s), -EINVAL);

	T_OK(ipk_sem_create(&v, 32767, 0, IPK_SEM_EXCL, &s));
	T_EQ(ipk_sem_value(s), 32767);
	T_EQ(ipk_sem_post(s), -EOVERFLOW);
	T_EQ(ipk_sem_value(s), 32767);
	T_TRUE(strstr(ipk_sem_limit_hint(-EOVERFLOW, &v), "SEMVMX") != NULL);
	ipk_sem_free(s);
	T_EQ(ipk_sem_create(&v, 32768, 0, IPK_SEM_EXCL, &s), -EINVAL);
}

/* Named objects: mode, creator-only removal, -ESTALE, leftovers. */
static void names(void)
{
	struct ipk_sem_ref p = ref_of(IPK_SEM_POSIX), v = ref_of(IPK_SEM_SYSV);
	char path[128];
	struct semid_ds ds;
	struct stat st;
	ipk_sem *a, *b;
	pid_t pid;

	fprintf(stderr, "names\n");
	snprintf(path, sizeof(path), "/dev/shm/sem.%s", name + 1);
	T_OK(ipk_sem_create(&p, 1, 0, IPK_SEM_EXCL, &a));
	T_SYS(stat(path, &st));
	T_EQ(st.st_mode & 0777, 0600);
	/* a forked child's copy of the creator's handle removes nothing */
	pid = fork();
	T_SYS(pid);
	if (pid == 0) {
		ipk_sem_free(a);
		_exit(0);
	}
	t_wait_exit(pid, 0);
	T_SYS(stat(path, &st));
	/* remove: a successor's object at the same name is left alone */
	T_EQ(ipk_sem_remove(a), 0);
	T_EQ(stat(path, &st), -1);
	T_OK(ipk_sem_create(&p, 1, 0640, IPK_SEM_EXCL | IPK_SEM_KEEP, &b));
	T_SYS(stat(path, &st));
	T_EQ(st.st_mode & 0777, 0640); /* exactly, whatever the umask */
	T_EQ(ipk_sem_remove(a), -ENOENT);
	ipk_sem_free(a);
	T_SYS(stat(path, &st));
	ipk_sem_free(b); /* KEEP */
	T_SYS(stat(path, &st));
	T_OK(ipk_sem_open(&p, 0, &a));
	T_EQ(ipk_sem_remove(a), 0);
	ipk_sem_free(a);
	T_EQ(stat(path, &st), -1);

	T_OK(ipk_sem_create(&v, 1, 0, IPK_SEM_EXCL, &a));
	T_SYS(semctl(ipk_sem_sysv_id(a), 0, IPC_STAT, &ds));
	T_EQ(ds.sem_perm.mode & 0777, 0600);
	ipk_sem_free(a);
	T_EQ(semget(key, 0, 0), -1);
	T_EQ(errno, ENOENT);
}

static int wait_removed(void *arg)
{
	ipk_sem *s = arg;

	atomic_store(&sh->step, 3);
	T_EQ(ipk_sem_wait(s, 10 * IPK_SEC), -EIDRM);
	return 0;
}

static int undo_child(void *arg)
{
	ipk_sem *s = arg;
	struct ipk_sem_op take[2] = { { 0, -1 }, { 2, -3 } };

	T_EQ(ipk_sem_op(s, take, 2, 0), 0);
	return 0; /* exits: the kernel undoes both */
}

/* System V sets: several semaphores changed at once, or not at all. */
static void sysv_sets(void)
{
	struct ipk_sem_ref v = ref_of(IPK_SEM_SYSV);
	struct ipk_sem_ref priv = { .kind = IPK_SEM_SYSV, .key = IPC_PRIVATE, .nsems = 3 };
	struct ipk_sem_op two[2] = { { 0, -1 }, { 1, -1 } };
	struct ipk_sem_op bad[2] = { { 0, -1 }, { 7, 1 } };
	struct ipk_sem_op zero = { 2, 0 };
	ipk_sem *s, *o, *u;
	int64_t t0;
	pid_t pid;

	fprintf(stderr, "sysv sets\n");
	v.nsems = 3;
	T_OK(ipk_sem_create(&v, 1, 0, IPK_SEM_EXCL, &s));
	T_EQ(ipk_sem_count(s), 3);
	/* take 0 and 1 together: both are 1, both become 0 */
	T_EQ(ipk_sem_op(s, two, 2, 0), 0);
	T_EQ(ipk_sem_value_at(s, 0), 0);
	T_EQ(ipk_sem_value_at(s, 1), 0);
	/* 0 back to 1, 1 still 0: the pair cannot be taken, and 0 is NOT
	 * taken alone (all or nothing) */
	T_EQ(ipk_sem_post(s), 0);
	T_EQ(ipk_sem_op(s, two, 2, 0), -EAGAIN);
	t0 = synct_now_ns();
	T_EQ(ipk_sem_op(s, two, 2, 30 * IPK_MSEC), -ETIMEDOUT);
	T_TRUE(synct_now_ns() - t0 >= 30 * IPK_MSEC);
	T_EQ(ipk_sem_value_at(s, 0), 1);
	T_EQ(ipk_sem_value_at(s, 1), 0);
	T_EQ(ipk_sem_op(s, bad, 2, 0), -EFBIG);
	T_EQ(ipk_sem_value_at(s, 0), 1);
	T_EQ(ipk_sem_value_at(s, 3), -EFBIG);
	T_EQ(ipk_sem_op(s, &zero, 1, 0), -EAGAIN); /* wait-for-zero: 2 is 1 */
	T_EQ(ipk_sem_op(s, NULL, 1, 0), -EINVAL);
	T_EQ(ipk_sem_op(s, two, 0, 0), -EINVAL);

	/* open by key: needs at most as many as exist */
	T_EQ(ipk_sem_open(&v, 0, &o), 0);
	T_EQ(ipk_sem_count(o), 3);
	ipk_sem_free(o);
	v.nsems = 4;
	T_EQ(ipk_sem_open(&v, 0, &o), -EINVAL);

	/* SEM_UNDO: a process's changes vanish with it */
	T_OK(ipk_sem_create(&priv, 3, 0, 0, &u));
	priv.id = ipk_sem_sysv_id(u);
	T_OK(ipk_sem_open(&priv, IPK_SEM_UNDO, &o));
	t_wait_exit(t_fork(undo_child, o), 0);
	T_EQ(ipk_sem_value_at(u, 0), 3);
	T_EQ(ipk_sem_value_at(u, 2), 3);
	ipk_sem_free(o);
	/* without it they stay */
	t_wait_exit(t_fork(undo_child, u), 0);
	T_EQ(ipk_sem_value_at(u, 0), 2);
	T_EQ(ipk_sem_value_at(u, 2), 0);
	T_EQ(ipk_sem_op(u, &zero, 1, 0), 0); /* now it is zero */

	/* removal wakes a waiter with -EIDRM */
	T_EQ(ipk_sem_value(s), 1);
	T_EQ(ipk_sem_wait(s, 0), 0);
	atomic_store(&sh->step, 0);
	pid = t_fork(wait_removed, s);
	synct_await(&sh->step, 3);
	synct_await_asleep(pid); /* blocked in the wait */
	T_EQ(ipk_sem_remove(s), 0);
	t_wait_exit(pid, 0);
	T_EQ(ipk_sem_post(s), -EIDRM);
	T_EQ(ipk_sem_remove(s), -ENOENT);
	ipk_sem_free(s);
	ipk_sem_free(u);
	T_EQ(ipk_sem_open(&priv, 0, &o), -ENOENT);

	T_EQ(ipk_sem_op(NULL, two, 1, 0), -EINVAL);
}

static void bad_input(void)
{
	struct ipk_sem_ref r = { .kind = IPK_SEM_POSIX };
	char longname[300];
	ipk_sem *s = (void *)0x1;
	const char *bad[] = { "", "noslash", "/", "/a/b", "//", "/.", "/..", NULL };
	struct ipk_sem_op op = { 0, 1 };

	fprintf(stderr, "bad input\n");
	for (int i = 0; i < 8; i++) {
		r.name = bad[i];
		T_EQ(ipk_sem_create(&r, 0, 0, 0, &s), -EINVAL);
		T_EQ(ipk_sem_open(&r, 0, &s), -EINVAL);
	}
	longname[0] = '/';
	memset(longname + 1, 'x', 260);
	longname[261] = 0;
	r.name = longname;
	T_EQ(ipk_sem_create(&r, 0, 0, 0, &s), -ENAMETOOLONG);
	snprintf(longname, sizeof(longname), "/ipk-sem-none-%d", (int)getpid());
	T_EQ(ipk_sem_open(&r, 0, &s), -ENOENT);
	T_TRUE(s == (void *)0x1);

	r.name = name;
	T_EQ(ipk_sem_create(&r, 0, 0, 0x100, &s), -EINVAL); /* unknown flag */
	T_EQ(ipk_sem_open(&r, IPK_SEM_EXCL, &s), -EINVAL);
	T_EQ(ipk_sem_create(&r, 0, 01777, 0, &s), -EINVAL);
	T_EQ(ipk_sem_create(NULL, 0, 0, 0, &s), -EINVAL);
	T_EQ(ipk_sem_create(&r, 0, 0, 0, NULL), -EINVAL);
	r.kind = (enum ipk_sem_kind)9;
	T_EQ(ipk_sem_create(&r, 0, 0, 0, &s), -EINVAL);
	r.kind = IPK_SEM_UNNAMED;
	r.mem = NULL;
	T_EQ(ipk_sem_create(&r, 0, 0, 0, &s), -EINVAL);
	r.mem = sh->sem + 4; /* misaligned */
	T_EQ(ipk_sem_create(&r, 0, 0, 0, &s), -EINVAL);
	r.mem = sh->sem;
	memset(sh->sem, 0, sizeof(sh->sem));
	T_EQ(ipk_sem_open(&r, 0, &s), -EPROTO);
	r.kind = IPK_SEM_SYSV;
	r.key = key;
	T_EQ(ipk_sem_open(&r, 0, &s), -ENOENT);
	T_TRUE(s == (void *)0x1);

	T_OK(ipk_sem_create(&r, 0, 0, 0, &s));
	T_EQ(ipk_sem_op(s, &op, 1, 0), 0);
	ipk_sem_free(s);
	r.kind = IPK_SEM_UNNAMED;
	T_OK(ipk_sem_create(&r, 0, 0, 0, &s));
	T_EQ(ipk_sem_op(s, &op, 1, 0), -EOPNOTSUPP);
	T_EQ(ipk_sem_value_at(s, 0), -EOPNOTSUPP);
	T_EQ(ipk_sem_sysv_id(s), -EOPNOTSUPP);
	ipk_sem_free(s);
	T_EQ(ipk_sem_wait(NULL, 0), -EINVAL);
	T_EQ(ipk_sem_post(NULL), -EINVAL);
	T_EQ(ipk_sem_value(NULL), -EINVAL);
	T_EQ(ipk_sem_remove(NULL), -EINVAL);
	ipk_sem_free(NULL);
}

int main(void)
{
	sh = synct_shared(4096);
	snprintf(name, sizeof(name), "/ipk-sem-%d", (int)getpid());
	key = (key_t)(0x53450000u | ((unsigned)getpid() & 0xffffu));
	(void)sem_unlink(name);

	basics(IPK_SEM_POSIX);
	basics(IPK_SEM_UNNAMED);
	basics(IPK_SEM_SYSV);
	overflow();
	names();
	sysv_sets();
	bad_input();
	return 0;
}
