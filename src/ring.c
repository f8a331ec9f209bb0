/* SPDX-License-Identifier: MIT */
/*
 * ring.c - the lock-free broadcast ring (ipckit/ring.h): shared layout,
 * publish, validated receive, the doorbell, publisher liveness and the
 * lossless queue mode.
 *
 * It makes, opens and removes its named objects through shmname.c (a new
 * ring appears at its name complete and locked; only what is ours is
 * adopted or removed) and its anonymous ones with memfd_create(), and maps
 * them itself; the shm: channel transport (transport/shm.c) and the CLI
 * build on it.
 *
 * Layout of the feed object (all offsets fixed, all integers fixed-width,
 * every atomic naturally aligned, each control word on its own line):
 *
 *   0     line 0: magic, version, hdr_size, max_msg, capacity, map_size
 *                 (written once, before magic is published)
 *   64    line 1: epoch, pid, state, base_seq, start (rewritten at a takeover)
 *   128   line 2: head, pub_seq (publisher, every publish)
 *   192   line 3: tail (publisher, every TAIL_STEP bytes of reused space)
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
 * holds count of them (2..PACK_MAX) in slots of len rounded up to 8
 * bytes, with seq numbers seq, seq + 1, ...: one header, one commit and
 * one validation for them all, and close to a message's own bytes per
 * message (a 16-byte header per 64-byte message is a quarter more lines to
 * move). A PACK's payload is at most max_msg bytes, so every bound below
 * that holds for records holds for it. Subscribers read a PACK message by
 * message (their position is the record and an index in it).
 *
 * head: end of the last committed record. tail: start of the oldest record
 * that is still intact - the "overwrite intent". Before the publisher
 * writes over old bytes it moves tail past every record it is about to
 * destroy. [tail, head) is therefore always a run of whole, committed
 * records; head - tail <= capacity.
 *
 * The protocol is a seqlock per record, with tail as the sequence word:
 *
 *   publisher                         subscriber at position p < head
 *   ---------                         -------------------------------
 *   tail = t'          (relaxed)      h = head              (acquire) [A]
 *   fence(release)                [F] read header and payload (relaxed)
 *   write record bytes (relaxed)      fence(acquire)                  [G]
 *   head = h'          (release)  [R] t = tail              (relaxed)
 *                                     p >= t ? intact : overwritten
 *
 * [R]/[A]: whoever sees head past a record also sees its bytes. [F]/[G]:
 * if any byte the subscriber read was written after the publisher moved
 * tail past p, the release fence F synchronises with the acquire fence G,
 * so the tail load after G sees that tail (or a later one) and the copy is
 * thrown away. Every control word and record header is a naturally
 * aligned 64-bit atomic (relaxed where the fences give the order); payload
 * bytes are copied with memcpy, which the fences order like any other
 * access (relaxed atomics in ThreadSanitizer builds: see copy_in()), as
 * are the caller's own loads and stores in the zero-copy calls.
 *
 * tail moves in steps (TAIL_STEP: the publisher gives up a sixteenth of the
 * ring at a time, not a record per publish), so the line a subscriber loads
 * after G changes rarely and stays in its cache; head is loaded only when
 * the subscriber has caught up with the head it saw last. One cache-line
 * transfer less per message than a tail moved on every publish; see
 * intact(). The publisher remembers the first record past each step
 * boundary (checkpoint()), so a step costs it no walk through a step's
 * worth of old record headers.
 *
 * The commit word. A subscriber that has caught up does not even load
 * head: the record header's seq word is stored last, with release [C],
 * and a subscriber at p that finds there the seq it expects (acquire) has
 * the record - a cache line it must fetch anyway, where head would be one
 * more. Stale bytes cannot pass for that seq: with every commit the
 * publisher first writes SEQ_NONE into the seq word of the position after
 * the record (the mark; make_room() keeps room for it), so by the time a
 * subscriber reaches p - only past the record before it, through its C or
 * a head after it - the word holds the mark or newer bytes, and newer
 * bytes that are not this record's were written after tail moved past p
 * (G and tail catch them). A PAD's seq word is stored after the record
 * that follows it. Spinning subscribers wait on the mark's word, sleeping
 * ones on head and the doorbell (below). head can now lag a subscriber by
 * a batch, if the publisher dies between C and head: locate() allows for
 * it, and a successor starts after those records (committed_past()), not
 * over them; pub_seq is stored before C, so a successor never publishes a
 * seq that was already taken.
 *
 * Batches (ipk_ring_publish_batch()): records are staged - written whole, with
 * their headers and marks - and their seq words stored afterwards, the
 * last record's first, then head once. A staged record is invisible: the
 * word where it starts holds the mark of the record before, and head has
 * not moved. Whatever is written between two stores of head stays within
 * batch_room() of the first, which intact() allows for.
 *
 * Queue mode adds a third object, the consumer's page, holding the one
 * consumer's position; the producer never writes over what lies beyond
 * it, so make_room() never moves tail past an unread record (queue_room()
 * and consumer_done() give the pairs).
 *
 * Subscribers keep everything about themselves in their own memory: a
 * position and the next sequence number they expect. A record whose seq is
 * higher than expected means seq - expected messages were overwritten.
 *
 * Sleeping. Subscribers cannot write the feed, so the futex word and the
 * count of sleepers live in a second, read-write object, the doorbell
 * ("/name-bell", or a second memfd). It holds no data: a subscriber that
 * scribbles on it can only cause spurious wake-ups or missed ones (the
 * latter bounded by the sleep slice, WAIT_SLICE_NS). The store-load pairs:
 *
 *   publisher                         sleeping subscriber
 *   head = h' (seq_cst exchange)      sleepers += 1         (seq_cst)
 *                                     fence(seq_cst)
 *   n = sleepers       (seq_cst)      w = futex             (acquire)
 *   if n: futex += 1   (release)      if head == p: FUTEX_WAIT(futex, w)
 *         FUTEX_WAKE                  sleepers -= 1         (release)
 *
 * The seq_cst operations and fence make it impossible that the publisher
 * reads no sleeper while the subscriber reads the old head: one sees the
 * other (the exchange precedes the sleepers load in the single total order;
 * a load that misses the increment precedes it, and so precedes the fence
 * after it). If
 * the subscriber read w after the increment, the release/acquire pair on
 * the futex word hands it the new head too; if before, FUTEX_WAIT finds
 * futex != w and returns at once, or is woken. With no sleeper the
 * publisher pays one locked instruction and one load of a line nobody
 * writes: no system call.
 *
 * A subscriber killed in its sleep cannot take its count back. So each
 * sleeper holds flock(LOCK_SH) on its own open file description of the
 * doorbell from before it counts itself until after it has uncounted
 * itself (doze()); a publisher whose FUTEX_WAKE found nobody while the
 * count said otherwise tries LOCK_EX | LOCK_NB on its own: if it gets it,
 * no living subscriber is counted, and it sets the count back to zero
 * (clear_dead_sleepers()). A count raised by the dead costs one wake-up,
 * not one per message for the rest of the ring's life.
 *
 * Liveness. The publisher holds flock(LOCK_EX) on the feed for its life:
 * a second publisher gets -EBUSY, a successor of a dead one gets the lock
 * and takes the ring over (new epoch, tail = head, seq continues from
 * pub_seq; see take_over()). Subscribers watch the recorded pid through a
 * pidfd (kill(pid, 0) without one) whenever they have nothing to read, at
 * most every LIVENESS_NS while polling with timeout 0, and every
 * WAIT_SLICE_NS while they sleep. The header also records the publisher's start time (from
 * /proc/PID/task/PID/stat): a pid that now names a process with another
 * start time belongs to a stranger that reused it, and the publisher is
 * dead - with a pidfd too, which names whoever has the pid when it is
 * opened. A death is reported once (-EOWNERDEAD, after what was committed
 * has been read), and the subscriber then waits for the next epoch; only
 * a clean close (state CLOSED) ends the feed (-EPIPE). The pollable fd's
 * helper thread fires for a death only until it has been reported
 * (told_hint), so an event loop is not woken again and again by it.
 *
 * Why one file of this size: the publisher, the subscriber and the
 * inspection share the layout's small helpers (record sizes and kinds,
 * seq_word(), intact(), rec_need(), msg_at()), and the receive and publish
 * fast paths depend on those being inlined; the build has no link-time
 * optimisation to inline across files. Splitting along the jobs - create
 * and takeover, publish, receive, the helper thread, inspection - first
 * needs those helpers and the structs in a private header; until then the
 * whole protocol, with the memory-order table above, stays in one place.
 */
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <linux/futex.h>
#include <sys/eventfd.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include <ipckit/ring.h>

#include "internal.h"
#include "shmname.h"

_Static_assert(ATOMIC_LLONG_LOCK_FREE == 2, "lock-free 64-bit atomics in shared memory");
_Static_assert(ATOMIC_INT_LOCK_FREE == 2, "lock-free 32-bit atomics in shared memory");

#define CACHELINE 64
#define RING_MAGIC 0x474e5249u /* "IRNG" little-endian */
#define BELL_MAGIC 0x4c4c4542u /* "BELL" */
#define CONS_MAGIC 0x534e4f43u /* "CONS" */
#define RING_VERSION 2u        /* 2: packed records */
#define HDR_SIZE 4096u
#define BELL_SIZE 4096u
#define CONS_SIZE 4096u
#define REC_HDR 16u
#define REC_ALIGN 16u
#define MIN_CAPACITY ((uint64_t)4096)
#define MAX_CAPACITY ((uint64_t)1 << 40)
#define DEFAULT_CAPACITY ((uint64_t)1 << 20)

#define KIND_MSG 1u
#define KIND_PAD 2u
#define KIND_PACK 3u        /* several messages of one length (publish_batch()) */
#define SEQ_NONE UINT64_MAX /* the seq word of "nothing here yet" (no seq reaches it) */

#define STATE_LIVE 1u
#define STATE_CLOSED 2u

#define WAIT_SLICE_NS (50 * IPK_MSEC) /* longest futex sleep between liveness checks */
#define LIVENESS_NS (10 * IPK_MSEC)   /* pidfd checks while polling with timeout 0 */
#define NOBELL_STEP_NS IPK_MSEC       /* how often a subscriber without doorbell looks */
#define TAIL_STEP(cap) ((cap) / 16)   /* how far tail moves beyond need */
#define PRECHECK_LEN 1024u            /* recv: check tail before copying this much */
#define SPIN_ROUND 256                /* spins between clock reads */
#define INLINE_COPY 64                /* payloads up to this size copied without memcpy() */
#define CHECKPOINTS 32                /* record starts remembered, one per tail step (2 laps) */
#define ATTACH_TRIES 16               /* walks of [tail, head) before giving up on counting */
#define BATCH_MAX 64                  /* records sealed together by ipk_ring_publish_batch() */
#define BATCH_BYTES 4096u             /* ... once they hold this much */
#define RUN_MAX 64                    /* messages validated together by ipk_ring_recv_batch() */
#define RUN_BYTES 4096u               /* ... once they hold this much */
#define PACK_MAX 64                   /* messages in one packed record */
#define PACK_BYTES 4096u              /* payload of a packed record, at most */

struct ring_hdr {
	/* line 0: set once by the creator; magic is stored last (release) */
	_Atomic uint32_t magic;
	uint32_t version;
	uint32_t hdr_size; /* offset of the data area */
	uint32_t max_msg;  /* largest payload */
	uint64_t capacity; /* data bytes, a power of two */
	uint64_t map_size; /* hdr_size + capacity: the object's size */
	/* line 1: who publishes; rewritten when a publisher takes over */
	_Alignas(CACHELINE) _Atomic uint64_t epoch;
	_Atomic int32_t pid;
	_Atomic uint32_t state;    /* STATE_* */
	_Atomic uint64_t base_seq; /* seq of the first record after tail == head */
	_Atomic uint64_t start;    /* the publisher's start time (ipk__proc_start_time()), or 0 */
	/* line 2: the publisher's commit point */
	_Alignas(CACHELINE) _Atomic uint64_t head;
	_Atomic uint64_t pub_seq; /* next seq to publish; read by a successor */
	/* line 3: the overwrite intent */
	_Alignas(CACHELINE) _Atomic uint64_t tail;
};

_Static_assert(offsetof(struct ring_hdr, epoch) == 64, "layout");
_Static_assert(offsetof(struct ring_hdr, head) == 128, "layout");
_Static_assert(offsetof(struct ring_hdr, tail) == 192, "layout");
_Static_assert(sizeof(struct ring_hdr) <= HDR_SIZE, "layout");

struct ring_bell {
	_Atomic uint32_t magic;
	uint32_t version;
	_Alignas(CACHELINE) _Atomic uint32_t futex;    /* bumped by the publisher */
	_Alignas(CACHELINE) _Atomic uint32_t sleepers; /* subscribers in FUTEX_WAIT */
	/* one past the highest subscriber slot ever taken (see take_slot()) */
	_Alignas(CACHELINE) _Atomic uint32_t slots;
};

_Static_assert(offsetof(struct ring_bell, futex) == 64, "layout");
_Static_assert(offsetof(struct ring_bell, sleepers) == 128, "layout");
_Static_assert(offsetof(struct ring_bell, slots) == 192, "layout");
_Static_assert(sizeof(struct ring_bell) <= BELL_SIZE, "layout");

/* Queue mode: the consumer's read-write page ("/name-cons"). */
struct ring_cons {
	_Atomic uint32_t magic;
	uint32_t version;
	_Alignas(CACHELINE) _Atomic uint64_t pos;   /* consumer: all before it is read */
	_Alignas(CACHELINE) _Atomic uint32_t futex; /* bumped by the consumer */
	_Atomic uint32_t waiting;                   /* a producer waits for room */
};

_Static_assert(offsetof(struct ring_cons, pos) == 64, "layout");
_Static_assert(sizeof(struct ring_cons) <= CONS_SIZE, "layout");

struct ipk_ring {
	int fd; /* feed, read-write, flock(LOCK_EX) held */
	int bell_fd;
	int cons_fd;            /* queue mode */
	struct ring_cons *cons; /* queue mode: the consumer's position */
	uint64_t cons_seen;     /* queue mode: cons->pos as last loaded (0 at first) */
	struct ring_hdr *hdr;   /* the whole mapping, hdr->map_size bytes */
	size_t map_size;
	struct ring_bell *bell;
	_Atomic uint64_t *data; /* capacity / 8 words */
	uint64_t cap, mask, max_msg;
	uint64_t head, tail, seq; /* the publisher's own copies of the shared words */
	uint64_t shown;           /* head as last stored (seal()); below head in a batch */
	uint64_t resv_pos;        /* where the reserved record starts */
	uint64_t resv_len;
	bool reserved;
	bool named;
	uint32_t flags;
	uint64_t published, wakes;
	/* ck[k % CHECKPOINTS]: the first record at or after k * TAIL_STEP,
	 * for the last CHECKPOINTS step boundaries below ck_next * TAIL_STEP */
	uint64_t ck[CHECKPOINTS];
	uint64_t ck_next;
	uint64_t ck_at; /* ck_next * TAIL_STEP */
	char name[NAME_MAX + 1];
	char bell_name[NAME_MAX + 1];
	char cons_name[NAME_MAX + 1];
	/* what our names led to when we made or took them (ino 0: none) */
	struct ipk__shm_id feed_id, bell_id, cons_id;
};

/* The message a subscriber stands at: number s->idx of the record at s->pos. */
struct at {
	uint64_t len;   /* its length; UINT64_MAX: the record is a PAD */
	uint64_t seq;   /* its seq */
	uint64_t word;  /* its payload: s->data[word] on */
	uint64_t need;  /* the record's size */
	uint32_t count; /* the record's messages */
};

struct ipk_ring_sub {
	int fd, pidfd, cons_fd;
	int bell_fd;        /* the receiving thread's own open file description */
	int helper_bell_fd; /* the helper thread's (flock: see doze()) */
	pid_t pid;          /* this epoch's publisher */
	uint64_t pstart;    /* and its start time (0: unknown) */
	bool stranger;      /* pid already reused when we looked: the publisher is dead */
	bool no_pidfd;      /* tests: IPK_RING_TEST_NO_PIDFD forces the fallback */
	/* what every receive uses, together (calloc() aligns to 16 only) */
	const struct ring_hdr *hdr;
	const _Atomic uint64_t *data;
	uint64_t cap, mask, max_msg;
	uint64_t pos;        /* the record of the next message */
	uint64_t head_cache; /* last head seen: no need to load head below it */
	uint64_t next_seq;   /* seq the next message should carry (the record's + idx) */
	uint64_t epoch;
	uint32_t idx;           /* the next message's index in the record (a PACK's), else 0 */
	bool seq_known;         /* next_seq is known (a consumer learns it) */
	bool start_known;       /* start_seq is known (else the first message says) */
	uint64_t start_seq;     /* the first message it was to receive: ipk_ring_counts() */
	struct ring_cons *cons; /* queue mode consumer; else NULL */
	uint64_t slack;         /* 2 * rec_size(max_msg): see intact() */
	uint64_t lost;
	size_t map_size;
	struct ring_bell *bell; /* NULL: no doorbell, poll by sleeping */
	int64_t next_check_ns;  /* next liveness check while polling */
	bool gone;              /* this epoch's publisher is dead (sticky) */
	bool told;              /* and -EOWNERDEAD has said so */
	_Atomic bool told_hint; /* told, for the helper thread (relaxed) */
	size_t msg_len;         /* the record -EMSGSIZE refused */
	struct at viewed;       /* the message of the last ipk_ring_view() */
	int64_t spin_ns;
	uint32_t flags;
	uint32_t from;     /* where to start (enum ipk_ring_from) */
	uint64_t from_seq; /* IPK_RING_FROM_SEQ */
	/* pollable fd: an eventfd fed by a helper thread */
	int efd;
	bool helper;
	pthread_t thread;
	_Atomic uint64_t seen_pos; /* helper: wake when head moves past this */
	_Atomic uint64_t seen_epoch;
	_Atomic uint32_t armed; /* process-private futex: 1 while the helper watches */
	_Atomic bool stop;
};

/* ---- small helpers ----------------------------------------------------- */

static inline uint64_t rec_size(uint64_t len)
{
	return REC_HDR + ((len + REC_ALIGN - 1) & ~(uint64_t)(REC_ALIGN - 1));
}

/* The slot of a message of @len bytes in a PACK. */
static inline uint64_t pack_slot(uint64_t len)
{
	return (len + 7) & ~(uint64_t)7;
}

/* Messages in the record whose header word is @w0 (0 for a PAD; a PACK's
 * count is checked by rec_need() before a subscriber relies on it). */
static inline uint32_t rec_count(uint64_t w0)
{
	return (w0 >> 32) == KIND_MSG             ? 1
	       : (w0 >> 32 & 0xffff) == KIND_PACK ? (uint32_t)(w0 >> 48)
						  : 0;
}

/* Payload bytes of the MSG or PACK record whose header word is @w0. */
static inline uint64_t rec_payload(uint64_t w0)
{
	return (w0 >> 32) == KIND_MSG ? (uint32_t)w0 : rec_count(w0) * pack_slot((uint32_t)w0);
}

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ __volatile__("yield");
#endif
}

static int futex_wait(_Atomic uint32_t *word, uint32_t val, int64_t deadline_ns, bool private)
{
	struct timespec ts = { .tv_sec = deadline_ns / IPK_SEC, .tv_nsec = deadline_ns % IPK_SEC };
	int op = FUTEX_WAIT_BITSET | (private ? FUTEX_PRIVATE_FLAG : 0);

	/* Absolute CLOCK_MONOTONIC deadline: EINTR needs no recomputation. */
	if (syscall(SYS_futex, word, op, val, &ts, NULL, FUTEX_BITSET_MATCH_ANY) < 0)
		return errno == ETIMEDOUT ? -ETIMEDOUT : 0; /* EAGAIN, EINTR: look again */
	return 0;
}

/* Return: how many were woken (0 on error). */
static long futex_wake(_Atomic uint32_t *word, bool private)
{
	long n = syscall(SYS_futex, word, FUTEX_WAKE | (private ? FUTEX_PRIVATE_FLAG : 0), INT_MAX,
			 NULL, NULL, 0);

	return n > 0 ? n : 0;
}

/* A new open file description of @fd's file, with @fd's access mode
 * (flock locks belong to open file descriptions, and a descriptor passed
 * or inherited shares its sender's): a descriptor, or -1. */
static int reopen_own(int fd)
{
	int mode = fcntl(fd, F_GETFL);
	int r = mode < 0 ? -1 : ipk__reopen(fd, mode & O_ACCMODE);

	return r < 0 ? -1 : r;
}

/* Our own start time for the header; 0 if /proc cannot tell. */
static uint64_t own_start_time(void)
{
	uint64_t t;

	return ipk__proc_start_time(getpid(), &t) == 0 ? t : 0;
}

/* "/name" with no other slash, short enough for "-bell". */
static int check_name(const char *name)
{
	size_t n;

	if (!name || name[0] != '/')
		return -EINVAL;
	n = strlen(name);
	if (n < 2 || n + 5 > NAME_MAX || strchr(name + 1, '/'))
		return -EINVAL;
	return 0;
}

const char *const ipk__ring_parts[] = { IPK__RING_BELL, IPK__RING_CONS, NULL };

/* "/name" + "-bell" or "-cons"; check_name() left room for it. */
static void name_with(const char *name, const char *suffix, char *buf)
{
	size_t n = strlen(name);

	memcpy(buf, name, n);
	memcpy(buf + n, suffix, 6);
}

/*
 * Payload bytes. A copy that races with the publisher is thrown away (the
 * tail check after fence G), so the bytes need no atomicity, only the
 * fences' order, which holds for plain accesses on every architecture (the
 * kernel's seqlocks rely on it): memcpy moves them at full width, vector
 * loads and stores, whole-line stores for large records - several times
 * the throughput of 64-bit atomic copies at 4 KiB. C11 calls such a racing
 * copy undefined and ThreadSanitizer reports it, so its builds copy
 * through 64-bit relaxed atomics: a program without data races that it
 * can check.
 */
#ifdef IPK__TSAN
static void copy_in(_Atomic uint64_t *dst, const void *src, size_t len)
{
	size_t n = len / 8, i;
	uint64_t w;

	for (i = 0; i < n; i++) {
		memcpy(&w, (const unsigned char *)src + i * 8, 8);
		atomic_store_explicit(&dst[i], w, memory_order_relaxed);
	}
	if (len % 8) {
		w = 0;
		memcpy(&w, (const unsigned char *)src + n * 8, len % 8);
		atomic_store_explicit(&dst[n], w, memory_order_relaxed);
	}
}

static void copy_out(void *dst, const _Atomic uint64_t *src, size_t len)
{
	size_t n = len / 8, i;
	uint64_t w;

	for (i = 0; i < n; i++) {
		w = atomic_load_explicit(&src[i], memory_order_relaxed);
		memcpy((unsigned char *)dst + i * 8, &w, 8);
	}
	if (len % 8) {
		w = atomic_load_explicit(&src[n], memory_order_relaxed);
		memcpy((unsigned char *)dst + n * 8, &w, len % 8);
	}
}
#else
/* Small messages are copied inline: a call into memcpy, and its dispatch
 * on the size, cost as much as the copy itself there. Two copies of a
 * fixed size that overlap in the middle cover any length between that
 * size and twice it (each is a pair of 16-byte moves, or one 8-byte move). */
static inline void copy_bytes(void *dst, const void *src, size_t len)
{
	unsigned char *d = dst;
	const unsigned char *s = src;

	if (len > INLINE_COPY) {
		memcpy(dst, src, len);
	} else if (len >= 32) {
		memcpy(d, s, 32);
		memcpy(d + len - 32, s + len - 32, 32);
	} else if (len >= 16) {
		memcpy(d, s, 16);
		memcpy(d + len - 16, s + len - 16, 16);
	} else if (len >= 8) {
		memcpy(d, s, 8);
		memcpy(d + len - 8, s + len - 8, 8);
	} else {
		for (size_t i = 0; i < len; i++)
			d[i] = s[i];
	}
}

static void copy_in(_Atomic uint64_t *dst, const void *src, size_t len)
{
	copy_bytes((void *)dst, src, len);
}

static void copy_out(void *dst, const _Atomic uint64_t *src, size_t len)
{
	copy_bytes(dst, (const void *)src, len);
}
#endif

/*
 * check_header() - validate a feed mapping of @size bytes before any of its
 * values is used; the values are copied out once (the mapping may change
 * under us).
 * Return: 0; -EPROTO (magic, version); -EBADMSG (sizes, positions).
 */
static int check_header(const struct ring_hdr *h, size_t size, uint64_t *cap, uint64_t *max_msg)
{
	uint64_t c, m, head, tail;

	if (size < HDR_SIZE)
		return -EBADMSG;
	/* Acquire: pairs with the creator's release store of magic, after
	 * which the line-0 fields below are never written again. */
	if (atomic_load_explicit(&h->magic, memory_order_acquire) != RING_MAGIC)
		return -EPROTO;
	if (h->version != RING_VERSION)
		return -EPROTO;
	if (h->hdr_size != HDR_SIZE)
		return -EBADMSG;
	c = h->capacity;
	m = h->max_msg;
	if (c < MIN_CAPACITY || c > MAX_CAPACITY || (c & (c - 1)) != 0)
		return -EBADMSG;
	if (h->map_size != HDR_SIZE + c || (uint64_t)size != HDR_SIZE + c)
		return -EBADMSG;
	if (rec_size(m) > c / 2)
		return -EBADMSG;
	/* Acquire on tail: pairs with the release store of tail at a takeover
	 * (and the release fence after every move), so head read next is at
	 * least as new; a snapshot that breaks the invariant is corrupt. */
	tail = atomic_load_explicit(&h->tail, memory_order_acquire);
	head = atomic_load_explicit(&h->head, memory_order_acquire);
	if ((tail | head) % REC_ALIGN || head < tail || head - tail > c)
		return -EBADMSG;
	*cap = c;
	*max_msg = m;
	return 0;
}

/* check_header() of a ring a live publisher may be writing: it can lap
 * tail between our loads of tail and head (a reader slowed down by load),
 * so look again before calling the ring inconsistent. */
static int check_live_header(const struct ring_hdr *h, size_t size, uint64_t *cap,
			     uint64_t *max_msg)
{
	int rc;

	for (int tries = 0;; tries++) {
		rc = check_header(h, size, cap, max_msg);
		if (rc != -EBADMSG || tries == 8)
			return rc;
	}
}

/* ---- publisher --------------------------------------------------------- */

/* The position after the record at @t (a PAD runs to the end of its lap). */
static uint64_t next_rec(const ipk_ring *r, uint64_t t)
{
	uint64_t off = t & r->mask;
	uint64_t w0 = atomic_load_explicit(&r->data[off / 8], memory_order_relaxed);

	return (w0 >> 32) == KIND_PAD ? t + (r->cap - off) : t + rec_size(rec_payload(w0));
}

/* A record starts at @start: it is the first at or after every step
 * boundary not yet passed (make_room() finds tail's next place there
 * instead of walking a step's worth of records). */
static inline void checkpoint(ipk_ring *r, uint64_t start)
{
	while (r->ck_at <= start) {
		r->ck[r->ck_next % CHECKPOINTS] = start;
		r->ck_next++;
		r->ck_at += TAIL_STEP(r->cap);
	}
}

/*
 * Move tail past every record that a record ending at @end would overwrite,
 * and then on by up to TAIL_STEP(cap) bytes more (whole records, never past
 * @limit): tail moves in steps, so its line changes once every cap / 16
 * bytes, not on every publish, and subscribers validating against it keep
 * it cached. The publisher reads its own record headers (relaxed: it wrote
 * them). Called only when a record ending at @end does not fit.
 */
static void make_room(ipk_ring *r, uint64_t end, uint64_t limit)
{
	uint64_t t = r->tail, step = TAIL_STEP(r->cap), want, k;

	/* The first record past the step boundary after what we need, from
	 * the checkpoints, if we know it and it leaves a record. */
	k = (end - r->cap) / step + 1;
	if (k < r->ck_next && r->ck_next - k <= CHECKPOINTS &&
	    (int64_t)(r->ck[k % CHECKPOINTS] - limit) < 0) {
		t = r->ck[k % CHECKPOINTS];
	} else {
		/* Walk the records instead (after a takeover, or when one
		 * record spans the steps up to limit). */
		while (end - t > r->cap)
			t = next_rec(r, t);
		want = end - r->cap + step;
		while ((int64_t)(want - t) > 0 && (int64_t)(limit - t) > 0) {
			uint64_t n = next_rec(r, t);

			if ((int64_t)(n - limit) >= 0)
				break; /* the step keeps a record: tail == head is rare */
			t = n;
		}
	}
	r->tail = t;
	/* Nothing left in [tail, head): a subscriber that attaches now takes
	 * its first seq from base_seq (attach_position()): that of the record
	 * at head, which seal() stored in pub_seq (records may be staged past
	 * head). Relaxed: published by the release store of tail below. */
	if (t == r->shown)
		atomic_store_explicit(&r->hdr->base_seq,
				      atomic_load_explicit(&r->hdr->pub_seq, memory_order_relaxed),
				      memory_order_relaxed);
	/* Release store (base_seq), then a release fence: F in the table
	 * above. Every store that follows (the bytes we now overwrite) is
	 * ordered after this tail, for any subscriber that reads one of them
	 * and then issues its acquire fence G before re-reading tail. */
	atomic_store_explicit(&r->hdr->tail, t, memory_order_release);
	atomic_thread_fence(memory_order_release);
}

/* Where a record of @need bytes would end, with the PAD it may need. */
static uint64_t record_end(const ipk_ring *r, uint64_t need)
{
	uint64_t off = r->head & r->mask;

	return r->head + (r->cap - off < need ? r->cap - off : 0) + need;
}

/*
 * Queue mode: can a record ending at @end be written without destroying
 * anything the consumer has not read? The consumer's position only grows,
 * so the one we loaded last is a safe answer while it leaves room: its
 * line is loaded again only when the queue looks full.
 */
static bool queue_room(ipk_ring *r, uint64_t end, uint64_t *cons_pos)
{
	if (end - r->cons_seen > r->cap) {
		/* Acquire: pairs with the consumer's release store of pos in
		 * consumer_done(): its loads of everything before pos happen
		 * before our stores over those bytes. */
		uint64_t c = atomic_load_explicit(&r->cons->pos, memory_order_acquire);

		if ((int64_t)(c - r->head) > 0)
			c = r->head; /* nonsense from the consumer's page: it only hurts itself */
		r->cons_seen = c;
	}
	*cons_pos = r->cons_seen;
	return end - r->cons_seen <= r->cap;
}

/* Room for a record of @need bytes ending at @end (record_end()). Return:
 * 0 and *@start, where it goes; -EAGAIN (queue full). */
static inline int place(ipk_ring *r, uint64_t need, uint64_t end, uint64_t *start)
{
	uint64_t limit = r->shown; /* tail stays behind the head subscribers see */

	/* Room for the record and for the "nothing here yet" mark that
	 * stage() writes after it. Queue mode: tail never passes what the
	 * consumer has not read. */
	if (r->cons && !queue_room(r, end + REC_HDR, &limit))
		return -EAGAIN;
	if (end + REC_HDR - r->tail > r->cap)
		make_room(r, end + REC_HDR, limit);
	*start = end - need;
	return 0;
}

/* Where the payload of the record at @start goes. */
static inline _Atomic uint64_t *payload(const ipk_ring *r, uint64_t start)
{
	return &r->data[((start & r->mask) + REC_HDR) / 8];
}

/*
 * The count of sleepers is up, yet FUTEX_WAKE woke nobody: a subscriber
 * on its way into FUTEX_WAIT (it holds its LOCK_SH), or one that was
 * killed in its sleep. If no one holds the lock, it is the latter.
 */
static void clear_dead_sleepers(ipk_ring *r)
{
	if (flock(r->bell_fd, LOCK_EX | LOCK_NB) < 0)
		return;
	/* Relaxed: whoever counts itself next takes LOCK_SH first, so after
	 * our unlock, which orders this store before its increment. */
	atomic_store_explicit(&r->bell->sleepers, 0, memory_order_relaxed);
	(void)flock(r->bell_fd, LOCK_UN);
}

static void ring_bell(ipk_ring *r)
{
	/* Wake whoever sleeps on the futex word: the increment makes a
	 * FUTEX_WAIT that has not started yet return at once. Release: pairs
	 * with the sleeper's acquire load of the word, so one that read the
	 * new value also reads the new head. */
	atomic_fetch_add_explicit(&r->bell->futex, 1, memory_order_release);
	if (futex_wake(&r->bell->futex, false) == 0)
		clear_dead_sleepers(r);
	r->wakes++;
}

/* The seq word of the record header at @pos: its commit point. */
static _Atomic uint64_t *seq_word(const ipk_ring *r, uint64_t pos)
{
	return &r->data[(pos & r->mask) / 8 + 1];
}

/* A record written but not yet committed (stage(), seal()). */
struct staged {
	uint64_t pos; /* where it starts */
	uint64_t pad; /* where the PAD before it starts, or NO_PAD */
	uint64_t seq; /* its (first message's) seq */
};

#define NO_PAD UINT64_MAX /* positions are multiples of REC_ALIGN */

/*
 * Write header word @w0 of the record of @need bytes at @pos (from place()),
 * holding @count messages, the mark after it and the PAD before it if it
 * starts the next lap: everything but the seq words, which commit it
 * (seal()). No subscriber looks at any of it before then: the mark of the
 * record before (or of a creation or takeover) holds the seq word where it
 * starts, and head has not moved. A pending reservation is given up (its
 * room is reused).
 */
static inline void stage(ipk_ring *r, uint64_t pos, uint64_t w0, uint64_t need, uint32_t count,
			 struct staged *st)
{
	/* Relaxed, all: ordered before anyone can look at them by the
	 * release stores of seal(). */
	atomic_store_explicit(seq_word(r, pos + need), SEQ_NONE, memory_order_relaxed);
	atomic_store_explicit(&r->data[(pos & r->mask) / 8], w0, memory_order_relaxed);
	st->pos = pos;
	st->pad = NO_PAD;
	st->seq = r->seq;
	if (pos != r->head) {
		st->pad = r->head;
		atomic_store_explicit(&r->data[(r->head & r->mask) / 8], (uint64_t)KIND_PAD << 32,
				      memory_order_relaxed);
		checkpoint(r, r->head);
	}
	checkpoint(r, pos);
	r->seq += count;
	r->head = pos + need;
	r->reserved = false;
	r->published += count;
}

/*
 * Commit the @n records staged since head was last stored (st[0] the
 * first): their seq words, the last record's first, so that a subscriber
 * waiting where the first goes finds them all; a PAD's after that of the
 * record it comes before (a subscriber that passes the PAD finds the
 * record committed). Then head.
 */
static inline void seal(ipk_ring *r, const struct staged *st, size_t n)
{
	/* Relaxed: read only by a successor publisher after we died (the
	 * flock hand-over orders it). Stored before the seq words: a
	 * subscriber may take a record before head moves, and a successor
	 * must then not publish its seq again; a death in between skips seq
	 * numbers (counted as lost) but never reuses one. */
	atomic_store_explicit(&r->hdr->pub_seq, r->seq, memory_order_relaxed);
	while (n-- > 0) {
		/* Release: C, the commit point for a subscriber waiting at
		 * the record: pairs with its acquire load of the seq word in
		 * committed_here(); whoever reads this seq reads the record,
		 * the mark after it and every record staged after it. */
		atomic_store_explicit(seq_word(r, st[n].pos), st[n].seq, memory_order_release);
		if (st[n].pad != NO_PAD)
			atomic_store_explicit(seq_word(r, st[n].pad), st[n].seq,
					      memory_order_release);
	}
	/* seq_cst exchange: a release store (R in the table above; pairs with
	 * the subscribers' acquire load of head (A): whoever sees the new head
	 * sees the records, for those that look at head) that is also ordered
	 * before the seq_cst load of sleepers below - the store-load pair of
	 * the doorbell, with the sleeper's seq_cst increment and head load.
	 * One locked instruction on x86 (cheaper than a store and a full
	 * fence). */
	(void)atomic_exchange_explicit(&r->hdr->head, r->head, memory_order_seq_cst);
	r->shown = r->head;
	if (atomic_load_explicit(&r->bell->sleepers, memory_order_seq_cst) != 0)
		ring_bell(r);
}

/* Publish the record of @len bytes at @pos, its payload written. */
static inline void commit(ipk_ring *r, uint64_t pos, uint64_t len)
{
	struct staged st;

	stage(r, pos, len | (uint64_t)KIND_MSG << 32, rec_size(len), 1, &st);
	seal(r, &st, 1);
}

int ipk_ring_publish(ipk_ring *r, const void *buf, size_t len)
{
	uint64_t pos;
	int rc;

	IPK_CHECK_ARG(r && (buf || len == 0));
	if (len > r->max_msg)
		return -EMSGSIZE;
	rc = place(r, rec_size(len), record_end(r, rec_size(len)), &pos);
	if (rc < 0)
		return rc;
	copy_in(payload(r, pos), buf, len);
	commit(r, pos, len);
	return 0;
}

/*
 * Records written between two stores of head end within this many bytes
 * of the first (the mark after the last included): intact() allows
 * 2 * rec_size(max_msg) (a PAD and a record, which any single record
 * stays within). Half the ring at most: what make_room() must free for
 * the batch then lies well behind the head that subscribers see, and
 * place() keeps the step it adds behind that head too.
 */
static uint64_t batch_room(const ipk_ring *r)
{
	uint64_t slack = 2 * rec_size(r->max_msg);

	return slack < r->cap / 2 ? slack : r->cap / 2;
}

/*
 * How many of @m[0..@n) (@n >= 1) the next record holds: a run of messages
 * of one length, packed while their slots stay within PACK_BYTES and
 * max_msg; 1 in queue mode (the consumer's position is a record: one that
 * took over after a consumer died mid-pack would get part of it again).
 */
static unsigned pack_count(const ipk_ring *r, const struct ipk_msg *m, unsigned n)
{
	uint64_t slot = pack_slot(m[0].len);
	uint64_t limit = r->max_msg < PACK_BYTES ? r->max_msg : PACK_BYTES;
	unsigned k = 1;

	if (r->cons)
		return 1;
	while (k < n && k < PACK_MAX && m[k].len == m[0].len && (k + 1) * slot <= limit)
		k++;
	return k;
}

int ipk_ring_publish_batch(ipk_ring *r, const struct ipk_msg *msgs, unsigned n)
{
	struct staged st[BATCH_MAX];
	uint64_t room;
	unsigned i, c, k = 0;
	int rc = 0;

	IPK_CHECK_ARG(r && (msgs || n == 0) && n <= INT_MAX);
	for (i = 0; i < n; i++) {
		IPK_CHECK_ARG(msgs[i].buf || msgs[i].len == 0);
		if (msgs[i].len > r->max_msg)
			return -EMSGSIZE;
	}
	room = batch_room(r);
	for (i = 0; i < n; i += c) {
		uint64_t len = msgs[i].len, w0, need, end, pos;

		c = pack_count(r, msgs + i, n - i);
		w0 = len | (uint64_t)(c == 1 ? KIND_MSG : KIND_PACK | c << 16) << 32;
		need = rec_size(rec_payload(w0));
		end = record_end(r, need);
		if (k == BATCH_MAX || (k > 0 && end + REC_HDR - r->shown > room)) {
			seal(r, st, k); /* r->head does not move: end holds */
			k = 0;
		}
		rc = place(r, need, end, &pos);
		if (rc < 0)
			break; /* the queue is full */
		for (unsigned j = 0; j < c; j++)
			copy_in(payload(r, pos) + j * pack_slot(len) / 8, msgs[i + j].buf, len);
		stage(r, pos, w0, need, c, &st[k++]);
		/* Large messages gain nothing from waiting for more (a head
		 * store per BATCH_BYTES costs nothing): subscribers take what
		 * is written while the rest is copied in. */
		if (r->head - r->shown >= BATCH_BYTES) {
			seal(r, st, k);
			k = 0;
		}
	}
	if (k > 0)
		seal(r, st, k);
	return i > 0 ? (int)i : rc;
}

/*
 * Queue mode, queue full: sleep until the consumer moves or @deadline_ns.
 * The doorbell protocol of wait_data() with the roles swapped:
 *
 *   consumer                          waiting producer
 *   pos = p'           (release)      waiting += 1          (seq_cst)
 *   fence(seq_cst)                    fence(seq_cst)
 *   n = waiting        (relaxed)      w = futex             (acquire)
 *   if n: futex += 1, FUTEX_WAKE      if no room: FUTEX_WAIT(futex, w)
 *
 * Return: 0 (look again); -EAGAIN; -ETIMEDOUT.
 */
static int wait_room(ipk_ring *r, uint64_t len, int64_t deadline_ns)
{
	int64_t now, wake;
	uint64_t c;
	uint32_t w;
	int rc = 0;

	if (deadline_ns == IPK__NOWAIT)
		return -EAGAIN;
	now = ipk__now_ns();
	if (now >= deadline_ns)
		return -ETIMEDOUT;
	wake = deadline_ns - now > WAIT_SLICE_NS ? now + WAIT_SLICE_NS : deadline_ns;
	atomic_fetch_add_explicit(&r->cons->waiting, 1, memory_order_seq_cst);
	atomic_thread_fence(memory_order_seq_cst);
	/* Acquire: pairs with the release increment in consumer_done(). */
	w = atomic_load_explicit(&r->cons->futex, memory_order_acquire);
	if (!queue_room(r, record_end(r, rec_size(len)), &c))
		rc = futex_wait(&r->cons->futex, w, wake, false);
	/* Release: keeps the count's RMW chain after our look at pos. */
	atomic_fetch_sub_explicit(&r->cons->waiting, 1, memory_order_release);
	return rc == -ETIMEDOUT && wake == deadline_ns ? -ETIMEDOUT : 0;
}

int ipk_ring_publish_wait(ipk_ring *r, const void *buf, size_t len, int64_t timeout_ns)
{
	int64_t deadline_ns = 0;
	bool have_deadline = false;

	IPK_CHECK_ARG(r && (buf || len == 0));
	for (;;) {
		int rc = ipk_ring_publish(r, buf, len);

		if (rc != -EAGAIN)
			return rc;
		if (!have_deadline) {
			deadline_ns = ipk__deadline(timeout_ns);
			have_deadline = true;
		}
		rc = wait_room(r, len, deadline_ns);
		if (rc < 0)
			return rc;
	}
}

int ipk_ring_reserve(ipk_ring *r, size_t len, void **ret)
{
	int rc;

	IPK_CHECK_ARG(r && ret);
	if (len > r->max_msg)
		return -EMSGSIZE;
	rc = place(r, rec_size(len), record_end(r, rec_size(len)), &r->resv_pos);
	if (rc < 0)
		return rc;
	r->resv_len = len;
	r->reserved = true;
	*ret = (void *)payload(r, r->resv_pos);
	return 0;
}

int ipk_ring_commit(ipk_ring *r, size_t len)
{
	IPK_CHECK_ARG(r && r->reserved && len <= r->resv_len);
	commit(r, r->resv_pos, len);
	return 0;
}

int ipk_ring_fds(const ipk_ring *r, int *ring_fd, int *bell_fd)
{
	IPK_CHECK_ARG(r && ring_fd && bell_fd);
	*ring_fd = r->fd;
	*bell_fd = r->bell_fd;
	return 0;
}

int ipk_ring_stats(const ipk_ring *r, struct ipk_ring_stats *ret)
{
	IPK_CHECK_ARG(r && ret);
	ret->published = r->published;
	ret->wakes = r->wakes;
	ret->epoch = atomic_load_explicit(&r->hdr->epoch, memory_order_relaxed); /* ours */
	ret->max_msg = r->max_msg;
	ret->capacity = r->cap;
	return 0;
}

/* Lay out a fresh feed; magic goes last so a half-made ring reads -EPROTO. */
static void init_fresh(ipk_ring *r)
{
	struct ring_hdr *h = r->hdr;

	h->version = RING_VERSION;
	h->hdr_size = HDR_SIZE;
	h->max_msg = (uint32_t)r->max_msg;
	h->capacity = r->cap;
	h->map_size = HDR_SIZE + r->cap;
	/* Relaxed: all published by the release store of magic below. */
	atomic_store_explicit(&h->epoch, 1, memory_order_relaxed);
	atomic_store_explicit(&h->pid, (int32_t)getpid(), memory_order_relaxed);
	atomic_store_explicit(&h->start, own_start_time(), memory_order_relaxed);
	atomic_store_explicit(&h->state, STATE_LIVE, memory_order_relaxed);
	atomic_store_explicit(&h->base_seq, 0, memory_order_relaxed);
	atomic_store_explicit(&h->head, 0, memory_order_relaxed);
	atomic_store_explicit(&h->pub_seq, 0, memory_order_relaxed);
	atomic_store_explicit(&h->tail, 0, memory_order_relaxed);
	r->head = r->tail = r->seq = r->shown = 0;
	r->ck_next = 0;
	r->ck_at = 0;
	atomic_store_explicit(seq_word(r, 0), SEQ_NONE, memory_order_relaxed);
	/* Release: pairs with the acquire load in check_header(). */
	atomic_store_explicit(&h->magic, RING_MAGIC, memory_order_release);
}

/*
 * Where the records end that a dead publisher committed past its @head:
 * it died between their seq words (C) and head. A subscriber may have
 * taken them, so they stay. They run from @head, seq word by seq word, up
 * to @pub_seq (stored before any C); anything else - nothing committed
 * there, or bytes that do not add up - leaves @head. The dead publisher's
 * words are read relaxed: its flock, which we now hold, orders them.
 */
static uint64_t committed_past(const ipk_ring *r, uint64_t head, uint64_t pub_seq)
{
	uint64_t p = head, seq = atomic_load_explicit(seq_word(r, head), memory_order_relaxed);

	while (seq != pub_seq) {
		uint64_t w0 =
			atomic_load_explicit(&r->data[(p & r->mask) / 8], memory_order_relaxed);

		if (seq > pub_seq || p - head >= batch_room(r) ||
		    atomic_load_explicit(seq_word(r, p), memory_order_relaxed) != seq)
			return head;
		if ((w0 >> 32) != KIND_PAD) { /* a PAD carries the seq of the record after it */
			if (rec_count(w0) == 0)
				return head;
			seq += rec_count(w0);
		}
		p = next_rec(r, p);
	}
	return p;
}

/*
 * Continue a ring whose publisher died: same positions and seq numbers,
 * new epoch. Nothing before its head is ours to walk (tail = that head);
 * we start after what it committed past it (committed_past()). A slow
 * subscriber still gets the dead publisher's records while they are
 * intact, and counts them as lost once we overwrite them.
 */
static void take_over(ipk_ring *r)
{
	struct ring_hdr *h = r->hdr;
	uint64_t head = atomic_load_explicit(&h->head, memory_order_relaxed); /* dead writer */

	r->seq = atomic_load_explicit(&h->pub_seq, memory_order_relaxed);
	r->tail = head;
	r->head = r->shown = committed_past(r, head, r->seq);
	r->ck_next = (r->head + TAIL_STEP(r->cap) - 1) / TAIL_STEP(r->cap); /* none before */
	r->ck_at = r->ck_next * TAIL_STEP(r->cap);
	/* Relaxed: published by the release store of tail just below. */
	atomic_store_explicit(&h->base_seq, r->seq, memory_order_relaxed);
	/* Release: pairs with the acquire load of tail in attach_position(),
	 * which reads base_seq when it finds tail == head. */
	atomic_store_explicit(&h->tail, head, memory_order_release);
	/* Release: pairs with the subscribers' acquire loads of head; the
	 * records it shows are the dead publisher's, committed. */
	atomic_store_explicit(&h->head, r->head, memory_order_release);
	atomic_store_explicit(&h->pid, (int32_t)getpid(), memory_order_relaxed);
	atomic_store_explicit(&h->start, own_start_time(), memory_order_relaxed);
	atomic_store_explicit(&h->state, STATE_LIVE, memory_order_relaxed);
	/* Release: pairs with the acquire load of epoch in check_publisher(),
	 * which then reads pid and state. */
	atomic_fetch_add_explicit(&h->epoch, 1, memory_order_release);
	/* F for the tail stored above: our first records may overwrite what
	 * a slow subscriber still reads of the dead publisher's. */
	atomic_thread_fence(memory_order_release);
	/* The dead one may have died before marking head. */
	atomic_store_explicit(seq_word(r, r->head), SEQ_NONE, memory_order_relaxed);
}

static int map_feed_rw(ipk_ring *r, size_t size)
{
	/* MAP_POPULATE: the whole ring is written within the first lap
	 * anyway; its page faults are paid here, not by the first messages. */
	r->hdr = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, r->fd, 0);
	if (r->hdr == MAP_FAILED) {
		r->hdr = NULL;
		return ipk__neg_errno();
	}
	r->map_size = size;
	r->data = (_Atomic uint64_t *)((char *)r->hdr + HDR_SIZE);
	return 0;
}

/*
 * An existing named feed of ours whose lock we now hold (@st: what we
 * opened). Return: 1 taken over (this geometry); 0 a ring of ours that we
 * may replace (another geometry or format, or one its creator never
 * finished: magic still 0); -EPROTO anything else (not replaced, not used).
 */
static int adopt(ipk_ring *r, const struct stat *st)
{
	uint64_t cap, max_msg;
	uint32_t w[2]; /* magic, version */
	int rc;

	if (st->st_size < (off_t)HDR_SIZE || pread(r->fd, w, sizeof(w), 0) != (ssize_t)sizeof(w))
		return -EPROTO;
	if (w[0] != RING_MAGIC)
		return w[0] == 0 ? 0 : -EPROTO;
	if (w[1] != RING_VERSION || (uint64_t)st->st_size != HDR_SIZE + r->cap)
		return 0;
	rc = map_feed_rw(r, (size_t)st->st_size);
	if (rc < 0)
		return rc;
	if (check_header(r->hdr, r->map_size, &cap, &max_msg) < 0 || cap != r->cap ||
	    max_msg != r->max_msg) {
		(void)munmap(r->hdr, r->map_size);
		r->hdr = NULL;
		return 0;
	}
	take_over(r);
	return 1;
}

/*
 * The feed at r->name: take over a dead publisher's, or make a new one.
 * The new one appears at the name complete and already locked
 * (ipk__shm_new(), ipk__shm_link()), so of any number of racing creators
 * exactly one links it and every other finds it locked: -EBUSY. Only what
 * is ours is adopted or replaced (ipk__shm_open(): owner, mode, a regular
 * file); a foreign object is -EPERM, a strange one -EPROTO.
 */
static int open_named_feed(ipk_ring *r, mode_t mode, bool *fresh)
{
	for (int tries = 0; tries < 16; tries++) {
		struct stat st;
		int fd, rc;

		fd = r->flags & IPK_RING_EXCL ? -ENOENT
					      : ipk__shm_open(r->name, O_RDWR, true, mode, &st);
		if (fd >= 0) {
			r->fd = fd;
			r->feed_id = (struct ipk__shm_id){ st.st_dev, st.st_ino };
			/* The live publisher holds the lock for its whole life. */
			if (flock(r->fd, LOCK_EX | LOCK_NB) < 0)
				return errno == EWOULDBLOCK ? -EBUSY : ipk__neg_errno();
			rc = adopt(r, &st);
			if (rc == 1 && fchmod(r->fd, mode) < 0)
				return ipk__neg_errno();
			if (rc != 0)
				return rc < 0 ? rc : 0;
			/* A dead ring of ours that does not fit: replace it.
			 * We hold its lock, so no other creator decided the
			 * same; its name goes only while it leads to it. */
			(void)ipk__shm_unlink(r->name, &r->feed_id);
			ipk__close(r->fd);
			r->fd = -1;
		} else if (fd != -ENOENT) {
			return fd;
		}
		fd = ipk__shm_new(HDR_SIZE + r->cap, mode, true);
		if (fd < 0)
			return fd;
		rc = ipk__shm_link(fd, r->name, &r->feed_id);
		if (rc == 0) {
			r->fd = fd;
			*fresh = true;
			return 0;
		}
		ipk__close(fd);
		if (rc != -EEXIST || (r->flags & IPK_RING_EXCL))
			return rc;
		/* Another creator won the name: look at what it made. */
	}
	return -EBUSY;
}

/*
 * A companion object of a named ring (doorbell, consumer page), read-write:
 * a fresh ring gets a new one in place of whatever of ours a dead ring
 * left; a taken-over ring keeps its own (sleepers' counts, the consumer's
 * position) if it is whole. Return: a descriptor and *@id; -errno.
 */
static int open_companion(const char *name, size_t size, mode_t mode, bool fresh,
			  struct ipk__shm_id *id)
{
	for (int tries = 0; tries < 16; tries++) {
		struct stat st;
		int fd = ipk__shm_open(name, O_RDWR, true, mode, &st), rc;

		if (fd >= 0) {
			*id = (struct ipk__shm_id){ st.st_dev, st.st_ino };
			if (!fresh && st.st_size >= (off_t)size) {
				if (fchmod(fd, mode) == 0)
					return fd;
				rc = ipk__neg_errno();
				ipk__close(fd);
				return rc;
			}
			ipk__close(fd);
			rc = ipk__shm_unlink(name, id);
			if (rc < 0 && rc != -ENOENT && rc != -ESTALE)
				return rc;
		} else if (fd != -ENOENT) {
			return fd;
		}
		fd = ipk__shm_new(size, mode, false);
		if (fd < 0)
			return fd;
		rc = ipk__shm_link(fd, name, id);
		if (rc == 0)
			return fd;
		ipk__close(fd);
		if (rc != -EEXIST)
			return rc;
	}
	return -EBUSY;
}

static int open_bell(ipk_ring *r, mode_t mode, bool fresh)
{
	if (r->named) {
		r->bell_fd = open_companion(r->bell_name, BELL_SIZE, mode, fresh, &r->bell_id);
		if (r->bell_fd < 0)
			return r->bell_fd;
	} else {
		r->bell_fd = memfd_create("ipk-ring-bell", MFD_CLOEXEC | MFD_ALLOW_SEALING);
		if (r->bell_fd < 0)
			return ipk__neg_errno();
		if (ftruncate(r->bell_fd, BELL_SIZE) < 0)
			return ipk__neg_errno();
		(void)fcntl(r->bell_fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL);
	}
	r->bell = mmap(NULL, BELL_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, r->bell_fd, 0);
	if (r->bell == MAP_FAILED) {
		r->bell = NULL;
		return ipk__neg_errno();
	}
	/* Relaxed: subscribers check magic only to reject a wrong object; the
	 * words they use start at zero or carry on from before. */
	atomic_store_explicit(&r->bell->magic, BELL_MAGIC, memory_order_relaxed);
	r->bell->version = RING_VERSION;
	return 0;
}

/*
 * Queue mode: the consumer's page. A fresh ring gets a fresh page at
 * position 0; a taken-over queue keeps its consumer's position (or starts
 * one at head).
 */
static int open_cons(ipk_ring *r, mode_t mode, bool fresh)
{
	r->cons_fd = open_companion(r->cons_name, CONS_SIZE, mode, fresh, &r->cons_id);
	if (r->cons_fd < 0)
		return r->cons_fd;
	r->cons = mmap(NULL, CONS_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, r->cons_fd, 0);
	if (r->cons == MAP_FAILED) {
		r->cons = NULL;
		return ipk__neg_errno();
	}
	/* Relaxed: no consumer can use the page before the ring's magic,
	 * stored after this (fresh), or before it finds this magic
	 * (takeover), and a consumer only reads pos after taking the page's
	 * lock. */
	if (atomic_load_explicit(&r->cons->magic, memory_order_relaxed) != CONS_MAGIC) {
		atomic_store_explicit(&r->cons->pos, r->head, memory_order_relaxed);
		r->cons->version = RING_VERSION;
		atomic_store_explicit(&r->cons->magic, CONS_MAGIC, memory_order_release);
	} else {
		/* Taken over: the one producer that could have been counted
		 * as waiting for room is the dead one we replace. Relaxed:
		 * only the consumer reads it, and a stale look costs it one
		 * FUTEX_WAKE. */
		atomic_store_explicit(&r->cons->waiting, 0, memory_order_relaxed);
	}
	return 0;
}

/* Remove the ring's names that still lead to its objects; a name that
 * someone else's object has taken since (ipckit rm, then a new publisher)
 * is theirs. Under the feed's lock: no successor takes ours over meanwhile. */
static void remove_names(const ipk_ring *r)
{
	if (r->feed_id.ino)
		(void)ipk__shm_unlink(r->name, &r->feed_id);
	if (r->bell_id.ino)
		(void)ipk__shm_unlink(r->bell_name, &r->bell_id);
	if (r->cons_id.ino)
		(void)ipk__shm_unlink(r->cons_name, &r->cons_id);
}

int ipk_ring_create(const char *name, const struct ipk_ring_opts *opts, ipk_ring **ret)
{
	struct ipk_ring_opts o = { 0 };
	bool fresh = !name; /* a memfd is always new; a name may be taken over */
	mode_t mode;
	ipk_ring *r;
	int rc;

	IPK_CHECK_ARG(ret);
	if (opts)
		o = *opts;
	if (o.capacity == 0)
		o.capacity = DEFAULT_CAPACITY;
	IPK_CHECK_ARG(o.capacity >= MIN_CAPACITY && o.capacity <= MAX_CAPACITY &&
		      (o.capacity & (o.capacity - 1)) == 0);
	if (o.max_msg == 0)
		o.max_msg = (uint32_t)(o.capacity / 4 - REC_HDR < UINT32_MAX - REC_ALIGN
					       ? o.capacity / 4 - REC_HDR
					       : UINT32_MAX - REC_ALIGN);
	IPK_CHECK_ARG(o.max_msg <= UINT32_MAX - REC_ALIGN && rec_size(o.max_msg) <= o.capacity / 2);
	IPK_CHECK_ARG((o.flags & ~(IPK_RING_EXCL | IPK_RING_KEEP | IPK_RING_QUEUE)) == 0);
	IPK_CHECK_ARG(name || !(o.flags & IPK_RING_QUEUE)); /* the consumer opens by name */
	if (name && check_name(name) < 0)
		return -EINVAL;
	mode = o.mode ? o.mode & 07777 : 0600;

	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->fd = r->bell_fd = r->cons_fd = -1;
	r->cap = o.capacity;
	r->mask = o.capacity - 1;
	r->max_msg = o.max_msg;
	r->flags = o.flags;
	if (name) {
		r->named = true;
		snprintf(r->name, sizeof(r->name), "%s", name);
		name_with(name, IPK__RING_BELL, r->bell_name);
		name_with(name, IPK__RING_CONS, r->cons_name);
		rc = open_named_feed(r, mode, &fresh);
		if (rc < 0)
			goto fail;
	} else {
		r->fd = memfd_create("ipk-ring", MFD_CLOEXEC | MFD_ALLOW_SEALING);
		if (r->fd < 0)
			goto fail_errno;
	}
	if (fresh) {
		if (!r->named && ftruncate(r->fd, (off_t)(HDR_SIZE + r->cap)) < 0)
			goto fail_errno;
		rc = map_feed_rw(r, HDR_SIZE + r->cap);
		if (rc < 0)
			goto fail;
	}
	if (!r->named) {
		/* Our writable mapping exists; from now on nobody gets another
		 * one. Kernels before 5.1 lack F_SEAL_FUTURE_WRITE: seal what
		 * they have (subscribers still map read-only). */
		if (fcntl(r->fd, F_ADD_SEALS,
			  F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_FUTURE_WRITE | F_SEAL_SEAL) < 0 &&
		    fcntl(r->fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) < 0)
			goto fail_errno;
	}
	rc = open_bell(r, mode, fresh);
	if (rc < 0)
		goto fail;
	if (o.flags & IPK_RING_QUEUE) {
		rc = open_cons(r, mode, fresh);
		if (rc < 0)
			goto fail;
	}
	/* Magic last, after the doorbell and the consumer page exist: a
	 * subscriber that finds the feed initialised finds them complete. */
	if (fresh)
		init_fresh(r);
	*ret = r;
	return 0;

fail_errno:
	rc = ipk__neg_errno();
fail:
	if (r->named && fresh)
		remove_names(r);   /* only what we created */
	r->flags |= IPK_RING_KEEP; /* a taken-over ring is closed, not removed */
	ipk_ring_close(r);
	return rc;
}

void ipk_ring_close(ipk_ring *r)
{
	if (!r)
		return;
	if (r->hdr) {
		/* Release: pairs with the acquire load of state in
		 * check_publisher(): a subscriber that sees CLOSED sees every
		 * record, so it drains before it reports -EPIPE. */
		atomic_store_explicit(&r->hdr->state, STATE_CLOSED, memory_order_release);
		if (r->bell) {
			atomic_thread_fence(memory_order_seq_cst); /* as in seal() */
			ring_bell(r);
		}
		(void)munmap(r->hdr, r->map_size);
	}
	if (r->bell)
		(void)munmap(r->bell, BELL_SIZE);
	if (r->cons)
		(void)munmap(r->cons, CONS_SIZE);
	if (r->named && !(r->flags & IPK_RING_KEEP))
		remove_names(r);
	if (r->cons_fd >= 0)
		ipk__close(r->cons_fd);
	if (r->bell_fd >= 0)
		ipk__close(r->bell_fd);
	if (r->fd >= 0)
		ipk__close(r->fd); /* releases the publisher lock */
	free(r);
}

/* ---- subscriber -------------------------------------------------------- */

/*
 * Acquire fence G, then tail (and maybe head): was the record at @pos
 * intact until now?
 *
 * Acquire fence: pairs with the publisher's release fence F after it moved
 * tail (make_room()). If any byte we loaded came from a store after F,
 * everything the publisher stored before F is visible to the loads below:
 * the moved tail, past @pos. Tail moves in steps of TAIL_STEP (make_room()),
 * so for a subscriber that keeps up this load hits its own cache: no
 * cache-line transfer per message.
 *
 * Failing that, head: the same fence makes the head of the publisher's
 * previous commit, h_prev, visible. What it writes over ours before it
 * stores head again ends at most a PAD plus a largest record past h_prev
 * (a batch: batch_room()): 2 * rec_size(max_msg) = s->slack. So if even the head we see now plus
 * the slack stays within a ring of @pos, no byte of ours was overwritten yet (tail ran ahead of the
 * bytes: a taken-over ring, or the step).
 */
static inline bool intact(const ipk_ring_sub *s, uint64_t pos)
{
	uint64_t h, t;

	atomic_thread_fence(memory_order_acquire);
	t = atomic_load_explicit(&s->hdr->tail, memory_order_relaxed);
	if ((int64_t)(t - pos) <= 0)
		return true;
	h = atomic_load_explicit(&s->hdr->head, memory_order_relaxed);
	return h >= pos && h - pos <= s->cap - s->slack;
}

/*
 * We were overwritten: continue at the oldest intact record. The seq it
 * carries tells how many we lost. Return: 0; -EBADMSG if tail is not a
 * position the ring could hold.
 */
static int jump_to_tail(ipk_ring_sub *s)
{
	/* Acquire: pairs with the release fence after the publisher moved
	 * tail (and the release store at a takeover); head is loaded again by
	 * the caller before anything at the new position is read. */
	uint64_t t = atomic_load_explicit(&s->hdr->tail, memory_order_acquire);

	if (t % REC_ALIGN || (int64_t)(t - s->pos) <= 0)
		return -EBADMSG;
	s->pos = t;
	s->idx = 0;
	s->head_cache = t;
	return 0;
}

/*
 * The size of the record whose first word is @w0 at offset @off of the
 * data, UINT64_MAX if no publisher writes such a header there: an unknown
 * kind, a PACK of no messages, a payload longer than max_msg or past the
 * end of the lap, or a PAD at the start of one (a PAD fills the rest of a
 * lap that a record did not fit, and every record fits a whole lap; a PAD a
 * whole lap long would take a reader round and round).
 */
static inline uint64_t rec_need(const ipk_ring_sub *s, uint64_t off, uint64_t w0)
{
	uint64_t kind = w0 >> 32, bytes = (uint32_t)w0;

	if (kind != KIND_MSG) {
		if (kind == KIND_PAD)
			return off != 0 ? s->cap - off : UINT64_MAX;
		if ((kind & 0xffff) != KIND_PACK || rec_count(w0) == 0)
			return UINT64_MAX;
		bytes = rec_payload(w0);
	}
	if (bytes <= s->max_msg && rec_size(bytes) <= s->cap - off)
		return rec_size(bytes);
	return UINT64_MAX;
}

/*
 * Describe message @idx of the record at offset @off with header word @w0
 * (of @need bytes, rec_need()'s) in *@a, but for its seq. Return: whether
 * the record has such a message (not a PAD, @idx within the count).
 */
static inline bool msg_at(uint64_t off, uint64_t w0, uint64_t need, uint32_t idx, struct at *a)
{
	uint64_t len = (uint32_t)w0;

	a->need = need;
	a->len = len;
	a->word = (off + REC_HDR) / 8;
	if ((w0 >> 32) == KIND_MSG) { /* the common case first */
		a->count = 1;
		return idx == 0;
	}
	a->count = rec_count(w0);
	if (a->count == 0)
		a->len = UINT64_MAX; /* a PAD */
	a->word += idx * (pack_slot(len) / 8);
	return idx < a->count;
}

/* Step past the message at @a, validated. */
static inline void step(ipk_ring_sub *s, const struct at *a)
{
	uint64_t end = s->pos + a->need;

	if ((int64_t)(end - s->head_cache) > 0)
		s->head_cache = end; /* the record is committed */
	s->next_seq++;
	if (a->count == 1 || ++s->idx >= a->count) {
		s->idx = 0;
		s->pos = end;
	}
}

/*
 * Is the record at s->pos committed, and the one we expect (whether head
 * has shown it to us or not)? If so, *@a: the message we stand at in it
 * (a->len UINT64_MAX for a PAD, whose lap's first record is then
 * committed too).
 * Its seq word is stored last (C in seal()), and before any subscriber
 * can get here the publisher wrote SEQ_NONE there (the mark after the
 * record before, or at a takeover or creation): stale bytes of an earlier
 * lap that happen to look like the seq we expect never reach us. A value
 * written after tail moved past us is caught by intact() after the copy,
 * as on the head path.
 */
static inline bool committed_here(const ipk_ring_sub *s, struct at *a)
{
	uint64_t off = s->pos & s->mask, w0, need;

	if (!s->seq_known)
		return false;
	/* Acquire: pairs with the release store of the seq word (C). */
	if (atomic_load_explicit(&s->data[off / 8 + 1], memory_order_acquire) !=
	    s->next_seq - s->idx)
		return false;
	/* Relaxed: a successor increments epoch (release) before it
	 * publishes, so a seq word of its making, loaded with acquire just
	 * above, brings the new epoch: the head path reports it. */
	if (atomic_load_explicit(&s->hdr->epoch, memory_order_relaxed) != s->epoch)
		return false;
	w0 = atomic_load_explicit(&s->data[off / 8], memory_order_relaxed);
	need = rec_need(s, off, w0);
	if (need == UINT64_MAX)
		return false; /* the head path decides what it is */
	a->seq = s->next_seq;
	return msg_at(off, w0, need, s->idx, a) || (a->len == UINT64_MAX && s->idx == 0);
}

/*
 * Find the next message at or after where we stand without consuming it:
 * skips PAD records and jumps over what was overwritten.
 * Return: 0 with *@a and s->pos (and s->idx) at the message; -EAGAIN if
 * there is none yet; -EBADMSG.
 */
static int locate(ipk_ring_sub *s, struct at *a)
{
	for (;;) {
		uint64_t off, w0, seq, need;
		int rc;

		/* Caught up with the head we saw: the record here may be
		 * committed without a look at head (one cache line less). */
		if (s->pos == s->head_cache && committed_here(s, a)) {
			s->head_cache = s->pos + a->need;
			if (a->len != UINT64_MAX)
				return 0;
		}
		if (s->pos == s->head_cache) {
			/* Acquire: A in the table; pairs with the release
			 * store of head in seal(). */
			uint64_t h = atomic_load_explicit(&s->hdr->head, memory_order_acquire);

			if (h % REC_ALIGN)
				return -EBADMSG;
			/* Relaxed: a successor increments epoch (release)
			 * before it publishes, so a head of its making,
			 * loaded with acquire just above, brings the new
			 * epoch: -ECONNRESET comes before its first message. */
			if (atomic_load_explicit(&s->hdr->epoch, memory_order_relaxed) != s->epoch)
				return -EAGAIN; /* wait_data() reports it */
			/* Behind us by a record (and a PAD) at most: a
			 * publisher that died between a commit and its head
			 * (committed_here() took the record). */
			if ((int64_t)(h - s->pos) < 0)
				return s->pos - h <= s->slack ? -EAGAIN : -EBADMSG;
			if (h == s->pos)
				return -EAGAIN;
			if (h - s->pos > s->cap) {
				/* Lapped. A tail we loaded after this head is
				 * at least head - capacity, past us; one that
				 * is not was never written by a publisher (and
				 * would have us walk PAD records for ever). */
				rc = jump_to_tail(s);
				if (rc < 0)
					return rc;
				continue;
			}
			s->head_cache = h;
		}
		off = s->pos & s->mask;
		w0 = atomic_load_explicit(&s->data[off / 8], memory_order_relaxed);
		seq = atomic_load_explicit(&s->data[off / 8 + 1], memory_order_relaxed);
		need = rec_need(s, off, w0);
		if (need <= s->head_cache - s->pos && msg_at(off, w0, need, s->idx, a)) {
			a->seq = seq + s->idx;
			return 0;
		}
		/* A header that makes no sense (or a record that no longer
		 * holds the message we stand at) is corrupt only if it was
		 * not overwritten while we read it. */
		if (need > s->head_cache - s->pos || s->idx != 0) {
			if (intact(s, s->pos))
				return -EBADMSG;
			rc = jump_to_tail(s);
			if (rc < 0)
				return rc;
			continue;
		}
		if (!intact(s, s->pos)) {
			rc = jump_to_tail(s);
			if (rc < 0)
				return rc;
			continue;
		}
		s->pos += need; /* past the padding to the next lap */
	}
}

/* Queue mode: tell the producer that everything before s->pos is read. */
static void consumer_done(ipk_ring_sub *s)
{
	/* Release: pairs with the producer's acquire load in queue_room():
	 * our loads of the records before pos happen before it reuses them. */
	atomic_store_explicit(&s->cons->pos, s->pos, memory_order_release);
	/* seq_cst fence: the store-load pair with wait_room(), which counts
	 * itself in waiting before it looks at pos. */
	atomic_thread_fence(memory_order_seq_cst);
	if (atomic_load_explicit(&s->cons->waiting, memory_order_relaxed) != 0) {
		/* Release: pairs with the acquire load of futex in wait_room(). */
		atomic_fetch_add_explicit(&s->cons->futex, 1, memory_order_release);
		futex_wake(&s->cons->futex, false);
	}
}

/* The message at @a (locate()'s), validated: count, step past it. */
static inline int consume(ipk_ring_sub *s, const struct at *a)
{
	if (!s->seq_known) {
		s->next_seq = a->seq; /* a consumer starts where its page says */
		s->seq_known = true;
	}
	if (!s->start_known) {
		s->start_seq = s->next_seq;
		s->start_known = true;
	}
	if (a->seq < s->next_seq)
		return -EBADMSG; /* sequence numbers only grow */
	s->lost += a->seq - s->next_seq;
	s->next_seq = a->seq;
	step(s, a);
	if (s->cons)
		consumer_done(s);
	return 0;
}

/*
 * Where a new subscriber starts (@from, @want: ipk_ring_sub_opts). It walks
 * [tail, head) once, learning each record's seq: the end expects one past
 * the last (base_seq if the ring is empty); the oldest is the first record
 * with messages; message @want is in the record whose seq range holds it
 * (an index into a PACK), or is older than the oldest, and then the first
 * record's seq, higher than expected, counts the gap as lost. A publisher
 * that laps every walk leaves us at head, the count to the first message
 * received (losses before it are not counted).
 */
static int attach_position(ipk_ring_sub *s, uint32_t from, uint64_t want)
{
	for (int tries = 0; tries < ATTACH_TRIES; tries++) {
		/* Acquire: pairs with the release store of tail at a takeover
		 * (base_seq below) and the release fence after each move. */
		uint64_t t = atomic_load_explicit(&s->hdr->tail, memory_order_acquire);
		/* Acquire: pairs with the release store of head in seal(). */
		uint64_t h = atomic_load_explicit(&s->hdr->head, memory_order_acquire);
		uint64_t p = t, next = 0, at = UINT64_MAX, at_seq = 0;
		bool found = false, bad = false;

		if ((t | h) % REC_ALIGN || h < t)
			return -EBADMSG;
		if (h - t > s->cap)
			continue; /* tail moved on between the two loads: look again */
		while (p < h) {
			uint64_t off = p & s->mask;
			uint64_t w0 = atomic_load_explicit(&s->data[off / 8], memory_order_relaxed);
			uint64_t need = rec_need(s, off, w0);
			uint32_t n = rec_count(w0);

			if (need > h - p) {
				bad = true;
				break;
			}
			if (n > 0) {
				uint64_t seq = atomic_load_explicit(&s->data[off / 8 + 1],
								    memory_order_relaxed);

				if (at == UINT64_MAX && from != IPK_RING_FROM_END &&
				    (from == IPK_RING_FROM_OLDEST || want < seq + n)) {
					at = p;
					at_seq = seq;
				}
				next = seq + n;
				found = true;
			}
			p += need;
		}
		/* Every header we walked must have been intact: G and tail. */
		if (!intact(s, t))
			continue;
		if (bad || (t != h && !found))
			return -EBADMSG;
		if (t == h) /* Relaxed: the acquire load of tail orders it. */
			next = atomic_load_explicit(&s->hdr->base_seq, memory_order_relaxed);
		s->idx = 0;
		s->pos = h;
		s->head_cache = h;
		if (at != UINT64_MAX) {
			s->pos = at;
			if (from == IPK_RING_FROM_OLDEST || want <= at_seq)
				want = from == IPK_RING_FROM_OLDEST ? at_seq : want;
			else
				s->idx = (uint32_t)(want - at_seq);
		} else if (from != IPK_RING_FROM_SEQ || want > next) {
			want = next; /* the end */
		}
		s->next_seq = s->start_seq = want;
		s->seq_known = s->start_known = true;
		return 0;
	}
	/* Acquire: pairs with the release store in seal(). */
	s->pos = s->head_cache = atomic_load_explicit(&s->hdr->head, memory_order_acquire);
	if (s->pos % REC_ALIGN)
		return -EBADMSG;
	s->seq_known = false;
	return 0;
}

/*
 * Queue mode: the consumer continues where the last one stopped. A position
 * behind tail (only after a publisher takeover) continues at tail.
 */
static int consumer_position(ipk_ring_sub *s)
{
	/* Acquire: pairs with the release store of pos by the previous
	 * consumer (or of magic by the producer); the page lock orders them. */
	uint64_t p = atomic_load_explicit(&s->cons->pos, memory_order_acquire);
	/* Acquire: as in attach_position(). */
	uint64_t t = atomic_load_explicit(&s->hdr->tail, memory_order_acquire);
	uint64_t h = atomic_load_explicit(&s->hdr->head, memory_order_acquire);

	if (p % REC_ALIGN || (int64_t)(p - h) > 0)
		return -EBADMSG;
	if ((int64_t)(t - p) > 0)
		p = t;
	s->pos = s->head_cache = p;
	s->seq_known = false; /* the first record says */
	return 0;
}

/* Map @size bytes of @fd read-write, once the object is known to hold them. */
static int map_rw(int fd, size_t size, void **ret)
{
	struct stat st;
	void *p;

	if (fstat(fd, &st) < 0)
		return ipk__neg_errno();
	if (st.st_size < (off_t)size)
		return -EBADMSG;
	p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		return ipk__neg_errno();
	*ret = p;
	return 0;
}

static int open_cons_page(ipk_ring_sub *s, const char *name)
{
	char cons[NAME_MAX + 1];
	struct stat st;
	void *page;
	int r;

	name_with(name, IPK__RING_CONS, cons);
	s->cons_fd = ipk__shm_open(cons, O_RDWR, false, 0, &st);
	if (s->cons_fd < 0)
		return s->cons_fd == -ENOENT ? -EOPNOTSUPP : s->cons_fd;
	/* One consumer at a time: the lock dies with it. */
	if (flock(s->cons_fd, LOCK_EX | LOCK_NB) < 0)
		return errno == EWOULDBLOCK ? -EBUSY : ipk__neg_errno();
	r = map_rw(s->cons_fd, CONS_SIZE, &page);
	if (r < 0)
		return r;
	s->cons = page;
	/* Acquire: pairs with the release store of magic in open_cons(). */
	if (atomic_load_explicit(&s->cons->magic, memory_order_acquire) != CONS_MAGIC)
		return -EPROTO;
	return 0;
}

static void reopen_pidfd(ipk_ring_sub *s)
{
	/* Relaxed: the caller's acquire load of epoch orders them (pid and
	 * start change only with epoch). */
	s->pid = atomic_load_explicit(&s->hdr->pid, memory_order_relaxed);
	s->pstart = atomic_load_explicit(&s->hdr->start, memory_order_relaxed);
	if (s->pidfd >= 0)
		ipk__close(s->pidfd);
	s->pidfd = s->no_pidfd ? -1 : ipk__pidfd_open(s->pid);
	/* A pidfd names whoever has the pid now: make sure that it is the
	 * publisher, not a stranger that reused the pid after its death. */
	s->stranger = !ipk__pid_alive(s->pid, s->pstart, -1);
}

/* Does the publisher still live? */
static bool publisher_alive(const ipk_ring_sub *s)
{
	return !s->stranger && ipk__pid_alive(s->pid, s->pstart, s->pidfd);
}

/*
 * Called when there is nothing to read. Return: 0 (keep waiting);
 * -ECONNRESET (new epoch, adopted); -EPIPE (the publisher closed: the
 * end); -EOWNERDEAD (it died, until wait_data() has said so once; then 0:
 * we wait for a successor, which comes as a new epoch).
 * @now_ns: throttles the pidfd check when >= 0; -1 forces it.
 */
static int check_publisher(ipk_ring_sub *s, int64_t now_ns)
{
	/* Acquire: pairs with the release increment in take_over(); pid and
	 * state read after it belong to the new publisher. */
	uint64_t e = atomic_load_explicit(&s->hdr->epoch, memory_order_acquire);

	if (e != s->epoch) {
		/* Relaxed: take_over() stored head, where the successor
		 * starts, before its release increment of epoch. It starts
		 * after every record the dead publisher committed, so only
		 * bytes that do not add up leave us past it: we go back to
		 * it; the successor's seq numbers continue past what we took. */
		uint64_t h = atomic_load_explicit(&s->hdr->head, memory_order_relaxed);

		if ((int64_t)(s->pos - h) > 0 && h % REC_ALIGN == 0) {
			s->pos = s->head_cache = h;
			s->idx = 0;
		}
		s->epoch = e;
		s->gone = s->told = false;
		atomic_store_explicit(&s->told_hint, false, memory_order_relaxed);
		atomic_store_explicit(&s->seen_epoch, e,
				      memory_order_relaxed); /* hint for helper */
		reopen_pidfd(s);
		return -ECONNRESET;
	}
	/* Acquire: pairs with the release store in ipk_ring_close(). */
	if (atomic_load_explicit(&s->hdr->state, memory_order_acquire) != STATE_LIVE)
		return -EPIPE;
	if (s->gone)
		return s->told ? 0 : -EOWNERDEAD;
	if (now_ns >= 0 && now_ns < s->next_check_ns)
		return 0;
	s->next_check_ns = (now_ns >= 0 ? now_ns : ipk__now_ns()) + LIVENESS_NS;
	s->gone = !publisher_alive(s);
	return s->gone ? -EOWNERDEAD : 0;
}

/* Spin a while on the seq word at s->pos; true once it no longer holds
 * the mark (SEQ_NONE). Relaxed: locate() loads it again with acquire. */
static bool spin_round(const ipk_ring_sub *s)
{
	const _Atomic uint64_t *word = &s->data[(s->pos & s->mask) / 8 + 1];

	for (int i = 0; i < SPIN_ROUND; i++) {
		if (atomic_load_explicit(word, memory_order_relaxed) != SEQ_NONE)
			return true;
		cpu_relax();
	}
	return false;
}

/* Has head moved past @pos? (It may lag behind: see locate().) */
static bool head_past(const ipk_ring_sub *s, uint64_t pos)
{
	/* Acquire: A; pairs with the release store of head in seal(). */
	return (int64_t)(atomic_load_explicit(&s->hdr->head, memory_order_acquire) - pos) > 0;
}

/*
 * Sleep until head moves past @pos, the doorbell rings, or @wake (an
 * absolute CLOCK_MONOTONIC time): the sleeper's half of the doorbell
 * protocol at the top of the file. @lock_fd is the caller's own open file
 * description of the doorbell, locked shared while we are counted.
 * Return: 0 (look again) or -ETIMEDOUT (@wake passed).
 */
static int doze(ipk_ring_sub *s, int lock_fd, uint64_t pos, int64_t wake)
{
	int rc = 0;

	if (!s->bell || lock_fd < 0)
		return ipk__sleep_until(wake, NOBELL_STEP_NS) == -ETIMEDOUT ? -ETIMEDOUT : 0;
	/* Held only for a moment by a publisher clearing dead sleepers (or
	 * for ever by someone hostile): look again in a while. */
	if (flock(lock_fd, LOCK_SH | LOCK_NB) < 0)
		return ipk__sleep_until(wake, NOBELL_STEP_NS) == -ETIMEDOUT ? -ETIMEDOUT : 0;
	/* seq_cst increment and fence: against the seq_cst exchange of head
	 * and load of sleepers in seal() (the store-load pair). */
	atomic_fetch_add_explicit(&s->bell->sleepers, 1, memory_order_seq_cst);
	atomic_thread_fence(memory_order_seq_cst);
	/* Acquire: pairs with the release increment in ring_bell(). */
	uint32_t w = atomic_load_explicit(&s->bell->futex, memory_order_acquire);

	/* Acquire: pairs with the release stores of head in seal() and of
	 * state in ipk_ring_close(). Relaxed stop: ipk_ring_sub_close() sets
	 * it, then rings; a late look costs one more slice at most. */
	if (!head_past(s, pos) &&
	    atomic_load_explicit(&s->hdr->state, memory_order_acquire) == STATE_LIVE &&
	    !atomic_load_explicit(&s->stop, memory_order_relaxed))
		rc = futex_wait(&s->bell->futex, w, wake, false);
	/* Release: nothing to publish, but keeps the count's RMW chain
	 * ordered after our last look at the ring. */
	atomic_fetch_sub_explicit(&s->bell->sleepers, 1, memory_order_release);
	(void)flock(lock_fd, LOCK_UN);
	return rc;
}

/*
 * Nothing at s->pos: report a dead or replaced publisher, or wait until
 * head moves or @deadline_ns. Return: 0 (look again); -EAGAIN; -ETIMEDOUT;
 * -EPIPE; -ECONNRESET; -EOWNERDEAD (once per dead publisher).
 */
static int wait_data(ipk_ring_sub *s, int64_t deadline_ns)
{
	int64_t now = ipk__now_ns();
	/* Throttled: a spinning or polling receiver pays no system call here. */
	int rc = check_publisher(s, now);

	if (rc == -EPIPE || rc == -EOWNERDEAD) {
		struct at a;

		/* The death (pidfd, or the release store of state) is
		 * ordered after its last commit: look once more. */
		if (head_past(s, s->pos) || committed_here(s, &a))
			return 0;
	}
	if (rc == -EOWNERDEAD) {
		/* Said once; from now on we wait for a successor. */
		s->told = true;
		atomic_store_explicit(&s->told_hint, true, memory_order_relaxed);
	}
	if (rc < 0)
		return rc;
	if (deadline_ns == IPK__NOWAIT)
		return -EAGAIN;
	if (deadline_ns != IPK__NEVER && now >= deadline_ns)
		return -ETIMEDOUT;

	if ((s->flags & IPK_RING_SPIN) || s->spin_ns > 0) {
		int64_t until = (s->flags & IPK_RING_SPIN) || s->spin_ns > deadline_ns - now
					? deadline_ns
					: now + s->spin_ns;

		if (until > deadline_ns)
			until = deadline_ns;
		for (;;) {
			/* On the seq word where the next record goes: the
			 * publisher writes it last, and head's line stays
			 * out of our cache. */
			if (spin_round(s))
				return 0;
			/* A record committed while the seq we expect was
			 * not known (committed_here() declined it) */
			if (head_past(s, s->pos))
				return 0;
			now = ipk__now_ns();
			if (now >= until)
				break;
			rc = check_publisher(s, now);
			if (rc == -ECONNRESET)
				return rc;
			if (rc < 0)
				return 0; /* the next round drains, then reports */
		}
		if (now >= deadline_ns)
			return -ETIMEDOUT;
	}

	int64_t wake = deadline_ns - now > WAIT_SLICE_NS ? now + WAIT_SLICE_NS : deadline_ns;

	rc = doze(s, s->bell_fd, s->pos, wake);
	if (rc == -ETIMEDOUT && wake == deadline_ns)
		return -ETIMEDOUT;
	return 0;
}

static int map_bell(ipk_ring_sub *s)
{
	void *page;
	int r;

	r = map_rw(s->bell_fd, BELL_SIZE, &page);
	if (r < 0)
		return r;
	s->bell = page;
	if (atomic_load_explicit(&s->bell->magic, memory_order_relaxed) != BELL_MAGIC)
		return -EPROTO;
	return 0;
}

/*
 * Counting subscribers, for a publisher that waits for them or lingers for
 * them. Nothing about a subscriber may live in the feed, and a count in the
 * doorbell would outlive a subscriber killed with SIGKILL. So each one
 * holds a write lock (an OFD lock, released when its last descriptor goes,
 * death included) on one byte of the doorbell's file past its page - its
 * slot, the lowest one free - and the publisher tests each slot below
 * bell->slots (ipk_ring_subscribers()). A subscriber that scribbles on
 * bell->slots can only make the publisher test more or fewer slots: it
 * is capped, and never trusted for anything but the count.
 */
#define SLOT_BASE ((off_t)BELL_SIZE)
#define SLOTS_MAX (1u << 20)

static void take_slot(ipk_ring_sub *s)
{
	for (uint32_t i = 0; i < SLOTS_MAX; i++) {
		struct flock fl = { .l_type = F_WRLCK,
				    .l_whence = SEEK_SET,
				    .l_start = SLOT_BASE + i,
				    .l_len = 1 };
		uint32_t hi;

		if (fcntl(s->bell_fd, F_OFD_SETLK, &fl) < 0) {
			if (errno == EAGAIN || errno == EACCES)
				continue; /* another subscriber's */
			return;           /* no OFD locks here: not counted */
		}
		/* Relaxed: only ever compared with, never a guard for data. */
		hi = atomic_load_explicit(&s->bell->slots, memory_order_relaxed);
		while (hi < i + 1 && !atomic_compare_exchange_weak_explicit(
					     &s->bell->slots, &hi, i + 1, memory_order_relaxed,
					     memory_order_relaxed))
			;
		return;
	}
}

int ipk_ring_subscribers(const ipk_ring *r)
{
	uint32_t n = 0, hi;

	IPK_CHECK_ARG(r && r->bell);
	/* Relaxed: see take_slot(). */
	hi = atomic_load_explicit(&r->bell->slots, memory_order_relaxed);
	if (hi > SLOTS_MAX)
		hi = SLOTS_MAX;
	for (uint32_t i = 0; i < hi; i++) {
		struct flock fl = { .l_type = F_WRLCK,
				    .l_whence = SEEK_SET,
				    .l_start = SLOT_BASE + i,
				    .l_len = 1 };

		if (fcntl(r->bell_fd, F_OFD_GETLK, &fl) < 0)
			return ipk__neg_errno();
		n += fl.l_type != F_UNLCK;
	}
	return (int)n;
}

/* Map and validate; s->fd and s->bell_fd (or -1) are set. */
static int attach(ipk_ring_sub *s)
{
	struct stat st;
	void *map;
	int rc;

	if (fstat(s->fd, &st) < 0)
		return ipk__neg_errno();
	if (!S_ISREG(st.st_mode) || st.st_size < (off_t)HDR_SIZE)
		return -EPROTO; /* not a ring (a publisher links it whole) */
	if ((uint64_t)st.st_size > HDR_SIZE + MAX_CAPACITY)
		return -EBADMSG;
	/* The whole feed, read-only: a subscriber cannot write it. Populated,
	 * as the publisher's: no page faults in the first lap. */
	map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED | MAP_POPULATE, s->fd, 0);
	if (map == MAP_FAILED)
		return ipk__neg_errno();
	s->hdr = map;
	s->map_size = (size_t)st.st_size;
	/* Relaxed: a look only; check_header() loads it again with acquire. */
	if (atomic_load_explicit(&s->hdr->magic, memory_order_relaxed) == 0)
		return -EAGAIN; /* linked, not yet initialised: open again */
	rc = check_live_header(s->hdr, s->map_size, &s->cap, &s->max_msg);
	if (rc < 0)
		return rc;
	s->mask = s->cap - 1;
	s->slack = 2 * rec_size(s->max_msg); /* <= cap: check_header() */
	s->data = (const _Atomic uint64_t *)((const char *)map + HDR_SIZE);
	if (s->bell_fd >= 0) {
		rc = map_bell(s);
		if (rc < 0)
			return rc;
	}
	/* Acquire: pairs with the release increment in take_over(). */
	s->epoch = atomic_load_explicit(&s->hdr->epoch, memory_order_acquire);
	atomic_store_explicit(&s->seen_epoch, s->epoch, memory_order_relaxed);
	reopen_pidfd(s);
	rc = s->cons ? consumer_position(s) : attach_position(s, s->from, s->from_seq);
	if (rc < 0)
		return rc;
	atomic_store_explicit(&s->seen_pos, s->pos, memory_order_relaxed);
	/* Counted once it has its start: a publisher that waited for it
	 * publishes nothing it will not see. */
	if (s->bell)
		take_slot(s);
	return 0;
}

static int new_sub(const struct ipk_ring_sub_opts *opts, ipk_ring_sub **ret)
{
	ipk_ring_sub *s = calloc(1, sizeof(*s));

	if (!s)
		return -ENOMEM;
	s->fd = s->bell_fd = s->helper_bell_fd = s->pidfd = s->efd = s->cons_fd = -1;
	s->no_pidfd = getenv("IPK_RING_TEST_NO_PIDFD") != NULL;
	if (opts) {
		s->spin_ns = opts->spin_ns;
		s->flags = opts->flags;
		s->from = opts->from;
		s->from_seq = opts->from_seq;
	}
	*ret = s;
	return 0;
}

int ipk_ring_open(const char *name, const struct ipk_ring_sub_opts *opts, ipk_ring_sub **ret)
{
	char bell[NAME_MAX + 1];
	uint32_t magic = 0;
	struct stat st;
	ipk_ring_sub *s;
	int rc;

	IPK_CHECK_ARG(ret && check_name(name) == 0);
	IPK_CHECK_ARG(!opts || (opts->flags & ~(IPK_RING_SPIN | IPK_RING_CONSUMER)) == 0);
	IPK_CHECK_ARG(!opts || opts->from <= IPK_RING_FROM_SEQ);
	rc = new_sub(opts, &s);
	if (rc < 0)
		return rc;
	s->fd = ipk__shm_open(name, O_RDONLY, false, 0, &st);
	if (s->fd < 0) {
		rc = s->fd;
		goto fail;
	}
	/* Its publisher makes the doorbell and the consumer page before it
	 * stores magic: until then, look again later (not without them, and
	 * not at the price of mapping the whole feed). */
	if (pread(s->fd, &magic, sizeof(magic), 0) == (ssize_t)sizeof(magic) && !magic) {
		rc = -EAGAIN;
		goto fail;
	}
	/* Without write access to the doorbell we wait by polling. */
	name_with(name, IPK__RING_BELL, bell);
	s->bell_fd = ipk__shm_open(bell, O_RDWR, false, 0, &st);
	if (s->bell_fd == -EPROTO) {
		rc = -EPROTO;
		goto fail;
	}
	if (opts && (opts->flags & IPK_RING_CONSUMER)) {
		rc = open_cons_page(s, name);
		if (rc < 0)
			goto fail;
	}
	rc = attach(s);
	if (rc < 0)
		goto fail;
	*ret = s;
	return 0;

fail:
	ipk_ring_sub_close(s);
	return rc;
}

int ipk_ring_open_fd(int ring_fd, int bell_fd, const struct ipk_ring_sub_opts *opts,
		     ipk_ring_sub **ret)
{
	ipk_ring_sub *s;
	int rc;

	IPK_CHECK_ARG(ret);
	IPK_CHECK_ARG(!opts ||
		      ((opts->flags & ~IPK_RING_SPIN) == 0 && opts->from <= IPK_RING_FROM_SEQ));
	if (ring_fd < 0)
		return -EBADF;
	rc = new_sub(opts, &s);
	if (rc < 0)
		return rc;
	s->fd = fcntl(ring_fd, F_DUPFD_CLOEXEC, 0);
	if (s->fd < 0) {
		rc = ipk__neg_errno();
		goto fail;
	}
	/* The doorbell's lock needs an open file description of our own,
	 * not the one we were handed (the publisher's, or shared with other
	 * subscribers); without /proc we wait by polling. */
	if (bell_fd >= 0 && fcntl(bell_fd, F_GETFD) < 0) {
		rc = ipk__neg_errno();
		goto fail;
	}
	if (bell_fd >= 0)
		s->bell_fd = reopen_own(bell_fd);
	rc = attach(s);
	if (rc < 0)
		goto fail;
	*ret = s;
	return 0;

fail:
	ipk_ring_sub_close(s);
	return rc;
}

/* After a receive found nothing: clear the eventfd, then let the helper
 * watch from here (clear first, or a wake-up in between would be lost). */
static void rearm_helper(ipk_ring_sub *s)
{
	uint64_t v;

	if (!s->helper)
		return;
	while (read(s->efd, &v, sizeof(v)) < 0 && errno == EINTR)
		;
	/* Relaxed: the helper reads it after its acquire load of armed. */
	atomic_store_explicit(&s->seen_pos, s->pos, memory_order_relaxed);
	/* Release: pairs with the helper's acquire load of armed. */
	atomic_store_explicit(&s->armed, 1, memory_order_release);
	futex_wake(&s->armed, true);
}

/* The next message, waiting up to @timeout_ns; the deadline is computed
 * only when there is something to wait for (no clock read per message).
 * @spun: the caller has spun a round already (a spinning subscriber's
 * first wait is a round of spinning). */
static int next_message(ipk_ring_sub *s, struct at *a, int64_t timeout_ns, bool spun)
{
	int64_t deadline_ns = 0;
	bool have_deadline = false;

	for (;;) {
		int rc = locate(s, a);

		if (rc != -EAGAIN)
			return rc;
		/* A spinning subscriber first looks a little longer, with no
		 * clock read: the next message is usually a moment away. */
		if (!spun && timeout_ns != 0 && (s->flags & IPK_RING_SPIN)) {
			spun = true;
			if (spin_round(s))
				continue;
		}
		if (!have_deadline) {
			deadline_ns = ipk__deadline(timeout_ns);
			have_deadline = true;
		}
		rc = wait_data(s, deadline_ns);
		if (rc == -EAGAIN || rc == -ETIMEDOUT || rc == -EOWNERDEAD)
			rearm_helper(s);
		if (rc < 0)
			return rc;
	}
}

/*
 * The next record, committed where we stand and carrying the seq we
 * expect: take it without the general search of next_message(), whether
 * head has shown it to us or not (a record before head carries its seq
 * too, or newer bytes that intact() catches).
 * Return: its length; -EAGAIN if it is not there (or is a PAD, or does
 * not fit @len, or was overwritten): the general search decides.
 */
static inline ssize_t take_here(ipk_ring_sub *s, void *buf, size_t len)
{
	struct at a;

	if (!committed_here(s, &a) || a.len > len)
		return -EAGAIN;
	copy_out(buf, &s->data[a.word], a.len);
	if (!intact(s, s->pos))
		return -EAGAIN;
	step(s, &a);
	if (s->cons)
		consumer_done(s);
	return (ssize_t)a.len;
}

/* ipk_ring_recv() when take_here() declined: out of line, so that the
 * common path sets up no frame for it. */
static __attribute__((noinline)) ssize_t recv_search(ipk_ring_sub *s, void *buf, size_t len,
						     int64_t timeout_ns)
{
	ssize_t got;
	bool spin;

	/* Spinning where the next record will be, then taking it directly,
	 * is a round trip's receiving half at its shortest. */
	spin = (s->flags & IPK_RING_SPIN) && timeout_ns != 0 && s->pos == s->head_cache;
	if (spin && spin_round(s)) {
		got = take_here(s, buf, len);
		if (got != -EAGAIN)
			return got;
	}
	for (;;) {
		struct at a;
		int rc = next_message(s, &a, timeout_ns, spin);

		if (rc < 0)
			return rc;
		/* A large record that tail has already passed is not worth
		 * copying: a lapped subscriber would only fight the publisher
		 * for lines it is rewriting (tail runs ahead of the writes). */
		if (a.len >= PRECHECK_LEN && !intact(s, s->pos)) {
			rc = jump_to_tail(s);
			if (rc < 0)
				return rc;
			continue;
		}
		if (a.len <= len)
			copy_out(buf, &s->data[a.word], a.len);
		if (!intact(s, s->pos)) {
			rc = jump_to_tail(s);
			if (rc < 0)
				return rc;
			continue;
		}
		if (a.len > len) {
			s->msg_len = a.len;
			return -EMSGSIZE;
		}
		rc = consume(s, &a);
		return rc < 0 ? rc : (ssize_t)a.len;
	}
}

ssize_t ipk_ring_recv(ipk_ring_sub *s, void *buf, size_t len, int64_t timeout_ns)
{
	ssize_t got;

	IPK_CHECK_ARG(s && (buf || len == 0));
	got = take_here(s, buf, len);
	return got != -EAGAIN ? got : recv_search(s, buf, len, timeout_ns);
}

/*
 * Up to RUN_MAX messages (fewer once they hold RUN_BYTES: a long run
 * would be thrown away whole if the publisher overwrote its start while we
 * copied the rest) that follow in order from where we stand (the
 * seq words we expect, each loaded with acquire), copied into @m[0..@n)
 * while they fit; PADs are stepped over. One check for all (the publisher
 * overwrites in order: if nothing at the first position was overwritten,
 * nothing after it was) and one of epoch (a successor's seq word brings its
 * epoch).
 * Return: how many were taken (their m[].len set); 0 with nothing
 * consumed and m[].len untouched if there were none or they were not
 * intact.
 */
static unsigned take_run(ipk_ring_sub *s, struct ipk_msg *m, unsigned n)
{
	uint64_t pos = s->pos, seq = s->next_seq, end = s->head_cache;
	uint32_t idx = s->idx;
	size_t got[RUN_MAX], bytes = 0;
	unsigned k = 0;
	struct at a;

	if (!s->seq_known)
		return 0;
	if (n > RUN_MAX)
		n = RUN_MAX;
	while (k < n && bytes < RUN_BYTES) {
		uint64_t off = pos & s->mask, w0, need;

		/* Acquire: pairs with the release store of the seq word (C). */
		if (atomic_load_explicit(&s->data[off / 8 + 1], memory_order_acquire) != seq - idx)
			break;
		w0 = atomic_load_explicit(&s->data[off / 8], memory_order_relaxed);
		need = rec_need(s, off, w0);
		if (need == UINT64_MAX)
			break; /* the general search decides */
		if (!msg_at(off, w0, need, idx, &a)) {
			if (a.len != UINT64_MAX || idx != 0)
				break; /* not what we stand at: as above */
			pos += need;   /* a PAD */
			continue;
		}
		end = pos + need;
		for (; idx < a.count && k < n && a.len <= m[k].len; idx++, seq++) {
			copy_out(m[k].buf,
				 &s->data[(off + REC_HDR) / 8 + idx * (pack_slot(a.len) / 8)],
				 a.len);
			got[k++] = a.len;
			bytes += a.len;
		}
		if (idx < a.count)
			break; /* @m is full, or the next buffer too small */
		pos += need;
		idx = 0;
	}
	/* Relaxed: see committed_here(). */
	if (k == 0 || atomic_load_explicit(&s->hdr->epoch, memory_order_relaxed) != s->epoch ||
	    !intact(s, s->pos))
		return 0;
	for (unsigned i = 0; i < k; i++)
		m[i].len = got[i];
	s->pos = pos;
	s->idx = idx;
	s->next_seq = seq;
	if ((int64_t)(end - s->head_cache) > 0)
		s->head_cache = end;
	if (s->cons)
		consumer_done(s);
	return k;
}

int ipk_ring_recv_batch(ipk_ring_sub *s, struct ipk_msg *msgs, unsigned n, int64_t timeout_ns)
{
	unsigned k = 1, more;
	ssize_t got;

	IPK_CHECK_ARG(s && msgs && n > 0 && n <= INT_MAX);
	got = ipk_ring_recv(s, msgs[0].buf, msgs[0].len, timeout_ns);
	if (got < 0)
		return (int)got;
	msgs[0].len = (size_t)got;
	while (k < n && (more = take_run(s, msgs + k, n - k)) > 0)
		k += more;
	return (int)k;
}

uint64_t ipk_ring_lost(const ipk_ring_sub *s)
{
	return s ? s->lost : 0;
}

int ipk_ring_counts(const ipk_ring_sub *s, struct ipk_ring_counts *ret)
{
	struct ipk_ring_counts c = { 0 };

	IPK_CHECK_ARG(s && ret);
	c.lost = s->lost;
	if (s->start_known) {
		c.start = c.skipped = s->start_seq;
		c.delivered = s->next_seq - s->start_seq - s->lost;
	}
	*ret = c;
	return 0;
}

size_t ipk_ring_msg_len(const ipk_ring_sub *s)
{
	return s ? s->msg_len : 0;
}

size_t ipk_ring_sub_max_msg(const ipk_ring_sub *s)
{
	return s ? (size_t)s->max_msg : 0;
}

int ipk_ring_view(ipk_ring_sub *s, struct ipk_ring_view *v, int64_t timeout_ns)
{
	struct at a;
	int rc;

	IPK_CHECK_ARG(s && v);
	for (;;) {
		rc = next_message(s, &a, timeout_ns, false);
		if (rc < 0)
			return rc;
		/* Do not hand out what is already overwritten. */
		if (intact(s, s->pos))
			break;
		rc = jump_to_tail(s);
		if (rc < 0)
			return rc;
	}
	v->data = (const void *)&s->data[a.word];
	v->len = a.len;
	v->seq = a.seq;
	v->pos_ = s->pos;
	v->idx_ = s->idx;
	s->viewed = a;
	return 0;
}

int ipk_ring_validate(ipk_ring_sub *s, const struct ipk_ring_view *v)
{
	int rc;

	IPK_CHECK_ARG(s && v && v->pos_ == s->pos && v->idx_ == s->idx && v->seq == s->viewed.seq);
	if (!intact(s, s->pos)) {
		/* v->seq may be torn too: leave next_seq alone; the next
		 * intact record's seq counts this message among the lost. */
		rc = jump_to_tail(s);
		return rc < 0 ? rc : -ESTALE;
	}
	return consume(s, &s->viewed);
}

/* ---- pollable descriptor ------------------------------------------------ */

/*
 * The helper thread turns "head moved past seen_pos, or the publisher is
 * gone or replaced" into a readable eventfd. It then disarms itself until a
 * receive finds nothing (rearm_helper()). It keeps its own pidfd and epoch
 * so it shares nothing with the receiving thread but the atomics.
 */
static void *helper_main(void *arg)
{
	ipk_ring_sub *s = arg;
	uint64_t epoch = atomic_load_explicit(&s->seen_epoch, memory_order_relaxed);
	pid_t pid = atomic_load_explicit(&s->hdr->pid, memory_order_relaxed);
	uint64_t start = atomic_load_explicit(&s->hdr->start, memory_order_relaxed);
	int pidfd = s->no_pidfd ? -1 : ipk__pidfd_open(pid);
	bool stranger = !ipk__pid_alive(pid, start, -1); /* as in reopen_pidfd() */
	const uint64_t one = 1;

	/* Relaxed: close() sets it and then wakes us; a late look is fine. */
	while (!atomic_load_explicit(&s->stop, memory_order_relaxed)) {
		int64_t wake = ipk__now_ns() + WAIT_SLICE_NS;
		bool fire;

		/* Acquire: pairs with the release store in rearm_helper(). */
		if (!atomic_load_explicit(&s->armed, memory_order_acquire)) {
			(void)futex_wait(&s->armed, 0, wake, true);
			continue;
		}
		uint64_t seen = atomic_load_explicit(&s->seen_pos, memory_order_relaxed);
		/* Acquire: pairs with the release increment in take_over(). */
		uint64_t e = atomic_load_explicit(&s->hdr->epoch, memory_order_acquire);
		bool dead;

		if (e != epoch) {
			epoch = e;
			if (pidfd >= 0)
				ipk__close(pidfd);
			pid = atomic_load_explicit(&s->hdr->pid, memory_order_relaxed);
			start = atomic_load_explicit(&s->hdr->start, memory_order_relaxed);
			pidfd = s->no_pidfd ? -1 : ipk__pidfd_open(pid);
			stranger = !ipk__pid_alive(pid, start, -1);
		}
		dead = stranger || !ipk__pid_alive(pid, start, pidfd);
		/* Acquire (both): pair with the release stores of head in
		 * seal() and of state in ipk_ring_close(). */
		fire = head_past(s, seen) ||
		       e != atomic_load_explicit(&s->seen_epoch, memory_order_relaxed) ||
		       atomic_load_explicit(&s->hdr->state, memory_order_acquire) != STATE_LIVE ||
		       (dead && !atomic_load_explicit(&s->told_hint, memory_order_relaxed));
		if (fire) {
			atomic_store_explicit(&s->armed, 0, memory_order_relaxed);
			while (write(s->efd, &one, sizeof(one)) < 0 && errno == EINTR)
				;
			continue;
		}
		(void)doze(s, s->helper_bell_fd, seen, wake);
	}
	if (pidfd >= 0)
		ipk__close(pidfd);
	return NULL;
}

int ipk_ring_fd(ipk_ring_sub *s)
{
	int rc;

	IPK_CHECK_ARG(s);
	if (s->helper)
		return s->efd;
	s->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (s->efd < 0)
		return ipk__neg_errno();
	/* The helper sleeps too, so it needs a doorbell lock of its own
	 * (without one, it polls). */
	if (s->bell && s->helper_bell_fd < 0)
		s->helper_bell_fd = reopen_own(s->bell_fd);
	atomic_store_explicit(&s->seen_pos, s->pos, memory_order_relaxed);
	/* Relaxed: pthread_create() orders everything before it. */
	atomic_store_explicit(&s->armed, 1, memory_order_relaxed);
	rc = pthread_create(&s->thread, NULL, helper_main, s);
	if (rc != 0) {
		ipk__close(s->efd);
		s->efd = -1;
		return -rc;
	}
	s->helper = true;
	return s->efd;
}

void ipk_ring_sub_close(ipk_ring_sub *s)
{
	if (!s)
		return;
	if (s->helper) {
		atomic_store_explicit(&s->stop, true, memory_order_relaxed);
		atomic_store_explicit(&s->armed, 1, memory_order_relaxed);
		futex_wake(&s->armed, true);
		if (s->bell) {
			/* Spurious wake-ups for other sleepers are harmless. */
			atomic_fetch_add_explicit(&s->bell->futex, 1, memory_order_relaxed);
			futex_wake(&s->bell->futex, false);
		}
		(void)pthread_join(s->thread, NULL);
	}
	if (s->efd >= 0)
		ipk__close(s->efd);
	if (s->cons)
		(void)munmap(s->cons, CONS_SIZE);
	if (s->cons_fd >= 0)
		ipk__close(s->cons_fd); /* releases the consumer lock */
	if (s->bell)
		(void)munmap(s->bell, BELL_SIZE);
	if (s->hdr)
		(void)munmap((void *)s->hdr, s->map_size);
	if (s->pidfd >= 0)
		ipk__close(s->pidfd);
	if (s->bell_fd >= 0)
		ipk__close(s->bell_fd);
	if (s->helper_bell_fd >= 0)
		ipk__close(s->helper_bell_fd);
	if (s->fd >= 0)
		ipk__close(s->fd);
	free(s);
}

/* ---- inspection (ipckit ls/stat/gc) ------------------------------------ */

int ipk_ring_info(const char *name, struct ipk_ring_info *ret)
{
	char cons_name[NAME_MAX + 1];
	struct ipk_ring_info info;
	const struct ring_hdr *h;
	uint64_t cap, max_msg, start;
	struct stat st, cst;
	void *map;
	int fd, cfd, rc;

	IPK_CHECK_ARG(ret && check_name(name) == 0);
	fd = ipk__shm_open(name, O_RDONLY, false, 0, &st);
	if (fd < 0)
		return fd;
	if (st.st_size < (off_t)HDR_SIZE || (uint64_t)st.st_size > HDR_SIZE + MAX_CAPACITY) {
		rc = st.st_size < (off_t)HDR_SIZE ? -EPROTO : -EBADMSG;
		goto out_fd;
	}
	map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, fd, 0);
	if (map == MAP_FAILED) {
		rc = ipk__neg_errno();
		goto out_fd;
	}
	h = map;
	rc = check_live_header(h, (size_t)st.st_size, &cap, &max_msg);
	if (rc < 0)
		goto out_map;
	memset(&info, 0, sizeof(info));
	info.capacity = cap;
	info.max_msg = max_msg;
	/* Acquire: pairs with the release increment at a takeover, after
	 * which pid, start and state belong to this epoch. */
	info.epoch = atomic_load_explicit(&h->epoch, memory_order_acquire);
	info.pid = atomic_load_explicit(&h->pid, memory_order_relaxed);
	start = atomic_load_explicit(&h->start, memory_order_relaxed);
	info.closed = atomic_load_explicit(&h->state, memory_order_relaxed) == STATE_CLOSED;
	info.published = atomic_load_explicit(&h->pub_seq, memory_order_relaxed);
	info.head = atomic_load_explicit(&h->head, memory_order_relaxed);
	info.tail = atomic_load_explicit(&h->tail, memory_order_relaxed);
	info.alive = ipk__pid_alive(info.pid, start, -1);
	name_with(name, IPK__RING_CONS, cons_name);
	cfd = ipk__shm_open(cons_name, O_RDONLY, false, 0, &cst);
	if (cfd >= 0) {
		const struct ring_cons *c;

		info.queue = 1;
		if (cst.st_size >= (off_t)CONS_SIZE) {
			c = mmap(NULL, CONS_SIZE, PROT_READ, MAP_SHARED, cfd, 0);
			if (c != MAP_FAILED) {
				uint64_t pos = atomic_load_explicit(&c->pos, memory_order_relaxed);

				if (atomic_load_explicit(&c->magic, memory_order_acquire) ==
					    CONS_MAGIC &&
				    pos <= info.head) {
					info.consumer_lag = info.head - pos;
					info.has_consumer_lag = 1;
				}
				(void)munmap((void *)c, CONS_SIZE);
			}
		}
		ipk__close(cfd);
	}
	*ret = info;
	rc = 0;
out_map:
	(void)munmap(map, (size_t)st.st_size);
out_fd:
	ipk__close(fd);
	return rc;
}
