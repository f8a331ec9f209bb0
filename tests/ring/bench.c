/* SPDX-License-Identifier: MIT */
/*
 * bench.c - bench-ring: a measurement, not a test (not installed, not run
 * by meson test). It measures the ring against raw references in ONE run,
 * repeats every comparison REPS times and prints the medians and the
 * ratios to the ring's targets. The machine's speed moves by factors of
 * two and three from one second to the next (a virtual CPU lands on
 * another core), and only measurements taken side by side compare: a
 * round-trip repetition runs the raw reference and the ring in the same
 * two processes, taking turns every BLOCK round trips; a throughput one
 * likewise, in TURNS turns per channel. A ratio is the median of the
 * per-repetition ratios. Per comparison:
 *
 *   round trip (two processes pinned to CPUs 0 and 1, p50/p99):
 *     raw shared-memory spin ping-pong vs ring spin (IPK_RING_SPIN), 64 B
 *       and 4 KiB (raw: a slot holding a sequence word, then the size
 *       payload bytes - a 64-byte message spans two cache lines, as in
 *       the ring, whose record is a 16-byte header and the payload);
 *     raw futex ping-pong (a FUTEX_WAKE per send, FUTEX_WAIT per receive)
 *       vs ring blocking (subscribers sleep on the doorbell's futex), 64 B;
 *     Unix stream socket (socketpair) vs ring spin, 64 B;
 *   one-way throughput (pinned; the receiver copies every byte out and
 *   checks the sequence number in each message): a raw single-producer
 *   single-consumer byte stream with batched position updates (cached
 *   positions, a store per 2 KiB) vs the ring, message by message and in
 *   batches of BATCHV (ipk_ring_publish_batch(), ipk_ring_recv_batch()),
 *   at 64 B, 4 KiB and 64 KiB (the entries of a batch lie one after the
 *   other in one array, as a caller's would);
 *   fan-out: 1 -> 8 and 1 -> 32 blocking subscriber processes (unpinned:
 *   they share the two CPUs) at a modest rate; lossless subscribers and
 *   per-subscriber throughput.
 *
 * Usage: bench-ring [REPS [ROUNDS [PART]]]   (defaults 9, 20000 round
 * trips (the blocking and socket ones use ROUNDS / 5), and all parts; PART
 * "spin" runs only the spin round trips, "tputSIZE" only the one-way
 * channels at SIZE bytes, for quick comparisons)
 */
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <linux/futex.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>

#include "ringt.h"

#define WARM 1000
#define BLOCK 500 /* round trips on one channel before the other's turn */
#define MAXREPS 31

static long rounds = 20000;
static int reps = 9;

static void pin(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set) < 0)
		fprintf(stderr, "bench-ring: cannot pin to CPU %d: %s\n", cpu, strerror(errno));
}

static void unpin(void)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	for (int i = 0; i < CPU_SETSIZE; i++)
		CPU_SET(i, &set);
	(void)sched_setaffinity(0, sizeof(set), &set);
}

static int cmp64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

static int cmpd(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static int64_t median64(int64_t *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp64);
	return v[n / 2];
}

static double mediand(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmpd);
	return v[n / 2];
}

static void *shared(size_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	T_TRUE(p != MAP_FAILED);
	return p;
}

static void futex_wait(_Atomic uint32_t *w, uint32_t val)
{
	(void)syscall(SYS_futex, w, FUTEX_WAIT, val, NULL, NULL, 0);
}

static void futex_wake(_Atomic uint32_t *w)
{
	(void)syscall(SYS_futex, w, FUTEX_WAKE, INT_MAX, NULL, NULL, 0);
}

/* ---- round trips --------------------------------------------------------- */

enum kind { RAW_SPIN, RING_SPIN, RAW_FUTEX, RING_BLOCK, SOCKET };

/* raw: one slot per direction, a sequence word then the payload */
struct slot {
	_Alignas(64) union {
		_Atomic uint64_t seq;  /* spin variant */
		_Atomic uint32_t word; /* futex variant */
	};
	unsigned char payload[];
};

struct pp {
	enum kind kind;
	size_t size;
	struct slot *slots, *out, *in;     /* raw: both slots, ours, theirs */
	size_t slot_len;                   /* raw */
	ipk_ring *r;                       /* ring: ours */
	ipk_ring_sub *s;                   /* ring: the other side's */
	char ping[64], pong[64];           /* ring: the parent's, the child's */
	int sv[2], fd;                     /* socket: the pair, ours */
	unsigned char buf[64 * 1024 + 64]; /* what we send and receive */
};

static void pp_send(struct pp *c, uint64_t i)
{
	ssize_t n;

	switch (c->kind) {
	case RAW_SPIN:
		memcpy(c->out->payload, c->buf, c->size);
		atomic_store_explicit(&c->out->seq, i, memory_order_release);
		break;
	case RAW_FUTEX:
		memcpy(c->out->payload, c->buf, c->size);
		atomic_store_explicit(&c->out->word, (uint32_t)i, memory_order_release);
		futex_wake(&c->out->word);
		break;
	case RING_SPIN:
	case RING_BLOCK:
		memcpy(c->buf, &i, 8);
		T_OK(ipk_ring_publish(c->r, c->buf, c->size));
		break;
	case SOCKET:
		n = write(c->fd, c->buf, c->size);
		T_EQ(n, (ssize_t)c->size);
		break;
	}
}

static void pp_recv(struct pp *c, uint64_t i)
{
	size_t got = 0;
	uint32_t w;

	switch (c->kind) {
	case RAW_SPIN:
		while (atomic_load_explicit(&c->in->seq, memory_order_acquire) != i)
			;
		memcpy(c->buf, c->in->payload, c->size);
		break;
	case RAW_FUTEX:
		while ((w = atomic_load_explicit(&c->in->word, memory_order_acquire)) !=
		       (uint32_t)i)
			futex_wait(&c->in->word, w);
		memcpy(c->buf, c->in->payload, c->size);
		break;
	case RING_SPIN:
	case RING_BLOCK:
		T_EQ(ipk_ring_recv(c->s, c->buf, sizeof(c->buf), RT_TIMEOUT), (ssize_t)c->size);
		break;
	case SOCKET:
		while (got < c->size) {
			ssize_t n = read(c->fd, c->buf + got, c->size - got);

			T_TRUE(n > 0);
			got += (size_t)n;
		}
		break;
	}
}

static const char *kind_name[] = { "raw spin", "ring spin", "raw futex", "ring blocking",
				   "unix stream socket" };

/* A side's end of channel @kind before the fork (raw slots and socket
 * pair are made here; the ping ring's publisher is the parent's). */
static void pp_init(struct pp *c, enum kind kind, size_t size, uint64_t cap, int k)
{
	struct ipk_ring_opts ro = { .capacity = cap };

	memset(c, 0, sizeof(*c));
	c->kind = kind;
	c->size = size;
	c->fd = -1;
	memset(c->buf, 7, size);
	if (kind == RAW_SPIN || kind == RAW_FUTEX) {
		c->slot_len = 64 + ((size + 63) & ~(size_t)63);
		c->slots = shared(2 * c->slot_len);
	}
	if (kind == SOCKET)
		T_SYS(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, c->sv));
	if (kind == RING_SPIN || kind == RING_BLOCK) {
		char tag[16];

		snprintf(tag, sizeof(tag), "bping%d", k);
		rt_name(c->ping, sizeof(c->ping), tag);
		snprintf(tag, sizeof(tag), "bpong%d", k);
		rt_name(c->pong, sizeof(c->pong), tag);
		T_OK(ipk_ring_create(c->ping, &ro, &c->r));
	}
}

/* After the fork: side @child's slots, socket end and rings. */
static void pp_side(struct pp *c, bool child, uint64_t cap)
{
	struct ipk_ring_sub_opts sopt = { .flags = c->kind == RING_SPIN ? IPK_RING_SPIN : 0 };
	struct ipk_ring_opts ro = { .capacity = cap };
	if (c->slots) {
		struct slot *a = c->slots, *b = (struct slot *)((char *)c->slots + c->slot_len);

		c->out = child ? b : a;
		c->in = child ? a : b;
	}
	if (c->kind == SOCKET)
		c->fd = c->sv[child];
	if (c->r && child) {
		/* The parent's publisher: not ours to close. */
		T_OK(ipk_ring_create(c->pong, &ro, &c->r));
		T_OK(ipk_ring_open(c->ping, &sopt, &c->s));
	} else if (c->r) {
		T_OK(ipk_ring_open(c->pong, &sopt, &c->s));
	}
}

static void pp_fini(struct pp *c, bool child)
{
	if (c->r) {
		ipk_ring_sub_close(c->s);
		ipk_ring_close(c->r);
	}
	if (child)
		return;
	if (c->slots)
		munmap(c->slots, 2 * c->slot_len);
	if (c->kind == SOCKET) {
		close(c->sv[0]);
		close(c->sv[1]);
	}
}

/*
 * The round trips of @n + WARM on each of two channels, in blocks of
 * BLOCK taken in turn by the same two processes: whatever the machine
 * does to those processes (a virtual CPU moving to another core changes
 * the round trip by factors of two and more) happens to both channels
 * alike. The parent times them; rt[k] gets channel k's, sorted, and its
 * p50 and p99 go to p50[k], p99[k].
 */
static void pingpong(const enum kind kind[2], size_t size, uint64_t cap, long n, int64_t *rt[2],
		     int64_t p50[2], int64_t p99[2])
{
	static struct pp c[2];
	struct rt_step ready;
	const long total = n + WARM;
	bool child;
	pid_t pid;

	for (int k = 0; k < 2; k++)
		pp_init(&c[k], kind[k], size, cap, k);
	rt_step_init(&ready);
	pid = fork();
	T_SYS(pid);
	child = pid == 0;
	if (child) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		pin(1);
		for (int k = 0; k < 2; k++)
			pp_side(&c[k], true, cap);
		rt_signal(&ready);
	} else {
		pin(0);
		rt_await(&ready);
		for (int k = 0; k < 2; k++)
			pp_side(&c[k], false, cap);
	}
	for (long from = 0; from < total; from += BLOCK) {
		long to = from + BLOCK < total ? from + BLOCK : total;

		for (int k = 0; k < 2; k++) {
			for (uint64_t i = (uint64_t)from + 1; i <= (uint64_t)to; i++) {
				int64_t t0;

				if (child) {
					pp_recv(&c[k], i);
					pp_send(&c[k], i);
					continue;
				}
				t0 = rt_now();
				pp_send(&c[k], i);
				pp_recv(&c[k], i);
				if (i > WARM)
					rt[k][i - WARM - 1] = rt_now() - t0;
			}
		}
	}
	for (int k = 0; k < 2; k++)
		pp_fini(&c[k], child);
	if (child)
		_exit(0);
	t_wait_exit(pid, 0);
	close(ready.fd[0]);
	close(ready.fd[1]);
	for (int k = 0; k < 2; k++) {
		qsort(rt[k], (size_t)n, sizeof(*rt[k]), cmp64);
		p50[k] = rt[k][n / 2];
		p99[k] = rt[k][n * 99 / 100];
	}
}

/*
 * Ring capacities for the round trips. Every message walks on through the
 * ring, so the capacity is the working set: 1 MiB for 64-byte messages
 * (a tail step of 64 KiB, 819 records, keeps the overwrite mark still),
 * 128 KiB for 4 KiB messages (32 records; the two rings a process touches
 * stay in a 512 KiB L2 - with 1 MiB rings the p99 is 2-3 times the raw
 * one here, which the full run prints too).
 */
#define CAP_64 ((uint64_t)1 << 20)
#define CAP_4K ((uint64_t)128 << 10)

struct rtres {
	int64_t raw_p50, raw_p99, ring_p50, ring_p99; /* medians */
	double r50, r99;                              /* medians of the ratios */
};

/* REPS runs of @raw and @ring (rings of @cap bytes) taking turns. */
static struct rtres rt_pair(enum kind raw, enum kind ring, size_t size, uint64_t cap, long n,
			    int64_t *rt[2])
{
	int64_t a50[MAXREPS], a99[MAXREPS], b50[MAXREPS], b99[MAXREPS];
	double r50[MAXREPS], r99[MAXREPS];
	struct rtres res;

	printf("  %s vs %s, %zu B, %llu KiB rings, p50/p99 ns per run:", kind_name[raw],
	       kind_name[ring], size, (unsigned long long)cap >> 10);
	for (int k = 0; k < reps; k++) {
		const enum kind kinds[2] = { raw, ring };
		int64_t p50[2], p99[2];

		pingpong(kinds, size, cap, n, rt, p50, p99);
		a50[k] = p50[0];
		a99[k] = p99[0];
		b50[k] = p50[1];
		b99[k] = p99[1];
		r50[k] = (double)b50[k] / (double)a50[k];
		r99[k] = (double)b99[k] / (double)a99[k];
		printf(" %lld/%lld|%lld/%lld", (long long)a50[k], (long long)a99[k],
		       (long long)b50[k], (long long)b99[k]);
	}
	res.raw_p50 = median64(a50, reps);
	res.raw_p99 = median64(a99, reps);
	res.ring_p50 = median64(b50, reps);
	res.ring_p99 = median64(b99, reps);
	res.r50 = mediand(r50, reps);
	res.r99 = mediand(r99, reps);
	printf("\n");
	fflush(stdout);
	return res;
}

static void rt_compare(const char *what, struct rtres r, double p50_max, double p99_max)
{
	printf("%-34s raw p50 %6lld p99 %6lld ns | ring p50 %6lld p99 %6lld ns | ratio p50 %.2f",
	       what, (long long)r.raw_p50, (long long)r.raw_p99, (long long)r.ring_p50,
	       (long long)r.ring_p99, r.r50);
	if (p50_max > 0)
		printf(" (target <= %.1f: %s)", p50_max, r.r50 <= p50_max ? "met" : "MISSED");
	printf(" p99 %.2f", r.r99);
	if (p99_max > 0)
		printf(" (target <= %.1f: %s)", p99_max, r.r99 <= p99_max ? "met" : "MISSED");
	printf("\n");
	fflush(stdout);
}

/* ---- one-way throughput -------------------------------------------------- */

#define STREAM_CAP ((uint64_t)8 << 20)
#define STREAM_BATCH 2048 /* bytes between position stores in the raw stream */
#define BATCHV 32         /* messages per batch call, on either side */
#define TURNS 12          /* turns each channel takes in one repetition */

/* The one-way channels: the raw stream, the ring, the ring published and
 * received in batches of BATCHV (the same ring and subscriber as the
 * ring's). */
enum { RAW, RING, RINGV, NCHAN };

static const char *chan_name[NCHAN] = { "raw", "ring", "batch" };

/* Shared by the two processes of a one-way repetition. */
struct stream {
	_Alignas(64) _Atomic uint64_t prod; /* raw producer: bytes written */
	_Alignas(64) _Atomic uint64_t cons; /* raw consumer: bytes read */
	_Alignas(64) _Atomic uint64_t done; /* consumer: turns finished */
	int64_t t_start[NCHAN * TURNS];     /* producer: first send of the turn */
	int64_t t_end[NCHAN * TURNS];       /* consumer: last message of the turn */
	uint64_t got[NCHAN * TURNS], lost[NCHAN * TURNS], bad;
	_Alignas(4096) unsigned char data[STREAM_CAP]; /* the raw stream */
};

/* One side's state, kept from turn to turn. */
struct tw_side {
	struct stream *st;
	size_t size;
	uint64_t per_turn;
	uint64_t sent[2];                      /* producer: messages sent, raw and ring */
	uint64_t pos, shown, other;            /* raw: our position, last shown, theirs */
	ipk_ring *r;                           /* producer */
	ipk_ring_sub *s;                       /* consumer */
	uint64_t last, lost;                   /* ring consumer: last seq, ipk_ring_lost() */
	unsigned char buf[BATCHV * 64 * 1024]; /* entry j of a batch at j * size, in one array */
};

static uint64_t msgs_for(size_t size)
{
	return size <= 64 ? 12000000 : (uint64_t)(1536u << 20) / size;
}

/* Channel of turn @t: each order of the three in turn, so that each
 * channel follows each other as often. */
static int turn_chan(int t)
{
	static const int order[6][NCHAN] = { { 0, 1, 2 }, { 1, 2, 0 }, { 2, 0, 1 },
					     { 0, 2, 1 }, { 2, 1, 0 }, { 1, 0, 2 } };

	return order[(t / NCHAN) % 6][t % NCHAN];
}

static void raw_produce(struct tw_side *w)
{
	struct stream *st = w->st;

	for (uint64_t k = 0; k < w->per_turn; k++) {
		uint64_t i = ++w->sent[0];

		while (w->pos + w->size - w->other > STREAM_CAP) {
			if (w->shown != w->pos) {
				/* Release: the bytes before pos are written. */
				atomic_store_explicit(&st->prod, w->pos, memory_order_release);
				w->shown = w->pos;
			}
			/* Acquire: the consumer is done with what lies before. */
			w->other = atomic_load_explicit(&st->cons, memory_order_acquire);
		}
		memcpy(w->buf, &i, 8);
		memcpy(st->data + (w->pos % STREAM_CAP), w->buf, w->size);
		w->pos += w->size;
		if (w->pos - w->shown >= STREAM_BATCH) {
			atomic_store_explicit(&st->prod, w->pos, memory_order_release);
			w->shown = w->pos;
		}
	}
	atomic_store_explicit(&st->prod, w->pos, memory_order_release);
	w->shown = w->pos;
}

/* Return: messages received (all of the turn's). */
static uint64_t raw_consume(struct tw_side *w, uint64_t first)
{
	struct stream *st = w->st;
	uint64_t seq;

	for (uint64_t i = first; i < first + w->per_turn; i++) {
		while (w->pos == w->other)
			w->other = atomic_load_explicit(&st->prod, memory_order_acquire);
		memcpy(w->buf, st->data + (w->pos % STREAM_CAP), w->size);
		memcpy(&seq, w->buf, 8);
		st->bad += seq != i;
		w->pos += w->size;
		if (w->pos - w->shown >= STREAM_BATCH || w->pos == w->other) {
			atomic_store_explicit(&st->cons, w->pos, memory_order_release);
			w->shown = w->pos;
		}
	}
	return w->per_turn;
}

static void ring_produce(struct tw_side *w)
{
	for (uint64_t k = 0; k < w->per_turn; k++) {
		uint64_t i = ++w->sent[1];

		memcpy(w->buf, &i, 8);
		T_OK(ipk_ring_publish(w->r, w->buf, w->size));
	}
}

static void ringv_produce(struct tw_side *w)
{
	struct ipk_msg v[BATCHV];

	for (uint64_t k = 0; k < w->per_turn; k += BATCHV) {
		size_t n = w->per_turn - k < BATCHV ? w->per_turn - k : BATCHV;

		for (size_t j = 0; j < n; j++) {
			uint64_t i = ++w->sent[1];

			memcpy(w->buf + j * w->size, &i, 8);
			v[j] = (struct ipk_msg){ .buf = w->buf + j * w->size, .len = w->size };
		}
		T_EQ(ipk_ring_publish_batch(w->r, v, (unsigned)n), (int)n);
	}
}

/* Return: messages received, up to the turn's last (@last_seq), in
 * ipk_ring_recv_batch() calls of up to BATCHV. */
static uint64_t ringv_consume(struct tw_side *w, uint64_t last_seq)
{
	struct ipk_msg m[BATCHV];
	uint64_t seq = 0, got = 0;

	while (seq != last_seq) {
		int n;

		for (int j = 0; j < BATCHV; j++)
			m[j] = (struct ipk_msg){ .buf = w->buf + j * w->size, .len = w->size };
		n = ipk_ring_recv_batch(w->s, m, BATCHV, RT_TIMEOUT);
		T_TRUE(n > 0);
		for (int j = 0; j < n; j++) {
			T_EQ(m[j].len, w->size);
			memcpy(&seq, w->buf + j * w->size, 8);
			w->st->bad += seq <= w->last;
			w->last = seq;
		}
		got += (uint64_t)n;
	}
	return got;
}

/* Return: messages received, up to the turn's last (@last_seq). */
static uint64_t ring_consume(struct tw_side *w, uint64_t last_seq)
{
	uint64_t seq = 0, got = 0;
	ssize_t len;

	while (seq != last_seq) {
		len = ipk_ring_recv(w->s, w->buf, w->size, RT_TIMEOUT);
		T_EQ(len, (ssize_t)w->size);
		memcpy(&seq, w->buf, 8);
		w->st->bad += seq <= w->last;
		w->last = seq;
		got++;
	}
	return got;
}

/*
 * One repetition: NCHAN * TURNS turns of msgs_for(@size) / TURNS
 * messages, the channels' by turns (turn_chan()), sent by the parent
 * (CPU 0) to the same child (CPU 1), which copies every message out and
 * checks its sequence number. A turn is timed from its first send to its
 * last receive, and starts when the last one is received: the channels
 * see the machine alike. @rate: messages/s delivered per channel; @lost:
 * by the ring (both ring channels).
 */
static void oneway(size_t size, double rate[NCHAN], uint64_t *lost)
{
	struct ipk_ring_sub_opts spin = { .flags = IPK_RING_SPIN };
	struct ipk_ring_opts o = { .capacity = STREAM_CAP };
	struct stream *st = shared(sizeof(*st));
	static struct tw_side w;
	struct rt_step ready;
	double time[NCHAN] = { 0 }, got[NCHAN] = { 0 };
	char name[64];
	pid_t pid;

	memset(&w, 0, sizeof(w));
	w.st = st;
	w.size = size;
	w.per_turn = msgs_for(size) / TURNS;
	memset(w.buf, 3, BATCHV * size);
	rt_step_init(&ready);
	rt_name(name, sizeof(name), "btput");
	T_OK(ipk_ring_create(name, &o, &w.r));
	pid = fork();
	T_SYS(pid);
	if (pid == 0) {
		uint64_t next[2] = { 1, 1 }; /* the first seq of the next turn, raw and ring */

		prctl(PR_SET_PDEATHSIG, SIGKILL);
		pin(1);
		T_OK(ipk_ring_open(name, &spin, &w.s));
		rt_signal(&ready);
		for (int t = 0; t < NCHAN * TURNS; t++) {
			int c = turn_chan(t);
			bool ring = c != RAW;

			st->got[t] = c == RAW    ? raw_consume(&w, next[0])
				     : c == RING ? ring_consume(&w, next[1] + w.per_turn - 1)
						 : ringv_consume(&w, next[1] + w.per_turn - 1);
			next[ring] += w.per_turn;
			st->t_end[t] = rt_now();
			st->lost[t] = ipk_ring_lost(w.s) - w.lost;
			w.lost = ipk_ring_lost(w.s);
			/* Release: the turn's figures are written. */
			atomic_store_explicit(&st->done, (uint64_t)t + 1, memory_order_release);
		}
		ipk_ring_sub_close(w.s);
		_exit(0);
	}
	pin(0);
	rt_await(&ready);
	for (int t = 0; t < NCHAN * TURNS; t++) {
		/* Acquire: pairs with the consumer's store of done. */
		while (atomic_load_explicit(&st->done, memory_order_acquire) < (uint64_t)t)
			;
		st->t_start[t] = rt_now();
		switch (turn_chan(t)) {
		case RAW:
			raw_produce(&w);
			break;
		case RING:
			ring_produce(&w);
			break;
		default:
			ringv_produce(&w);
			break;
		}
	}
	t_wait_exit(pid, 0);
	ipk_ring_close(w.r);
	if (st->bad)
		T_FAIL("%zu B: %llu messages out of order", size, (unsigned long long)st->bad);
	*lost = 0;
	for (int t = 0; t < NCHAN * TURNS; t++) {
		int k = turn_chan(t);

		time[k] += (double)(st->t_end[t] - st->t_start[t]) / 1e9;
		got[k] += (double)st->got[t];
		*lost += st->lost[t];
	}
	for (int k = 0; k < NCHAN; k++)
		rate[k] = got[k] / time[k];
	munmap(st, sizeof(*st));
	close(ready.fd[0]);
	close(ready.fd[1]);
}

struct twres {
	double rate[NCHAN];  /* medians, M msg/s */
	double ratio[NCHAN]; /* medians of the ratios to raw */
	uint64_t lost;       /* by the ring, in all runs */
};

/* REPS repetitions of oneway(). */
static struct twres oneway_reps(size_t size)
{
	double m[NCHAN][MAXREPS], r[NCHAN][MAXREPS];
	struct twres res = { 0 };

	printf("  one-way %5zu B, raw|ring|batch M msg/s per run:", size);
	for (int k = 0; k < reps; k++) {
		double rate[NCHAN];
		uint64_t lost;

		oneway(size, rate, &lost);
		for (int c = 0; c < NCHAN; c++) {
			m[c][k] = rate[c] / 1e6;
			r[c][k] = rate[c] / rate[RAW];
		}
		res.lost += lost;
		printf(" %.2f|%.2f|%.2f", m[RAW][k], m[RING][k], m[RINGV][k]);
		if (lost)
			printf(" (lost %llu)", (unsigned long long)lost);
	}
	printf("\n");
	fflush(stdout);
	for (int c = 0; c < NCHAN; c++) {
		res.rate[c] = mediand(m[c], reps);
		res.ratio[c] = mediand(r[c], reps);
	}
	return res;
}

/* ---- fan-out ------------------------------------------------------------- */

#define FAN_RATE 10000 /* messages per second */
#define FAN_MSGS 10000
#define FAN_MAX 32

struct fan {
	uint64_t got[FAN_MAX], lost[FAN_MAX], bad[FAN_MAX];
	int64_t t_first[FAN_MAX], t_last[FAN_MAX];
};

static void fan_sub(const char *name, struct fan *f, int k, struct rt_step *ready)
{
	unsigned char buf[64];
	uint64_t seq, last = 0;
	ipk_ring_sub *s;
	ssize_t len;

	T_OK(ipk_ring_open(name, NULL, &s)); /* blocking: sleeps on the futex */
	rt_signal(ready);
	while ((len = ipk_ring_recv(s, buf, sizeof(buf), RT_TIMEOUT)) == 64) {
		memcpy(&seq, buf, 8);
		f->bad[k] += seq <= last;
		last = seq;
		if (f->got[k]++ == 0)
			f->t_first[k] = rt_now();
		f->t_last[k] = rt_now();
	}
	f->lost[k] = ipk_ring_lost(s);
	T_EQ(len, -EPIPE);
	ipk_ring_sub_close(s);
}

/* One run with @nsub subscribers: how many were lossless; per-subscriber
 * throughput (messages/s, first publish to its last message), the
 * publisher's achieved rate. */
static int fanout(int nsub, double *per_sub_min, double *per_sub_med, double *pub_rate)
{
	struct ipk_ring_opts o = { .capacity = 1 << 20 };
	struct fan *f = shared(sizeof(*f));
	double rates[FAN_MAX];
	unsigned char buf[64] = { 0 };
	struct rt_step ready;
	pid_t pids[FAN_MAX];
	int64_t t0, t1;
	int lossless = 0;
	char name[64];
	ipk_ring *r;

	unpin();
	rt_name(name, sizeof(name), "bfan");
	rt_step_init(&ready);
	T_OK(ipk_ring_create(name, &o, &r));
	for (int k = 0; k < nsub; k++) {
		pids[k] = fork();
		T_SYS(pids[k]);
		if (pids[k] == 0) {
			prctl(PR_SET_PDEATHSIG, SIGKILL);
			fan_sub(name, f, k, &ready);
			_exit(0);
		}
	}
	for (int k = 0; k < nsub; k++)
		rt_await(&ready);
	/* FAN_RATE messages per second, in bursts every millisecond */
	t0 = rt_now();
	for (uint64_t i = 1; i <= FAN_MSGS; i++) {
		memcpy(buf, &i, 8);
		T_OK(ipk_ring_publish(r, buf, sizeof(buf)));
		if (i % (FAN_RATE / 1000) == 0) {
			int64_t due = t0 + (int64_t)(i * IPK_SEC / FAN_RATE);
			struct timespec ts = { .tv_sec = due / IPK_SEC, .tv_nsec = due % IPK_SEC };

			while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
				;
		}
	}
	t1 = rt_now();
	ipk_ring_close(r);
	for (int k = 0; k < nsub; k++)
		t_wait_exit(pids[k], 0);
	for (int k = 0; k < nsub; k++) {
		if (f->bad[k])
			T_FAIL("fan-out: subscriber %d got messages out of order", k);
		if (f->got[k] + f->lost[k] != FAN_MSGS)
			T_FAIL("fan-out: subscriber %d: got %llu + lost %llu != %d", k,
			       (unsigned long long)f->got[k], (unsigned long long)f->lost[k],
			       FAN_MSGS);
		lossless += f->lost[k] == 0;
		/* from the first publish to its last message */
		rates[k] = (double)f->got[k] / ((double)(f->t_last[k] - t0) / 1e9);
	}
	qsort(rates, (size_t)nsub, sizeof(rates[0]), cmpd);
	*per_sub_min = rates[0];
	*per_sub_med = rates[nsub / 2];
	*pub_rate = FAN_MSGS / ((double)(t1 - t0) / 1e9);
	munmap(f, sizeof(*f));
	close(ready.fd[0]);
	close(ready.fd[1]);
	return lossless;
}

static void loadavg(const char *when)
{
	char buf[128] = "?";
	FILE *fp = fopen("/proc/loadavg", "r");

	if (fp) {
		if (!fgets(buf, sizeof(buf), fp))
			buf[0] = 0;
		fclose(fp);
	}
	printf("load average %s: %s", when, buf);
	fflush(stdout);
}

int main(int argc, char **argv)
{
	struct rtres spin64, spin4k, spin4k_big, block, sock;
	static const size_t tput_sizes[] = { 64, 4096, 65536 };
	struct twres tw[3];
	int64_t *rt[2];

	if (argc > 1)
		reps = atoi(argv[1]);
	if (argc > 2)
		rounds = atol(argv[2]);
	if (reps < 1 || reps > MAXREPS || rounds < 100)
		T_FAIL("usage: bench-ring [REPS (1-%d) [ROUNDS (>= 100)] [spin|tputSIZE]]",
		       MAXREPS);
	if (argc > 3 && strncmp(argv[3], "tput", 4) == 0) {
		size_t size = (size_t)atol(argv[3] + 4);

		if (size < 16 || size > 65536)
			T_FAIL("tputSIZE: SIZE from 16 to 65536");
		tw[0] = oneway_reps(size);
		for (int c = 0; c < NCHAN; c++)
			printf("%s %.2f M msg/s (%.2f of raw)%s", chan_name[c], tw[0].rate[c],
			       tw[0].ratio[c], c + 1 < NCHAN ? ", " : "\n");
		return 0;
	}
	rt[0] = calloc((size_t)rounds, sizeof(*rt[0]));
	rt[1] = calloc((size_t)rounds, sizeof(*rt[1]));
	T_TRUE(rt[0] && rt[1]);
	if (argc > 3 && strcmp(argv[3], "spin") == 0) {
		spin64 = rt_pair(RAW_SPIN, RING_SPIN, 64, CAP_64, rounds, rt);
		spin4k = rt_pair(RAW_SPIN, RING_SPIN, 4096, CAP_4K, rounds, rt);
		rt_compare("spin round trip 64 B", spin64, 1.2, 2.0);
		rt_compare("spin round trip 4 KiB", spin4k, 1.2, 2.0);
		free(rt[0]);
		free(rt[1]);
		return 0;
	}
	loadavg("at start");
	printf("every figure: the median of %d runs; round trips: raw and ring taking turns "
	       "every %d in the same two processes, pinned to CPUs 0 and 1; throughput: likewise, "
	       "%d turns each\n",
	       reps, BLOCK, TURNS);

	printf("round trips (%ld each; blocking and socket %ld):\n", rounds, rounds / 5);
	spin64 = rt_pair(RAW_SPIN, RING_SPIN, 64, CAP_64, rounds, rt);
	spin4k = rt_pair(RAW_SPIN, RING_SPIN, 4096, CAP_4K, rounds, rt);
	spin4k_big = rt_pair(RAW_SPIN, RING_SPIN, 4096, CAP_64, rounds, rt);
	block = rt_pair(RAW_FUTEX, RING_BLOCK, 64, CAP_64, rounds / 5, rt);
	sock = rt_pair(SOCKET, RING_SPIN, 64, CAP_64, rounds / 5, rt);

	printf("one-way throughput (receiver copies every byte):\n");
	for (int i = 0; i < 3; i++)
		tw[i] = oneway_reps(tput_sizes[i]);

	printf("fan-out, 64 B at %d msg/s, %d messages, blocking subscribers, unpinned:\n",
	       FAN_RATE, FAN_MSGS);
	static const int fans[] = { 8, 32 };
	int lossless[2];
	double fmin[2], fmed[2];

	for (int i = 0; i < 2; i++) {
		int ll[MAXREPS];
		double mn[MAXREPS], md[MAXREPS], pr;

		for (int k = 0; k < reps && k < 3; k++) {
			ll[k] = fanout(fans[i], &mn[k], &md[k], &pr);
			printf("  1 -> %2d run %d: %d/%d lossless, per subscriber min %.0f median "
			       "%.0f "
			       "msg/s, published at %.0f msg/s\n",
			       fans[i], k + 1, ll[k], fans[i], mn[k], md[k], pr);
			fflush(stdout);
		}
		int n = reps < 3 ? reps : 3;
		int64_t l64[MAXREPS];

		for (int k = 0; k < n; k++)
			l64[k] = ll[k];
		lossless[i] = (int)median64(l64, n);
		fmin[i] = mediand(mn, n);
		fmed[i] = mediand(md, n);
	}

	printf("\n==== summary (medians of %d runs) ====\n", reps);
	rt_compare("spin round trip 64 B", spin64, 1.2, 2.0);
	rt_compare("spin round trip 4 KiB", spin4k, 1.2, 2.0);
	rt_compare("  the same with 1 MiB rings", spin4k_big, 0, 0);
	rt_compare("blocking round trip 64 B (futex)", block, 1.3, 0);
	printf("%-34s socket p50 %6lld p99 %6lld ns | ring spin p50 %lld ns: socket/ring %.1fx\n",
	       "unix stream socket round trip 64 B", (long long)sock.raw_p50,
	       (long long)sock.raw_p99, (long long)sock.ring_p50, 1 / sock.r50);
	for (int i = 0; i < 3; i++) {
		const struct twres *t = &tw[i];
		int best;
		double gbs = t->rate[RING] * 1e6 * (double)tput_sizes[i] / 1e9;

		printf("one-way %5zu B: raw %7.2f | ring %7.2f (%.2f GB/s) | batch %7.2f M "
		       "msg/s; of raw: ring %.2f, batch %.2f; lost %llu in all runs",
		       tput_sizes[i], t->rate[RAW], t->rate[RING], gbs, t->rate[RINGV],
		       t->ratio[RING], t->ratio[RINGV], (unsigned long long)t->lost);
		if (i == 0)
			printf(" (target >= 30 M msg/s: ring %s, batch %s)",
			       t->rate[RING] >= 30 ? "met" : "MISSED",
			       t->rate[RINGV] >= 30 ? "met" : "MISSED");
		if (i == 2)
			printf(" (target ring >= 0.90: %s)",
			       t->ratio[RING] >= 0.9 ? "met" : "MISSED");
		/* Not below raw at any size: with the calls that suit the size
		 * (batches for small messages, one by one for large ones). */
		best = t->ratio[RING] > t->ratio[RINGV] ? RING : RINGV;
		printf(" (target not below raw: %s, %s)\n",
		       t->ratio[best] >= 1.0 ? "met" : "MISSED",
		       best == RING ? "message by message" : "in batches");
	}
	for (int i = 0; i < 2; i++)
		printf("fan-out 1 -> %2d: %d/%d subscribers lossless; per subscriber %.0f msg/s "
		       "median, %.0f min (offered %d)\n",
		       fans[i], lossless[i], fans[i], fmed[i], fmin[i], FAN_RATE);
	loadavg("at end");
	free(rt[0]);
	free(rt[1]);
	return 0;
}
