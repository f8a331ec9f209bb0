/* SPDX-License-Identifier: MIT */
/*
 * fifo.c - what sits at a fifo: path, and who owns it.
 *
 * - A regular file, a directory, a socket (stale or live) or a symbolic
 *   link at the path: a creating end refuses it (-EEXIST; -ELOOP for a
 *   link, which it never follows); an opening end follows a link to a FIFO
 *   and refuses anything else (-EMEDIUMTYPE). Every refusal comes at once
 *   although the call was given 2 s, and leaves what was there untouched.
 * - A FIFO with no peer: the writer's open and the reader's receive return
 *   -ETIMEDOUT within their timeout.
 * - A creating end never adopts a FIFO of another user or one that others
 *   may read or write beyond perm= (-EPERM), and leaves it in place.
 * - Close removes the FIFO only while it is still the one this end made.
 */
#include "names.h"

#define TWO_S (2 * IPK_SEC)
#define SHORT_MS 300

static char path[128], target[128], url[512];

enum plant { P_FILE, P_DIR, P_STALE_SOCK, P_LIVE_SOCK, P_LINK_FILE, P_LINK_FIFO, P_N };
static const char *const plant_name[] = { "file",           "dir",
					  "stale socket",   "live socket",
					  "link to a file", "link to a FIFO" };

/* Put @what at path; returns a listening socket to close, or -1. */
static int plant(enum plant what)
{
	switch (what) {
	case P_FILE:
		n_write_file(path);
		return -1;
	case P_DIR:
		T_SYS(mkdir(path, 0700));
		return -1;
	case P_STALE_SOCK:
	case P_LIVE_SOCK:
		return n_socket_file(path, what == P_LIVE_SOCK);
	case P_LINK_FILE:
		n_write_file(target);
		T_SYS(symlink(target, path));
		return -1;
	case P_LINK_FIFO:
		T_SYS(mkfifo(target, 0600));
		T_SYS(symlink(target, path));
		return -1;
	default:
		T_FAIL("plant %d", (int)what);
	}
}

static void unplant(int fd)
{
	if (fd >= 0)
		close(fd);
	n_clear(path);
	(void)unlink(target);
}

static void kinds(void)
{
	static const unsigned ends[] = { IPK_CHAN_CREATE | IPK_CHAN_RDONLY,
					 IPK_CHAN_CREATE | IPK_CHAN_WRONLY, IPK_CHAN_RDONLY,
					 IPK_CHAN_WRONLY };

	snprintf(url, sizeof(url), "fifo:%s", path);
	for (int k = 0; k < P_N; k++) {
		for (size_t e = 0; e < sizeof(ends) / sizeof(ends[0]); e++) {
			unsigned fl = ends[e];
			bool create = fl & IPK_CHAN_CREATE, link = k >= P_LINK_FILE;
			int fd = plant((enum plant)k), want;
			ipk_chan *ch = NULL;
			struct stat st;

			n_lstat(path, &st);
			fprintf(stderr, "%s at the path, %s %s\n", plant_name[k],
				create ? "creating" : "opening",
				fl & IPK_CHAN_RDONLY ? "reader" : "writer");
			if (create)
				want = link ? -ELOOP : -EEXIST;
			else
				want = k == P_LINK_FIFO ? 0 : -EMEDIUMTYPE;
			if (!create && k == P_LINK_FIFO && (fl & IPK_CHAN_WRONLY)) {
				/* followed, and nobody reads: the timeout */
				N_TIMED(ipk_chan_open(url, fl, SHORT_MS * IPK_MSEC, &ch),
					-ETIMEDOUT, SHORT_MS + N_SLACK_MS);
			} else {
				N_REFUSED(ipk_chan_open(url, fl, TWO_S, &ch), want);
			}
			if (ch) {
				ipk_chan_close(ch);
				ch = NULL;
			}
			n_same(path, &st);
			unplant(fd);
		}
	}
}

static void no_peer(void)
{
	ipk_chan *rd = NULL, *wr = NULL;
	char buf[16];

	snprintf(url, sizeof(url), "fifo:%s", path);
	T_SYS(mkfifo(path, 0600));
	/* writers: nobody reads */
	N_TIMED(ipk_chan_open(url, IPK_CHAN_WRONLY, SHORT_MS * IPK_MSEC, &wr), -ETIMEDOUT,
		SHORT_MS + N_SLACK_MS);
	N_TIMED(ipk_chan_open(url, IPK_CHAN_CREATE | IPK_CHAN_WRONLY, SHORT_MS * IPK_MSEC, &wr),
		-ETIMEDOUT, SHORT_MS + N_SLACK_MS);
	N_TIMED(ipk_chan_open(url, IPK_CHAN_WRONLY, 0, &wr), -ENXIO, N_PROMPT_MS);
	/* readers: nobody writes */
	N_TIMED(ipk_chan_open(url, IPK_CHAN_RDONLY, TWO_S, &rd), 0, N_PROMPT_MS);
	N_TIMED(ipk_chan_recv(rd, buf, sizeof(buf), SHORT_MS * IPK_MSEC), -ETIMEDOUT,
		SHORT_MS + N_SLACK_MS);
	ipk_chan_close(rd);
	T_SYS(unlink(path));
}

static int nobody_mkfifo(void *arg)
{
	(void)arg;
	return mkfifo(path, 0600) == 0 ? 0 : 1;
}

/* nobody: a creating end on root's FIFO is refused too; one it may not
 * open at all is -EACCES, as an open would say */
static int nobody_create(void *arg)
{
	ipk_chan *ch = NULL;

	N_REFUSED(ipk_chan_open(url, IPK_CHAN_CREATE | IPK_CHAN_RDONLY, TWO_S, &ch), *(int *)arg);
	N_REFUSED(ipk_chan_open(url, IPK_CHAN_CREATE | IPK_CHAN_WRONLY, TWO_S, &ch), *(int *)arg);
	return 0;
}

static void owners(void)
{
	static const unsigned ends[] = { IPK_CHAN_CREATE | IPK_CHAN_RDONLY,
					 IPK_CHAN_CREATE | IPK_CHAN_WRONLY };
	ipk_chan *ch = NULL;
	struct stat st;

	snprintf(url, sizeof(url), "fifo:%s", path);

	/* ours, but others may read or write it */
	static const mode_t wide[] = { 0666, 0620, 0604 };
	for (size_t i = 0; i < sizeof(wide) / sizeof(wide[0]); i++) {
		T_SYS(mkfifo(path, 0600));
		T_SYS(chmod(path, wide[i]));
		n_lstat(path, &st);
		for (size_t e = 0; e < 2; e++)
			N_REFUSED(ipk_chan_open(url, ends[e], TWO_S, &ch), -EPERM);
		n_same(path, &st);
		T_EQ(st.st_mode & 07777, wide[i]);
		T_SYS(unlink(path));
	}
	/* ...unless perm= asks for that much */
	T_SYS(mkfifo(path, 0600));
	T_SYS(chmod(path, 0620));
	snprintf(url, sizeof(url), "fifo:%s?perm=0660", path);
	T_EQ(ipk_chan_open(url, IPK_CHAN_CREATE | IPK_CHAN_RDONLY, TWO_S, &ch), 0);
	ipk_chan_close(ch);
	ch = NULL;
	T_SYS(lstat(path, &st)); /* not ours to remove: it was there */
	T_SYS(unlink(path));
	snprintf(url, sizeof(url), "fifo:%s", path);

	/* another user's FIFO, even one only it may use */
	n_as_nobody(nobody_mkfifo, NULL);
	n_lstat(path, &st);
	T_EQ(st.st_uid, 65534);
	for (size_t e = 0; e < 2; e++)
		N_REFUSED(ipk_chan_open(url, ends[e], TWO_S, &ch), -EPERM);
	n_owner_is(url, 65534, 0600);
	n_same(path, &st);
	/* an opening end may use it (root may) */
	T_EQ(ipk_chan_open(url, IPK_CHAN_RDONLY, TWO_S, &ch), 0);
	ipk_chan_close(ch);
	ch = NULL;
	n_same(path, &st);
	T_SYS(unlink(path));

	/* and the other way round */
	T_SYS(mkfifo(path, 0600));
	n_lstat(path, &st);
	n_as_nobody(nobody_create, &(int){ -EACCES });
	T_SYS(chmod(path, 0666));
	n_as_nobody(nobody_create, &(int){ -EPERM });
	n_same(path, &st);
	T_SYS(unlink(path));
}

static void close_removes_only_its_own(void)
{
	ipk_chan *ch = NULL;
	struct stat st;

	snprintf(url, sizeof(url), "fifo:%s", path);
	T_EQ(ipk_chan_open(url, IPK_CHAN_CREATE | IPK_CHAN_RDONLY, 0, &ch), 0);
	T_SYS(unlink(path));
	T_SYS(mkfifo(path, 0600)); /* a successor's */
	n_lstat(path, &st);
	ipk_chan_close(ch);
	n_same(path, &st);
	T_SYS(unlink(path));

	T_EQ(ipk_chan_open(url, IPK_CHAN_CREATE | IPK_CHAN_RDONLY, 0, &ch), 0);
	ipk_chan_close(ch);
	T_EQ(lstat(path, &st), -1); /* its own: removed */
}

int main(int argc, char **argv)
{
	t_path(path, sizeof(path), "names-fifo");
	t_path(target, sizeof(target), "names-fifo-target");
	n_clear(path);
	(void)unlink(target);
	N_PART(argc, argv, kinds);
	N_PART(argc, argv, no_peer);
	N_PART(argc, argv, close_removes_only_its_own);
	N_PART(argc, argv, owners); /* may skip: last */
	return 0;
}
