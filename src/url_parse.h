/* SPDX-License-Identifier: MIT */
/*
 * url_parse.h - the URL grammar (url.c). Each transport declares its
 * scheme next to its ops table (struct ipk__scheme: how its address
 * parses, which options it takes) and src/transport/registry.c lists the
 * declarations; the parser knows only the address forms and the options.
 * Parsing never touches the system: transports turn the parts into kernel
 * objects.
 */
#ifndef IPK_URL_PARSE_H
#define IPK_URL_PARSE_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Options a URL may carry, each under one key with one meaning; each
 * scheme says which it takes (struct ipk__scheme). */
enum ipk__opt {
	IPK__OPT_MSGSIZE,
	IPK__OPT_PIPESIZE,
	IPK__OPT_BACKLOG,
	IPK__OPT_MAXMSG,
	IPK__OPT_QUEUE,
	IPK__OPT_STREAM,
	IPK__OPT_CAPACITY,
	IPK__OPT_KIND,    /* mode=ring|queue|mpsc, shm: only */
	IPK__OPT_PERM,    /* perm=0OOO, permissions on every named scheme */
	IPK__OPT_BUS,     /* dbus: bus=session|system */
	IPK__OPT_FROM,    /* shm:, dbus: from=end|oldest|SEQ, a subscriber's start */
	IPK__OPT_FRAMING, /* pipe:, fifo:, unix:, tcp: framing=len|line|none */
	IPK__OPT_WAIT,    /* shm:, dbus: wait=futex|spin|adaptive, a subscriber's */
	IPK__NOPTS,
};

/* How a byte stream marks where a message ends (IPK__OPT_FRAMING): a
 * 4-byte length before it, a newline after it, or not at all. */
enum ipk__framing { IPK__FRAMING_LEN, IPK__FRAMING_LINE, IPK__FRAMING_NONE };

/* How a ring subscriber waits (IPK__OPT_WAIT): ipk_ring_sub_opts.flags. */
enum ipk__wait { IPK__WAIT_FUTEX, IPK__WAIT_SPIN, IPK__WAIT_ADAPTIVE };

/* from=end|oldest|SEQ (IPK__OPT_FROM); the seq is in from_seq. */
enum ipk__from { IPK__FROM_END, IPK__FROM_OLDEST, IPK__FROM_SEQ };

/* shm: says mode=ring, mode=queue or mode=mpsc (IPK__OPT_KIND). */
enum ipk__shm_kind { IPK__SHM_RING, IPK__SHM_QUEUE, IPK__SHM_MPSC };

enum ipk__sysv_key { IPK__SYSV_KEY, IPK__SYSV_FTOK, IPK__SYSV_PRIVATE };

#define IPK__OPT(o) (1u << (o))

/* How the address (between ':' and '?') parses. */
enum ipk__addr {
	IPK__ADDR_NONE,     /* nothing (pipe:) */
	IPK__ADDR_PATH,     /* a file path (fifo:) */
	IPK__ADDR_UNIX,     /* a path or @abstract name (unix:) */
	IPK__ADDR_HOSTPORT, /* HOST:PORT or [V6]:PORT (tcp:) */
	IPK__ADDR_POSIX,    /* /name with one slash (mq:, shm:) */
	IPK__ADDR_SYSV,     /* KEY, /path:PROJ or private (sysvmq:) */
	IPK__ADDR_NATS,     /* //HOST:PORT[,HOST:PORT...]/SUBJECT */
	IPK__ADDR_DBUS,     /* BUSNAME/NAME */
};

/* How the scheme names a kernel object for ipckit ls/rm/gc
 * (ipk__url_parse_object()). */
enum ipk__objname {
	IPK__OBJ_NONE,  /* no object of its own (pipe:, tcp:, nats:, dbus:) */
	IPK__OBJ_SLASH, /* "/name" or "/path" */
	IPK__OBJ_UNIX,  /* "/path" or "@abstract" */
	IPK__OBJ_SYSV,  /* KEY (decimal, 0x hex, may be negative) or id=N */
	IPK__OBJ_WHOLE, /* any text; the object's name is the whole URL (memfd:) */
};

struct ipk_transport;

/* One URL scheme, declared by the transport that serves it. */
struct ipk__scheme {
	const char *name;      /* the text before ':', e.g. "unix+dgram" */
	enum ipk__addr addr;   /* how its address parses */
	unsigned opts;         /* IPK__OPT() bits of the options it takes */
	enum ipk__objname obj; /* how it names an object, for inspect */
	/* what opens it (transport.h; opaque here); NULL: none in this build,
	 * -EPROTONOSUPPORT at open */
	const struct ipk_transport *tp;
};

/* The registry (src/transport/registry.c): every channel scheme, NULL-ended. */
extern const struct ipk__scheme *const ipk__url_schemes[];

#define IPK__URL_MAX 4096

struct ipk_url {
	const struct ipk__scheme *scheme;
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
	uint64_t num[IPK__NOPTS]; /* from=, framing=, wait=: their enums */
	uint64_t from_seq;        /* from=SEQ */
	char str[IPK__NOPTS][128];
};

/*
 * ipk__url_parse() - parse @text into @u
 * Return: 0; -EINVAL with *where and *why set (both optional).
 */
int ipk__url_parse(const char *text, struct ipk_url *u, size_t *where, const char **why);

/*
 * ipk__url_parse_object() - parse an object URL as ipckit ls/rm/gc and
 * ipk_inspect_find() take it: SCHEME:NAME for every channel scheme that
 * names an object (shm:/n, mq:/q, fifo:/p, unix:/p or unix:@n,
 * sysvmq:KEY) and the object-only schemes sem:/n, sysvshm:KEY,
 * sysvsem:KEY and memfd:NAME, which ipk__url_parse() and ipk_url_check()
 * refuse. A System V KEY is decimal or 0x hex and may be negative; id=N
 * names the object by its id instead. Options after '?' are ignored.
 * Return: 0 and *@o; -EINVAL (unknown scheme, no name, a name too long).
 */
#define IPK__OBJ_NAME_MAX 288 /* struct ipk_inspect_obj's name (ipckit/inspect.h) */
struct ipk__obj_url {
	const char *scheme;           /* static: "shm", "sysvsem", "unix+dgram" ... */
	bool sysv;                    /* a System V object: by_id and num say which */
	bool by_id;                   /* id=N rather than a key */
	long long num;                /* the key (as the kernel's signed key_t) or the id */
	char name[IPK__OBJ_NAME_MAX]; /* otherwise: "/q", "@abstract", "memfd:NAME" */
};
int ipk__url_parse_object(const char *text, struct ipk__obj_url *o);

/* The option's value, or @def when the URL does not set it. */
static inline uint64_t ipk__url_num(const struct ipk_url *u, enum ipk__opt o, uint64_t def)
{
	return u->set[o] ? u->num[o] : def;
}

#endif /* IPK_URL_PARSE_H */
