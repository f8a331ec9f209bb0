/* SPDX-License-Identifier: MIT */
/*
 * tests/svc/basic.c - ipk_svc calls against a server in another process:
 * one call, several in flight answered out of order, a timeout, a reply
 * too large for the buffer, a request too large for the server, the
 * client's pollable descriptor, and many clients at once.
 * Argument: "sleep" (default), "spin" (both sides spin) or "loop" (the
 * server waits in an ipk_loop on ipk_svc_fd()).
 */
#include <ipckit/loop.h>

#include "svc_test.h"

static struct t_server loop_t;

static void on_svc(ipk_loop *l, int fd, uint32_t events, void *arg)
{
	char buf[4096];
	struct ipk_svc_req req;
	ssize_t n;

	(void)fd;
	(void)events;
	(void)arg;
	while ((n = ipk_svc_recv(loop_t.s, buf, sizeof(buf), &req, 0)) != -EAGAIN) {
		T_OK(n);
		t_serve_one(&loop_t, buf, n, &req);
		if (loop_t.done) {
			ipk_loop_stop(l);
			return;
		}
	}
}

static pid_t loop_server(const char *name)
{
	int p[2];
	pid_t pid;
	char c;

	T_SYS(pipe(p));
	pid = fork();
	T_SYS(pid);
	if (pid == 0) {
		ipk_loop *l;

		t_die_with_parent();
		T_OK(ipk_svc_create(name, NULL, &loop_t.s));
		loop_t.note_fd = -1;
		T_EQ(write(p[1], "r", 1), 1);
		T_OK(ipk_loop_new(&l));
		T_OK(ipk_loop_add_fd(l, ipk_svc_fd(loop_t.s), IPK_LOOP_IN, on_svc, NULL));
		T_OK(ipk_loop_run(l));
		ipk_loop_free(l);
		ipk_svc_close(loop_t.s);
		_exit(0);
	}
	close(p[1]);
	T_EQ(read(p[0], &c, 1), 1);
	close(p[0]);
	return pid;
}

static void many_clients(const char *name, const struct ipk_svc_client_opts *co)
{
	pid_t kids[8];

	for (int k = 0; k < 8; k++) {
		kids[k] = fork();
		T_SYS(kids[k]);
		if (kids[k] == 0) {
			ipk_svc_client *c;
			char req[64], rep[64];

			T_OK(ipk_svc_connect(name, co, 10 * IPK_SEC, &c));
			for (int i = 0; i < 300; i++) {
				int n = snprintf(req, sizeof(req), "e client %d call %d", k, i);

				T_EQ(ipk_svc_call(c, req, (size_t)n, rep, sizeof(rep),
						  10 * IPK_SEC),
				     n);
				T_MEMEQ(rep, req, (size_t)n);
			}
			ipk_svc_client_close(c);
			_exit(0);
		}
	}
	for (int k = 0; k < 8; k++)
		t_wait_exit(kids[k], 0);
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "sleep";
	bool spin = !strcmp(mode, "spin");
	struct ipk_svc_opts so = { .flags = spin ? IPK_SVC_SPIN : 0 };
	struct ipk_svc_client_opts co = { .flags = spin ? IPK_SVC_SPIN : 0 };
	char name[128], rep[4096], big[5000];
	ipk_svc_client *c;
	uint64_t calls[4], call;
	pid_t srv;

	t_svc_name(name, sizeof(name), mode);
	srv = !strcmp(mode, "loop") ? loop_server(name) : t_server_fork(name, &so, -1);
	T_OK(ipk_svc_connect(name, &co, 10 * IPK_SEC, &c));
	T_EQ(ipk_svc_max_msg(c), 4096);

	/* one call */
	T_EQ(ipk_svc_call(c, "e hello", 7, rep, sizeof(rep), 10 * IPK_SEC), 7);
	T_MEMEQ(rep, "e hello", 7);

	/* four in flight, answered last first: each wait gets its own reply */
	for (int i = 0; i < 4; i++)
		T_OK(ipk_svc_call_start(c, "h", 1, &calls[i], 0));
	for (int i = 0; i < 4; i++) {
		char want[16];
		int n = snprintf(want, sizeof(want), "held%d", i);

		T_EQ(ipk_svc_call_wait(c, calls[i], rep, sizeof(rep), 10 * IPK_SEC), n);
		T_MEMEQ(rep, want, (size_t)n);
	}
	/* and waited for in the other order */
	for (int i = 0; i < 4; i++)
		T_OK(ipk_svc_call_start(c, "h", 1, &calls[i], 0));
	for (int i = 3; i >= 0; i--) {
		char want[16];
		int n = snprintf(want, sizeof(want), "held%d", i);

		T_EQ(ipk_svc_call_wait(c, calls[i], rep, sizeof(rep), 10 * IPK_SEC), n);
		T_MEMEQ(rep, want, (size_t)n);
	}
	/* a finished call is gone */
	T_EQ(ipk_svc_call_wait(c, calls[0], rep, sizeof(rep), 0), -ENOENT);
	T_EQ(ipk_svc_call_cancel(c, calls[0]), -ENOENT);

	/* a call never answered times out, and the client goes on */
	T_EQ(ipk_svc_call(c, "s", 1, rep, sizeof(rep), 50 * IPK_MSEC), -ETIMEDOUT);
	T_OK(ipk_svc_call_start(c, "s", 1, &call, 0));
	T_EQ(ipk_svc_call_wait(c, call, rep, sizeof(rep), 0), -EAGAIN);
	T_EQ(ipk_svc_call_wait(c, call, rep, sizeof(rep), 20 * IPK_MSEC), -ETIMEDOUT);
	T_OK(ipk_svc_call_cancel(c, call));
	T_EQ(ipk_svc_call(c, "e again", 7, rep, sizeof(rep), 10 * IPK_SEC), 7);

	/* sizes: a request over max_msg is refused before it is sent; a reply
	 * longer than the buffer is kept until a buffer fits */
	memset(big, 'e', sizeof(big));
	T_EQ(ipk_svc_call_start(c, big, 4097, &call, 0), -EMSGSIZE);
	T_OK(ipk_svc_call_start(c, big, 4096, &call, 0));
	T_EQ(ipk_svc_call_wait(c, call, rep, 100, 10 * IPK_SEC), -EMSGSIZE);
	T_EQ(ipk_svc_call_wait(c, call, rep, sizeof(rep), 10 * IPK_SEC), 4096);
	T_MEMEQ(rep, big, 4096);

	/* the pollable descriptor: armed by -EAGAIN, readable with the reply */
	T_OK(ipk_svc_call_start(c, "e fd", 4, &call, 0));
	for (;;) {
		ssize_t n = ipk_svc_call_wait(c, call, rep, sizeof(rep), 0);

		if (n == -EAGAIN) {
			T_TRUE(t_readable(ipk_svc_client_fd(c), 10000));
			continue;
		}
		T_EQ(n, 4);
		break;
	}
	/* and not readable without news: not busy for an event loop */
	T_OK(ipk_svc_call_start(c, "s", 1, &call, 0));
	T_EQ(ipk_svc_call_wait(c, call, rep, sizeof(rep), 0), -EAGAIN);
	T_TRUE(!t_readable(ipk_svc_client_fd(c), 50));
	T_OK(ipk_svc_call_cancel(c, call));
	/* all slots busy: the three unanswered calls above still hold theirs
	 * (cancelled, but the server might still answer) */
	for (int i = 0; i < 13; i++)
		T_OK(ipk_svc_call_start(c, "s", 1, &call, 0));
	T_EQ(ipk_svc_call_start(c, "s", 1, &call, 0), -EBUSY);

	/* eight clients on a machine of two CPUs or so: spinning ones would
	 * only take turns, so they spin a while and then sleep */
	struct ipk_svc_client_opts many = { .spin_ns = spin ? 50 * IPK_USEC : 0 };

	many_clients(name, &many);

	/* 'q': answered, then the server closes cleanly and removes its socket */
	ipk_svc_client_close(c);
	T_OK(ipk_svc_connect(name, &co, 10 * IPK_SEC, &c));
	T_EQ(ipk_svc_call(c, "q", 1, rep, sizeof(rep), 10 * IPK_SEC), 3);
	t_wait_exit(srv, 0);
	T_EQ(access(name, F_OK), -1);
	ipk_svc_client_close(c);
	return 0;
}
