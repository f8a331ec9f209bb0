/* SPDX-License-Identifier: MIT */
/*
 * tests/inspect/holder.c - make one IPC object and hold it until killed, for
 * the ipckit ls/stat/gc tests (a separate process per object, as on a real
 * host).
 *
 *   holder KIND NAME   KIND: sysv-msg sysv-shm sysv-sem (NAME: a key),
 *                      mq shm sem ring sub (NAME: "/name"), fifo unix
 *                      connect (NAME: a path), memfd (NAME: the memfd's name)
 *
 * Prints "ready PID" on stdout once the object exists and is held, then
 * waits for a signal. "sub" subscribes to an existing ring; "ring" creates
 * one and publishes 10 messages; "unix" listens and accepts every
 * connection (keeping it open); System V objects are also used once
 * (msgsnd, shmat, semop) so the kernel records this process as last user.
 */
#include <fcntl.h>
#include <mqueue.h>
#include <semaphore.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <ipckit/ipckit.h>

static int fail(const char *what)
{
	perror(what);
	return 1;
}

int main(int argc, char **argv)
{
	const char *kind, *name;
	struct sembuf op = { 0, 1, 0 };
	struct {
		long type;
		char text[8];
	} msg = { 1, "hello" };
	ipk_ring *ring = NULL;
	ipk_ring_sub *sub = NULL;
	key_t key;
	int id, fd = -1;

	if (argc != 3) {
		fputs("usage: holder KIND NAME\n", stderr);
		return 2;
	}
	kind = argv[1];
	name = argv[2];
	key = (key_t)strtol(name, NULL, 0);
	if (!strcmp(kind, "sysv-msg")) {
		id = msgget(key, IPC_CREAT | IPC_EXCL | 0600);
		if (id < 0 || msgsnd(id, &msg, sizeof(msg.text), 0) < 0)
			return fail("msg");
	} else if (!strcmp(kind, "sysv-shm")) {
		id = shmget(key, 8192, IPC_CREAT | IPC_EXCL | 0600);
		if (id < 0 || shmat(id, NULL, 0) == (void *)-1)
			return fail("shm");
	} else if (!strcmp(kind, "sysv-sem")) {
		id = semget(key, 2, IPC_CREAT | IPC_EXCL | 0600);
		if (id < 0 || semop(id, &op, 1) < 0)
			return fail("sem");
		op.sem_num = 1;
		if (semop(id, &op, 1) < 0)
			return fail("sem");
	} else if (!strcmp(kind, "mq")) {
		struct mq_attr a = { .mq_maxmsg = 4, .mq_msgsize = 64 };
		mqd_t q = mq_open(name, O_RDWR | O_CREAT | O_EXCL, 0600, &a);

		if (q == (mqd_t)-1 || mq_send(q, "x", 1, 0) < 0)
			return fail("mq");
	} else if (!strcmp(kind, "shm")) {
		fd = shm_open(name, O_RDWR | O_CREAT | O_EXCL, 0600);
		if (fd < 0 || ftruncate(fd, 4096) < 0 ||
		    mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 0) == MAP_FAILED)
			return fail("shm");
		close(fd); /* held by the mapping only */
	} else if (!strcmp(kind, "sem")) {
		if (sem_open(name, O_CREAT | O_EXCL, 0600, 1) == SEM_FAILED)
			return fail("sem");
	} else if (!strcmp(kind, "fifo")) {
		if (mkfifo(name, 0600) < 0 || open(name, O_RDWR) < 0)
			return fail("fifo");
	} else if (!strcmp(kind, "unix")) {
		struct sockaddr_un sa = { .sun_family = AF_UNIX };

		snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", name);
		fd = socket(AF_UNIX, SOCK_STREAM, 0);
		if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 4) < 0)
			return fail("unix");
	} else if (!strcmp(kind, "connect")) {
		struct sockaddr_un sa = { .sun_family = AF_UNIX };

		snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", name);
		fd = socket(AF_UNIX, SOCK_STREAM, 0);
		if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
			return fail("connect");
	} else if (!strcmp(kind, "memfd")) {
		if (memfd_create(name, 0) < 0)
			return fail("memfd");
	} else if (!strcmp(kind, "ring")) {
		int rc = ipk_ring_create(name, NULL, &ring);

		for (int i = 0; rc == 0 && i < 10; i++)
			rc = ipk_ring_publish(ring, "0123456789", 10);
		if (rc < 0) {
			fprintf(stderr, "ring: %s\n", ipk_errname(rc));
			return 1;
		}
	} else if (!strcmp(kind, "sub")) {
		int rc = ipk_ring_open(name, NULL, &sub);

		if (rc < 0) {
			fprintf(stderr, "sub: %s\n", ipk_errname(rc));
			return 1;
		}
	} else {
		fprintf(stderr, "holder: unknown kind %s\n", kind);
		return 2;
	}
	printf("ready %d\n", (int)getpid());
	fflush(stdout);
	if (!strcmp(kind, "unix"))
		for (;;)
			(void)accept4(fd, NULL, NULL, SOCK_CLOEXEC); /* and keep them */
	for (;;)
		pause();
}
