/* SPDX-License-Identifier: MIT */
/*
 * tests/integration/it.h - helpers shared by the integration tests: clocks,
 * connected channel pairs of every transport, message patterns, raw peers.
 *
 * Assertions stay in tests/harness.h; this file only builds fixtures.
 */
#ifndef IPCKIT_TESTS_IT_H
#define IPCKIT_TESTS_IT_H

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <time.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include "../harness.h"

/* Transports that carry messages both ways between two processes. */
#define IT_KINDS_ALL "pipe", "fifo", "unix", "unix+dgram", "unix+seqpacket", "tcp"

static inline int64_t it_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * IPK_SEC + ts.tv_nsec;
}

static inline int64_t it_ms_since(int64_t t0)
{
	return (it_now_ns() - t0) / IPK_MSEC;
}

/* A pause in a bounded retry loop; never used to wait for an event that
 * has a descriptor. */
static inline void it_nap_ms(int ms)
{
	(void)poll(NULL, 0, ms);
}

/* Deterministic content for message @seq: byte i is a function of both. */
static inline uint8_t it_byte(uint32_t seq, size_t i)
{
	return (uint8_t)(seq * 131u + i * 7u + (i >> 8));
}

/* Fill @buf (@len >= 4) with seq in the first 4 bytes, pattern after. */
static inline void it_fill(void *buf, size_t len, uint32_t seq)
{
	uint8_t *p = buf;

	for (size_t i = 0; i < len; i++)
		p[i] = it_byte(seq, i);
	if (len >= 4)
		memcpy(p, &seq, 4);
}

/* Nonzero if @buf is exactly what it_fill(buf, len, seq) wrote. */
static inline int it_check(const void *buf, size_t len, uint32_t seq)
{
	const uint8_t *p = buf;
	uint32_t got;

	if (len >= 4) {
		memcpy(&got, p, 4);
		if (got != seq)
			return 0;
	}
	for (size_t i = 4; i < len; i++)
		if (p[i] != it_byte(seq, i))
			return 0;
	return 1;
}

static inline uint32_t it_seq_of(const void *buf)
{
	uint32_t seq;

	memcpy(&seq, buf, 4);
	return seq;
}

/*
 * A connected pair: @tx sends to @rx. Stream and seqpacket sockets and tcp
 * also carry replies from @rx to @tx; unix+dgram: @tx is the client, @rx
 * the server (it replies to the last sender). Named objects are created
 * with IPK_CHAN_KEEP so that either process may close its copies; the
 * test removes @path in it_pair_close().
 */
struct it_pair {
	ipk_chan *tx;
	ipk_chan *rx;
	char path[128];
	char url[512];
};

/* "unix" -> "unix:/tmp/ipk-<tag>-<pid>?opts" (opts may be NULL or ""). */
static inline void it_url(char *buf, size_t len, const char *scheme, const char *path,
			  const char *opts)
{
	snprintf(buf, len, "%s:%s%s%s", scheme, path, opts && *opts ? "?" : "",
		 opts && *opts ? opts : "");
}

static inline void it_pair_open(struct it_pair *p, const char *kind, const char *tag,
				const char *opts)
{
	char url[512];
	const char *q = opts && *opts ? "?" : "";
	const char *o = opts && *opts ? opts : "";

	memset(p, 0, sizeof(*p));
	if (strcmp(kind, "pipe") == 0) {
		snprintf(url, sizeof(url), "pipe:%s%s", q, o);
		snprintf(p->url, sizeof(p->url), "%s", url);
		T_EQ(ipk_chan_pipe(url, 0, &p->rx, &p->tx), 0);
		return;
	}
	t_path(p->path, sizeof(p->path), tag);
	(void)unlink(p->path);
	if (strcmp(kind, "fifo") == 0) {
		it_url(p->url, sizeof(p->url), "fifo", p->path, opts);
		T_EQ(ipk_chan_open(p->url, IPK_CHAN_CREATE | IPK_CHAN_KEEP | IPK_CHAN_RDONLY, 0,
				   &p->rx),
		     0);
		T_EQ(ipk_chan_open(p->url, IPK_CHAN_WRONLY, 2 * IPK_SEC, &p->tx), 0);
		return;
	}
	if (strcmp(kind, "unix+dgram") == 0) {
		it_url(p->url, sizeof(p->url), kind, p->path, opts);
		T_EQ(ipk_chan_open(p->url, IPK_CHAN_CREATE | IPK_CHAN_KEEP, 0, &p->rx), 0);
		T_EQ(ipk_chan_open(p->url, 0, 2 * IPK_SEC, &p->tx), 0);
		return;
	}

	/* Listening transports: listen, connect, accept, stop listening. */
	ipk_listener *l = NULL;

	if (strcmp(kind, "tcp") == 0) {
		char lurl[256];
		int n;

		p->path[0] = '\0';
		it_url(url, sizeof(url), "tcp", "127.0.0.1:0", opts);
		T_EQ(ipk_listen(url, 0, &l), 0);
		n = ipk_listener_url(l, lurl, sizeof(lurl));
		T_TRUE(n > 0);
		lurl[strcspn(lurl, "?")] = '\0';
		snprintf(p->url, sizeof(p->url), "%s%s%s", lurl, q, o);
	} else {
		it_url(p->url, sizeof(p->url), kind, p->path, opts);
		T_EQ(ipk_listen(p->url, 0, &l), 0);
	}
	T_EQ(ipk_chan_open(p->url, 0, 2 * IPK_SEC, &p->tx), 0);
	T_EQ(ipk_accept(l, 2 * IPK_SEC, &p->rx), 0);
	ipk_listener_close(l);
}

static inline void it_pair_close(struct it_pair *p)
{
	ipk_chan_close(p->tx);
	ipk_chan_close(p->rx);
	p->tx = p->rx = NULL;
	if (p->path[0])
		(void)unlink(p->path);
}

/* Wait for @pid; return its exit code, or 128 + signal if it was killed. */
static inline int it_wait_status(pid_t pid)
{
	int st;

	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			T_FAIL("waitpid: %s", strerror(errno));
	if (WIFEXITED(st))
		return WEXITSTATUS(st);
	return 128 + (WIFSIGNALED(st) ? WTERMSIG(st) : 0);
}

/* Bounded wait until @path exists (a peer process creates it). */
static inline void it_wait_path(const char *path)
{
	struct stat st;

	for (int i = 0; i < 500; i++) {
		if (lstat(path, &st) == 0)
			return;
		it_nap_ms(10);
	}
	T_FAIL("%s never appeared", path);
}

static inline void it_sun(struct sockaddr_un *sa, socklen_t *salen, const char *path)
{
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	if (path[0] == '@') {
		memcpy(sa->sun_path + 1, path + 1, strlen(path + 1));
		*salen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(path));
	} else {
		memcpy(sa->sun_path, path, strlen(path) + 1);
		*salen = sizeof(*sa);
	}
}

/* A raw client: connect(2) to @path, retrying (bounded) until a server is
 * listening there. Returns the socket. */
static inline int it_raw_connect(const char *path, int type)
{
	struct sockaddr_un sa;
	socklen_t salen;

	it_sun(&sa, &salen, path);
	for (int i = 0; i < 500; i++) {
		int fd = (int)T_SYS(socket(AF_UNIX, type | SOCK_CLOEXEC, 0));

		if (connect(fd, (struct sockaddr *)&sa, salen) == 0)
			return fd;
		if (errno != ENOENT && errno != ECONNREFUSED && errno != EAGAIN)
			T_FAIL("connect %s: %s", path, strerror(errno));
		close(fd);
		it_nap_ms(10);
	}
	T_FAIL("no server ever listened on %s", path);
}

/* Write all of @buf to a raw descriptor (blocking). */
static inline void it_write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			T_FAIL("write: %s", n < 0 ? strerror(errno) : "0 bytes");
		p += n;
		len -= (size_t)n;
	}
}

/* A frame header as the channel API defines it: 4-byte little-endian. */
static inline void it_le32(uint8_t hdr[4], uint32_t v)
{
	hdr[0] = (uint8_t)v;
	hdr[1] = (uint8_t)(v >> 8);
	hdr[2] = (uint8_t)(v >> 16);
	hdr[3] = (uint8_t)(v >> 24);
}

/* Block until @fd is readable or hung up; fail after @ms. */
static inline void it_wait_readable(int fd, int ms)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	int r;

	do
		r = poll(&pfd, 1, ms);
	while (r < 0 && errno == EINTR);
	if (r <= 0)
		T_FAIL("fd %d not readable after %d ms", fd, ms);
}

/* Read one byte from a sync pipe (EOF counts as the signal too). */
static inline void it_sync_wait(int fd)
{
	char c;
	ssize_t n;

	do
		n = read(fd, &c, 1);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		T_FAIL("sync read: %s", strerror(errno));
}

static inline void it_sync_post(int fd)
{
	it_write_all(fd, "!", 1);
}

#endif /* IPCKIT_TESTS_IT_H */
