/* SPDX-License-Identifier: MIT */
/*
 * bench/plot.c - `ipckit bench --plot`: the results as charts a reader can
 * use at a glance, drawn by gnuplot (PNG through pngcairo, or SVG).
 *
 *   - per message size, one panel of horizontal bars: the rows ranked by
 *     round-trip p50 (the bar, log scale) with the p99 as a whisker, each
 *     raw twin just under its library row in a lighter shade, coloured by
 *     family (family_of()); the limit row is the dashed line;
 *   - per message size with paced cases, one panel of receiver CPU (x)
 *     against one-way latency (y): a line per row through its rates, the
 *     point at the p50, the bar up to the p99, the point's shape the rate.
 *
 * A run without round trips nor paced cases (throughput only) gets bars of
 * the time per message instead. The data goes to a file in bench_tmpdir()
 * that gnuplot reads and that is removed afterwards; the script, made in
 * memory first (so that the data file is complete before gnuplot reads
 * any of it), goes to gnuplot's standard input.
 */
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>

#include <ipckit/common.h>

#include "engine.h"

#define WIDTH 1200
#define BAR_PX 19    /* height of one bar's line */
#define PANEL_PX 112 /* a bar panel's title, axis and margins */
#define PACED_PX 620
#define TITLE_PX 40
#define MAX_PACED_ROWS 12 /* more: raw rows are left out of a paced panel */
#define OVERLAY_MAX 6     /* more rows: a small chart per row */
#define SMALL_COLS 4
#define SMALL_PX 250
#define HEADER_PX 56
#define LABEL_MAX 64 /* more: raw rows are left out of a paced panel */

/* Families, by name prefix (first match wins); peer rows by their flag. */
struct family {
	const char *name;
	unsigned rgb;
};

static const struct family families[] = {
	{ "shared memory", 0x0072b2 }, { "sockets", 0xe69f00 }, { "queues", 0x009e73 },
	{ "pipes", 0xcc79a7 },         { "locks", 0x56b4e9 },   { "signals", 0xd55e00 },
	{ "bus", 0xa08c00 },           { "network", 0x8c564b }, { "peers", 0x6a3d9a },
	{ "other", 0x999999 },
};

enum {
	FAM_SHM,
	FAM_SOCK,
	FAM_QUEUE,
	FAM_PIPE,
	FAM_LOCK,
	FAM_SIG,
	FAM_BUS,
	FAM_NET,
	FAM_PEER,
	FAM_OTHER,
	FAM_N
};

static const struct {
	const char *prefix;
	int family;
} prefixes[] = {
	{ "limit", FAM_SHM },         { "shm-", FAM_SHM },       { "futex", FAM_SHM },
	{ "file-mmap", FAM_SHM },     { "memfd", FAM_SHM },      { "pipe", FAM_PIPE },
	{ "fifo", FAM_PIPE },         { "unix-", FAM_SOCK },     { "fdpass", FAM_SOCK },
	{ "tcp", FAM_NET },           { "nats", FAM_NET },       { "mq", FAM_QUEUE },
	{ "sysvmq", FAM_QUEUE },      { "mutex-", FAM_LOCK },    { "posix-sem-", FAM_LOCK },
	{ "unnamed-sem-", FAM_LOCK }, { "sysv-sem-", FAM_LOCK }, { "flock-", FAM_LOCK },
	{ "fcntl-", FAM_LOCK },       { "ofd-", FAM_LOCK },      { "eventfd", FAM_SIG },
	{ "rtsig", FAM_SIG },         { "svc", FAM_SHM },        { "dbus-", FAM_BUS },
};

static int family_of(const struct bench_mech *m)
{
	size_t i;

	if (m->flags & BENCH_PEER)
		return FAM_PEER;
	for (i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++)
		if (!strncmp(m->name, prefixes[i].prefix, strlen(prefixes[i].prefix)))
			return prefixes[i].family;
	return FAM_OTHER;
}

/* @rgb mixed with white: the raw twins' lighter shade. */
static unsigned lighter(unsigned rgb)
{
	unsigned out = 0;
	int sh;

	for (sh = 0; sh <= 16; sh += 8) {
		unsigned c = (rgb >> sh) & 0xff;

		out |= (c + (255 - c) * 11 / 20) << sh;
	}
	return out;
}

/* "571 ns", "1 µs", "1.6 µs", "23 µs", "1.2 ms". */
static void fmt_time(char *buf, size_t len, double ns)
{
	static const char *const unit[] = { "ns", "µs", "ms", "s" };
	int u = 0;

	while (ns >= 1000 && u < 3) {
		ns /= 1000;
		u++;
	}
	snprintf(buf, len, ns < 10 && u ? "%.2g %s" : "%.0f %s", ns, unit[u]);
}

/* What a bar shows: round-trip p50, or the time per message of a stream. */
static double bar_value(const struct bench_result *r)
{
	if (r->kind == BENCH_RTT)
		return (double)r->p50_ns;
	return r->msgs_per_s > 0 ? 1e9 / r->msgs_per_s : 0;
}

/* The measured results of @kind at @size, but the limit row's; sorted by
 * bar_value(), each raw twin moved to just after the first library row
 * that names it. *@limit: the limit row's, or NULL. */
static size_t bars(const struct bench_result *r, size_t n, size_t size, unsigned kind,
		   const struct bench_result **out, const struct bench_result **limit)
{
	const struct bench_result **tmp = out + n; /* the second half of @out */
	size_t k = 0, i, j, done = 0;

	*limit = NULL;
	for (i = 0; i < n; i++) {
		if (r[i].size != size || r[i].kind != kind || r[i].status != 0 ||
		    bar_value(&r[i]) <= 0)
			continue;
		if (r[i].mech->flags & BENCH_REF)
			*limit = &r[i];
		else
			tmp[k++] = &r[i];
	}
	/* Insertion sort: a few dozen rows, stable. */
	for (i = 1; i < k; i++)
		for (j = i; j > 0 && bar_value(tmp[j - 1]) > bar_value(tmp[j]); j--) {
			const struct bench_result *t = tmp[j];

			tmp[j] = tmp[j - 1];
			tmp[j - 1] = t;
		}
	for (i = 0; i < k; i++) {
		const struct bench_result *x = tmp[i], *twin = NULL;
		bool placed = false, deferred = false;

		for (j = 0; j < done; j++)
			placed |= out[j] == x;
		if (placed)
			continue;
		/* A raw row waits for the library row that names it. */
		for (j = 0; j < k && (x->mech->flags & BENCH_RAW); j++)
			if (tmp[j]->mech->raw && !strcmp(tmp[j]->mech->raw, x->mech->name))
				deferred = true;
		if (deferred)
			continue;
		out[done++] = x;
		for (j = 0; x->mech->raw && j < k; j++)
			if (!strcmp(tmp[j]->mech->name, x->mech->raw))
				twin = tmp[j];
		for (j = 0; twin && j < done; j++)
			if (out[j] == twin)
				twin = NULL;
		if (twin)
			out[done++] = twin;
	}
	return done;
}

/* Sizes of @kind, in the order they were run. */
static size_t sizes_of(const struct bench_result *r, size_t n, unsigned kind, size_t *out)
{
	size_t k = 0, i, j;

	for (i = 0; i < n; i++) {
		if (r[i].kind != kind || r[i].status != 0)
			continue;
		for (j = 0; j < k && out[j] != r[i].size; j++)
			;
		if (j == k && k < BENCH_MAX_SIZES)
			out[k++] = r[i].size;
	}
	return k;
}

/* Rows with measured paced cases at @size, in run order; with more than
 * MAX_PACED_ROWS, raw rows are left out. */
static size_t paced_rows(const struct bench_result *r, size_t n, size_t size,
			 const struct bench_mech **out, size_t max)
{
	size_t k = 0, i, j, all = 0;
	int pass;

	for (pass = 0; pass < 2; pass++) {
		k = 0;
		for (i = 0; i < n; i++) {
			if (r[i].kind != BENCH_RATE || r[i].size != size || r[i].status != 0)
				continue;
			if (pass == 1 && all > MAX_PACED_ROWS && (r[i].mech->flags & BENCH_RAW) &&
			    !(r[i].mech->flags & BENCH_REF))
				continue;
			for (j = 0; j < k && out[j] != r[i].mech; j++)
				;
			if (j == k && k < max)
				out[k++] = r[i].mech;
		}
		all = k;
	}
	return k;
}

/* Distinct rates of the run, in order. */
static size_t rates_of(const struct bench_result *r, size_t n, double *out)
{
	size_t k = 0, i, j;

	for (i = 0; i < n; i++) {
		if (r[i].kind != BENCH_RATE)
			continue;
		for (j = 0; j < k && out[j] != r[i].rate; j++)
			;
		if (j == k && k < BENCH_MAX_RATES)
			out[k++] = r[i].rate;
	}
	return k;
}

static double floor_decade(double v)
{
	return pow(10, floor(log10(v)));
}

static double ceil_decade(double v)
{
	return pow(10, ceil(log10(v)));
}

/* Decade tics of a time axis in ns: "set xtics (...)" or ytics. */
static void time_tics(FILE *gp, const char *axis, double lo, double hi)
{
	char t[24];
	double v;
	bool first = true;

	fprintf(gp, "set %s (", axis);
	for (v = lo; v <= hi * 1.01; v *= 10) {
		fmt_time(t, sizeof(t), v);
		fprintf(gp, "%s\"%s\" %g", first ? "" : ", ", t, v);
		first = false;
	}
	fputs(")\n", gp);
}

struct layout {
	int height; /* px of the whole canvas */
	int y;      /* px from the top to the next panel */
	FILE *gp;
	const char *data;
	int block; /* the next data block ("index") */
};

static void panel_at(struct layout *l, int px)
{
	fputs("reset\n", l->gp); /* the panel before: all but its place */
	fprintf(l->gp, "set origin 0,%.5f\nset size 1,%.5f\n",
		(double)(l->height - l->y - px) / l->height, (double)px / l->height);
	l->y += px;
}

/* One panel of bars: data block lines "y value p99 rgb raw name". */
static int bar_panel(struct layout *l, FILE *df, const struct bench_result *r, size_t n,
		     size_t size, unsigned kind)
{
	const struct bench_result **g, *limit;
	char(*labels)[LABEL_MAX];
	bool seen[FAM_N] = { false };
	double lo = 1e18, hi = 0;
	char t[2][24];
	size_t k, i;
	FILE *gp = l->gp;
	int fam;

	g = calloc(2 * n + 1, sizeof(*g));
	labels = calloc(n + 1, sizeof(*labels));
	if (!g || !labels) {
		free(g);
		free(labels);
		return -ENOMEM;
	}
	k = bars(r, n, size, kind, g, &limit);
	for (i = 0; i < k; i++) {
		const struct bench_result *x = g[i];
		double v = bar_value(x), top = kind == BENCH_RTT ? (double)x->p99_ns : v;
		bool raw = x->mech->flags & BENCH_RAW;
		unsigned rgb = families[family_of(x->mech)].rgb;

		seen[family_of(x->mech)] = true;
		fmt_time(t[0], sizeof(t[0]), v);
		fmt_time(t[1], sizeof(t[1]), top);
		fprintf(df, "%zu %.1f %.1f %u %d %s\n", i, v, top, raw ? lighter(rgb) : rgb, raw,
			x->mech->name);
		snprintf(labels[i], LABEL_MAX, "%s%s%s", t[0], kind == BENCH_RTT ? " / " : "",
			 kind == BENCH_RTT ? t[1] : "");
		if (v < lo)
			lo = v;
		if (top > hi)
			hi = top;
	}
	if (limit) {
		seen[FAM_SHM] = true;
		if (bar_value(limit) < lo)
			lo = bar_value(limit);
	}
	fputs("\n\n", df);
	free(g);
	if (k == 0) {
		free(labels);
		l->block++;
		return 0;
	}
	lo = floor_decade(lo * 0.9);
	hi = ceil_decade(hi * 1.05);
	panel_at(l, PANEL_PX + BAR_PX * (int)k);
	fputs("unset key\nset border 3\nset tics nomirror\nset grid xtics mxtics "
	      "lc rgb '#dddddd'\nset logscale x\nset mxtics 10\n",
	      gp);
	fprintf(gp, "set lmargin 24\nset rmargin 20\nset tmargin 3\nset bmargin 4.5\n");
	/* gnuplot draws no tic on the very end of a log axis: just inside. */
	fprintf(gp, "set xrange [%g:%g]\nset yrange [%zu.6:-0.6]\n", lo * 0.999, hi * 1.001, k - 1);
	time_tics(gp, "xtics", lo, hi);
	fprintf(gp, "set ytics scale 0 font ',10'\n");
	if (kind == BENCH_RTT)
		fprintf(gp,
			"set title \"%zu bytes, round trip: p50 (bar) and p99 (whisker), fastest "
			"first; lighter bar: raw system calls, under their library row\" "
			"font ',12'\n",
			size);
	else
		fprintf(gp,
			"set title \"%zu bytes, one-way stream: time per message, fastest first; "
			"lighter bar: the raw twin\" font ',12'\n",
			size);
	if (limit) {
		fmt_time(t[0], sizeof(t[0]), bar_value(limit));
		fprintf(gp,
			"set arrow from %.1f, graph 0 to %.1f, graph 1 nohead dt 2 lw 2 "
			"lc rgb '#222222' front\n",
			bar_value(limit), bar_value(limit));
		fprintf(gp,
			"set label \"limit %s\" at %.1f, graph 1 offset 0.5,0.6 left "
			"font ',10' front\n",
			t[0], bar_value(limit));
	}
	/* The numbers, p50 / p99, in a column right of the chart. */
	for (i = 0; i < k; i++)
		fprintf(gp,
			"set label %zu \"%s\" at graph 1.01, first %zu left font ',9' tc rgb "
			"'#333333'\n",
			i + 100, labels[i], i);
	fprintf(gp,
		"set key below horizontal samplen 1.5 font ',10'\n"
		"plot '%s' index %d using (%g):1:(%g):2:($1-0.38):($1+0.38):4:ytic(6) "
		"with boxxyerror fs solid 1 noborder lc rgb variable notitle",
		l->data, l->block, lo, lo);
	if (kind == BENCH_RTT)
		fprintf(gp,
			", '' index %d using 2:1:2:3 with xerrorbars pt 0 lw 1.2 "
			"lc rgb '#333333' notitle",
			l->block);
	for (fam = 0; fam < FAM_N; fam++)
		if (seen[fam])
			fprintf(gp,
				", NaN with boxes fs solid 1 noborder lc rgb '#%06x' title '%s'",
				families[fam].rgb, families[fam].name);
	fputc('\n', gp);
	free(labels);
	l->block++;
	return 0;
}

/* Colours of the rows of an overlaid paced panel. */
static const unsigned row_rgb[] = { 0x0072b2, 0xe69f00, 0x009e73, 0xcc79a7, 0xd55e00, 0x56b4e9,
				    0x000000, 0xa08c00, 0x8c564b, 0x6a3d9a, 0x999999, 0xe31a1c };

/* The rates' point shapes: gnuplot's point types and the same in text. */
static const struct {
	int pt;
	const char *glyph;
} shapes[] = { { 5, "■" }, { 7, "●" }, { 9, "▲" }, { 11, "▼" }, { 13, "◆" } };

#define NSHAPES (sizeof(shapes) / sizeof(shapes[0]))

/* "500", "10k", "1.5M" messages per second. */
static void fmt_hz(char *buf, size_t len, double hz)
{
	if (hz >= 1e6)
		snprintf(buf, len, "%gM", hz / 1e6);
	else if (hz >= 1e3)
		snprintf(buf, len, "%gk", hz / 1e3);
	else
		snprintf(buf, len, "%g", hz);
}

/* Height of the paced panel of @size: one chart of every row's lines, or
 * with more than OVERLAY_MAX rows a small chart per row. */
static int paced_height(const struct bench_result *r, size_t n, size_t size)
{
	const struct bench_mech *rows[256];
	size_t k = paced_rows(r, n, size, rows, 256);

	if (k == 0)
		return 0;
	return k <= OVERLAY_MAX ? PACED_PX
				: HEADER_PX + SMALL_PX * (int)((k + SMALL_COLS - 1) / SMALL_COLS);
}

/* The axes both kinds of paced chart share. */
static void paced_axes(FILE *gp, double ylo, double yhi, const char *font)
{
	fputs("set border 3\nset tics nomirror\nset grid xtics ytics lc rgb '#e4e4e4'\n"
	      "set logscale xy\nset xrange [0.00999:200]\n",
	      gp);
	/* Tic labels are gnuplot formats: %%%% there is a per cent sign. */
	fprintf(gp,
		"set xtics (\"0.01%%%%\" 0.01, \"0.1%%%%\" 0.1, \"1%%%%\" 1, \"10%%%%\" 10, "
		"\"100%%%%\" 100) font '%s'\nset yrange [%g:%g]\n",
		font, ylo * 0.999, yhi * 1.001);
	time_tics(gp, "ytics", ylo, yhi);
	fprintf(gp, "set ytics font '%s'\n", font);
}

/* A row's plot elements: line, p50-to-p99 bars, a shape per rate. */
static void paced_row(FILE *gp, const char *data, int block, unsigned rgb, int dt,
		      const char *title, const double *rates, size_t nr, double ps)
{
	size_t q;

	fprintf(gp,
		"'%s' index %d using 1:2 with lines lw 2 dt %d lc rgb '#%06x' %s%s%s, "
		"'' index %d using 1:2:2:3 with yerrorbars pt 0 lw 1 lc rgb '#%06x' notitle",
		data, block, dt, rgb, title ? "title '" : "notitle", title ? title : "",
		title ? "'" : "", block, rgb);
	for (q = 0; q < nr; q++)
		fprintf(gp,
			", '' index %d using 1:($4 == %g ? $2 : NaN) with points pt %d ps %.1f "
			"lc rgb '#%06x' notitle",
			block, rates[q], shapes[q % NSHAPES].pt, ps, rgb);
}

/* One paced panel: a data block per row, lines "cpu p50 p99 rate". */
static void paced_panel(struct layout *l, FILE *df, const struct bench_result *r, size_t n,
			size_t size)
{
	const struct bench_mech *rows[256];
	double rates[BENCH_MAX_RATES], ylo = 1e18, yhi = 0;
	size_t k, nr, i, j, q;
	FILE *gp = l->gp;
	int first = l->block, limit = -1;
	char key[256], hz[16];
	size_t used = 0;

	k = paced_rows(r, n, size, rows, sizeof(rows) / sizeof(rows[0]));
	nr = rates_of(r, n, rates);
	for (i = 0; i < k; i++) {
		if (rows[i]->flags & BENCH_REF)
			limit = first + (int)i;
		for (q = 0; q < nr; q++)
			for (j = 0; j < n; j++) {
				const struct bench_result *x = &r[j];
				double cpu;

				if (x->mech != rows[i] || x->kind != BENCH_RATE ||
				    x->size != size || x->status != 0 || x->rate != rates[q])
					continue;
				cpu = x->cpu_recv * 100 < 0.01 ? 0.01 : x->cpu_recv * 100;
				fprintf(df, "%.4f %llu %llu %g\n", cpu,
					(unsigned long long)x->p50_ns,
					(unsigned long long)x->p99_ns, x->rate);
				if ((double)x->p50_ns < ylo)
					ylo = (double)x->p50_ns;
				if ((double)x->p99_ns > yhi)
					yhi = (double)x->p99_ns;
			}
		fputs("\n\n", df);
	}
	l->block += (int)k;
	if (k == 0 || ylo <= 0)
		return;
	ylo = floor_decade(ylo * 0.9);
	yhi = ceil_decade(yhi * 1.1);
	/* "■ 1k  ● 10k  ▲ 100k msg/s" */
	key[0] = 0;
	for (q = 0; q < nr && used < sizeof(key); q++) {
		fmt_hz(hz, sizeof(hz), rates[q]);
		used += (size_t)snprintf(key + used, sizeof(key) - used, "%s%s %s", q ? "   " : "",
					 shapes[q % NSHAPES].glyph, hz);
	}
	if (k <= OVERLAY_MAX) {
		panel_at(l, PACED_PX);
		paced_axes(gp, ylo, yhi, ",10");
		fprintf(gp, "set lmargin 12\nset rmargin 24\nset tmargin 3.5\nset bmargin 4\n");
		fprintf(gp,
			"set title \"%zu bytes, paced one-way: what the receiver's CPU buys. A "
			"line "
			"per row through its rates (%s msg/s), point = p50, bar up to p99\" "
			"font ',12'\n",
			size, key);
		fprintf(gp, "set xlabel \"receiver CPU (%% of one CPU, per second of feed)\" "
			    "font ',11'\nset ylabel \"one-way latency\" font ',11'\n");
		fputs("set key outside right top font ',10' samplen 2 spacing 1.2\nplot ", gp);
		for (i = 0; i < k; i++) {
			fputs(i ? ", " : "", gp);
			paced_row(gp, l->data, first + (int)i,
				  row_rgb[i % (sizeof(row_rgb) / sizeof(row_rgb[0]))],
				  1 + (int)(i / (sizeof(row_rgb) / sizeof(row_rgb[0]))),
				  rows[i]->name, rates, nr, 1.6);
		}
		fputc('\n', gp);
		return;
	}
	/* Small multiples: one chart per row, the same axes, the limit's
	 * line in grey behind each. */
	{
		int top = l->y, nrow = (int)((k + SMALL_COLS - 1) / SMALL_COLS);
		double w = 1.0 / SMALL_COLS, h = (double)SMALL_PX / l->height;

		panel_at(l, HEADER_PX + SMALL_PX * nrow);
		fprintf(gp,
			"unset border\nunset tics\nset xrange [0:1]\nset yrange [0:1]\n"
			"set lmargin 0\nset rmargin 0\nset tmargin 0\nset bmargin 0\n"
			"set label 1 \"%zu bytes, paced one-way: what the receiver's CPU buys\" "
			"at graph 0.5, graph %.5f center font ',12'\n"
			"set label 2 \"per row: x receiver CPU (%% of one CPU), y one-way latency, "
			"both log; point = p50, bar up to p99; %s msg/s; grey: the limit\" "
			"at graph 0.5, graph %.5f center font ',10'\n",
			size, 1.0 - 16.0 / (HEADER_PX + SMALL_PX * nrow), key,
			1.0 - 38.0 / (HEADER_PX + SMALL_PX * nrow));
		fputs("plot NaN notitle\nunset label 1\nunset label 2\n", gp);
		for (i = 0; i < k; i++) {
			int col = (int)(i % SMALL_COLS), row = (int)(i / SMALL_COLS);

			fprintf(gp, "reset\nset origin %.5f,%.5f\nset size %.5f,%.5f\n", col * w,
				(double)(l->height - top - HEADER_PX) / l->height - (row + 1) * h,
				w, h);
			paced_axes(gp, ylo, yhi, ",8");
			fprintf(gp, "unset key\nset lmargin 7\nset rmargin 1.5\nset tmargin 1.6\n"
				    "set bmargin 1.6\n");
			fprintf(gp, "set title '%s' font ',10' tc rgb '#%06x' offset 0,-0.6\nplot ",
				rows[i]->name, families[family_of(rows[i])].rgb);
			if (limit >= 0 && limit != first + (int)i) {
				paced_row(gp, l->data, limit, 0xbbbbbb, 1, NULL, rates, nr, 0.8);
				fputs(", ", gp);
			}
			paced_row(gp, l->data, first + (int)i, families[family_of(rows[i])].rgb, 1,
				  NULL, rates, nr, 1.2);
			fputc('\n', gp);
		}
	}
}

const char *bench_tmpdir(void)
{
	const char *tmp = getenv("TMPDIR");

	return !tmp || !*tmp || strchr(tmp, '\'') ? "/tmp" : tmp;
}

/* Writes the data file and the script; -errno. */
static int draw(FILE *gp, FILE *df, const char *data, const char *path, bool svg,
		const struct bench_machine *m, const struct bench_result *r, size_t n)
{
	size_t rtt[BENCH_MAX_SIZES], pace[BENCH_MAX_SIZES], tput[BENCH_MAX_SIZES];
	size_t nrtt = sizes_of(r, n, BENCH_RTT, rtt), npace = sizes_of(r, n, BENCH_RATE, pace);
	size_t ntput = nrtt || npace ? 0 : sizes_of(r, n, BENCH_TPUT, tput), i, j;
	struct layout l = { .gp = gp, .data = data };
	const struct bench_result **g, *limit;
	int ret;

	/* The canvas: every panel's height, known before the first. */
	g = calloc(2 * n + 1, sizeof(*g));
	if (!g)
		return -ENOMEM;
	l.height = TITLE_PX;
	for (i = 0; i < nrtt; i++)
		if ((j = bars(r, n, rtt[i], BENCH_RTT, g, &limit)) > 0)
			l.height += PANEL_PX + BAR_PX * (int)j;
	for (i = 0; i < ntput; i++)
		if ((j = bars(r, n, tput[i], BENCH_TPUT, g, &limit)) > 0)
			l.height += PANEL_PX + BAR_PX * (int)j;
	free(g);
	for (i = 0; i < npace; i++)
		l.height += paced_height(r, n, pace[i]);
	if (l.height == TITLE_PX)
		l.height += 200; /* nothing measured: the title says so */
	fprintf(gp, "set terminal %s size %d,%d noenhanced font 'DejaVu Sans,10' %s\n",
		svg ? "svg" : "pngcairo", WIDTH, l.height,
		svg ? "dynamic background '#ffffff'" : "background '#ffffff'");
	fprintf(gp, "set output '%s'\n", path);
	fprintf(gp,
		"set multiplot title \"ipckit bench %s: %s, %s, CPUs %d,%d, %s%s\" font ',13'\n",
		ipk_version(), m->cpu_model, m->kernel, m->cpu[0], m->cpu[1], m->date,
		l.height == TITLE_PX + 200 ? " - nothing measured" : "");
	l.y = TITLE_PX;
	for (i = 0; i < nrtt; i++)
		if ((ret = bar_panel(&l, df, r, n, rtt[i], BENCH_RTT)) < 0)
			return ret;
	for (i = 0; i < ntput; i++)
		if ((ret = bar_panel(&l, df, r, n, tput[i], BENCH_TPUT)) < 0)
			return ret;
	for (i = 0; i < npace; i++)
		paced_panel(&l, df, r, n, pace[i]);
	fputs("unset multiplot\n", gp);
	return 0;
}

int bench_plot(const char *path, const struct bench_machine *m, const struct bench_result *r,
	       size_t n)
{
	const char *ext = strrchr(path, '.');
	const char *tmp = bench_tmpdir();
	char data[4096], *script = NULL;
	size_t len = 0;
	FILE *df = NULL, *sf = NULL, *gp;
	void (*old_pipe)(int);
	int fd, ret, st;
	bool svg;

	if (!ext || (strcmp(ext, ".svg") && strcmp(ext, ".png")))
		return -EINVAL;
	svg = !strcmp(ext, ".svg");
	if (strchr(path, '\''))
		return -EINVAL; /* gnuplot reads the name between ' */
	if (snprintf(data, sizeof(data), "%s/ipckit-bench-plot-XXXXXX", tmp) >= (int)sizeof(data))
		return -ENAMETOOLONG;
	fd = mkstemp(data);
	if (fd < 0)
		return errno == ENOENT ? -ENOTDIR : bench_neg_errno(); /* -ENOENT: gnuplot's */
	df = fdopen(fd, "w");
	if (!df) {
		ret = bench_neg_errno();
		close(fd);
		goto out;
	}
	sf = open_memstream(&script, &len);
	if (!sf) {
		ret = bench_neg_errno();
		fclose(df);
		goto out;
	}
	ret = draw(sf, df, data, path, svg, m, r, n);
	if (fclose(sf) != 0 && ret == 0)
		ret = -ENOMEM;
	if (fclose(df) != 0 && ret == 0)
		ret = -EIO;
	if (ret < 0)
		goto out;
	/* A gnuplot that is missing or dies must be an error, not SIGPIPE. */
	old_pipe = signal(SIGPIPE, SIG_IGN);
	gp = popen("exec gnuplot >&2", "w");
	if (!gp) {
		ret = bench_neg_errno();
		signal(SIGPIPE, old_pipe);
		goto out;
	}
	(void)fwrite(script, 1, len, gp); /* a short write shows in the status */
	st = pclose(gp);
	signal(SIGPIPE, old_pipe);
	if (st == -1)
		ret = bench_neg_errno();
	else if (WIFEXITED(st) && WEXITSTATUS(st) == 127)
		ret = -ENOENT;
	else if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		ret = -EIO;
	else if (access(path, F_OK) < 0)
		ret = -EIO;
out:
	free(script);
	unlink(data);
	return ret;
}
