/* SPDX-License-Identifier: MIT */
/*
 * ipckit/mpsc.h - many producers, one consumer, in shared memory: lossless,
 * with backpressure, every message attributed to the process that sent it,
 * and safe against a producer or the consumer killed at any instruction.
 *
 * Shape. The consumer creates the queue "/name" and receives; any number
 * of producers connect to it by name and send. Each producer has its own
 * lane: a single-producer single-consumer ring in a sealed memfd that the
 * producer makes and hands to the consumer over a Unix socket. So
 * producers never contend with one another (no shared write index, no
 * lock), order is kept per producer, and a producer that dies can only
 * leave its own lane unfinished. The consumer takes messages from the
 * lanes in turn (at most 64 from one lane before it looks at the next), so
 * no producer starves another.
 *
 * Objects. "/name" is the consumer's header (written only by the consumer;
 * producers map it read-only): its pid, start time, epoch, and the address
 * of the abstract Unix socket it listens on (random, new at every start).
 * "/name-door" is the doorbell: one page with the consumer's futex word,
 * which producers map read-write; it holds no data, so a producer that
 * scribbles on it can cause spurious or late wake-ups (late by one sleep
 * slice, 50 ms, at most), nothing else. Lanes have no name at all.
 *
 * Who sent a message: what the kernel vouches for. A producer registers
 * its lane by connecting to the consumer's socket; the consumer reads the
 * connection's SO_PEERCRED (pid, uid, gid, filled in by the kernel at
 * connect(), not by the producer) and attributes every record of that
 * lane to it (struct ipk_mpsc_from). A producer cannot write into another
 * producer's lane: a lane is an anonymous memfd that only its producer and
 * the consumer hold, never reachable by a name. What this does NOT
 * guarantee:
 *   - a producer may hand its lane's descriptor (or its process, through
 *     fork or ptrace) to another process, which then writes under its
 *     name: the credentials name the process that registered the lane and
 *     vouches for what is in it, not the one whose instructions wrote each
 *     byte;
 *   - processes of one uid can read and write each other's memory
 *     (ptrace, /proc/PID/mem, /proc/PID/fd): the kernel draws no line
 *     between them, so neither can we - uid and gid are the boundary,
 *     the pid is a label within it;
 *   - the pid is the registering process's at connect time. Its liveness
 *     is the connection itself (it closes when the process dies, however
 *     it dies), so a pid that is reused later is never mistaken for it.
 * Who may connect: the consumer admits a peer whose uid is its effective
 * uid or 0; with S_IWGRP in @mode also one whose gid is its effective gid;
 * with S_IWOTH anyone. Others are refused (-EACCES). A producer checks in
 * turn that the socket's peer is the process the header names, of the
 * uid that owns "/name".
 *
 * Crashes.
 *   - A producer killed at any point of a send blocks nobody: other
 *     producers write their own lanes, and the consumer skips a lane whose
 *     next record is not committed and serves the others. Its committed
 *     records are all delivered; the one it was writing is never
 *     delivered, torn or otherwise, and is counted in
 *     ipk_mpsc_stats.skipped once the consumer sees the death (it looks
 *     at its connections every 10 ms while it receives, and after every
 *     sleep slice of at most 50 ms). One killed between its last commit
 *     and ringing the doorbell may leave a sleeping consumer asleep to
 *     the end of its slice: that record comes up to 50 ms late.
 *   - A consumer killed and started again (ipk_mpsc_create() on the same
 *     name takes the dead one's objects over: new epoch, new socket)
 *     loses no committed message: the lanes live in the producers, the
 *     consumer's position in each lane lives in the lane, and each
 *     producer hands its lane to the new consumer at its next call (a
 *     send, or ipk_mpsc_prod_poll()). A message counts as taken only
 *     when the consumer asks for the next one (its next ipk_mpsc_recv(),
 *     or ipk_mpsc_close()): the message a consumer was handling when it
 *     was killed is delivered again to the next one - at least once,
 *     never lost. Messages carry a sequence number per producer
 *     (ipk_mpsc_from.seq), so a repeat is visible.
 *   - Producers waiting for room when the consumer dies wait for a new
 *     one within their timeout.
 *
 * Limits. No fixed maximum of producers: each costs the consumer one
 * descriptor (the connection) and one mapping, so the consumer's
 * RLIMIT_NOFILE bounds it (1024 by default, minus what else it has open;
 * raise it with setrlimit(2) or ulimit -n). A producer the consumer cannot
 * accept waits in the socket's backlog until it can or until its own
 * timeout.
 *
 * Threads: the consumer (ipk_mpsc) and each producer (ipk_mpsc_prod) are
 * used by one thread at a time; one process may hold many producers, also
 * of one queue (each is a producer of its own). A producer must not be
 * used in a child after fork(): connect again there.
 */
#ifndef IPCKIT_MPSC_H
#define IPCKIT_MPSC_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ipk_mpsc ipk_mpsc;           /* the consumer */
typedef struct ipk_mpsc_prod ipk_mpsc_prod; /* one producer */

/* ipk_mpsc_opts.flags */
#define IPK_MPSC_EXCL 0x1u /* -EEXIST if something is at the name */
#define IPK_MPSC_KEEP 0x2u /* leave the names behind on close */
#define IPK_MPSC_SPIN 0x4u /* the consumer busy-spins while waiting, never sleeps */

struct ipk_mpsc_opts {
	uint32_t flags;  /* IPK_MPSC_* */
	mode_t mode;     /* permission bits of "/name" and "/name-door" and who
			  * may connect (see above); 0 = 0600 */
	int64_t spin_ns; /* spin this long before sleeping (0 = none) */
};

struct ipk_mpsc_prod_opts {
	uint64_t capacity; /* the lane's data bytes, a power of two >= 4096; 0 = 256 KiB */
	uint32_t max_msg;  /* largest message; 0 = capacity / 4 - 16; at most that */
};

/* Who sent a message, and which of its messages it is. */
struct ipk_mpsc_from {
	pid_t pid;         /* the producer's process (SO_PEERCRED at connect) */
	uid_t uid;         /* its effective uid then */
	gid_t gid;         /* its effective gid then */
	uint32_t producer; /* the producer's number at this consumer (1, 2, ...) */
	uint64_t seq;      /* the message's number in its producer's lane, from 0 */
};

/**
 * ipk_mpsc_create() - create the queue "/name" and become its consumer
 * @name: "/name" (one leading slash, no other)
 * @opts: NULL for the defaults
 *
 * If a live consumer has the name: -EBUSY. If a dead one of ours had it,
 * it is taken over in place (its doorbell kept, the epoch moved on, a new
 * socket), and its producers hand their lanes over at their next call.
 * A new queue appears at its name locked, and is set up before the lock
 * goes: producers wait for it while the lock is held; one whose creator
 * died first is unlocked and not set up (ipk_mpsc_connect() says
 * -ECONNREFUSED) until a consumer takes the name over as new. Only a
 * regular file owned by our effective uid and open to group and others no
 * more than @opts->mode is adopted.
 * Return: 0 and *@ret; -EINVAL; -EEXIST (IPK_MPSC_EXCL); -EBUSY; -EPERM
 * (another user's object, or one open beyond @mode); -EPROTO (something
 * at the name that is no queue of ours: a ring, a FIFO, a directory, a
 * symbolic link...); -ENOSPC; -EOPNOTSUPP (no O_TMPFILE in /dev/shm);
 * -errno of socket/bind/listen/mmap.
 * Blocking: no. Threads: safe.
 */
IPK_API int ipk_mpsc_create(const char *name, const struct ipk_mpsc_opts *opts, ipk_mpsc **ret);

/**
 * ipk_mpsc_close() - stop consuming; producers' sends then fail with -EPIPE
 *
 * Stops ipk_mpsc_fd()'s helper and closes its descriptor.
 * Marks the last message returned as taken. Removes the names (only while
 * they still lead to this queue's objects) unless IPK_MPSC_KEEP; messages
 * not yet received are then lost with the producers' lanes. With
 * IPK_MPSC_KEEP a consumer that takes the name over later is served as
 * after a crash: producers that have not closed hand it their lanes.
 * Accepts NULL.
 */
IPK_API void ipk_mpsc_close(ipk_mpsc *c);

/**
 * ipk_mpsc_recv() - take the next message of any producer
 * @buf, @len: where the message goes
 * @from: NULL, or who sent it (filled only on success)
 * @timeout_ns: 0 = try once; negative = forever
 *
 * First marks the message the last call returned as taken (its room
 * goes back to its producer; a consumer killed before that gets it again
 * after a restart). Also admits producers that are connecting (they wait
 * for that in ipk_mpsc_connect()), and notices producers that left or
 * died.
 * Return: the message length (>= 0); -EAGAIN (timeout 0, nothing there);
 * -ETIMEDOUT; -EMSGSIZE if the next message is longer than @len (nothing
 * taken; ipk_mpsc_msg_len() says how long; the next call tries it again).
 * Blocking: until a message or the timeout. Threads: one at a time.
 */
IPK_API ssize_t ipk_mpsc_recv(ipk_mpsc *c, void *buf, size_t len, struct ipk_mpsc_from *from,
			      int64_t timeout_ns);

/**
 * ipk_mpsc_fd() - a descriptor that polls readable when a receive may
 * have something to do (a message, a producer joining)
 *
 * An eventfd fed by a helper thread of this consumer, started by the first
 * call (and readable at once). It is armed by a receive that finds nothing
 * (-EAGAIN, -ETIMEDOUT) and stays readable until the next receive. Producers
 * that leave or die are noticed by the receives, not by the descriptor.
 * Owned by @c. Return: the descriptor; -errno if the thread or eventfd
 * cannot be made. Threads: call it from the receiving thread.
 */
IPK_API int ipk_mpsc_fd(ipk_mpsc *c);

/* ipk_mpsc_msg_len() - the length of the message the last -EMSGSIZE refused. */
IPK_API size_t ipk_mpsc_msg_len(const ipk_mpsc *c);

struct ipk_mpsc_stats {
	uint64_t delivered; /* messages received */
	uint64_t skipped;   /* records a producer died while writing: never delivered */
	uint64_t producers; /* connected now */
	uint64_t joined;    /* admitted since create (hand-overs after a restart too) */
	uint64_t left;      /* gone (closed or died), their lanes drained */
	uint64_t refused;   /* connections refused: credentials, a bad lane or hello */
	uint64_t broken;    /* lanes dropped because their contents made no sense */
	uint64_t epoch;     /* 1 for the first consumer of the name, +1 per takeover */
};

/* ipk_mpsc_stats() - counters of this consumer. Return: 0; -EINVAL. */
IPK_API int ipk_mpsc_stats(const ipk_mpsc *c, struct ipk_mpsc_stats *ret);

/**
 * ipk_mpsc_connect() - become a producer of the queue "/name"
 * @opts: the lane's size; NULL for the defaults
 * @timeout_ns: how long to wait for the consumer to admit us (it does so
 *              in its receives); 0 = do not wait: sends may start at once
 *              (the lane fills until the consumer admits it), and a
 *              refusal shows as -EACCES at a later call
 *
 * Return: 0 and *@ret; -EINVAL; -ENOENT (no queue at the name);
 * -ECONNREFUSED (its consumer closed or died and none took over);
 * -EACCES (refused, or no access to the name); -EPROTO (not a queue, or
 * the socket's peer is not the consumer the header names); -ETIMEDOUT
 * (not admitted in time); -EAGAIN (timeout 0 and the queue is still being
 * set up); -ENOMEM; -errno.
 * Blocking: up to @timeout_ns. Threads: safe.
 */
IPK_API int ipk_mpsc_connect(const char *name, const struct ipk_mpsc_prod_opts *opts,
			     int64_t timeout_ns, ipk_mpsc_prod **ret);

/**
 * ipk_mpsc_send() - copy one message of @len bytes into our lane
 * @timeout_ns: how long to wait for room; 0 = not at all; negative = forever
 *
 * Makes no system call unless the lane is full, the consumer sleeps (one
 * FUTEX_WAKE), or the consumer was replaced (the lane is handed over).
 * Return: 0; -EMSGSIZE (@len > max_msg; nothing sent); -EAGAIN (timeout
 * 0 and the lane full); -ETIMEDOUT (no room in time: the consumer is slow,
 * or dead and not yet replaced); -EPIPE (the consumer closed the queue:
 * connect again); -EACCES (the consumer refused this producer).
 * Blocking: up to @timeout_ns while the lane is full. Threads: one at a time.
 */
IPK_API int ipk_mpsc_send(ipk_mpsc_prod *p, const void *buf, size_t len, int64_t timeout_ns);

/**
 * ipk_mpsc_prod_poll() - without sending: hand the lane to a consumer
 * that took over since the last call, and learn the state
 *
 * For an idle producer whose unread messages should reach a restarted
 * consumer. Return: 0 (admitted, or handed over and pending); -EPIPE;
 * -EACCES; -errno. Blocking: no.
 */
IPK_API int ipk_mpsc_prod_poll(ipk_mpsc_prod *p);

/**
 * ipk_mpsc_prod_close() - stop producing
 *
 * What was sent stays in the lane until the consumer has taken it (the
 * consumer holds the lane's memory too), then the consumer forgets the
 * producer. Accepts NULL.
 */
IPK_API void ipk_mpsc_prod_close(ipk_mpsc_prod *p);

/* ipk_mpsc_prod_max_msg() - the largest message @p can send. */
IPK_API size_t ipk_mpsc_prod_max_msg(const ipk_mpsc_prod *p);

#ifdef __cplusplus
}
#endif

#endif /* IPCKIT_MPSC_H */
