/* SPDX-License-Identifier: MIT */
/*
 * tests/bus/ring.c - rings offered over D-Bus (ipk_bus_ring_offer) and the
 * dbus:BUSNAME/NAME channel. A publisher process offers a memfd ring and
 * publishes; the test subscribes through the bus and checks: messages
 * arrive through shared memory; the feed it got is a sealed memfd, open
 * read-only, that cannot be mapped writable; the properties; a ring that is not offered (-ENOENT /
 * -ETIMEDOUT) and a service that does not exist (-EHOSTUNREACH); fds that are not a sealed
 * read-only memfd are refused by the subscriber (-EPROTO); a publisher that dies gives -EPIPE, and
 * one that comes back under the same name gives -ECONNRESET, the Restarted signal, and its
 * messages.
 *
 * `test-bus_ring other-user`: another user (nobody) is refused
 * (AccessDenied, by the publisher from the bus's credentials) where the
 * ring is not offered to all; needs root, skips (77) without.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/mman.h>

#include "busd.h"

static char busname[64];
static struct busd busd;

static int64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * IPK_SEC + ts.tv_nsec;
}

/* --- fake ring objects: Open returns what a subscriber must refuse ------- */

enum fake { FAKE_UNSEALED, FAKE_FILE, FAKE_WRITABLE };

static int fake_open(ipk_bus_msg *call, ipk_bus_msg *reply, void *arg, struct ipk_bus_error *err)
{
	enum fake kind = (enum fake)(long)arg;
	char path[64];
	int fd = -1, bell, r;

	(void)call;
	(void)err;
	bell = memfd_create("bell", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (bell < 0 || ftruncate(bell, 4096) < 0 ||
	    fcntl(bell, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) < 0)
		return -EIO;
	switch (kind) {
	case FAKE_UNSEALED:
		fd = memfd_create("fake", MFD_CLOEXEC);
		if (fd >= 0 && ftruncate(fd, 65536) < 0)
			return -EIO;
		break;
	case FAKE_FILE:
		snprintf(path, sizeof(path), "/tmp/ipk-busfake-%d", (int)getpid());
		fd = open(path, O_RDONLY | O_CREAT | O_CLOEXEC, 0600);
		unlink(path);
		break;
	case FAKE_WRITABLE:
		fd = memfd_create("fake", MFD_CLOEXEC | MFD_ALLOW_SEALING);
		if (fd >= 0 &&
		    (ftruncate(fd, 65536) < 0 ||
		     fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) < 0))
			return -EIO;
		break;
	}
	if (fd < 0)
		return -errno;
	r = ipk_bus_msg_append(reply, "hh", fd, bell);
	close(fd);
	close(bell);
	return r;
}

static const struct ipk_bus_method fake_methods[] = {
	{ "Open", "", "hh", fake_open, NULL },
	{ NULL, NULL, NULL, NULL, NULL },
};

static const struct ipk_bus_interface fake_iface = { "org.ipckit.Ring1", fake_methods, NULL, NULL };

/* --- a gate: Open answers "no such object" and counts the asks ----------- */

static int gate_open(ipk_bus_msg *call, ipk_bus_msg *reply, void *arg, struct ipk_bus_error *err)
{
	(void)call;
	(void)reply;
	++*(int *)arg;
	snprintf(err->name, sizeof(err->name), "org.freedesktop.DBus.Error.UnknownObject");
	snprintf(err->message, sizeof(err->message), "not offered yet");
	return -ENOENT;
}

static const struct ipk_bus_method gate_methods[] = {
	{ "Open", "", "hh", gate_open, NULL },
	{ NULL, NULL, NULL, NULL, NULL },
};

static const struct ipk_bus_interface gate_iface = { "org.ipckit.Ring1", gate_methods, NULL, NULL };

/* --- the publisher ------------------------------------------------------- */

static volatile sig_atomic_t stop;

static void on_term(int sig)
{
	(void)sig;
	stop = 1;
}

/* Offers "feed" (64 KiB) and the fakes, then publishes "N" every 2 ms
 * while serving the bus. */
static int publisher(void *arg)
{
	struct ipk_ring_opts ro = { .capacity = 65536, .max_msg = 1000 };
	struct ipk_bus_ring_opts anyone = { .allow_uid = (uid_t)-1, .flags = IPK_BUS_RING_ANY_UID };
	int ready = *(int *)arg;
	ipk_bus_ring *offer, *pub_offer;
	ipk_ring *ring;
	ipk_bus *b;
	unsigned long n = 0;
	char msg[32];

	signal(SIGTERM, on_term);
	T_OK(ipk_ring_create(NULL, &ro, &ring));
	T_OK(ipk_bus_open(busd.addr, &b));
	T_OK(ipk_bus_request_name(b, busname, 0));
	T_EQ(ipk_bus_ring_offer(b, "bad/name", ring, NULL, &offer), -EINVAL);
	T_OK(ipk_bus_ring_offer(b, "feed", ring, NULL, &offer));
	T_OK(ipk_bus_ring_offer(b, "public", ring, &anyone, &pub_offer));
	T_EQ(ipk_bus_ring_offer(b, "feed", ring, NULL, &(ipk_bus_ring *){ NULL }), -EEXIST);
	T_OK(ipk_bus_export(b, "/org/ipckit/ring/unsealed", &fake_iface,
			    (void *)(long)FAKE_UNSEALED, NULL));
	T_OK(ipk_bus_export(b, "/org/ipckit/ring/file", &fake_iface, (void *)(long)FAKE_FILE,
			    NULL));
	T_OK(ipk_bus_export(b, "/org/ipckit/ring/writable", &fake_iface,
			    (void *)(long)FAKE_WRITABLE, NULL));
	T_EQ(write(ready, "R", 1), 1);
	close(ready);
	while (!stop) {
		int len = snprintf(msg, sizeof(msg), "%lu", n++);

		T_OK(ipk_ring_publish(ring, msg, (size_t)len));
		if (ipk_bus_run_once(b, 2 * IPK_MSEC) < 0 && ipk_bus_process(b) < 0)
			break;
	}
	ipk_bus_ring_withdraw(offer);
	ipk_bus_ring_withdraw(pub_offer);
	ipk_bus_close(b);
	ipk_ring_close(ring);
	return 0;
}

/* Opens dbus: @arg before the ring is offered; its first message is "0". */
static int early_subscriber(void *arg)
{
	char buf[64];
	ipk_chan *ch;
	ssize_t n;

	T_OK(ipk_chan_open(arg, IPK_CHAN_RDONLY, 10 * IPK_SEC, &ch));
	n = ipk_chan_recv(ch, buf, sizeof(buf) - 1, 5 * IPK_SEC);
	T_TRUE(n > 0);
	buf[n] = '\0';
	T_TRUE(!strcmp(buf, "0"));
	T_EQ(ipk_chan_skipped(ch), 0);
	ipk_chan_close(ch);
	return 0;
}

static pid_t start_publisher(void)
{
	int pfd[2];
	pid_t pid;
	char c;

	T_SYS(pipe(pfd));
	pid = t_fork(publisher, &pfd[1]);
	close(pfd[1]);
	T_EQ(read(pfd[0], &c, 1), 1);
	close(pfd[0]);
	return pid;
}

/* --- checks ------------------------------------------------------------ */

/* Another user calls Open: the publisher refuses it for "feed" (only its
 * own user and root), and lets it in for "public" (IPK_BUS_RING_ANY_UID). */
static int stranger(void *arg)
{
	struct ipk_bus_error e;
	ipk_ring_sub *sub = NULL;
	ipk_bus *b;
	int r;

	(void)arg;
	if (t_drop_root() < 0)
		return 10;
	r = ipk_bus_open(busd.addr, &b);
	if (r < 0) {
		fprintf(stderr, "stranger: ipk_bus_open: %s\n", ipk_errname(r));
		return 11;
	}
	r = ipk_bus_ring_open(b, busname, "feed", NULL, IPK_SEC, &e, &sub);
	if (r != -EACCES || strcmp(e.name, "org.freedesktop.DBus.Error.AccessDenied") != 0) {
		fprintf(stderr, "stranger: got %d (%s) %s\n", r, ipk_errname(r), e.name);
		return 12;
	}
	r = ipk_bus_ring_open(b, busname, "public", NULL, IPK_SEC, &e, &sub);
	if (r < 0) {
		fprintf(stderr, "stranger: public: %s %s\n", ipk_errname(r), e.name);
		return 13;
	}
	{
		char buf[64];
		ssize_t n = ipk_ring_recv(sub, buf, sizeof(buf), 5 * IPK_SEC);

		if (n <= 0)
			return 14;
	}
	ipk_ring_sub_close(sub);
	ipk_bus_close(b);
	return 0;
}

/* Successive numbers from the channel; returns the last. */
static long recv_run(ipk_chan *ch, int count)
{
	char buf[64];
	long prev = -1, v = -1;

	for (int i = 0; i < count; i++) {
		ssize_t n = ipk_chan_recv(ch, buf, sizeof(buf) - 1, 5 * IPK_SEC);

		T_OK(n);
		buf[n] = '\0';
		v = strtol(buf, NULL, 10);
		if (prev >= 0)
			T_EQ(v, prev + 1);
		prev = v;
	}
	return v;
}

struct restarted {
	int seen;
	uint32_t pid;
};

static int on_restarted(ipk_bus_msg *m, void *arg)
{
	struct restarted *rs = arg;
	uint64_t epoch;

	if (ipk_bus_msg_read(m, "tu", &epoch, &rs->pid) > 0)
		rs->seen++;
	return 0;
}

/* The stranger's checks against a publisher of their own. */
static int other_user(void)
{
	pid_t pub;

	if (geteuid() != 0)
		T_SKIP("not root: needs a second uid (nobody) to call Open");
	signal(SIGPIPE, SIG_IGN);
	busd_start(&busd);
	snprintf(busname, sizeof(busname), "org.ipckit.RingTest.U%d", (int)getpid());
	pub = start_publisher();
	t_wait_exit(t_fork(stranger, NULL), 0);
	T_SYS(kill(pub, SIGTERM));
	t_wait_exit(pub, 0);
	busd_stop(&busd);
	printf("ok: uid 65534 is refused \"feed\" (AccessDenied) and reads \"public\"\n");
	return 0;
}

int main(int argc, char **argv)
{
	struct ipk_bus_error e;
	struct restarted rs = { 0 };
	ipk_bus_msg *rep;
	ipk_ring_sub *sub;
	ipk_chan *ch;
	ipk_bus *b;
	char url[128], path[256];
	uint64_t t64;
	uint32_t u32;
	ipk_bus_slot *gate;
	pid_t pub, pub2, early;
	int feed, bell, seals, asked = 0, r;
	ssize_t n;
	int64_t t0;
	void *p;

	if (argc == 2 && !strcmp(argv[1], "other-user"))
		return other_user();
	if (argc != 1)
		T_FAIL("usage: %s [other-user]", argv[0]);
	signal(SIGPIPE, SIG_IGN);
	busd_start(&busd);
	snprintf(busname, sizeof(busname), "org.ipckit.RingTest.P%d", (int)getpid());
	snprintf(url, sizeof(url), "dbus:%s/feed", busname);
	T_OK(ipk_bus_ring_path("feed", path, sizeof(path)));
	T_TRUE(!strcmp(path, "/org/ipckit/ring/feed"));
	T_EQ(ipk_bus_ring_path("no-dash", path, sizeof(path)), -EINVAL);

	T_OK(ipk_bus_open(NULL, &b)); /* "session": the private bus, from the environment */
	/* nobody offers anything yet: a service that does not exist */
	T_EQ(ipk_bus_ring_open(b, busname, "feed", NULL, 0, &e, &sub), -EHOSTUNREACH);
	T_TRUE(!strcmp(e.name, "org.freedesktop.DBus.Error.ServiceUnknown"));
	t0 = mono_ns();
	T_EQ(ipk_bus_ring_open(b, busname, "feed", NULL, 200 * IPK_MSEC, &e, &sub), -ETIMEDOUT);
	T_TRUE(mono_ns() - t0 >= 150 * IPK_MSEC);

	/* a subscriber that waits for the offer starts at the ring's first
	 * message: the publisher writes from the moment it offers. Until the
	 * subscriber has asked once and been told "not offered", the test holds
	 * the name with a gate, so the subscriber surely waits. */
	T_OK(ipk_bus_request_name(b, busname, 0));
	T_OK(ipk_bus_export(b, "/org/ipckit/ring/feed", &gate_iface, &asked, &gate));
	early = t_fork(early_subscriber, url);
	t0 = mono_ns();
	while (!asked) {
		T_TRUE(mono_ns() - t0 < 10 * IPK_SEC);
		/* a slow start of the subscriber is a slice without news */
		r = ipk_bus_run_once(b, 100 * IPK_MSEC);
		T_TRUE(r >= 0 || r == -ETIMEDOUT);
	}
	/* give the name up, then answer what reached us before it went */
	T_OK(ipk_bus_release_name(b, busname));
	while ((r = ipk_bus_process(b)) > 0)
		;
	T_TRUE(r == 0);
	ipk_bus_slot_free(gate);
	pub = start_publisher();
	t_wait_exit(early, 0);

	/* the channel, through the bus */
	T_OK(ipk_chan_open(url, IPK_CHAN_RDONLY, 5 * IPK_SEC, &ch));
	T_EQ(ipk_chan_max_msg(ch), 1000);
	recv_run(ch, 20);
	T_EQ(ipk_chan_send(ch, "x", 1, 0), -EBADF);
	/* a subscriber only receives */
	T_EQ(ipk_chan_open(url, IPK_CHAN_CREATE, IPK_SEC, &(ipk_chan *){ NULL }), -EINVAL);

	/* a ring that is not offered */
	T_EQ(ipk_bus_ring_open(b, busname, "absent", NULL, 0, &e, &sub), -ENOENT);
	T_TRUE(!strcmp(e.name, "org.freedesktop.DBus.Error.UnknownObject"));

	/* properties */
	T_OK(ipk_bus_get_property(b, busname, "/org/ipckit/ring/feed", "org.ipckit.Ring1",
				  "Capacity", IPK_SEC, &e, &rep, "t"));
	T_EQ(ipk_bus_msg_read(rep, "t", &t64), 1);
	T_EQ(t64, 65536);
	ipk_bus_msg_free(rep);
	T_OK(ipk_bus_get_property(b, busname, "/org/ipckit/ring/feed", "org.ipckit.Ring1",
				  "MaxMessage", IPK_SEC, &e, &rep, "u"));
	T_EQ(ipk_bus_msg_read(rep, "u", &u32), 1);
	T_EQ(u32, 1000);
	ipk_bus_msg_free(rep);
	T_OK(ipk_bus_get_property(b, busname, "/org/ipckit/ring/feed", "org.ipckit.Ring1",
				  "PublisherPid", IPK_SEC, &e, &rep, "u"));
	T_EQ(ipk_bus_msg_read(rep, "u", &u32), 1);
	T_EQ(u32, pub);
	ipk_bus_msg_free(rep);
	T_OK(ipk_bus_get_property(b, busname, "/org/ipckit/ring/feed", "org.ipckit.Ring1",
				  "Published", IPK_SEC, &e, &rep, "t"));
	T_EQ(ipk_bus_msg_read(rep, "t", &t64), 1);
	T_TRUE(t64 >= 20);
	ipk_bus_msg_free(rep);
	/* read-only properties stay read-only */
	T_TRUE(ipk_bus_set_property(b, busname, "/org/ipckit/ring/feed", "org.ipckit.Ring1",
				    "Capacity", IPK_SEC, &e, "t", (uint64_t)1) < 0);
	T_TRUE(!strcmp(e.name, "org.freedesktop.DBus.Error.PropertyReadOnly"));

	/* the feed itself: sealed memfd, read-only, never mappable writable */
	T_OK(ipk_bus_call(b, busname, "/org/ipckit/ring/feed", "org.ipckit.Ring1", "Open", IPK_SEC,
			  &e, &rep, ""));
	T_OK(ipk_bus_msg_read_fd(rep, &feed));
	T_OK(ipk_bus_msg_read_fd(rep, &bell));
	ipk_bus_msg_free(rep);
	T_EQ(fcntl(feed, F_GETFL) & O_ACCMODE, O_RDONLY);
	seals = fcntl(feed, F_GET_SEALS);
	T_SYS(seals);
	T_TRUE((seals & (F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL)) ==
	       (F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL));
	p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, feed, 0);
	T_TRUE(p == MAP_FAILED);
	T_EQ(ftruncate(feed, 0), -1);
	close(feed);
	close(bell);

	/* fds that are not a sealed, read-only memfd are refused */
	T_EQ(ipk_bus_ring_open(b, busname, "unsealed", NULL, IPK_SEC, &e, &sub), -EPROTO);
	T_EQ(ipk_bus_ring_open(b, busname, "file", NULL, IPK_SEC, &e, &sub), -EPROTO);
	T_EQ(ipk_bus_ring_open(b, busname, "writable", NULL, IPK_SEC, &e, &sub), -EPROTO);
	T_EQ(ipk_chan_open("dbus:org.x.Y/bad-name", IPK_CHAN_RDONLY, 0, &(ipk_chan *){ NULL }),
	     -EINVAL);

	/* the publisher dies: -EOWNERDEAD once drained; no one to take over */
	T_SYS(kill(pub, SIGKILL));
	T_SYS(waitpid(pub, NULL, 0));
	for (;;) {
		char buf[64];

		n = ipk_chan_recv(ch, buf, sizeof(buf), 5 * IPK_SEC);
		if (n < 0)
			break;
	}
	T_EQ(n, -EOWNERDEAD);

	/* a new publisher under the same name: Restarted, -ECONNRESET, data */
	T_OK(ipk_bus_match(b, busname, "/org/ipckit/ring/feed", "org.ipckit.Ring1", "Restarted",
			   on_restarted, &rs, NULL));
	pub2 = start_publisher();
	t0 = mono_ns();
	while (!rs.seen && mono_ns() - t0 < 5 * IPK_SEC)
		(void)ipk_bus_run_once(b, 100 * IPK_MSEC);
	T_EQ(rs.seen, 1);
	T_EQ(rs.pid, pub2);
	{
		char buf[64];

		T_EQ(ipk_chan_recv(ch, buf, sizeof(buf), 5 * IPK_SEC), -ECONNRESET);
	}
	recv_run(ch, 10);
	ipk_chan_close(ch);

	/* ipk_bus_ring_open directly, and a clean end */
	T_OK(ipk_bus_ring_open(b, busname, "feed", NULL, IPK_SEC, &e, &sub));
	{
		char buf[64];

		T_OK(ipk_ring_recv(sub, buf, sizeof(buf), 5 * IPK_SEC));
	}
	T_SYS(kill(pub2, SIGTERM));
	t_wait_exit(pub2, 0);
	{
		char buf[64];

		do
			n = ipk_ring_recv(sub, buf, sizeof(buf), 5 * IPK_SEC);
		while (n >= 0);
		T_EQ(n, -EPIPE);
	}
	ipk_ring_sub_close(sub);
	ipk_bus_close(b);
	busd_stop(&busd);
	return 0;
}
