/* SPDX-License-Identifier: MIT */
/*
 * tools/cmd_gc.c - `ipckit gc`: list (default) or remove (--yes) the IPC
 * objects dead processes left behind; `ipckit rm URL`: remove one object.
 * What counts as left behind is ipk_obj_orphan() (ipckit/inspect.h): never
 * anything a live process holds or maps.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"

static const char gc_usage[] =
	"Usage: ipckit gc [--dry-run | --yes] [--type KIND[,KIND...]] [--json]\n"
	"\n"
	"Find IPC objects left by dead processes: ipckit rings whose publisher is\n"
	"gone and that nobody maps, System V objects whose creator and last user\n"
	"are dead (and, for segments, that nobody has attached), and ipckit ring\n"
	"pages without their ring. Objects a live process holds or maps are never\n"
	"touched. Lists them by default; --yes removes them.\n"
	"\n"
	"Options:\n"
	"  -n, --dry-run     only list (the default)\n"
	"  -y, --yes         remove what is listed\n"
	"  -t, --type KINDS  only these kinds (see ipckit ls --help)\n"
	"      --json        the orphans as a JSON array of ls objects\n"
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

/* Since the scan, has a publisher started on the dead one's ring? */
static bool taken_over(const struct ipk_obj *o)
{
	struct ipk_ring_info now;

	return ipk_ring_info(o->name, &now) == 0 && (now.alive || now.epoch != o->ring.epoch);
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
	ipk_inspect *in;
	size_t found = 0, removed = 0, failed = 0;
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
	if (json)
		fputs("[", stdout);
	for (size_t i = 0; i < ipk_inspect_count(in); i++) {
		const struct ipk_obj *o = ipk_inspect_obj(in, i);
		char det[160];

		if (!ipk_obj_orphan(o))
			continue;
		if (json) {
			fputs(found ? ",\n " : "\n ", stdout);
			ls_json_obj(stdout, o);
		}
		found++;
		if (!yes) {
			if (!json) {
				ls_details(o, det, sizeof(det));
				printf("orphan %-8s %-24s %s\n", ipk_obj_kind_name(o->kind),
				       o->name, det);
			}
			continue;
		}
		if (o->kind == IPK_OBJ_RING && taken_over(o)) {
			printf("kept    %-8s %s (a new publisher took it)\n", "ring", o->name);
			continue;
		}
		rc = ipk_obj_remove(o);
		if (rc < 0 && rc != -ENOENT) {
			char what[320];

			snprintf(what, sizeof(what), "remove %s %s", ipk_obj_kind_name(o->kind),
				 o->name);
			(void)cli_fail(what, rc);
			failed++;
			continue;
		}
		removed++;
		if (!json)
			printf("removed %-8s %s\n", ipk_obj_kind_name(o->kind), o->name);
	}
	if (json)
		fputs(found ? "\n]\n" : "]\n", stdout);
	else if (!found)
		puts("no orphans");
	else if (!yes)
		printf("%zu orphan%s; run 'ipckit gc --yes' to remove\n", found,
		       found == 1 ? "" : "s");
	ls_report_denied(in);
	ipk_inspect_free(in);
	return failed ? CLI_FAIL : CLI_OK;
}

/* unix:/path or fifo:/path that is no live object: the file alone. */
static bool stale_file(const char *url, struct ipk_obj *o)
{
	const char *path = NULL;

	memset(o, 0, sizeof(*o));
	if (!strncmp(url, "unix:/", 6)) {
		o->kind = IPK_OBJ_UNIX;
		path = url + 5;
	} else if (!strncmp(url, "fifo:/", 6)) {
		o->kind = IPK_OBJ_FIFO;
		path = url + 5;
	}
	if (!path || strlen(path) >= sizeof(o->name) || strchr(path, '?'))
		return false;
	strcpy(o->name, path);
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
		const struct ipk_obj *o;

		if (ipk_inspect_find(in, argv[i], &o) == -EINVAL) {
			ipk_inspect_free(in);
			return cli_usage_error(
				"%s: not a URL of an object (see 'ipckit rm --help')", argv[i]);
		}
	}
	for (int i = optind; i < argc; i++) {
		const struct ipk_obj *o = NULL;
		struct ipk_obj stale;

		rc = ipk_inspect_find(in, argv[i], &o);
		if (rc == -ENOENT && stale_file(argv[i], &stale)) {
			o = &stale; /* a socket file nobody listens on, a FIFO nobody holds */
			rc = 0;
		}
		if (rc == 0)
			rc = ipk_obj_remove(o);
		if (rc < 0) {
			status = cli_fail(argv[i], rc);
			continue;
		}
		printf("removed %s %s\n", ipk_obj_kind_name(o->kind), o->name);
	}
	ipk_inspect_free(in);
	return status;
}
