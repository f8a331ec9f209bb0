/* SPDX-License-Identifier: MIT */
/*
 * tests/svc/threads.c - ipk_svc with threads standing in for processes,
 * so that ThreadSanitizer sees both sides of the queues and doorbells
 * (suite 'threaded'): a server thread that holds up to three requests and
 * answers them last first, and four client threads, each with its own
 * client and four calls in flight, checking every reply against its call.
 * Clients spin for a while and then sleep, so both wake-up paths run.
 */
#include <pthread.h>
#include <stdatomic.h>

#include "svc_test.h"

#define CLIENTS 4
#define ROUNDS 500

static char name[128];
static ipk_svc *srv;
static _Atomic int clients_done;

static void *server_main(void *arg)
{
	struct ipk_svc_req req[3];
	char buf[3][64];
	ssize_t len[3];
	unsigned n = 0;

	(void)arg;
	while (atomic_load(&clients_done) < CLIENTS) {
		ssize_t r =
			ipk_svc_recv(srv, buf[n], sizeof(buf[n]), &req[n], n ? 0 : 100 * IPK_MSEC);

		if (r >= 0) {
			len[n++] = r;
			if (n < 3)
				continue;
		} else if (r != -EAGAIN && r != -ETIMEDOUT) {
			T_OK(r);
		}
		while (n > 0) {
			n--;
			T_OK(ipk_svc_reply(srv, req[n].id, buf[n], (size_t)len[n]));
		}
	}
	return NULL;
}

static void *client_main(void *arg)
{
	struct ipk_svc_client_opts co = { .spin_ns = 20 * IPK_USEC };
	int id = (int)(intptr_t)arg;
	ipk_svc_client *c;
	char req[4][64], rep[64];
	uint64_t call[4];
	int len[4];

	T_OK(ipk_svc_connect(name, &co, 10 * IPK_SEC, &c));
	for (int r = 0; r < ROUNDS; r++) {
		for (int i = 0; i < 4; i++) {
			len[i] = snprintf(req[i], sizeof(req[i]), "client %d round %d call %d", id,
					  r, i);
			T_OK(ipk_svc_call_start(c, req[i], (size_t)len[i], &call[i], 0));
		}
		for (int k = 0; k < 4; k++) {
			int i = (k + r) % 4; /* another order each round */

			T_EQ(ipk_svc_call_wait(c, call[i], rep, sizeof(rep), 30 * IPK_SEC), len[i]);
			T_MEMEQ(rep, req[i], (size_t)len[i]);
		}
	}
	ipk_svc_client_close(c);
	atomic_fetch_add(&clients_done, 1);
	return NULL;
}

int main(void)
{
	pthread_t st, ct[CLIENTS];

	t_svc_name(name, sizeof(name), "threads");
	T_OK(ipk_svc_create(name, &(struct ipk_svc_opts){ .spin_ns = 20 * IPK_USEC }, &srv));
	T_EQ(pthread_create(&st, NULL, server_main, NULL), 0);
	for (int i = 0; i < CLIENTS; i++)
		T_EQ(pthread_create(&ct[i], NULL, client_main, (void *)(intptr_t)i), 0);
	for (int i = 0; i < CLIENTS; i++)
		T_EQ(pthread_join(ct[i], NULL), 0);
	T_EQ(pthread_join(st, NULL), 0);
	ipk_svc_close(srv);
	T_EQ(access(name, F_OK), -1);
	return 0;
}
