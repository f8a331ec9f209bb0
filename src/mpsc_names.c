/* SPDX-License-Identifier: MIT */
/*
 * mpsc_names.c - ipk_mpsc's names and the futex calls its two sides share:
 * "/name" must be one slash and leave room for "-door"; the doorbell is
 * made, kept or replaced here. Every named object goes through shmname.c
 * (complete at its name, only ours adopted, removed only while the name
 * leads to it). What lies inside the objects is mpsc_layout.h's.
 */
#include <fcntl.h>
#include <string.h>
#include <unistd.h>
#include <linux/futex.h>
#include <sys/syscall.h>

#include "mpsc_layout.h"

void (*ipk__mpsc_test_step)(int step);

int ipk__mpsc_check_name(const char *name)
{
	size_t n;

	if (!name || name[0] != '/')
		return -EINVAL;
	n = strlen(name);
	if (n < 2 || n + sizeof(IPK__MPSC_DOOR) > NAME_MAX || strchr(name + 1, '/'))
		return -EINVAL;
	return 0;
}

void ipk__mpsc_door_name(const char *name, char *buf)
{
	size_t n = strlen(name);

	memcpy(buf, name, n);
	memcpy(buf + n, IPK__MPSC_DOOR, sizeof(IPK__MPSC_DOOR));
}

int ipk__mpsc_futex_wait(_Atomic uint32_t *word, uint32_t val, int64_t deadline_ns)
{
	struct timespec ts = { .tv_sec = deadline_ns / IPK_SEC, .tv_nsec = deadline_ns % IPK_SEC };

	/* Absolute CLOCK_MONOTONIC deadline: EINTR needs no recomputation. */
	if (syscall(SYS_futex, word, FUTEX_WAIT_BITSET, val, &ts, NULL, FUTEX_BITSET_MATCH_ANY) < 0)
		return errno == ETIMEDOUT ? -ETIMEDOUT : 0; /* EAGAIN, EINTR: look again */
	return 0;
}

void ipk__mpsc_futex_wake(_Atomic uint32_t *word)
{
	(void)syscall(SYS_futex, word, FUTEX_WAKE, INT_MAX, NULL, NULL, 0);
}
