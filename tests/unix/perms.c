/* SPDX-License-Identifier: MIT */
/*
 * Socket files and their directory: ipk_sock_dir() makes the directory
 * with exactly the mode asked (0700 by default) whatever the umask, and
 * refuses a planted symbolic link, another kind of file or someone else's
 * directory; a socket file gets its perm= despite the umask and is never
 * created through a link; a unix: URL naming a file that is no socket is
 * -ENOTSOCK at once; an abstract socket leaves no file.
 *
 * `test-unix_perms nobody` is the second-uid part (root only, skips (77)
 * without): nobody (65534) is kept out by the directory's mode, and someone
 * else's directory is refused.
 */
#include <fcntl.h>
#include <sys/stat.h>

#include "../harness.h"
#include <ipckit/unix.h>

static mode_t mode_of(const char *p)
{
	struct stat st;

	T_SYS(lstat(p, &st));
	return st.st_mode & 07777;
}

static char dir[128], sock[256], url[300];

/* As nobody: connect to url; return the error (or 0). */
static int connect_as_nobody(void *arg)
{
	ipk_chan *c;
	int r;

	(void)arg;
	if (t_drop_root() < 0)
		return 99;
	r = ipk_chan_open(url, 0, 0, &c);
	if (r == 0)
		ipk_chan_close(c);
	return r == 0 ? 0 : r == -EACCES ? 13 : 50;
}

/* The directory's mode does real work: nobody cannot reach a socket in a
 * 0700 directory, even one whose own mode is 0666. */
static int second_uid(void)
{
	ipk_listener *l;
	pid_t pid;

	if (geteuid() != 0)
		T_SKIP("not root: needs a second uid (nobody) to connect");
	umask(0077);
	t_path(dir, sizeof(dir), "sockdir-nobody");
	(void)rmdir(dir);
	T_OK(ipk_sock_dir(dir, 0700));
	snprintf(sock, sizeof(sock), "%s/s.sock", dir);
	snprintf(url, sizeof(url), "unix:%s?perm=0666", sock);
	T_OK(ipk_listen(url, 0, &l));
	T_EQ(mode_of(sock), 0666);
	snprintf(url, sizeof(url), "unix:%s", sock);
	pid = t_fork(connect_as_nobody, NULL);
	t_wait_exit(pid, 13);
	T_OK(ipk_sock_dir(dir, 0711)); /* search allowed: gets in */
	pid = t_fork(connect_as_nobody, NULL);
	t_wait_exit(pid, 0);
	ipk_listener_close(l);

	/* someone else's directory is refused */
	T_SYS(chown(dir, 65534, 65534));
	T_EQ(ipk_sock_dir(dir, 0700), -EPERM);
	T_SYS(chown(dir, 0, 0));

	T_SYS(rmdir(dir));
	printf("ok: nobody kept out by a 0700 directory, let in by 0711; "
	       "nobody's directory refused (-EPERM)\n");
	return 0;
}

int main(int argc, char **argv)
{
	char link[256], file[256], u[300];
	ipk_listener *l;
	ipk_chan *c;

	if (argc == 2 && !strcmp(argv[1], "nobody"))
		return second_uid();
	if (argc != 1)
		T_FAIL("usage: %s [nobody]", argv[0]);
	umask(0077);
	t_path(dir, sizeof(dir), "sockdir");
	(void)rmdir(dir);
	T_OK(ipk_sock_dir(dir, 0));
	T_EQ(mode_of(dir), 0700);
	T_OK(ipk_sock_dir(dir, 0755)); /* existing, ours: mode set */
	T_EQ(mode_of(dir), 0755);
	umask(0777);
	T_OK(ipk_sock_dir(dir, 0751));
	T_EQ(mode_of(dir), 0751);
	umask(0077);
	T_EQ(ipk_sock_dir(dir, 010000), -EINVAL);

	/* a symbolic link planted at the directory's path */
	snprintf(link, sizeof(link), "%s.lnk", dir);
	(void)unlink(link);
	T_SYS(symlink(dir, link));
	T_EQ(ipk_sock_dir(link, 0700), -ELOOP);
	T_EQ(mode_of(dir), 0751); /* the target was not touched */
	unlink(link);
	/* a regular file */
	snprintf(file, sizeof(file), "%s/file", dir);
	close(open(file, O_CREAT | O_WRONLY | O_CLOEXEC, 0600));
	T_EQ(ipk_sock_dir(file, 0700), -ENOTDIR);

	/* socket file: perm= wins over the umask */
	umask(0277);
	snprintf(sock, sizeof(sock), "%s/s.sock", dir);
	snprintf(url, sizeof(url), "unix:%s?perm=0660", sock);
	T_OK(ipk_listen(url, 0, &l));
	T_EQ(mode_of(sock), 0660);
	ipk_listener_close(l);
	umask(0077);
	snprintf(url, sizeof(url), "unix:%s", sock);
	T_OK(ipk_listen(url, 0, &l));
	T_EQ(mode_of(sock), 0600); /* the default */
	ipk_listener_close(l);

	/* a link planted where the socket goes: never followed */
	snprintf(link, sizeof(link), "%s/planted", dir);
	T_SYS(symlink(file, link));
	snprintf(u, sizeof(u), "unix:%s", link);
	T_EQ(ipk_listen(u, 0, &l), -ELOOP);
	T_EQ(mode_of(file), 0600);
	unlink(link);

	/* a unix: URL naming a regular file: not a socket, said at once */
	snprintf(u, sizeof(u), "unix:%s", file);
	T_EQ(ipk_chan_open(u, 0, 5 * IPK_SEC, &c), -ENOTSOCK);
	snprintf(u, sizeof(u), "unix+seqpacket:%s", file);
	T_EQ(ipk_chan_open(u, 0, 0, &c), -ENOTSOCK);
	T_EQ(ipk_listen(u, 0, &l), -EEXIST); /* and never replaced */
	/* a missing one is still waited for (-ENOENT with timeout 0) */
	snprintf(u, sizeof(u), "unix:%s/none", dir);
	T_EQ(ipk_chan_open(u, 0, 0, &c), -ENOENT);

	/* abstract: only with '@', and no file appears anywhere */
	snprintf(u, sizeof(u), "unix:@%s/abs", dir);
	T_OK(ipk_listen(u, 0, &l));
	{
		char p[300];
		struct stat st;

		snprintf(p, sizeof(p), "%s/abs", dir);
		T_EQ(lstat(p, &st), -1);
		T_EQ(errno, ENOENT);
	}
	ipk_listener_close(l);

	unlink(file);
	T_SYS(rmdir(dir));
	printf("ok\n");
	return 0;
}
