/* SPDX-License-Identifier: MIT */
/*
 * tools/cmd_gc.c - `ipckit gc`: list (default) or remove (--yes) the IPC
 * objects dead processes left behind, and list those that may still have a
 * user (unknown); `ipckit rm URL`: remove one object. What is proven left
 * behind is ipk_inspect_orphan() (ipckit/inspect.h).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"

static const char gc_usage[] =
	"Usage: ipckit gc [--dry-run | --yes] [--type KIND[,KIND...]] [--json]\n"
	"\n"
	"Find IPC objects that dead processes left behind, and those nobody is\n"
	"seen using that may still have a user. Removes only what is proven\n"
	"orphaned:\n"
	"  orphan   an ipckit ring whose publisher is dead (not one that closed it\n"
	"           with --keep) and that no process holds or maps; a ring page\n"
	"           without its ring; a System V segment nobody has attached whose\n"
	"           creator and last attacher are dead (pid and start time)\n"
	"  unknown  kept: System V queues and semaphore sets (the kernel records\n"
	"           no creator), POSIX queues, shared memory and semaphores nobody\n"
	"           holds (nothing records who made them), and any ring or page\n"
	"           when some process could not be inspected (not root, hidepid,\n"
	"           another PID namespace); remove them with 'ipckit rm URL'\n"
	"Objects a live process holds, maps, attaches or publishes (a stopped one\n"
	"too) are in use and not listed. Lists by default; --yes checks each\n"
	"orphan again and removes it.\n"
	"\n"
	"Options:\n"
	"  -n, --dry-run     only list (the default)\n"
	"  -y, --yes         remove the orphans (never the unknown)\n"
	"  -t, --type KINDS  only these kinds (see ipckit ls --help)\n"
	"      --json        the orphans and unknown as a JSON array of ls objects\n"
	"                    (their \"gc\" and \"gc_reason\" say which and why)\n"
	"  -h, --help        show this help\n";

static const char rm_usage[] =
	"Usage: ipckit rm URL...\n"
	"\n"
	"Remove IPC objects by URL: shm:/name (a ring with its -bell and -cons\n"
	"pages, or plain shared memory), mq:/name, sem:/name, sysvmq:KEY,\n"
	"sysvshm:KEY, sysvsem:KEY (KEY decimal or 0x-hex, or id=N), unix:/path,\n"
	"fifo:/path. Processes that hold the object keep using it.\n"
	"\n"
	"Options:\n"
	"  -h, --help  show this help\n";

/* The URL 'ipckit rm' takes for @o, into @buf. */
static const char *rm_url(const struct ipk_inspect_obj *o, char *buf, size_t len)
{
	static const char *const scheme[IPK_INSPECT_NKINDS] = {
		[IPK_INSPECT_SYSV_MSG] = "sysvmq:",  [IPK_INSPECT_SYSV_SHM] = "sysvshm:",
		[IPK_INSPECT_SYSV_SEM] = "sysvsem:", [IPK_INSPECT_MQ] = "mq:",
		[IPK_INSPECT_SHM] = "shm:",          [IPK_INSPECT_SEM] = "sem:",
		[IPK_INSPECT_RING] = "shm:",         [IPK_INSPECT_UNIX] = "unix:",
		[IPK_INSPECT_FIFO] = "fifo:",        [IPK_INSPECT_MEMFD] = "",
	};

	if (o->kind <= IPK_INSPECT_SYSV_SEM && o->key == 0)
		snprintf(buf, len, "%sid=%lld", scheme[o->kind], (long long)o->id);
	else
		snprintf(buf, len, "%s%s", scheme[o->kind], o->name);
	return buf;
}

/* The same object in @now, still an orphan, and still the same one (id,
 * file, ring epoch): what --yes checks again just before removing. */
static bool still_orphan(const ipk_inspect *now, const struct ipk_inspect_obj *o)
{
	for (size_t i = 0; i < ipk_inspect_count(now); i++) {
		const struct ipk_inspect_obj *n = ipk_inspect_obj(now, i);

		if (n->kind != o->kind || strcmp(n->name, o->name) != 0)
			continue;
		if (n->id != o->id || n->dev != o->dev || n->ino != o->ino)
			return false;
		if (o->kind == IPK_INSPECT_RING &&
		    (n->ring.epoch != o->ring.epoch || n->ring.pid != o->ring.pid))
			return false;
		return ipk_inspect_orphan(n);
	}
	return false; /* gone meanwhile */
}

int cmd_gc(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "dry-run", no_argument, NULL, 'n' },    { "yes", no_argument, NULL, 'y' },
		{ "type", required_argument, NULL, 't' }, { "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },       { NULL, 0, NULL, 0 },
	};
	bool yes = false, dry = false, json = false;
	unsigned kinds = 0;
	ipk_inspect *in, *now = NULL;
	size_t listed = 0, orphans = 0, unknown = 0, removed = 0, failed = 0;
	int c, rc;

	opterr = 0;
	while ((c = getopt_long(argc, argv, ":nyt:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'n':
			dry = true;
			break;
		case 'y':
			yes = true;
			break;
		case 't':
			if ((rc = ls_parse_types(optarg, &kinds)) != 0)
				return rc;
			break;
		case 'j':
			json = true;
			break;
		case 'h':
			fputs(gc_usage, stdout);
			return CLI_OK;
		default:
			return cli_bad_option(c, argv, longopts);
		}
	}
	if (optind < argc)
		return cli_usage_error("unexpected argument '%s'", argv[optind]);
	if (yes && dry)
		return cli_usage_error("--yes and --dry-run exclude each other");
	rc = ls_scan(kinds, &in);
	if (rc < 0)
		return cli_fail("scan", rc);
	for (size_t i = 0; i < ipk_inspect_count(in); i++)
		orphans += ipk_inspect_orphan(ipk_inspect_obj(in, i));
	/* A second look just before removing: what changed since is kept. */
	if (yes && orphans && (rc = ls_scan(kinds, &now)) < 0) {
		ipk_inspect_free(in);
		return cli_fail("scan", rc);
	}
	if (json)
		fputs("[", stdout);
	for (size_t i = 0; i < ipk_inspect_count(in); i++) {
		const struct ipk_inspect_obj *o = ipk_inspect_obj(in, i);
		const char *kind = ipk_inspect_kind_name(o->kind);
		char url[320], what[320];

		if (o->gc == IPK_GC_IN_USE)
			continue;
		if (json) {
			fputs(listed ? ",\n " : "\n ", stdout);
			ls_json_obj(stdout, o);
		}
		listed++;
		if (o->gc == IPK_GC_UNKNOWN) {
			unknown++;
			if (!json)
				printf("%-7s %-8s %s: %s (remove with 'ipckit rm %s')\n",
				       yes ? "kept" : "unknown", kind, o->name, o->gc_why,
				       rm_url(o, url, sizeof(url)));
			continue;
		}
		if (!yes) {
			if (!json)
				printf("orphan  %-8s %s: %s\n", kind, o->name, o->gc_why);
			continue;
		}
		if (!still_orphan(now, o)) {
			if (!json)
				printf("kept    %-8s %s: in use again or changed since the scan\n",
				       kind, o->name);
			continue;
		}
		rc = ipk_inspect_remove(o);
		if (rc == -ESTALE) {
			if (!json)
				printf("kept    %-8s %s: it changed since the scan\n", kind,
				       o->name);
			continue;
		}
		if (rc < 0 && rc != -ENOENT) {
			snprintf(what, sizeof(what), "remove %s %s", kind, o->name);
			(void)cli_fail(what, rc);
			failed++;
			continue;
		}
		removed++;
		if (!json)
			printf("removed %-8s %s: %s\n", kind, o->name, o->gc_why);
	}
	if (json)
		fputs(listed ? "\n]\n" : "]\n", stdout);
	else if (!orphans)
		printf("no orphans%s\n", unknown ? "; the unknown above are kept" : "");
	else if (!yes)
		printf("%zu orphan%s%s; run 'ipckit gc --yes' to remove the orphans\n", orphans,
		       orphans == 1 ? "" : "s", unknown ? " (the unknown are kept)" : "");
	else
		printf("%zu removed of %zu orphan%s\n", removed, orphans, orphans == 1 ? "" : "s");
	ls_report_denied(in);
	ipk_inspect_free(now);
	ipk_inspect_free(in);
	return failed ? CLI_FAIL : CLI_OK;
}

/* unix:/path or fifo:/path that is no live object: the file alone. */
static bool stale_file(const char *url, struct ipk_inspect_obj *o)
{
	const char *path = NULL;

	memset(o, 0, sizeof(*o));
	if (!strncmp(url, "unix:/", 6)) {
		o->kind = IPK_INSPECT_UNIX;
		path = url + 5;
	} else if (!strncmp(url, "fifo:/", 6)) {
		o->kind = IPK_INSPECT_FIFO;
		path = url + 5;
	}
	if (!path || strlen(path) >= sizeof(o->name) || strchr(path, '?'))
		return false;
	strcpy(o->name, path);
	return true;
}

/* No object of @url's kind, but a file of another kind at its name (a
 * FIFO in /dev/shm, a directory where a socket was): say so, keep it. */
static bool something_else_there(const char *url)
{
	const char *kind;
	mode_t mode;
	uid_t uid;

	if (ipk_chan_name_owner(url, &uid, &mode) < 0)
		return false;
	kind = cli_file_kind(mode);
	if (!kind)
		return false;
	cli_msg("%s: no such object: %s is there, owned by uid %u, mode %04o (kept)", url, kind,
		(unsigned)uid, (unsigned)(mode & 07777));
	return true;
}

int cmd_rm(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	ipk_inspect *in;
	int c, rc, status = CLI_OK;

	opterr = 0;
	while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
		if (c == 'h') {
			fputs(rm_usage, stdout);
			return CLI_OK;
		}
		return cli_bad_option(c, argv, longopts);
	}
	if (optind >= argc)
		return cli_usage_error("missing URL (see 'ipckit rm --help')");
	rc = ls_scan(0, &in);
	if (rc < 0)
		return cli_fail("scan", rc);
	/* A malformed URL anywhere: remove nothing. */
	for (int i = optind; i < argc; i++) {
		const struct ipk_inspect_obj *o;

		if (ipk_inspect_find(in, argv[i], &o) == -EINVAL) {
			ipk_inspect_free(in);
			return cli_usage_error(
				"%s: not a URL of an object (see 'ipckit rm --help')", argv[i]);
		}
	}
	for (int i = optind; i < argc; i++) {
		const struct ipk_inspect_obj *o = NULL;
		struct ipk_inspect_obj stale;

		rc = ipk_inspect_find(in, argv[i], &o);
		if (rc == -ENOENT && stale_file(argv[i], &stale)) {
			o = &stale; /* a socket file nobody listens on, a FIFO nobody holds */
			rc = 0;
		}
		if (rc == 0)
			rc = ipk_inspect_remove(o);
		if (rc == -ESTALE) {
			fprintf(stderr, "ipckit rm: %s: kept: it changed since the scan\n",
				argv[i]);
			status = CLI_FAIL;
			continue;
		}
		if (rc == -ENOENT && something_else_there(argv[i])) {
			status = CLI_FAIL;
			continue;
		}
		if (rc < 0) {
			status = cli_fail(argv[i], rc);
			continue;
		}
		printf("removed %s %s\n", ipk_inspect_kind_name(o->kind), o->name);
	}
	ipk_inspect_free(in);
	return status;
}
