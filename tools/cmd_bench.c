/* SPDX-License-Identifier: MIT */
/*
 * tools/cmd_bench.c - `ipckit bench`: parse the options, pick the rows from
 * the registry, run the engine (bench/engine.c) and print what was asked
 * for. The measuring itself lives in bench/.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "cli.h"
#include "engine.h"

int cmd_bench(int argc, char **argv);

#define MAX_SIZE ((size_t)64 << 20)

static const char usage[] =
	"Usage: ipckit bench [OPTIONS]\n"
	"\n"
	"Measure every IPC mechanism side by side: round-trip latency (p50, p90,\n"
	"p99, p99.9, max) and one-way throughput between two processes pinned to\n"
	"two CPUs, for the library's rows, the same loops in raw system calls, and\n"
	"the hardware limit (raw shared memory); with --rate, paced one-way\n"
	"latency and what it costs in CPU. See ipckit-bench(1).\n"
	"\n"
	"Options:\n"
	"  -s, --sizes LIST     message sizes in bytes (default 64,4096,65536)\n"
	"      --rate           add paced cases: one-way latency and CPU per second\n"
	"                       at 1k,10k,100k messages/s, and fan-out to 1,4,16\n"
	"                       subscribers where a row broadcasts\n"
	"      --rates LIST     paced cases at these rates (1k = 1000, 1M); implies --rate\n"
	"      --subscribers LIST\n"
	"                       fan-out subscriber counts (default 1,4,16, at most 64)\n"
	"      --kinds LIST     only these kinds of case: rtt, throughput, rate, fanout\n"
	"                       (default rtt,throughput, with --rate all four)\n"
	"      --cpus A,B       the two CPUs (default: the first two this process may use)\n"
	"      --same-cpu       both processes on CPU A\n"
	"      --only LIST      only these rows (names as in --list)\n"
	"      --peers          only the other libraries' rows, beside the limit and\n"
	"                       the ipckit rows they compete with\n"
	"      --list           print the rows and exit\n"
	"  -q, --quick          short cases: the whole run in well under 20 s\n"
	"      --time SEC       measured time per case (default 0.3; --quick 0.015)\n"
	"      --json FILE      write the results as JSON (docs/bench-schema.json);\n"
	"                       '-' for stdout (then no table)\n"
	"      --csv            CSV on stdout instead of the table\n"
	"      --plot FILE      draw FILE.svg or FILE.png with gnuplot: per size, the\n"
	"                       rows ranked by round-trip p50 (bar) and p99 (whisker);\n"
	"                       for paced cases, receiver CPU against p50 and p99\n"
	"  -t, --timeout SEC    a step that takes longer is a hang (default 10)\n"
	"  -h, --help           show this help\n"
	"\n"
	"SIGINT or SIGTERM stops bench at once, in any state: the case under way\n"
	"is cut short (its processes killed, the servers it started ended, what it\n"
	"made removed) and no other starts. The table (or CSV) of the cases that\n"
	"finished is printed, no JSON document is written and no plot drawn, and\n"
	"\"ipckit bench: stopped by SIGINT after K of N cases\" ends standard error.\n"
	"A reader of standard output that goes away (| head -1) stops it the same\n"
	"way (\"stopped by a closed standard output\" if cases were left).\n"
	"\n"
	"Exit status: 0 every case ran or is not applicable here, or the run was\n"
	"stopped and no finished case failed; 1 a case failed; 2 usage error.\n";

struct args {
	struct bench_opts o;
	bool same_cpu, cpus_given, list, csv, quick, rate, peers;
	const char *json, *plot, *only;
	int64_t time_ns;
};

#define MAX_RATE 10e6 /* messages per second */

/* A rate: a number, with k (10^3) or M (10^6) after it. */
static int parse_rate(const char *tok, double *ret)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(tok, &end);
	if (end == tok || errno)
		return -EINVAL;
	if (*end == 'k' || *end == 'K')
		v *= 1e3, end++;
	else if (*end == 'M')
		v *= 1e6, end++;
	if (*end || !(v >= 1 && v <= MAX_RATE))
		return -EINVAL;
	*ret = v;
	return 0;
}

/* The comma-separated items of @arg, each to @one, at most @max of them;
 * @what names the option in messages. */
static int parse_list(const char *arg, const char *what, unsigned max,
		      int (*one)(const char *tok, void *out, unsigned i), void *out, unsigned *n)
{
	char *copy = strdup(arg), *tok, *save = NULL;
	int r = 0;

	if (!copy)
		return cli_fail(what, ENOMEM);
	*n = 0;
	for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		if (*n == max) {
			r = cli_usage_error("%s: at most %u items", what, max);
			goto out;
		}
		if ((r = one(tok, out, *n)) != 0)
			goto out;
		(*n)++;
	}
	if (*n == 0)
		r = cli_usage_error("%s: empty list", what);
out:
	free(copy);
	return r;
}

static int one_rate(const char *tok, void *out, unsigned i)
{
	if (parse_rate(tok, &((double *)out)[i]) < 0)
		return cli_usage_error("bad rate '%s' in --rates: want 1 to 10M messages/s "
				       "(e.g. 500, 10k, 1.5M)",
				       tok);
	return 0;
}

static int one_subs(const char *tok, void *out, unsigned i)
{
	unsigned long v;

	if (cli_parse_ulong(tok, 1, BENCH_MAX_SUBS, &v) < 0)
		return cli_usage_error("bad count '%s' in --subscribers: want 1 to %d", tok,
				       BENCH_MAX_SUBS);
	((unsigned *)out)[i] = (unsigned)v;
	return 0;
}

static int one_kind(const char *tok, void *out, unsigned i)
{
	static const unsigned kinds[] = { BENCH_RTT, BENCH_TPUT, BENCH_RATE, BENCH_FANOUT };
	unsigned j;

	(void)i;
	for (j = 0; j < sizeof(kinds) / sizeof(kinds[0]); j++)
		if (!strcmp(tok, bench_kind_name(kinds[j]))) {
			*(unsigned *)out |= kinds[j];
			return 0;
		}
	return cli_usage_error("unknown kind '%s' in --kinds: want rtt, throughput, rate or "
			       "fanout",
			       tok);
}

static int parse_sizes(const char *arg, struct bench_opts *o)
{
	char *copy = strdup(arg), *tok, *save = NULL;
	int r = 0;

	if (!copy)
		return cli_fail("sizes", ENOMEM);
	o->nsizes = 0;
	for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		unsigned long v;

		if (cli_parse_ulong(tok, 1, MAX_SIZE, &v) < 0) {
			r = cli_usage_error("bad size '%s' in --sizes: want 1 to %zu bytes", tok,
					    MAX_SIZE);
			goto out;
		}
		if (o->nsizes == BENCH_MAX_SIZES) {
			r = cli_usage_error("--sizes: at most %d sizes", BENCH_MAX_SIZES);
			goto out;
		}
		o->sizes[o->nsizes++] = v;
	}
	if (o->nsizes == 0)
		r = cli_usage_error("--sizes: empty list");
out:
	free(copy);
	return r;
}

static int cpu_usable(int cpu, const cpu_set_t *allowed)
{
	return cpu >= 0 && cpu < CPU_SETSIZE && CPU_ISSET(cpu, allowed);
}

static void allowed_list(const cpu_set_t *allowed, char *buf, size_t len)
{
	size_t used = 0;
	int c;

	buf[0] = 0;
	for (c = 0; c < CPU_SETSIZE && used + 8 < len; c++)
		if (CPU_ISSET(c, allowed))
			used += (size_t)snprintf(buf + used, len - used, "%s%d", used ? "," : "",
						 c);
}

static int parse_cpus(struct args *a, const char *arg)
{
	cpu_set_t allowed;
	char list[128];
	long v[2];
	int i, n = 0;

	CPU_ZERO(&allowed);
	if (sched_getaffinity(0, sizeof(allowed), &allowed) < 0)
		return cli_fail("sched_getaffinity", errno);
	allowed_list(&allowed, list, sizeof(list));
	if (arg) {
		char buf[64], *comma;

		snprintf(buf, sizeof(buf), "%s", arg);
		comma = strchr(buf, ',');
		if (comma)
			*comma = 0;
		if (cli_parse_long(buf, 0, 1000000, &v[0]) < 0 ||
		    (comma && cli_parse_long(comma + 1, 0, 1000000, &v[1]) < 0) ||
		    (!comma && !a->same_cpu))
			return cli_usage_error("bad --cpus '%s': want two CPU numbers, A,B", arg);
		if (!comma)
			v[1] = v[0];
		for (i = 0; i < 2; i++)
			if (!cpu_usable((int)v[i], &allowed))
				return cli_usage_error("CPU %ld does not exist or may not be used "
						       "here (usable: %s)",
						       v[i], list);
		a->o.cpu[0] = (int)v[0];
		a->o.cpu[1] = a->same_cpu ? (int)v[0] : (int)v[1];
		return 0;
	}
	for (i = 0; i < CPU_SETSIZE && n < 2; i++)
		if (CPU_ISSET(i, &allowed))
			a->o.cpu[n++] = i;
	if (n == 1 || a->same_cpu) {
		if (n == 1 && !a->same_cpu)
			cli_msg("only CPU %d may be used: both processes run on it", a->o.cpu[0]);
		a->o.cpu[1] = a->o.cpu[0];
	}
	return 0;
}

/* --peers: besides the other libraries' rows, the limit and ipckit's rows
 * that do the same job (a ring spinning or sleeping, the lossless queue,
 * a Unix socket). */
static bool is_peer_rival(const char *name)
{
	static const char *const rivals[] = { "limit", "shm-ring-spin", "shm-ring", "shm-queue",
					      "unix-stream" };

	for (size_t i = 0; i < sizeof(rivals) / sizeof(rivals[0]); i++)
		if (!strcmp(name, rivals[i]))
			return true;
	return false;
}

/* The rows: all, those --peers picks, or those --only names, in registry
 * order. */
static int pick_rows(struct args *a)
{
	const struct bench_mech *m;
	size_t i, total = 0;
	char *copy = NULL, *tok, *save = NULL;
	int r = 0;

	while (bench_mech_at(total))
		total++;
	a->o.mech = calloc(total ? total : 1, sizeof(*a->o.mech));
	if (!a->o.mech)
		return cli_fail("rows", ENOMEM);
	if (a->peers) {
		if (a->only)
			return cli_usage_error("--peers and --only both choose the rows");
		for (i = 0; i < total; i++) {
			m = bench_mech_at(i);
			if ((m->flags & BENCH_PEER) || is_peer_rival(m->name))
				a->o.mech[a->o.nmech++] = m;
		}
		return 0;
	}
	if (!a->only) {
		for (i = 0; i < total; i++)
			a->o.mech[a->o.nmech++] = bench_mech_at(i);
		return 0;
	}
	copy = strdup(a->only);
	if (!copy)
		return cli_fail("rows", ENOMEM);
	for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		if (!bench_mech_find(tok)) {
			r = cli_usage_error("unknown mechanism '%s' in --only (see --list)", tok);
			goto out;
		}
	}
	free(copy);
	copy = NULL;
	/* Registry order, each row once, however --only lists them. */
	for (i = 0; i < total; i++) {
		char *p;
		size_t len;

		m = bench_mech_at(i);
		len = strlen(m->name);
		for (p = strstr(a->only, m->name); p; p = strstr(p + 1, m->name))
			if ((p == a->only || p[-1] == ',') && (p[len] == ',' || p[len] == 0))
				break;
		if (p)
			a->o.mech[a->o.nmech++] = m;
	}
	if (a->o.nmech == 0)
		r = cli_usage_error("--only: empty list");
out:
	free(copy);
	return r;
}

/* "rtt,throughput,rate": the kinds of case in @kinds. */
static const char *kinds_list(unsigned kinds, char *buf, size_t len)
{
	size_t used = 0;
	unsigned k;

	buf[0] = 0;
	for (k = BENCH_RTT; k <= BENCH_FANOUT; k <<= 1)
		if ((kinds & k) && used < len)
			used += (size_t)snprintf(buf + used, len - used, "%s%s", used ? "," : "",
						 bench_kind_name(k));
	return buf;
}

/* --list: the rows chosen (all, --peers or --only). */
static void print_list(const struct args *a)
{
	char kinds[64];

	for (size_t i = 0; i < a->o.nmech; i++) {
		const struct bench_mech *m = a->o.mech[i];

		printf("%-24s %-7s %-26s %s%s%s", m->name,
		       m->flags & BENCH_REF    ? "limit"
		       : m->flags & BENCH_RAW  ? "raw"
		       : m->flags & BENCH_PEER ? "peer"
					       : "library",
		       kinds_list(m->kinds, kinds, sizeof(kinds)), m->desc,
		       m->raw ? "; raw twin: " : "", m->raw ? m->raw : "");
		/* Another library: which one, or that this build lacks it. */
		if (m->flags & BENCH_PEER)
			printf(" (%s)", m->version && m->version() ? m->version() : "not built");
		putchar('\n');
	}
}

static int parse(int argc, char **argv, struct args *a)
{
	enum {
		O_CPUS = 256,
		O_SAME,
		O_ONLY,
		O_PEERS,
		O_LIST,
		O_TIME,
		O_JSON,
		O_CSV,
		O_PLOT,
		O_RATE,
		O_RATES,
		O_SUBS,
		O_KINDS
	};
	static const struct option longopts[] = {
		{ "sizes", required_argument, NULL, 's' },
		{ "cpus", required_argument, NULL, O_CPUS },
		{ "same-cpu", no_argument, NULL, O_SAME },
		{ "only", required_argument, NULL, O_ONLY },
		{ "peers", no_argument, NULL, O_PEERS },
		{ "list", no_argument, NULL, O_LIST },
		{ "quick", no_argument, NULL, 'q' },
		{ "time", required_argument, NULL, O_TIME },
		{ "json", required_argument, NULL, O_JSON },
		{ "csv", no_argument, NULL, O_CSV },
		{ "plot", required_argument, NULL, O_PLOT },
		{ "timeout", required_argument, NULL, 't' },
		{ "rate", no_argument, NULL, O_RATE },
		{ "rates", required_argument, NULL, O_RATES },
		{ "subscribers", required_argument, NULL, O_SUBS },
		{ "kinds", required_argument, NULL, O_KINDS },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *cpus = NULL, *ext;
	unsigned nkinds;
	int c, r;

	a->o.sizes[0] = 64;
	a->o.sizes[1] = 4096;
	a->o.sizes[2] = 65536;
	a->o.nsizes = 3;
	a->o.rates[0] = 1e3;
	a->o.rates[1] = 1e4;
	a->o.rates[2] = 1e5;
	a->o.nrates = 3;
	a->o.subs[0] = 1;
	a->o.subs[1] = 4;
	a->o.subs[2] = 16;
	a->o.nsubs = 3;
	a->o.timeout_ns = 10 * IPK_SEC;
	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, ":s:qt:h", longopts, NULL)) != -1) {
		switch (c) {
		case 's':
			if ((r = parse_sizes(optarg, &a->o)) != 0)
				return r;
			break;
		case O_CPUS:
			cpus = optarg;
			a->cpus_given = true;
			break;
		case O_SAME:
			a->same_cpu = true;
			break;
		case O_ONLY:
			a->only = optarg;
			break;
		case O_PEERS:
			a->peers = true;
			break;
		case O_LIST:
			a->list = true;
			break;
		case 'q':
			a->quick = true;
			break;
		case O_TIME:
			if (cli_parse_seconds(optarg, &a->time_ns) < 0 || a->time_ns <= 0 ||
			    a->time_ns > 60 * IPK_SEC)
				return cli_usage_error("bad --time '%s': want seconds, more than 0 "
						       "and at most 60",
						       optarg);
			break;
		case O_JSON:
			a->json = optarg;
			break;
		case O_CSV:
			a->csv = true;
			break;
		case O_PLOT:
			ext = strrchr(optarg, '.');
			if (!ext || (strcmp(ext, ".svg") && strcmp(ext, ".png")))
				return cli_usage_error("bad --plot '%s': the name must end in .svg "
						       "or .png",
						       optarg);
			a->plot = optarg;
			break;
		case 't':
			if ((r = cli_opt_timeout(optarg, &a->o.timeout_ns)) != 0)
				return r;
			if (a->o.timeout_ns <= 0)
				return cli_usage_error("bad --timeout '%s': want more than 0",
						       optarg);
			break;
		case O_RATE:
			a->rate = true;
			break;
		case O_RATES:
			a->rate = true;
			if ((r = parse_list(optarg, "--rates", BENCH_MAX_RATES, one_rate,
					    a->o.rates, &a->o.nrates)) != 0)
				return r;
			break;
		case O_SUBS:
			if ((r = parse_list(optarg, "--subscribers", BENCH_MAX_FANOUT, one_subs,
					    a->o.subs, &a->o.nsubs)) != 0)
				return r;
			break;
		case O_KINDS:
			a->o.kinds = 0;
			if ((r = parse_list(optarg, "--kinds", 4, one_kind, &a->o.kinds,
					    &nkinds)) != 0)
				return r;
			break;
		case 'h':
			fputs(usage, stdout);
			return CLI_OK;
		default:
			return cli_bad_option(c, argv, longopts);
		}
	}
	if (optind < argc)
		return cli_usage_error("unexpected operand '%s'", argv[optind]);
	if (a->csv && a->json && !strcmp(a->json, "-"))
		return cli_usage_error("--csv and --json - both want stdout");
	if (!a->o.kinds)
		a->o.kinds = BENCH_RTT | BENCH_TPUT | (a->rate ? BENCH_RATE | BENCH_FANOUT : 0);
	if ((r = parse_cpus(a, cpus)) != 0)
		return r;
	if ((r = pick_rows(a)) != 0)
		return r;
	a->o.budget_ns = a->time_ns ? a->time_ns : a->quick ? 15 * IPK_MSEC : 300 * IPK_MSEC;
	a->o.warmup_ns = a->quick ? 5 * IPK_MSEC : 50 * IPK_MSEC;
	a->o.progress = isatty(STDERR_FILENO);
	return -1;
}

/* The --json file, opened before the run so that a bad path fails before
 * minutes of measuring, but neither made nor emptied until a document is
 * written: a stopped run leaves no file, or the old one as it was. */
struct json_out {
	FILE *f;      /* stdout for '-' */
	bool created; /* the file did not exist: remove it if nothing is written */
	struct stat st;
};

static int json_open(const char *path, struct json_out *j)
{
	int fd;

	memset(j, 0, sizeof(*j));
	if (!strcmp(path, "-")) {
		j->f = stdout;
		return 0;
	}
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
	j->created = fd >= 0;
	if (fd < 0 && errno == EEXIST)
		fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &j->st) < 0 || !(j->f = fdopen(fd, "w"))) {
		int err = errno;

		if (fd >= 0)
			close(fd);
		if (j->created)
			(void)unlink(path);
		return cli_fail(path, err);
	}
	return 0;
}

/* No document: closes the file and removes it if this run made it (and
 * it is still the file made). */
static void json_drop(const char *path, struct json_out *j)
{
	struct stat now;

	if (!j->f || j->f == stdout)
		return;
	fclose(j->f);
	j->f = NULL;
	if (j->created && stat(path, &now) == 0 && now.st_dev == j->st.st_dev &&
	    now.st_ino == j->st.st_ino)
		(void)unlink(path);
}

/* Writes the document and closes the file. */
static int json_write(const struct args *a, struct json_out *j, const struct bench_machine *m,
		      const struct bench_result *res, size_t n)
{
	FILE *f = j->f;
	int r = 0;

	j->f = NULL;
	if (f != stdout && S_ISREG(j->st.st_mode) && ftruncate(fileno(f), 0) < 0)
		r = -errno;
	if (r == 0)
		r = bench_write_json(f, m, &a->o, res, n);
	if (f == stdout) {
		if (fflush(f) != 0 && r == 0)
			r = errno == EPIPE ? -EPIPE : -EIO;
	} else if (fclose(f) != 0 && r == 0) {
		r = -errno;
	}
	if (f == stdout && r == -EPIPE)
		return cli_out_failed(EPIPE); /* quietly, as a stop */
	return r < 0 ? cli_fail(a->json, r) : 0;
}

static int plot(const struct args *a, const struct bench_machine *m, const struct bench_result *res,
		size_t n)
{
	int r = bench_plot(a->plot, m, res, n);

	if (r == -ENOENT) {
		cli_msg("--plot %s: gnuplot not found (Debian: apt-get install gnuplot-nox)",
			a->plot);
		return CLI_FAIL;
	}
	if (r == -ENOTDIR || r == -ENAMETOOLONG) {
		cli_msg("--plot %s: TMPDIR %s %s", a->plot, bench_tmpdir(),
			r == -ENOTDIR ? "is not a directory" : "is too long");
		return CLI_FAIL;
	}
	return r < 0 ? cli_fail(a->plot, r) : CLI_OK;
}

/* Whether standard output is a pipe or a socket, whose reader may go away
 * while the run goes on. */
static bool out_may_close(void)
{
	struct stat st;

	return fstat(STDOUT_FILENO, &st) == 0 && (S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode));
}

int cmd_bench(int argc, char **argv)
{
	struct args a;
	struct bench_machine m;
	struct bench_result *res = NULL;
	struct json_out json = { 0 };
	size_t n = 0, total, i;
	int r, status = CLI_OK;
	bool cut;

	/* First: a signal is a stop from here on, in every state. */
	cli_catch_stop();
	memset(&a, 0, sizeof(a));
	r = parse(argc, argv, &a);
	if (r >= 0)
		goto out;
	if (a.list) {
		print_list(&a);
		r = CLI_OK;
		goto out;
	}
	if (a.json && (r = json_open(a.json, &json)) != 0)
		goto out;
	a.o.stop = &cli_stop;
	a.o.watch_out = out_may_close();
	total = bench_case_count(&a.o);
	bench_machine_info(&a.o, &m);
	r = bench_run(&a.o, &res, &n);
	if (r < 0 && r != -EINTR) {
		r = cli_fail("bench", r);
		goto out;
	}
	cut = r == -EINTR;
	for (i = 0; i < n; i++)
		if (res[i].status < 0) {
			cli_msg("%s, %zu bytes, %s: %s", res[i].mech->name, res[i].size,
				bench_kind_name(res[i].kind), res[i].why);
			status = CLI_FAIL;
		}
	/* What finished, unless nobody reads it. */
	if (cli_stop != SIGPIPE && (!cut || n > 0)) {
		if (a.csv)
			bench_write_csv(stdout, res, n);
		else if (!a.json || strcmp(a.json, "-"))
			bench_print_table(stdout, &m, res, n);
		if (fflush(stdout) != 0 && cli_out_failed(errno) != CLI_OK)
			status = CLI_FAIL;
	}
	/* A document and a chart are of a whole run only. */
	if (json.f && !cut && !cli_stop_name() && json_write(&a, &json, &m, res, n) != 0)
		status = CLI_FAIL;
	if (a.plot && !cut && !cli_stop_name() && plot(&a, &m, res, n) != CLI_OK)
		status = CLI_FAIL;
	if (cli_stop_name())
		cli_msg("stopped by %s after %zu of %zu cases", cli_stop_name(), n, total);
	else if (cut)
		cli_msg("stopped by a closed standard output after %zu of %zu cases", n, total);
	r = status;
out:
	if (a.json)
		json_drop(a.json, &json);
	bench_results_free(res, n);
	free(a.o.mech);
	return r;
}
