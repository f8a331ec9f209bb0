/* SPDX-License-Identifier: MIT */
/*
 * tests/nats/unsupported.c - a build without the nats transport
 * (-Dnats=disabled, or no libnats-dev): nats: URLs still parse, opening
 * one is -EPROTONOSUPPORT, and `ipckit bridge` says how to get it.
 */
#include "nats_harness.h"

int main(void)
{
	const char *exe = getenv("IPCKIT");
	char err[128], text[1024];
	ipk_chan *ch = NULL;

	T_EQ(ipk_url_check("nats://127.0.0.1:4222/a.b?stream=S", NULL, NULL), 0);
	T_EQ(ipk_chan_open("nats://127.0.0.1:1/a.b", 0, 0, &ch), -EPROTONOSUPPORT);
	T_EQ(ipk_chan_open("nats://127.0.0.1:1/a.b?stream=S", IPK_CHAN_RDONLY, 0, &ch),
	     -EPROTONOSUPPORT);
	T_TRUE(ch == NULL);
	if (!exe)
		T_SKIP("IPCKIT (the CLI's path) is not set; run through meson test");
	snprintf(err, sizeof(err), "/tmp/ipk-nats-unsup-%d.err", (int)getpid());
	T_EQ(tn_wait(tn_spawn((const char *const[]){ exe, "bridge", "nats://127.0.0.1:1/a.b",
						     "shm:/ipk-unsup", NULL },
			      NULL, err)),
	     1);
	tn_slurp(err, text, sizeof(text));
	unlink(err);
	if (!strstr(text, "EPROTONOSUPPORT") || !strstr(text, "-Dnats=enabled"))
		T_FAIL("bridge said \"%s\"", text);
	return 0;
}
