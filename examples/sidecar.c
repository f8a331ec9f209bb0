/* SPDX-License-Identifier: MIT */
/*
 * sidecar - an Envoy-style local proxy: the application talks to it over a
 * Unix socket in a directory it shares with the proxy (a pod's emptyDir,
 * /run/app/...), the proxy admits the peer by its credentials and forwards
 * the bytes, unchanged and both ways, to an upstream service.
 *
 *   sidecar --listen PATH --upstream tcp:HOST:PORT|unix:PATH
 *           [--allow-uid UID]... [--allow-gid GID]... [--mode 0OOO]
 *           [--dir-mode 0OOO] [--tcp-listen PORT] [--buffer BYTES]
 *           [--max-conns N] [--connect-timeout SEC] [--idle-timeout SEC]
 *           [--verbose]
 *
 * Who gets in. Two locks, both real:
 *  - the file system: the socket file gets --mode (default 0600) before it
 *    is bound, whatever the umask; with --dir-mode the proxy also makes
 *    (or re-modes) the socket's directory. A user who may not search the
 *    directory or write the socket gets EACCES from connect(2) and never
 *    reaches the proxy;
 *  - credentials: the listener's access policy (ipk_listener_set_access())
 *    admits a peer whose uid is one of --allow-uid, or whose gid or a
 *    supplementary group is one of --allow-gid (names or numbers; with
 *    neither option: the proxy's own uid only). The kernel tells the
 *    peer's uid and gid (SO_PEERCRED, SO_PEERGROUPS); a refused peer is
 *    disconnected before a byte it sent is read, and the proxy logs
 *    "refused uid U gid G pid P".
 * --tcp-listen PORT also serves on 127.0.0.1:PORT (0: any free port), for
 * clients that speak only TCP, such as a load generator. TCP peers carry no
 * credentials: anyone on the host may connect there, so it is loopback
 * only and off by default.
 *
 * How it forwards. One thread and one ipk_loop serve every connection; no
 * thread or process per connection. Each connection holds two buffers of
 * --buffer bytes (default 65536), one per direction: a side is read only
 * while the buffer toward the other side has room, so a slow reader stalls
 * its writer (the kernel's socket buffers fill, then the writer's sends
 * wait) and a connection never holds more than its two buffers, however
 * much is pushed through it. When one side ends its sending (EOF), the
 * proxy writes out what it still holds for the other side and then shuts
 * down that side's writing (shutdown(SHUT_WR)), so a request/EOF/reply
 * exchange works through it; a connection closes when both directions
 * have ended, or at once when either socket fails, which affects no other
 * connection. Upstream connects are non-blocking; one that takes longer
 * than --connect-timeout (default 10 s) fails the connection, and with
 * --idle-timeout a connection that moved no byte for that long is closed.
 * At --max-conns (default 1024) open connections, or when the process runs
 * out of descriptors, the proxy stops accepting until one closes: waiting
 * peers queue in the kernel's backlog instead.
 *
 * SIGINT or SIGTERM closes every connection, removes the socket file,
 * prints what was served and exits 0. SIGPIPE is ignored: a peer that goes
 * away costs only its own connection. On start the proxy prints
 * "sidecar: listening on unix:PATH" (and the TCP URL) once it accepts.
 *
 * Measured with wrk through --tcp-listen against examples/hot-upgrade on
 * a loaded 2-vCPU KVM guest: with 64 connections the throughput through
 * the proxy stayed within the noise of going straight to the upstream
 * (median ratio 0.96, no socket error in 10 s); one request at a time, the
 * two extra loopback hops added about 35 us (p50 17 -> 52 us). Figures
 * and how to reproduce them: docs/sidecar.md, tests/unix/sidecar_load.py.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <netdb.h>
#include <pwd.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <ipckit/chan.h>
#include <ipckit/loop.h>
#include <ipckit/unix.h>

#define MAX_IDS 64
#define ACCEPT_BURST 64 /* accepts per wake-up, so running connections get their turn */
#define SWEEP_NS (IPK_SEC / 4)

/* Bytes read from one side, waiting to be written to the other. */
struct flow {
	size_t off, len; /* pending bytes are buf[off, off + len) */
	bool eof;        /* the reading side sent EOF */
	bool shut;       /* ... and the writing side has been shut down for writing */
	char *buf;       /* --buffer bytes, in the connection's allocation */
};

/* One application connection and its upstream connection. Side 0 is the
 * application, side 1 the upstream; flow[d] carries side d's bytes to side
 * !d. */
struct conn {
	struct conn *prev, *next; /* all open connections */
	unsigned long id;
	ipk_chan *app; /* the accepted channel: owns fd[0] */
	int fd[2];
	uint32_t mask[2]; /* events the loop watches on fd[i]; 0: not in the loop */
	bool connecting;  /* upstream connect(2) still in progress */
	int failed_side;  /* the side whose socket call failed last */
	int64_t since_ns; /* when the connect started, or the last byte moved */
	struct flow flow[2];
};

struct upstream {
	struct sockaddr_storage addr;
	socklen_t len;
	bool tcp;
};

static struct {
	ipk_loop *loop;
	ipk_listener *unix_l, *tcp_l;
	bool accepting;   /* listeners are in the loop */
	bool paused_told; /* "pausing" was said since the last accept */
	bool starved;     /* no descriptor for an upstream: wait for a close */
	struct upstream up;
	size_t bufsize;
	unsigned long max_conns;
	int64_t connect_timeout_ns, idle_timeout_ns;
	bool verbose;
	struct conn *conns;
	unsigned long nconns, next_id, refused, failed;
	uint64_t bytes[2]; /* forwarded app -> upstream, upstream -> app */
} g = {
	.bufsize = 65536,
	.max_conns = 1024,
	.connect_timeout_ns = 10 * IPK_SEC,
};

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * IPK_SEC + ts.tv_nsec;
}

static void on_conn(ipk_loop *l, int fd, uint32_t events, void *arg);
static void pause_accepting(void);
static void resume_accepting(void);

static void conn_free(struct conn *c)
{
	for (int i = 0; i < 2; i++)
		if (c->mask[i])
			(void)ipk_loop_del_fd(g.loop, c->fd[i]);
	ipk_chan_close(c->app); /* and with it fd[0] */
	if (c->fd[1] >= 0)
		close(c->fd[1]);
	if (c->prev)
		c->prev->next = c->next;
	else
		g.conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	g.nconns--;
	free(c);
	g.starved = false;
	if (!g.accepting)
		resume_accepting(); /* a slot and a descriptor are free again */
}

/* The connection cannot go on: drop both sides (the peers see EOF or RST).
 * A peer that resets is routine; an unreachable upstream is worth a line. */
static void conn_fail(struct conn *c, const char *what, int err, bool loud)
{
	g.failed++;
	if (g.verbose || loud)
		fprintf(stderr, "sidecar: #%lu: %s: %s\n", c->id, what, strerror(err));
	conn_free(c);
}

/* Put the loop's view of both descriptors in line with what the flows
 * need: read a side while its flow has room and no EOF, write a side while
 * bytes wait for it. A descriptor with nothing to wait for leaves the loop,
 * so a hung-up socket nobody reads cannot wake it again and again. */
static int conn_arm(struct conn *c)
{
	for (int i = 0; i < 2; i++) {
		const struct flow *in = &c->flow[i], *out = &c->flow[!i];
		uint32_t want = 0;
		int r = 0;

		if (i == 1 && c->connecting) {
			want = IPK_LOOP_OUT; /* writable: the connect ended */
		} else {
			if (!in->eof && in->off + in->len < g.bufsize)
				want |= IPK_LOOP_IN;
			if (out->len > 0)
				want |= IPK_LOOP_OUT;
		}
		if (want == c->mask[i])
			continue;
		if (!want)
			r = ipk_loop_del_fd(g.loop, c->fd[i]);
		else if (!c->mask[i])
			r = ipk_loop_add_fd(g.loop, c->fd[i], want, on_conn, c);
		else
			r = ipk_loop_mod_fd(g.loop, c->fd[i], want);
		if (r < 0)
			return r;
		c->mask[i] = want;
	}
	return 0;
}

/* Write what flow @d holds to side !d; after its EOF, pass the EOF on.
 * Return: 0, or -errno when the writing side failed. */
static int flush(struct conn *c, int d)
{
	struct flow *f = &c->flow[d];

	if (d == 0 && c->connecting)
		return 0;
	while (f->len > 0) {
		ssize_t n = send(c->fd[!d], f->buf + f->off, f->len, MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				return 0;
			c->failed_side = !d;
			return -errno;
		}
		f->off += (size_t)n;
		f->len -= (size_t)n;
		g.bytes[d] += (uint64_t)n;
	}
	f->off = 0;
	if (f->eof && !f->shut) {
		if (shutdown(c->fd[!d], SHUT_WR) < 0 && errno != ENOTCONN) {
			c->failed_side = !d;
			return -errno;
		}
		f->shut = true;
	}
	return 0;
}

/* Read side @d into its flow and pass it on at once.
 * Return: 0, or -errno when either side failed. */
static int pump(struct conn *c, int d)
{
	struct flow *f = &c->flow[d];
	size_t room = g.bufsize - f->off - f->len;
	ssize_t n;

	if (f->eof || room == 0)
		return 0;
	n = recv(c->fd[d], f->buf + f->off + f->len, room, MSG_DONTWAIT);
	if (n < 0) {
		c->failed_side = d;
		return errno == EAGAIN || errno == EINTR ? 0 : -errno;
	}
	if (n == 0)
		f->eof = true;
	f->len += (size_t)n;
	return flush(c, d);
}

/* The non-blocking upstream connect ended: did it work? */
static int connected(struct conn *c)
{
	int err = 0;
	socklen_t len = sizeof(err);

	if (getsockopt(c->fd[1], SOL_SOCKET, SO_ERROR, &err, &len) < 0)
		return -errno;
	if (err)
		return -err;
	c->connecting = false;
	return flush(c, 0); /* what the application sent meanwhile */
}

static void on_conn(ipk_loop *l, int fd, uint32_t events, void *arg)
{
	struct conn *c = arg;
	int side = fd == c->fd[1];
	bool connect_ended = side == 1 && c->connecting;
	int r = 0;

	(void)l;
	if (connect_ended) {
		r = connected(c);
	} else {
		/* an error or hang-up shows in the read or write it causes */
		if (events & (IPK_LOOP_IN | IPK_LOOP_ERR | IPK_LOOP_HUP) &&
		    c->mask[side] & IPK_LOOP_IN)
			r = pump(c, side);
		if (r == 0 && events & (IPK_LOOP_OUT | IPK_LOOP_ERR | IPK_LOOP_HUP) &&
		    c->mask[side] & IPK_LOOP_OUT)
			r = flush(c, !side);
	}
	if (r == 0 && c->flow[0].shut && c->flow[1].shut) {
		if (g.verbose)
			fprintf(stderr, "sidecar: #%lu: done\n", c->id);
		conn_free(c);
		return;
	}
	if (!c->connecting)
		c->since_ns = now_ns(); /* for --idle-timeout */
	if (r < 0) {
		if (connect_ended && c->connecting)
			conn_fail(c, "upstream connect", -r, true);
		else
			conn_fail(c, c->failed_side ? "upstream" : "application", -r, false);
		return;
	}
	r = conn_arm(c);
	if (r < 0)
		conn_fail(c, "loop", -r, true);
}

static int upstream_socket(int *ret)
{
	int one = 1;
	int fd = socket(g.up.addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -errno;
	/* forward each write as it comes, as the application made it */
	if (g.up.tcp)
		(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(fd, (struct sockaddr *)&g.up.addr, g.up.len) < 0) {
		/* a Unix listener whose backlog is full answers EAGAIN: refused too */
		if (errno != EINPROGRESS) {
			int r = -errno;

			close(fd);
			return r;
		}
		*ret = fd;
		return 1;
	}
	*ret = fd;
	return 0;
}

/* Forward an accepted channel's bytes raw, and connect upstream. */
static void conn_start(ipk_chan *ch)
{
	struct conn *c;
	int up = -1, r;

	c = malloc(sizeof(*c) + 2 * g.bufsize); /* the buffers need no zeroing */
	if (!c) {
		ipk_chan_close(ch);
		return;
	}
	memset(c, 0, sizeof(*c));
	c->id = ++g.next_id;
	/* The bytes go raw, not as ipckit messages: its socket is used
	 * directly (the channel has read nothing), no second descriptor. */
	c->app = ch;
	c->fd[0] = ipk_chan_fd(ch);
	c->fd[1] = -1;
	c->flow[0].buf = (char *)(c + 1);
	c->flow[1].buf = c->flow[0].buf + g.bufsize;
	c->since_ns = now_ns();
	c->next = g.conns;
	if (g.conns)
		g.conns->prev = c;
	g.conns = c;
	g.nconns++;

	r = upstream_socket(&up);
	if (r < 0) {
		conn_fail(c, "upstream", -r, true);
		/* out of descriptors: the next peers wait in the backlog
		 * until a connection closes, rather than fail the same way */
		if (r == -EMFILE || r == -ENFILE) {
			g.starved = true;
			pause_accepting();
		}
		return;
	}
	c->fd[1] = up;
	c->connecting = r == 1;
	r = conn_arm(c);
	if (r < 0)
		conn_fail(c, "loop", -r, true);
}

static void on_accept(ipk_loop *l, int fd, uint32_t events, void *arg)
{
	ipk_listener *lst = arg;

	(void)l;
	(void)fd;
	(void)events;
	for (int i = 0; i < ACCEPT_BURST && g.accepting; i++) {
		struct ipk_cred who;
		ipk_chan *ch;
		int r;

		if (g.nconns >= g.max_conns) {
			pause_accepting();
			return;
		}
		r = ipk_accept(lst, 0, &ch);
		if (r == -EAGAIN)
			return;
		if (r == -EACCES) {
			g.refused++;
			if (ipk_listener_refused(lst, &who))
				fprintf(stderr, "sidecar: refused uid %u gid %u pid %d\n",
					(unsigned)who.uid, (unsigned)who.gid, (int)who.pid);
			continue;
		}
		if (r == -EMFILE || r == -ENFILE || r == -ENOMEM || r == -ENOBUFS) {
			/* out of descriptors: let the backlog hold the peers
			 * until a connection closes (or the sweep retries) */
			if (!g.paused_told) /* once, not at every retry of the sweep */
				fprintf(stderr, "sidecar: accept: %s: pausing\n", strerror(-r));
			g.paused_told = true;
			pause_accepting();
			return;
		}
		if (r < 0) {
			fprintf(stderr, "sidecar: accept: %s\n", strerror(-r));
			return;
		}
		if (g.verbose) {
			if (lst == g.unix_l && ipk_peer_cred(ipk_chan_fd(ch), &who) == 0)
				fprintf(stderr, "sidecar: #%lu: uid %u gid %u pid %d\n",
					g.next_id + 1, (unsigned)who.uid, (unsigned)who.gid,
					(int)who.pid);
			else
				fprintf(stderr, "sidecar: #%lu: tcp peer\n", g.next_id + 1);
		}
		g.paused_told = false;
		conn_start(ch);
	}
}

static void pause_accepting(void)
{
	if (!g.accepting)
		return;
	g.accepting = false;
	(void)ipk_loop_del_fd(g.loop, ipk_listener_fd(g.unix_l));
	if (g.tcp_l)
		(void)ipk_loop_del_fd(g.loop, ipk_listener_fd(g.tcp_l));
}

static void resume_accepting(void)
{
	if (g.accepting || g.nconns >= g.max_conns)
		return;
	if (ipk_loop_add_fd(g.loop, ipk_listener_fd(g.unix_l), IPK_LOOP_IN, on_accept, g.unix_l) <
	    0)
		return; /* the sweep tries again */
	if (g.tcp_l && ipk_loop_add_fd(g.loop, ipk_listener_fd(g.tcp_l), IPK_LOOP_IN, on_accept,
				       g.tcp_l) < 0) {
		(void)ipk_loop_del_fd(g.loop, ipk_listener_fd(g.unix_l));
		return;
	}
	g.accepting = true;
}

/* Fail connects that take too long, close idle connections, and retry
 * accepting after running out of descriptors. */
static void on_sweep(ipk_loop *l, ipk_loop_timer *t, uint64_t expirations, void *arg)
{
	int64_t now = now_ns();
	struct conn *c, *next;

	(void)l;
	(void)t;
	(void)expirations;
	(void)arg;
	for (c = g.conns; c; c = next) {
		next = c->next;
		if (c->connecting && now - c->since_ns > g.connect_timeout_ns)
			conn_fail(c, "upstream connect", ETIMEDOUT, true);
		else if (!c->connecting && g.idle_timeout_ns &&
			 now - c->since_ns > g.idle_timeout_ns)
			conn_fail(c, "idle", ETIMEDOUT, false);
	}
	if (!g.starved) /* an accept that failed for want of descriptors: retry */
		resume_accepting();
}

static void on_stop(ipk_loop *l, const struct ipk_siginfo *si, void *arg)
{
	(void)si;
	(void)arg;
	ipk_loop_stop(l);
}

static int usage(void)
{
	fprintf(stderr,
		"usage: sidecar --listen PATH --upstream tcp:HOST:PORT|unix:PATH\n"
		"               [--allow-uid UID]... [--allow-gid GID]... [--mode 0OOO]\n"
		"               [--dir-mode 0OOO] [--tcp-listen PORT] [--buffer BYTES]\n"
		"               [--max-conns N] [--connect-timeout SEC] [--idle-timeout SEC]\n"
		"               [--verbose]\n");
	return 2;
}

static int bad(const char *opt, const char *val)
{
	fprintf(stderr, "sidecar: %s: bad value '%s'\n", opt, val);
	return 2;
}

static bool parse_num(const char *s, int base, unsigned long long max, unsigned long long *ret)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, base);
	if (errno || end == s || *end || v > max || s[0] == '-')
		return false;
	*ret = v;
	return true;
}

/* A uid or gid: a number, or a user or group name. */
static bool parse_id(const char *s, bool group, unsigned long long *ret)
{
	struct passwd *pw;
	struct group *gr;

	if (parse_num(s, 10, UINT32_MAX - 1, ret))
		return true;
	if (group) {
		gr = getgrnam(s);
		if (gr)
			*ret = gr->gr_gid;
		return gr != NULL;
	}
	pw = getpwnam(s);
	if (pw)
		*ret = pw->pw_uid;
	return pw != NULL;
}

/* tcp:HOST:PORT (HOST may be [v6]) or unix:PATH (unix:@NAME: abstract). */
static int parse_upstream(const char *url)
{
	struct upstream *u = &g.up;

	if (!strncmp(url, "unix:", 5)) {
		struct sockaddr_un *sa = (struct sockaddr_un *)&u->addr;
		const char *p = url + 5;
		size_t n = strlen(p);

		if (!n || n >= sizeof(sa->sun_path))
			return -EINVAL;
		sa->sun_family = AF_UNIX;
		memcpy(sa->sun_path, p, n);
		if (p[0] == '@')
			sa->sun_path[0] = '\0';
		u->len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + (p[0] != '@'));
		return 0;
	}
	if (!strncmp(url, "tcp:", 4)) {
		struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res;
		char host[256];
		const char *h = url + 4, *colon = strrchr(h, ':');
		size_t hl;
		int r;

		if (!colon || colon == h || !colon[1])
			return -EINVAL;
		hl = (size_t)(colon - h);
		if (h[0] == '[' && hl >= 2 && h[hl - 1] == ']') {
			h++;
			hl -= 2;
		}
		if (hl >= sizeof(host))
			return -EINVAL;
		memcpy(host, h, hl);
		host[hl] = '\0';
		r = getaddrinfo(host, colon + 1, &hints, &res);
		if (r) {
			fprintf(stderr, "sidecar: %s: %s\n", url, gai_strerror(r));
			return -EHOSTUNREACH;
		}
		memcpy(&u->addr, res->ai_addr, res->ai_addrlen);
		u->len = res->ai_addrlen;
		u->tcp = true;
		freeaddrinfo(res);
		return 0;
	}
	return -EINVAL;
}

static int fail(const char *what, int r)
{
	fprintf(stderr, "sidecar: %s: %s (%s)\n", what, strerror(-r), ipk_errname(r));
	return 1;
}

int main(int argc, char **argv)
{
	uid_t uids[MAX_IDS];
	gid_t gids[MAX_IDS];
	struct ipk_access acc = { .uids = uids, .gids = gids };
	const char *listen_path = NULL, *upstream = NULL, *tcp_port = NULL;
	unsigned long long mode = 0600, dir_mode = 0, v;
	char url[PATH_MAX + 64], tcp_url[128];
	ipk_loop_timer *sweep = NULL;
	int r, rc = 1;

	for (int i = 1; i < argc; i++) {
		const char *o = argv[i], *a = i + 1 < argc ? argv[i + 1] : NULL;

		if (!strcmp(o, "--verbose") || !strcmp(o, "-v")) {
			g.verbose = true;
			continue;
		}
		if (!strcmp(o, "--help") || !strcmp(o, "-h")) {
			usage();
			return 0;
		}
		if (!a || a[0] == '\0')
			return usage();
		i++;
		if (!strcmp(o, "--listen")) {
			listen_path = a;
		} else if (!strcmp(o, "--upstream")) {
			upstream = a;
		} else if (!strcmp(o, "--allow-uid")) {
			if (acc.n_uids == MAX_IDS || !parse_id(a, false, &v))
				return bad(o, a);
			uids[acc.n_uids++] = (uid_t)v;
		} else if (!strcmp(o, "--allow-gid")) {
			if (acc.n_gids == MAX_IDS || !parse_id(a, true, &v))
				return bad(o, a);
			gids[acc.n_gids++] = (gid_t)v;
		} else if (!strcmp(o, "--mode")) {
			if (!parse_num(a, 8, 0777, &mode) || a[0] != '0')
				return bad(o, a);
		} else if (!strcmp(o, "--dir-mode")) {
			if (!parse_num(a, 8, 07777, &dir_mode) || a[0] != '0' || !dir_mode)
				return bad(o, a);
		} else if (!strcmp(o, "--tcp-listen")) {
			if (!parse_num(a, 10, 65535, &v))
				return bad(o, a);
			tcp_port = a;
		} else if (!strcmp(o, "--buffer")) {
			if (!parse_num(a, 10, 64u << 20, &v) || v < 1)
				return bad(o, a);
			g.bufsize = (size_t)v;
		} else if (!strcmp(o, "--max-conns")) {
			if (!parse_num(a, 10, 1u << 20, &v) || v < 1)
				return bad(o, a);
			g.max_conns = (unsigned long)v;
		} else if (!strcmp(o, "--connect-timeout")) {
			if (!parse_num(a, 10, 86400, &v) || v < 1)
				return bad(o, a);
			g.connect_timeout_ns = (int64_t)v * IPK_SEC;
		} else if (!strcmp(o, "--idle-timeout")) {
			if (!parse_num(a, 10, 86400, &v))
				return bad(o, a);
			g.idle_timeout_ns = (int64_t)v * IPK_SEC;
		} else {
			fprintf(stderr, "sidecar: unknown option '%s'\n", o);
			return usage();
		}
	}
	if (!listen_path || !upstream)
		return usage();
	if (parse_upstream(upstream) < 0)
		return bad("--upstream", upstream);
	if (!acc.n_uids && !acc.n_gids)
		uids[acc.n_uids++] = geteuid();

	/* a peer that vanishes mid-write must cost only its connection */
	signal(SIGPIPE, SIG_IGN);

	if (dir_mode) {
		char dir[PATH_MAX];
		char *slash;

		snprintf(dir, sizeof(dir), "%s", listen_path);
		slash = strrchr(dir, '/');
		if (slash && slash != dir) {
			*slash = '\0';
			r = ipk_sock_dir(dir, (mode_t)dir_mode);
			if (r < 0)
				return fail(dir, r);
		}
	}
	r = ipk_loop_new(&g.loop);
	if (r < 0)
		return fail("loop", r);
	/* before the socket file exists: a stop now still removes it */
	if ((r = ipk_loop_add_signal(g.loop, SIGINT, on_stop, NULL)) < 0 ||
	    (r = ipk_loop_add_signal(g.loop, SIGTERM, on_stop, NULL)) < 0 ||
	    (r = ipk_loop_timer_every(g.loop, SWEEP_NS, on_sweep, NULL, &sweep)) < 0) {
		fail("loop", r);
		goto out;
	}
	snprintf(url, sizeof(url), "unix:%s?perm=0%llo&backlog=1024", listen_path, mode);
	r = ipk_listen(url, IPK_CHAN_NONBLOCK, &g.unix_l);
	if (r < 0) {
		fail(url, r);
		goto out;
	}
	r = ipk_listener_set_access(g.unix_l, &acc);
	if (r < 0) {
		fail("access policy", r);
		goto out;
	}
	if (tcp_port) {
		char want[64];

		snprintf(want, sizeof(want), "tcp:127.0.0.1:%s?backlog=1024", tcp_port);
		r = ipk_listen(want, IPK_CHAN_NONBLOCK, &g.tcp_l);
		if (r < 0) {
			fail(want, r);
			goto out;
		}
	}
	resume_accepting();
	if (!g.accepting) {
		fail("loop", -EMFILE);
		goto out;
	}

	printf("sidecar: listening on unix:%s", listen_path);
	if (g.tcp_l && ipk_listener_url(g.tcp_l, tcp_url, sizeof(tcp_url)) > 0)
		printf(" and %s", tcp_url);
	printf(", upstream %s\n", upstream);
	fflush(stdout);

	r = ipk_loop_run(g.loop);
	if (r < 0) {
		fail("loop", r);
		goto out;
	}
	printf("sidecar: stopped: %lu connections (%lu open, %lu ended by an error), "
	       "%lu refused, %llu bytes up, %llu bytes down\n",
	       g.next_id, g.nconns, g.failed, g.refused, (unsigned long long)g.bytes[0],
	       (unsigned long long)g.bytes[1]);
	rc = 0;
out:
	g.accepting = true; /* closing connections must not re-arm the listeners */
	while (g.conns)
		conn_free(g.conns);
	ipk_loop_timer_cancel(sweep);
	ipk_listener_close(g.unix_l); /* removes the socket file */
	ipk_listener_close(g.tcp_l);
	ipk_loop_free(g.loop);
	return rc;
}
