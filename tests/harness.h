/* SPDX-License-Identifier: MIT */
/*
 * tests/harness.h - the assertions every ipckit test uses.
 *
 * A test is its own program: exit 0 passes, 77 skips, anything else fails.
 * A failed assertion prints "file:line: expr: got X, want Y" and aborts, so
 * a forked child that fails shows up in the parent's waitpid status.
 */
#ifndef IPCKIT_TESTS_HARNESS_H
#define IPCKIT_TESTS_HARNESS_H

#include <dirent.h>
#include <errno.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>

#include <ipckit/ipckit.h>

#define T_FAIL(...)                                             \
	do {                                                    \
		fprintf(stderr, "%s:%d: ", __FILE__, __LINE__); \
		fprintf(stderr, __VA_ARGS__);                   \
		fputc('\n', stderr);                            \
		abort();                                        \
	} while (0)

/* Integers of any width; negative values that look like errnos are named. */
#define T_EQ(got, want)                                                                            \
	do {                                                                                       \
		long long t_got_ = (long long)(got), t_want_ = (long long)(want);                  \
		if (t_got_ != t_want_)                                                             \
			T_FAIL("%s: got %lld%s%s, want %lld%s%s", #got, t_got_, t_errtag(t_got_),  \
			       t_errname(t_got_), t_want_, t_errtag(t_want_), t_errname(t_want_)); \
	} while (0)

#define T_NE(got, bad)                                                            \
	do {                                                                      \
		long long t_got_ = (long long)(got);                              \
		if (t_got_ == (long long)(bad))                                   \
			T_FAIL("%s: got %lld, want anything else", #got, t_got_); \
	} while (0)

#define T_TRUE(cond)                                \
	do {                                        \
		if (!(cond))                        \
			T_FAIL("%s: false", #cond); \
	} while (0)

/* expr >= 0, else the errno name of the negative result. */
#define T_OK(expr)                                                                    \
	({                                                                            \
		long long t_r_ = (long long)(expr);                                   \
		if (t_r_ < 0)                                                         \
			T_FAIL("%s: %lld (%s)", #expr, t_r_, ipk_errname((int)t_r_)); \
		t_r_;                                                                 \
	})

/* A libc call that returns -1 and sets errno. */
#define T_SYS(expr)                                                                        \
	({                                                                                 \
		long long t_r_ = (long long)(expr);                                        \
		if (t_r_ < 0)                                                              \
			T_FAIL("%s: %s (%s)", #expr, strerror(errno), ipk_errname(errno)); \
		t_r_;                                                                      \
	})

#define T_MEMEQ(got, want, n)                                                             \
	do {                                                                              \
		if (memcmp((got), (want), (n)) != 0)                                      \
			T_FAIL("%s: %zu bytes differ from %s", #got, (size_t)(n), #want); \
	} while (0)

#define T_SKIP(...)                                                  \
	do {                                                         \
		fprintf(stderr, "SKIP %s:%d: ", __FILE__, __LINE__); \
		fprintf(stderr, __VA_ARGS__);                        \
		fputc('\n', stderr);                                 \
		exit(77);                                            \
	} while (0)

static inline const char *t_errtag(long long v)
{
	return v < 0 && v > -4096 ? " " : "";
}

static inline const char *t_errname(long long v)
{
	return v < 0 && v > -4096 ? ipk_errname((int)v) : "";
}

/* Whether this test runs under an emulator (meson's exe wrapper for a cross
 * build, qemu-user): for the few checks an emulator cannot pass. */
static inline bool t_emulated(void)
{
	const char *w = getenv("MESON_EXE_WRAPPER");

	return w && strstr(w, "qemu");
}

/* A name unique to this process: "/tmp/ipk-<tag>-<pid>". */
static inline const char *t_path(char *buf, size_t len, const char *tag)
{
	snprintf(buf, len, "/tmp/ipk-%s-%d", tag, (int)getpid());
	return buf;
}

/* Run @fn in a forked child that exits with fn's return value. */
static inline pid_t t_fork(int (*fn)(void *), void *arg)
{
	pid_t pid = fork();

	if (pid < 0)
		T_FAIL("fork: %s", strerror(errno));
	if (pid == 0)
		_exit(fn(arg));
	return pid;
}

/* Wait for @pid and assert that it exited with @code. */
static inline void t_wait_exit(pid_t pid, int code)
{
	int st;

	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			T_FAIL("waitpid: %s", strerror(errno));
	if (!WIFEXITED(st))
		T_FAIL("child %d: killed by signal %d, want exit %d", (int)pid,
		       WIFSIGNALED(st) ? WTERMSIG(st) : -1, code);
	if (WEXITSTATUS(st) != code)
		T_FAIL("child %d: exit %d, want %d", (int)pid, WEXITSTATUS(st), code);
}

/* Become uid/gid 65534 if root (for permission tests, in a child).
 * Return: 0 (also when not root: nothing to drop); -1 if it failed. */
static inline int t_drop_root(void)
{
	if (geteuid() != 0)
		return 0;
	if (setgroups(0, NULL) < 0 || setgid(65534) < 0 || setuid(65534) < 0)
		return -1;
	return geteuid() == 65534 && getegid() == 65534 ? 0 : -1;
}

/* Number of open descriptors of this process. */
static inline int t_count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	if (!d)
		T_FAIL("opendir /proc/self/fd: %s", strerror(errno));
	while ((e = readdir(d)))
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n - 1; /* the directory's own descriptor */
}

#endif /* IPCKIT_TESTS_HARNESS_H */
