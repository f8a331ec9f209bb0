/* SPDX-License-Identifier: MIT */
/*
 * transport/fifo.c - named pipes, one direction per channel.
 *
 * open(2) on a FIFO blocks until the other side opens too: handy for
 * start-up synchronisation, and a classic deadlock when two processes open
 * two FIFOs in opposite orders, since a blocked open cannot time out. Here
 * neither side blocks in open(2). A reader opens at once (non-blocking) and
 * its receives wait for data. A writer opens non-blocking, which fails with
 * ENXIO while there is no reader (ENOENT while there is no FIFO); it then
 * waits for the next open of the FIFO through inotify and tries again,
 * until its deadline.
 */
#include <fcntl.h>
#include <poll.h>
#include <unistd.h>
#include <sys/inotify.h>
#include <sys/stat.h>

#include "internal.h"
#include "stream.h"

/* Also retry this often, in case an open was missed (another path, a
 * bind mount, or no inotify instance to be had). */
#define REOPEN_NS (20 * IPK_MSEC)

static int open_writer(const char *path, int oflags, int64_t deadline_ns)
{
	char events[sizeof(struct inotify_event) + NAME_MAX + 1];
	bool watching = false;
	int ifd, r;

	ifd = deadline_ns == IPK__NOWAIT ? -1 : inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
	for (;;) {
		int64_t slice = ipk__now_ns() + REOPEN_NS;
		int fd = open(path, oflags);

		if (fd >= 0) {
			r = fd;
			break;
		}
		if (errno == EINTR)
			continue;
		/* no reader yet (ENXIO), or no FIFO yet (ENOENT): wait for it */
		r = ipk__neg_errno();
		if ((r != -ENXIO && r != -ENOENT) || deadline_ns == IPK__NOWAIT)
			break;
		if (ifd >= 0 && !watching) {
			/* watch, then try again: an open between the two
			 * is not lost */
			watching = inotify_add_watch(ifd, path, IN_OPEN) >= 0;
			if (watching)
				continue;
		}
		if (deadline_ns != IPK__NEVER && slice > deadline_ns)
			slice = deadline_ns;
		if (watching) {
			r = ipk__wait_fd(ifd, POLLIN, slice);
			while (read(ifd, events, sizeof(events)) > 0)
				; /* any open will do: try again */
		} else {
			r = ipk__sleep_until(slice, REOPEN_NS);
		}
		if ((r == -ETIMEDOUT && slice == deadline_ns) || (r < 0 && r != -ETIMEDOUT))
			break;
	}
	ipk__close(ifd);
	return r;
}

static int fifo_open(struct ipk_chan *ch, const struct ipk_url *url, int64_t deadline_ns)
{
	bool reader = ch->flags & IPK_CHAN_RDONLY, create = ch->flags & IPK_CHAN_CREATE;
	mode_t mode = ipk__url_mode(url);
	struct ipk__ownfile file = { 0 };
	struct ipk__stream *s;
	struct stat st;
	int oflags, fd, r;

	if (!(ch->flags & (IPK_CHAN_RDONLY | IPK_CHAN_WRONLY)))
		return -EINVAL; /* a FIFO carries one way: say which */
	if (create) {
		if (mkfifo(url->path, mode) == 0) {
			r = ipk__ownfile_note(&file, url->path);
			if (r < 0)
				goto fail;
		} else if (errno != EEXIST || (ch->flags & IPK_CHAN_EXCL)) {
			return ipk__neg_errno();
		}
	}

	/* the creator never follows a link someone planted at its path */
	oflags =
		(reader ? O_RDONLY : O_WRONLY) | O_NONBLOCK | O_CLOEXEC | (create ? O_NOFOLLOW : 0);
	fd = reader ? open(url->path, oflags) : open_writer(url->path, oflags, deadline_ns);
	if (reader && fd < 0)
		fd = ipk__neg_errno();
	if (fd < 0) {
		r = fd;
		goto fail;
	}
	if (fstat(fd, &st) < 0 || !S_ISFIFO(st.st_mode)) {
		ipk__close(fd);
		r = create ? -EEXIST : -EINVAL; /* something else lives there */
		goto fail;
	}
	if (file.created && fchmod(fd, mode) < 0) /* undo the umask */
		goto fail_errno_fd;
	if (url->set[IPK__OPT_PIPESIZE] &&
	    fcntl(fd, F_SETPIPE_SZ, (int)url->num[IPK__OPT_PIPESIZE]) < 0)
		goto fail_errno_fd;

	r = ipk__stream_new(reader ? fd : -1, reader ? -1 : fd, false, ch->max_msg, &s);
	if (r < 0)
		goto fail;
	s->fifo_reader = reader;
	if (!(ch->flags & IPK_CHAN_KEEP))
		s->file = file;
	ch->t = s;
	ch->fd = fd;
	return 0;

fail_errno_fd:
	r = ipk__neg_errno();
	ipk__close(fd);
fail:
	ipk__ownfile_remove(&file);
	return r;
}

const struct ipk_transport ipk__transport_fifo = {
	.scheme = "fifo",
	.open = fifo_open,
	.send = ipk__stream_send,
	.recv = ipk__stream_recv,
	.send_tag = ipk__send_untagged,
	.recv_tag = ipk__recv_untagged,
	.send_batch = ipk__send_batch_loop,
	.recv_batch = ipk__recv_batch_loop,
	.flush = ipk__stream_flush,
	.fd = ipk__fd_plain,
	.close = ipk__stream_close,
	.listen = ipk__no_listen,
	.accept = ipk__no_accept,
};
