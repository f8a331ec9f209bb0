/* SPDX-License-Identifier: MIT */
/*
 * bus_loop.c - running the bus (bus.h): processing what has arrived,
 * waiting for more, the descriptor, events and deadline for an event loop
 * of one's own, and serving the bus from an ipk_loop (attach, detach, and
 * re-arming the loop after each call into the bus).
 */
#include <errno.h>
#include <poll.h>

#include <ipckit/bus.h>

#include "bus_internal.h"
#include "internal.h"

IPK_API int ipk_bus_process(ipk_bus *b)
{
	int n = 0, r;

	IPK_CHECK_ARG(b);
	/* At most a batch per call, so that a flood cannot starve the rest
	 * of a loop; what is left makes ipk_bus_deadline() say "now". */
	while (n < 1024) {
		r = sd_bus_process(b->bus, NULL);
		if (r < 0)
			return r;
		if (r == 0)
			break;
		n++;
	}
	return n;
}

IPK_API int ipk_bus_run_once(ipk_bus *b, int64_t timeout_ns)
{
	int64_t deadline;
	int r;

	IPK_CHECK_ARG(b);
	r = ipk_bus_process(b);
	if (r != 0)
		return r;
	if (timeout_ns == 0)
		return -EAGAIN;
	deadline = ipk__deadline(timeout_ns);
	for (;;) {
		uint64_t us = UINT64_MAX;

		if (deadline != IPK__NEVER) {
			int64_t left = deadline - ipk__now_ns();

			if (left <= 0)
				return -ETIMEDOUT;
			us = ((uint64_t)left + 999) / 1000;
		}
		r = sd_bus_wait(b->bus, us);
		if (r < 0 && r != -EINTR)
			return r;
		r = ipk_bus_process(b);
		if (r != 0)
			return r;
	}
}

IPK_API int ipk_bus_flush(ipk_bus *b)
{
	int r;

	IPK_CHECK_ARG(b);
	r = sd_bus_flush(b->bus);
	return r < 0 ? r : 0;
}

IPK_API int ipk_bus_fd(ipk_bus *b)
{
	IPK_CHECK_ARG(b);
	return sd_bus_get_fd(b->bus);
}

IPK_API int ipk_bus_events(ipk_bus *b, uint32_t *events)
{
	int r;

	IPK_CHECK_ARG(b && events);
	r = sd_bus_get_events(b->bus);
	if (r < 0)
		return r;
	*events = ((r & POLLIN) ? IPK_LOOP_IN : 0) | ((r & POLLOUT) ? IPK_LOOP_OUT : 0);
	return 0;
}

IPK_API int ipk_bus_deadline(ipk_bus *b, int64_t *deadline_ns)
{
	uint64_t us;
	int r;

	IPK_CHECK_ARG(b && deadline_ns);
	r = sd_bus_get_timeout(b->bus, &us);
	if (r < 0)
		return r;
	*deadline_ns = us == UINT64_MAX || us > (uint64_t)(INT64_MAX / 1000) ? INT64_MAX
									     : (int64_t)us * 1000;
	return 0;
}

static void on_timer(ipk_loop *l, ipk_loop_timer *t, uint64_t exp, void *arg);

/* After any call into the bus: watch the events it needs now, and run a
 * timer for its next deadline. A dead bus is detached. */
void ipk__bus_rearm(ipk_bus *b)
{
	uint32_t events = IPK_LOOP_IN;
	int64_t deadline;

	if (!b->loop)
		return;
	if (sd_bus_is_open(b->bus) <= 0) {
		ipk_bus_detach(b);
		return;
	}
	(void)ipk_bus_events(b, &events);
	events |= IPK_LOOP_IN;
	if (events != b->events && ipk_loop_mod_fd(b->loop, b->fd, events) == 0)
		b->events = events;
	if (ipk_bus_deadline(b, &deadline) == 0 && deadline != INT64_MAX) {
		int64_t delay = deadline - ipk__now_ns();

		ipk_loop_timer_cancel(b->timer);
		b->timer = NULL;
		(void)ipk_loop_timer_once(b->loop, delay > 0 ? delay : 0, on_timer, b, &b->timer);
	}
}

static void on_fd(ipk_loop *l, int fd, uint32_t events, void *arg)
{
	ipk_bus *b = arg;

	(void)l;
	(void)fd;
	(void)events;
	(void)ipk_bus_process(b);
	ipk__bus_rearm(b);
}

static void on_timer(ipk_loop *l, ipk_loop_timer *t, uint64_t exp, void *arg)
{
	ipk_bus *b = arg;

	(void)l;
	(void)exp;
	if (b->timer == t) {
		ipk_loop_timer_cancel(t);
		b->timer = NULL;
	}
	(void)ipk_bus_process(b);
	ipk__bus_rearm(b);
}

IPK_API int ipk_bus_attach(ipk_bus *b, ipk_loop *l)
{
	int r;

	IPK_CHECK_ARG(b && l);
	if (b->loop)
		return -EBUSY;
	b->fd = sd_bus_get_fd(b->bus);
	if (b->fd < 0)
		return b->fd;
	r = ipk_loop_add_fd(l, b->fd, IPK_LOOP_IN, on_fd, b);
	if (r < 0)
		return r;
	b->loop = l;
	b->events = IPK_LOOP_IN;
	ipk__bus_rearm(b);
	return 0;
}

IPK_API void ipk_bus_detach(ipk_bus *b)
{
	if (!b || !b->loop)
		return;
	(void)ipk_loop_del_fd(b->loop, b->fd);
	ipk_loop_timer_cancel(b->timer);
	b->timer = NULL;
	b->loop = NULL;
}
