/* SPDX-License-Identifier: MIT */
/*
 * ring_sub.c - the ring's subscriber (ipckit/ring.h): ipk_ring_open(),
 * ipk_ring_open_fd() and ipk_ring_sub_close(), the validation of a feed
 * before it is trusted, where a new subscriber or the queue's consumer
 * starts, and receiving - copied, in batches or as a zero-copy view -
 * with each message validated after the copy.
 *
 * The layout and the memory-order table are in ring_layout.h, the rest of
 * the protocol in docs/ring-internals.md. Waiting when there is nothing to
 * read, publisher liveness and the pollable fd are ring_wait.c's; opening
 * the objects by name is ring_names.c's.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/mman.h>

#include "ring_internal.h"

/*
 * ipk__ring_check_header() - validate a feed mapping of @size bytes before any of its
 * values is used; the values are copied out once (the mapping may change
 * under us).
 * Return: 0; -EPROTO (magic); -EPROTONOSUPPORT (version); -EBADMSG (sizes,
 * positions).
 */
int ipk__ring_check_header(const struct ipk__ring_hdr *h, size_t size, uint64_t *cap,
			   uint64_t *max_msg)
{
	uint64_t c, m, head, tail;

	if (size < IPK__RING_HDR_SIZE)
		return -EBADMSG;
	/* Acquire: pairs with the creator's release store of magic, after
	 * which the line-0 fields below are never written again. */
	if (atomic_load_explicit(&h->magic, memory_order_acquire) != IPK__RING_MAGIC)
		return -EPROTO;
	if (h->version != IPK__RING_VERSION)
		return -EPROTONOSUPPORT; /* another release's layout */
	if (h->hdr_size != IPK__RING_HDR_SIZE)
		return -EBADMSG;
	c = h->capacity;
	m = h->max_msg;
	if (c < IPK__RING_MIN_CAP || c > IPK__RING_MAX_CAP || (c & (c - 1)) != 0)
		return -EBADMSG;
	if (h->map_size != IPK__RING_HDR_SIZE + c || (uint64_t)size != IPK__RING_HDR_SIZE + c)
		return -EBADMSG;
	if (ipk__ring_rec_size(m) > c / 2)
		return -EBADMSG;
	/* Acquire on tail: pairs with the release store of tail at a takeover
	 * (and the release fence after every move), so head read next is at
	 * least as new; a snapshot that breaks the invariant is corrupt. */
	tail = atomic_load_explicit(&h->tail, memory_order_acquire);
	head = atomic_load_explicit(&h->head, memory_order_acquire);
	if ((tail | head) % IPK__RING_REC_ALIGN || head < tail || head - tail > c)
		return -EBADMSG;
	*cap = c;
	*max_msg = m;
	return 0;
}

/* ipk__ring_check_header() of a ring a live publisher may be writing: it can lap
 * tail between our loads of tail and head (a reader slowed down by load),
 * so look again before calling the ring inconsistent. */
int ipk__ring_check_live_header(const struct ipk__ring_hdr *h, size_t size, uint64_t *cap,
				uint64_t *max_msg)
{
	int rc;

	for (int tries = 0;; tries++) {
		rc = ipk__ring_check_header(h, size, cap, max_msg);
		if (rc != -EBADMSG || tries == 8)
			return rc;
	}
}

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
 * (a batch: batch_room()): 2 * ipk__ring_rec_size(max_msg) = s->slack. So if even the head we see
 * now plus the slack stays within a ring of @pos, no byte of ours was overwritten yet (tail ran
 * ahead of the bytes: a taken-over ring, or the step).
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

	if (t % IPK__RING_REC_ALIGN || (int64_t)(t - s->pos) <= 0)
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

	if (kind != IPK__RING_KIND_MSG) {
		if (kind == IPK__RING_KIND_PAD)
			return off != 0 ? s->cap - off : UINT64_MAX;
		if ((kind & 0xffff) != IPK__RING_KIND_PACK || ipk__ring_rec_count(w0) == 0)
			return UINT64_MAX;
		bytes = ipk__ring_rec_payload(w0);
	}
	if (bytes <= s->max_msg && ipk__ring_rec_size(bytes) <= s->cap - off)
		return ipk__ring_rec_size(bytes);
	return UINT64_MAX;
}

/*
 * Describe message @idx of the record at offset @off with header word @w0
 * (of @need bytes, rec_need()'s) in *@a, but for its seq. Return: whether
 * the record has such a message (not a PAD, @idx within the count).
 */
static inline bool msg_at(uint64_t off, uint64_t w0, uint64_t need, uint32_t idx,
			  struct ring_msg *a)
{
	uint64_t len = (uint32_t)w0;

	a->need = need;
	a->len = len;
	a->word = (off + IPK__RING_REC_HDR) / 8;
	if ((w0 >> 32) == IPK__RING_KIND_MSG) { /* the common case first */
		a->count = 1;
		return idx == 0;
	}
	a->count = ipk__ring_rec_count(w0);
	if (a->count == 0)
		a->len = UINT64_MAX; /* a PAD */
	a->word += idx * (ipk__ring_pack_slot(len) / 8);
	return idx < a->count;
}

/* Step past the message at @a, validated. */
static inline void step_past(ipk_ring_sub *s, const struct ring_msg *a)
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
 * can get here the publisher wrote IPK__RING_SEQ_NONE there (the mark after the
 * record before, or at a takeover or creation): stale bytes of an earlier
 * lap that happen to look like the seq we expect never reach us. A value
 * written after tail moved past us is caught by intact() after the copy,
 * as on the head path.
 */
static inline bool committed_here(const ipk_ring_sub *s, struct ring_msg *a)
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

/* committed_here(), for ring_wait.c (a last look before a death is told). */
bool ipk__ring_committed(const ipk_ring_sub *s)
{
	struct ring_msg a;

	return committed_here(s, &a);
}

/*
 * Find the next message at or after where we stand without consuming it:
 * skips PAD records and jumps over what was overwritten.
 * Return: 0 with *@a and s->pos (and s->idx) at the message; -EAGAIN if
 * there is none yet; -EBADMSG.
 */
static int locate(ipk_ring_sub *s, struct ring_msg *a)
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
			/* Acquire: A in ring_layout.h's table; pairs with the release
			 * store of head in seal(). */
			uint64_t h = atomic_load_explicit(&s->hdr->head, memory_order_acquire);

			if (h % IPK__RING_REC_ALIGN)
				return -EBADMSG;
			/* Relaxed: a successor increments epoch (release)
			 * before it publishes, so a head of its making,
			 * loaded with acquire just above, brings the new
			 * epoch: -ECONNRESET comes before its first message. */
			if (atomic_load_explicit(&s->hdr->epoch, memory_order_relaxed) != s->epoch)
				return -EAGAIN; /* ipk__ring_wait_data() reports it */
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

/* Queue mode: show the producer that everything before s->pos is read
 * (the page's two positions: ring_layout.h), and wake it if it waits. */
static __attribute__((noinline)) void consumer_show(ipk_ring_sub *s)
{
	s->shown = s->pos;
	/* Release: pairs with the producer's acquire load of shown in
	 * queue_room(): our loads of the records before it happen before the
	 * producer reuses them. */
	atomic_store_explicit(&s->cons->shown, s->pos, memory_order_release);
	/* seq_cst fence: the store-load pair with wait_room(), which counts
	 * itself in waiting before it looks at shown. */
	atomic_thread_fence(memory_order_seq_cst);
	if (atomic_load_explicit(&s->cons->waiting, memory_order_relaxed) != 0) {
		/* Release: pairs with the acquire load of futex in wait_room(). */
		atomic_fetch_add_explicit(&s->cons->futex, 1, memory_order_release);
		ipk__ring_futex_wake(&s->cons->futex, false);
	}
}

/* Queue mode: everything before s->pos is read. Stored for a successor
 * at once; shown to the producer once a step, and by next_message()
 * before the consumer waits (the producer may wait for that room). */
static inline void consumer_done(ipk_ring_sub *s)
{
	/* Release: pairs with the acquire load in consumer_position() of a
	 * successor (the page's lock orders them too); this line is ours
	 * alone while we run, so the store costs no transfer. */
	atomic_store_explicit(&s->cons->pos, s->pos, memory_order_release);
	if (s->pos - s->shown >= QUEUE_STEP(s->cap))
		consumer_show(s);
}

/* The message at @a (locate()'s), validated: count, step past it. */
static inline int consume(ipk_ring_sub *s, const struct ring_msg *a)
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
	step_past(s, a);
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

		if ((t | h) % IPK__RING_REC_ALIGN || h < t)
			return -EBADMSG;
		if (h - t > s->cap)
			continue; /* tail moved on between the two loads: look again */
		while (p < h) {
			uint64_t off = p & s->mask;
			uint64_t w0 = atomic_load_explicit(&s->data[off / 8], memory_order_relaxed);
			uint64_t need = rec_need(s, off, w0);
			uint32_t n = ipk__ring_rec_count(w0);

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
	if (s->pos % IPK__RING_REC_ALIGN)
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

	if (p % IPK__RING_REC_ALIGN || (int64_t)(p - h) > 0)
		return -EBADMSG;
	if ((int64_t)(t - p) > 0)
		p = t;
	s->pos = s->head_cache = p;
	s->seq_known = false; /* the first record says */
	/* A consumer that died leaves shown behind pos: show where we
	 * start, and wake a producer that waits for that room. */
	consumer_show(s);
	return 0;
}

/* Map and validate; s->fd and s->bell_fd (or -1) are set. */
static int attach(ipk_ring_sub *s)
{
	struct stat st;
	void *map;
	int rc;

	if (fstat(s->fd, &st) < 0)
		return ipk__neg_errno();
	if (!S_ISREG(st.st_mode) || st.st_size < (off_t)IPK__RING_HDR_SIZE)
		return -EPROTO; /* not a ring (a publisher links it whole) */
	if ((uint64_t)st.st_size > IPK__RING_HDR_SIZE + IPK__RING_MAX_CAP)
		return -EBADMSG;
	/* The whole feed, read-only: a subscriber cannot write it. Not
	 * populated: that would cost ~100 us per MiB before the open returns
	 * (a subscriber waiting for its publisher attaches in tens of us
	 * instead), where a first lap of reads costs one minor fault per
	 * 64 KiB, as the kernel maps the pages around a read fault (~3 us
	 * each, ~50 us per MiB, once). The publisher populates its own. */
	map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, s->fd, 0);
	if (map == MAP_FAILED)
		return ipk__neg_errno();
	s->hdr = map;
	s->map_size = (size_t)st.st_size;
	/* Relaxed: a look only; ipk__ring_check_header() loads it again with acquire. */
	if (atomic_load_explicit(&s->hdr->magic, memory_order_relaxed) == 0)
		return -EAGAIN; /* linked, not yet initialised: open again */
	rc = ipk__ring_check_live_header(s->hdr, s->map_size, &s->cap, &s->max_msg);
	if (rc < 0)
		return rc;
	s->mask = s->cap - 1;
	s->slack = 2 * ipk__ring_rec_size(s->max_msg); /* <= cap: ipk__ring_check_header() */
	s->data = (const _Atomic uint64_t *)((const char *)map + IPK__RING_HDR_SIZE);
	if (s->bell_fd >= 0) {
		rc = ipk__ring_map_bell(s);
		if (rc < 0)
			return rc;
	}
	/* Acquire: pairs with the release increment in take_over(). */
	s->epoch = atomic_load_explicit(&s->hdr->epoch, memory_order_acquire);
	atomic_store_explicit(&s->seen_epoch, s->epoch, memory_order_relaxed);
	ipk__ring_watch_publisher(s);
	rc = s->cons ? consumer_position(s) : attach_position(s, s->from, s->from_seq);
	if (rc < 0)
		return rc;
	atomic_store_explicit(&s->seen_pos, s->pos, memory_order_relaxed);
	/* Counted once it has its start: a publisher that waited for it
	 * publishes nothing it will not see. */
	if (s->bell)
		ipk__ring_take_slot(s);
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
	ipk__ring_adapt_init(s);
	*ret = s;
	return 0;
}

IPK_API int ipk_ring_open(const char *name, const struct ipk_ring_sub_opts *opts,
			  ipk_ring_sub **ret)
{
	ipk_ring_sub *s;
	int rc;

	IPK_CHECK_ARG(ret && ipk__ring_check_name(name) == 0);
	IPK_CHECK_ARG(!opts || (opts->flags &
				~(IPK_RING_SPIN | IPK_RING_CONSUMER | IPK_RING_ADAPTIVE)) == 0);
	IPK_CHECK_ARG(!opts || opts->from <= IPK_RING_FROM_SEQ);
	IPK_CHECK_ARG(!opts || !(opts->flags & IPK_RING_ADAPTIVE) ||
		      (!(opts->flags & IPK_RING_SPIN) && opts->spin_ns == 0));
	rc = new_sub(opts, &s);
	if (rc < 0)
		return rc;
	rc = ipk__ring_open_named(s, name, opts && (opts->flags & IPK_RING_CONSUMER));
	if (rc < 0)
		goto fail;
	rc = attach(s);
	if (rc < 0)
		goto fail;
	*ret = s;
	return 0;

fail:
	ipk_ring_sub_close(s);
	return rc;
}

IPK_API int ipk_ring_open_fd(int ring_fd, int bell_fd, const struct ipk_ring_sub_opts *opts,
			     ipk_ring_sub **ret)
{
	ipk_ring_sub *s;
	int rc;

	IPK_CHECK_ARG(ret);
	IPK_CHECK_ARG(!opts || ((opts->flags & ~(IPK_RING_SPIN | IPK_RING_ADAPTIVE)) == 0 &&
				opts->from <= IPK_RING_FROM_SEQ));
	IPK_CHECK_ARG(!opts || !(opts->flags & IPK_RING_ADAPTIVE) ||
		      (!(opts->flags & IPK_RING_SPIN) && opts->spin_ns == 0));
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
		s->bell_fd = ipk__ring_reopen_own(bell_fd);
	rc = attach(s);
	if (rc < 0)
		goto fail;
	*ret = s;
	return 0;

fail:
	ipk_ring_sub_close(s);
	return rc;
}

/* The next message, waiting up to @timeout_ns; the deadline is computed
 * only when there is something to wait for (no clock read per message).
 * @spun: the caller has spun a round already (a spinning subscriber's
 * first wait is a round of spinning). */
static int next_message(ipk_ring_sub *s, struct ring_msg *a, int64_t timeout_ns, bool spun)
{
	int64_t deadline_ns = 0;
	bool have_deadline = false;

	for (;;) {
		int rc = locate(s, a);

		if (rc != -EAGAIN) {
			/* An adaptive subscriber learns from what it waited for. */
			if (rc == 0 && have_deadline && (s->flags & IPK_RING_ADAPTIVE))
				ipk__ring_adapt_found(s, a->seq);
			return rc;
		}
		/* Nothing to read: a producer may wait for the room we took. */
		if (s->cons && s->shown != s->pos)
			consumer_show(s);
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
		rc = ipk__ring_wait_data(s, deadline_ns);
		if (rc == -EAGAIN || rc == -ETIMEDOUT || rc == -EOWNERDEAD)
			ipk__ring_rearm_helper(s);
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
	struct ring_msg a;

	if (!committed_here(s, &a) || a.len > len)
		return -EAGAIN;
	copy_out(buf, &s->data[a.word], a.len);
	if (!intact(s, s->pos))
		return -EAGAIN;
	step_past(s, &a);
	if (s->cons)
		consumer_done(s);
	return (ssize_t)a.len;
}

/*
 * A spinning subscriber that has caught up and finds the next record
 * committed at its first or second look is reading a stream as it is
 * written: each record it takes pulls the cache lines that the publisher
 * is still writing the next ones into, and both sides stall on every
 * message (message by message that halves a queue's throughput, against
 * batches). So it slips behind (slip()): it lets the publisher write
 * SLIP_BYTES ahead - lines it then reads whole, once. The looks at head
 * are SLIP_PAUSES pauses apart (each takes head's line from the publisher,
 * which then waits for it back), SLIP_POLLS of them at most: about 3 us
 * on the development machine, whose pause takes 24 ns. The slip ends as
 * soon as head moved less than SLIP_RUN bytes between two looks: a burst
 * is over, or the feed comes slower than the subscriber takes it and
 * gains nothing from waiting (about 50 M messages/s of 64 bytes here).
 * A slip that ends at its first look gained nothing, and the next
 * SLIP_SKIP catch-ups take their record at once: a feed paced just fast
 * enough to look like a stream pays one gap (about 200 ns here) in
 * SLIP_SKIP. A message that comes alone or a reply in a round trip takes
 * longer than two looks as a rule; one that does not is treated the same.
 */
static inline bool streaming(const ipk_ring_sub *s)
{
	const _Atomic uint64_t *word = &s->data[(s->pos & s->mask) / 8 + 1];
	uint64_t want = s->next_seq - s->idx;

	if (!s->seq_known)
		return false;
	/* Relaxed: take_here() loads it again with acquire. */
	if (atomic_load_explicit(word, memory_order_relaxed) == want)
		return true;
	cpu_relax();
	return atomic_load_explicit(word, memory_order_relaxed) == want;
}

/* Return: whether the publisher wrote on fast enough to be worth it. */
static bool slip(const ipk_ring_sub *s)
{
	int64_t ahead = (int64_t)(s->cap / 8 < SLIP_BYTES ? s->cap / 8 : SLIP_BYTES);
	/* Relaxed: only a hint of how far the publisher has written;
	 * take_here() validates what it takes. */
	uint64_t h = atomic_load_explicit(&s->hdr->head, memory_order_relaxed), prev;

	for (int i = 0; i < SLIP_POLLS && (int64_t)(h - s->pos) < ahead; i++) {
		for (int j = 0; j < SLIP_PAUSES; j++)
			cpu_relax();
		prev = h;
		h = atomic_load_explicit(&s->hdr->head, memory_order_relaxed);
		if ((int64_t)(h - prev) < (int64_t)SLIP_RUN)
			return i > 0; /* a burst's end, or a feed we keep up with */
	}
	return true;
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
	if (spin && streaming(s)) {
		if (s->slip_skip > 0)
			s->slip_skip--;
		else if (!slip(s))
			s->slip_skip = SLIP_SKIP;
		got = take_here(s, buf, len);
		if (got != -EAGAIN)
			return got;
	}
	if (spin && spin_round(s)) {
		got = take_here(s, buf, len);
		if (got != -EAGAIN)
			return got;
	}
	for (;;) {
		struct ring_msg a;
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

IPK_API ssize_t ipk_ring_recv(ipk_ring_sub *s, void *buf, size_t len, int64_t timeout_ns)
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
	struct ring_msg a;

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
				 &s->data[(off + IPK__RING_REC_HDR) / 8 +
					  idx * (ipk__ring_pack_slot(a.len) / 8)],
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

IPK_API int ipk_ring_recv_batch(ipk_ring_sub *s, struct ipk_msg *msgs, unsigned n,
				int64_t timeout_ns)
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

IPK_API uint64_t ipk_ring_lost(const ipk_ring_sub *s)
{
	return s ? s->lost : 0;
}

IPK_API int ipk_ring_counts(const ipk_ring_sub *s, struct ipk_ring_counts *ret)
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

IPK_API size_t ipk_ring_msg_len(const ipk_ring_sub *s)
{
	return s ? s->msg_len : 0;
}

IPK_API size_t ipk_ring_sub_max_msg(const ipk_ring_sub *s)
{
	return s ? (size_t)s->max_msg : 0;
}

IPK_API int ipk_ring_view(ipk_ring_sub *s, struct ipk_ring_view *v, int64_t timeout_ns)
{
	struct ring_msg a;
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

IPK_API int ipk_ring_validate(ipk_ring_sub *s, const struct ipk_ring_view *v)
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

IPK_API void ipk_ring_sub_close(ipk_ring_sub *s)
{
	if (!s)
		return;
	ipk__ring_stop_helper(s);
	if (s->efd >= 0)
		ipk__close(s->efd);
	if (s->cons && s->hdr && s->shown != s->pos)
		consumer_show(s); /* a producer may wait for that room */
	if (s->cons)
		(void)munmap(s->cons, IPK__RING_CONS_SIZE);
	if (s->cons_fd >= 0)
		ipk__close(s->cons_fd); /* releases the consumer lock */
	if (s->bell)
		(void)munmap(s->bell, IPK__RING_BELL_SIZE);
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
