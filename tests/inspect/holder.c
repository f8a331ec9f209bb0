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
 *
 * System V objects whose creator the kernel does not record (gc tests):
 *   msg-create KEY   creates a queue and waits, never sending or receiving
 *   msg-send KEY:T   sends one message "pending-T" of type T and exits
 *   msg-wait KEY     creates a queue, says ready, blocks for a message of
 *                    type 2, then prints "got T TEXT" for it and for every
 *                    message still queued, and exits (1 on an error)
 *   sem-create KEY   creates a set of one semaphore and waits, no semop
 *   sem-op KEY       one semop on an existing set, and exits
 *   shm-create KEY   creates a segment, attaches and detaches it, and waits
 *   shm-once KEY     the same, then exits at once
 *   at-pid PID       a child with exactly pid PID (clone3 set_tid, root)
 *                    says "ready PID" and waits; dies with this process.
 *                    Exit 77 if the kernel refuses to pick a pid.
 */
#include <errno.h>
#include <fcntl.h>
#include <mqueue.h>
#include <semaphore.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <linux/sched.h>
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

struct tmsg {
	long type;
	char text[32];
};

static int msg_wait(key_t key)
{
	struct tmsg m;
	ssize_t n;
	int id = msgget(key, IPC_CREAT | IPC_EXCL | 0600);

	if (id < 0)
		return fail("msgget");
	printf("ready %d\n", (int)getpid());
	fflush(stdout);
	do
		n = msgrcv(id, &m, sizeof(m.text), 2, 0);
	while (n < 0 && errno == EINTR); /* SIGSTOP/SIGCONT */
	if (n < 0)
		return fail("msgrcv type 2");
	printf("got %ld %.*s\n", m.type, (int)n, m.text);
	while ((n = msgrcv(id, &m, sizeof(m.text), 0, IPC_NOWAIT)) >= 0)
		printf("got %ld %.*s\n", m.type, (int)n, m.text);
	if (errno != ENOMSG)
		return fail("msgrcv");
	fflush(stdout);
	(void)msgctl(id, IPC_RMID, NULL);
	return 0;
}

/* A child with pid @pid (the number a dead process had). */
static int at_pid(pid_t pid)
{
	pid_t tid = pid;
	struct clone_args ca = {
		.exit_signal = SIGCHLD,
		.set_tid = (uint64_t)(uintptr_t)&tid,
		.set_tid_size = 1,
	};
	long c = syscall(SYS_clone3, &ca, sizeof(ca));

	if (c < 0) {
		perror("clone3 set_tid");
		return errno == EEXIST ? 1 : 77; /* EPERM, ENOSYS, EINVAL: cannot */
	}
	if (c == 0) {
		(void)prctl(PR_SET_PDEATHSIG, SIGKILL);
		printf("ready %d\n", (int)getpid());
		fflush(stdout);
		for (;;)
			pause();
	}
	(void)waitpid((pid_t)c, NULL, 0);
	return 0;
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
	if (!strcmp(kind, "msg-wait"))
		return msg_wait(key);
	if (!strcmp(kind, "at-pid"))
		return at_pid((pid_t)key);
	if (!strcmp(kind, "msg-send")) {
		struct tmsg m = { 1, "" };
		const char *t = strchr(name, ':');

		m.type = t ? strtol(t + 1, NULL, 10) : 1;
		snprintf(m.text, sizeof(m.text), "pending-%ld", m.type);
		id = msgget(key, 0);
		if (id < 0 || msgsnd(id, &m, strlen(m.text), 0) < 0)
			return fail("msg-send");
		return 0;
	}
	if (!strcmp(kind, "sem-op")) {
		id = semget(key, 0, 0);
		if (id < 0 || semop(id, &op, 1) < 0)
			return fail("sem-op");
		return 0;
	}
	if (!strcmp(kind, "shm-create") || !strcmp(kind, "shm-once")) {
		void *p;

		id = shmget(key, 4096, IPC_CREAT | IPC_EXCL | 0600);
		if (id < 0 || (p = shmat(id, NULL, 0)) == (void *)-1 || shmdt(p) < 0)
			return fail("shm-create");
		if (!strcmp(kind, "shm-once"))
			return 0;
	} else if (!strcmp(kind, "msg-create")) {
		if (msgget(key, IPC_CREAT | IPC_EXCL | 0600) < 0)
			return fail("msg-create");
	} else if (!strcmp(kind, "sem-create")) {
		if (semget(key, 1, IPC_CREAT | IPC_EXCL | 0600) < 0)
			return fail("sem-create");
	} else if (!strcmp(kind, "sysv-msg")) {
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
