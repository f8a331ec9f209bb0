/* SPDX-License-Identifier: MIT */
/*
 * internal.h - helpers every module of the library shares: errno
 * conversion, argument checks, deadlines and the one I/O loop (io.c).
 */
#ifndef IPK_INTERNAL_H
#define IPK_INTERNAL_H

#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

#include <ipckit/common.h>

/* Convert errno right after the failing call; never "success" by accident. */
/* A positive error code as our result: a kernel without the call
 * (ENOSYS) is -EOPNOTSUPP, here and nowhere else. */
static inline int ipk__neg(int err)
{
	return err == ENOSYS ? -EOPNOTSUPP : -err;
}

static inline int ipk__neg_errno(void)
{
	return errno > 0 ? ipk__neg(errno) : -EIO;
}

#define IPK_CHECK_ARG(cond)             \
	do {                            \
		if (!(cond))            \
			return -EINVAL; \
	} while (0)

/*
 * Deadlines are absolute CLOCK_MONOTONIC nanoseconds, computed once at the
 * public entry. Two values are special: IPK__NOWAIT (try once, then
 * -EAGAIN) and IPK__NEVER (no limit).
 */
/* Defined in ThreadSanitizer builds (gcc says __SANITIZE_THREAD__, clang
 * __has_feature), where a few calls take the variant the checker models. */
#if defined(__SANITIZE_THREAD__)
#define IPK__TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define IPK__TSAN 1
#endif
#endif

#define IPK__NOWAIT ((int64_t)0)
#define IPK__NEVER INT64_MAX

int64_t ipk__now_ns(void);
int64_t ipk__deadline(int64_t timeout_ns);

/*
 * ipk__wait_fd() - wait until @fd reports one of @events or an error
 *
 * Return: the revents seen (> 0); -EAGAIN for IPK__NOWAIT; -ETIMEDOUT.
 * Retries EINTR without moving the deadline.
 */
int ipk__wait_fd(int fd, short events, int64_t deadline_ns);

/*
 * ipk__retry_wait() - after a call on non-blocking @fd failed with errno:
 * 0 to make it again (EINTR, or @fd became ready for @events); a negative
 * errno (the call's, or -EAGAIN / -ETIMEDOUT from the wait) otherwise.
 */
int ipk__retry_wait(int fd, short events, int64_t deadline_ns);

/*
 * ipk__sleep_until() - sleep until @deadline_ns or for @step_ns, whichever
 * comes first, for retry loops that have nothing to poll.
 *
 * Return: 0 after sleeping; -EAGAIN for IPK__NOWAIT; -ETIMEDOUT if the
 * deadline has already passed.
 */
int ipk__sleep_until(int64_t deadline_ns, int64_t step_ns);

/*
 * ipk__read_record() - read exactly one record of @len bytes from a
 * non-blocking descriptor that hands out whole records (eventfd, timerfd,
 * signalfd, a pipe of fixed-size records), waiting until @deadline_ns.
 *
 * Return: 0; -EIO for a short read (never part of a record: never spin on
 * it); -EAGAIN (IPK__NOWAIT); -ETIMEDOUT; other -errno. Retries EINTR.
 */
int ipk__read_record(int fd, void *buf, size_t len, int64_t deadline_ns);

/*
 * ipk__writev_some() - one writev() that never raises SIGPIPE
 * @is_socket: use sendmsg(MSG_NOSIGNAL); otherwise block SIGPIPE around
 *             the write and consume the one it raised
 *
 * Return: bytes written (> 0); -EAGAIN; -EPIPE; other -errno. Retries EINTR.
 */
ssize_t ipk__writev_some(int fd, bool is_socket, struct iovec *iov, int iovcnt);

/*
 * ipk__read_eintr() / ipk__write_eintr() - one read() or write(), retried
 * while a signal interrupts it (a short count is the caller's business).
 * ipk__waitpid_eintr() - waitpid(@pid, @status, 0), retried likewise.
 * Return: the count (>= 0) or 0; -errno (-EAGAIN on a non-blocking fd).
 */
ssize_t ipk__read_eintr(int fd, void *buf, size_t len);
ssize_t ipk__write_eintr(int fd, const void *buf, size_t len);
int ipk__waitpid_eintr(pid_t pid, int *status);

/* Drop @n written bytes from the front of @iov; returns the new start. */
struct iovec *ipk__iov_advance(struct iovec *iov, int *iovcnt, size_t n);

/* Sum of the lengths; -EMSGSIZE if it overflows or @iovcnt is bad. */
ssize_t ipk__iov_len(const struct iovec *iov, int iovcnt);

/* Copy the parts of @iov one after the other into @dst (room for them all),
 * for transports whose kernel call takes one buffer. */
void ipk__iov_gather(void *dst, const struct iovec *iov, int iovcnt);

/* Parse a decimal (or with @base 8, octal) size; -EINVAL unless whole. */
int ipk__parse_u64(const char *s, size_t n, int base, uint64_t *ret);

/* Set O_NONBLOCK and FD_CLOEXEC on an fd the kernel gave us without them. */
int ipk__fd_nonblock_cloexec(int fd);

/* close() that keeps errno and is never retried. */
void ipk__close(int fd);

/*
 * A file this process created (FIFO, socket file). It is removed on close
 * only while the inode at the path is still the one it made, so a
 * successor's object at the same path is never deleted.
 */
struct ipk__ownfile {
	char path[PATH_MAX];
	dev_t dev;
	ino_t ino;
	bool created;
};

/* Record @path as created by us (lstat now). */
int ipk__ownfile_note(struct ipk__ownfile *f, const char *path);
/* Unlink it if it is still ours; forget it either way. */
void ipk__ownfile_remove(struct ipk__ownfile *f);

/*
 * ipk__owner_check() - may an end that creates adopt an object that already
 * exists at its name (IPK_CHAN_CREATE without IPK_CHAN_EXCL)?
 * @uid:  the object's owner (st_uid, msg_perm.uid)
 * @mode: its permission bits (st_mode, msg_perm.mode)
 * @want: the mode the caller asked for (perm=, default 0600)
 *
 * Return: 0 if it belongs to our effective uid and lets group and others
 * read or write no more than @want does; -EPERM otherwise (another user's
 * object, or one others may already have open). Never touches the object.
 */
int ipk__owner_check(uid_t uid, mode_t mode, mode_t want);

/* ring_names.c: what a named ring's companion objects add to its name (the
 * doorbell page, the queue consumer's page), and the list of both,
 * NULL-ended, for ipckit ls/rm/gc. */
#define IPK__RING_BELL "-bell"
#define IPK__RING_CONS "-cons"
extern const char *const ipk__ring_parts[];

/*
 * ipk__proc_start_time() - field 22 of /proc/PID/task/PID/stat: when the
 * process (its first thread) started, in clock ticks since boot. With the
 * pid it names one process for good: one that reuses a dead process's pid
 * has another start time.
 * Return: 0 and *@ret; -errno (no /proc, no such process, unparsable).
 */
int ipk__proc_start_time(pid_t pid, uint64_t *ret);

/* ipk__pidfd_open() - a descriptor that polls readable once @pid exits
 * (always close-on-exec); -1 if @pid <= 0 or the kernel has no pidfd_open
 * (before 5.3). */
int ipk__pidfd_open(pid_t pid);

/* ipk__pid_exists() - is there a process @pid? (EPERM: there is, we may
 * not signal it.) A stopped process exists; so does a zombie. */
bool ipk__pid_exists(pid_t pid);

/*
 * ipk__pid_alive() - does the process @pid that started at @start (0 if
 * unknown) still live? With @pidfd >= 0 (from ipk__pidfd_open): not yet
 * readable. Without: kill(pid, 0), and a live pid whose start time differs
 * is a stranger that reuses the number of a dead process.
 */
bool ipk__pid_alive(pid_t pid, uint64_t start, int pidfd);

/* ipk__proc_i64() - the number in a /proc/sys file such as
 * /proc/sys/fs/mqueue/msg_max; -1 if it cannot be read. */
int64_t ipk__proc_i64(const char *path);

/*
 * ipk__reopen() - a new open file description of @fd's object, opened
 * through /proc/self/fd with @flags (O_CLOEXEC added). Unlike a dup it has
 * its own access mode (O_RDONLY: no mapping of it can be made writable)
 * and its own flock locks.
 * Return: the descriptor; -errno.
 */
int ipk__reopen(int fd, int flags);

/*
 * Waiting for a name to appear (namewait.c): a caller that found nothing
 * at @path, or something not ready yet, tries its open again after each
 * ipk__namewait*() call. The directory of @path is watched with inotify
 * (a file created or moved in under the name); where that is impossible
 * (an abstract socket: @path NULL; no directory; no inotify instance left)
 * the wait polls, after 1 ms, 2 ms ... up to 50 ms. A watching wait still
 * looks every 250 ms (for changes inotify does not see).
 */
enum {
	IPK__NAMEWAIT_PREFIX = 1u << 0, /* names that begin with ours count too */
};

struct ipk__namewait {
	const char *path; /* the caller's; outlives the wait; NULL: nothing to watch */
	const char *name; /* its last component */
	size_t name_len;
	unsigned flags;      /* IPK__NAMEWAIT_* */
	uint32_t obj_events; /* inotify events on the object itself (IN_OPEN), or 0 */
	int fd;              /* the inotify instance, or -1 */
	int dir_wd, obj_wd;  /* watches, or -1 */
	bool started;
	int64_t step;       /* polling: the next gap */
	int64_t soon_since; /* ipk__namewait_soon(): the first of this stretch */
	int64_t soon_step;  /* ... the next gap, or 0: none yet */
};

/* No system call; pair with ipk__namewait_end(). */
void ipk__namewait_init(struct ipk__namewait *w, const char *path, unsigned flags,
			uint32_t obj_events);

/*
 * ipk__namewait() - nothing is at the name: wait until something happens
 * at it, it is time to look anyway, or @deadline_ns. The first call sets
 * up the watch and returns 1 at once: look again.
 *
 * Return: 1 (something happened at the name: look now); 0 (look anyway);
 * -EAGAIN (IPK__NOWAIT); -ETIMEDOUT (the deadline had passed); -errno
 * from poll. Never waits past @deadline_ns; signals do not end the wait.
 */
int ipk__namewait(struct ipk__namewait *w, int64_t deadline_ns);

/*
 * ipk__namewait_soon() - the name is there but its object not ready (a
 * ring not yet initialised, a socket not yet listening): return at once
 * for the first 200 us of such calls (look again), then sleep 10 us, 20 us,
 * 40 us ... up to 50 ms, cut short by an event at the name. Same returns
 * as ipk__namewait().
 */
int ipk__namewait_soon(struct ipk__namewait *w, int64_t deadline_ns);

/*
 * ipk__namewait_stop() - the wait is over: take off any watch still set
 * (one that fired is gone already) and keep the instance. Closing an
 * instance soon after it watched waits for the kernel to retire the watch
 * (milliseconds, at times tens): a caller whose wait ended in success
 * closes it later, off that path, with ipk__namewait_end().
 */
void ipk__namewait_stop(struct ipk__namewait *w);

/* Close the instance (close-on-exec while it lives); cannot fail. */
void ipk__namewait_end(struct ipk__namewait *w);

#endif /* IPK_INTERNAL_H */
