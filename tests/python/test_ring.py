"""Publisher and Subscriber over the ring: copies, batches, reserve/commit,
zero-copy views, start positions, counts, queue mode, anonymous rings,
numpy buffers, and a spinning subscriber that leaves the GIL free."""

import os
import threading
import time

import pytest

import ipckit


def test_publish_recv_and_counts(name):
    with ipckit.Publisher(name, capacity=1 << 16) as pub, ipckit.Subscriber(name) as sub:
        assert pub.name == name and sub.name == name
        pub.publish(b"one")
        pub.publish(bytearray(b"two"))
        pub.publish(memoryview(b"xthreex")[1:-1])
        assert sub.recv(5) == b"one"
        buf = bytearray(16)
        assert sub.recv_into(buf, 5) == 3 and buf[:3] == b"two"
        assert sub.recv(5) == b"three"
        with pytest.raises(BlockingIOError):
            sub.recv(0)
        c = sub.counts()
        assert c == {"start": 0, "delivered": 3, "lost": 0, "skipped": 0}
        assert sub.lost == 0
        assert pub.stats()["published"] == 3
        assert pub.subscribers() == 1
        assert sub.max_msg == pub.max_msg == (1 << 16) // 4 - 16


def test_url_options(name):
    with ipckit.Publisher("shm:%s?capacity=65536&msgsize=1000" % name) as pub:
        assert pub.max_msg == 1000
        with pytest.raises(OSError) as e:
            pub.publish(b"x" * 1001)
        assert e.value.errno == 90 and e.value.filename == name
        pub.publish(b"a")
        pub.publish(b"b")
        with ipckit.Subscriber("shm:%s?from=oldest" % name) as sub:
            assert sub.recv(5) == b"a"
        with ipckit.Subscriber("shm:%s?from=1" % name) as sub:
            assert sub.recv(5) == b"b"
    with pytest.raises(ValueError):
        ipckit.Publisher("shm:%s?bogus=1" % name)


def test_start_positions(name):
    with ipckit.Publisher(name, capacity=1 << 16) as pub:
        for i in range(10):
            pub.publish(b"%d" % i)
        with ipckit.Subscriber(name, from_="oldest") as s:
            assert s.recv(5) == b"0"
        with ipckit.Subscriber(name, from_=7) as s:
            assert s.recv(5) == b"7"
            assert s.counts()["skipped"] == 7
        with ipckit.Subscriber(name) as s:  # the end: only what comes next
            pub.publish(b"new")
            assert s.recv(5) == b"new"
            assert s.counts()["skipped"] == 10
        with pytest.raises(ValueError):
            ipckit.Subscriber(name, from_="middle")


def test_batches(name):
    with ipckit.Publisher(name, capacity=1 << 20) as pub, ipckit.Subscriber(name) as sub:
        msgs = [b"m%05d" % i for i in range(1000)] + [b"big" * 1000]
        assert pub.publish_batch(msgs) == 1001
        assert pub.publish_batch(iter([b"gen1", b"gen2"])) == 2
        assert pub.publish_batch([]) == 0
        got = []
        while len(got) < 1003:
            got += sub.recv_batch(256, 5)
        assert got == msgs + [b"gen1", b"gen2"]
        with pytest.raises(ValueError):
            sub.recv_batch(0)
        with pytest.raises(TypeError):
            pub.publish_batch([b"ok", 5])


def test_reserve_commit(name):
    with ipckit.Publisher(name, capacity=1 << 16) as pub, ipckit.Subscriber(name) as sub:
        mv = pub.reserve(8)
        assert not mv.readonly and len(mv) == 8
        mv[:] = b"abcdefgh"
        with pytest.raises(BlockingIOError):
            sub.recv(0)  # nothing visible before the commit
        pub.commit(5)
        assert sub.recv(5) == b"abcde"
        with pytest.raises(ValueError):
            mv[0] = 1  # released at commit: no write into published data
        with pytest.raises(ValueError):
            pub.commit()  # no reservation
        mv = pub.reserve(4)
        held = memoryview(mv)  # something made from the reservation
        with pytest.raises(BufferError):
            pub.commit()
        held.release()
        mv[:] = b"wxyz"
        pub.commit()
        assert sub.recv(5) == b"wxyz"
        with pytest.raises(OSError) as e:
            pub.reserve(1 << 20)
        assert e.value.errno == 90


def test_view(name):
    with ipckit.Publisher(name, capacity=1 << 16) as pub, ipckit.Subscriber(name) as sub:
        pub.publish(b"in place")
        v = sub.view(5)
        assert len(v) == 8 and v.seq == 0
        with v as mv:
            assert mv.readonly and bytes(mv) == b"in place"
        with pytest.raises(RuntimeError):
            v.validate()  # consumed
        assert sub.counts()["delivered"] == 1
        with pytest.raises(BlockingIOError):
            sub.view(0)


def test_stale_view_raises(name):
    with ipckit.Publisher(name, capacity=4096, max_msg=256) as pub, \
            ipckit.Subscriber(name) as sub:
        pub.publish(b"first")
        with pytest.raises(ipckit.StaleViewError) as e:
            with sub.view(5) as mv:
                assert bytes(mv) == b"first"
                for i in range(200):  # several rings' worth: "first" is overwritten
                    pub.publish(b"%0100d" % i)
        assert e.value.errno == 116 and isinstance(e.value, OSError)
        assert e.value.filename == name
        # the next receive counts the stale message among the lost
        pub.publish(b"next")
        while sub.recv(5) != b"next":
            pass
        c = sub.counts()
        assert c["lost"] >= 1 and c["delivered"] + c["lost"] == 202


def test_view_outlives_close_safely(name):
    pub = ipckit.Publisher(name, capacity=1 << 16)
    sub = ipckit.Subscriber(name)
    pub.publish(b"keep me mapped")
    with sub.view(5) as mv:
        held = mv[2:6]  # a slice keeps the memory exported
    sub.close()  # the mapping stays until the slice is gone
    assert bytes(held) == b"ep m"
    del held, mv
    pub.close()


def test_iteration_ends_when_publisher_closes(name):
    pub = ipckit.Publisher(name, capacity=1 << 16)
    sub = ipckit.Subscriber(name)
    for i in range(5):
        pub.publish(b"%d" % i)
    pub.close()
    assert list(sub) == [b"0", b"1", b"2", b"3", b"4"]
    with pytest.raises(BrokenPipeError):
        sub.recv(0)
    sub.close()


def test_queue_mode_is_lossless(name):
    with ipckit.Publisher(name, capacity=4096, max_msg=128, queue=True) as pub:
        with ipckit.Subscriber(name, consumer=True) as cons:
            n = 0
            with pytest.raises(BlockingIOError):
                while True:
                    pub.publish(b"%064d" % n, timeout=0)
                    n += 1
            assert 10 < n < 100
            got = [cons.recv(5) for _ in range(n)]
            assert got == [b"%064d" % i for i in range(n)]
            assert cons.lost == 0
            # a full queue waits for room, the GIL released meanwhile
            m = 0
            with pytest.raises(BlockingIOError):
                while True:
                    pub.publish(b"%064d" % m, timeout=0)
                    m += 1
            t = threading.Thread(target=lambda: [cons.recv(5) for _ in range(m)])
            t.start()
            pub.publish(b"after", timeout=5)
            t.join(5)
            assert cons.recv(5) == b"after"
            with pytest.raises(OSError) as e:
                ipckit.Subscriber(name, consumer=True)
            assert e.value.errno == 16  # EBUSY: one consumer


def test_anonymous_ring_across_fork():
    with ipckit.Publisher(None, capacity=1 << 16) as pub:
        rfd, bfd = pub.fds()
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:
            code = 1
            try:
                with ipckit.Subscriber(None, fds=(rfd, bfd), from_="oldest") as sub:
                    os.write(w, b"!")
                    got = [sub.recv(10) for _ in range(3)]
                    code = 0 if got == [b"a", b"b", b"c"] else 2
            finally:
                os._exit(code)
        assert os.read(r, 1) == b"!"
        for m in (b"a", b"b", b"c"):
            pub.publish(m)
        assert os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) == 0
        os.close(r)
        os.close(w)


def test_numpy_buffers(name):
    np = pytest.importorskip("numpy", reason="python3-numpy not installed")
    with ipckit.Publisher(name, capacity=1 << 20) as pub, ipckit.Subscriber(name) as sub:
        a = np.arange(1000, dtype=np.float64)
        pub.publish(a)
        pub.publish(a[::2].copy())
        out = np.empty(1000)
        assert sub.recv_into(out, 5) == 8000
        assert (out == a).all()
        with sub.view(5) as mv:
            b = np.frombuffer(mv, dtype=np.float64)
            assert (b == a[::2]).all()
            assert not b.flags.writeable
        # zero-copy publish from numpy
        mv = pub.reserve(8000)
        np.frombuffer(mv, dtype=np.float64)[:] = a
        pub.commit()
        assert np.frombuffer(sub.recv(5), dtype=np.float64).sum() == a.sum()


def test_spinning_subscriber_leaves_the_gil(name):
    with ipckit.Publisher(name, capacity=1 << 16) as pub, \
            ipckit.Subscriber(name, spin=True) as sub:
        got = []
        t = threading.Thread(target=lambda: got.append(sub.recv(10)))
        t.start()
        n, end = 0, time.monotonic() + 0.2
        while time.monotonic() < end:
            n += 1
        assert n > 10000, n
        pub.publish(b"spun")
        t.join(10)
        assert got == [b"spun"]


def test_open_waits_for_the_ring(name):
    got = []

    def sub():
        with ipckit.Subscriber(name, timeout=10) as s:
            got.append(s.recv(10))

    t = threading.Thread(target=sub)
    t.start()
    with ipckit.Publisher(name, capacity=1 << 16) as pub:
        # the subscriber may attach after this publish: repeat until it sees one
        deadline = time.monotonic() + 10
        while t.is_alive() and time.monotonic() < deadline:
            pub.publish(b"hello")
            t.join(0.01)
    assert got == [b"hello"]
