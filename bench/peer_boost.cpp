// SPDX-License-Identifier: MIT
/*
 * bench/peer_boost.cpp - Boost.Interprocess message_queue for the peer rows
 * boost-mq and boost-mq-poll (their table: bench/peer_boost.c).
 *
 * A message_queue is a fixed array of fixed-size slots in a POSIX shared
 * memory object (/dev/shm/NAME), guarded by a process-shared mutex with two
 * condition variables (pthread on Linux): send() blocks while the queue is
 * full, receive() while it is empty, try_receive() never. Each message is
 * copied in and out, one copy each way. Exceptions stay in this file: they
 * become negative errno.
 */
#include <cerrno>
#include <cstdio>
#include <new>

#include <boost/interprocess/ipc/message_queue.hpp>
#include <boost/version.hpp>

extern "C" {
#include "bench.h"
#include "peer_boost.h"
}

namespace bip = boost::interprocess;

namespace
{

struct end {
	bip::message_queue *out = nullptr;
	bip::message_queue *in = nullptr;
};

void queue_name(char *buf, size_t len, const char *tag, const char *dir)
{
	snprintf(buf, len, "%s-%s", tag, dir);
}

int to_errno(const bip::interprocess_exception &e)
{
	int n = e.get_native_error();

	if (e.get_error_code() == bip::already_exists_error)
		return -EEXIST;
	if (e.get_error_code() == bip::not_found_error)
		return -ENOENT;
	return n > 0 ? -n : -EIO;
}

} // namespace

int peer_boost_create(const char *tag, size_t size, size_t depth, char *why, size_t why_len)
{
	char ab[128], ba[128];

	queue_name(ab, sizeof(ab), tag, "ab");
	queue_name(ba, sizeof(ba), tag, "ba");
	try {
		// The constructors create and initialise the queues; the
		// objects themselves are not needed here.
		bip::message_queue a(bip::create_only, ab, depth, size, bip::permissions(0600));
		bip::message_queue b(bip::create_only, ba, depth, size, bip::permissions(0600));
	} catch (const bip::interprocess_exception &e) {
		snprintf(why, why_len, "message_queue %s: %s", ab, e.what());
		peer_boost_remove(tag);
		return to_errno(e);
	} catch (const std::bad_alloc &) {
		peer_boost_remove(tag);
		return -ENOMEM;
	}
	return 0;
}

int peer_boost_open(const char *tag, bool b, void **ret)
{
	char out[128], in[128];
	end *e;

	queue_name(out, sizeof(out), tag, b ? "ba" : "ab");
	queue_name(in, sizeof(in), tag, b ? "ab" : "ba");
	e = new (std::nothrow) end;
	if (!e)
		return -ENOMEM;
	try {
		e->out = new bip::message_queue(bip::open_only, out);
		e->in = new bip::message_queue(bip::open_only, in);
	} catch (const bip::interprocess_exception &x) {
		peer_boost_close(e);
		return to_errno(x);
	} catch (const std::bad_alloc &) {
		peer_boost_close(e);
		return -ENOMEM;
	}
	*ret = e;
	return 0;
}

int peer_boost_send(void *p, const void *buf, size_t len)
{
	end *e = static_cast<end *>(p);

	try {
		e->out->send(buf, len, 0);
	} catch (const bip::interprocess_exception &x) {
		return to_errno(x);
	}
	return 0;
}

int peer_boost_recv(void *p, void *buf, size_t len, bool poll)
{
	end *e = static_cast<end *>(p);
	bip::message_queue::size_type got = 0;
	unsigned int prio;
	unsigned spins = 0;

	try {
		if (!poll)
			e->in->receive(buf, len, got, prio);
		else
			while (!e->in->try_receive(buf, len, got, prio))
				bench_spin(&spins);
	} catch (const bip::interprocess_exception &x) {
		return to_errno(x);
	}
	return got == len ? 0 : -EPROTO;
}

void peer_boost_close(void *p)
{
	end *e = static_cast<end *>(p);

	if (!e)
		return;
	delete e->out; // unmaps; the names stay until peer_boost_remove()
	delete e->in;
	delete e;
}

void peer_boost_remove(const char *tag)
{
	char name[128];

	queue_name(name, sizeof(name), tag, "ab");
	bip::message_queue::remove(name);
	queue_name(name, sizeof(name), tag, "ba");
	bip::message_queue::remove(name);
}

const char *peer_boost_version(void)
{
	static char buf[32];

	if (!buf[0])
		snprintf(buf, sizeof(buf), "Boost %d.%d.%d", BOOST_VERSION / 100000,
			 BOOST_VERSION / 100 % 1000, BOOST_VERSION % 100);
	return buf;
}
