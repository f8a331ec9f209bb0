/* SPDX-License-Identifier: MIT */
/*
 * Hot upgrade under real load: wrk keeps 16 keep-alive connections busy
 * against examples/hot-upgrade for 20 s while this test upgrades the
 * server (SIGHUP to the current generation) at least 20 times. It fails
 * if wrk reports any socket error (connect, read, write, timeout) or any
 * non-2xx response, if an upgrade does not complete, if an old generation
 * exits with an error, or if any old generation is still running at the
 * end. It prints the requests served and the upgrades done.
 *
 * This process is a child subreaper, so every generation (each one the
 * child of the one before) is reaped here and can be counted.
 * Skips without wrk (Debian package wrk). Takes about 22 s.
 *
 * Usage: test-unix_hot_upgrade_load HOT-UPGRADE-EXE
 */
#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <time.h>

#include "../harness.h"

#define LOAD_SECONDS 20
#define MIN_UPGRADES 20

static char pidfile[128];

static pid_t read_pid(void)
{
	FILE *f = fopen(pidfile, "r");
	int pid = 0;

	if (!f)
		return 0;
	if (fscanf(f, "%d", &pid) != 1)
		pid = 0;
	fclose(f);
	return pid;
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void msleep(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000 };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* Reap exited generations; each must have exited 0. */
static int old_exited;

static void reap_old(pid_t keep, pid_t wrk)
{
	int st;
	pid_t p;

	while ((p = waitpid(-1, &st, WNOHANG)) > 0) {
		if (p == wrk || p == keep)
			T_FAIL("process %d (%s) ended early", (int)p, p == wrk ? "wrk" : "server");
		if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
			T_FAIL("old generation %d did not exit cleanly (status 0x%x)", (int)p, st);
		old_exited++;
	}
}

/* Our children still alive (reparented generations included). */
static int live_children(pid_t *one)
{
	DIR *d = opendir("/proc");
	struct dirent *e;
	int n = 0;

	T_TRUE(d != NULL);
	while ((e = readdir(d))) {
		char p[300], buf[512], *rp;
		int ppid;
		FILE *f;
		char state;

		if (e->d_name[0] < '1' || e->d_name[0] > '9')
			continue;
		snprintf(p, sizeof(p), "/proc/%s/stat", e->d_name);
		f = fopen(p, "r");
		if (!f)
			continue;
		if (!fgets(buf, sizeof(buf), f)) {
			fclose(f);
			continue;
		}
		fclose(f);
		rp = strrchr(buf, ')');
		if (!rp || sscanf(rp + 2, "%c %d", &state, &ppid) != 2)
			continue;
		if (ppid == getpid() && state != 'Z') {
			n++;
			*one = atoi(e->d_name);
		}
	}
	closedir(d);
	return n;
}

static int free_port(void)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(0x7f000001) };
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	T_SYS(bind(fd, (struct sockaddr *)&sa, sizeof(sa)));
	T_SYS(getsockname(fd, (struct sockaddr *)&sa, &len));
	close(fd);
	return ntohs(sa.sin_port);
}

int main(int argc, char **argv)
{
	char listen_at[64], target[96], out[128], dur[16], line[512];
	int64_t t_end;
	pid_t srv, wrk, cur, one = 0;
	int upgrades = 0, st, port, fd;
	long long requests = -1;
	bool errors = false;
	FILE *f;

	if (argc != 2)
		T_FAIL("usage: %s HOT-UPGRADE-EXE", argv[0]);
	if (system("command -v wrk >/dev/null 2>&1") != 0)
		T_SKIP("wrk is not installed (Debian package wrk; scripts/install-deps)");
	T_SYS(prctl(PR_SET_CHILD_SUBREAPER, 1));

	t_path(pidfile, sizeof(pidfile), "hu.pid");
	t_path(out, sizeof(out), "hu.wrk");
	(void)unlink(pidfile);
	port = free_port();
	snprintf(listen_at, sizeof(listen_at), "127.0.0.1:%d", port);
	snprintf(target, sizeof(target), "http://127.0.0.1:%d/", port);

	srv = fork();
	T_SYS(srv);
	if (srv == 0) {
		execl(argv[1], argv[1], "--listen", listen_at, "--pidfile", pidfile, NULL);
		_exit(127);
	}
	for (t_end = now_ms() + 5000; read_pid() != srv; msleep(10))
		if (now_ms() > t_end)
			T_FAIL("server did not start");

	snprintf(dur, sizeof(dur), "%ds", LOAD_SECONDS);
	wrk = fork();
	T_SYS(wrk);
	if (wrk == 0) {
		fd = open(out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
		if (fd < 0 || dup2(fd, 1) < 0)
			_exit(126);
		execlp("wrk", "wrk", "-t2", "-c16", "-d", dur, "--timeout", "5s", target, NULL);
		_exit(127);
	}

	/* Upgrade every 0.7 s while wrk runs; each upgrade must complete
	 * (the pidfile names the new generation) within 5 s. */
	cur = srv;
	for (;;) {
		msleep(700);
		if (waitpid(wrk, &st, WNOHANG) == wrk)
			break;
		reap_old(cur, wrk);
		T_SYS(kill(cur, SIGHUP));
		for (t_end = now_ms() + 5000; read_pid() == cur; msleep(5))
			if (now_ms() > t_end)
				T_FAIL("upgrade %d did not complete", upgrades + 1);
		cur = read_pid();
		upgrades++;
	}
	T_TRUE(WIFEXITED(st));
	T_EQ(WEXITSTATUS(st), 0);

	/* Every old generation finishes its connections and exits. */
	for (t_end = now_ms() + 15000;; msleep(20)) {
		reap_old(cur, -1);
		if (live_children(&one) == 1 && one == cur)
			break;
		if (now_ms() > t_end)
			T_FAIL("old generations still running: %d children alive",
			       live_children(&one));
	}

	f = fopen(out, "r");
	T_TRUE(f != NULL);
	while (fgets(line, sizeof(line), f)) {
		fputs(line, stdout);
		if (strstr(line, "requests in"))
			requests = atoll(line);
		if (strstr(line, "Socket errors") || strstr(line, "Non-2xx"))
			errors = true;
	}
	fclose(f);

	T_SYS(kill(cur, SIGTERM));
	t_wait_exit(cur, 0);
	reap_old(-1, -1);
	unlink(out);
	unlink(pidfile);

	printf("upgrades done: %d; old generations exited: %d; requests served: %lld\n", upgrades,
	       old_exited, requests);
	T_TRUE(!errors);
	T_TRUE(requests > 0);
	T_TRUE(upgrades >= MIN_UPGRADES);
	T_EQ(old_exited, upgrades);
	printf("ok\n");
	return 0;
}
