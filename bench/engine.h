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

struct bench_opts {
	size_t sizes[BENCH_MAX_SIZES];
	unsigned nsizes;
	int cpu[2];                     /* side A, side B */
	const struct bench_mech **mech; /* rows to run, in table order */
	size_t nmech;
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

/* One (row, size, kind). */
struct bench_result {
	const struct bench_mech *mech;
	size_t size;
	unsigned kind;
	int status; /* 0 measured; BENCH_NA; < 0 failed (why says how) */
	char why[2 * 200 + 16];
	uint64_t samples; /* rtt: round trips timed; tput: messages */
	uint64_t min_ns, p50_ns, p90_ns, p99_ns, p999_ns, max_ns;
	double mean_ns;
	double msgs_per_s, mb_per_s; /* rtt: round trips/s; tput: one way */
	double wall_ms;              /* the whole case: setup, fork, warm-up, measuring */
};

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
 * row has. */
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
 * Return: 0 every case ran; -EINTR stopped (*@ret and *@n as said);
 * -ENOMEM; -errno of mmap.
 */
int bench_run(const struct bench_opts *o, struct bench_result **ret, size_t *n);

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
