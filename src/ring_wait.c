/* SPDX-License-Identifier: MIT */
/*
 * ring_wait.c - waiting on the ring: the futex calls, the doorbell (the
 * publisher's wake-up and the subscriber's sleep, with the sleepers that
 * died counted out), a subscriber's waiting for data with its checks of
 * the publisher's liveness and epoch, the subscriber slots that
 * ipk_ring_subscribers() counts, the pollable fd's helper thread, and the
 * publisher's light and fenced modes (membarrier()).
 *
 * The store-load pairs of the doorbell are in ring_layout.h; why the
 * sleepers hold a lock, and how a death is told, in
 * docs/ring-internals.md. What waiting costs a spinning subscriber's fast
 * path (spin_round(), head_past()) is inline in ring_internal.h.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>
#include <linux/futex.h>
#include <linux/membarrier.h>
#include <sys/eventfd.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/syscall.h>

#include "ring_internal.h"

int ipk__ring_futex_wait(_Atomic uint32_t *word, uint32_t val, int64_t deadline_ns, bool private)
{
	struct timespec ts = { .tv_sec = deadline_ns / IPK_SEC, .tv_nsec = deadline_ns % IPK_SEC };
	int op = FUTEX_WAIT_BITSET | (private ? FUTEX_PRIVATE_FLAG : 0);

	/* Absolute CLOCK_MONOTONIC deadline: EINTR needs no recomputation. */
	if (syscall(SYS_futex, word, op, val, &ts, NULL, FUTEX_BITSET_MATCH_ANY) < 0)
		return errno == ETIMEDOUT ? -ETIMEDOUT : 0; /* EAGAIN, EINTR: look again */
	return 0;
}

/* Return: how many were woken (0 on error). */
long ipk__ring_futex_wake(_Atomic uint32_t *word, bool private)
{
	long n = syscall(SYS_futex, word, FUTEX_WAKE | (private ? FUTEX_PRIVATE_FLAG : 0), INT_MAX,
			 NULL, NULL, 0);

	return n > 0 ? n : 0;
}

/* A new open file description of @fd's file, with @fd's access mode
 * (flock locks belong to open file descriptions, and a descriptor passed
 * or inherited shares its sender's): a descriptor, or -1. */
int ipk__ring_reopen_own(int fd)
{
	int mode = fcntl(fd, F_GETFL);
	int r = mode < 0 ? -1 : ipk__reopen(fd, mode & O_ACCMODE);

	return r < 0 ? -1 : r;
}

static bool light_registered;

static void register_light(void)
{
	long cmds = syscall(SYS_membarrier, MEMBARRIER_CMD_QUERY, 0, 0);

	light_registered =
		cmds > 0 && (cmds & MEMBARRIER_CMD_GLOBAL_EXPEDITED) &&
		(cmds & MEMBARRIER_CMD_REGISTER_GLOBAL_EXPEDITED) &&
		syscall(SYS_membarrier, MEMBARRIER_CMD_REGISTER_GLOBAL_EXPEDITED, 0, 0) == 0;
}

/* The registration belongs to a memory map, and a forked child may
 * publish on the rings it inherited. Kernels copy it with the map; should
 * one not, this registers the child (nothing, if it is registered). Where
 * that fails, a publish that misses a sleeper costs it its sleep slice
 * (WAIT_SLICE_NS), never a hang. */
static void light_at_fork(void)
{
	register_light();
}

static void init_light(void)
{
	register_light();
	if (light_registered)
		(void)pthread_atfork(NULL, NULL, light_at_fork);
}

bool ipk__ring_light_ok(void)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;

	(void)pthread_once(&once, init_light);
	return light_registered;
}

void ipk__ring_start_mode(ipk_ring *r)
{
	r->light_ok = ipk__ring_light_ok();
	/* Fenced at first (seq_cst: before our first publish); a process
	 * that may go light does so at its first publish that finds no
	 * sleeper. A taken-over doorbell's count carries on. */
	atomic_fetch_or_explicit(&r->bell->sleepers, IPK__RING_FENCED, memory_order_seq_cst);
	r->fenced = true;
	r->quiet = r->light_ok ? QUIET_PUBLISHES - 1 : 0;
}

void ipk__ring_try_light(ipk_ring *r)
{
	uint32_t want = IPK__RING_FENCED;

	r->quiet = 0;
	if (!r->light_ok)
		return;
	/* seq_cst: a sleeper's increment either comes first (the word is not
	 * FENCED alone: we stay fenced) or reads the word without the bit
	 * and calls membarrier() (ring_layout.h). */
	if (atomic_compare_exchange_strong_explicit(&r->bell->sleepers, &want, 0,
						    memory_order_seq_cst, memory_order_relaxed))
		r->fenced = false;
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
	 * our unlock, which orders this before its increment. The mode bit
	 * stays. */
	atomic_fetch_and_explicit(&r->bell->sleepers, IPK__RING_FENCED, memory_order_relaxed);
	(void)flock(r->bell_fd, LOCK_UN);
}

void ipk__ring_wake_sleepers(ipk_ring *r)
{
	/* Wake whoever sleeps on the futex word: the increment makes a
	 * FUTEX_WAIT that has not started yet return at once. Release: pairs
	 * with the sleeper's acquire load of the word, so one that read the
	 * new value also reads the new head. */
	atomic_fetch_add_explicit(&r->bell->futex, 1, memory_order_release);
	if (ipk__ring_futex_wake(&r->bell->futex, false) == 0)
		clear_dead_sleepers(r);
	r->wakes++;
}

void ipk__ring_watch_publisher(ipk_ring_sub *s)
{
	/* Relaxed: the caller's acquire load of epoch orders them (pid and
	 * start change only with epoch). */
	s->pid = atomic_load_explicit(&s->hdr->pid, memory_order_relaxed);
	s->pub_start = atomic_load_explicit(&s->hdr->start, memory_order_relaxed);
	if (s->pidfd >= 0)
		ipk__close(s->pidfd);
	s->pidfd = s->no_pidfd ? -1 : ipk__pidfd_open(s->pid);
	/* A pidfd names whoever has the pid now: make sure that it is the
	 * publisher, not a stranger that reused the pid after its death. */
	s->pid_reused = !ipk__pid_alive(s->pid, s->pub_start, -1);
}

/* Does the publisher still live? */
static bool publisher_alive(const ipk_ring_sub *s)
{
	return !s->pid_reused && ipk__pid_alive(s->pid, s->pub_start, s->pidfd);
}

/*
 * Called when there is nothing to read. Return: 0 (keep waiting);
 * -ECONNRESET (new epoch, adopted); -EPIPE (the publisher closed: the
 * end); -EOWNERDEAD (it died, until ipk__ring_wait_data() has said so once; then 0:
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

		if ((int64_t)(s->pos - h) > 0 && h % IPK__RING_REC_ALIGN == 0) {
			s->pos = s->head_cache = h;
			s->idx = 0;
		}
		s->epoch = e;
		s->pub_dead = s->dead_told = false;
		atomic_store_explicit(&s->dead_told_hint, false, memory_order_relaxed);
		atomic_store_explicit(&s->seen_epoch, e,
				      memory_order_relaxed); /* hint for helper */
		ipk__ring_watch_publisher(s);
		return -ECONNRESET;
	}
	/* Acquire: pairs with the release store in ipk_ring_close(). */
	if (atomic_load_explicit(&s->hdr->state, memory_order_acquire) != IPK__RING_STATE_LIVE)
		return -EPIPE;
	if (s->pub_dead)
		return s->dead_told ? 0 : -EOWNERDEAD;
	if (now_ns >= 0 && now_ns < s->next_check_ns)
		return 0;
	s->next_check_ns = (now_ns >= 0 ? now_ns : ipk__now_ns()) + LIVENESS_NS;
	s->pub_dead = !publisher_alive(s);
	return s->pub_dead ? -EOWNERDEAD : 0;
}

/*
 * Sleep until head moves past @pos, the doorbell rings, or @wake (an
 * absolute CLOCK_MONOTONIC time): the sleeper's half of the doorbell
 * protocol in ring_layout.h. @lock_fd is the caller's own open file
 * description of the doorbell, locked shared while we are counted.
 * Return: 0 (look again) or -ETIMEDOUT (@wake passed).
 */
static int sleep_on_bell(ipk_ring_sub *s, int lock_fd, uint64_t pos, int64_t wake)
{
	int64_t slice = wake; /* shorter if a light publisher may miss us */
	int rc = 0;

	if (!s->bell || lock_fd < 0)
		return ipk__sleep_until(wake, NOBELL_STEP_NS) == -ETIMEDOUT ? -ETIMEDOUT : 0;
	/* Held only for a moment by a publisher clearing dead sleepers (or
	 * for ever by someone hostile): look again in a while. */
	if (flock(lock_fd, LOCK_SH | LOCK_NB) < 0)
		return ipk__sleep_until(wake, NOBELL_STEP_NS) == -ETIMEDOUT ? -ETIMEDOUT : 0;
	/* seq_cst increment and fence: against the seq_cst exchange of head
	 * and load of sleepers in seal() (the fenced store-load pair). A
	 * light publisher gets its fence from membarrier(), and the bit
	 * fences its publishes from the next one on (ring_layout.h). */
	uint32_t n = atomic_fetch_add_explicit(&s->bell->sleepers, 1, memory_order_seq_cst);

	if (!(n & IPK__RING_FENCED)) {
		/* The barrier first, then the bit: a sleeper that finds the
		 * bit set needs no barrier of its own, so when it does, ours
		 * must be complete. */
		if (syscall(SYS_membarrier, MEMBARRIER_CMD_GLOBAL_EXPEDITED, 0, 0) < 0)
			slice = ipk__now_ns() + NOFENCE_SLICE_NS;
		atomic_fetch_or_explicit(&s->bell->sleepers, IPK__RING_FENCED,
					 memory_order_seq_cst);
	}
	atomic_thread_fence(memory_order_seq_cst);
	/* Acquire: pairs with the release increment in ipk__ring_wake_sleepers(). */
	uint32_t w = atomic_load_explicit(&s->bell->futex, memory_order_acquire);

	/* Acquire: pairs with the release stores of head in seal() and of
	 * state in ipk_ring_close(). Relaxed stop: ipk_ring_sub_close() sets
	 * it, then rings; a late look costs one more slice at most. */
	if (!head_past(s, pos) &&
	    atomic_load_explicit(&s->hdr->state, memory_order_acquire) == IPK__RING_STATE_LIVE &&
	    !atomic_load_explicit(&s->stop, memory_order_relaxed))
		rc = ipk__ring_futex_wait(&s->bell->futex, w, slice < wake ? slice : wake, false);
	if (rc == -ETIMEDOUT && slice < wake)
		rc = 0; /* our own slice, not @wake */
	/* Release: nothing to publish, but keeps the count's RMW chain
	 * ordered after our last look at the ring. */
	atomic_fetch_sub_explicit(&s->bell->sleepers, 1, memory_order_release);
	(void)flock(lock_fd, LOCK_UN);
	return rc;
}

/*
 * Adaptive waiting (IPK_RING_ADAPTIVE). A feed that comes at a steady rate
 * is a grid: the next message is due a gap after the last one, give or
 * take its jitter. A wake-up from a sleep costs tens of microseconds on a
 * virtual machine (a timed one more: timer slack), paid after the message
 * came when it is the message that wakes us. So the subscriber learns
 * three figures: the gap between the messages it waited for, their
 * deviation from it (both smoothed as TCP smooths round-trip times) and
 * how late a timed sleep wakes. It then sleeps on the doorbell with a
 * timer set that much before the window [due - early, due + late] (early
 * and late: twice the deviation and a margin) and spins through the
 * window: the wake-up is paid before the message comes. A message that
 * comes before the window wakes it through the doorbell as in the plain
 * futex mode; one that comes after finds it asleep there, also as in
 * that mode: never later than the futex would have been. A feed that is
 * unknown, irregular (a window longer than ADAPT_WINDOW_MAX or half
 * of the gap) or paused (no message for ADAPT_PAUSE gaps) gets a short
 * spin, then the futex; one whose gap leaves no time to sleep is spun on.
 * Everything learned is the subscriber's own; the publisher sees a
 * subscriber that sleeps or does not, as with the other modes.
 */
#define ADAPT_SHORT_NS (10 * IPK_USEC)       /* the spin before the futex: bursts */
#define ADAPT_MARGIN_NS (2 * IPK_USEC)       /* added to each side of a window */
#define ADAPT_MIN_SLEEP_NS (5 * IPK_USEC)    /* shorter timed sleeps are spun instead */
#define ADAPT_WAKE0_NS (50 * IPK_USEC)       /* a wake-up's lateness until one is seen */
#define ADAPT_WAKE_MAX_NS (500 * IPK_USEC)   /* lateness taken into account, at most */
#define ADAPT_WINDOW_MAX_NS (200 * IPK_USEC) /* a longer window: irregular */
#define ADAPT_SLACK_NS 1000u                 /* timer slack of a timed sleep */
#define ADAPT_PROBE_MAX_NS (2 * IPK_MSEC)    /* gaps up to this are probed by spinning */
#define ADAPT_PROBE_EVERY 8                  /* messages between two probes, at least */
#define ADAPT_PROBE_RARE 1024                /* ... and at most, once windows keep missing */
#define ADAPT_PAUSE 8                        /* gaps without a message: a pause */

enum { ADAPT_NONE, ADAPT_SPUN, ADAPT_SLEPT, ADAPT_TIMER };

void ipk__ring_adapt_init(ipk_ring_sub *s)
{
	memset(&s->ad, 0, sizeof(s->ad));
	s->ad.wake = ADAPT_WAKE0_NS;
	s->ad.probe = s->ad.probe_every = ADAPT_PROBE_EVERY;
}

/* Learn from message @seq, found after a wait: when it came, as exactly
 * as the wait tells (after a futex wake-up, up to a wake-up's cost before
 * now: we take the earliest, so that the next window covers it), and how
 * many were published since the last one we waited for (those we found
 * without waiting were on the grid too). */
void ipk__ring_adapt_found(ipk_ring_sub *s, uint64_t seq)
{
	struct ring_adapt *a = &s->ad;
	int64_t t = ipk__now_ns();
	bool exact = a->how != ADAPT_SLEPT;
	uint64_t n = seq - a->last_seq;

	a->last_seq = seq;
	if (!exact)
		t -= a->wake + a->wake_dev;
	a->how = ADAPT_NONE;
	if (a->last && t > a->last && n > 0 && n < (uint64_t)1 << 32) {
		int64_t g = (t - a->last) / (int64_t)n, err;

		if (a->gap && g > 4 * (a->gap + a->dev)) {
			/* A pause, or a new rate once it happens three times in a row. */
			if (++a->outliers < 3) {
				a->last = t;
				a->exact = exact;
				return;
			}
			a->gap = 0;
		}
		a->outliers = 0;
		if (!a->gap) {
			a->gap = g; /* and dev 0: a window too narrow costs a wake-up */
		} else {
			err = g - a->gap;
			a->gap += err / 8;
			/* The feed's own jitter: from arrivals seen while
			 * spinning only (a wake-up's would swamp it). */
			int64_t e = err < 0 ? -err : err;

			/* A message held up once (a preempted publisher)
			 * moves it, but no more than twice the deviation
			 * would: an irregular feed still grows it fast. */
			if (e > 2 * a->dev + 2 * ADAPT_MARGIN_NS)
				e = 2 * a->dev + 2 * ADAPT_MARGIN_NS;
			if (exact && a->exact)
				a->dev += (e - a->dev) / 4;
		}
	}
	/* Windows that catch their messages keep probes cheap; a phase lost
	 * again and again (an irregular feed) makes them rarer. */
	if (exact && a->exact)
		a->probe_every = ADAPT_PROBE_EVERY;
	else if (!exact && a->exact && a->probe_every < ADAPT_PROBE_RARE)
		a->probe_every *= 2;
	if (a->probe < a->probe_every)
		a->probe++;
	a->last = t;
	a->exact = exact;
}

/*
 * A timed sleep that was to end at @timer ended now: learn its lateness.
 * @woken: a message woke it, not the timer - which had not fired yet: if
 * it is past @timer, the lateness was at least that. Such wake-ups must
 * count, or only the timers that beat their messages would, and the
 * lateness learned would shrink until every timer came too late.
 */
static void adapt_woke(ipk_ring_sub *s, int64_t timer, bool woken)
{
	int64_t late = ipk__now_ns() - timer;

	if (woken && late <= s->ad.wake)
		return; /* early, or no news */

	if (late < 0)
		late = 0;
	/* A thread preempted in its wake-up (a busy machine) is late by
	 * milliseconds: such a sample moves the estimate, but no more than
	 * one twice the estimate would. */
	if (late > 2 * s->ad.wake + ADAPT_MARGIN_NS)
		late = 2 * s->ad.wake + ADAPT_MARGIN_NS;
	if (late > ADAPT_WAKE_MAX_NS)
		late = ADAPT_WAKE_MAX_NS;
	late -= s->ad.wake;
	s->ad.wake += late / 8;
	s->ad.wake_dev += ((late < 0 ? -late : late) - s->ad.wake_dev) / 4;
	if (!woken)
		s->ad.how = ADAPT_TIMER;
}

/*
 * A timed sleep wakes when it should: the thread's timer slack (50 us by
 * default) would make it late by up to that much, and unevenly, so it is
 * ADAPT_SLACK_NS for the sleep. Return: the slack to restore after it, or
 * -1 (nothing changed).
 */
static int precise_timer(void)
{
	int old = prctl(PR_GET_TIMERSLACK, 0, 0, 0, 0);

	if (old <= (int)ADAPT_SLACK_NS || prctl(PR_SET_TIMERSLACK, ADAPT_SLACK_NS, 0, 0, 0) < 0)
		return -1;
	return old;
}

/*
 * An adaptive wait at @now: spin until *@spin_until, then sleep on the
 * doorbell until *@timer (0: no timer, the plain futex sleep).
 */
static void adapt_plan(ipk_ring_sub *s, int64_t now, int64_t *spin_until, int64_t *timer)
{
	struct ring_adapt *a = &s->ad;
	int64_t early, late, due, lo, hi, short_ns, lead = a->wake + a->wake_dev;

	/* The short spin: at most a wake-up's cost, and a 32nd of a known
	 * gap (a fast irregular feed would spin much of the time). */
	short_ns = ADAPT_SHORT_NS < a->wake ? ADAPT_SHORT_NS : a->wake;
	if (a->gap && short_ns > a->gap / 32)
		short_ns = a->gap / 32;
	*timer = 0;
	*spin_until = now + short_ns;
	if (!a->gap || !a->last || now - a->last > ADAPT_PAUSE * a->gap)
		return; /* unknown, or paused */
	early = late = 2 * a->dev + ADAPT_MARGIN_NS;
	if (a->gap + early < a->wake) {
		/* Faster than a wake-up: a sleep would cost more than the wait. */
		*spin_until = now + a->gap + early + late;
		return;
	}
	if (!a->exact) {
		/* The last arrival was estimated after a wake-up: the phase
		 * is known within a wake-up only. A fast feed is probed:
		 * spun on until its next message, at most once every
		 * probe_every messages; a slow one gets a window
		 * widened by a wake-up on its late side. */
		if (a->gap <= ADAPT_PROBE_MAX_NS) {
			if (a->probe >= a->probe_every) {
				a->probe = 0;
				*spin_until = now + a->gap + late;
			}
			return;
		}
		late += lead;
	}
	/* Irregular: a window would cost more than it saves. */
	if (early + late > ADAPT_WINDOW_MAX_NS + (a->exact ? 0 : lead) || early + late > a->gap / 2)
		return;
	/* The first message on the grid whose window has not passed. */
	due = a->last + ((now - a->last - late) / a->gap + 1) * a->gap;
	lo = due - early;
	hi = due + late;
	if (now >= lo - lead - ADAPT_MIN_SLEEP_NS) {
		*spin_until = hi; /* no time to sleep: spin through the window */
		return;
	}
	*spin_until = now;
	*timer = lo - lead; /* awake before the window, most times */
}

/*
 * Nothing at s->pos: report a dead or replaced publisher, or wait until
 * head moves or @deadline_ns. Return: 0 (look again); -EAGAIN; -ETIMEDOUT;
 * -EPIPE; -ECONNRESET; -EOWNERDEAD (once per dead publisher).
 */
int ipk__ring_wait_data(ipk_ring_sub *s, int64_t deadline_ns)
{
	int64_t now = ipk__now_ns();
	/* Throttled: a spinning or polling receiver pays no system call here. */
	int rc = check_publisher(s, now);

	if (rc == -EPIPE || rc == -EOWNERDEAD) {
		/* The death (pidfd, or the release store of state) is
		 * ordered after its last commit: look once more. */
		if (head_past(s, s->pos) || ipk__ring_committed(s))
			return 0;
	}
	if (rc == -EOWNERDEAD) {
		/* Said once; from now on we wait for a successor. */
		s->dead_told = true;
		atomic_store_explicit(&s->dead_told_hint, true, memory_order_relaxed);
	}
	if (rc < 0)
		return rc;
	if (deadline_ns == IPK__NOWAIT)
		return -EAGAIN;
	if (deadline_ns != IPK__NEVER && now >= deadline_ns)
		return -ETIMEDOUT;

	int64_t until = now, timer = 0;
	int slack;

	if (s->flags & IPK_RING_ADAPTIVE)
		adapt_plan(s, now, &until, &timer);
	else if ((s->flags & IPK_RING_SPIN) || s->spin_ns > deadline_ns - now)
		until = deadline_ns;
	else if (s->spin_ns > 0)
		until = now + s->spin_ns;
	if (until > deadline_ns)
		until = deadline_ns;
	if (until > now) {
		s->ad.how = ADAPT_SPUN;
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

	if (timer && timer < wake)
		wake = timer;
	else
		timer = 0;
	s->ad.how = ADAPT_SLEPT;
	slack = timer ? precise_timer() : -1;
	rc = sleep_on_bell(s, s->bell_fd, s->pos, wake);
	if (slack > 0)
		(void)prctl(PR_SET_TIMERSLACK, (unsigned long)slack, 0, 0, 0);
	if (timer) {
		adapt_woke(s, timer, rc == 0);
		if (rc == -ETIMEDOUT)
			return 0; /* and the next call spins through the window */
	}
	if (rc == -ETIMEDOUT && wake == deadline_ns)
		return -ETIMEDOUT;
	return 0;
}

int ipk__ring_map_bell(ipk_ring_sub *s)
{
	void *page;
	int r;

	r = ipk__ring_map_rw(s->bell_fd, IPK__RING_BELL_SIZE, &page);
	if (r < 0)
		return r;
	s->bell = page;
	if (atomic_load_explicit(&s->bell->magic, memory_order_relaxed) != IPK__RING_BELL_MAGIC)
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
#define SLOT_BASE ((off_t)IPK__RING_BELL_SIZE)
#define SLOTS_MAX (1u << 20)

void ipk__ring_take_slot(ipk_ring_sub *s)
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

IPK_API int ipk_ring_subscribers(const ipk_ring *r)
{
	uint32_t n = 0, hi;

	IPK_CHECK_ARG(r && r->bell);
	/* Relaxed: see ipk__ring_take_slot(). */
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

/* After a receive found nothing: clear the eventfd, then let the helper
 * watch from here (clear first, or a wake-up in between would be lost). */
void ipk__ring_rearm_helper(ipk_ring_sub *s)
{
	uint64_t v;

	if (!s->helper)
		return;
	(void)ipk__read_eintr(s->efd, &v, sizeof(v));
	/* Relaxed: the helper reads it after its acquire load of armed. */
	atomic_store_explicit(&s->seen_pos, s->pos, memory_order_relaxed);
	/* Release: pairs with the helper's acquire load of armed. */
	atomic_store_explicit(&s->armed, 1, memory_order_release);
	ipk__ring_futex_wake(&s->armed, true);
}

/* ---- pollable descriptor ------------------------------------------------ */

/*
 * The helper thread turns "head moved past seen_pos, or the publisher is
 * gone or replaced" into a readable eventfd. It then disarms itself until a
 * receive finds nothing (ipk__ring_rearm_helper()). It keeps its own pidfd and epoch
 * so it shares nothing with the receiving thread but the atomics.
 */
static void *helper_main(void *arg)
{
	ipk_ring_sub *s = arg;
	uint64_t epoch = atomic_load_explicit(&s->seen_epoch, memory_order_relaxed);
	pid_t pid = atomic_load_explicit(&s->hdr->pid, memory_order_relaxed);
	uint64_t start = atomic_load_explicit(&s->hdr->start, memory_order_relaxed);
	int pidfd = s->no_pidfd ? -1 : ipk__pidfd_open(pid);
	bool pid_reused = !ipk__pid_alive(pid, start, -1); /* as in ipk__ring_watch_publisher() */
	const uint64_t one = 1;

	/* Relaxed: close() sets it and then wakes us; a late look is fine. */
	while (!atomic_load_explicit(&s->stop, memory_order_relaxed)) {
		int64_t wake = ipk__now_ns() + WAIT_SLICE_NS;
		bool fire;

		/* Acquire: pairs with the release store in ipk__ring_rearm_helper(). */
		if (!atomic_load_explicit(&s->armed, memory_order_acquire)) {
			(void)ipk__ring_futex_wait(&s->armed, 0, wake, true);
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
			pid_reused = !ipk__pid_alive(pid, start, -1);
		}
		dead = pid_reused || !ipk__pid_alive(pid, start, pidfd);
		/* Acquire (both): pair with the release stores of head in
		 * seal() and of state in ipk_ring_close(). */
		fire = head_past(s, seen) ||
		       e != atomic_load_explicit(&s->seen_epoch, memory_order_relaxed) ||
		       atomic_load_explicit(&s->hdr->state, memory_order_acquire) !=
			       IPK__RING_STATE_LIVE ||
		       (dead && !atomic_load_explicit(&s->dead_told_hint, memory_order_relaxed));
		if (fire) {
			atomic_store_explicit(&s->armed, 0, memory_order_relaxed);
			(void)ipk__write_eintr(s->efd, &one, sizeof(one));
			continue;
		}
		(void)sleep_on_bell(s, s->helper_bell_fd, seen, wake);
	}
	if (pidfd >= 0)
		ipk__close(pidfd);
	return NULL;
}

IPK_API int ipk_ring_fd(ipk_ring_sub *s)
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
		s->helper_bell_fd = ipk__ring_reopen_own(s->bell_fd);
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

void ipk__ring_stop_helper(ipk_ring_sub *s)
{
	if (!s->helper)
		return;
	atomic_store_explicit(&s->stop, true, memory_order_relaxed);
	atomic_store_explicit(&s->armed, 1, memory_order_relaxed);
	ipk__ring_futex_wake(&s->armed, true);
	if (s->bell) {
		/* Spurious wake-ups for other sleepers are harmless. */
		atomic_fetch_add_explicit(&s->bell->futex, 1, memory_order_relaxed);
		ipk__ring_futex_wake(&s->bell->futex, false);
	}
	(void)pthread_join(s->thread, NULL);
}
