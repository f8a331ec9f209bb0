/* SPDX-License-Identifier: MIT */
/*
 * ipckit/ring.h - the lock-free broadcast ring: one publisher, any number of
 * subscribers, in shared memory, without a daemon.
 *
 * The publisher creates the ring (a POSIX shared-memory object "/name", or
 * an anonymous memfd whose descriptors it hands on) and never waits for
 * anyone: when the ring is full it overwrites the oldest messages.
 * Subscribers map the feed read-only, so no subscriber can corrupt it or
 * slow down another, and nothing about a subscriber is stored in shared
 * memory: there is no limit on their number. A subscriber that falls more
 * than a ring behind (15/16 of one at worst: old messages are given up in
 * steps of capacity / 16) skips to the oldest message still there and
 * ipk_ring_lost() says exactly how many it missed; it never delivers a torn
 * or overwritten message (every read is validated after the copy).
 *
 * Two objects make a ring "/name":
 *   /name       the feed: header + data, written only by the publisher
 *               (subscribers open it O_RDONLY and map it PROT_READ).
 *   /name-bell  the doorbell: one page holding a futex word and a count of
 *               sleeping subscribers. Subscribers map it read-write; it
 *               carries no data. Without write access to it a subscriber
 *               still works, but waits by polling every millisecond.
 * The publisher pays a FUTEX_WAKE only when the doorbell says someone
 * sleeps; otherwise publishing makes no system call.
 *
 * Liveness: the header records the publisher's pid and start time;
 * subscribers watch it through a pidfd (kill(pid, 0) where pidfd_open() is
 * missing), and a pid that now names a process with another start time - a
 * stranger reusing a dead publisher's number - counts as dead. A receive
 * that has nothing left to deliver returns -EPIPE once the publisher has
 * closed (the end of the feed, for good), and -EOWNERDEAD once when it
 * died without closing: a death is a pause, not the end. After it the
 * subscriber waits, within each receive's timeout, for a successor: a
 * publisher that starts on a name whose previous publisher died takes the
 * ring over in place and starts a new epoch, and its subscribers' next
 * receive returns -ECONNRESET once, then they continue on the same mapping,
 * through any number of restarts; messages the dead publisher committed
 * that they had not read yet are delivered while still intact, and counted
 * as lost once overwritten.
 *
 * Names: a new ring appears at its name complete - sized, its memory
 * allocated and the publisher's lock held - or not at all (it is made
 * without a name and then linked), so of any number of processes that race
 * to create one name exactly one becomes its publisher and the others get
 * -EBUSY. A publisher adopts (takes over or replaces) only a regular file
 * owned by its effective uid and open to group and others no more than the
 * mode it asked for; it removes its names at close only while they still
 * lead to its own objects, so a successor that took the name meanwhile
 * (after `ipckit rm`) keeps its ring. Nothing at a name is ever followed or
 * waited on: a FIFO, directory, socket or symbolic link there is -EPROTO at
 * once, for publishers and subscribers.
 *
 * Truncation: a memfd ring is sealed, so no one can shrink it. A named
 * ring's feed cannot be sealed (tmpfs files are not memfds): whoever may
 * write it - its owner, with the default mode 0600 only the publisher's
 * uid - can truncate it, and a subscriber that then touches a page past
 * the new end is killed by SIGBUS, as with any shared mapping. Subscribers
 * cannot truncate it (they open it read-only).
 *
 * Queue mode (IPK_RING_QUEUE): a lossless single-producer single-consumer
 * stream, for what must not drop (log records). A third object,
 * "/name-cons", holds the consumer's position; the consumer
 * (IPK_RING_CONSUMER; one at a time, -EBUSY for a second) maps it
 * read-write and records it after every message it takes, so that a
 * successor - after a close or a crash - continues with the next message,
 * never one given before. It shows the producer the room it made in steps
 * (every capacity / 16 bytes, and whenever it finds nothing to read or
 * closes), so that the producer loads that line once a step, not once a
 * message. The producer never overwrites what the consumer has not read:
 * ipk_ring_publish() and ipk_ring_reserve() return -EAGAIN while the queue
 * is full (room not shown yet counts as full), and ipk_ring_publish_wait()
 * spins briefly (50 us), then sleeps until there is room. Ordinary
 * subscribers may watch a queue too (read-only, lossy as usual). The guarantee holds
 * within one publisher's life: after a takeover the consumer continues at
 * the oldest record the new publisher kept.
 *
 * Threads: a publisher (ipk_ring) and a subscriber (ipk_ring_sub) are each
 * used by one thread at a time; different objects are independent, also in
 * one process.
 */
#ifndef IPCKIT_RING_H
#define IPCKIT_RING_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ipk_ring ipk_ring;         /* the publisher's side */
typedef struct ipk_ring_sub ipk_ring_sub; /* one subscriber */

/* ipk_ring_opts.flags */
#define IPK_RING_EXCL 0x1u  /* fail with -EEXIST if the name exists */
#define IPK_RING_KEEP 0x2u  /* leave the name behind on close */
#define IPK_RING_QUEUE 0x4u /* lossless queue mode (named rings only), see below */

struct ipk_ring_opts {
	uint64_t capacity; /* data bytes, a power of two >= 4096; 0 = 1 MiB */
	uint32_t max_msg;  /* largest message; 0 = capacity / 4 - 16; at most
			    * capacity / 2 - 16 */
	uint32_t flags;    /* IPK_RING_* */
	mode_t mode;       /* permission bits of new objects; 0 = 0600 */
};

/* ipk_ring_sub_opts.flags */
#define IPK_RING_SPIN 0x1u     /* busy-spin while waiting, never sleep */
#define IPK_RING_CONSUMER 0x2u /* the queue's one consumer (IPK_RING_QUEUE rings) */
/* Adaptive waiting: learn when the next message is due and what a wake-up
 * costs; spin around the time it is due, sleep on a timer that wakes
 * shortly before it, sleep on the futex otherwise (a message that comes
 * early wakes it as in the plain futex mode). Not with IPK_RING_SPIN or
 * spin_ns. See ipk_ring(3), WAITING. */
#define IPK_RING_ADAPTIVE 0x4u

/* ipk_ring_sub_opts.from: where a subscriber starts. Messages carry
 * sequence numbers 0, 1, 2, ... from the ring's creation on (a takeover
 * continues them); see ipk_ring_counts(). */
enum ipk_ring_from {
	IPK_RING_FROM_END = 0, /* new messages only: the ring's end (the default) */
	IPK_RING_FROM_OLDEST,  /* the oldest message still in the ring */
	IPK_RING_FROM_SEQ,     /* message number from_seq: those between it and the
				* oldest still there count as lost; a number not
				* yet published starts at the end */
};

struct ipk_ring_sub_opts {
	int64_t spin_ns;   /* spin this long before sleeping on the futex (0 = none) */
	uint32_t flags;    /* IPK_RING_SPIN, IPK_RING_ADAPTIVE, IPK_RING_CONSUMER */
	uint32_t from;     /* enum ipk_ring_from; a queue's consumer ignores it */
	uint64_t from_seq; /* IPK_RING_FROM_SEQ */
};

/**
 * ipk_ring_create() - create a ring and become its publisher
 * @name: "/name" (POSIX shm rules: one leading slash, no other), or NULL
 *        for an anonymous memfd ring (hand its descriptors to subscribers
 *        with ipk_ring_fds())
 * @opts: sizes and flags; NULL for the defaults
 *
 * If @name exists and its publisher is alive: -EBUSY. If it exists and its
 * publisher is dead, the ring is taken over in place (new epoch) when the
 * sizes agree, and replaced by a fresh object when they do not (or when
 * its creator died before finishing it); with IPK_RING_EXCL it is -EEXIST
 * instead. Its doorbell and consumer page are kept at a takeover and
 * replaced for a fresh ring. A memfd ring is sealed against resizing and
 * against new writable mappings (F_SEAL_FUTURE_WRITE, where the kernel has
 * it). The ring's memory is allocated (a full tmpfs is -ENOSPC here, never
 * a SIGBUS later) and mapped here (MAP_POPULATE): no publish pays a page
 * fault. A subscriber maps it without populating, so that its open takes
 * tens of microseconds whatever the size; its first pass over the ring
 * takes one minor fault per 64 KiB read (the kernel maps the 16 pages
 * around it), about 3 us each, once.
 *
 * Return: 0 and *@ret; -EINVAL (bad name or sizes); -EEXIST; -EBUSY;
 * -EPERM (something at the name or a companion name belongs to another
 * user, or is open to group or others beyond @opts->mode: not adopted);
 * -EPROTO (something there that is not a ring: a FIFO, directory, socket,
 * symbolic link, or a file that is not one of ours); -ENOSPC (the tmpfs is
 * full: ipk_shm_limit_hint()); -EACCES; -ENOMEM; -EOPNOTSUPP (no O_TMPFILE
 * in /dev/shm); other -errno of open/fallocate/linkat/mmap.
 * Blocking: no. Threads: safe.
 */
IPK_API int ipk_ring_create(const char *name, const struct ipk_ring_opts *opts, ipk_ring **ret);

/**
 * ipk_ring_close() - stop publishing; subscribers get -EPIPE once drained
 *
 * Removes the names unless IPK_RING_KEEP. Accepts NULL. Threads: not with
 * other calls on @r.
 */
IPK_API void ipk_ring_close(ipk_ring *r);

/**
 * ipk_ring_subscribers() - how many subscribers are attached now
 *
 * Each subscriber with write access to the doorbell holds a lock on a slot
 * of it from the end of its open (its start position known) to its close
 * or death, SIGKILL included; the count is of those locks. Subscribers
 * without write access to the doorbell (they poll) are not counted.
 * For a publisher that waits for its subscribers before it publishes, or
 * lingers for them before it closes: not for the hot path (one system call
 * per slot ever taken).
 * Return: the count (>= 0); -EINVAL; -errno of fcntl(F_OFD_GETLK).
 * Blocking: no. Threads: as the other calls on @r.
 */
IPK_API int ipk_ring_subscribers(const ipk_ring *r);

/**
 * ipk_ring_publish() - copy one message of @len bytes into the ring
 *
 * Never waits: the oldest messages are overwritten when needed. Makes a
 * FUTEX_WAKE only when a subscriber sleeps.
 * Return: 0; -EMSGSIZE if @len > max_msg (nothing published); -EAGAIN if
 * the queue is full (queue mode only). Blocking: no. Threads: one
 * publishing thread.
 */
IPK_API int ipk_ring_publish(ipk_ring *r, const void *buf, size_t len);

/**
 * ipk_ring_publish_wait() - ipk_ring_publish(), waiting for room in a queue
 * @timeout_ns: 0 = try once; negative = forever
 *
 * Same as ipk_ring_publish() for a lossy ring (which never waits). A full
 * queue is spun on for up to 50 us (the consumer shows its room in steps,
 * microseconds apart while it reads), then slept on.
 * Return: 0; -EMSGSIZE; -EAGAIN (timeout 0 and the queue full);
 * -ETIMEDOUT (the consumer did not make room in time, or is gone).
 * Blocking: until there is room or the timeout. Threads: as publish.
 */
IPK_API int ipk_ring_publish_wait(ipk_ring *r, const void *buf, size_t len, int64_t timeout_ns);

/**
 * ipk_ring_publish_batch() - publish @n messages, committed together
 * @msgs: the messages, in order; each len at most max_msg
 *
 * As @n calls of ipk_ring_publish(), except that the messages are
 * committed (made visible) in batches of up to 64 records or 4 KiB rather
 * than one by one:
 * a subscriber that keeps up then reads cache lines the publisher has
 * finished with, instead of taking each line back and forth while it is
 * written, and head and the doorbell are touched once per batch. For
 * bursts of small messages. A run of messages of one length shares one
 * record (up to 64 in 4 KiB, within max_msg; not in queue mode):
 * one header and one validation for them all. Never waits.
 * Return: the number published: @n, or in queue mode fewer (at least 1)
 * when the queue fills; 0 if @n is 0; -EMSGSIZE if any message is longer
 * than max_msg (none published); -EAGAIN if the queue is full (none
 * published); -EINVAL. Blocking: no. Threads: as publish.
 */
IPK_API int ipk_ring_publish_batch(ipk_ring *r, const struct ipk_msg *msgs, unsigned n);

/**
 * ipk_ring_reserve() - zero-copy publish, step 1: room for @len bytes
 * @ret: set to where the message goes (16-byte aligned, writable until
 *       ipk_ring_commit())
 *
 * The space is taken from the oldest messages at once; subscribers see
 * nothing of it until the commit. A second reserve replaces the first.
 * Return: 0; -EMSGSIZE if @len > max_msg; -EAGAIN if the queue is full
 * (queue mode). Blocking: no.
 */
IPK_API int ipk_ring_reserve(ipk_ring *r, size_t len, void **ret);

/**
 * ipk_ring_commit() - zero-copy publish, step 2: publish @len bytes
 * @len: at most what was reserved
 *
 * Return: 0; -EINVAL without a reservation or if @len is larger.
 * Blocking: no.
 */
IPK_API int ipk_ring_commit(ipk_ring *r, size_t len);

/**
 * ipk_ring_fds() - the descriptors of the feed and the doorbell
 *
 * For memfd rings: send both to a subscriber (fork, SCM_RIGHTS), which
 * attaches with ipk_ring_open_fd(). They stay owned by @r.
 * Return: 0. Threads: safe.
 */
IPK_API int ipk_ring_fds(const ipk_ring *r, int *ring_fd, int *bell_fd);

struct ipk_ring_stats {
	uint64_t published; /* messages published by this publisher */
	uint64_t wakes;     /* FUTEX_WAKE calls it made */
	uint64_t epoch;     /* the ring's current epoch */
	uint64_t max_msg;   /* largest message */
	uint64_t capacity;  /* data bytes */
};

/* ipk_ring_stats() - counters of this publisher. Return: 0. */
IPK_API int ipk_ring_stats(const ipk_ring *r, struct ipk_ring_stats *ret);

/**
 * ipk_ring_open() - subscribe to the ring "/name"
 * @opts: how to wait; NULL: sleep at once
 *
 * The subscriber starts at the current end: it receives what is published
 * from now on (if the publisher overwrites the ring faster than the
 * subscriber can walk it to learn the next sequence number, losses are
 * counted from its first message on); a queue's consumer starts where the last consumer stopped.
 * The header is validated before anything else is used.
 * Return: 0 and *@ret; -ENOENT; -EACCES; -EAGAIN (the publisher has linked
 * the ring but not finished setting it up: open again); -EOPNOTSUPP
 * (IPK_RING_CONSUMER on a ring that is not a queue); -EBUSY (the queue has
 * a consumer); -EPROTO (not a ring - a FIFO, directory, socket or symbolic
 * link at the name or its doorbell's, never waited on); -EPROTONOSUPPORT
 * (a ring of another layout version: its publisher runs another ipckit
 * release); -EBADMSG (sizes or positions inconsistent with the object);
 * -EINVAL.
 * Blocking: no. Threads: safe.
 */
IPK_API int ipk_ring_open(const char *name, const struct ipk_ring_sub_opts *opts,
			  ipk_ring_sub **ret);

/**
 * ipk_ring_open_fd() - subscribe through descriptors (memfd rings)
 * @ring_fd: the feed; mapped read-only whatever its access mode
 * @bell_fd: the doorbell, or -1 (then waiting polls every millisecond)
 *
 * Both are duplicated: the caller keeps its own. Queue consumers need a
 * name: IPK_RING_CONSUMER here is -EINVAL.
 * Return: as ipk_ring_open(); -EBADF.
 */
IPK_API int ipk_ring_open_fd(int ring_fd, int bell_fd, const struct ipk_ring_sub_opts *opts,
			     ipk_ring_sub **ret);

/* ipk_ring_sub_close() - unsubscribe; accepts NULL. */
IPK_API void ipk_ring_sub_close(ipk_ring_sub *s);

/**
 * ipk_ring_recv() - copy the next message into @buf (@len bytes)
 * @timeout_ns: 0 = try once; negative = forever
 *
 * Messages overwritten before they could be read are skipped and counted
 * (ipk_ring_lost()); what is delivered is always whole and as published.
 * Return: the message length (>= 0); -EAGAIN (timeout 0, nothing new);
 * -ETIMEDOUT; -EMSGSIZE if larger than @len (nothing consumed;
 * ipk_ring_msg_len() gives its size, though it may be overwritten before
 * the next call); -EPIPE: nothing left and the publisher closed (for good:
 * it stays so); -EOWNERDEAD: nothing left and the publisher died (once;
 * then receives wait for a successor within their timeout);
 * -ECONNRESET: a new publisher took over (once; then receive again);
 * -EBADMSG: the ring's contents are inconsistent (a broken publisher).
 * Blocking: until a message or the timeout. Threads: one at a time per @s.
 */
IPK_API ssize_t ipk_ring_recv(ipk_ring_sub *s, void *buf, size_t len, int64_t timeout_ns);

/**
 * ipk_ring_recv_batch() - receive up to @n messages in one call
 * @msgs: buffers: msgs[i].buf of msgs[i].len bytes; on return msgs[i].len
 *        is the length of the message received into it
 * @timeout_ns: for the first message, as ipk_ring_recv(); the others are
 *              taken only if they are there already
 *
 * The first message is ipk_ring_recv()'s; those after it that follow in
 * order, with nothing lost in between, are copied out in one go and
 * validated together (one look at tail per 4 KiB). A message that does not
 * fit its buffer ends the batch before it (the next call reports it).
 * Return: the number received (1..@n); otherwise the error ipk_ring_recv()
 * gives for the first. Blocking: as ipk_ring_recv(), for the first.
 * Threads: one at a time per @s.
 */
IPK_API int ipk_ring_recv_batch(ipk_ring_sub *s, struct ipk_msg *msgs, unsigned n,
				int64_t timeout_ns);

/* ipk_ring_lost() - messages skipped so far because they were overwritten. */
IPK_API uint64_t ipk_ring_lost(const ipk_ring_sub *s);

/* What a subscriber can say about the messages up to where it stands. */
struct ipk_ring_counts {
	uint64_t start;     /* seq of the first message it was to receive */
	uint64_t delivered; /* received (copied, or viewed and validated) */
	uint64_t lost;      /* overwritten before it could read them */
	uint64_t skipped;   /* before its start position, by choice (= start) */
};

/**
 * ipk_ring_counts() - where a subscriber started and what became of the
 * messages since: skipped + lost + delivered is the seq of the next message
 * it expects, i.e. every message the ring's publishers published before it.
 *
 * A subscriber that could not learn its start at open (a publisher lapping
 * the ring faster than it could be walked) learns it from its first
 * message; until then start, skipped and delivered are 0.
 * Return: 0 and *@ret; -EINVAL. Threads: as the receives on @s.
 */
IPK_API int ipk_ring_counts(const ipk_ring_sub *s, struct ipk_ring_counts *ret);

/* ipk_ring_msg_len() - the size of the message the last -EMSGSIZE refused. */
IPK_API size_t ipk_ring_msg_len(const ipk_ring_sub *s);

/* ipk_ring_sub_max_msg() - the largest message the ring carries. */
IPK_API size_t ipk_ring_sub_max_msg(const ipk_ring_sub *s);

/* A message seen in place; fields are for reading only. */
struct ipk_ring_view {
	const void *data; /* in the read-only mapping */
	size_t len;
	uint64_t seq;  /* the message's sequence number */
	uint64_t pos_; /* private */
	uint32_t idx_; /* private */
};

/**
 * ipk_ring_view() - zero-copy receive: point @v at the next message
 *
 * v->data is 16-byte aligned, or 8-byte aligned for a message that shares
 * a record with others (ipk_ring_publish_batch()).
 * The bytes may be overwritten while you read them: use them, then call
 * ipk_ring_validate() and trust what you derived only if it returns 0.
 * (Under ThreadSanitizer such reads are reported as races; the copying
 * calls are race-free.)
 * Return: 0; errors as ipk_ring_recv() except -EMSGSIZE.
 */
IPK_API int ipk_ring_view(ipk_ring_sub *s, struct ipk_ring_view *v, int64_t timeout_ns);

/**
 * ipk_ring_validate() - finish a view: was it intact until now?
 *
 * Return: 0 if no byte of it was overwritten; -ESTALE if it was (discard
 * what you read; it counts as one lost message). The view is consumed
 * either way. -EINVAL if @v is not the latest view of the message @s
 * stands at (a receive since took it).
 */
IPK_API int ipk_ring_validate(ipk_ring_sub *s, const struct ipk_ring_view *v);

/**
 * ipk_ring_fd() - a descriptor that polls readable while a receive would
 * not wait (a message, or -EPIPE/-EOWNERDEAD/-ECONNRESET to report)
 *
 * An eventfd fed by a helper thread of this subscriber, started by the
 * first call; it stays readable until a receive returns -EAGAIN. Owned by
 * @s. Return: the fd; -errno if the thread or eventfd cannot be made.
 * Threads: call it from the thread that receives.
 */
IPK_API int ipk_ring_fd(ipk_ring_sub *s);

/* What ipk_ring_info() reads from a ring's header (a snapshot). */
struct ipk_ring_info {
	pid_t pid;             /* this epoch's publisher */
	int alive;             /* 1: its process lives (same start time) */
	int closed;            /* 1: it closed the ring (IPK_RING_KEEP left it) */
	int queue;             /* 1: a queue ("/name-cons" exists) */
	int has_consumer_lag;  /* 1: consumer_lag is known */
	uint64_t epoch;        /* 1 for the first publisher, +1 per takeover */
	uint64_t published;    /* messages published since the ring was made */
	uint64_t capacity;     /* data bytes */
	uint64_t max_msg;      /* largest message */
	uint64_t head;         /* bytes written since the ring was made */
	uint64_t tail;         /* start of the oldest intact record */
	uint64_t consumer_lag; /* queue: bytes the consumer has not taken yet */
};

/**
 * ipk_ring_info() - read the state of the ring "/name" without subscribing
 *
 * Maps the feed read-only, validates the header as ipk_ring_open() does
 * and copies out the publisher's pid and liveness, epoch, counters and
 * sizes. Subscribers keep nothing in shared memory, so their lag is not
 * known; a queue's consumer lag is. Takes no lock: a publisher starting
 * at the same moment is not disturbed.
 * Return: 0 and *@ret; -EINVAL (bad name); -ENOENT; -EACCES; -EPROTO (not
 * a ring, or not initialised yet); -EPROTONOSUPPORT (another layout
 * version); -EBADMSG (inconsistent header).
 * Blocking: no. Threads: safe.
 */
IPK_API int ipk_ring_info(const char *name, struct ipk_ring_info *ret);

#ifdef __cplusplus
}
#endif

#endif /* IPCKIT_RING_H */
