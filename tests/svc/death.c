/* SPDX-License-Identifier: MIT */
/*
 * tests/svc/death.c - ipk_svc across deaths: a server killed (SIGKILL)
 * while a call waits fails the call with -ECONNRESET (not a timeout); a
 * server started again on the name is followed by the same client; a
 * server that closes cleanly fails pending calls with -EPIPE; a client
 * killed with a call in flight is dropped (the reply returns -ECONNRESET),
 * and the server serves the next client as before. Argument: "sleep" (default) or "spin" (the
 * client).
 */
#include "svc_test.h"

/* The server in this process serves until @kid exits; returns its status. */
static int serve_until_exit(ipk_svc *s, pid_t kid)
{
	struct t_server t = { .s = s, .note_fd = -1 };
	char buf[4096];
	struct ipk_svc_req req;
	int st;

	for (;;) {
		ssize_t n = ipk_svc_recv(s, buf, sizeof(buf), &req, 10 * IPK_MSEC);

		if (n >= 0)
			t_serve_one(&t, buf, n, &req);
		else
			T_EQ(n, -ETIMEDOUT);
		pid_t w = waitpid(kid, &st, WNOHANG);

		T_SYS(w);
		if (w == kid)
			return st;
	}
}

static void client_killed(const char *name, const struct ipk_svc_client_opts *co)
{
	struct ipk_svc_req req;
	char buf[64];
	ipk_svc *s;
	pid_t kid;
	int st;

	T_OK(ipk_svc_create(name, NULL, &s));
	kid = fork();
	T_SYS(kid);
	if (kid == 0) {
		ipk_svc_client *c;
		uint64_t call;

		T_OK(ipk_svc_connect(name, co, 10 * IPK_SEC, &c));
		T_OK(ipk_svc_call_start(c, "e dying", 7, &call, 0));
		/* waits in the call until the parent kills it */
		T_EQ(ipk_svc_call_wait(c, call, buf, sizeof(buf), 60 * IPK_SEC), 7);
		_exit(1);
	}
	T_EQ(ipk_svc_recv(s, buf, sizeof(buf), &req, 10 * IPK_SEC), 7);
	T_EQ(req.peer.pid, kid);
	T_EQ(req.peer.uid, getuid());
	T_SYS(kill(kid, SIGKILL));
	T_SYS(waitpid(kid, &st, 0));
	T_TRUE(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
	/* the hang-up is seen within a few rounds */
	for (int i = 0; i < 1000 && ipk_svc_clients(s) > 0; i++)
		T_EQ(ipk_svc_recv(s, buf, sizeof(buf), &req, 10 * IPK_MSEC), -ETIMEDOUT);
	T_EQ(ipk_svc_clients(s), 0);
	T_EQ(ipk_svc_reply(s, req.id, "late", 4), -ECONNRESET);

	/* the next client is served as before */
	kid = fork();
	T_SYS(kid);
	if (kid == 0) {
		ipk_svc_client *c;

		T_OK(ipk_svc_connect(name, co, 10 * IPK_SEC, &c));
		T_EQ(ipk_svc_call(c, "e next", 6, buf, sizeof(buf), 10 * IPK_SEC), 6);
		T_MEMEQ(buf, "e next", 6);
		ipk_svc_client_close(c);
		_exit(0);
	}
	st = serve_until_exit(s, kid);
	T_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	ipk_svc_close(s);
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "sleep";
	struct ipk_svc_client_opts co = { .flags = !strcmp(mode, "spin") ? IPK_SVC_SPIN : 0 };
	char name[128], rep[64], g;
	ipk_svc_client *c;
	uint64_t call, call2;
	int note[2], st;
	pid_t srv;

	t_svc_name(name, sizeof(name), mode);
	T_SYS(pipe(note));
	srv = t_server_fork(name, NULL, note[1]);
	T_OK(ipk_svc_connect(name, &co, 10 * IPK_SEC, &c));

	/* killed while the call waits: -ECONNRESET, long before the timeout */
	T_OK(ipk_svc_call_start(c, "s", 1, &call, 0));
	T_EQ(read(note[0], &g, 1), 1); /* the server has taken it */
	T_SYS(kill(srv, SIGKILL));
	T_EQ(ipk_svc_call_wait(c, call, rep, sizeof(rep), 60 * IPK_SEC), -ECONNRESET);
	T_SYS(waitpid(srv, &st, 0));
	T_EQ(ipk_svc_call_wait(c, call, rep, sizeof(rep), 0), -ENOENT);

	/* its socket file is left; a new server replaces it, and the same
	 * client follows it on its next call */
	T_EQ(access(name, F_OK), 0);
	srv = t_server_fork(name, NULL, note[1]);
	T_EQ(ipk_svc_call(c, "e back", 6, rep, sizeof(rep), 10 * IPK_SEC), 6);
	T_MEMEQ(rep, "e back", 6);
	T_EQ(read(note[0], &g, 1), 1);

	/* killed while the client is idle (a few milliseconds without calls:
	 * the idleness itself, not an event to wait for): its next call goes
	 * to the successor, without a failure first */
	T_SYS(kill(srv, SIGKILL));
	T_SYS(waitpid(srv, &st, 0));
	srv = t_server_fork(name, NULL, note[1]);
	usleep(50 * 1000);
	T_EQ(ipk_svc_call(c, "e idle", 6, rep, sizeof(rep), 10 * IPK_SEC), 6);
	T_EQ(read(note[0], &g, 1), 1);

	/* a clean close: pending calls fail with -EPIPE */
	T_OK(ipk_svc_call_start(c, "s", 1, &call, 0));
	T_OK(ipk_svc_call_start(c, "c", 1, &call2, 0));
	T_EQ(ipk_svc_call_wait(c, call2, rep, sizeof(rep), 60 * IPK_SEC), -EPIPE);
	T_EQ(ipk_svc_call_wait(c, call, rep, sizeof(rep), 0), -EPIPE);
	t_wait_exit(srv, 0);
	/* nobody serves now: the next call waits for a server, in vain */
	T_EQ(access(name, F_OK), -1);
	T_EQ(ipk_svc_call(c, "e", 1, rep, sizeof(rep), 50 * IPK_MSEC), -ETIMEDOUT);
	ipk_svc_client_close(c);

	client_killed(name, &co);
	T_EQ(access(name, F_OK), -1);
	return 0;
}
