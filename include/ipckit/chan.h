/* SPDX-License-Identifier: MIT */
/*
 * ipckit/chan.h - one message-channel API over every transport.
 *
 * A channel carries whole messages between two endpoints. It is opened by
 * URL (see ipk_url_check() for the syntax):
 *
 *   pipe:                         anonymous pipe pair, ipk_chan_pipe() only
 *   fifo:/path                    named pipe (one direction per channel)
 *   unix:/path  unix:@abstract    Unix stream socket
 *   unix+dgram:...                Unix datagram socket
 *   unix+seqpacket:...            Unix sequenced-packet socket
 *   tcp:HOST:PORT                 TCP, TCP_NODELAY
 *   mq:/name                      POSIX message queue (priorities: mq.h)
 *   sysvmq:KEY  sysvmq:/path:PROJ  sysvmq:private
 *                                 System V message queue (types)
 *   shm:/name                     shared-memory broadcast ring (ring.h):
 *                                 the creating end publishes, every other
 *                                 end subscribes; mode=queue for the
 *                                 lossless queue and its one consumer
 *
 * Options follow a '?' as key=value pairs joined by '&':
 *   msgsize=N   largest message, in bytes (default 65536)
 *   perm=0OOO   permissions of a created object (default 0600; fifo:,
 *               unix*:, mq:, sysvmq:, shm:)
 *   pipesize=N  kernel pipe buffer (pipe:, fifo:; F_SETPIPE_SZ)
 *   maxmsg=N    messages a created POSIX queue holds (mq:)
 *   backlog=N   listen backlog (stream and seqpacket sockets, tcp)
 *   capacity=N  ring data bytes, a power of two >= 4096 (shm:; 1 MiB)
 *   mode=ring|queue  what shm: creates or expects (default ring); on
 *               other schemes mode= is -EINVAL (permissions are perm=)
 *   framing=len|line|none  how a byte stream (pipe:, fifo:, unix:, tcp:)
 *               marks where messages end (default len; see below)
 *
 * On shm: the creator's msgsize= sets the ring's largest message (default:
 * capacity / 4 - 16) and a subscriber's is the ring's own. The publisher
 * of a ring never waits: subscribers that fall a ring behind lose the
 * oldest messages and ipk_chan_lost() counts them; a queue's sends wait
 * for room instead. A subscriber's open waits (up to its timeout) for the
 * ring to appear; once everything has been read its receive returns
 * -EPIPE when the publisher has closed (the end), -EOWNERDEAD once when it
 * died (receive again to wait for a successor), and -ECONNRESET once when
 * a new publisher took the name over (then receive again).
 *
 * Messages are whole: a receive returns one complete message or an error,
 * never part of one. On byte streams (pipe, fifo, unix stream, tcp) the
 * framing= option says how messages travel; both ends must agree:
 *   len   (default) a frame: a 4-byte little-endian length, then the
 *         payload.
 *   line  a message is a line: its bytes, then '\n'. For programs that
 *         speak text (shells, socat, a Python socket). Only '\n' ends a
 *         line ('\r' before it stays in the message); a message holding a
 *         '\n' is refused on send with -EINVAL. msgsize= is the longest
 *         line, newline not counted (default 65536). A longer line is
 *         -EMSGSIZE as soon as msgsize= + 1 bytes without a newline are in,
 *         with ipk_chan_next_len() over ipk_chan_max_msg(); that line is
 *         dropped through its newline (what arrives later of it too) and
 *         the next receive returns the line after it. A peer that closes
 *         after half a line: those bytes are the last message, then -EPIPE.
 *   none  no framing, for forwarding bytes: a send writes the bytes as they
 *         are (an empty message writes nothing), and each receive returns
 *         what one read(2) gives, up to its buffer and msgsize= (a buffer
 *         of 0 bytes is -EMSGSIZE). Boundaries between sends are not kept.
 * A listener hands its framing= to the channels it accepts and names it in
 * ipk_listener_url(). Datagram and seqpacket sockets keep the kernel's own
 * message boundaries, and so do message queues (framing= is -EINVAL
 * there). On mq: a created queue's msgsize is msgsize= or the kernel's
 * default (fs.mqueue.msgsize_default), and an opened queue's is its own:
 * ipk_chan_max_msg() tells.
 *
 * All descriptors are close-on-exec and non-blocking; blocking is done by
 * the library with poll() and a deadline, so every call honours its timeout
 * and survives signals (EINTR is retried without stretching the deadline).
 * Writing to a peer that went away returns -EPIPE; SIGPIPE never kills the
 * process.
 *
 * Threads: a channel may be used by one sender and one receiver at the same
 * time (two threads); two concurrent senders, or two concurrent receivers,
 * need the caller's own lock. Listeners: one accepting thread at a time.
 */
#ifndef IPCKIT_CHAN_H
#define IPCKIT_CHAN_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ipk_chan ipk_chan;
typedef struct ipk_listener ipk_listener;

/* Default and largest values of the msgsize= option. */
#define IPK_CHAN_MSGSIZE_DEFAULT ((size_t)65536)
#define IPK_CHAN_MSGSIZE_MAX ((size_t)1 << 28)

/*
 * Pipe and FIFO messages whose frame (payload + 4-byte length; with
 * framing=line payload + newline) fits in PIPE_BUF are written in one
 * atomic write: writers sharing one pipe never interleave them. Larger
 * messages need a single writer.
 */
#define IPK_PIPE_ATOMIC_MAX ((size_t)4096 - 4)

/* Flags of ipk_chan_open(), ipk_chan_pipe() and ipk_listen(). */
enum {
	/* This end creates the object or listens (server side). Without it
	 * the channel opens an existing object or connects (client side). */
	IPK_CHAN_CREATE = 1u << 0,
	/* With IPK_CHAN_CREATE: fail with -EEXIST if the object exists. */
	IPK_CHAN_EXCL = 1u << 1,
	/* The creator leaves the named object behind when it closes. */
	IPK_CHAN_KEEP = 1u << 2,
	/* Direction, required for one-way transports (fifo:). */
	IPK_CHAN_RDONLY = 1u << 3,
	IPK_CHAN_WRONLY = 1u << 4,
	/* Every send and receive behaves as if its timeout were 0. */
	IPK_CHAN_NONBLOCK = 1u << 5,
};

/**
 * ipk_chan_open() - open one end of a channel by URL
 * @url: the channel's URL, with options
 * @flags: IPK_CHAN_* flags
 * @timeout_ns: how long to wait for the other end (see below)
 * @ret: the new channel, written only on success
 *
 * What "open" waits for depends on the transport:
 * - fifo: a writer waits until the FIFO exists and a reader has it open
 *   (start-up synchronisation without the classic hang); with timeout 0 and
 *   no reader it fails at once with -ENXIO (-ENOENT: no FIFO). A reader
 *   never waits in open: its receives do.
 *   IPK_CHAN_CREATE creates the FIFO (mode 0600 unless perm= says otherwise),
 *   or reuses an existing FIFO unless IPK_CHAN_EXCL (see "Names" below).
 *   Only a FIFO is ever opened: anything else at the path is refused at once,
 *   -EEXIST at a creating end, -EMEDIUMTYPE at an opening end.
 * - unix, unix+seqpacket, tcp with IPK_CHAN_CREATE: listen, accept exactly
 *   one peer, then stop listening (and remove the socket file unless
 *   IPK_CHAN_KEEP). Use ipk_listen() to serve many peers.
 * - unix+dgram with IPK_CHAN_CREATE: bind and return at once; replies go to
 *   the sender of the last message received.
 * - any connector: retries a missing or refusing server until the
 *   deadline; with timeout 0 it fails at once with -ENOENT or -ECONNREFUSED.
 * - mq and shm (a subscriber): wait for a missing queue or ring to be made
 *   until the deadline (-ETIMEDOUT); with timeout 0, -ENOENT at once.
 *   (tcp: with timeout 0 a connection that is still being set up is -EAGAIN.)
 *
 * A stale socket file left by a dead server is replaced if it is the
 * caller's own (another user's: -EPERM); the socket of a live server is
 * never deleted (-EADDRINUSE). A connector that finds no socket at the path
 * fails at once with -ENOTSOCK.
 *
 * Names: a creating end (IPK_CHAN_CREATE without IPK_CHAN_EXCL) adopts an
 * object it finds at its name only if the object belongs to the caller's
 * effective uid and lets group and others read or write no more than perm=
 * does; otherwise it fails with -EPERM (-EACCES if the caller may not open
 * it at all) and leaves the object as it is. An
 * object of the wrong kind at the name is never opened, adopted or removed,
 * and is refused at once, whatever the timeout. A creating end never follows
 * a symbolic link at its path (-ELOOP); an opening end follows one, as
 * open(2) does. Close removes a name only while it still names the object
 * this end created.
 *
 * Return: 0; -EINVAL for a malformed URL or bad flags (ipk_url_check() says
 * which part is wrong); -EPROTONOSUPPORT for a scheme this build cannot
 * open; -ENAMETOOLONG for a socket path that does not fit sun_path;
 * -ETIMEDOUT; -EAGAIN (timeout 0, no peer to accept yet); -ENXIO; -ENOENT;
 * -ECONNREFUSED; -EEXIST (IPK_CHAN_EXCL, or another kind of file at the
 * path of a creating end); -EMEDIUMTYPE (an opening fifo: end finds no FIFO
 * at the path); -EPERM (a creating end refuses what it found, see "Names");
 * -ELOOP; -EADDRINUSE; -EACCES; -ENOMEM; other errors from the
 * kernel. IPK_CHAN_NONBLOCK makes the open itself try once, as timeout 0.
 * Blocking: up to @timeout_ns, as above. Threads: safe.
 */
IPK_API int ipk_chan_open(const char *url, unsigned flags, int64_t timeout_ns, ipk_chan **ret);

/**
 * ipk_chan_name_owner() - who owns the object at a channel's name
 * @url: a fifo:, unix*: (a path), mq:, shm: (a ring's feed under /dev/shm)
 *       or sysvmq: (a key) URL
 * @uid: set on success to the object's owner
 * @mode: set on success to its mode: permission bits, and the file type
 *        (S_IFMT) where the name is a path
 *
 * Looks without opening the object as a channel, so that a caller that was
 * refused with -EPERM ("Names" above) can say whose object it found and how
 * open it was. A POSIX queue is looked at under /dev/mqueue when that is
 * mounted, else opened (which needs permission); a System V queue through
 * IPC_STAT (which needs read permission).
 *
 * Return: 0; -ENOENT if nothing is there; -EOPNOTSUPP for a URL without such
 * a name (pipe:, tcp:, abstract sockets, sysvmq:private, ...); -EINVAL;
 * -EACCES; -ENOMEM. Threads: safe.
 */
IPK_API int ipk_chan_name_owner(const char *url, uid_t *uid, mode_t *mode);

/**
 * ipk_chan_pipe() - create an anonymous pipe as a pair of channels
 * @url: "pipe:" with options (msgsize=, pipesize=), or NULL for "pipe:"
 * @flags: 0 or IPK_CHAN_NONBLOCK
 * @ret_rd: the reading end, written only on success
 * @ret_wr: the writing end, written only on success
 *
 * For related processes: create the pair, fork(), and let each process close
 * the end it does not use. A reader that falls behind fills the pipe and the
 * writer then blocks (backpressure) until the reader catches up or the
 * send's timeout expires.
 *
 * Return: 0; -EINVAL; -EPERM if pipesize= is over /proc/sys/fs/pipe-max-size
 * for an unprivileged caller; -EMFILE; -ENOMEM. Threads: safe.
 */
IPK_API int ipk_chan_pipe(const char *url, unsigned flags, ipk_chan **ret_rd, ipk_chan **ret_wr);

/**
 * ipk_chan_send() - send one whole message of @len bytes
 *
 * A message larger than ipk_chan_max_msg() is refused with -EMSGSIZE before
 * anything is sent. On a byte stream, a deadline that strikes after part of
 * a frame went out does not cut the frame: the rest is kept in the channel
 * and goes out first on the next send, ipk_chan_flush() or poll-driven
 * send; the message counts as sent.
 *
 * Blocking: while the kernel buffer is full, up to @timeout_ns.
 * Return: 0; -EMSGSIZE; -EAGAIN (timeout 0, or IPK_CHAN_NONBLOCK) or
 * -ETIMEDOUT with nothing of this message sent; -EPIPE if the peer went
 * away; -ECONNRESET; -EDESTADDRREQ (a datagram server that has no peer yet);
 * -EBADF on the reading end of a one-way channel; -EINVAL (an empty
 * message on unix+seqpacket, which the kernel could not tell from the end
 * of the stream; a message holding '\n' with framing=line).
 * Threads: one sender at a time; a receiver may run concurrently.
 */
IPK_API int ipk_chan_send(ipk_chan *ch, const void *buf, size_t len, int64_t timeout_ns);

/**
 * ipk_chan_sendv() - send one whole message gathered from @iov
 *
 * As ipk_chan_send(), for a message whose parts lie apart in memory.
 */
IPK_API int ipk_chan_sendv(ipk_chan *ch, const struct iovec *iov, int iovcnt, int64_t timeout_ns);

/**
 * ipk_chan_recv() - receive one whole message into @buf (@len bytes)
 *
 * Blocking: until a message arrives, up to @timeout_ns.
 * Return: the message's length (>= 0); -EMSGSIZE if it is longer than @len
 * (nothing is consumed; ipk_chan_next_len() gives the size needed), or
 * with framing=line a line over the channel's maximum (dropped, and
 * ipk_chan_next_len() is over ipk_chan_max_msg(); see framing= above);
 * -EAGAIN (timeout 0) or -ETIMEDOUT; -EPIPE when the peer closed the
 * channel; -ECONNRESET; -EPROTO when the peer broke the channel's rules:
 * on a byte stream with framing=len a frame length over this channel's
 * maximum, or a frame cut short by the peer's close (the connection is then shut down and
 * later calls return -EPIPE); on a datagram or seqpacket socket a message
 * over this channel's maximum, which the kernel has already cut and which
 * is therefore discarded (ipk_chan_next_len() gives its size; a seqpacket
 * connection is shut down); -EBADF on the writing end of a one-way channel;
 * -EIDRM when a System V queue was removed underneath the receiver.
 * On mq: the kernel does not say how long a refused message is, so after
 * -EMSGSIZE ipk_chan_next_len() gives the queue's msgsize (an upper bound).
 * Threads: one receiver at a time; a sender may run concurrently.
 */
IPK_API ssize_t ipk_chan_recv(ipk_chan *ch, void *buf, size_t len, int64_t timeout_ns);

/**
 * ipk_chan_send_tag() - send one message with a tag
 * @tag: the message's priority on mq: (0 to 32767; higher is received
 *       first), its type on sysvmq: (1 or more); 0 elsewhere
 *
 * As ipk_chan_send() otherwise. Return: also -EINVAL for a tag the
 * transport cannot carry.
 */
IPK_API int ipk_chan_send_tag(ipk_chan *ch, const void *buf, size_t len, long tag,
			      int64_t timeout_ns);

/**
 * ipk_chan_recv_tag() - receive one message selected by tag
 * @select: sysvmq: 0 takes the first message, a positive value the first of
 *          that type, a negative value the first of the lowest type not
 *          above its absolute value (the kernel's msgrcv rules); 0 elsewhere
 * @tag: if not NULL, set on success to the message's priority (mq:) or
 *       type (sysvmq:), 0 on transports without tags
 *
 * As ipk_chan_recv() otherwise. Return: also -EINVAL for a selector the
 * transport cannot apply.
 */
IPK_API ssize_t ipk_chan_recv_tag(ipk_chan *ch, void *buf, size_t len, long select, long *tag,
				  int64_t timeout_ns);

/**
 * ipk_chan_next_len() - size of the message that the last receive refused
 *
 * Return: after a receive returned -EMSGSIZE, the length of the waiting
 * message; after a datagram over the channel's maximum (-EPROTO), the
 * length of the message that was discarded; 0 otherwise.
 * Threads: the receiving thread.
 */
IPK_API size_t ipk_chan_next_len(const ipk_chan *ch);

/**
 * ipk_chan_send_batch() - send up to @n messages in one call
 *
 * Datagram and seqpacket sockets hand the whole batch to the kernel with
 * sendmmsg(); a shm: ring publishes it with ipk_ring_publish_batch()
 * (committed together, runs of one length sharing a record); other
 * transports send one message after the other.
 *
 * Blocking: until all @n are sent, up to @timeout_ns.
 * Return: the number of messages sent (1..@n) when at least one was, in
 * order; otherwise the error ipk_chan_send() would give for the first.
 * Threads: as ipk_chan_send().
 */
IPK_API int ipk_chan_send_batch(ipk_chan *ch, const struct ipk_msg *msgs, unsigned n,
				int64_t timeout_ns);

/**
 * ipk_chan_recv_batch() - receive up to @n messages in one call
 *
 * Datagram and seqpacket sockets use one recvmmsg() when every buffer can
 * hold ipk_chan_max_msg() bytes; a shm: ring copies out what follows the
 * first and validates it together (ipk_ring_recv_batch()); otherwise
 * messages are taken one by one.
 * Sets each @msgs[i].len to the length received.
 *
 * Blocking: until at least one message is there, up to @timeout_ns; then it
 * takes only what is already waiting.
 * Return: the number of messages received (1..@n); otherwise the error
 * ipk_chan_recv() would give for the first. A later message too big for its
 * buffer ends the batch early and stays queued. A datagram over the
 * channel's maximum, which the kernel has cut, is left out of the batch and
 * reported (-EPROTO, with ipk_chan_next_len()) by the next call, so the
 * messages that came after it are not lost; so is a line over the maximum
 * with framing=line (-EMSGSIZE).
 * Threads: as ipk_chan_recv().
 */
IPK_API int ipk_chan_recv_batch(ipk_chan *ch, struct ipk_msg *msgs, unsigned n, int64_t timeout_ns);

/**
 * ipk_chan_flush() - write out the rest of a frame a send's deadline cut
 *
 * Return: 0 when nothing is pending (always so for datagram transports);
 * -EAGAIN or -ETIMEDOUT; -EPIPE. Threads: as ipk_chan_send().
 */
IPK_API int ipk_chan_flush(ipk_chan *ch, int64_t timeout_ns);

/**
 * ipk_chan_fd() - the descriptor to poll for this channel
 *
 * Readable (POLLIN) when a receive may make progress, writable (POLLOUT)
 * when a send may. A byte-stream channel reads ahead, so several messages
 * can be waiting in the channel after one poll: after the descriptor polls
 * readable, receive with timeout 0 until -EAGAIN. On mq: it is the queue
 * descriptor itself; on sysvmq:, whose queues have no descriptor, it is an
 * eventfd that a watcher thread signals when a message arrives (see
 * ipk_mq(3)). The descriptor stays owned by the channel: do not read,
 * write or close it.
 *
 * On shm: a subscriber's descriptor is an eventfd fed by a helper thread
 * that the first call starts (see ipk_ring_fd()); a publisher has none
 * (it never waits).
 *
 * Return: a descriptor >= 0; -EOPNOTSUPP (shm: publisher); -errno if a
 * shm: subscriber's descriptor cannot be made. Threads: safe, except that
 * on shm: the first call belongs to the receiving thread.
 */
IPK_API int ipk_chan_fd(const ipk_chan *ch);

/**
 * ipk_chan_lost() - messages this receiving end lost so far
 *
 * Only a lossy transport loses messages: an shm: ring subscriber that fell
 * more than a ring behind (each one counted). Every other transport
 * delivers everything or fails the call, and returns 0 here.
 * Return: the count. Threads: safe.
 */
IPK_API uint64_t ipk_chan_lost(const ipk_chan *ch);

/**
 * ipk_chan_subscribers() - receiving ends attached to this sending end now
 *
 * Known for a ring's publisher (shm:): its subscribers, counted until they
 * close or die, SIGKILL included (ipk_ring_subscribers()); for a
 * publisher that waits for its subscribers before it publishes, or lingers
 * for them before it closes. Not a hot-path call.
 * Return: the count (>= 0); -EOPNOTSUPP (another transport, or a
 * subscriber's end); -EINVAL. Blocking: no. Threads: safe.
 */
IPK_API int ipk_chan_subscribers(ipk_chan *ch);

/**
 * ipk_chan_skipped() - messages before this receiving end's start
 *
 * A ring subscriber (shm:, dbus:) starts where from= says (the ring's end
 * by default; its first message if the open had to wait for the ring):
 * the messages published before that are skipped, by choice, not lost.
 * With ipk_chan_lost() and the messages received it adds up to every
 * message published before the next one. Other transports: 0.
 * Return: the count. Threads: safe.
 */
IPK_API uint64_t ipk_chan_skipped(const ipk_chan *ch);

/**
 * ipk_chan_max_msg() - the largest message this channel sends or receives
 *
 * Return: the msgsize= option, or IPK_CHAN_MSGSIZE_DEFAULT. Threads: safe.
 */
IPK_API size_t ipk_chan_max_msg(const ipk_chan *ch);

/**
 * ipk_chan_close() - close a channel; accepts NULL
 *
 * Removes what this end created (FIFO, socket file) unless IPK_CHAN_KEEP.
 * Bytes of a cut frame still pending (see ipk_chan_send()) are written if
 * the kernel takes them at once, else dropped: call ipk_chan_flush() first
 * to wait for them. Never blocks, cannot fail.
 */
IPK_API void ipk_chan_close(ipk_chan *ch);

/**
 * ipk_listen() - listen for many peers on a stream or seqpacket socket
 * @url: unix:, unix+seqpacket: or tcp: (tcp:HOST:0 picks a free port)
 * @flags: 0, IPK_CHAN_EXCL, IPK_CHAN_KEEP, IPK_CHAN_NONBLOCK (passed on to
 *         accepted channels)
 * @ret: the listener, written only on success
 *
 * Return: 0; -EINVAL; -EOPNOTSUPP for a transport that does not listen;
 * -EADDRINUSE (a live server holds the address); -EEXIST (another kind of
 * file at the path); -EPERM (another user's stale socket file); -ELOOP;
 * -ENAMETOOLONG; -EACCES. Threads: safe.
 */
IPK_API int ipk_listen(const char *url, unsigned flags, ipk_listener **ret);

/**
 * ipk_accept() - accept one peer as a new channel
 *
 * Blocking: until a peer connects, up to @timeout_ns.
 * Return: 0; -EAGAIN (timeout 0); -ETIMEDOUT; -EMFILE; -ENOMEM.
 * Threads: one caller at a time per listener.
 */
IPK_API int ipk_accept(ipk_listener *l, int64_t timeout_ns, ipk_chan **ret);

/**
 * ipk_listener_fd() - descriptor that polls readable when a peer waits
 *
 * Return: a descriptor >= 0, owned by the listener. Threads: safe.
 */
IPK_API int ipk_listener_fd(const ipk_listener *l);

/**
 * ipk_listener_url() - the URL a peer should connect to
 *
 * With tcp:HOST:0 this tells the port the kernel chose. It carries the
 * options a peer must share: msgsize= if the listener's URL set it, and
 * framing= unless it is len.
 * Return: the URL's length (without the NUL) on success; -ENOSPC if @len is
 * too small (nothing written). Threads: safe.
 */
IPK_API int ipk_listener_url(const ipk_listener *l, char *buf, size_t len);

/**
 * ipk_listener_close() - stop listening; accepts NULL
 *
 * Removes the socket file this listener created, unless IPK_CHAN_KEEP or
 * another server has since replaced it. Channels already accepted stay
 * open. Never blocks, cannot fail.
 */
IPK_API void ipk_listener_close(ipk_listener *l);

#ifdef __cplusplus
}
#endif

#endif /* IPCKIT_CHAN_H */
