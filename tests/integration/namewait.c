/* SPDX-License-Identifier: MIT */
/*
 * namewait.c - an end that opens a name before it exists (a shm: ring's
 * subscriber, a unix: connector, a fifo: writer) waits for the name with
 * inotify, not in a sleep loop: its open ends when the object is made and
 * then works; it ends with -ETIMEDOUT at its deadline, not before and not
 * much after, whatever signals arrive meanwhile; and the waiting process
 * sleeps through the wait, woken a few times (its voluntary context
 * switches, from /proc), where a loop that looks every millisecond, or
 * after 1, 2 ... 50 ms, or every 20 ms, wakes hundreds of times.
 * Without a directory to watch (it does not exist yet) it still opens.
 *
 * How fast the open follows the creation is measured by bench-attach
 * (tests/ring/attach_bench.c), not asserted here.
 */
#include <signal.h>
#include <sys/time.h>

#include "it.h"

#define KINDS 3
#define WAIT_NS (2 * IPK_SEC) /* the timed-out waits */
/* How far past its deadline an open may end: scheduling on a loaded
 * machine, not the wait itself (a wait that restarted its timeout on each
 * signal would never end). */
#define LATE_NS (1000 * IPK_MSEC)
#define SIG_WAIT_NS (300 * IPK_MSEC)

static const char *const kinds[KINDS] = { "shm", "unix", "fifo" };
static char dir[64];

/* The URL of name @tag for @kind: shm: in /dev/shm, the others in dir. */
static void url_of(char *buf, size_t len, int kind, const char *tag)
{
	if (kind == 0)
		snprintf(buf, len, "shm:/ipk-nw-%s-%d", tag, (int)getpid());
	else
		snprintf(buf, len, "%s:%s/%s", kinds[kind], dir, tag);
}

static unsigned open_flags(int kind)
{
	return kind == 2 ? IPK_CHAN_WRONLY : 0;
}

/* This thread's voluntary context switches: how often it slept. */
static long sleeps(void)
{
	char line[256];
	long n = -1;
	FILE *f = fopen("/proc/thread-self/status", "r");

	if (!f)
		T_SKIP("no /proc/thread-self/status");
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "voluntary_ctxt_switches: %ld", &n) == 1)
			break;
	fclose(f);
	T_TRUE(n >= 0);
	return n;
}

/* Bounded wait until @pid sleeps (state S), i.e. is in its wait. */
static void wait_asleep(pid_t pid)
{
	char path[64], buf[512];

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	for (int i = 0; i < 5000; i++) {
		FILE *f = fopen(path, "r");
		char *p = NULL;

		if (f) {
			p = fgets(buf, sizeof(buf), f);
			fclose(f);
		}
		p = p ? strrchr(buf, ')') : NULL;
		if (p && p[1] == ' ' && p[2] == 'S')
			return;
		it_nap_ms(1);
	}
	T_FAIL("process %d never slept", (int)pid);
}

/* ---- the wait ends when the object is made ---------------------------- */

/* The waiting end: open, say so, then carry one message. */
static void waiter(int kind, const char *url, int ready, int opened)
{
	ipk_chan *c;
	char buf[16];

	T_EQ(write(ready, "r", 1), 1);
	T_EQ(ipk_chan_open(url, open_flags(kind), 10 * IPK_SEC, &c), 0);
	T_EQ(write(opened, "o", 1), 1);
	if (kind == 2) {
		T_EQ(ipk_chan_send(c, "hello", 5, 5 * IPK_SEC), 0);
	} else {
		T_EQ(ipk_chan_recv(c, buf, sizeof(buf), 5 * IPK_SEC), 5);
		T_MEMEQ(buf, "hello", 5);
	}
	ipk_chan_close(c);
}

/* Make the object @kind at @url once @pid waits for it (and first the
 * directory @mk, unless NULL); carry one message. */
static void make_late(int kind, const char *url, pid_t pid, int ready, int opened, const char *mk)
{
	ipk_listener *l = NULL;
	ipk_chan *c = NULL;
	ipk_ring *r = NULL;
	char buf[16];

	T_EQ(read(ready, buf, 1), 1);
	wait_asleep(pid);
	if (mk)
		T_SYS(mkdir(mk, 0700));
	if (kind == 0)
		T_OK(ipk_ring_create(url + 4, NULL, &r));
	else if (kind == 1)
		T_OK(ipk_listen(url, 0, &l));
	else
		T_OK(ipk_chan_open(url, IPK_CHAN_CREATE | IPK_CHAN_RDONLY, 0, &c));
	T_EQ(read(opened, buf, 1), 1);
	if (kind == 0) {
		T_OK(ipk_ring_publish(r, "hello", 5));
	} else if (kind == 1) {
		T_OK(ipk_accept(l, 5 * IPK_SEC, &c));
		T_OK(ipk_chan_send(c, "hello", 5, 5 * IPK_SEC));
	} else {
		T_EQ(ipk_chan_recv(c, buf, sizeof(buf), 5 * IPK_SEC), 5);
		T_MEMEQ(buf, "hello", 5);
	}
	T_EQ(it_wait_status(pid), 0);
	ipk_chan_close(c);
	ipk_listener_close(l);
	ipk_ring_close(r);
}

/* A waiter opens @tag before it exists; make_late() makes it (in the
 * directory @mk, made first, if not NULL). */
static void made_while_waiting(int kind, const char *tag, const char *mk)
{
	int ready[2], opened[2];
	char url[256];
	pid_t pid;

	url_of(url, sizeof(url), kind, tag);
	T_SYS(pipe(ready));
	T_SYS(pipe(opened));
	pid = T_SYS(fork());
	if (pid == 0) {
		waiter(kind, url, ready[1], opened[1]);
		_exit(0);
	}
	make_late(kind, url, pid, ready[0], opened[0], mk);
	close(ready[0]);
	close(ready[1]);
	close(opened[0]);
	close(opened[1]);
}

/* ---- the deadline, and how often the waiter wakes ---------------------- */

/* At most this many sleeps in WAIT_NS. /dev/shm is shared with whatever
 * else makes rings meanwhile (each name made there wakes the waiter once);
 * the others wait in a directory of their own. Polling every 1 ms sleeps
 * 2000 times, 1 to 50 ms 46 times, every 20 ms 100 times. */
static long max_sleeps(int kind)
{
	return kind == 0 ? 400 : 25;
}

static void timed_out_child(int kind)
{
	char url[256];
	ipk_chan *c = NULL;
	long before;
	int64_t t0, took;

	url_of(url, sizeof(url), kind, "never");
	before = sleeps();
	t0 = it_now_ns();
	T_EQ(ipk_chan_open(url, open_flags(kind), WAIT_NS, &c), -ETIMEDOUT);
	took = it_now_ns() - t0;
	if (took < WAIT_NS || took > WAIT_NS + LATE_NS)
		T_FAIL("%s: -ETIMEDOUT after %lld ms, want %lld to %lld", kinds[kind],
		       (long long)(took / IPK_MSEC), (long long)(WAIT_NS / IPK_MSEC),
		       (long long)((WAIT_NS + LATE_NS) / IPK_MSEC));
	if (sleeps() - before > max_sleeps(kind))
		T_FAIL("%s: slept %ld times in its %lld ms wait, want at most %ld", kinds[kind],
		       sleeps() - before, (long long)(WAIT_NS / IPK_MSEC), max_sleeps(kind));
}

static void on_alarm(int sig)
{
	(void)sig;
}

/* Signals every 5 ms (no SA_RESTART) neither end the wait early nor
 * stretch it. */
static void signalled_child(int kind)
{
	struct sigaction sa = { .sa_handler = on_alarm };
	struct itimerval it = { { 0, 5000 }, { 0, 5000 } };
	char url[256];
	ipk_chan *c = NULL;
	int64_t t0, took;

	T_SYS(sigaction(SIGALRM, &sa, NULL));
	T_SYS(setitimer(ITIMER_REAL, &it, NULL));
	url_of(url, sizeof(url), kind, "signalled");
	t0 = it_now_ns();
	T_EQ(ipk_chan_open(url, open_flags(kind), SIG_WAIT_NS, &c), -ETIMEDOUT);
	took = it_now_ns() - t0;
	if (took < SIG_WAIT_NS || took > SIG_WAIT_NS + LATE_NS)
		T_FAIL("%s: -ETIMEDOUT after %lld ms under signals, want %lld to %lld", kinds[kind],
		       (long long)(took / IPK_MSEC), (long long)(SIG_WAIT_NS / IPK_MSEC),
		       (long long)((SIG_WAIT_NS + LATE_NS) / IPK_MSEC));
}

/* All kinds at once, each in its own process: one WAIT_NS in all. */
static void test_deadlines(void)
{
	pid_t pid[2 * KINDS];

	for (int i = 0; i < 2 * KINDS; i++) {
		pid[i] = T_SYS(fork());
		if (pid[i] == 0) {
			if (i < KINDS)
				timed_out_child(i);
			else
				signalled_child(i - KINDS);
			_exit(0);
		}
	}
	for (int i = 0; i < 2 * KINDS; i++)
		T_EQ(it_wait_status(pid[i]), 0);
}

/* Timeout 0: the name's absence is said at once, as before. */
static void test_nowait(void)
{
	for (int kind = 0; kind < KINDS; kind++) {
		char url[256];
		ipk_chan *c = NULL;

		url_of(url, sizeof(url), kind, "absent");
		T_EQ(ipk_chan_open(url, open_flags(kind), 0, &c), -ENOENT);
	}
}

/* ---- no directory to watch yet ----------------------------------------- */

static void test_no_directory(void)
{
	char sub[128], tag[64];

	/* dir/late/ does not exist while the waiter starts: it polls */
	snprintf(sub, sizeof(sub), "%s/late", dir);
	for (int kind = 1; kind < KINDS; kind++) {
		snprintf(tag, sizeof(tag), "late/%s", kinds[kind]);
		made_while_waiting(kind, tag, sub);
		T_SYS(rmdir(sub));
	}
}

static void cleanup(void)
{
	char path[256];

	for (int kind = 1; kind < KINDS; kind++) {
		snprintf(path, sizeof(path), "%s/late/%s", dir, kinds[kind]);
		(void)unlink(path);
	}
	snprintf(path, sizeof(path), "%s/late", dir);
	(void)rmdir(path);
	for (int kind = 1; kind < KINDS; kind++) {
		snprintf(path, sizeof(path), "%s/%s", dir, kinds[kind]);
		(void)unlink(path);
	}
	(void)rmdir(dir);
}

int main(void)
{
	snprintf(dir, sizeof(dir), "/tmp/ipk-nw-%d-XXXXXX", (int)getpid());
	T_TRUE(mkdtemp(dir) != NULL);
	test_nowait();
	for (int kind = 0; kind < KINDS; kind++)
		made_while_waiting(kind, kinds[kind], NULL);
	test_deadlines();
	test_no_directory();
	cleanup();
	return 0;
}
