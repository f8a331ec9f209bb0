/* SPDX-License-Identifier: MIT */
/*
 * inspect_sysv.c - System V message queues, shared-memory segments and
 * semaphore sets, from /proc/sysvipc/{msg,shm,sem}. A segment is entered
 * in the index as (DEV_SYSV, id): mappings name it by its id in the inode
 * field. Who attaches or maps a segment is the process scan's
 * (inspect_holders.c).
 */
#include <stdio.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/sem.h>

#include "inspect_internal.h"

/* Opens /proc/sysvipc/@what and skips its title line; NULL if missing. */
static FILE *open_sysvipc(const char *what)
{
	char path[64], line[512];
	FILE *f;

	snprintf(path, sizeof(path), "/proc/sysvipc/%s", what);
	f = fopen(path, "re");
	if (f && !fgets(line, sizeof(line), f)) {
		fclose(f);
		return NULL;
	}
	return f;
}

static void set_key_name(struct obj *o, long long key)
{
	o->o.key = key;
	snprintf(o->o.name, sizeof(o->o.name), "0x%08x", (unsigned)(int)key);
}

int ipk__inspect_scan_sysv_msg(ipk_inspect *in)
{
	long long key, id, cbytes, qnum, stime, rtime, ctime;
	unsigned perms, uid, gid;
	int lspid, lrpid;
	char line[512];
	struct obj *o;
	FILE *f = open_sysvipc("msg");

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		stime = rtime = ctime = 0;
		if (sscanf(line, "%lld %lld %o %lld %lld %d %d %u %u %*u %*u %lld %lld %lld", &key,
			   &id, &perms, &cbytes, &qnum, &lspid, &lrpid, &uid, &gid, &stime, &rtime,
			   &ctime) < 9)
			continue;
		o = ipk__inspect_new_obj(in, IPK_OBJ_SYSV_MSG);
		if (!o) {
			fclose(f);
			return -ENOMEM;
		}
		set_key_name(o, key);
		o->o.id = id;
		o->o.mode = perms & 07777;
		o->o.size = (uint64_t)cbytes;
		o->o.count = (uint64_t)qnum;
		o->o.lpid = lspid;
		o->o.lrpid = lrpid;
		o->t_lpid = stime;
		o->t_lrpid = rtime;
		o->t_ctime = ctime;
		o->o.uid = uid;
		o->o.gid = gid;
	}
	fclose(f);
	return 0;
}

int ipk__inspect_scan_sysv_shm(ipk_inspect *in)
{
	long long key, id, nattch, atime, dtime, ctime;
	unsigned long long size;
	unsigned perms, uid, gid;
	int cpid, lpid;
	char line[512];
	struct obj *o;
	FILE *f = open_sysvipc("shm");

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		atime = dtime = ctime = 0;
		if (sscanf(line, "%lld %lld %o %llu %d %d %lld %u %u %*u %*u %lld %lld %lld", &key,
			   &id, &perms, &size, &cpid, &lpid, &nattch, &uid, &gid, &atime, &dtime,
			   &ctime) < 9)
			continue;
		o = ipk__inspect_new_obj(in, IPK_OBJ_SYSV_SHM);
		if (!o) {
			fclose(f);
			return -ENOMEM;
		}
		set_key_name(o, key);
		o->o.id = id;
		o->o.mode = perms & 07777;
		o->o.size = size;
		o->o.count = (uint64_t)nattch;
		o->o.cpid = cpid;
		o->o.lpid = lpid;
		o->t_lpid = atime > dtime ? atime : dtime;
		o->t_ctime = ctime;
		o->o.uid = uid;
		o->o.gid = gid;
		/* Mappings name the segment by its id in the inode field:
		 * looked up with dev UINT64_MAX, which no file has. */
		if (ipk__inspect_add_key(in, DEV_SYSV, (uint64_t)id, in->n - 1) < 0) {
			fclose(f);
			return -ENOMEM;
		}
	}
	fclose(f);
	return 0;
}

/* The pid of a live process among the set's last operators, else the last
 * nonzero one, else 0 (no semop yet); -1 if we may not ask. Adds the
 * processes blocked in semop() on it to *@waiters. */
static pid_t sem_last_pid(int id, unsigned long nsems, unsigned long *waiters)
{
	pid_t last = 0, live = 0;

	for (unsigned long i = 0; i < nsems && i < 4096; i++) {
		int p = semctl(id, (int)i, GETPID);
		int nw = semctl(id, (int)i, GETNCNT), zw = semctl(id, (int)i, GETZCNT);

		if (p < 0)
			return -1;
		*waiters += (unsigned long)(nw > 0 ? nw : 0) + (unsigned long)(zw > 0 ? zw : 0);
		if (p > 0 && !live && ipk__pid_exists(p))
			live = p;
		if (p > 0)
			last = p;
	}
	return live ? live : last;
}

int ipk__inspect_scan_sysv_sem(ipk_inspect *in)
{
	long long key, id;
	unsigned long nsems;
	unsigned perms, uid, gid;
	char line[512];
	struct obj *o;
	FILE *f = open_sysvipc("sem");

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%lld %lld %o %lu %u %u", &key, &id, &perms, &nsems, &uid, &gid) !=
		    6)
			continue;
		o = ipk__inspect_new_obj(in, IPK_OBJ_SYSV_SEM);
		if (!o) {
			fclose(f);
			return -ENOMEM;
		}
		set_key_name(o, key);
		o->o.id = id;
		o->o.mode = perms & 07777;
		o->o.count = nsems;
		o->o.uid = uid;
		o->o.gid = gid;
		o->o.lpid = sem_last_pid((int)id, nsems, &o->waiters);
	}
	fclose(f);
	return 0;
}
