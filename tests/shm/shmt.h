/* SPDX-License-Identifier: MIT */
/*
 * tests/shm/shmt.h - helpers for the shared-memory tests: per-process
 * names for every backing, privilege dropping, descriptor counting, and
 * waiting for a child's death by signal.
 */
#ifndef IPCKIT_TESTS_SHMT_H
#define IPCKIT_TESTS_SHMT_H

#include <dirent.h>
#include <fcntl.h>
#include <grp.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/shm.h>
#include <sys/stat.h>

#include "../harness.h"

#define SHMT_KINDS 4

static char shmt_names[SHMT_KINDS + 1][256];

static inline const char *shmt_kind_name(enum ipk_shm_kind k)
{
	switch (k) {
	case IPK_SHM_POSIX:
		return "posix";
	case IPK_SHM_SYSV:
		return "sysv";
	case IPK_SHM_MEMFD:
		return "memfd";
	case IPK_SHM_FILE:
		return "file";
	}
	return "?";
}

/* A System V key nobody else uses: the pid in the low bits, @n above. */
static inline key_t shmt_key(unsigned n)
{
	return (key_t)(0x53000000u | ((n & 0xffu) << 16) | ((unsigned)getpid() & 0xffffu));
}

/* A ref of @kind unique to this process and @tag (0..255). */
static inline struct ipk_shm_ref shmt_ref(enum ipk_shm_kind kind, unsigned tag)
{
	struct ipk_shm_ref r = { .kind = kind };
	char *buf = shmt_names[kind];

	switch (kind) {
	case IPK_SHM_POSIX:
		snprintf(buf, 256, "/ipk-shm-%u-%d", tag, (int)getpid());
		r.name = buf;
		break;
	case IPK_SHM_FILE:
		snprintf(buf, 256, "/tmp/ipk-shm-%u-%d", tag, (int)getpid());
		r.name = buf;
		break;
	case IPK_SHM_MEMFD:
		snprintf(buf, 256, "ipk-shm-%u", tag);
		r.name = buf;
		break;
	case IPK_SHM_SYSV:
		r.key = shmt_key(tag);
		break;
	}
	return r;
}

/* Does the named object exist (as seen without ipckit)? */
static inline bool shmt_exists(const struct ipk_shm_ref *r)
{
	char path[300];

	switch (r->kind) {
	case IPK_SHM_POSIX:
		snprintf(path, sizeof(path), "/dev/shm%s", r->name);
		return access(path, F_OK) == 0;
	case IPK_SHM_FILE:
		return access(r->name, F_OK) == 0;
	case IPK_SHM_SYSV:
		return shmget(r->key, 0, 0) >= 0;
	case IPK_SHM_MEMFD:
		break;
	}
	return false;
}

/* Remove a leftover of a failed earlier run, or a kept object. */
static inline void shmt_unlink(const struct ipk_shm_ref *r)
{
	int id;

	switch (r->kind) {
	case IPK_SHM_POSIX:
		(void)shm_unlink(r->name);
		break;
	case IPK_SHM_FILE:
		(void)unlink(r->name);
		break;
	case IPK_SHM_SYSV:
		id = shmget(r->key, 0, 0);
		if (id >= 0)
			(void)shmctl(id, IPC_RMID, NULL);
		break;
	case IPK_SHM_MEMFD:
		break;
	}
}

/* Wait for @pid and assert that signal @sig killed it. */
static inline void shmt_wait_signal(pid_t pid, int sig)
{
	int st;

	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			T_FAIL("waitpid: %s", strerror(errno));
	if (!WIFSIGNALED(st))
		T_FAIL("child %d: exit %d, want death by signal %d", (int)pid,
		       WIFEXITED(st) ? WEXITSTATUS(st) : -1, sig);
	T_EQ(WTERMSIG(st), sig);
}

/* In a child about to crash on purpose: no core file, default action
 * (also under AddressSanitizer, which otherwise reports and exits). */
static inline void shmt_crash_quietly(int sig)
{
	struct rlimit rl = { 0, 0 };
	struct sigaction sa;

	(void)setrlimit(RLIMIT_CORE, &rl);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	(void)sigaction(sig, &sa, NULL);
}

/* Spin until *@p == @want, for at most 10 s. */
static inline void shmt_await(_Atomic uint32_t *p, uint32_t want)
{
	struct timespec t0, t;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (atomic_load_explicit(p, memory_order_acquire) != want) {
		clock_gettime(CLOCK_MONOTONIC, &t);
		if (t.tv_sec - t0.tv_sec > 10)
			T_FAIL("waited 10 s for %u, have %u", want,
			       atomic_load_explicit(p, memory_order_relaxed));
		sched_yield();
	}
}

#endif /* IPCKIT_TESTS_SHMT_H */
