/* SPDX-License-Identifier: MIT */
/*
 * ipckit/url.h - checking channel URLs before use.
 *
 * Grammar:  SCHEME ":" ADDRESS [ "?" KEY "=" VALUE { "&" KEY "=" VALUE } ]
 *
 *   pipe:                               (no address)
 *   fifo:/path                          any non-empty path
 *   unix:/path | unix:@abstract         also unix+dgram:, unix+seqpacket:
 *   tcp:HOST:PORT | tcp:[V6ADDR]:PORT   PORT 0..65535
 *   mq:/name                            one '/' then up to NAME_MAX bytes
 *   sysvmq:KEY | sysvmq:/path:PROJ | sysvmq:private
 *   shm:/name                           as mq:
 *   nats://HOST:PORT[,HOST:PORT...]/SUBJECT
 *
 * Options, each with one meaning wherever it is accepted:
 *   msgsize=N        largest message (every scheme)
 *   perm=0OOO        permissions of a created object, octal (fifo:, unix:,
 *                    unix+dgram:, unix+seqpacket:, mq:, sysvmq:, shm:)
 *   mode=ring|queue  shm: a broadcast ring or a lossless queue; on any
 *                    other scheme mode= is an error that names perm=
 *   pipesize=N (fifo:), backlog=N (unix:, unix+seqpacket:, tcp:),
 *   maxmsg=N (mq:), capacity=N (shm:, dbus:), queue=, stream= (nats:),
 *   bus=session|system (dbus:)
 *   framing=len|line|none  pipe:, fifo:, unix:, tcp: how messages travel
 *                    on the byte stream (chan.h); default len
 *   from=end|oldest|SEQ  shm:, dbus: where a subscriber starts (ring.h:
 *                    enum ipk_ring_from); without it the ring's end, or
 *                    its first message for an open that waited for it
 *
 * Each scheme accepts only its own options; an unknown option, a repeated
 * one or a value that is not a number where one is expected is an error.
 * Parsing never touches the system.
 */
#ifndef IPCKIT_URL_H
#define IPCKIT_URL_H

#include <stddef.h>

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

/**
 * ipk_url_check() - validate a URL and say what is wrong with it
 * @url: the text to check
 * @where: if not NULL, set on error to the byte offset of the bad part
 * @why: if not NULL, set on error to a static, human-readable reason
 *
 * Return: 0 if @url is well-formed; -EINVAL otherwise. Threads: safe.
 */
IPK_API int ipk_url_check(const char *url, size_t *where, const char **why);

#ifdef __cplusplus
}
#endif

#endif /* IPCKIT_URL_H */
