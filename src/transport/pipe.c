/* SPDX-License-Identifier: MIT */
/*
 * transport/pipe.c - anonymous pipes: one pair of channels from pipe2(),
 * framed like every byte stream. Only ipk_chan_pipe() makes them.
 */
#include <fcntl.h>
#include <unistd.h>

#include "internal.h"
#include "stream.h"

static int pipe_open(struct ipk_chan *ch, const struct ipk_url *url, int64_t deadline_ns)
{
	(void)ch;
	(void)url;
	(void)deadline_ns;
	return -EINVAL; /* nothing to open by name */
}

int ipk__pipe_pair(struct ipk_chan *rd, struct ipk_chan *wr, const struct ipk_url *url)
{
	struct ipk__stream *rs, *ws;
	int fds[2], r;

	if (pipe2(fds, O_CLOEXEC | O_NONBLOCK) < 0)
		return ipk__neg_errno();
	if (url->set[IPK__OPT_PIPESIZE] &&
	    fcntl(fds[1], F_SETPIPE_SZ, (int)url->num[IPK__OPT_PIPESIZE]) < 0) {
		r = ipk__neg_errno(); /* EPERM: over /proc/sys/fs/pipe-max-size */
		ipk__close(fds[0]);
		ipk__close(fds[1]);
		return r;
	}
	r = ipk__stream_new(fds[0], -1, false, rd->max_msg, ipk__stream_framing(url), &rs);
	if (r < 0) {
		ipk__close(fds[1]);
		return r;
	}
	r = ipk__stream_new(-1, fds[1], false, wr->max_msg, ipk__stream_framing(url), &ws);
	if (r < 0) {
		ipk__stream_free(rs);
		return r;
	}
	rd->tp = wr->tp = &ipk__transport_pipe;
	rd->t = rs;
	rd->fd = fds[0];
	wr->t = ws;
	wr->fd = fds[1];
	return 0;
}

const struct ipk_transport ipk__transport_pipe = {
	.scheme = "pipe",
	.open = pipe_open,
	IPK__STREAM_OPS,
	.listen = ipk__no_listen,
	.accept = ipk__no_accept,
};

/* The URL: scheme, address, options (url_parse.h). */
const struct ipk__scheme ipk__scheme_pipe = {
	.name = "pipe",
	.addr = IPK__ADDR_NONE,
	.opts = IPK__OPT(IPK__OPT_MSGSIZE) | IPK__OPT(IPK__OPT_PIPESIZE) |
		IPK__OPT(IPK__OPT_FRAMING),
	.obj = IPK__OBJ_NONE,
	.tp = &ipk__transport_pipe,
};
