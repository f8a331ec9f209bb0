/* SPDX-License-Identifier: MIT */
/*
 * Listener access policy (ipk_listener_set_access): a client running as a
 * second uid (nobody, 65534) is refused by uid, by gid and by a callback,
 * before the server reads a byte of what it sent; the refusal reaches the
 * server as -EACCES with the peer's credentials; allowed peers get through.
 * Abstract sockets, which have no file permissions, are protected the
 * same way. Needs root to become nobody; skips otherwise.
 */
#include <grp.h>
#include <sys/socket.h>

#include "../harness.h"
#include <ipckit/unix.h>

#define S (5 * IPK_SEC)

static char url[256];

/* Client: connect as nobody (arg != NULL) or as ourselves, send a
 * message; exit 0 if an answer came, 3 if the server hung up. */
static int client(void *as_nobody)
{
	ipk_chan *c;
	char buf[16];
	ssize_t n;

	if (as_nobody && t_drop_root() < 0)
		return 9;
	if (ipk_chan_open(url, 0, S, &c) < 0)
		return 8;
	(void)ipk_chan_send(c, "secret", 6, S); /* may or may not be taken */
	n = ipk_chan_recv(c, buf, sizeof(buf), S);
	ipk_chan_close(c);
	if (n == 2 && !memcmp(buf, "ok", 2))
		return 0;
	return n == -EPIPE || n == -ECONNRESET ? 3 : 4;
}

/* Accept one peer: the allowed one gets "ok" after its message. */
static int serve_one(ipk_listener *l, struct ipk_cred *refused)
{
	ipk_chan *c;
	char buf[16];
	int r = ipk_accept(l, S, &c);

	if (r == -EACCES) {
		T_TRUE(ipk_listener_refused(l, refused) > 0);
		return r;
	}
	T_OK(r);
	T_EQ(ipk_chan_recv(c, buf, sizeof(buf), S), 6);
	T_OK(ipk_chan_send(c, "ok", 2, S));
	ipk_chan_close(c);
	return 0;
}

static bool deny_uid(const struct ipk_cred *peer, void *arg)
{
	return peer->uid != *(uid_t *)arg;
}

static void run_case(ipk_listener *l, bool nobody, int want_accept, int want_exit)
{
	struct ipk_cred who = { 0 };
	unsigned long before = ipk_listener_refused(l, NULL);
	pid_t pid = t_fork(client, nobody ? (void *)1 : NULL);

	T_EQ(serve_one(l, &who), want_accept);
	if (want_accept == -EACCES) {
		T_EQ(ipk_listener_refused(l, NULL), before + 1);
		T_EQ(who.pid, pid);
		T_EQ(who.uid, nobody ? 65534u : getuid());
	}
	t_wait_exit(pid, want_exit);
}

static void policies(const char *u)
{
	uid_t root = 0, nob = 65534;
	gid_t nogroup = 65534, rootg = 0;
	struct ipk_access by_uid = { .uids = &root, .n_uids = 1 };
	struct ipk_access by_gid = { .gids = &rootg, .n_gids = 1 };
	struct ipk_access gid_nob = { .gids = &nogroup, .n_gids = 1 };
	struct ipk_access by_cb = { .check = deny_uid, .arg = &nob };
	struct ipk_access uid_and_cb = {
		.uids = &root, .n_uids = 1, .check = deny_uid, .arg = &root
	};
	ipk_listener *l;

	snprintf(url, sizeof(url), "%s", u);
	T_OK(ipk_listen(url, 0, &l));
	T_EQ(ipk_listener_refused(l, NULL), 0);

	/* uid list: root in, nobody out */
	T_OK(ipk_listener_set_access(l, &by_uid));
	run_case(l, false, 0, 0);
	run_case(l, true, -EACCES, 3);

	/* allow nobody's uid instead */
	by_uid.uids = &nob;
	T_OK(ipk_listener_set_access(l, &by_uid));
	run_case(l, true, 0, 0);
	run_case(l, false, -EACCES, 3);

	/* gid list */
	T_OK(ipk_listener_set_access(l, &by_gid));
	run_case(l, false, 0, 0);
	run_case(l, true, -EACCES, 3);
	T_OK(ipk_listener_set_access(l, &gid_nob));
	run_case(l, true, 0, 0);

	/* a callback: every peer passes but the uid it was told about */
	T_OK(ipk_listener_set_access(l, &by_cb));
	run_case(l, false, 0, 0);
	run_case(l, true, -EACCES, 3);
	/* the list lets root in, then the callback says no */
	T_OK(ipk_listener_set_access(l, &uid_and_cb));
	run_case(l, false, -EACCES, 3);

	/* no policy: everyone again (the count of refusals is kept) */
	T_OK(ipk_listener_set_access(l, NULL));
	run_case(l, true, 0, 0);
	ipk_listener_close(l);
}

int main(void)
{
	char path[128], u[256];
	ipk_listener *l;

	signal(SIGPIPE, SIG_IGN);
	if (geteuid() != 0)
		T_SKIP("needs root to run a client as a second uid (nobody)");

	/* A filesystem socket open to everyone (0666): only credentials
	 * keep nobody out. */
	t_path(path, sizeof(path), "acc");
	snprintf(u, sizeof(u), "unix:%s?perm=0666", path);
	policies(u);
	/* abstract: no file permissions at all */
	snprintf(u, sizeof(u), "unix:@ipk-acc-%d", (int)getpid());
	policies(u);
	snprintf(u, sizeof(u), "unix+seqpacket:@ipk-accsp-%d", (int)getpid());
	policies(u);

	/* tcp has no credentials */
	T_OK(ipk_listen("tcp:127.0.0.1:0", 0, &l));
	{
		uid_t root = 0;
		struct ipk_access a = { .uids = &root, .n_uids = 1 };

		T_EQ(ipk_listener_set_access(l, &a), -EOPNOTSUPP);
		T_EQ(ipk_listener_set_access(NULL, &a), -EINVAL);
		a.uids = NULL;
		T_EQ(ipk_listener_set_access(l, &a), -EINVAL);
	}
	ipk_listener_close(l);
	printf("ok\n");
	return 0;
}
