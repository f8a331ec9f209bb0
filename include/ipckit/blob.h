/* SPDX-License-Identifier: MIT */
/*
 * ipckit/blob.h - sealed memfd blobs: bytes one process writes once and
 * hands to another over a Unix socket, which maps them read-only without
 * a copy.
 */
#ifndef IPCKIT_BLOB_H
#define IPCKIT_BLOB_H

#include <stddef.h>
#include <stdint.h>

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * ipk_blob - a sealed memfd: a block of bytes created by one process,
 * sealed so that nobody (its creator included) can change, shrink or grow
 * it, and handed to another over a Unix socket (SCM_RIGHTS). The receiver
 * maps it read-only: no copy through the socket, whatever the size.
 *
 * The receiver trusts nothing: it accepts only a memfd that carries all of
 * F_SEAL_SHRINK, F_SEAL_GROW, F_SEAL_WRITE and F_SEAL_SEAL and whose size
 * is the announced one, checked before mapping. A sender that could still
 * shrink the file could make the receiver's reads fault (SIGBUS); sealed,
 * it cannot.
 *
 * Threads: one thread at a time per blob; a sealed blob may be read by
 * any number of threads.
 */
typedef struct ipk_blob ipk_blob;

/**
 * ipk_blob_create() - a new memfd of @size bytes (> 0), mapped writable
 *
 * Return: 0 and *@ret; -EINVAL (@size 0 or too large); -EMFILE; -ENOMEM.
 */
IPK_API int ipk_blob_create(size_t size, ipk_blob **ret);

/* ipk_blob_data() - the writable mapping before sealing; NULL after. */
IPK_API void *ipk_blob_data(ipk_blob *b);

/* ipk_blob_view() - the contents for reading (sealed or not). */
IPK_API const void *ipk_blob_view(const ipk_blob *b);

/* ipk_blob_size() - the size in bytes. */
IPK_API size_t ipk_blob_size(const ipk_blob *b);

/* ipk_blob_fd() - the memfd; owned by @b. */
IPK_API int ipk_blob_fd(const ipk_blob *b);

/**
 * ipk_blob_seal() - make the blob immutable: drop the writable mapping,
 * map it read-only and add all four seals
 *
 * Return: 0 (also if already sealed); -EBUSY if another writable mapping of
 * the memfd exists. After this, ipk_blob_data() is NULL.
 */
IPK_API int ipk_blob_seal(ipk_blob *b);

/**
 * ipk_blob_send() - hand a sealed blob to the peer of Unix socket @sock
 *
 * Sends a 16-byte header (magic, size) with the memfd in SCM_RIGHTS, on a
 * stream, seqpacket or connected datagram socket. The blob stays the
 * caller's.
 * Return: 0; -EINVAL (not sealed); -EPIPE (peer gone); -EAGAIN (timeout 0,
 * socket buffer full); -ETIMEDOUT; -ENOTSOCK. Blocking: up to @timeout_ns.
 * Threads: one sender at a time per socket.
 */
IPK_API int ipk_blob_send(const ipk_blob *b, int sock, int64_t timeout_ns);

/**
 * ipk_blob_recv() - receive a blob from Unix socket @sock and verify it
 * @max_size: refuse larger blobs (0 = no limit)
 *
 * The descriptor that arrives is checked before it is mapped: it must be a
 * memfd, carry all four seals and have exactly the size announced. What
 * fails a check is closed and nothing is mapped.
 * Return: 0 and *@ret (mapped read-only); -EMEDIUMTYPE: the descriptor is
 * not a memfd (a pipe, a regular file, ...); -EPERM: a seal is missing;
 * -EBADMSG: its size is not the announced one (truncated, or grown);
 * -EFBIG: over @max_size; -EPROTO: no descriptor, a malformed header, or
 * more descriptors than one (MSG_CTRUNC; those that arrived are closed);
 * -EPIPE: the peer closed; -EAGAIN (timeout 0); -ETIMEDOUT.
 * Blocking: up to @timeout_ns. Threads: one receiver at a time per socket.
 */
IPK_API int ipk_blob_recv(int sock, size_t max_size, int64_t timeout_ns, ipk_blob **ret);

/* ipk_blob_free() - unmap and close; accepts NULL. */
IPK_API void ipk_blob_free(ipk_blob *b);

#ifdef __cplusplus
}
#endif

#endif /* IPCKIT_BLOB_H */
