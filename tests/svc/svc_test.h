/* SPDX-License-Identifier: MIT */
/*
 * tests/svc/svc_test.h - what the ipk_svc tests share: a name per test
 * process, and a server that answers by the request's first byte:
 *   'e'  echo at once
 *   'h'  hold; once four are held, answer them last first
 *   's'  never answer
 *   'c'  close the server cleanly without answering (clients: -EPIPE)
 *   'q'  answer "bye", then close
 * It says "got" on @note_fd (if >= 0) for every request it takes.
 */
#ifndef IPK_TESTS_SVC_TEST_H
#define IPK_TESTS_SVC_TEST_H

#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <sys/prctl.h>

#include <ipckit/svc.h>

#include "../harness.h"

static inline const char *t_svc_name(char *buf, size_t len, const char *tag)
{
	snprintf(buf, len, "/tmp/ipk-svc-%s-%d", tag, (int)getpid());
	return buf;
}

struct t_server {
	ipk_svc *s;
	uint64_t held[4];
	unsigned nheld;
	int note_fd;
	bool done;
};

/* Handle one request; false once the server should stop. */
static inline void t_serve_one(struct t_server *t, const char *buf, ssize_t n,
			       const struct ipk_svc_req *req)
{
	if (t->note_fd >= 0)
		T_EQ(write(t->note_fd, "g", 1), 1);
	switch (n > 0 ? buf[0] : 'e') {
	case 'h':
		t->held[t->nheld++] = req->id;
		if (t->nheld == 4) {
			for (int i = 3; i >= 0; i--) {
				char r[16];
				int len = snprintf(r, sizeof(r), "held%d", i);

				T_OK(ipk_svc_reply(t->s, t->held[i], r, (size_t)len));
			}
			t->nheld = 0;
		}
		break;
	case 's':
		break;
	case 'c':
		t->done = true;
		break;
	case 'q':
		T_OK(ipk_svc_reply(t->s, req->id, "bye", 3));
		t->done = true;
		break;
	default:
		T_OK(ipk_svc_reply(t->s, req->id, buf, (size_t)n));
		break;
	}
}

/* Serve until 'c' or 'q' (or 60 s of nothing), then close. Returns 0. */
static inline int t_serve(ipk_svc *s, int note_fd)
{
	struct t_server t = { .s = s, .note_fd = note_fd };
	char buf[4096];
	struct ipk_svc_req req;

	while (!t.done) {
		ssize_t n = ipk_svc_recv(s, buf, sizeof(buf), &req, 60 * IPK_SEC);

		if (n == -ETIMEDOUT)
			break;
		T_OK(n);
		t_serve_one(&t, buf, n, &req);
	}
	ipk_svc_close(s);
	return 0;
}

/* A server child must not outlive a test that failed (it would hold the
 * test's output open until its own timeout). */
static inline void t_die_with_parent(void)
{
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() == 1)
		_exit(1);
}

/* Fork a server at @name that serves until told to stop. Its
 * ipk_svc_create() has returned when this returns. */
static inline pid_t t_server_fork(const char *name, const struct ipk_svc_opts *o, int note_fd)
{
	int p[2];
	pid_t pid;
	char c;

	T_SYS(pipe(p));
	pid = fork();
	T_SYS(pid);
	if (pid == 0) {
		ipk_svc *s;

		t_die_with_parent();
		close(p[0]);
		T_OK(ipk_svc_create(name, o, &s));
		T_EQ(write(p[1], "r", 1), 1);
		close(p[1]);
		_exit(t_serve(s, note_fd));
	}
	close(p[1]);
	T_EQ(read(p[0], &c, 1), 1);
	close(p[0]);
	return pid;
}

/* Wait until @fd is readable (up to 10 s); true if it is. */
static inline bool t_readable(int fd, int ms)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };

	return poll(&pfd, 1, ms) == 1;
}

#endif
