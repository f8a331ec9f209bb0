/* SPDX-License-Identifier: MIT */
/*
 * bench/engine.h - run the selected rows and report them: what
 * tools/cmd_bench.c drives. The rows themselves come from the registry
 * (bench.h).
 */
#ifndef IPCKIT_BENCH_ENGINE_H
#define IPCKIT_BENCH_ENGINE_H

#include <signal.h>
#include <stdbool.h>
#include <stdio.h>

#include "bench.h"

#define BENCH_MAX_SIZES 16
#define BENCH_MAX_RATES 16
#define BENCH_MAX_FANOUT 8 /* subscriber counts in one run */
#define BENCH_MAX_SUBS 64  /* subscribers in one fan-out case */
/* A paced message carries its sequence number and send time: sizes below
 * this are n/a in paced cases. */
#define BENCH_PACED_MIN 16

struct bench_opts {
	size_t sizes[BENCH_MAX_SIZES];
	unsigned nsizes;
	int cpu[2];                     /* side A, side B */
	const struct bench_mech **mech; /* rows to run, in table order */
	size_t nmech;
	unsigned kinds;                /* which kinds of case run (BENCH_RTT ...) */
	double rates[BENCH_MAX_RATES]; /* paced cases: messages per second */
	unsigned nrates;
	unsigned subs[BENCH_MAX_FANOUT]; /* fan-out cases: subscriber counts */
	unsigned nsubs;
	int64_t budget_ns;  /* measured time per case */
	int64_t warmup_ns;  /* warm-up time per case */
	int64_t timeout_ns; /* a blocking step longer than this is a hang */
	bool progress;      /* progress bar on stderr */
	/* Non-zero (a SIGINT or SIGTERM handler sets it) stops the run: see
	 * bench_run(). NULL: the run is never stopped. */
	volatile sig_atomic_t *stop;
	/* With @stop: a reader of standard output (a pipe, a socket) that
	 * goes away stops the run too; the engine then sets *@stop to
	 * SIGPIPE. */
	bool watch_out;
};

/* One receiver of a paced case: its one-way latencies and CPU. */
struct bench_sub {
	uint64_t samples; /* messages timed */
	uint64_t min_ns, p50_ns, p90_ns, p99_ns, p999_ns, max_ns;
	double mean_ns;
	double cpu; /* CPU time per second of feed (1 = a whole CPU) */
};

/* One (row, size, kind[, rate[, subscribers]]). */
struct bench_result {
	const struct bench_mech *mech;
	size_t size;
	unsigned kind;
	double rate;    /* paced: messages per second asked for; else 0 */
	unsigned nsubs; /* paced: receivers (fan-out: subscribers); else 1 */
	int status;     /* 0 measured; BENCH_NA; < 0 failed (why says how) */
	char why[2 * 200 + 16];
	uint64_t samples; /* rtt: round trips timed; tput: messages; paced: latencies
			   * (messages times receivers) */
	/* rtt: round trip; paced: one way, every receiver's together */
	uint64_t min_ns, p50_ns, p90_ns, p99_ns, p999_ns, max_ns;
	double mean_ns;
	double msgs_per_s, mb_per_s; /* rtt: round trips/s; tput: one way; paced: sent */
	double wall_ms;              /* the whole case: setup, fork, warm-up, measuring */
	/* Paced cases only. */
	uint64_t late;         /* messages A sent a period or more after their time */
	double cpu_send;       /* A's CPU time per second of feed (1 = a whole CPU) */
	double cpu_recv;       /* the receivers', summed (fan-out: every subscriber's) */
	struct bench_sub *sub; /* nsubs of them, NULL but for measured paced cases */
};

/* Whether a measured paced case's sender fell behind its schedule: more
 * than 1 % of the messages late, or under 95 % of the rate sent. */
bool bench_behind(const struct bench_result *r);

struct bench_machine {
	char cpu_model[128];
	char kernel[3 * 65 + 8];
	char hostname[65];
	unsigned online_cpus;
	int cpu[2];
	double timer_overhead_ns; /* one clock_gettime(CLOCK_MONOTONIC) */
	char date[32];            /* UTC, ISO 8601 */
};

/* Fills @m: CPU model, kernel, timer overhead (measured now). */
void bench_machine_info(const struct bench_opts *o, struct bench_machine *m);

/* How many cases bench_run() runs for @o: rows x sizes x the kinds each
 * row has (and o->kinds selects), paced ones x rates (x subscriber counts
 * for fan-out). */
size_t bench_case_count(const struct bench_opts *o);

/*
 * Runs every case, in table order; *@n says how many results *@ret holds
 * (free() it). Cases that fail are results, not errors.
 *
 * Once *o->stop is set (by a signal, or by the engine for o->watch_out),
 * the case under way is cut short: its sides are killed with SIGKILL, the
 * processes its row started are ended and waited for, what it made is
 * removed; no other case starts. The supervisor holds every signal while
 * it runs and takes them only in its waits, so a stop is seen at once,
 * also when a library (libnats) started threads in it; the mask is as it
 * was when bench_run() returns. *@n then counts the cases that
 * finished before (a case whose sides both ended well just as the flag
 * was set is one of them); the one cut short is not a result.
 *
 * Paced cases (BENCH_RATE): A sends at o->rates[i] on an absolute
 * CLOCK_MONOTONIC schedule (it sleeps until shortly before a message's time
 * and spins the rest; late messages are sent at once, so it never drifts,
 * and counted); B timestamps each arrival. Fan-out cases: the same with
 * o->subs[j] B sides, pinned round-robin on the CPUs this process may use
 * but A's (all of them when it is the only one), starting at o->cpu[1].
 *
 * Return: 0 every case ran; -EINTR stopped (*@ret and *@n as said);
 * -ENOMEM; -errno of mmap. Free the results with bench_results_free().
 */
int bench_run(const struct bench_opts *o, struct bench_result **ret, size_t *n);
void bench_results_free(struct bench_result *r, size_t n);

/* "rtt", "throughput", "rate", "fanout". */
const char *bench_kind_name(unsigned kind);

/* Output (bench/report.c). */
void bench_print_table(FILE *f, const struct bench_machine *m, const struct bench_result *r,
		       size_t n);
int bench_write_json(FILE *f, const struct bench_machine *m, const struct bench_opts *o,
		     const struct bench_result *r, size_t n);
void bench_write_csv(FILE *f, const struct bench_result *r, size_t n);
/* Where bench_plot() makes gnuplot's data file: $TMPDIR, or /tmp if it is
 * unset, empty or holds a ' (gnuplot reads the file by its name, quoted
 * with '). */
const char *bench_tmpdir(void);
/* Runs gnuplot on a data file in bench_tmpdir(); @path ends in .svg or
 * .png. Return: 0; -ENOENT (no gnuplot); -ENOTDIR (no such temporary
 * directory); -ENAMETOOLONG (its name too long); -EIO (gnuplot failed);
 * -errno. */
int bench_plot(const char *path, const struct bench_machine *m, const struct bench_result *r,
	       size_t n);

#endif /* IPCKIT_BENCH_ENGINE_H */
