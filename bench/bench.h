/* SPDX-License-Identifier: MIT */
/*
 * bench/bench.h - the interface between the benchmark engine behind
 * `ipckit bench` and the modules that give it rows.
 *
 * HOW TO ADD ROWS (one module = one file + one registry line):
 *
 *   1. Write bench/<module>.c. Define one struct bench_mech per row and end
 *      the file with the module's table:
 *
 *        static const struct bench_mech mechs[] = {
 *                { .name = "eventfd", .raw = "eventfd-raw", .kinds = BENCH_RTT,
 *                  .desc = "eventfd counter, library", .ops = &my_ops },
 *                { .name = "eventfd-raw", .flags = BENCH_RAW, ... },
 *        };
 *        BENCH_DEFINE_MODULE(notify, mechs);
 *
 *   2. Add the line BENCH_MODULE(notify) to bench/modules.h (the registry)
 *      and the file name to the list in bench/meson.build.
 *
 *   That is all: the engine forks, pins, warms up, times, and the table,
 *   --only, --json, --csv and --plot pick the rows up by name. Also list
 *   the new names in docs/bench-schema.json ("mechanism" examples) and in
 *   docs/ipckit-bench.1.scd.
 *
 * Rules for a row:
 *   - name: unique, lower case, [a-z0-9-]; it is what --only takes and what
 *     the JSON calls "mechanism". A library row names its raw twin in .raw
 *     (the same loop written with plain system calls, no ipckit), and the
 *     table then shows library/raw. Raw rows set BENCH_RAW; reference rows
 *     (the hardware limit) set BENCH_REF.
 *   - Library rows use only the public API (<ipckit/...>); raw rows use only
 *     system calls and libc. Nothing in bench/ includes src/.
 *   - The functions run in the two measuring processes, which are forked by
 *     the engine, pinned to one CPU each, and killed if they hang (see
 *     struct bench_ops). Side BENCH_A times; side BENCH_B echoes or drains.
 *   - Paced cases (BENCH_RATE): A only sends and B only receives, one
 *     message per .send and .recv (never the _many calls); the engine puts
 *     a sequence number and a CLOCK_MONOTONIC timestamp in the first 16
 *     bytes, which must arrive as sent (sizes under 16 are n/a). Opt in
 *     where the row carries a payload and its B side can take messages
 *     without sending any.
 *   - Fan-out cases (BENCH_FANOUT): the same, with env->nsubs processes of
 *     side BENCH_B (env->sub says which), each opening its own end and
 *     receiving every message A sends. Only broadcast rows opt in.
 *   - A message size a row cannot carry is never skipped in silence:
 *     .check (or .prepare) returns BENCH_NA with the reason in env->why,
 *     and the table and JSON show "n/a: reason".
 *   - Objects with names carry env->tag (unique per run and case, contains
 *     the pid) and are removed by .destroy, which runs in the engine's
 *     supervising process even when a side crashed or was killed.
 *
 * Threads: none of this is thread-safe; the engine runs one case at a time.
 */
#ifndef IPCKIT_BENCH_H
#define IPCKIT_BENCH_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* What a row measures (struct bench_mech.kinds, struct bench_env.kind). */
enum {
	BENCH_RTT = 1u << 0,    /* round trip: A sends, B sends it back */
	BENCH_TPUT = 1u << 1,   /* one-way stream A -> B, messages/s and MB/s */
	BENCH_RATE = 1u << 2,   /* paced: A sends at env->rate, B timestamps arrival;
				 * one-way latency and the CPU each side used */
	BENCH_FANOUT = 1u << 3, /* paced, one A and env->nsubs B sides, each of
				 * which receives every message (a broadcast) */
};

/* struct bench_mech.flags */
enum {
	BENCH_RAW = 1u << 0,  /* plain system calls, no ipckit: what the kernel allows */
	BENCH_REF = 1u << 1,  /* the hardware limit (raw shared memory, spinning) */
	BENCH_SPIN = 1u << 2, /* busy-waits: with --same-cpu it only measures the
			       * scheduler's time slice (still run, marked) */
	BENCH_PEER = 1u << 3, /* another library a user might pick instead (ZeroMQ,
			       * nng ...): no raw twin; .version names it */
};

/* The two measuring processes. */
enum bench_side {
	BENCH_A = 0, /* pinned to the first CPU; sends first and keeps the clock */
	BENCH_B = 1, /* pinned to the second CPU; echoes (rtt) or drains (tput) */
};

/* Returned by .check or .prepare: the row cannot run this case; env->why
 * says why. Not an error. */
#define BENCH_NA 1

#define BENCH_WHY_MAX 160

/* One case (row x size x kind), as the row's functions see it. */
struct bench_env {
	const struct bench_mech *mech;
	size_t size;        /* message size of this case, bytes (> 0) */
	unsigned kind;      /* one of BENCH_RTT, BENCH_TPUT, BENCH_RATE, BENCH_FANOUT */
	double rate;        /* BENCH_RATE, BENCH_FANOUT: messages per second */
	unsigned nsubs;     /* B sides: 1; BENCH_FANOUT: the subscribers */
	unsigned sub;       /* in a B side: which one, 0 .. nsubs - 1 */
	const char *tag;    /* "ipkb-PID-N": unique per case, for object names */
	pid_t peer;         /* in a side: the other side's pid (0 in prepare) */
	int64_t timeout_ns; /* how long one blocking step may take */
	char *why;          /* BENCH_WHY_MAX bytes for a BENCH_NA reason */
	/* Non-zero once the run must stop (SIGINT, SIGTERM): a wait in
	 * .prepare ends then (bench_prep_wait()). NULL: never. */
	volatile sig_atomic_t *stop;
};

/*
 * What a row does. Every function returns 0 (or BENCH_NA where said) or a
 * negative errno; the engine reports "NAME SIZE: step: strerror" and goes
 * on with the next case.
 *
 *  check    supervisor, before anything: BENCH_NA if @env->size (or kind)
 *           cannot run here. Optional.
 *  prepare  supervisor, before the fork: create what both sides inherit
 *           (pipes, socketpairs, shared memory) in *@shared. May return
 *           BENCH_NA. Optional. It waits (for a server it starts) only in
 *           bench_prep_wait(), and returns -EINTR, having removed what it
 *           made, once that says the run stops.
 *  open     each side, after the fork and pinning: its own end in *@end
 *           (connect, accept, attach, close the other side's descriptors).
 *           The engine waits until both sides have opened before the first
 *           message, so nothing sent can be missed by a late subscriber.
 *  send     one whole message of @len bytes from @buf.
 *  recv     one whole message into @buf; exactly @len bytes arrive (the
 *           engine always sends @len), anything else is -EPROTO.
 *           -ENOBUFS: messages were lost because this receiver fell too
 *           far behind a sender that never waits (the broadcast ring);
 *           a paced case then says so as its n/a reason, not a failure.
 *  send_many / recv_many  optional: @n messages of @len bytes in a stream
 *           (batches, e.g. sendmmsg); NULL means a loop of send / recv.
 *  close    each side, end of the case; @end may be NULL after a failed
 *           open. Optional.
 *  destroy  supervisor, after both sides exited or were killed: remove
 *           names and free @shared (may be NULL), end the processes
 *           .prepare started and wait for them. Optional. Must not block
 *           for long: it also runs when the run is stopped.
 *
 * The sides ignore SIGINT (a Ctrl-C at a terminal reaches the whole
 * process group; the supervisor decides) and die of SIGTERM. When the run
 * is stopped, the supervisor kills both sides with SIGKILL: what .open or
 * the side made with a name must therefore be removed by .destroy too.
 */
struct bench_ops {
	int (*check)(const struct bench_env *env);
	int (*prepare)(const struct bench_env *env, void **shared);
	int (*open)(const struct bench_env *env, void *shared, enum bench_side side, void **end);
	int (*send)(void *end, const void *buf, size_t len);
	int (*recv)(void *end, void *buf, size_t len);
	int (*send_many)(void *end, const void *buf, size_t len, unsigned long n);
	int (*recv_many)(void *end, void *buf, size_t len, unsigned long n);
	void (*close)(void *end, enum bench_side side);
	void (*destroy)(const struct bench_env *env, void *shared);
};

/* One row of the table. */
struct bench_mech {
	const char *name; /* unique; see the rules above */
	const char *raw;  /* library rows: the name of the raw twin, else NULL */
	unsigned flags;   /* BENCH_RAW, BENCH_REF, BENCH_SPIN */
	unsigned kinds;   /* BENCH_RTT and/or BENCH_TPUT */
	const char *desc; /* one line for --list and the man page */
	const struct bench_ops *ops;
	const void *arg; /* for the row's functions: env->mech->arg */
	/* Peer rows: the library and its version ("libzmq 4.3.4"), or NULL
	 * when ipckit was built without it (the row is then n/a). */
	const char *(*version)(void);
};

/* A module's table, made by BENCH_DEFINE_MODULE(). */
struct bench_module {
	const char *name;
	const struct bench_mech *mechs;
	size_t n;
};

#define BENCH_DEFINE_MODULE(mod, table)                                    \
	const struct bench_module bench_module_##mod = { .name = #mod,     \
							 .mechs = (table), \
							 .n = sizeof(table) / sizeof((table)[0]) }

/* The registry (bench/registry.c, from bench/modules.h). */
#define BENCH_MODULE(mod) extern const struct bench_module bench_module_##mod;
#include "modules.h"
#undef BENCH_MODULE

/* Every row of every module, in registry order; NULL after the last. */
const struct bench_mech *bench_mech_at(size_t i);
/* The row called @name, or NULL. */
const struct bench_mech *bench_mech_find(const char *name);

/* Helpers for modules (bench/util.c). */

/* CLOCK_MONOTONIC in nanoseconds. */
int64_t bench_now_ns(void);
/* A deadline @timeout_ns from now (negative: none, INT64_MAX). */
int64_t bench_deadline(int64_t timeout_ns);
/* The CPU's spin-wait hint (pause/yield), and a sched_yield() every few
 * thousand calls counted in *@spins (start it at 0 for each wait), and
 * after a few hundred thousand a 20 us sleep instead, so that spinning on
 * a CPU shared with the peer (--same-cpu, or a busy machine) still lets it
 * run. */
void bench_spin(unsigned *spins);
/* poll() one fd for @events until @deadline_ns; 0, -ETIMEDOUT, -errno. */
int bench_wait_fd(int fd, short events, int64_t deadline_ns);
/* write()/read() exactly @len bytes on a blocking fd; -EPIPE on EOF. */
int bench_write_all(int fd, const void *buf, size_t len);
int bench_read_all(int fd, void *buf, size_t len);
/* Supervisor, in .prepare: waits until @fd has @events (fd -1: only
 * sleeps), @deadline_ns passes, or the run is told to stop (env->stop).
 * The only place where a signal reaches the supervisor during .prepare
 * (see bench_child_sigmask()). Return: 0 (@fd ready); -ETIMEDOUT; -EINTR
 * (stop); -errno of ppoll. */
int bench_prep_wait(const struct bench_env *env, int fd, short events, int64_t deadline_ns);
/* In a process a row forks (a server), before it execs: the signal mask
 * the run began with. The supervisor holds every signal while it runs,
 * and takes them only in its waits, so that threads a library starts in
 * it (libnats starts three) never take a signal meant for it; a child
 * would otherwise inherit that mask, and with it ignore SIGTERM. */
void bench_child_sigmask(void);
/* Removes the names of ipk_ring @name ("/NAME", its "-bell" and "-cons"):
 * for .destroy, after every process that used the ring has ended. */
void bench_ring_unlink(const char *name);
/* Fills env->why with a printf-style reason and returns BENCH_NA. */
int bench_na(const struct bench_env *env, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* -errno, never 0. */
int bench_neg_errno(void);

#endif /* IPCKIT_BENCH_H */
