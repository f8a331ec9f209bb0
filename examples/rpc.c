/* SPDX-License-Identifier: MIT */
/*
 * rpc - a small key-value service over ipk_svc (request/reply in shared
 * memory), and its clients.
 *
 *   rpc serve NAME                 serve until SIGINT or SIGTERM
 *   rpc set NAME KEY VALUE         store VALUE under KEY
 *   rpc get NAME KEY               print KEY's value (exit 1 if none)
 *   rpc del NAME KEY               remove KEY
 *   rpc mset NAME KEY=VALUE...     all at once: one call in flight per pair
 *   rpc mget NAME KEY...           likewise; prints "KEY VALUE" lines in order
 *
 * NAME is "/path" (a socket file) or "@name" (abstract). The server waits
 * in an ipk_loop, on ipk_svc_fd() and on its signals, and may answer out
 * of order: a GET of a key that is not there yet is held until a SET
 * stores it or 100 ms pass (a "wait for it" read), while every other
 * request is answered at once. The clients of mset and mget start every
 * call before waiting for any; ipk_svc matches each reply to its call.
 *
 * Requests are text: "SET KEY VALUE", "GET KEY", "DEL KEY". Replies:
 * "OK", "VALUE VALUE", "NONE".
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ipckit/loop.h>
#include <ipckit/svc.h>

#define KEYS_MAX 1024
#define HELD_MAX 64
#define MSG_MAX 1024
#define HOLD_NS (100 * IPK_MSEC)

struct entry {
	char *key, *value;
};

struct held {
	uint64_t id;
	ipk_loop_timer *timer; /* its 100 ms */
	char key[MSG_MAX];
	bool used;
};

static struct {
	ipk_svc *svc;
	ipk_loop *loop;
	struct entry kv[KEYS_MAX];
	size_t n;
	struct held held[HELD_MAX];
} g;

static struct entry *find(const char *key)
{
	for (size_t i = 0; i < g.n; i++)
		if (!strcmp(g.kv[i].key, key))
			return &g.kv[i];
	return NULL;
}

static void reply_value(uint64_t id, const struct entry *e)
{
	char out[MSG_MAX];
	int n = e ? snprintf(out, sizeof(out), "VALUE %s", e->value)
		  : snprintf(out, sizeof(out), "NONE");
	int r = ipk_svc_reply(g.svc, id, out,
			      (size_t)n < sizeof(out) ? (size_t)n : sizeof(out) - 1);

	if (r < 0 && r != -ECONNRESET) /* a client gone meanwhile is no error */
		fprintf(stderr, "rpc: reply: %s\n", strerror(-r));
}

/* A SET came: answer the GETs held for its key (replies out of order). */
static void release(const char *key)
{
	for (int i = 0; i < HELD_MAX; i++)
		if (g.held[i].used && !strcmp(g.held[i].key, key)) {
			g.held[i].used = false;
			ipk_loop_timer_cancel(g.held[i].timer);
			reply_value(g.held[i].id, find(key));
		}
}

static void on_hold_timeout(ipk_loop *l, ipk_loop_timer *t, uint64_t n, void *arg)
{
	struct held *h = arg;

	(void)l;
	(void)n;
	(void)t;
	h->used = false;
	ipk_loop_timer_cancel(h->timer);
	reply_value(h->id, NULL);
}

static void handle(char *req, uint64_t id)
{
	char *verb = strtok(req, " "), *key = strtok(NULL, " "), *val = strtok(NULL, "");
	struct entry *e = key ? find(key) : NULL;

	if (verb && key && !strcmp(verb, "GET")) {
		for (int i = 0; !e && i < HELD_MAX; i++) {
			if (g.held[i].used)
				continue;
			g.held[i] = (struct held){ .id = id, .used = true };
			snprintf(g.held[i].key, sizeof(g.held[i].key), "%s", key);
			if (ipk_loop_timer_once(g.loop, HOLD_NS, on_hold_timeout, &g.held[i],
						&g.held[i].timer) < 0)
				break;
			return;
		}
		reply_value(id, e);
		return;
	}
	if (verb && key && val && !strcmp(verb, "SET") && (e || g.n < KEYS_MAX)) {
		if (!e) {
			e = &g.kv[g.n++];
			e->key = strdup(key);
		} else {
			free(e->value);
		}
		e->value = strdup(val);
		(void)ipk_svc_reply(g.svc, id, "OK", 2);
		release(key);
		return;
	}
	if (verb && key && !strcmp(verb, "DEL")) {
		if (e) {
			free(e->key);
			free(e->value);
			*e = g.kv[--g.n];
		}
		(void)ipk_svc_reply(g.svc, id, "OK", 2);
		return;
	}
	(void)ipk_svc_reply(g.svc, id, "ERR", 3);
}

static void on_svc(ipk_loop *l, int fd, uint32_t events, void *arg)
{
	char buf[MSG_MAX + 1];
	struct ipk_svc_req req;
	ssize_t n;

	(void)fd;
	(void)events;
	(void)arg;
	/* until -EAGAIN: only then does the descriptor announce requests */
	while ((n = ipk_svc_recv(g.svc, buf, MSG_MAX, &req, 0)) != -EAGAIN) {
		if (n < 0) {
			fprintf(stderr, "rpc: receive: %s\n", strerror((int)-n));
			ipk_loop_stop(l);
			return;
		}
		buf[n] = '\0';
		handle(buf, req.id);
	}
}

static void on_stop(ipk_loop *l, const struct ipk_siginfo *si, void *arg)
{
	(void)si;
	(void)arg;
	ipk_loop_stop(l);
}

static int serve(const char *name)
{
	struct ipk_svc_opts o = { .max_msg = MSG_MAX, .slots = 64 };
	int r;

	if ((r = ipk_loop_new(&g.loop)) < 0 || (r = ipk_svc_create(name, &o, &g.svc)) < 0 ||
	    (r = ipk_loop_add_fd(g.loop, ipk_svc_fd(g.svc), IPK_LOOP_IN, on_svc, NULL)) < 0 ||
	    (r = ipk_loop_add_signal(g.loop, SIGINT, on_stop, NULL)) < 0 ||
	    (r = ipk_loop_add_signal(g.loop, SIGTERM, on_stop, NULL)) < 0) {
		fprintf(stderr, "rpc: %s: %s\n", name, strerror(-r));
		ipk_svc_close(g.svc);
		ipk_loop_free(g.loop);
		return 1;
	}
	fprintf(stderr, "rpc: serving %s\n", name);
	r = ipk_loop_run(g.loop);
	ipk_svc_close(g.svc); /* removes the socket file; clients' calls fail with EPIPE */
	ipk_loop_free(g.loop);
	for (size_t i = 0; i < g.n; i++) {
		free(g.kv[i].key);
		free(g.kv[i].value);
	}
	return r < 0 ? 1 : 0;
}

/* Start one call per request, then wait for each in turn; print replies. */
static int calls(const char *name, char **reqs, int n, char **keys)
{
	uint64_t id[64];
	char rep[MSG_MAX + 1];
	ipk_svc_client *c;
	int r, rc = 0;

	r = ipk_svc_connect(name, NULL, 5 * IPK_SEC, &c);
	if (r < 0) {
		fprintf(stderr, "rpc: %s: %s\n", name, strerror(-r));
		return 1;
	}
	for (int i = 0; i < n; i++) {
		r = ipk_svc_call_start(c, reqs[i], strlen(reqs[i]), &id[i], 5 * IPK_SEC);
		if (r < 0) {
			fprintf(stderr, "rpc: call: %s\n", strerror(-r));
			n = i;
			rc = 1;
		}
	}
	for (int i = 0; i < n; i++) {
		ssize_t len = ipk_svc_call_wait(c, id[i], rep, MSG_MAX, 5 * IPK_SEC);

		if (len < 0) {
			fprintf(stderr, "rpc: reply: %s\n", strerror((int)-len));
			rc = 1;
			continue;
		}
		rep[len] = '\0';
		if (!strncmp(rep, "VALUE ", 6))
			printf(keys ? "%s %s\n" : "%s%s\n", keys ? keys[i] : "", rep + 6);
		else if (!strcmp(rep, "NONE"))
			rc = 1;
		else if (strcmp(rep, "OK") != 0)
			rc = 1;
	}
	ipk_svc_client_close(c);
	return rc;
}

int main(int argc, char **argv)
{
	char *reqs[64], bufs[64][MSG_MAX];
	const char *verb = argc > 2 ? argv[1] : "";
	int n = 0;

	if (!strcmp(verb, "serve") && argc == 3)
		return serve(argv[2]);
	if ((!strcmp(verb, "get") || !strcmp(verb, "del")) && argc == 4) {
		snprintf(bufs[0], MSG_MAX, "%s %s", !strcmp(verb, "get") ? "GET" : "DEL", argv[3]);
		reqs[n++] = bufs[0];
	} else if (!strcmp(verb, "set") && argc == 5) {
		snprintf(bufs[0], MSG_MAX, "SET %s %s", argv[3], argv[4]);
		reqs[n++] = bufs[0];
	} else if ((!strcmp(verb, "mset") || !strcmp(verb, "mget")) && argc > 3 && argc - 3 <= 64) {
		for (int i = 3; i < argc; i++) {
			char *eq = strchr(argv[i], '=');

			if (!strcmp(verb, "mget"))
				snprintf(bufs[n], MSG_MAX, "GET %s", argv[i]);
			else if (eq)
				snprintf(bufs[n], MSG_MAX, "SET %.*s %s", (int)(eq - argv[i]),
					 argv[i], eq + 1);
			else
				goto usage;
			reqs[n] = bufs[n];
			n++;
		}
		return calls(argv[2], reqs, n, !strcmp(verb, "mget") ? argv + 3 : NULL);
	} else {
		goto usage;
	}
	return calls(argv[2], reqs, n, NULL);
usage:
	fprintf(stderr, "usage: rpc serve NAME | set NAME KEY VALUE | get NAME KEY | del NAME KEY\n"
			"       | mset NAME KEY=VALUE... | mget NAME KEY...\n");
	return 2;
}
