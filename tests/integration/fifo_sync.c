/* SPDX-License-Identifier: MIT */
/*
 * fifo_sync.c - FIFO open as start-up synchronisation, without the classic
 * hang: a writer with no reader gets -ENXIO (timeout 0) or -ETIMEDOUT after
 * its timeout; a writer whose reader arrives later opens as soon as it does;
 * a reader never waits at open, but its receive does; a FIFO channel needs
 * exactly one direction (-EINVAL). And the seed's two-FIFO deadlock: two
 * processes that each open the FIFO they write to before the one they read
 * from hang for good with open(2) (shown, under an alarm), while through
 * the library each gets -ETIMEDOUT after its timeout; opening the read end
 * first, which never waits, lets both meet.
 */
#include "it.h"

static char path[128], url[256];

struct late {
	int delay_ms;
	int reader; /* 1: the late process reads, 2: creates and reads, 0: writes */
};

static int late_peer(void *arg)
{
	struct late *l = arg;
	ipk_chan *ch = NULL;
	char buf[16];

	it_nap_ms(l->delay_ms); /* arrive late, on purpose */
	if (l->reader) {
		unsigned create = l->reader == 2 ? IPK_CHAN_CREATE : 0;

		T_EQ(ipk_chan_open(url, IPK_CHAN_RDONLY | create, 0, &ch), 0);
		T_EQ(ipk_chan_recv(ch, buf, sizeof(buf), 5 * IPK_SEC), 4);
		T_MEMEQ(buf, "sync", 4);
	} else {
		T_EQ(ipk_chan_open(url, IPK_CHAN_WRONLY, 5 * IPK_SEC, &ch), 0);
		T_EQ(ipk_chan_send(ch, "sync", 4, 5 * IPK_SEC), 0);
	}
	ipk_chan_close(ch);
	return 0;
}

/* Two FIFOs, and two processes that each write to one and read the other. */
static char path2[128], url2[256];

enum crossing { CROSS_RAW, CROSS_LIBRARY, CROSS_READ_FIRST };

struct crosser {
	enum crossing how;
	const char *wpath, *wurl; /* the FIFO this process writes */
	const char *rpath, *rurl; /* the FIFO it reads */
};

#define CROSS_TIMEOUT (300 * IPK_MSEC)

static int crosser(void *arg)
{
	const struct crosser *c = arg;
	ipk_chan *w = NULL, *r = NULL;
	char buf[16];
	int64_t t0, ms;

	alarm(10); /* a hang fails the case (CROSS_RAW sets a shorter one) */
	switch (c->how) {
	case CROSS_RAW:
		/* Write end first, with plain open(2): it waits for a reader of
		 * this FIFO, which the peer opens only after its own write end,
		 * which waits for us. The alarm's default action ends it. */
		alarm(1);
		(void)open(c->wpath, O_WRONLY | O_CLOEXEC);
		return 3; /* not reached while the deadlock holds */
	case CROSS_LIBRARY:
		/* The same order through the library: a clear error instead. */
		t0 = it_now_ns();
		T_EQ(ipk_chan_open(c->wurl, IPK_CHAN_WRONLY, CROSS_TIMEOUT, &w), -ETIMEDOUT);
		ms = it_ms_since(t0);
		if (ms < 290 || ms >= 3000)
			T_FAIL("crossed open gave up after %lld ms, want 290..3000", (long long)ms);
		return 0;
	case CROSS_READ_FIRST:
		/* A reader's open never waits; then the write end finds the
		 * peer's reader there, whichever started first. */
		T_OK(ipk_chan_open(c->rurl, IPK_CHAN_RDONLY, 0, &r));
		T_OK(ipk_chan_open(c->wurl, IPK_CHAN_WRONLY, 5 * IPK_SEC, &w));
		T_OK(ipk_chan_send(w, "hi", 2, 5 * IPK_SEC));
		T_EQ(ipk_chan_recv(r, buf, sizeof(buf), 5 * IPK_SEC), 2);
		T_MEMEQ(buf, "hi", 2);
		ipk_chan_close(w);
		ipk_chan_close(r);
		return 0;
	}
	return 2;
}

/* Runs the two crossers of @how at once; returns their wait statuses. */
static void cross(enum crossing how, int status[2])
{
	struct crosser one = { how, path, url, path2, url2 };
	struct crosser two = { how, path2, url2, path, url };
	pid_t p1, p2;

	T_SYS(mkfifo(path, 0600));
	T_SYS(mkfifo(path2, 0600));
	p1 = t_fork(crosser, &one);
	p2 = t_fork(crosser, &two);
	T_SYS(waitpid(p1, &status[0], 0));
	T_SYS(waitpid(p2, &status[1], 0));
	T_SYS(unlink(path));
	T_SYS(unlink(path2));
}

static void test_crossed_fifos(void)
{
	int st[2];

	cross(CROSS_RAW, st);
	for (int i = 0; i < 2; i++)
		if (!WIFSIGNALED(st[i]) || WTERMSIG(st[i]) != SIGALRM)
			T_FAIL("open(2) in crossed order: status 0x%x, want killed by its alarm",
			       st[i]);
	cross(CROSS_LIBRARY, st);
	for (int i = 0; i < 2; i++)
		if (!WIFEXITED(st[i]) || WEXITSTATUS(st[i]) != 0)
			T_FAIL("crossed library open: status 0x%x, want exit 0", st[i]);
	cross(CROSS_READ_FIRST, st);
	for (int i = 0; i < 2; i++)
		if (!WIFEXITED(st[i]) || WEXITSTATUS(st[i]) != 0)
			T_FAIL("read end first: status 0x%x, want exit 0", st[i]);
}

/* Open (no waiting, whatever the timeout) and first receives of a reader
 * with no writer yet; run in a child with an alarm so a hang fails. */
static int lonely_reader(void *arg)
{
	ipk_chan *ch = NULL;
	char buf[16];
	int64_t t0;

	(void)arg;
	alarm(10);
	t0 = it_now_ns();
	T_EQ(ipk_chan_open(url, IPK_CHAN_RDONLY, IPK_FOREVER, &ch), 0);
	T_TRUE(it_ms_since(t0) < 1000);
	/* No writer has ever come: that is not the end of the stream. */
	T_EQ(ipk_chan_recv(ch, buf, sizeof(buf), 0), -EAGAIN);
	t0 = it_now_ns();
	T_EQ(ipk_chan_recv(ch, buf, sizeof(buf), 100 * IPK_MSEC), -ETIMEDOUT);
	T_TRUE(it_ms_since(t0) >= 95);
	ipk_chan_close(ch);
	return 0;
}

int main(void)
{
	ipk_chan *rd = NULL, *wr = NULL, *ch = NULL;
	struct late late;
	char buf[16];
	int64_t t0, ms;
	pid_t pid;

	t_path(path, sizeof(path), "fifo-sync");
	(void)unlink(path);
	it_url(url, sizeof(url), "fifo", path, NULL);
	t_path(path2, sizeof(path2), "fifo-sync2");
	(void)unlink(path2);
	it_url(url2, sizeof(url2), "fifo", path2, NULL);

	test_crossed_fifos();

	/* Direction: exactly one. */
	T_EQ(ipk_chan_open(url, IPK_CHAN_CREATE, 0, &ch), -EINVAL);
	T_EQ(ipk_chan_open(url, IPK_CHAN_CREATE | IPK_CHAN_RDONLY | IPK_CHAN_WRONLY, 0, &ch),
	     -EINVAL);
	T_EQ(ipk_chan_open(url, 0, 0, &ch), -EINVAL);
	T_EQ(ipk_chan_open(url, IPK_CHAN_RDONLY | IPK_CHAN_WRONLY, 0, &ch), -EINVAL);
	T_TRUE(ch == NULL);
	T_EQ(access(path, F_OK), -1); /* refused before anything was made */

	/* A creating writer with no reader: -ENXIO now, and nothing left. */
	T_EQ(ipk_chan_open(url, IPK_CHAN_CREATE | IPK_CHAN_WRONLY, 0, &ch), -ENXIO);
	T_EQ(access(path, F_OK), -1);

	/* No FIFO at all: a writer says so at once, or waits for it. */
	T_EQ(ipk_chan_open(url, IPK_CHAN_WRONLY, 0, &ch), -ENOENT);
	T_EQ(ipk_chan_open(url, IPK_CHAN_WRONLY, 100 * IPK_MSEC, &ch), -ETIMEDOUT);
	T_EQ(access(path, F_OK), -1);

	/* An existing FIFO, no reader. */
	T_SYS(mkfifo(path, 0600));
	t0 = it_now_ns();
	T_EQ(ipk_chan_open(url, IPK_CHAN_WRONLY, 0, &ch), -ENXIO);
	T_TRUE(it_ms_since(t0) < 100);
	t0 = it_now_ns();
	T_EQ(ipk_chan_open(url, IPK_CHAN_WRONLY, 200 * IPK_MSEC, &ch), -ETIMEDOUT);
	ms = it_ms_since(t0);
	if (ms < 190 || ms >= 2000)
		T_FAIL("timed-out open took %lld ms, want 190..2000", (long long)ms);
	T_TRUE(ch == NULL);
	T_SYS(unlink(path));

	/* The reader arrives ~100 ms after the writer started waiting. */
	T_SYS(mkfifo(path, 0600));
	late = (struct late){ 100, 1 };
	pid = t_fork(late_peer, &late);
	t0 = it_now_ns();
	T_EQ(ipk_chan_open(url, IPK_CHAN_WRONLY, 5 * IPK_SEC, &wr), 0);
	ms = it_ms_since(t0);
	if (ms < 50 || ms >= 4000)
		T_FAIL("open waited %lld ms for a reader ~100 ms late", (long long)ms);
	T_EQ(ipk_chan_send(wr, "sync", 4, 5 * IPK_SEC), 0);
	t_wait_exit(pid, 0);
	ipk_chan_close(wr);
	wr = NULL;
	T_SYS(unlink(path));

	/* Unrelated processes: the writer starts first and waits until the
	 * reader has created the FIFO and opened it. */
	late = (struct late){ 100, 2 };
	pid = t_fork(late_peer, &late);
	T_EQ(ipk_chan_open(url, IPK_CHAN_WRONLY, 5 * IPK_SEC, &wr), 0);
	T_EQ(ipk_chan_send(wr, "sync", 4, 5 * IPK_SEC), 0);
	t_wait_exit(pid, 0);
	ipk_chan_close(wr);
	wr = NULL;
	T_EQ(access(path, F_OK), -1);

	/* A reader never waits at open, even with no writer and no limit;
	 * its first receives wait (or not) as their timeouts say. */
	T_EQ(ipk_chan_open(url, IPK_CHAN_CREATE | IPK_CHAN_RDONLY, 0, &rd), 0);
	pid = t_fork(lonely_reader, NULL);
	t_wait_exit(pid, 0);

	/* The reader's receive waits for a writer that comes later; when
	 * that writer is gone, the stream has ended. */
	late = (struct late){ 100, 0 };
	pid = t_fork(late_peer, &late);
	T_EQ(ipk_chan_recv(rd, buf, sizeof(buf), 5 * IPK_SEC), 4);
	T_MEMEQ(buf, "sync", 4);
	t_wait_exit(pid, 0);
	T_EQ(ipk_chan_recv(rd, buf, sizeof(buf), 5 * IPK_SEC), -EPIPE);
	ipk_chan_close(rd);
	rd = NULL;
	T_EQ(access(path, F_OK), -1);

	/* With a reader there, a writer opens at once even with timeout 0. */
	T_EQ(ipk_chan_open(url, IPK_CHAN_CREATE | IPK_CHAN_RDONLY, 0, &rd), 0);
	T_EQ(ipk_chan_open(url, IPK_CHAN_WRONLY, 0, &wr), 0);
	T_EQ(ipk_chan_send(wr, "now", 3, 0), 0);
	T_EQ(ipk_chan_recv(rd, buf, sizeof(buf), IPK_SEC), 3);
	T_MEMEQ(buf, "now", 3);
	ipk_chan_close(wr);
	ipk_chan_close(rd);
	T_EQ(access(path, F_OK), -1);
	return 0;
}
