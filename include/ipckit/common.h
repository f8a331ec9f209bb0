/* SPDX-License-Identifier: MIT */
/*
 * ipckit/common.h - conventions shared by every ipckit module: the export
 * macro, timeouts and error names.
 *
 * Errors: every function that can fail returns a negative errno (-EAGAIN,
 * -EMSGSIZE, ...) and 0 or a non-negative count on success. There is no
 * global error state, and the library never prints, exits or aborts.
 *
 * Timeouts: every blocking call takes a relative timeout in nanoseconds.
 * 0 means "try once" (the call returns -EAGAIN instead of waiting);
 * IPK_FOREVER (any negative value) means no limit. A timeout becomes an
 * absolute CLOCK_MONOTONIC deadline once, at entry, so signals that
 * interrupt a wait never stretch it.
 */
#ifndef IPCKIT_COMMON_H
#define IPCKIT_COMMON_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define IPK_API __attribute__((visibility("default")))

#define IPK_FOREVER ((int64_t)-1)
#define IPK_USEC ((int64_t)1000)
#define IPK_MSEC ((int64_t)1000000)
#define IPK_SEC ((int64_t)1000000000)

/* One message of a batch (ipk_chan_send_batch(), ipk_chan_recv_batch(),
 * ipk_ring_publish_batch(), ipk_ring_recv_batch()): @buf and @len; for a
 * receive, @len is the buffer's size on entry and the message's length on
 * return. */
struct ipk_msg {
	void *buf;
	size_t len;
};

/**
 * ipk_version() - the library's version, "MAJOR.MINOR.PATCH"
 *
 * Return: a static string. Threads: safe.
 */
IPK_API const char *ipk_version(void);

/**
 * ipk_errname() - the symbolic name of an errno value ("EMSGSIZE")
 * @err: an errno value, positive or negative (as ipckit returns them)
 *
 * Return: a static string; "E?" for a value it does not know.
 * Threads: safe.
 */
IPK_API const char *ipk_errname(int err);

#ifdef __cplusplus
}
#endif

#endif /* IPCKIT_COMMON_H */
