/* SPDX-License-Identifier: MIT */
/*
 * slow.c - a publisher at full speed and subscribers that cannot keep up,
 * each a process of its own, on a small ring (64 KiB) so that they are
 * lapped over and over: every delivered message has a correct checksum and
 * a higher sequence number than the one before, and delivered + lost ==
 * published, exactly. Subscribers: a slow copying one (it hashes each
 * message 8 times), a fast one taking batches (ipk_ring_recv_batch()), a
 * zero-copy one (view + validate: a message that validates must have a
 * correct checksum in place), and a spinning one. Half the messages are
 * published in ipk_ring_publish_batch() batches (rt_publish_mixed()).
 *
 * IPK_RING_STRESS_N sets the message count (default 10^6; make soak runs
 * 10^9).
 */
#include <signal.h>
#include <sys/prctl.h>

#include "ringt.h"

#define MAXLEN 1000

static char name[64];
static uint64_t total;
static struct rt_step ready;

enum kind { SLOW, FAST, VIEW, SPIN };

static int subscriber(void *arg)
{
	enum kind k = (enum kind)(intptr_t)arg;
	struct ipk_ring_sub_opts o = { .flags = k == SPIN ? IPK_RING_SPIN : 0 };
	static unsigned char buf[MAXLEN];
	uint64_t delivered = 0, last = 0, stale = 0;
	ipk_ring_sub *s;
	ssize_t n;

	T_SYS(prctl(PR_SET_PDEATHSIG, SIGKILL));
	T_OK(ipk_ring_open(name, &o, &s));
	rt_signal(&ready);
	for (;;) {
		uint64_t seq;

		if (k == VIEW) {
			struct ipk_ring_view v;
			uint64_t h, want, vseq;
			int r = ipk_ring_view(s, &v, RT_TIMEOUT);

			if (r == -EPIPE)
				break;
			T_OK(r);
			/* read in place: it may be torn, validate decides */
			memcpy(&vseq, v.data, 8);
			memcpy(&h, (const char *)v.data + 8, 8);
			want = rt_hash(0xcbf29ce484222325ull ^ vseq ^ v.len,
				       (const unsigned char *)v.data + 16, v.len - 16);
			r = ipk_ring_validate(s, &v);
			if (r == -ESTALE) {
				stale++;
				continue;
			}
			T_EQ(r, 0);
			if (h != want)
				T_FAIL("validated view seq %llu is torn", (unsigned long long)vseq);
			seq = vseq;
		} else if (k == FAST) {
			/* in batches of up to 8 */
			static unsigned char bufs[8 * MAXLEN];
			int got = rt_recv_checked(s, bufs, MAXLEN, &last);

			if (got == -EPIPE)
				break;
			delivered += (uint64_t)got;
			continue;
		} else {
			n = ipk_ring_recv(s, buf, sizeof(buf), RT_TIMEOUT);
			if (n == -EPIPE)
				break;
			T_OK(n);
			seq = rt_check(buf, (size_t)n);
			for (int i = 0; k == SLOW && i < 8; i++)
				(void)rt_check(buf, (size_t)n);
		}
		if (seq <= last)
			T_FAIL("seq %llu after %llu", (unsigned long long)seq,
			       (unsigned long long)last);
		last = seq;
		delivered++;
	}
	if (delivered + ipk_ring_lost(s) != total)
		T_FAIL("kind %d: delivered %llu + lost %llu != published %llu", (int)k,
		       (unsigned long long)delivered, (unsigned long long)ipk_ring_lost(s),
		       (unsigned long long)total);
	printf("kind %d: delivered %llu lost %llu (stale views %llu)\n", (int)k,
	       (unsigned long long)delivered, (unsigned long long)ipk_ring_lost(s),
	       (unsigned long long)stale);
	fflush(stdout);
	ipk_ring_sub_close(s);
	return 0;
}

int main(void)
{
	struct ipk_ring_opts o = { .capacity = 1 << 16 };
	const char *env = getenv("IPK_RING_STRESS_N");
	pid_t pids[4];
	ipk_ring *r;
	int64_t t0;

	total = env ? strtoull(env, NULL, 10) : 1000000;
	rt_name(name, sizeof(name), "slow");
	rt_step_init(&ready);
	T_OK(ipk_ring_create(name, &o, &r));
	for (int k = 0; k < 4; k++)
		pids[k] = t_fork(subscriber, (void *)(intptr_t)k);
	for (int k = 0; k < 4; k++)
		rt_await(&ready);
	t0 = rt_now();
	rt_publish_mixed(r, 1, total, MAXLEN);
	printf("published %llu in %.2f s\n", (unsigned long long)total,
	       (double)(rt_now() - t0) / 1e9);
	fflush(stdout);
	ipk_ring_close(r);
	for (int k = 0; k < 4; k++)
		t_wait_exit(pids[k], 0);
	return 0;
}
