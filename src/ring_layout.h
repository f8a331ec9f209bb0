/* SPDX-License-Identifier: MIT */
/*
 * ring_layout.h - the broadcast ring's shared memory: the three objects a
 * ring is made of, their fixed offsets, magics and sizes, the record header
 * encoding, and the memory-order table that every atomic in ring_*.c
 * names. Internal: the ring's sources, its tests and its fuzzer include it;
 * nothing here is API. docs/ring-internals.md tells the rest of the
 * protocol (tail steps, the commit word, batches, queue mode, sleeping,
 * liveness) and which file holds what.
 *
 * Objects. A named ring is the feed "/name", its doorbell "/name-bell"
 * and, in queue mode, the consumer's page "/name-cons" (the suffixes:
 * IPK__RING_BELL, IPK__RING_CONS, ipk__ring_parts in internal.h). They are
 * made, opened and removed only through shmname.c - the ownership layer
 * that ipk_shm uses too: a new object appears at its name complete (and
 * the feed already locked), only what is ours is adopted or removed, and
 * a name is removed only while it still leads to our object. Anonymous
 * rings are memfds, made there too (ipk__shm_memfd()). No ring source
 * calls shm_open(), shm_unlink(), ftruncate(), memfd_create() or open()
 * itself: grep -E 'shm_open|shm_unlink|ftruncate|memfd_create|open\(' on
 * src/ring_* finds only ipk__shm_open(), ipk__shm_unlink(),
 * ipk__shm_memfd(), ipk__reopen() (ring_wait.c), ipk__pidfd_open() and
 * the public ipk_ring_open*().
 *
 * Layout of the feed (all offsets fixed, all integers fixed-width, every
 * atomic naturally aligned, each control word on its own line):
 *
 *   0     line 0: magic, version, hdr_size, max_msg, capacity, map_size
 *                 (written once, before magic is published)
 *   64    line 1: epoch, pid, state, base_seq, start (rewritten at a takeover)
 *   128   line 2: head, pub_seq (publisher, every publish)
 *   192   line 3: tail (publisher, every tail step of reused space)
 *   4096  data: capacity bytes, a power of two
 *
 * Positions are byte counts since the ring was made; they only grow (2^64
 * bytes do not wrap in practice). Position p lives at data[p & mask].
 * A record is a 16-byte header - word 0: len | kind << 32 | count << 48,
 * word 1: seq - then the payload, padded to 16 bytes; so records are
 * 16-byte aligned and never straddle the end of the data area: where the
 * next one does not fit, a PAD record fills the rest of the lap. A MSG
 * record holds one message (count 0); a PACK, written by
 * ipk_ring_publish_batch() for a run of small messages of one length,
 * holds count of them in slots of len rounded up to 8 bytes
 * (ipk__ring_pack_slot()), with seq numbers seq, seq + 1, ...; its payload
 * is at most max_msg bytes, so every bound that holds for records holds
 * for it. IPK__RING_SEQ_NONE in a seq word means "nothing here yet".
 *
 * head: end of the last committed record. tail: start of the oldest record
 * that is still intact - the "overwrite intent". Before the publisher
 * writes over old bytes it moves tail past every record it is about to
 * destroy. [tail, head) is therefore always a run of whole, committed
 * records; head - tail <= capacity.
 *
 * The memory-order table. The protocol is a seqlock per record, with tail
 * as the sequence word:
 *
 *   publisher                         subscriber at position p < head
 *   ---------                         -------------------------------
 *   tail = t'          (relaxed)      h = head              (acquire) [A]
 *   fence(release)                [F] read header and payload (relaxed)
 *   write record bytes (relaxed)      fence(acquire)                  [G]
 *   seq word = seq     (release)  [C] t = tail              (relaxed)
 *   head = h'          (release)  [R] p >= t ? intact : overwritten
 *
 * [R]/[A]: whoever sees head past a record also sees its bytes; [C] is the
 * same for a subscriber that has caught up and loads the record's seq word
 * (acquire) instead of head. [F]/[G]: if any byte the subscriber read was
 * written after the publisher moved tail past p, the release fence F
 * synchronises with the acquire fence G, so the tail load after G sees
 * that tail (or a later one) and the copy is thrown away. Every control
 * word and record header is a naturally aligned 64-bit atomic (relaxed
 * where the fences give the order); payload bytes are copied with memcpy,
 * which the fences order like any other access (relaxed atomics in
 * ThreadSanitizer builds: see copy_in() in ring_internal.h), as are the
 * caller's own loads and stores in the zero-copy calls.
 *
 * The doorbell. Subscribers cannot write the feed, so the futex word and
 * the count of sleepers live in the doorbell object. It holds no data: a
 * subscriber that scribbles on it can only cause spurious wake-ups or
 * missed ones (the latter bounded by the sleep slice). The store-load
 * pairs - the publisher stores head and loads the sleepers word, a sleeper
 * counts itself there and loads head - need a store-load fence on each
 * side, and a locked instruction per publish costs the publisher about as
 * much as the rest of a small message. So the publisher has two modes,
 * and the IPK__RING_FENCED bit of the sleepers word says which one it is
 * in (the publisher clears it, a sleeper sets it):
 *
 *   publisher, fenced (bit set)       sleeping subscriber
 *   head = h' (seq_cst exchange)      w = sleepers += 1     (seq_cst)
 *   n = sleepers       (seq_cst)      if !(w & FENCED):
 *                                         membarrier(GLOBAL_EXPEDITED)
 *   publisher, light (bit clear)          sleepers |= FENCED (seq_cst)
 *   head = h'          (release)      fence(seq_cst)
 *   n = sleepers       (relaxed)      v = futex             (acquire)
 *   if n & FENCED:                    if head == p: FUTEX_WAIT(futex, v)
 *       fence(seq_cst)                sleepers -= 1         (release)
 *       n = sleepers   (seq_cst)
 *   if n & COUNT: futex += 1 (release), FUTEX_WAKE
 *
 * Fenced, the seq_cst operations and fence make it impossible that the
 * publisher reads no sleeper while the subscriber reads the old head: one
 * sees the other (the exchange precedes the sleepers load in the single
 * total order; a load that misses the increment precedes it, and so
 * precedes the fence after it). Light, the publisher's store and load are
 * ordered by nothing but the compiler; a light publisher is a process
 * registered for MEMBARRIER_CMD_GLOBAL_EXPEDITED, and the sleeper's
 * membarrier() runs a full barrier on every CPU that runs it. That
 * barrier falls somewhere in the publisher's instruction stream: a publish
 * whose store of head comes before it has its head visible to the
 * sleeper's load after the call; one whose load of sleepers comes after
 * it sees the count, raised before the call. Only then is the bit set, so
 * a sleeper that finds it set (and calls nothing) comes after that
 * barrier; a light publish that finds the bit fences and looks at the
 * word again - its own store-load pair with such a sleeper - and the
 * publishes after it are fenced. The publisher goes light again only
 * after QUIET_PUBLISHES fenced publishes that found no sleeper, by a
 * compare-and-swap of the word from FENCED alone to 0, which fails if
 * anyone has counted itself. A publisher that cannot register keeps the
 * bit set and never clears it; a sleeper whose membarrier() fails (a
 * seccomp filter) bounds its first sleep by NOFENCE_SLICE_NS instead and
 * still sets the bit (the publisher fences from its next publish on): a
 * second sleeper that comes while the publish in flight has not made its
 * store visible - a few nanoseconds - trusts a barrier that was not made,
 * and is bounded by its sleep slice.
 * tests/model/ring.pml checks this with a store buffer for the light
 * store. If the subscriber read the futex word after the increment, the
 * release/acquire pair on it hands it the new head too; if before,
 * FUTEX_WAIT finds futex != v and returns at once, or
 * is woken. With no sleeper the light publisher pays one plain store and
 * one load of a line nobody writes: no locked instruction, no system call.
 * Queue mode's producer waiting for room runs the fenced protocol on the
 * consumer's page with the roles swapped (wait_room() in ring_pub.c), on
 * the consumer's shown: the consumer pays its fence once a step.
 */
#ifndef IPK_RING_LAYOUT_H
#define IPK_RING_LAYOUT_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

_Static_assert(ATOMIC_LLONG_LOCK_FREE == 2, "lock-free 64-bit atomics in shared memory");
_Static_assert(ATOMIC_INT_LOCK_FREE == 2, "lock-free 32-bit atomics in shared memory");

#define IPK__RING_CACHELINE 64
#define IPK__RING_MAGIC 0x474e5249u      /* "IRNG" little-endian */
#define IPK__RING_BELL_MAGIC 0x4c4c4542u /* "BELL" */
#define IPK__RING_CONS_MAGIC 0x534e4f43u /* "CONS" */
#define IPK__RING_VERSION 4u             /* 2: packed records; 3: cons->shown; 4: light publishes */
#define IPK__RING_HDR_SIZE 4096u         /* the feed's header; the data follow */
#define IPK__RING_BELL_SIZE 4096u        /* the doorbell's page (subscriber slots follow) */
#define IPK__RING_CONS_SIZE 4096u        /* the consumer's page */
#define IPK__RING_REC_HDR 16u            /* record header: word 0, then the seq word */
#define IPK__RING_REC_ALIGN 16u
#define IPK__RING_MIN_CAP ((uint64_t)4096)
#define IPK__RING_MAX_CAP ((uint64_t)1 << 40)

/* Record kinds: bits 32..47 of a record's word 0. */
#define IPK__RING_KIND_MSG 1u
#define IPK__RING_KIND_PAD 2u
#define IPK__RING_KIND_PACK 3u /* several messages of one length (publish_batch()) */
/* The seq word of "nothing here yet" (no seq reaches it). */
#define IPK__RING_SEQ_NONE UINT64_MAX

/* The doorbell's sleepers word: a count of sleepers, and this bit while
 * the publisher stores head with a store-load fence (the table above). */
#define IPK__RING_FENCED (1u << 31)
#define IPK__RING_SLEEPERS(w) ((w) & ~IPK__RING_FENCED)

/* struct ipk__ring_hdr.state */
#define IPK__RING_STATE_LIVE 1u
#define IPK__RING_STATE_CLOSED 2u

/* The feed's header (its first IPK__RING_HDR_SIZE bytes). */
struct ipk__ring_hdr {
	/* line 0: set once by the creator; magic is stored last (release) */
	_Atomic uint32_t magic;
	uint32_t version;
	uint32_t hdr_size; /* offset of the data area */
	uint32_t max_msg;  /* largest payload */
	uint64_t capacity; /* data bytes, a power of two */
	uint64_t map_size; /* hdr_size + capacity: the object's size */
	/* line 1: who publishes; rewritten when a publisher takes over */
	_Alignas(IPK__RING_CACHELINE) _Atomic uint64_t epoch;
	_Atomic int32_t pid;
	_Atomic uint32_t state;    /* IPK__RING_STATE_* */
	_Atomic uint64_t base_seq; /* seq of the first record after tail == head */
	_Atomic uint64_t start;    /* the publisher's start time (ipk__proc_start_time()), or 0 */
	/* line 2: the publisher's commit point */
	_Alignas(IPK__RING_CACHELINE) _Atomic uint64_t head;
	_Atomic uint64_t pub_seq; /* next seq to publish; read by a successor */
	/* line 3: the overwrite intent */
	_Alignas(IPK__RING_CACHELINE) _Atomic uint64_t tail;
};

_Static_assert(offsetof(struct ipk__ring_hdr, version) == 4, "layout");
_Static_assert(offsetof(struct ipk__ring_hdr, hdr_size) == 8, "layout");
_Static_assert(offsetof(struct ipk__ring_hdr, max_msg) == 12, "layout");
_Static_assert(offsetof(struct ipk__ring_hdr, capacity) == 16, "layout");
_Static_assert(offsetof(struct ipk__ring_hdr, map_size) == 24, "layout");
_Static_assert(offsetof(struct ipk__ring_hdr, epoch) == 64, "layout");
_Static_assert(offsetof(struct ipk__ring_hdr, head) == 128, "layout");
_Static_assert(offsetof(struct ipk__ring_hdr, pub_seq) == 136, "layout");
_Static_assert(offsetof(struct ipk__ring_hdr, tail) == 192, "layout");
_Static_assert(sizeof(struct ipk__ring_hdr) <= IPK__RING_HDR_SIZE, "layout");

/* The doorbell ("/name-bell", or a second memfd), read-write for all. */
struct ipk__ring_bell {
	_Atomic uint32_t magic;
	uint32_t version;
	_Alignas(IPK__RING_CACHELINE) _Atomic uint32_t futex; /* bumped by the publisher */
	/* subscribers in FUTEX_WAIT, | IPK__RING_FENCED */
	_Alignas(IPK__RING_CACHELINE) _Atomic uint32_t sleepers;
	/* one past the highest subscriber slot ever taken (see take_slot()) */
	_Alignas(IPK__RING_CACHELINE) _Atomic uint32_t slots;
};

_Static_assert(offsetof(struct ipk__ring_bell, futex) == 64, "layout");
_Static_assert(offsetof(struct ipk__ring_bell, sleepers) == 128, "layout");
_Static_assert(offsetof(struct ipk__ring_bell, slots) == 192, "layout");
_Static_assert(sizeof(struct ipk__ring_bell) <= IPK__RING_BELL_SIZE, "layout");

/*
 * Queue mode: the consumer's read-write page ("/name-cons"). The consumer
 * keeps two positions: pos, after every message, on a line nobody else
 * reads while it runs (a successor consumer starts there: nothing it was
 * given comes twice), and shown, the one the producer reads, stored only
 * every QUEUE_STEP of the capacity and whenever the consumer finds nothing
 * to read or closes. So the line the producer loads changes once a step,
 * not once a message, and the consumer pays its store-load fence (the
 * waiting producer's pair) once a step too. shown <= pos always.
 */
struct ipk__ring_cons {
	_Atomic uint32_t magic;
	uint32_t version;
	_Alignas(IPK__RING_CACHELINE) _Atomic uint64_t pos;   /* consumer: all before it is read */
	_Alignas(IPK__RING_CACHELINE) _Atomic uint32_t futex; /* bumped by the consumer */
	_Atomic uint32_t waiting;                             /* a producer waits for room */
	/* consumer: pos as last shown to the producer (queue_room()) */
	_Alignas(IPK__RING_CACHELINE) _Atomic uint64_t shown;
};

_Static_assert(offsetof(struct ipk__ring_cons, pos) == 64, "layout");
_Static_assert(offsetof(struct ipk__ring_cons, futex) == 128, "layout");
_Static_assert(offsetof(struct ipk__ring_cons, waiting) == 132, "layout");
_Static_assert(offsetof(struct ipk__ring_cons, shown) == 192, "layout");
_Static_assert(sizeof(struct ipk__ring_cons) <= IPK__RING_CONS_SIZE, "layout");

/* ---- record header encoding -------------------------------------------- */

/* Word 0 of a record: @len bytes (a PACK: each message's), @kind, @count
 * messages (a PACK's; 0 otherwise). */
static inline uint64_t ipk__ring_rec_word(uint64_t len, uint32_t kind, uint32_t count)
{
	return len | (uint64_t)(kind | count << 16) << 32;
}

/* The size of a record of @len payload bytes, header and padding included. */
static inline uint64_t ipk__ring_rec_size(uint64_t len)
{
	return IPK__RING_REC_HDR +
	       ((len + IPK__RING_REC_ALIGN - 1) & ~(uint64_t)(IPK__RING_REC_ALIGN - 1));
}

/* The slot of a message of @len bytes in a PACK. */
static inline uint64_t ipk__ring_pack_slot(uint64_t len)
{
	return (len + 7) & ~(uint64_t)7;
}

/* Messages in the record whose header word is @w0 (0 for a PAD; a PACK's
 * count is checked by rec_need() before a subscriber relies on it). */
static inline uint32_t ipk__ring_rec_count(uint64_t w0)
{
	return (w0 >> 32) == IPK__RING_KIND_MSG             ? 1
	       : (w0 >> 32 & 0xffff) == IPK__RING_KIND_PACK ? (uint32_t)(w0 >> 48)
							    : 0;
}

/* Payload bytes of the MSG or PACK record whose header word is @w0. */
static inline uint64_t ipk__ring_rec_payload(uint64_t w0)
{
	return (w0 >> 32) == IPK__RING_KIND_MSG
		       ? (uint32_t)w0
		       : ipk__ring_rec_count(w0) * ipk__ring_pack_slot((uint32_t)w0);
}

#endif /* IPK_RING_LAYOUT_H */
