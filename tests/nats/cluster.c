/* SPDX-License-Identifier: MIT */
/*
 * tests/nats/cluster.c - fail-over in a three-node nats-server cluster
 * (routes between them, each with its own JetStream store), all real
 * processes on loopback:
 *
 *   publisher -> shm:/A -> bridge1 -> n1 (of n1,n2,n3) ... n2 -> bridge2 -> shm:/B -> checker
 *
 * with ?stream= (a stream replicated on all three). A third of the way
 * through, the node bridge1 is connected to (n1: the first listed, tried
 * first) is killed with SIGKILL. bridge1 must reconnect to another node
 * and go on; the checker must then see every message exactly once, in
 * order, with correct checksums: nothing acknowledged is lost and nothing
 * is duplicated. IPK_NATS_CLUSTER_N messages (default 4500) at
 * IPK_NATS_CLUSTER_RATE per second (1500).
 */
#include "feed.h"

static struct tn_srv node[3];
static uint64_t kill_at;
static double killed_at;

static void maybe_kill(uint64_t got)
{
	if (got == kill_at && node[0].pid > 0) {
		fprintf(stderr, "cluster: %llu messages through; kill -9 n1 (pid %d)\n",
			(unsigned long long)got, (int)node[0].pid);
		tn_kill(&node[0], SIGKILL);
		killed_at = tn_now();
	}
}

int main(void)
{
	const char *exe = getenv("IPCKIT"), *e;
	char routes[3][128], cl[3][64], urls[2][512], err[2][128], text[8192], stream[80];
	unsigned long long fwd, lost;
	pid_t pub, b[2];
	uint64_t got, glost;
	ipk_chan *probe = NULL;
	double t0;
	int r;

	tn_need_server();
	if (!exe)
		T_SKIP("IPCKIT (the CLI's path) is not set; run through meson test");
	e = getenv("IPK_NATS_CLUSTER_N");
	n_msgs = e ? strtoull(e, NULL, 10) : 4500;
	e = getenv("IPK_NATS_CLUSTER_RATE");
	rate = e ? strtoull(e, NULL, 10) : 1500;
	T_TRUE(n_msgs >= 3 && rate > 0);
	kill_at = n_msgs / 3;

	for (int i = 0; i < 3; i++) {
		node[i].port = tn_free_port();
		node[i].cport = tn_free_port();
		snprintf(node[i].name, sizeof(node[i].name), "n%d", i + 1);
	}
	for (int i = 0; i < 3; i++) {
		int j = (i + 1) % 3, k = (i + 2) % 3;

		snprintf(cl[i], sizeof(cl[i]), "nats://127.0.0.1:%d", node[i].cport);
		snprintf(routes[i], sizeof(routes[i]), "nats://127.0.0.1:%d,nats://127.0.0.1:%d",
			 node[j].cport, node[k].cport);
	}
	for (int i = 0; i < 3; i++)
		tn_start(&node[i], (const char *const[]){ "--cluster_name", "ipk", "--cluster",
							  cl[i], "--routes", routes[i], NULL });

	snprintf(stream, sizeof(stream), "ipk.cluster.%d?stream=IPKC%d", (int)getpid(),
		 (int)getpid());
	snprintf(urls[0], sizeof(urls[0]), "nats://127.0.0.1:%d,127.0.0.1:%d,127.0.0.1:%d/%s",
		 node[0].port, node[1].port, node[2].port, stream);
	snprintf(urls[1], sizeof(urls[1]),
		 "nats://127.0.0.1:%d,127.0.0.1:%d,127.0.0.1:%d/%s&queue=rx", node[1].port,
		 node[2].port, node[0].port, stream);
	/* JetStream needs its meta leader: make the R3 stream once it can. */
	t0 = tn_now();
	while ((r = ipk_chan_open(urls[0], IPK_CHAN_WRONLY, 5 * IPK_SEC, &probe)) < 0) {
		if (tn_now() - t0 > 30)
			T_FAIL("no JetStream in the cluster after 30 s: %d (%s)", r,
			       ipk_errname(r));
		usleep(200000);
	}
	ipk_chan_close(probe);
	fprintf(stderr, "cluster: stream ready after %.1f s\n", tn_now() - t0);

	snprintf(ring_a, sizeof(ring_a), "shm:/ipk-nc-a-%d?capacity=33554432", (int)getpid());
	snprintf(ring_b, sizeof(ring_b), "shm:/ipk-nc-b-%d?capacity=33554432", (int)getpid());
	for (int i = 0; i < 2; i++)
		snprintf(err[i], sizeof(err[i]), "/tmp/ipk-nats-cbridge%d-%d.err", i + 1,
			 (int)getpid());
	T_SYS(pipe2(ready, O_CLOEXEC));
	T_SYS(pipe2(done, O_CLOEXEC));
	need_ready = 1;
	pub = t_fork(publisher, NULL);
	close(done[0]);
	b[1] = tn_spawn((const char *const[]){ exe, "bridge", urls[1], ring_b, NULL }, NULL,
			err[1]);
	*strchr(ring_a, '?') = '\0';
	*strchr(ring_b, '?') = '\0';
	b[0] = tn_spawn((const char *const[]){ exe, "bridge", "--stats", ring_a, urls[0], NULL },
			NULL, err[0]);
	on_progress = maybe_kill;
	t0 = tn_now();
	r = checker(ring_b, false, &got, &glost);
	if (r)
		T_FAIL("checker failed (%d); bridge1 said: %s", r, tn_slurp(err[0], text, 8192));
	T_TRUE(killed_at > 0);
	fprintf(stderr,
		"cluster: %llu messages exactly once, in order, %.1f s; %.1f s after the kill\n",
		(unsigned long long)got, tn_now() - t0, tn_now() - killed_at);
	T_EQ(got, n_msgs);
	T_EQ(glost, 0);

	kill(b[0], SIGTERM);
	kill(b[1], SIGTERM);
	for (int i = 0; i < 2; i++) {
		r = tn_wait(b[i]);
		if (r != 0)
			T_FAIL("bridge%d: exit %d: %s", i + 1, r, tn_slurp(err[i], text, 8192));
		{
			char *p = strstr(tn_slurp(err[i], text, sizeof(text)), "forwarded ");
			char *last = NULL;

			for (; p; p = strstr(p + 1, "forwarded "))
				last = p;
			T_TRUE(last && sscanf(last, "forwarded %llu, lost %llu", &fwd, &lost) == 2);
			fprintf(stderr, "bridge%d: forwarded %llu, lost %llu\n", i + 1, fwd, lost);
			T_EQ(lost, 0);
			T_TRUE(fwd >= n_msgs);
		}
		unlink(err[i]);
	}
	close(done[1]);
	T_EQ(tn_wait(pub), 0);
	for (int i = 0; i < 3; i++)
		tn_stop(&node[i]);
	return 0;
}
