/* SPDX-License-Identifier: MIT */
/*
 * tests/nats/interop.c - ipckit against a client from outside the project:
 * a subscriber written with the NATS C client receives what `ipckit send
 * nats://...` published, and `ipckit recv` prints what the C client
 * published; the same for a JetStream stream.
 */
#include <nats/nats.h>

#include "nats_harness.h"

int main(void)
{
	struct tn_srv s = { 0 };
	const char *exe = getenv("IPCKIT");
	char url[256], out[200], text[256], sbase[80];
	natsConnection *nc = NULL;
	natsSubscription *sub = NULL;
	natsMsg *m = NULL;
	pid_t pid;
	double until;
	int st = -1;

	tn_need_server();
	if (!exe)
		T_SKIP("IPCKIT (the CLI's path) is not set; run through meson test");
	tn_start(&s, NULL);
	snprintf(out, sizeof(out), "/tmp/ipk-nats-interop-%d.out", (int)getpid());
	snprintf(url, sizeof(url), "nats://127.0.0.1:%d", s.port);
	T_EQ(natsConnection_ConnectTo(&nc, url), NATS_OK);

	/* ipckit send -> C client subscriber */
	T_EQ(natsConnection_SubscribeSync(&sub, nc, "interop.a"), NATS_OK);
	T_EQ(natsConnection_Flush(nc), NATS_OK);
	tn_url(url, sizeof(url), s.port, "interop.a", NULL);
	T_EQ(tn_wait(tn_spawn(
		     (const char *const[]){ exe, "send", "-t", "5", url, "hello nats", NULL }, NULL,
		     NULL)),
	     0);
	T_EQ(natsSubscription_NextMsg(&m, sub, 5000), NATS_OK);
	T_EQ(natsMsg_GetDataLength(m), 10);
	T_MEMEQ(natsMsg_GetData(m), "hello nats", 10);
	natsMsg_Destroy(m);
	natsSubscription_Destroy(sub);

	/* C client publisher -> ipckit recv (published until it exits: it
	 * may not have subscribed yet) */
	tn_url(url, sizeof(url), s.port, "interop.b", NULL);
	pid = tn_spawn((const char *const[]){ exe, "recv", "-n", "1", "-t", "10", url, NULL }, out,
		       NULL);
	until = tn_now() + 10;
	while (tn_now() < until) {
		T_EQ(natsConnection_PublishString(nc, "interop.b", "from C"), NATS_OK);
		T_EQ(natsConnection_Flush(nc), NATS_OK);
		if (waitpid(pid, &st, WNOHANG) == pid)
			break;
		usleep(50000);
	}
	T_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	T_TRUE(strcmp(tn_slurp(out, text, sizeof(text)), "from C\n") == 0);

	/* JetStream: ipckit send ?stream= is stored, read back by the C
	 * client's JetStream API; and the other way round. */
	{
		jsCtx *js = NULL;
		natsSubscription *jsub = NULL;

		snprintf(sbase, sizeof(sbase), "interop.js?stream=IOP%d", (int)getpid());
		tn_url(url, sizeof(url), s.port, sbase, NULL);
		T_EQ(tn_wait(tn_spawn(
			     (const char *const[]){ exe, "send", "-t", "5", url, "stored", NULL },
			     NULL, NULL)),
		     0);
		T_EQ(natsConnection_JetStream(&js, nc, NULL), NATS_OK);
		T_EQ(js_SubscribeSync(&jsub, js, "interop.js", NULL, NULL, NULL), NATS_OK);
		T_EQ(natsSubscription_NextMsg(&m, jsub, 5000), NATS_OK);
		T_EQ(natsMsg_GetDataLength(m), 6);
		T_MEMEQ(natsMsg_GetData(m), "stored", 6);
		T_EQ(natsMsg_Ack(m, NULL), NATS_OK);
		natsMsg_Destroy(m);
		natsSubscription_Destroy(jsub);
		T_EQ(js_Publish(NULL, js, "interop.js", "by C", 4, NULL, NULL), NATS_OK);
		jsCtx_Destroy(js);
		/* ipckit's durable consumer starts at the stream's beginning */
		pid = tn_spawn(
			(const char *const[]){ exe, "recv", "-n", "2", "-t", "10", url, NULL }, out,
			NULL);
		T_EQ(tn_wait(pid), 0);
		T_TRUE(strcmp(tn_slurp(out, text, sizeof(text)), "stored\nby C\n") == 0);
	}
	unlink(out);
	natsConnection_Destroy(nc);
	nats_Close();
	tn_stop(&s);
	return 0;
}
