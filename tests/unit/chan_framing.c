/* SPDX-License-Identifier: MIT */
/* framing=len|line|none on the byte streams (pipe:, fifo:, unix:, tcp:):
 * the bytes on the wire, checked from raw descriptors that stand for a
 * program that does not speak ipckit; lines over the maximum; a half line
 * at the peer's close; len stays the default. */
#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include "chanutil.h"

static char dir[64];

/* A foreign peer's end: raw descriptors for reading and writing. */
struct raw {
	int rfd, wfd;
};

static void raw_close(struct raw *r)
{
	if (r->rfd >= 0)
		close(r->rfd);
	if (r->wfd >= 0 && r->wfd != r->rfd)
		close(r->wfd);
	r->rfd = r->wfd = -1;
}

static void raw_write(const struct raw *r, const char *s, size_t n)
{
	T_EQ(write(r->wfd, s, n), n);
}

#define RAW_PUT(r, lit) raw_write((r), (lit), sizeof(lit) - 1)

/* Exactly @n bytes from the raw end, within the test's deadline. */
static void raw_expect(const struct raw *r, const void *want, size_t n)
{
	char got[256];
	size_t have = 0;

	T_TRUE(n <= sizeof(got));
	while (have < n) {
		struct pollfd p = { .fd = r->rfd, .events = POLLIN };
		ssize_t k;

		T_EQ(poll(&p, 1, 10000), 1);
		k = read(r->rfd, got + have, n - have);
		T_TRUE(k > 0);
		have += (size_t)k;
	}
	T_MEMEQ(got, want, n);
	/* and nothing more */
	T_EQ(recv(r->rfd, got, 1, MSG_DONTWAIT), -1);
}

/* The next message is the string @want. */
static void expect_msg(ipk_chan *ch, const char *want)
{
	char buf[256];
	ssize_t n = ipk_chan_recv(ch, buf, sizeof(buf), T_TIMEOUT);

	T_EQ(n, strlen(want));
	T_MEMEQ(buf, want, (size_t)n);
}

/* A listener on @url, a raw client connected to it, the accepted channel. */
static ipk_chan *accept_raw(const char *url, struct raw *r)
{
	char lurl[256];
	ipk_listener *l;
	ipk_chan *ch;
	int fd;

	T_OK(ipk_listen(url, 0, &l));
	T_OK(ipk_listener_url(l, lurl, sizeof(lurl)));
	if (!strncmp(lurl, "unix:", 5)) {
		struct sockaddr_un sa = { .sun_family = AF_UNIX };

		snprintf(sa.sun_path, sizeof(sa.sun_path), "%.*s", (int)strcspn(lurl + 5, "?"),
			 lurl + 5);
		fd = (int)T_SYS(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
		T_SYS(connect(fd, (struct sockaddr *)&sa, sizeof(sa)));
	} else {
		struct sockaddr_in sa = { .sin_family = AF_INET };
		unsigned port;

		T_EQ(sscanf(lurl, "tcp:127.0.0.1:%u", &port), 1);
		sa.sin_port = htons((uint16_t)port);
		sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		fd = (int)T_SYS(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
		T_SYS(connect(fd, (struct sockaddr *)&sa, sizeof(sa)));
	}
	T_OK(ipk_accept(l, T_TIMEOUT, &ch));
	ipk_listener_close(l);
	r->rfd = r->wfd = fd;
	return ch;
}

/* A FIFO read by the channel, written raw: only raw -> channel. */
static ipk_chan *fifo_raw(const char *opts, struct raw *r)
{
	char path[128], url[256];
	ipk_chan *ch;

	snprintf(path, sizeof(path), "%s/fifo", dir);
	snprintf(url, sizeof(url), "fifo:%s%s", path, opts);
	T_OK(ipk_chan_open(url, IPK_CHAN_CREATE | IPK_CHAN_RDONLY, 0, &ch));
	r->rfd = -1;
	r->wfd = (int)T_SYS(open(path, O_WRONLY | O_CLOEXEC));
	return ch;
}

/* Lines in pieces that do not follow line ends, an empty line, and a last
 * line without its newline at the peer's close: delivered, then -EPIPE. */
static void line_recv(ipk_chan *ch, struct raw *r)
{
	char buf[16];

	RAW_PUT(r, "on");
	T_EQ(ipk_chan_recv(ch, buf, sizeof(buf), 0), -EAGAIN); /* half a line: not yet */
	RAW_PUT(r, "e\ntw");
	expect_msg(ch, "one");
	RAW_PUT(r, "o\n\nthr\r");
	expect_msg(ch, "two");
	expect_msg(ch, "");
	RAW_PUT(r, "ee");
	raw_close(r);
	/* too small a buffer for the last line: nothing consumed */
	T_EQ(ipk_chan_recv(ch, buf, 3, T_TIMEOUT), -EMSGSIZE);
	T_EQ(ipk_chan_next_len(ch), 6);
	expect_msg(ch, "thr\ree"); /* '\r' is the message's: only '\n' ends it */
	T_EQ(ipk_chan_recv(ch, buf, sizeof(buf), T_TIMEOUT), -EPIPE);
	T_EQ(ipk_chan_recv(ch, buf, sizeof(buf), T_TIMEOUT), -EPIPE);
	ipk_chan_close(ch);
}

/* msgsize=8: a line of 8 passes; a longer one is -EMSGSIZE as soon as 9
 * bytes without a newline are in, and the rest of it, through its newline,
 * is dropped; the lines after it arrive. */
static void line_long(ipk_chan *ch, struct raw *r)
{
	char buf[64];

	T_EQ(ipk_chan_max_msg(ch), 8);
	RAW_PUT(r, "12345678\n");
	T_EQ(ipk_chan_recv(ch, buf, 4, T_TIMEOUT), -EMSGSIZE); /* small buffer */
	T_EQ(ipk_chan_next_len(ch), 8);
	expect_msg(ch, "12345678");

	/* over by one, newline in the same read */
	RAW_PUT(r, "123456789\nok\n");
	T_EQ(ipk_chan_recv(ch, buf, sizeof(buf), T_TIMEOUT), -EMSGSIZE);
	T_TRUE(ipk_chan_next_len(ch) > ipk_chan_max_msg(ch));
	expect_msg(ch, "ok");

	/* no newline yet: the error comes now, not when the line ends */
	RAW_PUT(r, "xxxxxxxxxx");
	T_EQ(ipk_chan_recv(ch, buf, sizeof(buf), T_TIMEOUT), -EMSGSIZE);
	T_TRUE(ipk_chan_next_len(ch) > ipk_chan_max_msg(ch));
	T_EQ(ipk_chan_recv(ch, buf, sizeof(buf), 0), -EAGAIN);
	RAW_PUT(r, "yyyyyyyyyyyyyyyyyyyy");
	T_EQ(ipk_chan_recv(ch, buf, sizeof(buf), 0), -EAGAIN); /* still that line */
	RAW_PUT(r, "zz\nnext\nlast");
	expect_msg(ch, "next");

	/* in a batch, a line over the maximum ends the batch and is
	 * reported by the next call, not lost among the lines received */
	{
		char b0[16], b1[16], b2[16];
		struct ipk_msg m[3] = { { b0, sizeof(b0) },
					{ b1, sizeof(b1) },
					{ b2, sizeof(b2) } };

		RAW_PUT(r, "\nb1\n0123456789\nb3\n");
		T_EQ(ipk_chan_recv_batch(ch, m, 3, T_TIMEOUT), 2);
		T_MEMEQ(b0, "last", 4); /* "last" ended by the '\n' just sent */
		T_EQ(m[0].len, 4);
		T_EQ(m[1].len, 2);
		T_MEMEQ(b1, "b1", 2);
		T_EQ(ipk_chan_recv_batch(ch, m, 3, T_TIMEOUT), -EMSGSIZE);
		T_EQ(ipk_chan_next_len(ch), 10);
		T_EQ(ipk_chan_recv_batch(ch, m, 3, T_TIMEOUT), 1);
		T_MEMEQ(b0, "b3", 2);
		T_EQ(m[0].len, 2);
	}
	RAW_PUT(r, "last");
	raw_close(r);
	expect_msg(ch, "last");
	T_EQ(ipk_chan_recv(ch, buf, sizeof(buf), T_TIMEOUT), -EPIPE);
	ipk_chan_close(ch);
}

/* Sending lines: each message and one '\n'; a message holding a newline
 * is refused before anything moves. */
static void line_send(ipk_chan *ch, struct raw *r)
{
	static char big[1 << 17];
	struct iovec iov[2] = { { "ab", 2 }, { "cd", 2 } };

	T_OK(ipk_chan_send(ch, "hello", 5, T_TIMEOUT));
	raw_expect(r, "hello\n", 6);
	T_EQ(ipk_chan_send(ch, "a\nb", 3, T_TIMEOUT), -EINVAL);
	T_OK(ipk_chan_sendv(ch, iov, 2, T_TIMEOUT));
	T_OK(ipk_chan_send(ch, "", 0, T_TIMEOUT));
	raw_expect(r, "abcd\n\n", 6);
	T_EQ(ipk_chan_send(ch, big, ipk_chan_max_msg(ch) + 1, T_TIMEOUT), -EMSGSIZE);
}

/* framing=none: the bytes as they are, both ways; each read a message. */
static void none_both(ipk_chan *ch, struct raw *r)
{
	char buf[64];
	ssize_t n;

	T_OK(ipk_chan_send(ch, "raw\nbytes", 9, T_TIMEOUT));
	T_OK(ipk_chan_send(ch, "", 0, T_TIMEOUT)); /* nothing to send */
	raw_expect(r, "raw\nbytes", 9);

	RAW_PUT(r, "0123456789");
	T_EQ(ipk_chan_recv(ch, buf, 4, T_TIMEOUT), 4); /* a smaller buffer: a smaller read */
	T_MEMEQ(buf, "0123", 4);
	T_EQ(ipk_chan_recv(ch, buf, 0, T_TIMEOUT), -EMSGSIZE);
	n = ipk_chan_recv(ch, buf, sizeof(buf), T_TIMEOUT);
	T_EQ(n, 6);
	T_MEMEQ(buf, "456789", 6);
	raw_close(r);
	T_EQ(ipk_chan_recv(ch, buf, sizeof(buf), T_TIMEOUT), -EPIPE);
	ipk_chan_close(ch);
}

/* framing=none never hands out more than msgsize= in one message. */
static void none_max(ipk_chan *ch, struct raw *r)
{
	char buf[64];

	RAW_PUT(r, "0123456789");
	T_EQ(ipk_chan_recv(ch, buf, sizeof(buf), T_TIMEOUT), 8);
	T_MEMEQ(buf, "01234567", 8);
	T_EQ(ipk_chan_recv(ch, buf, sizeof(buf), T_TIMEOUT), 2);
	raw_close(r);
	ipk_chan_close(ch);
}

/* The default and framing=len: a 4-byte little-endian length, then the
 * payload; a frame cut by the peer's close stays -EPROTO. */
static void len_default(ipk_chan *ch, struct raw *r)
{
	char buf[64];

	T_OK(ipk_chan_send(ch, "hey", 3, T_TIMEOUT));
	raw_expect(r, "\3\0\0\0hey", 7);
	RAW_PUT(r, "\2\0\0\0ok\5\0\0\0ab");
	expect_msg(ch, "ok");
	raw_close(r);
	T_EQ(ipk_chan_recv(ch, buf, sizeof(buf), T_TIMEOUT), -EPROTO);
	T_EQ(ipk_chan_recv(ch, buf, sizeof(buf), T_TIMEOUT), -EPIPE);
	ipk_chan_close(ch);
}

static void urls(void)
{
	static const char *const good[] = {
		"pipe:?framing=line",           "fifo:/f?framing=none",
		"unix:/s?framing=len",          "unix:@a?msgsize=80&framing=line",
		"tcp:127.0.0.1:1?framing=none",
	};
	static const char *const bad[] = {
		"unix+dgram:/s?framing=line",
		"unix+seqpacket:/s?framing=len",
		"mq:/q?framing=line",
		"shm:/r?framing=none",
		"unix:/s?framing=crlf",
		"unix:/s?framing=",
		"tcp:h:1?framing=line&framing=line",
	};
	const char *why;
	size_t where;

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		T_EQ(ipk_url_check(good[i], NULL, NULL), 0);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		T_EQ(ipk_url_check(bad[i], NULL, NULL), -EINVAL);
	T_EQ(ipk_url_check("mq:/q?framing=line", &where, &why), -EINVAL);
	T_EQ(where, 6);
	T_TRUE(strstr(why, "byte streams"));
	T_EQ(ipk_url_check("unix:/s?framing=lines", &where, &why), -EINVAL);
	T_EQ(where, 16);
	T_TRUE(strstr(why, "'line'"));
}

/* The listener's URL carries framing= to its peers. */
static void listener_url(void)
{
	char url[128], got[256], want[256];
	ipk_listener *l;

	snprintf(url, sizeof(url), "unix:%s/l?framing=line&msgsize=100", dir);
	T_OK(ipk_listen(url, 0, &l));
	T_OK(ipk_listener_url(l, got, sizeof(got)));
	snprintf(want, sizeof(want), "unix:%s/l?msgsize=100&framing=line", dir);
	T_EQ(strcmp(got, want), 0);
	ipk_listener_close(l);

	T_OK(ipk_listen("tcp:127.0.0.1:0?framing=none", 0, &l));
	T_OK(ipk_listener_url(l, got, sizeof(got)));
	T_TRUE(strstr(got, "?framing=none") != NULL);
	ipk_listener_close(l);

	snprintf(url, sizeof(url), "unix:%s/l", dir);
	T_OK(ipk_listen(url, 0, &l));
	T_OK(ipk_listener_url(l, got, sizeof(got)));
	T_EQ(strcmp(got, url), 0); /* len, the default, needs no option */
	ipk_listener_close(l);
}

/* A connecting channel frames as its URL says (unix_open, tcp_open). */
static void connector(const char *opts)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct raw r;
	char url[256];
	ipk_chan *ch;
	int lfd;

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/c", dir);
	lfd = (int)T_SYS(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
	T_SYS(bind(lfd, (struct sockaddr *)&sa, sizeof(sa)));
	T_SYS(listen(lfd, 1));
	snprintf(url, sizeof(url), "unix:%s%s", sa.sun_path, opts);
	T_OK(ipk_chan_open(url, 0, T_TIMEOUT, &ch));
	r.rfd = r.wfd = (int)T_SYS(accept4(lfd, NULL, NULL, SOCK_CLOEXEC));
	close(lfd);
	unlink(sa.sun_path);
	line_send(ch, &r);
	line_recv(ch, &r);
}

/* Library to library over a pipe: every size the line rules allow. */
static void pipe_lines(void)
{
	static uint8_t out[1 << 17], in[1 << 17];
	ipk_chan *rd, *wr;
	char wire[8];

	/* room in the pipe for the largest line: no reader runs meanwhile */
	T_OK(ipk_chan_pipe("pipe:?framing=line&pipesize=262144", 0, &rd, &wr));
	for (size_t k = 0; k < T_NSIZES; k++) {
		size_t len = t_sizes[k];

		memset(out, 'a' + (int)k, len);
		T_OK(ipk_chan_send(wr, out, len, T_TIMEOUT));
		T_EQ(ipk_chan_recv(rd, in, sizeof(in), T_TIMEOUT), len);
		T_MEMEQ(in, out, len);
	}
	/* the wire, as a reader of the pipe sees it */
	T_OK(ipk_chan_send(wr, "pipe", 4, T_TIMEOUT));
	T_EQ(read(ipk_chan_fd(rd), wire, sizeof(wire)), 5);
	T_MEMEQ(wire, "pipe\n", 5);
	ipk_chan_close(wr);
	T_EQ(ipk_chan_recv(rd, in, sizeof(in), T_TIMEOUT), -EPIPE);
	ipk_chan_close(rd);
}

int main(void)
{
	char url[256];
	struct raw r;

	snprintf(dir, sizeof(dir), "/tmp/ipk-framing-%d", (int)getpid());
	T_SYS(mkdir(dir, 0700));

	urls();
	listener_url();

	/* line: every transport, raw peer -> channel */
	snprintf(url, sizeof(url), "unix:%s/s?framing=line&msgsize=16", dir);
	line_recv(accept_raw(url, &r), &r);
	line_recv(accept_raw("tcp:127.0.0.1:0?framing=line&msgsize=16", &r), &r);
	line_recv(fifo_raw("?framing=line&msgsize=16", &r), &r);

	snprintf(url, sizeof(url), "unix:%s/s?framing=line&msgsize=8", dir);
	line_long(accept_raw(url, &r), &r);
	line_long(accept_raw("tcp:127.0.0.1:0?msgsize=8&framing=line", &r), &r);
	line_long(fifo_raw("?framing=line&msgsize=8", &r), &r);

	/* channel -> raw peer, and a connecting end */
	snprintf(url, sizeof(url), "unix:%s/s?framing=line&msgsize=8", dir);
	{
		ipk_chan *ch = accept_raw(url, &r);

		line_send(ch, &r);
		raw_close(&r);
		ipk_chan_close(ch);
	}
	connector("?framing=line&msgsize=16");
	pipe_lines();

	/* none */
	snprintf(url, sizeof(url), "unix:%s/s?framing=none", dir);
	none_both(accept_raw(url, &r), &r);
	none_both(accept_raw("tcp:127.0.0.1:0?framing=none", &r), &r);
	none_max(fifo_raw("?framing=none&msgsize=8", &r), &r);

	/* len, unchanged: by default and by name */
	snprintf(url, sizeof(url), "unix:%s/s", dir);
	len_default(accept_raw(url, &r), &r);
	snprintf(url, sizeof(url), "unix:%s/s?framing=len", dir);
	len_default(accept_raw(url, &r), &r);
	len_default(accept_raw("tcp:127.0.0.1:0", &r), &r);

	T_SYS(rmdir(dir)); /* each end removed what it made */
	return 0;
}
