/* SPDX-License-Identifier: MIT */
/*
 * svc_internal.h - what the server (svc.c) and the client (svc_client.c)
 * of ipk_svc share: the handshake on the Unix socket, the shared-memory
 * layout of a connection and of the server's page, and the two SPSC
 * record queues of a connection with their inline fast paths.
 *
 * A connection is one memfd made by the server and sealed against
 * resizing (a client cannot truncate it under the server: no SIGBUS), of
 * this layout:
 *
 *   struct svc_conn_hdr  (one page)   sizes, the consumers' positions, the
 *                                     client's "I sleep" word
 *   request queue        (cap bytes)  written by the client, read by the server
 *   reply queue          (cap bytes)  written by the server, read by the client
 *
 * Each queue holds records, each starting on a cache line:
 *
 *   word 0   commit word: seq << 1 | pad, stored last with release
 *   word 1   len (low 32 bits) | tag (high 32 bits): the call's slot
 *   then     the payload, len bytes
 *
 * A reader at position p expects the next seq there (seq counts records
 * from 1, pads included). Stale bytes can never pass for it: before
 * committing a record, the writer stores the mark 0 into the commit word
 * of the position after it, so when the reader arrives at p - only after
 * reading the record before, whose commit ordered that mark - the word
 * holds the mark or the new record (the writer reuses p only once the
 * reader's tail has passed it). A pad fills the rest of the buffer when a
 * record does not fit before its end; the reader then goes on at offset 0.
 *
 * Room: a client has at most `slots` calls in flight, so neither queue ever
 * holds more than `slots` records, and the capacity leaves room for them,
 * a pad and a mark. An honest peer never finds a queue full; a writer that
 * does (its peer does not move its tail) treats the peer as broken.
 *
 * Waking: a sleeping server sets `sleeping` in its page (mapped read-only
 * by clients); a client that committed a request and then sees it set
 * writes the connection's server-side eventfd. A sleeping client sets
 * `cli_waiting` in the connection's header; the server, after committing
 * a reply, writes the client's eventfd. Both are Dekker pairs: store the
 * flag, seq_cst fence, look at the queue / commit, seq_cst fence, load the
 * flag. Death is the socket's: EOF or POLLHUP on it, at once.
 */
#ifndef IPK_SVC_INTERNAL_H
#define IPK_SVC_INTERNAL_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include <ipckit/svc.h>

#include "internal.h"

#define SVC_LINE 64
#define SVC_PAGE 4096
#define SVC_VERSION 1u
#define SVC_CONN_MAGIC 0x69706b73766363ull /* "ipksvcc" */
#define SVC_PAGE_MAGIC 0x69706b73766370ull /* "ipksvcp" */
#define SVC_HDR_BYTES 16                   /* commit word + len/tag word */
#define SVC_SLOTS_MAX 1024u
#define SVC_MSG_MAX (16u << 20)
#define SVC_SPIN_ROUND 256       /* spins between clock reads */
#define SVC_LIVENESS_NS IPK_MSEC /* a spinner looks at the socket this often */

/* The handshake on the SOCK_SEQPACKET socket. */
#define SVC_HELLO_MAGIC "IPKSVCH1" /* server -> client, with 3 fds */
#define SVC_ACK_MAGIC "IPKSVCA1"   /* client -> server, with its eventfd */
#define SVC_BYE_MAGIC "IPKSVCB1"   /* server -> client: closing cleanly */
#define SVC_DENY_MAGIC "IPKSVCD1"  /* server -> client: access refused */

struct svc_wire {
	char magic[8];
	uint32_t version;
	uint32_t slots;
	uint32_t max_msg;
	uint32_t pad;
	uint64_t cap;  /* bytes of each queue */
	uint64_t size; /* bytes of the connection's memfd */
};

/* The server's page: one memfd shared by every client, read-only for them. */
struct svc_page {
	uint64_t magic;
	uint32_t version, pad;
	/* 1 while the server may sleep in epoll_wait: clients then ring. */
	_Alignas(SVC_LINE) _Atomic uint32_t sleeping;
};

struct svc_conn_hdr {
	uint64_t magic;
	uint32_t version, slots, max_msg, pad;
	uint64_t cap;
	uint64_t req_off, rep_off;
	/* the server's position in the request queue (it stores, client loads) */
	_Alignas(SVC_LINE) _Atomic uint64_t req_tail;
	/* the client's position in the reply queue (it stores, server loads) */
	_Alignas(SVC_LINE) _Atomic uint64_t rep_tail;
	/* 1 while the client may sleep (or waits for its fd): the server rings */
	_Alignas(SVC_LINE) _Atomic uint32_t cli_waiting;
};
_Static_assert(sizeof(struct svc_conn_hdr) <= SVC_PAGE, "header fits its page");
_Static_assert(ATOMIC_LLONG_LOCK_FREE == 2, "lock-free 64-bit atomics in shm");

static inline uint64_t svc_rec_size(uint64_t len)
{
	return (SVC_HDR_BYTES + len + SVC_LINE - 1) & ~(uint64_t)(SVC_LINE - 1);
}

/* Each queue's capacity for @slots records of @max_msg bytes, a pad and a mark. */
static inline uint64_t svc_cap(uint32_t slots, uint32_t max_msg)
{
	uint64_t need = ((uint64_t)slots + 2) * svc_rec_size(max_msg) + SVC_LINE, cap = SVC_PAGE;

	while (cap < need)
		cap <<= 1;
	return cap;
}

static inline uint64_t svc_conn_size(uint64_t cap)
{
	return SVC_PAGE + 2 * cap;
}

/* One side of one queue, in the memory of the process that uses it. */
struct svc_q {
	_Atomic uint64_t *data; /* cap / 8 words */
	_Atomic uint64_t *tail; /* the reader's position (in the header) */
	uint64_t cap;
	uint64_t pos;       /* writer: head; reader: where the next record is */
	uint64_t seq;       /* the next record's seq */
	uint64_t tail_seen; /* writer: the reader's tail as last loaded */
};

static inline void svc_q_init(struct svc_q *q, void *data, _Atomic uint64_t *tail, uint64_t cap)
{
	q->data = data;
	q->tail = tail;
	q->cap = cap;
	q->pos = 0;
	q->seq = 1;
	q->tail_seen = 0;
}

static inline _Atomic uint64_t *svc_q_word(const struct svc_q *q, uint64_t pos)
{
	return &q->data[(pos & (q->cap - 1)) / 8];
}

/*
 * Payload bytes: the writer writes them before its release store of the
 * commit word and not again until the reader's tail passed them, so plain
 * copies race with nothing. A hostile peer may scribble on them at any
 * time; it corrupts only its own messages, and every length and tag is
 * checked after it was loaded once.
 */
static inline void svc_copy_in(struct svc_q *q, uint64_t pos, const void *buf, size_t len)
{
	memcpy((unsigned char *)q->data + (pos & (q->cap - 1)) + SVC_HDR_BYTES, buf, len);
}

static inline void svc_copy_out(const struct svc_q *q, uint64_t pos, void *buf, size_t len)
{
	memcpy(buf, (const unsigned char *)q->data + (pos & (q->cap - 1)) + SVC_HDR_BYTES, len);
}

/*
 * svc_q_put() - write one record; Return: 0; -ENOBUFS if the reader has
 * not made room (an honest reader always has: see the top comment).
 */
static inline int svc_q_put(struct svc_q *q, uint32_t tag, const void *buf, size_t len)
{
	uint64_t need = svc_rec_size(len), off = q->pos & (q->cap - 1);
	uint64_t pad = off + need > q->cap ? q->cap - off : 0;

	if (q->pos + pad + need + SVC_LINE - q->tail_seen > q->cap) {
		/* Acquire: pairs with the reader's release store of its tail
		 * after its copy: the bytes it read are ours to reuse. */
		q->tail_seen = atomic_load_explicit(q->tail, memory_order_acquire);
		if (q->tail_seen > q->pos || q->pos + pad + need + SVC_LINE - q->tail_seen > q->cap)
			return -ENOBUFS;
	}
	if (pad) {
		/* The mark where the record will go, then the pad's commit.
		 * Relaxed mark: the pad's release store orders it. */
		atomic_store_explicit(svc_q_word(q, q->pos + pad), 0, memory_order_relaxed);
		atomic_store_explicit(svc_q_word(q, q->pos), q->seq << 1 | 1, memory_order_release);
		q->pos += pad;
		q->seq++;
	}
	svc_copy_in(q, q->pos, buf, len);
	atomic_store_explicit(svc_q_word(q, q->pos + 8), (uint64_t)tag << 32 | len,
			      memory_order_relaxed);
	/* The mark after the record (relaxed: the commit below orders it). */
	atomic_store_explicit(svc_q_word(q, q->pos + need), 0, memory_order_relaxed);
	/* Release: pairs with the reader's acquire load in svc_q_peek(); whoever
	 * sees this seq sees the payload, the len/tag word and the mark. */
	atomic_store_explicit(svc_q_word(q, q->pos), q->seq << 1, memory_order_release);
	q->pos += need;
	q->seq++;
	return 0;
}

/*
 * svc_q_peek() - the record at the reader's position, pads skipped.
 * Return: 1 and *@len, *@tag (unchecked: the caller checks them against
 * its limits); 0 nothing there; -EPROTO (a pad where none can be).
 */
static inline int svc_q_peek(struct svc_q *q, uint32_t *len, uint32_t *tag)
{
	for (;;) {
		/* Acquire: pairs with the release store of the commit word in
		 * svc_q_put(). */
		uint64_t w = atomic_load_explicit(svc_q_word(q, q->pos), memory_order_acquire);
		uint64_t lt;

		if (w >> 1 != q->seq)
			return 0;
		if (w & 1) {
			uint64_t off = q->pos & (q->cap - 1);

			if (off == 0)
				return -EPROTO; /* a pad of a whole lap */
			q->pos += q->cap - off;
			q->seq++;
			continue;
		}
		/* Relaxed: ordered by the acquire above. */
		lt = atomic_load_explicit(svc_q_word(q, q->pos + 8), memory_order_relaxed);
		*len = (uint32_t)lt;
		*tag = (uint32_t)(lt >> 32);
		/* a record runs past the buffer's end only if its writer lies */
		if ((q->pos & (q->cap - 1)) + svc_rec_size(*len) > q->cap)
			return -EPROTO;
		return 1;
	}
}

/* Consume the record svc_q_peek() returned (its @len, once checked). */
static inline void svc_q_take(struct svc_q *q, uint32_t len)
{
	q->pos += svc_rec_size(len);
	q->seq++;
	/* Release: pairs with the writer's acquire load of the tail in
	 * svc_q_put(); our copy of the bytes is done before it reuses them. */
	atomic_store_explicit(q->tail, q->pos, memory_order_release);
}

/* Is a record (or a pad) committed at the reader's position? For spinning. */
static inline bool svc_q_ready(const struct svc_q *q)
{
	/* Relaxed: svc_q_peek() loads it again with acquire. */
	return atomic_load_explicit(svc_q_word(q, q->pos), memory_order_relaxed) >> 1 == q->seq;
}

static inline void svc_cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ __volatile__("yield");
#endif
}

/* Ring an eventfd: a full counter (never, in practice) is as good as a ring. */
static inline void svc_ring_efd(int efd)
{
	const uint64_t one = 1;

	(void)ipk__write_eintr(efd, &one, sizeof(one));
}

/* ---- svc_name.c --------------------------------------------------------- */

#include <sys/socket.h>
#include <sys/un.h>

/*
 * ipk__svc_addr() - the socket address of a service name: "/path",
 * "@abstract", either one after "unix:". Return: 0; -EINVAL;
 * -ENAMETOOLONG.
 */
int ipk__svc_addr(const char *name, struct sockaddr_un *sa, socklen_t *len);

/*
 * ipk__svc_bind() - bind @fd to @sa: a stale socket file of ours (nobody
 * listens) is replaced; a live one is -EADDRINUSE, another user's -EPERM,
 * a symbolic link -ELOOP, any other file (any socket file with @excl)
 * -EEXIST. The file gets @mode exactly, and is recorded in @f.
 */
int ipk__svc_bind(int fd, const struct sockaddr_un *sa, socklen_t len, mode_t mode, bool excl,
		  struct ipk__ownfile *f);

/* Is @fd an eventfd? (A descriptor a peer handed us, before we write it.) */
bool ipk__svc_is_eventfd(int fd);

#endif /* IPK_SVC_INTERNAL_H */
