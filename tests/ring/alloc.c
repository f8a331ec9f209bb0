/* SPDX-License-Identifier: MIT */
/*
 * alloc.c - no heap allocation per message after open: malloc, calloc,
 * realloc and posix_memalign are counted by an interposer in this
 * program while a million messages go through publish/recv, publish_batch,
 * reserve/commit and view/validate, with laps (losses) and waits that
 * time out.
 * Skipped under sanitizers, which bring their own allocator.
 */
#include <stdatomic.h>

#include "ringt.h"

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define SANITIZED 1
#endif
#endif

#ifndef SANITIZED
extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void *__libc_memalign(size_t, size_t);

static atomic_ulong allocs;

void *malloc(size_t n)
{
	atomic_fetch_add_explicit(&allocs, 1, memory_order_relaxed); /* a counter only */
	return __libc_malloc(n);
}

void *calloc(size_t a, size_t b)
{
	atomic_fetch_add_explicit(&allocs, 1, memory_order_relaxed);
	return __libc_calloc(a, b);
}

void *realloc(void *p, size_t n)
{
	atomic_fetch_add_explicit(&allocs, 1, memory_order_relaxed);
	return __libc_realloc(p, n);
}

int posix_memalign(void **p, size_t a, size_t n)
{
	atomic_fetch_add_explicit(&allocs, 1, memory_order_relaxed);
	*p = __libc_memalign(a, n);
	return *p ? 0 : ENOMEM;
}
#endif

int main(void)
{
#ifdef SANITIZED
	T_SKIP("sanitizer builds replace malloc");
#else
	struct ipk_ring_opts o = { .capacity = 1 << 16 };
	unsigned char buf[2048];
	struct ipk_ring_view v;
	unsigned long before;
	char name[64];
	ipk_ring_sub *s;
	ipk_ring *r;
	void *p;

	rt_name(name, sizeof(name), "alloc");
	T_OK(ipk_ring_create(name, &o, &r));
	T_OK(ipk_ring_open(name, NULL, &s));
	T_TRUE(atomic_load(&allocs) > 0); /* the interposer works */
	before = atomic_load(&allocs);
	for (uint64_t seq = 1; seq <= 1000000; seq++) {
		size_t len = rt_len(seq, 1000);

		rt_fill(buf, len, seq);
		if (seq % 3 == 0) {
			T_OK(ipk_ring_reserve(r, len, &p));
			memcpy(p, buf, len);
			T_OK(ipk_ring_commit(r, len));
		} else if (seq % 3 == 1) {
			struct ipk_msg m = { .buf = buf, .len = len };

			T_EQ(ipk_ring_publish_batch(r, &m, 1), 1);
		} else {
			T_OK(ipk_ring_publish(r, buf, len));
		}
		if (seq % 1000 < 900)
			continue; /* fall behind: laps and losses */
		if (seq % 2) {
			T_OK(ipk_ring_recv(s, buf, sizeof(buf), 0));
		} else {
			T_OK(ipk_ring_view(s, &v, 0));
			T_OK(ipk_ring_validate(s, &v));
		}
	}
	while (ipk_ring_recv(s, buf, sizeof(buf), 0) >= 0)
		;
	T_EQ(ipk_ring_recv(s, buf, sizeof(buf), IPK_MSEC), -ETIMEDOUT); /* a futex wait */
	T_EQ(atomic_load(&allocs) - before, 0);
	T_TRUE(ipk_ring_lost(s) > 0);
	ipk_ring_sub_close(s);
	ipk_ring_close(r);
	return 0;
#endif
}
