/* SPDX-License-Identifier: MIT */
/*
 * bench/peer.h - what the peer rows share (bench/peer_*.c): the rows of
 * other libraries a user might pick instead of ipckit, measured by the same
 * engine as every row. Each peer is an optional build dependency; a file
 * built without its library keeps its rows, and they say "n/a: built
 * without ..." (peer_missing()).
 *
 * Here: the socket path a pair of sockets meets at (ZeroMQ and nng over
 * ipc://), made in .prepare and removed in .destroy, as the rules in
 * bench.h want for named objects; and the error numbers of the peers' own
 * error codes where they have none.
 *
 * Header-only (static inline); not thread-safe (bench.h).
 */
#ifndef IPCKIT_BENCH_PEER_H
#define IPCKIT_BENCH_PEER_H

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/un.h>

#include "bench.h"
#include "engine.h"

/* The rendezvous of a socket pair: a path in the temporary directory. */
struct peer_sock {
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	char url[sizeof(((struct sockaddr_un *)0)->sun_path) + 16]; /* "ipc://" path */
};

static inline void peer_sock_destroy(const struct bench_env *env, void *shared)
{
	struct peer_sock *s = shared;

	(void)env;
	if (!s)
		return;
	/* The listening side made it; it is gone already when that side
	 * closed its socket, but not when the side was killed. */
	(void)unlink(s->path);
	free(s);
}

/* .prepare of a socket-pair row: fills *@shared with the path and URL. */
static inline int peer_sock_prepare(const struct bench_env *env, void **shared)
{
	struct peer_sock *s = calloc(1, sizeof(*s));

	if (!s)
		return -ENOMEM;
	if (snprintf(s->path, sizeof(s->path), "%s/%s.sock", bench_tmpdir(), env->tag) >=
	    (int)sizeof(s->path)) {
		free(s);
		snprintf(env->why, BENCH_WHY_MAX, "socket path in %s", bench_tmpdir());
		return -ENAMETOOLONG;
	}
	snprintf(s->url, sizeof(s->url), "ipc://%s", s->path);
	*shared = s;
	return 0;
}

#endif /* IPCKIT_BENCH_PEER_H */
