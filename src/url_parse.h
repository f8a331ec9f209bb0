/* SPDX-License-Identifier: MIT */
/*
 * url_parse.h - parsed channel URLs (url.c). Parsing never touches the system;
 * transports turn the parts into kernel objects.
 */
#ifndef IPK_URL_PARSE_H
#define IPK_URL_PARSE_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum ipk__scheme {
	IPK__PIPE,
	IPK__FIFO,
	IPK__UNIX,
	IPK__UNIX_DGRAM,
	IPK__UNIX_SEQPACKET,
	IPK__TCP,
	IPK__MQ,
	IPK__SYSVMQ,
	IPK__SHM,
	IPK__NATS,
	IPK__DBUS, /* dbus:BUSNAME/NAME, a ring offered on D-Bus (bus.h) */
	IPK__NSCHEMES,
};

/* Options a URL may carry, each under one key with one meaning; which
 * schemes take which is in url.c. */
enum ipk__opt {
	IPK__OPT_MSGSIZE,
	IPK__OPT_PIPESIZE,
	IPK__OPT_BACKLOG,
	IPK__OPT_MAXMSG,
	IPK__OPT_QUEUE,
	IPK__OPT_STREAM,
	IPK__OPT_CAPACITY,
	IPK__OPT_KIND, /* mode=ring|queue, shm: only */
	IPK__OPT_PERM, /* perm=0OOO, permissions on every named scheme */
	IPK__OPT_BUS,  /* dbus: bus=session|system */
	IPK__OPT_FROM, /* shm:, dbus: from=end|oldest|SEQ, a subscriber's start */
	IPK__NOPTS,
};

/* from=end|oldest|SEQ (IPK__OPT_FROM); the seq is in from_seq. */
enum ipk__from { IPK__FROM_END, IPK__FROM_OLDEST, IPK__FROM_SEQ };

/* shm: says mode=ring or mode=queue (IPK__OPT_KIND). */
enum ipk__shm_kind { IPK__SHM_RING, IPK__SHM_QUEUE };

enum ipk__sysv_key { IPK__SYSV_KEY, IPK__SYSV_FTOK, IPK__SYSV_PRIVATE };

#define IPK__URL_MAX 4096

struct ipk_url {
	enum ipk__scheme scheme;
	const char *scheme_name; /* static, e.g. "unix+dgram" */
	/* fifo, unix*, mq, shm, sysvmq ftok: the path or name, NUL-ended;
	 * for abstract unix sockets the name without its '@' */
	char path[PATH_MAX];
	size_t path_len;
	bool abstract;
	/* tcp: host (brackets removed) and port; nats: servers, subject;
	 * dbus: the bus name in host, the ring name in path */
	char host[256];
	uint16_t port;
	char servers[1024];
	char subject[256];
	/* sysvmq */
	enum ipk__sysv_key sysv;
	uint32_t key;
	uint8_t proj;
	/* options: set[i] says whether option i appeared */
	bool set[IPK__NOPTS];
	uint64_t num[IPK__NOPTS]; /* from=: enum ipk__from */
	uint64_t from_seq;        /* from=SEQ */
	char str[IPK__NOPTS][128];
};

/*
 * ipk__url_parse() - parse @text into @u
 * Return: 0; -EINVAL with *where and *why set (both optional).
 */
int ipk__url_parse(const char *text, struct ipk_url *u, size_t *where, const char **why);

/* The option's value, or @def when the URL does not set it. */
static inline uint64_t ipk__url_num(const struct ipk_url *u, enum ipk__opt o, uint64_t def)
{
	return u->set[o] ? u->num[o] : def;
}

#endif /* IPK_URL_PARSE_H */
