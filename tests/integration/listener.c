/* SPDX-License-Identifier: MIT */
/*
 * listener.c - ipk_listen() serving many peers: tcp:127.0.0.1:0 gets a real
 * port that ipk_listener_url() reports; three client processes each get
 * their own messages echoed (tcp, unix, unix+seqpacket, abstract); the
 * listener fd polls readable when a peer waits; ipk_accept() with nobody
 * there is -EAGAIN (timeout 0) or -ETIMEDOUT; IPK_CHAN_NONBLOCK is passed
 * on to accepted channels; transports that do not listen are -EOPNOTSUPP;
 * a short URL buffer is -ENOSPC with nothing written; tcp channels have
 * TCP_NODELAY.
 */
#include <netinet/in.h>
#include <netinet/tcp.h>

#include "it.h"

#define CLIENTS 3
#define ROUNDS 5

static char curl[512];

static int client(void *arg)
{
	int id = (int)(intptr_t)arg;
	ipk_chan *ch = NULL;
	char msg[64], buf[64];

	T_EQ(ipk_chan_open(curl, 0, 5 * IPK_SEC, &ch), 0);
	for (int j = 0; j < ROUNDS; j++) {
		int n = snprintf(msg, sizeof(msg), "client %d pid %d round %d", id, (int)getpid(),
				 j);

		T_EQ(ipk_chan_send(ch, msg, (size_t)n, 5 * IPK_SEC), 0);
		T_EQ(ipk_chan_recv(ch, buf, sizeof(buf), 10 * IPK_SEC), n);
		T_MEMEQ(buf, msg, (size_t)n);
	}
	ipk_chan_close(ch);
	return 0;
}

static void nodelay(ipk_chan *ch)
{
	int v = 0;
	socklen_t len = sizeof(v);

	T_SYS(getsockopt(ipk_chan_fd(ch), IPPROTO_TCP, TCP_NODELAY, &v, &len));
	T_TRUE(v != 0);
}

static void echo_server(const char *lurl, int tcp)
{
	ipk_listener *l = NULL;
	ipk_chan *ch[CLIENTS] = { 0 };
	pid_t pid[CLIENTS];
	struct pollfd pfd;
	char buf[64];
	int n, alive;

	T_EQ(ipk_listen(lurl, 0, &l), 0);
	n = ipk_listener_url(l, curl, sizeof(curl));
	T_EQ(n, (int)strlen(curl));
	T_EQ(ipk_url_check(curl, NULL, NULL), 0);
	if (tcp) {
		const char *port;

		T_TRUE(strncmp(curl, "tcp:127.0.0.1:", 14) == 0);
		port = curl + 14;
		if (atoi(port) <= 0 || atoi(port) > 65535)
			T_FAIL("listener URL %s: no real port", curl);
	}

	/* Nobody yet. */
	pfd = (struct pollfd){ .fd = ipk_listener_fd(l), .events = POLLIN };
	T_EQ(poll(&pfd, 1, 0), 0);
	T_EQ(ipk_accept(l, 0, &ch[0]), -EAGAIN);
	T_TRUE(ch[0] == NULL);

	for (int i = 0; i < CLIENTS; i++)
		pid[i] = t_fork(client, (void *)(intptr_t)i);
	it_wait_readable(ipk_listener_fd(l), 5000);
	for (int i = 0; i < CLIENTS; i++) {
		T_EQ(ipk_accept(l, 5 * IPK_SEC, &ch[i]), 0);
		if (tcp)
			nodelay(ch[i]);
	}

	/* Echo whatever each sends, until all have gone. */
	alive = CLIENTS;
	while (alive > 0) {
		struct pollfd pf[CLIENTS];

		for (int i = 0; i < CLIENTS; i++)
			pf[i] = (struct pollfd){ .fd = ch[i] ? ipk_chan_fd(ch[i]) : -1,
						 .events = POLLIN };
		if (poll(pf, CLIENTS, 10000) <= 0)
			T_FAIL("echo server: no client spoke for 10 s");
		for (int i = 0; i < CLIENTS; i++) {
			ssize_t r;

			if (!ch[i] || !pf[i].revents)
				continue;
			/* The channel may have read ahead: take all there is. */
			while ((r = ipk_chan_recv(ch[i], buf, sizeof(buf), 0)) >= 0)
				T_EQ(ipk_chan_send(ch[i], buf, (size_t)r, 5 * IPK_SEC), 0);
			if (r == -EAGAIN)
				continue;
			T_EQ(r, -EPIPE);
			ipk_chan_close(ch[i]);
			ch[i] = NULL;
			alive--;
		}
	}
	for (int i = 0; i < CLIENTS; i++)
		t_wait_exit(pid[i], 0);

	/* Nobody any more. */
	{
		ipk_chan *none = NULL;
		int64_t t0 = it_now_ns();
		int64_t ms;

		T_EQ(ipk_accept(l, 0, &none), -EAGAIN);
		T_EQ(ipk_accept(l, 100 * IPK_MSEC, &none), -ETIMEDOUT);
		ms = it_ms_since(t0);
		if (ms < 95 || ms >= 2000)
			T_FAIL("accept with a 100 ms timeout took %lld ms", (long long)ms);
		T_TRUE(none == NULL);
	}
	ipk_listener_close(l);
}

static int silent_client(void *arg)
{
	ipk_chan *ch = NULL;
	int sync = ((int *)arg)[0];

	close(((int *)arg)[1]);
	T_EQ(ipk_chan_open(curl, 0, 5 * IPK_SEC, &ch), 0);
	it_sync_wait(sync);
	ipk_chan_close(ch);
	return 0;
}

/* Accepted channels inherit IPK_CHAN_NONBLOCK from the listener. */
static void nonblock_inherited(const char *lurl)
{
	ipk_listener *l = NULL;
	ipk_chan *ch = NULL;
	int sync[2];
	int64_t t0;
	char buf[16];
	pid_t pid;

	T_EQ(ipk_listen(lurl, IPK_CHAN_NONBLOCK, &l), 0);
	T_TRUE(ipk_listener_url(l, curl, sizeof(curl)) > 0);
	T_SYS(pipe2(sync, O_CLOEXEC));
	pid = t_fork(silent_client, sync);
	close(sync[0]);
	T_EQ(ipk_accept(l, 5 * IPK_SEC, &ch), 0);
	t0 = it_now_ns();
	T_EQ(ipk_chan_recv(ch, buf, sizeof(buf), 2 * IPK_SEC), -EAGAIN);
	T_TRUE(it_ms_since(t0) < 1000);
	it_sync_post(sync[1]);
	close(sync[1]);
	t_wait_exit(pid, 0);
	ipk_chan_close(ch);
	ipk_listener_close(l);
}

int main(void)
{
	char path[128], url[512], abs[128], small[8];
	ipk_listener *l = NULL;
	int n;

	t_path(path, sizeof(path), "listener");
	(void)unlink(path);
	snprintf(abs, sizeof(abs), "@ipk-listener-%d", (int)getpid());

	echo_server("tcp:127.0.0.1:0", 1);
	it_url(url, sizeof(url), "unix", path, NULL);
	echo_server(url, 0);
	T_EQ(access(path, F_OK), -1);
	it_url(url, sizeof(url), "unix+seqpacket", path, NULL);
	echo_server(url, 0);
	it_url(url, sizeof(url), "unix", abs, NULL);
	echo_server(url, 0);

	nonblock_inherited("tcp:127.0.0.1:0");
	it_url(url, sizeof(url), "unix", path, NULL);
	nonblock_inherited(url);

	/* Transports that do not listen. */
	it_url(url, sizeof(url), "unix+dgram", path, NULL);
	T_EQ(ipk_listen(url, 0, &l), -EOPNOTSUPP);
	T_EQ(access(path, F_OK), -1);
	it_url(url, sizeof(url), "fifo", path, NULL);
	T_EQ(ipk_listen(url, 0, &l), -EOPNOTSUPP);
	T_EQ(access(path, F_OK), -1);
	T_TRUE(l == NULL);

	/* The URL buffer: too small is -ENOSPC and untouched; the NUL counts. */
	it_url(url, sizeof(url), "unix", path, NULL);
	T_EQ(ipk_listen(url, 0, &l), 0);
	memset(small, 'Z', sizeof(small));
	T_EQ(ipk_listener_url(l, small, 3), -ENOSPC);
	for (size_t i = 0; i < sizeof(small); i++)
		T_EQ(small[i], 'Z');
	n = ipk_listener_url(l, curl, sizeof(curl));
	T_TRUE(n > 0);
	T_TRUE(strstr(curl, path) != NULL);
	{
		char exact[512];

		T_EQ(ipk_listener_url(l, exact, (size_t)n), -ENOSPC);
		T_EQ(ipk_listener_url(l, exact, (size_t)n + 1), n);
		T_TRUE(strcmp(exact, curl) == 0);
	}
	ipk_listener_close(l);
	T_EQ(access(path, F_OK), -1);
	return 0;
}
