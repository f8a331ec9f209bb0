/* SPDX-License-Identifier: MIT */
/*
 * proc.c - the one place that reads /proc and tells whether a process
 * lives: a pid and its start time name one process for good (the ring's
 * publisher checks, ipk_pidwatch, ipckit ls/gc); kernel limits under
 * /proc/sys; and reopening a descriptor through /proc/self/fd.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/syscall.h>

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434 /* the same number on every architecture */
#endif

#include "internal.h"

/* The task/ path, not /proc/PID/stat, because qemu-user fakes the latter
 * for the emulated process itself (with another start time). */
int ipk__proc_start_time(pid_t pid, uint64_t *ret)
{
	char path[64], buf[1024];
	const char *p;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/stat", (int)pid, (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return ipk__neg_errno();
	n = read(fd, buf, sizeof(buf) - 1);
	ipk__close(fd);
	if (n <= 0)
		return -EIO;
	buf[n] = '\0';
	/* The command name (field 2) may hold spaces and parentheses: count
	 * fields from the last ')'. */
	p = strrchr(buf, ')');
	for (int field = 2; p && field < 22; field++)
		p = strchr(p + 1, ' ');
	if (!p || p[1] < '0' || p[1] > '9')
		return -EIO;
	*ret = strtoull(p + 1, NULL, 10);
	return 0;
}

int ipk__pidfd_open(pid_t pid)
{
	return pid <= 0 ? -1 : (int)syscall(SYS_pidfd_open, pid, 0);
}

bool ipk__pid_exists(pid_t pid)
{
	return pid > 0 && (kill(pid, 0) == 0 || errno == EPERM);
}

bool ipk__pid_alive(pid_t pid, uint64_t start, int pidfd)
{
	uint64_t now;

	if (pidfd >= 0) {
		struct pollfd pfd = { .fd = pidfd, .events = POLLIN };

		return poll(&pfd, 1, 0) == 0;
	}
	if (pid <= 0 || (kill(pid, 0) < 0 && errno == ESRCH))
		return false;
	return start == 0 || ipk__proc_start_time(pid, &now) < 0 || now == start;
}

int64_t ipk__proc_i64(const char *path)
{
	char buf[32];
	uint64_t v;
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	n = ipk__read_eintr(fd, buf, sizeof(buf) - 1);
	ipk__close(fd);
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
		n--;
	if (n <= 0 || ipk__parse_u64(buf, (size_t)n, 10, &v) < 0 || v > INT64_MAX)
		return -1;
	return (int64_t)v;
}

int ipk__reopen(int fd, int flags)
{
	char path[32];
	int r;

	(void)snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	r = open(path, flags | O_CLOEXEC | O_NOCTTY);
	return r < 0 ? ipk__neg_errno() : r;
}
