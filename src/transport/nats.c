/* SPDX-License-Identifier: MIT */
/*
 * transport/nats.c - nats://HOST:PORT[,HOST:PORT...]/SUBJECT, a channel over
 * NATS through the official C client (libnats). ipckit speaks no protocol
 * of its own here: connecting, reconnecting and JetStream are the client's.
 *
 * Core NATS: send publishes on SUBJECT; every end that may receive
 * subscribes at open (?queue=GROUP joins a queue group). A connection never
 * receives its own messages (no echo), so one end both sends and receives
 * like a bus member. The client's callback thread moves each message into a
 * bounded queue and an eventfd makes it pollable (ipk_chan_fd()); when the
 * queue is full the message is dropped and counted (ipk_chan_lost()), as
 * are the client's own slow-consumer drops.
 *
 * ?stream=NAME: sends are JetStream publishes that return only once the
 * server acknowledged them (each carries a Nats-Msg-Id, so a retry after a
 * lost acknowledgement is deduplicated by the server). The stream is made
 * if missing (file storage, replicas = number of servers in the URL, up to
 * 3). Receiving binds a durable consumer, ?queue= or "ipckit", made on the
 * first recv or fd call, so sending ends consume nothing; a message is
 * acknowledged when recv hands it out, and redeliveries of one already
 * handed out are acknowledged and skipped by stream sequence.
 *
 * Reconnection: the client retries every server of the list forever, 100 ms
 * apart. Core sends made while disconnected go to a reconnect buffer of
 * IPK__NATS_RECONNECT_BUF bytes; a send that does not fit waits for the
 * connection until its deadline and then fails (-ETIMEDOUT, -EAGAIN
 * without one): never silently dropped.
 *
 * Credentials come from the environment: IPK_NATS_TOKEN, or IPK_NATS_USER
 * with IPK_NATS_PASSWORD. A refused login is -EACCES.
 */
#include "internal.h"
#include "transport.h"

/* The scheme parses in every build; without the NATS client nothing opens
 * it (-EPROTONOSUPPORT). */
#ifdef IPK_HAVE_NATS
#define NATS_TRANSPORT (&ipk__transport_nats)
#else
#define NATS_TRANSPORT NULL
#endif

const struct ipk__scheme ipk__scheme_nats = {
	.name = "nats",
	.addr = IPK__ADDR_NATS,
	.opts = IPK__OPT(IPK__OPT_MSGSIZE) | IPK__OPT(IPK__OPT_QUEUE) | IPK__OPT(IPK__OPT_STREAM),
	.obj = IPK__OBJ_NONE,
	.tp = NATS_TRANSPORT,
};

#ifdef IPK_HAVE_NATS
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/random.h>
#include <unistd.h>

#include <nats/nats.h>

#define IPK__NATS_RECONNECT_BUF (8 << 20) /* bytes kept while disconnected */
#define IPK__NATS_QUEUE 65536             /* messages waiting for recv */
#define IPK__NATS_CONNECT_MAX_MS 5000     /* per server, without a deadline */
#define IPK__NATS_HDR_ROOM 256            /* what JetStream headers may take */
#define IPK__NATS_DEDUP_WINDOW 65536      /* stream sequences remembered */

struct nats_chan {
	natsConnection *nc;
	natsSubscription *sub;
	jsCtx *js;
	char subject[256];
	char stream[128];
	char durable[128];
	char queue_group[128];
	int efd; /* readable while the queue holds a message */
	pthread_mutex_t lock;
	bool lock_init;
	/* the queue, filled by the client's thread */
	natsMsg **q;
	size_t qhead, qlen;
	uint64_t dropped;
	/* stream mode */
	uint64_t msg_id_base, next_id;
	uint64_t seen_floor; /* sequences <= this: not known, taken as new */
	uint64_t seen_low;   /* above the floor, <= this: all handed out */
	uint8_t *seen;       /* bitmap of sequences above seen_low */
	bool seen_any;
	/* the last Nats-Msg-Id handed out: a sender's ids count up */
	uint64_t last_base, last_id;
	bool last_any;
	bool want_recv;
	char *gather; /* max_msg bytes for multi-part sends, once one is made */
};

/* natsStatus -> negative errno; the client's last error text is not kept. */
static int nats_err(natsStatus s)
{
	switch (s) {
	case NATS_OK:
		return 0;
	case NATS_TIMEOUT:
		return -ETIMEDOUT;
	case NATS_NO_SERVER:
		return -ECONNREFUSED;
	case NATS_CONNECTION_AUTH_FAILED:
	case NATS_NOT_PERMITTED:
		return -EACCES;
	case NATS_MAX_PAYLOAD:
		return -EMSGSIZE;
	case NATS_INSUFFICIENT_BUFFER:
	case NATS_SLOW_CONSUMER:
		return -ENOBUFS;
	case NATS_NO_MEMORY:
		return -ENOMEM;
	case NATS_INVALID_SUBJECT:
	case NATS_INVALID_ARG:
	case NATS_INVALID_QUEUE_NAME:
		return -EINVAL;
	case NATS_CONNECTION_CLOSED:
	case NATS_CONNECTION_DISCONNECTED:
		return -ENOTCONN;
	case NATS_NOT_FOUND:
		return -ENOENT;
	case NATS_NO_RESPONDERS:
		return -EHOSTUNREACH;
	case NATS_SSL_ERROR:
	case NATS_PROTOCOL_ERROR:
		return -EPROTO;
	default:
		return -EIO;
	}
}

/*
 * A subject is dot-separated non-empty tokens of printable characters
 * other than space. '*' tokens and a final '>' are wildcards, which only a
 * receive-only core end may use (nothing can be published to them).
 */
static bool subject_ok(const char *s, bool wildcards)
{
	const char *tok = s;

	if (!*s)
		return false;
	for (const char *p = s;; p++) {
		if (*p == '.' || *p == '\0') {
			size_t n = (size_t)(p - tok);

			if (n == 0)
				return false;
			if (n == 1 && (*tok == '*' || *tok == '>')) {
				if (!wildcards || (*tok == '>' && *p != '\0'))
					return false;
			} else {
				for (const char *c = tok; c < p; c++)
					if (*c == '*' || *c == '>')
						return false;
			}
			if (*p == '\0')
				return true;
			tok = p + 1;
		} else if ((unsigned char)*p <= ' ' || (unsigned char)*p == 0x7f) {
			return false;
		}
	}
}

/* Stream and consumer names: no '.', '*', '>', spaces or path separators. */
static bool name_ok(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if ((unsigned char)*s <= ' ' || strchr(".*>/\\", *s))
			return false;
	return true;
}

static int64_t ms_left(int64_t deadline_ns, int64_t cap_ms)
{
	int64_t left;

	if (deadline_ns == IPK__NEVER)
		return cap_ms;
	if (deadline_ns == IPK__NOWAIT)
		return cap_ms < 1000 ? cap_ms : 1000; /* one try still needs a round trip */
	left = (deadline_ns - ipk__now_ns()) / 1000000;
	if (left < 1)
		left = 1;
	return left < cap_ms ? left : cap_ms;
}

static bool expired(int64_t deadline_ns)
{
	return deadline_ns != IPK__NEVER &&
	       (deadline_ns == IPK__NOWAIT || ipk__now_ns() >= deadline_ns);
}

static void efd_clear(struct nats_chan *t)
{
	uint64_t v;

	(void)!read(t->efd, &v, sizeof(v));
}

static void efd_set(struct nats_chan *t)
{
	uint64_t one = 1;

	(void)!write(t->efd, &one, sizeof(one));
}

/* The client's delivery thread: queue the message or count it lost. In
 * stream mode the consumer's max_ack_pending bounds what arrives. */
static void on_msg(natsConnection *nc, natsSubscription *sub, natsMsg *msg, void *closure)
{
	struct nats_chan *t = closure;

	(void)nc;
	(void)sub;
	pthread_mutex_lock(&t->lock);
	if (t->qlen == IPK__NATS_QUEUE) {
		t->dropped++;
		pthread_mutex_unlock(&t->lock);
		if (t->js)
			natsMsg_Nak(msg, NULL);
		natsMsg_Destroy(msg);
		return;
	}
	t->q[(t->qhead + t->qlen) % IPK__NATS_QUEUE] = msg;
	if (t->qlen++ == 0)
		efd_set(t);
	pthread_mutex_unlock(&t->lock);
}

static void nats_free(struct nats_chan *t)
{
	if (!t)
		return;
	/* Push out what send buffered and the acknowledgements; bounded, so
	 * close stays short. */
	if (t->nc && natsConnection_Status(t->nc) == NATS_CONN_STATUS_CONNECTED)
		(void)natsConnection_FlushTimeout(t->nc, 2000);
	if (t->sub) {
		/* A durable consumer outlives the channel: unsubscribing would
		 * delete it, so a stream end only lets go of it. */
		if (!t->js)
			(void)natsSubscription_Unsubscribe(t->sub);
		natsSubscription_Destroy(t->sub);
	}
	if (t->nc)
		natsConnection_Close(t->nc);
	jsCtx_Destroy(t->js);
	natsConnection_Destroy(t->nc);
	if (t->q) {
		for (size_t i = 0; i < t->qlen; i++)
			natsMsg_Destroy(t->q[(t->qhead + i) % IPK__NATS_QUEUE]);
		free(t->q);
	}
	if (t->lock_init)
		pthread_mutex_destroy(&t->lock);
	if (t->efd >= 0)
		close(t->efd);
	free(t->seen);
	free(t->gather);
	free(t);
}

static int make_opts(natsOptions **ret, const struct ipk_url *url, int64_t deadline_ns)
{
	const char *srv[16];
	char buf[sizeof(url->servers)], urls[16][300];
	const char *tok, *user, *pass, *token;
	char *save = NULL;
	natsOptions *o = NULL;
	natsStatus s;
	int n = 0;

	memcpy(buf, url->servers, sizeof(buf));
	for (tok = strtok_r(buf, ",", &save); tok && n < 16; tok = strtok_r(NULL, ",", &save)) {
		snprintf(urls[n], sizeof(urls[n]), "nats://%s", tok);
		srv[n] = urls[n];
		n++;
	}
	if (n == 0)
		return -EINVAL;
	s = natsOptions_Create(&o);
	if (s == NATS_OK)
		s = natsOptions_SetServers(o, srv, n);
	if (s == NATS_OK)
		s = natsOptions_SetNoRandomize(o, true); /* the first listed is tried first */
	if (s == NATS_OK)
		s = natsOptions_SetTimeout(o, ms_left(deadline_ns, IPK__NATS_CONNECT_MAX_MS));
	if (s == NATS_OK)
		s = natsOptions_SetMaxReconnect(o, -1);
	if (s == NATS_OK)
		s = natsOptions_SetReconnectWait(o, 100);
	if (s == NATS_OK)
		s = natsOptions_SetReconnectJitter(o, 50, 100);
	if (s == NATS_OK)
		s = natsOptions_SetReconnectBufSize(o, IPK__NATS_RECONNECT_BUF);
	if (s == NATS_OK)
		s = natsOptions_SetNoEcho(o, true);
	/* Write each message at once, as every other transport does; the
	 * client's flusher would add about a millisecond per message. */
	if (s == NATS_OK)
		s = natsOptions_SetSendAsap(o, true);
	if (s == NATS_OK)
		s = natsOptions_SetName(o, "ipckit");
	token = getenv("IPK_NATS_TOKEN");
	user = getenv("IPK_NATS_USER");
	pass = getenv("IPK_NATS_PASSWORD");
	if (s == NATS_OK && token && *token)
		s = natsOptions_SetToken(o, token);
	if (s == NATS_OK && user && *user)
		s = natsOptions_SetUserInfo(o, user, pass ? pass : "");
	if (s != NATS_OK) {
		natsOptions_Destroy(o);
		return nats_err(s);
	}
	*ret = o;
	return 0;
}

static int count_servers(const char *servers)
{
	int n = 1;

	for (; *servers; servers++)
		n += *servers == ',';
	return n;
}

/* The stream exists afterwards, or the error says why not. */
static int ensure_stream(struct nats_chan *t, int nservers, int64_t deadline_ns)
{
	jsStreamInfo *si = NULL;
	jsStreamConfig cfg;
	jsOptions jo;
	const char *subj[1] = { t->subject };
	jsErrCode ec = 0;
	natsStatus s;

	jsOptions_Init(&jo);
	jo.Wait = ms_left(deadline_ns, 5000);
	s = js_GetStreamInfo(&si, t->js, t->stream, &jo, &ec);
	if (s == NATS_OK) {
		jsStreamInfo_Destroy(si);
		return 0;
	}
	if (s != NATS_NOT_FOUND)
		return nats_err(s);
	jsStreamConfig_Init(&cfg);
	cfg.Name = t->stream;
	cfg.Subjects = subj;
	cfg.SubjectsLen = 1;
	cfg.Storage = js_FileStorage;
	cfg.Replicas = nservers >= 3 ? 3 : 1;
	s = js_AddStream(&si, t->js, &cfg, &jo, &ec);
	if (s == NATS_OK) {
		jsStreamInfo_Destroy(si);
		return 0;
	}
	/* Another end made it at the same moment. */
	if (js_GetStreamInfo(&si, t->js, t->stream, &jo, NULL) == NATS_OK) {
		jsStreamInfo_Destroy(si);
		return 0;
	}
	return nats_err(s);
}

static int core_subscribe(struct nats_chan *t)
{
	natsStatus s;

	if (t->queue_group[0])
		s = natsConnection_QueueSubscribe(&t->sub, t->nc, t->subject, t->queue_group,
						  on_msg, t);
	else
		s = natsConnection_Subscribe(&t->sub, t->nc, t->subject, on_msg, t);
	if (s == NATS_OK)
		s = natsSubscription_SetPendingLimits(t->sub, IPK__NATS_QUEUE, 256 << 20);
	if (s == NATS_OK)
		s = natsConnection_Flush(t->nc); /* the server knows the interest */
	return nats_err(s);
}

/* Stream mode: bind the durable consumer on first use. */
static int js_bind(struct nats_chan *t, int64_t deadline_ns)
{
	jsSubOptions so;
	jsOptions jo;
	jsErrCode ec = 0;
	natsStatus s;

	if (t->sub)
		return 0;
	jsOptions_Init(&jo);
	jo.Wait = ms_left(deadline_ns, 5000);
	jsSubOptions_Init(&so);
	so.Stream = t->stream;
	so.ManualAck = true;
	so.Config.Durable = t->durable;
	so.Config.AckPolicy = js_AckExplicit;
	so.Config.DeliverPolicy = js_DeliverAll;
	so.Config.AckWait = 5 * (int64_t)1000000000; /* redelivery after a lost ack */
	s = js_Subscribe(&t->sub, t->js, t->subject, on_msg, t, &jo, &so, &ec);
	if (s != NATS_OK) {
		t->sub = NULL;
		return nats_err(s);
	}
	return 0;
}

static int nats_open_chan(struct ipk_chan *ch, const struct ipk_url *url, int64_t deadline_ns)
{
	struct nats_chan *t;
	natsOptions *o = NULL;
	bool stream = url->set[IPK__OPT_STREAM];
	bool rdonly = ch->flags & IPK_CHAN_RDONLY;
	int64_t max;
	natsStatus s;
	int r;

	/* CREATE, EXCL and KEEP mean nothing for a subject: no end owns it. */
	if (!subject_ok(url->subject, rdonly && !stream))
		return -EINVAL;
	if (stream && !name_ok(url->str[IPK__OPT_STREAM]))
		return -EINVAL;
	if (stream && url->set[IPK__OPT_QUEUE] && !name_ok(url->str[IPK__OPT_QUEUE]))
		return -EINVAL;
	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	t->efd = -1;
	snprintf(t->subject, sizeof(t->subject), "%s", url->subject);
	if (url->set[IPK__OPT_QUEUE])
		snprintf(t->queue_group, sizeof(t->queue_group), "%s", url->str[IPK__OPT_QUEUE]);
	if (stream) {
		snprintf(t->stream, sizeof(t->stream), "%s", url->str[IPK__OPT_STREAM]);
		snprintf(t->durable, sizeof(t->durable), "%s",
			 t->queue_group[0] ? t->queue_group : "ipckit");
	}
	r = -ENOMEM;
	if (pthread_mutex_init(&t->lock, NULL) != 0)
		goto fail;
	t->lock_init = true;
	t->q = malloc(IPK__NATS_QUEUE * sizeof(*t->q));
	if (!t->q)
		goto fail;
	t->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (t->efd < 0) {
		r = ipk__neg_errno();
		goto fail;
	}
	if (getrandom(&t->msg_id_base, sizeof(t->msg_id_base), 0) != sizeof(t->msg_id_base))
		t->msg_id_base = (uint64_t)ipk__now_ns() ^ (uint64_t)getpid() << 32;

	r = make_opts(&o, url, deadline_ns);
	if (r < 0)
		goto fail;
	s = natsConnection_Connect(&t->nc, o);
	natsOptions_Destroy(o);
	if (s != NATS_OK) {
		t->nc = NULL;
		/* A refused login surfaces as "no server" with the reason kept. */
		if (s == NATS_NO_SERVER || s == NATS_CONNECTION_AUTH_FAILED) {
			const char *txt = nats_GetLastError(NULL);

			if (txt && strcasestr(txt, "authoriz"))
				s = NATS_CONNECTION_AUTH_FAILED;
			else if (txt && strcasestr(txt, "timeout"))
				s = NATS_TIMEOUT;
		}
		r = nats_err(s);
		goto fail;
	}
	max = natsConnection_GetMaxPayload(t->nc);
	if (stream)
		max -= IPK__NATS_HDR_ROOM;
	if (max < 1) {
		r = -EPROTO;
		goto fail;
	}
	/* The server's max_payload, or less with ?msgsize=. */
	if (!url->set[IPK__OPT_MSGSIZE] || (uint64_t)max < ch->max_msg)
		ch->max_msg = (size_t)max;
	if (stream) {
		s = natsConnection_JetStream(&t->js, t->nc, NULL);
		if (s != NATS_OK) {
			r = nats_err(s);
			goto fail;
		}
		r = ensure_stream(t, count_servers(url->servers), deadline_ns);
		if (r < 0)
			goto fail;
		t->seen = calloc(IPK__NATS_DEDUP_WINDOW / 8, 1);
		if (!t->seen) {
			r = -ENOMEM;
			goto fail;
		}
		if (rdonly) {
			r = js_bind(t, deadline_ns);
			if (r < 0)
				goto fail;
		}
	} else if (!(ch->flags & IPK_CHAN_WRONLY)) {
		r = core_subscribe(t);
		if (r < 0)
			goto fail;
	}
	ch->t = t;
	ch->fd = t->efd;
	return 0;
fail:
	nats_free(t);
	return r;
}

static int wait_connected(struct nats_chan *t, int64_t deadline_ns)
{
	for (;;) {
		natsConnStatus st = natsConnection_Status(t->nc);

		if (st == NATS_CONN_STATUS_CONNECTED)
			return 0;
		if (st == NATS_CONN_STATUS_CLOSED)
			return -ENOTCONN;
		if (deadline_ns == IPK__NOWAIT)
			return -EAGAIN;
		if (ipk__sleep_until(deadline_ns, 10000000) < 0)
			return -ETIMEDOUT;
	}
}

static int js_send(struct nats_chan *t, const void *buf, size_t len, int64_t deadline_ns)
{
	jsPubOptions po;
	jsErrCode ec;
	char id[48];
	natsStatus s;
	int r;

	snprintf(id, sizeof(id), "%016llx-%llu", (unsigned long long)t->msg_id_base,
		 (unsigned long long)t->next_id++);
	for (;;) {
		jsPubOptions_Init(&po);
		po.MsgId = id;
		po.MaxWait = ms_left(deadline_ns, 2000);
		ec = 0;
		s = js_Publish(NULL, t->js, t->subject, buf, (int)len, &po, &ec);
		if (s == NATS_OK)
			return 0;
		r = nats_err(s);
		/* Retried with the same id until the deadline: lost acks and
		 * fail-overs end as one stored message, not zero or two. */
		if (r != -ETIMEDOUT && r != -EHOSTUNREACH && r != -ENOTCONN && r != -EIO &&
		    r != -ENOBUFS)
			return r;
		if (expired(deadline_ns))
			return deadline_ns == IPK__NOWAIT ? -EAGAIN : -ETIMEDOUT;
		r = wait_connected(t, deadline_ns);
		if (r == -ENOTCONN)
			return r;
		if (r < 0)
			return deadline_ns == IPK__NOWAIT ? -EAGAIN : -ETIMEDOUT;
		(void)ipk__sleep_until(deadline_ns, 20000000);
	}
}

static int nats_send(struct ipk_chan *ch, const struct iovec *iov, int iovcnt, size_t len,
		     int64_t deadline_ns)
{
	struct nats_chan *t = ch->t;
	const void *buf = iovcnt > 0 ? iov[0].iov_base : "";
	natsStatus s;
	int r;

	if (ch->flags & IPK_CHAN_RDONLY)
		return -EBADF;
	if (iovcnt > 1) {
		/* Made by the first multi-part send, kept for the next ones. */
		if (!t->gather && !(t->gather = malloc(ch->max_msg ? ch->max_msg : 1)))
			return -ENOMEM;
		ipk__iov_gather(t->gather, iov, iovcnt);
		buf = t->gather;
	}
	if (t->js)
		return js_send(t, buf, len, deadline_ns);
	for (;;) {
		s = natsConnection_Publish(t->nc, t->subject, buf, (int)len);
		r = nats_err(s);
		/* The reconnect buffer is full: wait for the connection. */
		if (r != -ENOBUFS)
			break;
		r = wait_connected(t, deadline_ns);
		if (r < 0)
			break;
		if (expired(deadline_ns)) {
			r = deadline_ns == IPK__NOWAIT ? -EAGAIN : -ETIMEDOUT;
			break;
		}
		(void)ipk__sleep_until(deadline_ns, 1000000);
	}
	return r;
}

/*
 * Stream mode: a message stored twice under two stream sequences (a
 * fail-over can store a retried publish again before the new leader knows
 * its id) carries the same Nats-Msg-Id, "BASE-N" with N counting up per
 * sender. True if @m repeats or precedes the last id handed out from the
 * same sender.
 */
static bool same_msg_id(struct nats_chan *t, natsMsg *m)
{
	unsigned long long base, id;
	const char *v = NULL;

	if (natsMsgHeader_Get(m, "Nats-Msg-Id", &v) != NATS_OK || !v ||
	    sscanf(v, "%16llx-%llu", &base, &id) != 2)
		return false;
	if (t->last_any && base == t->last_base && id <= t->last_id)
		return true;
	t->last_any = true;
	t->last_base = base;
	t->last_id = id;
	return false;
}

/*
 * Stream mode: was stream sequence @seq handed out already by this channel?
 * Marks it. What the channel cannot tell (before its first message, or
 * forgotten when it had to move the window) counts as new: a duplicate is
 * better than a loss.
 */
static bool seen_before(struct nats_chan *t, uint64_t seq)
{
	uint64_t off;

	if (!t->seen_any) {
		t->seen_any = true;
		t->seen_low = t->seen_floor = seq - 1;
	}
	if (seq <= t->seen_floor)
		return false;
	if (seq <= t->seen_low)
		return true;
	off = seq - t->seen_low - 1;
	while (off >= IPK__NATS_DEDUP_WINDOW) {
		/* Too far ahead: forget the oldest part of the window. */
		memmove(t->seen, t->seen + 1, IPK__NATS_DEDUP_WINDOW / 8 - 1);
		t->seen[IPK__NATS_DEDUP_WINDOW / 8 - 1] = 0;
		t->seen_low += 8;
		t->seen_floor = t->seen_low;
		off -= 8;
	}
	if (t->seen[off / 8] & (1u << (off % 8)))
		return true;
	t->seen[off / 8] |= (uint8_t)(1u << (off % 8));
	/* Slide past the handed-out prefix. */
	while (t->seen[0] == 0xff) {
		memmove(t->seen, t->seen + 1, IPK__NATS_DEDUP_WINDOW / 8 - 1);
		t->seen[IPK__NATS_DEDUP_WINDOW / 8 - 1] = 0;
		t->seen_low += 8;
	}
	return false;
}

static ssize_t nats_recv(struct ipk_chan *ch, void *buf, size_t len, int64_t deadline_ns)
{
	struct nats_chan *t = ch->t;
	natsMsg *m;
	size_t n;
	int r;

	if (ch->flags & IPK_CHAN_WRONLY)
		return -EBADF;
	if (t->js) {
		r = js_bind(t, deadline_ns);
		if (r < 0)
			return r;
	}
	for (;;) {
		pthread_mutex_lock(&t->lock);
		ch->lost = t->dropped;
		if (t->sub && !t->js) {
			int64_t d = 0;

			if (natsSubscription_GetDropped(t->sub, &d) == NATS_OK && d > 0)
				ch->lost += (uint64_t)d;
		}
		if (t->qlen == 0) {
			efd_clear(t);
			pthread_mutex_unlock(&t->lock);
			r = ipk__wait_fd(t->efd, POLLIN, deadline_ns);
			if (r < 0)
				return r;
			continue;
		}
		m = t->q[t->qhead];
		n = (size_t)natsMsg_GetDataLength(m);
		if (n > len) {
			ch->next_len = n;
			pthread_mutex_unlock(&t->lock);
			return -EMSGSIZE;
		}
		t->qhead = (t->qhead + 1) % IPK__NATS_QUEUE;
		if (--t->qlen == 0)
			efd_clear(t);
		pthread_mutex_unlock(&t->lock);
		if (t->js) {
			jsMsgMetaData *md = NULL;
			bool dup = false;

			/* A first delivery is never a duplicate. */
			if (natsMsg_GetMetaData(&md, m) == NATS_OK) {
				dup = seen_before(t, md->Sequence.Stream) && md->NumDelivered > 1;
				jsMsgMetaData_Destroy(md);
			}
			dup = dup || same_msg_id(t, m);
			(void)natsMsg_Ack(m, NULL);
			if (dup) {
				natsMsg_Destroy(m);
				continue;
			}
		}
		if (n)
			memcpy(buf, natsMsg_GetData(m), n);
		natsMsg_Destroy(m);
		return (ssize_t)n;
	}
}

static int nats_flush(struct ipk_chan *ch, int64_t deadline_ns)
{
	struct nats_chan *t = ch->t;
	natsStatus s;
	int r;

	r = wait_connected(t, deadline_ns);
	if (r < 0)
		return r;
	s = natsConnection_FlushTimeout(t->nc, ms_left(deadline_ns, INT32_MAX));
	return nats_err(s);
}

static int nats_fd(struct ipk_chan *ch)
{
	struct nats_chan *t = ch->t;
	int r;

	if (ch->flags & IPK_CHAN_WRONLY)
		return -EOPNOTSUPP;
	if (t->js) {
		r = js_bind(t, IPK__NEVER);
		if (r < 0)
			return r;
	}
	return t->efd;
}

static void nats_close(struct ipk_chan *ch)
{
	nats_free(ch->t);
	ch->t = NULL;
}

const struct ipk_transport ipk__transport_nats = {
	.scheme = "nats",
	.open = nats_open_chan,
	.send = nats_send,
	.recv = nats_recv,
	.send_tag = ipk__send_untagged,
	.recv_tag = ipk__recv_untagged,
	.send_batch = ipk__send_batch_loop,
	.recv_batch = ipk__recv_batch_loop,
	.flush = nats_flush,
	.fd = nats_fd,
	.close = nats_close,
	.subscribers = ipk__no_subscribers,
	.listen = ipk__no_listen,
	.accept = ipk__no_accept,
};
#endif /* IPK_HAVE_NATS */
