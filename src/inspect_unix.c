/* SPDX-License-Identifier: MIT */
/*
 * inspect_unix.c - bound Unix domain sockets (/proc/net/unix), entered in
 * the index as (0, socket inode), and the other ends of their connections
 * (sock_diag), entered as (DEV_PEER, peer inode). Which processes hold
 * either is the process scan's (inspect_holders.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sock_diag.h>
#include <linux/unix_diag.h>

#include "inspect_internal.h"

#define UNIX_ACCEPTCON 0x10000u /* __SO_ACCEPTCON in /proc/net/unix Flags */

int ipk__inspect_scan_unix(ipk_inspect *in)
{
	unsigned long long num;
	unsigned ref, proto, flags, type, state;
	unsigned long inode;
	char line[4096 + 128];
	size_t first = in->nobjs;
	FILE *f = fopen("/proc/net/unix", "re");

	if (!f)
		return 0;
	if (!fgets(line, sizeof(line), f)) {
		fclose(f);
		return 0;
	}
	while (fgets(line, sizeof(line), f)) {
		char *path;
		struct inspect_obj *o = NULL;
		int pos = 0;

		if (sscanf(line, "%llx: %x %x %x %x %x %lu %n", &num, &ref, &proto, &flags, &type,
			   &state, &inode, &pos) < 7 ||
		    !pos)
			continue;
		path = line + pos;
		path[strcspn(path, "\n")] = '\0';
		if (!path[0])
			continue; /* unnamed: a socketpair or a client end */
		/* Accepted sockets carry their listener's address: one object. */
		for (size_t i = first; i < in->nobjs; i++)
			if (!strcmp(in->objs[i].pub.name, path) &&
			    in->objs[i].pub.sock_type == (int)type) {
				o = &in->objs[i];
				break;
			}
		if (o)
			o->pub.sock_conns++; /* one of the two is an accepted socket */
		else if (!(o = ipk__inspect_new_obj(in, IPK_INSPECT_UNIX))) {
			fclose(f);
			return -ENOMEM;
		}
		/* The listener describes the object, else the first one seen. */
		if (!o->pub.ino || (flags & UNIX_ACCEPTCON)) {
			snprintf(o->pub.name, sizeof(o->pub.name), "%s", path);
			o->pub.sock_type = (int)type;
			o->pub.sock_state = (int)state;
			o->pub.listening = !!(flags & UNIX_ACCEPTCON);
			o->pub.ino = inode;
			if (path[0] == '/') {
				struct stat st;

				if (stat(path, &st) == 0 && S_ISSOCK(st.st_mode)) {
					o->pub.uid = st.st_uid;
					o->pub.gid = st.st_gid;
					o->pub.mode = st.st_mode & 07777;
				}
			}
		}
		if (ipk__inspect_add_key(in, 0, inode, (size_t)(o - in->objs)) < 0) {
			fclose(f);
			return -ENOMEM;
		}
	}
	fclose(f);
	return 0;
}

/*
 * The other ends of our sockets' connections: one sock_diag dump of every
 * Unix socket with its peer's inode. A peer of a socket we list (an
 * accepted connection shares the listener's address) is entered as
 * (DEV_PEER, peer inode); the process scan then finds who holds it. Without
 * sock_diag (no CONFIG_UNIX_DIAG) there are no peers, and no error.
 */
int ipk__inspect_scan_unix_peers(ipk_inspect *in)
{
	struct {
		struct nlmsghdr nlh;
		struct unix_diag_req req;
	} msg = {
		.nlh = { .nlmsg_len = sizeof(msg),
			 .nlmsg_type = SOCK_DIAG_BY_FAMILY,
			 .nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP },
		.req = { .sdiag_family = AF_UNIX,
			 .udiag_states = ~0u,
			 .udiag_show = UDIAG_SHOW_PEER },
	};
	const size_t bufsize = 32768;
	char *buf;
	int fd, rc = 0;
	bool done = false;

	/* Our sockets' inodes, sorted for the lookups below. */
	ipk__inspect_sort_keys(in);
	fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
	if (fd < 0)
		return 0;
	buf = malloc(bufsize);
	if (!buf) {
		ipk__close(fd);
		return -ENOMEM;
	}
	if (ipk__write_eintr(fd, &msg, sizeof(msg)) != (ssize_t)sizeof(msg))
		done = true;
	while (!done && rc == 0) {
		ssize_t n = ipk__read_eintr(fd, buf, bufsize);
		const struct nlmsghdr *h = (const struct nlmsghdr *)buf;

		if (n <= 0)
			break;
		for (; NLMSG_OK(h, (size_t)n); h = NLMSG_NEXT(h, n)) {
			const struct unix_diag_msg *m = NLMSG_DATA(h);
			const struct rtattr *a = (const struct rtattr *)(m + 1);
			int alen;
			ssize_t idx;

			if (h->nlmsg_type == NLMSG_DONE || h->nlmsg_type == NLMSG_ERROR) {
				done = true;
				break;
			}
			alen = (int)h->nlmsg_len - (int)NLMSG_LENGTH(sizeof(*m));
			idx = ipk__inspect_lookup(in, 0, m->udiag_ino);
			if (idx < 0)
				continue;
			for (; RTA_OK(a, alen); a = RTA_NEXT(a, alen)) {
				uint32_t peer;

				if (a->rta_type != UNIX_DIAG_PEER || RTA_PAYLOAD(a) < sizeof(peer))
					continue;
				memcpy(&peer, RTA_DATA(a), sizeof(peer));
				if (peer &&
				    ipk__inspect_add_key(in, DEV_PEER, peer, (size_t)idx) < 0) {
					rc = -ENOMEM;
					break;
				}
			}
			if (rc < 0)
				break;
		}
	}
	free(buf);
	ipk__close(fd);
	return rc;
}
