/* SPDX-License-Identifier: MIT */
/*
 * tests/inspect/api.c - ipk_ring_info() and the ipk_inspect_* calls directly:
 * a ring's header state across publishing, a SIGKILLed publisher and a
 * takeover; a queue's consumer lag; what is not a ring; argument errors.
 */
#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>

#include "../harness.h"

static char name[64];

/* Child: create the ring, publish 5 messages, report, wait to be killed. */
static int publisher(void *arg)
{
	int *pipefd = arg;
	ipk_ring *r;

	T_OK(ipk_ring_create(name, NULL, &r));
	for (int i = 0; i < 5; i++)
		T_OK(ipk_ring_publish(r, "hello", 5));
	T_SYS(write(pipefd[1], "x", 1));
	for (;;)
		pause();
}

static const struct ipk_inspect_obj *find_ring(const ipk_inspect *in, const char *n)
{
	char url[80];
	const struct ipk_inspect_obj *o = NULL;

	snprintf(url, sizeof(url), "shm:%s", n);
	T_OK(ipk_inspect_find(in, url, &o));
	T_EQ(o->kind, IPK_INSPECT_RING);
	return o;
}

int main(void)
{
	struct ipk_ring_info info, before;
	struct ipk_ring_opts qopts = { .capacity = 4096, .flags = IPK_RING_QUEUE };
	struct ipk_ring_sub_opts cons = { .flags = IPK_RING_CONSUMER };
	char qname[64], other[64], buf[16];
	const struct ipk_inspect_obj *o;
	ipk_ring_sub *sub;
	ipk_inspect *in;
	ipk_ring *r;
	int pipefd[2], fd;
	pid_t pid;

	snprintf(name, sizeof(name), "/ipk-api-ring-%d", (int)getpid());
	snprintf(qname, sizeof(qname), "/ipk-api-queue-%d", (int)getpid());
	snprintf(other, sizeof(other), "/ipk-api-plain-%d", (int)getpid());

	/* Argument errors. */
	T_EQ(ipk_ring_info("no-slash", &info), -EINVAL);
	T_EQ(ipk_ring_info(name, NULL), -EINVAL);
	T_EQ(ipk_ring_info(name, &info), -ENOENT);
	T_EQ(ipk_inspect_scan(1u << IPK_INSPECT_NKINDS, &in), -EINVAL);
	T_EQ(ipk_inspect_scan(0, NULL), -EINVAL);
	T_EQ(ipk_inspect_kind_parse("bogus"), -EINVAL);
	T_EQ(ipk_inspect_kind_parse("ring"), IPK_INSPECT_RING);
	T_TRUE(ipk_inspect_kind_name(IPK_INSPECT_NKINDS) == NULL);

	/* Not a ring: a plain shared-memory object. */
	fd = T_SYS(shm_open(other, O_RDWR | O_CREAT | O_EXCL, 0600));
	T_SYS(ftruncate(fd, 8192));
	close(fd);
	T_EQ(ipk_ring_info(other, &info), -EPROTO);

	/* A live publisher in another process, then SIGKILL. */
	T_SYS(pipe(pipefd));
	pid = t_fork(publisher, pipefd);
	T_EQ(read(pipefd[0], buf, 1), 1);
	T_OK(ipk_ring_info(name, &info));
	T_EQ(info.pid, pid);
	T_EQ(info.alive, 1);
	T_EQ(info.closed, 0);
	T_EQ(info.queue, 0);
	T_EQ(info.epoch, 1);
	T_EQ(info.published, 5);
	T_EQ(info.capacity, 1 << 20);
	T_TRUE(info.head > 0 && info.head >= info.tail);

	T_OK(ipk_inspect_scan(IPK_INSPECT_BIT(IPK_INSPECT_RING) | IPK_INSPECT_BIT(IPK_INSPECT_SHM),
			      &in));
	o = find_ring(in, name);
	T_EQ(o->nholders, 1);
	T_EQ(o->holders[0].pid, pid);
	T_TRUE(o->holders[0].how & IPK_HOLD_MAP);
	T_EQ(ipk_inspect_orphan(o), 0);
	T_EQ(o->gc, IPK_GC_IN_USE);
	T_EQ(ipk_inspect_find(in, "shm:/ipk-api-none", &o), -ENOENT);
	T_EQ(ipk_inspect_find(in, "tcp:localhost:1", &o), -EINVAL);
	T_EQ(ipk_inspect_find(in, "sysvmq:0x1ffffffff", &o), -EINVAL);
	ipk_inspect_free(in);

	T_SYS(kill(pid, SIGKILL));
	T_SYS(waitpid(pid, NULL, 0));
	T_OK(ipk_ring_info(name, &before));
	T_EQ(before.alive, 0);
	T_EQ(before.pid, pid);
	T_OK(ipk_inspect_scan(IPK_INSPECT_BIT(IPK_INSPECT_RING), &in));
	o = find_ring(in, name);
	T_EQ(o->nholders, 0);
	/* Dead publisher, nobody holds it: an orphan, unless some process
	 * could not be inspected (it may hold it): then unknown. */
	if (ipk_inspect_denied(in, NULL) == 0) {
		T_EQ(ipk_inspect_orphan(o), 1);
		T_EQ(o->gc, IPK_GC_ORPHAN);
	} else {
		T_EQ(ipk_inspect_orphan(o), 0);
		T_EQ(o->gc, IPK_GC_UNKNOWN);
		T_TRUE(strstr(o->gc_why, "could not be inspected") != NULL);
	}
	ipk_inspect_free(in);

	/* A successor takes it over: new epoch, alive, seq continues. */
	T_OK(ipk_ring_create(name, NULL, &r));
	T_OK(ipk_ring_info(name, &info));
	T_EQ(info.epoch, 2);
	T_EQ(info.pid, getpid());
	T_EQ(info.alive, 1);
	T_EQ(info.published, 5);
	T_OK(ipk_ring_publish(r, "again", 5));
	T_OK(ipk_ring_info(name, &info));
	T_EQ(info.published, 6);
	ipk_ring_close(r);
	T_EQ(ipk_ring_info(name, &info), -ENOENT); /* close removed it */

	/* A queue: its consumer's lag. */
	T_OK(ipk_ring_create(qname, &qopts, &r));
	T_OK(ipk_ring_open(qname, &cons, &sub));
	T_OK(ipk_ring_publish(r, "0123456789", 10));
	T_OK(ipk_ring_publish(r, "0123456789", 10));
	T_OK(ipk_ring_info(qname, &info));
	T_EQ(info.queue, 1);
	T_EQ(info.has_consumer_lag, 1);
	T_EQ(info.consumer_lag, 2 * 32); /* two records of 16 + 16 bytes */
	T_EQ(ipk_ring_recv(sub, buf, sizeof(buf), 0), 10);
	T_OK(ipk_ring_info(qname, &info));
	T_EQ(info.consumer_lag, 32);
	ipk_ring_sub_close(sub);
	ipk_ring_close(r);

	/* Removal by object: the plain one. */
	T_OK(ipk_inspect_scan(IPK_INSPECT_BIT(IPK_INSPECT_SHM), &in));
	{
		char url[80];

		snprintf(url, sizeof(url), "shm:%s", other);
		T_OK(ipk_inspect_find(in, url, &o));
		T_EQ(o->kind, IPK_INSPECT_SHM);
		T_EQ(o->size, 8192);
		T_EQ(ipk_inspect_orphan(o), 0); /* nobody knows who made it */
		T_EQ(o->gc, IPK_GC_UNKNOWN);
		T_OK(ipk_inspect_remove(o));
		T_EQ(ipk_inspect_remove(o), -ENOENT);
	}
	ipk_inspect_free(in);
	return 0;
}
