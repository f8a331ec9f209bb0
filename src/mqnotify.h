/* SPDX-License-Identifier: MIT */
/*
 * mqnotify.h - POSIX queue notification by thread or by signal (mq.c), for
 * the mq: transport, which owns the queue and the channel and asks here.
 * This module never looks inside a channel: it gets the queue descriptor
 * and the channel only to hand back to the callback.
 */
#ifndef IPK_MQNOTIFY_H
#define IPK_MQNOTIFY_H

#include <mqueue.h>

#include <ipckit/mq.h>

struct ipk__mq_notifier;

/*
 * The channel's notifier lives in *@slot (NULL until first armed), kept in
 * the transport's state and read or written only by these calls, under
 * this module's lock. Each is the public call of the same name after the
 * transport checked that @ch receives from queue @q.
 */
int ipk__mq_notify(struct ipk__mq_notifier **slot, ipk_chan *ch, mqd_t q, ipk_mq_notify_fn fn,
		   void *arg);
int ipk__mq_notify_signal(struct ipk__mq_notifier **slot, ipk_chan *ch, mqd_t q, int signo,
			  void *value);
int ipk__mq_notify_off(struct ipk__mq_notifier **slot);

/* Disarm and free the notifier; waits for a callback running on another
 * thread. The channel's close calls it before mq_close(). */
void ipk__mq_notify_free(struct ipk__mq_notifier **slot);

#endif /* IPK_MQNOTIFY_H */
