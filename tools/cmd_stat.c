/* SPDX-License-Identifier: MIT */
/*
 * tools/cmd_stat.c - `ipckit stat URL [--watch [SECS]]`: everything about one
 * object; with --watch it is shown again every interval, with message and
 * byte rates over the interval, refreshed in place on a terminal.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

static const char usage[] =
	"Usage: ipckit stat [--watch[=SECS]] [--count N] [--json] URL\n"
	"\n"
	"Show one IPC object: owner, size, pids, holders with their uids, a\n"
	"queue's depth, a ring's publisher, epoch and counters, a socket's\n"
	"state and connections. URLs as for 'ipckit rm'.\n"
	"\n"
	"Options:\n"
	"  -w, --watch[=SECS]  show it again every SECS seconds (default 1), with\n"
	"                      rates (messages/s, bytes/s); SIGINT or SIGTERM\n"
	"                      stops it at once, after the last refresh\n"
	"  -c, --count N       with --watch: stop after N refreshes\n"
	"      --json          one JSON object (an 'ipckit ls --json' object, plus\n"
	"                      'rate' with --watch), one line per refresh\n"
	"  -h, --help          show this help\n"
	"Exit status: 0 done or stopped, 1 failure, 2 usage error.\n";

static void show(const struct ipk_inspect_obj *o)
{
	char user[64], det[160];

	ls_details(o, det, sizeof(det));
	printf("%s %s\n", ipk_inspect_kind_name(o->kind), o->name);
	printf("  owner:   %s (uid %u, gid %u), mode %04o\n",
	       ls_user_name(o->uid, user, sizeof(user)), (unsigned)o->uid, (unsigned)o->gid,
	       (unsigned)o->mode);
	if (o->kind <= IPK_INSPECT_SYSV_SEM)
		printf("  key:     %s (%lld), id %lld\n", o->name, (long long)o->key,
		       (long long)o->id);
	printf("  size:    %llu bytes\n", (unsigned long long)o->size);
	switch (o->kind) {
	case IPK_INSPECT_SYSV_MSG:
		printf("  depth:   %llu messages; last send pid %d, last receive pid %d\n",
		       (unsigned long long)o->count, (int)o->lpid, (int)o->lrpid);
		break;
	case IPK_INSPECT_SYSV_SHM:
		printf("  attach:  %llu; creator pid %d, last pid %d\n",
		       (unsigned long long)o->count, (int)o->cpid, (int)o->lpid);
		break;
	case IPK_INSPECT_SYSV_SEM:
		printf("  sems:    %llu; last semop pid %d\n", (unsigned long long)o->count,
		       (int)o->lpid);
		break;
	case IPK_INSPECT_MQ:
		printf("  depth:   %llu of %llu messages, message size %llu\n",
		       (unsigned long long)o->count, (unsigned long long)o->max_msg,
		       (unsigned long long)o->msg_size);
		break;
	case IPK_INSPECT_RING:
		if (o->ring_err == -EPROTONOSUPPORT) {
			printf("  header:  another layout version (EPROTONOSUPPORT): made by "
			       "another ipckit release\n");
			break;
		}
		if (o->ring_err) {
			printf("  header:  unreadable (%s)\n", ipk_errname(o->ring_err));
			break;
		}
		printf("  kind:    %s%s\n", o->ring.queue ? "queue" : "ring",
		       o->ring.closed ? " (closed by its publisher)" : "");
		printf("  publisher: pid %d, %s; epoch %llu\n", (int)o->ring.pid,
		       o->ring.alive ? "alive" : "dead", (unsigned long long)o->ring.epoch);
		printf("  published: %llu messages, %llu bytes written\n",
		       (unsigned long long)o->ring.published, (unsigned long long)o->ring.head);
		printf("  capacity: %llu bytes, max message %llu bytes\n",
		       (unsigned long long)o->ring.capacity, (unsigned long long)o->ring.max_msg);
		if (o->ring.has_consumer_lag)
			printf("  consumer lag: %llu bytes\n",
			       (unsigned long long)o->ring.consumer_lag);
		break;
	default:
		if (det[0])
			printf("  %s\n", det);
	}
	printf("  gc:      %s (%s)\n",
	       o->gc == IPK_GC_ORPHAN    ? "orphan, ipckit gc --yes removes it"
	       : o->gc == IPK_GC_UNKNOWN ? "unknown, ipckit gc keeps it"
					 : "in use",
	       o->gc_why);
	printf("  holders: %zu\n", o->nholders);
	for (size_t i = 0; i < o->nholders; i++) {
		const struct ipk_holder *h = &o->holders[i];

		printf("    pid %d (%s) uid %u (%s)%s%s\n", (int)h->pid, h->comm, (unsigned)h->uid,
		       ls_user_name(h->uid, user, sizeof(user)),
		       (h->how & IPK_HOLD_FD) ? " fd" : "",
		       (h->how & IPK_HOLD_MAP) ? " mapped" : "");
	}
	if (o->kind != IPK_INSPECT_UNIX)
		return;
	printf("  peers:   %zu\n", o->npeers);
	for (size_t i = 0; i < o->npeers; i++) {
		const struct ipk_holder *h = &o->peers[i];

		printf("    pid %d (%s) uid %u (%s) fd %d\n", (int)h->pid, h->comm,
		       (unsigned)h->uid, ls_user_name(h->uid, user, sizeof(user)), h->fd);
	}
}

/* Scans for @url; 0 and a snapshot the caller frees, or the exit status. */
static int lookup(const char *url, ipk_inspect **inp, const struct ipk_inspect_obj **op)
{
	ipk_inspect *in;
	int rc = ls_scan(0, &in);

	if (rc < 0)
		return cli_fail("scan", rc);
	rc = ipk_inspect_find(in, url, op);
	if (rc < 0) {
		ipk_inspect_free(in);
		if (rc == -EINVAL)
			return cli_usage_error(
				"%s: not a URL of an object (see 'ipckit stat --help')", url);
		return cli_fail(url, rc);
	}
	*inp = in;
	return 0;
}

int cmd_stat(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "watch", optional_argument, NULL, 'w' },
		{ "count", required_argument, NULL, 'c' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	bool watch = false, json = false;
	int64_t interval_ns = IPK_SEC;
	unsigned long count = 0;
	uint64_t last_pub = 0, last_bytes = 0, last_size = 0;
	double last_t = 0;
	const char *url;
	int c, rc;

	opterr = 0;
	while ((c = getopt_long(argc, argv, ":w::c:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'w':
			watch = true;
			if (optarg && (cli_parse_seconds(optarg, &interval_ns) < 0 || !interval_ns))
				return cli_usage_error("bad --watch '%s': want seconds > 0",
						       optarg);
			break;
		case 'c':
			if ((rc = cli_opt_count(optarg, 1000000000UL, &count)) != 0)
				return rc;
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
	if (optind >= argc)
		return cli_usage_error("missing URL (see 'ipckit stat --help')");
	if (argc - optind > 1)
		return cli_usage_error("unexpected argument '%s'", argv[optind + 1]);
	url = argv[optind];
	if (watch)
		cli_catch_stop();
	for (unsigned long round = 0;; round++) {
		const struct ipk_inspect_obj *o;
		ipk_inspect *in = NULL;
		double t, dt;
		uint64_t pub, bytes;

		rc = lookup(url, &in, &o);
		if (rc != 0)
			return rc;
		t = cli_now_s();
		pub = o->kind == IPK_INSPECT_RING ? o->ring.published : o->count;
		bytes = o->kind == IPK_INSPECT_RING ? o->ring.head : o->size;
		dt = t - last_t;
		if (json) {
			if (watch)
				fputs("{\"object\": ", stdout);
			ls_json_obj(stdout, o);
			if (watch && round > 0)
				printf(", \"rate\": {\"interval_s\": %.3f, \"msgs_per_s\": %.1f, "
				       "\"bytes_per_s\": %.1f}",
				       dt, (double)(pub - last_pub) / dt,
				       (double)(bytes - last_bytes) / dt);
			fputs(watch ? "}\n" : "\n", stdout);
		} else {
			if (watch && isatty(STDOUT_FILENO))
				fputs("\033[H\033[J", stdout); /* refresh in place */
			show(o);
			if (watch && round > 0 && o->kind == IPK_INSPECT_RING)
				printf("  rate:    %.1f messages/s, %.1f bytes/s over %.2f s\n",
				       (double)(pub - last_pub) / dt,
				       (double)(bytes - last_bytes) / dt, dt);
			else if (watch && round > 0)
				printf("  change:  %+lld messages, %+lld bytes over %.2f s\n",
				       (long long)(pub - last_pub),
				       (long long)(o->size - last_size), dt);
		}
		fflush(stdout);
		last_pub = pub;
		last_bytes = bytes;
		last_size = o->size;
		last_t = t;
		ipk_inspect_free(in);
		if (!watch || (count && round + 1 >= count))
			break;
		{
			struct timespec ts = { .tv_sec = interval_ns / IPK_SEC,
					       .tv_nsec = interval_ns % IPK_SEC };

			/* a stop signal ends the sleep (EINTR) and the watch */
			while (nanosleep(&ts, &ts) < 0 && !cli_stop)
				;
		}
		if (cli_stop)
			break;
	}
	return CLI_OK;
}
