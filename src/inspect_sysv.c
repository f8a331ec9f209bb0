/* SPDX-License-Identifier: MIT */
/*
 * inspect_sysv.c - System V message queues, shared-memory segments and
 * semaphore sets, from /proc/sysvipc/{msg,shm,sem}: one scanner, and a
 * table per kind of which column of its file fills which field. A segment
 * is entered in the index as (DEV_SYSV, id): mappings name it by its id in
 * the inode field. Who attaches or maps a segment is the process scan's
 * (inspect_holders.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/sem.h>

#include "inspect_internal.h"

/* What a column of /proc/sysvipc/{msg,shm,sem} fills. */
enum sysv_field {
	SYSV_SKIP,
	SYSV_KEY,
	SYSV_ID,
	SYSV_PERMS, /* octal */
	SYSV_SIZE,  /* unsigned */
	SYSV_COUNT,
	SYSV_CREATOR_PID,
	SYSV_LAST_PID,
	SYSV_LAST_RECEIVER_PID,
	SYSV_UID,
	SYSV_GID,
	SYSV_LAST_PID_TIME, /* the latest of the columns that name it */
	SYSV_LAST_RECEIVER_TIME,
	SYSV_CHANGE_TIME,
};

#define SYSV_MAX_COLUMNS 14

struct sysv_table {
	enum ipk_inspect_kind kind;
	const char *file;  /* under /proc/sysvipc */
	unsigned required; /* a line with fewer leading columns is skipped */
	unsigned ncolumns; /* columns read; any further ones are ignored */
	enum sysv_field columns[SYSV_MAX_COLUMNS];
	/* What the columns do not say, for object @idx; 0 or -ENOMEM. */
	int (*complete)(ipk_inspect *in, size_t idx);
};

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

static int complete_sem(ipk_inspect *in, size_t idx)
{
	struct inspect_obj *o = &in->objs[idx];

	o->pub.lpid = sem_last_pid((int)o->pub.id, (unsigned long)o->pub.count, &o->waiters);
	return 0;
}

/* Mappings name the segment by its id in the inode field: looked up with
 * dev DEV_SYSV, which no file has. */
static int complete_shm(ipk_inspect *in, size_t idx)
{
	return ipk__inspect_add_key(in, DEV_SYSV, (uint64_t)in->objs[idx].pub.id, idx);
}

static const struct sysv_table sysv_tables[] = {
	{
		.kind = IPK_INSPECT_SYSV_MSG,
		.file = "msg",
		.required = 9,
		.ncolumns = 14,
		/* key msqid perms cbytes qnum lspid lrpid uid gid cuid cgid
		 * stime rtime ctime */
		.columns = { SYSV_KEY, SYSV_ID, SYSV_PERMS, SYSV_SIZE, SYSV_COUNT, SYSV_LAST_PID,
			     SYSV_LAST_RECEIVER_PID, SYSV_UID, SYSV_GID, SYSV_SKIP, SYSV_SKIP,
			     SYSV_LAST_PID_TIME, SYSV_LAST_RECEIVER_TIME, SYSV_CHANGE_TIME },
	},
	{
		.kind = IPK_INSPECT_SYSV_SHM,
		.file = "shm",
		.required = 9,
		.ncolumns = 14,
		/* key shmid perms size cpid lpid nattch uid gid cuid cgid
		 * atime dtime ctime (rss swap) */
		.columns = { SYSV_KEY, SYSV_ID, SYSV_PERMS, SYSV_SIZE, SYSV_CREATOR_PID,
			     SYSV_LAST_PID, SYSV_COUNT, SYSV_UID, SYSV_GID, SYSV_SKIP, SYSV_SKIP,
			     SYSV_LAST_PID_TIME, SYSV_LAST_PID_TIME, SYSV_CHANGE_TIME },
		.complete = complete_shm,
	},
	{
		.kind = IPK_INSPECT_SYSV_SEM,
		.file = "sem",
		.required = 6,
		.ncolumns = 6,
		/* key semid perms nsems uid gid (cuid cgid otime ctime) */
		.columns = { SYSV_KEY, SYSV_ID, SYSV_PERMS, SYSV_COUNT, SYSV_UID, SYSV_GID },
		.complete = complete_sem,
	},
};

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

/* Reads up to @t->ncolumns numbers of @line into @values; returns how many
 * leading ones there were. */
static unsigned parse_columns(const struct sysv_table *t, const char *line, long long *values)
{
	unsigned n;

	for (n = 0; n < t->ncolumns; n++) {
		char *end;

		if (t->columns[n] == SYSV_PERMS)
			values[n] = strtoll(line, &end, 8);
		else if (t->columns[n] == SYSV_SIZE)
			values[n] = (long long)strtoull(line, &end, 10);
		else
			values[n] = strtoll(line, &end, 10);
		if (end == line)
			break;
		line = end;
	}
	return n;
}

static void fill_field(struct inspect_obj *o, enum sysv_field field, long long v)
{
	switch (field) {
	case SYSV_SKIP:
		break;
	case SYSV_KEY:
		o->pub.key = v;
		snprintf(o->pub.name, sizeof(o->pub.name), "0x%08x", (unsigned)(int)v);
		break;
	case SYSV_ID:
		o->pub.id = v;
		break;
	case SYSV_PERMS:
		o->pub.mode = (uint32_t)v & 07777;
		break;
	case SYSV_SIZE:
		o->pub.size = (uint64_t)v;
		break;
	case SYSV_COUNT:
		o->pub.count = (uint64_t)v;
		break;
	case SYSV_CREATOR_PID:
		o->pub.cpid = (pid_t)v;
		break;
	case SYSV_LAST_PID:
		o->pub.lpid = (pid_t)v;
		break;
	case SYSV_LAST_RECEIVER_PID:
		o->pub.lrpid = (pid_t)v;
		break;
	case SYSV_UID:
		o->pub.uid = (uid_t)v;
		break;
	case SYSV_GID:
		o->pub.gid = (gid_t)v;
		break;
	case SYSV_LAST_PID_TIME:
		if (v > o->lpid_time)
			o->lpid_time = v;
		break;
	case SYSV_LAST_RECEIVER_TIME:
		o->lrpid_time = v;
		break;
	case SYSV_CHANGE_TIME:
		o->change_time = v;
		break;
	}
}

static int scan_table(ipk_inspect *in, const struct sysv_table *t)
{
	long long values[SYSV_MAX_COLUMNS];
	char line[512];
	int rc = 0;
	FILE *f = open_sysvipc(t->file);

	if (!f)
		return 0;
	while (rc == 0 && fgets(line, sizeof(line), f)) {
		unsigned n = parse_columns(t, line, values);
		struct inspect_obj *o;

		if (n < t->required)
			continue;
		o = ipk__inspect_new_obj(in, t->kind);
		if (!o) {
			rc = -ENOMEM;
			break;
		}
		for (unsigned i = 0; i < n; i++)
			fill_field(o, t->columns[i], values[i]);
		if (t->complete)
			rc = t->complete(in, in->nobjs - 1);
	}
	fclose(f);
	return rc;
}

int ipk__inspect_scan_sysv(ipk_inspect *in)
{
	int rc = 0;

	for (size_t i = 0; rc == 0 && i < sizeof(sysv_tables) / sizeof(sysv_tables[0]); i++)
		if (ipk__inspect_wants(in, sysv_tables[i].kind))
			rc = scan_table(in, &sysv_tables[i]);
	return rc;
}
