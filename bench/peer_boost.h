/* SPDX-License-Identifier: MIT */
/*
 * bench/peer_boost.h - the Boost.Interprocess rows' functions, written in
 * C++ (bench/peer_boost.cpp) and called from their table in C
 * (bench/peer_boost.c). Each returns 0 or a negative errno, as struct
 * bench_ops wants; no exception leaves them.
 */
#ifndef IPCKIT_BENCH_PEER_BOOST_H
#define IPCKIT_BENCH_PEER_BOOST_H

#include <stdbool.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Creates the two queues "@tag-ab" and "@tag-ba", @depth messages of
 * @size bytes each. */
int peer_boost_create(const char *tag, size_t size, size_t depth, char *why, size_t why_len);
/* Opens side @b's ends (A sends on -ab and receives on -ba; B the other
 * way) into *@end. */
int peer_boost_open(const char *tag, bool b, void **end);
int peer_boost_send(void *end, const void *buf, size_t len);
/* @poll: try_receive() in a spin loop instead of a blocking receive(). */
int peer_boost_recv(void *end, void *buf, size_t len, bool poll);
void peer_boost_close(void *end);
/* Removes both queues' names. */
void peer_boost_remove(const char *tag);
/* "Boost X.Y.Z", the headers this was built with. */
const char *peer_boost_version(void);

#ifdef __cplusplus
}
#endif

#endif /* IPCKIT_BENCH_PEER_BOOST_H */
