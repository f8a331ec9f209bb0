/* SPDX-License-Identifier: MIT */
/*
 * hot-upgrade - a small HTTP/1.1 keep-alive server that upgrades itself
 * without dropping a connection (ipk_handoff, handoff.h).
 *
 *   hot-upgrade [--listen HOST:PORT] [--pidfile FILE]
 *
 * On SIGHUP it starts a new copy of its own executable and hands over its
 * listening socket and its counters. Once the new process says it is
 * accepting, the old one stops accepting, answers the request each open
 * connection has in flight with "Connection: close" (so the client opens
 * its next connection to the new process), and exits when the last one
 * is closed. If the hand-off fails, the old process keeps serving.
 * SIGTERM or SIGINT stops it, printing what it served.
 *
 * Started by systemd-style socket activation (LISTEN_FDS), it serves on
 * the descriptor it was given; a new copy refuses to start (exit 1) when
 * the hand-off is garbage, rather than serve with a missing listener.
 * The default address is 127.0.0.1:8080.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>

#include <ipckit/handoff.h>

#define MAX_CONN 4096
#define INBUF 8192
#define OUTBUF 16384
#define DRAIN_NS (10 * IPK_SEC)
#define BODY "hello from hot-upgrade\n"

/* What one generation hands to the next. */
struct state {
	uint64_t served;     /* requests answered by all generations so far */
	uint64_t generation; /* 1 for the first process */
};

struct conn {
	int fd;
	bool closing; /* close once the output is written */
	size_t inlen, outlen, outoff;
	char in[INBUF];
	char out[OUTBUF];
};

static struct state st = { 0, 1 };
static struct conn *conns[MAX_CONN];
static unsigned nconns;
static int ep = -1, lfd = -1;
static bool draining;
static const char *pidfile;

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * IPK_SEC + ts.tv_nsec;
}

static int listen_tcp(const char *hostport)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	char host[64];
	const char *colon = strrchr(hostport, ':');
	int fd, one = 1;

	if (!colon || (size_t)(colon - hostport) >= sizeof(host))
		return -1;
	memcpy(host, hostport, (size_t)(colon - hostport));
	host[colon - hostport] = '\0';
	if (inet_pton(AF_INET, host, &sa.sin_addr) != 1)
		return -1;
	sa.sin_port = htons((uint16_t)atoi(colon + 1));
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -1;
	(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 1024) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static void write_pidfile(void)
{
	char tmp[4096];
	FILE *f;

	if (!pidfile)
		return;
	snprintf(tmp, sizeof(tmp), "%s.%d", pidfile, (int)getpid());
	f = fopen(tmp, "w");
	if (!f)
		return;
	fprintf(f, "%d\n", (int)getpid());
	if (fclose(f) == 0)
		(void)rename(tmp, pidfile); /* atomic: readers see old or new */
}

static void conn_close(struct conn *c)
{
	for (unsigned i = 0; i < nconns; i++)
		if (conns[i] == c) {
			conns[i] = conns[--nconns];
			break;
		}
	close(c->fd);
	free(c);
}

/* Write what is pending; false if the connection is gone. */
static bool conn_flush(struct conn *c)
{
	while (c->outoff < c->outlen) {
		ssize_t n = send(c->fd, c->out + c->outoff, c->outlen - c->outoff, MSG_NOSIGNAL);

		if (n > 0) {
			c->outoff += (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN) {
			struct epoll_event ev = { .events = EPOLLIN | EPOLLOUT, .data.ptr = c };

			(void)epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
			return true;
		}
		conn_close(c);
		return false;
	}
	c->outoff = c->outlen = 0;
	if (c->closing) {
		conn_close(c);
		return false;
	}
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = c };

	(void)epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
	return true;
}

/* Answer every whole request in c->in. */
static void conn_requests(struct conn *c)
{
	char *end;

	while (!c->closing && (end = memmem(c->in, c->inlen, "\r\n\r\n", 4))) {
		size_t hlen = (size_t)(end - c->in) + 4;
		bool close_req = memmem(c->in, hlen, "Connection: close", 17) != NULL;
		int n;

		c->closing = draining || close_req;
		n = snprintf(c->out + c->outlen, sizeof(c->out) - c->outlen,
			     "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
			     "Content-Length: %zu\r\n%s\r\n%s",
			     sizeof(BODY) - 1, c->closing ? "Connection: close\r\n" : "", BODY);
		if (n < 0 || (size_t)n >= sizeof(c->out) - c->outlen) {
			c->closing = true; /* client pipelines too much: stop */
			break;
		}
		c->outlen += (size_t)n;
		st.served++;
		memmove(c->in, c->in + hlen, c->inlen - hlen);
		c->inlen -= hlen;
	}
}

static void conn_readable(struct conn *c)
{
	for (;;) {
		ssize_t n = read(c->fd, c->in + c->inlen, sizeof(c->in) - c->inlen);

		if (n > 0) {
			c->inlen += (size_t)n;
			conn_requests(c);
			if (c->inlen == sizeof(c->in)) {
				conn_close(c); /* a header that never ends */
				return;
			}
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			break;
		conn_close(c); /* EOF or error */
		return;
	}
	(void)conn_flush(c);
}

static void accept_all(void)
{
	for (;;) {
		int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
		struct conn *c;

		if (fd < 0)
			return; /* EAGAIN, or another process took it */
		c = malloc(sizeof(*c));
		if (!c || nconns == MAX_CONN) {
			free(c);
			close(fd);
			continue;
		}
		c->fd = fd;
		c->closing = false;
		c->inlen = c->outlen = c->outoff = 0;
		struct epoll_event ev = { .events = EPOLLIN, .data.ptr = c };

		if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) < 0) {
			close(fd);
			free(c);
			continue;
		}
		conns[nconns++] = c;
	}
}

/* SIGHUP: start the next generation and hand it the listener. */
static void upgrade(char **argv)
{
	static const char *const names[] = { "http" };
	struct state next = st;
	char *nargv[64];
	pid_t pid;
	int r, i;

	if (draining)
		return;
	nargv[0] = "/proc/self/exe";
	for (i = 1; i < 63 && argv[i]; i++)
		nargv[i] = argv[i];
	nargv[i] = NULL;
	next.generation = st.generation + 1;
	r = ipk_handoff_offer(nargv, &lfd, names, 1, &next, sizeof(next), 10 * IPK_SEC, &pid);
	if (r < 0) {
		fprintf(stderr, "hot-upgrade[%d]: upgrade failed, still serving: %s\n",
			(int)getpid(), strerror(-r));
		return;
	}
	/* The new process accepts now: stop accepting, finish what is open. */
	(void)epoll_ctl(ep, EPOLL_CTL_DEL, lfd, NULL);
	close(lfd);
	lfd = -1;
	draining = true;
	/* Idle connections get "Connection: close" on their next answer. */
}

int main(int argc, char **argv)
{
	const char *listen_at = "127.0.0.1:8080";
	struct epoll_event ev, evs[64];
	ipk_handoff *h = NULL;
	int64_t drain_until = 0;
	sigset_t mask;
	int sfd, r;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--listen") && i + 1 < argc)
			listen_at = argv[++i];
		else if (!strcmp(argv[i], "--pidfile") && i + 1 < argc)
			pidfile = argv[++i];
		else {
			fprintf(stderr,
				"usage: hot-upgrade [--listen HOST:PORT] [--pidfile FILE]\n");
			return 2;
		}
	}

	r = ipk_handoff_take(NULL, 10 * IPK_SEC, &h);
	if (r == -ENOENT) {
		lfd = listen_tcp(listen_at);
		if (lfd < 0) {
			fprintf(stderr, "hot-upgrade: cannot listen on %s: %s\n", listen_at,
				strerror(errno));
			return 1;
		}
	} else if (r < 0) {
		/* never serve with half the listeners */
		fprintf(stderr, "hot-upgrade[%d]: hand-off refused: %s\n", (int)getpid(),
			strerror(-r));
		return 1;
	} else {
		size_t len;
		const struct state *s = ipk_handoff_state(h, &len);
		int i = ipk_handoff_find(h, "http");

		if (i < 0 || (s && len != sizeof(*s))) {
			fprintf(stderr, "hot-upgrade[%d]: hand-off without 'http' listener\n",
				(int)getpid());
			ipk_handoff_free(h);
			return 1;
		}
		if (s)
			st = *s;
		lfd = ipk_handoff_fd(h, (unsigned)i, NULL);
		(void)fcntl(lfd, F_SETFL, fcntl(lfd, F_GETFL) | O_NONBLOCK);
	}

	sigemptyset(&mask);
	sigaddset(&mask, SIGHUP);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	ep = epoll_create1(EPOLL_CLOEXEC);
	if (sfd < 0 || ep < 0) {
		perror("hot-upgrade: signalfd/epoll");
		return 1;
	}
	ev.events = EPOLLIN;
	ev.data.ptr = &lfd;
	(void)epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev);
	ev.data.ptr = &sfd;
	(void)epoll_ctl(ep, EPOLL_CTL_ADD, sfd, &ev);

	/* Accepting now: let the old generation go. */
	if (h) {
		(void)ipk_handoff_ready(h, IPK_SEC);
		ipk_handoff_free(h);
	}
	write_pidfile();

	for (;;) {
		int timeout = draining ? 100 : -1;
		int n = epoll_wait(ep, evs, 64, timeout);

		if (draining && (nconns == 0 || now_ns() > drain_until))
			break;
		for (int i = 0; i < n; i++) {
			if (evs[i].data.ptr == &lfd) {
				if (lfd >= 0)
					accept_all();
			} else if (evs[i].data.ptr == &sfd) {
				struct signalfd_siginfo si;

				while (read(sfd, &si, sizeof(si)) == sizeof(si)) {
					if (si.ssi_signo == SIGHUP) {
						upgrade(argv);
						if (draining)
							drain_until = now_ns() + DRAIN_NS;
					} else {
						fprintf(stderr,
							"hot-upgrade[%d]: generation %" PRIu64
							", %" PRIu64 " requests served\n",
							(int)getpid(), st.generation, st.served);
						return 0;
					}
				}
				/* conns[] may have changed: stop this batch */
				break;
			} else {
				struct conn *c = evs[i].data.ptr;

				if (evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR))
					conn_readable(c);
				else
					(void)conn_flush(c);
				/* a closed conn may appear later in evs: its
				 * pointer is freed, so end this batch */
				break;
			}
		}
	}
	for (unsigned i = nconns; i > 0; i--)
		conn_close(conns[i - 1]);
	return 0;
}
