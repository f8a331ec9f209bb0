/* SPDX-License-Identifier: MIT */
/*
 * tests/names/names.h - what the tests of hostile and odd things at a
 * channel's name share: timed calls and a second user.
 */
#ifndef IPCKIT_TESTS_NAMES_H
#define IPCKIT_TESTS_NAMES_H

#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdint.h>
#include <time.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include "../harness.h"

/* Slack over a timeout for a call that must return within it. */
#define N_SLACK_MS 500
/* A refusal must come this soon, whatever the timeout. */
#define N_PROMPT_MS 300

static inline int64_t n_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* @expr == @want, and it returned within @max_ms. */
#define N_TIMED(expr, want, max_ms)                                                            \
	do {                                                                                   \
		int64_t n_t0_ = n_now_ms();                                                    \
		T_EQ((expr), (want));                                                          \
		int64_t n_ms_ = n_now_ms() - n_t0_;                                            \
		if (n_ms_ > (max_ms))                                                          \
			T_FAIL("%s: took %lld ms, want at most %lld", #expr, (long long)n_ms_, \
			       (long long)(max_ms));                                           \
	} while (0)

/* Refused with @want at once, though it was given 2 s. */
#define N_REFUSED(expr, want) N_TIMED(expr, want, N_PROMPT_MS)

/* The second user's ids: nobody and its group. Skips unless root. */
static inline void n_nobody(uid_t *uid, gid_t *gid)
{
	struct passwd *pw;

	if (geteuid() != 0)
		T_SKIP("not root: cannot act as a second user (run as root)");
	pw = getpwnam("nobody");
	if (!pw)
		T_SKIP("no user 'nobody' to act as a second user");
	*uid = pw->pw_uid;
	*gid = pw->pw_gid;
}

/* Run @fn in a child that is nobody (no supplementary groups); assert it
 * exited 0. */
static inline void n_as_nobody(int (*fn)(void *), void *arg)
{
	uid_t uid;
	gid_t gid;
	pid_t pid;

	n_nobody(&uid, &gid);
	pid = fork();
	if (pid < 0)
		T_FAIL("fork: %s", strerror(errno));
	if (pid == 0) {
		if (setgroups(0, NULL) < 0 || setgid(gid) < 0 || setuid(uid) < 0)
			_exit(99);
		umask(0);
		_exit(fn(arg));
	}
	t_wait_exit(pid, 0);
}

static inline void n_lstat(const char *p, struct stat *st)
{
	T_SYS(lstat(p, st));
}

/* The inode at @p is still @st's (same kind, same file). */
static inline void n_same(const char *p, const struct stat *st)
{
	struct stat now;

	n_lstat(p, &now);
	T_EQ(now.st_ino, st->st_ino);
	T_EQ(now.st_mode & S_IFMT, st->st_mode & S_IFMT);
	T_EQ(now.st_uid, st->st_uid);
}

static inline void n_write_file(const char *p)
{
	int fd = (int)T_SYS(open(p, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644));

	T_EQ(write(fd, "data\n", 5), 5);
	close(fd);
}

/* A Unix socket file at @p: stale (closed, returns -1) or live (listening,
 * returns the socket). */
static inline int n_socket_file(const char *p, bool live)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = (int)T_SYS(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));

	T_TRUE(strlen(p) < sizeof(sa.sun_path));
	memcpy(sa.sun_path, p, strlen(p) + 1);
	T_SYS(bind(fd, (struct sockaddr *)&sa, sizeof(sa)));
	if (!live) {
		close(fd);
		return -1;
	}
	T_SYS(listen(fd, 4));
	return fd;
}

/* Remove whatever is at @p (a directory too). */
static inline void n_clear(const char *p)
{
	if (unlink(p) < 0 && errno == EISDIR)
		(void)rmdir(p);
}

/* ipk_chan_name_owner() names the owner and mode a refusal was about. */
static inline void n_owner_is(const char *url, uid_t uid, mode_t perm)
{
	uid_t got_uid = 0;
	mode_t got_mode = 0;

	T_EQ(ipk_chan_name_owner(url, &got_uid, &got_mode), 0);
	T_EQ(got_uid, uid);
	T_EQ(got_mode & 07777, perm);
}

/* Run @fn unless the command line names other parts to run (to see
 * one part fail on its own: test-names_fifo owners). */
#define N_PART(argc, argv, fn)                                    \
	do {                                                      \
		bool n_run_ = (argc) < 2;                         \
		for (int n_i_ = 1; n_i_ < (argc); n_i_++)         \
			n_run_ |= strcmp((argv)[n_i_], #fn) == 0; \
		if (n_run_) {                                     \
			fprintf(stderr, "-- %s\n", #fn);          \
			fn();                                     \
		}                                                 \
	} while (0)

#endif /* IPCKIT_TESTS_NAMES_H */
