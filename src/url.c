/* SPDX-License-Identifier: MIT */
/*
 * url.c - the URL parser. It knows the address forms and the options;
 * which scheme takes which, each transport declares (struct ipk__scheme,
 * listed in transport/registry.c), so adding a transport does not touch
 * this file. It checks syntax and ranges; whether a path exists or fits
 * sun_path is the transport's call. Object URLs for ipckit ls/rm/gc
 * (ipk__url_parse_object()) are parsed here too.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ipckit/chan.h>
#include <ipckit/url.h>

#include "internal.h"
#include "url_parse.h"

enum opt_type { NUM, OCTAL, STR, KIND, FROM, FRAMING, WAIT };

/* One key, one meaning: each key appears once and means the same on every
 * scheme that takes it (struct ipk__scheme's opts); the others refuse it,
 * naming the option meant where a user may well have meant another (mode=
 * for permissions). */
static const struct {
	const char *key;
	enum opt_type type;
	uint64_t min, max;
	const char *elsewhere; /* why, on a scheme that does not take it; NULL: generic */
} opts[IPK__NOPTS] = {
	[IPK__OPT_MSGSIZE] = { "msgsize", NUM, 1, IPK_CHAN_MSGSIZE_MAX },
	[IPK__OPT_PIPESIZE] = { "pipesize", NUM, 1, 1u << 30 },
	[IPK__OPT_BACKLOG] = { "backlog", NUM, 1, 65535 },
	[IPK__OPT_MAXMSG] = { "maxmsg", NUM, 1, 65536 },
	[IPK__OPT_QUEUE] = { "queue", STR, 1, 127 },
	[IPK__OPT_STREAM] = { "stream", STR, 1, 127 },
	[IPK__OPT_CAPACITY] = { "capacity", NUM, 4096, (uint64_t)1 << 40 },
	[IPK__OPT_KIND] = { "mode", KIND, 0, 0,
			    "mode= is shm:'s ring, queue or mpsc only; permissions are perm=" },
	[IPK__OPT_PERM] = { "perm", OCTAL, 0, 0777 },
	[IPK__OPT_BUS] = { "bus", STR, 1, 127 },
	[IPK__OPT_FROM] = { "from", FROM, 0, 0 },
	[IPK__OPT_FRAMING] = { "framing", FRAMING, 0, 0,
			       "framing= is for byte streams only (pipe:, fifo:, unix:, tcp:)" },
	[IPK__OPT_WAIT] = { "wait", WAIT, 0, 0,
			    "wait= is for ring subscribers only (shm:, dbus:)" },
};

/* Schemes that name kernel objects but no channel: only object URLs
 * (ipk__url_parse_object()) take them; ipk__url_parse() does not know them. */
static const struct ipk__scheme object_only[] = {
	{ .name = "sem", .obj = IPK__OBJ_SLASH },
	{ .name = "sysvshm", .obj = IPK__OBJ_SYSV },
	{ .name = "sysvsem", .obj = IPK__OBJ_SYSV },
	{ .name = "memfd", .obj = IPK__OBJ_WHOLE },
};

/* The scheme named by the @n bytes at @s: a channel scheme, or with
 * @objects also an object-only one; NULL if none. */
static const struct ipk__scheme *find_scheme(const char *s, size_t n, bool objects)
{
	for (const struct ipk__scheme *const *p = ipk__url_schemes; *p; p++)
		if (strlen((*p)->name) == n && !memcmp((*p)->name, s, n))
			return *p;
	for (size_t i = 0; objects && i < sizeof(object_only) / sizeof(object_only[0]); i++)
		if (strlen(object_only[i].name) == n && !memcmp(object_only[i].name, s, n))
			return &object_only[i];
	return NULL;
}

/* Where parsing stopped, and why: the first error wins. */
struct ctx {
	const char *text;
	size_t where;
	const char *why;
};

static int bad(struct ctx *c, const char *at, const char *why)
{
	c->where = (size_t)(at - c->text);
	c->why = why;
	return -EINVAL;
}

static int copy_str(struct ctx *c, char *dst, size_t cap, const char *s, size_t n, const char *why)
{
	if (n >= cap)
		return bad(c, s, why);
	memcpy(dst, s, n);
	dst[n] = '\0';
	return 0;
}

static int parse_port(struct ctx *c, const char *s, size_t n, uint16_t *port)
{
	uint64_t v;

	if (n == 0)
		return bad(c, s, "missing port number");
	if (ipk__parse_u64(s, n, 10, &v) < 0 || v > 65535)
		return bad(c, s, "port must be a number from 0 to 65535");
	*port = (uint16_t)v;
	return 0;
}

/* HOST:PORT or [V6]:PORT, exactly @n bytes. */
static int parse_hostport(struct ctx *c, const char *s, size_t n, char *host, size_t hostcap,
			  uint16_t *port)
{
	const char *end = s + n, *colon, *h = s;
	size_t hlen;

	if (n == 0)
		return bad(c, s, "missing HOST:PORT");
	if (*s == '[') {
		const char *rb = memchr(s, ']', n);

		if (!rb)
			return bad(c, s, "unclosed '[' in IPv6 address");
		h = s + 1;
		hlen = (size_t)(rb - h);
		if (rb + 1 == end || rb[1] != ':')
			return bad(c, rb + 1, "missing ':PORT' after ']'");
		colon = rb + 1;
	} else {
		colon = memrchr(s, ':', n);
		if (!colon)
			return bad(c, end, "missing ':PORT'");
		hlen = (size_t)(colon - s);
		if (memchr(s, ':', hlen))
			return bad(c, s, "IPv6 addresses go in brackets: [ADDR]:PORT");
	}
	if (hlen == 0)
		return bad(c, h, "missing host");
	if (copy_str(c, host, hostcap, h, hlen, "host name too long") < 0)
		return -EINVAL;
	return parse_port(c, colon + 1, (size_t)(end - colon - 1), port);
}

/* "/name" as POSIX mq and shm names want it: one slash, no other. */
static int parse_posix_name(struct ctx *c, struct ipk_url *u, const char *s, size_t n)
{
	if (n == 0 || *s != '/')
		return bad(c, s, "name must start with '/'");
	if (n == 1)
		return bad(c, s + 1, "missing name after '/'");
	if (memchr(s + 1, '/', n - 1))
		return bad(c, (const char *)memchr(s + 1, '/', n - 1),
			   "name may hold only one '/'");
	if (n - 1 > NAME_MAX)
		return bad(c, s, "name longer than NAME_MAX (255)");
	u->path_len = n;
	return copy_str(c, u->path, sizeof(u->path), s, n, "name too long");
}

static int parse_path(struct ctx *c, struct ipk_url *u, const char *s, size_t n)
{
	if (n == 0)
		return bad(c, s, "missing path");
	u->path_len = n;
	return copy_str(c, u->path, sizeof(u->path), s, n, "path longer than PATH_MAX");
}

static int parse_unix(struct ctx *c, struct ipk_url *u, const char *s, size_t n)
{
	if (n > 0 && *s == '@') {
		if (n == 1)
			return bad(c, s + 1, "missing abstract socket name after '@'");
		u->abstract = true;
		u->path_len = n - 1;
		return copy_str(c, u->path, sizeof(u->path), s + 1, n - 1, "name too long");
	}
	return parse_path(c, u, s, n);
}

static int parse_sysvmq(struct ctx *c, struct ipk_url *u, const char *s, size_t n)
{
	uint64_t v;

	if (n == 7 && !memcmp(s, "private", 7)) {
		u->sysv = IPK__SYSV_PRIVATE;
		return 0;
	}
	if (n > 0 && *s == '/') {
		const char *colon = memrchr(s, ':', n);

		if (!colon)
			return bad(c, s + n, "missing ':PROJ' after the path");
		if (ipk__parse_u64(colon + 1, (size_t)(s + n - colon - 1), 10, &v) < 0 || v < 1 ||
		    v > 255)
			return bad(c, colon + 1, "PROJ must be a number from 1 to 255");
		u->sysv = IPK__SYSV_FTOK;
		u->proj = (uint8_t)v;
		return parse_path(c, u, s, (size_t)(colon - s));
	}
	if (n > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		if (ipk__parse_u64(s + 2, n - 2, 16, &v) == 0 && v <= UINT32_MAX)
			goto key;
	} else if (ipk__parse_u64(s, n, 10, &v) == 0 && v <= UINT32_MAX) {
		goto key;
	}
	return bad(c, s, "expected KEY (decimal or 0x hex), /path:PROJ or 'private'");
key:
	if (v == 0)
		return bad(c, s, "key 0 is IPC_PRIVATE: write 'private'");
	u->sysv = IPK__SYSV_KEY;
	u->key = (uint32_t)v;
	return 0;
}

static int parse_nats(struct ctx *c, struct ipk_url *u, const char *s, size_t n)
{
	const char *end = s + n, *slash, *p;

	if (n < 2 || memcmp(s, "//", 2) != 0)
		return bad(c, s, "expected nats://HOST:PORT/SUBJECT");
	s += 2;
	slash = memchr(s, '/', (size_t)(end - s));
	if (!slash)
		return bad(c, end, "missing '/SUBJECT'");
	if (slash == s)
		return bad(c, s, "missing HOST:PORT");
	if (slash + 1 == end)
		return bad(c, end, "missing subject after '/'");
	for (p = slash + 1; p < end; p++)
		if (*p == ' ' || *p == '\t' || *p == '/')
			return bad(c, p, "subject may not hold spaces or '/'");
	/* every comma-separated server must be HOST:PORT */
	for (p = s; p < slash;) {
		const char *comma = memchr(p, ',', (size_t)(slash - p));
		const char *stop = comma ? comma : slash;
		char host[256];
		uint16_t port;

		if (parse_hostport(c, p, (size_t)(stop - p), host, sizeof(host), &port) < 0)
			return -EINVAL;
		p = comma ? comma + 1 : slash;
		if (comma && p == slash)
			return bad(c, p, "missing HOST:PORT after ','");
	}
	if (copy_str(c, u->servers, sizeof(u->servers), s, (size_t)(slash - s),
		     "server list too long") < 0)
		return -EINVAL;
	return copy_str(c, u->subject, sizeof(u->subject), slash + 1, (size_t)(end - slash - 1),
			"subject too long");
}

/* dbus:BUSNAME/NAME: a bus name as D-Bus defines it (unique ":1.42" or
 * well-known "org.example.Feed") and a ring name of [A-Za-z0-9_]. */
static int parse_dbus(struct ctx *c, struct ipk_url *u, const char *s, size_t n)
{
	static const char word[] =
		"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_";
	const char *slash = memchr(s, '/', n), *p, *end = s + n;
	bool uniq = n > 0 && *s == ':';
	size_t elems = 0;

	if (!slash)
		return bad(c, end, "expected dbus:BUSNAME/NAME");
	if (slash == s)
		return bad(c, s, "missing bus name");
	if (slash - s > 255)
		return bad(c, s, "bus name longer than 255");
	for (p = uniq ? s + 1 : s; p <= slash; p++) {
		const char *q = p;

		while (q < slash && *q != '.')
			q++;
		if (q == p)
			return bad(c, p, "empty element in the bus name");
		if (!uniq && *p >= '0' && *p <= '9')
			return bad(c, p, "a bus name element may not start with a digit");
		for (; p < q; p++)
			if (*p != '-' && !memchr(word, *p, sizeof(word) - 1))
				return bad(c, p, "bus names hold only [A-Za-z0-9_-] and '.'");
		elems++;
	}
	if (elems < 2)
		return bad(c, s, "a bus name has at least two elements (org.example)");
	if (slash + 1 == end)
		return bad(c, end, "missing ring name after '/'");
	if ((size_t)(end - slash - 1) > 200)
		return bad(c, slash + 1, "ring name longer than 200");
	for (p = slash + 1; p < end; p++)
		if (!memchr(word, *p, sizeof(word) - 1))
			return bad(c, p, "a ring name holds only [A-Za-z0-9_]");
	if (copy_str(c, u->host, sizeof(u->host), s, (size_t)(slash - s), "bus name too long") < 0)
		return -EINVAL;
	u->path_len = (size_t)(end - slash - 1);
	return copy_str(c, u->path, sizeof(u->path), slash + 1, u->path_len, "name too long");
}

static int parse_opt(struct ctx *c, struct ipk_url *u, const char *s, size_t n)
{
	const char *eq = memchr(s, '=', n);
	size_t klen, vlen;
	const char *v;

	if (!eq)
		return bad(c, s, "option must be KEY=VALUE");
	klen = (size_t)(eq - s);
	v = eq + 1;
	vlen = n - klen - 1;
	for (int i = 0; i < IPK__NOPTS; i++) {
		if (strlen(opts[i].key) != klen || memcmp(opts[i].key, s, klen) != 0)
			continue;
		if (!(u->scheme->opts & IPK__OPT(i)))
			return bad(c, s,
				   opts[i].elsewhere ? opts[i].elsewhere
						     : "option not accepted by this scheme");
		if (u->set[i])
			return bad(c, s, "option given twice");
		if (opts[i].type == KIND) {
			if (vlen == 4 && !memcmp(v, "ring", 4))
				u->num[i] = IPK__SHM_RING;
			else if (vlen == 5 && !memcmp(v, "queue", 5))
				u->num[i] = IPK__SHM_QUEUE;
			else if (vlen == 4 && !memcmp(v, "mpsc", 4))
				u->num[i] = IPK__SHM_MPSC;
			else
				return bad(c, v,
					   "mode must be 'ring', 'queue' or 'mpsc' (permissions: "
					   "perm=)");
		} else if (opts[i].type == FROM) {
			if (vlen == 3 && !memcmp(v, "end", 3))
				u->num[i] = IPK__FROM_END;
			else if (vlen == 6 && !memcmp(v, "oldest", 6))
				u->num[i] = IPK__FROM_OLDEST;
			else if (ipk__parse_u64(v, vlen, 10, &u->from_seq) == 0)
				u->num[i] = IPK__FROM_SEQ;
			else
				return bad(c, v,
					   "from must be 'end', 'oldest' or a sequence number");
		} else if (opts[i].type == FRAMING) {
			if (vlen == 3 && !memcmp(v, "len", 3))
				u->num[i] = IPK__FRAMING_LEN;
			else if (vlen == 4 && !memcmp(v, "line", 4))
				u->num[i] = IPK__FRAMING_LINE;
			else if (vlen == 4 && !memcmp(v, "none", 4))
				u->num[i] = IPK__FRAMING_NONE;
			else
				return bad(c, v, "framing must be 'len', 'line' or 'none'");
		} else if (opts[i].type == WAIT) {
			if (vlen == 5 && !memcmp(v, "futex", 5))
				u->num[i] = IPK__WAIT_FUTEX;
			else if (vlen == 4 && !memcmp(v, "spin", 4))
				u->num[i] = IPK__WAIT_SPIN;
			else if (vlen == 8 && !memcmp(v, "adaptive", 8))
				u->num[i] = IPK__WAIT_ADAPTIVE;
			else
				return bad(c, v, "wait must be 'futex', 'spin' or 'adaptive'");
		} else if (opts[i].type == STR) {
			if (vlen < opts[i].min || vlen > opts[i].max)
				return bad(c, v, "option value empty or too long");
			memcpy(u->str[i], v, vlen);
			u->str[i][vlen] = '\0';
			if (i == IPK__OPT_BUS && strcmp(u->str[i], "session") != 0 &&
			    strcmp(u->str[i], "system") != 0)
				return bad(c, v, "bus must be 'session' or 'system'");
		} else {
			int base = opts[i].type == OCTAL ? 8 : 10;

			if (ipk__parse_u64(v, vlen, base, &u->num[i]) < 0)
				return bad(c, v,
					   base == 8 ? "value must be an octal number"
						     : "value must be a number");
			if (u->num[i] < opts[i].min || u->num[i] > opts[i].max)
				return bad(c, v, "value out of range");
			if (i == IPK__OPT_CAPACITY && (u->num[i] & (u->num[i] - 1)))
				return bad(c, v, "capacity must be a power of two");
		}
		u->set[i] = true;
		return 0;
	}
	return bad(c, s, "unknown option");
}

int ipk__url_parse(const char *text, struct ipk_url *u, size_t *where, const char **why)
{
	struct ctx c = { .text = text };
	const char *colon, *addr, *query, *end;
	size_t slen, alen;
	int r = -EINVAL;

	memset(u, 0, sizeof(*u));
	if (!text) {
		c.why = "no URL";
		goto out;
	}
	end = text + strnlen(text, IPK__URL_MAX);
	if (*end != '\0') {
		r = bad(&c, end, "URL longer than 4095 bytes");
		goto out;
	}
	colon = strchr(text, ':');
	if (!colon) {
		r = bad(&c, end, "missing ':' after the scheme");
		goto out;
	}
	slen = (size_t)(colon - text);
	u->scheme = find_scheme(text, slen, false);
	if (!u->scheme) {
		r = bad(&c, text, "unknown scheme");
		goto out;
	}
	u->scheme_name = u->scheme->name;

	addr = colon + 1;
	query = strchr(addr, '?');
	alen = (size_t)((query ? query : end) - addr);
	switch (u->scheme->addr) {
	case IPK__ADDR_NONE:
		r = alen ? bad(&c, addr, "pipe: takes no address") : 0;
		break;
	case IPK__ADDR_PATH:
		r = parse_path(&c, u, addr, alen);
		break;
	case IPK__ADDR_UNIX:
		r = parse_unix(&c, u, addr, alen);
		break;
	case IPK__ADDR_HOSTPORT:
		r = parse_hostport(&c, addr, alen, u->host, sizeof(u->host), &u->port);
		break;
	case IPK__ADDR_POSIX:
		r = parse_posix_name(&c, u, addr, alen);
		break;
	case IPK__ADDR_SYSV:
		r = parse_sysvmq(&c, u, addr, alen);
		break;
	case IPK__ADDR_NATS:
		r = parse_nats(&c, u, addr, alen);
		break;
	case IPK__ADDR_DBUS:
		r = parse_dbus(&c, u, addr, alen);
		break;
	}
	if (r < 0 || !query)
		goto out;

	for (const char *p = query + 1;;) {
		const char *amp = strchr(p, '&');
		size_t n = (size_t)((amp ? amp : end) - p);

		if (n == 0) {
			r = bad(&c, p, "empty option");
			break;
		}
		r = parse_opt(&c, u, p, n);
		if (r < 0 || !amp)
			break;
		p = amp + 1;
	}
out:
	if (r < 0) {
		if (where)
			*where = c.where;
		if (why)
			*why = c.why;
	}
	return r;
}

/* "KEY" (decimal, 0x-hex, may be negative) or "id=N". */
static int parse_sysv_object(const char *s, bool *by_id, long long *v)
{
	char *end;

	*by_id = !strncmp(s, "id=", 3);
	if (*by_id)
		s += 3;
	if (!*s)
		return -EINVAL;
	errno = 0;
	*v = strtoll(s, &end, 0);
	if (errno || *end)
		return -EINVAL;
	if (!*by_id && (*v < INT32_MIN || *v > UINT32_MAX))
		return -EINVAL;
	if (!*by_id && *v > INT32_MAX)
		*v = (int32_t)(uint32_t)*v; /* 0xdeadbeef: the kernel's signed key */
	return 0;
}

int ipk__url_parse_object(const char *text, struct ipk__obj_url *o)
{
	const struct ipk__scheme *sc;
	const char *colon, *rest;
	size_t n;

	memset(o, 0, sizeof(*o));
	colon = text ? strchr(text, ':') : NULL;
	if (!colon)
		return -EINVAL;
	sc = find_scheme(text, (size_t)(colon - text), true);
	if (!sc || sc->obj == IPK__OBJ_NONE)
		return -EINVAL;
	o->scheme = sc->name;
	rest = colon + 1;
	if (!*rest)
		return -EINVAL;
	switch (sc->obj) {
	case IPK__OBJ_SYSV:
		o->sysv = true;
		return parse_sysv_object(rest, &o->by_id, &o->num);
	case IPK__OBJ_WHOLE:
		(void)snprintf(o->name, sizeof(o->name), "%s", text);
		return 0;
	default:
		n = strcspn(rest, "?");
		if (n == 0 || n >= sizeof(o->name))
			return -EINVAL;
		if (rest[0] != '/' && (sc->obj != IPK__OBJ_UNIX || rest[0] != '@'))
			return -EINVAL;
		memcpy(o->name, rest, n);
		o->name[n] = '\0';
		return 0;
	}
}

IPK_API int ipk_url_check(const char *url, size_t *where, const char **why)
{
	struct ipk_url u;

	return ipk__url_parse(url, &u, where, why);
}
