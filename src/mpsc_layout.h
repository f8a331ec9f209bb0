/* SPDX-License-Identifier: MIT */
/*
 * mpsc_layout.h - ipk_mpsc's shared memory and what its sources share:
 * the consumer's header "/name", the doorbell "/name-door", a producer's
 * lane (an anonymous sealed memfd), the hello a producer sends to
 * register, the record encoding, and the memory-order table every atomic
 * in mpsc*.c names. Internal: the sources and the tests include it.
 *
 * A lane is a single-producer single-consumer ring (the producer writes
 * records and marks; the consumer writes only its position, and the
 * futex word it bumps when it makes room):
 *
 *   0     line 0: magic, version, capacity, max_msg (the producer, once)
 *   64    line 1: claim (the producer: 1 + the seq of the record it is
 *                 writing or wrote last)
 *   128   line 2: pos (the consumer: everything before it is taken)
 *   192   line 3: room (futex word, bumped by the consumer), waiting (the
 *                 producer sleeps on room)
 *   4096  data: capacity bytes, a power of two
 *
 * A record is a 16-byte header - word 0: len | kind << 32, word 1: seq,
 * the commit word - then the payload padded to 16 bytes. A record never
 * straddles the end of the data: where it would, a PAD record fills the
 * rest of the lap (its seq word holds the seq of the message after it).
 * IPK__MPSC_NONE in a seq word means "nothing committed here yet".
 *
 * Claim, commit, skip. The producer of message s, at position h:
 *
 *   claim = s + 1                (relaxed)  [K] (only for counting skips)
 *   payload bytes                (relaxed)
 *   seq word at h + rec = NONE   (relaxed)  [M] the mark of the next record
 *   word 0 at h = len | MSG      (relaxed)
 *   seq word at h = s            (seq_cst)  [C] commit
 *   sleeping?                    (seq_cst)  [S] the doorbell, below
 *
 * The consumer at position p (its own copy; the lane's pos follows it):
 *
 *   w = seq word at p            (acquire)  [A] pairs with C: w != NONE
 *                                               means the record's bytes
 *                                               are all there
 *   word 0, payload              (relaxed)
 *   pos = p + rec                (release)  [P] pairs with the producer's
 *                                               acquire load of pos: it
 *                                               reuses those bytes only
 *                                               after we copied them
 *
 * The seq word at p holds NONE or the record's seq, never stale bytes of
 * an earlier lap: the mark M was written there before the record before
 * p was committed (C orders it), and the producer never writes past pos
 * + capacity, so nothing else reaches p until the consumer has moved on.
 * A producer killed anywhere before C leaves NONE at p: the consumer
 * never takes that record, skips the lane and serves the others. When
 * the producer's connection hangs up (the kernel closes it at death), the
 * consumer takes what was committed, and if claim says a record was
 * begun past the last one it took, counts one record skipped and forgets
 * the lane. tests/model/mpsc.pml checks this protocol.
 *
 * The doorbell (the consumer sleeps on door->futex):
 *
 *   producer                         consumer
 *   seq word = s  (seq_cst)   [C]    sleeping = 1       (seq_cst)
 *   x = sleeping  (seq_cst)   [S]    fence(seq_cst)
 *   if x:                            f = futex          (acquire)
 *     futex += 1  (release)          look at every lane (acquire, as A)
 *     FUTEX_WAKE                     if none: FUTEX_WAIT(futex, f)
 *                                    sleeping = 0       (relaxed)
 *
 * One of the two sees the other: the producer's C precedes its load S in
 * the single total order, and so does the consumer's store of sleeping
 * before its loads; so either S reads 1, or the consumer's look reads the
 * commit. If the consumer read f before the increment, FUTEX_WAIT returns
 * at once. Only the consumer clears sleeping: a producer that did could
 * take the flag from under the next producer's commit, whose wake-up
 * would then be lost (the model's first version found it). Without a
 * sleeping consumer a producer pays one locked store and one load of a
 * line the consumer rarely writes: no system call.
 *
 * Room (the producer sleeps on lane->room): the same pair with the roles
 * swapped - the producer stores waiting = 1 (seq_cst), fences, loads pos;
 * the consumer stores pos (P), and where it found the lane empty a
 * seq_cst fence, then loads waiting. Between those, the consumer looks at
 * waiting (relaxed) after each message it takes from a lane; a look that
 * misses a store that is on its way costs the producer at most one sleep
 * slice (ROOM_SLICE_NS), after which it looks at pos itself.
 */
#ifndef IPK_MPSC_LAYOUT_H
#define IPK_MPSC_LAYOUT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <ipckit/mpsc.h>

#include "internal.h"

_Static_assert(ATOMIC_LLONG_LOCK_FREE == 2, "lock-free 64-bit atomics in shared memory");
_Static_assert(ATOMIC_INT_LOCK_FREE == 2, "lock-free 32-bit atomics in shared memory");

#define IPK__MPSC_LINE 64
#define IPK__MPSC_MAGIC 0x4353504du       /* "MPSC" */
#define IPK__MPSC_DOOR_MAGIC 0x524f4f44u  /* "DOOR" */
#define IPK__MPSC_LANE_MAGIC 0x454e414cu  /* "LANE" */
#define IPK__MPSC_HELLO_MAGIC 0x4f4c4548u /* "HELO" */
#define IPK__MPSC_VERSION 1u
#define IPK__MPSC_HDR_SIZE 4096u
#define IPK__MPSC_DOOR_SIZE 4096u
#define IPK__MPSC_LANE_HDR 4096u
#define IPK__MPSC_REC_HDR 16u
#define IPK__MPSC_MIN_CAP ((uint64_t)4096)
#define IPK__MPSC_MAX_CAP ((uint64_t)1 << 30)
#define IPK__MPSC_DEFAULT_CAP ((uint64_t)256 << 10)
#define IPK__MPSC_DOOR "-door" /* the doorbell's suffix */

#define IPK__MPSC_KIND_MSG 1u
#define IPK__MPSC_KIND_PAD 2u
#define IPK__MPSC_NONE UINT64_MAX

#define IPK__MPSC_STATE_LIVE 1u
#define IPK__MPSC_STATE_CLOSED 2u

/* Room for "\0ipk-mpsc-PID-RANDOM" in sun_path. */
#define IPK__MPSC_ADDR_MAX 64u

/* "/name": the consumer's header, read-only for producers. */
struct ipk__mpsc_hdr {
	_Atomic uint32_t magic; /* stored last, release, when the object is new */
	uint32_t version;
	/* line 1: who consumes; a takeover stores epoch first, then a release
	 * fence, then the rest; producers read epoch, the rest, epoch again */
	_Alignas(IPK__MPSC_LINE) _Atomic uint64_t epoch;
	_Atomic int32_t pid;
	_Atomic uint32_t state; /* IPK__MPSC_STATE_* */
	_Atomic uint64_t start; /* the consumer's start time (ipk__proc_start_time()), or 0 */
	uint32_t addr_len;      /* bytes of addr used (sun_path, abstract) */
	char addr[IPK__MPSC_ADDR_MAX];
};

_Static_assert(offsetof(struct ipk__mpsc_hdr, epoch) == 64, "layout");
_Static_assert(sizeof(struct ipk__mpsc_hdr) <= IPK__MPSC_HDR_SIZE, "layout");

/* "/name-door": the consumer's futex word; read-write for producers. */
struct ipk__mpsc_door {
	_Atomic uint32_t magic;
	uint32_t version;
	_Alignas(IPK__MPSC_LINE) _Atomic uint32_t futex;    /* bumped by whoever wakes */
	_Alignas(IPK__MPSC_LINE) _Atomic uint32_t sleeping; /* the consumer sleeps */
	_Alignas(IPK__MPSC_LINE) _Atomic uint32_t joins;    /* bumped by each hello */
};

_Static_assert(offsetof(struct ipk__mpsc_door, futex) == 64, "layout");
_Static_assert(offsetof(struct ipk__mpsc_door, sleeping) == 128, "layout");
_Static_assert(offsetof(struct ipk__mpsc_door, joins) == 192, "layout");

/* A producer's lane: header page, then the data. */
struct ipk__mpsc_lane {
	_Atomic uint32_t magic;
	uint32_t version;
	uint64_t capacity;
	uint32_t max_msg;
	_Alignas(IPK__MPSC_LINE) _Atomic uint64_t claim; /* producer */
	_Alignas(IPK__MPSC_LINE) _Atomic uint64_t pos;   /* consumer */
	_Alignas(IPK__MPSC_LINE) _Atomic uint32_t room;  /* consumer bumps */
	_Atomic uint32_t waiting;                        /* producer sleeps on room */
};

_Static_assert(offsetof(struct ipk__mpsc_lane, claim) == 64, "layout");
_Static_assert(offsetof(struct ipk__mpsc_lane, pos) == 128, "layout");
_Static_assert(offsetof(struct ipk__mpsc_lane, room) == 192, "layout");
_Static_assert(sizeof(struct ipk__mpsc_lane) <= IPK__MPSC_LANE_HDR, "layout");

/* What a producer sends to register, with its lane's memfd (SCM_RIGHTS). */
struct ipk__mpsc_hello {
	uint32_t magic, version;
	uint64_t next_seq; /* the seq of the next message it will write */
};

/* The consumer's answer: IPK__MPSC_YES and the producer's number, or NO. */
#define IPK__MPSC_YES 'Y'
#define IPK__MPSC_NO 'N'
struct ipk__mpsc_reply {
	uint32_t answer;
	uint32_t producer;
};

static inline uint64_t ipk__mpsc_rec_size(uint64_t len)
{
	return IPK__MPSC_REC_HDR + ((len + 15) & ~(uint64_t)15);
}

static inline uint64_t ipk__mpsc_word(uint64_t len, uint32_t kind)
{
	return len | (uint64_t)kind << 32;
}

/* ---- mpsc_names.c: names, objects, futexes ------------------------------ */

/* "/name", one slash, room for the door's suffix. Return: 0; -EINVAL. */
int ipk__mpsc_check_name(const char *name);
/* "/name" + IPK__MPSC_DOOR into @buf (NAME_MAX + 1 bytes). */
void ipk__mpsc_door_name(const char *name, char *buf);
/*
 * ipk__mpsc_open_header() - the consumer's "/name": a dead consumer's
 * (its lock free; *@fresh false, or true if its creator never finished
 * it) or a new one linked at the name, locked, without magic yet (*@fresh
 * true). *@ret_fd and *@id are set as soon as something is opened, also
 * when it is then refused. Return: 0; -EBUSY (a live consumer); -EEXIST
 * (@excl); -EPERM; -EPROTO (not a queue); -errno.
 */
struct ipk__shm_id;
int ipk__mpsc_open_header(const char *name, mode_t mode, bool excl, int *ret_fd,
			  struct ipk__shm_id *id, bool *fresh);
/* ipk__mpsc_open_door() - the doorbell @door: kept if whole and !@fresh,
 * else made anew in place of whatever of ours is there. Return: 0 and
 * *@ret_fd, *@id; -errno. */
int ipk__mpsc_open_door(const char *door, mode_t mode, bool fresh, int *ret_fd,
			struct ipk__shm_id *id);
/* FUTEX_WAIT on a shared word until the absolute CLOCK_MONOTONIC
 * @deadline_ns. Return: 0 (woken, or the word moved); -ETIMEDOUT. */
int ipk__mpsc_futex_wait(_Atomic uint32_t *word, uint32_t val, int64_t deadline_ns);
/* FUTEX_WAKE every waiter on a shared word. */
void ipk__mpsc_futex_wake(_Atomic uint32_t *word);

/* ---- mpsc_poll.c: the consumer's pollable descriptor --------------------- */

struct ipk__mpsc_poll {
	int efd; /* the eventfd, or -1 */
	bool started;
	pthread_t thread;
	_Atomic uint32_t *futex; /* the door's futex word */
	_Atomic uint32_t armed;  /* 1 while the helper watches (a futex word) */
	_Atomic uint32_t word;   /* the door's word as the consumer last read it */
	_Atomic uint32_t fired;  /* the helper wrote to the eventfd since the last rest */
	_Atomic bool stop;
};

/* Make the eventfd (readable at once) and start the helper. Return: 0;
 * -errno. */
int ipk__mpsc_poll_start(struct ipk__mpsc_poll *pl, _Atomic uint32_t *futex);
/* The consumer found nothing after it stored sleeping = 1 and read @word:
 * fire when the door's word moves from it. */
void ipk__mpsc_poll_arm(struct ipk__mpsc_poll *pl, uint32_t word);
/* The consumer receives again: disarm, and drain the eventfd if it fired. */
void ipk__mpsc_poll_rest(struct ipk__mpsc_poll *pl);
/* Stop and join the helper, close the eventfd; safe on one never started. */
void ipk__mpsc_poll_stop(struct ipk__mpsc_poll *pl);

/* Tests only: called with a step number at each step of a send (see
 * mpsc_prod.c); NULL in every program that does not set it. */
extern void (*ipk__mpsc_test_step)(int step);

#endif /* IPK_MPSC_LAYOUT_H */
