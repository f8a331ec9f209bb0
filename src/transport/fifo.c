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
 * waits through inotify for the next open of the FIFO, or for a FIFO to
 * appear at the path (ipk__namewait()), and tries again, until its
 * deadline.
 *
 * Only a FIFO is ever opened at the path: what sits there is looked at
 * first (lstat for a creating end, which never follows a symbolic link;
 * stat for an opening end, which does) and again with fstat after the open.
 * Anything else is refused before it could block or be written to.
 */
#include <fcntl.h>
#include <unistd.h>
#include <sys/inotify.h>
#include <sys/stat.h>

#include "internal.h"
#include "stream.h"

/*
 * Is a FIFO at @path? 0 if so; -ENOENT for nothing; -ELOOP for a symbolic
 * link at a creating end (@create: lstat), which never follows one; for
 * another kind of file -EEXIST at a creating end (the name is taken),
 * -EMEDIUMTYPE at an opening end. *st is what was found.
 */
static int fifo_at(const char *path, bool create, struct stat *st)
{
	if ((create ? lstat(path, st) : stat(path, st)) < 0)
		return ipk__neg_errno();
	if (S_ISLNK(st->st_mode))
		return -ELOOP;
	if (!S_ISFIFO(st->st_mode))
		return create ? -EEXIST : -EMEDIUMTYPE;
	return 0;
}

/* A creating end found FIFO @st at @path: -EACCES if the caller may not
 * open it anyway (as the kernel would say), else ipk__owner_check(). */
static int may_adopt(const char *path, bool reader, const struct stat *st, mode_t mode)
{
	int r = ipk__owner_check(st->st_uid, st->st_mode, mode);

	if (r == -EPERM && faccessat(AT_FDCWD, path, reader ? R_OK : W_OK, AT_EACCESS) < 0 &&
	    errno == EACCES)
		return -EACCES;
	return r;
}

/* Something that no wait will turn into a FIFO. */
static bool wrong_kind(int r)
{
	return r == -ELOOP || r == -EEXIST || r == -EMEDIUMTYPE;
}

static int open_writer(const char *path, int oflags, int64_t deadline_ns)
{
	struct ipk__namewait w;
	int r;

	/* a FIFO that appears at the path, or a reader's open of it */
	ipk__namewait_init(&w, path, 0, IN_OPEN);
	for (;;) {
		struct stat st;
		int fd;

		/* never open a file or device for writing, only a FIFO */
		r = fifo_at(path, oflags & O_NOFOLLOW, &st);
		if (wrong_kind(r))
			break;
		fd = r == 0 ? open(path, oflags) : -1;
		if (fd >= 0) {
			r = fd;
			break;
		}
		if (r == 0 && errno == EINTR)
			continue;
		/* no reader yet (ENXIO), or no FIFO yet (ENOENT): wait for it */
		if (r == 0)
			r = ipk__neg_errno();
		if ((r != -ENXIO && r != -ENOENT) || deadline_ns == IPK__NOWAIT)
			break;
		r = ipk__namewait(&w, deadline_ns);
		if (r < 0)
			break; /* -ETIMEDOUT */
	}
	ipk__namewait_end(&w);
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
		for (int i = 0;; i++) {
			if (mkfifo(url->path, mode) == 0) {
				r = ipk__ownfile_note(&file, url->path);
				if (r < 0)
					goto fail;
				break;
			}
			if (errno != EEXIST || (ch->flags & IPK_CHAN_EXCL))
				return ipk__neg_errno();
			r = fifo_at(url->path, true, &st);
			if (r == 0)
				r = may_adopt(url->path, reader, &st, mode);
			if (r != -ENOENT || i == 1)
				break; /* else gone meanwhile: make it once more */
		}
		if (r < 0)
			return r;
	} else if (reader) {
		/* (a writer looks before each try) */
		r = fifo_at(url->path, false, &st);
		if (r < 0)
			return r;
	}

	/* the creator never follows a link someone planted at its path */
	oflags = (reader ? O_RDONLY : O_WRONLY) | O_NONBLOCK | O_CLOEXEC | O_NOCTTY |
		 (create ? O_NOFOLLOW : 0);
	fd = reader ? open(url->path, oflags) : open_writer(url->path, oflags, deadline_ns);
	if (reader && fd < 0)
		fd = ipk__neg_errno();
	if (fd < 0) {
		r = fd;
		goto fail;
	}
	/* what was opened, whatever was there a moment ago */
	r = fstat(fd, &st) < 0 ? ipk__neg_errno() : 0;
	if (r == 0 && !S_ISFIFO(st.st_mode))
		r = create ? -EEXIST : -EMEDIUMTYPE;
	if (r == 0 && create && !file.created)
		r = ipk__owner_check(st.st_uid, st.st_mode, mode);
	if (r < 0) {
		ipk__close(fd);
		goto fail;
	}
	if (file.created && fchmod(fd, mode) < 0) /* undo the umask */
		goto fail_errno_fd;
	if (url->set[IPK__OPT_PIPESIZE] &&
	    fcntl(fd, F_SETPIPE_SZ, (int)url->num[IPK__OPT_PIPESIZE]) < 0)
		goto fail_errno_fd;

	r = ipk__stream_new(reader ? fd : -1, reader ? -1 : fd, false, ch->max_msg,
			    ipk__stream_framing(url), &s);
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
	IPK__STREAM_OPS,
	.listen = ipk__no_listen,
	.accept = ipk__no_accept,
};

/* The URL: scheme, address, options (url_parse.h). */
const struct ipk__scheme ipk__scheme_fifo = {
	.name = "fifo",
	.addr = IPK__ADDR_PATH,
	.opts = IPK__OPT(IPK__OPT_MSGSIZE) | IPK__OPT(IPK__OPT_PIPESIZE) | IPK__OPT(IPK__OPT_PERM) |
		IPK__OPT(IPK__OPT_FRAMING),
	.obj = IPK__OBJ_SLASH,
	.tp = &ipk__transport_fifo,
};
