/* SPDX-License-Identifier: MIT */
/*
 * ipckit/svc.h - request/reply over shared memory: a server, its clients,
 * and calls, without a daemon.
 *
 * A server listens on a Unix socket (SOCK_SEQPACKET) under a name:
 *   "/path"      a socket file, created with opts.mode (default 0600);
 *   "@name"      an abstract socket (no file, no permissions: anyone in the
 *                network namespace may connect, so only an access policy
 *                protects it);
 * either one may be written after "unix:". A client connects once; the
 * server checks who it is (SO_PEERCRED: the uid, gid and pid the kernel
 * vouches for) against its access policy, as ipk_listener_set_access()
 * does, and hands it a memfd holding that client's request and reply
 * queues, sealed against resizing. From then on every call travels through
 * shared memory: the client writes the request into its queue, the server
 * reads it, answers into the reply queue, and the library matches the
 * reply to its call (a slot number the server echoes). A client has up to
 * opts.slots calls in flight; the server may answer them in any order.
 *
 * Waiting, on either side: busy spin (IPK_SVC_SPIN: no system call on any
 * path, one CPU busy), spin for spin_ns and then sleep, or sleep at once
 * (the default). A sleeper is woken through an eventfd, which the peer
 * writes only when the sleeper said it sleeps: while both sides are
 * awake, a call makes no system call. Each side has a pollable descriptor
 * for an event loop (ipk_svc_fd(), ipk_svc_client_fd()).
 *
 * Death: the connected socket is the liveness check. A server that dies
 * (SIGKILL included) makes every pending call of its clients fail at once
 * with -ECONNRESET (a sleeping client wakes on the socket's hang-up; a
 * spinning one looks at the socket every millisecond); one that closes
 * cleanly makes them fail with -EPIPE. A client that dies is dropped by
 * the server without effect on the others; replies to its calls return
 * -ECONNRESET. A server restarted on the same name is followed: the
 * client's next ipk_svc_call_start() (or ipk_svc_call()) after a failure,
 * or after a death it notices before sending (it looks at the socket when
 * it has made no call for a few milliseconds: one tick of the kernel's
 * coarse clock past one millisecond), connects again by name within
 * that call's timeout. Calls in flight across a restart are never
 * repeated: they fail, and the caller decides.
 *
 * Memory: each connection costs 4 KiB + 2 x capacity, where capacity is the
 * power of two that holds slots + 2 records of max_msg bytes (16 slots of
 * 4 KiB: 2 x 128 KiB).
 *
 * Threads: a server (ipk_svc) and a client (ipk_svc_client) are each used
 * by one thread at a time; use one client per thread for concurrent
 * callers (connecting costs a few system calls, once). Different objects
 * are independent, also in one process. A child made by fork() must not
 * use its parent's server or client (they share the memory and the
 * socket): it connects on its own.
 */
#ifndef IPCKIT_SVC_H
#define IPCKIT_SVC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common.h"
#include "unix.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ipk_svc ipk_svc;               /* a server */
typedef struct ipk_svc_client ipk_svc_client; /* a client's connection */

/* ipk_svc_opts.flags and ipk_svc_client_opts.flags */
#define IPK_SVC_SPIN 0x1u /* busy-spin while waiting, never sleep */
#define IPK_SVC_EXCL 0x2u /* server: fail with -EEXIST if a socket file is at the path */

struct ipk_svc_opts {
	uint32_t max_msg; /* largest request or reply, bytes; 0 = 4096; at most 16 MiB */
	uint32_t slots;   /* calls in flight per client; 0 = 16; at most 1024 */
	uint32_t flags;   /* IPK_SVC_SPIN, IPK_SVC_EXCL */
	int64_t spin_ns;  /* spin this long before sleeping (0 = sleep at once) */
	mode_t mode;      /* the socket file's permissions; 0 = 0600 */
	/* who may connect (copied), NULL: everyone who can reach the socket */
	const struct ipk_access *access;
};

struct ipk_svc_client_opts {
	uint32_t flags;  /* IPK_SVC_SPIN */
	int64_t spin_ns; /* spin this long before sleeping (0 = sleep at once) */
};

/* What ipk_svc_recv() tells about a request besides its bytes. */
struct ipk_svc_req {
	uint64_t id;          /* the call, for ipk_svc_reply() */
	struct ipk_cred peer; /* the client, as the kernel saw it when it connected */
};

/**
 * ipk_svc_create() - start a server at @name
 * @opts: sizes, waiting and access; NULL for the defaults
 *
 * A stale socket file of ours at the path (its server died) is replaced.
 * Return: 0 and *@ret; -EINVAL (bad name or sizes); -EADDRINUSE (a server
 * is listening there); -EEXIST (a file that is not a socket, or any socket
 * file with IPK_SVC_EXCL); -ELOOP (a symbolic link); -EPERM (another
 * user's stale socket); -ENAMETOOLONG; -ENOMEM; other -errno.
 * Blocking: no. Threads: safe.
 */
IPK_API int ipk_svc_create(const char *name, const struct ipk_svc_opts *opts, ipk_svc **ret);

/**
 * ipk_svc_close() - stop serving; clients' pending calls fail with -EPIPE
 *
 * Removes the socket file if it is still ours. Accepts NULL.
 */
IPK_API void ipk_svc_close(ipk_svc *s);

/**
 * ipk_svc_recv() - take the next request, from any client, into @buf
 * @req: filled with the call's id and the client's credentials
 * @timeout_ns: 0 = try once; negative = forever
 *
 * Also accepts new clients (refusing those the access policy does not
 * allow) and drops clients that went away: call it, or poll
 * ipk_svc_fd(), even when no requests are expected. Clients are served
 * in turn, so none can starve the others.
 * Return: the request's length (>= 0); -EMSGSIZE if it is longer than
 * @len (nothing taken; a buffer of max_msg bytes never sees it); -EAGAIN
 * (timeout 0, nothing there: ipk_svc_fd() will turn readable); -ETIMEDOUT.
 * Blocking: up to @timeout_ns, as the opts say. Threads: one at a time.
 */
IPK_API ssize_t ipk_svc_recv(ipk_svc *s, void *buf, size_t len, struct ipk_svc_req *req,
			     int64_t timeout_ns);

/**
 * ipk_svc_reply() - answer the call @id (from ipk_svc_recv()) with @len bytes
 *
 * Calls may be answered in any order, each exactly once. Never waits.
 * Return: 0; -EMSGSIZE (@len > max_msg); -ECONNRESET (the client went
 * away or was dropped for breaking the protocol); -ENOENT (no such call
 * pending: answered already, or never received). Threads: as ipk_svc_recv().
 */
IPK_API int ipk_svc_reply(ipk_svc *s, uint64_t id, const void *buf, size_t len);

/**
 * ipk_svc_fd() - a descriptor that polls readable when ipk_svc_recv()
 * has something to do (a request, a client connecting or leaving)
 *
 * Level-triggered; a request is announced on it only after ipk_svc_recv()
 * returned -EAGAIN (until then the server is known to be awake): in an
 * event loop, call ipk_svc_recv() with timeout 0 until -EAGAIN on every
 * wake-up. Owned by @s.
 */
IPK_API int ipk_svc_fd(const ipk_svc *s);

/* ipk_svc_clients() - clients connected now, with those in the handshake
 * (a peer that does not finish it within a second is dropped at the
 * server's next look). ipk_svc_refused() - how many the access policy
 * refused, and the last one in *@ret (if any). */
IPK_API unsigned ipk_svc_clients(const ipk_svc *s);
IPK_API unsigned long ipk_svc_refused(const ipk_svc *s, struct ipk_cred *ret);

/**
 * ipk_svc_connect() - connect to the server at @name
 * @opts: waiting; NULL for the defaults (sleep)
 * @timeout_ns: how long to wait for a server to appear and answer
 *
 * Return: 0 and *@ret; -EACCES (the server's policy refused us, or the
 * socket file's permissions did); -ETIMEDOUT or -EAGAIN (no server yet);
 * -ENOTSOCK (a file that is not a socket at the path); -EPROTO (something
 * at the name that is no ipk_svc server); -ECONNRESET (the server went
 * away during the handshake); -EINVAL; -ENOMEM; other -errno.
 * Threads: safe.
 */
IPK_API int ipk_svc_connect(const char *name, const struct ipk_svc_client_opts *opts,
			    int64_t timeout_ns, ipk_svc_client **ret);

/* ipk_svc_client_close() - disconnect; pending calls are dropped. Accepts NULL. */
IPK_API void ipk_svc_client_close(ipk_svc_client *c);

/**
 * ipk_svc_call_start() - send a request of @len bytes; *@call identifies it
 * @timeout_ns: only for connecting again after the connection was lost
 *
 * Return: 0; -EMSGSIZE (@len > the server's max_msg); -EBUSY (slots calls
 * in flight already); -EPROTO (the server broke the protocol: the
 * connection is dropped, the next call connects again); after a lost
 * connection, what ipk_svc_connect() returns. Blocking: only to connect
 * again. Threads: one at a time.
 */
IPK_API int ipk_svc_call_start(ipk_svc_client *c, const void *buf, size_t len, uint64_t *call,
			       int64_t timeout_ns);

/**
 * ipk_svc_call_wait() - wait for the reply to @call and copy it to @buf
 *
 * Replies to other calls that arrive meanwhile are kept for their own
 * ipk_svc_call_wait().
 * Return: the reply's length (>= 0; the call is finished); -EAGAIN
 * (timeout 0, no reply yet: ipk_svc_client_fd() will turn readable);
 * -ETIMEDOUT (the call stays pending: wait again or cancel); -EMSGSIZE
 * (the reply is longer than @cap: kept, call again with more room);
 * -ECONNRESET (the server died or was replaced) or -EPIPE (it closed) -
 * the call is finished; -ENOENT (no such call). Threads: one at a time.
 */
IPK_API ssize_t ipk_svc_call_wait(ipk_svc_client *c, uint64_t call, void *buf, size_t cap,
				  int64_t timeout_ns);

/* ipk_svc_call_cancel() - give up @call: its reply, if it ever comes, is
 * dropped. Return: 0; -ENOENT. */
IPK_API int ipk_svc_call_cancel(ipk_svc_client *c, uint64_t call);

/**
 * ipk_svc_call() - one call: send @len bytes, wait for the reply into @rep
 *
 * ipk_svc_call_start() and ipk_svc_call_wait() within one deadline; a call
 * that times out is cancelled.
 * Return: the reply's length; the errors of both.
 */
IPK_API ssize_t ipk_svc_call(ipk_svc_client *c, const void *req, size_t len, void *rep, size_t cap,
			     int64_t timeout_ns);

/**
 * ipk_svc_client_fd() - a descriptor that polls readable when a reply
 * came or the connection broke
 *
 * Armed by ipk_svc_call_wait() returning -EAGAIN (until then the client
 * is known to be awake, and replies are not announced). Level-triggered.
 * Owned by @c; the same descriptor for the client's life, across
 * reconnections.
 */
IPK_API int ipk_svc_client_fd(const ipk_svc_client *c);

/* ipk_svc_max_msg() - the largest request the server takes (its
 * max_msg), or 0 while disconnected. */
IPK_API size_t ipk_svc_max_msg(const ipk_svc_client *c);

#ifdef __cplusplus
}
#endif

#endif /* IPCKIT_SVC_H */
