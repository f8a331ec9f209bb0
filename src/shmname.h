/* SPDX-License-Identifier: MIT */
/*
 * shmname.h - POSIX shared-memory names (/dev/shm) that stay what their
 * creator made of them: an object appears at its name complete, is opened
 * only if it is a regular file (and, for a creator, its owner's), and is
 * removed only while the name still leads to it. Also the anonymous
 * objects (memfds) that stand in for named ones. ipk_shm and the ring
 * make, open and remove their objects only through here.
 */
#ifndef IPK_SHMNAME_H
#define IPK_SHMNAME_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>
#include <sys/types.h>

#define IPK__SHM_DIR "/dev/shm" /* where glibc's shm_open() keeps POSIX objects */

/* Which file a name led to when we made or opened it. */
struct ipk__shm_id {
	dev_t dev;
	ino_t ino;
};

/*
 * ipk__shm_new() - an object no name leads to yet: @size bytes, all of
 * them allocated now (a full tmpfs is -ENOSPC here, never SIGBUS at the
 * first touch of a page), mode @mode exactly, and with @lock, flock(LOCK_EX)
 * held on it before anyone can see it.
 * Return: a close-on-exec read-write descriptor; -ENOSPC; -errno.
 */
int ipk__shm_new(size_t size, mode_t mode, bool lock);

/*
 * ipk__shm_link() - give the object of @fd (from ipk__shm_new()) the name
 * @name ("/name"), atomically: nobody ever sees it at the name half made.
 * Return: 0 and *@id; -EEXIST if something is at the name; -errno.
 */
int ipk__shm_link(int fd, const char *name, struct ipk__shm_id *id);

/*
 * ipk__shm_open() - open what is at @name with @oflags (O_RDONLY or
 * O_RDWR), never following a symbolic link and never blocking (a FIFO
 * planted at the name is refused, not waited on).
 * @mine: also require what a creator may adopt (ipk__owner_check()): owned
 *        by our effective uid, and open to group and others no more than
 *        @mode is
 * Return: a close-on-exec descriptor and *@st; -ENOENT; -EPROTO (not a
 * regular file: a FIFO, directory, socket, device or symbolic link);
 * -EPERM (@mine: another owner, or a mode we did not ask for); -EACCES.
 */
int ipk__shm_open(const char *name, int oflags, bool mine, mode_t mode, struct stat *st);

/*
 * ipk__shm_unlink() - remove @name while it still leads to @id.
 * Return: 0; -ESTALE (another object has the name now: left alone);
 * -ENOENT; -EACCES (not ours to remove, as shm_unlink(3) says); -errno.
 */
int ipk__shm_unlink(const char *name, const struct ipk__shm_id *id);

/*
 * ipk__shm_memfd() - an anonymous object of @size bytes with no name at
 * all: a memfd labelled @label (what /proc/PID/fd shows), close-on-exec,
 * sealable (the caller adds the seals once its own mappings exist).
 * Return: a read-write descriptor; -errno.
 */
int ipk__shm_memfd(const char *label, size_t size);

#endif
