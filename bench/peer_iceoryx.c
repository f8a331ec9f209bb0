/* SPDX-License-Identifier: MIT */
/*
 * bench/peer_iceoryx.c - iceoryx (Eclipse, shared-memory publish/subscribe,
 * C binding) as a peer row.
 *
 *   iceoryx       a publisher and a subscriber in each process (one topic
 *                 per direction); the receiver sleeps in a WaitSet on the
 *                 subscriber's HAS_DATA state, then takes the chunk
 *   iceoryx-poll  the same, but the receiver polls iox_sub_take_chunk() in
 *                 a spin loop (what iceoryx's own iox-c-latency benchmark
 *                 does in its polling mode)
 *
 * The sender loans a chunk, copies the engine's message into it and
 * publishes it; the receiver copies it out and releases the chunk: the
 * copy each way that every other row makes too. Both policies that make a
 * stream lossless are set (the publisher waits for its consumer, the
 * subscriber's full queue blocks the producer), so one-way throughput
 * counts only what arrived.
 *
 * iceoryx needs its daemon, RouDi, to run before any process can publish.
 * Each case starts its own iox-roudi in .prepare, with a private
 * configuration written for the case (one segment, one mempool of chunks
 * just large enough for the message, as many as the queues can hold), its
 * process monitoring off (the engine watches the sides), and stops exactly
 * that process (by its pid) in .destroy. Iceoryx 2.0 knows no domains: the
 * daemon's names are fixed (its socket /tmp/roudi, its lock
 * /tmp/iox-unique-roudi.lock, the shared memory /dev/shm/iceoryx_mgmt and
 * one named after the user's group), so only one RouDi can run on a host.
 * When another holds the lock, the case waits up to LOCK_WAIT for it (most
 * likely another run's case, which ends soon), then is n/a and says so; ipckit never
 * talks to, or stops, a RouDi it did not start. Ours is ended with
 * SIGKILL (see roudi_stop()), and the names it leaves are removed while
 * ipckit holds its lock, so that no other RouDi can have them. Each side registers with RouDi as
 * "TAG-a" or "TAG-b", which leaves a socket of that name in /tmp if the side is killed: .destroy
 * removes those too.
 *
 * Built without the iceoryx C binding, both rows are n/a with the reason.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <poll.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "peer.h"

#ifdef IPK_HAVE_ICEORYX
#include <iceoryx_binding_c/chunk.h>
#include <iceoryx_binding_c/log.h>
#include <iceoryx_binding_c/publisher.h>
#include <iceoryx_binding_c/runtime.h>
#include <iceoryx_binding_c/subscriber.h>
#include <iceoryx_binding_c/wait_set.h>

#define ROUDI_LOCK "/tmp/iox-unique-roudi.lock"
#define MAX_POOL ((uint64_t)512 << 20) /* bytes of chunks a case may ask for */
#define SUB_QUEUE_MAX 256              /* iceoryx 2.0's largest subscriber queue */
#define LOCK_WAIT 5000000000LL         /* ns to wait for another RouDi to end */
#define LOCK_NAP 20000000LL            /* ns between looks at its lock */

static const char other_roudi[] = "another iox-roudi runs on this host; iceoryx 2.0 allows one "
				  "(fixed names /tmp/roudi, /dev/shm/iceoryx_mgmt)";

enum iox_mode {
	IM_WAITSET,
	IM_POLL,
};

/* What .prepare starts and .destroy stops, shared with the sides. */
struct iox_shared {
	pid_t roudi;     /* our iox-roudi; 0 when none runs */
	int out;         /* its standard output and error, until it is stopped */
	uint64_t queue;  /* subscriber queue capacity for this case */
	char dir[160];   /* roudi.toml lives here */
	char text[1024]; /* what RouDi printed before it was ready */
	size_t len;
};

struct iox_end {
	iox_pub_storage_t pub_st;
	iox_sub_storage_t sub_st;
	iox_ws_storage_t ws_st;
	iox_pub_t pub;
	iox_sub_t sub;
	iox_ws_t ws;
	bool runtime;
	enum iox_mode mode;
};

static const char *iox_ver(void)
{
	return "iceoryx " IPK_ICEORYX_VERSION;
}

/* The installed iox-roudi, or NULL. */
static const char *roudi_path(void)
{
	static const char *const where[] = { "/usr/bin/iox-roudi", "/usr/local/bin/iox-roudi" };

	for (size_t i = 0; i < sizeof(where) / sizeof(where[0]); i++)
		if (access(where[i], X_OK) == 0)
			return where[i];
	return NULL;
}

/* Whether a RouDi (any) holds the host's one lock right now. RouDi takes
 * it with flock(); a look that takes it and lets go at once is harmless. */
static bool roudi_lock_held(void)
{
	int fd = open(ROUDI_LOCK, O_RDONLY | O_CLOEXEC);
	bool held = false;

	if (fd < 0)
		return false; /* none: nobody holds it */
	if (flock(fd, LOCK_EX | LOCK_NB) < 0)
		held = errno == EWOULDBLOCK;
	close(fd); /* and with it our lock, if we got it */
	return held;
}

static void unlink_in(const char *dir, const char *name)
{
	char p[256];

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	(void)unlink(p);
}

/* What a RouDi killed with SIGKILL leaves behind (iceoryx 2.0's fixed
 * names), removed while we hold its lock: no other RouDi can have taken
 * the names meanwhile, nor take them while we remove them. Nothing when
 * another holds the lock. */
static void roudi_remove_names(void)
{
	struct group *g = getgrgid(getegid());
	int fd = open(ROUDI_LOCK, O_RDONLY | O_CLOEXEC);

	if (fd >= 0 && flock(fd, LOCK_EX | LOCK_NB) < 0) {
		close(fd);
		return;
	}
	(void)shm_unlink("/iceoryx_mgmt");
	if (g) {
		char name[128];

		snprintf(name, sizeof(name), "/%s", g->gr_name);
		(void)shm_unlink(name);
	}
	(void)unlink("/tmp/roudi");
	(void)unlink("/tmp/roudi.lock");
	(void)unlink(ROUDI_LOCK);
	if (fd >= 0)
		close(fd); /* lets go of the lock */
}

/*
 * Ends our RouDi. Not with SIGTERM: RouDi then stops every process still
 * registered, and the sides are (they end with _exit(), and iceoryx 2.0's
 * C binding has no call that deregisters; its runtime's destructor does,
 * at exit()), so it fails to signal them and aborts, leaving its names. So
 * SIGKILL, and the names are removed here.
 */
static void roudi_stop(struct iox_shared *s)
{
	if (s->roudi > 0) {
		(void)kill(s->roudi, SIGKILL);
		while (waitpid(s->roudi, NULL, 0) < 0 && errno == EINTR)
			;
		s->roudi = 0;
		roudi_remove_names();
	}
	if (s->out >= 0) {
		close(s->out);
		s->out = -1;
	}
}

static void iox_destroy(const struct bench_env *env, void *shared)
{
	struct iox_shared *s = shared;
	char name[128];

	if (!s)
		return;
	roudi_stop(s);
	/* The sides' sockets and locks (iceoryx's /tmp/NAME), if they were
	 * killed before they could remove them. */
	for (int side = 0; side < 2; side++) {
		snprintf(name, sizeof(name), "/tmp/%s-%c", env->tag, side ? 'b' : 'a');
		(void)unlink(name);
		snprintf(name, sizeof(name), "/tmp/%s-%c.lock", env->tag, side ? 'b' : 'a');
		(void)unlink(name);
	}
	if (s->dir[0]) {
		unlink_in(s->dir, "roudi.toml");
		(void)rmdir(s->dir);
	}
	free(s);
}

/* Mempool chunks for this case: the payload rounded up to iceoryx's
 * alignment, and enough of them for both directions' queues, plus the one
 * each side holds and the one it loans. */
static uint64_t chunk_size(size_t size)
{
	return ((uint64_t)size + 31) & ~(uint64_t)31;
}

static int write_config(const struct bench_env *env, struct iox_shared *s)
{
	uint64_t count = 2 * (s->queue + 4);
	char path[sizeof(s->dir) + 16];
	FILE *f;

	snprintf(path, sizeof(path), "%s/roudi.toml", s->dir);
	f = fopen(path, "we");
	if (!f)
		return bench_neg_errno();
	fprintf(f,
		"# ipckit bench: a private RouDi for one case\n"
		"[general]\nversion = 1\n\n[[segment]]\n\n[[segment.mempool]]\n"
		"size = %llu\ncount = %llu\n",
		(unsigned long long)chunk_size(env->size), (unsigned long long)count);
	return fclose(f) == 0 ? 0 : bench_neg_errno();
}

static int roudi_spawn(struct iox_shared *s, const char *exe)
{
	char conf[sizeof(s->dir) + 16];
	int pfd[2];

	snprintf(conf, sizeof(conf), "%s/roudi.toml", s->dir);
	if (pipe2(pfd, O_CLOEXEC) < 0)
		return bench_neg_errno();
	s->roudi = fork();
	if (s->roudi < 0) {
		int r = bench_neg_errno();

		s->roudi = 0;
		close(pfd[0]);
		close(pfd[1]);
		return r;
	}
	if (s->roudi == 0) {
		struct rlimit no_core = { 0, 0 };

		/* stopped cleanly (it removes its names) if ipckit dies */
		(void)prctl(PR_SET_PDEATHSIG, SIGTERM);
		bench_child_sigmask();
		(void)setrlimit(RLIMIT_CORE, &no_core); /* it aborts when it fails */
		if (dup2(pfd[1], STDOUT_FILENO) < 0 || dup2(pfd[1], STDERR_FILENO) < 0)
			_exit(126);
		execl(exe, "iox-roudi", "-c", conf, "-m", "off", "-l", "warning", (char *)NULL);
		_exit(127);
	}
	close(pfd[1]);
	s->out = pfd[0];
	return 0;
}

/* Reads what RouDi prints until it says it is ready. Return: 0 ready;
 * BENCH_NA another RouDi holds the lock; -ECHILD it ended (why says how);
 * -ETIMEDOUT; -EINTR (the run stops). */
static int roudi_ready(const struct bench_env *env, struct iox_shared *s)
{
	int64_t deadline = bench_deadline(env->timeout_ns);

	for (;;) {
		ssize_t n;
		int r;

		if (strstr(s->text, "ready for clients"))
			return 0;
		if ((r = bench_prep_wait(env, s->out, POLLIN, deadline)) < 0)
			return r;
		n = read(s->out, s->text + s->len, sizeof(s->text) - 1 - s->len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n > 0) {
			s->len += (size_t)n;
			s->text[s->len] = '\0';
			if (s->len < sizeof(s->text) - 1)
				continue;
		}
		if (strstr(s->text, "ready for clients"))
			return 0;
		/* The end of its output: it exited (or said too much). */
		roudi_stop(s);
		if (strstr(s->text, "Could not acquire lock"))
			return bench_na(env, "%s", other_roudi);
		snprintf(env->why, BENCH_WHY_MAX, "iox-roudi ended before it was ready");
		return -ECHILD;
	}
}

static int iox_prepare(const struct bench_env *env, void **shared)
{
	const char *exe = roudi_path();
	int64_t lock_deadline;
	struct iox_shared *s;
	int r;

	if (!exe)
		return bench_na(env, "no iox-roudi (the iceoryx daemon): install the iceoryx "
				     "package");
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->out = -1;
	/* A round trip has one message in flight; a stream gets deep queues,
	 * fewer for big messages. */
	s->queue = 4;
	if (env->kind != BENCH_RTT) {
		s->queue = (MAX_POOL / 2) / chunk_size(env->size) - 4;
		if (s->queue > SUB_QUEUE_MAX)
			s->queue = SUB_QUEUE_MAX;
	}
	if (env->size > UINT32_MAX / 2 || 2 * (s->queue + 4) * chunk_size(env->size) > MAX_POOL ||
	    s->queue < 1) {
		free(s);
		return bench_na(env, "more than %llu MiB of chunks",
				(unsigned long long)(MAX_POOL >> 20));
	}
	if (snprintf(s->dir, sizeof(s->dir), "%s/%s.iox", bench_tmpdir(), env->tag) >=
	    (int)sizeof(s->dir)) {
		s->dir[0] = '\0';
		r = -ENAMETOOLONG;
		goto fail;
	}
	if (mkdir(s->dir, 0700) < 0) {
		r = bench_neg_errno();
		s->dir[0] = '\0'; /* not ours */
		goto fail;
	}
	if ((r = write_config(env, s)) < 0)
		goto fail;
	/* Another RouDi (another run's case, most likely) may hold the host's
	 * one lock for a while: wait for it, a bounded time. */
	lock_deadline = bench_deadline(env->timeout_ns < LOCK_WAIT ? env->timeout_ns : LOCK_WAIT);
	for (;;) {
		while (roudi_lock_held()) {
			r = bench_prep_wait(env, -1, 0, bench_deadline(LOCK_NAP));
			if (r == -EINTR || bench_now_ns() > lock_deadline) {
				r = r == -EINTR ? r : bench_na(env, "%s", other_roudi);
				goto fail_quiet;
			}
		}
		if ((r = roudi_spawn(s, exe)) < 0)
			goto fail;
		r = roudi_ready(env, s);
		if (r != BENCH_NA || bench_now_ns() > lock_deadline)
			break;
		/* It lost the lock to another one just started: again. */
		s->len = 0;
		s->text[0] = '\0';
		env->why[0] = '\0';
	}
	if (r != 0)
		goto fail_quiet;
	*shared = s;
	return 0;
fail:
	if (!env->why[0])
		snprintf(env->why, BENCH_WHY_MAX, "iox-roudi in %.100s", s->dir);
fail_quiet:
	iox_destroy(env, s);
	return r;
}

static void iox_close(void *end, enum bench_side side)
{
	struct iox_end *e = end;

	(void)side;
	if (!e)
		return;
	if (e->ws)
		iox_ws_deinit(e->ws);
	if (e->sub)
		iox_sub_deinit(e->sub);
	if (e->pub)
		iox_pub_deinit(e->pub);
	if (e->runtime)
		iox_runtime_shutdown();
	free(e);
}

static int iox_open(const struct bench_env *env, void *shared, enum bench_side side, void **end)
{
	const enum iox_mode *mode = env->mech->arg;
	int64_t deadline = bench_deadline(env->timeout_ns);
	struct iox_shared *s = shared;
	iox_pub_options_t po;
	iox_sub_options_t so;
	struct iox_end *e;
	char name[96];
	int r = 0;

	e = calloc(1, sizeof(*e));
	if (!e)
		return -ENOMEM;
	e->mode = *mode;
	/* Its log goes to standard output, where the table is. */
	iox_set_loglevel(Iceoryx_LogLevel_Off);
	snprintf(name, sizeof(name), "%s-%c", env->tag, side == BENCH_A ? 'a' : 'b');
	iox_runtime_init(name); /* registers with RouDi; aborts if it cannot */
	e->runtime = true;

	iox_pub_options_init(&po);
	po.historyCapacity = 0;
	po.subscriberTooSlowPolicy = ConsumerTooSlowPolicy_WAIT_FOR_CONSUMER;
	iox_sub_options_init(&so);
	so.queueCapacity = s->queue;
	so.historyRequest = 0;
	so.queueFullPolicy = QueueFullPolicy_BLOCK_PRODUCER;
	e->pub = iox_pub_init(&e->pub_st, "ipkb", env->tag, side == BENCH_A ? "a2b" : "b2a", &po);
	e->sub = iox_sub_init(&e->sub_st, "ipkb", env->tag, side == BENCH_A ? "b2a" : "a2b", &so);
	if (e->mode == IM_WAITSET) {
		e->ws = iox_ws_init(&e->ws_st);
		if (iox_ws_attach_subscriber_state(e->ws, e->sub, SubscriberState_HAS_DATA, 0,
						   NULL) != WaitSetResult_SUCCESS) {
			r = -ENOSPC;
			goto fail;
		}
	}
	/* RouDi connects the two ports in its own time: a message published
	 * before would be lost. Wait until both directions are connected. */
	while (iox_sub_get_subscription_state(e->sub) != SubscribeState_SUBSCRIBED ||
	       !iox_pub_has_subscribers(e->pub)) {
		struct timespec ts = { 0, 200000 };

		if (bench_now_ns() > deadline) {
			r = -ETIMEDOUT;
			goto fail;
		}
		nanosleep(&ts, NULL);
	}
	*end = e;
	return 0;
fail:
	iox_close(e, side);
	return r;
}

static int iox_send(void *end, const void *buf, size_t len)
{
	struct iox_end *e = end;
	void *chunk;

	switch (iox_pub_loan_chunk(e->pub, &chunk, (uint32_t)len)) {
	case AllocationResult_SUCCESS:
		break;
	case AllocationResult_RUNNING_OUT_OF_CHUNKS:
	case AllocationResult_TOO_MANY_CHUNKS_ALLOCATED_IN_PARALLEL:
		return -ENOBUFS;
	case AllocationResult_NO_MEMPOOLS_AVAILABLE:
		return -EMSGSIZE;
	default:
		return -EIO;
	}
	memcpy(chunk, buf, len);
	iox_pub_publish_chunk(e->pub, chunk); /* waits while the queue is full */
	return 0;
}

static int iox_recv(void *end, void *buf, size_t len)
{
	struct iox_end *e = end;
	iox_notification_info_t info[1];
	unsigned spins = 0;
	const void *chunk;
	uint64_t missed;

	for (;;) {
		switch (iox_sub_take_chunk(e->sub, &chunk)) {
		case ChunkReceiveResult_SUCCESS:
			/* Both sides loan exactly the case's size. */
			memcpy(buf, chunk, len);
			iox_sub_release_chunk(e->sub, chunk);
			return 0;
		case ChunkReceiveResult_NO_CHUNK_AVAILABLE:
			break;
		case ChunkReceiveResult_TOO_MANY_CHUNKS_HELD_IN_PARALLEL:
			return -ENOBUFS;
		default:
			return -EIO;
		}
		if (e->mode == IM_POLL)
			bench_spin(&spins);
		else
			(void)iox_ws_wait(e->ws, info, 1, &missed);
	}
}

static const struct bench_ops iox_ops = {
	.prepare = iox_prepare,
	.open = iox_open,
	.send = iox_send,
	.recv = iox_recv,
	.close = iox_close,
	.destroy = iox_destroy,
};

static const enum iox_mode waitset = IM_WAITSET, polling = IM_POLL;
#define ROW_VERSION iox_ver
#define ROW_ARG(m) (&(m))
#else
static int iox_missing(const struct bench_env *env)
{
	return bench_na(env, "built without iceoryx: install libiceoryx-binding-c-dev and cmake "
			     "(meson finds it with cmake), and rebuild");
}

static const struct bench_ops iox_ops = { .check = iox_missing };
#define ROW_VERSION NULL
#define ROW_ARG(m) NULL
#endif

static const struct bench_mech mechs[] = {
	{ .name = "iceoryx",
	  .flags = BENCH_PEER,
	  .kinds = BENCH_RTT | BENCH_TPUT | BENCH_RATE,
	  .desc = "iceoryx publish/subscribe (C binding, own RouDi), WaitSet wake-up",
	  .ops = &iox_ops,
	  .arg = ROW_ARG(waitset),
	  .version = ROW_VERSION },
	{ .name = "iceoryx-poll",
	  .flags = BENCH_PEER | BENCH_SPIN,
	  .kinds = BENCH_RTT | BENCH_TPUT | BENCH_RATE,
	  .desc = "iceoryx publish/subscribe (C binding, own RouDi), iox_sub_take_chunk spinning",
	  .ops = &iox_ops,
	  .arg = ROW_ARG(polling),
	  .version = ROW_VERSION },
};

BENCH_DEFINE_MODULE(iceoryx, mechs);
