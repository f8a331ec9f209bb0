/* SPDX-License-Identifier: MIT */
/*
 * ring_internal.h - what the ring's sources share beyond the shared-memory
 * layout (ring_layout.h): the publisher's and the subscriber's objects,
 * the tuning constants, the payload copies, the spin-wait helpers, and the
 * calls from one of ring_pub.c, ring_sub.c, ring_wait.c and ring_names.c
 * into another.
 *
 * The publish and receive fast paths stay within one file each, with
 * what they call static or static inline here: the build has no link-time
 * optimisation, so a call into another file would not be inlined. Every
 * ipk__ring_* function below is on a slow path (creation, opening, a
 * subscriber with nothing to read, a publisher with a sleeper to wake).
 */
#ifndef IPK_RING_INTERNAL_H
#define IPK_RING_INTERNAL_H

#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <ipckit/ring.h>

#include "internal.h"
#include "ring_layout.h"
#include "shmname.h"

#define DEFAULT_CAPACITY ((uint64_t)1 << 20)
#define WAIT_SLICE_NS (50 * IPK_MSEC) /* longest futex sleep between liveness checks */
#define LIVENESS_NS (10 * IPK_MSEC)   /* pidfd checks while polling with timeout 0 */
#define NOBELL_STEP_NS IPK_MSEC       /* how often a subscriber without doorbell looks */
#define TAIL_STEP(cap) ((cap) / 16)   /* how far tail moves beyond need */
#define QUEUE_STEP(cap) ((cap) / 16)  /* how far a consumer reads between shows */
#define ROOM_SPIN_NS (50 * IPK_USEC)  /* a full queue's producer spins this long, then sleeps */
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
#define QUIET_PUBLISHES 4096          /* fenced publishes without a sleeper before going light */
#define NOFENCE_SLICE_NS IPK_MSEC     /* first sleep of a sleeper whose membarrier() failed */
#define SLIP_POLLS 16                 /* a streaming subscriber's looks at head, at most */
#define SLIP_PAUSES 8                 /* ... with this many pauses between two */
#define SLIP_BYTES 65536u             /* ... until head is this far ahead (or cap / 8) */
#define SLIP_RUN 512u                 /* ... while it moves this much between two looks */
#define SLIP_SKIP 64                  /* catch-ups without a slip after one that gained nothing */

struct ipk_ring {
	int fd; /* feed, read-write, flock(LOCK_EX) held */
	int bell_fd;
	int cons_fd;                 /* queue mode */
	struct ipk__ring_cons *cons; /* queue mode: the consumer's position */
	uint64_t cons_seen;          /* queue mode: cons->shown as last loaded (0 at first) */
	struct ipk__ring_hdr *hdr;   /* the whole mapping, hdr->map_size bytes */
	size_t map_size;
	struct ipk__ring_bell *bell;
	_Atomic uint64_t *data; /* capacity / 8 words */
	uint64_t cap, mask, max_msg;
	uint64_t head, tail, seq; /* the publisher's own copies of the shared words */
	uint64_t head_shown;      /* head as last stored (seal()); below head in a batch */
	uint64_t resv_pos;        /* where the reserved record starts */
	uint64_t resv_len;
	bool reserved;
	bool named;
	uint32_t flags;
	uint64_t published, wakes;
	bool light_ok;  /* registered for membarrier(): may publish light */
	bool fenced;    /* the sleepers word had IPK__RING_FENCED at the last publish */
	uint32_t quiet; /* fenced publishes in a row that found no sleeper */
	/* checkpoints[k % CHECKPOINTS]: the first record at or after k * TAIL_STEP,
	 * for the last CHECKPOINTS step boundaries below checkpoint_next * TAIL_STEP */
	uint64_t checkpoints[CHECKPOINTS];
	uint64_t checkpoint_next;
	uint64_t checkpoint_pos; /* checkpoint_next * TAIL_STEP */
	char name[NAME_MAX + 1];
	char bell_name[NAME_MAX + 1];
	char cons_name[NAME_MAX + 1];
	/* what our names led to when we made or took them (ino 0: none) */
	struct ipk__shm_id feed_id, bell_id, cons_id;
};

/* The message a subscriber stands at: number s->idx of the record at s->pos. */
struct ring_msg {
	uint64_t len;   /* its length; UINT64_MAX: the record is a PAD */
	uint64_t seq;   /* its seq */
	uint64_t word;  /* its payload: s->data[word] on */
	uint64_t need;  /* the record's size */
	uint32_t count; /* the record's messages */
};

/* IPK_RING_ADAPTIVE: what a subscriber learned about its feed (ring_wait.c). */
struct ring_adapt {
	int64_t last;         /* when the last message it waited for came (0: none yet) */
	int64_t gap;          /* smoothed time between such messages (0: unknown) */
	int64_t dev;          /* smoothed deviation of one gap from it */
	int64_t wake;         /* smoothed lateness of a timed sleep's wake-up */
	int64_t wake_dev;     /* smoothed deviation of one lateness from it */
	uint64_t last_seq;    /* the seq of that message */
	uint32_t outliers;    /* gaps in a row far longer than gap (a pause, or a new rate) */
	uint32_t probe;       /* messages since the last probe (probe_every at most) */
	uint32_t probe_every; /* messages between probes, at least (doubles on misses) */
	uint8_t how;          /* how this wait is going: ADAPT_* in ring_wait.c */
	bool exact;           /* last was seen while spinning, not estimated after a sleep */
};

struct ipk_ring_sub {
	int fd, pidfd, cons_fd;
	int bell_fd;        /* the receiving thread's own open file description */
	int helper_bell_fd; /* the helper thread's (flock: see sleep_on_bell()) */
	pid_t pid;          /* this epoch's publisher */
	uint64_t pub_start; /* and its start time (0: unknown) */
	bool pid_reused;    /* pid already reused when we looked: the publisher is dead */
	bool no_pidfd;      /* tests: IPK_RING_TEST_NO_PIDFD forces the fallback */
	/* what every receive uses, together (calloc() aligns to 16 only) */
	const struct ipk__ring_hdr *hdr;
	const _Atomic uint64_t *data;
	uint64_t cap, mask, max_msg;
	uint64_t pos;        /* the record of the next message */
	uint64_t head_cache; /* last head seen: no need to load head below it */
	uint64_t next_seq;   /* seq the next message should carry (the record's + idx) */
	uint64_t epoch;
	uint32_t idx;                /* the next message's index in the record (a PACK's), else 0 */
	bool seq_known;              /* next_seq is known (a consumer learns it) */
	bool start_known;            /* start_seq is known (else the first message says) */
	uint64_t start_seq;          /* the first message it was to receive: ipk_ring_counts() */
	struct ipk__ring_cons *cons; /* queue mode consumer; else NULL */
	uint64_t shown;              /* queue mode: cons->shown as we last stored it */
	uint64_t slack;              /* 2 * ipk__ring_rec_size(max_msg): see intact() */
	uint32_t slip_skip;          /* streams caught up with that do not slip (slip()) */
	uint64_t lost;
	size_t map_size;
	struct ipk__ring_bell *bell; /* NULL: no doorbell, poll by sleeping */
	int64_t next_check_ns;       /* next liveness check while polling */
	bool pub_dead;               /* this epoch's publisher is dead (sticky) */
	bool dead_told;              /* and -EOWNERDEAD has said so */
	_Atomic bool dead_told_hint; /* dead_told, for the helper thread (relaxed) */
	size_t msg_len;              /* the record -EMSGSIZE refused */
	struct ring_msg viewed;      /* the message of the last ipk_ring_view() */
	int64_t spin_ns;
	uint32_t flags;
	struct ring_adapt ad; /* IPK_RING_ADAPTIVE */
	uint32_t from;        /* where to start (enum ipk_ring_from) */
	uint64_t from_seq;    /* IPK_RING_FROM_SEQ */
	/* pollable fd: an eventfd fed by a helper thread */
	int efd;
	bool helper;
	pthread_t thread;
	_Atomic uint64_t seen_pos; /* helper: wake when head moves past this */
	_Atomic uint64_t seen_epoch;
	_Atomic uint32_t armed; /* process-private futex: 1 while the helper watches */
	_Atomic bool stop;
};

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
static inline void copy_in(_Atomic uint64_t *dst, const void *src, size_t len)
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

static inline void copy_out(void *dst, const _Atomic uint64_t *src, size_t len)
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

static inline void copy_in(_Atomic uint64_t *dst, const void *src, size_t len)
{
	copy_bytes((void *)dst, src, len);
}

static inline void copy_out(void *dst, const _Atomic uint64_t *src, size_t len)
{
	copy_bytes(dst, (const void *)src, len);
}
#endif

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ __volatile__("yield");
#endif
}

/* Spin a while on the seq word at s->pos; true once it no longer holds
 * the mark (IPK__RING_SEQ_NONE). Relaxed: locate() loads it again with acquire. */
static inline bool spin_round(const ipk_ring_sub *s)
{
	const _Atomic uint64_t *word = &s->data[(s->pos & s->mask) / 8 + 1];

	for (int i = 0; i < SPIN_ROUND; i++) {
		if (atomic_load_explicit(word, memory_order_relaxed) != IPK__RING_SEQ_NONE)
			return true;
		cpu_relax();
	}
	return false;
}

/* Has head moved past @pos? (It may lag behind: see locate().) */
static inline bool head_past(const ipk_ring_sub *s, uint64_t pos)
{
	/* Acquire: A; pairs with the release store of head in seal(). */
	return (int64_t)(atomic_load_explicit(&s->hdr->head, memory_order_acquire) - pos) > 0;
}

/* ---- ring_pub.c ---------------------------------------------------------- */

/*
 * ipk__ring_adopt() - an existing named feed of ours whose lock we now hold
 * (@st: what we opened). Return: 1 taken over (this geometry); 0 a ring of
 * ours that we may replace (another geometry or format, or one its creator
 * never finished: magic still 0); -EPROTO anything else (not replaced, not
 * used).
 */
int ipk__ring_adopt(ipk_ring *r, const struct stat *st);

/* ---- ring_sub.c ---------------------------------------------------------- */

/*
 * ipk__ring_check_header() - validate a feed mapping of @size bytes before
 * any of its values is used; the values are copied out once (the mapping
 * may change under us).
 * Return: 0; -EPROTO (magic, version); -EBADMSG (sizes, positions).
 */
int ipk__ring_check_header(const struct ipk__ring_hdr *h, size_t size, uint64_t *cap,
			   uint64_t *max_msg);
/* ipk__ring_check_header() of a ring a live publisher may be writing: it
 * can lap tail between our loads of tail and head (a reader slowed down by
 * load), so look again before calling the ring inconsistent. */
int ipk__ring_check_live_header(const struct ipk__ring_hdr *h, size_t size, uint64_t *cap,
				uint64_t *max_msg);
/* Is the record at s->pos committed and the one we expect (committed_here())? */
bool ipk__ring_committed(const ipk_ring_sub *s);

/* ---- ring_wait.c --------------------------------------------------------- */

/* FUTEX_WAIT_BITSET until the absolute CLOCK_MONOTONIC @deadline_ns.
 * Return: 0 (woken, or the word had moved: look again); -ETIMEDOUT. */
int ipk__ring_futex_wait(_Atomic uint32_t *word, uint32_t val, int64_t deadline_ns, bool private);
/* FUTEX_WAKE every waiter. Return: how many were woken (0 on error). */
long ipk__ring_futex_wake(_Atomic uint32_t *word, bool private);
/* The publisher's half of the doorbell: wake the sleepers (a count raised
 * by the dead is cleared). */
void ipk__ring_wake_sleepers(ipk_ring *r);
/* Register this process for MEMBARRIER_CMD_GLOBAL_EXPEDITED (once; again
 * in a forked child): true if it may publish light (ring_layout.h). */
bool ipk__ring_light_ok(void);
/* The publisher's mode on a doorbell it starts on (creation or takeover):
 * fenced, going light at the first publish if this process may. */
void ipk__ring_start_mode(ipk_ring *r);
/* A fenced publisher that found no sleeper QUIET_PUBLISHES times in a row
 * tries to go light. */
void ipk__ring_try_light(ipk_ring *r);
/* A new open file description of @fd's file, with @fd's access mode: a
 * descriptor, or -1. */
int ipk__ring_reopen_own(int fd);
/* Learn this epoch's publisher (pid, start time, pidfd) from the header. */
void ipk__ring_watch_publisher(ipk_ring_sub *s);
/*
 * ipk__ring_wait_data() - nothing at s->pos: report a dead or replaced
 * publisher, or wait until head moves or @deadline_ns. Return: 0 (look
 * again); -EAGAIN; -ETIMEDOUT; -EPIPE; -ECONNRESET; -EOWNERDEAD (once per
 * dead publisher).
 */
int ipk__ring_wait_data(ipk_ring_sub *s, int64_t deadline_ns);
/* IPK_RING_ADAPTIVE: message @seq, at s->pos, was found after a wait. */
void ipk__ring_adapt_found(ipk_ring_sub *s, uint64_t seq);
/* IPK_RING_ADAPTIVE: what a subscriber knows before it has waited. */
void ipk__ring_adapt_init(ipk_ring_sub *s);
/* After a receive found nothing: re-arm the pollable fd's helper thread. */
void ipk__ring_rearm_helper(ipk_ring_sub *s);
/* Map s->bell_fd's doorbell. Return: 0; -EBADMSG (too small); -EPROTO. */
int ipk__ring_map_bell(ipk_ring_sub *s);
/* Take the lowest free subscriber slot of the doorbell (counted by
 * ipk_ring_subscribers()); not counted where OFD locks are missing. */
void ipk__ring_take_slot(ipk_ring_sub *s);
/* Stop and join the helper thread, if there is one. */
void ipk__ring_stop_helper(ipk_ring_sub *s);

/* ---- ring_names.c -------------------------------------------------------- */

/* "/name" with no other slash, short enough for a companion's suffix.
 * Return: 0; -EINVAL. */
int ipk__ring_check_name(const char *name);
/* "/name" + @suffix (IPK__RING_BELL, IPK__RING_CONS) into @buf (NAME_MAX
 * + 1 bytes); ipk__ring_check_name() left room for it. */
void ipk__ring_name_with(const char *name, const char *suffix, char *buf);
/*
 * ipk__ring_open_feed() - the publisher's feed: at r->name, taken over from
 * a dead publisher (*@fresh false) or made new (*@fresh true), locked; a
 * memfd for an anonymous ring (*@fresh true). Return: 0; -EBUSY (a live
 * publisher); -EPERM (not ours); -EPROTO; -errno.
 */
int ipk__ring_open_feed(ipk_ring *r, mode_t mode, bool *fresh);
/* The publisher's doorbell (r->bell_fd, r->bell), named or a memfd. */
int ipk__ring_open_bell(ipk_ring *r, mode_t mode, bool fresh);
/* Queue mode: the consumer's page (r->cons_fd, r->cons). */
int ipk__ring_open_cons(ipk_ring *r, mode_t mode, bool fresh);
/* Remove the ring's names that still lead to its objects. */
void ipk__ring_remove_names(const ipk_ring *r);
/* Map @size bytes of @fd read-write, once the object is known to hold them. */
int ipk__ring_map_rw(int fd, size_t size, void **ret);
/*
 * ipk__ring_open_named() - a subscriber's descriptors for the ring @name:
 * s->fd (the feed, read-only), s->bell_fd (the doorbell, or -1 without
 * write access to it) and, for a @consumer, the consumer's page (locked,
 * mapped). Return: 0; -ENOENT; -EAGAIN (not yet set up); -EPROTO;
 * -EOPNOTSUPP (a consumer of a ring that is no queue); -EBUSY (a consumer
 * exists); -errno.
 */
int ipk__ring_open_named(ipk_ring_sub *s, const char *name, bool consumer);

#endif /* IPK_RING_INTERNAL_H */
