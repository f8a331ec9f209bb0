/* SPDX-License-Identifier: MIT */
/*
 * chan_shm.c - the shm: transport through the channel API, between real
 * processes:
 *   - ring: a publisher and two subscriber processes (a ring large enough
 *     that nothing is overwritten); every message, sent
 *     whole, in parts (sendv) or in batches (send_batch), arrives intact
 *     and in order at both (received one by one or in batches; batches
 *     of one length are packed into shared records), then
 *     -EPIPE once the publisher closes; the subscriber's descriptor polls
 *     readable when a message waits; capacity= and msgsize= take effect,
 *     a subscriber learns the ring's msgsize (-EMSGSIZE + next_len);
 *   - loss: a subscriber that reads nothing while the publisher overwrites
 *     the ring several times gets delivered + lost == published, exactly;
 *   - queue (mode=queue): a consumer process reading slowly loses nothing
 *     of 20,000 messages; batches wait for room; the producer's send with
 *     timeout 0 is -EAGAIN while the queue is full and a blocking send
 *     waits for room;
 *   - wrong use: send on a subscriber / receive on the publisher (-EBADF),
 *     a publisher opened read-only (-EINVAL), a subscriber of a missing
 *     ring (-ENOENT at once, -ETIMEDOUT after its timeout) or of one not
 *     yet sized by its creator (-EPROTO, then waited for), the publisher's
 *     descriptor (-EOPNOTSUPP), perm= on the created objects.
 */
#include <sys/mman.h>
#include <sys/stat.h>

#include "it.h"

static char url[128], lurl[128], qurl[128], name[64];

struct sub_arg {
	int ready;  /* write end of a pipe: one byte once subscribed */
	int done;   /* read end of a pipe the publisher closes when done */
	int done_w; /* its write end, which the child must not keep */
	int n;      /* messages to expect */
};

static void say_ready(int fd)
{
	T_SYS(write(fd, "r", 1));
	close(fd);
}

static void wait_ready(int fd, int n)
{
	char c;

	for (int i = 0; i < n; i++)
		T_EQ(read(fd, &c, 1), 1);
}

/* Message @seq's length: 4 to 300 bytes; within the batches (seq % 200 of
 * 100 to 199) one length for every 20, which the ring packs into shared
 * records. */
static size_t msg_len(int seq)
{
	return 4 + (size_t)(seq % 200 >= 100 ? seq / 20 : seq) % 297;
}

static int subscriber(void *arg)
{
	struct sub_arg *a = arg;
	uint8_t buf[512];
	struct pollfd p;
	ipk_chan *ch;
	ssize_t n;

	T_OK(ipk_chan_open(url, 0, 5 * IPK_SEC, &ch));
	T_EQ(ipk_chan_max_msg(ch), 300);
	p.fd = ipk_chan_fd(ch);
	p.events = POLLIN;
	T_TRUE(p.fd >= 0);
	say_ready(a->ready);

	/* The first message is waited for through the descriptor. */
	T_EQ(poll(&p, 1, 5000), 1);
	for (int seq = 0; seq < a->n;) {
		size_t len = msg_len(seq);

		if (seq % 3 == 0) {
			/* up to 8 at once: as many as are there, at least one */
			static uint8_t bufs[8][300];
			struct ipk_msg m[8];
			int k = a->n - seq < 8 ? a->n - seq : 8, got;

			for (int j = 0; j < k; j++)
				m[j] = (struct ipk_msg){ .buf = bufs[j], .len = sizeof(bufs[j]) };
			got = ipk_chan_recv_batch(ch, m, (unsigned)k, 5 * IPK_SEC);
			if (got < 1)
				T_FAIL("batch at %d: %d (%s)", seq, got, t_errname(got));
			for (int j = 0; j < got; j++, seq++) {
				len = msg_len(seq);
				if (m[j].len != len || !it_check(bufs[j], len, (uint32_t)seq))
					T_FAIL("message %d: got %zu bytes, want %zu", seq, m[j].len,
					       len);
			}
			continue;
		}
		n = ipk_chan_recv(ch, buf, sizeof(buf), 5 * IPK_SEC);
		if (n != (ssize_t)len || !it_check(buf, len, (uint32_t)seq))
			T_FAIL("message %d: got %zd bytes (%s), want %zu", seq, n,
			       n < 0 ? t_errname(n) : "", len);
		seq++;
	}
	/* Too small a buffer: refused whole, nothing consumed. */
	T_EQ(ipk_chan_recv(ch, buf, 10, 5 * IPK_SEC), -EMSGSIZE);
	T_EQ(ipk_chan_next_len(ch), 300);
	T_EQ(ipk_chan_recv(ch, buf, sizeof(buf), 5 * IPK_SEC), 300);
	T_EQ(ipk_chan_recv(ch, buf, sizeof(buf), 5 * IPK_SEC), -EPIPE);
	T_EQ(ipk_chan_lost(ch), 0);
	T_EQ(ipk_chan_send(ch, "x", 1, 0), -EBADF);
	ipk_chan_close(ch);
	return 0;
}

static void test_ring(void)
{
	struct sub_arg a = { .n = 2000 };
	uint8_t buf[512], big[301];
	struct stat st;
	char path[128];
	int fds[2];
	ipk_chan *pub;
	pid_t kid[2];

	T_OK(ipk_chan_open(url, IPK_CHAN_CREATE | IPK_CHAN_EXCL, 0, &pub));
	T_EQ(ipk_chan_max_msg(pub), 300);
	T_EQ(ipk_chan_fd(pub), -EOPNOTSUPP);
	T_EQ(ipk_chan_recv(pub, buf, sizeof(buf), 0), -EBADF);
	snprintf(path, sizeof(path), "/dev/shm%s", name);
	T_SYS(stat(path, &st));
	T_EQ(st.st_mode & 0777, 0640);

	T_SYS(pipe(fds));
	a.ready = fds[1];
	for (int i = 0; i < 2; i++)
		kid[i] = t_fork(subscriber, &a);
	close(fds[1]);
	wait_ready(fds[0], 2);
	close(fds[0]);

	memset(big, 0, sizeof(big));
	T_EQ(ipk_chan_send(pub, big, sizeof(big), 0), -EMSGSIZE);
	T_EQ(ipk_chan_send_batch(pub, &(struct ipk_msg){ .buf = big, .len = sizeof(big) }, 1, 0),
	     -EMSGSIZE);
	for (int seq = 0; seq < a.n; seq++) {
		size_t len = msg_len(seq);
		struct iovec iov[3];

		if (seq % 200 == 100) {
			/* a hundred in one batch call: committed 64 at a time */
			static uint8_t store[100][300];
			struct ipk_msg m[100];

			for (int j = 0; j < 100; j++) {
				m[j].len = msg_len(seq + j);
				m[j].buf = store[j];
				it_fill(store[j], m[j].len, (uint32_t)(seq + j));
			}
			T_EQ(ipk_chan_send_batch(pub, m, 100, 0), 100);
			seq += 99;
			continue;
		}
		it_fill(buf, len, (uint32_t)seq);
		if (seq % 2) {
			T_OK(ipk_chan_send(pub, buf, len, 0));
			continue;
		}
		/* in three parts, gathered into one message */
		iov[0] = (struct iovec){ buf, 1 };
		iov[1] = (struct iovec){ buf + 1, len / 2 };
		iov[2] = (struct iovec){ buf + 1 + len / 2, len - 1 - len / 2 };
		T_OK(ipk_chan_sendv(pub, iov, 3, 0));
	}
	T_OK(ipk_chan_send(pub, big, 300, 0));
	ipk_chan_close(pub);
	for (int i = 0; i < 2; i++)
		t_wait_exit(kid[i], 0);
	T_EQ(stat(path, &st), -1); /* the creator removed it */
}

static int idle_subscriber(void *arg)
{
	struct sub_arg *a = arg;
	uint8_t buf[64];
	uint64_t got = 0, last = 0;
	char c;
	ipk_chan *ch;
	ssize_t n;

	close(a->done_w);
	T_OK(ipk_chan_open(lurl, 0, 5 * IPK_SEC, &ch));
	say_ready(a->ready);
	T_EQ(read(a->done, &c, 1), 0); /* the publisher is done */
	while ((n = ipk_chan_recv(ch, buf, sizeof(buf), 5 * IPK_SEC)) >= 0) {
		uint32_t seq = it_seq_of(buf);

		T_TRUE(n == 64 && it_check(buf, 64, seq));
		T_TRUE(got == 0 || seq > last);
		last = seq;
		got++;
	}
	T_EQ(n, -EPIPE);
	T_TRUE(ipk_chan_lost(ch) > 0);
	T_EQ(got + ipk_chan_lost(ch), 10000);
	T_EQ(last, 9999); /* the newest message survives */
	ipk_chan_close(ch);
	return 0;
}

static void test_loss(void)
{
	int ready[2], done[2];
	struct sub_arg a;
	uint8_t buf[64];
	ipk_chan *pub;
	pid_t kid;

	T_OK(ipk_chan_open(lurl, IPK_CHAN_CREATE, 0, &pub));
	T_SYS(pipe(ready));
	T_SYS(pipe(done));
	a.ready = ready[1];
	a.done = done[0];
	a.done_w = done[1];
	kid = t_fork(idle_subscriber, &a);
	close(ready[1]);
	close(done[0]);
	wait_ready(ready[0], 1);
	for (uint32_t seq = 0; seq < 10000; seq++) {
		it_fill(buf, sizeof(buf), seq);
		T_OK(ipk_chan_send(pub, buf, sizeof(buf), 0));
	}
	ipk_chan_close(pub);
	close(done[1]);
	close(ready[0]);
	t_wait_exit(kid, 0);
}

#define QN 20000

static int consumer(void *arg)
{
	struct sub_arg *a = arg;
	uint8_t buf[200];
	ipk_chan *ch;

	T_OK(ipk_chan_open(qurl, 0, 5 * IPK_SEC, &ch));
	say_ready(a->ready);
	for (uint32_t seq = 0; seq < QN; seq++) {
		size_t len = 8 + seq % 100;
		ssize_t n = ipk_chan_recv(ch, buf, sizeof(buf), 5 * IPK_SEC);

		if (n != (ssize_t)len || !it_check(buf, len, seq))
			T_FAIL("queue message %u: got %zd, want %zu", seq, n, len);
		if (seq < 200)
			it_nap_ms(seq % 50 == 0); /* slow at first: the queue fills */
	}
	T_EQ(ipk_chan_recv(ch, buf, sizeof(buf), 5 * IPK_SEC), -EPIPE);
	T_EQ(ipk_chan_lost(ch), 0);
	ipk_chan_close(ch);
	return 0;
}

static void test_queue(void)
{
	struct sub_arg a;
	uint8_t buf[200];
	int fds[2], full = 0;
	ipk_chan *pub;
	pid_t kid;

	T_OK(ipk_chan_open(qurl, IPK_CHAN_CREATE, 0, &pub));
	T_SYS(pipe(fds));
	a.ready = fds[1];
	kid = t_fork(consumer, &a);
	close(fds[1]);
	wait_ready(fds[0], 1);
	close(fds[0]);
	/* the first thousand in batches of 16 that wait for room */
	for (uint32_t seq = 0; seq < 1000; seq += 16) {
		static uint8_t store[16][200];
		struct ipk_msg m[16];
		unsigned k = 1000 - seq < 16 ? 1000 - seq : 16;

		for (unsigned j = 0; j < k; j++) {
			m[j].len = 8 + (seq + j) % 100;
			m[j].buf = store[j];
			it_fill(store[j], m[j].len, seq + j);
		}
		T_EQ(ipk_chan_send_batch(pub, m, k, 5 * IPK_SEC), (int)k);
	}
	for (uint32_t seq = 1000; seq < QN; seq++) {
		size_t len = 8 + seq % 100;
		int r;

		it_fill(buf, len, seq);
		r = ipk_chan_send(pub, buf, len, 0);
		if (r == -EAGAIN) {
			full++;
			r = ipk_chan_send(pub, buf, len, 5 * IPK_SEC);
		}
		T_OK(r);
	}
	T_TRUE(full > 0); /* the 4 KiB queue did fill: backpressure was real */
	ipk_chan_close(pub);
	t_wait_exit(kid, 0);
}

static void test_errors(void)
{
	char missing[128], empty[160];
	ipk_chan *ch = NULL;
	int64_t t0;
	int fd;

	snprintf(missing, sizeof(missing), "shm:/ipk-chan-shm-none-%d", (int)getpid());
	T_EQ(ipk_chan_open(missing, 0, 0, &ch), -ENOENT);
	t0 = it_now_ns();
	T_EQ(ipk_chan_open(missing, 0, 50 * IPK_MSEC, &ch), -ETIMEDOUT);
	T_TRUE(it_ms_since(t0) >= 50);
	/* An empty object at the name: a publisher never shows its ring before
	 * it is sized, so this is not one, and it is refused at once. */
	snprintf(missing, sizeof(missing), "/ipk-chan-shm-empty-%d", (int)getpid());
	fd = shm_open(missing, O_RDWR | O_CREAT | O_EXCL, 0600);
	T_SYS(fd);
	snprintf(empty, sizeof(empty), "shm:%s", missing);
	T_EQ(ipk_chan_open(empty, 0, 0, &ch), -EPROTO);
	t0 = it_now_ns();
	T_EQ(ipk_chan_open(empty, 0, IPK_SEC, &ch), -EPROTO);
	T_TRUE(it_ms_since(t0) < 500);
	T_SYS(shm_unlink(missing));
	close(fd);
	T_EQ(ipk_chan_open(url, IPK_CHAN_CREATE | IPK_CHAN_RDONLY, 0, &ch), -EINVAL);
	T_EQ(ipk_chan_open(url, IPK_CHAN_WRONLY, 0, &ch), -EINVAL);
	T_EQ(ch, NULL);
}

int main(void)
{
	snprintf(name, sizeof(name), "/ipk-chan-shm-%d", (int)getpid());
	/* 2,000 messages of <= 300 bytes fit in 1 MiB: nothing is lost */
	snprintf(url, sizeof(url), "shm:%s?capacity=1048576&msgsize=300&perm=0640", name);
	/* 10,000 of 64 bytes overwrite 4 KiB many times */
	snprintf(lurl, sizeof(lurl), "shm:%s-l?capacity=4096", name);
	snprintf(qurl, sizeof(qurl), "shm:%s-q?mode=queue&capacity=4096", name);
	test_errors();
	test_ring();
	test_loss();
	test_queue();
	return 0;
}
