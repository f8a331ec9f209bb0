/* SPDX-License-Identifier: MIT */
/*
 * tests/nats/errors.c - bad input and failures of nats:// channels, each
 * against a real process: a closed port (-ECONNREFUSED at once), a server
 * that never answers (-ETIMEDOUT within the timeout, no hang), invalid
 * subjects (-EINVAL; `ipckit send` names the URL), a server that wants a
 * token (-EACCES; the CLI says how to log in; IPK_NATS_TOKEN gets in), a
 * server that went away (sends fill the bounded reconnect buffer, then
 * fail: never silently dropped), and `ipckit bridge` with an invalid SRC
 * or DST (exit 2 before connecting anything).
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "nats_harness.h"

/* A loopback listener that accepts TCP but never speaks. */
static int mute_listener(int *port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(a);
	int fd = (int)T_SYS(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));

	T_SYS(bind(fd, (struct sockaddr *)&a, sizeof(a)));
	T_SYS(listen(fd, 16));
	T_SYS(getsockname(fd, (struct sockaddr *)&a, &len));
	*port = ntohs(a.sin_port);
	return fd;
}

static void check_cli(const char *exe, const char *const *argv, int want, const char *needle)
{
	char err[200], text[2048];
	pid_t pid;
	int st;

	snprintf(err, sizeof(err), "/tmp/ipk-nats-err-%d.txt", (int)getpid());
	pid = tn_spawn(argv, "/dev/null", err);
	st = tn_wait(pid);
	tn_slurp(err, text, sizeof(text));
	unlink(err);
	if (st != want || (needle && !strstr(text, needle)))
		T_FAIL("%s %s %s: exit %d, want %d, stderr \"%s\" (want \"%s\")", exe, argv[1],
		       argv[2], st, want, text, needle ? needle : "");
}

int main(void)
{
	static const char *const bad_subjects[] = { "a..b", ".a",  "a.",  "a.*",
						    "a.>",  ">.a", "a*b", "a.b>" };
	struct tn_srv s = { 0 }, tok = { 0 };
	const char *exe = getenv("IPCKIT");
	char url[256], url2[256], buf[65536];
	ipk_chan *ch, *rd;
	int port, lfd, cfd, r;
	unsigned sent = 0;
	double t0;

	tn_need_server();
	if (!exe)
		T_SKIP("IPCKIT (the CLI's path) is not set; run through meson test");

	/* Nothing listens: refused at once, whatever the timeout. */
	port = tn_free_port();
	tn_url(url, sizeof(url), port, "ipk.x", NULL);
	t0 = tn_now();
	T_EQ(ipk_chan_open(url, 0, 5 * IPK_SEC, &ch), -ECONNREFUSED);
	T_TRUE(tn_now() - t0 < 3);

	/* A listener that never speaks: -ETIMEDOUT within the timeout. */
	lfd = mute_listener(&port);
	tn_url(url, sizeof(url), port, "ipk.x", NULL);
	t0 = tn_now();
	r = ipk_chan_open(url, 0, 300 * IPK_MSEC, &ch);
	T_EQ(r, -ETIMEDOUT);
	T_TRUE(tn_now() - t0 < 2);
	cfd = accept(lfd, NULL, NULL);
	T_TRUE(cfd >= 0); /* it did try this server */
	close(cfd);
	close(lfd);

	tn_start(&s, NULL);

	/* Invalid subjects: -EINVAL, for every kind of end; a wildcard only
	 * where nothing is published. */
	for (size_t i = 0; i < sizeof(bad_subjects) / sizeof(bad_subjects[0]); i++) {
		tn_url(url, sizeof(url), s.port, bad_subjects[i], NULL);
		r = ipk_chan_open(url, 0, IPK_SEC, &ch);
		if (r != -EINVAL)
			T_FAIL("open %s: got %d (%s), want -EINVAL", url, r, ipk_errname(r));
	}
	tn_url(url, sizeof(url), s.port, "a.*.c", NULL);
	T_OK(ipk_chan_open(url, IPK_CHAN_RDONLY, IPK_SEC, &ch));
	ipk_chan_close(ch);
	T_EQ(ipk_chan_open(url, IPK_CHAN_WRONLY, IPK_SEC, &ch), -EINVAL);
	tn_url(url, sizeof(url), s.port, "a.b", "?stream=bad.name");
	T_EQ(ipk_chan_open(url, 0, IPK_SEC, &ch), -EINVAL);
	tn_url(url, sizeof(url), s.port, "a..b", NULL);
	check_cli(exe, (const char *const[]){ exe, "send", url, "hello", NULL }, 1, "a..b");

	/* A message over max_payload is refused before sending (basic.c has
	 * the small server); here the default 1 MiB. */
	tn_url(url, sizeof(url), s.port, "ipk.big", NULL);
	T_OK(ipk_chan_open(url, 0, IPK_SEC, &ch));
	T_EQ(ipk_chan_max_msg(ch), 1024 * 1024);
	{
		char *big = calloc(1, 1024 * 1024 + 1);

		T_TRUE(big != NULL);
		T_EQ(ipk_chan_send(ch, big, 1024 * 1024 + 1, IPK_SEC), -EMSGSIZE);
		free(big);
	}
	ipk_chan_close(ch);

	/* Authentication: a token is wanted. */
	tn_start(&tok, (const char *const[]){ "--auth", "s3cret-token", NULL });
	tn_url(url, sizeof(url), tok.port, "ipk.auth", NULL);
	unsetenv("IPK_NATS_TOKEN");
	T_EQ(ipk_chan_open(url, 0, 2 * IPK_SEC, &ch), -EACCES);
	check_cli(exe, (const char *const[]){ exe, "send", url, "hello", NULL }, 1,
		  "Permission denied");
	setenv("IPK_NATS_TOKEN", "wrong", 1);
	T_EQ(ipk_chan_open(url, 0, 2 * IPK_SEC, &ch), -EACCES);
	setenv("IPK_NATS_TOKEN", "s3cret-token", 1);
	T_OK(ipk_chan_open(url, 0, 2 * IPK_SEC, &ch));
	T_OK(ipk_chan_open(url, 0, 2 * IPK_SEC, &rd));
	T_OK(ipk_chan_send(ch, "in", 2, IPK_SEC));
	T_EQ(ipk_chan_recv(rd, buf, sizeof(buf), 5 * IPK_SEC), 2);
	ipk_chan_close(rd);
	ipk_chan_close(ch);
	unsetenv("IPK_NATS_TOKEN");
	tn_stop(&tok);

	/* The server goes away: sends go to the reconnect buffer (8 MiB),
	 * then fail with the deadline; none is reported sent and dropped. */
	tn_url(url, sizeof(url), s.port, "ipk.gone", NULL);
	T_OK(ipk_chan_open(url, IPK_CHAN_WRONLY, IPK_SEC, &ch));
	tn_kill(&s, SIGKILL);
	usleep(200000);
	memset(buf, 'g', sizeof(buf));
	for (;;) {
		r = ipk_chan_send(ch, buf, sizeof(buf), 100 * IPK_MSEC);
		if (r < 0)
			break;
		sent++;
		T_TRUE(sent <= 200);
	}
	T_EQ(r, -ETIMEDOUT);
	T_TRUE(sent >= 100 && sent * sizeof(buf) <= (8u << 20));
	T_EQ(ipk_chan_flush(ch, 100 * IPK_MSEC), -ETIMEDOUT);
	t0 = tn_now();
	ipk_chan_close(ch);
	T_TRUE(tn_now() - t0 < 1); /* close does not wait for a server */
	tn_stop(&s);

	/* bridge: an invalid SRC or DST is exit 2 before anything is opened;
	 * the listener behind the valid URL sees no connection. */
	lfd = mute_listener(&port);
	tn_url(url, sizeof(url), port, "ipk.bridge", NULL);
	check_cli(exe, (const char *const[]){ exe, "bridge", "bogus:/x", url, NULL }, 2, "bogus");
	check_cli(exe, (const char *const[]){ exe, "bridge", url, "shm:", NULL }, 2, "shm:");
	tn_url(url2, sizeof(url2), port, "", NULL);
	check_cli(exe, (const char *const[]){ exe, "bridge", url, url2, NULL }, 2, NULL);
	check_cli(exe, (const char *const[]){ exe, "bridge", url, NULL }, 2, "SRC and DST");
	errno = 0;
	T_EQ(accept(lfd, NULL, NULL), -1);
	T_EQ(errno, EAGAIN);
	close(lfd);
	/* invalid subject in an otherwise well-formed URL: also exit 2 */
	tn_url(url2, sizeof(url2), tn_free_port(), "a..b", NULL);
	check_cli(exe, (const char *const[]){ exe, "bridge", "shm:/ipk-none", url2, NULL }, 2,
		  "a..b");
	check_cli(exe, (const char *const[]){ exe, "bridge", url2, "shm:/ipk-none", NULL }, 2,
		  "invalid NATS subject");
	return 0;
}
