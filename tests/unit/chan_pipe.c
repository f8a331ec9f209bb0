/* SPDX-License-Identifier: MIT */
/* Anonymous pipes: a forked reader gets every size in order; the pipe size
 * option takes effect; each end refuses the other direction. */
#include <fcntl.h>

#include "chanutil.h"

static ipk_chan *rd, *wr;

static int reader(void *arg)
{
	static uint8_t in[1 << 17];

	(void)arg;
	ipk_chan_close(wr);
	for (unsigned seq = 0; seq < T_NSIZES; seq++) {
		ssize_t n = ipk_chan_recv(rd, in, sizeof(in), T_TIMEOUT);

		T_EQ(n, t_sizes[seq]);
		t_check(in, (size_t)n, seq);
	}
	T_EQ(ipk_chan_recv(rd, in, sizeof(in), T_TIMEOUT), -EPIPE); /* writer closed */
	ipk_chan_close(rd);
	return 0;
}

int main(void)
{
	static uint8_t out[1 << 17];
	pid_t pid;

	T_OK(ipk_chan_pipe("pipe:?pipesize=1048576", 0, &rd, &wr));
	T_EQ(fcntl(ipk_chan_fd(wr), F_GETPIPE_SZ), 1048576);
	T_TRUE(fcntl(ipk_chan_fd(rd), F_GETFD) & FD_CLOEXEC);
	T_EQ(ipk_chan_send(rd, "x", 1, 0), -EBADF);
	T_EQ(ipk_chan_recv(wr, out, sizeof(out), 0), -EBADF);
	T_EQ(ipk_chan_recv(rd, out, sizeof(out), 0), -EAGAIN);

	/* a pipe's messages carry no tag: only 0 passes */
	{
		long tag = 99;

		T_EQ(ipk_chan_send_tag(wr, "t", 1, 5, 0), -EINVAL);
		T_EQ(ipk_chan_send_tag(wr, "t", 1, 0, 0), 0);
		T_EQ(ipk_chan_recv_tag(rd, out, sizeof(out), 1, &tag, 0), -EINVAL);
		T_EQ(ipk_chan_recv_tag(rd, out, sizeof(out), 0, &tag, 0), 1);
		T_EQ(tag, 0);
	}

	pid = t_fork(reader, NULL);
	ipk_chan_close(rd);
	for (unsigned seq = 0; seq < T_NSIZES; seq++) {
		t_fill(out, t_sizes[seq], seq);
		T_OK(ipk_chan_send(wr, out, t_sizes[seq], T_TIMEOUT));
	}
	T_EQ(ipk_chan_send(wr, out, IPK_CHAN_MSGSIZE_DEFAULT + 1, 0), -EMSGSIZE);
	T_OK(ipk_chan_flush(wr, T_TIMEOUT));
	ipk_chan_close(wr);
	t_wait_exit(pid, 0);

	T_EQ(ipk_chan_pipe("fifo:/x", 0, &rd, &wr), -EINVAL);
	T_EQ(ipk_chan_pipe("pipe:?msgsize=x", 0, &rd, &wr), -EINVAL);
	T_EQ(ipk_chan_open("pipe:", 0, 0, &rd), -EINVAL);
	return 0;
}
