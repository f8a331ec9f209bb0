/* SPDX-License-Identifier: MIT */
/*
 * mqchan.h - what the mq: transport (transport/mq.c) shares with the
 * notification and limits module (mq.c): the channel state and the
 * notifier's teardown.
 */
#ifndef IPK_MQCHAN_H
#define IPK_MQCHAN_H

#include <limits.h>
#include <mqueue.h>
#include <stdbool.h>
#include <sys/types.h>

#include "transport.h"

struct ipk__mq_notifier;

struct ipk__mq {
	mqd_t q;       /* also ch->fd */
	long msgsize;  /* the queue's mq_msgsize */
	long prio_max; /* sysconf(_SC_MQ_PRIO_MAX) */
	bool can_send, can_recv;
	pid_t creator; /* unlinks at close (unless KEEP); 0 if not ours */
	dev_t dev;     /* the queue we made, so a successor is never unlinked */
	ino_t ino;
	char *gather; /* sendv of several pieces: msgsize bytes, writers only */
	/* ipk_mq_notify*() state; NULL until first armed. Only mq.c touches
	 * it, under its registry lock. */
	struct ipk__mq_notifier *notifier;
	char name[NAME_MAX + 2];
};

/* mq.c: disarm and free the channel's notifier; waits for a callback
 * running on another thread. Called by close before mq_close(). */
void ipk__mq_notify_free(struct ipk_chan *ch);

#endif /* IPK_MQCHAN_H */
