/* SPDX-License-Identifier: MIT */
/*
 * errors.c - every refusal of the shm API, with its exact code: bad names,
 * kinds, sizes and flags (-EINVAL, -ENAMETOOLONG), an existing object with
 * IPK_SHM_EXCL (-EEXIST), a missing one (-ENOENT), one smaller than agreed
 * (-EBADMSG) - including an object its creator shrank after a reader had
 * opened it, which must fail cleanly in that reader instead of SIGBUS -,
 * memfd seals that refuse a shrink (EPERM), and calls that do not apply to
 * a backing (-EOPNOTSUPP). Outputs stay untouched on every failure.
 */
#include "shmt.h"

#define SIZE (64 * 1024)
#define BAD ((ipk_shm *)0x1)

static void bad_args(void)
{
	struct ipk_shm_ref r = { .kind = IPK_SHM_POSIX };
	char longname[300];
	ipk_shm *s = BAD;

	r.name = "noslash";
	T_EQ(ipk_shm_create(&r, SIZE, 0, 0, &s), -EINVAL);
	r.name = "/a/b";
	T_EQ(ipk_shm_create(&r, SIZE, 0, 0, &s), -EINVAL);
	r.name = "/";
	T_EQ(ipk_shm_create(&r, SIZE, 0, 0, &s), -EINVAL);
	r.name = "/..";
	T_EQ(ipk_shm_open(&r, 0, 0, &s), -EINVAL);
	r.name = NULL;
	T_EQ(ipk_shm_open(&r, 0, 0, &s), -EINVAL);
	longname[0] = '/';
	memset(longname + 1, 'x', 280);
	longname[281] = '\0';
	r.name = longname;
	T_EQ(ipk_shm_create(&r, SIZE, 0, 0, &s), -ENAMETOOLONG);

	r.kind = IPK_SHM_FILE;
	r.name = "";
	T_EQ(ipk_shm_create(&r, SIZE, 0, 0, &s), -EINVAL);
	r.name = NULL;
	T_EQ(ipk_shm_open(&r, 0, 0, &s), -EINVAL);

	r.kind = IPK_SHM_MEMFD; /* a label of 250 bytes is one too many */
	memset(longname, 'm', 250);
	longname[250] = '\0';
	r.name = longname;
	T_EQ(ipk_shm_create(&r, SIZE, 0, 0, &s), -EINVAL);
	r.name = "x";
	T_EQ(ipk_shm_open(&r, 0, 0, &s), -EINVAL); /* anonymous: open_fd only */

	r.kind = IPK_SHM_SYSV;
	r.key = IPC_PRIVATE;
	r.id = -1;
	T_EQ(ipk_shm_open(&r, 0, 0, &s), -EINVAL);

	r = shmt_ref(IPK_SHM_MEMFD, 9);
	T_EQ(ipk_shm_create(&r, 0, 0, 0, &s), -EINVAL); /* size 0 */
	T_EQ(ipk_shm_create(&r, SIZE, 0, IPK_SHM_RDONLY, &s), -EINVAL);
	T_EQ(ipk_shm_create(&r, SIZE, 01000000, 0, &s), -EINVAL); /* mode */
	T_EQ(ipk_shm_create(NULL, SIZE, 0, 0, &s), -EINVAL);
	T_EQ(ipk_shm_create(&r, SIZE, 0, 0, NULL), -EINVAL);
	r.kind = (enum ipk_shm_kind)0;
	T_EQ(ipk_shm_create(&r, SIZE, 0, 0, &s), -EINVAL);
	r.kind = (enum ipk_shm_kind)99;
	T_EQ(ipk_shm_open(&r, SIZE, 0, &s), -EINVAL);
	T_EQ(ipk_shm_open_fd(-1, 0, 0, &s), -EINVAL);
	T_EQ(ipk_shm_open_fd(0, 0, IPK_SHM_EXCL, &s), -EINVAL);
	T_TRUE(s == BAD);

	/* NULL handles */
	T_EQ(ipk_shm_map(NULL, 0, (void **)&s), -EINVAL);
	T_EQ(ipk_shm_unmap(NULL), -EINVAL);
	T_EQ(ipk_shm_fd(NULL), -EINVAL);
	T_EQ(ipk_shm_kind(NULL), -EINVAL);
	T_EQ(ipk_shm_sysv_id(NULL), -EINVAL);
	T_EQ(ipk_shm_seal(NULL, IPK_SHM_SEAL_SIZE), -EINVAL);
	T_EQ(ipk_shm_remove(NULL), -EINVAL);
	T_EQ(ipk_shm_size(NULL), 0);
	T_TRUE(ipk_shm_addr(NULL) == NULL);
	T_EQ(ipk_shm_pages(NULL), IPK_SHM_PAGES_NONE);
	ipk_shm_free(NULL);
}

static void not_regular(void)
{
	ipk_shm *s = BAD;
	int p[2];

	T_SYS(pipe2(p, O_CLOEXEC));
	T_EQ(ipk_shm_open_fd(p[0], 0, 0, &s), -EACCES); /* a read-only fd, RW asked */
	T_EQ(ipk_shm_open_fd(p[1], 0, 0, &s), -EACCES);
	T_EQ(ipk_shm_open_fd(p[0], 0, IPK_SHM_RDONLY, &s), -EINVAL); /* not a file */
	close(p[0]);
	close(p[1]);
	T_EQ(ipk_shm_open_fd(p[0], 0, IPK_SHM_RDONLY, &s), -EBADF); /* closed */
	T_TRUE(s == BAD);
}

static void exists_and_missing(enum ipk_shm_kind kind)
{
	struct ipk_shm_ref ref = shmt_ref(kind, 1);
	ipk_shm *s, *t = BAD, *u;
	void *base, *b2;

	shmt_unlink(&ref);
	T_EQ(ipk_shm_open(&ref, 0, 0, &t), -ENOENT);
	T_EQ(ipk_shm_open(&ref, 0, IPK_SHM_RDONLY, &t), -ENOENT);
	T_OK(ipk_shm_create(&ref, SIZE, 0, IPK_SHM_EXCL, &s));
	T_EQ(ipk_shm_size(s), SIZE);
	T_EQ(ipk_shm_create(&ref, SIZE, 0, IPK_SHM_EXCL, &t), -EEXIST);
	T_EQ(ipk_shm_create(&ref, SIZE, 0, IPK_SHM_EXCL | IPK_SHM_HUGE, &t), -EEXIST);
	/* without EXCL: the existing object as it is, if big enough */
	T_EQ(ipk_shm_create(&ref, SIZE + 1, 0, 0, &t), -EBADMSG);
	T_EQ(ipk_shm_open(&ref, SIZE + 1, 0, &t), -EBADMSG);
	T_TRUE(t == BAD);
	T_OK(ipk_shm_create(&ref, SIZE / 2, 0, 0, &u));
	T_EQ(ipk_shm_size(u), SIZE); /* the real size */
	T_OK(ipk_shm_map(s, 0, &base));
	T_OK(ipk_shm_map(u, 0, &b2));
	strcpy(base, "same object");
	T_TRUE(strcmp(b2, "same object") == 0);
	T_EQ(ipk_shm_map(u, 0, &b2), -EBUSY); /* one mapping per handle */
	T_EQ(ipk_shm_map(u, 1u << 20, &b2), -EINVAL);
	ipk_shm_free(u); /* not its creator: removes nothing */
	T_TRUE(shmt_exists(&ref));

	if (kind == IPK_SHM_SYSV) {
		T_EQ(ipk_shm_fd(s), -EOPNOTSUPP);
		T_OK(ipk_shm_sysv_id(s));
	} else {
		T_OK(ipk_shm_fd(s));
		T_EQ(ipk_shm_sysv_id(s), -EOPNOTSUPP);
	}
	T_EQ(ipk_shm_seal(s, IPK_SHM_SEAL_SIZE), -EOPNOTSUPP);
	ipk_shm_free(s);
	T_EQ(ipk_shm_open(&ref, 0, 0, &t), -ENOENT);
	T_TRUE(t == BAD);
}

static void sysv_private_gone(void)
{
	struct ipk_shm_ref ref = { .kind = IPK_SHM_SYSV, .key = IPC_PRIVATE };
	ipk_shm *s, *t = BAD;

	T_OK(ipk_shm_create(&ref, SIZE, 0, IPK_SHM_EXCL, &s));
	ref.id = ipk_shm_sysv_id(s);
	T_OK(ipk_shm_open(&ref, SIZE, 0, &t));
	T_EQ(ipk_shm_size(t), SIZE);
	ipk_shm_free(t);
	T_EQ(ipk_shm_open(&ref, SIZE + 1, 0, &t), -EBADMSG);
	ipk_shm_free(s); /* IPC_RMID */
	t = BAD;
	T_EQ(ipk_shm_open(&ref, 0, 0, &t), -ENOENT);
	T_TRUE(t == BAD);
}

/*
 * The creator shrinks the object. A reader that opens with the agreed size
 * is refused; a reader that had opened it before maps nothing; a reader
 * that accepts any size gets the new one. None of them touches a page past
 * the end, which would be SIGBUS (and kill this test).
 */
static struct ipk_shm_ref shrink_ref;
static ipk_shm *early;

static int shrink_reader(void *arg)
{
	ipk_shm *s = BAD;
	void *base = BAD;

	(void)arg;
	T_EQ(ipk_shm_open(&shrink_ref, SIZE, IPK_SHM_RDONLY, &s), -EBADMSG);
	T_EQ(ipk_shm_open(&shrink_ref, SIZE, 0, &s), -EBADMSG);
	T_TRUE(s == BAD);
	T_EQ(ipk_shm_map(early, IPK_SHM_RDONLY, &base), -EBADMSG);
	T_TRUE(base == BAD && ipk_shm_addr(early) == NULL);
	T_OK(ipk_shm_open(&shrink_ref, 0, IPK_SHM_RDONLY, &s));
	T_EQ(ipk_shm_size(s), 4096);
	T_OK(ipk_shm_map(s, IPK_SHM_RDONLY, &base));
	T_EQ(((const char *)base)[4095], 'z');
	ipk_shm_free(s);
	return 0;
}

static int empty_reader(void *arg)
{
	ipk_shm *s = BAD;

	(void)arg;
	T_EQ(ipk_shm_open(&shrink_ref, 0, IPK_SHM_RDONLY, &s), -EBADMSG);
	T_TRUE(s == BAD);
	return 0;
}

static void shrink(enum ipk_shm_kind kind)
{
	ipk_shm *s;
	void *base;

	shrink_ref = shmt_ref(kind, 2);
	shmt_unlink(&shrink_ref);
	T_OK(ipk_shm_create(&shrink_ref, SIZE, 0, IPK_SHM_EXCL, &s));
	T_OK(ipk_shm_map(s, 0, &base));
	memset(base, 'z', SIZE);
	T_OK(ipk_shm_unmap(s));
	T_OK(ipk_shm_open(&shrink_ref, SIZE, IPK_SHM_RDONLY, &early));
	T_SYS(ftruncate(ipk_shm_fd(s), 4096));
	t_wait_exit(t_fork(shrink_reader, NULL), 0);
	T_SYS(ftruncate(ipk_shm_fd(s), 0));
	t_wait_exit(t_fork(empty_reader, NULL), 0);
	ipk_shm_free(early);
	ipk_shm_free(s);
}

static void memfd_seals(void)
{
	struct ipk_shm_ref ref = shmt_ref(IPK_SHM_MEMFD, 3);
	ipk_shm *s, *t = BAD;
	struct stat st;
	int fd;

	T_OK(ipk_shm_create(&ref, SIZE, 0, 0, &s));
	fd = ipk_shm_fd(s);
	T_TRUE(fcntl(fd, F_GET_SEALS) & F_SEAL_SHRINK); /* from creation */
	errno = 0;
	T_EQ(ftruncate(fd, 4096), -1);
	T_EQ(errno, EPERM);
	T_SYS(ftruncate(fd, 2 * SIZE)); /* growing is still allowed */
	T_OK(ipk_shm_seal(s, IPK_SHM_SEAL_SIZE));
	T_EQ(fcntl(fd, F_GET_SEALS) & (F_SEAL_SHRINK | F_SEAL_GROW), F_SEAL_SHRINK | F_SEAL_GROW);
	errno = 0;
	T_EQ(ftruncate(fd, 4 * SIZE), -1);
	T_EQ(errno, EPERM);
	errno = 0;
	T_EQ(ftruncate(fd, 0), -1);
	T_EQ(errno, EPERM);
	T_SYS(fstat(fd, &st));
	T_EQ(st.st_size, 2 * SIZE);
	/* an object agreed at 2*SIZE: a reader of the fd finds it so */
	T_OK(ipk_shm_open_fd(fd, 2 * SIZE, IPK_SHM_RDONLY, &t));
	ipk_shm_free(t);
	T_EQ(ipk_shm_seal(s, 0), -EINVAL);
	T_EQ(ipk_shm_seal(s, 1u << 7), -EINVAL);
	T_OK(ipk_shm_seal(s, IPK_SHM_SEAL_SEAL));
	T_EQ(ipk_shm_seal(s, IPK_SHM_SEAL_FUTURE_WRITE), -EPERM);
	ipk_shm_free(s);
}

int main(void)
{
	bad_args();
	not_regular();
	for (int k = IPK_SHM_POSIX; k <= IPK_SHM_FILE; k++)
		if (k != IPK_SHM_MEMFD)
			exists_and_missing((enum ipk_shm_kind)k);
	sysv_private_gone();
	shrink(IPK_SHM_POSIX);
	shrink(IPK_SHM_FILE);
	memfd_seals();
	return 0;
}
