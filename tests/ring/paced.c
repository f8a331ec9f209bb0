/* SPDX-License-Identifier: MIT */
/*
 * paced.c - a measurement, not a test: a publisher that sends at a fixed
 * rate and a subscriber that waits in each of the ring's waiting modes,
 * and what that costs: one-way latency percentiles and the subscriber's
 * CPU time per second of feed.
 *
 *   build/tests/ring/ring-paced [-r RATES] [-m MODES] [-t SEC] [-n REPS] [-c A,B]
 *
 * RATES: messages per second (default 100,1000,10000,100000); MODES: any
 * of spin, futex, spinsleep (spin_ns 50 us, then the futex), adaptive
 * (default all four); SEC: seconds of feed per case after the warm-up
 * (default 1; at least 200 messages); REPS: repetitions of every case,
 * interleaved, the medians printed (default 3); A,B: the publisher's and
 * the subscriber's CPU (default 0,1).
 *
 * The publisher sleeps (clock_nanosleep) until shortly before each send
 * time and spins the rest, so that messages leave on time; it puts the
 * CLOCK_MONOTONIC send time into the 64-byte message. The subscriber
 * takes the arrival time after each receive; its CPU time (getrusage) is
 * counted from the end of the warm-up (a tenth of the messages, at least
 * 20) to the last message.
 */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>

#include <ipckit/ring.h>

#define LEN 64
#define MAX_REPS 15

enum mode { M_SPIN, M_FUTEX, M_SPINSLEEP, M_ADAPTIVE, M_N };
static const char *const mode_names[M_N] = { "spin", "futex", "spinsleep", "adaptive" };

struct result {
	double p50, p90, p99, max; /* microseconds */
	double cpu;                /* subscriber CPU time per second of feed */
	int ok;
};

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int64_t cpu_ns(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ((int64_t)ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000000 +
	       ((int64_t)ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1000;
}

static void pin(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	(void)sched_setaffinity(0, sizeof(set), &set);
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* The subscriber: receives until -EPIPE, writes its result to @fd. */
static int subscriber(const char *name, enum mode m, long n, long warm, int fd, int go)
{
	struct ipk_ring_sub_opts o = { 0 };
	int64_t *lat = calloc((size_t)n, sizeof(*lat));
	int64_t cpu0 = 0, t0 = 0, t1 = 0, cpu1 = 0;
	struct result res = { 0 };
	unsigned char buf[LEN];
	ipk_ring_sub *s;
	long got = 0;
	ssize_t r;

	if (!lat)
		return 1;
	if (m == M_SPIN)
		o.flags = IPK_RING_SPIN;
	else if (m == M_SPINSLEEP)
		o.spin_ns = 50 * IPK_USEC;
	else if (m == M_ADAPTIVE)
		o.flags = IPK_RING_ADAPTIVE;
	if (ipk_ring_open(name, &o, &s) < 0)
		return 1;
	if (write(go, "x", 1) != 1)
		return 1;
	while ((r = ipk_ring_recv(s, buf, sizeof(buf), IPK_FOREVER)) >= 0) {
		int64_t t = now_ns(), sent;

		memcpy(&sent, buf + 8, 8);
		if (got == warm) {
			cpu0 = cpu_ns();
			t0 = t;
		}
		if (got < n)
			lat[got] = t - sent;
		got++;
		t1 = t;
	}
	cpu1 = cpu_ns();
	if (r == -EPIPE && got == n && ipk_ring_lost(s) == 0 && t1 > t0) {
		long k = n - warm;

		qsort(lat + warm, (size_t)k, sizeof(*lat), cmp_i64);
		res.p50 = (double)lat[warm + k / 2] / 1e3;
		res.p90 = (double)lat[warm + k * 9 / 10] / 1e3;
		res.p99 = (double)lat[warm + k * 99 / 100] / 1e3;
		res.max = (double)lat[n - 1] / 1e3;
		res.cpu = (double)(cpu1 - cpu0) / (double)(t1 - t0);
		res.ok = 1;
	}
	ipk_ring_sub_close(s);
	return write(fd, &res, sizeof(res)) == (ssize_t)sizeof(res) ? 0 : 1;
}

/* Send @n messages at @rate per second. */
static void publish(ipk_ring *r, double rate, long n)
{
	int64_t gap = (int64_t)(1e9 / rate), next = now_ns() + 1000000;
	unsigned char buf[LEN] = { 0 };

	for (long i = 0; i < n; i++, next += gap) {
		int64_t t = now_ns();

		if (next - t > 150000) {
			int64_t w = next - 150000;
			struct timespec ts = { .tv_sec = w / 1000000000,
					       .tv_nsec = w % 1000000000 };

			while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
				;
		}
		while ((t = now_ns()) < next)
			;
		memcpy(buf, &i, 8);
		memcpy(buf + 8, &t, 8);
		(void)ipk_ring_publish(r, buf, sizeof(buf));
	}
}

static int run_case(double rate, enum mode m, double secs, int cpu_a, int cpu_b, struct result *res)
{
	long n = (long)(rate * secs * 10 / 9), warm;
	int fds[2], go[2];
	char name[64], c;
	ipk_ring *r;
	pid_t pid;
	int st;

	if (n < 222)
		n = 222;
	warm = n / 10 < 20 ? 20 : n / 10;
	snprintf(name, sizeof(name), "/ipk-paced-%d", (int)getpid());
	if (ipk_ring_create(name, NULL, &r) < 0 || pipe(fds) < 0 || pipe(go) < 0)
		return -1;
	pid = fork();
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		pin(cpu_b);
		_exit(subscriber(name, m, n, warm, fds[1], go[1]));
	}
	pin(cpu_a);
	if (read(go[0], &c, 1) != 1)
		return -1;
	publish(r, rate, n);
	ipk_ring_close(r);
	memset(res, 0, sizeof(*res));
	if (read(fds[0], res, sizeof(*res)) != (ssize_t)sizeof(*res))
		res->ok = 0;
	waitpid(pid, &st, 0);
	close(fds[0]);
	close(fds[1]);
	close(go[0]);
	close(go[1]);
	return res->ok ? 0 : -1;
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

int main(int argc, char **argv)
{
	double rates[16] = { 100, 1000, 10000, 100000 }, secs = 1;
	int nrates = 4, reps = 3, cpu_a = 0, cpu_b = 1, opt;
	bool use[M_N] = { true, true, true, true };

	while ((opt = getopt(argc, argv, "r:m:t:n:c:")) != -1) {
		char *p, *tok;

		switch (opt) {
		case 'r':
			nrates = 0;
			for (p = optarg; (tok = strtok(p, ",")) && nrates < 16; p = NULL)
				rates[nrates++] = atof(tok);
			break;
		case 'm':
			memset(use, 0, sizeof(use));
			for (p = optarg; (tok = strtok(p, ",")); p = NULL)
				for (int m = 0; m < M_N; m++)
					if (!strcmp(tok, mode_names[m]))
						use[m] = true;
			break;
		case 't':
			secs = atof(optarg);
			break;
		case 'n':
			reps = atoi(optarg);
			reps = reps < 1 ? 1 : reps > MAX_REPS ? MAX_REPS : reps;
			break;
		case 'c':
			if (sscanf(optarg, "%d,%d", &cpu_a, &cpu_b) != 2)
				return 2;
			break;
		default:
			fprintf(stderr,
				"usage: %s [-r RATES] [-m MODES] [-t SEC] [-n REPS] [-c A,B]\n",
				argv[0]);
			return 2;
		}
	}
	printf("%9s %-10s %9s %9s %9s %9s %7s  (medians of %d; us, CPU of one core)\n", "rate",
	       "mode", "p50", "p90", "p99", "max", "cpu%", reps);
	for (int i = 0; i < nrates; i++) {
		double v[M_N][5][MAX_REPS];
		int ok[M_N] = { 0 };

		for (int k = 0; k < reps; k++)
			for (int m = 0; m < M_N; m++) {
				struct result res;

				if (!use[m] ||
				    run_case(rates[i], (enum mode)m, secs, cpu_a, cpu_b, &res) < 0)
					continue;
				v[m][0][ok[m]] = res.p50;
				v[m][1][ok[m]] = res.p90;
				v[m][2][ok[m]] = res.p99;
				v[m][3][ok[m]] = res.max;
				v[m][4][ok[m]] = res.cpu * 100;
				ok[m]++;
			}
		for (int m = 0; m < M_N; m++) {
			if (!use[m])
				continue;
			if (!ok[m]) {
				printf("%9.0f %-10s failed\n", rates[i], mode_names[m]);
				continue;
			}
			printf("%9.0f %-10s %9.2f %9.2f %9.2f %9.1f %7.1f\n", rates[i],
			       mode_names[m], median(v[m][0], ok[m]), median(v[m][1], ok[m]),
			       median(v[m][2], ok[m]), median(v[m][3], ok[m]),
			       median(v[m][4], ok[m]));
		}
		fflush(stdout);
	}
	return 0;
}
