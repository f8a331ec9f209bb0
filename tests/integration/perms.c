/* SPDX-License-Identifier: MIT */
/*
 * perms.c - permission denied on an existing object is -EACCES, at once
 * (not retried until the deadline): a FIFO opened for writing or reading,
 * and unix stream, seqpacket and datagram sockets connected to. As root the
 * objects are 0600 and the opener is a child that dropped to uid/gid 65534;
 * otherwise the objects are mode 0000.
 */
#include <grp.h>

#include "it.h"

static char fifo[128], sock[128], seq[128], dgram[128];
static char fifo_url[256], sock_url[256], seq_url[256], dgram_url[256];

static void expect_eacces(const char *url, unsigned flags)
{
	ipk_chan *ch = NULL;
	int64_t t0 = it_now_ns();
	int r = ipk_chan_open(url, flags, IPK_SEC, &ch);

	if (r != -EACCES)
		T_FAIL("ipk_chan_open(\"%s\", %#x): got %d (%s), want -EACCES", url, flags, r,
		       ipk_errname(r));
	T_TRUE(ch == NULL);
	/* Denied is final: the connector does not wait for a server. */
	T_TRUE(it_ms_since(t0) < 900);
}

static int intruder(void *arg)
{
	int drop = *(int *)arg;

	if (drop) {
		if (geteuid() != 0 || t_drop_root() < 0)
			return 77;
	}
	expect_eacces(fifo_url, IPK_CHAN_WRONLY);
	expect_eacces(fifo_url, IPK_CHAN_RDONLY);
	expect_eacces(fifo_url, IPK_CHAN_CREATE | IPK_CHAN_WRONLY);
	expect_eacces(sock_url, 0);
	expect_eacces(seq_url, 0);
	expect_eacces(dgram_url, 0);
	return 0;
}

int main(void)
{
	ipk_chan *rd = NULL, *dsrv = NULL;
	ipk_listener *l = NULL, *lseq = NULL;
	int root = geteuid() == 0;
	pid_t pid;
	int st;

	t_path(fifo, sizeof(fifo), "perm-fifo");
	t_path(sock, sizeof(sock), "perm-sock");
	t_path(seq, sizeof(seq), "perm-seq");
	t_path(dgram, sizeof(dgram), "perm-dgram");
	it_url(fifo_url, sizeof(fifo_url), "fifo", fifo, NULL);
	it_url(sock_url, sizeof(sock_url), "unix", sock, NULL);
	it_url(seq_url, sizeof(seq_url), "unix+seqpacket", seq, NULL);
	it_url(dgram_url, sizeof(dgram_url), "unix+dgram", dgram, NULL);

	/* Live objects, so that only the permission stands in the way. */
	T_EQ(ipk_chan_open(fifo_url, IPK_CHAN_CREATE | IPK_CHAN_RDONLY, 0, &rd), 0);
	T_EQ(ipk_listen(sock_url, 0, &l), 0);
	T_EQ(ipk_listen(seq_url, 0, &lseq), 0);
	T_EQ(ipk_chan_open(dgram_url, IPK_CHAN_CREATE, 0, &dsrv), 0);
	if (!root) {
		/* The owner is denied too once the mode says so. */
		T_SYS(chmod(fifo, 0));
		T_SYS(chmod(sock, 0));
		T_SYS(chmod(seq, 0));
		T_SYS(chmod(dgram, 0));
	}

	pid = t_fork(intruder, &root);
	st = it_wait_status(pid);

	ipk_chan_close(rd);
	ipk_listener_close(l);
	ipk_listener_close(lseq);
	ipk_chan_close(dsrv);
	T_EQ(access(fifo, F_OK) + access(sock, F_OK) + access(seq, F_OK) + access(dgram, F_OK), -4);

	if (st == 77)
		T_SKIP("cannot drop privileges to uid/gid 65534 (setgroups/setgid/setuid)");
	if (st != 0)
		T_FAIL("intruder: exit status %d", st);
	return 0;
}
