/* SPDX-License-Identifier: MIT */
/*
 * tools/cmd_ls.c - `ipckit ls`: every IPC object on the host with its
 * owner, size, pids and holders, as a table or as JSON (docs/ls-schema.json).
 * Also the printing helpers that stat and gc share (ls_* in cli.h).
 */
#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include "cli.h"
#include "json.h"

static const char usage[] =
	"Usage: ipckit ls [--type KIND[,KIND...]] [--pid PID] [--user USER] [--json]\n"
	"\n"
	"List every IPC object on this host: System V queues, segments and\n"
	"semaphore sets, POSIX queues, shared memory and named semaphores,\n"
	"ipckit rings, bound Unix sockets, and the FIFOs and memfds processes\n"
	"hold. HOLDERS are live processes with the object open (fd) or mapped.\n"
	"\n"
	"Options:\n"
	"  -t, --type KINDS  only these kinds: sysv-msg sysv-shm sysv-sem mq shm\n"
	"                    sem ring unix fifo memfd (comma-separated)\n"
	"  -p, --pid PID     only objects PID holds, created or used last\n"
	"  -u, --user USER   only objects owned by USER (name or uid)\n"
	"      --json        one JSON document (schema: docs/ls-schema.json)\n"
	"  -h, --help        show this help\n";

/*
 * No mqueue mount: as root, mount a private instance over /dev/mqueue in a
 * mount namespace of our own (the host's mounts stay as they are; it goes
 * away with this process). The queues are those of our IPC namespace.
 */
static int private_mqueue(void)
{
	struct stat st;

	if (geteuid() != 0 || stat("/dev/mqueue", &st) < 0 || !S_ISDIR(st.st_mode))
		return -EPERM;
	if (unshare(CLONE_NEWNS) < 0)
		return -errno;
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
	    mount("mqueue", "/dev/mqueue", "mqueue", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
		return -errno;
	return 0;
}

int ls_scan(unsigned kinds, ipk_inspect **ret)
{
	int rc = ipk_inspect_scan(kinds, ret);

	if (rc < 0 || ipk_inspect_mqueue(*ret) ||
	    (kinds && !(kinds & IPK_INSPECT_BIT(IPK_INSPECT_MQ))))
		return rc;
	if (private_mqueue() == 0) {
		ipk_inspect_free(*ret);
		*ret = NULL;
		rc = ipk_inspect_scan(kinds, ret);
	}
	return rc;
}

int ls_parse_types(const char *arg, unsigned *kinds)
{
	char buf[256], *save = NULL, *tok;
	unsigned mask = 0;
	int k;

	if (snprintf(buf, sizeof(buf), "%s", arg) >= (int)sizeof(buf))
		return cli_usage_error("--type: list too long");
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		k = ipk_inspect_kind_parse(tok);
		if (k < 0)
			return cli_usage_error("unknown --type '%s' (one of: sysv-msg sysv-shm "
					       "sysv-sem mq shm sem ring unix fifo memfd)",
					       tok);
		mask |= IPK_INSPECT_BIT(k);
	}
	if (!mask)
		return cli_usage_error("--type: empty list");
	*kinds = mask;
	return 0;
}

/* "root", or the uid as a number if it has no name. */
const char *ls_user_name(uid_t uid, char *buf, size_t len)
{
	struct passwd *pw = getpwuid(uid);

	if (pw)
		snprintf(buf, len, "%s", pw->pw_name);
	else
		snprintf(buf, len, "%u", (unsigned)uid);
	return buf;
}

static const char *sock_type_name(int t)
{
	switch (t) {
	case SOCK_STREAM:
		return "stream";
	case SOCK_DGRAM:
		return "dgram";
	case SOCK_SEQPACKET:
		return "seqpacket";
	default:
		return "other";
	}
}

static const char *sock_state_name(const struct ipk_inspect_obj *o)
{
	if (o->listening)
		return "listening";
	switch (o->sock_state) {
	case 1:
		return "unconnected";
	case 2:
		return "connecting";
	case 3:
		return "connected";
	case 4:
		return "disconnecting";
	default:
		return "unknown";
	}
}

static void json_holders(FILE *f, const struct ipk_holder *hs, size_t n)
{
	fputc('[', f);
	for (size_t i = 0; i < n; i++) {
		const struct ipk_holder *h = &hs[i];

		fprintf(f, "%s{\"pid\": %d, \"uid\": %u, \"comm\": ", i ? ", " : "", (int)h->pid,
			(unsigned)h->uid);
		json_str(f, h->comm);
		fprintf(f, ", \"fd\": %d, \"mapped\": %s}", h->fd,
			(h->how & IPK_HOLD_MAP) ? "true" : "false");
	}
	fputc(']', f);
}

void ls_json_obj(FILE *f, const struct ipk_inspect_obj *o)
{
	char user[64];

	fprintf(f, "{\"kind\": \"%s\", \"name\": ", ipk_inspect_kind_name(o->kind));
	json_str(f, o->name);
	if (o->kind <= IPK_INSPECT_SYSV_SEM)
		fprintf(f, ", \"key\": %lld, \"id\": %lld", (long long)o->key, (long long)o->id);
	fprintf(f, ", \"uid\": %u, \"user\": ", (unsigned)o->uid);
	json_str(f, ls_user_name(o->uid, user, sizeof(user)));
	fprintf(f, ", \"gid\": %u, \"mode\": \"%04o\", \"size\": %llu, \"count\": %llu",
		(unsigned)o->gid, (unsigned)o->mode, (unsigned long long)o->size,
		(unsigned long long)o->count);
	fprintf(f, ", \"cpid\": %d, \"lpid\": %d", (int)o->cpid, (int)o->lpid);
	if (o->kind == IPK_INSPECT_SYSV_MSG)
		fprintf(f, ", \"lrpid\": %d", (int)o->lrpid);
	if (o->kind == IPK_INSPECT_MQ)
		fprintf(f, ", \"max_msg\": %llu, \"msg_size\": %llu",
			(unsigned long long)o->max_msg, (unsigned long long)o->msg_size);
	if (o->kind == IPK_INSPECT_RING) {
		const struct ipk_ring_info *r = &o->ring;

		if (o->ring_err)
			fprintf(f, ", \"ring\": {\"error\": \"%s\"}", ipk_errname(o->ring_err));
		else
			fprintf(f,
				", \"ring\": {\"publisher_pid\": %d, \"publisher_alive\": %s, "
				"\"closed\": %s, \"queue\": %s, \"epoch\": %llu, \"published\": "
				"%llu, \"capacity\": %llu, \"max_msg\": %llu, \"bytes_written\": "
				"%llu, \"consumer_lag_bytes\": %lld}",
				(int)r->pid, r->alive ? "true" : "false",
				r->closed ? "true" : "false", r->queue ? "true" : "false",
				(unsigned long long)r->epoch, (unsigned long long)r->published,
				(unsigned long long)r->capacity, (unsigned long long)r->max_msg,
				(unsigned long long)r->head,
				r->has_consumer_lag ? (long long)r->consumer_lag : -1LL);
	}
	if (o->kind == IPK_INSPECT_UNIX)
		fprintf(f,
			", \"socket\": {\"type\": \"%s\", \"state\": \"%s\", \"inode\": %llu, "
			"\"connections\": %d}",
			sock_type_name(o->sock_type), sock_state_name(o),
			(unsigned long long)o->ino, o->sock_conns);
	fprintf(f, ", \"orphan\": %s, \"gc\": \"%s\", \"gc_reason\": ",
		ipk_inspect_orphan(o) ? "true" : "false",
		o->gc == IPK_GC_ORPHAN    ? "orphan"
		: o->gc == IPK_GC_UNKNOWN ? "unknown"
					  : "in-use");
	json_str(f, o->gc_why);
	fputs(", \"holders\": ", f);
	json_holders(f, o->holders, o->nholders);
	if (o->kind == IPK_INSPECT_UNIX) {
		fputs(", \"peers\": ", f);
		json_holders(f, o->peers, o->npeers);
	}
	fputs("}", f);
}

/* "4K", "1.5M": @v bytes in at most 6 characters. */
const char *ls_size(uint64_t v, char *buf, size_t len)
{
	static const char units[] = "BKMGTP";
	double d = (double)v;
	int u = 0;

	while (d >= 1024 && u < 5) {
		d /= 1024;
		u++;
	}
	if (u == 0)
		snprintf(buf, len, "%lluB", (unsigned long long)v);
	else
		snprintf(buf, len, d < 10 ? "%.1f%c" : "%.0f%c", d, units[u]);
	return buf;
}

/* What matters about @o besides owner and size: one short phrase. */
void ls_details(const struct ipk_inspect_obj *o, char *buf, size_t len)
{
	char a[16], b[16];

	switch (o->kind) {
	case IPK_INSPECT_SYSV_MSG:
		snprintf(buf, len, "id=%lld msgs=%llu lspid=%d lrpid=%d", (long long)o->id,
			 (unsigned long long)o->count, (int)o->lpid, (int)o->lrpid);
		break;
	case IPK_INSPECT_SYSV_SHM:
		snprintf(buf, len, "id=%lld nattch=%llu cpid=%d lpid=%d", (long long)o->id,
			 (unsigned long long)o->count, (int)o->cpid, (int)o->lpid);
		break;
	case IPK_INSPECT_SYSV_SEM:
		snprintf(buf, len, "id=%lld nsems=%llu lpid=%d", (long long)o->id,
			 (unsigned long long)o->count, (int)o->lpid);
		break;
	case IPK_INSPECT_MQ:
		snprintf(buf, len, "msgs=%llu/%llu msgsize=%llu", (unsigned long long)o->count,
			 (unsigned long long)o->max_msg, (unsigned long long)o->msg_size);
		break;
	case IPK_INSPECT_RING:
		if (o->ring_err == -EPROTONOSUPPORT) {
			snprintf(buf, len, "another layout version (EPROTONOSUPPORT)");
			break;
		}
		if (o->ring_err) {
			snprintf(buf, len, "unreadable header (%s)", ipk_errname(o->ring_err));
			break;
		}
		snprintf(buf, len, "%s pub=%d(%s) epoch=%llu published=%llu cap=%s max=%s%s",
			 o->ring.queue ? "queue" : "ring", (int)o->ring.pid,
			 o->ring.alive ? "alive" : "dead", (unsigned long long)o->ring.epoch,
			 (unsigned long long)o->ring.published, ls_size(o->ring.capacity, a, 16),
			 ls_size(o->ring.max_msg, b, 16), o->ring.closed ? " closed" : "");
		break;
	case IPK_INSPECT_UNIX:
		snprintf(buf, len, "%s %s conns=%d", sock_type_name(o->sock_type),
			 sock_state_name(o), o->sock_conns);
		break;
	case IPK_INSPECT_SHM:
		snprintf(buf, len, "%s", o->ipckit ? "ipckit ring page without its ring" : "");
		break;
	default:
		buf[0] = '\0';
	}
}

/* "123(comm),456(comm)" into @buf. */
static void holders_str(const struct ipk_inspect_obj *o, char *buf, size_t len)
{
	size_t n = 0;

	buf[0] = '\0';
	if (!o->nholders)
		snprintf(buf, len, "-");
	for (size_t i = 0; i < o->nholders && n + 1 < len; i++) {
		int w;

		if (i == 3) {
			snprintf(buf + n, len - n, ",+%zu", o->nholders - i);
			break;
		}
		w = snprintf(buf + n, len - n, "%s%d(%s)", i ? "," : "", (int)o->holders[i].pid,
			     o->holders[i].comm);

		if (w < 0)
			break;
		n += (size_t)w;
	}
}

void ls_report_denied(const ipk_inspect *in)
{
	const pid_t *pids;
	size_t n = ipk_inspect_denied(in, &pids);

	if (!n)
		return;
	/* As root, a process may still be closed to us (another user
	 * namespace, a security module): "run as root" would not help. */
	fprintf(stderr,
		"%s: %zu process%s could not be inspected (holders may be missing%s):", cli_prog, n,
		n == 1 ? "" : "es", geteuid() != 0 ? "; run as root" : "");
	for (size_t i = 0; i < n && i < 20; i++)
		fprintf(stderr, " %d", (int)pids[i]);
	fputs(n > 20 ? " ...\n" : "\n", stderr);
}

static bool matches_pid(const struct ipk_inspect_obj *o, pid_t pid)
{
	if (o->cpid == pid || o->lpid == pid || o->lrpid == pid)
		return true;
	if (o->kind == IPK_INSPECT_RING && !o->ring_err && o->ring.pid == pid)
		return true;
	for (size_t i = 0; i < o->nholders; i++)
		if (o->holders[i].pid == pid)
			return true;
	return false;
}

static int parse_user(const char *s, uid_t *uid)
{
	unsigned long v;
	struct passwd *pw = getpwnam(s);

	if (pw) {
		*uid = pw->pw_uid;
		return 0;
	}
	if (cli_parse_ulong(s, 0, 0xfffffffeUL, &v) == 0) {
		*uid = (uid_t)v;
		return 0;
	}
	return cli_usage_error("unknown --user '%s'", s);
}

static void print_json(const ipk_inspect *in, const struct ipk_inspect_obj *const *keep, size_t n)
{
	const char *mq = ipk_inspect_mqueue(in);
	const pid_t *pids;
	size_t nd = ipk_inspect_denied(in, &pids);

	printf("{\"version\": 1, \"procs_scanned\": %zu, \"mqueue_mount\": ",
	       ipk_inspect_procs(in));
	json_str_or_null(stdout, mq);
	fputs(", \"denied_pids\": [", stdout);
	for (size_t i = 0; i < nd; i++)
		printf("%s%d", i ? ", " : "", (int)pids[i]);
	fputs("],\n \"objects\": [", stdout);
	for (size_t i = 0; i < n; i++) {
		fputs(i ? ",\n  " : "\n  ", stdout);
		ls_json_obj(stdout, keep[i]);
	}
	fputs("\n ]}\n", stdout);
}

static void print_table(const struct ipk_inspect_obj *const *keep, size_t n)
{
	struct winsize ws;
	int width = 0;
	int last = -1;

	if (isatty(STDOUT_FILENO) && ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col)
		width = ws.ws_col;
	for (size_t i = 0; i < n; i++) {
		const struct ipk_inspect_obj *o = keep[i];
		char user[64], size[16], det[160], hold[512], line[1024];
		int w;

		if ((int)o->kind != last) {
			printf("%s%s\n", last >= 0 ? "\n" : "", ipk_inspect_kind_name(o->kind));
			printf("  %-24s %-8s %-4s %6s %-7s %s\n", "NAME", "OWNER", "MODE", "SIZE",
			       "HOLDERS", "DETAILS");
			last = (int)o->kind;
		}
		ls_details(o, det, sizeof(det));
		holders_str(o, hold, sizeof(hold));
		w = snprintf(line, sizeof(line), "  %-24s %-8s %04o %6s %-7s %s%s%s", o->name,
			     ls_user_name(o->uid, user, sizeof(user)), (unsigned)o->mode,
			     ls_size(o->size, size, sizeof(size)), hold, det,
			     ipk_inspect_orphan(o) ? " [orphan]" : "", "");
		if (width > 4 && w > width) {
			line[width - 3] = '\0';
			strcat(line, "...");
		}
		puts(line);
	}
	if (!n)
		puts("no IPC objects");
}

int cmd_ls(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "type", required_argument, NULL, 't' }, { "pid", required_argument, NULL, 'p' },
		{ "user", required_argument, NULL, 'u' }, { "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },       { NULL, 0, NULL, 0 },
	};
	unsigned kinds = 0;
	bool json = false, by_pid = false, by_user = false;
	unsigned long pid = 0;
	uid_t uid = 0;
	const struct ipk_inspect_obj **keep = NULL;
	ipk_inspect *in = NULL;
	size_t n = 0;
	int c, rc;

	opterr = 0;
	while ((c = getopt_long(argc, argv, ":t:p:u:h", longopts, NULL)) != -1) {
		switch (c) {
		case 't':
			if ((rc = ls_parse_types(optarg, &kinds)) != 0)
				return rc;
			break;
		case 'p':
			if (cli_parse_ulong(optarg, 1, 0x7fffffffUL, &pid) < 0)
				return cli_usage_error("bad --pid '%s'", optarg);
			by_pid = true;
			break;
		case 'u':
			if ((rc = parse_user(optarg, &uid)) != 0)
				return rc;
			by_user = true;
			break;
		case 'j':
			json = true;
			break;
		case 'h':
			fputs(usage, stdout);
			return CLI_OK;
		default:
			return cli_bad_option(c, argv, longopts);
		}
	}
	if (optind < argc)
		return cli_usage_error("unexpected argument '%s'", argv[optind]);
	rc = ls_scan(kinds, &in);
	if (rc < 0)
		return cli_fail("scan", rc);
	keep = calloc(ipk_inspect_count(in) + 1, sizeof(*keep));
	if (!keep) {
		ipk_inspect_free(in);
		return cli_fail("scan", -ENOMEM);
	}
	for (size_t i = 0; i < ipk_inspect_count(in); i++) {
		const struct ipk_inspect_obj *o = ipk_inspect_obj(in, i);

		if (by_pid && !matches_pid(o, (pid_t)pid))
			continue;
		if (by_user && o->uid != uid)
			continue;
		keep[n++] = o;
	}
	if (json)
		print_json(in, keep, n);
	else
		print_table(keep, n);
	if (!ipk_inspect_mqueue(in) && (!kinds || (kinds & IPK_INSPECT_BIT(IPK_INSPECT_MQ))))
		cli_msg("POSIX message queues not listed: the mqueue filesystem is not mounted "
			"(mount -t mqueue none /dev/mqueue; as root ipckit mounts a private one)");
	ls_report_denied(in);
	free(keep);
	ipk_inspect_free(in);
	return CLI_OK;
}
