/* SPDX-License-Identifier: MIT */
/* The URL parser: every scheme's parts, options, and where errors point. */
#include "harness.h"
#include "url_parse.h"

static void bad(const char *url, size_t where)
{
	const char *why = NULL;
	size_t at = 9999;

	T_EQ(ipk_url_check(url, &at, &why), -EINVAL);
	T_TRUE(why != NULL);
	if (at != where)
		T_FAIL("%s: error at %zu (%s), want %zu", url, at, why, where);
}

int main(void)
{
	struct ipk_url u;

	T_EQ(ipk__url_parse("unix:/run/x.sock?msgsize=100&perm=0640", &u, NULL, NULL), 0);
	T_TRUE(!strcmp(u.scheme_name, "unix") && u.scheme->addr == IPK__ADDR_UNIX);
	T_TRUE(!strcmp(u.path, "/run/x.sock") && !u.abstract);
	T_EQ(ipk__url_num(&u, IPK__OPT_MSGSIZE, 0), 100);
	T_EQ(ipk__url_num(&u, IPK__OPT_PERM, 0), 0640);
	T_EQ(ipk__url_num(&u, IPK__OPT_BACKLOG, 7), 7);

	T_EQ(ipk__url_parse("unix+seqpacket:@name", &u, NULL, NULL), 0);
	T_TRUE(u.abstract && !strcmp(u.path, "name") && u.path_len == 4);
	T_EQ(ipk__url_parse("tcp:[::1]:8080", &u, NULL, NULL), 0);
	T_TRUE(!strcmp(u.host, "::1"));
	T_EQ(u.port, 8080);
	T_EQ(ipk__url_parse("tcp:localhost:0", &u, NULL, NULL), 0);
	T_EQ(u.port, 0);
	T_EQ(ipk__url_parse("sysvmq:0x1234", &u, NULL, NULL), 0);
	T_TRUE(u.sysv == IPK__SYSV_KEY && u.key == 0x1234);
	T_EQ(ipk__url_parse("sysvmq:0xBeef", &u, NULL, NULL), 0);
	T_TRUE(u.key == 0xbeef);
	T_EQ(ipk__url_parse("sysvmq:/etc/passwd:7", &u, NULL, NULL), 0);
	T_TRUE(u.sysv == IPK__SYSV_FTOK && u.proj == 7 && !strcmp(u.path, "/etc/passwd"));
	T_EQ(ipk__url_parse("sysvmq:private", &u, NULL, NULL), 0);
	T_EQ(u.sysv, IPK__SYSV_PRIVATE);
	T_EQ(ipk__url_parse("mq:/q?maxmsg=64&msgsize=1024", &u, NULL, NULL), 0);
	T_EQ(ipk__url_num(&u, IPK__OPT_MAXMSG, 0), 64);
	T_EQ(ipk__url_parse("nats://a:4222,b:4223/feed.x?queue=workers", &u, NULL, NULL), 0);
	T_TRUE(!strcmp(u.servers, "a:4222,b:4223") && !strcmp(u.subject, "feed.x"));
	T_TRUE(!strcmp(u.str[IPK__OPT_QUEUE], "workers"));
	T_EQ(ipk__url_parse("pipe:?pipesize=65536", &u, NULL, NULL), 0);
	T_EQ(ipk_url_check("shm:/feed", NULL, NULL), 0);
	/* shm: says ring or queue with mode=, its permissions with perm= */
	T_EQ(ipk__url_parse("shm:/feed?mode=queue&perm=0640&capacity=8192", &u, NULL, NULL), 0);
	T_EQ(ipk__url_num(&u, IPK__OPT_KIND, IPK__SHM_RING), IPK__SHM_QUEUE);
	T_EQ(ipk__url_num(&u, IPK__OPT_PERM, 0), 0640);
	T_EQ(ipk__url_num(&u, IPK__OPT_CAPACITY, 0), 8192);
	T_EQ(ipk__url_parse("shm:/feed?mode=ring", &u, NULL, NULL), 0);
	T_EQ(ipk__url_num(&u, IPK__OPT_KIND, IPK__SHM_QUEUE), IPK__SHM_RING);
	T_TRUE(!u.set[IPK__OPT_PERM]);
	/* a subscriber's start: from=end|oldest|SEQ, on the ring schemes */
	T_EQ(ipk__url_parse("shm:/feed?from=oldest", &u, NULL, NULL), 0);
	T_EQ(ipk__url_num(&u, IPK__OPT_FROM, IPK__FROM_END), IPK__FROM_OLDEST);
	T_EQ(ipk__url_parse("shm:/feed?from=end", &u, NULL, NULL), 0);
	T_EQ(ipk__url_num(&u, IPK__OPT_FROM, IPK__FROM_SEQ), IPK__FROM_END);
	T_EQ(ipk__url_parse("dbus:org.x.Y/feed?from=18446744073709551615", &u, NULL, NULL), 0);
	T_EQ(ipk__url_num(&u, IPK__OPT_FROM, IPK__FROM_END), IPK__FROM_SEQ);
	T_EQ(u.from_seq, UINT64_MAX);
	/* a subscriber's waiting: wait=futex|spin|adaptive, on the ring schemes */
	T_EQ(ipk__url_parse("shm:/feed?wait=adaptive", &u, NULL, NULL), 0);
	T_EQ(ipk__url_num(&u, IPK__OPT_WAIT, IPK__WAIT_FUTEX), IPK__WAIT_ADAPTIVE);
	T_EQ(ipk__url_parse("dbus:org.x.Y/feed?wait=spin", &u, NULL, NULL), 0);
	T_EQ(ipk__url_num(&u, IPK__OPT_WAIT, IPK__WAIT_FUTEX), IPK__WAIT_SPIN);
	T_EQ(ipk__url_parse("shm:/feed?wait=futex", &u, NULL, NULL), 0);
	T_EQ(ipk__url_num(&u, IPK__OPT_WAIT, IPK__WAIT_SPIN), IPK__WAIT_FUTEX);
	{
		const char *why = NULL;

		T_EQ(ipk_url_check("shm:/feed?wait=busy", NULL, &why), -EINVAL);
		T_TRUE(why && strstr(why, "wait must be 'futex', 'spin' or 'adaptive'"));
		T_EQ(ipk_url_check("unix:/x?wait=spin", NULL, &why), -EINVAL);
		T_TRUE(why && strstr(why, "ring subscribers only"));
	}
	T_EQ(ipk__url_parse("shm:/feed?perm=0604&mode=queue", &u, NULL, NULL), 0);
	T_EQ(ipk__url_num(&u, IPK__OPT_KIND, IPK__SHM_RING), IPK__SHM_QUEUE);
	T_EQ(ipk__url_num(&u, IPK__OPT_PERM, 0), 0604);
	/* perm= means permissions on every named scheme, as on shm: */
	{
		static const char *const named[] = { "fifo:/x",       "unix:/x",
						     "unix+dgram:/x", "unix+seqpacket:/x",
						     "mq:/q",         "sysvmq:0x1234",
						     "shm:/x" };
		char url[64];

		for (size_t i = 0; i < sizeof(named) / sizeof(named[0]); i++) {
			snprintf(url, sizeof(url), "%s?perm=0640", named[i]);
			T_EQ(ipk__url_parse(url, &u, NULL, NULL), 0);
			T_EQ(ipk__url_num(&u, IPK__OPT_PERM, 0), 0640);
		}
	}
	/* mode= is shm:'s ring or queue and nothing else: a permission given
	 * as mode= anywhere is refused at the key, and the reason names perm= */
	{
		static const char *const others[] = {
			"fifo:/x", "unix:/x",       "unix+dgram:/x",  "unix+seqpacket:/x",
			"mq:/q",   "sysvmq:0x1234", "sysvmq:private", "pipe:",
			"tcp:h:1", "dbus:org.x/a",  "nats://h:1/s",
		};
		const char *why;
		char url[64];
		size_t at;

		for (size_t i = 0; i < sizeof(others) / sizeof(others[0]); i++) {
			snprintf(url, sizeof(url), "%s?mode=0600", others[i]);
			why = NULL;
			at = 9999;
			T_EQ(ipk_url_check(url, &at, &why), -EINVAL);
			T_EQ(at, strlen(others[i]) + 1);
			if (!why || !strstr(why, "perm="))
				T_FAIL("%s: reason '%s' does not name perm=", url,
				       why ? why : "(none)");
		}
	}
	T_EQ(ipk_url_check("fifo:relative/path", NULL, NULL), 0);
	/* dbus:BUSNAME/NAME: the bus name in host, the ring name in path */
	T_EQ(ipk__url_parse("dbus:org.example.Feed/quotes_1?bus=system&msgsize=512", &u, NULL,
			    NULL),
	     0);
	T_TRUE(!strcmp(u.scheme_name, "dbus"));
	T_TRUE(!strcmp(u.host, "org.example.Feed") && !strcmp(u.path, "quotes_1"));
	T_TRUE(!strcmp(u.str[IPK__OPT_BUS], "system"));
	T_EQ(ipk__url_num(&u, IPK__OPT_MSGSIZE, 0), 512);
	T_EQ(ipk__url_parse("dbus::1.42/feed?capacity=65536", &u, NULL, NULL), 0);
	T_TRUE(!strcmp(u.host, ":1.42") && !strcmp(u.path, "feed"));
	T_EQ(ipk__url_num(&u, IPK__OPT_CAPACITY, 0), 65536);
	T_EQ(ipk_url_check("dbus:a-b.c_d/x", NULL, NULL), 0);

	/* offsets point at the offending part */
	bad("", 0);
	bad("nope", 4);
	bad("udp:1.2.3.4:5", 0);
	bad("unix:", 5);
	bad("unix:@", 6);
	bad("fifo:", 5);
	bad("pipe:/x", 5);
	bad("tcp:host", 8);
	bad("tcp:host:99999", 9);
	bad("tcp::80", 4);
	bad("tcp:::1:80", 4);
	bad("tcp:[::1]80", 9);
	bad("mq:q", 3);
	bad("mq:/a/b", 5);
	bad("sysvmq:0", 7);
	bad("sysvmq:/tmp:0", 12);
	bad("sysvmq:zz", 7);
	bad("sysvmq:12ab", 7); /* hex needs its 0x */
	bad("sysvmq:0xfg", 7);
	bad("nats://h:1", 10);
	bad("nats://h/s", 8);
	bad("unix:/x?", 8);
	bad("unix:/x?msgsize", 8);
	bad("unix:/x?bogus=1", 8);
	bad("unix:/x?msgsize=1&msgsize=2", 18);
	bad("unix:/x?msgsize=12k", 16);
	bad("unix:/x?msgsize=0", 16);
	bad("shm:/x?mode=0600", 12); /* shm: permissions are perm= */
	bad("shm:/x?mode=fast", 12);
	bad("shm:/x?from=start", 12);
	bad("shm:/x?from=-1", 12);
	bad("shm:/x?from=", 12);
	bad("fifo:/x?from=0", 8);             /* a ring's subscribers only */
	bad("shm:/x?capacity=5000", 16);      /* not a power of two */
	bad("shm:/x?capacity=2048", 16);      /* under 4096 */
	bad("mq:/q?mode=queue", 6);           /* mode= is shm:'s alone */
	bad("mq:/q?perm=0600&mode=0600", 16); /* one permission, one name */
	bad("fifo:/x?mode=0600&perm=0640", 8);
	bad("fifo:/x?perm=0600&perm=0640", 18);
	bad("sysvmq:1?perm=0600&mode=0600", 19);
	bad("tcp:h:1?perm=0600", 8); /* nothing named to set it on */
	bad("pipe:?perm=0600", 6);
	bad("dbus:org.x/a?perm=0600", 13);
	bad("unix:/x?perm=0800", 13);
	bad("unix:/x?capacity=4096", 8);
	bad("unix:/x?msgsize=999999999999", 16);
	bad("unix:/x?mode=0800", 8);
	bad("tcp:h:1?mode=0600", 8);
	bad("unix:/x?pipesize=4096", 8);
	bad("fifo:/x?msgsize=1&", 18);
	bad("dbus:org.example.Feed", 21); /* no /NAME */
	bad("dbus:/feed", 5);             /* no bus name */
	bad("dbus:org/feed", 5);          /* one element */
	bad("dbus:org..x/feed", 9);       /* empty element */
	bad("dbus:org.9x/feed", 9);       /* element starts with a digit */
	bad("dbus:org.e$x/feed", 10);
	bad("dbus:org.x/", 11);                /* no ring name */
	bad("dbus:org.x/a-b", 12);             /* ring names: [A-Za-z0-9_] */
	bad("dbus:org.x/a?bus=elsewhere", 17); /* session or system */
	bad("dbus:org.x/a?mode=0600", 13);
	T_EQ(ipk_url_check(NULL, NULL, NULL), -EINVAL);

	/* every scheme of the registry parses, and each is declared once */
	for (const struct ipk__scheme *const *p = ipk__url_schemes; *p; p++) {
		for (const struct ipk__scheme *const *q = p + 1; *q; q++)
			T_TRUE(strcmp((*p)->name, (*q)->name) != 0);
		T_TRUE(((*p)->opts & IPK__OPT(IPK__OPT_MSGSIZE)) != 0);
	}

	/* object URLs, as ipckit ls/rm and ipk_inspect_find() take them */
	struct ipk__obj_url o;

	T_EQ(ipk__url_parse_object("shm:/feed?mode=queue", &o), 0);
	T_TRUE(!strcmp(o.scheme, "shm") && !o.sysv && !strcmp(o.name, "/feed"));
	T_EQ(ipk__url_parse_object("unix:@abs", &o), 0);
	T_TRUE(!strcmp(o.scheme, "unix") && !strcmp(o.name, "@abs"));
	T_EQ(ipk__url_parse_object("unix+dgram:/run/x", &o), 0);
	T_TRUE(!strcmp(o.scheme, "unix+dgram") && !strcmp(o.name, "/run/x"));
	T_EQ(ipk__url_parse_object("sysvmq:0xdeadbeef", &o), 0);
	T_TRUE(o.sysv && !o.by_id && o.num == (int32_t)0xdeadbeef);
	T_EQ(ipk__url_parse_object("sysvshm:id=42", &o), 0);
	T_TRUE(!strcmp(o.scheme, "sysvshm") && o.sysv && o.by_id && o.num == 42);
	T_EQ(ipk__url_parse_object("sysvsem:-5", &o), 0);
	T_TRUE(o.sysv && !o.by_id && o.num == -5);
	T_EQ(ipk__url_parse_object("sem:/s", &o), 0);
	T_TRUE(!strcmp(o.scheme, "sem") && !strcmp(o.name, "/s"));
	T_EQ(ipk__url_parse_object("memfd:blob?x", &o), 0);
	T_TRUE(!strcmp(o.scheme, "memfd") && !strcmp(o.name, "memfd:blob?x"));
	T_EQ(ipk__url_parse_object("fifo:/p", &o), 0);
	T_EQ(ipk__url_parse_object("fifo:p", &o), -EINVAL); /* not absolute */
	T_EQ(ipk__url_parse_object("mq:@q", &o), -EINVAL);  /* '@' is unix's alone */
	T_EQ(ipk__url_parse_object("sysvmq:4x", &o), -EINVAL);
	T_EQ(ipk__url_parse_object("sysvsem:id=", &o), -EINVAL);
	T_EQ(ipk__url_parse_object("sysvmq:4294967296", &o), -EINVAL);
	T_EQ(ipk__url_parse_object("shm:", &o), -EINVAL);
	T_EQ(ipk__url_parse_object("tcp:h:1", &o), -EINVAL); /* no object */
	T_EQ(ipk__url_parse_object("pipe:", &o), -EINVAL);
	T_EQ(ipk__url_parse_object("bogus:/x", &o), -EINVAL);
	T_EQ(ipk__url_parse_object("/x", &o), -EINVAL);
	/* the object-only schemes are no channels */
	bad("sem:/s", 0);
	bad("sysvshm:1", 0);
	bad("sysvsem:1", 0);
	bad("memfd:x", 0);
	return 0;
}
