/* SPDX-License-Identifier: MIT */
/*
 * ipckit/loop.h - an epoll reactor: one thread waits on every ipckit object
 * at once. Anything with a descriptor plugs in with ipk_loop_add_fd():
 * ipk_chan_fd() of every transport, ipk_listener_fd(), ipk_ring_fd() of a
 * subscriber, ipk_event_fd(), ipk_pidwatch_fd(), ipk_sighandler_fd(). The
 * loop also owns timers (one timerfd each), signals (one signalfd for the
 * loop) and deferred callbacks.
 *
 * Callbacks run in the thread that calls ipk_loop_run() or
 * ipk_loop_run_once(), one at a time, and may add, change or remove any
 * source, including the one that is running; a source removed during a
 * round is never called again, even if it had an event pending.
 *
 * Threads: ipk_loop_stop(), ipk_loop_wake() and ipk_loop_defer() are safe
 * from any thread (they wake the loop through an eventfd). Every other
 * call must come from the loop's thread: from a callback, or while the loop
 * is not running. Running one loop from two threads is not supported.
 */
#ifndef IPCKIT_LOOP_H
#define IPCKIT_LOOP_H

#include <stdint.h>

#include "common.h"
#include "sig.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ipk_loop ipk_loop;
typedef struct ipk_loop_timer ipk_loop_timer;

/* Event bits: the same values as EPOLLIN, EPOLLOUT, ... */
#define IPK_LOOP_IN 0x001u          /* readable */
#define IPK_LOOP_OUT 0x004u         /* writable */
#define IPK_LOOP_ERR 0x008u         /* error (always reported) */
#define IPK_LOOP_HUP 0x010u         /* hang-up (always reported) */
#define IPK_LOOP_EDGE (1u << 31)    /* edge-triggered: report changes only */
#define IPK_LOOP_ONESHOT (1u << 30) /* disable after one report; re-arm with ipk_loop_mod_fd() */

/* @events: the IPK_LOOP_* bits that are ready */
typedef void (*ipk_loop_fd_fn)(ipk_loop *l, int fd, uint32_t events, void *arg);
/* @expirations: periods elapsed since the last call (> 1: some were missed) */
typedef void (*ipk_loop_timer_fn)(ipk_loop *l, ipk_loop_timer *t, uint64_t expirations, void *arg);
typedef void (*ipk_loop_signal_fn)(ipk_loop *l, const struct ipk_siginfo *si, void *arg);
typedef void (*ipk_loop_defer_fn)(ipk_loop *l, void *arg);

/**
 * ipk_loop_new() - create a loop
 *
 * Return: 0 and *@ret; -EMFILE; -ENOMEM.
 */
IPK_API int ipk_loop_new(ipk_loop **ret);

/**
 * ipk_loop_free() - close the loop and its timers and signalfd; accepts NULL
 *
 * Descriptors added with ipk_loop_add_fd() stay open: they are the
 * caller's. Deferred callbacks not yet run are dropped. Must not be called
 * from a callback.
 */
IPK_API void ipk_loop_free(ipk_loop *l);

/**
 * ipk_loop_add_fd() - call @fn when @fd reports one of @events
 * @events: IPK_LOOP_IN and/or IPK_LOOP_OUT, with IPK_LOOP_EDGE or
 *          IPK_LOOP_ONESHOT; level-triggered by default
 *
 * The descriptor stays the caller's; remove it before closing it.
 * Return: 0; -EEXIST (@fd is already in this loop); -EINVAL (@fd < 0, no
 * @fn, unknown bits); -EPERM (@fd cannot be polled, e.g. a regular file);
 * -EBADF; -ENOMEM.
 */
IPK_API int ipk_loop_add_fd(ipk_loop *l, int fd, uint32_t events, ipk_loop_fd_fn fn, void *arg);

/**
 * ipk_loop_mod_fd() - change the events of an added @fd (and re-arm a
 * one-shot one)
 *
 * Return: 0; -ENOENT (@fd was never added); -EINVAL.
 */
IPK_API int ipk_loop_mod_fd(ipk_loop *l, int fd, uint32_t events);

/**
 * ipk_loop_del_fd() - stop watching @fd
 *
 * Return: 0; -ENOENT (@fd was never added, or was removed already).
 */
IPK_API int ipk_loop_del_fd(ipk_loop *l, int fd);

/**
 * ipk_loop_timer_once() - call @fn once, @delay_ns (>= 0) from now
 * ipk_loop_timer_every() - call @fn every @interval_ns (> 0), the first
 * time one interval from now
 * @ret: the timer, for ipk_loop_timer_cancel(); may be NULL
 *
 * Timers run on CLOCK_MONOTONIC. A timer stays in the loop (disarmed,
 * after a one-shot fired) until cancelled or the loop is freed.
 * Return: 0; -EINVAL (negative delay, interval <= 0, no @fn); -EMFILE;
 * -ENOMEM.
 */
IPK_API int ipk_loop_timer_once(ipk_loop *l, int64_t delay_ns, ipk_loop_timer_fn fn, void *arg,
				ipk_loop_timer **ret);
IPK_API int ipk_loop_timer_every(ipk_loop *l, int64_t interval_ns, ipk_loop_timer_fn fn, void *arg,
				 ipk_loop_timer **ret);

/* ipk_loop_timer_cancel() - stop and free a timer; accepts NULL. May be
 * called from the timer's own callback. */
IPK_API void ipk_loop_timer_cancel(ipk_loop_timer *t);

/**
 * ipk_loop_add_signal() - call @fn for each @signo received
 *
 * The loop blocks @signo in the calling thread and reads it from its
 * signalfd; block it in every other thread as well (see sig.h). It stays
 * blocked after removal. Real-time signals arrive one call each, in order,
 * with their payload.
 * Return: 0; -EINVAL (not a signal, SIGKILL, SIGSTOP, no @fn); -EEXIST
 * (@signo is already in this loop); -EMFILE.
 */
IPK_API int ipk_loop_add_signal(ipk_loop *l, int signo, ipk_loop_signal_fn fn, void *arg);

/* ipk_loop_del_signal() - Return: 0; -ENOENT (not added); -EINVAL. */
IPK_API int ipk_loop_del_signal(ipk_loop *l, int signo);

/**
 * ipk_loop_defer() - call @fn once, in the loop's thread, at the start of
 * the next round (after the current callback returns)
 *
 * Return: 0; -EINVAL (no @fn); -ENOMEM. Threads: safe from any thread.
 */
IPK_API int ipk_loop_defer(ipk_loop *l, ipk_loop_defer_fn fn, void *arg);

/**
 * ipk_loop_run_once() - wait up to @timeout_ns for events and dispatch them
 *
 * Return: the number of callbacks run (0 when the timeout passed with
 * nothing to do, or a wake-up came); -EBUSY (the loop is already running);
 * other -errno of epoll_wait. Blocking: up to @timeout_ns (0 = poll).
 */
IPK_API int ipk_loop_run_once(ipk_loop *l, int64_t timeout_ns);

/**
 * ipk_loop_run() - dispatch until ipk_loop_stop()
 *
 * Return: 0 after a stop; -EBUSY; other -errno of epoll_wait.
 * Blocking: yes.
 */
IPK_API int ipk_loop_run(ipk_loop *l);

/**
 * ipk_loop_stop() - make ipk_loop_run() return after the current round
 *
 * A stop requested while the loop is not running ends the next
 * ipk_loop_run() after its first round. Threads: safe from any thread and
 * from callbacks.
 */
IPK_API void ipk_loop_stop(ipk_loop *l);

/* ipk_loop_wake() - end the current wait (ipk_loop_run_once() returns).
 * Threads: safe from any thread. */
IPK_API void ipk_loop_wake(ipk_loop *l);

/* ipk_loop_fd() - the epoll descriptor: readable when the loop has work,
 * so a loop can be nested in another one. Owned by @l. */
IPK_API int ipk_loop_fd(const ipk_loop *l);

#ifdef __cplusplus
}
#endif

#endif /* IPCKIT_LOOP_H */
