/* SPDX-License-Identifier: MIT */
/*
 * ipckit/sig.h - signals as IPC: real-time signals with a payload, received
 * through a signalfd or sigtimedwait(), and classic handlers that run user
 * code outside signal context (the self-pipe trick).
 *
 * Standard signals (1..31) do not queue: while one is pending, more of the
 * same number are merged into it, and they carry no data. Real-time signals
 * (SIGRTMIN..SIGRTMAX) queue, are delivered in the order sent (lowest
 * number first across numbers), and carry one int or pointer-sized value
 * (sigqueue(3)). Each queued signal counts against the receiver's
 * RLIMIT_SIGPENDING; a full queue is -EAGAIN at the sender, and
 * ipk_sig_limit_hint() names the limit.
 *
 * A signal received through ipk_sigfd or ipk_sig_wait() must be blocked in
 * every thread of the process, or the kernel may deliver it to a thread
 * that does not block it (where its default action may kill the process).
 * Block it before creating threads or forking workers: ipk_sig_block().
 *
 * Signal handlers may call only async-signal-safe functions (signal-safety(7)):
 * not malloc, not printf, not a mutex. ipk_sighandler installs a handler
 * that only write()s a small record to a pipe, so the program's code runs
 * later in its own loop. See docs/signals.md.
 */
#ifndef IPCKIT_SIG_H
#define IPCKIT_SIG_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/select.h> /* sigset_t also in strict ISO C mode (POSIX puts it here too) */
#include <sys/types.h>

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* One received signal. */
struct ipk_siginfo {
	int signo;     /* the signal number */
	int code;      /* si_code: SI_QUEUE (sigqueue), SI_USER (kill), ... */
	pid_t pid;     /* sender's pid (0 when the kernel sent it) */
	uid_t uid;     /* sender's real uid */
	int32_t value; /* the payload as an int (sival_int) */
	uint64_t ptr;  /* the payload as a pointer-sized value (sival_ptr) */
};

/**
 * ipk_sig_send() - queue signal @signo with payload @value to process @pid
 * @value: carried as sival_ptr; a receiver reading it as an int
 *         (ipk_siginfo.value) sees its low 32 bits
 *
 * Uses sigqueue(): standard signals are sent too, but merge while pending
 * and their payload may be lost.
 * Return: 0; -EINVAL (@pid <= 0, or @signo not in 1.._NSIG-1); -ESRCH (no
 * such process); -EPERM; -EAGAIN: the receiver's queue is full
 * (RLIMIT_SIGPENDING, see ipk_sig_limit_hint()). Blocking: no. Threads: safe.
 */
IPK_API int ipk_sig_send(pid_t pid, int signo, intptr_t value);

/**
 * ipk_sig_send_pidfd() - as ipk_sig_send(), to the process behind a pidfd
 * @pidfd: from pidfd_open(2) or ipk_pidwatch_pidfd()
 *
 * A pidfd names one process for good: unlike a pid it cannot be recycled
 * to a stranger between the check and the send.
 * Return: as ipk_sig_send(); -ESRCH if the process has exited; -EBADF;
 * -EOPNOTSUPP if the kernel lacks pidfd_send_signal (before 5.1).
 */
IPK_API int ipk_sig_send_pidfd(int pidfd, int signo, intptr_t value);

/**
 * ipk_sig_limit_hint() - the kernel limit behind a send error
 * @err: what ipk_sig_send() or ipk_sig_send_pidfd() returned
 *
 * Return: "RLIMIT_SIGPENDING, ..." with how to raise it for -EAGAIN; NULL
 * for any other error. A static string. Threads: safe.
 */
IPK_API const char *ipk_sig_limit_hint(int err);

/**
 * ipk_sig_block() - block @set in the calling thread (pthread_sigmask)
 *
 * Return: 0; -EINVAL if @set is NULL. Threads: affects the caller only;
 * threads and children created afterwards inherit the mask.
 */
IPK_API int ipk_sig_block(const sigset_t *set);

/**
 * ipk_sig_wait() - wait for one signal of @set with sigtimedwait()
 *
 * The signals of @set must be blocked (ipk_sig_block()).
 * Return: 0 and *@ret; -EAGAIN (timeout 0, none pending); -ETIMEDOUT;
 * -EINVAL (NULL or empty @set). Blocking: up to @timeout_ns; EINTR (a
 * signal outside @set) is retried without stretching the deadline.
 * Threads: safe; a pending signal goes to one waiter only.
 */
IPK_API int ipk_sig_wait(const sigset_t *set, int64_t timeout_ns, struct ipk_siginfo *ret);

/*
 * ipk_sigfd - a signalfd: the signals of a set become readable records on a
 * descriptor that any poll loop can wait on.
 */
typedef struct ipk_sigfd ipk_sigfd;

/**
 * ipk_sigfd_open() - block @set in the calling thread and open a signalfd
 *
 * Return: 0 and *@ret; -EINVAL (NULL or empty @set, or it contains SIGKILL
 * or SIGSTOP, which can be neither blocked nor read); -EMFILE; -ENOMEM.
 * The signals stay blocked after ipk_sigfd_close(): unblocking them would
 * deliver what is pending to its default action.
 * Threads: the object is used by one thread at a time.
 */
IPK_API int ipk_sigfd_open(const sigset_t *set, ipk_sigfd **ret);

/**
 * ipk_sigfd_read() - take the next pending signal of the set
 *
 * Return: 0 and *@ret; -EAGAIN (timeout 0, none pending); -ETIMEDOUT.
 * Blocking: up to @timeout_ns.
 */
IPK_API int ipk_sigfd_read(ipk_sigfd *s, int64_t timeout_ns, struct ipk_siginfo *ret);

/* ipk_sigfd_fd() - the signalfd, readable while a signal is pending.
 * Owned by @s. */
IPK_API int ipk_sigfd_fd(const ipk_sigfd *s);

/* ipk_sigfd_close() - close; accepts NULL. */
IPK_API void ipk_sigfd_close(ipk_sigfd *s);

/*
 * ipk_sighandler - a classic signal handler made safe: the handler only
 * writes the signal's record to a non-blocking pipe (async-signal-safe),
 * and the program reads the records from the pipe's descriptor wherever it
 * likes, outside signal context. One per signal number in a process.
 */
typedef struct ipk_sighandler ipk_sighandler;

/**
 * ipk_sighandler_install() - catch @signo with the self-pipe handler
 *
 * The previous disposition is restored by ipk_sighandler_free(). The
 * handler runs with SA_RESTART. If the pipe is full, records are dropped
 * and counted (ipk_sighandler_dropped()).
 * Return: 0 and *@ret; -EINVAL (SIGKILL, SIGSTOP, or not a signal);
 * -EBUSY (@signo already has an ipk_sighandler); -EMFILE; -ENOMEM.
 * Threads: install and free are not concurrent with each other.
 */
IPK_API int ipk_sighandler_install(int signo, ipk_sighandler **ret);

/**
 * ipk_sighandler_read() - the next caught signal
 *
 * Return: 0 and *@ret; -EAGAIN (timeout 0, none caught); -ETIMEDOUT.
 * Blocking: up to @timeout_ns. Threads: one reader at a time.
 */
IPK_API int ipk_sighandler_read(ipk_sighandler *h, int64_t timeout_ns, struct ipk_siginfo *ret);

/* ipk_sighandler_fd() - readable while caught signals wait to be read. */
IPK_API int ipk_sighandler_fd(const ipk_sighandler *h);

/* ipk_sighandler_dropped() - records lost because the pipe was full. */
IPK_API uint64_t ipk_sighandler_dropped(const ipk_sighandler *h);

/* ipk_sighandler_free() - restore the previous disposition; accepts NULL. */
IPK_API void ipk_sighandler_free(ipk_sighandler *h);

/**
 * ipk_sig_from_name() - parse a signal: "USR1", "SIGUSR1", "RTMIN+1",
 * "SIGRTMAX-2", "10" (case-insensitive)
 *
 * Return: the signal number (> 0); -EINVAL. Threads: safe.
 */
IPK_API int ipk_sig_from_name(const char *name);

/**
 * ipk_sig_name() - "SIGUSR1", "SIGRTMIN+1" for @signo into @buf
 *
 * Return: 0; -EINVAL (not a signal); -ENAMETOOLONG (@len too small).
 */
IPK_API int ipk_sig_name(int signo, char *buf, size_t len);

#ifdef __cplusplus
}
#endif

#endif /* IPCKIT_SIG_H */
