/* SPDX-License-Identifier: MIT */
/*
 * ipckit/mq.h - what the message-queue channels offer beyond ipk_chan:
 * POSIX queue notification (mq_notify), the kernel's queue limits, and the
 * name of the limit behind an error.
 *
 * The queues themselves are channels (ipckit/chan.h):
 *
 *   mq:/name[?maxmsg=N&msgsize=N&perm=0OOO]
 *       POSIX message queue. ipk_chan_send_tag() sends with a priority
 *       (0 .. sysconf(_SC_MQ_PRIO_MAX) - 1, at least 0..32767); a receive
 *       returns the oldest message of the highest priority, and
 *       ipk_chan_recv_tag() (selector 0 only) reports its priority.
 *       ipk_chan_fd() is the queue descriptor itself: it polls readable
 *       while the queue holds a message, writable while it has room.
 *       A receive buffer must hold the queue's msgsize (the kernel's rule):
 *       a smaller one gets -EMSGSIZE once a message waits, and then
 *       ipk_chan_next_len() reports the queue's msgsize - an upper bound,
 *       not the waiting message's exact length.
 *
 *   sysvmq:KEY | sysvmq:/path:PROJ | sysvmq:private [?msgsize=N&perm=0OOO]
 *       System V message queue. ipk_chan_send_tag() sends with a type
 *       (1 or more; ipk_chan_send() uses type 1); ipk_chan_recv_tag()
 *       selects with the kernel's msgrcv rules and reports the type.
 *       Nothing is ever truncated: a message longer than the buffer is
 *       held by the channel, the receive fails with -EMSGSIZE and
 *       ipk_chan_next_len() gives its exact length; the next receive whose
 *       selector matches it delivers it first. See ipk_mq(3) for the
 *       pollable descriptor, the helper thread behind it and the rules.
 *
 * Threads: as ipk_chan (one sender and one receiver at a time). The
 * notification calls below may be made from any thread, including from a
 * notification callback of the same channel.
 */
#ifndef IPCKIT_MQ_H
#define IPCKIT_MQ_H

#include <stdint.h>

#include "chan.h"
#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Called on a thread of its own when a message arrives in the empty queue. */
typedef void (*ipk_mq_notify_fn)(ipk_chan *ch, void *arg);

/**
 * ipk_mq_notify() - call @fn on a new thread when the queue turns non-empty
 * @ch: an mq: channel that can receive
 * @fn: the callback; @arg is passed through
 *
 * mq_notify() is one-shot and fires only on an empty -> non-empty
 * transition. The library's trampoline therefore re-arms the notification
 * BEFORE it calls @fn, and @fn must drain the queue: receive with timeout 0
 * until -EAGAIN. In that order no message is ever left unread: one that
 * arrives after the re-arm while the queue is empty fires a new
 * notification; one that arrives while it is not empty is found by the
 * drain that is still to come.
 *
 * Callbacks of one channel never run at the same time: a notification that
 * fires while @fn runs waits for it to return, so @fn is the channel's one
 * receiver. @fn may find the queue already empty (harmless: -EAGAIN at
 * once). @fn may call ipk_mq_notify_off() or ipk_chan_close() on its own
 * channel; it must not touch the channel afterwards.
 *
 * Calling this again replaces the callback (or a signal registration).
 *
 * Return: 0; -EOPNOTSUPP if @ch is not an mq: channel; -EBADF if it is
 * write-only; -EBUSY if another process has registered for this queue;
 * -EAGAIN or -ENOMEM when no notification thread can be made.
 * Threads: safe; ipk_chan_close() waits for a callback running on another
 * thread to return, so do not close while holding a lock @fn takes.
 */
IPK_API int ipk_mq_notify(ipk_chan *ch, ipk_mq_notify_fn fn, void *arg);

/**
 * ipk_mq_notify_signal() - raise a signal when the queue turns non-empty
 * @ch: an mq: channel that can receive
 * @signo: the signal, e.g. SIGRTMIN + n (real-time signals queue and carry
 *         the payload reliably)
 * @value: the payload in si_value.sival_ptr; NULL means @ch itself
 *
 * One-shot like the kernel's: after the signal, re-arm by calling this
 * again, THEN drain the queue with timeout 0 until -EAGAIN (re-arm first,
 * or a message arriving between the drain and the re-arm is never
 * signalled). Call it from normal context (after sigwaitinfo() or a
 * signalfd read), not from a signal handler: it is not async-signal-safe.
 *
 * Return: 0; -EINVAL for a bad @signo; -EOPNOTSUPP; -EBADF; -EBUSY as
 * ipk_mq_notify(). Threads: safe.
 */
IPK_API int ipk_mq_notify_signal(ipk_chan *ch, int signo, void *value);

/**
 * ipk_mq_notify_off() - remove this channel's notification
 *
 * After it returns no callback of @ch starts; one running on another thread
 * has returned. (A signal already raised stays pending.)
 * Return: 0 (also when nothing was armed); -EOPNOTSUPP if @ch is not an mq:
 * channel. Threads: safe.
 */
IPK_API int ipk_mq_notify_off(ipk_chan *ch);

/* Current kernel limits on message queues; -1 where the system does not
 * say (file missing or unreadable), IPK_MQ_UNLIMITED for "no limit". */
#define IPK_MQ_UNLIMITED INT64_MAX

struct ipk_mq_limits {
	/* RLIMIT_MSGQUEUE: bytes of POSIX queues per user (ulimit -q) */
	int64_t rlimit_msgqueue_soft;
	int64_t rlimit_msgqueue_hard;
	/* /proc/sys/fs/mqueue/: POSIX queues */
	int64_t msg_max;         /* largest maxmsg= without CAP_SYS_RESOURCE */
	int64_t msgsize_max;     /* largest msgsize= without CAP_SYS_RESOURCE */
	int64_t queues_max;      /* queues in the system (IPC namespace) */
	int64_t msg_default;     /* maxmsg of a queue created without it */
	int64_t msgsize_default; /* msgsize of a queue created without it */
	/* /proc/sys/kernel/: System V queues */
	int64_t msgmnb; /* bytes in one queue (msg_qbytes of new queues) */
	int64_t msgmax; /* bytes in one message */
	int64_t msgmni; /* queues in the system (IPC namespace) */
};

/**
 * ipk_mq_limits() - read the current message-queue limits
 * @ret: filled on success
 *
 * Return: 0; -EINVAL if @ret is NULL. Threads: safe.
 */
IPK_API int ipk_mq_limits(struct ipk_mq_limits *ret);

/* What the call that failed was doing, for ipk_mq_limit_hint(). */
enum ipk_mq_op {
	IPK_MQ_OP_OPEN,
	IPK_MQ_OP_SEND,
	IPK_MQ_OP_RECV,
};

/**
 * ipk_mq_limit_hint() - the kernel limit behind an error, and how to raise it
 * @err: the error just returned (negative or positive errno)
 * @url: the channel's URL as it was opened
 * @op: what failed: opening, sending or receiving
 *
 * For example, ipk_chan_open("mq:/q?maxmsg=100", IPK_CHAN_CREATE, ...)
 * failing with -EINVAL while /proc/sys/fs/mqueue/msg_max is 10 gives
 * "fs.mqueue.msg_max (sysctl -w fs.mqueue.msg_max=N)". Call it right after
 * the failure: it compares the URL with the limits as they are now. A
 * program prints it after the errno:
 * "ipckit send: mq:/q: Invalid argument (EINVAL); limit: fs.mqueue.msg_max
 * (sysctl -w fs.mqueue.msg_max=N)".
 *
 * Return: a static string, or NULL when no kernel limit explains @err.
 * Threads: safe.
 */
IPK_API const char *ipk_mq_limit_hint(int err, const char *url, enum ipk_mq_op op);

#ifdef __cplusplus
}
#endif

#endif /* IPCKIT_MQ_H */
