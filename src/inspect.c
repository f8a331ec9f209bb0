/* SPDX-License-Identifier: MIT */
/*
 * inspect.c - a snapshot of the host's IPC objects and their holders
 * (ipckit/inspect.h): the scan that runs each family's scanner, the
 * object array and the (dev, ino) index they fill, and the accessors.
 *
 * The families live beside it: System V in inspect_sysv.c, POSIX queues,
 * shared memory, semaphores and rings in inspect_posix.c, Unix sockets in
 * inspect_unix.c, the processes that hold or map them in
 * inspect_holders.c, and what gc may do, finding by URL and removal in
 * inspect_remove.c (inspect_internal.h says how they share the snapshot).
 * Anything that vanishes half-way (ENOENT, ESRCH) is left out; what may
 * not be read (EACCES, EPERM) is reported per process.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <time.h>

#include "inspect_internal.h"

static const char *const kind_names[IPK_INSPECT_NKINDS] = {
	"sysv-msg", "sysv-shm", "sysv-sem", "mq", "shm", "sem", "ring", "unix", "fifo", "memfd",
};

IPK_API const char *ipk_inspect_kind_name(enum ipk_inspect_kind kind)
{
	return (unsigned)kind < IPK_INSPECT_NKINDS ? kind_names[kind] : NULL;
}

IPK_API int ipk_inspect_kind_parse(const char *name)
{
	IPK_CHECK_ARG(name);
	for (int i = 0; i < IPK_INSPECT_NKINDS; i++)
		if (!strcmp(name, kind_names[i]))
			return i;
	return -EINVAL;
}

/* ---- the arrays and the index ------------------------------------------ */

int ipk__inspect_grow(void **arr, size_t *cap, size_t need, size_t elem)
{
	size_t ncap;
	void *p;

	if (need <= *cap)
		return 0;
	ncap = *cap ? *cap * 2 : 16;
	while (ncap < need)
		ncap *= 2;
	p = realloc(*arr, ncap * elem);
	if (!p)
		return -ENOMEM;
	*arr = p;
	*cap = ncap;
	return 0;
}

struct inspect_obj *ipk__inspect_new_obj(ipk_inspect *in, enum ipk_inspect_kind kind)
{
	struct inspect_obj *o;

	if (ipk__inspect_grow((void **)&in->objs, &in->cap_objs, in->nobjs + 1, sizeof(*in->objs)) <
	    0)
		return NULL;
	o = &in->objs[in->nobjs++];
	memset(o, 0, sizeof(*o));
	o->pub.kind = kind;
	o->pub.id = -1;
	o->pub.cpid = -1;
	o->pub.lpid = -1;
	o->pub.lrpid = -1;
	return o;
}

int ipk__inspect_add_key(ipk_inspect *in, uint64_t dev, uint64_t ino, size_t idx)
{
	if (ipk__inspect_grow((void **)&in->keys, &in->cap_keys, in->nkeys + 1, sizeof(*in->keys)) <
	    0)
		return -ENOMEM;
	in->keys[in->nkeys++] = (struct index_key){ dev, ino, idx };
	return 0;
}

static int key_cmp(const void *a, const void *b)
{
	const struct index_key *x = a, *y = b;

	if (x->dev != y->dev)
		return x->dev < y->dev ? -1 : 1;
	if (x->ino != y->ino)
		return x->ino < y->ino ? -1 : 1;
	return 0;
}

void ipk__inspect_sort_keys(ipk_inspect *in)
{
	/* qsort() wants a pointer even for nothing to sort */
	if (in->nkeys > 1)
		qsort(in->keys, in->nkeys, sizeof(*in->keys), key_cmp);
	in->nkeys_sorted = in->nkeys;
}

ssize_t ipk__inspect_lookup(const ipk_inspect *in, uint64_t dev, uint64_t ino)
{
	struct index_key k = { dev, ino, 0 };
	const struct index_key *hit =
		in->nkeys_sorted ? bsearch(&k, in->keys, in->nkeys_sorted, sizeof(k), key_cmp)
				 : NULL;

	if (hit)
		return (ssize_t)hit->idx;
	for (size_t i = in->nkeys_sorted; i < in->nkeys; i++)
		if (in->keys[i].dev == dev && in->keys[i].ino == ino)
			return (ssize_t)in->keys[i].idx;
	return -1;
}

int ipk__inspect_add_hold(ipk_inspect *in, size_t idx, bool peer, pid_t pid, uid_t uid,
			  const char *comm, unsigned how, int fd)
{
	struct inspect_obj *o = &in->objs[idx];
	struct ipk_holder **arr = peer ? &o->peers : &o->holders, *h;
	size_t *n = peer ? &o->npeers : &o->nholders, *cap = peer ? &o->cap_peers : &o->cap_holders;

	/* One process at a time: its holds of one object are adjacent. */
	if (*n && (*arr)[*n - 1].pid == pid) {
		h = &(*arr)[*n - 1];
		h->how |= how;
		if (fd >= 0 && (h->fd < 0 || fd < h->fd))
			h->fd = fd;
		return 0;
	}
	if (ipk__inspect_grow((void **)arr, cap, *n + 1, sizeof(**arr)) < 0)
		return -ENOMEM;
	h = &(*arr)[(*n)++];
	memset(h, 0, sizeof(*h));
	h->pid = pid;
	h->uid = uid;
	h->how = how;
	h->fd = fd;
	snprintf(h->comm, sizeof(h->comm), "%s", comm);
	return 0;
}

/* CLOCK_REALTIME at boot as the clocks are now, and ticks per second. */
static void read_clocks(ipk_inspect *in)
{
	struct timespec rt, bt;

	in->hz = sysconf(_SC_CLK_TCK);
	if (clock_gettime(CLOCK_REALTIME, &rt) < 0 || clock_gettime(CLOCK_BOOTTIME, &bt) < 0) {
		in->hz = 0; /* start times unusable: a live pid counts as alive */
		return;
	}
	in->boot_real = (double)(rt.tv_sec - bt.tv_sec) + (double)(rt.tv_nsec - bt.tv_nsec) / 1e9;
}

static int holder_cmp(const void *a, const void *b)
{
	const struct ipk_holder *x = a, *y = b;

	return (x->pid > y->pid) - (x->pid < y->pid);
}

static int obj_cmp(const void *a, const void *b)
{
	const struct inspect_obj *x = a, *y = b;

	if (x->pub.kind != y->pub.kind)
		return (int)x->pub.kind - (int)y->pub.kind;
	return strcmp(x->pub.name, y->pub.name);
}

/* Drops what the caller did not ask for (and ring pages merged into their
 * ring), sorts, points each object at its holders and says what gc may do. */
static void finish_snapshot(ipk_inspect *in)
{
	size_t k = 0;

	for (size_t i = 0; i < in->nobjs; i++) {
		struct inspect_obj *o = &in->objs[i];

		if (o->pub.kind >= IPK_INSPECT_NKINDS || !ipk__inspect_wants(in, o->pub.kind)) {
			free(o->holders);
			free(o->peers);
			continue;
		}
		in->objs[k++] = *o;
	}
	in->nobjs = k;
	/* qsort() wants a pointer even for nothing to sort */
	if (in->nobjs > 1)
		qsort(in->objs, in->nobjs, sizeof(*in->objs), obj_cmp);
	for (size_t i = 0; i < in->nobjs; i++) {
		struct inspect_obj *o = &in->objs[i];

		if (o->nholders > 1)
			qsort(o->holders, o->nholders, sizeof(*o->holders), holder_cmp);
		if (o->npeers > 1)
			qsort(o->peers, o->npeers, sizeof(*o->peers), holder_cmp);
		o->pub.holders = o->holders;
		o->pub.nholders = o->nholders;
		o->pub.peers = o->peers;
		o->pub.npeers = o->npeers;
		ipk__inspect_classify(in, o);
	}
	free(in->keys);
	in->keys = NULL;
	in->nkeys = in->cap_keys = in->nkeys_sorted = 0;
}

IPK_API int ipk_inspect_scan(unsigned kinds, ipk_inspect **ret)
{
	const unsigned no_holders =
		IPK_INSPECT_BIT(IPK_INSPECT_SYSV_MSG) | IPK_INSPECT_BIT(IPK_INSPECT_SYSV_SEM);
	ipk_inspect *in;
	int rc = 0;

	IPK_CHECK_ARG(ret && (kinds & ~IPK_INSPECT_ALL) == 0);
	in = calloc(1, sizeof(*in));
	if (!in)
		return -ENOMEM;
	in->kinds = kinds ? kinds : IPK_INSPECT_ALL;
	ipk__inspect_check_process_view(in);
	read_clocks(in);
	rc = ipk__inspect_scan_sysv(in);
	if (rc == 0 && ipk__inspect_wants(in, IPK_INSPECT_MQ))
		rc = ipk__inspect_scan_mqueue(in);
	else if (rc == 0)
		ipk__inspect_find_mqueue(in);
	if (rc == 0 &&
	    (in->kinds & (IPK_INSPECT_BIT(IPK_INSPECT_SHM) | IPK_INSPECT_BIT(IPK_INSPECT_SEM) |
			  IPK_INSPECT_BIT(IPK_INSPECT_RING))))
		rc = ipk__inspect_scan_devshm(in);
	if (rc == 0 && ipk__inspect_wants(in, IPK_INSPECT_UNIX))
		rc = ipk__inspect_scan_unix(in);
	if (rc == 0 && ipk__inspect_wants(in, IPK_INSPECT_UNIX))
		rc = ipk__inspect_scan_unix_peers(in);
	if (rc == 0) {
		ipk__inspect_sort_keys(in);
		if (in->kinds & ~no_holders)
			rc = ipk__inspect_scan_procs(in);
	}
	if (rc < 0) {
		ipk_inspect_free(in);
		return rc;
	}
	finish_snapshot(in);
	*ret = in;
	return 0;
}

IPK_API void ipk_inspect_free(ipk_inspect *in)
{
	if (!in)
		return;
	for (size_t i = 0; i < in->nobjs; i++) {
		free(in->objs[i].holders);
		free(in->objs[i].peers);
	}
	free(in->objs);
	free(in->keys);
	free(in->denied);
	free(in);
}

IPK_API size_t ipk_inspect_count(const ipk_inspect *in)
{
	return in ? in->nobjs : 0;
}

IPK_API const struct ipk_inspect_obj *ipk_inspect_obj(const ipk_inspect *in, size_t i)
{
	return in && i < in->nobjs ? &in->objs[i].pub : NULL;
}

IPK_API size_t ipk_inspect_denied(const ipk_inspect *in, const pid_t **pids)
{
	if (!in)
		return 0;
	if (pids)
		*pids = in->denied;
	return in->ndenied;
}

IPK_API size_t ipk_inspect_procs(const ipk_inspect *in)
{
	return in ? in->nprocs : 0;
}

IPK_API const char *ipk_inspect_mqueue(const ipk_inspect *in)
{
	return in && in->have_mqueue ? in->mqueue : NULL;
}
