/* SPDX-License-Identifier: MIT */
/*
 * mpsc_names.c - ipk_mpsc's names and the futex calls its two sides share:
 * "/name" must be one slash and leave room for "-door"; the consumer's
 * header is made or taken over, and the doorbell made, kept or replaced,
 * here. Every named object goes through shmname.c
 * (complete at its name, only ours adopted, removed only while the name
 * leads to it). What lies inside the objects is mpsc_layout.h's.
 */
#include <fcntl.h>
#include <string.h>
#include <unistd.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <linux/futex.h>
#include <sys/syscall.h>

#include "mpsc_layout.h"
#include "shmname.h"

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

/*
 * "/name": take over a dead consumer's (its lock is free) or make a new
 * one, linked at the name at once, locked and still without magic
 * (producers that find it so wait). Something of ours that is not a queue
 * (a ring, ipk_shm) is -EPROTO, not replaced.
 */
int ipk__mpsc_open_header(const char *name, mode_t mode, bool excl, int *ret_fd,
			  struct ipk__shm_id *id, bool *fresh)
{
	for (int tries = 0; tries < 16; tries++) {
		struct stat st;
		uint32_t magic = 0;
		int fd, rc;

		fd = excl ? -ENOENT : ipk__shm_open(name, O_RDWR, true, mode, &st);
		if (fd >= 0) {
			*ret_fd = fd;
			*id = (struct ipk__shm_id){ st.st_dev, st.st_ino };
			if (st.st_size != IPK__MPSC_HDR_SIZE ||
			    pread(fd, &magic, sizeof(magic), 0) != (ssize_t)sizeof(magic) ||
			    (magic != 0 && magic != IPK__MPSC_MAGIC))
				return -EPROTO;
			if (flock(fd, LOCK_EX | LOCK_NB) < 0)
				return errno == EWOULDBLOCK ? -EBUSY : ipk__neg_errno();
			*fresh = false;
			return 0;
		}
		if (fd != -ENOENT)
			return fd;
		fd = ipk__shm_new(IPK__MPSC_HDR_SIZE, mode, true);
		if (fd < 0)
			return fd;
		rc = ipk__shm_link(fd, name, id);
		if (rc == 0) {
			*ret_fd = fd;
			*fresh = true;
			return 0;
		}
		ipk__close(fd);
		if (rc != -EEXIST || excl)
			return rc;
	}
	return -EBUSY;
}

/* The doorbell: a new queue gets a new one in place of whatever of ours is
 * there; a queue taken over keeps its own if it is whole. */
int ipk__mpsc_open_door(const char *door, mode_t mode, bool fresh, int *ret_fd,
			struct ipk__shm_id *id)
{
	for (int tries = 0; tries < 16; tries++) {
		struct stat st;
		int fd = ipk__shm_open(door, O_RDWR, true, mode, &st), rc;

		if (fd >= 0) {
			*id = (struct ipk__shm_id){ st.st_dev, st.st_ino };
			if (!fresh && st.st_size == IPK__MPSC_DOOR_SIZE) {
				*ret_fd = fd;
				return 0;
			}
			ipk__close(fd);
			rc = ipk__shm_unlink(door, id);
			if (rc < 0 && rc != -ENOENT && rc != -ESTALE)
				return rc;
		} else if (fd != -ENOENT) {
			return fd;
		}
		fd = ipk__shm_new(IPK__MPSC_DOOR_SIZE, mode, false);
		if (fd < 0)
			return fd;
		rc = ipk__shm_link(fd, door, id);
		if (rc == 0) {
			*ret_fd = fd;
			return 0;
		}
		ipk__close(fd);
		if (rc != -EEXIST)
			return rc;
	}
	return -EBUSY;
}
