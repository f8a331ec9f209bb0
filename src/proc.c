/* SPDX-License-Identifier: MIT */
/*
 * proc.c - what /proc says about a process, for the liveness checks of the
 * ring and of ipckit ls/gc: a pid and its start time name one process for
 * good.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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
