/* SPDX-License-Identifier: MIT */
/*
 * tests/nats/bridge.c - ring -> `ipckit bridge` -> NATS -> `ipckit bridge` ->
 * ring, the two bridges standing for two hosts, all real processes:
 *
 *   publisher -> shm:/A -> bridge1 -> nats-server -> bridge2 -> shm:/B -> fast checker
 *                                                \-> bridge3 -> shm:/C (256 KiB) -> slow checker
 *
 * The fast checker must get every message in order with a correct checksum
 * (it and the bridges keep up: large rings, paced publisher), and no bridge
 * may report a loss. The slow checker cannot keep up with its small ring:
 * what it misses must equal the ring's lost count exactly, and received +
 * lost = all. SIGINT and SIGTERM end the bridges cleanly (exit 0 and the
 * summary line). IPK_NATS_BRIDGE_N messages (default 200000; the 10^6 run:
 * IPK_NATS_BRIDGE_N=1000000) at IPK_NATS_BRIDGE_RATE per second (50000).
 */
#include "feed.h"

static char ring_c[128];

static int slow_checker(void *arg)
{
	uint64_t got, lost;
	int r = checker(arg, true, &got, &lost);

	if (r == 0) {
		fprintf(stderr, "slow checker: received %llu, lost %llu (ring overruns)\n",
			(unsigned long long)got, (unsigned long long)lost);
		if (lost == 0)
			return 30; /* it was meant to fall behind */
	}
	return r;
}

/* "forwarded N, lost L" from a bridge's summary line. */
static void summary(const char *path, unsigned long long *fwd, unsigned long long *lost)
{
	char text[8192], *p, *last = NULL;

	tn_slurp(path, text, sizeof(text));
	for (p = strstr(text, "forwarded "); p; p = strstr(p + 1, "forwarded "))
		last = p;
	if (!last || sscanf(last, "forwarded %llu, lost %llu", fwd, lost) != 2)
		T_FAIL("%s: no summary line in \"%s\"", path, text);
}

int main(void)
{
	struct tn_srv s = { 0 };
	const char *exe = getenv("IPCKIT"), *e;
	char nurl[256], subj[64], err[3][128];
	unsigned long long fwd[3], lost[3];
	pid_t pub, b[3], slow;
	uint64_t got, glost;
	double t0;
	int r;

	tn_need_server();
	if (!exe)
		T_SKIP("IPCKIT (the CLI's path) is not set; run through meson test");
	e = getenv("IPK_NATS_BRIDGE_N");
	n_msgs = e ? strtoull(e, NULL, 10) : 200000;
	e = getenv("IPK_NATS_BRIDGE_RATE");
	rate = e ? strtoull(e, NULL, 10) : 50000;
	T_TRUE(n_msgs > 0 && rate > 0);
	tn_start(&s, NULL);
	snprintf(subj, sizeof(subj), "ipk.bridge.%d", (int)getpid());
	tn_url(nurl, sizeof(nurl), s.port, subj, NULL);
	snprintf(ring_a, sizeof(ring_a), "shm:/ipk-nb-a-%d?capacity=33554432", (int)getpid());
	snprintf(ring_b, sizeof(ring_b), "shm:/ipk-nb-b-%d?capacity=33554432", (int)getpid());
	snprintf(ring_c, sizeof(ring_c), "shm:/ipk-nb-c-%d?capacity=262144", (int)getpid());
	for (int i = 0; i < 3; i++)
		snprintf(err[i], sizeof(err[i]), "/tmp/ipk-nats-bridge%d-%d.err", i + 1,
			 (int)getpid());
	T_SYS(pipe2(ready, O_CLOEXEC));
	T_SYS(pipe2(done, O_CLOEXEC));

	pub = t_fork(publisher, NULL);
	close(done[0]);
	/* the receiving "host": NATS -> rings */
	b[1] = tn_spawn((const char *const[]){ exe, "bridge", "--stats", nurl, ring_b, NULL }, NULL,
			err[1]);
	b[2] = tn_spawn((const char *const[]){ exe, "bridge", nurl, ring_c, NULL }, NULL, err[2]);
	/* the publishing "host": ring -> NATS (the ring URL without its
	 * creation options) */
	*strchr(ring_a, '?') = '\0';
	*strchr(ring_b, '?') = '\0';
	*strchr(ring_c, '?') = '\0';
	b[0] = tn_spawn((const char *const[]){ exe, "bridge", "--stats", ring_a, nurl, NULL }, NULL,
			err[0]);
	slow = t_fork(slow_checker, ring_c);
	t0 = tn_now();
	r = checker(ring_b, false, &got, &glost);
	if (r)
		T_FAIL("fast checker failed (%d); see %s", r, err[0]);
	fprintf(stderr, "fast checker: %llu messages in order, checksums right, %.1f s\n",
		(unsigned long long)got, tn_now() - t0);
	T_EQ(got, n_msgs);
	T_EQ(glost, 0);
	t_wait_exit(slow, 0);

	/* Clean exits: SIGINT for one bridge, SIGTERM for the others. */
	kill(b[0], SIGINT);
	kill(b[1], SIGTERM);
	kill(b[2], SIGTERM);
	for (int i = 0; i < 3; i++) {
		char text[8192];

		r = tn_wait(b[i]);
		if (r != 0)
			T_FAIL("bridge%d: exit %d: %s", i + 1, r,
			       tn_slurp(err[i], text, sizeof(text)));
		summary(err[i], &fwd[i], &lost[i]);
		fprintf(stderr, "bridge%d: forwarded %llu, lost %llu\n", i + 1, fwd[i], lost[i]);
		T_EQ(lost[i], 0);
		T_TRUE(fwd[i] >= n_msgs); /* plus the warm-up messages */
		unlink(err[i]);
	}
	close(done[1]);
	T_EQ(tn_wait(pub), 0);
	tn_stop(&s);
	return 0;
}
