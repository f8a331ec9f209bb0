/* SPDX-License-Identifier: MIT */
/*
 * names.c - what ipk_shm finds at a name. A FIFO, directory, socket or
 * symbolic link at a POSIX name, or a FIFO at a FILE path, is refused at
 * once (-EINVAL to open, -EEXIST to create), never waited on; a creator
 * without IPK_SHM_EXCL adopts only its own object that is open to others
 * no more than the mode it asks for (-EPERM otherwise, object untouched);
 * a POSIX object is complete when it appears (a full tmpfs is -ENOSPC at
 * create, nothing left behind). The second-uid and tmpfs parts need root:
 * they are the test shm_names_owners, which skips without it.
 */
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "shmt.h"

static char pname[64], ppath[96], fpath[96];

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * IPK_SEC + ts.tv_nsec;
}

static void refused(const struct ipk_shm_ref *ref, const char *what)
{
	ipk_shm *s = NULL;
	int64_t t0 = now_ns();

	T_EQ(ipk_shm_open(ref, 0, IPK_SHM_RDONLY, &s), -EINVAL);
	T_EQ(ipk_shm_open(ref, 0, 0, &s), -EINVAL);
	T_EQ(ipk_shm_create(ref, 4096, 0, 0, &s), -EEXIST);
	T_EQ(s, NULL);
	T_TRUE(now_ns() - t0 < IPK_SEC / 2);
	printf("%s: refused at once\n", what);
}

static void strange_things(void)
{
	struct ipk_shm_ref posix = { .kind = IPK_SHM_POSIX, .name = pname };
	struct ipk_shm_ref file = { .kind = IPK_SHM_FILE, .name = fpath };
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd;

	T_SYS(mkfifo(ppath, 0600));
	refused(&posix, "a FIFO at a POSIX name");
	T_SYS(unlink(ppath));
	T_SYS(mkfifo(fpath, 0600));
	refused(&file, "a FIFO at a FILE path");
	T_SYS(unlink(fpath));

	T_SYS(mkdir(ppath, 0700));
	refused(&posix, "a directory at a POSIX name");
	T_SYS(rmdir(ppath));

	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	T_SYS(fd);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", ppath);
	T_SYS(bind(fd, (struct sockaddr *)&sa, sizeof(sa)));
	refused(&posix, "a socket at a POSIX name");
	close(fd);
	T_SYS(unlink(ppath));

	fd = open(fpath, O_RDWR | O_CREAT | O_EXCL, 0600);
	T_SYS(fd);
	T_SYS(ftruncate(fd, 4096));
	close(fd);
	T_SYS(symlink(fpath, ppath));
	refused(&posix, "a symbolic link at a POSIX name");
	T_SYS(unlink(ppath));
	T_SYS(unlink(fpath));
}

/* nobody's 0666 object: not adopted by root's creator, and left alone */
static int nobodys(void *arg)
{
	const struct ipk_shm_ref *ref = arg;
	ipk_shm *s;

	if (t_drop_root() < 0)
		return 2;
	T_OK(ipk_shm_create(ref, 4096, 0666, IPK_SHM_KEEP, &s));
	ipk_shm_free(s);
	return 0;
}

static void owners(void)
{
	struct ipk_shm_ref refs[] = {
		{ .kind = IPK_SHM_POSIX, .name = pname },
		{ .kind = IPK_SHM_FILE, .name = fpath },
		{ .kind = IPK_SHM_SYSV, .key = shmt_key(7) },
	};

	for (size_t i = 0; i < sizeof(refs) / sizeof(refs[0]); i++) {
		ipk_shm *s = NULL, *mine;

		t_wait_exit(t_fork(nobodys, &refs[i]), 0);
		T_EQ(ipk_shm_create(&refs[i], 4096, 0600, 0, &s), -EPERM);
		T_EQ(ipk_shm_create(&refs[i], 4096, 0666, 0, &s), -EPERM); /* not ours */
		T_OK(ipk_shm_open(&refs[i], 4096, 0, &mine)); /* opening is not adopting */
		T_OK(ipk_shm_remove(mine));
		ipk_shm_free(mine);
		/* our own, open to others: only for a creator that asks for it */
		T_OK(ipk_shm_create(&refs[i], 4096, 0644, IPK_SHM_KEEP, &mine));
		ipk_shm_free(mine);
		T_EQ(ipk_shm_create(&refs[i], 4096, 0600, 0, &s), -EPERM);
		T_OK(ipk_shm_create(&refs[i], 4096, 0644, 0, &s));
		T_OK(ipk_shm_remove(s));
		ipk_shm_free(s);
		printf("%s: nobody's 0666 object and our 0644 one not adopted for 0600\n",
		       shmt_kind_name(refs[i].kind));
	}
}

static int full_tmpfs(void *arg)
{
	struct ipk_shm_ref ref = { .kind = IPK_SHM_POSIX, .name = pname };
	ipk_shm *s;

	(void)arg;
	if (unshare(CLONE_NEWNS) < 0)
		return 77;
	T_SYS(mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL));
	T_SYS(mount("tmpfs", "/dev/shm", "tmpfs", 0, "size=64k"));
	T_EQ(ipk_shm_create(&ref, 1 << 20, 0, 0, &s), -ENOSPC);
	T_EQ(access(ppath, F_OK), -1);
	return 0;
}

/* No argument: the strange things; "owners": the parts that need root. */
int main(int argc, char **argv)
{
	int st;

	snprintf(pname, sizeof(pname), "/ipk-shm-names-%d", (int)getpid());
	snprintf(ppath, sizeof(ppath), "/dev/shm%s", pname);
	snprintf(fpath, sizeof(fpath), "/tmp/ipk-shm-names-%d", (int)getpid());
	if (argc < 2) {
		strange_things();
		return 0;
	}
	(void)argv;
	if (geteuid() != 0)
		T_SKIP("not root: needs a second uid (nobody) and a private mount namespace");
	owners();
	st = 0;
	T_SYS(waitpid(t_fork(full_tmpfs, NULL), &st, 0));
	T_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	printf("a full tmpfs: -ENOSPC at create, nothing left behind\n");
	return 0;
}
