/* SPDX-License-Identifier: MIT */
/*
 * handoff.c - hot upgrade: hand listening sockets and state from a running
 * process to a new copy of itself (handoff.h), and take descriptors from
 * socket activation. Descriptor passing itself is ipk_fd_send/recv
 * (unix.c); this file is the protocol around it.
 *
 * The protocol is two SOCK_SEQPACKET messages, so each arrives whole or
 * not at all and a dead peer reads as EOF:
 *
 *   old -> new  OFFER: struct wire_offer, then n NUL-terminated names,
 *               then the state; the n descriptors ride in SCM_RIGHTS.
 *   new -> old  READY: struct wire_ready, sent once the new process
 *               accepts on the descriptors.
 *
 * The old process keeps its own copies of the listeners until READY came,
 * so every failure before that point (exec failed, the new process
 * crashed, refused garbage, timed out) leaves it serving as before. After
 * READY both processes accept on the same kernel sockets for a moment,
 * which is harmless: each connection is accepted exactly once. The new
 * process checks everything before it serves, so it never runs with half
 * the listeners it was meant to have.
 */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <ipckit/handoff.h>
#include <ipckit/unix.h>

#include "internal.h"
#include "sockets.h"

#define OFFER_MAGIC "IPKHOFF1"
#define READY_MAGIC "IPKHRDY1"
#define WIRE_VERSION 1u

extern char **environ;

struct wire_offer {
	char magic[8];
	uint32_t version;
	uint32_t nfds;
	uint32_t names_len; /* bytes of names, NULs included */
	uint32_t state_len;
};

struct wire_ready {
	char magic[8];
	uint32_t version;
	uint32_t status; /* 0: accepting */
};

#define OFFER_MAX                                                                 \
	(sizeof(struct wire_offer) + IPK_HANDOFF_FDS_MAX * IPK_HANDOFF_NAME_MAX + \
	 IPK_HANDOFF_STATE_MAX)

struct ipk_handoff {
	int sock;  /* to the old process; -1 under socket activation */
	pid_t old; /* its pid, 0 under socket activation */
	unsigned n;
	int fds[IPK_HANDOFF_FDS_MAX]; /* -1 once taken */
	char *names[IPK_HANDOFF_FDS_MAX];
	char *buf; /* the offer as received: names and state point into it */
	const void *state;
	size_t state_len;
	char anames[IPK_HANDOFF_FDS_MAX][IPK_HANDOFF_NAME_MAX]; /* activation */
};

/* A deadline back into a timeout for the public calls this file makes. */
static int64_t remaining(int64_t deadline)
{
	int64_t left;

	if (deadline == IPK__NEVER)
		return IPK_FOREVER;
	if (deadline == IPK__NOWAIT)
		return 0;
	left = deadline - ipk__now_ns();
	return left > 0 ? left : 1; /* expired: -ETIMEDOUT, not -EAGAIN */
}

/* Printable, no ':' (LISTEN_FDNAMES separates with it), not empty. */
static bool name_ok(const char *s, size_t len)
{
	if (len == 0 || len >= IPK_HANDOFF_NAME_MAX)
		return false;
	for (size_t i = 0; i < len; i++)
		if (s[i] <= ' ' || s[i] > '~' || s[i] == ':')
			return false;
	return true;
}

/* --- the old process ----------------------------------------------------- */

IPK_API int ipk_handoff_send(int sock, const int *fds, const char *const *names, unsigned n,
			     const void *state, size_t state_len, int64_t timeout_ns)
{
	struct wire_offer hdr;
	struct wire_ready rdy;
	char dflt[IPK_HANDOFF_FDS_MAX][12];
	int64_t deadline;
	size_t names_len = 0, off;
	char *msg;
	ssize_t got;
	int r;

	IPK_CHECK_ARG(sock >= 0 && fds && n >= 1 && n <= IPK_HANDOFF_FDS_MAX);
	IPK_CHECK_ARG(state_len <= IPK_HANDOFF_STATE_MAX && (state || !state_len));
	for (unsigned i = 0; i < n; i++) {
		if (!names)
			(void)snprintf(dflt[i], sizeof(dflt[i]), "fd%u", i);
		const char *nm = names ? names[i] : dflt[i];

		IPK_CHECK_ARG(nm && name_ok(nm, strlen(nm)));
		names_len += strlen(nm) + 1;
	}
	deadline = ipk__deadline(timeout_ns);

	memset(&hdr, 0, sizeof(hdr));
	memcpy(hdr.magic, OFFER_MAGIC, sizeof(hdr.magic));
	hdr.version = WIRE_VERSION;
	hdr.nfds = n;
	hdr.names_len = (uint32_t)names_len;
	hdr.state_len = (uint32_t)state_len;
	msg = malloc(sizeof(hdr) + names_len + state_len);
	if (!msg)
		return -ENOMEM;
	memcpy(msg, &hdr, sizeof(hdr));
	off = sizeof(hdr);
	for (unsigned i = 0; i < n; i++) {
		const char *nm = names ? names[i] : dflt[i];
		size_t l = strlen(nm) + 1;

		memcpy(msg + off, nm, l);
		off += l;
	}
	if (state_len)
		memcpy(msg + off, state, state_len);
	off += state_len;

	/* The offer is one seqpacket message: make room for the largest. */
	{
		int want = (int)off + 4096, have;
		socklen_t sl = sizeof(have);

		if (getsockopt(sock, SOL_SOCKET, SO_SNDBUF, &have, &sl) == 0 && have / 2 < want)
			(void)setsockopt(sock, SOL_SOCKET, SO_SNDBUF, &want, sizeof(want));
	}
	r = ipk_fd_send(sock, msg, off, fds, n, remaining(deadline));
	free(msg);
	if (r < 0)
		return r;

	/* The new process answers once it accepts; EOF means it refused or
	 * died, and we keep serving. */
	got = ipk_fd_recv(sock, &rdy, sizeof(rdy), NULL, remaining(deadline));
	if (got < 0)
		return got == -EBADMSG ? -EPROTO : (int)got;
	if (got == 0)
		return -EPIPE; /* seqpacket EOF reads as an empty message */
	if ((size_t)got != sizeof(rdy) || memcmp(rdy.magic, READY_MAGIC, sizeof(rdy.magic)) ||
	    rdy.version != WIRE_VERSION || rdy.status != 0)
		return -EPROTO;
	return 0;
}

/* Copy environ without the variables the new process must not inherit,
 * plus IPK_HANDOFF=fd:N. Built before fork(): the child may not allocate. */
static char **child_env(int fd, char *var, size_t varlen)
{
	size_t n = 0, k = 0;
	char **env;

	for (char **e = environ; e && *e; e++)
		n++;
	env = calloc(n + 2, sizeof(*env));
	if (!env)
		return NULL;
	for (char **e = environ; e && *e; e++) {
		if (!strncmp(*e, "LISTEN_", 7) || !strncmp(*e, IPK_HANDOFF_ENV "=", 12))
			continue;
		env[k++] = *e;
	}
	(void)snprintf(var, varlen, "%s=fd:%d", IPK_HANDOFF_ENV, fd);
	env[k++] = var;
	env[k] = NULL;
	return env;
}

static void reap(pid_t pid)
{
	(void)kill(pid, SIGKILL);
	(void)ipk__waitpid_eintr(pid, NULL);
}

IPK_API int ipk_handoff_offer(char *const argv[], const int *fds, const char *const *names,
			      unsigned n, const void *state, size_t state_len, int64_t timeout_ns,
			      pid_t *ret_pid)
{
	char var[64];
	char **env;
	int sv[2], r;
	pid_t pid;

	IPK_CHECK_ARG(argv && argv[0] && ret_pid);
	IPK_CHECK_ARG(fds && n >= 1 && n <= IPK_HANDOFF_FDS_MAX);
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return ipk__neg_errno();
	env = child_env(sv[1], var, sizeof(var));
	if (!env) {
		r = -ENOMEM;
		goto out_close;
	}
	pid = fork();
	if (pid < 0) {
		r = ipk__neg_errno();
		free(env);
		goto out_close;
	}
	if (pid == 0) {
		/* only async-signal-safe calls from here on */
		int fl = fcntl(sv[1], F_GETFD);
		sigset_t none;

		/* a fresh program starts with no signal blocked */
		sigemptyset(&none);
		(void)sigprocmask(SIG_SETMASK, &none, NULL);

		if (fl < 0 || fcntl(sv[1], F_SETFD, fl & ~FD_CLOEXEC) < 0)
			_exit(127);
		execve(argv[0], argv, env);
		_exit(127);
	}
	free(env);
	ipk__close(sv[1]);
	sv[1] = -1;
	r = ipk_handoff_send(sv[0], fds, names, n, state, state_len, timeout_ns);
	if (r < 0) {
		/* It refused, died or hangs: make sure it is gone (it may
		 * have closed the socket and still run), then reap it. */
		reap(pid);
		goto out_close;
	}
	*ret_pid = pid;
out_close:
	ipk__close(sv[0]);
	if (sv[1] >= 0)
		ipk__close(sv[1]);
	return r;
}

/* --- the new process ----------------------------------------------------- */

static ipk_handoff *handoff_new(void)
{
	ipk_handoff *h = calloc(1, sizeof(*h));

	if (!h)
		return NULL;
	h->sock = -1;
	for (unsigned i = 0; i < IPK_HANDOFF_FDS_MAX; i++)
		h->fds[i] = -1;
	return h;
}

IPK_API void ipk_handoff_free(ipk_handoff *h)
{
	if (!h)
		return;
	for (unsigned i = 0; i < h->n; i++)
		if (h->fds[i] >= 0)
			ipk__close(h->fds[i]);
	if (h->sock >= 0)
		ipk__close(h->sock);
	free(h->buf);
	free(h);
}

/* Check the offer in h->buf (@len bytes) that came with h->n descriptors. */
static int parse_offer(ipk_handoff *h, size_t len)
{
	struct wire_offer hdr;
	const char *p, *end;

	if (len < sizeof(hdr))
		return -EPROTO;
	memcpy(&hdr, h->buf, sizeof(hdr));
	if (memcmp(hdr.magic, OFFER_MAGIC, sizeof(hdr.magic)) || hdr.version != WIRE_VERSION)
		return -EPROTO;
	/* every listener announced must be here, and nothing else */
	if (hdr.nfds != h->n || hdr.nfds == 0 || hdr.state_len > IPK_HANDOFF_STATE_MAX ||
	    (uint64_t)sizeof(hdr) + hdr.names_len + hdr.state_len != len)
		return -EPROTO;
	p = h->buf + sizeof(hdr);
	end = p + hdr.names_len;
	for (unsigned i = 0; i < h->n; i++) {
		const char *nul = memchr(p, '\0', (size_t)(end - p));

		if (!nul || !name_ok(p, (size_t)(nul - p)))
			return -EPROTO;
		h->names[i] = (char *)p;
		p = nul + 1;
	}
	if (p != end)
		return -EPROTO;
	h->state = hdr.state_len ? end : NULL;
	h->state_len = hdr.state_len;
	return 0;
}

/* Connect to an old process that offers at a Unix path, waiting for it
 * to listen there until @deadline; trying once, nobody there yet is
 * -ECONNREFUSED. */
static int connect_path(const char *path, int64_t deadline, int *ret)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	size_t len = strlen(path);
	int r;

	if (len == 0 || len >= sizeof(sa.sun_path))
		return -EINVAL;
	memcpy(sa.sun_path, path, len);
	r = ipk__sock_connect(AF_UNIX, SOCK_SEQPACKET, (struct sockaddr *)&sa, sizeof(sa), false,
			      deadline, ret);
	if (deadline == IPK__NOWAIT && (r == -ENOENT || r == -EAGAIN))
		r = -ECONNREFUSED;
	return r;
}

static int take_socket(ipk_handoff *h, int64_t deadline)
{
	struct ipk_fdmsg m = { .fds = h->fds, .max_fds = IPK_HANDOFF_FDS_MAX };
	struct ipk_cred c;
	ssize_t got;
	int r;

	r = ipk_peer_cred(h->sock, &c);
	if (r < 0)
		return r == -ENOTSOCK || r == -EBADF ? -EINVAL : r;
	if (c.uid != geteuid())
		return -EPERM; /* only our own uid may hand us listeners */
	h->old = c.pid;
	h->buf = malloc(OFFER_MAX);
	if (!h->buf)
		return -ENOMEM;
	got = ipk_fd_recv(h->sock, h->buf, OFFER_MAX, &m, remaining(deadline));
	if (got == -ETOOMANYREFS || got == -EMSGSIZE || got == -EBADMSG)
		return -EPROTO;
	if (got < 0)
		return (int)got;
	if (got == 0 && m.nfds == 0)
		return -EPIPE; /* seqpacket EOF: the old process is gone */
	h->n = m.nfds;
	return parse_offer(h, (size_t)got);
}

/* Socket activation: LISTEN_FDS descriptors with LISTEN_FDNAMES. */
static int take_activation(ipk_handoff *h)
{
	const char *names = getenv("LISTEN_FDNAMES");
	int n = ipk_listen_fds(false);

	if (n < 0)
		return n;
	if (n == 0)
		return -ENOENT;
	if (n > IPK_HANDOFF_FDS_MAX)
		return -EINVAL;
	for (int i = 0; i < n; i++) {
		const char *colon = names ? strchr(names, ':') : NULL;
		size_t len = names ? (colon ? (size_t)(colon - names) : strlen(names)) : 0;

		if (names && name_ok(names, len))
			memcpy(h->anames[i], names, len);
		else
			memcpy(h->anames[i], "unknown", 8); /* what systemd calls it */
		h->names[i] = h->anames[i];
		h->fds[i] = IPK_LISTEN_FDS_START + i;
		names = colon ? colon + 1 : NULL;
	}
	h->n = (unsigned)n;
	(void)unsetenv("LISTEN_PID");
	(void)unsetenv("LISTEN_FDS");
	(void)unsetenv("LISTEN_FDNAMES");
	return 0;
}

IPK_API int ipk_handoff_take(const char *from, int64_t timeout_ns, ipk_handoff **ret)
{
	int64_t deadline = ipk__deadline(timeout_ns);
	ipk_handoff *h;
	uint64_t v;
	int r;

	IPK_CHECK_ARG(ret);
	if (!from)
		from = getenv(IPK_HANDOFF_ENV);
	h = handoff_new();
	if (!h)
		return -ENOMEM;
	if (!from || !*from) {
		r = take_activation(h);
		goto out;
	}
	if (!strncmp(from, "fd:", 3)) {
		r = ipk__parse_u64(from + 3, strlen(from + 3), 10, &v);
		if (r < 0 || v > INT_MAX) {
			r = -EINVAL;
			goto out;
		}
		/* the inherited descriptor is ours now, close-on-exec */
		if (fcntl((int)v, F_SETFD, FD_CLOEXEC) < 0) {
			r = -EINVAL;
			goto out;
		}
		h->sock = (int)v;
	} else if (!strncmp(from, "unix+seqpacket:", 15)) {
		r = connect_path(from + 15, deadline, &h->sock);
		if (r < 0)
			goto out;
	} else {
		r = -EINVAL;
		goto out;
	}
	(void)unsetenv(IPK_HANDOFF_ENV);
	r = take_socket(h, deadline);
out:
	if (r < 0) {
		ipk_handoff_free(h); /* closes every descriptor that came */
		return r;
	}
	*ret = h;
	return 0;
}

IPK_API unsigned ipk_handoff_count(const ipk_handoff *h)
{
	return h ? h->n : 0;
}

IPK_API int ipk_handoff_fd(ipk_handoff *h, unsigned i, const char **name)
{
	int fd;

	IPK_CHECK_ARG(h);
	if (i >= h->n)
		return -ENOENT;
	if (h->fds[i] < 0)
		return -EBADF;
	fd = h->fds[i];
	h->fds[i] = -1;
	if (name)
		*name = h->names[i];
	return fd;
}

IPK_API int ipk_handoff_find(const ipk_handoff *h, const char *name)
{
	IPK_CHECK_ARG(h && name);
	for (unsigned i = 0; i < h->n; i++)
		if (!strcmp(h->names[i], name))
			return (int)i;
	return -ENOENT;
}

IPK_API const void *ipk_handoff_state(const ipk_handoff *h, size_t *len)
{
	if (len)
		*len = h ? h->state_len : 0;
	return h ? h->state : NULL;
}

IPK_API pid_t ipk_handoff_peer(const ipk_handoff *h)
{
	return h ? h->old : 0;
}

IPK_API int ipk_handoff_ready(ipk_handoff *h, int64_t timeout_ns)
{
	struct wire_ready rdy;
	int r;

	IPK_CHECK_ARG(h);
	if (h->sock < 0)
		return 0; /* socket activation: nobody to tell */
	memset(&rdy, 0, sizeof(rdy));
	memcpy(rdy.magic, READY_MAGIC, sizeof(rdy.magic));
	rdy.version = WIRE_VERSION;
	r = ipk_fd_send(h->sock, &rdy, sizeof(rdy), NULL, 0, timeout_ns);
	ipk__close(h->sock);
	h->sock = -1;
	return r;
}

IPK_API int ipk_listen_fds(bool unset_env)
{
	const char *spid = getenv("LISTEN_PID"), *sn = getenv("LISTEN_FDS");
	uint64_t pid, n;
	int r = 0;

	if (!spid || !sn)
		goto out;
	if (ipk__parse_u64(spid, strlen(spid), 10, &pid) < 0 ||
	    ipk__parse_u64(sn, strlen(sn), 10, &n) < 0 || n > INT_MAX - IPK_LISTEN_FDS_START) {
		r = -EINVAL;
		goto out;
	}
	if (pid != (uint64_t)getpid())
		goto out; /* meant for another process (our parent, say) */
	for (int fd = IPK_LISTEN_FDS_START; fd < IPK_LISTEN_FDS_START + (int)n; fd++) {
		int fl = fcntl(fd, F_GETFD);

		if (fl < 0 || fcntl(fd, F_SETFD, fl | FD_CLOEXEC) < 0) {
			r = ipk__neg_errno();
			goto out;
		}
	}
	r = (int)n;
out:
	if (unset_env) {
		(void)unsetenv("LISTEN_PID");
		(void)unsetenv("LISTEN_FDS");
		(void)unsetenv("LISTEN_FDNAMES");
	}
	return r;
}
