/* SPDX-License-Identifier: MIT */
/* TCP on loopback: a listener on port 0 tells its real URL; a forked
 * client echoes every size; the socket has TCP_NODELAY. */
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include "chanutil.h"

static int echo_client(void *arg)
{
	ipk_chan *ch;

	T_OK(ipk_chan_open(arg, 0, T_TIMEOUT, &ch));
	t_echo(ch, t_ping_count(false));
	ipk_chan_close(ch);
	return 0;
}

static void serve(const char *listen_url)
{
	char url[256];
	ipk_listener *l;
	ipk_chan *ch;
	int one = 0;
	socklen_t len = sizeof(one);
	pid_t pid;

	T_OK(ipk_listen(listen_url, 0, &l));
	T_OK(ipk_listener_url(l, url, sizeof(url)));
	T_TRUE(strncmp(url, "tcp:", 4) == 0 && strcmp(strrchr(url, ':'), ":0") != 0);
	pid = t_fork(echo_client, url);
	T_OK(ipk_accept(l, T_TIMEOUT, &ch));
	T_SYS(getsockopt(ipk_chan_fd(ch), IPPROTO_TCP, TCP_NODELAY, &one, &len));
	T_EQ(one, 1);
	T_EQ(t_ping(ch, false), t_ping_count(false));
	ipk_chan_close(ch);
	ipk_listener_close(l);
	t_wait_exit(pid, 0);
}

int main(void)
{
	serve("tcp:127.0.0.1:0");
	if (socket(AF_INET6, SOCK_STREAM, 0) < 0)
		T_SKIP("no IPv6 here: the v4 half passed");
	serve("tcp:[::1]:0");
	return 0;
}
