/* SPDX-License-Identifier: MIT */
/*
 * namewait.c - wait for a name to appear (a ring in /dev/shm, a socket
 * file, a FIFO) without polling: inotify on its directory wakes the waiter
 * when a file is created or moved in under the name. What the name must
 * lead to, and when to stop, is the caller's: it tries its open, and
 * between tries calls ipk__namewait().
 *
 * The first call only starts the watch and asks for one more try, so a
 * name made between the caller's first try and the watch is not missed.
 * A watch does not see everything (another host's changes on a network
 * file system), so a watching waiter still looks every RECHECK_NS. Where
 * there is nothing to watch - an abstract socket, a directory that does
 * not exist yet or may not be read, no inotify instance left - it looks
 * again after 1 ms, then 2, 4 ... up to POLL_MAX_NS.
 *
 * Some names are there before their object is ready - a ring linked before
 * its header is stored, a socket bound before its listen(). Nothing in the
 * file system marks that moment, which is usually tens of microseconds
 * away, so ipk__namewait_soon() has the caller look again at once for
 * SOON_SPIN_NS, then sleeps 10 us, 20, 40 ... up to POLL_MAX_NS (an event
 * at the name cuts a sleep short). Not sched_yield(): on a busy CPU it
 * hands the waiter's turn to whatever else runs there, for milliseconds;
 * and a sleep asked for 10 us lasts 60 to 100 (timer slack, wake-up),
 * longer than the moment itself.
 */
#include <poll.h>
#include <string.h>
#include <unistd.h>
#include <sys/inotify.h>

#include "internal.h"

#define RECHECK_NS (250 * IPK_MSEC)   /* look anyway, while watching */
#define POLL_FIRST_NS (1 * IPK_MSEC)  /* without a watch: first gap */
#define POLL_MAX_NS (50 * IPK_MSEC)   /* ... doubling up to this */
#define SOON_SPIN_NS (200 * IPK_USEC) /* there, not ready: look again at once this long */
#define SOON_FIRST_NS (10 * IPK_USEC) /* then sleep this long, doubling */

/* One shot: the kernel takes the watch off as it reports, so a wait that
 * ends in success has none left to remove (inotify_rm_watch() costs tens
 * of microseconds, right when the caller has what it waited for); a wait
 * that goes on sets it again and looks once more. */
#define DIR_EVENTS (IN_CREATE | IN_MOVED_TO | IN_DELETE_SELF | IN_MOVE_SELF | IN_ONESHOT)

void ipk__namewait_init(struct ipk__namewait *w, const char *path, unsigned flags,
			uint32_t obj_events)
{
	memset(w, 0, sizeof(*w));
	w->fd = w->dir_wd = w->obj_wd = -1;
	w->path = path;
	w->flags = flags;
	w->obj_events = obj_events;
	w->step = POLL_FIRST_NS;
}

/*
 * Closing an instance that holds a watch, or soon after one was removed,
 * waits for the kernel to retire it (an SRCU grace period: up to tens of
 * milliseconds on a busy machine). Removing a watch does not wait for
 * that; a caller that must not lose time closes the instance later.
 */
void ipk__namewait_stop(struct ipk__namewait *w)
{
	if (w->fd < 0)
		return;
	if (w->dir_wd >= 0)
		(void)inotify_rm_watch(w->fd, w->dir_wd);
	if (w->obj_wd >= 0)
		(void)inotify_rm_watch(w->fd, w->obj_wd);
	w->dir_wd = w->obj_wd = -1;
	w->path = NULL; /* nothing to watch again */
}

void ipk__namewait_end(struct ipk__namewait *w)
{
	ipk__close(w->fd);
	w->fd = w->dir_wd = w->obj_wd = -1;
}

/* Watch the directory of w->path; false if there is none to watch. */
static bool watch_dir(struct ipk__namewait *w)
{
	char dir[PATH_MAX];
	const char *slash = strrchr(w->path, '/');
	size_t n;

	if (slash) {
		n = slash == w->path ? 1 : (size_t)(slash - w->path); /* "/name": "/" */
		w->name = slash + 1;
	} else {
		n = 1; /* a relative "name": "." */
		w->name = w->path;
	}
	if (!*w->name || n >= sizeof(dir))
		return false;
	memcpy(dir, slash ? w->path : ".", n);
	dir[n] = '\0';
	w->name_len = strlen(w->name);
	w->dir_wd = inotify_add_watch(w->fd, dir, DIR_EVENTS | IN_ONLYDIR);
	return w->dir_wd >= 0;
}

static bool name_matches(const struct ipk__namewait *w, const char *name)
{
	if (strncmp(name, w->name, w->name_len) != 0)
		return false;
	return name[w->name_len] == '\0' || (w->flags & IPK__NAMEWAIT_PREFIX);
}

/* Read every queued event; true if one was about the name. */
static bool drain(struct ipk__namewait *w)
{
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	bool hit = false;

	for (;;) {
		ssize_t n = read(w->fd, buf, sizeof(buf));

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return hit; /* EAGAIN: all read */
		for (char *p = buf; p < buf + n;) {
			const struct inotify_event *ev = (const struct inotify_event *)p;

			p += sizeof(*ev) + ev->len;
			if (ev->mask & IN_Q_OVERFLOW) {
				hit = true; /* events were lost: look */
			} else if (ev->wd == w->obj_wd) {
				hit = true;
				if (ev->mask & IN_IGNORED)
					w->obj_wd = -1;
			} else if (ev->wd == w->dir_wd) {
				if (ev->mask & IN_IGNORED) {
					w->dir_wd = -1; /* fired, or the directory went */
				} else if (ev->mask & (IN_DELETE_SELF | IN_MOVE_SELF)) {
					hit = true; /* look at what the path leads to now */
				} else if (ev->len && name_matches(w, ev->name)) {
					hit = true;
					/* a new object at the name: its own
					 * watch is set again, on it */
					if (w->obj_wd >= 0)
						(void)inotify_rm_watch(w->fd, w->obj_wd);
					w->obj_wd = -1;
				}
			}
		}
	}
}

/* Set up what is not watched yet; true if the caller must look again
 * before waiting (something may have happened before the watch). */
static bool rewatch(struct ipk__namewait *w)
{
	bool fresh = false;

	if (!w->started) {
		w->started = true;
		fresh = true;
		if (w->path)
			w->fd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
	}
	if (w->fd < 0 || !w->path)
		return fresh;
	if (w->dir_wd < 0 && watch_dir(w))
		fresh = true;
	if (w->obj_events && w->obj_wd < 0) {
		w->obj_wd = inotify_add_watch(w->fd, w->path, w->obj_events);
		if (w->obj_wd >= 0)
			fresh = true;
	}
	return fresh;
}

static bool watching(const struct ipk__namewait *w)
{
	return w->fd >= 0 && (w->dir_wd >= 0 || w->obj_wd >= 0);
}

/* Until an event about the name (1: look), or @wake (0). */
static int wait_events(struct ipk__namewait *w, int64_t wake)
{
	if (!watching(w)) {
		(void)ipk__sleep_until(wake, RECHECK_NS); /* -ETIMEDOUT: wake has passed */
		return 0;
	}
	for (;;) {
		int r = ipk__wait_fd(w->fd, POLLIN, wake);

		if (r == -ETIMEDOUT)
			return 0;
		if (r < 0)
			return r;
		if (drain(w))
			return 1;
		/* Another name's event took the one-shot watch: set it again,
		 * and look, for what came between. */
		if (w->dir_wd < 0)
			return rewatch(w) ? 1 : 0;
	}
}

/* @deadline_ns checked: -EAGAIN, -ETIMEDOUT or 0; *@now set. */
static int time_check(int64_t deadline_ns, int64_t *now)
{
	if (deadline_ns == IPK__NOWAIT)
		return -EAGAIN;
	*now = ipk__now_ns();
	if (deadline_ns != IPK__NEVER && *now >= deadline_ns)
		return -ETIMEDOUT;
	return 0;
}

static int64_t before(int64_t wake, int64_t deadline_ns)
{
	return wake < deadline_ns ? wake : deadline_ns; /* IPK__NEVER is the largest */
}

int ipk__namewait(struct ipk__namewait *w, int64_t deadline_ns)
{
	int64_t now, wake;
	int r = time_check(deadline_ns, &now);

	if (r < 0)
		return r;
	w->soon_step = 0; /* not there (again): the next ..._soon() starts over */
	if (rewatch(w))
		return 1;
	if (watching(w)) {
		wake = now + RECHECK_NS;
	} else {
		wake = now + w->step;
		w->step = w->step < POLL_MAX_NS / 2 ? 2 * w->step : POLL_MAX_NS;
	}
	return wait_events(w, before(wake, deadline_ns));
}

int ipk__namewait_soon(struct ipk__namewait *w, int64_t deadline_ns)
{
	int64_t now, wake;
	int r = time_check(deadline_ns, &now);

	if (r < 0)
		return r;
	if (!w->soon_step) {
		w->soon_since = now;
		w->soon_step = SOON_FIRST_NS;
	}
	if (now - w->soon_since < SOON_SPIN_NS)
		return 0; /* no watch needed to look again at once */
	if (rewatch(w))
		return 1;
	wake = now + w->soon_step;
	w->soon_step = w->soon_step < POLL_MAX_NS / 2 ? 2 * w->soon_step : POLL_MAX_NS;
	return wait_events(w, before(wake, deadline_ns));
}
