/* SPDX-License-Identifier: MIT */
/*
 * bench/report.c - the results as an aligned table, JSON
 * (docs/bench-schema.json), CSV and a gnuplot chart.
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
	return kind == BENCH_RTT ? "rtt" : "throughput";
}

/* The cost used for ratios and ordering: p50 for round trips, time per
 * message for streams; 0 when the case has no numbers. */
static double cost(const struct bench_result *r)
{
	if (!r || r->status != 0)
		return 0;
	if (r->kind == BENCH_RTT)
		return (double)r->p50_ns;
	return r->msgs_per_s > 0 ? 1e9 / r->msgs_per_s : 0;
}

static const struct bench_result *find(const struct bench_result *r, size_t n, const char *name,
				       size_t size, unsigned kind)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (r[i].size == size && r[i].kind == kind && !strcmp(r[i].mech->name, name))
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
	o = find(all, n, other, x->size, x->kind);
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

static void json_u64(FILE *f, const char *key, uint64_t v, bool present)
{
	fprintf(f, ", \"%s\": ", key);
	if (present)
		fprintf(f, "%llu", (unsigned long long)v);
	else
		fputs("null", f);
}

int bench_write_json(FILE *f, const struct bench_machine *m, const struct bench_opts *o,
		     const struct bench_result *r, size_t n)
{
	size_t i;

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
	fprintf(f, "], \"budget_ms\": %.1f, \"warmup_ms\": %.1f},\n  \"results\": [\n",
		(double)o->budget_ns / 1e6, (double)o->warmup_ns / 1e6);
	for (i = 0; i < n; i++) {
		const struct bench_result *x = &r[i];
		bool ok = x->status == 0, lat = ok && x->kind == BENCH_RTT;
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
		fprintf(f, "}%s\n", i + 1 < n ? "," : "");
	}
	fprintf(f, "  ]\n}\n");
	return ferror(f) ? -EIO : 0;
}

void bench_write_csv(FILE *f, const struct bench_result *r, size_t n)
{
	size_t i;

	fprintf(f, "mechanism,size,kind,status,p50_ns,p90_ns,p99_ns,p999_ns,max_ns,msgs_per_s,"
		   "mb_per_s,samples,ratio_raw,ratio_limit,reason\n");
	for (i = 0; i < n; i++) {
		const struct bench_result *x = &r[i];
		double rr = ratio(r, n, x, false), rl = ratio(r, n, x, true);
		const char *q;

		fprintf(f, "%s,%zu,%s,%s,", x->mech->name, x->size, kind_name(x->kind),
			x->status == 0          ? "ok"
			: x->status == BENCH_NA ? "n/a"
						: "failed");
		if (x->status == 0 && x->kind == BENCH_RTT)
			fprintf(f, "%llu,%llu,%llu,%llu,%llu,", (unsigned long long)x->p50_ns,
				(unsigned long long)x->p90_ns, (unsigned long long)x->p99_ns,
				(unsigned long long)x->p999_ns, (unsigned long long)x->max_ns);
		else
			fputs(",,,,,", f);
		if (x->status == 0)
			fprintf(f, "%.1f,%.3f,%llu,", x->msgs_per_s, x->mb_per_s,
				(unsigned long long)x->samples);
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
		fputc('\n', f);
	}
}

/* Data for gnuplot: one block per row ("index"), lines "size p50 p99 MB/s". */
static int plot_data(FILE *f, const struct bench_result *r, size_t n, const char ***names,
		     size_t *count)
{
	const char **nm;
	size_t k = 0, i, j;

	nm = calloc(n ? n : 1, sizeof(*nm));
	if (!nm)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		for (j = 0; j < k; j++)
			if (!strcmp(nm[j], r[i].mech->name))
				break;
		if (j == k)
			nm[k++] = r[i].mech->name;
	}
	for (j = 0; j < k; j++) {
		fprintf(f, "# %s\n", nm[j]);
		for (i = 0; i < n; i++) {
			const struct bench_result *t;

			if (strcmp(r[i].mech->name, nm[j]) || r[i].kind != BENCH_RTT)
				continue;
			t = find(r, n, nm[j], r[i].size, BENCH_TPUT);
			fprintf(f, "%zu ", r[i].size);
			if (r[i].status == 0)
				fprintf(f, "%llu %llu ", (unsigned long long)r[i].p50_ns,
					(unsigned long long)r[i].p99_ns);
			else
				fputs("NaN NaN ", f);
			if (t && t->status == 0)
				fprintf(f, "%.3f\n", t->mb_per_s);
			else
				fputs("NaN\n", f);
		}
		/* Throughput-only rows: sizes from their own records. */
		for (i = 0; i < n; i++) {
			if (strcmp(r[i].mech->name, nm[j]) || r[i].kind != BENCH_TPUT ||
			    (r[i].mech->kinds & BENCH_RTT))
				continue;
			fprintf(f, "%zu NaN NaN ", r[i].size);
			if (r[i].status == 0)
				fprintf(f, "%.3f\n", r[i].mb_per_s);
			else
				fputs("NaN\n", f);
		}
		fputs("\n\n", f);
	}
	*names = nm;
	*count = k;
	return ferror(f) ? -EIO : 0;
}

const char *bench_tmpdir(void)
{
	const char *tmp = getenv("TMPDIR");

	return !tmp || !*tmp || strchr(tmp, '\'') ? "/tmp" : tmp;
}

int bench_plot(const char *path, const struct bench_machine *m, const struct bench_result *r,
	       size_t n)
{
	const char *ext = strrchr(path, '.');
	const char *tmp = bench_tmpdir();
	char data[4096];
	const char **names = NULL;
	size_t count = 0, j;
	FILE *f = NULL, *gp;
	void (*old_pipe)(int);
	int fd, r2, st, panel;
	bool svg;

	if (!ext || (strcmp(ext, ".svg") && strcmp(ext, ".png")))
		return -EINVAL;
	svg = !strcmp(ext, ".svg");
	if (snprintf(data, sizeof(data), "%s/ipckit-bench-plot-XXXXXX", tmp) >= (int)sizeof(data))
		return -ENAMETOOLONG;
	fd = mkstemp(data);
	if (fd < 0)
		return errno == ENOENT ? -ENOTDIR : bench_neg_errno(); /* -ENOENT: gnuplot's */
	f = fdopen(fd, "w");
	if (!f) {
		r2 = bench_neg_errno();
		close(fd);
		goto out;
	}
	r2 = plot_data(f, r, n, &names, &count);
	if (fclose(f) != 0 && r2 == 0)
		r2 = -EIO;
	if (r2 < 0)
		goto out;
	/* A gnuplot that is missing or dies must be an error, not SIGPIPE. */
	old_pipe = signal(SIGPIPE, SIG_IGN);
	gp = popen("exec gnuplot >&2", "w");
	if (!gp) {
		r2 = bench_neg_errno();
		signal(SIGPIPE, old_pipe);
		goto out;
	}
	fprintf(gp, "set terminal %s size 1400,1000 noenhanced %s\n", svg ? "svg" : "pngcairo",
		svg ? "dynamic" : "");
	fprintf(gp, "set output '%s'\n", path);
	/* Three charts and, in the fourth cell, their one key. */
	fprintf(gp, "set multiplot layout 2,2 title 'ipckit bench: %s, %s, CPUs %d,%d, %s'\n",
		m->cpu_model, m->kernel, m->cpu[0], m->cpu[1], m->date);
	fputs("set logscale xy\nset grid\nset xlabel 'message size (bytes)'\nunset key\n", gp);
	for (panel = 0; panel < 4; panel++) {
		static const char *const title[] = { "round trip p50 (ns)", "round trip p99 (ns)",
						     "one-way throughput (MB/s)", "" };
		if (panel == 3)
			fputs("unset logscale\nunset border\nunset tics\nunset grid\n"
			      "unset xlabel\nset xrange [0:1]\nset yrange [0:1]\n"
			      "set key center center vertical font ',9' width -2\n",
			      gp);
		fprintf(gp, "set title '%s'\nplot ", title[panel]);
		for (j = 0; j < count; j++) {
			if (panel == 3)
				fprintf(gp, "%sNaN with linespoints title '%s'", j ? ", " : "",
					names[j]);
			else
				fprintf(gp, "%s'%s' index %zu using 1:%d with linespoints",
					j ? ", " : "", data, j, panel + 2);
		}
		fputc('\n', gp);
	}
	fputs("unset multiplot\n", gp);
	st = pclose(gp);
	signal(SIGPIPE, old_pipe);
	if (st == -1)
		r2 = bench_neg_errno();
	else if (WIFEXITED(st) && WEXITSTATUS(st) == 127)
		r2 = -ENOENT;
	else if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		r2 = -EIO;
	else if (access(path, F_OK) < 0)
		r2 = -EIO;
out:
	free(names);
	unlink(data);
	return r2;
}
