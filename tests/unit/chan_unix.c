/* SPDX-License-Identifier: MIT */
/* Unix sockets of every type, by path and abstract name: a forked peer
 * echoes every size, batches travel in order, files are cleaned up. */
#include <fcntl.h>
#include <sys/stat.h>

#include "chanutil.h"

struct peer {
	char url[256];
	bool no_empty;
};

static int echo_client(void *arg)
{
	struct peer *p = arg;
	ipk_chan *ch;

	T_OK(ipk_chan_open(p->url, 0, T_TIMEOUT, &ch));
	t_echo(ch, t_ping_count(p->no_empty));
	ipk_chan_close(ch);
	return 0;
}

/* The server side pings, the forked client echoes. */
static void roundtrip(const char *url, bool no_empty)
{
	struct peer p = { .no_empty = no_empty };
	ipk_chan *ch;
	pid_t pid;
	int fl;

	snprintf(p.url, sizeof(p.url), "%s", url);
	pid = t_fork(echo_client, &p);
	T_OK(ipk_chan_open(url, IPK_CHAN_CREATE, T_TIMEOUT, &ch));
	fl = fcntl(ipk_chan_fd(ch), F_GETFD);
	T_TRUE(fl & FD_CLOEXEC);
	T_EQ(ipk_chan_max_msg(ch), IPK_CHAN_MSGSIZE_DEFAULT);
	T_EQ(t_ping(ch, no_empty), t_ping_count(no_empty));
	ipk_chan_close(ch);
	t_wait_exit(pid, 0);
}

/* Datagrams: the client pings (it has the server's address), the server
 * echoes to whoever spoke last. */
static int dgram_server(void *arg)
{
	ipk_chan *ch;

	T_OK(ipk_chan_open(arg, IPK_CHAN_CREATE, 0, &ch));
	T_EQ(ipk_chan_send(ch, "x", 1, 0), -EDESTADDRREQ);
	t_echo(ch, t_ping_count(false));
	ipk_chan_close(ch);
	return 0;
}

static void dgram_roundtrip(const char *url)
{
	ipk_chan *cli;
	pid_t pid;

	pid = t_fork(dgram_server, (void *)url);
	T_OK(ipk_chan_open(url, 0, T_TIMEOUT, &cli));
	T_EQ(t_ping(cli, false), t_ping_count(false));
	ipk_chan_close(cli);
	t_wait_exit(pid, 0);
}

static int batch_client(void *arg)
{
	const char *url = arg;
	struct ipk_msg m[40];
	static uint8_t bufs[40][200];
	ipk_chan *ch;

	T_OK(ipk_chan_open(url, 0, T_TIMEOUT, &ch));
	for (unsigned i = 0; i < 40; i++) {
		t_fill(bufs[i], 1 + i * 5, i);
		m[i] = (struct ipk_msg){ bufs[i], 1 + i * 5 };
	}
	T_EQ(ipk_chan_send_batch(ch, m, 40, T_TIMEOUT), 40);
	T_OK(ipk_chan_flush(ch, T_TIMEOUT));
	/* wait for the server to finish before closing */
	T_EQ(ipk_chan_recv(ch, bufs[0], sizeof(bufs[0]), T_TIMEOUT), 2);
	ipk_chan_close(ch);
	return 0;
}

static void batch(const char *base)
{
	char url[256];
	static uint8_t bufs[16][1 << 16];
	struct ipk_msg m[16];
	unsigned got = 0;
	ipk_chan *ch;
	pid_t pid;

	snprintf(url, sizeof(url), "%s?msgsize=65536", base);
	pid = t_fork(batch_client, url);
	T_OK(ipk_chan_open(url, IPK_CHAN_CREATE, T_TIMEOUT, &ch));
	while (got < 40) {
		int n;

		for (unsigned i = 0; i < 16; i++)
			m[i] = (struct ipk_msg){ bufs[i], sizeof(bufs[i]) };
		n = (int)T_OK(ipk_chan_recv_batch(ch, m, 16, T_TIMEOUT));
		T_TRUE(n >= 1 && n <= 16);
		for (int i = 0; i < n; i++, got++) {
			T_EQ(m[i].len, 1 + got * 5);
			t_check(bufs[i], m[i].len, got);
		}
	}
	T_EQ(got, 40);
	T_OK(ipk_chan_send(ch, "ok", 2, T_TIMEOUT));
	T_OK(ipk_chan_flush(ch, T_TIMEOUT));
	ipk_chan_close(ch);
	t_wait_exit(pid, 0);
}

int main(void)
{
	char path[128], url[256];
	struct stat st;

	t_path(path, sizeof(path), "unit-unix");
	snprintf(url, sizeof(url), "unix:%s", path);
	roundtrip(url, false);
	T_EQ(stat(path, &st), -1); /* the creator removed its socket file */
	T_EQ(errno, ENOENT);
	snprintf(url, sizeof(url), "unix:@ipk-unit-%d", (int)getpid());
	roundtrip(url, false);
	snprintf(url, sizeof(url), "unix+seqpacket:%s", path);
	roundtrip(url, true);
	snprintf(url, sizeof(url), "unix+dgram:%s", path);
	dgram_roundtrip(url);
	T_EQ(stat(path, &st), -1);
	snprintf(url, sizeof(url), "unix+dgram:@ipk-unit-d-%d", (int)getpid());
	dgram_roundtrip(url);

	snprintf(url, sizeof(url), "unix+seqpacket:%s", path);
	batch(url);
	snprintf(url, sizeof(url), "unix:%s", path);
	batch(url);
	snprintf(url, sizeof(url), "unix+dgram:%s", path);
	batch(url);
	return 0;
}
