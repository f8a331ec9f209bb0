/* SPDX-License-Identifier: MIT */
/*
 * unix.c - what sits at a unix:, unix+seqpacket: or unix+dgram: path, and
 * who owns it.
 *
 * - A regular file, a FIFO (with no peer), a directory or a symbolic link
 *   at the path: the listening end refuses it (-EEXIST; -ELOOP for a link)
 *   and the connecting end refuses anything but a socket (-ENOTSOCK, also
 *   through a link to a FIFO), at once although given 2 s; nothing planted
 *   is changed.
 * - A stale socket file of another user is never removed or replaced
 *   (-EPERM); one of our own is replaced.
 * - A connector to a socket file nobody listens on waits out its timeout.
 * - Close removes the socket file only while it is still the one it bound.
 */
#include "names.h"

#define TWO_S (2 * IPK_SEC)
#define SHORT_MS 300

static const char *const schemes[] = { "unix", "unix+seqpacket", "unix+dgram" };
static char path[100], target[100], url[512];

enum plant { P_FILE, P_FIFO, P_DIR, P_LINK_FIFO, P_LINK_STALE, P_N };
static const char *const plant_name[] = { "file", "FIFO", "dir", "link to a FIFO",
					  "link to a stale socket" };

static void plant(enum plant what)
{
	switch (what) {
	case P_FILE:
		n_write_file(path);
		break;
	case P_FIFO:
		T_SYS(mkfifo(path, 0600));
		break;
	case P_DIR:
		T_SYS(mkdir(path, 0700));
		break;
	case P_LINK_FIFO:
		T_SYS(mkfifo(target, 0600));
		T_SYS(symlink(target, path));
		break;
	case P_LINK_STALE:
		(void)n_socket_file(target, false);
		T_SYS(symlink(target, path));
		break;
	default:
		T_FAIL("plant %d", (int)what);
	}
}

static void unplant(void)
{
	n_clear(path);
	(void)unlink(target);
}

static void kinds(void)
{
	for (int k = 0; k < P_N; k++) {
		for (size_t i = 0; i < 3; i++) {
			bool link = k >= P_LINK_FIFO, dgram = i == 2;
			ipk_listener *l = NULL;
			ipk_chan *ch = NULL;
			struct stat st;

			plant((enum plant)k);
			n_lstat(path, &st);
			snprintf(url, sizeof(url), "%s:%s", schemes[i], path);
			fprintf(stderr, "%s at %s\n", plant_name[k], url);
			N_REFUSED(ipk_chan_open(url, IPK_CHAN_CREATE, TWO_S, &ch),
				  link ? -ELOOP : -EEXIST);
			if (!dgram)
				N_REFUSED(ipk_listen(url, 0, &l), link ? -ELOOP : -EEXIST);
			if (k != P_LINK_STALE)
				N_REFUSED(ipk_chan_open(url, 0, TWO_S, &ch), -ENOTSOCK);
			T_TRUE(ch == NULL && l == NULL);
			n_same(path, &st);
			unplant();
		}
	}
}

/* A socket file nobody listens on: the connector waits for a server. */
static void stale_connect(void)
{
	ipk_chan *ch = NULL;

	for (size_t i = 0; i < 3; i++) {
		(void)n_socket_file(path, false);
		snprintf(url, sizeof(url), "%s:%s", schemes[i], path);
		N_TIMED(ipk_chan_open(url, 0, SHORT_MS * IPK_MSEC, &ch), -ETIMEDOUT,
			SHORT_MS + N_SLACK_MS);
		N_REFUSED(ipk_chan_open(url, 0, 0, &ch), -ECONNREFUSED);
		T_SYS(unlink(path));
	}
}

static int nobody_stale(void *arg)
{
	(void)arg;
	(void)n_socket_file(path, false);
	return 0;
}

static void owners(void)
{
	ipk_listener *l = NULL;
	ipk_chan *ch = NULL;
	struct stat st;

	for (size_t i = 0; i < 3; i++) {
		bool dgram = i == 2;

		snprintf(url, sizeof(url), "%s:%s", schemes[i], path);
		/* another user's stale socket: not ours to remove */
		n_as_nobody(nobody_stale, NULL);
		n_lstat(path, &st);
		T_EQ(st.st_uid, 65534);
		T_TRUE(S_ISSOCK(st.st_mode));
		N_REFUSED(ipk_chan_open(url, IPK_CHAN_CREATE, TWO_S, &ch), -EPERM);
		if (!dgram)
			N_REFUSED(ipk_listen(url, 0, &l), -EPERM);
		n_same(path, &st);
		T_SYS(unlink(path));

		/* our own is replaced */
		(void)n_socket_file(path, false);
		n_lstat(path, &st);
		if (dgram) {
			T_EQ(ipk_chan_open(url, IPK_CHAN_CREATE, TWO_S, &ch), 0);
			ipk_chan_close(ch);
			ch = NULL;
		} else {
			T_EQ(ipk_listen(url, 0, &l), 0);
			ipk_listener_close(l);
			l = NULL;
		}
		T_EQ(lstat(path, &st), -1); /* and the new one removed at close */
	}
}

static void close_removes_only_its_own(void)
{
	for (size_t i = 0; i < 3; i++) {
		bool dgram = i == 2;
		ipk_listener *l = NULL;
		ipk_chan *ch = NULL;
		struct stat st;

		snprintf(url, sizeof(url), "%s:%s", schemes[i], path);
		if (dgram)
			T_EQ(ipk_chan_open(url, IPK_CHAN_CREATE, 0, &ch), 0);
		else
			T_EQ(ipk_listen(url, 0, &l), 0);
		T_SYS(unlink(path));
		(void)n_socket_file(path, false); /* a successor's */
		n_lstat(path, &st);
		ipk_chan_close(ch);
		ipk_listener_close(l);
		n_same(path, &st);
		T_SYS(unlink(path));
	}
}

int main(int argc, char **argv)
{
	t_path(path, sizeof(path), "names-unix");
	t_path(target, sizeof(target), "names-unix-target");
	n_clear(path);
	(void)unlink(target);
	N_PART(argc, argv, kinds);
	N_PART(argc, argv, stale_connect);
	N_PART(argc, argv, close_removes_only_its_own);
	N_PART(argc, argv, owners); /* may skip: last */
	return 0;
}
