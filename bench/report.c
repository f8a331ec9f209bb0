/* SPDX-License-Identifier: MIT */
/*
 * bench/report.c - the results as an aligned table, JSON
 * (docs/bench-schema.json) and CSV; the chart is bench/plot.c.
 *
 * Ratios are costs: the time per message of a row divided by that of its
 * raw twin ("vs raw") or of the limit row of the same size and kind ("vs
 * limit"). 1.05 means 5 % slower; for throughput the time per message is
 * 1 / (messages/s).
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>

#include <ipckit/common.h>

#include "engine.h"
#include "json.h"

static const char *kind_name(unsigned kind)
{
	return bench_kind_name(kind);
}

static bool is_paced(unsigned kind)
{
	return kind == BENCH_RATE || kind == BENCH_FANOUT;
}

/* The cost used for ratios and ordering: p50 for round trips and paced
 * cases, time per message for streams; 0 when the case has no numbers. */
static double cost(const struct bench_result *r)
{
	if (!r || r->status != 0)
		return 0;
	if (r->kind != BENCH_TPUT)
		return (double)r->p50_ns;
	return r->msgs_per_s > 0 ? 1e9 / r->msgs_per_s : 0;
}

/* Whether @a and @b are the same case but for the row. */
static bool same_case(const struct bench_result *a, const struct bench_result *b)
{
	return a->size == b->size && a->kind == b->kind && a->rate == b->rate &&
	       a->nsubs == b->nsubs;
}

/* Row @name's result of the case @like is of. */
static const struct bench_result *find(const struct bench_result *r, size_t n, const char *name,
				       const struct bench_result *like)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (same_case(&r[i], like) && !strcmp(r[i].mech->name, name))
			return &r[i];
	return NULL;
}

/* Ratio of @x to its raw twin (@limit false) or to the limit; 0 if none. */
static double ratio(const struct bench_result *all, size_t n, const struct bench_result *x,
		    bool limit)
{
	const char *other = limit ? "limit" : x->mech->raw;
	const struct bench_result *o;

	if (!other || cost(x) <= 0 || (limit && !strcmp(x->mech->name, "limit")))
		return 0;
	o = find(all, n, other, x);
	return cost(o) > 0 ? cost(x) / cost(o) : 0;
}

static void fmt_ns(char *buf, size_t len, double ns)
{
	if (ns < 1e3)
		snprintf(buf, len, "%.0f ns", ns);
	else if (ns < 1e4)
		snprintf(buf, len, "%.2f us", ns / 1e3);
	else if (ns < 1e6)
		snprintf(buf, len, "%.1f us", ns / 1e3);
	else if (ns < 1e9)
		snprintf(buf, len, "%.2f ms", ns / 1e6);
	else
		snprintf(buf, len, "%.2f s", ns / 1e9);
}

static void fmt_ratio(char *buf, size_t len, double x)
{
	if (x <= 0)
		snprintf(buf, len, "-");
	else
		snprintf(buf, len, "%.2fx", x);
}

static void fmt_rate(char *buf, size_t len, double x)
{
	if (x >= 1e6)
		snprintf(buf, len, "%.2f M", x / 1e6);
	else if (x >= 1e3)
		snprintf(buf, len, "%.1f k", x / 1e3);
	else
		snprintf(buf, len, "%.0f", x);
}

/* Best first; cases without numbers last, in registry order. */
static int by_cost(const void *a, const void *b)
{
	const struct bench_result *x = *(const struct bench_result *const *)a;
	const struct bench_result *y = *(const struct bench_result *const *)b;
	double cx = cost(x), cy = cost(y);

	if (cx > 0 && cy > 0 && cx != cy)
		return cx < cy ? -1 : 1;
	if ((cx > 0) != (cy > 0))
		return cx > 0 ? -1 : 1;
	return x < y ? -1 : x > y;
}

/* The name column: peer rows (other libraries) carry a mark. */
static const char *label(const struct bench_mech *m, char *buf, size_t len)
{
	if (!(m->flags & BENCH_PEER))
		return m->name;
	snprintf(buf, len, "%s [peer]", m->name);
	return buf;
}

/* A share of one CPU, "12.5%". */
static void fmt_cpu(char *buf, size_t len, double x)
{
	snprintf(buf, len, "%.1f%%", x * 100);
}

/* A paced case's note: the sender fell behind. */
static void fmt_behind(char *buf, size_t len, const struct bench_result *r)
{
	char sent[24];

	buf[0] = 0;
	if (!bench_behind(r))
		return;
	fmt_rate(sent, sizeof(sent), r->msgs_per_s);
	snprintf(buf, len, "  sender behind: %s/s sent, %llu late", sent,
		 (unsigned long long)r->late);
}

/* The results of one case of each row (@like's: size, kind, rate),
 * ranked; NULL (nothing to print) or an array of *@k to free(). */
static const struct bench_result **group(const struct bench_result *all, size_t n,
					 const struct bench_result *like, size_t *k)
{
	const struct bench_result **g;
	size_t i;

	*k = 0;
	g = calloc(n ? n : 1, sizeof(*g));
	if (!g)
		return NULL;
	for (i = 0; i < n; i++)
		if (same_case(&all[i], like))
			g[(*k)++] = &all[i];
	if (!*k) {
		free(g);
		return NULL;
	}
	qsort(g, *k, sizeof(*g), by_cost);
	return g;
}

/* A paced group: every row at one size and rate, ranked by p50. */
static void print_paced(FILE *f, const struct bench_result *all, size_t n,
			const struct bench_result *like)
{
	const struct bench_result **g;
	char rate[24];
	size_t k, i;

	if (!(g = group(all, n, like, &k)))
		return;
	fmt_rate(rate, sizeof(rate), like->rate);
	fprintf(f, "\n== %zu bytes, paced one-way at %s msg/s ==\n", like->size, rate);
	fprintf(f, "%-24s %10s %10s %10s %10s %10s %8s %8s %7s %8s\n", "mechanism", "p50", "p90",
		"p99", "p99.9", "max", "cpu send", "cpu recv", "vs raw", "vs limit");
	for (i = 0; i < k; i++) {
		const struct bench_result *r = g[i];
		char a[5][24], c[2][16], rr[16], rl[16], note[96], nm[64];
		const char *name = label(r->mech, nm, sizeof(nm));

		if (r->status != 0) {
			fprintf(f, "%-24s %s: %s\n", name, r->status == BENCH_NA ? "n/a" : "FAILED",
				r->why);
			continue;
		}
		fmt_ns(a[0], sizeof(a[0]), (double)r->p50_ns);
		fmt_ns(a[1], sizeof(a[1]), (double)r->p90_ns);
		fmt_ns(a[2], sizeof(a[2]), (double)r->p99_ns);
		fmt_ns(a[3], sizeof(a[3]), (double)r->p999_ns);
		fmt_ns(a[4], sizeof(a[4]), (double)r->max_ns);
		fmt_cpu(c[0], sizeof(c[0]), r->cpu_send);
		fmt_cpu(c[1], sizeof(c[1]), r->cpu_recv);
		fmt_ratio(rr, sizeof(rr), ratio(all, n, r, false));
		fmt_ratio(rl, sizeof(rl), ratio(all, n, r, true));
		fmt_behind(note, sizeof(note), r);
		fprintf(f, "%-24s %10s %10s %10s %10s %10s %8s %8s %7s %8s%s\n", name, a[0], a[1],
			a[2], a[3], a[4], c[0], c[1], rr, rl, note);
	}
	free(g);
}

/* Registry order of rows, then subscribers. */
static int by_row(const void *a, const void *b)
{
	const struct bench_result *x = *(const struct bench_result *const *)a;
	const struct bench_result *y = *(const struct bench_result *const *)b;
	size_t i, ix = 0, iy = 0;
	const struct bench_mech *m;

	for (i = 0; (m = bench_mech_at(i)); i++) {
		if (m == x->mech)
			ix = i;
		if (m == y->mech)
			iy = i;
	}
	if (ix != iy)
		return ix < iy ? -1 : 1;
	return x->nsubs < y->nsubs ? -1 : x->nsubs > y->nsubs;
}

/* A fan-out group: every row and subscriber count at one size and rate;
 * latency over all subscribers, the worst subscriber's p99, the CPU. */
static void print_fanout(FILE *f, const struct bench_result *all, size_t n,
			 const struct bench_result *like)
{
	const struct bench_result **g;
	char rate[24];
	size_t k = 0, i;

	g = calloc(n ? n : 1, sizeof(*g));
	if (!g)
		return;
	for (i = 0; i < n; i++)
		if (all[i].kind == BENCH_FANOUT && all[i].size == like->size &&
		    all[i].rate == like->rate)
			g[k++] = &all[i];
	if (!k) {
		free(g);
		return;
	}
	qsort(g, k, sizeof(*g), by_row);
	fmt_rate(rate, sizeof(rate), like->rate);
	fprintf(f, "\n== %zu bytes, fan-out at %s msg/s (latency over all subscribers) ==\n",
		like->size, rate);
	fprintf(f, "%-24s %4s %10s %10s %10s %10s %10s %8s %8s %9s\n", "mechanism", "subs", "p50",
		"p99", "p99.9", "max", "worst p99", "cpu pub", "cpu subs", "cpu total");
	for (i = 0; i < k; i++) {
		const struct bench_result *r = g[i];
		char a[5][24], c[3][16], note[96];
		uint64_t worst = 0;
		unsigned j;

		if (r->status != 0) {
			fprintf(f, "%-24s %4u %s: %s\n", r->mech->name, r->nsubs,
				r->status == BENCH_NA ? "n/a" : "FAILED", r->why);
			continue;
		}
		for (j = 0; j < r->nsubs; j++)
			if (r->sub[j].p99_ns > worst)
				worst = r->sub[j].p99_ns;
		fmt_ns(a[0], sizeof(a[0]), (double)r->p50_ns);
		fmt_ns(a[1], sizeof(a[1]), (double)r->p99_ns);
		fmt_ns(a[2], sizeof(a[2]), (double)r->p999_ns);
		fmt_ns(a[3], sizeof(a[3]), (double)r->max_ns);
		fmt_ns(a[4], sizeof(a[4]), (double)worst);
		fmt_cpu(c[0], sizeof(c[0]), r->cpu_send);
		fmt_cpu(c[1], sizeof(c[1]), r->cpu_recv);
		fmt_cpu(c[2], sizeof(c[2]), r->cpu_send + r->cpu_recv);
		fmt_behind(note, sizeof(note), r);
		fprintf(f, "%-24s %4u %10s %10s %10s %10s %10s %8s %8s %9s%s\n", r->mech->name,
			r->nsubs, a[0], a[1], a[2], a[3], a[4], c[0], c[1], c[2], note);
	}
	free(g);
}

static void print_group(FILE *f, const struct bench_result *all, size_t n, size_t size,
			unsigned kind)
{
	const struct bench_result **g;
	size_t k = 0, i;

	g = calloc(n ? n : 1, sizeof(*g));
	if (!g)
		return;
	for (i = 0; i < n; i++)
		if (all[i].size == size && all[i].kind == kind)
			g[k++] = &all[i];
	if (!k) {
		free(g);
		return;
	}
	qsort(g, k, sizeof(*g), by_cost);
	if (kind == BENCH_RTT) {
		fprintf(f, "\n== %zu bytes, round trip ==\n", size);
		fprintf(f, "%-24s %10s %10s %10s %10s %10s %9s %7s %8s\n", "mechanism", "p50",
			"p90", "p99", "p99.9", "max", "samples", "vs raw", "vs limit");
	} else {
		fprintf(f, "\n== %zu bytes, one-way throughput ==\n", size);
		fprintf(f, "%-24s %10s %12s %10s %7s %8s\n", "mechanism", "msgs/s", "MB/s",
			"messages", "vs raw", "vs limit");
	}
	for (i = 0; i < k; i++) {
		const struct bench_result *r = g[i];
		char a[5][24], rr[16], rl[16], nm[64];
		const char *name = label(r->mech, nm, sizeof(nm));

		if (r->status != 0) {
			fprintf(f, "%-24s %s: %s\n", name, r->status == BENCH_NA ? "n/a" : "FAILED",
				r->why);
			continue;
		}
		fmt_ratio(rr, sizeof(rr), ratio(all, n, r, false));
		fmt_ratio(rl, sizeof(rl), ratio(all, n, r, true));
		if (kind == BENCH_RTT) {
			fmt_ns(a[0], sizeof(a[0]), (double)r->p50_ns);
			fmt_ns(a[1], sizeof(a[1]), (double)r->p90_ns);
			fmt_ns(a[2], sizeof(a[2]), (double)r->p99_ns);
			fmt_ns(a[3], sizeof(a[3]), (double)r->p999_ns);
			fmt_ns(a[4], sizeof(a[4]), (double)r->max_ns);
			fprintf(f, "%-24s %10s %10s %10s %10s %10s %9llu %7s %8s\n", name, a[0],
				a[1], a[2], a[3], a[4], (unsigned long long)r->samples, rr, rl);
		} else {
			fmt_rate(a[0], sizeof(a[0]), r->msgs_per_s);
			fprintf(f, "%-24s %10s %12.1f %10llu %7s %8s\n", name, a[0], r->mb_per_s,
				(unsigned long long)r->samples, rr, rl);
		}
	}
	free(g);
}

/* The paced (or fan-out) groups of @size, a rate at a time, in the order
 * they were run. */
static void print_rates(FILE *f, const struct bench_result *r, size_t n, size_t size, unsigned kind)
{
	size_t i, j;

	for (i = 0; i < n; i++) {
		if (r[i].size != size || r[i].kind != kind)
			continue;
		for (j = 0; j < i; j++)
			if (r[j].size == size && r[j].kind == kind && r[j].rate == r[i].rate)
				break;
		if (j < i)
			continue;
		if (kind == BENCH_RATE)
			print_paced(f, r, n, &r[i]);
		else
			print_fanout(f, r, n, &r[i]);
	}
}

void bench_print_table(FILE *f, const struct bench_machine *m, const struct bench_result *r,
		       size_t n)
{
	size_t i, j;

	fprintf(f, "ipckit bench %s on %s (%s), %s\n", ipk_version(), m->cpu_model, m->kernel,
		m->date);
	fprintf(f,
		"CPUs %d,%d of %u online; one clock read costs %.0f ns (included in every "
		"round trip)\n",
		m->cpu[0], m->cpu[1], m->online_cpus, m->timer_overhead_ns);
	fprintf(f, "vs raw / vs limit: time per message over the raw syscall loop / the "
		   "shared-memory limit\n");
	for (i = 0; i < n && !is_paced(r[i].kind); i++)
		;
	if (i < n)
		fprintf(f, "paced: one-way latency; cpu: CPU time per second of feed (100%% = one "
			   "CPU)\n");
	/* Each peer library once, with its version. */
	for (i = 0; i < n; i++) {
		const char *v = r[i].mech->version ? r[i].mech->version() : NULL;

		if (!v)
			continue;
		for (j = 0; j < i; j++)
			if (r[j].mech->version && r[j].mech->version() &&
			    !strcmp(r[j].mech->version(), v))
				break;
		if (j == i)
			fprintf(f, "[peer] another library: %s\n", v);
	}
	/* Sizes in the order they were run; each once. */
	for (i = 0; i < n; i++) {
		for (j = 0; j < i; j++)
			if (r[j].size == r[i].size)
				break;
		if (j < i)
			continue;
		print_group(f, r, n, r[i].size, BENCH_RTT);
		print_group(f, r, n, r[i].size, BENCH_TPUT);
		print_rates(f, r, n, r[i].size, BENCH_RATE);
		print_rates(f, r, n, r[i].size, BENCH_FANOUT);
	}
}

static void json_num(FILE *f, const char *key, double v, bool present)
{
	fprintf(f, ", \"%s\": ", key);
	if (present)
		fprintf(f, "%.3f", v);
	else
		fputs("null", f);
}

/* A share of one CPU: 0.00012 is 0.012 % of a CPU, still seen. */
static void json_cpu(FILE *f, const char *key, double v, bool present)
{
	fprintf(f, ", \"%s\": ", key);
	if (present)
		fprintf(f, "%.6f", v);
	else
		fputs("null", f);
}

static void json_u64(FILE *f, const char *key, uint64_t v, bool present)
{
	fprintf(f, ", \"%s\": ", key);
	if (present)
		fprintf(f, "%llu", (unsigned long long)v);
	else
		fputs("null", f);
}

/* A paced case's receivers, one object each; null if @present is false. */
static void json_subs(FILE *f, const struct bench_result *x, bool present)
{
	unsigned i;

	if (!present || !x->sub) {
		fputs("null", f);
		return;
	}
	fputc('[', f);
	for (i = 0; i < x->nsubs; i++) {
		const struct bench_sub *s = &x->sub[i];

		fprintf(f, "%s{\"subscriber\": %u", i ? ", " : "", i);
		json_u64(f, "p50_ns", s->p50_ns, true);
		json_u64(f, "p90_ns", s->p90_ns, true);
		json_u64(f, "p99_ns", s->p99_ns, true);
		json_u64(f, "p999_ns", s->p999_ns, true);
		json_u64(f, "max_ns", s->max_ns, true);
		json_u64(f, "min_ns", s->min_ns, true);
		json_num(f, "mean_ns", s->mean_ns, true);
		json_u64(f, "samples", s->samples, true);
		json_cpu(f, "cpu", s->cpu, true);
		fputc('}', f);
	}
	fputc(']', f);
}

int bench_write_json(FILE *f, const struct bench_machine *m, const struct bench_opts *o,
		     const struct bench_result *r, size_t n)
{
	size_t i, k;

	fprintf(f, "{\n  \"schema\": \"ipckit-bench/1\",\n  \"ipckit_version\": ");
	json_str(f, ipk_version());
	fprintf(f, ",\n  \"machine\": {\"cpu_model\": ");
	json_str(f, m->cpu_model);
	fprintf(f, ", \"kernel\": ");
	json_str(f, m->kernel);
	fprintf(f, ", \"hostname\": ");
	json_str(f, m->hostname);
	fprintf(f,
		", \"online_cpus\": %u, \"cpus\": [%d, %d], \"same_cpu\": %s, "
		"\"timer_overhead_ns\": %.1f, \"date\": ",
		m->online_cpus, m->cpu[0], m->cpu[1], m->cpu[0] == m->cpu[1] ? "true" : "false",
		m->timer_overhead_ns);
	json_str(f, m->date);
	fprintf(f, "},\n  \"config\": {\"sizes\": [");
	for (i = 0; i < o->nsizes; i++)
		fprintf(f, "%s%zu", i ? ", " : "", o->sizes[i]);
	fprintf(f, "], \"budget_ms\": %.1f, \"warmup_ms\": %.1f, \"kinds\": [",
		(double)o->budget_ns / 1e6, (double)o->warmup_ns / 1e6);
	for (i = 0, k = 0; i < 4; i++)
		if (o->kinds & (1u << i))
			fprintf(f, "%s\"%s\"", k++ ? ", " : "", kind_name(1u << i));
	fprintf(f, "], \"rates\": [");
	for (i = 0; i < o->nrates; i++)
		fprintf(f, "%s%.1f", i ? ", " : "", o->rates[i]);
	fprintf(f, "], \"subscribers\": [");
	for (i = 0; i < o->nsubs; i++)
		fprintf(f, "%s%u", i ? ", " : "", o->subs[i]);
	fprintf(f, "]},\n  \"results\": [\n");
	for (i = 0; i < n; i++) {
		const struct bench_result *x = &r[i];
		bool ok = x->status == 0, lat = ok && x->kind != BENCH_TPUT,
		     pace = is_paced(x->kind);
		double rr = ratio(r, n, x, false), rl = ratio(r, n, x, true);

		fprintf(f, "    {\"mechanism\": ");
		json_str(f, x->mech->name);
		fprintf(f, ", \"size\": %zu, \"kind\": \"%s\", \"status\": \"%s\"", x->size,
			kind_name(x->kind),
			ok                      ? "ok"
			: x->status == BENCH_NA ? "n/a"
						: "failed");
		fprintf(f, ", \"class\": \"%s\"",
			x->mech->flags & BENCH_REF    ? "limit"
			: x->mech->flags & BENCH_RAW  ? "raw"
			: x->mech->flags & BENCH_PEER ? "peer"
						      : "library");
		fprintf(f, ", \"raw\": ");
		json_str_or_null(f, x->mech->raw);
		fprintf(f, ", \"version\": ");
		json_str_or_null(f, x->mech->version ? x->mech->version() : NULL);
		if (!ok) {
			fprintf(f, ", \"reason\": ");
			json_str(f, x->why);
		}
		json_u64(f, "p50_ns", x->p50_ns, lat);
		json_u64(f, "p90_ns", x->p90_ns, lat);
		json_u64(f, "p99_ns", x->p99_ns, lat);
		json_u64(f, "p999_ns", x->p999_ns, lat);
		json_u64(f, "max_ns", x->max_ns, lat);
		json_u64(f, "min_ns", x->min_ns, lat);
		json_num(f, "mean_ns", x->mean_ns, ok);
		json_num(f, "msgs_per_s", x->msgs_per_s, ok);
		json_num(f, "mb_per_s", x->mb_per_s, ok);
		json_u64(f, "samples", x->samples, ok);
		json_num(f, "ratio_raw", rr, rr > 0);
		json_num(f, "ratio_limit", rl, rl > 0);
		json_num(f, "wall_ms", x->wall_ms, true);
		json_num(f, "rate", x->rate, pace);
		fprintf(f, ", \"subscribers\": %u", x->nsubs);
		json_u64(f, "late", x->late, pace && ok);
		fprintf(f, ", \"behind\": %s",
			!pace || !ok      ? "null"
			: bench_behind(x) ? "true"
					  : "false");
		json_cpu(f, "cpu_send", x->cpu_send, pace && ok);
		json_cpu(f, "cpu_recv", x->cpu_recv, pace && ok);
		fprintf(f, ", \"subs\": ");
		json_subs(f, x, pace && ok);
		fprintf(f, "}%s\n", i + 1 < n ? "," : "");
	}
	fprintf(f, "  ]\n}\n");
	return ferror(f) ? -EIO : 0;
}

static void csv_pct(FILE *f, uint64_t p50, uint64_t p90, uint64_t p99, uint64_t p999, uint64_t max)
{
	fprintf(f, "%llu,%llu,%llu,%llu,%llu,", (unsigned long long)p50, (unsigned long long)p90,
		(unsigned long long)p99, (unsigned long long)p999, (unsigned long long)max);
}

/* One record; @sub >= 0: that subscriber's line of a fan-out case. */
static void csv_line(FILE *f, const struct bench_result *all, size_t n,
		     const struct bench_result *x, int sub)
{
	double rr = sub < 0 ? ratio(all, n, x, false) : 0,
	       rl = sub < 0 ? ratio(all, n, x, true) : 0;
	bool ok = x->status == 0, pace = is_paced(x->kind);
	const struct bench_sub *s = sub >= 0 ? &x->sub[sub] : NULL;
	const char *q;

	fprintf(f, "%s,%zu,%s,%s,", x->mech->name, x->size, kind_name(x->kind),
		ok                      ? "ok"
		: x->status == BENCH_NA ? "n/a"
					: "failed");
	if (s)
		csv_pct(f, s->p50_ns, s->p90_ns, s->p99_ns, s->p999_ns, s->max_ns);
	else if (ok && x->kind != BENCH_TPUT)
		csv_pct(f, x->p50_ns, x->p90_ns, x->p99_ns, x->p999_ns, x->max_ns);
	else
		fputs(",,,,,", f);
	if (ok)
		fprintf(f, "%.1f,%.3f,%llu,", x->msgs_per_s, x->mb_per_s,
			(unsigned long long)(s ? s->samples : x->samples));
	else
		fputs(",,,", f);
	if (rr > 0)
		fprintf(f, "%.3f", rr);
	fputc(',', f);
	if (rl > 0)
		fprintf(f, "%.3f", rl);
	fputc(',', f);
	/* The reason, quoted, with quotes doubled (RFC 4180). */
	if (x->status != 0) {
		fputc('"', f);
		for (q = x->why; *q; q++) {
			if (*q == '"')
				fputc('"', f);
			fputc(*q, f);
		}
		fputc('"', f);
	}
	/* rate,subscribers,subscriber,late,cpu_send,cpu_recv */
	if (pace)
		fprintf(f, ",%.1f,%u,", x->rate, x->nsubs);
	else
		fprintf(f, ",,%u,", x->nsubs);
	if (s)
		fprintf(f, "%d", sub);
	if (pace && ok)
		fprintf(f, ",%llu,%.4f,%.4f\n", (unsigned long long)x->late, x->cpu_send,
			s ? s->cpu : x->cpu_recv);
	else
		fputs(",,,\n", f);
}

void bench_write_csv(FILE *f, const struct bench_result *r, size_t n)
{
	size_t i;
	unsigned j;

	fprintf(f, "mechanism,size,kind,status,p50_ns,p90_ns,p99_ns,p999_ns,max_ns,msgs_per_s,"
		   "mb_per_s,samples,ratio_raw,ratio_limit,reason,rate,subscribers,subscriber,"
		   "late,cpu_send,cpu_recv\n");
	for (i = 0; i < n; i++) {
		csv_line(f, r, n, &r[i], -1);
		/* Fan-out: each subscriber's own line after the case's. */
		for (j = 0; r[i].kind == BENCH_FANOUT && r[i].sub && j < r[i].nsubs; j++)
			csv_line(f, r, n, &r[i], (int)j);
	}
}
