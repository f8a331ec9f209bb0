/* SPDX-License-Identifier: MIT */
/*
 * sidecar - an application talks to a local proxy over a Unix socket in a
 * shared directory; the proxy checks who the peer is and forwards to a TCP
 * upstream on loopback (the Envoy-style sidecar of a container pod).
 *
 *   sidecar upstream PORT [--count N]
 *       a TCP service on 127.0.0.1:PORT that answers "upstream: MSG"
 *   sidecar proxy DIR PORT [--dir-mode 0OOO] [--mode 0OOO]
 *                 [--allow-uid UID]... [--count N]
 *       listens on DIR/proxy.sock and forwards each message to PORT
 *   sidecar app DIR MESSAGE
 *       sends MESSAGE through the proxy and prints the answer
 *
 * Two locks guard the proxy, and both do real work:
 *  - the file system: DIR is made with --dir-mode (default 0700) and the
 *    socket file with --mode (default 0600), whatever the umask; a user
 *    who may not search DIR or write the socket gets EACCES from connect
 *    and never reaches the proxy;
 *  - credentials: the proxy accepts only the uids given with --allow-uid
 *    (default: its own). A refused peer is disconnected before anything
 *    it sent is read, and the proxy logs "refused uid U pid P".
 * --count N makes a server exit after N connections (accepted or refused).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ipckit/chan.h>
#include <ipckit/unix.h>

#define MAX_UIDS 16
#define TIMEOUT (10 * IPK_SEC)

static int usage(void)
{
	fprintf(stderr, "usage: sidecar upstream PORT [--count N]\n"
			"       sidecar proxy DIR PORT [--dir-mode 0OOO] [--mode 0OOO]"
			" [--allow-uid UID]... [--count N]\n"
			"       sidecar app DIR MESSAGE\n");
	return 2;
}

static int fail(const char *what, int r)
{
	fprintf(stderr, "sidecar: %s: %s (%s)\n", what, strerror(-r), ipk_errname(r));
	return 1;
}

static int upstream(int argc, char **argv)
{
	char url[64], buf[4096], out[4200];
	long count = -1;
	ipk_listener *l;
	int r;

	if (argc < 3)
		return usage();
	if (argc == 5 && !strcmp(argv[3], "--count"))
		count = atol(argv[4]);
	snprintf(url, sizeof(url), "tcp:127.0.0.1:%s", argv[2]);
	r = ipk_listen(url, 0, &l);
	if (r < 0)
		return fail(url, r);
	printf("upstream: listening on %s\n", url);
	fflush(stdout);
	for (; count != 0; count--) {
		ipk_chan *c;
		ssize_t n;

		r = ipk_accept(l, -1, &c);
		if (r < 0)
			return fail("accept", r);
		while ((n = ipk_chan_recv(c, buf, sizeof(buf) - 1, TIMEOUT)) >= 0) {
			int m = snprintf(out, sizeof(out), "upstream: %.*s", (int)n, buf);

			if (ipk_chan_send(c, out, (size_t)m, TIMEOUT) < 0)
				break;
		}
		ipk_chan_close(c);
	}
	ipk_listener_close(l);
	return 0;
}

static int proxy(int argc, char **argv)
{
	uid_t uids[MAX_UIDS];
	struct ipk_access acc = { .uids = uids };
	unsigned dir_mode = 0700, mode = 0600;
	char url[4200], up[64], buf[4096];
	long count = -1;
	ipk_listener *l;
	int r;

	if (argc < 4)
		return usage();
	for (int i = 4; i < argc; i++) {
		if (i + 1 >= argc)
			return usage();
		if (!strcmp(argv[i], "--dir-mode"))
			dir_mode = (unsigned)strtoul(argv[++i], NULL, 8);
		else if (!strcmp(argv[i], "--mode"))
			mode = (unsigned)strtoul(argv[++i], NULL, 8);
		else if (!strcmp(argv[i], "--allow-uid") && acc.n_uids < MAX_UIDS)
			uids[acc.n_uids++] = (uid_t)strtoul(argv[++i], NULL, 10);
		else if (!strcmp(argv[i], "--count"))
			count = atol(argv[++i]);
		else
			return usage();
	}
	if (!acc.n_uids)
		uids[acc.n_uids++] = geteuid();

	r = ipk_sock_dir(argv[2], (mode_t)dir_mode);
	if (r < 0)
		return fail(argv[2], r);
	snprintf(url, sizeof(url), "unix:%s/proxy.sock?perm=0%o", argv[2], mode);
	r = ipk_listen(url, 0, &l);
	if (r < 0)
		return fail(url, r);
	r = ipk_listener_set_access(l, &acc);
	if (r < 0)
		return fail("access policy", r);
	snprintf(up, sizeof(up), "tcp:127.0.0.1:%s", argv[3]);
	printf("proxy: listening on %s\n", url);
	fflush(stdout);

	for (; count != 0; count--) {
		ipk_chan *app, *upc;
		struct ipk_cred who;
		ssize_t n;

		r = ipk_accept(l, -1, &app);
		if (r == -EACCES) {
			ipk_listener_refused(l, &who);
			printf("proxy: refused uid %u pid %d\n", (unsigned)who.uid, (int)who.pid);
			fflush(stdout);
			continue;
		}
		if (r < 0)
			return fail("accept", r);
		r = ipk_peer_cred(ipk_chan_fd(app), &who);
		if (r == 0)
			printf("proxy: accepted uid %u pid %d\n", (unsigned)who.uid, (int)who.pid);
		fflush(stdout);
		r = ipk_chan_open(up, 0, TIMEOUT, &upc);
		if (r < 0) {
			ipk_chan_close(app);
			fail(up, r);
			continue;
		}
		/* one request, one answer, until the app closes */
		while ((n = ipk_chan_recv(app, buf, sizeof(buf), TIMEOUT)) >= 0) {
			if (ipk_chan_send(upc, buf, (size_t)n, TIMEOUT) < 0)
				break;
			n = ipk_chan_recv(upc, buf, sizeof(buf), TIMEOUT);
			if (n < 0 || ipk_chan_send(app, buf, (size_t)n, TIMEOUT) < 0)
				break;
		}
		ipk_chan_close(upc);
		ipk_chan_close(app);
	}
	ipk_listener_close(l);
	return 0;
}

static int app(int argc, char **argv)
{
	char url[4200], buf[4096];
	ipk_chan *c;
	ssize_t n;
	int r;

	if (argc != 4)
		return usage();
	snprintf(url, sizeof(url), "unix:%s/proxy.sock", argv[2]);
	r = ipk_chan_open(url, 0, 0, &c);
	if (r < 0)
		return fail(url, r);
	r = ipk_chan_send(c, argv[3], strlen(argv[3]), TIMEOUT);
	if (r < 0) {
		ipk_chan_close(c);
		return fail("send", r);
	}
	n = ipk_chan_recv(c, buf, sizeof(buf), TIMEOUT);
	ipk_chan_close(c);
	if (n < 0)
		return fail("proxy refused or closed", (int)n);
	printf("%.*s\n", (int)n, buf);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 2)
		return usage();
	if (!strcmp(argv[1], "upstream"))
		return upstream(argc, argv);
	if (!strcmp(argv[1], "proxy"))
		return proxy(argc, argv);
	if (!strcmp(argv[1], "app"))
		return app(argc, argv);
	return usage();
}
