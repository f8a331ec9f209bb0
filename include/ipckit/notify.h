/* SPDX-License-Identifier: MIT */
/*
 * ipckit/notify.h - the kernel's descriptor-shaped notifications: eventfd
 * counters, timerfd timers and pidfd process watches. Each has a
 * descriptor that polls like any other, so one ipk_loop (loop.h) waits on
 * all of them. Signals are in sig.h; sealed memfd blobs, once declared
 * here, are in blob.h (included below, so older code still builds).
 *
 * Every descriptor is close-on-exec and non-blocking; blocking calls wait
 * with poll() and a deadline and retry EINTR without stretching it.
 */
#ifndef IPCKIT_NOTIFY_H
#define IPCKIT_NOTIFY_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "blob.h"
#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * ipk_event - an eventfd: a 64-bit counter in the kernel. Signalling adds
 * to it; waiting takes all of it (counter mode) or one unit of it
 * (IPK_EVENT_SEMAPHORE). Readable while the counter is non-zero, so it is
 * the cheapest wake-up between threads or (inherited over fork, or passed
 * as a descriptor) between processes.
 *
 * Threads: every call is safe from any thread; the kernel serialises.
 */
typedef struct ipk_event ipk_event;

#define IPK_EVENT_SEMAPHORE 0x1u /* each wait takes 1, not the whole count */

/**
 * ipk_event_new() - create an eventfd with counter 0
 * @flags: 0 or IPK_EVENT_SEMAPHORE
 *
 * Return: 0 and *@ret; -EINVAL (unknown flags); -EMFILE; -ENOMEM.
 */
IPK_API int ipk_event_new(unsigned flags, ipk_event **ret);

/**
 * ipk_event_signal() - add @n (> 0) to the counter
 *
 * Return: 0; -EINVAL (@n is 0 or UINT64_MAX); -EAGAIN: the counter would
 * pass UINT64_MAX - 1 (nobody is taking). Blocking: no.
 */
IPK_API int ipk_event_signal(ipk_event *ev, uint64_t n);

/**
 * ipk_event_wait() - wait for a non-zero counter and take from it
 * @ret: what was taken: the whole counter, or 1 in semaphore mode;
 *       NULL if not wanted
 *
 * Return: 0; -EAGAIN (timeout 0, counter 0); -ETIMEDOUT.
 * Blocking: up to @timeout_ns.
 */
IPK_API int ipk_event_wait(ipk_event *ev, int64_t timeout_ns, uint64_t *ret);

/* ipk_event_fd() - the eventfd; owned by @ev. */
IPK_API int ipk_event_fd(const ipk_event *ev);

/* ipk_event_free() - close; accepts NULL. */
IPK_API void ipk_event_free(ipk_event *ev);

/*
 * ipk_timer - a timerfd: a timer whose expirations are read as a count, so
 * a reader that was late learns how many periods it missed.
 *
 * Threads: one thread at a time per timer.
 */
typedef struct ipk_timer ipk_timer;

#define IPK_TIMER_ABS 0x1u /* the first expiry is an absolute time on the clock */

/**
 * ipk_timer_new() - create a disarmed timer on @clock
 * @clock: CLOCK_MONOTONIC, CLOCK_REALTIME or CLOCK_BOOTTIME (counts
 *         suspend)
 *
 * Return: 0 and *@ret; -EINVAL (another clock); -EMFILE; -ENOMEM.
 */
IPK_API int ipk_timer_new(clockid_t clock, ipk_timer **ret);

/**
 * ipk_timer_once() - arm a one-shot timer
 * @when_ns: with IPK_TIMER_ABS the clock's time of the expiry, else the
 *           delay from now; must be > 0
 * @flags: 0 or IPK_TIMER_ABS
 *
 * Replaces any previous setting. Return: 0; -EINVAL (@when_ns <= 0 or
 * unknown flags).
 */
IPK_API int ipk_timer_once(ipk_timer *t, int64_t when_ns, unsigned flags);

/**
 * ipk_timer_every() - arm a periodic timer
 * @first_ns: first expiry (as @when_ns of ipk_timer_once()); 0 means one
 *            interval from now
 * @interval_ns: the period; must be > 0
 *
 * Return: 0; -EINVAL (@interval_ns <= 0, @first_ns < 0, 0 with
 * IPK_TIMER_ABS, or unknown flags).
 */
IPK_API int ipk_timer_every(ipk_timer *t, int64_t first_ns, int64_t interval_ns, unsigned flags);

/* ipk_timer_disarm() - stop the timer; expirations not yet read are kept
 * by neither. Return: 0. */
IPK_API int ipk_timer_disarm(ipk_timer *t);

/**
 * ipk_timer_wait() - wait for the timer to expire
 * @ret: expirations since the last read (>= 1: more than 1 means the
 *       reader missed that many minus one periods); NULL if not wanted
 *
 * Return: 0; -EAGAIN (timeout 0, not expired); -ETIMEDOUT; -ECANCELED when
 * an absolute CLOCK_REALTIME timer saw the clock set (discontinuity).
 * Blocking: up to @timeout_ns.
 */
IPK_API int ipk_timer_wait(ipk_timer *t, int64_t timeout_ns, uint64_t *ret);

/* ipk_timer_fd() - the timerfd, readable after an expiry; owned by @t. */
IPK_API int ipk_timer_fd(const ipk_timer *t);

/* ipk_timer_free() - close; accepts NULL. */
IPK_API void ipk_timer_free(ipk_timer *t);

/*
 * ipk_pidwatch - watch another process for exit. With pidfd_open (Linux
 * 5.3) the descriptor is the pidfd, which polls readable when the process
 * exits, and it cannot be fooled by pid reuse. Where pidfd_open is missing
 * (or IPK_PIDWATCH_FALLBACK asks for it) a helper thread checks the pid
 * every 10 ms with kill(pid, 0) and signals an eventfd when it is gone;
 * that fallback cannot tell a reused pid from the original, and it sees a
 * zombie (exited, not yet reaped) as alive until its parent reaps it.
 *
 * Threads: one thread at a time per watch.
 */
typedef struct ipk_pidwatch ipk_pidwatch;

#define IPK_PIDWATCH_FALLBACK 0x1u /* use the polling fallback even with pidfd */

/**
 * ipk_pidwatch_open() - start watching @pid
 * @flags: 0 or IPK_PIDWATCH_FALLBACK
 *
 * Return: 0 and *@ret; -EINVAL (@pid <= 0, unknown flags); -ESRCH (no such
 * process); -EMFILE; -ENOMEM.
 */
IPK_API int ipk_pidwatch_open(pid_t pid, unsigned flags, ipk_pidwatch **ret);

/**
 * ipk_pidwatch_wait() - wait until the process has exited
 *
 * Return: 0 (it has exited); -EAGAIN (timeout 0, still running);
 * -ETIMEDOUT. Blocking: up to @timeout_ns.
 */
IPK_API int ipk_pidwatch_wait(ipk_pidwatch *w, int64_t timeout_ns);

/* ipk_pidwatch_fd() - readable once the process has exited; owned by @w. */
IPK_API int ipk_pidwatch_fd(const ipk_pidwatch *w);

/* ipk_pidwatch_pidfd() - the pidfd (for ipk_sig_send_pidfd()), or
 * -EOPNOTSUPP for the fallback. Owned by @w. */
IPK_API int ipk_pidwatch_pidfd(const ipk_pidwatch *w);

/* ipk_pidwatch_pid() - the pid being watched. */
IPK_API pid_t ipk_pidwatch_pid(const ipk_pidwatch *w);

/* ipk_pidwatch_close() - stop watching (joins the helper thread); accepts
 * NULL. */
IPK_API void ipk_pidwatch_close(ipk_pidwatch *w);

#ifdef __cplusplus
}
#endif

#endif /* IPCKIT_NOTIFY_H */
