/* SPDX-License-Identifier: MIT */
/*
 * header.c - a feed that is not what it claims is refused with the exact
 * error and never crashes the subscriber: wrong magic or version, or an
 * empty object not initialised yet (-EPROTO),
 * truncated object, wrong header size, capacity, map size or max_msg,
 * impossible head/tail (-EBADMSG), a doorbell that is not one (-EPROTO);
 * and corrupt records met while receiving (-EBADMSG), PADs that would
 * take it round the ring for ever among them.
 */
#include <stddef.h>
#include <sys/mman.h>

#include "ringt.h"
#include "ring_layout.h"

#define CAP 4096
#define SIZE (IPK__RING_HDR_SIZE + CAP)
#define DATA IPK__RING_HDR_SIZE /* where the records start */

/* Offsets of the layout, which src/ring_layout.h pins down. */
#define O_MAGIC offsetof(struct ipk__ring_hdr, magic)
#define O_VERSION offsetof(struct ipk__ring_hdr, version)
#define O_HDR_SIZE offsetof(struct ipk__ring_hdr, hdr_size)
#define O_MAX_MSG offsetof(struct ipk__ring_hdr, max_msg)
#define O_CAPACITY offsetof(struct ipk__ring_hdr, capacity)
#define O_MAP_SIZE offsetof(struct ipk__ring_hdr, map_size)
#define O_HEAD offsetof(struct ipk__ring_hdr, head)
#define O_TAIL offsetof(struct ipk__ring_hdr, tail)

static unsigned char good[SIZE];

/* A valid image: one publisher created it and published three messages. */
static void make_good(void)
{
	struct ipk_ring_opts o = { .capacity = CAP, .flags = 0 };
	ipk_ring *r;
	int rfd, bfd;

	T_OK(ipk_ring_create(NULL, &o, &r));
	for (int i = 0; i < 3; i++)
		T_OK(ipk_ring_publish(r, "abcdefgh", 8));
	T_OK(ipk_ring_fds(r, &rfd, &bfd));
	T_EQ(pread(rfd, good, SIZE, 0), SIZE);
	ipk_ring_close(r);
}

/* Open a private copy of @img (@len bytes) as a feed. */
static int try_open(const unsigned char *img, size_t len, ipk_ring_sub **ret)
{
	int fd = memfd_create("hdr-test", MFD_CLOEXEC), r;

	T_SYS(fd);
	T_EQ(write(fd, img, len), (ssize_t)len);
	r = ipk_ring_open_fd(fd, -1, NULL, ret);
	close(fd);
	return r;
}

static int open_with(size_t off, const void *val, size_t n)
{
	static unsigned char img[SIZE];
	ipk_ring_sub *s = NULL;
	int r;

	memcpy(img, good, SIZE);
	memcpy(img + off, val, n);
	r = try_open(img, SIZE, &s);
	if (r == 0)
		ipk_ring_sub_close(s);
	return r;
}

static int open_u32(size_t off, uint32_t v)
{
	return open_with(off, &v, 4);
}

static int open_u64(size_t off, uint64_t v)
{
	return open_with(off, &v, 8);
}

int main(void)
{
	ipk_ring_sub *s;
	uint64_t head;
	char buf[64];
	int fd;

	make_good();
	memcpy(&head, good + O_HEAD, 8);
	T_EQ(head, 3 * ipk__ring_rec_size(8));

	T_EQ(open_u32(O_MAGIC, 0), -EAGAIN); /* linked, not initialised yet */
	T_EQ(open_u32(O_MAGIC, 0x12345678), -EPROTO);
	T_EQ(open_u32(O_VERSION, 1), -EPROTONOSUPPORT); /* before packed records */
	T_EQ(open_u32(O_VERSION, 2), -EPROTONOSUPPORT); /* before the consumer's shown */
	T_EQ(open_u32(O_VERSION, 3), -EPROTONOSUPPORT); /* before light publishes */
	T_EQ(open_u32(O_VERSION, IPK__RING_VERSION + 1), -EPROTONOSUPPORT);
	T_EQ(open_u32(O_HDR_SIZE, 64), -EBADMSG);
	T_EQ(open_u64(O_CAPACITY, 8192), -EBADMSG); /* larger than the object */
	T_EQ(open_u64(O_CAPACITY, 3000), -EBADMSG); /* not a power of two */
	T_EQ(open_u64(O_CAPACITY, 0), -EBADMSG);
	T_EQ(open_u64(O_MAP_SIZE, 1 << 20), -EBADMSG);
	T_EQ(open_u32(O_MAX_MSG, 4096), -EBADMSG);   /* two records must fit */
	T_EQ(open_u64(O_HEAD, 17), -EBADMSG);        /* misaligned */
	T_EQ(open_u64(O_TAIL, head + 16), -EBADMSG); /* tail past head */
	T_EQ(open_u64(O_HEAD, 1 << 20), -EBADMSG);   /* more than a ring apart */
	T_EQ(open_u64(O_HEAD, head + 16), -EBADMSG); /* a record that is not there */
	T_EQ(open_u32(O_MAX_MSG, 4), -EBADMSG);      /* records longer than max */

	/* empty: a publisher links its ring sized, so this is none (-EPROTO) */
	T_EQ(try_open(good, 0, &s), -EPROTO);
	/* truncated: at every other size below the real one; below the
	 * header it is no ring at all */
	for (size_t len = 1; len < SIZE; len += len < 4200 ? 1 : 512)
		T_EQ(try_open(good, len, &s), len < DATA ? -EPROTO : -EBADMSG);

	/* a doorbell that is not one */
	{
		int rfd = memfd_create("feed", MFD_CLOEXEC);
		int bfd = memfd_create("bell", MFD_CLOEXEC);

		T_EQ(write(rfd, good, SIZE), SIZE);
		T_SYS(ftruncate(bfd, 4096));
		T_EQ(ipk_ring_open_fd(rfd, bfd, NULL, &s), -EPROTO);
		T_SYS(ftruncate(bfd, 100));
		T_EQ(ipk_ring_open_fd(rfd, bfd, NULL, &s), -EBADMSG);
		T_EQ(ipk_ring_open_fd(-1, bfd, NULL, &s), -EBADF);
		close(rfd);
		close(bfd);
	}

	/* corruption met while receiving: the next record's header lies */
	fd = memfd_create("live", MFD_CLOEXEC);
	T_EQ(write(fd, good, SIZE), SIZE);
	T_OK(ipk_ring_open_fd(fd, -1, NULL, &s));
	{
		uint64_t w0 = ipk__ring_rec_word(4000, IPK__RING_KIND_MSG, 0); /* len > max */
		uint64_t nh = head + 32;

		T_EQ(pwrite(fd, &w0, 8, DATA + head), 8);
		T_EQ(pwrite(fd, &nh, 8, O_HEAD), 8);
		T_EQ(ipk_ring_recv(s, buf, sizeof(buf), 0), -EBADMSG);
		w0 = ipk__ring_rec_word(8, 7, 0); /* unknown kind */
		T_EQ(pwrite(fd, &w0, 8, DATA + head), 8);
		T_EQ(ipk_ring_recv(s, buf, sizeof(buf), 0), -EBADMSG);
		nh = head - 32; /* head going backwards */
		T_EQ(pwrite(fd, &nh, 8, O_HEAD), 8);
		T_EQ(ipk_ring_recv(s, buf, sizeof(buf), 0), -EBADMSG);
	}
	ipk_ring_sub_close(s);
	close(fd);

	/* committed PADs (seq words as the subscriber expects) after the last
	 * record and at the start of the next lap: a PAD never fills a whole
	 * lap, and following it would take the subscriber round for ever */
	fd = memfd_create("pads", MFD_CLOEXEC);
	T_EQ(write(fd, good, SIZE), SIZE);
	T_OK(ipk_ring_open_fd(fd, -1, NULL, &s));
	{
		uint64_t pad[2] = { ipk__ring_rec_word(0, IPK__RING_KIND_PAD, 0), 0 };

		memcpy(&pad[1], good + DATA + head - 32 + 8, 8); /* last seq */
		pad[1]++;
		T_EQ(pwrite(fd, pad, 16, DATA + head), 16);
		T_EQ(pwrite(fd, pad, 16, DATA), 16);
		for (int i = 0; i < 3; i++) {
			long got = ipk_ring_recv(s, buf, sizeof(buf), 0);

			T_TRUE(got == -EAGAIN || got == -EBADMSG);
		}
	}
	ipk_ring_sub_close(s);
	close(fd);
	return 0;
}
