/* SPDX-License-Identifier: MIT */
/*
 * transport/tcp.c - TCP with TCP_NODELAY, framed like every byte stream:
 * for comparison on loopback, or across hosts. Name resolution
 * (getaddrinfo) is not bounded by the timeout: use numeric addresses where
 * that matters.
 */
#include <netdb.h>
#include <stdio.h>
#include <string.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <sys/socket.h>

#include "internal.h"
#include "sock.h"
#include "stream.h"

#define BACKLOG_DEFAULT 128

/* getaddrinfo's errors are not errnos; say what they mean in one. */
static int resolve(const struct ipk_url *url, bool passive, struct sockaddr_storage *ss,
		   socklen_t *len)
{
	struct addrinfo hints = {
		.ai_family = AF_UNSPEC,
		.ai_socktype = SOCK_STREAM,
		.ai_flags = AI_NUMERICSERV | (passive ? AI_PASSIVE : 0),
	};
	struct addrinfo *ai;
	char port[8];
	int r;

	(void)snprintf(port, sizeof(port), "%u", url->port);
	r = getaddrinfo(url->host, port, &hints, &ai);
	if (r == EAI_SYSTEM)
		return ipk__neg_errno();
	if (r == EAI_MEMORY)
		return -ENOMEM;
	if (r == EAI_AGAIN)
		return -EAGAIN;
	if (r != 0)
		return -EHOSTUNREACH; /* no such host */
	memcpy(ss, ai->ai_addr, ai->ai_addrlen);
	*len = ai->ai_addrlen;
	freeaddrinfo(ai);
	return 0;
}

static int adopt(struct ipk_chan *ch, int fd, int framing)
{
	int one = 1;

	/* a message is one write: never hold it back for coalescing */
	if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) < 0) {
		int r = ipk__neg_errno();

		ipk__close(fd);
		return r;
	}
	ch->fd = fd;
	return ipk__stream_new(fd, fd, true, ch->max_msg, framing, (struct ipk__stream **)&ch->t);
}

static int tcp_listen(struct ipk_listener *l, const struct ipk_url *url)
{
	int backlog = (int)ipk__url_num(url, IPK__OPT_BACKLOG, BACKLOG_DEFAULT), one = 1;
	struct sockaddr_storage ss;
	char host[INET6_ADDRSTRLEN];
	socklen_t len;
	int r, n;

	r = resolve(url, true, &ss, &len);
	if (r < 0)
		return r;
	l->fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (l->fd < 0)
		return ipk__neg_errno();
	/* a restarted server may bind while old connections sit in TIME_WAIT */
	if (setsockopt(l->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(l->fd, (struct sockaddr *)&ss, len) < 0 || listen(l->fd, backlog) < 0 ||
	    getsockname(l->fd, (struct sockaddr *)&ss, &len) < 0)
		return ipk__neg_errno();

	/* tell peers the port the kernel picked for tcp:HOST:0 */
	if (ss.ss_family == AF_INET6) {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;

		(void)inet_ntop(AF_INET6, &a->sin6_addr, host, sizeof(host));
		n = snprintf(l->url, sizeof(l->url), "tcp:[%s]:%u", host, ntohs(a->sin6_port));
	} else {
		struct sockaddr_in *a = (struct sockaddr_in *)&ss;

		(void)inet_ntop(AF_INET, &a->sin_addr, host, sizeof(host));
		n = snprintf(l->url, sizeof(l->url), "tcp:%s:%u", host, ntohs(a->sin_port));
	}
	ipk__listener_url_opts(l, n, url);
	ipk__stream_listener_url(l, url);
	return 0;
}

static int tcp_accept(struct ipk_listener *l, struct ipk_chan *ch, int64_t deadline_ns)
{
	int fd, r;

	r = ipk__sock_accept(l->fd, deadline_ns, &fd);
	return r < 0 ? r : adopt(ch, fd, ipk__stream_listener_framing(l));
}

static int tcp_open(struct ipk_chan *ch, const struct ipk_url *url, int64_t deadline_ns)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int fd, r;

	if (ch->flags & (IPK_CHAN_RDONLY | IPK_CHAN_WRONLY))
		return -EINVAL; /* sockets carry both ways */
	if (ch->flags & IPK_CHAN_CREATE)
		return ipk__sock_accept_one(ch, url, deadline_ns);
	r = resolve(url, false, &ss, &len);
	if (r < 0)
		return r;
	r = ipk__sock_connect(ss.ss_family, SOCK_STREAM, (struct sockaddr *)&ss, len, false,
			      deadline_ns, &fd);
	return r < 0 ? r : adopt(ch, fd, ipk__stream_framing(url));
}

const struct ipk_transport ipk__transport_tcp = {
	.scheme = "tcp",
	.open = tcp_open,
	IPK__STREAM_OPS,
	.listen = tcp_listen,
	.accept = tcp_accept,
};

/* The URL: scheme, address, options (url_parse.h). */
const struct ipk__scheme ipk__scheme_tcp = {
	.name = "tcp",
	.addr = IPK__ADDR_HOSTPORT,
	.opts = IPK__OPT(IPK__OPT_MSGSIZE) | IPK__OPT(IPK__OPT_BACKLOG) |
		IPK__OPT(IPK__OPT_FRAMING),
	.obj = IPK__OBJ_NONE,
	.tp = &ipk__transport_tcp,
};
