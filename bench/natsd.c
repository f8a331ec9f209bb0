/* SPDX-License-Identifier: MIT */
/*
 * bench/natsd.c - start and stop nats-server processes (natsd.h).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"
#include "natsd.h"

#define MAX_ARGS 40

const char *natsd_path(void)
{
	static const char *const where[] = { "/usr/sbin/nats-server", "/usr/bin/nats-server",
					     "/usr/local/bin/nats-server" };

	for (size_t i = 0; i < sizeof(where) / sizeof(where[0]); i++)
		if (access(where[i], X_OK) == 0)
			return where[i];
	return NULL;
}

int natsd_free_port(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), port = -EADDRNOTAVAIL;

	if (fd < 0)
		return bench_neg_errno();
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
	    getsockname(fd, (struct sockaddr *)&a, &len) < 0)
		port = bench_neg_errno();
	else if (ntohs(a.sin_port) > 0)
		port = ntohs(a.sin_port);
	close(fd);
	return port;
}

bool natsd_listening(int port)
{
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK),
				 .sin_port = htons((uint16_t)port) };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	bool ok = fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0;

	if (fd >= 0)
		close(fd);
	return ok;
}

int natsd_spawn(int port, const char *const *extra, const char *log, void (*in_child)(void),
		pid_t *ret)
{
	const char *bin = natsd_path(), *argv[MAX_ARGS];
	char portarg[16];
	int n = 0;
	pid_t pid;

	if (!bin)
		return -ENOENT;
	snprintf(portarg, sizeof(portarg), "%d", port);
	argv[n++] = bin;
	argv[n++] = "-a";
	argv[n++] = "127.0.0.1";
	argv[n++] = "-p";
	argv[n++] = portarg;
	for (; extra && *extra; extra++) {
		if (n == MAX_ARGS - 1)
			return -E2BIG;
		argv[n++] = *extra;
	}
	argv[n] = NULL;
	pid = fork();
	if (pid < 0)
		return bench_neg_errno();
	if (pid == 0) {
		int fd;

		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (in_child)
			in_child();
		/* Its output is not the caller's: a table or a test's TAP. */
		if (log)
			fd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
		else
			fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
		if (fd < 0 || dup2(fd, STDOUT_FILENO) < 0 || dup2(fd, STDERR_FILENO) < 0)
			_exit(126);
		execv(bin, (char **)argv);
		_exit(127);
	}
	*ret = pid;
	return 0;
}

int natsd_ready(pid_t *pid, int port)
{
	if (natsd_listening(port))
		return 1;
	if (*pid > 0 && waitpid(*pid, NULL, WNOHANG) == *pid) {
		*pid = 0;
		return -ECHILD;
	}
	return 0;
}

void natsd_stop(pid_t *pid, int sig)
{
	if (*pid <= 0)
		return;
	kill(*pid, sig);
	while (waitpid(*pid, NULL, 0) < 0 && errno == EINTR)
		;
	*pid = 0;
}
