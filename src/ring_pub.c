/* SPDX-License-Identifier: MIT */
/*
 * ring_pub.c - the ring's publisher (ipckit/ring.h): ipk_ring_create() and
 * ipk_ring_close(), publishing (one message, a batch, reserve/commit, the
 * queue's publish_wait), the tail steps that keep subscribers' validation
 * cheap, and the takeover of a dead publisher's ring.
 *
 * The layout and the memory-order table it follows are in ring_layout.h,
 * the rest of the protocol in docs/ring-internals.md. The objects behind a
 * name are made and opened by ring_names.c, the doorbell is rung by
 * ring_wait.c; this file maps the feed and writes it.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/mman.h>

#include "ring_internal.h"

/* Our own start time for the header; 0 if /proc cannot tell. */
static uint64_t own_start_time(void)
{
	uint64_t t;

	return ipk__proc_start_time(getpid(), &t) == 0 ? t : 0;
}

/* The position after the record at @t (a PAD runs to the end of its lap). */
static uint64_t next_rec(const ipk_ring *r, uint64_t t)
{
	uint64_t off = t & r->mask;
	uint64_t w0 = atomic_load_explicit(&r->data[off / 8], memory_order_relaxed);

	return (w0 >> 32) == IPK__RING_KIND_PAD ? t + (r->cap - off)
						: t + ipk__ring_rec_size(ipk__ring_rec_payload(w0));
}

/* A record starts at @start: it is the first at or after every step
 * boundary not yet passed (make_room() finds tail's next place there
 * instead of walking a step's worth of records). */
static inline void checkpoint(ipk_ring *r, uint64_t start)
{
	while (r->checkpoint_pos <= start) {
		r->checkpoints[r->checkpoint_next % CHECKPOINTS] = start;
		r->checkpoint_next++;
		r->checkpoint_pos += TAIL_STEP(r->cap);
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
	if (k < r->checkpoint_next && r->checkpoint_next - k <= CHECKPOINTS &&
	    (int64_t)(r->checkpoints[k % CHECKPOINTS] - limit) < 0) {
		t = r->checkpoints[k % CHECKPOINTS];
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
	if (t == r->head_shown)
		atomic_store_explicit(&r->hdr->base_seq,
				      atomic_load_explicit(&r->hdr->pub_seq, memory_order_relaxed),
				      memory_order_relaxed);
	/* Release store (base_seq), then a release fence: F in the table
	 * of ring_layout.h. Every store that follows (the bytes we now overwrite) is
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
 * anything the consumer has not read? The position it shows only grows,
 * so the one we loaded last is a safe answer while it leaves room: its
 * line is loaded again only when the queue looks full, and it moves in
 * steps (consumer_show()), so a queue kept full costs one load of it per
 * step, not one per message.
 */
static bool queue_room(ipk_ring *r, uint64_t end, uint64_t *cons_pos)
{
	if (end - r->cons_seen > r->cap) {
		/* Acquire: pairs with the consumer's release store of shown in
		 * consumer_show(): its loads of everything before it happen
		 * before our stores over those bytes. */
		uint64_t c = atomic_load_explicit(&r->cons->shown, memory_order_acquire);

		if ((int64_t)(c - r->head) > 0)
			c = r->head; /* nonsense from the consumer's page: it only hurts itself */
		r->cons_seen = c;
	}
	*cons_pos = r->cons_seen;
	return end - r->cons_seen <= r->cap;
}

/* Room for a record of @need bytes ending at @end (record_end()). Return:
 * 0 and *@start, where it goes; -EAGAIN (queue full). */
static inline int find_room(ipk_ring *r, uint64_t need, uint64_t end, uint64_t *start)
{
	uint64_t limit = r->head_shown; /* tail stays behind the head subscribers see */

	/* Room for the record and for the "nothing here yet" mark that
	 * stage() writes after it. Queue mode: tail never passes what the
	 * consumer has not read. */
	if (r->cons && !queue_room(r, end + IPK__RING_REC_HDR, &limit))
		return -EAGAIN;
	if (end + IPK__RING_REC_HDR - r->tail > r->cap)
		make_room(r, end + IPK__RING_REC_HDR, limit);
	*start = end - need;
	return 0;
}

/* Where the payload of the record at @start goes. */
static inline _Atomic uint64_t *payload(const ipk_ring *r, uint64_t start)
{
	return &r->data[((start & r->mask) + IPK__RING_REC_HDR) / 8];
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

#define NO_PAD UINT64_MAX /* positions are multiples of IPK__RING_REC_ALIGN */

/*
 * Write header word @w0 of the record of @need bytes at @pos (from find_room()),
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
	atomic_store_explicit(seq_word(r, pos + need), IPK__RING_SEQ_NONE, memory_order_relaxed);
	atomic_store_explicit(&r->data[(pos & r->mask) / 8], w0, memory_order_relaxed);
	st->pos = pos;
	st->pad = NO_PAD;
	st->seq = r->seq;
	if (pos != r->head) {
		st->pad = r->head;
		atomic_store_explicit(&r->data[(r->head & r->mask) / 8],
				      ipk__ring_rec_word(0, IPK__RING_KIND_PAD, 0),
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
	uint32_t w;

	if (r->fenced) {
		/* seq_cst exchange: a release store (R in the table of
		 * ring_layout.h; pairs with the subscribers' acquire load of
		 * head (A): whoever sees the new head sees the records, for
		 * those that look at head) that is also ordered before the
		 * seq_cst load of sleepers below - the fenced store-load pair
		 * of the doorbell, with the sleeper's seq_cst increment and
		 * head load. One locked instruction on x86 (cheaper than a
		 * store and a full fence). */
		(void)atomic_exchange_explicit(&r->hdr->head, r->head, memory_order_seq_cst);
		w = atomic_load_explicit(&r->bell->sleepers, memory_order_seq_cst);
		r->quiet = w == IPK__RING_FENCED ? r->quiet + 1 : 0;
		if (r->quiet >= QUIET_PUBLISHES)
			ipk__ring_try_light(r);
	} else {
		/* Light: release store (R), then the sleepers word, in program
		 * order for the compiler only; a sleeper's membarrier() orders
		 * them on the CPU (ring_layout.h). */
		atomic_store_explicit(&r->hdr->head, r->head, memory_order_release);
		atomic_signal_fence(memory_order_seq_cst);
		w = atomic_load_explicit(&r->bell->sleepers, memory_order_relaxed);
		if (w & IPK__RING_FENCED) {
			/* A sleeper asks for the fence, for this publish too:
			 * one that found the bit set called no membarrier(),
			 * so the fence and a second look at the word make
			 * this store-load pair. */
			atomic_thread_fence(memory_order_seq_cst);
			w = atomic_load_explicit(&r->bell->sleepers, memory_order_seq_cst);
			r->fenced = true;
		}
	}
	r->head_shown = r->head;
	if (IPK__RING_SLEEPERS(w) != 0)
		ipk__ring_wake_sleepers(r);
}

/* Publish the record of @len bytes at @pos, its payload written. */
static inline void commit(ipk_ring *r, uint64_t pos, uint64_t len)
{
	struct staged st;

	stage(r, pos, ipk__ring_rec_word(len, IPK__RING_KIND_MSG, 0), ipk__ring_rec_size(len), 1,
	      &st);
	seal(r, &st, 1);
}

/* ipk_ring_publish() after its argument check: publish_wait() calls it
 * without the PLT's indirect jump that a call to the exported function
 * costs within the library. */
static inline int publish(ipk_ring *r, const void *buf, size_t len)
{
	uint64_t pos;
	int rc;

	if (len > r->max_msg)
		return -EMSGSIZE;
	rc = find_room(r, ipk__ring_rec_size(len), record_end(r, ipk__ring_rec_size(len)), &pos);
	if (rc < 0)
		return rc;
	copy_in(payload(r, pos), buf, len);
	commit(r, pos, len);
	return 0;
}

IPK_API int ipk_ring_publish(ipk_ring *r, const void *buf, size_t len)
{
	IPK_CHECK_ARG(r && (buf || len == 0));
	return publish(r, buf, len);
}

/*
 * Records written between two stores of head end within this many bytes
 * of the first (the mark after the last included): intact() allows
 * 2 * ipk__ring_rec_size(max_msg) (a PAD and a record, which any single record
 * stays within). Half the ring at most: what make_room() must free for
 * the batch then lies well behind the head that subscribers see, and
 * find_room() keeps the step it adds behind that head too.
 */
static uint64_t batch_room(const ipk_ring *r)
{
	uint64_t slack = 2 * ipk__ring_rec_size(r->max_msg);

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
	uint64_t slot = ipk__ring_pack_slot(m[0].len);
	uint64_t limit = r->max_msg < PACK_BYTES ? r->max_msg : PACK_BYTES;
	unsigned k = 1;

	if (r->cons)
		return 1;
	while (k < n && k < PACK_MAX && m[k].len == m[0].len && (k + 1) * slot <= limit)
		k++;
	return k;
}

IPK_API int ipk_ring_publish_batch(ipk_ring *r, const struct ipk_msg *msgs, unsigned n)
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
		w0 = c == 1 ? ipk__ring_rec_word(len, IPK__RING_KIND_MSG, 0)
			    : ipk__ring_rec_word(len, IPK__RING_KIND_PACK, c);
		need = ipk__ring_rec_size(ipk__ring_rec_payload(w0));
		end = record_end(r, need);
		if (k == BATCH_MAX || (k > 0 && end + IPK__RING_REC_HDR - r->head_shown > room)) {
			seal(r, st, k); /* r->head does not move: end holds */
			k = 0;
		}
		rc = find_room(r, need, end, &pos);
		if (rc < 0)
			break; /* the queue is full */
		for (unsigned j = 0; j < c; j++)
			copy_in(payload(r, pos) + j * ipk__ring_pack_slot(len) / 8, msgs[i + j].buf,
				len);
		stage(r, pos, w0, need, c, &st[k++]);
		/* Large messages gain nothing from waiting for more (a head
		 * store per BATCH_BYTES costs nothing): subscribers take what
		 * is written while the rest is copied in. */
		if (r->head - r->head_shown >= BATCH_BYTES) {
			seal(r, st, k);
			k = 0;
		}
	}
	if (k > 0)
		seal(r, st, k);
	return i > 0 ? (int)i : rc;
}

/*
 * Queue mode, queue full: sleep until the consumer shows a new position
 * or @deadline_ns. The doorbell protocol of ipk__ring_wait_data() with the
 * roles swapped (consumer_show()):
 *
 *   consumer                          waiting producer
 *   shown = p'         (release)      waiting += 1          (seq_cst)
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
	/* Acquire: pairs with the release increment in consumer_show(). */
	w = atomic_load_explicit(&r->cons->futex, memory_order_acquire);
	if (!queue_room(r, record_end(r, ipk__ring_rec_size(len)), &c))
		rc = ipk__ring_futex_wait(&r->cons->futex, w, wake, false);
	/* Release: keeps the count's RMW chain after our look at pos. */
	atomic_fetch_sub_explicit(&r->cons->waiting, 1, memory_order_release);
	return rc == -ETIMEDOUT && wake == deadline_ns ? -ETIMEDOUT : 0;
}

/*
 * Queue full: spin up to ROOM_SPIN_NS (and @deadline_ns) for room for a
 * message of @len bytes before wait_room() sleeps. A consumer at work
 * shows its position every QUEUE_STEP, microseconds apart, and a futex
 * sleep would cost a wake-up - tens of microseconds on a virtual machine,
 * during which the consumer drains the queue and then idles. Loads of
 * shown stay in our cache until the consumer stores it. Return: whether
 * there is room now.
 */
static bool spin_room(ipk_ring *r, uint64_t len, int64_t deadline_ns)
{
	uint64_t c, end = record_end(r, ipk__ring_rec_size(len)) + IPK__RING_REC_HDR;
	int64_t until = ipk__now_ns() + ROOM_SPIN_NS;

	if (until > deadline_ns)
		until = deadline_ns;
	for (;;) {
		for (int i = 0; i < SPIN_ROUND; i++) {
			if (queue_room(r, end, &c))
				return true;
			cpu_relax();
		}
		if (ipk__now_ns() >= until)
			return false;
	}
}

IPK_API int ipk_ring_publish_wait(ipk_ring *r, const void *buf, size_t len, int64_t timeout_ns)
{
	int64_t deadline_ns = 0;
	bool have_deadline = false;

	IPK_CHECK_ARG(r && (buf || len == 0));
	for (;;) {
		int rc = publish(r, buf, len);

		if (rc != -EAGAIN)
			return rc;
		if (!have_deadline) {
			deadline_ns = ipk__deadline(timeout_ns);
			have_deadline = true;
			if (deadline_ns != IPK__NOWAIT && spin_room(r, len, deadline_ns))
				continue;
		}
		rc = wait_room(r, len, deadline_ns);
		if (rc < 0)
			return rc;
	}
}

IPK_API int ipk_ring_reserve(ipk_ring *r, size_t len, void **ret)
{
	int rc;

	IPK_CHECK_ARG(r && ret);
	if (len > r->max_msg)
		return -EMSGSIZE;
	rc = find_room(r, ipk__ring_rec_size(len), record_end(r, ipk__ring_rec_size(len)),
		       &r->resv_pos);
	if (rc < 0)
		return rc;
	r->resv_len = len;
	r->reserved = true;
	*ret = (void *)payload(r, r->resv_pos);
	return 0;
}

IPK_API int ipk_ring_commit(ipk_ring *r, size_t len)
{
	IPK_CHECK_ARG(r && r->reserved && len <= r->resv_len);
	commit(r, r->resv_pos, len);
	return 0;
}

IPK_API int ipk_ring_fds(const ipk_ring *r, int *ring_fd, int *bell_fd)
{
	IPK_CHECK_ARG(r && ring_fd && bell_fd);
	*ring_fd = r->fd;
	*bell_fd = r->bell_fd;
	return 0;
}

IPK_API int ipk_ring_stats(const ipk_ring *r, struct ipk_ring_stats *ret)
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
	struct ipk__ring_hdr *h = r->hdr;

	h->version = IPK__RING_VERSION;
	h->hdr_size = IPK__RING_HDR_SIZE;
	h->max_msg = (uint32_t)r->max_msg;
	h->capacity = r->cap;
	h->map_size = IPK__RING_HDR_SIZE + r->cap;
	/* Relaxed: all published by the release store of magic below. */
	atomic_store_explicit(&h->epoch, 1, memory_order_relaxed);
	atomic_store_explicit(&h->pid, (int32_t)getpid(), memory_order_relaxed);
	atomic_store_explicit(&h->start, own_start_time(), memory_order_relaxed);
	atomic_store_explicit(&h->state, IPK__RING_STATE_LIVE, memory_order_relaxed);
	atomic_store_explicit(&h->base_seq, 0, memory_order_relaxed);
	atomic_store_explicit(&h->head, 0, memory_order_relaxed);
	atomic_store_explicit(&h->pub_seq, 0, memory_order_relaxed);
	atomic_store_explicit(&h->tail, 0, memory_order_relaxed);
	r->head = r->tail = r->seq = r->head_shown = 0;
	r->checkpoint_next = 0;
	r->checkpoint_pos = 0;
	atomic_store_explicit(seq_word(r, 0), IPK__RING_SEQ_NONE, memory_order_relaxed);
	/* Release: pairs with the acquire load in ipk__ring_check_header(). */
	atomic_store_explicit(&h->magic, IPK__RING_MAGIC, memory_order_release);
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
		if ((w0 >> 32) !=
		    IPK__RING_KIND_PAD) { /* a PAD carries the seq of the record after it */
			if (ipk__ring_rec_count(w0) == 0)
				return head;
			seq += ipk__ring_rec_count(w0);
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
	struct ipk__ring_hdr *h = r->hdr;
	uint64_t head = atomic_load_explicit(&h->head, memory_order_relaxed); /* dead writer */

	r->seq = atomic_load_explicit(&h->pub_seq, memory_order_relaxed);
	r->tail = head;
	r->head = r->head_shown = committed_past(r, head, r->seq);
	r->checkpoint_next =
		(r->head + TAIL_STEP(r->cap) - 1) / TAIL_STEP(r->cap); /* none before */
	r->checkpoint_pos = r->checkpoint_next * TAIL_STEP(r->cap);
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
	atomic_store_explicit(&h->state, IPK__RING_STATE_LIVE, memory_order_relaxed);
	/* Release: pairs with the acquire load of epoch in check_publisher(),
	 * which then reads pid and state. */
	atomic_fetch_add_explicit(&h->epoch, 1, memory_order_release);
	/* F for the tail stored above: our first records may overwrite what
	 * a slow subscriber still reads of the dead publisher's. */
	atomic_thread_fence(memory_order_release);
	/* The dead one may have died before marking head. */
	atomic_store_explicit(seq_word(r, r->head), IPK__RING_SEQ_NONE, memory_order_relaxed);
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
	r->data = (_Atomic uint64_t *)((char *)r->hdr + IPK__RING_HDR_SIZE);
	return 0;
}

/* An existing named feed of ours whose lock we now hold: see ring_internal.h. */
int ipk__ring_adopt(ipk_ring *r, const struct stat *st)
{
	uint64_t cap, max_msg;
	uint32_t w[2]; /* magic, version */
	int rc;

	if (st->st_size < (off_t)IPK__RING_HDR_SIZE ||
	    pread(r->fd, w, sizeof(w), 0) != (ssize_t)sizeof(w))
		return -EPROTO;
	if (w[0] != IPK__RING_MAGIC)
		return w[0] == 0 ? 0 : -EPROTO;
	if (w[1] != IPK__RING_VERSION || (uint64_t)st->st_size != IPK__RING_HDR_SIZE + r->cap)
		return 0;
	rc = map_feed_rw(r, (size_t)st->st_size);
	if (rc < 0)
		return rc;
	if (ipk__ring_check_header(r->hdr, r->map_size, &cap, &max_msg) < 0 || cap != r->cap ||
	    max_msg != r->max_msg) {
		(void)munmap(r->hdr, r->map_size);
		r->hdr = NULL;
		return 0;
	}
	take_over(r);
	return 1;
}

IPK_API int ipk_ring_create(const char *name, const struct ipk_ring_opts *opts, ipk_ring **ret)
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
	IPK_CHECK_ARG(o.capacity >= IPK__RING_MIN_CAP && o.capacity <= IPK__RING_MAX_CAP &&
		      (o.capacity & (o.capacity - 1)) == 0);
	if (o.max_msg == 0)
		o.max_msg = (uint32_t)(o.capacity / 4 - IPK__RING_REC_HDR <
						       UINT32_MAX - IPK__RING_REC_ALIGN
					       ? o.capacity / 4 - IPK__RING_REC_HDR
					       : UINT32_MAX - IPK__RING_REC_ALIGN);
	IPK_CHECK_ARG(o.max_msg <= UINT32_MAX - IPK__RING_REC_ALIGN &&
		      ipk__ring_rec_size(o.max_msg) <= o.capacity / 2);
	IPK_CHECK_ARG((o.flags & ~(IPK_RING_EXCL | IPK_RING_KEEP | IPK_RING_QUEUE)) == 0);
	IPK_CHECK_ARG(name || !(o.flags & IPK_RING_QUEUE)); /* the consumer opens by name */
	if (name && ipk__ring_check_name(name) < 0)
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
		ipk__ring_name_with(name, IPK__RING_BELL, r->bell_name);
		ipk__ring_name_with(name, IPK__RING_CONS, r->cons_name);
	}
	rc = ipk__ring_open_feed(r, mode, &fresh);
	if (rc < 0)
		goto fail;
	if (fresh) {
		rc = map_feed_rw(r, IPK__RING_HDR_SIZE + r->cap);
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
	rc = ipk__ring_open_bell(r, mode, fresh);
	if (rc < 0)
		goto fail;
	ipk__ring_start_mode(r);
	if (o.flags & IPK_RING_QUEUE) {
		rc = ipk__ring_open_cons(r, mode, fresh);
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
		ipk__ring_remove_names(r); /* only what we created */
	r->flags |= IPK_RING_KEEP;         /* a taken-over ring is closed, not removed */
	ipk_ring_close(r);
	return rc;
}

IPK_API void ipk_ring_close(ipk_ring *r)
{
	if (!r)
		return;
	if (r->hdr) {
		/* Release: pairs with the acquire load of state in
		 * check_publisher(): a subscriber that sees CLOSED sees every
		 * record, so it drains before it reports -EPIPE. */
		atomic_store_explicit(&r->hdr->state, IPK__RING_STATE_CLOSED, memory_order_release);
		if (r->bell) {
			atomic_thread_fence(memory_order_seq_cst); /* as in seal() */
			ipk__ring_wake_sleepers(r);
		}
		(void)munmap(r->hdr, r->map_size);
	}
	if (r->bell)
		(void)munmap(r->bell, IPK__RING_BELL_SIZE);
	if (r->cons)
		(void)munmap(r->cons, IPK__RING_CONS_SIZE);
	if (r->named && !(r->flags & IPK_RING_KEEP))
		ipk__ring_remove_names(r);
	if (r->cons_fd >= 0)
		ipk__close(r->cons_fd);
	if (r->bell_fd >= 0)
		ipk__close(r->bell_fd);
	if (r->fd >= 0)
		ipk__close(r->fd); /* releases the publisher lock */
	free(r);
}
