/* SPDX-License-Identifier: MIT */
/*
 * examples/sensor-relay.c - the seed's real-time control system: a sensor
 * process posts readings to a POSIX message queue, alarms at a higher
 * priority; a relay that never polls is woken only by mq_notify (a thread
 * callback, ipk_mq_notify) and forwards what it finds, alarms first.
 *
 * The relay's main thread just waits for the sensor to finish; all work
 * happens in the callback, which drains the queue with timeout 0 until
 * -EAGAIN (the library re-armed the notification before calling it, so
 * nothing is left behind). At the end the relay prints how much CPU it
 * used: while idle between readings it uses essentially none.
 *
 * Usage: sensor-relay [READINGS]   (default 20; in groups of 4, 20 ms apart)
 */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/wait.h>

#include <ipckit/ipckit.h>

#define PRIO_READING 1
#define PRIO_ALARM 10

struct relay {
	pthread_mutex_t lock;
	pthread_cond_t done;
	unsigned forwarded, alarms, wakeups;
	bool eof;
};

static void forward(ipk_chan *ch, void *arg)
{
	struct relay *r = arg;
	char buf[8192];
	ssize_t n;
	long prio;

	pthread_mutex_lock(&r->lock);
	r->wakeups++;
	pthread_mutex_unlock(&r->lock);
	/* highest priority first: alarms overtake readings already queued */
	while ((n = ipk_chan_recv_tag(ch, buf, sizeof(buf), 0, &prio, 0)) >= 0) {
		pthread_mutex_lock(&r->lock);
		if (n == 3 && !memcmp(buf, "EOF", 3)) {
			r->eof = true;
			pthread_cond_signal(&r->done);
		} else {
			printf("relay: %s %.*s\n", prio >= PRIO_ALARM ? "ALARM  " : "reading",
			       (int)n, buf);
			r->forwarded++;
			r->alarms += prio >= PRIO_ALARM;
		}
		pthread_mutex_unlock(&r->lock);
	}
	fflush(stdout);
	if (n != -EAGAIN)
		fprintf(stderr, "relay: receive: %s\n", ipk_errname((int)n));
}

static int sensor(const char *url, unsigned readings)
{
	struct timespec gap = { 0, 20 * 1000 * 1000 };
	ipk_chan *ch;
	int r;

	r = ipk_chan_open(url, IPK_CHAN_WRONLY, 0, &ch);
	if (r < 0) {
		fprintf(stderr, "sensor: %s: %s\n", url, ipk_errname(r));
		return 1;
	}
	for (unsigned i = 0; i < readings; i++) {
		char msg[64];
		double temp = 20.0 + (double)(i % 7) * 1.5;
		bool alarm = temp > 27.0;
		int n = snprintf(msg, sizeof(msg), "#%u temp=%.1fC", i, temp);

		r = ipk_chan_send_tag(ch, msg, (size_t)n, alarm ? PRIO_ALARM : PRIO_READING,
				      IPK_SEC);
		if (r < 0) {
			fprintf(stderr, "sensor: send: %s\n", ipk_errname(r));
			break;
		}
		if (i % 4 == 3)
			nanosleep(&gap, NULL); /* four samples, then a pause */
	}
	if (r >= 0)
		r = ipk_chan_send_tag(ch, "EOF", 3, 0, IPK_SEC); /* lowest: after all */
	ipk_chan_close(ch);
	return r < 0;
}

int main(int argc, char **argv)
{
	struct relay rl = { .lock = PTHREAD_MUTEX_INITIALIZER, .done = PTHREAD_COND_INITIALIZER };
	unsigned readings = argc > 1 ? (unsigned)strtoul(argv[1], NULL, 10) : 20;
	struct timespec cpu0, cpu1, deadline;
	char url[128];
	ipk_chan *ch;
	pid_t pid;
	int r, st = 0;

	snprintf(url, sizeof(url), "mq:/ipk-sensor-relay-%d?maxmsg=10&msgsize=256", (int)getpid());
	r = ipk_chan_open(url, IPK_CHAN_CREATE | IPK_CHAN_EXCL | IPK_CHAN_RDONLY, 0, &ch);
	if (r < 0) {
		const char *hint = ipk_mq_limit_hint(r, url, IPK_MQ_OP_OPEN);

		fprintf(stderr, "relay: %s: %s%s%s\n", url, ipk_errname(r), hint ? "; limit: " : "",
			hint ? hint : "");
		return 1;
	}
	r = ipk_mq_notify(ch, forward, &rl);
	if (r < 0) {
		fprintf(stderr, "relay: mq_notify: %s\n", ipk_errname(r));
		ipk_chan_close(ch);
		return 1;
	}
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &cpu0);

	pid = fork();
	if (pid == 0)
		_exit(sensor(url, readings));

	/* bounded: the sensor needs about readings x 20 ms */
	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += 10 + readings / 20;
	pthread_mutex_lock(&rl.lock);
	while (!rl.eof && r == 0)
		r = pthread_cond_timedwait(&rl.done, &rl.lock, &deadline);
	pthread_mutex_unlock(&rl.lock);
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &cpu1);

	(void)ipk_mq_notify_off(ch);
	ipk_chan_close(ch); /* the creator removes the queue */
	if (pid > 0)
		while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
			;
	printf("relay: forwarded %u readings (%u alarms) in %u wake-ups; relay CPU time %.3f ms\n",
	       rl.forwarded, rl.alarms, rl.wakeups,
	       (double)(cpu1.tv_sec - cpu0.tv_sec) * 1e3 +
		       (double)(cpu1.tv_nsec - cpu0.tv_nsec) / 1e6);
	if (r != 0 || pid < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0 ||
	    rl.forwarded != readings) {
		fprintf(stderr, "relay: incomplete (%u of %u)\n", rl.forwarded, readings);
		return 1;
	}
	return 0;
}
