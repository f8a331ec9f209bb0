/* SPDX-License-Identifier: MIT */
/*
 * bench/nats.c - rows for nats:// channels through a nats-server on
 * loopback that the row starts in prepare (a free port, no JetStream) and
 * kills by its pid in destroy; compare with the "tcp" row. Both wait for
 * nothing long: a stopped run (SIGINT, SIGTERM) ends them at once.
 *
 *   nats  round trip: A publishes on TAG.d, B answers on TAG.b.
 *         throughput: A streams on TAG.d; core NATS has no flow control,
 *         so B returns a credit on TAG.c every CREDIT messages and A keeps
 *         at most WINDOW in flight (what a real consumer must do too, or
 *         the client drops for a slow consumer).
 *
 * n/a with the reason when nats-server is not installed or this build has
 * no nats transport (-Dnats=disabled).
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <ipckit/ipckit.h>

#include "bench.h"
#include "natsd.h"

#define CREDIT 1024
#define WINDOW (16 * CREDIT)

struct nats_shared {
	pid_t server;
	int port;
	pid_t bridge[4]; /* nats-bridge row */
};

struct nats_end {
	ipk_chan *d, *b, *c; /* data A -> B, back B -> A, credits B -> A */
	char *credit_buf;
	enum bench_side side;
	unsigned long sent, credited;
};

static int nats_check(const struct bench_env *env)
{
	ipk_chan *ch = NULL;
	int r;

	if (!natsd_path())
		return bench_na(env, "nats-server is not installed (Debian package nats-server)");
	/* Port 1: nothing listens; only a build without the transport says
	 * EPROTONOSUPPORT. */
	r = ipk_chan_open("nats://127.0.0.1:1/ipk.probe", IPK_CHAN_WRONLY, 0, &ch);
	if (r == 0)
		ipk_chan_close(ch);
	if (r == -EPROTONOSUPPORT)
		return bench_na(env, "this build has no nats transport (-Dnats=disabled)");
	if (env->size > 1024 * 1024)
		return bench_na(env, "over nats-server's default max_payload of 1 MiB");
	return 0;
}

static void nats_destroy(const struct bench_env *env, void *p)
{
	struct nats_shared *sh = p;

	(void)env;
	if (!sh)
		return;
	for (int i = 0; i < 4; i++) {
		if (sh->bridge[i] <= 0)
			continue;
		kill(sh->bridge[i], SIGTERM); /* exits cleanly, removing its ring */
		while (waitpid(sh->bridge[i], NULL, 0) < 0 && errno == EINTR)
			;
	}
	natsd_stop(&sh->server, SIGKILL);
	free(sh);
}

static int nats_prepare(const struct bench_env *env, void **ret)
{
	struct nats_shared *sh = calloc(1, sizeof(*sh));
	int64_t until;
	int r;

	if (!sh)
		return -ENOMEM;
	sh->port = natsd_free_port();
	r = sh->port < 0 ? sh->port
			 : natsd_spawn(sh->port, NULL, NULL, bench_child_sigmask, &sh->server);
	if (r < 0) {
		free(sh);
		return r;
	}
	until = bench_now_ns() + 10 * (int64_t)1000000000;
	while ((r = natsd_ready(&sh->server, sh->port)) != 1) {
		if (r < 0 || bench_now_ns() > until) {
			nats_destroy(env, sh); /* kills and reaps the server */
			return -ECONNREFUSED;
		}
		r = bench_prep_wait(env, -1, 0, bench_deadline(20000000));
		if (r == -EINTR) {
			nats_destroy(env, sh);
			return r;
		}
	}
	*ret = sh;
	return 0;
}

static int nats_open(const struct bench_env *env, void *p, enum bench_side side, void **ret)
{
	struct nats_shared *sh = p;
	struct nats_end *e = calloc(1, sizeof(*e));
	char url[200];
	int r;

	if (!e)
		return -ENOMEM;
	e->side = side;
	/* A writes d and reads b; B the other way round. */
	snprintf(url, sizeof(url), "nats://127.0.0.1:%d/%s.d", sh->port, env->tag);
	r = ipk_chan_open(url, side == BENCH_A ? IPK_CHAN_WRONLY : IPK_CHAN_RDONLY, env->timeout_ns,
			  &e->d);
	if (r == 0) {
		snprintf(url, sizeof(url), "nats://127.0.0.1:%d/%s.b", sh->port, env->tag);
		r = ipk_chan_open(url, side == BENCH_A ? IPK_CHAN_RDONLY : IPK_CHAN_WRONLY,
				  env->timeout_ns, &e->b);
	}
	if (r == 0) {
		snprintf(url, sizeof(url), "nats://127.0.0.1:%d/%s.c", sh->port, env->tag);
		r = ipk_chan_open(url, side == BENCH_A ? IPK_CHAN_RDONLY : IPK_CHAN_WRONLY,
				  env->timeout_ns, &e->c);
	}
	if (r == 0) {
		e->credit_buf = malloc(env->size > 16 ? env->size : 16);
		if (!e->credit_buf)
			r = -ENOMEM;
	}
	if (r < 0) {
		ipk_chan_close(e->d);
		ipk_chan_close(e->b);
		ipk_chan_close(e->c);
		free(e);
		return r;
	}
	*ret = e;
	return 0;
}

/* Round trip: A sends on d and receives on b; B the other way. */
static int nats_send(void *p, const void *buf, size_t len)
{
	struct nats_end *e = p;
	ipk_chan *ch = e->side == BENCH_A ? e->d : e->b;

	return ipk_chan_send(ch, buf, len, IPK_FOREVER);
}

static int nats_recv(void *p, void *buf, size_t len)
{
	struct nats_end *e = p;
	ipk_chan *ch = e->side == BENCH_A ? e->b : e->d;
	ssize_t n = ipk_chan_recv(ch, buf, len, IPK_FOREVER);

	if (n < 0)
		return (int)n;
	return (size_t)n == len ? 0 : -EPROTO;
}

static int nats_send_many(void *p, const void *buf, size_t len, unsigned long n)
{
	struct nats_end *e = p;

	for (unsigned long i = 0; i < n; i++) {
		int r;

		while (e->sent - e->credited >= WINDOW) {
			ssize_t c = ipk_chan_recv(e->c, e->credit_buf, len > 16 ? len : 16,
						  IPK_FOREVER);

			if (c < 0)
				return (int)c;
			e->credited += CREDIT;
		}
		r = ipk_chan_send(e->d, buf, len, IPK_FOREVER);
		if (r < 0)
			return r;
		e->sent++;
	}
	return ipk_chan_flush(e->d, IPK_FOREVER);
}

static int nats_recv_many(void *p, void *buf, size_t len, unsigned long n)
{
	struct nats_end *e = p;

	for (unsigned long i = 0; i < n; i++) {
		ssize_t r = ipk_chan_recv(e->d, buf, len, IPK_FOREVER);

		if (r < 0)
			return (int)r;
		if ((size_t)r != len)
			return -EPROTO;
		if (++e->sent % CREDIT == 0) {
			int s = ipk_chan_send(e->c, "c", 1, IPK_FOREVER);

			if (s < 0)
				return s;
		}
	}
	return ipk_chan_flush(e->c, IPK_FOREVER);
}

static void nats_close(void *p, enum bench_side side)
{
	struct nats_end *e = p;

	(void)side;
	if (!e)
		return;
	ipk_chan_close(e->d);
	ipk_chan_close(e->b);
	ipk_chan_close(e->c);
	free(e->credit_buf);
	free(e);
}

/*
 * nats-bridge: the round trip of "nats" with a bridge pair on each way,
 *   A -> shm:/TAG-x -> bridge -> NATS -> bridge -> shm:/TAG-y -> B
 *   B -> shm:/TAG-z -> bridge -> NATS -> bridge -> shm:/TAG-w -> A
 * so (nats-bridge - nats) / 2 is what the bridges and rings add to one
 * direction. The bridges are this ipckit binary (/proc/self/exe).
 */
struct bridge_end {
	ipk_chan *pub, *sub;
};

static int bridge_check(const struct bench_env *env)
{
	char exe[256];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	int r = nats_check(env);

	if (r)
		return r;
	if (n <= 0)
		return bench_na(env, "cannot find this program (/proc/self/exe)");
	exe[n] = '\0';
	if (!strstr(exe, "ipckit"))
		return bench_na(env, "the bridges are ipckit itself: run from 'ipckit bench'");
	if (env->size > 65536)
		return bench_na(env, "over the 1 MiB rings' largest message");
	return 0;
}

/* The bridges first (they remove the rings they publish when SIGTERM ends
 * them), then the rings the sides publish, which a killed side leaves. */
static void bridge_destroy(const struct bench_env *env, void *p)
{
	char ring[96];

	nats_destroy(env, p);
	for (int i = 0; i < 4; i++) {
		snprintf(ring, sizeof(ring), "/%s-%c", env->tag, "xyzw"[i]);
		bench_ring_unlink(ring);
	}
}

static pid_t spawn_bridge(const char *src, const char *dst)
{
	pid_t pid = fork();

	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		bench_child_sigmask();
		if (!freopen("/dev/null", "w", stdout) || !freopen("/dev/null", "w", stderr))
			_exit(126);
		execl("/proc/self/exe", "ipckit", "bridge", "--timeout", "20", src, dst,
		      (char *)NULL);
		_exit(127);
	}
	return pid;
}

static int bridge_prepare(const struct bench_env *env, void **ret)
{
	struct nats_shared *sh;
	char ring[4][96], subj[2][160];
	int r = nats_prepare(env, (void **)&sh);

	if (r)
		return r;
	for (int i = 0; i < 4; i++)
		snprintf(ring[i], sizeof(ring[i]), "shm:/%s-%c", env->tag, "xyzw"[i]);
	for (int i = 0; i < 2; i++)
		snprintf(subj[i], sizeof(subj[i]), "nats://127.0.0.1:%d/%s.%c", sh->port, env->tag,
			 "xz"[i]);
	sh->bridge[0] = spawn_bridge(ring[0], subj[0]);
	sh->bridge[1] = spawn_bridge(subj[0], ring[1]);
	sh->bridge[2] = spawn_bridge(ring[2], subj[1]);
	sh->bridge[3] = spawn_bridge(subj[1], ring[3]);
	for (int i = 0; i < 4; i++)
		if (sh->bridge[i] < 0) {
			r = -EAGAIN;
			bridge_destroy(env, sh);
			return r;
		}
	*ret = sh;
	return 0;
}

static int bridge_open(const struct bench_env *env, void *p, enum bench_side side, void **ret)
{
	struct bridge_end *e = calloc(1, sizeof(*e));
	char pub[96], sub[96], c;
	int64_t until = bench_now_ns() + env->timeout_ns;
	int r;

	(void)p;
	if (!e)
		return -ENOMEM;
	snprintf(pub, sizeof(pub), "shm:/%s-%c", env->tag, side == BENCH_A ? 'x' : 'z');
	snprintf(sub, sizeof(sub), "shm:/%s-%c", env->tag, side == BENCH_A ? 'w' : 'y');
	r = ipk_chan_open(pub, IPK_CHAN_CREATE, 0, &e->pub);
	if (r == 0)
		r = ipk_chan_open(sub, 0, env->timeout_ns, &e->sub);
	/* The path is whole when a probe comes back: A sends 'p' until one
	 * returns, then 'g'; B echoes both and is done at 'g'. */
	while (r == 0) {
		ssize_t n;

		if (side == BENCH_A)
			r = ipk_chan_send(e->pub, "p", 1, 0);
		if (r < 0)
			break;
		n = ipk_chan_recv(e->sub, &c, 1, 20 * IPK_MSEC);
		if (n == 1 && side == BENCH_B) {
			r = ipk_chan_send(e->pub, &c, 1, 0);
			if (c == 'g')
				break;
		} else if (n == 1 && c == 'p') {
			r = ipk_chan_send(e->pub, "g", 1, 0);
			while (r == 0 && (n = ipk_chan_recv(e->sub, &c, 1, env->timeout_ns)) == 1 &&
			       c != 'g')
				;
			if (r == 0 && n != 1)
				r = n < 0 ? (int)n : -EPROTO;
			break;
		} else if (n < 0 && n != -ETIMEDOUT) {
			r = (int)n;
		}
		if (r == 0 && bench_now_ns() > until)
			r = -ETIMEDOUT;
	}
	if (r < 0) {
		ipk_chan_close(e->pub);
		ipk_chan_close(e->sub);
		free(e);
		return r;
	}
	*ret = e;
	return 0;
}

static int bridge_send(void *p, const void *buf, size_t len)
{
	struct bridge_end *e = p;

	return ipk_chan_send(e->pub, buf, len, 0);
}

static int bridge_recv(void *p, void *buf, size_t len)
{
	struct bridge_end *e = p;
	ssize_t n = ipk_chan_recv(e->sub, buf, len, IPK_FOREVER);

	if (n < 0)
		return (int)n;
	return (size_t)n == len ? 0 : -EPROTO;
}

static void bridge_close(void *p, enum bench_side side)
{
	struct bridge_end *e = p;

	(void)side;
	if (!e)
		return;
	ipk_chan_close(e->pub);
	ipk_chan_close(e->sub);
	free(e);
}

static const struct bench_ops bridge_ops = {
	.check = bridge_check,
	.prepare = bridge_prepare,
	.open = bridge_open,
	.send = bridge_send,
	.recv = bridge_recv,
	.close = bridge_close,
	.destroy = bridge_destroy,
};

static const struct bench_ops ops = {
	.check = nats_check,
	.prepare = nats_prepare,
	.open = nats_open,
	.send = nats_send,
	.recv = nats_recv,
	.send_many = nats_send_many,
	.recv_many = nats_recv_many,
	.close = nats_close,
	.destroy = nats_destroy,
};

static const struct bench_mech mechs[] = {
	{ .name = "nats",
	  .kinds = BENCH_RTT | BENCH_TPUT,
	  .desc = "NATS core through a local nats-server (libnats), credit flow control",
	  .ops = &ops },
	{ .name = "nats-bridge",
	  .kinds = BENCH_RTT,
	  .desc = "ring -> ipckit bridge -> NATS -> ipckit bridge -> ring, each way",
	  .ops = &bridge_ops },
};

BENCH_DEFINE_MODULE(nats, mechs);
