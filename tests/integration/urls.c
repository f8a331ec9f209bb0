/* SPDX-License-Identifier: MIT */
/*
 * urls.c - malformed URLs are -EINVAL from ipk_url_check() (with the offset
 * of the bad part and a reason) and from every opener; well-formed URLs of
 * every scheme pass; schemes this build parses but cannot open are
 * -EPROTONOSUPPORT, not a crash.
 */
#include "it.h"

struct bad {
	const char *url;
	size_t lo, hi; /* where the offset of the bad part must fall */
};

#define LONG_NAME                                                                                  \
	"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx" \
	"x"                                                                                        \
	"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx" \
	"x"                                                                                        \
	"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"

static const struct bad bad_urls[] = {
	/* empty, garbage, unknown scheme */
	{ "", 0, 0 },
	{ "!!garbage without a colon!!", 0, 27 },
	{ "bogus:/x", 0, 5 },
	{ ":/x", 0, 0 },
	/* missing or bad address */
	{ "fifo:", 4, 5 },
	{ "unix:", 4, 5 },
	{ "unix+dgram:", 10, 11 },
	{ "unix+seqpacket:", 14, 15 },
	{ "unix:@", 5, 6 },
	{ "pipe:extra", 5, 10 },
	{ "tcp:host", 4, 8 },
	{ "tcp:host:", 4, 9 },
	{ "tcp:host:99999", 4, 14 },
	{ "tcp:host:65536", 4, 14 },
	{ "tcp:host:-1", 4, 11 },
	{ "tcp:host:8o", 4, 11 },
	{ "tcp::80", 4, 5 },
	{ "tcp:[::1:80", 4, 11 },
	{ "mq:", 2, 3 },
	{ "mq:noslash", 3, 10 },
	{ "mq:/" LONG_NAME, 3, 4 + sizeof(LONG_NAME) - 1 },
	{ "sysvmq:", 6, 7 },
	{ "sysvmq:nokey", 7, 12 },
	{ "sysvmq:/tmp:", 7, 12 },
	{ "shm:", 3, 4 },
	{ "nats://127.0.0.1:4222", 5, 21 },
	{ "nats:///subj", 5, 12 },
	{ "nats://127.0.0.1:4222,/subj", 5, 27 },
	/* options: unknown, repeated, not a number, out of range, not key=value */
	{ "fifo:/x?bogus=1", 7, 15 },
	{ "fifo:/x?msgsize=1024&msgsize=2048", 20, 33 },
	{ "fifo:/x?msgsize=abc", 7, 19 },
	{ "fifo:/x?msgsize=12k", 7, 19 },
	{ "fifo:/x?msgsize=", 7, 16 },
	{ "fifo:/x?msgsize=0", 7, 17 },
	{ "fifo:/x?msgsize=268435457", 7, 25 },
	{ "fifo:/x?msgsize=99999999999999999999999", 7, 39 },
	{ "fifo:/x?perm=0999", 7, 17 },
	{ "fifo:/x?perm=rw", 7, 15 },
	{ "fifo:/x?perm=0600&perm=0600", 17, 27 },
	{ "fifo:/x?msgsize", 7, 15 },
	{ "unix:/x?=5", 7, 10 },
	{ "unix:/x?backlog=8&", 17, 18 },
	{ "tcp:127.0.0.1:80?pipesize=4096", 16, 30 },
	{ "unix+dgram:/x?backlog=4", 13, 23 },
	{ "fifo:/x?backlog=4", 7, 17 },
	{ "pipe:?bogus=1", 5, 13 },
	{ "pipe:?msgsize=0", 5, 15 },
};

static const char *const good_urls[] = {
	"pipe:",
	"pipe:?msgsize=1024&pipesize=65536",
	"fifo:/tmp/x",
	"fifo:relative/path",
	"fifo:/tmp/x?perm=0640&msgsize=1",
	"fifo:/tmp/x?pipesize=4096",
	"fifo:/tmp/x?msgsize=268435456",
	"unix:/tmp/s",
	"unix:@abs",
	"unix:/tmp/s?backlog=8&perm=0660",
	"unix+dgram:/tmp/d",
	"unix+dgram:@d?msgsize=1024",
	"unix+seqpacket:/tmp/sp",
	"unix+seqpacket:@sp?backlog=2",
	"tcp:127.0.0.1:80",
	"tcp:localhost:0",
	"tcp:host:65535",
	"tcp:[::1]:80",
	"tcp:127.0.0.1:80?msgsize=4096&backlog=16",
	"mq:/q",
	"mq:/q?maxmsg=64&msgsize=1024",
	"sysvmq:0x1234",
	"sysvmq:/tmp:7",
	"sysvmq:private",
	"shm:/x",
	"shm:/x?mode=queue&capacity=65536&msgsize=100&perm=0640",
	"nats://127.0.0.1:4222/subj",
	"nats://a:4222,b:4223/subj.x",
};

/* Parsed; opening needs a NATS server, and none listens on port 1: a build
 * with the nats transport says -ECONNREFUSED, one built with -Dnats=disabled
 * -EPROTONOSUPPORT (tests/nats/ checks each build's answer exactly). */
static const char *const unopenable[] = {
	"nats://127.0.0.1:1/subj",
	"nats://127.0.0.1:1,127.0.0.1:1/subj.x",
};

static void check_bad(const struct bad *b)
{
	size_t where = (size_t)-1;
	const char *why = NULL;
	ipk_chan *ch = NULL;
	ipk_chan *rd = NULL, *wr = NULL;
	ipk_listener *l = NULL;
	int r;

	r = ipk_url_check(b->url, &where, &why);
	if (r != -EINVAL)
		T_FAIL("ipk_url_check(\"%s\"): got %d (%s), want -EINVAL", b->url, r,
		       ipk_errname(r));
	if (why == NULL || why[0] == '\0')
		T_FAIL("ipk_url_check(\"%s\"): no reason given", b->url);
	if (where < b->lo || where > b->hi || where > strlen(b->url))
		T_FAIL("ipk_url_check(\"%s\"): where = %zu (\"%s\"), want %zu..%zu", b->url, where,
		       where <= strlen(b->url) ? b->url + where : "?", b->lo, b->hi);

	/* The out-parameters are optional. */
	T_EQ(ipk_url_check(b->url, NULL, NULL), -EINVAL);

	/* Every opener refuses it the same way; nothing is created. */
	r = ipk_chan_open(b->url, 0, 0, &ch);
	if (r != -EINVAL)
		T_FAIL("ipk_chan_open(\"%s\", 0): got %d (%s), want -EINVAL", b->url, r,
		       ipk_errname(r));
	T_TRUE(ch == NULL);
	r = ipk_chan_open(b->url, IPK_CHAN_CREATE | IPK_CHAN_RDONLY, 0, &ch);
	if (r != -EINVAL)
		T_FAIL("ipk_chan_open(\"%s\", CREATE): got %d (%s), want -EINVAL", b->url, r,
		       ipk_errname(r));
	T_TRUE(ch == NULL);
	r = ipk_listen(b->url, 0, &l);
	if (r != -EINVAL)
		T_FAIL("ipk_listen(\"%s\"): got %d (%s), want -EINVAL", b->url, r, ipk_errname(r));
	T_TRUE(l == NULL);
	if (strncmp(b->url, "pipe:", 5) == 0) {
		T_EQ(ipk_chan_pipe(b->url, 0, &rd, &wr), -EINVAL);
		T_TRUE(rd == NULL && wr == NULL);
	}
}

static void check_good(const char *url)
{
	size_t where = 12345;
	const char *why = NULL;
	int r = ipk_url_check(url, &where, &why);

	if (r != 0)
		T_FAIL("ipk_url_check(\"%s\"): got %d (%s) at %zu: %s, want 0", url, r,
		       ipk_errname(r), where, why ? why : "(no reason)");
}

int main(void)
{
	ipk_chan *ch = NULL, *rd = NULL, *wr = NULL;

	for (size_t i = 0; i < sizeof(bad_urls) / sizeof(bad_urls[0]); i++)
		check_bad(&bad_urls[i]);
	for (size_t i = 0; i < sizeof(good_urls) / sizeof(good_urls[0]); i++)
		check_good(good_urls[i]);

	/* The largest msgsize is allowed, one more is not (above), both ends. */
	T_EQ(ipk_chan_pipe("pipe:?msgsize=268435456", 0, &rd, &wr), 0);
	T_EQ(ipk_chan_max_msg(rd), IPK_CHAN_MSGSIZE_MAX);
	T_EQ(ipk_chan_max_msg(wr), IPK_CHAN_MSGSIZE_MAX);
	ipk_chan_close(rd);
	ipk_chan_close(wr);
	T_EQ(ipk_chan_pipe(NULL, 0, &rd, &wr), 0);
	T_EQ(ipk_chan_max_msg(rd), IPK_CHAN_MSGSIZE_DEFAULT);
	ipk_chan_close(rd);
	ipk_chan_close(wr);

	/* ipk_chan_pipe() takes only pipe: URLs. */
	rd = wr = NULL;
	T_EQ(ipk_chan_pipe("fifo:/tmp/x", 0, &rd, &wr), -EINVAL);
	T_TRUE(rd == NULL && wr == NULL);

	for (size_t i = 0; i < sizeof(unopenable) / sizeof(unopenable[0]); i++) {
		int r;

		T_EQ(ipk_url_check(unopenable[i], NULL, NULL), 0);
		r = ipk_chan_open(unopenable[i], 0, 0, &ch);
		if (r != -EPROTONOSUPPORT && r != -ECONNREFUSED)
			T_FAIL("ipk_chan_open(\"%s\"): got %d (%s), want -EPROTONOSUPPORT or "
			       "-ECONNREFUSED",
			       unopenable[i], r, ipk_errname(r));
		r = ipk_chan_open(unopenable[i], IPK_CHAN_CREATE, 0, &ch);
		if (r != -EPROTONOSUPPORT && r != -ECONNREFUSED)
			T_FAIL("ipk_chan_open(\"%s\", CREATE): got %d (%s), want -EPROTONOSUPPORT "
			       "or -ECONNREFUSED",
			       unopenable[i], r, ipk_errname(r));
		T_TRUE(ch == NULL);
	}
	return 0;
}
