/* SPDX-License-Identifier: MIT */
/* FIFOs: the writer's open waits for the reader (start-up sync), every size
 * arrives in order, the creator removes the FIFO. */
#include <sys/stat.h>

#include "chanutil.h"

static char url[256];

static int reader(void *arg)
{
	static uint8_t in[1 << 17];
	ipk_chan *ch;

	(void)arg;
	T_OK(ipk_chan_open(url, IPK_CHAN_CREATE | IPK_CHAN_RDONLY, 0, &ch));
	for (unsigned seq = 0; seq < T_NSIZES; seq++) {
		ssize_t n = ipk_chan_recv(ch, in, sizeof(in), T_TIMEOUT);

		T_EQ(n, t_sizes[seq]);
		t_check(in, (size_t)n, seq);
	}
	T_EQ(ipk_chan_recv(ch, in, sizeof(in), T_TIMEOUT), -EPIPE);
	ipk_chan_close(ch);
	return 0;
}

int main(void)
{
	static uint8_t out[1 << 17];
	char path[128];
	struct stat st;
	ipk_chan *ch;
	pid_t pid;

	t_path(path, sizeof(path), "unit-fifo");
	snprintf(url, sizeof(url), "fifo:%s", path);

	/* no reader, no FIFO: the writer retries until its deadline */
	T_EQ(ipk_chan_open(url, IPK_CHAN_WRONLY, 0, &ch), -ENOENT);
	pid = t_fork(reader, NULL);
	T_OK(ipk_chan_open(url, IPK_CHAN_WRONLY, T_TIMEOUT, &ch));
	T_SYS(stat(path, &st));
	T_TRUE(S_ISFIFO(st.st_mode));
	T_EQ(st.st_mode & 0777, 0600);
	for (unsigned seq = 0; seq < T_NSIZES; seq++) {
		t_fill(out, t_sizes[seq], seq);
		T_OK(ipk_chan_send(ch, out, t_sizes[seq], T_TIMEOUT));
	}
	T_OK(ipk_chan_flush(ch, T_TIMEOUT));
	ipk_chan_close(ch);
	t_wait_exit(pid, 0);
	T_EQ(stat(path, &st), -1); /* the reader created it and removed it */
	T_EQ(errno, ENOENT);
	return 0;
}
