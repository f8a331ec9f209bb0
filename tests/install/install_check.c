/* SPDX-License-Identifier: MIT */
/*
 * install_check.c - a program as a user of the installed library writes it,
 * built by scripts/install-check with nothing but `pkg-config ipckit`.
 *
 *   install_check [VERSION]
 *
 * Checks the version (against VERSION when given), that the URL parser
 * refuses "unix:" with -EINVAL and a reason, and one message round trip
 * through ipk_chan_pipe(). Exit 0 on success, 1 with a message otherwise.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <ipckit/ipckit.h>

static int fail(const char *what, long long got)
{
	fprintf(stderr, "install_check: %s (got %lld)\n", what, got);
	return 1;
}

int main(int argc, char **argv)
{
	static const char msg[] = "hello from the installed tree";
	const char *v = ipk_version();
	const char *why = NULL;
	size_t where = 0;
	ipk_chan *rd = NULL, *wr = NULL;
	char buf[64];
	ssize_t n;
	int r;

	if (!v || !v[0])
		return fail("ipk_version() is empty", 0);
	if (argc > 1 && strcmp(v, argv[1]) != 0) {
		fprintf(stderr, "install_check: ipk_version() is %s, want %s\n", v, argv[1]);
		return 1;
	}

	r = ipk_url_check("unix:", &where, &why);
	if (r != -EINVAL)
		return fail("ipk_url_check(\"unix:\") is not -EINVAL", r);
	if (!why)
		return fail("ipk_url_check() gave no reason", 0);

	r = ipk_chan_pipe(NULL, 0, &rd, &wr);
	if (r < 0)
		return fail("ipk_chan_pipe()", r);
	r = ipk_chan_send(wr, msg, sizeof(msg), IPK_SEC);
	if (r < 0)
		return fail("ipk_chan_send()", r);
	n = ipk_chan_recv(rd, buf, sizeof(buf), IPK_SEC);
	if (n != (ssize_t)sizeof(msg) || memcmp(buf, msg, sizeof(msg)) != 0)
		return fail("ipk_chan_recv() did not return the message sent", n);
	ipk_chan_close(wr);
	ipk_chan_close(rd);

	printf("install_check: ipckit %s: version, URL check and pipe round trip ok\n", v);
	return 0;
}
